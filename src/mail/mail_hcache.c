/* mail_hcache.c — building the per-message header cache from a header
 * section. Pure functions, used by the workers and `correu reindex`.
 * Parses untrusted headers (through mail_header.c). */
#include "mail_hcache.h"
#include "mail_header.h"

#include <string.h>
#include <strings.h>

static const char *const fields[] = {
	"Date", "From", "To", "Cc", "Subject", "Message-ID", "References", "In-Reply-To",
};

bool mail_hcache_has_field(const char *name, size_t len)
{
	for (size_t i = 0; i < N_ELEMENTS(fields); i++)
		if (strlen(fields[i]) == len && strncasecmp(fields[i], name, len) == 0)
			return true;
	return false;
}

bool mail_hcache_has(const char *name)
{
	return mail_hcache_has_field(name, strlen(name));
}

bool mail_hcache_has_all(const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!mail_hcache_has(names[i]))
			return false;
	return true;
}

void mail_hcache_build(const void *hdr, size_t len, struct buf *out)
{
	mail_header_filter(hdr, len, fields, N_ELEMENTS(fields), false, out);
}

void mail_hcache_collector_init(struct mail_hcache_collector *c)
{
	memset(c, 0, sizeof(*c));
	buf_init(&c->header);
}

/* Whether the header ends (an empty line) in d[0..len). The look goes
 * on from the line starting at c->scan, at byte c->pos of it. */
static bool find_end(struct mail_hcache_collector *c, const char *d, size_t len)
{
	for (;;) {
		size_t p = c->scan;
		if (c->pos == p) {
			/* At a line start: is it the empty line? */
			if (p >= len || (d[p] == '\r' && p + 1 >= len))
				return false;
			if (d[p] == '\n' || (d[p] == '\r' && d[p + 1] == '\n'))
				return true;
		}
		const char *nl = memchr(d + c->pos, '\n', len - c->pos);
		if (nl == NULL) {
			c->pos = len;
			return false;
		}
		c->scan = c->pos = (size_t)(nl - d) + 1;
	}
}

void mail_hcache_collector_feed(struct mail_hcache_collector *c, const void *data, size_t len)
{
	if (c->done || len == 0)
		return;
	size_t room = MAIL_HCACHE_HEADER_MAX + 2 - c->header.len;
	buf_append(&c->header, data, len < room ? len : room);
	if (find_end(c, c->header.data, c->header.len)) {
		bool complete;
		c->header.len = mail_header_size(c->header.data, c->header.len, &complete);
		c->done = true;
	} else if (c->header.len > MAIL_HCACHE_HEADER_MAX) {
		c->done = true;
		c->too_long = true;
	}
}

bool mail_hcache_collector_finish(struct mail_hcache_collector *c, struct buf *out)
{
	if (c->too_long)
		return false;
	mail_hcache_build(c->header.data != NULL ? c->header.data : "", c->header.len, out);
	return true;
}

void mail_hcache_collector_free(struct mail_hcache_collector *c)
{
	buf_free(&c->header);
}
