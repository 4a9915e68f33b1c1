/* imap_cmd_capability.c — IMAP CAPABILITY (RFC 9051 6.1.1).
 * Runs in the mail workers. */
#include <stdlib.h>
#include "imap_commands.h"

enum imap_cmd_result imap_cmd_capability(struct imap_cmd *cmd)
{
	if (cmd->n_args != 0)
		return imap_cmd_bad(cmd, "CAPABILITY takes no arguments");
	struct buf b = BUF_INIT;
	buf_append_str(&b, "* CAPABILITY ");
	imap_session_capabilities(cmd->s, &b);
	buf_append_str(&b, "\r\n");
	imap_write(cmd->s, b.data, b.len);
	buf_free(&b);
	return imap_cmd_ok(cmd, "Capability completed");
}
