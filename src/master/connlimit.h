/* connlimit.h — connection counts shared by all workers, for the
 * max_connections and max_connections_per_ip limits. A shared anonymous
 * mapping made by the master before forking: each worker writes only
 * its own row, so a dead worker's counts are dropped by zeroing its row,
 * and a check sums the rows. Per-IP counts live in hash buckets; a
 * collision can only make a limit stricter, never looser. */
#ifndef CORREU_CONNLIMIT_H
#define CORREU_CONNLIMIT_H

#include <stdbool.h>
#include "service.h"

#define CONNLIMIT_MAX_WORKERS 64
#define CONNLIMIT_BUCKETS 2048

struct connlimit;

/* Made by the master; the mapping is inherited by children. */
struct connlimit *connlimit_new(void);
/* Zeroes a worker's row (the worker died or drained). */
void connlimit_reset_worker(struct connlimit *cl, unsigned worker);
/* Counts a new connection of worker for kind from ip unless the limits
 * would be exceeded; returns whether it was counted. */
bool connlimit_acquire(struct connlimit *cl, unsigned worker, enum service_kind kind,
		       const char *ip, unsigned max_total, unsigned max_per_ip);
void connlimit_release(struct connlimit *cl, unsigned worker, enum service_kind kind,
		       const char *ip);
/* Current total for kind over all workers (tests, logs). */
unsigned connlimit_total(const struct connlimit *cl, enum service_kind kind);

#endif
