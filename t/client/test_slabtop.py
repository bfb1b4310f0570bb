#!/usr/bin/env python3
"""test_slabtop: contrib/slabtop against a started server, both ways.

--once: after 1,000 sets of 100-byte values and 10 of 1,000 bytes, the
snapshot shows one class row with 1000 items and one with 10, the totals
(1010 items) and the hit ratio of one hit and one miss (50.00%); slabcache
fills the waste column, memcached (SERVER_BIN) shows `-` there.

Live view, under tmux on a private socket: the rows are drawn, `z` (sort by
chunk size, largest first) puts the 10-item class above the 1000-item one,
and `q` ends slabtop. Skipped (exit 77) only when tmux is absent.

Retune (slabcache only: memcached has no `slabs retune`): on a fresh server,
RETUNE_COUNT values each of RETUNE_VALUES bytes, a snapshot, `slabs retune`;
within SCREEN_SECONDS the old classes drain and leave the view: --once then
shows one row per value size, each of a class numbered above every old one,
none marked retired, and the summary's retune line. How slabtop marks a
class still draining (`r`: a higher class has a chunk no larger) is checked
on its Snapshot.retired() with made-up `stats slabs` figures, since a real
drain ends too fast to catch.

Bounds: the server must accept within START_SECONDS, each screen condition
must appear within SCREEN_SECONDS (slabtop redraws at least every second, and
at once after a key; 10 s leaves room for sanitizer and valgrind servers).
"""
import importlib.machinery
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SLABTOP = os.path.join(HERE, "..", "..", "contrib", "slabtop")
START_SECONDS = 10
SCREEN_SECONDS = 10
POLL_SECONDS = 0.1
SMALL_VALUE, SMALL_COUNT = 100, 1000
LARGE_VALUE, LARGE_COUNT = 1000, 10
TMUX_COLUMNS, TMUX_ROWS = 160, 40
RETUNE_VALUES, RETUNE_COUNT = (20, 300), 1000
SKIP = 77

passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
        print("PASS: " + what)
    else:
        failed += 1
        print("FAIL: " + what)
    return ok


def server_bin():
    return os.environ.get("SERVER_BIN") or os.environ["SLABCACHE_BIN"]


def is_memcached():
    return os.path.basename(server_bin()).startswith("memcached")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server():
    """The server on a free loopback port; (process, port)."""
    port = free_port()
    args = [server_bin(), "-l", "127.0.0.1", "-p", str(port), "-U", "0"]
    if os.geteuid() == 0:
        args += ["-u", "root"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            time.sleep(POLL_SECONDS)
    proc.kill()
    sys.exit("test_slabtop: %s did not start on port %d" % (server_bin(), port))


def stop_server(proc):
    proc.terminate()
    try:
        proc.wait(timeout=START_SECONDS)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def recv_until(sock, end):
    buf = b""
    while not buf.endswith(end):
        chunk = sock.recv(65536)
        if not chunk:
            break
        buf += chunk
    return buf


def set_values(s, count, size, prefix):
    """count values of size bytes under prefix0000.., each STORED: keys of one
    length, so items of one size share a class whatever the header's size."""
    batch = b"".join(b"set %s%05d 0 0 %d\r\n%s\r\n" % (prefix.encode(), i, size, b"v" * size)
                     for i in range(count))
    s.sendall(batch)
    stored = b""
    while stored.count(b"STORED\r\n") < count:
        stored += recv_until(s, b"STORED\r\n")


def fill(port):
    """The sets, then one hit and one miss."""
    with socket.create_connection(("127.0.0.1", port), timeout=START_SECONDS) as s:
        for count, size, prefix in ((SMALL_COUNT, SMALL_VALUE, "small"),
                                    (LARGE_COUNT, LARGE_VALUE, "large")):
            set_values(s, count, size, prefix)
        s.sendall(b"get small00001\r\nget absent\r\n")
        recv_until(s, b"END\r\nEND\r\n")


def class_rows(lines):
    """The cells of the class rows below the CLASS heading, in screen order."""
    heading = next((i for i, l in enumerate(lines) if l.split()[:2] == ["CLASS", "CHUNK"]), None)
    if heading is None:
        return []
    rows = [line.split() for line in lines[heading + 1:]]
    return [cells for cells in rows if len(cells) >= 8 and cells[0].rstrip("r").isdigit()]


def rows_of(lines):
    """{items: (index, cells)} of the class rows."""
    return {int(cells[3]): (i, cells) for i, cells in enumerate(class_rows(lines))}


def once(port):
    """slabtop --once: its exit status, stderr and lines."""
    out = subprocess.run([sys.executable, SLABTOP, "--once", "127.0.0.1:%d" % port],
                         capture_output=True, text=True, timeout=SCREEN_SECONDS)
    return out.returncode, out.stderr.strip(), out.stdout.splitlines()


def test_once(port):
    rc, err, lines = once(port)
    print("\n".join(lines))
    check(rc == 0, "--once exits 0 (%s)" % err)
    rows = rows_of(lines)
    small, large = rows.get(SMALL_COUNT), rows.get(LARGE_COUNT)
    check(small is not None, "--once: a class row shows %d items" % SMALL_COUNT)
    check(large is not None, "--once: a class row shows %d items" % LARGE_COUNT)
    if small and large:
        check(SMALL_VALUE < int(small[1][1]) < LARGE_VALUE < int(large[1][1]),
              "--once: chunk sizes fit the values (%s, %s)" % (small[1][1], large[1][1]))
        check(small[1][2] == "1" and large[1][2] == "1", "--once: one page per class")
        waste = small[1][5]
        if is_memcached():
            check(waste == "-", "--once: memcached has no waste column (%s)" % waste)
        else:
            check(waste.replace(".", "").isdigit(), "--once: slabcache's waste %% (%s)" % waste)
        check(small[1][6] == "-", "--once: no evictions rate from one snapshot")
    summary = "\n".join(lines[:3])
    check("items %d " % (SMALL_COUNT + LARGE_COUNT) in summary, "--once: total items")
    check("hit ratio 50.00% (1 hits, 1 misses)" in summary, "--once: hit ratio")


class Tmux:
    """A tmux server of our own (-L), so nothing else's sessions are touched."""

    def __init__(self):
        self.socket = "slabtop-test-%d" % os.getpid()

    def run(self, *args):
        return subprocess.run(["tmux", "-L", self.socket] + list(args), capture_output=True,
                              text=True, timeout=SCREEN_SECONDS)

    def screen(self):
        return self.run("capture-pane", "-p", "-t", "view").stdout.splitlines()

    def wait_for(self, predicate):
        deadline = time.monotonic() + SCREEN_SECONDS
        while time.monotonic() < deadline:
            lines = self.screen()
            if predicate(lines):
                return lines
            time.sleep(POLL_SECONDS)
        return self.screen()

    def alive(self):
        return self.run("has-session", "-t", "view").returncode == 0

    def kill(self):
        self.run("kill-server")


def ordered(lines, first, second):
    rows = rows_of(lines)
    return first in rows and second in rows and rows[first][0] < rows[second][0]


def test_live(port):
    if shutil.which("tmux") is None:
        return False
    tmux = Tmux()
    try:
        cmd = "%s %s 127.0.0.1:%d" % (sys.executable, SLABTOP, port)
        started = tmux.run("new-session", "-d", "-s", "view", "-x", str(TMUX_COLUMNS),
                           "-y", str(TMUX_ROWS), cmd)
        check(started.returncode == 0, "tmux session started (%s)" % started.stderr.strip())
        lines = tmux.wait_for(lambda l: ordered(l, SMALL_COUNT, LARGE_COUNT))
        print("\n".join(lines).rstrip())
        check(ordered(lines, SMALL_COUNT, LARGE_COUNT),
              "live: both class rows drawn, by class number")
        check(any(l.startswith("items %d " % (SMALL_COUNT + LARGE_COUNT)) for l in lines),
              "live: totals drawn")
        tmux.run("send-keys", "-t", "view", "z")
        lines = tmux.wait_for(lambda l: ordered(l, LARGE_COUNT, SMALL_COUNT))
        print("\n".join(lines).rstrip())
        check(ordered(lines, LARGE_COUNT, SMALL_COUNT), "live: `z` sorts by chunk size, largest first")
        tmux.run("send-keys", "-t", "view", "q")
        deadline = time.monotonic() + SCREEN_SECONDS
        while tmux.alive() and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
        check(not tmux.alive(), "live: `q` quits")
    finally:
        tmux.kill()
    return True


def load_slabtop():
    """contrib/slabtop as a module (its file name has no .py)."""
    loader = importlib.machinery.SourceFileLoader("slabtop", SLABTOP)
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader("slabtop", loader))
    loader.exec_module(module)
    return module


def test_retired_mark():
    """Classes 1 and 7 of the first table draining into 40 and 41 of a retune's."""
    slabtop = load_slabtop()
    snap = slabtop.Snapshot.__new__(slabtop.Snapshot)
    snap.slabs = {1: {"chunk_size": "88"}, 7: {"chunk_size": "376"},
                  40: {"chunk_size": "64"}, 41: {"chunk_size": "344"}}
    snap.items = {}
    check(snap.retired() == {1, 7}, "retired: the first table's classes (%s)" % snap.retired())
    check(slabtop.class_cell({"class": 7, "retired": True}) == "7r"
          and slabtop.class_cell({"class": 40, "retired": False}) == "40",
          "retired: the class number marked r")


def test_retune():
    """A retune on a fresh server: the old classes drain out of the view."""
    proc, port = start_server()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=START_SECONDS) as s:
            for size in RETUNE_VALUES:
                set_values(s, RETUNE_COUNT, size, "r%d_" % size)
            old = max(int(c[0]) for c in class_rows(once(port)[2]))
            s.sendall(b"slabs retune\r\n")
            check(recv_until(s, b"\r\n") == b"OK\r\n", "retune: `slabs retune` says OK")
        deadline = time.monotonic() + SCREEN_SECONDS
        while True:
            rc, err, lines = once(port)
            rows = class_rows(lines)
            drained = len(rows) == len(RETUNE_VALUES) and all(
                c[0].isdigit() and int(c[0]) > old for c in rows)
            if drained or time.monotonic() >= deadline:
                break
            time.sleep(POLL_SECONDS)
        print("\n".join(lines))
        check(rc == 0, "retune: --once exits 0 (%s)" % err)
        check(drained, "retune: one row per value size, all above class %d, none retired" % old)
        check(all(c[3] == str(RETUNE_COUNT) for c in rows), "retune: every item moved over")
        check(any(l.startswith("class table retuned 1 time, last ") for l in lines[:4]),
              "retune: the summary's retune line")
    finally:
        stop_server(proc)


def main():
    proc, port = start_server()
    try:
        fill(port)
        test_once(port)
        live_ran = test_live(port)
    finally:
        stop_server(proc)
    test_retired_mark()
    if not is_memcached():
        test_retune()
    if not live_ran:
        print("test_slabtop: SKIP: tmux is not installed (apt-get install tmux), "
              "so the live view was not tested; --once: %d passed, %d failed" % (passed, failed))
        return 1 if failed else SKIP
    print("test_slabtop: %d passed, %d failed" % (passed, failed))
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
