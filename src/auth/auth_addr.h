/* auth_addr.h — validation and normalisation of account addresses,
 * domains and alias sources/targets. Account addresses are lower-case
 * ASCII with a local part safe to use as a directory name; domains are
 * stored as IDNA A-labels ("xn--..."). Pure functions, usable anywhere. */
#ifndef CORREU_AUTH_ADDR_H
#define CORREU_AUTH_ADDR_H

#include <stdbool.h>

/* Longest local part (RFC 5321 4.5.3.1.1) and domain (4.5.3.1.2). */
#define AUTH_ADDR_LOCAL_MAX 64
#define AUTH_ADDR_DOMAIN_MAX 253

/* Normalises a domain: lower-case, U-labels converted to A-labels with
 * IDNA2008 (libidn2); labels of letters, digits and inner hyphens,
 * 1-63 bytes each. *out_r is allocated; *error_r says what is wrong. */
int auth_addr_domain(const char *in, char **out_r, const char **error_r);

/* Normalises an account address "local@domain": the local part is
 * lower-cased and may hold only [a-z0-9] and "._-+=", neither starting
 * nor ending with '.', without "..". */
int auth_addr_account(const char *in, char **out_r, const char **error_r);

/* Normalises an alias source: an account address, or "@domain" for a
 * domain's catch-all. */
int auth_addr_alias_source(const char *in, char **out_r, const char **error_r);

/* Normalises an alias target: any RFC 5321 dot-atom local part (kept as
 * written; the resolver lower-cases local lookups) at a valid domain. */
int auth_addr_target(const char *in, char **out_r, const char **error_r);

/* Lower-cases an address for lookups without validating the local part
 * (a catch-all may accept what no account could be named). Returns -1 if
 * there is no '@' or the domain is invalid. */
int auth_addr_lookup_key(const char *in, char **out_r);

/* The part of addr after its last '@', or NULL if there is none. */
const char *auth_addr_domain_of(const char *addr);

#endif
