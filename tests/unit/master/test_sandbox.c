/* test_sandbox.c — the seccomp allow-lists of src/master/sandbox.c: in a
 * forked child per case, what a role needs keeps working (files, unix
 * sockets, threads through the clone3 fallback, SQLite-style locking),
 * what it must not do fails softly (foreign socket families) or kills
 * the process with SIGSYS after a log line naming the call. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

typedef int child_fn(void);

/* Runs fn in a child that first installs role's filter; returns the
 * wait status and what the child wrote to stderr. */
static int run_sandboxed(enum sandbox_role role, child_fn *fn, char *err, size_t err_size)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(p[1], STDERR_FILENO);
		close(p[0]);
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		const char *error;
		if (sandbox_install(role, "tester", &error) < 0) {
			fprintf(stderr, "install: %s\n", error);
			_exit(90);
		}
		_exit(fn());
	}
	close(p[1]);
	size_t n = 0;
	ssize_t r;
	while (n < err_size - 1 && (r = read(p[0], err + n, err_size - 1 - n)) > 0)
		n += (size_t)r;
	err[n] = '\0';
	close(p[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static int exited_with(int status)
{
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1000 - WTERMSIG(status);
}

static void *thread_fn(void *arg)
{
	*(int *)arg = 42;
	return NULL;
}

/* What every role does all day. */
static int everyday_calls(void)
{
	char path[] = "/tmp/correu-sandbox-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0 || write(fd, "x", 1) != 1 || fdatasync(fd) < 0)
		return 1;
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	if (fcntl(fd, F_SETLK, &fl) < 0)
		return 2;
	char renamed[sizeof(path) + 2];
	snprintf(renamed, sizeof(renamed), "%s.r", path);
	if (rename(path, renamed) < 0 || unlink(renamed) < 0)
		return 3;
	close(fd);
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return 4;
	close(sv[0]);
	close(sv[1]);
	pthread_t t;
	int value = 0;
	if (pthread_create(&t, NULL, thread_fn, &value) != 0 || pthread_join(t, NULL) != 0 ||
	    value != 42)
		return 5;
	void *big = malloc(64 << 20);
	if (big == NULL)
		return 6;
	memset(big, 1, 64 << 20);
	free(big);
	return 0;
}

static int inet_socket(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd >= 0)
		return 0;
	return errno == EAFNOSUPPORT ? 7 : 8;
}

static int netlink_socket(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW, 0);
	if (fd >= 0)
		return 0;
	return errno == EAFNOSUPPORT ? 7 : 8;
}

static int call_unshare(void)
{
	syscall(SYS_unshare, 0);
	return 0;
}

static int call_execve(void)
{
	char *argv[] = { (char *)"/bin/true", NULL };
	execve("/bin/true", argv, NULL);
	return 9;
}

static int call_setuid(void)
{
	syscall(SYS_setresuid, 0, 0, 0);
	return 0;
}

/* The pickup socket's uid look-up: NSS (files, then systemd, which
 * probes the capability bounding set) for a uid /etc/passwd lacks, and
 * for one it has. */
static int nss_lookups(void)
{
	if (prctl(PR_CAPBSET_READ, 0, 0, 0, 0) < 0 && errno != EINVAL)
		return 10;
	char buf[16384];
	struct passwd pw, *res = NULL;
	if (getpwuid_r(54321, &pw, buf, sizeof(buf), &res) != 0 && res != NULL)
		return 11;
	if (getpwuid_r(0, &pw, buf, sizeof(buf), &res) != 0 || res == NULL ||
	    strcmp(res->pw_name, "root") != 0)
		return 12;
	return 0;
}

static void test_everyday_calls_allowed(void **state)
{
	(void)state;
	char err[2048];
	for (int role = SANDBOX_AUTH; role <= SANDBOX_WORKER; role++) {
		int st = run_sandboxed((enum sandbox_role)role, everyday_calls, err, sizeof(err));
		if (exited_with(st) != 0)
			fail_msg("role %s: status %d, stderr: %s",
				 sandbox_role_name((enum sandbox_role)role), exited_with(st), err);
	}
}

static void test_queue_looks_up_users(void **state)
{
	(void)state;
	char err[2048];
	int st = run_sandboxed(SANDBOX_QUEUE, nss_lookups, err, sizeof(err));
	if (exited_with(st) != 0)
		fail_msg("status %d, stderr: %s", exited_with(st), err);
}

static void test_socket_families_by_role(void **state)
{
	(void)state;
	char err[2048];
	/* The auth process has unix sockets only; the others reach the net. */
	assert_int_equal(exited_with(run_sandboxed(SANDBOX_AUTH, inet_socket, err, sizeof(err))), 7);
	assert_int_equal(exited_with(run_sandboxed(SANDBOX_QUEUE, inet_socket, err, sizeof(err))), 0);
	assert_int_equal(exited_with(run_sandboxed(SANDBOX_WORKER, inet_socket, err, sizeof(err))), 0);
	/* Nobody opens netlink or packet sockets. */
	assert_int_equal(exited_with(run_sandboxed(SANDBOX_WEB, netlink_socket, err, sizeof(err))), 7);
}

static void expect_sigsys(enum sandbox_role role, child_fn *fn, const char *name)
{
	char err[2048];
	int st = run_sandboxed(role, fn, err, sizeof(err));
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGSYS)
		fail_msg("%s in %s: expected SIGSYS, status %d, stderr: %s", name,
			 sandbox_role_name(role), exited_with(st), err);
	char want[128];
	snprintf(want, sizeof(want), "(%s) is not allowed in the %s process", name,
		 sandbox_role_name(role));
	if (strstr(err, want) == NULL || strstr(err, "tester: error: sandbox: system call") == NULL)
		fail_msg("log line missing \"%s\": %s", want, err);
}

static void test_forbidden_calls_kill(void **state)
{
	(void)state;
	for (int role = SANDBOX_AUTH; role <= SANDBOX_WORKER; role++) {
		expect_sigsys((enum sandbox_role)role, call_unshare, "unshare");
		expect_sigsys((enum sandbox_role)role, call_execve, "execve");
		expect_sigsys((enum sandbox_role)role, call_setuid, "setresuid");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_everyday_calls_allowed),
		cmocka_unit_test(test_queue_looks_up_users),
		cmocka_unit_test(test_socket_families_by_role),
		cmocka_unit_test(test_forbidden_calls_kill),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
