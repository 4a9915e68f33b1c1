/* imap_cmd_authenticate.c — IMAP AUTHENTICATE (RFC 9051 6.2.2) with
 * SASL-IR (RFC 4959): the base64 exchange is relayed to the auth
 * process, which runs the mechanism. Runs in the mail workers. Parses
 * client input (mechanism name, responses passed through). */
#include "imap_commands.h"
#include "imap_login.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct auth_ctx {
	void *req;
};

static void auth_ctx_free(struct imap_cmd *cmd)
{
	struct auth_ctx *c = cmd->ctx;
	if (c->req != NULL)
		cmd->s->server->backend.cancel(cmd->s->server->backend.ctx, c->req);
	free(c);
}

static void sasl_cb(enum auth_verdict verdict, const char *data, void *ctx);

static void response_line(struct imap_cmd *cmd, const char *line)
{
	struct auth_ctx *c = cmd->ctx;
	struct imap_session *s = cmd->s;
	cmd->on_line = NULL;
	if (line == NULL || strcmp(line, "*") == 0) {
		s->server->backend.cancel(s->server->backend.ctx, c->req);
		c->req = NULL;
		imap_cmd_reply(cmd, "BAD", line == NULL ? "Response too long" :
			       "Authentication aborted");
		s->errors++;
		imap_cmd_done(cmd);
		return;
	}
	conn_pause(s->conn);
	s->server->backend.sasl_continue(s->server->backend.ctx, c->req, line, sasl_cb, cmd);
}

static void sasl_cb(enum auth_verdict verdict, const char *data, void *ctx)
{
	struct imap_cmd *cmd = ctx;
	struct auth_ctx *c = cmd->ctx;
	struct imap_session *s = cmd->s;
	if (verdict == AUTH_CONTINUE) {
		imap_printf(s, "+ %s\r\n", data != NULL ? data : "");
		cmd->on_line = response_line;
		conn_resume(s->conn);
		return;
	}
	c->req = NULL;
	if (verdict != AUTH_OK || data == NULL) {
		imap_login_failed(cmd, verdict);
		return;
	}
	imap_login_finish(cmd, data);
}

enum imap_cmd_result imap_cmd_authenticate(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	if (cmd->n_args < 1 || cmd->n_args > 2)
		return imap_cmd_bad(cmd, "AUTHENTICATE needs a mechanism");
	const char *mech = imap_arg_atom(&cmd->args[0]);
	const char *ir = cmd->n_args == 2 ? imap_arg_astring(&cmd->args[1]) : NULL;
	if (mech == NULL || (cmd->n_args == 2 && ir == NULL))
		return imap_cmd_bad(cmd, "Invalid arguments");
	const char *mechs = s->server->backend.mechanisms(s->server->backend.ctx,
							  imap_session_secured(s));
	bool offered = false;
	if (mechs != NULL) {
		struct strv v;
		strv_init(&v);
		strv_split_ws(&v, mechs);
		offered = strv_contains_icase(&v, mech);
		strv_free(&v);
	}
	if (!offered) {
		if (!imap_session_secured(s))
			return imap_cmd_no(cmd, "[PRIVACYREQUIRED] Use STARTTLS first");
		return imap_cmd_no(cmd, "Unsupported authentication mechanism");
	}
	struct auth_ctx *c = x_calloc(1, sizeof(*c));
	cmd->ctx = c;
	cmd->ctx_free = auth_ctx_free;
	c->req = s->server->backend.sasl_start(s->server->backend.ctx, imap_session_client_ip(s),
					       mech, ir, sasl_cb, cmd);
	return IMAP_CMD_ASYNC;
}
