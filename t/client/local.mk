# t/client/: tests against a started server (libmemcached, raw sockets, memccapable).
# The server under test is $SERVER_BIN if set, else the ./slabcache just built,
# e.g. `SERVER_BIN=/usr/bin/memcached make check` runs the same suites against
# memcached. The test programs depend on slabcache so `make check` builds it first.
noinst_LIBRARIES += libtclient.a
libtclient_a_SOURCES = t/client/harness.c
noinst_HEADERS += t/client/harness.h t/client/hcheck.h

# DROPIN_TESTS: suites whose every check both servers must pass, memcached
# 1.6.45 and slabcache (each suite adds itself: DROPIN_TESTS += t/client/x).
DROPIN_TESTS =

T_CLIENT_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
T_CLIENT_LDADD = libtclient.a $(CHECK_LIBS)

check_PROGRAMS += t/client/test_raw t/client/test_memcached t/client/test_process
t_client_test_raw_SOURCES = t/client/test_raw.c
t_client_test_raw_CFLAGS = $(T_CLIENT_CFLAGS)
t_client_test_raw_LDADD = $(T_CLIENT_LDADD)
EXTRA_t_client_test_raw_DEPENDENCIES = slabcache$(EXEEXT)

t_client_test_memcached_SOURCES = t/client/test_memcached.c
t_client_test_memcached_CFLAGS = $(T_CLIENT_CFLAGS) $(LIBMEMCACHED_CFLAGS)
t_client_test_memcached_LDADD = $(T_CLIENT_LDADD) $(LIBMEMCACHED_LIBS)
EXTRA_t_client_test_memcached_DEPENDENCIES = slabcache$(EXEEXT)

t_client_test_process_SOURCES = t/client/test_process.c
t_client_test_process_CFLAGS = $(T_CLIENT_CFLAGS)
t_client_test_process_LDADD = $(T_CLIENT_LDADD)
EXTRA_t_client_test_process_DEPENDENCIES = slabcache$(EXEEXT)

dist_noinst_SCRIPTS += t/client/memccapable.sh
TESTS += t/client/test_raw t/client/test_memcached t/client/test_process \
	t/client/memccapable.sh

# check-valgrind: the client and stress suites with every
# server they start under valgrind memcheck, through t/client/valgrind-server;
# fails on any memcheck error or definitely lost byte (t/client/valgrind.sh).
dist_noinst_SCRIPTS += t/client/valgrind.sh t/client/valgrind-server
check-valgrind: slabcache$(EXEEXT) t/client/test_raw$(EXEEXT) \
		t/client/test_memcached$(EXEEXT) t/client/test_process$(EXEEXT) \
		t/stress/test_hostile$(EXEEXT) t/stress/test_integrity$(EXEEXT)
	@$(AM_TESTS_ENVIRONMENT) VG_BUILDDIR='$(abs_top_builddir)' \
	VG_SRCDIR='$(abs_top_srcdir)' $(SHELL) '$(srcdir)/t/client/valgrind.sh'
.PHONY: check-valgrind

# test_transport: UDP (-U), UNIX sockets (-s, -a), -B, EMFILE (owner: server).
check_PROGRAMS += t/client/test_transport
t_client_test_transport_SOURCES = t/client/test_transport.c
t_client_test_transport_CFLAGS = $(T_CLIENT_CFLAGS) $(LIBMEMCACHED_CFLAGS)
t_client_test_transport_LDADD = $(T_CLIENT_LDADD) $(LIBMEMCACHED_LIBS)
EXTRA_t_client_test_transport_DEPENDENCIES = slabcache$(EXEEXT)
TESTS += t/client/test_transport

# test_binary: binary protocol frames byte for byte over raw sockets (the
# libmemcached operations run over both protocols in test_memcached);
# test_meta: meta commands (mn ms mg md ma) byte for byte over raw sockets.
check_PROGRAMS += t/client/test_binary t/client/test_meta
t_client_test_binary_SOURCES = t/client/test_binary.c
t_client_test_binary_CFLAGS = $(T_CLIENT_CFLAGS)
t_client_test_binary_LDADD = $(T_CLIENT_LDADD)
EXTRA_t_client_test_binary_DEPENDENCIES = slabcache$(EXEEXT)

t_client_test_meta_SOURCES = t/client/test_meta.c
t_client_test_meta_CFLAGS = $(T_CLIENT_CFLAGS)
t_client_test_meta_LDADD = $(T_CLIENT_LDADD)
EXTRA_t_client_test_meta_DEPENDENCIES = slabcache$(EXEEXT)
TESTS += t/client/test_binary t/client/test_meta

# test_large: values beyond slab_chunk_max (chained items) over every
# protocol, byte for byte, and the -m 64 memory figures of large values.
check_PROGRAMS += t/client/test_large
t_client_test_large_SOURCES = t/client/test_large.c
t_client_test_large_CFLAGS = $(T_CLIENT_CFLAGS)
t_client_test_large_LDADD = $(T_CLIENT_LDADD)
EXTRA_t_client_test_large_DEPENDENCIES = slabcache$(EXEEXT)
TESTS += t/client/test_large
# test_slabs: `slabs reassign`/`slabs automove` replies and the workloads of
# page moves (size shift, random sizes, cache_memlimit lowered).
check_PROGRAMS += t/client/test_slabs
t_client_test_slabs_SOURCES = t/client/test_slabs.c
t_client_test_slabs_CFLAGS = $(T_CLIENT_CFLAGS)
t_client_test_slabs_LDADD = $(T_CLIENT_LDADD)
EXTRA_t_client_test_slabs_DEPENDENCIES = slabcache$(EXEEXT)
TESTS += t/client/test_slabs

# test_lru: `lru` replies, the LRU's stats settings keys, and issue 13's scan
# (20,000 hot keys read while 600,000 new keys are set once, -m 64).
check_PROGRAMS += t/client/test_lru
t_client_test_lru_SOURCES = t/client/test_lru.c
t_client_test_lru_CFLAGS = $(T_CLIENT_CFLAGS)
t_client_test_lru_LDADD = $(T_CLIENT_LDADD)
EXTRA_t_client_test_lru_DEPENDENCIES = slabcache$(EXEEXT)
TESTS += t/client/test_lru

# test_crawler: `lru_crawler` and `stats cachedump` replies, the dumps
# (metadump, mgdump, cachedump, memcdump, memcached-tool), and the flush and
# expiry counts the crawler keeps true.
check_PROGRAMS += t/client/test_crawler
t_client_test_crawler_SOURCES = t/client/test_crawler.c
t_client_test_crawler_CFLAGS = $(T_CLIENT_CFLAGS)
t_client_test_crawler_LDADD = $(T_CLIENT_LDADD)
EXTRA_t_client_test_crawler_DEPENDENCIES = slabcache$(EXEEXT)
TESTS += t/client/test_crawler

# test_stats_keys: memcached 1.6.45's stats key lists (stats, items, slabs,
# conns), connection counts, the empty-line and HTTP wording, ascii auth (-Y).
check_PROGRAMS += t/client/test_stats_keys
t_client_test_stats_keys_SOURCES = t/client/test_stats_keys.c
t_client_test_stats_keys_CFLAGS = $(T_CLIENT_CFLAGS)
t_client_test_stats_keys_LDADD = $(T_CLIENT_LDADD)
EXTRA_t_client_test_stats_keys_DEPENDENCIES = slabcache$(EXEEXT)
TESTS += t/client/test_stats_keys
DROPIN_TESTS += t/client/test_stats_keys
