/* mail_date.c — RFC 5322 date-time parsing (lenient, obsolete forms) and
 * formatting, IMAP date-time parsing and formatting. Pure functions that
 * never read the TZ environment; used by every process. Parses untrusted
 * input. */
#include "mail_date.h"

#include <ctype.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

static const char *const months[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};
static const char *const wdays[7] = {
	"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat",
};

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int *y_r, int *m_r, int *d_r)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t y = (int64_t)yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	unsigned d = doy - (153 * mp + 2) / 5 + 1;
	unsigned m = mp < 10 ? mp + 3 : mp - 9;
	*y_r = (int)(y + (m <= 2));
	*m_r = (int)m;
	*d_r = (int)d;
}

static int days_in_month(int y, int m)
{
	static const int dm[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dm[m - 1];
}

static int month_lookup(const char *w, size_t n)
{
	if (n < 3)
		return -1;
	for (int i = 0; i < 12; i++) {
		if (strncasecmp(w, months[i], 3) == 0)
			return i + 1;
	}
	return -1;
}

/* Zone names of RFC 5322 4.3; military letters and unknown names are 0. */
static bool zone_lookup(const char *w, size_t n, int *tz_r)
{
	static const struct { const char *name; int hours; } zones[] = {
		{ "UT", 0 }, { "UTC", 0 }, { "GMT", 0 }, { "Z", 0 },
		{ "EST", -5 }, { "EDT", -4 }, { "CST", -6 }, { "CDT", -5 },
		{ "MST", -7 }, { "MDT", -6 }, { "PST", -8 }, { "PDT", -7 },
	};
	for (size_t i = 0; i < N_ELEMENTS(zones); i++) {
		if (strlen(zones[i].name) == n && strncasecmp(w, zones[i].name, n) == 0) {
			*tz_r = zones[i].hours * 60;
			return true;
		}
	}
	if (n == 1 && isalpha((unsigned char)w[0])) {
		*tz_r = 0;
		return true;
	}
	return false;
}

static bool make_time(int y, int mon, int d, int h, int mi, int s, int tz,
		      time_t *time_r)
{
	if (mon < 1 || mon > 12 || d < 1 || y < 1 || y > 9999 ||
	    d > days_in_month(y, mon) || h > 23 || mi > 59 || s > 60)
		return false;
	int64_t t = days_from_civil(y, (unsigned)mon, (unsigned)d) * 86400 +
		h * 3600 + mi * 60 + (s == 60 ? 59 : s);
	t -= (int64_t)tz * 60;
	*time_r = (time_t)t;
	return true;
}

int mail_date_parse(const void *data, size_t len, time_t *time_r, int *tz_r)
{
	const char *s = data, *end = s + len;
	int day = -1, mon = -1, year = -1, h = -1, mi = 0, sec = 0, tz = 0;
	bool have_zone = false;
	long nums[4];
	size_t nnums = 0;
	while (s < end) {
		unsigned char c = (unsigned char)*s;
		if (c == '(') {
			size_t depth = 0;
			while (s < end) {
				if (*s == '(')
					depth++;
				else if (*s == ')' && --depth == 0)
					break;
				s++;
			}
			if (s < end)
				s++;
			continue;
		}
		if (isdigit(c)) {
			const char *st = s;
			long v = 0;
			while (s < end && isdigit((unsigned char)*s) && s - st < 9)
				v = v * 10 + (*s++ - '0');
			if (s < end && *s == ':' && h < 0) {
				/* hh:mm[:ss] */
				h = (int)v;
				s++;
				mi = 0;
				while (s < end && isdigit((unsigned char)*s) && mi < 100)
					mi = mi * 10 + (*s++ - '0');
				if (s < end && *s == ':') {
					s++;
					sec = 0;
					while (s < end && isdigit((unsigned char)*s) && sec < 100)
						sec = sec * 10 + (*s++ - '0');
				}
				continue;
			}
			if (nnums < N_ELEMENTS(nums)) {
				/* a 4-digit number is a year, whatever its place */
				nums[nnums++] = (s - st >= 3) ? -v - 1 : v;
			}
			continue;
		}
		if ((c == '+' || c == '-') &&
		    end - s >= 5 && isdigit((unsigned char)s[1]) &&
		    isdigit((unsigned char)s[2]) && isdigit((unsigned char)s[3]) &&
		    isdigit((unsigned char)s[4]) && h >= 0 && !have_zone) {
			int hh = (s[1] - '0') * 10 + (s[2] - '0');
			int mm = (s[3] - '0') * 10 + (s[4] - '0');
			tz = hh * 60 + mm;
			if (c == '-')
				tz = -tz;
			if (hh > 23 || mm > 59)
				tz = 0;
			have_zone = true;
			s += 5;
			continue;
		}
		if (isalpha(c)) {
			const char *st = s;
			while (s < end && isalpha((unsigned char)*s))
				s++;
			size_t n = (size_t)(s - st);
			int m = month_lookup(st, n);
			if (m > 0 && mon < 0)
				mon = m;
			else if (h >= 0 && !have_zone && zone_lookup(st, n, &tz))
				have_zone = true;
			continue;
		}
		s++;
	}
	/* day and year from the numbers: a year is 3+ digits (stored
	 * negative) or the second small number */
	for (size_t i = 0; i < nnums; i++) {
		long v = nums[i];
		if (v < 0) {
			if (year < 0)
				year = (int)(-v - 1);
		} else if (day < 0 && v >= 1 && v <= 31) {
			day = (int)v;
		} else if (year < 0) {
			year = (int)v;
		}
	}
	if (day < 0 || mon < 0 || year < 0)
		return -1;
	if (year < 50)
		year += 2000;
	else if (year < 1000)
		year += 1900;
	if (h < 0)
		h = 0;
	if (!make_time(year, mon, day, h, mi, sec, tz, time_r))
		return -1;
	*tz_r = tz;
	return 0;
}

static void split(time_t t, int tz, int *y, int *mon, int *d, int *h,
		  int *mi, int *s, int *wday)
{
	int64_t lt = (int64_t)t + (int64_t)tz * 60;
	int64_t days = lt >= 0 ? lt / 86400 : (lt - 86399) / 86400;
	int64_t rem = lt - days * 86400;
	civil_from_days(days, y, mon, d);
	*h = (int)(rem / 3600);
	*mi = (int)(rem / 60 % 60);
	*s = (int)(rem % 60);
	*wday = (int)((days % 7 + 11) % 7);	/* 1970-01-01 was a Thursday */
}

static void append_zone(struct buf *out, int tz)
{
	int a = tz < 0 ? -tz : tz;
	buf_appendf(out, "%c%02d%02d", tz < 0 ? '-' : '+', a / 60 % 100, a % 60);
}

void mail_date_format(time_t t, int tz, struct buf *out)
{
	int y, mon, d, h, mi, s, wd;
	split(t, tz, &y, &mon, &d, &h, &mi, &s, &wd);
	buf_appendf(out, "%s, %d %s %04d %02d:%02d:%02d ", wdays[wd], d,
		    months[mon - 1], y, h, mi, s);
	append_zone(out, tz);
}

void mail_date_format_imap(time_t t, int tz, struct buf *out)
{
	int y, mon, d, h, mi, s, wd;
	split(t, tz, &y, &mon, &d, &h, &mi, &s, &wd);
	buf_appendf(out, "%02d-%s-%04d %02d:%02d:%02d ", d, months[mon - 1], y,
		    h, mi, s);
	append_zone(out, tz);
}

/* Reads exactly n digits. */
static bool digits(const char **p, const char *end, int n, int *v_r)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (*p >= end || !isdigit((unsigned char)**p))
			return false;
		v = v * 10 + (*(*p)++ - '0');
	}
	*v_r = v;
	return true;
}

/* "d-Mon-yyyy" or "dd-Mon-yyyy" (day space-padded if pad). */
static bool imap_day(const char **p, const char *end, int *d, int *m, int *y)
{
	if (*p < end && **p == ' ')
		(*p)++;
	if (!digits(p, end, 1, d))
		return false;
	int d2;
	if (*p < end && isdigit((unsigned char)**p)) {
		digits(p, end, 1, &d2);
		*d = *d * 10 + d2;
	}
	if (*p >= end || **p != '-' || end - *p < 5)
		return false;
	(*p)++;
	*m = month_lookup(*p, 3);
	if (*m < 0)
		return false;
	*p += 3;
	if (*p >= end || **p != '-')
		return false;
	(*p)++;
	return digits(p, end, 4, y);
}

int mail_date_parse_imap(const char *s, size_t len, time_t *time_r, int *tz_r)
{
	const char *p = s, *end = s + len;
	int d, m, y, h, mi, sec, zh, zm;
	if (!imap_day(&p, end, &d, &m, &y) || p >= end || *p++ != ' ' ||
	    !digits(&p, end, 2, &h) || p >= end || *p++ != ':' ||
	    !digits(&p, end, 2, &mi) || p >= end || *p++ != ':' ||
	    !digits(&p, end, 2, &sec) || p >= end || *p++ != ' ' ||
	    p >= end || (*p != '+' && *p != '-'))
		return -1;
	char sign = *p++;
	if (!digits(&p, end, 2, &zh) || !digits(&p, end, 2, &zm) || p != end ||
	    zm > 59)
		return -1;
	int tz = zh * 60 + zm;
	if (sign == '-')
		tz = -tz;
	if (!make_time(y, m, d, h, mi, sec, tz, time_r))
		return -1;
	*tz_r = tz;
	return 0;
}

int mail_date_parse_imap_day(const char *s, size_t len, time_t *time_r)
{
	const char *p = s, *end = s + len;
	int d, m, y;
	if (!imap_day(&p, end, &d, &m, &y) || p != end)
		return -1;
	return make_time(y, m, d, 0, 0, 0, 0, time_r) ? 0 : -1;
}
