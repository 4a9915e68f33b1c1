/* imap_seqset.c — sequence set parsing and formatting. Runs in the mail
 * workers. Parses client input. */
#include "imap_seqset.h"

#include <stdlib.h>
#include <string.h>

static int parse_num(const char **pp, uint32_t *n_r)
{
	const char *p = *pp;
	if (*p == '*') {
		*n_r = IMAP_SEQ_STAR;
		*pp = p + 1;
		return 0;
	}
	if (*p < '1' || *p > '9')
		return -1;
	uint64_t v = 0;
	while (*p >= '0' && *p <= '9') {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > UINT32_MAX)
			return -1;
		p++;
	}
	*n_r = (uint32_t)v;
	*pp = p;
	return 0;
}

int imap_seqset_parse(const char *s, size_t max_ranges, struct imap_seqset *set_r)
{
	set_r->r = NULL;
	set_r->n = 0;
	size_t cap = 0;
	const char *p = s;
	for (;;) {
		uint32_t lo, hi;
		if (parse_num(&p, &lo) < 0)
			goto fail;
		hi = lo;
		if (*p == ':') {
			p++;
			if (parse_num(&p, &hi) < 0)
				goto fail;
		}
		if (set_r->n >= max_ranges)
			goto fail;
		if (set_r->n == cap) {
			cap = cap == 0 ? 4 : cap * 2;
			set_r->r = x_reallocarray(set_r->r, cap, sizeof(*set_r->r));
		}
		set_r->r[set_r->n].lo = lo < hi ? lo : hi;
		set_r->r[set_r->n].hi = lo < hi ? hi : lo;
		set_r->n++;
		if (*p == '\0')
			return 0;
		if (*p != ',')
			goto fail;
		p++;
	}
fail:
	imap_seqset_free(set_r);
	return -1;
}

void imap_seqset_free(struct imap_seqset *set)
{
	free(set->r);
	set->r = NULL;
	set->n = 0;
}

static int cmp_range(const void *a, const void *b)
{
	const struct imap_seq_range *x = a, *y = b;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->hi < y->hi ? -1 : x->hi > y->hi;
}

void imap_seqset_normalize(struct imap_seqset *set, uint32_t star)
{
	for (size_t i = 0; i < set->n; i++) {
		struct imap_seq_range *r = &set->r[i];
		uint32_t lo = r->lo == IMAP_SEQ_STAR ? star : r->lo;
		uint32_t hi = r->hi == IMAP_SEQ_STAR ? star : r->hi;
		r->lo = lo < hi ? lo : hi;
		r->hi = lo < hi ? hi : lo;
	}
	if (set->n > 1)
		qsort(set->r, set->n, sizeof(*set->r), cmp_range);
	size_t w = 0;
	for (size_t i = 0; i < set->n; i++) {
		if (set->r[i].hi == 0)
			continue;	/* "*" in an empty mailbox */
		if (set->r[i].lo == 0)
			set->r[i].lo = 1;
		if (w > 0 && (uint64_t)set->r[w - 1].hi + 1 >= set->r[i].lo) {
			if (set->r[i].hi > set->r[w - 1].hi)
				set->r[w - 1].hi = set->r[i].hi;
		} else {
			set->r[w++] = set->r[i];
		}
	}
	set->n = w;
}

bool imap_seqset_contains(const struct imap_seqset *set, uint32_t n)
{
	size_t lo = 0, hi = set->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (set->r[mid].hi < n)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < set->n && set->r[lo].lo <= n;
}

uint64_t imap_seqset_count(const struct imap_seqset *set)
{
	uint64_t total = 0;
	for (size_t i = 0; i < set->n; i++)
		total += (uint64_t)set->r[i].hi - set->r[i].lo + 1;
	return total;
}

void imap_seqset_write(struct buf *out, const uint32_t *nums, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j + 1 < n && nums[j + 1] == nums[j] + 1)
			j++;
		if (i > 0)
			buf_append_char(out, ',');
		buf_append_u32(out, nums[i]);
		if (j != i) {
			buf_append_char(out, ':');
			buf_append_u32(out, nums[j]);
		}
		i = j + 1;
	}
}
