# src/: the daemon and shared utility code.
noinst_LIBRARIES += libcommon.a
libcommon_a_SOURCES = src/logwire.h src/xmalloc.c src/log.c
