/* store_deliver.h — durable delivery of a finished message file into
 * users' Maildirs. The message file (CRLF line endings) is hard-linked
 * into each Maildir's new/ under a unique name
 *   <sec>.M<usec>P<pid>Q<seq>.<host>,S=<size>,W=<size>
 * then every new/ directory is fsynced; only then does the caller
 * acknowledge the message. The file's data must already be fsynced
 * (store_deliver_files does it). Blocking: call from a helper thread
 * (uv_queue_work), never on an event loop. Maildirs and folders are
 * created on first use. */
#ifndef CORREU_STORE_DELIVER_H
#define CORREU_STORE_DELIVER_H

#include <stddef.h>
#include <sys/types.h>

struct store_target {
	const char *maildir;	/* Maildir++ root of the user */
	const char *folder;	/* NULL or "" = INBOX, else "Sent", "a.b" */
};

/* Writes the data of fd (the open message file at path) to disk, links
 * path into every target, fdatasyncs fd and fsyncs the new/ directories. size is the file size
 * (CRLF octets). names_r, if not NULL, receives the base names used
 * (caller frees each and the array). Returns 0 when every target has the
 * message durably, -1 with *error_r otherwise (already made links stay:
 * a retry may duplicate, never lose). */
int store_deliver_files(int fd, const char *path, size_t size,
			const struct store_target *targets, size_t n_targets,
			char ***names_r, const char **error_r);

/* The shared durability steps of every way a message enters a Maildir
 * (SMTP delivery, APPEND, COPY/MOVE), so each costs about one journal
 * commit, shared with the messages other sessions commit at the same
 * moment. Blocking: helper threads only.
 *
 * 1. store_deliver_flush_data(fd) before the file is linked or renamed
 *    into place: its data reaches the disk without a journal commit, so
 *    any later commit that records the name also records a complete
 *    file (a crash never shows a partial message).
 * 2. link/rename into new/ or cur/.
 * 3. store_deliver_sync(fd, dirs): fdatasync(fd) (fd < 0: none) and
 *    fsync of every directory, in parallel. Only then is the message
 *    acknowledged.
 * Each returns 0, or -1 with *error_r (strerror text). */
int store_deliver_flush_data(int fd, const char **error_r);
int store_deliver_sync(int fd, const char *const *dirs, size_t n_dirs, const char **error_r);

/* Creates the Maildir++ root (cur, new, tmp) and a folder below it if
 * missing, with mode 0700 directories. */
int store_maildir_ensure(const char *maildir, const char *folder, const char **error_r);

/* Makes a unique base name for a message of size bytes. Thread-safe. */
char *store_maildir_unique_name(size_t size);

#endif
