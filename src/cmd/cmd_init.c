/* cmd_init.c — `correu init DIR`: writes a working configuration, a
 * self-signed certificate, the data directories and the accounts
 * database; as root, also creates the unprivileged system users (the
 * server's, the auth process's and the webmail's) and gives the first two
 * the data directory.
 * Runs as the administrator; parses only its arguments. */
#include "cmd.h"
#include "auth_db.h"
#include "cfg.h"
#include "fsutil.h"
#include "log.h"
#include "str.h"
#include "tls_selfsigned.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct init_opts {
	const char *dir;
	const char *domain;
	const char *hostname;
	const char *user;
	long port_base;		/* -1 = standard ports */
	struct strv listen;
	struct strv extra;	/* "key = value" lines added by options */
	bool force;
};

static const struct {
	const char *key;
	unsigned port;
} std_ports[] = {
	{ "smtp_port", 25 }, { "submission_port", 587 }, { "submissions_port", 465 },
	{ "imap_port", 143 }, { "imaps_port", 993 }, { "pop3_port", 110 },
	{ "pop3s_port", 995 }, { "https_port", 443 }, { "http_port", 80 },
};

static int usage(void)
{
	fprintf(stderr, "usage: correu init DIR [--domain D] [--hostname H] [--port-base N] "
		"[--listen ADDR]... [--user NAME] [--dns ADDR@PORT] [--smtp-out-port N] "
		"[--set KEY=VALUE]... [--force]\n");
	return 2;
}

static int parse_opts(const struct cmd_args *a, struct init_opts *o)
{
	for (int i = 0; i < a->argc; i++) {
		const char *arg = a->argv[i];
		const char *val = i + 1 < a->argc ? a->argv[i + 1] : NULL;
		if (strcmp(arg, "--force") == 0) {
			o->force = true;
			continue;
		}
		if (arg[0] != '-') {
			if (o->dir != NULL)
				return -1;
			o->dir = arg;
			continue;
		}
		if (val == NULL)
			return -1;
		i++;
		if (strcmp(arg, "--domain") == 0)
			o->domain = val;
		else if (strcmp(arg, "--hostname") == 0)
			o->hostname = val;
		else if (strcmp(arg, "--user") == 0)
			o->user = val;
		else if (strcmp(arg, "--listen") == 0)
			strv_push(&o->listen, val);
		else if (strcmp(arg, "--dns") == 0)
			/* The resolver for outbound mail (tests: a local unbound). */
			strv_push_owned(&o->extra, x_asprintf("dns_resolver = %s", val));
		else if (strcmp(arg, "--smtp-out-port") == 0) {
			uint64_t n;
			if (str_to_uint64(val, &n) < 0 || n == 0 || n > 65535) {
				fprintf(stderr, "correu init: --smtp-out-port must be 1..65535\n");
				return -1;
			}
			strv_push_owned(&o->extra, x_asprintf("smtp_out_port = %llu",
							      (unsigned long long)n));
		}
		else if (strcmp(arg, "--set") == 0 && strchr(val, '=') != NULL) {
			char *k = x_strndup(val, (size_t)(strchr(val, '=') - val));
			strv_push_owned(&o->extra, x_asprintf("%s = %s", str_trim(k), strchr(val, '=') + 1));
			free(k);
		} else if (strcmp(arg, "--port-base") == 0) {
			uint64_t n;
			if (str_to_uint64(val, &n) < 0 || n > 64500) {
				fprintf(stderr, "correu init: --port-base must be 0..64500\n");
				return -1;
			}
			o->port_base = (long)n;
		} else {
			return -1;
		}
	}
	return o->dir != NULL ? 0 : -1;
}

/* Creates the system user with useradd(8) if it does not exist. */
static int ensure_system_user(const char *user, const char *home, const char *comment)
{
	if (getpwnam(user) != NULL)
		return 0;
	pid_t pid = fork();
	if (pid == 0) {
		execlp("useradd", "useradd", "--system", "--user-group", "--no-create-home",
		       "--home-dir", home, "--shell", "/usr/sbin/nologin",
		       "--comment", comment, user, (char *)NULL);
		_exit(127);
	}
	int status;
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		fprintf(stderr, "correu init: could not create system user \"%s\" with useradd\n", user);
		return -1;
	}
	printf("created system user %s\n", user);
	return 0;
}

/* Creates the auth process's user, in the group of the main user, if
 * it does not exist. */
static int ensure_auth_user(const char *user, const char *group, const char *home)
{
	if (getpwnam(user) != NULL)
		return 0;
	pid_t pid = fork();
	if (pid == 0) {
		execlp("useradd", "useradd", "--system", "--no-user-group", "--gid", group,
		       "--no-create-home", "--home-dir", home, "--shell", "/usr/sbin/nologin",
		       "--comment", "correu auth process", user, (char *)NULL);
		_exit(127);
	}
	int status;
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		fprintf(stderr, "correu init: could not create system user \"%s\" with useradd\n",
			user);
		return -1;
	}
	printf("created system user %s\n", user);
	return 0;
}

/* As root: the data directory belongs to the main user; data/auth (the
 * password database) to the auth user alone; the auth process, in the
 * main user's group, may create SQLite's files beside accounts.db; other
 * users may only pass through, to the pickup socket (data/public). */
static int give_data_dir(const struct config *cfg, const char *data)
{
	struct passwd *pw = getpwnam(cfg->user);
	if (pw == NULL || chown_tree(data, pw->pw_uid, pw->pw_gid) < 0)
		return -1;
	gid_t gid = pw->pw_gid;
	uid_t auth_uid = pw->pw_uid;
	if (cfg->auth_user[0] != '\0') {
		struct passwd *apw = getpwnam(cfg->auth_user);
		if (apw == NULL)
			return -1;
		auth_uid = apw->pw_uid;
	}
	char *auth = x_asprintf("%s/auth", data);
	char *accounts = x_asprintf("%s/accounts.db", data);
	int ret = 0;
	if (mkdir_p(auth, 0700) < 0 || chmod(auth, 0700) < 0 ||
	    chown_tree(auth, auth_uid, gid) < 0 || chmod(data, 0771) < 0 ||
	    (chmod(accounts, 0660) < 0 && errno != ENOENT))
		ret = -1;
	free(auth);
	free(accounts);
	return ret;
}

static int write_config(const char *path, const struct init_opts *o)
{
	struct buf b = BUF_INIT;
	buf_appendf(&b, "# correu configuration, written by `correu init`.\n"
		    "# Every key is described in docs/configuration.md; unset keys keep\n"
		    "# their defaults. Relative paths are relative to this file.\n\n");
	buf_appendf(&b, "hostname = %s\n", o->hostname);
	buf_appendf(&b, "data_dir = data\n");
	buf_appendf(&b, "user = %s\n", o->user);
	buf_appendf(&b, "log_level = info\n\n");
	buf_appendf(&b, "tls_cert = tls/cert.pem\ntls_key = tls/key.pem\n\n");
	buf_appendf(&b, "# Addresses every listener binds.\n");
	if (o->listen.n > 0) {
		buf_appendf(&b, "listen =");
		for (size_t i = 0; i < o->listen.n; i++)
			buf_appendf(&b, " %s", o->listen.v[i]);
		buf_appendf(&b, "\n");
	} else {
		buf_appendf(&b, "listen = * ::\n");
	}
	for (size_t i = 0; i < N_ELEMENTS(std_ports); i++)
		buf_appendf(&b, "%s = %ld\n", std_ports[i].key,
			    o->port_base >= 0 ? o->port_base + (long)std_ports[i].port :
			    (long)std_ports[i].port);
	if (o->extra.n > 0) {
		buf_appendf(&b, "\n");
		for (size_t i = 0; i < o->extra.n; i++)
			buf_appendf(&b, "%s\n", o->extra.v[i]);
	}
	int ret = write_file_durable(path, b.data, b.len, 0644);
	buf_free(&b);
	return ret;
}

int cmd_init(const struct cmd_args *a)
{
	struct init_opts o = { .port_base = -1, .user = "correu" };
	strv_init(&o.listen);
	strv_init(&o.extra);
	int status = 1;
	char host[256];
	char *domain_buf = NULL;
	if (parse_opts(a, &o) < 0) {
		strv_free(&o.listen);
		strv_free(&o.extra);
		return usage();
	}
	if (o.hostname == NULL) {
		if (gethostname(host, sizeof(host)) < 0)
			strcpy(host, "localhost");
		host[sizeof(host) - 1] = '\0';
		o.hostname = host;
	}
	if (o.domain == NULL) {
		const char *dot = strchr(o.hostname, '.');
		o.domain = dot != NULL && dot[1] != '\0' ? dot + 1 : o.hostname;
	}
	domain_buf = str_lower(x_strdup(o.domain));

	char *conf = x_asprintf("%s/correu.conf", o.dir);
	char *tls = x_asprintf("%s/tls", o.dir);
	char *cert = x_asprintf("%s/cert.pem", tls);
	char *key = x_asprintf("%s/key.pem", tls);
	char *data = x_asprintf("%s/data", o.dir);
	struct config *cfg = NULL;
	struct auth_db *db = NULL;
	const char *error;

	if (access(conf, F_OK) == 0 && !o.force) {
		fprintf(stderr, "correu init: %s exists; use --force to overwrite\n", conf);
		goto out;
	}
	if (mkdir_p(o.dir, 0755) < 0 || mkdir_p(tls, 0755) < 0 || mkdir_p(data, 0750) < 0) {
		fprintf(stderr, "correu init: cannot create %s: %s\n", o.dir, strerror(errno));
		goto out;
	}
	if (geteuid() == 0 && ensure_system_user(o.user, data, "correu mail server") < 0)
		goto out;
	/* 824 days (+ the hour of clock skew allowed before now): within
	 * the 825 days TLS scanners (testssl.sh) accept without a finding;
	 * a ten-year certificate rates HIGH. */
	if (tls_selfsigned_create(cert, key, o.hostname, 824, &error) < 0) {
		fprintf(stderr, "correu init: %s\n", error);
		goto out;
	}
	if (write_config(conf, &o) < 0) {
		fprintf(stderr, "correu init: cannot write %s: %s\n", conf, strerror(errno));
		goto out;
	}
	struct cmd_args ca = { conf, 0, NULL };
	cfg = cmd_load_config(&ca, false);
	if (cfg == NULL)
		goto out;
	db = auth_db_open(cfg, true, &error);
	if (db == NULL) {
		fprintf(stderr, "correu init: %s\n", error);
		goto out;
	}
	if (!auth_db_domain_exists(db, domain_buf) &&
	    auth_db_domain_add(db, domain_buf, &error) < 0) {
		fprintf(stderr, "correu init: domain %s: %s\n", domain_buf, error);
		goto out;
	}
	auth_db_close(&db);
	if (geteuid() == 0) {
		if (cfg->web_user[0] != '\0' && ensure_system_user(cfg->web_user, "/nonexistent",
								   "correu webmail") < 0)
			goto out;
		if (cfg->auth_user[0] != '\0' && strcmp(cfg->auth_user, cfg->user) != 0) {
			char *home = x_asprintf("%s/auth", data);
			int ret = ensure_auth_user(cfg->auth_user, cfg->user, home);
			free(home);
			if (ret < 0)
				goto out;
		}
		if (give_data_dir(cfg, data) < 0) {
			fprintf(stderr, "correu init: cannot give %s to %s and %s/auth to %s\n",
				data, cfg->user, data, cfg->auth_user);
			goto out;
		}
	}
	printf("wrote %s\n  certificate %s (self-signed for %s)\n  data in %s\n  domain %s\n",
	       conf, cert, o.hostname, data, domain_buf);
	printf("next: correu -c %s user add USER@%s --password-stdin\n", conf, domain_buf);
	status = 0;
out:
	auth_db_close(&db);
	cfg_free(&cfg);
	free(conf);
	free(tls);
	free(cert);
	free(key);
	free(data);
	free(domain_buf);
	strv_free(&o.listen);
	strv_free(&o.extra);
	return status;
}
