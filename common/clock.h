/*
 * clock: the coarse process clock that expiry, LRU ages and timers read.
 *
 * Times inside the cache are "relative": seconds since the process started
 * (minus a small margin so that 0 is never a valid stored time). A relative
 * time fits 32 bits for 136 years and is cheap to compare. The value is cached
 * in a global and advanced by clock_tick(), which the server calls from a
 * one-second timer; readers never make a system call. Tests move time with
 * clock_advance() instead of sleeping.
 *
 * Thread safety: clock_now() may be called from any thread (relaxed atomic
 * load); clock_tick()/clock_advance() from one thread at a time.
 */
#ifndef COMMON_CLOCK_H
#define COMMON_CLOCK_H

#include <stdint.h>
#include <time.h>

typedef uint32_t rel_time_t;

/* Relative exptimes above this many seconds are absolute unix times. */
#define CLOCK_REALTIME_MAXDELTA (60 * 60 * 24 * 30)

/* Fixes the process start time; call once before anything reads the clock. */
void clock_init(void);

/* Re-reads the wall clock into the cached value (not once a test drives it). */
void clock_tick(void);

/* Tests only: pretends that `seconds` more have passed. From then on only
 * clock_advance moves the clock (until clock_init), so steps are exact. */
void clock_advance(int64_t seconds);

/* A warm restart (slabs/restart.c) goes on with the clock of the process
 * that saved the cache: relative times in item memory keep their meaning
 * (memcached restores its process_started so). Uptime then counts from
 * that process's start. Call before other threads read the clock. */
void clock_resume(time_t started);

/* Seconds since start (cached). */
rel_time_t clock_now(void);

/* Unix time of the process start, as used to convert relative times. */
time_t clock_started(void);

/* Unix time now, consistent with clock_now() (includes clock_advance's seconds). */
time_t clock_unix_now(void);

/*
 * Converts a protocol exptime to a relative time, as memcached does:
 * 0 never expires (returns 0); up to 30 days is relative to now; above that
 * an absolute unix time; negative, or an absolute time not after the start,
 * is already expired (returns CLOCK_EXPIRED).
 */
#define CLOCK_EXPIRED ((rel_time_t)1)
rel_time_t clock_exptime(int64_t exptime);

#endif
