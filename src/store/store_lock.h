/* store_lock.h — the POP3 maildrop lock (RFC 1939: one POP3 session per
 * maildrop). An flock(2) on <maildir>/correu-pop3.lock, so it works
 * across worker processes and dies with the process. IMAP does not take
 * it: IMAP sessions keep working and see POP3 deletions as expunges. */
#ifndef CORREU_STORE_LOCK_H
#define CORREU_STORE_LOCK_H

struct store_user;
struct store_lock;

/* Takes the lock without waiting; -1 with STORE_ERR_INUSE if another
 * session holds it. */
int store_maildrop_lock(struct store_user *user, struct store_lock **lock_r);
void store_maildrop_unlock(struct store_lock **lock);

/* Takes one of max session slots of the user, across all processes
 * (open-file-description locks on bytes of a file in the Maildir root;
 * released when the lock is freed or the process dies). -1 with
 * STORE_ERR_LIMIT when all are taken. Release with store_maildrop_unlock.
 * max 0 = no limit: no slot is taken (*lock_r NULL). */
int store_session_slot(struct store_user *user, unsigned max, struct store_lock **lock_r);

#endif
