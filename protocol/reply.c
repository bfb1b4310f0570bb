/*
 * reply: the bytes a connection still owes its client (see reply.h).
 *
 * Design. A reply is an array of pieces, each one future iovec:
 *  - text pieces point into blocks: fixed-size buffers chained in a list that
 *    are never reallocated, so a pointer handed out stays valid until the
 *    bytes are sent. Text appended right after text in the same block grows
 *    the last piece instead of adding one, so "\r\n" + "VALUE ..." headers
 *    and status lines cost no extra iovec.
 *  - item pieces point into item memory and own one item reference, given
 *    back with store_release() once the last byte of the piece is consumed.
 *    A chained value is one piece per segment; only its last piece holds
 *    the reference (`held`), so the item stays until its last byte is out.
 *    Rolling back into such a value hands the reference to the new last
 *    piece.
 *    A short value (reply.h, REPLY_VALUE_COPY_MAX) costs less copied into
 *    the text than referenced; text.c's VALUE lines copy theirs.
 *
 * Positions are byte offsets since the last reset: `total` counts bytes
 * appended, `sent` bytes consumed. A mark is a `total`; rolling back pops or
 * shortens pieces from the end and rewinds the block they used, keeping later
 * blocks as spares so a rolled-back reply allocates nothing next time.
 * When everything is sent the reply resets to empty and keeps its first block
 * and its piece array: a request/response loop then runs without malloc.
 */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/decimal.h"
#include "protocol/reply.h"

#define REPLY_BLOCK_SIZE 4096      /* text bytes per ordinary block */
#define REPLY_PIECES_INITIAL 16
#define REPLY_COMPACT_MIN 64       /* sent pieces before the array is compacted */

struct reply_block {
    struct reply_block *next;
    size_t cap;
    size_t used;
    char data[];
};

struct reply_piece {
    const char *ptr;
    size_t len;
    item *it;                      /* NULL for text */
    struct reply_block *blk;       /* text: the block holding it */
    bool held;                     /* holds it's reference (its value's last piece) */
};

struct reply {
    store *store;
    struct reply_piece *pieces;
    size_t npieces;
    size_t cap_pieces;
    size_t first;                  /* first piece not fully sent */
    size_t first_off;              /* bytes of it already sent */
    size_t total;                  /* bytes appended since the last reset */
    size_t sent;                   /* bytes consumed since the last reset */
    struct reply_block *head;      /* oldest block */
    struct reply_block *cur;       /* block text goes to; spares follow it */
    size_t held;                   /* bytes allocated: struct, pieces, blocks */
    struct reply_account *acct;    /* NULL: not accounted */
};

/* Allocations change what r holds by delta bytes (modulo 2^64 when negative). */
static void reply_charge(struct reply *r, size_t delta, bool grow)
{
    r->held = grow ? r->held + delta : r->held - delta;
    if (r->acct != NULL)
        counter_add(&r->acct->bytes, grow ? delta : (uint64_t)0 - delta);
}

static struct reply_block *reply_block_new(struct reply *r, size_t cap)
{
    struct reply_block *b = malloc(sizeof(*b) + cap);
    if (b == NULL)
        abort();
    b->next = NULL;
    b->cap = cap;
    b->used = 0;
    reply_charge(r, sizeof(*b) + cap, true);
    return b;
}

static void reply_block_free(struct reply *r, struct reply_block *b)
{
    reply_charge(r, sizeof(*b) + b->cap, false);
    free(b);
}

struct reply *reply_new(store *s)
{
    struct reply *r = calloc(1, sizeof(*r));
    if (r == NULL)
        abort();
    r->store = s;
    r->cap_pieces = REPLY_PIECES_INITIAL;
    r->pieces = malloc(r->cap_pieces * sizeof(*r->pieces));
    if (r->pieces == NULL)
        abort();
    r->held = sizeof(*r) + r->cap_pieces * sizeof(*r->pieces);
    r->head = r->cur = reply_block_new(r, REPLY_BLOCK_SIZE);
    return r;
}

void reply_account(struct reply *r, struct reply_account *acct)
{
    r->acct = acct;
    counter_inc(&acct->objects);
    counter_add(&acct->bytes, r->held);
}

static void reply_free_blocks(struct reply *r, struct reply_block *b)
{
    while (b != NULL) {
        struct reply_block *next = b->next;
        reply_block_free(r, b);
        b = next;
    }
}

static void reply_release_from(struct reply *r, size_t from)
{
    for (size_t i = from; i < r->npieces; i++)
        if (r->pieces[i].held)
            store_release(r->store, r->pieces[i].it);
}

void reply_free(struct reply *r)
{
    if (r == NULL)
        return;
    reply_release_from(r, r->first);
    reply_free_blocks(r, r->head);
    if (r->acct != NULL) {
        counter_add(&r->acct->objects, (uint64_t)0 - 1);
        counter_add(&r->acct->bytes, (uint64_t)0 - r->held);
    }
    free(r->pieces);
    free(r);
}

/* Back to empty, keeping the first block and the piece array. */
static void reply_reset(struct reply *r)
{
    reply_free_blocks(r, r->head->next);
    r->head->next = NULL;
    r->head->used = 0;
    r->cur = r->head;
    r->npieces = r->first = r->first_off = 0;
    r->total = r->sent = 0;
}

/* Appends a piece: text in block blk (it NULL), or value bytes of it (held:
 * the piece owns the reference). */
static void reply_piece_push(struct reply *r, const char *ptr, size_t len, item *it,
                             struct reply_block *blk, bool held)
{
    if (r->npieces == r->cap_pieces) {
        reply_charge(r, r->cap_pieces * sizeof(*r->pieces), true);
        r->cap_pieces *= 2;
        r->pieces = realloc(r->pieces, r->cap_pieces * sizeof(*r->pieces));
        if (r->pieces == NULL)
            abort();
    }
    r->pieces[r->npieces++] =
        (struct reply_piece){ .ptr = ptr, .len = len, .it = it, .blk = blk, .held = held };
}

/* Room for n text bytes at the end of the current block, moving on if needed. */
static inline char *reply_room(struct reply *r, size_t n)
{
    struct reply_block *b = r->cur;
    if (b->cap - b->used >= n)
        return b->data + b->used;
    if (b->next != NULL && b->next->cap >= n) {
        r->cur = b->next;
    } else {
        struct reply_block *nb = reply_block_new(r, n > REPLY_BLOCK_SIZE ? n : REPLY_BLOCK_SIZE);
        nb->next = b->next;
        b->next = nb;
        r->cur = nb;
    }
    r->cur->used = 0;
    return r->cur->data;
}

/* Accounts n bytes just written at the current block's end. */
static inline void reply_text_done(struct reply *r, size_t n)
{
    struct reply_block *b = r->cur;
    const char *p = b->data + b->used;
    b->used += n;
    r->total += n;
    if (r->npieces > r->first) {
        struct reply_piece *last = &r->pieces[r->npieces - 1];
        if (last->it == NULL && last->ptr + last->len == p) {
            last->len += n;
            return;
        }
    }
    reply_piece_push(r, p, n, NULL, b, false);
}

char *reply_reserve(struct reply *r, size_t max)
{
    return reply_room(r, max);
}

void reply_commit(struct reply *r, size_t n)
{
    if (n > 0)
        reply_text_done(r, n);
}

void reply_add(struct reply *r, const void *bytes, size_t len)
{
    if (len == 0)
        return;
    memcpy(reply_room(r, len), bytes, len);
    reply_text_done(r, len);
}

void reply_add_str(struct reply *r, const char *s)
{
    reply_add(r, s, strlen(s));
}

void reply_printf(struct reply *r, const char *fmt, ...)
{
    va_list ap, again;
    va_start(ap, fmt);
    va_copy(again, ap);
    size_t room = r->cur->cap - r->cur->used;
    int n = vsnprintf(r->cur->data + r->cur->used, room, fmt, ap);
    va_end(ap);
    if (n > 0 && (size_t)n >= room) {
        char *p = reply_room(r, (size_t)n + 1);
        vsnprintf(p, (size_t)n + 1, fmt, again);
    }
    va_end(again);
    if (n > 0)
        reply_text_done(r, (size_t)n);
}

void reply_add_u64(struct reply *r, uint64_t v)
{
    char *p = reply_reserve(r, DECIMAL_U64_MAX);
    reply_commit(r, decimal_u64(p, v));
}

void reply_add_item(struct reply *r, item *it, const char *ptr, size_t len)
{
    if (len == 0) {
        /* No byte refers to the item: nothing to hold it for. */
        store_release(r->store, it);
        return;
    }
    reply_piece_push(r, ptr, len, it, NULL, true);
    r->total += len;
}

void reply_add_value(struct reply *r, item *it)
{
    if (!item_is_chained(it)) {
        reply_add_item(r, it, item_value(it), item_nvalue(it));
        return;
    }
    struct item_seg_iter si;
    struct store_seg seg, next;
    item_seg_begin(&si, r->store, it);
    bool more = item_seg_next(&si, &seg);
    if (!more)
        store_release(r->store, it);       /* empty (a spilled chain can be) */
    while (more) {
        more = item_seg_next(&si, &next);
        reply_piece_push(r, seg.ptr, seg.len, it, NULL, !more);
        r->total += seg.len;
        seg = next;
    }
}

size_t reply_mark(const struct reply *r)
{
    return r->total;
}

/*
 * A value's last piece is rolled back: its reference goes to the piece
 * before it when that is an unsent piece of the same value, else back.
 */
static void reply_pass_reference(struct reply *r, item *it)
{
    struct reply_piece *prev = r->npieces > r->first ? &r->pieces[r->npieces - 1] : NULL;
    if (prev != NULL && prev->it == it && !prev->held)
        prev->held = true;
    else
        store_release(r->store, it);
}

void reply_rollback(struct reply *r, size_t mark)
{
    if (mark < r->sent)
        mark = r->sent;          /* bytes already out cannot be taken back */
    while (r->total > mark) {
        struct reply_piece *pc = &r->pieces[r->npieces - 1];
        size_t drop = r->total - mark;
        bool whole = drop >= pc->len;
        if (whole) {
            drop = pc->len;
            r->npieces--;
        }
        r->total -= drop;
        if (pc->it != NULL) {
            if (!whole)
                pc->len -= drop;
            else if (pc->held)
                reply_pass_reference(r, pc->it);
            continue;
        }
        /* Text: later text in this block was in later pieces, gone already. */
        r->cur = pc->blk;
        if (!whole)
            pc->len -= drop;
        r->cur->used = (size_t)(pc->ptr - pc->blk->data) + (whole ? 0 : pc->len);
    }
}

size_t reply_pending(const struct reply *r)
{
    return r->total - r->sent;
}

size_t reply_pieces(const struct reply *r)
{
    return r->npieces - r->first;
}

int reply_iov(const struct reply *r, struct iovec *iov, int max)
{
    int n = 0;
    size_t off = r->first_off;
    for (size_t i = r->first; i < r->npieces && n < max; i++, n++) {
        iov[n].iov_base = (void *)(r->pieces[i].ptr + off);
        iov[n].iov_len = r->pieces[i].len - off;
        off = 0;
    }
    return n;
}

/* Frees blocks whose text is all sent; the current block always stays. */
static void reply_trim_blocks(struct reply *r)
{
    struct reply_block *keep = r->cur;
    for (size_t i = r->first; i < r->npieces; i++) {
        if (r->pieces[i].it == NULL) {
            keep = r->pieces[i].blk;
            break;
        }
    }
    while (r->head != keep) {
        struct reply_block *b = r->head;
        r->head = b->next;
        reply_block_free(r, b);
    }
}

/* Slides unsent pieces to the front once many sent ones pile up. */
static void reply_compact(struct reply *r)
{
    if (r->first < REPLY_COMPACT_MIN || r->first * 2 < r->npieces)
        return;
    memmove(r->pieces, r->pieces + r->first, (r->npieces - r->first) * sizeof(*r->pieces));
    r->npieces -= r->first;
    r->first = 0;
}

void reply_consumed(struct reply *r, size_t n)
{
    assert(n <= reply_pending(r));
    r->sent += n;
    while (n > 0) {
        struct reply_piece *pc = &r->pieces[r->first];
        size_t left = pc->len - r->first_off;
        if (n < left) {
            r->first_off += n;
            break;
        }
        n -= left;
        if (pc->held)
            store_release(r->store, pc->it);
        r->first++;
        r->first_off = 0;
    }
    if (r->first == r->npieces) {
        reply_reset(r);
        return;
    }
    reply_trim_blocks(r);
    reply_compact(r);
}

void reply_clear(struct reply *r)
{
    reply_release_from(r, r->first);
    reply_reset(r);
}
