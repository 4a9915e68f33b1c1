/* imap_sortjob.c — running SORT and THREAD: the index rows of the
 * selected mailbox are read on the loop (and the search decided there
 * when the row and header cache suffice); computing each message's
 * values from its header cache (or file), sorting or threading and
 * writing the response happen in the libuv thread pool for large
 * mailboxes, so the loop stays free. Header caches made on the way are
 * stored from the loop. Runs in the mail workers. Message files and
 * headers are untrusted (parsed by src/mail). */
#include "imap_sortkeys.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Below this many messages, with every header cache present: inline. */
#define SORTJOB_INLINE 1000

struct sort_row {
	struct store_msg m;	/* name = full path, headers: owned copies */
	uint32_t msn;
	bool recent;
	bool evaluated;		/* the search decided on the loop (match) */
	bool match;
	char *hcache;		/* header cache made in the thread */
	size_t hcache_len;
};

struct imap_sortjob {
	uv_work_t work;
	atomic_bool cancelled;		/* read by the helper thread */
	struct imap_cmd *cmd;		/* NULL when cancelled */
	struct imap_search *search;
	struct strv keywords;
	char *cur_dir;
	struct sort_row *rows;
	size_t n, cap;
	unsigned need;
	imap_sortjob_write_fn *write;
	void *arg;
	imap_sortjob_done_cb *done;
	struct buf out;
	int ret;
	/* cur/ as listed by the thread when a file was renamed meanwhile */
	struct strv cur_names;
	bool cur_listed;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The current path of a message renamed (flags changed) since its row
 * was read: same base name, other ":2," suffix. NULL if gone. */
static char *find_renamed(struct imap_sortjob *job, const char *path)
{
	if (!job->cur_listed) {
		job->cur_listed = true;
		DIR *d = opendir(job->cur_dir);
		struct dirent *de;
		while (d != NULL && (de = readdir(d)) != NULL)
			if (de->d_name[0] != '.')
				strv_push(&job->cur_names, de->d_name);
		if (d != NULL)
			closedir(d);
		qsort(job->cur_names.v, job->cur_names.n, sizeof(char *), cmp_str);
	}
	const char *name = strrchr(path, '/') + 1;
	const char *colon = strstr(name, ":2,");
	size_t blen = colon != NULL ? (size_t)(colon - name) : strlen(name);
	size_t lo = 0, hi = job->cur_names.n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strncmp(job->cur_names.v[mid], name, blen) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < job->cur_names.n && strncmp(job->cur_names.v[lo], name, blen) == 0; lo++) {
		const char *c = job->cur_names.v[lo];
		if (c[blen] == '\0' || c[blen] == ':')
			return x_asprintf("%s/%s", job->cur_dir, c);
	}
	return NULL;
}

/* Values, search and response: the helper thread's part (or inline). */
static void job_compute(struct imap_sortjob *job)
{
	struct imap_sortmsg *msgs = x_calloc(job->n + 1, sizeof(*msgs));
	size_t got = 0;
	for (size_t i = 0; i < job->n && !atomic_load(&job->cancelled); i++) {
		struct sort_row *r = &job->rows[i];
		struct imap_msgdata md;
		imap_msgdata_init_borrow(&md, NULL, &r->m);
		md.hcache_known = true;
		bool need_file = !r->evaluated || r->m.headers == NULL || r->m.headers_len == 0;
		if (need_file) {
			md.fd = open(r->m.name, O_RDONLY | O_CLOEXEC);
			if (md.fd < 0 && errno == ENOENT) {
				char *p = find_renamed(job, r->m.name);
				if (p != NULL) {
					md.fd = open(p, O_RDONLY | O_CLOEXEC);
					free(p);
				}
			}
			if (md.fd < 0) {
				/* Expunged meanwhile: left out, as a search would. */
				md.failed = true;
				r->match = false;
				r->evaluated = true;
			}
		}
		if (!r->evaluated)
			r->match = imap_search_match(job->search, &md, r->msn, r->recent,
						     &job->keywords);
		if (r->match) {
			struct imap_sortmsg *sm = &msgs[got++];
			imap_sortkeys_compute(&md, job->need, sm);
			sm->msn = r->msn;
		}
		if (md.hcache_dirty) {
			r->hcache = md.hcache;
			r->hcache_len = md.hcache_len;
			md.hcache = NULL;
			md.hcache_dirty = false;
		}
		md.cache_dirty = false;
		imap_msgdata_deinit(&md);
	}
	if (!atomic_load(&job->cancelled))
		job->write(msgs, got, job->arg, &job->out);
	imap_sortkeys_free(msgs, got);
}

static void job_free(struct imap_sortjob *job)
{
	for (size_t i = 0; i < job->n; i++) {
		free((char *)job->rows[i].m.name);
		free((char *)job->rows[i].m.headers);
		free(job->rows[i].hcache);
	}
	free(job->rows);
	strv_free(&job->keywords);
	strv_free(&job->cur_names);
	free(job->cur_dir);
	imap_search_free(job->search);
	free(job->search);
	free(job->arg);
	buf_free(&job->out);
	free(job);
}

/* Stores the header caches the computation made (one transaction). */
static void store_caches(struct imap_sortjob *job, struct store_mailbox *mb)
{
	bool any = false;
	for (size_t i = 0; i < job->n && !any; i++)
		any = job->rows[i].hcache != NULL;
	if (!any)
		return;
	bool tx = store_msg_cache_begin(mb) == 0;
	for (size_t i = 0; i < job->n; i++) {
		struct sort_row *r = &job->rows[i];
		if (r->hcache != NULL)
			(void)store_msg_set_headers(mb, r->m.uid, r->hcache, r->hcache_len);
	}
	if (tx)
		(void)store_msg_cache_end(mb);
}

static void job_work(uv_work_t *w)
{
	job_compute(w->data);
}

static void job_done(uv_work_t *w, int status)
{
	struct imap_sortjob *job = w->data;
	struct imap_cmd *cmd = job->cmd;
	if (cmd != NULL) {
		struct imap_session *s = cmd->s;
		if (status == 0 && s->view != NULL)
			store_caches(job, s->view->mb);
		job->done(cmd, status == 0 ? job->ret : -1, &job->out);
	}
	job_free(job);
}

void imap_sortjob_cancel(struct imap_sortjob *job)
{
	atomic_store(&job->cancelled, true);
	job->cmd = NULL;
}

static struct sort_row *row_add(struct imap_sortjob *job)
{
	if (job->n == job->cap) {
		job->cap = job->cap == 0 ? 256 : job->cap * 2;
		job->rows = x_reallocarray(job->rows, job->cap, sizeof(*job->rows));
	}
	struct sort_row *r = &job->rows[job->n++];
	memset(r, 0, sizeof(*r));
	return r;
}

int imap_sortjob_start(struct imap_cmd *cmd, struct imap_search *search, unsigned need,
		       imap_sortjob_write_fn *write, void *arg, imap_sortjob_done_cb *done,
		       struct imap_sortjob **job_r, struct buf *out_r)
{
	struct imap_session *s = cmd->s;
	struct store_view *v = s->view;
	struct imap_sortjob *job = x_calloc(1, sizeof(*job));
	job->cmd = cmd;
	job->search = search;
	job->need = need;
	job->write = write;
	job->arg = arg;
	job->done = done;
	buf_init(&job->out);
	strv_init(&job->keywords);
	strv_init(&job->cur_names);
	job->cur_dir = store_msg_path(v->mb, "");
	job->cur_dir[strlen(job->cur_dir) - 1] = '\0';	/* ".../cur" */
	imap_search_setup(s, search);
	strv_copy(&job->keywords, store_mailbox_keywords(v->mb));
	enum imap_search_reads reads = imap_search_reads(search);
	bool files = false;
	if (v->count > 0) {
		struct store_msg_iter it;
		struct store_msg m;
		uint32_t i = 0;
		store_msg_iter_init_headers(&it, v->mb, v->uids[0], v->uids[v->count - 1]);
		while (store_msg_iter_next(&it, &m)) {
			while (i < v->count && v->uids[i] < m.uid)
				i++;
			if (i == v->count)
				break;
			if (v->uids[i] != m.uid || store_view_is_expunged(v, m.uid))
				continue;
			bool recent = store_view_is_recent(v, m.uid);
			bool cached = m.headers != NULL && m.headers_len > 0;
			bool evaluated = false, match = false;
			if (reads == IMAP_SEARCH_INDEX || (reads == IMAP_SEARCH_HCACHE && cached)) {
				struct imap_msgdata md;
				imap_msgdata_init_borrow(&md, v->mb, &m);
				match = imap_search_match(search, &md, i + 1, recent, &job->keywords);
				md.cache_dirty = false;
				imap_msgdata_deinit(&md);
				evaluated = true;
				if (!match)
					continue;
			}
			struct sort_row *r = row_add(job);
			imap_search_row_copy(v->mb, &m, &r->m);
			r->msn = i + 1;
			r->recent = recent;
			r->evaluated = evaluated;
			r->match = match;
			files = files || !evaluated || !cached;
		}
		job->ret = store_msg_iter_deinit(&it);
	}
	if (job->ret < 0) {
		job_free(job);
		return -1;
	}
	if (!files && job->n < SORTJOB_INLINE) {
		job_compute(job);
		buf_append(out_r, job->out.data != NULL ? job->out.data : "", job->out.len);
		job_free(job);
		return 0;
	}
	imap_search_own_saved(search);
	job->work.data = job;
	if (uv_queue_work(s->server->loop, &job->work, job_work, job_done) != 0)
		log_fatal("uv_queue_work failed");
	*job_r = job;
	return 1;
}
