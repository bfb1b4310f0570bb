/*
 * detail: memcached's per-prefix request counters, `stats detail on|off|dump`
 * and -D <char>.
 *
 * A key's prefix is what comes before the first delimiter (-D, default ':');
 * a key without one is not counted. The protocol records each get (hit or
 * not), set and delete while detail is on: the test is the relaxed atomic
 * load that also serves `watch` (logger.h), the record a lock and a hash
 * lookup. The table holds at most
 * DETAIL_PREFIXES_MAX prefixes, memcached's limit: once full, new prefixes
 * go uncounted, so what clients send cannot grow it past that (a prefix is
 * at most a key long). `stats reset` empties it, as memcached.
 *
 * Lives in common/: protocol/ records and dumps, server/ reports
 * detail_enabled in `stats settings`. Thread-safe (one mutex).
 */
#ifndef COMMON_DETAIL_H
#define COMMON_DETAIL_H

#include <stdbool.h>
#include <stddef.h>

#include "common/logger.h"

#define DETAIL_DELIMITER_DEFAULT ':'
#define DETAIL_PREFIXES_MAX (1u << 16)

enum detail_op { DETAIL_GET, DETAIL_SET, DETAIL_DELETE };

/* The delimiter, and whether counting starts on (memcached: -D turns it on). */
void detail_init(char delimiter, bool enabled);

/* On or off: a bit of logger's word, so requests test it with the streams. */
static inline bool detail_enabled(void)
{
    return logger_wants(LOGGER_DETAIL);
}
void detail_set_enabled(bool on);

/* Counts op on key's prefix (hit: a get that found the key). */
void detail_record(const char *key, size_t nkey, enum detail_op op, bool hit);

/* Calls line(arg, text, len) for each prefix's "PREFIX ... del <n>\r\n" line. */
typedef void (*detail_line_fn)(void *arg, const char *text, size_t len);
void detail_dump(detail_line_fn line, void *arg);

/* Forgets every prefix (`stats reset`, and at exit). */
void detail_clear(void);

#endif
