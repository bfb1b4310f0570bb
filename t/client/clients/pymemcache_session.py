#!/usr/bin/env python3
"""pymemcache_session: a small real session of pymemcache (python3-pymemcache)
against the server at HOST PORT; every result is asserted. Exit 0 when all
pass, 1 with the failed check on stderr."""
import sys

from pymemcache.client.base import Client

LARGE_LEN = 500 * 1024          # a value well past one slab page's chunk sizes
BINARY = bytes(range(256)) + b"\r\nEND\r\n\x00"   # every byte value and framing look-alikes

checks = 0


def check(what, got, want):
    global checks
    if got != want:
        sys.exit(f"pymemcache: {what}: got {got!r}, want {want!r}")
    checks += 1


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    c = Client((host, port), connect_timeout=5, timeout=5)
    p = "py:"
    check("set", c.set(p + "a", b"alpha", noreply=False), True)
    check("get", c.get(p + "a"), b"alpha")
    check("miss", c.get(p + "missing"), None)
    check("set binary", c.set(p + "bin", BINARY, noreply=False), True)
    check("get binary", c.get(p + "bin"), BINARY)
    big = bytes((i * 7) % 251 for i in range(LARGE_LEN))
    check("set large", c.set(p + "big", big, noreply=False), True)
    check("get large", c.get(p + "big"), big)
    check("get_many", c.get_many([p + "a", p + "bin", p + "missing"]),
          {p + "a": b"alpha", p + "bin": BINARY})
    check("set counter", c.set(p + "n", b"10", noreply=False), True)
    check("incr", c.incr(p + "n", 5), 15)
    check("decr", c.decr(p + "n", 20), 0)
    check("incr miss", c.incr(p + "nothere", 1), None)
    value, cas = c.gets(p + "a")
    check("gets", value, b"alpha")
    check("cas", c.cas(p + "a", b"beta", cas, noreply=False), True)
    check("cas stale", c.cas(p + "a", b"gamma", cas, noreply=False), False)
    check("after cas", c.get(p + "a"), b"beta")
    check("append", c.append(p + "a", b"-tail", noreply=False), True)
    check("prepend", c.prepend(p + "a", b"head-", noreply=False), True)
    check("after append", c.get(p + "a"), b"head-beta-tail")
    check("add existing", c.add(p + "a", b"x", noreply=False), False)
    check("replace miss", c.replace(p + "nothere", b"x", noreply=False), False)
    check("touch", c.touch(p + "a", 100, noreply=False), True)
    check("touch miss", c.touch(p + "nothere", 100, noreply=False), False)
    check("delete", c.delete(p + "a", noreply=False), True)
    check("delete miss", c.delete(p + "a", noreply=False), False)
    check("get deleted", c.get(p + "a"), None)
    stats = c.stats()
    check("stats has pid", b"pid" in stats or "pid" in stats, True)
    check("stats get_hits > 0", stats.get(b"get_hits", stats.get("get_hits", 0)) > 0, True)
    check("version", c.version()[:2], b"1.")
    c.close()
    print(f"pymemcache: {checks} checks passed")


main()
