/* store_deliver.c — durable delivery into Maildirs by hard link, and
 * Maildir creation. Runs in worker and queue helper threads (blocking
 * file system calls). Handles no untrusted input except the folder
 * name, which callers have validated. */
#include "store_deliver.h"
#include "fsutil.h"
#include "fsync_group.h"
#include "log.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

static atomic_uint unique_seq;
static char unique_host[64];
static pthread_once_t unique_once = PTHREAD_ONCE_INIT;

static void unique_init(void)
{
	if (gethostname(unique_host, sizeof(unique_host)) < 0)
		strcpy(unique_host, "localhost");
	unique_host[sizeof(unique_host) - 1] = '\0';
	/* '/' and ':' would break the name (Maildir spec). */
	for (char *p = unique_host; *p != '\0'; p++)
		if (*p == '/' || *p == ':')
			*p = '_';
}

char *store_maildir_unique_name(size_t size)
{
	struct timeval tv;
	pthread_once(&unique_once, unique_init);
	gettimeofday(&tv, NULL);
	unsigned seq = atomic_fetch_add(&unique_seq, 1);
	return x_asprintf("%ld.M%06ldP%dQ%u.%s,S=%zu,W=%zu", (long)tv.tv_sec, (long)tv.tv_usec,
			  (int)getpid(), seq, unique_host, size, size);
}

static char *folder_path(const char *maildir, const char *folder)
{
	if (folder == NULL || folder[0] == '\0' || strcasecmp(folder, "INBOX") == 0)
		return x_strdup(maildir);
	return x_asprintf("%s/.%s", maildir, folder);
}

int store_maildir_ensure(const char *maildir, const char *folder, const char **error_r)
{
	char *root = folder_path(maildir, folder);
	static const char *const subs[] = { "cur", "new", "tmp" };
	int ret = 0;
	if (mkdir_p(root, 0700) < 0) {
		*error_r = strerror(errno);
		ret = -1;
	}
	for (size_t i = 0; ret == 0 && i < 3; i++) {
		char *p = x_asprintf("%s/%s", root, subs[i]);
		if (mkdir(p, 0700) < 0 && errno != EEXIST) {
			*error_r = strerror(errno);
			ret = -1;
		}
		free(p);
	}
	if (ret == 0 && folder != NULL && folder[0] != '\0' && strcasecmp(folder, "INBOX") != 0) {
		/* Maildir++ marks folders with a maildirfolder file. */
		char *p = x_asprintf("%s/maildirfolder", root);
		int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		if (fd >= 0)
			close(fd);
		free(p);
	}
	free(root);
	return ret;
}

/* Copies path to dst when a hard link is impossible (other file system). */
static int copy_file(const char *src, const char *dst)
{
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -1;
	int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		close(in);
		return -1;
	}
	char buf[65536];
	ssize_t n;
	int ret = 0;
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		if (write_full(out, buf, (size_t)n) < 0) {
			ret = -1;
			break;
		}
	}
	if (n < 0 || fsync(out) < 0)
		ret = -1;
	close(in);
	close(out);
	if (ret < 0)
		unlink(dst);
	return ret;
}

static int link_into(const char *path, const char *dir, const char *name)
{
	char *dst = x_asprintf("%s/new/%s", dir, name);
	int ret = link(path, dst);
	if (ret < 0 && errno == EXDEV) {
		/* Different file system: copy into tmp/, then rename. */
		char *tmp = x_asprintf("%s/tmp/%s", dir, name);
		ret = copy_file(path, tmp);
		if (ret == 0 && rename(tmp, dst) < 0) {
			unlink(tmp);
			ret = -1;
		}
		free(tmp);
	}
	free(dst);
	return ret;
}

int store_deliver_flush_data(int fd, const char **error_r)
{
	if (fsync_group_flush_data(fd) < 0) {
		*error_r = strerror(errno);
		return -1;
	}
	return 0;
}

int store_deliver_sync(int fd, const char *const *dirs, size_t n_dirs, const char **error_r)
{
	/* fdatasync(file) and the directory fsyncs run at once, so they
	 * wait for the same journal commit instead of one each. */
	if (fsync_group(&fd, 1, dirs, n_dirs) < 0) {
		*error_r = strerror(errno);
		return -1;
	}
	return 0;
}

int store_deliver_files(int fd, const char *path, size_t size,
			const struct store_target *targets, size_t n_targets,
			char ***names_r, const char **error_r)
{
	/* Order matters for crash safety and speed. The data goes to disk
	 * first (sync_file_range: no journal commit), so any later commit
	 * that records a link also records a complete file: a crash never
	 * shows a partial message in new/. Then the links, then fdatasync,
	 * which commits them with the inode, and the directory
	 * fsyncs in parallel with it; so one message costs about one journal
	 * commit, shared by the messages other sessions commit at the same
	 * moment. */
	if (fd >= 0 && store_deliver_flush_data(fd, error_r) < 0)
		return -1;
	char **names = x_calloc(n_targets + 1, sizeof(char *));
	char **dirs = x_calloc(n_targets + 1, sizeof(char *));
	int ret = 0;
	for (size_t i = 0; i < n_targets && ret == 0; i++) {
		dirs[i] = folder_path(targets[i].maildir, targets[i].folder);
		names[i] = store_maildir_unique_name(size);
		int r = link_into(path, dirs[i], names[i]);
		if (r < 0 && errno == ENOENT) {
			const char *err;
			if (store_maildir_ensure(targets[i].maildir, targets[i].folder, &err) == 0)
				r = link_into(path, dirs[i], names[i]);
		}
		if (r < 0) {
			*error_r = strerror(errno);
			ret = -1;
		}
	}
	if (ret == 0) {
		char **newdirs = x_calloc(n_targets + 1, sizeof(char *));
		for (size_t i = 0; i < n_targets; i++)
			newdirs[i] = x_asprintf("%s/new", dirs[i]);
		ret = store_deliver_sync(fd, (const char *const *)newdirs, n_targets, error_r);
		for (size_t i = 0; i < n_targets; i++)
			free(newdirs[i]);
		free(newdirs);
	}
	for (size_t i = 0; i < n_targets; i++)
		free(dirs[i]);
	free(dirs);
	if (names_r != NULL && ret == 0) {
		*names_r = names;
	} else {
		for (size_t i = 0; i < n_targets; i++)
			free(names[i]);
		free(names);
	}
	return ret;
}
