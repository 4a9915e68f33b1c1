/* cmd_alias.c — `correu alias add|del|list`: addresses (or a domain's
 * catch-all "@domain") that deliver to one or more local or remote
 * addresses. Runs as the administrator's command. */
#include "cmd.h"
#include "auth_db.h"
#include "cfg.h"
#include "str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(void)
{
	fprintf(stderr, "usage: correu alias add SOURCE TARGET...   (SOURCE: local@domain or @domain)\n"
		"       correu alias del SOURCE [TARGET]\n"
		"       correu alias list\n");
	return 2;
}

/* Warns about local targets that are neither users nor aliases yet. */
static void warn_dangling(struct auth_db *db, const struct strv *targets)
{
	for (size_t i = 0; i < targets->n; i++) {
		const char *at = strrchr(targets->v[i], '@');
		if (at == NULL || !auth_db_domain_exists(db, at + 1))
			continue;
		struct auth_user u;
		struct strv t;
		strv_init(&t);
		char *lower = str_lower(x_strdup(targets->v[i]));
		int user = auth_db_user_get(db, lower, &u);
		if (user == 1)
			auth_user_free(&u);
		else if (auth_db_alias_targets(db, lower, &t) == 0 && t.n == 0)
			fprintf(stderr, "note: %s is not a user or alias (yet)\n", targets->v[i]);
		free(lower);
		strv_free(&t);
	}
}

int cmd_alias(const struct cmd_args *a)
{
	if (a->argc < 1)
		return usage();
	const char *sub = a->argv[0];
	bool add = strcmp(sub, "add") == 0, del = strcmp(sub, "del") == 0;
	bool list = strcmp(sub, "list") == 0;
	if ((add && a->argc < 3) || (del && (a->argc < 2 || a->argc > 3)) ||
	    (list && a->argc != 1) || (!add && !del && !list))
		return usage();
	struct config *cfg = cmd_load_config(a, false);
	if (cfg == NULL)
		return 1;
	const char *error;
	int status = 1;
	struct auth_db *db = auth_db_open(cfg, false, &error);
	if (db == NULL) {
		fprintf(stderr, "correu alias: %s\n", error);
		cfg_free(&cfg);
		return 1;
	}
	if (list) {
		struct strv lines;
		strv_init(&lines);
		if (auth_db_alias_list(db, &lines) == 0) {
			for (size_t i = 0; i < lines.n; i++)
				printf("%s\n", lines.v[i]);
			status = 0;
		} else {
			fprintf(stderr, "correu alias list: cannot read the accounts database\n");
		}
		strv_free(&lines);
	} else if (add) {
		struct strv targets;
		strv_init(&targets);
		for (int i = 2; i < a->argc; i++)
			strv_push(&targets, a->argv[i]);
		if (auth_db_alias_add(db, a->argv[1], &targets, &error) < 0) {
			fprintf(stderr, "correu alias add: %s: %s\n", a->argv[1], error);
		} else {
			warn_dangling(db, &targets);
			status = 0;
		}
		strv_free(&targets);
	} else {
		if (auth_db_alias_del(db, a->argv[1], a->argc == 3 ? a->argv[2] : NULL, &error) < 0)
			fprintf(stderr, "correu alias del: %s: %s\n", a->argv[1], error);
		else
			status = 0;
	}
	auth_db_close(&db);
	cfg_free(&cfg);
	return status;
}
