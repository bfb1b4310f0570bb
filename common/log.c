/* log: see log.h. One fprintf per message keeps lines from interleaving. */
#include "common/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

static _Atomic int current_level;

void log_set_level(int level)
{
    atomic_store_explicit(&current_level, level, memory_order_relaxed);
}

int log_level(void)
{
    return atomic_load_explicit(&current_level, memory_order_relaxed);
}

void log_msg(int level, const char *fmt, ...)
{
    if (level > log_level())
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}
