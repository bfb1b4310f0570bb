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
    /* Just past the command word (key lists: past their fixed tokens). */
    const char *rest;
    size_t consumed;                   /* out: bytes used (the line, preset); 0 = need more */
    size_t need;                       /* out, with consumed 0: the bytes the request needs */
    enum proto_action action;          /* out */
};

/* A command handler; arg is its table row's (store mode, get variant, incr). */
typedef void text_handler(struct text_req *rq, unsigned arg);

size_t proto_text_process(struct proto_conn *pc, const char *buf, size_t len,
                          struct reply *out, enum proto_action *action, size_t *need);

/*
 * The data block of a storage line: vlen bytes of value and "\r\n", right
 * after the line. text_block_take() returns the value when all of the block
 * is in and ends well, having consumed it. Otherwise it returns NULL, having
 * either asked for the bytes still missing (rq->consumed 0, rq->need), or
 * consumed a block with a bad end and answered "bad data chunk" (counted as
 * a set, as memcached).
 */
const char *text_block_take(struct text_req *rq, size_t vlen);

/*
 * A block refused before it was read (too large, a bad flag, no memory):
 * consumes what is in the buffer and discards the rest as it arrives
 * (pc->swallow), never buffering it.
 */
void text_block_refuse(struct text_req *rq, size_t vlen);

#endif
