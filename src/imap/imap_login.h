/* imap_login.h — the end of a successful LOGIN or AUTHENTICATE: look up
 * the account's Maildir, open its store (asynchronously), enter the
 * authenticated state and reply with the new capabilities. Internal to
 * src/imap; runs in the mail workers. */
#ifndef CORREU_IMAP_LOGIN_H
#define CORREU_IMAP_LOGIN_H

#include "imap_session.h"

/* user is the canonical account address from the auth process. The
 * command's tagged reply follows (asynchronously); the caller returns
 * IMAP_CMD_ASYNC. */
void imap_login_finish(struct imap_cmd *cmd, const char *user);
/* Tagged NO for a failed verdict. */
void imap_login_failed(struct imap_cmd *cmd, enum auth_verdict verdict);

#endif
