/* fsync_group.c — parallel fdatasync/fsync so that one journal commit
 * covers a message, its envelope and their directory. Blocking: called
 * from thread-pool jobs and command-line tools, never on a loop. */
#include "fsync_group.h"
#include "fsutil.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

int fsync_group_flush_data(int fd)
{
	if (sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
			    SYNC_FILE_RANGE_WAIT_AFTER) == 0)
		return 0;
	return fdatasync(fd);
}

struct sync_job {
	int fd;			/* >= 0: fdatasync it */
	const char *dir;	/* otherwise fsync this directory */
	int ret;
	int err;
	pthread_t th;
	bool threaded;
};

static void *sync_job_run(void *arg)
{
	struct sync_job *j = arg;
	j->ret = j->fd >= 0 ? fdatasync(j->fd) : fsync_dir(j->dir);
	j->err = errno;
	return NULL;
}

int fsync_group(const int *fds, size_t n_fds, const char *const *dirs, size_t n_dirs)
{
	struct sync_job *jobs = x_calloc(n_fds + n_dirs + 1, sizeof(*jobs));
	size_t n = 0;
	for (size_t i = 0; i < n_fds; i++)
		if (fds[i] >= 0)
			jobs[n++] = (struct sync_job){ .fd = fds[i] };
	for (size_t i = 0; i < n_dirs; i++)
		jobs[n++] = (struct sync_job){ .fd = -1, .dir = dirs[i] };
	/* All but the last in threads; the last here; without a thread
	 * (none left) a job simply runs here in turn. */
	for (size_t i = 0; i + 1 < n; i++)
		jobs[i].threaded = pthread_create(&jobs[i].th, NULL, sync_job_run, &jobs[i]) == 0;
	for (size_t i = 0; i < n; i++)
		if (!jobs[i].threaded)
			sync_job_run(&jobs[i]);
	int ret = 0, err = 0;
	for (size_t i = 0; i < n; i++) {
		if (jobs[i].threaded)
			pthread_join(jobs[i].th, NULL);
		if (jobs[i].ret < 0 && ret == 0) {
			ret = -1;
			err = jobs[i].err;
		}
	}
	free(jobs);
	errno = err;
	return ret;
}
