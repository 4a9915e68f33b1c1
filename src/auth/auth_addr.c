/* auth_addr.c — validation and normalisation of account addresses,
 * domains and alias sources/targets.
 * Runs in the CLI, the auth process and the workers. Parses untrusted
 * input (addresses from SMTP sessions and logins). */
#include "auth_addr.h"
#include "xalloc.h"
#include "str.h"

#include <idn2.h>
#include <stdlib.h>
#include <string.h>

static bool is_ldh(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/* Checks an already lower-cased ASCII domain: LDH labels of 1..63
 * bytes, no leading or trailing hyphen, a non-numeric last label. */
static int check_ascii_domain(const char *d, const char **error_r)
{
	size_t len = strlen(d);
	if (len == 0) {
		*error_r = "empty domain";
		return -1;
	}
	if (len > AUTH_ADDR_DOMAIN_MAX) {
		*error_r = "domain too long";
		return -1;
	}
	const char *label = d;
	bool last_numeric = true;
	for (const char *p = d;; p++) {
		if (*p != '.' && *p != '\0') {
			if (!is_ldh((unsigned char)*p)) {
				*error_r = "invalid character in domain";
				return -1;
			}
			continue;
		}
		size_t n = (size_t)(p - label);
		if (n == 0) {
			*error_r = "empty label in domain";
			return -1;
		}
		if (n > 63) {
			*error_r = "domain label longer than 63 characters";
			return -1;
		}
		if (label[0] == '-' || label[n - 1] == '-') {
			*error_r = "domain label starts or ends with '-'";
			return -1;
		}
		last_numeric = strspn(label, "0123456789") >= n;
		if (*p == '\0')
			break;
		label = p + 1;
	}
	if (last_numeric) {
		*error_r = "domain looks like an IP address";
		return -1;
	}
	return 0;
}

int auth_addr_domain(const char *in, char **out_r, const char **error_r)
{
	char *ascii = NULL;
	bool has_8bit = false;
	for (const char *p = in; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x80)
			has_8bit = true;
	if (in[0] == '\0') {
		*error_r = "empty domain";
		return -1;
	}
	if (has_8bit) {
		char *out = NULL;
		int rc = idn2_to_ascii_8z(in, &out, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
		if (rc != IDN2_OK) {
			*error_r = "domain is not a valid internationalised name";
			return -1;
		}
		ascii = x_strdup(out);
		idn2_free(out);
	} else {
		ascii = str_lower(x_strdup(in));
		/* A-labels must decode to valid U-labels. */
		if (strstr(ascii, "xn--") != NULL) {
			char *u = NULL;
			if (idn2_to_unicode_8z8z(ascii, &u, 0) != IDN2_OK) {
				free(ascii);
				*error_r = "domain holds an invalid xn-- label";
				return -1;
			}
			idn2_free(u);
		}
	}
	str_lower(ascii);
	if (check_ascii_domain(ascii, error_r) < 0) {
		free(ascii);
		return -1;
	}
	*out_r = ascii;
	return 0;
}

static int split(const char *in, char **local_r, const char **domain_r, const char **error_r)
{
	const char *at = strrchr(in, '@');
	if (at == NULL) {
		*error_r = "address has no '@'";
		return -1;
	}
	*local_r = x_strndup(in, (size_t)(at - in));
	*domain_r = at + 1;
	return 0;
}

static bool is_account_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		c == '.' || c == '_' || c == '-' || c == '+' || c == '=';
}

/* atext of RFC 5322 3.2.3 */
static bool is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		(c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* A dot-atom: atext runs separated by single dots. */
static int check_dot_atom(const char *s, bool (*ok)(unsigned char), const char **error_r)
{
	size_t n = strlen(s);
	if (n == 0) {
		*error_r = "empty local part";
		return -1;
	}
	if (n > AUTH_ADDR_LOCAL_MAX) {
		*error_r = "local part longer than 64 characters";
		return -1;
	}
	if (s[0] == '.' || s[n - 1] == '.' || strstr(s, "..") != NULL) {
		*error_r = "local part has a leading, trailing or double '.'";
		return -1;
	}
	for (const char *p = s; *p != '\0'; p++) {
		if (*p != '.' && !ok((unsigned char)*p)) {
			*error_r = "invalid character in local part";
			return -1;
		}
	}
	return 0;
}

static int join(char *local, const char *domain, char **out_r, const char **error_r)
{
	char *d;
	if (auth_addr_domain(domain, &d, error_r) < 0) {
		free(local);
		return -1;
	}
	*out_r = x_asprintf("%s@%s", local, d);
	free(local);
	free(d);
	return 0;
}

int auth_addr_account(const char *in, char **out_r, const char **error_r)
{
	char *local;
	const char *domain;
	if (split(in, &local, &domain, error_r) < 0)
		return -1;
	str_lower(local);
	if (check_dot_atom(local, is_account_char, error_r) < 0) {
		free(local);
		return -1;
	}
	return join(local, domain, out_r, error_r);
}

int auth_addr_alias_source(const char *in, char **out_r, const char **error_r)
{
	if (in[0] == '@') {
		char *d;
		if (auth_addr_domain(in + 1, &d, error_r) < 0)
			return -1;
		*out_r = x_asprintf("@%s", d);
		free(d);
		return 0;
	}
	return auth_addr_account(in, out_r, error_r);
}

int auth_addr_target(const char *in, char **out_r, const char **error_r)
{
	char *local;
	const char *domain;
	if (split(in, &local, &domain, error_r) < 0)
		return -1;
	if (check_dot_atom(local, is_atext, error_r) < 0) {
		free(local);
		return -1;
	}
	return join(local, domain, out_r, error_r);
}

int auth_addr_lookup_key(const char *in, char **out_r)
{
	char *local;
	const char *domain, *error;
	if (split(in, &local, &domain, &error) < 0)
		return -1;
	if (local[0] == '\0' || strlen(local) > 4 * AUTH_ADDR_LOCAL_MAX) {
		free(local);
		return -1;
	}
	str_lower(local);
	return join(local, domain, out_r, &error);
}

const char *auth_addr_domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');
	return at == NULL ? NULL : at + 1;
}
