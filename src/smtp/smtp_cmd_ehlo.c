/* smtp_cmd_ehlo.c — HELO and EHLO: greet, reset the transaction, and
 * list the ESMTP extensions. Runs in the workers. */
#include "smtp_session.h"

#include <stdlib.h>

static void greet(struct smtp_session *s, struct smtp_command *cmd, bool esmtp)
{
	smtp_txn_reset(s);
	free(s->helo);
	s->helo = x_strndup(cmd->arg, 255);
	s->esmtp = esmtp;
}

void smtp_cmd_helo(struct smtp_session *s, struct smtp_command *cmd)
{
	greet(s, cmd, false);
	conn_printf(s->conn, "250 %s\r\n", s->env->cfg->hostname);
}

void smtp_cmd_ehlo(struct smtp_session *s, struct smtp_command *cmd)
{
	greet(s, cmd, true);
	const struct config *cfg = s->env->cfg;
	struct buf r = BUF_INIT;
	buf_appendf(&r, "250-%s\r\n", cfg->hostname);
	buf_appendf(&r, "250-PIPELINING\r\n");
	buf_appendf(&r, "250-SIZE %llu\r\n", (unsigned long long)cfg->message_size_limit);
	if (!s->tls)
		buf_appendf(&r, "250-STARTTLS\r\n");
	const char *mechs = smtp_auth_mechanisms(s);
	if (mechs != NULL)
		buf_appendf(&r, "250-AUTH %s\r\n", mechs);
	buf_appendf(&r, "250-ENHANCEDSTATUSCODES\r\n");
	buf_appendf(&r, "250-8BITMIME\r\n");
	buf_appendf(&r, "250-DSN\r\n");
	buf_appendf(&r, "250-SMTPUTF8\r\n");
	buf_appendf(&r, "250 CHUNKING\r\n");
	conn_write(s->conn, r.data, r.len);
	buf_free(&r);
}
