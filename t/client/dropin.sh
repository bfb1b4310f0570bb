#!/usr/bin/env bash
# dropin.sh: the drop-in suites (DROPIN_TESTS in t/client/local.mk) against
# slabcache and, when MEMCACHED_BIN names a memcached, against it too
# (`make check-dropin` runs it from the build directory with the suites as
# arguments).
#
# Each suite runs once with the harness's default server ($SLABCACHE_BIN),
# then with SERVER_BIN=$MEMCACHED_BIN: a check only one server passes is a
# difference from memcached, so it fails the run. One line per suite and
# server; each run's output is kept in <suite>.dropin-<server>.log. The exit
# status is 0 only when every run passed.
#
#   SLABCACHE_BIN  the slabcache under test (set by make)
#   MEMCACHED_BIN  the reference memcached (e.g. the 1.6.45 build); unset or
#                  empty: slabcache only, and the run says so
set -u

slabcache=${SLABCACHE_BIN:-./slabcache}
memcached=${MEMCACHED_BIN:-}
[ -x "$slabcache" ] || { echo "dropin.sh: no slabcache at $slabcache"; exit 1; }
if [ -n "$memcached" ] && [ ! -x "$memcached" ]; then
    echo "dropin.sh: MEMCACHED_BIN=$memcached is not an executable"
    exit 1
fi
[ $# -gt 0 ] || { echo "dropin.sh: no suites given (DROPIN_TESTS is empty)"; exit 1; }

failed=0

# run <suite> <server name> <server binary>: one run, one line.
# A compiled suite is in the build directory, a script suite in the source
# tree ($top_srcdir, set by make) when the build is out of tree.
run() {
    local suite=$1 name=$2 bin=$3 log="$1.dropin-$2.log" path="./$1"
    [ -e "$path" ] || path="${top_srcdir:-.}/$suite"
    if SERVER_BIN=$bin "$path" >"$log" 2>&1; then
        echo "PASS: $suite ($name)"
    else
        echo "FAIL: $suite ($name), see $log"
        tail -n 20 "$log" | sed 's/^/    /'
        failed=1
    fi
}

for suite in "$@"; do
    run "$suite" slabcache "$slabcache"
    if [ -n "$memcached" ]; then
        run "$suite" memcached "$memcached"
    fi
done
[ -n "$memcached" ] || echo "dropin.sh: MEMCACHED_BIN is not set: slabcache only"
exit $failed
