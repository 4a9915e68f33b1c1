/* auth_resolve.c — envelope recipient resolution: aliases (recursive,
 * loop-safe, de-duplicated), exact users, plus-addressing and catch-all.
 * Runs in the workers (RCPT TO checks) and the queue process. Parses
 * untrusted input (addresses from SMTP clients). */
#include "auth_resolve.h"
#include "auth_addr.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

/* Alias chains longer than this are configuration mistakes: the rest of
 * the chain is dropped with a warning. */
#define RESOLVE_DEPTH_MAX 16
/* Addresses visited for one recipient; bounds fan-out of big aliases. */
#define RESOLVE_VISIT_MAX 1000

struct resolve_ctx {
	struct auth_db *db;
	char delimiter;
	struct auth_resolved *r;
	struct strv visited;
	bool error;
};

void auth_resolved_init(struct auth_resolved *r)
{
	strv_init(&r->local);
	strv_init(&r->remote);
}

void auth_resolved_free(struct auth_resolved *r)
{
	strv_free(&r->local);
	strv_free(&r->remote);
}

static void add_unique(struct strv *sv, const char *s, bool icase)
{
	if (!(icase ? strv_contains_icase(sv, s) : strv_contains(sv, s)))
		strv_push(sv, s);
}

/* 1 = the address is a user (added to local), 0 = not, -1 = error. */
static int try_user(struct resolve_ctx *c, const char *key)
{
	struct auth_user u;
	int ret = auth_db_user_get(c->db, key, &u);
	if (ret == 1) {
		add_unique(&c->r->local, u.address, false);
		auth_user_free(&u);
	} else if (ret < 0) {
		c->error = true;
	}
	return ret;
}

static bool expand(struct resolve_ctx *c, const char *address, unsigned depth);

/* Expands key's alias targets: 0 = key is no alias, 1 = it is and led
 * somewhere, 2 = it is but led nowhere, -1 = error. */
static int try_alias(struct resolve_ctx *c, const char *key, unsigned depth)
{
	struct strv targets;
	strv_init(&targets);
	if (auth_db_alias_targets(c->db, key, &targets) < 0) {
		c->error = true;
		strv_free(&targets);
		return -1;
	}
	if (targets.n == 0) {
		strv_free(&targets);
		return 0;
	}
	bool found = false;
	for (size_t i = 0; i < targets.n; i++)
		if (expand(c, targets.v[i], depth + 1))
			found = true;
	strv_free(&targets);
	return found ? 1 : 2;
}

/* The address without its "+tag" extension, or NULL if it has none. */
static char *strip_extension(const char *key, char delimiter)
{
	if (delimiter == '\0')
		return NULL;
	const char *at = strrchr(key, '@');
	const char *d = memchr(key, delimiter, (size_t)(at - key));
	if (d == NULL || d == key)
		return NULL;
	return x_asprintf("%.*s%s", (int)(d - key), key, at);
}

/* Resolves one address into c->r. Returns whether it led anywhere. */
static bool expand(struct resolve_ctx *c, const char *address, unsigned depth)
{
	char *key;
	if (auth_addr_lookup_key(address, &key) < 0) {
		log_warn("resolve: ignoring invalid alias target \"%s\"", address);
		return false;
	}
	const char *domain = auth_addr_domain_of(key);
	int ours = auth_db_domain_find(c->db, domain);
	if (ours < 0) {
		c->error = true;
		free(key);
		return false;
	}
	if (ours == 0) {
		/* Remote: keep the local part's case as written. */
		const char *at = strrchr(address, '@');
		char *remote = x_asprintf("%.*s@%s", (int)(at - address), address, domain);
		add_unique(&c->r->remote, remote, true);
		free(remote);
		free(key);
		return true;
	}
	if (strv_contains(&c->visited, key)) {
		/* Seen before: an alias that includes itself delivers to the
		 * user of that name (if any) instead of looping. */
		bool found = try_user(c, key) == 1;
		free(key);
		return found;
	}
	if (depth > RESOLVE_DEPTH_MAX || c->visited.n >= RESOLVE_VISIT_MAX) {
		log_warn("resolve: alias chain too deep or too wide at %s; dropped", key);
		free(key);
		return false;
	}
	strv_push(&c->visited, key);

	/* Order: alias, user; then without extension: alias, user; then
	 * the domain's catch-all. A user wins over the catch-all. */
	int ret = try_alias(c, key, depth);
	if (ret == 0)
		ret = try_user(c, key);
	if (ret == 0) {
		char *base = strip_extension(key, c->delimiter);
		if (base != NULL && !strv_contains(&c->visited, base)) {
			strv_push(&c->visited, base);
			ret = try_alias(c, base, depth);
			if (ret == 0)
				ret = try_user(c, base);
		}
		free(base);
	}
	if (ret == 0) {
		char *catchall = x_asprintf("@%s", domain);
		if (!strv_contains(&c->visited, catchall)) {
			strv_push(&c->visited, catchall);
			ret = try_alias(c, catchall, depth);
		}
		free(catchall);
	}
	free(key);
	return ret == 1;
}

enum auth_resolve_result auth_resolve(struct auth_db *db, const char *address,
				      char delimiter, struct auth_resolved *r)
{
	struct resolve_ctx c = { .db = db, .delimiter = delimiter, .r = r };
	char *key;
	if (auth_addr_lookup_key(address, &key) < 0)
		return AUTH_RESOLVE_UNKNOWN;
	int ours = auth_db_domain_find(db, auth_addr_domain_of(key));
	free(key);
	if (ours < 0)
		return AUTH_RESOLVE_ERROR;
	strv_init(&c.visited);
	bool found = expand(&c, address, 0);
	strv_free(&c.visited);
	if (c.error)
		return AUTH_RESOLVE_ERROR;
	if (ours == 0)
		return AUTH_RESOLVE_REMOTE;
	return found ? AUTH_RESOLVE_LOCAL : AUTH_RESOLVE_UNKNOWN;
}
