/*
 * detail: a chained hash table of prefixes under one mutex (detail.h). The
 * bucket count is fixed, like memcached's; each entry holds its counters and
 * its prefix inline.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/detail.h"

#define DETAIL_BUCKETS 4096
#define DETAIL_LINE_MAX 512      /* "PREFIX " + a prefix under 250 bytes + 4 numbers */
#define FNV_OFFSET 14695981039346656037ULL
#define FNV_PRIME 1099511628211ULL

struct detail_entry {
    struct detail_entry *next;
    uint64_t gets, hits, sets, deletes;
    size_t len;
    char prefix[];
};

static pthread_mutex_t detail_lock = PTHREAD_MUTEX_INITIALIZER;
static struct detail_entry *detail_table[DETAIL_BUCKETS];
static unsigned detail_count;
static char detail_delimiter = DETAIL_DELIMITER_DEFAULT;

void detail_init(char delimiter, bool enabled)
{
    detail_delimiter = delimiter;
    detail_set_enabled(enabled);
}

void detail_set_enabled(bool on)
{
    if (on)
        atomic_fetch_or_explicit(&logger_flags_, LOGGER_DETAIL, memory_order_relaxed);
    else
        atomic_fetch_and_explicit(&logger_flags_, ~LOGGER_DETAIL, memory_order_relaxed);
}

static uint64_t detail_hash(const char *p, size_t n)
{
    uint64_t h = FNV_OFFSET;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * FNV_PRIME;
    return h;
}

/* The prefix's entry, made if there is room; NULL otherwise. Under the lock. */
static struct detail_entry *detail_find(const char *prefix, size_t len)
{
    struct detail_entry **b = &detail_table[detail_hash(prefix, len) % DETAIL_BUCKETS];
    for (struct detail_entry *e = *b; e != NULL; e = e->next)
        if (e->len == len && memcmp(e->prefix, prefix, len) == 0)
            return e;
    if (detail_count >= DETAIL_PREFIXES_MAX)
        return NULL;
    struct detail_entry *e = calloc(1, sizeof(*e) + len + 1);
    if (e == NULL)
        return NULL;
    memcpy(e->prefix, prefix, len);
    e->len = len;
    e->next = *b;
    *b = e;
    detail_count++;
    return e;
}

void detail_record(const char *key, size_t nkey, enum detail_op op, bool hit)
{
    const char *end = memchr(key, detail_delimiter, nkey);
    if (end == NULL)
        return;
    pthread_mutex_lock(&detail_lock);
    struct detail_entry *e = detail_find(key, (size_t)(end - key));
    if (e != NULL) {
        if (op == DETAIL_GET) {
            e->gets++;
            e->hits += hit;
        } else if (op == DETAIL_SET) {
            e->sets++;
        } else {
            e->deletes++;
        }
    }
    pthread_mutex_unlock(&detail_lock);
}

void detail_dump(detail_line_fn line, void *arg)
{
    char text[DETAIL_LINE_MAX];
    pthread_mutex_lock(&detail_lock);
    for (unsigned b = 0; b < DETAIL_BUCKETS; b++) {
        for (const struct detail_entry *e = detail_table[b]; e != NULL; e = e->next) {
            int n = snprintf(text, sizeof(text), "PREFIX %s get %llu hit %llu set %llu del %llu\r\n",
                             e->prefix, (unsigned long long)e->gets, (unsigned long long)e->hits,
                             (unsigned long long)e->sets, (unsigned long long)e->deletes);
            if (n > 0 && (size_t)n < sizeof(text))
                line(arg, text, (size_t)n);
        }
    }
    pthread_mutex_unlock(&detail_lock);
}

void detail_clear(void)
{
    pthread_mutex_lock(&detail_lock);
    for (unsigned b = 0; b < DETAIL_BUCKETS; b++) {
        while (detail_table[b] != NULL) {
            struct detail_entry *e = detail_table[b];
            detail_table[b] = e->next;
            free(e);
        }
    }
    detail_count = 0;
    pthread_mutex_unlock(&detail_lock);
}
