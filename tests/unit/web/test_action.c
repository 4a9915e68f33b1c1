/* test_action.c — unit tests of how the webmail takes messages out of a
 * folder (web_action.c): MOVE when offered, UID EXPUNGE only with
 * UIDPLUS, and never a plain EXPUNGE of a whole folder for a move or a
 * deletion. What the servers then do is tested against real ones
 * (tests/integration/test_web_actions.py, tests/web). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "web_action.h"

static void test_plan(void **state)
{
	(void)state;
	/* move, MOVE, UIDPLUS */
	assert_int_equal(web_removal_plan(true, true, true), WEB_REMOVE_MOVE);
	assert_int_equal(web_removal_plan(true, true, false), WEB_REMOVE_MOVE);
	assert_int_equal(web_removal_plan(true, false, true), WEB_REMOVE_EXPUNGE);
	assert_int_equal(web_removal_plan(true, false, false), WEB_REMOVE_HIDE);
	/* Deleting for good (or replacing a draft) never moves. */
	assert_int_equal(web_removal_plan(false, true, true), WEB_REMOVE_EXPUNGE);
	assert_int_equal(web_removal_plan(false, false, true), WEB_REMOVE_EXPUNGE);
	assert_int_equal(web_removal_plan(false, true, false), WEB_REMOVE_HIDE);
	assert_int_equal(web_removal_plan(false, false, false), WEB_REMOVE_HIDE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
