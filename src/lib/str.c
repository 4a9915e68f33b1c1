/* str.c — string helpers. Runs in every process. */
#include "str.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void strv_init(struct strv *sv)
{
	sv->v = NULL;
	sv->n = sv->cap = 0;
}

void strv_free(struct strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	strv_init(sv);
}

void strv_push_owned(struct strv *sv, char *s)
{
	if (sv->n + 2 > sv->cap) {
		sv->cap = sv->cap ? sv->cap * 2 : 8;
		sv->v = x_reallocarray(sv->v, sv->cap, sizeof(char *));
	}
	sv->v[sv->n++] = s;
	sv->v[sv->n] = NULL;
}

void strv_push(struct strv *sv, const char *s)
{
	strv_push_owned(sv, x_strdup(s));
}

bool strv_contains(const struct strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (strcmp(sv->v[i], s) == 0)
			return true;
	return false;
}

bool strv_contains_icase(const struct strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (strcasecmp(sv->v[i], s) == 0)
			return true;
	return false;
}

bool strv_remove(struct strv *sv, const char *s, bool icase)
{
	for (size_t i = 0; i < sv->n; i++) {
		if ((icase ? strcasecmp(sv->v[i], s) : strcmp(sv->v[i], s)) == 0) {
			free(sv->v[i]);
			memmove(&sv->v[i], &sv->v[i + 1], (sv->n - i) * sizeof(char *));
			sv->n--;
			return true;
		}
	}
	return false;
}

void strv_split_ws(struct strv *sv, const char *s)
{
	while (*s != '\0') {
		while (*s == ' ' || *s == '\t' || *s == ',')
			s++;
		const char *start = s;
		while (*s != '\0' && *s != ' ' && *s != '\t' && *s != ',')
			s++;
		if (s > start)
			strv_push_owned(sv, x_strndup(start, (size_t)(s - start)));
	}
}

void strv_copy(struct strv *dst, const struct strv *src)
{
	for (size_t i = 0; i < src->n; i++)
		strv_push(dst, src->v[i]);
}

char *str_trim(char *s)
{
	char *p = s;
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	size_t len = strlen(p);
	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t' ||
			   p[len - 1] == '\r' || p[len - 1] == '\n'))
		len--;
	memmove(s, p, len);
	s[len] = '\0';
	return s;
}

bool str_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool str_has_prefix_icase(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

bool str_has_suffix_icase(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcasecmp(s + a - b, suffix) == 0;
}

char *str_lower(char *s)
{
	for (char *p = s; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return s;
}

int str_to_uint64(const char *s, uint64_t *val_r)
{
	uint64_t v = 0;
	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*val_r = v;
	return 0;
}

/* Splits "123k" into a number and a lower-cased unit suffix. */
static int split_unit(const char *s, uint64_t *num_r, char *unit, size_t unit_size)
{
	size_t i = 0;
	while (s[i] >= '0' && s[i] <= '9')
		i++;
	if (i == 0 || i > 19)
		return -1;
	char num[20];
	memcpy(num, s, i);
	num[i] = '\0';
	if (str_to_uint64(num, num_r) < 0)
		return -1;
	const char *u = s + i;
	while (*u == ' ')
		u++;
	if (strlen(u) >= unit_size)
		return -1;
	strcpy(unit, u);
	str_lower(unit);
	return 0;
}

static int mul_checked(uint64_t a, uint64_t b, uint64_t *r)
{
	if (b != 0 && a > UINT64_MAX / b)
		return -1;
	*r = a * b;
	return 0;
}

int str_to_size(const char *s, uint64_t *val_r)
{
	uint64_t n;
	char unit[8];
	if (split_unit(s, &n, unit, sizeof(unit)) < 0)
		return -1;
	uint64_t mul;
	if (unit[0] == '\0' || strcmp(unit, "b") == 0)
		mul = 1;
	else if (strcmp(unit, "k") == 0 || strcmp(unit, "kb") == 0 || strcmp(unit, "kib") == 0)
		mul = 1024;
	else if (strcmp(unit, "m") == 0 || strcmp(unit, "mb") == 0 || strcmp(unit, "mib") == 0)
		mul = 1024 * 1024;
	else if (strcmp(unit, "g") == 0 || strcmp(unit, "gb") == 0 || strcmp(unit, "gib") == 0)
		mul = 1024ULL * 1024 * 1024;
	else
		return -1;
	return mul_checked(n, mul, val_r);
}

int str_to_duration(const char *s, uint64_t *val_r)
{
	uint64_t n;
	char unit[8];
	if (split_unit(s, &n, unit, sizeof(unit)) < 0)
		return -1;
	uint64_t mul;
	if (unit[0] == '\0' || strcmp(unit, "s") == 0)
		mul = 1;
	else if (strcmp(unit, "m") == 0 || strcmp(unit, "min") == 0)
		mul = 60;
	else if (strcmp(unit, "h") == 0)
		mul = 3600;
	else if (strcmp(unit, "d") == 0)
		mul = 86400;
	else if (strcmp(unit, "w") == 0)
		mul = 7 * 86400;
	else
		return -1;
	return mul_checked(n, mul, val_r);
}

int str_to_bool(const char *s, bool *val_r)
{
	if (strcasecmp(s, "yes") == 0 || strcasecmp(s, "true") == 0 ||
	    strcasecmp(s, "on") == 0 || strcmp(s, "1") == 0) {
		*val_r = true;
		return 0;
	}
	if (strcasecmp(s, "no") == 0 || strcasecmp(s, "false") == 0 ||
	    strcasecmp(s, "off") == 0 || strcmp(s, "0") == 0) {
		*val_r = false;
		return 0;
	}
	return -1;
}

bool mem_equal_ct(const void *a, const void *b, size_t n)
{
	const volatile unsigned char *x = a, *y = b;
	unsigned char d = 0;
	for (size_t i = 0; i < n; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}
