/* net.h — socket addresses and listening sockets. */
#ifndef CORREU_NET_H
#define CORREU_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* Enough for "[ffff:...:ffff]:65535". */
#define NET_ADDR_STRLEN 64

/* Creates a non-blocking listening TCP socket on addr:port. addr "*"
 * means all IPv4 addresses, "::" all IPv6 (IPv6-only, so both can be
 * listened on). Returns the fd or -1 with *error_r set (static string
 * or strerror). */
int net_listen(const char *addr, uint16_t port, int backlog, const char **error_r);
/* Formats the IP (without port) of sa into buf. */
void net_addr_ip(const struct sockaddr *sa, char *buf, size_t size);
/* Formats "ip:port" or "[ip6]:port". */
void net_addr_str(const struct sockaddr *sa, char *buf, size_t size);
/* Parses "ip", "ip:port", "[ip6]:port", "ip@port"; port_r keeps its value
 * when none is given. */
int net_parse_hostport(const char *s, char *host, size_t host_size, uint16_t *port_r);
bool net_addr_is_loopback(const struct sockaddr *sa);
/* Non-blocking TCP connect to a numeric address; returns fd or -1. */
int net_connect_nonblock(const char *ip, uint16_t port, const char *bind_ip);

#endif
