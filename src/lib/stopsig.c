/* stopsig.c — see stopsig.h. */
#include "stopsig.h"

#include <signal.h>
#include <stddef.h>

static void stop_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
}

void stopsig_hold(void)
{
	sigset_t set;
	stop_set(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
}

void stopsig_release(void)
{
	sigset_t set;
	stop_set(&set);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}
