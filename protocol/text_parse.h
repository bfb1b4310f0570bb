/*
 * text_parse: the lexical layer of the text protocol, kept apart from the
 * command handlers so it can be tested and fuzzed on its own.
 *
 * Everything works in place on the connection's read buffer: a line is a
 * pointer and a length, a token a pointer and a length into it, nothing is
 * copied or NUL-terminated. Numbers are parsed by hand with overflow checks
 * (no strtoul: it needs a terminator, skips whitespace and accepts signs
 * where memcached's callers then have to undo that).
 */
#ifndef PROTOCOL_TEXT_PARSE_H
#define PROTOCOL_TEXT_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Fixed tokens any command takes (cas: 6, + noreply) and one to spot extras. */
#define TEXT_TOKENS_MAX 8
#define TEXT_CRLF_LEN 2            /* the "\r\n" after a data block */

struct text_token {
    const char *p;
    size_t len;
};

struct text_line {
    const char *start;   /* first byte of the line */
    const char *end;     /* end of its content: before "\r\n" or "\n" */
    size_t consumed;     /* bytes up to and including '\n' */
};

/* The line from buf to its '\n' at nl (found before). */
void text_line_at(const char *buf, const char *nl, struct text_line *line);
/* Finds the first line in buf[0..len): false when it has no '\n' yet. */
bool text_line_find(const char *buf, size_t len, struct text_line *line);

/*
 * Takes up to max space-separated tokens from [*pos, end), moving *pos past
 * the last one taken. Returns how many it took.
 */
size_t text_tokenize(const char **pos, const char *end, struct text_token *tok, size_t max);

/* Moves p past spaces; returns end when only spaces remain. */
/*
 * The first space in [p, end), or end: eight bytes at a time, not memchr,
 * as tokens are keys and numbers of a few to a few dozen bytes, shorter than
 * what a library call costs to set up (issue 17). A word's bytes that equal
 * ' ' become zero in w ^ spaces; (x - ones) & ~x & highs marks the first zero
 * byte exactly (a borrow only marks bytes after a true zero), found in
 * memory order by counting trailing (little-endian) or leading zero bits.
 */
#define TEXT_WORD_ONES 0x0101010101010101ull
#define TEXT_WORD_HIGHS 0x8080808080808080ull
#define TEXT_WORD_SPACES (TEXT_WORD_ONES * (unsigned char)' ')
#define TEXT_BYTE_BITS 8

static inline const char *text_find_space(const char *p, const char *end)
{
    while ((size_t)(end - p) >= sizeof(uint64_t)) {
        uint64_t w;
        memcpy(&w, p, sizeof(w));
        uint64_t x = w ^ TEXT_WORD_SPACES;
        uint64_t zero = (x - TEXT_WORD_ONES) & ~x & TEXT_WORD_HIGHS;
        if (zero != 0) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
            return p + (unsigned)__builtin_clzll(zero) / TEXT_BYTE_BITS;
#else
            return p + (unsigned)__builtin_ctzll(zero) / TEXT_BYTE_BITS;
#endif
        }
        p += sizeof(w);
    }
    while (p < end && *p != ' ')
        p++;
    return p;
}

/* A token ends at a space or at end: when more are wanted, the search for
 * the next one starts past that space, already known to be one. */
const char *text_skip_spaces(const char *p, const char *end);

/* True when t is exactly the literal lit (a string literal or NUL-terminated).
 * Inline so that a literal's strlen folds to a constant (the noreply test
 * of every storage line). */
static inline bool text_token_is(const struct text_token *t, const char *lit)
{
    size_t n = strlen(lit);
    return t->len == n && memcmp(t->p, lit, n) == 0;
}

/* Decimal numbers: an optional '+' (and '-' for signed), then 1+ digits. */
bool text_parse_u64(const struct text_token *t, uint64_t *out);
bool text_parse_u32(const struct text_token *t, uint32_t *out);
bool text_parse_i64(const struct text_token *t, int64_t *out);

#endif
