/* util.h — strings, numbers, addresses and time. No I/O, no logging. */
#ifndef DP_UTIL_H
#define DP_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/time.h>

/* A socket address as parsed from the configuration. */
struct dp_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* Longest text dp_addr_str() produces: "[" IPv6 "]:" port, NUL. */
#define DP_ADDR_STRLEN 64

/* An append-only writer into a caller's buffer that remembers the first
 * overflow, so encoders read as a straight sequence of puts checked once at
 * the end. Initialise as { buf, size, 0, 0 }. */
struct dp_wbuf {
	unsigned char *p;
	size_t cap;
	size_t len;
	int overflow;		/* set once anything did not fit; nothing more is written */
};

/* Appends n bytes, or sets overflow if they do not fit. */
void dp_wbuf_put(struct dp_wbuf *w, const void *data, size_t n);

/* Monotonic clock in milliseconds. */
uint64_t dp_now_ms(void);

/* Copies src into dst of size dst_size, always NUL-terminating when
 * dst_size > 0. Returns strlen(src); truncation happened if >= dst_size. */
size_t dp_strlcpy(char *dst, const char *src, size_t dst_size);

/* FNV-1a hash of a NUL-terminated string, for hash tables. */
uint32_t dp_str_hash(const char *s);

/* Lower-cases ASCII letters in place. */
void dp_str_lower(char *s);

/* Removes leading and trailing white space in place; returns s advanced past
 * the leading white space. */
char *dp_str_trim(char *s);

/* Parses an unsigned integer, decimal or 0x-prefixed hexadecimal, with no
 * trailing garbage, into *out if min <= value <= max.
 * Returns DP_OK or DP_ERR_INVALID. */
int dp_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Splits "host:port", "[v6]:port" into host (brackets removed) and port
 * (1..65535). Returns DP_OK, DP_ERR_INVALID, or DP_ERR_SPACE if host does
 * not fit host_size. */
int dp_split_hostport(const char *s, char *host, size_t host_size, uint16_t *port);

/* Parses a numeric "a.b.c.d:port" or "[v6]:port" into *out (no name lookup).
 * Returns DP_OK or DP_ERR_INVALID. */
int dp_addr_parse(const char *s, struct dp_addr *out);

/* The same for an address to listen on, where port 0 is also accepted: the
 * kernel chooses the port when the socket is bound. */
int dp_listen_addr_parse(const char *s, struct dp_addr *out);

/* The port of an IPv4 or IPv6 address, in host order (0 for another
 * family). */
uint16_t dp_addr_port(const struct dp_addr *a);

/* ms milliseconds as a struct timeval (for event_add). */
struct timeval dp_ms_tv(uint64_t ms);

/* True when a and b are the same IPv4 or IPv6 address and port. */
int dp_addr_equal(const struct dp_addr *a, const struct dp_addr *b);

/* Formats a socket address as "a.b.c.d:port" or "[v6]:port" into buf
 * (at least DP_ADDR_STRLEN bytes). Returns buf. */
char *dp_addr_str(const struct sockaddr *sa, char *buf, size_t buf_size);

/* Turns Nagle's algorithm off on a TCP socket (small request/response
 * exchanges must not wait for delayed ACKs). */
void dp_tcp_nodelay(int fd);

/* Sends the ACK the kernel is holding back for fd now (TCP_QUICKACK), rather
 * than after the delayed-ACK timer (~40 ms). For the moment a peer's last
 * handshake message arrives and nothing goes back: a peer with Nagle's
 * algorithm on holds its first request until that ACK. */
void dp_tcp_quickack(int fd);

/* True if the address is in 127.0.0.0/8 or is ::1. */
int dp_addr_is_loopback(const struct sockaddr *sa);

/* The one grammar of a DNS name daneproxy accepts anywhere (a ClientName,
 * an allow pattern's name, a TLSA owner, a configured host): presentation
 * form, letters, digits, '-' and '_' (underscore labels are TLSA owners'),
 * labels of 1..63 octets, no empty label, no leading or trailing dot,
 * 1..DP_DNS_NAME_MAX characters, A-labels only (no octet >= 0x80). */
#define DP_DNS_NAME_MAX 253
#define DP_DNS_LABEL_MAX 63

/* Checks the len bytes at name (not NUL-terminated) against that grammar.
 * Returns DP_OK or DP_ERR_INVALID. */
int dp_dns_name_check(const char *name, size_t len);

/* An address prefix: 192.0.2.0/24, 2001:db8::/32, or one address. */
struct dp_cidr {
	int family;			/* AF_INET or AF_INET6 */
	unsigned char addr[16];		/* network order; 4 bytes used for IPv4 */
	unsigned bits;			/* prefix length: 0..32 or 0..128 */
};

/* Parses "ADDR" or "ADDR/BITS" (numeric IPv4 or IPv6; bits within the
 * family's width). The host bits must be zero ("192.0.2.1/24" is refused:
 * it usually means a typo). Returns DP_OK or DP_ERR_INVALID. */
int dp_cidr_parse(const char *s, struct dp_cidr *out);

/* Formats c as "ADDR/BITS" into buf (at least DP_ADDR_STRLEN bytes). */
char *dp_cidr_str(const struct dp_cidr *c, char *buf, size_t buf_size);

/* True if sa (IPv4, IPv6, or IPv4-mapped IPv6 taken as IPv4) lies in one
 * of the n prefixes. */
int dp_cidr_match(const struct dp_cidr *set, size_t n, const struct sockaddr *sa);

#endif
