# src/server/: logwired, the daemon.  Everything but main() is in
# libdaemon.a, so that the unit tests and fuzz targets of its pure parts
# (the request reader, the HTTP reader, frames, positions) link just what
# they use.  The files, by layer from the bottom up (README.md, "Code map"):
#   codes      err.c
#   transport  conn.c
#   framing    http.c ws.c frame.c
#   handlers   req.c proto.c pos.c sub.c channel.c metrics.c, and REST:
#              rest.c (routing, the request, jobs) over rest-read.c
#              rest-publish.c rest-export.c rest-snapshot.c (rest-int.h)
#   top        server-conn.c server.c logwired.c
#   beside the loop: writer.c
DAEMON_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/server

noinst_LIBRARIES += libdaemon.a
libdaemon_a_CPPFLAGS = $(DAEMON_CPPFLAGS)
libdaemon_a_SOURCES = src/server/logwired.h \
	src/server/err.c src/server/conn.c \
	src/server/http.c src/server/ws.c src/server/frame.c \
	src/server/req.c src/server/proto.c src/server/pos.c \
	src/server/sub.c src/server/channel.c src/server/metrics.c \
	src/server/rest-int.h src/server/rest.c src/server/rest-read.c \
	src/server/rest-publish.c src/server/rest-export.c \
	src/server/rest-snapshot.c \
	src/server/server-conn.c src/server/server.c \
	src/server/writer.c

sbin_PROGRAMS += src/logwired
src_logwired_SOURCES = src/server/logwired.c
src_logwired_CPPFLAGS = $(DAEMON_CPPFLAGS)
src_logwired_LDADD = libdaemon.a libcommon.a $(STORAGE_LIBS) \
	$(LIBEVENT_LIBS) $(OPENSSL_LIBS) $(JANSSON_LIBS) $(YAJL_LIBS)
src_logwired_DEPENDENCIES = libdaemon.a libcommon.a libstorage.a
