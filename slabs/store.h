/*
 * store: the public interface of slabs/, the storage engine.
 *
 * Owns all cache memory: pages carved into chunk classes, items in chunks, the
 * hash table, the per-class LRUs, expiry, eviction and the memory statistics.
 * Knows nothing of sockets or protocols and never formats text.
 *
 * Callers: protocol/ (request processing) and server/ (start-up, stats,
 * maintenance timer). Any number of threads may call any function at once,
 * except store_create/store_destroy.
 *
 * Item references: every function that returns an `item *` returns it with a
 * reference held for the caller; the caller must hand it back exactly once,
 * with store_release() (or store_commit(), which consumes it). While the
 * reference is held the item's key, value and metadata stay readable and do
 * not change, even if another thread replaces or deletes the key: a value can
 * be written to a socket straight from item memory.
 *
 * Locking (details in slabs/internal.h): the page mover's lock -> item
 * locks striped by key hash -> per-class LRU lock -> slab (page/chunk)
 * lock. No global lock is taken on the get path. Pages move between
 * classes in the background (store_start_background), never stopping it.
 */
#ifndef SLABS_STORE_H
#define SLABS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/clock.h"

/*
 * Limits and defaults, named once. server/settings.h turns the defaults into
 * its option table's default text with #, so each is a plain literal.
 */
#define KEY_MAX_LENGTH 250
#define PAGE_SIZE_DEFAULT 1048576     /* -I: 1 MiB */
#define PAGE_SIZE_MIN 1024            /* 1 KiB */
#define PAGE_SIZE_MAX 1073741824      /* 1 GiB */
#define MEM_LIMIT_MB_DEFAULT 64       /* -m */
#define CHUNK_MIN_DEFAULT 48          /* -n: key + value bytes in the smallest chunk */
#define GROWTH_FACTOR_DEFAULT 1.25    /* -f */
#define CHUNK_ALIGN 8
#define CLASS_MAX 255                 /* classes are numbered 1..CLASS_MAX */
#define HASH_POWER_DEFAULT 16         /* -o hashpower */
#define HASH_POWER_MAX 31             /* 2^31 buckets of 4 bytes = 8 GB; no minimum */

typedef struct store store;
typedef struct item item;

struct store_config {
    uint64_t mem_limit;      /* bytes of pages at most (-m, in bytes here) */
    uint32_t page_size;      /* -I */
    double factor;           /* -f, > 1.0 */
    uint32_t chunk_min;      /* -n */
    uint32_t chunk_max;      /* -o slab_chunk_max: the largest class, bytes; larger
                                items are chains of chunks. 0 = page_size / 2 */
    uint32_t class_sizes[CLASS_MAX];  /* -o slab_sizes: the classes below chunk_max, */
    unsigned nclass_sizes;            /* ascending (rounded up to 8); 0 = geometric */
    bool prealloc;           /* -L: take every page at start */
    bool no_evict;           /* -M: fail with STORE_NO_MEMORY instead of evicting */
    bool use_cas;            /* false with -C: no CAS field in items, cas always 0 */
    uint32_t hash_power;     /* initial buckets = 2^hash_power (-o hashpower) */
    bool hash_expand;        /* the table doubles as items grow (false: -o no_hashexpand) */
    uint64_t hash_seed;      /* key hash seed; 0 (the default): a random one per store */
    const char *memory_file; /* -e: the arena is this file, saved by store_save and
                                resumed by the next store_create (slabs/restart.c);
                                NULL: anonymous memory. The caller keeps the string. */
    /* Page moves (slabs/mover.c). */
    bool slab_reassign;      /* pages may move between classes (-o slab_reassign) */
    unsigned automove;       /* AUTOMOVE_OFF / _OURS (default) / _AGGRESSIVE */
    double automove_ratio;   /* move only if dst's tail age <= ratio * src's */
    unsigned automove_window;    /* samples the move condition must hold */
    double automove_freeratio;   /* free chunk bytes above this share of the
                                  * limit make a class give pages first */
    /* The LRU (slabs/items.c); memcached 1.6's names and defaults. */
    bool lru_segmented;      /* HOT/WARM/COLD(/TEMP) segments; false: one LRU */
    unsigned hot_lru_pct;    /* HOT's share of a class's items, 1..LRU_PCT_MAX-1 */
    unsigned warm_lru_pct;   /* WARM's */
    double hot_max_factor;   /* HOT's tail may be this many times COLD's age */
    double warm_max_factor;  /* WARM's */
    bool temp_lru;           /* items with a TTL <= temporary_ttl go to TEMP */
    uint32_t temporary_ttl;  /* seconds */
    bool lru_maintainer;     /* the background step (with store_start_background) */
    /* The LRU crawler (slabs/crawler.c). */
    bool crawler;            /* -o lru_crawler: run it (store_start_background) */
    uint32_t crawler_sleep_us;   /* pause between batches of buckets */
    uint32_t crawler_tocrawl;    /* items per class per asked crawl; 0 = all */
    /* Self-tuning classes (-o slab_sizes=auto; slabs/mover.c, retune). */
    bool retune_auto;        /* the mover installs the advised table when it pays */
    uint32_t retune_interval;    /* seconds between looks, and after a switch */
    uint64_t retune_min_items;   /* linked items the histogram needs first */
    double retune_min_gain_pct;  /* waste must fall by this many points... */
    double retune_min_gain_ratio;    /* ...and by this share of itself */
};

#define AUTOMOVE_OFF 0
#define AUTOMOVE_OURS 1          /* ours: see slabs/mover.c */
#define AUTOMOVE_AGGRESSIVE 2    /* memcached's 2: move whenever a class evicts */
#define AUTOMOVE_DEFAULT AUTOMOVE_OURS
#define AUTOMOVE_RATIO_DEFAULT 0.5
#define AUTOMOVE_WINDOW_DEFAULT 3
#define AUTOMOVE_WINDOW_MIN 3        /* memcached 1.6.45's bounds on the window */
#define AUTOMOVE_WINDOW_MAX 1800
#define AUTOMOVE_FREERATIO_DEFAULT 0.01
#define CRAWLER_SLEEP_DEFAULT 100     /* -o lru_crawler_sleep, microseconds */
#define CRAWLER_SLEEP_MAX 1000000     /* one second */
#define CRAWLER_TOCRAWL_DEFAULT 0
#define RETUNE_INTERVAL_DEFAULT 60
#define RETUNE_MIN_ITEMS_DEFAULT 10000
#define RETUNE_MIN_GAIN_PCT_DEFAULT 3.0
#define RETUNE_MIN_GAIN_RATIO_DEFAULT 0.2

#define LRU_SEGMENTED_DEFAULT 1
#define HOT_LRU_PCT_DEFAULT 20
#define WARM_LRU_PCT_DEFAULT 40
#define HOT_MAX_FACTOR_DEFAULT 0.2
#define WARM_MAX_FACTOR_DEFAULT 2.0
#define TEMPORARY_TTL_DEFAULT 61
#define LRU_PCT_MAX 80           /* hot + warm at most (`lru tune`); each below it (-o) */

/* Fills cfg with memcached's defaults. */
void store_config_defaults(struct store_config *cfg);

/*
 * Checks cfg and builds the store. On a bad value returns NULL and writes a
 * one-line reason (no trailing newline) into err.
 */
store *store_create(const struct store_config *cfg, char *err, size_t errlen);
void store_destroy(store *s);

/* ---- the chunk class table (a retune appends one, slabs retune) ---- */

unsigned store_class_count(const store *s);                 /* classes 1..count */
/* The first class of the live table: ids below it were retired by a retune. */
unsigned store_class_live_first(const store *s);
uint32_t store_class_chunk_size(const store *s, unsigned cls);
uint32_t store_class_per_page(const store *s, unsigned cls);
/* Largest key + value of an item (the page size less headers, counting 4
 * bytes of non-zero flags; nkey does not change the header). */
size_t store_item_size_max(const store *s, size_t nkey);

/* ---- results ---- */

enum store_result {
    STORE_OK = 0,        /* stored, deleted, touched, found */
    STORE_NOT_STORED,    /* add on an existing key; replace/append/prepend on a missing one */
    STORE_EXISTS,        /* cas (or delete with cas) did not match */
    STORE_NOT_FOUND,     /* cas/delete/touch/arith on a missing key */
    STORE_TOO_LARGE,     /* key + value cannot fit the largest chunk */
    STORE_NO_MEMORY,     /* no chunk could be had (-M, or everything referenced) */
    STORE_NON_NUMERIC,   /* incr/decr on a value that is not a decimal number */
};

/* Why a lookup missed, so the caller can count get_misses/expired/flushed. */
enum store_miss {
    STORE_HIT = 0,
    STORE_MISS,          /* no such key */
    STORE_MISS_EXPIRED,  /* found, but past its exptime (now reclaimed) */
    STORE_MISS_FLUSHED,  /* found, but invalidated by flush_all (now reclaimed) */
};

enum store_mode {
    STORE_SET = 1,
    STORE_ADD,
    STORE_REPLACE,
    STORE_APPEND,
    STORE_PREPEND,
    STORE_CAS,
};

/* ---- reading ---- */

/*
 * Looks a key up. On a hit returns the item with a reference held and bumps it
 * in its LRU (marks it fetched, updates its access time). On a miss returns
 * NULL; *why (if not NULL) says which kind of miss.
 */
item *store_get(store *s, const char *key, size_t nkey, enum store_miss *why);

/*
 * Batched lookups (memory-level parallelism): a caller holding several keys
 * at once (a pipelined batch) passes them all to store_prefetch_batch, which
 * fills in each key's hash and starts loading each hash bucket and stripe
 * lock, then reads in the first, second and third items of each bucket's
 * chain (a hit walks 1 + load/2 of them), a step at a time over all the
 * keys, so that their cache misses overlap;
 * then it looks each up with store_get_hashed, which does not hash again.
 * The prefetch is a hint: it takes no lock and changes nothing.
 */
struct store_key {
    const char *key;
    size_t nkey;
    uint64_t hv;            /* out: the key's hash */
    uint32_t chain;         /* the store's: how far the reads ahead got */
};
void store_prefetch_batch(store *s, struct store_key *keys, size_t n);
/*
 * store_prefetch_batch in its steps, for a caller with several batches at
 * once (one per connection) that runs each step over all of them before
 * the next, so that the misses of one batch overlap those of the others.
 * Each step reads what the one before started loading.
 */
enum store_prefetch_step {
    STORE_PREFETCH_BUCKETS = 0,   /* fills in each hash; its bucket and stripe lock */
    STORE_PREFETCH_FIRST,         /* the first item of each chain */
    STORE_PREFETCH_SECOND,        /* the second item of each chain */
    STORE_PREFETCH_THIRD,         /* the third item of each chain */
    STORE_PREFETCH_STEPS          /* how many */
};
void store_prefetch_step(store *s, struct store_key *keys, size_t n,
                         enum store_prefetch_step step);
/* store_get with hv from store_prefetch_batch already known. */
item *store_get_hashed(store *s, const char *key, size_t nkey, uint64_t hv,
                       enum store_miss *why);

/* As store_get, and sets a new exptime (protocol value) on a hit: gat/gats. */
item *store_get_touch(store *s, const char *key, size_t nkey, int64_t exptime,
                      enum store_miss *why);

void store_release(store *s, item *it);

/* Item accessors: valid while a reference is held. */
const char *item_key(const item *it);
uint8_t item_nkey(const item *it);
/* The value of an item that is not chained (plain): one piece of memory. */
const char *item_value(const item *it);
uint32_t item_nvalue(const item *it);       /* value bytes, no CRLF */
/* A value larger than the largest class is chained: held in several
 * segments, read through item_seg_* or item_value_read. */
bool item_is_chained(const item *it);
uint32_t item_flags(const item *it);
uint64_t item_cas(const item *it);          /* 0 when CAS is disabled */
rel_time_t item_exptime(const item *it);    /* 0 = never */
rel_time_t item_atime(const item *it);      /* last access */
bool item_fetched(const item *it);          /* fetched since stored */
unsigned item_class(const item *it);        /* for per-class counters */

/* What a reply needs of an item, read in one call (a VALUE line costs
 * seven accessor calls otherwise). Valid while the reference is held. */
struct item_view {
    const char *key;
    const char *value;      /* NULL when chained (item_is_chained) */
    uint32_t nvalue;
    uint32_t flags;
    uint64_t cas;           /* 0 when CAS is disabled */
    uint8_t nkey;
    uint8_t cls;            /* item_class */
};
void item_view(const item *it, struct item_view *v);

/* ---- writing ---- */

/*
 * Allocates an unlinked item for key with room for nvalue value bytes, which
 * the caller fills through item_value_mut() and then passes to store_commit().
 * exptime is the protocol's value (see clock_exptime). Returns NULL with
 * *why = STORE_TOO_LARGE or STORE_NO_MEMORY. May evict to make room.
 */
item *store_item_alloc(store *s, const char *key, size_t nkey, uint32_t flags,
                       int64_t exptime, size_t nvalue, enum store_result *why);
/* The value of a plain item (not item_is_chained), to fill. */
char *item_value_mut(item *it);

/* ---- value segments: any item, plain or chained ----
 *
 * A value is one segment (plain item) or several (chained), read in order
 * with an iterator, straight from item memory, while a reference is held:
 *
 *     struct item_seg_iter si;
 *     struct store_seg seg;
 *     for (item_seg_begin(&si, s, it); item_seg_next(&si, &seg);)
 *         use(seg.ptr, seg.len);
 */
struct store_seg {
    const char *ptr;
    size_t len;
};

struct item_seg_iter {       /* private fields: use the functions */
    const store *s;
    const item *it;
    const item *next;        /* the data chunk after the segment last given */
    size_t left;             /* value bytes not yet given out */
};

void item_seg_begin(struct item_seg_iter *si, const store *s, const item *it);
/* The next segment (len > 0), or false after the last. */
bool item_seg_next(struct item_seg_iter *si, struct store_seg *seg);

/* Copies n value bytes at off into an unlinked item being filled / out of
 * a held item. off + n <= item_nvalue. */
void item_value_write(store *s, item *it, size_t off, const void *src, size_t n);
void item_value_read(const store *s, const item *it, size_t off, void *dst, size_t n);

/*
 * Links a filled item under its key according to mode, consuming the caller's
 * reference (the item must not be used afterwards). For STORE_CAS, cas_in is
 * the client's unique. For APPEND/PREPEND the item holds the bytes to add and
 * its flags/exptime are ignored; the combined value may move to a larger
 * class. *cas_out (if not NULL) receives the new CAS of the stored item.
 */
enum store_result store_commit(store *s, item *it, enum store_mode mode,
                               uint64_t cas_in, uint64_t *cas_out);
/* store_commit with the key's hash already known (store_prefetch_batch). */
enum store_result store_commit_hashed(store *s, item *it, enum store_mode mode,
                                      uint64_t cas_in, uint64_t hv, uint64_t *cas_out);

/*
 * Deletes key; if cas is non-zero, only when it matches (STORE_EXISTS if not).
 * *cls (if not NULL) gets the deleted item's class, for per-class counters.
 */
enum store_result store_delete(store *s, const char *key, size_t nkey, uint64_t cas,
                               unsigned *cls);

/* Sets a new exptime (protocol value) on key. */
enum store_result store_touch(store *s, const char *key, size_t nkey, int64_t exptime);

/*
 * incr (incr = true) or decr: the value must be a decimal number of at most 20
 * digits that fits 64 bits. incr wraps at 2^64; decr stops at 0. *result gets
 * the new number; *cas_out (if not NULL) the new CAS. *cls (if not NULL) the
 * class of the item now holding it, for per-class counters.
 * Returns STORE_OK, STORE_NOT_FOUND, STORE_NON_NUMERIC or STORE_NO_MEMORY.
 */
enum store_result store_arith(store *s, const char *key, size_t nkey, bool incr,
                              uint64_t delta, uint64_t *result, uint64_t *cas_out,
                              unsigned *cls);

/*
 * flush_all: invalidates every item stored before now + delay seconds (delay
 * 0: now). Lazy: items are reclaimed when next met.
 */
void store_flush(store *s, int64_t delay);

/* cache_memlimit: changes the page limit at run time (bytes). Raising is
 * clamped to the address space reserved at start (max(mem_limit, 1 GB), at
 * most 32 GB) and classes take the new pages at once; lowering gives pool
 * pages back at once (MADV_DONTNEED: the RSS falls) and has the mover drain
 * and give back class pages, oldest LRU tails first, until the pages held
 * fit (items in them are rescued or evicted). */
void store_set_mem_limit(store *s, uint64_t bytes);

/* ---- warm restart (-e, slabs/restart.c) ---- */

/* What store_create made of cfg.memory_file. */
enum store_warm {
    STORE_WARM_OFF = 0,      /* no memory file */
    STORE_WARM_NEW,          /* no saved state in the file: started empty */
    STORE_WARM_COLD,         /* saved state not usable (other settings, corrupt,
                              * not saved cleanly): started empty */
    STORE_WARM_RESUMED,      /* the saved items are back */
};
/* The outcome, with a one-line explanation (no newline) in note if not NULL
 * (e.g. why a saved file was not resumed, or how many items were). */
enum store_warm store_warm_status(const store *s, char *note, size_t notelen);

/*
 * Saves the store into its memory file for the next store_create with the
 * same file and settings. Call when no other thread uses the store, just
 * before store_destroy; the background threads are stopped first. Without
 * a memory file it does nothing and returns 0. -1 with a one-line reason in
 * err if the file cannot be written (the next start is then cold).
 */
int store_save(store *s, char *err, size_t errlen);

/* ---- page moves (slabs/mover.c) ---- */

/* memcached's `slabs reassign` replies, in its words. */
enum store_reassign {
    STORE_REASSIGN_OK,       /* the move is started */
    STORE_REASSIGN_BUSY,     /* a move is in progress */
    STORE_REASSIGN_BADCLASS, /* src or dst is not a class (dst 0: the global pool) */
    STORE_REASSIGN_NOSPARE,  /* src has fewer than two pages (the pool: none) */
    STORE_REASSIGN_SAME,     /* src == dst */
};

/*
 * Moves one page from class src (-1: any class with a spare page, 0: the
 * pool) to class dst (0: the pool). The move finishes in the background
 * (store_start_background) or in the steps of allocations that need a page.
 */
enum store_reassign store_slab_reassign(store *s, int src, int dst);

/*
 * `slabs retune` (ours): installs the free-form table `slabs advise` names
 * for the live histogram. New stores go to the new classes; the mover drains
 * the old ones' pages to the pool, moving each live item into a chunk of the
 * new class that fits it where it can, evicting it otherwise.
 */
enum store_retune {
    STORE_RETUNE_OK,          /* switched; the drain runs in the background */
    STORE_RETUNE_NOTHING,     /* the advised table wastes no less than today's */
    STORE_RETUNE_BUSY,        /* classes of the last switch still hold pages */
    STORE_RETUNE_FULL,        /* no class ids left (CLASS_MAX) */
    STORE_RETUNE_NOMEM,       /* out of memory for the advisor */
};
enum store_retune store_slab_retune(store *s);

/* Automove mode: AUTOMOVE_OFF, _OURS, _AGGRESSIVE (others are ignored). */
void store_set_automove(store *s, unsigned mode);
unsigned store_automove(const store *s);

/* Automove's tuning (store_config's automove_ratio, _window, _freeratio),
 * read and changed at run time: `slabs automove ratio|window|freeratio`. */
struct store_automove_tuning {
    double ratio;
    unsigned window;
    double freeratio;
};
void store_automove_tuning(store *s, struct store_automove_tuning *out);
/* Sets all three; a value store_create would refuse changes nothing and
 * writes why into err (one line). */
bool store_set_automove_tuning(store *s, const struct store_automove_tuning *t, char *err,
                               size_t errlen);

/*
 * Starts the mover thread (page moves, automove, limit shrinking); it
 * sleeps when idle. store_destroy stops it. Returns 0, or -1 with a reason
 * in err. Without it moves advance only inside allocations that need pages.
 */
int store_start_background(store *s, char *err, size_t errlen);

/* ---- the LRU crawler (slabs/crawler.c) ----
 *
 * A thread that walks the hash table in small batches and unlinks expired
 * and flushed items: when asked (store_crawl), after flush_all, and when the
 * earliest exptime stored comes due. store_start_background starts it when
 * store_config.crawler is set; store_destroy stops it.
 */

/* A set of classes (1..CLASS_MAX). Zero it for the empty set. */
struct store_class_set {
    uint64_t bits[(CLASS_MAX + 1 + 63) / 64];
};
void store_class_set_add(struct store_class_set *set, unsigned cls);
void store_class_set_all(struct store_class_set *set);
bool store_class_set_has(const struct store_class_set *set, unsigned cls);

/* `lru_crawler enable|disable`: 0, or -1 with a reason in err. */
int store_crawler_enable(store *s, bool on, char *err, size_t errlen);
bool store_crawler_enabled(const store *s);
void store_crawler_set_sleep(store *s, uint32_t us);   /* <= CRAWLER_SLEEP_MAX */
uint32_t store_crawler_sleep(const store *s);
void store_crawler_set_tocrawl(store *s, uint32_t items);
uint32_t store_crawler_tocrawl(const store *s);

enum store_crawl {
    STORE_CRAWL_OK,          /* started */
    STORE_CRAWL_BUSY,        /* a crawl is running or waiting */
    STORE_CRAWL_DISABLED,    /* the crawler is not running */
};
/* Asks for a crawl of classes (tocrawl items per class at most). */
enum store_crawl store_crawl(store *s, const struct store_class_set *classes);

/*
 * A walk over the live items, in hash order, a few buckets per call, for
 * key dumps: no lock is held between calls, an item linked for the whole
 * walk is met exactly once (a chained item once), items linked or unlinked
 * meanwhile maybe not. Zero a struct store_walk to start. Each call visits
 * up to `buckets` buckets and calls fn for each live item of classes (NULL:
 * all) under the item's lock: fn only reads it (the accessors above) and
 * must be quick. Returns false once the walk is done.
 */
struct store_walk {          /* private fields */
    uint64_t next;
    unsigned level;
    bool started;
};
typedef void (*store_walk_fn)(void *arg, const item *it);
bool store_walk_step(store *s, struct store_walk *w, const struct store_class_set *classes,
                     unsigned buckets, store_walk_fn fn, void *arg);

/*
 * Background upkeep the server calls from its one-second timer: advances an
 * ongoing hash table expansion. Cheap when there is nothing to do.
 */
void store_maintain(store *s);

/* ---- the LRU at run time (`lru mode|tune|temp_ttl`) ---- */

void store_lru_set_segmented(store *s, bool segmented);

enum store_lru_tune {
    STORE_LRU_TUNE_OK = 0,
    STORE_LRU_TUNE_PCTS,        /* hot + warm above LRU_PCT_MAX */
    STORE_LRU_TUNE_FACTORS,     /* an age factor not above 0 */
};
/* Sets the segments' shares and age factors together, or none of them;
 * hot_pct + warm_pct is summed in 32 bits, as memcached does. */
enum store_lru_tune store_lru_tune(store *s, unsigned hot_pct, unsigned warm_pct,
                                   double hot_max_factor, double warm_max_factor);
/* Items stored with a TTL <= ttl seconds go to TEMP from now on; ttl < 0:
 * no TEMP (its items stay there until they leave). */
void store_lru_set_temp_ttl(store *s, int64_t ttl);

/* The LRU settings now, for `stats settings`. */
struct store_lru_settings {
    bool maintainer;            /* the maintainer runs: mode and temp_ttl may change */
    bool segmented;
    unsigned hot_lru_pct, warm_lru_pct;
    double hot_max_factor, warm_max_factor;
    bool temp_lru;
    uint32_t temporary_ttl;
};
void store_lru_settings(store *s, struct store_lru_settings *out);

/* ---- statistics ---- */

/*
 * The store's figures, each declared once here (the idea of Pelikan's
 * SLAB_METRIC / PERSLAB_METRIC lists). The structs below, the copying out of
 * struct slab_class (slabs/internal.h), the summing across classes and the
 * `stats`, `stats slabs` and `stats items` printers (server/stats.c) all
 * expand from these rows, so a new counter is one row plus the code that
 * counts it.
 *
 * Per class, in print order:  X(field, type, kept, slabs, items, stat)
 *   kept   LRU_LOCK / SLAB_LOCK: a counter of struct slab_class under that
 *          lock, copied out as it is; READ: worked out when read
 *          (store_class_stats in slab.c, item_lru_stats in items.c)
 *   slabs  `stats slabs` prints "N:stat" HEAD (before the request counters of
 *          protocol/counters.h) or TAIL (after them); NO: not there
 *   items  `stats items` prints "items:N:stat": YES or NO
 *   stat   memcached's name for it (the field's, except curr_items)
 * Per-class figures are not cleared by `stats reset`, as before.
 */
#define STORE_CLASS_STATS(X)                                                  \
    X(chunk_size,        uint32_t,   READ,      HEAD, NO,  chunk_size)        \
    X(chunks_per_page,   uint32_t,   READ,      HEAD, NO,  chunks_per_page)   \
    X(total_pages,       uint64_t,   READ,      HEAD, NO,  total_pages)       \
    X(total_chunks,      uint64_t,   READ,      HEAD, NO,  total_chunks)      \
    X(used_chunks,       uint64_t,   SLAB_LOCK, HEAD, NO,  used_chunks)       \
    /* on the free list + never handed out */                                 \
    X(free_chunks,       uint64_t,   READ,      HEAD, NO,  free_chunks)       \
    /* never handed out yet */                                                \
    X(free_chunks_end,   uint64_t,   READ,      HEAD, NO,  free_chunks_end)   \
    /* used_chunks * chunk_size */                                            \
    X(chunk_bytes_used,  uint64_t,   READ,      NO,   NO,  chunk_bytes_used)  \
    X(curr_items,        uint64_t,   LRU_LOCK,  NO,   YES, number)            \
    /* the LRU segments (slabs/items.c): items in each, tail ages */          \
    X(number_hot,        uint64_t,   READ,      NO,   YES, number_hot)        \
    X(number_warm,       uint64_t,   READ,      NO,   YES, number_warm)       \
    X(number_cold,       uint64_t,   READ,      NO,   YES, number_cold)       \
    X(age_hot,           rel_time_t, READ,      NO,   YES, age_hot)           \
    X(age_warm,          rel_time_t, READ,      NO,   YES, age_warm)          \
    /* seconds since the LRU tail item was accessed */                        \
    X(age,               rel_time_t, READ,      NO,   YES, age)               \
    /* bytes the stored items need: header + key + value */                   \
    X(mem_requested,     uint64_t,   SLAB_LOCK, TAIL, YES, mem_requested)     \
    X(evicted,           uint64_t,   LRU_LOCK,  NO,   YES, evicted)           \
    /* evicted with an exptime set */                                         \
    X(evicted_nonzero,   uint64_t,   LRU_LOCK,  NO,   YES, evicted_nonzero)   \
    /* seconds since the last evicted item was accessed */                    \
    X(evicted_time,      rel_time_t, LRU_LOCK,  NO,   YES, evicted_time)      \
    X(outofmemory,       uint64_t,   LRU_LOCK,  NO,   YES, outofmemory)       \
    /* always 0: memcached frees tail items whose reference leaked (after     \
     * tail_repair_time); references here are exact, none leak to repair */   \
    X(tailrepairs,       uint64_t,   READ,      NO,   YES, tailrepairs)       \
    /* expired items whose chunk was reused */                                \
    X(reclaimed,         uint64_t,   LRU_LOCK,  NO,   YES, reclaimed)         \
    X(expired_unfetched, uint64_t,   LRU_LOCK,  NO,   YES, expired_unfetched) \
    X(evicted_unfetched, uint64_t,   LRU_LOCK,  NO,   YES, evicted_unfetched) \
    /* evicted although hit since their last move */                          \
    X(evicted_active,    uint64_t,   LRU_LOCK,  NO,   YES, evicted_active)    \
    /* dead items the LRU crawler unlinked / items it looked at */           \
    X(crawler_reclaimed, uint64_t,   READ,      NO,   YES, crawler_reclaimed) \
    X(crawler_items_checked, uint64_t, READ,    NO,   YES, crawler_items_checked) \
    /* tail items skipped by an allocation because someone held them */       \
    X(lrutail_reflocked, uint64_t,   LRU_LOCK,  NO,   YES, lrutail_reflocked) \
    X(moves_to_cold,     uint64_t,   LRU_LOCK,  NO,   YES, moves_to_cold)     \
    X(moves_to_warm,     uint64_t,   LRU_LOCK,  NO,   YES, moves_to_warm)     \
    /* active WARM tails sent back to WARM's head */                          \
    X(moves_within_lru,  uint64_t,   LRU_LOCK,  NO,   YES, moves_within_lru)  \
    /* items an allocation took from a tail itself (reclaimed or evicted) */  \
    X(direct_reclaims,   uint64_t,   LRU_LOCK,  NO,   YES, direct_reclaims)   \
    X(hits_to_hot,       uint64_t,   READ,      NO,   YES, hits_to_hot)       \
    X(hits_to_warm,      uint64_t,   READ,      NO,   YES, hits_to_warm)      \
    X(hits_to_cold,      uint64_t,   READ,      NO,   YES, hits_to_cold)      \
    X(hits_to_temp,      uint64_t,   READ,      NO,   YES, hits_to_temp)      \
    /* ours after memcached's rows: memcached prints it (after number_cold)   \
     * only with a TEMP LRU, we always do */                                  \
    X(number_temp,       uint64_t,   READ,      NO,   YES, number_temp)       \
    X(total_items,       uint64_t,   LRU_LOCK,  NO,   NO,  total_items)

/*
 * Store-wide, in print order:  X(field, type, from, class_field, reset, shown)
 *   type   an integer, bool, or const char * (a static string)
 *   from   SUM: the sum over classes of class_field; READ: worked out when
 *          read (store_stats in slab.c; class_field unused, `_`), 0 unless set
 *   reset  RESET: `stats reset` clears it; KEEP: it does not
 *   shown  where `stats` prints it, as memcached 1.6.45: ENGINE among the
 *          server's lines (after conn_yields), ITEMS in the item lines that
 *          end memcached's `stats`, OURS after all of memcached's lines; NO:
 *          printed elsewhere or not at all (limit_maxbytes sits among the
 *          server's lines, as in memcached; `stats slabs` prints the totals)
 */
#define STORE_STATS(X)                                                    \
    X(limit_maxbytes,    uint64_t, READ, _,                 KEEP,  NO)    \
    /* bytes of pages held (classes + pool) */                          \
    X(total_malloced,    uint64_t, READ, _,                 KEEP,  NO)    \
    /* classes with at least one page */                                  \
    X(active_slabs,      unsigned, READ, _,                 KEEP,  NO)    \
    X(chunk_bytes_used,  uint64_t, SUM,  chunk_bytes_used,  KEEP,  NO)    \
    X(hash_power_level,  unsigned, READ, _,                 KEEP,  ENGINE) \
    X(hash_bytes,        uint64_t, READ, _,                 KEEP,  ENGINE) \
    X(hash_is_expanding, bool,     READ, _,                 KEEP,  ENGINE) \
    /* page moves (slabs/mover.c), memcached 1.6.45's meaning and order */ \
    X(slab_reassign_rescues,         uint64_t, READ, _, RESET, ENGINE)     \
    X(slab_reassign_chunk_rescues,   uint64_t, READ, _, RESET, ENGINE)     \
    X(slab_reassign_inline_reclaim,  uint64_t, READ, _, RESET, ENGINE)     \
    X(slab_reassign_busy_items,      uint64_t, READ, _, RESET, ENGINE)     \
    X(slab_reassign_busy_deletes,    uint64_t, READ, _, RESET, ENGINE)     \
    /* always 0: a live item with nowhere to go is evicted at once, never  \
     * retried (slab_reassign_evictions_nomem counts those) */              \
    X(slab_reassign_busy_nomem,      uint64_t, READ, _, RESET, ENGINE)     \
    /* why the last busy chunk was busy, in memcached's words (mover.c) */ \
    X(slab_reassign_last_busy_status, const char *, READ, _, KEEP, ENGINE) \
    /* 1 while a page move is in progress */                             \
    X(slab_reassign_running,         bool,     READ, _, KEEP,  ENGINE)     \
    X(slabs_moved,                   uint64_t, READ, _, RESET, ENGINE)     \
    /* the LRU crawler (slabs/crawler.c), where memcached prints them */  \
    X(lru_crawler_running,           bool,     READ, _, KEEP,  ENGINE)     \
    X(lru_crawler_starts,            uint64_t, READ, _, RESET, ENGINE)     \
    /* LRU maintainer steps that moved or freed items (slabs/items.c) */  \
    X(lru_maintainer_juggles,        uint64_t, READ, _, KEEP,  ENGINE)     \
    X(bytes,             uint64_t, SUM,  mem_requested,     KEEP,  ITEMS) \
    X(curr_items,        uint64_t, SUM,  curr_items,        KEEP,  ITEMS) \
    X(total_items,       uint64_t, SUM,  total_items,       RESET, ITEMS) \
    /* pages in the global pool (held, no class) */                       \
    X(slab_global_page_pool, uint64_t, READ, _,             KEEP,  ITEMS) \
    X(expired_unfetched, uint64_t, SUM,  expired_unfetched, RESET, ITEMS) \
    X(evicted_unfetched, uint64_t, SUM,  evicted_unfetched, RESET, ITEMS) \
    X(evicted_active,    uint64_t, SUM,  evicted_active,    RESET, ITEMS) \
    X(evictions,         uint64_t, SUM,  evicted,           RESET, ITEMS) \
    X(reclaimed,         uint64_t, SUM,  reclaimed,         RESET, ITEMS) \
    X(crawler_reclaimed, uint64_t, SUM,  crawler_reclaimed, RESET, ITEMS) \
    X(crawler_items_checked, uint64_t, SUM, crawler_items_checked, RESET, ITEMS) \
    X(lrutail_reflocked, uint64_t, SUM,  lrutail_reflocked, RESET, ITEMS) \
    X(moves_to_cold,     uint64_t, SUM,  moves_to_cold,     RESET, ITEMS) \
    X(moves_to_warm,     uint64_t, SUM,  moves_to_warm,     RESET, ITEMS) \
    X(moves_within_lru,  uint64_t, SUM,  moves_within_lru,  RESET, ITEMS) \
    X(direct_reclaims,   uint64_t, SUM,  direct_reclaims,   RESET, ITEMS) \
    /* always 0: memcached queues hits' LRU bumps and drops them when the  \
     * queue is full; here a hit is marked in place (items.c), never queued */ \
    X(lru_bumps_dropped, uint64_t, READ, _,                 RESET, ITEMS) \
    /* live items a page move evicted: no room to rescue them (mover.c) */ \
    X(slab_reassign_evictions_nomem, uint64_t, READ, _, RESET, OURS) \
    /* class table switches (ours: slabs retune, -o slab_sizes=auto): how \
     * many, the unix time of the last (0: none), the advisor's chunk waste \
     * before and after it */                                            \
    X(slab_retunes,                  uint64_t, READ, _, KEEP,  OURS)      \
    X(slab_retune_last,              uint64_t, READ, _, KEEP,  OURS)      \
    X(slab_retune_waste_before_pct,  double,   READ, _, KEEP,  OURS)      \
    X(slab_retune_waste_after_pct,   double,   READ, _, KEEP,  OURS)

#define STORE_STATS_FIELD(field, type, ...) type field;
/* Per-class figures; counters under the class's own locks, read on demand. */
struct store_class_stats {
    STORE_CLASS_STATS(STORE_STATS_FIELD)
};

struct store_stats {
    STORE_STATS(STORE_STATS_FIELD)
};
#undef STORE_STATS_FIELD

void store_class_stats(store *s, unsigned cls, struct store_class_stats *out);

void store_stats(store *s, struct store_stats *out);

/* Size of the item header for key and flags in this store (for density figures). */
size_t store_item_header_size(const store *s, uint32_t flags);

/*
 * ---- the size histogram of linked items (slabs/sizes.c) ----
 *
 * Always on: every link and unlink counts the bytes its item needs in one
 * chunk (header, CAS, flags, key, value; a chained item as if it were one
 * chunk). Buckets are STORE_SIZES_STEP bytes wide up to STORE_SIZES_FINE_MAX,
 * where the exact byte total is kept too, then STORE_SIZES_SUBS buckets per
 * doubling, where only counts are kept (bytes are estimated at the bucket's
 * middle). Bucket b holds sizes in (store_sizes_bucket_upper(b - 1),
 * store_sizes_bucket_upper(b)]. Read while stores go on, the figures are a
 * moment's, each bucket exact.
 */
#define STORE_SIZES_STEP 8
#define STORE_SIZES_FINE_MAX 4096
#define STORE_SIZES_FINE_BUCKETS (STORE_SIZES_FINE_MAX / STORE_SIZES_STEP)
#define STORE_SIZES_SUBS_LOG2 4
#define STORE_SIZES_SUBS (1 << STORE_SIZES_SUBS_LOG2)   /* coarse buckets per doubling */
#define STORE_SIZES_FINE_LOG2 12          /* log2(STORE_SIZES_FINE_MAX) */
#define STORE_SIZES_TOP_LOG2 32           /* sizes up to 4 GiB */
#define STORE_SIZES_BUCKETS \
    (STORE_SIZES_FINE_BUCKETS + STORE_SIZES_SUBS * (STORE_SIZES_TOP_LOG2 - STORE_SIZES_FINE_LOG2))

struct store_sizes {
    uint64_t items[STORE_SIZES_BUCKETS];
    uint64_t bytes[STORE_SIZES_BUCKETS];  /* exact in fine buckets, estimated above */
};

void store_sizes(store *s, struct store_sizes *out);
/*
 * `slabs advise` (slabs/advisor.c says how): for the histogram now, what the
 * current table wastes, and the least-waste geometric (-f, -n) and
 * free-form (-o slab_sizes, at most as many classes) tables.
 */
struct store_table_cost {
    unsigned classes;
    uint64_t items;           /* items within the table (at most its last size) */
    uint64_t chained;         /* larger: chains, not weighed */
    uint64_t requested;       /* their bytes */
    uint64_t chunk_bytes;     /* the chunks they take in this table */
    double waste_pct;         /* (chunk_bytes - requested) / chunk_bytes */
    uint64_t items_at_limit;  /* items of this mix the memory limit would hold */
};
struct store_advice {
    struct store_table_cost current;
    struct store_table_cost geometric;
    double factor;            /* the geometric table's -f and -n */
    uint32_t chunk_min;
    struct store_table_cost free_form;
    uint32_t free_sizes[CLASS_MAX];   /* its sizes, ascending; the last is chunk_max */
};
/* false when out of memory for the search. */
bool store_advise(store *s, struct store_advice *out);
/* The largest size bucket b holds. */
uint64_t store_sizes_bucket_upper(unsigned b);
/* The bucket of an item needing nbytes (>= 1). */
unsigned store_sizes_bucket_of(uint64_t nbytes);

/* ---- item marks, lookups with options, conditional writes ----
 *
 * An item can carry three marks: STALE (the value is served but known out of
 * date: a conditional delete that keeps it, or an invalidating commit with
 * an older CAS), TOKEN SENT (one client has been told it "won" the right to
 * recache this key; others see that it is taken) and KEY BINARY (the key
 * arrived encoded and is echoed encoded). The marks live in the item's flag
 * byte, are read and set atomically, and a new item (any store) starts
 * without them.
 */

bool item_is_stale(const item *it);
bool item_token_sent(const item *it);
bool item_key_binary(const item *it);
/* Sets the token mark on a held item; returns whether it was already set,
 * so of several racing clients exactly one sees false (the winner). */
bool item_claim_token(item *it);
/* Marks an unlinked item (from store_item_alloc) as having a binary key. */
void item_mark_key_binary(item *it);
/* Sets a new exptime (protocol value) on a held item, as touch does. */
void item_set_exptime(item *it, int64_t exptime);
/* Bytes of memory the item takes in its chunk (header, key, value). */
size_t store_item_total_size(const store *s, const item *it);

/* Options of a lookup. */
struct store_lookup_opts {
    bool no_bump;            /* neither mark fetched nor bump in the LRU */
    bool vivify;             /* on a miss create an empty item... */
    int64_t vivify_exptime;  /* ...with this exptime (protocol value), token mark set, */
    bool key_binary;         /* ...and marked as having a binary key (item_key_binary) */
    const uint64_t *new_cas; /* ...with this CAS (memcached's E flag); NULL: the next */
};

/* The item's state from before the lookup. */
struct store_lookup_before {
    bool was_fetched;        /* fetched before this lookup */
    rel_time_t atime;        /* last access before this lookup */
    bool created;            /* the item was vivified by this call */
};

/*
 * As store_get (bump and fetched mark unless no_bump), reporting the item's
 * state from before the lookup, and creating the item on a miss when asked.
 * Returns the item with a reference held, or NULL.
 */
item *store_lookup(store *s, const char *key, size_t nkey, const struct store_lookup_opts *opt,
                   struct store_lookup_before *hit, enum store_miss *why);

/* How a meta store (ms) commits: store_commit's mode and CAS, and more. */
struct store_commit_cond {
    enum store_mode mode;
    uint64_t cas;            /* to match, as store_commit's cas_in */
    bool invalidate;         /* STORE_CAS: a CAS older than the stored item's still
                              * stores, keeping the old exptime and token mark and
                              * marking the new item stale */
    bool vivify;             /* append/prepend on a miss store the item as it is */
    const uint64_t *new_cas; /* the stored item's CAS (memcached's E flag); NULL: the next */
};

/*
 * store_commit under c's rules. *cas_out (if not NULL) receives the stored
 * item's CAS, *nvalue_out (if not NULL) its value length (for append and
 * prepend, the whole value's).
 */
enum store_result store_commit_cond(store *s, item *it, const struct store_commit_cond *c,
                                    uint64_t *cas_out, size_t *nvalue_out);

/* The condition and effect of a conditional delete. */
struct store_delete_cond {
    bool has_cas;            /* only if the CAS matches (0 included) */
    uint64_t cas;
    bool stale;              /* keep the item, mark it stale, new CAS */
    bool touch;              /* with stale or remove_value: new exptime */
    int64_t exptime;
    bool remove_value;       /* keep the key with an empty value, these client flags
                              * and exptime (0 unless touch), its CAS unless stale */
    uint32_t flags;
    const uint64_t *new_cas; /* the kept item's CAS (memcached's E flag); NULL: as above */
};

/* STORE_OK, STORE_NOT_FOUND, STORE_EXISTS, or STORE_NO_MEMORY (no room for
 * the stale copy); *cls (if not NULL) gets the class of the item deleted or
 * marked. */
enum store_result store_delete_cond(store *s, const char *key, size_t nkey,
                                    const struct store_delete_cond *d, unsigned *cls);

/* Arithmetic with a CAS condition and creation on a miss. */
struct store_arith_cond {
    bool incr;
    uint64_t delta;
    bool has_cas;            /* only if the CAS matches (0 = no check, as memcached) */
    uint64_t cas;
    bool vivify;             /* on a miss store `initial` (no delta applied)... */
    uint64_t initial;
    int64_t vivify_exptime;  /* ...with this exptime (protocol value; binary incr's) */
    const uint64_t *new_cas; /* the result's CAS (memcached's E flag); NULL: the next */
};

/*
 * incr/decr as store_arith, with a CAS check and creation on a miss.
 * On STORE_OK *it_out gets the item now stored (reference held), *result
 * the number and *created whether it was vivified. Other results:
 * STORE_NOT_FOUND, STORE_EXISTS, STORE_NON_NUMERIC, STORE_NO_MEMORY, and
 * STORE_NOT_STORED when a vivify lost a race with another writer.
 */
enum store_result store_arith_cond(store *s, const char *key, size_t nkey,
                                   const struct store_arith_cond *a, uint64_t *result,
                                   bool *created, item **it_out);

#endif
