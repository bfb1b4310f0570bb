/*
 * fixture: what the unit suites set up alike, written once (libtunit.a).
 *
 * Two layers, as the modules: the store part (fixture.c) needs only slabs/
 * and common/, so the slabs suites link it without protocol/; the protocol
 * part (fixture_proto.h, fixture_proto.c) drives proto_process() against a
 * real store. A suite that never calls the protocol part does not pull its
 * object file out of the archive, so the layering still holds at link time.
 */
#ifndef T_UNIT_FIXTURE_H
#define T_UNIT_FIXTURE_H

#include <check.h>
#include <stdint.h>

#include "slabs/store.h"

/* The error text a store_create failure is reported with. */
#define FX_ERR_MAX 256

/* store_create(cfg), failing the test (with the store's reason) if it fails. */
store *fx_store_create(const struct store_config *cfg);

/* A store with the default configuration but for the memory limit. */
store *fx_store_sized(uint64_t mem_limit);

/* Fills the first n value bytes of an item being built with byte c (any
 * item, plain or chained). */
void fx_fill(store *s, item *it, char c, size_t n);

/* Runs every test of s and frees it; EXIT_SUCCESS if none failed (for main). */
int fx_run_suite(Suite *s);

#endif
