/* imap_cmd_logout.c — IMAP LOGOUT (RFC 9051 6.1.3).
 * Runs in the mail workers. */
#include "imap_commands.h"

enum imap_cmd_result imap_cmd_logout(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	if (cmd->n_args != 0)
		return imap_cmd_bad(cmd, "LOGOUT takes no arguments");
	imap_write(s, "* BYE Logging out\r\n", 19);
	imap_cmd_reply(cmd, "OK", "Logout completed");
	s->state = IMAP_STATE_LOGOUT;
	s->closing = true;
	conn_close(s->conn);
	return IMAP_CMD_DONE;
}
