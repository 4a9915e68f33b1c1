/* dns.h — asynchronous DNS on a libuv loop through libunbound: MX with
 * RFC 5321 ordering and null MX (RFC 7505), A/AAAA. The resolver is
 * configuration (dns_resolver: the system's /etc/resolv.conf by default,
 * or ADDR@PORT), with DNSSEC validation when a trust anchor is given.
 * Used by the queue process (outbound delivery) and the webmail. */
#ifndef CORREU_DNS_H
#define CORREU_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include "cfg.h"
#include "str.h"

enum dns_status {
	DNS_OK,		/* records found */
	DNS_NXDOMAIN,	/* the name does not exist */
	DNS_NODATA,	/* the name exists, no records of this type */
	DNS_TEMPFAIL,	/* SERVFAIL, timeout, network: try later */
	DNS_BOGUS,	/* DNSSEC validation failed */
};

const char *dns_status_name(enum dns_status st);

struct dns_mx {
	char *host;	/* lower-case, no trailing dot; "" for the root */
	uint16_t pref;
};

struct dns_mx_reply {
	enum dns_status status;
	struct dns_mx *mx;	/* sorted by preference, equals shuffled */
	size_t n;
	bool null_mx;		/* the single record "0 ." of RFC 7505 */
	bool secure;		/* DNSSEC-validated */
	const char *error;	/* text for logs when not DNS_OK */
};

struct dns_addr_reply {
	enum dns_status status;	/* DNS_OK if either family had addresses */
	struct strv addrs;	/* numeric addresses, IPv4 first, then IPv6 */
	bool secure;		/* every answer was validated */
	const char *error;
};

/* Callbacks run from the loop, never before the lookup call returns. The
 * reply is valid only during the call. */
typedef void dns_mx_callback_t(const struct dns_mx_reply *reply, void *ctx);
typedef void dns_addr_callback_t(const struct dns_addr_reply *reply, void *ctx);

struct dns_resolver;
struct dns_query;

/* Creates a resolver that answers through loop. -1/NULL with *error_r
 * when the configuration cannot be applied. */
struct dns_resolver *dns_resolver_new(uv_loop_t *loop, const struct config *cfg,
				      const char **error_r);
/* Cancels every outstanding query (their callbacks are not called). */
void dns_resolver_free(struct dns_resolver **r);

struct dns_query *dns_lookup_mx(struct dns_resolver *r, const char *domain,
				dns_mx_callback_t *cb, void *ctx);
/* Looks up A and AAAA at once. */
struct dns_query *dns_lookup_addr(struct dns_resolver *r, const char *host,
				  dns_addr_callback_t *cb, void *ctx);
/* The callback will not be called; q is freed. */
void dns_query_cancel(struct dns_query *q);

/* Pure helpers, unit-tested. */

/* Parses one MX rdata (preference + uncompressed wire-format name).
 * host_r is allocated (caller frees). */
int dns_mx_parse_rdata(const unsigned char *data, size_t len, struct dns_mx *mx_r);
/* Sorts by preference and shuffles records of equal preference with the
 * given random function (RFC 5321 5.1). */
void dns_mx_sort(struct dns_mx *mx, size_t n, uint32_t (*random_fn)(void));
/* Whether the set is a null MX (one record with host ""). */
bool dns_mx_is_null(const struct dns_mx *mx, size_t n);
void dns_mx_free(struct dns_mx *mx, size_t n);

#endif
