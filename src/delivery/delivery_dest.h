/* delivery_dest.h — destinations: for each recipient domain, the MX
 * lookup (RFC 5321 5.1: preference order, random among equals, A/AAAA
 * fallback, null MX), a FIFO of transactions waiting for a connection,
 * and the connections themselves: at most smtp_out_dest_concurrency per
 * domain and smtp_out_max_connections in all, reused for the next
 * transaction and closed after smtp_out_idle_time without work. A host
 * that cannot be reached is skipped for the next one; when none is left
 * the waiting transactions fail temporarily, and so do new ones for that
 * domain during the next minute (no connection storm towards a dead
 * destination). Runs in the queue process. */
#ifndef CORREU_DELIVERY_DEST_H
#define CORREU_DELIVERY_DEST_H

#include <stdbool.h>
#include <uv.h>
#include "cfg.h"
#include "delivery_client.h"
#include "dns.h"

struct delivery_dests;

/* Called once per submitted transaction, from the loop, with every
 * result decided. */
typedef void delivery_txn_done_t(struct delivery_txn *txn, void *ctx);

struct delivery_dests *delivery_dests_new(uv_loop_t *loop, const struct config *cfg,
					  struct dns_resolver *dns,
					  const struct delivery_client_params *client,
					  delivery_txn_done_t *done, void *ctx);
/* Frees what is idle; call after delivery_dests_shutdown() when
 * delivery_dests_busy() is false. */
void delivery_dests_free(struct delivery_dests **ds);

/* Queues a transaction for the recipients' domain (lower-case; may be
 * an address literal "[192.0.2.1]"). */
void delivery_dests_submit(struct delivery_dests *ds, const char *domain,
			   struct delivery_txn *txn);
/* Forgets which hosts and destinations failed, so the next transactions
 * try them all (`queue flush`). */
void delivery_dests_reset_hosts(struct delivery_dests *ds);
/* New configuration and resolver (SIGHUP); used for new connections. */
void delivery_dests_reconfigure(struct delivery_dests *ds, const struct config *cfg,
				struct dns_resolver *dns,
				const struct delivery_client_params *client);
/* Closes every connection and fails every waiting transaction
 * temporarily. */
void delivery_dests_shutdown(struct delivery_dests *ds);
/* Whether any connection or transaction is still outstanding. */
bool delivery_dests_busy(const struct delivery_dests *ds);

/* The TLS policy for a domain: the matching smtp_out_tls_policy line
 * ("example.org verify", or ".example.org" for its subdomains) or
 * smtp_out_tls. */
enum delivery_tls delivery_dest_tls_policy(const struct config *cfg, const char *domain);

#endif
