/* imap_match.c — LIST pattern matching with a two-row dynamic program
 * (no recursion, O(pattern * name)). Runs in the mail workers. Parses
 * client input. */
#include "imap_match.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool match_plain(const char *p, const char *n, char sep)
{
	size_t pl = strlen(p), nl = strlen(n);
	/* row[j]: pattern prefix matches name prefix of length j. */
	bool *prev = x_calloc(nl + 1, sizeof(bool));
	bool *cur = x_calloc(nl + 1, sizeof(bool));
	prev[0] = true;
	for (size_t i = 1; i <= pl; i++) {
		char pc = p[i - 1];
		cur[0] = prev[0] && (pc == '*' || pc == '%');
		for (size_t j = 1; j <= nl; j++) {
			char nc = n[j - 1];
			if (pc == '*')
				cur[j] = prev[j] || cur[j - 1];
			else if (pc == '%')
				cur[j] = prev[j] || (cur[j - 1] && nc != sep);
			else
				cur[j] = prev[j - 1] && pc == nc;
		}
		bool *t = prev;
		prev = cur;
		cur = t;
	}
	bool r = prev[nl];
	free(prev);
	free(cur);
	return r;
}

bool imap_match(const char *pattern, const char *name, char sep)
{
	if (match_plain(pattern, name, sep))
		return true;
	/* "inbox", "Inbox.Sub": INBOX is case-insensitive. */
	if (strncmp(name, "INBOX", 5) == 0 && strncasecmp(pattern, "INBOX", 5) == 0 &&
	    strncmp(pattern, "INBOX", 5) != 0) {
		char *p = x_strdup(pattern);
		memcpy(p, "INBOX", 5);
		bool r = match_plain(p, name, sep);
		free(p);
		return r;
	}
	return false;
}
