/*
 * clock: a cached seconds counter. See clock.h for why it is cached and
 * relative. The start is set two seconds in the past so that relative time 1
 * (CLOCK_EXPIRED) always lies before "now" and a real time is never 0.
 */
#include "common/clock.h"

#include <stdatomic.h>

#define CLOCK_START_MARGIN 2

static time_t process_started;
static int64_t test_offset;
static _Atomic rel_time_t current_time;

void clock_init(void)
{
    process_started = time(NULL) - CLOCK_START_MARGIN;
    test_offset = 0;
    clock_tick();
}

void clock_tick(void)
{
    time_t now = time(NULL) + test_offset;
    atomic_store_explicit(&current_time, (rel_time_t)(now - process_started),
                          memory_order_relaxed);
}

void clock_advance(int64_t seconds)
{
    test_offset += seconds;
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
