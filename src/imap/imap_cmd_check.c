/* imap_cmd_check.c — IMAP4rev1 CHECK (RFC 3501 6.4.1): every change is
 * already durable, so it is a NOOP. Runs in the mail workers. */
#include "imap_commands.h"

enum imap_cmd_result imap_cmd_check(struct imap_cmd *cmd)
{
	if (cmd->n_args != 0)
		return imap_cmd_bad(cmd, "CHECK takes no arguments");
	return imap_cmd_ok(cmd, "CHECK completed");
}
