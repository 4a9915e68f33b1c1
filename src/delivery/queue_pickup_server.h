/* queue_pickup_server.h — the queue process's pickup socket,
 * data_dir/public/pickup: a Unix stream socket (mode 0666 in a 0755
 * directory) through which `correu sendmail`, run by any local user who
 * cannot write the queue, submits a message (protocol: queue_pickup.h).
 * The user is the socket peer's uid (SO_PEERCRED); the message is
 * answered "ok" only after queue_enqueue() made it durable.
 *
 * Limits, so that a local user cannot exhaust the queue process: at most
 * QUEUE_PICKUP_MAX_CONNECTIONS connections (QUEUE_PICKUP_MAX_PER_UID per
 * uid), message_size_limit per message, smtp_max_recipients per message,
 * an idle time of QUEUE_PICKUP_IDLE_SECS between reads and
 * QUEUE_PICKUP_MAX_SECS for the whole request. Everything runs on the
 * queue process's loop; the uid's name is looked up (getpwuid_r) and the
 * message committed in thread-pool jobs. */
#ifndef CORREU_QUEUE_PICKUP_SERVER_H
#define CORREU_QUEUE_PICKUP_SERVER_H

#include <stdbool.h>
#include <uv.h>
#include "cfg.h"

#define QUEUE_PICKUP_MAX_CONNECTIONS 64
#define QUEUE_PICKUP_MAX_PER_UID 16
#define QUEUE_PICKUP_IDLE_SECS 60
#define QUEUE_PICKUP_MAX_SECS 600

struct queue_pickup_server;

struct queue_pickup_server_params {
	uv_loop_t *loop;
	const struct config *cfg;	/* kept; see queue_pickup_server_set_config() */
	/* uids refused (the webmail's and the auth process's users, which
	 * have no business sending mail); -1 = none. */
	long deny_uid[2];
	/* Called once no connection is left after queue_pickup_server_stop(). */
	void (*idle_cb)(void *ctx);
	void *ctx;
};

/* Creates data_dir/public (0755), binds a fresh socket there (0666,
 * replacing a stale one) and accepts on the loop. NULL with *error_r
 * (and errno) on failure. */
struct queue_pickup_server *queue_pickup_server_start(const struct queue_pickup_server_params *p,
						      const char **error_r);
/* New connections use cfg (after a reload); cfg must outlive them. */
void queue_pickup_server_set_config(struct queue_pickup_server *s, const struct config *cfg);
/* Stops accepting. Connections still reading get "fail 75" at once;
 * those whose message is being committed get their answer first. */
void queue_pickup_server_stop(struct queue_pickup_server *s);
/* Whether connections are still open. */
bool queue_pickup_server_busy(const struct queue_pickup_server *s);
/* After stop and once idle: frees the server. */
void queue_pickup_server_free(struct queue_pickup_server **s);

#endif
