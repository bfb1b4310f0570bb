/*
 * counters: the per-thread request counters, declared once.
 *
 * Each worker thread owns one struct proto_counters; the protocol increments
 * it on that thread (common/counter.h: no locked instruction), and the server
 * sums all workers' structs for `stats`, `stats slabs` and `stats items`. The
 * X-macro lists below are the one place a counter is named: the struct, the
 * summing and the stats printing all expand from them, with memcached's stat
 * names.
 */
#ifndef PROTOCOL_COUNTERS_H
#define PROTOCOL_COUNTERS_H

#include "common/counter.h"
#include "slabs/store.h"

/* Totals over all classes, as printed by `stats`. */
#define PROTO_THREAD_COUNTERS(X) \
    X(cmd_get)          \
    X(cmd_set)          \
    X(cmd_flush)        \
    X(cmd_touch)        \
    X(cmd_meta)         \
    X(get_hits)         \
    X(get_misses)       \
    X(get_expired)      \
    X(get_flushed)      \
    X(delete_misses)    \
    X(delete_hits)      \
    X(incr_misses)      \
    X(incr_hits)        \
    X(decr_misses)      \
    X(decr_hits)        \
    X(cas_misses)       \
    X(cas_hits)         \
    X(cas_badval)       \
    X(touch_hits)       \
    X(touch_misses)     \
    X(store_too_large)  \
    X(store_no_memory)  \
    X(auth_cmds)        \
    X(auth_errors)

/* Per class, as printed by `stats slabs` ("N:get_hits ..."). */
#define PROTO_CLASS_COUNTERS(X) \
    X(get_hits)    \
    X(cmd_set)     \
    X(delete_hits) \
    X(incr_hits)   \
    X(decr_hits)   \
    X(cas_hits)    \
    X(cas_badval)  \
    X(touch_hits)

struct proto_class_counters {
#define PROTO_COUNTER_FIELD(name) counter_t name;
    PROTO_CLASS_COUNTERS(PROTO_COUNTER_FIELD)
};

struct proto_counters {
    PROTO_THREAD_COUNTERS(PROTO_COUNTER_FIELD)
#undef PROTO_COUNTER_FIELD
    struct proto_class_counters cls[CLASS_MAX + 1];   /* index = class id */
};

#endif
