# src/: libwsc.a, the blocking WebSocket client shared by the integration
# tests, logwire and logwire-bench. Link it with
# libwsc.a libcommon.a $(OPENSSL_LIBS) (wslay and http-parser are in LIBS).
noinst_LIBRARIES += libwsc.a
libwsc_a_SOURCES = src/wsc.h src/wsc.c
