/* test_buf.c — unit tests for buf.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <stdlib.h>
#include "buf.h"

static void test_append_consume(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	assert_string_equal(buf_cstr(&b), "");
	buf_append(&b, "hello", 5);
	buf_appendf(&b, " %d", 42);
	assert_int_equal(b.len, 8);
	assert_string_equal(buf_cstr(&b), "hello 42");
	buf_consume(&b, 6);
	assert_string_equal(buf_cstr(&b), "42");
	buf_consume(&b, 100);
	assert_int_equal(b.len, 0);
	buf_shrink_idle(&b, 0);
	assert_null(b.data);
	buf_free(&b);
}

static void test_binary_and_large(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	char zero[3] = { 'a', '\0', 'b' };
	buf_append(&b, zero, 3);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, zero, 3);
	for (int i = 0; i < 10000; i++)
		buf_appendf(&b, "%05d", i);
	assert_int_equal(b.len, 3 + 50000);
	assert_memory_equal(b.data + 3 + 5 * 9999, "09999", 5);
	char *s = buf_steal(&b);
	assert_int_equal(b.len, 0);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_consume),
		cmocka_unit_test(test_binary_and_large),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
