/* store_msg.c — messages of a mailbox: index rows, file access, flags
 * (written through to the Maildir ":2," suffix), expunge, copy/move and
 * cached strings. Runs in the workers on the loop; copy fsyncs in the
 * thread pool. Reads no untrusted input (flags and UIDs are parsed by
 * the protocol layers). */
#include "store_private.h"
#include "store_maildir.h"
#include "store_deliver.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Expunged UIDs remembered per mailbox for QRESYNC/VANISHED. */
#define STORE_EXPUNGED_KEEP 50000

#define MSG_SELECT "SELECT m.uid, m.name, m.flags, m.keywords, m.idate, m.itz, m.sdate, " \
	"m.size, m.modseq, c.envelope, c.bodystructure, c.body, c.headers FROM message m " \
	"LEFT JOIN message_cache c ON c.id = m.id "

static void row_to_msg(sqlite3_stmt *st, struct store_msg *m, bool headers)
{
	m->uid = (uint32_t)sqlite3_column_int64(st, 0);
	m->name = (const char *)sqlite3_column_text(st, 1);
	m->flags = (uint32_t)sqlite3_column_int64(st, 2);
	m->keywords = (uint64_t)sqlite3_column_int64(st, 3);
	m->idate = sqlite3_column_int64(st, 4);
	m->itz = sqlite3_column_int(st, 5);
	m->sdate = sqlite3_column_int64(st, 6);
	m->size = (uint64_t)sqlite3_column_int64(st, 7);
	m->modseq = (uint64_t)sqlite3_column_int64(st, 8);
	m->envelope = (const char *)sqlite3_column_text(st, 9);
	m->bodystructure = (const char *)sqlite3_column_text(st, 10);
	m->body = (const char *)sqlite3_column_text(st, 11);
	m->headers = sqlite3_column_blob(st, 12);
	m->headers_len = (size_t)sqlite3_column_bytes(st, 12);
	if (m->headers == NULL && sqlite3_column_type(st, 12) != SQLITE_NULL)
		m->headers = "";	/* an empty blob: too long to cache */
	m->headers_known = headers;
}

enum iter_kind { ITER_FULL, ITER_LIGHT, ITER_HEADERS, ITER_CHANGED };

#define ITER_RANGE "WHERE m.id BETWEEN ?1 * 4294967296 + ?2 AND ?1 * 4294967296 + ?3 " \
	"ORDER BY m.id"
static const char *const iter_sql[STORE_ITER_KINDS] = {
	[ITER_FULL] = MSG_SELECT ITER_RANGE,
	[ITER_LIGHT] = "SELECT m.uid, m.name, m.flags, m.keywords, m.idate, m.itz, m.sdate, "
		"m.size, m.modseq, NULL, NULL, NULL, NULL FROM message m " ITER_RANGE,
	[ITER_HEADERS] = "SELECT m.uid, m.name, m.flags, m.keywords, m.idate, m.itz, m.sdate, "
		"m.size, m.modseq, NULL, NULL, NULL, c.headers FROM message m "
		"LEFT JOIN message_cache c ON c.id = m.id " ITER_RANGE,
	[ITER_CHANGED] = MSG_SELECT "WHERE m.mailbox = ?1 AND m.modseq > ?2 ORDER BY m.id",
};

/* The kind's cached statement when no other iteration uses it (two can
 * run at once, nested), else a private one. */
static void iter_start(struct store_msg_iter *it, struct store_mailbox *mb, enum iter_kind kind)
{
	struct store_index *idx = mb->user->idx;
	it->mb = mb;
	it->failed = false;
	it->headers = kind != ITER_LIGHT;
	it->slot = -1;
	it->st = NULL;
	if (!idx->iter_busy[kind]) {
		if (idx->iter_st[kind] == NULL &&
		    sqlite3_prepare_v3(idx->db, iter_sql[kind], -1, SQLITE_PREPARE_PERSISTENT,
				       &idx->iter_st[kind], NULL) != SQLITE_OK)
			idx->iter_st[kind] = NULL;
		if (idx->iter_st[kind] != NULL) {
			idx->iter_busy[kind] = true;
			it->slot = (int)kind;
			it->st = idx->iter_st[kind];
			sqlite3_reset(it->st);
			sqlite3_clear_bindings(it->st);
			return;
		}
	}
	if (sqlite3_prepare_v2(idx->db, iter_sql[kind], -1, &it->st, NULL) != SQLITE_OK)
		log_panic("index: cannot prepare \"%s\": %s", iter_sql[kind], sqlite3_errmsg(idx->db));
}

static void iter_range(struct store_msg_iter *it, struct store_mailbox *mb,
		       enum iter_kind kind, uint32_t first_uid, uint32_t last_uid)
{
	iter_start(it, mb, kind);
	sqlite3_bind_int64(it->st, 1, mb->id);
	sqlite3_bind_int64(it->st, 2, first_uid);
	sqlite3_bind_int64(it->st, 3, last_uid);
}

void store_msg_iter_init(struct store_msg_iter *it, struct store_mailbox *mb,
			 uint32_t first_uid, uint32_t last_uid)
{
	iter_range(it, mb, ITER_FULL, first_uid, last_uid);
}

void store_msg_iter_init_light(struct store_msg_iter *it, struct store_mailbox *mb,
			       uint32_t first_uid, uint32_t last_uid)
{
	iter_range(it, mb, ITER_LIGHT, first_uid, last_uid);
}

void store_msg_iter_init_headers(struct store_msg_iter *it, struct store_mailbox *mb,
				 uint32_t first_uid, uint32_t last_uid)
{
	iter_range(it, mb, ITER_HEADERS, first_uid, last_uid);
}

void store_msg_iter_init_changed(struct store_msg_iter *it, struct store_mailbox *mb,
				 uint64_t modseq)
{
	iter_start(it, mb, ITER_CHANGED);
	sqlite3_bind_int64(it->st, 1, mb->id);
	sqlite3_bind_int64(it->st, 2, (sqlite3_int64)modseq);
}

static void iter_release(struct store_msg_iter *it)
{
	if (it->st == NULL)
		return;
	if (it->slot >= 0) {
		sqlite3_reset(it->st);
		it->mb->user->idx->iter_busy[it->slot] = false;
	} else {
		sqlite3_finalize(it->st);
	}
	it->st = NULL;
}

bool store_msg_iter_next(struct store_msg_iter *it, struct store_msg *msg_r)
{
	if (it->st == NULL)
		return false;
	int rc = sqlite3_step(it->st);
	if (rc == SQLITE_ROW) {
		row_to_msg(it->st, msg_r, it->headers);
		return true;
	}
	if (rc != SQLITE_DONE) {
		store_index_error(it->mb->user->idx, rc, "message iteration");
		it->failed = true;
	}
	iter_release(it);
	return false;
}

int store_msg_iter_deinit(struct store_msg_iter *it)
{
	iter_release(it);
	return it->failed ? -1 : 0;
}

int store_msg_get(struct store_mailbox *mb, uint32_t uid, struct store_msg *msg_r)
{
	sqlite3_stmt *st = store_index_stmt(mb->user->idx, STMT_MSG_GET);
	sqlite3_bind_int64(st, 1, mb->id);
	sqlite3_bind_int64(st, 2, uid);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		row_to_msg(st, msg_r, true);
		return 1;	/* the row stays readable until the next reset */
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return 0;
	store_index_error(mb->user->idx, rc, "message lookup");
	return store_fail(mb->user, STORE_ERR_TEMP, "index error");
}

int store_msg_keywords(struct store_mailbox *mb, uint32_t uid, uint64_t *keywords_r)
{
	struct store_msg m;
	int r = store_msg_get(mb, uid, &m);
	if (r > 0) {
		*keywords_r = m.keywords;
		sqlite3_reset(store_index_stmt(mb->user->idx, STMT_MSG_GET));
	}
	return r;
}

int store_msg_open(struct store_mailbox *mb, uint32_t uid, const char *name, int *fd_r)
{
	char *path = x_asprintf("%s/cur/%s", mb->path, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	for (int attempt = 0; fd < 0 && errno == ENOENT && attempt < 2; attempt++) {
		/* Renamed by a flag change elsewhere, or gone: look again,
		 * the second time after comparing cur/ in full. */
		if (attempt == 1) {
			mb->full_rescan = true;
			(void)store_mailbox_sync(mb);
		}
		struct store_msg m;
		int r = store_msg_get(mb, uid, &m);
		if (r <= 0)
			break;
		path = x_asprintf("%s/cur/%s", mb->path, m.name);
		sqlite3_reset(store_index_stmt(mb->user->idx, STMT_MSG_GET));
		fd = open(path, O_RDONLY | O_CLOEXEC);
		free(path);
	}
	if (fd < 0) {
		if (errno == ENOENT)
			return store_fail(mb->user, STORE_ERR_EXPUNGED, "Message was expunged");
		return store_fail(mb->user, STORE_ERR_TEMP, "Cannot open message: %s",
				  strerror(errno));
	}
	*fd_r = fd;
	return 0;
}

char *store_msg_path(const struct store_mailbox *mb, const char *name)
{
	return x_asprintf("%s/cur/%s", mb->path, name);
}

int store_msg_set_cache(struct store_mailbox *mb, uint32_t uid, const char *envelope,
			const char *bodystructure, const char *body)
{
	/* What the caller does not give is kept (COALESCE). */
	struct store_index *idx = mb->user->idx;
	sqlite3_stmt *st = store_index_stmt(idx, STMT_MSG_SET_CACHE);
	sqlite3_bind_int64(st, 1, mb->id);
	sqlite3_bind_int64(st, 2, uid);
	sqlite3_bind_text(st, 3, envelope, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, bodystructure, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, body, -1, SQLITE_STATIC);
	return store_index_exec_stmt(idx, st);
}

int store_msg_set_headers(struct store_mailbox *mb, uint32_t uid, const void *data, size_t len)
{
	struct store_index *idx = mb->user->idx;
	sqlite3_stmt *st = store_index_stmt(idx, STMT_MSG_SET_HEADERS);
	sqlite3_bind_int64(st, 1, mb->id);
	sqlite3_bind_int64(st, 2, uid);
	sqlite3_bind_blob(st, 3, len > 0 ? data : "", (int)len, SQLITE_STATIC);
	if (store_index_exec_stmt(idx, st) < 0)
		return -1;
	st = store_index_stmt(idx, STMT_MSG_SET_HC);
	sqlite3_bind_int64(st, 1, mb->id);
	sqlite3_bind_int64(st, 2, uid);
	return store_index_exec_stmt(idx, st);
}

int store_msg_put_cache(struct store_index *idx, int64_t mailbox_id, uint32_t uid,
			const char *envelope, const char *bodystructure, const char *body,
			const void *headers, size_t headers_len)
{
	if (envelope == NULL && bodystructure == NULL && body == NULL && headers == NULL)
		return 0;
	sqlite3_stmt *st = store_index_stmt(idx, STMT_MSG_PUT_CACHE);
	sqlite3_bind_int64(st, 1, mailbox_id);
	sqlite3_bind_int64(st, 2, uid);
	sqlite3_bind_text(st, 3, envelope, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, bodystructure, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, body, -1, SQLITE_TRANSIENT);
	if (headers != NULL)
		sqlite3_bind_blob(st, 6, headers_len > 0 ? headers : "", (int)headers_len,
				  SQLITE_TRANSIENT);
	return store_index_exec_stmt(idx, st);
}

int store_msg_cache_begin(struct store_mailbox *mb)
{
	return store_index_begin_write(mb->user->idx);
}

int store_msg_cache_end(struct store_mailbox *mb)
{
	return store_index_commit(mb->user->idx);
}

/* Resolves keyword names to a bit mask (creating them when create). */
static int keyword_mask(struct store_mailbox *mb, const char *const *names, size_t n,
			bool create, uint64_t *mask_r)
{
	uint64_t mask = 0;
	for (size_t i = 0; i < n; i++) {
		int bit = store_mailbox_keyword_index(mb, names[i], create);
		if (bit < 0) {
			if (create)
				return -1;
			continue;
		}
		mask |= 1ULL << bit;
	}
	*mask_r = mask;
	return 0;
}

/* Renames a message file for new system flags and keyword letters; 0,
 * or -1 if it is gone. */
static int rename_for_flags(struct store_mailbox *mb, const char *name, uint32_t flags,
			    uint64_t keywords, struct buf *newname)
{
	struct store_maildir_name n;
	buf_reset(newname);
	if (!store_maildir_name_parse(name, &n)) {
		buf_append_str(newname, name);
		return 0;
	}
	store_maildir_name_build(newname, n.base, n.base_len, flags & STORE_FLAGS_ALL, keywords);
	if (strcmp(newname->data, name) == 0)
		return 0;
	char *from = x_asprintf("%s/cur/%s", mb->path, name);
	char *to = x_asprintf("%s/cur/%s", mb->path, newname->data);
	int ret = rename(from, to);
	free(from);
	free(to);
	if (ret < 0) {
		mb->full_rescan = true;
		return -1;
	}
	return 0;
}

int store_msg_update_flags(struct store_mailbox *mb, const uint32_t *uids, size_t n,
			   const struct store_flag_change *change, store_flags_cb *cb,
			   void *ctx)
{
	struct store_user *user = mb->user;
	struct store_index *idx = user->idx;
	if (store_index_begin_write(idx) < 0)
		return store_fail(user, STORE_ERR_TEMP, "index busy");
	uint64_t kwmask = 0;
	if (keyword_mask(mb, change->keywords, change->n_keywords,
			 change->mode != STORE_MODIFY_REMOVE, &kwmask) < 0) {
		store_index_rollback(idx);
		return -1;
	}
	uint64_t modseq = 0;
	bool renamed = false;
	struct buf newname = BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		struct store_msg m;
		int r = store_msg_get(mb, uids[i], &m);
		if (r < 0)
			break;
		if (r == 0)
			continue;
		char *oldname = x_strdup(m.name);
		uint32_t flags = m.flags;
		uint64_t kw = m.keywords, old_modseq = m.modseq;
		sqlite3_reset(store_index_stmt(idx, STMT_MSG_GET));
		if (change->unchangedsince != 0 && old_modseq > change->unchangedsince) {
			cb(ctx, uids[i], flags, kw, old_modseq, false, true);
			free(oldname);
			continue;
		}
		uint32_t nflags = flags;
		uint64_t nkw = kw;
		switch (change->mode) {
		case STORE_MODIFY_REPLACE:
			nflags = change->flags;
			nkw = kwmask;
			break;
		case STORE_MODIFY_ADD:
			nflags |= change->flags;
			nkw |= kwmask;
			break;
		case STORE_MODIFY_REMOVE:
			nflags &= ~change->flags;
			nkw &= ~kwmask;
			break;
		}
		if (nflags == flags && nkw == kw) {
			cb(ctx, uids[i], flags, kw, old_modseq, false, false);
			free(oldname);
			continue;
		}
		if (rename_for_flags(mb, oldname, nflags, nkw, &newname) < 0) {
			/* Gone meanwhile: the next sync expunges it. */
			free(oldname);
			continue;
		}
		renamed = renamed || strcmp(newname.data, oldname) != 0;
		if (modseq == 0 && (modseq = store_mailbox_next_modseq(mb)) == 0) {
			free(oldname);
			break;
		}
		sqlite3_stmt *st = store_index_stmt(idx, STMT_MSG_SET_FLAGS);
		sqlite3_bind_int64(st, 1, mb->id);
		sqlite3_bind_int64(st, 2, uids[i]);
		sqlite3_bind_int64(st, 3, nflags);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)nkw);
		sqlite3_bind_int64(st, 5, (sqlite3_int64)modseq);
		sqlite3_bind_text(st, 6, newname.data, -1, SQLITE_STATIC);
		(void)store_index_exec_stmt(idx, st);
		cb(ctx, uids[i], nflags, nkw, modseq, true, false);
		free(oldname);
	}
	buf_free(&newname);
	if (renamed && !mb->full_rescan)
		store_mailbox_note_mtimes(mb);
	if (store_index_commit(idx) < 0)
		return store_fail(user, STORE_ERR_TEMP, "index error");
	if (modseq != 0)
		store_user_changed(user);
	return 0;
}

int store_msg_expunge(struct store_mailbox *mb, const uint32_t *uids, size_t n,
		      bool only_deleted, void (*cb)(void *ctx, uint32_t uid), void *ctx)
{
	struct store_user *user = mb->user;
	struct store_index *idx = user->idx;
	if (store_index_begin_write(idx) < 0)
		return store_fail(user, STORE_ERR_TEMP, "index busy");
	uint64_t modseq = 0;
	char *path = NULL;
	for (size_t i = 0; i < n; i++) {
		struct store_msg m;
		int r = store_msg_get(mb, uids[i], &m);
		if (r < 0)
			break;
		if (r == 0)
			continue;
		bool skip = only_deleted && (m.flags & STORE_FLAG_DELETED) == 0;
		if (!skip) {
			free(path);
			path = x_asprintf("%s/cur/%s", mb->path, m.name);
		}
		sqlite3_reset(store_index_stmt(idx, STMT_MSG_GET));
		if (skip)
			continue;
		if (modseq == 0 && (modseq = store_mailbox_next_modseq(mb)) == 0)
			break;
		if (unlink(path) < 0 && errno != ENOENT) {
			log_error("store %s: unlink %s: %s", user->address, path, strerror(errno));
			continue;
		}
		sqlite3_stmt *st = store_index_stmt(idx, STMT_MSG_DELETE);
		sqlite3_bind_int64(st, 1, mb->id);
		sqlite3_bind_int64(st, 2, uids[i]);
		(void)store_index_exec_stmt(idx, st);
		st = store_index_stmt(idx, STMT_EXP_INSERT);
		sqlite3_bind_int64(st, 1, mb->id);
		sqlite3_bind_int64(st, 2, uids[i]);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)modseq);
		(void)store_index_exec_stmt(idx, st);
		if (cb != NULL)
			cb(ctx, uids[i]);
	}
	free(path);
	if (modseq != 0 && (modseq & 63) == 0) {
		/* Bound the expunge history: keep the newest entries; older
		 * QRESYNC states fall back to "anything not present". */
		char *sql = x_asprintf(
			"UPDATE mailbox SET vanished_modseq = MAX(vanished_modseq, COALESCE("
			"(SELECT modseq FROM expunged WHERE mailbox = %1$lld ORDER BY modseq DESC "
			"LIMIT 1 OFFSET %2$d), 0)) WHERE id = %1$lld;"
			"DELETE FROM expunged WHERE mailbox = %1$lld AND modseq < "
			"(SELECT vanished_modseq FROM mailbox WHERE id = %1$lld);",
			(long long)mb->id, STORE_EXPUNGED_KEEP);
		(void)store_index_exec(idx, sql);
		free(sql);
	}
	if (modseq != 0) {
		/* Keep UIDNEXT in the state file so a rebuild never reuses
		 * the UIDs expunged here. */
		struct store_mailbox_info info;
		if (store_mailbox_info_get(mb, &info) == 0) {
			store_mailbox_write_state(mb, info.uidnext);
			free(info.name);
		}
		store_mailbox_note_mtimes(mb);
	}
	if (store_index_commit(idx) < 0)
		return store_fail(user, STORE_ERR_TEMP, "index error");
	if (modseq != 0)
		store_user_changed(user);
	return 0;
}

/* ---- copy / move ---- */

struct copy_job {
	uv_work_t work;
	struct store_mailbox *src, *dst;
	uint32_t *src_uids;
	uint32_t *dst_uids;
	size_t n_done;
	bool move;
	enum store_error error;
	store_copy_cb *cb;
	void *ctx;
	char *dst_cur;
	int fsync_errno;
};

/* Links the messages into dst and indexes them (one transaction). */
static int copy_link(struct copy_job *job, const uint32_t *uids, size_t n)
{
	struct store_mailbox *src = job->src, *dst = job->dst;
	struct store_user *user = src->user;
	struct store_index *idx = user->idx;
	if (store_index_begin_write(idx) < 0)
		return store_fail(user, STORE_ERR_TEMP, "index busy");
	/* Quota: a copy adds its size; a move within the account does not. */
	if (!job->move && user->quota_bytes > 0) {
		uint64_t used = 0, add = 0;
		(void)store_user_usage(user, &used, NULL);
		for (size_t i = 0; i < n; i++) {
			struct store_msg m;
			if (store_msg_get(src, uids[i], &m) > 0)
				add += m.size;
		}
		sqlite3_reset(store_index_stmt(idx, STMT_MSG_GET));
		if (used + add > user->quota_bytes) {
			store_index_rollback(idx);
			return store_fail(user, STORE_ERR_OVERQUOTA, "Quota exceeded");
		}
	}
	uint32_t next = store_mailbox_reserve_uids(dst, (uint32_t)n);
	uint64_t modseq = next != 0 ? store_mailbox_next_modseq(dst) : 0;
	if (next == 0 || modseq == 0) {
		store_index_rollback(idx);
		return -1;
	}
	const struct strv *skw = store_mailbox_keywords(src);
	struct strv src_kw;
	strv_init(&src_kw);
	strv_copy(&src_kw, skw);
	struct buf base = BUF_INIT, name = BUF_INIT, from = BUF_INIT, to = BUF_INIT;
	int ret = 0;
	time_t now = time(NULL);
	for (size_t i = 0; i < n && ret == 0; i++) {
		struct store_msg m;
		int r = store_msg_get(src, uids[i], &m);
		if (r < 0) {
			ret = -1;
			break;
		}
		if (r == 0)
			continue;
		struct store_msg c = m;
		char *mname = x_strdup(m.name);
		char *env = m.envelope != NULL ? x_strdup(m.envelope) : NULL;
		char *bs = m.bodystructure != NULL ? x_strdup(m.bodystructure) : NULL;
		char *body = m.body != NULL ? x_strdup(m.body) : NULL;
		char *hdrs = NULL;
		size_t hdrs_len = m.headers_len;
		if (m.headers != NULL) {
			hdrs = x_malloc(hdrs_len + 1);
			memcpy(hdrs, m.headers, hdrs_len);
		}
		sqlite3_reset(store_index_stmt(idx, STMT_MSG_GET));
		/* Keywords are per mailbox: translate the bits by name. */
		uint64_t kw = 0;
		for (size_t b = 0; b < src_kw.n && b < 64; b++) {
			if ((c.keywords & (1ULL << b)) == 0)
				continue;
			int nb = store_mailbox_keyword_index(dst, src_kw.v[b], true);
			if (nb >= 0)
				kw |= 1ULL << nb;
		}
		struct store_maildir_name pn;
		uint32_t uid = next++;
		buf_reset(&base);
		buf_reset(&name);
		if (store_maildir_name_parse(mname, &pn))
			store_maildir_base_with_uid(&base, &pn, uid);
		else
			buf_appendf(&base, "%s,U=%u", mname, uid);
		store_maildir_name_build(&name, base.data, base.len, c.flags & STORE_FLAGS_ALL, kw);
		buf_reset(&from);
		buf_reset(&to);
		buf_appendf(&from, "%s/cur/%s", src->path, mname);
		buf_appendf(&to, "%s/cur/%s", dst->path, name.data);
		if (link(from.data, to.data) < 0) {
			if (errno != ENOENT)
				ret = store_fail(user, STORE_ERR_TEMP, "link: %s", strerror(errno));
			else
				src->full_rescan = true;
		} else {
			sqlite3_stmt *st = store_index_stmt(idx, STMT_MSG_INSERT);
			sqlite3_bind_int64(st, 1, dst->id);
			sqlite3_bind_int64(st, 2, uid);
			sqlite3_bind_text(st, 3, name.data, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 4, c.flags);
			sqlite3_bind_int64(st, 5, (sqlite3_int64)kw);
			sqlite3_bind_int64(st, 6, c.idate);
			sqlite3_bind_int(st, 7, c.itz);
			sqlite3_bind_int64(st, 8, now);
			sqlite3_bind_int64(st, 9, (sqlite3_int64)c.size);
			sqlite3_bind_int64(st, 10, (sqlite3_int64)modseq);
			sqlite3_bind_int(st, 11, hdrs != NULL);
			if (store_index_exec_stmt(idx, st) < 0 ||
			    store_msg_put_cache(idx, dst->id, uid, env, bs, body, hdrs, hdrs_len) < 0)
				ret = -1;
			job->src_uids[job->n_done] = uids[i];
			job->dst_uids[job->n_done] = uid;
			job->n_done++;
		}
		free(mname);
		free(env);
		free(bs);
		free(body);
		free(hdrs);
	}
	buf_free(&base);
	buf_free(&name);
	buf_free(&from);
	buf_free(&to);
	strv_free(&src_kw);
	if (ret == 0)
		store_mailbox_note_mtimes(dst);
	if (ret < 0) {
		store_index_rollback(idx);
		job->n_done = 0;
		return -1;
	}
	if (store_index_commit(idx) < 0) {
		job->n_done = 0;
		return store_fail(user, STORE_ERR_TEMP, "index error");
	}
	store_user_changed(user);
	return 0;
}

static void copy_work(uv_work_t *w)
{
	struct copy_job *job = w->data;
	/* The links share the files' durable data: only the names. */
	const char *dirs[] = { job->dst_cur };
	const char *error;
	if (store_deliver_sync(-1, dirs, 1, &error) < 0)
		job->fsync_errno = errno != 0 ? errno : EIO;
}

static void copy_after_fsync(uv_work_t *w, int status)
{
	struct copy_job *job = w->data;
	if (status != 0 || job->fsync_errno != 0) {
		log_error("store %s: fsync %s: %s", job->src->user->address, job->dst_cur,
			  strerror(job->fsync_errno != 0 ? job->fsync_errno : EIO));
		job->error = STORE_ERR_TEMP;
	} else if (job->move && job->n_done > 0) {
		/* The copies are durable; now remove the originals. */
		if (store_msg_expunge(job->src, job->src_uids, job->n_done, false, NULL, NULL) < 0)
			log_error("store %s: move: cannot expunge the originals: %s",
				  job->src->user->address, store_user_error_text(job->src->user));
	}
	job->cb(job->ctx, job->src_uids, job->dst_uids, job->error == STORE_ERR_NONE ? job->n_done : 0,
		job->error);
	free(job->src_uids);
	free(job->dst_uids);
	free(job->dst_cur);
	free(job);
}

void store_msg_copy(struct store_mailbox *src, const uint32_t *uids, size_t n,
		    struct store_mailbox *dst, bool move, store_copy_cb *cb, void *ctx)
{
	struct copy_job *job = x_calloc(1, sizeof(*job));
	job->src = src;
	job->dst = dst;
	job->move = move && src->id != dst->id;
	job->cb = cb;
	job->ctx = ctx;
	job->src_uids = x_calloc(n + 1, sizeof(uint32_t));
	job->dst_uids = x_calloc(n + 1, sizeof(uint32_t));
	job->dst_cur = x_asprintf("%s/cur", dst->path);
	job->work.data = job;
	if (n > 0 && copy_link(job, uids, n) < 0)
		job->error = store_user_error(src->user);
	if (src->user->loop == NULL) {
		/* No loop (commands, tests): do it all now. */
		copy_work(&job->work);
		copy_after_fsync(&job->work, 0);
		return;
	}
	if (uv_queue_work(src->user->loop, &job->work, copy_work, copy_after_fsync) != 0)
		log_fatal("uv_queue_work failed");
}
