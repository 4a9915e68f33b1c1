/* cmd_config.c — loading the configuration for commands, and the
 * check-config and config-keys commands. */
#include "cmd.h"
#include "cfg.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>

static const char *config_path(const struct cmd_args *a)
{
	if (a->config_path != NULL)
		return a->config_path;
	const char *env = getenv("CORREU_CONFIG");
	return env != NULL && env[0] != '\0' ? env : "/etc/correu/correu.conf";
}

struct config *cmd_load_config(const struct cmd_args *a, bool check)
{
	struct config *cfg = cfg_new();
	struct strv errors;
	strv_init(&errors);
	int ret = cfg_read(cfg, config_path(a), &errors);
	if (ret == 0 && check)
		ret = cfg_check(cfg, &errors);
	for (size_t i = 0; i < errors.n; i++)
		fprintf(stderr, "%s\n", errors.v[i]);
	strv_free(&errors);
	if (ret < 0) {
		cfg_free(&cfg);
		return NULL;
	}
	enum log_level level;
	if (log_level_parse(cfg->log_level, &level) == 0)
		log_set_level(level);
	return cfg;
}

int cmd_check_config(const struct cmd_args *a)
{
	struct config *cfg = cfg_new();
	struct strv errors;
	strv_init(&errors);
	const char *path = config_path(a);
	/* Report problems of both passes at once. */
	if (cfg_read(cfg, path, &errors) == 0 || errors.n > 0)
		(void)cfg_check(cfg, &errors);
	for (size_t i = 0; i < errors.n; i++)
		fprintf(stderr, "%s\n", errors.v[i]);
	int status = errors.n > 0 ? 1 : 0;
	if (status == 0)
		printf("%s: configuration OK\n", cfg->path);
	else
		fprintf(stderr, "%zu problem%s found\n", errors.n, errors.n == 1 ? "" : "s");
	strv_free(&errors);
	cfg_free(&cfg);
	return status;
}

int cmd_config_keys(const struct cmd_args *a)
{
	(void)a;
	static const char *const types[] = {
		[CFG_STR] = "string", [CFG_PATH] = "path", [CFG_UINT] = "number",
		[CFG_PORT] = "port", [CFG_SIZE] = "size", [CFG_DURATION] = "duration",
		[CFG_BOOL] = "yes/no", [CFG_LIST] = "list", [CFG_LINES] = "repeatable",
		[CFG_NETWORKS] = "networks",
		[CFG_ENUM] = "choice",
	};
	for (size_t i = 0; i < cfg_keys_count; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		printf("%s\t%s\t%s\t%s\n", k->name, k->type == CFG_ENUM ? k->choices : types[k->type],
		       k->def, k->doc);
	}
	return 0;
}
