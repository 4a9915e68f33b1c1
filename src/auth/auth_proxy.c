/* auth_proxy.c — the webmail's proxy token (see auth_proxy.h). Made in
 * the master, checked in the workers against what an IMAP client sends
 * in ID (untrusted input: compared in constant time). */
#include "auth_proxy.h"

#include <arpa/inet.h>
#include <sodium.h>
#include <stddef.h>
#include <string.h>

static char token[65];

void auth_proxy_token_init(void)
{
	unsigned char raw[32];
	if (sodium_init() < 0)
		return;
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(token, sizeof(token), raw, sizeof(raw));
	sodium_memzero(raw, sizeof(raw));
}

const char *auth_proxy_token(void)
{
	return token[0] != '\0' ? token : NULL;
}

bool auth_proxy_token_valid(const char *s)
{
	if (token[0] == '\0' || s == NULL || strlen(s) != sizeof(token) - 1)
		return false;
	return sodium_memcmp(s, token, sizeof(token) - 1) == 0;
}

bool auth_proxy_ip_valid(const char *s)
{
	unsigned char addr[16];
	return s != NULL && strlen(s) < 64 &&
		(inet_pton(AF_INET, s, addr) == 1 || inet_pton(AF_INET6, s, addr) == 1);
}
