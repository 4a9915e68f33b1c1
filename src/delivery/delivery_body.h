/* delivery_body.h — message bytes on their way out: DATA dot-stuffing
 * with the final ".", and a reader that streams a queued message from
 * its file (or from memory after an 8BITMIME downgrade) in chunks so a
 * large message never sits whole in memory. Pure transformation plus
 * pread(2); runs in the queue process. */
#ifndef CORREU_DELIVERY_BODY_H
#define CORREU_DELIVERY_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "buf.h"

/* Dot-stuffing state across chunks (RFC 5321 4.5.2). */
struct delivery_stuffer {
	bool line_start;	/* next byte begins a line */
	bool last_cr;		/* the last byte written was CR */
	bool any;		/* anything was written */
	bool last_crlf;		/* output so far ends with CRLF */
};

void delivery_stuffer_init(struct delivery_stuffer *st);
/* Appends in[0..len) to out with a '.' doubled at the start of lines and
 * bare LF written as CRLF. */
void delivery_stuffer_add(struct delivery_stuffer *st, const char *in, size_t len,
			  struct buf *out);
/* Ends the data: CRLF if the message did not end with one, then ".\r\n". */
void delivery_stuffer_finish(struct delivery_stuffer *st, struct buf *out);

/* A message source: a file range or a memory buffer. */
struct delivery_body {
	int fd;			/* -1 when reading from mem */
	off_t off;
	off_t end;
	struct buf mem;
	size_t mem_pos;
};

void delivery_body_init_file(struct delivery_body *b, int fd, off_t start, uint64_t size);
/* Takes the buffer's memory. */
void delivery_body_init_mem(struct delivery_body *b, struct buf *data);
void delivery_body_free(struct delivery_body *b);
uint64_t delivery_body_size(const struct delivery_body *b);
/* Copies up to max raw bytes into out. Returns the bytes added, 0 at the
 * end, -1 on a read error. */
ssize_t delivery_body_read(struct delivery_body *b, size_t max, struct buf *out);

#endif
