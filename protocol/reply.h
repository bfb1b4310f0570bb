/*
 * reply: the list of bytes a connection still has to send, built by the
 * protocol and drained by the server with writev/sendmsg.
 *
 * Two kinds of piece:
 *  - text (headers, status lines, numbers) copied into blocks owned by the
 *    reply. Blocks never move once allocated, so a piece's pointer stays
 *    valid; consecutive text lands in one iovec.
 *  - item values, referenced straight in item memory (one piece per
 *    segment of a chained value), with the item's reference held by the
 *    reply until those bytes are written; then released with
 *    store_release().
 *
 * Used by one thread at a time (the connection's). No socket here: the server
 * asks for iovecs and reports how many bytes the kernel took.
 */
#ifndef PROTOCOL_REPLY_H
#define PROTOCOL_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

#include "common/counter.h"
#include "slabs/store.h"

struct reply;   /* opaque */

struct reply *reply_new(store *s);
void reply_free(struct reply *r);      /* releases held items */

/*
 * What replies hold, for `stats` response_obj_count and response_obj_bytes:
 * objects alive and the bytes they have allocated. An account is written
 * by one thread only (counter.h): every reply on it is used by that thread.
 */
struct reply_account {
    counter_t objects;
    counter_t bytes;
};
/* Counts r, from now until reply_free, in acct. */
void reply_account(struct reply *r, struct reply_account *acct);

/* Appends copied bytes. */
void reply_add(struct reply *r, const void *bytes, size_t len);
void reply_add_str(struct reply *r, const char *s);
void reply_printf(struct reply *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void reply_add_u64(struct reply *r, uint64_t v);

/*
 * Fast path for composing a line in place: returns room for at least max
 * bytes at the end of the text; reply_commit() then appends the first n
 * (n <= max) of them. Nothing else may touch r in between.
 */
char *reply_reserve(struct reply *r, size_t max);
void reply_commit(struct reply *r, size_t n);

/* Appends a string literal (messages.h): its length known at compile time,
 * the copy is a few moves inline rather than a call to memcpy. */
static inline void reply_lit(struct reply *r, const char *lit, size_t len)
{
    memcpy(reply_reserve(r, len), lit, len);
    reply_commit(r, len);
}
#define REPLY_LIT(r, lit) reply_lit((r), (lit), sizeof(lit) - 1)

/*
 * Appends len bytes at ptr inside item it's memory, without copying. Takes
 * over one reference to it (the caller got it from store_get and must not
 * release it).
 */
void reply_add_item(struct reply *r, item *it, const char *ptr, size_t len);

/*
 * Appends it's whole value without copying: one piece per segment of a
 * chained value. Takes over one reference to it, as reply_add_item, held
 * until the value's last byte is consumed.
 */
void reply_add_value(struct reply *r, item *it);

/*
 * Values of at most this many bytes are better copied into the reply's text
 * than referenced: a referenced value costs a piece, a reference held until
 * it is sent, and an iovec of its own, more than a copy this short (issue
 * 17: about 150 instructions less per small get).
 */
#define REPLY_VALUE_COPY_MAX 512

/* Whether an item's value is short enough to copy (and plain, so contiguous). */
static inline bool reply_value_copied(const struct item_view *v)
{
    return v->value != NULL && v->nvalue <= REPLY_VALUE_COPY_MAX;
}

/* A mark to roll back to, e.g. to drop a partly composed reply. */
size_t reply_mark(const struct reply *r);
void reply_rollback(struct reply *r, size_t mark);

/* Bytes not yet sent, and the number of pieces (iovecs) they make. */
size_t reply_pending(const struct reply *r);
size_t reply_pieces(const struct reply *r);

/*
 * Fills up to max iovecs with the unsent bytes, from the first unsent one;
 * returns how many it filled.
 */
int reply_iov(const struct reply *r, struct iovec *iov, int max);

/*
 * Marks n bytes as sent: releases items whose bytes are all out; when all is
 * sent, resets to empty keeping one block for reuse.
 */
void reply_consumed(struct reply *r, size_t n);

/* Drops everything unsent (connection closing), releasing items. */
void reply_clear(struct reply *r);

#endif
