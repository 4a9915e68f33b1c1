/* smtp_cmd_auth.c — SMTP AUTH (RFC 4954). Authentication is not offered
 * yet: AUTH is not announced in EHLO and the command is refused as RFC
 * 4954 prescribes for servers without it. Runs in the workers. */
#include "smtp_session.h"

void smtp_cmd_auth(struct smtp_session *s, struct smtp_command *cmd)
{
	(void)cmd;
	smtp_error(s, 502, "5.5.1", "Error: authentication not enabled");
}

void smtp_auth_free(struct smtp_session *s)
{
	(void)s;
}

const char *smtp_auth_mechanisms(const struct smtp_session *s)
{
	(void)s;
	return NULL;
}
