#!/usr/bin/perl
# perl_session: a small real session of Perl's Cache::Memcached
# (libcache-memcached-perl) and Cache::Memcached::Fast
# (libcache-memcached-fast-perl) against the server at HOST PORT; every
# result is asserted. Exit 0 when all pass, 1 with the failed check on stderr.
use strict;
use warnings;
use Cache::Memcached;
use Cache::Memcached::Fast;

use constant LARGE_LEN => 500 * 1024;
use constant TTL => 100;

my $checks = 0;

sub check {
    my ($what, $got, $want) = @_;
    $got = 'undef' unless defined $got;
    $want = 'undef' unless defined $want;
    if ($got ne $want) {
        print STDERR "perl: $what: got '$got', want '$want'\n";
        exit 1;
    }
    $checks++;
}

my $server = "$ARGV[0]:$ARGV[1]";
my $bin = join('', map { chr } 0 .. 255) . "\r\nEND\r\n\0";
my $big = join('', map { chr(($_ * 7) % 251) } 0 .. LARGE_LEN - 1);

# Cache::Memcached: the classic client, with its stats call.
my $c = Cache::Memcached->new({ servers => [$server], compress_threshold => 0 });
my $p = "pl:";
check("set", $c->set("${p}a", "alpha") ? 1 : 0, 1);
check("get", $c->get("${p}a"), "alpha");
check("miss", $c->get("${p}missing"), undef);
check("set binary", $c->set("${p}bin", $bin) ? 1 : 0, 1);
check("get binary", $c->get("${p}bin"), $bin);
check("set large", $c->set("${p}big", $big) ? 1 : 0, 1);
check("get large", $c->get("${p}big"), $big);
my $m = $c->get_multi("${p}a", "${p}bin", "${p}missing");
check("get_multi keys", join(',', sort keys %$m), "${p}a,${p}bin");
check("set counter", $c->set("${p}n", "10") ? 1 : 0, 1);
check("incr", $c->incr("${p}n", 5), 15);
check("decr", $c->decr("${p}n", 20), 0);
check("incr miss", $c->incr("${p}nothere", 1), undef);
check("add existing", $c->add("${p}a", "x") ? 1 : 0, 0);
check("replace miss", $c->replace("${p}nothere", "x") ? 1 : 0, 0);
check("delete", $c->delete("${p}a") ? 1 : 0, 1);
check("delete miss", $c->delete("${p}a") ? 1 : 0, 0);
my $st = $c->stats(['misc']);
check("stats get_hits > 0", $st->{hosts}{$server}{misc}{get_hits} > 0 ? 1 : 0, 1);

# Cache::Memcached::Fast: gets/cas, append/prepend, touch.
my $f = Cache::Memcached::Fast->new({ servers => [$server], compress_threshold => -1 });
$p = "plf:";
check("fast set", $f->set("${p}a", "alpha") ? 1 : 0, 1);
my $g = $f->gets("${p}a");
check("fast gets", $g->[1], "alpha");
check("fast cas", $f->cas("${p}a", $g->[0], "beta") ? 1 : 0, 1);
check("fast cas stale", $f->cas("${p}a", $g->[0], "gamma") ? 1 : 0, 0);
check("fast append", $f->append("${p}a", "-tail") ? 1 : 0, 1);
check("fast prepend", $f->prepend("${p}a", "head-") ? 1 : 0, 1);
check("fast after append", $f->get("${p}a"), "head-beta-tail");
check("fast set large", $f->set("${p}big", $big) ? 1 : 0, 1);
check("fast get large", $f->get("${p}big"), $big);
check("fast get_multi", join(',', sort keys %{ $f->get_multi("${p}a", "${p}x") }), "${p}a");
if ($f->can('touch')) {
    check("fast touch", $f->touch("${p}a", TTL) ? 1 : 0, 1);
    check("fast touch miss", $f->touch("${p}nothere", TTL) ? 1 : 0, 0);
}
check("fast delete", $f->delete("${p}a") ? 1 : 0, 1);
check("fast miss", $f->get("${p}a"), undef);
check("fast version", (values %{ $f->server_versions })[0] =~ /^1\./ ? 1 : 0, 1);
print "perl (Cache::Memcached $Cache::Memcached::VERSION, Cache::Memcached::Fast "
    . "$Cache::Memcached::Fast::VERSION): $checks checks passed\n";
