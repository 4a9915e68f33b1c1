/* queue_process.c — the queue process (see queue_process.h): keeps the
 * list of queued messages with a retry timer each, runs attempts
 * (prepare and commit in thread-pool jobs, remote recipients through
 * delivery_dest), answers the control socket and handles signals. Runs
 * as the unprivileged user. Reads control datagrams from processes of
 * the same user (parsed strictly: a verb and a queue id); local users'
 * submissions arrive through queue_pickup_server.c. */
#include "queue_process.h"
#include "stopsig.h"
#include "delivery_dest.h"
#include "dns.h"
#include "log.h"
#include "queue_attempt.h"
#include "queue_ctl.h"
#include "queue_env.h"
#include "queue_file.h"
#include "queue_pickup_server.h"
#include "queue_sched.h"
#include "tls.h"
#include "xalloc.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Attempts in memory at once; more wait in the due FIFO. */
#define MAX_ACTIVE 256
#define SHUTDOWN_GRACE_MS 15000

enum qmsg_state {
	QM_WAITING,	/* timer armed (or held) */
	QM_DUE,		/* in the due FIFO */
	QM_ACTIVE,	/* an attempt or a control job runs */
};

struct ctl_op;

struct qmsg {
	char *id;
	struct qmsg *hnext;
	struct qmsg *due_next;
	uv_timer_t timer;
	enum qmsg_state state;
	bool held;
	bool force;		/* next attempt ignores the retry time */
	bool again;		/* flushed while active: run again after */
	struct queue_attempt *attempt;
	unsigned txns;		/* transactions outstanding */
	struct ctl_op *ops;	/* control requests waiting for the attempt */
};

enum ctl_verb { CTL_HOLD, CTL_RELEASE, CTL_DELETE };

struct ctl_op {
	struct ctl_op *next;
	enum ctl_verb verb;
	struct sockaddr_un from;
	socklen_t from_len;
	/* Job result. */
	int ret;
	const char *error;
	struct qmsg *m;
	uv_work_t work;
};

enum job_kind { JOB_PREPARE, JOB_COMMIT };

struct job {
	uv_work_t work;
	enum job_kind kind;
	struct qmsg *m;
};

static struct {
	uv_loop_t *loop;
	struct config *cfg;
	struct queue_sched_params sched;
	struct dns_resolver *dns;
	struct tls_client *tls_any, *tls_verify;
	struct delivery_client_params client;
	struct delivery_dests *dests;
	int ctl_fd;
	uv_poll_t ctl_poll;
	struct queue_pickup_server *pickup;
	uv_signal_t sigterm, sigint, sighup;
	uv_timer_t shutdown_timer;
	struct qmsg **table;
	size_t table_size, n_msgs;
	struct qmsg *due_head, *due_tail;
	unsigned active;
	unsigned jobs;
	bool shutting_down;
	int status;
} Q;

static void attempt_start(struct qmsg *m);
static void maybe_exit(void);
static void run_due(void);

/* The message table: ids hashed into chains. */

static size_t id_hash(const char *id)
{
	size_t h = 5381;
	for (const unsigned char *p = (const unsigned char *)id; *p != '\0'; p++)
		h = h * 33 + *p;
	return h;
}

static struct qmsg *msg_find(const char *id)
{
	if (Q.table == NULL)
		return NULL;
	for (struct qmsg *m = Q.table[id_hash(id) & (Q.table_size - 1)]; m != NULL; m = m->hnext)
		if (strcmp(m->id, id) == 0)
			return m;
	return NULL;
}

static void table_grow(void)
{
	size_t size = Q.table_size == 0 ? 1024 : Q.table_size * 2;
	struct qmsg **t = x_calloc(size, sizeof(*t));
	for (size_t i = 0; i < Q.table_size; i++) {
		struct qmsg *m = Q.table[i];
		while (m != NULL) {
			struct qmsg *next = m->hnext;
			size_t b = id_hash(m->id) & (size - 1);
			m->hnext = t[b];
			t[b] = m;
			m = next;
		}
	}
	free(Q.table);
	Q.table = t;
	Q.table_size = size;
}

static void due_push(struct qmsg *m)
{
	m->state = QM_DUE;
	m->due_next = NULL;
	if (Q.due_tail != NULL)
		Q.due_tail->due_next = m;
	else
		Q.due_head = m;
	Q.due_tail = m;
}

static void due_remove(struct qmsg *m)
{
	struct qmsg **pp = &Q.due_head, *prev = NULL;
	while (*pp != NULL && *pp != m) {
		prev = *pp;
		pp = &(*pp)->due_next;
	}
	if (*pp == m) {
		*pp = m->due_next;
		if (Q.due_tail == m)
			Q.due_tail = prev;
	}
	m->due_next = NULL;
}

static void timer_cb(uv_timer_t *t)
{
	struct qmsg *m = t->data;
	if (m->state != QM_WAITING || m->held)
		return;
	due_push(m);
	run_due();
}

static struct qmsg *msg_add(const char *id)
{
	struct qmsg *m = msg_find(id);
	if (m != NULL)
		return m;
	if (Q.n_msgs >= Q.table_size)
		table_grow();
	m = x_calloc(1, sizeof(*m));
	m->id = x_strdup(id);
	uv_timer_init(Q.loop, &m->timer);
	m->timer.data = m;
	size_t b = id_hash(id) & (Q.table_size - 1);
	m->hnext = Q.table[b];
	Q.table[b] = m;
	Q.n_msgs++;
	m->state = QM_WAITING;
	return m;
}

static void msg_closed(uv_handle_t *h)
{
	struct qmsg *m = h->data;
	free(m->id);
	free(m);
}

static void msg_drop(struct qmsg *m)
{
	struct qmsg **pp = &Q.table[id_hash(m->id) & (Q.table_size - 1)];
	while (*pp != m)
		pp = &(*pp)->hnext;
	*pp = m->hnext;
	Q.n_msgs--;
	if (m->state == QM_DUE)
		due_remove(m);
	uv_timer_stop(&m->timer);
	uv_close((uv_handle_t *)&m->timer, msg_closed);
}

/* Arms the retry timer for time t (0 = now). */
static void msg_schedule(struct qmsg *m, time_t t)
{
	m->state = QM_WAITING;
	if (m->held || Q.shutting_down)
		return;
	time_t now = time(NULL);
	if (t <= now) {
		due_push(m);
		return;
	}
	uint64_t ms = (uint64_t)(t - now) * 1000;
	/* A little jitter so that messages deferred together spread out. */
	uint32_t r = 0;
	(void)getrandom(&r, sizeof(r), GRND_NONBLOCK);
	ms += r % (ms / 20 + 1);
	uv_timer_start(&m->timer, timer_cb, ms, 0);
}

/* Control replies. */

static void ctl_reply(const struct sockaddr_un *to, socklen_t len, const char *text)
{
	if (len <= sizeof(sa_family_t))
		return;
	(void)sendto(Q.ctl_fd, text, strlen(text), MSG_DONTWAIT, (const struct sockaddr *)to, len);
}

static void ctl_work(uv_work_t *w)
{
	struct ctl_op *op = w->data;
	struct qmsg *m = op->m;
	op->ret = 0;
	op->error = NULL;
	if (op->verb == CTL_DELETE) {
		op->ret = queue_remove(Q.cfg, m->id, &op->error);
		return;
	}
	struct queue_envelope env;
	if (queue_env_load(Q.cfg, m->id, &env, &op->error) < 0) {
		op->ret = -1;
		return;
	}
	env.held = op->verb == CTL_HOLD;
	if (op->verb == CTL_RELEASE)
		env.next_attempt = 0;
	op->ret = queue_env_save(Q.cfg, &env, false, &op->error);
	queue_envelope_free(&env);
}

static void ctl_after(uv_work_t *w, int status)
{
	struct ctl_op *op = w->data;
	struct qmsg *m = op->m;
	(void)status;
	Q.jobs--;
	Q.active--;
	if (op->ret < 0) {
		char *text = x_asprintf("error %s", op->error != NULL ? op->error : "failed");
		ctl_reply(&op->from, op->from_len, text);
		free(text);
	} else {
		ctl_reply(&op->from, op->from_len, "ok");
	}
	const char *what = op->verb == CTL_HOLD ? "put on hold" :
		op->verb == CTL_RELEASE ? "released" : "deleted";
	if (op->ret == 0)
		log_info("%s: %s by the administrator", m->id, what);
	int ret = op->ret;
	enum ctl_verb verb = op->verb;
	free(op);
	if (ret == 0 && verb == CTL_DELETE) {
		msg_drop(m);
	} else {
		if (ret == 0)
			m->held = verb == CTL_HOLD;
		m->state = QM_WAITING;
		/* More requests may have arrived meanwhile. */
		if (m->ops != NULL) {
			struct ctl_op *next = m->ops;
			m->ops = next->next;
			m->state = QM_ACTIVE;
			Q.active++;
			Q.jobs++;
			next->m = m;
			next->work.data = next;
			uv_queue_work(Q.loop, &next->work, ctl_work, ctl_after);
		} else {
			msg_schedule(m, 0);
		}
	}
	run_due();
	maybe_exit();
}

/* Runs a control op now, or after the attempt in progress. */
static void ctl_op_start(struct qmsg *m, struct ctl_op *op)
{
	op->m = m;
	if (m->state == QM_ACTIVE) {
		struct ctl_op **pp = &m->ops;
		while (*pp != NULL)
			pp = &(*pp)->next;
		*pp = op;
		return;
	}
	if (m->state == QM_DUE)
		due_remove(m);
	uv_timer_stop(&m->timer);
	m->state = QM_ACTIVE;
	Q.active++;
	Q.jobs++;
	op->work.data = op;
	uv_queue_work(Q.loop, &op->work, ctl_work, ctl_after);
}

static void flush_msg(struct qmsg *m)
{
	if (m->state == QM_ACTIVE) {
		m->again = true;
		return;
	}
	m->force = true;
	if (m->state == QM_WAITING && !m->held) {
		uv_timer_stop(&m->timer);
		due_push(m);
	}
}

static void ctl_handle(char *msg, const struct sockaddr_un *from, socklen_t from_len)
{
	char *arg = strchr(msg, ' ');
	if (arg != NULL)
		*arg++ = '\0';
	if (arg != NULL && !queue_id_valid(arg)) {
		ctl_reply(from, from_len, "error invalid queue id");
		return;
	}
	if (strcmp(msg, "new") == 0 && arg != NULL) {
		if (msg_find(arg) == NULL) {
			struct qmsg *m = msg_add(arg);
			due_push(m);
		}
	} else if (strcmp(msg, "flush") == 0) {
		delivery_dests_reset_hosts(Q.dests);
		if (arg == NULL) {
			for (size_t i = 0; i < Q.table_size; i++)
				for (struct qmsg *m = Q.table[i]; m != NULL; m = m->hnext)
					flush_msg(m);
			ctl_reply(from, from_len, "ok");
		} else {
			struct qmsg *m = msg_find(arg);
			if (m == NULL) {
				ctl_reply(from, from_len, "error no such message in the queue");
				return;
			}
			flush_msg(m);
			ctl_reply(from, from_len, "ok");
		}
	} else if ((strcmp(msg, "hold") == 0 || strcmp(msg, "release") == 0 ||
		    strcmp(msg, "delete") == 0) && arg != NULL) {
		struct qmsg *m = msg_find(arg);
		if (m == NULL) {
			/* Maybe committed a moment ago: look at the file. */
			char *path = queue_file_path(Q.cfg, arg, ".env");
			bool exists = access(path, F_OK) == 0;
			free(path);
			if (!exists) {
				ctl_reply(from, from_len, "error no such message in the queue");
				return;
			}
			m = msg_add(arg);
		}
		struct ctl_op *op = x_calloc(1, sizeof(*op));
		op->verb = msg[0] == 'h' ? CTL_HOLD : msg[0] == 'r' ? CTL_RELEASE : CTL_DELETE;
		op->from = *from;
		op->from_len = from_len;
		ctl_op_start(m, op);
	} else {
		ctl_reply(from, from_len, "error unknown request");
		return;
	}
	run_due();
}

static void ctl_poll_cb(uv_poll_t *p, int status, int events)
{
	(void)p;
	(void)events;
	if (status < 0)
		return;
	for (int i = 0; i < 256; i++) {
		char buf[QUEUE_CTL_MAX + 1];
		struct sockaddr_un from;
		socklen_t from_len = sizeof(from);
		ssize_t n = recvfrom(Q.ctl_fd, buf, QUEUE_CTL_MAX, 0, (struct sockaddr *)&from,
				     &from_len);
		if (n < 0)
			return;
		buf[n] = '\0';
		if (memchr(buf, '\0', (size_t)n) != NULL || strchr(buf, '\n') != NULL)
			continue;
		ctl_handle(buf, &from, from_len);
	}
}

/* Attempts. */

static void job_work(uv_work_t *w)
{
	struct job *j = w->data;
	if (j->kind == JOB_PREPARE)
		queue_attempt_prepare(j->m->attempt);
	else
		queue_attempt_commit(j->m->attempt, &Q.sched);
}

static void job_after(uv_work_t *w, int status);

static void job_start(struct qmsg *m, enum job_kind kind)
{
	struct job *j = x_calloc(1, sizeof(*j));
	j->kind = kind;
	j->m = m;
	j->work.data = j;
	Q.jobs++;
	uv_queue_work(Q.loop, &j->work, job_work, job_after);
}

static const char *outcome_word(enum queue_outcome o)
{
	switch (o) {
	case QUEUE_OUTCOME_SENT:
	case QUEUE_OUTCOME_RELAYED:
		return "sent";
	case QUEUE_OUTCOME_PERM:
		return "bounced";
	case QUEUE_OUTCOME_TEMP:
	case QUEUE_OUTCOME_NONE:
		break;
	}
	return "deferred";
}

static void txn_done(struct delivery_txn *t, void *ctx)
{
	struct qmsg *m = t->ctx;
	struct queue_attempt *a = m->attempt;
	(void)ctx;
	/* Stopping (restart, reload, the master gone): the next process
	 * repeats this attempt at once (found by the kill -9 rounds of
	 * test_crash_durability: such messages waited queue_retry_min). */
	if (Q.shutting_down)
		a->interrupted = true;
	for (size_t i = 0; i < t->n; i++) {
		struct delivery_result *r = &t->res[i];
		enum queue_outcome o;
		switch (r->kind) {
		case DELIVERY_RESULT_SENT:
			o = r->dsn_relayed ? QUEUE_OUTCOME_RELAYED : QUEUE_OUTCOME_SENT;
			break;
		case DELIVERY_RESULT_PERM:
			o = QUEUE_OUTCOME_PERM;
			break;
		default:
			o = QUEUE_OUTCOME_TEMP;
			break;
		}
		size_t idx = t->rcpt[i];
		const char *text = r->text != NULL ? r->text : "no result";
		queue_attempt_set(a, idx, o, r->enhanced, text, r->remote ? t->mta : NULL);
		log_info("%s: to=<%s>, relay=%s, status=%s (%s)", m->id,
			 a->env.rcpts[idx].address, t->mta != NULL ? t->mta : "none",
			 outcome_word(o), text);
		free(r->text);
	}
	free(t->res);
	free((void *)t->rcpt);
	free(t->mta);
	free(t);
	if (--m->txns == 0)
		job_start(m, JOB_COMMIT);
}

/* Groups the remote recipients by domain into transactions. */
static void send_remote(struct qmsg *m)
{
	struct queue_attempt *a = m->attempt;
	bool *taken = x_calloc(a->n_remote, sizeof(*taken));
	struct delivery_txn **txns = x_calloc(a->n_remote + 1, sizeof(*txns));
	char (*domains)[256] = x_calloc(a->n_remote + 1, sizeof(*domains));
	size_t n = 0;
	for (size_t i = 0; i < a->n_remote; i++) {
		if (taken[i])
			continue;
		char other[256];
		if (!queue_address_domain(a->env.rcpts[a->remote[i]].address, domains[n],
					  sizeof(domains[n]))) {
			taken[i] = true;
			queue_attempt_set(a, a->remote[i], QUEUE_OUTCOME_PERM, "5.1.3",
					  "bad recipient address syntax", NULL);
			continue;
		}
		struct delivery_txn *t = x_calloc(1, sizeof(*t));
		size_t *idx = x_calloc(a->n_remote, sizeof(*idx));
		for (size_t j = i; j < a->n_remote; j++) {
			if (taken[j] || !queue_address_domain(a->env.rcpts[a->remote[j]].address,
							      other, sizeof(other)) ||
			    strcmp(domains[n], other) != 0)
				continue;
			taken[j] = true;
			idx[t->n++] = a->remote[j];
		}
		t->env = &a->env;
		t->fd = a->fd;
		t->rcpt = idx;
		t->res = x_calloc(t->n, sizeof(*t->res));
		t->ctx = m;
		txns[n++] = t;
	}
	free(taken);
	/* Counted before any is handed over: a transaction may be decided
	 * at once (a destination known to be down) and must not start the
	 * commit while others are still to be submitted. */
	m->txns = (unsigned)n;
	if (n == 0)
		job_start(m, JOB_COMMIT);
	for (size_t i = 0; i < n; i++)
		delivery_dests_submit(Q.dests, domains[i], txns[i]);
	free(txns);
	free(domains);
}

static void attempt_end(struct qmsg *m)
{
	queue_attempt_free(&m->attempt);
	Q.active--;
	m->state = QM_WAITING;
}

static void after_commit(struct qmsg *m)
{
	struct queue_attempt *a = m->attempt;
	for (size_t i = 0; i < a->dsn_ids.n; i++) {
		struct qmsg *d = msg_add(a->dsn_ids.v[i]);
		if (d->state == QM_WAITING && !uv_is_active((uv_handle_t *)&d->timer))
			due_push(d);
	}
	if (a->removed) {
		log_info("%s: removed", m->id);
		attempt_end(m);
		if (m->ops != NULL) {
			/* Requests for a message that is gone. */
			struct ctl_op *op;
			while ((op = m->ops) != NULL) {
				m->ops = op->next;
				ctl_reply(&op->from, op->from_len, "error no such message in the queue");
				free(op);
			}
		}
		msg_drop(m);
		return;
	}
	time_t next = a->error != NULL ? time(NULL) + (time_t)Q.sched.retry_min :
		a->env.next_attempt;
	attempt_end(m);
	if (m->ops != NULL) {
		struct ctl_op *op = m->ops;
		m->ops = op->next;
		ctl_op_start(m, op);
		return;
	}
	if (m->again) {
		m->again = false;
		m->force = true;
		msg_schedule(m, 0);
		return;
	}
	msg_schedule(m, next);
}

static void after_prepare(struct qmsg *m)
{
	struct queue_attempt *a = m->attempt;
	if (a->gone) {
		attempt_end(m);
		struct ctl_op *op;
		while ((op = m->ops) != NULL) {
			m->ops = op->next;
			ctl_reply(&op->from, op->from_len, "error no such message in the queue");
			free(op);
		}
		msg_drop(m);
		return;
	}
	if (a->error != NULL || a->held || a->not_due || Q.shutting_down) {
		if (a->error != NULL)
			log_error("%s: %s", m->id, a->error);
		bool held = a->held;
		time_t next = a->error != NULL ? time(NULL) + (time_t)Q.sched.retry_min :
			a->env.next_attempt;
		attempt_end(m);
		m->held = held;
		if (m->ops != NULL) {
			struct ctl_op *op = m->ops;
			m->ops = op->next;
			ctl_op_start(m, op);
			return;
		}
		msg_schedule(m, next);
		return;
	}
	size_t pending = 0;
	for (size_t i = 0; i < a->env.n_rcpts; i++)
		if (a->env.rcpts[i].status == QUEUE_RCPT_PENDING)
			pending++;
	log_info("%s: from=<%s>, size=%llu, nrcpt=%zu (attempt)", m->id, a->env.sender,
		 (unsigned long long)a->env.size, pending);
	for (size_t i = 0; i < a->env.n_rcpts; i++) {
		enum queue_outcome o = a->outcome[i];
		if (o != QUEUE_OUTCOME_NONE && a->env.rcpts[i].status == QUEUE_RCPT_PENDING)
			log_info("%s: to=<%s>, relay=local, status=%s (%s)", m->id,
				 a->env.rcpts[i].address, outcome_word(o),
				 a->env.rcpts[i].last_error != NULL ?
				 a->env.rcpts[i].last_error : "");
	}
	send_remote(m);
}

static void job_after(uv_work_t *w, int status)
{
	struct job *j = w->data;
	struct qmsg *m = j->m;
	(void)status;
	Q.jobs--;
	if (j->kind == JOB_PREPARE)
		after_prepare(m);
	else
		after_commit(m);
	free(j);
	run_due();
	maybe_exit();
}

static void attempt_start(struct qmsg *m)
{
	m->state = QM_ACTIVE;
	Q.active++;
	m->attempt = queue_attempt_new(Q.cfg, m->id, m->force);
	m->force = false;
	job_start(m, JOB_PREPARE);
}

static void run_due(void)
{
	while (!Q.shutting_down && Q.due_head != NULL && Q.active < MAX_ACTIVE) {
		struct qmsg *m = Q.due_head;
		Q.due_head = m->due_next;
		if (Q.due_head == NULL)
			Q.due_tail = NULL;
		m->due_next = NULL;
		if (m->held) {
			m->state = QM_WAITING;
			continue;
		}
		attempt_start(m);
	}
}

/* Signals and set-up. */

static void close_all_cb(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void maybe_exit(void)
{
	if (!Q.shutting_down || Q.active > 0 || Q.jobs > 0 || delivery_dests_busy(Q.dests) ||
	    queue_pickup_server_busy(Q.pickup))
		return;
	uv_stop(Q.loop);
}

static void shutdown_timeout_cb(uv_timer_t *t)
{
	(void)t;
	log_warn("stopping with work in progress (it is repeated on restart)");
	uv_stop(Q.loop);
}

static void sigterm_cb(uv_signal_t *s, int signum)
{
	(void)s;
	if (Q.shutting_down)
		return;
	log_info("stopping (signal %d)", signum);
	Q.shutting_down = true;
	uv_poll_stop(&Q.ctl_poll);
	if (Q.pickup != NULL)
		queue_pickup_server_stop(Q.pickup);
	for (size_t i = 0; i < Q.table_size; i++)
		for (struct qmsg *m = Q.table[i]; m != NULL; m = m->hnext)
			uv_timer_stop(&m->timer);
	delivery_dests_shutdown(Q.dests);
	uv_timer_init(Q.loop, &Q.shutdown_timer);
	uv_timer_start(&Q.shutdown_timer, shutdown_timeout_cb, SHUTDOWN_GRACE_MS, 0);
	uv_unref((uv_handle_t *)&Q.shutdown_timer);
	maybe_exit();
}

static int make_tls(const struct config *cfg, const char **error_r)
{
	struct tls_client *any = tls_client_new(NULL, TLS_VERIFY_NONE, error_r);
	if (any == NULL)
		return -1;
	struct tls_client *verify = tls_client_new(cfg->smtp_out_ca_file, TLS_VERIFY_NAME, error_r);
	if (verify == NULL) {
		tls_client_free(&any);
		return -1;
	}
	/* Old contexts may still be used by live connections: their SSL
	 * objects hold references, so freeing our handle is safe. */
	tls_client_free(&Q.tls_any);
	tls_client_free(&Q.tls_verify);
	Q.tls_any = any;
	Q.tls_verify = verify;
	return 0;
}

static void client_params(void)
{
	Q.client.loop = Q.loop;
	Q.client.helo = Q.cfg->hostname;
	Q.client.port = (uint16_t)Q.cfg->smtp_out_port;
	Q.client.connect_timeout_ms = Q.cfg->smtp_out_connect_timeout * 1000;
	Q.client.cmd_timeout_ms = Q.cfg->smtp_out_timeout * 1000;
	Q.client.tls_any = Q.tls_any;
	Q.client.tls_verify = Q.tls_verify;
}

static bool str_changed(const char *a, const char *b)
{
	return strcmp(a != NULL ? a : "", b != NULL ? b : "") != 0;
}

static void sighup_cb(uv_signal_t *s, int signum)
{
	(void)s;
	(void)signum;
	struct config *cfg = cfg_reload(Q.cfg->path, -1, true);
	if (cfg == NULL)
		return;
	const char *error;
	if (str_changed(cfg->dns_resolver, Q.cfg->dns_resolver) ||
	    str_changed(cfg->dns_trust_anchor, Q.cfg->dns_trust_anchor)) {
		struct dns_resolver *dns = dns_resolver_new(Q.loop, cfg, &error);
		if (dns == NULL) {
			log_error("reload: resolver: %s", error);
			cfg_free(&cfg);
			return;
		}
		/* The old resolver may still have lookups of live
		 * destinations; it stays until exit. */
		Q.dns = dns;
	}
	/* Attempts in progress keep pointers into the old configuration,
	 * which is therefore kept (one per reload). */
	Q.cfg = cfg;
	if (Q.pickup != NULL)
		queue_pickup_server_set_config(Q.pickup, cfg);
	queue_sched_params_from_cfg(cfg, &Q.sched);
	if (make_tls(cfg, &error) < 0)
		log_error("reload: TLS: %s", error);
	client_params();
	delivery_dests_reconfigure(Q.dests, Q.cfg, Q.dns, &Q.client);
	log_info("configuration reloaded");
}

static void scan_queue(void)
{
	struct strv ids;
	strv_init(&ids);
	const char *error;
	if (queue_scan(Q.cfg, &ids, &error) < 0)
		log_error("%s", error);
	for (size_t i = 0; i < ids.n; i++) {
		struct qmsg *m = msg_add(ids.v[i]);
		if (m->state == QM_WAITING && !uv_is_active((uv_handle_t *)&m->timer))
			due_push(m);
	}
	if (ids.n > 0)
		log_info("%zu messages in the queue", ids.n);
	strv_free(&ids);
}

static void pickup_idle(void *ctx)
{
	(void)ctx;
	maybe_exit();
}

int queue_process_run(const struct config *cfg_in, long web_uid, long auth_uid)
{
	memset(&Q, 0, sizeof(Q));
	/* Attempts wait on the disk (envelope syncs, unlinks, Maildir
	 * deliveries); more helper threads let them overlap. Read by libuv
	 * at its first queued job, so set before any. */
	setenv("UV_THREADPOOL_SIZE", "16", 0);
	Q.loop = uv_default_loop();
	Q.cfg = (struct config *)cfg_in;
	Q.status = 0;
	log_set_process("queue");
	queue_sched_params_from_cfg(Q.cfg, &Q.sched);
	tls_global_init();
	const char *error;
	if (queue_dirs_ensure(Q.cfg, &error) < 0)
		log_fatal("%s: %s", error, strerror(errno));
	Q.dns = dns_resolver_new(Q.loop, Q.cfg, &error);
	if (Q.dns == NULL)
		log_fatal("DNS resolver: %s", error);
	if (make_tls(Q.cfg, &error) < 0)
		log_fatal("TLS client: %s", error);
	client_params();
	Q.dests = delivery_dests_new(Q.loop, Q.cfg, Q.dns, &Q.client, txn_done, NULL);

	/* The socket first, then the scan: a message committed in between
	 * is found by both, and the table keeps it once. */
	Q.ctl_fd = queue_ctl_listen(Q.cfg, &error);
	if (Q.ctl_fd < 0)
		log_fatal("%s: %s", error, strerror(errno));
	uv_poll_init(Q.loop, &Q.ctl_poll, Q.ctl_fd);
	uv_poll_start(&Q.ctl_poll, UV_READABLE, ctl_poll_cb);
	struct queue_pickup_server_params pp = {
		.loop = Q.loop,
		.cfg = Q.cfg,
		.deny_uid = { web_uid, auth_uid },
		.idle_cb = pickup_idle,
	};
	Q.pickup = queue_pickup_server_start(&pp, &error);
	if (Q.pickup == NULL)
		log_error("%s: %s; sendmail works only for root and the server's user",
			  error, strerror(errno));
	uv_signal_init(Q.loop, &Q.sigterm);
	uv_signal_start(&Q.sigterm, sigterm_cb, SIGTERM);
	uv_signal_init(Q.loop, &Q.sigint);
	uv_signal_start(&Q.sigint, sigterm_cb, SIGINT);
	uv_signal_init(Q.loop, &Q.sighup);
	uv_signal_start(&Q.sighup, sighup_cb, SIGHUP);
	stopsig_release();
	scan_queue();
	log_info("ready (outbound port %u, resolver %s)", (unsigned)Q.cfg->smtp_out_port,
		 Q.cfg->dns_resolver[0] != '\0' ? Q.cfg->dns_resolver : "system");
	run_due();

	uv_run(Q.loop, UV_RUN_DEFAULT);

	/* The socket file stays: a successor binds it anew, and senders
	 * meanwhile get "connection refused", which they tolerate. */
	close(Q.ctl_fd);
	/* Close what is left so the loop can be closed cleanly. */
	uv_walk(Q.loop, close_all_cb, NULL);
	uv_run(Q.loop, UV_RUN_NOWAIT);
	queue_pickup_server_free(&Q.pickup);
	log_info("stopped");
	return Q.status;
}
