# t/client/: tests against a started server (libmemcached, raw sockets, memccapable).
# The server under test is $SERVER_BIN if set, else the ./slabcache just built,
# e.g. `SERVER_BIN=/usr/bin/memcached make check` runs the same suites against
# memcached. The test programs depend on slabcache so `make check` builds it first.
noinst_LIBRARIES += libtclient.a
libtclient_a_SOURCES = t/client/harness.c
noinst_HEADERS += t/client/harness.h t/client/hcheck.h

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
