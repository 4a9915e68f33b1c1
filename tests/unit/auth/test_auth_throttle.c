/* test_auth_throttle.c — unit tests for auth_throttle.c with an injected
 * clock: the delay curve, per-IP and per-account counting, blocks and
 * their expiry, IPv6 /64 grouping, and the entry limit. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include "auth_throttle.h"

static uint64_t fake_now;

static uint64_t fake_clock(void *ctx)
{
	(void)ctx;
	return fake_now;
}

static const struct auth_throttle_settings defaults = {
	.delay_max_ms = 15000, .block_after = 10, .block_time_ms = 15 * 60 * 1000,
};

static void test_curve(void **state)
{
	(void)state;
	static const uint64_t want[] = { 0, 250, 500, 1000, 2000, 4000, 8000, 15000, 15000, 15000 };
	for (uint64_t n = 0; n < sizeof(want) / sizeof(want[0]); n++)
		assert_int_equal(auth_throttle_delay(&defaults, n), want[n]);
	assert_int_equal(auth_throttle_delay(&defaults, 1000000), 15000);
	struct auth_throttle_settings none = { 0, 0, 1000 };
	assert_int_equal(auth_throttle_delay(&none, 5), 0);
	struct auth_throttle_settings small = { 100, 3, 1000 };
	assert_int_equal(auth_throttle_delay(&small, 1), 100);

	struct config *cfg = cfg_new();
	struct auth_throttle_settings s;
	auth_throttle_settings_from_config(cfg, &s);
	assert_int_equal(s.delay_max_ms, 15000);
	assert_int_equal(s.block_after, 10);
	assert_int_equal(s.block_time_ms, 900000);
	cfg_free(&cfg);
}

static void test_block_ip(void **state)
{
	(void)state;
	fake_now = 1000000;
	struct auth_throttle *t = auth_throttle_new(&defaults, fake_clock, NULL);
	/* Ten wrong passwords for ten different accounts from one IP. */
	for (int i = 1; i <= 10; i++) {
		char account[32];
		snprintf(account, sizeof(account), "user%d@example.test", i);
		assert_false(auth_throttle_blocked(t, "192.0.2.1", account));
		assert_int_equal(auth_throttle_failure(t, "192.0.2.1", account),
				 auth_throttle_delay(&defaults, (uint64_t)i));
		fake_now += 1000;
	}
	assert_true(auth_throttle_blocked(t, "192.0.2.1", "fresh@example.test"));
	assert_true(auth_throttle_blocked(t, "192.0.2.1", NULL));
	/* Other IPs and the accounts themselves are not blocked. */
	assert_false(auth_throttle_blocked(t, "192.0.2.2", "user1@example.test"));
	/* A success does not reset the IP. */
	auth_throttle_success(t, "192.0.2.1", "user1@example.test");
	assert_true(auth_throttle_blocked(t, "192.0.2.1", NULL));
	/* Blocked attempts are not counted, so the block ends on time. */
	assert_int_equal(auth_throttle_count(t, "192.0.2.1", NULL), 10);
	fake_now += 15 * 60 * 1000 - 1001;
	assert_true(auth_throttle_blocked(t, "192.0.2.1", NULL));
	fake_now += 1;
	assert_false(auth_throttle_blocked(t, "192.0.2.1", NULL));
	/* And the count starts again from zero. */
	assert_int_equal(auth_throttle_failure(t, "192.0.2.1", "x@example.test"), 250);
	auth_throttle_free(&t);
}

static void test_block_account(void **state)
{
	(void)state;
	fake_now = 5000;
	struct auth_throttle *t = auth_throttle_new(&defaults, fake_clock, NULL);
	/* One account attacked from many IPs: the account is blocked,
	 * whether it exists or not, under any capitalisation. */
	for (int i = 1; i <= 10; i++) {
		char ip[32];
		snprintf(ip, sizeof(ip), "198.51.100.%d", i);
		assert_int_equal(auth_throttle_failure(t, ip, i % 2 ? "Alice@Example.test" :
						       "alice@example.test"),
				 auth_throttle_delay(&defaults, (uint64_t)i));
	}
	assert_true(auth_throttle_blocked(t, "203.0.113.9", "ALICE@example.test"));
	assert_false(auth_throttle_blocked(t, "203.0.113.9", "bob@example.test"));
	/* Failures spaced wider than the window never accumulate. */
	for (int i = 0; i < 30; i++) {
		assert_int_equal(auth_throttle_failure(t, "203.0.113.50", "carol@example.test"), 250);
		fake_now += 15 * 60 * 1000;
	}
	assert_false(auth_throttle_blocked(t, "203.0.113.50", "carol@example.test"));
	auth_throttle_free(&t);
}

static void test_success_resets_account(void **state)
{
	(void)state;
	fake_now = 0;
	struct auth_throttle *t = auth_throttle_new(&defaults, fake_clock, NULL);
	assert_int_equal(auth_throttle_failure(t, "192.0.2.7", "dave@example.test"), 250);
	assert_int_equal(auth_throttle_failure(t, "192.0.2.8", "dave@example.test"), 500);
	auth_throttle_success(t, "192.0.2.9", "dave@example.test");
	assert_int_equal(auth_throttle_count(t, NULL, "dave@example.test"), 0);
	/* The IP's own count still drives the delay. */
	assert_int_equal(auth_throttle_failure(t, "192.0.2.8", "dave@example.test"), 500);
	/* New settings apply to existing counts (reload). */
	struct auth_throttle_settings strict = { 1000, 2, 60000 };
	auth_throttle_configure(t, &strict);
	assert_true(auth_throttle_blocked(t, "192.0.2.8", NULL));
	assert_false(auth_throttle_blocked(t, "192.0.2.7", NULL));
	auth_throttle_free(&t);
}

static void test_ipv6(void **state)
{
	(void)state;
	fake_now = 0;
	struct auth_throttle_settings s = { 1000, 3, 60000 };
	struct auth_throttle *t = auth_throttle_new(&s, fake_clock, NULL);
	/* A /64 counts as one client: rotating the host part does not help. */
	auth_throttle_failure(t, "2001:db8:1:2::1", NULL);
	auth_throttle_failure(t, "2001:db8:1:2:aaaa:bbbb:cccc:dddd", NULL);
	auth_throttle_failure(t, "2001:DB8:1:2::ffff", NULL);
	assert_true(auth_throttle_blocked(t, "2001:db8:1:2::42", NULL));
	assert_false(auth_throttle_blocked(t, "2001:db8:1:3::1", NULL));
	/* IPv4-mapped addresses are per address. */
	auth_throttle_failure(t, "::ffff:192.0.2.1", NULL);
	auth_throttle_failure(t, "::ffff:192.0.2.1", NULL);
	auth_throttle_failure(t, "::ffff:192.0.2.1", NULL);
	assert_true(auth_throttle_blocked(t, "::ffff:192.0.2.1", NULL));
	assert_false(auth_throttle_blocked(t, "::ffff:192.0.2.2", NULL));
	auth_throttle_free(&t);
}

static void test_no_block(void **state)
{
	(void)state;
	fake_now = 0;
	struct auth_throttle_settings s = { 0, 0, 60000 };
	struct auth_throttle *t = auth_throttle_new(&s, fake_clock, NULL);
	for (int i = 0; i < 100; i++)
		assert_int_equal(auth_throttle_failure(t, "192.0.2.1", "a@b.example"), 0);
	assert_false(auth_throttle_blocked(t, "192.0.2.1", "a@b.example"));
	auth_throttle_free(&t);
}

static void test_entry_limit(void **state)
{
	(void)state;
	fake_now = 0;
	struct auth_throttle *t = auth_throttle_new(&defaults, fake_clock, NULL);
	/* A blocked attacker stays blocked while a flood of one-off keys
	 * passes the entry limit. */
	for (int i = 0; i < 10; i++)
		auth_throttle_failure(t, "192.0.2.66", NULL);
	for (int i = 0; i < AUTH_THROTTLE_MAX_ENTRIES + 500; i++) {
		char account[32];
		snprintf(account, sizeof(account), "u%d@example.test", i);
		auth_throttle_failure(t, NULL, account);
	}
	assert_true(auth_throttle_blocked(t, "192.0.2.66", NULL));
	/* Recent keys are still tracked. */
	char last[32];
	snprintf(last, sizeof(last), "u%d@example.test", AUTH_THROTTLE_MAX_ENTRIES + 499);
	assert_int_equal(auth_throttle_count(t, NULL, last), 1);
	auth_throttle_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_curve),
		cmocka_unit_test(test_block_ip),
		cmocka_unit_test(test_block_account),
		cmocka_unit_test(test_success_resets_account),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_no_block),
		cmocka_unit_test(test_entry_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
