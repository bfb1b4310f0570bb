noinst_LIBRARIES += libcommon.a
libcommon_a_SOURCES = \
	common/clock.c common/clock.h \
	common/log.c common/log.h \
	common/logger.c common/logger.h \
	common/detail.c common/detail.h \
	common/counter.h common/decimal.h
