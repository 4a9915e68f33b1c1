/* imap_cmd_login.c — IMAP LOGIN (RFC 9051 6.2.3): refused before TLS
 * (LOGINDISABLED) unless plaintext authentication is allowed; the
 * password goes to the auth process. Runs in the mail workers. Parses
 * client input. */
#include <stdlib.h>
#include "imap_commands.h"
#include "imap_login.h"

struct login_ctx {
	void *req;
};

static void login_ctx_free(struct imap_cmd *cmd)
{
	struct login_ctx *c = cmd->ctx;
	if (c->req != NULL)
		cmd->s->server->backend.cancel(cmd->s->server->backend.ctx, c->req);
	free(c);
}

static void verdict_cb(enum auth_verdict verdict, const char *user, void *ctx)
{
	struct imap_cmd *cmd = ctx;
	struct login_ctx *c = cmd->ctx;
	c->req = NULL;
	if (verdict != AUTH_OK || user == NULL) {
		imap_login_failed(cmd, verdict);
		return;
	}
	imap_login_finish(cmd, user);
}

enum imap_cmd_result imap_cmd_login(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	if (cmd->n_args != 2)
		return imap_cmd_bad(cmd, "LOGIN needs a user name and a password");
	const char *user = imap_arg_astring(&cmd->args[0]);
	const char *pass = imap_arg_astring(&cmd->args[1]);
	if (user == NULL || pass == NULL)
		return imap_cmd_bad(cmd, "Invalid arguments");
	if (!imap_session_secured(s))
		return imap_cmd_no(cmd, "[PRIVACYREQUIRED] Use STARTTLS first");
	struct login_ctx *c = x_calloc(1, sizeof(*c));
	cmd->ctx = c;
	cmd->ctx_free = login_ctx_free;
	c->req = s->server->backend.verify(s->server->backend.ctx, imap_session_client_ip(s), user,
					   pass, verdict_cb, cmd);
	return IMAP_CMD_ASYNC;
}
