/* test_queue_sched.c — the retry schedule: doubling from retry_min,
 * capped at retry_max, the last attempt at expiry, delay warnings. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "queue_sched.h"

static const struct queue_sched_params p = {
	.retry_min = 300, .retry_max = 3600, .lifetime = 5 * 86400, .delay_warning = 4 * 3600,
};

static void test_backoff(void **state)
{
	(void)state;
	time_t arrival = 1000000;
	/* 5m, 10m, 20m, 40m, then 1h for ever. */
	static const time_t want[] = { 300, 600, 1200, 2400, 3600, 3600, 3600 };
	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		time_t now = arrival + 50;
		assert_int_equal(queue_sched_next(&p, arrival, i + 1, now) - now, want[i]);
	}
	/* attempts 0 behaves as the first. */
	assert_int_equal(queue_sched_next(&p, arrival, 0, arrival), arrival + 300);
	/* Huge attempt counts do not overflow. */
	assert_int_equal(queue_sched_next(&p, arrival, 4000000000u, arrival) - arrival, 3600);
}

static void test_expiry(void **state)
{
	(void)state;
	time_t arrival = 1000000;
	time_t expiry = arrival + 5 * 86400;
	assert_int_equal(queue_sched_expiry(&p, arrival), expiry);
	/* The last retry lands on the expiry time, not after it. */
	assert_int_equal(queue_sched_next(&p, arrival, 10, expiry - 100), expiry);
	assert_false(queue_sched_expired(&p, arrival, expiry - 1));
	assert_true(queue_sched_expired(&p, arrival, expiry));
	/* Past expiry the plain interval applies (the caller bounces). */
	assert_int_equal(queue_sched_next(&p, arrival, 10, expiry + 5), expiry + 5 + 3600);
}

static void test_warning(void **state)
{
	(void)state;
	time_t arrival = 1000000;
	assert_false(queue_sched_warning_due(&p, arrival, arrival + 4 * 3600 - 1));
	assert_true(queue_sched_warning_due(&p, arrival, arrival + 4 * 3600));
	assert_false(queue_sched_warning_due(&p, arrival, arrival + 5 * 86400));
	struct queue_sched_params off = p;
	off.delay_warning = 0;
	assert_false(queue_sched_warning_due(&off, arrival, arrival + 86400));
	/* retry_max below retry_min is treated as retry_min. */
	struct queue_sched_params odd = { .retry_min = 600, .retry_max = 60, .lifetime = 86400 };
	assert_int_equal(queue_sched_next(&odd, arrival, 5, arrival) - arrival, 600);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_warning),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
