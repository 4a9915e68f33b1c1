/* cfg.c — configuration file parser. Runs in the master and in every
 * command; the file is trusted (root-owned) but every value is checked. */
#include "cfg.h"
#include "buf.h"
#include "log.h"
#include "net_cidr.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FIELD(cfg, key, type) ((type *)(void *)((char *)(cfg) + (key)->offset))

/* A list whose every entry must be an address or network. The error
 * names the entry, so it lives in a static buffer (the parser runs
 * single-threaded, and the caller copies it at once). */
static int set_networks(struct strv *list, const char *value, bool append,
			const char **error_r)
{
	static char msg[160];
	struct strv v;
	strv_init(&v);
	strv_split_ws(&v, value);
	for (size_t i = 0; i < v.n; i++) {
		struct net_cidr c;
		const char *why;
		if (net_cidr_parse(v.v[i], &c, &why) < 0) {
			snprintf(msg, sizeof(msg), "\"%.60s\": %s (expected an address or "
				 "network such as 192.0.2.0/24 or 2001:db8::/64)", v.v[i], why);
			*error_r = msg;
			strv_free(&v);
			return -1;
		}
	}
	if (!append)
		strv_free(list);
	for (size_t i = 0; i < v.n; i++)
		strv_push(list, v.v[i]);
	strv_free(&v);
	return 0;
}

static int set_value(struct config *cfg, const struct cfg_key *key,
		     const char *value, bool append, const char **error_r)
{
	uint64_t n;
	bool b;

	switch (key->type) {
	case CFG_STR:
	case CFG_PATH:
		free(*FIELD(cfg, key, char *));
		*FIELD(cfg, key, char *) = x_strdup(value);
		return 0;
	case CFG_UINT:
		if (str_to_uint64(value, &n) < 0) {
			*error_r = "expected a number";
			return -1;
		}
		*FIELD(cfg, key, uint64_t) = n;
		return 0;
	case CFG_PORT:
		if (str_to_uint64(value, &n) < 0 || n > 65535) {
			*error_r = "expected a port number 0..65535";
			return -1;
		}
		*FIELD(cfg, key, uint64_t) = n;
		return 0;
	case CFG_SIZE:
		if (str_to_size(value, &n) < 0) {
			*error_r = "expected a size such as 10240, 64k, 50M or 1G";
			return -1;
		}
		*FIELD(cfg, key, uint64_t) = n;
		return 0;
	case CFG_DURATION:
		if (str_to_duration(value, &n) < 0) {
			*error_r = "expected a duration such as 30s, 5m, 2h or 5d";
			return -1;
		}
		*FIELD(cfg, key, uint64_t) = n;
		return 0;
	case CFG_BOOL:
		if (str_to_bool(value, &b) < 0) {
			*error_r = "expected yes or no";
			return -1;
		}
		*FIELD(cfg, key, bool) = b;
		return 0;
	case CFG_LIST:
		if (!append)
			strv_free(FIELD(cfg, key, struct strv));
		strv_split_ws(FIELD(cfg, key, struct strv), value);
		return 0;
	case CFG_LINES:
		if (!append)
			strv_free(FIELD(cfg, key, struct strv));
		if (*value != '\0')
			strv_push(FIELD(cfg, key, struct strv), value);
		return 0;
	case CFG_NETWORKS:
		return set_networks(FIELD(cfg, key, struct strv), value, append, error_r);
	case CFG_ENUM: {
		size_t len = strlen(value);
		const char *c = key->choices;
		while (*c != '\0') {
			const char *end = strchr(c, '|');
			size_t clen = end ? (size_t)(end - c) : strlen(c);
			if (clen == len && strncmp(c, value, len) == 0) {
				free(*FIELD(cfg, key, char *));
				*FIELD(cfg, key, char *) = x_strdup(value);
				return 0;
			}
			c += clen + (end ? 1 : 0);
		}
		*error_r = "not one of the allowed values";
		return -1;
	}
	}
	*error_r = "unknown key type";
	return -1;
}

struct config *cfg_new(void)
{
	struct config *cfg = x_calloc(1, sizeof(*cfg));
	for (size_t i = 0; i < cfg_keys_count; i++) {
		const char *error;
		if (set_value(cfg, &cfg_keys[i], cfg_keys[i].def, false, &error) < 0)
			log_panic("default of %s: %s", cfg_keys[i].name, error);
	}
	char cwd[PATH_MAX];
	cfg->dir = x_strdup(getcwd(cwd, sizeof(cwd)) != NULL ? cwd : "/");
	return cfg;
}

void cfg_free(struct config **cfgp)
{
	struct config *cfg = *cfgp;
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < cfg_keys_count; i++) {
		const struct cfg_key *key = &cfg_keys[i];
		switch (key->type) {
		case CFG_STR:
		case CFG_PATH:
		case CFG_ENUM:
			free(*FIELD(cfg, key, char *));
			break;
		case CFG_LIST:
		case CFG_LINES:
		case CFG_NETWORKS:
			strv_free(FIELD(cfg, key, struct strv));
			break;
		default:
			break;
		}
	}
	free(cfg->path);
	free(cfg->dir);
	free(cfg);
	*cfgp = NULL;
}

char *cfg_path(const struct config *cfg, const char *p)
{
	if (p[0] == '/' || p[0] == '\0')
		return x_strdup(p);
	return x_asprintf("%s/%s", cfg->dir, p);
}

static void add_error(struct strv *errors, const char *file, unsigned line,
		      const char *fmt, ...) ATTR_FORMAT(4, 5);
static void add_error(struct strv *errors, const char *file, unsigned line,
		      const char *fmt, ...)
{
	struct buf msg = BUF_INIT;
	buf_appendf(&msg, "%s:%u: ", file, line);
	va_list ap;
	va_start(ap, fmt);
	buf_vappendf(&msg, fmt, ap);
	va_end(ap);
	strv_push_owned(errors, buf_steal(&msg));
}

/* Reads and closes f, the file at abs; errors name it as path. */
static int read_stream(struct config *cfg, const char *abs, const char *path, FILE *f,
		       struct strv *errors)
{
	size_t errors_before = errors->n;
	free(cfg->path);
	cfg->path = x_strdup(abs);
	free(cfg->dir);
	char *slash = strrchr(cfg->path, '/');
	cfg->dir = slash != NULL && slash != cfg->path ?
		x_strndup(cfg->path, (size_t)(slash - cfg->path)) : x_strdup("/");

	/* List keys start empty the first time a file sets them, so a file
	 * replaces the default instead of appending to it. */
	bool *touched = x_calloc(cfg_keys_count, sizeof(bool));
	char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	ssize_t len;
	while ((len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		if ((size_t)len != strlen(line)) {
			add_error(errors, path, lineno, "NUL byte in line");
			continue;
		}
		char *hash = strchr(line, '#');
		if (hash != NULL)
			*hash = '\0';
		str_trim(line);
		if (line[0] == '\0')
			continue;
		char *eq = strchr(line, '=');
		if (eq == NULL) {
			add_error(errors, path, lineno, "expected \"key = value\", got \"%s\"", line);
			continue;
		}
		*eq = '\0';
		char *name = str_trim(line);
		char *value = str_trim(eq + 1);
		const struct cfg_key *key = cfg_key_find(name);
		if (key == NULL) {
			add_error(errors, path, lineno, "unknown key \"%s\"", name);
			continue;
		}
		size_t idx = (size_t)(key - cfg_keys);
		const char *error;
		if (set_value(cfg, key, value, touched[idx], &error) < 0)
			add_error(errors, path, lineno, "%s: %s", name, error);
		touched[idx] = true;
	}
	free(line);
	free(touched);
	fclose(f);

	for (size_t i = 0; i < cfg_keys_count; i++) {
		const struct cfg_key *key = &cfg_keys[i];
		if (key->type == CFG_PATH && *FIELD(cfg, key, char *)[0] != '\0') {
			char *p = cfg_path(cfg, *FIELD(cfg, key, char *));
			free(*FIELD(cfg, key, char *));
			*FIELD(cfg, key, char *) = p;
		}
	}
	if (cfg->hostname[0] == '\0') {
		char host[256];
		if (gethostname(host, sizeof(host)) == 0) {
			host[sizeof(host) - 1] = '\0';
			free(cfg->hostname);
			cfg->hostname = x_strdup(host);
		}
	}
	return errors->n > errors_before ? -1 : 0;
}

int cfg_read(struct config *cfg, const char *path, struct strv *errors)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		strv_push_owned(errors, x_asprintf("%s: cannot open: %s", path, strerror(errno)));
		return -1;
	}
	char abs[PATH_MAX];
	return read_stream(cfg, realpath(path, abs) != NULL ? abs : path, path, f, errors);
}

int cfg_read_fd(struct config *cfg, const char *path, int fd, struct strv *errors)
{
	int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	FILE *f = copy < 0 ? NULL : fdopen(copy, "r");
	if (f == NULL) {
		strv_push_owned(errors, x_asprintf("%s: cannot read: %s", path, strerror(errno)));
		if (copy >= 0)
			close(copy);
		return -1;
	}
	char *name = x_strdup(path);	/* path may be cfg->path itself */
	int ret = read_stream(cfg, name, name, f, errors);
	free(name);
	return ret;
}

static void check_file(struct strv *errors, const struct config *cfg,
		       const char *key, const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		strv_push_owned(errors, x_asprintf("%s: %s: %s: %s", cfg->path, key,
						   path, strerror(errno)));
}

int cfg_check(const struct config *cfg, struct strv *errors)
{
	size_t before = errors->n;
	bool any_tls = cfg->smtp_port || cfg->submission_port || cfg->submissions_port ||
		cfg->imap_port || cfg->imaps_port || cfg->pop3_port || cfg->pop3s_port ||
		cfg->https_port;
	if (any_tls) {
		check_file(errors, cfg, "tls_cert", cfg->tls_cert);
		check_file(errors, cfg, "tls_key", cfg->tls_key);
	}
	for (size_t i = 0; i < cfg->tls_extra_cert.n; i++) {
		struct strv parts;
		strv_init(&parts);
		strv_split_ws(&parts, cfg->tls_extra_cert.v[i]);
		if (parts.n != 2) {
			strv_push_owned(errors, x_asprintf("%s: tls_extra_cert: expected \"CERTFILE KEYFILE\", got \"%s\"",
							   cfg->path, cfg->tls_extra_cert.v[i]));
		} else {
			for (size_t j = 0; j < 2; j++) {
				char *p = cfg_path(cfg, parts.v[j]);
				check_file(errors, cfg, "tls_extra_cert", p);
				free(p);
			}
		}
		strv_free(&parts);
	}
	if (cfg->listen.n == 0)
		strv_push_owned(errors, x_asprintf("%s: listen: no address given", cfg->path));
	if (cfg->hostname[0] == '\0' || strchr(cfg->hostname, ' ') != NULL)
		strv_push_owned(errors, x_asprintf("%s: hostname: invalid \"%s\"", cfg->path, cfg->hostname));
	if (cfg->message_size_limit < 1024)
		strv_push_owned(errors, x_asprintf("%s: message_size_limit: must be at least 1k", cfg->path));
	if (cfg->smtp_max_recipients < 1)
		strv_push_owned(errors, x_asprintf("%s: smtp_max_recipients: must be at least 1", cfg->path));
	/* Limits where 0 cannot mean "none" (most counts take 0 = no
	 * limit): an unbounded command line is memory for anyone who
	 * connects, and no outbound connection would stop the queue. */
	if (cfg->imap_max_line < 1024)
		strv_push_owned(errors, x_asprintf("%s: imap_max_line: must be at least 1k", cfg->path));
	if (cfg->smtp_out_dest_concurrency < 1)
		strv_push_owned(errors, x_asprintf("%s: smtp_out_dest_concurrency: must be at least 1",
						   cfg->path));
	if (cfg->smtp_out_max_connections < 1)
		strv_push_owned(errors, x_asprintf("%s: smtp_out_max_connections: must be at least 1",
						   cfg->path));
	return errors->n > before ? -1 : 0;
}

struct config *cfg_reload(const char *path, int fd, bool check)
{
	struct config *cfg = cfg_new();
	struct strv errors;
	strv_init(&errors);
	int r = fd >= 0 ? cfg_read_fd(cfg, path, fd, &errors) : cfg_read(cfg, path, &errors);
	if (r == 0 && check)
		r = cfg_check(cfg, &errors);
	if (r < 0) {
		for (size_t i = 0; i < errors.n; i++)
			log_error("reload: %s", errors.v[i]);
		log_error("configuration not reloaded");
		cfg_free(&cfg);
	}
	strv_free(&errors);
	return cfg;
}
