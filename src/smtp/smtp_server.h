/* smtp_server.h — the SMTP server service: MX (port 25), submission
 * (587, STARTTLS) and submissions (465, implicit TLS). */
#ifndef CORREU_SMTP_SERVER_H
#define CORREU_SMTP_SERVER_H

#include "service.h"

/* service_start_t for SERVICE_SMTP, SERVICE_SUBMISSION, SERVICE_SUBMISSIONS. */
void smtp_service_start(const struct service_env *env, enum service_kind kind, int fd);

#endif
