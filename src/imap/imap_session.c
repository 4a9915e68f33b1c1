/* imap_session.c — the IMAP connection: greeting, reading commands
 * through the parser, dispatch to the command table, literals (APPEND
 * streams its message into the store), tagged replies, unsolicited
 * updates, timeouts and teardown. Runs in the mail workers. Parses
 * client input (through imap_parser). */
#include "imap_session.h"
#include "imap_commands.h"
#include "imap_append.h"
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define IMAP_MAX_LITERAL_MEM (1024 * 1024)
#define IMAP_MAX_DEPTH 32
#define IMAP_MAX_ARGS 10000
#define IMAP_OUTPUT_DRAIN_MARK (64 * 1024)
#define IMAP_AUTH_LINE_MAX 16384

static unsigned session_counter;

static void session_process(struct imap_session *s);

void imap_write(struct imap_session *s, const void *data, size_t len)
{
	conn_write(s->conn, data, len);
}

void imap_write_str(struct imap_session *s, const char *str)
{
	conn_write(s->conn, str, strlen(str));
}

void imap_printf(struct imap_session *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct buf b = BUF_INIT;
	buf_vappendf(&b, fmt, ap);
	va_end(ap);
	conn_write(s->conn, b.data, b.len);
	buf_free(&b);
}

size_t imap_output_pending(struct imap_session *s)
{
	return conn_output_pending(s->conn);
}

bool imap_session_secured(const struct imap_session *s)
{
	return conn_is_tls(s->conn) || s->server->cfg->auth_allow_plaintext;
}

bool imap_session_condstore(const struct imap_session *s)
{
	return (s->enabled & (IMAP_ENABLED_CONDSTORE | IMAP_ENABLED_QRESYNC)) != 0 ||
	       s->condstore_used;
}

bool imap_session_utf8(const struct imap_session *s)
{
	return (s->enabled & (IMAP_ENABLED_UTF8 | IMAP_ENABLED_REV2)) != 0;
}

void imap_session_capabilities(struct imap_session *s, struct buf *out)
{
	buf_append_str(out, "IMAP4rev1 IMAP4rev2 SASL-IR LITERAL+ ID ENABLE IDLE");
	if (s->state == IMAP_STATE_NOAUTH) {
		bool secured = imap_session_secured(s);
		if (!conn_is_tls(s->conn) && s->server->tls != NULL)
			buf_append_str(out, " STARTTLS");
		if (!secured) {
			buf_append_str(out, " LOGINDISABLED");
			return;
		}
		const char *mechs = s->server->backend.mechanisms(s->server->backend.ctx, true);
		if (mechs != NULL) {
			struct strv v;
			strv_init(&v);
			strv_split_ws(&v, mechs);
			for (size_t i = 0; i < v.n; i++)
				buf_appendf(out, " AUTH=%s", v.v[i]);
			strv_free(&v);
		}
		return;
	}
	buf_appendf(out, " NAMESPACE UNSELECT UIDPLUS MOVE CHILDREN SPECIAL-USE LIST-EXTENDED"
		    " LIST-STATUS CONDSTORE QRESYNC ESEARCH SEARCHRES SORT"
		    " THREAD=REFERENCES THREAD=ORDEREDSUBJECT APPENDLIMIT=%llu UTF8=ACCEPT"
		    " STATUS=SIZE SAVEDATE OBJECTID BINARY QUOTA QUOTA=RES-STORAGE WITHIN",
		    (unsigned long long)s->server->cfg->message_size_limit);
	if (!s->compress)
		buf_append_str(out, " COMPRESS=DEFLATE");
}

void imap_session_bye(struct imap_session *s, const char *text)
{
	if (s->closing)
		return;
	imap_printf(s, "* BYE %s\r\n", text);
	s->closing = true;
	s->state = IMAP_STATE_LOGOUT;
	conn_close(s->conn);
}

static void send_greeting(struct imap_session *s)
{
	struct buf b = BUF_INIT;
	buf_append_str(&b, "* OK [CAPABILITY ");
	imap_session_capabilities(s, &b);
	buf_appendf(&b, "] %s IMAP server ready\r\n", s->server->cfg->hostname);
	imap_write(s, b.data, b.len);
	buf_free(&b);
}

/* ---- replies ---- */

static void vreply(struct imap_cmd *cmd, const char *status, const char *fmt, va_list ap)
	ATTR_FORMAT(3, 0);
static void vreply(struct imap_cmd *cmd, const char *status, const char *fmt, va_list ap)
{
	struct buf b = BUF_INIT;
	buf_appendf(&b, "%s %s ", cmd->tag, status);
	buf_vappendf(&b, fmt, ap);
	buf_append(&b, "\r\n", 2);
	imap_write(cmd->s, b.data, b.len);
	buf_free(&b);
}

void imap_cmd_reply(struct imap_cmd *cmd, const char *status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreply(cmd, status, fmt, ap);
	va_end(ap);
}

static bool cmd_allows_expunge(const struct imap_cmd *cmd)
{
	if (cmd->def == NULL)
		return false;
	return (cmd->def->flags & IMAP_CMDF_NO_EXPUNGE) == 0 || cmd->uid;
}

enum imap_cmd_result imap_cmd_ok(struct imap_cmd *cmd, const char *fmt, ...)
{
	if (cmd->def != NULL && (cmd->def->flags & IMAP_CMDF_NO_UPDATE) == 0)
		imap_session_update(cmd->s, cmd_allows_expunge(cmd));
	va_list ap;
	va_start(ap, fmt);
	vreply(cmd, "OK", fmt, ap);
	va_end(ap);
	return IMAP_CMD_DONE;
}

enum imap_cmd_result imap_cmd_no(struct imap_cmd *cmd, const char *fmt, ...)
{
	if (cmd->def != NULL && (cmd->def->flags & IMAP_CMDF_NO_UPDATE) == 0)
		imap_session_update(cmd->s, cmd_allows_expunge(cmd));
	va_list ap;
	va_start(ap, fmt);
	vreply(cmd, "NO", fmt, ap);
	va_end(ap);
	return IMAP_CMD_DONE;
}

enum imap_cmd_result imap_cmd_bad(struct imap_cmd *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreply(cmd, "BAD", fmt, ap);
	va_end(ap);
	cmd->s->errors++;
	return IMAP_CMD_DONE;
}

enum imap_cmd_result imap_cmd_store_error(struct imap_cmd *cmd)
{
	struct store_user *u = cmd->s->store;
	enum store_error e = u != NULL ? store_user_error(u) : STORE_ERR_TEMP;
	const char *text = u != NULL ? store_user_error_text(u) : "Internal error";
	const char *code;
	switch (e) {
	case STORE_ERR_NONEXISTENT: code = "[NONEXISTENT] "; break;
	case STORE_ERR_EXISTS: code = "[ALREADYEXISTS] "; break;
	case STORE_ERR_INVALID: code = "[CANNOT] "; break;
	case STORE_ERR_NOTPERMITTED: code = "[CANNOT] "; break;
	case STORE_ERR_LIMIT: code = "[LIMIT] "; break;
	case STORE_ERR_OVERQUOTA: code = "[OVERQUOTA] "; break;
	case STORE_ERR_EXPUNGED: code = "[EXPUNGEISSUED] "; break;
	case STORE_ERR_INUSE: code = "[INUSE] "; break;
	default:
		code = "[UNAVAILABLE] ";
		text = "Internal error, try again later";
		break;
	}
	return imap_cmd_no(cmd, "%s%s", code, text);
}

/* ---- commands ---- */

static void cmd_free(struct imap_cmd *cmd)
{
	if (cmd->ctx_free != NULL)
		cmd->ctx_free(cmd);
	free(cmd->tag);
	free(cmd);
}

/* imap_max_errors reached (0 = no limit). */
static bool imap_session_too_many_errors(const struct imap_session *s)
{
	uint64_t max = s->server->cfg->imap_max_errors;
	return max > 0 && s->errors >= max;
}

static void finish_cmd(struct imap_session *s)
{
	struct imap_cmd *cmd = s->cmd;
	s->cmd = NULL;
	if (cmd != NULL)
		cmd_free(cmd);
	imap_append_free(&s->append);
	imap_parser_reset(s->parser);
	if (imap_session_too_many_errors(s) && !s->closing)
		imap_session_bye(s, "Too many invalid commands");
}

void imap_cmd_done(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	i_assert(s->cmd == cmd);
	finish_cmd(s);
	if (s->closing)
		return;
	conn_resume(s->conn);
}

static void run_handler(struct imap_session *s, struct imap_cmd *cmd)
{
	s->cmd = cmd;
	s->commands++;
	enum imap_cmd_result r = cmd->def->handler(cmd);
	if (r == IMAP_CMD_DONE) {
		finish_cmd(s);
		return;
	}
	/* Asynchronous: hold further input unless the command reads lines
	 * (IDLE, AUTHENTICATE), in which case session_process feeds it. */
	if (s->cmd != NULL && s->cmd->on_line == NULL && !s->closing)
		conn_pause(s->conn);
}

static void dispatch(struct imap_session *s, const struct imap_parse_event *ev)
{
	struct imap_cmd *cmd = x_calloc(1, sizeof(*cmd));
	cmd->s = s;
	cmd->tag = x_strdup(ev->tag);
	cmd->args = ev->args;
	cmd->n_args = ev->n_args;
	const char *name = ev->name;
	if (strcasecmp(name, "UID") == 0) {
		const char *sub = cmd->n_args > 0 ? imap_arg_atom(&cmd->args[0]) : NULL;
		const struct imap_command *def = sub != NULL ? imap_command_find(sub) : NULL;
		cmd->name = "UID";
		s->cmd = cmd;
		if (def == NULL || (def->flags & IMAP_CMDF_UID) == 0) {
			imap_cmd_bad(cmd, "Unknown UID command");
			finish_cmd(s);
			return;
		}
		cmd->def = def;
		cmd->uid = true;
		cmd->args++;
		cmd->n_args--;
	} else {
		cmd->def = imap_command_find(name);
		s->cmd = cmd;
		if (cmd->def == NULL) {
			imap_cmd_bad(cmd, "Unknown command");
			finish_cmd(s);
			return;
		}
	}
	cmd->name = cmd->def->name;
	if ((cmd->def->states & s->state) == 0) {
		if (s->state == IMAP_STATE_NOAUTH)
			imap_cmd_bad(cmd, "Log in first");
		else if (cmd->def->states == IMAP_STATE_SELECTED)
			imap_cmd_bad(cmd, "No mailbox selected");
		else
			imap_cmd_bad(cmd, "Command not allowed now");
		finish_cmd(s);
		return;
	}
	run_handler(s, cmd);
}

/* A literal header arrived: decide where its bytes go. */
static void handle_literal(struct imap_session *s, const struct imap_parse_event *ev)
{
	const char *err_code = NULL, *err_text = NULL;
	if (ev->name != NULL && strcasecmp(ev->name, "APPEND") == 0 &&
	    imap_append_is_message(s, ev)) {
		if (imap_append_begin(s, ev, &err_code, &err_text) == 0 &&
		    imap_parser_literal_accept(s->parser, true) == 0) {
			if (ev->literal_sync)
				imap_write(s, "+ OK\r\n", 6);
			return;
		}
		if (err_code == NULL) {
			err_code = "TOOBIG";
			err_text = "Message too big";
		}
		imap_append_free(&s->append);
	} else if (imap_parser_literal_accept(s->parser, false) == 0) {
		if (ev->literal_sync)
			imap_write(s, "+ OK\r\n", 6);
		return;
	} else {
		err_code = "TOOBIG";
		err_text = "Literal too big";
	}
	char *tag = x_strdup(ev->tag != NULL ? ev->tag : "*");
	bool sync = ev->literal_sync;
	uint64_t size = ev->literal_size;
	imap_parser_literal_reject(s->parser);
	imap_printf(s, "%s NO [%s] %s\r\n", tag, err_code, err_text);
	free(tag);
	s->errors++;
	/* A huge non-synchronizing literal would only be read to be thrown
	 * away (RFC 7888 4 allows closing). */
	if (!sync && size > s->server->cfg->message_size_limit + 1024 * 1024)
		imap_session_bye(s, "Literal too big");
}

static void session_process(struct imap_session *s)
{
	struct buf *in = conn_input(s->conn);
	while (!s->closing) {
		if (s->cmd != NULL) {
			if (s->cmd->on_line == NULL)
				return;
			char *line = NULL;
			int r = imap_parser_read_line(s->parser, in, IMAP_AUTH_LINE_MAX, &line);
			if (r == 0)
				return;
			struct imap_cmd *cmd = s->cmd;
			cmd->on_line(cmd, r > 0 ? line : NULL);
			free(line);
			continue;
		}
		struct imap_parse_event ev;
		enum imap_parse_result r = imap_parser_parse(s->parser, in, &ev);
		switch (r) {
		case IMAP_PARSE_MORE:
			return;
		case IMAP_PARSE_LITERAL:
			handle_literal(s, &ev);
			break;
		case IMAP_PARSE_DATA:
			imap_append_data(s, ev.data, ev.len);
			break;
		case IMAP_PARSE_ERROR:
			imap_append_free(&s->append);
			imap_printf(s, "%s BAD %s\r\n", ev.tag != NULL ? ev.tag : "*", ev.error);
			s->errors++;
			if (ev.fatal) {
				imap_session_bye(s, ev.error);
				return;
			}
			if (imap_session_too_many_errors(s))
				imap_session_bye(s, "Too many invalid commands");
			break;
		case IMAP_PARSE_COMMAND:
			dispatch(s, &ev);
			break;
		}
	}
}

/* ---- connection callbacks ---- */

static void on_input(struct conn *c, void *ctx)
{
	(void)c;
	session_process(ctx);
}

static void on_drain(struct conn *c, void *ctx)
{
	struct imap_session *s = ctx;
	(void)c;
	struct imap_cmd *cmd = s->cmd;
	if (cmd == NULL || cmd->on_drain == NULL || s->closing)
		return;
	enum imap_cmd_result (*fn)(struct imap_cmd *) = cmd->on_drain;
	cmd->on_drain = NULL;
	if (fn(cmd) == IMAP_CMD_DONE)
		imap_cmd_done(cmd);
}

static void on_tls_ready(struct conn *c, void *ctx)
{
	struct imap_session *s = ctx;
	(void)c;
	if (!s->counted) {
		imap_session_bye(s, "Too many connections, try again later");
		return;
	}
	if (s->implicit_tls && s->commands == 0)
		send_greeting(s);
}

static void on_timeout(struct conn *c, void *ctx)
{
	struct imap_session *s = ctx;
	(void)c;
	log_info("imap[%s]: autologout of %s", s->id, s->user != NULL ? s->user : conn_peer_ip(s->conn));
	imap_session_bye(s, "Autologout; idle for too long");
}

void imap_session_unselect(struct imap_session *s)
{
	x_free(&s->searchres);
	s->n_searchres = 0;
	store_watch_stop(&s->watch);
	store_view_close(&s->view);
	s->exists_sent = 0;
	s->recent_sent = 0;
	if (s->state == IMAP_STATE_SELECTED)
		s->state = IMAP_STATE_AUTH;
}

static void on_close(struct conn *c, void *ctx, const char *reason)
{
	struct imap_session *s = ctx;
	(void)c;
	log_info("imap[%s]: disconnected%s%s: %s", s->id, s->user != NULL ? " " : "",
		 s->user != NULL ? s->user : "", reason);
	if (s->cmd != NULL) {
		struct imap_cmd *cmd = s->cmd;
		s->cmd = NULL;
		cmd_free(cmd);
	}
	imap_append_free(&s->append);
	if (s->open_req != NULL)
		store_open_req_cancel(s->open_req);
	imap_session_unselect(s);
	store_maildrop_unlock(&s->slot);
	store_user_unref(&s->store);
	imap_parser_free(&s->parser);
	if (s->counted) {
		s->server->backend.ended(s->server->backend.ctx, s->implicit_tls,
					 conn_peer_ip(s->conn));
		if (s->server->active_sessions != NULL)
			(*s->server->active_sessions)--;
	}
	free(s->user);
	free(s);
}

static const struct conn_ops imap_conn_ops = {
	.on_input = on_input,
	.on_close = on_close,
	.on_tls_ready = on_tls_ready,
	.on_drain = on_drain,
	.on_timeout = on_timeout,
};

struct imap_session *imap_session_new(struct imap_server *server, int fd, bool implicit_tls,
				      bool counted);
struct imap_session *imap_session_new(struct imap_server *server, int fd, bool implicit_tls,
				      bool counted)
{
	struct imap_session *s = x_calloc(1, sizeof(*s));
	s->server = server;
	s->implicit_tls = implicit_tls;
	s->state = IMAP_STATE_NOAUTH;
	s->counted = counted;
	snprintf(s->id, sizeof(s->id), "%x%04x", (unsigned)getpid() & 0xffff,
		 ++session_counter & 0xffff);
	s->conn = conn_new(server->loop, fd, &imap_conn_ops, s);
	const struct config *cfg = server->cfg;
	struct imap_parser_limits lim = {
		.max_line = cfg->imap_max_line,
		.max_literal_mem = IMAP_MAX_LITERAL_MEM,
		.max_stream = cfg->message_size_limit,
		.max_depth = IMAP_MAX_DEPTH,
		.max_args = IMAP_MAX_ARGS,
	};
	s->parser = imap_parser_new(&lim);
	if (counted && server->active_sessions != NULL)
		(*server->active_sessions)++;
	conn_set_drain_mark(s->conn, IMAP_OUTPUT_DRAIN_MARK);
	conn_set_input_max(s->conn, 256 * 1024);
	conn_set_timeout(s->conn, cfg->imap_login_timeout * 1000);
	if (counted)
		log_info("imap[%s]: connect from [%s]:%u%s", s->id, conn_peer_ip(s->conn),
			 conn_peer_port(s->conn), implicit_tls ? " (TLS)" : "");
	if (!counted) {
		/* Over a connection limit: refuse (RFC 9051 7.1.5 BYE greeting),
		 * on the implicit-TLS port once TLS is up (on_tls_ready). */
		if (implicit_tls && server->tls != NULL) {
			conn_set_timeout(s->conn, 10 * 1000);
			conn_start_tls_server(s->conn, server->tls);
		} else {
			imap_session_bye(s, "Too many connections, try again later");
		}
		return s;
	}
	if (implicit_tls && server->tls != NULL)
		conn_start_tls_server(s->conn, server->tls);
	else
		send_greeting(s);
	return s;
}

const char *imap_session_client_ip(const struct imap_session *s)
{
	return s->origin_ip[0] != '\0' ? s->origin_ip : conn_peer_ip(s->conn);
}

void imap_session_refuse(struct imap_server *server, int fd, bool implicit_tls);
void imap_session_refuse(struct imap_server *server, int fd, bool implicit_tls)
{
	(void)imap_session_new(server, fd, implicit_tls, false);
}
