#!/usr/bin/env bash
# memccapable.sh: libmemcached's protocol conformance tool, all of its tests
# (ascii and binary, the server in its default -B auto mode), against the
# server under test ($SERVER_BIN, else $SLABCACHE_BIN) on a free loopback
# port. Fails when memccapable reports a failed test (its exit code is non-zero
# then; against memcached 1.6.18 all 54 tests, 27 per protocol, pass and it
# prints "All tests passed"). Bounded by timeout; stops the server it started.
set -u

BIN=${SERVER_BIN:-${SLABCACHE_BIN:?set SERVER_BIN or SLABCACHE_BIN}}
CAPABLE=${MEMCCAPABLE:-memccapable}
RUN_TIMEOUT=60

# shellcheck source=t/client/server-lib.sh
. "${top_srcdir:-$(dirname "$0")/../..}/t/client/server-lib.sh"
trap server_stop EXIT INT TERM

server_start || { echo "memccapable.sh: $BIN did not start"; exit 1; }

out=$(timeout "$RUN_TIMEOUT" "$CAPABLE" -t 5 -h 127.0.0.1 -p "$port" 2>&1)
rc=$?
echo "$out"
passed=$(printf '%s\n' "$out" | grep -ci '\[pass\]')
failed=$(printf '%s\n' "$out" | grep -ci '\[fail\]')
echo "memccapable exit code: $rc"
echo "memccapable: $passed passed, $failed failed"
[ "$rc" -eq 0 ] && [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
