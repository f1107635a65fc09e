# tests/: unit tests of the common library (test_common: durations, JSON
# escaping, the accept key, the clock, /proc) and of the clients' shared
# code (test_client: URLs, connect and read with deadlines, HTTP
# responses, the WebSocket upgrade).  Neither needs a logwired.
check_PROGRAMS += tests/test_common tests/test_client
TESTS += tests/test_common tests/test_client

tests_test_common_SOURCES = tests/test_common.c
tests_test_common_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_test_common_LDADD = tests/libcu_run.a libcommon.a $(LIBEVENT_LIBS) \
	$(JANSSON_LIBS) $(OPENSSL_LIBS) $(CUNIT_LIBS)
tests_test_common_DEPENDENCIES = tests/libcu_run.a libcommon.a

tests_test_client_SOURCES = tests/test_client.c
tests_test_client_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_test_client_LDADD = tests/libcu_run.a libclient.a libcommon.a \
	$(OPENSSL_LIBS) $(CUNIT_LIBS)
tests_test_client_DEPENDENCIES = tests/libcu_run.a libclient.a libcommon.a
