/* util.c — see util.h. */
#include "util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"

uint64_t
dp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

size_t
dp_strlcpy(char *dst, const char *src, size_t dst_size)
{
	size_t n = strlen(src);

	if (dst_size > 0) {
		size_t c = n < dst_size - 1 ? n : dst_size - 1;
		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

uint32_t
dp_str_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

void
dp_str_lower(char *s)
{
	for (; *s != '\0'; s++)
		*s = (char)tolower((unsigned char)*s);
}

char *
dp_str_trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

int
dp_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;
	int base = 10;

	if (s == NULL || *s == '\0' || !isdigit((unsigned char)*s))
		return DP_ERR_INVALID;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
		if (!isxdigit((unsigned char)*s))
			return DP_ERR_INVALID;
	}
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return DP_ERR_INVALID;
	*out = v;
	return DP_OK;
}

/* dp_split_hostport with the lowest port allowed: 1, or 0 for a listening
 * address. */
static int
split_hostport(const char *s, char *host, size_t host_size, unsigned min_port,
    uint16_t *port)
{
	const char *h, *colon;
	size_t hlen;
	uint64_t p;

	if (s == NULL || *s == '\0')
		return DP_ERR_INVALID;
	if (*s == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL || close[1] != ':')
			return DP_ERR_INVALID;
		h = s + 1;
		hlen = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL || memchr(s, ':', (size_t)(colon - s)) != NULL)
			return DP_ERR_INVALID;
		h = s;
		hlen = (size_t)(colon - s);
	}
	if (hlen == 0)
		return DP_ERR_INVALID;
	if (hlen >= host_size)
		return DP_ERR_SPACE;
	if (dp_parse_uint(colon + 1, min_port, 65535, &p) != DP_OK)
		return DP_ERR_INVALID;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	*port = (uint16_t)p;
	return DP_OK;
}

int
dp_split_hostport(const char *s, char *host, size_t host_size, uint16_t *port)
{
	return split_hostport(s, host, host_size, 1, port);
}

static int
addr_parse(const char *s, unsigned min_port, struct dp_addr *out)
{
	char host[INET6_ADDRSTRLEN];
	uint16_t port;
	struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;

	if (split_hostport(s, host, sizeof(host), min_port, &port) != DP_OK)
		return DP_ERR_INVALID;
	memset(out, 0, sizeof(*out));
	if (s[0] != '[' && inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		out->len = sizeof(*sin);
		return DP_OK;
	}
	if (s[0] == '[' && inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		out->len = sizeof(*sin6);
		return DP_OK;
	}
	return DP_ERR_INVALID;
}

int
dp_addr_parse(const char *s, struct dp_addr *out)
{
	return addr_parse(s, 1, out);
}

int
dp_listen_addr_parse(const char *s, struct dp_addr *out)
{
	return addr_parse(s, 0, out);
}

uint16_t
dp_addr_port(const struct dp_addr *a)
{
	const struct sockaddr *sa = (const struct sockaddr *)&a->ss;

	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)(const void *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)(const void *)sa)->sin6_port);
	return 0;
}

char *
dp_addr_str(const struct sockaddr *sa, char *buf, size_t buf_size)
{
	char ip[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
		snprintf(buf, buf_size, "%s:%u", ip, ntohs(sin->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
		snprintf(buf, buf_size, "[%s]:%u", ip, ntohs(sin6->sin6_port));
	} else {
		snprintf(buf, buf_size, "unknown");
	}
	return buf;
}

int
dp_addr_is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
		return IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
	}
	return 0;
}

int
dp_dns_name_check(const char *name, size_t len)
{
	size_t i, label = 0;

	if (name == NULL || len == 0 || len > DP_DNS_NAME_MAX)
		return DP_ERR_INVALID;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '.') {
			/* Covers a leading dot and an empty label "a..b". */
			if (label == 0)
				return DP_ERR_INVALID;
			label = 0;
			continue;
		}
		/* Explicit ranges rather than isalnum(): locale-independent,
		 * and no octet >= 0x80 can ever pass. */
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_') ||
		    ++label > DP_DNS_LABEL_MAX)
			return DP_ERR_INVALID;
	}
	/* A trailing dot leaves an empty last label. */
	return label == 0 ? DP_ERR_INVALID : DP_OK;
}

int
dp_cidr_parse(const char *s, struct dp_cidr *out)
{
	char addr[INET6_ADDRSTRLEN + 1], *end;
	const char *slash = strchr(s, '/');
	size_t n = slash != NULL ? (size_t)(slash - s) : strlen(s);
	unsigned long bits;
	unsigned width, i;

	memset(out, 0, sizeof(*out));
	if (n == 0 || n >= sizeof(addr))
		return DP_ERR_INVALID;
	memcpy(addr, s, n);
	addr[n] = '\0';
	if (inet_pton(AF_INET, addr, out->addr) == 1) {
		out->family = AF_INET;
		width = 32;
	} else if (inet_pton(AF_INET6, addr, out->addr) == 1) {
		out->family = AF_INET6;
		width = 128;
	} else {
		return DP_ERR_INVALID;
	}
	bits = width;
	if (slash != NULL) {
		if (!isdigit((unsigned char)slash[1]))
			return DP_ERR_INVALID;
		errno = 0;
		bits = strtoul(slash + 1, &end, 10);
		if (errno != 0 || *end != '\0' || bits > width)
			return DP_ERR_INVALID;
	}
	out->bits = (unsigned)bits;
	for (i = out->bits; i < width; i++)
		if (out->addr[i / 8] & (0x80 >> (i % 8)))
			return DP_ERR_INVALID;	/* host bits set */
	return DP_OK;
}

char *
dp_cidr_str(const struct dp_cidr *c, char *buf, size_t buf_size)
{
	char a[INET6_ADDRSTRLEN];

	if (inet_ntop(c->family, c->addr, a, sizeof(a)) == NULL)
		snprintf(a, sizeof(a), "?");
	snprintf(buf, buf_size, "%s/%u", a, c->bits);
	return buf;
}

/* True if the first bits bits of a and b are equal. */
static int
prefix_equal(const unsigned char *a, const unsigned char *b, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));

	if (memcmp(a, b, full) != 0)
		return 0;
	return rest == 0 || ((a[full] ^ b[full]) & mask) == 0;
}

int
dp_cidr_match(const struct dp_cidr *set, size_t n, const struct sockaddr *sa)
{
	const unsigned char *a;
	int family;
	size_t i;

	if (sa->sa_family == AF_INET) {
		family = AF_INET;
		a = (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr;
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		family = IN6_IS_ADDR_V4MAPPED(a6) ? AF_INET : AF_INET6;
		a = family == AF_INET ? a6->s6_addr + 12 : a6->s6_addr;
	} else {
		return 0;
	}
	for (i = 0; i < n; i++)
		if (set[i].family == family && prefix_equal(a, set[i].addr, set[i].bits))
			return 1;
	return 0;
}

void
dp_tcp_nodelay(int fd)
{
	int one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

void
dp_tcp_quickack(int fd)
{
	int one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
}

void
dp_wbuf_put(struct dp_wbuf *w, const void *data, size_t n)
{
	if (w->overflow || n > w->cap - w->len) {
		w->overflow = 1;
		return;
	}
	if (n > 0)
		memcpy(w->p + w->len, data, n);
	w->len += n;
}

int
dp_addr_equal(const struct dp_addr *a, const struct dp_addr *b)
{
	const struct sockaddr *sa = (const struct sockaddr *)&a->ss;
	const struct sockaddr *sb = (const struct sockaddr *)&b->ss;

	if (sa->sa_family != sb->sa_family)
		return 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)sa, *y = (const void *)sb;

		return x->sin_port == y->sin_port &&
		    x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)sa, *y = (const void *)sb;

		return x->sin6_port == y->sin6_port &&
		    memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
	}
	return 0;
}

struct timeval
dp_ms_tv(uint64_t ms)
{
	struct timeval tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	return tv;
}
