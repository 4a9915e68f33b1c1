/* listener.h — the listening sockets the master binds (as root) and
 * hands to the processes it forks. */
#ifndef CORREU_LISTENER_H
#define CORREU_LISTENER_H

#include <stddef.h>
#include <stdint.h>
#include "cfg.h"
#include "service.h"

/* Web listeners use these kinds beyond the mail services. */
#define LISTENER_HTTPS SERVICE_COUNT
#define LISTENER_HTTP (SERVICE_COUNT + 1)

struct listener {
	int fd;
	int kind;		/* enum service_kind or LISTENER_HTTP(S) */
	char addr[64];
	uint16_t port;
};

struct listener_set {
	struct listener *v;
	size_t n;
};

/* The configuration key of each kind's port ("smtp_port", ...). */
const char *listener_kind_name(int kind);
/* Binds every enabled port on every listen address. Sockets already in
 * old (same kind, address and port) are reused, so a reload keeps
 * accepting without a gap. Fails (with *error_r) if any bind fails. */
int listener_set_bind(struct listener_set *set, const struct config *cfg,
		      struct listener_set *old, const char **error_r);
/* Closes every socket of set that is not also in keep. */
void listener_set_close(struct listener_set *set, const struct listener_set *keep);
void listener_set_free(struct listener_set *set);

#endif
