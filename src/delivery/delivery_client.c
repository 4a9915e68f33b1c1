/* delivery_client.c — the outbound SMTP client session (see
 * delivery_client.h). Runs in the queue process. Talks to untrusted
 * servers: replies go through delivery_reply's bounded parser, every
 * wait has a deadline timer that reads do not extend (slow drip), and
 * any protocol violation ends the connection with a temporary failure.
 *
 * Replies are matched to commands through a FIFO of expectations, so
 * pipelined groups (MAIL, RCPT..., DATA) are handled like single ones. */
#include "delivery_client.h"
#include "delivery_body.h"
#include "delivery_reply.h"
#include "conn.h"
#include "log.h"
#include "mail_downgrade.h"
#include "net.h"
#include "xalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BODY_CHUNK 65536
#define BODY_HIGH_WATER (256 * 1024)
#define BDAT_CHUNK_MAX (8u * 1024 * 1024)
#define DOWNGRADE_MAX (64u * 1024 * 1024)

enum expect_kind {
	EXP_GREETING,
	EXP_EHLO,
	EXP_HELO,
	EXP_STARTTLS,
	EXP_MAIL,
	EXP_RCPT,	/* arg: index into txn */
	EXP_DATA,
	EXP_DOT,
	EXP_BDAT,	/* arg: 1 for the LAST chunk */
	EXP_RSET,
};

struct expect {
	enum expect_kind kind;
	size_t arg;
};

enum client_state {
	CS_CONNECTING,
	CS_SETUP,	/* greeting, EHLO, STARTTLS */
	CS_HANDSHAKE,
	CS_READY,
	CS_TXN,
	CS_RSET,
	CS_CLOSING,
};

struct delivery_client {
	struct delivery_client_params p;
	const struct delivery_client_ops *ops;
	void *ctx;
	struct conn *conn;
	uv_timer_t timer;
	char *host;
	char *ip;
	char *mta;
	enum delivery_tls tls;
	bool tls_off;
	bool tls_active;
	bool tls_failed;
	bool was_ready;
	bool esmtp;
	enum client_state state;
	struct delivery_reply_parser parser;
	struct delivery_caps caps;
	struct expect *exp;
	size_t exp_head, exp_n, exp_cap;
	char *error;		/* why we are closing, if we decided it */

	/* The transaction in progress. */
	struct delivery_txn *txn;
	size_t accepted;	/* recipients with a 2xx RCPT reply */
	size_t rcpt_replies;
	bool mail_failed;
	bool need_rset;
	bool use_bdat;
	bool sending_body;
	bool body_done;
	uint64_t bdat_left;	/* bytes of the current BDAT chunk to send */
	struct delivery_body body;
	struct delivery_stuffer stuffer;
	bool immediate;		/* decided before sending anything */
	bool got_reply;		/* the transaction got any reply */
	unsigned n_txns;	/* transactions started on this connection */
};

static void client_on_input(struct conn *conn, void *ctx);
static void client_on_close(struct conn *conn, void *ctx, const char *reason);
static void client_on_connected(struct conn *conn, void *ctx);
static void client_on_tls_ready(struct conn *conn, void *ctx);
static void client_on_drain(struct conn *conn, void *ctx);

static const struct conn_ops client_conn_ops = {
	.on_input = client_on_input,
	.on_close = client_on_close,
	.on_tls_ready = client_on_tls_ready,
	.on_drain = client_on_drain,
	.on_connected = client_on_connected,
};

int delivery_tls_parse(const char *s, enum delivery_tls *tls_r)
{
	static const char *const names[] = { "none", "may", "encrypt", "verify" };
	for (size_t i = 0; i < N_ELEMENTS(names); i++) {
		if (strcasecmp(s, names[i]) == 0) {
			*tls_r = (enum delivery_tls)i;
			return 0;
		}
	}
	return -1;
}

const char *delivery_tls_name(enum delivery_tls tls)
{
	switch (tls) {
	case DELIVERY_TLS_NONE:
		return "none";
	case DELIVERY_TLS_MAY:
		return "may";
	case DELIVERY_TLS_ENCRYPT:
		return "encrypt";
	case DELIVERY_TLS_VERIFY:
		return "verify";
	}
	return "?";
}

void delivery_xtext_encode(const char *s, struct buf *out)
{
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p < '!' || *p > '~' || *p == '+' || *p == '=')
			buf_appendf(out, "+%02X", *p);
		else
			buf_append_char(out, (char)*p);
	}
}

const char *delivery_client_mta(const struct delivery_client *c)
{
	return c->mta;
}

bool delivery_client_is_tls(const struct delivery_client *c)
{
	return c->tls_active;
}

/* Deadlines: one timer, restarted for each awaited reply and on every
 * bit of body progress; reads never extend it. */
static void timer_cb(uv_timer_t *t);

static void deadline(struct delivery_client *c, uint64_t ms)
{
	uv_timer_start(&c->timer, timer_cb, ms, 0);
}

static void deadline_stop(struct delivery_client *c)
{
	uv_timer_stop(&c->timer);
}

static void fail(struct delivery_client *c, const char *fmt, ...) ATTR_FORMAT(2, 3);
static void fail(struct delivery_client *c, const char *fmt, ...)
{
	if (c->error == NULL) {
		va_list ap;
		va_start(ap, fmt);
		c->error = x_vasprintf(fmt, ap);
		va_end(ap);
	}
	c->state = CS_CLOSING;
	deadline_stop(c);
	conn_abort(c->conn, "failed");
}

static void expect_push(struct delivery_client *c, enum expect_kind kind, size_t arg)
{
	if (c->exp_n == c->exp_cap) {
		size_t cap = c->exp_cap == 0 ? 8 : c->exp_cap * 2;
		struct expect *n = x_calloc(cap, sizeof(*n));
		for (size_t i = 0; i < c->exp_n; i++)
			n[i] = c->exp[(c->exp_head + i) % c->exp_cap];
		free(c->exp);
		c->exp = n;
		c->exp_cap = cap;
		c->exp_head = 0;
	}
	c->exp[(c->exp_head + c->exp_n) % c->exp_cap] = (struct expect){ kind, arg };
	c->exp_n++;
}

static struct expect expect_pop(struct delivery_client *c)
{
	struct expect e = c->exp[c->exp_head];
	c->exp_head = (c->exp_head + 1) % c->exp_cap;
	c->exp_n--;
	return e;
}

static uint64_t expect_timeout(const struct delivery_client *c, enum expect_kind kind)
{
	switch (kind) {
	case EXP_GREETING:
		return c->p.connect_timeout_ms;
	case EXP_DOT:
	case EXP_BDAT:
		return c->p.cmd_timeout_ms * 2;
	default:
		return c->p.cmd_timeout_ms;
	}
}

static void send_cmd(struct delivery_client *c, enum expect_kind kind, size_t arg,
		     const char *fmt, ...) ATTR_FORMAT(4, 5);
static void send_cmd(struct delivery_client *c, enum expect_kind kind, size_t arg,
		     const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vappendf(&b, fmt, ap);
	va_end(ap);
	buf_append_str(&b, "\r\n");
	conn_write(c->conn, b.data, b.len);
	buf_free(&b);
	if (c->exp_n == 0)
		deadline(c, expect_timeout(c, kind));
	expect_push(c, kind, arg);
}

/* Results. */

static void set_result(struct delivery_result *r, enum delivery_result_kind kind,
		       const char *enhanced, const char *text, bool remote)
{
	r->kind = kind;
	snprintf(r->enhanced, sizeof(r->enhanced), "%s", enhanced);
	free(r->text);
	r->text = x_strdup(text);
	r->remote = remote;
}

static void set_reply_result(struct delivery_client *c, struct delivery_result *r,
			     const struct delivery_reply *reply, const char *def_enhanced)
{
	struct buf b = BUF_INIT;
	delivery_reply_summary(reply, 900, &b);
	enum delivery_result_kind kind = reply->code >= 500 ? DELIVERY_RESULT_PERM :
		reply->code >= 400 ? DELIVERY_RESULT_TEMP : DELIVERY_RESULT_SENT;
	char enh[16];
	if (reply->enhanced[0] != '\0')
		snprintf(enh, sizeof(enh), "%s", reply->enhanced);
	else
		snprintf(enh, sizeof(enh), "%c.%s", '0' + (int)(reply->code / 100),
			 def_enhanced + 2);
	set_result(r, kind, enh, buf_cstr(&b), true);
	r->dsn_relayed = kind == DELIVERY_RESULT_SENT && !c->caps.dsn;
	buf_free(&b);
}

/* Every undecided recipient of the transaction gets this result. */
static void decide_rest(struct delivery_client *c, enum delivery_result_kind kind,
			const char *enhanced, const char *text, bool remote)
{
	struct delivery_txn *t = c->txn;
	for (size_t i = 0; i < t->n; i++)
		if (t->res[i].kind == DELIVERY_RESULT_NONE)
			set_result(&t->res[i], kind, enhanced, text, remote);
}

static void decide_rest_reply(struct delivery_client *c, const struct delivery_reply *reply,
			      const char *def_enhanced)
{
	struct delivery_txn *t = c->txn;
	for (size_t i = 0; i < t->n; i++)
		if (t->res[i].kind == DELIVERY_RESULT_NONE)
			set_reply_result(c, &t->res[i], reply, def_enhanced);
}

static void become_ready(struct delivery_client *c)
{
	c->state = CS_READY;
	c->was_ready = true;
	deadline_stop(c);
	c->ops->ready(c, c->ctx);
}

static void txn_finish(struct delivery_client *c)
{
	struct delivery_txn *t = c->txn;
	c->txn = NULL;
	delivery_body_free(&c->body);
	c->sending_body = false;
	if (c->state == CS_TXN)
		c->state = CS_READY;
	c->ops->txn_done(c, t, c->ctx);
}

/* After a transaction: RSET if it was left half-open, then ready. */
static void txn_end(struct delivery_client *c)
{
	bool rset = c->need_rset;
	txn_finish(c);
	if (c->state == CS_CLOSING)
		return;
	if (rset) {
		c->state = CS_RSET;
		send_cmd(c, EXP_RSET, 0, "RSET");
	} else if (c->state == CS_READY) {
		become_ready(c);
	}
}

/* Session set-up. */

static void send_ehlo(struct delivery_client *c)
{
	send_cmd(c, EXP_EHLO, 0, "EHLO %s", c->p.helo);
}

static bool tls_required(const struct delivery_client *c)
{
	return c->tls == DELIVERY_TLS_ENCRYPT || c->tls == DELIVERY_TLS_VERIFY;
}

static void after_ehlo(struct delivery_client *c)
{
	if (!c->tls_active && c->caps.starttls && c->tls != DELIVERY_TLS_NONE && !c->tls_off) {
		send_cmd(c, EXP_STARTTLS, 0, "STARTTLS");
		return;
	}
	if (!c->tls_active && tls_required(c)) {
		fail(c, "TLS is required (policy %s) but %s does not offer STARTTLS",
		     delivery_tls_name(c->tls), c->mta);
		return;
	}
	become_ready(c);
}

static void summary(const struct delivery_reply *r, char *out, size_t size)
{
	struct buf b = BUF_INIT;
	delivery_reply_summary(r, 300, &b);
	snprintf(out, size, "%s", buf_cstr(&b));
	buf_free(&b);
}

static void handle_setup_reply(struct delivery_client *c, enum expect_kind kind,
			       const struct delivery_reply *r)
{
	char s[400];
	summary(r, s, sizeof(s));
	switch (kind) {
	case EXP_GREETING:
		if (r->code / 100 != 2) {
			fail(c, "%s refused to talk to us: %s", c->mta, s);
			return;
		}
		send_ehlo(c);
		return;
	case EXP_EHLO:
		if (r->code / 100 == 2) {
			c->esmtp = true;
			delivery_caps_parse(r, &c->caps);
			after_ehlo(c);
		} else if (r->code / 100 == 5 && !c->tls_active) {
			send_cmd(c, EXP_HELO, 0, "HELO %s", c->p.helo);
		} else {
			fail(c, "%s rejected EHLO: %s", c->mta, s);
		}
		return;
	case EXP_HELO:
		if (r->code / 100 != 2) {
			fail(c, "%s rejected HELO: %s", c->mta, s);
			return;
		}
		memset(&c->caps, 0, sizeof(c->caps));
		after_ehlo(c);
		return;
	case EXP_STARTTLS:
		if (r->code != 220) {
			if (tls_required(c)) {
				fail(c, "%s refused STARTTLS: %s", c->mta, s);
				return;
			}
			become_ready(c);
			return;
		}
		c->state = CS_HANDSHAKE;
		deadline(c, c->p.connect_timeout_ms);
		conn_start_tls_client(c->conn, c->tls == DELIVERY_TLS_VERIFY ? c->p.tls_verify :
				      c->p.tls_any, c->host);
		return;
	default:
		fail(c, "unexpected reply from %s: %s", c->mta, s);
		return;
	}
}

static void client_on_tls_ready(struct conn *conn, void *ctx)
{
	struct delivery_client *c = ctx;
	const char *error;
	if (c->tls == DELIVERY_TLS_VERIFY && !conn_tls_verified(conn, &error)) {
		fail(c, "certificate of %s not verified: %s", c->mta, error);
		return;
	}
	c->tls_active = true;
	c->state = CS_SETUP;
	char desc[160];
	if (conn_tls_desc(conn, desc, sizeof(desc)) != NULL)
		log_debug("delivery: TLS to %s: %s", c->mta, desc);
	/* RFC 3207: forget everything learnt before TLS. */
	memset(&c->caps, 0, sizeof(c->caps));
	send_ehlo(c);
}

/* Transactions. */

static bool str_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

static bool envelope_needs_utf8(const struct delivery_txn *t)
{
	if (!str_ascii(t->env->sender))
		return true;
	for (size_t i = 0; i < t->n; i++)
		if (!str_ascii(t->env->rcpts[t->rcpt[i]].address))
			return true;
	return false;
}

/* Loads and downgrades an 8-bit message for a server without 8BITMIME.
 * Returns -1 with a permanent reason when that cannot be done. */
static int prepare_downgrade(struct delivery_client *c, const char **error_r)
{
	const struct queue_envelope *env = c->txn->env;
	if (env->size > DOWNGRADE_MAX) {
		*error_r = "message too large to convert to 7 bits";
		return -1;
	}
	struct buf raw = BUF_INIT;
	struct delivery_body src;
	delivery_body_init_file(&src, c->txn->fd, (off_t)env->skip, env->size);
	for (;;) {
		ssize_t n = delivery_body_read(&src, 1 << 20, &raw);
		if (n < 0) {
			buf_free(&raw);
			*error_r = NULL;
			return -1;
		}
		if (n == 0)
			break;
	}
	if (!mail_downgrade_needed(raw.data, raw.len)) {
		delivery_body_init_mem(&c->body, &raw);
		return 0;
	}
	struct buf out = BUF_INIT;
	bool changed;
	if (mail_downgrade_7bit(raw.data, raw.len, &out, &changed, error_r) < 0) {
		buf_free(&raw);
		buf_free(&out);
		return -1;
	}
	buf_free(&raw);
	delivery_body_init_mem(&c->body, &out);
	return 0;
}

static void immediate_cb(uv_timer_t *t)
{
	struct delivery_client *c = t->data;
	c->immediate = false;
	if (c->txn != NULL)
		txn_end(c);
}

/* Decides the whole transaction without talking (size, SMTPUTF8...):
 * reported from the loop so send() never calls back directly. */
static void txn_refuse(struct delivery_client *c, const char *enhanced, const char *text)
{
	decide_rest(c, DELIVERY_RESULT_PERM, enhanced, text, false);
	c->immediate = true;
	uv_timer_start(&c->timer, immediate_cb, 0, 0);
}

static void send_mail_from(struct delivery_client *c, bool utf8, bool eightbit)
{
	const struct queue_envelope *env = c->txn->env;
	struct buf b = BUF_INIT;
	buf_appendf(&b, "MAIL FROM:<%s>", env->sender);
	if (c->caps.size)
		buf_appendf(&b, " SIZE=%llu", (unsigned long long)delivery_body_size(&c->body));
	if (env->body == QUEUE_BODY_BINARYMIME)
		buf_append_str(&b, " BODY=BINARYMIME");
	else if (eightbit)
		buf_append_str(&b, " BODY=8BITMIME");
	if (utf8)
		buf_append_str(&b, " SMTPUTF8");
	if (c->caps.dsn) {
		if (env->ret == QUEUE_RET_FULL)
			buf_append_str(&b, " RET=FULL");
		else if (env->ret == QUEUE_RET_HDRS)
			buf_append_str(&b, " RET=HDRS");
		if (env->envid != NULL) {
			buf_append_str(&b, " ENVID=");
			delivery_xtext_encode(env->envid, &b);
		}
	}
	send_cmd(c, EXP_MAIL, 0, "%s", buf_cstr(&b));
	buf_free(&b);
}

static void send_rcpt(struct delivery_client *c, size_t i)
{
	const struct queue_rcpt *r = &c->txn->env->rcpts[c->txn->rcpt[i]];
	struct buf b = BUF_INIT;
	buf_appendf(&b, "RCPT TO:<%s>", r->address);
	if (c->caps.dsn) {
		if (r->notify != 0) {
			buf_append_str(&b, " NOTIFY=");
			queue_notify_format(r->notify, &b);
		}
		if (r->orcpt != NULL) {
			const char *semi = strchr(r->orcpt, ';');
			if (semi != NULL && semi > r->orcpt) {
				buf_appendf(&b, " ORCPT=%.*s;", (int)(semi - r->orcpt), r->orcpt);
				delivery_xtext_encode(semi + 1, &b);
			}
		}
	}
	send_cmd(c, EXP_RCPT, i, "%s", buf_cstr(&b));
	buf_free(&b);
}

void delivery_client_send(struct delivery_client *c, struct delivery_txn *t)
{
	i_assert(c->state == CS_READY && c->txn == NULL);
	const struct queue_envelope *env = t->env;
	c->txn = t;
	c->state = CS_TXN;
	c->accepted = 0;
	c->rcpt_replies = 0;
	c->mail_failed = false;
	c->got_reply = false;
	c->n_txns++;
	t->retry_new_connection = false;
	c->need_rset = false;
	c->body_done = false;
	c->sending_body = false;
	free(t->mta);
	t->mta = x_strdup(c->mta);
	for (size_t i = 0; i < t->n; i++) {
		free(t->res[i].text);
		memset(&t->res[i], 0, sizeof(t->res[i]));
	}

	bool utf8 = false;
	if (env->smtputf8) {
		if (c->caps.smtputf8)
			utf8 = true;
		else if (envelope_needs_utf8(t)) {
			txn_refuse(c, "5.6.7", "the server does not support SMTPUTF8, which "
				   "the addresses of this message need");
			return;
		}
	}
	bool eightbit = env->body == QUEUE_BODY_8BITMIME && c->caps.eightbitmime;
	if (env->body == QUEUE_BODY_BINARYMIME && !(c->caps.binarymime && c->caps.chunking)) {
		txn_refuse(c, "5.6.3", "the server does not support BINARYMIME");
		return;
	}
	if (env->body == QUEUE_BODY_8BITMIME && !c->caps.eightbitmime) {
		const char *error = NULL;
		if (prepare_downgrade(c, &error) < 0) {
			if (error == NULL) {
				decide_rest(c, DELIVERY_RESULT_TEMP, "4.3.0",
					    "cannot read the queued message", false);
				c->immediate = true;
				uv_timer_start(&c->timer, immediate_cb, 0, 0);
			} else {
				char *text = x_asprintf("the server does not support 8BITMIME "
							"and the message cannot be converted: %s",
							error);
				txn_refuse(c, "5.6.3", text);
				free(text);
			}
			return;
		}
	} else {
		delivery_body_init_file(&c->body, t->fd, (off_t)env->skip, env->size);
	}
	if (c->caps.size_max > 0 && delivery_body_size(&c->body) > c->caps.size_max) {
		txn_refuse(c, "5.3.4", "message too big for the receiving server");
		return;
	}
	c->use_bdat = c->caps.chunking;

	send_mail_from(c, utf8, eightbit);
	if (c->caps.pipelining) {
		for (size_t i = 0; i < t->n; i++)
			send_rcpt(c, i);
		if (!c->use_bdat)
			send_cmd(c, EXP_DATA, 0, "DATA");
	}
}

/* Streams the body while the output queue is short. */
static void pump_body(struct delivery_client *c)
{
	if (!c->sending_body || c->state == CS_CLOSING)
		return;
	struct buf chunk = BUF_INIT;
	struct buf out = BUF_INIT;
	while (conn_output_pending(c->conn) < BODY_HIGH_WATER) {
		size_t want = BODY_CHUNK;
		if (c->use_bdat) {
			if (c->bdat_left == 0)
				break;
			if (want > c->bdat_left)
				want = (size_t)c->bdat_left;
		}
		buf_reset(&chunk);
		ssize_t n = delivery_body_read(&c->body, want, &chunk);
		if (n < 0) {
			buf_free(&chunk);
			buf_free(&out);
			fail(c, "cannot read the queued message: %s", strerror(errno));
			return;
		}
		if (c->use_bdat) {
			if (n == 0) {
				buf_free(&chunk);
				buf_free(&out);
				fail(c, "queued message shorter than its envelope says");
				return;
			}
			conn_write(c->conn, chunk.data, chunk.len);
			c->bdat_left -= (uint64_t)n;
			continue;
		}
		buf_reset(&out);
		if (n == 0) {
			delivery_stuffer_finish(&c->stuffer, &out);
			conn_write(c->conn, out.data, out.len);
			c->sending_body = false;
			break;
		}
		delivery_stuffer_add(&c->stuffer, chunk.data, chunk.len, &out);
		conn_write(c->conn, out.data, out.len);
	}
	buf_free(&chunk);
	buf_free(&out);
	if (c->use_bdat && c->bdat_left == 0)
		c->sending_body = false;
	if (!c->sending_body) {
		/* Everything is queued: now wait for the reply. */
		bool last = !c->use_bdat || delivery_body_size(&c->body) == 0;
		expect_push(c, c->use_bdat ? EXP_BDAT : EXP_DOT, last ? 1 : 0);
		deadline(c, expect_timeout(c, EXP_DOT));
	} else {
		deadline(c, c->p.cmd_timeout_ms);
	}
}

static void client_on_drain(struct conn *conn, void *ctx)
{
	struct delivery_client *c = ctx;
	(void)conn;
	pump_body(c);
}

static void start_body(struct delivery_client *c)
{
	c->sending_body = true;
	delivery_stuffer_init(&c->stuffer);
	conn_set_drain_mark(c->conn, BODY_HIGH_WATER / 2);
	pump_body(c);
}

static void start_bdat_chunk(struct delivery_client *c)
{
	uint64_t left = delivery_body_size(&c->body);
	uint64_t n = left > BDAT_CHUNK_MAX ? BDAT_CHUNK_MAX : left;
	conn_printf(c->conn, "BDAT %llu%s\r\n", (unsigned long long)n, n == left ? " LAST" : "");
	c->bdat_left = n;
	c->sending_body = true;
	conn_set_drain_mark(c->conn, BODY_HIGH_WATER / 2);
	if (n == 0) {
		c->sending_body = false;
		expect_push(c, EXP_BDAT, 1);
		deadline(c, expect_timeout(c, EXP_BDAT));
		return;
	}
	pump_body(c);
}

/* All RCPT replies are in: go on with the data or give up. */
static void after_rcpts(struct delivery_client *c)
{
	if (c->accepted == 0) {
		c->need_rset = true;
		/* A pipelined DATA still has its (error) reply coming. */
		if (!c->caps.pipelining || c->use_bdat)
			txn_end(c);
		return;
	}
	if (c->use_bdat)
		start_bdat_chunk(c);
	else if (!c->caps.pipelining)
		send_cmd(c, EXP_DATA, 0, "DATA");
}

static void handle_txn_reply(struct delivery_client *c, struct expect e,
			     const struct delivery_reply *r)
{
	struct delivery_txn *t = c->txn;
	c->got_reply = true;
	switch (e.kind) {
	case EXP_MAIL:
		if (r->code / 100 != 2) {
			c->mail_failed = true;
			decide_rest_reply(c, r, "X.0.0");
			c->need_rset = true;
			if (!c->caps.pipelining)
				txn_end(c);
			/* Pipelined: RCPT and DATA replies still follow. */
		} else if (!c->caps.pipelining) {
			send_rcpt(c, 0);
		}
		return;
	case EXP_RCPT:
		c->rcpt_replies++;
		if (!c->mail_failed) {
			if (r->code / 100 == 2)
				c->accepted++;
			else
				set_reply_result(c, &t->res[e.arg], r, "X.1.0");
		}
		if (c->mail_failed) {
			if (c->rcpt_replies == t->n && c->use_bdat)
				txn_end(c);
			return;
		}
		if (!c->caps.pipelining && e.arg + 1 < t->n) {
			send_rcpt(c, e.arg + 1);
			return;
		}
		if (c->rcpt_replies == t->n)
			after_rcpts(c);
		return;
	case EXP_DATA:
		if (c->mail_failed || c->accepted == 0) {
			if (r->code == 354) {
				/* It wants data nobody can receive: hang up
				 * rather than send an empty message. */
				c->state = CS_CLOSING;
				txn_finish(c);
				fail(c, "%s accepted DATA without recipients", c->mta);
				return;
			}
			txn_end(c);
			return;
		}
		if (r->code != 354) {
			decide_rest_reply(c, r, "X.0.0");
			c->need_rset = true;
			txn_end(c);
			return;
		}
		start_body(c);
		return;
	case EXP_DOT:
		decide_rest_reply(c, r, "X.0.0");
		txn_end(c);
		return;
	case EXP_BDAT:
		if (r->code / 100 != 2) {
			decide_rest_reply(c, r, "X.0.0");
			c->need_rset = true;
			txn_end(c);
			return;
		}
		if (e.arg == 1) {
			decide_rest_reply(c, r, "X.0.0");
			txn_end(c);
			return;
		}
		start_bdat_chunk(c);
		return;
	default:
		fail(c, "unexpected reply from %s", c->mta);
		return;
	}
}

static void handle_reply(struct delivery_client *c, const struct delivery_reply *r)
{
	if (c->exp_n == 0) {
		fail(c, "%s sent a reply nobody asked for", c->mta);
		return;
	}
	struct expect e = expect_pop(c);
	if (c->exp_n > 0)
		deadline(c, expect_timeout(c, c->exp[c->exp_head].kind));
	else if (!c->sending_body)
		deadline_stop(c);
	if (r->code == 421) {
		/* Service closing: whatever is in flight is deferred. */
		char s[400];
		summary(r, s, sizeof(s));
		c->state = CS_CLOSING;
		if (c->txn != NULL) {
			decide_rest_reply(c, r, "4.0.0");
			txn_finish(c);
		}
		fail(c, "%s closed the session: %s", c->mta, s);
		return;
	}
	switch (e.kind) {
	case EXP_GREETING:
	case EXP_EHLO:
	case EXP_HELO:
	case EXP_STARTTLS:
		handle_setup_reply(c, e.kind, r);
		return;
	case EXP_RSET:
		if (r->code / 100 != 2) {
			char s[400];
			summary(r, s, sizeof(s));
			fail(c, "%s rejected RSET: %s", c->mta, s);
			return;
		}
		c->state = CS_READY;
		become_ready(c);
		return;
	default:
		if (c->txn == NULL) {
			fail(c, "protocol confusion with %s", c->mta);
			return;
		}
		handle_txn_reply(c, e, r);
		return;
	}
}

static void client_on_input(struct conn *conn, void *ctx)
{
	struct delivery_client *c = ctx;
	struct buf *in = conn_input(conn);
	while (in->len > 0 && c->state != CS_CLOSING) {
		size_t used = 0;
		const char *error = NULL;
		enum delivery_reply_status st = delivery_reply_parse(&c->parser, in->data, in->len,
								     &used, &error);
		buf_consume(in, used);
		if (st == DELIVERY_REPLY_ERROR) {
			fail(c, "bad reply from %s: %s", c->mta, error);
			return;
		}
		if (st == DELIVERY_REPLY_MORE)
			return;
		if (c->state == CS_HANDSHAKE) {
			fail(c, "%s talked during the TLS handshake", c->mta);
			return;
		}
		handle_reply(c, &c->parser.reply);
	}
}

static void timer_cb(uv_timer_t *t)
{
	struct delivery_client *c = t->data;
	if (c->state == CS_CONNECTING)
		fail(c, "connect to %s: timed out", c->mta);
	else if (c->state == CS_HANDSHAKE)
		fail(c, "TLS handshake with %s timed out", c->mta);
	else if (c->sending_body)
		fail(c, "%s stopped reading the message data", c->mta);
	else
		fail(c, "%s did not answer in time", c->mta);
}

static void client_on_connected(struct conn *conn, void *ctx)
{
	struct delivery_client *c = ctx;
	(void)conn;
	c->state = CS_SETUP;
	expect_push(c, EXP_GREETING, 0);
	deadline(c, c->p.connect_timeout_ms);
}

static void timer_closed(uv_handle_t *h)
{
	struct delivery_client *c = h->data;
	delivery_reply_parser_free(&c->parser);
	free(c->exp);
	free(c->host);
	free(c->ip);
	free(c->mta);
	free(c->error);
	free(c);
}

static void client_on_close(struct conn *conn, void *ctx, const char *reason)
{
	struct delivery_client *c = ctx;
	(void)conn;
	deadline_stop(c);
	bool was_handshake = c->state == CS_HANDSHAKE ||
		(reason != NULL && strncmp(reason, "TLS handshake", 13) == 0);
	if (c->error == NULL) {
		if (c->state == CS_CONNECTING || strncmp(reason, "connect failed", 14) == 0)
			c->error = x_asprintf("connect to %s: %s", c->mta,
					      strncmp(reason, "connect failed: ", 16) == 0 ?
					      reason + 16 : reason);
		else
			c->error = x_asprintf("connection with %s lost: %s", c->mta, reason);
	}
	if (was_handshake)
		c->tls_failed = true;
	if (c->txn != NULL) {
		if (!c->immediate) {
			decide_rest(c, DELIVERY_RESULT_TEMP, "4.4.2", c->error, false);
			/* A connection that carried earlier mail and now ends before
			 * any reply was closed by the server while idle. */
			c->txn->retry_new_connection = c->n_txns > 1 && !c->got_reply;
		}
		c->state = CS_CLOSING;
		txn_finish(c);
	}
	c->conn = NULL;
	c->ops->closed(c, c->error, c->was_ready, c->tls_failed, c->ctx);
	uv_close((uv_handle_t *)&c->timer, timer_closed);
}

static void early_fail_cb(uv_timer_t *t)
{
	struct delivery_client *c = t->data;
	c->ops->closed(c, c->error, false, false, c->ctx);
	uv_close((uv_handle_t *)&c->timer, timer_closed);
}

struct delivery_client *delivery_client_new(const struct delivery_client_params *p,
					    const char *host, const char *ip,
					    enum delivery_tls tls, bool tls_off,
					    const struct delivery_client_ops *ops, void *ctx)
{
	struct delivery_client *c = x_calloc(1, sizeof(*c));
	c->p = *p;
	c->ops = ops;
	c->ctx = ctx;
	c->host = x_strdup(host);
	c->ip = x_strdup(ip);
	c->mta = x_asprintf("%s[%s]", host, ip);
	c->tls = tls;
	c->tls_off = tls_off;
	c->state = CS_CONNECTING;
	delivery_reply_parser_init(&c->parser);
	uv_timer_init(p->loop, &c->timer);
	c->timer.data = c;
	int fd = net_connect_nonblock(ip, p->port, NULL);
	if (fd < 0) {
		/* Reported from the loop like any other connect failure. */
		c->error = x_asprintf("connect to %s: %s", c->mta, strerror(errno));
		c->state = CS_CLOSING;
		uv_timer_start(&c->timer, early_fail_cb, 0, 0);
		return c;
	}
	c->conn = conn_connect(p->loop, fd, &client_conn_ops, c);
	deadline(c, p->connect_timeout_ms);
	return c;
}

void delivery_client_quit(struct delivery_client *c)
{
	if (c->state == CS_CLOSING || c->conn == NULL)
		return;
	if (c->state == CS_READY)
		conn_write_str(c->conn, "QUIT\r\n");
	c->state = CS_CLOSING;
	deadline_stop(c);
	if (c->error == NULL)
		c->error = x_strdup("closed");
	conn_close(c->conn);
}

void delivery_client_abort(struct delivery_client *c, const char *reason)
{
	if (c->conn == NULL)
		return;
	if (c->state == CS_CLOSING) {
		conn_abort(c->conn, reason);
		return;
	}
	fail(c, "%s", reason);
}
