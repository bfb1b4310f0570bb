/*
 * fuzz_text_parse: libFuzzer target for the text protocol's lexical layer
 * (protocol/text_parse.h) on arbitrary bytes.
 *
 * The input is copied into a buffer of exactly its size, so AddressSanitizer
 * sees any read past the end. It is cut into lines with text_line_find() and
 * each line into tokens with text_tokenize() (with a varying token budget, as
 * the command handlers use); every result is checked against what the header
 * promises. Each token is also parsed as a number and the answer compared
 * with an independent oracle built on strtoull/strtoll, so a wrong value or a
 * missed overflow is a crash, not just a memory error.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/text_parse.h"

/* Token budgets tried per line: 1 and TEXT_TOKENS_MAX, as the handlers do. */
#define FUZZ_TOKEN_BUDGET_SMALL 1

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                    \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "fuzz_text_parse: check failed: %s (%s:%d)\n", \
                    #cond, __FILE__, __LINE__);                             \
            abort();                                                        \
        }                                                                   \
    } while (0)

/* The oracle's notion of a number: [sign] digits, nothing else. */
static bool fuzz_digits_only(const char *p, size_t n, bool allow_minus)
{
    size_t i = 0;
    if (i < n && (p[i] == '+' || (allow_minus && p[i] == '-')))
        i++;
    if (i == n)
        return false;
    for (; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return false;
    return true;
}

static void fuzz_check_numbers(const struct text_token *t)
{
    uint64_t u64 = 0;
    uint32_t u32 = 0;
    int64_t i64 = 0;
    bool ok_u64 = text_parse_u64(t, &u64);
    bool ok_u32 = text_parse_u32(t, &u32);
    bool ok_i64 = text_parse_i64(t, &i64);

    /* NUL-terminated copy for the libc oracle. */
    char *tmp = malloc(t->len + 1);
    FUZZ_CHECK(tmp != NULL);
    memcpy(tmp, t->p, t->len);
    tmp[t->len] = '\0';

    bool unsigned_syntax = fuzz_digits_only(tmp, t->len, false);
    errno = 0;
    unsigned long long want_u = unsigned_syntax ? strtoull(tmp, NULL, 10) : 0;
    bool want_ok_u64 = unsigned_syntax && errno != ERANGE;
    FUZZ_CHECK(ok_u64 == want_ok_u64);
    if (ok_u64)
        FUZZ_CHECK(u64 == want_u);
    FUZZ_CHECK(ok_u32 == (want_ok_u64 && want_u <= UINT32_MAX));
    if (ok_u32)
        FUZZ_CHECK(u32 == want_u);

    bool signed_syntax = fuzz_digits_only(tmp, t->len, true);
    errno = 0;
    long long want_i = signed_syntax ? strtoll(tmp, NULL, 10) : 0;
    bool want_ok_i64 = signed_syntax && errno != ERANGE;
    FUZZ_CHECK(ok_i64 == want_ok_i64);
    if (ok_i64)
        FUZZ_CHECK(i64 == want_i);
    free(tmp);
}

/* Tokenizes [start, end) with budget max and checks every token. */
static void fuzz_check_tokens(const char *start, const char *end, size_t max)
{
    struct text_token tok[TEXT_TOKENS_MAX];
    const char *pos = start;
    size_t n = text_tokenize(&pos, end, tok, max);
    FUZZ_CHECK(n <= max);
    FUZZ_CHECK(pos >= start && pos <= end);
    const char *prev_end = start;
    for (size_t i = 0; i < n; i++) {
        FUZZ_CHECK(tok[i].len > 0);
        FUZZ_CHECK(tok[i].p >= prev_end && tok[i].p + tok[i].len <= end);
        FUZZ_CHECK(memchr(tok[i].p, ' ', tok[i].len) == NULL);
        /* Tokens are maximal: bounded by a space or the line's end. */
        FUZZ_CHECK(tok[i].p == start || tok[i].p[-1] == ' ');
        FUZZ_CHECK(tok[i].p + tok[i].len == end || tok[i].p[tok[i].len] == ' ');
        /* Between tokens only spaces. */
        for (const char *q = prev_end; q < tok[i].p; q++)
            FUZZ_CHECK(*q == ' ');
        FUZZ_CHECK(text_token_is(&tok[i], "get") ==
                   (tok[i].len == 3 && memcmp(tok[i].p, "get", 3) == 0));
        fuzz_check_numbers(&tok[i]);
        prev_end = tok[i].p + tok[i].len;
    }
    /* A full budget stops right after the last token; otherwise at the end. */
    FUZZ_CHECK(n == max ? pos == prev_end : pos == end);
}

static void fuzz_check_line(const char *buf, size_t len, const struct text_line *line)
{
    FUZZ_CHECK(line->start == buf);
    FUZZ_CHECK(line->consumed >= 1 && line->consumed <= len);
    FUZZ_CHECK(buf[line->consumed - 1] == '\n');
    FUZZ_CHECK(memchr(buf, '\n', line->consumed - 1) == NULL);
    size_t content = (size_t)(line->end - line->start);
    bool has_cr = line->consumed >= 2 && buf[line->consumed - 2] == '\r';
    FUZZ_CHECK(content == line->consumed - 1 - (has_cr ? 1 : 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Exact-size copy (malloc(0) may be NULL: keep one byte then). */
    char *buf = malloc(size > 0 ? size : 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);

    const char *p = buf;
    size_t left = size;
    struct text_line line;
    while (text_line_find(p, left, &line)) {
        fuzz_check_line(p, left, &line);
        fuzz_check_tokens(line.start, line.end, FUZZ_TOKEN_BUDGET_SMALL);
        fuzz_check_tokens(line.start, line.end, TEXT_TOKENS_MAX);
        p += line.consumed;
        left -= line.consumed;
    }
    FUZZ_CHECK(memchr(p, '\n', left) == NULL);
    /* The unterminated tail is tokenized too, as long get lines are. */
    fuzz_check_tokens(p, p + left, TEXT_TOKENS_MAX);
    const char *skipped = text_skip_spaces(p, p + left);
    FUZZ_CHECK(skipped >= p && skipped <= p + left);
    FUZZ_CHECK(skipped == p + left || *skipped != ' ');
    free(buf);
    return 0;
}
