/* imap_match.h — LIST patterns (RFC 9051 6.3.9): '*' matches anything,
 * '%' anything but the hierarchy separator; INBOX matches case-
 * insensitively. Pure function; parses client input (patterns). */
#ifndef CORREU_IMAP_MATCH_H
#define CORREU_IMAP_MATCH_H

#include <stdbool.h>

/* Whether name matches pattern (both UTF-8). */
bool imap_match(const char *pattern, const char *name, char sep);

#endif
