/* imap_cmd_namespace.c — IMAP NAMESPACE (RFC 2342): one personal
 * namespace with prefix "" and separator ".". Runs in the mail workers. */
#include "imap_commands.h"

enum imap_cmd_result imap_cmd_namespace(struct imap_cmd *cmd)
{
	if (cmd->n_args != 0)
		return imap_cmd_bad(cmd, "NAMESPACE takes no arguments");
	imap_write(cmd->s, "* NAMESPACE ((\"\" \".\")) NIL NIL\r\n", 32);
	return imap_cmd_ok(cmd, "NAMESPACE completed");
}
