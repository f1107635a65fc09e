# tests/: test_cli runs the built logwire against stores made with the
# storage API.
check_PROGRAMS += tests/test_cli
TESTS += tests/test_cli

tests_test_cli_SOURCES = tests/test_cli.c
tests_test_cli_CPPFLAGS = $(AM_CPPFLAGS) $(CUNIT_CFLAGS) \
	-DTOP_BUILDDIR='"$(abs_top_builddir)"'
tests_test_cli_LDADD = $(STORAGE_LIBS) libcommon.a $(CUNIT_LIBS) -lpthread
tests_test_cli_DEPENDENCIES = libstorage.a libcommon.a src/logwire$(EXEEXT)
