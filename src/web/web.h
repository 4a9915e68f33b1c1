/* web.h — the webmail process: HTTPS front end, JSON API and static
 * assets, talking IMAP and submission to the mail server on behalf of
 * logged-in users. Entry point for the master's "web" child and for
 * `correu web`. */
#ifndef CORREU_WEB_H
#define CORREU_WEB_H

#include <stdbool.h>
#include <stddef.h>

struct config;
struct tls_server;

/* Runs the webmail on its own libuv loop on already-bound, non-blocking
 * listening sockets: https_fds speak TLS with tls (the caller's, kept
 * until web_run returns), http_fds only redirect to HTTPS. Call after
 * privileges are dropped. Reloads keep the sessions: under `correu
 * serve` (ctl_fd >= 0, from the master) through web_reload_send()
 * messages; standalone (ctl_fd -1) on SIGHUP, re-reading the file and
 * the certificates if readable. SIGTERM/SIGINT stop it. Returns 0 after
 * a clean stop, -1 if it could not start (logged). */
int web_run(const struct config *cfg, struct tls_server *tls, const int *https_fds,
	    size_t n_https, const int *http_fds, size_t n_http, int ctl_fd);

/* For the master's reload: whether going from old to cur needs a new web
 * process (listeners, users, sandbox, the IMAP or submission server);
 * *key_r names the first such key. Anything else is applied live. */
bool web_reload_needs_restart(const struct config *old, const struct config *cur,
			      const char **key_r);
/* In the master: hands the running web process (the other end of sock,
 * a SOCK_SEQPACKET pair) the configuration file and the TLS files cur
 * names, opened here (the web user may not read a key). Never blocks.
 * Returns -1 with *error_r if a file cannot be opened or the message
 * not sent; restart the web process then. */
int web_reload_send(int sock, const struct config *cur, const char **error_r);

#endif
