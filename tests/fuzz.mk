# tests/fuzz/: fuzz targets with committed seed corpora.  make check
# replays every corpus through its target (built with the normal compiler);
# ./configure CC=clang --enable-fuzzing also builds the libFuzzer binaries:
#	tests/fuzz/fuzz_http -dict=tests/fuzz/http.dict tests/fuzz/corpus/http
#	tests/fuzz/fuzz_snapshot tests/fuzz/corpus/snapshot
#	tests/fuzz/fuzz_req tests/fuzz/corpus/req
EXTRA_DIST += tests/fuzz/corpus tests/fuzz/http.dict

FUZZ_HTTP_SOURCES = tests/fuzz/fuzz_http.c
FUZZ_HTTP_LIBS = libdaemon.a libcommon.a $(LIBEVENT_LIBS)
FUZZ_SNAPSHOT_SOURCES = tests/fuzz/fuzz_snapshot.c
FUZZ_SNAPSHOT_LIBS = $(STORAGE_LIBS) -lpthread
FUZZ_REQ_SOURCES = tests/fuzz/fuzz_req.c
FUZZ_REQ_LIBS = libdaemon.a libcommon.a $(YAJL_LIBS) $(JANSSON_LIBS)

check_PROGRAMS += tests/fuzz/replay_http tests/fuzz/replay_snapshot \
	tests/fuzz/replay_req
TESTS += tests/fuzz/replay_http tests/fuzz/replay_snapshot \
	tests/fuzz/replay_req
tests_fuzz_replay_req_SOURCES = tests/fuzz/replay.c $(FUZZ_REQ_SOURCES)
tests_fuzz_replay_req_CPPFLAGS = $(DAEMON_CPPFLAGS) \
	-DCORPUS_DIR='"$(abs_top_srcdir)/tests/fuzz/corpus/req"'
tests_fuzz_replay_req_LDADD = $(FUZZ_REQ_LIBS)
tests_fuzz_replay_http_SOURCES = tests/fuzz/replay.c $(FUZZ_HTTP_SOURCES)
tests_fuzz_replay_http_CPPFLAGS = $(DAEMON_CPPFLAGS) \
	-DCORPUS_DIR='"$(abs_top_srcdir)/tests/fuzz/corpus/http"'
tests_fuzz_replay_http_LDADD = $(FUZZ_HTTP_LIBS)
tests_fuzz_replay_snapshot_SOURCES = tests/fuzz/replay.c \
	$(FUZZ_SNAPSHOT_SOURCES)
tests_fuzz_replay_snapshot_CPPFLAGS = $(AM_CPPFLAGS) \
	-DCORPUS_DIR='"$(abs_top_srcdir)/tests/fuzz/corpus/snapshot"'
tests_fuzz_replay_snapshot_LDADD = $(FUZZ_SNAPSHOT_LIBS)

if FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_http tests/fuzz/fuzz_snapshot \
	tests/fuzz/fuzz_req
tests_fuzz_fuzz_req_SOURCES = $(FUZZ_REQ_SOURCES)
tests_fuzz_fuzz_req_CPPFLAGS = $(DAEMON_CPPFLAGS)
tests_fuzz_fuzz_req_CFLAGS = $(AM_CFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_req_LDADD = $(FUZZ_REQ_LIBS)
tests_fuzz_fuzz_http_SOURCES = $(FUZZ_HTTP_SOURCES)
tests_fuzz_fuzz_http_CPPFLAGS = $(DAEMON_CPPFLAGS)
tests_fuzz_fuzz_http_CFLAGS = $(AM_CFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_http_LDADD = $(FUZZ_HTTP_LIBS)
tests_fuzz_fuzz_snapshot_SOURCES = $(FUZZ_SNAPSHOT_SOURCES)
tests_fuzz_fuzz_snapshot_CFLAGS = $(AM_CFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_snapshot_LDADD = $(FUZZ_SNAPSHOT_LIBS)
endif
