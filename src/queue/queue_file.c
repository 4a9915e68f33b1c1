/* queue_file.c — files of the queue directory (see queue.h for the
 * layout). Runs in the queue process (thread-pool jobs), in workers
 * (enqueue) and in `correu queue`. Reads only files correu wrote. */
#include "queue_file.h"
#include "queue_env.h"
#include "auth_db.h"
#include "fsutil.h"
#include "fsync_group.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ORPHAN_AGE 3600

char *queue_dir_path(const struct config *cfg)
{
	return x_asprintf("%s/queue", cfg->data_dir);
}

char *queue_file_path(const struct config *cfg, const char *id, const char *suffix)
{
	return x_asprintf("%s/queue/%s%s", cfg->data_dir, id, suffix != NULL ? suffix : "");
}

int queue_dirs_ensure(const struct config *cfg, const char **error_r)
{
	char *tmp = x_asprintf("%s/queue/tmp", cfg->data_dir);
	if (access(tmp, F_OK) == 0) {
		free(tmp);
		return 0;
	}
	char *dir = queue_dir_path(cfg);
	int ret = mkdir_p(tmp, 0750);
	if (ret < 0)
		*error_r = "cannot create the queue directory";
	/* Made by root (the command line): give them to the server. */
	else if (auth_file_own(cfg, dir, error_r) < 0 || auth_file_own(cfg, tmp, error_r) < 0)
		ret = -1;
	free(tmp);
	free(dir);
	return ret;
}

int queue_env_load(const struct config *cfg, const char *id, struct queue_envelope *env,
		   const char **error_r)
{
	if (!queue_id_valid(id)) {
		*error_r = "invalid queue id";
		errno = ENOENT;
		return -1;
	}
	char *path = queue_file_path(cfg, id, ".env");
	struct buf b = BUF_INIT;
	int ret = read_file(path, &b, QUEUE_ENV_MAX_SIZE);
	free(path);
	if (ret < 0) {
		*error_r = errno == ENOENT ? "no such message in the queue" :
			"cannot read the envelope file";
		buf_free(&b);
		queue_envelope_init(env);
		return -1;
	}
	ret = queue_env_parse(b.data != NULL ? b.data : "", b.len, env, error_r);
	buf_free(&b);
	if (ret < 0) {
		errno = EINVAL;
		return -1;
	}
	if (strcmp(env->id, id) != 0) {
		queue_envelope_free(env);
		*error_r = "envelope id does not match its file name";
		errno = EINVAL;
		return -1;
	}
	return 0;
}

static int env_write(const struct config *cfg, const struct queue_envelope *env, int msg_fd,
		     bool sync_dir, const char **error_r)
{
	static atomic_uint seq;
	struct buf b = BUF_INIT;
	queue_env_format(env, &b);
	char *tmp = x_asprintf("%s/queue/tmp/%s.env.%d.%u", cfg->data_dir, env->id,
			       (int)getpid(), atomic_fetch_add(&seq, 1));
	char *path = queue_file_path(cfg, env->id, ".env");
	int ret = -1;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0 && errno == ENOENT && queue_dirs_ensure(cfg, error_r) == 0)
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0) {
		*error_r = "cannot create a temporary envelope file";
		goto out;
	}
	if (auth_file_own(cfg, tmp, error_r) < 0) {
		close(fd);
		unlink(tmp);
		goto out;
	}
	/* The data of both files goes to the disk first, without a journal
	 * commit; then the rename (the commit point); then one commit for
	 * the inodes, the rename and the message's link together: the
	 * fdatasyncs and the directory fsync wait for it at once. Any
	 * commit that records the rename also records the complete files
	 * (their sizes and blocks were changed before it), so a crash
	 * never leaves an envelope naming a partial message. */
	if (write_full(fd, b.data, b.len) < 0 || fsync_group_flush_data(fd) < 0 ||
	    (msg_fd >= 0 && fsync_group_flush_data(msg_fd) < 0)) {
		*error_r = "cannot write the envelope file";
		close(fd);
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, path) < 0) {
		*error_r = "cannot rename the envelope file";
		close(fd);
		unlink(tmp);
		goto out;
	}
	char *dir = queue_dir_path(cfg);
	const char *dirs[] = { dir };
	int fds[] = { fd, msg_fd };
	int synced = fsync_group(fds, 2, dirs, sync_dir ? 1 : 0);
	free(dir);
	close(fd);
	if (synced < 0) {
		*error_r = "cannot sync the queue files";
		goto out;
	}
	ret = 0;
out:
	buf_free(&b);
	free(tmp);
	free(path);
	return ret;
}

int queue_env_save(const struct config *cfg, const struct queue_envelope *env,
		   bool sync_dir, const char **error_r)
{
	return env_write(cfg, env, -1, sync_dir, error_r);
}

int queue_env_commit(const struct config *cfg, const struct queue_envelope *env, int msg_fd,
		     const char **error_r)
{
	return env_write(cfg, env, msg_fd, true, error_r);
}

int queue_remove(const struct config *cfg, const char *id, const char **error_r)
{
	if (!queue_id_valid(id)) {
		*error_r = "invalid queue id";
		return -1;
	}
	char *env = queue_file_path(cfg, id, ".env");
	char *msg = queue_file_path(cfg, id, NULL);
	int ret = 0;
	if (unlink(env) < 0 && errno != ENOENT) {
		*error_r = "cannot remove the envelope file";
		ret = -1;
	} else if (unlink(msg) < 0 && errno != ENOENT) {
		*error_r = "cannot remove the message file";
		ret = -1;
	}
	free(env);
	free(msg);
	return ret;
}

int queue_quarantine(const struct config *cfg, const char *id, const char **error_r)
{
	if (!queue_id_valid(id)) {
		*error_r = "invalid queue id";
		return -1;
	}
	char *dir = x_asprintf("%s/queue/corrupt", cfg->data_dir);
	int ret = 0;
	if (mkdir_p(dir, 0750) < 0) {
		*error_r = "cannot create data_dir/queue/corrupt";
		ret = -1;
	}
	static const char *const suffixes[] = { ".env", "" };
	for (size_t i = 0; ret == 0 && i < N_ELEMENTS(suffixes); i++) {
		char *from = queue_file_path(cfg, id, suffixes[i]);
		char *to = x_asprintf("%s/%s%s", dir, id, suffixes[i]);
		if (rename(from, to) < 0 && errno != ENOENT) {
			*error_r = "cannot move the message to data_dir/queue/corrupt";
			ret = -1;
		}
		free(from);
		free(to);
	}
	free(dir);
	return ret;
}

int queue_message_open(const struct config *cfg, const struct queue_envelope *env)
{
	char *path = queue_file_path(cfg, env->id, NULL);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	return fd;
}

int queue_message_read(const struct config *cfg, const struct queue_envelope *env,
		       size_t max, bool header_only, struct buf *out, const char **error_r)
{
	int fd = queue_message_open(cfg, env);
	if (fd < 0) {
		*error_r = "cannot open the message file";
		return -1;
	}
	off_t off = (off_t)env->skip;
	size_t got = 0;
	size_t start = out->len;
	while (got < max) {
		size_t want = max - got < 65536 ? max - got : 65536;
		char *w = buf_reserve(out, want);
		ssize_t n = pread(fd, w, want, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			close(fd);
			*error_r = "cannot read the message file";
			return -1;
		}
		if (n == 0)
			break;
		buf_commit(out, (size_t)n);
		got += (size_t)n;
		off += n;
		if (header_only) {
			const char *s = out->data + start;
			const char *e = NULL;
			if (got >= 2 && memcmp(s, "\r\n", 2) == 0)
				e = s + 2;
			else if ((e = memmem(s, got, "\r\n\r\n", 4)) != NULL)
				e += 4;
			if (e != NULL) {
				out->len = (size_t)(e - out->data);
				out->data[out->len] = '\0';
				break;
			}
		}
	}
	close(fd);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void clean_tmp(const char *qdir, time_t now)
{
	char *tmp = x_asprintf("%s/tmp", qdir);
	DIR *d = opendir(tmp);
	if (d != NULL) {
		struct dirent *de;
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			struct stat st;
			if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISREG(st.st_mode) && st.st_mtime + ORPHAN_AGE < now)
				(void)unlinkat(dirfd(d), de->d_name, 0);
		}
		closedir(d);
	}
	free(tmp);
}

int queue_scan(const struct config *cfg, struct strv *ids, const char **error_r)
{
	char *qdir = queue_dir_path(cfg);
	DIR *d = opendir(qdir);
	if (d == NULL) {
		free(qdir);
		if (errno == ENOENT)
			return 0;
		*error_r = "cannot open the queue directory";
		return -1;
	}
	time_t now = time(NULL);
	struct strv msgs;
	strv_init(&msgs);
	size_t first = ids->n;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		const char *name = de->d_name;
		if (de->d_type == DT_DIR)
			continue;	/* tmp/, corrupt/ */
		size_t len = strlen(name);
		if (len > 4 && strcmp(name + len - 4, ".env") == 0) {
			char *id = x_strndup(name, len - 4);
			if (queue_id_valid(id))
				strv_push_owned(ids, id);
			else
				free(id);
		} else if (queue_id_valid(name)) {
			strv_push(&msgs, name);
		}
	}
	/* Message files whose envelope never got committed. */
	for (size_t i = 0; i < msgs.n; i++) {
		char *env = x_asprintf("%s.env", msgs.v[i]);
		struct stat st;
		if (fstatat(dirfd(d), env, &st, 0) < 0 && errno == ENOENT &&
		    fstatat(dirfd(d), msgs.v[i], &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    st.st_ctime + ORPHAN_AGE < now) {
			log_info("queue: removing %s, left by an interrupted enqueue", msgs.v[i]);
			(void)unlinkat(dirfd(d), msgs.v[i], 0);
		}
		free(env);
	}
	closedir(d);
	strv_free(&msgs);
	clean_tmp(qdir, now);
	free(qdir);
	if (ids->n > first)
		qsort(ids->v + first, ids->n - first, sizeof(char *), cmp_str);
	return 0;
}
