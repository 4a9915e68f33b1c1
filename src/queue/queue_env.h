/* queue_env.h — the envelope file format: one "key value" line per
 * field, one "rcpt ..." line per recipient, fields percent-escaped so
 * that no value holds a space, control byte or newline. Readable with
 * less(1); `correu queue show` prints it decoded. */
#ifndef CORREU_QUEUE_ENV_H
#define CORREU_QUEUE_ENV_H

#include "buf.h"
#include "queue.h"

/* Largest envelope file accepted when reading. */
#define QUEUE_ENV_MAX_SIZE (16u * 1024 * 1024)
/* Recipients per envelope accepted when reading. */
#define QUEUE_ENV_MAX_RCPTS 100000u

/* Appends the envelope in file format to out. */
void queue_env_format(const struct queue_envelope *env, struct buf *out);
/* Parses a whole envelope file into env (initialised here; freed on
 * error too). -1 with *error_r (static text) on any malformed line. */
int queue_env_parse(const char *data, size_t len, struct queue_envelope *env,
		    const char **error_r);

/* Percent-escaping of one field: NULL is "-", "" is "%", bytes <= 0x20,
 * 0x7f, '%' and a leading '-' become %XX. */
void queue_env_escape(struct buf *out, const char *s);
/* Reverse; returns NULL (with *ok_r true) for "-", and sets *ok_r false
 * on a bad escape. Caller frees. */
char *queue_env_unescape(const char *s, bool *ok_r);

const char *queue_rcpt_status_name(enum queue_rcpt_status st);
#endif
