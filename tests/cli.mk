# tests/: test_cli runs the built logwire against stores made with the
# storage API.
check_PROGRAMS += tests/test_cli
TESTS += tests/test_cli

tests_test_cli_SOURCES = tests/test_cli.c
tests_test_cli_CPPFLAGS = $(UNIT_CPPFLAGS) \
	-DTOP_BUILDDIR='"$(abs_top_builddir)"'
tests_test_cli_LDADD = tests/libcu_run.a tests/libtstore.a $(STORAGE_LIBS) \
	libcommon.a $(CUNIT_LIBS) -lpthread
tests_test_cli_DEPENDENCIES = tests/libcu_run.a tests/libtstore.a \
	libstorage.a libcommon.a src/logwire$(EXEEXT)

# test_cli_net runs logwire's network commands against the real logwired,
# including tail resuming by itself across a kill -9 and restart, and
# (on a store written with the storage API) messages it cannot read.  Its
# stale-reader test holds a read transaction with the storage library.
check_PROGRAMS += tests/test_cli_net
TESTS += tests/test_cli_net
tests_test_cli_net_SOURCES = tests/test_cli_net.c
tests_test_cli_net_CPPFLAGS = $(HARNESS_CPPFLAGS)
tests_test_cli_net_LDADD = $(HARNESS_LIBS) tests/libtstore.a $(STORAGE_LIBS) \
	-lpthread
tests_test_cli_net_DEPENDENCIES = $(HARNESS_DEPS) tests/libtstore.a \
	libstorage.a src/logwire$(EXEEXT) src/logwired$(EXEEXT)
