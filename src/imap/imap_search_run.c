/* imap_search_run.c — running a SEARCH program over the selected
 * mailbox: one pass over the index rows in UID order, reading message
 * files only for header and body keys. Runs in the mail workers. */
#include "imap_search.h"
#include "imap_session.h"

#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "log.h"

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

/* ---- in the thread pool ---- */

struct search_row {
	struct store_msg m;	/* name = full path, owned; cached strings NULL */
	char *name;		/* file name, for the loop's retry */
	uint32_t msn;
	bool recent;
	bool match;
	bool retry;		/* file not found by name: check on the loop */
};

struct imap_search_job {
	uv_work_t work;
	atomic_bool cancelled;		/* read by the helper thread */
	struct imap_session *s;		/* NULL when cancelled */
	struct imap_search *search;
	struct search_row *rows;
	size_t n;
	struct strv keywords;
	imap_search_done_cb *cb;
	void *ctx;
	int ret;
};

static void job_work(uv_work_t *w)
{
	struct imap_search_job *job = w->data;
	for (size_t i = 0; i < job->n && !atomic_load(&job->cancelled); i++) {
		struct search_row *r = &job->rows[i];
		struct imap_msgdata md;
		/* No store access off the loop: the file is opened by path. */
		imap_msgdata_init_borrow(&md, NULL, &r->m);
		md.fd = open(r->m.name, O_RDONLY | O_CLOEXEC);
		if (md.fd < 0) {
			r->retry = true;
			md.failed = true;
		} else {
			r->match = imap_search_match(job->search, &md, r->msn, r->recent,
						     &job->keywords);
		}
		md.cache_dirty = false;
		imap_msgdata_deinit(&md);
	}
}

static void job_done(uv_work_t *w, int status)
{
	struct imap_search_job *job = w->data;
	struct imap_session *s = job->s;
	uint32_t *out = x_calloc(job->n + 1, sizeof(uint32_t));
	size_t n = 0;
	uint64_t max_modseq = 0;
	for (size_t i = 0; i < job->n; i++) {
		struct search_row *r = &job->rows[i];
		if (s != NULL && status == 0 && r->retry && s->view != NULL) {
			/* Renamed (flags changed) meanwhile: the loop can follow. */
			struct store_msg m = r->m;
			m.name = r->name;
			struct imap_msgdata md;
			imap_msgdata_init(&md, s->view->mb, &m);
			r->match = imap_search_match(job->search, &md, r->msn, r->recent,
						     &job->keywords);
			md.cache_dirty = false;
			imap_msgdata_deinit(&md);
		}
		if (r->match) {
			out[n++] = r->m.uid;
			if (r->m.modseq > max_modseq)
				max_modseq = r->m.modseq;
		}
		free((char *)r->m.name);
		free(r->name);
	}
	free(job->rows);
	strv_free(&job->keywords);
	imap_search_free(job->search);
	free(job->search);
	if (s != NULL)
		job->cb(job->ctx, status == 0 ? job->ret : -1, out, n, max_modseq);
	else
		free(out);
	free(job);
}

void imap_search_job_cancel(struct imap_search_job *job)
{
	atomic_store(&job->cancelled, true);
	job->s = NULL;
}

struct imap_search_job *imap_search_run_async(struct imap_session *s, struct imap_search *search,
					      imap_search_done_cb *cb, void *ctx)
{
	struct store_view *v = s->view;
	struct imap_search_job *job = x_calloc(1, sizeof(*job));
	job->s = s;
	job->search = search;
	job->cb = cb;
	job->ctx = ctx;
	search->count = v->count;
	search->max_uid = v->count > 0 ? v->uids[v->count - 1] : 0;
	search->now = time(NULL);
	search->saved = s->searchres;
	search->n_saved = s->n_searchres;
	imap_search_prepare(search);
	strv_init(&job->keywords);
	strv_copy(&job->keywords, store_mailbox_keywords(v->mb));
	job->rows = x_calloc(v->count + 1, sizeof(*job->rows));
	if (v->count > 0) {
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
			struct search_row *r = &job->rows[job->n++];
			r->m = m;
			r->m.name = store_msg_path(v->mb, m.name);
			r->name = x_strdup(m.name);
			r->msn = i + 1;
			r->recent = store_view_is_recent(v, m.uid);
		}
		job->ret = store_msg_iter_deinit(&it);
	}
	/* The saved result is read in the thread: keep a private copy. */
	if (search->n_saved > 0) {
		uint32_t *copy = x_calloc(search->n_saved, sizeof(uint32_t));
		memcpy(copy, search->saved, search->n_saved * sizeof(uint32_t));
		search->saved = copy;
		search->saved_owned = true;
	}
	job->work.data = job;
	if (uv_queue_work(s->server->loop, &job->work, job_work, job_done) != 0)
		log_fatal("uv_queue_work failed");
	return job;
}
