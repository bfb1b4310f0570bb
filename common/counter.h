/*
 * counter: per-thread statistics counters.
 *
 * Each counter is written by one thread only (its owner) and read by any
 * thread that sums them for `stats`. Relaxed atomic load + store compile to
 * plain moves: no locked instruction on the hot path, yet concurrent reads are
 * well defined (and clean under ThreadSanitizer). Never call counter_add on
 * a counter another thread also writes.
 */
#ifndef COMMON_COUNTER_H
#define COMMON_COUNTER_H

#include <stdatomic.h>
#include <stdint.h>

typedef _Atomic uint64_t counter_t;

static inline void counter_add(counter_t *c, uint64_t n)
{
    uint64_t v = atomic_load_explicit(c, memory_order_relaxed);
    atomic_store_explicit(c, v + n, memory_order_relaxed);
}

static inline void counter_inc(counter_t *c)
{
    counter_add(c, 1);
}

static inline uint64_t counter_get(const counter_t *c)
{
    return atomic_load_explicit((counter_t *)c, memory_order_relaxed);
}

#endif
