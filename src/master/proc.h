/* proc.h — process set-up shared by the master's children and by
 * standalone commands (`correu web`): privilege drop and hardening. */
#ifndef CORREU_PROC_H
#define CORREU_PROC_H

#include <stdbool.h>
#include <sys/types.h>
#include "cfg.h"

/* Looks up cfg->user. When running as root and the user is missing,
 * prints what to do and returns -1. When not root, returns 0 and leaves
 * uid_r and gid_r at the current ids. */
int proc_lookup_user(const struct config *cfg, uid_t *uid_r, gid_t *gid_r);
/* As root: switches to cfg->user (groups, gid, uid) for good, sets
 * no_new_privs and the parent-death signal. Not root: only the last two.
 * Fatal on failure. */
void proc_drop_privileges(const struct config *cfg, const char *name);
/* Sets the process name shown in logs and ps ("correu: worker"). */
void proc_set_title(const char *name);

#endif
