/* cmd_reindex.c — `correu reindex ADDRESS...`: rebuilds users' mail
 * indexes from their Maildirs (the files are the truth). Runs as the
 * administrator's command; a running server notices the new index and
 * asks its IMAP clients to reconnect. */
#include "cmd.h"
#include "auth_db.h"
#include "cfg.h"
#include "store_rebuild.h"
#include "xalloc.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int cmd_reindex(const struct cmd_args *a)
{
	if (a->argc < 1) {
		fprintf(stderr, "usage: correu reindex ADDRESS...\n");
		return 2;
	}
	struct config *cfg = cmd_load_config(a, false);
	if (cfg == NULL)
		return 1;
	const char *error;
	struct auth_db *db = auth_db_open(cfg, false, &error);
	if (db == NULL) {
		fprintf(stderr, "correu reindex: %s\n", error);
		cfg_free(&cfg);
		return 1;
	}
	int status = 0;
	for (int i = 0; i < a->argc; i++) {
		struct auth_user u;
		memset(&u, 0, sizeof(u));
		int r = auth_db_user_get(db, a->argv[i], &u);
		if (r <= 0) {
			fprintf(stderr, "correu reindex: %s: %s\n", a->argv[i],
				r == 0 ? "no such user" : "accounts database error");
			status = 1;
			continue;
		}
		struct stat st;
		if (stat(u.maildir, &st) < 0) {
			printf("%s: no Maildir yet, nothing to do\n", u.address);
		} else {
			/* As root, rebuild as the Maildir's owner, so every
			 * file the rebuild writes stays usable by the server. */
			bool switched;
			int r2 = cmd_owner_enter(u.maildir, &switched);
			if (r2 == 0)
				r2 = store_rebuild(u.maildir, &error);
			else
				error = "cannot switch to the Maildir's owner";
			cmd_owner_leave(switched);
			if (r2 < 0) {
				fprintf(stderr, "correu reindex: %s: %s\n", u.address, error);
				status = 1;
			} else {
				printf("%s: index rebuilt\n", u.address);
			}
		}
		auth_user_free(&u);
	}
	auth_db_close(&db);
	cfg_free(&cfg);
	return status;
}
