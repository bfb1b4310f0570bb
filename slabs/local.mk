# slabs/: the storage engine (owner: slabs). Links only libcommon.a, and
# libxxhash: whatever links libslabs.a adds $(XXHASH_LIBS).
noinst_LIBRARIES += libslabs.a
libslabs_a_SOURCES = \
	slabs/store.h slabs/internal.h \
	slabs/slab.c slabs/assoc.c slabs/items.c slabs/chain.c slabs/store.c \
	slabs/mover.c slabs/crawler.c slabs/restart.c slabs/sizes.c slabs/advisor.c
