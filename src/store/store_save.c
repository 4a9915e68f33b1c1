/* store_save.c — adding a message: stream into tmp/, write its data to
 * disk in the thread pool, then UID, rename into cur/ and index in one
 * short write transaction, then fdatasync the file and fsync cur/ in
 * parallel (store_deliver.h) before the caller hears of it. Runs in the
 * workers. The bytes are the client's message, stored as given. */
#include "store_private.h"
#include "store_deliver.h"
#include "store_maildir.h"
#include "fsutil.h"
#include "log.h"
#include "mail_hcache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct store_save {
	uv_work_t work;
	struct store_mailbox *mb;
	char *tmp_path;
	char *final_path;
	int fd;
	uint64_t size;
	bool write_failed;
	int io_errno;
	int stage;		/* 1 = write the data, 2 = make file and name durable */
	uint32_t flags;
	char **keywords;
	size_t n_keywords;
	int64_t idate;
	int32_t itz;
	uint32_t uid;
	enum store_error error;
	store_save_cb *cb;
	void *ctx;
	struct mail_hcache_collector hc;	/* the header, for the cache */
	struct store_view *claim_view;		/* gets \Recent for the message */
};

struct store_save *store_save_begin(struct store_mailbox *mb)
{
	char *name = store_maildir_unique_name(0);
	/* The unique name carries ",S=0,W=0": drop the fields; the final
	 * name gets the real size. */
	char *comma = strchr(name, ',');
	if (comma != NULL)
		*comma = '\0';
	struct store_save *save = x_calloc(1, sizeof(*save));
	save->mb = mb;
	mail_hcache_collector_init(&save->hc);
	save->tmp_path = x_asprintf("%s/tmp/%s", mb->path, name);
	free(name);
	save->fd = open(save->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (save->fd < 0) {
		store_fail(mb->user, STORE_ERR_TEMP, "Cannot create %s: %s", save->tmp_path,
			   strerror(errno));
		free(save->tmp_path);
		free(save);
		return NULL;
	}
	return save;
}

int store_save_write(struct store_save *save, const void *data, size_t len)
{
	if (save->write_failed)
		return -1;
	if (write_full(save->fd, data, len) < 0) {
		save->write_failed = true;
		save->io_errno = errno;
		return -1;
	}
	save->size += len;
	mail_hcache_collector_feed(&save->hc, data, len);
	return 0;
}

void store_save_claim_recent(struct store_save *save, struct store_view *view)
{
	save->claim_view = view;
}

uint64_t store_save_size(const struct store_save *save)
{
	return save->size;
}

static void save_free(struct store_save *save)
{
	if (save->fd >= 0)
		close(save->fd);
	if (save->tmp_path != NULL)
		unlink(save->tmp_path);
	free(save->tmp_path);
	free(save->final_path);
	for (size_t i = 0; i < save->n_keywords; i++)
		free(save->keywords[i]);
	free(save->keywords);
	mail_hcache_collector_free(&save->hc);
	free(save);
}

void store_save_abort(struct store_save **savep)
{
	if (*savep == NULL)
		return;
	save_free(*savep);
	*savep = NULL;
}

static void save_work(uv_work_t *w)
{
	struct store_save *save = w->data;
	const char *error;
	int ret;
	if (save->stage == 1) {
		ret = store_deliver_flush_data(save->fd, &error);
	} else {
		char *dir = x_asprintf("%s/cur", save->mb->path);
		const char *dirs[] = { dir };
		ret = store_deliver_sync(save->fd, dirs, 1, &error);
		free(dir);
	}
	if (ret < 0)
		save->io_errno = errno != 0 ? errno : EIO;
}

static void save_done(uv_work_t *w, int status);

static void save_queue(struct store_save *save, int stage)
{
	save->stage = stage;
	save->work.data = save;
	if (save->mb->user->loop == NULL) {
		save_work(&save->work);
		save_done(&save->work, 0);
		return;
	}
	if (uv_queue_work(save->mb->user->loop, &save->work, save_work, save_done) != 0)
		log_fatal("uv_queue_work failed");
}

static void save_finish_cb(struct store_save *save)
{
	save->cb(save->ctx, save->mb->uidvalidity, save->error == STORE_ERR_NONE ? save->uid : 0,
		 save->error);
	save_free(save);
}

/* The file is durable in tmp/: UID, rename into cur/, index. */
static int save_commit(struct store_save *save)
{
	struct store_mailbox *mb = save->mb;
	struct store_user *user = mb->user;
	struct store_index *idx = user->idx;
	if (user->quota_bytes > 0) {
		uint64_t used = 0;
		if (store_user_usage(user, &used, NULL) == 0 &&
		    used + save->size > user->quota_bytes)
			return store_fail(user, STORE_ERR_OVERQUOTA, "Quota exceeded");
	}
	if (store_index_begin_write(idx) < 0)
		return store_fail(user, STORE_ERR_TEMP, "index busy");
	uint64_t kw = 0;
	for (size_t i = 0; i < save->n_keywords; i++) {
		int bit = store_mailbox_keyword_index(mb, save->keywords[i], true);
		if (bit >= 0)
			kw |= 1ULL << bit;
	}
	uint32_t uid = store_mailbox_reserve_uids(mb, 1);
	uint64_t modseq = uid != 0 ? store_mailbox_next_modseq(mb) : 0;
	if (uid == 0 || modseq == 0) {
		store_index_rollback(idx);
		return -1;
	}
	const char *base = strrchr(save->tmp_path, '/') + 1;
	struct buf name = BUF_INIT;
	/* W= too: the file is CRLF, so a rebuild need not read it. */
	buf_appendf(&name, "%s,S=%llu,W=%llu,U=%u", base, (unsigned long long)save->size,
		    (unsigned long long)save->size, uid);
	struct buf fname = BUF_INIT;
	store_maildir_name_build(&fname, name.data, name.len, save->flags & STORE_FLAGS_ALL, kw);
	buf_free(&name);
	save->final_path = x_asprintf("%s/cur/%s", mb->path, fname.data);
	if (rename(save->tmp_path, save->final_path) < 0) {
		int err = errno;
		buf_free(&fname);
		store_index_rollback(idx);
		return store_fail(user, STORE_ERR_TEMP, "rename: %s", strerror(err));
	}
	free(save->tmp_path);
	save->tmp_path = NULL;
	sqlite3_stmt *st = store_index_stmt(idx, STMT_MSG_INSERT);
	sqlite3_bind_int64(st, 1, mb->id);
	sqlite3_bind_int64(st, 2, uid);
	sqlite3_bind_text(st, 3, fname.data, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, save->flags & STORE_FLAGS_ALL);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)kw);
	sqlite3_bind_int64(st, 6, save->idate);
	sqlite3_bind_int(st, 7, save->itz);
	sqlite3_bind_int64(st, 8, time(NULL));
	sqlite3_bind_int64(st, 9, (sqlite3_int64)save->size);
	sqlite3_bind_int64(st, 10, (sqlite3_int64)modseq);
	sqlite3_bind_int(st, 11, 1);
	(void)store_index_exec_stmt(idx, st);
	struct buf hdrs = BUF_INIT;
	if (!mail_hcache_collector_finish(&save->hc, &hdrs))
		buf_reset(&hdrs);	/* too long: an empty cache says so */
	(void)store_msg_put_cache(idx, mb->id, uid, NULL, NULL, NULL,
				  hdrs.len > 0 ? hdrs.data : "", hdrs.len);
	buf_free(&hdrs);
	buf_free(&fname);
	store_mailbox_note_mtimes(mb);
	uint32_t recent_from = 0;
	if (save->claim_view != NULL && save->claim_view->mb->id == mb->id)
		recent_from = store_mailbox_claim_recent(mb, uid);
	if (store_index_commit(idx) < 0) {
		/* The index does not know the file: put it back out of cur/. */
		(void)unlink(save->final_path);
		return store_fail(user, STORE_ERR_TEMP, "index error");
	}
	store_user_changed(user);
	if (recent_from != 0)
		store_view_add_recent(save->claim_view, recent_from, uid);
	save->uid = uid;
	return 0;
}

static void save_done(uv_work_t *w, int status)
{
	struct store_save *save = w->data;
	if (status != 0 && save->io_errno == 0)
		save->io_errno = EIO;
	if (save->io_errno != 0) {
		log_error("store %s: saving a message: %s", save->mb->user->address,
			  strerror(save->io_errno));
		save->error = STORE_ERR_TEMP;
		save_finish_cb(save);
		return;
	}
	if (save->stage == 1) {
		if (save_commit(save) < 0) {
			save->error = store_user_error(save->mb->user);
			save_finish_cb(save);
			return;
		}
		save_queue(save, 2);
		return;
	}
	save_finish_cb(save);
}

void store_save_finish(struct store_save *save, uint32_t flags,
		       const char *const *keywords, size_t n_keywords,
		       int64_t idate, int32_t itz, store_save_cb *cb, void *ctx)
{
	save->flags = flags;
	save->idate = idate != 0 ? idate : (int64_t)time(NULL);
	save->itz = itz;
	save->cb = cb;
	save->ctx = ctx;
	if (n_keywords > 0) {
		save->keywords = x_calloc(n_keywords, sizeof(char *));
		for (size_t i = 0; i < n_keywords; i++)
			save->keywords[i] = x_strdup(keywords[i]);
		save->n_keywords = n_keywords;
	}
	if (save->write_failed) {
		/* Reported from save_done, from the loop as promised. */
		save->io_errno = save->io_errno != 0 ? save->io_errno : EIO;
	} else {
		/* The file's mtime is INTERNALDATE for Maildir tools and
		 * rebuilds; set it before the fsync makes it durable. */
		struct timespec ts[2] = { { save->idate, 0 }, { save->idate, 0 } };
		(void)futimens(save->fd, ts);
	}
	save_queue(save, 1);
}
