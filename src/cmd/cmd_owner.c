/* cmd_owner.c — commands run as root that touch a user's Maildir (reindex,
 * `user list -l`) act as the Maildir's owner, so every file they create
 * (index, SQLite's -wal and -shm, state files) stays usable by the
 * server. Parses no input. */
#include "cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int cmd_owner_enter(const char *path, bool *switched_r)
{
	struct stat st;
	*switched_r = false;
	if (geteuid() != 0 || stat(path, &st) < 0 || st.st_uid == 0)
		return 0;
	if (setegid(st.st_gid) < 0 || seteuid(st.st_uid) < 0) {
		(void)setegid(0);
		return -1;
	}
	*switched_r = true;
	return 0;
}

void cmd_owner_leave(bool switched)
{
	if (switched && (seteuid(0) < 0 || setegid(0) < 0)) {
		fprintf(stderr, "correu: cannot switch back to root\n");
		exit(1);
	}
}
