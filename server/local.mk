# server/: main, options, threads, connections, stats (owner: server).
# The option table (server/settings.c) is a small library of its own so the
# man page generator and the settings unit suite link it without the server.
noinst_LIBRARIES += libsettings.a
libsettings_a_SOURCES = server/settings.c server/settings.h

bin_PROGRAMS += slabcache
slabcache_SOURCES = \
	server/server.h \
	server/main.c \
	server/listen.c \
	server/worker.c \
	server/conn.c \
	server/udp.c \
	server/stats.c \
	server/metrics.c server/auth.c
slabcache_LDADD = libsettings.a libprotocol.a libslabs.a libcommon.a $(XXHASH_LIBS) $(LIBEVENT_LIBS)
slabcache_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS)

noinst_PROGRAMS += server/gen_man
server_gen_man_SOURCES = server/gen_man.c
server_gen_man_LDADD = libsettings.a libslabs.a libcommon.a $(XXHASH_LIBS)
