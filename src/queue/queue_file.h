/* queue_file.h — the queue directory: paths, loading and durably
 * rewriting envelopes, removing messages, listing. Blocking file system
 * calls: the queue process calls them from thread-pool jobs; the command
 * line calls them directly. */
#ifndef CORREU_QUEUE_FILE_H
#define CORREU_QUEUE_FILE_H

#include <stdbool.h>
#include "buf.h"
#include "queue.h"
#include "str.h"

/* data_dir/queue; caller frees. */
char *queue_dir_path(const struct config *cfg);
/* data_dir/queue/ID plus suffix (e.g. ".env"); caller frees. */
char *queue_file_path(const struct config *cfg, const char *id, const char *suffix);
/* Creates data_dir/queue and its tmp/ if missing. */
int queue_dirs_ensure(const struct config *cfg, const char **error_r);

/* Reads and parses ID.env. Returns 0, or -1 with *error_r and errno
 * (ENOENT when the message is not, or no longer, queued). */
int queue_env_load(const struct config *cfg, const char *id, struct queue_envelope *env,
		   const char **error_r);
/* Replaces ID.env: temporary file, fdatasync, rename; with sync_dir
 * also fsyncs the queue directory (needed when the rename commits a new
 * message; a state update that a power loss undoes only causes a
 * repeated attempt, so it may skip it). */
int queue_env_save(const struct config *cfg, const struct queue_envelope *env,
		   bool sync_dir, const char **error_r);
/* The enqueue commit: writes ID.env to a temporary name, fdatasyncs it
 * and msg_fd (the message file) in parallel, renames it into place and
 * fsyncs the queue directory. */
int queue_env_commit(const struct config *cfg, const struct queue_envelope *env, int msg_fd,
		     const char **error_r);
/* Removes a message: its envelope first (the commit point), then the
 * message file. ENOENT is not an error. The directory is not fsynced:
 * a power loss right after can bring the message back for one more
 * (duplicate) delivery, never lose one. */
int queue_remove(const struct config *cfg, const char *id, const char **error_r);

/* Moves a damaged message (envelope that does not parse, message file
 * missing or shorter than its envelope says) to data_dir/queue/corrupt/
 * for the administrator, so it is not retried for ever. */
int queue_quarantine(const struct config *cfg, const char *id, const char **error_r);

/* Opens the message file of env read-only; the message starts at
 * env->skip. Returns the fd or -1. */
int queue_message_open(const struct config *cfg, const struct queue_envelope *env);
/* Reads up to max bytes of the message (after skip) into out; with
 * header_only, stops after the empty line that ends the header. */
int queue_message_read(const struct config *cfg, const struct queue_envelope *env,
		       size_t max, bool header_only, struct buf *out, const char **error_r);

/* Appends the ids of every committed message (one with an .env file) to
 * ids, sorted (oldest first). Removes leftovers older than an hour: a
 * message file without envelope (enqueue interrupted by a crash) and
 * files in tmp/. */
int queue_scan(const struct config *cfg, struct strv *ids, const char **error_r);

#endif
