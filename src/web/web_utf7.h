/* web_utf7.h — IMAP mailbox names in modified UTF-7 (RFC 3501 5.1.3),
 * converted to and from the UTF-8 the browser sees. Pure functions.
 * Decodes untrusted input (names listed by the server). */
#ifndef CORREU_WEB_UTF7_H
#define CORREU_WEB_UTF7_H

/* New UTF-8 string, or NULL if s is not valid modified UTF-7. */
char *web_utf7_to_utf8(const char *s);
/* New modified UTF-7 string, or NULL if s is not valid UTF-8. */
char *web_utf8_to_utf7(const char *s);

#endif
