# contrib/: operator tools and benchmarks. slabtop (a live per-class memory
# view, stdlib python3) is tested by t/client/test_slabtop.py; it is not
# installed: procps ships a kernel tool of the same name in /usr/bin.
# loadgen is built by `make` so contrib/bench/compare finds it in the build
# directory (BUILD/contrib/bench/loadgen); the benchmarks are not run by `make check`.
noinst_PROGRAMS += contrib/bench/loadgen
contrib_bench_loadgen_SOURCES = contrib/bench/loadgen.c
contrib_bench_loadgen_CFLAGS = $(AM_CFLAGS) -O2

dist_noinst_SCRIPTS += contrib/bench/compare
EXTRA_DIST += doc/performance.md

dist_noinst_SCRIPTS += contrib/slabtop
