# slabs/: the storage engine (owner: slabs). Links only libcommon.a.
noinst_LIBRARIES += libslabs.a
libslabs_a_SOURCES = \
	slabs/store.h slabs/internal.h \
	slabs/slab.c slabs/assoc.c slabs/items.c slabs/store.c
