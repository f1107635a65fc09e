# tests/: CUnit programs and integration tests, run by make check.
include $(srcdir)/tests/storage.mk
include $(srcdir)/tests/cli.mk
include $(srcdir)/tests/server.mk
include $(srcdir)/tests/harness.mk
include $(srcdir)/tests/rest.mk
include $(srcdir)/tests/fuzz.mk
include $(srcdir)/tests/auth.mk
include $(srcdir)/tests/bench.mk
