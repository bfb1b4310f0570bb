# contrib/: operator tools and benchmarks (not part of make check).
# loadgen is built by `make` so contrib/bench/compare finds it in the build
# directory (BUILD/contrib/bench/loadgen); nothing here is run by `make check`.
noinst_PROGRAMS += contrib/bench/loadgen
contrib_bench_loadgen_SOURCES = contrib/bench/loadgen.c
contrib_bench_loadgen_CFLAGS = $(AM_CFLAGS) -O2

dist_noinst_SCRIPTS += contrib/bench/compare
EXTRA_DIST += doc/performance.md

# the ceiling of compare's throughput rows: a no-work server (ceiling.c)
noinst_PROGRAMS += contrib/bench/ceiling
contrib_bench_ceiling_SOURCES = contrib/bench/ceiling.c
contrib_bench_ceiling_CFLAGS = $(AM_CFLAGS) -O2
