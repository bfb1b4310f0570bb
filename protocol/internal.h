/*
 * internal: what the three protocols (text.c, meta.c, binary.c) decide alike,
 * written once: how a lookup, a CAS store and a refused value count, when a
 * value is too large, and how a flush deadline becomes a delay. Each protocol
 * keeps only its own wire format around these.
 *
 * Internal to protocol/. Static inline because the get and set paths call
 * them once per key: no call and no indirection per request.
 */
#ifndef PROTOCOL_INTERNAL_H
#define PROTOCOL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "protocol/counters.h"
#include "protocol/proto.h"
#include "slabs/store.h"

/* ---- batch.c: the gets ahead in the buffer ----
 * proto_batch_scan: within a turn, once the lines scanned before are used
 * up, splits, hashes and prefetches the keys of the complete get/gets (and
 * plain set) lines at buf[0..len) (the current request's line first), up to
 * PROTO_BATCH_KEYS keys and as many lines as the turn may still run.
 * proto_batch_line: the scanned line starting at buf (its '\n' and all its
 * keys, split as text_tokenize splits them, each at most KEY_MAX_LENGTH),
 * or NULL: the parser then finds and splits the line itself. */
void proto_batch_scan(struct proto_conn *pc, const char *buf, size_t len);
/* text.c: a plain "set key flags exptime bytes [noreply]" line [start, end)
 * that the set command would take as it is (text_cmd_store's checks): its
 * numbers into l, its key into *key. False for any other line. */
bool text_set_line_scan(const char *start, const char *end, struct proto_batch_line *l,
                        struct store_key *key);
const struct proto_batch_line *proto_batch_line_find(struct proto_conn *pc, const char *buf);
static inline const struct proto_batch_line *proto_batch_line(struct proto_conn *pc,
                                                              const char *buf)
{
    /* inline: every text request asks; most often no line is held, or the
     * next one starts right here */
    struct proto_batch *b = &pc->batch;
    if (b->next_line >= b->nlines)
        return NULL;
    if (b->lines[b->next_line].start == buf)
        return &b->lines[b->next_line++];
    return proto_batch_line_find(pc, buf);
}

/* Why a lookup missed, beyond the miss itself (memcached's get_expired/get_flushed). */
static inline void proto_count_miss_reason(struct proto_counters *ctr, enum store_miss why)
{
    if (why == STORE_MISS_EXPIRED)
        counter_inc(&ctr->get_expired);
    else if (why == STORE_MISS_FLUSHED)
        counter_inc(&ctr->get_flushed);
}

/* A get (or, with touch, a touch/gat) that found nothing. */
static inline void proto_count_lookup_miss(struct proto_counters *ctr, bool touch,
                                           enum store_miss why)
{
    counter_inc(touch ? &ctr->touch_misses : &ctr->get_misses);
    proto_count_miss_reason(ctr, why);
}

/* A get (or, with touch, a touch/gat) that found an item of class cls. */
static inline void proto_count_lookup_hit(struct proto_counters *ctr, unsigned cls, bool touch)
{
    if (touch) {
        counter_inc(&ctr->touch_hits);
        counter_inc(&ctr->cls[cls].touch_hits);
    } else {
        counter_inc(&ctr->get_hits);
        counter_inc(&ctr->cls[cls].get_hits);
    }
}

/* A delete that removed an item of class cls. */
static inline void proto_count_delete_hit(struct proto_counters *ctr, unsigned cls)
{
    counter_inc(&ctr->delete_hits);
    counter_inc(&ctr->cls[cls].delete_hits);
}

/* An incr (or decr) that changed an item, now of class cls. */
static inline void proto_count_arith_hit(struct proto_counters *ctr, bool incr, unsigned cls)
{
    counter_inc(incr ? &ctr->incr_hits : &ctr->decr_hits);
    counter_inc(incr ? &ctr->cls[cls].incr_hits : &ctr->cls[cls].decr_hits);
}

/* The outcome of a store in CAS mode (call it for that mode only). */
static inline void proto_count_cas(struct proto_counters *ctr, unsigned cls,
                                   enum store_result res)
{
    if (res == STORE_OK) {
        counter_inc(&ctr->cas_hits);
        counter_inc(&ctr->cls[cls].cas_hits);
    } else if (res == STORE_EXISTS) {
        counter_inc(&ctr->cas_badval);
        counter_inc(&ctr->cls[cls].cas_badval);
    } else if (res == STORE_NOT_FOUND) {
        counter_inc(&ctr->cas_misses);
    }
}

/* A value that got no item: counts why. True if too large, false if out of memory. */
static inline bool proto_count_refused(struct proto_counters *ctr, enum store_result why)
{
    if (why == STORE_TOO_LARGE) {
        counter_inc(&ctr->store_too_large);
        return true;
    }
    counter_inc(&ctr->store_no_memory);
    return false;
}

/*
 * Whether key + value exceed what one item can hold. -I is the store's page
 * size and the largest item is a page less its header (chained beyond the
 * largest class), so this is also the -I limit.
 */
static inline bool proto_too_large(const store *st, size_t nkey, uint64_t vlen)
{
    size_t max = store_item_size_max(st, nkey);
    return nkey > max || vlen > max - nkey;   /* no wrap for a huge vlen */
}

/* Seconds from now until a flush deadline (0: now), as memcached's realtime(). */
static inline int64_t proto_flush_delay(int64_t when)
{
    if (when <= 0)
        return 0;
    rel_time_t at = clock_exptime(when);
    rel_time_t now = clock_now();
    return (at == CLOCK_EXPIRED || at <= now) ? 0 : (int64_t)(at - now);
}

/*
 * Starts filling it with a large value (pc->pend): the request without its
 * value (head) is kept to complete it. False if that copy cannot be had.
 */
static inline bool proto_pending_start(struct proto_conn *pc, item *it, size_t vlen,
                                       const char *head, size_t head_len, uint8_t term_len)
{
    struct proto_pending *pd = &pc->pend;
    pd->head = malloc(head_len);
    if (pd->head == NULL)
        return false;
    memcpy(pd->head, head, head_len);
    pd->head_len = head_len;
    pd->it = it;
    pd->vlen = vlen;
    pd->filled = 0;
    pd->term_len = term_len;
    pd->term_got = 0;
    return true;
}

/*
 * Takes the filled item from pc->pend (the caller commits or releases it);
 * the head stays until proto_pending_end(), as the request runs from it.
 */
static inline item *proto_pending_take(struct proto_conn *pc)
{
    item *it = pc->pend.it;
    pc->pend.it = NULL;
    return it;
}

/* Ends pc->pend: hands back its item if still held, frees the head. */
static inline void proto_pending_end(struct proto_conn *pc)
{
    if (pc->pend.it != NULL)
        store_release(pc->env->store, proto_pending_take(pc));
    free(pc->pend.head);
    pc->pend.head = NULL;
}

#endif
