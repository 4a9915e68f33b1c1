/* imap_cmd_quota.c — IMAP QUOTA (RFC 9208): one quota root "" per
 * account with the STORAGE resource from the account's configured limit;
 * SETQUOTA is refused (limits are set with `correu user quota`). Runs in
 * the mail workers. Parses client input. */
#include "imap_commands.h"

#include <stdlib.h>
#include <string.h>

static int quota_line(struct imap_session *s, struct buf *b)
{
	uint64_t limit = store_user_quota(s->store), used = 0;
	if (limit == 0)
		return 0;
	if (store_user_usage(s->store, &used, NULL) < 0)
		return -1;
	buf_appendf(b, "* QUOTA \"\" (STORAGE %llu %llu)\r\n",
		    (unsigned long long)((used + 1023) / 1024), (unsigned long long)(limit / 1024));
	return 1;
}

enum imap_cmd_result imap_cmd_getquota(struct imap_cmd *cmd)
{
	const char *root = cmd->n_args == 1 ? imap_arg_astring(&cmd->args[0]) : NULL;
	if (root == NULL)
		return imap_cmd_bad(cmd, "GETQUOTA needs a quota root");
	struct buf b = BUF_INIT;
	int r = root[0] == '\0' ? quota_line(cmd->s, &b) : 0;
	if (r < 0) {
		buf_free(&b);
		return imap_cmd_store_error(cmd);
	}
	if (r == 0) {
		buf_free(&b);
		return imap_cmd_no(cmd, "[NONEXISTENT] No such quota root");
	}
	imap_write(cmd->s, b.data, b.len);
	buf_free(&b);
	return imap_cmd_ok(cmd, "GETQUOTA completed");
}

enum imap_cmd_result imap_cmd_getquotaroot(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	if (cmd->n_args != 1)
		return imap_cmd_bad(cmd, "GETQUOTAROOT needs a mailbox");
	char *name = imap_cmd_mailbox_arg(cmd, &cmd->args[0]);
	if (name == NULL)
		return IMAP_CMD_DONE;
	struct store_mailbox *mb;
	if (store_mailbox_open(s->store, name, &mb) < 0) {
		free(name);
		return imap_cmd_store_error(cmd);
	}
	store_mailbox_close(&mb);
	struct buf b = BUF_INIT, q = BUF_INIT;
	int r = quota_line(s, &q);
	buf_append_str(&b, "* QUOTAROOT ");
	imap_append_mailbox(s, &b, name);
	if (r > 0)
		buf_append_str(&b, " \"\"");
	buf_append_str(&b, "\r\n");
	buf_append(&b, q.data != NULL ? q.data : "", q.len);
	imap_write(s, b.data, b.len);
	buf_free(&b);
	buf_free(&q);
	free(name);
	if (r < 0)
		return imap_cmd_store_error(cmd);
	return imap_cmd_ok(cmd, "GETQUOTAROOT completed");
}

enum imap_cmd_result imap_cmd_setquota(struct imap_cmd *cmd)
{
	if (cmd->n_args != 2)
		return imap_cmd_bad(cmd, "SETQUOTA needs a root and resources");
	return imap_cmd_no(cmd, "[NOPERM] Quotas are set by the administrator");
}
