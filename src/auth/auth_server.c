/* auth_server.c — the auth process: its loop, signals (stop, reload),
 * the listening socket and worker connections, and the database handle
 * pool of the thread-pool jobs; requests are in auth_request.c.
 * Runs in the auth process (unprivileged; the only reader of passwd.db).
 * Reads lines from workers (untrusted) and hands them to auth_proto.c. */
#include "auth_server.h"
#include "stopsig.h"
#include "auth_server_private.h"
#include "auth_db.h"
#include "auth_passwd.h"
#include "auth_proto.h"
#include "auth_throttle.h"
#include "fsutil.h"
#include "log.h"
#include "str.h"
#include "xalloc.h"

#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

/* ---- database handle pool (used from pool threads) ---- */

struct auth_handles *auth_server_pool_take(struct auth_server *srv, const char **error_r)
{
	uv_mutex_lock(&srv->pool_lock);
	struct auth_handles *h = srv->pool;
	if (h != NULL)
		srv->pool = h->next;
	uv_mutex_unlock(&srv->pool_lock);
	if (h != NULL)
		return h;
	h = x_calloc(1, sizeof(*h));
	h->db = auth_db_open(srv->base_cfg, false, error_r);
	if (h->db != NULL)
		h->pw = auth_passwd_open(srv->base_cfg, true, error_r);
	if (h->pw == NULL) {
		auth_db_close(&h->db);
		free(h);
		return NULL;
	}
	return h;
}

void auth_server_pool_put(struct auth_server *srv, struct auth_handles *h)
{
	uv_mutex_lock(&srv->pool_lock);
	h->next = srv->pool;
	srv->pool = h;
	uv_mutex_unlock(&srv->pool_lock);
}

static void pool_free(struct auth_server *srv)
{
	while (srv->pool != NULL) {
		struct auth_handles *h = srv->pool;
		srv->pool = h->next;
		auth_db_close(&h->db);
		auth_passwd_close(&h->pw);
		free(h);
	}
}

static void conn_closed(uv_handle_t *h)
{
	struct auth_conn *conn = h->data;
	buf_free(&conn->in);
	free(conn);
}

void auth_conn_close(struct auth_conn *conn)
{
	if (conn->closing)
		return;
	conn->closing = true;
	auth_request_drop_all(conn);
	struct auth_server *srv = conn->srv;
	if (conn->prev != NULL)
		conn->prev->next = conn->next;
	else
		srv->conns = conn->next;
	if (conn->next != NULL)
		conn->next->prev = conn->prev;
	uv_close((uv_handle_t *)&conn->pipe, conn_closed);
}

static void conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	struct auth_conn *conn = h->data;
	(void)suggested;
	b->base = buf_reserve(&conn->in, 4096);
	b->len = 4096;
}

static void conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct auth_conn *conn = s->data;
	(void)b;
	if (nread < 0) {
		auth_conn_close(conn);
		return;
	}
	buf_commit(&conn->in, (size_t)nread);
	for (;;) {
		struct auth_proto_msg msg;
		const char *error = "protocol violation";
		int ret = auth_proto_read(&conn->in, false, &msg, &error);
		if (ret == 0)
			break;
		if (ret > 0) {
			ret = auth_request_handle(conn, &msg);
			auth_proto_msg_free(&msg);
		}
		if (ret < 0) {
			log_error("auth socket: %s; closing the connection", error);
			auth_conn_close(conn);
			return;
		}
		if (conn->closing)
			return;
	}
	buf_shrink_idle(&conn->in, 16384);
}

static void on_connection(uv_stream_t *listener, int status)
{
	struct auth_server *srv = listener->data;
	if (status < 0) {
		log_warn("auth socket accept: %s", uv_strerror(status));
		return;
	}
	struct auth_conn *conn = x_calloc(1, sizeof(*conn));
	conn->srv = srv;
	uv_pipe_init(&srv->loop, &conn->pipe, 0);
	conn->pipe.data = conn;
	if (uv_accept(listener, (uv_stream_t *)&conn->pipe) < 0) {
		uv_close((uv_handle_t *)&conn->pipe, conn_closed);
		return;
	}
	conn->next = srv->conns;
	if (srv->conns != NULL)
		srv->conns->prev = conn;
	srv->conns = conn;
	uv_read_start((uv_stream_t *)&conn->pipe, conn_alloc, conn_read);
}

/* ---- process ---- */

char *auth_server_socket_path(const struct config *cfg)
{
	return x_asprintf("%s/run/auth.sock", cfg->data_dir);
}

static int make_dummy_hash(struct auth_server *srv)
{
	unsigned char rnd[16];
	char pw[33];
	const char *error;
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(pw, sizeof(pw), rnd, sizeof(rnd));
	char *hash;
	if (auth_passwd_hash(srv->cfg->password_scheme, pw, &hash, &error) < 0) {
		log_error("cannot hash with %s: %s", srv->cfg->password_scheme, error);
		return -1;
	}
	free(srv->dummy_hash);
	srv->dummy_hash = hash;
	return 0;
}

static void apply_config(struct auth_server *srv)
{
	struct auth_throttle_settings set;
	auth_throttle_settings_from_config(srv->cfg, &set);
	auth_throttle_configure(srv->throttle, &set);
	enum log_level level;
	if (log_level_parse(srv->cfg->log_level, &level) == 0)
		log_set_level(level);
}

static void on_sighup(uv_signal_t *sig, int signum)
{
	struct auth_server *srv = sig->data;
	(void)signum;
	struct config *cfg = cfg_reload(srv->base_cfg->path, -1, false);
	if (cfg == NULL)
		return;
	bool scheme_changed = strcmp(cfg->password_scheme, srv->cfg->password_scheme) != 0;
	if (strcmp(cfg->data_dir, srv->base_cfg->data_dir) != 0)
		log_warn("data_dir changed; restart to use it");
	srv->cfg = cfg;
	cfg_free(&srv->reloaded);
	srv->reloaded = cfg;
	if (scheme_changed)
		(void)make_dummy_hash(srv);
	apply_config(srv);
	log_info("configuration reloaded");
}

static void handle_closed(uv_handle_t *h)
{
	(void)h;
}

static void close_any(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, handle_closed);
}

static void on_stop(uv_signal_t *sig, int signum)
{
	struct auth_server *srv = sig->data;
	(void)signum;
	if (srv->stopping)
		return;
	srv->stopping = true;
	log_info("stopping");
	uv_close((uv_handle_t *)&srv->listener, handle_closed);
	uv_close((uv_handle_t *)&srv->sig_term, handle_closed);
	uv_close((uv_handle_t *)&srv->sig_int, handle_closed);
	uv_close((uv_handle_t *)&srv->sig_hup, handle_closed);
	while (srv->conns != NULL)
		auth_conn_close(srv->conns);
	unlink(srv->socket_path);
}

static int listen_socket(struct auth_server *srv)
{
	struct sockaddr_un sun;
	char *dir = x_asprintf("%s/run", srv->base_cfg->data_dir);
	int ret = mkdir_p(dir, 0750);
	free(dir);
	if (ret < 0) {
		log_error("cannot create %s/run: %s", srv->base_cfg->data_dir, strerror(errno));
		return -1;
	}
	if (strlen(srv->socket_path) >= sizeof(sun.sun_path)) {
		log_error("socket path %s is too long for a unix socket", srv->socket_path);
		return -1;
	}
	uv_pipe_init(&srv->loop, &srv->listener, 0);
	srv->listener.data = srv;
	(void)unlink(srv->socket_path);
	/* Nobody but our own user may connect, from creation on. */
	mode_t old = umask(0117);
	int rc = uv_pipe_bind(&srv->listener, srv->socket_path);
	umask(old);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&srv->listener, 128, on_connection);
	if (rc < 0) {
		log_error("cannot listen on %s: %s", srv->socket_path, uv_strerror(rc));
		uv_close((uv_handle_t *)&srv->listener, handle_closed);
		return -1;
	}
	return 0;
}

static int server_init(struct auth_server *srv, const struct config *cfg)
{
	srv->base_cfg = srv->cfg = cfg;
	srv->socket_path = auth_server_socket_path(cfg);
	if (sodium_init() < 0) {
		log_error("libsodium initialisation failed");
		return -1;
	}
	struct auth_throttle_settings set;
	auth_throttle_settings_from_config(cfg, &set);
	srv->throttle = auth_throttle_new(&set, NULL, NULL);
	apply_config(srv);
	if (make_dummy_hash(srv) < 0)
		return -1;
	const char *error;
	struct auth_handles *h = auth_server_pool_take(srv, &error);
	if (h == NULL) {
		log_error("%s", error);
		return -1;
	}
	if (auth_passwd_secret(h->pw, srv->secret) < 0) {
		log_warn("cannot keep a SCRAM secret in passwd.db; using a temporary one");
		randombytes_buf(srv->secret, sizeof(srv->secret));
	}
	auth_server_pool_put(srv, h);
	return 0;
}

int auth_server_run(const struct config *cfg)
{
	struct auth_server srv;
	memset(&srv, 0, sizeof(srv));
	log_set_process("auth");
	if (uv_loop_init(&srv.loop) < 0)
		return -1;
	uv_mutex_init(&srv.pool_lock);
	int status = -1;
	if (server_init(&srv, cfg) < 0 || listen_socket(&srv) < 0)
		goto out;
	uv_signal_init(&srv.loop, &srv.sig_term);
	uv_signal_init(&srv.loop, &srv.sig_int);
	uv_signal_init(&srv.loop, &srv.sig_hup);
	srv.sig_term.data = srv.sig_int.data = srv.sig_hup.data = &srv;
	uv_signal_start(&srv.sig_term, on_stop, SIGTERM);
	uv_signal_start(&srv.sig_int, on_stop, SIGINT);
	uv_signal_start(&srv.sig_hup, on_sighup, SIGHUP);
	stopsig_release();
	log_info("listening on %s", srv.socket_path);
	uv_run(&srv.loop, UV_RUN_DEFAULT);
	status = 0;
out:
	/* Close whatever is left (only on a failed start) and drain. */
	if (!srv.stopping && status < 0)
		uv_walk(&srv.loop, close_any, NULL);
	uv_run(&srv.loop, UV_RUN_DEFAULT);
	uv_loop_close(&srv.loop);
	pool_free(&srv);
	uv_mutex_destroy(&srv.pool_lock);
	auth_throttle_free(&srv.throttle);
	cfg_free(&srv.reloaded);
	free(srv.dummy_hash);
	free(srv.socket_path);
	sodium_memzero(srv.secret, sizeof(srv.secret));
	return status;
}
