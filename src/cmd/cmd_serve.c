/* cmd_serve.c — `correu serve`: run the mail server in the foreground. */
#include "cmd.h"
#include "cfg.h"
#include "log.h"
#include "master.h"

#include <stdio.h>

int cmd_serve(const struct cmd_args *a)
{
	if (a->argc > 0) {
		fprintf(stderr, "usage: correu [-c FILE] serve\n");
		return 2;
	}
	struct config *cfg = cmd_load_config(a, true);
	if (cfg == NULL)
		return 1;
	if (cfg->syslog_facility[0] != '\0')
		log_enable_syslog(cfg->syslog_facility);
	return master_run(cfg);
}
