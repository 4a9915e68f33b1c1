/* queue_enqueue.c — commits a message and its envelope to the queue
 * durably, then tells the queue process. Runs in worker thread-pool
 * jobs, in the queue process (bounces) and in `correu sendmail`.
 * Handles no untrusted input beyond the caller's envelope strings,
 * which the envelope format escapes. */
#include "queue.h"
#include "queue_ctl.h"
#include "queue_env.h"
#include "queue_file.h"
#include "auth_db.h"
#include "fsutil.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Copies the message (from skip on) into tmp/ and renames it to dst,
 * for when the spool file cannot be linked (another file system). */
static int copy_message(const struct config *cfg, int fd, size_t skip, size_t size,
			const char *id, const char *dst)
{
	char *tmp = x_asprintf("%s/queue/tmp/%s.msg", cfg->data_dir, id);
	int out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (out < 0) {
		free(tmp);
		return -1;
	}
	off_t off = (off_t)skip;
	size_t left = size;
	int ret = 0;
	while (left > 0) {
		ssize_t n = sendfile(out, fd, &off, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = -1;
			break;
		}
		left -= (size_t)n;
	}
	if (ret == 0 && fdatasync(out) < 0)
		ret = -1;
	close(out);
	if (ret == 0 && rename(tmp, dst) < 0)
		ret = -1;
	if (ret < 0)
		unlink(tmp);
	free(tmp);
	return ret;
}

int queue_enqueue(const struct config *cfg, int fd, const char *path, size_t skip,
		  const struct queue_envelope *env, char **id_r, const char **error_r)
{
	struct stat st;
	if (env->n_rcpts == 0) {
		*error_r = "no recipients";
		return -1;
	}
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_size < skip) {
		*error_r = "cannot stat the message file";
		return -1;
	}
	if (queue_dirs_ensure(cfg, error_r) < 0)
		return -1;

	struct queue_envelope e;
	queue_envelope_copy(&e, env);
	if (e.sender == NULL)
		e.sender = x_strdup("");
	e.arrival = time(NULL);
	e.size = (uint64_t)st.st_size - skip;
	e.skip = skip;
	for (size_t i = 0; i < e.n_rcpts; i++)
		e.rcpts[i].status = QUEUE_RCPT_PENDING;

	char *msg = NULL;
	int ret = -1;
	int msg_fd = fd;	/* what still needs an fdatasync */
	for (int tries = 0;; tries++) {
		if (e.id == NULL)
			e.id = queue_id_new();
		if (!queue_id_valid(e.id)) {
			*error_r = "invalid queue id";
			goto out;
		}
		msg = queue_file_path(cfg, e.id, NULL);
		if (link(path, msg) == 0)
			break;
		if (errno == EEXIST && tries < 5 && env->id == NULL) {
			x_free(&msg);
			x_free(&e.id);
			continue;
		}
		if (errno == EEXIST) {
			*error_r = "queue id already in use";
			x_free(&msg);
			goto out;
		}
		/* Not linkable (other file system, odd permissions): copy. */
		if (copy_message(cfg, fd, skip, (size_t)e.size, e.id, msg) < 0) {
			*error_r = "cannot write the message into the queue";
			x_free(&msg);
			goto out;
		}
		e.skip = 0;
		msg_fd = -1;	/* the copy was synced */
		break;
	}
	/* As root (sendmail run by root): the server must own it. */
	if (auth_file_own(cfg, msg, error_r) < 0) {
		unlink(msg);
		goto out;
	}
	/* The message is linked, not yet synced: its fdatasync runs in
	 * parallel with the envelope's, before the envelope's rename. */
	if (queue_env_commit(cfg, &e, msg_fd, error_r) < 0) {
		unlink(msg);
		goto out;
	}
	char note[QUEUE_CTL_MAX];
	snprintf(note, sizeof(note), "new %s", e.id);
	if (queue_ctl_notify(cfg, note) < 0)
		log_debug("queue %s: queue process not reachable (%s); it will find the "
			  "message when it starts", e.id, strerror(errno));
	*id_r = e.id;
	e.id = NULL;
	ret = 0;
out:
	free(msg);
	queue_envelope_free(&e);
	return ret;
}

int queue_enqueue_data(const struct config *cfg, const void *data, size_t len,
		       const struct queue_envelope *env, char **id_r, const char **error_r)
{
	if (queue_dirs_ensure(cfg, error_r) < 0)
		return -1;
	char *id = env->id != NULL ? x_strdup(env->id) : queue_id_new();
	char *tmp = x_asprintf("%s/queue/tmp/%s.new", cfg->data_dir, id);
	int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	int ret = -1;
	if (fd < 0) {
		*error_r = "cannot create a queue file";
		goto out;
	}
	if (write_full(fd, data, len) < 0) {
		*error_r = "cannot write a queue file";
		goto out;
	}
	struct queue_envelope e = *env;
	e.id = id;
	ret = queue_enqueue(cfg, fd, tmp, 0, &e, id_r, error_r);
out:
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	free(tmp);
	free(id);
	return ret;
}
