/*
 * binary: memcached's binary protocol on top of slabs/store.h.
 *
 * A request is a 24-byte header (magic, opcode, key length, extras length,
 * body length, opaque, cas) and a body of extras, key and value. Frames are
 * handled whole: proto_bin_process() returns 0 with *need = 24 + body length
 * until the frame is in the buffer, so handlers read fixed offsets and never
 * past the buffer. Two exceptions, both acted on as soon as the key is in: a
 * value too large to store is refused ("Too large.") and the rest of the
 * frame discarded through pc->swallow, never buffered; a store value over
 * PROTO_BLOCK_BUFFERED_MAX gets its item then and is read into it as it
 * arrives (bin_store_pend, pc->pend), the frame completed by
 * proto_bin_finish() from its saved header, extras and key.
 *
 * One table (bin_cmds[]) says per opcode what the frame must look like
 * (extras length, key, value), whether it is a quiet variant and which
 * handler runs. Checks shared by all opcodes, in memcached's order:
 *  - bad magic: close without a reply;
 *  - key + extras longer than the body: "Unknown command", close;
 *  - key over KEY_MAX_LENGTH, or a frame shape the opcode does not take:
 *    "Invalid arguments", close;
 *  - an opcode we do not serve: "Unknown command", its body skipped.
 * Quiet variants send nothing on success (get-like ones: nothing on a miss);
 * errors are always sent. Replies accumulate in the struct reply: the server
 * writes a batch at once. Values go out zero-copy from item memory.
 *
 * Behaviour, status codes, error bodies and counters follow memcached 1.6.18,
 * checked byte for byte against a running one, with two deliberate
 * differences: after an unknown opcode memcached skips the body twice
 * (losing the next frame) where we skip it once, and we serve Verbosity
 * (memcached answers "Unknown command").
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "common/clock.h"
#include "protocol/binary.h"
#include "protocol/internal.h"
#include "protocol/messages.h"
#include "protocol/watch.h"

#define BIN_EXT_FLAGS_LEN 4            /* get responses: the item's flags */
#define BIN_EXT_STORE_LEN 8            /* set/add/replace: flags, exptime */
#define BIN_EXT_ARITH_LEN 20           /* incr/decr: delta, initial, exptime */
#define BIN_EXT_TIME_LEN 4             /* touch/gat/flush: exptime; verbosity: level */
#define BIN_ARITH_VALUE_LEN 8
#define BIN_VERBOSITY_MAX 2            /* as text `verbosity` */

/* bin_cmd.flags */
#define BIN_QUIET      1u              /* no reply on success */
#define BIN_QUIET_MISS 2u              /* get-like quiet: no reply on a miss */
#define BIN_WITH_KEY   4u              /* getk/gatk: the key comes back */
#define BIN_TOUCH      8u              /* touch/gat: set a new exptime */
#define BIN_NO_VALUE   16u             /* touch: flags only */

/* bin_cmd.key / .value: what the frame must carry */
enum bin_part { BIN_NONE, BIN_NEEDED, BIN_ANY };

/*
 * The 24-byte header, all numbers big-endian (a response has the status
 * where a request has the vbucket):
 *
 *   0      1       2        4       5          6                8
 *   +------+-------+--------+-------+----------+----------------+
 *   |magic |opcode | keylen |extlen | datatype | vbucket/status |
 *   +------+-------+--------+-------+----------+----------------+
 *   8            12          16                                24
 *   | bodylen    | opaque    | cas                              |
 *   +------------+-----------+----------------------------------+
 *   then extras (extlen), key (keylen), value (bodylen - extlen - keylen)
 */
struct bin_header {
    uint8_t magic;
    uint8_t opcode;
    uint16_t keylen;
    uint8_t extlen;
    uint32_t bodylen;
    char opaque[4];                    /* echoed as received */
    uint64_t cas;
};

struct bin_req;

struct bin_cmd {
    uint8_t ext;                       /* extras length required */
    uint8_t ext_alt;                   /* another length accepted (flush: 0 or 4) */
    uint8_t key;                       /* enum bin_part */
    uint8_t value;                     /* enum bin_part */
    uint8_t flags;
    unsigned arg;                      /* store mode; incr = 1 */
    void (*fn)(struct bin_req *rq);
};

struct bin_req {
    struct proto_conn *pc;
    struct reply *out;
    store *store;
    struct proto_counters *ctr;
    const struct bin_cmd *cmd;
    struct bin_header h;
    const char *ext;
    const char *key;
    const char *value;
    uint32_t nvalue;
    enum proto_action action;
};

/* ---------------------------------------------------------------- byte order */

static uint16_t bin_get16(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return (uint16_t)((u[0] << 8) | u[1]);
}

static uint32_t bin_get32(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return ((uint32_t)u[0] << 24) | ((uint32_t)u[1] << 16) | ((uint32_t)u[2] << 8) | u[3];
}

static uint64_t bin_get64(const char *p)
{
    return ((uint64_t)bin_get32(p) << 32) | bin_get32(p + 4);
}

static void bin_put16(char *p, uint16_t v)
{
    p[0] = (char)(v >> 8);
    p[1] = (char)v;
}

static void bin_put32(char *p, uint32_t v)
{
    bin_put16(p, (uint16_t)(v >> 16));
    bin_put16(p + 2, (uint16_t)v);
}

static void bin_put64(char *p, uint64_t v)
{
    bin_put32(p, (uint32_t)(v >> 32));
    bin_put32(p + 4, (uint32_t)v);
}

static void bin_header_parse(const char *b, struct bin_header *h)
{
    h->magic = (uint8_t)b[0];
    h->opcode = (uint8_t)b[1];
    h->keylen = bin_get16(b + 2);
    h->extlen = (uint8_t)b[4];
    /* b[5] data type, b[6..7] vbucket: ignored, as memcached does */
    h->bodylen = bin_get32(b + 8);
    memcpy(h->opaque, b + 12, sizeof(h->opaque));
    h->cas = bin_get64(b + 16);
}

/* ---------------------------------------------------------------- responses */

/* Header, extras and key, copied; the value follows separately. */
static void bin_head(struct bin_req *rq, uint16_t status, const char *ext, uint8_t next,
                     const char *key, uint16_t nkey, uint32_t nvalue, uint64_t cas)
{
    char *p = reply_reserve(rq->out, BIN_HEADER_LEN + (size_t)next + nkey);
    p[0] = (char)BIN_MAGIC_RESPONSE;
    p[1] = (char)rq->h.opcode;
    bin_put16(p + 2, nkey);
    p[4] = (char)next;
    p[5] = 0;                          /* data type: raw bytes */
    bin_put16(p + 6, status);
    bin_put32(p + 8, (uint32_t)next + nkey + nvalue);
    memcpy(p + 12, rq->h.opaque, sizeof(rq->h.opaque));
    bin_put64(p + 16, cas);
    if (next > 0)
        memcpy(p + BIN_HEADER_LEN, ext, next);
    if (nkey > 0)
        memcpy(p + BIN_HEADER_LEN + next, key, nkey);
    reply_commit(rq->out, BIN_HEADER_LEN + (size_t)next + nkey);
}

static void bin_respond(struct bin_req *rq, uint16_t status, const char *key, uint16_t nkey,
                        const char *value, uint32_t nvalue, uint64_t cas)
{
    bin_head(rq, status, NULL, 0, key, nkey, nvalue, cas);
    if (nvalue > 0)
        reply_add(rq->out, value, nvalue);
}

/* A success without a body, unless the command is quiet. */
static void bin_ok(struct bin_req *rq, uint64_t cas)
{
    if (!(rq->cmd->flags & BIN_QUIET))
        bin_respond(rq, BIN_ST_OK, NULL, 0, NULL, 0, cas);
}

static const char *bin_status_text(uint16_t status)
{
    switch (status) {
    case BIN_ST_KEY_ENOENT: return BIN_MSG_KEY_ENOENT;
    case BIN_ST_KEY_EEXISTS: return BIN_MSG_KEY_EEXISTS;
    case BIN_ST_E2BIG: return BIN_MSG_E2BIG;
    case BIN_ST_EINVAL: return BIN_MSG_EINVAL;
    case BIN_ST_NOT_STORED: return BIN_MSG_NOT_STORED;
    case BIN_ST_DELTA_BADVAL: return BIN_MSG_DELTA_BADVAL;
    case BIN_ST_ENOMEM: return BIN_MSG_ENOMEM;
    case BIN_ST_AUTH_ERROR: return BIN_MSG_AUTH_ERROR;
    default: return BIN_MSG_UNKNOWN_COMMAND;
    }
}

/* Errors are sent for quiet commands too; cas is 0 in them. */
static void bin_error(struct bin_req *rq, uint16_t status)
{
    const char *msg = bin_status_text(status);
    bin_respond(rq, status, NULL, 0, msg, (uint32_t)strlen(msg), 0);
}

/* ---------------------------------------------------------------- get family */

/* Flags in the extras, [key], value zero-copy; the item's reference goes to the reply. */
static void bin_value(struct bin_req *rq, item *it)
{
    unsigned f = rq->cmd->flags;
    char ext[BIN_EXT_FLAGS_LEN];
    bin_put32(ext, item_flags(it));
    uint16_t nkey = (f & BIN_WITH_KEY) ? rq->h.keylen : 0;
    uint32_t nvalue = (f & BIN_NO_VALUE) ? 0 : item_nvalue(it);
    bin_head(rq, BIN_ST_OK, ext, sizeof(ext), rq->key, nkey, nvalue, item_cas(it));
    if (nvalue > 0)
        reply_add_value(rq->out, it);
    else
        store_release(rq->store, it);
}

static void bin_miss(struct bin_req *rq)
{
    unsigned f = rq->cmd->flags;
    if (f & BIN_QUIET_MISS)
        return;
    if (f & BIN_WITH_KEY)      /* getk: the key, no message */
        bin_respond(rq, BIN_ST_KEY_ENOENT, rq->key, rq->h.keylen, NULL, 0, 0);
    else
        bin_error(rq, BIN_ST_KEY_ENOENT);
}

/* get, getq, getk, getkq, touch, gat, gatq, gatk, gatkq */
static void bin_cmd_get(struct bin_req *rq)
{
    struct proto_counters *ctr = rq->ctr;
    bool touch = rq->cmd->flags & BIN_TOUCH;
    enum store_miss why = STORE_HIT;
    item *it;
    if (touch) {
        int64_t exptime = bin_get32(rq->ext);
        it = store_get_touch(rq->store, rq->key, rq->h.keylen, exptime, &why);
        counter_inc(&ctr->cmd_touch);
    } else {
        it = store_get(rq->store, rq->key, rq->h.keylen, &why);
        counter_inc(&ctr->cmd_get);
    }
    if (proto_observed(PROTO_NOTE_GET))
        proto_note_get(rq->pc, PROTO_NOTE_GET, rq->key, rq->h.keylen, it, why);
    if (it == NULL) {
        proto_count_lookup_miss(ctr, touch, why);
        bin_miss(rq);
        return;
    }
    proto_count_lookup_hit(ctr, item_class(it), touch);
    bin_value(rq, it);
}

/* ---------------------------------------------------------------- storage */

/* No item for the value: reply, and as memcached a failed set drops the old value. */
static void bin_store_refused(struct bin_req *rq, enum store_result why)
{
    bin_error(rq, proto_count_refused(rq->ctr, why) ? BIN_ST_E2BIG : BIN_ST_ENOMEM);
    if (rq->cmd->arg == STORE_SET)
        store_delete(rq->store, rq->key, rq->h.keylen, 0, NULL);
}

/* Not stored: memcached names the reason by the command (add: exists, replace: not found). */
static uint16_t bin_not_stored_status(enum store_mode mode)
{
    if (mode == STORE_ADD)
        return BIN_ST_KEY_EEXISTS;
    if (mode == STORE_REPLACE)
        return BIN_ST_KEY_ENOENT;
    return BIN_ST_NOT_STORED;
}

static void bin_store_result(struct bin_req *rq, enum store_mode mode, unsigned cls,
                             enum store_result res, uint64_t cas)
{
    if (mode == STORE_CAS)
        proto_count_cas(rq->ctr, cls, res);
    switch (res) {
    case STORE_OK:
        bin_ok(rq, cas);
        break;
    case STORE_EXISTS:
        bin_error(rq, BIN_ST_KEY_EEXISTS);
        break;
    case STORE_NOT_FOUND:
        bin_error(rq, BIN_ST_KEY_ENOENT);
        break;
    default:
        bin_error(rq, bin_not_stored_status(mode));
        break;
    }
}

/* The item a store frame's value goes in, or NULL (answered). */
static item *bin_store_alloc(struct bin_req *rq)
{
    enum store_mode mode = (enum store_mode)rq->cmd->arg;
    bool concat = mode == STORE_APPEND || mode == STORE_PREPEND;
    uint32_t flags = concat ? 0 : bin_get32(rq->ext);
    int64_t exptime = concat ? 0 : bin_get32(rq->ext + 4);
    enum store_result why = STORE_OK;
    item *it = store_item_alloc(rq->store, rq->key, rq->h.keylen, flags, exptime,
                                rq->nvalue, &why);
    if (it == NULL)
        bin_store_refused(rq, why);
    return it;
}

/*
 * Stores a filled item and answers. A non-zero CAS makes set/add/replace a
 * cas, and append/prepend conditional.
 */
static void bin_store_commit(struct bin_req *rq, item *it)
{
    enum store_mode mode = (enum store_mode)rq->cmd->arg;
    bool concat = mode == STORE_APPEND || mode == STORE_PREPEND;
    if (!concat && rq->h.cas != 0)
        mode = STORE_CAS;
    unsigned cls = item_class(it);
    counter_inc(&rq->ctr->cmd_set);
    counter_inc(&rq->ctr->cls[cls].cmd_set);
    uint64_t cas = 0;
    enum store_result res =
        proto_observed(PROTO_NOTE_STORE)
            ? proto_commit_noted(rq->pc, PROTO_NOTE_STORE, rq->key, rq->h.keylen, it,
                                 &(struct store_commit_cond){ .mode = mode, .cas = rq->h.cas },
                                 &cas, NULL)
            : store_commit(rq->store, it, mode, rq->h.cas, &cas);
    bin_store_result(rq, mode, cls, res, cas);
}

/* set/add/replace (extras: flags, exptime) and append/prepend (no extras). */
static void bin_cmd_store(struct bin_req *rq)
{
    item *it = bin_store_alloc(rq);
    if (it == NULL)
        return;
    item_value_write(rq->store, it, 0, rq->value, rq->nvalue);
    bin_store_commit(rq, it);
}

/* ---------------------------------------------------------------- incr/decr */

static void bin_arith_reply(struct bin_req *rq, uint64_t value, uint64_t cas)
{
    if (rq->cmd->flags & BIN_QUIET)
        return;
    char body[BIN_ARITH_VALUE_LEN];
    bin_put64(body, value);
    bin_respond(rq, BIN_ST_OK, NULL, 0, body, sizeof(body), cas);
}

/*
 * incr/decr: extras delta(8) initial(8) expiration(4); the new value in 8
 * bytes. One atomic store call does it all, as memcached: a CAS other than 0
 * must match the counter (checked under the key's lock, so of clients racing
 * with the same CAS one wins); a missing counter is created holding
 * `initial` with the given expiration, unless that is BIN_ARITH_NO_CREATE.
 */
static void bin_cmd_arith(struct bin_req *rq)
{
    bool incr = rq->cmd->arg != 0;
    uint32_t exptime = bin_get32(rq->ext + 16);
    struct store_arith_cond a = {
        .incr = incr,
        .delta = bin_get64(rq->ext),
        .has_cas = rq->h.cas != 0,
        .cas = rq->h.cas,
        .vivify = exptime != BIN_ARITH_NO_CREATE,
        .initial = bin_get64(rq->ext + 8),
        .vivify_exptime = exptime,
    };
    struct proto_counters *ctr = rq->ctr;
    uint64_t result = 0;
    bool created = false;
    item *it = NULL;
    switch (store_arith_cond(rq->store, rq->key, rq->h.keylen, &a, &result, &created, &it)) {
    case STORE_OK:
        /* A counter created here counts neither as a hit nor as a miss (memcached). */
        if (!created)
            proto_count_arith_hit(ctr, incr, item_class(it));
        bin_arith_reply(rq, result, item_cas(it));
        store_release(rq->store, it);
        break;
    case STORE_NOT_FOUND:
        counter_inc(incr ? &ctr->incr_misses : &ctr->decr_misses);
        bin_error(rq, BIN_ST_KEY_ENOENT);
        break;
    case STORE_EXISTS:
        bin_error(rq, BIN_ST_KEY_EEXISTS);
        break;
    case STORE_NOT_STORED:             /* the create lost a race with another writer */
        bin_error(rq, BIN_ST_NOT_STORED);
        break;
    case STORE_NON_NUMERIC:
        bin_error(rq, BIN_ST_DELTA_BADVAL);
        break;
    default:
        bin_error(rq, BIN_ST_ENOMEM);
        break;
    }
}

/* ---------------------------------------------------------------- other keyed */

/* delete, deleteq; with a CAS only when it matches. The reply carries cas 0. */
static void bin_cmd_delete(struct bin_req *rq)
{
    struct proto_deleting del;   /* binary deletes count in stats detail, not in deletions */
    if (proto_observed(LOGGER_DETAIL))
        proto_delete_begin(rq->pc, LOGGER_DETAIL, rq->key, rq->h.keylen, &del);
    unsigned cls = 0;
    switch (store_delete(rq->store, rq->key, rq->h.keylen, rq->h.cas, &cls)) {
    case STORE_OK:
        proto_count_delete_hit(rq->ctr, cls);
        bin_ok(rq, 0);
        break;
    case STORE_EXISTS:
        bin_error(rq, BIN_ST_KEY_EEXISTS);
        break;
    default:
        counter_inc(&rq->ctr->delete_misses);
        bin_error(rq, BIN_ST_KEY_ENOENT);
        break;
    }
}

/* ---------------------------------------------------------------- admin */

/* flush, flushq: optional 4-byte delay in the extras. Under -F memcached
 * answers an auth error and does not count the command. */
static void bin_cmd_flush(struct bin_req *rq)
{
    if (rq->pc->env->flush_disabled) {
        bin_error(rq, BIN_ST_AUTH_ERROR);
        return;
    }
    int64_t when = rq->h.extlen == BIN_EXT_TIME_LEN ? bin_get32(rq->ext) : 0;
    counter_inc(&rq->ctr->cmd_flush);
    store_flush(rq->store, proto_flush_delay(when));
    bin_ok(rq, 0);
}

static void bin_cmd_noop(struct bin_req *rq)
{
    bin_ok(rq, 0);
}

static void bin_cmd_version(struct bin_req *rq)
{
    bin_respond(rq, BIN_ST_OK, NULL, 0, PROTOCOL_VERSION, (uint32_t)strlen(PROTOCOL_VERSION), 0);
}

static void bin_cmd_verbosity(struct bin_req *rq)
{
    uint32_t level = bin_get32(rq->ext);
    const struct proto_env *env = rq->pc->env;
    if (env->set_verbosity != NULL)
        env->set_verbosity(env->arg, level > BIN_VERBOSITY_MAX ? BIN_VERBOSITY_MAX : (int)level);
    bin_ok(rq, 0);
}

/* quit answers then closes; quitq just closes. */
static void bin_cmd_quit(struct bin_req *rq)
{
    bin_ok(rq, 0);
    rq->action = PROTO_CLOSE;
}

#define BIN_STAT_DETAIL "detail"   /* memcached matches the group's first 6 bytes */

struct bin_stat_sink {
    struct stat_sink base;
    struct bin_req *rq;
};

/* One response per pair: key = name, value = value. */
static void bin_stat_emit(struct stat_sink *sink, const char *name, const char *value)
{
    struct bin_req *rq = ((struct bin_stat_sink *)sink)->rq;
    bin_respond(rq, BIN_ST_OK, name, (uint16_t)strlen(name), value, (uint32_t)strlen(value), 0);
}

/* The text of a `stats detail dump`, gathered for one binary value. */
struct bin_detail_text {
    char *text;
    size_t len, cap;
    bool failed;   /* out of memory: the reply says so */
};

static void bin_detail_add(void *arg, const char *line, size_t len)
{
    struct bin_detail_text *d = arg;
    if (d->failed)
        return;
    if (d->len + len > d->cap) {
        size_t cap = d->cap == 0 ? len * 2 : d->cap * 2;
        while (cap < d->len + len)
            cap *= 2;
        char *grown = realloc(d->text, cap);
        if (grown == NULL) {
            d->failed = true;
            return;
        }
        d->text = grown;
        d->cap = cap;
    }
    memcpy(d->text + d->len, line, len);
    d->len += len;
}

/* The dump as memcached's binary protocol gives it: one stat named
 * "detailed" whose value is the text reply's lines and END. Bounded: the
 * table keeps at most DETAIL_PREFIXES_MAX prefixes. False: answered ENOMEM. */
static bool bin_detail_dump(struct bin_req *rq)
{
    static const char detailed[] = "detailed";
    struct bin_detail_text d = { NULL, 0, 0, false };
    detail_dump(bin_detail_add, &d);
    bin_detail_add(&d, MSG_END, sizeof(MSG_END) - 1);
    if (d.failed) {
        free(d.text);
        bin_error(rq, BIN_ST_ENOMEM);
        return false;
    }
    bin_respond(rq, BIN_ST_OK, detailed, sizeof(detailed) - 1, d.text, (uint32_t)d.len, 0);
    free(d.text);
    return true;
}

/*
 * stat "detail on|off|dump" (memcached 1.6.45's binary protocol): on and off
 * answer the ending response only, dump one "detailed" stat first; with -X,
 * or any other word, "Not found". Like memcached, each word matches as the
 * start of what follows "detail" (" onx" is on).
 */
static void bin_stat_detail(struct bin_req *rq, const char *sub)
{
    if (rq->pc->env->dump_disabled) {
        bin_error(rq, BIN_ST_KEY_ENOENT);
        return;
    }
    if (strncmp(sub, " on", strlen(" on")) == 0) {
        detail_set_enabled(true);
    } else if (strncmp(sub, " off", strlen(" off")) == 0) {
        detail_set_enabled(false);
    } else if (strncmp(sub, " dump", strlen(" dump")) == 0) {
        if (!bin_detail_dump(rq))
            return;
    } else {
        bin_error(rq, BIN_ST_KEY_ENOENT);
        return;
    }
    bin_respond(rq, BIN_ST_OK, NULL, 0, NULL, 0, 0);
}

/*
 * stat [group]: the server's groups as text `stats <group>`, then an empty
 * response ends the list. "reset" resets and answers only that empty one; a
 * group the server does not know answers "Not found".
 */
static void bin_cmd_stat(struct bin_req *rq)
{
    const struct proto_env *env = rq->pc->env;
    char group[KEY_MAX_LENGTH + 1];
    memcpy(group, rq->key, rq->h.keylen);
    group[rq->h.keylen] = '\0';
    if (strncmp(group, BIN_STAT_DETAIL, strlen(BIN_STAT_DETAIL)) == 0) {
        bin_stat_detail(rq, group + strlen(BIN_STAT_DETAIL));
        return;
    }
    if (strcmp(group, "reset") == 0) {
        if (env->stats_reset != NULL)
            env->stats_reset(env->arg);
    } else if (env->stats != NULL) {
        struct bin_stat_sink sink = { { bin_stat_emit }, rq };
        size_t mark = reply_mark(rq->out);
        if (!env->stats(env->arg, group, &sink.base)) {
            reply_rollback(rq->out, mark);
            bin_error(rq, BIN_ST_KEY_ENOENT);
            return;
        }
    }
    bin_respond(rq, BIN_ST_OK, NULL, 0, NULL, 0, 0);
}

/* ---------------------------------------------------------------- the table */

#define GETF(flags) { 0, 0, BIN_NEEDED, BIN_NONE, flags, 0, bin_cmd_get }
#define GATF(flags) { BIN_EXT_TIME_LEN, BIN_EXT_TIME_LEN, BIN_NEEDED, BIN_NONE, \
                      BIN_TOUCH | (flags), 0, bin_cmd_get }
#define STOREF(mode, flags) { BIN_EXT_STORE_LEN, BIN_EXT_STORE_LEN, BIN_NEEDED, BIN_ANY, \
                              flags, mode, bin_cmd_store }
#define CONCATF(mode, flags) { 0, 0, BIN_NEEDED, BIN_ANY, flags, mode, bin_cmd_store }
#define ARITHF(incr, flags) { BIN_EXT_ARITH_LEN, BIN_EXT_ARITH_LEN, BIN_NEEDED, BIN_NONE, \
                              flags, incr, bin_cmd_arith }
#define BAREF(fn, flags) { 0, 0, BIN_NONE, BIN_NONE, flags, 0, fn }

/* Indexed by opcode; fn == NULL: not served ("Unknown command"). */
static const struct bin_cmd bin_cmds[UINT8_MAX + 1] = {
    [BIN_OP_GET] = GETF(0),
    [BIN_OP_GETQ] = GETF(BIN_QUIET_MISS),
    [BIN_OP_GETK] = GETF(BIN_WITH_KEY),
    [BIN_OP_GETKQ] = GETF(BIN_WITH_KEY | BIN_QUIET_MISS),
    [BIN_OP_TOUCH] = GATF(BIN_NO_VALUE),
    [BIN_OP_GAT] = GATF(0),
    [BIN_OP_GATQ] = GATF(BIN_QUIET_MISS),
    [BIN_OP_GATK] = GATF(BIN_WITH_KEY),
    [BIN_OP_GATKQ] = GATF(BIN_WITH_KEY | BIN_QUIET_MISS),
    [BIN_OP_SET] = STOREF(STORE_SET, 0),
    [BIN_OP_SETQ] = STOREF(STORE_SET, BIN_QUIET),
    [BIN_OP_ADD] = STOREF(STORE_ADD, 0),
    [BIN_OP_ADDQ] = STOREF(STORE_ADD, BIN_QUIET),
    [BIN_OP_REPLACE] = STOREF(STORE_REPLACE, 0),
    [BIN_OP_REPLACEQ] = STOREF(STORE_REPLACE, BIN_QUIET),
    [BIN_OP_APPEND] = CONCATF(STORE_APPEND, 0),
    [BIN_OP_APPENDQ] = CONCATF(STORE_APPEND, BIN_QUIET),
    [BIN_OP_PREPEND] = CONCATF(STORE_PREPEND, 0),
    [BIN_OP_PREPENDQ] = CONCATF(STORE_PREPEND, BIN_QUIET),
    [BIN_OP_DELETE] = { 0, 0, BIN_NEEDED, BIN_NONE, 0, 0, bin_cmd_delete },
    [BIN_OP_DELETEQ] = { 0, 0, BIN_NEEDED, BIN_NONE, BIN_QUIET, 0, bin_cmd_delete },
    [BIN_OP_INCREMENT] = ARITHF(1, 0),
    [BIN_OP_INCREMENTQ] = ARITHF(1, BIN_QUIET),
    [BIN_OP_DECREMENT] = ARITHF(0, 0),
    [BIN_OP_DECREMENTQ] = ARITHF(0, BIN_QUIET),
    [BIN_OP_FLUSH] = { 0, BIN_EXT_TIME_LEN, BIN_NONE, BIN_NONE, 0, 0, bin_cmd_flush },
    [BIN_OP_FLUSHQ] = { 0, BIN_EXT_TIME_LEN, BIN_NONE, BIN_NONE, BIN_QUIET, 0, bin_cmd_flush },
    [BIN_OP_NOOP] = BAREF(bin_cmd_noop, 0),
    [BIN_OP_VERSION] = BAREF(bin_cmd_version, 0),
    [BIN_OP_QUIT] = BAREF(bin_cmd_quit, 0),
    [BIN_OP_QUITQ] = BAREF(bin_cmd_quit, BIN_QUIET),
    [BIN_OP_VERBOSITY] = { BIN_EXT_TIME_LEN, BIN_EXT_TIME_LEN, BIN_NONE, BIN_NONE, 0, 0,
                           bin_cmd_verbosity },
    [BIN_OP_STAT] = { 0, 0, BIN_ANY, BIN_NONE, 0, 0, bin_cmd_stat },
};

static bool bin_part_ok(enum bin_part rule, uint32_t n)
{
    return rule == BIN_ANY || (rule == BIN_NEEDED ? n > 0 : n == 0);
}

/* The frame has the shape the opcode takes (memcached's checks per opcode). */
static bool bin_shape_ok(const struct bin_cmd *cmd, const struct bin_header *h)
{
    uint32_t nvalue = h->bodylen - h->extlen - h->keylen;
    return (h->extlen == cmd->ext || h->extlen == cmd->ext_alt) &&
           bin_part_ok((enum bin_part)cmd->key, h->keylen) &&
           bin_part_ok((enum bin_part)cmd->value, nvalue);
}

/* ---------------------------------------------------------------- one frame */

/* Consumes up to total bytes of a frame we answer early; the rest is swallowed. */
static size_t bin_skip_frame(struct proto_conn *pc, size_t len, uint64_t total)
{
    size_t now = len < total ? len : (size_t)total;
    pc->swallow = total - now;
    return now;
}

/* A value too large is refused once its key is in; 0 = wait for the key. */
static size_t bin_refuse_large(struct bin_req *rq, size_t len, size_t *need)
{
    size_t head = BIN_HEADER_LEN + (size_t)rq->h.extlen + rq->h.keylen;
    if (len < head) {
        *need = head;
        return 0;
    }
    rq->key = rq->ext + rq->h.extlen;
    bin_store_refused(rq, STORE_TOO_LARGE);
    return bin_skip_frame(rq->pc, len, BIN_HEADER_LEN + (uint64_t)rq->h.bodylen);
}

/*
 * A store frame whose value is over PROTO_BLOCK_BUFFERED_MAX and not all in:
 * once the key is in, the item is allocated and what is in copied; pc->pend
 * takes the rest as it comes and proto_bin_finish() completes the frame.
 * No item: answered, the frame swallowed. 0 = wait for the key.
 */
static size_t bin_store_pend(struct bin_req *rq, const char *buf, size_t len, size_t *need)
{
    size_t head = BIN_HEADER_LEN + (size_t)rq->h.extlen + rq->h.keylen;
    if (len < head) {
        *need = head;
        return 0;
    }
    rq->key = rq->ext + rq->h.extlen;
    item *it = bin_store_alloc(rq);
    if (it != NULL && !proto_pending_start(rq->pc, it, rq->nvalue, buf, head, 0)) {
        store_release(rq->store, it);
        it = NULL;
        bin_store_refused(rq, STORE_NO_MEMORY);
    }
    if (it == NULL)
        return bin_skip_frame(rq->pc, len, BIN_HEADER_LEN + (uint64_t)rq->h.bodylen);
    size_t now = len - head;                   /* < the value: the frame is not all in */
    item_value_write(rq->store, it, 0, buf + head, now);
    rq->pc->pend.filled = now;
    return len;
}

/*
 * Checks shared by every opcode; returns false when the frame was answered
 * (and *consumed set) without running a handler.
 */
static bool bin_frame_checks(struct bin_req *rq, size_t len, size_t *consumed)
{
    const struct bin_header *h = &rq->h;
    if (h->magic != BIN_MAGIC_REQUEST) {
        rq->action = PROTO_CLOSE;
        *consumed = len;
        return false;
    }
    if ((uint32_t)h->keylen + h->extlen > h->bodylen) {
        bin_error(rq, BIN_ST_UNKNOWN_COMMAND);
        rq->action = PROTO_CLOSE;
        *consumed = len;
        return false;
    }
    if (h->keylen > KEY_MAX_LENGTH || (rq->cmd->fn != NULL && !bin_shape_ok(rq->cmd, h))) {
        bin_error(rq, BIN_ST_EINVAL);
        rq->action = PROTO_CLOSE;
        *consumed = len;
        return false;
    }
    if (rq->cmd->fn == NULL) {
        bin_error(rq, BIN_ST_UNKNOWN_COMMAND);
        *consumed = bin_skip_frame(rq->pc, len, BIN_HEADER_LEN + (uint64_t)h->bodylen);
        return false;
    }
    return true;
}

/* ---------------------------------------------------------------- entry points */

enum proto_mode proto_bin_choose(enum proto_mode configured, unsigned char first)
{
    if (configured != PROTO_MODE_AUTO)
        return configured;
    return first == BIN_MAGIC_REQUEST ? PROTO_MODE_BINARY : PROTO_MODE_ASCII;
}

/* A request on the frame at buf (its header at least), before any check. */
static void bin_req_init(struct bin_req *rq, struct proto_conn *pc, struct reply *out,
                         const char *buf)
{
    memset(rq, 0, sizeof(*rq));
    rq->pc = pc;
    rq->out = out;
    rq->store = pc->env->store;
    rq->ctr = pc->counters;
    rq->action = PROTO_CONTINUE;
    bin_header_parse(buf, &rq->h);
    rq->cmd = &bin_cmds[rq->h.opcode];
    rq->ext = buf + BIN_HEADER_LEN;
}

void proto_bin_finish(struct proto_conn *pc, struct reply *out, enum proto_action *action)
{
    struct bin_req rq;
    bin_req_init(&rq, pc, out, pc->pend.head);
    rq.key = rq.ext + rq.h.extlen;
    rq.nvalue = (uint32_t)pc->pend.vlen;
    bin_store_commit(&rq, proto_pending_take(pc));
    proto_pending_end(pc);                     /* frees the head rq read from */
    *action = rq.action;
}

size_t proto_bin_process(struct proto_conn *pc, const char *buf, size_t len,
                         struct reply *out, enum proto_action *action, size_t *need)
{
    size_t need_dummy;
    if (need == NULL)
        need = &need_dummy;
    *action = PROTO_CONTINUE;
    *need = 0;
    if (len < BIN_HEADER_LEN) {
        *need = BIN_HEADER_LEN;
        return 0;
    }
    struct bin_req rq;
    bin_req_init(&rq, pc, out, buf);

    size_t consumed = 0;
    if (!bin_frame_checks(&rq, len, &consumed)) {
        *action = rq.action;
        return consumed;
    }
    uint32_t nvalue = rq.h.bodylen - rq.h.extlen - rq.h.keylen;
    if (rq.cmd->value == BIN_ANY && rq.cmd->fn == bin_cmd_store &&
        proto_too_large(rq.store, rq.h.keylen, nvalue))
        return bin_refuse_large(&rq, len, need);
    uint64_t total = BIN_HEADER_LEN + (uint64_t)rq.h.bodylen;
    if (len < total) {
        rq.nvalue = nvalue;
        if (rq.cmd->fn == bin_cmd_store && nvalue > PROTO_BLOCK_BUFFERED_MAX)
            return bin_store_pend(&rq, buf, len, need);
        *need = (size_t)total;
        return 0;
    }
    rq.key = rq.ext + rq.h.extlen;
    rq.value = rq.key + rq.h.keylen;
    rq.nvalue = nvalue;
    rq.cmd->fn(&rq);
    *action = rq.action;
    return (size_t)total;
}
