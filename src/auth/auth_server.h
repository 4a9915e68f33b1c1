/* auth_server.h — the auth process: the only process that reads password
 * hashes. Workers (and the webmail) ask it over a unix stream socket,
 * data_dir/run/auth.sock, through auth_client.h; nobody else should
 * speak the protocol below directly.
 *
 * Protocol: one request or reply per line ("\n"), fields separated by a
 * tab; in fields, '\\', tab, LF and CR are written "\\\\", "\\t", "\\n",
 * "\\r". Every line starts with a verb and a request id (decimal,
 * 1..4294967295) chosen by the worker, unique among its requests in
 * flight on that connection. Requests run concurrently; replies come in
 * any order.
 *
 *   worker -> auth                       auth -> worker
 *   VERIFY id service ip user password   OK id user | FAIL id | BLOCKED id
 *                                        | TEMPFAIL id
 *   START id service ip mech [ir]        CONTINUE id challenge | OK | FAIL
 *                                        | BLOCKED | TEMPFAIL
 *   CONTINUE id response                 (as for START)
 *   CANCEL id                            (nothing; the request is gone)
 *
 * service is "smtp", "imap", "pop3" or "web" (for the log); ip is the
 * client's address (throttling). mech is a SASL mechanism name; ir, the
 * initial response, challenge and response are base64, "=" as ir meaning
 * an empty initial response and an empty field an empty response. OK
 * carries the canonical account address. FAIL is the same for an
 * unknown account, a disabled one and a wrong password, and comes after
 * the throttle's delay (auth_throttle.h); BLOCKED means the IP or
 * account is temporarily blocked; TEMPFAIL that the account databases
 * could not be read. A malformed line closes the connection. */
#ifndef CORREU_AUTH_SERVER_H
#define CORREU_AUTH_SERVER_H

#include "cfg.h"

/* Most requests in flight per connection. */
#define AUTH_SERVER_REQUESTS_MAX 4096

/* Runs the auth process on its own libuv loop until SIGTERM or SIGINT;
 * SIGHUP re-reads cfg->path (throttle settings and password scheme;
 * data_dir needs a restart). Called by the master in a child that has
 * already dropped privileges; cfg must outlive the call. Returns 0 after
 * a clean stop, -1 if it could not start (logged). */
int auth_server_run(const struct config *cfg);

/* Path of the socket for cfg; caller frees. */
char *auth_server_socket_path(const struct config *cfg);

#endif
