/*
 * check_warm: warm restart (-e, slabs/restart.c) in one process: a store
 * saved with store_save and created again on the same memory file gets back
 * every live item (plain and chained) with its value, flags, CAS and TTL,
 * the same per-class accounting, a CAS counter that goes on from where it
 * was, and keeps working (stores, evictions, page moves, a second save).
 * Dead items stay dead. A file written with other settings, with a flipped
 * byte in its metadata or its item memory, truncated, or never saved (a
 * crash) is not resumed: the store starts empty and says why. A file that
 * cannot be given its size, or is in use by another store, fails cleanly.
 */
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "slabs/internal.h"   /* slab_live_first: the retuned table */
#include "t/unit/fixture.h"

#define MB (1024u * 1024u)
#define MEM (8u * MB)
#define NKEYS 500
#define TTL_SHORT 100          /* seconds: keys with i % 3 == 1 */
#define CHAIN_LEN (700u * 1024u)   /* above slab_chunk_max (512 KB): a chain */
#define CHAIN_KEY "chained"
#define MARK "UNIQUE-VALUE-MARK"
#define NOTE_MAX 256
#define MOVE_KEYS 40               /* of MOVE_VALUE bytes: about 4 pages of one class */
#define MOVE_VALUE (100 * 1024)
#define MOVE_WAIT_MS 10000         /* a move of one page takes ms; sanitizers slow it */
#define MOVE_POLL_MS 10
/* A byte of the saved -m in the file's header (magic, version, class
 * count, two checksums come first: slabs/restart.c's struct warm_meta). */
#define META_SETTINGS_BYTE 32
#define RETUNE_KEYS 20000          /* of RETUNE_VALUE bytes: the advisor has a table */
#define RETUNE_VALUE 20

static char path[64];

struct kept {
    uint64_t cas;
    uint32_t flags;
    rel_time_t exptime;
};
static struct kept kept[NKEYS + 1];

static struct store_config config(uint64_t mem)
{
    struct store_config c;
    store_config_defaults(&c);
    c.mem_limit = mem;
    c.hash_power = 8;
    c.memory_file = path;
    return c;
}

static store *open_store(uint64_t mem)
{
    struct store_config c = config(mem);
    return fx_store_create(&c);
}

static void setup(void)
{
    clock_init();
    snprintf(path, sizeof(path), "/tmp/check_warm.XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
}

static void teardown(void)
{
    unlink(path);
}

static void key_of(char *buf, size_t len, int i)
{
    snprintf(buf, len, "key:%d", i);
}

static void value_of(char *buf, size_t len, int i)
{
    snprintf(buf, len, "value %d %s", i, i == 7 ? MARK : "");
}

static void put(store *s, const char *key, const char *val, size_t nval, uint32_t flags,
                int64_t ttl, struct kept *out)
{
    enum store_result why;
    item *it = store_item_alloc(s, key, strlen(key), flags, ttl, nval, &why);
    ck_assert_msg(it != NULL, "alloc %s: %d", key, why);
    item_value_write(s, it, 0, val, nval);
    uint64_t cas = 0;
    ck_assert_int_eq(store_commit(s, it, STORE_SET, 0, &cas), STORE_OK);
    if (out != NULL) {
        item *got = store_get(s, key, strlen(key), NULL);
        out->cas = item_cas(got);
        out->flags = flags;
        out->exptime = item_exptime(got);
        ck_assert_uint_eq(out->cas, cas);
        store_release(s, got);
    }
}

static char *chain_value(void)
{
    char *v = malloc(CHAIN_LEN);
    ck_assert_ptr_nonnull(v);
    for (size_t i = 0; i < CHAIN_LEN; i++)
        v[i] = (char)(i * 31u + i / 997u);
    return v;
}

/* NKEYS plain keys (a third with a TTL, flags on most), one chain, and a
 * deleted key. */
static void fill(store *s)
{
    char key[32], val[64];
    for (int i = 0; i < NKEYS; i++) {
        key_of(key, sizeof(key), i);
        value_of(val, sizeof(val), i);
        put(s, key, val, strlen(val), (uint32_t)i * 7u, i % 3 == 1 ? TTL_SHORT : 0, &kept[i]);
    }
    char *v = chain_value();
    put(s, CHAIN_KEY, v, CHAIN_LEN, 0xdeadbeef, 0, &kept[NKEYS]);
    free(v);
    put(s, "gone", "x", 1, 0, 0, NULL);
    ck_assert_int_eq(store_delete(s, "gone", 4, 0, NULL), STORE_OK);
}

static void expect_item(store *s, const char *key, const struct kept *k, const char *val,
                        size_t nval)
{
    item *it = store_get(s, key, strlen(key), NULL);
    ck_assert_msg(it != NULL, "%s lost", key);
    ck_assert_uint_eq(item_nvalue(it), nval);
    ck_assert_uint_eq(item_flags(it), k->flags);
    ck_assert_uint_eq(item_cas(it), k->cas);
    ck_assert_uint_eq(item_exptime(it), k->exptime);
    char *got = malloc(nval);
    item_value_read(s, it, 0, got, nval);
    ck_assert_msg(memcmp(got, val, nval) == 0, "%s: value differs", key);
    free(got);
    store_release(s, it);
}

static void expect_all(store *s)
{
    char key[32], val[64];
    for (int i = 0; i < NKEYS; i++) {
        key_of(key, sizeof(key), i);
        value_of(val, sizeof(val), i);
        expect_item(s, key, &kept[i], val, strlen(val));
    }
    char *v = chain_value();
    expect_item(s, CHAIN_KEY, &kept[NKEYS], v, CHAIN_LEN);
    free(v);
    ck_assert_ptr_null(store_get(s, "gone", 4, NULL));
}

static enum store_warm status(store *s, char *note)
{
    return store_warm_status(s, note, NOTE_MAX);
}

static void save_and_close(store *s)
{
    char err[FX_ERR_MAX];
    ck_assert_msg(store_save(s, err, sizeof(err)) == 0, "%s", err);
    store_destroy(s);
}

/* The per-class figures a resume must rebuild exactly. */
static void class_figures(store *s, uint64_t *out)
{
    unsigned n = store_class_count(s);
    for (unsigned c = 1; c <= n; c++) {
        struct store_class_stats cs;
        store_class_stats(s, c, &cs);
        out[3 * c] = cs.curr_items;
        out[3 * c + 1] = cs.used_chunks;
        out[3 * c + 2] = cs.mem_requested;
    }
}

static void saved_file(void)
{
    store *s = open_store(MEM);
    fill(s);
    save_and_close(s);
}

/* A store resumed from saved_file with its background threads running. */
static store *resume_running(void)
{
    saved_file();
    store *s = open_store(MEM);
    char err[FX_ERR_MAX];
    ck_assert_int_eq(store_start_background(s, err, sizeof(err)), 0);
    return s;
}

START_TEST(test_items_survive)
{
    store *s = open_store(MEM);
    char note[NOTE_MAX];
    ck_assert_int_eq(status(s, note), STORE_WARM_NEW);
    fill(s);
    static uint64_t before[3 * 256], after[3 * 256];
    class_figures(s, before);
    save_and_close(s);

    s = open_store(MEM);
    ck_assert_msg(status(s, note) == STORE_WARM_RESUMED, "%s", note);
    ck_assert_ptr_nonnull(strstr(note, "resumed 501 of 501 items"));
    class_figures(s, after);
    ck_assert(memcmp(before, after, sizeof(before)) == 0);
    expect_all(s);
    /* the CAS counter goes on: a new store gets a CAS above every old one */
    struct kept fresh;
    put(s, "new", "n", 1, 0, 0, &fresh);
    for (int i = 0; i <= NKEYS; i++)
        ck_assert_uint_gt(fresh.cas, kept[i].cas);
    /* TTLs run on: the short ones expire at their time, the others stay */
    clock_advance(TTL_SHORT + 1);
    char key[32];
    for (int i = 0; i < NKEYS; i++) {
        key_of(key, sizeof(key), i);
        item *it = store_get(s, key, strlen(key), NULL);
        ck_assert_msg((it == NULL) == (i % 3 == 1), "%s after its TTL", key);
        if (it != NULL)
            store_release(s, it);
    }
    store_destroy(s);
}
END_TEST

/* A resumed store saves again and resumes again; works meanwhile. */
START_TEST(test_second_round)
{
    store *s = resume_running();
    struct kept more;
    put(s, "more", "m", 1, 3, 0, &more);
    save_and_close(s);
    s = open_store(MEM);
    char note[NOTE_MAX];
    ck_assert_msg(status(s, note) == STORE_WARM_RESUMED, "%s", note);
    expect_all(s);
    expect_item(s, "more", &more, "m", 1);
    store_destroy(s);
}
END_TEST

/* Dead at the save (expired, flushed) stays dead, and uncounted. */
START_TEST(test_dead_items_dropped)
{
    store *s = open_store(MEM);
    put(s, "short", "s", 1, 0, 5, NULL);
    put(s, "long", "l", 1, 0, 0, NULL);
    clock_advance(6);
    save_and_close(s);
    s = open_store(MEM);
    ck_assert_ptr_null(store_get(s, "short", 5, NULL));
    struct store_stats st;
    store_stats(s, &st);
    ck_assert_uint_eq(st.curr_items, 1);
    store_flush(s, 0);
    save_and_close(s);
    s = open_store(MEM);
    ck_assert_ptr_null(store_get(s, "long", 4, NULL));
    store_stats(s, &st);
    ck_assert_uint_eq(st.curr_items, 0);
    store_destroy(s);
}
END_TEST

/* Memory full after a resume: stores go on by evicting, with the mover,
 * the LRU maintainer and the crawler running on the resumed store. */
START_TEST(test_resumed_store_evicts)
{
    store *s = resume_running();
    static char big[100 * 1024];
    memset(big, 'b', sizeof(big));
    char key[32];
    for (int i = 0; i < 200; i++) {
        snprintf(key, sizeof(key), "big:%d", i);
        put(s, key, big, sizeof(big), 0, 0, NULL);
    }
    struct store_stats st;
    store_stats(s, &st);
    ck_assert_uint_gt(st.evictions, 0);
    store_destroy(s);
}
END_TEST

/* A page of resumed items moves to the pool: the mover rescues or evicts
 * them as on any page, and every key left reads back whole. */
START_TEST(test_resumed_page_moves)
{
    store *s = open_store(MEM);
    static char val[MOVE_VALUE];
    char key[32];
    unsigned cls = 0;
    for (int i = 0; i < MOVE_KEYS; i++) {
        snprintf(key, sizeof(key), "mv:%d", i);
        memset(val, 'a' + i % 26, sizeof(val));
        put(s, key, val, sizeof(val), 0, 0, NULL);
    }
    item *it = store_get(s, "mv:0", 4, NULL);
    cls = item_class(it);
    store_release(s, it);
    save_and_close(s);
    s = open_store(MEM);
    char err[FX_ERR_MAX];
    ck_assert_int_eq(store_slab_reassign(s, (int)cls, 0), STORE_REASSIGN_OK);
    ck_assert_int_eq(store_start_background(s, err, sizeof(err)), 0);
    struct store_stats st;
    for (int waited = 0; waited < MOVE_WAIT_MS; waited += MOVE_POLL_MS) {
        store_stats(s, &st);
        if (st.slabs_moved > 0)
            break;
        usleep(MOVE_POLL_MS * 1000);
    }
    ck_assert_uint_eq(st.slabs_moved, 1);
    for (int i = 0; i < MOVE_KEYS; i++) {
        snprintf(key, sizeof(key), "mv:%d", i);
        it = store_get(s, key, strlen(key), NULL);
        if (it == NULL)
            continue;   /* evicted by the move: no free chunk took it */
        memset(val, 'a' + i % 26, sizeof(val));
        char got[MOVE_VALUE];
        item_value_read(s, it, 0, got, sizeof(got));
        ck_assert_msg(memcmp(got, val, sizeof(val)) == 0, "%s after the move", key);
        store_release(s, it);
    }
    store_destroy(s);
}
END_TEST

/* A table switched at run time (slabs retune) resumes as it was saved, with
 * the old classes still retired and draining: every item reads back. */
START_TEST(test_retuned_table_resumes)
{
    store *s = open_store(MEM);
    char key[32], val[RETUNE_VALUE + 1];
    memset(val, 'r', RETUNE_VALUE);
    val[RETUNE_VALUE] = '\0';
    for (int i = 0; i < RETUNE_KEYS; i++) {
        snprintf(key, sizeof(key), "key:%010d", i);
        put(s, key, val, RETUNE_VALUE, 0, 0, NULL);
    }
    unsigned classes = store_class_count(s);
    ck_assert_int_eq(store_slab_retune(s), STORE_RETUNE_OK);
    unsigned live_first = slab_live_first(s);
    unsigned all = store_class_count(s);
    ck_assert_uint_gt(all, classes);
    save_and_close(s);   /* no mover ran: the retired classes hold every page */
    s = open_store(MEM);
    char note[NOTE_MAX];
    ck_assert_msg(status(s, note) == STORE_WARM_RESUMED, "%s", note);
    ck_assert_uint_eq(store_class_count(s), all);
    ck_assert_uint_eq(slab_live_first(s), live_first);
    for (int i = 0; i < RETUNE_KEYS; i++) {
        snprintf(key, sizeof(key), "key:%010d", i);
        item *it = store_get(s, key, strlen(key), NULL);
        ck_assert_msg(it != NULL, "%s after the resume", key);
        ck_assert_uint_eq(item_nvalue(it), RETUNE_VALUE);
        ck_assert(memcmp(item_value(it), val, RETUNE_VALUE) == 0);
        store_release(s, it);
    }
    /* and a new store goes to the live table */
    put(s, "fresh", val, RETUNE_VALUE, 0, 0, NULL);
    item *it = store_get(s, "fresh", 5, NULL);
    ck_assert_uint_ge(item_class(it), live_first);
    store_release(s, it);
    store_destroy(s);
}
END_TEST

static void expect_cold(uint64_t mem, const char *why)
{
    store *s = open_store(mem);
    char note[NOTE_MAX];
    ck_assert_int_eq(status(s, note), STORE_WARM_COLD);
    ck_assert_msg(strstr(note, why) != NULL, "note: %s", note);
    ck_assert_ptr_nonnull(strstr(note, "starting with an empty cache"));
    ck_assert_ptr_null(store_get(s, "key:0", 5, NULL));
    struct store_stats st;
    store_stats(s, &st);
    ck_assert_uint_eq(st.curr_items, 0);
    /* and it works from empty */
    put(s, "after", "a", 1, 0, 0, NULL);
    store_destroy(s);
}

START_TEST(test_other_settings_cold)
{
    saved_file();
    expect_cold(2 * MEM, "saved with -m (bytes) 8388608, now 16777216");
    saved_file();
    struct store_config c = config(MEM);
    c.chunk_min = 96;
    store *s = fx_store_create(&c);
    char note[NOTE_MAX];
    ck_assert_int_eq(status(s, note), STORE_WARM_COLD);
    ck_assert_msg(strstr(note, "-n 48, now 96") != NULL, "%s", note);
    store_destroy(s);
}
END_TEST

/* Flips the byte at off of the file (off < 0: from its end). */
static void flip_at(long off)
{
    int fd = open(path, O_RDWR);
    ck_assert_int_ge(fd, 0);
    if (off < 0)
        off += (long)lseek(fd, 0, SEEK_END);
    unsigned char b;
    ck_assert_int_eq(pread(fd, &b, 1, off), 1);
    b ^= 0x40;
    ck_assert_int_eq(pwrite(fd, &b, 1, off), 1);
    close(fd);
}

/* Where MARK (in key:7's value) lies in the file. */
static long mark_offset(void)
{
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    char *buf = malloc((size_t)st.st_size);
    int fd = open(path, O_RDONLY);
    ck_assert_int_eq(read(fd, buf, (size_t)st.st_size), st.st_size);
    close(fd);
    char *p = memmem(buf, (size_t)st.st_size, MARK, strlen(MARK));
    ck_assert_ptr_nonnull(p);
    long off = p - buf;
    free(buf);
    return off;
}

START_TEST(test_corrupt_not_served)
{
    saved_file();
    flip_at(mark_offset());
    expect_cold(MEM, "item memory checksum mismatch");
    saved_file();
    flip_at(META_SETTINGS_BYTE);
    expect_cold(MEM, "metadata checksum mismatch");
    saved_file();
    ck_assert_int_eq(truncate(path, MEM / 2), 0);
    expect_cold(MEM, "bytes where");
    saved_file();
    flip_at(0);   /* the magic */
    expect_cold(MEM, "not saved by a graceful stop");
}
END_TEST

/* No store_save (a crash, SIGKILL): the next start is cold. */
START_TEST(test_unsaved_is_cold)
{
    saved_file();
    store *s = open_store(MEM);
    char note[NOTE_MAX];
    ck_assert_int_eq(status(s, note), STORE_WARM_RESUMED);
    store_destroy(s);
    expect_cold(MEM, "not saved by a graceful stop");
}
END_TEST

START_TEST(test_in_use_refused)
{
    store *s = open_store(MEM);
    struct store_config c = config(MEM);
    char err[FX_ERR_MAX];
    ck_assert_ptr_null(store_create(&c, err, sizeof(err)));
    ck_assert_msg(strstr(err, "in use by another process") != NULL, "%s", err);
    store_destroy(s);
}
END_TEST

/* A file that cannot get its size (here a file size limit) fails cleanly. */
START_TEST(test_no_room_fails)
{
    struct rlimit was, small = { MB, MB };
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &was), 0);
    small.rlim_max = was.rlim_max;
    signal(SIGXFSZ, SIG_IGN);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &small), 0);
    struct store_config c = config(MEM);
    char err[FX_ERR_MAX];
    store *s = store_create(&c, err, sizeof(err));
    setrlimit(RLIMIT_FSIZE, &was);
    signal(SIGXFSZ, SIG_DFL);
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(err, "cannot size the memory file") != NULL, "%s", err);
}
END_TEST

START_TEST(test_no_file_is_off)
{
    struct store_config c = config(MEM);
    c.memory_file = NULL;
    store *s = fx_store_create(&c);
    char note[NOTE_MAX];
    ck_assert_int_eq(status(s, note), STORE_WARM_OFF);
    char err[FX_ERR_MAX];
    ck_assert_int_eq(store_save(s, err, sizeof(err)), 0);
    store_destroy(s);
}
END_TEST

static Suite *warm_suite(void)
{
    Suite *s = suite_create("warm");
    TCase *tc = tcase_create("restart");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_items_survive);
    tcase_add_test(tc, test_second_round);
    tcase_add_test(tc, test_dead_items_dropped);
    tcase_add_test(tc, test_resumed_store_evicts);
    tcase_add_test(tc, test_resumed_page_moves);
    tcase_add_test(tc, test_retuned_table_resumes);
    tcase_add_test(tc, test_other_settings_cold);
    tcase_add_test(tc, test_corrupt_not_served);
    tcase_add_test(tc, test_unsaved_is_cold);
    tcase_add_test(tc, test_in_use_refused);
    tcase_add_test(tc, test_no_room_fails);
    tcase_add_test(tc, test_no_file_is_off);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(warm_suite());
}
