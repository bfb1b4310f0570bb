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
START_TRIES=5
RUN_TIMEOUT=60

# A random port nobody answers on; a start that fails anyway is retried.
free_port() {
    local p
    while :; do
        p=$(( 20000 + RANDOM % 40000 ))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
    done
}

pid=
cleanup() {
    if [ -n "$pid" ]; then
        kill -TERM "$pid" 2>/dev/null
        i=0
        while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    fi
}
trap cleanup EXIT INT TERM

# Both servers refuse to run as root without -u.
userflag=
[ "$(id -u)" = 0 ] && userflag="-u root"

started=no
try=0
while [ $try -lt $START_TRIES ] && [ $started = no ]; do
    try=$((try + 1))
    port=$(free_port)
    # shellcheck disable=SC2086
    "$BIN" -l 127.0.0.1 -p "$port" -U 0 $userflag >/dev/null 2>&1 &
    pid=$!
    i=0
    while [ $i -lt 50 ]; do
        if ! kill -0 "$pid" 2>/dev/null; then break; fi
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then started=yes; break; fi
        sleep 0.1
        i=$((i + 1))
    done
    [ $started = yes ] || { cleanup; pid=; }
done
[ $started = yes ] || { echo "memccapable.sh: $BIN did not start"; exit 1; }

out=$(timeout "$RUN_TIMEOUT" "$CAPABLE" -t 5 -h 127.0.0.1 -p "$port" 2>&1)
rc=$?
echo "$out"
passed=$(printf '%s\n' "$out" | grep -ci '\[pass\]')
failed=$(printf '%s\n' "$out" | grep -ci '\[fail\]')
echo "memccapable exit code: $rc"
echo "memccapable: $passed passed, $failed failed"
[ "$rc" -eq 0 ] && [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
