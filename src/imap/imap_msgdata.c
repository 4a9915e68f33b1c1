/* imap_msgdata.c — lazy loading of a message's file, header, MIME tree
 * and envelope, and write-back of computed ENVELOPE/BODYSTRUCTURE
 * strings to the index. Runs in the mail workers. The file contents are
 * untrusted and go through src/mail's parsers, which bound memory. */
#include "imap_msgdata.h"
#include "mail_bodystructure.h"
#include "mail_hcache.h"
#include "mail_header.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define READ_CHUNK 65536

static char *dup_or_null(const char *s)
{
	return s != NULL ? x_strdup(s) : NULL;
}

void imap_msgdata_init(struct imap_msgdata *md, struct store_mailbox *mb,
		       const struct store_msg *m)
{
	memset(md, 0, sizeof(*md));
	md->mb = mb;
	md->uid = m->uid;
	md->flags = m->flags;
	md->keywords = m->keywords;
	md->idate = m->idate;
	md->itz = m->itz;
	md->sdate = m->sdate;
	md->size = m->size;
	md->modseq = m->modseq;
	md->name = dup_or_null(m->name);
	md->envelope = dup_or_null(m->envelope);
	md->bodystructure = dup_or_null(m->bodystructure);
	md->body = dup_or_null(m->body);
	if (m->headers != NULL) {
		md->hcache = x_malloc(m->headers_len + 1);
		memcpy(md->hcache, m->headers, m->headers_len);
		md->hcache[m->headers_len] = '\0';
		md->hcache_len = m->headers_len;
	}
	md->hcache_known = m->headers_known;
	md->fd = -1;
	buf_init(&md->header);
}

void imap_msgdata_init_borrow(struct imap_msgdata *md, struct store_mailbox *mb,
			      const struct store_msg *m)
{
	struct store_msg light = *m;
	light.name = NULL;
	light.headers = NULL;
	imap_msgdata_init(md, mb, &light);
	md->name = (char *)m->name;
	md->name_borrowed = true;
	md->hcache = (char *)m->headers;
	md->hcache_len = m->headers_len;
	md->hcache_borrowed = m->headers != NULL;
}

void imap_msgdata_deinit(struct imap_msgdata *md)
{
	if (md->cache_dirty)
		(void)store_msg_set_cache(md->mb, md->uid, md->envelope, md->bodystructure,
					  md->body);
	if (md->fd >= 0)
		close(md->fd);
	buf_free(&md->header);
	mail_part_free(&md->mime);
	if (md->have_env)
		mail_envelope_free(&md->env);
	if (!md->name_borrowed)
		free(md->name);
	free(md->envelope);
	free(md->bodystructure);
	free(md->body);
	if (!md->hcache_borrowed)
		free(md->hcache);
	memset(md, 0, sizeof(*md));
	md->fd = -1;
}

int imap_msgdata_fd(struct imap_msgdata *md, int *fd_r)
{
	if (md->fd < 0) {
		if (md->failed || store_msg_open(md->mb, md->uid, md->name, &md->fd) < 0) {
			md->failed = true;
			return -1;
		}
	}
	*fd_r = md->fd;
	return 0;
}

int imap_msgdata_read(struct imap_msgdata *md, uint64_t offset, uint64_t len, struct buf *out)
{
	int fd;
	if (imap_msgdata_fd(md, &fd) < 0)
		return -1;
	while (len > 0) {
		size_t want = len > READ_CHUNK ? READ_CHUNK : (size_t)len;
		char *w = buf_reserve(out, want);
		ssize_t n = pread(fd, w, want, (off_t)offset);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			md->failed = true;
			return -1;
		}
		if (n == 0)
			break;	/* shorter than the index said */
		buf_commit(out, (size_t)n);
		offset += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

int imap_msgdata_header(struct imap_msgdata *md, const char **data_r, size_t *len_r)
{
	if (!md->have_header) {
		uint64_t off = 0;
		bool complete = false;
		size_t hsize = 0;
		while (!complete && off < md->size && off < IMAP_HEADER_MAX) {
			size_t before = md->header.len;
			if (imap_msgdata_read(md, off, 8192, &md->header) < 0)
				return -1;
			if (md->header.len == before)
				break;
			off = md->header.len;
			hsize = mail_header_size(md->header.data, md->header.len, &complete);
		}
		if (md->header.len > 0)
			hsize = mail_header_size(md->header.data, md->header.len, &complete);
		md->header.len = hsize;
		if (md->header.data != NULL)
			md->header.data[hsize] = '\0';
		md->have_header = true;
	}
	*data_r = md->header.data != NULL ? md->header.data : "";
	*len_r = md->header.len;
	return 0;
}

int imap_msgdata_mime(struct imap_msgdata *md, const struct mail_part **root_r)
{
	if (md->mime == NULL) {
		int fd;
		if (imap_msgdata_fd(md, &fd) < 0)
			return -1;
		struct mail_mime_parser *p = mail_mime_parser_new(NULL);
		char *chunk = x_malloc(READ_CHUNK);
		uint64_t off = 0;
		for (;;) {
			ssize_t n = pread(fd, chunk, READ_CHUNK, (off_t)off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			mail_mime_parser_feed(p, chunk, (size_t)n);
			off += (uint64_t)n;
		}
		free(chunk);
		md->mime = mail_mime_parser_finish(&p);
	}
	*root_r = md->mime;
	return 0;
}

int imap_msgdata_envelope(struct imap_msgdata *md, const struct mail_envelope **env_r)
{
	if (!md->have_env) {
		const char *h;
		size_t len;
		if (imap_msgdata_header(md, &h, &len) < 0)
			return -1;
		mail_envelope_parse(h, len, &md->env);
		md->have_env = true;
	}
	*env_r = &md->env;
	return 0;
}

int imap_msgdata_envelope_str(struct imap_msgdata *md, const char **str_r)
{
	if (md->envelope == NULL) {
		const struct mail_envelope *env;
		if (imap_msgdata_envelope(md, &env) < 0)
			return -1;
		struct buf b = BUF_INIT;
		/* Cached in the form every client accepts (8-bit as literals). */
		mail_envelope_write(env, false, &b);
		md->envelope = buf_steal(&b);
		md->cache_dirty = true;
	}
	*str_r = md->envelope;
	return 0;
}

int imap_msgdata_bodystructure_str(struct imap_msgdata *md, bool extended, const char **str_r)
{
	char **slot = extended ? &md->bodystructure : &md->body;
	if (*slot == NULL) {
		const struct mail_part *root;
		if (imap_msgdata_mime(md, &root) < 0)
			return -1;
		struct buf b = BUF_INIT;
		mail_bodystructure_write(root, extended, false, &b);
		*slot = buf_steal(&b);
		md->cache_dirty = true;
	}
	*str_r = *slot;
	return 0;
}

bool imap_msgdata_fields_cached(const struct imap_msgdata *md, const char *const *names,
				size_t n)
{
	return md->hcache != NULL && md->hcache_len > 0 && mail_hcache_has_all(names, n);
}

int imap_msgdata_fields(struct imap_msgdata *md, const char *const *names, size_t n,
			const char **data_r, size_t *len_r)
{
	if (imap_msgdata_fields_cached(md, names, n)) {
		*data_r = md->hcache;
		*len_r = md->hcache_len;
		return 0;
	}
	if (imap_msgdata_header(md, data_r, len_r) < 0)
		return -1;
	if (md->hcache == NULL && md->hcache_known) {
		struct buf b = BUF_INIT;
		/* A header cut at IMAP_HEADER_MAX is too long to cache. */
		if (*len_r <= MAIL_HCACHE_HEADER_MAX)
			mail_hcache_build(*data_r, *len_r, &b);
		md->hcache_len = b.len;
		md->hcache = b.len > 0 ? buf_steal(&b) : x_strdup("");
		buf_free(&b);
		md->hcache_dirty = true;
	}
	return 0;
}

char *imap_msgdata_header_get(struct imap_msgdata *md, const char *name)
{
	const char *h;
	size_t len;
	if (imap_msgdata_fields(md, &name, 1, &h, &len) < 0)
		return NULL;
	return mail_header_get(h, len, name);
}
