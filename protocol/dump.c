/*
 * dump: `lru_crawler` and `stats cachedump` (dump.h). Replies, line formats
 * and limits are memcached 1.6.45's (proto_text.c, crawler.c, items.c):
 *
 *   metadump  "OK", then per live item
 *             "key=<url-encoded> exp=<unix|-1> la=<unix> cas=<n> fetch=<yes|no>
 *              cls=<n> size=<n> flags=<n> \n" (one line, LF only), then "END"
 *   mgdump    "OK", then "mg <key>" or "mg <base64 key> b" (binary keys, and keys
 *             that cannot stand raw in a line, as meta's k), "EN"
 *   cachedump "ITEM <key> [<value bytes> b; <unix exptime|0> s]" for items of
 *             one class, at most <limit> (0: all) and CACHEDUMP_BYTES_MAX
 *             bytes of lines, binary keys left out, then "END"
 *
 * Differences, on purpose: items come in hash order (memcached: LRU order;
 * cachedump there shows only the COLD list); a dump never answers BUSY
 * (it does not use the crawler thread) and may follow pipelined requests
 * (memcached refuses those), because it streams through the connection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "protocol/dump.h"
#include "protocol/watch.h"
#include "protocol/messages.h"
#include "protocol/meta.h"
#include "protocol/reply.h"

#define DUMP_PIECE_BUCKETS 256          /* hash buckets walked per piece */
#define DUMP_CLASS_ID_LIMIT 64          /* memcached's class ids are below this */
#define CACHEDUMP_BYTES_MAX (2 * 1024 * 1024)   /* memcached's 2 MB */
#define DUMP_LINE_MAX (3 * KEY_MAX_LENGTH + 160)  /* a url-encoded key + fields */
#define DUMP_ARG_MAX 512                /* a class list, as memcached's buffer */

#define MSG_CRAWLER_OFF      "CLIENT_ERROR lru crawler disabled\r\n"
#define MSG_CRAWLER_BUSY     "BUSY currently processing crawler request\r\n"
#define MSG_CRAWLER_BADCLASS "BADCLASS invalid class id\r\n"
#define MSG_CRAWLER_NOSTART  "ERROR failed to start lru crawler thread\r\n"
#define MSG_CRAWLER_NOSTOP   "ERROR failed to stop lru crawler thread\r\n"
#define MSG_CRAWLER_SLEEP    "CLIENT_ERROR sleep must be one second or less\r\n"
#define MSG_CACHEDUMP_USAGE  "CLIENT_ERROR bad command line\r\n"
#define MSG_CACHEDUMP_CLASS  "CLIENT_ERROR Illegal slab id\r\n"
#define MSG_MGDUMP_END       "EN\r\n"
/* -X: memcached 1.6.45's words for each refused dump */
#define MSG_METADUMP_OFF     "ERROR metadump not allowed\r\n"
#define MSG_MGDUMP_OFF       "ERROR key dump not allowed\r\n"
#define MSG_CACHEDUMP_OFF    "CLIENT_ERROR stats cachedump not allowed\r\n"

enum dump_kind { DUMP_META, DUMP_MG, DUMP_CACHE };

struct proto_dump {
    enum dump_kind kind;
    struct store_class_set classes;
    struct store_walk walk;
    struct reply *out;              /* the piece's reply, while it runs */
    uint64_t limit;                 /* cachedump: lines at most (0: all) */
    uint64_t shown;
    size_t bytes;                   /* cachedump: line bytes so far */
    bool full;                      /* cachedump: a limit was reached */
};

/* ---- lines ---- */

static bool dump_uri_plain(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

/* The key url-encoded as memcached does (RFC 3986 unreserved kept). */
static size_t dump_uri_encode(const char *key, size_t n, char *out)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)key[i];
        if (dump_uri_plain(c)) {
            out[len++] = (char)c;
        } else {
            out[len++] = '%';
            out[len++] = hex[c >> 4];
            out[len++] = hex[c & 0xf];
        }
    }
    return len;
}

static unsigned long long dump_unix(rel_time_t t)
{
    return (unsigned long long)clock_started() + t;
}

static void dump_meta_line(struct proto_dump *d, const store *s, const item *it)
{
    char *p = reply_reserve(d->out, DUMP_LINE_MAX);
    size_t n = (size_t)sprintf(p, "key=");
    n += dump_uri_encode(item_key(it), item_nkey(it), p + n);
    rel_time_t exp = item_exptime(it);
    if (exp == 0)
        n += (size_t)sprintf(p + n, " exp=-1");
    else
        n += (size_t)sprintf(p + n, " exp=%llu", dump_unix(exp));
    n += (size_t)sprintf(p + n, " la=%llu cas=%llu fetch=%s cls=%u size=%zu flags=%u \n",
                         dump_unix(item_atime(it)), (unsigned long long)item_cas(it),
                         item_fetched(it) ? "yes" : "no", item_class(it),
                         store_item_total_size(s, it), item_flags(it));
    reply_commit(d->out, n);
}

static void dump_mg_line(struct proto_dump *d, const item *it)
{
    char *p = reply_reserve(d->out, DUMP_LINE_MAX);
    size_t n = (size_t)sprintf(p, "mg ");
    if (item_key_binary(it) || !proto_key_is_printable(item_key(it), item_nkey(it))) {
        n += proto_b64_encode(item_key(it), item_nkey(it), p + n);
        n += (size_t)sprintf(p + n, " b\r\n");
    } else {
        memcpy(p + n, item_key(it), item_nkey(it));
        n += item_nkey(it);
        n += (size_t)sprintf(p + n, "\r\n");
    }
    reply_commit(d->out, n);
}

static void dump_cache_line(struct proto_dump *d, const item *it)
{
    if (d->full || item_key_binary(it))
        return;
    char line[DUMP_LINE_MAX];
    rel_time_t exp = item_exptime(it);
    int n = snprintf(line, sizeof(line), "ITEM %.*s [%u b; %llu s]\r\n", (int)item_nkey(it),
                     item_key(it), item_nvalue(it), exp == 0 ? 0ULL : dump_unix(exp));
    if (d->bytes + (size_t)n + MSG_LEN(MSG_END) + 1 > CACHEDUMP_BYTES_MAX) {
        d->full = true;
        return;
    }
    reply_add(d->out, line, (size_t)n);
    d->bytes += (size_t)n;
    if (++d->shown == d->limit)
        d->full = true;
}

struct dump_visit {
    struct proto_dump *d;
    const store *s;
};

/* Under the item's lock (store_walk_step): formats only. */
static void dump_visit(void *arg, const item *it)
{
    struct dump_visit *v = arg;
    switch (v->d->kind) {
    case DUMP_META:
        dump_meta_line(v->d, v->s, it);
        break;
    case DUMP_MG:
        dump_mg_line(v->d, it);
        break;
    case DUMP_CACHE:
        dump_cache_line(v->d, it);
        break;
    }
}

/* ---- the stream ---- */

static void dump_end(struct proto_conn *pc, struct reply *out)
{
    if (pc->dump->kind == DUMP_MG)
        REPLY_LIT(out, MSG_MGDUMP_END);
    else
        REPLY_LIT(out, MSG_END);
    free(pc->dump);
    pc->dump = NULL;
}

void proto_stream_more(struct proto_conn *pc, struct reply *out)
{
    if (proto_watching(pc)) {
        proto_watch_more(pc, out);   /* watch.c */
        return;
    }
    struct proto_dump *d = pc->dump;
    if (d == NULL)
        return;
    struct dump_visit v = { d, pc->env->store };
    d->out = out;
    bool more = store_walk_step(pc->env->store, &d->walk, &d->classes, DUMP_PIECE_BUCKETS,
                                dump_visit, &v);
    d->out = NULL;
    if (!more || d->full)
        dump_end(pc, out);
}

void proto_stream_end(struct proto_conn *pc)
{
    proto_watch_end(pc);
    free(pc->dump);
    pc->dump = NULL;
}

/* Starts a dump on the connection; false (nothing started) without memory. */
static bool dump_start(struct text_req *rq, enum dump_kind kind,
                       const struct store_class_set *classes, uint64_t limit)
{
    struct proto_dump *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return false;
    d->kind = kind;
    d->classes = *classes;
    d->limit = limit;
    proto_stream_end(rq->pc);
    rq->pc->dump = d;
    return true;
}

/* ---- lru_crawler ---- */

static bool dump_class_id_ok(const store *s, uint64_t id)
{
    return id >= 1 && id <= CLASS_MAX && (id < DUMP_CLASS_ID_LIMIT || id <= store_class_count(s));
}

/* "all", "hash" (every class, in hash order: all our dumps are) or "1,2,...". */
static bool dump_parse_classes(const store *s, const struct text_token *t,
                               struct store_class_set *set)
{
    memset(set, 0, sizeof(*set));
    if (text_token_is(t, "all") || text_token_is(t, "hash")) {
        store_class_set_all(set);
        return true;
    }
    size_t len = t->len < DUMP_ARG_MAX ? t->len : DUMP_ARG_MAX;
    size_t i = 0;
    bool any = false;
    while (i < len) {
        size_t j = i;
        while (j < len && t->p[j] != ',')
            j++;
        struct text_token part = { t->p + i, j - i };
        uint64_t id;
        if (part.len > 0) {
            if (!text_parse_u64(&part, &id) || !dump_class_id_ok(s, id))
                return false;
            store_class_set_add(set, (unsigned)id);
            any = true;
        }
        i = j + 1;
    }
    return any;
}

static const char *const dump_crawl_replies[] = {
    [STORE_CRAWL_OK] = MSG_OK,
    [STORE_CRAWL_BUSY] = MSG_CRAWLER_BUSY,
    [STORE_CRAWL_DISABLED] = MSG_CRAWLER_OFF,
};

static void dump_cmd_crawl(struct text_req *rq, const struct store_class_set *set)
{
    reply_add_str(rq->out, dump_crawl_replies[store_crawl(rq->store, set)]);
}

static void dump_cmd_dump(struct text_req *rq, enum dump_kind kind,
                          const struct store_class_set *set)
{
    if (!dump_start(rq, kind, set, 0)) {
        REPLY_LIT(rq->out, MSG_NO_MEMORY);
        return;
    }
    REPLY_LIT(rq->out, MSG_OK);
}

/* crawl, metadump, mgdump: the crawler must be on, dumps allowed (-X);
 * then the class list. */
static void dump_cmd_classes(struct text_req *rq, const struct text_token *sub)
{
    if (!store_crawler_enabled(rq->store)) {
        REPLY_LIT(rq->out, MSG_CRAWLER_OFF);
        return;
    }
    if (rq->pc->env->dump_disabled && !text_token_abbreviates(sub, "crawl")) {
        if (text_token_abbreviates(sub, "metadump"))
            REPLY_LIT(rq->out, MSG_METADUMP_OFF);
        else
            REPLY_LIT(rq->out, MSG_MGDUMP_OFF);
        return;
    }
    struct store_class_set set;
    if (!dump_parse_classes(rq->store, &rq->tok[2], &set)) {
        REPLY_LIT(rq->out, MSG_CRAWLER_BADCLASS);
        return;
    }
    if (text_token_abbreviates(sub, "crawl"))
        dump_cmd_crawl(rq, &set);
    else if (text_token_abbreviates(sub, "metadump"))
        dump_cmd_dump(rq, DUMP_META, &set);
    else
        dump_cmd_dump(rq, DUMP_MG, &set);
}

/* sleep <us> | tocrawl <n>: a 32-bit number; sleep at most one second. */
static void dump_cmd_number(struct text_req *rq, bool sleep)
{
    int64_t n;
    if (!text_admin_number(&rq->tok[2], false, &n)) {
        REPLY_LIT(rq->out, MSG_BAD_FORMAT);
        return;
    }
    if (sleep && n > CRAWLER_SLEEP_MAX) {
        REPLY_LIT(rq->out, MSG_CRAWLER_SLEEP);
        return;
    }
    if (sleep)
        store_crawler_set_sleep(rq->store, (uint32_t)n);
    else
        store_crawler_set_tocrawl(rq->store, (uint32_t)n);
    REPLY_LIT(rq->out, MSG_OK);
}

static void dump_cmd_onoff(struct text_req *rq, const struct text_token *sub)
{
    char err[DUMP_ARG_MAX];
    if (text_token_abbreviates(sub, "enable")) {
        bool ok = !store_crawler_enabled(rq->store) &&
                  store_crawler_enable(rq->store, true, err, sizeof(err)) == 0;
        reply_add_str(rq->out, ok ? MSG_OK : MSG_CRAWLER_NOSTART);
    } else if (text_token_abbreviates(sub, "disable")) {
        bool ok = store_crawler_enable(rq->store, false, err, sizeof(err)) == 0;
        reply_add_str(rq->out, ok ? MSG_OK : MSG_CRAWLER_NOSTOP);
    } else {
        REPLY_LIT(rq->out, MSG_ERROR);
    }
}

/* Subcommands may be abbreviated (memcached compares len bytes of the
 * token), tried in memcached's order. */
void proto_dump_lru_crawler(struct text_req *rq, unsigned arg)
{
    (void)arg;
    const struct text_token *sub = &rq->tok[1];
    if (rq->ntok == 3) {
        if (text_token_abbreviates(sub, "crawl") || text_token_abbreviates(sub, "metadump") ||
            text_token_abbreviates(sub, "mgdump"))
            dump_cmd_classes(rq, sub);
        else if (text_token_abbreviates(sub, "tocrawl"))
            dump_cmd_number(rq, false);
        else if (text_token_abbreviates(sub, "sleep"))
            dump_cmd_number(rq, true);
        else
            REPLY_LIT(rq->out, MSG_ERROR);
    } else if (rq->ntok == 2) {
        dump_cmd_onoff(rq, sub);
    } else {
        REPLY_LIT(rq->out, MSG_ERROR);
    }
}

/* ---- stats cachedump ---- */

void proto_dump_cachedump(struct text_req *rq)
{
    int64_t id, limit;
    if (rq->pc->env->dump_disabled) {
        REPLY_LIT(rq->out, MSG_CACHEDUMP_OFF);
        return;
    }
    if (rq->ntok < 4) {
        REPLY_LIT(rq->out, MSG_CACHEDUMP_USAGE);
        return;
    }
    if (!text_admin_number(&rq->tok[2], false, &id) ||
        !text_admin_number(&rq->tok[3], false, &limit)) {
        REPLY_LIT(rq->out, MSG_BAD_FORMAT);
        return;
    }
    if (id >= DUMP_CLASS_ID_LIMIT && id > (int64_t)store_class_count(rq->store)) {
        REPLY_LIT(rq->out, MSG_CACHEDUMP_CLASS);
        return;
    }
    struct store_class_set set = { { 0 } };
    store_class_set_add(&set, (unsigned)id);
    if (!dump_start(rq, DUMP_CACHE, &set, (uint64_t)limit))
        REPLY_LIT(rq->out, MSG_NO_MEMORY);
}
