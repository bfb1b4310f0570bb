/*
 * mover: page moves between classes, the mover thread, automove, giving
 * pages back when the memory limit falls, and the class table switch
 * (`slabs retune`, -o slab_sizes=auto: see "retune" below).
 *
 * A move (one at a time, struct page_move under mover.lock) drains one page
 * P of class C, its emptiest, and hands it to a class, the pool or the system:
 *
 *   1. slab_drain_begin marks P draining: C stops carving it, and chunks of P
 *      freed from now on stay off C's free list.
 *   2. Steps look at MOVE_STEP_CHUNKS chunks each, then let go of every lock.
 *      Under C's slab_lock (slab_drain_scan) a free chunk leaves the free list
 *      (doubly linked: O(1)); for a chunk in use the owner (the item, or a
 *      data chunk's head) is pinned: refcount r >= 1 -> r + 1 (0 = being
 *      freed, or r at the readers' cap IT_REF_READER_MAX: busy). With no lock but mover.lock, move_settle looks at each
 *      pinned owner under its key's stripe lock: unlinked (allocated, not
 *      yet stored) or held by a reader (refcount > link + pin): busy, try
 *      again next pass; dead: unlinked; else a plain item is rescued into a
 *      free chunk of C outside P (same place in hash chain and LRU), and
 *      when there is none, or it is a chained item, it is evicted. Dropping
 *      the pin frees whatever lost its last reference, into P (off the list).
 *   3. A pass that found every carved chunk of P free ends the move: P
 *      leaves C (slab_drain_finish) and goes where it was sent
 *      (slab_page_place; above the limit, always back to the system).
 *   A reader never waits on a move: it holds its reference, the move waits.
 *   Items still referenced after MOVE_PATIENT_PASSES passes are unlinked
 *   (busy_deletes), so a client that never reads its reply cannot pin a
 *   page for ever; their readers keep them until they let go.
 *
 * The mover thread also runs the LRU maintainer's bounded step
 * (lru_maintain, slabs/items.c) once per loop, and sleeps no longer than
 * the maintainer asks.
 *
 * Who runs moves: the mover thread (store_start_background), and an
 * allocation whose class has no page at all and nothing can be cut
 * (mover_page_for): it drains a page of the class whose LRU tail is oldest
 * (one that can spare a page first) itself, for at most MOVE_SYNC_PASSES
 * passes (never waiting on anyone: the allocating thread may hold references
 * to items of that page itself), then leaves the move to the thread and
 * fails that one store. A class that has pages but nothing it may evict
 * (every item referenced, or stores still arriving) gets pages from
 * automove, which its refused stores wake; stealing at once there would let
 * clients that start large stores and never finish them take every page.
 *
 * Automove, mode 1 (ours; AUTOMOVE_DEFAULT). Every AUTOMOVE_TICK_MS the
 * thread samples each class: did it evict (or refuse a store) since the
 * last sample, and the age of its LRU tail. Reasoning:
 *   - Memory should go where it buys hits. A class that evicts wants pages;
 *     a class that does not evict and whose tail is old holds items nobody
 *     has touched for a long time: its pages buy the least.
 *   - Recover fast: after a size shift the starving class evicts in every
 *     sample, so the condition holds after automove_window samples (75 ms at
 *     the defaults) and then one page moves per tick, up to 40 pages a
 *     second (memcached moves at most one a second). The first page comes
 *     even sooner, inside the allocation that found nothing (above).
 *   - Never thrash on a steady mix: a page moves only from a class that has
 *     not evicted for automove_window samples to one that has evicted in
 *     every one of them, and only if the destination's tail is younger than
 *     automove_ratio times the source's (default 0.5: the source's items
 *     are at least twice as stale). Where every class evicts, nothing moves;
 *     a class that gave pages until it evicts itself stops being a source,
 *     and never takes the pages back from a class that still evicts, so a
 *     page cannot go back and forth.
 *   - Free pages first: when no new page can be cut, a class whose free
 *     list (not counting its uncarved tail) holds more than a page and more
 *     than automove_freeratio of the memory limit gives its emptiest page,
 *     to an evicting class or else to the pool, before any item is evicted
 *     for a move.
 *   - The source always keeps one page (memcached's "spare" rule).
 * Mode 2 (memcached's "aggressive"): every tick, if a class evicted, a page
 * moves to the one that evicted most from the class with the oldest tail.
 *
 * Lowering the limit: pool pages are released at once (store_set_mem_limit);
 * the thread then drains class pages, oldest tails first, releasing each,
 * until the pages held fit.
 */
#include "slabs/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MOVE_STEP_CHUNKS 256      /* chunks looked at per step, then every lock is let go */
#define MOVE_SYNC_PASSES 4        /* passes an allocation runs before leaving a move */
#define MOVE_PATIENT_PASSES 1000  /* passes before referenced items are unlinked */
#define MOVE_BUSY_WAIT_MS 1       /* the thread's pause after a pass with busy items */
#define MOVE_LATE_WAIT_MS 50      /* ...once past MOVE_PATIENT_PASSES (a reader that
                                   * holds an item for long costs little CPU) */
#define AUTOMOVE_TICK_MS 25       /* automove samples (and its fastest pace) */
#define MOVER_IDLE_WAIT_MS 1000   /* the thread's sleep when automove is off */
#define SPARE_PAGES 2             /* a source keeps at least one page */
#define MS_PER_S 1000
#define BP_PER_PCT 100.0         /* the retune figures are kept in 1/100 % */
#define NS_PER_MS 1000000L

enum step_result { STEP_MORE, STEP_PASS_BUSY, STEP_DONE };

/* ---- counters ---- */

static void count(store *s, _Atomic uint64_t *c)
{
    (void)s;
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/* memcached 1.6.45's words for why a chunk was busy (its move_status_text). */
static const char *const move_busy_names[MOVE_BUSY_REASONS] = {
    [MOVE_BUSY_NONE] = "none",
    [MOVE_BUSY_FREEING] = "busy",
    [MOVE_BUSY_FLOATING] = "busy_floating",
    [MOVE_BUSY_ACTIVE] = "busy_active",
};

void mover_stats(store *s, struct store_stats *out)
{
    struct mover *mv = &s->mover;
    unsigned why = atomic_load_explicit(&mv->last_busy, memory_order_relaxed);
    out->slab_reassign_last_busy_status = move_busy_names[why < MOVE_BUSY_REASONS ? why : 0];
#define MOVER_COUNTER_COPY(name) out->name = atomic_load_explicit(&mv->name, memory_order_relaxed);
    MOVER_COUNTERS(MOVER_COUNTER_COPY)
#undef MOVER_COUNTER_COPY
    out->slab_reassign_running = atomic_load_explicit(&mv->running, memory_order_relaxed);
    const struct retune *r = &s->retune;
    out->slab_retunes = atomic_load_explicit(&r->count, memory_order_relaxed);
    out->slab_retune_last = atomic_load_explicit(&r->last, memory_order_relaxed);
    out->slab_retune_waste_before_pct =
        (double)atomic_load_explicit(&r->waste_before_bp, memory_order_relaxed) / BP_PER_PCT;
    out->slab_retune_waste_after_pct =
        (double)atomic_load_explicit(&r->waste_after_bp, memory_order_relaxed) / BP_PER_PCT;
}

/* ---- one page move (mover.lock held) ---- */

static uint64_t class_pages(store *s, unsigned cls)
{
    struct slab_class *sc = &s->classes[cls];
    class_mutex_lock(&sc->slab_lock);
    uint64_t n = sc->pages - sc->draining;
    class_mutex_unlock(&sc->slab_lock);
    return n;
}

/* The class (not except) with at least min_pages pages whose LRU tail is
 * oldest (an empty LRU counts as oldest), or 0. */
static unsigned oldest_tail_class(store *s, unsigned except, uint64_t min_pages)
{
    unsigned best = 0;
    rel_time_t best_age = 0;
    for (unsigned cls = 1; cls <= slab_nclasses(s); cls++) {
        if (cls == except || class_pages(s, cls) < min_pages)
            continue;
        rel_time_t age = lru_tail_age(s, cls);
        if (best == 0 || age > best_age) {
            best = cls;
            best_age = age;
        }
    }
    return best;
}

static bool move_start_locked(store *s, unsigned src, int dst)
{
    struct page_move *m = &s->mover.move;
    uint64_t pg = slab_page_emptiest(s, src);
    if (pg == PAGE_NONE)
        return false;
    *m = (struct page_move){ .active = true, .src = src, .dst = dst, .page = pg };
    m->carved = slab_drain_begin(s, src, pg);
    atomic_store_explicit(&s->mover.running, true, memory_order_relaxed);
    return true;
}

/* A chunk of the live class that fits nbytes, for an item leaving a
 * retired class: a free one, else carved from a page the pool (the drain
 * fills it) or the limit still gives; NULL if none. */
static item *retune_rescue_chunk(store *s, size_t nbytes)
{
    unsigned cls = slab_class_for(s, nbytes);
    return cls == 0 ? NULL : slab_alloc(s, cls, nbytes);
}

/* Rescues a plain item into a chunk outside the page, or evicts it. The
 * key's stripe lock held, the item linked and held only by link and pin. */
static void move_out_locked(store *s, struct page_move *m, item *it, uint64_t hv)
{
    struct mover *mv = &s->mover;
    item *fresh = NULL;
    if (it_kind(it) == IT_PLAIN && it->cls == m->src && slab_class_retired(s, m->src)) {
        fresh = retune_rescue_chunk(s, it_total_size(s, it));
    } else if (it_kind(it) == IT_PLAIN && it->cls == m->src) {
        uint64_t reclaims = 0;
        fresh = slab_alloc_spare(s, m->src, it_total_size(s, it), &reclaims);
        atomic_fetch_add_explicit(&mv->slab_reassign_inline_reclaim, reclaims,
                                  memory_order_relaxed);
    }
    if (fresh != NULL) {
        it_rescue_locked(s, it, fresh, hv);
        count(s, &mv->slab_reassign_rescues);
    } else {
        if (logger_wants(LOGGER_EVICTIONS))
            it_log_eviction(it, clock_now());
        it_unlink_locked(s, it, hv);
        count(s, &mv->slab_reassign_evictions_nomem);
    }
}

static void count_busy(store *s, struct page_move *m, enum move_busy why)
{
    count(s, &s->mover.slab_reassign_busy_items);
    mover_note_busy(s, why);
    m->busy++;
}

/* Decides the fate of a pinned owner of a chunk in the page, then drops the
 * pin. mover.lock held, no other lock. */
static void move_settle(store *s, struct page_move *m, item *owner)
{
    struct mover *mv = &s->mover;
    /* acquire: pairs with it_link_locked, so the key read below is whole */
    if (!(atomic_load_explicit(&owner->iflags, memory_order_acquire) & ITEM_LINKED)) {
        count_busy(s, m, MOVE_BUSY_FLOATING);   /* being stored, or going */
        it_unref(s, owner);
        return;
    }
    struct key_lock k = key_lock_for(s, item_key(owner), owner->nkey);
    key_lock(&k);
    bool linked = atomic_load_explicit(&owner->iflags, memory_order_relaxed) & ITEM_LINKED;
    bool held = atomic_load_explicit(&owner->refcount, memory_order_acquire) != 2;
    if (!linked) {
        count_busy(s, m, MOVE_BUSY_FLOATING);
    } else if (it_is_dead(s, owner, clock_now(), NULL)) {
        it_unlink_locked(s, owner, k.hv);
        if (held)
            count_busy(s, m, MOVE_BUSY_ACTIVE);
    } else if (held && m->passes >= MOVE_PATIENT_PASSES) {
        it_unlink_locked(s, owner, k.hv);
        count(s, &mv->slab_reassign_busy_deletes);
    } else if (held) {
        count_busy(s, m, MOVE_BUSY_ACTIVE);
    } else {
        move_out_locked(s, m, owner, k.hv);
    }
    key_unlock(&k);
    it_unref(s, owner);
}

static void move_finish_locked(store *s)
{
    struct page_move *m = &s->mover.move;
    slab_drain_finish(s, m->src, m->page);
    slab_page_place(s, m->page, m->dst);
    m->active = false;
    count(s, &s->mover.slabs_moved);
    atomic_store_explicit(&s->mover.running, false, memory_order_relaxed);
}

/* Looks at the next MOVE_STEP_CHUNKS chunks of the page being drained. */
static enum step_result move_step_locked(store *s)
{
    struct page_move *m = &s->mover.move;
    item *pinned[MOVE_STEP_CHUNKS];
    unsigned n = slab_drain_scan(s, m, pinned, MOVE_STEP_CHUNKS);
    for (unsigned i = 0; i < n; i++)
        move_settle(s, m, pinned[i]);
    if (m->cursor < m->carved)
        return STEP_MORE;
    if (m->in_use == 0) {
        move_finish_locked(s);
        return STEP_DONE;
    }
    bool busy = m->busy != 0;
    m->passes++;
    m->cursor = 0;
    m->in_use = 0;
    m->busy = 0;
    /* a pass that emptied what it found needs one more look, at once */
    return busy ? STEP_PASS_BUSY : STEP_MORE;
}

/* Runs the move in progress for at most `passes` more passes; true if it
 * finished. */
static bool move_run_locked(store *s, unsigned passes)
{
    struct page_move *m = &s->mover.move;
    unsigned stop_at = m->passes + passes;
    while (m->active && m->passes < stop_at) {
        if (move_step_locked(s) == STEP_DONE)
            return true;
    }
    return false;
}

/* ---- a page for an allocation ---- */

/* The source of a page taken inside an allocation: the oldest tail among
 * classes that can spare a page, else among those with one. */
static unsigned sync_source(store *s, unsigned cls)
{
    unsigned src = oldest_tail_class(s, cls, SPARE_PAGES);
    return src != 0 ? src : oldest_tail_class(s, cls, 1);
}

bool mover_page_for(store *s, unsigned cls)
{
    struct mover *mv = &s->mover;
    /* Only a class without a page steals one here. One that has pages but
     * nothing to evict (all referenced, or stores still arriving) waits for
     * automove, which its refused stores wake: otherwise clients that start
     * many large stores and never finish them would take every page. */
    if (!s->cfg.slab_reassign || slab_class_retired(s, cls) || class_pages(s, cls) > 0)
        return false;
    bool got = false;
    pthread_mutex_lock(&mv->lock);
    /* at most the move in progress (for someone else) and one of our own */
    for (int moves = 0; moves < 2 && !got; moves++) {
        if (!mv->move.active) {
            if (atomic_load_explicit(&s->pool_pages, memory_order_relaxed) > 0) {
                got = true;     /* one came back meanwhile */
                break;
            }
            unsigned src = sync_source(s, cls);
            if (src == 0 || !move_start_locked(s, src, (int)cls))
                break;
        }
        int dst = mv->move.dst;
        if (!move_run_locked(s, MOVE_SYNC_PASSES)) {
            mv->page_wanted = true;    /* the thread finishes it */
            pthread_cond_signal(&mv->wake);
            break;
        }
        got = dst == (int)cls || dst == MOVE_TO_POOL;
    }
    pthread_mutex_unlock(&mv->lock);
    return got;
}

/* ---- automove (mover.lock held) ---- */

struct class_sample {
    rel_time_t age;         /* LRU tail age, UINT32_MAX when empty */
    uint64_t new_evictions; /* since the last sample */
    uint64_t pages;
    uint64_t free_listed;   /* chunks on the free list */
    uint32_t perslab;
    uint32_t size;
};

static void automove_sample_locked(store *s, struct class_sample *cs)
{
    struct mover *mv = &s->mover;
    for (unsigned cls = 1; cls <= slab_nclasses(s); cls++) {
        struct store_class_stats st;
        store_class_stats(s, cls, &st);
        struct automove_class *am = &mv->am[cls];
        uint64_t ev = st.evicted + st.outofmemory;
        cs[cls] = (struct class_sample){
            .age = lru_tail_age(s, cls),
            .new_evictions = ev - am->evictions,
            .pages = class_pages(s, cls),
            .free_listed = st.free_chunks - st.free_chunks_end,
            .perslab = st.chunks_per_page,
            .size = st.chunk_size,
        };
        am->evictions = ev;
        if (cs[cls].new_evictions > 0) {
            am->evicting++;
            am->calm = 0;
        } else {
            am->calm++;
            am->evicting = 0;
        }
    }
}

/* The class that evicted most in this sample, having evicted in at least
 * `streak` samples in a row; 0 if none. */
static unsigned automove_neediest(store *s, const struct class_sample *cs, unsigned streak)
{
    unsigned best = 0;
    for (unsigned cls = 1; cls <= slab_nclasses(s); cls++) {
        if (s->mover.am[cls].evicting < streak || cs[cls].new_evictions == 0 ||
            slab_class_retired(s, cls))
            continue;
        if (best == 0 || cs[cls].new_evictions > cs[best].new_evictions)
            best = cls;
    }
    return best;
}

/* A class whose free list holds more than a page and more than freeratio
 * of the limit, when no new page can be had; 0 if none. */
static unsigned automove_free_giver(store *s, const struct class_sample *cs)
{
    uint64_t limit = atomic_load_explicit(&s->mem_limit, memory_order_relaxed);
    uint64_t held = atomic_load_explicit(&s->pages_held, memory_order_relaxed);
    if ((held + 1) * s->cfg.page_size <= limit)
        return 0;
    double enough = s->cfg.automove_freeratio * (double)limit;
    for (unsigned cls = 1; cls <= slab_nclasses(s); cls++) {
        const struct class_sample *c = &cs[cls];
        if (c->pages >= SPARE_PAGES && c->free_listed > c->perslab &&
            (double)(c->free_listed * c->size) > enough)
            return cls;
    }
    return 0;
}

/* Ours: the oldest calm class whose tail is stale enough next to dst's. */
static unsigned automove_stale_source(store *s, const struct class_sample *cs, unsigned dst)
{
    unsigned best = 0;
    for (unsigned cls = 1; cls <= slab_nclasses(s); cls++) {
        const struct class_sample *c = &cs[cls];
        if (cls == dst || c->pages < SPARE_PAGES || s->mover.am[cls].calm < s->cfg.automove_window)
            continue;
        if (c->age <= cs[dst].age || (double)cs[dst].age > s->cfg.automove_ratio * c->age)
            continue;
        if (best == 0 || c->age > cs[best].age)
            best = cls;
    }
    return best;
}

/* A sample in which no class evicted: every class is calm, and nothing
 * needs to be read under the class locks. */
static void automove_all_calm_locked(store *s)
{
    for (unsigned cls = 1; cls <= slab_nclasses(s); cls++) {
        s->mover.am[cls].calm++;
        s->mover.am[cls].evicting = 0;
    }
}

/* One automove decision; true if a move was started. */
static bool automove_decide_locked(store *s, unsigned mode)
{
    struct mover *mv = &s->mover;
    uint64_t pressure = atomic_load_explicit(&mv->pressure, memory_order_relaxed);
    if (pressure == mv->pressure_seen) {
        automove_all_calm_locked(s);
        return false;
    }
    mv->pressure_seen = pressure;
    struct class_sample cs[CLASS_MAX + 1];
    automove_sample_locked(s, cs);
    if (mode == AUTOMOVE_AGGRESSIVE) {
        unsigned dst = automove_neediest(s, cs, 1);
        unsigned src = dst != 0 ? oldest_tail_class(s, dst, SPARE_PAGES) : 0;
        return src != 0 && move_start_locked(s, src, (int)dst);
    }
    unsigned window = s->cfg.automove_window;
    unsigned dst = automove_neediest(s, cs, window);
    unsigned giver = automove_free_giver(s, cs);
    if (giver != 0 && giver != dst)
        return move_start_locked(s, giver, dst != 0 ? (int)dst : MOVE_TO_POOL);
    unsigned src = dst != 0 ? automove_stale_source(s, cs, dst) : 0;
    return src != 0 && move_start_locked(s, src, (int)dst);
}

/* ---- retune: the run-time class table switch ----
 *
 * slab_classes_append (slab.c) makes the advised table live under fresh
 * class ids; the classes of the old table retire: no new page, and the
 * mover drains their pages to the pool one at a time (before any automove
 * decision), moving each live plain item into the live class that fits it
 * (retune_rescue_chunk: a free chunk, or one carved from a pool page, so
 * the memory the drain returns carries the items over) and evicting it only
 * when no chunk can be had. Chained items: their heads live in the largest
 * class, a retired largest class included, and are evicted by its drain as
 * by any move; new chains pick their classes among the live ones
 * (slab_class_for and slab_nclasses name live classes only).
 *
 * Oscillation guard (auto): a look at most every retune_interval seconds,
 * and only once retune_min_items items are linked; a switch only when the
 * waste falls by retune_min_gain_pct points and by retune_min_gain_ratio of
 * itself, and never while a previous switch still drains (BUSY).
 */
/* The retired class that still holds a page (drained first), or 0. */
static unsigned retired_with_pages(store *s)
{
    unsigned first = slab_live_first(s);
    for (unsigned cls = 1; cls < first; cls++)
        if (class_pages(s, cls) > 0)
            return cls;
    return 0;
}

static uint64_t pct_to_bp(double pct)
{
    return (uint64_t)(pct * BP_PER_PCT + 0.5);
}

/* Whether the advised table pays for a switch: auto asks for the
 * configured margin, `slabs retune` for any gain. */
static bool retune_pays(const store *s, const struct store_advice *a, bool automatic)
{
    double before = a->current.waste_pct, after = a->free_form.waste_pct;
    if (!automatic)
        return after < before;
    return before - after >= s->cfg.retune_min_gain_pct &&
           before - after >= s->cfg.retune_min_gain_ratio * before;
}

static void retune_note(store *s, const struct store_advice *a)
{
    struct retune *r = &s->retune;
    atomic_store_explicit(&r->waste_before_bp, pct_to_bp(a->current.waste_pct),
                          memory_order_relaxed);
    atomic_store_explicit(&r->waste_after_bp, pct_to_bp(a->free_form.waste_pct),
                          memory_order_relaxed);
    atomic_store_explicit(&r->last, (uint64_t)clock_unix_now(), memory_order_relaxed);
    atomic_fetch_add_explicit(&r->count, 1, memory_order_relaxed);
}

/* The switch itself. mover.lock held. */
static enum store_retune retune_locked(store *s, bool automatic)
{
    if (retired_with_pages(s) != 0)
        return STORE_RETUNE_BUSY;
    struct store_advice *a = malloc(sizeof(*a));
    if (a == NULL || !store_advise(s, a)) {
        free(a);
        return STORE_RETUNE_NOMEM;
    }
    enum store_retune r = STORE_RETUNE_NOTHING;
    if (retune_pays(s, a, automatic))
        r = slab_classes_append(s, a->free_sizes, a->free_form.classes) ? STORE_RETUNE_OK
                                                                          : STORE_RETUNE_FULL;
    if (r == STORE_RETUNE_OK)
        retune_note(s, a);
    free(a);
    return r;
}

/* The auto trigger's look, at most once per interval. mover.lock held. */
static bool retune_auto_locked(store *s)
{
    struct retune *r = &s->retune;
    rel_time_t now = clock_now();
    if (!s->cfg.retune_auto || now - r->checked < s->cfg.retune_interval)
        return false;
    r->checked = now;
    if (atomic_load_explicit(&s->assoc.items, memory_order_relaxed) < s->cfg.retune_min_items)
        return false;
    return retune_locked(s, true) == STORE_RETUNE_OK;
}

enum store_retune store_slab_retune(store *s)
{
    pthread_mutex_lock(&s->mover.lock);
    enum store_retune r = retune_locked(s, false);
    if (r == STORE_RETUNE_OK)
        s->retune.checked = clock_now();   /* the interval counts from here */
    pthread_cond_signal(&s->mover.wake);
    pthread_mutex_unlock(&s->mover.lock);
    return r;
}

/* ---- background work ---- */

static uint64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * MS_PER_S + (uint64_t)(ts.tv_nsec / NS_PER_MS);
}

/* What to do when no move is in progress: shrink, else drain a retired
 * class, else switch tables (auto), else automove. */
static bool mover_next_move_locked(store *s)
{
    struct mover *mv = &s->mover;
    if (slab_pages_over_limit(s) > 0 && slab_trim_pool(s) > 0) {
        unsigned src = oldest_tail_class(s, 0, 1);
        return src != 0 && move_start_locked(s, src, MOVE_TO_RELEASE);
    }
    unsigned retired = retired_with_pages(s);
    if (retired != 0)
        return move_start_locked(s, retired, MOVE_TO_POOL);
    if (retune_auto_locked(s))
        return true;
    unsigned mode = atomic_load_explicit(&mv->automove, memory_order_relaxed);
    uint64_t now = monotonic_ms();
    if (mode == AUTOMOVE_OFF || !s->cfg.slab_reassign || now - mv->last_sample_ms < AUTOMOVE_TICK_MS)
        return false;
    mv->last_sample_ms = now;
    return automove_decide_locked(s, mode);
}

bool mover_work(store *s)
{
    struct mover *mv = &s->mover;
    bool more;
    pthread_mutex_lock(&mv->lock);
    if (mv->move.active)
        more = move_step_locked(s) != STEP_PASS_BUSY;
    else
        more = mover_next_move_locked(s);
    pthread_mutex_unlock(&mv->lock);
    return more;
}

void mover_wake(store *s)
{
    struct mover *mv = &s->mover;
    pthread_mutex_lock(&mv->lock);
    mv->page_wanted = true;
    pthread_cond_signal(&mv->wake);
    pthread_mutex_unlock(&mv->lock);
}

void mover_cond_wait_ms(pthread_cond_t *cv, pthread_mutex_t *m, long ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += ms / MS_PER_S;
    until.tv_nsec += (ms % MS_PER_S) * NS_PER_MS;
    if (until.tv_nsec >= NS_PER_MS * MS_PER_S) {
        until.tv_sec++;
        until.tv_nsec -= NS_PER_MS * MS_PER_S;
    }
    pthread_cond_timedwait(cv, m, &until);
}

int mover_cond_init(pthread_cond_t *cv)
{
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0)
        return -1;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(cv, &ca);
    pthread_condattr_destroy(&ca);
    return rc == 0 ? 0 : -1;
}

static void *mover_thread(void *arg)
{
    store *s = arg;
    struct mover *mv = &s->mover;
    pthread_mutex_lock(&mv->lock);
    while (!mv->stop) {
        pthread_mutex_unlock(&mv->lock);
        bool more = mover_work(s);
        /* the LRU maintainer's step rides on this thread (slabs/items.c) */
        long lru_ms = s->cfg.lru_maintainer ? lru_maintain(s) : MOVER_IDLE_WAIT_MS;
        pthread_mutex_lock(&mv->lock);
        if (more || mv->stop)
            continue;
        if (mv->page_wanted && !mv->move.active) {
            mv->page_wanted = false;
            continue;
        }
        bool automove = atomic_load_explicit(&mv->automove, memory_order_relaxed) != AUTOMOVE_OFF;
        long busy_wait = mv->move.passes >= MOVE_PATIENT_PASSES ? MOVE_LATE_WAIT_MS
                                                                 : MOVE_BUSY_WAIT_MS;
        long ms = mv->move.active ? busy_wait : automove ? AUTOMOVE_TICK_MS : MOVER_IDLE_WAIT_MS;
        if (lru_ms < ms)
            ms = lru_ms;
        mv->page_wanted = false;
        mover_cond_wait_ms(&mv->wake, &mv->lock, ms);
    }
    pthread_mutex_unlock(&mv->lock);
    return NULL;
}

/* ---- life cycle ---- */

int mover_init(store *s)
{
    struct mover *mv = &s->mover;
    if (mover_cond_init(&mv->wake) != 0)
        return -1;
    pthread_mutex_init(&mv->lock, NULL);
    atomic_init(&mv->automove, s->cfg.automove);
    atomic_init(&mv->running, false);
    mv->initialized = true;
    return 0;
}

void mover_stop(store *s)
{
    struct mover *mv = &s->mover;
    if (!mv->initialized || !mv->started)
        return;
    pthread_mutex_lock(&mv->lock);
    mv->stop = true;
    pthread_cond_signal(&mv->wake);
    pthread_mutex_unlock(&mv->lock);
    pthread_join(mv->thread, NULL);
    mv->started = false;
    mv->stop = false;
}

void mover_destroy(store *s)
{
    struct mover *mv = &s->mover;
    if (!mv->initialized)
        return;
    mover_stop(s);
    pthread_cond_destroy(&mv->wake);
    pthread_mutex_destroy(&mv->lock);
    mv->initialized = false;
}

int store_start_background(store *s, char *err, size_t errlen)
{
    struct mover *mv = &s->mover;
    if (mv->started)
        return crawler_start(s, err, errlen);
    int rc = pthread_create(&mv->thread, NULL, mover_thread, s);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the page mover thread: %s", strerror(rc));
        return -1;
    }
    mv->started = true;
    return crawler_start(s, err, errlen);   /* slabs/crawler.c, when enabled */
}

void store_set_automove(store *s, unsigned mode)
{
    if (mode <= AUTOMOVE_AGGRESSIVE)
        atomic_store_explicit(&s->mover.automove, mode, memory_order_relaxed);
}

unsigned store_automove(const store *s)
{
    return atomic_load_explicit(&((store *)s)->mover.automove, memory_order_relaxed);
}

bool automove_tuning_ok(const struct store_automove_tuning *t, char *err, size_t errlen)
{
    if (!(t->ratio > 0.0 && t->ratio <= 1.0)) {
        snprintf(err, errlen, "slab_automove_ratio must be above 0 and at most 1");
        return false;
    }
    if (t->window < AUTOMOVE_WINDOW_MIN || t->window > AUTOMOVE_WINDOW_MAX) {
        snprintf(err, errlen, "slab_automove_window must be between %d and %d",
                 AUTOMOVE_WINDOW_MIN, AUTOMOVE_WINDOW_MAX);
        return false;
    }
    if (!(t->freeratio >= 0.0 && t->freeratio < 1.0)) {
        snprintf(err, errlen, "slab_automove_freeratio must be at least 0 and below 1");
        return false;
    }
    return true;
}

/* The tuning lives in s->cfg, read by automove under mover.lock. */
void store_automove_tuning(store *s, struct store_automove_tuning *out)
{
    pthread_mutex_lock(&s->mover.lock);
    *out = (struct store_automove_tuning){ s->cfg.automove_ratio, s->cfg.automove_window,
                                           s->cfg.automove_freeratio };
    pthread_mutex_unlock(&s->mover.lock);
}

bool store_set_automove_tuning(store *s, const struct store_automove_tuning *t, char *err,
                               size_t errlen)
{
    if (!automove_tuning_ok(t, err, errlen))
        return false;
    pthread_mutex_lock(&s->mover.lock);
    s->cfg.automove_ratio = t->ratio;
    s->cfg.automove_window = t->window;
    s->cfg.automove_freeratio = t->freeratio;
    pthread_mutex_unlock(&s->mover.lock);
    return true;
}

/* ---- slabs reassign ---- */

static bool class_or_pool(const store *s, int cls)
{
    return cls >= 0 && (unsigned)cls <= slab_nclasses(s);
}

/* Checks and starts a reassign. mover.lock held, no move in progress. */
static enum store_reassign reassign_locked(store *s, int src, int dst)
{
    if (src == -1) {
        unsigned any = oldest_tail_class(s, dst > 0 ? (unsigned)dst : 0, SPARE_PAGES);
        if (any == 0)
            return STORE_REASSIGN_BADCLASS;   /* none to spare: memcached's -1 stays bad */
        src = (int)any;
    }
    if (!class_or_pool(s, src) || !class_or_pool(s, dst) ||
        (dst > 0 && slab_class_retired(s, (unsigned)dst)))
        return STORE_REASSIGN_BADCLASS;   /* a retired class takes no page */
    if (src == MOVE_TO_POOL) {
        uint64_t pg = slab_pool_take(s);
        if (pg == PAGE_NONE)
            return STORE_REASSIGN_NOSPARE;
        slab_page_place(s, pg, dst);
        count(s, &s->mover.slabs_moved);
        return STORE_REASSIGN_OK;
    }
    if (class_pages(s, (unsigned)src) < SPARE_PAGES || !move_start_locked(s, (unsigned)src, dst))
        return STORE_REASSIGN_NOSPARE;
    pthread_cond_signal(&s->mover.wake);
    return STORE_REASSIGN_OK;
}

enum store_reassign store_slab_reassign(store *s, int src, int dst)
{
    struct mover *mv = &s->mover;
    if (src == dst)
        return STORE_REASSIGN_SAME;
    /* held only for a bounded step: BUSY means a move, not a step, is on */
    pthread_mutex_lock(&mv->lock);
    enum store_reassign r = mv->move.active ? STORE_REASSIGN_BUSY : reassign_locked(s, src, dst);
    pthread_mutex_unlock(&mv->lock);
    return r;
}
