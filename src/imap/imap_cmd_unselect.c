/* imap_cmd_unselect.c — IMAP UNSELECT (RFC 3691): leaves the mailbox
 * without expunging. Runs in the mail workers. */
#include "imap_commands.h"

enum imap_cmd_result imap_cmd_unselect(struct imap_cmd *cmd)
{
	if (cmd->n_args != 0)
		return imap_cmd_bad(cmd, "UNSELECT takes no arguments");
	imap_session_unselect(cmd->s);
	imap_cmd_reply(cmd, "OK", "UNSELECT completed");
	return IMAP_CMD_DONE;
}
