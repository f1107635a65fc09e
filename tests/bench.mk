# tests/: test_bench runs every network scenario of logwire-bench at a
# tiny scale against the real logwired and checks the counts in its JSON
# output (acks, deliveries, resumed clients), never its timings.
check_PROGRAMS += tests/test_bench
TESTS += tests/test_bench
tests_test_bench_SOURCES = tests/test_bench.c
tests_test_bench_CPPFLAGS = $(HARNESS_CPPFLAGS)
tests_test_bench_LDADD = $(HARNESS_LIBS)
tests_test_bench_DEPENDENCIES = $(HARNESS_DEPS) \
	src/logwired$(EXEEXT) src/logwire-bench$(EXEEXT)
