/*
 * slabs/internal.h: the storage engine's private structures, shared by the
 * files of slabs/ and by its unit tests (t/unit/check_*.c). Nothing outside
 * slabs/ and its tests may include this header: use store.h.
 *
 * Files:
 *   slab.c   the arena, pages, chunk classes, chunk free lists, memory stats,
 *            the slow (futex) halves of the class locks
 *   assoc.c  the hash function and the hash table with incremental growth
 *   items.c  the item header, refcounts, link/unlink, the per-class LRUs,
 *            expiry/flush checks, eviction and reclaim at allocation
 *   chain.c  chained items (values larger than the largest class): their
 *            layout, allocation, freeing and the value-segment accessors
 *   store.c  store_create/destroy and the operations of store.h
 *   mover.c  page moves, the mover thread, automove, limit shrinking
 *   crawler.c the LRU crawler thread (reclaims dead items by walking the
 *            hash table) and the walk behind key dumps
 *   restart.c warm restart (-e): the arena as a memory file, its saved
 *            metadata, and the resume walk that rebuilds hash and LRUs
 *   sizes.c  the size histogram of linked items (counted at link/unlink)
 *   advisor.c pure functions: the chunk waste of a class table over a size
 *            histogram, and the tables that waste least
 *
 * Names: store.h's are `store_*` and the `item_*` accessors; nothing declared
 * here starts with either, so a call site shows whether it goes through the
 * public interface or around it. Private prefixes name the owner: slab_
 * (slab.c), assoc_ (assoc.c), it_ (item internals) and lru_ (items.c), key_
 * (the key lock below). A `_locked` suffix means "call with a lock held":
 * the function's comment names the lock, and the lock order below lists
 * every such function with its lock.
 *
 * Memory: one arena of `arena_size` bytes is reserved with mmap(MAP_NORESERVE)
 * at start, so pages that were never handed out cost no RSS. Pages are cut
 * from the arena in order (a bump index under page_lock). Each cut page has a
 * state (page_state[], below): it belongs to a class, is being drained by the
 * mover (mover.c), waits in the global pool, is on its way from a drained
 * class to another, or was given back to the system (madvise) when the limit
 * fell. `page_class[]` records the class of a page that has one. Items refer
 * to each other by 32-bit links: (arena offset >> 3) + 1, 0 meaning "none";
 * chunks are 8-aligned, so an arena of up to 32 GB fits.
 *
 * Lock order (a thread only takes locks to the right of those it holds;
 * trylock may go against it, because it never waits). A `watch evictions`
 * record (it_log_eviction) takes a ring lock of common/logger.c under any
 * of these: a leaf, under which nothing else is taken.
 *
 *     mover.lock -> assoc.expand_lock -> stripe[hv & stripe_mask]
 *                -> class.lru_lock -> class.slab_lock -> page_lock
 *
 *   The two class locks are struct class_mutex (below: an inline futex
 *   lock, as every store takes three pairs of them); the others are
 *   pthread mutexes.
 *   - mover.lock guards the page move in progress (struct page_move), the
 *     automove samples and the class table switch (struct retune). The mover thread, store_slab_reassign and an
 *     allocation that steals a page (it_alloc, no stripe lock held) take it;
 *     nobody takes it while holding another lock of the store.
 *   - stripe locks (item locks) guard the hash chains of their buckets, the
 *     LINKED bit, refcount increments of linked items (a get takes its
 *     reference under the stripe lock, so "refcount == 1 under the stripe
 *     lock" means only the hash table holds the item; a page mover's pin
 *     is the one reference taken without it, and it neither reads nor
 *     writes the item until it holds the stripe lock), in-place arith, and
 *     the CAS/flags/value of a linked item. stripe count <= initial buckets,
 *     so an old bucket and the two new buckets it splits into share a stripe.
 *     One exception, a hint only: batched lookups read bucket heads and the
 *     first items of chains with no lock, to bring them into the cache
 *     (assoc_touch_first/item; assoc.c and the functions say why that is
 *     safe); nothing is decided on what they read.
 *   - lru_lock guards a class's LRU links, its item counters (curr, total,
 *     evicted...). Allocation takes lru_lock with NO stripe lock held, then
 *     trylocks the stripes of tail candidates (they belong to other keys).
 *   - slab_lock guards a class's free list and chunk/page counters and the
 *     state of a page it owns (such a page changes state only under both its
 *     class's slab_lock and page_lock, so slab_free reads page_state[] under
 *     the slab_lock alone). Pinning an item for a page move (it_try_pin)
 *     happens under it.
 *   - page_lock guards the arena bump index, the page table, the pool and
 *     the released pages.
 *   - crawler.admin_lock -> crawler.lock (crawler.c) stand apart: taken
 *     with no other lock of the store held, and none is taken under them.
 *   - expand_lock serializes hash table growth steps; starting and ending a
 *     growth takes every stripe lock briefly (O(stripes), never O(items)).
 *
 * The `_locked` functions, by the lock they need:
 *   stripe (the key's)  assoc_find_locked/insert/delete_locked,
 *                       it_link/unlink/replace/bump_locked (these take the
 *                       class's lru_lock inside), and in store.c
 *                       find_live_locked, commit_plain_locked,
 *                       delete_live_locked, touch_live_locked,
 *                       arith_in_place_locked, lookup_hit_locked
 *   class.lru_lock      lru_insert_head_locked/remove/count_taken_locked,
 *                       lru_move_locked, lru_balance_locked (items.c)
 *   class.slab_lock     slab_grow_locked, slab_page_new_locked (slab.c; the
 *                       latter takes page_lock inside), free_list_*_locked,
 *                       drain_scan_locked, it_try_pin (via the scan)
 *   page_lock           pool_pop_locked/push_locked, page_release_locked
 *   mover.lock          move_*_locked, automove_*_locked, retune_*_locked
 *                       (mover.c), slab_classes_append (slab.c)
 *   assoc.expand_lock   assoc_expand_start_locked/move_bucket/expand_finish_locked
 *
 * Later (not built): copying chained items out of a draining page (the mover
 * evicts them through their head).
 */
#ifndef SLABS_INTERNAL_H
#define SLABS_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/clock.h"
#include "common/logger.h"
#include "slabs/store.h"

/*
 * Invariant checks. With SLABS_DEBUG defined (configure --enable-sanitizers
 * or --enable-tsan, and the fuzz builds) a broken invariant prints what and
 * where ("slabs: invariant broken: ...") and aborts. Without it the check
 * compiles to nothing: the condition sits in sizeof, so it is never
 * evaluated, and the names it uses still count as used (no warnings).
 */
/* A function ThreadSanitizer does not instrument: only for hints whose
 * unlocked reads decide nothing (assoc_touch_item). */
#if defined(__has_attribute)
#if __has_attribute(no_sanitize)
#define SLABS_NO_TSAN __attribute__((no_sanitize("thread")))
#endif
#endif
#ifndef SLABS_NO_TSAN
#define SLABS_NO_TSAN
#endif

#ifdef SLABS_DEBUG
#define SLABS_CHECK(cond) \
    ((cond) ? (void)0 : slab_check_failed(#cond, __FILE__, __LINE__))
_Noreturn void slab_check_failed(const char *cond, const char *file, int line);
#else
#define SLABS_CHECK(cond) ((void)sizeof((cond) ? 1 : 0))
#endif

/* A 32-bit link to an item: (arena offset >> LINK_SHIFT) + 1; 0 = none. */
typedef uint32_t ilink;
#define LINK_NONE 0u
#define LINK_SHIFT 3
/* Offsets up to (2^32 - 2) << 3 are representable: an arena of 32 GB. */
#define ARENA_MAX ((uint64_t)32 * 1024 * 1024 * 1024)
/* Address space reserved at least (MAP_NORESERVE: costs no memory), so that
 * store_set_mem_limit can raise the limit above the start value. */
#define ARENA_RESERVE_MIN ((uint64_t)1024 * 1024 * 1024)

/* A hit moves an item to its LRU head at most once per this many seconds. */
#define LRU_BUMP_INTERVAL 60
/* Items examined from the LRU tail when reclaiming or evicting. */
#define LRU_TAIL_SEARCH 5

/* item.iflags bits */
#define ITEM_LINKED 0x01     /* in the hash table and its LRU */
#define ITEM_FETCHED 0x02    /* read since stored */
#define ITEM_HAS_FLAGS 0x04  /* 4 bytes of client flags follow the CAS */
#define ITEM_FREE 0x08       /* a free chunk: on its class free list, or kept off
                              * it because its page is draining */
#define ITEM_HAS_CAS 0x10    /* 8 bytes of CAS follow the header */
/* The item marks of store.h: */
#define ITEM_STALE 0x20      /* value kept but known out of date */
#define ITEM_TOKEN_SENT 0x40 /* a client was told it won the right to recache */
#define ITEM_KEY_BINARY 0x80 /* stored with a base64 key: echo the key encoded */

/*
 * The item header, 30 bytes, at the start of its chunk:
 *
 *   0               4               8               12              16
 *   +---------------+---------------+---------------+---------------+
 *   | lru prev link | lru next link | hash next link| exptime (rel) |
 *   +---------------+---------------+---------------+---------------+
 *   | atime (rel)   | nvalue        |refcnt |nk|if|cl|kd| data...
 *   +---------------+---------------+---------------+---------------+
 *   16              20              24      26 27 28 29 30
 *
 *   [30]  uint64 CAS          only when the store uses CAS (use_cas)
 *   [..]  uint32 client flags only when non-zero (ITEM_HAS_FLAGS)
 *   [..]  key bytes (nkey, no NUL), then value bytes (nvalue, no CRLF)
 *
 * So an item needs 30 (+8 CAS) (+4 flags) + nkey + nvalue bytes; memcached's
 * needs 48 + 8 CAS + nkey + 1 + nvalue + 2. Why 30 and not 32: chunks are
 * 8-aligned, and the common small items (a 14-byte key with CAS and a 20- or
 * 100-byte value) then need 72 and 152 bytes, whole chunks with no waste.
 * What follows the header is unaligned (the CAS sits at offset 30), so it is
 * only ever read and written with memcpy. The refcount is 16 bits wide, as
 * memcached's: references are capped below its top (IT_REF_READER_MAX) so it
 * never wraps; see "references" below. A free chunk keeps the header and
 * uses `prev`/`next` as its free-list links (doubly linked, so the mover
 * takes a draining page's chunk off in O(1)); a free chunk of a draining page
 * is off the list, with both links LINK_NONE and not the list head.
 *
 * The life cycle of a chunk, with its refcount and who holds the references:
 *
 *                 it_alloc (free list or new page)
 *     +--------+ -----------------------------------> +-----------+ refcount 1: the
 *     |  free  |                                      | allocated | allocating caller
 *     +--------+ <----------------------------------- +-----------+ (filling it)
 *   ITEM_FREE, in   it_unref of the last reference          |
 *   the class free  (store_release of an unstored item)     | it_link_locked
 *   list; refcount 0                                        v (store_commit...)
 *         ^                                           +-----------+ refcount 1 (the
 *         |                                           |  linked   | link) + 1 for each
 *         |                                           +-----------+ reader; ITEM_LINKED
 *         |                                                 |       in hash and LRU
 *         |                                                 | it_unlink_locked: delete,
 *         |   it_unref of the last reference               v replace, or dead when met
 *         +------------------------------------------ +-----------+ refcount = readers
 *                             (slab_free)             | unlinked  | still sending it
 *                                                     +-----------+
 *
 *   Reclaim and eviction (lru_pull_tail) take a linked item whose only
 *   reference is the link (refcount 1, its stripe trylocked, claimed by a
 *   compare-exchange 1 -> 0 so that a page mover's pin cannot slip in): it
 *   is unlinked and its chunk goes straight back out as "allocated"
 *   (refcount 1 again), never through the free list. A page mover pins
 *   items (refcount r >= 1 -> r + 1) under the class's slab_lock, without
 *   the stripe lock, but reads or changes them only under it: see mover.c.
 *   SLABS_DEBUG builds check these transitions.
 */
struct item {
    ilink prev;             /* LRU: towards the head (more recent) */
    ilink next;             /* LRU: towards the tail; free list link */
    ilink hnext;            /* hash chain */
    _Atomic rel_time_t exptime; /* 0 = never (touch changes it under the stripe lock) */
    _Atomic rel_time_t atime;   /* last store or LRU bump */
    uint32_t nvalue;
    _Atomic uint16_t refcount;  /* the hash table holds one while LINKED */
    uint8_t nkey;
    _Atomic uint8_t iflags;
    uint8_t cls;
    _Atomic uint8_t kind;       /* IT_* | LRU segment | IT_ACTIVE: see below */
    /* The first 2 bytes of what follows the header (CAS, flags, key): a
     * member rather than padding, so that no store to the header may
     * touch them. Reached only through ITEM_HEADER_SIZE. */
    char data[2];
};

/*
 * item.kind: what a chunk that is not free holds. Written only by slab_alloc,
 * slab_alloc_head and slab_alloc_chunk under the class's slab_lock, so a page mover holding
 * that lock reads it (and a chunk's hnext) without a race.
 *   IT_PLAIN    an item: header, key and whole value in this chunk
 *   IT_CHAINED  the head of a chained item (value larger than one chunk):
 *               header, key, the link of its first data chunk and the
 *               value's first bytes (layout under chain.c below)
 *   IT_CHUNK    a data chunk of a chained item: hnext = its head's link;
 *               its own refcount stays 0 (the head's counts for the chain).
 *               A chain frees its data chunks before its head, so a data
 *               chunk that is not free always has a head that is not free.
 */
#define IT_PLAIN 0
#define IT_CHAINED 1
#define IT_CHUNK 2
#define IT_KIND_MASK 0x03
/*
 * The rest of the kind byte belongs to the LRU (items.c), for a linked item:
 * bits 2-3 its segment (enum lru_seg), changed under the class's lru_lock;
 * IT_ACTIVE, set by a hit under the key's stripe lock alone and cleared under
 * lru_lock when the item moves. Every change is an atomic read-modify-write
 * of the byte, so the IT_* bits a page mover reads stay intact and nobody's
 * bit is lost. slab_alloc* store the whole byte (segment 0, not active).
 */
#define IT_SEG_SHIFT 2
#define IT_SEG_MASK (0x03 << IT_SEG_SHIFT)
#define IT_ACTIVE 0x10

static inline uint8_t it_kind(const item *it)
{
    return atomic_load_explicit(&((item *)it)->kind, memory_order_relaxed) & IT_KIND_MASK;
}

/* The segments of a class's LRU (memcached 1.6's "modern" LRU). In flat
 * mode every item lives in LRU_COLD, which is then the one LRU of old. */
enum lru_seg {
    LRU_HOT = 0,    /* new items, in insertion order */
    LRU_WARM,       /* items hit while in COLD (or active at HOT's tail) */
    LRU_COLD,       /* everything else; evictions come from its tail */
    LRU_TEMP,       /* items with a TTL under temporary_ttl: never bumped */
    LRU_SEGS
};

#define ITEM_HEADER_SIZE 30
_Static_assert(offsetof(struct item, data) == ITEM_HEADER_SIZE, "the header ends where data starts");
_Static_assert(sizeof(struct item) == 32, "no padding after the header's data bytes");

/*
 * References. The refcount is 16 bits. A reader's reference (a get, a
 * lookup: one per key of a multi-get, so a client controls how many) is
 * refused once the count reaches IT_REF_READER_MAX: the reader sees a miss,
 * as if the key were absent, and the count never wraps. The references the
 * store takes for itself (the link, a read-modify-write's hold on the old
 * item, a page mover's pin) are at most a few per thread at a time, and
 * take the IT_REF_RESERVE counts above the readers' cap without a check
 * (SLABS_CHECK still guards the top): -t allows 256 workers, each holding
 * at most one such reference to an item, plus the link and the pin.
 */
#define IT_REF_MAX UINT16_MAX
#define IT_REF_RESERVE 1024u
#define IT_REF_READER_MAX (IT_REF_MAX - IT_REF_RESERVE)
#define ITEM_CAS_SIZE 8
#define ITEM_FLAGS_SIZE 4

/*
 * Filters on the `kept` column of STORE_CLASS_STATS (slabs/store.h), for the
 * generators of the counter fields and their copying:
 * SLAB_STAT_IF_LRU(kept, M)(args) is M(args) on a row counted under lru_lock
 * and nothing on the others; SLAB_STAT_IF_SLAB likewise for slab_lock.
 */
#define SLAB_STAT_IF_LRU(kept, M) SLAB_STAT_KEPT_##kept(M, SLAB_STAT_SKIP, SLAB_STAT_SKIP)
#define SLAB_STAT_IF_SLAB(kept, M) SLAB_STAT_KEPT_##kept(SLAB_STAT_SKIP, M, SLAB_STAT_SKIP)
#define SLAB_STAT_KEPT_LRU_LOCK(lru, slab, read) lru
#define SLAB_STAT_KEPT_SLAB_LOCK(lru, slab, read) slab
#define SLAB_STAT_KEPT_READ(lru, slab, read) read
#define SLAB_STAT_SKIP(...)

#define SLAB_CLASS_FIELD(field, type) type field;
#define SLAB_CLASS_LRU_FIELD(field, type, kept, ...) \
    SLAB_STAT_IF_LRU(kept, SLAB_CLASS_FIELD)(field, type)
#define SLAB_CLASS_SLAB_FIELD(field, type, kept, ...) \
    SLAB_STAT_IF_SLAB(kept, SLAB_CLASS_FIELD)(field, type)

/*
 * The class locks (slab_lock and lru_lock of struct slab_class). A store
 * takes three such pairs (its chunk, its LRU link, the replaced item's
 * chunk back), and an uncontended pthread_mutex_lock/unlock pair costs some
 * 55 instructions (two calls, the mutex-type dispatch); this lock is an
 * inline compare-exchange and an exchange (issue 17). The word is
 * CLASS_MUTEX_FREE, HELD, or CONTENDED (held, and someone may sleep on it):
 * lock takes FREE -> HELD, else class_mutex_wait (slab.c) marks it CONTENDED
 * and sleeps on the word (a futex) until its exchange finds it FREE, so it
 * takes it as CONTENDED and its own unlock wakes the next sleeper (perhaps
 * none: a wake for nothing, never a lost one). unlock exchanges in FREE and
 * wakes one sleeper if it took out CONTENDED. Acquire when taken, release
 * when given back, so TSan and the compiler see the critical sections.
 * Not recursive; no condition variable waits on it.
 */
#define CLASS_MUTEX_FREE 0u
#define CLASS_MUTEX_HELD 1u
#define CLASS_MUTEX_CONTENDED 2u

struct class_mutex {
    _Atomic uint32_t word;
};

/* The slow halves of class_mutex_lock/unlock (slab.c). */
void class_mutex_wait(struct class_mutex *m);
void class_mutex_wake(struct class_mutex *m);

static inline void class_mutex_init(struct class_mutex *m)
{
    atomic_init(&m->word, CLASS_MUTEX_FREE);
}

static inline void class_mutex_lock(struct class_mutex *m)
{
    uint32_t free_word = CLASS_MUTEX_FREE;
    if (!atomic_compare_exchange_strong_explicit(&m->word, &free_word, CLASS_MUTEX_HELD,
                                                 memory_order_acquire, memory_order_relaxed))
        class_mutex_wait(m);
}

static inline void class_mutex_unlock(struct class_mutex *m)
{
    if (atomic_exchange_explicit(&m->word, CLASS_MUTEX_FREE, memory_order_release) ==
        CLASS_MUTEX_CONTENDED)
        class_mutex_wake(m);
}

struct slab_class {
    uint32_t size;              /* chunk bytes */
    uint32_t perslab;           /* chunks per page */

    struct class_mutex slab_lock;   /* free list and chunk accounting */
    ilink free_head;
    uint64_t free_count;        /* chunks on the free list */
    char *end_ptr;              /* next never-used chunk in the newest page */
    uint32_t end_left;          /* never-used chunks left in the newest page */
    uint32_t draining;          /* pages being drained (slab_free looks); in
                                 * end_left's padding: the struct keeps its size */
    uint64_t pages;             /* pages owned, a draining one included */
    STORE_CLASS_STATS(SLAB_CLASS_SLAB_FIELD)   /* used_chunks, mem_requested */

    struct class_mutex lru_lock;    /* LRU links and item counters */
    ilink lru_head[LRU_SEGS];   /* most recent of each segment */
    ilink lru_tail[LRU_SEGS];   /* least recent */
    uint64_t seg_items[LRU_SEGS];   /* items in each segment */
    uint64_t evicted_seen;          /* `evicted` at the maintainer's last step */
    STORE_CLASS_STATS(SLAB_CLASS_LRU_FIELD)    /* curr_items, evicted, ... */
    _Atomic uint64_t seg_hits[LRU_SEGS];   /* hits_to_*: counted by gets, no lock */
};

#undef SLAB_CLASS_LRU_FIELD
#undef SLAB_CLASS_SLAB_FIELD
#undef SLAB_CLASS_FIELD

/* The hash table: chains of hnext links; grows by doubling, incrementally. */
struct assoc {
    ilink *primary;         /* 2^power buckets */
    ilink *old;             /* 2^(power-1) buckets while expanding */
    unsigned power;
    _Atomic bool expanding;
    _Atomic uint64_t expand_bucket;   /* old buckets below this have moved */
    _Atomic uint64_t items;           /* linked items */
    _Atomic uint64_t grow_at;         /* start a doubling above this many */
    pthread_mutex_t expand_lock;
    pthread_mutex_t *stripes;
    uint32_t stripe_mask;
    uint64_t seed;          /* assoc_hash's key, fixed for the store's life */
    ilink *retired[HASH_POWER_MAX + 1];   /* emptied old tables, by power (assoc.c) */
};

/*
 * A page's state (page_state[]). A page is cut from the arena once (UNCUT ->
 * CLASS) and from then on is "held" (counted in pages_held, total_malloced)
 * until it is RELEASED:
 *
 *   CLASS --drain begins--> DRAINING --every chunk free--> MOVING --> CLASS (dst)
 *     ^                                                       |---> POOL
 *     +---- a class needing a page takes one from the pool ---+---> RELEASED
 *   RELEASED --a class needs a page, under the limit--> CLASS
 */
enum page_state {
    PAGE_UNCUT = 0,     /* never cut from the arena */
    PAGE_CLASS,         /* owned by page_class[p], chunks carved or free */
    PAGE_DRAINING,      /* still owned, its chunks being emptied */
    PAGE_MOVING,        /* emptied, between its old class and its next place */
    PAGE_POOL,          /* held, no class: the next class that needs one takes it */
    PAGE_RELEASED,      /* given back (MADV_DONTNEED), reusable under the limit */
};
#define PAGE_NONE UINT64_MAX
#define PAGE_STACK_END 0u   /* page_next[] and the stack tops: index + 1 */

/* Where a drained page goes: a class (1..nclasses) or one of these. */
#define MOVE_TO_POOL 0
#define MOVE_TO_RELEASE (-1)

/* The one page move in progress (mover.lock). */
struct page_move {
    bool active;
    unsigned src;           /* the class the page leaves */
    int dst;                /* class, MOVE_TO_POOL or MOVE_TO_RELEASE */
    uint64_t page;
    uint32_t carved;        /* chunks of the page ever carved: the rest never held an item */
    uint32_t cursor;        /* next chunk this pass looks at */
    uint32_t in_use;        /* chunks found not free in this pass */
    uint32_t busy;          /* of which could not be emptied (referenced, being stored) */
    unsigned passes;        /* full passes done */
};

/* What automove remembers of a class between samples (mover.lock). */
struct automove_class {
    uint64_t evictions;     /* evicted + outofmemory at the last sample */
    unsigned evicting;      /* consecutive samples with new evictions */
    unsigned calm;          /* consecutive samples without */
};

/* The mover's figures: STORE_STATS rows read from here. */
#define MOVER_COUNTERS(X)                                                   \
    X(slabs_moved)                  /* page moves finished */               \
    X(slab_reassign_rescues)        /* live items copied out of a page */   \
    X(slab_reassign_chunk_rescues)  /* data chunks copied (none yet) */     \
    X(slab_reassign_evictions_nomem) /* live items evicted: nowhere to go */\
    X(slab_reassign_inline_reclaim) /* draining chunks an allocation popped */\
    X(slab_reassign_busy_items)     /* chunks found referenced, retried */  \
    X(slab_reassign_busy_deletes)   /* referenced items unlinked after waiting */

/* Why a chunk of a page being drained was busy: slab_reassign_last_busy_status. */
enum move_busy {
    MOVE_BUSY_NONE = 0,             /* none yet */
    MOVE_BUSY_FREEING,              /* its last reference was going */
    MOVE_BUSY_FLOATING,             /* not linked: being stored, or going */
    MOVE_BUSY_ACTIVE,               /* linked and held by a reader */
    MOVE_BUSY_REASONS               /* how many */
};

struct mover {
    pthread_mutex_t lock;           /* mover.lock */
    pthread_cond_t wake;            /* an allocation needs a page, a reassign, stop */
    pthread_t thread;
    bool initialized;
    bool started;
    bool stop;
    bool page_wanted;               /* an allocation left its move to the thread */
    struct page_move move;
    _Atomic bool running;           /* move.active, for stats readers */
    _Atomic uint64_t pressure;      /* evictions + refused stores, all classes */
    uint64_t pressure_seen;         /* at automove's last sample */
    uint64_t last_sample_ms;        /* automove's last sample (monotonic) */
    _Atomic unsigned automove;      /* 0 off, 1 ours, 2 aggressive */
    struct automove_class am[CLASS_MAX + 1];
    _Atomic unsigned last_busy;     /* enum move_busy */
#define MOVER_COUNTER_FIELD(name) _Atomic uint64_t name;
    MOVER_COUNTERS(MOVER_COUNTER_FIELD)
#undef MOVER_COUNTER_FIELD
};

/* The LRU's run-time settings (`lru mode|tune|temp_ttl`, items.c) and its
 * maintainer's state. */
struct lru_state {
    _Atomic bool segmented;
    _Atomic unsigned hot_pct;           /* HOT's and WARM's share of the class's items */
    _Atomic unsigned warm_pct;
    _Atomic double hot_max_factor;      /* HOT's and WARM's tail age limits, as */
    _Atomic double warm_max_factor;     /* factors of COLD's tail age */
    _Atomic int64_t temp_ttl;           /* TTLs under this go to TEMP; < 0: no TEMP */
    _Atomic uint64_t juggles;           /* maintainer steps that moved or freed items */
    unsigned idle_ms;                   /* the maintainer's next sleep (its thread only) */
};

/* The LRU crawler (crawler.c). admin_lock serializes enable/disable; lock
 * guards the thread's state and requests. Neither is held with another lock
 * of the store, nor taken while one is held. */
struct crawler {
    pthread_mutex_t admin_lock;
    pthread_mutex_t lock;
    pthread_cond_t wake;            /* a crawl is asked, stop */
    pthread_t thread;
    bool initialized;
    bool started;
    bool stop;
    bool asked;                     /* want holds a crawl to run */
    struct store_class_set want;
    uint32_t want_tocrawl;
    _Atomic bool stopping;          /* stop, for a crawl in progress */
    _Atomic bool enabled;
    _Atomic bool running;
    _Atomic rel_time_t soonest;     /* earliest exptime that may be linked */
    rel_time_t not_before;          /* no scheduled crawl before (the thread's) */
    _Atomic uint32_t sleep_us;      /* pause between batches */
    _Atomic uint32_t tocrawl;       /* items per class per asked crawl; 0 = all */
    _Atomic uint64_t starts;
    _Atomic uint64_t reclaimed[CLASS_MAX + 1];
    _Atomic uint64_t items_checked[CLASS_MAX + 1];
};

/* The memory file of -e (restart.c). The file is a header region (struct
 * warm_meta and the page table, restart.c) followed by the arena. */
#define WARM_NOTE_MAX 256
struct warm_meta;
struct warm {
    int fd;                     /* -1: no memory file */
    char *map;                  /* the whole file, mapped shared */
    uint64_t map_size;
    uint64_t region;            /* header region bytes: the arena is map + region */
    enum store_warm status;
    struct warm_meta *saved;    /* a checked copy of the saved header region
                                 * while it waits for warm_resume; else NULL */
    char note[WARM_NOTE_MAX];
};

/* The run-time class table switch (slab_retune, mover.c): mover.lock
 * guards the writes; stats read the atomics. */
struct retune {
    _Atomic uint64_t count;         /* switches done */
    _Atomic uint64_t last;          /* unix time of the last one; 0 = none */
    _Atomic uint64_t waste_before_bp;   /* the advisor's waste of the old table, */
    _Atomic uint64_t waste_after_bp;    /* and of the new one, in 1/100 % */
    rel_time_t checked;             /* the auto trigger's last look (clock_now) */
};

/* slab_class_for's table (struct store.class_hint): one slot per chunk
 * alignment step, as class sizes are multiples of it, up to the sizes most
 * items have; larger ones take the binary search. */
#define CLASS_HINT_STEP CHUNK_ALIGN
#define CLASS_HINT_MAX (16 * 1024)
#define CLASS_HINT_SLOTS (CLASS_HINT_MAX / CLASS_HINT_STEP)
_Static_assert(CLASS_MAX <= UINT8_MAX, "a class id fits a hint slot");

/* Flush state, packed so the get path reads it with one atomic load:
 * bits 1.. = the flush moment (relative time), bit 0 = "items stored in that
 * very second are flushed too" (immediate flush without CAS). 0 = none. */
#define FLUSH_INCLUSIVE 1u

/*
 * The size histogram (sizes.c). Each cell packs a bucket's item count (bits
 * SIZES_COUNT_SHIFT..63) and its slack, the bytes between each item's size
 * and its bucket's upper bound (bits 0..SIZES_COUNT_SHIFT-1, fine buckets
 * only), so that a link or an unlink is one relaxed atomic add. Both parts
 * are exact modulo 2^64 whatever the order of adds and subtractions: at most
 * 2^30 items (32 GB of 32-byte chunks) and 7 bytes of slack each fit.
 * Sharded by key hash so that threads storing same-sized items on other keys
 * rarely share a cache line; a key's link and unlink meet the same shard.
 */
#define SIZES_SHARDS 8
#define SIZES_COUNT_SHIFT 34
struct sizes_hist {
    _Atomic uint64_t cell[SIZES_SHARDS][STORE_SIZES_BUCKETS];
};

struct store {
    struct store_config cfg;
    char *arena;
    uint64_t arena_size;        /* reserved bytes (a multiple of page_size) */
    uint64_t pages_reserved;
    pthread_mutex_t page_lock;
    _Atomic uint64_t pages_used;
    _Atomic uint64_t mem_limit;
    uint8_t *page_class;        /* class of each page that has one */
    uint8_t *page_state;        /* enum page_state of each page */
    uint32_t *page_next;        /* the pool and released stacks (page_lock) */
    uint32_t pool_top;          /* index + 1 of the pool's top page (page_lock) */
    uint32_t released_top;      /* the same for released pages */
    _Atomic uint64_t pages_held;    /* pages not RELEASED nor UNCUT */
    _Atomic uint64_t pool_pages;    /* pages in the pool */
    struct mover mover;
    struct lru_state lru;
    struct crawler crawler;
    struct warm warm;
    struct sizes_hist sizes;

    /* The class ids in use, packed so one load sees a consistent pair:
     * bits 0-15 the first live class, bits 16-31 the last (= every id in
     * use, retired ones below the first live). Ids are appended only, and
     * a class keeps its size while any item of it lives (slab_retune). */
    _Atomic uint32_t class_range;
    struct slab_class classes[CLASS_MAX + 1];   /* [0] unused */
    /* slab_class_for's guess of the live class for each CLASS_HINT_STEP
     * bytes up to CLASS_HINT_MAX, rebuilt after each table switch (under
     * mover.lock, or before other threads run): a hint only, checked against the live range and sizes before it is used
     * (slab.c), so one read while it is rebuilt costs a search, never a
     * wrong class. */
    _Atomic uint8_t class_hint[CLASS_HINT_SLOTS];
    struct retune retune;
    size_t hdr_base;            /* 32, or 40 with CAS */

    struct assoc assoc;
    _Atomic uint64_t cas_seq;   /* last CAS handed out */
    _Atomic uint64_t flush_word;
    _Atomic uint64_t oldest_cas;  /* items with a smaller CAS are flushed; 0 = none */
    /* When oldest_cas was set: an item with a smaller CAS that a client chose
     * (meta E) after that flush was stored later, so it is not flushed. */
    _Atomic rel_time_t oldest_cas_at;
};

/* ---- item layout ---- */
static inline uint8_t iflags_get(const item *it)
{
    return atomic_load_explicit(&((item *)it)->iflags, memory_order_relaxed);
}

/* Where the key starts: after the header, the CAS and the flags it has. */
static inline char *it_after_header(const item *it)
{
    char *p = (char *)it + ITEM_HEADER_SIZE;
    uint8_t f = iflags_get(it);
    if (f & ITEM_HAS_CAS)
        p += ITEM_CAS_SIZE;
    if (f & ITEM_HAS_FLAGS)
        p += ITEM_FLAGS_SIZE;
    return p;
}

/* ---- links ---- */
static inline item *it_at(const store *s, ilink l)
{
    return l == LINK_NONE ? NULL
                          : (item *)(s->arena + ((uint64_t)(l - 1) << LINK_SHIFT));
}

static inline ilink it_link_of(const store *s, const item *it)
{
    return it == NULL ? LINK_NONE
                      : (ilink)((((const char *)it - s->arena) >> LINK_SHIFT) + 1);
}

/* ---- lists of items through prev/next: the LRUs and the free lists ----
 * head is the first link; tail the last, or NULL for a list that keeps
 * none (a free list). The caller holds the list's lock. */
static inline void ilist_push_head(store *s, ilink *head, ilink *tail, item *it)
{
    ilink l = it_link_of(s, it);
    it->prev = LINK_NONE;
    it->next = *head;
    if (*head != LINK_NONE)
        it_at(s, *head)->prev = l;
    *head = l;
    if (tail != NULL && *tail == LINK_NONE)
        *tail = l;
}

static inline void ilist_remove(store *s, ilink *head, ilink *tail, item *it)
{
    if (it->prev != LINK_NONE)
        it_at(s, it->prev)->next = it->next;
    else
        *head = it->next;
    if (it->next != LINK_NONE)
        it_at(s, it->next)->prev = it->prev;
    else if (tail != NULL)
        *tail = it->prev;
    it->prev = it->next = LINK_NONE;
}

/* ---- the class range ---- */
#define CLASS_RANGE_SHIFT 16
#define CLASS_RANGE_MASK 0xffffu
/* Every class id in use: 1..slab_nclasses, live and retired. The last is
 * the largest live class (chunk_max). Any lock or none. */
static inline unsigned slab_nclasses(const store *s)
{
    uint32_t r = atomic_load_explicit(&((store *)s)->class_range, memory_order_acquire);
    return r >> CLASS_RANGE_SHIFT;
}
/* The first live class: ids below it are retired (they take no new pages
 * and the mover drains them). */
static inline unsigned slab_live_first(const store *s)
{
    uint32_t r = atomic_load_explicit(&((store *)s)->class_range, memory_order_acquire);
    return r & CLASS_RANGE_MASK;
}
/* The live classes first..last of one table (one load). */
static inline void slab_live_range(const store *s, unsigned *first, unsigned *last)
{
    uint32_t r = atomic_load_explicit(&((store *)s)->class_range, memory_order_acquire);
    *first = r & CLASS_RANGE_MASK;
    *last = r >> CLASS_RANGE_SHIFT;
}
static inline bool slab_class_retired(const store *s, unsigned cls)
{
    return cls < slab_live_first(s);
}

/* ---- slab.c ---- */
/* Appends the classes sizes[0..n-1] (ascending, the last = chunk_max) and
 * makes them the live table; the old live classes retire. mover.lock held
 * (retunes are serialized); false when the ids would pass CLASS_MAX. */
bool slab_classes_append(store *s, const uint32_t *sizes, unsigned n);
/* restart.c: the table a store saved after retunes: ids past today's table
 * get sizes[id], and live_first..nclasses is the live table again. Before
 * any other thread runs. */
void slab_resume_classes(store *s, const uint32_t *sizes, unsigned nclasses,
                         unsigned live_first);
int slab_classes_init(store *s, char *err, size_t errlen);
int slab_arena_init(store *s, char *err, size_t errlen);
void slab_arena_destroy(store *s);
unsigned slab_class_for(const store *s, size_t nbytes);
/* A fresh chunk of class cls accounted for nbytes, or NULL if none is free and
 * no page can be had. Comes back with refcount 1, iflags 0, kind IT_PLAIN,
 * cls set (under the slab_lock, for a page mover's sake). */
item *slab_alloc(store *s, unsigned cls, size_t nbytes);
/* The same for a data chunk of the chained item whose head is `head`:
 * refcount 0, iflags 0, kind IT_CHUNK, hnext = head. */
item *slab_alloc_chunk(store *s, unsigned cls, size_t nbytes, ilink head);
/* The same for the head of a chained item: as slab_alloc, kind IT_CHAINED. */
item *slab_alloc_head(store *s, unsigned cls, size_t nbytes);
void slab_free(store *s, item *it, size_t nbytes);
/* A chunk changes hands without being freed (eviction, reclaim). */
void slab_account_reuse(store *s, unsigned cls, size_t old_nbytes, size_t new_nbytes);
void slab_prealloc(store *s);

/* For the mover (mover.c). No lock held unless named. */
static inline uint64_t slab_page_of(const store *s, const void *p)
{
    return (uint64_t)((const char *)p - s->arena) / s->cfg.page_size;
}
/* The page of cls with the fewest chunks in use (estimated), or PAGE_NONE. */
uint64_t slab_page_emptiest(store *s, unsigned cls);
/* Starts draining page pg of cls: its carving stops, its free chunks will
 * leave the free list as the scan meets them. Returns the chunks carved. */
uint32_t slab_drain_begin(store *s, unsigned cls, uint64_t pg);
/* Looks at chunks [m->cursor, m->cursor + max) of the draining page under
 * the class's slab_lock: free ones leave the free list, the owners of used
 * ones are pinned into pinned[] (see it_try_pin). Advances m->cursor and
 * m->in_use; returns how many were pinned. */
unsigned slab_drain_scan(store *s, struct page_move *m, item **pinned, unsigned max);
/* A free chunk of cls outside any draining page, without taking a new page,
 * set up as slab_alloc's; NULL if none. *page_reclaims counts chunks of a
 * draining page it met on the free list (and took off it). */
item *slab_alloc_spare(store *s, unsigned cls, size_t nbytes, uint64_t *page_reclaims);
/* The drained page pg leaves cls (every chunk free): PAGE_MOVING. */
void slab_drain_finish(store *s, unsigned cls, uint64_t pg);
/* A MOVING page goes to dst (a class, MOVE_TO_POOL, MOVE_TO_RELEASE); above
 * the limit it is released whatever dst says. */
void slab_page_place(store *s, uint64_t pg, int dst);
/* A page from the pool, now MOVING, or PAGE_NONE. */
uint64_t slab_pool_take(store *s);
/* Releases pool pages while more pages are held than the limit allows;
 * returns how many pages are still over it. */
uint64_t slab_trim_pool(store *s);
/* Pages held above the limit (0 when within it). */
uint64_t slab_pages_over_limit(store *s);

/* restart.c's resume, before any other thread runs (no lock needed, the
 * locks are taken anyway for the SLABS_DEBUG checks): */
/* Page pg (< used) as saved: its class for PAGE_CLASS/DRAINING (a draining
 * page is a class page again), the pool for MOVING/POOL, else released. */
void slab_resume_page(store *s, uint64_t pg, unsigned cls, uint8_t state);
/* Class cls still had end_left chunks never carved in page pg. */
void slab_resume_carve(store *s, unsigned cls, uint64_t pg, uint32_t end_left);
/* Chunks of page pg ever carved (the rest hold leftovers of its past). */
uint32_t slab_page_carved(const store *s, uint64_t pg, unsigned cls);
/* A chunk of a resumed page kept with nbytes in use / made free. */
void slab_resume_used(store *s, item *it, size_t nbytes);
void slab_resume_free(store *s, item *it);

/* The geometric class table of -n chunk_min and -f factor (sizes ascending,
 * chunk_max last): its class count, or 0 when it needs more than CLASS_MAX. */
unsigned slab_geometric_table(size_t hdr_base, uint32_t chunk_min, double factor,
                              uint32_t chunk_max, uint32_t sizes[CLASS_MAX]);

/* ---- advisor.c: pure functions of a histogram (no store) ---- */
struct adv_geometric {
    double factor;            /* -f */
    uint32_t chunk_min;       /* -n */
    struct store_table_cost result;
};
/* The cost of the table sizes[0..n-1] (ascending, the last = chunk_max).
 * false when out of memory. */
bool adv_eval(const struct store_sizes *h, const uint32_t *sizes, unsigned n,
              uint32_t page_size, uint64_t mem_limit, struct store_table_cost *out);
/* The least-waste table of at most max_classes classes ending in chunk_max,
 * each size >= min_size and more than 8 above the previous: its class
 * count (sizes written), or 0 when out of memory. */
unsigned adv_best_free(const struct store_sizes *h, unsigned max_classes, uint32_t min_size,
                       uint32_t chunk_max, uint32_t sizes[CLASS_MAX]);
/* The least-waste geometric table (-f, -n); false when out of memory. */
bool adv_best_geometric(const struct store_sizes *h, size_t hdr_base, uint32_t chunk_max,
                        uint32_t page_size, uint64_t mem_limit, struct adv_geometric *out);

/* ---- mover.c ---- */
int mover_init(store *s);
void mover_destroy(store *s);   /* stops the thread if started */
void mover_stop(store *s);      /* stops the thread if started; can start again */
/* A page for class cls when it has no page and none can be cut: runs a
 * bounded part of a move from the class whose tail is oldest (or the move in
 * progress). true when a page came free (retry slab_alloc). No lock held. */
bool mover_page_for(store *s, unsigned cls);
/* The ranges of automove's tuning (store_create and store_set_automove_tuning). */
bool automove_tuning_ok(const struct store_automove_tuning *t, char *err, size_t errlen);
/* One bounded piece of background work (the thread's loop body): a step of
 * the move in progress, else a limit trim, else an automove decision.
 * Returns true while there is more to do right away. No lock held. */
bool mover_work(store *s);
/* A condition variable on the monotonic clock, and a bounded wait on it with
 * m held (the mover's and the crawler's threads sleep so). */
int mover_cond_init(pthread_cond_t *cv);
void mover_cond_wait_ms(pthread_cond_t *cv, pthread_mutex_t *m, long ms);
/* Wakes the mover thread (a page is wanted, the limit fell). No lock held. */
void mover_wake(store *s);
/* Counts an eviction or a refused store, so that automove samples the
 * classes only when memory is short. */
static inline void mover_note_pressure(store *s)
{
    atomic_fetch_add_explicit(&s->mover.pressure, 1, memory_order_relaxed);
}
/* The mover's rows of STORE_STATS. */
void mover_stats(store *s, struct store_stats *out);
/* Notes why the last busy chunk of a page being drained was busy. */
static inline void mover_note_busy(store *s, enum move_busy why)
{
    atomic_store_explicit(&s->mover.last_busy, (unsigned)why, memory_order_relaxed);
}

/* ---- sizes.c ---- */
/* The bucket of nbytes (>= 1): STORE_SIZES_STEP-wide up to the fine limit,
 * then STORE_SIZES_SUBS per doubling. Inline: every link and unlink pays it. */
static inline unsigned sizes_bucket_of(uint64_t nbytes)
{
    uint64_t x = nbytes - 1;
    if (nbytes <= STORE_SIZES_FINE_MAX)
        return (unsigned)(x / STORE_SIZES_STEP);
    unsigned log2 = 63u - (unsigned)__builtin_clzll(x);
    if (log2 >= STORE_SIZES_TOP_LOG2)
        return STORE_SIZES_BUCKETS - 1;
    unsigned sub = (unsigned)((x - (1ull << log2)) >> (log2 - STORE_SIZES_SUBS_LOG2));
    return STORE_SIZES_FINE_BUCKETS + (log2 - STORE_SIZES_FINE_LOG2) * STORE_SIZES_SUBS + sub;
}
/* An item's histogram cell value (count 1 and its slack) and bucket. */
static inline uint64_t sizes_cell_of(const item *it, unsigned *bucket)
{
    uint64_t need = (uint64_t)(it_after_header(it) - (const char *)it) + it->nkey + it->nvalue;
    unsigned b = sizes_bucket_of(need);
    uint64_t slack = need <= STORE_SIZES_FINE_MAX ? (uint64_t)(b + 1) * STORE_SIZES_STEP - need : 0;
    *bucket = b;
    return ((uint64_t)1 << SIZES_COUNT_SHIFT) | slack;
}
static inline _Atomic uint64_t *sizes_cell(store *s, uint64_t hv, unsigned b)
{
    return &s->sizes.cell[(hv >> 32) & (SIZES_SHARDS - 1)][b];
}
/* Counts a linked item in (add) or out of the histogram. The key's stripe
 * lock held (hv is the key's hash). */
static inline void sizes_note_locked(store *s, const item *it, uint64_t hv, bool add)
{
    unsigned b;
    uint64_t cell = sizes_cell_of(it, &b);
    if (add)
        atomic_fetch_add_explicit(sizes_cell(s, hv, b), cell, memory_order_relaxed);
    else
        atomic_fetch_sub_explicit(sizes_cell(s, hv, b), cell, memory_order_relaxed);
}
/* What an item's size depends on besides its key and value lengths. */
#define ITEM_LAYOUT_FLAGS (ITEM_HAS_CAS | ITEM_HAS_FLAGS)

/* old leaves the histogram and fresh joins it under the same key: nothing
 * to write when both need the same bytes (the common overwrite), which the
 * lengths and layout flags tell before any cell is worked out. */
static inline void sizes_replace_locked(store *s, const item *old, const item *fresh,
                                        uint64_t hv)
{
    if (old->nkey == fresh->nkey && old->nvalue == fresh->nvalue &&
        ((iflags_get(old) ^ iflags_get(fresh)) & ITEM_LAYOUT_FLAGS) == 0)
        return;
    unsigned bo, bf;
    uint64_t co = sizes_cell_of(old, &bo), cf = sizes_cell_of(fresh, &bf);
    if (bo == bf && co == cf)
        return;
    atomic_fetch_sub_explicit(sizes_cell(s, hv, bo), co, memory_order_relaxed);
    atomic_fetch_add_explicit(sizes_cell(s, hv, bf), cf, memory_order_relaxed);
}

/* ---- crawler.c ---- */
int crawler_init(store *s);
void crawler_destroy(store *s);   /* stops the thread if started */
void crawler_stop(store *s);      /* stops the thread if started; can start again */
/* Starts the thread if enabled and not running. No lock held. */
int crawler_start(store *s, char *err, size_t errlen);
/* An item may expire at exptime (0: never): the schedule crawls then. Any
 * lock. Inline: the set path pays a load and a compare. */
static inline void crawler_note_exptime(store *s, rel_time_t exptime)
{
    if (exptime == 0)
        return;   /* never expires: the common case costs one compare */
    _Atomic rel_time_t *soonest = &s->crawler.soonest;
    rel_time_t cur = atomic_load_explicit(soonest, memory_order_relaxed);
    while (exptime < cur &&
           !atomic_compare_exchange_weak_explicit(soonest, &cur, exptime, memory_order_relaxed,
                                                  memory_order_relaxed))
        ;
}
/* flush_all happened: crawl every class now. No lock held. */
void crawler_flushed(store *s);
void crawler_class_stats(store *s, unsigned cls, struct store_class_stats *out);
void crawler_stats(store *s, struct store_stats *out);

/* ---- restart.c ---- */
/* slab_arena_init with a memory file: maps it (arena_bytes after the
 * header region), checks what it saved. */
int warm_map(store *s, uint64_t arena_bytes, char *err, size_t errlen);
void warm_unmap(store *s);
/* The hash power a resumed store starts with (at least want). */
unsigned warm_hash_power(const store *s, unsigned want);
/* The end of store_create: brings a checked saved state back. */
void warm_resume(store *s);

/* ---- assoc.c ---- */
uint64_t assoc_hash(uint64_t seed, const char *key, size_t nkey);
/*
 * Hints for batched lookups (store_prefetch_batch), with
 * no lock (assoc.c's top comment: why the unlocked reads are safe). The
 * bucket of hv in the current table: power is read before the table, so the
 * bucket is always within the table read, which the store never frees. A
 * key whose bucket is still in the old table of a growth only gets a useless
 * prefetch.
 */
static inline ilink *assoc_bucket_unlocked(store *s, uint64_t hv)
{
    struct assoc *a = &s->assoc;
    unsigned power = __atomic_load_n(&a->power, __ATOMIC_ACQUIRE);
    ilink *table = __atomic_load_n(&a->primary, __ATOMIC_ACQUIRE);
    return &table[hv & (((uint64_t)1 << power) - 1)];
}

/* Starts loading hv's bucket, and the line of its stripe lock (which the
 * lookup then writes), into the cache. */
static inline void assoc_prefetch(store *s, uint64_t hv)
{
    __builtin_prefetch(assoc_bucket_unlocked(s, hv));
    __builtin_prefetch(&s->assoc.stripes[hv & s->assoc.stripe_mask], 1);
}

/*
 * The bytes of an item a hit reads first: the header, the key and a short
 * value (what a 32-byte value with a 16-byte key needs), on at most three
 * cache lines wherever the chunk starts.
 */
#define ITEM_PREFETCH_SPAN 128
#define CACHE_LINE 64

/*
 * Reads the lines of the first ITEM_PREFETCH_SPAN bytes of the item at link
 * l, with no lock, and returns its hnext: the next item of its chain. Demand
 * reads rather than prefetch instructions: on the benchmark machine (AMD
 * EPYC, get depth 32) prefetcht0 of the same lines left 28% of the server's
 * samples on the first header read of each lookup, as if not issued; plain
 * reads, which out-of-order execution overlaps across the keys of a step,
 * left 12%, and gets/s rose from 1.41M to 1.91M.
 *
 * A hint: the item may be unlinked, freed or its chunk reused by another
 * class meanwhile, so the bytes read may be anything, and l itself may be
 * such bytes. Hence a link whose span would end outside the arena is not
 * followed (LINK_NONE), and nothing but further reads of this kind is
 * decided on what is read. The arena stays mapped while the store lives
 * (and a memory file is exactly arena_size long), so every read is of
 * mapped memory. ThreadSanitizer would rightly see races with whoever
 * writes those bytes: the function is left out of its instrumentation.
 */
SLABS_NO_TSAN
static inline ilink assoc_touch_item(const store *s, ilink l)
{
    uint64_t off = (uint64_t)(l - 1) << LINK_SHIFT;
    if (l == LINK_NONE || off > s->arena_size - ITEM_PREFETCH_SPAN)
        return LINK_NONE;
    const volatile char *p = s->arena + off;
    (void)p[CACHE_LINE];
    (void)p[ITEM_PREFETCH_SPAN - 1];
    return __atomic_load_n(&((const item *)(s->arena + off))->hnext, __ATOMIC_RELAXED);
}

/* The first item of hv's chain, read in (best after assoc_prefetch brought
 * the bucket in); returns its hnext. */
static inline ilink assoc_touch_first(store *s, uint64_t hv)
{
    return assoc_touch_item(s, __atomic_load_n(assoc_bucket_unlocked(s, hv), __ATOMIC_RELAXED));
}
bool assoc_random_seed(uint64_t *seed);
int assoc_init(store *s, unsigned power, uint64_t seed);
void assoc_destroy(store *s);
/* The key's stripe lock held: */
item *assoc_find_locked(store *s, const char *key, size_t nkey, uint64_t hv);
void assoc_insert_locked(store *s, item *it, uint64_t hv);
void assoc_delete_locked(store *s, item *it, uint64_t hv);
/* Growth: starts one when the table is too full, moves a few buckets of an
 * ongoing one. Call with no stripe lock held. */
void assoc_maintain(store *s, unsigned buckets);
/* Whether assoc_maintain has anything to do: a growth due or under way.
 * Inline, as every write asks it first; assoc_maintain asks it too, for the
 * maintainer's calls. */
static inline bool assoc_maintain_due(store *s)
{
    struct assoc *a = &s->assoc;
    return atomic_load_explicit(&a->expanding, memory_order_relaxed) ||
           atomic_load_explicit(&a->items, memory_order_relaxed) >
               atomic_load_explicit(&a->grow_at, memory_order_relaxed);
}
unsigned assoc_power(store *s);
bool assoc_expanding(store *s);
/*
 * A walk over every linked item, a few buckets at a time (assoc.c's top
 * comment says why an item linked throughout is met exactly once despite
 * growth). Zero a cursor (struct store_walk) to start. fn runs under the item's stripe lock and
 * may unlink that item (it_unlink_locked); it must not take another stripe.
 * Visits up to `buckets` buckets, every lock let go on return; false once
 * the whole table is done. No lock held.
 */
typedef void (*assoc_visit_fn)(store *s, item *it, void *arg);
bool assoc_walk(store *s, struct store_walk *cur, unsigned buckets, assoc_visit_fn fn,
                void *arg);

/* A key store.h accepts: 1..KEY_MAX_LENGTH bytes. */
static inline bool key_ok(size_t nkey)
{
    return nkey >= 1 && nkey <= KEY_MAX_LENGTH;
}

/* ---- the key lock ----
 * A keyed operation hashes its key once and works under the key's stripe
 * lock; a retry loop locks and unlocks the same key_lock as often as it
 * needs. Inline: the get path pays nothing over the open-coded version. */
struct key_lock {
    uint64_t hv;                /* assoc_hash of the key */
    pthread_mutex_t *stripe;    /* the stripe (item lock) of its buckets */
};

/* The stripe of a key whose hash is hv; does not lock. */
static inline struct key_lock key_lock_hashed(store *s, uint64_t hv)
{
    return (struct key_lock){ hv, &s->assoc.stripes[hv & s->assoc.stripe_mask] };
}

/* The hash and stripe of key; does not lock. */
static inline struct key_lock key_lock_for(store *s, const char *key, size_t nkey)
{
    return key_lock_hashed(s, assoc_hash(s->assoc.seed, key, nkey));
}

static inline void key_lock(const struct key_lock *k)
{
    pthread_mutex_lock(k->stripe);
}

/* For callers already holding a lock to the right of the stripes. */
static inline bool key_trylock(const struct key_lock *k)
{
    return pthread_mutex_trylock(k->stripe) == 0;
}

static inline void key_unlock(const struct key_lock *k)
{
    pthread_mutex_unlock(k->stripe);
}

/* ---- items.c ---- */
size_t it_total_size(const store *s, const item *it);
/* `watch evictions`: a line for it, evicted at now (call when logger_wants
 * LOGGER_EVICTIONS). Any lock: the logger's ring lock is a leaf. */
void it_log_eviction(const item *it, rel_time_t now);
void it_set_cas(const store *s, item *it, uint64_t cas);
uint64_t it_next_cas(store *s);
bool it_is_dead(store *s, item *it, rel_time_t now, enum store_miss *why);
/* A reference the store takes for itself (IT_REF_RESERVE above). */
void it_ref(item *it);
/* A reader's reference on a linked item, under its stripe lock: false (no
 * reference taken) once IT_REF_READER_MAX are held. Inline: every get takes
 * one. A compare-exchange, not an add then an undo: the count must never
 * pass the cap even for a moment, since a mover pinning meanwhile (without
 * the stripe lock) would read it. Only the unlocked pin and releases race
 * with it, so the loop is short. */
static inline bool it_try_ref(item *it)
{
    uint16_t r = atomic_load_explicit(&it->refcount, memory_order_relaxed);
    do {
        SLABS_CHECK(r != 0);      /* a linked item has its link's reference */
        if (r >= IT_REF_READER_MAX)
            return false;
    } while (!atomic_compare_exchange_weak_explicit(&it->refcount, &r, (uint16_t)(r + 1),
                                                    memory_order_relaxed, memory_order_relaxed));
    return true;
}
void it_unref(store *s, item *it);
/* Takes a reference on an item that may be unheld, for the mover: only if
 * its refcount is not 0 (0 = being freed) nor at IT_REF_READER_MAX (the
 * item is busy then, as when a reader holds it). Called under the slab_lock of
 * the class of the chunk being looked at, which keeps that chunk (and so a
 * data chunk's head) from being freed meanwhile. */
bool it_try_pin(item *it);
/* Copies a linked plain item into fresh (a chunk of its class from
 * slab_alloc_spare, or of a live class that fits it when its own is retired)
 * and puts fresh in its place in the hash chain and LRU (CAS kept);
 * the old item loses its link reference. The key's stripe lock held. */
void it_rescue_locked(store *s, item *old, item *fresh, uint64_t hv);
/* The age of cls's oldest LRU tail in seconds; UINT32_MAX when its LRU is
 * empty and no chunk is in use (its pages hold nothing, the best to take);
 * 0 when only chains' data chunks are (their age is their heads'). Takes
 * lru_lock, then slab_lock. */
rel_time_t lru_tail_age(store *s, unsigned cls);
/* Fills a fresh chunk's header and key (kind set by slab_alloc*): refcount 1, unlinked. */
void it_init(store *s, item *it, unsigned cls, const char *key, size_t nkey,
             uint32_t flags, rel_time_t exptime, uint32_t nvalue);
/* Header + flags + key + value bytes of an item that fits one chunk. */
size_t it_size_for(const store *s, size_t nkey, uint32_t flags, size_t nvalue);
/* The key's stripe lock held (it->cls's lru_lock is taken inside): */
void it_link_locked(store *s, item *it, uint64_t hv);
void it_unlink_locked(store *s, item *it, uint64_t hv);
void it_replace_locked(store *s, item *old, item *it, uint64_t hv);
/* The same with the CAS the client chose (cas NULL: the next one). */
void it_link_cas_locked(store *s, item *it, uint64_t hv, const uint64_t *cas);
void it_replace_cas_locked(store *s, item *old, item *it, uint64_t hv, const uint64_t *cas);
/* A resumed item (restart.c) goes back into the hash table and into the
 * LRU segment it was in (COLD when the LRU is flat), keeping its CAS and
 * times: refcount 1, LINKED. */
void it_resume_link_locked(store *s, item *it, uint64_t hv);
void it_bump_locked(store *s, item *it, rel_time_t now);
/* The rest of it_hit_locked, for a hit that changes something. */
void it_hit_slow_locked(store *s, item *it, uint8_t iflags_before, uint8_t kind);
/* A hit: counted in hits_to_<its segment>; marks it fetched, then as
 * memcached 1.6: segmented, a second hit sets IT_ACTIVE (one atomic or, no
 * lru_lock); flat, it_bump_locked. Inline, as the get path's common case
 * (fetched, active) only reads the item. The key's stripe lock held. */
static inline void it_hit_locked(store *s, item *it)
{
    uint8_t before = iflags_get(it);
    uint8_t kind = atomic_load_explicit(&it->kind, memory_order_relaxed);
    unsigned seg = (kind & IT_SEG_MASK) >> IT_SEG_SHIFT;
    atomic_fetch_add_explicit(&s->classes[it->cls].seg_hits[seg], 1, memory_order_relaxed);
    if ((before & ITEM_FETCHED) && (kind & IT_ACTIVE) &&
        atomic_load_explicit(&s->lru.segmented, memory_order_relaxed))
        return;
    it_hit_slow_locked(s, it, before, kind);
}
/*
 * A new item for key with room for nvalue bytes (exptime already relative),
 * unlinked, refcount 1: reclaim a dead item at the LRU tail, else a free
 * chunk or a new page, else evict. NULL with *why (if not NULL) =
 * STORE_TOO_LARGE or STORE_NO_MEMORY (counted). No stripe lock held.
 */
item *it_alloc(store *s, const char *key, size_t nkey, uint32_t flags, rel_time_t exptime,
               size_t nvalue, enum store_result *why);
void lru_stats(store *s, unsigned cls, struct store_class_stats *out);
void lru_init(store *s);
/* One bounded step of the LRU maintainer over every class: juggles the
 * segments and frees dead items met at the tails. Returns how long the
 * caller may sleep (ms) before the next step: a short while after a step
 * that moved or freed items, twice as long as last time (up to a second)
 * after one that found nothing. Called by one thread at a time (the mover
 * thread, or a test); no lock held. */
long lru_maintain(store *s);
uint64_t lru_juggles(store *s);   /* STORE_STATS lru_maintainer_juggles */
/* Unlinks an item near cls's LRU tail that nobody holds: a dead one, or with
 * evict (and not no_evict) a live one; counted as reclaimed or evicted.
 * Returns it with refcount 1 (the caller's), or NULL. No stripe lock held. */
item *lru_take_tail(store *s, unsigned cls, bool evict);

/* ---- chain.c: chained items ----
 *
 * An item whose header + key + value exceed the largest class (chunk_max) is
 * a chain. Its head is a whole chunk of the largest class, linked in that
 * class's hash and LRU like any item (kind IT_CHAINED):
 *
 *   head:  | header | CAS | flags | key | first data link (4) | segment 0 ... |
 *   data:  | header (next = next data link, hnext = head, nvalue = bytes) | bytes |
 *
 * Data chunks are of the largest class except the last, which is the
 * smallest class that fits its bytes; each chunk's bytes (header included)
 * are accounted in its own class's mem_requested. Heads live in the largest
 * class so that evicting there frees whole chains, which is where chains
 * take most of their memory. The head's nvalue is the whole value's length.
 *
 * A spilled chain (chain_spill: memory full and the item's own class has no
 * chunk to give) is made of chunks that were free in any classes, head
 * included, so its segments have any sizes; segment 0 may then hold the
 * whole value (no data chunk). Everything above reads chunks' own sizes, so
 * both kinds are handled alike.
 */
#define CHAIN_LINK_SIZE sizeof(ilink)

/* Whether an item of nbytes (it_size_for) must be chained. */
static inline bool chain_needed(const store *s, size_t nbytes)
{
    return nbytes > s->classes[slab_nclasses(s)].size;
}
/* it_alloc for a chained item: same contract. */
item *chain_alloc(store *s, const char *key, size_t nkey, uint32_t flags, rel_time_t exptime,
                  size_t nvalue, enum store_result *why);
/* it_alloc's last resort (no chunk of its class to be had): the item as a
 * chain of chunks already free in any classes, evicting nothing; NULL if
 * there are not enough (not counted). */
item *chain_spill(store *s, const char *key, size_t nkey, uint32_t flags, rel_time_t exptime,
                  size_t nvalue);
/* Frees a chain's data chunks (first to last); the head's chunk is the caller's to free. */
void chain_free_data(store *s, item *head);
/* Bytes of the head's chunk / of all the chain's chunks, as accounted in
 * mem_requested. */
size_t chain_head_size(const store *s, const item *head);
size_t chain_total_size(const store *s, const item *head);

#endif
