/* worker.c — the worker process: accepts connections on the inherited
 * listening sockets and starts protocol sessions on one event loop.
 * Runs unprivileged and sandboxed; parses no input itself (the
 * services do). */
#include "worker.h"
#include "stopsig.h"
#include "auth_client.h"
#include "auth_db.h"
#include "log.h"
#include "net_cidr.h"
#include "proc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct worker_listener {
	uv_poll_t poll;
	int fd;
	enum service_kind kind;
	service_start_t *start;
};

struct worker {
	uv_loop_t *loop;
	struct service_env env;
	struct connlimit *limits;
	unsigned index;
	unsigned active;
	struct worker_listener *listeners;
	size_t n_listeners;
	uv_signal_t sig_term, sig_int, sig_usr1;
	uv_timer_t drain_timer;
	bool draining;
};

static struct worker worker;

/* The built-in webmail opens one IMAP connection per browser session,
 * all from a loopback address: it is exempt from max_connections_per_ip
 * (the web process applies that limit to browsers itself). It is known
 * by the uid that owns the other end of the connection. */
static long web_uid = -1;
static int accepting_fd = -1;	/* the socket being handed to a service */

static bool is_loopback(const char *ip)
{
	return strncmp(ip, "127.", 4) == 0 || strcmp(ip, "::1") == 0 ||
		strncmp(ip, "::ffff:127.", 11) == 0;
}

/* Formats an address and port as /proc/net/tcp{,6} prints them. */
static bool proc_net_key(const struct sockaddr_storage *ss, char *buf, size_t size)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
		snprintf(buf, size, "%08X:%04X", (unsigned)in->sin_addr.s_addr,
			 (unsigned)ntohs(in->sin_port));
		return true;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
		uint32_t w[4];
		memcpy(w, &in6->sin6_addr, sizeof(w));
		snprintf(buf, size, "%08X%08X%08X%08X:%04X", (unsigned)w[0], (unsigned)w[1],
			 (unsigned)w[2], (unsigned)w[3], (unsigned)ntohs(in6->sin6_port));
		return true;
	}
	return false;
}

/* The uid owning the other end of loopback connection fd, or -1. */
static long loopback_peer_uid(int fd)
{
	struct sockaddr_storage local, peer;
	socklen_t llen = sizeof(local), plen = sizeof(peer);
	char lkey[64], pkey[64];
	if (getsockname(fd, (struct sockaddr *)&local, &llen) < 0 ||
	    getpeername(fd, (struct sockaddr *)&peer, &plen) < 0 ||
	    !proc_net_key(&local, lkey, sizeof(lkey)) || !proc_net_key(&peer, pkey, sizeof(pkey)))
		return -1;
	FILE *f = fopen(peer.ss_family == AF_INET ? "/proc/net/tcp" : "/proc/net/tcp6", "re");
	if (f == NULL)
		return -1;
	char line[512];
	long uid = -1;
	while (uid < 0 && fgets(line, sizeof(line), f) != NULL) {
		char l[80], r[80];
		unsigned st;
		long u;
		if (sscanf(line, " %*d: %79s %79s %x %*s %*s %*s %ld", l, r, &st, &u) == 4 &&
		    strcmp(l, pkey) == 0 && strcmp(r, lkey) == 0)
			uid = u;
	}
	fclose(f);
	return uid;
}

/* Held open so that, out of file descriptors, a pending connection can
 * still be accepted and refused: otherwise it stays in the listen queue
 * and the readable listener wakes the loop forever. */
static int reserve_fd = -1;
static uint64_t emfile_logged_ms;

/* What a client reads when we cannot serve it now (plain-text ports;
 * implicit TLS ports just close). */
static const char *refusal(enum service_kind kind)
{
	switch (kind) {
	case SERVICE_SMTP:
	case SERVICE_SUBMISSION:
		return "421 4.3.2 Service not available: out of resources, try again later\r\n";
	case SERVICE_IMAP:
		return "* BYE [UNAVAILABLE] Out of resources, try again later\r\n";
	case SERVICE_POP3:
		return "-ERR [SYS/TEMP] Out of resources, try again later\r\n";
	default:
		return NULL;
	}
}

/* Out of descriptors: takes one connection off the queue with the
 * reserve descriptor, answers it and closes it. */
static void refuse_with_reserve(int listen_fd, enum service_kind kind)
{
	uint64_t now = uv_now(worker.loop);
	if (emfile_logged_ms == 0 || now - emfile_logged_ms >= 10000) {
		log_error("accept: %s: refusing connections (raise the open files limit)",
			  strerror(errno));
		emfile_logged_ms = now == 0 ? 1 : now;
	}
	if (reserve_fd < 0)
		return;
	close(reserve_fd);
	reserve_fd = -1;
	int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd >= 0) {
		const char *msg = refusal(kind);
		if (msg != NULL) {
			ssize_t ret ATTR_UNUSED = send(fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT);
		}
		close(fd);
	}
	reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static bool worker_session_begin(const struct service_env *env, enum service_kind kind,
				 const char *ip)
{
	const struct config *cfg = env->cfg;
	if (connlimit_acquire(worker.limits, worker.index, kind, ip,
			      (unsigned)cfg->max_connections,
			      (unsigned)cfg->max_connections_per_ip))
		return true;
	/* Over a limit: the built-in webmail and trusted_proxies, which
	 * limit their own clients, may pass the per-IP one. */
	if (!net_cidr_list_match(&cfg->trusted_proxies, ip) &&
	    (web_uid < 0 || accepting_fd < 0 || !is_loopback(ip) ||
	     loopback_peer_uid(accepting_fd) != web_uid))
		return false;
	return connlimit_acquire(worker.limits, worker.index, kind, ip,
				 (unsigned)cfg->max_connections, 0);
}

static void worker_session_ended(const struct service_env *env, enum service_kind kind,
				 const char *ip)
{
	(void)env;
	connlimit_release(worker.limits, worker.index, kind, ip);
	if (worker.draining && worker.active == 0)
		uv_stop(worker.loop);
}

static void accept_cb(uv_poll_t *p, int status, int events)
{
	struct worker_listener *l = p->data;
	(void)events;
	if (status < 0)
		return;
	/* A bounded batch per wake-up keeps other listeners responsive. */
	for (int i = 0; i < 64; i++) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if ((errno == EMFILE || errno == ENFILE) && reserve_fd >= 0) {
				refuse_with_reserve(l->fd, l->kind);
				continue;
			}
			return;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		accepting_fd = fd;
		l->start(&worker.env, l->kind, fd);
		accepting_fd = -1;
	}
}

static void stop_listening(void)
{
	for (size_t i = 0; i < worker.n_listeners; i++) {
		uv_poll_stop(&worker.listeners[i].poll);
		close(worker.listeners[i].fd);
	}
}

static void drain_timeout_cb(uv_timer_t *t)
{
	(void)t;
	log_info("drain period over with %u sessions open; exiting", worker.active);
	uv_stop(worker.loop);
}

static void signal_cb(uv_signal_t *h, int signum)
{
	(void)h;
	if (signum == SIGUSR1) {
		if (worker.draining)
			return;
		/* Reload: a new generation accepts now; finish ours. */
		worker.draining = true;
		stop_listening();
		log_info("draining: %u sessions open", worker.active);
		if (worker.active == 0) {
			uv_stop(worker.loop);
			return;
		}
		uv_timer_init(worker.loop, &worker.drain_timer);
		uv_timer_start(&worker.drain_timer, drain_timeout_cb, 3600 * 1000, 0);
		uv_unref((uv_handle_t *)&worker.drain_timer);
		return;
	}
	uv_stop(worker.loop);
}

int worker_run(const struct config *cfg, struct tls_server *tls,
	       const struct listener_set *listeners, struct connlimit *limits,
	       unsigned index)
{
	/* fsync batches of many sessions run in parallel (DESIGN.md). */
	setenv("UV_THREADPOOL_SIZE", "32", 0);
	worker.loop = uv_default_loop();
	reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (cfg->web_enabled)
		web_uid = proc_web_uid();	/* its own user, or ours (proc.c) */
	worker.limits = limits;
	worker.index = index;
	const char *error;
	struct auth_db *db = auth_db_open(cfg, false, &error);
	if (db == NULL)
		log_fatal("cannot open the accounts database: %s", error);
	worker.env = (struct service_env){
		.loop = worker.loop,
		.cfg = cfg,
		.tls = tls,
		.auth = auth_client_new(worker.loop, cfg),
		.accounts = db,
		.session_begin = worker_session_begin,
		.session_ended = worker_session_ended,
		.active_sessions = &worker.active,
	};
	worker.listeners = x_calloc(listeners->n + 1, sizeof(*worker.listeners));
	for (size_t i = 0; i < listeners->n; i++) {
		const struct listener *src = &listeners->v[i];
		service_start_t *start = src->kind < SERVICE_COUNT ?
			worker_service((enum service_kind)src->kind) : NULL;
		if (start == NULL) {
			/* Not ours (web) or not built yet: never accept here. */
			close(src->fd);
			continue;
		}
		struct worker_listener *l = &worker.listeners[worker.n_listeners++];
		l->fd = src->fd;
		l->kind = (enum service_kind)src->kind;
		l->start = start;
		uv_poll_init_socket(worker.loop, &l->poll, l->fd);
		l->poll.data = l;
		uv_poll_start(&l->poll, UV_READABLE, accept_cb);
	}
	uv_signal_init(worker.loop, &worker.sig_term);
	uv_signal_start(&worker.sig_term, signal_cb, SIGTERM);
	uv_signal_init(worker.loop, &worker.sig_int);
	uv_signal_start(&worker.sig_int, signal_cb, SIGINT);
	uv_signal_init(worker.loop, &worker.sig_usr1);
	uv_signal_start(&worker.sig_usr1, signal_cb, SIGUSR1);
	/* Reloads reach workers through the master, not SIGHUP: a stray
	 * one (pkill -HUP correu) must not end the worker. */
	signal(SIGHUP, SIG_IGN);
	stopsig_release();
	log_info("worker %u ready: %zu listeners", index, worker.n_listeners);
	uv_run(worker.loop, UV_RUN_DEFAULT);
	log_info("worker %u exiting", index);
	return 0;
}
