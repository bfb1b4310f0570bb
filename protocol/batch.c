/*
 * batch: memory-level parallelism for pipelined gets.
 *
 * A batch of 32 pipelined gets used to pay its cache misses one after
 * another: each lookup hashed its key, then waited for its bucket, then for
 * the item header it compared. Here, when a get/gets line runs and more
 * requests follow it in the read buffer, or its line holds several keys
 * (proto_batch_scan, called by text.c), that line and the complete get/gets
 * lines after it are split into keys, then each key hashed once and its
 * bucket prefetched, then the first item of each bucket's chain prefetched
 * (store_prefetch_batch), all before the first is looked up. When
 * each of those lines runs, the parser takes its end and its keys with their
 * hashes from here (proto_batch_line) instead of searching, splitting and
 * hashing again, so the pass costs about nothing more than before.
 *
 * The scan stops at the first line that is not "get " or "gets " (a storage
 * line's data block is never read as a request), at an incomplete line, at a
 * key the parser would refuse (too long: that line is left to the parser),
 * before a line whose keys do not fit in PROTO_BATCH_KEYS, and after as many
 * lines as the turn may still run (-R; a turn's unused lines are dropped at
 * its end); the next get past them scans again. Keys are split exactly as
 * text_tokenize splits them (at runs of spaces).
 *
 * Replies and their order do not change: a key is looked up when its request
 * runs, as before. Entries point into the caller's buffer, so they live only
 * within a turn (proto_batch_begin/end, proto.h), during which the buffer
 * neither moves nor changes; a line is used only by a request starting at
 * its very address.
 *
 * The item prefetch reads each bucket without its stripe lock: slabs/assoc.c
 * makes that safe (atomic bucket writes, tables never freed while the store
 * lives); a stale link only prefetches a useless line.
 */
#include <string.h>

#include "protocol/internal.h"
#include "protocol/proto.h"

#define GET_WORD "get "
#define GET_WORD_LEN 4
#define GETS_WORD "gets "
#define GETS_WORD_LEN 5

static void batch_clear(struct proto_batch *b)
{
    b->nkeys = b->nlines = b->next_line = 0;
}

void proto_batch_begin(struct proto_conn *pc, uint64_t max_requests)
{
    struct proto_batch *b = &pc->batch;
    batch_clear(b);
    b->open = true;
    b->turn_left = max_requests < UINT32_MAX ? (uint32_t)max_requests : UINT32_MAX;
}

void proto_batch_end(struct proto_conn *pc)
{
    struct proto_batch *b = &pc->batch;
    batch_clear(b);
    b->open = false;
    b->turn_left = 0;
}

/* Where the keys of a get/gets line begin, or NULL for another line. */
static const char *batch_get_keys(const char *p, const char *end)
{
    size_t n = (size_t)(end - p);
    if (n > GET_WORD_LEN && memcmp(p, GET_WORD, GET_WORD_LEN) == 0)
        return p + GET_WORD_LEN;
    if (n > GETS_WORD_LEN && memcmp(p, GETS_WORD, GETS_WORD_LEN) == 0)
        return p + GETS_WORD_LEN;
    return NULL;
}

/*
 * Splits [p, end) into keys[*nkeys ..]. False (the line is not taken) when a
 * key is too long or the keys do not fit.
 */
static bool batch_split(struct store_key *keys, unsigned *nkeys, const char *p, const char *end)
{
    unsigned n = *nkeys;   /* a local: keys[] may alias *nkeys */
    for (;;) {
        while (p < end && *p == ' ')
            p++;
        if (p == end)
            break;
        const char *sp = memchr(p, ' ', (size_t)(end - p));
        const char *stop = sp != NULL ? sp : end;
        size_t len = (size_t)(stop - p);
        if (len > KEY_MAX_LENGTH || n == PROTO_BATCH_KEYS)
            return false;
        keys[n].key = p;
        keys[n++].nkey = len;
        p = stop;
    }
    *nkeys = n;
    return true;
}

void proto_batch_scan(struct proto_conn *pc, const char *buf, size_t len)
{
    struct proto_batch *b = &pc->batch;
    if (!b->open || b->next_line < b->nlines)
        return;   /* outside a turn, or the lines scanned before are not used up */
    const char *end = buf + len;
    unsigned nkeys = 0, nlines = 0, most = b->turn_left + 1;   /* + the running one */
    if (most > PROTO_BATCH_KEYS)
        most = PROTO_BATCH_KEYS;
    while (nlines < most && buf < end) {
        const char *nl = memchr(buf, '\n', (size_t)(end - buf));
        if (nl == NULL)
            break;
        const char *line_end = nl > buf && nl[-1] == '\r' ? nl - 1 : nl;
        const char *keys = batch_get_keys(buf, line_end);
        unsigned first = nkeys;
        if (keys == NULL || !batch_split(b->keys, &nkeys, keys, line_end))
            break;
        struct proto_batch_line *l = &b->lines[nlines++];
        l->start = buf;
        l->nl = nl;
        l->first = (uint8_t)first;
        l->nkeys = (uint8_t)(nkeys - first);
        buf = nl + 1;
    }
    store_prefetch_batch(pc->env->store, b->keys, nkeys);
    b->nkeys = (uint8_t)nkeys;
    b->nlines = (uint8_t)nlines;
    b->next_line = 0;
}

const struct proto_batch_line *proto_batch_line_find(struct proto_conn *pc, const char *buf)
{
    struct proto_batch *b = &pc->batch;
    /* lines come in buffer order: skip those a request passed over */
    while (b->next_line < b->nlines && (uintptr_t)b->lines[b->next_line].start < (uintptr_t)buf)
        b->next_line++;
    if (b->next_line == b->nlines || b->lines[b->next_line].start != buf)
        return NULL;
    return &b->lines[b->next_line++];
}
