/* pop3_server.h — the POP3 service (RFC 1939, STLS on pop3_port,
 * implicit TLS on pop3s_port). Runs in the workers. */
#ifndef CORREU_POP3_SERVER_H
#define CORREU_POP3_SERVER_H

#include "service.h"

/* Starts a POP3 session on an accepted socket (service_start_t). */
void pop3_service_start(const struct service_env *env, enum service_kind kind, int fd);

#endif
