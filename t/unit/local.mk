# t/unit/: Check suites, one per module; each links only its module and below.
# Each block adds its suites to UNIT_TESTS; `make check-unit` runs just those
# (the ThreadSanitizer pass of ./dev test uses it).
UNIT_TESTS =

# The suites' shared fixture (fixture.h, fixture_proto.h). Its store part needs
# only libslabs.a; a suite that does not use the protocol part never pulls that
# object out of the archive, so the layering still holds at link time.
noinst_LIBRARIES += libtunit.a
libtunit_a_SOURCES = t/unit/fixture.c t/unit/fixture.h \
	t/unit/fixture_proto.c t/unit/fixture_proto.h
libtunit_a_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)

# ---- protocol/ suites (owner: protocol) ----
check_PROGRAMS += t/unit/check_reply t/unit/check_proto_text
UNIT_TESTS += t/unit/check_reply t/unit/check_proto_text
t_unit_check_reply_SOURCES = t/unit/check_reply.c
t_unit_check_reply_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
# store_release is wrapped so the suite can count the references it gets back.
t_unit_check_reply_LDFLAGS = $(AM_LDFLAGS) -Wl,--wrap=store_release
t_unit_check_reply_LDADD = libtunit.a libprotocol.a libslabs.a libcommon.a $(XXHASH_LIBS) $(CHECK_LIBS)
t_unit_check_proto_text_SOURCES = t/unit/check_proto_text.c
t_unit_check_proto_text_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
t_unit_check_proto_text_LDADD = libtunit.a libprotocol.a libslabs.a libcommon.a $(XXHASH_LIBS) $(CHECK_LIBS)
check_PROGRAMS += t/unit/check_batch
UNIT_TESTS += t/unit/check_batch
t_unit_check_batch_SOURCES = t/unit/check_batch.c
t_unit_check_batch_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
t_unit_check_batch_LDADD = libtunit.a libprotocol.a libslabs.a libcommon.a $(XXHASH_LIBS) $(CHECK_LIBS)

# --- slabs suites (owner: slabs): link libslabs.a and libcommon.a only ---
SLABS_CHECKS = t/unit/check_slabs t/unit/check_items t/unit/check_assoc \
	t/unit/check_store t/unit/check_store_threads t/unit/check_slabs_debug \
	t/unit/check_mover t/unit/check_lru t/unit/check_crawler t/unit/check_warm \
	t/unit/check_advisor t/unit/check_retune t/unit/check_refcap
check_PROGRAMS += $(SLABS_CHECKS)
UNIT_TESTS += $(SLABS_CHECKS)
SLABS_CHECK_LDADD = libtunit.a libslabs.a libcommon.a $(XXHASH_LIBS) $(CHECK_LIBS)
t_unit_check_slabs_SOURCES = t/unit/check_slabs.c
t_unit_check_slabs_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
t_unit_check_slabs_LDADD = $(SLABS_CHECK_LDADD)
t_unit_check_items_SOURCES = t/unit/check_items.c
t_unit_check_items_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
t_unit_check_items_LDADD = $(SLABS_CHECK_LDADD)
t_unit_check_assoc_SOURCES = t/unit/check_assoc.c
noinst_HEADERS += t/flood_keys.h   # the old hash, also for t/stress/test_hostile
t_unit_check_assoc_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
t_unit_check_assoc_LDADD = $(SLABS_CHECK_LDADD)
t_unit_check_store_SOURCES = t/unit/check_store.c
t_unit_check_store_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
t_unit_check_store_LDADD = $(SLABS_CHECK_LDADD)
t_unit_check_store_threads_SOURCES = t/unit/check_store_threads.c
t_unit_check_store_threads_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
t_unit_check_store_threads_LDADD = $(SLABS_CHECK_LDADD)
# the invariant checks: fire only where SLABS_DEBUG is on (sanitizer builds)
t_unit_check_slabs_debug_SOURCES = t/unit/check_slabs_debug.c
t_unit_check_slabs_debug_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
t_unit_check_slabs_debug_LDADD = $(SLABS_CHECK_LDADD)
t_unit_check_mover_SOURCES = t/unit/check_mover.c
t_unit_check_mover_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
t_unit_check_mover_LDADD = $(SLABS_CHECK_LDADD)
t_unit_check_lru_SOURCES = t/unit/check_lru.c
t_unit_check_lru_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
t_unit_check_lru_LDADD = $(SLABS_CHECK_LDADD)
t_unit_check_crawler_SOURCES = t/unit/check_crawler.c
t_unit_check_crawler_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
t_unit_check_crawler_LDADD = $(SLABS_CHECK_LDADD)
t_unit_check_warm_SOURCES = t/unit/check_warm.c
t_unit_check_warm_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
t_unit_check_warm_LDADD = $(SLABS_CHECK_LDADD)
t_unit_check_advisor_SOURCES = t/unit/check_advisor.c
t_unit_check_advisor_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
t_unit_check_advisor_LDADD = $(SLABS_CHECK_LDADD)
t_unit_check_retune_SOURCES = t/unit/check_retune.c
t_unit_check_retune_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
t_unit_check_retune_LDADD = $(SLABS_CHECK_LDADD)
t_unit_check_refcap_SOURCES = t/unit/check_refcap.c
t_unit_check_refcap_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
t_unit_check_refcap_LDADD = $(SLABS_CHECK_LDADD)
# --- end slabs suites ---

# --- chained items (owner: chain): the store's chains and their replies ---
check_PROGRAMS += t/unit/check_chain
UNIT_TESTS += t/unit/check_chain
t_unit_check_chain_SOURCES = t/unit/check_chain.c
t_unit_check_chain_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
t_unit_check_chain_LDADD = libtunit.a libprotocol.a libslabs.a libcommon.a $(XXHASH_LIBS) $(CHECK_LIBS)
# --- end chained items ---

# --- server suites (owner: server): the option table, without a server ---
check_PROGRAMS += t/unit/check_settings
UNIT_TESTS += t/unit/check_settings
t_unit_check_settings_SOURCES = t/unit/check_settings.c
t_unit_check_settings_CPPFLAGS = $(AM_CPPFLAGS) \
	-DSETTINGS_MAN_PATH='"$(abs_top_builddir)/doc/slabcache.1"'
t_unit_check_settings_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
t_unit_check_settings_LDADD = libsettings.a libslabs.a libcommon.a $(XXHASH_LIBS) $(CHECK_LIBS)
# the suite compares the generated man page with the table
EXTRA_t_unit_check_settings_DEPENDENCIES = doc/slabcache.1
# --- end server suites ---

# --- binary protocol suite (owner: protocol, binary) ---
check_PROGRAMS += t/unit/check_proto_bin
UNIT_TESTS += t/unit/check_proto_bin
t_unit_check_proto_bin_SOURCES = t/unit/check_proto_bin.c
t_unit_check_proto_bin_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
t_unit_check_proto_bin_LDADD = libtunit.a libprotocol.a libslabs.a libcommon.a $(XXHASH_LIBS) $(CHECK_LIBS)
# --- end binary protocol suite ---

# --- meta suites (owner: meta): protocol/meta.c and the store's meta support ---
check_PROGRAMS += t/unit/check_proto_meta t/unit/check_store_meta
UNIT_TESTS += t/unit/check_proto_meta t/unit/check_store_meta
t_unit_check_proto_meta_SOURCES = t/unit/check_proto_meta.c
t_unit_check_proto_meta_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
t_unit_check_proto_meta_LDADD = libtunit.a libprotocol.a libslabs.a libcommon.a $(XXHASH_LIBS) $(CHECK_LIBS)
t_unit_check_store_meta_SOURCES = t/unit/check_store_meta.c
t_unit_check_store_meta_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
t_unit_check_store_meta_LDADD = libtunit.a libslabs.a libcommon.a $(XXHASH_LIBS) $(CHECK_LIBS)
# --- end meta suites ---

# --- logger suite (owner: watch): common/logger.c, the rings behind `watch` ---
check_PROGRAMS += t/unit/check_logger
UNIT_TESTS += t/unit/check_logger
t_unit_check_logger_SOURCES = t/unit/check_logger.c
t_unit_check_logger_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
t_unit_check_logger_LDADD = libtunit.a libslabs.a libcommon.a $(XXHASH_LIBS) $(CHECK_LIBS)
# --- end logger suite ---

TESTS += $(UNIT_TESTS)

check-unit:
	$(MAKE) $(AM_MAKEFLAGS) check TESTS='$(UNIT_TESTS)'
.PHONY: check-unit
