# doc/: man page and notes.
# doc/slabcache.1 is generated from the option table (server/settings.h) by
# server/gen_man at build time: the page cannot disagree with the flags.
man_MANS = doc/slabcache.1
CLEANFILES += doc/slabcache.1
doc/slabcache.1: server/gen_man$(EXEEXT)
	@$(MKDIR_P) doc
	$(AM_V_GEN)./server/gen_man$(EXEEXT) > $@.tmp && mv $@.tmp $@
EXTRA_DIST += doc/scaling.md
EXTRA_DIST += doc/tuning.md
