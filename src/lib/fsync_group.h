/* fsync_group.h — making several files and directories durable in one
 * journal commit instead of one commit each. */
#ifndef CORREU_FSYNC_GROUP_H
#define CORREU_FSYNC_GROUP_H

#include <stddef.h>

/* Writes fd's data to the disk and waits for it, without a journal
 * commit (sync_file_range); falls back to fdatasync. Done before a
 * link or rename publishes the file, so the commit that records the
 * name also finds the data written. */
int fsync_group_flush_data(int fd);

/* fdatasync of every fd (those < 0 are skipped) and fsync of every
 * directory, all at the same time (a thread each but one), so they
 * wait for the same journal commit. -1 with errno of the first
 * failure. */
int fsync_group(const int *fds, size_t n_fds, const char *const *dirs, size_t n_dirs);

#endif
