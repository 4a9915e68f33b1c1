/* store_sync.c — bringing a mailbox's index up to date with its Maildir:
 * new/ files get UIDs and move to cur/ (renamed with ",U=<uid>" so a
 * rebuild can recover the UID), and when cur/ changed behind our back
 * (another Maildir tool), flags and expunges are taken from the file
 * names. Runs in the workers on the loop (a full cur/ scan of 100,000
 * files takes tens of milliseconds) and in rebuilds. File names on disk
 * are untrusted. */
#include "store_private.h"
#include "store_maildir.h"
#include "store_crlf.h"
#include "store_dovecot.h"
#include "fsutil.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int store_dir_list(const char *dir, struct strv *names)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		strv_push(names, de->d_name);
	}
	closedir(d);
	if (names->n > 1)
		qsort(names->v, names->n, sizeof(char *), cmp_str);
	return 0;
}

int64_t store_dir_mtime(const char *dir)
{
	struct stat st;
	if (stat(dir, &st) < 0)
		return 0;
	return (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
}

/* Whether a directory mtime is old enough (2 s) that any later change
 * gets a different one, whatever the file system's clock granularity. */
static bool mtime_settled(int64_t mtime_ns)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	return mtime_ns != 0 && mtime_ns < now - 2000000000LL;
}

/* State of one sync transaction. */
struct sync_ctx {
	struct store_mailbox *mb;
	struct store_index *idx;
	uint64_t modseq;	/* allocated on first change */
	uint32_t uidnext;
	bool uidnext_dirty;
	bool changed;
	bool trust_uids;	/* rebuild: U= values are the truth */
	bool adopted;		/* new messages: their header caches to fill */
	bool converted;		/* a file was made CRLF here: fsync new/, cur/ */
	uint64_t known_kw;	/* keyword letters the mailbox has names for */
	struct strv to_convert;	/* "new/x": for the thread pool */
	struct buf path, path2, name, conv;
};

static uint64_t sync_modseq(struct sync_ctx *ctx)
{
	if (ctx->modseq == 0)
		ctx->modseq = store_mailbox_next_modseq(ctx->mb);
	ctx->changed = true;
	return ctx->modseq;
}

static uint32_t sync_new_uid(struct sync_ctx *ctx, const struct store_maildir_name *n)
{
	uint32_t uid = ctx->uidnext;
	uint32_t claim = n->has_uid ? n->uid : 0;
	if (ctx->trust_uids && ctx->mb->uidlist != NULL) {
		/* A rebuild of a folder Dovecot kept: its UIDs, which the
		 * clients know, before any U= (Dovecot writes none). */
		uint32_t d = store_uidlist_lookup(ctx->mb->uidlist, n->base, n->unique_len);
		if (d != 0)
			claim = d;
	}
	if (claim != 0 && (claim >= ctx->uidnext || ctx->trust_uids)) {
		struct store_msg m;
		/* A duplicate U= (a file copied by hand) gets a new UID. */
		int r = store_msg_get(ctx->mb, claim, &m);
		if (r == 0)
			uid = claim;
		else if (r > 0)
			sqlite3_reset(store_index_stmt(ctx->idx, STMT_MSG_GET));
	}
	if (uid >= ctx->uidnext) {
		if (uid == UINT32_MAX)
			return 0;
		ctx->uidnext = uid + 1;
		ctx->uidnext_dirty = true;
	}
	return uid;
}

static int insert_row(struct sync_ctx *ctx, uint32_t uid, const char *name, uint32_t flags,
		      uint64_t keywords, const struct stat *st)
{
	sqlite3_stmt *s = store_index_stmt(ctx->idx, STMT_MSG_INSERT);
	sqlite3_bind_int64(s, 1, ctx->mb->id);
	sqlite3_bind_int64(s, 2, uid);
	sqlite3_bind_text(s, 3, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, flags);
	sqlite3_bind_int64(s, 5, (sqlite3_int64)keywords);
	sqlite3_bind_int64(s, 6, st->st_mtim.tv_sec);
	sqlite3_bind_int(s, 7, 0);
	sqlite3_bind_int64(s, 8, ctx->trust_uids ? st->st_mtim.tv_sec : time(NULL));
	sqlite3_bind_int64(s, 9, st->st_size);
	sqlite3_bind_int64(s, 10, (sqlite3_int64)sync_modseq(ctx));
	sqlite3_bind_int(s, 11, 0);	/* header cache: the background fill */
	ctx->adopted = true;
	return store_index_exec_stmt(ctx->idx, s);
}

/* Files up to this size whose names do not prove them CRLF are read on
 * the loop (one read, usually from the page cache): a CRLF one is taken
 * at once, one with bare LFs goes to the thread pool. */
#define CHECK_ON_LOOP (128 * 1024)

/* A file whose name does not prove it CRLF (store_crlf.h). 0: take it
 * (ctx->conv then holds its name in subdir, st and n describe it), 2:
 * take it as it is (its conversion failed), 1: not now (converted later,
 * or gone). */
static int crlf_prepare(struct sync_ctx *ctx, const char *subdir, const char *fname,
			struct store_maildir_name *n, struct stat *st)
{
	struct store_mailbox *mb = ctx->mb;
	buf_reset(&ctx->conv);
	if (store_crlf_failed(mb, subdir, fname)) {
		buf_append_str(&ctx->conv, fname);
		return 2;
	}
	if (mb->user->loop == NULL) {
		/* Rebuilds and commands may block: convert now. */
		const char *error;
		int r = store_crlf_file(mb->path, subdir, fname, &ctx->conv, &error);
		if (r == 1)
			return 1;
		if (r < 0) {
			log_error("store %s: cannot convert %s to CRLF line ends (%s); taking "
				  "it as it is", mb->user->address, mb->path, error);
			buf_reset(&ctx->conv);
			buf_append_str(&ctx->conv, fname);
			return 2;
		}
		ctx->converted = true;
		buf_reset(&ctx->path);
		buf_appendf(&ctx->path, "%s/%s/%s", mb->path, subdir, ctx->conv.data);
		if (stat(ctx->path.data, st) < 0 || !store_maildir_name_parse(ctx->conv.data, n))
			return 1;
		return 0;
	}
	int r = 0;
	if ((uint64_t)st->st_size <= CHECK_ON_LOOP) {
		int fd = open(ctx->path.data, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			return 1;
		/* The file read is the one described (a conversion running
		 * in the pool may have exchanged it since the stat). */
		bool file = fstat(fd, st) == 0 && S_ISREG(st->st_mode);
		if (file)
			r = store_crlf_check_small(fd, (uint64_t)st->st_size, CHECK_ON_LOOP);
		close(fd);
		if (!file)
			return 1;
	}
	if (r != 1) {
		/* Bare LFs, too big to read here, or unreadable: the pool
		 * converts it (or notes that it cannot). */
		char *rel = x_asprintf("%s/%s", subdir, fname);
		strv_push_owned(&ctx->to_convert, rel);
		return 1;
	}
	/* CRLF already: the adoption's rename adds the size fields. */
	buf_append_str(&ctx->conv, fname);
	return 0;
}

/* A file found in new/ (from_new) or an unknown file in cur/: give it a
 * UID, rename it into cur/ under its UID name, index it. */
static int adopt_file(struct sync_ctx *ctx, const char *subdir, const char *fname)
{
	struct store_maildir_name n;
	if (!store_maildir_name_parse(fname, &n))
		return 0;
	struct stat st;
	buf_reset(&ctx->path);
	buf_appendf(&ctx->path, "%s/%s/%s", ctx->mb->path, subdir, fname);
	if (stat(ctx->path.data, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;	/* taken by another process, or junk */
	bool fix_size = false;
	if (!store_crlf_name_ok(&n, (uint64_t)st.st_size)) {
		int r = crlf_prepare(ctx, subdir, fname, &n, &st);
		if (r == 1)
			return 0;
		fname = ctx->conv.data;
		/* Known to be CRLF now: say so in the name, so that a
		 * rebuild need not read it again. */
		fix_size = r == 0 && !store_crlf_name_ok(&n, (uint64_t)st.st_size);
	}
	uint32_t uid = sync_new_uid(ctx, &n);
	if (uid == 0)
		return store_fail(ctx->mb->user, STORE_ERR_LIMIT, "UIDs exhausted");
	struct buf base = BUF_INIT;
	struct store_maildir_name n2;
	buf_reset(&ctx->name);
	if (fix_size) {
		store_maildir_base_with_size(&base, &n, (uint64_t)st.st_size);
		fix_size = store_maildir_name_parse(base.data, &n2);
	}
	store_maildir_base_with_uid(&ctx->name, fix_size ? &n2 : &n, uid);
	buf_reset(&base);
	buf_append(&base, ctx->name.data, ctx->name.len);
	buf_reset(&ctx->name);
	/* Keyword letters (Dovecot's a-z) without a name are dropped. */
	uint64_t kw = n.keywords & ctx->known_kw;
	store_maildir_name_build(&ctx->name, base.data, base.len, n.flags, kw);
	buf_free(&base);
	buf_reset(&ctx->path);
	buf_appendf(&ctx->path, "%s/%s/%s", ctx->mb->path, subdir, fname);
	if (strcmp(subdir, "cur") != 0 || strcmp(fname, ctx->name.data) != 0) {
		buf_reset(&ctx->path2);
		buf_appendf(&ctx->path2, "%s/cur/%s", ctx->mb->path, ctx->name.data);
		if (rename(ctx->path.data, ctx->path2.data) < 0) {
			if (errno == ENOENT)
				return 0;
			log_error("store %s: rename %s: %s", ctx->mb->user->address,
				  ctx->path.data, strerror(errno));
			return 0;
		}
	}
	return insert_row(ctx, uid, ctx->name.data, n.flags, kw, &st);
}

struct row {
	uint32_t uid;
	uint32_t flags;
	uint64_t keywords;
	char *name;
	size_t base_len;
	bool matched;
};

static uint64_t hash_base(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
	return h;
}

/* Compares every file of cur/ with the index rows. */
static int rescan_cur(struct sync_ctx *ctx)
{
	struct store_mailbox *mb = ctx->mb;
	struct row *rows = NULL;
	size_t nrows = 0, cap = 0;
	sqlite3_stmt *s = store_index_stmt(ctx->idx, STMT_MSG_NAMES);
	sqlite3_bind_int64(s, 1, mb->id);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (nrows == cap) {
			cap = cap == 0 ? 256 : cap * 2;
			rows = x_reallocarray(rows, cap, sizeof(*rows));
		}
		struct row *r = &rows[nrows++];
		r->uid = (uint32_t)sqlite3_column_int64(s, 0);
		r->name = x_strdup((const char *)sqlite3_column_text(s, 1));
		r->flags = (uint32_t)sqlite3_column_int64(s, 2);
		r->keywords = (uint64_t)sqlite3_column_int64(s, 3);
		r->matched = false;
		struct store_maildir_name n;
		r->base_len = store_maildir_name_parse(r->name, &n) ? n.base_len : strlen(r->name);
	}
	sqlite3_reset(s);
	int ret = 0;
	if (rc != SQLITE_DONE) {
		store_index_error(ctx->idx, rc, "rescan");
		ret = -1;
	}
	/* Open-addressing table of row indexes by base name. */
	size_t hsize = 16;
	while (hsize < nrows * 2)
		hsize *= 2;
	size_t *table = x_malloc(hsize * sizeof(size_t));
	for (size_t i = 0; i < hsize; i++)
		table[i] = SIZE_MAX;
	for (size_t i = 0; i < nrows; i++) {
		size_t h = hash_base(rows[i].name, rows[i].base_len) & (hsize - 1);
		while (table[h] != SIZE_MAX)
			h = (h + 1) & (hsize - 1);
		table[h] = i;
	}
	struct strv files;
	strv_init(&files);
	buf_reset(&ctx->path);
	buf_appendf(&ctx->path, "%s/cur", mb->path);
	if (ret == 0 && store_dir_list(ctx->path.data, &files) < 0) {
		ret = store_fail(mb->user, STORE_ERR_TEMP, "%s: %s", ctx->path.data,
				 strerror(errno));
	}
	struct strv unknown;
	strv_init(&unknown);
	for (size_t i = 0; ret == 0 && i < files.n; i++) {
		struct store_maildir_name n;
		if (!store_maildir_name_parse(files.v[i], &n))
			continue;
		size_t h = hash_base(n.base, n.base_len) & (hsize - 1);
		struct row *r = NULL;
		for (; table[h] != SIZE_MAX; h = (h + 1) & (hsize - 1)) {
			struct row *c = &rows[table[h]];
			if (c->base_len == n.base_len && memcmp(c->name, n.base, n.base_len) == 0) {
				r = c;
				break;
			}
		}
		if (r == NULL || r->matched) {
			strv_push(&unknown, files.v[i]);
			continue;
		}
		r->matched = true;
		if (strcmp(r->name, files.v[i]) == 0)
			continue;
		/* Renamed by another tool: take its flags and keyword letters
		 * (keywords without a letter stay). */
		s = store_index_stmt(ctx->idx, STMT_MSG_SET_NAME);
		sqlite3_bind_int64(s, 1, mb->id);
		sqlite3_bind_int64(s, 2, r->uid);
		sqlite3_bind_text(s, 3, files.v[i], -1, SQLITE_STATIC);
		(void)store_index_exec_stmt(ctx->idx, s);
		uint32_t flags = (r->flags & ~STORE_FLAGS_ALL) | n.flags;
		uint64_t kw = (r->keywords & ~(STORE_MAILDIR_KEYWORD_MASK & ctx->known_kw)) |
			      (n.keywords & ctx->known_kw);
		if (flags != r->flags || kw != r->keywords) {
			s = store_index_stmt(ctx->idx, STMT_MSG_SET_FLAGS);
			sqlite3_bind_int64(s, 1, mb->id);
			sqlite3_bind_int64(s, 2, r->uid);
			sqlite3_bind_int64(s, 3, flags);
			sqlite3_bind_int64(s, 4, (sqlite3_int64)kw);
			sqlite3_bind_int64(s, 5, (sqlite3_int64)sync_modseq(ctx));
			sqlite3_bind_text(s, 6, files.v[i], -1, SQLITE_STATIC);
			(void)store_index_exec_stmt(ctx->idx, s);
		}
	}
	/* Rows whose file is gone: expunged by another tool. */
	for (size_t i = 0; ret == 0 && i < nrows; i++) {
		if (rows[i].matched)
			continue;
		uint64_t modseq = sync_modseq(ctx);
		s = store_index_stmt(ctx->idx, STMT_MSG_DELETE);
		sqlite3_bind_int64(s, 1, mb->id);
		sqlite3_bind_int64(s, 2, rows[i].uid);
		(void)store_index_exec_stmt(ctx->idx, s);
		s = store_index_stmt(ctx->idx, STMT_EXP_INSERT);
		sqlite3_bind_int64(s, 1, mb->id);
		sqlite3_bind_int64(s, 2, rows[i].uid);
		sqlite3_bind_int64(s, 3, (sqlite3_int64)modseq);
		(void)store_index_exec_stmt(ctx->idx, s);
	}
	/* Files the index does not know: new messages. In a rebuild, take
	 * U= values in order so duplicates lose to the first. */
	for (size_t i = 0; ret == 0 && i < unknown.n; i++)
		ret = adopt_file(ctx, "cur", unknown.v[i]);
	strv_free(&unknown);
	strv_free(&files);
	free(table);
	for (size_t i = 0; i < nrows; i++)
		free(rows[i].name);
	free(rows);
	return ret;
}

/* A sync; *modseq_r (may be NULL) gets the mailbox's modseq when no
 * change was needed, else 0. */
static int sync_full(struct store_mailbox *mb, bool force_rescan, bool trust_uids,
		     uint64_t *modseq_r)
{
	struct store_user *user = mb->user;
	struct store_index *idx = user->idx;
	char *newdir = x_asprintf("%s/new", mb->path);
	char *curdir = x_asprintf("%s/cur", mb->path);
	struct strv newfiles;
	strv_init(&newfiles);
	int ret = 0;

	if (force_rescan ? store_index_replaced(idx) : store_index_replaced_lazy(idx)) {
		ret = store_fail(user, STORE_ERR_TEMP, "The mail index was rebuilt, reconnect");
		goto out;
	}
	/* Cheap checks first, without the write lock. */
	sqlite3_stmt *s = store_index_stmt(idx, STMT_MB_BY_ID);
	sqlite3_bind_int64(s, 1, mb->id);
	int rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(s);
		ret = rc == SQLITE_DONE ?
			store_fail(user, STORE_ERR_NONEXISTENT, "Mailbox was deleted") :
			store_fail(user, STORE_ERR_TEMP, "index error");
		goto out;
	}
	uint64_t modseq = (uint64_t)sqlite3_column_int64(s, 4);
	int64_t new_mtime = sqlite3_column_int64(s, 10);
	int64_t cur_mtime = sqlite3_column_int64(s, 11);
	sqlite3_reset(s);
	bool need_cur = force_rescan || mb->full_rescan || store_dir_mtime(curdir) != cur_mtime;
	/* new/ is listed unless its mtime is the one recorded after the last
	 * listing, which is only recorded when old enough that no later
	 * change can carry the same (coarse) timestamp. */
	int64_t new_now = store_dir_mtime(newdir);
	bool need_new = force_rescan || new_mtime == 0 || new_now != new_mtime;
	if (need_new && store_dir_list(newdir, &newfiles) < 0) {
		ret = store_fail(user, STORE_ERR_TEMP, "%s: %s", newdir, strerror(errno));
		goto out;
	}
	if (!need_cur && newfiles.n == 0 && (!need_new || !mtime_settled(new_now))) {
		if (modseq_r != NULL)
			*modseq_r = modseq;
		goto out;
	}

	if (store_index_begin_write(idx) < 0) {
		ret = store_fail(user, STORE_ERR_TEMP, "index busy");
		goto out;
	}
	struct sync_ctx ctx = { .mb = mb, .idx = idx, .trust_uids = trust_uids };
	size_t nkw = store_mailbox_keywords(mb)->n;
	ctx.known_kw = nkw >= STORE_MAILDIR_KEYWORDS ? STORE_MAILDIR_KEYWORD_MASK :
		       (1ULL << nkw) - 1;
	buf_init(&ctx.path);
	buf_init(&ctx.path2);
	buf_init(&ctx.name);
	buf_init(&ctx.conv);
	strv_init(&ctx.to_convert);
	s = store_index_stmt(idx, STMT_MB_BY_ID);
	sqlite3_bind_int64(s, 1, mb->id);
	if (sqlite3_step(s) == SQLITE_ROW) {
		ctx.uidnext = (uint32_t)sqlite3_column_int64(s, 3);
		cur_mtime = sqlite3_column_int64(s, 11);
	}
	sqlite3_reset(s);
	/* Another process may have synced while we waited for the lock. */
	need_cur = force_rescan || mb->full_rescan || store_dir_mtime(curdir) != cur_mtime;
	if (need_cur)
		ret = rescan_cur(&ctx);
	strv_free(&newfiles);
	strv_init(&newfiles);
	new_now = store_dir_mtime(newdir);
	if (ret == 0 && store_dir_list(newdir, &newfiles) < 0)
		ret = store_fail(user, STORE_ERR_TEMP, "%s: %s", newdir, strerror(errno));
	for (size_t i = 0; ret == 0 && i < newfiles.n; i++)
		ret = adopt_file(&ctx, "new", newfiles.v[i]);
	if (ret == 0 && ctx.uidnext_dirty) {
		s = store_index_stmt(idx, STMT_MB_SET_UIDNEXT);
		sqlite3_bind_int64(s, 1, mb->id);
		sqlite3_bind_int64(s, 2, ctx.uidnext);
		(void)store_index_exec_stmt(idx, s);
	}
	if (ret == 0) {
		store_mailbox_note_mtimes(mb);
		s = store_index_stmt(idx, STMT_MB_SET_NEW_MTIME);
		sqlite3_bind_int64(s, 1, mb->id);
		sqlite3_bind_int64(s, 2, mtime_settled(new_now) ? new_now : 0);
		(void)store_index_exec_stmt(idx, s);
	}
	buf_free(&ctx.path);
	buf_free(&ctx.path2);
	buf_free(&ctx.name);
	buf_free(&ctx.conv);
	if (ret == 0 && ctx.converted) {
		/* Files converted here (no loop): their names durable
		 * before the index records them. */
		(void)fsync_dir(newdir);
		(void)fsync_dir(curdir);
	}
	if (ret < 0) {
		store_index_rollback(idx);
	} else if (store_index_commit(idx) < 0) {
		ret = store_fail(user, STORE_ERR_TEMP, "index error");
	} else {
		mb->full_rescan = false;
		if (ctx.changed)
			store_user_changed(user);
		if (ctx.adopted)
			store_hcache_fill(mb);
		store_crlf_queue(mb, &ctx.to_convert);
	}
	strv_free(&ctx.to_convert);
out:
	strv_free(&newfiles);
	free(newdir);
	free(curdir);
	return ret;
}

int store_mailbox_sync_full(struct store_mailbox *mb, bool force_rescan, bool trust_uids);
int store_mailbox_sync_full(struct store_mailbox *mb, bool force_rescan, bool trust_uids)
{
	return sync_full(mb, force_rescan, trust_uids, NULL);
}

int store_mailbox_sync_modseq(struct store_mailbox *mb, uint64_t *modseq_r)
{
	*modseq_r = 0;
	return sync_full(mb, false, false, modseq_r);
}

int store_mailbox_sync(struct store_mailbox *mb)
{
	return sync_full(mb, false, false, NULL);
}
