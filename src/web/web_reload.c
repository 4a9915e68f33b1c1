/* web_reload.c — configuration reloads of the running webmail, which keep
 * the browsers' sessions: what can change live and what needs a new web
 * process, the message by which the master of `correu serve` hands the
 * new configuration file and TLS files over (as open descriptors: the
 * web user may not read a key file, the master may), and applying a new
 * configuration and certificates. web_reload_send() runs in the master;
 * everything else in the web process. Reads the configuration and key
 * files (the administrator's), no network input. */
#include "web.h"
#include "web_private.h"
#include "auth_throttle.h"
#include "log.h"
#include "tls.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The configuration file and up to 125 tls_extra_cert pairs: the
 * kernel's limit of descriptors in one message is 253. */
#define MAX_FDS 253
#define MAGIC "correu-web-reload 1"
/* How long a replaced certificate set stays allocated: connections
 * accepted before the reload may still be in their handshake (bounded
 * by web_server.c's 75 s idle timeout), and their SNI callback uses it. */
#define RETIRE_MS (5 * 60 * 1000)

struct web_retired {
	struct web_retired *next;
	struct tls_server *tls;
	uint64_t at;
};

static bool strv_same(const struct strv *a, const struct strv *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return false;
	return true;
}

static uint64_t imap_port(const struct config *cfg)
{
	return cfg->web_imap_port != 0 ? cfg->web_imap_port : cfg->imaps_port;
}

static uint64_t smtp_port(const struct config *cfg)
{
	return cfg->web_smtp_port != 0 ? cfg->web_smtp_port : cfg->submissions_port;
}

bool web_reload_needs_restart(const struct config *old, const struct config *cur,
			      const char **key_r)
{
	/* The listening sockets, the process's identity and sandbox, and
	 * the servers the sessions are logged in to. Everything else
	 * (certificates, web_ca_file, hostname, timeouts, limits, throttle,
	 * log level, front end) is applied live. */
	const char *key = NULL;
	if (!strv_same(&old->listen, &cur->listen))
		key = "listen";
	else if (old->https_port != cur->https_port)
		key = "https_port";
	else if (old->http_port != cur->http_port)
		key = "http_port";
	else if (strcmp(old->user, cur->user) != 0)
		key = "user";
	else if (strcmp(old->web_user, cur->web_user) != 0)
		key = "web_user";
	else if (old->sandbox != cur->sandbox)
		key = "sandbox";
	else if (strcmp(old->web_imap_host, cur->web_imap_host) != 0)
		key = "web_imap_host";
	else if (imap_port(old) != imap_port(cur))
		key = old->web_imap_port != cur->web_imap_port ? "web_imap_port" : "imaps_port";
	else if (strcmp(old->web_smtp_host, cur->web_smtp_host) != 0)
		key = "web_smtp_host";
	else if (smtp_port(old) != smtp_port(cur))
		key = old->web_smtp_port != cur->web_smtp_port ? "web_smtp_port" : "submissions_port";
	if (key_r != NULL)
		*key_r = key;
	return key != NULL;
}

/* Opens the configuration file and the TLS files it names, in the order
 * of tls_server_files(). Returns the number opened, or -1 with *error_r
 * (nothing left open). */
static int open_files(const struct config *cfg, bool with_config, int *fds, size_t max,
		      const char **error_r)
{
	static char msg[600];
	struct strv paths;
	strv_init(&paths);
	if (with_config)
		strv_push(&paths, cfg->path);
	if (tls_server_files(cfg, &paths, error_r) < 0) {
		strv_free(&paths);
		return -1;
	}
	if (paths.n > max) {
		*error_r = "too many tls_extra_cert entries to hand over";
		strv_free(&paths);
		return -1;
	}
	size_t n = 0;
	for (; n < paths.n; n++) {
		fds[n] = open(paths.v[n], O_RDONLY | O_CLOEXEC);
		if (fds[n] < 0) {
			snprintf(msg, sizeof(msg), "cannot open %s: %s", paths.v[n], strerror(errno));
			*error_r = msg;
			break;
		}
	}
	bool ok = n == paths.n;
	strv_free(&paths);
	if (!ok) {
		for (size_t i = 0; i < n; i++)
			close(fds[i]);
		return -1;
	}
	return (int)n;
}

static void close_fds(const int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
}

int web_reload_send(int sock, const struct config *cfg, const char **error_r)
{
	int fds[MAX_FDS];
	int n = open_files(cfg, true, fds, MAX_FDS, error_r);
	if (n < 0)
		return -1;
	union {
		char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
		struct cmsghdr align;
	} control;
	memset(&control, 0, sizeof(control));
	struct iovec iov = { .iov_base = (void *)MAGIC, .iov_len = sizeof(MAGIC) - 1 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
	memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)n);
	/* Never blocks the master: a web process that does not read its
	 * messages is restarted instead (the caller's fallback). */
	ssize_t sent = sendmsg(sock, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
	int saved = errno;
	close_fds(fds, (size_t)n);
	if (sent != (ssize_t)iov.iov_len) {
		*error_r = sent < 0 ? strerror(saved) : "short write";
		return -1;
	}
	return 0;
}

static void retire(struct web *w, struct tls_server *tls)
{
	struct web_retired *r = x_calloc(1, sizeof(*r));
	r->tls = tls;
	r->at = uv_now(w->loop);
	r->next = w->retired;
	w->retired = r;
}

void web_reload_sweep(struct web *w, bool all)
{
	uint64_t now = uv_now(w->loop);
	struct web_retired **pp = &w->retired;
	while (*pp != NULL) {
		struct web_retired *r = *pp;
		if (all || now - r->at >= RETIRE_MS) {
			*pp = r->next;
			tls_server_free(&r->tls);
			free(r);
		} else {
			pp = &r->next;
		}
	}
}

int web_reload_upstream_tls(struct web *w, const struct config *cfg,
			    const struct tls_server *own, const char **error_r)
{
	if (web_upstream_set_tls(&w->imap_up, cfg->web_ca_file, own, cfg->hostname, error_r) < 0 ||
	    web_upstream_set_tls(&w->smtp_up, cfg->web_ca_file, own, cfg->hostname, error_r) < 0)
		return -1;
	return 0;
}

/* Takes over cfg and tls (NULL: keep the certificates). */
static void apply(struct web *w, struct config *cfg, struct tls_server *tls)
{
	const char *key, *error;
	if (web_reload_needs_restart(w->cfg, cfg, &key))
		log_warn("reload: %s changed; it takes effect when the webmail is restarted", key);
	if (web_reload_upstream_tls(w, cfg, tls != NULL ? tls : w->tls, &error) < 0) {
		log_error("reload: checking the mail server's certificate: %s; configuration "
			  "not reloaded", error);
		tls_server_free(&tls);
		cfg_free(&cfg);
		return;
	}
	if (tls != NULL) {
		/* New connections get the new certificates; the old set goes
		 * once no handshake can still use it. The first set belongs to
		 * the caller of web_run(). */
		if (w->tls_owned != NULL)
			retire(w, w->tls_owned);
		w->tls = w->tls_owned = tls;
	}
	cfg_free(&w->cfg_owned);
	w->cfg_owned = cfg;
	w->cfg = cfg;
	web_apply_config(w);
	log_info("configuration reloaded%s; %zu session%s kept", tls != NULL ?
		 ", with its certificates" : "", w->n_sessions, w->n_sessions == 1 ? "" : "s");
}

void web_reload_files(struct web *w)
{
	struct config *cfg = cfg_reload(w->cfg->path, -1, false);
	if (cfg == NULL)
		return;
	/* Standalone, we read the certificate files ourselves, as the web
	 * user: a key only root may read stays the one of the start. */
	int fds[MAX_FDS];
	const char *error;
	struct tls_server *tls = NULL;
	int n = open_files(cfg, false, fds, MAX_FDS, &error);
	if (n >= 0) {
		tls = tls_server_new_fds(cfg, fds, (size_t)n, &error);
		close_fds(fds, (size_t)n);
	}
	if (tls == NULL)
		log_warn("reload: certificates not reloaded (%s); a restart reloads them", error);
	apply(w, cfg, tls);
}

/* One message from the master: the configuration file's descriptor,
 * then the TLS files'. */
static void on_message(struct web *w, const int *fds, size_t n)
{
	if (n < 3) {
		log_error("reload: incomplete message from the master; configuration not reloaded");
		return;
	}
	struct config *cfg = cfg_reload(w->cfg->path, fds[0], false);
	if (cfg == NULL)
		return;
	const char *error;
	struct tls_server *tls = tls_server_new_fds(cfg, fds + 1, n - 1, &error);
	if (tls == NULL) {
		log_error("reload: certificates: %s; configuration not reloaded", error);
		cfg_free(&cfg);
		return;
	}
	apply(w, cfg, tls);
}

static void ctl_cb(uv_poll_t *p, int status, int events)
{
	struct web *w = p->data;
	(void)events;
	if (status < 0)
		return;
	char data[64];
	union {
		char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = data, .iov_len = sizeof(data) };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof(control.buf),
	};
	ssize_t got = recvmsg(w->ctl_fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (got < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (got <= 0) {
		/* The master is gone; its death signal stops us anyway. */
		uv_poll_stop(p);
		return;
	}
	int fds[MAX_FDS];
	size_t n = 0;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm != NULL; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (n < MAX_FDS)
				fds[n++] = fd;
			else
				close(fd);
		}
	}
	if ((msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0 || (size_t)got != sizeof(MAGIC) - 1 ||
	    memcmp(data, MAGIC, sizeof(MAGIC) - 1) != 0)
		log_error("reload: malformed message from the master; ignored");
	else
		on_message(w, fds, n);
	close_fds(fds, n);
}

void web_reload_listen(struct web *w, int ctl_fd)
{
	w->ctl_fd = ctl_fd;
	if (ctl_fd < 0)
		return;
	uv_poll_init(w->loop, &w->ctl_poll, ctl_fd);
	w->ctl_poll.data = w;
	uv_poll_start(&w->ctl_poll, UV_READABLE, ctl_cb);
}

void web_reload_stop(struct web *w)
{
	if (w->ctl_fd < 0)
		return;
	uv_poll_stop(&w->ctl_poll);
	uv_close((uv_handle_t *)&w->ctl_poll, NULL);
}
