#!/usr/bin/env bash
# valgrind.sh: the client suites with every server they start under valgrind
# memcheck (`make check-valgrind` runs it from the build directory).
#
# Design: SERVER_BIN points at t/client/valgrind-server, which execs valgrind
# on the real binary ($SLABCACHE_BIN) with one log per process. The suites run
# one after another, each bounded by `timeout`; then every log is read. The
# run fails when a suite fails, a log reports errors (definite leaks count as
# errors: --errors-for-leak-kinds=definite) or definitely lost bytes, or a log
# has no ERROR SUMMARY (the process was killed before its leak check); each
# offending log is printed whole.
#
# Shortened: valgrind runs one guest thread at a time, so the timed loads run
# for less than in `make check`: t/stress/test_integrity for VG_STRESS_DURATION
# seconds (default 10, not 20) and test_hostile's memory case for
# VG_MEM_DURATION (default 5, not 10). Left out: only the RSS bound of that
# memory case (the RSS is valgrind's; SLABCACHE_SANITIZERS says so to the
# test, which still checks the stats bound).
#
#   VG_REAL_BIN   the server to check (default $SLABCACHE_BIN, set by make)
#   VG_BUILDDIR   the build directory (default .)
#   VG_SRCDIR     the source tree (default: two levels above this script)
#   VG_SUITES     the suites to run (default: all below)
#   VG_SUITE_TIMEOUT  seconds per suite (default 900)
set -u

here=$(cd "$(dirname "$0")" && pwd)
builddir=$(cd "${VG_BUILDDIR:-.}" && pwd)
srcdir=${VG_SRCDIR:-$(cd "$here/../.." && pwd)}
logdir=$builddir/valgrind-logs
suite_timeout=${VG_SUITE_TIMEOUT:-900}
suites=${VG_SUITES:-"t/client/test_raw t/client/test_memcached t/client/test_process t/client/memccapable.sh t/stress/test_hostile t/stress/test_integrity"}

command -v valgrind >/dev/null || { echo "valgrind.sh: valgrind is not installed"; exit 1; }
export VG_REAL_BIN=${VG_REAL_BIN:-${SLABCACHE_BIN:-$builddir/slabcache}}
export VG_LOG_DIR=$logdir
export SERVER_BIN=$srcdir/t/client/valgrind-server
[ -x "$VG_REAL_BIN" ] || { echo "valgrind.sh: no server at $VG_REAL_BIN"; exit 1; }
# Slower servers: Check's per-test bounds x4, the harness's start/stop bounds.
export CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-4}
export H_START_TIMEOUT_MS=${H_START_TIMEOUT_MS:-30000}
export H_STOP_TIMEOUT_MS=${H_STOP_TIMEOUT_MS:-30000}
export SLABCACHE_SANITIZERS=valgrind
export STRESS_MEM_DURATION=${VG_MEM_DURATION:-5}
export STRESS_DURATION=${VG_STRESS_DURATION:-10}

rm -rf "$logdir"
mkdir -p "$logdir"
passed=0
failed=0
start=$(date +%s)

# run_suite NAME: runs it from the build dir (scripts from the source tree).
run_suite() {
    local name=$1 prog=$builddir/$1 t0 rc
    [ -x "$prog" ] || prog=$srcdir/$1
    t0=$(date +%s)
    timeout "$suite_timeout" "$prog" >"$logdir/$(basename "$name").out" 2>&1
    rc=$?
    if [ $rc -eq 0 ]; then
        passed=$((passed + 1))
        echo "PASS: $name ($(( $(date +%s) - t0 )) s)"
    else
        failed=$((failed + 1))
        echo "FAIL: $name (exit $rc, $(( $(date +%s) - t0 )) s); its output:"
        tail -n 60 "$logdir/$(basename "$name").out"
    fi
}

for s in $suites; do
    run_suite "$s"
done

# A server a failed test left running (a daemon, say) still logs here: stop it
# by its pid (the one in its log's name) so it writes its leak check, and name
# it, since the test should have stopped it.
stop_leftovers() {
    local log pid i
    for log in "$logdir"/vg-*.log; do
        [ -e "$log" ] || continue
        pid=${log##*/vg-}
        pid=${pid%.log}
        [ -r "/proc/$pid/cmdline" ] || continue
        { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -qF -- "$logdir/vg-" || continue
        echo "valgrind: server $pid was left running by a suite; stopping it"
        kill -TERM "$pid" 2>/dev/null
        i=0
        while kill -0 "$pid" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
        kill -KILL "$pid" 2>/dev/null
    done
}
stop_leftovers

# The first number after a label in a log ("1,024" as valgrind prints it).
num_after() {
    grep -h "$1" "$2" | tail -n 1 | sed "s/.*$1 *\([0-9,]*\).*/\1/" | tr -d ,
}

runs=0 errors=0 lost=0 bad=0
for log in "$logdir"/vg-*.log; do
    [ -e "$log" ] || continue
    runs=$((runs + 1))
    e=$(num_after "ERROR SUMMARY:" "$log")
    l=$(num_after "definitely lost:" "$log")
    l=${l:-0}
    if [ -z "$e" ]; then
        bad=$((bad + 1))
        echo "valgrind: $log has no ERROR SUMMARY (killed before its leak check):"
        cat "$log"
        continue
    fi
    errors=$((errors + e))
    lost=$((lost + l))
    if [ "$e" -gt 0 ] || [ "$l" -gt 0 ]; then
        bad=$((bad + 1))
        echo "valgrind: $log: $e errors, $l bytes definitely lost:"
        cat "$log"
    fi
done
if [ $runs -gt 0 ] && [ $bad -eq 0 ]; then
    passed=$((passed + 1))
else
    failed=$((failed + 1))
fi
echo "valgrind: $runs server runs, $errors errors, $lost bytes definitely lost" \
     "($bad bad logs; logs in $logdir; $(( $(date +%s) - start )) s)"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
