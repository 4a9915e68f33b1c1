/* auth_base64.h — strict RFC 4648 base64 (with padding) for SASL
 * messages and SCRAM key storage, on top of libsodium. */
#ifndef CORREU_AUTH_BASE64_H
#define CORREU_AUTH_BASE64_H

#include <stddef.h>
#include "buf.h"

/* Appends the encoding of data to out. */
void auth_base64_encode(const void *data, size_t len, struct buf *out);
/* Appends the decoding of in[0..len) to out. Anything but canonical
 * padded base64 (whitespace, a missing '=', junk) fails with -1 and
 * leaves out as it was. */
int auth_base64_decode(const char *in, size_t len, struct buf *out);

#endif
