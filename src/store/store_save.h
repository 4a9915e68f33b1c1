/* store_save.h — adding a message to a mailbox (IMAP APPEND): the bytes
 * go to a file in tmp/ as they arrive, then the file is fsynced, given
 * the next UID, renamed into cur/ and its directory fsynced before the
 * caller is told. Runs in the workers; fsync in the thread pool. */
#ifndef CORREU_STORE_SAVE_H
#define CORREU_STORE_SAVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "store_error.h"

struct store_mailbox;
struct store_save;
struct store_view;

/* Starts a message in mb's tmp/. Returns NULL with the user error set. */
struct store_save *store_save_begin(struct store_mailbox *mb);
/* Appends bytes (written to the file as given: the caller supplies CRLF
 * line endings). -1 on a write error. */
int store_save_write(struct store_save *save, const void *data, size_t len);
/* Bytes written so far. */
uint64_t store_save_size(const struct store_save *save);
/* Discards the message and frees save. */
void store_save_abort(struct store_save **save);

/* The saving session has mb selected in view (not read-only): the new
 * message is \Recent in that view, claimed in the same transaction. */
void store_save_claim_recent(struct store_save *save, struct store_view *view);

/* uid is the new message's UID (0 with error != STORE_ERR_NONE). */
typedef void store_save_cb(void *ctx, uint32_t uidvalidity, uint32_t uid,
			   enum store_error error);

/* Finishes the message with flags, keywords and INTERNALDATE (idate 0 =
 * now; itz minutes east of UTC). Takes save (freed when done). cb runs
 * from the loop once the message is durable, never before this returns.
 * The mailbox must stay open until then. Refused with
 * STORE_ERR_OVERQUOTA when the user's quota would be exceeded. */
void store_save_finish(struct store_save *save, uint32_t flags,
		       const char *const *keywords, size_t n_keywords,
		       int64_t idate, int32_t itz, store_save_cb *cb, void *ctx);

#endif
