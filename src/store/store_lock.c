/* store_lock.c — the exclusive POP3 maildrop lock: flock(2) on a file
 * in the Maildir root, non-blocking. Runs in the workers. */
#include "store_private.h"
#include "store_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

struct store_lock {
	int fd;
};

int store_maildrop_lock(struct store_user *user, struct store_lock **lock_r)
{
	char *path = x_asprintf("%s/correu-pop3.lock", user->maildir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	free(path);
	if (fd < 0)
		return store_fail(user, STORE_ERR_TEMP, "Cannot open the maildrop lock: %s",
				  strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int err = errno;
		close(fd);
		if (err == EWOULDBLOCK)
			return store_fail(user, STORE_ERR_INUSE, "Maildrop is locked by another session");
		return store_fail(user, STORE_ERR_TEMP, "Cannot lock the maildrop: %s", strerror(err));
	}
	struct store_lock *l = x_malloc(sizeof(*l));
	l->fd = fd;
	*lock_r = l;
	return 0;
}

int store_session_slot(struct store_user *user, unsigned max, struct store_lock **lock_r)
{
	static unsigned next;
	if (max == 0) {
		*lock_r = NULL;
		return 0;
	}
	char *path = x_asprintf("%s/correu-sessions.lock", user->maildir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	free(path);
	if (fd < 0)
		return store_fail(user, STORE_ERR_TEMP, "Cannot open the session slots: %s",
				  strerror(errno));
	/* Start at a rotating slot: a free one is usually found at once. */
	unsigned start = max > 0 ? next++ % max : 0;
	for (unsigned i = 0; i < max; i++) {
		struct flock fl = {
			.l_type = F_WRLCK,
			.l_whence = SEEK_SET,
			.l_start = (off_t)((start + i) % max),
			.l_len = 1,
		};
		if (fcntl(fd, F_OFD_SETLK, &fl) == 0) {
			struct store_lock *l = x_malloc(sizeof(*l));
			l->fd = fd;
			*lock_r = l;
			return 0;
		}
		if (errno != EAGAIN && errno != EACCES) {
			int err = errno;
			close(fd);
			return store_fail(user, STORE_ERR_TEMP, "Cannot lock a session slot: %s",
					  strerror(err));
		}
	}
	close(fd);
	return store_fail(user, STORE_ERR_LIMIT, "Too many connections for this account");
}

void store_maildrop_unlock(struct store_lock **lockp)
{
	struct store_lock *l = *lockp;
	if (l == NULL)
		return;
	*lockp = NULL;
	close(l->fd);	/* releases the flock */
	free(l);
}
