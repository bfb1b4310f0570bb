/*
 * items: the item header, references, linking, the per-class LRUs, expiry
 * and flush checks, and finding a chunk when memory is short.
 *
 * An item is linked when it is in the hash table and in its class's LRU; the
 * link holds one reference, each reader one more. Unlinking drops the link's
 * reference; whoever drops the last one returns the chunk to its free list,
 * so a reader that still holds a replaced or deleted item reads it safely.
 *
 * Each class's LRU is four doubly linked lists (segments, memcached 1.6's
 * "modern" LRU), head = most recent: a new item joins HOT (TEMP when its TTL
 * is under temp_ttl); HOT and WARM are held to hot_pct / warm_pct of the
 * class's items (at link time, one item per link) and to an age limit (the
 * maintainer, below); what leaves them idle goes to COLD, whose tail is
 * evicted. A hit never takes the lru_lock: the second hit sets IT_ACTIVE
 * (and atime), and an active item moves up when a tail reaches it (HOT ->
 * WARM and WARM -> WARM's head when that segment must shrink, COLD -> WARM
 * by the maintainer or the allocation that meets it), so a scan of items set once flows through HOT
 * and COLD past the items that are read. TEMP items never move.
 * `lru mode flat` keeps the single LRU of old in COLD: a hit moves an item
 * to its head at most once per LRU_BUMP_INTERVAL seconds (as memcached's
 * ITEM_UPDATE_INTERVAL).
 *
 * Allocation (it_alloc), with no stripe lock held:
 *   1. flat mode only: look at LRU_TAIL_SEARCH items from the tail for an
 *      expired or flushed one nobody holds: reuse its chunk ("reclaimed");
 *      segmented, the maintainer frees dead tail items in the background
 *      (memcached 1.6 likewise), so a store does not walk a tail;
 *   2. else a chunk from the free list, the newest page, or a new page;
 *   3. else evict the least recent unreferenced item among COLD's tail ones
 *      (moving active ones up to WARM instead), or HOT's, WARM's, TEMP's if
 *      COLD has none to give (not with no_evict);
 *   4. else spill: a chain of chunks already free in other classes
 *      (chain.c), evicting nothing;
 *   5. else, for a class without a page, take one from another class at
 *      once (mover_page_for: the pool, or a bounded drain of the oldest-tail
 *      class's emptiest page); else out of memory (counted: automove sees
 *      it).
 * Items too large for the largest class are chains (chain.c: the same steps
 * for each chunk).
 * Tail items belong to other keys: their stripe lock is only tried (trylock),
 * because the LRU lock is already held and the order is stripe -> LRU.
 */
#include "slabs/internal.h"

#include <string.h>

/* ---- accessors (store.h) ---- */

const char *item_key(const item *it)
{
    return it_after_header(it);
}

uint8_t item_nkey(const item *it)
{
    return it->nkey;
}

const char *item_value(const item *it)
{
    SLABS_CHECK(it_kind(it) == IT_PLAIN);    /* a chained value is read by segments */
    return it_after_header(it) + it->nkey;
}

char *item_value_mut(item *it)
{
    SLABS_CHECK(it_kind(it) == IT_PLAIN);    /* a chained value is written by item_value_write */
    return it_after_header(it) + it->nkey;
}

uint32_t item_nvalue(const item *it)
{
    return it->nvalue;
}

uint32_t item_flags(const item *it)
{
    uint8_t f = iflags_get(it);
    if (!(f & ITEM_HAS_FLAGS))
        return 0;
    uint32_t v;
    memcpy(&v, (const char *)it + ITEM_HEADER_SIZE + ((f & ITEM_HAS_CAS) ? ITEM_CAS_SIZE : 0),
           sizeof(v));
    return v;
}

uint64_t item_cas(const item *it)
{
    if (!(iflags_get(it) & ITEM_HAS_CAS))
        return 0;
    uint64_t v;
    memcpy(&v, (const char *)it + ITEM_HEADER_SIZE, sizeof(v));
    return v;
}

rel_time_t item_exptime(const item *it)
{
    return atomic_load_explicit(&((item *)it)->exptime, memory_order_relaxed);
}

rel_time_t item_atime(const item *it)
{
    return atomic_load_explicit(&((item *)it)->atime, memory_order_relaxed);
}

bool item_fetched(const item *it)
{
    return (iflags_get(it) & ITEM_FETCHED) != 0;
}

unsigned item_class(const item *it)
{
    return it->cls;
}

void item_view(const item *it, struct item_view *v)
{
    uint8_t f = iflags_get(it);
    const char *p = (const char *)it + ITEM_HEADER_SIZE;
    v->cas = 0;
    if (f & ITEM_HAS_CAS) {
        memcpy(&v->cas, p, sizeof(v->cas));
        p += ITEM_CAS_SIZE;
    }
    v->flags = 0;
    if (f & ITEM_HAS_FLAGS) {
        memcpy(&v->flags, p, sizeof(v->flags));
        p += ITEM_FLAGS_SIZE;
    }
    v->key = p;
    v->nkey = it->nkey;
    v->value = it_kind(it) == IT_PLAIN ? p + it->nkey : NULL;
    v->nvalue = it->nvalue;
    v->cls = it->cls;
}

/* ---- sizes, init, CAS ---- */

size_t it_size_for(const store *s, size_t nkey, uint32_t flags, size_t nvalue)
{
    return s->hdr_base + (flags != 0 ? ITEM_FLAGS_SIZE : 0) + nkey + nvalue;
}

/* The bytes accounted for it's own chunk (of a chain: its head's). */
size_t it_total_size(const store *s, const item *it)
{
    if (it_kind(it) == IT_CHAINED)
        return chain_head_size(s, it);
    return (size_t)(it_after_header(it) - (const char *)it) + it->nkey + it->nvalue;
}

/* it_init, inline: the set path has it in it_alloc at no call's cost. */
static inline void it_init_inline(store *s, item *it, unsigned cls, const char *key,
                                  size_t nkey, uint32_t flags, rel_time_t exptime,
                                  uint32_t nvalue)
{
    it->prev = it->next = it->hnext = LINK_NONE;
    atomic_store_explicit(&it->exptime, exptime, memory_order_relaxed);
    atomic_store_explicit(&it->atime, clock_now(), memory_order_relaxed);
    it->nvalue = nvalue;
    it->nkey = (uint8_t)nkey;
    uint8_t f = (s->cfg.use_cas ? ITEM_HAS_CAS : 0) | (flags != 0 ? ITEM_HAS_FLAGS : 0);
    atomic_store_explicit(&it->iflags, f, memory_order_relaxed);
    SLABS_CHECK(it->cls == cls && it_kind(it) != IT_CHUNK);   /* set by slab_alloc* */
    char *p = (char *)it + ITEM_HEADER_SIZE;
    if (s->cfg.use_cas) {
        memset(p, 0, ITEM_CAS_SIZE);
        p += ITEM_CAS_SIZE;
    }
    if (flags != 0) {
        memcpy(p, &flags, sizeof(flags));
        p += ITEM_FLAGS_SIZE;
    }
    memcpy(p, key, nkey);
}

void it_init(store *s, item *it, unsigned cls, const char *key, size_t nkey,
             uint32_t flags, rel_time_t exptime, uint32_t nvalue)
{
    it_init_inline(s, it, cls, key, nkey, flags, exptime, nvalue);
}

void it_set_cas(const store *s, item *it, uint64_t cas)
{
    if (iflags_get(it) & ITEM_HAS_CAS)
        memcpy((char *)it + ITEM_HEADER_SIZE, &cas, sizeof(cas));
}

uint64_t it_next_cas(store *s)
{
    return atomic_fetch_add_explicit(&s->cas_seq, 1, memory_order_relaxed) + 1;
}

/* ---- liveness ---- */

static bool it_is_flushed(store *s, item *it, rel_time_t now)
{
    uint64_t fw = atomic_load_explicit(&s->flush_word, memory_order_acquire);
    if (fw != 0) {
        rel_time_t at = (rel_time_t)(fw >> 1);
        rel_time_t t = item_atime(it);
        if (now >= at && (t < at || ((fw & FLUSH_INCLUSIVE) && t == at)))
            return true;
    }
    uint64_t oc = atomic_load_explicit(&s->oldest_cas, memory_order_acquire);
    return oc != 0 && (iflags_get(it) & ITEM_HAS_CAS) && item_cas(it) < oc &&
           item_atime(it) <= atomic_load_explicit(&s->oldest_cas_at, memory_order_relaxed);
}

static bool it_is_expired(const item *it, rel_time_t now)
{
    rel_time_t e = item_exptime(it);
    return e != 0 && e <= now;
}

bool it_is_dead(store *s, item *it, rel_time_t now, enum store_miss *why)
{
    if (it_is_expired(it, now)) {
        if (why != NULL)
            *why = STORE_MISS_EXPIRED;
        return true;
    }
    if (it_is_flushed(s, it, now)) {
        if (why != NULL)
            *why = STORE_MISS_FLUSHED;
        return true;
    }
    return false;
}

static bool flush_pending(store *s)
{
    return atomic_load_explicit(&s->flush_word, memory_order_relaxed) != 0 ||
           atomic_load_explicit(&s->oldest_cas, memory_order_relaxed) != 0;
}

/* ---- references ---- */

void it_ref(item *it)
{
    uint16_t before = atomic_fetch_add_explicit(&it->refcount, 1, memory_order_relaxed);
    SLABS_CHECK(before != 0);     /* a reference to a free chunk */
    SLABS_CHECK(before != IT_REF_MAX);   /* more than IT_REF_RESERVE held by the store */
}

void it_unref(store *s, item *it)
{
    uint16_t before = atomic_fetch_sub_explicit(&it->refcount, 1, memory_order_acq_rel);
    SLABS_CHECK(before != 0);     /* refcount underflow: released once too often */
    if (before == 1) {
        if (it_kind(it) == IT_CHAINED)
            chain_free_data(s, it);     /* data chunks before their head */
        slab_free(s, it, it_total_size(s, it));
    }
}

bool it_try_pin(item *it)
{
    uint16_t r = atomic_load_explicit(&it->refcount, memory_order_relaxed);
    while (r != 0 && r < IT_REF_READER_MAX) {
        if (atomic_compare_exchange_weak_explicit(&it->refcount, &r, (uint16_t)(r + 1),
                                                  memory_order_acquire, memory_order_relaxed))
            return true;
    }
    return false;
}

void store_release(store *s, item *it)
{
    if (it != NULL)
        it_unref(s, it);
}

/* ---- LRU segments (lru_lock held unless said) ---- */

static inline enum lru_seg it_seg(const item *it)
{
    uint8_t k = atomic_load_explicit(&((item *)it)->kind, memory_order_relaxed);
    return (enum lru_seg)((k & IT_SEG_MASK) >> IT_SEG_SHIFT);
}

static inline bool it_active(const item *it)
{
    return (atomic_load_explicit(&((item *)it)->kind, memory_order_relaxed) & IT_ACTIVE) != 0;
}

/* Records it's segment and spends its hit (IT_ACTIVE): a move is the
 * reward. One compare-exchange on the byte: a hit may set IT_ACTIVE
 * meanwhile, and a page mover reads the IT_* bits. */
static inline void it_set_seg_locked(item *it, enum lru_seg seg)
{
    uint8_t k = atomic_load_explicit(&it->kind, memory_order_relaxed);
    uint8_t want;
    do
        want = (uint8_t)((k & ~(IT_SEG_MASK | IT_ACTIVE)) | (seg << IT_SEG_SHIFT));
    while (!atomic_compare_exchange_weak_explicit(&it->kind, &k, want, memory_order_relaxed,
                                                  memory_order_relaxed));
}

static inline bool lru_segmented(store *s)
{
    return atomic_load_explicit(&s->lru.segmented, memory_order_relaxed);
}

/* Puts it at the head of sc's segment seg; the caller has recorded seg in
 * its kind byte. sc->lru_lock held. */
static inline void lru_push_locked(store *s, struct slab_class *sc, item *it, enum lru_seg seg)
{
    ilist_push_head(s, &sc->lru_head[seg], &sc->lru_tail[seg], it);
    sc->seg_items[seg]++;
}

/* Makes it the most recent of sc's segment seg. sc->lru_lock held. */
static inline void lru_insert_head_locked(store *s, struct slab_class *sc, item *it, enum lru_seg seg)
{
    it_set_seg_locked(it, seg);
    lru_push_locked(s, sc, it, seg);
}

/* lru_insert_head_locked for an item being linked: a plain store of its
 * kind byte will do, as nobody else writes it yet (a hit needs the stripe
 * lock its linker holds; a page mover only reads it). sc->lru_lock held. */
static inline void lru_insert_new_locked(store *s, struct slab_class *sc, item *it,
                                         enum lru_seg seg)
{
    uint8_t kind = (uint8_t)(it_kind(it) | (seg << IT_SEG_SHIFT));
    atomic_store_explicit(&it->kind, kind, memory_order_relaxed);
    lru_push_locked(s, sc, it, seg);
}

/* Takes it out of whichever segment of sc holds it. sc->lru_lock held. */
static inline void lru_remove_locked(store *s, struct slab_class *sc, item *it)
{
    enum lru_seg seg = it_seg(it);
    ilist_remove(s, &sc->lru_head[seg], &sc->lru_tail[seg], it);
    sc->seg_items[seg]--;
}

/* Moves it to the head of seg (its own segment or another). lru_lock held. */
static inline void lru_move_locked(store *s, struct slab_class *sc, item *it, enum lru_seg seg)
{
    lru_remove_locked(s, sc, it);
    lru_insert_head_locked(s, sc, it, seg);
}

/* The segment a new item joins: TEMP for a TTL within temp_ttl, else HOT;
 * COLD, the one list, in flat mode. */
static inline enum lru_seg lru_seg_for_new(store *s, const item *it, rel_time_t now)
{
    if (!lru_segmented(s))
        return LRU_COLD;
    int64_t temp_ttl = atomic_load_explicit(&s->lru.temp_ttl, memory_order_relaxed);
    rel_time_t e = item_exptime(it);
    if (temp_ttl >= 0 && e != 0 && (int64_t)e - (int64_t)now <= temp_ttl)
        return LRU_TEMP;
    return LRU_HOT;
}

/* No age limit for lru_juggle_tail_locked (the link path checks shares only). */
#define LRU_NO_AGE_LIMIT UINT32_MAX

/*
 * One look at the tail of HOT or WARM (seg) when the segment is over its
 * share of the class's items, or its tail is older than max_age: an active
 * tail moves up (HOT -> WARM) or around (WARM's head), an idle one down to
 * COLD. Within its limits a segment is left alone (no churn while the
 * cache is not full). Returns whether it moved an item. sc->lru_lock held.
 */
static bool lru_juggle_tail_locked(store *s, struct slab_class *sc, enum lru_seg seg,
                                   rel_time_t max_age, rel_time_t now)
{
    if (sc->seg_items[seg] == 0)
        return false;
    unsigned pct = atomic_load_explicit(seg == LRU_HOT ? &s->lru.hot_pct : &s->lru.warm_pct,
                                        memory_order_relaxed);
    uint64_t kept = sc->seg_items[LRU_HOT] + sc->seg_items[LRU_WARM] + sc->seg_items[LRU_COLD];
    bool over_share = sc->seg_items[seg] * 100 > kept * pct;
    if (!over_share && max_age == LRU_NO_AGE_LIMIT)
        return false;
    item *it = it_at(s, sc->lru_tail[seg]);
    if (!over_share && now - item_atime(it) <= max_age)
        return false;
    if (it_active(it)) {
        if (seg == LRU_WARM)
            sc->moves_within_lru++;
        else
            sc->moves_to_warm++;
        lru_move_locked(s, sc, it, LRU_WARM);
    } else {
        sc->moves_to_cold++;
        lru_move_locked(s, sc, it, LRU_COLD);
    }
    return true;
}

/* After an item joined HOT: keeps HOT, then WARM (which HOT may have fed),
 * within their shares, one item each, so that segments hold without the
 * maintainer; the maintainer applies the age limits. Inline, on every
 * store. lru_lock held. */
static inline void lru_balance_locked(store *s, struct slab_class *sc)
{
    if (lru_juggle_tail_locked(s, sc, LRU_HOT, LRU_NO_AGE_LIMIT, 0))
        lru_juggle_tail_locked(s, sc, LRU_WARM, LRU_NO_AGE_LIMIT, 0);
}

/* ---- linking (stripe lock held) ---- */

/* The item half of a link: CAS (*cas, or a new one), atime, LINKED, the
 * link's reference. Returns the time stamped. Stripe lock held. */
static inline rel_time_t it_link_mark_locked(store *s, item *it, const uint64_t *cas)
{
    SLABS_CHECK(!(iflags_get(it) & (ITEM_LINKED | ITEM_FREE)));  /* linked twice, or free */
    if (cas != NULL)
        it_set_cas(s, it, *cas);
    else if (s->cfg.use_cas)
        it_set_cas(s, it, it_next_cas(s));
    else
        it_next_cas(s);   /* the counter still counts mutations */
    rel_time_t now = clock_now();
    atomic_store_explicit(&it->atime, now, memory_order_relaxed);
    /* release: a mover that pins the item and sees LINKED reads its key */
    atomic_fetch_or_explicit(&it->iflags, ITEM_LINKED, memory_order_release);
    it_ref(it);
    return now;
}

/* it joins seg's head and the class's item counts. sc->lru_lock held. */
static inline void lru_join_locked(store *s, struct slab_class *sc, item *it, enum lru_seg seg)
{
    lru_insert_new_locked(s, sc, it, seg);
    sc->curr_items++;
    sc->total_items++;
}

/* The LRU half of a link: the segment's head, the counters, the shares.
 * sc->lru_lock held. */
static inline void lru_link_new_locked(store *s, struct slab_class *sc, item *it, rel_time_t now)
{
    enum lru_seg seg = lru_seg_for_new(s, it, now);
    lru_join_locked(s, sc, it, seg);
    if (seg == LRU_HOT)
        lru_balance_locked(s, sc);
}

/* A linked item enters the hash table and the crawler's schedule. */
static inline void it_index_locked(store *s, item *it, uint64_t hv)
{
    assoc_insert_locked(s, it, hv);
    crawler_note_exptime(s, item_exptime(it));
}

/* it_link_cas_locked but for the histogram (its callers count the size).
 * Inline: the set path has it. */
static inline void it_link_body_locked(store *s, item *it, uint64_t hv, const uint64_t *cas)
{
    struct slab_class *sc = &s->classes[it->cls];
    rel_time_t now = it_link_mark_locked(s, it, cas);
    it_index_locked(s, it, hv);
    class_mutex_lock(&sc->lru_lock);
    lru_link_new_locked(s, sc, it, now);
    class_mutex_unlock(&sc->lru_lock);
}

/* A resumed item (restart.c) goes back into the hash table, the histogram
 * and the LRU segment it was in, keeping its CAS and times. */
void it_resume_link_locked(store *s, item *it, uint64_t hv)
{
    struct slab_class *sc = &s->classes[it->cls];
    SLABS_CHECK(!(iflags_get(it) & (ITEM_LINKED | ITEM_FREE)));
    sizes_note_locked(s, it, hv, true);
    enum lru_seg seg = lru_segmented(s) ? it_seg(it) : LRU_COLD;
    atomic_store_explicit(&it->refcount, 1, memory_order_relaxed);   /* the link's */
    atomic_fetch_or_explicit(&it->iflags, ITEM_LINKED, memory_order_release);
    it_index_locked(s, it, hv);
    class_mutex_lock(&sc->lru_lock);
    lru_join_locked(s, sc, it, seg);
    class_mutex_unlock(&sc->lru_lock);
}

/* it_unlink_locked but for the histogram: drops the link's reference last
 * (which may free it). */
static inline void it_unlink_body_locked(store *s, item *it, uint64_t hv)
{
    struct slab_class *sc = &s->classes[it->cls];
    SLABS_CHECK(iflags_get(it) & ITEM_LINKED);    /* unlinked twice */
    assoc_delete_locked(s, it, hv);
    class_mutex_lock(&sc->lru_lock);
    lru_remove_locked(s, sc, it);
    sc->curr_items--;
    class_mutex_unlock(&sc->lru_lock);
    atomic_fetch_and_explicit(&it->iflags, (uint8_t)~ITEM_LINKED, memory_order_relaxed);
    it_unref(s, it);
}

/* Links a new item: new CAS (or *cas, one the client chose: memcached's E
 * flag), hash table, size histogram, LRU head; the link takes its own
 * reference. The key's stripe lock held; takes the class's lru_lock. */
void it_link_cas_locked(store *s, item *it, uint64_t hv, const uint64_t *cas)
{
    sizes_note_locked(s, it, hv, true);
    it_link_body_locked(s, it, hv, cas);
}

void it_link_locked(store *s, item *it, uint64_t hv)
{
    it_link_cas_locked(s, it, hv, NULL);
}

/* Unlinks it and drops the link's reference (which may free it). The key's
 * stripe lock held; takes the class's lru_lock. */
void it_unlink_locked(store *s, item *it, uint64_t hv)
{
    sizes_note_locked(s, it, hv, false);
    it_unlink_body_locked(s, it, hv);
}

/*
 * A replacement within one class (a set of a same-sized value, the common
 * case): one lru_lock pair for the unlink of old and the link of it, where
 * an unlink then a link take two (issue 17). old's reference goes last, as
 * in it_unlink_body_locked. Stripe lock held.
 */
static void it_replace_same_class_locked(store *s, item *old, item *it, uint64_t hv,
                                         const uint64_t *cas)
{
    struct slab_class *sc = &s->classes[it->cls];
    SLABS_CHECK(iflags_get(old) & ITEM_LINKED);    /* unlinked twice */
    assoc_delete_locked(s, old, hv);
    rel_time_t now = it_link_mark_locked(s, it, cas);
    it_index_locked(s, it, hv);
    class_mutex_lock(&sc->lru_lock);
    lru_remove_locked(s, sc, old);
    sc->curr_items--;
    lru_link_new_locked(s, sc, it, now);
    class_mutex_unlock(&sc->lru_lock);
    atomic_fetch_and_explicit(&old->iflags, (uint8_t)~ITEM_LINKED, memory_order_relaxed);
    it_unref(s, old);
}

/* old's place under the key goes to it. The key's stripe lock held. */
void it_replace_cas_locked(store *s, item *old, item *it, uint64_t hv, const uint64_t *cas)
{
    sizes_replace_locked(s, old, it, hv);
    if (old->cls == it->cls) {
        it_replace_same_class_locked(s, old, it, hv, cas);
        return;
    }
    it_unlink_body_locked(s, old, hv);
    it_link_body_locked(s, it, hv, cas);
}

void it_replace_locked(store *s, item *old, item *it, uint64_t hv)
{
    it_replace_cas_locked(s, old, it, hv, NULL);
}

/* Refreshes a hit's atime at most once per LRU_BUMP_INTERVAL; in flat mode
 * also moves it to the head of the one LRU (segmented, hits move items
 * through IT_ACTIVE instead). The key's stripe lock held, so the item cannot
 * be unlinked halfway; takes lru_lock in flat mode. */
void it_bump_locked(store *s, item *it, rel_time_t now)
{
    if (now - item_atime(it) < LRU_BUMP_INTERVAL)
        return;
    if (!lru_segmented(s)) {
        struct slab_class *sc = &s->classes[it->cls];
        class_mutex_lock(&sc->lru_lock);
        if (iflags_get(it) & ITEM_LINKED)
            lru_move_locked(s, sc, it, LRU_COLD);
        class_mutex_unlock(&sc->lru_lock);
    }
    atomic_store_explicit(&it->atime, now, memory_order_relaxed);
}

void it_hit_slow_locked(store *s, item *it, uint8_t before, uint8_t kind)
{
    if (!(before & ITEM_FETCHED))
        atomic_fetch_or_explicit(&it->iflags, ITEM_FETCHED, memory_order_relaxed);
    if (!lru_segmented(s)) {
        it_bump_locked(s, it, clock_now());
        return;
    }
    enum lru_seg seg = (enum lru_seg)((kind & IT_SEG_MASK) >> IT_SEG_SHIFT);
    /* a first hit only marks it fetched, as memcached: one read is no habit */
    if (seg == LRU_TEMP || (kind & IT_ACTIVE) || !(before & ITEM_FETCHED))
        return;
    atomic_fetch_or_explicit(&it->kind, IT_ACTIVE, memory_order_relaxed);
    atomic_store_explicit(&it->atime, clock_now(), memory_order_relaxed);
}

/* Puts fresh where old is in sc's LRU, in old's segment and with its
 * IT_ACTIVE. sc->lru_lock held. */
static void lru_swap_locked(store *s, struct slab_class *sc, item *old, item *fresh)
{
    enum lru_seg seg = it_seg(old);
    ilink l = it_link_of(s, fresh);
    it_set_seg_locked(fresh, seg);
    if (it_active(old))
        atomic_fetch_or_explicit(&fresh->kind, IT_ACTIVE, memory_order_relaxed);
    fresh->prev = old->prev;
    fresh->next = old->next;
    if (old->prev != LINK_NONE)
        it_at(s, old->prev)->next = l;
    else
        sc->lru_head[seg] = l;
    if (old->next != LINK_NONE)
        it_at(s, old->next)->prev = l;
    else
        sc->lru_tail[seg] = l;
    old->prev = old->next = LINK_NONE;
}

/* A rescue into another class (out of a retired one): old leaves its LRU,
 * fresh joins its own class's LRU in old's segment. lru_locks one at a time. */
static void lru_move_across(store *s, item *old, item *fresh)
{
    struct slab_class *from = &s->classes[old->cls], *to = &s->classes[fresh->cls];
    enum lru_seg seg = it_seg(old);
    class_mutex_lock(&from->lru_lock);
    lru_remove_locked(s, from, old);
    from->curr_items--;
    class_mutex_unlock(&from->lru_lock);
    class_mutex_lock(&to->lru_lock);
    lru_insert_new_locked(s, to, fresh, seg);
    to->curr_items++;
    class_mutex_unlock(&to->lru_lock);
}

void it_rescue_locked(store *s, item *old, item *fresh, uint64_t hv)
{
    struct slab_class *sc = &s->classes[old->cls];
    SLABS_CHECK(it_kind(old) == IT_PLAIN && s->classes[fresh->cls].size >= it_total_size(s, old));
    /* the header field by field (links and refcount stay fresh's), then
     * CAS, flags, key and value as bytes */
    fresh->nvalue = old->nvalue;
    fresh->nkey = old->nkey;
    atomic_store_explicit(&fresh->exptime, item_exptime(old), memory_order_relaxed);
    atomic_store_explicit(&fresh->atime, item_atime(old), memory_order_relaxed);
    uint8_t f = (uint8_t)(iflags_get(old) & ~ITEM_LINKED);
    atomic_store_explicit(&fresh->iflags, f, memory_order_relaxed);
    memcpy((char *)fresh + ITEM_HEADER_SIZE, (const char *)old + ITEM_HEADER_SIZE,
           it_total_size(s, old) - ITEM_HEADER_SIZE);
    assoc_delete_locked(s, old, hv);
    assoc_insert_locked(s, fresh, hv);
    if (fresh->cls == old->cls) {
        class_mutex_lock(&sc->lru_lock);
        lru_swap_locked(s, sc, old, fresh);
        class_mutex_unlock(&sc->lru_lock);
    } else {
        lru_move_across(s, old, fresh);
    }
    atomic_fetch_and_explicit(&old->iflags, (uint8_t)~ITEM_LINKED, memory_order_relaxed);
    atomic_fetch_or_explicit(&fresh->iflags, ITEM_LINKED, memory_order_release);
    /* fresh's allocation reference becomes its link's; old loses its link's */
    it_unref(s, old);
}

/* Seconds since seg's tail was stored or hit; 0 when seg is empty.
 * lru_lock held. */
static rel_time_t lru_seg_age_locked(store *s, struct slab_class *sc, enum lru_seg seg,
                                     rel_time_t now)
{
    item *tail = it_at(s, sc->lru_tail[seg]);
    return tail != NULL ? now - item_atime(tail) : 0;
}

rel_time_t lru_tail_age(store *s, unsigned cls)
{
    struct slab_class *sc = &s->classes[cls];
    rel_time_t now = clock_now();
    rel_time_t age = UINT32_MAX;
    class_mutex_lock(&sc->lru_lock);
    for (int seg = 0; seg < LRU_SEGS; seg++) {
        if (sc->lru_tail[seg] == LINK_NONE)
            continue;
        rel_time_t a = lru_seg_age_locked(s, sc, (enum lru_seg)seg, now);
        age = age == UINT32_MAX || a > age ? a : age;
    }
    class_mutex_unlock(&sc->lru_lock);
    if (age == UINT32_MAX) {
        /* No item of its own, but chunks in use: data chunks of chains whose
         * heads (and ages) live in the largest class. Not a stale class. */
        class_mutex_lock(&sc->slab_lock);
        if (sc->used_chunks > 0)
            age = 0;
        class_mutex_unlock(&sc->slab_lock);
    }
    return age;
}

/* ---- finding a chunk ---- */

void it_log_eviction(const item *it, rel_time_t now)
{
    rel_time_t exp = item_exptime(it);
    int64_t ttl = exp == 0 ? -1 : (int64_t)exp - (int64_t)now;   /* memcached's: -1 for none */
    logger_eviction(item_key(it), item_nkey(it), item_fetched(it), ttl, now - item_atime(it),
                    item_class(it), item_nvalue(it));
}

/* Counts the end of a tail item that is taken over. lru_lock held. */
static void lru_count_taken_locked(store *s, struct slab_class *sc, item *it, bool dead,
                                   rel_time_t now)
{
    bool fetched = item_fetched(it);
    if (dead) {
        sc->reclaimed++;
        if (!fetched)
            sc->expired_unfetched++;
        return;
    }
    sc->evicted++;
    if (logger_wants(LOGGER_EVICTIONS))
        it_log_eviction(it, now);
    if (it_active(it))
        sc->evicted_active++;
    mover_note_pressure(s);
    if (item_exptime(it) != 0)
        sc->evicted_nonzero++;
    if (!fetched)
        sc->evicted_unfetched++;
    sc->evicted_time = now - item_atime(it);
}

/*
 * Takes a linked item that only its link holds (refcount 1 -> 0, under its
 * stripe lock) so that it can change hands without being freed: readers
 * cannot come (they need the stripe lock) and a page mover never pins a
 * refcount of 0, so nobody reads its key while the new owner rewrites it.
 */
static bool it_claim(item *it)
{
    uint16_t only_link = 1;
    return atomic_compare_exchange_strong_explicit(&it->refcount, &only_link, 0,
                                                   memory_order_acquire, memory_order_relaxed);
}

/* Unlinks a tail item claimed under its stripe lock (refcount 0), counts
 * it, and gives it refcount 1: the new owner's. lru_lock held. */
static void lru_unlink_claimed_locked(store *s, struct slab_class *sc, item *it, uint64_t hv,
                                      bool dead, rel_time_t now)
{
    assoc_delete_locked(s, it, hv);
    sizes_note_locked(s, it, hv, false);
    lru_remove_locked(s, sc, it);
    sc->curr_items--;
    atomic_fetch_and_explicit(&it->iflags, (uint8_t)~ITEM_LINKED, memory_order_relaxed);
    lru_count_taken_locked(s, sc, it, dead, now);
    /* release: a mover that pins it from now on sees it unlinked and
     * leaves its key alone */
    atomic_store_explicit(&it->refcount, 1, memory_order_release);
}

/* Takes the tail item it if it is dead, or evict says so, and nobody holds
 * it: unlinked, refcount 1. Its stripe is only tried (lru_lock is held and
 * the order is stripe -> LRU). lru_lock held. */
static bool lru_try_take_locked(store *s, struct slab_class *sc, item *it, bool evict,
                                rel_time_t now)
{
    struct key_lock k = key_lock_for(s, item_key(it), it->nkey);
    if (!key_trylock(&k))
        return false;
    bool dead = it_is_dead(s, it, now, NULL);
    bool held = atomic_load_explicit(&it->refcount, memory_order_acquire) != 1;
    if (held)
        sc->lrutail_reflocked++;
    bool take = !held && (dead || (evict && !s->cfg.no_evict)) && it_claim(it);
    if (take)
        lru_unlink_claimed_locked(s, sc, it, k.hv, dead, now);
    key_unlock(&k);
    return take;
}

/* Looks at LRU_TAIL_SEARCH items from seg's tail for a dead one to take
 * (lru_try_take_locked): the allocation's first step, on every store, so
 * it only reads exptimes unless a flush is pending. lru_lock held. */
static inline item *lru_reclaim_from_locked(store *s, struct slab_class *sc, enum lru_seg seg,
                                     bool flushes, rel_time_t now)
{
    item *it = it_at(s, sc->lru_tail[seg]);
    for (int tries = 0; it != NULL && tries < LRU_TAIL_SEARCH; tries++, it = it_at(s, it->prev)) {
        if ((flushes || it_is_expired(it, now)) && lru_try_take_locked(s, sc, it, false, now))
            return it;
    }
    return NULL;
}

/* Active tails one eviction may move up to WARM before it settles. */
#define LRU_RESCUE_MAX (LRU_TAIL_SEARCH * 4)

/* Looks at LRU_TAIL_SEARCH items from seg's tail for one to evict (or a
 * dead one). With spare_active the active items it meets are not taken:
 * LRU_RESCUE_MAX of them move up to WARM (a hit earns one more round), the
 * rest are passed over. lru_lock held. */
static item *lru_evict_from_locked(store *s, struct slab_class *sc, enum lru_seg seg,
                                   bool spare_active, rel_time_t now)
{
    unsigned rescued = 0;
    item *it = it_at(s, sc->lru_tail[seg]);
    for (int tries = 0; it != NULL && tries < LRU_TAIL_SEARCH;) {
        item *prev = it_at(s, it->prev);
        if (spare_active && it_active(it)) {
            if (rescued < LRU_RESCUE_MAX) {
                sc->moves_to_warm++;
                lru_move_locked(s, sc, it, LRU_WARM);
                rescued++;
            } else {
                tries++;
            }
        } else {
            tries++;
            if (lru_try_take_locked(s, sc, it, true, now))
                return it;
        }
        it = prev;
    }
    return NULL;
}

/* Where an eviction looks, in turn: COLD's tail, then HOT's (COLD empty,
 * held, or all active), then the others so that a full class still frees;
 * COLD and HOT spare their active items (segmented mode). Last, COLD
 * again, active items and all (counted evicted_active). */
static const enum lru_seg lru_evict_order[] = { LRU_COLD, LRU_HOT, LRU_WARM, LRU_TEMP };

static item *lru_evict_locked(store *s, struct slab_class *sc, rel_time_t now)
{
    bool segmented = lru_segmented(s);
    for (size_t i = 0; i < LRU_SEGS; i++) {
        enum lru_seg seg = lru_evict_order[i];
        bool spare = segmented && (seg == LRU_COLD || seg == LRU_HOT);
        item *found = lru_evict_from_locked(s, sc, seg, spare, now);
        if (found != NULL)
            return found;
    }
    return segmented ? lru_evict_from_locked(s, sc, LRU_COLD, false, now) : NULL;
}

/*
 * Takes an item near a tail of class cls: a dead one (expired or flushed)
 * nobody holds at COLD's or TEMP's tail, or with evict also a live one
 * nobody holds (lru_evict_locked). Returns it unlinked, claimed (refcount 1,
 * the caller's), or NULL.
 */
item *lru_take_tail(store *s, unsigned cls, bool evict)
{
    struct slab_class *sc = &s->classes[cls];
    rel_time_t now = clock_now();
    bool flushes = flush_pending(s);
    item *found = NULL;

    class_mutex_lock(&sc->lru_lock);
    if (!evict) {
        found = lru_reclaim_from_locked(s, sc, LRU_COLD, flushes, now);
        if (found == NULL && sc->lru_tail[LRU_TEMP] != LINK_NONE)
            found = lru_reclaim_from_locked(s, sc, LRU_TEMP, flushes, now);
    }
    if (evict && found == NULL)
        found = lru_evict_locked(s, sc, now);
    if (found != NULL)
        sc->direct_reclaims++;
    class_mutex_unlock(&sc->lru_lock);
    return found;
}

/*
 * An item taken at the tail of class cls (lru_take_tail) becomes a chunk for
 * nbytes: unlinked, refcount 1, accounted. A chain head is never reused in
 * place: its whole chain is freed and a chunk taken afresh (maybe NULL).
 */
static item *lru_reuse(store *s, unsigned cls, item *found, size_t nbytes)
{
    if (it_kind(found) == IT_CHAINED) {
        it_unref(s, found);
        return slab_alloc(s, cls, nbytes);
    }
    slab_account_reuse(s, cls, it_total_size(s, found), nbytes);
    return found;
}

/* Takes over an item near the tail of class cls for nbytes (lru_reuse), or NULL. */
static inline item *lru_pull_tail(store *s, unsigned cls, size_t nbytes, bool evict)
{
    item *found = lru_take_tail(s, cls, evict);
    return found != NULL ? lru_reuse(s, cls, found, nbytes) : NULL;
}

item *it_alloc(store *s, const char *key, size_t nkey, uint32_t flags, rel_time_t exptime,
               size_t nvalue, enum store_result *why)
{
    size_t nbytes = it_size_for(s, nkey, flags, nvalue);
    unsigned cls = key_ok(nkey) && nvalue <= UINT32_MAX ? slab_class_for(s, nbytes) : 0;
    if (cls == 0) {
        if (key_ok(nkey) && chain_needed(s, nbytes))
            return chain_alloc(s, key, nkey, flags, exptime, nvalue, why);
        if (why != NULL)
            *why = STORE_TOO_LARGE;
        return NULL;
    }
    /* segmented, dead items are the maintainer's to free, as memcached's */
    item *it = lru_segmented(s) ? NULL : lru_pull_tail(s, cls, nbytes, false);
    if (it == NULL)
        it = slab_alloc(s, cls, nbytes);
    /* a retune made cls retired since slab_class_for: it takes no page and
     * evicts nothing for new stores; the new table's class for nbytes may */
    if (it == NULL && slab_class_retired(s, cls))
        return it_alloc(s, key, nkey, flags, exptime, nvalue, why);
    if (it == NULL)
        it = lru_pull_tail(s, cls, nbytes, true);
    if (it == NULL && (it = chain_spill(s, key, nkey, flags, exptime, nvalue)) != NULL)
        return it;      /* filled in by chain_spill */
    /* No page of its own at all: one from another class, at once. */
    if (it == NULL && !s->cfg.no_evict && mover_page_for(s, cls))
        it = slab_alloc(s, cls, nbytes);
    if (it == NULL) {
        struct slab_class *sc = &s->classes[cls];
        class_mutex_lock(&sc->lru_lock);
        sc->outofmemory++;
        mover_note_pressure(s);
        class_mutex_unlock(&sc->lru_lock);
        if (why != NULL)
            *why = STORE_NO_MEMORY;
        return NULL;
    }
    it_init_inline(s, it, cls, key, nkey, flags, exptime, (uint32_t)nvalue);
    return it;
}

void lru_stats(store *s, unsigned cls, struct store_class_stats *out)
{
    struct slab_class *sc = &s->classes[cls];
    rel_time_t now = clock_now();
    class_mutex_lock(&sc->lru_lock);
#define LRU_STAT_COPY(field) out->field = sc->field;
#define LRU_STAT_ROW(field, type, kept, ...) SLAB_STAT_IF_LRU(kept, LRU_STAT_COPY)(field)
    STORE_CLASS_STATS(LRU_STAT_ROW)
#undef LRU_STAT_ROW
#undef LRU_STAT_COPY
    out->age = lru_seg_age_locked(s, sc, LRU_COLD, now);
    out->age_hot = lru_seg_age_locked(s, sc, LRU_HOT, now);
    out->age_warm = lru_seg_age_locked(s, sc, LRU_WARM, now);
    out->number_hot = sc->seg_items[LRU_HOT];
    out->number_warm = sc->seg_items[LRU_WARM];
    out->number_cold = sc->seg_items[LRU_COLD];
    out->number_temp = sc->seg_items[LRU_TEMP];
    class_mutex_unlock(&sc->lru_lock);
    out->hits_to_hot = atomic_load_explicit(&sc->seg_hits[LRU_HOT], memory_order_relaxed);
    out->hits_to_warm = atomic_load_explicit(&sc->seg_hits[LRU_WARM], memory_order_relaxed);
    out->hits_to_cold = atomic_load_explicit(&sc->seg_hits[LRU_COLD], memory_order_relaxed);
    out->hits_to_temp = atomic_load_explicit(&sc->seg_hits[LRU_TEMP], memory_order_relaxed);
}

/* ---- the LRU maintainer ----
 *
 * A bounded step per class, run by the mover thread (mover.c) between its
 * own steps: free the dead items at each segment's tail, then juggle: HOT
 * and WARM tails move as lru_juggle_tail_locked says, with age limits of
 * hot_max_factor / warm_max_factor times COLD's tail age, and the active
 * items at COLD's tail move up to WARM. At most LRU_MAINTAIN_BATCH items per
 * segment per step, so a get never waits long for the lru_lock. */
#define LRU_MAINTAIN_BATCH 200
#define LRU_BUSY_SLEEP_MS 10        /* after a step that moved or freed items */
#define LRU_IDLE_SLEEP_MAX_MS 1000  /* an idle maintainer's longest sleep */

/* Frees the dead, unheld items at seg's tail (the allocation path's
 * reclaim, in the background). Returns how many. lru_lock held. */
static unsigned lru_reclaim_tail_locked(store *s, struct slab_class *sc, enum lru_seg seg,
                                        rel_time_t now)
{
    unsigned freed = 0;
    bool flushes = flush_pending(s);
    item *it = it_at(s, sc->lru_tail[seg]);
    /* Only the exptime (atomic) is read before the key's lock: the CAS a
     * flush compares is written under that lock (in-place incr), so
     * lru_try_take_locked decides deadness under it. */
    while (it != NULL && freed < LRU_MAINTAIN_BATCH && (flushes || it_is_expired(it, now)) &&
           lru_try_take_locked(s, sc, it, false, now)) {
        it_unref(s, it);    /* the chunk goes back to its free list */
        freed++;
        it = it_at(s, sc->lru_tail[seg]);
    }
    return freed;
}

/* Moves up to LRU_MAINTAIN_BATCH items of seg (lru_juggle_tail_locked);
 * returns how many. lru_lock held. */
static unsigned lru_juggle_locked(store *s, struct slab_class *sc, enum lru_seg seg,
                                  rel_time_t max_age, rel_time_t now)
{
    unsigned moved = 0;
    while (moved < LRU_MAINTAIN_BATCH && lru_juggle_tail_locked(s, sc, seg, max_age, now))
        moved++;
    return moved;
}

/* COLD's active tail items move up to WARM, when the class evicted since
 * the last step (without evictions nothing leaves COLD, and lifting would
 * only churn); returns how many. lru_lock held. */
static unsigned lru_lift_cold_locked(store *s, struct slab_class *sc)
{
    if (sc->evicted == sc->evicted_seen)
        return 0;
    sc->evicted_seen = sc->evicted;
    unsigned moved = 0;
    item *it;
    while (moved < LRU_MAINTAIN_BATCH && (it = it_at(s, sc->lru_tail[LRU_COLD])) != NULL &&
           it_active(it)) {
        sc->moves_to_warm++;
        lru_move_locked(s, sc, it, LRU_WARM);
        moved++;
    }
    return moved;
}

/* factor times COLD's age; no limit for a factor `lru tune` let through
 * that gives no number of seconds (NaN, infinity, huge). */
static rel_time_t lru_age_limit(double factor, rel_time_t cold_age)
{
    double limit = factor * (double)cold_age;
    return limit >= 0 && limit < (double)LRU_NO_AGE_LIMIT ? (rel_time_t)limit : LRU_NO_AGE_LIMIT;
}

/* One maintainer step on class cls; returns the items it moved or freed. */
static unsigned lru_maintain_class(store *s, unsigned cls, rel_time_t now)
{
    struct slab_class *sc = &s->classes[cls];
    unsigned work = 0;
    class_mutex_lock(&sc->lru_lock);
    for (int seg = 0; seg < LRU_SEGS; seg++)
        work += lru_reclaim_tail_locked(s, sc, (enum lru_seg)seg, now);
    if (lru_segmented(s)) {
        rel_time_t cold_age = lru_seg_age_locked(s, sc, LRU_COLD, now);
        double hot_f = atomic_load_explicit(&s->lru.hot_max_factor, memory_order_relaxed);
        double warm_f = atomic_load_explicit(&s->lru.warm_max_factor, memory_order_relaxed);
        work += lru_juggle_locked(s, sc, LRU_HOT, lru_age_limit(hot_f, cold_age), now);
        work += lru_juggle_locked(s, sc, LRU_WARM, lru_age_limit(warm_f, cold_age), now);
        work += lru_lift_cold_locked(s, sc);
    }
    class_mutex_unlock(&sc->lru_lock);
    return work;
}

long lru_maintain(store *s)
{
    rel_time_t now = clock_now();
    unsigned work = 0;
    for (unsigned cls = 1; cls <= slab_nclasses(s); cls++)
        work += lru_maintain_class(s, cls, now);
    if (work > 0) {
        atomic_fetch_add_explicit(&s->lru.juggles, 1, memory_order_relaxed);
        s->lru.idle_ms = LRU_BUSY_SLEEP_MS;
        return LRU_BUSY_SLEEP_MS;
    }
    /* nothing to do: sleep twice as long as last time, up to the maximum */
    unsigned next = s->lru.idle_ms * 2;
    s->lru.idle_ms = next > LRU_IDLE_SLEEP_MAX_MS ? LRU_IDLE_SLEEP_MAX_MS : next;
    return (long)s->lru.idle_ms;
}

void lru_init(store *s)
{
    const struct store_config *c = &s->cfg;
    atomic_init(&s->lru.segmented, c->lru_segmented);
    atomic_init(&s->lru.hot_pct, c->hot_lru_pct);
    atomic_init(&s->lru.warm_pct, c->warm_lru_pct);
    atomic_init(&s->lru.hot_max_factor, c->hot_max_factor);
    atomic_init(&s->lru.warm_max_factor, c->warm_max_factor);
    atomic_init(&s->lru.temp_ttl, c->temp_lru ? (int64_t)c->temporary_ttl : -1);
    atomic_init(&s->lru.juggles, 0);
    s->lru.idle_ms = LRU_BUSY_SLEEP_MS;
}

/* ---- run-time settings (store.h) ---- */

void store_lru_set_segmented(store *s, bool segmented)
{
    atomic_store_explicit(&s->lru.segmented, segmented, memory_order_relaxed);
}

enum store_lru_tune store_lru_tune(store *s, unsigned hot_pct, unsigned warm_pct,
                                   double hot_max_factor, double warm_max_factor)
{
    if ((uint32_t)(hot_pct + warm_pct) > LRU_PCT_MAX)
        return STORE_LRU_TUNE_PCTS;
    if (hot_max_factor <= 0 || warm_max_factor <= 0)   /* memcached lets NaN through */
        return STORE_LRU_TUNE_FACTORS;
    atomic_store_explicit(&s->lru.hot_pct, hot_pct, memory_order_relaxed);
    atomic_store_explicit(&s->lru.warm_pct, warm_pct, memory_order_relaxed);
    atomic_store_explicit(&s->lru.hot_max_factor, hot_max_factor, memory_order_relaxed);
    atomic_store_explicit(&s->lru.warm_max_factor, warm_max_factor, memory_order_relaxed);
    return STORE_LRU_TUNE_OK;
}

void store_lru_set_temp_ttl(store *s, int64_t ttl)
{
    atomic_store_explicit(&s->lru.temp_ttl, ttl < 0 ? -1 : ttl, memory_order_relaxed);
}

void store_lru_settings(store *s, struct store_lru_settings *out)
{
    int64_t ttl = atomic_load_explicit(&s->lru.temp_ttl, memory_order_relaxed);
    out->maintainer = s->cfg.lru_maintainer;
    out->segmented = lru_segmented(s);
    out->hot_lru_pct = atomic_load_explicit(&s->lru.hot_pct, memory_order_relaxed);
    out->warm_lru_pct = atomic_load_explicit(&s->lru.warm_pct, memory_order_relaxed);
    out->hot_max_factor = atomic_load_explicit(&s->lru.hot_max_factor, memory_order_relaxed);
    out->warm_max_factor = atomic_load_explicit(&s->lru.warm_max_factor, memory_order_relaxed);
    out->temp_lru = ttl >= 0;
    out->temporary_ttl = ttl >= 0 ? (uint32_t)ttl : s->cfg.temporary_ttl;
}

uint64_t lru_juggles(store *s)
{
    return atomic_load_explicit(&s->lru.juggles, memory_order_relaxed);
}

/* ---- item marks (store.h) ---- */

bool item_is_stale(const item *it)
{
    return (iflags_get(it) & ITEM_STALE) != 0;
}

bool item_token_sent(const item *it)
{
    return (iflags_get(it) & ITEM_TOKEN_SENT) != 0;
}

bool item_key_binary(const item *it)
{
    return (iflags_get(it) & ITEM_KEY_BINARY) != 0;
}

bool item_claim_token(item *it)
{
    uint8_t before = atomic_fetch_or_explicit(&it->iflags, ITEM_TOKEN_SENT, memory_order_acq_rel);
    return (before & ITEM_TOKEN_SENT) != 0;
}

void item_mark_key_binary(item *it)
{
    atomic_fetch_or_explicit(&it->iflags, ITEM_KEY_BINARY, memory_order_relaxed);
}

void item_set_exptime(item *it, int64_t exptime)
{
    atomic_store_explicit(&it->exptime, clock_exptime(exptime), memory_order_relaxed);
}
