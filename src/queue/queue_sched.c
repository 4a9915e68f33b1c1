/* queue_sched.c — retry schedule arithmetic (see queue_sched.h). Runs in
 * the queue process and `correu queue list`. No input parsing. */
#include "queue_sched.h"

void queue_sched_params_from_cfg(const struct config *cfg, struct queue_sched_params *p)
{
	p->retry_min = cfg->queue_retry_min;
	p->retry_max = cfg->queue_retry_max;
	p->lifetime = cfg->queue_lifetime;
	p->delay_warning = cfg->queue_delay_warning;
}

time_t queue_sched_expiry(const struct queue_sched_params *p, time_t arrival)
{
	return arrival + (time_t)p->lifetime;
}

time_t queue_sched_next(const struct queue_sched_params *p, time_t arrival,
			unsigned attempts, time_t now)
{
	uint64_t min = p->retry_min > 0 ? p->retry_min : 1;
	uint64_t max = p->retry_max >= min ? p->retry_max : min;
	uint64_t delay = min;
	for (unsigned i = 1; i < attempts && delay < max; i++)
		delay *= 2;
	if (delay > max)
		delay = max;
	time_t next = now + (time_t)delay;
	time_t expiry = queue_sched_expiry(p, arrival);
	if (next > expiry && now < expiry)
		next = expiry;
	return next;
}

bool queue_sched_expired(const struct queue_sched_params *p, time_t arrival, time_t now)
{
	return now >= queue_sched_expiry(p, arrival);
}

bool queue_sched_warning_due(const struct queue_sched_params *p, time_t arrival, time_t now)
{
	return p->delay_warning > 0 && now >= arrival + (time_t)p->delay_warning &&
		!queue_sched_expired(p, arrival, now);
}
