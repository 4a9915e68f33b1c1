/* imap_cmd_status.c — IMAP STATUS (RFC 9051 6.3.11) with SIZE (RFC
 * 8438), HIGHESTMODSEQ, MAILBOXID, APPENDLIMIT. Runs in the mail
 * workers. Parses client input. */
#include "imap_commands.h"
#include "imap_status.h"

#include <stdlib.h>

enum imap_cmd_result imap_cmd_status(struct imap_cmd *cmd)
{
	const struct imap_arg *list;
	size_t n;
	if (cmd->n_args != 2 || !imap_arg_list(&cmd->args[1], &list, &n) || n == 0)
		return imap_cmd_bad(cmd, "STATUS needs a mailbox and a list of items");
	unsigned items;
	if (imap_status_parse_items(cmd, list, n, &items) < 0)
		return IMAP_CMD_DONE;
	char *name = imap_cmd_mailbox_arg(cmd, &cmd->args[0]);
	if (name == NULL)
		return IMAP_CMD_DONE;
	int r = imap_status_send(cmd->s, name, items);
	free(name);
	if (r < 0)
		return imap_cmd_store_error(cmd);
	return imap_cmd_ok(cmd, "STATUS completed");
}
