/* log.h — leveled logging to stderr, as text or JSON lines. */
#ifndef DP_LOG_H
#define DP_LOG_H

#include <stddef.h>
#include <stdint.h>

enum dp_log_level {
	DP_LOG_ERROR = 0,
	DP_LOG_WARN = 1,
	DP_LOG_INFO = 2,
	DP_LOG_DEBUG = 3,
};

/* Sets the threshold and the format (json != 0: one JSON object a line).
 * The first call also makes writes to a pipe or socket on stderr
 * non-blocking (a line that does not fit is dropped; the next line that
 * gets through is preceded by "log: N lines dropped (stderr was not
 * writable)"), and has fork() reset the cached pid in the child. */
void log_init(int level, int json);

/* True when messages of this level are written. */
int log_enabled(int level);

/* Writes one line, prefixed with time, pid and level. The message is free
 * text; in JSON form it becomes the "msg" member. */
void log_msg(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* One key=value pair of a structured event line. */
struct log_kv {
	const char *key;
	const char *value;	/* NULL: the pair is left out */
};

/* Writes one structured event line: "event k1=v1 k2=v2" in text form (values
 * with spaces or quotes are quoted), an object in JSON form. */
void log_event(int level, const char *event, const struct log_kv *kv, int n);

/* Writes a new connection id, unique within this process and unlikely to
 * repeat across processes ("<8 hex of pid and start time>-<counter>"), into
 * buf (>= LOG_CONN_ID_LEN bytes). */
#define LOG_CONN_ID_LEN 32
void log_conn_id(char *buf, size_t buf_size);

#define log_error(...) log_msg(DP_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(DP_LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(DP_LOG_INFO, __VA_ARGS__)
#define log_debug(...) do { if (log_enabled(DP_LOG_DEBUG)) log_msg(DP_LOG_DEBUG, __VA_ARGS__); } while (0)

#endif
