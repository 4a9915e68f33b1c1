/* smtp_submit.h — the submission rules (RFC 6409) applied by the SMTP
 * server session on ports 587/465 once a user has authenticated: the
 * envelope sender and the From: header must be addresses the user owns
 * (553 5.7.1 otherwise), missing Date: and Message-ID: are added, and the
 * per-user limits (messages per hour, recipients per message) hold.
 * Private to src/smtp; called from the MAIL, RCPT and DATA handlers. */
#ifndef CORREU_SMTP_SUBMIT_H
#define CORREU_SMTP_SUBMIT_H

#include <stdbool.h>
#include <time.h>
#include "auth_db.h"
#include "cfg.h"

struct smtp_session;

/* MAIL FROM on a submission port: the sender must be the user's and the
 * user must be under the hourly limit. Replies and returns false if not. */
bool smtp_submit_mail(struct smtp_session *s, const char *sender);
/* RCPT on a submission port: refuses past submission_max_recipients. */
bool smtp_submit_rcpt(struct smtp_session *s);
/* End of data: checks From:, adds Date:/Message-ID: (rewriting the
 * spool file when needed). Replies and returns false if the message
 * must be refused. */
bool smtp_submit_finish(struct smtp_session *s);

/* Whether user (a canonical account) may use address as sender: its own
 * address (also with a +tag), an alias or catch-all leading to it, or a
 * submission_senders entry. Pure apart from the database lookups. */
bool smtp_submit_sender_ok(const struct config *cfg, struct auth_db *db, const char *user,
			   const char *address);

/* Token bucket of one user's hourly sends, shared by every worker
 * through a small file under data_dir/run/rate/. Takes one token;
 * false when none is left. Fails open (true) on file errors. */
bool smtp_submit_rate_take(const struct config *cfg, const char *user, time_t now);

#endif
