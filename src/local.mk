# src/: the daemon.
sbin_PROGRAMS += src/logwired
src_logwired_SOURCES = src/logwired.c src/server.c src/server-conn.c src/conn.c src/http.c \
	src/ws.c src/proto.c src/pos.c src/sub.c src/channel.c src/frame.c src/writer.c \
	src/rest.c src/metrics.c
src_logwired_LDADD = libcommon.a $(STORAGE_LIBS) $(LIBEVENT_LIBS) \
	$(OPENSSL_LIBS) $(JANSSON_LIBS) $(YAJL_LIBS)
