/* smtp_cmd_data.c — DATA and BDAT: the message content phase, the spool
 * file, and the commit that makes the message durable (Maildir links and
 * the queue, fsynced in a helper thread) before the final 250. Runs in
 * the workers; parses untrusted content through smtp_data. */
#include "smtp_session.h"
#include "smtp_submit.h"
#include "auth_db.h"
#include "fsutil.h"
#include "log.h"
#include "queue.h"
#include "smtp_received.h"
#include "store_deliver.h"
#include "store_quota.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SPOOL_WRITE_CHUNK (64 * 1024)

static uint64_t now_ms(const struct smtp_session *s)
{
	return uv_now(s->env->loop);
}

/* Writes buffered content to the spool file (page cache; the fsync
 * happens in the commit thread). */
static void spool_flush(struct smtp_txn *t)
{
	if (t->wbuf.len == 0)
		return;
	if (!t->too_big && !t->write_failed && t->fd >= 0 &&
	    write_full(t->fd, t->wbuf.data, t->wbuf.len) < 0)
		t->write_failed = true;
	if (!t->too_big && !t->write_failed)
		t->file_size += t->wbuf.len;
	buf_reset(&t->wbuf);
}

/* Opens the spool file and writes the trace headers. */
static int spool_open(struct smtp_session *s)
{
	struct smtp_txn *t = s->txn;
	const struct config *cfg = s->env->cfg;
	t->spool_path = x_asprintf("%s/spool/%s", cfg->data_dir, t->queue_id);
	t->fd = open(t->spool_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (t->fd < 0 && errno == ENOENT) {
		char *dir = x_asprintf("%s/spool", cfg->data_dir);
		mkdir_p(dir, 0700);
		free(dir);
		t->fd = open(t->spool_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	}
	if (t->fd < 0) {
		log_error("smtp[%s]: %s: cannot create %s: %s", s->id, t->queue_id,
			  t->spool_path, strerror(errno));
		free(t->spool_path);
		t->spool_path = NULL;
		return -1;
	}
	struct buf *h = &t->wbuf;
	buf_appendf(h, "Return-Path: <%s>\r\n", t->sender);
	t->prefix_len = h->len;
	char desc[160];
	struct smtp_trace tr = {
		.helo = s->helo,
		.client_ip = conn_peer_ip(s->conn),
		.hostname = cfg->hostname,
		.protocol = smtp_protocol_name(s->esmtp, s->tls, s->auth_user != NULL, t->smtputf8),
		.queue_id = t->queue_id,
		.tls_desc = conn_tls_desc(s->conn, desc, sizeof(desc)),
		.for_rcpt = t->n_rcpts == 1 ? t->rcpts[0].address : NULL,
		.when = time(NULL),
	};
	smtp_received_append(h, &tr);
	spool_flush(t);
	t->data_started = true;
	t->started_ms = now_ms(s);
	smtp_data_init(&t->data, t->via_bdat,
		       strcmp(cfg->smtp_bare_newline, "normalize") == 0,
		       cfg->smtp_line_length_limit > 0 ? cfg->smtp_line_length_limit : SIZE_MAX);
	return 0;
}

/* Common checks of DATA and the first BDAT; replies on failure. */
static bool content_allowed(struct smtp_session *s, unsigned *code, const char **enh,
			    const char **text)
{
	if (s->txn == NULL) {
		*code = 503, *enh = "5.5.1", *text = "Error: need MAIL command";
		return false;
	}
	if (s->txn->n_rcpts == 0) {
		*code = 554, *enh = "5.5.1", *text = "Error: no valid recipients";
		return false;
	}
	return true;
}

void smtp_cmd_data(struct smtp_session *s, struct smtp_command *cmd)
{
	(void)cmd;
	unsigned code;
	const char *enh, *text;
	if (!content_allowed(s, &code, &enh, &text)) {
		smtp_error(s, code, enh, "%s", text);
		return;
	}
	if (s->txn->data_started) {
		smtp_error(s, 503, "5.5.1", "Error: BDAT and DATA cannot be mixed");
		return;
	}
	s->txn->via_bdat = false;
	if (spool_open(s) < 0) {
		smtp_reply(s, 451, "4.3.0", "Error: queue file write error");
		return;
	}
	smtp_reply(s, 354, "2.0.0", "End data with <CR><LF>.<CR><LF>");
	s->phase = SMTP_PHASE_DATA;
	conn_set_timeout(s->conn, s->env->cfg->smtp_data_timeout * 1000);
}

void smtp_cmd_bdat(struct smtp_session *s, struct smtp_command *cmd)
{
	unsigned code;
	const char *enh, *text;
	s->bdat_remaining = cmd->chunk_size;
	s->bdat_last = cmd->chunk_last;
	s->bdat_error_code = 0;
	if (!content_allowed(s, &code, &enh, &text)) {
		/* The chunk's octets follow regardless; read and drop them. */
		s->bdat_error_code = code, s->bdat_error_enh = enh, s->bdat_error_text = text;
	} else if (s->txn->data_started && !s->txn->via_bdat) {
		s->bdat_error_code = 503;
		s->bdat_error_enh = "5.5.1";
		s->bdat_error_text = "Error: BDAT and DATA cannot be mixed";
	} else if (!s->txn->data_started) {
		s->txn->via_bdat = true;
		if (spool_open(s) < 0) {
			s->bdat_error_code = 451;
			s->bdat_error_enh = "4.3.0";
			s->bdat_error_text = "Error: queue file write error";
		}
	}
	s->phase = SMTP_PHASE_BDAT;
	conn_set_timeout(s->conn, s->env->cfg->smtp_data_timeout * 1000);
}

/* Feeds content through the data state machine into the spool. */
static void take_content(struct smtp_session *s, const char *p, size_t n, size_t *used_r,
			 bool *done_r)
{
	struct smtp_txn *t = s->txn;
	size_t before = t->wbuf.len;
	*used_r = smtp_data_feed(&t->data, p, n, &t->wbuf, done_r);
	t->data_size += t->wbuf.len - before;
	if (t->data_size > s->env->cfg->message_size_limit && !t->too_big) {
		t->too_big = true;
		buf_free(&t->wbuf);
	}
	if (t->too_big)
		buf_reset(&t->wbuf);
	else if (t->wbuf.len >= SPOOL_WRITE_CHUNK)
		spool_flush(t);
}

static void finish_message(struct smtp_session *s);

bool smtp_data_input(struct smtp_session *s, struct buf *in)
{
	if (s->phase == SMTP_PHASE_DATA) {
		if (in->len == 0)
			return false;
		size_t used;
		bool done;
		take_content(s, in->data, in->len, &used, &done);
		buf_consume(in, used);
		if (!done)
			return false;
		finish_message(s);
		return true;
	}
	/* BDAT: exactly bdat_remaining octets, binary. */
	size_t n = in->len < s->bdat_remaining ? in->len : (size_t)s->bdat_remaining;
	if (n > 0) {
		if (s->bdat_error_code == 0) {
			size_t used;
			bool done;
			take_content(s, in->data, n, &used, &done);
		}
		buf_consume(in, n);
		s->bdat_remaining -= n;
	}
	if (s->bdat_remaining > 0)
		return false;
	s->phase = SMTP_PHASE_COMMANDS;
	conn_set_timeout(s->conn, s->env->cfg->smtp_timeout * 1000);
	if (s->bdat_error_code != 0) {
		smtp_error(s, s->bdat_error_code, s->bdat_error_enh, "%s", s->bdat_error_text);
		if (s->bdat_error_code != 503 || s->txn == NULL || !s->txn->data_started)
			return true;
		/* A refused chunk inside a BDAT transaction ends it. */
		smtp_txn_reset(s);
		return true;
	}
	if (s->bdat_last) {
		finish_message(s);
		return true;
	}
	smtp_reply(s, 250, "2.0.0", "Ok: %llu octets received",
		   (unsigned long long)s->txn->data_size);
	return true;
}

/* Work done in a helper thread: fsync, Maildir links, queue. */
struct commit {
	uv_work_t work;
	struct smtp_session *s;
	int fd;
	char *path;
	uint64_t file_size;
	size_t skip;
	struct store_target *targets;
	char **maildirs;
	char **users;		/* the local account of each target */
	uint64_t *quota;	/* per target, 0 = none */
	uint64_t *used;		/* per target at RCPT, or SMTP_QUOTA_UNKNOWN */
	size_t n_targets;
	struct strv over_quota;	/* accounts handed to the queue instead */
	struct queue_envelope qenv;
	bool has_remote;
	const struct config *cfg;
	const char *error;
	int ret;
	char *queue_id;
};

/* The end of data's quota rule: an account that was under its quota at
 * RCPT gets the message if it fits with the grace (store_quota_grace, as
 * Dovecot's quota_grace); otherwise the account goes to the queue, which
 * defers it (4.2.2) until there is room. So one 250 covers every
 * recipient and nothing acknowledged is lost. The usage is the one seen
 * at RCPT (deliveries meanwhile are the overshoot the grace allows),
 * looked up here only when RCPT did not (a quota set since). */
static void commit_quota(struct commit *c)
{
	size_t k = 0;
	for (size_t i = 0; i < c->n_targets; i++) {
		bool fits = true;
		if (c->quota[i] > 0) {
			uint64_t used = c->used[i];
			const char *error;
			if (used == SMTP_QUOTA_UNKNOWN &&
			    store_quota_usage(c->users[i], c->maildirs[i], &used, &error) < 0) {
				log_error("%s: quota of %s: %s", c->qenv.id, c->users[i], error);
				used = 0;
			}
			fits = store_quota_check(c->quota[i], used, c->file_size, true) ==
				STORE_QUOTA_OK;
		}
		if (!fits) {
			strv_push(&c->over_quota, c->users[i]);
			queue_envelope_add_rcpt(&c->qenv, c->users[i], 0, NULL);
			c->has_remote = true;
			free(c->users[i]);
			free(c->maildirs[i]);
			continue;
		}
		c->users[k] = c->users[i];
		c->maildirs[k] = c->maildirs[i];
		c->quota[k] = c->quota[i];
		c->used[k] = c->used[i];
		c->targets[k].maildir = c->maildirs[k];
		c->targets[k].folder = NULL;
		k++;
	}
	c->n_targets = k;
}

static void commit_work(uv_work_t *w)
{
	struct commit *c = w->data;
	c->ret = 0;
	commit_quota(c);
	if (c->n_targets > 0) {
		c->ret = store_deliver_files(c->fd, c->path, c->file_size, c->targets,
					     c->n_targets, NULL, &c->error);
	} else if (fdatasync(c->fd) < 0) {
		c->ret = -1;
		c->error = strerror(errno);
	}
	if (c->ret == 0 && c->has_remote)
		c->ret = queue_enqueue(c->cfg, c->fd, c->path, c->skip, &c->qenv, &c->queue_id,
				       &c->error);
	close(c->fd);
	unlink(c->path);
}

static void commit_free(struct commit *c)
{
	free(c->path);
	for (size_t i = 0; i < c->n_targets; i++) {
		free(c->maildirs[i]);
		free(c->users[i]);
	}
	free(c->maildirs);
	free(c->users);
	free(c->quota);
	free(c->used);
	free(c->targets);
	strv_free(&c->over_quota);
	queue_envelope_free(&c->qenv);
	free(c->queue_id);
	free(c);
}

static void commit_done(uv_work_t *w, int status)
{
	struct commit *c = w->data;
	struct smtp_session *s = c->s;
	s->commit = NULL;
	if (s->closed) {
		/* The client left before the reply; what was committed stays
		 * (it may arrive twice if the client retries). */
		if (c->ret == 0)
			log_info("smtp[%s]: %s: committed after client disconnect", s->id,
				 s->txn->queue_id);
		commit_free(c);
		smtp_session_free(s);
		return;
	}
	struct smtp_txn *t = s->txn;
	uint64_t ms = now_ms(s) - t->started_ms;
	if (status != 0 || c->ret < 0) {
		log_error("smtp[%s]: %s: commit failed: %s", s->id, t->queue_id,
			  c->error != NULL ? c->error : "cancelled");
		smtp_reply(s, 451, "4.3.0", "Error: local delivery failed, try again later");
	} else {
		s->n_messages++;
		struct buf who = BUF_INIT;
		for (size_t i = 0; i < t->local_users.n; i++)
			buf_appendf(&who, "%s%s", i > 0 ? "," : "", t->local_users.v[i]);
		for (size_t i = 0; i < t->remote.n; i++)
			buf_appendf(&who, "%s%s", who.len > 0 ? "," : "", t->remote.v[i]);
		log_info("smtp[%s]: %s: accepted from=<%s> size=%llu nrcpt=%zu %s=%s (%llu ms)",
			 s->id, t->queue_id, t->sender, (unsigned long long)t->data_size,
			 t->n_rcpts, c->has_remote ? "to" : "delivered", buf_cstr(&who),
			 (unsigned long long)ms);
		for (size_t i = 0; i < c->over_quota.n; i++)
			log_info("smtp[%s]: %s: %s over quota with this message: queued, "
				 "not delivered", s->id, t->queue_id, c->over_quota.v[i]);
		buf_free(&who);
		smtp_reply(s, 250, "2.0.0", "Ok: queued as %s", t->queue_id);
	}
	/* The spool file is gone (the thread unlinked it). */
	t->fd = -1;
	free(t->spool_path);
	t->spool_path = NULL;
	commit_free(c);
	smtp_txn_reset(s);
	s->phase = SMTP_PHASE_COMMANDS;
	smtp_session_resume(s);
}

static void build_queue_envelope(struct smtp_session *s, struct commit *c)
{
	struct smtp_txn *t = s->txn;
	struct queue_envelope *e = &c->qenv;
	queue_envelope_init(e);
	e->id = x_strdup(t->queue_id);
	e->sender = x_strdup(t->sender);
	e->body = t->body_8bit ? QUEUE_BODY_8BITMIME : QUEUE_BODY_7BIT;
	e->smtputf8 = t->smtputf8;
	e->ret = t->ret == NULL ? QUEUE_RET_DEFAULT :
		strcmp(t->ret, "FULL") == 0 ? QUEUE_RET_FULL : QUEUE_RET_HDRS;
	if (t->envid != NULL) {
		char dec[128];
		if (smtp_xtext_decode(t->envid, dec, sizeof(dec)) == 0)
			e->envid = x_strdup(dec);
	}
	e->auth_user = s->auth_user != NULL ? x_strdup(s->auth_user) : NULL;
	e->client_ip = x_strdup(conn_peer_ip(s->conn));
	e->client_helo = s->helo != NULL ? x_strdup(s->helo) : NULL;
	for (size_t i = 0; i < t->remote.n; i++) {
		/* DSN parameters belong to the RCPT that named the address;
		 * alias expansions inherit nothing. */
		const struct smtp_rcpt *r = NULL;
		for (size_t j = 0; j < t->n_rcpts; j++)
			if (strcasecmp(t->rcpts[j].address, t->remote.v[i]) == 0)
				r = &t->rcpts[j];
		queue_envelope_add_rcpt(e, t->remote.v[i], r != NULL ? r->notify : 0,
					r != NULL ? r->orcpt : NULL);
	}
}

static void finish_message(struct smtp_session *s)
{
	struct smtp_txn *t = s->txn;
	s->phase = SMTP_PHASE_COMMANDS;
	conn_set_timeout(s->conn, s->env->cfg->smtp_timeout * 1000);
	spool_flush(t);
	unsigned bad = smtp_data_reject_flags(&t->data);
	if (t->too_big) {
		log_info("smtp[%s]: %s: rejected: message too big (%llu bytes)", s->id,
			 t->queue_id, (unsigned long long)t->data_size);
		smtp_error(s, 552, "5.3.4", "Error: message size exceeds fixed limit");
		smtp_txn_reset(s);
		return;
	}
	if (bad != 0) {
		const char *what = (bad & SMTP_DATA_BARE_LF) ? "bare <LF>" :
			(bad & SMTP_DATA_BARE_CR) ? "bare <CR>" :
			(bad & SMTP_DATA_NUL) ? "NUL character" : "line longer than allowed";
		log_info("smtp[%s]: %s: rejected: %s in message data from %s", s->id,
			 t->queue_id, what, conn_peer_ip(s->conn));
		smtp_error(s, 550, (bad & SMTP_DATA_LONG_LINE) && !(bad & ~SMTP_DATA_LONG_LINE) ?
			   "5.6.0" : "5.5.2", "Error: %s in message data (RFC 5321 2.3.8)", what);
		smtp_txn_reset(s);
		return;
	}
	if (t->write_failed) {
		smtp_reply(s, 451, "4.3.0", "Error: queue file write error");
		smtp_txn_reset(s);
		return;
	}
	/* Submission: From: ownership, Date:/Message-ID: (smtp_submit.c). */
	if (smtp_is_submission(s) && !smtp_submit_finish(s)) {
		smtp_txn_reset(s);
		return;
	}

	struct commit *c = x_calloc(1, sizeof(*c));
	c->s = s;
	c->cfg = s->env->cfg;
	c->fd = t->fd;
	c->path = x_strdup(t->spool_path);
	c->file_size = t->file_size;
	c->skip = t->prefix_len;
	size_t n = t->local_users.n;
	c->targets = x_calloc(n + 1, sizeof(*c->targets));
	c->maildirs = x_calloc(n + 1, sizeof(char *));
	c->users = x_calloc(n + 1, sizeof(char *));
	c->quota = x_calloc(n + 1, sizeof(*c->quota));
	c->used = x_calloc(n + 1, sizeof(*c->used));
	strv_init(&c->over_quota);
	/* Built even without remote recipients: accounts over quota may
	 * join it (commit_quota). */
	build_queue_envelope(s, c);
	c->has_remote = t->remote.n > 0;
	for (size_t i = 0; i < n; i++) {
		struct auth_user u;
		if (auth_db_user_get(s->env->accounts, t->local_users.v[i], &u) != 1) {
			/* Deleted since RCPT: try again later rather than lose it. */
			commit_free(c);
			smtp_reply(s, 451, "4.3.0", "Error: recipient %s unavailable", t->local_users.v[i]);
			smtp_txn_reset(s);
			return;
		}
		c->maildirs[c->n_targets] = x_strdup(u.maildir);
		c->users[c->n_targets] = x_strdup(t->local_users.v[i]);
		c->quota[c->n_targets] = u.quota_bytes;
		/* A quota set since RCPT was not looked at then. */
		c->used[c->n_targets] = t->local_quota[i] > 0 ? t->local_used[i] :
			SMTP_QUOTA_UNKNOWN;
		c->targets[c->n_targets].maildir = c->maildirs[c->n_targets];
		c->targets[c->n_targets].folder = NULL;
		c->n_targets++;
		auth_user_free(&u);
	}
	/* The thread owns the file from now on. */
	t->fd = -1;
	c->work.data = c;
	s->commit = &c->work;
	s->phase = SMTP_PHASE_WAIT;
	conn_pause(s->conn);
	uv_queue_work(s->env->loop, &c->work, commit_work, commit_done);
}
