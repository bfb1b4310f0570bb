// gomemcache_session: a small real session of gomemcache
// (golang-github-bradfitz-gomemcache-dev, built offline from Debian's
// GOPATH) against the server at HOST PORT; every result is asserted.
// Debian's gomemcache has no stats, append or ping call. Exit 0 when all pass, 1 with the failed
// check on stderr.
package main

import (
	"bytes"
	"fmt"
	"os"
	"reflect"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
)

const largeLen = 500 * 1024
const ttl = 100

var checks = 0

func check(what string, got, want interface{}) {
	if !reflect.DeepEqual(got, want) {
		fmt.Fprintf(os.Stderr, "gomemcache: %s: got %v, want %v\n", what, got, want)
		os.Exit(1)
	}
	checks++
}

func value(c *memcache.Client, key string) []byte {
	it, err := c.Get(key)
	if err == memcache.ErrCacheMiss {
		return nil
	}
	check("get "+key+" error", err, nil)
	return it.Value
}

func main() {
	c := memcache.New(os.Args[1] + ":" + os.Args[2])
	c.Timeout = 5 * time.Second
	p := "go:"
	binary := append(func() []byte {
		b := make([]byte, 256)
		for i := range b {
			b[i] = byte(i)
		}
		return b
	}(), []byte("\r\nEND\r\n\x00")...)
	big := make([]byte, largeLen)
	for i := range big {
		big[i] = byte((i * 7) % 251)
	}
	check("set", c.Set(&memcache.Item{Key: p + "a", Value: []byte("alpha")}), nil)
	check("get", value(c, p+"a"), []byte("alpha"))
	_, err := c.Get(p + "missing")
	check("miss", err, memcache.ErrCacheMiss)
	check("set binary", c.Set(&memcache.Item{Key: p + "bin", Value: binary}), nil)
	check("get binary", value(c, p+"bin"), binary)
	check("set large", c.Set(&memcache.Item{Key: p + "big", Value: big}), nil)
	check("get large", bytes.Equal(value(c, p+"big"), big), true)
	m, err := c.GetMulti([]string{p + "a", p + "bin", p + "missing"})
	check("get multi error", err, nil)
	check("get multi size", len(m), 2)
	check("get multi a", m[p+"a"].Value, []byte("alpha"))
	check("set counter", c.Set(&memcache.Item{Key: p + "n", Value: []byte("10")}), nil)
	n, err := c.Increment(p+"n", 5)
	check("incr", [2]interface{}{n, err}, [2]interface{}{uint64(15), nil})
	n, err = c.Decrement(p+"n", 20)
	check("decr", [2]interface{}{n, err}, [2]interface{}{uint64(0), nil})
	_, err = c.Increment(p+"nothere", 1)
	check("incr miss", err, memcache.ErrCacheMiss)
	it, err := c.Get(p + "a")
	check("gets", err, nil)
	it.Value = []byte("beta")
	check("cas", c.CompareAndSwap(it), nil)
	it.Value = []byte("gamma")
	check("cas stale", c.CompareAndSwap(it), memcache.ErrCASConflict)
	check("after cas", value(c, p+"a"), []byte("beta"))
	check("add existing", c.Add(&memcache.Item{Key: p + "a", Value: []byte("x")}), memcache.ErrNotStored)
	check("replace miss", c.Replace(&memcache.Item{Key: p + "nothere", Value: []byte("x")}), memcache.ErrNotStored)
	check("touch", c.Touch(p+"a", ttl), nil)
	check("touch miss", c.Touch(p+"nothere", ttl), memcache.ErrCacheMiss)
	check("delete", c.Delete(p+"a"), nil)
	check("delete miss", c.Delete(p+"a"), memcache.ErrCacheMiss)
	check("get deleted", value(c, p+"a") == nil, true)
	fmt.Printf("gomemcache: %d checks passed\n", checks)
}
