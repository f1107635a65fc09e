# tests/: test_auth checks the credentials library (src/auth/) and runs
# the built logwire for `logwire token`.
check_PROGRAMS += tests/test_auth
TESTS += tests/test_auth
tests_test_auth_SOURCES = tests/test_auth.c
tests_test_auth_CPPFLAGS = $(AM_CPPFLAGS) $(CUNIT_CFLAGS) \
	-DTOP_BUILDDIR='"$(abs_top_builddir)"'
tests_test_auth_LDADD = $(AUTH_LIBS) libcommon.a $(CUNIT_LIBS)
tests_test_auth_DEPENDENCIES = libauth.a libcommon.a src/logwire$(EXEEXT)

# Fuzz targets of the credentials library, built and replayed as
# tests/fuzz.mk does for the others: make check replays each committed
# corpus; ./configure CC=clang --enable-fuzzing builds the libFuzzer
# binaries:
#	tests/fuzz/fuzz_token -dict=tests/fuzz/token.dict tests/fuzz/corpus/token
#	tests/fuzz/fuzz_cap -dict=tests/fuzz/cap.dict tests/fuzz/corpus/cap
EXTRA_DIST += tests/fuzz/token.dict tests/fuzz/cap.dict

FUZZ_TOKEN_SOURCES = tests/fuzz/fuzz_token.c
FUZZ_CAP_SOURCES = tests/fuzz/fuzz_cap.c
FUZZ_AUTH_LIBS = $(AUTH_LIBS) libcommon.a

check_PROGRAMS += tests/fuzz/replay_token tests/fuzz/replay_cap
TESTS += tests/fuzz/replay_token tests/fuzz/replay_cap
tests_fuzz_replay_token_SOURCES = tests/fuzz/replay.c $(FUZZ_TOKEN_SOURCES)
tests_fuzz_replay_token_CPPFLAGS = $(AM_CPPFLAGS) \
	-DCORPUS_DIR='"$(abs_top_srcdir)/tests/fuzz/corpus/token"'
tests_fuzz_replay_token_LDADD = $(FUZZ_AUTH_LIBS)
tests_fuzz_replay_cap_SOURCES = tests/fuzz/replay.c $(FUZZ_CAP_SOURCES)
tests_fuzz_replay_cap_CPPFLAGS = $(AM_CPPFLAGS) \
	-DCORPUS_DIR='"$(abs_top_srcdir)/tests/fuzz/corpus/cap"'
tests_fuzz_replay_cap_LDADD = $(FUZZ_AUTH_LIBS)

if FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_token tests/fuzz/fuzz_cap
tests_fuzz_fuzz_token_SOURCES = $(FUZZ_TOKEN_SOURCES)
tests_fuzz_fuzz_token_CFLAGS = $(AM_CFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_token_LDADD = $(FUZZ_AUTH_LIBS)
tests_fuzz_fuzz_cap_SOURCES = $(FUZZ_CAP_SOURCES)
tests_fuzz_fuzz_cap_CFLAGS = $(AM_CFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_cap_LDADD = $(FUZZ_AUTH_LIBS)
endif
