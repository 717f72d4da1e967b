/* http1lex.h — inside the HTTP/1.1 codec (http1.c, http1_rewrite.c and
 * http1_chunked.c): the lexical pieces of RFC 9110 they share. Not for use
 * outside proxy/codec. */
#ifndef DP_HTTP1LEX_H
#define DP_HTTP1LEX_H

#include <stddef.h>

#define HTTP1_VERSION_LEN 8		/* "HTTP/1.x" */

/* Characters (http1.c): a tchar (RFC 9110 §5.6.2); optional white space
 * (SP, HT); a byte allowed inside a field value (VCHAR, obs-text, SP, HT);
 * c lower-cased if an ASCII letter. */
int http1_is_tchar(unsigned char c);
int http1_is_ows(unsigned char c);
int http1_is_value_char(unsigned char c);
unsigned char http1_ascii_lower(unsigned char c);

/* True if the n bytes at s equal lit, ASCII case-insensitively. */
int http1_ieq(const char *s, size_t n, const char *lit);

/* Comma-separated lists (RFC 9110 §5.6.1), element by element (http1.c):
 * http1_list_next gives the next element, OWS-trimmed and possibly empty,
 * and 0 at the end. */
struct list_iter {
	const char *p;
	const char *end;
	int done;
};

void http1_list_init(struct list_iter *it, const char *s, size_t n);
int http1_list_next(struct list_iter *it, const char **elem,
    size_t *elem_len);

#endif
