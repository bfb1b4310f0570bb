# t/stress/: bounded concurrency and hostile-input tests against a started
# server ($SERVER_BIN, else the ./slabcache just built). STRESS_DURATION
# (seconds, default 20) bounds the integrity run.
noinst_LIBRARIES += libtstress.a
libtstress_a_SOURCES = t/stress/sconn.c
noinst_HEADERS += t/stress/sconn.h

T_STRESS_LDADD = libtstress.a libtclient.a

check_PROGRAMS += t/stress/test_integrity t/stress/test_hostile
t_stress_test_integrity_SOURCES = t/stress/test_integrity.c
t_stress_test_integrity_LDADD = $(T_STRESS_LDADD)
EXTRA_t_stress_test_integrity_DEPENDENCIES = slabcache$(EXEEXT)

t_stress_test_hostile_SOURCES = t/stress/test_hostile.c
t_stress_test_hostile_LDADD = $(T_STRESS_LDADD)
EXTRA_t_stress_test_hostile_DEPENDENCIES = slabcache$(EXEEXT)

TESTS += t/stress/test_integrity t/stress/test_hostile
