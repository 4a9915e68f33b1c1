/* cmd_domain.c — `correu domain add|del|list`. Runs as the
 * administrator's command; parses only its arguments. */
#include "cmd.h"
#include "auth_db.h"
#include "cfg.h"
#include "str.h"

#include <stdio.h>
#include <string.h>

static int usage(void)
{
	fprintf(stderr, "usage: correu domain add DOMAIN\n"
		"       correu domain del DOMAIN   (only once it has no users or aliases)\n"
		"       correu domain list\n");
	return 2;
}

int cmd_domain(const struct cmd_args *a)
{
	if (a->argc < 1)
		return usage();
	const char *sub = a->argv[0];
	bool list = strcmp(sub, "list") == 0;
	if (list ? a->argc != 1 : a->argc != 2)
		return usage();
	if (!list && strcmp(sub, "add") != 0 && strcmp(sub, "del") != 0)
		return usage();
	struct config *cfg = cmd_load_config(a, false);
	if (cfg == NULL)
		return 1;
	const char *error;
	int status = 1;
	struct auth_db *db = auth_db_open(cfg, false, &error);
	if (db == NULL) {
		fprintf(stderr, "correu domain: %s\n", error);
		cfg_free(&cfg);
		return 1;
	}
	if (list) {
		struct strv domains;
		strv_init(&domains);
		if (auth_db_domain_list(db, &domains) == 0) {
			for (size_t i = 0; i < domains.n; i++)
				printf("%s\n", domains.v[i]);
			status = 0;
		} else {
			fprintf(stderr, "correu domain list: cannot read the accounts database\n");
		}
		strv_free(&domains);
	} else if (strcmp(sub, "add") == 0) {
		if (auth_db_domain_add(db, a->argv[1], &error) < 0)
			fprintf(stderr, "correu domain add: %s: %s\n", a->argv[1], error);
		else
			status = 0;
	} else {
		if (auth_db_domain_del(db, a->argv[1], &error) < 0)
			fprintf(stderr, "correu domain del: %s: %s\n", a->argv[1], error);
		else
			status = 0;
	}
	auth_db_close(&db);
	cfg_free(&cfg);
	return status;
}
