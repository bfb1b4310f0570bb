/*
 * fixture: the store part of the unit suites' shared fixture (fixture.h).
 * Links against slabs/ and common/ only.
 */
#include "t/unit/fixture.h"

#include <stdlib.h>
#include <string.h>

/* Bytes written per item_value_write call by fx_fill. */
#define FX_FILL_PIECE 4096

store *fx_store_create(const struct store_config *cfg)
{
    char err[FX_ERR_MAX] = "";
    store *s = store_create(cfg, err, sizeof(err));
    ck_assert_msg(s != NULL, "store_create: %s", err);
    return s;
}

store *fx_store_sized(uint64_t mem_limit)
{
    struct store_config cfg;
    store_config_defaults(&cfg);
    cfg.mem_limit = mem_limit;
    return fx_store_create(&cfg);
}

void fx_fill(store *s, item *it, char c, size_t n)
{
    char piece[FX_FILL_PIECE];
    memset(piece, c, sizeof(piece));
    for (size_t off = 0; off < n; off += sizeof(piece))
        item_value_write(s, it, off, piece, n - off < sizeof(piece) ? n - off : sizeof(piece));
}

int fx_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
