# server/: main, options, threads, connections, stats (owner: server).
bin_PROGRAMS += slabcache
slabcache_SOURCES = \
	server/main.c
slabcache_LDADD = libprotocol.a libslabs.a libcommon.a $(LIBEVENT_LIBS)
slabcache_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS)
