/* cmd.h — the subcommands of the correu multi-call binary. Each takes the
 * arguments after its name and the -c configuration path (may be NULL
 * for commands that do not need one) and returns the exit status. */
#ifndef CORREU_CMD_H
#define CORREU_CMD_H

#include <stdbool.h>

struct config;

struct cmd_args {
	const char *config_path;	/* from -c, or NULL */
	int argc;			/* arguments after the command name */
	char **argv;
};

int cmd_init(const struct cmd_args *a);
int cmd_serve(const struct cmd_args *a);
int cmd_web(const struct cmd_args *a);
int cmd_check_config(const struct cmd_args *a);
int cmd_user(const struct cmd_args *a);
int cmd_domain(const struct cmd_args *a);
int cmd_alias(const struct cmd_args *a);
int cmd_reindex(const struct cmd_args *a);
int cmd_config_keys(const struct cmd_args *a);
int cmd_queue(const struct cmd_args *a);
int cmd_sendmail(const struct cmd_args *a);

/* Reads and checks the configuration named by -c (or the default
 * path); prints every problem and returns NULL on failure. */
struct config *cmd_load_config(const struct cmd_args *a, bool check);

/* As root, switches the effective ids to the owner of path (unless
 * that is root or path is missing); *switched_r says whether it did.
 * 0, or -1 when the switch failed. cmd_owner_leave goes back to root
 * (exits if it cannot). */
int cmd_owner_enter(const char *path, bool *switched_r);
void cmd_owner_leave(bool switched);

#endif
