/* store_hcache.c — the background fill of the index's header cache
 * (mail_hcache.h) for messages that arrived without one: delivered by
 * SMTP or another tool and adopted by a sync, or indexed by a rebuild.
 * Batches of files are read in the libuv thread pool; their caches are
 * written back from the loop in one short transaction per batch. At
 * most one fill runs per user and process. Runs in the workers. The
 * message files are untrusted (parsed by src/mail). */
#include "store_private.h"
#include "store_hcache.h"
#include "mail_hcache.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FILL_BATCH 500
#define FILL_READ 16384

struct fill_msg {
	uint32_t uid;
	char *path;
	struct buf cache;
	bool ok;
};

struct store_fill {
	uv_work_t work;
	struct store_user *user;	/* holds a reference */
	int64_t mailbox_id;
	char *dir;			/* folder directory */
	uint32_t next_uid;		/* where the next batch starts */
	struct fill_msg *msgs;
	size_t n;
	/* Mailboxes asked for while this one ran. */
	int64_t *queued;
	char **queued_dirs;
	size_t n_queued;
};

int store_hcache_read(const char *path, struct buf *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct mail_hcache_collector c;
	mail_hcache_collector_init(&c);
	char *chunk = x_malloc(FILL_READ);
	int ret = 0;
	while (!c.done) {
		ssize_t n = read(fd, chunk, FILL_READ);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -1;
			break;
		}
		if (n == 0)
			break;	/* the whole file is header */
		mail_hcache_collector_feed(&c, chunk, (size_t)n);
	}
	free(chunk);
	close(fd);
	if (ret == 0 && !mail_hcache_collector_finish(&c, out))
		buf_reset(out);	/* too long: an empty cache says "read the file" */
	mail_hcache_collector_free(&c);
	return ret;
}

static void fill_work(uv_work_t *w)
{
	struct store_fill *f = w->data;
	for (size_t i = 0; i < f->n; i++)
		f->msgs[i].ok = store_hcache_read(f->msgs[i].path, &f->msgs[i].cache) == 0;
}

static void fill_free_batch(struct store_fill *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->msgs[i].path);
		buf_free(&f->msgs[i].cache);
	}
	free(f->msgs);
	f->msgs = NULL;
	f->n = 0;
}

static void fill_done(uv_work_t *w, int status);

/* Reads the next batch of uncached messages; false when none is left. */
static bool fill_next(struct store_fill *f)
{
	struct store_index *idx = f->user->idx;
	if (idx->corrupt)
		return false;
	sqlite3_stmt *st = store_index_stmt(idx, STMT_MSG_NO_HEADERS);
	sqlite3_bind_int64(st, 1, f->mailbox_id);
	sqlite3_bind_int64(st, 2, f->next_uid);
	sqlite3_bind_int(st, 3, FILL_BATCH);
	f->msgs = x_calloc(FILL_BATCH, sizeof(*f->msgs));
	while (f->n < FILL_BATCH && sqlite3_step(st) == SQLITE_ROW) {
		struct fill_msg *m = &f->msgs[f->n++];
		m->uid = (uint32_t)sqlite3_column_int64(st, 0);
		m->path = x_asprintf("%s/cur/%s", f->dir, (const char *)sqlite3_column_text(st, 1));
		buf_init(&m->cache);
		f->next_uid = m->uid + 1;
	}
	sqlite3_reset(st);
	if (f->n == 0 || f->next_uid == 0) {
		fill_free_batch(f);
		return false;
	}
	f->work.data = f;
	if (uv_queue_work(f->user->loop, &f->work, fill_work, fill_done) != 0)
		log_fatal("uv_queue_work failed");
	return true;
}

static void fill_end(struct store_fill *f)
{
	struct store_user *u = f->user;
	while (f->n_queued > 0) {
		/* The next mailbox asked for meanwhile. */
		f->n_queued--;
		f->mailbox_id = f->queued[f->n_queued];
		free(f->dir);
		f->dir = f->queued_dirs[f->n_queued];
		f->next_uid = 1;
		if (fill_next(f))
			return;
	}
	u->fill = NULL;
	free(f->queued);
	free(f->queued_dirs);
	free(f->dir);
	free(f);
	store_user_unref(&u);
}

static void fill_done(uv_work_t *w, int status)
{
	struct store_fill *f = w->data;
	struct store_index *idx = f->user->idx;
	if (status == 0 && !idx->corrupt && store_index_begin_write(idx) == 0) {
		for (size_t i = 0; i < f->n; i++) {
			struct fill_msg *m = &f->msgs[i];
			if (!m->ok)
				continue;	/* renamed or gone: a later fill */
			sqlite3_stmt *st = store_index_stmt(idx, STMT_MSG_SET_HEADERS);
			sqlite3_bind_int64(st, 1, f->mailbox_id);
			sqlite3_bind_int64(st, 2, m->uid);
			sqlite3_bind_blob(st, 3, m->cache.len > 0 ? m->cache.data : "",
					  (int)m->cache.len, SQLITE_STATIC);
			(void)store_index_exec_stmt(idx, st);
			st = store_index_stmt(idx, STMT_MSG_SET_HC);
			sqlite3_bind_int64(st, 1, f->mailbox_id);
			sqlite3_bind_int64(st, 2, m->uid);
			(void)store_index_exec_stmt(idx, st);
		}
		(void)store_index_commit(idx);
	}
	fill_free_batch(f);
	if (status != 0 || !fill_next(f))
		fill_end(f);
}

void store_hcache_fill(struct store_mailbox *mb)
{
	struct store_user *u = mb->user;
	if (u->loop == NULL)
		return;
	struct store_fill *f = u->fill;
	if (f != NULL) {
		if (f->mailbox_id == mb->id)
			return;	/* it goes on to the end of the mailbox */
		for (size_t i = 0; i < f->n_queued; i++)
			if (f->queued[i] == mb->id)
				return;
		f->queued = x_reallocarray(f->queued, f->n_queued + 1, sizeof(*f->queued));
		f->queued_dirs = x_reallocarray(f->queued_dirs, f->n_queued + 1, sizeof(char *));
		f->queued[f->n_queued] = mb->id;
		f->queued_dirs[f->n_queued++] = x_strdup(mb->path);
		return;
	}
	f = x_calloc(1, sizeof(*f));
	f->user = u;
	f->mailbox_id = mb->id;
	f->dir = x_strdup(mb->path);
	f->next_uid = 1;
	store_user_ref(u);
	u->fill = f;
	if (!fill_next(f))
		fill_end(f);
}
