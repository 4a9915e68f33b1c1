/* test_str.c — unit tests for str.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include "str.h"

static void test_numbers(void **state)
{
	(void)state;
	uint64_t v;
	assert_int_equal(str_to_uint64("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(str_to_uint64("18446744073709551615", &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(str_to_uint64("18446744073709551616", &v), -1);
	assert_int_equal(str_to_uint64("", &v), -1);
	assert_int_equal(str_to_uint64("12a", &v), -1);
	assert_int_equal(str_to_uint64("-1", &v), -1);
}

static void test_size_duration(void **state)
{
	(void)state;
	uint64_t v;
	assert_int_equal(str_to_size("10M", &v), 0);
	assert_int_equal(v, 10 * 1024 * 1024);
	assert_int_equal(str_to_size("64k", &v), 0);
	assert_int_equal(v, 65536);
	assert_int_equal(str_to_size("1 GiB", &v), 0);
	assert_true(v == 1024ULL * 1024 * 1024);
	assert_int_equal(str_to_size("10X", &v), -1);
	assert_int_equal(str_to_size("99999999999999999999G", &v), -1);
	assert_int_equal(str_to_duration("5m", &v), 0);
	assert_int_equal(v, 300);
	assert_int_equal(str_to_duration("2h", &v), 0);
	assert_int_equal(v, 7200);
	assert_int_equal(str_to_duration("30", &v), 0);
	assert_int_equal(v, 30);
	assert_int_equal(str_to_duration("5y", &v), -1);
}

static void test_strv(void **state)
{
	(void)state;
	struct strv sv;
	strv_init(&sv);
	strv_split_ws(&sv, "  a, b\tc  ");
	assert_int_equal(sv.n, 3);
	assert_string_equal(sv.v[0], "a");
	assert_string_equal(sv.v[2], "c");
	assert_null(sv.v[3]);
	assert_true(strv_contains(&sv, "b"));
	assert_true(strv_remove(&sv, "B", true));
	assert_int_equal(sv.n, 2);
	assert_string_equal(sv.v[1], "c");
	strv_free(&sv);
}

static void test_trim_prefix(void **state)
{
	(void)state;
	char s[] = " \t hello world \r\n";
	assert_string_equal(str_trim(s), "hello world");
	assert_true(str_has_prefix_icase("MAIL FROM:<a>", "mail from:"));
	assert_false(str_has_prefix("MAI", "MAIL"));
	assert_true(str_has_suffix_icase("x@Example.ORG", "example.org"));
	assert_true(mem_equal_ct("abc", "abc", 3));
	assert_false(mem_equal_ct("abc", "abd", 3));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_size_duration),
		cmocka_unit_test(test_strv),
		cmocka_unit_test(test_trim_prefix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
