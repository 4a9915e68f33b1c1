/* auth_proto.h — the line protocol between workers (auth_client.c) and
 * the auth process (auth_server.c) on data_dir/run/auth.sock. The
 * protocol itself is described in auth_server.h. This is its codec:
 * splitting lines, escaping fields, checking each message's shape. No
 * I/O: bytes in, messages out. */
#ifndef CORREU_AUTH_PROTO_H
#define CORREU_AUTH_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "buf.h"

/* Longest line either side sends, "\n" included. */
#define AUTH_PROTO_LINE_MAX 16384
/* Most fields after the id. */
#define AUTH_PROTO_ARGS_MAX 4

enum auth_proto_type {
	/* worker -> auth process */
	AUTH_MSG_VERIFY,	/* service ip user password */
	AUTH_MSG_START,		/* service ip mech [initial-response] */
	AUTH_MSG_CONTINUE,	/* response (either direction) */
	AUTH_MSG_CANCEL,	/* (nothing) */
	/* auth process -> worker (AUTH_MSG_CONTINUE too) */
	AUTH_MSG_OK,		/* user */
	AUTH_MSG_FAIL,
	AUTH_MSG_BLOCKED,
	AUTH_MSG_TEMPFAIL,
};

struct auth_proto_msg {
	enum auth_proto_type type;
	uint32_t id;			/* 1 .. 2^32-1 */
	unsigned nargs;
	char *args[AUTH_PROTO_ARGS_MAX];	/* unescaped, owned */
};

void auth_proto_msg_free(struct auth_proto_msg *msg);

/* Takes the next complete line from in (consuming it) and parses it.
 * Returns 1 with *msg_r filled, 0 if no complete line is buffered yet,
 * -1 on a malformed or over-long line (*error_r; the peer is broken and
 * the connection should be closed). from_server selects which messages
 * are valid. */
int auth_proto_read(struct buf *in, bool from_server, struct auth_proto_msg *msg_r,
		    const char **error_r);

/* Appends one line: the verb of type, id and the fields (escaped). */
void auth_proto_write(struct buf *out, enum auth_proto_type type, uint32_t id,
		      const char *const *args, unsigned nargs);

#endif
