#!/usr/bin/env bash
# test_install.sh: `make install` into a temporary DESTDIR puts in place the
# server (bin/slabcache, which runs), its man page (share/man/man1), the
# systemd unit (lib/systemd/system, with the configured paths substituted)
# and the flags file (etc/slabcache.conf, whose SLABCACHE_OPTIONS start a
# server that answers). Then `systemd-analyze verify` must pass the installed
# unit without a word (it only warns on unknown settings, so any output
# fails); that step is skipped, saying so, where systemd-analyze is absent.
# Bounded: the install by INSTALL_TIMEOUT, the server start by START_TRIES.
set -u

BUILD=${TOP_BUILDDIR:?run from make check (TOP_BUILDDIR)}
INSTALL_TIMEOUT=120
START_TRIES=50
passed=0
failed=0
check() {   # check DESCRIPTION COMMAND...
    local what=$1; shift
    if "$@"; then passed=$((passed + 1)); echo "PASS: $what"
    else failed=$((failed + 1)); echo "FAIL: $what"; fi
}

dest=$(mktemp -d /tmp/test_install.XXXXXX)
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$dest"
}
trap cleanup EXIT INT TERM

# MAKEFLAGS of the outer `make check` would run the nested install in its
# jobserver; the install needs nothing built, so it runs on its own.
if ! MAKEFLAGS= timeout "$INSTALL_TIMEOUT" make -s -C "$BUILD" install DESTDIR="$dest" \
        >"$dest.log" 2>&1; then
    cat "$dest.log"; rm -f "$dest.log"
    echo "test_install: make install failed"; exit 1
fi
rm -f "$dest.log"

find_one() { find "$dest" -path "*/$1" -type f | head -n 1; }
bin=$(find_one bin/slabcache)
man=$(find_one share/man/man1/slabcache.1)
unit=$(find_one lib/systemd/system/slabcache.service)
conf=$(find_one etc/slabcache.conf)
check "the server installs in bin/" test -x "$bin"
check "it runs (-V)" sh -c "'$bin' -V | grep -q '^slabcache '"
check "the man page installs in share/man/man1/" test -s "$man"
check "the man page documents metrics_port" grep -q metrics_port "$man"
check "the unit installs in lib/systemd/system/" test -s "$unit"
check "the unit names the installed server" \
    grep -q "^ExecStart=${bin#"$dest"} -u slabcache \$SLABCACHE_OPTIONS$" "$unit"
check "the unit reads the installed flags file" \
    grep -q "^EnvironmentFile=-${conf#"$dest"}$" "$unit"
check "the unit has no placeholder left" sh -c "! grep -q @ '$unit'"

# The example flags start a server (on a free port, as root with -u root
# instead of the unit's dedicated user) that answers.
SLABCACHE_OPTIONS=
# shellcheck disable=SC1090
. "$conf"
check "the flags file sets SLABCACHE_OPTIONS" test -n "$SLABCACHE_OPTIONS"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
userflag=
[ "$(id -u)" = 0 ] && userflag="-u root"
# shellcheck disable=SC2086
"$bin" $SLABCACHE_OPTIONS -p "$port" $userflag >/dev/null 2>&1 &
pid=$!
up=no
for _ in $(seq "$START_TRIES"); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && { up=yes; break; }
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
check "the example flags start a server that answers" test $up = yes

# verify looks for ExecStart's binary on this machine: the copy it reads
# names the binary inside DESTDIR (verify --root would also want a whole
# system's targets there).
if command -v systemd-analyze >/dev/null 2>&1; then
    mkdir "$dest/verify"
    sed "s|^ExecStart=|ExecStart=$dest|" "$unit" > "$dest/verify/slabcache.service"
    out=$(systemd-analyze verify --man=no "$dest/verify/slabcache.service" 2>&1)
    rc=$?
    [ -n "$out" ] && echo "$out"
    check "systemd-analyze verify: the unit is clean" test "$rc" -eq 0 -a -z "$out"
else
    echo "test_install: systemd-analyze is not installed: the unit's verify step left out"
fi

echo "test_install: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
