# tests/: CUnit tests of the storage engine.
check_PROGRAMS += tests/test_storage
TESTS += tests/test_storage
tests_test_storage_SOURCES = tests/test_storage.c
tests_test_storage_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_test_storage_LDADD = tests/libcu_run.a tests/libtstore.a $(STORAGE_LIBS) \
	$(CUNIT_LIBS) -lpthread
tests_test_storage_DEPENDENCIES = tests/libcu_run.a tests/libtstore.a \
	libstorage.a
