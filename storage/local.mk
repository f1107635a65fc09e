# storage/: the log engine, a library of its own (no networking).
noinst_LIBRARIES += libstorage.a
libstorage_a_SOURCES = storage/storage.h storage/store-int.h \
	storage/store.c storage/record.c storage/chanlog.c \
	storage/retention.c storage/snapshot.c \
	storage/cidx.c
