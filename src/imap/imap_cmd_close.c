/* imap_cmd_close.c — IMAP CLOSE (RFC 9051 6.4.1): expunges \Deleted
 * messages silently (unless read-only) and leaves the mailbox. Runs in
 * the mail workers. */
#include "imap_commands.h"

#include <stdlib.h>
#include <string.h>

enum imap_cmd_result imap_cmd_close(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	if (cmd->n_args != 0)
		return imap_cmd_bad(cmd, "CLOSE takes no arguments");
	struct store_view *v = s->view;
	if (!v->readonly && v->count > 0) {
		uint32_t *uids = x_calloc(v->count, sizeof(uint32_t));
		memcpy(uids, v->uids, v->count * sizeof(uint32_t));
		(void)store_msg_expunge(v->mb, uids, v->count, true, NULL, NULL);
		free(uids);
	}
	imap_session_unselect(s);
	imap_cmd_reply(cmd, "OK", "CLOSE completed");
	return IMAP_CMD_DONE;
}
