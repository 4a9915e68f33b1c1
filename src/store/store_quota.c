/* store_quota.c — storage quota checks for deliveries (see
 * store_quota.h). Runs in helper threads of the workers (SMTP) and of
 * the queue process, and in `correu user list -l`. Reads file names
 * from Maildirs (untrusted only in that other tools may put files
 * there); parses no protocol input. */
#include "store_quota.h"
#include "store_private.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

uint64_t store_quota_grace(uint64_t quota)
{
	return quota / 10;
}

enum store_quota_verdict store_quota_check(uint64_t quota, uint64_t used, uint64_t size,
					   bool grace)
{
	if (quota == 0)
		return STORE_QUOTA_OK;
	uint64_t limit = quota + (grace ? store_quota_grace(quota) : 0);
	if (size > limit)
		return STORE_QUOTA_TOO_BIG;
	if (used >= quota || size > limit - used || used > limit)
		return STORE_QUOTA_FULL;
	return STORE_QUOTA_OK;
}

int store_quota_usage(const char *address, const char *maildir, uint64_t *bytes_r,
		      const char **error_r)
{
	static __thread char errbuf[512];
	struct store_user *u;
	*bytes_r = 0;
	if (store_user_open_detached(address, maildir, &u, error_r) < 0)
		return -1;
	if (u == NULL)
		return 0;
	/* Mail delivered since the last look is in INBOX's new/, not yet
	 * in the index: take it in (UIDs, cur/), as a session would. A
	 * failure leaves the usage as indexed. */
	struct store_mailbox *mb;
	if (store_mailbox_open(u, "INBOX", &mb) == 0) {
		if (store_mailbox_sync(mb) < 0)
			log_warn("store %s: quota: %s", address, store_user_error_text(u));
		store_mailbox_close(&mb);
	}
	int ret = 0;
	if (store_user_usage(u, bytes_r, NULL) < 0) {
		snprintf(errbuf, sizeof(errbuf), "%s: %s", maildir, store_user_error_text(u));
		*error_r = errbuf;
		ret = -1;
	}
	store_user_close_detached(&u);
	return ret;
}

/* Adds the sizes of the regular files in dir (a cur/ or new/). */
static void add_dir_files(const char *dir, uint64_t *bytes)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return;
	DIR *d = fdopendir(dfd);
	if (d == NULL) {
		close(dfd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		if (de->d_name[0] != '.' && fstatat(dfd, de->d_name, &st, 0) == 0 &&
		    S_ISREG(st.st_mode))
			*bytes += (uint64_t)st.st_size;
	}
	closedir(d);
}

/* new/ of a folder, and cur/ too when all. */
static void add_folder(const char *dir, bool all, uint64_t *bytes)
{
	char *p = x_asprintf("%s/new", dir);
	add_dir_files(p, bytes);
	free(p);
	if (all) {
		p = x_asprintf("%s/cur", dir);
		add_dir_files(p, bytes);
		free(p);
	}
}

/* What the index does not count: new/ of every folder (the root and its
 * ".name" directories), and cur/ too when there is no index (all). */
static void add_unindexed(const char *maildir, bool all, uint64_t *bytes)
{
	add_folder(maildir, all, bytes);
	DIR *d = opendir(maildir);
	if (d == NULL)
		return;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.' || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		char *dir = x_asprintf("%s/%s", maildir, de->d_name);
		add_folder(dir, all, bytes);
		free(dir);
	}
	closedir(d);
}

int store_quota_peek(const char *maildir, uint64_t *bytes_r, const char **error_r)
{
	static __thread char errbuf[512];
	*bytes_r = 0;
	struct stat st;
	if (stat(maildir, &st) < 0)
		return 0;
	char *path = x_asprintf("%s/" STORE_INDEX_FILE, maildir);
	bool indexed = stat(path, &st) == 0;
	int ret = 0;
	if (indexed) {
		sqlite3 *db = NULL;
		sqlite3_stmt *q = NULL;
		int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
		if (rc == SQLITE_OK) {
			sqlite3_busy_timeout(db, 5000);
			rc = sqlite3_prepare_v2(db, "SELECT COALESCE(SUM(size), 0) FROM mailbox",
						-1, &q, NULL);
		}
		if (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW)
			*bytes_r = (uint64_t)sqlite3_column_int64(q, 0);
		if (rc != SQLITE_ROW) {
			snprintf(errbuf, sizeof(errbuf), "%s: %s", path,
				 db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
			*error_r = errbuf;
			ret = -1;
		}
		sqlite3_finalize(q);
		sqlite3_close(db);
	}
	free(path);
	if (ret == 0)
		add_unindexed(maildir, !indexed, bytes_r);
	return ret;
}
