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

# contrib/systemd: the service unit (with the configured paths) goes where
# systemd looks for the units of /usr and /usr/local ($(prefix)/lib/systemd/
# system), its flags file to $(sysconfdir). t/client/test_install.sh checks
# both after a DESTDIR install and runs `systemd-analyze verify` on the unit.
systemdsystemunitdir = $(prefix)/lib/systemd/system
systemdsystemunit_DATA = contrib/systemd/slabcache.service
dist_sysconf_DATA = contrib/systemd/slabcache.conf
EXTRA_DIST += contrib/systemd/slabcache.service.in
CLEANFILES += contrib/systemd/slabcache.service
contrib/systemd/slabcache.service: $(srcdir)/contrib/systemd/slabcache.service.in Makefile
	@$(MKDIR_P) contrib/systemd
	$(AM_V_GEN)sed -e 's|@bindir[@]|$(bindir)|g' -e 's|@sysconfdir[@]|$(sysconfdir)|g' \
		$(srcdir)/contrib/systemd/slabcache.service.in > $@.tmp && mv $@.tmp $@
dist_noinst_SCRIPTS += contrib/bench/fill_density

# the ceiling of compare's throughput rows: a no-work server (ceiling.c)
noinst_PROGRAMS += contrib/bench/ceiling
contrib_bench_ceiling_SOURCES = contrib/bench/ceiling.c
contrib_bench_ceiling_CFLAGS = $(AM_CFLAGS) -O2
