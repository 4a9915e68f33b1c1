/* pop3_server.c — POP3 server sessions: connection life cycle, the
 * input loop (pipelined commands, SASL responses), replies, limits and
 * the command table. Runs in the workers. Parses untrusted input
 * through pop3_parser. */
#include "pop3_server.h"
#include "pop3_session.h"
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Which states a command is valid in. */
#define IN_AUTH (1u << POP3_STATE_AUTHORIZATION)
#define IN_TRANS (1u << POP3_STATE_TRANSACTION)

struct pop3_cmd_entry {
	enum pop3_verb verb;
	pop3_cmd_handler_t *handler;
	unsigned states;
};

static const struct pop3_cmd_entry pop3_commands[] = {
	{ POP3_VERB_CAPA, pop3_cmd_capa, IN_AUTH | IN_TRANS },
	{ POP3_VERB_QUIT, pop3_cmd_quit, IN_AUTH | IN_TRANS },
	{ POP3_VERB_USER, pop3_cmd_user, IN_AUTH },
	{ POP3_VERB_PASS, pop3_cmd_pass, IN_AUTH },
	{ POP3_VERB_AUTH, pop3_cmd_auth, IN_AUTH },
	{ POP3_VERB_STLS, pop3_cmd_stls, IN_AUTH },
	{ POP3_VERB_STAT, pop3_cmd_stat, IN_TRANS },
	{ POP3_VERB_LIST, pop3_cmd_list, IN_TRANS },
	{ POP3_VERB_UIDL, pop3_cmd_uidl, IN_TRANS },
	{ POP3_VERB_RETR, pop3_cmd_retr, IN_TRANS },
	{ POP3_VERB_TOP, pop3_cmd_top, IN_TRANS },
	{ POP3_VERB_DELE, pop3_cmd_dele, IN_TRANS },
	{ POP3_VERB_RSET, pop3_cmd_rset, IN_TRANS },
	{ POP3_VERB_NOOP, pop3_cmd_noop, IN_TRANS },
};

/* Output queued beyond this stops a stream until it drains to the
 * mark (pop3_cmd_retr.c fills up to POP3_STREAM_HIGH). */
#define POP3_DRAIN_MARK (64 * 1024)
/* What a client may pipeline before we stop reading. */
#define POP3_INPUT_MAX (64 * 1024)

static unsigned session_counter;

static void pop3_on_input(struct conn *c, void *ctx);
static void pop3_on_close(struct conn *c, void *ctx, const char *reason);
static void pop3_on_tls_ready(struct conn *c, void *ctx);
static void pop3_on_timeout(struct conn *c, void *ctx);
static void pop3_on_drain(struct conn *c, void *ctx);

static const struct conn_ops pop3_conn_ops = {
	.on_input = pop3_on_input,
	.on_close = pop3_on_close,
	.on_tls_ready = pop3_on_tls_ready,
	.on_timeout = pop3_on_timeout,
	.on_drain = pop3_on_drain,
};

static const char *kind_name(enum service_kind kind)
{
	return kind == SERVICE_POP3S ? "pop3s" : "pop3";
}

static void reply(struct pop3_session *s, const char *status, const char *fmt, va_list ap)
	ATTR_FORMAT(3, 0);

static void reply(struct pop3_session *s, const char *status, const char *fmt, va_list ap)
{
	struct buf line = BUF_INIT;
	buf_append_str(&line, status);
	buf_append_char(&line, ' ');
	buf_vappendf(&line, fmt, ap);
	if (line.data[line.len - 1] == ' ')
		line.len--;	/* no text: "+OK" alone */
	buf_append(&line, "\r\n", 2);
	conn_write(s->conn, line.data, line.len);
	buf_free(&line);
}

void pop3_ok(struct pop3_session *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	reply(s, "+OK", fmt, ap);
	va_end(ap);
}

void pop3_close(struct pop3_session *s)
{
	s->phase = POP3_PHASE_QUIT;
	conn_close(s->conn);
}

void pop3_err(struct pop3_session *s, const char *fmt, ...)
{
	uint64_t max = s->env->cfg->pop3_max_errors;	/* 0 = no limit */
	if (++s->n_errors >= max && max > 0) {
		log_info("%s[%s]: %s: too many errors, disconnecting", kind_name(s->kind), s->id,
			 conn_peer_ip(s->conn));
		conn_write_str(s->conn, "-ERR Too many errors, disconnecting\r\n");
		pop3_close(s);
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	reply(s, "-ERR", fmt, ap);
	va_end(ap);
}

bool pop3_auth_allowed(const struct pop3_session *s)
{
	return s->tls || s->env->cfg->auth_allow_plaintext;
}

static void send_greeting(struct pop3_session *s)
{
	pop3_ok(s, "%s POP3 correu ready.", s->env->cfg->hostname);
}

void pop3_service_start(const struct service_env *env, enum service_kind kind, int fd)
{
	struct pop3_session *s = x_calloc(1, sizeof(*s));
	s->env = env;
	s->kind = kind;
	s->stream_fd = -1;
	snprintf(s->id, sizeof(s->id), "%x%04x", (unsigned)getpid() & 0xffff,
		 ++session_counter & 0xffff);
	s->conn = conn_new(env->loop, fd, &pop3_conn_ops, s);
	const char *ip = conn_peer_ip(s->conn);
	if (!env->session_begin(env, kind, ip)) {
		log_info("%s[%s]: connection from %s refused: too many connections",
			 kind_name(kind), s->id, ip);
		/* A plaintext reply on a TLS port would be garbage. */
		if (service_implicit_tls(kind)) {
			/* The -ERR goes inside TLS (pop3_on_tls_ready). */
			conn_set_timeout(s->conn, 10 * 1000);
			conn_start_tls_server(s->conn, env->tls);
		} else {
			conn_write_str(s->conn, "-ERR [SYS/TEMP] too many connections\r\n");
			conn_close(s->conn);
		}
		s->phase = POP3_PHASE_QUIT;
		return;
	}
	s->counted = true;
	if (env->active_sessions != NULL)
		(*env->active_sessions)++;
	log_info("%s[%s]: connect from [%s]:%u", kind_name(kind), s->id, ip,
		 conn_peer_port(s->conn));
	conn_set_timeout(s->conn, env->cfg->pop3_timeout * 1000);
	conn_set_input_max(s->conn, POP3_INPUT_MAX);
	conn_set_drain_mark(s->conn, POP3_DRAIN_MARK);
	if (service_implicit_tls(kind)) {
		conn_start_tls_server(s->conn, env->tls);
		return;
	}
	send_greeting(s);
}

static void pop3_on_tls_ready(struct conn *c, void *ctx)
{
	struct pop3_session *s = ctx;
	if (!s->counted) {
		/* Refused at connect (limits) on the implicit-TLS port. */
		conn_write_str(c, "-ERR [SYS/TEMP] too many connections\r\n");
		conn_close(c);
		return;
	}
	s->tls = true;
	char desc[160];
	log_info("%s[%s]: TLS established: %s", kind_name(s->kind), s->id,
		 conn_tls_desc(c, desc, sizeof(desc)));
	if (service_implicit_tls(s->kind) && s->n_commands == 0)
		send_greeting(s);
}

static void pop3_on_timeout(struct conn *c, void *ctx)
{
	struct pop3_session *s = ctx;
	(void)c;
	/* The timer restarts only on input: a client reading a long RETR
	 * slowly is not idle while output drains. */
	if (s->phase == POP3_PHASE_WAIT)
		return;
	if (s->phase == POP3_PHASE_STREAM && s->stream_progress) {
		s->stream_progress = false;
		return;
	}
	log_info("%s[%s]: timeout from %s", kind_name(s->kind), s->id, conn_peer_ip(s->conn));
	/* RFC 1939 3: the autologout timer does not enter UPDATE. */
	conn_write_str(s->conn, "-ERR Disconnected for inactivity.\r\n");
	pop3_close(s);
}

static void pop3_on_drain(struct conn *c, void *ctx)
{
	struct pop3_session *s = ctx;
	(void)c;
	if (s->phase == POP3_PHASE_STREAM)
		pop3_stream_drain(s);
}

static void session_free(struct pop3_session *s)
{
	pop3_stream_free(s);
	pop3_auth_free(s);
	pop3_maildrop_free(s);
	free(s->user);
	free(s->auth_user);
	free(s);
}

static void pop3_on_close(struct conn *c, void *ctx, const char *reason)
{
	struct pop3_session *s = ctx;
	if (s->counted) {
		log_info("%s[%s]: disconnect from %s (%s) user=<%s> commands=%u errors=%u "
			 "retr=%u deleted=%u bytes=%llu", kind_name(s->kind), s->id,
			 conn_peer_ip(c), reason, s->auth_user != NULL ? s->auth_user : "",
			 s->n_commands, s->n_errors, s->n_retr,
			 s->state == POP3_STATE_UPDATE ? s->n_deleted : 0,
			 (unsigned long long)s->bytes_sent);
		if (s->env->active_sessions != NULL)
			(*s->env->active_sessions)--;
		s->env->session_ended(s->env, s->kind, conn_peer_ip(c));
	}
	s->conn = NULL;
	session_free(s);
}

/* 0 = no limit. */
static uint64_t max_commands(const struct pop3_session *s)
{
	if (s->env->cfg->pop3_max_commands == 0)
		return UINT64_MAX;
	return s->env->cfg->pop3_max_commands + 4 * (uint64_t)s->n_msgs;
}

static void dispatch(struct pop3_session *s, const char *line, size_t len)
{
	struct pop3_command cmd;
	const char *error;
	if (++s->n_commands > max_commands(s)) {
		log_info("%s[%s]: %s: too many commands, disconnecting", kind_name(s->kind), s->id,
			 conn_peer_ip(s->conn));
		conn_write_str(s->conn, "-ERR Too many commands, disconnecting\r\n");
		pop3_close(s);
		return;
	}
	if (pop3_command_parse(line, len, &cmd, &error) < 0) {
		pop3_err(s, "%s", error);
		pop3_command_free(&cmd);
		return;
	}
	for (size_t i = 0; i < N_ELEMENTS(pop3_commands); i++) {
		const struct pop3_cmd_entry *e = &pop3_commands[i];
		if (e->verb != cmd.verb)
			continue;
		if ((e->states & (1u << s->state)) != 0)
			e->handler(s, &cmd);
		else if (s->state == POP3_STATE_AUTHORIZATION)
			pop3_err(s, "Not logged in");
		else
			pop3_err(s, "Already logged in");
		pop3_command_free(&cmd);
		return;
	}
	pop3_err(s, "Unknown command");
	pop3_command_free(&cmd);
}

void pop3_session_input(struct pop3_session *s)
{
	while (s->conn != NULL && !conn_closing(s->conn)) {
		if (s->phase != POP3_PHASE_COMMANDS && s->phase != POP3_PHASE_SASL)
			return;
		struct buf *in = conn_input(s->conn);
		if (in->len == 0)
			return;
		bool sasl = s->phase == POP3_PHASE_SASL;
		size_t max = sasl ? POP3_SASL_LINE_MAX : POP3_COMMAND_LINE_MAX;
		char *line;
		size_t line_len;
		enum line_take r = line_take(in, max, &s->discard_line, &line, &line_len);
		if (r == LINE_WAIT)
			return;
		if (r == LINE_OVERLONG) {
			if (sasl)
				pop3_sasl_response(s, NULL);
			else
				pop3_err(s, "Line too long");
			continue;
		}
		if (sasl)
			pop3_sasl_response(s, line);
		else
			dispatch(s, line, line_len);
		/* Passwords do not linger in freed memory. */
		explicit_bzero(line, line_len);
		free(line);
	}
}

static void pop3_on_input(struct conn *c, void *ctx)
{
	(void)c;
	pop3_session_input(ctx);
}

void pop3_session_resume(struct pop3_session *s)
{
	if (s->conn == NULL || conn_closing(s->conn))
		return;
	conn_resume(s->conn);
}
