/* mail_subject.c — RFC 5256 section 2.1 base subject extraction. Pure
 * function; runs in the mail workers. Parses untrusted input: every loop
 * removes at least one byte, so it ends. */
#include "mail_subject.h"
#include "mail_rfc2047.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* Skips "[...]" followed by whitespace at s[*i]; false if not a blob. */
static bool skip_blob(const char *s, size_t len, size_t *i)
{
	size_t j = *i;
	if (j >= len || s[j] != '[')
		return false;
	j++;
	while (j < len && s[j] != '[' && s[j] != ']')
		j++;
	if (j >= len || s[j] != ']')
		return false;
	j++;
	while (j < len && is_wsp(s[j]))
		j++;
	*i = j;
	return true;
}

/* subj-refwd = ("re" / ("fw" ["d"])) *WSP *subj-blob ":" */
static bool skip_refwd(const char *s, size_t len, size_t *i)
{
	size_t j = *i;
	if (len - j >= 2 && strncasecmp(s + j, "re", 2) == 0)
		j += 2;
	else if (len - j >= 3 && strncasecmp(s + j, "fwd", 3) == 0)
		j += 3;
	else if (len - j >= 2 && strncasecmp(s + j, "fw", 2) == 0)
		j += 2;
	else
		return false;
	while (j < len && is_wsp(s[j]))
		j++;
	while (skip_blob(s, len, &j))
		;
	if (j >= len || s[j] != ':')
		return false;
	*i = j + 1;
	return true;
}

void mail_subject_base(const char *raw, size_t len, struct buf *out,
		       bool *is_reply_r)
{
	bool reply = false;
	/* (1) decode to UTF-8 and collapse whitespace runs to one space */
	char *dec = mail_rfc2047_decode_dup(raw, len);
	size_t n = 0;
	for (size_t i = 0; dec[i] != '\0'; i++) {
		char c = dec[i] == '\t' || dec[i] == '\r' || dec[i] == '\n' ? ' ' : dec[i];
		if (c == ' ' && (n == 0 || dec[n - 1] == ' '))
			continue;
		dec[n++] = c;
	}
	dec[n] = '\0';
	size_t start = 0, end = n;
	for (;;) {
		/* (2) remove trailing whitespace and "(fwd)" */
		bool changed = true;
		while (changed) {
			changed = false;
			while (end > start && is_wsp(dec[end - 1])) {
				end--;
				changed = true;
			}
			if (end - start >= 5 && strncasecmp(dec + end - 5, "(fwd)", 5) == 0) {
				end -= 5;
				reply = true;
				changed = true;
			}
		}
		/* (3)-(5) leading subj-refwd and subj-blob */
		bool again = true;
		while (again && start < end) {
			again = false;
			size_t j = start;
			while (j < end && is_wsp(dec[j]))
				j++;
			if (skip_refwd(dec, end, &j)) {
				start = j;
				reply = true;
				again = true;
				continue;
			}
			size_t k = j;
			if (skip_blob(dec, end, &k) && k < end) {
				/* only if something is left after the blob */
				start = k;
				again = true;
			}
		}
		while (start < end && is_wsp(dec[start]))
			start++;
		/* (6) "[fwd:" ... "]" wrapper */
		if (end - start >= 6 && strncasecmp(dec + start, "[fwd:", 5) == 0 &&
		    dec[end - 1] == ']') {
			start += 5;
			end--;
			reply = true;
			continue;
		}
		break;
	}
	buf_append(out, dec + start, end - start);
	free(dec);
	if (is_reply_r != NULL)
		*is_reply_r = reply;
}
