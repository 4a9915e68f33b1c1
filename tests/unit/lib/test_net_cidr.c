/* test_net_cidr.c — unit tests for CIDR networks (trusted_proxies). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "net_cidr.h"

static bool in(const char *net, const char *ip)
{
	struct net_cidr c;
	const char *error = NULL;
	if (net_cidr_parse(net, &c, &error) < 0)
		fail_msg("%s: %s", net, error);
	return net_cidr_match(&c, ip);
}

static void test_parse_good(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		int family;
		unsigned prefix;
	} good[] = {
		{ "192.0.2.7", AF_INET, 32 },
		{ "192.0.2.0/24", AF_INET, 24 },
		{ "10.0.0.0/8", AF_INET, 8 },
		{ "0.0.0.0/0", AF_INET, 0 },
		{ "192.0.2.128/25", AF_INET, 25 },
		{ "::1", AF_INET6, 128 },
		{ "2001:db8::/32", AF_INET6, 32 },
		{ "2001:DB8:0:1::/64", AF_INET6, 64 },
		{ "::/0", AF_INET6, 0 },
		{ "fe80::/10", AF_INET6, 10 },
		/* IPv4-mapped: the IPv4 network */
		{ "::ffff:192.0.2.7", AF_INET, 32 },
		{ "::ffff:192.0.2.0/120", AF_INET, 24 },
		{ "::ffff:c000:200/120", AF_INET, 24 },
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct net_cidr c;
		const char *error = NULL;
		if (net_cidr_parse(good[i].s, &c, &error) < 0)
			fail_msg("%s refused: %s", good[i].s, error);
		assert_int_equal(c.family, good[i].family);
		assert_int_equal(c.prefix, good[i].prefix);
	}
}

static void test_parse_bad(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", "/", "/24", "192.0.2.0/", "192.0.2.0/33", "192.0.2.0/024", "192.0.2.0/+8",
		"192.0.2.0/-1", "192.0.2.0/2x", "192.0.2.0/24/8", "192.0.2.0 /24",
		"192.0.2.1/24",		/* host bits set */
		"2001:db8::1/64", "2001:db8::/129", "2001:db8::/1000",
		"::ffff:192.0.2.0/95", "::ffff:192.0.2.0/24",
		"192.0.2", "192.0.2.256", "1.2.3.4.5", "localhost", "*", "fe80::1%lo",
		"[::1]", "::1/", " 192.0.2.7", "192.0.2.7 ",
		"1111:2222:3333:4444:5555:6666:7777:8888:9999",
		"000000000000000000000000000000000000000000000000000000000000000000000001",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct net_cidr c;
		const char *error = NULL;
		if (net_cidr_parse(bad[i], &c, &error) == 0)
			fail_msg("\"%s\" accepted", bad[i]);
		assert_non_null(error);
	}
}

static void test_match(void **state)
{
	(void)state;
	assert_true(in("192.0.2.7", "192.0.2.7"));
	assert_false(in("192.0.2.7", "192.0.2.8"));
	assert_true(in("192.0.2.0/24", "192.0.2.0"));
	assert_true(in("192.0.2.0/24", "192.0.2.255"));
	assert_false(in("192.0.2.0/24", "192.0.3.0"));
	assert_false(in("192.0.2.0/24", "192.0.1.255"));
	/* a prefix that ends inside a byte */
	assert_true(in("192.0.2.128/25", "192.0.2.200"));
	assert_false(in("192.0.2.128/25", "192.0.2.127"));
	assert_true(in("172.16.0.0/12", "172.31.255.255"));
	assert_false(in("172.16.0.0/12", "172.32.0.0"));
	assert_true(in("0.0.0.0/0", "203.0.113.5"));
	assert_false(in("0.0.0.0/0", "2001:db8::1"));
	/* IPv6 */
	assert_true(in("::1", "::1"));
	assert_false(in("::1", "::2"));
	assert_true(in("2001:db8::/32", "2001:db8:ffff::1"));
	assert_true(in("2001:db8::/32", "2001:DB8::1"));
	assert_false(in("2001:db8::/32", "2001:db9::1"));
	assert_true(in("fe80::/10", "febf::1"));
	assert_false(in("fe80::/10", "fec0::1"));
	assert_false(in("::/0", "192.0.2.7"));
	assert_true(in("::/0", "2001:db8::1"));
	/* IPv4-mapped addresses are their IPv4 address, both ways */
	assert_true(in("192.0.2.0/24", "::ffff:192.0.2.9"));
	assert_true(in("::ffff:192.0.2.0/120", "192.0.2.9"));
	assert_false(in("::ffff:192.0.2.0/120", "192.0.3.9"));
	/* not addresses */
	assert_false(in("0.0.0.0/0", ""));
	assert_false(in("0.0.0.0/0", "local"));
	assert_false(in("0.0.0.0/0", "192.0.2.0/24"));
	assert_false(in("::/0", "unknown"));
	struct net_cidr c;
	const char *error;
	assert_int_equal(net_cidr_parse("0.0.0.0/0", &c, &error), 0);
	assert_false(net_cidr_match(&c, NULL));
}

static void test_list(void **state)
{
	(void)state;
	struct strv l;
	strv_init(&l);
	assert_false(net_cidr_list_match(&l, "127.0.0.1"));
	strv_push(&l, "not-an-address");	/* never matches */
	strv_push(&l, "127.0.0.2");
	strv_push(&l, "2001:db8::/64");
	assert_true(net_cidr_list_match(&l, "127.0.0.2"));
	assert_false(net_cidr_list_match(&l, "127.0.0.1"));
	assert_true(net_cidr_list_match(&l, "2001:db8::42"));
	assert_false(net_cidr_list_match(&l, "2001:db8:0:1::42"));
	assert_false(net_cidr_list_match(&l, "not-an-address"));
	strv_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_list),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
