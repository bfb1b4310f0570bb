# t/stress/: bounded concurrency integrity tests against a started server.
