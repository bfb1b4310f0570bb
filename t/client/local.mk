# t/client/: tests against a started server (libmemcached, raw sockets, memccapable).
