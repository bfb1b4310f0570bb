#!/usr/bin/env python3
"""Writes the seed corpora under t/fuzz/corpus/ (checked in; rerun after
changing the seeds here). Each seed is one request or a short pipeline.

fuzz_conn and fuzz_bin inputs start with the harness's control byte and read
sizes (see fuzz_conn.c): most seeds use control 0 (one read); a few split the
bytes so the incomplete-request paths are seeded too.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

TEXT = {
    "get_miss": b"get k\r\n",
    "set_get": b"set k 0 0 1\r\nx\r\nget k\r\n",
    "set_gets": b"set foo 5 0 3\r\nbar\r\ngets foo\r\n",
    "multiget": b"set a 0 0 1\r\n1\r\nset b 0 0 1\r\n2\r\nget a b c a\r\n",
    "add_twice": b"add k 0 0 1\r\nx\r\nadd k 0 0 1\r\ny\r\n",
    "replace": b"replace k 0 0 1\r\nx\r\nset k 0 0 1\r\nx\r\nreplace k 1 0 2\r\nyy\r\nget k\r\n",
    "append_prepend": b"set k 0 0 1\r\nm\r\nappend k 0 0 1\r\nz\r\nprepend k 0 0 1\r\na\r\nget k\r\n",
    "cas": b"set k 0 0 1\r\nx\r\ngets k\r\ncas k 0 0 1 1\r\ny\r\ncas k 0 0 1 999\r\nz\r\n",
    "cas_missing": b"cas nokey 0 0 1 5\r\nx\r\n",
    "incr_decr": b"set n 0 0 2\r\n10\r\nincr n 5\r\ndecr n 100\r\nincr n 18446744073709551615\r\n",
    "incr_nonnum": b"set n 0 0 1\r\nx\r\nincr n 1\r\nincr missing 1\r\n",
    "delete": b"set k 0 0 1\r\nx\r\ndelete k\r\ndelete k\r\ndelete k 0\r\ndelete k noreply\r\n",
    "touch": b"set k 0 0 1\r\nx\r\ntouch k 100\r\ntouch nokey 1\r\n",
    "gat": b"set k 0 0 1\r\nx\r\ngat 100 k\r\ngats 0 k nokey\r\n",
    "expire": b"set k 0 1 1\r\nx\r\nset j 0 -1 1\r\ny\r\nget k j\r\n",
    "abs_exptime": b"set k 0 1700000000 1\r\nx\r\nget k\r\n",
    "flush": b"set k 0 0 1\r\nx\r\nflush_all\r\nget k\r\nflush_all 10\r\nflush_all 0 noreply\r\n",
    "stats": b"stats\r\nstats slabs\r\nstats nosuch\r\nstats reset\r\n",
    "version_verbosity": b"version\r\nverbosity 1\r\nverbosity x\r\nverbosity 1 noreply\r\n",
    "quit": b"get k\r\nquit\r\nget k\r\n",
    "shutdown": b"shutdown bad\r\nshutdown graceful\r\n",
    "memlimit": b"cache_memlimit 1\r\ncache_memlimit 8\r\ncache_memlimit 100000000\r\ncache_memlimit x\r\n",
    "noreply_pipeline": b"set a 0 0 1 noreply\r\n1\r\nadd a 0 0 1 noreply\r\n2\r\nincr a 1 noreply\r\nget a\r\n",
    "bad_data_chunk": b"set k 0 0 1\r\nxyz\r\nget k\r\n",
    "too_large": b"set k 0 0 5000\r\n" + b"v" * 64 + b"\r\nget k\r\n",
    "negative_len": b"set k 0 0 -1\r\nget k\r\n",
    "bad_format": b"set k x 0 1\r\nx\r\nincr k x\r\ntouch k x\r\nget\r\n",
    "unknown": b"bogus\r\n\r\n   \r\nGET k\r\n",
    "bare_lf": b"set k 0 0 1\nx\nget k\n",
    "key_too_long": b"get " + b"k" * 251 + b"\r\nset " + b"k" * 251 + b" 0 0 1\r\nx\r\n",
    "long_get": b"get " + b" ".join(b"key%03d" % i for i in range(300)) + b"\r\n",
    "long_line": b"set " + b"x" * 2100 + b"\r\n",
    "long_gets_badkey": b"gets a " + b"z" * 2300 + b" b\r\n",
    "evict": b"".join(b"set s%d 0 0 %d\r\n%s\r\n" % (i, n, b"v" * n)
                      for i, n in enumerate((40, 70, 110, 160, 230, 320, 420)))
             + b"".join(b"set e%02d 0 0 1000\r\n%s\r\n" % (i, b"w" * 1000) for i in range(5))
             + b"get e00 s0\r\nstats\r\n",
    "mg": b"set k 0 0 1\r\nx\r\nmg k v f t c s k h l\r\nmg nokey v\r\nmg k q\r\nmn\r\n",
    "ms": b"ms k 2 F5 T60\r\nhi\r\nms k 1 MA\r\nx\r\nms k 1 C1 q\r\ny\r\nmg k v c\r\n",
    "md": b"set k 0 0 1\r\nx\r\nmd k\r\nmd k q\r\nmd k I T30\r\nmn\r\n",
    "ma": b"ma n N0 J13\r\nma n MI D5 v\r\nma n MD D100 v t c\r\nma missing\r\n",
    "me": b"set k 0 0 1\r\nx\r\nme k\r\nme nokey\r\n",
    "meta_base64": b"ms Zm9v 1 b\r\nx\r\nmg Zm9v b v k\r\nmd Zm9v b\r\n",
    "meta_opaque": b"mg k Oabc v\r\nms k 1 Oxyz\r\n1\r\nmn\r\n",
    "meta_bad": b"mg\r\nms k\r\nms k x\r\nma k MX\r\nmg k \x01\r\n",
}

# Seeds that are fed in several reads: (control byte, read sizes, bytes).
TEXT_SPLIT = {
    "split_set": (0x03, [2, 5, 0], b"set k 0 0 10\r\n0123456789\r\nget k\r\n"),
    "split_slow_reader": (0x22, [1, 40], b"set k 0 0 5\r\nhello\r\nget k k k k\r\n"),
    "split_iov1_clock": (0x49, [0], b"set k 0 2 1\r\nx\r\nget k\r\nget k\r\nget k\r\n"),
    "split_long_get": (0x01, [200], b"get " + b" ".join(b"key%03d" % i for i in range(400)) + b"\r\n"),
}


def bin_frame(op, key=b"", extras=b"", value=b"", opaque=0, cas=0, magic=0x80):
    body = extras + key + value
    return struct.pack(">BBHBBHIIQ", magic, op, len(key), len(extras), 0, 0,
                       len(body), opaque, cas) + body


def set_extras(flags=0, exp=0):
    return struct.pack(">II", flags, exp)


def arith_extras(delta=1, initial=0, exp=0):
    return struct.pack(">QQI", delta, initial, exp)


BIN = {
    "get_miss": bin_frame(0x00, b"k"),
    "set_get": bin_frame(0x01, b"k", set_extras(5), b"val") + bin_frame(0x00, b"k"),
    "getk_getq": bin_frame(0x01, b"k", set_extras(), b"v") + bin_frame(0x0c, b"k")
                 + bin_frame(0x09, b"nokey") + bin_frame(0x0d, b"k") + bin_frame(0x0a),
    "add_replace": bin_frame(0x02, b"k", set_extras(), b"1") + bin_frame(0x02, b"k", set_extras(), b"2")
                   + bin_frame(0x03, b"k", set_extras(), b"3") + bin_frame(0x03, b"n", set_extras(), b"4"),
    "append_prepend": bin_frame(0x01, b"k", set_extras(), b"m") + bin_frame(0x0e, b"k", b"", b"z")
                      + bin_frame(0x0f, b"k", b"", b"a") + bin_frame(0x00, b"k"),
    "cas": bin_frame(0x01, b"k", set_extras(), b"x") + bin_frame(0x01, b"k", set_extras(), b"y", cas=12345),
    "delete": bin_frame(0x01, b"k", set_extras(), b"x") + bin_frame(0x04, b"k") + bin_frame(0x04, b"k"),
    "incr_decr": bin_frame(0x05, b"n", arith_extras(5, 10)) + bin_frame(0x05, b"n", arith_extras(5, 10))
                 + bin_frame(0x06, b"n", arith_extras(100)) + bin_frame(0x05, b"m", arith_extras(1, 0, 0xffffffff)),
    "incr_nonnum": bin_frame(0x01, b"n", set_extras(), b"abc") + bin_frame(0x05, b"n", arith_extras(1)),
    "quiet_ops": bin_frame(0x11, b"k", set_extras(), b"x") + bin_frame(0x12, b"k", set_extras(), b"x")
                 + bin_frame(0x14, b"k") + bin_frame(0x15, b"n", arith_extras()) + bin_frame(0x0a),
    "flush": bin_frame(0x01, b"k", set_extras(), b"x") + bin_frame(0x08) + bin_frame(0x00, b"k")
             + bin_frame(0x08, extras=struct.pack(">I", 10)) + bin_frame(0x18),
    "noop_version": bin_frame(0x0a) + bin_frame(0x0b),
    "stat": bin_frame(0x10) + bin_frame(0x10, b"slabs") + bin_frame(0x10, b"bogus") + bin_frame(0x10, b"reset"),
    "verbosity": bin_frame(0x1b, extras=struct.pack(">I", 1)),
    "touch_gat": bin_frame(0x01, b"k", set_extras(), b"x") + bin_frame(0x1c, b"k", struct.pack(">I", 100))
                 + bin_frame(0x1d, b"k", struct.pack(">I", 0)) + bin_frame(0x1e, b"no", struct.pack(">I", 0))
                 + bin_frame(0x23, b"k", struct.pack(">I", 5)) + bin_frame(0x24, b"k", struct.pack(">I", 5)),
    "quit": bin_frame(0x0a) + bin_frame(0x07) + bin_frame(0x0a),
    "quitq": bin_frame(0x17),
    "bad_magic": bin_frame(0x0a) + bin_frame(0x0a, magic=0x81),
    "unknown_op": bin_frame(0x55) + bin_frame(0x0a),
    "bad_extras": bin_frame(0x00, b"k", b"\x00\x00") + bin_frame(0x01, b"k", b"", b"x"),
    "key_too_long": bin_frame(0x00, b"k" * 251) + bin_frame(0x0a),
    "too_large": bin_frame(0x01, b"k", set_extras(), b"v" * 5000),
    "no_key": bin_frame(0x01, b"", set_extras(), b"x") + bin_frame(0x00),
    "big_body_len": struct.pack(">BBHBBHIIQ", 0x80, 0x01, 1, 8, 0, 0, 0x7fffffff, 0, 0) + b"\x00" * 9,
}

BIN_SPLIT = {
    "split_set": (0x03, [3, 20, 1], bin_frame(0x01, b"key", set_extras(), b"0123456789") + bin_frame(0x00, b"key")),
    "split_slow": (0x21, [7], bin_frame(0x01, b"k", set_extras(), b"x" * 100) + bin_frame(0x0c, b"k") * 3),
}

PARSE = {
    "line": b"get a b c\r\n",
    "numbers": b"set k 18446744073709551615 -9223372036854775808 +1 0\r\n",
    "overflow": b"incr k 18446744073709551616 99999999999999999999 -9223372036854775809\r\n",
    "spaces": b"   get    a   \r\n \n\r\n",
    "bare_lf_cr": b"a\rb c\r\r\nd\n",
    "tail": b"gets a b c",
    "u32": b"verbosity 4294967295 4294967296 +4294967295\r\n",
    "zeros": b"touch k 0000000000000000000000000000000000001\r\n",
    "signs": b"x + - +- -+ -0 +0 --1\r\n",
    "nul": b"get a\x00b\r\n\x00\n",
}


def write(dirname, name, data):
    d = os.path.join(HERE, "corpus", dirname)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    for name, data in TEXT.items():
        write("fuzz_conn", name, b"\x00" + data)
    for name, (ctl, sizes, data) in TEXT_SPLIT.items():
        write("fuzz_conn", name, bytes([ctl] + sizes) + data)
    # A few binary seeds for fuzz_conn too: -B auto picks binary on 0x80.
    for name in ("set_get", "incr_decr", "quit"):
        write("fuzz_conn", "bin_" + name, b"\x00" + BIN[name])
    for name, data in BIN.items():
        write("fuzz_bin", name, b"\x00" + data)
    for name, (ctl, sizes, data) in BIN_SPLIT.items():
        write("fuzz_bin", name, bytes([ctl] + sizes) + data)
    for name, data in PARSE.items():
        write("fuzz_text_parse", name, data)
    for name, data in TEXT.items():
        if len(data) < 400:
            write("fuzz_text_parse", "cmd_" + name, data)


if __name__ == "__main__":
    main()
