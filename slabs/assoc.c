/*
 * assoc: the hash function and the hash table.
 *
 * Buckets are 32-bit item links; an item's chain runs through its hnext link,
 * so the table costs 4 bytes a bucket and nothing per item. The table has
 * 2^power buckets and doubles when it holds more than 2 items a bucket.
 *
 * Growth never stops the world. Starting it (under every stripe lock, briefly)
 * swaps in a zeroed table of twice the size and keeps the old one; then old
 * buckets are moved one by one, in order, each under its own stripe lock, by
 * writers after their operation and by store_maintain(). `expand_bucket` is
 * the first old bucket not yet moved: a key whose old bucket (hv & old_mask)
 * lies below it lives in the new table, else still in the old one. The
 * reader holds the key's stripe lock, and the stripe of old bucket b is the
 * stripe of new buckets b and b + old_size (stripes <= initial buckets), so
 * the bucket a reader looks at cannot move under it. The last move frees the
 * old table, again under every stripe lock.
 *
 * Walking the table (assoc_walk, for the crawler and key dumps) goes by
 * "logical buckets": at level L, logical bucket b is every key with
 * hv & (2^L - 1) == b. L is fixed when a walk starts: the power then, less
 * one while a growth is under way (the old table's power). The table only
 * grows, so logical bucket b always is a fixed set of physical buckets:
 * primary[b + k 2^L] when settled; during a growth, for each old bucket
 * ob = b + k 2^L, old[ob] if not yet moved, else primary[ob] and
 * primary[ob + old size]. All of them share one stripe (stripes <= initial
 * buckets <= 2^L), so under that stripe lock no growth step can move an item
 * into or out of the set, and every item linked for the whole walk is
 * visited exactly once, whatever growth happens between batches.
 *
 * Batched lookups read ahead with no lock (assoc_prefetch, assoc_touch_first
 * and assoc_touch_item, in internal.h so the store inlines them): a bucket,
 * then the item its link leads to, then the items their hnext links lead to.
 * The item reads may meet any bytes (internal.h says why that is harmless);
 * the bucket reads are the only unlocked reads of the table, so: every write
 * of a bucket is an atomic store (relaxed: plain moves on x86); growth
 * publishes the new table (release) before the new power, and a reader reads
 * power (acquire) before the table, so its index is always within the table
 * it reads; and a table is never freed while the store lives: tables are
 * mmap'd, and the old one at the end of a growth is only emptied (madvise
 * MADV_DONTNEED: it costs no memory, and reads as LINK_NONE) and kept in
 * retired[] until assoc_destroy. The address space that keeps is less than
 * the current table's.
 *
 * The hash: xxh3 from libxxhash, keyed with a per-store seed that
 * store_create() draws from getrandom(2) (store_config.hash_seed fixes it
 * for tests). Keys that share a bucket cannot be computed without the seed,
 * so a client cannot flood one chain (hash flooding). Buckets and stripes
 * take the low bits.
 */
#include "slabs/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <xxhash.h>

/*
 * 4096 item locks at most. ThreadSanitizer's deadlock detector aborts when a
 * thread holds more than 64 mutexes, which growth's "lock every stripe" does:
 * a TSan build uses 32 stripes (same code paths, more sharing).
 */
#if defined(__SANITIZE_THREAD__)
#define ASSOC_STRIPES_MAX_POWER 5
#else
#define ASSOC_STRIPES_MAX_POWER 12
#endif
/*
 * Grow above items > buckets * 2. memcached grows above 3/2 with 8-byte
 * pointers: 5.3 to 10.7 bytes of table an item. Our buckets are 4-byte
 * links, so at 2 the table costs 2 to 4 bytes an item, and a hit walks at
 * most 2 items of its chain on average (1 + load / 2). At 3/2 the denser
 * items of a 30-byte header pushed the table to the next doubling at -m 64
 * (932,032 items of 20-byte values: 4 MB against 2 MB), and the RSS past
 * memcached's.
 */
#define ASSOC_GROW_NUM 2
#define ASSOC_GROW_DEN 1

/*
 * The key hash: xxh3 (libxxhash) keyed with the store's seed. Without a
 * secret seed anyone can compute offline keys that share a bucket and turn
 * every lookup into a walk of one long chain; with it they cannot.
 */
uint64_t assoc_hash(uint64_t seed, const char *key, size_t nkey)
{
    return XXH3_64bits_withSeed(key, nkey, seed);
}

/* A seed from the kernel's random pool; false (errno set) when it has none. */
bool assoc_random_seed(uint64_t *seed)
{
    ssize_t n;
    do
        n = getrandom(seed, sizeof(*seed), 0);
    while (n < 0 && errno == EINTR);
    if (n == (ssize_t)sizeof(*seed))
        return true;
    if (n >= 0)
        errno = EIO;   /* a short read: the pool cannot give 8 bytes */
    return false;
}

static uint64_t assoc_grow_threshold(unsigned power)
{
    return ((uint64_t)1 << power) * ASSOC_GROW_NUM / ASSOC_GROW_DEN;
}

static size_t assoc_table_bytes(unsigned power)
{
    return ((size_t)1 << power) * sizeof(ilink);
}

/* A zeroed table of 2^power buckets (all LINK_NONE), or NULL. */
static ilink *assoc_table_new(unsigned power)
{
    void *t = mmap(NULL, assoc_table_bytes(power), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return t == MAP_FAILED ? NULL : t;
}

static void assoc_table_free(ilink *t, unsigned power)
{
    if (t != NULL)
        munmap(t, assoc_table_bytes(power));
}

/* power is at most HASH_POWER_MAX (store_create checks); 0 is one bucket. */
int assoc_init(store *s, unsigned power, uint64_t seed)
{
    struct assoc *a = &s->assoc;
    a->seed = seed;
    memset(a->retired, 0, sizeof(a->retired));
    a->primary = assoc_table_new(power);
    if (a->primary == NULL)
        return -1;
    a->power = power;
    a->old = NULL;
    atomic_init(&a->expanding, false);
    atomic_init(&a->expand_bucket, 0);
    atomic_init(&a->items, 0);
    atomic_init(&a->grow_at, assoc_grow_threshold(power));
    unsigned sp = power < ASSOC_STRIPES_MAX_POWER ? power : ASSOC_STRIPES_MAX_POWER;
    size_t nstripes = (size_t)1 << sp;
    a->stripes = malloc(nstripes * sizeof(pthread_mutex_t));
    if (a->stripes == NULL) {
        assoc_table_free(a->primary, power);
        a->primary = NULL;
        return -1;
    }
    for (size_t i = 0; i < nstripes; i++)
        pthread_mutex_init(&a->stripes[i], NULL);
    a->stripe_mask = (uint32_t)(nstripes - 1);
    pthread_mutex_init(&a->expand_lock, NULL);
    return 0;
}

void assoc_destroy(store *s)
{
    struct assoc *a = &s->assoc;
    if (a->stripes != NULL) {
        for (size_t i = 0; i <= a->stripe_mask; i++)
            pthread_mutex_destroy(&a->stripes[i]);
        pthread_mutex_destroy(&a->expand_lock);
    }
    free(a->stripes);
    assoc_table_free(a->primary, a->power);
    if (a->old != NULL)
        assoc_table_free(a->old, a->power - 1);
    for (unsigned p = 0; p <= HASH_POWER_MAX; p++)
        assoc_table_free(a->retired[p], p);
}

static void assoc_lock_all(store *s)
{
    for (size_t i = 0; i <= s->assoc.stripe_mask; i++)
        pthread_mutex_lock(&s->assoc.stripes[i]);
}

static void assoc_unlock_all(store *s)
{
    for (size_t i = s->assoc.stripe_mask + 1; i-- > 0;)
        pthread_mutex_unlock(&s->assoc.stripes[i]);
}

/* The bucket head for hv, in whichever table holds it now. Stripe lock held. */
static ilink *assoc_bucket_locked(store *s, uint64_t hv)
{
    struct assoc *a = &s->assoc;
    if (atomic_load_explicit(&a->expanding, memory_order_relaxed)) {
        uint64_t ob = hv & (((uint64_t)1 << (a->power - 1)) - 1);
        if (ob >= atomic_load_explicit(&a->expand_bucket, memory_order_acquire))
            return &a->old[ob];
    }
    return &a->primary[hv & (((uint64_t)1 << a->power) - 1)];
}

/* Keys of 8 to 16 bytes, the usual ones, compare in two 8-byte words each
 * (overlapping when shorter than 16) instead of a call to memcmp. */
#define KEY_WORD 8
static inline bool assoc_key_equal(const char *a, const char *b, size_t n)
{
    if (n < KEY_WORD || n > 2 * KEY_WORD)
        return memcmp(a, b, n) == 0;
    uint64_t a0, b0, a1, b1;
    memcpy(&a0, a, KEY_WORD);
    memcpy(&b0, b, KEY_WORD);
    memcpy(&a1, a + n - KEY_WORD, KEY_WORD);
    memcpy(&b1, b + n - KEY_WORD, KEY_WORD);
    return ((a0 ^ b0) | (a1 ^ b1)) == 0;
}

/* The item linked under key, or NULL. The key's stripe lock held. */
item *assoc_find_locked(store *s, const char *key, size_t nkey, uint64_t hv)
{
    ilink l = *assoc_bucket_locked(s, hv);
    while (l != LINK_NONE) {
        item *it = it_at(s, l);
        if (it->nkey == nkey && assoc_key_equal(item_key(it), key, nkey))
            return it;
        l = it->hnext;
    }
    return NULL;
}

/* Puts it at the head of its chain. The key's stripe lock held. */
void assoc_insert_locked(store *s, item *it, uint64_t hv)
{
    ilink *b = assoc_bucket_locked(s, hv);
    it->hnext = *b;
    __atomic_store_n(b, it_link_of(s, it), __ATOMIC_RELAXED);   /* read unlocked: see top */
    atomic_fetch_add_explicit(&s->assoc.items, 1, memory_order_relaxed);
}

/* Takes it out of its chain, if there. The key's stripe lock held. */
void assoc_delete_locked(store *s, item *it, uint64_t hv)
{
    ilink target = it_link_of(s, it);
    ilink *pl = assoc_bucket_locked(s, hv);
    while (*pl != LINK_NONE && *pl != target)
        pl = &it_at(s, *pl)->hnext;
    if (*pl == LINK_NONE)
        return;
    __atomic_store_n(pl, it->hnext, __ATOMIC_RELAXED);   /* may be a bucket: see top */
    it->hnext = LINK_NONE;
    atomic_fetch_sub_explicit(&s->assoc.items, 1, memory_order_relaxed);
}

/* Begins a doubling. expand_lock held. */
static void assoc_expand_start_locked(store *s)
{
    struct assoc *a = &s->assoc;
    if (a->power >= HASH_POWER_MAX)
        return;
    ilink *bigger = assoc_table_new(a->power + 1);
    if (bigger == NULL)
        return;   /* keep the current table; chains grow longer, still correct */
    assoc_lock_all(s);
    a->old = a->primary;
    /* the table before its power, for the unlocked readers (see top) */
    __atomic_store_n(&a->primary, bigger, __ATOMIC_RELEASE);
    __atomic_store_n(&a->power, a->power + 1, __ATOMIC_RELEASE);
    atomic_store_explicit(&a->grow_at, assoc_grow_threshold(a->power), memory_order_relaxed);
    atomic_store_explicit(&a->expand_bucket, 0, memory_order_relaxed);
    atomic_store_explicit(&a->expanding, true, memory_order_relaxed);
    assoc_unlock_all(s);
}

/* Moves old bucket ob into the new table. expand_lock held. */
static void assoc_move_bucket_locked(store *s, uint64_t ob)
{
    struct assoc *a = &s->assoc;
    uint64_t mask = ((uint64_t)1 << a->power) - 1;
    pthread_mutex_t *lock = &a->stripes[ob & a->stripe_mask];
    pthread_mutex_lock(lock);
    ilink l = a->old[ob];
    while (l != LINK_NONE) {
        item *it = it_at(s, l);
        ilink next = it->hnext;
        uint64_t nb = assoc_hash(a->seed, item_key(it), it->nkey) & mask;
        it->hnext = a->primary[nb];
        __atomic_store_n(&a->primary[nb], l, __ATOMIC_RELAXED);
        l = next;
    }
    __atomic_store_n(&a->old[ob], LINK_NONE, __ATOMIC_RELAXED);
    atomic_store_explicit(&a->expand_bucket, ob + 1, memory_order_release);
    pthread_mutex_unlock(lock);
}

/* Retires the old table once every bucket has moved: emptied, kept mapped
 * for unlocked readers (see top). expand_lock held. */
static void assoc_expand_finish_locked(store *s)
{
    struct assoc *a = &s->assoc;
    assoc_lock_all(s);
    ilink *old = a->old;
    a->old = NULL;
    atomic_store_explicit(&a->expanding, false, memory_order_relaxed);
    assoc_unlock_all(s);
    unsigned old_power = a->power - 1;
    madvise(old, assoc_table_bytes(old_power), MADV_DONTNEED);
    a->retired[old_power] = old;
}

void assoc_maintain(store *s, unsigned buckets)
{
    struct assoc *a = &s->assoc;
    if (!s->cfg.hash_expand)
        return;   /* -o no_hashexpand: chains grow instead, as memcached's */
    if (!assoc_maintain_due(s))
        return;
    if (pthread_mutex_trylock(&a->expand_lock) != 0)
        return;   /* someone else is at it */
    if (!atomic_load_explicit(&a->expanding, memory_order_relaxed)) {
        uint64_t items = atomic_load_explicit(&a->items, memory_order_relaxed);
        if (items > assoc_grow_threshold(a->power))
            assoc_expand_start_locked(s);
    } else {
        uint64_t old_size = (uint64_t)1 << (a->power - 1);
        uint64_t ob = atomic_load_explicit(&a->expand_bucket, memory_order_relaxed);
        for (unsigned i = 0; i < buckets && ob < old_size; i++, ob++)
            assoc_move_bucket_locked(s, ob);
        if (ob >= old_size)
            assoc_expand_finish_locked(s);
    }
    pthread_mutex_unlock(&a->expand_lock);
}

/* Calls fn on each item of one physical chain; fn may unlink that item. */
static void assoc_walk_chain(store *s, ilink l, assoc_visit_fn fn, void *arg)
{
    while (l != LINK_NONE) {
        item *it = it_at(s, l);
        l = it->hnext;   /* before fn: it may unlink (and free) it */
        fn(s, it, arg);
    }
}

/* Visits logical bucket b of level `level` (see the top comment). Its stripe held. */
static void assoc_walk_bucket_locked(store *s, unsigned level, uint64_t b, assoc_visit_fn fn,
                                     void *arg)
{
    struct assoc *a = &s->assoc;
    uint64_t step = (uint64_t)1 << level;
    if (!atomic_load_explicit(&a->expanding, memory_order_relaxed)) {
        for (uint64_t pb = b; pb < ((uint64_t)1 << a->power); pb += step)
            assoc_walk_chain(s, a->primary[pb], fn, arg);
        return;
    }
    uint64_t old_size = (uint64_t)1 << (a->power - 1);
    uint64_t moved = atomic_load_explicit(&a->expand_bucket, memory_order_acquire);
    for (uint64_t ob = b; ob < old_size; ob += step) {
        if (ob >= moved) {
            assoc_walk_chain(s, a->old[ob], fn, arg);
        } else {
            assoc_walk_chain(s, a->primary[ob], fn, arg);
            assoc_walk_chain(s, a->primary[ob + old_size], fn, arg);
        }
    }
}

/* The level a new walk uses: the settled power. Read under stripe 0, which
 * growth's start and end take too. */
static unsigned assoc_walk_level(store *s)
{
    struct assoc *a = &s->assoc;
    pthread_mutex_lock(&a->stripes[0]);
    unsigned level = a->power;
    if (atomic_load_explicit(&a->expanding, memory_order_relaxed))
        level--;
    pthread_mutex_unlock(&a->stripes[0]);
    return level;
}

bool assoc_walk(store *s, struct store_walk *cur, unsigned buckets, assoc_visit_fn fn,
                void *arg)
{
    struct assoc *a = &s->assoc;
    if (!cur->started) {
        cur->level = assoc_walk_level(s);
        cur->next = 0;
        cur->started = true;
    }
    uint64_t total = (uint64_t)1 << cur->level;
    for (unsigned i = 0; i < buckets && cur->next < total; i++, cur->next++) {
        pthread_mutex_t *lock = &a->stripes[cur->next & a->stripe_mask];
        pthread_mutex_lock(lock);
        assoc_walk_bucket_locked(s, cur->level, cur->next, fn, arg);
        pthread_mutex_unlock(lock);
    }
    return cur->next < total;
}

unsigned assoc_power(store *s)
{
    pthread_mutex_lock(&s->assoc.expand_lock);
    unsigned p = s->assoc.power;
    pthread_mutex_unlock(&s->assoc.expand_lock);
    return p;
}

bool assoc_expanding(store *s)
{
    return atomic_load(&s->assoc.expanding);
}
