/* fsutil.h — file system helpers with explicit durability. */
#ifndef CORREU_FSUTIL_H
#define CORREU_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "buf.h"

/* fsync()s the directory itself so a rename or create in it is durable. */
int fsync_dir(const char *path);
/* fsync()s the directory containing path. */
int fsync_parent_dir(const char *path);
/* Creates path and missing parents with mode; existing dirs are fine. */
int mkdir_p(const char *path, mode_t mode);
/* Writes data to path.tmp, fsyncs it, renames it over path and fsyncs
 * the directory. */
int write_file_durable(const char *path, const void *data, size_t len, mode_t mode);
/* Appends the whole file to out; fails if it is bigger than limit. */
int read_file(const char *path, struct buf *out, size_t limit);
/* write(2) all of it, retrying on EINTR and short writes. */
int write_full(int fd, const void *data, size_t len);
/* Recursively removes a tree (used by account deletion and tests). */
int remove_tree(const char *path);
/* Changes the owner of every file under path (init, as root). */
int chown_tree(const char *path, uid_t uid, gid_t gid);

#endif
