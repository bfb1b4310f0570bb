/*
 * fuzz_conn: libFuzzer target for a whole connection: arbitrary bytes, cut
 * into arbitrary reads, through proto_process() against a real small store,
 * exactly as server/conn.c drives it. Built twice by t/fuzz/run:
 *   fuzz_conn  -- -B auto: the first byte picks text (or binary, on 0x80);
 *   fuzz_bin   -- -B binary (FUZZ_BINARY defined): every frame is binary.
 *   fuzz_meta  -- meta commands (FUZZ_META defined): the first byte of each
 *                 line of the payload picks the meta word (mg ms md ma mn me,
 *                 by value mod 6: '0'..'5') that replaces it, so mutations
 *                 land in meta parsing; '=' sends the rest of the line as it
 *                 is (an ms data block).
 *
 * Input layout (so the fuzzer mutates the transport as well as the bytes):
 *   byte 0        control: bits 0-2 = k, the number of read-size bytes;
 *                 bits 3-4 = iovecs per reply_iov() call (1, 2, 8, 64);
 *                 bit 5 = slow reader (drain only half the reply per read,
 *                 and drop the rest with reply_clear() at close);
 *                 bits 6-7 = seconds the clock moves between reads (0-3,
 *                 at most FUZZ_CLOCK_MAX per input).
 *   bytes 1..k    read sizes, each 1..256, used in turn; k = 0: one read.
 *   the rest      the bytes the client sends.
 *
 * The server's contract is followed: proto_process() is called again after
 * each read while it consumes bytes; 0 means "keep the bytes, wait for
 * more"; PROTO_CLOSE or PROTO_SHUTDOWN end the connection. The pending bytes
 * are the only addressable part of the read buffer (ASan poisoning), so a
 * read before or past them is reported at once.
 *
 * Checked after every input (a failed check aborts, which libFuzzer reports):
 *  - item references: every store function that hands out or takes back
 *    a reference (store_get, store_get_touch, store_get_hashed, store_lookup,
 *    store_item_alloc, store_arith_cond; store_commit, store_commit_hashed,
 *    store_commit_cond, store_release) is wrapped (-Wl,--wrap, t/fuzz/run
 *    links the store as one relocatable object so only protocol -> store
 *    calls are counted); every reference the protocol gets must be handed
 *    back exactly once, and none may be released that it does not hold;
 *    once the reply is drained and the connection reset none may remain;
 *  - the reply stream is well formed: text lines end in "\r\n", start with
 *    a known word, meta reply lines hold only printable words (an opaque
 *    token aside: see fuzz_meta_words_printable), and VALUE/VA data blocks
 *    have their declared length and "\r\n"; binary responses have magic
 *    0x81 and consistent lengths; the stream ends on a message boundary;
 *  - proto_process never consumes more than it was given, and "need" is
 *    larger than what it had when it asks for more, by no more than
 *    PROTO_BLOCK_BUFFERED_MAX + PROTO_NEED_HEAD_MAX (a larger value is read
 *    into its item as it arrives);
 *  - reply_iov/reply_consumed agree with reply_pending;
 *  - the store's totals match the sum of its classes.
 */
#include <sanitizer/asan_interface.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "protocol/proto.h"
#include "protocol/reply.h"
#include "slabs/store.h"

/*
 * A store small enough that inputs of a few KB fill it: 8 pages of 4 KB.
 * (With memcached-sized pages a fuzz input never gets near eviction.) A
 * handful of sets in different classes takes every page; the next class
 * to fill its page then evicts, and a new class gets "out of memory".
 */
#define FUZZ_MEM_LIMIT (32u * 1024)
#define FUZZ_PAGE_SIZE (4u * 1024)
#define FUZZ_HASH_POWER 10
#define FUZZ_READ_SIZES_MASK 0x07u
#define FUZZ_IOV_SHIFT 3
#define FUZZ_IOV_MASK 0x03u
#define FUZZ_SLOW_READER 0x20u
#define FUZZ_CLOCK_SHIFT 6
#define FUZZ_CLOCK_MAX 8            /* seconds one input may move the clock */
#define FUZZ_IOV_MAX 64
#define FUZZ_TURN_REQUESTS 20       /* requests per turn: -R's default */
#define FUZZ_LINE_MAX 8192          /* longest reply line accepted */
#define FUZZ_BIN_HEADER 24
#define FUZZ_BIN_RESPONSE 0x81

static const int fuzz_iov_counts[] = { 1, 2, 8, FUZZ_IOV_MAX };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

__attribute__((format(printf, 1, 2), noreturn))
static void fuzz_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("fuzz_conn: invariant broken: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

#define FUZZ_CHECK(cond) \
    do { if (!(cond)) fuzz_fail("%s (%s:%d)", #cond, __FILE__, __LINE__); } while (0)

/* ---------------------------------------------------------------- reference accounting */

/*
 * Items the protocol holds a reference on, in the order it got them (a
 * multiset: `get k k` holds k twice). The reply releases in about the same
 * order, so the search from the front is short.
 */
static struct {
    item **v;
    size_t n, cap;
} fuzz_held;

item *__real_store_get(store *s, const char *key, size_t nkey, enum store_miss *why);
item *__real_store_get_hashed(store *s, const char *key, size_t nkey, uint64_t hv,
                              enum store_miss *why);
item *__real_store_get_touch(store *s, const char *key, size_t nkey, int64_t exptime,
                             enum store_miss *why);
item *__real_store_item_alloc(store *s, const char *key, size_t nkey, uint32_t flags,
                              int64_t exptime, size_t nvalue, enum store_result *why);
enum store_result __real_store_commit(store *s, item *it, enum store_mode mode,
                                      uint64_t cas_in, uint64_t *cas_out);
enum store_result __real_store_commit_hashed(store *s, item *it, enum store_mode mode,
                                             uint64_t cas_in, uint64_t hv, uint64_t *cas_out);
void __real_store_release(store *s, item *it);
item *__real_store_lookup(store *s, const char *key, size_t nkey,
                          const struct store_lookup_opts *opt, struct store_lookup_before *hit,
                          enum store_miss *why);
enum store_result __real_store_commit_cond(store *s, item *it, const struct store_commit_cond *c,
                                          uint64_t *cas_out, size_t *nvalue_out);
enum store_result __real_store_arith_cond(store *s, const char *key, size_t nkey,
                                          const struct store_arith_cond *a, uint64_t *result,
                                          bool *created, item **it_out);

item *__wrap_store_get(store *s, const char *key, size_t nkey, enum store_miss *why);
item *__wrap_store_get_touch(store *s, const char *key, size_t nkey, int64_t exptime,
                             enum store_miss *why);
item *__wrap_store_get_hashed(store *s, const char *key, size_t nkey, uint64_t hv,
                              enum store_miss *why);
item *__wrap_store_item_alloc(store *s, const char *key, size_t nkey, uint32_t flags,
                              int64_t exptime, size_t nvalue, enum store_result *why);
enum store_result __wrap_store_commit(store *s, item *it, enum store_mode mode,
                                      uint64_t cas_in, uint64_t *cas_out);
enum store_result __wrap_store_commit_hashed(store *s, item *it, enum store_mode mode,
                                             uint64_t cas_in, uint64_t hv, uint64_t *cas_out);
void __wrap_store_release(store *s, item *it);
item *__wrap_store_lookup(store *s, const char *key, size_t nkey,
                          const struct store_lookup_opts *opt, struct store_lookup_before *hit,
                          enum store_miss *why);
enum store_result __wrap_store_commit_cond(store *s, item *it, const struct store_commit_cond *c,
                                          uint64_t *cas_out, size_t *nvalue_out);
enum store_result __wrap_store_arith_cond(store *s, const char *key, size_t nkey,
                                          const struct store_arith_cond *a, uint64_t *result,
                                          bool *created, item **it_out);

static void fuzz_hold(item *it)
{
    if (it == NULL)
        return;
    if (fuzz_held.n == fuzz_held.cap) {
        fuzz_held.cap = fuzz_held.cap ? fuzz_held.cap * 2 : 256;
        fuzz_held.v = realloc(fuzz_held.v, fuzz_held.cap * sizeof(*fuzz_held.v));
        FUZZ_CHECK(fuzz_held.v != NULL);
    }
    fuzz_held.v[fuzz_held.n++] = it;
}

static void fuzz_unhold(item *it, const char *how)
{
    if (it == NULL)
        fuzz_fail("%s(NULL)", how);
    for (size_t i = 0; i < fuzz_held.n; i++) {
        if (fuzz_held.v[i] == it) {
            memmove(&fuzz_held.v[i], &fuzz_held.v[i + 1],
                    (fuzz_held.n - i - 1) * sizeof(*fuzz_held.v));
            fuzz_held.n--;
            return;
        }
    }
    fuzz_fail("%s of item %p that the protocol holds no reference on", how, (void *)it);
}

item *__wrap_store_get(store *s, const char *key, size_t nkey, enum store_miss *why)
{
    FUZZ_CHECK(nkey > 0 && nkey <= KEY_MAX_LENGTH);
    item *it = __real_store_get(s, key, nkey, why);
    fuzz_hold(it);
    return it;
}

item *__wrap_store_get_hashed(store *s, const char *key, size_t nkey, uint64_t hv,
                              enum store_miss *why)
{
    FUZZ_CHECK(nkey > 0 && nkey <= KEY_MAX_LENGTH);
    item *it = __real_store_get_hashed(s, key, nkey, hv, why);
    fuzz_hold(it);
    return it;
}

item *__wrap_store_get_touch(store *s, const char *key, size_t nkey, int64_t exptime,
                             enum store_miss *why)
{
    FUZZ_CHECK(nkey > 0 && nkey <= KEY_MAX_LENGTH);
    item *it = __real_store_get_touch(s, key, nkey, exptime, why);
    fuzz_hold(it);
    return it;
}

item *__wrap_store_item_alloc(store *s, const char *key, size_t nkey, uint32_t flags,
                              int64_t exptime, size_t nvalue, enum store_result *why)
{
    FUZZ_CHECK(nkey > 0 && nkey <= KEY_MAX_LENGTH);
    item *it = __real_store_item_alloc(s, key, nkey, flags, exptime, nvalue, why);
    fuzz_hold(it);
    return it;
}

enum store_result __wrap_store_commit(store *s, item *it, enum store_mode mode,
                                      uint64_t cas_in, uint64_t *cas_out)
{
    fuzz_unhold(it, "store_commit");
    return __real_store_commit(s, it, mode, cas_in, cas_out);
}

enum store_result __wrap_store_commit_hashed(store *s, item *it, enum store_mode mode,
                                             uint64_t cas_in, uint64_t hv, uint64_t *cas_out)
{
    fuzz_unhold(it, "store_commit_hashed");
    return __real_store_commit_hashed(s, it, mode, cas_in, hv, cas_out);
}

void __wrap_store_release(store *s, item *it)
{
    fuzz_unhold(it, "store_release");
    __real_store_release(s, it);
}

item *__wrap_store_lookup(store *s, const char *key, size_t nkey,
                          const struct store_lookup_opts *opt, struct store_lookup_before *hit,
                          enum store_miss *why)
{
    FUZZ_CHECK(nkey > 0 && nkey <= KEY_MAX_LENGTH);
    item *it = __real_store_lookup(s, key, nkey, opt, hit, why);
    fuzz_hold(it);
    return it;
}

enum store_result __wrap_store_commit_cond(store *s, item *it, const struct store_commit_cond *c,
                                          uint64_t *cas_out, size_t *nvalue_out)
{
    fuzz_unhold(it, "store_commit_cond");
    return __real_store_commit_cond(s, it, c, cas_out, nvalue_out);
}

enum store_result __wrap_store_arith_cond(store *s, const char *key, size_t nkey,
                                          const struct store_arith_cond *a, uint64_t *result,
                                          bool *created, item **it_out)
{
    FUZZ_CHECK(nkey > 0 && nkey <= KEY_MAX_LENGTH);
    item *it = NULL;
    enum store_result res = __real_store_arith_cond(s, key, nkey, a, result, created, &it);
    if (res != STORE_OK && it != NULL)
        fuzz_fail("store_arith_cond returned an item with result %d", (int)res);
    if (res == STORE_OK) {
        FUZZ_CHECK(it != NULL);
        fuzz_hold(it);
    }
    if (it_out != NULL)
        *it_out = it;
    return res;
}

/* ---------------------------------------------------------------- reply stream checks */

enum fuzz_vstate { FUZZ_V_LINE, FUZZ_V_DATA, FUZZ_V_BIN_HEADER, FUZZ_V_BIN_BODY };

struct fuzz_validator {
    enum fuzz_vstate state;
    char line[FUZZ_LINE_MAX];
    size_t nline;
    uint64_t data_left;      /* value bytes + "\r\n" still to come */
    char data_tail[2];       /* last two data bytes seen */
    uint64_t bytes;          /* total seen, for messages */
    uint64_t messages;
};

/* First words a text reply line may start with. */
static const char *const fuzz_text_words[] = {
    "VALUE", "END", "STORED", "NOT_STORED", "EXISTS", "NOT_FOUND", "DELETED",
    "TOUCHED", "OK", "RESET", "ERROR", "ERROR:", "CLIENT_ERROR", "SERVER_ERROR",
    "STAT", "VERSION", "MEMLIMIT_TOO_SMALL", "MEMLIMIT_ADJUST_FAILED",
    /* meta commands */
    "HD", "VA", "EN", "NF", "NS", "EX", "MN", "ME",
};

static bool fuzz_all_digits(const char *p, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return false;
    return true;
}

/* Splits a reply line on single spaces (up to max words). */
static size_t fuzz_words(const char *p, size_t n, const char **w, size_t *wl, size_t max)
{
    size_t k = 0;
    size_t i = 0;
    while (i <= n && k < max) {
        size_t j = i;
        while (j < n && p[j] != ' ')
            j++;
        w[k] = p + i;
        wl[k] = j - i;
        k++;
        i = j + 1;
    }
    return k;
}

static uint64_t fuzz_parse_len(const char *p, size_t n, const char *line)
{
    if (!fuzz_all_digits(p, n) || n > 10)
        fuzz_fail("bad data length in reply line \"%s\"", line);
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (uint64_t)(p[i] - '0');
    return v;
}

#define FUZZ_WORDS_MAX 8

/* First words of the meta replies whose words are checked by fuzz_meta_words_printable. */
static const char *const fuzz_meta_codes[] = { "HD", "VA", "EN", "NF", "NS", "EX", "ME" };

static bool fuzz_word_is(const char *w, size_t wl, const char *const *set, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(set[i]) == wl && memcmp(set[i], w, wl) == 0)
            return true;
    return false;
}

/*
 * A meta reply line's words hold no control byte (bytes over 0x7f, as in
 * UTF-8 keys, are fine), but for an opaque (O) token, which comes back as
 * the client sent it: a key is echoed raw only when it holds none, else in
 * base64. A key written raw with its control bytes (a "\r\n" among them
 * splits the line where nothing else may) fails here whatever bytes follow.
 */
static void fuzz_meta_words_printable(const struct fuzz_validator *v)
{
    size_t i = 0;
    while (i < v->nline) {
        size_t j = i;
        while (j < v->nline && v->line[j] != ' ')
            j++;
        if (i > 0 && v->line[i] != 'O') {
            for (size_t k = i; k < j; k++) {
                unsigned char ch = (unsigned char)v->line[k];
                if (ch < '!' || ch == 0x7f)
                    fuzz_fail("meta reply with byte 0x%02x in a word: \"%s\" at byte %llu", ch,
                              v->line, (unsigned long long)v->bytes);
            }
        }
        i = j + 1;
    }
}

/* A complete text line (without "\r\n"), NUL-terminated in v->line. */
static void fuzz_text_line(struct fuzz_validator *v)
{
    const char *w[FUZZ_WORDS_MAX];
    size_t wl[FUZZ_WORDS_MAX];
    size_t nw = fuzz_words(v->line, v->nline, w, wl, FUZZ_WORDS_MAX);
    v->messages++;
    if (fuzz_all_digits(w[0], wl[0]) && nw == 1)
        return;   /* incr/decr result */
    bool known = fuzz_word_is(w[0], wl[0], fuzz_text_words,
                              sizeof(fuzz_text_words) / sizeof(fuzz_text_words[0]));
    if (known && fuzz_word_is(w[0], wl[0], fuzz_meta_codes,
                              sizeof(fuzz_meta_codes) / sizeof(fuzz_meta_codes[0])))
        fuzz_meta_words_printable(v);
    if (!known)
        fuzz_fail("reply line with unknown first word: \"%s\" at byte %llu", v->line,
                  (unsigned long long)v->bytes);
    if (wl[0] == 5 && memcmp(w[0], "VALUE", 5) == 0) {
        if (nw != 4 && nw != 5)
            fuzz_fail("VALUE line with %zu words: \"%s\"", nw, v->line);
        v->data_left = fuzz_parse_len(w[3], wl[3], v->line) + 2;
        v->state = FUZZ_V_DATA;
    } else if (wl[0] == 2 && memcmp(w[0], "VA", 2) == 0) {
        if (nw < 2)
            fuzz_fail("VA line without a length: \"%s\"", v->line);
        v->data_left = fuzz_parse_len(w[1], wl[1], v->line) + 2;
        v->state = FUZZ_V_DATA;
    }
}

static void fuzz_text_byte(struct fuzz_validator *v, char c)
{
    if (c == '\n') {
        if (v->nline == 0 || v->line[v->nline - 1] != '\r')
            fuzz_fail("reply line ends in a bare \\n at byte %llu", (unsigned long long)v->bytes);
        v->nline--;
        v->line[v->nline] = '\0';
        fuzz_text_line(v);
        v->nline = 0;
        return;
    }
    if (v->nline + 1 >= sizeof(v->line))
        fuzz_fail("reply line longer than %d bytes", FUZZ_LINE_MAX);
    v->line[v->nline++] = c;
}

static void fuzz_text_data(struct fuzz_validator *v, char c)
{
    v->data_tail[0] = v->data_tail[1];
    v->data_tail[1] = c;
    if (--v->data_left == 0) {
        if (v->data_tail[0] != '\r' || v->data_tail[1] != '\n')
            fuzz_fail("data block not followed by \\r\\n at byte %llu",
                      (unsigned long long)v->bytes);
        v->state = FUZZ_V_LINE;
    }
}

static uint32_t fuzz_be(const unsigned char *p, size_t n)
{
    uint32_t x = 0;
    for (size_t i = 0; i < n; i++)
        x = (x << 8) | p[i];
    return x;
}

static void fuzz_bin_header(struct fuzz_validator *v)
{
    const unsigned char *h = (const unsigned char *)v->line;
    if (h[0] != FUZZ_BIN_RESPONSE)
        fuzz_fail("binary response magic 0x%02x at byte %llu", h[0],
                  (unsigned long long)v->bytes);
    uint32_t keylen = fuzz_be(h + 2, 2);
    uint32_t extlen = h[4];
    uint32_t body = fuzz_be(h + 8, 4);
    if ((uint64_t)keylen + extlen > body)
        fuzz_fail("binary response: key %u + extras %u > body %u", keylen, extlen, body);
    v->messages++;
    v->nline = 0;
    v->data_left = body;
    v->state = body > 0 ? FUZZ_V_BIN_BODY : FUZZ_V_BIN_HEADER;
}

/* FUZZ_CONN_DUMP=1 in the environment: reply bytes go to stderr (debugging a seed). */
static bool fuzz_dump;

static void fuzz_validate(struct fuzz_validator *v, const char *p, size_t n, bool binary)
{
    if (fuzz_dump)
        fwrite(p, 1, n, stderr);
    for (size_t i = 0; i < n; i++, v->bytes++) {
        switch (v->state) {
        case FUZZ_V_LINE:
            if (binary) {
                v->state = FUZZ_V_BIN_HEADER;
                v->line[v->nline++] = p[i];
            } else {
                fuzz_text_byte(v, p[i]);
            }
            break;
        case FUZZ_V_DATA:
            fuzz_text_data(v, p[i]);
            break;
        case FUZZ_V_BIN_HEADER:
            v->line[v->nline++] = p[i];
            if (v->nline == FUZZ_BIN_HEADER)
                fuzz_bin_header(v);
            break;
        case FUZZ_V_BIN_BODY:
            if (--v->data_left == 0)
                v->state = FUZZ_V_BIN_HEADER;
            break;
        }
    }
}

static bool fuzz_at_boundary(const struct fuzz_validator *v)
{
    return (v->state == FUZZ_V_LINE || v->state == FUZZ_V_BIN_HEADER) && v->nline == 0;
}

/* ---------------------------------------------------------------- the server's side */

static bool fuzz_stats(void *arg, const char *group, struct stat_sink *sink)
{
    store *s = arg;
    char num[32];
    if (group[0] == '\0') {
        struct store_stats st;
        store_stats(s, &st);
        snprintf(num, sizeof(num), "%llu", (unsigned long long)st.curr_items);
        sink->emit(sink, "curr_items", num);
        snprintf(num, sizeof(num), "%llu", (unsigned long long)st.bytes);
        sink->emit(sink, "bytes", num);
        snprintf(num, sizeof(num), "%llu", (unsigned long long)st.evictions);
        sink->emit(sink, "evictions", num);
        return true;
    }
    if (strcmp(group, "slabs") == 0) {
        snprintf(num, sizeof(num), "%u", store_class_count(s));
        sink->emit(sink, "active_slabs", num);
        return true;
    }
    return false;
}

static void fuzz_stats_reset(void *arg) { (void)arg; }
static void fuzz_verbosity(void *arg, int level) { (void)arg; (void)level; }

/* The totals must be the sums of the per-class figures. */
static void fuzz_check_store(store *s)
{
    struct store_stats st;
    store_stats(s, &st);
    uint64_t items = 0, used = 0;
    for (unsigned c = 1; c <= store_class_count(s); c++) {
        struct store_class_stats cs;
        store_class_stats(s, c, &cs);
        FUZZ_CHECK(cs.used_chunks <= cs.total_chunks);
        FUZZ_CHECK(cs.curr_items <= cs.used_chunks);
        items += cs.curr_items;
        used += cs.chunk_bytes_used;
    }
    if (items != st.curr_items || used != st.chunk_bytes_used)
        fuzz_fail("store totals: curr_items %llu vs classes %llu, chunk_bytes_used %llu vs %llu",
                  (unsigned long long)st.curr_items, (unsigned long long)items,
                  (unsigned long long)st.chunk_bytes_used, (unsigned long long)used);
}

struct fuzz_conn {
    struct proto_conn pc;
    struct proto_env env;
    struct proto_counters ctr;
    struct reply *out;
    struct fuzz_validator val;
    int iov_max;
    size_t drain_step;       /* bytes taken per reply_consumed() call */
};

/* Sends up to `budget` reply bytes (SIZE_MAX: all), checking the iovecs. */
static void fuzz_drain(struct fuzz_conn *fc, size_t budget)
{
    struct iovec iov[FUZZ_IOV_MAX];
    bool binary = fc->pc.mode == PROTO_MODE_BINARY;
    while (budget > 0 && reply_pending(fc->out) > 0) {
        size_t pending = reply_pending(fc->out);
        int n = reply_iov(fc->out, iov, fc->iov_max);
        FUZZ_CHECK(n > 0 && n <= fc->iov_max);
        size_t total = 0;
        for (int i = 0; i < n; i++) {
            FUZZ_CHECK(iov[i].iov_len > 0);
            total += iov[i].iov_len;
        }
        FUZZ_CHECK(total <= pending);
        if ((size_t)n < (size_t)fc->iov_max)
            FUZZ_CHECK(total == pending);
        /* A short write: the kernel takes part of what was offered. */
        size_t take = total < fc->drain_step ? total : fc->drain_step;
        if (take > budget)
            take = budget;
        size_t left = take;
        for (int i = 0; i < n && left > 0; i++) {
            size_t k = iov[i].iov_len < left ? iov[i].iov_len : left;
            fuzz_validate(&fc->val, iov[i].iov_base, k, binary);
            left -= k;
        }
        reply_consumed(fc->out, take);
        FUZZ_CHECK(reply_pending(fc->out) == pending - take);
        budget -= take;
    }
}

/* The read buffer: only [start, end) is addressable to the protocol. */
struct fuzz_rbuf {
    char *mem;
    size_t cap, start, end;
};

static void fuzz_rbuf_expose(struct fuzz_rbuf *rb)
{
    ASAN_UNPOISON_MEMORY_REGION(rb->mem, rb->cap);
    ASAN_POISON_MEMORY_REGION(rb->mem, rb->start);
    ASAN_POISON_MEMORY_REGION(rb->mem + rb->end, rb->cap - rb->end);
}

/* A turn opens as server/conn.c opens one: the gets and sets the buffer
 * starts with scanned ahead, then their read-ahead stepped. */
static void fuzz_turn_open(struct fuzz_conn *fc, struct fuzz_rbuf *rb)
{
    proto_batch_begin(&fc->pc, FUZZ_TURN_REQUESTS);
    fuzz_rbuf_expose(rb);
    proto_batch_scan_ahead(&fc->pc, rb->mem + rb->start, rb->end - rb->start);
    proto_batch_prefetch_step(&fc->pc);
    proto_batch_prefetch_rest(&fc->pc);
}

/* Runs proto_process over the pending bytes until it wants more; a new turn
 * every FUZZ_TURN_REQUESTS requests (conn_process and its -R). */
static bool fuzz_process_turns(struct fuzz_conn *fc, struct fuzz_rbuf *rb)
{
    unsigned in_turn = 0;
    while (rb->end > rb->start) {
        size_t len = rb->end - rb->start;
        enum proto_action action = PROTO_CONTINUE;
        size_t need = 0;
        fuzz_rbuf_expose(rb);
        size_t used = proto_process(&fc->pc, rb->mem + rb->start, len, fc->out, &action, &need);
        FUZZ_CHECK(used <= len);
        if (used == 0) {
            if (need != 0 && need <= len)
                fuzz_fail("proto_process wants %zu bytes but had %zu and took none", need, len);
            if (need > len + PROTO_BLOCK_BUFFERED_MAX + PROTO_NEED_HEAD_MAX)
                fuzz_fail("proto_process wants %zu bytes, a value it should read into its item",
                          need);
            FUZZ_CHECK(action == PROTO_CONTINUE);
            return true;
        }
        rb->start += used;
        if (action != PROTO_CONTINUE)
            return false;
        if (++in_turn == FUZZ_TURN_REQUESTS) {
            proto_batch_end(&fc->pc);
            fuzz_turn_open(fc, rb);
            in_turn = 0;
        }
    }
    return true;
}

/*
 * The pending bytes of one read, processed within turns with the batch open
 * as server/conn.c does, so the batched gets of protocol/batch.c are fuzzed
 * too (the buffer does not move until the next read).
 */
static bool fuzz_process(struct fuzz_conn *fc, struct fuzz_rbuf *rb)
{
    fuzz_turn_open(fc, rb);
    bool go_on = fuzz_process_turns(fc, rb);
    proto_batch_end(&fc->pc);
    return go_on;
}

static store *fuzz_store;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    clock_init();
    fuzz_dump = getenv("FUZZ_CONN_DUMP") != NULL;
    return 0;
}

static store *fuzz_store_new(void)
{
    struct store_config cfg;
    store_config_defaults(&cfg);
    cfg.mem_limit = FUZZ_MEM_LIMIT;
    cfg.page_size = FUZZ_PAGE_SIZE;
    cfg.hash_power = FUZZ_HASH_POWER;
    char err[256];
    store *s = store_create(&cfg, err, sizeof(err));
    if (s == NULL)
        fuzz_fail("store_create: %s", err);
    return s;
}

static void fuzz_conn_open(struct fuzz_conn *fc, store *s, uint8_t control)
{
    memset(fc, 0, sizeof(*fc));
    fc->env.store = s;
    fc->env.shutdown_enabled = true;
#ifdef FUZZ_BINARY
    fc->env.mode = PROTO_MODE_BINARY;
#else
    fc->env.mode = PROTO_MODE_AUTO;
#endif
    fc->env.stats = fuzz_stats;
    fc->env.stats_reset = fuzz_stats_reset;
    fc->env.set_verbosity = fuzz_verbosity;
    fc->env.arg = s;
    proto_conn_init(&fc->pc, &fc->env, &fc->ctr);
    fc->out = reply_new(s);
    fc->iov_max = fuzz_iov_counts[(control >> FUZZ_IOV_SHIFT) & FUZZ_IOV_MASK];
}

#ifdef FUZZ_META
static const char *const fuzz_meta_words[] = { "mg ", "ms ", "md ", "ma ", "mn", "me " };
#define FUZZ_META_WORDS (sizeof(fuzz_meta_words) / sizeof(fuzz_meta_words[0]))
#define FUZZ_META_WORD_MAX 3
#define FUZZ_META_VERBATIM '='

/* Rewrites body so that each line starts with a meta word (see the top). */
static uint8_t *fuzz_meta_expand(const uint8_t *body, size_t nbody, size_t *nout)
{
    uint8_t *out = malloc(nbody * FUZZ_META_WORD_MAX + 1);
    FUZZ_CHECK(out != NULL);
    size_t o = 0;
    bool line_start = true;
    for (size_t i = 0; i < nbody; i++) {
        if (line_start) {
            if (body[i] != FUZZ_META_VERBATIM) {
                const char *w = fuzz_meta_words[body[i] % FUZZ_META_WORDS];
                memcpy(out + o, w, strlen(w));
                o += strlen(w);
            }
            line_start = false;
            continue;   /* the selector byte itself is not sent */
        }
        out[o++] = body[i];
        line_start = body[i] == '\n';
    }
    *nout = o;
    return out;
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t control = data[0];
    size_t k = control & FUZZ_READ_SIZES_MASK;
    if (size < 1 + k)
        return 0;
    const uint8_t *sizes = data + 1;
    const uint8_t *body = data + 1 + k;
    size_t nbody = size - 1 - k;
#ifdef FUZZ_META
    uint8_t *expanded = fuzz_meta_expand(body, nbody, &nbody);
    body = expanded;
#endif
    bool slow = (control & FUZZ_SLOW_READER) != 0;
    unsigned tick = control >> FUZZ_CLOCK_SHIFT;

    fuzz_store = fuzz_store_new();
    struct fuzz_conn *fc = calloc(1, sizeof(*fc));
    FUZZ_CHECK(fc != NULL);
    fuzz_conn_open(fc, fuzz_store, control);
    fc->drain_step = k > 0 ? (size_t)sizes[0] * 7 + 1 : SIZE_MAX;

    struct fuzz_rbuf rb = { malloc(nbody > 0 ? nbody : 1), nbody, 0, 0 };
    FUZZ_CHECK(rb.mem != NULL);
    memcpy(rb.mem, body, nbody);

    bool open = true;
    unsigned moved = 0;
    for (size_t r = 0; open && rb.end < nbody; r++) {
        size_t chunk = k > 0 ? (size_t)sizes[r % k] + 1 : nbody;
        if (chunk > nbody - rb.end)
            chunk = nbody - rb.end;
        rb.end += chunk;
        open = fuzz_process(fc, &rb);
        fuzz_drain(fc, slow ? reply_pending(fc->out) / 2 : SIZE_MAX);
        if (tick > 0 && moved + tick <= FUZZ_CLOCK_MAX) {
            clock_advance(tick);
            moved += tick;
        }
    }
    ASAN_UNPOISON_MEMORY_REGION(rb.mem, rb.cap);

    /* Closing: a slow reader gone away drops its reply; else it reads it all. */
    if (slow) {
        reply_clear(fc->out);
    } else {
        fuzz_drain(fc, SIZE_MAX);
        if (!fuzz_at_boundary(&fc->val))
            fuzz_fail("reply stream ends inside a message (%llu bytes, %llu messages)",
                      (unsigned long long)fc->val.bytes, (unsigned long long)fc->val.messages);
    }
    FUZZ_CHECK(reply_pending(fc->out) == 0);
    /* As the server closes it: a value still being read hands its item back. */
    proto_conn_reset(&fc->pc);
    if (fuzz_held.n != 0)
        fuzz_fail("%zu item reference(s) still held after the connection closed", fuzz_held.n);
    reply_free(fc->out);
    fuzz_check_store(fuzz_store);

    free(rb.mem);
#ifdef FUZZ_META
    free(expanded);
#endif
    free(fc);
    store_destroy(fuzz_store);
    fuzz_store = NULL;
    return 0;
}
