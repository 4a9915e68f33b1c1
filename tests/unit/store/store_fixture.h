/* store_fixture.h — the temporary data root and Maildir path the store
 * unit tests share: define FIXTURE_NAME and FIXTURE_USER, then include
 * after cmocka.h; setup/teardown make and remove /tmp/correu-test-NAME-*. */
#ifndef CORREU_TEST_STORE_FIXTURE_H
#define CORREU_TEST_STORE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fsutil.h"

static char root[256];
static char maildir[300];

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/correu-test-%s-XXXXXX", FIXTURE_NAME);
	assert_non_null(mkdtemp(root));
	snprintf(maildir, sizeof(maildir), "%s/mail/example.org/%s", root, FIXTURE_USER);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	remove_tree(root);
	return 0;
}

#endif
