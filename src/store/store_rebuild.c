/* store_rebuild.c — rebuilding a user's index from the Maildir, also
 * one that Dovecot (or another tool) kept. Runs in `correu reindex` and
 * in thread-pool jobs of the workers (blocking). Folder and file names
 * and Dovecot's files on disk are untrusted (other Maildir tools). */
#include "store_private.h"
#include "store_rebuild.h"
#include "store_dovecot.h"
#include "store_maildir.h"
#include "store_mutf7.h"
#include "fsutil.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int store_mailbox_insert_row(struct store_user *user, const char *name, uint32_t uidvalidity,
			     uint32_t uidnext, uint64_t modseq, unsigned special,
			     const char *guid);
int store_mailbox_state_read(const char *dir, uint32_t *uidvalidity_r, uint32_t *uidnext_r,
			     char guid_r[33]);
int store_mailbox_sync_full(struct store_mailbox *mb, bool force_rescan, bool trust_uids);

struct old_mailbox {
	char *name;
	unsigned special;
	uint64_t modseq;
};

struct old_index {
	struct old_mailbox *list;
	size_t n;
	uint64_t max_modseq;
	bool readable;		/* its mailbox table could be read */
	bool special_done;	/* it had its special-use folders */
};

/* What the old index knew that the Maildir does not: special uses, the
 * highest modseq, whether the special-use folders were made. Best
 * effort; a damaged or missing index gives nothing. */
static void read_old(const char *path, struct old_index *old)
{
	memset(old, 0, sizeof(*old));
	sqlite3 *db;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return;
	}
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT name, special, modseq FROM mailbox", -1, &st,
			       NULL) == SQLITE_OK) {
		size_t cap = 0;
		int rc;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			if (old->n == cap) {
				cap = cap == 0 ? 16 : cap * 2;
				old->list = x_reallocarray(old->list, cap, sizeof(*old->list));
			}
			struct old_mailbox *o = &old->list[old->n++];
			const unsigned char *name = sqlite3_column_text(st, 0);
			o->name = x_strdup(name != NULL ? (const char *)name : "");
			o->special = (unsigned)sqlite3_column_int(st, 1);
			o->modseq = (uint64_t)sqlite3_column_int64(st, 2);
			if (o->modseq > old->max_modseq)
				old->max_modseq = o->modseq;
		}
		old->readable = rc == SQLITE_DONE;
	}
	sqlite3_finalize(st);
	if (old->readable &&
	    sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'special_folders'", -1,
			       &st, NULL) == SQLITE_OK) {
		old->special_done = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) != 0;
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
}

static void old_free(struct old_index *old)
{
	for (size_t i = 0; i < old->n; i++)
		free(old->list[i].name);
	free(old->list);
}

static void unlink_db(const char *path)
{
	static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
	for (size_t i = 0; i < N_ELEMENTS(sfx); i++) {
		char *p = x_asprintf("%s%s", path, sfx[i]);
		(void)unlink(p);
		free(p);
	}
}

static int rename_db(const char *from, const char *to)
{
	static const char *const sfx[] = { "-wal", "-shm" };
	for (size_t i = 0; i < N_ELEMENTS(sfx); i++) {
		char *p = x_asprintf("%s%s", to, sfx[i]);
		(void)unlink(p);
		free(p);
	}
	return rename(from, to);
}

/* Folder names (UTF-8) of the Maildir++ root, INBOX first. */
static void list_folders(const char *root, struct strv *names)
{
	strv_push(names, "INBOX");
	DIR *d = opendir(root);
	if (d == NULL)
		return;
	struct dirent *de;
	struct strv found;
	strv_init(&found);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.' || de->d_name[1] == '\0' || strcmp(de->d_name, "..") == 0)
			continue;
		char *cur = x_asprintf("%s/%s/cur", root, de->d_name);
		struct stat st;
		bool ok = stat(cur, &st) == 0 && S_ISDIR(st.st_mode);
		free(cur);
		if (!ok)
			continue;
		struct buf b = BUF_INIT;
		const char *enc = de->d_name + 1;
		char *canon;
		const char *error;
		if (store_mutf7_to_utf8(enc, strlen(enc), &b) == 0 &&
		    store_mailbox_name_check(buf_cstr(&b), &canon, &error) == 0) {
			if (strcmp(canon, "INBOX") != 0)
				strv_push(&found, canon);
			free(canon);
		} else {
			log_warn("store rebuild: %s/%s: not a valid folder name, skipped", root,
				 de->d_name);
		}
		buf_free(&b);
	}
	closedir(d);
	for (size_t i = 0; i < found.n; i++)
		strv_push(names, found.v[i]);
	strv_free(&found);
}

/* The highest UID the folder's files claim: ",U=" in their names and
 * Dovecot's uidlist. Files without a claim get UIDs above it, so none
 * can take a UID that a file met later claims. */
static uint32_t claimed_max(const char *dir, const struct store_uidlist *ul)
{
	uint32_t max = ul != NULL ? ul->max_uid : 0;
	static const char *const subs[] = { "cur", "new" };
	for (size_t i = 0; i < N_ELEMENTS(subs); i++) {
		char *sub = x_asprintf("%s/%s", dir, subs[i]);
		DIR *d = opendir(sub);
		free(sub);
		if (d == NULL)
			continue;
		struct dirent *de;
		while ((de = readdir(d)) != NULL) {
			struct store_maildir_name n;
			if (store_maildir_name_parse(de->d_name, &n) && n.has_uid && n.uid > max)
				max = n.uid;
		}
		closedir(d);
	}
	return max;
}

/* A folder's UIDVALIDITY, UIDNEXT and MAILBOXID: from correu's state
 * file, else from Dovecot's uidlist (then *ul_r is filled and its UIDs
 * used), else new. 0, or -1 if the state file exists but is unreadable
 * (never invent a new UIDVALIDITY for a mailbox whose clients hold the
 * old one). */
static int folder_state(const char *dir, size_t i, uint32_t *uidvalidity, uint32_t *uidnext,
			char guid[33], struct store_uidlist *ul, bool *have_ul)
{
	*have_ul = false;
	int st = store_mailbox_state_read(dir, uidvalidity, uidnext, guid);
	if (st == -2)
		return -1;
	if (st == 0)
		return 0;
	int r = store_uidlist_read(dir, ul);
	if (r < 0)
		log_warn("store rebuild: %s/" STORE_DOVECOT_UIDLIST_FILE ": %s; new UIDs", dir,
			 strerror(errno));
	if (r > 0) {
		/* Migrated from Dovecot: its UIDs, which clients hold. */
		*have_ul = true;
		*uidvalidity = ul->uidvalidity;
		*uidnext = ul->nextuid;
		if (ul->guid[0] != '\0')
			memcpy(guid, ul->guid, 33);
		else
			snprintf(guid, 33, "%08x%08x%08x%08x", ul->uidvalidity, (unsigned)getpid(),
				 (unsigned)i, (unsigned)rand());
		if (ul->n_skipped > 0)
			log_warn("store rebuild: %s/" STORE_DOVECOT_UIDLIST_FILE
				 ": %zu lines not understood, their files get new UIDs",
				 dir, ul->n_skipped);
		return 0;
	}
	/* No state: the UIDs in file names cannot be trusted against
	 * what clients cached, so a new UIDVALIDITY. */
	*uidvalidity = (uint32_t)time(NULL) + (uint32_t)i;
	*uidnext = 1;
	snprintf(guid, 33, "%08x%08x%08x%08x", *uidvalidity, (unsigned)getpid(), (unsigned)i,
		 (unsigned)rand());
	return 0;
}

/* Subscriptions: correu's file, else Dovecot's, else every folder. */
static void rebuild_subscriptions(struct store_user *u, const char *maildir,
				  const struct strv *names)
{
	struct buf sb = BUF_INIT;
	char *subpath = x_asprintf("%s/" STORE_SUBSCRIPTIONS_FILE, maildir);
	struct strv dove;
	strv_init(&dove);
	if (read_file(subpath, &sb, 1024 * 1024) == 0) {
		char *save = NULL;
		for (char *line = strtok_r(sb.data != NULL ? sb.data : (char *)"", "\n", &save);
		     line != NULL; line = strtok_r(NULL, "\n", &save))
			(void)store_subscribe(u, line, true);
	} else if (store_subs_read(maildir, &dove) > 0) {
		for (size_t i = 0; i < dove.n; i++)
			(void)store_subscribe(u, dove.v[i], true);
	} else {
		for (size_t i = 0; i < names->n; i++)
			(void)store_subscribe(u, names->v[i], true);
	}
	strv_free(&dove);
	free(subpath);
	buf_free(&sb);
}

/* Indexes one folder into u's new index. 0, or -1 with errbuf set. */
static int rebuild_folder(struct store_user *u, const char *name, size_t i, uint64_t floor,
			  const struct old_index *old, uint32_t *max_uidvalidity, char *errbuf,
			  size_t errlen)
{
	char *dir = store_mailbox_dir(u, name);
	uint32_t uidvalidity, uidnext;
	char guid[33];
	struct store_uidlist ul;
	bool have_ul;
	if (folder_state(dir, i, &uidvalidity, &uidnext, guid, &ul, &have_ul) < 0) {
		snprintf(errbuf, errlen, "%s: state file unreadable", name);
		free(dir);
		return -1;
	}
	uint32_t claimed = claimed_max(dir, have_ul ? &ul : NULL);
	if (claimed >= uidnext)
		uidnext = claimed == UINT32_MAX ? UINT32_MAX : claimed + 1;
	free(dir);
	if (uidvalidity > *max_uidvalidity)
		*max_uidvalidity = uidvalidity;
	/* Special uses from the old index; without one, store_special_folders
	 * looks at the names afterwards. */
	unsigned special = 0;
	for (size_t j = 0; j < old->n; j++)
		if (strcmp(old->list[j].name, name) == 0)
			special = old->list[j].special;
	int ret = 0;
	if (store_mailbox_insert_row(u, name, uidvalidity, uidnext, floor, special, guid) < 0) {
		snprintf(errbuf, errlen, "cannot index %s", name);
		ret = -1;
	}
	struct store_mailbox *mb = NULL;
	/* Keyword names first: the letters in file names refer to them. */
	struct strv kw;
	strv_init(&kw);
	if (ret == 0 && store_mailbox_open(u, name, &mb) == 0 &&
	    store_mailbox_keywords_file_read(mb->path, &kw) == 0 && kw.n > 0)
		(void)store_mailbox_set_keywords(mb, &kw);
	strv_free(&kw);
	if (mb != NULL)
		mb->uidlist = have_ul ? &ul : NULL;
	if (ret == 0 && (mb == NULL || store_mailbox_sync_full(mb, true, true) < 0)) {
		snprintf(errbuf, errlen, "%s: %s", name, store_user_error_text(u));
		ret = -1;
	} else if (ret == 0) {
		struct store_mailbox_info info;
		if (store_mailbox_info_get(mb, &info) == 0) {
			store_mailbox_write_state(mb, info.uidnext);
			free(info.name);
		}
		/* Expunge history starts here: older modseqs get VANISHED
		 * computed from the UID range. */
		char *sql = x_asprintf("UPDATE mailbox SET vanished_modseq = modseq, "
				       "recent_uid = uidnext WHERE id = %lld", (long long)mb->id);
		(void)store_index_exec(u->idx, sql);
		free(sql);
	}
	if (mb != NULL) {
		mb->uidlist = NULL;
		store_mailbox_close(&mb);
	}
	if (have_ul)
		store_uidlist_free(&ul);
	u->refcount = 1;
	return ret;
}

static int rebuild_locked(const char *maildir, const char **error_r)
{
	static __thread char errbuf[512];
	char *path = x_asprintf("%s/" STORE_INDEX_FILE, maildir);
	char *tmp = x_asprintf("%s.rebuild", path);
	struct old_index old;
	int ret = 0;
	read_old(path, &old);
	/* HIGHESTMODSEQ must never go backwards, even when the old index
	 * is unreadable: start above anything a past index could reach. */
	uint64_t floor = ((uint64_t)time(NULL) << 24);
	if (old.max_modseq + 1 > floor)
		floor = old.max_modseq + 1;
	unlink_db(tmp);
	struct store_user *u = x_calloc(1, sizeof(*u));
	u->address = x_strdup(maildir);
	u->maildir = x_strdup(maildir);
	u->refcount = 1;
	if (store_index_open(tmp, true, &u->idx, NULL, error_r) < 0) {
		ret = -1;
		goto out;
	}
	struct strv names;
	strv_init(&names);
	list_folders(maildir, &names);
	uint32_t max_uidvalidity = 0;
	for (size_t i = 0; i < names.n && ret == 0; i++)
		ret = rebuild_folder(u, names.v[i], i, floor, &old, &max_uidvalidity, errbuf,
				     sizeof(errbuf));
	if (ret < 0)
		*error_r = errbuf;
	(void)store_index_meta_set(u->idx, "last_uidvalidity", max_uidvalidity);
	if (ret == 0) {
		rebuild_subscriptions(u, maildir, &names);
		/* A folder the user deleted stays deleted if the old index
		 * had made them; else (new, migrated, older index) now. */
		if (old.special_done)
			(void)store_index_meta_set(u->idx, "special_folders", 1);
		if (store_special_folders(u) < 0)
			log_warn("store rebuild: %s: the special-use folders: %s", maildir,
				 store_user_error_text(u));
	}
	strv_free(&names);
	store_index_close(&u->idx);
	if (ret == 0) {
		struct stat st;
		if (stat(path, &st) == 0) {
			/* Kept whether or not it was damaged: the one thing to
			 * look at if the rebuild lost something. */
			char *broken = x_asprintf("%s.broken", path);
			unlink_db(broken);
			(void)rename_db(path, broken);
			free(broken);
		}
		if (rename_db(tmp, path) < 0) {
			snprintf(errbuf, sizeof(errbuf), "rename %s: %s", tmp, strerror(errno));
			*error_r = errbuf;
			ret = -1;
		} else {
			(void)fsync_parent_dir(path);
		}
	}
out:
	if (ret < 0)
		unlink_db(tmp);
	old_free(&old);
	free(u->address);
	free(u->maildir);
	free(u->last_error_text);
	strv_free(&u->crlf_failed);
	free(u);
	free(tmp);
	free(path);
	return ret;
}

int store_rebuild(const char *maildir, const char **error_r)
{
	char *lockpath = x_asprintf("%s/correu-index.lock", maildir);
	int fd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	free(lockpath);
	if (fd < 0) {
		*error_r = strerror(errno);
		return -1;
	}
	(void)flock(fd, LOCK_EX);
	int ret = rebuild_locked(maildir, error_r);
	(void)flock(fd, LOCK_UN);
	close(fd);
	if (ret == 0)
		log_info("store: rebuilt the index of %s", maildir);
	return ret;
}
