# protocol/: parse requests, compose replies (owner: protocol). Links libslabs.a, libcommon.a.
noinst_LIBRARIES += libprotocol.a
libprotocol_a_SOURCES = \
	protocol/proto.h protocol/proto.c protocol/reply.h protocol/counters.h \
	protocol/messages.h protocol/internal.h \
	protocol/reply.c \
	protocol/text_parse.c protocol/text_parse.h \
	protocol/text.c protocol/text.h \
	protocol/batch.c \
	protocol/meta.c protocol/meta.h \
	protocol/dump.c protocol/dump.h \
	protocol/watch.c protocol/watch.h \
	protocol/binary.c protocol/binary.h \
	protocol/auth.c protocol/auth.h
