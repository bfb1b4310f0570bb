#!/bin/sh
# make check's fuzz pass: replay regressions and seeds, then fuzz each target
# for FUZZ_CHECK_SECONDS (set by the Makefile), so regressions surface in CI.
here=$(cd "$(dirname "$0")" && pwd)
exec sh "$here/run" "${FUZZ_CHECK_SECONDS:-30}"
