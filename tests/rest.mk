# tests/: integration tests of the REST API and its HTTP framing against
# the real logwired (tests/harness.h).
check_PROGRAMS += tests/test_rest tests/test_http
TESTS += tests/test_rest tests/test_http

# test_rest: publish and read back, history pages while publishers append,
# time ranges, a 100k-message export (plain and zstd), HTTP publish to
# WebSocket subscribers, every error status, keep-alive and pipelining,
# HEAD, CORS, /metrics, channel listing, curl end to end, and the snapshot
# endpoint with logwire verify and restore.
tests_test_rest_SOURCES = tests/test_rest.c
tests_test_rest_CPPFLAGS = $(HARNESS_CPPFLAGS) $(ZSTD_CFLAGS)
tests_test_rest_LDADD = $(HARNESS_LIBS) $(ZSTD_LIBS) -lpthread
tests_test_rest_DEPENDENCIES = $(HARNESS_DEPS) \
	src/logwired$(EXEEXT) src/logwire$(EXEEXT)

# test_http: HTTP framing on raw sockets: the version (505),
# Transfer-Encoding (501, 400 with Content-Length), header lines (space
# before the colon, bare CR, folding), strict chunked bodies, Expect:
# 100-continue (raw and with curl), absolute-form and OPTIONS * targets,
# and error bodies that stay UTF-8 JSON whatever the request held.
tests_test_http_SOURCES = tests/test_http.c
tests_test_http_CPPFLAGS = $(HARNESS_CPPFLAGS)
tests_test_http_LDADD = $(HARNESS_LIBS)
tests_test_http_DEPENDENCIES = $(HARNESS_DEPS) src/logwired$(EXEEXT)
