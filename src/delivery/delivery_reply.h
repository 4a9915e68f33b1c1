/* delivery_reply.h — the client side of SMTP: parsing server replies
 * (RFC 5321 4.2) and EHLO capabilities. Bytes in, a reply out; no
 * socket. The parser is incremental, so it gives the same result fed
 * one byte at a time, and it is hostile-server safe: a line, a reply
 * and the number of lines are bounded and anything malformed is an
 * error, never a guess. */
#ifndef CORREU_DELIVERY_REPLY_H
#define CORREU_DELIVERY_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "buf.h"

#define DELIVERY_REPLY_LINE_MAX 2048	/* RFC 5321 says 512; be lenient */
#define DELIVERY_REPLY_LINES_MAX 128
#define DELIVERY_REPLY_TEXT_MAX 65536

struct delivery_reply {
	unsigned code;		/* 200..599 */
	char enhanced[16];	/* RFC 3463 code of the first line, or "" */
	/* The text of every line after "NNN" and its separator, joined
	 * with '\n'; control bytes replaced by '?'. */
	struct buf text;
	size_t n_lines;
};

struct delivery_reply_parser {
	struct delivery_reply reply;
	struct buf line;	/* incomplete line */
	bool done;		/* reply holds a finished reply */
};

enum delivery_reply_status {
	DELIVERY_REPLY_MORE,	/* every byte consumed, reply unfinished */
	DELIVERY_REPLY_DONE,	/* p->reply is complete */
	DELIVERY_REPLY_ERROR,	/* malformed; the connection must end */
};

void delivery_reply_parser_init(struct delivery_reply_parser *p);
void delivery_reply_parser_free(struct delivery_reply_parser *p);

/* Feeds bytes. *consumed_r tells how many were used; on DONE the rest
 * belongs to the next reply (call again after handling p->reply, which
 * stays valid until then). ERROR sets *error_r (static text). */
enum delivery_reply_status delivery_reply_parse(struct delivery_reply_parser *p,
						const void *data, size_t len,
						size_t *consumed_r, const char **error_r);

/* "550 5.1.1 text of line 1 text of line 2", bounded to max bytes of
 * text, appended to out; for logs, DSNs and the queue. */
void delivery_reply_summary(const struct delivery_reply *r, size_t max, struct buf *out);

/* What the server said it supports in its EHLO reply. */
struct delivery_caps {
	bool pipelining;
	bool starttls;
	bool eightbitmime;
	bool smtputf8;
	bool chunking;
	bool binarymime;
	bool dsn;
	bool enhancedstatuscodes;
	bool size;
	uint64_t size_max;	/* 0 = no limit announced */
};

/* Reads the capability lines (every line after the first) of a 250
 * EHLO reply. Unknown keywords are ignored. */
void delivery_caps_parse(const struct delivery_reply *r, struct delivery_caps *caps_r);

#endif
