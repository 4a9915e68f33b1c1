/* imap_cmd_noop.c — IMAP NOOP (RFC 9051 6.1.2): a chance for updates.
 * Runs in the mail workers. */
#include "imap_commands.h"

enum imap_cmd_result imap_cmd_noop(struct imap_cmd *cmd)
{
	if (cmd->n_args != 0)
		return imap_cmd_bad(cmd, "NOOP takes no arguments");
	return imap_cmd_ok(cmd, "NOOP completed");
}
