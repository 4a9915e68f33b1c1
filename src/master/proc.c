/* proc.c — privilege drop and process hardening for the master's
 * children and standalone commands. */
#include "proc.h"
#include "log.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

int proc_lookup_user(const struct config *cfg, uid_t *uid_r, gid_t *gid_r)
{
	*uid_r = getuid();
	*gid_r = getgid();
	if (geteuid() != 0)
		return 0;
	struct passwd *pw = getpwnam(cfg->user);
	if (pw == NULL) {
		log_error("the unprivileged user \"%s\" (key \"user\" in %s) does not exist; "
			  "create it with `useradd --system --user-group --no-create-home "
			  "--shell /usr/sbin/nologin %s` and give it the data directory with "
			  "`chown -R %s: %s`, or run `correu init` as root, which does both",
			  cfg->user, cfg->path != NULL ? cfg->path : "the configuration",
			  cfg->user, cfg->user, cfg->data_dir);
		return -1;
	}
	if (pw->pw_uid == 0) {
		log_error("user \"%s\" is root; correu must drop to an unprivileged user", cfg->user);
		return -1;
	}
	*uid_r = pw->pw_uid;
	*gid_r = pw->pw_gid;
	return 0;
}

void proc_drop_privileges(const struct config *cfg, const char *name)
{
	if (geteuid() == 0) {
		uid_t uid;
		gid_t gid;
		if (proc_lookup_user(cfg, &uid, &gid) < 0)
			log_fatal("%s: cannot drop privileges", name);
		if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 ||
		    setresuid(uid, uid, uid) < 0)
			log_fatal("%s: dropping privileges to %s failed: %s", name, cfg->user,
				  strerror(errno));
		if (setuid(0) == 0)
			log_fatal("%s: privileges could be regained after the drop", name);
	}
	/* Exec'd programs never gain privileges; die with the master. */
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
}

void proc_set_title(const char *name)
{
	char title[16];
	snprintf(title, sizeof(title), "correu-%s", name);
	prctl(PR_SET_NAME, title, 0, 0, 0);
	log_set_process(name);
}
