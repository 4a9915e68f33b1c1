/* dns_mx.c — MX records: rdata decoding, RFC 5321 5.1 ordering with
 * random choice among equal preferences, null MX (RFC 7505). Pure
 * functions, run in the queue process. Parses DNS answer data (from the
 * network, via libunbound): bounds-checked. */
#include "dns.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

void dns_mx_free(struct dns_mx *mx, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(mx[i].host);
	free(mx);
}

int dns_mx_parse_rdata(const unsigned char *data, size_t len, struct dns_mx *mx_r)
{
	if (len < 3)
		return -1;
	uint16_t pref = (uint16_t)((data[0] << 8) | data[1]);
	char name[256];
	size_t out = 0;
	size_t pos = 2;
	for (;;) {
		if (pos >= len)
			return -1;
		unsigned lab = data[pos++];
		if (lab == 0)
			break;
		/* Compression pointers and extended labels are not expected
		 * in libunbound's uncompressed rdata. */
		if (lab > 63 || pos + lab > len || out + lab + 1 >= sizeof(name))
			return -1;
		if (out > 0)
			name[out++] = '.';
		for (unsigned i = 0; i < lab; i++) {
			unsigned char c = data[pos + i];
			/* Host names are letters, digits, '-' and '_'; anything
			 * else (dots inside labels, control bytes) is refused. */
			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || c == '-' || c == '_'))
				return -1;
			name[out++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
		}
		pos += lab;
	}
	if (pos != len)
		return -1;
	name[out] = '\0';
	mx_r->pref = pref;
	mx_r->host = x_strdup(name);
	return 0;
}

static int cmp_pref(const void *a, const void *b)
{
	const struct dns_mx *x = a, *y = b;
	return (int)x->pref - (int)y->pref;
}

void dns_mx_sort(struct dns_mx *mx, size_t n, uint32_t (*random_fn)(void))
{
	if (n < 2)
		return;
	qsort(mx, n, sizeof(*mx), cmp_pref);
	/* Fisher-Yates within each run of equal preference. */
	size_t start = 0;
	while (start < n) {
		size_t end = start + 1;
		while (end < n && mx[end].pref == mx[start].pref)
			end++;
		for (size_t i = end - 1; i > start; i--) {
			size_t j = start + random_fn() % (i - start + 1);
			struct dns_mx t = mx[i];
			mx[i] = mx[j];
			mx[j] = t;
		}
		start = end;
	}
}

bool dns_mx_is_null(const struct dns_mx *mx, size_t n)
{
	return n == 1 && mx[0].host[0] == '\0';
}
