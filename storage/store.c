/*
 * Opening and closing the store: the LMDB environment, its named databases,
 * map growth, readers, sync and errors.
 */

#include "config.h"

#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "store-int.h"

#define STORE_DEFAULT_MAP	(64ULL * 1024 * 1024)
#define STORE_DEFAULT_MAPMAX	(1024ULL * 1024 * 1024 * 1024)
#define STORE_DEFAULT_DEDUPE	120000
#define STORE_DEFAULT_CMIN	512
#define STORE_DEFAULT_CLEVEL	1
#define STORE_MAXREADERS	256
#define STORE_FULL_SLACK	(4ULL * 1024 * 1024)
#define STORE_NEW_DIR		"new-store.tmp"	/* a store being created */

/* Fill *cfg with the defaults. */
void
store_config_default(struct store_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->sync = STORE_SYNC_ALWAYS;
	cfg->map_size = STORE_DEFAULT_MAP;
	cfg->map_max = STORE_DEFAULT_MAPMAX;
	cfg->dedupe_window_ms = STORE_DEFAULT_DEDUPE;
	cfg->compress_min = STORE_DEFAULT_CMIN;
	cfg->compress_level = STORE_DEFAULT_CLEVEL;
}

/* Die on out of memory: the library has no fatal() of its own. */
static void
store_oom(size_t size)
{
	fprintf(stderr, "logwire storage: out of memory (%zu bytes)\n", size);
	abort();
}

/* Allocate size bytes or die. */
void *
store_xmalloc(size_t size)
{
	void	*p;

	if ((p = malloc(size == 0 ? 1 : size)) == NULL)
		store_oom(size);
	return (p);
}

/* Resize an allocation or die. */
void *
store_xrealloc(void *old, size_t size)
{
	void	*p;

	if ((p = realloc(old, size == 0 ? 1 : size)) == NULL)
		store_oom(size);
	return (p);
}

/* Duplicate a string or die. */
char *
store_xstrdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		store_oom(strlen(s));
	return (p);
}

/* Format into a new string or die. */
int
store_xasprintf(char **ret, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	if (ret == NULL)
		return (0);
	va_start(ap, fmt);
	n = vasprintf(ret, fmt, ap);
	va_end(ap);
	if (n < 0)
		store_oom(0);
	return (n);
}

/* Make sure *buf holds at least need bytes, growing by doubling. */
int
store_buf_reserve(unsigned char **buf, size_t *size, size_t need)
{
	size_t	n;

	if (*size >= need)
		return (0);
	n = *size == 0 ? 4096 : *size;
	while (n < need)
		n *= 2;
	*buf = store_xrealloc(*buf, n);
	*size = n;
	return (0);
}

/*
 * Map an LMDB or errno code to a STORE_E* code.  Codes with no STORE_E*
 * meaning of their own are passed through: LMDB's stay negative (in
 * -30799 .. -30780), errno values become STORE_ESYS.
 */
int
store_err(int rc)
{
	switch (rc) {
	case 0:
		return (0);
	case MDB_MAP_FULL:
	case ENOSPC:
	case EDQUOT:
	case EFBIG:
		return (STORE_EFULL);
	case EIO:
		return (STORE_EIO);
	case MDB_PANIC:
		return (STORE_EPANIC);
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_INVALID:
	case MDB_VERSION_MISMATCH:
		return (STORE_ECORRUPT);
	case MDB_NOTFOUND:
		return (STORE_ENOTFOUND);
	case EINVAL:
		return (STORE_EINVAL);
	}
	if (rc <= STORE_ENOTFOUND && rc >= STORE_EBUSY)
		return (rc);
	if (rc > 0)
		return (STORE_ESYS);
	return (rc);
}

/* Name of an error code (STORE_E*, LMDB's or errno's when positive). */
const char *
store_strerror(int rc)
{
	switch (rc) {
	case 0:
		return ("success");
	case STORE_ENOTFOUND:
		return ("no such channel or message");
	case STORE_EFULL:
		return ("storage full: nothing stored");
	case STORE_EIO:
		return ("storage I/O error: nothing stored");
	case STORE_ECORRUPT:
		return ("storage corrupt: record or file fails its checks");
	case STORE_EPANIC:
		return ("storage environment unusable (LMDB panic)");
	case STORE_EINVAL:
		return ("invalid argument");
	case STORE_EEXIST:
		return ("target exists and is not empty");
	case STORE_ESYS:
		return ("system error");
	case STORE_EBUSY:
		return ("store in use by another writer");
	}
	if (rc > 0 || (rc >= MDB_KEYEXIST && rc <= MDB_LAST_ERRCODE))
		return (mdb_strerror(rc));
	return ("unknown storage error");
}

/* Parse a sync policy name. */
int
store_sync_parse(const char *s, enum store_sync *sync)
{
	if (strcmp(s, "always") == 0)
		*sync = STORE_SYNC_ALWAYS;
	else if (strcmp(s, "batch") == 0)
		*sync = STORE_SYNC_BATCH;
	else if (strcmp(s, "none") == 0)
		*sync = STORE_SYNC_NONE;
	else
		return (STORE_EINVAL);
	return (0);
}

/* The id a message was stored under: its own or the generated one. */
const char *
store_msg_id(const struct store_msg *m, size_t *len)
{
	if (m->id != NULL) {
		*len = m->id_len;
		return (m->id);
	}
	*len = strlen(m->gen_id);
	return (m->gen_id);
}

/* Name a sync policy. */
const char *
store_sync_name(enum store_sync sync)
{
	switch (sync) {
	case STORE_SYNC_ALWAYS:
		return ("always");
	case STORE_SYNC_BATCH:
		return ("batch");
	case STORE_SYNC_NONE:
		return ("none");
	}
	return ("unknown");
}

/* Unix time in milliseconds. */
uint64_t
store_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

/*
 * Whether a channel name is valid: 1..255 bytes of well-formed UTF-8 (no
 * overlong forms, no surrogates, nothing above U+10FFFF) without C0
 * controls, DEL or C1 controls.
 */
int
store_name_valid(const char *name, size_t len)
{
	const unsigned char	*p = (const unsigned char *)name;
	size_t			 i, n, k;
	uint32_t		 cp;

	if (name == NULL || len == 0 || len > STORE_NAME_MAX)
		return (0);
	for (i = 0; i < len; i += n) {
		if (p[i] < 0x80) {
			if (p[i] < 0x20 || p[i] == 0x7f)
				return (0);
			n = 1;
			continue;
		}
		if (p[i] >= 0xc2 && p[i] <= 0xdf) {
			n = 2;
			cp = p[i] & 0x1f;
		} else if (p[i] >= 0xe0 && p[i] <= 0xef) {
			n = 3;
			cp = p[i] & 0x0f;
		} else if (p[i] >= 0xf0 && p[i] <= 0xf4) {
			n = 4;
			cp = p[i] & 0x07;
		} else
			return (0);
		if (i + n > len)
			return (0);
		for (k = 1; k < n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return (0);
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
		    (cp >= 0x80 && cp <= 0x9f))
			return (0);
	}
	return (1);
}

/* Make a new random epoch: 16 lowercase hex characters and a NUL. */
int
store_random_epoch(char *epoch)
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 b[STORE_EPOCH_LEN / 2];
	size_t			 got = 0;
	ssize_t			 n;
	int			 i;

	while (got < sizeof b) {
		n = getrandom(b + got, sizeof b - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return (STORE_ESYS);
		}
		got += n;
	}
	for (i = 0; i < (int)sizeof b; i++) {
		epoch[i * 2] = hex[b[i] >> 4];
		epoch[i * 2 + 1] = hex[b[i] & 0xf];
	}
	epoch[STORE_EPOCH_LEN] = '\0';
	return (0);
}

/* Read the current map size from LMDB; map lock held. */
static void
store_update_mapsize(struct store *s)
{
	MDB_envinfo	info;

	if (mdb_env_info(s->env, &info) == 0)
		s->mapsize = info.me_mapsize;
}

/*
 * Adopt a map size grown by another process (MDB_MAP_RESIZED).  No
 * transaction of this process may be open, hence the exclusive lock.
 */
static int
store_adopt_mapsize(struct store *s)
{
	int	rc;

	pthread_rwlock_wrlock(&s->maplock);
	rc = mdb_env_set_mapsize(s->env, 0);
	store_update_mapsize(s);
	pthread_rwlock_unlock(&s->maplock);
	return (rc);
}

/*
 * Double the map after MDB_MAP_FULL, up to cfg.map_max.  `seen` is the size
 * the failed transaction ran with: if another writer has grown the map
 * since, there is nothing to do but retry.
 */
static int
store_grow(struct store *s, size_t seen)
{
	size_t	cur, want;
	int	rc = 0;

	pthread_rwlock_wrlock(&s->maplock);
	store_update_mapsize(s);
	cur = s->mapsize;
	if (cur > seen)
		goto out;
	if (cur >= s->cfg.map_max) {
		rc = STORE_EFULL;
		goto out;
	}
	want = cur * 2;
	if (want > s->cfg.map_max || want < cur)
		want = s->cfg.map_max;
	if (mdb_env_set_mapsize(s->env, want) != 0) {
		/* Could not map the larger size: go back to the old one. */
		if (mdb_env_set_mapsize(s->env, cur) != 0)
			rc = STORE_EPANIC;
		else
			rc = STORE_EFULL;
	}
	store_update_mapsize(s);
out:
	pthread_rwlock_unlock(&s->maplock);
	return (rc);
}

/*
 * Tell a full disk from a failing one after a write transaction failed with
 * EIO.  LMDB reports a short write() as EIO ("short write, filesystem
 * full?"), and a write that runs out of space part-way is short rather than
 * ENOSPC.  After such a write the file system has (next to) no space left,
 * so little free space means full; otherwise it is a real I/O error.
 */
static int
store_eio_cause(struct store *s)
{
	struct statvfs	sv;
	int		fd;

	if (mdb_env_get_fd(s->env, &fd) != 0 || fstatvfs(fd, &sv) != 0)
		return (EIO);
	if ((uint64_t)sv.f_bavail * sv.f_frsize < STORE_FULL_SLACK)
		return (ENOSPC);
	return (EIO);
}

/* Begin a write transaction with the map lock held shared. */
static int
store_wtxn_begin(struct store *s, MDB_txn **txnp, size_t *seen)
{
	int	rc;

	for (;;) {
		pthread_rwlock_rdlock(&s->maplock);
		*seen = s->mapsize;
		rc = mdb_txn_begin(s->env, NULL, 0, txnp);
		if (rc == 0)
			return (0);
		pthread_rwlock_unlock(&s->maplock);
		if (rc != MDB_MAP_RESIZED)
			return (rc);
		if ((rc = store_adopt_mapsize(s)) != 0)
			return (rc);
	}
}

/*
 * Keep data.mdb at least as long as its meta page says.  LMDB does not
 * write the pages a transaction allocated and freed again before its
 * commit ("loose" pages, put on the free list); were those the last pages
 * of the map, the file would end before the last page the meta page names,
 * and store_check_file could not tell it from a truncated file.  A commit
 * usually reuses them, so this is rare, and cheap to rule out: the file is
 * extended over them (a hole, no space used).  Writer lock held.
 */
static void
store_cover_file(struct store *s)
{
	MDB_envinfo	info;
	struct stat	sb;
	uint64_t	need;
	int		fd, rc;

	pthread_rwlock_rdlock(&s->maplock);
	rc = mdb_env_info(s->env, &info);
	pthread_rwlock_unlock(&s->maplock);
	if (rc != 0)
		return;
	need = ((uint64_t)info.me_last_pgno + 1) * s->psize;
	if (need <= s->covered)
		return;
	if (mdb_env_get_fd(s->env, &fd) != 0 || fstat(fd, &sb) != 0)
		return;
	if ((uint64_t)sb.st_size < need && ftruncate(fd, need) != 0)
		return;
	s->covered = need;
}

/*
 * Run fn in a write transaction and commit, then post (if not NULL) once
 * the commit succeeded.  On MDB_MAP_FULL (from fn or from the commit) the
 * transaction is aborted, the map doubled and fn run again from the start,
 * so fn must set all of its results afresh each time.  fn returns 0 to
 * commit, or an LMDB, errno or STORE_E* code to abort.  The whole runs
 * under the store's writer lock, so post finishes before the next write
 * transaction of this process begins.  Returns 0 or a STORE_E* code (or an
 * LMDB code with no STORE_E* meaning).
 */
int
store_write_post(struct store *s, store_write_fn fn, store_post_fn post,
    void *arg)
{
	MDB_txn	*txn;
	size_t	 seen;
	int	 rc;

	if (s->cfg.readonly)
		return (STORE_EINVAL);
	pthread_mutex_lock(&s->wlock);
	for (;;) {
		if ((rc = store_wtxn_begin(s, &txn, &seen)) != 0)
			break;
		rc = fn(s, txn, arg);
		if (rc == 0)
			rc = mdb_txn_commit(txn);
		else
			mdb_txn_abort(txn);
		pthread_rwlock_unlock(&s->maplock);
		if (rc != MDB_MAP_FULL)
			break;
		if ((rc = store_grow(s, seen)) != 0)
			break;
	}
	if (rc == 0)
		store_cover_file(s);
	if (rc == 0 && post != NULL)
		post(s, arg);
	pthread_mutex_unlock(&s->wlock);
	if (rc == EIO)
		rc = store_eio_cause(s);
	return (store_err(rc));
}

/* Run fn in a write transaction and commit (store_write_post, no post). */
int
store_write(struct store *s, store_write_fn fn, void *arg)
{
	return (store_write_post(s, fn, NULL, arg));
}

/* Open the named databases and check or write the format version. */
static int
store_open_dbs(struct store *s, MDB_txn *txn, void *arg)
{
	unsigned int	 flags = s->cfg.readonly ? 0 : MDB_CREATE;
	char		 vbuf[4];
	MDB_val		 k, v;
	int		 rc, fresh = 0;

	/* The version first: an older store must not get new databases. */
	if ((rc = mdb_dbi_open(txn, "meta", flags, &s->dbi_meta)) != 0)
		return (rc);
	k.mv_data = "version";
	k.mv_size = 7;
	rc = mdb_get(txn, s->dbi_meta, &k, &v);
	if (rc == MDB_NOTFOUND && !s->cfg.readonly)
		fresh = 1;
	else if (rc != 0)
		return (rc);
	else if (v.mv_size != 4) {
		s->bad_version = UINT32_MAX;
		return (STORE_EINVAL);
	} else if (store_be32dec(v.mv_data) != STORE_VERSION) {
		s->bad_version = store_be32dec(v.mv_data);
		return (STORE_EINVAL);
	}

	if ((rc = mdb_dbi_open(txn, "channels", flags, &s->dbi_chan)) != 0 ||
	    (rc = mdb_dbi_open(txn, "chanids", flags, &s->dbi_chanids)) != 0 ||
	    (rc = mdb_dbi_open(txn, "glog", flags, &s->dbi_glog)) != 0 ||
	    (rc = mdb_dbi_open(txn, "cidx", flags, &s->dbi_cidx)) != 0 ||
	    (rc = mdb_dbi_open(txn, "dedupe", flags, &s->dbi_dedupe)) != 0 ||
	    (rc = mdb_dbi_open(txn, "dedupexp", flags, &s->dbi_dedupexp)) != 0)
		return (rc);
	if (!fresh)
		return (0);
	store_be32enc(vbuf, STORE_VERSION);
	v.mv_data = vbuf;
	v.mv_size = sizeof vbuf;
	return (mdb_put(txn, s->dbi_meta, &k, &v, 0));
}

/* Say why a store of another format version is refused. */
static void
store_version_cause(struct store *s, char **cause)
{
	if (s->bad_version == UINT32_MAX)
		store_xasprintf(cause, "%s: store format version unreadable",
		    s->dir);
	else
		store_xasprintf(cause, "%s: store format version %u, this "
		    "logwire reads version %u only (no migration: export the "
		    "channels with the older logwire and publish them again)",
		    s->dir, s->bad_version, STORE_VERSION);
}

/* Open the databases read-only (they must exist). */
static int
store_open_ro(struct store *s, char **cause)
{
	MDB_txn	*txn;
	int	 rc;

	if ((rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn)) != 0)
		goto out;
	/* Commit, not abort: an aborted transaction closes its new DBIs. */
	if ((rc = store_open_dbs(s, txn, NULL)) == 0)
		rc = mdb_txn_commit(txn);
	else
		mdb_txn_abort(txn);
out:
	if (rc == MDB_NOTFOUND) {
		store_xasprintf(cause, "%s: not a logwire store", s->dir);
		return (STORE_ECORRUPT);
	}
	if (rc == STORE_EINVAL)
		store_version_cause(s, cause);
	else if (rc != 0)
		store_xasprintf(cause, "%s: %s", s->dir, mdb_strerror(rc));
	return (store_err(rc));
}

/* Describe a failure of mdb_env_open in *cause and map its code. */
static int
store_open_error(const char *dir, int rc, char **cause)
{
	switch (rc) {
	case MDB_INVALID:
		store_xasprintf(cause, "%s/data.mdb: not an LMDB data file",
		    dir);
		return (STORE_ECORRUPT);
	case MDB_VERSION_MISMATCH:
		store_xasprintf(cause, "%s/data.mdb: unsupported LMDB version",
		    dir);
		return (STORE_ECORRUPT);
	case ENOENT:
		store_xasprintf(cause, "%s: no store there", dir);
		return (STORE_ENOTFOUND);
	}
	store_xasprintf(cause, "%s: %s", dir, mdb_strerror(rc));
	return (store_err(rc));
}

/*
 * Refuse an empty data.mdb when opening read-only.  LMDB takes an empty
 * file for a new store and writes its first pages, which a read-only open
 * cannot (it fails with EBADF).  Opened to write, an empty file (a first
 * start cut short) does become a new store.
 */
static int
store_check_empty(const char *dir, char **cause)
{
	struct stat	 sb;
	char		*path = NULL;
	int		 rc = 0;

	store_xasprintf(&path, "%s/data.mdb", dir);
	if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size == 0) {
		store_xasprintf(cause, "%s: empty file, not a store", path);
		rc = STORE_ECORRUPT;
	}
	free(path);
	return (rc);
}

/*
 * Check that data.mdb holds every page its meta page says the store has.
 * LMDB reads pages through a map of the file, so a page past the end of a
 * truncated file is a SIGBUS in whichever process touches it, not an error
 * code.  mdb_env_open reads the two meta pages with read() and maps the
 * file without touching it; a transaction then looks up no page numbered
 * past the last page of the newer meta (the one with the higher txnid,
 * which mdb_env_info reports, as each transaction picks it): a page number
 * beyond is MDB_PAGE_NOTFOUND.  So a file that covers that last page reads
 * safely, and one that does not is refused here, before any transaction.
 */
static int
store_check_file(struct store *s, char **cause)
{
	MDB_envinfo	info;
	MDB_stat	st;
	struct stat	sb;
	uint64_t	need;
	int		fd, rc;

	if ((rc = mdb_env_info(s->env, &info)) != 0 ||
	    (rc = mdb_env_stat(s->env, &st)) != 0 ||
	    (rc = mdb_env_get_fd(s->env, &fd)) != 0) {
		store_xasprintf(cause, "%s/data.mdb: %s", s->dir,
		    mdb_strerror(rc));
		return (store_err(rc));
	}
	if (fstat(fd, &sb) != 0) {
		store_xasprintf(cause, "%s/data.mdb: %s", s->dir,
		    strerror(errno));
		return (STORE_ESYS);
	}
	if (st.ms_psize == 0 ||
	    (uint64_t)info.me_last_pgno >= UINT64_MAX / st.ms_psize) {
		store_xasprintf(cause, "%s/data.mdb: damaged: its meta page "
		    "names page %zu of %u bytes", s->dir, info.me_last_pgno,
		    st.ms_psize);
		return (STORE_ECORRUPT);
	}
	need = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
	if ((uint64_t)sb.st_size < need) {
		store_xasprintf(cause, "%s/data.mdb: truncated: %llu bytes, "
		    "its meta page (transaction %zu) needs %llu", s->dir,
		    (unsigned long long)sb.st_size, info.me_last_txnid,
		    (unsigned long long)need);
		return (STORE_ECORRUPT);
	}
	s->psize = st.ms_psize;
	s->covered = need;
	return (0);
}

/* Free a store that failed to open or has closed. */
static void
store_free(struct store *s)
{
	if (s->env != NULL)
		mdb_env_close(s->env);
	if (s->lockfd != -1)
		close(s->lockfd);
	cidx_table_free(s->pidx);
	pthread_rwlock_destroy(&s->maplock);
	pthread_mutex_destroy(&s->wlock);
	pthread_mutex_destroy(&s->plock);
	free(s->bents);
	ZSTD_freeCCtx(s->cctx);
	free(s->zbuf);
	free(s->ents);
	free(s->slots);
	free(s->dir);
	free(s);
}

/*
 * Take the store's writer lock (flock on DIR/writer.lock): the channel
 * index kept in memory (cidx.c) is right only if this process is the one
 * writer.  Readers (verify, snapshot) need no lock.
 */
static int
store_lock(struct store *s, const char *dir, char **cause)
{
	char	*path = NULL;

	store_xasprintf(&path, "%s/writer.lock", dir);
	s->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (s->lockfd == -1) {
		store_xasprintf(cause, "%s: %s", path, strerror(errno));
		free(path);
		return (errno == ENOSPC ? STORE_EFULL : STORE_ESYS);
	}
	if (flock(s->lockfd, LOCK_EX | LOCK_NB) != 0) {
		store_xasprintf(cause, "%s: another process writes this store",
		    dir);
		free(path);
		return (errno == EWOULDBLOCK ? STORE_EBUSY : STORE_ESYS);
	}
	free(path);
	return (0);
}

/* Sync a directory, so that the names in it are durable.  0 or errno. */
static int
store_fsync_dir(const char *dir)
{
	int	fd, rc = 0;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return (errno);
	if (fsync(fd) != 0)
		rc = errno;
	close(fd);
	return (rc);
}

/* Remove what a creation cut short left in tmp.  0 or errno. */
static int
store_create_clean(const char *tmp)
{
	char	*path = NULL;

	store_xasprintf(&path, "%s/data.mdb", tmp);
	unlink(path);
	free(path);
	store_xasprintf(&path, "%s/lock.mdb", tmp);
	unlink(path);
	free(path);
	if (rmdir(tmp) != 0 && errno != ENOENT)
		return (errno);
	return (0);
}

/*
 * Create the store if dir has none yet (no data.mdb, or an empty one), in
 * a way a power failure cannot leave half done.  LMDB writes the two meta
 * pages of a new data.mdb without a sync, and only the first commit's
 * sync makes them durable: a power failure in between can leave a file
 * whose second meta page never reached the disk, which LMDB refuses
 * ("not an LMDB data file") so that the daemon does not start, or one
 * without the store's databases, which verify calls no logwire store
 * (tests/gauntlet/powerloss found both).  So the new store is made in
 * dir/STORE_NEW_DIR, its first commit (the databases and the format
 * version) synced, and only then is its data.mdb renamed into dir and dir
 * synced.  Until that rename is durable dir has no data.mdb, which is a
 * new store again: the next open starts over.  Writer lock held.
 */
static int
store_create(struct store *s, const char *dir, char **cause)
{
	struct stat	 st;
	MDB_env		*env = NULL;
	MDB_txn		*txn;
	char		*data = NULL, *tmp = NULL, *tmpdata = NULL;
	int		 rc = 0, err;

	store_xasprintf(&data, "%s/data.mdb", dir);
	if (stat(data, &st) == 0 && st.st_size > 0)
		goto out;	/* a store (or what mdb_env_open will judge) */
	store_xasprintf(&tmp, "%s/%s", dir, STORE_NEW_DIR);
	store_xasprintf(&tmpdata, "%s/data.mdb", tmp);
	if ((err = store_create_clean(tmp)) != 0 ||
	    (mkdir(tmp, 0700) != 0 && (err = errno) != 0)) {
		store_xasprintf(cause, "%s: %s", tmp, strerror(err));
		rc = err == ENOSPC ? STORE_EFULL : STORE_ESYS;
		goto out;
	}
	if ((rc = mdb_env_create(&env)) != 0) {
		env = NULL;
		goto lmdb;
	}
	mdb_env_set_maxdbs(env, 8);
	if ((rc = mdb_env_open(env, tmp, MDB_NOTLS, 0600)) != 0 ||
	    (rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0)
		goto lmdb;
	if ((rc = store_open_dbs(s, txn, NULL)) != 0) {
		mdb_txn_abort(txn);
		goto lmdb;
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		goto lmdb;
	mdb_env_close(env);
	env = NULL;
	err = rename(tmpdata, data) != 0 ? errno : store_fsync_dir(dir);
	if (err != 0) {
		store_xasprintf(cause, "%s: %s", data, strerror(err));
		rc = err == ENOSPC ? STORE_EFULL : STORE_ESYS;
		goto out;
	}
	store_create_clean(tmp);
	goto out;

lmdb:
	store_xasprintf(cause, "%s: %s", tmp, mdb_strerror(rc));
	rc = store_err(rc);
out:
	if (env != NULL)
		mdb_env_close(env);
	free(tmpdata);
	free(tmp);
	free(data);
	return (rc);
}

/*
 * Open (creating if needed) the store in directory `dir`.
 */
int
store_open(const char *dir, const struct store_config *cfg,
    struct store **sp, char **cause)
{
	struct store	*s;
	struct stat	 st;
	unsigned int	 flags;
	int		 rc, dead;

	*sp = NULL;
	if (cause != NULL)
		*cause = NULL;
	s = store_xmalloc(sizeof *s);
	memset(s, 0, sizeof *s);
	s->lockfd = -1;
	s->dir = store_xstrdup(dir);
	if (pthread_rwlock_init(&s->maplock, NULL) != 0 ||
	    pthread_mutex_init(&s->wlock, NULL) != 0 ||
	    pthread_mutex_init(&s->plock, NULL) != 0)
		store_oom(sizeof s->maplock);
	store_config_default(&s->cfg);
	if (cfg != NULL) {
		s->cfg = *cfg;
		if (s->cfg.map_size == 0)
			s->cfg.map_size = STORE_DEFAULT_MAP;
		if (s->cfg.map_max == 0)
			s->cfg.map_max = STORE_DEFAULT_MAPMAX;
		if (s->cfg.dedupe_window_ms == 0)
			s->cfg.dedupe_window_ms = STORE_DEFAULT_DEDUPE;
		if (s->cfg.compress_min == 0)
			s->cfg.compress_min = STORE_DEFAULT_CMIN;
		if (s->cfg.compress_level == 0)
			s->cfg.compress_level = STORE_DEFAULT_CLEVEL;
	}
	if (s->cfg.map_size > s->cfg.map_max)
		s->cfg.map_size = s->cfg.map_max;

	if (!s->cfg.readonly && mkdir(dir, 0755) != 0 && errno != EEXIST) {
		store_xasprintf(cause, "%s: %s", dir, strerror(errno));
		rc = errno == ENOSPC ? STORE_EFULL : STORE_ESYS;
		goto fail;
	}
	if (stat(dir, &st) != 0) {
		rc = errno == ENOENT ? STORE_ENOTFOUND : STORE_ESYS;
		store_xasprintf(cause, "%s: %s", dir, strerror(errno));
		goto fail;
	}
	if (!S_ISDIR(st.st_mode)) {
		store_xasprintf(cause, "%s: not a directory", dir);
		rc = STORE_EINVAL;
		goto fail;
	}
	if (!s->cfg.readonly && (rc = store_lock(s, dir, cause)) != 0)
		goto fail;
	if (!s->cfg.readonly && (rc = store_create(s, dir, cause)) != 0)
		goto fail;

	if ((rc = mdb_env_create(&s->env)) != 0) {
		s->env = NULL;
		store_xasprintf(cause, "mdb_env_create: %s", mdb_strerror(rc));
		rc = store_err(rc);
		goto fail;
	}
	mdb_env_set_maxdbs(s->env, 8);
	mdb_env_set_maxreaders(s->env, STORE_MAXREADERS);
	mdb_env_set_mapsize(s->env, s->cfg.map_size);

	/*
	 * MDB_NOTLS: read transactions belong to a store_reader, not to a
	 * thread.  Never MDB_WRITEMAP: with it a full disk is a SIGBUS on a
	 * page of the map instead of an error from write().
	 */
	flags = MDB_NOTLS;
	if (s->cfg.sync != STORE_SYNC_ALWAYS)
		flags |= MDB_NOSYNC;
	if (s->cfg.readonly)
		flags |= MDB_RDONLY;
	if (s->cfg.readonly && (rc = store_check_empty(dir, cause)) != 0)
		goto fail;
	if ((rc = mdb_env_open(s->env, dir, flags, 0644)) != 0) {
		rc = store_open_error(dir, rc, cause);
		goto fail;
	}
	if ((rc = store_check_file(s, cause)) != 0)
		goto fail;
	if ((rc = store_reader_check(s, &dead)) != 0) {
		store_xasprintf(cause, "%s: reader check: %s", dir,
		    store_strerror(rc));
		goto fail;
	}
	store_update_mapsize(s);

	if (s->cfg.readonly)
		rc = store_open_ro(s, cause);
	else {
		rc = store_write(s, store_open_dbs, NULL);
		if (rc == STORE_EINVAL)
			store_version_cause(s, cause);
		else if (rc != 0)
			store_xasprintf(cause, "%s: %s", dir,
			    store_strerror(rc));
		else if ((s->cctx = ZSTD_createCCtx()) == NULL)
			store_oom(0);
	}
	if (rc != 0)
		goto fail;
	if ((rc = cidx_open(s, cause)) != 0)
		goto fail;
	*sp = s;
	return (0);

fail:
	store_free(s);
	return (rc);
}

/* Close the store, flushing it first if commits do not sync. */
void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	cidx_close(s);
	if (!s->cfg.readonly && s->cfg.sync != STORE_SYNC_ALWAYS)
		mdb_env_sync(s->env, 1);
	store_free(s);
}

/* The sync policy the store was opened with. */
enum store_sync
store_sync_policy(struct store *s)
{
	return (s->cfg.sync);
}

/* Flush committed data to disk (for STORE_SYNC_BATCH). */
int
store_sync(struct store *s)
{
	if (s->cfg.readonly)
		return (0);
	return (store_err(mdb_env_sync(s->env, 1)));
}

/* Size in bytes of the data file and the current map size. */
int
store_size(struct store *s, uint64_t *file_bytes, uint64_t *map_bytes)
{
	struct stat	st;
	int		fd;

	if (mdb_env_get_fd(s->env, &fd) != 0 || fstat(fd, &st) != 0)
		return (STORE_ESYS);
	if (file_bytes != NULL)
		*file_bytes = st.st_size;
	if (map_bytes != NULL) {
		pthread_rwlock_rdlock(&s->maplock);
		*map_bytes = s->mapsize;
		pthread_rwlock_unlock(&s->maplock);
	}
	return (0);
}

/*
 * Clear the reader slots of processes that died inside a read transaction
 * (a killed `logwire snapshot -d`, say).  LMDB keeps every page such a
 * slot's snapshot could see, so a slot left behind stops the reuse of
 * freed pages for as long as the store stays open, and the file grows
 * instead.  The slots of live processes and of this one are left alone.
 */
int
store_reader_check(struct store *s, int *cleared)
{
	int	rc, dead = 0;

	rc = mdb_reader_check(s->env, &dead);
	if (dead > 0)
		__atomic_add_fetch(&s->readers_cleared, (uint64_t)dead,
		    __ATOMIC_RELAXED);
	if (cleared != NULL)
		*cleared = dead;
	return (store_err(rc));
}

/* Reader slots cleared by store_reader_check since the store opened. */
uint64_t
store_readers_cleared(struct store *s)
{
	return (__atomic_load_n(&s->readers_cleared, __ATOMIC_RELAXED));
}

/* Open a reader for the calling thread (caller closes). */
struct store_reader *
store_reader_open(struct store *s)
{
	struct store_reader	*r;

	r = store_xmalloc(sizeof *r);
	memset(r, 0, sizeof *r);
	r->store = s;
	if ((r->dctx = ZSTD_createDCtx()) == NULL)
		store_oom(0);
	return (r);
}

/* Close a reader and its transaction. */
void
store_reader_close(struct store_reader *r)
{
	if (r == NULL)
		return;
	if (r->txn != NULL)
		mdb_txn_abort(r->txn);
	ZSTD_freeDCtx(r->dctx);
	free(r->buf);
	free(r);
}

/*
 * Start one read operation: take the map lock shared and renew the reader's
 * transaction (begin it the first time).  Returns 0 or a STORE_E* code; on
 * success store_reader_end() must follow.
 */
int
store_reader_begin(struct store_reader *r)
{
	struct store	*s = r->store;
	int		 rc;

	for (;;) {
		pthread_rwlock_rdlock(&s->maplock);
		if (r->txn == NULL)
			rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &r->txn);
		else
			rc = mdb_txn_renew(r->txn);
		if (rc == 0)
			return (0);
		pthread_rwlock_unlock(&s->maplock);
		if (rc == MDB_MAP_RESIZED && store_adopt_mapsize(s) == 0)
			continue;
		/* A failed begin frees the transaction; a failed renew not. */
		if (r->txn != NULL) {
			mdb_txn_abort(r->txn);
		}
		r->txn = NULL;
		return (store_err(rc));
	}
}

/* End a read operation: reset the transaction and drop the map lock. */
void
store_reader_end(struct store_reader *r)
{
	mdb_txn_reset(r->txn);
	pthread_rwlock_unlock(&r->store->maplock);
}
