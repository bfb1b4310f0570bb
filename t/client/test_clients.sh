#!/usr/bin/env bash
# test_clients.sh: real memcached clients and operator tools against a started
# server ($SERVER_BIN, else $SLABCACHE_BIN) on a free loopback port.
#
# Each language client runs a small real session from t/client/clients/
# (set, get, a miss, multi-get, delete, incr/decr, cas, append/prepend, touch
# where the client has them, a binary value, a ~500 KB value, its stats
# call) that asserts every result and exits non-zero on the first wrong one:
# pymemcache, pylibmc (text + binary), Dalli, spymemcached (text + binary),
# gomemcache (built offline from Debian's GOPATH), php-memcached (text +
# binary), Perl's Cache::Memcached and Cache::Memcached::Fast. Then the
# tools, with asserted output: memcstat (plain and --args=detail), memcdump
# and memcached's scripts/memcached-tool (display, stats, settings, dump).
#
# A client whose Debian package is missing fails with the package to install
# (./dev installs them all). Each client is bounded by CLIENT_TIMEOUT; the
# whole run takes ~20 s plain (the Go build and the JVM start dominate).
# In DROPIN_TESTS: `make check-dropin` runs it against memcached 1.6.45 too.
set -u

BIN=${SERVER_BIN:-${SLABCACHE_BIN:?set SERVER_BIN or SLABCACHE_BIN}}
SRCDIR=${top_srcdir:-$(dirname "$0")/../..}
CLIENTS=$SRCDIR/t/client/clients
CLIENT_TIMEOUT=60          # seconds for one client or tool (a cold Go build is the slowest)
MEMORY_MB=64
TOOL_KEYS=20               # keys stored for the tools to list
SPY_JAR=/usr/share/java/spymemcached.jar
DEBIAN_GOPATH=/usr/share/gocode
PYTHON=/usr/bin/python3    # Debian's python3-* packages are for Debian's python, not a pyenv one
REFERENCE_TARBALL=$SRCDIR/../shared/reference/memcached-1.6.45.tar.gz

# shellcheck source=t/client/server-lib.sh
. "$SRCDIR/t/client/server-lib.sh"

work=$(mktemp -d)
cleanup() {
    server_stop
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

passed=0
failed=0
pass() { echo "PASS: $1"; passed=$((passed + 1)); }
fail() { echo "FAIL: $1"; failed=$((failed + 1)); }

# need <what> <package> <probe...>: the probe command succeeds, else a failure
# that names the Debian package.
need() {
    local what=$1 package=$2
    shift 2
    "$@" >/dev/null 2>&1 && return 0
    fail "$what: not installed here; apt-get install $package (./dev installs it)"
    return 1
}

# session <name> <command...>: runs a client session against the server.
session() {
    local name=$1 out rc
    shift
    out=$(timeout "$CLIENT_TIMEOUT" "$@" 127.0.0.1 "$port" 2>&1)
    rc=$?
    printf '%s\n' "$out" | sed 's/^/    /'
    if [ $rc -eq 0 ]; then pass "$name"; else fail "$name (exit $rc)"; fi
}

run_pymemcache() {
    need pymemcache python3-pymemcache "$PYTHON" -c 'import pymemcache' &&
        session pymemcache "$PYTHON" "$CLIENTS/pymemcache_session.py"
}

run_pylibmc() {
    need pylibmc python3-pylibmc "$PYTHON" -c 'import pylibmc' &&
        session pylibmc "$PYTHON" "$CLIENTS/pylibmc_session.py"
}

run_dalli() {
    need dalli ruby command -v ruby &&
        need dalli ruby-dalli ruby -e 'require "dalli"' &&
        session dalli ruby "$CLIENTS/dalli_session.rb"
}

run_spymemcached() {
    need spymemcached default-jdk-headless command -v java &&
        need spymemcached libspymemcached-java test -r "$SPY_JAR" &&
        session spymemcached java -cp "$SPY_JAR" "$CLIENTS/SpySession.java"
}

# Debian's gomemcache is Go source under its GOPATH: build in GOPATH mode,
# with no module proxy, so the build can never reach the network.
run_gomemcache() {
    need gomemcache golang-go command -v go &&
        need gomemcache golang-github-bradfitz-gomemcache-dev \
            test -d "$DEBIAN_GOPATH/src/github.com/bradfitz/gomemcache/memcache" || return
    local exe=$work/gomemcache_session out
    # go needs a build cache: the user's, else (no $HOME, as in some CI) a fresh one
    local cache=${GOCACHE:-${HOME:+$HOME/.cache/go-build}}
    if ! out=$(GOCACHE=${cache:-$work/go-build} GO111MODULE=off GOPATH=$DEBIAN_GOPATH \
               GOPROXY=off GOFLAGS= \
               timeout "$CLIENT_TIMEOUT" go build -o "$exe" \
               "$CLIENTS/gomemcache_session.go" 2>&1); then
        printf '%s\n' "$out" | sed 's/^/    /'
        fail "gomemcache: offline build failed"
        return
    fi
    session gomemcache "$exe"
}

run_php() {
    need php-memcached php-cli command -v php &&
        need php-memcached php-memcached php -r 'exit(class_exists("Memcached") ? 0 : 1);' &&
        session php-memcached php "$CLIENTS/php_session.php"
}

run_perl() {
    need perl libcache-memcached-perl perl -MCache::Memcached -e 1 &&
        need perl libcache-memcached-fast-perl perl -MCache::Memcached::Fast -e 1 &&
        session perl perl "$CLIENTS/perl_session.pl"
}

# tool_check <name> <output> <pattern...>: every extended regex matches a line.
tool_check() {
    local name=$1 out=$2 pat missing=
    shift 2
    out=$(printf '%s\n' "$out" | tr -d '\r')   # memcached-tool passes the server's CR through
    for pat in "$@"; do
        printf '%s\n' "$out" | grep -Eq -- "$pat" || missing="$missing [$pat]"
    done
    if [ -z "$missing" ]; then
        pass "$name"
    else
        printf '%s\n' "$out" | head -n 40 | sed 's/^/    /'
        fail "$name: no line matches$missing"
    fi
}

# Keys tool:0 .. tool:N-1 with 5-byte values and flags 7, for the tools.
store_tool_keys() {
    local i
    {
        for ((i = 0; i < TOOL_KEYS; i++)); do printf 'set tool:%d 7 0 5\r\nvalue\r\n' "$i"; done
        printf 'quit\r\n'
    } | timeout 10 nc -q 5 127.0.0.1 "$port" >/dev/null
}

run_memcstat() {
    need memcstat libmemcached-tools command -v memcstat || return
    local out rc
    out=$(timeout "$CLIENT_TIMEOUT" memcstat --servers=127.0.0.1:"$port" 2>&1)
    tool_check "memcstat" "$out" "^Server: 127\.0\.0\.1 \($port\)\$" '^	pid: [0-9]+$' \
        '^	version: 1\.' '^	curr_items: [1-9][0-9]*$' '^	get_hits: [1-9][0-9]*$'
    # --args=detail sends `stats detail`: both servers answer the usage line,
    # which memcstat prints nothing for; it must still exit 0.
    out=$(timeout "$CLIENT_TIMEOUT" memcstat --servers=127.0.0.1:"$port" --args=detail 2>&1)
    rc=$?
    tool_check "memcstat --args=detail" "rc=$rc" '^rc=0$'
    # --args='detail on' turns prefix stats on: memcached-tool settings below
    # must then show detail_enabled yes.
    out=$(timeout "$CLIENT_TIMEOUT" memcstat --servers=127.0.0.1:"$port" --args='detail on' 2>&1)
    rc=$?
    tool_check "memcstat --args='detail on'" "rc=$rc" '^rc=0$'
}

run_memcdump() {
    need memcdump libmemcached-tools command -v memcdump || return
    local out
    out=$(timeout "$CLIENT_TIMEOUT" memcdump --servers=127.0.0.1:"$port" 2>&1)
    tool_check "memcdump" "$out" '^tool:0$' "^tool:$((TOOL_KEYS - 1))\$"
}

# memcached-tool: $MEMCACHED_TOOL, else the reference build's copy, else the
# script read straight from the reference tarball (run, never copied).
find_memcached_tool() {
    local t
    for t in "${MEMCACHED_TOOL:-}" /tmp/memcached-1.6.45/scripts/memcached-tool; do
        [ -n "$t" ] && [ -r "$t" ] && { echo "$t"; return 0; }
    done
    [ -r "$REFERENCE_TARBALL" ] &&
        tar -xzf "$REFERENCE_TARBALL" -C "$work" memcached-1.6.45/scripts/memcached-tool \
            2>/dev/null && echo "$work/memcached-1.6.45/scripts/memcached-tool"
}

run_memcached_tool() {
    need memcached-tool "perl liburi-perl" perl -MURI::Escape -e 1 || return
    local tool out
    tool=$(find_memcached_tool)
    if [ -z "$tool" ]; then
        fail "memcached-tool: not found (set MEMCACHED_TOOL, or build the reference memcached)"
        return
    fi
    out=$(timeout "$CLIENT_TIMEOUT" perl "$tool" 127.0.0.1:"$port" display 2>&1)
    tool_check "memcached-tool display" "$out" \
        '^ *# +Item_Size +Max_age +Pages +Count +Full\? +Evicted +Evict_Time +OOM$' \
        '^ *[0-9]+ +[0-9.]+[BKM] +[0-9]+s +[1-9][0-9]* +[1-9][0-9]* +(yes|no) +[0-9]+ +[0-9]+ +[0-9]+$'
    out=$(timeout "$CLIENT_TIMEOUT" perl "$tool" 127.0.0.1:"$port" stats 2>&1)
    tool_check "memcached-tool stats" "$out" "^#127\.0\.0\.1:$port +Field +Value\$" \
        '^ +curr_items +[1-9][0-9]*$' '^ +version +1\.' '^ +cmd_get +[1-9][0-9]*$'
    out=$(timeout "$CLIENT_TIMEOUT" perl "$tool" 127.0.0.1:"$port" settings 2>&1)
    tool_check "memcached-tool settings" "$out" "^#127\.0\.0\.1:$port +Field +Value\$" \
        "^ +maxbytes +$((MEMORY_MB * 1024 * 1024))\$" "^ +tcpport +$port\$" '^ +lru_crawler +yes$' \
        '^ +detail_enabled +yes$'
    out=$(timeout "$CLIENT_TIMEOUT" perl "$tool" 127.0.0.1:"$port" dump 2>/dev/null | tr -d '\0')  # binary values
    tool_check "memcached-tool dump" "$out" '^add tool:0 7 [0-9]+ 5' '^value' \
        "^add tool:$((TOOL_KEYS - 1)) 7 [0-9]+ 5"
}

server_start -m "$MEMORY_MB" || { echo "test_clients.sh: $BIN did not start"; exit 1; }
echo "server: $BIN on 127.0.0.1:$port"
run_pymemcache
run_pylibmc
run_dalli
run_spymemcached
run_gomemcache
run_php
run_perl
store_tool_keys
run_memcstat
run_memcdump
run_memcached_tool
echo "test_clients.sh: $passed passed, $failed failed"
[ $failed -eq 0 ] && [ $passed -gt 0 ]
