/*
 * text: memcached's classic text protocol on top of slabs/store.h, and the
 * one command table of the text line format (meta commands included).
 *
 * proto_text_process() (called by proto_process(), proto.c) takes the bytes
 * of one request from the connection's read buffer: it finds the line,
 * splits it into tokens in place, looks the command word up in ONE table
 * (text_cmds[]: handler, arity, noreply rule) and runs the handler, a
 * text.c one or a meta.c one, which calls the store and appends the reply.
 * Behaviour, replies and counters follow memcached 1.6.18 and, where 1.6.45
 * differs (lines under TEXT_LINE_MIN bytes, HTTP request lines), 1.6.45,
 * checked byte for byte against a running one; the notes at each handler
 * say where.
 *
 * Rules shared by all commands live here, not in the handlers:
 *  - arity: a token count outside [min, max] answers "ERROR", or for too
 *    few on the rows 1.6.45's parser reads (TEXT_FEW_BAD) "CLIENT_ERROR bad
 *    command line format";
 *  - noreply: for commands that allow it, the line's last token "noreply"
 *    (1.6.45: after any number of others) sets
 *    pc->noreply and whatever the handler replied (errors included, as
 *    memcached) is rolled back;
 *  - data blocks (text_block_item/text_block_refuse, for ms too): a storage
 *    command returns 0 and *need until its whole block is in the buffer if
 *    the block is at most PROTO_BLOCK_BUFFERED_MAX; a larger one gets its
 *    item at once and is read into it (pc->pend), the line run again with
 *    that item when all is in (proto_text_finish); a refused block is
 *    discarded as it arrives through pc->swallow, never buffered.
 * No allocation per request; numbers by hand (text_parse.c, common/decimal.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "common/clock.h"
#include "common/decimal.h"
#include "protocol/dump.h"
#include "protocol/internal.h"
#include "protocol/messages.h"
#include "protocol/meta.h"
#include "protocol/proto.h"
#include "protocol/text.h"
#include "protocol/text_parse.h"
#include "protocol/watch.h"

#define TEXT_ANY_TOKENS 255            /* no upper bound on tokens */
#define TEXT_VERBOSITY_MAX 2           /* memcached clamps `verbosity` here */
#define TEXT_MEMLIMIT_MIN_MB 8
#define TEXT_MEMLIMIT_MAX_MB 1000000000 /* above: a client sent bytes, not MB */
#define TEXT_MB (1024 * 1024)
#define TEXT_VLEN_MAX (INT32_MAX - 2)  /* largest data block memcached parses */
#define TEXT_LEADING_SPACE_MAX 100     /* long lines: spaces allowed before get */
#define TEXT_STATS_GROUP_MAX 64
/* 1.6.45: a request line shorter than this, '\n' included ("\r\n", "ab\n",
 * "mn\n"), answers CLIENT_ERROR bad command line format */
#define TEXT_LINE_MIN 4
#define TEXT_ADMIN_DIGITS_MAX 11       /* memcached reads no longer 32-bit numbers */
#define TEXT_ADMIN_DOUBLE_MAX 31       /* ...nor longer fractions (safe_strtod's buffer) */
#define TEXT_ADMIN_ERR_MAX 128
/* "VALUE " key " " flags " " bytes " " cas "\r\n" at its longest (nkey is 8 bits). */
#define TEXT_VALUE_HDR_MAX (MSG_LEN(MSG_VALUE_PREFIX) + UINT8_MAX + 3 * (1 + DECIMAL_U64_MAX) + 2)

/* get variants, in text_cmd.arg and pc->get_cont */
#define TEXT_GET_CAS   1u
#define TEXT_GET_TOUCH 2u
#define TEXT_GET_ON    4u             /* pc->get_cont: a get line is open */

/* text_cmd.flags */
#define TEXT_NOREPLY 1u                /* a last token "noreply" is honoured */
#define TEXT_KEYLIST 2u                /* min tokens, then a list of keys */
#define TEXT_FEW_BAD 4u                /* under min tokens: CLIENT_ERROR bad command line
                                          format (1.6.45's parser), not ERROR */

struct text_cmd {
    const char *name;
    uint8_t len;
    uint8_t min_tokens;                /* counting the command word */
    uint8_t max_tokens;
    uint8_t flags;
    unsigned arg;                      /* store mode, get variant, incr */
    text_handler *fn;                  /* text.c's or meta.c's */
};

/* ---------------------------------------------------------------- helpers */

static bool text_key_ok(const struct text_token *t)
{
    return t->len <= KEY_MAX_LENGTH;
}

/* 1.6.45 refuses a '+' before a length, a delta, a touch's or a flush's time
 * (a storage command's flags and exptime still take one). */
static bool text_no_plus(const struct text_token *t)
{
    return t->len == 0 || t->p[0] != '+';
}

/* ---------------------------------------------------------------- get family */

/*
 * "VALUE key flags bytes [cas]\r\n", value, "\r\n". A short value is copied
 * into the reply's text and its item released at once (reply.h,
 * REPLY_VALUE_COPY_MAX); a longer one is referenced until sent.
 */
static void text_value(struct text_req *rq, item *it, const struct item_view *v, bool with_cas)
{
    bool copy = reply_value_copied(v);
    size_t nvalue = v->nvalue;
    char *p = reply_reserve(rq->out, TEXT_VALUE_HDR_MAX + (copy ? nvalue + TEXT_CRLF_LEN : 0));
    char *start = p;
    memcpy(p, MSG_VALUE_PREFIX, MSG_LEN(MSG_VALUE_PREFIX));
    p += MSG_LEN(MSG_VALUE_PREFIX);
    memcpy(p, v->key, v->nkey);
    p += v->nkey;
    *p++ = ' ';
    p += decimal_u64(p, v->flags);
    *p++ = ' ';
    p += decimal_u64(p, nvalue);
    if (with_cas) {
        *p++ = ' ';
        p += decimal_u64(p, v->cas);
    }
    *p++ = '\r';
    *p++ = '\n';
    if (!copy) {
        reply_commit(rq->out, (size_t)(p - start));
        reply_add_value(rq->out, it);
        REPLY_LIT(rq->out, MSG_CRLF);
        return;
    }
    memcpy(p, v->value, nvalue);
    p += nvalue;
    *p++ = '\r';
    *p++ = '\n';
    reply_commit(rq->out, (size_t)(p - start));
    store_release(rq->store, it);
}

/* One key of a get line; hv: its hash when known (batch.c), else NULL. */
static void text_get_one(struct text_req *rq, const char *key, size_t nkey, const uint64_t *hv,
                         unsigned variant, int64_t exptime)
{
    struct proto_counters *ctr = rq->ctr;
    enum store_miss why = STORE_HIT;
    bool touch = variant & TEXT_GET_TOUCH;
    item *it = touch ? store_get_touch(rq->store, key, nkey, exptime, &why)
               : hv != NULL ? store_get_hashed(rq->store, key, nkey, *hv, &why)
                            : store_get(rq->store, key, nkey, &why);
    if (proto_observed(PROTO_NOTE_GET))
        proto_note_get(rq->pc, PROTO_NOTE_GET, key, nkey, it, why);
    counter_inc(&ctr->cmd_get);
    if (touch)
        counter_inc(&ctr->cmd_touch);
    if (it == NULL) {
        proto_count_lookup_miss(ctr, touch, why);
        return;
    }
    struct item_view v;
    item_view(it, &v);
    proto_count_lookup_hit(ctr, v.cls, touch);
    text_value(rq, it, &v, variant & TEXT_GET_CAS);
}

/*
 * Answers each key in [p, end). On a key over KEY_MAX_LENGTH memcached drops
 * the whole answer for a bad-format error: roll back to mark. Returns false
 * then.
 */
static bool text_get_keys(struct text_req *rq, const char *p, const char *end,
                          unsigned variant, int64_t exptime, size_t mark)
{
    struct text_token key;
    while (text_tokenize(&p, end, &key, 1) == 1) {
        if (!text_key_ok(&key)) {
            reply_rollback(rq->out, mark);
            REPLY_LIT(rq->out, MSG_BAD_FORMAT);
            return false;
        }
        text_get_one(rq, key.p, key.len, NULL, variant, exptime);
    }
    return true;
}

/* The keys of a line split and hashed ahead (batch.c: none too long). */
static void text_get_batched_keys(struct text_req *rq, unsigned variant)
{
    const struct store_key *k = &rq->pc->batch.keys[rq->batched->first];
    for (unsigned i = 0; i < rq->batched->nkeys; i++, k++)
        text_get_one(rq, k->key, k->nkey, &k->hv, variant, 0);
}

/*
 * Whether a get has company worth a batch (batch.c): more requests behind
 * it in the buffer, or more than one key on its line.
 */
static bool text_get_has_company(const struct text_req *rq)
{
    if (rq->len > rq->line.consumed)
        return true;
    const char *key = text_skip_spaces(rq->rest, rq->line.end);
    return memchr(key, ' ', (size_t)(rq->line.end - key)) != NULL;
}

/* get/gets key*, gat/gats exptime key* (keys may be none: "END"). */
static void text_cmd_get(struct text_req *rq, unsigned arg)
{
    int64_t exptime = 0;
    if ((arg & TEXT_GET_TOUCH) &&
        (!text_no_plus(&rq->tok[1]) || !text_parse_i64(&rq->tok[1], &exptime))) {
        REPLY_LIT(rq->out, MSG_BAD_EXPTIME);
        return;
    }
    if (!(arg & TEXT_GET_TOUCH) && rq->batched == NULL && text_get_has_company(rq)) {
        proto_batch_scan(rq->pc, rq->buf, rq->len);   /* this line and the gets after */
        rq->batched = proto_batch_line(rq->pc, rq->buf);
    }
    if (rq->batched != NULL)
        text_get_batched_keys(rq, arg);
    else if (!text_get_keys(rq, rq->rest, rq->line.end, arg, exptime, reply_mark(rq->out)))
        return;
    REPLY_LIT(rq->out, MSG_END);
}

/* ---------------------------------------------------------------- data blocks */

/* A block that does not end in "\r\n": counted as a set and answered, as memcached. */
static void text_block_bad(struct text_req *rq)
{
    counter_inc(&rq->ctr->cmd_set);
    REPLY_LIT(rq->out, MSG_BAD_DATA_CHUNK);
}

/*
 * The data block of a storage line: vlen bytes of value and "\r\n", right
 * after the line. Returns the value when all of the block is in and ends
 * well, having consumed it. Otherwise returns NULL, having either asked for
 * the bytes still missing (rq->consumed 0, rq->need), or consumed a block
 * with a bad end and answered "bad data chunk".
 */
static const char *text_block_take(struct text_req *rq, size_t vlen)
{
    size_t block = vlen + TEXT_CRLF_LEN;
    if (rq->len - rq->line.consumed < block) {
        rq->consumed = 0;
        rq->need = rq->line.consumed + block;
        return NULL;
    }
    const char *data = rq->buf + rq->line.consumed;
    rq->consumed = rq->line.consumed + block;
    if (data[vlen] != '\r' || data[vlen + 1] != '\n') {
        text_block_bad(rq);
        return NULL;
    }
    return data;
}

/*
 * Starts reading a large value into it with what is in; pc->pend waits for
 * the rest. False (nothing consumed) if the line could not be kept.
 */
static bool text_block_pend(struct text_req *rq, item *it, size_t vlen)
{
    struct proto_conn *pc = rq->pc;
    if (!proto_pending_start(pc, it, vlen, rq->buf, rq->line.consumed, TEXT_CRLF_LEN))
        return false;
    struct proto_pending *pd = &pc->pend;
    const char *data = rq->buf + rq->line.consumed;
    size_t have = rq->len - rq->line.consumed;        /* < vlen + "\r\n" */
    size_t now = have < vlen ? have : vlen;
    item_value_write(rq->store, it, 0, data, now);
    pd->filled = now;
    pd->term_got = (uint8_t)(have - now);
    if (pd->term_got > 0)
        pd->term[0] = data[now];
    rq->consumed = rq->line.consumed + have;
    return true;
}

/* The filled item of a line run again; NULL (answered) if its block ended badly. */
static item *text_block_pending(struct text_req *rq)
{
    struct proto_pending *pd = &rq->pc->pend;
    bool good = pd->term[0] == '\r' && pd->term[1] == '\n';
    item *it = proto_pending_take(rq->pc);
    if (!good) {
        store_release(rq->store, it);
        text_block_bad(rq);
        return NULL;
    }
    return it;
}

/*
 * A block over PROTO_BLOCK_BUFFERED_MAX not all in: its item now, what is in
 * copied (text_block_pend). Out of line: the common small set never comes here.
 */
static item *text_block_item_early(struct text_req *rq, const struct text_item_spec *spec,
                                   enum store_result *why)
{
    item *it = store_item_alloc(rq->store, spec->key, spec->nkey, spec->flags, spec->exptime,
                                spec->vlen, why);
    if (it != NULL && !text_block_pend(rq, it, spec->vlen)) {
        store_release(rq->store, it);
        it = NULL;
        *why = STORE_NO_MEMORY;
    }
    if (it == NULL)
        text_block_refuse(rq, spec->vlen);
    return NULL;
}

item *text_block_item(struct text_req *rq, const struct text_item_spec *spec,
                      enum store_result *why)
{
    *why = STORE_OK;
    if (rq->replay)
        return text_block_pending(rq);
    if (rq->len - rq->line.consumed < spec->vlen + TEXT_CRLF_LEN &&
        spec->vlen > PROTO_BLOCK_BUFFERED_MAX)
        return text_block_item_early(rq, spec, why);
    const char *data = text_block_take(rq, spec->vlen);
    if (data == NULL)
        return NULL;
    item *it = store_item_alloc(rq->store, spec->key, spec->nkey, spec->flags, spec->exptime,
                                spec->vlen, why);
    if (it != NULL)
        item_value_write(rq->store, it, 0, data, spec->vlen);
    return it;
}

void text_block_refuse(struct text_req *rq, size_t vlen)
{
    size_t block = vlen + TEXT_CRLF_LEN;
    size_t have = rq->len - rq->line.consumed;
    size_t now = have < block ? have : block;
    rq->consumed = rq->line.consumed + now;
    rq->pc->swallow = block - now;
}

/* ---------------------------------------------------------------- storage */

struct text_store_args {
    uint32_t flags;
    int64_t exptime;
    int64_t vlen;
    uint64_t cas;
};

/* The data block's length: without one the line is refused alone. */
static bool text_store_vlen(const struct text_req *rq, struct text_store_args *a)
{
    return text_no_plus(&rq->tok[4]) && text_parse_i64(&rq->tok[4], &a->vlen) && a->vlen >= 0 &&
           a->vlen <= TEXT_VLEN_MAX;
}

static bool text_store_parse(const struct text_req *rq, bool with_cas,
                             struct text_store_args *a)
{
    a->cas = 0;
    return text_parse_u32(&rq->tok[2], &a->flags) &&
           text_parse_i64(&rq->tok[3], &a->exptime) &&
           (!with_cas || (rq->ntok > 5 && text_parse_u64(&rq->tok[5], &a->cas)));
}

/*
 * A value the store refused: reply, and as memcached a failed `set` also
 * drops the old value rather than leave it stale.
 */
static void text_store_refused(struct text_req *rq, const struct text_token *key,
                               enum store_mode mode, enum store_result why)
{
    if (proto_observed(PROTO_NOTE_STORE))
        proto_note_refused(rq->pc, PROTO_NOTE_STORE, key->p, key->len, mode, why);
    if (proto_count_refused(rq->ctr, why))
        REPLY_LIT(rq->out, MSG_TOO_LARGE);
    else
        REPLY_LIT(rq->out, MSG_NO_MEMORY);
    if (mode == STORE_SET)
        store_delete(rq->store, key->p, key->len, 0, NULL);
}

static void text_store_result(struct text_req *rq, enum store_mode mode,
                              unsigned cls, enum store_result res)
{
    /* Only cas (text append/prepend pass no CAS) gets EXISTS or NOT_FOUND. */
    if (mode == STORE_CAS)
        proto_count_cas(rq->ctr, cls, res);
    switch (res) {
    case STORE_OK:
        REPLY_LIT(rq->out, MSG_STORED);
        break;
    case STORE_EXISTS:
        REPLY_LIT(rq->out, MSG_EXISTS);
        break;
    case STORE_NOT_FOUND:
        REPLY_LIT(rq->out, MSG_NOT_FOUND);
        break;
    case STORE_TOO_LARGE:
        REPLY_LIT(rq->out, MSG_TOO_LARGE);
        break;
    case STORE_NO_MEMORY:
        REPLY_LIT(rq->out, MSG_NO_MEMORY);
        break;
    default:
        REPLY_LIT(rq->out, MSG_NOT_STORED);
        break;
    }
}

/* After the line's checks: the value read into an item and stored; hv is
 * the key's hash when the batch has it (a set scanned ahead), else NULL. */
static void text_store_checked(struct text_req *rq, const struct text_token *key,
                               enum store_mode mode, const struct text_store_args *a,
                               const uint64_t *hv)
{
    if (proto_too_large(rq->store, key->len, (uint64_t)a->vlen)) {
        text_store_refused(rq, key, mode, STORE_TOO_LARGE);
        text_block_refuse(rq, (size_t)a->vlen);
        return;
    }
    struct text_item_spec spec = { key->p, key->len, a->flags, a->exptime, (size_t)a->vlen };
    enum store_result why;
    item *it = text_block_item(rq, &spec, &why);
    if (it == NULL) {
        if (why != STORE_OK)
            text_store_refused(rq, key, mode, why);
        return;
    }
    unsigned cls = item_class(it);
    counter_inc(&rq->ctr->cmd_set);
    counter_inc(&rq->ctr->cls[cls].cmd_set);
    enum store_result res =
        proto_observed(PROTO_NOTE_STORE)
            ? proto_commit_noted(rq->pc, PROTO_NOTE_STORE, key->p, key->len, it,
                                 &(struct store_commit_cond){ .mode = mode, .cas = a->cas }, NULL,
                                 NULL)
            : hv != NULL ? store_commit_hashed(rq->store, it, mode, a->cas, *hv, NULL)
                         : store_commit(rq->store, it, mode, a->cas, NULL);
    text_store_result(rq, mode, cls, res);
}

/* set/add/replace/append/prepend key flags exptime bytes [noreply], cas ... unique. */
static void text_cmd_store(struct text_req *rq, unsigned arg)
{
    enum store_mode mode = (enum store_mode)arg;
    const struct text_token *key = &rq->tok[1];
    struct text_store_args a;
    /* As memcached 1.6.45: a bad length refuses the line alone (the block's
     * bytes come as commands); a bad key, flags, exptime or cas refuses the
     * block too, swallowed as it arrives. */
    if (!text_store_vlen(rq, &a)) {
        REPLY_LIT(rq->out, MSG_BAD_FORMAT);
        return;
    }
    if (!text_key_ok(key) || !text_store_parse(rq, mode == STORE_CAS, &a)) {
        REPLY_LIT(rq->out, MSG_BAD_FORMAT);
        text_block_refuse(rq, (size_t)a.vlen);
        return;
    }
    text_store_checked(rq, key, mode, &a, NULL);
}

/*
 * A plain set line the batch checked ahead (text_set_line_scan): its key
 * and numbers come from the scan, and the line is not split again.
 */
static void text_cmd_set_scanned(struct text_req *rq, unsigned arg)
{
    const struct proto_batch_line *l = rq->batched;
    const struct store_key *k = &rq->pc->batch.keys[l->first];
    struct text_token key = { k->key, k->nkey };
    struct text_store_args a = { l->set_flags, l->set_exptime, l->set_vlen, 0 };
    text_store_checked(rq, &key, (enum store_mode)arg, &a, &k->hv);
}

#define TEXT_SET_TOKENS 5         /* set key flags exptime bytes */

bool text_set_line_scan(const char *start, const char *end, struct proto_batch_line *l,
                        struct store_key *key)
{
    struct text_req rq;
    const char *p = start;
    rq.ntok = text_tokenize(&p, end, rq.tok, TEXT_TOKENS_MAX);
    /* as text_dispatch and text_cmd_store would take it, and nothing else */
    bool noreply = rq.ntok == TEXT_SET_TOKENS + 1 &&
                   text_token_is(&rq.tok[TEXT_SET_TOKENS], "noreply");
    struct text_store_args a;
    if ((rq.ntok != TEXT_SET_TOKENS && !noreply) || !text_token_is(&rq.tok[0], "set") ||
        !text_store_vlen(&rq, &a) || !text_key_ok(&rq.tok[1]) || !text_store_parse(&rq, false, &a))
        return false;
    l->set_noreply = noreply;
    l->set_flags = a.flags;
    l->set_exptime = a.exptime;
    l->set_vlen = (uint32_t)a.vlen;
    key->key = rq.tok[1].p;
    key->nkey = rq.tok[1].len;
    return true;
}

/* ---------------------------------------------------------------- other keyed commands */

/* incr|decr key delta [noreply] */
static void text_cmd_arith(struct text_req *rq, unsigned arg)
{
    bool incr = arg != 0;
    const struct text_token *key = &rq->tok[1];
    uint64_t delta, result = 0;
    if (!text_key_ok(key)) {
        REPLY_LIT(rq->out, MSG_BAD_FORMAT);
        return;
    }
    if (!text_no_plus(&rq->tok[2]) || !text_parse_u64(&rq->tok[2], &delta)) {
        REPLY_LIT(rq->out, MSG_BAD_DELTA);
        return;
    }
    unsigned cls = 0;
    switch (store_arith(rq->store, key->p, key->len, incr, delta, &result, NULL, &cls)) {
    case STORE_OK:
        proto_count_arith_hit(rq->ctr, incr, cls);
        reply_add_u64(rq->out, result);
        REPLY_LIT(rq->out, MSG_CRLF);
        break;
    case STORE_NOT_FOUND:
        counter_inc(incr ? &rq->ctr->incr_misses : &rq->ctr->decr_misses);
        REPLY_LIT(rq->out, MSG_NOT_FOUND);
        break;
    case STORE_NON_NUMERIC:
        REPLY_LIT(rq->out, MSG_NON_NUMERIC);
        break;
    default:
        REPLY_LIT(rq->out, MSG_ARITH_NO_MEMORY);
        break;
    }
}

/*
 * delete key [0] [noreply]: memcached 1.6.18 accepts a hold time only if it
 * is "0" (old clients send it) and answers a usage line otherwise. 1.6.45
 * ignores whatever follows the key; we keep 1.6.18's rule, which
 * libmemcached's memccapable checks (and fails against 1.6.45).
 */
static void text_cmd_delete(struct text_req *rq, unsigned arg)
{
    const struct text_token *key = &rq->tok[1];
    if (rq->ntok > 2) {
        bool zero = text_token_is(&rq->tok[2], "0");
        bool valid = (rq->ntok == 3 && (zero || rq->pc->noreply)) ||
                     (rq->ntok == 4 && zero && rq->pc->noreply);
        if (!valid) {
            REPLY_LIT(rq->out, MSG_DELETE_USAGE);
            return;
        }
    }
    if (!text_key_ok(key)) {
        REPLY_LIT(rq->out, MSG_BAD_FORMAT);
        return;
    }
    struct proto_deleting del = { false, 0, 0 };
    if (proto_observed(PROTO_NOTE_DELETE))
        proto_delete_begin(rq->pc, PROTO_NOTE_DELETE, key->p, key->len, &del);
    unsigned cls = 0;
    enum store_result res = store_delete(rq->store, key->p, key->len, 0, &cls);
    proto_delete_done(&del, key->p, key->len, LOGGER_DEL_DELETE, res);
    if (res == STORE_OK) {
        proto_count_delete_hit(rq->ctr, cls);
        REPLY_LIT(rq->out, MSG_DELETED);
    } else {
        counter_inc(&rq->ctr->delete_misses);
        REPLY_LIT(rq->out, MSG_NOT_FOUND);
    }
}

/* touch key exptime [noreply]; through store_get_touch to learn the class. */
static void text_cmd_touch(struct text_req *rq, unsigned arg)
{
    const struct text_token *key = &rq->tok[1];
    int64_t exptime;
    if (!text_key_ok(key)) {
        REPLY_LIT(rq->out, MSG_BAD_FORMAT);
        return;
    }
    if (!text_no_plus(&rq->tok[2]) || !text_parse_i64(&rq->tok[2], &exptime)) {
        REPLY_LIT(rq->out, MSG_BAD_EXPTIME);
        return;
    }
    enum store_miss why = STORE_HIT;
    item *it = store_get_touch(rq->store, key->p, key->len, exptime, &why);
    if (proto_observed(LOGGER_FETCHERS))   /* memcached's touch is a lookup too */
        proto_note_get(rq->pc, LOGGER_FETCHERS, key->p, key->len, it, why);
    counter_inc(&rq->ctr->cmd_touch);
    if (it == NULL) {
        proto_count_lookup_miss(rq->ctr, true, why);
        REPLY_LIT(rq->out, MSG_NOT_FOUND);
        return;
    }
    proto_count_lookup_hit(rq->ctr, item_class(it), true);
    store_release(rq->store, it);
    REPLY_LIT(rq->out, MSG_TOUCHED);
}

/* ---------------------------------------------------------------- admin commands */

/* flush_all [delay] [noreply]: the delay is the first argument that is not the noreply. */
static void text_cmd_flush(struct text_req *rq, unsigned arg)
{
    int64_t when = 0;
    counter_inc(&rq->ctr->cmd_flush);   /* as memcached: refused ones count too */
    if (rq->pc->env->flush_disabled) {
        REPLY_LIT(rq->out, MSG_FLUSH_OFF);
        return;
    }
    if (rq->ntok - (rq->pc->noreply ? 1 : 0) >= 2 &&
        (!text_no_plus(&rq->tok[1]) || !text_parse_i64(&rq->tok[1], &when))) {
        REPLY_LIT(rq->out, MSG_BAD_EXPTIME);
        return;
    }
    store_flush(rq->store, proto_flush_delay(when));
    REPLY_LIT(rq->out, MSG_OK);
}

static void text_cmd_version(struct text_req *rq, unsigned arg)
{
    REPLY_LIT(rq->out, MSG_VERSION_PREFIX PROTOCOL_VERSION MSG_CRLF);
}

static void text_cmd_verbosity(struct text_req *rq, unsigned arg)
{
    uint32_t level;
    if (!text_parse_u32(&rq->tok[1], &level)) {
        REPLY_LIT(rq->out, MSG_BAD_FORMAT);
        return;
    }
    const struct proto_env *env = rq->pc->env;
    if (env->set_verbosity != NULL)
        env->set_verbosity(env->arg, level > TEXT_VERBOSITY_MAX ? TEXT_VERBOSITY_MAX : (int)level);
    REPLY_LIT(rq->out, MSG_OK);
}

static void text_cmd_quit(struct text_req *rq, unsigned arg)
{
    rq->action = PROTO_CLOSE;
}

/* shutdown [graceful]: only with -A. As memcached: plain stops the server
 * (SIGINT's way), graceful also saves the -e memory file (SIGUSR1's way). */
static void text_cmd_shutdown(struct text_req *rq, unsigned arg)
{
    if (!rq->pc->env->shutdown_enabled) {
        REPLY_LIT(rq->out, MSG_SHUTDOWN_OFF);
        return;
    }
    if (rq->ntok == 1) {
        rq->action = PROTO_SHUTDOWN;
        return;
    }
    if (rq->ntok == 2 && text_token_is(&rq->tok[1], "graceful")) {
        rq->action = PROTO_SHUTDOWN_GRACEFUL;
        return;
    }
    REPLY_LIT(rq->out, MSG_BAD_SHUTDOWN);
}

/*
 * A number as memcached 1.6.45 reads one for its admin commands: bare
 * digits (a leading '-' only when negative_ok), at most
 * TEXT_ADMIN_DIGITS_MAX characters; int32_t when negative_ok, else uint32_t.
 */
bool text_admin_number(const struct text_token *t, bool negative_ok, int64_t *out)
{
    bool sign_ok = t->len > 0 && t->p[0] != '+' && (negative_ok || t->p[0] != '-');
    if (t->len > TEXT_ADMIN_DIGITS_MAX || !sign_ok || !text_parse_i64(t, out))
        return false;
    return negative_ok ? *out >= INT32_MIN && *out <= INT32_MAX : *out <= UINT32_MAX;
}

struct text_lit {
    const char *text;
    size_t len;
};

#define TEXT_LIT(lit) { lit, MSG_LEN(lit) }

/* store_slab_reassign's results in memcached's words. */
static const struct text_lit text_reassign_replies[] = {
    [STORE_REASSIGN_OK] = TEXT_LIT(MSG_OK),
    [STORE_REASSIGN_BUSY] = TEXT_LIT(MSG_REASSIGN_BUSY),
    [STORE_REASSIGN_BADCLASS] = TEXT_LIT(MSG_REASSIGN_BADCLASS),
    [STORE_REASSIGN_NOSPARE] = TEXT_LIT(MSG_REASSIGN_NOSPARE),
    [STORE_REASSIGN_SAME] = TEXT_LIT(MSG_REASSIGN_SAME),
};

static const struct text_lit text_retune_replies[] = {
    [STORE_RETUNE_OK] = TEXT_LIT(MSG_OK),
    [STORE_RETUNE_NOTHING] = TEXT_LIT(MSG_RETUNE_NOTHING),
    [STORE_RETUNE_BUSY] = TEXT_LIT(MSG_RETUNE_BUSY),
    [STORE_RETUNE_FULL] = TEXT_LIT(MSG_RETUNE_FULL),
    [STORE_RETUNE_NOMEM] = TEXT_LIT(MSG_ARITH_NO_MEMORY),
};

/* cache_memlimit MB [noreply]: memcached 1.6.45's checks and words; tokens
 * after MB are ignored. */
static void text_cmd_memlimit(struct text_req *rq, unsigned arg)
{
    int64_t mb;
    if (!text_admin_number(&rq->tok[1], false, &mb)) {
        REPLY_LIT(rq->out, MSG_ERROR);
        return;
    }
    if (mb < TEXT_MEMLIMIT_MIN_MB) {
        REPLY_LIT(rq->out, MSG_MEMLIMIT_SMALL);
        return;
    }
    if (mb > TEXT_MEMLIMIT_MAX_MB) {
        REPLY_LIT(rq->out, MSG_MEMLIMIT_UNITS);
        return;
    }
    store_set_mem_limit(rq->store, (uint64_t)mb * TEXT_MB);
    REPLY_LIT(rq->out, MSG_OK);
}

/*
 * slabs reassign <src> <dst> | slabs automove <0|1|2>: memcached 1.6.45's
 * parsing, quirks included: a subcommand may be abbreviated to any prefix,
 * reassign wants exactly four tokens (a noreply is one, so it is an ERROR
 * that noreply hides), automove ignores tokens after its level, and numbers
 * are bare digits (a '-' for class ids): text_admin_number.
 */
bool text_token_abbreviates(const struct text_token *t, const char *word)
{
    return t->len > 0 && t->len <= strlen(word) && memcmp(t->p, word, t->len) == 0;
}

static void text_slabs_reassign(struct text_req *rq)
{
    int64_t src, dst;
    if (!rq->pc->env->slab_reassign) {
        REPLY_LIT(rq->out, MSG_REASSIGN_OFF);
        return;
    }
    if (!text_admin_number(&rq->tok[2], true, &src) ||
        !text_admin_number(&rq->tok[3], true, &dst)) {
        REPLY_LIT(rq->out, MSG_BAD_FORMAT);
        return;
    }
    const struct text_lit *r = &text_reassign_replies[store_slab_reassign(rq->store, (int)src,
                                                                          (int)dst)];
    reply_add(rq->out, r->text, r->len);
}

/* A number as memcached's safe_strtod reads one (strtod over the whole
 * token, at most TEXT_ADMIN_DOUBLE_MAX bytes). */
static bool text_admin_double(const struct text_token *t, double *out)
{
    char buf[TEXT_ADMIN_DOUBLE_MAX + 1];
    if (t->len == 0 || t->len > TEXT_ADMIN_DOUBLE_MAX)
        return false;
    memcpy(buf, t->p, t->len);
    buf[t->len] = '\0';
    char *end;
    errno = 0;
    *out = strtod(buf, &end);
    return errno != ERANGE && end == buf + t->len;
}

/* slabs automove ratio|freeratio|window N: memcached 1.6.45's parsing and
 * words; a value our automove cannot use is refused with the reason. */
static void text_slabs_automove_tune(struct text_req *rq, const struct text_token *sub)
{
    struct store_automove_tuning t;
    store_automove_tuning(rq->store, &t);
    bool window = !text_token_abbreviates(sub, "ratio") && !text_token_abbreviates(sub, "freeratio");
    if (window) {
        uint32_t w;
        if (rq->ntok < 4 || !text_parse_u32(&rq->tok[3], &w)) {
            REPLY_LIT(rq->out, MSG_BAD_FORMAT);
            return;
        }
        if (w < AUTOMOVE_WINDOW_MIN || w > AUTOMOVE_WINDOW_MAX) {
            REPLY_LIT(rq->out, MSG_AUTOMOVE_WINDOW);
            return;
        }
        t.window = w;
    } else {
        double v;
        if (rq->ntok < 4 || !text_admin_double(&rq->tok[3], &v)) {
            REPLY_LIT(rq->out, MSG_ERROR);
            return;
        }
        if (text_token_abbreviates(sub, "ratio"))
            t.ratio = v;
        else
            t.freeratio = v;
    }
    char err[TEXT_ADMIN_ERR_MAX];
    if (!store_set_automove_tuning(rq->store, &t, err, sizeof(err))) {
        REPLY_LIT(rq->out, MSG_AUTOMOVE_TUNE_PREFIX);
        reply_add_str(rq->out, err);
        REPLY_LIT(rq->out, MSG_CRLF);
        return;
    }
    REPLY_LIT(rq->out, MSG_OK);
}

static void text_slabs_automove(struct text_req *rq)
{
    const struct text_token *sub = &rq->tok[2];
    if (text_token_abbreviates(sub, "ratio") || text_token_abbreviates(sub, "freeratio") ||
        text_token_abbreviates(sub, "window")) {
        text_slabs_automove_tune(rq, sub);
        return;
    }
    int64_t level;
    if (!text_admin_number(sub, false, &level)) {
        REPLY_LIT(rq->out, MSG_BAD_FORMAT);
        return;
    }
    if (level > AUTOMOVE_AGGRESSIVE) {
        REPLY_LIT(rq->out, MSG_ERROR);
        return;
    }
    store_set_automove(rq->store, (unsigned)level);
    REPLY_LIT(rq->out, MSG_OK);
}

/*
 * slabs advise (ours): what the advisor (slabs/advisor.c) makes of the live
 * size histogram, as STAT lines and END (the man page lists them): the
 * items weighed and the chains left out, then for the current table, the
 * best geometric one (with its -f and -n) and the best free-form one (with
 * its -o slab_sizes list) the class count, the chunk waste in percent and
 * the items -m would hold with that mix.
 */
static void text_advise_table(struct reply *out, const char *name,
                              const struct store_table_cost *t)
{
    reply_printf(out, MSG_STAT_PREFIX "%s_classes %u" MSG_CRLF, name, t->classes);
    reply_printf(out, MSG_STAT_PREFIX "%s_waste_pct %.2f" MSG_CRLF, name, t->waste_pct);
    reply_printf(out, MSG_STAT_PREFIX "%s_items_at_limit %llu" MSG_CRLF, name,
                 (unsigned long long)t->items_at_limit);
}

static void text_slabs_advise(struct text_req *rq)
{
    struct store_advice a;
    struct reply *out = rq->out;
    if (!store_advise(rq->store, &a)) {
        REPLY_LIT(out, MSG_ARITH_NO_MEMORY);   /* the same words: SERVER_ERROR out of memory */
        return;
    }
    reply_printf(out, MSG_STAT_PREFIX "items %llu" MSG_CRLF,
                 (unsigned long long)a.current.items);
    reply_printf(out, MSG_STAT_PREFIX "chained_items %llu" MSG_CRLF,
                 (unsigned long long)a.current.chained);
    text_advise_table(out, "current", &a.current);
    text_advise_table(out, "geometric", &a.geometric);
    reply_printf(out, MSG_STAT_PREFIX "geometric_factor %.2f" MSG_CRLF, a.factor);
    reply_printf(out, MSG_STAT_PREFIX "geometric_chunk_min %u" MSG_CRLF, a.chunk_min);
    text_advise_table(out, "free", &a.free_form);
    /* the sizes below slab_chunk_max (the last class), or that one alone */
    unsigned n = a.free_form.classes > 1 ? a.free_form.classes - 1 : 1;
    REPLY_LIT(out, MSG_STAT_PREFIX "free_slab_sizes ");
    for (unsigned i = 0; i < n; i++)
        reply_printf(out, i == 0 ? "%u" : "-%u", a.free_sizes[i]);
    REPLY_LIT(out, MSG_CRLF MSG_END);
}

/* slabs retune (ours): store_slab_retune; the drain needs page moves. */
static void text_slabs_retune(struct text_req *rq)
{
    if (!rq->pc->env->slab_reassign) {
        REPLY_LIT(rq->out, MSG_REASSIGN_OFF);
        return;
    }
    const struct text_lit *r = &text_retune_replies[store_slab_retune(rq->store)];
    reply_add(rq->out, r->text, r->len);
}

static void text_cmd_slabs(struct text_req *rq, unsigned arg)
{
    if (rq->ntok == 2 && text_token_is(&rq->tok[1], "advise"))
        text_slabs_advise(rq);
    else if (rq->ntok == 2 && text_token_is(&rq->tok[1], "retune"))
        text_slabs_retune(rq);
    else if (rq->ntok == 4 && text_token_abbreviates(&rq->tok[1], "reassign"))
        text_slabs_reassign(rq);
    else if (text_token_abbreviates(&rq->tok[1], "automove") && rq->ntok >= 3)
        text_slabs_automove(rq);
    else
        REPLY_LIT(rq->out, MSG_ERROR);
}

/*
 * lru tune <hot%> <warm%> <hot_factor> <warm_factor> | lru mode flat|segmented
 * | lru temp_ttl <seconds>: memcached 1.6.45's process_lru_command. Prefixes
 * of the subcommand are accepted, tokens after the arguments ignored, the
 * percentages are summed in 32 bits (as memcached), the factors are
 * strtod's, and mode and temp_ttl need the LRU maintainer.
 */
static const struct text_lit text_lru_tune_replies[] = {
    [STORE_LRU_TUNE_OK] = TEXT_LIT(MSG_OK),
    [STORE_LRU_TUNE_PCTS] = TEXT_LIT(MSG_LRU_PCTS),
    [STORE_LRU_TUNE_FACTORS] = TEXT_LIT(MSG_LRU_FACTORS),
};

static void text_lru_tune(struct text_req *rq)
{
    int64_t hot, warm;
    double hot_factor, warm_factor;
    if (!text_admin_number(&rq->tok[2], false, &hot) ||
        !text_admin_number(&rq->tok[3], false, &warm) ||
        !text_admin_double(&rq->tok[4], &hot_factor) ||
        !text_admin_double(&rq->tok[5], &warm_factor)) {
        REPLY_LIT(rq->out, MSG_ERROR);
        return;
    }
    const struct text_lit *r = &text_lru_tune_replies[store_lru_tune(
        rq->store, (unsigned)hot, (unsigned)warm, hot_factor, warm_factor)];
    reply_add(rq->out, r->text, r->len);
}

static void text_lru_mode(struct text_req *rq)
{
    if (text_token_is(&rq->tok[2], "flat") || text_token_is(&rq->tok[2], "segmented")) {
        store_lru_set_segmented(rq->store, text_token_is(&rq->tok[2], "segmented"));
        REPLY_LIT(rq->out, MSG_OK);
    } else {
        REPLY_LIT(rq->out, MSG_ERROR);
    }
}

static void text_lru_temp_ttl(struct text_req *rq)
{
    int64_t ttl;
    if (!text_admin_number(&rq->tok[2], true, &ttl)) {
        REPLY_LIT(rq->out, MSG_ERROR);
        return;
    }
    store_lru_set_temp_ttl(rq->store, ttl);
    REPLY_LIT(rq->out, MSG_OK);
}

static void text_cmd_lru(struct text_req *rq, unsigned arg)
{
    struct store_lru_settings now;
    store_lru_settings(rq->store, &now);
    const struct text_token *sub = &rq->tok[1];
    if (text_token_abbreviates(sub, "tune") && rq->ntok >= 6)
        text_lru_tune(rq);
    else if (text_token_abbreviates(sub, "mode") && rq->ntok >= 3 && now.maintainer)
        text_lru_mode(rq);
    else if (text_token_abbreviates(sub, "temp_ttl") && rq->ntok >= 3 && now.maintainer)
        text_lru_temp_ttl(rq);
    else
        REPLY_LIT(rq->out, MSG_ERROR);
}

struct text_stat_sink {
    struct stat_sink base;
    struct reply *out;
};

static void text_stat_emit(struct stat_sink *sink, const char *name, const char *value)
{
    struct reply *out = ((struct text_stat_sink *)sink)->out;
    REPLY_LIT(out, MSG_STAT_PREFIX);
    reply_add_str(out, name);
    reply_add(out, " ", 1);
    reply_add_str(out, value);
    REPLY_LIT(out, MSG_CRLF);
}

/* stats [group]: the server prints the groups it knows; unknown -> "ERROR". */
static void text_cmd_stats(struct text_req *rq, unsigned arg)
{
    const struct proto_env *env = rq->pc->env;
    char group[TEXT_STATS_GROUP_MAX];
    group[0] = '\0';
    if (rq->ntok >= 2) {
        const struct text_token *g = &rq->tok[1];
        if (text_token_is(g, "cachedump")) {
            proto_dump_cachedump(rq);   /* dump.c: a stream, like the crawler's dumps */
            return;
        }
        if (text_token_abbreviates(g, "detail")) {
            proto_stats_detail(rq);   /* watch.c */
            return;
        }
        if (text_token_is(g, "reset")) {
            if (env->stats_reset != NULL)
                env->stats_reset(env->arg);
            REPLY_LIT(rq->out, MSG_RESET);
            return;
        }
        if (g->len >= sizeof(group)) {
            REPLY_LIT(rq->out, MSG_ERROR);
            return;
        }
        memcpy(group, g->p, g->len);
        group[g->len] = '\0';
    }
    struct text_stat_sink sink = { { text_stat_emit }, rq->out };
    size_t mark = reply_mark(rq->out);
    if (env->stats != NULL && !env->stats(env->arg, group, &sink.base)) {
        reply_rollback(rq->out, mark);
        REPLY_LIT(rq->out, MSG_ERROR);
        return;
    }
    REPLY_LIT(rq->out, MSG_END);
}

/* ---------------------------------------------------------------- the table */

#define CMD(name, min, max, flags, arg, fn) \
    { name, (uint8_t)MSG_LEN(name), min, max, flags, arg, fn }

/* Hot commands first: lookup is a short linear scan on length + bytes. */
static const struct text_cmd text_cmds[] = {
    CMD("get", 2, TEXT_ANY_TOKENS, TEXT_KEYLIST | TEXT_FEW_BAD, 0, text_cmd_get),
    CMD("set", 5, TEXT_ANY_TOKENS, TEXT_NOREPLY | TEXT_FEW_BAD, STORE_SET, text_cmd_store),
    CMD("gets", 2, TEXT_ANY_TOKENS, TEXT_KEYLIST | TEXT_FEW_BAD, TEXT_GET_CAS, text_cmd_get),
    CMD("delete", 2, 4, TEXT_NOREPLY | TEXT_FEW_BAD, 0, text_cmd_delete),
    CMD("incr", 3, TEXT_ANY_TOKENS, TEXT_NOREPLY | TEXT_FEW_BAD, 1, text_cmd_arith),
    CMD("decr", 3, TEXT_ANY_TOKENS, TEXT_NOREPLY | TEXT_FEW_BAD, 0, text_cmd_arith),
    CMD("add", 5, TEXT_ANY_TOKENS, TEXT_NOREPLY | TEXT_FEW_BAD, STORE_ADD, text_cmd_store),
    CMD("replace", 5, TEXT_ANY_TOKENS, TEXT_NOREPLY | TEXT_FEW_BAD, STORE_REPLACE,
        text_cmd_store),
    CMD("append", 5, TEXT_ANY_TOKENS, TEXT_NOREPLY | TEXT_FEW_BAD, STORE_APPEND, text_cmd_store),
    CMD("prepend", 5, TEXT_ANY_TOKENS, TEXT_NOREPLY | TEXT_FEW_BAD, STORE_PREPEND,
        text_cmd_store),
    /* 1.6.45 reads a cas line's first five tokens first: a missing unique
     * refuses the block too (text_cmd_store) */
    CMD("cas", 5, TEXT_ANY_TOKENS, TEXT_NOREPLY | TEXT_FEW_BAD, STORE_CAS, text_cmd_store),
    CMD("touch", 3, TEXT_ANY_TOKENS, TEXT_NOREPLY | TEXT_FEW_BAD, 0, text_cmd_touch),
    CMD("gat", 3, TEXT_ANY_TOKENS, TEXT_KEYLIST | TEXT_FEW_BAD, TEXT_GET_TOUCH, text_cmd_get),
    CMD("gats", 3, TEXT_ANY_TOKENS, TEXT_KEYLIST | TEXT_FEW_BAD, TEXT_GET_TOUCH | TEXT_GET_CAS,
        text_cmd_get),
    CMD("stats", 1, TEXT_ANY_TOKENS, 0, 0, text_cmd_stats),
    CMD("flush_all", 1, TEXT_ANY_TOKENS, TEXT_NOREPLY, 0, text_cmd_flush),
    CMD("version", 1, TEXT_ANY_TOKENS, 0, 0, text_cmd_version),
    CMD("verbosity", 2, TEXT_ANY_TOKENS, TEXT_NOREPLY | TEXT_FEW_BAD, 0, text_cmd_verbosity),
    CMD("cache_memlimit", 2, TEXT_ANY_TOKENS, TEXT_NOREPLY, 0, text_cmd_memlimit),
    CMD("slabs", 2, TEXT_ANY_TOKENS, TEXT_NOREPLY, 0, text_cmd_slabs),
    CMD("lru", 2, TEXT_ANY_TOKENS, TEXT_NOREPLY, 0, text_cmd_lru),
    CMD("lru_crawler", 2, TEXT_ANY_TOKENS, 0, 0, proto_dump_lru_crawler),
    CMD("quit", 1, TEXT_ANY_TOKENS, 0, 0, text_cmd_quit),
    CMD("shutdown", 1, TEXT_ANY_TOKENS, 0, 0, text_cmd_shutdown),
    CMD("mg", 1, TEXT_ANY_TOKENS, 0, 0, proto_meta_get),
    CMD("ms", 1, TEXT_ANY_TOKENS, 0, 0, proto_meta_set),
    CMD("md", 1, TEXT_ANY_TOKENS, 0, 0, proto_meta_delete),
    CMD("ma", 1, TEXT_ANY_TOKENS, 0, 0, proto_meta_arith),
    CMD("mn", 1, TEXT_ANY_TOKENS, 0, 0, proto_meta_noop),
    CMD("me", 1, TEXT_ANY_TOKENS, 0, 0, proto_meta_debug),
    CMD("watch", 1, TEXT_ANY_TOKENS, 0, 0, proto_watch_cmd),
};

#define TEXT_NCMDS (sizeof(text_cmds) / sizeof(text_cmds[0]))

/* The first byte is compared before memcmp is called: a row of the same
 * length ("get" for a "set") is then passed over without a library call. */
static const struct text_cmd *text_cmd_find(const struct text_token *word)
{
    for (size_t i = 0; i < TEXT_NCMDS; i++) {
        const struct text_cmd *c = &text_cmds[i];
        if (c->len == word->len && c->name[0] == word->p[0] &&
            memcmp(c->name, word->p, word->len) == 0)
            return c;
    }
    return NULL;
}

/* The line's last token (1.6.45: noreply is the last; past the ones tokenized). */
static struct text_token text_last_token(const struct text_req *rq)
{
    const char *end = rq->line.end;
    while (end > rq->line.start && end[-1] == ' ')
        end--;
    const char *start = end;
    while (start > rq->line.start && start[-1] != ' ')
        start--;
    return (struct text_token){ start, (size_t)(end - start) };
}

/*
 * A line no row takes. As memcached 1.6.45, one whose last token starts
 * with "HTTP/" (`GET / HTTP/1.0`, `POST /x HTTP/1.1`: a browser or a
 * cross-protocol attack pointed at the port) closes the connection with no
 * reply; anything else answers ERROR.
 */
static void text_unknown(struct text_req *rq)
{
    static const char http[] = "HTTP/";
    struct text_token last = text_last_token(rq);
    bool several = text_skip_spaces(rq->line.start, last.p) != last.p;
    if (several && last.len >= MSG_LEN(http) && memcmp(last.p, http, MSG_LEN(http)) == 0) {
        rq->action = PROTO_CLOSE;
        return;
    }
    REPLY_LIT(rq->out, MSG_ERROR);
}

/* ---------------------------------------------------------------- one request */

/*
 * Tokens after the command word: for key-list commands only the fixed ones
 * (the keys are walked later from rq->rest); otherwise all, noting extras.
 */
static bool text_arity_ok(struct text_req *rq, const struct text_cmd *cmd)
{
    const char *p = rq->rest;
    if (cmd->flags & TEXT_KEYLIST) {
        size_t fixed = (cmd->arg & TEXT_GET_TOUCH) ? 2 : 1;    /* gat: + exptime */
        rq->ntok += text_tokenize(&p, rq->line.end, rq->tok + 1, fixed - 1);
        rq->rest = p;
        bool keys = text_skip_spaces(p, rq->line.end) != rq->line.end;
        return rq->ntok == fixed && rq->ntok + keys >= cmd->min_tokens;
    }
    rq->ntok += text_tokenize(&p, rq->line.end, rq->tok + 1, TEXT_TOKENS_MAX - 1);
    bool extra = text_skip_spaces(p, rq->line.end) != rq->line.end;
    if (extra && cmd->max_tokens != TEXT_ANY_TOKENS)
        return false;
    rq->last = extra ? text_last_token(rq) : rq->tok[rq->ntok - 1];
    return rq->ntok >= cmd->min_tokens && rq->ntok <= cmd->max_tokens;
}

/* Runs a command; with noreply, what it answered is dropped. */
static void text_run(struct text_req *rq, bool noreply, text_handler *fn, unsigned arg)
{
    struct proto_conn *pc = rq->pc;
    pc->noreply = noreply;
    size_t mark = reply_mark(rq->out);
    fn(rq, arg);
    if (pc->noreply) {
        reply_rollback(rq->out, mark);
        pc->noreply = false;
    }
}

static void text_dispatch(struct text_req *rq)
{
    const char *p = rq->line.start;
    rq->ntok = text_tokenize(&p, rq->line.end, rq->tok, 1);
    rq->rest = p;
    if (rq->line.consumed < TEXT_LINE_MIN) {
        REPLY_LIT(rq->out, MSG_BAD_FORMAT);
        return;
    }
    const struct text_cmd *cmd = rq->ntok == 1 ? text_cmd_find(&rq->tok[0]) : NULL;
    if (cmd == NULL) {
        text_unknown(rq);
        return;
    }
    if (!text_arity_ok(rq, cmd)) {
        bool few = rq->ntok < cmd->min_tokens || (cmd->flags & TEXT_KEYLIST);
        if (few && (cmd->flags & TEXT_FEW_BAD))
            REPLY_LIT(rq->out, MSG_BAD_FORMAT);
        else
            REPLY_LIT(rq->out, MSG_ERROR);
        return;
    }
    text_run(rq, (cmd->flags & TEXT_NOREPLY) && text_token_is(&rq->last, "noreply"), cmd->fn,
             cmd->arg);
}

/*
 * A line the batch scanned (batch.c), which knows its command. A get/gets
 * line's arity (at least one key) and keys are known, so it goes straight
 * to get; a line of spaces alone after the word gets text_dispatch's error.
 * A set line was checked as text_cmd_store checks it (text_set_line_scan):
 * it goes straight to the store, with its key's hash.
 */
static void text_batched(struct text_req *rq)
{
    const struct proto_batch_line *l = rq->batched;
    if (l->kind == PROTO_BATCH_SET)
        text_run(rq, l->set_noreply, text_cmd_set_scanned, STORE_SET);
    else if (l->nkeys == 0)
        text_dispatch(rq);
    else
        text_cmd_get(rq, l->kind == PROTO_BATCH_GETS ? TEXT_GET_CAS : 0);
}

/* ---------------------------------------------------------------- long get lines */

/*
 * Part of an open get line: answers the keys that end before the last space
 * (end == line end when the line is complete). A key too long ends the
 * command with memcached's error; the rest of the line is then skipped.
 */
static void text_get_part(struct text_req *rq, const char *p, const char *end, bool final)
{
    struct proto_conn *pc = rq->pc;
    unsigned variant = pc->get_cont & ~TEXT_GET_ON;
    if (!text_get_keys(rq, p, end, variant, 0, reply_mark(rq->out))) {
        pc->get_cont = 0;
        pc->skip_line = !final;
        return;
    }
    if (final) {
        pc->get_cont = 0;
        REPLY_LIT(rq->out, MSG_END);
    }
}

/* Continues an open get line; 0 = wait for more. */
static size_t text_get_continue(struct text_req *rq)
{
    if (text_line_find(rq->buf, rq->len, &rq->line)) {
        text_get_part(rq, rq->buf, rq->line.end, true);
        return rq->line.consumed;
    }
    if (rq->len <= PROTO_LINE_MAX)
        return 0;
    const char *sp = memrchr(rq->buf, ' ', rq->len);
    if (sp == NULL) {
        /* No separator in this many bytes: the key is too long already. */
        text_get_part(rq, rq->buf, rq->buf + rq->len, false);
        return rq->len;
    }
    text_get_part(rq, rq->buf, sp, false);
    return (size_t)(sp - rq->buf) + 1;
}

/*
 * A line longer than PROTO_LINE_MAX with no '\n' yet: memcached only lets
 * a multiget (get/gets after at most TEXT_LEADING_SPACE_MAX spaces) go on,
 * and closes the connection without a reply for anything else.
 */
static size_t text_long_line(struct text_req *rq)
{
    const char *end = rq->buf + rq->len;
    const char *p = text_skip_spaces(rq->buf, end);
    struct text_token word;
    const char *after = p;
    if ((size_t)(p - rq->buf) <= TEXT_LEADING_SPACE_MAX &&
        text_tokenize(&after, end, &word, 1) == 1 && after < end) {
        unsigned variant = text_token_is(&word, "get") ? TEXT_GET_ON
                         : text_token_is(&word, "gets") ? (TEXT_GET_ON | TEXT_GET_CAS) : 0;
        if (variant != 0) {
            rq->pc->get_cont = (uint8_t)variant;
            size_t head = (size_t)(after - rq->buf);
            struct text_req sub = *rq;
            sub.buf = after;
            sub.len = rq->len - head;
            size_t used = text_get_continue(&sub);
            /* text_get_continue waits below PROTO_LINE_MAX; here we are past it. */
            return head + used;
        }
    }
    rq->action = PROTO_CLOSE;
    return rq->len;
}

/* Discards input up to and including the next '\n'. */
static size_t text_skip(struct proto_conn *pc, const char *buf, size_t len)
{
    const char *nl = memchr(buf, '\n', len);
    if (nl == NULL)
        return len;
    pc->skip_line = false;
    return (size_t)(nl - buf) + 1;
}

/* ---------------------------------------------------------------- entry points */

static void text_req_init(struct text_req *rq, struct proto_conn *pc, struct reply *out,
                          const char *buf, size_t len)
{
    rq->pc = pc;
    rq->out = out;
    rq->store = pc->env->store;
    rq->ctr = pc->counters;
    rq->buf = buf;
    rq->len = len;
    rq->need = 0;
    rq->action = PROTO_CONTINUE;
    rq->replay = false;
    rq->batched = NULL;
}

void proto_text_finish(struct proto_conn *pc, struct reply *out, enum proto_action *action)
{
    struct text_req rq;
    text_req_init(&rq, pc, out, pc->pend.head, pc->pend.head_len);
    rq.replay = true;
    if (text_line_find(rq.buf, rq.len, &rq.line)) {
        rq.consumed = rq.line.consumed;
        text_dispatch(&rq);
    }
    /* The same line takes the item again; never leave one behind regardless. */
    proto_pending_end(pc);
    *action = rq.action;
}

/* proto_process() has already set *action and *need to go on / unknown. */
size_t proto_text_process(struct proto_conn *pc, const char *buf, size_t len,
                          struct reply *out, enum proto_action *action, size_t *need)
{
    if (pc->skip_line)
        return text_skip(pc, buf, len);

    struct text_req rq;
    text_req_init(&rq, pc, out, buf, len);

    if (pc->get_cont != 0) {
        rq.consumed = text_get_continue(&rq);
    } else if ((rq.batched = proto_batch_line(pc, buf)) != NULL) {
        text_line_at(buf, rq.batched->nl, &rq.line);   /* found by the scan */
        rq.consumed = rq.line.consumed;
        text_batched(&rq);
    } else if (!text_line_find(buf, len, &rq.line)) {
        rq.consumed = len > PROTO_LINE_MAX ? text_long_line(&rq) : 0;
    } else {
        rq.consumed = rq.line.consumed;
        text_dispatch(&rq);
    }
    *action = rq.action;
    if (need != NULL)
        *need = rq.need;
    return rq.consumed;
}
