# tests/: test_auth checks the credentials library (src/auth/) and runs
# the built logwire for `logwire token`.
check_PROGRAMS += tests/test_auth
TESTS += tests/test_auth
tests_test_auth_SOURCES = tests/test_auth.c
tests_test_auth_CPPFLAGS = $(AM_CPPFLAGS) $(CUNIT_CFLAGS) \
	-DTOP_BUILDDIR='"$(abs_top_builddir)"'
tests_test_auth_LDADD = $(AUTH_LIBS) libcommon.a $(CUNIT_LIBS)
tests_test_auth_DEPENDENCIES = libauth.a libcommon.a src/logwire$(EXEEXT)
