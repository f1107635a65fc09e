# tests/: integration tests of logwired over real WebSockets. Each starts
# the built daemon on a free loopback port with a temporary data directory
# (tests/harness.h). test_server: handshake, bad input, idempotence,
# resume, rewind, pings, shutdown. test_server_stream: order and
# exactly-once under load, replay->live switch, slow subscriber.
# test_crash: acknowledged messages survive kill -9.
SERVER_TEST_SOURCES = tests/test_server_common.h tests/test_server_common.c
SERVER_TEST_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests $(CUNIT_CFLAGS)
SERVER_TEST_LIBS = tests/libharness.a tests/libcu_run.a libclient.a \
	$(STORAGE_LIBS) libcommon.a $(JANSSON_LIBS) $(OPENSSL_LIBS) \
	$(CUNIT_LIBS) -lpthread
SERVER_TEST_DEPS = $(HARNESS_DEPS) libstorage.a \
	src/logwired$(EXEEXT)

check_PROGRAMS += tests/test_server tests/test_server_stream tests/test_crash
TESTS += tests/test_server tests/test_server_stream tests/test_crash

tests_test_server_SOURCES = tests/test_server.c $(SERVER_TEST_SOURCES)
tests_test_server_CPPFLAGS = $(SERVER_TEST_CPPFLAGS)
tests_test_server_LDADD = $(SERVER_TEST_LIBS)
tests_test_server_DEPENDENCIES = $(SERVER_TEST_DEPS)

tests_test_server_stream_SOURCES = tests/test_server_stream.c \
	$(SERVER_TEST_SOURCES)
tests_test_server_stream_CPPFLAGS = $(SERVER_TEST_CPPFLAGS)
tests_test_server_stream_LDADD = $(SERVER_TEST_LIBS)
tests_test_server_stream_DEPENDENCIES = $(SERVER_TEST_DEPS)

tests_test_crash_SOURCES = tests/test_crash.c $(SERVER_TEST_SOURCES)
tests_test_crash_CPPFLAGS = $(SERVER_TEST_CPPFLAGS)
tests_test_crash_LDADD = $(SERVER_TEST_LIBS)
tests_test_crash_DEPENDENCIES = $(SERVER_TEST_DEPS)

# test_limits: disk full on a small tmpfs (root only; exit 77, reported as
# SKIP, without), request-head timeout, connection limit.
check_PROGRAMS += tests/test_limits
TESTS += tests/test_limits
tests_test_limits_SOURCES = tests/test_limits.c
tests_test_limits_CPPFLAGS = $(HARNESS_CPPFLAGS)
tests_test_limits_LDADD = $(HARNESS_LIBS)
tests_test_limits_DEPENDENCIES = $(HARNESS_DEPS) src/logwired$(EXEEXT)

# test_req, test_frame_pos, test_httpreq: pure parts of the daemon on
# their own, linked with libdaemon.a, no logwired started.  test_req: the
# request reader (src/server/req.c).  test_frame_pos: frame headers
# (frame.c) and subscription start positions (pos.c).  test_httpreq:
# http.c's percent-decoding, target splitting, query parameters and
# request reader (byte by byte, pipelined, bodies, limits, refusals,
# 100-continue).  Their dependencies are computed from DAEMON_UNIT_LIBS.
DAEMON_UNIT_CPPFLAGS = $(DAEMON_CPPFLAGS) -I$(top_srcdir)/tests \
	$(CUNIT_CFLAGS)
DAEMON_UNIT_LIBS = tests/libcu_run.a libdaemon.a libcommon.a \
	$(LIBEVENT_LIBS) $(YAJL_LIBS) $(CUNIT_LIBS)
check_PROGRAMS += tests/test_req tests/test_frame_pos tests/test_httpreq
TESTS += tests/test_req tests/test_frame_pos tests/test_httpreq
tests_test_req_SOURCES = tests/test_req.c
tests_test_req_CPPFLAGS = $(DAEMON_UNIT_CPPFLAGS)
tests_test_req_LDADD = $(DAEMON_UNIT_LIBS)
tests_test_frame_pos_SOURCES = tests/test_frame_pos.c
tests_test_frame_pos_CPPFLAGS = $(DAEMON_UNIT_CPPFLAGS)
tests_test_frame_pos_LDADD = $(DAEMON_UNIT_LIBS)
tests_test_httpreq_SOURCES = tests/test_httpreq.c
tests_test_httpreq_CPPFLAGS = $(DAEMON_UNIT_CPPFLAGS)
tests_test_httpreq_LDADD = $(DAEMON_UNIT_LIBS)
