/* cmd_web.c — `correu web`: runs only the webmail, possibly on another
 * host than the mail server: loads the configuration and the TLS
 * certificate, binds https_port and http_port on the listen addresses,
 * drops privileges and hands over to web_run(). */
#include "cmd.h"
#include "cfg.h"
#include "log.h"
#include "net.h"
#include "proc.h"
#include "tls.h"
#include "web.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int bind_all(const struct config *cfg, uint64_t port, int **fds, size_t *n)
{
	if (port == 0)
		return 0;
	for (size_t i = 0; i < cfg->listen.n; i++) {
		const char *error;
		int fd = net_listen(cfg->listen.v[i], (uint16_t)port, 128, &error);
		if (fd < 0) {
			fprintf(stderr, "correu web: cannot listen on %s port %u: %s\n",
				cfg->listen.v[i], (unsigned)port, error);
			return -1;
		}
		*fds = realloc(*fds, (*n + 1) * sizeof(**fds));
		if (*fds == NULL)
			log_fatal("out of memory");
		(*fds)[(*n)++] = fd;
	}
	return 0;
}

int cmd_web(const struct cmd_args *a)
{
	if (a->argc != 0) {
		fprintf(stderr, "usage: correu [-c FILE] web\n");
		return 2;
	}
	struct config *cfg = cmd_load_config(a, true);
	if (cfg == NULL)
		return 1;
	log_set_process("web");
	if (cfg->syslog_facility[0] != '\0')
		log_enable_syslog(cfg->syslog_facility);
	if (cfg->https_port == 0) {
		fprintf(stderr, "correu web: https_port is 0, nothing to serve\n");
		cfg_free(&cfg);
		return 1;
	}
	const char *error;
	struct tls_server *tls = tls_server_new(cfg, &error);
	if (tls == NULL) {
		fprintf(stderr, "correu web: TLS: %s\n", error);
		cfg_free(&cfg);
		return 1;
	}
	int *https = NULL, *http = NULL;
	size_t n_https = 0, n_http = 0;
	int status = 1;
	if (bind_all(cfg, cfg->https_port, &https, &n_https) == 0 &&
	    bind_all(cfg, cfg->http_port, &http, &n_http) == 0) {
		proc_drop_privileges(cfg, "web");
		status = web_run(cfg, tls, https, n_https, http, n_http, -1) == 0 ? 0 : 1;
	}
	for (size_t i = 0; i < n_https; i++)
		close(https[i]);
	for (size_t i = 0; i < n_http; i++)
		close(http[i]);
	free(https);
	free(http);
	tls_server_free(&tls);
	cfg_free(&cfg);
	return status;
}
