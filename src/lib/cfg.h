/* cfg.h — the configuration file: one "key = value" per line, '#'
 * comments. Every key is listed once in cfg_keys.c with its type, default
 * and description; docs/configuration.md documents the same keys (a test
 * checks they agree). Unknown keys and bad values are errors with
 * file:line. Relative paths are resolved against the file's directory. */
#ifndef CORREU_CFG_H
#define CORREU_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "str.h"

struct config {
	char *path;		/* absolute path of the file read */
	char *dir;		/* its directory */

	/* general */
	char *hostname;
	char *data_dir;
	char *user;
	char *auth_user;
	char *web_user;
	bool sandbox;
	char *log_level;
	char *syslog_facility;
	uint64_t workers;

	/* listeners */
	struct strv listen;
	uint64_t smtp_port, submission_port, submissions_port;
	uint64_t imap_port, imaps_port, pop3_port, pop3s_port;
	uint64_t https_port, http_port;
	uint64_t max_connections;
	uint64_t max_connections_per_ip;
	struct strv trusted_proxies;	/* addresses or CIDR networks (net_cidr.h) */

	/* TLS */
	char *tls_cert;
	char *tls_key;
	struct strv tls_extra_cert;	/* "CERTFILE KEYFILE" per entry */
	char *tls_ciphers;
	char *tls_ciphersuites;

	/* authentication */
	bool auth_allow_plaintext;
	char *password_scheme;
	uint64_t auth_fail_delay_max;
	uint64_t auth_fail_block_after;
	uint64_t auth_fail_block_time;
	char *recipient_delimiter;

	/* SMTP */
	uint64_t message_size_limit;
	uint64_t smtp_max_recipients;
	uint64_t smtp_max_commands;
	uint64_t smtp_max_errors;
	uint64_t smtp_timeout;
	uint64_t smtp_data_timeout;
	char *smtp_bare_newline;
	uint64_t smtp_line_length_limit;
	char *smtp_banner;

	/* IMAP */
	uint64_t imap_timeout;
	uint64_t imap_login_timeout;
	uint64_t imap_max_line;
	uint64_t imap_max_errors;
	uint64_t imap_max_user_connections;

	/* POP3 */
	uint64_t pop3_timeout;
	uint64_t pop3_max_commands;
	uint64_t pop3_max_errors;

	/* outbound delivery and queue */
	char *dns_resolver;
	char *dns_trust_anchor;
	uint64_t smtp_out_port;
	char *smtp_out_tls;
	struct strv smtp_out_tls_policy;
	char *smtp_out_ca_file;
	uint64_t smtp_out_connect_timeout;
	uint64_t smtp_out_timeout;
	uint64_t smtp_out_dest_concurrency;
	uint64_t smtp_out_max_connections;
	uint64_t smtp_out_idle_time;
	uint64_t queue_retry_min;
	uint64_t queue_retry_max;
	uint64_t queue_lifetime;
	uint64_t queue_delay_warning;

	/* submission */
	uint64_t submission_max_messages_per_hour;
	uint64_t submission_max_recipients;
	struct strv submission_senders;

	/* webmail */
	bool web_enabled;
	char *web_imap_host;
	uint64_t web_imap_port;
	char *web_smtp_host;
	uint64_t web_smtp_port;
	char *web_ca_file;
	uint64_t web_session_timeout;
	char *web_static_dir;
};

/* Allocates a config with every key at its default. */
struct config *cfg_new(void);
void cfg_free(struct config **cfg);
/* Reads path into cfg. Each problem found is appended to errors as
 * "file:line: message"; returns -1 if there was any. */
int cfg_read(struct config *cfg, const char *path, struct strv *errors);
/* The same from fd, an open descriptor of the file named path (absolute;
 * relative paths in it are resolved against its directory). Reads from
 * the current offset and leaves fd open. For a process that may not
 * open the file itself (the web process, given it by the master). */
int cfg_read_fd(struct config *cfg, const char *path, int fd, struct strv *errors);
/* Checks cross-key constraints and that referenced files exist. */
int cfg_check(const struct config *cfg, struct strv *errors);
/* For a reload (SIGHUP) in a child process: reads path (from fd when
 * fd >= 0), checks it too when check is set; on any problem logs each
 * as "reload: ..." and "configuration not reloaded" and returns NULL. */
struct config *cfg_reload(const char *path, int fd, bool check);
/* Resolves p against the configuration directory; caller frees. */
char *cfg_path(const struct config *cfg, const char *p);

enum cfg_type {
	CFG_STR,	/* free text */
	CFG_PATH,	/* a path, relative to the file's directory */
	CFG_UINT,	/* decimal number */
	CFG_PORT,	/* 0..65535, 0 disables the listener */
	CFG_SIZE,	/* bytes with optional k/M/G */
	CFG_DURATION,	/* seconds with optional s/m/h/d */
	CFG_BOOL,	/* yes/no */
	CFG_LIST,	/* space-separated; repeated lines append */
	CFG_LINES,	/* one entry per line; repeated lines append */
	CFG_NETWORKS,	/* like CFG_LIST, each an IP address or CIDR network */
	CFG_ENUM,	/* one of the '|'-separated choices */
};

struct cfg_key {
	const char *name;
	enum cfg_type type;
	size_t offset;
	const char *def;	/* default as written in a file ("" = empty) */
	const char *choices;	/* CFG_ENUM only */
	const char *doc;
};

extern const struct cfg_key cfg_keys[];
extern const size_t cfg_keys_count;
const struct cfg_key *cfg_key_find(const char *name);

#endif
