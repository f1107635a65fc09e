# tests/: CUnit tests of the storage engine.
check_PROGRAMS += tests/test_storage
TESTS += tests/test_storage
tests_test_storage_SOURCES = tests/test_storage.c
tests_test_storage_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_test_storage_LDADD = $(STORAGE_LIBS) $(CUNIT_LIBS) -lpthread
