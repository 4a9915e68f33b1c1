/* imap_search_run.c — running a SEARCH program over the selected
 * mailbox: one pass over the index rows in UID order. Keys on header
 * fields the index caches (mail_hcache.h) are answered from the cache;
 * messages without one, and keys on other fields or bodies, read the
 * message file — in the thread pool when there are many. Header caches
 * made on the way are stored in the index. Runs in the mail workers. */
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

/* Fewer messages than this to read from files: on the loop. */
#define SEARCH_INLINE_FILES 50

/* Header caches made by a search, stored once the index is not being
 * iterated. */
struct hcache_list {
	uint32_t *uids;
	char **data;
	size_t *len;
	size_t n, cap;
};

static void hcache_take(struct hcache_list *l, struct imap_msgdata *md)
{
	if (!md->hcache_dirty)
		return;
	if (l->n == l->cap) {
		l->cap = l->cap == 0 ? 64 : l->cap * 2;
		l->uids = x_reallocarray(l->uids, l->cap, sizeof(*l->uids));
		l->data = x_reallocarray(l->data, l->cap, sizeof(*l->data));
		l->len = x_reallocarray(l->len, l->cap, sizeof(*l->len));
	}
	l->uids[l->n] = md->uid;
	l->data[l->n] = md->hcache;
	l->len[l->n++] = md->hcache_len;
	md->hcache = NULL;
	md->hcache_dirty = false;
}

static void hcache_store(struct store_mailbox *mb, struct hcache_list *l)
{
	if (mb != NULL && l->n > 0) {
		bool tx = store_msg_cache_begin(mb) == 0;
		for (size_t i = 0; i < l->n; i++)
			(void)store_msg_set_headers(mb, l->uids[i], l->data[i], l->len[i]);
		if (tx)
			(void)store_msg_cache_end(mb);
	}
	for (size_t i = 0; i < l->n; i++)
		free(l->data[i]);
	free(l->uids);
	free(l->data);
	free(l->len);
	memset(l, 0, sizeof(*l));
}

void imap_search_setup(struct imap_session *s, struct imap_search *search)
{
	struct store_view *v = s->view;
	search->count = v->count;
	search->max_uid = v->count > 0 ? v->uids[v->count - 1] : 0;
	search->now = time(NULL);
	search->saved = s->searchres;
	search->n_saved = s->n_searchres;
	imap_search_prepare(search);
}

void imap_search_own_saved(struct imap_search *search)
{
	/* The saved result is read in the thread: a private copy. */
	if (search->n_saved > 0 && !search->saved_owned) {
		uint32_t *copy = x_calloc(search->n_saved, sizeof(uint32_t));
		memcpy(copy, search->saved, search->n_saved * sizeof(uint32_t));
		search->saved = copy;
		search->saved_owned = true;
	}
}

void imap_search_row_copy(struct store_mailbox *mb, const struct store_msg *m,
			  struct store_msg *dst)
{
	*dst = *m;
	dst->name = store_msg_path(mb, m->name);
	dst->headers = NULL;
	if (m->headers != NULL) {
		char *h = x_malloc(m->headers_len + 1);
		memcpy(h, m->headers, m->headers_len);
		dst->headers = h;
	}
}

/* Growing UID result with the highest modseq. */
struct result {
	uint32_t *uids;
	size_t n, cap;
	uint64_t modseq;
};

static void result_add(struct result *r, uint32_t uid, uint64_t modseq)
{
	if (r->n == r->cap) {
		r->cap = r->cap == 0 ? 64 : r->cap * 2;
		r->uids = x_reallocarray(r->uids, r->cap, sizeof(uint32_t));
	}
	r->uids[r->n++] = uid;
	if (modseq > r->modseq)
		r->modseq = modseq;
}

static void iter_init(struct store_msg_iter *it, struct store_view *v,
		      enum imap_search_reads reads)
{
	if (reads == IMAP_SEARCH_INDEX)
		store_msg_iter_init_light(it, v->mb, v->uids[0], v->uids[v->count - 1]);
	else
		store_msg_iter_init_headers(it, v->mb, v->uids[0], v->uids[v->count - 1]);
}

int imap_search_run(struct imap_session *s, struct imap_search *search, uint32_t **uids_r,
		    size_t *n_r, uint64_t *modseq_r)
{
	struct store_view *v = s->view;
	imap_search_setup(s, search);
	*uids_r = NULL;
	*n_r = 0;
	*modseq_r = 0;
	if (v->count == 0)
		return 0;
	struct result res = { NULL, 0, 0, 0 };
	if (imap_search_view_only(search)) {
		/* Flags and numbers from the view: no index rows. */
		struct imap_msgdata md;
		memset(&md, 0, sizeof(md));
		md.fd = -1;
		for (uint32_t i = 0; i < v->count; i++) {
			uint32_t uid = v->uids[i];
			if (v->n_expunged > 0 && store_view_is_expunged(v, uid))
				continue;
			md.uid = uid;
			md.flags = v->flags[i] & STORE_FLAGS_ALL;
			if (imap_search_match(search, &md, i + 1, store_view_is_recent(v, uid), NULL))
				result_add(&res, uid, 0);
		}
		*uids_r = res.uids;
		*n_r = res.n;
		return 0;
	}
	struct strv keywords;
	strv_init(&keywords);
	strv_copy(&keywords, store_mailbox_keywords(v->mb));
	struct hcache_list made = { NULL, NULL, NULL, 0, 0 };
	struct store_msg_iter it;
	struct store_msg m;
	uint32_t i = 0;
	iter_init(&it, v, imap_search_reads(search));
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
		/* Envelopes are not computed by a search; header caches are. */
		md.cache_dirty = false;
		hcache_take(&made, &md);
		imap_msgdata_deinit(&md);
		if (match)
			result_add(&res, m.uid, m.modseq);
	}
	strv_free(&keywords);
	int ret = store_msg_iter_deinit(&it);
	hcache_store(v->mb, &made);
	if (ret < 0) {
		free(res.uids);
		return -1;
	}
	*uids_r = res.uids;
	*n_r = res.n;
	*modseq_r = res.modseq;
	return 0;
}

/* ---- messages that read their files, maybe in the thread pool ---- */

struct search_row {
	struct store_msg m;	/* name = full path, owned; headers owned */
	char *name;		/* file name, for the loop's retry */
	uint32_t msn;
	bool recent;
	bool match;
	bool retry;		/* file not found by name: check on the loop */
	char *hcache;		/* header cache made in the thread */
	size_t hcache_len;
};

struct imap_search_job {
	uv_work_t work;
	atomic_bool cancelled;		/* read by the helper thread */
	struct imap_session *s;		/* NULL when cancelled */
	struct imap_search *search;
	struct search_row *rows;
	size_t n, cap;
	struct result pre;		/* matched on the loop from the index */
	struct strv keywords;
	imap_search_done_cb *cb;
	void *ctx;
	int ret;
};

static void row_eval(struct imap_search_job *job, struct search_row *r, struct store_mailbox *mb)
{
	struct imap_msgdata md;
	struct store_msg m = r->m;
	if (mb != NULL)
		m.name = r->name;
	imap_msgdata_init_borrow(&md, mb, &m);
	if (mb == NULL) {
		/* No store access off the loop: the file is opened by path. */
		md.fd = open(r->m.name, O_RDONLY | O_CLOEXEC);
		if (md.fd < 0) {
			r->retry = true;
			md.failed = true;
		}
	}
	if (!md.failed)
		r->match = imap_search_match(job->search, &md, r->msn, r->recent, &job->keywords);
	md.cache_dirty = false;
	if (md.hcache_dirty) {
		r->hcache = md.hcache;
		r->hcache_len = md.hcache_len;
		md.hcache = NULL;
		md.hcache_dirty = false;
	}
	imap_msgdata_deinit(&md);
}

static void job_work(uv_work_t *w)
{
	struct imap_search_job *job = w->data;
	for (size_t i = 0; i < job->n && !atomic_load(&job->cancelled); i++)
		row_eval(job, &job->rows[i], NULL);
}

static void job_free(struct imap_search_job *job)
{
	for (size_t i = 0; i < job->n; i++) {
		struct search_row *r = &job->rows[i];
		free((char *)r->m.name);
		free((char *)r->m.headers);
		free(r->name);
		free(r->hcache);
	}
	free(job->rows);
	free(job->pre.uids);
	strv_free(&job->keywords);
	imap_search_free(job->search);
	free(job->search);
	free(job);
}

/* Merges the loop's matches and the rows' (both ascending), stores the
 * header caches made, and hands the result over. */
static void job_finish(struct imap_search_job *job, struct store_mailbox *mb, int status,
		       uint32_t **uids_r, size_t *n_r, uint64_t *modseq_r)
{
	struct result res = { NULL, 0, 0, job->pre.modseq };
	struct hcache_list made = { NULL, NULL, NULL, 0, 0 };
	size_t a = 0;
	for (size_t i = 0; i < job->n; i++) {
		struct search_row *r = &job->rows[i];
		if (mb != NULL && status == 0 && r->retry) {
			/* Renamed (flags changed) meanwhile: the loop can follow. */
			r->retry = false;
			row_eval(job, r, mb);
		}
		if (r->hcache != NULL && mb != NULL) {
			struct imap_msgdata md = { .uid = r->m.uid, .hcache = r->hcache,
						   .hcache_len = r->hcache_len, .hcache_dirty = true };
			r->hcache = NULL;
			hcache_take(&made, &md);
		}
		if (!r->match)
			continue;
		while (a < job->pre.n && job->pre.uids[a] < r->m.uid)
			result_add(&res, job->pre.uids[a++], 0);
		result_add(&res, r->m.uid, r->m.modseq);
	}
	while (a < job->pre.n)
		result_add(&res, job->pre.uids[a++], 0);
	hcache_store(mb, &made);
	*uids_r = res.uids != NULL ? res.uids : x_calloc(1, sizeof(uint32_t));
	*n_r = res.n;
	*modseq_r = res.modseq;
}

static void job_done(uv_work_t *w, int status)
{
	struct imap_search_job *job = w->data;
	struct imap_session *s = job->s;
	uint32_t *uids;
	size_t n;
	uint64_t modseq;
	job_finish(job, s != NULL && s->view != NULL ? s->view->mb : NULL, status, &uids, &n,
		   &modseq);
	if (s != NULL)
		job->cb(job->ctx, status == 0 ? job->ret : -1, uids, n, modseq);
	else
		free(uids);
	job_free(job);
}

void imap_search_job_cancel(struct imap_search_job *job)
{
	atomic_store(&job->cancelled, true);
	job->s = NULL;
}

static struct search_row *row_add(struct imap_search_job *job)
{
	if (job->n == job->cap) {
		job->cap = job->cap == 0 ? 64 : job->cap * 2;
		job->rows = x_reallocarray(job->rows, job->cap, sizeof(*job->rows));
	}
	struct search_row *r = &job->rows[job->n++];
	memset(r, 0, sizeof(*r));
	return r;
}

int imap_search_start(struct imap_session *s, struct imap_search *search,
		      imap_search_done_cb *cb, void *ctx, struct imap_search_job **job_r,
		      uint32_t **uids_r, size_t *n_r, uint64_t *modseq_r)
{
	struct store_view *v = s->view;
	struct imap_search_job *job = x_calloc(1, sizeof(*job));
	job->s = s;
	job->search = search;
	job->cb = cb;
	job->ctx = ctx;
	imap_search_setup(s, search);
	strv_init(&job->keywords);
	strv_copy(&job->keywords, store_mailbox_keywords(v->mb));
	enum imap_search_reads reads = imap_search_reads(search);
	if (v->count > 0) {
		struct store_msg_iter it;
		struct store_msg m;
		uint32_t i = 0;
		iter_init(&it, v, reads);
		while (store_msg_iter_next(&it, &m)) {
			while (i < v->count && v->uids[i] < m.uid)
				i++;
			if (i == v->count)
				break;
			if (v->uids[i] != m.uid || store_view_is_expunged(v, m.uid))
				continue;
			bool recent = store_view_is_recent(v, m.uid);
			if (reads != IMAP_SEARCH_FILES &&
			    (reads == IMAP_SEARCH_INDEX || (m.headers != NULL && m.headers_len > 0))) {
				/* The row and its header cache decide. */
				struct imap_msgdata md;
				imap_msgdata_init_borrow(&md, v->mb, &m);
				if (imap_search_match(search, &md, i + 1, recent, &job->keywords))
					result_add(&job->pre, m.uid, m.modseq);
				md.cache_dirty = false;
				imap_msgdata_deinit(&md);
				continue;
			}
			struct search_row *r = row_add(job);
			imap_search_row_copy(v->mb, &m, &r->m);
			r->name = x_strdup(m.name);
			r->msn = i + 1;
			r->recent = recent;
		}
		job->ret = store_msg_iter_deinit(&it);
	}
	if (job->n < SEARCH_INLINE_FILES || job->ret < 0) {
		/* Few files to read: here and now. */
		for (size_t i = 0; i < job->n && job->ret == 0; i++)
			row_eval(job, &job->rows[i], v->mb);
		int ret = job->ret;
		job_finish(job, v->mb, 0, uids_r, n_r, modseq_r);
		if (ret < 0)
			x_free(uids_r);
		job_free(job);
		return ret < 0 ? -1 : 0;
	}
	imap_search_own_saved(search);
	job->work.data = job;
	if (uv_queue_work(s->server->loop, &job->work, job_work, job_done) != 0)
		log_fatal("uv_queue_work failed");
	*job_r = job;
	return 1;
}
