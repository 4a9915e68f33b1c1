/* mail_date.h — RFC 5322 date-time parsing (lenient: obsolete zones, two-
 * digit years, missing weekday or seconds, comments, junk) and formatting.
 * Pure functions (no TZ environment used). Parses untrusted input. */
#ifndef CORREU_MAIL_DATE_H
#define CORREU_MAIL_DATE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include "buf.h"

/* Parses a Date: value. *time_r is UTC seconds; *tz_r the zone offset in
 * minutes east of UTC (0 for unknown zones, as RFC 5322 4.3 says for
 * military ones). Returns -1 if no date could be found. */
int mail_date_parse(const void *s, size_t len, time_t *time_r, int *tz_r);

/* Appends "Tue, 1 Jul 2003 10:52:37 +0200": t shown in zone tz (minutes
 * east of UTC). */
void mail_date_format(time_t t, int tz, struct buf *out);
/* Appends an IMAP date-time "01-Jul-2003 10:52:37 +0200" (INTERNALDATE). */
void mail_date_format_imap(time_t t, int tz, struct buf *out);
/* Parses an IMAP date-time ("dd-Mon-yyyy hh:mm:ss +zzzz", day may be
 * space-padded) as APPEND gives it. */
int mail_date_parse_imap(const char *s, size_t len, time_t *time_r, int *tz_r);
/* Parses an IMAP SEARCH date ("1-Feb-1994"); *time_r is midnight UTC. */
int mail_date_parse_imap_day(const char *s, size_t len, time_t *time_r);

#endif
