/* queue_pickup_server.c — the pickup socket of the queue process (see
 * queue_pickup_server.h): accepts local users' connections, identifies
 * them by SO_PEERCRED, feeds their bytes to the pickup parser
 * (queue_pickup.c), writes the message to a file in data_dir/queue/tmp
 * behind our trace headers and commits it with queue_enqueue() in a
 * thread-pool job before answering. Runs in the queue process
 * (unprivileged, sandboxed). Reads untrusted input from any local user. */
#include "queue_pickup_server.h"
#include "fsutil.h"
#include "log.h"
#include "queue.h"
#include "queue_ctl.h"
#include "queue_file.h"
#include "queue_pickup.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define READ_SIZE (64 * 1024)
#define WRITE_CHUNK (64 * 1024)
#define REPLY_MS 10000

enum conn_state {
	C_LOOKUP,	/* the uid's name is being looked up; not reading yet */
	C_READING,
	C_ENQUEUING,	/* queue_enqueue() runs in a job */
	C_REPLYING,	/* the answer is being written; then closed */
	C_CLOSING,
};

struct pickup_conn {
	struct queue_pickup_server *srv;
	struct pickup_conn *prev, *next;
	const struct config *cfg;
	enum conn_state state;
	uv_pipe_t pipe;
	uv_timer_t timer;
	uv_write_t write_req;
	uv_work_t work;
	unsigned handles;	/* open libuv handles (pipe, timer) */
	bool job;		/* a thread-pool job holds the connection */
	uint64_t deadline;	/* loop time the request must be read by */

	uid_t uid;
	pid_t pid;
	char *user;		/* name of uid, NULL if it has none */

	struct queue_pickup_parser parser;
	char *id;
	int fd;
	char *tmp_path;
	struct buf wbuf;
	struct queue_envelope env;
	/* Results of the enqueue job. */
	int enq_ret;
	int enq_errno;
	const char *enq_error;
	char *queued_id;
	struct buf reply;
};

struct queue_pickup_server {
	uv_loop_t *loop;
	const struct config *cfg;
	uv_pipe_t listener;
	bool listening;
	bool stopping;
	uid_t self_uid;
	long deny_uid[2];
	void (*idle_cb)(void *ctx);
	void *ctx;
	struct pickup_conn *conns;
	unsigned n_conns;
	char rbuf[READ_SIZE];	/* every read lands here; parsed at once */
};

static void conn_close(struct pickup_conn *c);

/* ---- closing ---- */

static void conn_free(struct pickup_conn *c)
{
	struct queue_pickup_server *srv = c->srv;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	srv->n_conns--;
	if (c->fd >= 0)
		close(c->fd);
	if (c->tmp_path != NULL)
		(void)unlink(c->tmp_path);
	free(c->tmp_path);
	free(c->user);
	free(c->id);
	free(c->queued_id);
	buf_free(&c->wbuf);
	buf_free(&c->reply);
	queue_envelope_free(&c->env);
	queue_pickup_parser_free(&c->parser);
	free(c);
	if (srv->stopping && srv->n_conns == 0 && srv->idle_cb != NULL)
		srv->idle_cb(srv->ctx);
}

static void maybe_free(struct pickup_conn *c)
{
	if (c->state == C_CLOSING && c->handles == 0 && !c->job)
		conn_free(c);
}

static void handle_closed(uv_handle_t *h)
{
	struct pickup_conn *c = h->data;
	c->handles--;
	maybe_free(c);
}

static void conn_close(struct pickup_conn *c)
{
	if (c->state == C_CLOSING)
		return;
	c->state = C_CLOSING;
	uv_close((uv_handle_t *)&c->pipe, handle_closed);
	uv_close((uv_handle_t *)&c->timer, handle_closed);
}

static void reply_written(uv_write_t *req, int status)
{
	struct pickup_conn *c = req->data;
	(void)status;
	conn_close(c);
}

static void conn_timeout(uv_timer_t *t);

/* Sends the answer (already in c->reply) and closes. */
static void send_reply(struct pickup_conn *c)
{
	if (c->state == C_CLOSING || c->state == C_REPLYING)
		return;
	c->state = C_REPLYING;
	uv_read_stop((uv_stream_t *)&c->pipe);
	uv_timer_start(&c->timer, conn_timeout, REPLY_MS, 0);
	uv_buf_t b = uv_buf_init(c->reply.data, (unsigned)c->reply.len);
	c->write_req.data = c;
	if (uv_write(&c->write_req, (uv_stream_t *)&c->pipe, &b, 1, reply_written) < 0)
		conn_close(c);
}

static void fail(struct pickup_conn *c, int code, const char *text)
{
	if (c->state == C_CLOSING || c->state == C_REPLYING)
		return;
	buf_reset(&c->reply);
	queue_pickup_reply_fail(&c->reply, code, text);
	send_reply(c);
}

static void conn_timeout(uv_timer_t *t)
{
	struct pickup_conn *c = t->data;
	switch (c->state) {
	case C_LOOKUP:
	case C_READING:
		log_info("pickup: uid %lu: timeout", (unsigned long)c->uid);
		fail(c, QUEUE_PICKUP_EX_TEMPFAIL, "timeout: the message was not received in time");
		break;
	case C_REPLYING:
		conn_close(c);
		break;
	case C_ENQUEUING:	/* the job answers */
	case C_CLOSING:
		break;
	}
}

/* Re-arms the timer: the idle time, but never past the deadline. */
static void touch(struct pickup_conn *c)
{
	uint64_t now = uv_now(c->srv->loop);
	uint64_t ms = (uint64_t)QUEUE_PICKUP_IDLE_SECS * 1000;
	if (now >= c->deadline)
		ms = 0;
	else if (c->deadline - now < ms)
		ms = c->deadline - now;
	uv_timer_start(&c->timer, conn_timeout, ms, 0);
}

/* ---- the request ---- */

static const char *user_desc(const struct pickup_conn *c, char *buf, size_t size)
{
	if (c->user != NULL)
		snprintf(buf, size, "uid %lu (%s)", (unsigned long)c->uid, c->user);
	else
		snprintf(buf, size, "uid %lu", (unsigned long)c->uid);
	return buf;
}

/* The envelope is complete: the message file starts with our headers. */
static int envelope_ready(struct pickup_conn *c)
{
	const struct queue_pickup_request *r = &c->parser.req;
	const struct config *cfg = c->cfg;
	c->id = queue_id_new();
	const char *error;
	if (queue_dirs_ensure(cfg, &error) < 0) {
		log_error("pickup: %s: %s", error, strerror(errno));
		fail(c, QUEUE_PICKUP_EX_TEMPFAIL, "cannot write into the queue");
		return -1;
	}
	c->tmp_path = x_asprintf("%s/queue/tmp/%s.pickup", cfg->data_dir, c->id);
	c->fd = open(c->tmp_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (c->fd < 0) {
		log_error("pickup: cannot create %s: %s", c->tmp_path, strerror(errno));
		x_free(&c->tmp_path);
		fail(c, QUEUE_PICKUP_EX_TEMPFAIL, "cannot write into the queue");
		return -1;
	}
	bool warn = queue_pickup_sender_warns(c->uid, c->srv->self_uid, c->user, cfg->hostname,
					      r->sender);
	struct queue_pickup_trace t = {
		.hostname = cfg->hostname,
		.queue_id = c->id,
		.uid = c->uid,
		.user = c->user,
		.sender = r->sender,
		.warn = warn,
		.when = time(NULL),
	};
	queue_pickup_trace_append(&c->wbuf, &t);
	char who[128];
	user_desc(c, who, sizeof(who));
	if (warn)
		log_info("%s: %s set sender to <%s> using -f", c->id, who, r->sender);
	log_info("%s: pickup from %s, pid %ld: from=<%s>, size=%llu, nrcpt=%zu", c->id, who,
		 (long)c->pid, r->sender, (unsigned long long)r->message_size, r->rcpts.n);
	return 0;
}

static int spool_flush(struct pickup_conn *c)
{
	if (c->wbuf.len == 0)
		return 0;
	/* Page cache only; the fsync happens in the enqueue job. */
	int ret = write_full(c->fd, c->wbuf.data, c->wbuf.len);
	buf_reset(&c->wbuf);
	if (ret < 0) {
		log_error("%s: pickup: cannot write %s: %s", c->id, c->tmp_path, strerror(errno));
		fail(c, QUEUE_PICKUP_EX_TEMPFAIL, errno == ENOSPC || errno == EDQUOT ?
		     "cannot write into the queue: no space left" : "cannot write into the queue");
	}
	return ret;
}

static void enqueue_work(uv_work_t *w)
{
	struct pickup_conn *c = w->data;
	errno = 0;
	c->enq_ret = queue_enqueue(c->cfg, c->fd, c->tmp_path, 0, &c->env, &c->queued_id,
				   &c->enq_error);
	c->enq_errno = errno;
	/* The queue holds its own link now (or nothing was queued). */
	close(c->fd);
	c->fd = -1;
	(void)unlink(c->tmp_path);
	x_free(&c->tmp_path);
}

static void enqueue_after(uv_work_t *w, int status)
{
	struct pickup_conn *c = w->data;
	(void)status;
	c->job = false;
	if (c->state == C_CLOSING) {
		maybe_free(c);
		return;
	}
	buf_reset(&c->reply);
	if (c->enq_ret == 0) {
		log_info("%s: queued by pickup", c->queued_id);
		queue_pickup_reply_ok(&c->reply, c->queued_id);
		send_reply(c);
	} else {
		log_error("%s: pickup: cannot queue the message: %s (%s)", c->id, c->enq_error,
			  strerror(c->enq_errno));
		char *text = x_asprintf("cannot queue the message: %s", c->enq_error);
		fail(c, QUEUE_PICKUP_EX_TEMPFAIL, text);
		free(text);
	}
}

/* The whole request is read: commit it in a job. */
static void request_done(struct pickup_conn *c)
{
	if (spool_flush(c) < 0)
		return;
	const struct queue_pickup_request *r = &c->parser.req;
	struct queue_envelope *e = &c->env;
	e->id = x_strdup(c->id);
	e->sender = x_strdup(r->sender);
	for (size_t i = 0; i < r->rcpts.n; i++)
		queue_envelope_add_rcpt(e, r->rcpts.v[i], r->notify, NULL);
	e->body = r->eight_bit ? QUEUE_BODY_8BITMIME : QUEUE_BODY_7BIT;
	e->smtputf8 = r->smtputf8;
	e->ret = r->ret;
	e->envid = r->envid != NULL ? x_strdup(r->envid) : NULL;
	e->auth_user = c->user != NULL ? x_strdup(c->user) : x_asprintf("uid %lu",
									(unsigned long)c->uid);
	uv_read_stop((uv_stream_t *)&c->pipe);
	uv_timer_stop(&c->timer);
	c->state = C_ENQUEUING;
	c->job = true;
	c->work.data = c;
	uv_queue_work(c->srv->loop, &c->work, enqueue_work, enqueue_after);
}

/* Feeds bytes to the parser and acts on its events. */
static void process(struct pickup_conn *c, const char *data, size_t len)
{
	size_t off = 0;
	while (c->state == C_READING) {
		size_t used;
		const char *piece;
		size_t piece_len;
		enum queue_pickup_event ev = queue_pickup_parse(&c->parser, data + off, len - off,
								&used, &piece, &piece_len);
		off += used;
		switch (ev) {
		case QUEUE_PICKUP_MORE:
			return;
		case QUEUE_PICKUP_ENVELOPE:
			if (envelope_ready(c) < 0)
				return;
			break;
		case QUEUE_PICKUP_DATA:
			buf_append(&c->wbuf, piece, piece_len);
			if (c->wbuf.len >= WRITE_CHUNK && spool_flush(c) < 0)
				return;
			break;
		case QUEUE_PICKUP_DONE:
			if (off < len) {
				fail(c, QUEUE_PICKUP_EX_PROTOCOL, "data after the message");
				return;
			}
			request_done(c);
			return;
		case QUEUE_PICKUP_ERROR: {
			char who[128];
			log_info("pickup: %s: refused: %s", user_desc(c, who, sizeof(who)),
				 c->parser.error);
			fail(c, c->parser.error_code, c->parser.error);
			return;
		}
		}
	}
}

static void conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	struct pickup_conn *c = h->data;
	(void)suggested;
	b->base = c->srv->rbuf;
	b->len = sizeof(c->srv->rbuf);
}

static void conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct pickup_conn *c = s->data;
	if (nread == 0 || c->state != C_READING)
		return;
	if (nread < 0) {
		char who[128];
		log_info("pickup: %s: connection closed before the end of the request",
			 user_desc(c, who, sizeof(who)));
		/* A client that only shut down its side still hears why. */
		if (nread == UV_EOF)
			fail(c, QUEUE_PICKUP_EX_PROTOCOL, "incomplete request");
		else
			conn_close(c);
		return;
	}
	touch(c);
	process(c, b->base, (size_t)nread);
}

/* ---- accepting ---- */

static void lookup_work(uv_work_t *w)
{
	struct pickup_conn *c = w->data;
	/* NSS may read files or ask a directory service: not on the loop. */
	size_t size = 16384;
	for (int tries = 0; tries < 6; tries++, size *= 2) {
		struct passwd pw, *res = NULL;
		char *buf = x_malloc(size);
		int err = getpwuid_r(c->uid, &pw, buf, size, &res);
		if (err == 0 && res != NULL && res->pw_uid == c->uid && res->pw_name[0] != '\0')
			c->user = x_strdup(res->pw_name);
		free(buf);
		if (err != ERANGE)
			break;
	}
}

static void lookup_after(uv_work_t *w, int status)
{
	struct pickup_conn *c = w->data;
	(void)status;
	c->job = false;
	if (c->state != C_LOOKUP) {
		maybe_free(c);
		return;
	}
	c->state = C_READING;
	uv_read_start((uv_stream_t *)&c->pipe, conn_alloc, conn_read);
}

static unsigned conns_of(const struct queue_pickup_server *srv, uid_t uid)
{
	unsigned n = 0;
	for (const struct pickup_conn *c = srv->conns; c != NULL; c = c->next)
		n += c->uid == uid;
	return n;
}

static bool denied(const struct queue_pickup_server *srv, uid_t uid)
{
	for (size_t i = 0; i < N_ELEMENTS(srv->deny_uid); i++)
		if (srv->deny_uid[i] >= 0 && (uid_t)srv->deny_uid[i] == uid && uid != srv->self_uid)
			return true;
	return false;
}

static void on_connection(uv_stream_t *listener, int status)
{
	struct queue_pickup_server *srv = listener->data;
	if (status < 0) {
		log_warn("pickup: accept: %s", uv_strerror(status));
		return;
	}
	struct pickup_conn *c = x_calloc(1, sizeof(*c));
	c->srv = srv;
	c->cfg = srv->cfg;
	c->fd = -1;
	c->state = C_LOOKUP;
	queue_envelope_init(&c->env);
	queue_pickup_parser_init(&c->parser, c->cfg->message_size_limit,
				 c->cfg->smtp_max_recipients > 0 ? c->cfg->smtp_max_recipients : 1000);
	c->next = srv->conns;
	if (srv->conns != NULL)
		srv->conns->prev = c;
	srv->conns = c;
	uv_pipe_init(srv->loop, &c->pipe, 0);
	uv_timer_init(srv->loop, &c->timer);
	c->pipe.data = c->timer.data = c;
	c->handles = 2;
	/* Counted now: a connection that fails below still uses a slot
	 * until its handles are closed. */
	srv->n_conns++;
	if (uv_accept(listener, (uv_stream_t *)&c->pipe) < 0) {
		c->state = C_CLOSING;
		uv_close((uv_handle_t *)&c->pipe, handle_closed);
		uv_close((uv_handle_t *)&c->timer, handle_closed);
		return;
	}
	uv_os_fd_t fd;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (uv_fileno((uv_handle_t *)&c->pipe, &fd) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		log_error("pickup: no peer credentials: %s", strerror(errno));
		conn_close(c);
		return;
	}
	c->uid = cred.uid;
	c->pid = cred.pid;
	c->deadline = uv_now(srv->loop) + (uint64_t)QUEUE_PICKUP_MAX_SECS * 1000;
	touch(c);
	if (denied(srv, c->uid)) {
		log_warn("pickup: uid %lu (a correu process's user) may not submit mail; refused",
			 (unsigned long)c->uid);
		fail(c, QUEUE_PICKUP_EX_NOPERM, "this user may not submit mail");
		return;
	}
	if (srv->n_conns > QUEUE_PICKUP_MAX_CONNECTIONS ||
	    conns_of(srv, c->uid) > QUEUE_PICKUP_MAX_PER_UID) {
		log_warn("pickup: uid %lu: too many connections; refused", (unsigned long)c->uid);
		fail(c, QUEUE_PICKUP_EX_TEMPFAIL, "too many connections; try again later");
		return;
	}
	c->job = true;
	c->work.data = c;
	uv_queue_work(srv->loop, &c->work, lookup_work, lookup_after);
}

/* ---- the socket ---- */

static void check_reachable(const struct config *cfg)
{
	struct stat st;
	if (stat(cfg->data_dir, &st) == 0 && (st.st_mode & S_IXOTH) == 0)
		log_warn("data_dir %s is not searchable by other users (mode %03o): they cannot "
			 "reach the pickup socket, so sendmail works only for root and the "
			 "server's user (started as root, the server sets mode 0771)",
			 cfg->data_dir, (unsigned)(st.st_mode & 0777));
}

static int bind_socket(const struct config *cfg, const char **error_r)
{
	/* Every local user must reach it: 0755 directory (mkdir_p honours
	 * the umask), 0666 socket. */
	char *dir = queue_pickup_dir(cfg);
	if (mkdir_p(dir, 0755) == 0 && chmod(dir, 0755) < 0)
		log_warn("chmod %s: %s", dir, strerror(errno));
	int fd = queue_ctl_bind(dir, 0755, "pickup", SOCK_STREAM, 0666, error_r);
	free(dir);
	return fd;
}

static void server_closed(uv_handle_t *h)
{
	free(h->data);
}

struct queue_pickup_server *queue_pickup_server_start(const struct queue_pickup_server_params *p,
						      const char **error_r)
{
	int fd = bind_socket(p->cfg, error_r);
	if (fd < 0)
		return NULL;
	struct queue_pickup_server *srv = x_calloc(1, sizeof(*srv));
	srv->loop = p->loop;
	srv->cfg = p->cfg;
	srv->self_uid = geteuid();
	srv->deny_uid[0] = p->deny_uid[0];
	srv->deny_uid[1] = p->deny_uid[1];
	srv->idle_cb = p->idle_cb;
	srv->ctx = p->ctx;
	uv_pipe_init(srv->loop, &srv->listener, 0);
	srv->listener.data = srv;
	int rc = uv_pipe_open(&srv->listener, fd);
	if (rc < 0)
		close(fd);
	else
		rc = uv_listen((uv_stream_t *)&srv->listener, 64, on_connection);
	if (rc < 0) {
		*error_r = "cannot listen on data_dir/public/pickup";
		uv_close((uv_handle_t *)&srv->listener, server_closed);
		errno = -rc;
		return NULL;
	}
	srv->listening = true;
	check_reachable(p->cfg);
	return srv;
}

void queue_pickup_server_set_config(struct queue_pickup_server *s, const struct config *cfg)
{
	s->cfg = cfg;
}

void queue_pickup_server_stop(struct queue_pickup_server *s)
{
	if (s->stopping)
		return;
	s->stopping = true;
	if (s->listening) {
		uv_close((uv_handle_t *)&s->listener, NULL);
		s->listening = false;
	}
	struct pickup_conn *next;
	for (struct pickup_conn *c = s->conns; c != NULL; c = next) {
		next = c->next;
		if (c->state == C_LOOKUP || c->state == C_READING) {
			fail(c, QUEUE_PICKUP_EX_TEMPFAIL,
			     "the mail server is stopping; nothing was queued, try again");
		}
	}
	if (s->n_conns == 0 && s->idle_cb != NULL)
		s->idle_cb(s->ctx);
}

bool queue_pickup_server_busy(const struct queue_pickup_server *s)
{
	return s != NULL && s->n_conns > 0;
}

void queue_pickup_server_free(struct queue_pickup_server **sp)
{
	struct queue_pickup_server *s = *sp;
	if (s == NULL)
		return;
	/* Connections left (stopped by the shutdown timeout) keep it. */
	if (s->n_conns > 0 || s->listening)
		return;
	free(s);
	*sp = NULL;
}
