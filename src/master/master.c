/* master.c — the root supervisor. Binds listeners and loads TLS keys as
 * root, then drops root (keeping the few capabilities proc.c lists) and
 * only forks, watches and signals children: it runs no event loop and
 * parses no network input, so its attack surface is the configuration
 * file. Signals are taken synchronously (sigtimedwait);
 * children start with a clean signal state and their own libuv loop. */
#include "master.h"
#include "stopsig.h"
#include "auth_proxy.h"
#include "auth_server.h"
#include "connlimit.h"
#include "fsutil.h"
#include "listener.h"
#include "log.h"
#include "proc.h"
#include "queue_process.h"
#include "tls.h"
#include "web.h"
#include "worker.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum child_role {
	ROLE_AUTH,
	ROLE_QUEUE,
	ROLE_WEB,
	ROLE_WORKER,
};

static const char *const role_names[] = {
	[ROLE_AUTH] = "auth",
	[ROLE_QUEUE] = "queue",
	[ROLE_WEB] = "web",
	[ROLE_WORKER] = "worker",
};

struct child {
	enum child_role role;
	unsigned index;		/* worker row in connlimit */
	pid_t pid;		/* 0 = not running */
	time_t started;
	time_t restart_at;	/* when to start again, 0 = not scheduled */
	unsigned fast_deaths;
	bool retiring;		/* old generation: do not restart */
	bool stop_sent;		/* SIGTERM sent to this pid: not again (a
				 * second one could land after the child closed
				 * its handler, and kill it mid-exit) */
	int ctl_fd;		/* web: our end of its reload socket, or -1 */
};

struct master {
	struct config *cfg;
	struct tls_server *tls;
	struct listener_set listeners;
	struct connlimit *limits;
	struct child *children;
	size_t n_children;
	bool rows_used[CONNLIMIT_MAX_WORKERS];
	bool stopping;
};

static struct master M;

static unsigned worker_count(const struct config *cfg)
{
	if (cfg->workers > 0)
		return cfg->workers > CONNLIMIT_MAX_WORKERS / 2 ? CONNLIMIT_MAX_WORKERS / 2 :
			(unsigned)cfg->workers;
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 16 ? 16 : (unsigned)n;
}

static void child_main(struct child *c, int ctl_fd)
{
	static const int sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGUSR1 };
	for (size_t i = 0; i < N_ELEMENTS(sigs); i++)
		signal(sigs[i], SIG_DFL);
	/* A stop or reload sent before the child's loop watches for it
	 * stays pending (the role calls stopsig_release()), instead of
	 * killing it with the default action. */
	stopsig_hold();

	char name[32];
	if (c->role == ROLE_WORKER)
		snprintf(name, sizeof(name), "worker%u", c->index);
	else
		snprintf(name, sizeof(name), "%s", role_names[c->role]);
	proc_set_title(name);
	/* Other children's reload sockets are the master's alone. */
	for (size_t i = 0; i < M.n_children; i++)
		if (M.children[i].ctl_fd >= 0)
			close(M.children[i].ctl_fd);
	/* Each child keeps only the listening sockets it serves. */
	int *https = x_calloc(M.listeners.n + 1, sizeof(int));
	int *http = x_calloc(M.listeners.n + 1, sizeof(int));
	size_t n_https = 0, n_http = 0;
	for (size_t i = 0; i < M.listeners.n && c->role == ROLE_WEB; i++) {
		if (M.listeners.v[i].kind == LISTENER_HTTPS)
			https[n_https++] = M.listeners.v[i].fd;
		else if (M.listeners.v[i].kind == LISTENER_HTTP)
			http[n_http++] = M.listeners.v[i].fd;
		else
			close(M.listeners.v[i].fd);
	}
	if (c->role == ROLE_AUTH || c->role == ROLE_QUEUE)
		listener_set_close(&M.listeners, NULL);
	proc_drop_privileges(M.cfg, name);

	int status = 1;
	switch (c->role) {
	case ROLE_AUTH:
		status = auth_server_run(M.cfg);
		break;
	case ROLE_QUEUE:
		status = queue_process_run(M.cfg, proc_web_uid(), proc_auth_uid());
		break;
	case ROLE_WEB:
		status = web_run(M.cfg, M.tls, https, n_https, http, n_http, ctl_fd) == 0 ? 0 : 1;
		break;
	case ROLE_WORKER:
		status = worker_run(M.cfg, M.tls, &M.listeners, M.limits, c->index);
		break;
	}
	free(https);
	free(http);
	exit(status);
}

static void child_start(struct child *c)
{
	if (c->role == ROLE_WORKER)
		connlimit_reset_worker(M.limits, c->index);
	/* The web process gets its reloads through a socket (web.h); without
	 * one a reload restarts it. */
	int sv[2] = { -1, -1 };
	if (c->role == ROLE_WEB && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		log_warn("web: socketpair: %s; a reload will restart it", strerror(errno));
	pid_t pid = fork();
	if (pid < 0) {
		log_error("fork for %s: %s; retrying in 5 s", role_names[c->role], strerror(errno));
		c->restart_at = time(NULL) + 5;
		if (sv[0] >= 0) {
			close(sv[0]);
			close(sv[1]);
		}
		return;
	}
	if (pid == 0) {
		if (sv[0] >= 0)
			close(sv[0]);
		child_main(c, sv[1]);
	}
	if (sv[1] >= 0)
		close(sv[1]);
	c->ctl_fd = sv[0];
	c->pid = pid;
	c->stop_sent = false;
	c->started = time(NULL);
	c->restart_at = 0;
}

static struct child *child_add(enum child_role role, unsigned index)
{
	M.children = x_reallocarray(M.children, M.n_children + 1, sizeof(*M.children));
	struct child *c = &M.children[M.n_children++];
	memset(c, 0, sizeof(*c));
	c->role = role;
	c->index = index;
	c->ctl_fd = -1;
	return c;
}

static unsigned alloc_row(void)
{
	for (unsigned i = 0; i < CONNLIMIT_MAX_WORKERS; i++) {
		if (!M.rows_used[i]) {
			M.rows_used[i] = true;
			return i;
		}
	}
	return CONNLIMIT_MAX_WORKERS;	/* counted nowhere; limits off */
}

static bool web_wanted(const struct config *cfg)
{
	return cfg->web_enabled && cfg->https_port != 0;
}

static void start_workers(void)
{
	unsigned n = worker_count(M.cfg);
	for (unsigned i = 0; i < n; i++)
		child_start(child_add(ROLE_WORKER, alloc_row()));
}

static void describe_exit(int status, char *buf, size_t size)
{
	if (WIFEXITED(status))
		snprintf(buf, size, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, size, "killed by signal %d (%s)%s%s", WTERMSIG(status),
			 strsignal(WTERMSIG(status)), WCOREDUMP(status) ? ", core dumped" : "",
			 WTERMSIG(status) == SIGSYS ? ": a system call outside its sandbox "
			 "(the process logged which; sandbox = no turns the sandbox off)" :
			 WTERMSIG(status) == SIGKILL ? " (by an administrator or the kernel's "
			 "out-of-memory killer)" : "");
	else
		snprintf(buf, size, "stopped (status %d)", status);
}

static void close_ctl(struct child *c)
{
	if (c->ctl_fd >= 0)
		close(c->ctl_fd);
	c->ctl_fd = -1;
}

static void remove_child(size_t i)
{
	close_ctl(&M.children[i]);
	if (M.children[i].role == ROLE_WORKER && M.children[i].index < CONNLIMIT_MAX_WORKERS) {
		connlimit_reset_worker(M.limits, M.children[i].index);
		M.rows_used[M.children[i].index] = false;
	}
	memmove(&M.children[i], &M.children[i + 1], (M.n_children - i - 1) * sizeof(*M.children));
	M.n_children--;
}

static void reap(void)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (size_t i = 0; i < M.n_children; i++) {
			struct child *c = &M.children[i];
			if (c->pid != pid)
				continue;
			char how[320];
			describe_exit(status, how, sizeof(how));
			c->pid = 0;
			close_ctl(c);
			if (M.stopping || c->retiring) {
				log_info("%s %u (pid %d) %s", role_names[c->role], c->index, (int)pid, how);
				remove_child(i);
				break;
			}
			time_t now = time(NULL);
			bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
			if (now - c->started < 5)
				c->fast_deaths++;
			else
				c->fast_deaths = 0;
			unsigned delay = c->fast_deaths == 0 ? 0 :
				c->fast_deaths > 6 ? 60 : 1u << (c->fast_deaths - 1);
			log_msg(clean ? LOG_LEVEL_INFO : LOG_LEVEL_ERROR,
				"%s %u (pid %d) %s; restarting %s%u s", role_names[c->role],
				c->index, (int)pid, how, delay ? "in " : "now, delay ", delay);
			if (c->role == ROLE_WORKER)
				connlimit_reset_worker(M.limits, c->index);
			c->restart_at = now + delay;
			if (delay == 0)
				child_start(c);
			break;
		}
	}
}

static void child_stop(struct child *c)
{
	if (c->pid > 0 && !c->stop_sent) {
		kill(c->pid, SIGTERM);
		c->stop_sent = true;
	}
}

static void signal_children(int sig, bool include_retiring)
{
	for (size_t i = 0; i < M.n_children; i++) {
		struct child *c = &M.children[i];
		if (c->pid <= 0 || (!include_retiring && c->retiring))
			continue;
		if (sig == SIGTERM)
			child_stop(c);
		else
			kill(c->pid, sig);
	}
}

static bool any_running(void)
{
	for (size_t i = 0; i < M.n_children; i++)
		if (M.children[i].pid > 0)
			return true;
	return false;
}

static void shutdown_all(const sigset_t *set)
{
	M.stopping = true;
	log_info("shutting down");
	signal_children(SIGTERM, true);
	time_t deadline = time(NULL) + 10;
	while (any_running() && time(NULL) < deadline) {
		struct timespec ts = { 1, 0 };
		siginfo_t info;
		if (sigtimedwait(set, &info, &ts) == SIGCHLD || errno == EAGAIN)
			reap();
	}
	if (any_running()) {
		log_warn("children still running after 10 s; killing them");
		signal_children(SIGKILL, true);
		while (any_running()) {
			struct timespec ts = { 1, 0 };
			siginfo_t info;
			sigtimedwait(set, &info, &ts);
			reap();
		}
	}
	listener_set_close(&M.listeners, NULL);
	listener_set_free(&M.listeners);
	log_info("stopped");
}

/* Hands the running web process the new configuration (M.cfg), or
 * restarts it when that cannot be done live. */
static void reload_web(struct child *c, const struct config *old)
{
	const char *key = "", *error = NULL;
	if (!web_reload_needs_restart(old, M.cfg, &key) && c->ctl_fd >= 0 &&
	    web_reload_send(c->ctl_fd, M.cfg, &error) == 0)
		return;
	if (key != NULL && key[0] != '\0')
		log_info("web: %s changed; restarting it (its sessions end)", key);
	else
		log_warn("web: cannot hand over the reload (%s); restarting it",
			 error != NULL ? error : "no reload socket");
	child_stop(c);
}

static void reload(void)
{
	log_info("reloading %s", M.cfg->path);
	struct config *cfg = cfg_new();
	struct strv errors;
	strv_init(&errors);
	if (cfg_read(cfg, M.cfg->path, &errors) < 0 || cfg_check(cfg, &errors) < 0) {
		for (size_t i = 0; i < errors.n; i++)
			log_error("%s", errors.v[i]);
		log_error("reload refused: configuration has errors; still running the old one");
		strv_free(&errors);
		cfg_free(&cfg);
		return;
	}
	strv_free(&errors);
	const char *error;
	struct tls_server *tls = tls_server_new(cfg, &error);
	if (tls == NULL) {
		log_error("reload refused: TLS: %s", error);
		cfg_free(&cfg);
		return;
	}
	struct listener_set set;
	if (listener_set_bind(&set, cfg, &M.listeners, &error) < 0) {
		log_error("reload refused: %s", error);
		tls_server_free(&tls);
		cfg_free(&cfg);
		return;
	}
	enum log_level level;
	if (log_level_parse(cfg->log_level, &level) == 0)
		log_set_level(level);
	/* Old workers finish their sessions; a new generation accepts. */
	for (size_t i = 0; i < M.n_children; i++) {
		struct child *c = &M.children[i];
		if (c->role != ROLE_WORKER || c->retiring)
			continue;
		c->retiring = true;
		if (c->pid > 0)
			kill(c->pid, SIGUSR1);
		else
			c->restart_at = 0;
	}
	for (size_t i = 0; i < M.n_children;) {
		if (M.children[i].retiring && M.children[i].pid == 0)
			remove_child(i);
		else
			i++;
	}
	listener_set_close(&M.listeners, &set);
	listener_set_free(&M.listeners);
	M.listeners = set;
	tls_server_free(&M.tls);
	M.tls = tls;
	struct config *old = M.cfg;
	M.cfg = cfg;
	start_workers();
	/* The auth process re-reads the file itself. The web process gets
	 * the new file and certificates from us and keeps its sessions,
	 * unless what changed needs a new one (new sockets, users, mail
	 * server). The queue and such a web process stop and are started
	 * again by reap() with the new configuration; never two queue
	 * processes at once. */
	bool have_web = false;
	for (size_t i = 0; i < M.n_children; i++) {
		struct child *c = &M.children[i];
		if (c->role == ROLE_WEB) {
			have_web = true;
			if (!web_wanted(M.cfg))
				c->retiring = true;
		}
		if (c->pid <= 0)
			continue;
		if (c->role == ROLE_AUTH)
			kill(c->pid, SIGHUP);
		else if (c->role == ROLE_QUEUE)
			child_stop(c);
		else if (c->role == ROLE_WEB && !c->retiring)
			reload_web(c, old);
		else if (c->role == ROLE_WEB)
			child_stop(c);
	}
	cfg_free(&old);
	if (!have_web && web_wanted(M.cfg))
		child_start(child_add(ROLE_WEB, 0));
	log_info("reload done");
}

/* Gives path to uid:gid with mode, if it exists (as root only). */
static void fix_owner(const char *path, uid_t uid, gid_t gid, mode_t mode)
{
	if (geteuid() != 0)
		return;
	if (lchown(path, uid, gid) < 0) {
		if (errno != ENOENT)
			log_warn("chown %s: %s", path, strerror(errno));
		return;
	}
	if (chmod(path, mode) < 0)
		log_warn("chmod %s: %s", path, strerror(errno));
}

/* Creates the runtime directories, sets the owners and modes the
 * process separation relies on (docs/security.md, "Who reads what"),
 * and removes spool files left by a previous run (never acknowledged,
 * so never promised to anyone). */
static int prepare_dirs(uid_t uid, gid_t gid, uid_t auth_uid)
{
	static const char *const subdirs[] = { "run", "spool", "mail", "auth", "public" };
	for (size_t i = 0; i < N_ELEMENTS(subdirs); i++) {
		bool auth = strcmp(subdirs[i], "auth") == 0;
		bool public = strcmp(subdirs[i], "public") == 0;
		char *p = x_asprintf("%s/%s", M.cfg->data_dir, subdirs[i]);
		if (mkdir_p(p, auth ? 0700 : public ? 0755 : 0750) < 0) {
			log_error("cannot create %s: %s", p, strerror(errno));
			free(p);
			return -1;
		}
		/* run/ is shared with the auth process, which creates its
		 * socket there; auth/ is the auth process's alone; public/
		 * holds the queue process's pickup socket for local users. */
		fix_owner(p, auth ? auth_uid : uid, gid,
			  auth ? 0700 : public ? 0755 : strcmp(subdirs[i], "run") == 0 ? 0770 : 0750);
		free(p);
	}
	/* The auth process (group of cfg->user) creates SQLite's -wal and
	 * -shm files of accounts.db next to it. Other users may pass
	 * through (x, no listing) to reach public/pickup; everything else
	 * in it is closed to them by its own mode. */
	fix_owner(M.cfg->data_dir, uid, gid, 0771);
	static const char *const sqlite_suffixes[] = { "", "-wal", "-shm" };
	for (size_t i = 0; i < N_ELEMENTS(sqlite_suffixes); i++) {
		char *p = x_asprintf("%s/accounts.db%s", M.cfg->data_dir, sqlite_suffixes[i]);
		fix_owner(p, uid, gid, 0660);
		free(p);
		p = x_asprintf("%s/auth/passwd.db%s", M.cfg->data_dir, sqlite_suffixes[i]);
		fix_owner(p, auth_uid, gid, 0600);
		free(p);
	}
	char *spool = x_asprintf("%s/spool", M.cfg->data_dir);
	DIR *d = opendir(spool);
	if (d != NULL) {
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			char *p = x_asprintf("%s/%s", spool, e->d_name);
			unlink(p);
			free(p);
		}
		closedir(d);
	}
	free(spool);
	return 0;
}

/* Idle connections are cheap, so file descriptors are the limit: use
 * all the kernel allows (children inherit it). */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (geteuid() == 0 && rl.rlim_max != RLIM_INFINITY && rl.rlim_max < 262144) {
		struct rlimit want = { 262144, 262144 };
		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			return;
	}
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
}

int master_run(struct config *cfg)
{
	M.cfg = cfg;
	proc_set_title("master");
	raise_fd_limit();
	uid_t uid, auth_uid;
	gid_t gid;
	if (proc_lookup_user(cfg, &uid, &gid) < 0 || proc_lookup_auth_user(cfg, &auth_uid, &gid) < 0)
		return 1;
	const char *error;
	M.tls = tls_server_new(cfg, &error);
	if (M.tls == NULL) {
		log_error("TLS certificate %s / key %s: %s", cfg->tls_cert, cfg->tls_key, error);
		return 1;
	}
	if (listener_set_bind(&M.listeners, cfg, NULL, &error) < 0) {
		log_error("%s", error);
		return 1;
	}
	if (prepare_dirs(uid, gid, auth_uid) < 0)
		return 1;
	M.limits = connlimit_new();
	/* The webmail's proof for the workers (auth_proxy.h), inherited. */
	auth_proxy_token_init();
	/* Bound and keys loaded: from here on, no root (proc.h). */
	if (proc_master_drop(cfg) < 0)
		return 1;

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);

	for (size_t i = 0; i < M.listeners.n; i++)
		log_info("listening on %s port %u (%s)", M.listeners.v[i].addr, M.listeners.v[i].port,
			 listener_kind_name(M.listeners.v[i].kind));
	child_start(child_add(ROLE_AUTH, 0));
	child_start(child_add(ROLE_QUEUE, 0));
	if (web_wanted(cfg))
		child_start(child_add(ROLE_WEB, 0));
	start_workers();
	log_info("correu started (%s), %u workers, data in %s", cfg->hostname,
		 worker_count(cfg), cfg->data_dir);

	for (;;) {
		time_t now = time(NULL), next = 0;
		for (size_t i = 0; i < M.n_children; i++) {
			struct child *c = &M.children[i];
			if (c->pid == 0 && c->restart_at != 0 && !c->retiring) {
				if (c->restart_at <= now)
					child_start(c);
				else if (next == 0 || c->restart_at < next)
					next = c->restart_at;
			}
		}
		struct timespec ts = { next > now ? next - now : 60, 0 };
		siginfo_t info;
		int sig = sigtimedwait(&set, &info, &ts);
		if (sig == SIGCHLD) {
			reap();
		} else if (sig == SIGTERM || sig == SIGINT) {
			shutdown_all(&set);
			break;
		} else if (sig == SIGHUP) {
			reload();
		}
	}
	tls_server_free(&M.tls);
	cfg_free(&M.cfg);
	free(M.children);
	return 0;
}
