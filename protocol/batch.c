/*
 * batch: memory-level parallelism for pipelined gets and sets.
 *
 * A batch of 32 pipelined gets used to pay its cache misses one after
 * another: each lookup hashed its key, then waited for its bucket, then for
 * the item header it compared. Here the complete get/gets lines and plain
 * set lines in the read buffer are split into keys, then each key hashed
 * once, its bucket and stripe lock prefetched, then the first three items of
 * each bucket's chain read in (store_prefetch_batch / store_prefetch_step),
 * all before the first is looked up. The scan runs when a turn starts
 * (proto_batch_scan_ahead, from conn.c, which steps the read-ahead of all
 * the connections one poll read together) and again when a get runs with
 * requests behind it that no scan reached (proto_batch_scan, from text.c).
 * When each of those lines runs, the parser takes its end, its keys and
 * their hashes from here (proto_batch_line): a get/gets line goes straight
 * to get, and a set line, which the scan checked as the set command checks
 * it (text_set_line_scan), straight to the store with its hash; nothing is
 * searched, split, parsed or hashed twice.
 *
 * The scan stops at the first line that is neither "get "/"gets " nor such
 * a set, at an incomplete line, at a set whose data block is not all in (the
 * scan goes on past a block only once it has checked the line the block
 * belongs to), at a key the parser would refuse (too long: that line is
 * left to the parser), before a line whose keys do not fit in
 * PROTO_BATCH_KEYS, and after as many lines as the turn may still run (-R;
 * a turn's unused lines are dropped at its end); the next get past them
 * scans again. Keys are split exactly as text_tokenize splits them (at runs
 * of spaces).
 *
 * Replies and their order do not change: a key is looked up or stored when
 * its request runs, as before. Entries point into the caller's buffer, so
 * they live only within a turn (proto_batch_begin/end, proto.h), during
 * which the buffer neither moves nor changes; a line is used only by a
 * request starting at its very address.
 *
 * The read-ahead reads buckets and items without their stripe locks:
 * slabs/assoc.c and internal.h make that safe (atomic bucket writes, tables
 * and the arena never freed while the store lives, item reads only inside
 * the arena and only ever used as hints).
 */
#include <string.h>

#include "protocol/internal.h"
#include "protocol/text_parse.h"
#include "protocol/proto.h"

#define GET_WORD "get "
#define GET_WORD_LEN 4
#define GETS_WORD "gets "
#define GETS_WORD_LEN 5
#define SET_WORD "set "
#define SET_WORD_LEN 4

static void batch_clear(struct proto_batch *b)
{
    b->nkeys = b->nlines = b->next_line = b->steps = 0;
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
static const char *batch_get_keys(const char *p, const char *end, uint8_t *kind)
{
    size_t n = (size_t)(end - p);
    *kind = PROTO_BATCH_GET;
    if (n > GET_WORD_LEN && memcmp(p, GET_WORD, GET_WORD_LEN) == 0)
        return p + GET_WORD_LEN;
    *kind = PROTO_BATCH_GETS;
    if (n > GETS_WORD_LEN && memcmp(p, GETS_WORD, GETS_WORD_LEN) == 0)
        return p + GETS_WORD_LEN;
    return NULL;
}

/*
 * A set line (text_set_line_scan) from p to line_end, its '\n' at nl: its
 * key into *key and its numbers into l; returns where the request after it
 * starts, past its data block of bytes + "\r\n", which must be all in
 * (before end). NULL for any other line or a block not all in.
 */
static const char *batch_set_line(const char *p, const char *line_end, const char *nl,
                                  const char *end, struct proto_batch_line *l,
                                  struct store_key *key)
{
    if ((size_t)(line_end - p) <= SET_WORD_LEN || memcmp(p, SET_WORD, SET_WORD_LEN) != 0 ||
        !text_set_line_scan(p, line_end, l, key) ||
        (uint64_t)l->set_vlen + TEXT_CRLF_LEN > (uint64_t)(end - nl - 1))
        return NULL;
    return nl + 1 + l->set_vlen + TEXT_CRLF_LEN;
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
        const char *stop = text_find_space(p, end);
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

/* Runs the next prefetch step over the keys held, if one is left. */
static void batch_step(struct proto_conn *pc)
{
    struct proto_batch *b = &pc->batch;
    if (b->steps < STORE_PREFETCH_STEPS)
        store_prefetch_step(pc->env->store, b->keys, b->nkeys,
                            (enum store_prefetch_step)b->steps++);
}

/* The scan of proto_batch_scan, of at most most_lines lines; runs `steps`
 * of the prefetch (at least the first, which hashes the keys). */
static void batch_scan(struct proto_conn *pc, const char *buf, size_t len, uint64_t most_lines,
                       unsigned steps)
{
    struct proto_batch *b = &pc->batch;
    if (!b->open || b->next_line < b->nlines)
        return;   /* outside a turn, or the lines scanned before are not used up */
    const char *end = buf + len;
    unsigned nkeys = 0, nlines = 0;
    unsigned most = most_lines < PROTO_BATCH_KEYS ? (unsigned)most_lines : PROTO_BATCH_KEYS;
    while (nlines < most && buf < end) {
        const char *nl = memchr(buf, '\n', (size_t)(end - buf));
        if (nl == NULL)
            break;
        const char *line_end = nl > buf && nl[-1] == '\r' ? nl - 1 : nl;
        uint8_t kind;
        const char *keys = batch_get_keys(buf, line_end, &kind);
        const char *next = nl + 1;
        unsigned first = nkeys;
        if (keys != NULL) {
            if (!batch_split(b->keys, &nkeys, keys, line_end))
                break;
        } else {
            if (nkeys == PROTO_BATCH_KEYS ||
                (next = batch_set_line(buf, line_end, nl, end, &b->lines[nlines],
                                       &b->keys[nkeys])) == NULL)
                break;
            kind = PROTO_BATCH_SET;
            nkeys++;
        }
        struct proto_batch_line *l = &b->lines[nlines++];
        l->start = buf;
        l->nl = nl;
        l->first = (uint8_t)first;
        l->nkeys = (uint8_t)(nkeys - first);
        l->kind = kind;
        buf = next;
    }
    b->nkeys = (uint8_t)nkeys;
    b->nlines = (uint8_t)nlines;
    b->next_line = 0;
    b->steps = 0;
    for (unsigned i = 0; i < steps; i++)
        batch_step(pc);
}

void proto_batch_scan(struct proto_conn *pc, const char *buf, size_t len)
{
    /* + the running one; about to be looked up: every step at once */
    batch_scan(pc, buf, len, (uint64_t)pc->batch.turn_left + 1, STORE_PREFETCH_STEPS);
}

void proto_batch_scan_ahead(struct proto_conn *pc, const char *buf, size_t len)
{
    /* elsewhere buf starts with value bytes, a binary header or the rest of a line */
    if (pc->mode != PROTO_MODE_ASCII || proto_in_block(pc) || pc->get_cont != 0 ||
        pc->skip_line)
        return;
    batch_scan(pc, buf, len, pc->batch.turn_left, 1);
}

void proto_batch_prefetch_step(struct proto_conn *pc)
{
    if (pc->batch.open)
        batch_step(pc);
}

void proto_batch_prefetch_rest(struct proto_conn *pc)
{
    while (pc->batch.open && pc->batch.steps < STORE_PREFETCH_STEPS)
        batch_step(pc);
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
