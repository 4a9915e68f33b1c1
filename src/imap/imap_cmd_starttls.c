/* imap_cmd_starttls.c — IMAP STARTTLS (RFC 9051 6.2.1): the handshake
 * starts once the OK is sent; input already buffered is dropped (it was
 * sent in the clear). Runs in the mail workers. */
#include "imap_commands.h"

enum imap_cmd_result imap_cmd_starttls(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	if (cmd->n_args != 0)
		return imap_cmd_bad(cmd, "STARTTLS takes no arguments");
	if (conn_is_tls(s->conn))
		return imap_cmd_bad(cmd, "TLS is already active");
	if (s->server->tls == NULL)
		return imap_cmd_no(cmd, "TLS is not available");
	imap_cmd_reply(cmd, "OK", "Begin TLS negotiation now");
	conn_start_tls_server(s->conn, s->server->tls);
	return IMAP_CMD_DONE;
}
