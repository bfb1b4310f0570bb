/*
 * slab: the arena, its pages, the chunk class table and the chunk free lists.
 *
 * One arena is reserved up front with mmap(MAP_PRIVATE|MAP_ANONYMOUS|
 * MAP_NORESERVE): a page costs RSS only once an item is written into it, and
 * links between items can be 32-bit arena offsets. Pages (page_size bytes)
 * are given to a class when the class has no free chunk: first from the
 * global pool (pages the mover emptied), else a released page or a new one
 * cut from the arena in order, while the pages held stay within mem_limit
 * (strict). A class carves its newest page lazily (end_ptr/end_left:
 * "free_chunks_end") and keeps freed chunks on a LIFO free list, so a freed
 * chunk is the next one reused. The list is doubly linked, so the mover takes
 * the free chunks of a page it drains off the list one by one, in O(1); while
 * a page drains, its chunks that come free stay off the list. No malloc per
 * item, ever.
 *
 * Per page: page_class[] (its class), page_state[] (enum page_state in
 * internal.h) and page_next[] (the pool and the released pages are stacks
 * threaded through it). Nothing per page is counted on the allocation path:
 * the mover estimates which page is emptiest by sampling its chunks.
 *
 * The anonymous arena asks for transparent huge pages (MADV_HUGEPAGE): a
 * lookup in a cache of many megabytes then misses the TLB far less often
 * (memcached does the same under -L). Pages are cut from the arena in order,
 * so the RSS runs ahead of the pages cut by less than one huge page.
 *
 * The arena reserves max(mem_limit, ARENA_RESERVE_MIN) bytes (capped at
 * ARENA_MAX) of address space, so store_set_mem_limit can raise the limit up
 * to that at run time; a raise beyond it is clamped to the reservation.
 * With a memory file (-e) the arena is that file instead, mapped shared and
 * exactly mem_limit's pages long (restart.c), so it outlives the process.
 *
 * The class table at start is geometric (-n, -f: slab_geometric_table,
 * which the advisor also uses to weigh tables) or explicit (-o slab_sizes,
 * store_config.class_sizes), the largest class being chunk_max either way.
 * A retune (mover.c) appends a new table (slab_classes_append): class ids
 * 1..slab_nclasses are in use, those below slab_live_first are retired.
 *
 * The class locks (struct class_mutex, internal.h) are inline; their slow
 * halves live here: a contended lock sleeps on its word (futex), and an
 * unlock that finds sleepers wakes one.
 *
 * -L (prealloc): every page under the limit is touched at start (so the RSS is
 * taken up front, as memcached -L), and each class is given one page; the
 * remaining pages stay unassigned and go to whichever class needs them.
 *
 *     arena: | page 0 | page 1 | page 2 | ...        | (reserved, untouched) |
 *     page:  | chunk | chunk | chunk | ... | tail waste (page_size % size)  |
 *     page_class[i] = class of page i (0 = not handed out)
 */
#include "slabs/internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#else
#include <sched.h>
#endif

#define PREALLOC_TOUCH_STRIDE 4096
/* chunks of a page looked at to estimate how full it is */
#define PAGE_SAMPLE_CHUNKS 128
/* size * factor is rounded up, but not for a binary fraction's last bit */
#define CLASS_FACTOR_EPSILON 1e-9

static uint32_t align_up(uint64_t n)
{
    return (uint32_t)((n + CHUNK_ALIGN - 1) & ~(uint64_t)(CHUNK_ALIGN - 1));
}

/*
 * Sizes: smallest = header (+CAS) + chunk_min, 8-aligned; each next one is
 * previous * factor rounded up to a multiple of 8 (memcached truncates the
 * product first; the same for -f 1.25), and at least previous + 8; a size above
 * chunk_max / factor is not taken; the last class is chunk_max itself (larger
 * items are chains, chain.c). The advisor (advisor.c) builds the tables it
 * weighs with this same function.
 */
unsigned slab_geometric_table(size_t hdr_base, uint32_t chunk_min, double factor,
                              uint32_t chunk_max, uint32_t sizes[CLASS_MAX])
{
    uint64_t size = align_up(hdr_base + (uint64_t)chunk_min);
    unsigned n = 0;
    while (size < chunk_max && (double)size <= (double)chunk_max / factor) {
        if (n + 1 >= CLASS_MAX)
            return 0;
        sizes[n++] = (uint32_t)size;
        uint64_t next = align_up((uint64_t)ceil((double)size * factor - CLASS_FACTOR_EPSILON));
        size = next < size + CHUNK_ALIGN ? size + CHUNK_ALIGN : next;
    }
    sizes[n++] = chunk_max;
    return n;
}

/* An explicit table (-o slab_sizes): each size 8-aligned, chunk_max last. */
static unsigned slab_explicit_table(const struct store_config *c, uint32_t sizes[CLASS_MAX])
{
    unsigned n = 0;
    for (unsigned i = 0; i < c->nclass_sizes && c->class_sizes[i] < c->chunk_max; i++)
        sizes[n++] = align_up(c->class_sizes[i]);
    sizes[n++] = c->chunk_max;
    return n;
}

int slab_classes_init(store *s, char *err, size_t errlen)
{
    const struct store_config *c = &s->cfg;
    uint32_t sizes[CLASS_MAX];
    unsigned n = c->nclass_sizes > 0
                     ? slab_explicit_table(c, sizes)
                     : slab_geometric_table(s->hdr_base, c->chunk_min, c->factor, c->chunk_max, sizes);
    if (n == 0) {
        snprintf(err, errlen,
                 "growth factor %g with chunk size %u and page size %u needs more than %d classes",
                 c->factor, c->chunk_min, c->page_size, CLASS_MAX);
        return -1;
    }
    uint64_t smallest = c->nclass_sizes > 0 ? sizes[0] : align_up(s->hdr_base + (uint64_t)c->chunk_min);
    if (smallest > c->page_size) {
        snprintf(err, errlen, "page size %u is smaller than the smallest chunk (%llu bytes)",
                 c->page_size, (unsigned long long)smallest);
        return -1;
    }
    atomic_init(&s->class_range, 0);
    slab_classes_append(s, sizes, n);
    return 0;
}

/* The range word of live classes first..last. */
static uint32_t class_range_of(unsigned first, unsigned last)
{
    return (uint32_t)first | (uint32_t)last << CLASS_RANGE_SHIFT;
}

/*
 * A retune never changes a class in use: the new classes take fresh ids and
 * are set up before the range word (release) makes them live, so a reader
 * sees the old range or the new one, each naming classes fully set up, and
 * an item's class id stays valid for as long as the item lives.
 */
/* ---- the class locks' slow halves (struct class_mutex, internal.h) ---- */

#ifdef __linux__
/* Sleeps while *word still reads CLASS_MUTEX_CONTENDED (the kernel checks
 * it under its own lock, so an unlock in between returns at once). */
static void class_mutex_sleep(struct class_mutex *m)
{
    syscall(SYS_futex, &m->word, FUTEX_WAIT_PRIVATE, CLASS_MUTEX_CONTENDED, NULL, NULL, 0);
}

void class_mutex_wake(struct class_mutex *m)
{
    syscall(SYS_futex, &m->word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}
#else
/* No futex: a waiter yields and retries, and nobody needs waking. */
static void class_mutex_sleep(struct class_mutex *m)
{
    (void)m;
    sched_yield();
}

void class_mutex_wake(struct class_mutex *m)
{
    (void)m;
}
#endif

void class_mutex_wait(struct class_mutex *m)
{
    while (atomic_exchange_explicit(&m->word, CLASS_MUTEX_CONTENDED, memory_order_acquire) !=
           CLASS_MUTEX_FREE)
        class_mutex_sleep(m);
}

static void class_hint_build(store *s);

/* A class id past the table gets its size, before it is published. */
static void class_setup(store *s, unsigned id, uint32_t size)
{
    struct slab_class *sc = &s->classes[id];
    sc->size = size;
    sc->perslab = s->cfg.page_size / sc->size;
    class_mutex_init(&sc->slab_lock);
    class_mutex_init(&sc->lru_lock);
}

bool slab_classes_append(store *s, const uint32_t *sizes, unsigned n)
{
    unsigned last = slab_nclasses(s);
    if (n == 0 || last + n > CLASS_MAX)
        return false;
    for (unsigned i = 1; i <= n; i++)
        class_setup(s, last + i, sizes[i - 1]);
    atomic_store_explicit(&s->class_range, class_range_of(last + 1, last + n),
                          memory_order_release);
    class_hint_build(s);
    return true;
}

void slab_resume_classes(store *s, const uint32_t *sizes, unsigned nclasses,
                         unsigned live_first)
{
    for (unsigned c = slab_nclasses(s) + 1; c <= nclasses; c++)
        class_setup(s, c, sizes[c]);
    atomic_store_explicit(&s->class_range, class_range_of(live_first, nclasses),
                          memory_order_release);
    class_hint_build(s);
}

static void slab_arena_unmap(store *s)
{
    if (s->warm.fd >= 0)
        warm_unmap(s);
    else
        munmap(s->arena, s->arena_size);
    s->arena = NULL;
}

/* The anonymous arena: address space only, pages cost RSS once written. */
static int arena_reserve(store *s, uint64_t want, char *err, size_t errlen)
{
    void *p = mmap(NULL, want, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        snprintf(err, errlen, "cannot reserve %llu bytes of address space: %s",
                 (unsigned long long)want, strerror(errno));
        return -1;
    }
    s->arena = p;
    /* a hint: where the kernel's THP setting is "never" it does nothing */
    (void)madvise(p, want, MADV_HUGEPAGE);
    return 0;
}

/* Bytes of arena: with a memory file exactly the limit's pages (at least
 * one), as the file holds them; else max(limit, ARENA_RESERVE_MIN). */
static uint64_t arena_bytes_for(const store *s)
{
    uint64_t ps = s->cfg.page_size;
    uint64_t want = s->cfg.mem_limit;
    if (s->cfg.memory_file == NULL && want < ARENA_RESERVE_MIN)
        want = ARENA_RESERVE_MIN;
    if (want > ARENA_MAX)
        want = ARENA_MAX;
    want -= want % ps;
    return want < ps ? ps : want;
}

int slab_arena_init(store *s, char *err, size_t errlen)
{
    uint64_t want = arena_bytes_for(s);
    s->warm.fd = -1;
    int rc = s->cfg.memory_file != NULL ? warm_map(s, want, err, errlen)
                                        : arena_reserve(s, want, err, errlen);
    if (rc != 0)
        return -1;
    s->arena_size = want;
    s->pages_reserved = want / s->cfg.page_size;
    s->page_class = calloc(s->pages_reserved, 1);
    s->page_state = calloc(s->pages_reserved, 1);
    s->page_next = calloc(s->pages_reserved, sizeof(*s->page_next));
    if (s->page_class == NULL || s->page_state == NULL || s->page_next == NULL) {
        slab_arena_unmap(s);
        snprintf(err, errlen, "out of memory for the page table");
        return -1;
    }
    pthread_mutex_init(&s->page_lock, NULL);
    atomic_init(&s->pages_used, 0);
    atomic_init(&s->pages_held, 0);
    atomic_init(&s->pool_pages, 0);
    s->pool_top = s->released_top = PAGE_STACK_END;
    atomic_init(&s->mem_limit, s->cfg.mem_limit);
    return 0;
}

void slab_arena_destroy(store *s)
{
    if (s->arena != NULL) {
        slab_arena_unmap(s);
        pthread_mutex_destroy(&s->page_lock);
    }
    free(s->page_class);
    free(s->page_state);
    free(s->page_next);
}

#ifdef SLABS_DEBUG
void slab_check_failed(const char *cond, const char *file, int line)
{
    fprintf(stderr, "slabs: invariant broken: %s (%s:%d)\n", cond, file, line);
    abort();
}
#endif

/* ---- what the SLABS_DEBUG checks ask of a chunk (never called otherwise) ---- */

/* it lies in a page that was handed to a class. */
static inline bool chunk_in_used_page(const store *s, const item *it)
{
    const char *p = (const char *)it;
    uint64_t used = atomic_load_explicit(&s->pages_used, memory_order_relaxed);
    return p >= s->arena && (uint64_t)(p - s->arena) < used * s->cfg.page_size;
}

/* The class its page was handed to (page_class[]), 0 when the page has
 * none. Call with chunk_in_used_page true. */
static inline unsigned chunk_page_class(const store *s, const item *it)
{
    uint64_t pg = slab_page_of(s, it);
    uint8_t st = s->page_state[pg];
    return st == PAGE_CLASS || st == PAGE_DRAINING ? s->page_class[pg] : 0;
}

/* it starts a chunk of class cls in its page (not the tail waste). */
static inline bool chunk_on_boundary(const store *s, const item *it, unsigned cls)
{
    uint64_t in_page = (uint64_t)((const char *)it - s->arena) % s->cfg.page_size;
    const struct slab_class *sc = &s->classes[cls];
    return in_page % sc->size == 0 && in_page / sc->size < sc->perslab;
}

/* A chunk of class cls as it leaves or joins the free list. */
static inline void chunk_check(const store *s, const item *it, unsigned cls)
{
    SLABS_CHECK(chunk_in_used_page(s, it));
    SLABS_CHECK(chunk_page_class(s, it) == cls);
    SLABS_CHECK(chunk_on_boundary(s, it, cls));
}

/* The smallest class of lo..hi (one table) whose chunks hold nbytes, which
 * the largest does: a binary search. */
static unsigned class_search(const store *s, unsigned lo, unsigned hi, size_t nbytes)
{
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        if (s->classes[mid].size >= nbytes)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* Whether class c is the one of lo..hi for nbytes: a live class that holds
 * it while the one below it (of the same table) does not. */
static bool class_fits_best(const store *s, unsigned c, unsigned lo, unsigned hi, size_t nbytes)
{
    return c >= lo && c <= hi && s->classes[c].size >= nbytes &&
           (c == lo || s->classes[c - 1].size < nbytes);
}

/*
 * The hint is read first (issue 17: a load and a few compares where the
 * search took ~70 instructions per store). A retune rewrites the hint
 * while stores run, so a slot may name a class of the old table or of none
 * yet; class_fits_best checks it against the one range read here, whose
 * classes' sizes never change once published, and anything else falls
 * back to the search: the answer is always the search's.
 */
unsigned slab_class_for(const store *s, size_t nbytes)
{
    unsigned lo, hi;
    slab_live_range(s, &lo, &hi);   /* one table, old or new */
    if (nbytes == 0 || nbytes > s->classes[hi].size)
        return 0;
    if (nbytes <= CLASS_HINT_MAX) {
        unsigned c = atomic_load_explicit(&((store *)s)->class_hint[(nbytes - 1) / CLASS_HINT_STEP],
                                          memory_order_relaxed);
        if (class_fits_best(s, c, lo, hi, nbytes))
            return c;
    }
    return class_search(s, lo, hi, nbytes);
}

/* Fills the hint for the live table, after class_range has published it.
 * A slot covers sizes (i * step, (i + 1) * step]: its class is the one for
 * the slot's largest size (exact when class sizes are multiples of the
 * step, as align_up makes them; a slot that misses is only a search). */
static void class_hint_build(store *s)
{
    unsigned lo, hi;
    slab_live_range(s, &lo, &hi);
    for (size_t i = 0; i < CLASS_HINT_SLOTS; i++) {
        size_t top = (i + 1) * CLASS_HINT_STEP;
        unsigned c = top <= s->classes[hi].size ? class_search(s, lo, hi, top) : 0;
        atomic_store_explicit(&s->class_hint[i], (uint8_t)c, memory_order_relaxed);
    }
}

static char *page_start(const store *s, uint64_t pg)
{
    return s->arena + pg * s->cfg.page_size;
}

static uint64_t limit_pages(const store *s)
{
    return atomic_load_explicit(&s->mem_limit, memory_order_relaxed) / s->cfg.page_size;
}

/* ---- the pool and the released pages: stacks through page_next[] (page_lock) ---- */

static void page_stack_push_locked(store *s, uint32_t *top, uint64_t pg)
{
    s->page_next[pg] = *top;
    *top = (uint32_t)(pg + 1);
}

static uint64_t page_stack_pop_locked(store *s, uint32_t *top)
{
    if (*top == PAGE_STACK_END)
        return PAGE_NONE;
    uint64_t pg = *top - 1;
    *top = s->page_next[pg];
    return pg;
}

static void pool_push_locked(store *s, uint64_t pg)
{
    s->page_state[pg] = PAGE_POOL;
    page_stack_push_locked(s, &s->pool_top, pg);
    atomic_fetch_add_explicit(&s->pool_pages, 1, memory_order_relaxed);
}

static uint64_t pool_pop_locked(store *s)
{
    uint64_t pg = page_stack_pop_locked(s, &s->pool_top);
    if (pg != PAGE_NONE)
        atomic_fetch_sub_explicit(&s->pool_pages, 1, memory_order_relaxed);
    return pg;
}

/* Gives an empty page's memory back to the system; its address stays
 * reserved for a later page. page_lock held. */
static void page_release_locked(store *s, uint64_t pg)
{
    /* Failure only leaves the RSS up: the page is still reusable. */
    (void)madvise(page_start(s, pg), s->cfg.page_size, MADV_DONTNEED);
    s->page_state[pg] = PAGE_RELEASED;
    page_stack_push_locked(s, &s->released_top, pg);
    atomic_fetch_sub_explicit(&s->pages_held, 1, memory_order_relaxed);
}

/* A page to hand to a class: from the pool, else (under the limit) a
 * released one or a new one cut from the arena. page_lock held. */
static uint64_t page_obtain_locked(store *s)
{
    uint64_t held = atomic_load_explicit(&s->pages_held, memory_order_relaxed);
    uint64_t limit = limit_pages(s);
    if (held <= limit && s->pool_top != PAGE_STACK_END)
        return pool_pop_locked(s);
    if (held + 1 > limit)
        return PAGE_NONE;
    uint64_t pg = page_stack_pop_locked(s, &s->released_top);
    if (pg == PAGE_NONE) {
        uint64_t used = atomic_load_explicit(&s->pages_used, memory_order_relaxed);
        if (used >= s->pages_reserved)
            return PAGE_NONE;
        pg = used;
        atomic_store_explicit(&s->pages_used, used + 1, memory_order_relaxed);
    }
    atomic_store_explicit(&s->pages_held, held + 1, memory_order_relaxed);
    return pg;
}

/* A page for class cls, or NULL at the limit. Called with the class slab_lock. */
static char *slab_page_new_locked(store *s, unsigned cls)
{
    pthread_mutex_lock(&s->page_lock);
    uint64_t pg = page_obtain_locked(s);
    if (pg != PAGE_NONE) {
        s->page_class[pg] = (uint8_t)cls;
        s->page_state[pg] = PAGE_CLASS;
    }
    pthread_mutex_unlock(&s->page_lock);
    return pg == PAGE_NONE ? NULL : page_start(s, pg);
}

/* Gives class cls a new page to carve. Called with its slab_lock. */
static bool slab_grow_locked(store *s, unsigned cls)
{
    struct slab_class *sc = &s->classes[cls];
    if (slab_class_retired(s, cls))
        return false;   /* a retired class only gives pages back */
    char *page = slab_page_new_locked(s, cls);
    if (page == NULL)
        return false;
    sc->end_ptr = page;
    sc->end_left = sc->perslab;
    sc->pages++;
    return true;
}

/* ---- the free list (slab_lock held) ---- */

static void free_list_push_locked(store *s, struct slab_class *sc, item *it)
{
    ilist_push_head(s, &sc->free_head, NULL, it);
    sc->free_count++;
}

static void free_list_remove_locked(store *s, struct slab_class *sc, item *it)
{
    ilist_remove(s, &sc->free_head, NULL, it);
    sc->free_count--;
}

/* A free chunk is on the list unless its page drains (links both none). */
static bool free_list_has_locked(const store *s, const struct slab_class *sc, const item *it)
{
    return it->prev != LINK_NONE || sc->free_head == it_link_of(s, it);
}

static bool page_draining(const store *s, const struct slab_class *sc, const item *it)
{
    return sc->draining != 0 && s->page_state[slab_page_of(s, it)] == PAGE_DRAINING;
}

/* Pops a free chunk from outside any draining page (those met are taken
 * off the list and counted in *page_reclaims), else carves one, growing by
 * a page if grow. slab_lock held. */
static inline item *chunk_pop_locked(store *s, unsigned cls, bool grow, uint64_t *page_reclaims)
{
    struct slab_class *sc = &s->classes[cls];
    while (sc->free_head != LINK_NONE) {
        item *it = it_at(s, sc->free_head);
        /* a free chunk is marked free and only that: never linked, unheld */
        SLABS_CHECK(atomic_load_explicit(&it->iflags, memory_order_relaxed) == ITEM_FREE);
        SLABS_CHECK(atomic_load_explicit(&it->refcount, memory_order_relaxed) == 0);
        free_list_remove_locked(s, sc, it);
        if (!page_draining(s, sc, it))
            return it;
        (*page_reclaims)++;
    }
    if (sc->end_left > 0 || (grow && slab_grow_locked(s, cls))) {
        item *it = (item *)sc->end_ptr;
        sc->end_ptr += sc->size;
        sc->end_left--;
        return it;
    }
    return NULL;
}

/* Sets what a page mover reads (kind, class, owner, references) before the
 * slab_lock is let go, and counts the chunk. slab_lock held. */
static inline void chunk_hand_out_locked(store *s, item *it, unsigned cls, size_t nbytes, uint8_t kind,
                                  ilink head, uint16_t refs)
{
    struct slab_class *sc = &s->classes[cls];
    chunk_check(s, it, cls);
    atomic_store_explicit(&it->iflags, 0, memory_order_relaxed);
    atomic_store_explicit(&it->refcount, refs, memory_order_relaxed);
    it->cls = (uint8_t)cls;
    atomic_store_explicit(&it->kind, kind, memory_order_relaxed);   /* segment 0, not active */
    it->hnext = head;
    sc->used_chunks++;
    sc->mem_requested += nbytes;
}

static void count_page_reclaims(store *s, uint64_t n)
{
    if (n != 0)
        atomic_fetch_add_explicit(&s->mover.slab_reassign_inline_reclaim, n,
                                  memory_order_relaxed);
}

/* Pops a free chunk or carves one (a new page if need be) and hands it out. */
static item *slab_take_chunk(store *s, unsigned cls, size_t nbytes, uint8_t kind, ilink head,
                             uint16_t refs)
{
    struct slab_class *sc = &s->classes[cls];
    uint64_t reclaims = 0;
    class_mutex_lock(&sc->slab_lock);
    item *it = chunk_pop_locked(s, cls, true, &reclaims);
    if (it != NULL)
        chunk_hand_out_locked(s, it, cls, nbytes, kind, head, refs);
    class_mutex_unlock(&sc->slab_lock);
    count_page_reclaims(s, reclaims);
    return it;
}

item *slab_alloc(store *s, unsigned cls, size_t nbytes)
{
    return slab_take_chunk(s, cls, nbytes, IT_PLAIN, LINK_NONE, 1);
}

item *slab_alloc_chunk(store *s, unsigned cls, size_t nbytes, ilink head)
{
    return slab_take_chunk(s, cls, nbytes, IT_CHUNK, head, 0);
}

item *slab_alloc_head(store *s, unsigned cls, size_t nbytes)
{
    return slab_take_chunk(s, cls, nbytes, IT_CHAINED, LINK_NONE, 1);
}

void slab_free(store *s, item *it, size_t nbytes)
{
    struct slab_class *sc = &s->classes[it->cls];
    class_mutex_lock(&sc->slab_lock);
    uint8_t flags = atomic_load_explicit(&it->iflags, memory_order_relaxed);
    SLABS_CHECK(!(flags & ITEM_FREE));      /* double free */
    SLABS_CHECK(!(flags & ITEM_LINKED));    /* freeing an item still in the hash table */
    SLABS_CHECK(atomic_load_explicit(&it->refcount, memory_order_relaxed) == 0);
    chunk_check(s, it, it->cls);
    atomic_store_explicit(&it->iflags, ITEM_FREE, memory_order_relaxed);
    if (page_draining(s, sc, it))
        it->prev = it->next = LINK_NONE;    /* kept off: the page is leaving */
    else
        free_list_push_locked(s, sc, it);
    sc->used_chunks--;
    sc->mem_requested -= nbytes;
    class_mutex_unlock(&sc->slab_lock);
}

void slab_account_reuse(store *s, unsigned cls, size_t old_nbytes, size_t new_nbytes)
{
    struct slab_class *sc = &s->classes[cls];
    class_mutex_lock(&sc->slab_lock);
    sc->mem_requested = sc->mem_requested - old_nbytes + new_nbytes;
    class_mutex_unlock(&sc->slab_lock);
}

void slab_prealloc(store *s)
{
    uint64_t limit = atomic_load(&s->mem_limit);
    uint64_t touch = limit < s->arena_size ? limit : s->arena_size;
    touch -= touch % s->cfg.page_size;
    for (uint64_t off = 0; off < touch; off += PREALLOC_TOUCH_STRIDE)
        s->arena[off] = 0;
    for (unsigned cls = 1; cls <= slab_nclasses(s); cls++) {
        struct slab_class *sc = &s->classes[cls];
        class_mutex_lock(&sc->slab_lock);
        bool ok = slab_grow_locked(s, cls);
        class_mutex_unlock(&sc->slab_lock);
        if (!ok)
            break;
    }
}

/* ---- a resumed arena (restart.c), before any other thread runs ---- */

void slab_resume_page(store *s, uint64_t pg, unsigned cls, uint8_t state)
{
    pthread_mutex_lock(&s->page_lock);
    if (pg >= atomic_load_explicit(&s->pages_used, memory_order_relaxed))
        atomic_store_explicit(&s->pages_used, pg + 1, memory_order_relaxed);
    if (state == PAGE_CLASS || state == PAGE_DRAINING) {
        s->page_class[pg] = (uint8_t)cls;
        s->page_state[pg] = PAGE_CLASS;
        s->classes[cls].pages++;     /* single-threaded: no slab_lock needed */
        atomic_fetch_add_explicit(&s->pages_held, 1, memory_order_relaxed);
    } else if (state == PAGE_MOVING || state == PAGE_POOL) {
        pool_push_locked(s, pg);
        atomic_fetch_add_explicit(&s->pages_held, 1, memory_order_relaxed);
    } else {
        s->page_state[pg] = PAGE_RELEASED;
        page_stack_push_locked(s, &s->released_top, pg);
    }
    pthread_mutex_unlock(&s->page_lock);
}

void slab_resume_carve(store *s, unsigned cls, uint64_t pg, uint32_t end_left)
{
    struct slab_class *sc = &s->classes[cls];
    sc->end_left = end_left;
    sc->end_ptr = page_start(s, pg) + (uint64_t)(sc->perslab - end_left) * sc->size;
}

uint32_t slab_page_carved(const store *s, uint64_t pg, unsigned cls)
{
    const struct slab_class *sc = &s->classes[cls];
    bool newest = sc->end_left > 0 && slab_page_of(s, sc->end_ptr) == pg;
    return newest ? sc->perslab - sc->end_left : sc->perslab;
}

void slab_resume_used(store *s, item *it, size_t nbytes)
{
    struct slab_class *sc = &s->classes[it->cls];
    class_mutex_lock(&sc->slab_lock);
    chunk_check(s, it, it->cls);
    sc->used_chunks++;
    sc->mem_requested += nbytes;
    class_mutex_unlock(&sc->slab_lock);
}

void slab_resume_free(store *s, item *it)
{
    struct slab_class *sc = &s->classes[it->cls];
    class_mutex_lock(&sc->slab_lock);
    chunk_check(s, it, it->cls);
    atomic_store_explicit(&it->iflags, ITEM_FREE, memory_order_relaxed);
    atomic_store_explicit(&it->refcount, 0, memory_order_relaxed);
    free_list_push_locked(s, sc, it);
    class_mutex_unlock(&sc->slab_lock);
}

/* ---- the part of store.h that is the class table and memory limit ---- */

unsigned store_class_count(const store *s)
{
    return slab_nclasses(s);
}

unsigned store_class_live_first(const store *s)
{
    return slab_live_first(s);
}

uint32_t store_class_chunk_size(const store *s, unsigned cls)
{
    return cls >= 1 && cls <= slab_nclasses(s) ? s->classes[cls].size : 0;
}

uint32_t store_class_per_page(const store *s, unsigned cls)
{
    return cls >= 1 && cls <= slab_nclasses(s) ? s->classes[cls].perslab : 0;
}

/*
 * Key + value bytes of the largest item: a page less the header, assuming
 * non-zero client flags (the worst case); beyond the largest class an item
 * is a chain of chunks. nkey does not change the header size.
 */
size_t store_item_size_max(const store *s, size_t nkey)
{
    (void)nkey;
    return s->cfg.page_size - s->hdr_base - ITEM_FLAGS_SIZE;
}

size_t store_item_header_size(const store *s, uint32_t flags)
{
    return s->hdr_base + (flags != 0 ? ITEM_FLAGS_SIZE : 0);
}

/*
 * Raising is clamped to the reserved arena and takes effect at the next page
 * a class wants; lowering releases pool pages now and wakes the mover to
 * drain and release class pages until the pages held fit.
 */
void store_set_mem_limit(store *s, uint64_t bytes)
{
    if (bytes > s->arena_size)
        bytes = s->arena_size;
    atomic_store(&s->mem_limit, bytes);
    if (slab_trim_pool(s) > 0)
        mover_wake(s);
}

/* ---- pages for the mover (mover.c) ---- */

uint64_t slab_pages_over_limit(store *s)
{
    uint64_t held = atomic_load_explicit(&s->pages_held, memory_order_relaxed);
    uint64_t limit = limit_pages(s);
    return held > limit ? held - limit : 0;
}

uint64_t slab_trim_pool(store *s)
{
    pthread_mutex_lock(&s->page_lock);
    while (slab_pages_over_limit(s) > 0 && s->pool_top != PAGE_STACK_END)
        page_release_locked(s, pool_pop_locked(s));
    uint64_t over = slab_pages_over_limit(s);
    pthread_mutex_unlock(&s->page_lock);
    return over;
}

uint64_t slab_pool_take(store *s)
{
    pthread_mutex_lock(&s->page_lock);
    uint64_t pg = pool_pop_locked(s);
    if (pg != PAGE_NONE)
        s->page_state[pg] = PAGE_MOVING;
    pthread_mutex_unlock(&s->page_lock);
    return pg;
}

/* Chunks of a page in use, estimated from PAGE_SAMPLE_CHUNKS of them spread
 * evenly (all of them in a page with fewer); chunks past `carved` never held
 * an item. The flags are read without the slab_lock: an estimate. */
static uint32_t page_used_estimate(const store *s, unsigned cls, uint64_t pg, uint32_t carved)
{
    const struct slab_class *sc = &s->classes[cls];
    uint32_t stride = sc->perslab > PAGE_SAMPLE_CHUNKS ? sc->perslab / PAGE_SAMPLE_CHUNKS : 1;
    uint32_t used = 0;
    for (uint32_t i = 0; i < carved; i += stride) {
        item *it = (item *)(page_start(s, pg) + (uint64_t)i * sc->size);
        if (!(atomic_load_explicit(&it->iflags, memory_order_relaxed) & ITEM_FREE))
            used++;
    }
    return used;
}

/* Chunks of page pg of cls carved so far. slab_lock held. */
static uint32_t page_carved_locked(const store *s, const struct slab_class *sc, uint64_t pg)
{
    if (sc->end_left > 0 && slab_page_of(s, sc->end_ptr) == pg)
        return (uint32_t)((sc->end_ptr - page_start(s, pg)) / sc->size);
    return sc->perslab;
}

uint64_t slab_page_emptiest(store *s, unsigned cls)
{
    struct slab_class *sc = &s->classes[cls];
    uint64_t best = PAGE_NONE;
    uint32_t best_used = 0;
    uint64_t cut = atomic_load_explicit(&s->pages_used, memory_order_relaxed);
    for (uint64_t pg = 0; pg < cut; pg++) {
        class_mutex_lock(&sc->slab_lock);
        pthread_mutex_lock(&s->page_lock);
        bool mine = s->page_state[pg] == PAGE_CLASS && s->page_class[pg] == cls;
        pthread_mutex_unlock(&s->page_lock);
        uint32_t carved = mine ? page_carved_locked(s, sc, pg) : 0;
        class_mutex_unlock(&sc->slab_lock);
        if (!mine)
            continue;
        uint32_t used = page_used_estimate(s, cls, pg, carved);
        if (best == PAGE_NONE || used < best_used) {
            best = pg;
            best_used = used;
        }
    }
    return best;
}

uint32_t slab_drain_begin(store *s, unsigned cls, uint64_t pg)
{
    struct slab_class *sc = &s->classes[cls];
    uint32_t carved;
    class_mutex_lock(&sc->slab_lock);
    pthread_mutex_lock(&s->page_lock);
    SLABS_CHECK(s->page_state[pg] == PAGE_CLASS && s->page_class[pg] == cls);
    s->page_state[pg] = PAGE_DRAINING;
    pthread_mutex_unlock(&s->page_lock);
    sc->draining++;
    carved = page_carved_locked(s, sc, pg);
    if (carved < sc->perslab) {
        /* the page being carved: what is left of it is never carved now */
        sc->end_left = 0;
        sc->end_ptr = NULL;
    }
    class_mutex_unlock(&sc->slab_lock);
    return carved;
}

static bool pinned_already(item *const *pinned, unsigned n, const item *owner)
{
    for (unsigned i = 0; i < n; i++)
        if (pinned[i] == owner)
            return true;
    return false;
}

unsigned slab_drain_scan(store *s, struct page_move *m, item **pinned, unsigned max)
{
    struct slab_class *sc = &s->classes[m->src];
    char *base = page_start(s, m->page);
    uint32_t end = m->carved - m->cursor > max ? m->cursor + max : m->carved;
    unsigned n = 0;
    uint64_t busy = 0;
    class_mutex_lock(&sc->slab_lock);
    for (; m->cursor < end; m->cursor++) {
        item *it = (item *)(base + (uint64_t)m->cursor * sc->size);
        if (atomic_load_explicit(&it->iflags, memory_order_relaxed) & ITEM_FREE) {
            if (free_list_has_locked(s, sc, it))
                free_list_remove_locked(s, sc, it);
            continue;
        }
        m->in_use++;
        item *owner = it_kind(it) == IT_CHUNK ? it_at(s, it->hnext) : it;
        /* one pin per chain: a second would read as a reader holding it */
        if (it_kind(it) == IT_CHUNK && pinned_already(pinned, n, owner))
            continue;
        if (it_try_pin(owner))
            pinned[n++] = owner;
        else
            busy++;     /* its last reference is going: freed soon */
    }
    class_mutex_unlock(&sc->slab_lock);
    if (busy != 0) {
        atomic_fetch_add_explicit(&s->mover.slab_reassign_busy_items, busy, memory_order_relaxed);
        mover_note_busy(s, MOVE_BUSY_FREEING);
    }
    m->busy += (uint32_t)busy;
    return n;
}

item *slab_alloc_spare(store *s, unsigned cls, size_t nbytes, uint64_t *page_reclaims)
{
    struct slab_class *sc = &s->classes[cls];
    class_mutex_lock(&sc->slab_lock);
    item *it = chunk_pop_locked(s, cls, false, page_reclaims);
    if (it != NULL)
        chunk_hand_out_locked(s, it, cls, nbytes, IT_PLAIN, LINK_NONE, 1);
    class_mutex_unlock(&sc->slab_lock);
    return it;
}

void slab_drain_finish(store *s, unsigned cls, uint64_t pg)
{
    struct slab_class *sc = &s->classes[cls];
    class_mutex_lock(&sc->slab_lock);
    pthread_mutex_lock(&s->page_lock);
    SLABS_CHECK(s->page_state[pg] == PAGE_DRAINING);
    s->page_state[pg] = PAGE_MOVING;
    s->page_class[pg] = 0;
    pthread_mutex_unlock(&s->page_lock);
    sc->pages--;
    sc->draining--;
    class_mutex_unlock(&sc->slab_lock);
}

/* Class cls takes the moving page pg: to carve if it has nothing left to
 * carve, else its chunks join the free list at once. */
static void page_give_class(store *s, uint64_t pg, unsigned cls)
{
    struct slab_class *sc = &s->classes[cls];
    char *page = page_start(s, pg);
    class_mutex_lock(&sc->slab_lock);
    pthread_mutex_lock(&s->page_lock);
    s->page_class[pg] = (uint8_t)cls;
    s->page_state[pg] = PAGE_CLASS;
    pthread_mutex_unlock(&s->page_lock);
    sc->pages++;
    if (sc->end_left == 0) {
        sc->end_ptr = page;
        sc->end_left = sc->perslab;
    } else {
        for (uint32_t i = 0; i < sc->perslab; i++) {
            item *it = (item *)(page + (uint64_t)i * sc->size);
            atomic_store_explicit(&it->iflags, ITEM_FREE, memory_order_relaxed);
            atomic_store_explicit(&it->refcount, 0, memory_order_relaxed);
            it->cls = (uint8_t)cls;
            free_list_push_locked(s, sc, it);
        }
    }
    class_mutex_unlock(&sc->slab_lock);
}

void slab_page_place(store *s, uint64_t pg, int dst)
{
    pthread_mutex_lock(&s->page_lock);
    SLABS_CHECK(s->page_state[pg] == PAGE_MOVING);
    bool release = dst == MOVE_TO_RELEASE || slab_pages_over_limit(s) > 0;
    if (release)
        page_release_locked(s, pg);
    else if (dst == MOVE_TO_POOL)
        pool_push_locked(s, pg);
    pthread_mutex_unlock(&s->page_lock);
    if (!release && dst != MOVE_TO_POOL)
        page_give_class(s, pg, (unsigned)dst);
}

void store_class_stats(store *s, unsigned cls, struct store_class_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (cls < 1 || cls > slab_nclasses(s))
        return;
    struct slab_class *sc = &s->classes[cls];
    out->chunk_size = sc->size;
    out->chunks_per_page = sc->perslab;
    lru_stats(s, cls, out);
    crawler_class_stats(s, cls, out);
    class_mutex_lock(&sc->slab_lock);
    out->total_pages = sc->pages;
    out->total_chunks = sc->pages * sc->perslab;
#define SLAB_STAT_COPY(field) out->field = sc->field;
#define SLAB_STAT_ROW(field, type, kept, ...) SLAB_STAT_IF_SLAB(kept, SLAB_STAT_COPY)(field)
    STORE_CLASS_STATS(SLAB_STAT_ROW)
#undef SLAB_STAT_ROW
#undef SLAB_STAT_COPY
    out->free_chunks_end = sc->end_left;
    out->free_chunks = sc->free_count + sc->end_left;
    out->chunk_bytes_used = sc->used_chunks * sc->size;
    class_mutex_unlock(&sc->slab_lock);
}

/* Rows of STORE_STATS that are a sum over classes; the others are set below. */
#define STORE_STATS_ADD(field, type, from, class_field, ...) \
    STORE_STATS_ADD_##from(field, class_field)
#define STORE_STATS_ADD_SUM(field, class_field) out->field += cs.class_field;
#define STORE_STATS_ADD_READ(field, class_field)

void store_stats(store *s, struct store_stats *out)
{
    memset(out, 0, sizeof(*out));
    for (unsigned cls = 1; cls <= slab_nclasses(s); cls++) {
        struct store_class_stats cs;
        store_class_stats(s, cls, &cs);
        STORE_STATS(STORE_STATS_ADD)
        if (cs.total_pages > 0)
            out->active_slabs++;
    }
    out->total_malloced = atomic_load(&s->pages_held) * s->cfg.page_size;
    out->slab_global_page_pool = atomic_load(&s->pool_pages);
    mover_stats(s, out);
    out->lru_maintainer_juggles = lru_juggles(s);
    crawler_stats(s, out);
    out->limit_maxbytes = atomic_load(&s->mem_limit);
    out->hash_power_level = assoc_power(s);
    out->hash_bytes = ((uint64_t)1 << out->hash_power_level) * sizeof(ilink);
    out->hash_is_expanding = assoc_expanding(s);
}
