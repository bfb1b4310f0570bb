/*
 * items: the item header, references, linking, the per-class LRUs, expiry
 * and flush checks, and finding a chunk when memory is short.
 *
 * An item is linked when it is in the hash table and in its class's LRU; the
 * link holds one reference, each reader one more. Unlinking drops the link's
 * reference; whoever drops the last one returns the chunk to its free list,
 * so a reader that still holds a replaced or deleted item reads it safely.
 *
 * The LRU is doubly linked through 32-bit links, head = most recent. A hit
 * moves an item to the head at most once per LRU_BUMP_INTERVAL seconds (as
 * memcached's ITEM_UPDATE_INTERVAL), so most gets never take the LRU lock;
 * atime is the time of the last store or bump, hence precise to that
 * interval.
 *
 * Allocation (it_alloc), with no stripe lock held:
 *   1. look at LRU_TAIL_SEARCH items from the tail for an expired or flushed
 *      one nobody holds: reuse its chunk ("reclaimed");
 *   2. else a chunk from the free list, the newest page, or a new page;
 *   3. else evict the least recent unreferenced item among the tail ones
 *      (not with no_evict);
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
    SLABS_CHECK(it->kind == IT_PLAIN);    /* a chained value is read by segments */
    return it_after_header(it) + it->nkey;
}

char *item_value_mut(item *it)
{
    SLABS_CHECK(it->kind == IT_PLAIN);    /* a chained value is written by item_value_write */
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

/* ---- sizes, init, CAS ---- */

size_t it_size_for(const store *s, size_t nkey, uint32_t flags, size_t nvalue)
{
    return s->hdr_base + (flags != 0 ? ITEM_FLAGS_SIZE : 0) + nkey + nvalue;
}

/* The bytes accounted for it's own chunk (of a chain: its head's). */
size_t it_total_size(const store *s, const item *it)
{
    if (it->kind == IT_CHAINED)
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
    SLABS_CHECK(it->cls == cls && it->kind != IT_CHUNK);   /* set by slab_alloc* */
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
    return oc != 0 && (iflags_get(it) & ITEM_HAS_CAS) && item_cas(it) < oc;
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
    uint32_t before = atomic_fetch_add_explicit(&it->refcount, 1, memory_order_relaxed);
    SLABS_CHECK(before != 0);     /* a reference to a free chunk */
}

void it_unref(store *s, item *it)
{
    uint32_t before = atomic_fetch_sub_explicit(&it->refcount, 1, memory_order_acq_rel);
    SLABS_CHECK(before != 0);     /* refcount underflow: released once too often */
    if (before == 1) {
        if (it->kind == IT_CHAINED)
            chain_free_data(s, it);     /* data chunks before their head */
        slab_free(s, it, it_total_size(s, it));
    }
}

bool it_try_pin(item *it)
{
    uint32_t r = atomic_load_explicit(&it->refcount, memory_order_relaxed);
    while (r != 0) {
        if (atomic_compare_exchange_weak_explicit(&it->refcount, &r, r + 1,
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

/* ---- LRU (lru_lock held) ---- */

/* Makes it the most recent of sc. sc->lru_lock held. */
static void lru_insert_head_locked(store *s, struct slab_class *sc, item *it)
{
    ilist_push_head(s, &sc->lru_head, &sc->lru_tail, it);
}

/* Takes it out of sc's LRU. sc->lru_lock held. */
static void lru_remove_locked(store *s, struct slab_class *sc, item *it)
{
    ilist_remove(s, &sc->lru_head, &sc->lru_tail, it);
}

/* ---- linking (stripe lock held) ---- */

/* Links a new item: new CAS, hash table, LRU head; the link takes its own
 * reference. The key's stripe lock held; takes the class's lru_lock. */
void it_link_locked(store *s, item *it, uint64_t hv)
{
    struct slab_class *sc = &s->classes[it->cls];
    SLABS_CHECK(!(iflags_get(it) & (ITEM_LINKED | ITEM_FREE)));  /* linked twice, or free */
    if (s->cfg.use_cas)
        it_set_cas(s, it, it_next_cas(s));
    else
        it_next_cas(s);   /* the counter still counts mutations */
    atomic_store_explicit(&it->atime, clock_now(), memory_order_relaxed);
    /* release: a mover that pins the item and sees LINKED reads its key */
    atomic_fetch_or_explicit(&it->iflags, ITEM_LINKED, memory_order_release);
    it_ref(it);
    assoc_insert_locked(s, it, hv);
    crawler_note_exptime(s, item_exptime(it));   /* the crawler's schedule */
    pthread_mutex_lock(&sc->lru_lock);
    lru_insert_head_locked(s, sc, it);
    sc->curr_items++;
    sc->total_items++;
    pthread_mutex_unlock(&sc->lru_lock);
}

/* Unlinks it and drops the link's reference (which may free it). The key's
 * stripe lock held; takes the class's lru_lock. */
void it_unlink_locked(store *s, item *it, uint64_t hv)
{
    struct slab_class *sc = &s->classes[it->cls];
    SLABS_CHECK(iflags_get(it) & ITEM_LINKED);    /* unlinked twice */
    assoc_delete_locked(s, it, hv);
    pthread_mutex_lock(&sc->lru_lock);
    lru_remove_locked(s, sc, it);
    sc->curr_items--;
    pthread_mutex_unlock(&sc->lru_lock);
    atomic_fetch_and_explicit(&it->iflags, (uint8_t)~ITEM_LINKED, memory_order_relaxed);
    it_unref(s, it);
}

/* old's place under the key goes to it. The key's stripe lock held. */
void it_replace_locked(store *s, item *old, item *it, uint64_t hv)
{
    it_unlink_locked(s, old, hv);
    it_link_locked(s, it, hv);
}

/* Moves a hit to its LRU head (at most once per LRU_BUMP_INTERVAL). The key's
 * stripe lock held, so the item cannot be unlinked halfway; takes lru_lock. */
void it_bump_locked(store *s, item *it, rel_time_t now)
{
    if (now - item_atime(it) < LRU_BUMP_INTERVAL)
        return;
    struct slab_class *sc = &s->classes[it->cls];
    pthread_mutex_lock(&sc->lru_lock);
    if (iflags_get(it) & ITEM_LINKED) {
        lru_remove_locked(s, sc, it);
        lru_insert_head_locked(s, sc, it);
    }
    pthread_mutex_unlock(&sc->lru_lock);
    atomic_store_explicit(&it->atime, now, memory_order_relaxed);
}

/* Puts fresh where old is in sc's LRU. sc->lru_lock held. */
static void lru_swap_locked(store *s, struct slab_class *sc, item *old, item *fresh)
{
    ilink l = it_link_of(s, fresh);
    fresh->prev = old->prev;
    fresh->next = old->next;
    if (old->prev != LINK_NONE)
        it_at(s, old->prev)->next = l;
    else
        sc->lru_head = l;
    if (old->next != LINK_NONE)
        it_at(s, old->next)->prev = l;
    else
        sc->lru_tail = l;
    old->prev = old->next = LINK_NONE;
}

void it_rescue_locked(store *s, item *old, item *fresh, uint64_t hv)
{
    struct slab_class *sc = &s->classes[old->cls];
    SLABS_CHECK(fresh->cls == old->cls && old->kind == IT_PLAIN);
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
    pthread_mutex_lock(&sc->lru_lock);
    lru_swap_locked(s, sc, old, fresh);
    pthread_mutex_unlock(&sc->lru_lock);
    atomic_fetch_and_explicit(&old->iflags, (uint8_t)~ITEM_LINKED, memory_order_relaxed);
    atomic_fetch_or_explicit(&fresh->iflags, ITEM_LINKED, memory_order_release);
    /* fresh's allocation reference becomes its link's; old loses its link's */
    it_unref(s, old);
}

rel_time_t lru_tail_age(store *s, unsigned cls)
{
    struct slab_class *sc = &s->classes[cls];
    rel_time_t now = clock_now();
    pthread_mutex_lock(&sc->lru_lock);
    item *tail = it_at(s, sc->lru_tail);
    rel_time_t age = tail != NULL ? now - item_atime(tail) : UINT32_MAX;
    pthread_mutex_unlock(&sc->lru_lock);
    return age;
}

/* ---- finding a chunk ---- */

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
    uint32_t only_link = 1;
    return atomic_compare_exchange_strong_explicit(&it->refcount, &only_link, 0,
                                                   memory_order_acquire, memory_order_relaxed);
}

/*
 * Takes an item near the tail of class cls: a dead one (expired or flushed)
 * nobody holds, or with evict also a live one nobody holds. Returns it
 * unlinked, claimed (refcount 1, the caller's), or NULL.
 */
item *lru_take_tail(store *s, unsigned cls, bool evict)
{
    struct slab_class *sc = &s->classes[cls];
    rel_time_t now = clock_now();
    bool flushes = flush_pending(s);
    item *found = NULL;

    pthread_mutex_lock(&sc->lru_lock);
    item *it = it_at(s, sc->lru_tail);
    for (int tries = 0; it != NULL && tries < LRU_TAIL_SEARCH;
         tries++, it = it_at(s, it->prev)) {
        if (!evict && !flushes && !it_is_expired(it, now))
            continue;
        struct key_lock k = key_lock_for(s, item_key(it), it->nkey);
        if (!key_trylock(&k))
            continue;
        bool dead = it_is_dead(s, it, now, NULL);
        bool held = atomic_load_explicit(&it->refcount, memory_order_acquire) != 1;
        if (held)
            sc->lrutail_reflocked++;
        bool take = !held && (dead || (evict && !s->cfg.no_evict)) && it_claim(it);
        if (take) {
            assoc_delete_locked(s, it, k.hv);
            lru_remove_locked(s, sc, it);
            sc->curr_items--;
            atomic_fetch_and_explicit(&it->iflags, (uint8_t)~ITEM_LINKED, memory_order_relaxed);
            lru_count_taken_locked(s, sc, it, dead, now);
            /* the allocating caller's reference; release: a mover that pins
             * it from now on sees it unlinked and leaves its key alone */
            atomic_store_explicit(&it->refcount, 1, memory_order_release);
            found = it;
        }
        key_unlock(&k);
        if (found != NULL)
            break;
    }
    pthread_mutex_unlock(&sc->lru_lock);
    return found;
}

/*
 * An item taken at the tail of class cls (lru_take_tail) becomes a chunk for
 * nbytes: unlinked, refcount 1, accounted. A chain head is never reused in
 * place: its whole chain is freed and a chunk taken afresh (maybe NULL).
 */
static item *lru_reuse(store *s, unsigned cls, item *found, size_t nbytes)
{
    if (found->kind == IT_CHAINED) {
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
    item *it = lru_pull_tail(s, cls, nbytes, false);
    if (it == NULL)
        it = slab_alloc(s, cls, nbytes);
    if (it == NULL)
        it = lru_pull_tail(s, cls, nbytes, true);
    if (it == NULL && (it = chain_spill(s, key, nkey, flags, exptime, nvalue)) != NULL)
        return it;      /* filled in by chain_spill */
    /* No page of its own at all: one from another class, at once. */
    if (it == NULL && !s->cfg.no_evict && mover_page_for(s, cls))
        it = slab_alloc(s, cls, nbytes);
    if (it == NULL) {
        struct slab_class *sc = &s->classes[cls];
        pthread_mutex_lock(&sc->lru_lock);
        sc->outofmemory++;
        mover_note_pressure(s);
        pthread_mutex_unlock(&sc->lru_lock);
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
    pthread_mutex_lock(&sc->lru_lock);
#define LRU_STAT_COPY(field) out->field = sc->field;
#define LRU_STAT_ROW(field, type, kept, ...) SLAB_STAT_IF_LRU(kept, LRU_STAT_COPY)(field)
    STORE_CLASS_STATS(LRU_STAT_ROW)
#undef LRU_STAT_ROW
#undef LRU_STAT_COPY
    item *tail = it_at(s, sc->lru_tail);
    out->age = tail != NULL ? now - item_atime(tail) : 0;
    pthread_mutex_unlock(&sc->lru_lock);
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
