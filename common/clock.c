/*
 * clock: a cached seconds counter. See clock.h for why it is cached and
 * relative. The start is set two seconds in the past so that relative time 1
 * (CLOCK_EXPIRED) always lies before "now" and a real time is never 0.
 */
#include "common/clock.h"

#include <stdatomic.h>
#include <stdbool.h>

#define CLOCK_START_MARGIN 2

static time_t process_started;
static bool test_driven;
static _Atomic rel_time_t current_time;

void clock_init(void)
{
    process_started = time(NULL) - CLOCK_START_MARGIN;
    test_driven = false;
    atomic_store_explicit(&current_time, (rel_time_t)(time(NULL) - process_started),
                          memory_order_relaxed);
}

void clock_tick(void)
{
    if (test_driven)
        return;
    time_t now = time(NULL);
    atomic_store_explicit(&current_time, (rel_time_t)(now - process_started),
                          memory_order_relaxed);
}

/* From the first advance on, time is the test's alone: a wall-clock second
 * passing between two steps of a slow (sanitizer) run must not turn
 * "advance 9" into 10. */
void clock_advance(int64_t seconds)
{
    test_driven = true;
    atomic_store_explicit(&current_time, (rel_time_t)((int64_t)clock_now() + seconds),
                          memory_order_relaxed);
}

void clock_resume(time_t started)
{
    process_started = started;
    clock_tick();
}

rel_time_t clock_now(void)
{
    return atomic_load_explicit(&current_time, memory_order_relaxed);
}

time_t clock_started(void)
{
    return process_started;
}

time_t clock_unix_now(void)
{
    return process_started + (time_t)clock_now();
}

rel_time_t clock_exptime(int64_t exptime)
{
    if (exptime == 0)
        return 0;
    if (exptime < 0)
        return CLOCK_EXPIRED;
    if (exptime > CLOCK_REALTIME_MAXDELTA) {
        if (exptime <= (int64_t)process_started)
            return CLOCK_EXPIRED;
        int64_t rel = exptime - (int64_t)process_started;
        return rel > UINT32_MAX ? UINT32_MAX : (rel_time_t)rel;
    }
    int64_t rel = (int64_t)clock_now() + exptime;
    return rel > UINT32_MAX ? UINT32_MAX : (rel_time_t)rel;
}
