/* mail_address.h — RFC 5322 address lists (mailboxes, groups, quoted
 * strings, comments, obsolete routes) parsed leniently into what IMAP
 * ENVELOPE needs, and formatted back. Pure functions; used by every
 * process. Parses untrusted input. */
#ifndef CORREU_MAIL_ADDRESS_H
#define CORREU_MAIL_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>
#include "buf.h"

/* One element of an address list, in IMAP ENVELOPE terms:
 * - mailbox:     name?, route?, mailbox, domain all as in the input
 *                (display name unquoted, RFC 2047 words still encoded);
 * - group start: mailbox = group name, domain = NULL, name = route = NULL;
 * - group end:   everything NULL.
 * Strings are NUL-terminated and owned by the list. */
struct mail_address {
	char *name;	/* display name or NULL */
	char *route;	/* obsolete source route "@a,@b" or NULL */
	char *mailbox;	/* local part (quotes removed) or group name */
	char *domain;	/* domain, or NULL for group start/end */
	bool invalid;	/* was repaired: missing local part or domain,
			   unbalanced brackets or quotes, junk */
};

struct mail_address_list {
	struct mail_address *v;
	size_t n;
};

/* Parses an unfolded or raw header value. Never fails: junk becomes
 * entries marked invalid whose missing mailbox or domain is filled with
 * "MISSING_MAILBOX" / "MISSING_DOMAIN" (as Dovecot does) when fill_missing
 * is set, else left empty (""). The list is empty for an empty value. */
void mail_address_parse(const void *data, size_t len, bool fill_missing,
			struct mail_address_list *list_r);
void mail_address_list_free(struct mail_address_list *list);

/* Appends "Name <local@domain>, group: a@b;" form, quoting the display
 * name and the local part when needed. Names are written as given (no
 * RFC 2047 encoding; see mail_writer for that). */
void mail_address_format(const struct mail_address_list *list,
			 struct buf *out);
/* Appends one mailbox as local@domain, quoting the local part if needed. */
void mail_address_format_addr_spec(const struct mail_address *a,
				   struct buf *out);

/* Appends an (unstructured) phrase, as a quoted string if it contains
 * anything besides atext and spaces. */
void mail_address_append_phrase(struct buf *out, const char *s);

#endif
