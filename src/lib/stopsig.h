/* stopsig.h — keeping a new child's stop and reload signals (SIGTERM,
 * SIGINT, SIGHUP) pending until its event loop watches them, so a
 * reload or stop that comes right after a fork is handled, not fatal. */
#ifndef CORREU_STOPSIG_H
#define CORREU_STOPSIG_H

/* Makes them the only blocked signals (the master calls this in a child
 * right after fork, where they are still blocked from the master, so
 * they are never unblocked in between). */
void stopsig_hold(void);
/* Unblocks them; pending ones are delivered now. Called by each process
 * once its uv_signal watchers for them are started. */
void stopsig_release(void);

#endif
