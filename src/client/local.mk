# src/client/: libclient.a, what the client programs and the tests share
# to talk to a logwired (client.h): URLs, connections with a deadline,
# HTTP responses, the WebSocket upgrade, and the blocking HTTP (httpc)
# and WebSocket (wsc) clients.  Link it with
# libclient.a libcommon.a $(OPENSSL_LIBS) (wslay and http-parser are in
# LIBS).
noinst_LIBRARIES += libclient.a
libclient_a_SOURCES = src/client/client.h src/client/url.c \
	src/client/net.c src/client/hresp.c src/client/upgrade.c \
	src/client/httpc.c src/client/wsc.c
