/* listener.c — binding the configured ports. Runs in the master, as root
 * when ports below 1024 are used. */
#include "listener.h"
#include "log.h"
#include "net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct {
	int kind;
	const char *name;
	size_t offset;
} kinds[] = {
	{ SERVICE_SMTP, "smtp", offsetof(struct config, smtp_port) },
	{ SERVICE_SUBMISSION, "submission", offsetof(struct config, submission_port) },
	{ SERVICE_SUBMISSIONS, "submissions", offsetof(struct config, submissions_port) },
	{ SERVICE_IMAP, "imap", offsetof(struct config, imap_port) },
	{ SERVICE_IMAPS, "imaps", offsetof(struct config, imaps_port) },
	{ SERVICE_POP3, "pop3", offsetof(struct config, pop3_port) },
	{ SERVICE_POP3S, "pop3s", offsetof(struct config, pop3s_port) },
	{ LISTENER_HTTPS, "https", offsetof(struct config, https_port) },
	{ LISTENER_HTTP, "http", offsetof(struct config, http_port) },
};

const char *listener_kind_name(int kind)
{
	for (size_t i = 0; i < N_ELEMENTS(kinds); i++)
		if (kinds[i].kind == kind)
			return kinds[i].name;
	return "?";
}

static struct listener *find(struct listener_set *set, int kind, const char *addr,
			     uint16_t port)
{
	if (set == NULL)
		return NULL;
	for (size_t i = 0; i < set->n; i++)
		if (set->v[i].kind == kind && set->v[i].port == port &&
		    strcmp(set->v[i].addr, addr) == 0)
			return &set->v[i];
	return NULL;
}

int listener_set_bind(struct listener_set *set, const struct config *cfg,
		      struct listener_set *old, const char **error_r)
{
	static char error[256];
	set->v = NULL;
	set->n = 0;
	for (size_t k = 0; k < N_ELEMENTS(kinds); k++) {
		uint64_t port = *(const uint64_t *)(const void *)((const char *)cfg + kinds[k].offset);
		if (port == 0)
			continue;
		for (size_t a = 0; a < cfg->listen.n; a++) {
			const char *addr = cfg->listen.v[a];
			struct listener l = { .fd = -1, .kind = kinds[k].kind, .port = (uint16_t)port };
			snprintf(l.addr, sizeof(l.addr), "%s", addr);
			struct listener *prev = find(old, l.kind, addr, l.port);
			if (prev != NULL) {
				l.fd = prev->fd;
			} else {
				const char *err;
				l.fd = net_listen(addr, (uint16_t)port, 1024, &err);
				if (l.fd < 0) {
					snprintf(error, sizeof(error), "cannot listen on %s port %u (%s): %s",
						 addr, (unsigned)port, kinds[k].name, err);
					*error_r = error;
					listener_set_close(set, old);
					listener_set_free(set);
					return -1;
				}
			}
			set->v = x_reallocarray(set->v, set->n + 1, sizeof(*set->v));
			set->v[set->n++] = l;
		}
	}
	return 0;
}

void listener_set_close(struct listener_set *set, const struct listener_set *keep)
{
	for (size_t i = 0; i < set->n; i++) {
		bool kept = false;
		for (size_t j = 0; keep != NULL && j < keep->n; j++)
			if (keep->v[j].fd == set->v[i].fd)
				kept = true;
		if (!kept && set->v[i].fd >= 0)
			close(set->v[i].fd);
		set->v[i].fd = -1;
	}
}

void listener_set_free(struct listener_set *set)
{
	free(set->v);
	set->v = NULL;
	set->n = 0;
}
