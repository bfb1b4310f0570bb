/*
 * watch: memcached 1.6.45's `watch` and `stats detail`, and the request
 * notes that feed them (watch.h says what is where).
 *
 * A watch is a stream on the connection (proto.h): the command answers
 * "OK", attaches a watcher and leaves it on pc->watcher; each turn
 * (proto_stream_more) moves at most WATCH_PIECE_MAX bytes of whole lines
 * from the watcher's buffer into the reply, and the connection asks again
 * only once the socket took them, so a slow watcher holds at most its
 * buffer (-o watcher_logbuf_size) and one piece; lines beyond are skipped
 * and counted (logger.c). The watcher is detached when the connection goes.
 */
#include <string.h>

#include "common/clock.h"
#include "protocol/messages.h"
#include "protocol/reply.h"
#include "protocol/text_parse.h"
#include "protocol/watch.h"

#define WATCH_PIECE_MAX (64 * 1024)

/* memcached's words for the streams, in its order of matching (a word's prefix matches). */
static const struct {
    const char *word;
    unsigned stream;
} watch_streams[] = {
    { "rawcmds", LOGGER_RAWCMDS },       { "evictions", LOGGER_EVICTIONS },
    { "fetchers", LOGGER_FETCHERS },     { "mutations", LOGGER_MUTATIONS },
    { "sysevents", LOGGER_SYSEVENTS },   { "connevents", LOGGER_CONNEVENTS },
    { "proxyreqs", LOGGER_PROXYREQS },   { "proxyevents", LOGGER_PROXYEVENTS },
    { "proxyuser", LOGGER_PROXYUSER },   { "deletions", LOGGER_DELETIONS },
};
#define WATCH_NSTREAMS (sizeof(watch_streams) / sizeof(watch_streams[0]))

/* The stream a word names, or 0. */
static unsigned watch_stream(const struct text_token *t)
{
    for (size_t i = 0; i < WATCH_NSTREAMS; i++)
        if (text_token_abbreviates(t, watch_streams[i].word))
            return watch_streams[i].stream;
    return 0;
}

void proto_watch_cmd(struct text_req *rq, unsigned arg)
{
    (void)arg;
    if (!rq->pc->env->watch_enabled) {
        REPLY_LIT(rq->out, MSG_WATCH_DISABLED);
        return;
    }
    if (reply_pending(rq->out) > 0) {   /* replies of earlier requests still queued */
        REPLY_LIT(rq->out, MSG_WATCH_PIPELINED);
        return;
    }
    unsigned streams = rq->ntok > 1 ? 0 : LOGGER_FETCHERS;
    for (size_t i = 1; i < rq->ntok; i++) {
        unsigned s = watch_stream(&rq->tok[i]);
        if (s == 0) {
            REPLY_LIT(rq->out, MSG_ERROR);
            return;
        }
        streams |= s;
    }
    enum logger_add_result res;
    struct logger_watcher *w = logger_watcher_add(streams, &res);
    if (w == NULL) {
        if (res == LOGGER_ADD_TOO_MANY)
            REPLY_LIT(rq->out, MSG_WATCH_TOO_MANY);
        else
            REPLY_LIT(rq->out, MSG_WATCH_FAILED);
        return;
    }
    proto_stream_end(rq->pc);
    rq->pc->watcher = w;
    rq->pc->watch_idle = false;
    REPLY_LIT(rq->out, MSG_OK);
}

void proto_watch_more(struct proto_conn *pc, struct reply *out)
{
    char *dst = reply_reserve(out, WATCH_PIECE_MAX);
    size_t n = logger_watcher_take(pc->watcher, dst, WATCH_PIECE_MAX);
    reply_commit(out, n);
    pc->watch_idle = n == 0;
}

void proto_watch_end(struct proto_conn *pc)
{
    if (pc->watcher == NULL)
        return;
    logger_watcher_remove(pc->watcher);
    pc->watcher = NULL;
}

/* ---- stats detail ---- */

static void watch_detail_line(void *arg, const char *text, size_t len)
{
    reply_add((struct reply *)arg, text, len);
}

void proto_stats_detail(struct text_req *rq)
{
    /* memcached: with no argument it matches the word "stats" against on/off/dump */
    const struct text_token *sub = &rq->tok[rq->ntok < 3 ? 0 : 2];
    if (rq->pc->env->dump_disabled) {   /* -X: memcached counts it a dump command */
        REPLY_LIT(rq->out, MSG_DETAIL_OFF);
        return;
    }
    if (text_token_abbreviates(sub, "on")) {
        detail_set_enabled(true);
        REPLY_LIT(rq->out, MSG_OK);
    } else if (text_token_abbreviates(sub, "off")) {
        detail_set_enabled(false);
        REPLY_LIT(rq->out, MSG_OK);
    } else if (text_token_abbreviates(sub, "dump")) {
        detail_dump(watch_detail_line, rq->out);
        REPLY_LIT(rq->out, MSG_END);
    } else {
        REPLY_LIT(rq->out, MSG_DETAIL_USAGE);
    }
}

/* ---- notes ---- */

static enum logger_get_status watch_get_status(const item *it, enum store_miss why)
{
    if (it != NULL)
        return LOGGER_GET_FOUND;
    if (why == STORE_MISS_EXPIRED)
        return LOGGER_GET_EXPIRED;
    return why == STORE_MISS_FLUSHED ? LOGGER_GET_FLUSHED : LOGGER_GET_NOT_FOUND;
}

/* Whether the note feeds stats detail now. */
static bool watch_counts_detail(unsigned what)
{
    return (what & LOGGER_DETAIL) != 0 && detail_enabled();
}

void proto_note_get(const struct proto_conn *pc, unsigned what, const char *key, size_t nkey,
                    const item *it, enum store_miss why)
{
    if (watch_counts_detail(what))
        detail_record(key, nkey, DETAIL_GET, it != NULL);
    if (logger_wants(LOGGER_FETCHERS))
        logger_item_get(key, nkey, watch_get_status(it, why), it != NULL ? item_class(it) : 0,
                        it != NULL ? item_nvalue(it) : 0, pc->fd);
}

/* What a store logs of its item, taken before the commit consumes it. */
struct watch_item {
    unsigned cls;
    uint32_t nvalue;
    rel_time_t exptime;
};

static const enum logger_store_status watch_store_status[] = {
    [STORE_OK] = LOGGER_STORE_STORED,           [STORE_NOT_STORED] = LOGGER_STORE_NOT_STORED,
    [STORE_EXISTS] = LOGGER_STORE_EXISTS,       [STORE_NOT_FOUND] = LOGGER_STORE_NOT_FOUND,
    [STORE_TOO_LARGE] = LOGGER_STORE_TOO_LARGE, [STORE_NO_MEMORY] = LOGGER_STORE_NO_MEMORY,
    [STORE_NON_NUMERIC] = LOGGER_STORE_NOT_STORED,
};

static const enum logger_store_cmd watch_store_cmd[] = {
    [STORE_SET] = LOGGER_CMD_SET,         [STORE_ADD] = LOGGER_CMD_ADD,
    [STORE_REPLACE] = LOGGER_CMD_REPLACE, [STORE_APPEND] = LOGGER_CMD_APPEND,
    [STORE_PREPEND] = LOGGER_CMD_PREPEND, [STORE_CAS] = LOGGER_CMD_CAS,
};

/* Seconds an exptime leaves, as memcached logs a store's ttl (0: none). */
static uint32_t watch_ttl(rel_time_t exptime)
{
    rel_time_t now = clock_now();
    return exptime == 0 ? 0 : exptime > now ? exptime - now : 0;
}

/* A store of key with its result; wi NULL when no item was had. */
static void watch_note_store(const struct proto_conn *pc, unsigned what, const char *key,
                             size_t nkey, enum store_mode mode, enum store_result res,
                             const struct watch_item *wi)
{
    if (watch_counts_detail(what))
        detail_record(key, nkey, DETAIL_SET, false);
    if (!logger_wants(LOGGER_MUTATIONS))
        return;
    logger_item_store(key, nkey, watch_store_status[res], watch_store_cmd[mode],
                      wi != NULL ? watch_ttl(wi->exptime) : 0, wi != NULL ? wi->cls : 0,
                      wi != NULL ? wi->nvalue : 0, pc->fd);
}

void proto_note_refused(const struct proto_conn *pc, unsigned what, const char *key,
                        size_t nkey, enum store_mode mode, enum store_result why)
{
    watch_note_store(pc, what, key, nkey, mode, why, NULL);
}

enum store_result proto_commit_noted(const struct proto_conn *pc, unsigned what, const char *key,
                                     size_t nkey, item *it, const struct store_commit_cond *c,
                                     uint64_t *cas_out, size_t *nvalue_out)
{
    struct watch_item wi = { item_class(it), item_nvalue(it), item_exptime(it) };
    enum store_result res = store_commit_cond(pc->env->store, it, c, cas_out, nvalue_out);
    watch_note_store(pc, what, key, nkey, c->mode, res, &wi);
    return res;
}

void proto_delete_begin(const struct proto_conn *pc, unsigned what, const char *key,
                        size_t nkey, struct proto_deleting *d)
{
    d->found = false;
    if (watch_counts_detail(what))
        detail_record(key, nkey, DETAIL_DELETE, false);
    if ((what & LOGGER_DELETIONS) == 0 || !logger_wants(LOGGER_DELETIONS))
        return;
    struct store_lookup_opts peek = { .no_bump = true };
    struct store_lookup_before before;
    item *it = store_lookup(pc->env->store, key, nkey, &peek, &before, NULL);
    if (it == NULL)
        return;
    d->found = true;
    d->cls = item_class(it);
    d->nvalue = item_nvalue(it);
    store_release(pc->env->store, it);
}

void proto_delete_done(const struct proto_deleting *d, const char *key, size_t nkey,
                       enum logger_delete_cmd cmd, enum store_result res)
{
    if (d->found && res == STORE_OK)
        logger_item_deleted(key, nkey, cmd, d->cls, d->nvalue);
}
