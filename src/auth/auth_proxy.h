/* auth_proxy.h — the token by which the built-in webmail proves to the
 * mail workers that an IMAP session speaks for a browser elsewhere
 * (IMAP ID "x-originating-ip"), so that the auth throttle counts the
 * browser's address, not the webmail's own loopback one: otherwise ten
 * wrong passwords from anyone would block every webmail login. The
 * master makes it before it forks; the web process and the workers
 * inherit it in memory; it is never written to disk or logged. A
 * `correu web` on another host has none: the workers believe its ID by
 * its address instead (trusted_proxies, net_cidr.h). */
#ifndef CORREU_AUTH_PROXY_H
#define CORREU_AUTH_PROXY_H

#include <stdbool.h>

/* Makes a fresh random token (hex). Call once, before forking. */
void auth_proxy_token_init(void);
/* The token, or NULL when none was made (standalone `correu web`). */
const char *auth_proxy_token(void);
/* Whether s is the token (constant time); false when there is none. */
bool auth_proxy_token_valid(const char *s);
/* Whether s is an IPv4 or IPv6 address literal, as x-originating-ip
 * must be. */
bool auth_proxy_ip_valid(const char *s);

#endif
