/* imap_seqset.h — IMAP sequence sets ("1:5,7,9:*") for message numbers
 * and UIDs, and writing sorted numbers back in compact form. Pure
 * functions; runs in the mail workers. Parses client input. */
#ifndef CORREU_IMAP_SEQSET_H
#define CORREU_IMAP_SEQSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "buf.h"

#define IMAP_SEQ_STAR UINT32_MAX

struct imap_seq_range {
	uint32_t lo, hi;	/* lo <= hi after parsing; '*' = IMAP_SEQ_STAR */
};

struct imap_seqset {
	struct imap_seq_range *r;
	size_t n;
};

/* Parses s. Numbers must be 1..4294967295; at most max_ranges ranges.
 * Returns -1 on bad syntax or too many ranges. */
int imap_seqset_parse(const char *s, size_t max_ranges, struct imap_seqset *set_r);
void imap_seqset_free(struct imap_seqset *set);
/* Replaces '*' with star (the largest number in use; 0 if none), then
 * sorts and merges the ranges. */
void imap_seqset_normalize(struct imap_seqset *set, uint32_t star);
/* After normalize: binary search. */
bool imap_seqset_contains(const struct imap_seqset *set, uint32_t n);
/* Number of values (after normalize), saturating at UINT64_MAX. */
uint64_t imap_seqset_count(const struct imap_seqset *set);
/* Appends sorted, distinct numbers as a compact set ("1:3,7"). */
void imap_seqset_write(struct buf *out, const uint32_t *nums, size_t n);

#endif
