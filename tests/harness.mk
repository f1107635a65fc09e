# tests/: libharness.a, the helpers of the integration tests that drive
# the real logwired (tests/harness.h), and test_wsc, the WebSocket
# client's own tests against an in-process wslay server.
#
# An integration test links with:
#	tests_test_x_CPPFLAGS = $(HARNESS_CPPFLAGS)
#	tests_test_x_LDADD = $(HARNESS_LIBS)
#	tests_test_x_DEPENDENCIES = $(HARNESS_DEPS) and the programs it runs
check_LIBRARIES += tests/libharness.a
tests_libharness_a_SOURCES = tests/harness.h tests/harness.c
tests_libharness_a_CPPFLAGS = $(AM_CPPFLAGS) \
	-DTOP_BUILDDIR='"$(abs_top_builddir)"'

HARNESS_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests $(CUNIT_CFLAGS)
HARNESS_LIBS = tests/libharness.a tests/libcu_run.a libclient.a libcommon.a \
	$(JANSSON_LIBS) $(YAJL_LIBS) $(OPENSSL_LIBS) $(CUNIT_LIBS)
HARNESS_DEPS = tests/libharness.a tests/libcu_run.a libclient.a libcommon.a

check_PROGRAMS += tests/test_wsc
TESTS += tests/test_wsc
tests_test_wsc_SOURCES = tests/test_wsc.c
tests_test_wsc_CPPFLAGS = $(HARNESS_CPPFLAGS)
tests_test_wsc_LDADD = $(HARNESS_LIBS)
tests_test_wsc_DEPENDENCIES = $(HARNESS_DEPS)
