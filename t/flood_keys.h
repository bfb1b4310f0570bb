/*
 * flood_keys: the attacker's model of slabcache's key hash before issue 11,
 * for the hash-flooding tests (t/unit/check_assoc, t/stress/test_hostile).
 *
 * Until then the store hashed keys with its own fixed-seed mix, so anyone
 * could search offline for keys that share a bucket. flood_old_hash() is a
 * copy of that mix, kept here only as what an attacker would run; the store
 * now uses seeded xxh3 (slabs/assoc.c). flood_keys_find() brute-forces keys
 * "flood:%012llu" whose old hash has the same low `bits` bits: 16 bits, the
 * server's default hash power, put them all in one chain of the old table.
 */
#ifndef T_FLOOD_KEYS_H
#define T_FLOOD_KEYS_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define FLOOD_KEY_LEN 18                     /* "flood:" and 12 digits */
#define FLOOD_KEY_FMT "flood:%012llu"
#define FLOOD_OLD_SEED 0x9e3779b97f4a7c15ull
#define FLOOD_OLD_M1 0xff51afd7ed558ccdull
#define FLOOD_OLD_M2 0xc4ceb9fe1a85ec53ull
#define FLOOD_OLD_K1 0x87c37b91114253d5ull
#define FLOOD_OLD_K2 0x4cf5ad432745937full
#define FLOOD_OLD_ADD 0x52dce729u

static inline uint64_t flood_rotl(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

static inline uint64_t flood_old_word(uint64_t h, uint64_t k)
{
    k *= FLOOD_OLD_K1;
    k = flood_rotl(k, 31);
    k *= FLOOD_OLD_K2;
    h ^= k;
    h = flood_rotl(h, 27);
    return h * 5 + FLOOD_OLD_ADD;
}

/* The old hash's state after key's whole 8-byte words. */
static inline uint64_t flood_old_words(const char *key, size_t nkey)
{
    uint64_t h = FLOOD_OLD_SEED ^ (nkey * FLOOD_OLD_M2);
    for (size_t i = 0; i + 8 <= nkey; i += 8) {
        uint64_t k;
        memcpy(&k, key + i, sizeof(k));
        h = flood_old_word(h, k);
    }
    return h;
}

/* The rest of the old hash from that state: the zero-padded tail, fmix64. */
static inline uint64_t flood_old_finish(uint64_t h, const char *key, size_t nkey)
{
    const unsigned char *p = (const unsigned char *)key;
    uint64_t tail = 0;
    for (size_t i = nkey & ~(size_t)7, j = 0; i + j < nkey; j++)
        tail |= (uint64_t)p[i + j] << (8 * j);
    h = flood_old_word(h, tail);
    h ^= nkey;
    h ^= h >> 33;
    h *= FLOOD_OLD_M1;
    h ^= h >> 33;
    h *= FLOOD_OLD_M2;
    h ^= h >> 33;
    return h;
}

/* The old store's hash of key. */
static inline uint64_t flood_old_hash(const char *key, size_t nkey)
{
    return flood_old_finish(flood_old_words(key, nkey), key, nkey);
}

/* Adds one to the key's decimal counter; returns the first digit changed. */
static inline size_t flood_key_next(char *key)
{
    size_t i = FLOOD_KEY_LEN - 1;
    while (key[i] == '9')
        key[i--] = '0';
    key[i]++;
    return i;
}

/*
 * Fills keys[0..n-1] (each FLOOD_KEY_LEN + 1 bytes) with the first n keys
 * FLOOD_KEY_FMT whose old hash has the low `bits` bits of the first one: a
 * plain search of about n * 2^bits keys. Keys differ mostly in their tail,
 * so the state after the whole words is reused until a digit in them moves.
 */
static inline void flood_keys_find(char (*keys)[FLOOD_KEY_LEN + 1], size_t n, unsigned bits)
{
    const size_t tail_at = FLOOD_KEY_LEN & ~(size_t)7;
    uint64_t mask = ((uint64_t)1 << bits) - 1, want = 0;
    char key[FLOOD_KEY_LEN + 1];
    snprintf(key, sizeof(key), FLOOD_KEY_FMT, 0ULL);
    uint64_t words = flood_old_words(key, FLOOD_KEY_LEN);
    for (size_t found = 0; found < n;) {
        uint64_t low = flood_old_finish(words, key, FLOOD_KEY_LEN) & mask;
        if (found == 0)
            want = low;
        if (low == want)
            memcpy(keys[found++], key, sizeof(key));
        if (flood_key_next(key) < tail_at)
            words = flood_old_words(key, FLOOD_KEY_LEN);
    }
}

#endif
