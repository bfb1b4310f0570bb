<?php
// php_session: a small real session of php-memcached (the Memcached class,
// over libmemcached) against the server at HOST PORT, over the text protocol
// and the binary one; every result is asserted. Exit 0 when all pass.
const LARGE_LEN = 500 * 1024;
const TTL = 100;
$checks = 0;

function check($what, $got, $want) {
    global $checks;
    if ($got !== $want) {
        fwrite(STDERR, "php-memcached: $what: got " . var_export($got, true)
               . ", want " . var_export($want, true) . "\n");
        exit(1);
    }
    $checks++;
}

function session($host, $port, $binary) {
    $c = new Memcached();
    $c->setOption(Memcached::OPT_BINARY_PROTOCOL, $binary);
    $c->setOption(Memcached::OPT_COMPRESSION, false);   // append needs raw values
    $c->addServer($host, $port);
    $p = $binary ? "php-bin:" : "php-text:";
    $bin = implode('', array_map('chr', range(0, 255))) . "\r\nEND\r\n\0";
    $big = '';
    for ($i = 0; $i < LARGE_LEN; $i++) $big .= chr(($i * 7) % 251);
    check("set", $c->set($p . "a", "alpha"), true);
    check("get", $c->get($p . "a"), "alpha");
    check("miss", $c->get($p . "missing"), false);
    check("miss code", $c->getResultCode(), Memcached::RES_NOTFOUND);
    check("set binary", $c->set($p . "bin", $bin), true);
    check("get binary", $c->get($p . "bin"), $bin);
    check("set large", $c->set($p . "big", $big), true);
    check("get large", $c->get($p . "big"), $big);
    check("getMulti", $c->getMulti([$p . "a", $p . "bin", $p . "missing"]),
          [$p . "a" => "alpha", $p . "bin" => $bin]);
    check("set counter", $c->set($p . "n", "10"), true);
    check("incr", $c->increment($p . "n", 5), 15);
    check("decr", $c->decrement($p . "n", 20), 0);
    check("incr miss", $c->increment($p . "nothere", 1), false);
    $r = $c->get($p . "a", null, Memcached::GET_EXTENDED);
    check("gets", $r["value"], "alpha");
    check("cas", $c->cas($r["cas"], $p . "a", "beta"), true);
    check("cas stale", $c->cas($r["cas"], $p . "a", "gamma"), false);
    check("cas stale code", $c->getResultCode(), Memcached::RES_DATA_EXISTS);
    check("after cas", $c->get($p . "a"), "beta");
    check("append", $c->append($p . "a", "-tail"), true);
    check("prepend", $c->prepend($p . "a", "head-"), true);
    check("after append", $c->get($p . "a"), "head-beta-tail");
    check("add existing", $c->add($p . "a", "x"), false);
    check("replace miss", $c->replace($p . "nothere", "x"), false);
    check("touch", $c->touch($p . "a", TTL), true);
    check("touch miss", $c->touch($p . "nothere", TTL), false);
    check("delete", $c->delete($p . "a"), true);
    check("delete miss", $c->delete($p . "a"), false);
    check("get deleted", $c->get($p . "a"), false);
    $stats = $c->getStats();
    check("stats one server", count($stats), 1);
    $first = reset($stats);
    check("stats get_hits > 0", $first["get_hits"] > 0, true);
    $versions = $c->getVersion();
    check("version", substr(reset($versions), 0, 2), "1.");
    $c->quit();
}

session($argv[1], (int)$argv[2], false);
session($argv[1], (int)$argv[2], true);
echo "php-memcached " . phpversion("memcached") . ": $checks checks passed (text and binary protocols)\n";
