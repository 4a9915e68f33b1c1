/* imap_login.c — finishing a login: account look-up, store open,
 * state change, capability reply. Runs in the mail workers. */
#include "imap_login.h"
#include "log.h"

#include <stdlib.h>

static void opened_cb(struct store_user *user, const char *error, void *ctx)
{
	struct imap_cmd *cmd = ctx;
	struct imap_session *s = cmd->s;
	s->open_req = NULL;
	if (error != NULL) {
		log_error("imap[%s]: %s: cannot open the mail store: %s", s->id, s->user, error);
		x_free(&s->user);
		imap_cmd_reply(cmd, "NO", "[UNAVAILABLE] Mail store unavailable, try again later");
		imap_cmd_done(cmd);
		return;
	}
	if (store_session_slot(user, (unsigned)s->server->cfg->imap_max_user_connections,
			       &s->slot) < 0) {
		bool limit = store_user_error(user) == STORE_ERR_LIMIT;
		log_info("imap[%s]: %s: %s", s->id, s->user, store_user_error_text(user));
		store_user_unref(&user);
		x_free(&s->user);
		imap_cmd_reply(cmd, "NO", limit ? "[LIMIT] Too many connections for this account" :
			       "[UNAVAILABLE] Mail store unavailable, try again later");
		imap_cmd_done(cmd);
		return;
	}
	s->store = user;
	s->state = IMAP_STATE_AUTH;
	conn_set_timeout(s->conn, s->server->cfg->imap_timeout * 1000);
	bool via = s->origin_ip[0] != '\0';
	log_info("imap[%s]: logged in %s from %s%s%s", s->id, s->user, imap_session_client_ip(s),
		 via ? " via " : "", via ? conn_peer_ip(s->conn) : "");
	struct buf b = BUF_INIT;
	imap_session_capabilities(s, &b);
	imap_cmd_reply(cmd, "OK", "[CAPABILITY %s] Logged in", buf_cstr(&b));
	buf_free(&b);
	imap_cmd_done(cmd);
}

void imap_login_finish(struct imap_cmd *cmd, const char *user)
{
	struct imap_session *s = cmd->s;
	char *maildir = NULL;
	uint64_t quota = 0;
	int r = s->server->backend.lookup(s->server->backend.ctx, user, &maildir, &quota);
	if (r <= 0) {
		if (r == 0)
			log_warn("imap[%s]: %s authenticated but has no mailbox", s->id, user);
		imap_cmd_reply(cmd, "NO", "[UNAVAILABLE] Account unavailable, try again later");
		imap_cmd_done(cmd);
		return;
	}
	s->user = x_strdup(user);
	s->open_req = store_user_open(s->server->loop, user, maildir, quota, opened_cb, cmd);
	free(maildir);
}

void imap_login_failed(struct imap_cmd *cmd, enum auth_verdict verdict)
{
	switch (verdict) {
	case AUTH_BLOCKED:
		imap_cmd_reply(cmd, "NO", "[UNAVAILABLE] Too many failed logins, try again later");
		break;
	case AUTH_TEMPFAIL:
		imap_cmd_reply(cmd, "NO", "[UNAVAILABLE] Authentication service unavailable");
		break;
	default:
		imap_cmd_reply(cmd, "NO", "[AUTHENTICATIONFAILED] Authentication failed");
		break;
	}
	/* The auth process logs the failure with the address it counted;
	 * this line adds the proxy that address came through. */
	if (cmd->s->origin_ip[0] != '\0')
		log_info("imap[%s]: login failed from %s via %s", cmd->s->id, cmd->s->origin_ip,
			 conn_peer_ip(cmd->s->conn));
	cmd->s->errors++;
	imap_cmd_done(cmd);
}
