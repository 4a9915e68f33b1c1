/* imap_search_run.c — running a SEARCH program over the selected
 * mailbox: one pass over the index rows in UID order, reading message
 * files only for header and body keys. Runs in the mail workers. */
#include "imap_search.h"
#include "imap_session.h"

#include <stdlib.h>
#include <time.h>

int imap_search_run(struct imap_session *s, struct imap_search *search, uint32_t **uids_r,
		    size_t *n_r, uint64_t *modseq_r)
{
	struct store_view *v = s->view;
	search->count = v->count;
	search->max_uid = v->count > 0 ? v->uids[v->count - 1] : 0;
	search->now = time(NULL);
	search->saved = s->searchres;
	search->n_saved = s->n_searchres;
	imap_search_prepare(search);
	uint32_t *out = NULL;
	size_t n = 0, cap = 0;
	uint64_t max_modseq = 0;
	*uids_r = NULL;
	*n_r = 0;
	*modseq_r = 0;
	if (v->count == 0)
		return 0;
	const struct strv *kw = store_mailbox_keywords(v->mb);
	struct strv keywords;
	strv_init(&keywords);
	strv_copy(&keywords, kw);
	struct store_msg_iter it;
	struct store_msg m;
	uint32_t i = 0;
	store_msg_iter_init_light(&it, v->mb, v->uids[0], v->uids[v->count - 1]);
	while (store_msg_iter_next(&it, &m)) {
		while (i < v->count && v->uids[i] < m.uid)
			i++;
		if (i == v->count)
			break;
		if (v->uids[i] != m.uid || store_view_is_expunged(v, m.uid))
			continue;
		struct imap_msgdata md;
		imap_msgdata_init_borrow(&md, v->mb, &m);
		bool match = imap_search_match(search, &md, i + 1, store_view_is_recent(v, m.uid),
					       &keywords);
		/* Do not keep strings cached by a search: it computes none. */
		md.cache_dirty = false;
		imap_msgdata_deinit(&md);
		if (!match)
			continue;
		if (n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			out = x_reallocarray(out, cap, sizeof(uint32_t));
		}
		out[n++] = m.uid;
		if (m.modseq > max_modseq)
			max_modseq = m.modseq;
	}
	strv_free(&keywords);
	if (store_msg_iter_deinit(&it) < 0) {
		free(out);
		return -1;
	}
	*uids_r = out;
	*n_r = n;
	*modseq_r = max_modseq;
	return 0;
}
