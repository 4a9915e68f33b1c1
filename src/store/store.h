/* store.h — the mail store as services see it: a user's Maildir++ and
 * its SQLite index. Services (IMAP, POP3, webmail back ends) never open
 * Maildir files themselves; they use these handles. Runs in the workers
 * on the event loop; anything slow (fsync, index rebuild) is done in the
 * libuv thread pool and reported through a callback.
 *
 * The pieces, each in its own header:
 *   store_user.h     open a user's store (async), usage, quota
 *   store_mailbox.h  mailboxes: list, create, delete, rename, subscribe,
 *                    status, open, sync with the Maildir
 *   store_msg.h      messages: iterate, open the file, flags, expunge,
 *                    copy/move, cached ENVELOPE/BODYSTRUCTURE
 *   store_save.h     append a new message (APPEND, POP3 never)
 *   store_view.h     a session's numbered view of a mailbox and the
 *                    changes other sessions made (EXISTS/EXPUNGE/FETCH)
 *   store_watch.h    change notification (inotify) for IDLE
 *   store_lock.h     the exclusive POP3 maildrop lock
 *   store_rebuild.h  rebuild the index from the Maildir
 *   store_hcache.h   the header cache and its background fill
 *   store_crlf.h     files with bare LFs made CRLF when first found
 *   store_dovecot.h  Dovecot's dovecot-uidlist and subscriptions files
 * (the last two, like store_special.c, internal to the store).
 */
#ifndef CORREU_STORE_H
#define CORREU_STORE_H

#include "store_error.h"
#include "store_user.h"
#include "store_mailbox.h"
#include "store_msg.h"
#include "store_save.h"
#include "store_view.h"
#include "store_watch.h"
#include "store_lock.h"
#include "store_hcache.h"

#endif
