/* main.c — the correu multi-call binary: global options, then one
 * subcommand from the table below. Invoked as "sendmail" it behaves as
 * `correu sendmail`. */
#include "cmd.h"
#include "cfg.h"
#include "log.h"

#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct command {
	const char *name;
	int (*run)(const struct cmd_args *a);
	const char *usage;
};

static const struct command commands[] = {
	{ "init", cmd_init, "init DIR [--domain D] [--hostname H] [--port-base N] [--listen ADDR]..." },
	{ "serve", cmd_serve, "serve" },
	{ "web", cmd_web, "web  (only the webmail)" },
	{ "check-config", cmd_check_config, "check-config" },
	{ "user", cmd_user, "user add|del|passwd|list|quota|enable|disable ..." },
	{ "domain", cmd_domain, "domain add|del|list ..." },
	{ "alias", cmd_alias, "alias add|del|list ..." },
	{ "reindex", cmd_reindex, "reindex ADDRESS...  (rebuild mail indexes from the Maildirs)" },
	{ "config-keys", cmd_config_keys, "config-keys  (list every configuration key)" },
	{ "queue", cmd_queue, "queue list|show ID|flush [ID]|delete ID|hold ID|release ID|run" },
	{ "sendmail", cmd_sendmail, "sendmail [-t] [-i] [-f SENDER] [-F NAME] [RCPT...] < MESSAGE" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: correu [-c FILE] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < N_ELEMENTS(commands); i++)
		fprintf(f, "  correu %s\n", commands[i].usage);
	fprintf(f, "\nThe configuration is read from -c FILE, $CORREU_CONFIG, or "
		"/etc/correu/correu.conf.\n");
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	log_set_process("correu");
	struct cmd_args a = { NULL, 0, NULL };
	/* Invoked through a "sendmail" (or "mailq") link: that command with
	 * every argument, as cron, scripts and PHP expect. */
	char *name = basename(argv[0]);
	if (strcmp(name, "sendmail") == 0) {
		a.argc = argc - 1;
		a.argv = argv + 1;
		return cmd_sendmail(&a);
	}
	if (strcmp(name, "mailq") == 0) {
		char *list[] = { (char *)"list", NULL };
		a.argc = 1;
		a.argv = list;
		return cmd_queue(&a);
	}
	int i = 1;
	while (i < argc && argv[i][0] == '-') {
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc) {
			a.config_path = argv[i + 1];
			i += 2;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "correu: unknown option %s\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	for (size_t j = 0; j < N_ELEMENTS(commands); j++) {
		if (strcmp(argv[i], commands[j].name) == 0) {
			a.argc = argc - i - 1;
			a.argv = argv + i + 1;
			return commands[j].run(&a);
		}
	}
	fprintf(stderr, "correu: unknown command \"%s\"\n", argv[i]);
	usage(stderr);
	return 2;
}
