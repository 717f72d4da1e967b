/* log.c — see log.h. Lines go to stderr with one write each, so lines from
 * several processes never interleave mid-line. */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 2048

static int log_level = DP_LOG_INFO;
static int log_json;
static int log_stderr_done;	/* log_stderr_nonblocking has run */
static int log_stderr_socket;	/* stderr is a socket: send(MSG_DONTWAIT) */
static pid_t log_pid;		/* getpid(), 0 until known; reset by fork */
static unsigned long log_dropped; /* lines lost since one last got through */
/* The tail of a line a stream socket took only part of: written before
 * anything else, so that the next line does not land mid-line. */
static char log_rest[LOG_LINE_MAX];
static size_t log_rest_len;

/* A worker's event loop must never wait for its log: a blocking write to a
 * pipe or socket whose reader stalls (a stuck journald or container log
 * driver) froze every connection of the process once 64 KiB were queued.
 * So writes to a pipe or socket never block: a line that does not fit is
 * dropped, counted, and the count reported by the first line that gets
 * through again. A pipe is reopened through /proc as a new open file
 * description, so O_NONBLOCK does not leak to the other processes sharing
 * the pipe; lines are shorter than PIPE_BUF, so each is written whole or
 * not at all. A socket is written with MSG_DONTWAIT: a stream socket may
 * then take part of a line when it is nearly full, and the rest is kept
 * (log_rest) and written before any other line, so that this process's
 * lines stay whole. Files and terminals are left as they are (a full disk
 * fails a write at once). */
static void
log_stderr_nonblocking(void)
{
	struct stat st;
	int fd;

	log_stderr_done = 1;
	if (fstat(STDERR_FILENO, &st) != 0)
		return;
	if (S_ISSOCK(st.st_mode)) {
		log_stderr_socket = 1;
		return;
	}
	if (!S_ISFIFO(st.st_mode))
		return;
	fd = open("/proc/self/fd/2", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return;
	if (dup2(fd, STDERR_FILENO) < 0) {	/* dup2 clears FD_CLOEXEC */
		close(fd);
		return;
	}
	close(fd);
}

static const char *const level_names[] = { "error", "warn", "info", "debug" };

/* A forked child has another pid, and neither the parent's pending tail
 * nor its drops to report: the parent does both. */
static void
log_forked(void)
{
	log_pid = 0;
	log_rest_len = 0;
	log_dropped = 0;
}

void
log_init(int level, int json)
{
	log_level = level;
	log_json = json;
	if (!log_stderr_done) {
		log_stderr_nonblocking();
		(void)pthread_atfork(NULL, NULL, log_forked);
	}
}

int
log_enabled(int level)
{
	return level <= log_level;
}

/* Appends s to buf at *pos, escaped for JSON or quoted for text if needed. */
static void
append_value(char *buf, size_t size, size_t *pos, const char *s)
{
	int quote = log_json || s[0] == '\0' || strpbrk(s, " \"=\\") != NULL;

	if (quote && *pos < size)
		buf[(*pos)++] = '"';
	for (; *s != '\0' && *pos + 7 < size; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\') {
			buf[(*pos)++] = '\\';
			buf[(*pos)++] = (char)ch;
		} else if (ch < 0x20 || ch == 0x7f) {
			*pos += (size_t)snprintf(buf + *pos, size - *pos, "\\u%04x", ch);
		} else {
			buf[(*pos)++] = (char)ch;
		}
	}
	if (quote && *pos < size)
		buf[(*pos)++] = '"';
}

static size_t
prefix(char *buf, size_t size, int level)
{
	/* Lines come in bursts: the date is formatted once a second. */
	static time_t ts_sec = (time_t)-1;
	static char ts[32];
	struct timeval tv;
	struct tm tm;

	gettimeofday(&tv, NULL);
	if (tv.tv_sec != ts_sec) {
		gmtime_r(&tv.tv_sec, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
		ts_sec = tv.tv_sec;
	}
	if (log_pid == 0)
		log_pid = getpid();
	if (log_json)
		return (size_t)snprintf(buf, size,
		    "{\"time\":\"%s.%03ldZ\",\"pid\":%ld,\"level\":\"%s\"", ts,
		    (long)tv.tv_usec / 1000, (long)log_pid, level_names[level]);
	return (size_t)snprintf(buf, size, "%s.%03ldZ daneproxy[%ld] %s: ", ts,
	    (long)tv.tv_usec / 1000, (long)log_pid, level_names[level]);
}

/* One attempt at writing buf[0..n) to stderr, never blocking on a pipe or
 * socket: the count written, or -1. */
static ssize_t
stderr_write(const char *buf, size_t n)
{
	ssize_t w;

	do {
		if (log_stderr_socket) {
			w = send(STDERR_FILENO, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (w >= 0 || errno != ENOTSOCK)
				continue;
		}
		w = write(STDERR_FILENO, buf, n);
	} while (w < 0 && errno == EINTR);
	return w;
}

/* Writes the tail of a line written in part: 1 once none is left. */
static int
rest_flush(void)
{
	ssize_t w;

	if (log_rest_len == 0)
		return 1;
	if ((w = stderr_write(log_rest, log_rest_len)) <= 0)
		return 0;
	log_rest_len -= (size_t)w;
	memmove(log_rest, log_rest + w, log_rest_len);
	return log_rest_len == 0;
}

/* Writes a whole line (n <= LOG_LINE_MAX): 1 if taken (in part: the rest
 * then waits in log_rest), 0 if not a byte was. */
static int
line_put(const char *buf, size_t n)
{
	ssize_t w = stderr_write(buf, n);

	if (w <= 0)
		return 0;
	log_rest_len = n - (size_t)w;
	memcpy(log_rest, buf + w, log_rest_len);
	return 1;
}

static void
finish(char *buf, size_t pos)
{
	char note[256];
	size_t n;

	if (pos > LOG_LINE_MAX - 3)
		pos = LOG_LINE_MAX - 3;
	if (log_json)
		buf[pos++] = '}';
	buf[pos++] = '\n';
	if (!rest_flush()) {
		log_dropped++;
		return;
	}
	if (log_dropped > 0) {
		/* Said before the line, so that a reader sees where the gap is. */
		n = prefix(note, sizeof(note), DP_LOG_WARN);
		n += (size_t)snprintf(note + n, sizeof(note) - n,
		    log_json ? ",\"msg\":\"log: %lu lines dropped (stderr was not "
		    "writable)\"}\n" : "log: %lu lines dropped (stderr was not "
		    "writable)\n", log_dropped);
		if (n >= sizeof(note) || !line_put(note, n)) {
			log_dropped++;
			return;
		}
		log_dropped = 0;
		if (log_rest_len > 0) {		/* the note went in part */
			log_dropped = 1;
			return;
		}
	}
	if (!line_put(buf, pos))
		log_dropped++;
}

void
log_msg(int level, const char *fmt, ...)
{
	char buf[LOG_LINE_MAX], msg[LOG_LINE_MAX];
	size_t pos;
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pos = prefix(buf, sizeof(buf), level);
	if (log_json) {
		pos += (size_t)snprintf(buf + pos, sizeof(buf) - pos, ",\"msg\":");
		append_value(buf, sizeof(buf) - 2, &pos, msg);
	} else {
		pos += (size_t)snprintf(buf + pos, sizeof(buf) - pos, "%s", msg);
	}
	finish(buf, pos < sizeof(buf) ? pos : sizeof(buf) - 1);
}

void
log_event(int level, const char *event, const struct log_kv *kv, int n)
{
	char buf[LOG_LINE_MAX];
	size_t pos;
	int i;

	if (!log_enabled(level))
		return;
	pos = prefix(buf, sizeof(buf), level);
	if (log_json)
		pos += (size_t)snprintf(buf + pos, sizeof(buf) - pos,
		    ",\"event\":\"%s\"", event);
	else
		pos += (size_t)snprintf(buf + pos, sizeof(buf) - pos, "%s", event);
	for (i = 0; i < n && pos < sizeof(buf) - 8; i++) {
		if (kv[i].value == NULL)
			continue;
		pos += (size_t)snprintf(buf + pos, sizeof(buf) - pos,
		    log_json ? ",\"%s\":" : " %s=", kv[i].key);
		if (pos >= sizeof(buf) - 8)
			break;
		append_value(buf, sizeof(buf) - 2, &pos, kv[i].value);
	}
	finish(buf, pos < sizeof(buf) ? pos : sizeof(buf) - 1);
}

void
log_conn_id(char *buf, size_t buf_size)
{
	static uint32_t prefix_value;
	static uint64_t counter;

	if (prefix_value == 0) {
		struct timeval tv;
		gettimeofday(&tv, NULL);
		prefix_value = (uint32_t)getpid() * 2654435761u ^
		    (uint32_t)tv.tv_sec ^ (uint32_t)tv.tv_usec << 12;
		if (prefix_value == 0)
			prefix_value = 1;
	}
	snprintf(buf, buf_size, "%08x-%llu", prefix_value,
	    (unsigned long long)++counter);
}
