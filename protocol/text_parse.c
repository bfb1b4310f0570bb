/*
 * text_parse: lines, tokens and numbers of the text protocol (see
 * text_parse.h). One pass over the bytes, no copies, no allocation.
 *
 * Separators are single spaces only, as in memcached: a tab or a lone '\r'
 * is part of a token. A line ends at '\n'; one '\r' right before it is
 * dropped.
 */
#include <string.h>

#include "protocol/text_parse.h"

void text_line_at(const char *buf, const char *nl, struct text_line *line)
{
    line->start = buf;
    line->end = (nl > buf && nl[-1] == '\r') ? nl - 1 : nl;
    line->consumed = (size_t)(nl - buf) + 1;
}

bool text_line_find(const char *buf, size_t len, struct text_line *line)
{
    const char *nl = memchr(buf, '\n', len);
    if (nl == NULL)
        return false;
    text_line_at(buf, nl, line);
    return true;
}

const char *text_skip_spaces(const char *p, const char *end)
{
    while (p < end && *p == ' ')
        p++;
    return p;
}

size_t text_tokenize(const char **pos, const char *end, struct text_token *tok, size_t max)
{
    const char *p = *pos;
    size_t n = 0;
    while (n < max) {
        while (p < end && *p == ' ')
            p++;
        if (p == end)
            break;
        const char *stop = text_find_space(p, end);
        tok[n].p = p;
        tok[n].len = (size_t)(stop - p);
        if (++n == max || stop == end) {
            p = stop;
            break;
        }
        p = stop + 1;
    }
    *pos = p;
    return n;
}

/* Digits that fit in a uint64_t whatever they are (10^19 - 1 < 2^64). */
#define TEXT_DIGITS_SAFE 19

/* Up to TEXT_DIGITS_SAFE digits: no overflow is possible, one check a digit. */
static inline bool text_digits_short(const char *p, const char *end, uint64_t *out)
{
    uint64_t v = 0;
    for (; p < end; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (d > 9)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

/* Longer runs (leading zeros, or too large): checked for overflow at each digit. */
static bool text_digits_long(const char *p, const char *end, uint64_t *out)
{
    uint64_t v = 0;
    for (; p < end; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (d > 9 || v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

/*
 * Digits of [p, end) into *out; false on no digit, a non-digit or overflow.
 * Inline, the common short run in its caller's registers (issue 17: a
 * set parses three numbers): only long runs take a call.
 */
static inline bool text_digits(const char *p, const char *end, uint64_t *out)
{
    size_t n = (size_t)(end - p);
    if (n == 0)
        return false;
    return n <= TEXT_DIGITS_SAFE ? text_digits_short(p, end, out)
                                 : text_digits_long(p, end, out);
}

bool text_parse_u64(const struct text_token *t, uint64_t *out)
{
    const char *p = t->p, *end = t->p + t->len;
    if (p < end && *p == '+')
        p++;
    return text_digits(p, end, out);
}

bool text_parse_u32(const struct text_token *t, uint32_t *out)
{
    uint64_t v;
    if (!text_parse_u64(t, &v) || v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

bool text_parse_i64(const struct text_token *t, int64_t *out)
{
    const char *p = t->p, *end = t->p + t->len;
    bool neg = false;
    if (p < end && (*p == '-' || *p == '+')) {
        neg = *p == '-';
        p++;
    }
    uint64_t v;
    if (!text_digits(p, end, &v))
        return false;
    if (neg) {
        if (v > (uint64_t)INT64_MAX + 1)
            return false;
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    } else {
        if (v > INT64_MAX)
            return false;
        *out = (int64_t)v;
    }
    return true;
}
