# tests/gauntlet/: the reliability gauntlet of issue 15 (RELIABILITY.md).
#
# powerloss: guarantee 2 under power loss.  plshim.so, preloaded into
# logwired, records every write and sync the daemon makes to its data
# directory; plcheck.c builds the crash states a power failure can leave
# and checks each one.  make check runs the short version;
# tests/gauntlet/powerloss --long the long one.
check_PROGRAMS += tests/gauntlet/powerloss
TESTS += tests/gauntlet/powerloss
tests_gauntlet_powerloss_SOURCES = tests/gauntlet/powerloss.c \
	tests/gauntlet/plcheck.c tests/gauntlet/plcheck.h \
	tests/gauntlet/pltrace.h
tests_gauntlet_powerloss_CPPFLAGS = $(HARNESS_CPPFLAGS) \
	-DTOP_BUILDDIR='"$(abs_top_builddir)"'
tests_gauntlet_powerloss_LDADD = $(HARNESS_LIBS) $(STORAGE_LIBS) -lpthread
tests_gauntlet_powerloss_DEPENDENCIES = $(HARNESS_DEPS) \
	libstorage.a src/logwired$(EXEEXT) src/logwire$(EXEEXT) \
	tests/gauntlet/plshim.so

# The shim is a shared object, built by an explicit rule (the tree has no
# libtool).  Never with the sanitizers: it is loaded before their runtime.
PLSHIM_CFLAGS = -fPIC -shared -Wall -Wextra -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wformat=2 -Wno-unused-parameter
tests/gauntlet/plshim.so: $(srcdir)/tests/gauntlet/plshim.c \
	    $(srcdir)/tests/gauntlet/pltrace.h
	@$(MKDIR_P) tests/gauntlet
	$(AM_V_CC)$(CC) $(CFLAGS) $(PLSHIM_CFLAGS) -o $@ \
	    $(srcdir)/tests/gauntlet/plshim.c -ldl -lpthread
CLEANFILES += tests/gauntlet/plshim.so
EXTRA_DIST += tests/gauntlet/plshim.c
