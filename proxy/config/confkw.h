/* confkw.h — inside the configuration loader (conf.c and its parts
 * conf_keys.c, conf_values.c and conf_dump.c): the keyword table and what
 * the parts share. Not for use outside proxy/config. */
#ifndef DP_CONFKW_H
#define DP_CONFKW_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "conf.h"

enum sect_kind { SECT_GLOBAL, SECT_DNS, SECT_SERVER, SECT_CLIENT, SECT_IGNORED };

/* Keyword flags. */
#define KW_REQUIRED 0x1	/* missing → error at the section header */
#define KW_WHERE 0x2	/* record the line in the struct conf_where at where_off */
#define KW_LIST 0x4	/* the value is a list; indented continuation lines append */
#define KW_HEX 0x8	/* numbers: show ranges and dump values in hexadecimal */
#define KW_REQUIRED_VALUE 0x10	/* strings: the value may not be empty */
#define KW_U8 0x20	/* numbers: the field is a uint8_t (else unsigned) */
#define KW_U16 0x40	/* numbers: the field is a uint16_t */

struct keyword;

/* Parses val (trimmed, writable) into the field of obj that kw names.
 * Returns DP_OK, DP_ERR_INVALID with a reason in why, or DP_ERR_NOMEM. */
typedef int kw_parse_fn(const struct keyword *kw, void *obj, char *val,
    char *why, size_t why_size);
/* Writes the field of obj that kw names as one "key = value" line (or an
 * INI comment when the value is unset). */
typedef void kw_dump_fn(const struct keyword *kw, const void *obj, FILE *f);

struct choice {
	const char *text;
	int value;
};

struct keyword {
	enum sect_kind kind;
	const char *name;
	kw_parse_fn *parse;
	kw_dump_fn *dump;
	size_t off;			/* the field in the section's struct */
	size_t where_off;		/* its struct conf_where, with KW_WHERE */
	uint64_t min, max;		/* numbers */
	const struct choice *choices;	/* NULL-terminated, for conf_parse_choice */
	unsigned flags;
};

/* Enum fields are read and written as int through memcpy. */
_Static_assert(sizeof(enum conf_dns_mode) == sizeof(int), "enum size");
_Static_assert(sizeof(enum conf_forward) == sizeof(int), "enum size");
_Static_assert(sizeof(enum conf_client_auth) == sizeof(int), "enum size");
_Static_assert(sizeof(enum conf_identity) == sizeof(int), "enum size");
_Static_assert(sizeof(enum conf_recheck) == sizeof(int), "enum size");
_Static_assert(sizeof(enum conf_self_check) == sizeof(int), "enum size");
_Static_assert(sizeof(enum conf_ts002) == sizeof(int), "enum size");
_Static_assert(sizeof(enum conf_stapled) == sizeof(int), "enum size");

/* The keyword table (conf_keys.c), in dump order. N_KEYWORDS, its number of
 * rows, is a constant because it sizes the seen[] of every section conf.c
 * parses; conf_keys.c checks it. */
#define N_KEYWORDS 92
extern const struct keyword conf_keywords[];

/* The index in conf_keywords[] of the keyword name of sections of kind, or
 * -1. */
int conf_keyword_find(enum sect_kind kind, const char *name);

/* The defaults (conf_keys.c): a conf holding those of [global] and [dns],
 * no listeners; a [server NAME] or [client NAME] section holding its own,
 * its conf_where entries pointing at c->file. NULL when out of memory. */
struct conf *conf_new(const char *path);
struct conf_server *conf_server_new(struct conf *c, const char *name);
struct conf_client *conf_client_new(struct conf *c, const char *name);

/* s is a numeric IPv4 or IPv6 address, without a port (conf_values.c). */
int conf_is_ip_literal(const char *s);

/* The value types: one parser each (conf_values.c), one dumper each
 * (conf_dump.c), named in the keyword table. */
kw_parse_fn conf_parse_uint, conf_parse_seconds, conf_parse_ext_type,
    conf_parse_bool, conf_parse_choice, conf_parse_path,
    conf_parse_addr, conf_parse_listen_addr, conf_parse_resolvers, conf_parse_allow,
    conf_parse_allow_from, conf_parse_tls_versions, conf_parse_name,
    conf_parse_label, conf_parse_token, conf_parse_token_list,
    conf_parse_alpn, conf_parse_connect, conf_parse_workers,
    conf_parse_user, conf_parse_probe_name;
kw_dump_fn conf_dump_uint, conf_dump_bool, conf_dump_choice, conf_dump_path,
    conf_dump_addr, conf_dump_resolvers, conf_dump_allow,
    conf_dump_allow_from, conf_dump_tls_versions, conf_dump_name,
    conf_dump_label, conf_dump_connect, conf_dump_workers,
    conf_dump_opt_addr, conf_dump_probe_name;

#endif
