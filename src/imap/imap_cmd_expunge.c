/* imap_cmd_expunge.c — IMAP EXPUNGE (RFC 9051 6.4.3) and UID EXPUNGE
 * (RFC 4315): removes \Deleted messages (of the UID set); the EXPUNGE
 * or VANISHED replies come from the view update before the OK. Runs in
 * the mail workers. Parses client input. */
#include "imap_commands.h"

#include <stdlib.h>
#include <string.h>

enum imap_cmd_result imap_cmd_expunge(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	struct store_view *v = s->view;
	if (cmd->uid != (cmd->n_args == 1))
		return imap_cmd_bad(cmd, "Invalid EXPUNGE arguments");
	if (v->readonly)
		return imap_cmd_no(cmd, "[READ-ONLY] Mailbox is read-only");
	uint32_t *uids = NULL;
	size_t n = 0;
	if (cmd->uid) {
		if (imap_cmd_uidset(cmd, imap_arg_atom(&cmd->args[0]), true, &uids, &n) < 0)
			return IMAP_CMD_DONE;
	} else if (v->count > 0) {
		n = v->count;
		uids = x_calloc(n, sizeof(uint32_t));
		memcpy(uids, v->uids, n * sizeof(uint32_t));
	}
	int r = n > 0 ? store_msg_expunge(v->mb, uids, n, true, NULL, NULL) : 0;
	free(uids);
	if (r < 0)
		return imap_cmd_store_error(cmd);
	return imap_cmd_ok(cmd, "EXPUNGE completed");
}
