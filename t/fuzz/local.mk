# t/fuzz/: libFuzzer targets, seeds, dictionaries (owner: fuzz).
# The targets need clang (libFuzzer) whatever CC configure picked, so they are
# built and run by t/fuzz/run straight from the sources, not by automake:
#   make fuzz                    # FUZZ_SECONDS (60) per target, in <builddir>/fuzz
#   make fuzz FUZZ_SECONDS=600
#   make fuzz-replay             # build, replay regressions and seeds only
FUZZ_SECONDS = 60
FUZZ_RUN = FUZZ_BUILD='$(abs_top_builddir)/fuzz' FUZZ_CONFIG_DIR='$(abs_top_builddir)' \
	$(SHELL) $(top_srcdir)/t/fuzz/run

dist_noinst_SCRIPTS += t/fuzz/run t/fuzz/make_corpus.py
EXTRA_DIST += t/fuzz/fuzz_conn.c t/fuzz/fuzz_text_parse.c \
	t/fuzz/text.dict t/fuzz/bin.dict t/fuzz/README.md \
	t/fuzz/corpus t/fuzz/regressions

.PHONY: fuzz fuzz-replay
fuzz:
	$(FUZZ_RUN) $(FUZZ_SECONDS)
fuzz-replay:
	$(FUZZ_RUN) 0

# make check runs every target briefly (FUZZ_CHECK_SECONDS each) after
# replaying the seeds and regressions. The fuzz targets are ASan+UBSan builds
# of their own whatever configure chose, so only the plain build's `make check`
# runs them: the sanitizer build would repeat the very same run.
FUZZ_CHECK_SECONDS = 30
dist_noinst_SCRIPTS += t/fuzz/check.sh
if !SANITIZER_BUILD
TESTS += t/fuzz/check.sh
endif
