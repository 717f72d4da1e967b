/* http1_chunked.c — the chunked body scanner of http1.c: a state machine
 * fed byte by byte through chunk sizes, extensions and trailers, skipping
 * chunk data by count, with bounded line and trailer sizes. */
#include "http1.h"

#include <string.h>

#include "err.h"
#include "http1lex.h"

#define CHUNK_LINE_MAX 4096
#define CHUNK_TRAILERS_MAX 16384
#define CHUNK_SIZE_MAX ((uint64_t)1 << 62)

enum chunked_state {
	CK_SIZE_START = 0,	/* first hex digit of a chunk size */
	CK_SIZE,		/* more hex digits */
	CK_SIZE_BWS,		/* white space after the size: ';' must follow */
	CK_EXT,			/* chunk extensions, up to CR */
	CK_SIZE_LF,		/* LF ending the size line */
	CK_DATA,
	CK_DATA_CR,		/* CRLF after chunk data */
	CK_DATA_LF,
	CK_TR_START,		/* start of a trailer line or of the final CRLF */
	CK_TR_NAME,
	CK_TR_VALUE,
	CK_TR_LF,
	CK_FINAL_LF,
	CK_DONE,
	CK_ERROR,
};

void
http1_chunked_init(struct http1_chunked *ck)
{
	memset(ck, 0, sizeof(*ck));
	ck->state = CK_SIZE_START;
}

static int
hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = http1_ascii_lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Advances by one byte c outside chunk data. Returns DP_OK, or DP_ERR_AGAIN
 * to go on (any state but done), or DP_ERR_INVALID. */
static int
chunked_step(struct http1_chunked *ck, unsigned char c)
{
	int d;

	if (ck->state <= CK_SIZE_LF && ++ck->line_len > CHUNK_LINE_MAX)
		return DP_ERR_INVALID;
	if (ck->state >= CK_TR_START && (++ck->line_len > CHUNK_LINE_MAX ||
	    ++ck->trailer_bytes > CHUNK_TRAILERS_MAX))
		return DP_ERR_INVALID;
	switch (ck->state) {
	case CK_SIZE_START:
	case CK_SIZE:
		if ((d = hex_value(c)) >= 0) {
			if (ck->remaining > (CHUNK_SIZE_MAX - (uint64_t)d) / 16)
				return DP_ERR_INVALID;
			ck->remaining = ck->remaining * 16 + (uint64_t)d;
			ck->state = CK_SIZE;
			return DP_ERR_AGAIN;
		}
		if (ck->state == CK_SIZE_START)
			return DP_ERR_INVALID;
		if (c == '\r')
			ck->state = CK_SIZE_LF;
		else if (c == ';')
			ck->state = CK_EXT;
		else if (http1_is_ows(c))
			ck->state = CK_SIZE_BWS;
		else
			return DP_ERR_INVALID;
		return DP_ERR_AGAIN;
	case CK_SIZE_BWS:
		if (c == ';')
			ck->state = CK_EXT;
		else if (!http1_is_ows(c))
			return DP_ERR_INVALID;
		return DP_ERR_AGAIN;
	case CK_EXT:
		/* Extensions are passed on, never interpreted; what matters is
		 * that no CTL (a bare CR or LF above all) hides in them. */
		if (c == '\r')
			ck->state = CK_SIZE_LF;
		else if (!http1_is_value_char(c))
			return DP_ERR_INVALID;
		return DP_ERR_AGAIN;
	case CK_SIZE_LF:
		if (c != '\n')
			return DP_ERR_INVALID;
		ck->line_len = 0;
		ck->state = ck->remaining == 0 ? CK_TR_START : CK_DATA;
		return DP_ERR_AGAIN;
	case CK_DATA_CR:
		if (c != '\r')
			return DP_ERR_INVALID;
		ck->state = CK_DATA_LF;
		return DP_ERR_AGAIN;
	case CK_DATA_LF:
		if (c != '\n')
			return DP_ERR_INVALID;
		ck->state = CK_SIZE_START;
		return DP_ERR_AGAIN;
	case CK_TR_START:
		if (c == '\r')
			ck->state = CK_FINAL_LF;
		else if (http1_is_tchar(c))
			ck->state = CK_TR_NAME;
		else
			return DP_ERR_INVALID;	/* obs-fold, bare LF, ... */
		return DP_ERR_AGAIN;
	case CK_TR_NAME:
		if (c == ':')
			ck->state = CK_TR_VALUE;
		else if (!http1_is_tchar(c))
			return DP_ERR_INVALID;
		return DP_ERR_AGAIN;
	case CK_TR_VALUE:
		if (c == '\r')
			ck->state = CK_TR_LF;
		else if (!http1_is_value_char(c))
			return DP_ERR_INVALID;
		return DP_ERR_AGAIN;
	case CK_TR_LF:
		if (c != '\n')
			return DP_ERR_INVALID;
		ck->line_len = 0;
		ck->state = CK_TR_START;
		return DP_ERR_AGAIN;
	case CK_FINAL_LF:
		if (c != '\n')
			return DP_ERR_INVALID;
		ck->state = CK_DONE;
		return DP_OK;
	default:
		return DP_ERR_INVALID;
	}
}

int
http1_chunked_scan(struct http1_chunked *ck, const char *buf, size_t len,
    size_t *used)
{
	size_t i = 0, n;
	int r;

	*used = 0;
	if (ck->state == CK_DONE)
		return DP_OK;
	if (ck->state == CK_ERROR)
		return DP_ERR_INVALID;
	while (i < len) {
		if (ck->state == CK_DATA) {
			n = len - i;
			if (n > ck->remaining)
				n = (size_t)ck->remaining;
			i += n;
			ck->remaining -= n;
			if (ck->remaining == 0)
				ck->state = CK_DATA_CR;
			continue;
		}
		r = chunked_step(ck, (unsigned char)buf[i]);
		i++;
		if (r == DP_OK) {
			*used = i;
			return DP_OK;
		}
		if (r != DP_ERR_AGAIN) {
			ck->state = CK_ERROR;
			*used = i - 1;
			return DP_ERR_INVALID;
		}
		if (ck->state == CK_TR_START && !ck->in_trailers) {
			ck->in_trailers = 1;
			if (ck->stop_at_trailers) {
				*used = i;
				return DP_ERR_AGAIN;
			}
		}
	}
	*used = len;
	return DP_ERR_AGAIN;
}

int
http1_chunked_decode(const char *buf, size_t len, char *out, size_t out_size,
    size_t *out_len)
{
	size_t i = 0, n = 0;
	uint64_t size;
	int digits, v;

	*out_len = 0;
	for (;;) {
		/* The size line: hex digits, then anything (BWS, extensions,
		 * which the scanner checked) up to CRLF. */
		size = 0;
		digits = 0;
		while (i < len && (v = hex_value((unsigned char)buf[i])) >= 0) {
			if (size > CHUNK_SIZE_MAX / 16)
				return DP_ERR_INVALID;
			size = size * 16 + (uint64_t)v;
			digits++;
			i++;
		}
		if (digits == 0)
			return DP_ERR_INVALID;
		while (i < len && buf[i] != '\n')
			i++;
		if (i >= len)
			return DP_ERR_INVALID;
		i++;
		if (size == 0)
			break;
		if (size > len - i || len - i - size < 2)
			return DP_ERR_INVALID;
		if (size > out_size - n)
			return DP_ERR_SPACE;
		memcpy(out + n, buf + i, (size_t)size);
		n += (size_t)size;
		i += (size_t)size;
		if (buf[i] != '\r' || buf[i + 1] != '\n')
			return DP_ERR_INVALID;
		i += 2;
	}
	/* Trailers, if any, and the final CRLF: the scanner checked them. */
	if (len - i < 2 || buf[len - 2] != '\r' || buf[len - 1] != '\n')
		return DP_ERR_INVALID;
	*out_len = n;
	return DP_OK;
}
