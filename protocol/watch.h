/*
 * watch: `watch [streams...]`, `stats detail on|off|dump`, and the notes the
 * request paths leave for them (internal to protocol/).
 *
 * The log streams and the per-prefix counters live in common/ (logger.h,
 * detail.h) so that every layer can feed them without calling up; this file
 * is the protocol's side: memcached 1.6.45's command words and replies, the
 * watch stream on the connection (proto.h: proto_watching), and the notes
 * of gets and stores. A request path tests proto_observed() (one relaxed
 * load) and calls a note only when something listens.
 *
 * Streams that have events here: fetchers (get family, mg, binary gets),
 * mutations (stores), deletions (delete, md), evictions (slabs/),
 * connevents (server/). rawcmds, sysevents and the proxy streams are
 * accepted and never emit.
 */
#ifndef PROTOCOL_WATCH_H
#define PROTOCOL_WATCH_H

#include "common/detail.h"
#include "common/logger.h"
#include "protocol/text.h"

/* Whether a note for any of these streams (or LOGGER_DETAIL) would be kept. */
static inline bool proto_observed(unsigned streams)
{
    return logger_wants(streams);
}

/* watch [fetchers|mutations|evictions|connevents|...] */
void proto_watch_cmd(struct text_req *rq, unsigned arg);
/* stats detail on|off|dump (tok[1] is "detail" or a prefix of it) */
void proto_stats_detail(struct text_req *rq);

/* The next piece of a watch (proto_stream_more), and its end (the connection closes). */
void proto_watch_more(struct proto_conn *pc, struct reply *out);
void proto_watch_end(struct proto_conn *pc);

/*
 * The notes. what: the observers a protocol feeds, LOGGER_FETCHERS or
 * LOGGER_MUTATIONS, with LOGGER_DETAIL where memcached counts prefixes too
 * (text and binary requests; meta requests are not counted).
 */
#define PROTO_NOTE_GET (LOGGER_FETCHERS | LOGGER_DETAIL)
#define PROTO_NOTE_STORE (LOGGER_MUTATIONS | LOGGER_DETAIL)

/* A lookup of key: it (a reference held) or NULL and why. */
void proto_note_get(const struct proto_conn *pc, unsigned what, const char *key, size_t nkey,
                    const item *it, enum store_miss why);

/* A store of key in mode refused before it had an item (too large, no memory). */
void proto_note_refused(const struct proto_conn *pc, unsigned what, const char *key,
                        size_t nkey, enum store_mode mode, enum store_result why);

/* store_commit_cond (which consumes it) with the store noted: call it in
 * place of the commit when proto_observed(what). */
enum store_result proto_commit_noted(const struct proto_conn *pc, unsigned what, const char *key,
                                     size_t nkey, item *it, const struct store_commit_cond *c,
                                     uint64_t *cas_out, size_t *nvalue_out);
/*
 * A delete of key about to run: stats detail counts it, found or not (what
 * has LOGGER_DETAIL), and for watch deletions the item's class and size are
 * read first, without bumping it. Then proto_delete_done() with the result
 * logs the deleted line when the item went.
 */
#define PROTO_NOTE_DELETE (LOGGER_DELETIONS | LOGGER_DETAIL)
struct proto_deleting {
    bool found;
    unsigned cls;
    uint32_t nvalue;
};
void proto_delete_begin(const struct proto_conn *pc, unsigned what, const char *key,
                        size_t nkey, struct proto_deleting *d);
void proto_delete_done(const struct proto_deleting *d, const char *key, size_t nkey,
                       enum logger_delete_cmd cmd, enum store_result res);

#endif
