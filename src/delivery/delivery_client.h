/* delivery_client.h — one outbound SMTP connection to one server
 * address (RFC 5321 client): greeting, EHLO (HELO fallback), STARTTLS by
 * policy, then any number of mail transactions handed to it one at a
 * time (connection reuse), with PIPELINING, SIZE, 8BITMIME (downgrading
 * 8-bit messages for servers without it), SMTPUTF8, CHUNKING (BDAT) and
 * DSN parameters passed on. Every wait has a deadline, so a hostile or
 * stuck server costs a timeout, never a hang.
 *
 * It lives in src/delivery (not src/smtp, which sits above delivery) so
 * that the queue process can use it without a layer violation.
 *
 * Callbacks run from the loop; a callback may hand over the next
 * transaction or quit. The client frees itself after ops->closed. */
#ifndef CORREU_DELIVERY_CLIENT_H
#define CORREU_DELIVERY_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include "queue.h"
#include "tls.h"

enum delivery_tls {
	DELIVERY_TLS_NONE,	/* never STARTTLS */
	DELIVERY_TLS_MAY,	/* STARTTLS when offered, any certificate */
	DELIVERY_TLS_ENCRYPT,	/* STARTTLS required, any certificate */
	DELIVERY_TLS_VERIFY,	/* STARTTLS required, chain and MX name verified */
};

/* Parses "none", "may", "encrypt", "verify". */
int delivery_tls_parse(const char *s, enum delivery_tls *tls_r);
const char *delivery_tls_name(enum delivery_tls tls);

struct delivery_client_params {
	uv_loop_t *loop;
	const char *helo;		/* our host name for EHLO */
	uint16_t port;
	uint64_t connect_timeout_ms;	/* connect, greeting, TLS handshake */
	uint64_t cmd_timeout_ms;	/* each reply; twice that after the data */
	struct tls_client *tls_any;	/* for may/encrypt */
	struct tls_client *tls_verify;	/* for verify (name checked) */
};

enum delivery_result_kind {
	DELIVERY_RESULT_NONE,		/* not decided (internal) */
	DELIVERY_RESULT_SENT,
	DELIVERY_RESULT_TEMP,
	DELIVERY_RESULT_PERM,
};

struct delivery_result {
	enum delivery_result_kind kind;
	char enhanced[16];	/* RFC 3463 status, always set when decided */
	char *text;		/* the server's reply or our reason */
	bool remote;		/* text is the remote server's reply */
	bool dsn_relayed;	/* sent to a server that does not do DSN */
};

/* One mail transaction: the recipients rcpt[0..n) of env (indices),
 * the message in fd (starting at env->skip). The caller owns it all and
 * keeps it alive until txn_done; res (n entries) is filled in. */
struct delivery_txn {
	const struct queue_envelope *env;
	int fd;
	const size_t *rcpt;
	size_t n;
	struct delivery_result *res;
	char *mta;		/* "host[ip]" that handled it, set by the client */
	void *ctx;		/* the caller's */
	struct delivery_txn *next;	/* free for the caller's lists */
	/* Set by the client: a reused connection died before the server
	 * answered anything of this transaction (it had closed an idle
	 * connection); the results say temporary failure, but the caller
	 * may simply try again on a new connection. */
	bool retry_new_connection;
	unsigned requeued;	/* for the caller: times it did so */
};

struct delivery_client;

struct delivery_client_ops {
	/* Greeted, EHLO done, TLS as the policy wants: the client can take
	 * a transaction (delivery_client_send) or be told to quit. Called
	 * again after every transaction while the connection stays good. */
	void (*ready)(struct delivery_client *c, void *ctx);
	/* A transaction finished; every result in txn->res is decided. */
	void (*txn_done)(struct delivery_client *c, struct delivery_txn *txn, void *ctx);
	/* The connection is gone (after txn_done for a transaction in
	 * progress). was_ready: it got ready at least once, else this is a
	 * failure of the host, described by reason. tls_failed: a STARTTLS
	 * handshake failed (policy may: retry without TLS). */
	void (*closed)(struct delivery_client *c, const char *reason, bool was_ready,
		       bool tls_failed, void *ctx);
};

/* Connects to ip (of MX host) with the given TLS policy; tls_off skips
 * STARTTLS even under may. Failure to even start is reported through
 * closed, from the loop. */
struct delivery_client *delivery_client_new(const struct delivery_client_params *p,
					    const char *host, const char *ip,
					    enum delivery_tls tls, bool tls_off,
					    const struct delivery_client_ops *ops, void *ctx);
/* Starts a transaction; only after ready. */
void delivery_client_send(struct delivery_client *c, struct delivery_txn *txn);
/* Sends QUIT (when idle) and closes; closed follows. */
void delivery_client_quit(struct delivery_client *c);
/* Closes at once (shutdown); a transaction in progress ends as a
 * temporary failure. */
void delivery_client_abort(struct delivery_client *c, const char *reason);

/* "host[ip]" for logs. */
const char *delivery_client_mta(const struct delivery_client *c);
bool delivery_client_is_tls(const struct delivery_client *c);

/* xtext (RFC 3461 4) of s, appended to out. */
void delivery_xtext_encode(const char *s, struct buf *out);

#endif
