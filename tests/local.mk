# tests/: CUnit programs and integration tests, run by make check.

# libcu_run.a: the main() of a CUnit program, written once (cu_run.h).
check_LIBRARIES += tests/libcu_run.a
tests_libcu_run_a_SOURCES = tests/cu_run.h tests/cu_run.c
tests_libcu_run_a_CPPFLAGS = $(AM_CPPFLAGS) $(CUNIT_CFLAGS)

include $(srcdir)/tests/storage.mk
include $(srcdir)/tests/cli.mk
include $(srcdir)/tests/server.mk
include $(srcdir)/tests/harness.mk
include $(srcdir)/tests/rest.mk
include $(srcdir)/tests/fuzz.mk
include $(srcdir)/tests/bench.mk
include $(srcdir)/tests/unit.mk
