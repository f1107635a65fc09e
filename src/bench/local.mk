# src/bench/: logwire-bench, the load generator and benchmark (bench.h).
bin_PROGRAMS += src/logwire-bench
src_logwire_bench_SOURCES = src/bench/bench.h src/bench/bench.c \
	src/bench/bench-hist.c src/bench/bench-ws.c src/bench/bench-net.c
src_logwire_bench_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/bench
src_logwire_bench_LDADD = $(STORAGE_LIBS) libclient.a libcommon.a \
	$(LIBEVENT_LIBS) $(OPENSSL_LIBS) $(JANSSON_LIBS) -lpthread
src_logwire_bench_DEPENDENCIES = libstorage.a libclient.a libcommon.a
if HAVE_NATS
src_logwire_bench_SOURCES += src/bench/bench-nats.c
src_logwire_bench_LDADD += $(NATS_LIBS)
endif
