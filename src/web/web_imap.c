/* web_imap.c — the webmail's asynchronous IMAP client (see web_imap.h).
 * One command is in flight at a time; internal steps (CAPABILITY, LOGIN,
 * SELECT, IDLE, LOGOUT) go through the same queue at its front. Runs in
 * the web process. Handles untrusted server responses. */
#include "auth_proxy.h"
#include "web_imap.h"
#include "log.h"
#include "str.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CMD_TIMEOUT_MS (10 * 60 * 1000)	/* first SORT of a huge new folder */
#define IDLE_TIMEOUT_MS (31 * 60 * 1000)
#define IDLE_RESTART_MS (20 * 60 * 1000)
#define POLL_MS (30 * 1000)
#define RECONNECT_MS 500		/* after a drop, while a page listens */
#define RETRY_MS (10 * 1000)		/* after a failed connection */

enum imap_state {
	ST_DOWN,
	ST_CONNECTING,
	ST_GREETING,
	ST_READY,
};

enum cmd_kind {
	CMD_USER,
	CMD_CAPABILITY,
	CMD_LOGIN,
	CMD_ID,
	CMD_SELECT,
	CMD_IDLE,
	CMD_NOOP,
	CMD_LOGOUT,
};

struct pending {
	struct pending *next;
	enum cmd_kind kind;
	struct web_imap_cmd cmd;
	char *mailbox;
	web_imap_cb *cb;
	void *ctx;
	struct imap_response *untagged;
	size_t n_untagged;
	size_t sent_lits;	/* literals whose data was sent */
	char tag[16];
	bool sent;
};

struct web_imap {
	uv_loop_t *loop;
	const struct web_upstream *up;
	char *user;
	char *password;
	char origin[64];	/* the browser's address, for ID (auth_proxy.h) */
	const struct web_imap_events *ev;
	void *ev_ctx;
	enum imap_state state;
	struct conn *conn;
	struct web_upstream_req *connect_req;
	struct pending *queue;		/* head is in flight once sent */
	struct strv caps;
	char *selected;
	uint32_t uidvalidity;
	uint32_t exists;
	unsigned tag_seq;
	uv_timer_t timer;		/* IDLE restart / NOOP poll */
	bool watch;
	bool idling;			/* IDLE continuation received */
	bool done_sent;
	bool logged_in_once;
	bool freeing;
	bool timer_closed;
};

static const struct conn_ops imap_conn_ops;
static void imap_kick(struct web_imap *im);
static void imap_connect(struct web_imap *im);

void web_imap_cmd_init(struct web_imap_cmd *cmd)
{
	memset(cmd, 0, sizeof(*cmd));
	buf_init(&cmd->text);
}

void web_imap_cmd_free(struct web_imap_cmd *cmd)
{
	if (cmd->secret && cmd->text.data != NULL)
		explicit_bzero(cmd->text.data, cmd->text.len);
	buf_free(&cmd->text);
	free(cmd->lits);
	memset(cmd, 0, sizeof(*cmd));
}

void web_imap_cmd_printf(struct web_imap_cmd *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	buf_vappendf(&cmd->text, fmt, ap);
	va_end(ap);
}

void web_imap_cmd_literal(struct web_imap_cmd *cmd, const void *data, size_t len)
{
	buf_appendf(&cmd->text, "{%zu}\r\n", len);
	cmd->lits = x_reallocarray(cmd->lits, cmd->n_lits + 1, sizeof(*cmd->lits));
	cmd->lits[cmd->n_lits++] = cmd->text.len;
	buf_append(&cmd->text, data, len);
}

void web_imap_cmd_astring(struct web_imap_cmd *cmd, const char *s, size_t len)
{
	bool atom = len > 0, quotable = len < 1024;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\0' || c == '\r' || c == '\n' || c >= 0x80)
			quotable = atom = false;
		else if (c <= 0x20 || c == 0x7f || strchr("(){%*\"\\]", c) != NULL)
			atom = false;
	}
	if (atom) {
		buf_append(&cmd->text, s, len);
	} else if (quotable) {
		buf_append_char(&cmd->text, '"');
		for (size_t i = 0; i < len; i++) {
			if (s[i] == '"' || s[i] == '\\')
				buf_append_char(&cmd->text, '\\');
			buf_append_char(&cmd->text, s[i]);
		}
		buf_append_char(&cmd->text, '"');
	} else {
		web_imap_cmd_literal(cmd, s, len);
	}
}

static void pending_free(struct pending *p)
{
	web_imap_cmd_free(&p->cmd);
	for (size_t i = 0; i < p->n_untagged; i++)
		imap_response_free(&p->untagged[i]);
	free(p->untagged);
	free(p->mailbox);
	free(p);
}

static void pending_finish(struct web_imap *im, struct pending *p, enum web_imap_status st,
			   const char *text, const char *code)
{
	(void)im;
	if (p->cb != NULL) {
		struct web_imap_reply r = { st, text, code, p->untagged, p->n_untagged };
		p->cb(&r, p->ctx);
	}
	pending_free(p);
}

static struct pending *pending_new(enum cmd_kind kind, const char *mailbox,
				   struct web_imap_cmd *cmd, web_imap_cb *cb, void *ctx)
{
	struct pending *p = x_calloc(1, sizeof(*p));
	p->kind = kind;
	p->cb = cb;
	p->ctx = ctx;
	p->mailbox = mailbox != NULL ? x_strdup(mailbox) : NULL;
	if (cmd != NULL) {
		p->cmd = *cmd;
		web_imap_cmd_init(cmd);
	} else {
		web_imap_cmd_init(&p->cmd);
	}
	return p;
}

static void push_front(struct web_imap *im, struct pending *p)
{
	p->next = im->queue;
	im->queue = p;
}

static void push_back(struct web_imap *im, struct pending *p)
{
	struct pending **pp = &im->queue;
	while (*pp != NULL)
		pp = &(*pp)->next;
	*pp = p;
}

/* Fails every queued command (the connection is gone for good, or the
 * client is being freed). */
static void fail_all_status(struct web_imap *im, enum web_imap_status st, const char *reason,
			    const char *code)
{
	while (im->queue != NULL) {
		struct pending *p = im->queue;
		im->queue = p->next;
		pending_finish(im, p, st, reason, code);
	}
}

static void fail_all(struct web_imap *im, const char *reason)
{
	fail_all_status(im, WEB_IMAP_FAIL, reason, NULL);
}

static void reset_connection_state(struct web_imap *im)
{
	im->state = ST_DOWN;
	im->conn = NULL;
	im->idling = false;
	im->done_sent = false;
	x_free(&im->selected);
	im->uidvalidity = 0;
	im->exists = 0;
}

static void set_caps(struct web_imap *im, const char *list)
{
	strv_free(&im->caps);
	strv_init(&im->caps);
	strv_split_ws(&im->caps, list);
}

const char *web_imap_user(const struct web_imap *im)
{
	return im->user;
}

const char *web_imap_password(const struct web_imap *im)
{
	return im->password;
}

bool web_imap_has_cap(const struct web_imap *im, const char *cap)
{
	return strv_contains_icase(&im->caps, cap);
}

/* Sends the command text from the current literal on: up to the next
 * synchronizing literal, or all of it with LITERAL+. */
static void send_more(struct web_imap *im, struct pending *p)
{
	const struct buf *t = &p->cmd.text;
	bool plus = web_imap_has_cap(im, "LITERAL+");
	size_t pos = p->sent_lits == 0 ? 0 : p->cmd.lits[p->sent_lits - 1];
	while (p->sent_lits < p->cmd.n_lits) {
		size_t lit = p->cmd.lits[p->sent_lits];
		/* lit points after "}\r\n". */
		size_t brace = lit - 3;
		conn_write(im->conn, t->data + pos, brace - pos);
		p->sent_lits++;
		if (plus) {
			conn_write_str(im->conn, "+}\r\n");
			pos = lit;
			continue;
		}
		conn_write_str(im->conn, "}\r\n");
		return;	/* wait for "+" */
	}
	conn_write(im->conn, t->data + pos, t->len - pos);
	conn_write_str(im->conn, "\r\n");
}

static void send_head(struct web_imap *im)
{
	struct pending *p = im->queue;
	snprintf(p->tag, sizeof(p->tag), "W%u", ++im->tag_seq);
	p->sent = true;
	conn_printf(im->conn, "%s ", p->tag);
	if (!p->cmd.secret && log_get_level() <= LOG_LEVEL_DEBUG)
		log_debug("imap %s: %s %.200s", im->user, p->tag, buf_cstr(&p->cmd.text));
	conn_set_timeout(im->conn, p->kind == CMD_IDLE ? IDLE_TIMEOUT_MS : CMD_TIMEOUT_MS);
	send_more(im, p);
}

static struct pending *internal(enum cmd_kind kind, const char *fmt, ...) ATTR_FORMAT(2, 3);
static struct pending *internal(enum cmd_kind kind, const char *fmt, ...)
{
	struct pending *p = pending_new(kind, NULL, NULL, NULL, NULL);
	va_list ap;
	va_start(ap, fmt);
	buf_vappendf(&p->cmd.text, fmt, ap);
	va_end(ap);
	return p;
}

static void queue_select(struct web_imap *im, const char *mailbox)
{
	struct pending *p = pending_new(CMD_SELECT, mailbox, NULL, NULL, NULL);
	buf_append_str(&p->cmd.text, "SELECT ");
	web_imap_cmd_astring(&p->cmd, mailbox, strlen(mailbox));
	push_front(im, p);
}

static void timer_cb(uv_timer_t *t)
{
	struct web_imap *im = t->data;
	if (im->state == ST_DOWN) {
		imap_kick(im);	/* reconnect for the watch */
		return;
	}
	if (im->state != ST_READY)
		return;
	if (im->idling && !im->done_sent) {
		/* Restart IDLE before servers' 30-minute limit. */
		im->done_sent = true;
		conn_write_str(im->conn, "DONE\r\n");
	} else if (im->queue == NULL && im->watch) {
		push_back(im, internal(CMD_NOOP, "NOOP"));
		imap_kick(im);
	}
}

/* Decides what to send next. */
static void imap_kick(struct web_imap *im)
{
	if (im->freeing && im->state != ST_READY)
		return;
	if (im->state == ST_DOWN) {
		/* Watching the mailbox needs a connection even when idle. */
		if ((im->queue != NULL || im->watch) && !im->freeing)
			imap_connect(im);
		return;
	}
	if (im->state != ST_READY)
		return;
	struct pending *head = im->queue;
	if (head != NULL && head->sent) {
		/* An IDLE in progress yields to real work. */
		if (head->kind == CMD_IDLE && head->next != NULL && im->idling && !im->done_sent) {
			im->done_sent = true;
			conn_write_str(im->conn, "DONE\r\n");
		}
		return;
	}
	if (head == NULL) {
		if (!im->watch || im->freeing)
			return;
		if (web_imap_has_cap(im, "IDLE")) {
			if (im->selected == NULL) {
				queue_select(im, "INBOX");
			} else {
				push_back(im, internal(CMD_IDLE, "IDLE"));
			}
			uv_timer_start(&im->timer, timer_cb, IDLE_RESTART_MS, 0);
		} else {
			uv_timer_start(&im->timer, timer_cb, POLL_MS, 0);
			return;
		}
		head = im->queue;
	}
	if (head->mailbox != NULL && head->kind == CMD_USER &&
	    (im->selected == NULL || strcmp(im->selected, head->mailbox) != 0)) {
		queue_select(im, head->mailbox);
		head = im->queue;
	}
	send_head(im);
}

static void handle_untagged(struct web_imap *im, struct imap_response *r)
{
	struct pending *head = im->queue != NULL && im->queue->sent ? im->queue : NULL;
	bool changed = false, messages = false;
	if (r->kind == IMAP_RESP_STATUS) {
		if (r->code != NULL && str_has_prefix_icase(r->code, "CAPABILITY "))
			set_caps(im, r->code + 11);
		if (r->code != NULL && str_has_prefix_icase(r->code, "UIDVALIDITY ")) {
			uint64_t v;
			if (str_to_uint64(r->code + 12, &v) == 0)
				im->uidvalidity = (uint32_t)v;
		}
		if (strcmp(r->status, "BYE") == 0 && head != NULL && head->kind != CMD_LOGOUT)
			log_info("imap %s: server says BYE: %s", im->user, r->text);
	} else if (r->kind == IMAP_RESP_DATA) {
		if (strcmp(r->keyword, "CAPABILITY") == 0) {
			struct buf b = BUF_INIT;
			for (size_t i = 0; i < r->args.n; i++)
				if (imap_node_str(&r->args.items[i]) != NULL)
					buf_appendf(&b, "%s ", r->args.items[i].data);
			set_caps(im, buf_cstr(&b));
			buf_free(&b);
		} else if (strcmp(r->keyword, "EXISTS") == 0) {
			if (head == NULL || head->kind != CMD_SELECT)
				changed = messages = r->number != im->exists;
			im->exists = r->number;
		} else if (strcmp(r->keyword, "EXPUNGE") == 0 ||
			   strcmp(r->keyword, "VANISHED") == 0) {
			if (im->exists > 0 && r->keyword[0] == 'E')
				im->exists--;
			changed = messages = true;
		} else if (strcmp(r->keyword, "FETCH") == 0) {
			changed = head == NULL || head->kind == CMD_IDLE || head->kind == CMD_NOOP;
		}
	}
	if (changed && im->selected != NULL && im->ev != NULL && im->ev->on_change != NULL)
		im->ev->on_change(im->ev_ctx, im->selected, messages);
	if (head != NULL && r->kind == IMAP_RESP_DATA && head->kind == CMD_USER) {
		head->untagged = x_reallocarray(head->untagged, head->n_untagged + 1,
						sizeof(*head->untagged));
		head->untagged[head->n_untagged++] = *r;
		memset(r, 0, sizeof(*r));
	}
}

static void login_failed(struct web_imap *im, const char *reason, const char *code)
{
	/* Commands waiting for this login cannot run: they hear NO (with
	 * the server's code: [UNAVAILABLE] is not a wrong password). */
	fail_all_status(im, WEB_IMAP_NO, reason, code);
	if (im->logged_in_once && im->ev != NULL && im->ev->on_lost != NULL)
		im->ev->on_lost(im->ev_ctx, reason);
}

static void handle_tagged(struct web_imap *im, struct imap_response *r)
{
	struct pending *p = im->queue;
	if (p == NULL || !p->sent || strcmp(p->tag, r->tag) != 0) {
		log_warn("imap %s: unexpected tagged reply %s", im->user, r->tag);
		return;
	}
	im->queue = p->next;
	enum web_imap_status st = strcmp(r->status, "OK") == 0 ? WEB_IMAP_OK :
		strcmp(r->status, "NO") == 0 ? WEB_IMAP_NO : WEB_IMAP_BAD;
	if (r->code != NULL && str_has_prefix_icase(r->code, "CAPABILITY "))
		set_caps(im, r->code + 11);
	switch (p->kind) {
	case CMD_LOGIN:
		if (st != WEB_IMAP_OK) {
			pending_free(p);
			/* The login callback is the first user command. */
			login_failed(im, r->text[0] != '\0' ? r->text : "login failed", r->code);
			conn_close(im->conn);
			return;
		}
		im->logged_in_once = true;
		if (r->code == NULL || !str_has_prefix_icase(r->code, "CAPABILITY "))
			push_front(im, internal(CMD_CAPABILITY, "CAPABILITY"));
		pending_free(p);
		break;
	case CMD_SELECT:
		if (st == WEB_IMAP_OK) {
			free(im->selected);
			im->selected = x_strdup(p->mailbox);
			pending_free(p);
		} else {
			/* The command that needed the mailbox fails with it. */
			x_free(&im->selected);
			struct pending *next = im->queue;
			if (next != NULL && next->mailbox != NULL &&
			    strcmp(next->mailbox, p->mailbox) == 0 && next->kind == CMD_USER) {
				im->queue = next->next;
				pending_finish(im, next, st, r->text, r->code);
			}
			pending_free(p);
		}
		break;
	case CMD_IDLE:
		im->idling = false;
		im->done_sent = false;
		pending_free(p);
		break;
	default:
		pending_finish(im, p, st, r->text, r->code);
		break;
	}
	if (im->conn != NULL && im->queue == NULL)
		conn_set_timeout(im->conn, 0);
	imap_kick(im);
}

static void imap_input(struct conn *c, void *ctx)
{
	struct web_imap *im = ctx;
	struct buf *in = conn_input(c);
	if (im->freeing) {
		buf_consume(in, in->len);
		return;
	}
	while (in->len > 0 && im->conn == c && !conn_closing(c)) {
		struct imap_response r;
		size_t used;
		const char *error;
		int ret = imap_response_parse(in->data, in->len, &r, &used, &error);
		if (ret == 0)
			return;
		if (ret < 0) {
			log_warn("imap %s: bad response from server: %s", im->user, error);
			conn_abort(c, "protocol error");
			return;
		}
		buf_consume(in, used);
		if (im->state == ST_GREETING) {
			if (r.kind != IMAP_RESP_STATUS || strcmp(r.status, "OK") != 0) {
				log_warn("imap %s: server refused the connection: %s", im->user, r.text);
				imap_response_free(&r);
				conn_abort(c, "no greeting");
				return;
			}
			handle_untagged(im, &r);
			im->state = ST_READY;
			struct pending *login = internal(CMD_LOGIN, "LOGIN ");
			login->cmd.secret = true;
			web_imap_cmd_astring(&login->cmd, im->user, strlen(im->user));
			buf_append_char(&login->cmd.text, ' ');
			web_imap_cmd_astring(&login->cmd, im->password, strlen(im->password));
			push_front(im, login);
			const char *token = auth_proxy_token();
			if (im->origin[0] != '\0' &&
			    strspn(im->origin, "0123456789abcdefABCDEF.:") == strlen(im->origin)) {
				/* Ahead of LOGIN: the browser's address is what the
				 * server's auth throttle should count. Under `correu
				 * serve` the token proves it; a standalone `correu
				 * web` has none, and the server believes it when
				 * it lists our address in trusted_proxies (others
				 * ignore it, or answer BAD, which is harmless). ID
				 * values are strings, never atoms. */
				struct pending *id = internal(CMD_ID, "ID (\"name\" \"correu webmail\" "
							      "\"x-originating-ip\" \"%s\"%s%s%s)",
							      im->origin,
							      token != NULL ? " \"x-correu-proxy\" \"" : "",
							      token != NULL ? token : "",
							      token != NULL ? "\"" : "");
				id->cmd.secret = true;	/* the token is never logged */
				push_front(im, id);
			}
			imap_response_free(&r);
			imap_kick(im);
			continue;
		}
		switch (r.kind) {
		case IMAP_RESP_CONTINUE: {
			struct pending *p = im->queue;
			if (p != NULL && p->sent && p->kind == CMD_IDLE) {
				im->idling = true;
				if (p->next != NULL && !im->done_sent) {
					im->done_sent = true;
					conn_write_str(c, "DONE\r\n");
				}
			} else if (p != NULL && p->sent && p->sent_lits > 0) {
				send_more(im, p);
			}
			break;
		}
		case IMAP_RESP_TAGGED:
			handle_tagged(im, &r);
			break;
		default:
			handle_untagged(im, &r);
			break;
		}
		imap_response_free(&r);
	}
}

static void imap_closed(struct conn *c, void *ctx, const char *reason)
{
	struct web_imap *im = ctx;
	if (im->conn != c)
		return;
	bool was_greeting = im->state != ST_READY;
	struct pending *head = im->queue;
	reset_connection_state(im);
	uv_timer_stop(&im->timer);
	if (im->freeing) {
		fail_all(im, "session closed");
		if (im->timer_closed) {
			free(im->user);
			free(im);
		}
		return;
	}
	/* The command in flight may or may not have run: report failure.
	 * Internal steps are simply dropped; what waits behind them gets a
	 * fresh connection. */
	if (head != NULL && head->sent) {
		im->queue = head->next;
		if (head->kind == CMD_USER)
			pending_finish(im, head, WEB_IMAP_FAIL, reason, NULL);
		else
			pending_free(head);
	}
	struct pending **pp = &im->queue;
	while (*pp != NULL) {
		if ((*pp)->kind != CMD_USER) {
			struct pending *d = *pp;
			*pp = d->next;
			pending_free(d);
		} else {
			pp = &(*pp)->next;
		}
	}
	if (was_greeting) {
		log_warn("imap %s: connection failed: %s", im->user, reason);
		fail_all(im, reason);
		if (im->watch && im->logged_in_once)
			uv_timer_start(&im->timer, timer_cb, RETRY_MS, 0);
		return;
	}
	log_info("imap %s: connection closed: %s", im->user, reason);
	if (im->queue != NULL)
		imap_kick(im);
	else if (im->watch)
		uv_timer_start(&im->timer, timer_cb, RECONNECT_MS, 0);
}

static void imap_connected(struct conn *c, void *ctx)
{
	struct web_imap *im = ctx;
	web_upstream_start_tls(c, im->up);
}

static void imap_tls_ready(struct conn *c, void *ctx)
{
	struct web_imap *im = ctx;
	const char *error;
	if (!conn_tls_verified(c, &error)) {
		log_warn("imap: server certificate not trusted: %s", error);
		conn_abort(c, "untrusted certificate");
		return;
	}
	im->state = ST_GREETING;
}

static const struct conn_ops imap_conn_ops = {
	.on_input = imap_input,
	.on_close = imap_closed,
	.on_connected = imap_connected,
	.on_tls_ready = imap_tls_ready,
};

static void connect_cb(int fd, const char *error, void *ctx)
{
	struct web_imap *im = ctx;
	im->connect_req = NULL;
	if (fd < 0) {
		im->state = ST_DOWN;
		log_warn("imap: cannot connect to %s:%u: %s", im->up->host, im->up->port, error);
		fail_all(im, "cannot reach the mail server");
		if (im->watch && !im->freeing)
			uv_timer_start(&im->timer, timer_cb, RETRY_MS, 0);
		return;
	}
	im->conn = conn_connect(im->loop, fd, &imap_conn_ops, im);
	conn_set_timeout(im->conn, CMD_TIMEOUT_MS);
	/* A response is parsed once complete, so it must fit the input
	 * buffer: a whole message literal or a SORT of a huge folder. */
	conn_set_input_max(im->conn, IMAP_MAX_LITERAL + IMAP_MAX_LINE);
}

static void imap_connect(struct web_imap *im)
{
	im->state = ST_CONNECTING;
	strv_free(&im->caps);
	strv_init(&im->caps);
	im->connect_req = web_upstream_connect(im->loop, im->up, connect_cb, im);
}

struct web_imap *web_imap_new(uv_loop_t *loop, const struct web_upstream *up,
			      const char *user, const char *password,
			      const struct web_imap_events *ev, void *ev_ctx)
{
	struct web_imap *im = x_calloc(1, sizeof(*im));
	im->loop = loop;
	im->up = up;
	im->user = x_strdup(user);
	im->password = x_strdup(password);
	im->ev = ev;
	im->ev_ctx = ev_ctx;
	strv_init(&im->caps);
	uv_timer_init(loop, &im->timer);
	im->timer.data = im;
	return im;
}

void web_imap_set_origin(struct web_imap *im, const char *ip)
{
	snprintf(im->origin, sizeof(im->origin), "%s", ip != NULL ? ip : "");
}

static void timer_closed(uv_handle_t *h)
{
	struct web_imap *im = h->data;
	im->timer_closed = true;
	if (im->conn == NULL) {
		fail_all(im, "session closed");
		free(im->user);
		free(im);
	}
	/* else imap_closed frees it. */
}

void web_imap_free(struct web_imap **imp)
{
	struct web_imap *im = *imp;
	if (im == NULL)
		return;
	*imp = NULL;
	im->freeing = true;
	im->ev = NULL;
	/* Everybody waiting hears now; late replies are ignored. */
	struct pending *q = im->queue;
	im->queue = NULL;
	while (q != NULL) {
		struct pending *next = q->next;
		pending_finish(im, q, WEB_IMAP_FAIL, "session closed", NULL);
		q = next;
	}
	if (im->connect_req != NULL) {
		web_upstream_cancel(im->connect_req);
		im->connect_req = NULL;
	}
	explicit_bzero(im->password, strlen(im->password));
	x_free(&im->password);
	x_free(&im->user);
	im->user = x_strdup("(closed)");
	strv_free(&im->caps);
	if (im->conn != NULL) {
		if (im->state == ST_READY) {
			if (im->idling && !im->done_sent)
				conn_write_str(im->conn, "DONE\r\n");
			conn_printf(im->conn, "W%u LOGOUT\r\n", ++im->tag_seq);
			conn_close(im->conn);
		} else {
			conn_abort(im->conn, "closed");
		}
	}
	uv_timer_stop(&im->timer);
	uv_close((uv_handle_t *)&im->timer, timer_closed);
}

void web_imap_set_events(struct web_imap *im, const struct web_imap_events *ev, void *ev_ctx)
{
	im->ev = ev;
	im->ev_ctx = ev_ctx;
}

void web_imap_login(struct web_imap *im, web_imap_cb *cb, void *ctx)
{
	/* A NOOP after the login reports its outcome: the login's own
	 * failure fails everything queued, this included. */
	struct web_imap_cmd cmd;
	web_imap_cmd_init(&cmd);
	web_imap_cmd_printf(&cmd, "NOOP");
	web_imap_run(im, NULL, &cmd, cb, ctx);
}

void web_imap_run(struct web_imap *im, const char *mailbox, struct web_imap_cmd *cmd,
		  web_imap_cb *cb, void *ctx)
{
	push_back(im, pending_new(CMD_USER, mailbox, cmd, cb, ctx));
	imap_kick(im);
}

void web_imap_set_watch(struct web_imap *im, bool watch)
{
	if (im->watch == watch)
		return;
	im->watch = watch;
	if (watch)
		imap_kick(im);
}

uint32_t web_imap_uidvalidity(const struct web_imap *im)
{
	return im->uidvalidity;
}

uint32_t web_imap_exists(const struct web_imap *im)
{
	return im->exists;
}

const char *web_imap_selected(const struct web_imap *im)
{
	return im->selected;
}

void web_imap_unselect(struct web_imap *im)
{
	x_free(&im->selected);
}
