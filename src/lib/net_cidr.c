/* net_cidr.c — CIDR networks (see net_cidr.h). Runs in the master, the
 * commands and the mail workers; parses configuration values and
 * matches peer addresses (and addresses a trusted proxy names). */
#include "net_cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* An address literal into family/addr; IPv4-mapped IPv6 becomes IPv4. */
static bool parse_addr(const char *s, size_t len, int *family_r, unsigned char addr[16],
		       bool *mapped_r)
{
	char tmp[INET6_ADDRSTRLEN];
	*mapped_r = false;
	if (len == 0 || len >= sizeof(tmp))
		return false;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if (inet_pton(AF_INET, tmp, addr) == 1) {
		*family_r = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, tmp, addr) != 1)
		return false;
	if (memcmp(addr, v4mapped, sizeof(v4mapped)) == 0) {
		memmove(addr, addr + 12, 4);
		*family_r = AF_INET;
		*mapped_r = true;
	} else {
		*family_r = AF_INET6;
	}
	return true;
}

/* Whether the first prefix bits of a and b are equal. */
static bool prefix_equal(const unsigned char *a, const unsigned char *b, unsigned prefix)
{
	unsigned bytes = prefix / 8, bits = prefix % 8;
	if (memcmp(a, b, bytes) != 0)
		return false;
	if (bits == 0)
		return true;
	unsigned char mask = (unsigned char)(0xff << (8 - bits));
	return ((a[bytes] ^ b[bytes]) & mask) == 0;
}

int net_cidr_parse(const char *s, struct net_cidr *cidr_r, const char **error_r)
{
	const char *slash = strchr(s, '/');
	size_t alen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	struct net_cidr c;
	memset(&c, 0, sizeof(c));
	bool mapped;
	if (!parse_addr(s, alen, &c.family, c.addr, &mapped)) {
		*error_r = "not an IP address";
		return -1;
	}
	unsigned max = c.family == AF_INET ? 32 : 128;
	c.prefix = max;
	if (slash != NULL) {
		const char *p = slash + 1;
		unsigned n = 0;
		/* 1 to 3 digits, no sign, no leading zero */
		size_t digits = strspn(p, "0123456789");
		if (digits == 0 || digits > 3 || p[digits] != '\0' || (p[0] == '0' && digits > 1)) {
			*error_r = "prefix length must be a number";
			return -1;
		}
		for (size_t i = 0; i < digits; i++)
			n = n * 10 + (unsigned)(p[i] - '0');
		if (mapped) {
			/* ::ffff:a.b.c.d/N counts the 96 mapping bits */
			if (n < 96 || n > 128) {
				*error_r = "prefix length of an IPv4-mapped network must be 96..128";
				return -1;
			}
			n -= 96;
		}
		if (n > max) {
			*error_r = c.family == AF_INET ? "prefix length must be 0..32" :
				"prefix length must be 0..128";
			return -1;
		}
		c.prefix = n;
	}
	/* host bits: everything after the prefix must be zero */
	for (unsigned bit = c.prefix; bit < max; bit++) {
		if ((c.addr[bit / 8] >> (7 - bit % 8)) & 1) {
			*error_r = "address has bits set after the prefix length";
			return -1;
		}
	}
	*cidr_r = c;
	return 0;
}

bool net_cidr_match(const struct net_cidr *cidr, const char *ip)
{
	int family;
	unsigned char addr[16];
	bool mapped;
	if (ip == NULL || !parse_addr(ip, strlen(ip), &family, addr, &mapped))
		return false;
	return family == cidr->family && prefix_equal(addr, cidr->addr, cidr->prefix);
}

bool net_cidr_list_match(const struct strv *list, const char *ip)
{
	for (size_t i = 0; i < list->n; i++) {
		struct net_cidr c;
		const char *error;
		if (net_cidr_parse(list->v[i], &c, &error) == 0 && net_cidr_match(&c, ip))
			return true;
	}
	return false;
}
