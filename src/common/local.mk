# src/common/: libcommon.a, the small library every program and test links:
# allocation, logging, durations, the monotonic clock, /proc memory, JSON
# strings, the WebSocket accept key (common.h).  Link it with $(LIBEVENT_LIBS) for
# jstr.c and $(OPENSSL_LIBS) for wskey.c when they are used.
noinst_LIBRARIES += libcommon.a
libcommon_a_SOURCES = src/common/common.h src/common/xmalloc.c \
	src/common/log.c src/common/duration.c src/common/mono.c \
	src/common/proc.c src/common/jesc.c src/common/jbuf.c \
	src/common/jstr.c src/common/wskey.c
