/*
 * advisor: which chunk class table wastes least for the sizes stored, as
 * pure functions of a size histogram (struct store_sizes) so that the unit
 * suite checks them on synthetic distributions with known optima.
 *
 * The cost of a table is the chunk bytes its items take: each item goes to
 * the smallest class that holds it, so a histogram bucket of n items whose
 * upper bound is u costs n * (smallest class >= u). Class sizes are
 * multiples of 8 and fine buckets are 8 bytes wide, so below
 * STORE_SIZES_FINE_MAX this is exact (every item of a bucket lands in the
 * same class) and the waste is chunk bytes - the bucket's exact bytes. A
 * coarse bucket is charged at its upper bound's class (an estimate).
 * Items larger than the largest class (chunk_max) are chains, in no table:
 * counted apart, never weighed.
 *
 * The best free-form table of at most K classes (chunk_max being the last)
 * is a dynamic program over the m non-empty buckets B_0 < ... < B_{m-1}
 * (upper bounds u_j, prefix item counts P): some optimal table only has
 * class sizes at upper bounds of non-empty buckets (lowering a class to the
 * largest item it holds never costs more), so with
 *     f[k][j] = least cost of buckets 0..j with k classes, the k-th = u_j
 *     f[1][j] = P[j+1] * u_j
 *     f[k][j] = min over i < j, u_j > u_i + 8 of f[k-1][i] + (P[j+1] - P[i+1]) * u_j
 * the answer is the least of f[k][i] + (P[m] - P[i+1]) * chunk_max over
 * k <= K-1 and i (the rest in chunk_max), or P[m] * chunk_max. The gap rule
 * (each size more than 8 above the last) is memcached's for -o slab_sizes,
 * so the table printed is one both servers accept; sizes below the -n
 * minimum are not candidates either. O(K m^2) time, O(K m) memory for the
 * choices: m is at most STORE_SIZES_BUCKETS and usually a few dozen.
 *
 * The best geometric table tries every -f from ADV_FACTOR_MIN to
 * ADV_FACTOR_MAX in steps of ADV_FACTOR_STEP with every -n whose smallest
 * chunk is at most the smallest bucket's bound, built by the very function
 * the store builds its table with (slab_geometric_table), and keeps the
 * cheapest.
 *
 * Items a table would hold at the limit: each class's share of the items
 * takes page_size / perslab bytes per item (the chunk and its share of the
 * page's tail), so limit / the mean of that is the estimate.
 */
#include "slabs/internal.h"

#include <math.h>
#include <stdlib.h>

#define ADV_FACTOR_MIN 1.01
#define ADV_FACTOR_MAX 2.0
#define ADV_FACTOR_STEP 0.01
#define ADV_PERCENT 100.0
#define ADV_NO_CHOICE UINT16_MAX

/* The non-empty buckets within the table range, in order, and the items
 * beyond it (chains). */
struct adv_buckets {
    unsigned m;
    uint64_t chained;
    uint64_t upper[STORE_SIZES_BUCKETS];
    uint64_t items[STORE_SIZES_BUCKETS];
    uint64_t bytes[STORE_SIZES_BUCKETS];
    uint64_t prefix[STORE_SIZES_BUCKETS + 1];   /* items of buckets < j */
};

static struct adv_buckets *adv_buckets_new(const struct store_sizes *h, uint32_t chunk_max)
{
    struct adv_buckets *b = malloc(sizeof(*b));
    if (b == NULL)
        return NULL;
    b->m = 0;
    b->chained = 0;
    b->prefix[0] = 0;
    for (unsigned i = 0; i < STORE_SIZES_BUCKETS; i++) {
        uint64_t u = store_sizes_bucket_upper(i);
        if (h->items[i] == 0)
            continue;
        if (u > chunk_max) {
            b->chained += h->items[i];
            continue;
        }
        b->upper[b->m] = u;
        b->items[b->m] = h->items[i];
        b->bytes[b->m] = h->bytes[i];
        b->prefix[b->m + 1] = b->prefix[b->m] + h->items[i];
        b->m++;
    }
    return b;
}

/* adv_eval over compact buckets; sizes[n - 1] is their chunk_max. */
static void adv_eval_buckets(const struct adv_buckets *b, const uint32_t *sizes, unsigned n,
                             uint32_t page_size, uint64_t mem_limit, struct store_table_cost *out)
{
    double page_bytes = 0;   /* sum over items of page_size / perslab */
    *out = (struct store_table_cost){ .classes = n, .chained = b->chained };
    unsigned c = 0;
    for (unsigned j = 0; j < b->m; j++) {
        while (sizes[c] < b->upper[j])
            c++;
        out->items += b->items[j];
        out->requested += b->bytes[j];
        out->chunk_bytes += b->items[j] * sizes[c];
        page_bytes += (double)b->items[j] * page_size / (double)(page_size / sizes[c]);
    }
    out->waste_pct = out->chunk_bytes == 0 ? 0
                     : ADV_PERCENT * (double)(out->chunk_bytes - out->requested) /
                           (double)out->chunk_bytes;
    out->items_at_limit = page_bytes == 0 ? 0
                          : (uint64_t)llround((double)mem_limit * (double)out->items / page_bytes);
}

bool adv_eval(const struct store_sizes *h, const uint32_t *sizes, unsigned n,
              uint32_t page_size, uint64_t mem_limit, struct store_table_cost *out)
{
    struct adv_buckets *b = adv_buckets_new(h, sizes[n - 1]);
    if (b == NULL)
        return false;
    adv_eval_buckets(b, sizes, n, page_size, mem_limit, out);
    free(b);
    return true;
}

/* Cost of buckets (i, j] (indices into b) in a class of size `size`. */
static uint64_t adv_span_cost(const struct adv_buckets *b, unsigned i_excl, unsigned j,
                              uint64_t size)
{
    return (b->prefix[j + 1] - b->prefix[i_excl]) * size;
}

/* f[k][j] (k classes, the k-th of size upper[j]) from row k - 1, and the
 * bucket its previous class ends at; f[(k-1)*m + j], UINT64_MAX = none. */
static void adv_dp_cell(const struct adv_buckets *b, uint64_t *f, uint16_t *choice,
                        unsigned k, unsigned j)
{
    unsigned m = b->m;
    uint64_t *fj = &f[(size_t)(k - 1) * m + j];
    if (k == 1) {
        *fj = adv_span_cost(b, 0, j, b->upper[j]);
        return;
    }
    for (unsigned i = 0; i < j; i++) {
        uint64_t prev = f[(size_t)(k - 2) * m + i];
        if (prev == UINT64_MAX || b->upper[j] <= b->upper[i] + CHUNK_ALIGN)
            continue;   /* no table, or memcached's gap rule */
        uint64_t cost = prev + adv_span_cost(b, i + 1, j, b->upper[j]);
        if (cost < *fj) {
            *fj = cost;
            choice[(size_t)(k - 1) * m + j] = (uint16_t)i;
        }
    }
}

/* Writes the sizes the choices lead to, ending at bucket j with k classes. */
static unsigned adv_unwind(const struct adv_buckets *b, const uint16_t *choice, unsigned m,
                           unsigned k, unsigned j, uint32_t *sizes)
{
    for (unsigned c = k; c >= 1; c--) {
        sizes[c - 1] = (uint32_t)b->upper[j];
        j = choice[(size_t)(c - 1) * m + j];
    }
    return k;
}

unsigned adv_best_free(const struct store_sizes *h, unsigned max_classes, uint32_t min_size,
                       uint32_t chunk_max, uint32_t sizes[CLASS_MAX])
{
    struct adv_buckets *b = max_classes == 0 ? NULL : adv_buckets_new(h, chunk_max);
    if (b == NULL)
        goto none;
    unsigned m = b->m, kmax = max_classes - 1;   /* free classes below chunk_max */
    if (kmax > m)
        kmax = m;
    uint64_t *f = malloc(sizeof(*f) * (size_t)(kmax + 1) * (m + 1));
    uint16_t *choice = malloc(sizeof(*choice) * (size_t)(kmax + 1) * (m + 1));
    if (f == NULL || choice == NULL) {
        free(f);
        free(choice);
        goto none;
    }
    /* everything in chunk_max, the table of one class */
    uint64_t best = m == 0 ? 0 : adv_span_cost(b, 0, m - 1, chunk_max);
    unsigned best_k = 0, best_j = 0;
    for (unsigned k = 1; k <= kmax; k++) {
        for (unsigned j = 0; j < m; j++) {
            uint64_t *fj = &f[(size_t)(k - 1) * m + j];
            *fj = UINT64_MAX;
            choice[(size_t)(k - 1) * m + j] = ADV_NO_CHOICE;
            if (b->upper[j] < min_size || b->upper[j] >= chunk_max)
                continue;
            adv_dp_cell(b, f, choice, k, j);
            if (*fj == UINT64_MAX)
                continue;
            uint64_t total = *fj + (b->prefix[m] - b->prefix[j + 1]) * chunk_max;
            if (total < best) {
                best = total;
                best_k = k;
                best_j = j;
            }
        }
    }
    unsigned n = adv_unwind(b, choice, m, best_k, best_j, sizes);
    sizes[n++] = chunk_max;
    free(f);
    free(choice);
    free(b);
    return n;
none:
    free(b);
    return 0;
}

bool adv_best_geometric(const struct store_sizes *h, size_t hdr_base, uint32_t chunk_max,
                        uint32_t page_size, uint64_t mem_limit, struct adv_geometric *out)
{
    struct adv_buckets *b = adv_buckets_new(h, chunk_max);
    if (b == NULL)
        return false;
    /* no smallest chunk above the smallest bucket's bound pays */
    uint64_t first = b->m > 0 ? b->upper[0] : chunk_max;
    uint32_t sizes[CLASS_MAX];
    bool found = false;
    unsigned steps = (unsigned)((ADV_FACTOR_MAX - ADV_FACTOR_MIN) / ADV_FACTOR_STEP + 0.5);
    for (unsigned fi = 0; fi <= steps; fi++) {
        double factor = ADV_FACTOR_MIN + fi * ADV_FACTOR_STEP;
        for (uint64_t smallest = hdr_base + CHUNK_ALIGN - hdr_base % CHUNK_ALIGN;
             smallest <= first; smallest += CHUNK_ALIGN) {
            uint32_t chunk_min = (uint32_t)(smallest - hdr_base);
            unsigned n = slab_geometric_table(hdr_base, chunk_min, factor, chunk_max, sizes);
            if (n == 0)
                continue;
            struct store_table_cost r;
            adv_eval_buckets(b, sizes, n, page_size, mem_limit, &r);
            bool fewer = r.chunk_bytes == out->result.chunk_bytes &&
                         r.classes < out->result.classes;   /* ties: fewer classes */
            if (!found || r.chunk_bytes < out->result.chunk_bytes || fewer) {
                found = true;
                out->result = r;
                out->factor = factor;
                out->chunk_min = chunk_min;
            }
        }
    }
    if (!found) {   /* the smallest chunk cannot be under chunk_max: one class */
        sizes[0] = chunk_max;
        adv_eval_buckets(b, sizes, 1, page_size, mem_limit, &out->result);
        out->factor = ADV_FACTOR_MAX;
        out->chunk_min = chunk_max - (uint32_t)hdr_base;
    }
    free(b);
    return true;
}
