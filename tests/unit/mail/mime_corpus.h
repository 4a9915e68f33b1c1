/* mime_corpus.h — helpers shared by the src/mail unit tests: reading
 * corpus files and parsing a message in chunks of a given size. */
#ifndef TEST_MIME_CORPUS_H
#define TEST_MIME_CORPUS_H

#include <stdio.h>
#include <stdlib.h>
#include "buf.h"
#include "mail_mime.h"

static inline char *corpus_read(const char *name, const char *ext, size_t *len_r)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s%s", MIME_CORPUS_DIR, name, ext);
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	struct buf b = BUF_INIT;
	char tmp[8192];
	size_t n;
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		buf_append(&b, tmp, n);
	fclose(f);
	buf_reserve(&b, 0);
	*len_r = b.len;
	return buf_steal(&b);
}

/* Parses data fed in chunks of chunk bytes (0: all at once). */
static inline struct mail_part *parse_chunked(const char *data, size_t len,
					      size_t chunk)
{
	struct mail_mime_parser *p = mail_mime_parser_new(NULL);
	if (chunk == 0)
		chunk = len;
	for (size_t off = 0; off < len; off += chunk)
		mail_mime_parser_feed(p, data + off, len - off < chunk ? len - off : chunk);
	return mail_mime_parser_finish(&p);
}

#endif
