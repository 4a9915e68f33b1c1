/* queue_sched.h — the retry schedule: exponential back-off between a
 * minimum and a maximum interval, a message lifetime after which pending
 * recipients fail, and the optional delay warning. Pure functions of the
 * configured durations and times, so they are unit-tested directly. */
#ifndef CORREU_QUEUE_SCHED_H
#define CORREU_QUEUE_SCHED_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include "cfg.h"

struct queue_sched_params {
	uint64_t retry_min;	/* seconds before the first retry */
	uint64_t retry_max;	/* longest interval between attempts */
	uint64_t lifetime;	/* seconds after arrival until recipients fail */
	uint64_t delay_warning;	/* seconds after arrival for a delay DSN; 0 = never */
};

void queue_sched_params_from_cfg(const struct config *cfg, struct queue_sched_params *p);

/* When to try again after the attempts-th failed attempt (1 = the first
 * attempt failed) that ended at now: retry_min * 2^(attempts-1), capped
 * at retry_max, and never later than the expiry time, so the last
 * attempt happens at expiry. */
time_t queue_sched_next(const struct queue_sched_params *p, time_t arrival,
			unsigned attempts, time_t now);
/* Whether a message that arrived at arrival has outlived its lifetime. */
bool queue_sched_expired(const struct queue_sched_params *p, time_t arrival, time_t now);
/* When pending recipients will be given up ("Will-Retry-Until"). */
time_t queue_sched_expiry(const struct queue_sched_params *p, time_t arrival);
/* Whether a delay warning is due now for a message still pending. */
bool queue_sched_warning_due(const struct queue_sched_params *p, time_t arrival, time_t now);

#endif
