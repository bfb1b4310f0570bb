/*
 * chain: items larger than the largest class (chunk_max), stored as a chain
 * of chunks, and the value-segment accessors of store.h for every item.
 *
 * Layout (also in internal.h): the head is a whole chunk of the largest
 * class holding the header, key, the link of the first data chunk and the
 * value's first bytes (segment 0); data chunks follow through their `next`
 * links, each with its byte count in `nvalue` and its head in `hnext`. All
 * data chunks are of the largest class but the last, which is the smallest
 * class that fits what is left, so a value costs about its size. The head is
 * linked in the hash table and the largest class's LRU like any item, and
 * its refcount counts for the whole chain (data chunks keep refcount 0).
 *
 * Allocation (chain_alloc, no lock held): the head, then each data chunk in
 * order. A class with no free chunk and no page to give first frees an item
 * near its LRU tail (a dead one, else, unless no_evict, the least recent one
 * nobody holds: a chain head there frees its whole chain) and tries again, a
 * few times; the last chunk may fall back to the largest class, whose LRU
 * holds the chains. Chunks are never reused in place here, because a chunk's
 * kind and owner change only in slab.c under its class's slab_lock (a page
 * mover reads them there). When a chunk cannot be had, what was built is
 * freed; the largest class, if it has no page at all, takes one from
 * another class (mover_page_for) and the chain is tried once more.
 *
 * Spill (chain_spill, it_alloc's last resort for an item that fits one
 * chunk): a full cache can have no page for a class while others have free
 * chunks (say -I 4m -m 64: 16 pages, 30 sizes). The item is then built from
 * chunks already free in any classes, the smallest that fits each piece or
 * else the largest smaller one, evicting nothing. A chained (large) item
 * never spills: 300 clients each starting a 1 MB store took every free chunk
 * of the small classes that way (a 1 MB value in 88-byte pieces), and a
 * small store then found no memory. Only when that fails too does the
 * allocation fail (STORE_NO_MEMORY, counted).
 *
 * Freeing (the last reference of the head, in it_unref): data chunks first,
 * in order, then the head, so a data chunk that is not free always has a
 * head that is not free.
 */
#include "slabs/internal.h"

#include <string.h>

/* Times a class frees a tail item and tries again for one chunk. */
#define CHAIN_ALLOC_TRIES 8

/* ---- layout ---- */

static char *chunk_data(const item *c)
{
    return (char *)c + ITEM_HEADER_SIZE;
}

/* Value bytes a data chunk of the largest class holds. */
static size_t chunk_data_max(const store *s)
{
    return s->classes[slab_nclasses(s)].size - ITEM_HEADER_SIZE;
}

static char *head_link_at(const item *head)
{
    return it_after_header(head) + head->nkey;
}

static ilink head_first(const item *head)
{
    ilink l;
    memcpy(&l, head_link_at(head), sizeof(l));
    return l;
}

static void head_set_first(item *head, ilink l)
{
    memcpy(head_link_at(head), &l, sizeof(l));
}

static char *head_seg0(const item *head)
{
    return head_link_at(head) + CHAIN_LINK_SIZE;
}

/* Bytes of the head before segment 0. */
static size_t head_overhead(const item *head)
{
    return (size_t)(head_seg0(head) - (const char *)head);
}

/* Segment 0: the value's first bytes, up to the end of the head's chunk. */
static size_t head_seg0_len(const store *s, const item *head)
{
    size_t room = s->classes[head->cls].size - head_overhead(head);
    return head->nvalue < room ? head->nvalue : room;
}

bool item_is_chained(const item *it)
{
    return it_kind(it) == IT_CHAINED;
}

size_t chain_head_size(const store *s, const item *head)
{
    return head_overhead(head) + head_seg0_len(s, head);
}

size_t chain_total_size(const store *s, const item *head)
{
    size_t total = chain_head_size(s, head);
    for (const item *c = it_at(s, head_first(head)); c != NULL; c = it_at(s, c->next))
        total += ITEM_HEADER_SIZE + c->nvalue;
    return total;
}

/* ---- segments (store.h) ---- */

void item_seg_begin(struct item_seg_iter *si, const store *s, const item *it)
{
    si->s = s;
    si->it = it;
    si->next = NULL;
    si->left = it->nvalue;
}

bool item_seg_next(struct item_seg_iter *si, struct store_seg *seg)
{
    if (si->left == 0)
        return false;
    const item *it = si->it;
    if (si->left == it->nvalue) {       /* segment 0: nothing given out yet */
        if (it_kind(it) == IT_CHAINED) {
            seg->ptr = head_seg0(it);
            seg->len = head_seg0_len(si->s, it);
            si->next = it_at(si->s, head_first(it));
        } else {
            seg->ptr = it_after_header(it) + it->nkey;
            seg->len = it->nvalue;
        }
    } else {
        const item *c = si->next;
        SLABS_CHECK(c != NULL && it_kind(c) == IT_CHUNK && c->hnext == it_link_of(si->s, it));
        seg->ptr = chunk_data(c);
        seg->len = c->nvalue;
        si->next = it_at(si->s, c->next);
    }
    SLABS_CHECK(seg->len > 0 && seg->len <= si->left);
    si->left -= seg->len;
    return true;
}

/* Copies the value's bytes [off, off + n) between buf and the segments that
 * hold them: into the item (into_item) or out of it. */
static void value_walk(const store *s, const item *it, size_t off, char *buf, size_t n,
                       bool into_item)
{
    struct item_seg_iter si;
    struct store_seg seg;
    size_t at = 0;
    SLABS_CHECK(off + n <= it->nvalue);
    for (item_seg_begin(&si, s, it); n > 0 && item_seg_next(&si, &seg); at += seg.len) {
        if (off >= at + seg.len)
            continue;
        size_t in = off - at;
        size_t take = seg.len - in < n ? seg.len - in : n;
        if (into_item)
            memcpy((char *)seg.ptr + in, buf, take);
        else
            memcpy(buf, seg.ptr + in, take);
        buf += take;
        off += take;
        n -= take;
    }
}

void item_value_write(store *s, item *it, size_t off, const void *src, size_t n)
{
    if (it_kind(it) == IT_PLAIN)
        memcpy(it_after_header(it) + it->nkey + off, src, n);
    else
        value_walk(s, it, off, (char *)src, n, true);
}

void item_value_read(const store *s, const item *it, size_t off, void *dst, size_t n)
{
    value_walk(s, it, off, dst, n, false);
}

/* ---- allocation and freeing ---- */

/* A head (head == LINK_NONE) or a data chunk of class cls accounted for nbytes. */
static item *chain_take_in(store *s, unsigned cls, size_t nbytes, ilink head)
{
    return head == LINK_NONE ? slab_alloc_head(s, cls, nbytes)
                             : slab_alloc_chunk(s, cls, nbytes, head);
}

/* Frees one item near cls's LRU tail: a dead one, else one to evict. */
static bool chain_make_room(store *s, unsigned cls)
{
    item *it = lru_take_tail(s, cls, false);
    if (it == NULL)
        it = lru_take_tail(s, cls, true);
    if (it == NULL)
        return false;
    it_unref(s, it);
    return true;
}

/*
 * The usual way: a chunk of class cls for nbytes, freeing tail items of cls
 * to make room; the largest class as a last resort (its LRU holds chains).
 */
static item *chain_take(store *s, size_t nbytes, ilink head)
{
    unsigned top = slab_nclasses(s), cls = slab_class_for(s, nbytes);
    for (int i = 0; i < CHAIN_ALLOC_TRIES; i++) {
        item *c = chain_take_in(s, cls, nbytes, head);
        if (c != NULL)
            return c;
        if (chain_make_room(s, cls))
            continue;
        /* A class of last chunks may hold no item of its own to free: a
         * chain freed in the largest class gives its last chunk back, which
         * costs far less than a chunk of the largest class for the rest. */
        if (cls != top && i + 1 < CHAIN_ALLOC_TRIES && chain_make_room(s, top))
            continue;
        if (cls == top)
            return NULL;
        cls = top;
    }
    return NULL;
}

/*
 * The spill way, when the usual one found nothing: a chunk already free (or
 * a page still to be had) in any class, evicting nothing: the smallest class
 * that fits want bytes, else the largest smaller one whose chunks hold more
 * than `least` bytes (the piece is then cut to that chunk).
 */
static item *chain_take_spill(store *s, size_t want, size_t least, ilink head)
{
    unsigned top = slab_nclasses(s), first = slab_class_for(s, want);
    if (first == 0)
        first = top;
    for (unsigned cls = first; cls <= top; cls++) {
        size_t size = s->classes[cls].size;
        item *c = chain_take_in(s, cls, want < size ? want : size, head);
        if (c != NULL)
            return c;
    }
    for (unsigned cls = first - 1; cls >= 1 && s->classes[cls].size > least; cls--) {
        item *c = chain_take_in(s, cls, s->classes[cls].size, head);
        if (c != NULL)
            return c;
    }
    return NULL;
}

static void chain_count_oom(store *s, unsigned cls)
{
    struct slab_class *sc = &s->classes[cls];
    class_mutex_lock(&sc->lru_lock);
    sc->outofmemory++;
    class_mutex_unlock(&sc->lru_lock);
}

/* Adds data chunks to head for the value bytes after segment 0. */
static bool chain_grow(store *s, item *head, bool spill)
{
    ilink hl = it_link_of(s, head);
    size_t per = chunk_data_max(s);
    size_t rest = head->nvalue - head_seg0_len(s, head);
    item *last = NULL;
    while (rest > 0) {
        size_t want = ITEM_HEADER_SIZE + (rest < per ? rest : per);
        item *c = spill ? chain_take_spill(s, want, ITEM_HEADER_SIZE, hl)
                        : chain_take(s, want, hl);
        if (c == NULL)
            return false;
        size_t room = s->classes[c->cls].size - ITEM_HEADER_SIZE;
        c->nvalue = (uint32_t)(rest < room ? rest : room);
        c->next = LINK_NONE;
        if (last == NULL)
            head_set_first(head, it_link_of(s, c));
        else
            last->next = it_link_of(s, c);
        last = c;
        rest -= c->nvalue;
    }
    return true;
}

/* A whole chain the usual or the spill way, or NULL (nothing kept). */
static item *chain_build(store *s, const char *key, size_t nkey, uint32_t flags,
                         rel_time_t exptime, size_t nvalue, bool spill)
{
    size_t over = it_size_for(s, nkey, flags, 0) + CHAIN_LINK_SIZE;
    size_t top_size = s->classes[slab_nclasses(s)].size;
    item *head = spill ? chain_take_spill(s, over + nvalue, over, LINK_NONE)
                       : chain_take(s, top_size, LINK_NONE);
    if (head == NULL)
        return NULL;
    it_init(s, head, head->cls, key, nkey, flags, exptime, (uint32_t)nvalue);
    head_set_first(head, LINK_NONE);
    if (chain_grow(s, head, spill))
        return head;
    it_unref(s, head);          /* frees the chunks taken so far */
    return NULL;
}

item *chain_alloc(store *s, const char *key, size_t nkey, uint32_t flags, rel_time_t exptime,
                  size_t nvalue, enum store_result *why)
{
    if (it_size_for(s, nkey, flags, nvalue) > s->cfg.page_size) {
        if (why != NULL)
            *why = STORE_TOO_LARGE;
        return NULL;
    }
    item *head = chain_build(s, key, nkey, flags, exptime, nvalue, false);
    /* The largest class without a page at all takes one at once (as it_alloc). */
    if (head == NULL && !s->cfg.no_evict && mover_page_for(s, slab_nclasses(s)))
        head = chain_build(s, key, nkey, flags, exptime, nvalue, false);
    if (head == NULL) {
        chain_count_oom(s, slab_nclasses(s));
        if (why != NULL)
            *why = STORE_NO_MEMORY;
    }
    return head;
}

item *chain_spill(store *s, const char *key, size_t nkey, uint32_t flags, rel_time_t exptime,
                  size_t nvalue)
{
    return chain_build(s, key, nkey, flags, exptime, nvalue, true);
}

void chain_free_data(store *s, item *head)
{
    ilink l = head_first(head);
    while (l != LINK_NONE) {
        item *c = it_at(s, l);
        SLABS_CHECK(it_kind(c) == IT_CHUNK && c->hnext == it_link_of(s, head));
        l = c->next;
        slab_free(s, c, ITEM_HEADER_SIZE + c->nvalue);
    }
}
