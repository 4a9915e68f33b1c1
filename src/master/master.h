/* master.h — `correu serve`: the supervisor that binds the ports, forks
 * the auth process, the queue process, the webmail and the workers,
 * restarts them when they die and reloads on SIGHUP. */
#ifndef CORREU_MASTER_H
#define CORREU_MASTER_H

#include "cfg.h"

/* Takes ownership of cfg; returns the exit status. */
int master_run(struct config *cfg);

#endif
