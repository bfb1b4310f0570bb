// SpySession: a small real session of spymemcached (libspymemcached-java)
// against the server at HOST PORT, over the text protocol and the binary one;
// every result is asserted. Run as `java -cp spymemcached.jar SpySession.java
// HOST PORT`. Exit 0 when all pass, 1 with the failed check on stderr.
import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import net.spy.memcached.BinaryConnectionFactory;
import net.spy.memcached.CASResponse;
import net.spy.memcached.CASValue;
import net.spy.memcached.DefaultConnectionFactory;
import net.spy.memcached.MemcachedClient;

public class SpySession {
    static final int LARGE_LEN = 500 * 1024;
    static final int TTL = 100;
    static final long WAIT_SECONDS = 5;
    static int checks = 0;

    static void check(String what, Object got, Object want) {
        boolean same = (got instanceof byte[] && want instanceof byte[])
            ? Arrays.equals((byte[]) got, (byte[]) want) : Objects.equals(got, want);
        if (!same) {
            System.err.println("spymemcached: " + what + ": got " + got + ", want " + want);
            System.exit(1);
        }
        checks++;
    }

    static byte[] binaryValue() {
        byte[] b = new byte[256 + 8];
        for (int i = 0; i < 256; i++) b[i] = (byte) i;
        byte[] tail = "\r\nEND\r\n\0".getBytes();
        System.arraycopy(tail, 0, b, 256, tail.length);
        return b;
    }

    static void session(MemcachedClient c, String p) throws Exception {
        check("set", c.set(p + "a", TTL, "alpha").get(), true);
        check("get", c.get(p + "a"), "alpha");
        check("miss", c.get(p + "missing"), null);
        byte[] bin = binaryValue();
        check("set binary", c.set(p + "bin", TTL, bin).get(), true);
        check("get binary", c.get(p + "bin"), bin);
        byte[] big = new byte[LARGE_LEN];
        for (int i = 0; i < LARGE_LEN; i++) big[i] = (byte) ((i * 7) % 251);
        check("set large", c.set(p + "big", TTL, big).get(), true);
        check("get large", c.get(p + "big"), big);
        Map<String, Object> m = c.getBulk(List.of(p + "a", p + "bin", p + "missing"));
        check("getBulk size", m.size(), 2);
        check("getBulk a", m.get(p + "a"), "alpha");
        check("set counter", c.set(p + "n", TTL, "10").get(), true);
        check("incr", c.incr(p + "n", 5), 15L);
        check("decr", c.decr(p + "n", 20), 0L);
        check("incr miss", c.incr(p + "nothere", 1), -1L);
        CASValue<Object> v = c.gets(p + "a");
        check("gets", v.getValue(), "alpha");
        check("cas", c.cas(p + "a", v.getCas(), "beta"), CASResponse.OK);
        check("cas stale", c.cas(p + "a", v.getCas(), "gamma"), CASResponse.EXISTS);
        check("after cas", c.get(p + "a"), "beta");
        check("append", c.append(0, p + "a", "-tail").get(), true);
        check("prepend", c.prepend(0, p + "a", "head-").get(), true);
        check("after append", c.get(p + "a"), "head-beta-tail");
        check("add existing", c.add(p + "a", TTL, "x").get(), false);
        check("replace miss", c.replace(p + "nothere", TTL, "x").get(), false);
        check("touch", c.touch(p + "a", TTL).get(), true);
        check("touch miss", c.touch(p + "nothere", TTL).get(), false);
        check("delete", c.delete(p + "a").get(), true);
        check("delete miss", c.delete(p + "a").get(), false);
        check("get deleted", c.get(p + "a"), null);
        Map<?, Map<String, String>> stats = c.getStats();
        check("stats one server", stats.size(), 1);
        Map<String, String> s = stats.values().iterator().next();
        check("stats get_hits > 0", Long.parseLong(s.get("get_hits")) > 0, true);
        check("version", c.getVersions().values().iterator().next().startsWith("1."), true);
    }

    public static void main(String[] args) throws Exception {
        InetSocketAddress addr = new InetSocketAddress(args[0], Integer.parseInt(args[1]));
        MemcachedClient text = new MemcachedClient(new DefaultConnectionFactory(), List.of(addr));
        session(text, "spy-text:");
        text.shutdown();
        MemcachedClient bin = new MemcachedClient(new BinaryConnectionFactory(), List.of(addr));
        session(bin, "spy-bin:");
        bin.shutdown();
        System.out.println("spymemcached: " + checks + " checks passed (text and binary protocols)");
    }
}
