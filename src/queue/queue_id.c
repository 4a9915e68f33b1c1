/* queue_id.c — queue ids: unique across processes and threads, sortable
 * by arrival, safe as file names. Runs in workers, the queue process and
 * the command line. */
#include "queue.h"
#include "xalloc.h"

#include <stdatomic.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#define QUEUE_ID_MAX 64

char *queue_id_new(void)
{
	static atomic_uint counter;
	struct timeval tv;
	gettimeofday(&tv, NULL);
	unsigned n = atomic_fetch_add(&counter, 1) & 0xffffu;
	/* Fixed-width fields around the variable pid keep it unambiguous:
	 * seconds, microseconds, pid, per-process counter. */
	return x_asprintf("%08llX%05X%X%04X", (unsigned long long)tv.tv_sec & 0xffffffffull,
			  (unsigned)tv.tv_usec & 0xfffffu, (unsigned)getpid(), n);
}

bool queue_id_valid(const char *s)
{
	size_t len = strlen(s);
	if (len == 0 || len > QUEUE_ID_MAX)
		return false;
	for (const char *p = s; *p != '\0'; p++) {
		if (!((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= 'a' && *p <= 'z')))
			return false;
	}
	return true;
}
