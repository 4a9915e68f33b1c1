/* imap_service.h — the IMAP service of the mail workers: the worker
 * calls imap_service_start for every connection accepted on the IMAP
 * (STARTTLS) and IMAPS (implicit TLS) ports. */
#ifndef CORREU_IMAP_SERVICE_H
#define CORREU_IMAP_SERVICE_H

#include "service.h"

/* Starts an IMAP session on fd (kind SERVICE_IMAP or SERVICE_IMAPS). */
service_start_t imap_service_start;

#endif
