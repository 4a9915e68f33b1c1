/* sandbox.c — seccomp allow-lists, one per child role, built with
 * libseccomp. Runs at the start of every child of the master (and of
 * `correu web`), after the privilege drop. Parses no untrusted input.
 *
 * The lists hold what libuv, glibc, OpenSSL, SQLite, libunbound, iconv
 * (gconv modules are loaded with open + mmap), zlib, libsodium and
 * libxcrypt call at run time, found by tracing the integration suite.
 * Nothing may start programs (execve), create processes (clone without
 * CLONE_THREAD), trace or read other processes, change ids, mount, load
 * modules or BPF, use keyrings, io_uring or namespaces. Sockets are
 * limited by address family per role: the auth process only has unix
 * sockets; bind and listen exist only where a role needs them.
 *
 * Sanitizer builds also allow what LeakSanitizer needs to stop the world
 * at exit (a clone()d tracer that ptrace()s the threads). */
#include "sandbox.h"
#include "log.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANDBOX_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
	__has_feature(memory_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define SANDBOX_SANITIZER 1
#endif
#endif
#ifndef SANDBOX_SANITIZER
#define SANDBOX_SANITIZER 0
#endif

/* Every role: memory, files, time, threads, signals to itself, event
 * loop, sockets it already has. */
static const char *const base_calls[] = {
	/* memory */
	"brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "mincore", "msync",
	/* file descriptors and files */
	"read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev",
	"preadv2", "pwritev2", "lseek", "close", "close_range", "open", "openat",
	"fstat", "stat", "lstat", "newfstatat", "statx", "fstatfs", "statfs", "access",
	"faccessat", "faccessat2", "readlink", "readlinkat", "getdents", "getdents64",
	"getcwd", "fcntl", "flock", "fsync", "fdatasync", "sync_file_range", "ftruncate",
	"fallocate",
	"fadvise64", "rename", "renameat", "renameat2", "unlink", "unlinkat", "mkdir",
	"mkdirat", "rmdir", "link", "linkat", "chmod", "fchmod", "fchmodat", "utimensat",
	"dup", "dup2", "dup3", "pipe", "pipe2", "sendfile", "copy_file_range", "umask",
	/* the event loop and change notification */
	"epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait",
	"epoll_pwait2", "poll", "ppoll", "select", "pselect6", "eventfd", "eventfd2",
	"inotify_init", "inotify_init1", "inotify_add_watch", "inotify_rm_watch",
	/* time */
	"clock_gettime", "clock_getres", "gettimeofday", "time", "nanosleep",
	"clock_nanosleep",
	/* threads (clone is added with its flags checked) and identity */
	"futex", "set_robust_list", "get_robust_list", "rseq", "set_tid_address",
	"gettid", "getpid", "getppid", "getuid", "geteuid", "getgid", "getegid",
	"getgroups", "getresuid", "getresgid", "sched_yield", "sched_getaffinity",
	"membarrier",
	/* signals and exit */
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigpending",
	"rt_sigtimedwait", "sigaltstack", "restart_syscall", "exit", "exit_group",
	/* information */
	"uname", "sysinfo", "getrusage", "getrandom", "getpriority",
	/* sockets already created or accepted */
	"connect", "accept", "accept4", "getsockname", "getpeername", "setsockopt",
	"getsockopt", "shutdown", "sendto", "recvfrom", "sendmsg", "recvmsg",
	"sendmmsg", "recvmmsg",
};

/* LeakSanitizer's StopTheWorld and the sanitizers' reports. */
static const char *const sanitizer_calls[] = {
	"ptrace", "wait4", "waitid", "sched_setaffinity", "process_vm_readv",
	"setrlimit", "prlimit64", "mlock", "munlock", "personality", "tkill",
	"kill", "getrlimit",
};

/* Extra per role. */
static const char *const auth_calls[] = { "bind", "listen" };
/* The queue process binds its control socket (datagrams) and listens on
 * the pickup socket for local users' sendmail (stream). */
static const char *const queue_calls[] = { "bind", "listen" };
static const char *const web_calls[] = { "bind" };
static const char *const worker_calls[] = { "bind" };

struct role_def {
	const char *name;
	const char *const *calls;
	size_t n_calls;
	int families[4];	/* socket() domains allowed; 0 ends */
};

static const struct role_def roles[] = {
	[SANDBOX_AUTH] = { "auth", auth_calls, N_ELEMENTS(auth_calls), { AF_UNIX } },
	[SANDBOX_QUEUE] = { "queue", queue_calls, N_ELEMENTS(queue_calls),
			    { AF_UNIX, AF_INET, AF_INET6 } },
	[SANDBOX_WEB] = { "web", web_calls, N_ELEMENTS(web_calls),
			  { AF_UNIX, AF_INET, AF_INET6 } },
	[SANDBOX_WORKER] = { "worker", worker_calls, N_ELEMENTS(worker_calls),
			     { AF_UNIX, AF_INET, AF_INET6 } },
};

const char *sandbox_role_name(enum sandbox_role role)
{
	return roles[role].name;
}

/* ---- the SIGSYS report: async-signal-safe formatting only ---- */

#define MAX_SYSCALL_NAMES 512

static const char *syscall_names[MAX_SYSCALL_NAMES];
static char proc_name[32];
static char role_name[16];

struct sigbuf {
	char v[512];
	size_t n;
};

static void sb_str(struct sigbuf *b, const char *s)
{
	while (*s != '\0' && b->n < sizeof(b->v) - 1)
		b->v[b->n++] = *s++;
}

static void sb_uint(struct sigbuf *b, uint64_t u, unsigned width)
{
	char tmp[24];
	unsigned n = 0;
	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	while (n < width && n < sizeof(tmp))
		tmp[n++] = '0';
	while (n > 0 && b->n < sizeof(b->v) - 1)
		b->v[b->n++] = tmp[--n];
}

/* Days since 1970-01-01 to a civil date (proleptic Gregorian). */
static void civil_from_days(int64_t z, int64_t *y_r, unsigned *m_r, unsigned *d_r)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d_r = doy - (153 * mp + 2) / 5 + 1;
	*m_r = mp < 10 ? mp + 3 : mp - 9;
	*y_r = (int64_t)yoe + era * 400 + (*m_r <= 2);
}

static void sigsys_handler(int sig, siginfo_t *si, void *uctx)
{
	(void)uctx;
	int saved = errno;
	if (si != NULL && si->si_code == 1 /* SYS_SECCOMP */) {
		struct sigbuf b = { .n = 0 };
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		int64_t y;
		unsigned mo, d;
		civil_from_days(ts.tv_sec / 86400, &y, &mo, &d);
		unsigned sec = (unsigned)(ts.tv_sec % 86400);
		sb_uint(&b, (uint64_t)y, 4);
		sb_str(&b, "-");
		sb_uint(&b, mo, 2);
		sb_str(&b, "-");
		sb_uint(&b, d, 2);
		sb_str(&b, "T");
		sb_uint(&b, sec / 3600, 2);
		sb_str(&b, ":");
		sb_uint(&b, sec / 60 % 60, 2);
		sb_str(&b, ":");
		sb_uint(&b, sec % 60, 2);
		sb_str(&b, ".");
		sb_uint(&b, (uint64_t)ts.tv_nsec / 1000000, 3);
		sb_str(&b, "Z correu[");
		sb_uint(&b, (uint64_t)getpid(), 0);
		sb_str(&b, "] ");
		sb_str(&b, proc_name);
		sb_str(&b, ": error: sandbox: system call ");
		int nr = si->si_syscall;
		sb_uint(&b, nr < 0 ? 0 : (uint64_t)nr, 0);
		sb_str(&b, " (");
		sb_str(&b, nr >= 0 && nr < MAX_SYSCALL_NAMES && syscall_names[nr] != NULL ?
		       syscall_names[nr] : "unknown");
		sb_str(&b, ") is not allowed in the ");
		sb_str(&b, role_name);
		sb_str(&b, " process; exiting with SIGSYS (sandbox = no turns the sandbox off)\n");
		ssize_t ret ATTR_UNUSED = write(STDERR_FILENO, b.v, b.n);
	}
	/* Die of the signal itself so that the master logs the cause: it
	 * is delivered again, with the default action, when we return. */
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigaction(sig, &sa, NULL);
	syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), sig);
	errno = saved;
}

/* ---- building the filter ---- */

static int allow(scmp_filter_ctx ctx, const char *name)
{
	int nr = seccomp_syscall_resolve_name(name);
	if (nr == __NR_SCMP_ERROR)
		return 0;	/* not on this architecture */
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
}

static int allow_list(scmp_filter_ctx ctx, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (allow(ctx, names[i]) < 0)
			return -1;
	}
	return 0;
}

/* SCMP_A0() and friends leave fields to the compiler's zeroing, which
 * clang's -Wmissing-field-initializers rejects. */
static struct scmp_arg_cmp arg_cmp(unsigned arg, enum scmp_compare op, scmp_datum_t a,
				   scmp_datum_t b)
{
	struct scmp_arg_cmp c = { .arg = arg, .op = op, .datum_a = a, .datum_b = b };
	return c;
}

/* Calls whose arguments decide. */
static int add_checked(scmp_filter_ctx ctx, const struct role_def *r)
{
	int rc = 0;
	pid_t self = getpid();

	/* Threads yes, processes no. clone3 passes its flags in memory a
	 * filter cannot read: glibc falls back to clone on ENOSYS. */
	if (SANDBOX_SANITIZER)
		rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 0);
	else
		rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				       arg_cmp(0, SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);

	/* Signals only to ourselves (raise, abort). */
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
			       arg_cmp(0, SCMP_CMP_EQ, (scmp_datum_t)self, 0));
	if (!SANDBOX_SANITIZER) {
		rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1,
				       arg_cmp(0, SCMP_CMP_EQ, (scmp_datum_t)self, 0));
		/* getrlimit/setrlimit of ourselves; raising the hard limit
		 * needs a capability nobody here has. */
		rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 1,
				       arg_cmp(0, SCMP_CMP_EQ, 0, 0));
	}

	/* prctl: names and dumpable queries; sanitizers need more.
	 * PR_CAPBSET_READ only reads our own (empty) capability bounding
	 * set: systemd's NSS module (libnss_systemd) probes the last
	 * capability with it when the queue process looks up the uid of
	 * a pickup client that /etc/passwd lacks (queue_pickup_server.c). */
	if (SANDBOX_SANITIZER) {
		rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 0);
	} else {
		static const int opts[] = { PR_SET_NAME, PR_GET_NAME, PR_GET_DUMPABLE,
					    PR_GET_NO_NEW_PRIVS, PR_GET_SECCOMP,
					    PR_CAPBSET_READ };
		for (size_t i = 0; i < N_ELEMENTS(opts); i++)
			rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
					       arg_cmp(0, SCMP_CMP_EQ, (scmp_datum_t)opts[i], 0));
	}

	/* ioctl: non-blocking and close-on-exec flags, pending bytes,
	 * terminal queries (isatty). The request is an int in the kernel. */
	static const unsigned long ioctls[] = { FIONBIO, FIOCLEX, FIONCLEX, FIONREAD,
						TCGETS, TIOCGWINSZ };
	for (size_t i = 0; i < N_ELEMENTS(ioctls); i++)
		rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				       arg_cmp(1, SCMP_CMP_MASKED_EQ, 0xffffffffu, ioctls[i]));

	/* socket and socketpair by address family; other families fail
	 * as unsupported (glibc probes netlink and copes). */
	for (size_t i = 0; i < N_ELEMENTS(r->families) && r->families[i] != 0; i++) {
		rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				       arg_cmp(0, SCMP_CMP_EQ, (scmp_datum_t)r->families[i], 0));
	}
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socketpair), 1,
			       arg_cmp(0, SCMP_CMP_EQ, AF_UNIX, 0));
	for (int fam = 1; fam < AF_MAX; fam++) {
		bool allowed = false;
		for (size_t i = 0; i < N_ELEMENTS(r->families) && r->families[i] != 0; i++)
			allowed |= r->families[i] == fam;
		if (!allowed)
			rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
					       arg_cmp(0, SCMP_CMP_EQ, (scmp_datum_t)fam, 0));
	}
	return rc != 0 ? -1 : 0;
}

int sandbox_install(enum sandbox_role role, const char *name, const char **error_r)
{
	const struct role_def *r = &roles[role];
	snprintf(proc_name, sizeof(proc_name), "%s", name);
	snprintf(role_name, sizeof(role_name), "%s", r->name);
	for (int i = 0; i < MAX_SYSCALL_NAMES; i++) {
		if (syscall_names[i] == NULL)
			syscall_names[i] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, i);
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sigsys_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0) {
		*error_r = "cannot install the SIGSYS handler";
		return -1;
	}

	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	if (ctx == NULL) {
		*error_r = "seccomp_init failed";
		return -1;
	}
	int rc = 0;
	/* Every thread, including any a library started already. */
	rc |= seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	/* Our own no_new_privs is set by the caller; keep it that way. */
	rc |= seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
	if (rc != 0 ||
	    allow_list(ctx, base_calls, N_ELEMENTS(base_calls)) < 0 ||
	    allow_list(ctx, r->calls, r->n_calls) < 0 ||
	    (SANDBOX_SANITIZER &&
	     allow_list(ctx, sanitizer_calls, N_ELEMENTS(sanitizer_calls)) < 0) ||
	    add_checked(ctx, r) < 0) {
		*error_r = "building the filter failed";
		seccomp_release(ctx);
		return -1;
	}
	rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc < 0) {
		*error_r = strerror(-rc);
		return -1;
	}
	log_debug("sandbox: %s filter loaded", r->name);
	return 0;
}

bool sandbox_sanitizer_build(void)
{
	return SANDBOX_SANITIZER;
}
