/* auth_resolve.h — what an envelope recipient means: local users after
 * alias expansion (recursive, with a depth limit), catch-all and
 * plus-addressing ("user+tag@domain" delivers to user), or remote
 * addresses. */
#ifndef CORREU_AUTH_RESOLVE_H
#define CORREU_AUTH_RESOLVE_H

#include "auth_db.h"

enum auth_resolve_result {
	AUTH_RESOLVE_LOCAL,	/* at least one target; see local/remote */
	AUTH_RESOLVE_REMOTE,	/* domain is not ours */
	AUTH_RESOLVE_UNKNOWN,	/* our domain, no such user or alias */
	AUTH_RESOLVE_ERROR,	/* temporary (database) failure */
};

struct auth_resolved {
	struct strv local;	/* canonical user addresses, no duplicates */
	struct strv remote;	/* remote addresses an alias points to */
};

void auth_resolved_init(struct auth_resolved *r);
void auth_resolved_free(struct auth_resolved *r);
/* Resolves address (already syntax-checked "local@domain"). Results are
 * appended to r without duplicates, so one r can collect every RCPT of a
 * message. Lookup order for an address of ours: its alias, its user; the
 * same without the "+tag" extension (delimiter, normally cfg's
 * recipient_delimiter[0]; '\0' disables); the domain's catch-all
 * "@domain". Aliases expand recursively (depth limit 16); an alias that
 * names itself delivers to the user of that name; loops end. An alias
 * whose targets all lead nowhere counts as unknown. */
enum auth_resolve_result auth_resolve(struct auth_db *db, const char *address,
				      char delimiter, struct auth_resolved *r);

#endif
