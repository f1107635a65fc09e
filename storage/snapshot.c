/*
 * Snapshots, restore, new epochs and verification.
 *
 * A snapshot file is:
 *
 *	"LWSNAP01"			8 bytes of magic
 *	zstd frame			the compacted LMDB copy (data.mdb),
 *					with zstd's content checksum
 *	"LWSNEND1"			8 bytes of magic
 *	length (u64 BE)			bytes of the uncompressed copy
 *	XXH3-64 (u64 BE)		of the uncompressed copy
 *
 * The trailer lets restore and verify tell a truncated or damaged file from
 * a good one before anything is trusted, and the zstd checksum catches a
 * damaged frame early.
 */

#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

#include "store-int.h"

#define SNAPSHOT_MAGIC		"LWSNAP01"
#define SNAPSHOT_END		"LWSNEND1"
#define SNAPSHOT_MAGIC_LEN	8
#define SNAPSHOT_TRAILER_LEN	24
#define SNAPSHOT_LEVEL		3
#define SNAPSHOT_CHUNK		(1024 * 1024)
#define VERIFY_MAX_LINES	1000

/* The LMDB copy running in its own thread, writing into a pipe. */
struct snapshot_copy {
	MDB_env		*env;
	int		 fd;
	int		 rc;
};

/* State of a verify run. */
struct snapshot_verify {
	struct store			*s;
	struct store_reader		*r;
	FILE				*out;
	struct store_verify_report	*rep;
	uint64_t			 lines;
	struct cidx_table		*t;	/* pending index of the snapshot */
	uint64_t			 kept;	/* sum of channel counts */
};

/* Write all of buf to fd.  Returns 0 or an errno value. */
static int
snapshot_write_all(int fd, const void *buf, size_t len)
{
	const char	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return (errno);
		}
		p += n;
		len -= n;
	}
	return (0);
}

/*
 * Map a (non-zero) errno value from the file system to a STORE_E* code:
 * store_err()'s mapping, except that EINVAL here is a failure of the
 * system, not a bad argument of the caller's.
 */
static int
snapshot_errno(int error)
{
	if (error == EINVAL)
		return (STORE_ESYS);
	return (store_err(error));
}

/* Run the compacting copy into the pipe (thread body). */
static void *
snapshot_copy_main(void *arg)
{
	struct snapshot_copy	*cp = arg;

	cp->rc = mdb_env_copyfd2(cp->env, cp->fd, MDB_CP_COMPACT);
	close(cp->fd);
	return (NULL);
}

/* Compress buf (or end the frame) and write what comes out to fd. */
static int
snapshot_compress(ZSTD_CCtx *cctx, const void *buf, size_t len,
    ZSTD_EndDirective end, unsigned char *obuf, size_t osize, int fd,
    uint64_t *written, int *werr)
{
	ZSTD_inBuffer	in = { buf, len, 0 };
	ZSTD_outBuffer	out;
	size_t		left;

	do {
		out.dst = obuf;
		out.size = osize;
		out.pos = 0;
		left = ZSTD_compressStream2(cctx, &out, &in, end);
		if (ZSTD_isError(left))
			return (STORE_ESYS);
		if (out.pos != 0) {
			if ((*werr = snapshot_write_all(fd, obuf,
			    out.pos)) != 0)
				return (snapshot_errno(*werr));
			*written += out.pos;
		}
	} while (end == ZSTD_e_end ? left != 0 : in.pos < in.size);
	return (0);
}

/*
 * Write a consistent snapshot of the store to fd.
 *
 * mdb_env_copyfd2 runs in a thread and writes the compacted copy into a
 * pipe; this thread reads the pipe, hashes and compresses it.  The copy is
 * one read transaction, so it is consistent while others write.  It reads
 * the map the whole time, so the map lock is held shared until it ends (a
 * writer that must grow the map waits for the snapshot).  If writing to fd
 * fails the pipe is still drained to its end, so the copy thread never
 * blocks or meets a closed pipe.
 */
int
store_snapshot(struct store *s, int fd, uint64_t *bytes_out, char **cause)
{
	struct snapshot_copy	 cp;
	pthread_t		 thread;
	ZSTD_CCtx		*cctx;
	XXH3_state_t		*xs;
	unsigned char		*ibuf = NULL, *obuf = NULL;
	unsigned char		 trailer[SNAPSHOT_TRAILER_LEN];
	uint64_t		 written = 0, total = 0;
	size_t			 osize;
	ssize_t			 n;
	int			 p[2] = { -1, -1 }, rc = 0, werr = 0;

	if (bytes_out != NULL)
		*bytes_out = 0;
	if (cause != NULL)
		*cause = NULL;
	if ((cctx = ZSTD_createCCtx()) == NULL || (xs = XXH3_createState())
	    == NULL)
		abort();
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, SNAPSHOT_LEVEL);
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
	XXH3_64bits_reset(xs);
	osize = ZSTD_CStreamOutSize();
	obuf = store_xmalloc(osize);
	ibuf = store_xmalloc(SNAPSHOT_CHUNK);

	if ((werr = snapshot_write_all(fd, SNAPSHOT_MAGIC,
	    SNAPSHOT_MAGIC_LEN)) != 0) {
		rc = snapshot_errno(werr);
		goto out;
	}
	written = SNAPSHOT_MAGIC_LEN;
	if (pipe(p) != 0) {
		werr = errno;
		rc = STORE_ESYS;
		goto out;
	}

	cp.env = s->env;
	cp.fd = p[1];
	cp.rc = 0;
	pthread_rwlock_rdlock(&s->maplock);
	if (pthread_create(&thread, NULL, snapshot_copy_main, &cp) != 0) {
		pthread_rwlock_unlock(&s->maplock);
		werr = EAGAIN;
		rc = STORE_ESYS;
		goto out;
	}
	p[1] = -1;	/* the copy thread closes it */
	for (;;) {
		n = read(p[0], ibuf, SNAPSHOT_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		XXH3_64bits_update(xs, ibuf, n);
		total += n;
		if (rc == 0)
			rc = snapshot_compress(cctx, ibuf, n, ZSTD_e_continue,
			    obuf, osize, fd, &written, &werr);
	}
	pthread_join(thread, NULL);
	pthread_rwlock_unlock(&s->maplock);
	if (cp.rc != 0) {
		store_xasprintf(cause, "LMDB copy failed: %s",
		    mdb_strerror(cp.rc));
		rc = store_err(cp.rc);
		goto out;
	}
	if (rc == 0)
		rc = snapshot_compress(cctx, NULL, 0, ZSTD_e_end, obuf, osize,
		    fd, &written, &werr);
	if (rc != 0)
		goto out;

	memcpy(trailer, SNAPSHOT_END, SNAPSHOT_MAGIC_LEN);
	store_be64enc(trailer + 8, total);
	store_be64enc(trailer + 16, XXH3_64bits_digest(xs));
	if ((werr = snapshot_write_all(fd, trailer, sizeof trailer)) != 0) {
		rc = snapshot_errno(werr);
		goto out;
	}
	written += sizeof trailer;
	if (bytes_out != NULL)
		*bytes_out = written;

out:
	if (rc != 0 && cause != NULL && *cause == NULL) {
		if (werr != 0)
			store_xasprintf(cause, "writing snapshot: %s",
			    strerror(werr));
		else
			store_xasprintf(cause, "snapshot: %s",
			    store_strerror(rc));
	}
	if (p[0] != -1)
		close(p[0]);
	if (p[1] != -1)
		close(p[1]);
	free(ibuf);
	free(obuf);
	XXH3_freeState(xs);
	ZSTD_freeCCtx(cctx);
	return (rc);
}

/* Remove a directory and the files in it (not recursively deeper). */
static void
snapshot_rmdir(const char *dir)
{
	DIR		*d;
	struct dirent	*de;
	char		*path;

	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			store_xasprintf(&path, "%s/%s", dir, de->d_name);
			unlink(path);
			free(path);
		}
		closedir(d);
	}
	rmdir(dir);
}

/*
 * Check that dir does not exist or is an empty directory.  Sets *exists.
 */
static int
snapshot_dir_usable(const char *dir, int *exists, char **cause)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 st;
	int		 empty = 1;

	*exists = 0;
	if (stat(dir, &st) != 0) {
		if (errno == ENOENT)
			return (0);
		store_xasprintf(cause, "%s: %s", dir, strerror(errno));
		return (STORE_ESYS);
	}
	*exists = 1;
	if (!S_ISDIR(st.st_mode)) {
		store_xasprintf(cause, "%s: exists and is not a directory",
		    dir);
		return (STORE_EEXIST);
	}
	if ((d = opendir(dir)) == NULL) {
		store_xasprintf(cause, "%s: %s", dir, strerror(errno));
		return (STORE_ESYS);
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0) {
			empty = 0;
			break;
		}
	}
	closedir(d);
	if (!empty) {
		store_xasprintf(cause, "%s: directory is not empty", dir);
		return (STORE_EEXIST);
	}
	return (0);
}

/* Read exactly len bytes at off.  Returns 0, or -1 at a short file. */
static int
snapshot_pread(int fd, void *buf, size_t len, off_t off)
{
	ssize_t	n;
	size_t	got = 0;

	while (got < len) {
		n = pread(fd, (char *)buf + got, len - got, off + got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return (-1);
		got += n;
	}
	return (0);
}

/* Fsync a file or directory by name. */
static int
snapshot_fsync_path(const char *path)
{
	int	fd, rc = 0;

	if ((fd = open(path, O_RDONLY)) == -1)
		return (errno);
	if (fsync(fd) != 0)
		rc = errno;
	close(fd);
	return (rc);
}

/* Decompress the body of snapshot fd (in..end) to out, hashing it. */
static int
snapshot_inflate(int fd, off_t end, int out, uint64_t want_len,
    uint64_t *got_len, XXH64_hash_t *got_hash, char **cause)
{
	ZSTD_DCtx	*dctx;
	XXH3_state_t	*xs;
	ZSTD_inBuffer	 in;
	ZSTD_outBuffer	 ob;
	unsigned char	*ibuf, *obuf;
	size_t		 isize, osize, ret = 1;
	off_t		 off = SNAPSHOT_MAGIC_LEN;
	ssize_t		 n;
	int		 rc = 0, e;

	if ((dctx = ZSTD_createDCtx()) == NULL ||
	    (xs = XXH3_createState()) == NULL)
		abort();
	XXH3_64bits_reset(xs);
	isize = ZSTD_DStreamInSize();
	osize = ZSTD_DStreamOutSize();
	ibuf = store_xmalloc(isize);
	obuf = store_xmalloc(osize);
	*got_len = 0;
	while (off < end) {
		n = pread(fd, ibuf, (size_t)(end - off) < isize ?
		    (size_t)(end - off) : isize, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			store_xasprintf(cause, "reading snapshot: %s",
			    n < 0 ? strerror(errno) : "unexpected end");
			rc = STORE_ESYS;
			goto out;
		}
		off += n;
		in.src = ibuf;
		in.size = n;
		in.pos = 0;
		while (in.pos < in.size) {
			ob.dst = obuf;
			ob.size = osize;
			ob.pos = 0;
			ret = ZSTD_decompressStream(dctx, &ob, &in);
			if (ZSTD_isError(ret)) {
				store_xasprintf(cause, "snapshot is damaged: "
				    "%s", ZSTD_getErrorName(ret));
				rc = STORE_ECORRUPT;
				goto out;
			}
			XXH3_64bits_update(xs, obuf, ob.pos);
			*got_len += ob.pos;
			if (*got_len > want_len) {
				store_xasprintf(cause, "snapshot is damaged: "
				    "longer than its trailer says");
				rc = STORE_ECORRUPT;
				goto out;
			}
			if ((e = snapshot_write_all(out, obuf, ob.pos)) != 0) {
				store_xasprintf(cause, "writing data.mdb: %s",
				    strerror(e));
				rc = snapshot_errno(e);
				goto out;
			}
		}
	}
	if (ret != 0) {
		store_xasprintf(cause, "snapshot is truncated: the compressed "
		    "stream ends early");
		rc = STORE_ECORRUPT;
		goto out;
	}
	*got_hash = XXH3_64bits_digest(xs);
out:
	free(ibuf);
	free(obuf);
	XXH3_freeState(xs);
	ZSTD_freeDCtx(dctx);
	return (rc);
}

/*
 * Check the snapshot at path and unpack its LMDB copy as dir/data.mdb (dir
 * exists and is empty).  STORE_EINVAL if path is not a snapshot at all,
 * STORE_ECORRUPT if it is damaged or truncated.
 */
static int
snapshot_unpack(const char *path, const char *dir, char **cause)
{
	struct stat	 st;
	unsigned char	 head[SNAPSHOT_MAGIC_LEN];
	unsigned char	 trailer[SNAPSHOT_TRAILER_LEN];
	uint64_t	 want_len, got_len = 0;
	XXH64_hash_t	 want_hash, got_hash = 0;
	char		*data = NULL;
	off_t		 end;
	int		 fd, out = -1, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		store_xasprintf(cause, "%s: %s", path, strerror(errno));
		return (errno == ENOENT ? STORE_ENOTFOUND : STORE_ESYS);
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		store_xasprintf(cause, "%s: not a regular file", path);
		rc = STORE_EINVAL;
		goto out;
	}
	if (snapshot_pread(fd, head, sizeof head, 0) != 0 ||
	    memcmp(head, SNAPSHOT_MAGIC, sizeof head) != 0) {
		store_xasprintf(cause, "%s: not a logwire snapshot", path);
		rc = STORE_EINVAL;
		goto out;
	}
	if (st.st_size < SNAPSHOT_MAGIC_LEN + SNAPSHOT_TRAILER_LEN ||
	    snapshot_pread(fd, trailer, sizeof trailer,
	    st.st_size - SNAPSHOT_TRAILER_LEN) != 0 ||
	    memcmp(trailer, SNAPSHOT_END, SNAPSHOT_MAGIC_LEN) != 0) {
		store_xasprintf(cause, "%s: snapshot is truncated (no "
		    "trailer)", path);
		rc = STORE_ECORRUPT;
		goto out;
	}
	want_len = store_be64dec(trailer + 8);
	want_hash = store_be64dec(trailer + 16);
	end = st.st_size - SNAPSHOT_TRAILER_LEN;
	/*
	 * An LMDB copy has at least its two meta pages.  An empty one would
	 * be taken by LMDB for a new store: restored as an empty store, or
	 * failing verify with a write error.
	 */
	if (want_len == 0) {
		store_xasprintf(cause, "%s: snapshot is damaged: the store "
		    "copy in it is empty", path);
		rc = STORE_ECORRUPT;
		goto out;
	}

	store_xasprintf(&data, "%s/data.mdb", dir);
	if ((out = open(data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0644)) == -1) {
		store_xasprintf(cause, "%s: %s", data, strerror(errno));
		rc = snapshot_errno(errno);
		goto out;
	}
	if ((rc = snapshot_inflate(fd, end, out, want_len, &got_len,
	    &got_hash, cause)) != 0)
		goto out;
	if (got_len != want_len || got_hash != want_hash) {
		store_xasprintf(cause, "%s: snapshot is damaged: checksum "
		    "mismatch (%" PRIu64 " bytes, trailer says %" PRIu64 ")",
		    path, got_len, want_len);
		rc = STORE_ECORRUPT;
		goto out;
	}
	if (fsync(out) != 0) {
		store_xasprintf(cause, "%s: %s", data, strerror(errno));
		rc = snapshot_errno(errno);
		goto out;
	}
	rc = 0;
out:
	if (out != -1)
		close(out);
	close(fd);
	free(data);
	return (rc);
}

/*
 * Name the snapshot in a cause that names the temporary directory it was
 * unpacked into (gone by the time the message is read): "TMP/data.mdb:
 * truncated ..." becomes "PATH: the store in it: data.mdb: truncated ...".
 */
static void
snapshot_cause(const char *path, const char *tmp, char **cause)
{
	const char	*rest;
	char		*old;
	size_t		 len = strlen(tmp);

	if (cause == NULL || *cause == NULL || strncmp(*cause, tmp, len) != 0)
		return;
	old = *cause;
	rest = old + len;
	if (*rest == '/')
		rest++;
	else if (strncmp(rest, ": ", 2) == 0)
		rest += 2;
	store_xasprintf(cause, "%s: the store in it: %s", path, rest);
	free(old);
}

/* Collect the first line of verify's output as the cause. */
static int
snapshot_check_restored(struct store *s, char **cause)
{
	struct store_verify_report	 rep;
	char				*buf = NULL, *nl;
	size_t				 len = 0;
	FILE				*f;
	int				 rc;

	if ((f = open_memstream(&buf, &len)) == NULL)
		abort();
	rc = store_verify(s, f, &rep);
	fclose(f);
	if (rc != 0) {
		if ((nl = strchr(buf, '\n')) != NULL)
			*nl = '\0';
		store_xasprintf(cause, "restored store fails verification "
		    "(%" PRIu64 " problems): %s", rep.errors, buf);
	}
	free(buf);
	return (rc);
}

/*
 * Rebuild a store in `dir` from the snapshot at path.
 *
 * Everything happens in dir.restore-XXXXXX beside dir, which is renamed over
 * dir (a missing or empty directory, which rename replaces atomically) only
 * once the store has been unpacked, given new epochs, verified and synced.
 */
int
store_restore(const char *path, const char *dir, char **cause)
{
	struct store_config	 cfg;
	struct store		*s = NULL;
	char			*target, *tmp = NULL, *lock = NULL;
	char			*parent = NULL, *slash;
	size_t			 len;
	int			 rc, exists;

	if (cause != NULL)
		*cause = NULL;
	/* "dir/" would put the temporary directory inside dir. */
	target = store_xstrdup(dir);
	len = strlen(target);
	while (len > 1 && target[len - 1] == '/')
		target[--len] = '\0';
	if ((rc = snapshot_dir_usable(target, &exists, cause)) != 0)
		goto out;
	store_xasprintf(&tmp, "%s.restore-XXXXXX", target);
	if (mkdtemp(tmp) == NULL) {
		store_xasprintf(cause, "%s: %s", tmp, strerror(errno));
		rc = snapshot_errno(errno);
		free(tmp);
		tmp = NULL;
		goto out;
	}
	if ((rc = snapshot_unpack(path, tmp, cause)) != 0)
		goto out;

	store_config_default(&cfg);
	cfg.sync = STORE_SYNC_ALWAYS;
	if ((rc = store_open(tmp, &cfg, &s, cause)) != 0) {
		snapshot_cause(path, tmp, cause);
		goto out;
	}
	if ((rc = store_reepoch(s)) != 0) {
		store_xasprintf(cause, "new epochs: %s", store_strerror(rc));
		goto out;
	}
	if ((rc = snapshot_check_restored(s, cause)) != 0)
		goto out;
	store_close(s);
	s = NULL;

	store_xasprintf(&lock, "%s/lock.mdb", tmp);
	unlink(lock);
	if ((rc = snapshot_fsync_path(tmp)) != 0) {
		store_xasprintf(cause, "%s: %s", tmp, strerror(rc));
		rc = snapshot_errno(rc);
		goto out;
	}
	if (rename(tmp, target) != 0) {
		store_xasprintf(cause, "rename %s to %s: %s", tmp, target,
		    strerror(errno));
		rc = (errno == ENOTEMPTY || errno == EEXIST) ? STORE_EEXIST :
		    STORE_ESYS;
		goto out;
	}
	free(tmp);
	tmp = NULL;
	parent = store_xstrdup(target);
	if ((slash = strrchr(parent, '/')) != NULL && slash != parent)
		*slash = '\0';
	else if (slash == NULL)
		strcpy(parent, ".");
	else
		parent[1] = '\0';
	snapshot_fsync_path(parent);
	rc = 0;

out:
	if (s != NULL)
		store_close(s);
	if (tmp != NULL)
		snapshot_rmdir(tmp);
	free(parent);
	free(lock);
	free(tmp);
	free(target);
	return (rc);
}

/* Give every channel a new epoch inside a write transaction. */
static int
snapshot_reepoch_txn(struct store *s, MDB_txn *txn, void *arg)
{
	struct chanrec	 c;
	unsigned char	 b[CHANREC_LEN];
	char		 epoch[STORE_EPOCH_LEN + 1];
	MDB_cursor	*cur;
	MDB_val		 k, v;
	int		 rc;

	if ((rc = mdb_cursor_open(txn, s->dbi_chan, &cur)) != 0)
		return (rc);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if ((rc = chanlog_rec_decode(v.mv_data, v.mv_size, &c)) != 0)
			break;
		if ((rc = store_random_epoch(epoch)) != 0)
			break;
		memcpy(c.epoch, epoch, STORE_EPOCH_LEN);
		chanlog_rec_encode(&c, b);
		v.mv_data = b;
		v.mv_size = sizeof b;
		if ((rc = mdb_cursor_put(cur, &k, &v, MDB_CURRENT)) != 0)
			break;
	}
	mdb_cursor_close(cur);
	return (rc == MDB_NOTFOUND ? 0 : rc);
}

/* Give every channel a new random epoch (after restore). */
int
store_reepoch(struct store *s)
{
	return (store_write(s, snapshot_reepoch_txn, NULL));
}

/* Report one problem found by verify. */
static void __attribute__((__format__(__printf__, 2, 3)))
snapshot_problem(struct snapshot_verify *v, const char *fmt, ...)
{
	va_list	ap;

	v->rep->errors++;
	if (v->out == NULL || v->lines > VERIFY_MAX_LINES)
		return;
	if (++v->lines > VERIFY_MAX_LINES) {
		fprintf(v->out, "(further problems not shown)\n");
		return;
	}
	va_start(ap, fmt);
	vfprintf(v->out, fmt, ap);
	va_end(ap);
	fputc('\n', v->out);
}

/* Verify stops walking a channel's serials after this many misses. */
#define VERIFY_MAX_MISSING	1000

/*
 * Check one channel: every serial from first to head is in the index (the
 * blocks of cidx or the pending entries rebuilt from glog), points at a
 * record of that channel and serial that decodes, times never decrease,
 * and the metadata agrees.
 */
static int
snapshot_verify_chan(struct snapshot_verify *v, MDB_txn *txn, MDB_cursor *gc,
    const char *name, const struct chanrec *c)
{
	struct store_rec	 rec;
	struct cidx_cur		 cc;
	unsigned char		 key[STORE_GKEY_LEN];
	MDB_val			 k, d;
	uint64_t		 serial, gseq, count = 0, bytes = 0;
	uint64_t		 last_time = 0, missing = 0;
	int			 rc = 0;

	if (c->first > c->head + 1) {
		snapshot_problem(v, "channel %s: first %" PRIu64 " is beyond "
		    "head %" PRIu64 " + 1", name, c->first, c->head);
		return (0);
	}
	v->kept += c->count;
	cidx_cur_init(&cc, v->s, txn, v->t, c->id, 0);
	for (serial = c->first; serial <= c->head && serial != 0; serial++) {
		if (missing >= VERIFY_MAX_MISSING) {
			snapshot_problem(v, "channel %s: serials %" PRIu64
			    "..%" PRIu64 " not checked", name, serial,
			    c->head);
			break;
		}
		rc = cidx_cur_get(&cc, serial, &gseq);
		if (rc == MDB_NOTFOUND) {
			snapshot_problem(v, "channel %s: serial %" PRIu64
			    " is missing from the index", name, serial);
			missing++;
			rc = 0;
			continue;
		}
		if (rc == STORE_ECORRUPT) {
			snapshot_problem(v, "channel %s: serial %" PRIu64
			    ": index block does not decode", name, serial);
			missing++;
			rc = 0;
			continue;
		}
		if (rc != 0)
			break;
		store_be64enc(key, gseq);
		k.mv_data = key;
		k.mv_size = sizeof key;
		rc = mdb_cursor_get(gc, &k, &d, MDB_SET);
		if (rc == MDB_NOTFOUND) {
			snapshot_problem(v, "channel %s: serial %" PRIu64
			    ": the index points at gseq %" PRIu64 ", which is "
			    "not in the log", name, serial, gseq);
			missing++;
			rc = 0;
			continue;
		}
		if (rc != 0)
			break;
		v->rep->records++;
		if (record_decode(v->r, key, d.mv_data, d.mv_size,
		    &rec) != 0) {
			snapshot_problem(v, "channel %s: serial %" PRIu64
			    ": checksum mismatch or record does not decode",
			    name, serial);
			count++;
			bytes += d.mv_size;
			continue;
		}
		if (rec.chan_id != c->id || rec.serial != serial) {
			snapshot_problem(v, "channel %s: serial %" PRIu64
			    ": the index points at gseq %" PRIu64 ", which "
			    "holds channel id %" PRIu64 " serial %" PRIu64,
			    name, serial, gseq, rec.chan_id, rec.serial);
			missing++;
			continue;
		}
		if (rec.time < last_time)
			snapshot_problem(v, "channel %s: serial %" PRIu64
			    ": time %" PRIu64 " before the previous %" PRIu64,
			    name, serial, rec.time, last_time);
		last_time = rec.time;
		count++;
		bytes += d.mv_size;
	}
	cidx_cur_close(&cc);
	if (rc != 0)
		return (rc);
	if (count != c->count)
		snapshot_problem(v, "channel %s: %" PRIu64 " records, metadata "
		    "says %" PRIu64, name, count, c->count);
	if (bytes != c->bytes)
		snapshot_problem(v, "channel %s: %" PRIu64 " bytes, metadata "
		    "says %" PRIu64, name, bytes, c->bytes);
	if (count != 0 && last_time != c->last_time)
		snapshot_problem(v, "channel %s: last time %" PRIu64 ", metadata "
		    "says %" PRIu64, name, last_time, c->last_time);
	return (0);
}

/* Walk the channel table, checking each channel and its log. */
static int
snapshot_verify_chans(struct snapshot_verify *v, MDB_txn *txn)
{
	struct store	*s = v->s;
	struct chanrec	 c;
	MDB_cursor	*cc = NULL, *gc = NULL;
	MDB_val		 k, d, ik, id;
	unsigned char	 ib[8];
	char		 name[STORE_NAME_MAX + 1];
	int		 rc;

	if ((rc = mdb_cursor_open(txn, s->dbi_chan, &cc)) != 0 ||
	    (rc = mdb_cursor_open(txn, s->dbi_glog, &gc)) != 0)
		goto out;
	for (rc = mdb_cursor_get(cc, &k, &d, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(cc, &k, &d, MDB_NEXT)) {
		v->rep->channels++;
		if (k.mv_size > STORE_NAME_MAX) {
			snapshot_problem(v, "channels: name of %zu bytes",
			    k.mv_size);
			continue;
		}
		memcpy(name, k.mv_data, k.mv_size);
		name[k.mv_size] = '\0';
		if (!store_name_valid(name, k.mv_size))
			snapshot_problem(v, "channel %s: invalid name", name);
		if (chanlog_rec_decode(d.mv_data, d.mv_size, &c) != 0) {
			snapshot_problem(v, "channel %s: entry does not "
			    "decode", name);
			continue;
		}
		store_be64enc(ib, c.id);
		ik.mv_data = ib;
		ik.mv_size = sizeof ib;
		rc = mdb_get(txn, s->dbi_chanids, &ik, &id);
		if (rc == MDB_NOTFOUND)
			snapshot_problem(v, "channel %s: id %" PRIu64 " missing "
			    "from chanids", name, c.id);
		else if (rc != 0)
			goto out;
		else if (id.mv_size != k.mv_size ||
		    memcmp(id.mv_data, k.mv_data, k.mv_size) != 0)
			snapshot_problem(v, "channel %s: chanids names id %"
			    PRIu64 " otherwise", name, c.id);
		if ((rc = snapshot_verify_chan(v, txn, gc, name, &c)) != 0)
			goto out;
	}
	if (rc == MDB_NOTFOUND)
		rc = 0;
out:
	if (gc != NULL)
		mdb_cursor_close(gc);
	if (cc != NULL)
		mdb_cursor_close(cc);
	return (rc);
}

/* Check that chanids names only channels that have this id. */
static int
snapshot_verify_ids(struct snapshot_verify *v, MDB_txn *txn)
{
	struct store	*s = v->s;
	struct chanrec	 c;
	MDB_cursor	*cur;
	MDB_val		 k, d, ck, cd;
	int		 rc;

	if ((rc = mdb_cursor_open(txn, s->dbi_chanids, &cur)) != 0)
		return (rc);
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		if (k.mv_size != 8) {
			snapshot_problem(v, "chanids: key of %zu bytes",
			    k.mv_size);
			continue;
		}
		ck = d;
		rc = d.mv_size == 0 ? MDB_NOTFOUND :
		    mdb_get(txn, s->dbi_chan, &ck, &cd);
		if (rc != 0 && rc != MDB_NOTFOUND)
			break;
		if (rc == MDB_NOTFOUND || chanlog_rec_decode(cd.mv_data,
		    cd.mv_size, &c) != 0 || c.id != store_be64dec(k.mv_data))
			snapshot_problem(v, "chanids: id %" PRIu64 " names "
			    "%.*s, which is not a channel with that id",
			    store_be64dec(k.mv_data), (int)d.mv_size,
			    (const char *)d.mv_data);
	}
	mdb_cursor_close(cur);
	return (rc == MDB_NOTFOUND ? 0 : rc);
}

/* Look up a channel by id for the whole-table checks (0 or an error). */
static int
snapshot_chan_by_id(struct snapshot_verify *v, MDB_txn *txn, uint64_t id,
    struct chanrec *c, int *found)
{
	char	name[STORE_NAME_MAX + 1];
	size_t	len;
	int	rc;

	*found = 0;
	rc = chanlog_meta_get(v->s, txn, id, c, name, &len);
	if (rc == MDB_NOTFOUND || rc == STORE_ECORRUPT)
		return (0);
	if (rc == 0)
		*found = 1;
	return (rc);
}

/*
 * Check that every record of the log decodes and belongs to a known
 * channel, and that the log holds as many records as the channels keep
 * (so none is left over from a trim, or beyond a head).
 */
static int
snapshot_verify_glog(struct snapshot_verify *v, MDB_txn *txn)
{
	struct store	*s = v->s;
	struct chanrec	 c;
	MDB_cursor	*cur;
	MDB_val		 k, d;
	uint64_t	 chan, serial, total = 0, lastchan = 0;
	int		 rc, found = 0;

	if ((rc = mdb_cursor_open(txn, s->dbi_glog, &cur)) != 0)
		return (rc);
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		total++;
		if (k.mv_size != STORE_GKEY_LEN) {
			snapshot_problem(v, "log: key of %zu bytes",
			    k.mv_size);
			continue;
		}
		if (record_check(k.mv_data, d.mv_data, d.mv_size) != 0) {
			snapshot_problem(v, "log: gseq %" PRIu64 ": checksum "
			    "mismatch or record does not decode",
			    store_be64dec(k.mv_data));
			continue;
		}
		record_ident(d.mv_data, d.mv_size, &chan, &serial);
		if (chan != lastchan || total == 1) {
			if ((rc = snapshot_chan_by_id(v, txn, chan, &c,
			    &found)) != 0)
				break;
			lastchan = chan;
		}
		if (!found)
			snapshot_problem(v, "log: gseq %" PRIu64 ": record of "
			    "unknown channel id %" PRIu64,
			    store_be64dec(k.mv_data), chan);
		else if (serial < c.first || serial > c.head)
			snapshot_problem(v, "log: gseq %" PRIu64 ": serial %"
			    PRIu64 " of channel id %" PRIu64 " is outside its "
			    "kept serials %" PRIu64 "..%" PRIu64,
			    store_be64dec(k.mv_data), serial, chan, c.first,
			    c.head);
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return (rc);
	if (total != v->kept)
		snapshot_problem(v, "log: %" PRIu64 " records, the channels "
		    "keep %" PRIu64, total, v->kept);
	return (0);
}

/*
 * Check the blocks of the channel index: known channels, no overlap, and
 * nothing outside the channel's kept serials (the per-channel walk has
 * checked what each entry points at).
 */
static int
snapshot_verify_blocks(struct snapshot_verify *v, MDB_txn *txn)
{
	struct store	*s = v->s;
	struct chanrec	 c;
	MDB_cursor	*cur;
	MDB_val		 k, d;
	uint64_t	 chan, first, n, lastchan = 0, next = 0;
	int		 rc, found = 0, any = 0;

	if ((rc = mdb_cursor_open(txn, s->dbi_cidx, &cur)) != 0)
		return (rc);
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		if (k.mv_size != STORE_IKEY_LEN || d.mv_size == 0 ||
		    d.mv_size % 8 != 0) {
			snapshot_problem(v, "index: block of %zu bytes under "
			    "a key of %zu bytes", d.mv_size, k.mv_size);
			continue;
		}
		chan = store_be64dec(k.mv_data);
		first = store_be64dec((unsigned char *)k.mv_data + 8);
		n = d.mv_size / 8;
		if (!any || chan != lastchan) {
			if ((rc = snapshot_chan_by_id(v, txn, chan, &c,
			    &found)) != 0)
				break;
			lastchan = chan;
			any = 1;
			next = found ? c.first : 0;
		}
		if (!found) {
			snapshot_problem(v, "index: block for unknown channel "
			    "id %" PRIu64, chan);
			continue;
		}
		if (first != next)
			snapshot_problem(v, "index: channel id %" PRIu64 ": "
			    "block at serial %" PRIu64 " where %" PRIu64 " was "
			    "expected", chan, first, next);
		if (first + n - 1 > c.head)
			snapshot_problem(v, "index: channel id %" PRIu64 ": "
			    "block %" PRIu64 "..%" PRIu64 " beyond head %"
			    PRIu64, chan, first, first + n - 1, c.head);
		next = first + n;
	}
	mdb_cursor_close(cur);
	return (rc == MDB_NOTFOUND ? 0 : rc);
}

/*
 * Check every record and the metadata.  The whole check is one read
 * transaction, so it sees one consistent state of a store in use.
 */
int
store_verify(struct store *s, FILE *out, struct store_verify_report *rep)
{
	struct store_verify_report	 dummy;
	struct snapshot_verify		 v;
	int				 rc;

	if (rep == NULL)
		rep = &dummy;
	memset(rep, 0, sizeof *rep);
	memset(&v, 0, sizeof v);
	v.s = s;
	v.out = out;
	v.rep = rep;
	v.r = store_reader_open(s);
	if ((rc = store_reader_begin(v.r)) != 0)
		goto out;
	/* The pending index as this snapshot has it, from its own glog. */
	if ((v.t = cidx_table_build(s, v.r->txn, &rc)) != NULL &&
	    (rc = snapshot_verify_chans(&v, v.r->txn)) == 0 &&
	    (rc = snapshot_verify_ids(&v, v.r->txn)) == 0 &&
	    (rc = snapshot_verify_blocks(&v, v.r->txn)) == 0)
		rc = snapshot_verify_glog(&v, v.r->txn);
	cidx_table_free(v.t);
	store_reader_end(v.r);
	if (rc != 0) {
		snapshot_problem(&v, "verify stopped: %s",
		    store_strerror(store_err(rc)));
		rc = store_err(rc);
		goto out;
	}
	rc = rep->errors != 0 ? STORE_ECORRUPT : 0;
out:
	store_reader_close(v.r);
	if (out != NULL)
		fflush(out);
	return (rc);
}

/* Open and verify the store in a directory. */
static int
snapshot_verify_dir(const char *dir, FILE *out,
    struct store_verify_report *rep, char **cause)
{
	struct store_config	 cfg;
	struct store		*s;
	int			 rc;

	store_config_default(&cfg);
	cfg.readonly = 1;
	if ((rc = store_open(dir, &cfg, &s, cause)) != 0)
		return (rc);
	rc = store_verify(s, out, rep);
	store_close(s);
	if (rc != 0)
		store_xasprintf(cause, "%s: %s", dir, rc == STORE_ECORRUPT ?
		    "store fails verification" : store_strerror(rc));
	return (rc);
}

/*
 * Verify a data directory or a snapshot file.  A snapshot is unpacked into a
 * temporary directory under $TMPDIR (or /tmp), which is removed afterwards.
 */
int
store_verify_path(const char *path, FILE *out,
    struct store_verify_report *rep, char **cause)
{
	struct store_verify_report	 dummy;
	struct stat			 st;
	const char			*tmpdir;
	char				*tmp;
	int				 rc;

	if (cause != NULL)
		*cause = NULL;
	if (rep == NULL)
		rep = &dummy;
	memset(rep, 0, sizeof *rep);
	if (stat(path, &st) != 0) {
		store_xasprintf(cause, "%s: %s", path, strerror(errno));
		return (errno == ENOENT ? STORE_ENOTFOUND : STORE_ESYS);
	}
	if (S_ISDIR(st.st_mode))
		return (snapshot_verify_dir(path, out, rep, cause));

	if ((tmpdir = getenv("TMPDIR")) == NULL || *tmpdir == '\0')
		tmpdir = "/tmp";
	store_xasprintf(&tmp, "%s/logwire-verify-XXXXXX", tmpdir);
	if (mkdtemp(tmp) == NULL) {
		store_xasprintf(cause, "%s: %s", tmp, strerror(errno));
		free(tmp);
		return (STORE_ESYS);
	}
	if ((rc = snapshot_unpack(path, tmp, cause)) == 0) {
		rc = snapshot_verify_dir(tmp, out, rep, cause);
		snapshot_cause(path, tmp, cause);
	}
	snapshot_rmdir(tmp);
	free(tmp);
	return (rc);
}
