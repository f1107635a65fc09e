/* tstore: stores made, held and damaged for the tests.  See tstore.h. */

#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <xxhash.h>
#include <zstd.h>

#include "storage.h"
#include "tstore.h"

/* Read callback of the holding child: say so, then wait to be killed. */
static int
tstore_hold_cb(const struct store_rec *rec, void *arg)
{
	int	*fd = arg;

	(void)rec;
	if (write(*fd, "r", 1) != 1)
		_exit(3);
	for (;;)
		pause();
	return (1);
}

/* Open dir read-only and stop inside a read transaction (child). */
static void __attribute__((__noreturn__))
tstore_hold(const char *dir, const char *channel, int fd)
{
	struct store_config	 cfg;
	struct store_reader	*r;
	struct store_chan	 ch;
	struct store		*s;
	char			*cause;

	alarm(60);
	store_config_default(&cfg);
	cfg.readonly = 1;
	if (store_open(dir, &cfg, &s, &cause) != 0)
		_exit(2);
	r = store_reader_open(s);
	if (store_chan_get(r, channel, strlen(channel), &ch) != 0)
		_exit(2);
	store_read(r, ch.id, 1, 1, 0, 0, 0, tstore_hold_cb, &fd);
	_exit(4);
}

/* Fork a child holding a read transaction; return its pid once it holds. */
pid_t
tstore_hold_reader(const char *dir, const char *channel)
{
	struct pollfd	pfd;
	pid_t		pid;
	char		c;
	int		p[2], held;

	if (pipe(p) != 0)
		return (-1);
	fflush(NULL);
	if ((pid = fork()) == -1) {
		close(p[0]);
		close(p[1]);
		return (-1);
	}
	if (pid == 0) {
		close(p[0]);
		tstore_hold(dir, channel, p[1]);
	}
	close(p[1]);
	pfd.fd = p[0];
	pfd.events = POLLIN;
	held = poll(&pfd, 1, 10000) == 1 && read(p[0], &c, 1) == 1;
	close(p[0]);
	if (!held) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return (-1);
	}
	return (pid);
}

/* Write a big-endian u64. */
static void
tstore_be64enc(unsigned char *b, uint64_t v)
{
	int	i;

	for (i = 7; i >= 0; i--) {
		b[i] = v & 0xff;
		v >>= 8;
	}
}

/* Write a snapshot file around len bytes of buf taken for data.mdb. */
void
tstore_frame_snapshot(const char *path, const void *buf, size_t len)
{
	unsigned char	 trailer[24];
	void		*z;
	size_t		 zlen;
	FILE		*f;

	z = malloc(ZSTD_compressBound(len));
	CU_ASSERT_FATAL(z != NULL);
	zlen = ZSTD_compress(z, ZSTD_compressBound(len), buf, len, 1);
	CU_ASSERT_FATAL(!ZSTD_isError(zlen));
	memcpy(trailer, "LWSNEND1", 8);
	tstore_be64enc(trailer + 8, len);
	tstore_be64enc(trailer + 16, XXH3_64bits(buf, len));
	f = fopen(path, "w");
	CU_ASSERT_FATAL(f != NULL);
	CU_ASSERT(fwrite("LWSNAP01", 1, 8, f) == 8);
	CU_ASSERT(fwrite(z, 1, zlen, f) == zlen);
	CU_ASSERT(fwrite(trailer, 1, sizeof trailer, f) == sizeof trailer);
	CU_ASSERT_FATAL(fclose(f) == 0);
	free(z);
}

/* Point $TMPDIR at dir; return the old value. */
char *
tstore_tmpdir_set(const char *dir)
{
	const char	*old;
	char		*saved = NULL;

	if ((old = getenv("TMPDIR")) != NULL && (saved = strdup(old)) == NULL)
		abort();
	setenv("TMPDIR", dir, 1);
	return (saved);
}

/* Put $TMPDIR back as it was. */
void
tstore_tmpdir_restore(char *saved)
{
	if (saved != NULL)
		setenv("TMPDIR", saved, 1);
	else
		unsetenv("TMPDIR");
	free(saved);
}

/* Remove one file or directory (nftw callback). */
static int
tstore_rm_one(const char *path, const struct stat *sb, int flag,
    struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return (0);
}

/* Remove a directory tree. */
void
tstore_rmtree(const char *path)
{
	nftw(path, tstore_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
