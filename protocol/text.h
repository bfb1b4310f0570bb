/*
 * text: the text protocol's side of protocol/ (internal): the classic
 * commands (text.c) and the meta commands (meta.c) share one line format,
 * one command table and one request struct.
 *
 * proto_process() (proto.c) hands a text connection's bytes to
 * proto_text_process(), which has its contract: at most one request from
 * buf[0..len), the bytes consumed (0 = incomplete, *need = bytes the request
 * needs when known), the reply appended to out, *action what to do next.
 * It finds the line, looks the command word up in text.c's table and runs
 * the row's handler (a text.c one or a meta.c one) on a struct text_req.
 */
#ifndef PROTOCOL_TEXT_H
#define PROTOCOL_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "protocol/proto.h"
#include "protocol/text_parse.h"

/* One request line as proto_text_process() found it. */
struct text_req {
    struct proto_conn *pc;
    struct reply *out;
    store *store;
    struct proto_counters *ctr;
    const char *buf;                   /* the request from its first byte... */
    size_t len;                        /* ...and the bytes available there */
    struct text_line line;
    struct text_token tok[TEXT_TOKENS_MAX];   /* [0]: the command word */
    size_t ntok;
    struct text_token last;            /* the line's last token (not for key lists) */
    /* Just past the command word (key lists: past their fixed tokens). */
    const char *rest;
    size_t consumed;                   /* out: bytes used (the line, preset); 0 = need more */
    size_t need;                       /* out, with consumed 0: the bytes the request needs */
    enum proto_action action;          /* out */
    bool replay;                       /* run again from pc->pend: its item holds the value */
    const struct proto_batch_line *batched;   /* the line, split and hashed ahead (batch.c) */
};

/* Whether t is a prefix (1+ bytes) of word: memcached's subcommand matching. */
bool text_token_abbreviates(const struct text_token *t, const char *word);
/* An admin command's number, as memcached reads it: bare digits (a leading
 * '-' only when negative_ok), int32_t when negative_ok, else uint32_t. */
bool text_admin_number(const struct text_token *t, bool negative_ok, int64_t *out);

/* A command handler; arg is its table row's (store mode, get variant, incr). */
typedef void text_handler(struct text_req *rq, unsigned arg);

size_t proto_text_process(struct proto_conn *pc, const char *buf, size_t len,
                          struct reply *out, enum proto_action *action, size_t *need);

/* What a storage line's item is made of. */
struct text_item_spec {
    const char *key;
    size_t nkey;
    uint32_t flags;
    int64_t exptime;
    size_t vlen;
};

/*
 * The data block of a storage line is vlen bytes of value and "\r\n", right
 * after the line. text_block_item() returns the item holding the value,
 * filled, or NULL. Up to PROTO_BLOCK_BUFFERED_MAX it waits (rq->consumed 0,
 * rq->need) until the whole block is in, consumes it, checks its end
 * ("bad data chunk", counted as a set, as memcached), then allocates. A larger block
 * not all in yet gets its item now: what is in is copied and consumed and
 * pc->pend keeps the item until the rest arrives; then the line is run
 * again (rq->replay) and this returns that item, its terminator checked.
 * NULL with *why set (STORE_TOO_LARGE, STORE_NO_MEMORY): no item, the block
 * consumed or swallowed, the caller answers. NULL with *why STORE_OK:
 * nothing to do now (waiting, or "bad data chunk" answered).
 */
item *text_block_item(struct text_req *rq, const struct text_item_spec *spec,
                      enum store_result *why);

/* The value of a pending line is in (pc->pend): runs the line again with it. */
void proto_text_finish(struct proto_conn *pc, struct reply *out, enum proto_action *action);

/*
 * A block refused before it was read (too large, a bad flag, no memory):
 * consumes what is in the buffer and discards the rest as it arrives
 * (pc->swallow), never buffering it.
 */
void text_block_refuse(struct text_req *rq, size_t vlen);

#endif
