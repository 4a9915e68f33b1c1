/* store_hcache.h — the index's per-message header cache (the fields of
 * mail_hcache.h): made by APPEND and COPY as they store a message, and
 * for messages that arrive otherwise (SMTP delivery, other Maildir
 * tools, rebuilds) by a background fill in the thread pool. Runs in the
 * workers. */
#ifndef CORREU_STORE_HCACHE_H
#define CORREU_STORE_HCACHE_H

#include "buf.h"

struct store_mailbox;

/* Starts (or queues) the background fill of mb's messages that have no
 * header cache yet. Cheap when none lacks it (one indexed look-up). No
 * effect without a loop. */
void store_hcache_fill(struct store_mailbox *mb);

/* Reads the header of the message file at path and appends its cache
 * to out (nothing if the header is too long to cache). Blocking: for
 * helper threads and commands. 0, or -1 if the file cannot be read. */
int store_hcache_read(const char *path, struct buf *out);

#endif
