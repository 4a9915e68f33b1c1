/* imap_update.c — unsolicited responses for the selected mailbox:
 * EXPUNGE (or VANISHED with QRESYNC), FETCH for flags changed by other
 * sessions, EXISTS, RECENT and new FLAGS when keywords appear. Runs in
 * the mail workers. Reads no client input. */
#include "imap_session.h"
#include "imap_seqset.h"
#include "log.h"

#include <stdlib.h>

struct update_ctx {
	struct imap_session *s;
	struct buf out;
	uint32_t *vanished;
	size_t n_vanished;
};

static void ev_expunge(void *ctx, uint32_t msn, uint32_t uid)
{
	struct update_ctx *u = ctx;
	if (u->s->enabled & IMAP_ENABLED_QRESYNC) {
		u->vanished = x_reallocarray(u->vanished, u->n_vanished + 1, sizeof(uint32_t));
		u->vanished[u->n_vanished++] = uid;
	} else {
		buf_appendf(&u->out, "* %u EXPUNGE\r\n", msn);
	}
	if (u->s->exists_sent > 0)
		u->s->exists_sent--;
}

static void ev_flags(void *ctx, uint32_t msn, const struct store_msg *m)
{
	struct update_ctx *u = ctx;
	struct imap_session *s = u->s;
	buf_appendf(&u->out, "* %u FETCH (UID %u FLAGS ", msn, m->uid);
	imap_append_flags(s, &u->out, m->flags, m->keywords, store_view_is_recent(s->view, m->uid));
	if (imap_session_condstore(s))
		buf_appendf(&u->out, " MODSEQ (%llu)", (unsigned long long)m->modseq);
	buf_append_str(&u->out, ")\r\n");
}

static const struct store_view_events events = { ev_expunge, ev_flags };

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

void imap_session_update(struct imap_session *s, bool allow_expunge)
{
	if (s->view == NULL || s->closing)
		return;
	struct update_ctx u = { .s = s };
	buf_init(&u.out);
	/* Flag updates name keywords: announce new ones first (FLAGS). */
	uint64_t before = s->view->modseq;
	if (store_view_update(s->view, allow_expunge, &events, &u) < 0) {
		buf_free(&u.out);
		free(u.vanished);
		if (store_user_error(s->store) == STORE_ERR_NONEXISTENT)
			imap_session_bye(s, "Selected mailbox was deleted, have to disconnect");
		else if (store_user_index_broken(s->store))
			imap_session_bye(s, "Mail index was rebuilt, please reconnect");
		else
			log_error("imap[%s]: %s: mailbox update failed: %s", s->id, s->user,
				  store_user_error_text(s->store));
		return;
	}
	/* A keyword is used only by a change, which moves the modseq. */
	if (s->view->modseq != before &&
	    store_mailbox_keywords(s->view->mb)->n != s->keywords_sent)
		imap_send_flags_lines(s);
	if (u.n_vanished > 0) {
		qsort(u.vanished, u.n_vanished, sizeof(uint32_t), cmp_u32);
		struct buf v = BUF_INIT;
		buf_append_str(&v, "* VANISHED ");
		imap_seqset_write(&v, u.vanished, u.n_vanished);
		buf_append_str(&v, "\r\n");
		imap_write(s, v.data, v.len);
		buf_free(&v);
	}
	if (u.out.len > 0)
		imap_write(s, u.out.data, u.out.len);
	if (s->view->count != s->exists_sent) {
		imap_printf(s, "* %u EXISTS\r\n", s->view->count);
		s->exists_sent = s->view->count;
	}
	if ((s->enabled & IMAP_ENABLED_REV2) == 0) {
		uint32_t recent = store_view_recent_count(s->view);
		if (recent != s->recent_sent) {
			imap_printf(s, "* %u RECENT\r\n", recent);
			s->recent_sent = recent;
		}
	}
	buf_free(&u.out);
	free(u.vanished);
}
