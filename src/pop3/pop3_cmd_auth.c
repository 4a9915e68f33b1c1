/* pop3_cmd_auth.c — USER and PASS (RFC 1939 7) and AUTH (RFC 5034).
 * Passwords and SASL messages go to the auth process through
 * auth_client.h, which applies the shared failure throttle; unknown
 * accounts and wrong passwords get the same reply. Runs in the workers.
 * Parses client input (SASL responses). */
#include "pop3_session.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

static const char *const plaintext_refused =
	"[AUTH] Plaintext authentication disallowed on non-secure connections; use STLS";

/* The verdict on a password or a final SASL step. */
static void auth_done(struct pop3_session *s, enum auth_verdict verdict, const char *user)
{
	s->auth_req = NULL;
	s->sasl_continuing = false;
	x_free(&s->user);
	switch (verdict) {
	case AUTH_OK:
		pop3_maildrop_open(s, user);
		return;
	case AUTH_FAILED:
	case AUTH_CONTINUE:	/* not a final verdict: treat as failure */
		s->phase = POP3_PHASE_COMMANDS;
		pop3_err(s, "[AUTH] Authentication failed.");
		break;
	case AUTH_BLOCKED:
		s->phase = POP3_PHASE_COMMANDS;
		pop3_err(s, "[SYS/TEMP] Too many authentication failures; try again later.");
		break;
	case AUTH_TEMPFAIL:
		s->phase = POP3_PHASE_COMMANDS;
		pop3_err(s, "[SYS/TEMP] Authentication is temporarily unavailable.");
		break;
	}
	pop3_session_resume(s);
}

static void pass_cb(enum auth_verdict verdict, const char *user, void *ctx)
{
	auth_done(ctx, verdict, user);
}

void pop3_cmd_user(struct pop3_session *s, struct pop3_command *cmd)
{
	if (!pop3_auth_allowed(s)) {
		pop3_err(s, "%s", plaintext_refused);
		return;
	}
	free(s->user);
	s->user = x_strdup(cmd->arg);
	pop3_ok(s, "Send your password.");
}

void pop3_cmd_pass(struct pop3_session *s, struct pop3_command *cmd)
{
	if (!pop3_auth_allowed(s)) {
		pop3_err(s, "%s", plaintext_refused);
		return;
	}
	if (s->user == NULL) {
		pop3_err(s, "No user name given (USER first).");
		return;
	}
	s->phase = POP3_PHASE_WAIT;
	conn_pause(s->conn);
	s->auth_req = auth_client_verify(s->env->auth, "pop3", conn_peer_ip(s->conn), s->user,
					 cmd->arg, pass_cb, s);
}

/* ---- SASL ---- */

static void sasl_cb(enum auth_verdict verdict, const char *data, void *ctx)
{
	struct pop3_session *s = ctx;
	if (verdict == AUTH_CONTINUE && data != NULL) {
		/* RFC 5034 4: "+ " and the base64 challenge (may be empty). */
		s->sasl_continuing = true;
		conn_printf(s->conn, "+ %s\r\n", data);
		s->phase = POP3_PHASE_SASL;
		pop3_session_resume(s);
		return;
	}
	auth_done(s, verdict, data);
}

void pop3_cmd_auth(struct pop3_session *s, struct pop3_command *cmd)
{
	const char *mechs = s->env->auth != NULL ?
		auth_client_mechanisms(s->env->auth, pop3_auth_allowed(s)) : NULL;
	if (cmd->arg == NULL) {
		/* Mechanism list, as clients of RFC 1734 ask for it. */
		if (mechs == NULL) {
			pop3_err(s, "%s", plaintext_refused);
			return;
		}
		struct buf out = BUF_INIT;
		buf_append_str(&out, "+OK\r\n");
		struct strv list;
		strv_init(&list);
		strv_split_ws(&list, mechs);
		for (size_t i = 0; i < list.n; i++)
			buf_appendf(&out, "%s\r\n", list.v[i]);
		strv_free(&list);
		buf_append_str(&out, ".\r\n");
		conn_write(s->conn, out.data, out.len);
		buf_free(&out);
		return;
	}
	if (mechs == NULL) {
		pop3_err(s, "%s", plaintext_refused);
		return;
	}
	x_free(&s->user);
	s->phase = POP3_PHASE_WAIT;
	conn_pause(s->conn);
	s->auth_req = auth_client_sasl_start(s->env->auth, "pop3", conn_peer_ip(s->conn),
					     cmd->arg, cmd->arg2, sasl_cb, s);
}

void pop3_sasl_response(struct pop3_session *s, const char *line)
{
	if (line == NULL || strcmp(line, "*") == 0) {
		/* RFC 5034 4: "*" cancels; an over-long line ends it too. */
		if (s->auth_req != NULL)
			auth_request_cancel(s->auth_req);
		s->auth_req = NULL;
		s->sasl_continuing = false;
		s->phase = POP3_PHASE_COMMANDS;
		pop3_err(s, line == NULL ? "[AUTH] Authentication failed: response too long." :
			 "[AUTH] Authentication aborted.");
		return;
	}
	s->sasl_continuing = false;
	s->phase = POP3_PHASE_WAIT;
	conn_pause(s->conn);
	auth_client_sasl_continue(s->auth_req, line, sasl_cb, s);
}

void pop3_auth_free(struct pop3_session *s)
{
	if (s->auth_req != NULL)
		auth_request_cancel(s->auth_req);
	s->auth_req = NULL;
	if (s->user != NULL)
		x_free(&s->user);
}
