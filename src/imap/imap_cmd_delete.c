/* imap_cmd_delete.c — IMAP DELETE (RFC 9051 6.3.5). Runs in the mail
 * workers. Parses client input. */
#include "imap_commands.h"

#include <stdlib.h>
#include <string.h>

enum imap_cmd_result imap_cmd_delete(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	if (cmd->n_args != 1)
		return imap_cmd_bad(cmd, "DELETE needs a mailbox name");
	char *name = imap_cmd_mailbox_arg(cmd, &cmd->args[0]);
	if (name == NULL)
		return IMAP_CMD_DONE;
	if (s->view != NULL && strcmp(store_mailbox_name(s->view->mb), name) == 0) {
		/* Deleting the selected mailbox: leave it first. */
		imap_session_unselect(s);
	}
	int r = store_mailbox_delete(s->store, name);
	free(name);
	if (r < 0)
		return imap_cmd_store_error(cmd);
	return imap_cmd_ok(cmd, "Delete completed");
}
