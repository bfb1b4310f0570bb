# t/client/: tests against a started server (libmemcached, raw sockets, memccapable).
# The server under test is $SERVER_BIN if set, else the ./slabcache just built,
# e.g. `SERVER_BIN=/usr/bin/memcached make check` runs the same suites against
# memcached. The test programs depend on slabcache so `make check` builds it first.
noinst_LIBRARIES += libtclient.a
libtclient_a_SOURCES = t/client/harness.c
noinst_HEADERS += t/client/harness.h t/client/hcheck.h

# DROPIN_TESTS: suites whose every check both servers must pass, memcached
# 1.6.45 and slabcache (each suite adds itself: DROPIN_TESTS += t/client/x).
# They are in TESTS too, so `make check` runs them against slabcache;
# `make check-dropin MEMCACHED_BIN=/path/to/memcached` runs each against both
# (t/client/dropin.sh). MEMCACHED_BIN is taken from the make command line or
# the environment, not from configure (which finds Debian's older one).
DROPIN_TESTS =
dist_noinst_SCRIPTS += t/client/dropin.sh
check-dropin: slabcache$(EXEEXT)
	@dropin_memcached="$${MEMCACHED_BIN-}"; $(AM_TESTS_ENVIRONMENT) \
	MEMCACHED_BIN="$$dropin_memcached"; export MEMCACHED_BIN; \
	$(MAKE) $(AM_MAKEFLAGS) $(DROPIN_TESTS:=$(EXEEXT)) && \
	$(SHELL) '$(srcdir)/t/client/dropin.sh' $(DROPIN_TESTS)
.PHONY: check-dropin

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

check_PROGRAMS += t/client/test_batch
t_client_test_batch_SOURCES = t/client/test_batch.c
t_client_test_batch_CFLAGS = $(T_CLIENT_CFLAGS)
t_client_test_batch_LDADD = $(T_CLIENT_LDADD)
EXTRA_t_client_test_batch_DEPENDENCIES = slabcache$(EXEEXT)
TESTS += t/client/test_batch
DROPIN_TESTS += t/client/test_batch

dist_noinst_SCRIPTS += t/client/memccapable.sh
dist_noinst_DATA += t/client/server-lib.sh   # sourced by the shell suites
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

# test_meta_flags: every meta flag of memcached 1.6.45's protocol.txt, a table
# both servers must pass.
check_PROGRAMS += t/client/test_meta_flags
t_client_test_meta_flags_SOURCES = t/client/test_meta_flags.c
t_client_test_meta_flags_CFLAGS = $(T_CLIENT_CFLAGS)
t_client_test_meta_flags_LDADD = $(T_CLIENT_LDADD)
EXTRA_t_client_test_meta_flags_DEPENDENCIES = slabcache$(EXEEXT)
TESTS += t/client/test_meta_flags
DROPIN_TESTS += t/client/test_meta_flags

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

# test_slabtop: contrib/slabtop --once with asserted figures, and its live
# view under tmux (sort key, q); both servers pass it.
dist_noinst_SCRIPTS += t/client/test_slabtop.py
TESTS += t/client/test_slabtop.py
DROPIN_TESTS += t/client/test_slabtop.py

# test_metrics: -o metrics_port, GET /metrics after sets (TYPE lines, values,
# per-class labels, whole families; promtool check metrics where installed).
check_PROGRAMS += t/client/test_metrics
t_client_test_metrics_SOURCES = t/client/test_metrics.c
t_client_test_metrics_CFLAGS = $(T_CLIENT_CFLAGS)
t_client_test_metrics_LDADD = $(T_CLIENT_LDADD)
EXTRA_t_client_test_metrics_DEPENDENCIES = slabcache$(EXEEXT)
TESTS += t/client/test_metrics

# test_install: `make install` (DESTDIR) places the server, man page, systemd
# unit and flags file; systemd-analyze verify on the unit where available.
dist_noinst_SCRIPTS += t/client/test_install.sh
TESTS += t/client/test_install.sh

# test_cluster: three servers behind nutcracker and through libmemcached
# ketama: 10,000 keys spread, one owner each, read back, one server stopped
# and ejected while the others keep serving their keys.
check_PROGRAMS += t/client/test_cluster
t_client_test_cluster_SOURCES = t/client/test_cluster.c
t_client_test_cluster_CFLAGS = $(T_CLIENT_CFLAGS) $(LIBMEMCACHED_CFLAGS)
t_client_test_cluster_LDADD = $(T_CLIENT_LDADD) $(LIBMEMCACHED_LIBS)
EXTRA_t_client_test_cluster_DEPENDENCIES = slabcache$(EXEEXT)
TESTS += t/client/test_cluster
DROPIN_TESTS += t/client/test_cluster
# test_warm: -e warm restart across SIGUSR1 and `shutdown graceful` (owner: warm).
check_PROGRAMS += t/client/test_warm
t_client_test_warm_SOURCES = t/client/test_warm.c
t_client_test_warm_CFLAGS = $(T_CLIENT_CFLAGS)
t_client_test_warm_LDADD = $(T_CLIENT_LDADD)
EXTRA_t_client_test_warm_DEPENDENCIES = slabcache$(EXEEXT)
TESTS += t/client/test_warm
DROPIN_TESTS += t/client/test_warm

# test_options: memcached 1.6.45's flags and -o keys (issue 14's command
# lines), -F, -X, -p 0, -l's proto/tag forms, the version strings and the
# keys of `stats settings`; a drop-in suite (both servers).
check_PROGRAMS += t/client/test_options
t_client_test_options_SOURCES = t/client/test_options.c
t_client_test_options_CFLAGS = $(T_CLIENT_CFLAGS)
t_client_test_options_LDADD = $(T_CLIENT_LDADD)
EXTRA_t_client_test_options_DEPENDENCIES = slabcache$(EXEEXT)
TESTS += t/client/test_options
DROPIN_TESTS += t/client/test_options
# test_watch: watch log streams, -W, stats detail and -D (owner: watch);
# both servers pass it.
check_PROGRAMS += t/client/test_watch
t_client_test_watch_SOURCES = t/client/test_watch.c
t_client_test_watch_CFLAGS = $(T_CLIENT_CFLAGS)
t_client_test_watch_LDADD = $(T_CLIENT_LDADD)
EXTRA_t_client_test_watch_DEPENDENCIES = slabcache$(EXEEXT)
TESTS += t/client/test_watch
DROPIN_TESTS += t/client/test_watch
# test_tune: stats sizes, -o slab_sizes (both servers), slabs advise, slabs retune and
# -o slab_sizes=auto (ours)
check_PROGRAMS += t/client/test_tune
t_client_test_tune_SOURCES = t/client/test_tune.c
t_client_test_tune_CFLAGS = $(T_CLIENT_CFLAGS)
t_client_test_tune_LDADD = $(T_CLIENT_LDADD)
EXTRA_t_client_test_tune_DEPENDENCIES = slabcache$(EXEEXT)
TESTS += t/client/test_tune
DROPIN_TESTS += t/client/test_tune
# test_stats_keys: memcached 1.6.45's stats key lists (stats, items, slabs,
# conns), connection counts, the empty-line and HTTP wording, ascii auth (-Y).
check_PROGRAMS += t/client/test_stats_keys
t_client_test_stats_keys_SOURCES = t/client/test_stats_keys.c
t_client_test_stats_keys_CFLAGS = $(T_CLIENT_CFLAGS)
t_client_test_stats_keys_LDADD = $(T_CLIENT_LDADD)
EXTRA_t_client_test_stats_keys_DEPENDENCIES = slabcache$(EXEEXT)
TESTS += t/client/test_stats_keys
DROPIN_TESTS += t/client/test_stats_keys

# test_clients: real clients in six languages (pymemcache, pylibmc, Dalli,
# spymemcached, gomemcache, php-memcached, Perl's Cache::Memcached and
# ::Fast) each run a small asserted session from t/client/clients/, then
# memcstat, memcdump and memcached-tool with asserted output; both servers
# pass it. The Debian packages are in ./dev's list.
dist_noinst_SCRIPTS += t/client/test_clients.sh
dist_noinst_DATA += t/client/clients/pymemcache_session.py \
	t/client/clients/pylibmc_session.py t/client/clients/dalli_session.rb \
	t/client/clients/SpySession.java t/client/clients/gomemcache_session.go \
	t/client/clients/php_session.php t/client/clients/perl_session.pl
TESTS += t/client/test_clients.sh
DROPIN_TESTS += t/client/test_clients.sh
