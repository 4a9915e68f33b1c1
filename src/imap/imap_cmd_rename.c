/* imap_cmd_rename.c — IMAP RENAME (RFC 9051 6.3.6), INBOX included.
 * Runs in the mail workers. Parses client input. */
#include "imap_commands.h"

#include <stdlib.h>

enum imap_cmd_result imap_cmd_rename(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	if (cmd->n_args != 2)
		return imap_cmd_bad(cmd, "RENAME needs two mailbox names");
	char *from = imap_cmd_mailbox_arg(cmd, &cmd->args[0]);
	if (from == NULL)
		return IMAP_CMD_DONE;
	char *to = imap_cmd_mailbox_arg(cmd, &cmd->args[1]);
	if (to == NULL) {
		free(from);
		return IMAP_CMD_DONE;
	}
	int r = store_mailbox_rename(s->store, from, to);
	free(from);
	free(to);
	if (r < 0)
		return imap_cmd_store_error(cmd);
	return imap_cmd_ok(cmd, "Rename completed");
}
