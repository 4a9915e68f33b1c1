/* net_cidr.h — IP addresses and networks in CIDR notation
 * ("192.0.2.7", "192.0.2.0/24", "2001:db8::/32") for address lists in
 * the configuration (trusted_proxies). No I/O; the matcher takes
 * addresses as net_addr_ip() writes them. */
#ifndef CORREU_NET_CIDR_H
#define CORREU_NET_CIDR_H

#include <stdbool.h>
#include "str.h"

struct net_cidr {
	int family;			/* AF_INET or AF_INET6 */
	unsigned char addr[16];		/* network byte order; 4 used for IPv4 */
	unsigned prefix;		/* 0..32 or 0..128 */
};

/* Parses an address (a network of one) or ADDRESS/PREFIX. An IPv4-mapped
 * IPv6 network (::ffff:192.0.2.0/120) becomes the IPv4 one. Returns -1
 * with a static *error_r for anything else, including host bits set
 * below the prefix (192.0.2.1/24: which was meant?). */
int net_cidr_parse(const char *s, struct net_cidr *cidr_r, const char **error_r);
/* Whether the address literal ip lies in cidr; an IPv4-mapped IPv6
 * address counts as its IPv4 address. false when ip is no address. */
bool net_cidr_match(const struct net_cidr *cidr, const char *ip);
/* Whether ip lies in any network of list (strings net_cidr_parse
 * accepts; an entry it refuses matches nothing). */
bool net_cidr_list_match(const struct strv *list, const char *ip);

#endif
