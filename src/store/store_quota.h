/* store_quota.h — the storage quota of an account as deliveries see it:
 * SMTP at RCPT and at the end of data, and the queue process's local
 * delivery (docs/smtp.md, "Quota"). IMAP APPEND and COPY check the
 * quota of an open store themselves (store_user_usage).
 *
 * Usage is what IMAP QUOTA reports: the size of every message in the
 * index. Delivery links new mail into INBOX's new/ without touching the
 * index, so store_quota_usage first takes that mail in, as a login
 * would; the next look finds new/ (nearly) empty, so a check costs an
 * index open, two directory stats, a short new/ listing and one query,
 * never a walk of the mailboxes. */
#ifndef CORREU_STORE_QUOTA_H
#define CORREU_STORE_QUOTA_H

#include <stdbool.h>
#include <stdint.h>

enum store_quota_verdict {
	STORE_QUOTA_OK,
	/* At or over the quota, or the message does not fit in what is
	 * left: temporary (4.2.2), the user can make room. */
	STORE_QUOTA_FULL,
	/* The message is larger than the whole quota: it never fits
	 * (5.2.2). */
	STORE_QUOTA_TOO_BIG,
};

/* How far a delivered message may take an account over its quota when
 * the account was under it before: 10% of the quota, as Dovecot's
 * default quota_grace. Not applied to what SIZE= announces at RCPT. */
uint64_t store_quota_grace(uint64_t quota);

/* The verdict for a message of size bytes (0 = not known) to an account
 * using used bytes of quota (0 = no quota: always OK). grace: at
 * delivery, allow store_quota_grace over the quota. Pure. */
enum store_quota_verdict store_quota_check(uint64_t quota, uint64_t used, uint64_t size,
					   bool grace);

/* The usage in bytes of the account whose Maildir++ root is maildir,
 * after taking INBOX's new mail into the index. No Maildir, or no mail
 * yet: 0 (nothing is created). Uses a handle of its own, so it works
 * whether or not this process has a session of the user. Blocking:
 * helper threads only (or commands). 0, or -1 with *error_r (valid
 * until the thread's next call). */
int store_quota_usage(const char *address, const char *maildir, uint64_t *bytes_r,
		      const char **error_r);

/* Read-only estimate for `correu user list -l`: the index's usage plus
 * the files in every folder's new/ not yet in it (every file when there
 * is no index). Changes nothing on disk; run it as the Maildir's owner
 * (SQLite may create the index's -shm file). 0, or -1 with *error_r. */
int store_quota_peek(const char *maildir, uint64_t *bytes_r, const char **error_r);

#endif
