#!/usr/bin/env python3
"""pylibmc_session: a small real session of pylibmc (python3-pylibmc, over
libmemcached) against the server at HOST PORT, once over the text protocol and
once over the binary one; every result is asserted. Exit 0 when all pass."""
import sys

import pylibmc

LARGE_LEN = 500 * 1024
BINARY = bytes(range(256)) + b"\r\nEND\r\n\x00"

checks = 0


def check(what, got, want):
    global checks
    if got != want:
        sys.exit(f"pylibmc: {what}: got {got!r}, want {want!r}")
    checks += 1


def refused(what, call, binary):
    """A store or touch that finds no key: False over text; over binary
    libmemcached reports the NOT_FOUND status as pylibmc.NotFound."""
    global checks
    try:
        check(what, call(), False)
    except pylibmc.NotFound:
        check(what + " raises over binary only", binary, True)


def session(server, binary):
    global checks
    c = pylibmc.Client([server], binary=binary, behaviors={"cas": True})
    p = "plm%d:" % binary
    check("set", c.set(p + "a", b"alpha"), True)
    check("get", c.get(p + "a"), b"alpha")
    check("miss", c.get(p + "missing"), None)
    check("set binary", c.set(p + "bin", BINARY), True)
    check("get binary", c.get(p + "bin"), BINARY)
    big = bytes((i * 7) % 251 for i in range(LARGE_LEN))
    check("set large", c.set(p + "big", big), True)
    check("get large", c.get(p + "big"), big)
    check("get_multi", c.get_multi([p + "a", p + "bin", p + "missing"]),
          {p + "a": b"alpha", p + "bin": BINARY})
    check("set counter", c.set(p + "n", 10), True)
    check("incr", c.incr(p + "n", 5), 15)
    check("decr", c.decr(p + "n", 20), 0)
    try:
        c.incr(p + "nothere", 1)
        check("incr miss raises", False, True)
    except pylibmc.NotFound:
        checks += 1
    value, cas = c.gets(p + "a")
    check("gets", value, b"alpha")
    check("cas", c.cas(p + "a", b"beta", cas), True)
    check("cas stale", c.cas(p + "a", b"gamma", cas), False)
    check("after cas", c.get(p + "a"), b"beta")
    check("append", c.append(p + "a", b"-tail"), True)
    check("prepend", c.prepend(p + "a", b"head-"), True)
    check("after append", c.get(p + "a"), b"head-beta-tail")
    check("add existing", c.add(p + "a", b"x"), False)
    refused("replace miss", lambda: c.replace(p + "nothere", b"x"), binary)
    check("touch", c.touch(p + "a", 100), True)
    refused("touch miss", lambda: c.touch(p + "nothere", 100), binary)
    check("delete", c.delete(p + "a"), True)
    refused("delete miss", lambda: c.delete(p + "a"), binary)
    check("get deleted", c.get(p + "a"), None)
    stats = c.get_stats()
    check("one server in stats", len(stats), 1)
    check("stats get_hits > 0", int(stats[0][1]["get_hits"]) > 0, True)
    c.disconnect_all()


def main():
    server = "%s:%s" % (sys.argv[1], sys.argv[2])
    session(server, False)
    session(server, True)
    print(f"pylibmc: {checks} checks passed (text and binary protocols)")


main()
