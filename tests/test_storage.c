/*
 * CUnit tests of the storage engine (storage/), one suite per module.
 *
 * Each test works in a fresh directory under $TMPDIR (or /tmp) and removes
 * it.  LOGWIRE_TEST_FILTER=substring runs only the tests whose
 * "suite/test" name contains it (for valgrind runs).
 */

#include "config.h"

#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <lmdb.h>
#include <xxhash.h>
#include <zstd.h>

#include "cu_run.h"
#include "storage.h"
#include "tstore.h"

#define T_MIB	(1024 * 1024)

/* A record copied out of a read callback. */
struct trec {
	uint64_t	 chan_id;
	uint64_t	 serial;
	uint64_t	 time;
	char		*id;
	size_t		 id_len;
	char		*name;
	size_t		 name_len;
	char		*client;
	size_t		 client_len;
	char		*data;
	size_t		 data_len;
	unsigned int	 flags;
	size_t		 stored;
};

/* Records collected by t_collect_cb. */
struct tcoll {
	struct trec	*v;
	size_t		 n;
	size_t		 alloc;
	size_t		 stop_after;	/* 0: never stop */
};

static char	*t_dir;		/* the current test's directory */

static int	 t_bulk(struct store *, const char *, uint64_t, size_t, size_t,
		     size_t, uint64_t *);
static void	 t_check_bulk(struct store *, const char *, uint64_t, size_t);
static void	 t_be64enc(void *, uint64_t);

/* Make a fresh temporary directory for a test. */
static char *
t_mkdtemp(void)
{
	const char	*base;
	char		*p;

	if ((base = getenv("TMPDIR")) == NULL || *base == '\0')
		base = "/tmp";
	if (asprintf(&p, "%s/lw-test-XXXXXX", base) < 0)
		abort();
	if (mkdtemp(p) == NULL) {
		perror("mkdtemp");
		abort();
	}
	return (p);
}

/* Join the test directory and a name. */
static char *
t_path(const char *name)
{
	char	*p;

	if (asprintf(&p, "%s/%s", t_dir, name) < 0)
		abort();
	return (p);
}

/* Set up each test: a fresh directory. */
static void
t_setup(void)
{
	t_dir = t_mkdtemp();
}

/* Tear down each test: remove its directory. */
static void
t_teardown(void)
{
	tstore_rmtree(t_dir);
	free(t_dir);
	t_dir = NULL;
}

/* Open a store in dir with cfg (NULL: defaults) or fail the test. */
static struct store *
t_open(const char *dir, const struct store_config *cfg)
{
	struct store	*s = NULL;
	char		*cause = NULL;
	int		 rc;

	rc = store_open(dir, cfg, &s, &cause);
	if (rc != 0)
		fprintf(stderr, "store_open %s: %s (%s)\n", dir,
		    store_strerror(rc), cause != NULL ? cause : "");
	CU_ASSERT_FATAL(rc == 0);
	CU_ASSERT_FATAL(s != NULL);
	free(cause);
	return (s);
}

/* Fill a message for channel chan with data (and optional id). */
static void
t_msg(struct store_msg *m, const char *chan, const char *id, const char *data)
{
	memset(m, 0, sizeof *m);
	m->channel = chan;
	m->channel_len = strlen(chan);
	if (id != NULL) {
		m->id = id;
		m->id_len = strlen(id);
	}
	m->data = data;
	m->data_len = strlen(data);
}

/* Append one message; returns its serial (0 on error). */
static uint64_t
t_append1(struct store *s, const char *chan, const char *id, const char *data,
    uint64_t now)
{
	struct store_msg	m;
	int			rc;

	t_msg(&m, chan, id, data);
	rc = store_append(s, &m, 1, now);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(m.error, 0);
	return (rc == 0 && m.error == 0 ? m.serial : 0);
}

/* Copy len bytes into a new NUL-terminated buffer. */
static char *
t_memdup(const char *p, size_t len)
{
	char	*q;

	if ((q = malloc(len + 1)) == NULL)
		abort();
	if (len != 0)
		memcpy(q, p, len);
	q[len] = '\0';
	return (q);
}

/* Read callback: copy every field of the record. */
static int
t_collect_cb(const struct store_rec *r, void *arg)
{
	struct tcoll	*c = arg;
	struct trec	*t;

	if (c->n == c->alloc) {
		c->alloc = c->alloc == 0 ? 64 : c->alloc * 2;
		if ((c->v = realloc(c->v, c->alloc * sizeof *c->v)) == NULL)
			abort();
	}
	t = &c->v[c->n++];
	t->chan_id = r->chan_id;
	t->serial = r->serial;
	t->time = r->time;
	t->id = t_memdup(r->id, r->id_len);
	t->id_len = r->id_len;
	t->name = t_memdup(r->name, r->name_len);
	t->name_len = r->name_len;
	t->client = t_memdup(r->client, r->client_len);
	t->client_len = r->client_len;
	t->data = t_memdup(r->data, r->data_len);
	t->data_len = r->data_len;
	t->flags = r->flags;
	t->stored = r->stored_bytes;
	return (c->stop_after != 0 && c->n >= c->stop_after);
}

/* Free collected records. */
static void
t_coll_free(struct tcoll *c)
{
	size_t	i;

	for (i = 0; i < c->n; i++) {
		free(c->v[i].id);
		free(c->v[i].name);
		free(c->v[i].client);
		free(c->v[i].data);
	}
	free(c->v);
	memset(c, 0, sizeof *c);
}

/* Read a whole range of a channel into c; returns store_read's result. */
static int
t_read(struct store *s, uint64_t chan, uint64_t from, uint64_t to,
    int backward, size_t max_count, size_t max_bytes, struct tcoll *c)
{
	struct store_reader	*r;
	int			 rc;

	r = store_reader_open(s);
	rc = store_read(r, chan, from, to, backward, max_count, max_bytes,
	    t_collect_cb, c);
	store_reader_close(r);
	return (rc);
}

/* Look up a channel's metadata; fails the test if it is missing. */
static struct store_chan
t_chan(struct store *s, const char *name)
{
	struct store_reader	*r;
	struct store_chan	 c;
	int			 rc;

	memset(&c, 0, sizeof c);
	r = store_reader_open(s);
	rc = store_chan_get(r, name, strlen(name), &c);
	store_reader_close(r);
	CU_ASSERT_EQUAL(rc, 0);
	return (c);
}

/* Fill buf with random bytes. */
static void
t_random(void *buf, size_t len)
{
	unsigned char	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		if ((n = getrandom(p, len, 0)) <= 0)
			abort();
		p += n;
		len -= n;
	}
}

/*
 * A deterministic, incompressible payload of len bytes for (tag, serial):
 * "s=<serial>;" then pseudo-random bytes other than NUL.
 */
static void
t_payload(char *buf, size_t len, uint64_t tag, uint64_t serial)
{
	uint64_t	x = tag * 0x9e3779b97f4a7c15ULL + serial + 1;
	size_t		i;
	int		n;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = 1 + (x % 255);
	}
	n = snprintf(buf, len, "s=%" PRIu64 ";", serial);
	buf[n] = ';';
}

/* Whether epoch is 16 lowercase hex characters. */
static int
t_epoch_ok(const char *epoch)
{
	size_t	i;

	if (strlen(epoch) != STORE_EPOCH_LEN)
		return (0);
	for (i = 0; i < STORE_EPOCH_LEN; i++)
		if (!((epoch[i] >= '0' && epoch[i] <= '9') ||
		    (epoch[i] >= 'a' && epoch[i] <= 'f')))
			return (0);
	return (1);
}

/* Check a return code, printing both names when it is not the expected. */
#define T_RC(expr, want) do {						\
	int	t_rc_ = (expr);						\
									\
	if (t_rc_ != (want))						\
		fprintf(stderr, "\n%s:%d: %s: got %d (%s), want %s\n",	\
		    __FILE__, __LINE__, #expr, t_rc_,			\
		    store_strerror(t_rc_), #want);			\
	CU_ASSERT_EQUAL(t_rc_, (want));					\
} while (0)

/* Sleep for ms milliseconds. */
static void
t_sleep_ms(long ms)
{
	struct timespec	ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* ------------------------------------------------------------------ */
/* suite "store" */

/* Channel names: valid UTF-8 without controls, 1..255 bytes. */
static void
test_store_name_valid(void)
{
	char	long_ok[STORE_NAME_MAX], long_bad[STORE_NAME_MAX + 1];

	memset(long_ok, 'a', sizeof long_ok);
	memset(long_bad, 'a', sizeof long_bad);
	CU_ASSERT_TRUE(store_name_valid("orders", 6));
	CU_ASSERT_TRUE(store_name_valid("caf\xc3\xa9", 5));
	CU_ASSERT_TRUE(store_name_valid("\xf0\x9f\x98\x80", 4));
	CU_ASSERT_TRUE(store_name_valid(long_ok, sizeof long_ok));
	CU_ASSERT_FALSE(store_name_valid(long_bad, sizeof long_bad));
	CU_ASSERT_FALSE(store_name_valid("", 0));
	CU_ASSERT_FALSE(store_name_valid("a\nb", 3));
	CU_ASSERT_FALSE(store_name_valid("a\0b", 3));
	CU_ASSERT_FALSE(store_name_valid("a\x7f", 2));
	CU_ASSERT_FALSE(store_name_valid("a\xc2\x85", 3));	/* C1 NEL */
	CU_ASSERT_FALSE(store_name_valid("\xc3", 1));		/* truncated */
	CU_ASSERT_FALSE(store_name_valid("\xc0\xaf", 2));	/* overlong */
	CU_ASSERT_FALSE(store_name_valid("\xed\xa0\x80", 3));	/* surrogate */
	CU_ASSERT_FALSE(store_name_valid("\xf4\x90\x80\x80", 4));
	CU_ASSERT_FALSE(store_name_valid("\xff", 1));
}

/* Error names, sync policy names and parsing. */
static void
test_store_strings(void)
{
	enum store_sync	sync;

	CU_ASSERT_STRING_EQUAL(store_strerror(STORE_EFULL),
	    "storage full: nothing stored");
	CU_ASSERT_PTR_NOT_NULL(strstr(store_strerror(STORE_ECORRUPT),
	    "corrupt"));
	CU_ASSERT_STRING_EQUAL(store_strerror(ENOSPC), strerror(ENOSPC));
	CU_ASSERT_PTR_NOT_NULL(strstr(store_strerror(-30792), "MDB_MAP_FULL"));
	CU_ASSERT_EQUAL(store_sync_parse("batch", &sync), 0);
	CU_ASSERT_EQUAL(sync, STORE_SYNC_BATCH);
	CU_ASSERT_EQUAL(store_sync_parse("none", &sync), 0);
	CU_ASSERT_EQUAL(sync, STORE_SYNC_NONE);
	CU_ASSERT_EQUAL(store_sync_parse("always", &sync), 0);
	CU_ASSERT_EQUAL(sync, STORE_SYNC_ALWAYS);
	CU_ASSERT_EQUAL(store_sync_parse("sometimes", &sync), STORE_EINVAL);
	CU_ASSERT_STRING_EQUAL(store_sync_name(STORE_SYNC_BATCH), "batch");
}

/* A store opens in a new directory, under each sync policy, and syncs. */
static void
test_store_open_sync(void)
{
	struct store_config	 cfg;
	struct store		*s;
	struct store_chan	 c;
	uint64_t		 file, map;
	char			*dir;

	dir = t_path("store");
	store_config_default(&cfg);
	cfg.sync = STORE_SYNC_BATCH;
	s = t_open(dir, &cfg);
	CU_ASSERT_EQUAL(store_sync_policy(s), STORE_SYNC_BATCH);
	CU_ASSERT_EQUAL(t_append1(s, "c", NULL, "1", 0), 1);
	CU_ASSERT_EQUAL(store_sync(s), 0);
	CU_ASSERT_EQUAL(store_size(s, &file, &map), 0);
	CU_ASSERT(file > 0);
	CU_ASSERT_EQUAL(map, 64ULL * T_MIB);
	store_close(s);

	cfg.sync = STORE_SYNC_NONE;
	s = t_open(dir, &cfg);
	CU_ASSERT_EQUAL(store_sync_policy(s), STORE_SYNC_NONE);
	c = t_chan(s, "c");
	CU_ASSERT_EQUAL(c.head, 1);
	store_close(s);
	free(dir);
}

/*
 * One writer per store: a second read-write open, here from another
 * process, is refused with STORE_EBUSY while the first is open; a
 * read-only open still works; after the first closes, the second may.
 */
static void
test_store_one_writer(void)
{
	struct store_config	 ro;
	struct store		*s, *s2 = NULL;
	char			*dir, *cause = NULL;
	pid_t			 pid;
	int			 status, rc;

	dir = t_path("one");
	s = t_open(dir, NULL);
	CU_ASSERT_EQUAL(t_append1(s, "c", NULL, "1", 0), 1);
	if ((pid = fork()) == 0) {
		rc = store_open(dir, NULL, &s2, &cause);
		_exit(rc == STORE_EBUSY && s2 == NULL && cause != NULL &&
		    strstr(cause, "another process") != NULL ? 0 : 1);
	}
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_FATAL(waitpid(pid, &status, 0) == pid);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	store_config_default(&ro);
	ro.readonly = 1;
	CU_ASSERT_EQUAL(store_open(dir, &ro, &s2, &cause), 0);
	store_close(s2);
	store_close(s);

	s2 = NULL;
	CU_ASSERT_EQUAL(store_open(dir, NULL, &s2, &cause), 0);
	store_close(s2);
	CU_ASSERT_STRING_EQUAL(store_strerror(STORE_EBUSY),
	    "store in use by another writer");
	free(dir);
}

/* Opening something that is not a store fails with a clear cause. */
static void
test_store_open_bad(void)
{
	struct store_config	 cfg;
	struct store		*s = NULL;
	char			*dir, *file, *cause = NULL;
	FILE			*f;
	int			 rc;

	dir = t_path("bad");
	CU_ASSERT_FATAL(mkdir(dir, 0755) == 0);
	file = t_path("bad/data.mdb");
	f = fopen(file, "w");
	CU_ASSERT_FATAL(f != NULL);
	for (rc = 0; rc < 4096; rc++)
		fputs("this is not an lmdb file\n", f);
	fclose(f);

	store_config_default(&cfg);
	cfg.readonly = 1;
	rc = store_open(dir, &cfg, &s, &cause);
	CU_ASSERT_EQUAL(rc, STORE_ECORRUPT);
	CU_ASSERT_PTR_NULL(s);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "not an LMDB data file"));
	free(cause);
	cause = NULL;

	/* A missing directory opened read-only is not created. */
	free(dir);
	dir = t_path("missing");
	rc = store_open(dir, &cfg, &s, &cause);
	CU_ASSERT_EQUAL(rc, STORE_ENOTFOUND);
	CU_ASSERT_PTR_NOT_NULL(cause);
	CU_ASSERT_EQUAL(access(dir, F_OK), -1);
	free(cause);
	free(file);
	free(dir);
}

/* Copy the first len bytes of file src to dst (len -1: all of it). */
static void
t_copy_head(const char *src, const char *dst, off_t len)
{
	struct stat	 st;
	char		*buf;
	int		 fd;

	fd = open(src, O_RDONLY);
	CU_ASSERT_FATAL(fd != -1 && fstat(fd, &st) == 0);
	if (len < 0 || len > st.st_size)
		len = st.st_size;
	buf = malloc(len + 1);
	CU_ASSERT_FATAL(buf != NULL);
	CU_ASSERT_FATAL(read(fd, buf, len) == len);
	close(fd);
	fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CU_ASSERT_FATAL(fd != -1);
	CU_ASSERT_FATAL(write(fd, buf, len) == len);
	close(fd);
	free(buf);
}

/* Check that opening dir gives STORE_ECORRUPT with why in the cause. */
static void
t_open_refused(const char *dir, int readonly, const char *why)
{
	struct store_config	 cfg;
	struct store		*s = NULL;
	char			*cause = NULL;

	store_config_default(&cfg);
	cfg.readonly = readonly;
	T_RC(store_open(dir, &cfg, &s, &cause), STORE_ECORRUPT);
	CU_ASSERT_PTR_NULL(s);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	if (strstr(cause, why) == NULL)
		fprintf(stderr, "\n%s: cause \"%s\", want \"%s\"\n", dir,
		    cause, why);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, why));
	free(cause);
}

/*
 * A data.mdb shorter than its meta page says is refused by store_open and
 * store_verify_path (read-only or not) before LMDB reads a missing page,
 * which would be a SIGBUS; so is an empty one opened read-only.
 */
static void
test_store_open_truncated(void)
{
	static const struct {
		off_t		 len;	/* < 0: that many pages short */
		const char	*why;
	} cuts[] = {
		{ -1, "truncated" },
		{ -2, "truncated" },
		{ 0, "" },		/* half, below */
		{ 3 * 4096, "truncated" },
		{ 2 * 4096, "truncated" },
		{ 4096 + 100, "not an LMDB data file" },
	};
	struct store_verify_report	 rep;
	struct store			*s;
	struct stat			 st;
	char				*dir, *data, *bad, *badmdb, *cause;
	uint64_t			 stored;
	off_t				 len;
	size_t				 i;

	dir = t_path("store");
	data = t_path("store/data.mdb");
	bad = t_path("bad");
	badmdb = t_path("bad/data.mdb");
	s = t_open(dir, NULL);
	CU_ASSERT_EQUAL(t_bulk(s, "t", 1, 2000, 1000, 100, &stored), 0);
	store_close(s);
	CU_ASSERT_FATAL(stat(data, &st) == 0);
	CU_ASSERT_FATAL(st.st_size > 64 * 4096);
	CU_ASSERT_FATAL(mkdir(bad, 0755) == 0);

	for (i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
		len = cuts[i].len;
		if (len < 0)
			len = st.st_size + len * 4096;
		else if (len == 0)
			len = st.st_size / 2;
		t_copy_head(data, badmdb, len);
		t_open_refused(bad, 1, cuts[i].why);
		t_open_refused(bad, 0, cuts[i].why);
		/* The refused open did not grow or rewrite the file. */
		t_copy_head(data, badmdb, len);
		cause = NULL;
		T_RC(store_verify_path(bad, NULL, &rep, &cause),
		    STORE_ECORRUPT);
		CU_ASSERT_EQUAL(rep.errors, 0);
		CU_ASSERT(cause != NULL && strstr(cause, cuts[i].why) != NULL);
		free(cause);
	}

	/* Empty: no store to read; to write, LMDB makes a new one. */
	t_copy_head(data, badmdb, 0);
	t_open_refused(bad, 1, "empty");
	cause = NULL;
	T_RC(store_verify_path(bad, NULL, &rep, &cause), STORE_ECORRUPT);
	CU_ASSERT(cause != NULL && strstr(cause, "empty") != NULL);
	free(cause);
	s = t_open(bad, NULL);
	CU_ASSERT_EQUAL(t_append1(s, "t", NULL, "1", 0), 1);
	store_close(s);

	/* The whole file still opens. */
	s = t_open(dir, NULL);
	t_check_bulk(s, "t", 2000, 1000);
	store_close(s);
	free(badmdb);
	free(bad);
	free(data);
	free(dir);
}

/*
 * A process killed inside a read transaction leaves its reader slot;
 * store_reader_check clears it (and only it) and counts it.
 */
static void
test_store_stale_reader(void)
{
	struct store	*s;
	char		*dir;
	pid_t		 pid;
	int		 n = -1, status;

	dir = t_path("store");
	s = t_open(dir, NULL);
	t_append1(s, "x", NULL, "1", 0);
	store_close(s);

	pid = tstore_hold_reader(dir, "x");
	CU_ASSERT_FATAL(pid != -1);

	/* A live reader is not stale: opening leaves it alone. */
	s = t_open(dir, NULL);
	CU_ASSERT_EQUAL(store_readers_cleared(s), 0);
	T_RC(store_reader_check(s, &n), 0);
	CU_ASSERT_EQUAL(n, 0);

	kill(pid, SIGKILL);
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	T_RC(store_reader_check(s, &n), 0);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(store_readers_cleared(s), 1);
	T_RC(store_reader_check(s, &n), 0);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(store_readers_cleared(s), 1);
	store_close(s);
	free(dir);
}

/* ------------------------------------------------------------------ */
/* suite "record" */

/* Every field of every message survives close and reopen byte for byte. */
static void
test_record_roundtrip(void)
{
	struct store_msg	 m[4];
	struct tcoll		 c = { 0 };
	struct store		*s;
	struct store_chan	 ch;
	char			*dir, bin[300];
	char			 want_id[64];
	const char		*id;
	size_t			 i, len;

	dir = t_path("store");
	s = t_open(dir, NULL);
	t_random(bin, sizeof bin);

	t_msg(&m[0], "rt", "client-id-1", "{\"n\":1}");
	m[0].name = "created";
	m[0].name_len = 7;
	m[0].client = "alice";
	m[0].client_len = 5;
	t_msg(&m[1], "rt", NULL, "\"plain\"");
	t_msg(&m[2], "rt", "bin", "");
	m[2].data = bin;
	m[2].data_len = sizeof bin;	/* any bytes, NULs included */
	m[2].flags = STORE_MSG_BASE64;
	t_msg(&m[3], "rt", "empty", "");
	CU_ASSERT_EQUAL_FATAL(store_append(s, m, 4, 1700000000000ULL), 0);
	for (i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL(m[i].error, 0);
		CU_ASSERT_EQUAL(m[i].serial, i + 1);
		CU_ASSERT_EQUAL(m[i].time, 1700000000000ULL);
		CU_ASSERT_TRUE(t_epoch_ok(m[i].epoch));
		CU_ASSERT_STRING_EQUAL(m[i].epoch, m[0].epoch);
		CU_ASSERT_EQUAL(m[i].chan_id, m[0].chan_id);
	}
	/* store_msg_id: the client's id, or the one generated for it. */
	id = store_msg_id(&m[0], &len);
	CU_ASSERT(len == 11 && memcmp(id, "client-id-1", 11) == 0);
	snprintf(want_id, sizeof want_id, "%s-2", m[0].epoch);
	id = store_msg_id(&m[1], &len);
	CU_ASSERT(len == strlen(want_id) && memcmp(id, want_id, len) == 0);
	store_close(s);

	s = t_open(dir, NULL);
	ch = t_chan(s, "rt");
	CU_ASSERT_STRING_EQUAL(ch.epoch, m[0].epoch);
	CU_ASSERT_EQUAL(ch.id, m[0].chan_id);
	CU_ASSERT_EQUAL(ch.first, 1);
	CU_ASSERT_EQUAL(ch.head, 4);
	CU_ASSERT_EQUAL(ch.count, 4);
	CU_ASSERT_EQUAL(ch.last_time, 1700000000000ULL);
	CU_ASSERT_EQUAL(ch.created, 1700000000000ULL);
	CU_ASSERT_STRING_EQUAL(ch.name, "rt");
	CU_ASSERT_EQUAL(ch.name_len, 2);

	CU_ASSERT_EQUAL(t_read(s, ch.id, 1, UINT64_MAX, 0, 0, 0, &c), 4);
	CU_ASSERT_EQUAL_FATAL(c.n, 4);
	CU_ASSERT_EQUAL(c.v[0].id_len, 11);
	CU_ASSERT_STRING_EQUAL(c.v[0].id, "client-id-1");
	CU_ASSERT_STRING_EQUAL(c.v[0].name, "created");
	CU_ASSERT_STRING_EQUAL(c.v[0].client, "alice");
	CU_ASSERT_STRING_EQUAL(c.v[0].data, "{\"n\":1}");
	CU_ASSERT_EQUAL(c.v[0].flags, 0);
	snprintf(want_id, sizeof want_id, "%s-2", m[0].epoch);
	CU_ASSERT_STRING_EQUAL(c.v[1].id, want_id);	/* generated */
	CU_ASSERT_EQUAL(c.v[1].name_len, 0);
	CU_ASSERT_EQUAL(c.v[1].client_len, 0);
	CU_ASSERT_STRING_EQUAL(c.v[1].data, "\"plain\"");
	CU_ASSERT_EQUAL(c.v[2].data_len, sizeof bin);
	CU_ASSERT_EQUAL(memcmp(c.v[2].data, bin, sizeof bin), 0);
	CU_ASSERT_EQUAL(c.v[2].flags, STORE_MSG_BASE64);
	CU_ASSERT_EQUAL(c.v[3].data_len, 0);
	for (i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL(c.v[i].serial, i + 1);
		CU_ASSERT_EQUAL(c.v[i].chan_id, ch.id);
		CU_ASSERT_EQUAL(c.v[i].time, 1700000000000ULL);
	}
	CU_ASSERT_EQUAL(ch.bytes, c.v[0].stored + c.v[1].stored +
	    c.v[2].stored + c.v[3].stored);
	t_coll_free(&c);
	store_close(s);
	free(dir);
}

/* Large compressible data is compressed and comes back identical. */
static void
test_record_compress(void)
{
	static const char	 unit[] = "{\"k\":1234,\"v\":\"abcdefgh\"},";
	struct tcoll		 c = { 0 };
	struct store		*s;
	struct store_msg	 m;
	char			*dir, *big;
	size_t			 len = 200000, i;

	dir = t_path("store");
	s = t_open(dir, NULL);
	big = malloc(len + 1);
	CU_ASSERT_FATAL(big != NULL);
	for (i = 0; i < len; i++)	/* a repetitive JSON array */
		big[i] = unit[i % (sizeof unit - 1)];
	big[len] = '\0';
	t_msg(&m, "z", NULL, big);
	CU_ASSERT_EQUAL_FATAL(store_append(s, &m, 1, 0), 0);
	store_close(s);
	s = t_open(dir, NULL);
	CU_ASSERT_EQUAL(t_read(s, m.chan_id, 1, 1, 0, 0, 0, &c), 1);
	CU_ASSERT_EQUAL_FATAL(c.n, 1);
	CU_ASSERT_EQUAL(c.v[0].data_len, len);
	CU_ASSERT_EQUAL(memcmp(c.v[0].data, big, len), 0);
	CU_ASSERT(c.v[0].stored < len / 2);
	CU_ASSERT_EQUAL(t_chan(s, "z").bytes, c.v[0].stored);
	t_coll_free(&c);
	store_close(s);
	free(big);
	free(dir);
}

/*
 * Incompressible data is stored raw.  Random bytes are used: base64 or hex
 * of random bytes still has only 6 or 4 bits per byte, which zstd's entropy
 * coder saves more than an eighth of, so those are rightly compressed (and
 * must still round-trip, which is checked too).
 */
static void
test_record_incompressible(void)
{
	static const char	 b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	struct tcoll		 c = { 0 };
	struct store		*s;
	struct store_msg	 m[2];
	unsigned char		 rnd[8192];
	char			*dir, text[8193];
	size_t			 i;

	dir = t_path("store");
	s = t_open(dir, NULL);
	t_random(rnd, sizeof rnd);
	for (i = 0; i < sizeof rnd; i++)
		text[i] = b64[rnd[i] & 63];
	text[sizeof rnd] = '\0';
	t_random(rnd, sizeof rnd);
	t_msg(&m[0], "raw", NULL, "");
	m[0].data = (char *)rnd;
	m[0].data_len = sizeof rnd;
	t_msg(&m[1], "raw", NULL, text);
	CU_ASSERT_EQUAL_FATAL(store_append(s, m, 2, 0), 0);
	CU_ASSERT_EQUAL(t_read(s, m[0].chan_id, 1, 2, 0, 0, 0, &c), 2);
	CU_ASSERT_EQUAL_FATAL(c.n, 2);
	CU_ASSERT_EQUAL(c.v[0].data_len, sizeof rnd);
	CU_ASSERT_EQUAL(memcmp(c.v[0].data, rnd, sizeof rnd), 0);
	CU_ASSERT(c.v[0].stored >= sizeof rnd);
	CU_ASSERT_EQUAL(c.v[1].data_len, sizeof rnd);
	CU_ASSERT_EQUAL(memcmp(c.v[1].data, text, sizeof rnd), 0);
	t_coll_free(&c);
	store_close(s);
	free(dir);
}

/* ------------------------------------------------------------------ */
/* suite "chanlog" */

/*
 * Serials start at 1 and run contiguous per channel, with many channels
 * interleaved in each batch, across several batches.
 */
static void
test_chanlog_serials(void)
{
	enum { NCHAN = 13, NBATCH = 4, BATCH = 257 };
	struct store_msg	 m[BATCH];
	struct tcoll		 c = { 0 };
	struct store		*s;
	struct store_chan	 ch;
	char			 names[NCHAN][16], data[BATCH][32];
	char			 epochs[NCHAN][STORE_EPOCH_LEN + 1];
	uint64_t		 next[NCHAN], ids[NCHAN];
	unsigned char		 pick[BATCH];
	char			*dir;
	size_t			 b, i, k;

	dir = t_path("store");
	s = t_open(dir, NULL);
	for (k = 0; k < NCHAN; k++) {
		snprintf(names[k], sizeof names[k], "chan.%zu", k);
		next[k] = 1;
		ids[k] = 0;
	}
	for (b = 0; b < NBATCH; b++) {
		t_random(pick, sizeof pick);
		for (i = 0; i < BATCH; i++) {
			k = pick[i] % NCHAN;
			snprintf(data[i], sizeof data[i], "%zu:%" PRIu64, k,
			    next[k]);
			t_msg(&m[i], names[k], NULL, data[i]);
			next[k]++;
		}
		CU_ASSERT_EQUAL_FATAL(store_append(s, m, BATCH,
		    1000 + b), 0);
		/* Re-derive the expected serials in array order. */
		for (i = 0; i < BATCH; i++) {
			k = pick[i] % NCHAN;
			CU_ASSERT_EQUAL(m[i].error, 0);
			CU_ASSERT_EQUAL(m[i].time, 1000 + b);
			if (ids[k] == 0) {
				ids[k] = m[i].chan_id;
				strcpy(epochs[k], m[i].epoch);
				CU_ASSERT_TRUE(t_epoch_ok(m[i].epoch));
			}
			CU_ASSERT_EQUAL(m[i].chan_id, ids[k]);
			CU_ASSERT_STRING_EQUAL(m[i].epoch, epochs[k]);
			CU_ASSERT_EQUAL((uint64_t)strtoull(strchr(data[i],
			    ':') + 1, NULL, 10), m[i].serial);
		}
	}
	store_close(s);

	s = t_open(dir, NULL);
	for (k = 0; k < NCHAN; k++) {
		if (ids[k] == 0)
			continue;
		ch = t_chan(s, names[k]);
		CU_ASSERT_EQUAL(ch.id, ids[k]);
		CU_ASSERT_EQUAL(ch.first, 1);
		CU_ASSERT_EQUAL(ch.head, next[k] - 1);
		CU_ASSERT_EQUAL(ch.count, next[k] - 1);
		CU_ASSERT_STRING_EQUAL(ch.epoch, epochs[k]);
		CU_ASSERT_EQUAL((uint64_t)t_read(s, ch.id, 1, UINT64_MAX, 0,
		    0, 0, &c), next[k] - 1);
		for (i = 0; i < c.n; i++) {
			char	want[32];

			CU_ASSERT_EQUAL(c.v[i].serial, i + 1);
			snprintf(want, sizeof want, "%zu:%zu", k, i + 1);
			CU_ASSERT_STRING_EQUAL(c.v[i].data, want);
			if (i > 0)
				CU_ASSERT(c.v[i].time >= c.v[i - 1].time);
		}
		t_coll_free(&c);
	}
	store_close(s);
	free(dir);
}

/* A channel's time never decreases, even when the clock goes back. */
static void
test_chanlog_time_monotonic(void)
{
	struct store_msg	 m;
	struct store		*s;
	char			*dir;

	dir = t_path("store");
	s = t_open(dir, NULL);
	t_msg(&m, "t", NULL, "1");
	CU_ASSERT_EQUAL(store_append(s, &m, 1, 5000), 0);
	CU_ASSERT_EQUAL(m.time, 5000);
	CU_ASSERT_EQUAL(store_append(s, &m, 1, 4000), 0);
	CU_ASSERT_EQUAL(m.serial, 2);
	CU_ASSERT_EQUAL(m.time, 5000);
	CU_ASSERT_EQUAL(store_append(s, &m, 1, 6000), 0);
	CU_ASSERT_EQUAL(m.time, 6000);
	CU_ASSERT_EQUAL(t_chan(s, "t").last_time, 6000);
	/* Another channel has its own clock floor. */
	t_msg(&m, "u", NULL, "1");
	CU_ASSERT_EQUAL(store_append(s, &m, 1, 4000), 0);
	CU_ASSERT_EQUAL(m.time, 4000);
	store_close(s);
	free(dir);
}

/* Bad fields fail only their own message; the others are stored. */
static void
test_chanlog_invalid(void)
{
	struct store_msg	 m[7];
	struct store		*s;
	char			*dir, *huge, longid[STORE_ID_MAX + 2];
	int			 i;

	dir = t_path("store");
	s = t_open(dir, NULL);
	huge = calloc(1, STORE_DATA_MAX + 2);
	CU_ASSERT_FATAL(huge != NULL);
	memset(longid, 'x', sizeof longid - 1);
	longid[sizeof longid - 1] = '\0';
	t_msg(&m[0], "ok", NULL, "1");
	t_msg(&m[1], "bad\x01name", NULL, "2");
	t_msg(&m[2], "ok", longid, "3");
	t_msg(&m[3], "ok", NULL, "4");
	t_msg(&m[4], "ok", NULL, "");
	m[4].data = huge;
	m[4].data_len = STORE_DATA_MAX + 1;
	t_msg(&m[5], "", NULL, "6");
	t_msg(&m[6], "ok", NULL, "7");
	m[6].name = longid;
	m[6].name_len = STORE_FIELD_MAX + 1;
	CU_ASSERT_EQUAL_FATAL(store_append(s, m, 7, 0), 0);
	CU_ASSERT_EQUAL(m[0].error, 0);
	CU_ASSERT_EQUAL(m[0].serial, 1);
	CU_ASSERT_EQUAL(m[3].error, 0);
	CU_ASSERT_EQUAL(m[3].serial, 2);
	for (i = 1; i < 7; i++) {
		if (i == 3)
			continue;
		CU_ASSERT_EQUAL(m[i].error, STORE_EINVAL);
		CU_ASSERT_EQUAL(m[i].serial, 0);
	}
	CU_ASSERT_EQUAL(t_chan(s, "ok").head, 2);
	CU_ASSERT_EQUAL(t_chan(s, "ok").count, 2);
	free(huge);
	store_close(s);
	free(dir);
}

/* Forward and backward reads honour bounds, max_count and max_bytes. */
static void
test_chanlog_read_bounds(void)
{
	struct tcoll		 c = { 0 };
	struct store		*s;
	struct store_chan	 ch;
	char			*dir, data[16];
	uint64_t		 i;
	int			 rc;

	dir = t_path("store");
	s = t_open(dir, NULL);
	for (i = 1; i <= 20; i++) {
		snprintf(data, sizeof data, "d%09" PRIu64, i);	/* 10 bytes */
		CU_ASSERT_EQUAL(t_append1(s, "r", NULL, data, 0), i);
	}
	t_append1(s, "other", NULL, "x", 0);
	ch = t_chan(s, "r");

	rc = t_read(s, ch.id, 5, 12, 0, 0, 0, &c);
	CU_ASSERT_EQUAL(rc, 8);
	CU_ASSERT_EQUAL_FATAL(c.n, 8);
	for (i = 0; i < 8; i++)
		CU_ASSERT_EQUAL(c.v[i].serial, 5 + i);
	t_coll_free(&c);

	rc = t_read(s, ch.id, 5, 12, 1, 0, 0, &c);
	CU_ASSERT_EQUAL(rc, 8);
	CU_ASSERT_EQUAL_FATAL(c.n, 8);
	for (i = 0; i < 8; i++)
		CU_ASSERT_EQUAL(c.v[i].serial, 12 - i);
	t_coll_free(&c);

	CU_ASSERT_EQUAL(t_read(s, ch.id, 5, 12, 0, 3, 0, &c), 3);
	CU_ASSERT_EQUAL_FATAL(c.n, 3);
	CU_ASSERT_EQUAL(c.v[0].serial, 5);
	CU_ASSERT_EQUAL(c.v[2].serial, 7);
	t_coll_free(&c);

	CU_ASSERT_EQUAL(t_read(s, ch.id, 5, 12, 1, 3, 0, &c), 3);
	CU_ASSERT_EQUAL_FATAL(c.n, 3);
	CU_ASSERT_EQUAL(c.v[0].serial, 12);
	CU_ASSERT_EQUAL(c.v[2].serial, 10);
	t_coll_free(&c);

	/* 35 bytes of data: three 10-byte records fit, a fourth not. */
	CU_ASSERT_EQUAL(t_read(s, ch.id, 1, 20, 0, 0, 35, &c), 3);
	t_coll_free(&c);
	CU_ASSERT_EQUAL(t_read(s, ch.id, 1, 20, 1, 0, 40, &c), 4);
	CU_ASSERT_EQUAL_FATAL(c.n, 4);
	CU_ASSERT_EQUAL(c.v[3].serial, 17);
	t_coll_free(&c);
	/* Always at least one record. */
	CU_ASSERT_EQUAL(t_read(s, ch.id, 1, 20, 0, 0, 1, &c), 1);
	t_coll_free(&c);

	/* Bounds beyond the log, an empty range, and the other channel. */
	CU_ASSERT_EQUAL(t_read(s, ch.id, 0, 1000, 0, 0, 0, &c), 20);
	t_coll_free(&c);
	CU_ASSERT_EQUAL(t_read(s, ch.id, 18, 1000, 1, 0, 0, &c), 3);
	CU_ASSERT_EQUAL_FATAL(c.n, 3);
	CU_ASSERT_EQUAL(c.v[0].serial, 20);
	t_coll_free(&c);
	CU_ASSERT_EQUAL(t_read(s, ch.id, 21, 30, 0, 0, 0, &c), 0);
	CU_ASSERT_EQUAL(t_read(s, ch.id, 21, 30, 1, 0, 0, &c), 0);
	CU_ASSERT_EQUAL(t_read(s, ch.id, 9, 8, 0, 0, 0, &c), 0);
	CU_ASSERT_EQUAL(t_read(s, ch.id + 100, 1, 10, 0, 0, 0, &c), 0);
	CU_ASSERT_EQUAL(t_read(s, ch.id + 100, 1, 10, 1, 0, 0, &c), 0);

	/* The callback stops the read. */
	c.stop_after = 2;
	CU_ASSERT_EQUAL(t_read(s, ch.id, 1, 20, 0, 0, 0, &c), 2);
	t_coll_free(&c);
	store_close(s);
	free(dir);
}

/* store_get reads one message or says it is not there. */
static void
test_chanlog_get(void)
{
	struct store_reader	*r;
	struct tcoll		 c = { 0 };
	struct store		*s;
	struct store_chan	 ch;
	char			*dir;

	dir = t_path("store");
	s = t_open(dir, NULL);
	t_append1(s, "g", NULL, "one", 0);
	t_append1(s, "g", NULL, "two", 0);
	ch = t_chan(s, "g");
	r = store_reader_open(s);
	CU_ASSERT_EQUAL(store_get(r, ch.id, 2, t_collect_cb, &c), 0);
	CU_ASSERT_EQUAL_FATAL(c.n, 1);
	CU_ASSERT_STRING_EQUAL(c.v[0].data, "two");
	CU_ASSERT_EQUAL(store_get(r, ch.id, 3, t_collect_cb, &c),
	    STORE_ENOTFOUND);
	CU_ASSERT_EQUAL(store_get(r, ch.id, 0, t_collect_cb, &c),
	    STORE_ENOTFOUND);
	CU_ASSERT_EQUAL(c.n, 1);
	store_reader_close(r);
	t_coll_free(&c);
	store_close(s);
	free(dir);
}

/* Find the first serial at or after a time, across equal and gapped times. */
static void
test_chanlog_find_time(void)
{
	static const uint64_t	 times[] = { 100, 100, 100, 200, 200, 500,
	    900, 900 };
	struct store_reader	*r;
	struct store		*s;
	struct store_chan	 ch, e;
	uint64_t		 serial, removed;
	struct store_retention	 ret = { 2, 0, 0 };
	char			*dir;
	size_t			 i;

	dir = t_path("store");
	s = t_open(dir, NULL);
	for (i = 0; i < sizeof times / sizeof times[0]; i++)
		CU_ASSERT_EQUAL(t_append1(s, "ft", NULL, "x", times[i]), i + 1);
	CU_ASSERT_EQUAL(store_chan_ensure(s, "empty", 5, 50, &e), 0);
	ch = t_chan(s, "ft");
	r = store_reader_open(s);
#define FT(t, want) do {						\
	serial = 0;							\
	CU_ASSERT_EQUAL(store_find_time(r, ch.id, (t), &serial), 0);	\
	CU_ASSERT_EQUAL(serial, (want));				\
} while (0)
	FT(0, 1);
	FT(100, 1);
	FT(101, 4);
	FT(200, 4);
	FT(201, 6);
	FT(300, 6);	/* in a gap */
	FT(500, 6);
	FT(501, 7);
	FT(900, 7);
	FT(901, 9);	/* after the end: head + 1 */
	FT(UINT64_MAX, 9);
	serial = 0;
	CU_ASSERT_EQUAL(store_find_time(r, e.id, 10, &serial), 0);
	CU_ASSERT_EQUAL(serial, 1);	/* empty log: head + 1 */
	CU_ASSERT_EQUAL(store_find_time(r, ch.id + 100, 10, &serial),
	    STORE_ENOTFOUND);

	/* After trimming, the search starts at the first kept serial. */
	CU_ASSERT_EQUAL(store_trim(s, "ft", 2, &ret, 1000, 100, &removed), 0);
	CU_ASSERT_EQUAL(removed, 6);
	FT(0, 7);
	FT(901, 9);
#undef FT
	store_reader_close(r);
	store_close(s);
	free(dir);
}

/* Collect channel names from a listing. */
struct tnames {
	char	names[64][STORE_NAME_MAX + 1];
	size_t	n;
};

/* Listing callback: keep the name, and check the metadata is filled in. */
static int
t_names_cb(const struct store_chan *c, void *arg)
{
	struct tnames	*t = arg;

	CU_ASSERT_TRUE(t_epoch_ok(c->epoch));
	CU_ASSERT_EQUAL(strlen(c->name), c->name_len);
	if (t->n < 64)
		strcpy(t->names[t->n++], c->name);
	return (0);
}

/* Listing by prefix in pages of two reassembles the list exactly once. */
static void
test_chanlog_list(void)
{
	static const char	*all[] = { "a", "a.1", "a.2", "a.3", "a.30",
	    "a.4", "ab", "b", "b.1", "zz" };
	static const char	*want[] = { "a.1", "a.2", "a.3", "a.30", "a.4" };
	struct store_reader	*r;
	struct store		*s;
	struct tnames		 t, page;
	struct store_chan	 c;
	char			*dir, after[STORE_NAME_MAX + 1] = "";
	size_t			 i;
	int			 rc;

	dir = t_path("store");
	s = t_open(dir, NULL);
	for (i = sizeof all / sizeof all[0]; i-- > 0;)
		CU_ASSERT_EQUAL(store_chan_ensure(s, all[i], strlen(all[i]), 0,
		    &c), 0);
	r = store_reader_open(s);

	memset(&t, 0, sizeof t);
	rc = store_chan_list(r, NULL, 0, NULL, 0, 0, t_names_cb, &t);
	CU_ASSERT_EQUAL(rc, 10);
	CU_ASSERT_EQUAL_FATAL(t.n, 10);
	for (i = 0; i < 10; i++)
		CU_ASSERT_STRING_EQUAL(t.names[i], all[i]);

	memset(&t, 0, sizeof t);
	for (;;) {
		memset(&page, 0, sizeof page);
		rc = store_chan_list(r, "a.", 2, after[0] ? after : NULL,
		    strlen(after), 2, t_names_cb, &page);
		CU_ASSERT(rc >= 0 && rc <= 2);
		CU_ASSERT_EQUAL((size_t)rc, page.n);
		if (rc <= 0)
			break;
		for (i = 0; i < page.n; i++)
			strcpy(t.names[t.n++], page.names[i]);
		strcpy(after, page.names[page.n - 1]);
		CU_ASSERT_FATAL(t.n <= 10);
	}
	CU_ASSERT_EQUAL_FATAL(t.n, 5);
	for (i = 0; i < 5; i++)
		CU_ASSERT_STRING_EQUAL(t.names[i], want[i]);

	/* A cursor before the prefix starts at the prefix. */
	memset(&t, 0, sizeof t);
	CU_ASSERT_EQUAL(store_chan_list(r, "b", 1, "a", 1, 0, t_names_cb, &t),
	    2);
	CU_ASSERT_STRING_EQUAL(t.names[0], "b");
	/* No match. */
	memset(&t, 0, sizeof t);
	CU_ASSERT_EQUAL(store_chan_list(r, "c", 1, NULL, 0, 0, t_names_cb, &t),
	    0);
	store_reader_close(r);
	store_close(s);
	free(dir);
}

/* store_chan_ensure creates once; store_chan_get finds or does not. */
static void
test_chanlog_ensure(void)
{
	struct store_reader	*r;
	struct store		*s;
	struct store_chan	 a, b, c;
	char			*dir;

	dir = t_path("store");
	s = t_open(dir, NULL);
	CU_ASSERT_EQUAL(store_chan_ensure(s, "e", 1, 1234, &a), 0);
	CU_ASSERT_EQUAL(a.first, 1);
	CU_ASSERT_EQUAL(a.head, 0);
	CU_ASSERT_EQUAL(a.count, 0);
	CU_ASSERT_EQUAL(a.created, 1234);
	CU_ASSERT_TRUE(t_epoch_ok(a.epoch));
	CU_ASSERT_EQUAL(store_chan_ensure(s, "e", 1, 9999, &b), 0);
	CU_ASSERT_EQUAL(b.id, a.id);
	CU_ASSERT_STRING_EQUAL(b.epoch, a.epoch);
	CU_ASSERT_EQUAL(b.created, 1234);
	CU_ASSERT_EQUAL(store_chan_ensure(s, "f", 1, 0, &c), 0);
	CU_ASSERT_NOT_EQUAL(c.id, a.id);
	CU_ASSERT_STRING_NOT_EQUAL(c.epoch, a.epoch);
	CU_ASSERT_EQUAL(store_chan_ensure(s, "", 0, 0, &c), STORE_EINVAL);
	/* The first message goes on the ensured log with its epoch. */
	CU_ASSERT_EQUAL(t_append1(s, "e", NULL, "x", 0), 1);
	r = store_reader_open(s);
	CU_ASSERT_EQUAL(store_chan_get(r, "nope", 4, &c), STORE_ENOTFOUND);
	CU_ASSERT_EQUAL(store_chan_get(r, "e", 1, &c), 0);
	CU_ASSERT_STRING_EQUAL(c.epoch, a.epoch);
	CU_ASSERT_EQUAL(c.head, 1);
	store_reader_close(r);
	store_close(s);
	free(dir);
}

/* A repeated id within the window is a duplicate; after it, a new message. */
static void
test_chanlog_dedupe_window(void)
{
	struct store_config	 cfg;
	struct store_msg	 m;
	struct store		*s;
	struct store_chan	 ch;
	char			*dir;

	dir = t_path("store");
	store_config_default(&cfg);
	cfg.dedupe_window_ms = 10000;
	s = t_open(dir, &cfg);
	t_msg(&m, "d", "order-1", "first");
	CU_ASSERT_EQUAL(store_append(s, &m, 1, 100000), 0);
	CU_ASSERT_EQUAL(m.serial, 1);
	CU_ASSERT_EQUAL(m.duplicate, 0);
	CU_ASSERT_EQUAL(t_append1(s, "d", NULL, "other", 100001), 2);

	t_msg(&m, "d", "order-1", "second");
	CU_ASSERT_EQUAL(store_append(s, &m, 1, 109999), 0);
	CU_ASSERT_EQUAL(m.duplicate, 1);
	CU_ASSERT_EQUAL(m.serial, 1);
	CU_ASSERT_EQUAL(m.time, 100000);
	CU_ASSERT_TRUE(t_epoch_ok(m.epoch));
	ch = t_chan(s, "d");
	CU_ASSERT_EQUAL(ch.head, 2);
	CU_ASSERT_EQUAL(ch.count, 2);

	/* The same id on another channel is another message. */
	t_msg(&m, "d2", "order-1", "elsewhere");
	CU_ASSERT_EQUAL(store_append(s, &m, 1, 109999), 0);
	CU_ASSERT_EQUAL(m.duplicate, 0);
	CU_ASSERT_EQUAL(m.serial, 1);

	/* Survives reopen. */
	store_close(s);
	s = t_open(dir, &cfg);
	t_msg(&m, "d", "order-1", "third");
	CU_ASSERT_EQUAL(store_append(s, &m, 1, 109999), 0);
	CU_ASSERT_EQUAL(m.duplicate, 1);
	CU_ASSERT_EQUAL(m.serial, 1);

	/* Outside the window: stored anew, and then deduplicated anew. */
	t_msg(&m, "d", "order-1", "fourth");
	CU_ASSERT_EQUAL(store_append(s, &m, 1, 110000), 0);
	CU_ASSERT_EQUAL(m.duplicate, 0);
	CU_ASSERT_EQUAL(m.serial, 3);
	CU_ASSERT_EQUAL(t_chan(s, "d").head, 3);
	t_msg(&m, "d", "order-1", "fifth");
	CU_ASSERT_EQUAL(store_append(s, &m, 1, 115000), 0);
	CU_ASSERT_EQUAL(m.duplicate, 1);
	CU_ASSERT_EQUAL(m.serial, 3);
	CU_ASSERT_EQUAL(m.time, 110000);
	CU_ASSERT_EQUAL(t_chan(s, "d").head, 3);
	store_close(s);
	free(dir);
}

/* Duplicates within one batch get the first one's serial. */
static void
test_chanlog_dedupe_batch(void)
{
	struct store_msg	 m[5];
	struct store		*s;
	struct tcoll		 c = { 0 };
	char			*dir;

	dir = t_path("store");
	s = t_open(dir, NULL);
	t_msg(&m[0], "b", "a", "1");
	t_msg(&m[1], "b", "b", "2");
	t_msg(&m[2], "b", "a", "3");
	t_msg(&m[3], "b", NULL, "4");
	t_msg(&m[4], "b", "b", "5");
	CU_ASSERT_EQUAL_FATAL(store_append(s, m, 5, 0), 0);
	CU_ASSERT_EQUAL(m[0].serial, 1);
	CU_ASSERT_EQUAL(m[1].serial, 2);
	CU_ASSERT_EQUAL(m[2].serial, 1);
	CU_ASSERT_EQUAL(m[2].duplicate, 1);
	CU_ASSERT_EQUAL(m[3].serial, 3);
	CU_ASSERT_EQUAL(m[3].duplicate, 0);
	CU_ASSERT_EQUAL(m[4].serial, 2);
	CU_ASSERT_EQUAL(m[4].duplicate, 1);
	CU_ASSERT_EQUAL(t_chan(s, "b").head, 3);
	CU_ASSERT_EQUAL(t_read(s, m[0].chan_id, 1, 10, 0, 0, 0, &c), 3);
	CU_ASSERT_EQUAL_FATAL(c.n, 3);
	CU_ASSERT_STRING_EQUAL(c.v[0].data, "1");
	CU_ASSERT_STRING_EQUAL(c.v[1].data, "2");
	CU_ASSERT_STRING_EQUAL(c.v[2].data, "4");
	t_coll_free(&c);
	store_close(s);
	free(dir);
}

/*
 * Many expired dedupe entries are swept a bounded number at a time without
 * losing the live ones: ids re-sent after expiry are stored anew while those
 * still in the window stay duplicates.
 */
static void
test_chanlog_dedupe_sweep(void)
{
	enum { N = 600 };
	struct store_config	 cfg;
	struct store_msg	*m;
	struct store		*s;
	char			 (*ids)[16];
	char			*dir;
	size_t			 i;

	dir = t_path("store");
	store_config_default(&cfg);
	cfg.dedupe_window_ms = 1000;
	s = t_open(dir, &cfg);
	m = calloc(N, sizeof *m);
	ids = calloc(N, sizeof *ids);
	CU_ASSERT_FATAL(m != NULL && ids != NULL);
	for (i = 0; i < N; i++) {
		snprintf(ids[i], sizeof ids[i], "id%zu", i);
		t_msg(&m[i], "sw", ids[i], "x");
	}
	CU_ASSERT_EQUAL_FATAL(store_append(s, m, N, 10000), 0);
	/* A few single appends sweep some of the expired entries. */
	for (i = 0; i < 5; i++)
		t_append1(s, "sw", NULL, "y", 20000 + i);
	CU_ASSERT_EQUAL(t_chan(s, "sw").head, N + 5);
	/* Fresh ids at 20500, then all re-sent at 20900. */
	for (i = 0; i < 10; i++)
		t_msg(&m[i], "sw", ids[i], "z");
	CU_ASSERT_EQUAL_FATAL(store_append(s, m, 10, 20500), 0);
	for (i = 0; i < 10; i++)
		CU_ASSERT_EQUAL(m[i].duplicate, 0);
	for (i = 0; i < N; i++)
		t_msg(&m[i], "sw", ids[i], "w");
	CU_ASSERT_EQUAL_FATAL(store_append(s, m, N, 20900), 0);
	for (i = 0; i < N; i++) {
		CU_ASSERT_EQUAL(m[i].duplicate, i < 10);
		if (i < 10)
			CU_ASSERT_EQUAL(m[i].serial, N + 5 + 1 + i);
	}
	CU_ASSERT_EQUAL(t_chan(s, "sw").head, N + 5 + 10 + (N - 10));
	free(m);
	free(ids);
	store_close(s);
	free(dir);
}

/* ------------------------------------------------------------------ */
/* suite "retention" */

/* Append n messages to chan at times start, start+step, ... */
static void
t_fill(struct store *s, const char *chan, uint64_t n, uint64_t start,
    uint64_t step, size_t len)
{
	char		buf[4096];
	uint64_t	i;

	for (i = 0; i < n; i++) {
		t_payload(buf, len, 7, i + 1);
		buf[len] = '\0';
		CU_ASSERT_EQUAL(t_append1(s, chan, NULL, buf, start + i *
		    step), i + 1);
	}
}

/* Check that chan holds exactly serials first..head, with matching bytes. */
static void
t_check_kept(struct store *s, const char *chan, uint64_t first,
    uint64_t head)
{
	struct store_chan	ch;
	struct tcoll		c = { 0 };
	uint64_t		bytes = 0;
	size_t			i;

	ch = t_chan(s, chan);
	CU_ASSERT_EQUAL(ch.first, first);
	CU_ASSERT_EQUAL(ch.head, head);
	CU_ASSERT_EQUAL(ch.count, head + 1 - first);
	t_read(s, ch.id, 0, UINT64_MAX, 0, 0, 0, &c);
	CU_ASSERT_EQUAL(c.n, head + 1 - first);
	for (i = 0; i < c.n; i++) {
		CU_ASSERT_EQUAL(c.v[i].serial, first + i);
		CU_ASSERT_EQUAL(strtoull(c.v[i].data + 2, NULL, 10),
		    first + i);
		bytes += c.v[i].stored;
	}
	CU_ASSERT_EQUAL(ch.bytes, bytes);
	t_coll_free(&c);
}

/* Trim by count removes only the oldest. */
static void
test_retention_count(void)
{
	struct store_retention	 r = { 4, 0, 0 };
	struct store		*s;
	uint64_t		 removed = 99;
	char			*dir;

	dir = t_path("store");
	s = t_open(dir, NULL);
	t_fill(s, "c", 10, 1000, 1, 20);
	t_fill(s, "keep", 3, 1000, 1, 20);
	CU_ASSERT_EQUAL(store_trim(s, "c", 1, &r, 0, 1000, &removed), 0);
	CU_ASSERT_EQUAL(removed, 6);
	t_check_kept(s, "c", 7, 10);
	t_check_kept(s, "keep", 1, 3);
	/* Nothing more to do. */
	CU_ASSERT_EQUAL(store_trim(s, "c", 1, &r, 0, 1000, &removed), 0);
	CU_ASSERT_EQUAL(removed, 0);
	/* Appends continue after the head. */
	CU_ASSERT_EQUAL(t_append1(s, "c", NULL, "s=11;", 0), 11);
	CU_ASSERT_EQUAL(store_trim(s, "nope", 4, &r, 0, 10, &removed),
	    STORE_ENOTFOUND);
	store_close(s);
	free(dir);
}

/* Trim by age removes messages older than now - max_age. */
static void
test_retention_age(void)
{
	struct store_retention	 r = { 0, 3500, 0 };
	struct store		*s;
	uint64_t		 removed;
	char			*dir;

	dir = t_path("store");
	s = t_open(dir, NULL);
	t_fill(s, "a", 10, 1000, 1000, 20);	/* times 1000 .. 10000 */
	CU_ASSERT_EQUAL(store_trim(s, "a", 1, &r, 10000, 100, &removed), 0);
	CU_ASSERT_EQUAL(removed, 6);		/* 1000 .. 6000 < 6500 */
	t_check_kept(s, "a", 7, 10);
	/* Everything too old: the log empties, first = head + 1. */
	CU_ASSERT_EQUAL(store_trim(s, "a", 1, &r, 100000, 100, &removed), 0);
	CU_ASSERT_EQUAL(removed, 4);
	t_check_kept(s, "a", 11, 10);
	CU_ASSERT_EQUAL(t_chan(s, "a").bytes, 0);
	CU_ASSERT_EQUAL(t_chan(s, "a").last_time, 10000);
	CU_ASSERT_EQUAL(t_append1(s, "a", NULL, "s=11;", 0), 11);
	t_check_kept(s, "a", 11, 11);
	store_close(s);
	free(dir);
}

/* Trim by bytes keeps the newest that fit. */
static void
test_retention_bytes(void)
{
	struct store_retention	 r = { 0, 0, 0 };
	struct store		*s;
	struct store_chan	 ch;
	struct tcoll		 c = { 0 };
	uint64_t		 removed;
	char			*dir;

	dir = t_path("store");
	s = t_open(dir, NULL);
	t_fill(s, "b", 10, 1000, 1, 100);
	ch = t_chan(s, "b");
	t_read(s, ch.id, 1, 10, 0, 0, 0, &c);
	CU_ASSERT_EQUAL_FATAL(c.n, 10);
	/* Room for the last three records, not four. */
	r.max_bytes = c.v[7].stored + c.v[8].stored + c.v[9].stored +
	    c.v[6].stored / 2;
	t_coll_free(&c);
	CU_ASSERT_EQUAL(store_trim(s, "b", 1, &r, 0, 100, &removed), 0);
	CU_ASSERT_EQUAL(removed, 7);
	t_check_kept(s, "b", 8, 10);
	CU_ASSERT(t_chan(s, "b").bytes <= r.max_bytes);
	store_close(s);
	free(dir);
}

/* A bounded trim returns 1 while more remains, and finishes exactly. */
static void
test_retention_steps(void)
{
	struct store_retention	 r = { 10, 0, 0 };
	struct store		*s;
	uint64_t		 removed, total = 0, first = 1;
	char			*dir;
	int			 rc, calls = 0;

	dir = t_path("store");
	s = t_open(dir, NULL);
	t_fill(s, "s", 100, 1000, 1, 10);
	do {
		rc = store_trim(s, "s", 1, &r, 0, 25, &removed);
		CU_ASSERT(rc == 0 || rc == 1);
		CU_ASSERT(removed <= 25);
		total += removed;
		first += removed;
		t_check_kept(s, "s", first, 100);
		calls++;
	} while (rc == 1 && calls < 10);
	CU_ASSERT_EQUAL(calls, 4);
	CU_ASSERT_EQUAL(total, 90);
	CU_ASSERT_EQUAL(rc, 0);
	store_close(s);
	free(dir);
}

/* ------------------------------------------------------------------ */
/* suite "durability" */

/* Append n messages of len bytes (payload encodes the serial) to chan. */
static int
t_bulk(struct store *s, const char *chan, uint64_t from, size_t n, size_t len,
    size_t batch, uint64_t *stored)
{
	struct store_msg	*m;
	char			*buf;
	size_t			 i, k;
	int			 rc = 0;

	m = calloc(batch, sizeof *m);
	buf = malloc(batch * (len + 1));
	if (m == NULL || buf == NULL)
		abort();
	*stored = 0;
	for (i = 0; i < n && rc == 0; i += k) {
		for (k = 0; k < batch && i + k < n; k++) {
			t_payload(buf + k * (len + 1), len, 3, from + i + k);
			buf[k * (len + 1) + len] = '\0';
			t_msg(&m[k], chan, NULL, buf + k * (len + 1));
		}
		rc = store_append(s, m, k, 0);
		if (rc == 0) {
			CU_ASSERT_EQUAL(m[0].serial, from + i);
			*stored += k;
		}
	}
	free(buf);
	free(m);
	return (rc);
}

/* Check serials 1..head of chan carry their t_bulk payloads. */
static void
t_check_bulk(struct store *s, const char *chan, uint64_t head, size_t len)
{
	struct store_chan	 ch;
	struct tcoll		 c = { 0 };
	char			*want;
	size_t			 i;

	want = malloc(len + 1);
	ch = t_chan(s, chan);
	CU_ASSERT_EQUAL(ch.head, head);
	CU_ASSERT_EQUAL(ch.count, head);
	CU_ASSERT_EQUAL((uint64_t)t_read(s, ch.id, 1, UINT64_MAX, 0, 0, 0,
	    &c), head);
	CU_ASSERT_EQUAL(c.n, head);
	for (i = 0; i < c.n; i++) {
		t_payload(want, len, 3, i + 1);
		CU_ASSERT_EQUAL(c.v[i].serial, i + 1);
		CU_ASSERT_EQUAL(c.v[i].data_len, len);
		if (c.v[i].data_len != len || memcmp(c.v[i].data, want,
		    len) != 0) {
			CU_FAIL("payload differs");
			break;
		}
	}
	t_coll_free(&c);
	free(want);
}

/* From a 64 KiB map, the map grows through megabytes of appends. */
static void
test_durability_map_growth(void)
{
	struct store_config	 cfg;
	struct store		*s;
	uint64_t		 stored, file, map;
	char			*dir;

	dir = t_path("store");
	store_config_default(&cfg);
	cfg.map_size = 64 * 1024;
	cfg.sync = STORE_SYNC_NONE;
	s = t_open(dir, &cfg);
	CU_ASSERT_EQUAL(t_bulk(s, "g", 1, 3000, 1500, 50, &stored), 0);
	CU_ASSERT_EQUAL(stored, 3000);
	CU_ASSERT_EQUAL(t_bulk(s, "g", 3001, 1000, 1500, 1, &stored), 0);
	CU_ASSERT_EQUAL(store_size(s, &file, &map), 0);
	CU_ASSERT(map >= 4 * T_MIB);
	CU_ASSERT(file >= 4000 * 1500);
	t_check_bulk(s, "g", 4000, 1500);
	store_close(s);
	s = t_open(dir, &cfg);
	t_check_bulk(s, "g", 4000, 1500);
	CU_ASSERT_EQUAL(store_verify(s, NULL, NULL), 0);
	store_close(s);
	free(dir);
}

/* A map that may not grow past map_max gives STORE_EFULL, data intact. */
static void
test_durability_map_max(void)
{
	struct store_config	 cfg;
	struct store		*s;
	struct store_chan	 ch;
	uint64_t		 stored, total = 0;
	char			*dir;
	int			 rc = 0, i;

	dir = t_path("store");
	store_config_default(&cfg);
	cfg.map_size = 64 * 1024;
	cfg.map_max = 1 * T_MIB;
	cfg.sync = STORE_SYNC_NONE;
	s = t_open(dir, &cfg);
	for (i = 0; i < 1000 && rc == 0; i++) {
		rc = t_bulk(s, "f", total + 1, 10, 1000, 10, &stored);
		total += stored;
	}
	CU_ASSERT_EQUAL(rc, STORE_EFULL);
	CU_ASSERT(total > 100);
	ch = t_chan(s, "f");
	CU_ASSERT_EQUAL(ch.head, total);
	t_check_bulk(s, "f", total, 1000);
	/* Still full, still nothing stored, still readable. */
	CU_ASSERT_EQUAL(t_bulk(s, "f", total + 1, 10, 1000, 10, &stored),
	    STORE_EFULL);
	CU_ASSERT_EQUAL(stored, 0);
	CU_ASSERT_EQUAL(t_chan(s, "f").head, total);
	CU_ASSERT_EQUAL(store_verify(s, NULL, NULL), 0);
	store_close(s);
	free(dir);
}

/*
 * Flip one byte in every occurrence of marker in path (older copies of a
 * page may linger in LMDB's free pages).  Returns the number flipped.
 */
static int
t_flip_marker(const char *path, const char *marker)
{
	struct stat	 st;
	char		*buf, *p, *end;
	size_t		 mlen = strlen(marker);
	int		 fd, n = 0;

	if ((fd = open(path, O_RDWR)) == -1)
		return (-1);
	if (fstat(fd, &st) != 0 || (buf = malloc(st.st_size)) == NULL)
		abort();
	if (pread(fd, buf, st.st_size, 0) != st.st_size)
		abort();
	end = buf + st.st_size;
	for (p = buf; (p = memmem(p, end - p, marker, mlen)) != NULL;
	    p += mlen) {
		p[mlen / 2] ^= 0x20;
		if (pwrite(fd, p + mlen / 2, 1, (p + mlen / 2) - buf) != 1)
			abort();
		n++;
	}
	free(buf);
	close(fd);
	return (n);
}

/* A flipped byte in a stored record is caught on read and by verify. */
static void
test_durability_corrupt_record(void)
{
	struct store_verify_report	 rep;
	struct store_reader		*r;
	struct store			*s;
	struct store_chan		 ch;
	struct tcoll			 c = { 0 };
	char				*dir, *data, *out = NULL, *cause = NULL;
	size_t				 outlen = 0;
	FILE				*f;
	int				 rc;

	dir = t_path("store");
	s = t_open(dir, NULL);
	t_append1(s, "x", NULL, "\"before\"", 0);
	t_append1(s, "x", NULL, "\"MARKER-7f3a9c-payload-that-is-unique\"", 0);
	t_append1(s, "x", NULL, "\"after\"", 0);
	ch = t_chan(s, "x");
	CU_ASSERT_EQUAL(store_verify(s, NULL, NULL), 0);
	store_close(s);

	data = t_path("store/data.mdb");
	CU_ASSERT_FATAL(t_flip_marker(data, "MARKER-7f3a9c-payload") >= 1);

	s = t_open(dir, NULL);
	r = store_reader_open(s);
	CU_ASSERT_EQUAL(store_get(r, ch.id, 2, t_collect_cb, &c),
	    STORE_ECORRUPT);
	CU_ASSERT_EQUAL(c.n, 0);
	CU_ASSERT_EQUAL(store_get(r, ch.id, 1, t_collect_cb, &c), 0);
	CU_ASSERT_EQUAL(store_get(r, ch.id, 3, t_collect_cb, &c), 0);
	CU_ASSERT_EQUAL(c.n, 2);
	t_coll_free(&c);
	/* A range read passes the records before the bad one. */
	rc = store_read(r, ch.id, 1, 3, 0, 0, 0, t_collect_cb, &c);
	CU_ASSERT_EQUAL(rc, STORE_ECORRUPT);
	CU_ASSERT_EQUAL(c.n, 1);
	t_coll_free(&c);
	store_reader_close(r);

	f = open_memstream(&out, &outlen);
	CU_ASSERT_EQUAL(store_verify(s, f, &rep), STORE_ECORRUPT);
	fclose(f);
	CU_ASSERT(rep.errors >= 1);
	CU_ASSERT_EQUAL(rep.channels, 1);
	CU_ASSERT_EQUAL(rep.records, 3);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "serial 2"));
	free(out);
	store_close(s);

	T_RC(store_verify_path(dir, NULL, &rep, &cause), STORE_ECORRUPT);
	CU_ASSERT_PTR_NOT_NULL(cause);
	if (cause != NULL)
		CU_ASSERT_PTR_NOT_NULL(strstr(cause, "fails verification"));
	free(cause);
	free(data);
	free(dir);
}

/*
 * Child of the crash test: append forever, reporting each committed serial
 * (after store_append returned) on fd.
 */
static void __attribute__((__noreturn__))
t_crash_child(const char *dir, int fd)
{
	struct store_config	 cfg;
	struct store_msg	 m[4];
	struct store_chan	 ch;
	struct store		*s;
	char			*cause, data[4][64];
	uint64_t		 next;
	unsigned char		 rnd;
	size_t			 i, n;

	store_config_default(&cfg);
	cfg.sync = STORE_SYNC_ALWAYS;
	if (store_open(dir, &cfg, &s, &cause) != 0)
		_exit(2);
	if (store_chan_ensure(s, "crash", 5, 0, &ch) != 0)
		_exit(3);
	next = ch.head + 1;
	for (;;) {
		t_random(&rnd, 1);
		n = 1 + rnd % 4;
		for (i = 0; i < n; i++) {
			snprintf(data[i], sizeof data[i], "{\"serial\":%"
			    PRIu64 "}", next + i);
			t_msg(&m[i], "crash", NULL, data[i]);
		}
		if (store_append(s, m, n, 0) != 0)
			_exit(4);
		for (i = 0; i < n; i++) {
			if (m[i].serial != next + i)
				_exit(5);
			if (write(fd, &m[i].serial, sizeof m[i].serial) !=
			    sizeof m[i].serial)
				_exit(6);
		}
		next += n;
	}
}

/*
 * kill -9 a writer at random moments: every serial it reported is there
 * and intact, and serials are contiguous from 1 to the head.
 */
static void
test_durability_crash(void)
{
	struct store_reader	*r;
	struct store		*s;
	struct store_chan	 ch;
	struct tcoll		 c = { 0 };
	struct pollfd		 pfd;
	uint64_t		 serial, maxrep = 0, reported = 0;
	unsigned char		 rnd;
	char			*dir, want[64];
	pid_t			 pid;
	int			 p[2], cycle, status, rc;
	size_t			 i;
	ssize_t			 n;

	dir = t_path("store");
	for (cycle = 0; cycle < 25; cycle++) {
		CU_ASSERT_FATAL(pipe(p) == 0);
		fflush(NULL);
		pid = fork();
		CU_ASSERT_FATAL(pid != -1);
		if (pid == 0) {
			close(p[0]);
			t_crash_child(dir, p[1]);
		}
		close(p[1]);
		/*
		 * Odd cycles kill at a random moment from the fork (during
		 * open and recovery too); even ones wait for the child's first
		 * commit, so that the kill surely lands among appends.
		 */
		if (cycle % 2 == 0) {
			pfd.fd = p[0];
			pfd.events = POLLIN;
			if (poll(&pfd, 1, 10000) == 1 && read(p[0], &serial,
			    sizeof serial) == sizeof serial) {
				if (serial > maxrep)
					maxrep = serial;
				reported++;
			}
		}
		t_random(&rnd, 1);
		t_sleep_ms(5 + rnd % 46);
		kill(pid, SIGKILL);
		while ((n = read(p[0], &serial, sizeof serial)) ==
		    sizeof serial) {
			if (serial > maxrep)
				maxrep = serial;
			reported++;
		}
		close(p[0]);
		CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
		CU_ASSERT_TRUE(WIFSIGNALED(status) &&
		    WTERMSIG(status) == SIGKILL);
		if (!WIFSIGNALED(status))
			fprintf(stderr, "crash child exited with %d\n",
			    WEXITSTATUS(status));

		s = t_open(dir, NULL);
		r = store_reader_open(s);
		rc = store_chan_get(r, "crash", 5, &ch);
		store_reader_close(r);
		if (rc == STORE_ENOTFOUND && maxrep == 0) {
			store_close(s);	/* killed before its first commit */
			continue;
		}
		CU_ASSERT_EQUAL(rc, 0);
		CU_ASSERT(ch.head >= maxrep);
		CU_ASSERT_EQUAL(ch.first, 1);
		CU_ASSERT_EQUAL(ch.count, ch.head);
		t_read(s, ch.id, 1, UINT64_MAX, 0, 0, 0, &c);
		CU_ASSERT_EQUAL(c.n, ch.head);
		for (i = 0; i < c.n; i++) {
			snprintf(want, sizeof want, "{\"serial\":%zu}", i + 1);
			CU_ASSERT_EQUAL(c.v[i].serial, i + 1);
			CU_ASSERT_STRING_EQUAL(c.v[i].data, want);
		}
		t_coll_free(&c);
		store_close(s);
	}
	printf("\n    crash: 25 kills, %" PRIu64 " serials reported, head %"
	    PRIu64 " ", reported, maxrep);
	CU_ASSERT(reported >= 13);
	s = t_open(dir, NULL);
	CU_ASSERT_EQUAL(store_verify(s, stderr, NULL), 0);
	store_close(s);
	free(dir);
}

/*
 * A full disk (a small tmpfs) gives STORE_EFULL with earlier data intact,
 * and appends succeed again once there is space.
 */
static void
test_durability_disk_full(void)
{
	struct store_config	 cfg;
	struct store		*s;
	uint64_t		 stored, total = 0;
	char			*mnt, *dir;
	int			 rc = 0, i;

	mnt = t_path("mnt");
	dir = t_path("mnt/store");
	CU_ASSERT_FATAL(mkdir(mnt, 0755) == 0);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=2m") != 0) {
		printf("\n    NOTE: mount(tmpfs) not permitted (%s): disk-full "
		    "test NOT run; only the map_max path (map_max test) "
		    "covers STORE_EFULL here ", strerror(errno));
		free(dir);
		free(mnt);
		return;
	}
	store_config_default(&cfg);
	s = t_open(dir, &cfg);
	for (i = 0; i < 10000 && rc == 0; i++) {
		rc = t_bulk(s, "full", total + 1, 8, 1000, 8, &stored);
		total += stored;
	}
	T_RC(rc, STORE_EFULL);
	CU_ASSERT(total > 100);
	t_check_bulk(s, "full", total, 1000);
	CU_ASSERT_EQUAL(t_bulk(s, "full", total + 1, 8, 1000, 8, &stored),
	    STORE_EFULL);
	CU_ASSERT_EQUAL(t_chan(s, "full").head, total);

	/* Free space: appends resume on the same open store. */
	CU_ASSERT_EQUAL_FATAL(mount("tmpfs", mnt, "tmpfs", MS_REMOUNT,
	    "size=16m"),
	    0);
	CU_ASSERT_EQUAL(t_bulk(s, "full", total + 1, 200, 1000, 8, &stored),
	    0);
	total += stored;
	CU_ASSERT_EQUAL(stored, 200);
	t_check_bulk(s, "full", total, 1000);
	CU_ASSERT_EQUAL(store_verify(s, stderr, NULL), 0);
	store_close(s);

	s = t_open(dir, &cfg);
	t_check_bulk(s, "full", total, 1000);
	store_close(s);
	CU_ASSERT_EQUAL(umount2(mnt, 0), 0);
	free(dir);
	free(mnt);
}

/* ------------------------------------------------------------------ */
/* suite "snapshot" */

#define T_SNAP_CHANS	3

/* The appender thread of the snapshot test. */
struct tappender {
	struct store	*s;
	volatile int	 stop;
	pthread_mutex_t	 lock;
	uint64_t	 committed[T_SNAP_CHANS];	/* under lock */
	int		 error;
};

/* Append batches to three channels until told to stop. */
static void *
t_appender_main(void *arg)
{
	struct tappender	*a = arg;
	struct store_msg	 m[12];
	char			 names[T_SNAP_CHANS][8], data[12][64];
	uint64_t		 next[T_SNAP_CHANS] = { 1, 1, 1 };
	size_t			 i, k;
	int			 rc;

	for (k = 0; k < T_SNAP_CHANS; k++)
		snprintf(names[k], sizeof names[k], "snap%zu", k);
	while (!a->stop) {
		for (i = 0; i < 12; i++) {
			k = i % T_SNAP_CHANS;
			snprintf(data[i], sizeof data[i], "{\"c\":%zu,\"s\":%"
			    PRIu64 "}", k, next[k] + i / T_SNAP_CHANS);
			t_msg(&m[i], names[k], NULL, data[i]);
		}
		if ((rc = store_append(a->s, m, 12, 0)) != 0) {
			a->error = rc;
			break;
		}
		pthread_mutex_lock(&a->lock);
		for (k = 0; k < T_SNAP_CHANS; k++) {
			next[k] += 12 / T_SNAP_CHANS;
			a->committed[k] = next[k] - 1;
		}
		pthread_mutex_unlock(&a->lock);
	}
	return (NULL);
}

/* Snapshot dir's store s into file path. */
static void
t_snapshot(struct store *s, const char *path)
{
	uint64_t	 bytes = 0;
	char		*cause = NULL;
	int		 fd, rc;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CU_ASSERT_FATAL(fd != -1);
	rc = store_snapshot(s, fd, &bytes, &cause);
	if (rc != 0)
		fprintf(stderr, "snapshot: %s\n", cause);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT(bytes > 32);
	CU_ASSERT_EQUAL((off_t)bytes, lseek(fd, 0, SEEK_CUR));
	free(cause);
	close(fd);
}

/*
 * Snapshot while another thread appends; the restore has every message
 * committed before the snapshot began, new epochs, and verifies.
 */
static void
test_snapshot_live(void)
{
	struct store_verify_report	 rep;
	struct tappender		 a;
	struct store			*s, *rs;
	struct store_chan		 before[T_SNAP_CHANS], ch;
	struct tcoll			 c = { 0 };
	pthread_t			 thread;
	uint64_t			 committed[T_SNAP_CHANS];
	char				*dir, *snap, *rdir, *cause = NULL;
	char				 name[8], want[64];
	size_t				 k, i;
	int				 rc;

	dir = t_path("store");
	snap = t_path("snap.lws");
	rdir = t_path("restored");
	s = t_open(dir, NULL);
	/* Some history first, so that the copy takes a moment. */
	for (k = 0; k < T_SNAP_CHANS; k++) {
		snprintf(name, sizeof name, "snap%zu", k);
		CU_ASSERT_EQUAL(store_chan_ensure(s, name, strlen(name), 0,
		    &before[k]), 0);
	}
	memset(&a, 0, sizeof a);
	a.s = s;
	pthread_mutex_init(&a.lock, NULL);
	CU_ASSERT_FATAL(pthread_create(&thread, NULL, t_appender_main,
	    &a) == 0);
	t_sleep_ms(150);
	pthread_mutex_lock(&a.lock);
	memcpy(committed, a.committed, sizeof committed);
	pthread_mutex_unlock(&a.lock);
	t_snapshot(s, snap);
	t_sleep_ms(30);
	a.stop = 1;
	pthread_join(thread, NULL);
	pthread_mutex_destroy(&a.lock);
	CU_ASSERT_EQUAL(a.error, 0);
	CU_ASSERT(committed[0] > 0);

	rc = store_restore(snap, rdir, &cause);
	if (rc != 0)
		fprintf(stderr, "restore: %s\n", cause);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	free(cause);
	cause = NULL;

	rs = t_open(rdir, NULL);
	CU_ASSERT_EQUAL(store_verify(rs, stderr, &rep), 0);
	CU_ASSERT_EQUAL(rep.channels, T_SNAP_CHANS);
	CU_ASSERT_EQUAL(rep.errors, 0);
	for (k = 0; k < T_SNAP_CHANS; k++) {
		snprintf(name, sizeof name, "snap%zu", k);
		ch = t_chan(rs, name);
		CU_ASSERT_TRUE(t_epoch_ok(ch.epoch));
		CU_ASSERT_STRING_NOT_EQUAL(ch.epoch, before[k].epoch);
		CU_ASSERT_EQUAL(ch.id, before[k].id);
		CU_ASSERT(ch.head >= committed[k]);
		CU_ASSERT_EQUAL(ch.first, 1);
		t_read(rs, ch.id, 1, UINT64_MAX, 0, 0, 0, &c);
		CU_ASSERT_EQUAL(c.n, ch.head);
		for (i = 0; i < c.n; i++) {
			snprintf(want, sizeof want, "{\"c\":%zu,\"s\":%zu}",
			    k, i + 1);
			CU_ASSERT_STRING_EQUAL(c.v[i].data, want);
		}
		t_coll_free(&c);
	}
	/* Appends continue on the restored store with the new epoch. */
	ch = t_chan(rs, "snap0");
	CU_ASSERT_EQUAL(t_append1(rs, "snap0", NULL, "more", 0), ch.head + 1);
	store_close(rs);

	/* Verify by path: the directory and the snapshot file. */
	T_RC(store_verify_path(rdir, stderr, &rep, &cause), 0);
	CU_ASSERT_EQUAL(rep.channels, T_SNAP_CHANS);
	CU_ASSERT_EQUAL(store_verify_path(snap, NULL, &rep, &cause), 0);
	CU_ASSERT_EQUAL(rep.channels, T_SNAP_CHANS);
	CU_ASSERT(rep.records >= committed[0] * T_SNAP_CHANS);
	CU_ASSERT_PTR_NULL(cause);

	store_close(s);
	free(rdir);
	free(snap);
	free(dir);
}

/* Copy the first len bytes of src to dst, flipping byte flip if >= 0. */
static void
t_copy_file(const char *src, const char *dst, off_t len, off_t flip)
{
	struct stat	 st;
	char		*buf;
	int		 fd;

	fd = open(src, O_RDONLY);
	CU_ASSERT_FATAL(fd != -1 && fstat(fd, &st) == 0);
	buf = malloc(st.st_size);
	CU_ASSERT_FATAL(buf != NULL);
	CU_ASSERT_FATAL(read(fd, buf, st.st_size) == st.st_size);
	close(fd);
	if (len < 0 || len > st.st_size)
		len = st.st_size;
	if (flip >= 0 && flip < len)
		buf[flip] ^= 0x01;
	fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CU_ASSERT_FATAL(fd != -1);
	CU_ASSERT(write(fd, buf, len) == len);
	close(fd);
	free(buf);
}

/* Whether the test directory holds anything named like prefix*. */
static int
t_leftovers(const char *prefix)
{
	char	*cmd;
	int	 rc;

	if (asprintf(&cmd, "ls -d %s/%s* >/dev/null 2>&1", t_dir, prefix) < 0)
		abort();
	rc = system(cmd);
	free(cmd);
	return (rc == 0);
}

/* Whether directory path holds nothing. */
static int
t_dir_empty(const char *path)
{
	struct dirent	*de;
	DIR		*d;
	int		 n = 0;

	if ((d = opendir(path)) == NULL)
		return (0);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	}
	closedir(d);
	return (n == 0);
}

/*
 * A snapshot whose framing is good around a data.mdb cut to half its size
 * or empty: restore and verify refuse it, name the snapshot, and leave
 * nothing behind (no target, no temporary directory beside it or in
 * $TMPDIR).
 */
static void
test_snapshot_damaged_store(void)
{
	struct store_verify_report	 rep;
	struct store			*s;
	struct stat			 st;
	char				*dir, *data, *buf, *bad, *tgt, *tmp;
	char				*cause = NULL, *saved = NULL;
	uint64_t			 stored;
	int				 fd, i;

	dir = t_path("store");
	data = t_path("store/data.mdb");
	bad = t_path("bad.lws");
	tgt = t_path("target");
	tmp = t_path("tmp");
	s = t_open(dir, NULL);
	CU_ASSERT_EQUAL(t_bulk(s, "d", 1, 2000, 1000, 100, &stored), 0);
	store_close(s);
	fd = open(data, O_RDONLY);
	CU_ASSERT_FATAL(fd != -1 && fstat(fd, &st) == 0);
	buf = malloc(st.st_size);
	CU_ASSERT_FATAL(buf != NULL);
	CU_ASSERT_FATAL(read(fd, buf, st.st_size) == st.st_size);
	close(fd);
	CU_ASSERT_FATAL(mkdir(tmp, 0700) == 0);
	saved = tstore_tmpdir_set(tmp);

	for (i = 0; i < 2; i++) {
		const char	*why = i == 0 ? "truncated" : "empty";

		tstore_frame_snapshot(bad, buf, i == 0 ? st.st_size / 2 : 0);
		T_RC(store_restore(bad, tgt, &cause), STORE_ECORRUPT);
		CU_ASSERT(cause != NULL && strstr(cause, why) != NULL &&
		    strncmp(cause, bad, strlen(bad)) == 0);
		if (cause != NULL && strstr(cause, why) == NULL)
			fprintf(stderr, "\nrestore: %s\n", cause);
		free(cause);
		cause = NULL;
		CU_ASSERT_EQUAL(access(tgt, F_OK), -1);
		CU_ASSERT_FALSE(t_leftovers("target"));

		T_RC(store_verify_path(bad, NULL, &rep, &cause),
		    STORE_ECORRUPT);
		CU_ASSERT_EQUAL(rep.errors, 0);
		CU_ASSERT(cause != NULL && strstr(cause, why) != NULL &&
		    strncmp(cause, bad, strlen(bad)) == 0);
		if (cause != NULL && strstr(cause, why) == NULL)
			fprintf(stderr, "\nverify: %s\n", cause);
		free(cause);
		cause = NULL;
		CU_ASSERT_TRUE(t_dir_empty(tmp));
	}

	/* The same framing around the whole file restores. */
	tstore_frame_snapshot(bad, buf, st.st_size);
	T_RC(store_restore(bad, tgt, &cause), 0);
	free(cause);
	s = t_open(tgt, NULL);
	t_check_bulk(s, "d", 2000, 1000);
	store_close(s);

	tstore_tmpdir_restore(saved);
	free(buf);
	free(tmp);
	free(tgt);
	free(bad);
	free(data);
	free(dir);
}

/* Restore refuses a non-empty target and damaged or truncated snapshots. */
static void
test_snapshot_restore_refuses(void)
{
	struct store_verify_report	 rep;
	struct store			*s;
	struct stat			 st;
	char				*dir, *snap, *bad, *full, *f, *tgt;
	char				*cause = NULL;
	uint64_t			 stored;
	int				 rc;

	dir = t_path("store");
	snap = t_path("snap.lws");
	bad = t_path("bad.lws");
	full = t_path("full");
	tgt = t_path("target");
	s = t_open(dir, NULL);
	CU_ASSERT_EQUAL(t_bulk(s, "r", 1, 500, 300, 50, &stored), 0);
	t_snapshot(s, snap);
	store_close(s);
	CU_ASSERT_FATAL(stat(snap, &st) == 0);

	/* A non-empty directory is left alone. */
	CU_ASSERT_FATAL(mkdir(full, 0755) == 0);
	f = t_path("full/keep");
	close(open(f, O_WRONLY | O_CREAT, 0644));
	rc = store_restore(snap, full, &cause);
	CU_ASSERT_EQUAL(rc, STORE_EEXIST);
	CU_ASSERT_PTR_NOT_NULL(cause);
	free(cause);
	cause = NULL;
	CU_ASSERT_EQUAL(access(f, F_OK), 0);
	free(f);
	f = t_path("full/data.mdb");
	CU_ASSERT_EQUAL(access(f, F_OK), -1);
	free(f);

	/* Truncated in the middle, truncated trailer, one flipped byte. */
	t_copy_file(snap, bad, st.st_size / 2, -1);
	rc = store_restore(bad, tgt, &cause);
	CU_ASSERT_EQUAL(rc, STORE_ECORRUPT);
	CU_ASSERT_PTR_NOT_NULL(cause);
	free(cause);
	cause = NULL;
	CU_ASSERT_EQUAL(access(tgt, F_OK), -1);
	CU_ASSERT_FALSE(t_leftovers("target.restore-"));

	t_copy_file(snap, bad, st.st_size - 5, -1);
	CU_ASSERT_EQUAL(store_restore(bad, tgt, &cause), STORE_ECORRUPT);
	free(cause);
	cause = NULL;
	CU_ASSERT_EQUAL(access(tgt, F_OK), -1);

	t_copy_file(snap, bad, -1, st.st_size / 2);
	CU_ASSERT_EQUAL(store_restore(bad, tgt, &cause), STORE_ECORRUPT);
	CU_ASSERT_PTR_NOT_NULL(cause);
	free(cause);
	cause = NULL;
	CU_ASSERT_EQUAL(access(tgt, F_OK), -1);
	CU_ASSERT_FALSE(t_leftovers("target.restore-"));
	CU_ASSERT_EQUAL(store_verify_path(bad, NULL, &rep, &cause),
	    STORE_ECORRUPT);
	free(cause);
	cause = NULL;

	/* A flipped byte in the trailer's checksum. */
	t_copy_file(snap, bad, -1, st.st_size - 3);
	CU_ASSERT_EQUAL(store_restore(bad, tgt, &cause), STORE_ECORRUPT);
	free(cause);
	cause = NULL;
	CU_ASSERT_EQUAL(access(tgt, F_OK), -1);

	/* Not a snapshot at all. */
	CU_ASSERT_EQUAL(store_restore(dir, tgt, &cause), STORE_EINVAL);
	free(cause);
	cause = NULL;
	f = t_path("store/data.mdb");
	CU_ASSERT_EQUAL(store_verify_path(f, NULL, &rep, &cause),
	    STORE_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(cause);
	free(cause);
	cause = NULL;
	free(f);
	CU_ASSERT_EQUAL(access(tgt, F_OK), -1);

	/* The good snapshot restores into an existing empty directory. */
	CU_ASSERT_FATAL(mkdir(tgt, 0755) == 0);
	f = t_path("target/");	/* a trailing slash is the same directory */
	T_RC(store_restore(snap, f, &cause), 0);
	free(f);
	CU_ASSERT_PTR_NULL(cause);
	s = t_open(tgt, NULL);
	t_check_bulk(s, "r", 500, 300);
	store_close(s);
	CU_ASSERT_FALSE(t_leftovers("target.restore-"));

	free(tgt);
	free(full);
	free(bad);
	free(snap);
	free(dir);
}


/* ------------------------------------------------------------------ */
/* suite "cidx": the global log and its lazily written channel index */

/* Open the raw LMDB environment of a closed store (tests only). */
static MDB_env *
t_lmdb_open(const char *dir)
{
	MDB_env	*env;

	CU_ASSERT_FATAL(mdb_env_create(&env) == 0);
	mdb_env_set_maxdbs(env, 8);
	mdb_env_set_mapsize(env, 1024ULL * T_MIB);
	CU_ASSERT_FATAL(mdb_env_open(env, dir, 0, 0644) == 0);
	return (env);
}

/* Read a big-endian u64. */
static uint64_t
t_be64(const void *p)
{
	const unsigned char	*b = p;
	uint64_t		 v = 0;
	int			 i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | b[i];
	return (v);
}

/* Write a big-endian u64. */
static void
t_be64enc(void *p, uint64_t v)
{
	unsigned char	*b = p;
	int		 i;

	for (i = 7; i >= 0; i--) {
		b[i] = v & 0xff;
		v >>= 8;
	}
}

/* Meta "indexed_upto" and the number of index blocks of a closed store. */
static void
t_index_state(const char *dir, uint64_t *upto, uint64_t *blocks)
{
	MDB_env		*env;
	MDB_txn		*txn;
	MDB_dbi		 meta, cidx;
	MDB_stat	 st;
	MDB_val		 k, v;

	env = t_lmdb_open(dir);
	CU_ASSERT_FATAL(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0);
	CU_ASSERT_FATAL(mdb_dbi_open(txn, "meta", 0, &meta) == 0);
	CU_ASSERT_FATAL(mdb_dbi_open(txn, "cidx", 0, &cidx) == 0);
	k.mv_data = "indexed_upto";
	k.mv_size = 12;
	*upto = 0;
	if (mdb_get(txn, meta, &k, &v) == 0 && v.mv_size == 8)
		*upto = t_be64(v.mv_data);
	CU_ASSERT_FATAL(mdb_stat(txn, cidx, &st) == 0);
	*blocks = st.ms_entries;
	mdb_txn_abort(txn);
	mdb_env_close(env);
}

/* The data of message serial of channel number c. */
static void
t_cdata(char *buf, size_t len, size_t c, uint64_t serial)
{
	snprintf(buf, len, "{\"c\":%zu,\"s\":%" PRIu64 "}", c, serial);
}

/* Channel name of number c. */
static void
t_cname(char *buf, size_t len, size_t c)
{
	snprintf(buf, len, "ch-%05zu", c);
}

/*
 * Append `rounds` batches, each one message to every channel from c0 to
 * c0 + nchan - 1; next[c] is the next serial of channel c.
 */
static void
t_spread(struct store *s, size_t c0, size_t nchan, size_t rounds,
    uint64_t *next)
{
	struct store_msg	*m;
	char			(*names)[16], (*data)[48];
	size_t			 i, r;
	int			 rc;

	m = calloc(nchan, sizeof *m);
	names = calloc(nchan, sizeof *names);
	data = calloc(nchan, sizeof *data);
	CU_ASSERT_FATAL(m != NULL && names != NULL && data != NULL);
	for (r = 0; r < rounds; r++) {
		for (i = 0; i < nchan; i++) {
			t_cname(names[i], sizeof names[i], c0 + i);
			t_cdata(data[i], sizeof data[i], c0 + i, next[c0 + i]);
			t_msg(&m[i], names[i], NULL, data[i]);
		}
		rc = store_append(s, m, nchan, 0);
		CU_ASSERT_EQUAL_FATAL(rc, 0);
		for (i = 0; i < nchan; i++) {
			if (m[i].serial != next[c0 + i])
				CU_FAIL("unexpected serial");
			next[c0 + i]++;
		}
	}
	free(data);
	free(names);
	free(m);
}

/*
 * Check channels 0..nchan-1 hold serials first[c]..next[c]-1 with their
 * data, read forward in chunks of `chunk` and backward in one go.
 */
static void
t_check_spread(struct store *s, size_t nchan, const uint64_t *first,
    const uint64_t *next, size_t chunk)
{
	struct store_reader	*r;
	struct store_chan	 ch;
	struct tcoll		 c = { 0 };
	char			 name[16], want[48];
	uint64_t		 from, lo;
	size_t			 k, i, bad = 0;
	int			 rc;

	r = store_reader_open(s);
	for (k = 0; k < nchan && bad < 10; k++) {
		t_cname(name, sizeof name, k);
		lo = first != NULL ? first[k] : 1;
		CU_ASSERT_EQUAL_FATAL(store_chan_get(r, name, strlen(name),
		    &ch), 0);
		CU_ASSERT_EQUAL(ch.head, next[k] - 1);
		CU_ASSERT_EQUAL(ch.first, lo);
		CU_ASSERT_EQUAL(ch.count, next[k] - lo);
		for (from = lo; from < next[k]; from += chunk) {
			rc = store_read(r, ch.id, from, UINT64_MAX, 0, chunk,
			    0, t_collect_cb, &c);
			if (rc < 0) {
				fprintf(stderr, "read %s from %" PRIu64 ": %s\n",
				    name, from, store_strerror(rc));
				bad++;
				break;
			}
		}
		CU_ASSERT_EQUAL(c.n, next[k] - lo);
		for (i = 0; i < c.n; i++) {
			t_cdata(want, sizeof want, k, lo + i);
			if (c.v[i].serial != lo + i ||
			    strcmp(c.v[i].data, want) != 0) {
				CU_FAIL("wrong record read forward");
				bad++;
				break;
			}
		}
		t_coll_free(&c);
		rc = store_read(r, ch.id, lo, next[k] - 1, 1, 0, 0,
		    t_collect_cb, &c);
		CU_ASSERT_EQUAL(rc, (int)(next[k] - lo));
		for (i = 0; i < c.n; i++) {
			if (c.v[i].serial != next[k] - 1 - i) {
				CU_FAIL("wrong record read backward");
				bad++;
				break;
			}
		}
		t_coll_free(&c);
	}
	store_reader_close(r);
}

/* t_check_spread(), then check that the whole store verifies. */
static void
t_check_verify(struct store *s, size_t nchan, const uint64_t *first,
    const uint64_t *next, size_t chunk)
{
	t_check_spread(s, nchan, first, next, chunk);
	CU_ASSERT_EQUAL(store_verify(s, stderr, NULL), 0);
}

/* Open dir with cfg (NULL: defaults), t_check_verify() it, close it. */
static void
t_reopen_check(const char *dir, const struct store_config *cfg,
    size_t nchan, const uint64_t *first, const uint64_t *next, size_t chunk)
{
	struct store	*s;

	s = t_open(dir, cfg);
	t_check_verify(s, nchan, first, next, chunk);
	store_close(s);
}

/*
 * A child appends past the flush threshold across many channels and dies
 * without closing: the flushed part is in the index, the rest is rebuilt
 * from the global log at open, and everything reads back.
 */
static void
test_cidx_flush_many_crash(void)
{
	struct store_config	 cfg;
	struct store		*s;
	uint64_t		*next, upto, blocks;
	char			*dir;
	size_t			 nchan = 1000, rounds = 70, k;
	pid_t			 pid;
	int			 status;

	dir = t_path("store");
	next = calloc(nchan, sizeof *next);
	for (k = 0; k < nchan; k++)
		next[k] = 1;
	fflush(NULL);
	pid = fork();
	CU_ASSERT_FATAL(pid != -1);
	if (pid == 0) {
		store_config_default(&cfg);
		cfg.sync = STORE_SYNC_NONE;
		if (store_open(dir, &cfg, &s, NULL) != 0)
			_exit(2);
		t_spread(s, 0, nchan, rounds, next);
		/* Die without store_close (no final flush), like a crash. */
		raise(SIGKILL);
		_exit(3);
	}
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	for (k = 0; k < nchan; k++)
		next[k] = rounds + 1;

	/*
	 * 70000 entries passed the count threshold, so at least one flush
	 * happened (more by age when the child is slow, e.g. under
	 * valgrind); normally the last 4000 or so were still pending.
	 */
	t_index_state(dir, &upto, &blocks);
	CU_ASSERT(upto > 0 && upto <= nchan * rounds);
	CU_ASSERT(blocks >= nchan);

	s = t_open(dir, NULL);
	t_check_verify(s, nchan, NULL, next, 16);
	/* Appends continue after the rebuilt pending entries. */
	t_spread(s, 0, nchan, 2, next);
	t_check_spread(s, nchan, NULL, next, 1000);
	store_close(s);

	/* Close flushed everything. */
	t_index_state(dir, &upto, &blocks);
	CU_ASSERT_EQUAL(upto, nchan * (rounds + 2));
	t_reopen_check(dir, NULL, nchan, NULL, next, 7);
	free(next);
	free(dir);
}

/*
 * kill -9 between flushes: nothing was ever flushed, every acknowledged
 * message comes back from the global log alone.
 */
static void
test_cidx_kill_before_flush(void)
{
	struct store_config	 cfg;
	struct store		*s;
	uint64_t		 next[50], upto, blocks;
	char			*dir, c = 'x';
	size_t			 k;
	pid_t			 pid;
	int			 p[2], status;

	dir = t_path("store");
	for (k = 0; k < 50; k++)
		next[k] = 1;
	CU_ASSERT_FATAL(pipe(p) == 0);
	fflush(NULL);
	pid = fork();
	CU_ASSERT_FATAL(pid != -1);
	if (pid == 0) {
		close(p[0]);
		store_config_default(&cfg);
		cfg.sync = STORE_SYNC_ALWAYS;
		if (store_open(dir, &cfg, &s, NULL) != 0)
			_exit(2);
		t_spread(s, 0, 50, 20, next);
		t_spread(s, 7, 1, 100, next);
		if (write(p[1], &c, 1) != 1)
			_exit(3);
		for (;;)
			pause();
	}
	close(p[1]);
	CU_ASSERT_EQUAL(read(p[0], &c, 1), 1);
	close(p[0]);
	kill(pid, SIGKILL);
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT(WIFSIGNALED(status));
	for (k = 0; k < 50; k++)
		next[k] = 21;
	next[7] = 121;

	t_index_state(dir, &upto, &blocks);
	CU_ASSERT_EQUAL(upto, 0);
	CU_ASSERT_EQUAL(blocks, 0);
	t_reopen_check(dir, NULL, 50, NULL, next, 3);
	free(dir);
}

/*
 * Reads, single gets, time lookups and trims across the boundary between
 * flushed blocks and pending entries.
 */
static void
test_cidx_boundary(void)
{
	struct store_retention	 ret = { 0, 0, 0 };
	struct store_reader	*r;
	struct store		*s;
	struct store_chan	 ch;
	struct tcoll		 c = { 0 };
	uint64_t		 next[3] = { 1, 1, 1 }, first[3] = { 1, 1, 1 };
	uint64_t		 removed, serial, upto, blocks;
	char			*dir;
	size_t			 i;

	dir = t_path("store");
	s = t_open(dir, NULL);
	t_spread(s, 0, 3, 10, next);	/* interleaved: 1..10 each */
	t_spread(s, 1, 1, 90, next);	/* ch 1 alone: 11..100 */
	store_close(s);			/* flush: 1..100 in blocks */
	t_index_state(dir, &upto, &blocks);
	CU_ASSERT_EQUAL(upto, 120);
	CU_ASSERT_EQUAL(blocks, 3);

	s = t_open(dir, NULL);
	t_spread(s, 1, 1, 50, next);	/* 101..150 pending */
	t_spread(s, 0, 3, 5, next);
	t_check_spread(s, 3, NULL, next, 9);
	ch = t_chan(s, "ch-00001");
	CU_ASSERT_EQUAL(ch.head, 155);
	r = store_reader_open(s);
	/* Forward and backward over the boundary 100 | 101. */
	CU_ASSERT_EQUAL(store_read(r, ch.id, 95, 105, 0, 0, 0, t_collect_cb,
	    &c), 11);
	CU_ASSERT_EQUAL(store_read(r, ch.id, 105, 95, 0, 0, 0, t_collect_cb,
	    &c), 0);
	CU_ASSERT_EQUAL(store_read(r, ch.id, 95, 105, 1, 0, 0, t_collect_cb,
	    &c), 11);
	CU_ASSERT_EQUAL(c.n, 22);
	for (i = 0; i < 11 && c.n == 22; i++) {
		CU_ASSERT_EQUAL(c.v[i].serial, 95 + i);
		CU_ASSERT_EQUAL(c.v[11 + i].serial, 105 - i);
	}
	t_coll_free(&c);
	CU_ASSERT_EQUAL(store_get(r, ch.id, 100, t_collect_cb, &c), 0);
	CU_ASSERT_EQUAL(store_get(r, ch.id, 101, t_collect_cb, &c), 0);
	CU_ASSERT_EQUAL(store_get(r, ch.id, 156, t_collect_cb, &c),
	    STORE_ENOTFOUND);
	CU_ASSERT_EQUAL(c.n, 2);
	if (c.n == 2) {
		CU_ASSERT_STRING_EQUAL(c.v[0].data, "{\"c\":1,\"s\":100}");
		CU_ASSERT_STRING_EQUAL(c.v[1].data, "{\"c\":1,\"s\":101}");
	}
	t_coll_free(&c);
	CU_ASSERT_EQUAL(store_find_time(r, ch.id, 0, &serial), 0);
	CU_ASSERT_EQUAL(serial, 1);
	CU_ASSERT_EQUAL(store_find_time(r, ch.id, UINT64_MAX, &serial), 0);
	CU_ASSERT_EQUAL(serial, 156);
	store_reader_close(r);

	/* Trim inside the first block, then across the boundary. */
	ret.max_count = 150;
	CU_ASSERT_EQUAL(store_trim(s, "ch-00001", 8, &ret, 0, 1000,
	    &removed), 0);
	CU_ASSERT_EQUAL(removed, 5);
	first[1] = 6;
	t_check_verify(s, 3, first, next, 4);
	ret.max_count = 30;
	CU_ASSERT_EQUAL(store_trim(s, "ch-00001", 8, &ret, 0, 1000,
	    &removed), 0);
	CU_ASSERT_EQUAL(removed, 120);
	first[1] = 126;
	t_check_verify(s, 3, first, next, 4);
	store_close(s);			/* flush skips trimmed serials */

	s = t_open(dir, NULL);
	t_check_verify(s, 3, first, next, 5);
	/* Trim everything of channel 0, then write again. */
	ret.max_count = 0;
	ret.max_age_ms = 1;
	CU_ASSERT_EQUAL(store_trim(s, "ch-00000", 8, &ret, UINT64_MAX / 2,
	    1000, &removed), 0);
	CU_ASSERT_EQUAL(removed, 15);
	first[0] = 16;
	t_spread(s, 0, 3, 2, next);
	t_check_verify(s, 3, first, next, 5);
	store_close(s);
	t_reopen_check(dir, NULL, 3, first, next, 5);
	free(dir);
}

/*
 * Verify catches an index entry that points at another channel's record,
 * and a read of that serial fails with STORE_ECORRUPT instead of passing
 * the wrong message.
 */
static void
test_cidx_verify_bad_entry(void)
{
	struct store_reader	*r;
	struct store		*s;
	struct store_chan	 a, b;
	struct tcoll		 c = { 0 };
	uint64_t		 next[2] = { 1, 1 };
	unsigned char		 key[16], *blk;
	MDB_env			*env;
	MDB_txn			*txn;
	MDB_dbi			 cidx;
	MDB_val			 k, v, bv;
	char			*dir, *out = NULL;
	size_t			 outlen = 0;
	FILE			*f;

	dir = t_path("store");
	s = t_open(dir, NULL);
	t_spread(s, 0, 2, 10, next);
	a = t_chan(s, "ch-00000");
	b = t_chan(s, "ch-00001");
	store_close(s);

	/* Point channel a's serial 3 at channel b's record of serial 3. */
	env = t_lmdb_open(dir);
	CU_ASSERT_FATAL(mdb_txn_begin(env, NULL, 0, &txn) == 0);
	CU_ASSERT_FATAL(mdb_dbi_open(txn, "cidx", 0, &cidx) == 0);
	t_be64enc(key, b.id);
	t_be64enc(key + 8, 1);
	k.mv_data = key;
	k.mv_size = sizeof key;
	CU_ASSERT_FATAL(mdb_get(txn, cidx, &k, &bv) == 0);
	CU_ASSERT_FATAL(bv.mv_size == 80);
	t_be64enc(key, a.id);
	CU_ASSERT_FATAL(mdb_get(txn, cidx, &k, &v) == 0);
	CU_ASSERT_FATAL(v.mv_size == 80);
	blk = malloc(v.mv_size);
	memcpy(blk, v.mv_data, v.mv_size);
	memcpy(blk + 16, (unsigned char *)bv.mv_data + 16, 8);
	v.mv_data = blk;
	CU_ASSERT_FATAL(mdb_put(txn, cidx, &k, &v, 0) == 0);
	CU_ASSERT_FATAL(mdb_txn_commit(txn) == 0);
	mdb_env_close(env);
	free(blk);

	s = t_open(dir, NULL);
	r = store_reader_open(s);
	CU_ASSERT_EQUAL(store_get(r, a.id, 3, t_collect_cb, &c),
	    STORE_ECORRUPT);
	CU_ASSERT_EQUAL(c.n, 0);
	CU_ASSERT_EQUAL(store_read(r, a.id, 1, 10, 0, 0, 0, t_collect_cb,
	    &c), STORE_ECORRUPT);
	CU_ASSERT_EQUAL(c.n, 2);
	t_coll_free(&c);
	CU_ASSERT_EQUAL(store_get(r, b.id, 3, t_collect_cb, &c), 0);
	t_coll_free(&c);
	store_reader_close(r);
	f = open_memstream(&out, &outlen);
	CU_ASSERT_EQUAL(store_verify(s, f, NULL), STORE_ECORRUPT);
	fclose(f);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "serial 3: the index points at"));
	free(out);
	store_close(s);
	free(dir);
}

/* A store of another format version is refused with a clear cause. */
static void
test_cidx_old_version(void)
{
	struct store_config	 cfg;
	struct store		*s = NULL;
	unsigned char		 ver[4] = { 0, 0, 0, 1 };
	MDB_env			*env;
	MDB_txn			*txn;
	MDB_dbi			 meta;
	MDB_val			 k, v;
	char			*dir, *cause = NULL;

	dir = t_path("store");
	s = t_open(dir, NULL);
	t_append1(s, "a", NULL, "1", 0);
	store_close(s);
	env = t_lmdb_open(dir);
	CU_ASSERT_FATAL(mdb_txn_begin(env, NULL, 0, &txn) == 0);
	CU_ASSERT_FATAL(mdb_dbi_open(txn, "meta", 0, &meta) == 0);
	k.mv_data = "version";
	k.mv_size = 7;
	v.mv_data = ver;
	v.mv_size = sizeof ver;
	CU_ASSERT_FATAL(mdb_put(txn, meta, &k, &v, 0) == 0);
	CU_ASSERT_FATAL(mdb_txn_commit(txn) == 0);
	mdb_env_close(env);

	s = NULL;
	T_RC(store_open(dir, NULL, &s, &cause), STORE_EINVAL);
	CU_ASSERT_PTR_NULL(s);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "format version 1"));
	free(cause);
	cause = NULL;
	store_config_default(&cfg);
	cfg.readonly = 1;
	T_RC(store_open(dir, &cfg, &s, &cause), STORE_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(cause);
	free(cause);
	free(dir);
}

/*
 * Many-channel batches interleaved with single-channel ones, through
 * several flushes, with a reader thread checking meanwhile.
 */
struct tmixed {
	struct store	*s;
	volatile int	 stop;
	uint64_t	 reads;
	int		 error;
};

/* Read the hot channel and a spread one over and over, checking. */
static void *
t_mixed_reader(void *arg)
{
	struct tmixed		*t = arg;
	struct store_reader	*r;
	struct store_chan	 ch;
	struct tcoll		 c = { 0 };
	const char		*names[2] = { "ch-00000", "ch-00100" };
	size_t			 i, k;
	int			 rc;

	r = store_reader_open(t->s);
	while (!t->stop && t->error == 0) {
		for (k = 0; k < 2; k++) {
			if (store_chan_get(r, names[k], 8, &ch) != 0)
				continue;
			rc = store_read(r, ch.id, ch.head > 300 ?
			    ch.head - 300 : 1, ch.head, 0, 0, 0, t_collect_cb,
			    &c);
			if (rc < 0) {
				fprintf(stderr, "mixed reader: %s\n",
				    store_strerror(rc));
				t->error = rc;
			}
			for (i = 1; i < c.n; i++)
				if (c.v[i].serial != c.v[i - 1].serial + 1)
					t->error = -1;
			if (c.n != 0 && c.v[c.n - 1].serial < ch.head)
				t->error = -2;
			t_coll_free(&c);
			t->reads++;
		}
	}
	store_reader_close(r);
	return (NULL);
}

/* Mixed batches, through flushes, with a concurrent reader. */
static void
test_cidx_mixed(void)
{
	struct store_config	 cfg;
	struct tmixed		 t;
	struct store		*s;
	pthread_t		 thread;
	uint64_t		*next, upto, blocks;
	char			*dir;
	size_t			 nchan = 300, k, round;

	dir = t_path("store");
	next = calloc(nchan, sizeof *next);
	for (k = 0; k < nchan; k++)
		next[k] = 1;
	store_config_default(&cfg);
	cfg.sync = STORE_SYNC_NONE;
	s = t_open(dir, &cfg);
	memset(&t, 0, sizeof t);
	t.s = s;
	CU_ASSERT_FATAL(pthread_create(&thread, NULL, t_mixed_reader,
	    &t) == 0);
	for (round = 0; round < 50; round++) {
		t_spread(s, 0, nchan, 4, next);	/* 1200 over 300 */
		t_spread(s, 0, 1, 1000, next);	/* 1000 on channel 0 ... */
		t_spread(s, 100, 1, 500, next);	/* ... 500 on 100 */
	}
	t.stop = 1;
	pthread_join(thread, NULL);
	CU_ASSERT_EQUAL(t.error, 0);
	CU_ASSERT(t.reads > 0);
	t_check_verify(s, nchan, NULL, next, 333);
	store_close(s);
	t_index_state(dir, &upto, &blocks);
	CU_ASSERT_EQUAL(upto, 50 * (1200 + 1000 + 500));
	t_reopen_check(dir, &cfg, nchan, NULL, next, 1000);
	free(next);
	free(dir);
}

/* ------------------------------------------------------------------ */

static const struct cu_stest t_tests[] = {
	{ "store", "name_valid", test_store_name_valid },
	{ "store", "strings", test_store_strings },
	{ "store", "open_sync", test_store_open_sync },
	{ "store", "open_bad", test_store_open_bad },
	{ "store", "one_writer", test_store_one_writer },
	{ "store", "open_truncated", test_store_open_truncated },
	{ "store", "stale_reader", test_store_stale_reader },
	{ "record", "roundtrip", test_record_roundtrip },
	{ "record", "compress", test_record_compress },
	{ "record", "incompressible", test_record_incompressible },
	{ "chanlog", "serials", test_chanlog_serials },
	{ "chanlog", "time_monotonic", test_chanlog_time_monotonic },
	{ "chanlog", "invalid", test_chanlog_invalid },
	{ "chanlog", "read_bounds", test_chanlog_read_bounds },
	{ "chanlog", "get", test_chanlog_get },
	{ "chanlog", "find_time", test_chanlog_find_time },
	{ "chanlog", "list", test_chanlog_list },
	{ "chanlog", "ensure", test_chanlog_ensure },
	{ "chanlog", "dedupe_window", test_chanlog_dedupe_window },
	{ "chanlog", "dedupe_batch", test_chanlog_dedupe_batch },
	{ "chanlog", "dedupe_sweep", test_chanlog_dedupe_sweep },
	{ "retention", "count", test_retention_count },
	{ "retention", "age", test_retention_age },
	{ "retention", "bytes", test_retention_bytes },
	{ "retention", "steps", test_retention_steps },
	{ "durability", "map_growth", test_durability_map_growth },
	{ "durability", "map_max", test_durability_map_max },
	{ "durability", "corrupt_record", test_durability_corrupt_record },
	{ "durability", "crash", test_durability_crash },
	{ "durability", "disk_full", test_durability_disk_full },
	{ "snapshot", "live", test_snapshot_live },
	{ "snapshot", "restore_refuses", test_snapshot_restore_refuses },
	{ "snapshot", "damaged_store", test_snapshot_damaged_store },
	{ "cidx", "flush_many_crash", test_cidx_flush_many_crash },
	{ "cidx", "kill_before_flush", test_cidx_kill_before_flush },
	{ "cidx", "boundary", test_cidx_boundary },
	{ "cidx", "verify_bad_entry", test_cidx_verify_bad_entry },
	{ "cidx", "old_version", test_cidx_old_version },
	{ "cidx", "mixed", test_cidx_mixed },
};

/* Run the tests (those matching LOGWIRE_TEST_FILTER) in fresh directories. */
int
main(void)
{
	struct cu_fixture	fx = { t_setup, t_teardown, NULL };

	setvbuf(stdout, NULL, _IOLBF, 0);
	fx.filter = getenv("LOGWIRE_TEST_FILTER");
	return (cu_run_suites(t_tests, nitems(t_tests), &fx));
}
