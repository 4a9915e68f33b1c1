/* connlimit.c — shared connection counters. Runs in the master (creation,
 * reset) and the workers (acquire/release). */
#include "connlimit.h"
#include "log.h"

#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

struct connlimit_row {
	atomic_uint total[SERVICE_COUNT];
	atomic_ushort per_ip[SERVICE_COUNT][CONNLIMIT_BUCKETS];
};

struct connlimit {
	struct connlimit_row rows[CONNLIMIT_MAX_WORKERS];
};

struct connlimit *connlimit_new(void)
{
	void *p = mmap(NULL, sizeof(struct connlimit), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		log_fatal("mmap of connection counters failed");
	return p;
}

void connlimit_reset_worker(struct connlimit *cl, unsigned worker)
{
	if (worker < CONNLIMIT_MAX_WORKERS)
		memset(&cl->rows[worker], 0, sizeof(cl->rows[worker]));
}

static unsigned bucket(const char *ip)
{
	/* FNV-1a: stable across processes (no random seed needed here). */
	unsigned h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)ip; *p != '\0'; p++)
		h = (h ^ *p) * 16777619u;
	return h % CONNLIMIT_BUCKETS;
}

unsigned connlimit_total(const struct connlimit *cl, enum service_kind kind)
{
	unsigned sum = 0;
	for (unsigned w = 0; w < CONNLIMIT_MAX_WORKERS; w++)
		sum += atomic_load_explicit(&cl->rows[w].total[kind], memory_order_relaxed);
	return sum;
}

bool connlimit_acquire(struct connlimit *cl, unsigned worker, enum service_kind kind,
		       const char *ip, unsigned max_total, unsigned max_per_ip)
{
	if (worker >= CONNLIMIT_MAX_WORKERS)
		return true;
	unsigned b = bucket(ip);
	unsigned ip_sum = 0;
	for (unsigned w = 0; w < CONNLIMIT_MAX_WORKERS; w++)
		ip_sum += atomic_load_explicit(&cl->rows[w].per_ip[kind][b], memory_order_relaxed);
	if (max_per_ip > 0 && ip_sum >= max_per_ip)
		return false;
	if (max_total > 0 && connlimit_total(cl, kind) >= max_total)
		return false;
	struct connlimit_row *row = &cl->rows[worker];
	atomic_fetch_add_explicit(&row->total[kind], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&row->per_ip[kind][b], 1, memory_order_relaxed);
	return true;
}

void connlimit_release(struct connlimit *cl, unsigned worker, enum service_kind kind,
		       const char *ip)
{
	if (worker >= CONNLIMIT_MAX_WORKERS)
		return;
	struct connlimit_row *row = &cl->rows[worker];
	unsigned b = bucket(ip);
	if (atomic_load_explicit(&row->total[kind], memory_order_relaxed) > 0)
		atomic_fetch_sub_explicit(&row->total[kind], 1, memory_order_relaxed);
	if (atomic_load_explicit(&row->per_ip[kind][b], memory_order_relaxed) > 0)
		atomic_fetch_sub_explicit(&row->per_ip[kind][b], 1, memory_order_relaxed);
}
