#!/usr/bin/env ruby
# dalli_session: a small real session of Dalli (ruby-dalli) against the
# server at HOST PORT, over each protocol this Dalli speaks (binary, and meta
# where it has it); every result is asserted. Exit 0 when all pass.
require 'dalli'

LARGE_LEN = 500 * 1024
BINARY = ((0..255).map(&:chr).join + "\r\nEND\r\n\0").b

$checks = 0
RAW = { raw: true }.freeze   # store the bytes given, not Marshal's encoding

def check(what, got, want)
  unless got == want
    warn "dalli: #{what}: got #{got.inspect}, want #{want.inspect}"
    exit 1
  end
  $checks += 1
end

def session(server, protocol)
  opts = { socket_timeout: 5, compress: false }
  opts[:protocol] = protocol if protocol
  c = Dalli::Client.new(server, opts)
  p = "rb#{protocol}:"
  check('set', !!c.set(p + 'a', 'alpha', nil, RAW), true)
  check('get', c.get(p + 'a'), 'alpha')
  check('miss', c.get(p + 'missing'), nil)
  check('set binary', !!c.set(p + 'bin', BINARY, nil, RAW), true)
  check('get binary', c.get(p + 'bin').b, BINARY)
  big = (0...LARGE_LEN).map { |i| ((i * 7) % 251).chr }.join.b
  check('set large', !!c.set(p + 'big', big, nil, RAW), true)
  check('get large', c.get(p + 'big').b, big)
  got = c.get_multi(p + 'a', p + 'bin', p + 'missing')
  check('get_multi keys', got.keys.sort, [p + 'a', p + 'bin'].sort)
  check('get_multi value', got[p + 'a'], 'alpha')
  check('set counter', !!c.set(p + 'n', '10', nil, RAW), true)
  check('incr', c.incr(p + 'n', 5), 15)
  check('decr', c.decr(p + 'n', 20), 0)
  check('incr miss', c.incr(p + 'nothere', 1), nil)
  check('cas', !!c.cas(p + 'a', nil, RAW) { |v| v + '-cas' }, true)
  check('after cas', c.get(p + 'a'), 'alpha-cas')
  check('cas miss', c.cas(p + 'nothere', nil, RAW) { |v| v }, nil)
  check('append', !!c.append(p + 'a', '-tail'), true)
  check('prepend', !!c.prepend(p + 'a', 'head-'), true)
  check('after append', c.get(p + 'a'), 'head-alpha-cas-tail')
  check('add existing', !!c.add(p + 'a', 'x', nil, RAW), false)
  # Dalli 3.0's binary replace answers a miss with cas 0, not false: the
  # check is that nothing was stored.
  c.replace(p + 'nothere', 'x', nil, RAW)
  check('replace miss stores nothing', c.get(p + 'nothere'), nil)
  check('touch', !!c.touch(p + 'a', 100), true)
  check('touch miss', !!c.touch(p + 'nothere', 100), false)
  check('delete', !!c.delete(p + 'a'), true)
  check('delete miss', !!c.delete(p + 'a'), false)
  check('get deleted', c.get(p + 'a'), nil)
  stats = c.stats
  check('stats one server', stats.size, 1)
  check('stats get_hits > 0', stats.values.first['get_hits'].to_i > 0, true)
  check('version', c.version.values.first.start_with?('1.'), true)
  c.close
end

server = "#{ARGV[0]}:#{ARGV[1]}"
protocols = [nil]
protocols = %i[binary meta] if defined?(Dalli::Protocol::Meta)
protocols.each { |pr| session(server, pr) }
puts "dalli #{Dalli::VERSION}: #{$checks} checks passed (protocols: #{protocols.map { |x| x || :default }.join(' ')})"
