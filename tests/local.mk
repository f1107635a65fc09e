# tests/: CUnit programs and integration tests, run by make check.

# The preprocessor flags of a CUnit program that needs no daemon.
UNIT_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests $(CUNIT_CFLAGS)

# libcu_run.a: the main() of a CUnit program, written once (cu_run.h).
check_LIBRARIES += tests/libcu_run.a
tests_libcu_run_a_SOURCES = tests/cu_run.h tests/cu_run.c
tests_libcu_run_a_CPPFLAGS = $(AM_CPPFLAGS) $(CUNIT_CFLAGS)

# libtstore.a: stores made, held and damaged for test_storage, test_cli and
# test_cli_net (tstore.h).
check_LIBRARIES += tests/libtstore.a
tests_libtstore_a_SOURCES = tests/tstore.h tests/tstore.c
tests_libtstore_a_CPPFLAGS = $(AM_CPPFLAGS) $(CUNIT_CFLAGS) $(ZSTD_CFLAGS)

include $(srcdir)/tests/storage.mk
include $(srcdir)/tests/cli.mk
include $(srcdir)/tests/server.mk
include $(srcdir)/tests/harness.mk
include $(srcdir)/tests/rest.mk
include $(srcdir)/tests/fuzz.mk
include $(srcdir)/tests/auth.mk
include $(srcdir)/tests/bench.mk
include $(srcdir)/tests/unit.mk
include $(srcdir)/tests/gauntlet.mk
