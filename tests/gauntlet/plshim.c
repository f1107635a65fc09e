/*
 * plshim: an LD_PRELOAD library that records what a process does to the
 * files of one directory, for the power-loss check (pltrace.h has the
 * trace format, plcheck.c what is made of it).
 *
 *	PLTRACE_FILE=trace PLTRACE_DIR=datadir PLTRACE_IGNORE=lock.mdb:x \
 *	    LD_PRELOAD=tests/gauntlet/plshim.so src/logwired -d datadir ...
 *
 * A descriptor is traced when it was opened (open, openat, creat, dup) on
 * the data directory or a file below it whose name is not ignored.
 * LMDB 0.9.24 (strace of logwired --sync always) writes pages with pwrite
 * and with lseek + writev, syncs them with fdatasync, then writes the meta
 * page with pwrite on a second descriptor opened O_DSYNC; the store itself
 * calls ftruncate.  Everything of the kind is covered here: write, pwrite,
 * writev, pwritev(2), ftruncate, fallocate, fsync, fdatasync, msync,
 * sync_file_range, sync, syncfs, rename and unlink.  What is not
 * intercepted (stdio's internal writes, copy_file_range, io_uring, writes
 * through a shared writable mapping) cannot slip through unnoticed: the
 * checker replays the whole trace and compares it with the files the
 * daemon left, and a writable shared mapping is recorded as such.
 *
 * A write is recorded when issued (WRITE, with its bytes, before the call)
 * and when done (WDONE, after it returned); a sync when it begins (before
 * the call) and ends (after it returned 0).  A write whose WDONE comes
 * before a sync's BEGIN was complete when the sync started, so that sync
 * covers it; a write whose WRITE comes before the END of the next sync
 * may be in flight when the power fails.  The shim's own I/O goes through
 * syscall(2), never through the functions it replaces.
 */

#define _GNU_SOURCE

#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pltrace.h"

#define SHIM_FDMAX	65536	/* descriptors above are refused (ERROR) */
#define SHIM_MAPS	64	/* mappings of traced files remembered */
#define SHIM_IGNMAX	16

/* A mapping of a traced file, for msync. */
struct shim_map {
	uintptr_t	addr;
	size_t		len;
	uint32_t	file;
};

static int		 shim_on;		/* tracing is set up */
static int		 shim_fd = -1;		/* the trace */
static char		 shim_dir[PATH_MAX];	/* canonical data directory */
static size_t		 shim_dirlen;
static char		*shim_ign[SHIM_IGNMAX];
static int		 shim_nign;
static uint32_t		 shim_fds[SHIM_FDMAX];	/* file number + 1, 0: none */
static uint32_t		 shim_nfiles;
static uint64_t		 shim_nsync;
static uint64_t		 shim_nwrite;
static struct shim_map	 shim_maps[SHIM_MAPS];
static pthread_mutex_t	 shim_lock = PTHREAD_MUTEX_INITIALIZER;

/* The replaced functions, found with dlsym(RTLD_NEXT) on first use. */
static int	(*real_openat)(int, const char *, int, ...);
static int	(*real_close)(int);
static int	(*real_dup)(int);
static int	(*real_dup2)(int, int);
static int	(*real_dup3)(int, int, int);
static ssize_t	(*real_write)(int, const void *, size_t);
static ssize_t	(*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t	(*real_writev)(int, const struct iovec *, int);
static ssize_t	(*real_pwritev)(int, const struct iovec *, int, off_t);
static ssize_t	(*real_pwritev2)(int, const struct iovec *, int, off_t,
		    int);
static int	(*real_ftruncate)(int, off_t);
static int	(*real_fallocate)(int, int, off_t, off_t);
static int	(*real_fsync)(int);
static int	(*real_fdatasync)(int);
static int	(*real_msync)(void *, size_t, int);
static int	(*real_sync_file_range)(int, off_t, off_t, unsigned int);
static void	(*real_sync)(void);
static int	(*real_syncfs)(int);
static void	*(*real_mmap)(void *, size_t, int, int, int, off_t);
static int	(*real_munmap)(void *, size_t);
static int	(*real_renameat2)(int, const char *, int, const char *,
		    unsigned int);
static int	(*real_unlinkat)(int, const char *, int);

/* Look up the next definition of a symbol, or die: nothing can work without. */
static void *
shim_sym(const char *name)
{
	void	*p;

	if ((p = dlsym(RTLD_NEXT, name)) == NULL) {
		dprintf(2, "plshim: no %s: %s\n", name, dlerror());
		abort();
	}
	return (p);
}

#define SHIM_REAL(name) do {						\
	if (real_##name == NULL)					\
		real_##name = shim_sym(#name);				\
} while (0)

/* Append one record to the trace with a single write on O_APPEND. */
static void
shim_emit(uint32_t type, uint32_t file, uint64_t off, uint64_t arg,
    uint64_t arg2, const struct iovec *iov, int iovcnt, size_t total)
{
	struct plt_rec	 r;
	unsigned char	*buf, *p;
	size_t		 left, n, done = 0;
	ssize_t		 w;
	int		 i;

	if (shim_fd == -1)
		return;
	memset(&r, 0, sizeof r);
	r.type = type;
	r.file = file;
	r.off = off;
	r.len = total;
	r.arg = arg;
	r.arg2 = arg2;
	if ((buf = malloc(PLT_HDR_LEN + total)) == NULL) {
		dprintf(2, "plshim: out of memory: trace incomplete\n");
		abort();
	}
	memcpy(buf, &r, PLT_HDR_LEN);
	p = buf + PLT_HDR_LEN;
	left = total;
	for (i = 0; i < iovcnt && left > 0; i++) {
		n = iov[i].iov_len < left ? iov[i].iov_len : left;
		memcpy(p, iov[i].iov_base, n);
		p += n;
		left -= n;
	}
	while (done < PLT_HDR_LEN + total) {
		w = syscall(SYS_write, shim_fd, buf + done,
		    PLT_HDR_LEN + total - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			/* A torn trace would mislead the checker: stop. */
			dprintf(2, "plshim: trace write failed: %s\n",
			    strerror(errno));
			abort();
		}
		done += w;
	}
	free(buf);
}

/* Record a record with a string payload (NUL included). */
static void
shim_emit_str(uint32_t type, uint32_t file, uint64_t off, uint64_t arg,
    uint64_t arg2, const char *s, size_t len)
{
	struct iovec	iov;

	iov.iov_base = (void *)s;
	iov.iov_len = len;
	shim_emit(type, file, off, arg, arg2, &iov, 1, len);
}

/* Record that something could not be traced. */
static void
shim_error(const char *what)
{
	shim_emit_str(PLT_ERROR, 0, 0, 0, 0, what, strlen(what) + 1);
}

/*
 * Whether name (relative to the data directory) is one not recorded: its
 * last component is in the ignore list, wherever it lies.
 */
static int
shim_ignored(const char *name)
{
	const char	*slash;
	int		 i;

	if ((slash = strrchr(name, '/')) != NULL)
		name = slash + 1;
	for (i = 0; i < shim_nign; i++) {
		if (strcmp(name, shim_ign[i]) == 0)
			return (1);
	}
	return (0);
}

/*
 * If canonical path abs is the data directory or below it, set *rel to
 * its name relative to the directory ("" for the directory) and return 1.
 */
static int
shim_inside(const char *abs, const char **rel)
{
	if (strncmp(abs, shim_dir, shim_dirlen) != 0)
		return (0);
	if (abs[shim_dirlen] == '\0')
		*rel = abs + shim_dirlen;
	else if (abs[shim_dirlen] == '/')
		*rel = abs + shim_dirlen + 1;
	else
		return (0);
	return (!shim_ignored(*rel));
}

/* The file number + 1 of a traced descriptor, 0 if not traced. */
static uint32_t
shim_file(int fd)
{
	if (!shim_on || fd < 0 || fd >= SHIM_FDMAX)
		return (0);
	return (__atomic_load_n(&shim_fds[fd], __ATOMIC_ACQUIRE));
}

/* Trace descriptor fd if it is one of the data directory's files. */
static void
shim_track(int fd, int flags, int created)
{
	struct stat	 st;
	char		 link[64], abs[PATH_MAX];
	const char	*rel;
	ssize_t		 n;
	uint32_t	 f;

	if (!shim_on || fd < 0)
		return;
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	if ((n = readlink(link, abs, sizeof abs - 1)) <= 0)
		return;
	abs[n] = '\0';
	if (!shim_inside(abs, &rel) || fstat(fd, &st) != 0)
		return;
	pthread_mutex_lock(&shim_lock);
	if (fd >= SHIM_FDMAX) {
		shim_error("descriptor above the shim's table");
		goto out;
	}
	f = shim_nfiles++;
	shim_emit_str(PLT_FILE, f, S_ISDIR(st.st_mode) ? PLT_F_DIR : 0,
	    st.st_dev, st.st_ino, rel, strlen(rel) + 1);
	if (created)
		shim_emit(PLT_CREATE, f, 0, 0, 0, NULL, 0, 0);
	else if ((flags & O_TRUNC) && S_ISREG(st.st_mode))
		shim_emit(PLT_TRUNC, f, 0, 0, 0, NULL, 0, 0);
	__atomic_store_n(&shim_fds[fd], f + 1, __ATOMIC_RELEASE);
out:
	pthread_mutex_unlock(&shim_lock);
}

/* Open through openat, tracing the result. */
static int
shim_open(int dirfd, const char *path, int flags, mode_t mode)
{
	struct stat	st;
	int		fd, existed = 1, saved;

	SHIM_REAL(openat);
	if (shim_on && (flags & O_CREAT))
		existed = fstatat(dirfd, path, &st, 0) == 0;
	fd = real_openat(dirfd, path, flags, mode);
	saved = errno;
	if (fd >= 0)
		shim_track(fd, flags, !existed);
	errno = saved;
	return (fd);
}

/* Read the mode argument of an open that may create. */
#define SHIM_MODE(flags, mode) do {					\
	va_list	ap;							\
									\
	mode = 0;							\
	if (((flags) & O_CREAT) || ((flags) & O_TMPFILE) == O_TMPFILE) {\
		va_start(ap, flags);					\
		mode = va_arg(ap, int);					\
		va_end(ap);						\
	}								\
} while (0)

/* Replace open(2): the same, tracing a file of the data directory. */
int
open(const char *path, int flags, ...)
{
	mode_t	mode;

	SHIM_MODE(flags, mode);
	return (shim_open(AT_FDCWD, path, flags, mode));
}

/* Replace open64(2), as open(). */
int
open64(const char *path, int flags, ...)
{
	mode_t	mode;

	SHIM_MODE(flags, mode);
	return (shim_open(AT_FDCWD, path, flags, mode));
}

/* Replace openat(2), as open(). */
int
openat(int dirfd, const char *path, int flags, ...)
{
	mode_t	mode;

	SHIM_MODE(flags, mode);
	return (shim_open(dirfd, path, flags, mode));
}

/* Replace openat64(2), as open(). */
int
openat64(int dirfd, const char *path, int flags, ...)
{
	mode_t	mode;

	SHIM_MODE(flags, mode);
	return (shim_open(dirfd, path, flags, mode));
}

/* Replace creat(2), as open(). */
int
creat(const char *path, mode_t mode)
{
	return (shim_open(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode));
}

/* Replace creat64(2), as open(). */
int
creat64(const char *path, mode_t mode)
{
	return (shim_open(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode));
}

/* Forget a descriptor (before it is closed, so that its number is free). */
static void
shim_forget(int fd)
{
	if (shim_file(fd) != 0)
		__atomic_store_n(&shim_fds[fd], 0, __ATOMIC_RELEASE);
}

/* Replace close(2): the descriptor is no longer traced. */
int
close(int fd)
{
	SHIM_REAL(close);
	shim_forget(fd);
	return (real_close(fd));
}

/* Give newfd the trace of oldfd after a dup. */
static void
shim_dup(int oldfd, int newfd)
{
	uint32_t	f;

	if (newfd < 0 || newfd >= SHIM_FDMAX || !shim_on)
		return;
	f = shim_file(oldfd);
	__atomic_store_n(&shim_fds[newfd], f, __ATOMIC_RELEASE);
}

/* Replace dup(2): the copy is traced as the original. */
int
dup(int fd)
{
	int	r, saved;

	SHIM_REAL(dup);
	r = real_dup(fd);
	saved = errno;
	shim_dup(fd, r);
	errno = saved;
	return (r);
}

/* Replace dup2(2), as dup(). */
int
dup2(int oldfd, int newfd)
{
	int	r, saved;

	SHIM_REAL(dup2);
	r = real_dup2(oldfd, newfd);
	saved = errno;
	if (r >= 0 && oldfd != newfd)
		shim_dup(oldfd, r);
	errno = saved;
	return (r);
}

/* Replace dup3(2), as dup(). */
int
dup3(int oldfd, int newfd, int flags)
{
	int	r, saved;

	SHIM_REAL(dup3);
	r = real_dup3(oldfd, newfd, flags);
	saved = errno;
	if (r >= 0)
		shim_dup(oldfd, r);
	errno = saved;
	return (r);
}

/* Where a write without an offset lands. */
static off_t
shim_curoff(int fd)
{
	struct stat	st;
	long		fl;

	fl = syscall(SYS_fcntl, fd, F_GETFL);
	if (fl != -1 && (fl & O_APPEND)) {
		if (fstat(fd, &st) != 0)
			return (-1);
		return (st.st_size);
	}
	return (syscall(SYS_lseek, fd, 0, SEEK_CUR));
}

/*
 * Record a write of iov (total bytes) at off on traced file f + 1 before
 * it is issued; return its number for shim_wdone().
 */
static uint64_t
shim_wissue(uint32_t f, int fd, off_t off, const struct iovec *iov,
    int iovcnt, int dsync)
{
	uint64_t	n;
	size_t		total = 0;
	long		fl;
	int		i;

	for (i = 0; i < iovcnt; i++)
		total += iov[i].iov_len;
	if (off < 0) {
		shim_error("write at an unknown offset");
		return (0);
	}
	fl = syscall(SYS_fcntl, fd, F_GETFL);
	if (fl != -1 && (fl & O_DSYNC) == O_DSYNC)
		dsync = 1;
	n = __atomic_add_fetch(&shim_nwrite, 1, __ATOMIC_RELAXED);
	shim_emit(PLT_WRITE, f - 1, off, dsync ? PLT_W_DSYNC : 0, n, iov,
	    iovcnt, total);
	return (n);
}

/* Record that write number n returned r. */
static void
shim_wdone(uint32_t f, off_t off, uint64_t n, ssize_t r)
{
	if (n == 0)
		return;
	shim_emit(PLT_WDONE, f - 1, off, r < 0 ? PLT_WFAIL : (uint64_t)r, n,
	    NULL, 0, 0);
}

/* Replace write(2): a traced write is recorded issued and done. */
ssize_t
write(int fd, const void *buf, size_t len)
{
	struct iovec	iov;
	uint64_t	w;
	uint32_t	f;
	off_t		off;
	ssize_t		n;
	int		saved;

	SHIM_REAL(write);
	if ((f = shim_file(fd)) == 0)
		return (real_write(fd, buf, len));
	off = shim_curoff(fd);
	iov.iov_base = (void *)buf;
	iov.iov_len = len;
	w = shim_wissue(f, fd, off, &iov, 1, 0);
	n = real_write(fd, buf, len);
	saved = errno;
	shim_wdone(f, off, w, n);
	errno = saved;
	return (n);
}

/* Replace pwrite(2), as write(). */
ssize_t
pwrite(int fd, const void *buf, size_t len, off_t off)
{
	struct iovec	iov;
	uint64_t	w;
	uint32_t	f;
	ssize_t		n;
	int		saved;

	SHIM_REAL(pwrite);
	if ((f = shim_file(fd)) == 0)
		return (real_pwrite(fd, buf, len, off));
	iov.iov_base = (void *)buf;
	iov.iov_len = len;
	w = shim_wissue(f, fd, off, &iov, 1, 0);
	n = real_pwrite(fd, buf, len, off);
	saved = errno;
	shim_wdone(f, off, w, n);
	errno = saved;
	return (n);
}

/* Replace pwrite64(2), as write(). */
ssize_t
pwrite64(int fd, const void *buf, size_t len, off_t off)
{
	return (pwrite(fd, buf, len, off));
}

/* Replace writev(2), as write(). */
ssize_t
writev(int fd, const struct iovec *iov, int iovcnt)
{
	uint64_t	w;
	uint32_t	f;
	off_t		off;
	ssize_t		n;
	int		saved;

	SHIM_REAL(writev);
	if ((f = shim_file(fd)) == 0)
		return (real_writev(fd, iov, iovcnt));
	off = shim_curoff(fd);
	w = shim_wissue(f, fd, off, iov, iovcnt, 0);
	n = real_writev(fd, iov, iovcnt);
	saved = errno;
	shim_wdone(f, off, w, n);
	errno = saved;
	return (n);
}

/* Replace pwritev(2), as write(). */
ssize_t
pwritev(int fd, const struct iovec *iov, int iovcnt, off_t off)
{
	uint64_t	w;
	uint32_t	f;
	ssize_t		n;
	int		saved;

	SHIM_REAL(pwritev);
	if ((f = shim_file(fd)) == 0)
		return (real_pwritev(fd, iov, iovcnt, off));
	w = shim_wissue(f, fd, off, iov, iovcnt, 0);
	n = real_pwritev(fd, iov, iovcnt, off);
	saved = errno;
	shim_wdone(f, off, w, n);
	errno = saved;
	return (n);
}

/* Replace pwritev64(2), as write(). */
ssize_t
pwritev64(int fd, const struct iovec *iov, int iovcnt, off_t off)
{
	return (pwritev(fd, iov, iovcnt, off));
}

/* Replace pwritev2(2), as write(); RWF_DSYNC makes it durable. */
ssize_t
pwritev2(int fd, const struct iovec *iov, int iovcnt, off_t off, int flags)
{
	uint64_t	w;
	uint32_t	f;
	off_t		woff;
	ssize_t		n;
	int		saved;

	SHIM_REAL(pwritev2);
	if ((f = shim_file(fd)) == 0)
		return (real_pwritev2(fd, iov, iovcnt, off, flags));
	woff = off == -1 ? shim_curoff(fd) : off;
	w = shim_wissue(f, fd, woff, iov, iovcnt,
	    (flags & (RWF_DSYNC | RWF_SYNC)) != 0);
	n = real_pwritev2(fd, iov, iovcnt, off, flags);
	saved = errno;
	shim_wdone(f, woff, w, n);
	errno = saved;
	return (n);
}

/* Replace pwritev64v2(2), as pwritev2(). */
ssize_t
pwritev64v2(int fd, const struct iovec *iov, int iovcnt, off_t off, int flags)
{
	return (pwritev2(fd, iov, iovcnt, off, flags));
}

/* Replace ftruncate(2): the new size is recorded. */
int
ftruncate(int fd, off_t len)
{
	uint32_t	f;
	int		r, saved;

	SHIM_REAL(ftruncate);
	r = real_ftruncate(fd, len);
	saved = errno;
	if (r == 0 && (f = shim_file(fd)) != 0)
		shim_emit(PLT_TRUNC, f - 1, len, 0, 0, NULL, 0, 0);
	errno = saved;
	return (r);
}

/* Replace ftruncate64(2), as ftruncate(). */
int
ftruncate64(int fd, off_t len)
{
	return (ftruncate(fd, len));
}

/* Replace fallocate(2): the range and mode are recorded. */
int
fallocate(int fd, int mode, off_t off, off_t len)
{
	uint32_t	f;
	int		r, saved;

	SHIM_REAL(fallocate);
	r = real_fallocate(fd, mode, off, len);
	saved = errno;
	if (r == 0 && (f = shim_file(fd)) != 0)
		shim_emit(PLT_FALLOC, f - 1, off, len, mode, NULL, 0, 0);
	errno = saved;
	return (r);
}

/* Replace fallocate64(2), as fallocate(). */
int
fallocate64(int fd, int mode, off_t off, off_t len)
{
	return (fallocate(fd, mode, off, len));
}

/* Number a sync. */
static uint64_t
shim_syncno(void)
{
	return (__atomic_add_fetch(&shim_nsync, 1, __ATOMIC_RELAXED));
}

/* Run a sync of file number file (PLT_ALL: all) between BEGIN and END. */
static int
shim_sync(uint32_t file, int kind, int (*fn)(int), int fd)
{
	uint64_t	n;
	int		r, saved;

	n = shim_syncno();
	shim_emit(PLT_SYNC_BEGIN, file, 0, n, kind, NULL, 0, 0);
	r = fn(fd);
	saved = errno;
	if (r == 0)
		shim_emit(PLT_SYNC_END, file, 0, n, kind, NULL, 0, 0);
	errno = saved;
	return (r);
}

/* Replace fsync(2): recorded before the call and after it. */
int
fsync(int fd)
{
	uint32_t	f;

	SHIM_REAL(fsync);
	if ((f = shim_file(fd)) == 0)
		return (real_fsync(fd));
	return (shim_sync(f - 1, PLT_S_FSYNC, real_fsync, fd));
}

/* Replace fdatasync(2), as fsync(). */
int
fdatasync(int fd)
{
	uint32_t	f;

	SHIM_REAL(fdatasync);
	if ((f = shim_file(fd)) == 0)
		return (real_fdatasync(fd));
	return (shim_sync(f - 1, PLT_S_FDATASYNC, real_fdatasync, fd));
}

/* sync(2) as an int function for shim_sync. */
static int
shim_sync_all(int unused)
{
	SHIM_REAL(sync);
	real_sync();
	return (0);
}

/* Replace sync(2): a sync of every file. */
void
sync(void)
{
	if (!shim_on) {
		shim_sync_all(0);
		return;
	}
	shim_sync(PLT_ALL, PLT_S_SYNCFS, shim_sync_all, 0);
}

/* Replace syncfs(2), as sync(). */
int
syncfs(int fd)
{
	SHIM_REAL(syncfs);
	if (!shim_on)
		return (real_syncfs(fd));
	return (shim_sync(PLT_ALL, PLT_S_SYNCFS, real_syncfs, fd));
}

/* Replace sync_file_range(2): recorded, durable nothing. */
int
sync_file_range(int fd, off_t off, off_t len, unsigned int flags)
{
	uint32_t	f;
	int		r, saved;

	SHIM_REAL(sync_file_range);
	r = real_sync_file_range(fd, off, len, flags);
	saved = errno;
	if (r == 0 && (f = shim_file(fd)) != 0)
		shim_emit(PLT_SFR, f - 1, off, len, flags, NULL, 0, 0);
	errno = saved;
	return (r);
}

/* Replace mmap(2): remember mappings of traced files, for msync. */
void *
mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	uint32_t	 f;
	void		*p;
	int		 i, saved;

	SHIM_REAL(mmap);
	p = real_mmap(addr, len, prot, flags, fd, off);
	saved = errno;
	if (p != MAP_FAILED && (f = shim_file(fd)) != 0) {
		if ((prot & PROT_WRITE) && (flags & MAP_SHARED))
			shim_emit(PLT_WMAP, f - 1, off, len, 0, NULL, 0, 0);
		pthread_mutex_lock(&shim_lock);
		for (i = 0; i < SHIM_MAPS; i++) {
			if (shim_maps[i].len == 0) {
				shim_maps[i].addr = (uintptr_t)p;
				shim_maps[i].len = len;
				shim_maps[i].file = f;
				break;
			}
		}
		if (i == SHIM_MAPS)
			shim_error("too many mappings of traced files");
		pthread_mutex_unlock(&shim_lock);
	}
	errno = saved;
	return (p);
}

/* Replace mmap64(2), as mmap(). */
void *
mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return (mmap(addr, len, prot, flags, fd, off));
}

/* Replace munmap(2): forget the mapping. */
int
munmap(void *addr, size_t len)
{
	int	i;

	SHIM_REAL(munmap);
	if (shim_on) {
		pthread_mutex_lock(&shim_lock);
		for (i = 0; i < SHIM_MAPS; i++) {
			if (shim_maps[i].len != 0 &&
			    shim_maps[i].addr == (uintptr_t)addr)
				shim_maps[i].len = 0;
		}
		pthread_mutex_unlock(&shim_lock);
	}
	return (real_munmap(addr, len));
}

/* The file mapped at addr, + 1, or 0. */
static uint32_t
shim_mapped(void *addr)
{
	uintptr_t	a = (uintptr_t)addr;
	uint32_t	f = 0;
	int		i;

	pthread_mutex_lock(&shim_lock);
	for (i = 0; i < SHIM_MAPS; i++) {
		if (shim_maps[i].len != 0 && a >= shim_maps[i].addr &&
		    a < shim_maps[i].addr + shim_maps[i].len)
			f = shim_maps[i].file;
	}
	pthread_mutex_unlock(&shim_lock);
	return (f);
}

/* Replace msync(2): with MS_SYNC, a sync of the file mapped there. */
int
msync(void *addr, size_t len, int flags)
{
	uint64_t	n = 0;
	uint32_t	f;
	int		r, saved;

	SHIM_REAL(msync);
	f = shim_on && (flags & MS_SYNC) ? shim_mapped(addr) : 0;
	if (f != 0) {
		n = shim_syncno();
		shim_emit(PLT_SYNC_BEGIN, f - 1, 0, n, PLT_S_MSYNC, NULL, 0,
		    0);
	}
	r = real_msync(addr, len, flags);
	saved = errno;
	if (f != 0 && r == 0)
		shim_emit(PLT_SYNC_END, f - 1, 0, n, PLT_S_MSYNC, NULL, 0, 0);
	errno = saved;
	return (r);
}

/*
 * Set rel (size PATH_MAX) to the name of path (relative to dirfd) inside
 * the data directory and return 1, or return 0 if it is elsewhere.  The
 * parent directory is resolved, the last component kept as it is (it may
 * be a symbolic link or not exist yet).
 */
static int
shim_resolve(int dirfd, const char *path, char *rel)
{
	char		 full[PATH_MAX * 2], parent[PATH_MAX], canon[PATH_MAX];
	char		 link[64], base[PATH_MAX];
	const char	*name, *r;
	char		*slash;
	ssize_t		 n;

	if (!shim_on || path == NULL || *path == '\0')
		return (0);
	if (path[0] == '/')
		snprintf(full, sizeof full, "%s", path);
	else {
		if (dirfd == AT_FDCWD) {
			if (getcwd(base, sizeof base) == NULL)
				return (0);
		} else {
			snprintf(link, sizeof link, "/proc/self/fd/%d", dirfd);
			if ((n = readlink(link, base, sizeof base - 1)) <= 0)
				return (0);
			base[n] = '\0';
		}
		snprintf(full, sizeof full, "%s/%s", base, path);
	}
	if ((slash = strrchr(full, '/')) == NULL)
		return (0);
	*slash = '\0';
	name = slash + 1;
	if (realpath(*full == '\0' ? "/" : full, parent) == NULL)
		return (0);
	if ((size_t)snprintf(canon, sizeof canon, "%s/%s", parent, name) >=
	    sizeof canon)
		return (0);
	if (!shim_inside(canon, &r) || *r == '\0')
		return (0);
	snprintf(rel, PATH_MAX, "%s", r);
	return (1);
}

/* Replace renameat2(2): a rename within the data directory. */
int
renameat2(int olddirfd, const char *oldpath, int newdirfd,
    const char *newpath, unsigned int flags)
{
	char	 oldrel[PATH_MAX], newrel[PATH_MAX], *buf;
	size_t	 ol, nl;
	int	 r, saved, oldin, newin;

	SHIM_REAL(renameat2);
	oldin = shim_resolve(olddirfd, oldpath, oldrel);
	newin = shim_resolve(newdirfd, newpath, newrel);
	r = real_renameat2(olddirfd, oldpath, newdirfd, newpath, flags);
	saved = errno;
	if (r == 0 && oldin && newin) {
		ol = strlen(oldrel) + 1;
		nl = strlen(newrel) + 1;
		if ((buf = malloc(ol + nl)) == NULL)
			abort();
		memcpy(buf, oldrel, ol);
		memcpy(buf + ol, newrel, nl);
		shim_emit_str(PLT_RENAME, 0, 0, flags, 0, buf, ol + nl);
		free(buf);
	} else if (r == 0 && oldin)
		shim_emit_str(PLT_UNLINK, 0, 0, 0, 0, oldrel,
		    strlen(oldrel) + 1);
	else if (r == 0 && newin)
		shim_error("a file was moved into the data directory");
	errno = saved;
	return (r);
}

/* Replace renameat(2), as renameat2(). */
int
renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath)
{
	return (renameat2(olddirfd, oldpath, newdirfd, newpath, 0));
}

/* Replace rename(2), as renameat2(). */
int
rename(const char *oldpath, const char *newpath)
{
	return (renameat2(AT_FDCWD, oldpath, AT_FDCWD, newpath, 0));
}

/* Replace unlinkat(2): a name removed from the data directory. */
int
unlinkat(int dirfd, const char *path, int flags)
{
	char	rel[PATH_MAX];
	int	r, saved, in;

	SHIM_REAL(unlinkat);
	in = shim_resolve(dirfd, path, rel);
	r = real_unlinkat(dirfd, path, flags);
	saved = errno;
	if (r == 0 && in)
		shim_emit_str(PLT_UNLINK, 0, 0, flags, 0, rel,
		    strlen(rel) + 1);
	errno = saved;
	return (r);
}

/* Replace unlink(2), as unlinkat(). */
int
unlink(const char *path)
{
	return (unlinkat(AT_FDCWD, path, 0));
}

/* Count the entries of the data directory that are recorded. */
static uint64_t
shim_count_files(void)
{
	struct dirent	*de;
	DIR		*d;
	uint64_t	 n = 0;

	if ((d = opendir(shim_dir)) == NULL)
		return (0);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0 && !shim_ignored(de->d_name))
			n++;
	}
	closedir(d);
	return (n);
}

/* Set up tracing from the environment; without it the shim stays out. */
__attribute__((constructor)) static void
shim_init(void)
{
	const char	*trace, *dir, *ign;
	char		 parent[PATH_MAX], tmp[PATH_MAX], *slash, *p, *q;
	uint64_t	 nfiles;

	trace = getenv(PLT_ENV_TRACE);
	dir = getenv(PLT_ENV_DIR);
	if (trace == NULL || dir == NULL || *trace == '\0' || *dir == '\0')
		return;
	/* The data directory may not exist yet: resolve its parent. */
	snprintf(tmp, sizeof tmp, "%s", dir);
	while ((slash = strrchr(tmp, '/')) != NULL && slash[1] == '\0' &&
	    slash != tmp)
		*slash = '\0';
	if ((slash = strrchr(tmp, '/')) == NULL) {
		if (getcwd(parent, sizeof parent) == NULL)
			abort();
		p = tmp;
	} else {
		*slash = '\0';
		if (realpath(*tmp == '\0' ? "/" : tmp, parent) == NULL) {
			dprintf(2, "plshim: %s: %s\n", tmp, strerror(errno));
			abort();
		}
		p = slash + 1;
	}
	if ((size_t)snprintf(shim_dir, sizeof shim_dir, "%s/%s",
	    strcmp(parent, "/") == 0 ? "" : parent, p) >= sizeof shim_dir) {
		dprintf(2, "plshim: %s: path too long\n", dir);
		abort();
	}
	shim_dirlen = strlen(shim_dir);
	if ((ign = getenv(PLT_ENV_IGNORE)) != NULL && *ign != '\0') {
		if ((p = strdup(ign)) == NULL)
			abort();
		while ((q = strsep(&p, ":")) != NULL &&
		    shim_nign < SHIM_IGNMAX) {
			if (*q != '\0')
				shim_ign[shim_nign++] = q;
		}
	}
	shim_fd = syscall(SYS_openat, AT_FDCWD, trace,
	    O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (shim_fd == -1) {
		dprintf(2, "plshim: %s: %s\n", trace, strerror(errno));
		abort();
	}
	nfiles = shim_count_files();
	shim_emit(PLT_PROC, 0, PLT_MAGIC, getpid(), nfiles, NULL, 0, 0);
	shim_on = 1;
}
