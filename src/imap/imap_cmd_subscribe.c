/* imap_cmd_subscribe.c — IMAP SUBSCRIBE and UNSUBSCRIBE (RFC 9051
 * 6.3.7, 6.3.8). Runs in the mail workers. Parses client input. */
#include "imap_commands.h"

#include <stdlib.h>

static enum imap_cmd_result subscribe(struct imap_cmd *cmd, bool on)
{
	if (cmd->n_args != 1)
		return imap_cmd_bad(cmd, "Needs a mailbox name");
	char *name = imap_cmd_mailbox_arg(cmd, &cmd->args[0]);
	if (name == NULL)
		return IMAP_CMD_DONE;
	int r = store_subscribe(cmd->s->store, name, on);
	free(name);
	if (r < 0)
		return imap_cmd_store_error(cmd);
	return imap_cmd_ok(cmd, on ? "Subscribe completed" : "Unsubscribe completed");
}

enum imap_cmd_result imap_cmd_subscribe(struct imap_cmd *cmd)
{
	return subscribe(cmd, true);
}

enum imap_cmd_result imap_cmd_unsubscribe(struct imap_cmd *cmd)
{
	return subscribe(cmd, false);
}
