/*
 * sizes: the histogram of the bytes linked items need, always on.
 *
 * Why always: the advisor (advisor.c, `slabs advise`) and the class table
 * retune need the live size distribution, and memcached's `-o track_sizes`
 * only decides whether `stats sizes` shows it (the server's business).
 *
 * Cost: it_link_locked and the unlinks call sizes_note_locked (internal.h):
 * the size from the header, a bucket index and one relaxed atomic add into
 * the key's shard, no lock. A read sums the shards (STORE_SIZES_BUCKETS x
 * SIZES_SHARDS loads); stores go on meanwhile, so the sum is a moment's.
 */
#include "slabs/internal.h"

#include <stdlib.h>

uint64_t store_sizes_bucket_upper(unsigned b)
{
    if (b < STORE_SIZES_FINE_BUCKETS)
        return (uint64_t)(b + 1) * STORE_SIZES_STEP;
    unsigned coarse = b - STORE_SIZES_FINE_BUCKETS;
    unsigned log2 = STORE_SIZES_FINE_LOG2 + coarse / STORE_SIZES_SUBS;
    uint64_t width = (uint64_t)1 << (log2 - STORE_SIZES_SUBS_LOG2);
    return ((uint64_t)1 << log2) + (uint64_t)(coarse % STORE_SIZES_SUBS + 1) * width;
}

unsigned store_sizes_bucket_of(uint64_t nbytes)
{
    return sizes_bucket_of(nbytes);
}

/* The middle of a coarse bucket: its bytes' estimate per item. */
static uint64_t sizes_coarse_middle(unsigned b)
{
    uint64_t lower = store_sizes_bucket_upper(b - 1);
    return lower + (store_sizes_bucket_upper(b) - lower + 1) / 2;
}

void store_sizes(store *s, struct store_sizes *out)
{
    const uint64_t slack_mask = ((uint64_t)1 << SIZES_COUNT_SHIFT) - 1;
    for (unsigned b = 0; b < STORE_SIZES_BUCKETS; b++) {
        uint64_t sum = 0;
        for (unsigned sh = 0; sh < SIZES_SHARDS; sh++)
            sum += atomic_load_explicit(&s->sizes.cell[sh][b], memory_order_relaxed);
        uint64_t n = sum >> SIZES_COUNT_SHIFT;
        out->items[b] = n;
        if (b < STORE_SIZES_FINE_BUCKETS)
            out->bytes[b] = n * store_sizes_bucket_upper(b) - (sum & slack_mask);
        else
            out->bytes[b] = n * sizes_coarse_middle(b);
    }
}

bool store_advise(store *s, struct store_advice *out)
{
    struct store_sizes *h = malloc(sizeof(*h));
    if (h == NULL)
        return false;
    store_sizes(s, h);
    uint32_t sizes[CLASS_MAX];
    unsigned first, last, nlive = 0;
    slab_live_range(s, &first, &last);
    for (unsigned c = first; c <= last; c++)
        sizes[nlive++] = s->classes[c].size;
    uint32_t page = s->cfg.page_size, top = s->cfg.chunk_max;
    uint64_t limit = atomic_load_explicit(&s->mem_limit, memory_order_relaxed);
    struct adv_geometric g = { 0 };
    uint32_t floor = (uint32_t)(s->hdr_base + 1);
    if (floor < s->cfg.chunk_min)
        floor = s->cfg.chunk_min;   /* memcached's floor for -o slab_sizes: -n */
    bool ok = adv_eval(h, sizes, nlive, page, limit, &out->current) &&
              adv_best_geometric(h, s->hdr_base, top, page, limit, &g);
    unsigned n = ok ? adv_best_free(h, nlive, floor, top, out->free_sizes) : 0;
    ok = n > 0 && adv_eval(h, out->free_sizes, n, page, limit, &out->free_form);
    out->geometric = g.result;
    out->factor = g.factor;
    out->chunk_min = g.chunk_min;
    free(h);
    return ok;
}
