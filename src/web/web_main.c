/* web_main.c — web_run(): the webmail process's loop, signals (SIGTERM
 * stops, SIGHUP reloads when standalone), the session sweep timer and
 * the settings derived from the configuration. Runs in the web process
 * (the master's "web" child or `correu web`). */
#include "web.h"
#include "stopsig.h"
#include "web_private.h"
#include "auth_throttle.h"
#include "log.h"
#include "tls.h"
#include "xalloc.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SWEEP_MS (25 * 1000)

static char *default_static_dir(void)
{
	/* Running from the build tree: the sources' web/; installed: the
	 * data directory. */
	static const char *const dirs[] = { CORREU_WEB_SRC_DIR, CORREU_WEB_INSTALL_DIR };
	for (size_t i = 0; i < N_ELEMENTS(dirs); i++) {
		char *index = x_asprintf("%s/index.html", dirs[i]);
		bool ok = access(index, R_OK) == 0;
		free(index);
		if (ok)
			return x_strdup(dirs[i]);
	}
	return x_strdup(CORREU_WEB_INSTALL_DIR);
}

void web_apply_config(struct web *w)
{
	const struct config *cfg = w->cfg;
	free(w->static_dir);
	w->static_dir = cfg->web_static_dir != NULL && cfg->web_static_dir[0] != '\0' ?
		x_strdup(cfg->web_static_dir) : default_static_dir();
	w->session_timeout_ms = cfg->web_session_timeout * 1000;
	if (w->session_timeout_ms == 0)
		w->session_timeout_ms = 30 * 60 * 1000;
	/* Uploads are raw bytes; JSON bodies are small. */
	w->max_body = cfg->message_size_limit + 1024 * 1024;
	w->https_port = (uint16_t)cfg->https_port;
	enum log_level level;
	if (log_level_parse(cfg->log_level, &level) == 0)
		log_set_level(level);
	struct auth_throttle_settings set;
	auth_throttle_settings_from_config(cfg, &set);
	if (w->throttle == NULL)
		w->throttle = auth_throttle_new(&set, NULL, NULL);
	else
		auth_throttle_configure(w->throttle, &set);
}

static int init_upstreams(struct web *w, const char **error_r)
{
	const struct config *cfg = w->cfg;
	uint16_t iport = (uint16_t)(cfg->web_imap_port != 0 ? cfg->web_imap_port : cfg->imaps_port);
	uint16_t sport = (uint16_t)(cfg->web_smtp_port != 0 ? cfg->web_smtp_port :
				    cfg->submissions_port);
	web_upstream_init(&w->imap_up, cfg->web_imap_host, iport);
	web_upstream_init(&w->smtp_up, cfg->web_smtp_host, sport);
	if (web_reload_upstream_tls(w, cfg, w->tls, error_r) < 0) {
		web_upstream_free(&w->imap_up);
		web_upstream_free(&w->smtp_up);
		return -1;
	}
	return 0;
}

static void on_stop(uv_signal_t *s, int signum)
{
	struct web *w = s->data;
	if (w->stopping)
		return;
	log_info("stopping (signal %d)", signum);
	w->stopping = true;
	web_server_stop(w);
	web_sessions_free(w);
	uv_timer_stop(&w->sweep);
	uv_close((uv_handle_t *)&w->sweep, NULL);
	uv_close((uv_handle_t *)&w->sig_term, NULL);
	uv_close((uv_handle_t *)&w->sig_int, NULL);
	uv_close((uv_handle_t *)&w->sig_hup, NULL);
	web_reload_stop(w);
}

static void on_hup(uv_signal_t *s, int signum)
{
	struct web *w = s->data;
	(void)signum;
	if (w->ctl_fd >= 0) {
		/* The master hands reloads over with the files it opened. */
		log_info("SIGHUP ignored: reload correu serve instead (SIGHUP to its master)");
		return;
	}
	web_reload_files(w);
}

static void on_sweep(uv_timer_t *t)
{
	web_sessions_sweep(t->data);
	web_reload_sweep(t->data, false);
}

int web_run(const struct config *cfg, struct tls_server *tls, const int *https_fds,
	    size_t n_https, const int *http_fds, size_t n_http, int ctl_fd)
{
	struct web w;
	memset(&w, 0, sizeof(w));
	/* A loop of our own: a forked child must not share the master's. */
	w.loop = x_malloc(sizeof(*w.loop));
	if (uv_loop_init(w.loop) != 0) {
		log_error("cannot create the event loop");
		free(w.loop);
		return -1;
	}
	w.tls = tls;
	w.cfg = cfg;
	w.ctl_fd = -1;
	const char *error;
	if (init_upstreams(&w, &error) < 0) {
		log_error("%s", error);
		uv_loop_close(w.loop);
		free(w.loop);
		return -1;
	}
	web_apply_config(&w);
	web_sessions_init(&w);
	web_reload_listen(&w, ctl_fd);
	for (size_t i = 0; i < n_https; i++)
		if (web_server_listen(&w, https_fds[i], false) < 0)
			log_fatal("cannot watch listening socket %d", https_fds[i]);
	for (size_t i = 0; i < n_http; i++)
		if (web_server_listen(&w, http_fds[i], true) < 0)
			log_fatal("cannot watch listening socket %d", http_fds[i]);
	uv_signal_init(w.loop, &w.sig_term);
	uv_signal_init(w.loop, &w.sig_int);
	uv_signal_init(w.loop, &w.sig_hup);
	w.sig_term.data = w.sig_int.data = w.sig_hup.data = &w;
	uv_signal_start(&w.sig_term, on_stop, SIGTERM);
	uv_signal_start(&w.sig_int, on_stop, SIGINT);
	uv_signal_start(&w.sig_hup, on_hup, SIGHUP);
	stopsig_release();
	uv_timer_init(w.loop, &w.sweep);
	w.sweep.data = &w;
	uv_timer_start(&w.sweep, on_sweep, SWEEP_MS, SWEEP_MS);
	log_info("webmail ready (%zu HTTPS, %zu HTTP listeners; IMAP %s:%u, submission %s:%u, "
		 "certificate checked %s%s%s; front end in %s)", n_https, n_http, w.imap_up.host,
		 w.imap_up.port, w.smtp_up.host, w.smtp_up.port,
		 w.imap_up.pinned ? "against tls_cert (pinned)" : "against web_ca_file",
		 w.imap_up.tls_name != NULL ? " for " : "",
		 w.imap_up.tls_name != NULL ? w.imap_up.tls_name : "", w.static_dir);
	uv_run(w.loop, UV_RUN_DEFAULT);
	/* Handles still open (unreferenced helpers of src/tls) keep the loop;
	 * the process ends right after this anyway. */
	if (uv_loop_close(w.loop) == 0)
		free(w.loop);
	web_upstream_free(&w.imap_up);
	web_upstream_free(&w.smtp_up);
	auth_throttle_free(&w.throttle);
	web_reload_sweep(&w, true);
	tls_server_free(&w.tls_owned);
	if (ctl_fd >= 0)
		close(ctl_fd);
	free(w.static_dir);
	cfg_free(&w.cfg_owned);
	return 0;
}
