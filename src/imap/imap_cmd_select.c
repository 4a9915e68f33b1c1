/* imap_cmd_select.c — IMAP SELECT and EXAMINE (RFC 9051 6.3.2, 6.3.3)
 * with CONDSTORE and QRESYNC parameters (RFC 7162 3.2.5): opens the
 * session's view and reports its state, and for QRESYNC what changed
 * since the client's last visit. Runs in the mail workers. Parses
 * client input. */
#include "imap_commands.h"
#include "imap_seqset.h"

#include <stdlib.h>
#include <string.h>

struct qresync {
	bool given;
	uint32_t uidvalidity;
	uint64_t modseq;
	struct imap_seqset known;	/* empty = all */
};

static int parse_u64(const char *s, uint64_t *v_r)
{
	return s != NULL && str_to_uint64(s, v_r) == 0 ? 0 : -1;
}

static int parse_params(struct imap_cmd *cmd, const struct imap_arg *list, size_t n,
			bool *condstore_r, struct qresync *q)
{
	for (size_t i = 0; i < n; i++) {
		const struct imap_arg *ql;
		size_t qn;
		if (imap_arg_atom_is(&list[i], "CONDSTORE")) {
			*condstore_r = true;
		} else if (imap_arg_atom_is(&list[i], "QRESYNC") && i + 1 < n &&
			   imap_arg_list(&list[i + 1], &ql, &qn)) {
			i++;
			if ((cmd->s->enabled & IMAP_ENABLED_QRESYNC) == 0) {
				imap_cmd_bad(cmd, "QRESYNC is not enabled");
				return -1;
			}
			uint64_t uv, ms;
			if (qn < 2 || qn > 4 || parse_u64(imap_arg_atom(&ql[0]), &uv) < 0 ||
			    parse_u64(imap_arg_atom(&ql[1]), &ms) < 0 || uv == 0 || uv > UINT32_MAX) {
				imap_cmd_bad(cmd, "Invalid QRESYNC parameters");
				return -1;
			}
			q->given = true;
			q->uidvalidity = (uint32_t)uv;
			q->modseq = ms;
			if (qn >= 3 && ql[2].type == IMAP_ARG_ATOM) {
				if (imap_seqset_parse(ql[2].str, 100000, &q->known) < 0) {
					imap_cmd_bad(cmd, "Invalid known UIDs");
					return -1;
				}
				imap_seqset_normalize(&q->known, UINT32_MAX - 1);
			}
		} else {
			imap_cmd_bad(cmd, "Unknown SELECT parameter");
			return -1;
		}
	}
	return 0;
}

static bool known(const struct qresync *q, uint32_t uid)
{
	return q->known.n == 0 || imap_seqset_contains(&q->known, uid);
}

static void send_qresync(struct imap_session *s, struct qresync *q, uint32_t uidnext)
{
	struct store_view *v = s->view;
	uint32_t *gone = NULL;
	size_t n_gone = 0;
	bool complete = true;
	if (store_mailbox_expunged_since(v->mb, q->modseq, &gone, &n_gone, &complete) < 0)
		return;
	uint32_t *out = NULL;
	size_t n_out = 0;
	if (complete) {
		out = x_calloc(n_gone + 1, sizeof(uint32_t));
		for (size_t i = 0; i < n_gone; i++)
			if (known(q, gone[i]))
				out[n_out++] = gone[i];
	} else {
		/* No history that far back: every known UID not present. */
		size_t cap = 0;
		for (size_t r = 0; r < (q->known.n > 0 ? q->known.n : 1); r++) {
			uint32_t lo = q->known.n > 0 ? q->known.r[r].lo : 1;
			uint32_t hi = q->known.n > 0 ? q->known.r[r].hi : uidnext - 1;
			if (hi >= uidnext)
				hi = uidnext - 1;
			for (uint64_t u = lo; u <= hi && n_out < 1000000; u++) {
				if (store_view_msn(v, (uint32_t)u) != 0)
					continue;
				if (n_out == cap) {
					cap = cap == 0 ? 64 : cap * 2;
					out = x_reallocarray(out, cap, sizeof(uint32_t));
				}
				out[n_out++] = (uint32_t)u;
			}
		}
	}
	if (n_out > 0) {
		struct buf b = BUF_INIT;
		buf_append_str(&b, "* VANISHED (EARLIER) ");
		imap_seqset_write(&b, out, n_out);
		buf_append_str(&b, "\r\n");
		imap_write(s, b.data, b.len);
		buf_free(&b);
	}
	free(out);
	free(gone);
	/* Messages changed since the client's modseq. */
	struct store_msg_iter it;
	struct store_msg m;
	struct buf b = BUF_INIT;
	store_msg_iter_init_changed(&it, v->mb, q->modseq);
	while (store_msg_iter_next(&it, &m)) {
		uint32_t msn = store_view_msn(v, m.uid);
		if (msn == 0)
			continue;
		buf_reset(&b);
		buf_appendf(&b, "* %u FETCH (UID %u FLAGS ", msn, m.uid);
		imap_append_flags(s, &b, m.flags, m.keywords, store_view_is_recent(v, m.uid));
		buf_appendf(&b, " MODSEQ (%llu))\r\n", (unsigned long long)m.modseq);
		imap_write(s, b.data, b.len);
	}
	(void)store_msg_iter_deinit(&it);
	buf_free(&b);
}

static enum imap_cmd_result select_run(struct imap_cmd *cmd, bool readonly)
{
	struct imap_session *s = cmd->s;
	const struct imap_arg *list = NULL;
	size_t n = 0;
	bool condstore = false;
	struct qresync q;
	memset(&q, 0, sizeof(q));
	if (cmd->n_args < 1 || cmd->n_args > 2 ||
	    (cmd->n_args == 2 && !imap_arg_list(&cmd->args[1], &list, &n)))
		return imap_cmd_bad(cmd, "Invalid SELECT arguments");
	if (parse_params(cmd, list, n, &condstore, &q) < 0) {
		imap_seqset_free(&q.known);
		return IMAP_CMD_DONE;
	}
	char *name = imap_cmd_mailbox_arg(cmd, &cmd->args[0]);
	if (name == NULL) {
		imap_seqset_free(&q.known);
		return IMAP_CMD_DONE;
	}
	bool was_selected = s->view != NULL;
	imap_session_unselect(s);
	if (was_selected && (s->enabled & (IMAP_ENABLED_QRESYNC | IMAP_ENABLED_REV2)))
		imap_write_str(s, "* OK [CLOSED] Previous mailbox closed\r\n");
	if (condstore)
		s->condstore_used = true;
	struct store_mailbox *mb;
	struct store_view *view;
	if (store_mailbox_open(s->store, name, &mb) < 0) {
		free(name);
		imap_seqset_free(&q.known);
		return imap_cmd_store_error(cmd);
	}
	free(name);
	if (store_view_open(mb, readonly, &view) < 0) {
		store_mailbox_close(&mb);
		imap_seqset_free(&q.known);
		return imap_cmd_store_error(cmd);
	}
	s->view = view;
	s->state = IMAP_STATE_SELECTED;
	struct store_mailbox_info info;
	if (store_mailbox_info_get(mb, &info) < 0) {
		imap_session_unselect(s);
		imap_seqset_free(&q.known);
		return imap_cmd_store_error(cmd);
	}
	imap_send_flags_lines(s);
	struct buf b = BUF_INIT;
	buf_appendf(&b, "* %u EXISTS\r\n", view->count);
	s->exists_sent = view->count;
	if ((s->enabled & IMAP_ENABLED_REV2) == 0) {
		s->recent_sent = store_view_recent_count(view);
		buf_appendf(&b, "* %u RECENT\r\n", s->recent_sent);
		uint32_t unseen_uid;
		if (store_mailbox_first_unseen(mb, &unseen_uid) == 0 && unseen_uid != 0) {
			uint32_t msn = store_view_msn(view, unseen_uid);
			if (msn != 0)
				buf_appendf(&b, "* OK [UNSEEN %u] First unseen\r\n", msn);
		}
	}
	buf_appendf(&b, "* OK [UIDVALIDITY %u] UIDs valid\r\n", info.uidvalidity);
	buf_appendf(&b, "* OK [UIDNEXT %u] Predicted next UID\r\n", info.uidnext);
	buf_appendf(&b, "* OK [HIGHESTMODSEQ %llu] Highest\r\n",
		    (unsigned long long)view->modseq);
	buf_appendf(&b, "* OK [MAILBOXID (%s)] Ok\r\n", info.guid);
	if (s->enabled & IMAP_ENABLED_REV2) {
		buf_append_str(&b, "* LIST () \".\" ");
		imap_append_mailbox(s, &b, info.name);
		buf_append_str(&b, "\r\n");
	}
	imap_write(s, b.data, b.len);
	buf_free(&b);
	if (q.given && q.uidvalidity == info.uidvalidity)
		send_qresync(s, &q, info.uidnext);
	free(info.name);
	imap_seqset_free(&q.known);
	imap_cmd_reply(cmd, "OK", "[%s] %s completed", readonly ? "READ-ONLY" : "READ-WRITE",
		       readonly ? "EXAMINE" : "SELECT");
	return IMAP_CMD_DONE;
}

enum imap_cmd_result imap_cmd_select(struct imap_cmd *cmd)
{
	return select_run(cmd, false);
}

enum imap_cmd_result imap_cmd_examine(struct imap_cmd *cmd)
{
	return select_run(cmd, true);
}
