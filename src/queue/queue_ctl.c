/* queue_ctl.c — client and listening side of the queue control socket.
 * Runs in workers and the command line (clients) and in the queue
 * process (listener). Parses nothing; queue_process.c reads requests. */
#include "queue_ctl.h"
#include "fsutil.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

char *queue_ctl_path(const struct config *cfg)
{
	return x_asprintf("%s/run/queue.sock", cfg->data_dir);
}

int queue_ctl_sockaddr(const char *path, struct sockaddr_un *sun, socklen_t *len_r,
		       int *dirfd_r)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	*dirfd_r = -1;
	if (strlen(path) < sizeof(sun->sun_path)) {
		strcpy(sun->sun_path, path);
	} else {
		char *copy = x_strdup(path);
		char *copy2 = x_strdup(path);
		int dfd = open(dirname(copy), O_PATH | O_DIRECTORY | O_CLOEXEC);
		const char *base = basename(copy2);
		int n = dfd < 0 ? -1 : snprintf(sun->sun_path, sizeof(sun->sun_path),
						"/proc/self/fd/%d/%s", dfd, base);
		free(copy);
		free(copy2);
		if (n < 0 || (size_t)n >= sizeof(sun->sun_path)) {
			if (dfd >= 0)
				close(dfd);
			errno = ENAMETOOLONG;
			return -1;
		}
		*dirfd_r = dfd;
	}
	*len_r = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(sun->sun_path) + 1);
	return 0;
}

/* An autobound datagram socket connected to the queue process. */
static int ctl_connect(const struct config *cfg, unsigned timeout_ms)
{
	char *path = queue_ctl_path(cfg);
	struct sockaddr_un sun;
	socklen_t len;
	int dfd;
	int ret = queue_ctl_sockaddr(path, &sun, &len, &dfd);
	free(path);
	if (ret < 0)
		return -1;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	/* Autobind so that replies can come back. */
	sa_family_t fam = AF_UNIX;
	if (bind(fd, (struct sockaddr *)&fam, sizeof(fam)) < 0)
		goto fail;
	struct timeval tv = { (time_t)(timeout_ms / 1000), (suseconds_t)(timeout_ms % 1000) * 1000 };
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, len) < 0)
		goto fail;
	if (dfd >= 0)
		close(dfd);
	return fd;
fail:;
	int saved = errno;
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	errno = saved;
	return -1;
}

int queue_ctl_notify(const struct config *cfg, const char *msg)
{
	int fd = ctl_connect(cfg, 1000);
	if (fd < 0)
		return -1;
	ssize_t n;
	do {
		n = send(fd, msg, strlen(msg), 0);
	} while (n < 0 && errno == EINTR);
	int saved = errno;
	close(fd);
	errno = saved;
	return n < 0 ? -1 : 0;
}

int queue_ctl_request(const struct config *cfg, const char *msg, unsigned timeout_ms,
		      char **reply_r)
{
	int fd = ctl_connect(cfg, timeout_ms);
	if (fd < 0)
		return -1;
	if (send(fd, msg, strlen(msg), 0) < 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	struct pollfd pfd = { fd, POLLIN, 0 };
	int r;
	do {
		r = poll(&pfd, 1, (int)timeout_ms);
	} while (r < 0 && errno == EINTR);
	if (r <= 0) {
		close(fd);
		errno = r == 0 ? ETIMEDOUT : errno;
		return -1;
	}
	char buf[QUEUE_CTL_MAX + 1];
	ssize_t n = recv(fd, buf, QUEUE_CTL_MAX, 0);
	int saved = errno;
	close(fd);
	if (n < 0) {
		errno = saved;
		return -1;
	}
	*reply_r = x_strndup(buf, (size_t)n);
	return 0;
}

int queue_ctl_bind(const char *dir, mode_t dir_mode, const char *name, int type,
		   mode_t sock_mode, const char **error_r)
{
	char *path = x_asprintf("%s/%s", dir, name);
	struct sockaddr_un sun;
	socklen_t len;
	int dfd = -1, fd = -1;
	if (mkdir_p(dir, dir_mode) < 0) {
		*error_r = "cannot create the socket's directory";
		goto fail;
	}
	if (queue_ctl_sockaddr(path, &sun, &len, &dfd) < 0) {
		*error_r = "socket path too long";
		goto fail;
	}
	fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*error_r = "cannot create a Unix socket";
		goto fail;
	}
	(void)unlink(path);
	if (bind(fd, (struct sockaddr *)&sun, len) < 0) {
		*error_r = "cannot bind the Unix socket";
		goto fail;
	}
	if (chmod(path, sock_mode) < 0) {
		*error_r = "cannot set the Unix socket's mode";
		goto fail;
	}
	if (dfd >= 0)
		close(dfd);
	free(path);
	return fd;
fail:;
	int saved = errno;
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	free(path);
	errno = saved;
	return -1;
}

int queue_ctl_listen(const struct config *cfg, const char **error_r)
{
	char *dir = x_asprintf("%s/run", cfg->data_dir);
	/* Workers run as the same user; nobody else may talk to it. */
	int fd = queue_ctl_bind(dir, 0750, "queue.sock", SOCK_DGRAM, 0660, error_r);
	free(dir);
	if (fd >= 0) {
		int rcvbuf = 1 << 20;
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	}
	return fd;
}
