/* store_rebuild.c — rebuilding a user's index from the Maildir. Runs in
 * `correu reindex` and in thread-pool jobs of the workers (blocking).
 * Folder and file names on disk are untrusted (other Maildir tools). */
#include "store_private.h"
#include "store_rebuild.h"
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

/* What the old index knew that the Maildir does not: special uses and
 * the highest modseq. Best effort; a damaged index gives nothing. */
static void read_old(const char *path, struct old_mailbox **list_r, size_t *n_r,
		     uint64_t *max_modseq_r)
{
	*list_r = NULL;
	*n_r = 0;
	*max_modseq_r = 0;
	sqlite3 *db;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return;
	}
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT name, special, modseq FROM mailbox", -1, &st,
			       NULL) == SQLITE_OK) {
		size_t cap = 0;
		while (sqlite3_step(st) == SQLITE_ROW) {
			if (*n_r == cap) {
				cap = cap == 0 ? 16 : cap * 2;
				*list_r = x_reallocarray(*list_r, cap, sizeof(**list_r));
			}
			struct old_mailbox *o = &(*list_r)[(*n_r)++];
			const unsigned char *name = sqlite3_column_text(st, 0);
			o->name = x_strdup(name != NULL ? (const char *)name : "");
			o->special = (unsigned)sqlite3_column_int(st, 1);
			o->modseq = (uint64_t)sqlite3_column_int64(st, 2);
			if (o->modseq > *max_modseq_r)
				*max_modseq_r = o->modseq;
		}
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static unsigned default_special(const char *name)
{
	static const struct {
		const char *name;
		unsigned special;
	} map[] = {
		{ "Drafts", STORE_SPECIAL_DRAFTS }, { "Sent", STORE_SPECIAL_SENT },
		{ "Trash", STORE_SPECIAL_TRASH }, { "Junk", STORE_SPECIAL_JUNK },
		{ "Archive", STORE_SPECIAL_ARCHIVE },
	};
	for (size_t i = 0; i < N_ELEMENTS(map); i++)
		if (strcmp(map[i].name, name) == 0)
			return map[i].special;
	return 0;
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

static int rebuild_locked(const char *maildir, const char **error_r)
{
	static __thread char errbuf[512];
	char *path = x_asprintf("%s/" STORE_INDEX_FILE, maildir);
	char *tmp = x_asprintf("%s.rebuild", path);
	struct old_mailbox *old = NULL;
	size_t n_old = 0;
	uint64_t max_modseq = 0;
	int ret = 0;
	read_old(path, &old, &n_old, &max_modseq);
	/* HIGHESTMODSEQ must never go backwards, even when the old index
	 * is unreadable: start above anything a past index could reach. */
	uint64_t floor = ((uint64_t)time(NULL) << 24);
	if (max_modseq + 1 > floor)
		floor = max_modseq + 1;
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
	for (size_t i = 0; i < names.n && ret == 0; i++) {
		char *dir = store_mailbox_dir(u, names.v[i]);
		uint32_t uidvalidity, uidnext;
		char guid[33];
		int st = store_mailbox_state_read(dir, &uidvalidity, &uidnext, guid);
		if (st == -2) {
			/* Unreadable, not missing: never invent a new UIDVALIDITY
			 * for a mailbox whose clients hold the old one. */
			snprintf(errbuf, sizeof(errbuf), "%s: state file unreadable", names.v[i]);
			*error_r = errbuf;
			free(dir);
			ret = -1;
			break;
		}
		if (st < 0) {
			/* No state: the UIDs in file names cannot be trusted
			 * against what clients cached, so a new UIDVALIDITY. */
			uidvalidity = (uint32_t)time(NULL) + (uint32_t)i;
			uidnext = 1;
			snprintf(guid, sizeof(guid), "%08x%08x%08x%08x", uidvalidity,
				 (unsigned)getpid(), (unsigned)i, (unsigned)rand());
		}
		if (uidvalidity > max_uidvalidity)
			max_uidvalidity = uidvalidity;
		unsigned special = default_special(names.v[i]);
		for (size_t j = 0; j < n_old; j++)
			if (strcmp(old[j].name, names.v[i]) == 0)
				special = old[j].special;
		free(dir);
		if (store_mailbox_insert_row(u, names.v[i], uidvalidity, uidnext, floor, special,
					     guid) < 0) {
			snprintf(errbuf, sizeof(errbuf), "cannot index %s", names.v[i]);
			*error_r = errbuf;
			ret = -1;
			break;
		}
		struct store_mailbox *mb = NULL;
		/* Keyword names first: the letters in file names refer to them. */
		struct strv kw;
		strv_init(&kw);
		if (store_mailbox_open(u, names.v[i], &mb) == 0 &&
		    store_mailbox_keywords_file_read(mb->path, &kw) == 0 && kw.n > 0)
			(void)store_mailbox_set_keywords(mb, &kw);
		strv_free(&kw);
		if (mb == NULL || store_mailbox_sync_full(mb, true, true) < 0) {
			snprintf(errbuf, sizeof(errbuf), "%s: %s", names.v[i],
				 store_user_error_text(u));
			*error_r = errbuf;
			ret = -1;
		} else {
			struct store_mailbox_info info;
			if (store_mailbox_info_get(mb, &info) == 0) {
				store_mailbox_write_state(mb, info.uidnext);
				free(info.name);
			}
			/* Expunge history starts here: older modseqs get
			 * VANISHED computed from the UID range. */
			char *sql = x_asprintf("UPDATE mailbox SET vanished_modseq = modseq, "
					       "recent_uid = uidnext WHERE id = %lld",
					       (long long)mb->id);
			(void)store_index_exec(u->idx, sql);
			free(sql);
		}
		if (mb != NULL)
			store_mailbox_close(&mb);
		u->refcount = 1;
	}
	(void)store_index_meta_set(u->idx, "last_uidvalidity", max_uidvalidity);
	/* Subscriptions from their file, else every folder. */
	struct buf sb = BUF_INIT;
	char *subpath = x_asprintf("%s/" STORE_SUBSCRIPTIONS_FILE, maildir);
	if (read_file(subpath, &sb, 1024 * 1024) == 0) {
		char *save = NULL;
		for (char *line = strtok_r(sb.data != NULL ? sb.data : (char *)"", "\n", &save);
		     line != NULL; line = strtok_r(NULL, "\n", &save))
			(void)store_subscribe(u, line, true);
	} else {
		for (size_t i = 0; i < names.n; i++)
			(void)store_subscribe(u, names.v[i], true);
	}
	free(subpath);
	buf_free(&sb);
	strv_free(&names);
	store_index_close(&u->idx);
	if (ret == 0) {
		struct stat st;
		if (stat(path, &st) == 0) {
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
	for (size_t i = 0; i < n_old; i++)
		free(old[i].name);
	free(old);
	free(u->address);
	free(u->maildir);
	free(u->last_error_text);
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
