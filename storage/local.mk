# storage/: the log engine, a library of its own (no networking).
noinst_LIBRARIES += libstorage.a
libstorage_a_SOURCES = storage/storage.h
