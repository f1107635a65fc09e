# src/auth/: credentials (capabilities, API keys, HS256 tokens), a library
# of its own with auth.h as its face, used by logwired and logwire.
noinst_LIBRARIES += libauth.a
libauth_a_SOURCES = src/auth/auth.h src/auth/auth-int.h src/auth/auth.c \
	src/auth/b64.c src/auth/cap.c src/auth/apikey.c src/auth/token.c
AM_CPPFLAGS += -I$(top_srcdir)/src/auth

AUTH_LIBS = libauth.a $(JANSSON_LIBS) $(OPENSSL_LIBS)
