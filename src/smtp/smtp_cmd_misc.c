/* smtp_cmd_misc.c — RSET, NOOP, QUIT, VRFY, EXPN, HELP and STARTTLS.
 * Runs in the workers. */
#include "smtp_session.h"
#include "log.h"

#include <stdlib.h>

void smtp_cmd_rset(struct smtp_session *s, struct smtp_command *cmd)
{
	(void)cmd;
	smtp_txn_reset(s);
	smtp_reply(s, 250, "2.0.0", "Ok");
}

void smtp_cmd_noop(struct smtp_session *s, struct smtp_command *cmd)
{
	(void)cmd;
	smtp_reply(s, 250, "2.0.0", "Ok");
}

void smtp_cmd_quit(struct smtp_session *s, struct smtp_command *cmd)
{
	(void)cmd;
	smtp_reply(s, 221, "2.0.0", "Bye");
	s->phase = SMTP_PHASE_QUIT;
	conn_close(s->conn);
}

void smtp_cmd_vrfy(struct smtp_session *s, struct smtp_command *cmd)
{
	(void)cmd;
	/* RFC 5321 3.5.3: 252 rather than disclosing accounts. */
	smtp_reply(s, 252, "2.0.0", "Cannot VRFY user, but will accept message and attempt delivery");
}

void smtp_cmd_expn(struct smtp_session *s, struct smtp_command *cmd)
{
	(void)cmd;
	smtp_error(s, 502, "5.5.1", "Error: EXPN not available");
}

void smtp_cmd_help(struct smtp_session *s, struct smtp_command *cmd)
{
	(void)cmd;
	smtp_reply(s, 214, "2.0.0", "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT "
		   "VRFY HELP STARTTLS%s; see RFC 5321", smtp_auth_mechanisms(s) != NULL ? " AUTH" : "");
}

void smtp_cmd_starttls(struct smtp_session *s, struct smtp_command *cmd)
{
	(void)cmd;
	if (s->tls) {
		smtp_error(s, 503, "5.5.1", "Error: TLS already active");
		return;
	}
	if (s->txn != NULL) {
		smtp_error(s, 503, "5.5.1", "Error: STARTTLS not allowed during a mail transaction");
		return;
	}
	smtp_reply(s, 220, "2.0.0", "Ready to start TLS");
	/* RFC 3207 4.2: forget everything learned before TLS; the conn layer
	 * drops any pipelined plaintext. */
	free(s->helo);
	s->helo = NULL;
	s->esmtp = false;
	conn_start_tls_server(s->conn, s->env->tls);
}
