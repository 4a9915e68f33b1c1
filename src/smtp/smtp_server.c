/* smtp_server.c — SMTP server sessions: connection life cycle, the
 * input loop (pipelined commands, data phases), replies and the command
 * table. Runs in the workers. Parses untrusted input through
 * smtp_parser and smtp_data. */
#include "smtp_server.h"
#include "smtp_session.h"
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct smtp_cmd_entry {
	enum smtp_verb verb;
	smtp_cmd_handler_t *handler;
};

static const struct smtp_cmd_entry smtp_commands[] = {
	{ SMTP_VERB_HELO, smtp_cmd_helo },
	{ SMTP_VERB_EHLO, smtp_cmd_ehlo },
	{ SMTP_VERB_MAIL, smtp_cmd_mail },
	{ SMTP_VERB_RCPT, smtp_cmd_rcpt },
	{ SMTP_VERB_DATA, smtp_cmd_data },
	{ SMTP_VERB_BDAT, smtp_cmd_bdat },
	{ SMTP_VERB_RSET, smtp_cmd_rset },
	{ SMTP_VERB_NOOP, smtp_cmd_noop },
	{ SMTP_VERB_QUIT, smtp_cmd_quit },
	{ SMTP_VERB_VRFY, smtp_cmd_vrfy },
	{ SMTP_VERB_EXPN, smtp_cmd_expn },
	{ SMTP_VERB_HELP, smtp_cmd_help },
	{ SMTP_VERB_STARTTLS, smtp_cmd_starttls },
	{ SMTP_VERB_AUTH, smtp_cmd_auth },
};

static unsigned session_counter;

static void smtp_on_input(struct conn *c, void *ctx);
static void smtp_on_close(struct conn *c, void *ctx, const char *reason);
static void smtp_on_tls_ready(struct conn *c, void *ctx);
static void smtp_on_timeout(struct conn *c, void *ctx);

static const struct conn_ops smtp_conn_ops = {
	.on_input = smtp_on_input,
	.on_close = smtp_on_close,
	.on_tls_ready = smtp_on_tls_ready,
	.on_timeout = smtp_on_timeout,
};

static const char *kind_name(enum service_kind kind)
{
	switch (kind) {
	case SERVICE_SUBMISSION:
		return "submission";
	case SERVICE_SUBMISSIONS:
		return "submissions";
	default:
		return "smtp";
	}
}

bool smtp_is_submission(const struct smtp_session *s)
{
	return s->kind == SERVICE_SUBMISSION || s->kind == SERVICE_SUBMISSIONS;
}

static void vreply(struct smtp_session *s, unsigned code, const char *enhanced,
		   const char *fmt, va_list ap) ATTR_FORMAT(4, 0);
static void vreply(struct smtp_session *s, unsigned code, const char *enhanced,
		   const char *fmt, va_list ap)
{
	struct buf line = BUF_INIT;
	buf_appendf(&line, "%u %s ", code, enhanced);
	buf_vappendf(&line, fmt, ap);
	buf_append(&line, "\r\n", 2);
	conn_write(s->conn, line.data, line.len);
	buf_free(&line);
}

void smtp_reply(struct smtp_session *s, unsigned code, const char *enhanced,
		const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreply(s, code, enhanced, fmt, ap);
	va_end(ap);
}

void smtp_close_421(struct smtp_session *s, const char *enhanced, const char *text)
{
	conn_printf(s->conn, "421 %s %s %s\r\n", enhanced, s->env->cfg->hostname, text);
	s->phase = SMTP_PHASE_QUIT;
	conn_close(s->conn);
}

void smtp_error(struct smtp_session *s, unsigned code, const char *enhanced,
		const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreply(s, code, enhanced, fmt, ap);
	va_end(ap);
	uint64_t max = s->env->cfg->smtp_max_errors;	/* 0 = no limit */
	if (++s->n_errors >= max && max > 0) {
		log_info("smtp[%s]: %s: too many errors, disconnecting", s->id,
			 conn_peer_ip(s->conn));
		smtp_close_421(s, "4.7.0", "Error: too many errors");
	}
}

static void send_greeting(struct smtp_session *s)
{
	conn_printf(s->conn, "220 %s %s\r\n", s->env->cfg->hostname, s->env->cfg->smtp_banner);
}

void smtp_service_start(const struct service_env *env, enum service_kind kind, int fd)
{
	struct smtp_session *s = x_calloc(1, sizeof(*s));
	s->env = env;
	s->kind = kind;
	snprintf(s->id, sizeof(s->id), "%x%04x", (unsigned)getpid() & 0xffff,
		 ++session_counter & 0xffff);
	s->conn = conn_new(env->loop, fd, &smtp_conn_ops, s);
	const char *ip = conn_peer_ip(s->conn);
	if (!env->session_begin(env, kind, ip)) {
		log_info("%s[%s]: connection from %s refused: too many connections",
			 kind_name(kind), s->id, ip);
		if (service_implicit_tls(kind)) {
			/* The 421 goes inside TLS (smtp_on_tls_ready). */
			conn_set_timeout(s->conn, 10 * 1000);
			conn_start_tls_server(s->conn, env->tls);
		} else {
			conn_printf(s->conn, "421 4.7.0 %s Error: too many connections\r\n",
				    env->cfg->hostname);
			conn_close(s->conn);
		}
		s->phase = SMTP_PHASE_QUIT;
		return;
	}
	s->counted = true;
	if (env->active_sessions != NULL)
		(*env->active_sessions)++;
	log_info("%s[%s]: connect from [%s]:%u", kind_name(kind), s->id, ip,
		 conn_peer_port(s->conn));
	conn_set_timeout(s->conn, env->cfg->smtp_timeout * 1000);
	/* Bound what a client may pile up unread (pipelining, BDAT). */
	conn_set_input_max(s->conn, 256 * 1024);
	if (service_implicit_tls(kind)) {
		conn_start_tls_server(s->conn, env->tls);
		return;
	}
	send_greeting(s);
}

static void smtp_on_tls_ready(struct conn *c, void *ctx)
{
	struct smtp_session *s = ctx;
	if (!s->counted) {
		/* Refused at connect (limits) on an implicit-TLS port. */
		conn_printf(c, "421 4.7.0 %s Error: too many connections\r\n",
			    s->env->cfg->hostname);
		conn_close(c);
		return;
	}
	s->tls = true;
	char desc[160];
	log_info("%s[%s]: TLS established: %s", kind_name(s->kind), s->id,
		 conn_tls_desc(c, desc, sizeof(desc)));
	if (service_implicit_tls(s->kind) && s->n_commands == 0 && s->helo == NULL)
		send_greeting(s);
}

static void smtp_on_timeout(struct conn *c, void *ctx)
{
	struct smtp_session *s = ctx;
	(void)c;
	if (s->phase == SMTP_PHASE_WAIT)
		return;
	log_info("%s[%s]: timeout from %s", kind_name(s->kind), s->id, conn_peer_ip(s->conn));
	smtp_close_421(s, "4.4.2", "Error: timeout exceeded");
}

void smtp_session_free(struct smtp_session *s)
{
	smtp_txn_reset(s);
	smtp_auth_free(s);
	free(s->helo);
	free(s->auth_user);
	free(s);
}

static void smtp_on_close(struct conn *c, void *ctx, const char *reason)
{
	struct smtp_session *s = ctx;
	if (s->counted) {
		log_info("%s[%s]: disconnect from %s (%s) commands=%u errors=%u messages=%u",
			 kind_name(s->kind), s->id, conn_peer_ip(c), reason, s->n_commands,
			 s->n_errors, s->n_messages);
		if (s->env->active_sessions != NULL)
			(*s->env->active_sessions)--;
		s->env->session_ended(s->env, s->kind, conn_peer_ip(c));
	}
	s->conn = NULL;
	if (s->commit != NULL) {
		/* The commit finishes in its thread; its callback frees us. */
		s->closed = true;
		return;
	}
	smtp_session_free(s);
}

static void dispatch(struct smtp_session *s, const char *line, size_t len)
{
	struct smtp_command cmd;
	struct smtp_error err;
	uint64_t max = s->env->cfg->smtp_max_commands;	/* 0 = no limit */
	if (++s->n_commands > max && max > 0) {
		smtp_close_421(s, "4.7.0", "Error: too many commands");
		return;
	}
	if (smtp_command_parse(line, len, &cmd, &err) < 0) {
		smtp_error(s, err.code, err.enhanced, "%s", err.text);
		smtp_command_free(&cmd);
		return;
	}
	for (size_t i = 0; i < N_ELEMENTS(smtp_commands); i++) {
		if (smtp_commands[i].verb == cmd.verb) {
			smtp_commands[i].handler(s, &cmd);
			smtp_command_free(&cmd);
			return;
		}
	}
	smtp_error(s, 502, "5.5.1", "Error: command not implemented");
	smtp_command_free(&cmd);
}

/* Handles everything that is complete in the input buffer. */
static void process_input(struct smtp_session *s)
{
	struct buf *in = conn_input(s->conn);
	while (s->conn != NULL && !conn_closing(s->conn)) {
		if (s->phase == SMTP_PHASE_DATA || s->phase == SMTP_PHASE_BDAT) {
			if (!smtp_data_input(s, in))
				return;
			continue;
		}
		if ((s->phase != SMTP_PHASE_COMMANDS && s->phase != SMTP_PHASE_AUTH) ||
		    in->len == 0)
			return;
		char *line;
		size_t line_len;
		enum line_take r = line_take(in, SMTP_COMMAND_LINE_MAX, &s->discard_line,
					     &line, &line_len);
		if (r == LINE_WAIT)
			return;
		if (r == LINE_OVERLONG) {
			smtp_error(s, 500, "5.5.0", "Error: line too long");
			continue;
		}
		if (s->phase == SMTP_PHASE_AUTH)
			smtp_auth_line(s, line, line_len);
		else
			dispatch(s, line, line_len);
		free(line);
	}
}

static void smtp_on_input(struct conn *c, void *ctx)
{
	(void)c;
	process_input(ctx);
}

void smtp_session_resume(struct smtp_session *s)
{
	if (s->conn == NULL || conn_closing(s->conn))
		return;
	conn_resume(s->conn);
}
