/* imap_cmd_store.c — IMAP STORE (RFC 9051 6.4.6) with CONDSTORE
 * UNCHANGEDSINCE and MODIFIED (RFC 7162 3.1.3). Flags go to the index
 * and the Maildir file names in one transaction. Runs in the mail
 * workers. Parses client input. */
#include "imap_commands.h"
#include "imap_seqset.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct store_ctx {
	struct imap_cmd *cmd;
	bool silent;
	struct buf out;
	uint32_t *failed;
	size_t n_failed;
	uint64_t max_modseq;
	bool changed;
};

static void flags_cb(void *ctx, uint32_t uid, uint32_t flags, uint64_t keywords,
		     uint64_t modseq, bool changed, bool failed)
{
	struct store_ctx *c = ctx;
	struct imap_session *s = c->cmd->s;
	if (failed) {
		c->failed = x_reallocarray(c->failed, c->n_failed + 1, sizeof(uint32_t));
		c->failed[c->n_failed++] = c->cmd->uid ? uid : store_view_msn(s->view, uid);
		return;
	}
	if (changed) {
		c->changed = true;
		if (modseq > c->max_modseq)
			c->max_modseq = modseq;
		store_view_set_flags(s->view, uid, flags, keywords);
	}
	bool condstore = imap_session_condstore(s);
	if (c->silent && !(condstore && changed))
		return;
	uint32_t msn = store_view_msn(s->view, uid);
	buf_appendf(&c->out, "* %u FETCH (", msn);
	if (c->cmd->uid || (s->enabled & IMAP_ENABLED_QRESYNC))
		buf_appendf(&c->out, "UID %u ", uid);
	if (!c->silent) {
		buf_append_str(&c->out, "FLAGS ");
		imap_append_flags(s, &c->out, flags, keywords, store_view_is_recent(s->view, uid));
		if (condstore)
			buf_append_char(&c->out, ' ');
	}
	if (condstore)
		buf_appendf(&c->out, "MODSEQ (%llu)", (unsigned long long)modseq);
	if (c->out.data[c->out.len - 1] == ' ')
		c->out.len--;
	buf_append_str(&c->out, ")\r\n");
}

enum imap_cmd_result imap_cmd_store(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->s;
	const struct imap_arg *args = cmd->args;
	size_t n = cmd->n_args, i = 1;
	uint64_t unchangedsince = 0;
	const struct imap_arg *list;
	size_t ln;
	if (n < 3)
		return imap_cmd_bad(cmd, "STORE needs a message set, an item and flags");
	if (imap_arg_list(&args[1], &list, &ln)) {
		if (ln != 2 || !imap_arg_atom_is(&list[0], "UNCHANGEDSINCE") ||
		    imap_arg_atom(&list[1]) == NULL ||
		    str_to_uint64(list[1].str, &unchangedsince) < 0)
			return imap_cmd_bad(cmd, "Invalid STORE modifier");
		s->condstore_used = true;
		i++;
	}
	const char *item = imap_arg_atom(&args[i]);
	if (item == NULL)
		return imap_cmd_bad(cmd, "Invalid STORE item");
	struct store_flag_change change;
	memset(&change, 0, sizeof(change));
	change.mode = STORE_MODIFY_REPLACE;
	if (*item == '+') {
		change.mode = STORE_MODIFY_ADD;
		item++;
	} else if (*item == '-') {
		change.mode = STORE_MODIFY_REMOVE;
		item++;
	}
	bool silent;
	if (strcasecmp(item, "FLAGS") == 0)
		silent = false;
	else if (strcasecmp(item, "FLAGS.SILENT") == 0)
		silent = true;
	else
		return imap_cmd_bad(cmd, "Invalid STORE item");
	i++;
	const struct imap_arg *flags_args = &args[i];
	size_t n_flags = n - i;
	if (n_flags == 1 && imap_arg_list(&args[i], &list, &ln)) {
		flags_args = list;
		n_flags = ln;
	}
	uint32_t flags;
	const char **keywords;
	size_t n_keywords;
	if (imap_cmd_parse_flags(cmd, flags_args, n_flags, &flags, &keywords, &n_keywords) < 0)
		return IMAP_CMD_DONE;
	if (s->view->readonly) {
		free(keywords);
		return imap_cmd_no(cmd, "[READ-ONLY] Mailbox is read-only");
	}
	uint32_t *uids;
	size_t nuids;
	if (imap_cmd_uidset(cmd, imap_arg_atom(&args[0]), cmd->uid, &uids, &nuids) < 0) {
		free(keywords);
		return IMAP_CMD_DONE;
	}
	/* Report others' changes first, so our own modseq can be taken as
	 * seen afterwards. */
	imap_session_update(s, cmd->uid);
	uint64_t before = s->view->modseq;
	change.flags = flags;
	change.keywords = keywords;
	change.n_keywords = n_keywords;
	change.unchangedsince = (args[1].type == IMAP_ARG_LIST) ? unchangedsince : 0;
	struct store_ctx c = { .cmd = cmd, .silent = silent };
	buf_init(&c.out);
	/* UNCHANGEDSINCE 0 must refuse every message that has a modseq. */
	if (args[1].type == IMAP_ARG_LIST && unchangedsince == 0) {
		for (size_t k = 0; k < nuids; k++) {
			c.failed = x_reallocarray(c.failed, c.n_failed + 1, sizeof(uint32_t));
			c.failed[c.n_failed++] = cmd->uid ? uids[k] : store_view_msn(s->view, uids[k]);
		}
		nuids = 0;
	}
	int r = nuids > 0 ? store_msg_update_flags(s->view->mb, uids, nuids, &change, flags_cb, &c) : 0;
	free(uids);
	free(keywords);
	if (r < 0) {
		buf_free(&c.out);
		free(c.failed);
		if (c.changed)
			(void)store_view_reload_flags(s->view);
		return imap_cmd_store_error(cmd);
	}
	/* New keywords must be announced (FLAGS) before they are used. */
	const struct strv *kw = store_mailbox_keywords(s->view->mb);
	if (kw->n != s->keywords_sent)
		imap_send_flags_lines(s);
	if (c.out.len > 0)
		imap_write(s, c.out.data, c.out.len);
	buf_free(&c.out);
	if (c.changed && c.max_modseq == before + 1)
		store_view_caught_up(s->view, c.max_modseq);
	if (c.n_failed > 0) {
		struct buf b = BUF_INIT;
		imap_seqset_write(&b, c.failed, c.n_failed);
		free(c.failed);
		enum imap_cmd_result res = imap_cmd_ok(cmd, "[MODIFIED %s] Conditional STORE failed",
						       b.data);
		buf_free(&b);
		return res;
	}
	return imap_cmd_ok(cmd, "STORE completed");
}
