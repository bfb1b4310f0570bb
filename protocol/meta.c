/*
 * meta: memcached 1.6.45's meta commands on top of slabs/store.h.
 *
 *   mg <key> <flag>*            get, with per-item facts and recache tokens
 *   ms <key> <datalen> <flag>*  store (set/add/replace/append/prepend/cas)
 *   md <key> <flag>*            delete, mark stale (I), or empty the value (x)
 *   ma <key> <flag>*            incr/decr, with auto-create (N, J)
 *   mn                          "MN": marks the end of a pipeline of quiet commands
 *   me <key> [b]                debug line about an item
 *
 * Each command runs in three steps:
 *  1. split the line in place and pre-parse the flags, as memcached does for
 *     all meta commands alike: a flag token must start with a letter (or a
 *     digit, then refused as an unknown flag); one pass over the flag tokens
 *     records what each asks for and stops at a duplicate or an unknown
 *     letter; a bad value is remembered and the pass goes on (the last
 *     message wins). E<token> gives the CAS an item this command creates or
 *     changes gets, instead of the next one;
 *  2. call the store once (store_lookup, store_commit_cond, ...);
 *  3. compose the reply line: a two-letter code, then the flags that return
 *     something, in the order the client sent them, then (mg/ma with v) the
 *     value. Flags act in order too: in "mg k t T30" the t shows the TTL from
 *     before the T.
 * Quiet mode (q) drops the nominal reply only: EN for mg, HD for ms/md,
 * HD/VA for ma on an existing item; errors always go out.
 *
 * Counters follow memcached: mg counts as get (as touch with T), ms as set
 * (cas_* in CAS mode), md as delete, ma as incr/decr, me as cmd_meta.
 * Choices where we differ from memcached are noted where they are made.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/decimal.h"
#include "protocol/internal.h"
#include "protocol/messages.h"
#include "protocol/meta.h"
#include "protocol/proto.h"
#include "protocol/text.h"
#include "protocol/text_parse.h"
#include "protocol/watch.h"

/* memcached refuses a meta line of more words than this (command word included). */
#define META_WORDS_MAX 20
/* memcached's tokenizer stops after 23 words, the command word included: the
 * tokens after the command word it looks at, more than META_WORDS_MAX. */
#define META_TOKENS 22
#define META_OPAQUE_MAX 32                 /* O token, the 'O' included */
/* memcached's number readers refuse a longer token (before looking at it). */
#define META_NUM32_CHARS_MAX 11
#define META_NUM64_CHARS_MAX 22
/* memcached reads the byte after M: for a bare M a space or the line end,
 * which no mode is. */
#define META_MODE_MISSING ' '
#define META_FLAG_CHARS 128                /* a flag letter is 7-bit */
#define META_KEY64_MAX (((KEY_MAX_LENGTH + 2) / 3) * 4)
/* The longest reply line: code, 17 flags of at most a key in base64 + " b"
 * or a 20-digit number, CRLF; rounded up. */
#define META_LINE_MAX 1024

/* What the flags asked for (step 1). */
struct meta_opts {
    bool value;           /* v */
    bool no_update;       /* u */
    bool quiet;           /* q */
    bool key_binary;      /* b */
    bool vivify;          /* N */
    bool new_ttl;         /* T */
    bool has_cas;         /* C */
    bool set_stale;       /* I */
    bool remove_value;    /* x */
    bool has_new_cas;     /* E */
    char mode;            /* M, 0 = none */
    uint32_t client_flags;   /* F */
    int64_t exptime;         /* T */
    int64_t vivify_exptime;  /* N */
    int64_t recache;         /* R */
    uint64_t cas;            /* C */
    uint64_t new_cas;        /* E */
    uint64_t initial;        /* J */
    uint64_t delta;          /* D */
};

struct meta_cmd {
    struct text_req *rq;
    struct proto_counters *ctr;
    store *store;
    struct text_token tok[META_TOKENS];   /* [0] = key */
    size_t ntok;
    size_t first_flag;                    /* index of the first flag token */
    const char *key;                      /* decoded when b */
    size_t nkey;
    char keybuf[KEY_MAX_LENGTH];
    struct meta_opts o;
};

/* A reply line built on the stack, then copied to the reply in one piece. */
struct meta_line {
    char b[META_LINE_MAX];
    size_t n;
};

/* ---------------------------------------------------------------- base64 */

static const char meta_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int meta_b64_value(char c)
{
    const char *p = c != '\0' ? strchr(meta_b64, c) : NULL;
    return p != NULL ? (int)(p - meta_b64) : -1;
}

/*
 * Strict decoding: whole 4-character groups, padding only at the end.
 * Returns the decoded length, 0 on bad input (as memcached, an empty result
 * is an error too).
 */
static size_t meta_b64_decode(const char *in, size_t n, char *out, size_t max)
{
    size_t len = 0;
    if (n == 0 || n % 4 != 0)
        return 0;
    for (size_t i = 0; i < n; i += 4) {
        bool last = i + 4 == n;
        int v[4];
        int pad = 0;
        for (int j = 0; j < 4; j++) {
            char c = in[i + j];
            if (c == '=' && last && j >= 2) {
                v[j] = 0;
                pad++;
                continue;
            }
            v[j] = meta_b64_value(c);
            if (v[j] < 0 || pad > 0)
                return 0;
        }
        uint32_t w = ((uint32_t)v[0] << 18) | ((uint32_t)v[1] << 12) |
                     ((uint32_t)v[2] << 6) | (uint32_t)v[3];
        size_t bytes = 3 - (size_t)pad;
        if (len + bytes > max)
            return 0;
        for (size_t j = 0; j < bytes; j++)
            out[len++] = (char)(w >> (16 - 8 * j));
    }
    return len;
}

size_t proto_b64_encode(const char *in, size_t n, char *out)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i += 3) {
        size_t rest = n - i < 3 ? n - i : 3;
        uint32_t w = (uint32_t)(unsigned char)in[i] << 16;
        if (rest > 1)
            w |= (uint32_t)(unsigned char)in[i + 1] << 8;
        if (rest > 2)
            w |= (uint32_t)(unsigned char)in[i + 2];
        for (size_t j = 0; j < 4; j++)
            out[len++] = j <= rest ? meta_b64[(w >> (18 - 6 * j)) & 0x3f] : '=';
    }
    return len;
}

/* ---------------------------------------------------------------- reply lines */

static void line_add(struct meta_line *l, const char *p, size_t n)
{
    if (l->n + n > sizeof(l->b))
        n = sizeof(l->b) - l->n;   /* cannot happen within META_WORDS_MAX */
    memcpy(l->b + l->n, p, n);
    l->n += n;
}

static void line_u64(struct meta_line *l, uint64_t v)
{
    char tmp[DECIMAL_U64_MAX];
    line_add(l, tmp, decimal_u64(tmp, v));
}

/* " <c>": a flag letter that starts a returned value (or stands alone). */
static void line_flag(struct meta_line *l, char c)
{
    char f[2] = { ' ', c };
    line_add(l, f, sizeof(f));
}

/*
 * Whether a key can be echoed as it is: memcached's text keys hold no
 * whitespace or control bytes. One that does (stored in base64 or through the
 * binary protocol) goes back in base64 whatever its item says, so the reply
 * line stays one line; memcached 1.6.45 writes such a key raw.
 */
bool proto_key_is_printable(const char *key, size_t nkey)
{
    for (size_t i = 0; i < nkey; i++) {
        unsigned char ch = (unsigned char)key[i];
        if (ch <= ' ' || ch == 0x7f)
            return false;
    }
    return true;
}

/* " k<key>", the key in base64 followed by " b" when it is binary or cannot
 * stand raw in a line (proto_key_is_printable). */
static void line_key(struct meta_line *l, const char *key, size_t nkey, bool binary)
{
    line_flag(l, 'k');
    if (!binary && proto_key_is_printable(key, nkey)) {
        line_add(l, key, nkey);
        return;
    }
    char enc[META_KEY64_MAX];
    line_add(l, enc, proto_b64_encode(key, nkey, enc));
    line_add(l, " b", 2);
}

static void line_token(struct meta_line *l, const struct text_token *t)
{
    line_add(l, " ", 1);
    line_add(l, t->p, t->len);
}

static void line_send(struct meta_cmd *mc, struct meta_line *l)
{
    line_add(l, MSG_CRLF, MSG_LEN(MSG_CRLF));
    reply_add(mc->rq->out, l->b, l->n);
}

static void line_start(struct meta_line *l, const char *code)
{
    l->n = 0;
    line_add(l, code, strlen(code));
}

/* O and k for replies without an item (misses, NF/EX/NS): the request's key. */
static void line_echo(struct meta_cmd *mc, struct meta_line *l)
{
    for (size_t i = mc->first_flag; i < mc->ntok; i++) {
        const struct text_token *t = &mc->tok[i];
        if (t->p[0] == 'O')
            line_token(l, t);
        else if (t->p[0] == 'k')
            line_key(l, mc->key, mc->nkey, mc->o.key_binary);
    }
}

/* A reply with no item (a miss, NF/EX/NS): the code, then O and k echoed. */
static void line_code_echo(struct meta_cmd *mc, const char *code)
{
    struct meta_line l;
    line_start(&l, code);
    line_echo(mc, &l);
    line_send(mc, &l);
}

/* TTL left as mg/ma print it: -1 for none, else seconds (unsigned, as memcached). */
static void line_ttl(struct meta_line *l, const item *it)
{
    rel_time_t exp = item_exptime(it);
    line_flag(l, 't');
    if (exp == 0)
        line_add(l, "-1", 2);
    else
        line_u64(l, (uint32_t)(exp - clock_now()));
}

/* ---------------------------------------------------------------- numbers */

/*
 * memcached 1.6.45's strict readers: at most max_chars characters, all
 * digits (no sign, no spaces; an empty string reads as 0), at most limit.
 */
static bool meta_digits(const char *p, size_t n, size_t max_chars, uint64_t limit,
                        uint64_t *out)
{
    uint64_t v = 0;
    if (n > max_chars)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(p[i] - '0');
        if (d > 9 || v > (limit - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

/* A signed 32-bit number: an optional '-', then digits. */
static bool meta_num_i32(const char *p, size_t n, int64_t *out)
{
    bool neg = n > 0 && p[0] == '-';
    uint64_t v;
    if (n > META_NUM32_CHARS_MAX ||
        !meta_digits(p + neg, n - neg, META_NUM32_CHARS_MAX, (uint64_t)INT32_MAX + neg, &v))
        return false;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return true;
}

/* A flag's value: the token after its letter, which must not be empty. */
static bool meta_i32(const struct text_token *t, int64_t *out)
{
    return t->len > 1 && meta_num_i32(t->p + 1, t->len - 1, out);
}

static bool meta_u32(const struct text_token *t, uint32_t *out)
{
    uint64_t v;
    if (t->len < 2 || !meta_digits(t->p + 1, t->len - 1, META_NUM32_CHARS_MAX, UINT32_MAX, &v))
        return false;
    *out = (uint32_t)v;
    return true;
}

static bool meta_u64(const struct text_token *t, uint64_t *out)
{
    return t->len > 1 && meta_digits(t->p + 1, t->len - 1, META_NUM64_CHARS_MAX, UINT64_MAX, out);
}

/* ---------------------------------------------------------------- step 1: flags */

static const char *meta_decode_key(struct meta_cmd *mc)
{
    size_t n = meta_b64_decode(mc->tok[0].p, mc->tok[0].len, mc->keybuf, sizeof(mc->keybuf));
    if (n == 0)
        return MSG_META_BAD_KEY64;
    mc->key = mc->keybuf;
    mc->nkey = n;
    mc->o.key_binary = true;
    return NULL;
}

/*
 * One flag with a value; returns an error line, MSG_BAD_FORMAT for the F
 * flag's (memcached sets no message of its own there, so an earlier one
 * stays: see meta_parse_flags), or NULL.
 */
static const char *meta_flag_value(struct meta_cmd *mc, const struct text_token *t)
{
    struct meta_opts *o = &mc->o;
    switch (t->p[0]) {
    case 'N':
        o->vivify = true;
        return meta_i32(t, &o->vivify_exptime) ? NULL : MSG_META_BAD_TOKEN;
    case 'T':
        o->new_ttl = true;
        return meta_i32(t, &o->exptime) ? NULL : MSG_META_BAD_TOKEN;
    case 'R':
        return meta_i32(t, &o->recache) ? NULL : MSG_META_BAD_TOKEN;
    case 'F':
        return meta_u32(t, &o->client_flags) ? NULL : MSG_BAD_FORMAT;
    case 'C':
        o->has_cas = meta_u64(t, &o->cas);
        return o->has_cas ? NULL : MSG_META_BAD_TOKEN;
    case 'E':
        o->has_new_cas = meta_u64(t, &o->new_cas);
        return o->has_new_cas ? NULL : MSG_META_BAD_TOKEN;
    case 'M':
        o->mode = t->len > 1 ? t->p[1] : META_MODE_MISSING;
        return NULL;
    case 'J':
        return meta_u64(t, &o->initial) ? NULL : MSG_META_BAD_INITIAL;
    case 'D':
        return meta_u64(t, &o->delta) ? NULL : MSG_META_BAD_DELTA;
    default:
        return NULL;
    }
}

/*
 * The flag letters every meta command accepts (each then uses the ones it
 * knows): a duplicate or an unknown letter stops at once; a bad value is
 * remembered and the pass goes on, a later bad value replacing it (a bad F
 * only when no other came first: memcached's F sets no message).
 */
static const char *meta_parse_flags(struct meta_cmd *mc)
{
    bool seen[META_FLAG_CHARS] = { false };
    const char *err = NULL;
    bool bad = false;
    struct meta_opts *o = &mc->o;
    memset(o, 0, sizeof(*o));
    o->delta = 1;
    for (size_t i = mc->first_flag; i < mc->ntok; i++) {
        const struct text_token *t = &mc->tok[i];
        unsigned char c = (unsigned char)t->p[0];
        if (c >= META_FLAG_CHARS - 1 || seen[c])
            return MSG_META_DUP_FLAG;
        seen[c] = true;
        const char *e = NULL;
        switch (c) {
        case 'b':
            e = meta_decode_key(mc);
            break;
        case 'N': case 'T': case 'R': case 'F': case 'C': case 'E': case 'M': case 'J':
        case 'D':
            e = meta_flag_value(mc, t);
            break;
        case 'v':
            o->value = true;
            break;
        case 'u':
            o->no_update = true;
            break;
        case 'q':
            o->quiet = true;
            break;
        case 'I':
            o->set_stale = true;
            break;
        case 'x':
            o->remove_value = true;
            break;
        case 'O': case 'P': case 'L': case 'k': case 's': case 't': case 'c':
        case 'f': case 'h': case 'l':
            break;
        default:
            return MSG_META_BAD_FLAG;
        }
        if (e != NULL) {
            bad = true;
            if (c != 'F')
                err = e;
        }
    }
    return bad && err == NULL ? MSG_BAD_FORMAT : err;
}

static bool meta_opaque_ok(const struct meta_cmd *mc)
{
    for (size_t i = mc->first_flag; i < mc->ntok; i++)
        if (mc->tok[i].p[0] == 'O' && mc->tok[i].len > META_OPAQUE_MAX)
            return false;
    return true;
}

static void meta_error(struct meta_cmd *mc, const char *msg)
{
    reply_add_str(mc->rq->out, msg);
}

/* The CAS E gives an item this command creates or changes; NULL: the next. */
static const uint64_t *meta_new_cas(const struct meta_cmd *mc)
{
    return mc->o.has_new_cas ? &mc->o.new_cas : NULL;
}

/* Each command's state, on its handler's stack. */
static void meta_start(struct meta_cmd *mc, struct text_req *rq)
{
    mc->rq = rq;
    mc->ctr = rq->ctr;
    mc->store = rq->store;
    mc->ntok = 0;
    mc->first_flag = 1;
    memset(&mc->o, 0, sizeof(mc->o));
}

/*
 * Whether memcached's tokenizer takes the flag tokens: each must start with
 * a letter (its range 'A'..'z' takes in [ \ ] ^ _ `) or a digit.
 */
static bool meta_flags_tokenize(const struct meta_cmd *mc)
{
    for (size_t i = mc->first_flag; i < mc->ntok; i++) {
        char c = mc->tok[i].p[0];
        if (!(c >= 'A' && c <= 'z') && !(c >= '0' && c <= '9'))
            return false;
    }
    return true;
}

/*
 * Splits the line: key first, flags from first_flag. Returns the number of
 * words (command word included); more than the table holds counts as too
 * many. 0 when memcached's tokenizer refuses the line (meta_flags_tokenize).
 */
static size_t meta_split(struct meta_cmd *mc, size_t first_flag)
{
    const char *p = mc->rq->rest;
    const char *end = mc->rq->line.end;
    mc->first_flag = first_flag;
    mc->ntok = text_tokenize(&p, end, mc->tok, META_TOKENS);
    bool more = text_skip_spaces(p, end) != end;
    mc->key = mc->ntok > 0 ? mc->tok[0].p : NULL;
    mc->nkey = mc->ntok > 0 ? mc->tok[0].len : 0;
    if (!meta_flags_tokenize(mc))
        return 0;
    return 1 + mc->ntok + (more ? 1 : 0);
}

/*
 * memcached's pre-parse, for every meta command with a key: the key's
 * length, the number of words, then the flags. Returns an error line or NULL.
 */
static const char *meta_preparse(struct meta_cmd *mc, size_t words)
{
    if (mc->tok[0].len > KEY_MAX_LENGTH)
        return MSG_BAD_FORMAT;
    if (words > META_WORDS_MAX)
        return MSG_META_FLAGS_LONG;
    return meta_parse_flags(mc);
}

/*
 * The checks mg, md and ma share, in memcached's order. Returns false when
 * an error was answered; flag_error (ma's) replaces every message of the
 * pre-parse.
 */
static bool meta_prepare(struct meta_cmd *mc, const char *flag_error)
{
    size_t words = meta_split(mc, 1);
    if (words == 0 || mc->ntok == 0) {
        meta_error(mc, MSG_BAD_FORMAT);
        return false;
    }
    const char *err = meta_preparse(mc, words);
    if (err != NULL) {
        meta_error(mc, flag_error != NULL ? flag_error : err);
        return false;
    }
    if (!meta_opaque_ok(mc)) {
        meta_error(mc, MSG_META_OPAQUE_LONG);
        return false;
    }
    return true;
}

/* ---------------------------------------------------------------- mg */

/* A hit with T counts as a touch, any other lookup (vivified too) as a get. */
static void mg_count(struct meta_cmd *mc, bool hit, unsigned cls, bool touch,
                     enum store_miss why)
{
    struct proto_counters *ctr = mc->ctr;
    counter_inc(hit && touch ? &ctr->cmd_touch : &ctr->cmd_get);
    if (hit)
        proto_count_lookup_hit(ctr, cls, touch);
    else
        proto_count_lookup_miss(ctr, false, why);
}

struct mg_state {
    item *it;
    struct store_lookup_before hit;
    bool ttl_set;
    bool won;
};

/* The flags of a hit, in the client's order (T and R act where they stand). */
static void mg_hit_flags(struct meta_cmd *mc, struct meta_line *l, struct mg_state *st)
{
    item *it = st->it;
    for (size_t i = mc->first_flag; i < mc->ntok; i++) {
        const struct text_token *t = &mc->tok[i];
        rel_time_t exp = item_exptime(it);
        switch (t->p[0]) {
        case 'T':
            item_set_exptime(it, mc->o.exptime);
            st->ttl_set = true;
            break;
        case 'N':
            st->won |= st->hit.created;
            break;
        case 'R':
            if (!item_token_sent(it) && !st->hit.created && exp != 0 &&
                exp < clock_exptime(mc->o.recache))
                st->won = true;
            break;
        case 's':
            line_flag(l, 's');
            line_u64(l, item_nvalue(it));
            break;
        case 't':
            line_ttl(l, it);
            break;
        case 'c':
            line_flag(l, 'c');
            line_u64(l, item_cas(it));
            break;
        case 'f':
            line_flag(l, 'f');
            line_u64(l, item_flags(it));
            break;
        case 'l':
            line_flag(l, 'l');
            line_u64(l, (uint32_t)(clock_now() - st->hit.atime));
            break;
        case 'h':
            line_flag(l, 'h');
            line_add(l, st->hit.was_fetched ? "1" : "0", 1);
            break;
        case 'O':
            line_token(l, t);
            break;
        case 'k':
            line_key(l, item_key(it), item_nkey(it), item_key_binary(it));
            break;
        default:
            break;
        }
    }
}

/*
 * Z: another client already holds the token; X: the value is stale; W: this
 * client won the token (a stale item goes to its first reader). The token is
 * claimed atomically, so of racing readers one gets W and the others Z.
 */
static void mg_tokens(struct meta_line *l, struct mg_state *st)
{
    item *it = st->it;
    bool sent = false;
    bool stale = item_is_stale(it);
    if (!st->hit.created) {
        sent = item_token_sent(it);
        if (stale && !sent)
            st->won = true;
        if (st->won && item_claim_token(it)) {
            st->won = false;
            sent = true;
        }
    }
    if (sent)
        line_flag(l, 'Z');
    if (stale)
        line_flag(l, 'X');
    if (st->won)
        line_flag(l, 'W');
}

static void mg_hit(struct meta_cmd *mc, struct mg_state *st)
{
    struct meta_line l;
    struct reply *out = mc->rq->out;
    item *it = st->it;
    /* C: the client has this version already, so no value. */
    if (mc->o.has_cas && item_cas(it) == mc->o.cas)
        mc->o.value = false;
    if (mc->o.value) {
        line_start(&l, MSG_META_VA);
        line_u64(&l, item_nvalue(it));
    } else {
        line_start(&l, MSG_META_HD);
    }
    mg_hit_flags(mc, &l, st);
    mg_tokens(&l, st);
    line_send(mc, &l);
    if (mc->o.value) {
        reply_add_value(out, it);
        REPLY_LIT(out, MSG_CRLF);
    } else {
        store_release(mc->store, it);
    }
}

void proto_meta_get(struct text_req *rq, unsigned arg)
{
    struct meta_cmd cmd, *mc = &cmd;
    meta_start(mc, rq);
    if (!meta_prepare(mc, NULL))
        return;
    struct store_lookup_opts opt = { mc->o.no_update, mc->o.vivify, mc->o.vivify_exptime,
                                     mc->o.key_binary, meta_new_cas(mc) };
    struct mg_state st = { NULL, { false, 0, false }, false, false };
    enum store_miss why = STORE_HIT;
    st.it = store_lookup(mc->store, mc->key, mc->nkey, &opt, &st.hit, &why);
    if (proto_observed(LOGGER_FETCHERS))
        proto_note_get(rq->pc, LOGGER_FETCHERS, mc->key, mc->nkey, st.it, why);
    if (st.it == NULL) {
        mg_count(mc, false, 0, false, why);
        if (mc->o.quiet)
            return;
        line_code_echo(mc, MSG_META_EN);
        return;
    }
    unsigned cls = item_class(st.it);
    mg_hit(mc, &st);               /* hands the reference over */
    /* Counted after the flags: a T among them makes it a touch. */
    mg_count(mc, true, cls, st.ttl_set && !st.hit.created, why);
}

/* ---------------------------------------------------------------- ms */

static bool ms_mode(char m, enum store_mode *mode)
{
    switch (m) {
    case 0:
    case 'S':
        *mode = STORE_SET;
        return true;
    case 'E':
        *mode = STORE_ADD;
        return true;
    case 'A':
        *mode = STORE_APPEND;
        return true;
    case 'P':
        *mode = STORE_PREPEND;
        return true;
    case 'R':
        *mode = STORE_REPLACE;
        return true;
    default:
        return false;
    }
}

/* An error after the data length was known: answer, then drop the block. */
static void ms_refuse(struct meta_cmd *mc, const char *msg, size_t vlen)
{
    meta_error(mc, msg);
    text_block_refuse(mc->rq, vlen);
}

/* The value could not be had: as memcached, the old one goes too. */
static void ms_no_item(struct meta_cmd *mc, enum store_result why, size_t vlen)
{
    ms_refuse(mc, proto_count_refused(mc->ctr, why) ? MSG_TOO_LARGE : MSG_NO_MEMORY, vlen);
    store_delete(mc->store, mc->key, mc->nkey, 0, NULL);
}

static void ms_reply(struct meta_cmd *mc, enum store_result res, uint64_t cas, size_t nvalue)
{
    const char *code;
    switch (res) {
    case STORE_OK:
        if (mc->o.quiet)
            return;
        code = MSG_META_HD;
        break;
    case STORE_EXISTS:
        code = MSG_META_EX;
        break;
    case STORE_NOT_FOUND:
        code = MSG_META_NF;
        break;
    case STORE_TOO_LARGE:
        meta_error(mc, MSG_TOO_LARGE);
        return;
    case STORE_NO_MEMORY:
        meta_error(mc, MSG_NO_MEMORY);
        return;
    default:
        code = MSG_META_NS;
        break;
    }
    struct meta_line l;
    line_start(&l, code);
    for (size_t i = mc->first_flag; i < mc->ntok; i++) {
        const struct text_token *t = &mc->tok[i];
        if (t->p[0] == 'O') {
            line_token(&l, t);
        } else if (t->p[0] == 'k') {
            line_key(&l, mc->key, mc->nkey, mc->o.key_binary);
        } else if (t->p[0] == 'c') {
            line_flag(&l, 'c');
            line_u64(&l, res == STORE_OK ? cas : 0);
        } else if (t->p[0] == 's') {
            line_flag(&l, 's');
            line_u64(&l, nvalue);
        }
    }
    line_send(mc, &l);
}

/* Append and prepend with N create the item on a miss, with N's exptime. */
static bool ms_vivifies(const struct meta_cmd *mc, enum store_mode mode)
{
    return mc->o.vivify && (mode == STORE_APPEND || mode == STORE_PREPEND);
}

/* The value, once its item is filled (text_block_item): store, answer. */
static void ms_store(struct meta_cmd *mc, enum store_mode mode, size_t vlen)
{
    enum store_result why;
    bool vivify = ms_vivifies(mc, mode);
    int64_t exptime = vivify ? mc->o.vivify_exptime : mc->o.new_ttl ? mc->o.exptime : 0;
    struct text_item_spec spec = { mc->key, mc->nkey, mc->o.client_flags, exptime, vlen };
    item *it = text_block_item(mc->rq, &spec, &why);
    if (it == NULL) {
        if (why != STORE_OK)
            ms_no_item(mc, why, vlen);
        return;
    }
    if (mc->o.key_binary)
        item_mark_key_binary(it);
    unsigned cls = item_class(it);
    counter_inc(&mc->ctr->cmd_set);
    counter_inc(&mc->ctr->cls[cls].cmd_set);
    uint64_t cas = 0;
    size_t nvalue = vlen;
    struct store_commit_cond c = { mode, mc->o.cas, mc->o.set_stale, vivify, meta_new_cas(mc) };
    enum store_result res =
        proto_observed(LOGGER_MUTATIONS)
            ? proto_commit_noted(mc->rq->pc, LOGGER_MUTATIONS, mc->key, mc->nkey, it, &c, &cas,
                                 &nvalue)
            : store_commit_cond(mc->store, it, &c, &cas, &nvalue);
    if (mode == STORE_CAS)
        proto_count_cas(mc->ctr, cls, res);
    ms_reply(mc, res, cas, nvalue);
}

/* ms <key> <datalen> <flag>*: memcached's checks in its order. */
void proto_meta_set(struct text_req *rq, unsigned arg)
{
    struct meta_cmd cmd, *mc = &cmd;
    meta_start(mc, rq);
    size_t words = meta_split(mc, 2);
    int64_t vlen;
    /* Up to the length nothing is swallowed: the block's size is not known. */
    if (words == 0 || mc->ntok < 2 ||
        !meta_num_i32(mc->tok[1].p, mc->tok[1].len, &vlen) || vlen < 0) {
        meta_error(mc, MSG_BAD_FORMAT);
        return;
    }
    enum store_mode mode = STORE_SET;
    const char *err = meta_preparse(mc, words);
    if (err == NULL && !ms_mode(mc->o.mode, &mode))
        err = MSG_META_SET_MODE;
    if (err != NULL) {
        ms_refuse(mc, err, (size_t)vlen);
        return;
    }
    /* A CAS turns set and replace into cas; append/prepend check it themselves. */
    if (mc->o.has_cas && (mode == STORE_SET || mode == STORE_REPLACE))
        mode = STORE_CAS;
    if (proto_too_large(mc->store, mc->nkey, (uint64_t)vlen)) {
        ms_no_item(mc, STORE_TOO_LARGE, (size_t)vlen);
        return;
    }
    if (!meta_opaque_ok(mc)) {
        ms_refuse(mc, MSG_META_OPAQUE_LONG, (size_t)vlen);
        return;
    }
    ms_store(mc, mode, (size_t)vlen);
}

/* ---------------------------------------------------------------- md */

void proto_meta_delete(struct text_req *rq, unsigned arg)
{
    struct meta_cmd cmd, *mc = &cmd;
    meta_start(mc, rq);
    if (!meta_prepare(mc, NULL))
        return;
    struct store_delete_cond d = { mc->o.has_cas, mc->o.cas, mc->o.set_stale,
                                   mc->o.new_ttl, mc->o.exptime, mc->o.remove_value,
                                   mc->o.client_flags, meta_new_cas(mc) };
    struct proto_deleting del = { false, 0, 0 };
    if (proto_observed(LOGGER_DELETIONS))
        proto_delete_begin(rq->pc, LOGGER_DELETIONS, mc->key, mc->nkey, &del);
    unsigned cls = 0;
    enum store_result res = store_delete_cond(mc->store, mc->key, mc->nkey, &d, &cls);
    if (!d.stale)   /* marking stale deletes nothing: no deleted line, as memcached */
        proto_delete_done(&del, mc->key, mc->nkey, LOGGER_DEL_META, res);
    const char *code = MSG_META_HD;
    switch (res) {
    case STORE_OK:
        if (!d.stale)
            proto_count_delete_hit(mc->ctr, cls);
        if (mc->o.quiet)
            return;
        break;
    case STORE_EXISTS:
        counter_inc(&mc->ctr->delete_misses);
        code = MSG_META_EX;
        break;
    case STORE_NOT_FOUND:
        counter_inc(&mc->ctr->delete_misses);
        code = MSG_META_NF;
        break;
    default:
        meta_error(mc, MSG_ARITH_NO_MEMORY);
        return;
    }
    line_code_echo(mc, code);
}

/* ---------------------------------------------------------------- ma */

static bool ma_mode(char m, bool *incr)
{
    switch (m) {
    case 0:
    case 'I':
    case '+':
        *incr = true;
        return true;
    case 'D':
    case '-':
        *incr = false;
        return true;
    default:
        return false;
    }
}

/* HD/VA for the item now stored; T and N act where they stand. */
static void ma_hit(struct meta_cmd *mc, item *it, uint64_t result, bool created)
{
    char num[DECIMAL_U64_MAX];
    size_t nlen = decimal_u64(num, result);
    struct meta_line l;
    if (mc->o.value) {
        line_start(&l, MSG_META_VA);
        line_u64(&l, nlen);
    } else {
        line_start(&l, MSG_META_HD);
    }
    for (size_t i = mc->first_flag; i < mc->ntok; i++) {
        const struct text_token *t = &mc->tok[i];
        switch (t->p[0]) {
        case 'c':
            line_flag(&l, 'c');
            line_u64(&l, item_cas(it));
            break;
        case 't':
            line_ttl(&l, it);
            break;
        case 'T':
            item_set_exptime(it, mc->o.exptime);
            break;
        case 'N':
            if (created)
                item_set_exptime(it, mc->o.vivify_exptime);
            break;
        case 'O':
            line_token(&l, t);
            break;
        case 'k':
            line_key(&l, mc->key, mc->nkey, mc->o.key_binary);
            break;
        default:
            break;
        }
    }
    store_release(mc->store, it);
    if (mc->o.quiet)
        return;
    if (mc->o.value) {
        line_add(&l, MSG_CRLF, MSG_LEN(MSG_CRLF));
        line_add(&l, num, nlen);
    }
    line_send(mc, &l);
}

static void ma_count(struct meta_cmd *mc, bool incr, bool hit, unsigned cls)
{
    struct proto_counters *ctr = mc->ctr;
    if (hit) {
        proto_count_arith_hit(ctr, incr, cls);
    } else {
        counter_inc(incr ? &ctr->incr_misses : &ctr->decr_misses);
    }
}

void proto_meta_arith(struct text_req *rq, unsigned arg)
{
    struct meta_cmd cmd, *mc = &cmd;
    meta_start(mc, rq);
    if (!meta_prepare(mc, MSG_META_BAD_OR_DUP))
        return;
    bool incr = true;
    if (!ma_mode(mc->o.mode, &incr)) {
        meta_error(mc, MSG_META_ARITH_MODE);
        return;
    }
    /* Created without an exptime: ma_hit applies N's and T's in the flags' order. */
    struct store_arith_cond a = { incr, mc->o.delta, mc->o.has_cas, mc->o.cas,
                                  mc->o.vivify, mc->o.initial, 0, meta_new_cas(mc) };
    uint64_t result = 0;
    bool created = false;
    item *it = NULL;
    enum store_result res = store_arith_cond(mc->store, mc->key, mc->nkey, &a, &result,
                                             &created, &it);
    const char *code;
    switch (res) {
    case STORE_OK:
        if (!created)
            ma_count(mc, incr, true, item_class(it));
        ma_hit(mc, it, result, created);
        return;
    case STORE_NOT_FOUND:
        ma_count(mc, incr, false, 0);
        code = MSG_META_NF;
        break;
    case STORE_EXISTS:
        code = MSG_META_EX;
        break;
    case STORE_NOT_STORED:
        code = MSG_META_NS;
        break;
    case STORE_NON_NUMERIC:
        meta_error(mc, MSG_NON_NUMERIC);
        return;
    default:
        meta_error(mc, MSG_ARITH_NO_MEMORY);
        return;
    }
    line_code_echo(mc, code);
}

/* ---------------------------------------------------------------- me, mn */

/*
 * me <key> [b]: memcached's debug line. exp is the TTL left, as memcached
 * 1.6.45 prints it (-1 for none); cls and size are ours (our classes and
 * item headers differ). A key echoes as mg's k does. memcached honours b
 * only when another word follows it (it counts the words off by one); we
 * honour it always.
 */
void proto_meta_debug(struct text_req *rq, unsigned arg)
{
    struct meta_cmd cmd, *mc = &cmd;
    meta_start(mc, rq);
    if (meta_split(mc, 1) == 0 || mc->ntok == 0 || mc->tok[0].len > KEY_MAX_LENGTH) {
        meta_error(mc, MSG_BAD_FORMAT);
        return;
    }
    /* A key that does not decode: memcached's me says bad command line format. */
    if (mc->ntok >= 2 && text_token_is(&mc->tok[1], "b") && meta_decode_key(mc) != NULL) {
        meta_error(mc, MSG_BAD_FORMAT);
        return;
    }
    counter_inc(&mc->ctr->cmd_meta);
    struct store_lookup_opts opt = { true, false, 0, false, NULL };
    struct store_lookup_before hit;
    item *it = store_lookup(mc->store, mc->key, mc->nkey, &opt, &hit, NULL);
    if (it == NULL) {
        REPLY_LIT(mc->rq->out, MSG_META_EN_LINE);
        return;
    }
    struct meta_line l;
    rel_time_t now = clock_now();
    rel_time_t exp = item_exptime(it);
    char tail[META_LINE_MAX / 4];
    line_start(&l, MSG_META_ME);
    if (item_key_binary(it) || !proto_key_is_printable(item_key(it), item_nkey(it))) {
        char enc[META_KEY64_MAX];
        line_add(&l, enc, proto_b64_encode(item_key(it), item_nkey(it), enc));
    } else {
        line_add(&l, item_key(it), item_nkey(it));
    }
    int n = snprintf(tail, sizeof(tail),
                     " exp=%" PRId32 " la=%" PRIu32 " cas=%" PRIu64 " fetch=%s cls=%u size=%zu",
                     exp == 0 ? -1 : (int32_t)(exp - now), (uint32_t)(now - hit.atime),
                     item_cas(it), hit.was_fetched ? "yes" : "no", item_class(it),
                     store_item_total_size(mc->store, it));
    line_add(&l, tail, (size_t)n);
    line_send(mc, &l);
    store_release(mc->store, it);
}

/* ---------------------------------------------------------------- mn */

void proto_meta_noop(struct text_req *rq, unsigned arg)
{
    REPLY_LIT(rq->out, MSG_META_MN);
}
