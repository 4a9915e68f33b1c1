/* str.h — small string helpers and string vectors. No mail knowledge. */
#ifndef CORREU_STR_H
#define CORREU_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "xalloc.h"

/* A NULL-terminated, growable vector of owned strings. */
struct strv {
	char **v;
	size_t n;
	size_t cap;
};

void strv_init(struct strv *sv);
void strv_free(struct strv *sv);
/* Appends a copy of s. */
void strv_push(struct strv *sv, const char *s);
/* Appends s itself; the vector takes ownership. */
void strv_push_owned(struct strv *sv, char *s);
bool strv_contains(const struct strv *sv, const char *s);
bool strv_contains_icase(const struct strv *sv, const char *s);
/* Removes the first element equal to s (case-insensitively if icase);
 * returns whether one was removed. */
bool strv_remove(struct strv *sv, const char *s, bool icase);
/* Splits s at runs of spaces, tabs and commas into sv (appending). */
void strv_split_ws(struct strv *sv, const char *s);
void strv_copy(struct strv *dst, const struct strv *src);

/* Trims ASCII whitespace at both ends, in place; returns s. */
char *str_trim(char *s);
bool str_has_prefix(const char *s, const char *prefix);
bool str_has_prefix_icase(const char *s, const char *prefix);
bool str_has_suffix_icase(const char *s, const char *suffix);
/* Lower-cases ASCII letters in place; returns s. */
char *str_lower(char *s);
/* Strict decimal parse of the whole string into *val_r; -1 on junk or
 * overflow. */
int str_to_uint64(const char *s, uint64_t *val_r);
/* Parses "1024", "10k", "10M", "1G" (binary units) into bytes. */
int str_to_size(const char *s, uint64_t *val_r);
/* Parses "30", "30s", "5m", "2h", "5d" into seconds. */
int str_to_duration(const char *s, uint64_t *val_r);
/* Parses yes/no/true/false/on/off/1/0. */
int str_to_bool(const char *s, bool *val_r);
/* Constant-time comparison of two equal-length byte strings. */
bool mem_equal_ct(const void *a, const void *b, size_t n);

#endif
