/* store_mailbox.c — mailboxes: names, folder directories, index rows,
 * create/delete/rename, subscriptions, status and keywords.
 * Runs in the workers and `correu reindex`. Mailbox names come from
 * clients: they are checked here before touching the file system. */
#include "store_private.h"
#include "store_deliver.h"
#include "store_mutf7.h"
#include "fsutil.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int store_mailbox_name_check(const char *name, char **canon_r, const char **error_r)
{
	size_t len = strlen(name);
	if (len == 0) {
		*error_r = "Empty mailbox name";
		return -1;
	}
	if (len > STORE_MAILBOX_NAME_MAX) {
		*error_r = "Mailbox name too long";
		return -1;
	}
	if (!store_utf8_valid(name, len)) {
		*error_r = "Mailbox name is not valid UTF-8";
		return -1;
	}
	const char *prev = name;
	for (const char *p = name;; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == STORE_HIERARCHY_SEP || c == '\0') {
			if (p == prev) {
				*error_r = "Empty hierarchy level in mailbox name";
				return -1;
			}
			prev = p + 1;
			if (c == '\0')
				break;
			continue;
		}
		if (c < 0x20 || c == 0x7f || c == '/' || c == '\\' || c == '*' || c == '%') {
			*error_r = "Invalid character in mailbox name";
			return -1;
		}
	}
	if (strncasecmp(name, "INBOX", 5) == 0 && (name[5] == '\0' || name[5] == STORE_HIERARCHY_SEP)) {
		char *c = x_strdup(name);
		memcpy(c, "INBOX", 5);
		*canon_r = c;
	} else {
		*canon_r = x_strdup(name);
	}
	return 0;
}

char *store_mailbox_dir(const struct store_user *user, const char *name)
{
	if (strcmp(name, "INBOX") == 0)
		return x_strdup(user->maildir);
	struct buf b = BUF_INIT;
	buf_appendf(&b, "%s/.", user->maildir);
	if (store_utf8_to_mutf7(name, strlen(name), &b) < 0)
		log_panic("store: unchecked mailbox name");
	return buf_steal(&b);
}

/* Reads the mailbox row at the statement's current position. */
static void row_to_info(sqlite3_stmt *st, struct store_mailbox_info *info)
{
	memset(info, 0, sizeof(*info));
	info->name = x_strdup((const char *)sqlite3_column_text(st, 1));
	info->uidvalidity = (uint32_t)sqlite3_column_int64(st, 2);
	info->uidnext = (uint32_t)sqlite3_column_int64(st, 3);
	info->highestmodseq = (uint64_t)sqlite3_column_int64(st, 4);
	info->special = (unsigned)sqlite3_column_int(st, 7);
	const unsigned char *g = sqlite3_column_text(st, 8);
	snprintf(info->guid, sizeof(info->guid), "%s", g != NULL ? (const char *)g : "");
	info->messages = (uint32_t)sqlite3_column_int64(st, 12);
	info->unseen = (uint32_t)sqlite3_column_int64(st, 13);
	info->deleted = (uint32_t)sqlite3_column_int64(st, 14);
	info->size = (uint64_t)sqlite3_column_int64(st, 15);
}

/* Row of name: 1 found (st positioned, caller resets), 0 none, -1 error. */
static int lookup(struct store_user *user, const char *name, sqlite3_stmt **st_r)
{
	sqlite3_stmt *st = store_index_stmt(user->idx, STMT_MB_BY_NAME);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*st_r = st;
		return 1;
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return 0;
	store_index_error(user->idx, rc, "mailbox lookup");
	return store_fail(user, STORE_ERR_TEMP, "index error");
}

int store_mailbox_list(struct store_user *user, struct store_mailbox_info **list_r,
		       size_t *count_r)
{
	sqlite3_stmt *st = store_index_stmt(user->idx, STMT_MB_LIST);
	struct store_mailbox_info *list = NULL;
	size_t n = 0, cap = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			list = x_reallocarray(list, cap, sizeof(*list));
		}
		row_to_info(st, &list[n++]);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		store_index_error(user->idx, rc, "mailbox list");
		store_mailbox_info_free(list, n);
		return store_fail(user, STORE_ERR_TEMP, "index error");
	}
	*list_r = list;
	*count_r = n;
	return 0;
}

void store_mailbox_info_free(struct store_mailbox_info *list, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(list[i].name);
	free(list);
}

static uint32_t new_uidvalidity(struct store_user *user)
{
	int64_t last = store_index_meta_get(user->idx, "last_uidvalidity", 0);
	int64_t v = (int64_t)time(NULL);
	if (v <= last)
		v = last + 1;
	if (v > UINT32_MAX)
		v = 1;
	(void)store_index_meta_set(user->idx, "last_uidvalidity", v);
	return (uint32_t)v;
}

static void new_guid(char out[33])
{
	unsigned char r[16];
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		for (size_t i = 0; i < sizeof(r); i++)
			r[i] = (unsigned char)((ts.tv_nsec >> (i % 8)) ^ (getpid() >> (i % 4)) ^ i);
	}
	for (size_t i = 0; i < sizeof(r); i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
}

/* Reads a folder's state file; 0 if present and sane, -1 if missing or
 * damaged, -2 if it exists but cannot be read (permissions, I/O). */
static int read_state(const char *dir, uint32_t *uidvalidity_r, uint32_t *uidnext_r,
		      char guid_r[33])
{
	char *p = x_asprintf("%s/" STORE_STATE_FILE, dir);
	struct buf b = BUF_INIT;
	int ret = read_file(p, &b, 4096);
	if (ret < 0 && errno != ENOENT) {
		log_error("store: cannot read %s: %s", p, strerror(errno));
		ret = -2;
	}
	free(p);
	if (ret == 0) {
		unsigned long v, n;
		char g[33];
		if (sscanf(buf_cstr(&b), "%lu %lu %32[0-9a-f]", &v, &n, g) == 3 && v > 0 &&
		    v <= UINT32_MAX && n > 0 && n <= UINT32_MAX && strlen(g) == 32) {
			*uidvalidity_r = (uint32_t)v;
			*uidnext_r = (uint32_t)n;
			memcpy(guid_r, g, 33);
		} else {
			ret = -1;
		}
	}
	buf_free(&b);
	return ret;
}

int store_mailbox_state_read(const char *dir, uint32_t *uidvalidity_r, uint32_t *uidnext_r,
			     char guid_r[33]);
int store_mailbox_state_read(const char *dir, uint32_t *uidvalidity_r, uint32_t *uidnext_r,
			     char guid_r[33])
{
	return read_state(dir, uidvalidity_r, uidnext_r, guid_r);
}

/* The record is padded to a fixed size and, once the file exists,
 * rewritten in place: one sector-sized pwrite, no new inode per expunge. */
#define STATE_RECORD 64

/* Replaces path with data through a temporary file and a rename, not
 * fsynced (the callers say why that is enough). Logs a failure. */
static void replace_small_file(const char *path, const void *data, size_t len)
{
	char *tmp = x_asprintf("%s.%d", path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write_full(fd, data, len) < 0 || rename(tmp, path) < 0) {
		log_warn("store: cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
	}
	if (fd >= 0)
		close(fd);
	free(tmp);
}

static void write_state(const char *dir, uint32_t uidvalidity, uint32_t uidnext,
			const char *guid)
{
	char *p = x_asprintf("%s/" STORE_STATE_FILE, dir);
	char line[STATE_RECORD + 1];
	int len = snprintf(line, sizeof(line), "%u %u %s", uidvalidity, uidnext, guid);
	memset(line + len, ' ', STATE_RECORD - 1 - (size_t)len);
	line[STATE_RECORD - 1] = '\n';
	int fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		struct stat st;
		if (fstat(fd, &st) == 0 && st.st_size == STATE_RECORD &&
		    pwrite(fd, line, STATE_RECORD, 0) == STATE_RECORD) {
			close(fd);
			free(p);
			return;
		}
		close(fd);
	}
	replace_small_file(p, line, STATE_RECORD);
	free(p);
}

void store_mailbox_write_state(struct store_mailbox *mb, uint32_t uidnext)
{
	write_state(mb->path, mb->uidvalidity, uidnext, mb->guid);
}

/* Inserts the row of a mailbox whose directory exists. */
int store_mailbox_insert_row(struct store_user *user, const char *name, uint32_t uidvalidity,
			     uint32_t uidnext, uint64_t modseq, unsigned special,
			     const char *guid);
int store_mailbox_insert_row(struct store_user *user, const char *name, uint32_t uidvalidity,
			     uint32_t uidnext, uint64_t modseq, unsigned special,
			     const char *guid)
{
	sqlite3_stmt *st = store_index_stmt(user->idx, STMT_MB_INSERT);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, uidvalidity);
	sqlite3_bind_int64(st, 3, uidnext);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)modseq);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)modseq);
	sqlite3_bind_int64(st, 6, uidnext);
	sqlite3_bind_int(st, 7, (int)special);
	sqlite3_bind_text(st, 8, guid, -1, SQLITE_STATIC);
	return store_index_exec_stmt(user->idx, st);
}

static int create_one(struct store_user *user, const char *name, unsigned special)
{
	char *dir = store_mailbox_dir(user, name);
	int ret = 0;
	const char *error;
	if (strcmp(name, "INBOX") == 0) {
		ret = store_maildir_ensure(user->maildir, NULL, &error);
	} else {
		/* store_maildir_ensure makes "<root>/.<folder>". */
		ret = store_maildir_ensure(user->maildir, dir + strlen(user->maildir) + 2, &error);
	}
	if (ret < 0) {
		free(dir);
		return store_fail(user, STORE_ERR_TEMP, "Cannot create mailbox: %s", error);
	}
	uint32_t uidvalidity, uidnext;
	char guid[33];
	int st = read_state(dir, &uidvalidity, &uidnext, guid);
	if (st == -2) {
		free(dir);
		return store_fail(user, STORE_ERR_TEMP, "Cannot read the mailbox state");
	}
	if (st < 0) {
		/* A fresh folder (or one another tool made): new identity. */
		uidvalidity = new_uidvalidity(user);
		uidnext = 1;
		new_guid(guid);
		write_state(dir, uidvalidity, uidnext, guid);
	}
	free(dir);
	if (store_mailbox_insert_row(user, name, uidvalidity, uidnext, 1, special, guid) < 0)
		return store_fail(user, STORE_ERR_TEMP, "index error");
	return 0;
}

int store_mailbox_create(struct store_user *user, const char *name, unsigned special)
{
	const char *error;
	char *canon;
	if (store_mailbox_name_check(name, &canon, &error) < 0)
		return store_fail(user, STORE_ERR_INVALID, "%s", error);
	if (store_index_begin_write(user->idx) < 0) {
		free(canon);
		return store_fail(user, STORE_ERR_TEMP, "index busy");
	}
	sqlite3_stmt *st;
	int ret = lookup(user, canon, &st);
	if (ret > 0) {
		sqlite3_reset(st);
		ret = store_fail(user, STORE_ERR_EXISTS, "Mailbox already exists");
	} else if (ret == 0) {
		/* Missing parents first (RFC 3501 6.3.3). */
		for (char *p = strchr(canon, STORE_HIERARCHY_SEP); p != NULL && ret == 0;
		     p = strchr(p + 1, STORE_HIERARCHY_SEP)) {
			*p = '\0';
			int r = lookup(user, canon, &st);
			if (r > 0)
				sqlite3_reset(st);
			else if (r == 0)
				ret = create_one(user, canon, 0);
			else
				ret = -1;
			*p = STORE_HIERARCHY_SEP;
		}
		if (ret == 0)
			ret = create_one(user, canon, special);
	}
	if (ret < 0) {
		store_index_rollback(user->idx);
	} else if (store_index_commit(user->idx) < 0) {
		ret = store_fail(user, STORE_ERR_TEMP, "index error");
	} else {
		store_user_changed(user);
	}
	free(canon);
	return ret;
}

static bool has_children(struct store_user *user, const char *name, struct strv *children)
{
	struct store_mailbox_info *list;
	size_t n;
	bool found = false;
	if (store_mailbox_list(user, &list, &n) < 0)
		return false;
	size_t len = strlen(name);
	for (size_t i = 0; i < n; i++) {
		if (strncmp(list[i].name, name, len) == 0 &&
		    list[i].name[len] == STORE_HIERARCHY_SEP) {
			found = true;
			if (children != NULL)
				strv_push(children, list[i].name);
		}
	}
	store_mailbox_info_free(list, n);
	return found;
}

int store_mailbox_delete(struct store_user *user, const char *name)
{
	const char *error;
	char *canon;
	if (store_mailbox_name_check(name, &canon, &error) < 0)
		return store_fail(user, STORE_ERR_INVALID, "%s", error);
	if (strcmp(canon, "INBOX") == 0) {
		free(canon);
		return store_fail(user, STORE_ERR_NOTPERMITTED, "INBOX cannot be deleted");
	}
	struct store_mailbox *mb;
	if (store_mailbox_open(user, canon, &mb) < 0) {
		free(canon);
		return -1;
	}
	if (has_children(user, canon, NULL)) {
		store_mailbox_close(&mb);
		free(canon);
		return store_fail(user, STORE_ERR_NOTPERMITTED,
				  "Mailbox has children, delete them first");
	}
	/* Move the folder out of the way first so nothing adopts it. */
	char *grave = x_asprintf("%s/tmp/deleted-%s", user->maildir, mb->guid);
	if (rename(mb->path, grave) < 0 && errno != ENOENT) {
		int err = errno;
		free(grave);
		store_mailbox_close(&mb);
		free(canon);
		return store_fail(user, STORE_ERR_TEMP, "Cannot delete mailbox: %s", strerror(err));
	}
	int ret = store_index_begin_write(user->idx);
	if (ret == 0) {
		sqlite3_stmt *st = store_index_stmt(user->idx, STMT_MSG_DELETE_MAILBOX);
		sqlite3_bind_int64(st, 1, mb->id);
		(void)store_index_exec_stmt(user->idx, st);
		st = store_index_stmt(user->idx, STMT_EXP_DELETE_MAILBOX);
		sqlite3_bind_int64(st, 1, mb->id);
		(void)store_index_exec_stmt(user->idx, st);
		st = store_index_stmt(user->idx, STMT_MB_DELETE);
		sqlite3_bind_int64(st, 1, mb->id);
		(void)store_index_exec_stmt(user->idx, st);
		ret = store_index_commit(user->idx);
	}
	if (ret < 0) {
		/* Put the folder back; the index still lists it. */
		(void)rename(grave, mb->path);
		ret = store_fail(user, STORE_ERR_TEMP, "index error");
	} else {
		if (remove_tree(grave) < 0 && errno != ENOENT)
			log_warn("store %s: cannot remove %s: %s", user->address, grave,
				 strerror(errno));
		store_user_changed(user);
	}
	free(grave);
	store_mailbox_close(&mb);
	free(canon);
	return ret;
}

static int write_subscriptions(struct store_user *user)
{
	struct strv names;
	strv_init(&names);
	if (store_subscriptions(user, &names) < 0)
		return -1;
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < names.n; i++)
		buf_appendf(&b, "%s\n", names.v[i]);
	char *p = x_asprintf("%s/" STORE_SUBSCRIPTIONS_FILE, user->maildir);
	char *tmp = x_asprintf("%s.%d", p, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write_full(fd, b.data != NULL ? b.data : "", b.len) < 0 ||
	    rename(tmp, p) < 0)
		unlink(tmp);
	if (fd >= 0)
		close(fd);
	free(tmp);
	free(p);
	buf_free(&b);
	strv_free(&names);
	return 0;
}

static int rename_subscription(struct store_user *user, const char *from, const char *to)
{
	sqlite3_stmt *st = store_index_stmt(user->idx, STMT_SUB_DEL);
	sqlite3_bind_text(st, 1, from, -1, SQLITE_STATIC);
	if (store_index_exec_stmt(user->idx, st) < 0)
		return -1;
	if (sqlite3_changes(user->idx->db) == 0)
		return 0;
	st = store_index_stmt(user->idx, STMT_SUB_ADD);
	sqlite3_bind_text(st, 1, to, -1, SQLITE_STATIC);
	return store_index_exec_stmt(user->idx, st);
}

static void write_keywords_file(struct store_mailbox *mb);

static int rename_inbox(struct store_user *user, const char *to)
{
	struct store_mailbox *src, *dst;
	if (store_mailbox_open(user, "INBOX", &src) < 0)
		return -1;
	(void)store_mailbox_sync(src);
	if (store_mailbox_create(user, to, 0) < 0 || store_mailbox_open(user, to, &dst) < 0) {
		store_mailbox_close(&src);
		return -1;
	}
	/* Every message keeps its UID and keywords in the new mailbox (a new
	 * UIDVALIDITY there) and is expunged from INBOX. */
	int ret = store_index_begin_write(user->idx);
	if (ret == 0) {
		struct strv kw;
		strv_init(&kw);
		strv_copy(&kw, store_mailbox_keywords(src));
		(void)store_mailbox_set_keywords(dst, &kw);
		if (kw.n > 0) {
			strv_free(&dst->keywords);
			strv_init(&dst->keywords);
			strv_copy(&dst->keywords, &kw);
			write_keywords_file(dst);
		}
		strv_free(&kw);
	}
	uint64_t modseq = ret == 0 ? store_mailbox_next_modseq(src) : 0;
	struct store_msg_iter it;
	struct store_msg m;
	uint32_t max_uid = 0;
	struct buf from = BUF_INIT, dest = BUF_INIT;
	store_msg_iter_init(&it, src, 1, UINT32_MAX);
	while (ret == 0 && store_msg_iter_next(&it, &m)) {
		buf_reset(&from);
		buf_reset(&dest);
		buf_appendf(&from, "%s/cur/%s", src->path, m.name);
		buf_appendf(&dest, "%s/cur/%s", dst->path, m.name);
		if (rename(from.data, dest.data) < 0) {
			if (errno == ENOENT)
				continue;
			ret = store_fail(user, STORE_ERR_TEMP, "rename: %s", strerror(errno));
			break;
		}
		sqlite3_stmt *st = store_index_stmt(user->idx, STMT_MSG_INSERT);
		sqlite3_bind_int64(st, 1, dst->id);
		sqlite3_bind_int64(st, 2, m.uid);
		sqlite3_bind_text(st, 3, m.name, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 4, m.flags);
		sqlite3_bind_int64(st, 5, (sqlite3_int64)m.keywords);
		sqlite3_bind_int64(st, 6, m.idate);
		sqlite3_bind_int(st, 7, m.itz);
		sqlite3_bind_int64(st, 8, m.sdate);
		sqlite3_bind_int64(st, 9, (sqlite3_int64)m.size);
		sqlite3_bind_int64(st, 10, 1);
		sqlite3_bind_int(st, 11, m.headers != NULL);
		(void)store_index_exec_stmt(user->idx, st);
		(void)store_msg_put_cache(user->idx, dst->id, m.uid, m.envelope, m.bodystructure,
					  m.body, m.headers, m.headers_len);
		st = store_index_stmt(user->idx, STMT_EXP_INSERT);
		sqlite3_bind_int64(st, 1, src->id);
		sqlite3_bind_int64(st, 2, m.uid);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)modseq);
		(void)store_index_exec_stmt(user->idx, st);
		if (m.uid > max_uid)
			max_uid = m.uid;
	}
	if (store_msg_iter_deinit(&it) < 0 && ret == 0)
		ret = -1;
	if (ret == 0) {
		sqlite3_stmt *st = store_index_stmt(user->idx, STMT_MSG_DELETE_MAILBOX);
		sqlite3_bind_int64(st, 1, src->id);
		(void)store_index_exec_stmt(user->idx, st);
		st = store_index_stmt(user->idx, STMT_MB_SET_UIDNEXT);
		sqlite3_bind_int64(st, 1, dst->id);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)max_uid + 1);
		(void)store_index_exec_stmt(user->idx, st);
		store_mailbox_note_mtimes(src);
		store_mailbox_note_mtimes(dst);
		store_mailbox_write_state(dst, max_uid + 1);
		if (store_index_commit(user->idx) < 0)
			ret = store_fail(user, STORE_ERR_TEMP, "index error");
	} else if (user->idx->write_depth > 0) {
		store_index_rollback(user->idx);
	}
	buf_free(&from);
	buf_free(&dest);
	store_mailbox_close(&src);
	store_mailbox_close(&dst);
	store_user_changed(user);
	return ret;
}

int store_mailbox_rename(struct store_user *user, const char *from, const char *to)
{
	const char *error;
	char *cfrom, *cto;
	if (store_mailbox_name_check(from, &cfrom, &error) < 0)
		return store_fail(user, STORE_ERR_INVALID, "%s", error);
	if (store_mailbox_name_check(to, &cto, &error) < 0) {
		free(cfrom);
		return store_fail(user, STORE_ERR_INVALID, "%s", error);
	}
	int ret = 0;
	sqlite3_stmt *st;
	size_t flen = strlen(cfrom);
	int r = lookup(user, cto, &st);
	if (r > 0) {
		sqlite3_reset(st);
		ret = store_fail(user, STORE_ERR_EXISTS, "Target mailbox already exists");
	} else if (r < 0) {
		ret = -1;
	} else if ((r = lookup(user, cfrom, &st)) <= 0) {
		ret = r < 0 ? -1 : store_fail(user, STORE_ERR_NONEXISTENT, "Mailbox doesn't exist");
	} else {
		sqlite3_reset(st);
		if (strncmp(cto, cfrom, flen) == 0 && cto[flen] == STORE_HIERARCHY_SEP)
			ret = store_fail(user, STORE_ERR_INVALID,
					 "Cannot rename a mailbox into its own child");
		else if (strcmp(cto, "INBOX") == 0 ||
			 (strncmp(cto, "INBOX", 5) == 0 && cto[5] == STORE_HIERARCHY_SEP &&
			  strcmp(cfrom, "INBOX") == 0))
			ret = store_fail(user, STORE_ERR_NOTPERMITTED, "Cannot rename to INBOX");
	}
	if (ret < 0)
		goto out;
	if (strcmp(cfrom, "INBOX") == 0) {
		ret = rename_inbox(user, cto);
		goto out;
	}
	/* Parents of the new name. */
	char *slash = strrchr(cto, STORE_HIERARCHY_SEP);
	if (slash != NULL) {
		*slash = '\0';
		if (lookup(user, cto, &st) > 0)
			sqlite3_reset(st);
		else if (store_mailbox_create(user, cto, 0) < 0 &&
			 user->last_error != STORE_ERR_EXISTS)
			ret = -1;
		*slash = STORE_HIERARCHY_SEP;
		if (ret < 0)
			goto out;
	}
	struct strv names;
	strv_init(&names);
	strv_push(&names, cfrom);
	(void)has_children(user, cfrom, &names);
	if (store_index_begin_write(user->idx) < 0) {
		strv_free(&names);
		ret = store_fail(user, STORE_ERR_TEMP, "index busy");
		goto out;
	}
	size_t done = 0;
	for (; done < names.n; done++) {
		char *newname = x_asprintf("%s%s", cto, names.v[done] + flen);
		char *odir = store_mailbox_dir(user, names.v[done]);
		char *ndir = store_mailbox_dir(user, newname);
		if (lookup(user, names.v[done], &st) > 0) {
			int64_t id = sqlite3_column_int64(st, 0);
			sqlite3_reset(st);
			if (rename(odir, ndir) < 0 && errno != ENOENT) {
				ret = store_fail(user, STORE_ERR_TEMP, "rename: %s", strerror(errno));
			} else {
				st = store_index_stmt(user->idx, STMT_MB_RENAME);
				sqlite3_bind_int64(st, 1, id);
				sqlite3_bind_text(st, 2, newname, -1, SQLITE_STATIC);
				(void)store_index_exec_stmt(user->idx, st);
				(void)rename_subscription(user, names.v[done], newname);
			}
		}
		free(odir);
		free(ndir);
		free(newname);
		if (ret < 0)
			break;
	}
	if (ret < 0 || store_index_commit(user->idx) < 0) {
		if (ret == 0)
			store_index_rollback(user->idx);
		else
			store_index_rollback(user->idx);
		/* Undo the directory renames already made. */
		for (size_t i = 0; i < done; i++) {
			char *newname = x_asprintf("%s%s", cto, names.v[i] + flen);
			char *odir = store_mailbox_dir(user, names.v[i]);
			char *ndir = store_mailbox_dir(user, newname);
			(void)rename(ndir, odir);
			free(odir);
			free(ndir);
			free(newname);
		}
		ret = ret < 0 ? -1 : store_fail(user, STORE_ERR_TEMP, "index error");
	} else {
		(void)write_subscriptions(user);
		store_user_changed(user);
	}
	strv_free(&names);
out:
	free(cfrom);
	free(cto);
	return ret;
}

int store_subscriptions(struct store_user *user, struct strv *names_r)
{
	sqlite3_stmt *st = store_index_stmt(user->idx, STMT_SUB_LIST);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		strv_push(names_r, (const char *)sqlite3_column_text(st, 0));
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		store_index_error(user->idx, rc, "subscriptions");
		return store_fail(user, STORE_ERR_TEMP, "index error");
	}
	return 0;
}

int store_subscribe(struct store_user *user, const char *name, bool subscribe)
{
	const char *error;
	char *canon;
	if (store_mailbox_name_check(name, &canon, &error) < 0)
		return store_fail(user, STORE_ERR_INVALID, "%s", error);
	sqlite3_stmt *st = store_index_stmt(user->idx, subscribe ? STMT_SUB_ADD : STMT_SUB_DEL);
	sqlite3_bind_text(st, 1, canon, -1, SQLITE_STATIC);
	int ret = store_index_exec_stmt(user->idx, st);
	free(canon);
	if (ret < 0)
		return store_fail(user, STORE_ERR_TEMP, "index error");
	return write_subscriptions(user);
}

int store_mailbox_open(struct store_user *user, const char *name, struct store_mailbox **mb_r)
{
	const char *error;
	char *canon;
	if (store_mailbox_name_check(name, &canon, &error) < 0)
		return store_fail(user, STORE_ERR_INVALID, "%s", error);
	sqlite3_stmt *st;
	int r = lookup(user, canon, &st);
	if (r <= 0) {
		free(canon);
		return r < 0 ? -1 : store_fail(user, STORE_ERR_NONEXISTENT, "Mailbox doesn't exist");
	}
	struct store_mailbox *mb = x_calloc(1, sizeof(*mb));
	mb->user = user;
	mb->id = sqlite3_column_int64(st, 0);
	mb->uidvalidity = (uint32_t)sqlite3_column_int64(st, 2);
	const unsigned char *g = sqlite3_column_text(st, 8);
	snprintf(mb->guid, sizeof(mb->guid), "%s", g != NULL ? (const char *)g : "");
	sqlite3_reset(st);
	mb->name = canon;
	mb->path = store_mailbox_dir(user, canon);
	strv_init(&mb->keywords);
	mb->keywords_version = -1;
	store_user_ref(user);
	*mb_r = mb;
	return 0;
}

void store_mailbox_close(struct store_mailbox **mbp)
{
	struct store_mailbox *mb = *mbp;
	if (mb == NULL)
		return;
	*mbp = NULL;
	strv_free(&mb->keywords);
	free(mb->name);
	free(mb->path);
	struct store_user *u = mb->user;
	free(mb);
	store_user_unref(&u);
}

const char *store_mailbox_name(const struct store_mailbox *mb)
{
	return mb->name;
}

struct store_user *store_mailbox_user(const struct store_mailbox *mb)
{
	return mb->user;
}

uint32_t store_mailbox_uidvalidity(const struct store_mailbox *mb)
{
	return mb->uidvalidity;
}

const char *store_mailbox_guid(const struct store_mailbox *mb)
{
	return mb->guid;
}

int store_mailbox_info_get(struct store_mailbox *mb, struct store_mailbox_info *info_r)
{
	struct store_user *user = mb->user;
	sqlite3_stmt *st = store_index_stmt(user->idx, STMT_MB_BY_ID);
	sqlite3_bind_int64(st, 1, mb->id);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		if (rc == SQLITE_DONE)
			return store_fail(user, STORE_ERR_NONEXISTENT, "Mailbox was deleted");
		store_index_error(user->idx, rc, "mailbox info");
		return store_fail(user, STORE_ERR_TEMP, "index error");
	}
	row_to_info(st, info_r);
	uint32_t recent_uid = (uint32_t)sqlite3_column_int64(st, 6);
	sqlite3_reset(st);
	/* Messages not yet claimed as \Recent by a session. */
	info_r->recent = 0;
	if (recent_uid < info_r->uidnext) {
		sqlite3_stmt *u = store_index_stmt(user->idx, STMT_MSG_COUNT_FROM);
		sqlite3_bind_int64(u, 1, mb->id);
		sqlite3_bind_int64(u, 2, recent_uid);
		if (sqlite3_step(u) == SQLITE_ROW)
			info_r->recent = (uint32_t)sqlite3_column_int64(u, 0);
		sqlite3_reset(u);
	}
	return 0;
}

int store_mailbox_status(struct store_user *user, const char *name,
			 struct store_mailbox_info *info_r)
{
	struct store_mailbox *mb;
	if (store_mailbox_open(user, name, &mb) < 0)
		return -1;
	int ret = store_mailbox_sync(mb);
	if (ret == 0)
		ret = store_mailbox_info_get(mb, info_r);
	store_mailbox_close(&mb);
	return ret;
}

uint64_t store_mailbox_next_modseq(struct store_mailbox *mb)
{
	struct store_index *idx = mb->user->idx;
	sqlite3_stmt *st = store_index_stmt(idx, STMT_MB_COUNTS);
	sqlite3_bind_int64(st, 1, mb->id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		store_index_error(idx, SQLITE_ERROR, "modseq");
		return 0;
	}
	uint64_t modseq = (uint64_t)sqlite3_column_int64(st, 5) + 1;
	sqlite3_reset(st);
	st = store_index_stmt(idx, STMT_MB_SET_MODSEQ);
	sqlite3_bind_int64(st, 1, mb->id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)modseq);
	if (store_index_exec_stmt(idx, st) < 0)
		return 0;
	return modseq;
}

uint32_t store_mailbox_reserve_uids(struct store_mailbox *mb, uint32_t count)
{
	struct store_index *idx = mb->user->idx;
	sqlite3_stmt *st = store_index_stmt(idx, STMT_MB_COUNTS);
	sqlite3_bind_int64(st, 1, mb->id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		store_index_error(idx, SQLITE_ERROR, "uidnext");
		return 0;
	}
	uint64_t first = (uint64_t)sqlite3_column_int64(st, 4);
	sqlite3_reset(st);
	if (first + count > UINT32_MAX) {
		store_fail(mb->user, STORE_ERR_LIMIT, "UIDs exhausted in this mailbox");
		return 0;
	}
	st = store_index_stmt(idx, STMT_MB_SET_UIDNEXT);
	sqlite3_bind_int64(st, 1, mb->id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)(first + count));
	if (store_index_exec_stmt(idx, st) < 0)
		return 0;
	return (uint32_t)first;
}

uint32_t store_mailbox_claim_recent(struct store_mailbox *mb, uint32_t last)
{
	struct store_index *idx = mb->user->idx;
	sqlite3_stmt *st = store_index_stmt(idx, STMT_MB_BY_ID);
	sqlite3_bind_int64(st, 1, mb->id);
	uint32_t recent_uid = UINT32_MAX;
	if (sqlite3_step(st) == SQLITE_ROW)
		recent_uid = (uint32_t)sqlite3_column_int64(st, 6);
	sqlite3_reset(st);
	if (recent_uid > last)
		return 0;
	st = store_index_stmt(idx, STMT_MB_SET_RECENT);
	sqlite3_bind_int64(st, 1, mb->id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)last + 1);
	if (store_index_exec_stmt(idx, st) < 0)
		return 0;
	return recent_uid > 0 ? recent_uid : 1;
}

void store_mailbox_note_mtimes(struct store_mailbox *mb)
{
	char *c = x_asprintf("%s/cur", mb->path);
	sqlite3_stmt *st = store_index_stmt(mb->user->idx, STMT_MB_SET_CUR_MTIME);
	sqlite3_bind_int64(st, 1, mb->id);
	sqlite3_bind_int64(st, 2, store_dir_mtime(c));
	(void)store_index_exec_stmt(mb->user->idx, st);
	free(c);
}

void store_mailbox_load_keywords(struct store_mailbox *mb)
{
	struct store_index *idx = mb->user->idx;
	int64_t dv = store_index_data_version(idx);
	if (mb->keywords_version == dv && dv >= 0 && idx->write_depth == 0)
		return;
	sqlite3_stmt *st = store_index_stmt(idx, STMT_MB_BY_ID);
	sqlite3_bind_int64(st, 1, mb->id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		strv_free(&mb->keywords);
		const char *kw = (const char *)sqlite3_column_text(st, 9);
		/* Stored space-separated in bit order. */
		const char *p = kw != NULL ? kw : "";
		while (*p != '\0') {
			const char *sp = strchr(p, ' ');
			size_t len = sp != NULL ? (size_t)(sp - p) : strlen(p);
			strv_push_owned(&mb->keywords, x_strndup(p, len));
			p += len;
			while (*p == ' ')
				p++;
		}
		mb->keywords_version = dv;
	}
	sqlite3_reset(st);
}

/* Whether a keyword name read from a file can be an IMAP flag atom. */
static bool keyword_valid(const char *k, size_t len)
{
	if (len == 0 || len > 200 || k[0] == '\\')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)k[i];
		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c) != NULL)
			return false;
	}
	return true;
}

/* Writes the folder's dovecot-keywords file: the names of the keyword
 * letters a-z in file names, so a rebuild (or Dovecot) reads them back.
 * Replaced by rename; not fsynced (a keyword's first use is rare; its
 * letter only means something once the name is known). */
static void write_keywords_file(struct store_mailbox *mb)
{
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < mb->keywords.n && i < STORE_MAILDIR_KEYWORDS; i++)
		buf_appendf(&b, "%zu %s\n", i, mb->keywords.v[i]);
	char *p = x_asprintf("%s/" STORE_KEYWORDS_FILE, mb->path);
	replace_small_file(p, b.data != NULL ? b.data : "", b.len);
	free(p);
	buf_free(&b);
}

int store_mailbox_keywords_file_read(const char *dir, struct strv *names)
{
	char *p = x_asprintf("%s/" STORE_KEYWORDS_FILE, dir);
	struct buf b = BUF_INIT;
	int ret = read_file(p, &b, 64 * 1024);
	free(p);
	if (ret < 0) {
		buf_free(&b);
		return errno == ENOENT ? 0 : -1;
	}
	char *slot[STORE_MAILDIR_KEYWORDS] = { NULL };
	char *save = NULL;
	for (char *line = strtok_r(b.data != NULL ? b.data : (char *)"", "\n", &save);
	     line != NULL; line = strtok_r(NULL, "\n", &save)) {
		char *end;
		unsigned long i = strtoul(line, &end, 10);
		if (end == line || *end != ' ' || i >= STORE_MAILDIR_KEYWORDS)
			continue;
		const char *k = end + 1;
		size_t len = strlen(k);
		if (len > 0 && k[len - 1] == '\r')
			len--;
		if (keyword_valid(k, len) && slot[i] == NULL)
			slot[i] = x_strndup(k, len);
	}
	/* Letters up to the first gap; a name twice keeps the first. */
	size_t n = 0;
	while (n < STORE_MAILDIR_KEYWORDS && slot[n] != NULL) {
		bool dup = false;
		for (size_t j = 0; j < n && !dup; j++)
			dup = strcasecmp(slot[j], slot[n]) == 0;
		if (dup)
			break;
		n++;
	}
	for (size_t i = 0; i < STORE_MAILDIR_KEYWORDS; i++) {
		if (i < n)
			strv_push_owned(names, slot[i]);
		else
			free(slot[i]);
	}
	buf_free(&b);
	return 0;
}

int store_mailbox_set_keywords(struct store_mailbox *mb, const struct strv *names)
{
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < names->n; i++)
		buf_appendf(&b, "%s%s", i > 0 ? " " : "", names->v[i]);
	sqlite3_stmt *st = store_index_stmt(mb->user->idx, STMT_MB_SET_KEYWORDS);
	sqlite3_bind_int64(st, 1, mb->id);
	sqlite3_bind_text(st, 2, buf_cstr(&b), -1, SQLITE_TRANSIENT);
	int ret = store_index_exec_stmt(mb->user->idx, st);
	buf_free(&b);
	mb->keywords_version = -1;
	return ret;
}

const struct strv *store_mailbox_keywords(struct store_mailbox *mb)
{
	store_mailbox_load_keywords(mb);
	return &mb->keywords;
}

int store_mailbox_keyword_index(struct store_mailbox *mb, const char *keyword, bool create)
{
	store_mailbox_load_keywords(mb);
	for (size_t i = 0; i < mb->keywords.n; i++)
		if (strcasecmp(mb->keywords.v[i], keyword) == 0)
			return (int)i;
	if (!create)
		return -1;
	if (mb->keywords.n >= 64)
		return store_fail(mb->user, STORE_ERR_LIMIT, "Too many keywords in this mailbox");
	struct store_index *idx = mb->user->idx;
	if (store_index_begin_write(idx) < 0)
		return store_fail(mb->user, STORE_ERR_TEMP, "index busy");
	/* Re-read inside the transaction: another process may have added. */
	mb->keywords_version = -1;
	store_mailbox_load_keywords(mb);
	for (size_t i = 0; i < mb->keywords.n; i++) {
		if (strcasecmp(mb->keywords.v[i], keyword) == 0) {
			(void)store_index_commit(idx);
			return (int)i;
		}
	}
	strv_push(&mb->keywords, keyword);
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < mb->keywords.n; i++)
		buf_appendf(&b, "%s%s", i > 0 ? " " : "", mb->keywords.v[i]);
	sqlite3_stmt *st = store_index_stmt(idx, STMT_MB_SET_KEYWORDS);
	sqlite3_bind_int64(st, 1, mb->id);
	sqlite3_bind_text(st, 2, buf_cstr(&b), -1, SQLITE_TRANSIENT);
	(void)store_index_exec_stmt(idx, st);
	buf_free(&b);
	if (store_index_commit(idx) < 0) {
		mb->keywords_version = -1;
		return store_fail(mb->user, STORE_ERR_TEMP, "index error");
	}
	mb->keywords_version = store_index_data_version(idx);
	if (mb->keywords.n <= STORE_MAILDIR_KEYWORDS)
		write_keywords_file(mb);
	return (int)mb->keywords.n - 1;
}

int store_mailbox_first_unseen(struct store_mailbox *mb, uint32_t *uid_r)
{
	struct store_index *idx = mb->user->idx;
	sqlite3_stmt *st = store_index_stmt(idx, STMT_MSG_FIRST_UNSEEN);
	sqlite3_bind_int64(st, 1, mb->id);
	int rc = sqlite3_step(st);
	*uid_r = rc == SQLITE_ROW ? (uint32_t)sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		store_index_error(idx, rc, "first unseen");
		return store_fail(mb->user, STORE_ERR_TEMP, "index error");
	}
	return 0;
}

int store_mailbox_expunged_since(struct store_mailbox *mb, uint64_t modseq,
				 uint32_t **uids_r, size_t *n_r, bool *complete_r)
{
	struct store_index *idx = mb->user->idx;
	sqlite3_stmt *st = store_index_stmt(idx, STMT_MB_BY_ID);
	sqlite3_bind_int64(st, 1, mb->id);
	uint64_t vanished_modseq = 0;
	if (sqlite3_step(st) == SQLITE_ROW)
		vanished_modseq = (uint64_t)sqlite3_column_int64(st, 5);
	sqlite3_reset(st);
	*complete_r = modseq >= vanished_modseq;
	uint32_t *uids = NULL;
	size_t n = 0, cap = 0;
	st = store_index_stmt(idx, STMT_EXP_SINCE);
	sqlite3_bind_int64(st, 1, mb->id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)modseq);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			uids = x_reallocarray(uids, cap, sizeof(uint32_t));
		}
		uids[n++] = (uint32_t)sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		free(uids);
		store_index_error(idx, rc, "expunged");
		return store_fail(mb->user, STORE_ERR_TEMP, "index error");
	}
	*uids_r = uids;
	*n_r = n;
	return 0;
}
