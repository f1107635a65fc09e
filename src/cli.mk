# src/: the command-line client logwire and logwire-bench.
bin_PROGRAMS += src/logwire src/logwire-bench

src_logwire_SOURCES = src/logwire.c src/cmd-store.c src/cmd-ws.c \
	src/cmd-rest.c src/cmd-token.c src/httpc.c src/httpc.h src/logwire.h
src_logwire_LDADD = $(STORAGE_LIBS) libwsc.a libauth.a libcommon.a \
	$(JANSSON_LIBS) $(OPENSSL_LIBS) -lpthread
src_logwire_DEPENDENCIES = libstorage.a libwsc.a libauth.a libcommon.a

src_logwire_bench_SOURCES = src/bench.c src/bench-hist.c src/bench-ws.c \
	src/bench-net.c src/bench.h src/logwire.h
src_logwire_bench_LDADD = $(STORAGE_LIBS) libcommon.a $(LIBEVENT_LIBS) \
	$(OPENSSL_LIBS) $(JANSSON_LIBS) -lpthread
src_logwire_bench_DEPENDENCIES = libstorage.a libcommon.a
if HAVE_NATS
src_logwire_bench_SOURCES += src/bench-nats.c
src_logwire_bench_LDADD += $(NATS_LIBS)
endif
