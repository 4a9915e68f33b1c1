/* web.h — the webmail process: HTTPS front end, JSON API and static
 * assets, talking IMAP and submission to the mail server on behalf of
 * logged-in users. Entry point for the master's "web" child and for
 * `correu web`. */
#ifndef CORREU_WEB_H
#define CORREU_WEB_H

#include <stddef.h>

struct config;
struct tls_server;

/* Runs the webmail on its own libuv loop on already-bound, non-blocking
 * listening sockets: https_fds speak TLS with tls, http_fds only redirect
 * to HTTPS. Call after privileges are dropped. SIGHUP re-reads the
 * configuration file for what can change live (timeouts, log level,
 * static directory); SIGTERM/SIGINT stop it. Returns 0 after a clean
 * stop, -1 if it could not start (logged). */
int web_run(const struct config *cfg, struct tls_server *tls, const int *https_fds,
	    size_t n_https, const int *http_fds, size_t n_http);

#endif
