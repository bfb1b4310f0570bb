/*
 * restart: warm restart (-e <memory file>), memcached 1.6.45's restart.c
 * behaviour in our own layout.
 *
 * With a memory file the arena is not anonymous memory but the file, mapped
 * MAP_SHARED, so item memory outlives the process:
 *
 *     file:  | header region                       | arena: page 0 | page 1 | ...
 *            | struct warm_meta | page_class[pages] |
 *            |                  | page_state[pages] | (padding to a system page)
 *
 * A planned stop (SIGUSR1, `shutdown graceful`) calls store_save: the
 * background threads stop, the metadata (what shapes memory: -m, -I, -n,
 * -f, slab_chunk_max, -C and the class table; the page table; each class's
 * carving point; the process clock; the CAS counter; the flush state; the
 * hash power) is written into the header with two checksums, one over the
 * metadata and one over the item memory of every page ever cut (xxh3, a
 * few ms for 64 MB), and the magic is written last.
 *
 * The next store_create with the same file checks, in order: the magic (a
 * file not saved by a graceful stop has none: the magic is wiped as soon as
 * a store maps the file, so a crash leaves it unclean), the format version,
 * the metadata checksum, the settings, the file size, the item checksum.
 * Any failure starts with an empty cache and says why in one line
 * (store_warm_status), as memcached starts clean on a mismatch rather than
 * refusing to start. Otherwise warm_resume puts the saved page table back,
 * continues the saved process clock (so exptimes stay right), and walks
 * every chunk of every class page: free chunks go back on the free lists,
 * linked items that are still alive go back into the hash table and their
 * LRU segment with their CAS, flags and times, dead or unlinked ones are
 * freed; then the data chunks of chains are kept when their head was.
 * Links between items are arena offsets, so the file may map at any
 * address: nothing is fixed up.
 *
 * The file is sized with posix_fallocate, so a file system without room
 * fails at start with a clear error instead of a SIGBUS later. An flock
 * keeps a second server off a file in use. The arena is exactly the -m
 * pages: a raise of the limit at run time is clamped to it.
 */
#include "slabs/internal.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define WARM_MAGIC "slabwarm"
#define WARM_MAGIC_SIZE 8
#define WARM_VERSION 3   /* 3: the 30-byte item header, 16-bit refcount */
#define WARM_FILE_MODE 0600
#define WARM_SUM_SEED 0x736c616263616368ull   /* any fixed value: "slabcach" */

/* A class as saved: its chunk size (the class table must match) and where
 * its carving stopped. */
struct warm_class {
    uint32_t size;
    uint32_t end_left;      /* chunks never carved in end_page */
    uint64_t end_page;      /* PAGE_NONE when end_left is 0 */
};

struct warm_meta {
    char magic[WARM_MAGIC_SIZE];
    uint32_t version;
    uint32_t nclasses;
    uint64_t meta_sum;      /* xxh3 of the header region, magic and this zeroed */
    uint64_t items_sum;     /* xxh3 of the arena's first pages_used pages */
    /* what shapes memory (compared by warm_settings_differ) */
    uint64_t mem_limit;
    uint32_t page_size;
    uint32_t chunk_min;
    uint32_t chunk_max;
    uint32_t use_cas;
    double factor;
    uint64_t pages;         /* pages in the file */
    /* the state to resume */
    uint64_t pages_used;
    uint64_t arena_base;    /* where it was mapped (shown only: links are offsets) */
    int64_t process_started;
    int64_t stop_time;      /* unix time of the save */
    uint64_t cas_seq;
    uint64_t flush_word;
    uint64_t oldest_cas;
    uint64_t items;         /* linked items at the save */
    uint32_t hash_power;
    uint32_t oldest_cas_at; /* process time of the CAS flush (meta E items) */
    uint32_t live_first;    /* classes below it were retired by a retune */
    uint32_t unused;
    struct warm_class classes[CLASS_MAX + 1];
    uint8_t pages_table[];  /* page_class[pages], then page_state[pages] */
};

static uint64_t sys_page(void)
{
    long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? (uint64_t)p : 4096;
}

static uint64_t region_for(uint64_t pages)
{
    uint64_t need = sizeof(struct warm_meta) + 2 * pages;
    uint64_t sp = sys_page();
    return (need + sp - 1) / sp * sp;
}

static uint64_t meta_sum(const struct warm_meta *m, uint64_t region)
{
    struct warm_meta head;
    memcpy(&head, m, sizeof(head));   /* bytes, padding included, as saved */
    memset(head.magic, 0, sizeof(head.magic));
    head.meta_sum = 0;
    uint64_t sum = assoc_hash(WARM_SUM_SEED, (const char *)&head, sizeof(head));
    return assoc_hash(sum, (const char *)m->pages_table, region - sizeof(*m));
}

static uint64_t items_sum(const store *s, uint64_t pages_used)
{
    return assoc_hash(WARM_SUM_SEED, s->arena, pages_used * s->cfg.page_size);
}

static void warm_note(store *s, enum store_warm status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void warm_note(store *s, enum store_warm status, const char *fmt, ...)
{
    int n = snprintf(s->warm.note, sizeof(s->warm.note), "memory file %s: ", s->cfg.memory_file);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof(s->warm.note))
        vsnprintf(s->warm.note + n, sizeof(s->warm.note) - (size_t)n, fmt, ap);
    va_end(ap);
    s->warm.status = status;
}

/* The first setting that shaped the saved memory differently, named by its
 * flag, into the note; false when all match. */
static bool warm_settings_differ(store *s, const struct warm_meta *m)
{
    const struct store_config *c = &s->cfg;
    const struct {
        const char *name;
        uint64_t saved, now;
    } rows[] = {
        { "-m (bytes)", m->mem_limit, c->mem_limit },
        { "-I", m->page_size, c->page_size },
        { "-n", m->chunk_min, c->chunk_min },
        { "slab_chunk_max", m->chunk_max, c->chunk_max },
        { "cas (-C)", m->use_cas, c->use_cas },
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        if (rows[i].saved != rows[i].now) {
            warm_note(s, STORE_WARM_COLD,
                      "saved with %s %llu, now %llu: starting with an empty cache",
                      rows[i].name, (unsigned long long)rows[i].saved,
                      (unsigned long long)rows[i].now);
            return true;
        }
    if (m->factor != c->factor) {
        warm_note(s, STORE_WARM_COLD, "saved with -f %g, now %g: starting with an empty cache",
                  m->factor, c->factor);
        return true;
    }
    /* a retune appends classes: today's table must be the saved one's start */
    unsigned n0 = slab_nclasses(s);
    if (m->nclasses < n0 || m->nclasses > CLASS_MAX || m->live_first == 0 ||
        m->live_first > m->nclasses) {
        warm_note(s, STORE_WARM_COLD,
                  "saved with %u slab classes (live from %u), now %u: %s", m->nclasses,
                  m->live_first, n0, "starting with an empty cache");
        return true;
    }
    for (unsigned cls = 1; cls <= n0; cls++)
        if (m->classes[cls].size != s->classes[cls].size) {
            warm_note(s, STORE_WARM_COLD,
                      "class %u was %u bytes, now %u: starting with an empty cache", cls,
                      m->classes[cls].size, s->classes[cls].size);
            return true;
        }
    return false;
}

/* The saved page table names only pages, classes and states that exist. */
static bool warm_tables_sane(const store *s, const struct warm_meta *m)
{
    if (m->pages_used > m->pages)
        return false;
    const uint8_t *cls = m->pages_table, *state = m->pages_table + m->pages;
    for (uint64_t pg = 0; pg < m->pages_used; pg++) {
        bool owned = state[pg] == PAGE_CLASS || state[pg] == PAGE_DRAINING;
        if (state[pg] > PAGE_RELEASED || (owned && (cls[pg] == 0 || cls[pg] > m->nclasses)))
            return false;
    }
    for (unsigned c = 1; c <= m->nclasses; c++) {
        const struct warm_class *wc = &m->classes[c];
        if (wc->size < CHUNK_ALIGN || wc->size > s->cfg.page_size)
            return false;
        if (wc->end_left == 0)
            continue;
        if (wc->end_page >= m->pages_used || wc->end_left > s->cfg.page_size / wc->size ||
            state[wc->end_page] != PAGE_CLASS || cls[wc->end_page] != c)
            return false;
    }
    return true;
}

static const char *const cold = "starting with an empty cache";

/*
 * Reads and checks the saved header region of an open file of file_size
 * bytes; keeps a copy in s->warm.saved when it may be resumed (the item
 * checksum is checked once mapped). Otherwise the note says why not.
 */
static void warm_check_saved(store *s, uint64_t file_size, uint64_t pages)
{
    struct warm_meta head;
    if (file_size == 0) {
        warm_note(s, STORE_WARM_NEW, "no saved cache, %s", cold);
        return;
    }
    if (file_size < sizeof(head) ||
        pread(s->warm.fd, &head, sizeof(head), 0) != (ssize_t)sizeof(head) ||
        memcmp(head.magic, WARM_MAGIC, WARM_MAGIC_SIZE) != 0) {
        warm_note(s, STORE_WARM_COLD, "not saved by a graceful stop, %s", cold);
        return;
    }
    if (head.version != WARM_VERSION) {
        warm_note(s, STORE_WARM_COLD, "format version %u (this build reads %u), %s",
                  head.version, WARM_VERSION, cold);
        return;
    }
    uint64_t region = head.pages <= ARENA_MAX / PAGE_SIZE_MIN ? region_for(head.pages) : 0;
    if (region == 0 || file_size < region) {
        warm_note(s, STORE_WARM_COLD, "truncated or corrupt header, %s", cold);
        return;
    }
    struct warm_meta *m = malloc(region);
    if (m == NULL || pread(s->warm.fd, m, region, 0) != (ssize_t)region ||
        meta_sum(m, region) != m->meta_sum) {
        free(m);
        warm_note(s, STORE_WARM_COLD, "metadata checksum mismatch, %s", cold);
        return;
    }
    if (warm_settings_differ(s, m)) {
        free(m);
        return;
    }
    uint64_t want = region_for(pages) + pages * s->cfg.page_size;
    if (m->pages != pages || file_size != want || !warm_tables_sane(s, m)) {
        warm_note(s, STORE_WARM_COLD, "%llu bytes where %llu were saved, %s",
                  (unsigned long long)file_size, (unsigned long long)want, cold);
        free(m);
        return;
    }
    s->warm.saved = m;
}

/* Gives the file its size with real blocks behind it (fails without room). */
static int warm_size_file(store *s, uint64_t size, char *err, size_t errlen)
{
    int rc = ftruncate(s->warm.fd, (off_t)size) != 0 ? errno : 0;
    if (rc == 0)
        rc = posix_fallocate(s->warm.fd, 0, (off_t)size);
    if (rc != 0) {
        snprintf(err, errlen, "cannot size the memory file %s to %llu bytes: %s",
                 s->cfg.memory_file, (unsigned long long)size, strerror(rc));
        return -1;
    }
    return 0;
}

/* Wipes the magic and makes that durable: from here on a crash leaves the
 * file unclean, so the next start is cold. */
static void warm_mark_unclean(store *s)
{
    memset(s->warm.map, 0, WARM_MAGIC_SIZE);
    (void)msync(s->warm.map, sys_page(), MS_SYNC);
}

static int warm_open(store *s, char *err, size_t errlen)
{
    const char *path = s->cfg.memory_file;
    s->warm.fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, WARM_FILE_MODE);
    if (s->warm.fd < 0) {
        snprintf(err, errlen, "cannot open the memory file %s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(s->warm.fd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(err, errlen, "the memory file %s is in use by another process", path);
        return -1;
    }
    return 0;
}

int warm_map(store *s, uint64_t arena_bytes, char *err, size_t errlen)
{
    struct warm *w = &s->warm;
    uint64_t pages = arena_bytes / s->cfg.page_size;
    struct stat st;
    if (warm_open(s, err, errlen) != 0)
        goto fail;
    if (fstat(w->fd, &st) != 0) {
        snprintf(err, errlen, "cannot stat the memory file %s: %s", s->cfg.memory_file,
                 strerror(errno));
        goto fail;
    }
    warm_check_saved(s, (uint64_t)st.st_size, pages);
    w->region = region_for(pages);
    w->map_size = w->region + arena_bytes;
    /* a saved file keeps its size; its blocks are made sure of all the same */
    if (warm_size_file(s, w->map_size, err, errlen) != 0)
        goto fail;
    w->map = mmap(NULL, w->map_size, PROT_READ | PROT_WRITE, MAP_SHARED, w->fd, 0);
    if (w->map == MAP_FAILED) {
        w->map = NULL;
        snprintf(err, errlen, "cannot map the memory file %s: %s", s->cfg.memory_file,
                 strerror(errno));
        goto fail;
    }
    s->arena = w->map + w->region;
    if (w->saved != NULL && items_sum(s, w->saved->pages_used) != w->saved->items_sum) {
        warm_note(s, STORE_WARM_COLD, "item memory checksum mismatch, %s", cold);
        free(w->saved);
        w->saved = NULL;
    }
    warm_mark_unclean(s);
    return 0;
fail:
    free(w->saved);
    w->saved = NULL;
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    return -1;
}

void warm_unmap(store *s)
{
    struct warm *w = &s->warm;
    if (w->map != NULL)
        munmap(w->map, w->map_size);
    w->map = NULL;
    free(w->saved);
    w->saved = NULL;
    close(w->fd);   /* lets the flock go */
    w->fd = -1;
}

unsigned warm_hash_power(const store *s, unsigned want)
{
    const struct warm_meta *m = s->warm.saved;
    return m != NULL && m->hash_power > want && m->hash_power <= HASH_POWER_MAX ? m->hash_power
                                                                                : want;
}

/* ---- the resume walk ---- */

/* A plain item or a chain's head found in a resumed page: relinked when it
 * was linked and is alive, else freed. Returns whether it was kept. */
static bool resume_item(store *s, item *it, rel_time_t now)
{
    uint8_t f = iflags_get(it);
    bool keep = (f & ITEM_LINKED) && key_ok(it->nkey);
    atomic_store_explicit(&it->iflags, (uint8_t)(f & ~ITEM_LINKED), memory_order_relaxed);
    atomic_store_explicit(&it->refcount, 0, memory_order_relaxed);
    if (!keep || it_is_dead(s, it, now, NULL)) {
        slab_resume_free(s, it);
        return false;
    }
    slab_resume_used(s, it, it_total_size(s, it));
    struct key_lock k = key_lock_for(s, item_key(it), it->nkey);
    key_lock(&k);
    it_resume_link_locked(s, it, k.hv);
    key_unlock(&k);
    return true;
}

/* A chain's data chunk: kept when its head was (the head is linked now). */
static void resume_data_chunk(store *s, item *it)
{
    const item *head = NULL;
    if (it->hnext != LINK_NONE && ((uint64_t)(it->hnext - 1) << LINK_SHIFT) < s->arena_size)
        head = it_at(s, it->hnext);
    atomic_store_explicit(&it->refcount, 0, memory_order_relaxed);
    if (head != NULL && it_kind(head) == IT_CHAINED && (iflags_get(head) & ITEM_LINKED))
        slab_resume_used(s, it, ITEM_HEADER_SIZE + it->nvalue);
    else
        slab_resume_free(s, it);
}

/* Visits every carved chunk of every class page: items first (chunks ==
 * false), then the data chunks of chains, which need their heads decided.
 * Returns the items kept. */
static uint64_t resume_chunks(store *s, bool chunks, rel_time_t now)
{
    uint64_t kept = 0;
    uint64_t used = atomic_load_explicit(&s->pages_used, memory_order_relaxed);
    for (uint64_t pg = 0; pg < used; pg++) {
        if (s->page_state[pg] != PAGE_CLASS)
            continue;
        unsigned cls = s->page_class[pg];
        uint32_t carved = slab_page_carved(s, pg, cls);
        char *page = s->arena + pg * s->cfg.page_size;
        for (uint32_t i = 0; i < carved; i++) {
            item *it = (item *)(page + (uint64_t)i * s->classes[cls].size);
            bool is_free = iflags_get(it) & ITEM_FREE;
            bool is_chunk = !is_free && it_kind(it) == IT_CHUNK;
            it->cls = (uint8_t)cls;
            if (chunks && is_chunk)
                resume_data_chunk(s, it);
            else if (!chunks && is_free)
                slab_resume_free(s, it);
            else if (!chunks && !is_chunk)
                kept += resume_item(s, it, now);
        }
    }
    return kept;
}

void warm_resume(store *s)
{
    struct warm_meta *m = s->warm.saved;
    if (m == NULL)
        return;   /* no file, or the note says why it starts empty */
    uint32_t sizes[CLASS_MAX + 1];
    for (unsigned c = 1; c <= m->nclasses; c++)
        sizes[c] = m->classes[c].size;
    slab_resume_classes(s, sizes, m->nclasses, m->live_first);
    const uint8_t *cls = m->pages_table, *state = m->pages_table + m->pages;
    for (uint64_t pg = 0; pg < m->pages_used; pg++)
        slab_resume_page(s, pg, cls[pg], state[pg]);
    for (unsigned c = 1; c <= m->nclasses; c++)
        if (m->classes[c].end_left > 0)
            slab_resume_carve(s, c, m->classes[c].end_page, m->classes[c].end_left);
    clock_resume((time_t)m->process_started);
    atomic_store_explicit(&s->cas_seq, m->cas_seq, memory_order_relaxed);
    atomic_store_explicit(&s->flush_word, m->flush_word, memory_order_relaxed);
    atomic_store_explicit(&s->oldest_cas, m->oldest_cas, memory_order_relaxed);
    atomic_store_explicit(&s->oldest_cas_at, m->oldest_cas_at, memory_order_relaxed);
    rel_time_t now = clock_now();
    uint64_t kept = resume_chunks(s, false, now);
    resume_chunks(s, true, now);
    long long away = (long long)clock_unix_now() - m->stop_time;
    warm_note(s, STORE_WARM_RESUMED, "resumed %llu of %llu items saved %llds ago",
              (unsigned long long)kept, (unsigned long long)m->items, away < 0 ? 0 : away);
    free(m);
    s->warm.saved = NULL;
}

/* ---- saving ---- */

static void warm_fill_meta(store *s, struct warm_meta *m)
{
    const struct store_config *c = &s->cfg;
    m->version = WARM_VERSION;
    m->nclasses = slab_nclasses(s);
    m->live_first = slab_live_first(s);
    m->mem_limit = c->mem_limit;
    m->page_size = c->page_size;
    m->chunk_min = c->chunk_min;
    m->chunk_max = c->chunk_max;
    m->use_cas = c->use_cas;
    m->factor = c->factor;
    m->pages = s->pages_reserved;
    m->pages_used = atomic_load_explicit(&s->pages_used, memory_order_relaxed);
    m->arena_base = (uint64_t)(uintptr_t)s->arena;
    m->process_started = (int64_t)clock_started();
    m->stop_time = (int64_t)clock_unix_now();
    m->cas_seq = atomic_load_explicit(&s->cas_seq, memory_order_relaxed);
    m->flush_word = atomic_load_explicit(&s->flush_word, memory_order_relaxed);
    m->oldest_cas = atomic_load_explicit(&s->oldest_cas, memory_order_relaxed);
    m->oldest_cas_at = atomic_load_explicit(&s->oldest_cas_at, memory_order_relaxed);
    m->items = atomic_load_explicit(&s->assoc.items, memory_order_relaxed);
    m->hash_power = assoc_power(s);
    for (unsigned cls = 1; cls <= m->nclasses; cls++) {
        const struct slab_class *sc = &s->classes[cls];
        struct warm_class *wc = &m->classes[cls];
        wc->size = sc->size;
        wc->end_left = sc->end_left;
        wc->end_page = sc->end_left > 0 ? slab_page_of(s, sc->end_ptr) : PAGE_NONE;
    }
    memcpy(m->pages_table, s->page_class, m->pages);
    memcpy(m->pages_table + m->pages, s->page_state, m->pages);
}

int store_save(store *s, char *err, size_t errlen)
{
    struct warm *w = &s->warm;
    if (w->fd < 0)
        return 0;
    crawler_stop(s);
    mover_stop(s);
    struct warm_meta *m = (struct warm_meta *)w->map;
    memset(m, 0, w->region);
    warm_fill_meta(s, m);
    m->items_sum = items_sum(s, m->pages_used);
    m->meta_sum = meta_sum(m, w->region);
    if (msync(w->map, w->map_size, MS_SYNC) != 0) {
        snprintf(err, errlen, "cannot write the memory file %s: %s", s->cfg.memory_file,
                 strerror(errno));
        return -1;
    }
    memcpy(m->magic, WARM_MAGIC, WARM_MAGIC_SIZE);   /* last: the file is whole */
    if (msync(w->map, sys_page(), MS_SYNC) != 0) {
        memset(m->magic, 0, WARM_MAGIC_SIZE);
        snprintf(err, errlen, "cannot write the memory file %s: %s", s->cfg.memory_file,
                 strerror(errno));
        return -1;
    }
    return 0;
}

enum store_warm store_warm_status(const store *s, char *note, size_t notelen)
{
    if (note != NULL && notelen > 0)
        snprintf(note, notelen, "%s", s->warm.note);
    return s->warm.status;
}
