/* queue_process.h — the queue process: schedules and performs outbound
 * delivery, local delivery of queued mail (sendmail, bounces), retries
 * with back-off and DSN bounces. It lives in src/delivery because it
 * drives both the queue (below) and the outbound SMTP client.
 *
 * The master forks it after dropping privileges and calls
 * queue_process_run(), which runs a libuv loop until SIGTERM (clean exit
 * status 0). SIGHUP re-reads nothing by itself (the master passes a new
 * process on reload) but flushes the DNS cache and re-scans the queue.
 * After a crash or kill -9 a new process resumes every message from
 * data_dir/queue. It also takes local users' messages on the pickup
 * socket, data_dir/public/pickup (queue_pickup_server.h). */
#ifndef CORREU_QUEUE_PROCESS_H
#define CORREU_QUEUE_PROCESS_H

#include "cfg.h"

/* Runs the queue process; returns the exit status. web_uid and
 * auth_uid (-1 = none) are the users of the webmail and auth processes,
 * which the pickup socket refuses (queue_pickup_server.h). */
int queue_process_run(const struct config *cfg, long web_uid, long auth_uid);

#endif
