/* cfg_keys.c — the table of every configuration key: type, default,
 * one-line description. docs/configuration.md must list the same keys. */
#include "cfg.h"

#include <stddef.h>
#include <string.h>

#define K(name, type, def, doc) { #name, type, offsetof(struct config, name), def, NULL, doc }
#define E(name, choices, def, doc) { #name, CFG_ENUM, offsetof(struct config, name), def, choices, doc }

const struct cfg_key cfg_keys[] = {
	K(hostname, CFG_STR, "", "name announced in greetings and Received: headers; empty = the machine's host name"),
	K(data_dir, CFG_PATH, "data", "directory holding accounts, mail, queue and runtime sockets"),
	K(user, CFG_STR, "correu", "unprivileged system user the server drops to when started as root"),
	K(auth_user, CFG_STR, "correu-auth", "system user of the auth process, the only one that can read password hashes (when started as root); empty = the same as user"),
	K(web_user, CFG_STR, "correu-web", "system user of the webmail process, which cannot read mail, accounts or keys on disk (when started as root); empty = the same as user"),
	K(sandbox, CFG_BOOL, "yes", "child processes confine themselves (seccomp system-call allow-list, no core dumps); no = off, for debugging"),
	E(log_level, "debug|info|warn|error", "info", "least severe level that is logged"),
	K(syslog_facility, CFG_STR, "", "also log to syslog with this facility (mail, daemon, local0..local7); empty = stderr only"),
	K(workers, CFG_UINT, "0", "number of worker processes; 0 = one per CPU"),

	K(listen, CFG_LIST, "* ::", "addresses every listener binds; * = all IPv4, :: = all IPv6"),
	K(smtp_port, CFG_PORT, "25", "SMTP (MX) port with STARTTLS; 0 disables"),
	K(submission_port, CFG_PORT, "587", "submission port with STARTTLS; 0 disables"),
	K(submissions_port, CFG_PORT, "465", "submission port with implicit TLS; 0 disables"),
	K(imap_port, CFG_PORT, "143", "IMAP port with STARTTLS; 0 disables"),
	K(imaps_port, CFG_PORT, "993", "IMAP port with implicit TLS; 0 disables"),
	K(pop3_port, CFG_PORT, "110", "POP3 port with STLS; 0 disables"),
	K(pop3s_port, CFG_PORT, "995", "POP3 port with implicit TLS; 0 disables"),
	K(https_port, CFG_PORT, "443", "webmail HTTPS port; 0 disables"),
	K(http_port, CFG_PORT, "80", "plain HTTP port that only redirects to HTTPS; 0 disables"),
	K(max_connections, CFG_UINT, "5000", "connections at once per protocol (across all workers); 0 = no limit"),
	K(max_connections_per_ip, CFG_UINT, "50", "connections at once per client IP address and protocol; 0 = no limit"),
	K(trusted_proxies, CFG_NETWORKS, "", "addresses and networks (192.0.2.7, 192.0.2.0/24, 2001:db8::/64) of proxies such as a `correu web` on another host: their IMAP ID x-originating-ip is believed (the auth throttle counts that address) and they are exempt from max_connections_per_ip"),

	K(tls_cert, CFG_PATH, "tls/cert.pem", "default certificate chain (PEM)"),
	K(tls_key, CFG_PATH, "tls/key.pem", "private key of tls_cert (PEM)"),
	K(tls_extra_cert, CFG_LINES, "", "\"CERTFILE KEYFILE\": another certificate, chosen when the client's SNI matches one of its names; repeatable"),
	K(tls_ciphers, CFG_STR, "ECDHE+AESGCM:ECDHE+CHACHA20", "OpenSSL cipher list for TLS 1.2"),
	K(tls_ciphersuites, CFG_STR, "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256", "OpenSSL TLS 1.3 cipher suites"),

	K(auth_allow_plaintext, CFG_BOOL, "no", "allow authentication without TLS (tests only)"),
	E(password_scheme, "yescrypt|sha512-crypt|bcrypt|argon2id", "yescrypt", "hash scheme for new passwords"),
	K(auth_fail_delay_max, CFG_DURATION, "15s", "longest delay added to a failed authentication"),
	K(auth_fail_block_after, CFG_UINT, "10", "failures per IP or account within auth_fail_block_time before further attempts are refused; 0 = never block (the delays stay)"),
	K(auth_fail_block_time, CFG_DURATION, "15m", "window and length of an authentication block"),
	K(recipient_delimiter, CFG_STR, "+", "separates a local part from its extension (user+tag@domain delivers to user); empty disables; only the first character counts"),

	K(message_size_limit, CFG_SIZE, "50M", "largest message accepted (SIZE); at least 1k"),
	K(smtp_max_recipients, CFG_UINT, "1000", "recipients per message; at least 1"),
	K(smtp_max_commands, CFG_UINT, "10000", "commands per SMTP session; 0 = no limit"),
	K(smtp_max_errors, CFG_UINT, "20", "errors per SMTP session before 421 and disconnect; 0 = no limit"),
	K(smtp_timeout, CFG_DURATION, "5m", "SMTP server wait for the next command (RFC 5321 4.5.3.2.7)"),
	K(smtp_data_timeout, CFG_DURATION, "10m", "SMTP server wait for message data between reads"),
	E(smtp_bare_newline, "reject|normalize", "reject", "bare LF or CR in message data: reject with 5xx, or convert to CRLF"),
	K(smtp_line_length_limit, CFG_UINT, "998", "longest message line accepted, without CRLF (RFC 5322 2.1.1); 0 = no limit"),
	K(smtp_banner, CFG_STR, "ESMTP correu", "text after the host name in the 220 greeting"),

	K(imap_timeout, CFG_DURATION, "30m", "IMAP autologout: idle time of a logged-in session before it is closed (RFC 9051 asks for at least 30 minutes; IDLE clients refresh it)"),
	K(imap_login_timeout, CFG_DURATION, "2m", "IMAP idle time before login after which the connection is closed"),
	K(imap_max_line, CFG_SIZE, "64k", "longest IMAP command line, literals not counted; longer ones get BAD; at least 1k"),
	K(imap_max_errors, CFG_UINT, "20", "BAD and failed-login replies per IMAP session before it is closed with BYE; 0 = no limit"),
	K(imap_max_user_connections, CFG_UINT, "50", "IMAP sessions at once per account (all workers, all client addresses); more get NO [LIMIT] at login; 0 = no limit"),
	K(pop3_timeout, CFG_DURATION, "10m", "POP3 idle time before the session is closed without deleting anything (RFC 1939 asks for at least 10 minutes)"),
	K(pop3_max_commands, CFG_UINT, "1000", "commands per POP3 session, plus four per message in the maildrop; 0 = no limit"),
	K(pop3_max_errors, CFG_UINT, "20", "-ERR replies per POP3 session before it is closed; 0 = no limit"),

	K(dns_resolver, CFG_STR, "", "resolver to ask, ADDR or ADDR@PORT (e.g. 127.0.0.1@5353); empty = the system resolver of /etc/resolv.conf"),
	K(dns_trust_anchor, CFG_PATH, "", "DNSSEC trust anchor file (zone-file format) for validating answers; empty = no validation"),
	K(smtp_out_port, CFG_PORT, "25", "TCP port of other servers for outbound SMTP (tests use a high port)"),
	E(smtp_out_tls, "none|may|encrypt|verify", "may", "outbound TLS: none, may (STARTTLS when offered), encrypt (required), verify (required, certificate and MX host name checked)"),
	K(smtp_out_tls_policy, CFG_LINES, "", "\"DOMAIN POLICY\": smtp_out_tls for one destination domain; repeatable"),
	K(smtp_out_ca_file, CFG_PATH, "", "CA certificates (PEM) for smtp_out_tls verify; empty = the system trust store"),
	K(smtp_out_connect_timeout, CFG_DURATION, "30s", "wait for an outbound TCP connection, the greeting and the TLS handshake"),
	K(smtp_out_timeout, CFG_DURATION, "5m", "wait for each reply of a remote server (twice as long after the message data)"),
	K(smtp_out_dest_concurrency, CFG_UINT, "10", "outbound connections at once to one destination domain; at least 1"),
	K(smtp_out_max_connections, CFG_UINT, "100", "outbound connections at once in total; at least 1"),
	K(smtp_out_idle_time, CFG_DURATION, "2s", "how long an idle outbound connection waits for another message to the same destination"),
	K(queue_retry_min, CFG_DURATION, "5m", "first retry after a temporary failure; each later interval doubles"),
	K(queue_retry_max, CFG_DURATION, "1h", "longest interval between delivery attempts"),
	K(queue_lifetime, CFG_DURATION, "5d", "how long a message is retried before it is returned to the sender"),
	K(queue_delay_warning, CFG_DURATION, "0", "send a delay DSN once a message has waited this long; 0 = never"),

	K(submission_max_messages_per_hour, CFG_UINT, "200", "messages an authenticated user may submit per hour (all workers together); 0 = no limit"),
	K(submission_max_recipients, CFG_UINT, "100", "recipients per message on the submission ports; 0 = only smtp_max_recipients"),
	K(submission_senders, CFG_LINES, "", "\"USER ADDRESS...\": more envelope/From: addresses USER may send as (ADDRESS or @domain); repeatable"),
	K(web_enabled, CFG_BOOL, "yes", "`correu serve` also runs the webmail (on https_port and http_port)"),
	K(web_imap_host, CFG_STR, "localhost", "IMAP server the webmail logs in to (implicit TLS), a host name or IP address"),
	K(web_imap_port, CFG_PORT, "0", "port of web_imap_host; 0 = this configuration's imaps_port"),
	K(web_smtp_host, CFG_STR, "localhost", "submission server the webmail sends through (implicit TLS, AUTH PLAIN)"),
	K(web_smtp_port, CFG_PORT, "0", "port of web_smtp_host; 0 = this configuration's submissions_port"),
	K(web_ca_file, CFG_PATH, "", "CA certificates (PEM) the IMAP and submission servers' certificates must verify against, with the host's name; empty = they must present this configuration's own certificate (tls_cert, tls_extra_cert; pinned), for the name it carries"),
	K(web_session_timeout, CFG_DURATION, "30m", "webmail sessions end after this long without a request"),
	K(web_static_dir, CFG_PATH, "", "directory with the webmail front end (index.html, static/, node_modules/dompurify); empty = the built-in location"),
};

const size_t cfg_keys_count = N_ELEMENTS(cfg_keys);

const struct cfg_key *cfg_key_find(const char *name)
{
	for (size_t i = 0; i < cfg_keys_count; i++)
		if (strcmp(cfg_keys[i].name, name) == 0)
			return &cfg_keys[i];
	return NULL;
}
