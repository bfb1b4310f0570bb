/*
 * store: the operations of store.h on top of slab.c, assoc.c and items.c.
 *
 * Every operation on a key hashes it once and works under the key's stripe
 * lock (struct key_lock; lock order in internal.h). Allocation never runs
 * under a stripe lock, so operations that need a new item from an existing
 * one (append, prepend, arith that grows) read the old item under a
 * reference, build the new one unlocked, then re-take the stripe lock and
 * swap only if the key still maps to the same item; otherwise they start
 * again (someone else's write won, so the loop always makes progress).
 *
 * CAS: one 64-bit counter, bumped by every mutation that stores (set family,
 * append/prepend, incr/decr); touch does not change an item's CAS, as in
 * memcached. With use_cas off items carry no CAS field and report 0.
 *
 * flush_all (lazy, checked whenever an item is met):
 *   - with a delay: items whose atime is before the moment F are dead once
 *     the clock reaches F;
 *   - immediate with CAS: items whose CAS is below the next CAS to be issued
 *     are dead. So "set a; flush_all; set b" in one second loses a, keeps b;
 *   - immediate without CAS: items whose atime is at or before this second
 *     are dead; a set later in the same second is flushed too (the safe side:
 *     never serve a pre-flush value; memcached -C errs the other way).
 * A newer flush_all replaces a pending delayed one.
 *
 * incr/decr follow memcached: the value is parsed like strtoull (leading
 * blanks, optional '+', digits, then the end or a blank; no sign '-', no
 * overflow), over every segment of a chained value. When the new number's
 * digits fit the old length, the item is plain and nobody else holds it, it
 * is rewritten in place and padded with spaces ("10" decr 1
 * -> "9 "); otherwise a new item with exactly the digits replaces it.
 */
#include "slabs/internal.h"
#include "common/decimal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ASSOC_MOVES_PER_WRITE 4        /* old buckets moved after each store */
#define ASSOC_MOVES_PER_ROUND 1024     /* ... per round of store_maintain */
#define ASSOC_ROUNDS_PER_MAINTAIN 64

void store_config_defaults(struct store_config *cfg)
{
    cfg->mem_limit = (uint64_t)MEM_LIMIT_MB_DEFAULT * 1024 * 1024;
    cfg->page_size = PAGE_SIZE_DEFAULT;
    cfg->factor = GROWTH_FACTOR_DEFAULT;
    cfg->chunk_min = CHUNK_MIN_DEFAULT;
    cfg->chunk_max = 0;
    cfg->nclass_sizes = 0;   /* geometric */
    cfg->prealloc = false;
    cfg->no_evict = false;
    cfg->use_cas = true;
    cfg->hash_power = HASH_POWER_DEFAULT;
    cfg->hash_expand = true;
    cfg->hash_seed = 0;
    cfg->memory_file = NULL;
    cfg->slab_reassign = true;
    cfg->automove = AUTOMOVE_DEFAULT;
    cfg->automove_ratio = AUTOMOVE_RATIO_DEFAULT;
    cfg->automove_window = AUTOMOVE_WINDOW_DEFAULT;
    cfg->automove_freeratio = AUTOMOVE_FREERATIO_DEFAULT;
    cfg->lru_segmented = LRU_SEGMENTED_DEFAULT;
    cfg->hot_lru_pct = HOT_LRU_PCT_DEFAULT;
    cfg->warm_lru_pct = WARM_LRU_PCT_DEFAULT;
    cfg->hot_max_factor = HOT_MAX_FACTOR_DEFAULT;
    cfg->warm_max_factor = WARM_MAX_FACTOR_DEFAULT;
    cfg->temp_lru = false;      /* memcached's: TEMP only when temporary_ttl is given */
    cfg->temporary_ttl = TEMPORARY_TTL_DEFAULT;
    cfg->lru_maintainer = true;
    cfg->crawler = true;
    cfg->crawler_sleep_us = CRAWLER_SLEEP_DEFAULT;
    cfg->crawler_tocrawl = CRAWLER_TOCRAWL_DEFAULT;
    cfg->retune_auto = false;
    cfg->retune_interval = RETUNE_INTERVAL_DEFAULT;
    cfg->retune_min_items = RETUNE_MIN_ITEMS_DEFAULT;
    cfg->retune_min_gain_pct = RETUNE_MIN_GAIN_PCT_DEFAULT;
    cfg->retune_min_gain_ratio = RETUNE_MIN_GAIN_RATIO_DEFAULT;
}

/* memcached's bounds: each share below LRU_PCT_MAX, factors above 0. */
static bool lru_config_check(const struct store_config *c, char *err, size_t errlen)
{
    if (c->hot_lru_pct < 1 || c->hot_lru_pct >= LRU_PCT_MAX ||
        c->warm_lru_pct < 1 || c->warm_lru_pct >= LRU_PCT_MAX) {
        snprintf(err, errlen, "hot_lru_pct and warm_lru_pct must be at least 1 and below %d",
                 LRU_PCT_MAX);
        return false;
    }
    if (!(c->hot_max_factor > 0) || !(c->warm_max_factor > 0)) {
        snprintf(err, errlen, "hot_max_factor and warm_max_factor must be above 0");
        return false;
    }
    return true;
}

static bool automove_config_check(const struct store_config *c, char *err, size_t errlen)
{
    if (c->automove > AUTOMOVE_AGGRESSIVE) {
        snprintf(err, errlen, "slab_automove must be 0, 1 or 2");
        return false;
    }
    struct store_automove_tuning t = { c->automove_ratio, c->automove_window,
                                       c->automove_freeratio };
    return automove_tuning_ok(&t, err, errlen);
}

/* Bytes of the smallest class: header (+CAS) + chunk_min, aligned. */
static uint64_t chunk_smallest(const struct store_config *c)
{
    uint64_t n = ITEM_HEADER_SIZE + (c->use_cas ? ITEM_CAS_SIZE : 0) + (uint64_t)c->chunk_min;
    return (n + CHUNK_ALIGN - 1) & ~(uint64_t)(CHUNK_ALIGN - 1);
}

/*
 * chunk_max 0: half a page (memcached's default), aligned down, but never
 * below the smallest class nor above the page.
 */
static uint32_t chunk_max_default(const struct store_config *c)
{
    uint64_t half = (c->page_size / 2) & ~(uint64_t)(CHUNK_ALIGN - 1);
    uint64_t smallest = chunk_smallest(c);
    if (half < smallest)
        half = smallest < c->page_size ? smallest : c->page_size;
    return (uint32_t)half;
}

/* An explicit class table: ascending, each above the last by more than
 * CHUNK_ALIGN (memcached's rule), none below the smallest item's chunk. */
static bool class_sizes_check(const struct store_config *c, char *err, size_t errlen)
{
    uint64_t floor = ITEM_HEADER_SIZE + (c->use_cas ? ITEM_CAS_SIZE : 0) + 1;
    if (c->nclass_sizes >= CLASS_MAX) {
        snprintf(err, errlen, "at most %d slab sizes", CLASS_MAX - 1);
        return false;
    }
    for (unsigned i = 0; i < c->nclass_sizes; i++) {
        uint32_t size = c->class_sizes[i];
        if (size < floor) {
            snprintf(err, errlen, "slab size %u is smaller than an item's header (%llu bytes)",
                     size, (unsigned long long)floor);
            return false;
        }
        if (i > 0 && size <= c->class_sizes[i - 1] + CHUNK_ALIGN) {
            snprintf(err, errlen, "slab size %u must be more than %d bytes above the previous",
                     size, CHUNK_ALIGN);
            return false;
        }
    }
    return true;
}

static bool config_check(const struct store_config *c, char *err, size_t errlen)
{
    if (!(c->factor > 1.0) || !isfinite(c->factor)) {
        snprintf(err, errlen, "growth factor must be greater than 1.0");
        return false;
    }
    if (c->chunk_min < 1) {
        snprintf(err, errlen, "chunk size must be at least 1 byte");
        return false;
    }
    if (c->page_size < PAGE_SIZE_MIN || c->page_size > PAGE_SIZE_MAX) {
        snprintf(err, errlen, "page size must be between %d and %d bytes",
                 PAGE_SIZE_MIN, PAGE_SIZE_MAX);
        return false;
    }
    if (c->page_size % CHUNK_ALIGN != 0) {
        snprintf(err, errlen, "page size must be a multiple of %d bytes", CHUNK_ALIGN);
        return false;
    }
    if (c->mem_limit < c->page_size) {
        snprintf(err, errlen, "memory limit must be at least one page (%u bytes)", c->page_size);
        return false;
    }
    if (c->mem_limit > ARENA_MAX) {
        snprintf(err, errlen, "memory limit above %llu MB is not supported",
                 (unsigned long long)(ARENA_MAX / (1024 * 1024)));
        return false;
    }
    if (c->chunk_max != 0) {
        uint64_t smallest = chunk_smallest(c);
        if (c->chunk_max < smallest || c->chunk_max > c->page_size ||
            c->chunk_max % CHUNK_ALIGN != 0) {
            snprintf(err, errlen,
                     "slab_chunk_max must be a multiple of %d between the smallest chunk "
                     "(%llu bytes) and the page size (%u bytes)",
                     CHUNK_ALIGN, (unsigned long long)smallest, c->page_size);
            return false;
        }
    }
    if (!class_sizes_check(c, err, errlen))
        return false;
    if (c->hash_power > HASH_POWER_MAX) {
        snprintf(err, errlen, "hash power must be at most %d", HASH_POWER_MAX);
        return false;
    }
    return automove_config_check(c, err, errlen) && lru_config_check(c, err, errlen);
}

store *store_create(const struct store_config *cfg, char *err, size_t errlen)
{
    if (!config_check(cfg, err, errlen))
        return NULL;
    store *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->cfg = *cfg;
    if (s->cfg.chunk_max == 0)
        s->cfg.chunk_max = chunk_max_default(cfg);
    s->hdr_base = ITEM_HEADER_SIZE + (cfg->use_cas ? ITEM_CAS_SIZE : 0);
    atomic_init(&s->cas_seq, 0);
    atomic_init(&s->flush_word, 0);
    atomic_init(&s->oldest_cas, 0);
    atomic_init(&s->oldest_cas_at, 0);
    lru_init(s);
    if (slab_classes_init(s, err, errlen) != 0) {
        free(s);
        return NULL;
    }
    if (slab_arena_init(s, err, errlen) != 0) {
        slab_arena_destroy(s);
        free(s);
        return NULL;
    }
    if (mover_init(s) != 0 || crawler_init(s) != 0) {
        snprintf(err, errlen, "cannot set up the page mover or the crawler");
        crawler_destroy(s);
        mover_destroy(s);
        slab_arena_destroy(s);
        free(s);
        return NULL;
    }
    uint64_t seed = cfg->hash_seed;
    bool seeded = seed != 0 || assoc_random_seed(&seed);
    if (!seeded || assoc_init(s, warm_hash_power(s, cfg->hash_power), seed) != 0) {
        if (!seeded)
            snprintf(err, errlen, "cannot read a random hash seed: %s", strerror(errno));
        else
            snprintf(err, errlen, "out of memory for the hash table");
        crawler_destroy(s);
        mover_destroy(s);
        slab_arena_destroy(s);
        free(s);
        return NULL;
    }
    warm_resume(s);
    if (cfg->prealloc && s->warm.status != STORE_WARM_RESUMED)
        slab_prealloc(s);
    return s;
}

void store_destroy(store *s)
{
    if (s == NULL)
        return;
    crawler_destroy(s);
    mover_destroy(s);
    assoc_destroy(s);
    slab_arena_destroy(s);
    free(s);
}

/* ---- helpers ---- */

/* Copies src's whole value into dst's at off, segment by segment. */
static void value_copy(store *s, item *dst, size_t off, const item *src)
{
    struct item_seg_iter si;
    struct store_seg seg;
    for (item_seg_begin(&si, s, src); item_seg_next(&si, &seg); off += seg.len)
        item_value_write(s, dst, off, seg.ptr, seg.len);
}

/* The live item for key, unlinking a dead one it meets. Stripe lock held. */
static item *find_live_locked(store *s, const char *key, size_t nkey, uint64_t hv,
                              enum store_miss *why)
{
    item *it = assoc_find_locked(s, key, nkey, hv);
    if (it == NULL)
        return NULL;
    if (it_is_dead(s, it, clock_now(), why)) {
        it_unlink_locked(s, it, hv);
        return NULL;
    }
    return it;
}

/* Takes k's stripe lock and looks the key up under it (as find_live_locked). */
static inline item *lock_and_find(store *s, struct key_lock *k, const char *key, size_t nkey,
                                  enum store_miss *why)
{
    key_lock(k);
    return find_live_locked(s, key, nkey, k->hv, why);
}

static void after_write(store *s)
{
    if (assoc_maintain_due(s))
        assoc_maintain(s, ASSOC_MOVES_PER_WRITE);
}

/*
 * The second half of a copy-on-write update: re-takes the stripe lock and
 * puts it in old's place only if the key still maps to old (keep_exptime:
 * with old's exptime as it is now, in case it was touched meanwhile). The
 * caller's references to it and old are left to the caller. True if swapped.
 */
static bool swap_if_same(store *s, item *old, item *it, const struct key_lock *k,
                         bool keep_exptime, const uint64_t *new_cas, uint64_t *cas_out)
{
    key_lock(k);
    bool same = find_live_locked(s, item_key(old), old->nkey, k->hv, NULL) == old;
    if (same) {
        if (keep_exptime)
            atomic_store_explicit(&it->exptime, item_exptime(old), memory_order_relaxed);
        it_replace_cas_locked(s, old, it, k->hv, new_cas);
        if (cas_out != NULL)
            *cas_out = item_cas(it);
    }
    key_unlock(k);
    return same;
}

/*
 * Runs fn on key's live item under the stripe lock (one hash, one lock);
 * STORE_NOT_FOUND for a bad key or none. For the one-step keyed writes.
 */
typedef enum store_result (*live_fn)(store *s, item *it, uint64_t hv, const void *arg);

static enum store_result with_live(store *s, const char *key, size_t nkey, live_fn fn,
                                   const void *arg)
{
    if (!key_ok(nkey))
        return STORE_NOT_FOUND;
    struct key_lock k = key_lock_for(s, key, nkey);
    item *it = lock_and_find(s, &k, key, nkey, NULL);
    enum store_result res = it == NULL ? STORE_NOT_FOUND : fn(s, it, k.hv, arg);
    key_unlock(&k);
    return res;
}

/* ---- reading ---- */

/* A get of key, whose hash is hv (any value for a key that is not key_ok). */
static item *get_common(store *s, const char *key, size_t nkey, uint64_t hv, bool touch,
                        int64_t exptime, enum store_miss *why)
{
    enum store_miss miss = STORE_MISS;
    item *it = NULL;
    if (key_ok(nkey)) {
        struct key_lock k = key_lock_hashed(s, hv);
        it = lock_and_find(s, &k, key, nkey, &miss);
        if (it != NULL && !it_try_ref(it))
            it = NULL;          /* at the readers' cap: a miss (miss is STORE_MISS) */
        if (it != NULL) {
            if (touch) {
                atomic_store_explicit(&it->exptime, clock_exptime(exptime),
                                      memory_order_relaxed);
                crawler_note_exptime(s, item_exptime(it));
            }
            it_hit_locked(s, it);
            miss = STORE_HIT;
        }
        key_unlock(&k);
    }
    if (why != NULL)
        *why = miss;
    return it;
}

/* The hash get_common wants: none for a key it refuses. */
static uint64_t get_hash(store *s, const char *key, size_t nkey)
{
    return key_ok(nkey) ? assoc_hash(s->assoc.seed, key, nkey) : 0;
}

item *store_get(store *s, const char *key, size_t nkey, enum store_miss *why)
{
    return get_common(s, key, nkey, get_hash(s, key, nkey), false, 0, why);
}

void store_prefetch_step(store *s, struct store_key *keys, size_t n,
                         enum store_prefetch_step step)
{
    switch (step) {
    case STORE_PREFETCH_BUCKETS:
        for (size_t i = 0; i < n; i++) {
            keys[i].hv = assoc_hash(s->assoc.seed, keys[i].key, keys[i].nkey);
            assoc_prefetch(s, keys[i].hv);
        }
        break;
    case STORE_PREFETCH_FIRST:
        for (size_t i = 0; i < n; i++)
            keys[i].chain = assoc_touch_first(s, keys[i].hv);
        break;
    case STORE_PREFETCH_SECOND:
    case STORE_PREFETCH_THIRD:
        for (size_t i = 0; i < n; i++)
            keys[i].chain = assoc_touch_item(s, keys[i].chain);
        break;
    default:
        break;
    }
}

/* Each step over the whole batch in turn: the buckets are on their way,
 * oldest first, while the next are hashed; then their first items are read
 * in, then the second and third items of their chains. */
void store_prefetch_batch(store *s, struct store_key *keys, size_t n)
{
    for (unsigned step = 0; step < STORE_PREFETCH_STEPS; step++)
        store_prefetch_step(s, keys, n, (enum store_prefetch_step)step);
}

item *store_get_hashed(store *s, const char *key, size_t nkey, uint64_t hv,
                       enum store_miss *why)
{
    SLABS_CHECK(hv == assoc_hash(s->assoc.seed, key, nkey));
    return get_common(s, key, nkey, hv, false, 0, why);
}

item *store_get_touch(store *s, const char *key, size_t nkey, int64_t exptime,
                      enum store_miss *why)
{
    return get_common(s, key, nkey, get_hash(s, key, nkey), true, exptime, why);
}

/* ---- writing ---- */

/* An exptime of 0 is 0 ("never", clock_exptime's first case) with no call:
 * then nothing needs keeping across one, and it_alloc is a plain tail call. */
item *store_item_alloc(store *s, const char *key, size_t nkey, uint32_t flags,
                       int64_t exptime, size_t nvalue, enum store_result *why)
{
    rel_time_t rel = exptime == 0 ? 0 : clock_exptime(exptime);
    return it_alloc(s, key, nkey, flags, rel, nvalue, why);
}

/* set/add/replace/cas under the stripe lock: links it (with c's CAS) or says
 * why not. key: it's own (item_key), found once by the caller. */
static enum store_result commit_plain_locked(store *s, item *it, const char *key,
                                             const struct store_commit_cond *c, uint64_t hv,
                                             uint64_t *cas_out)
{
    item *old = find_live_locked(s, key, it->nkey, hv, NULL);
    switch (c->mode) {
    case STORE_ADD:
        if (old != NULL) {
            it_bump_locked(s, old, clock_now());
            return STORE_NOT_STORED;
        }
        break;
    case STORE_REPLACE:
        if (old == NULL)
            return STORE_NOT_STORED;
        break;
    case STORE_CAS:
        if (old == NULL)
            return STORE_NOT_FOUND;
        if (item_cas(old) != c->cas)
            return STORE_EXISTS;
        break;
    default:
        break;
    }
    if (old != NULL)
        it_replace_cas_locked(s, old, it, hv, c->new_cas);
    else
        it_link_cas_locked(s, it, hv, c->new_cas);
    if (cas_out != NULL)
        *cas_out = item_cas(it);
    return STORE_OK;
}

/*
 * append/prepend: the old value plus the caller's bytes go into a new item
 * (maybe of a larger class) that keeps the old flags and exptime. On a miss
 * with c->vivify the caller's item is stored as it is (memcached's ms MA N).
 */
static enum store_result commit_concat(store *s, item *add, const struct store_commit_cond *c,
                                       const struct key_lock *k, uint64_t *cas_out,
                                       size_t *nvalue_out)
{
    const char *key = item_key(add);
    size_t nkey = add->nkey;
    for (;;) {
        key_lock(k);
        item *old = find_live_locked(s, key, nkey, k->hv, NULL);
        if (old == NULL && c->vivify) {
            it_link_cas_locked(s, add, k->hv, c->new_cas);
            if (cas_out != NULL)
                *cas_out = item_cas(add);
            key_unlock(k);
            return STORE_OK;
        }
        if (old == NULL || (c->cas != 0 && item_cas(old) != c->cas)) {
            key_unlock(k);
            return old == NULL ? STORE_NOT_STORED : STORE_EXISTS;
        }
        it_ref(old);
        key_unlock(k);

        enum store_result why = STORE_OK;
        size_t total = (size_t)old->nvalue + add->nvalue;
        item *it = it_alloc(s, key, nkey, item_flags(old), item_exptime(old), total, &why);
        if (it == NULL) {
            it_unref(s, old);
            return why;
        }
        bool append = c->mode == STORE_APPEND;
        const item *first = append ? old : add, *second = append ? add : old;
        value_copy(s, it, 0, first);
        value_copy(s, it, first->nvalue, second);

        bool same = swap_if_same(s, old, it, k, true, c->new_cas, cas_out);
        it_unref(s, it);
        it_unref(s, old);
        if (same) {
            if (nvalue_out != NULL)
                *nvalue_out = total;
            return STORE_OK;
        }
    }
}

/* store_commit and the plain modes of store_commit_cond. */
static enum store_result commit(store *s, item *it, const struct store_commit_cond *c,
                                const uint64_t *hv, uint64_t *cas_out, size_t *nvalue_out)
{
    const char *key = it_after_header(it);     /* item_key, without a call */
    SLABS_CHECK(hv == NULL || *hv == assoc_hash(s->assoc.seed, key, it->nkey));
    struct key_lock k = hv != NULL ? key_lock_hashed(s, *hv) : key_lock_for(s, key, it->nkey);
    enum store_result res;
    if (nvalue_out != NULL)
        *nvalue_out = it->nvalue;
    if (c->mode == STORE_APPEND || c->mode == STORE_PREPEND) {
        res = commit_concat(s, it, c, &k, cas_out, nvalue_out);
        it_unref(s, it);
    } else {
        key_lock(&k);
        res = commit_plain_locked(s, it, key, c, k.hv, cas_out);
        key_unlock(&k);
        it_unref(s, it);
    }
    after_write(s);
    return res;
}

enum store_result store_commit(store *s, item *it, enum store_mode mode,
                               uint64_t cas_in, uint64_t *cas_out)
{
    struct store_commit_cond c = { .mode = mode, .cas = cas_in };
    return commit(s, it, &c, NULL, cas_out, NULL);
}

enum store_result store_commit_hashed(store *s, item *it, enum store_mode mode,
                                      uint64_t cas_in, uint64_t hv, uint64_t *cas_out)
{
    struct store_commit_cond c = { .mode = mode, .cas = cas_in };
    return commit(s, it, &c, &hv, cas_out, NULL);
}

struct delete_arg {
    uint64_t cas;            /* to match; 0: any */
    unsigned *cls;           /* out: the deleted item's class, if not NULL */
};

/* Stripe lock held (a live_fn). */
static enum store_result delete_live_locked(store *s, item *it, uint64_t hv, const void *arg)
{
    const struct delete_arg *d = arg;
    if (d->cas != 0 && item_cas(it) != d->cas)
        return STORE_EXISTS;
    if (d->cls != NULL)
        *d->cls = it->cls;
    it_unlink_locked(s, it, hv);
    return STORE_OK;
}

enum store_result store_delete(store *s, const char *key, size_t nkey, uint64_t cas,
                               unsigned *cls)
{
    struct delete_arg d = { cas, cls };
    return with_live(s, key, nkey, delete_live_locked, &d);
}

/* arg: the int64_t exptime as the client sent it. Stripe lock held (a live_fn). */
static enum store_result touch_live_locked(store *s, item *it, uint64_t hv, const void *arg)
{
    (void)hv;
    int64_t exptime = *(const int64_t *)arg;
    atomic_store_explicit(&it->exptime, clock_exptime(exptime), memory_order_relaxed);
    crawler_note_exptime(s, item_exptime(it));
    it_hit_locked(s, it);
    return STORE_OK;
}

enum store_result store_touch(store *s, const char *key, size_t nkey, int64_t exptime)
{
    return with_live(s, key, nkey, touch_live_locked, &exptime);
}

/* ---- incr/decr ---- */

/*
 * Parses a counter value the way memcached's safe_strtoull does: blanks, an
 * optional '+', digits, then the end or a blank. Fed segment by segment, so
 * a chained value parses the same as a plain one.
 */
enum arith_stage { ARITH_LEAD, ARITH_SIGNED, ARITH_DIGITS, ARITH_DONE, ARITH_BAD };

struct arith_scan {
    enum arith_stage stage;
    uint64_t v;
};

static void arith_feed(struct arith_scan *a, const char *p, size_t n)
{
    for (size_t i = 0; i < n && a->stage < ARITH_DONE; i++) {
        unsigned char c = (unsigned char)p[i];
        if (isdigit(c)) {
            unsigned d = (unsigned)(c - '0');
            if (a->v > (UINT64_MAX - d) / 10) {
                a->stage = ARITH_BAD;
                break;
            }
            a->v = a->v * 10 + d;
            a->stage = ARITH_DIGITS;
        } else if (a->stage == ARITH_DIGITS) {
            a->stage = isspace(c) ? ARITH_DONE : ARITH_BAD;
        } else if (a->stage == ARITH_LEAD && isspace(c)) {
            continue;
        } else if (a->stage == ARITH_LEAD && c == '+') {
            a->stage = ARITH_SIGNED;
        } else {
            a->stage = ARITH_BAD;
        }
    }
}

/* The number it holds, if its value is one. */
static bool arith_parse(const store *s, const item *it, uint64_t *out)
{
    struct arith_scan a = { ARITH_LEAD, 0 };
    struct item_seg_iter si;
    struct store_seg seg;
    for (item_seg_begin(&si, s, it); a.stage < ARITH_DONE && item_seg_next(&si, &seg);)
        arith_feed(&a, seg.ptr, seg.len);
    if (a.stage != ARITH_DIGITS && a.stage != ARITH_DONE)
        return false;
    *out = a.v;
    return true;
}

static uint64_t arith_apply(uint64_t v, bool incr, uint64_t delta)
{
    if (incr)
        return v + delta;   /* wraps at 2^64, as memcached */
    return delta > v ? 0 : v - delta;
}

/* Rewrites it in place (nobody else holds it). Stripe lock held. */
static void arith_in_place_locked(store *s, item *it, const char *digits, size_t len,
                                  const uint64_t *new_cas, uint64_t *cas_out)
{
    char *v = item_value_mut(it);
    memcpy(v, digits, len);
    memset(v + len, ' ', it->nvalue - len);
    uint64_t cas = new_cas != NULL ? *new_cas : it_next_cas(s);
    it_set_cas(s, it, cas);
    if (cas_out != NULL)
        *cas_out = item_cas(it);
}

/* store_arith_cond on a miss with vivify (binary incr on a miss too): stores the
 * initial number as it is. */
static enum store_result arith_vivify(store *s, const char *key, size_t nkey,
                                      const struct key_lock *k,
                                      const struct store_arith_cond *a, item **it_out)
{
    char digits[DECIMAL_U64_MAX];
    size_t len = decimal_u64(digits, a->initial);
    enum store_result why = STORE_OK;
    item *it = it_alloc(s, key, nkey, 0, clock_exptime(a->vivify_exptime), len, &why);
    if (it == NULL)
        return STORE_NO_MEMORY;
    item_value_write(s, it, 0, digits, len);
    key_lock(k);
    bool taken = find_live_locked(s, key, nkey, k->hv, NULL) != NULL;
    if (!taken)
        it_link_cas_locked(s, it, k->hv, a->new_cas);
    key_unlock(k);
    if (taken) {
        it_unref(s, it);
        return STORE_NOT_STORED;
    }
    after_write(s);
    *it_out = it;
    return STORE_OK;
}

/*
 * incr/decr, for store_arith and store_arith_cond: the CAS check and the
 * creation on a miss are store_arith_cond's (both off for store_arith). With
 * it_out the caller gets a reference to the item that holds the result.
 */
static enum store_result arith_core(store *s, const char *key, size_t nkey,
                                    const struct store_arith_cond *a, uint64_t *result,
                                    uint64_t *cas_out, bool *created, item **it_out)
{
    if (!key_ok(nkey))
        return STORE_NOT_FOUND;
    struct key_lock k = key_lock_for(s, key, nkey);
    for (;;) {
        item *old = lock_and_find(s, &k, key, nkey, NULL);
        uint64_t v;
        if (old == NULL) {
            key_unlock(&k);
            if (!a->vivify)
                return STORE_NOT_FOUND;
            enum store_result r = arith_vivify(s, key, nkey, &k, a, it_out);
            *created = r == STORE_OK;
            *result = a->initial;
            return r;
        }
        if (a->has_cas && a->cas != 0 && item_cas(old) != a->cas) {
            key_unlock(&k);
            return STORE_EXISTS;
        }
        if (!arith_parse(s, old, &v)) {
            key_unlock(&k);
            return STORE_NON_NUMERIC;
        }
        v = arith_apply(v, a->incr, a->delta);
        if (result != NULL)
            *result = v;
        char digits[DECIMAL_U64_MAX];
        size_t len = decimal_u64(digits, v);
        if (len <= old->nvalue && it_kind(old) == IT_PLAIN &&
            atomic_load_explicit(&old->refcount, memory_order_acquire) == 1) {
            arith_in_place_locked(s, old, digits, len, a->new_cas, cas_out);
            if (it_out != NULL) {
                it_ref(old);
                *it_out = old;
            }
            key_unlock(&k);
            return STORE_OK;
        }
        it_ref(old);
        key_unlock(&k);

        item *it = it_alloc(s, key, nkey, item_flags(old), item_exptime(old), len, NULL);
        if (it == NULL) {
            it_unref(s, old);
            return STORE_NO_MEMORY;
        }
        item_value_write(s, it, 0, digits, len);
        bool same = swap_if_same(s, old, it, &k, true, a->new_cas, cas_out);
        it_unref(s, old);
        if (same) {
            after_write(s);
            if (it_out != NULL)
                *it_out = it;                /* the allocation's reference */
            else
                it_unref(s, it);
            return STORE_OK;
        }
        it_unref(s, it);
    }
}

enum store_result store_arith(store *s, const char *key, size_t nkey, bool incr,
                              uint64_t delta, uint64_t *result, uint64_t *cas_out,
                              unsigned *cls)
{
    struct store_arith_cond a = { .incr = incr, .delta = delta };
    if (cls == NULL)
        return arith_core(s, key, nkey, &a, result, cas_out, NULL, NULL);
    item *it = NULL;
    enum store_result res = arith_core(s, key, nkey, &a, result, cas_out, NULL, &it);
    if (it != NULL) {
        *cls = it->cls;
        store_release(s, it);
    }
    return res;
}

/* ---- flush, upkeep ---- */

void store_flush(store *s, int64_t delay)
{
    rel_time_t now = clock_now();
    rel_time_t at = delay > 0 ? clock_exptime(delay) : now;
    if (delay > 0 && at > now) {
        atomic_store_explicit(&s->flush_word, (uint64_t)at << 1, memory_order_release);
        crawler_note_exptime(s, at);   /* the crawler reclaims them once due */
        return;
    }
    if (s->cfg.use_cas) {
        uint64_t next = atomic_load_explicit(&s->cas_seq, memory_order_relaxed) + 1;
        atomic_store_explicit(&s->oldest_cas_at, now, memory_order_relaxed);
        atomic_store_explicit(&s->oldest_cas, next, memory_order_release);
        atomic_store_explicit(&s->flush_word, 0, memory_order_release);
    } else {
        atomic_store_explicit(&s->flush_word, ((uint64_t)now << 1) | FLUSH_INCLUSIVE,
                              memory_order_release);
    }
    crawler_flushed(s);
}

void store_maintain(store *s)
{
    for (int i = 0; i < ASSOC_ROUNDS_PER_MAINTAIN; i++) {
        assoc_maintain(s, ASSOC_MOVES_PER_ROUND);
        if (!assoc_expanding(s))
            break;
    }
}

/* ---- item marks, lookups with options, conditional writes (store.h) ----
 *
 * The same rules as above: allocation never under a stripe lock, so a
 * vivify or a stale copy is built unlocked and linked only if the key still
 * maps to what was seen (else the loop looks again). A delete that keeps the
 * item stale replaces the item
 * by a marked copy instead of rewriting its CAS in place, because readers
 * holding a reference are promised unchanging metadata.
 */

static uint8_t marks_of(const item *it)
{
    return atomic_load_explicit(&((item *)it)->iflags, memory_order_relaxed) &
           (ITEM_STALE | ITEM_TOKEN_SENT | ITEM_KEY_BINARY);
}

size_t store_item_total_size(const store *s, const item *it)
{
    return it_kind(it) == IT_CHAINED ? chain_total_size(s, it) : it_total_size(s, it);
}

/* The hit half of store_lookup. Stripe lock held. */
static void lookup_hit_locked(store *s, item *it, const struct store_lookup_opts *opt,
                              struct store_lookup_before *hit)
{
    hit->was_fetched = item_fetched(it);
    hit->atime = item_atime(it);
    if (!opt->no_bump) {
        it_hit_locked(s, it);
    }
}

item *store_lookup(store *s, const char *key, size_t nkey, const struct store_lookup_opts *opt,
                   struct store_lookup_before *hit, enum store_miss *why)
{
    enum store_miss miss = STORE_MISS, seen = STORE_MISS;
    hit->was_fetched = false;
    hit->atime = 0;
    hit->created = false;
    if (!key_ok(nkey)) {
        if (why != NULL)
            *why = STORE_MISS;
        return NULL;
    }
    struct key_lock k = key_lock_for(s, key, nkey);
    item *fresh = NULL;
    for (;;) {
        item *it = lock_and_find(s, &k, key, nkey, &seen);
        if (miss == STORE_MISS)
            miss = seen;
        /* At the readers' cap: a miss, and no vivify (the key exists). */
        bool capped = it != NULL && !it_try_ref(it);
        if (capped) {
            it = NULL;
            miss = STORE_MISS;
        } else if (it == NULL && fresh != NULL) {
            it_link_cas_locked(s, fresh, k.hv, opt->new_cas);   /* our reference stays with the caller */
            it = fresh;
            fresh = NULL;
            hit->created = true;
        }
        if (it != NULL)
            lookup_hit_locked(s, it, opt, hit);
        key_unlock(&k);
        if (fresh != NULL)
            it_unref(s, fresh);            /* someone else stored the key first */
        if (it != NULL || capped || !opt->vivify) {
            if (hit->created)
                after_write(s);
            if (why != NULL)
                *why = it != NULL ? STORE_HIT : miss;
            return it;
        }
        fresh = it_alloc(s, key, nkey, 0, clock_exptime(opt->vivify_exptime), 0, NULL);
        if (fresh == NULL) {
            if (why != NULL)
                *why = miss;
            return NULL;
        }
        uint8_t marks = ITEM_TOKEN_SENT | (opt->key_binary ? ITEM_KEY_BINARY : 0);
        atomic_fetch_or_explicit(&fresh->iflags, marks, memory_order_relaxed);
    }
}

enum store_result store_commit_cond(store *s, item *it, const struct store_commit_cond *c,
                                    uint64_t *cas_out, size_t *nvalue_out)
{
    if (!c->invalidate || c->mode != STORE_CAS)
        return commit(s, it, c, NULL, cas_out, nvalue_out);
    if (nvalue_out != NULL)
        *nvalue_out = it->nvalue;
    struct key_lock k = key_lock_for(s, item_key(it), it->nkey);
    enum store_result res = STORE_OK;
    item *old = lock_and_find(s, &k, item_key(it), it->nkey, NULL);
    if (old == NULL) {
        res = STORE_NOT_FOUND;
    } else if (item_cas(old) == c->cas) {
        it_replace_cas_locked(s, old, it, k.hv, c->new_cas);
    } else if (c->cas < item_cas(old)) {
        /* An older writer may still store, but only as a stale value. */
        atomic_store_explicit(&it->exptime, item_exptime(old), memory_order_relaxed);
        atomic_fetch_or_explicit(&it->iflags,
                                 (uint8_t)(ITEM_STALE | (marks_of(old) & ITEM_TOKEN_SENT)),
                                 memory_order_relaxed);
        it_replace_cas_locked(s, old, it, k.hv, c->new_cas);
    } else {
        res = STORE_EXISTS;
    }
    if (res == STORE_OK && cas_out != NULL)
        *cas_out = item_cas(it);
    key_unlock(&k);
    it_unref(s, it);
    after_write(s);
    return res;
}

/*
 * The item a conditional delete keeps in old's place: a copy marked stale
 * (token mark cleared, so the next reader wins), or with remove_value an
 * empty one with d's flags (stale too when asked).
 */
static item *kept_copy(store *s, item *old, const struct store_delete_cond *d)
{
    rel_time_t exp = d->touch ? clock_exptime(d->exptime)
                              : d->remove_value ? 0 : item_exptime(old);
    uint32_t flags = d->remove_value ? d->flags : item_flags(old);
    uint32_t nvalue = d->remove_value ? 0 : old->nvalue;
    item *it = it_alloc(s, item_key(old), old->nkey, flags, exp, nvalue, NULL);
    if (it == NULL)
        return NULL;
    if (!d->remove_value)
        value_copy(s, it, 0, old);
    uint8_t marks = (uint8_t)((marks_of(old) & ITEM_KEY_BINARY) | (d->stale ? ITEM_STALE : 0));
    atomic_fetch_or_explicit(&it->iflags, marks, memory_order_relaxed);
    return it;
}

enum store_result store_delete_cond(store *s, const char *key, size_t nkey,
                                    const struct store_delete_cond *d, unsigned *cls)
{
    if (!key_ok(nkey))
        return STORE_NOT_FOUND;
    struct key_lock k = key_lock_for(s, key, nkey);
    for (;;) {
        item *old = lock_and_find(s, &k, key, nkey, NULL);
        if (old == NULL || (d->has_cas && item_cas(old) != d->cas)) {
            key_unlock(&k);
            return old == NULL ? STORE_NOT_FOUND : STORE_EXISTS;
        }
        if (cls != NULL)
            *cls = old->cls;
        if (!d->stale && !d->remove_value) {
            it_unlink_locked(s, old, k.hv);
            key_unlock(&k);
            return STORE_OK;
        }
        it_ref(old);
        key_unlock(&k);

        item *it = kept_copy(s, old, d);
        if (it == NULL) {
            it_unref(s, old);
            return STORE_NO_MEMORY;
        }
        /* An emptied item keeps its CAS; a stale one gets a new one. */
        uint64_t old_cas = item_cas(old);
        const uint64_t *cas = d->new_cas != NULL ? d->new_cas : d->stale ? NULL : &old_cas;
        bool same = swap_if_same(s, old, it, &k, false, cas, NULL);
        it_unref(s, it);
        it_unref(s, old);
        if (same) {
            after_write(s);
            return STORE_OK;
        }
    }
}

enum store_result store_arith_cond(store *s, const char *key, size_t nkey,
                                   const struct store_arith_cond *a, uint64_t *result,
                                   bool *created, item **it_out)
{
    *created = false;
    *it_out = NULL;
    return arith_core(s, key, nkey, a, result, NULL, created, it_out);
}
