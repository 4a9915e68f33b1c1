/* worker_services.c — which function starts a session of each service
 * kind in the workers. One row per protocol. */
#include "worker.h"
#include "smtp_server.h"
#include "pop3_server.h"
#include "imap_service.h"

service_start_t *worker_service(enum service_kind kind)
{
	switch (kind) {
	case SERVICE_SMTP:
	case SERVICE_SUBMISSION:
	case SERVICE_SUBMISSIONS:
		return smtp_service_start;
	case SERVICE_POP3:
	case SERVICE_POP3S:
		return pop3_service_start;
	case SERVICE_IMAP:
	case SERVICE_IMAPS:
		return imap_service_start;
	default:
		return NULL;
	}
}
