# src/cli/: logwire, the command-line client and admin tool (cli.h).
bin_PROGRAMS += src/logwire
src_logwire_SOURCES = src/cli/cli.h src/cli/logwire.c src/cli/cmd-store.c \
	src/cli/cmd-ws.c src/cli/cmd-rest.c src/cli/cmd-token.c
src_logwire_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/cli
src_logwire_LDADD = $(STORAGE_LIBS) libclient.a libauth.a libcommon.a \
	$(JANSSON_LIBS) $(OPENSSL_LIBS) -lpthread
src_logwire_DEPENDENCIES = libstorage.a libclient.a libauth.a libcommon.a
