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
/* The same for the auth process: uid of cfg->auth_user (cfg->user when
 * empty), gid of cfg->user, so that it shares the data directory with
 * the other children but alone owns data_dir/auth. */
int proc_lookup_auth_user(const struct config *cfg, uid_t *uid_r, gid_t *gid_r);
/* The master, as root, after binding and loading keys: becomes cfg->user
 * for good, keeping only the capabilities a supervisor needs (switching
 * children to their users, signalling them, binding new ports and
 * re-reading keys on reload); not dumpable. Returns -1 (logged) on
 * failure. Does nothing when not root. */
int proc_master_drop(const struct config *cfg);
/* In a child: name is its role ("auth", "queue", "web", "workerN").
 * Switches to the role's user (cfg->auth_user, cfg->web_user or
 * cfg->user) (when root or holding the master's
 * capabilities) and drops every capability, sets no_new_privs and the
 * parent-death signal, and with cfg->sandbox makes itself non-dumpable
 * and installs the role's seccomp filter (sandbox.h). Fatal on failure. */
void proc_drop_privileges(const struct config *cfg, const char *name);
/* After proc_drop_privileges(): the uid the web process runs as (its
 * own user when the server started as root, else ours), -1 if unknown. */
long proc_web_uid(void);
/* The same for the auth process's uid. */
long proc_auth_uid(void);
/* Sets the process name shown in logs and ps ("correu: worker"). */
void proc_set_title(const char *name);

#endif
