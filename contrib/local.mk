# contrib/: operator tools and benchmarks (not part of make check).
