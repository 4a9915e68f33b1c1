/* auth_throttle.h — the one authentication-failure throttle shared by
 * SMTP AUTH, IMAP, POP3 and the webmail (docs/security.md). Failures
 * are counted per client IP (IPv6 per /64) and per account name within
 * block_time; each failure delays its reply, growing with the count, and
 * block_after failures of an IP or an account block it until block_time
 * has passed since the last one. Unknown accounts are counted like real
 * ones, so the throttle reveals nothing about which exist.
 *
 * An in-process module with no I/O: the auth process runs it, and so can
 * a remote webmail. Not thread-safe; the clock is injectable for tests. */
#ifndef CORREU_AUTH_THROTTLE_H
#define CORREU_AUTH_THROTTLE_H

#include <stdbool.h>
#include <stdint.h>
#include "cfg.h"

/* Delay of the first failure; each further one doubles it. */
#define AUTH_THROTTLE_BASE_DELAY_MS 250
/* Most IPs and accounts tracked at once. */
#define AUTH_THROTTLE_MAX_ENTRIES 100000

struct auth_throttle_settings {
	uint64_t delay_max_ms;		/* auth_fail_delay_max */
	uint64_t block_after;		/* auth_fail_block_after; 0 = never block */
	uint64_t block_time_ms;		/* auth_fail_block_time */
};

/* Milliseconds from any fixed point (monotonic). */
typedef uint64_t auth_throttle_clock_t(void *ctx);

void auth_throttle_settings_from_config(const struct config *cfg,
					struct auth_throttle_settings *set_r);

/* clock NULL uses CLOCK_MONOTONIC. */
struct auth_throttle *auth_throttle_new(const struct auth_throttle_settings *set,
					auth_throttle_clock_t *clock, void *clock_ctx);
void auth_throttle_free(struct auth_throttle **t);
/* New settings (configuration reload); counts are kept. */
void auth_throttle_configure(struct auth_throttle *t, const struct auth_throttle_settings *set);

/* Checked before verifying a password: whether ip or account (either
 * may be NULL) is blocked. Blocked attempts are not counted. */
bool auth_throttle_blocked(struct auth_throttle *t, const char *ip, const char *account);
/* Records a failure of ip and account (either may be NULL) and returns
 * the delay in ms to wait before replying. */
uint64_t auth_throttle_failure(struct auth_throttle *t, const char *ip, const char *account);
/* A success clears the account's count (not the IP's: one valid
 * account must not reset an attacker's budget for guessing others). */
void auth_throttle_success(struct auth_throttle *t, const char *ip, const char *account);

/* The delay curve: ms for the n-th failure in a row (n >= 1). */
uint64_t auth_throttle_delay(const struct auth_throttle_settings *set, uint64_t n);
/* Failures currently counted for ip, or for account when ip is NULL
 * (for tests and logs). */
uint64_t auth_throttle_count(struct auth_throttle *t, const char *ip, const char *account);

#endif
