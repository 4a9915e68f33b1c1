/* store_user.c — opening a user's store: Maildir creation, index open
 * or rebuild, default folders, the process-wide table of open users.
 * Runs in the workers (the slow part in the libuv thread pool) and in
 * `correu reindex`. Reads no untrusted input. */
#include "store_private.h"
#include "store_rebuild.h"
#include "store_deliver.h"
#include "fsutil.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static struct store_user *open_users;

int store_fail(struct store_user *user, enum store_error err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	free(user->last_error_text);
	user->last_error_text = x_vasprintf(fmt, ap);
	va_end(ap);
	user->last_error = err;
	return -1;
}

enum store_error store_user_error(const struct store_user *user)
{
	return user->last_error;
}

const char *store_user_error_text(const struct store_user *user)
{
	return user->last_error_text != NULL ? user->last_error_text : "internal error";
}

bool store_user_index_broken(const struct store_user *user)
{
	return user->idx->corrupt;
}

const char *store_user_address(const struct store_user *user)
{
	return user->address;
}

const char *store_user_maildir(const struct store_user *user)
{
	return user->maildir;
}

uint64_t store_user_quota(const struct store_user *user)
{
	return user->quota_bytes;
}

void store_user_set_quota(struct store_user *user, uint64_t bytes)
{
	user->quota_bytes = bytes;
}

int store_user_usage(struct store_user *user, uint64_t *bytes_r, uint64_t *messages_r)
{
	sqlite3_stmt *st = store_index_stmt(user->idx, STMT_USER_SIZE);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		store_index_error(user->idx, rc, "usage");
		sqlite3_reset(st);
		return store_fail(user, STORE_ERR_TEMP, "index error");
	}
	*bytes_r = (uint64_t)sqlite3_column_int64(st, 0);
	if (messages_r != NULL)
		*messages_r = (uint64_t)sqlite3_column_int64(st, 1);
	sqlite3_reset(st);
	return 0;
}

void store_user_changed(struct store_user *user)
{
	/* Touching the change file wakes every watcher, in this process
	 * too (inotify), so all sessions learn of it the same way. */
	char *path = x_asprintf("%s/" STORE_NOTIFY_FILE, user->maildir);
	if (utimensat(AT_FDCWD, path, NULL, 0) < 0 && errno == ENOENT) {
		int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		if (fd >= 0)
			close(fd);
	}
	free(path);
}

/* Whether the Maildir holds anything an index should describe. */
static bool maildir_has_content(const char *root)
{
	static const char *const subs[] = { "cur", "new" };
	for (size_t i = 0; i < N_ELEMENTS(subs); i++) {
		char *p = x_asprintf("%s/%s", root, subs[i]);
		DIR *d = opendir(p);
		free(p);
		if (d == NULL)
			continue;
		struct dirent *de;
		bool found = false;
		while (!found && (de = readdir(d)) != NULL)
			found = de->d_name[0] != '.';
		closedir(d);
		if (found)
			return true;
	}
	DIR *d = opendir(root);
	if (d == NULL)
		return false;
	struct dirent *de;
	bool found = false;
	while (!found && (de = readdir(d)) != NULL)
		found = de->d_name[0] == '.' && strcmp(de->d_name, ".") != 0 &&
			strcmp(de->d_name, "..") != 0;
	closedir(d);
	return found;
}

static struct store_user *user_alloc(const char *address, const char *maildir,
				     uint64_t quota_bytes)
{
	struct store_user *u = x_calloc(1, sizeof(*u));
	u->address = x_strdup(address);
	u->maildir = x_strdup(maildir);
	size_t len = strlen(u->maildir);
	while (len > 1 && u->maildir[len - 1] == '/')
		u->maildir[--len] = '\0';
	u->quota_bytes = quota_bytes;
	u->refcount = 1;
	return u;
}

static void user_free(struct store_user *u)
{
	store_index_close(&u->idx);
	free(u->address);
	free(u->maildir);
	free(u->last_error_text);
	strv_free(&u->crlf_failed);
	free(u);
}

/* Opens an index handle for u: the blocking part of every open. */
static int user_prepare(struct store_user *u, const char **error_r)
{
	static __thread char errbuf[512];
	if (store_maildir_ensure(u->maildir, NULL, error_r) < 0) {
		snprintf(errbuf, sizeof(errbuf), "%s: %s", u->maildir, *error_r);
		*error_r = errbuf;
		return -1;
	}
	char *lockpath = x_asprintf("%s/correu-index.lock", u->maildir);
	int lockfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	free(lockpath);
	if (lockfd < 0 || flock(lockfd, LOCK_EX) < 0) {
		snprintf(errbuf, sizeof(errbuf), "%s: lock: %s", u->maildir, strerror(errno));
		*error_r = errbuf;
		if (lockfd >= 0)
			close(lockfd);
		return -1;
	}
	char *path = x_asprintf("%s/" STORE_INDEX_FILE, u->maildir);
	int ret = 0;
	bool corrupt = false;
	struct stat st;
	bool fresh = false;
	if (stat(path, &st) < 0) {
		if (maildir_has_content(u->maildir)) {
			log_info("store %s: index missing, rebuilding from the Maildir",
				 u->address);
			flock(lockfd, LOCK_UN);
			if (store_rebuild(u->maildir, error_r) < 0) {
				ret = -1;
				goto out;
			}
			flock(lockfd, LOCK_EX);
		} else {
			fresh = true;
		}
	}
	if (store_index_open(path, fresh, &u->idx, &corrupt, error_r) < 0) {
		if (!corrupt) {
			ret = -1;
			goto out;
		}
		log_warn("store %s: %s; rebuilding the index", u->address, *error_r);
		flock(lockfd, LOCK_UN);
		if (store_rebuild(u->maildir, error_r) < 0) {
			ret = -1;
			goto out;
		}
		flock(lockfd, LOCK_EX);
		if (store_index_open(path, false, &u->idx, NULL, error_r) < 0) {
			ret = -1;
			goto out;
		}
	}
	if (fresh) {
		/* A new account: INBOX, then the special-use folders. */
		if (store_mailbox_create(u, "INBOX", 0) < 0 &&
		    u->last_error != STORE_ERR_EXISTS) {
			*error_r = store_user_error_text(u);
			ret = -1;
			goto out;
		}
		(void)store_subscribe(u, "INBOX", true);
	} else {
		/* INBOX always exists. */
		struct store_mailbox *mb;
		if (store_mailbox_open(u, "INBOX", &mb) == 0)
			store_mailbox_close(&mb);
		else if (u->last_error == STORE_ERR_NONEXISTENT)
			(void)store_mailbox_create(u, "INBOX", 0);
	}
	/* Once per index: made with it (or by the rebuild just done), or,
	 * in an index from before, now. */
	if (store_special_folders(u) < 0)
		log_warn("store %s: the special-use folders: %s", u->address,
			 store_user_error_text(u));
	u->last_error = STORE_ERR_NONE;
out:
	if (ret < 0)
		store_index_close(&u->idx);
	free(path);
	flock(lockfd, LOCK_UN);
	close(lockfd);
	return ret;
}

int store_user_open_detached(const char *address, const char *maildir,
			     struct store_user **user_r, const char **error_r)
{
	*user_r = NULL;
	struct stat st;
	if (stat(maildir, &st) < 0)
		return 0;	/* nothing delivered yet */
	char *path = x_asprintf("%s/" STORE_INDEX_FILE, maildir);
	bool no_index = stat(path, &st) < 0;
	free(path);
	/* An empty Maildir without an index gets its folders at the first
	 * login, not from here. */
	if (no_index && !maildir_has_content(maildir))
		return 0;
	struct store_user *u = user_alloc(address, maildir, 0);
	if (user_prepare(u, error_r) < 0) {
		user_free(u);
		return -1;
	}
	/* Closing the last connection would checkpoint and fsync the WAL;
	 * the next open replays it instead (as on the loop). */
	sqlite3_db_config(u->idx->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	*user_r = u;
	return 0;
}

void store_user_close_detached(struct store_user **userp)
{
	struct store_user *u = *userp;
	if (u == NULL)
		return;
	*userp = NULL;
	i_assert(u->refcount == 1 && u->loop == NULL);
	user_free(u);
}

/* A user whose last session ended stays open this long, so that the
 * next login (clients reconnect often) skips opening the index. */
#define LINGER_MS (30 * 1000)
#define LINGER_MAX 64
static unsigned lingering;

static void user_release(struct store_user *u);

static void linger_stop(struct store_user *u)
{
	if (u->linger == NULL)
		return;
	uv_timer_stop(u->linger);
	uv_close((uv_handle_t *)u->linger, (uv_close_cb)free);
	u->linger = NULL;
	lingering--;
}

static void linger_cb(uv_timer_t *t)
{
	struct store_user *u = t->data;
	linger_stop(u);
	user_release(u);
}

static struct store_user *find_open(uv_loop_t *loop, const char *maildir)
{
	for (struct store_user *u = open_users; u != NULL; u = u->next) {
		if (u->loop != loop || strcmp(u->maildir, maildir) != 0 || u->idx->corrupt)
			continue;
		if (u->linger != NULL) {
			/* Idle since its last session: reuse unless reindexed. */
			linger_stop(u);
			if (store_index_replaced(u->idx)) {
				user_release(u);
				return find_open(loop, maildir);
			}
		}
		return u;
	}
	return NULL;
}

/* WAL checkpoints write and fsync the database: on a loop they run in
 * the thread pool on a connection of their own (PASSIVE: never blocks
 * readers or writers), never inside a commit or a close on the loop. */
#define CKPT_PAGES 1000

struct store_ckpt {
	uv_work_t work;
	struct store_user *user;	/* NULL once the user is gone */
	char *path;
};

static void ckpt_work(uv_work_t *w)
{
	struct store_ckpt *c = w->data;
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(c->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) ==
	    SQLITE_OK) {
		sqlite3_busy_timeout(db, 1000);
		(void)sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	}
	sqlite3_close(db);
}

static void ckpt_done(uv_work_t *w, int status)
{
	struct store_ckpt *c = w->data;
	(void)status;
	if (c->user != NULL)
		c->user->ckpt = NULL;
	free(c->path);
	free(c);
}

static int wal_hook(void *ctx, sqlite3 *db, const char *name, int pages)
{
	struct store_user *u = ctx;
	(void)db;
	(void)name;
	if (pages < CKPT_PAGES || u->ckpt != NULL || u->loop == NULL)
		return SQLITE_OK;
	struct store_ckpt *c = x_calloc(1, sizeof(*c));
	c->user = u;
	c->path = x_strdup(u->idx->path);
	c->work.data = c;
	u->ckpt = c;
	if (uv_queue_work(u->loop, &c->work, ckpt_work, ckpt_done) != 0)
		log_fatal("uv_queue_work failed");
	return SQLITE_OK;
}

static void link_user(struct store_user *u, uv_loop_t *loop)
{
	u->loop = loop;
	u->next = open_users;
	open_users = u;
	if (loop != NULL) {
		sqlite3_wal_autocheckpoint(u->idx->db, 0);
		sqlite3_wal_hook(u->idx->db, wal_hook, u);
		/* The last close would checkpoint (and fsync) on the loop;
		 * the WAL is kept and replayed by the next open instead. */
		sqlite3_db_config(u->idx->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	}
}

int store_user_open_sync(uv_loop_t *loop, const char *address, const char *maildir,
			 uint64_t quota_bytes, struct store_user **user_r,
			 const char **error_r)
{
	struct store_user *u = find_open(loop, maildir);
	if (u != NULL) {
		u->refcount++;
		u->quota_bytes = quota_bytes;
		*user_r = u;
		return 0;
	}
	u = user_alloc(address, maildir, quota_bytes);
	if (user_prepare(u, error_r) < 0) {
		user_free(u);
		return -1;
	}
	link_user(u, loop);
	*user_r = u;
	return 0;
}

struct store_open_req {
	uv_work_t work;
	uv_loop_t *loop;
	struct store_user *user;
	store_user_open_cb *cb;
	void *ctx;
	const char *error;
	char errbuf[512];
	bool cancelled;
};

static void open_work(uv_work_t *w)
{
	struct store_open_req *req = w->data;
	const char *error;
	if (user_prepare(req->user, &error) < 0) {
		snprintf(req->errbuf, sizeof(req->errbuf), "%s", error);
		req->error = req->errbuf;
	}
}

static void open_done(uv_work_t *w, int status)
{
	struct store_open_req *req = w->data;
	struct store_user *u = req->user;
	if (status != 0 && req->error == NULL)
		req->error = "cancelled";
	if (req->error != NULL) {
		user_free(u);
		u = NULL;
	} else {
		/* Another open of the same user may have finished first. */
		struct store_user *other = find_open(req->loop, u->maildir);
		if (other != NULL) {
			other->refcount++;
			other->quota_bytes = u->quota_bytes;
			user_free(u);
			u = other;
		} else {
			link_user(u, req->loop);
		}
	}
	if (req->cancelled) {
		if (u != NULL)
			store_user_unref(&u);
	} else {
		req->cb(u, req->error, req->ctx);
	}
	free(req);
}

static void open_existing_cb(uv_timer_t *t)
{
	struct store_open_req *req = t->data;
	uv_close((uv_handle_t *)t, (uv_close_cb)free);
	struct store_user *u = req->user;
	if (req->cancelled)
		store_user_unref(&u);
	else
		req->cb(u, NULL, req->ctx);
	free(req);
}

struct store_open_req *store_user_open(uv_loop_t *loop, const char *address,
				       const char *maildir, uint64_t quota_bytes,
				       store_user_open_cb *cb, void *ctx)
{
	struct store_open_req *req = x_calloc(1, sizeof(*req));
	req->loop = loop;
	req->cb = cb;
	req->ctx = ctx;
	struct store_user *u = find_open(loop, maildir);
	if (u != NULL) {
		/* Already open in this process: answer from the loop. */
		u->refcount++;
		u->quota_bytes = quota_bytes;
		req->user = u;
		uv_timer_t *t = x_malloc(sizeof(*t));
		uv_timer_init(loop, t);
		t->data = req;
		uv_timer_start(t, open_existing_cb, 0, 0);
		return req;
	}
	req->user = user_alloc(address, maildir, quota_bytes);
	req->work.data = req;
	if (uv_queue_work(loop, &req->work, open_work, open_done) != 0)
		log_fatal("uv_queue_work failed");
	return req;
}

void store_open_req_cancel(struct store_open_req *req)
{
	req->cancelled = true;
}

void store_user_ref(struct store_user *user)
{
	user->refcount++;
}

void store_user_unref(struct store_user **userp)
{
	struct store_user *u = *userp;
	if (u == NULL)
		return;
	*userp = NULL;
	i_assert(u->refcount > 0);
	if (--u->refcount > 0)
		return;
	if (u->loop != NULL && !u->idx->corrupt && lingering < LINGER_MAX) {
		store_watch_user_free(u);
		u->linger = x_malloc(sizeof(*u->linger));
		uv_timer_init(u->loop, u->linger);
		u->linger->data = u;
		uv_timer_start(u->linger, linger_cb, LINGER_MS, 0);
		uv_unref((uv_handle_t *)u->linger);
		lingering++;
		return;
	}
	user_release(u);
}

void store_users_release_idle(uv_loop_t *loop)
{
	for (struct store_user *u = open_users, *next; u != NULL; u = next) {
		next = u->next;
		if (u->loop == loop && u->linger != NULL) {
			linger_stop(u);
			user_release(u);
		}
	}
}

/* Frees a user without references. */
static void user_release(struct store_user *u)
{
	for (struct store_user **pp = &open_users; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == u) {
			*pp = u->next;
			break;
		}
	}
	store_watch_user_free(u);
	if (u->ckpt != NULL)
		u->ckpt->user = NULL;
	user_free(u);
}
