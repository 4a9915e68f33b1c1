/* proc.c — privilege drop and process hardening for the master and its
 * children, and for standalone commands. Runs in the master (as root,
 * before and while dropping) and at the start of every child. Parses no
 * untrusted input.
 *
 * Users: the master, workers and queue run as cfg->user; the auth
 * process as cfg->auth_user with cfg->user's group, so that it alone can
 * open data_dir/auth (password hashes); the web process as cfg->web_user
 * with its own group, so that it cannot open anything in data_dir. The
 * master keeps a handful of capabilities (see keep_caps) and no root
 * uid. */
#include "proc.h"
#include "log.h"
#include "sandbox.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* What the master still needs after the drop: start children as the
 * worker and the auth user (SETUID, SETGID), signal the auth process,
 * which has another uid (KILL), and on reload bind new ports below 1024
 * and read key files only root may read (NET_BIND_SERVICE,
 * DAC_READ_SEARCH). */
static const int keep_caps[] = {
	CAP_SETUID, CAP_SETGID, CAP_KILL, CAP_NET_BIND_SERVICE, CAP_DAC_READ_SEARCH,
};

static int caps_get(uint64_t *permitted_r)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d) < 0)
		return -1;
	*permitted_r = (uint64_t)d[0].permitted | (uint64_t)d[1].permitted << 32;
	return 0;
}

/* Sets the effective and permitted sets to caps; inheritable empty. */
static int caps_set(uint64_t caps)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	memset(d, 0, sizeof(d));
	d[0].effective = d[0].permitted = (uint32_t)caps;
	d[1].effective = d[1].permitted = (uint32_t)(caps >> 32);
	return syscall(SYS_capset, &h, d) < 0 ? -1 : 0;
}

static const char *missing_user_hint(const struct config *cfg, const char *user,
				     const char *key)
{
	static char msg[1024];
	snprintf(msg, sizeof(msg),
		 "the system user \"%s\" (key \"%s\" in %s) does not exist; run `correu init` "
		 "as root, which creates it, or create it with `useradd --system "
		 "--no-create-home --shell /usr/sbin/nologin %s%s %s`", user, key,
		 cfg->path != NULL ? cfg->path : "the configuration",
		 strcmp(key, "auth_user") == 0 ? "--no-user-group --gid " : "--user-group",
		 strcmp(key, "auth_user") == 0 ? cfg->user : "", user);
	return msg;
}

/* The ids of a role's user, whoever we are now. Logs what to do when a
 * user is missing. The auth process has its own uid in the main user's
 * group (data_dir is shared); the web process has its own uid and group
 * (it needs nothing from data_dir). */
static int role_ids(const struct config *cfg, enum sandbox_role role, uid_t *uid_r,
		    gid_t *gid_r)
{
	struct passwd *pw = getpwnam(cfg->user);
	if (pw == NULL) {
		log_error("%s, and give it the data directory with `chown -R %s: %s`",
			  missing_user_hint(cfg, cfg->user, "user"), cfg->user, cfg->data_dir);
		return -1;
	}
	if (pw->pw_uid == 0) {
		log_error("user \"%s\" is root; correu must drop to an unprivileged user", cfg->user);
		return -1;
	}
	*uid_r = pw->pw_uid;
	*gid_r = pw->pw_gid;
	const char *name = role == SANDBOX_AUTH ? cfg->auth_user :
		role == SANDBOX_WEB ? cfg->web_user : "";
	if (name[0] == '\0')
		return 0;
	const char *key = role == SANDBOX_AUTH ? "auth_user" : "web_user";
	pw = getpwnam(name);
	if (pw == NULL) {
		log_error("%s", missing_user_hint(cfg, name, key));
		return -1;
	}
	if (pw->pw_uid == 0 || pw->pw_gid == 0) {
		log_error("%s \"%s\" is root or in group root; correu must drop to an "
			  "unprivileged user", key, name);
		return -1;
	}
	*uid_r = pw->pw_uid;
	if (role == SANDBOX_WEB)
		*gid_r = pw->pw_gid;
	return 0;
}

int proc_lookup_user(const struct config *cfg, uid_t *uid_r, gid_t *gid_r)
{
	if (geteuid() != 0) {
		*uid_r = getuid();
		*gid_r = getgid();
		return 0;
	}
	return role_ids(cfg, SANDBOX_WORKER, uid_r, gid_r);
}

int proc_lookup_auth_user(const struct config *cfg, uid_t *uid_r, gid_t *gid_r)
{
	if (geteuid() != 0) {
		*uid_r = getuid();
		*gid_r = getgid();
		return 0;
	}
	return role_ids(cfg, SANDBOX_AUTH, uid_r, gid_r);
}

static int switch_ids(uid_t uid, gid_t gid)
{
	if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0)
		return -1;
	uid_t r, e, s;
	if (getresuid(&r, &e, &s) < 0 || r == 0 || e == 0 || s == 0)
		return -1;
	return 0;
}

int proc_master_drop(const struct config *cfg)
{
	if (geteuid() != 0)
		return 0;
	uid_t uid;
	gid_t gid;
	/* Every user must exist before anything is given up. */
	if (role_ids(cfg, SANDBOX_AUTH, &uid, &gid) < 0 ||
	    role_ids(cfg, SANDBOX_WEB, &uid, &gid) < 0 ||
	    role_ids(cfg, SANDBOX_WORKER, &uid, &gid) < 0)
		return -1;
	uint64_t keep = 0;
	for (size_t i = 0; i < N_ELEMENTS(keep_caps); i++)
		keep |= UINT64_C(1) << keep_caps[i];
	/* Nothing this process or a child executes may regain the rest. */
	for (int cap = 0; cap < 64; cap++) {
		if ((keep & (UINT64_C(1) << cap)) == 0 &&
		    prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno == EINVAL)
			break;	/* past the last capability the kernel knows */
	}
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 || switch_ids(uid, gid) < 0 ||
	    caps_set(keep) < 0 || prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) {
		log_error("master: dropping privileges to %s failed: %s", cfg->user,
			  strerror(errno));
		return -1;
	}
	/* Children share the uid: they must not read our memory (keys). */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	log_info("running as %s (uid %u) with capabilities setuid, setgid, kill, "
		 "net_bind_service, dac_read_search", cfg->user, (unsigned)uid);
	return 0;
}

static long web_uid = -1;
static long auth_uid = -1;

long proc_web_uid(void)
{
	return web_uid;
}

long proc_auth_uid(void)
{
	return auth_uid;
}

static enum sandbox_role role_of(const char *name)
{
	if (strcmp(name, "auth") == 0)
		return SANDBOX_AUTH;
	if (strcmp(name, "queue") == 0)
		return SANDBOX_QUEUE;
	if (strcmp(name, "web") == 0)
		return SANDBOX_WEB;
	if (strncmp(name, "worker", 6) == 0)
		return SANDBOX_WORKER;
	log_panic("no sandbox role for process \"%s\"", name);
}

void proc_drop_privileges(const struct config *cfg, const char *name)
{
	enum sandbox_role role = role_of(name);
	uint64_t caps = 0;
	if (caps_get(&caps) < 0)
		log_fatal("%s: capget: %s", name, strerror(errno));
	/* Root, or the master's kept capabilities: switch users. Otherwise
	 * (started unprivileged) there is nobody else to become. */
	if (geteuid() == 0 || caps != 0) {
		uid_t uid;
		gid_t gid;
		if (role_ids(cfg, SANDBOX_WEB, &uid, &gid) == 0)
			web_uid = (long)uid;
		if (role_ids(cfg, SANDBOX_AUTH, &uid, &gid) == 0)
			auth_uid = (long)uid;
		if (role_ids(cfg, role, &uid, &gid) < 0)
			log_fatal("%s: cannot drop privileges", name);
		if (switch_ids(uid, gid) < 0)
			log_fatal("%s: switching to uid %u gid %u failed: %s", name, (unsigned)uid,
				  (unsigned)gid, strerror(errno));
		if (caps_set(0) < 0)
			log_fatal("%s: dropping capabilities failed: %s", name, strerror(errno));
		if (setuid(0) == 0)
			log_fatal("%s: privileges could be regained after the drop", name);
	} else {
		web_uid = (long)getuid();	/* started unprivileged: one uid for all */
		auth_uid = web_uid;
	}
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	/* Exec'd programs never gain privileges; die with the master. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		log_fatal("%s: no_new_privs: %s", name, strerror(errno));
	prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
	if (!cfg->sandbox) {
		/* Debugging: core dumps allowed, no system-call filter. */
		prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
		log_info("%s: sandbox disabled (sandbox = no)", name);
		return;
	}
	/* Children of one uid must not read each other's memory (session
	 * secrets, passwords in flight) through ptrace or /proc/PID/mem.
	 * Sanitizer (test) builds stay dumpable: LeakSanitizer stops the
	 * process's threads with ptrace from a helper task at exit. */
	prctl(PR_SET_DUMPABLE, sandbox_sanitizer_build() ? 1 : 0, 0, 0, 0);
	const char *error;
	if (sandbox_install(role, name, &error) < 0)
		log_fatal("%s: sandbox: %s (set sandbox = no to run without it)", name, error);
}

void proc_set_title(const char *name)
{
	char title[16];
	snprintf(title, sizeof(title), "correu-%s", name);
	prctl(PR_SET_NAME, title, 0, 0, 0);
	log_set_process(name);
}
