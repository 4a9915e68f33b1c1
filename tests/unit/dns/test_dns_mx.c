/* test_dns_mx.c — MX rdata decoding, ordering with shuffled equal
 * preferences, and null MX detection. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "dns.h"

static void test_parse(void **state)
{
	(void)state;
	static const unsigned char rd[] = { 0, 10, 2, 'm', 'x', 1, 'B', 4, 't', 'e', 's', 't', 0 };
	struct dns_mx mx;
	assert_int_equal(dns_mx_parse_rdata(rd, sizeof(rd), &mx), 0);
	assert_int_equal(mx.pref, 10);
	assert_string_equal(mx.host, "mx.b.test");
	free(mx.host);

	static const unsigned char null_mx[] = { 0, 0, 0 };
	assert_int_equal(dns_mx_parse_rdata(null_mx, sizeof(null_mx), &mx), 0);
	assert_string_equal(mx.host, "");
	assert_true(dns_mx_is_null(&mx, 1));
	free(mx.host);

	/* Truncated, trailing junk, compression pointer, bad bytes. */
	static const unsigned char trunc[] = { 0, 10, 5, 'a', 'b' };
	static const unsigned char trail[] = { 0, 10, 1, 'a', 0, 'x' };
	static const unsigned char ptr[] = { 0, 10, 0xc0, 0x0c };
	static const unsigned char dot[] = { 0, 10, 3, 'a', '.', 'b', 0 };
	static const unsigned char nul[] = { 0, 10, 2, 'a', 0, 0 };
	assert_int_equal(dns_mx_parse_rdata(trunc, sizeof(trunc), &mx), -1);
	assert_int_equal(dns_mx_parse_rdata(trail, sizeof(trail), &mx), -1);
	assert_int_equal(dns_mx_parse_rdata(ptr, sizeof(ptr), &mx), -1);
	assert_int_equal(dns_mx_parse_rdata(dot, sizeof(dot), &mx), -1);
	assert_int_equal(dns_mx_parse_rdata(nul, sizeof(nul), &mx), -1);
	assert_int_equal(dns_mx_parse_rdata(rd, 2, &mx), -1);
}

static uint32_t seq_state;
static uint32_t seq_random(void)
{
	seq_state = seq_state * 1103515245u + 12345u;
	return seq_state >> 8;
}

static struct dns_mx *make(const char *const *hosts, const uint16_t *prefs, size_t n)
{
	struct dns_mx *v = calloc(n, sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		v[i].host = strdup(hosts[i]);
		v[i].pref = prefs[i];
	}
	return v;
}

static void test_sort(void **state)
{
	(void)state;
	static const char *const hosts[] = { "c", "a1", "b", "a2", "a3" };
	static const uint16_t prefs[] = { 30, 10, 20, 10, 10 };
	bool seen_first[3] = { false, false, false };
	for (int round = 0; round < 200; round++) {
		seq_state = (uint32_t)round * 7919u;
		struct dns_mx *v = make(hosts, prefs, 5);
		dns_mx_sort(v, 5, seq_random);
		/* Preference order always holds. */
		for (int i = 0; i < 3; i++)
			assert_int_equal(v[i].pref, 10);
		assert_string_equal(v[3].host, "b");
		assert_string_equal(v[4].host, "c");
		/* Each of the equal ones comes first sometimes. */
		seen_first[v[0].host[1] - '1'] = true;
		assert_false(dns_mx_is_null(v, 5));
		dns_mx_free(v, 5);
	}
	assert_true(seen_first[0] && seen_first[1] && seen_first[2]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_sort),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
