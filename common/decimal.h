/*
 * decimal: an unsigned 64-bit number written in decimal, the one way the
 * protocols (VALUE lines, meta flags, incr results) and the store (counters
 * kept as digits) write numbers.
 *
 * On the get and set paths, so by hand: no snprintf, no locale. The length
 * is found first by comparing with powers of ten, then the digits are
 * written from the end, two per division by means of a table of pairs.
 * Writes no terminating NUL.
 */
#ifndef COMMON_DECIMAL_H
#define COMMON_DECIMAL_H

#include <stddef.h>
#include <stdint.h>

/* Digits of UINT64_MAX: the room decimal_u64() may write. */
#define DECIMAL_U64_MAX 20

#define DECIMAL_BASE 10u
#define DECIMAL_PAIR_BASE 100u

/* "00" "01" ... "99": the two digits of n at [2n], [2n + 1]. */
#define DECIMAL_ROW(t) t "0" t "1" t "2" t "3" t "4" t "5" t "6" t "7" t "8" t "9"
#define DECIMAL_PAIRS DECIMAL_ROW("0") DECIMAL_ROW("1") DECIMAL_ROW("2") DECIMAL_ROW("3") \
    DECIMAL_ROW("4") DECIMAL_ROW("5") DECIMAL_ROW("6") DECIMAL_ROW("7") DECIMAL_ROW("8") \
    DECIMAL_ROW("9")

/*
 * How many digits v has (1 for 0), without a loop: bits * 1233 / 4096
 * (1233 / 4096 just above log10(2)) is the digit count of the smallest
 * number of that bit length, or one less; one comparison with a power of
 * ten settles which. powers[t] is 10^t, but 0 for t = 0 so that 0 counts 1.
 */
#define DECIMAL_LOG10_2_NUM 1233u
#define DECIMAL_LOG10_2_SHIFT 12

static inline size_t decimal_u64_len(uint64_t v)
{
    static const uint64_t powers[DECIMAL_U64_MAX] = {
        0, 10u, 100u, 1000u, 10000u, 100000u, 1000000u, 10000000u, 100000000u,
        1000000000u, 10000000000u, 100000000000u, 1000000000000u, 10000000000000u,
        100000000000000u, 1000000000000000u, 10000000000000000u, 100000000000000000u,
        1000000000000000000u, 10000000000000000000u,
    };
    unsigned bits = 64u - (unsigned)__builtin_clzll(v | 1u);
    size_t t = (bits * DECIMAL_LOG10_2_NUM) >> DECIMAL_LOG10_2_SHIFT;
    return t + (v >= powers[t]);
}

/* Writes v in decimal at out (room for DECIMAL_U64_MAX); returns the length. */
static inline size_t decimal_u64(char *out, uint64_t v)
{
    static const char pairs[] = DECIMAL_PAIRS;
    size_t n = decimal_u64_len(v);
    char *p = out + n;
    while (v >= DECIMAL_PAIR_BASE) {
        size_t i = (size_t)(v % DECIMAL_PAIR_BASE) * 2;
        v /= DECIMAL_PAIR_BASE;
        *--p = pairs[i + 1];
        *--p = pairs[i];
    }
    if (v >= DECIMAL_BASE) {
        *--p = pairs[v * 2 + 1];
        *--p = pairs[v * 2];
    } else {
        *--p = (char)('0' + v);
    }
    return n;
}

#endif
