/*
 * slab: the arena, its pages, the chunk class table and the chunk free lists.
 *
 * One arena is reserved up front with mmap(MAP_PRIVATE|MAP_ANONYMOUS|
 * MAP_NORESERVE): a page costs RSS only once an item is written into it, and
 * links between items can be 32-bit arena offsets. Pages (page_size bytes)
 * are cut from the arena in order and given to a class when the class has no
 * free chunk; the total never exceeds mem_limit (strict). A class carves its
 * newest page lazily (end_ptr/end_left: "free_chunks_end") and keeps freed
 * chunks on a LIFO free list, so a freed chunk is the next one reused. No
 * malloc per item, ever.
 *
 * The arena reserves max(mem_limit, ARENA_RESERVE_MIN) bytes (capped at
 * ARENA_MAX) of address space, so store_set_mem_limit can raise the limit up
 * to that at run time; a raise beyond it is clamped to the reservation.
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

#define PREALLOC_TOUCH_STRIDE 4096
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
 * items are chains, chain.c).
 */
int slab_classes_init(store *s, char *err, size_t errlen)
{
    const struct store_config *c = &s->cfg;
    uint64_t size = align_up(s->hdr_base + (uint64_t)c->chunk_min);
    unsigned n = 0;
    uint32_t top = c->chunk_max;

    if (size > c->page_size) {
        snprintf(err, errlen, "page size %u is smaller than the smallest chunk (%llu bytes)",
                 c->page_size, (unsigned long long)size);
        return -1;
    }
    while (size < top && (double)size <= (double)top / c->factor) {
        if (n + 1 >= CLASS_MAX) {
            snprintf(err, errlen,
                     "growth factor %g with chunk size %u and page size %u needs more than %d classes",
                     c->factor, c->chunk_min, c->page_size, CLASS_MAX);
            return -1;
        }
        n++;
        s->classes[n].size = (uint32_t)size;
        uint64_t next = align_up((uint64_t)ceil((double)size * c->factor - CLASS_FACTOR_EPSILON));
        size = next < size + CHUNK_ALIGN ? size + CHUNK_ALIGN : next;
    }
    n++;
    s->classes[n].size = top;
    s->nclasses = n;
    for (unsigned i = 1; i <= n; i++) {
        struct slab_class *sc = &s->classes[i];
        sc->perslab = c->page_size / sc->size;
        pthread_mutex_init(&sc->slab_lock, NULL);
        pthread_mutex_init(&sc->lru_lock, NULL);
    }
    return 0;
}

int slab_arena_init(store *s, char *err, size_t errlen)
{
    uint64_t ps = s->cfg.page_size;
    uint64_t want = s->cfg.mem_limit > ARENA_RESERVE_MIN ? s->cfg.mem_limit : ARENA_RESERVE_MIN;
    if (want > ARENA_MAX)
        want = ARENA_MAX;
    want -= want % ps;
    void *p = mmap(NULL, want, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        snprintf(err, errlen, "cannot reserve %llu bytes of address space: %s",
                 (unsigned long long)want, strerror(errno));
        return -1;
    }
    s->arena = p;
    s->arena_size = want;
    s->pages_reserved = want / ps;
    s->page_class = calloc(s->pages_reserved, 1);
    if (s->page_class == NULL) {
        munmap(p, want);
        s->arena = NULL;
        snprintf(err, errlen, "out of memory for the page table");
        return -1;
    }
    pthread_mutex_init(&s->page_lock, NULL);
    atomic_init(&s->pages_used, 0);
    atomic_init(&s->mem_limit, s->cfg.mem_limit);
    return 0;
}

void slab_arena_destroy(store *s)
{
    for (unsigned i = 1; i <= s->nclasses; i++) {
        pthread_mutex_destroy(&s->classes[i].slab_lock);
        pthread_mutex_destroy(&s->classes[i].lru_lock);
    }
    if (s->arena != NULL) {
        munmap(s->arena, s->arena_size);
        pthread_mutex_destroy(&s->page_lock);
    }
    free(s->page_class);
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

/* The class its page was handed to (page_class[]). Call with
 * chunk_in_used_page true. */
static inline unsigned chunk_page_class(const store *s, const item *it)
{
    return s->page_class[(uint64_t)((const char *)it - s->arena) / s->cfg.page_size];
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

unsigned slab_class_for(const store *s, size_t nbytes)
{
    unsigned lo = 1, hi = s->nclasses;
    if (nbytes == 0 || nbytes > s->classes[hi].size)
        return 0;
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        if (s->classes[mid].size >= nbytes)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* A page for class cls, or NULL at the limit. Called with the class slab_lock. */
static char *slab_page_new_locked(store *s, unsigned cls)
{
    char *page = NULL;
    pthread_mutex_lock(&s->page_lock);
    uint64_t used = atomic_load_explicit(&s->pages_used, memory_order_relaxed);
    uint64_t limit = atomic_load_explicit(&s->mem_limit, memory_order_relaxed);
    if (used < s->pages_reserved && (used + 1) * s->cfg.page_size <= limit) {
        page = s->arena + used * s->cfg.page_size;
        s->page_class[used] = (uint8_t)cls;
        atomic_store_explicit(&s->pages_used, used + 1, memory_order_relaxed);
    }
    pthread_mutex_unlock(&s->page_lock);
    return page;
}

/* Gives class cls a new page to carve. Called with its slab_lock. */
static bool slab_grow_locked(store *s, unsigned cls)
{
    struct slab_class *sc = &s->classes[cls];
    char *page = slab_page_new_locked(s, cls);
    if (page == NULL)
        return false;
    sc->end_ptr = page;
    sc->end_left = sc->perslab;
    sc->pages++;
    return true;
}

/* Pops a free chunk or carves one, and sets what a page mover reads (kind,
 * class, owner, references) before the slab_lock is let go. */
static item *slab_take_chunk(store *s, unsigned cls, size_t nbytes, uint8_t kind, ilink head,
                             uint32_t refs)
{
    struct slab_class *sc = &s->classes[cls];
    item *it = NULL;

    pthread_mutex_lock(&sc->slab_lock);
    if (sc->free_head != LINK_NONE) {
        it = it_at(s, sc->free_head);
        /* a free chunk is marked free and only that: never linked, unheld */
        SLABS_CHECK(atomic_load_explicit(&it->iflags, memory_order_relaxed) == ITEM_FREE);
        SLABS_CHECK(atomic_load_explicit(&it->refcount, memory_order_relaxed) == 0);
        sc->free_head = it->next;
        sc->free_count--;
    } else if (sc->end_left > 0 || slab_grow_locked(s, cls)) {
        it = (item *)sc->end_ptr;
        sc->end_ptr += sc->size;
        sc->end_left--;
    }
    if (it != NULL) {
        chunk_check(s, it, cls);
        atomic_store_explicit(&it->iflags, 0, memory_order_relaxed);
        atomic_store_explicit(&it->refcount, refs, memory_order_relaxed);
        it->cls = (uint8_t)cls;
        it->kind = kind;
        it->hnext = head;
        sc->used_chunks++;
        sc->mem_requested += nbytes;
    }
    pthread_mutex_unlock(&sc->slab_lock);
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
    pthread_mutex_lock(&sc->slab_lock);
    uint8_t flags = atomic_load_explicit(&it->iflags, memory_order_relaxed);
    SLABS_CHECK(!(flags & ITEM_FREE));      /* double free */
    SLABS_CHECK(!(flags & ITEM_LINKED));    /* freeing an item still in the hash table */
    SLABS_CHECK(atomic_load_explicit(&it->refcount, memory_order_relaxed) == 0);
    chunk_check(s, it, it->cls);
    atomic_store_explicit(&it->iflags, ITEM_FREE, memory_order_relaxed);
    it->next = sc->free_head;
    sc->free_head = it_link_of(s, it);
    sc->free_count++;
    sc->used_chunks--;
    sc->mem_requested -= nbytes;
    pthread_mutex_unlock(&sc->slab_lock);
}

void slab_account_reuse(store *s, unsigned cls, size_t old_nbytes, size_t new_nbytes)
{
    struct slab_class *sc = &s->classes[cls];
    pthread_mutex_lock(&sc->slab_lock);
    sc->mem_requested = sc->mem_requested - old_nbytes + new_nbytes;
    pthread_mutex_unlock(&sc->slab_lock);
}

void slab_prealloc(store *s)
{
    uint64_t limit = atomic_load(&s->mem_limit);
    uint64_t touch = limit < s->arena_size ? limit : s->arena_size;
    touch -= touch % s->cfg.page_size;
    for (uint64_t off = 0; off < touch; off += PREALLOC_TOUCH_STRIDE)
        s->arena[off] = 0;
    for (unsigned cls = 1; cls <= s->nclasses; cls++) {
        struct slab_class *sc = &s->classes[cls];
        pthread_mutex_lock(&sc->slab_lock);
        bool ok = slab_grow_locked(s, cls);
        pthread_mutex_unlock(&sc->slab_lock);
        if (!ok)
            break;
    }
}

/* ---- the part of store.h that is the class table and memory limit ---- */

unsigned store_class_count(const store *s)
{
    return s->nclasses;
}

uint32_t store_class_chunk_size(const store *s, unsigned cls)
{
    return cls >= 1 && cls <= s->nclasses ? s->classes[cls].size : 0;
}

uint32_t store_class_per_page(const store *s, unsigned cls)
{
    return cls >= 1 && cls <= s->nclasses ? s->classes[cls].perslab : 0;
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
 * Raising is clamped to the reserved arena; lowering only stops new pages
 * from being taken (pages already assigned stay with their classes).
 */
void store_set_mem_limit(store *s, uint64_t bytes)
{
    if (bytes > s->arena_size)
        bytes = s->arena_size;
    atomic_store(&s->mem_limit, bytes);
}

void store_class_stats(store *s, unsigned cls, struct store_class_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (cls < 1 || cls > s->nclasses)
        return;
    struct slab_class *sc = &s->classes[cls];
    out->chunk_size = sc->size;
    out->chunks_per_page = sc->perslab;
    lru_stats(s, cls, out);
    pthread_mutex_lock(&sc->slab_lock);
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
    pthread_mutex_unlock(&sc->slab_lock);
}

/* Rows of STORE_STATS that are a sum over classes; the others are set below. */
#define STORE_STATS_ADD(field, type, from, class_field, ...) \
    STORE_STATS_ADD_##from(field, class_field)
#define STORE_STATS_ADD_SUM(field, class_field) out->field += cs.class_field;
#define STORE_STATS_ADD_READ(field, class_field)

void store_stats(store *s, struct store_stats *out)
{
    memset(out, 0, sizeof(*out));
    for (unsigned cls = 1; cls <= s->nclasses; cls++) {
        struct store_class_stats cs;
        store_class_stats(s, cls, &cs);
        STORE_STATS(STORE_STATS_ADD)
        if (cs.total_pages > 0)
            out->active_slabs++;
    }
    out->total_malloced = atomic_load(&s->pages_used) * s->cfg.page_size;
    out->limit_maxbytes = atomic_load(&s->mem_limit);
    out->hash_power_level = assoc_power(s);
    out->hash_bytes = ((uint64_t)1 << out->hash_power_level) * sizeof(ilink);
    out->hash_is_expanding = assoc_expanding(s);
}
