/* imap_cmd_copy.c — IMAP COPY and MOVE (RFC 9051 6.4.7, 6.4.8; RFC 6851)
 * with UIDPLUS COPYUID. The store hard-links the files, fsyncs the
 * target directory in the thread pool, and for MOVE expunges the
 * originals. Runs in the mail workers. Parses client input. */
#include "imap_commands.h"
#include "imap_seqset.h"

#include <stdlib.h>

struct copy_cmd {
	struct store_mailbox *dst;
	uint32_t *uids;
	bool move;
};

static void copy_ctx_free(struct imap_cmd *cmd)
{
	struct copy_cmd *c = cmd->ctx;
	store_mailbox_close(&c->dst);
	free(c->uids);
	free(c);
}

static void copied_reply(void *ctx, const uint32_t *src, const uint32_t *dst, size_t n,
			 enum store_error error)
{
	struct imap_cmd *cmd = ctx;
	struct copy_cmd *c = cmd->ctx;
	struct imap_session *s = cmd->s;
	if (error != STORE_ERR_NONE) {
		if (error == STORE_ERR_OVERQUOTA)
			imap_cmd_no(cmd, "[OVERQUOTA] Quota exceeded");
		else
			imap_cmd_no(cmd, "[UNAVAILABLE] Cannot copy now, try again later");
		imap_cmd_done(cmd);
		return;
	}
	struct buf b = BUF_INIT;
	if (n > 0) {
		buf_appendf(&b, "COPYUID %u ", store_mailbox_uidvalidity(c->dst));
		imap_seqset_write(&b, src, n);
		buf_append_char(&b, ' ');
		imap_seqset_write(&b, dst, n);
	}
	if (c->move) {
		if (n > 0)
			imap_printf(s, "* OK [%s] Moved\r\n", b.data);
		imap_cmd_ok(cmd, "MOVE completed");
	} else if (n > 0) {
		imap_cmd_ok(cmd, "[%s] COPY completed", b.data);
	} else {
		imap_cmd_ok(cmd, "No messages copied");
	}
	buf_free(&b);
	imap_cmd_done(cmd);
}

static void copied_cb(void *ctx, const uint32_t *src, const uint32_t *dst, size_t n,
		      enum store_error error)
{
	struct imap_cmd *cmd = ctx;
	struct conn *conn = cmd->s->conn;
	conn_cork(conn);	/* untagged lines and the tagged reply in one write */
	copied_reply(ctx, src, dst, n, error);
	conn_uncork(conn);
}

static enum imap_cmd_result copy_run(struct imap_cmd *cmd, bool move)
{
	struct imap_session *s = cmd->s;
	if (cmd->n_args != 2)
		return imap_cmd_bad(cmd, "Needs a message set and a mailbox");
	if (move && s->view->readonly)
		return imap_cmd_no(cmd, "[READ-ONLY] Mailbox is read-only");
	uint32_t *uids;
	size_t n;
	if (imap_cmd_uidset(cmd, imap_arg_atom(&cmd->args[0]), cmd->uid, &uids, &n) < 0)
		return IMAP_CMD_DONE;
	char *name = imap_cmd_mailbox_arg(cmd, &cmd->args[1]);
	if (name == NULL) {
		free(uids);
		return IMAP_CMD_DONE;
	}
	struct store_mailbox *dst;
	int r = store_mailbox_open(s->store, name, &dst);
	free(name);
	if (r < 0) {
		free(uids);
		if (store_user_error(s->store) == STORE_ERR_NONEXISTENT)
			return imap_cmd_no(cmd, "[TRYCREATE] Mailbox doesn't exist");
		return imap_cmd_store_error(cmd);
	}
	/* Messages expunged by another session cannot be copied. */
	size_t w = 0;
	bool gone = false;
	for (size_t i = 0; i < n; i++) {
		if (store_view_is_expunged(s->view, uids[i]))
			gone = true;
		else
			uids[w++] = uids[i];
	}
	n = w;
	if (gone && n == 0) {
		free(uids);
		store_mailbox_close(&dst);
		return imap_cmd_no(cmd, "[EXPUNGEISSUED] Some of the messages no longer exist");
	}
	struct copy_cmd *c = x_calloc(1, sizeof(*c));
	c->dst = dst;
	c->uids = uids;
	c->move = move;
	cmd->ctx = c;
	cmd->ctx_free = copy_ctx_free;
	store_msg_copy(s->view->mb, uids, n, dst, move, copied_cb, cmd);
	return IMAP_CMD_ASYNC;
}

enum imap_cmd_result imap_cmd_copy(struct imap_cmd *cmd)
{
	return copy_run(cmd, false);
}

enum imap_cmd_result imap_cmd_move(struct imap_cmd *cmd)
{
	return copy_run(cmd, true);
}
