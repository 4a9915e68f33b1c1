/* auth_server_private.h — what the auth process's files share: the
 * server, its worker connections and their requests. Runs in the auth
 * process only. */
#ifndef CORREU_AUTH_SERVER_PRIVATE_H
#define CORREU_AUTH_SERVER_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>
#include "auth_db.h"
#include "auth_passwd.h"
#include "auth_proto.h"
#include "auth_scram.h"
#include "auth_throttle.h"
#include "buf.h"
#include "cfg.h"
#include "sasl.h"

/* Database handles for one thread-pool job at a time. */
struct auth_handles {
	struct auth_handles *next;
	struct auth_db *db;
	struct auth_passwd *pw;
};

struct auth_conn;
struct auth_req;

struct auth_server {
	uv_loop_t loop;
	uv_pipe_t listener;
	uv_signal_t sig_term, sig_int, sig_hup;
	const struct config *base_cfg;	/* the caller's; opens databases */
	struct config *reloaded;	/* owned, after SIGHUP */
	const struct config *cfg;	/* current settings */
	struct auth_throttle *throttle;
	char *dummy_hash;		/* verified for unknown accounts */
	char *socket_path;
	unsigned char secret[32];	/* fake SCRAM salts */
	uv_mutex_t pool_lock;
	struct auth_handles *pool;
	struct auth_conn *conns;
	bool stopping;
};

struct auth_conn {
	struct auth_conn *prev, *next;
	struct auth_server *srv;
	uv_pipe_t pipe;
	struct buf in;
	struct auth_req *reqs;
	unsigned nreqs;
	bool closing;
};

enum work_kind { WORK_VERIFY, WORK_LOOKUP };
enum work_result { WORK_OK, WORK_FAIL, WORK_TEMPFAIL };

struct auth_req {
	struct auth_req *prev, *next;
	struct auth_server *srv;
	struct auth_conn *conn;		/* NULL once detached */
	uint32_t id;
	char *service, *ip;
	const char *mech;		/* static name; NULL for VERIFY */
	struct sasl *sasl;		/* NULL for VERIFY */
	char *user, *password;		/* VERIFY's, copied */
	bool work_busy;			/* a thread-pool job holds the request */
	bool timer_busy;		/* a delayed reply is pending */
	bool timer_init;
	uv_work_t work;
	uv_timer_t timer;
	/* job input */
	enum work_kind kind;
	char *dummy_hash;
	/* job output */
	enum work_result result;
	char *canonical;
	const char *why;
	struct auth_scram_keys keys;
	bool keys_known;
};

/* auth_server.c */
/* Database handles for a thread-pool job (opened on demand, kept for
 * reuse); NULL with *error_r when the databases cannot be opened. */
struct auth_handles *auth_server_pool_take(struct auth_server *srv, const char **error_r);
void auth_server_pool_put(struct auth_server *srv, struct auth_handles *h);
/* Closes a worker connection; its requests go (or finish unanswered). */
void auth_conn_close(struct auth_conn *conn);

/* auth_request.c */
/* Acts on one message from a worker; -1 on a protocol violation (the
 * caller closes the connection). */
int auth_request_handle(struct auth_conn *conn, const struct auth_proto_msg *msg);
/* The connection is closing: frees its requests, or detaches those a
 * thread-pool job still holds (freed when the job is done). */
void auth_request_drop_all(struct auth_conn *conn);

#endif
