/* net.c — listening sockets and address formatting. Runs in the master
 * (binding, as root) and in workers (formatting peers). */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int net_listen(const char *addr, uint16_t port, int backlog, const char **error_r)
{
	struct sockaddr_storage ss;
	socklen_t len;
	memset(&ss, 0, sizeof(ss));
	const char *host = strcmp(addr, "*") == 0 ? "0.0.0.0" : addr;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	char tmp[128];
	/* Accept "[::1]" as well as "::1". */
	if (host[0] == '[') {
		snprintf(tmp, sizeof(tmp), "%s", host + 1);
		char *end = strchr(tmp, ']');
		if (end != NULL)
			*end = '\0';
		host = tmp;
	}
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		len = sizeof(*sin);
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		len = sizeof(*sin6);
	} else {
		*error_r = "not a numeric IPv4 or IPv6 address";
		return -1;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*error_r = strerror(errno);
		return -1;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, backlog) < 0) {
		*error_r = strerror(errno);
		close(fd);
		return -1;
	}
	return fd;
}

void net_addr_ip(const struct sockaddr *sa, char *buf, size_t size)
{
	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, (socklen_t)size);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		/* Show IPv4-mapped addresses as plain IPv4. */
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
			inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], buf, (socklen_t)size);
		else
			inet_ntop(AF_INET6, &s6->sin6_addr, buf, (socklen_t)size);
	} else if (sa->sa_family == AF_UNIX) {
		snprintf(buf, size, "local");
	} else {
		snprintf(buf, size, "unknown");
	}
}

void net_addr_str(const struct sockaddr *sa, char *buf, size_t size)
{
	char ip[INET6_ADDRSTRLEN];
	net_addr_ip(sa, ip, sizeof(ip));
	if (sa->sa_family == AF_INET)
		snprintf(buf, size, "%s:%u", ip, ntohs(((const struct sockaddr_in *)sa)->sin_port));
	else if (sa->sa_family == AF_INET6)
		snprintf(buf, size, "[%s]:%u", ip, ntohs(((const struct sockaddr_in6 *)sa)->sin6_port));
	else
		snprintf(buf, size, "%s", ip);
}

int net_parse_hostport(const char *s, char *host, size_t host_size, uint16_t *port_r)
{
	const char *port = NULL;
	size_t hlen;
	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (end == NULL)
			return -1;
		hlen = (size_t)(end - s - 1);
		s++;
		if (end[1] == ':' || end[1] == '@')
			port = end + 2;
		else if (end[1] != '\0')
			return -1;
	} else {
		const char *at = strchr(s, '@');
		const char *colon = strchr(s, ':');
		if (at != NULL) {
			hlen = (size_t)(at - s);
			port = at + 1;
		} else if (colon != NULL && strchr(colon + 1, ':') == NULL) {
			hlen = (size_t)(colon - s);
			port = colon + 1;
		} else {
			hlen = strlen(s);
		}
	}
	if (hlen == 0 || hlen >= host_size)
		return -1;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (port != NULL) {
		char *end;
		long p = strtol(port, &end, 10);
		if (*port == '\0' || *end != '\0' || p <= 0 || p > 65535)
			return -1;
		*port_r = (uint16_t)p;
	}
	return 0;
}

bool net_addr_is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return sa->sa_family == AF_UNIX;
}

int net_connect_nonblock(const char *ip, uint16_t port, const char *bind_ip)
{
	struct sockaddr_storage ss;
	socklen_t len;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		len = sizeof(*sin);
	} else if (inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		len = sizeof(*sin6);
	} else {
		errno = EINVAL;
		return -1;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind_ip != NULL && bind_ip[0] != '\0') {
		struct sockaddr_storage bs;
		memset(&bs, 0, sizeof(bs));
		bs.ss_family = ss.ss_family;
		int ok = ss.ss_family == AF_INET ?
			inet_pton(AF_INET, bind_ip, &((struct sockaddr_in *)&bs)->sin_addr) :
			inet_pton(AF_INET6, bind_ip, &((struct sockaddr_in6 *)&bs)->sin6_addr);
		if (ok == 1 && bind(fd, (struct sockaddr *)&bs, len) < 0) {
			int saved = errno;
			close(fd);
			errno = saved;
			return -1;
		}
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&ss, len) < 0 && errno != EINPROGRESS) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}
