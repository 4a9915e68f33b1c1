/* auth_throttle.c — counting authentication failures per IP and account,
 * the delay curve and temporary blocks. Runs in the auth process and the
 * webmail. Keys are client-chosen (account names) and bounded in number. */
#include "auth_throttle.h"
#include "str.h"
#include "xalloc.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct entry {
	struct entry *next;
	uint64_t count;
	uint64_t last_ms;	/* time of the last counted failure */
	char key[];		/* "i:<ip>" or "u:<account>" */
};

struct auth_throttle {
	struct auth_throttle_settings set;
	auth_throttle_clock_t *clock;
	void *clock_ctx;
	struct entry **buckets;
	size_t nbuckets;
	size_t count;
};

static uint64_t monotonic_ms(void *ctx)
{
	(void)ctx;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void auth_throttle_settings_from_config(const struct config *cfg,
					struct auth_throttle_settings *set_r)
{
	set_r->delay_max_ms = cfg->auth_fail_delay_max * 1000;
	set_r->block_after = cfg->auth_fail_block_after;
	set_r->block_time_ms = cfg->auth_fail_block_time * 1000;
}

struct auth_throttle *auth_throttle_new(const struct auth_throttle_settings *set,
					auth_throttle_clock_t *clock, void *clock_ctx)
{
	struct auth_throttle *t = x_calloc(1, sizeof(*t));
	t->set = *set;
	t->clock = clock != NULL ? clock : monotonic_ms;
	t->clock_ctx = clock_ctx;
	t->nbuckets = 256;
	t->buckets = x_calloc(t->nbuckets, sizeof(*t->buckets));
	return t;
}

static void clear_all(struct auth_throttle *t)
{
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct entry *e = t->buckets[i], *next;
		for (; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
		t->buckets[i] = NULL;
	}
	t->count = 0;
}

void auth_throttle_free(struct auth_throttle **tp)
{
	struct auth_throttle *t = *tp;
	if (t == NULL)
		return;
	clear_all(t);
	free(t->buckets);
	free(t);
	*tp = NULL;
}

void auth_throttle_configure(struct auth_throttle *t, const struct auth_throttle_settings *set)
{
	t->set = *set;
}

uint64_t auth_throttle_delay(const struct auth_throttle_settings *set, uint64_t n)
{
	if (n == 0)
		return 0;
	uint64_t d = AUTH_THROTTLE_BASE_DELAY_MS;
	for (uint64_t i = 1; i < n && d < set->delay_max_ms; i++)
		d *= 2;
	return d < set->delay_max_ms ? d : set->delay_max_ms;
}

static size_t hash_key(const char *s)
{
	uint64_t h = 14695981039346656037ULL;
	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (size_t)h;
}

/* "i:" + the IP, IPv6 cut to its /64 (one host usually owns a /64). */
static char *ip_key(const char *ip)
{
	struct in6_addr a6;
	if (strchr(ip, ':') != NULL && inet_pton(AF_INET6, ip, &a6) == 1 &&
	    !IN6_IS_ADDR_V4MAPPED(&a6)) {
		char buf[INET6_ADDRSTRLEN];
		memset(a6.s6_addr + 8, 0, 8);
		inet_ntop(AF_INET6, &a6, buf, sizeof(buf));
		return x_asprintf("i:%s/64", buf);
	}
	return x_asprintf("i:%s", ip);
}

static char *account_key(const char *account)
{
	char *k = x_asprintf("u:%s", account);
	return str_lower(k);
}

static bool expired(const struct auth_throttle *t, const struct entry *e, uint64_t now)
{
	return now - e->last_ms >= t->set.block_time_ms;
}

/* Removes entries matching (expired, or with count below min_count). */
static void sweep(struct auth_throttle *t, uint64_t now, uint64_t min_count)
{
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct entry **ep = &t->buckets[i];
		while (*ep != NULL) {
			struct entry *e = *ep;
			if (expired(t, e, now) || e->count < min_count) {
				*ep = e->next;
				free(e);
				t->count--;
			} else {
				ep = &e->next;
			}
		}
	}
}

static void grow(struct auth_throttle *t)
{
	size_t n = t->nbuckets * 2;
	struct entry **b = x_calloc(n, sizeof(*b));
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct entry *e = t->buckets[i], *next;
		for (; e != NULL; e = next) {
			next = e->next;
			size_t h = hash_key(e->key) % n;
			e->next = b[h];
			b[h] = e;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = n;
}

/* Finds key; an expired entry is reset. With create, adds it if missing. */
static struct entry *lookup(struct auth_throttle *t, const char *key, uint64_t now, bool create)
{
	struct entry *e;
	for (e = t->buckets[hash_key(key) % t->nbuckets]; e != NULL; e = e->next) {
		if (strcmp(e->key, key) == 0) {
			if (expired(t, e, now))
				e->count = 0;
			return e;
		}
	}
	if (!create)
		return NULL;
	if (t->count >= AUTH_THROTTLE_MAX_ENTRIES) {
		/* Full: drop what has expired, then one-off failures, then
		 * all but blocked entries. */
		sweep(t, now, 0);
		if (t->count >= AUTH_THROTTLE_MAX_ENTRIES)
			sweep(t, now, 2);
		if (t->count >= AUTH_THROTTLE_MAX_ENTRIES)
			sweep(t, now, t->set.block_after > 0 ? t->set.block_after : UINT64_MAX);
	}
	if (t->count >= t->nbuckets)
		grow(t);
	size_t len = strlen(key);
	e = x_malloc(sizeof(*e) + len + 1);
	memcpy(e->key, key, len + 1);
	e->count = 0;
	e->last_ms = now;
	size_t h = hash_key(key) % t->nbuckets;
	e->next = t->buckets[h];
	t->buckets[h] = e;
	t->count++;
	return e;
}

static bool entry_blocked(const struct auth_throttle *t, const struct entry *e)
{
	return e != NULL && t->set.block_after > 0 && e->count >= t->set.block_after;
}

bool auth_throttle_blocked(struct auth_throttle *t, const char *ip, const char *account)
{
	uint64_t now = t->clock(t->clock_ctx);
	bool blocked = false;
	if (ip != NULL) {
		char *k = ip_key(ip);
		blocked = entry_blocked(t, lookup(t, k, now, false));
		free(k);
	}
	if (!blocked && account != NULL) {
		char *k = account_key(account);
		blocked = entry_blocked(t, lookup(t, k, now, false));
		free(k);
	}
	return blocked;
}

static uint64_t count_one(struct auth_throttle *t, char *key, uint64_t now)
{
	struct entry *e = lookup(t, key, now, true);
	e->count++;
	e->last_ms = now;
	free(key);
	return e->count;
}

uint64_t auth_throttle_failure(struct auth_throttle *t, const char *ip, const char *account)
{
	uint64_t now = t->clock(t->clock_ctx);
	uint64_t n = 0;
	if (ip != NULL)
		n = count_one(t, ip_key(ip), now);
	if (account != NULL) {
		uint64_t m = count_one(t, account_key(account), now);
		if (m > n)
			n = m;
	}
	return auth_throttle_delay(&t->set, n);
}

void auth_throttle_success(struct auth_throttle *t, const char *ip, const char *account)
{
	(void)ip;
	if (account == NULL)
		return;
	char *k = account_key(account);
	struct entry *e = lookup(t, k, t->clock(t->clock_ctx), false);
	if (e != NULL)
		e->count = 0;
	free(k);
}

uint64_t auth_throttle_count(struct auth_throttle *t, const char *ip, const char *account)
{
	uint64_t now = t->clock(t->clock_ctx);
	char *k = ip != NULL ? ip_key(ip) : account_key(account);
	struct entry *e = lookup(t, k, now, false);
	free(k);
	return e != NULL ? e->count : 0;
}
