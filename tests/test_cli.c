/*
 * Tests of the logwire command line: the store commands (snapshot, restore,
 * verify) run as the real built binary against stores made and read back
 * with the storage API, and the dispatcher's handling of usage.
 */

#include "config.h"

#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <CUnit/Basic.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cu_run.h"
#include "storage.h"
#include "tstore.h"

#define MARKER		"MARKER-q7Zx3Kp"  /* flipped in data.mdb */
#define NCHANS		5		/* chan-0 .. chan-4 */
#define NMSGS		300		/* messages per channel */
#define RUN_TIMEOUT	120		/* seconds for one logwire run */

static char	 logwire_bin[4096];
static char	*tmproot;

/* What one run of logwire did. */
struct run {
	int	 status;	/* exit status, or 128 + signal */
	char	*out;		/* standard output */
	char	*err;		/* standard error */
};

/* Set by the concurrent writer, read by the test (shared memory). */
struct writer_state {
	uint64_t	committed;	/* last serial committed on "live" */
	int		stop;
};

/* Read a whole file into a NUL-terminated buffer; NULL if it cannot be. */
static char *
read_file(const char *path, size_t *lenp)
{
	struct stat	 sb;
	char		*buf;
	ssize_t		 n;
	size_t		 off = 0;
	int		 fd;

	if ((fd = open(path, O_RDONLY)) == -1)
		return (NULL);
	if (fstat(fd, &sb) == -1) {
		close(fd);
		return (NULL);
	}
	buf = malloc(sb.st_size + 1);
	while (buf != NULL && off < (size_t)sb.st_size) {
		if ((n = read(fd, buf + off, sb.st_size - off)) <= 0)
			break;
		off += n;
	}
	close(fd);
	if (buf == NULL)
		return (NULL);
	buf[off] = '\0';
	if (lenp != NULL)
		*lenp = off;
	return (buf);
}

/* Write len bytes to a new file; return 0 or -1. */
static int
write_file(const char *path, const char *buf, size_t len)
{
	int	fd, ret = 0;

	if ((fd = open(path, O_WRONLY|O_CREAT|O_TRUNC, 0644)) == -1)
		return (-1);
	if (write(fd, buf, len) != (ssize_t)len)
		ret = -1;
	if (close(fd) == -1)
		ret = -1;
	return (ret);
}

/* Return whether path exists. */
static int
exists(const char *path)
{
	struct stat	sb;

	return (lstat(path, &sb) == 0);
}

/* Return the sorted names in a directory, one per line (caller frees). */
static char *
list_dir(const char *path)
{
	struct dirent	**names;
	char		 *buf = NULL;
	size_t		  len = 0;
	FILE		 *f;
	int		  n, i;

	if ((n = scandir(path, &names, NULL, alphasort)) == -1)
		return (strdup("(cannot list)"));
	f = open_memstream(&buf, &len);
	for (i = 0; i < n; i++) {
		if (strcmp(names[i]->d_name, ".") != 0 &&
		    strcmp(names[i]->d_name, "..") != 0)
			fprintf(f, "%s\n", names[i]->d_name);
		free(names[i]);
	}
	free(names);
	fclose(f);
	return (buf);
}

/* Count the lines of a string. */
static int
count_lines(const char *s)
{
	int	n = 0;

	for (; *s != '\0'; s++) {
		if (*s == '\n')
			n++;
	}
	return (n);
}

/*
 * Run logwire with args (NULL-terminated), capturing its exit status,
 * standard output and standard error.  If fsize is not 0, the child may
 * not write files larger than that (RLIMIT_FSIZE).
 */
static void
run_args(struct run *r, rlim_t fsize, const char *const *args)
{
	struct rlimit	 rl;
	const char	*argv[32];
	char		*outp, *errp;
	pid_t		 pid;
	int		 argc = 0, status, fd;

	argv[argc++] = logwire_bin;
	while (argc < 31 && *args != NULL)
		argv[argc++] = *args++;
	argv[argc] = NULL;

	outp = cu_fmt("%s/run.out", tmproot);
	errp = cu_fmt("%s/run.err", tmproot);
	if ((pid = fork()) == -1)
		abort();
	if (pid == 0) {
		if ((fd = open(outp, O_WRONLY|O_CREAT|O_TRUNC, 0644)) == -1)
			_exit(126);
		dup2(fd, STDOUT_FILENO);
		close(fd);
		if ((fd = open(errp, O_WRONLY|O_CREAT|O_TRUNC, 0644)) == -1)
			_exit(126);
		dup2(fd, STDERR_FILENO);
		close(fd);
		if (fsize != 0) {
			rl.rlim_cur = rl.rlim_max = fsize;
			setrlimit(RLIMIT_FSIZE, &rl);
		}
		alarm(RUN_TIMEOUT);
		execv(logwire_bin, (char *const *)argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR)
			abort();
	}
	if (WIFEXITED(status))
		r->status = WEXITSTATUS(status);
	else
		r->status = 128 + WTERMSIG(status);
	if ((r->out = read_file(outp, NULL)) == NULL)
		r->out = strdup("");
	if ((r->err = read_file(errp, NULL)) == NULL)
		r->err = strdup("");
	unlink(outp);
	unlink(errp);
	free(outp);
	free(errp);
}

/* run_args() with the arguments given (NULL-terminated). */
static void
run_cli_limited(struct run *r, rlim_t fsize, ...)
{
	va_list		 ap;
	const char	*args[32];
	size_t		 n = 0;

	va_start(ap, fsize);
	while (n < 31 && (args[n] = va_arg(ap, const char *)) != NULL)
		n++;
	args[n] = NULL;
	va_end(ap);
	run_args(r, fsize, args);
}

#define run_cli(r, ...)	run_cli_limited((r), 0, __VA_ARGS__)

/* Print what a run did when a check on it failed. */
static void
run_show(const char *what, struct run *r)
{
	fprintf(stderr, "\n  %s: exit %d\n  stdout: %s\n  stderr: %s\n", what,
	    r->status, r->out, r->err);
}

/* Free the output of a run. */
static void
run_free(struct run *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

/* Check a run's exit status, showing its output if it is not as wanted. */
#define CHECK_RUN(r, st) do {						\
	CU_ASSERT_EQUAL((r)->status, (st));				\
	if ((r)->status != (st))					\
		run_show("unexpected exit status", (r));		\
} while (0)

/*
 * Check a run's exit status and, unless errlines is -1, the number of
 * lines on its stderr; then free it.
 */
static void
run_done(struct run *r, int status, int errlines)
{
	CHECK_RUN(r, status);
	if (errlines != -1)
		CU_ASSERT_EQUAL(count_lines(r->err), errlines);
	run_free(r);
}

/* Check a usage error: exit 2, one line on stderr, nothing on stdout. */
static void
check_usage(struct run *r)
{
	CHECK_RUN(r, 2);
	CU_ASSERT_EQUAL(count_lines(r->err), 1);
	CU_ASSERT_STRING_EQUAL(r->out, "");
	CU_ASSERT(strncmp(r->err, "logwire: ", 9) == 0);
}

/* Append the messages of a batch; fail the test if it does not go in. */
static void
append(struct store *st, struct store_msg *msgs, size_t n)
{
	size_t	i;
	int	error;

	error = store_append(st, msgs, n, 0);
	CU_ASSERT_EQUAL_FATAL(error, 0);
	for (i = 0; i < n; i++)
		CU_ASSERT_EQUAL_FATAL(msgs[i].error, 0);
}

/* Fill a message with a channel and data, no other fields. */
static void
msg_set(struct store_msg *m, const char *channel, const char *data)
{
	memset(m, 0, sizeof *m);
	m->channel = channel;
	m->channel_len = strlen(channel);
	m->data = data;
	m->data_len = strlen(data);
}

/*
 * Make a store in dir: NCHANS channels of NMSGS messages with ids, event
 * names and clients on some, a channel with a UTF-8 name, a compressible
 * large message, a base64 one, the marker message, and with filler, a
 * channel of incompressible 1 KB messages to make the store a few MB.
 */
static void
make_store(const char *dir, int filler)
{
	struct store_config	 cfg;
	struct store		*st;
	struct store_msg	 msgs[50];
	char			 names[NCHANS][16], data[50][64], ids[50][32];
	char			*cause = NULL, *big, *fill[50];
	uint64_t		 x = 88172645463325252ULL;
	int			 c, i, j, k;

	store_config_default(&cfg);
	cfg.sync = STORE_SYNC_NONE;
	if (store_open(dir, &cfg, &st, &cause) != 0) {
		fprintf(stderr, "store_open %s: %s\n", dir, cause);
		free(cause);
		CU_FAIL_FATAL("store_open");
	}
	for (c = 0; c < NCHANS; c++) {
		snprintf(names[c], sizeof names[c], "chan-%d", c);
		for (i = 0; i < NMSGS; i += 50) {
			for (j = 0; j < 50; j++) {
				snprintf(data[j], sizeof data[j],
				    "{\"c\":%d,\"i\":%d}", c, i + j);
				msg_set(&msgs[j], names[c], data[j]);
				if ((i + j) % 3 == 0) {
					snprintf(ids[j], sizeof ids[j],
					    "id-%d-%d", c, i + j);
					msgs[j].id = ids[j];
					msgs[j].id_len = strlen(ids[j]);
				}
				if ((i + j) % 5 == 0) {
					msgs[j].name = "evt";
					msgs[j].name_len = 3;
				}
				if ((i + j) % 7 == 0) {
					msgs[j].client = "alice";
					msgs[j].client_len = 5;
				}
			}
			append(st, msgs, 50);
		}
	}

	msg_set(&msgs[0], "chan-2", "\"" MARKER "\"");
	msg_set(&msgs[1], "caf\xc3\xa9/\xe2\x82\xac", "[1,2,3]");
	big = malloc(4099);
	big[0] = '"';
	for (i = 1; i < 4097; i++)
		big[i] = "logwire "[i % 8];
	big[4097] = '"';
	big[4098] = '\0';
	msg_set(&msgs[2], "big", big);
	msg_set(&msgs[3], "big", "\"aGVsbG8gd29ybGQ=\"");
	msgs[3].flags = STORE_MSG_BASE64;
	msg_set(&msgs[4], "chan-2", "{\"after\":\"marker\"}");
	append(st, msgs, 5);
	free(big);

	for (k = 0; filler && k < 40; k++) {
		for (j = 0; j < 50; j++) {
			fill[j] = malloc(1003);
			fill[j][0] = '"';
			for (i = 1; i < 1001; i++) {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				fill[j][i] = 'A' + x % 26;
			}
			fill[j][1001] = '"';
			fill[j][1002] = '\0';
			msg_set(&msgs[j], "filler", fill[j]);
		}
		append(st, msgs, 50);
		for (j = 0; j < 50; j++)
			free(fill[j]);
	}
	store_close(st);
}

/* State of a dump: where it goes. */
struct dump {
	FILE	*f;
	uint64_t last;
	uint64_t n;
};

/* Print one record of a dump. */
static int
dump_rec(const struct store_rec *rec, void *arg)
{
	struct dump	*d = arg;

	fprintf(d->f, "  %llu t=%llu id=%.*s name=%.*s client=%.*s flags=%u "
	    "data=%.*s\n", (unsigned long long)rec->serial,
	    (unsigned long long)rec->time, (int)rec->id_len, rec->id,
	    (int)rec->name_len, rec->name, (int)rec->client_len, rec->client,
	    rec->flags, (int)rec->data_len, rec->data);
	d->last = rec->serial;
	d->n++;
	return (0);
}

/* A list of channels, collected from store_chan_list. */
struct chans {
	struct store_chan	*v;
	size_t			 n;
};

/* Collect one channel. */
static int
collect_chan(const struct store_chan *chan, void *arg)
{
	struct chans	*cs = arg;

	cs->v = realloc(cs->v, (cs->n + 1) * sizeof *cs->v);
	cs->v[cs->n++] = *chan;
	return (0);
}

/* Collect every channel of an open store. */
static int
list_chans(struct store_reader *r, struct chans *cs)
{
	int	n;

	do {
		n = store_chan_list(r, "", 0, cs->n == 0 ? NULL :
		    cs->v[cs->n - 1].name, cs->n == 0 ? 0 :
		    cs->v[cs->n - 1].name_len, 100, collect_chan, cs);
	} while (n > 0);
	return (n);
}

/*
 * Dump every message of the store in dir as text, except those of channel
 * skip, to compare two stores; the epochs go to *epochs as "name=epoch"
 * lines.  Returns NULL if the store cannot be read.
 */
static char *
dump_store(const char *dir, const char *skip, char **epochs)
{
	struct store_config	 cfg;
	struct store		*st;
	struct store_reader	*r;
	struct chans		 cs = { NULL, 0 };
	struct dump		 d;
	char			*buf = NULL, *ebuf = NULL, *cause = NULL;
	size_t			 len, elen, i;
	uint64_t		 from;
	FILE			*ef;
	int			 n, ok = 1;

	store_config_default(&cfg);
	cfg.readonly = 1;
	if (store_open(dir, &cfg, &st, &cause) != 0) {
		fprintf(stderr, "store_open %s: %s\n", dir, cause);
		free(cause);
		return (NULL);
	}
	r = store_reader_open(st);
	d.f = open_memstream(&buf, &len);
	ef = open_memstream(&ebuf, &elen);
	if (list_chans(r, &cs) < 0)
		ok = 0;
	for (i = 0; ok && i < cs.n; i++) {
		if (skip != NULL && strcmp(cs.v[i].name, skip) == 0)
			continue;
		fprintf(ef, "%s=%s\n", cs.v[i].name, cs.v[i].epoch);
		fprintf(d.f, "chan %s first %llu head %llu count %llu\n",
		    cs.v[i].name, (unsigned long long)cs.v[i].first,
		    (unsigned long long)cs.v[i].head,
		    (unsigned long long)cs.v[i].count);
		d.n = 0;
		from = cs.v[i].first;
		while (from <= cs.v[i].head) {
			n = store_read(r, cs.v[i].id, from, cs.v[i].head, 0,
			    64, SIZE_MAX, dump_rec, &d);
			if (n <= 0) {
				ok = 0;
				break;
			}
			from = d.last + 1;
		}
		if (d.n != cs.v[i].count)
			ok = 0;
	}
	fclose(d.f);
	fclose(ef);
	store_reader_close(r);
	store_close(st);
	free(cs.v);
	if (!ok) {
		free(buf);
		free(ebuf);
		return (NULL);
	}
	if (epochs != NULL)
		*epochs = ebuf;
	else
		free(ebuf);
	return (buf);
}

/* Check that two epoch lists name the same channels, each with a new epoch. */
static void
check_new_epochs(const char *before, const char *after)
{
	const char	*b = before, *a = after, *be, *ae, *beq, *aeq;
	int		 n = 0;

	while (*b != '\0' && *a != '\0') {
		be = strchr(b, '\n');
		ae = strchr(a, '\n');
		beq = memchr(b, '=', be - b);
		aeq = memchr(a, '=', ae - a);
		CU_ASSERT_FATAL(beq != NULL && aeq != NULL);
		CU_ASSERT_EQUAL(beq - b, aeq - a);
		CU_ASSERT(memcmp(b, a, beq - b) == 0);
		CU_ASSERT_EQUAL(be - beq, 1 + STORE_EPOCH_LEN);
		CU_ASSERT_EQUAL(ae - aeq, 1 + STORE_EPOCH_LEN);
		CU_ASSERT(memcmp(beq, aeq, be - beq) != 0);
		b = be + 1;
		a = ae + 1;
		n++;
	}
	CU_ASSERT(*b == '\0' && *a == '\0');
	CU_ASSERT(n >= NCHANS);
}

/* Return the number of "<path>.tmp-*" files beside path. */
static int
count_tmp(const char *path)
{
	struct dirent	*de;
	DIR		*d;
	char		*copy, *dir, *base, *prefix;
	int		 n = 0;

	copy = strdup(path);
	dir = dirname(copy);
	base = strrchr(path, '/') != NULL ? strrchr(path, '/') + 1 :
	    (char *)path;
	prefix = cu_fmt("%s.tmp-", base);
	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
				n++;
		}
		closedir(d);
	}
	free(prefix);
	free(copy);
	return (n);
}

/* Make a fresh directory under the temporary root for one test. */
static char *
test_dir(const char *name)
{
	char	*dir;

	dir = cu_fmt("%s/%s", tmproot, name);
	CU_ASSERT_FATAL(mkdir(dir, 0700) == 0);
	return (dir);
}

/* Make a store and a snapshot of it under dir; return the snapshot path. */
static char *
make_snapshot(const char *dir, char **storep, int filler)
{
	struct run	 r;
	char		*store, *snap;

	store = cu_fmt("%s/store", dir);
	snap = cu_fmt("%s/store.snap", dir);
	make_store(store, filler);
	run_cli(&r, "snapshot", snap, "-d", store, NULL);
	run_done(&r, 0, -1);
	CU_ASSERT_FATAL(exists(snap));
	*storep = store;
	return (snap);
}

/* --help, help COMMAND, COMMAND --help and --version exit 0. */
static void
test_help(void)
{
	static const char *cmds[] = { "tail", "publish", "history",
	    "channels", "export", "snapshot", "restore", "verify", "token" };
	static const struct {
		const char	*args[3];
		const char	*want;
	} helps[] = {
		{ { "help", "restore", NULL }, "restore FILE DATADIR" },
		{ { "snapshot", "--help", NULL }, "snapshot FILE" },
		{ { "-h", "verify", NULL }, "verify DATADIR|FILE" },
		{ { "tail", "--help", NULL }, "tail CHANNEL" },
		{ { "--version", NULL }, "logwire " PACKAGE_VERSION },
	};
	struct run	 r;
	size_t		 i;

	run_cli(&r, "--help", NULL);
	CHECK_RUN(&r, 0);
	for (i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		if (strstr(r.out, cmds[i]) == NULL) {
			fprintf(stderr, "\n  --help does not list %s\n",
			    cmds[i]);
			CU_FAIL("--help lists every command");
		}
	}
	CU_ASSERT(strstr(r.out, "not available in this build yet") == NULL);
	run_free(&r);

	for (i = 0; i < nitems(helps); i++) {
		run_args(&r, 0, helps[i].args);
		CHECK_RUN(&r, 0);
		CU_ASSERT(strstr(r.out, helps[i].want) != NULL);
		run_free(&r);
	}
}

/*
 * Check that each bad usage, with paths under dir, exits 2 with a one-line
 * message (naming the culprit where it should).
 */
static void
check_usages(const char *dir, const char *snap, const char *nodir)
{
	const struct {
		const char	*args[8];
		const char	*err_has;	/* or NULL */
	} cases[] = {
		{ { NULL }, NULL },
		{ { "frobnicate", NULL }, "frobnicate" },
		{ { "snapshot", NULL }, NULL },
		{ { "restore", snap, NULL }, NULL },
		{ { "verify", NULL }, NULL },
		{ { "verify", dir, "extra", NULL }, "extra" },
		{ { "verify", "--bogus", dir, NULL }, "--bogus" },
		{ { "-Z", "verify", dir, NULL }, "-Z" },
		/* -d belongs to snapshot, not to verify. */
		{ { "verify", dir, "-d", dir, NULL }, NULL },
		{ { "snapshot", snap, "-d", NULL }, NULL },
		/* --from needs --epoch: a usage error before any connection. */
		{ { "-u", "http://127.0.0.1:1", "tail", "orders", "--from",
		    "5", NULL }, "--epoch" },
		{ { "-u", "ftp://x", "history", "orders", NULL }, NULL },
		/* More of token's usage in test_auth. */
		{ { "token", "--key", "k:0123456789abcdef", NULL },
		    "token: --sub is required" },
		{ { "--token", "t", "--key", "k:s", "verify", nodir, NULL },
		    NULL },
	};
	struct run	 r;
	size_t		 i;

	for (i = 0; i < nitems(cases); i++) {
		run_args(&r, 0, cases[i].args);
		check_usage(&r);
		if (cases[i].err_has != NULL)
			CU_ASSERT(strstr(r.err, cases[i].err_has) != NULL);
		run_free(&r);
	}
}

/* Bad usage exits 2 with a one-line message and touches nothing. */
static void
test_usage(void)
{
	char	*dir, *snap, *nodir;

	dir = test_dir("usage");
	snap = cu_fmt("%s/x.snap", dir);
	nodir = cu_fmt("%s/nodir", dir);
	check_usages(dir, snap, nodir);
	CU_ASSERT(!exists(nodir));
	free(nodir);
	free(snap);
	free(dir);
}

/*
 * snapshot, restore and verify round trip: the restored store holds the
 * same messages under new epochs, and everything verifies.
 */
static void
test_roundtrip(void)
{
	struct run	 r;
	char		*dir, *store, *snap, *dst, *empty, *d1, *d2, *e1, *e2;
	char		*e3;

	dir = test_dir("roundtrip");
	store = cu_fmt("%s/store", dir);
	snap = cu_fmt("%s/backup.snap", dir);
	dst = cu_fmt("%s/restored", dir);
	empty = cu_fmt("%s/empty", dir);
	make_store(store, 0);
	d1 = dump_store(store, NULL, &e1);
	CU_ASSERT_FATAL(d1 != NULL);

	/* Options before the command, as the contract allows. */
	run_cli(&r, "-d", store, "snapshot", snap, NULL);
	CHECK_RUN(&r, 0);
	CU_ASSERT(strstr(r.err, "bytes") != NULL);
	run_free(&r);
	CU_ASSERT(exists(snap));
	CU_ASSERT_EQUAL(count_tmp(snap), 0);

	run_cli(&r, "verify", snap, NULL);
	CHECK_RUN(&r, 0);
	CU_ASSERT(strstr(r.out, " 0 errors") != NULL);
	CU_ASSERT(strstr(r.out, "7 channels") != NULL);
	run_free(&r);

	run_cli(&r, "restore", snap, dst, NULL);
	run_done(&r, 0, -1);

	run_cli(&r, "verify", dst, "-u", "http://ignored", NULL);
	CHECK_RUN(&r, 0);
	CU_ASSERT(strstr(r.out, "7 channels") != NULL);
	CU_ASSERT(strstr(r.out, " 0 errors") != NULL);
	run_free(&r);

	d2 = dump_store(dst, NULL, &e2);
	CU_ASSERT_FATAL(d2 != NULL);
	CU_ASSERT_STRING_EQUAL(d1, d2);
	check_new_epochs(e1, e2);
	free(d2);
	free(e2);

	/* The source store is not changed by taking a snapshot. */
	d2 = dump_store(store, NULL, &e2);
	CU_ASSERT_FATAL(d2 != NULL);
	CU_ASSERT_STRING_EQUAL(d1, d2);
	CU_ASSERT_STRING_EQUAL(e1, e2);
	free(d2);
	free(e2);

	/* An existing empty directory is a valid target too. */
	CU_ASSERT_FATAL(mkdir(empty, 0700) == 0);
	run_cli(&r, "restore", empty, snap, NULL);	/* operands swapped */
	run_done(&r, 1, -1);
	CU_ASSERT_FATAL(exists(snap));
	run_cli(&r, "restore", snap, empty, NULL);
	run_done(&r, 0, -1);
	d2 = dump_store(empty, NULL, &e3);
	CU_ASSERT_FATAL(d2 != NULL);
	CU_ASSERT_STRING_EQUAL(d1, d2);
	check_new_epochs(e1, e3);
	free(d2);
	free(e3);

	free(d1);
	free(e1);
	free(empty);
	free(dst);
	free(snap);
	free(store);
	free(dir);
}

/* restore into a non-empty directory fails and leaves it as it was. */
static void
test_restore_nonempty(void)
{
	struct run	 r;
	char		*dir, *store, *snap, *target, *keep, *before, *after;
	char		*content, *d1, *d2;

	dir = test_dir("nonempty");
	snap = make_snapshot(dir, &store, 0);
	target = cu_fmt("%s/target", dir);
	keep = cu_fmt("%s/target/keep.txt", dir);
	CU_ASSERT_FATAL(mkdir(target, 0700) == 0);
	CU_ASSERT_FATAL(write_file(keep, "precious\n", 9) == 0);
	before = list_dir(dir);

	run_cli(&r, "restore", snap, target, NULL);
	run_done(&r, 1, 1);
	after = list_dir(target);
	CU_ASSERT_STRING_EQUAL(after, "keep.txt\n");
	free(after);
	content = read_file(keep, NULL);
	CU_ASSERT(content != NULL && strcmp(content, "precious\n") == 0);
	free(content);
	after = list_dir(dir);
	CU_ASSERT_STRING_EQUAL(before, after);
	free(after);

	/* Nor over an existing store. */
	d1 = dump_store(store, NULL, NULL);
	run_cli(&r, "restore", snap, store, NULL);
	run_done(&r, 1, 1);
	d2 = dump_store(store, NULL, NULL);
	CU_ASSERT(d1 != NULL && d2 != NULL && strcmp(d1, d2) == 0);
	after = list_dir(dir);
	CU_ASSERT_STRING_EQUAL(before, after);
	free(after);

	free(d1);
	free(d2);
	free(before);
	free(keep);
	free(target);
	free(snap);
	free(store);
	free(dir);
}

/* Check that restoring the damaged snapshot bad fails without a trace. */
static void
check_restore_refused(const char *dir, const char *bad, const char *what)
{
	struct run	 r;
	char		*target, *before, *after;

	target = cu_fmt("%s/target-%s", dir, what);
	before = list_dir(dir);
	run_cli(&r, "restore", bad, target, NULL);
	run_done(&r, 1, 1);
	CU_ASSERT(!exists(target));
	after = list_dir(dir);
	CU_ASSERT_STRING_EQUAL(before, after);
	if (strcmp(before, after) != 0)
		fprintf(stderr, "\n  %s: left behind:\n%s\n", what, after);
	free(after);
	free(before);

	run_cli(&r, "verify", bad, NULL);
	CHECK_RUN(&r, 1);
	CU_ASSERT(count_lines(r.err) >= 1);
	run_free(&r);
	free(target);
}

/* Write len bytes of buf as the snapshot dir/what.snap; check it refused. */
static void
check_written_refused(const char *dir, const char *what, const char *buf,
    size_t len)
{
	char	*bad;

	bad = cu_fmt("%s/%s.snap", dir, what);
	CU_ASSERT_FATAL(write_file(bad, buf, len) == 0);
	check_restore_refused(dir, bad, what);
	free(bad);
}

/*
 * restore refuses a snapshot with a flipped byte (at several places) or cut
 * short, and leaves no target directory and nothing beside it.
 */
static void
test_restore_damaged(void)
{
	static const double	 where[] = { 0.1, 0.5, 0.9 };
	char			*dir, *store, *snap, *buf, *what;
	size_t			 len, i, off;

	dir = test_dir("damaged");
	snap = make_snapshot(dir, &store, 1);
	buf = read_file(snap, &len);
	CU_ASSERT_FATAL(buf != NULL && len > 1000);

	for (i = 0; i < sizeof where / sizeof where[0]; i++) {
		what = cu_fmt("flip%zu", i);
		off = (size_t)(len * where[i]);
		buf[off] ^= 0x10;
		check_written_refused(dir, what, buf, len);
		buf[off] ^= 0x10;
		free(what);
	}

	/* The last byte: the trailer's checksum. */
	buf[len - 1] ^= 0x01;
	check_written_refused(dir, "fliplast", buf, len);
	buf[len - 1] ^= 0x01;

	check_written_refused(dir, "half", buf, len / 2);
	check_written_refused(dir, "short", buf, len - 8);
	check_written_refused(dir, "empty", buf, 0);

	free(buf);
	free(snap);
	free(store);
	free(dir);
}

/* verify finds a record whose byte was flipped on disk and says so. */
static void
test_verify_corrupt(void)
{
	struct run	 r;
	unsigned long long errors = 0;
	char		*dir, *store, *mdb, *buf, *p, *summary;
	size_t		 len, found = 0;

	dir = test_dir("corrupt");
	store = cu_fmt("%s/store", dir);
	mdb = cu_fmt("%s/data.mdb", store);
	make_store(store, 0);

	run_cli(&r, "verify", store, NULL);
	run_done(&r, 0, -1);

	/* Old copies of the page may linger in free pages: flip them all. */
	buf = read_file(mdb, &len);
	CU_ASSERT_FATAL(buf != NULL);
	p = buf;
	while ((p = memmem(p, len - (p - buf), MARKER, strlen(MARKER))) !=
	    NULL) {
		p[7] ^= 0x20;
		p += strlen(MARKER);
		found++;
	}
	CU_ASSERT_FATAL(found >= 1);
	CU_ASSERT_FATAL(write_file(mdb, buf, len) == 0);
	free(buf);

	run_cli(&r, "verify", store, NULL);
	CHECK_RUN(&r, 1);
	CU_ASSERT_EQUAL(count_lines(r.err), 1);
	CU_ASSERT(strstr(r.err, "errors found") != NULL);
	/* At least one problem line, then the summary. */
	CU_ASSERT(count_lines(r.out) >= 2);
	summary = strstr(r.out, store);
	while (summary != NULL && strstr(summary + 1, store) != NULL)
		summary = strstr(summary + 1, store);
	CU_ASSERT_FATAL(summary != NULL);
	CU_ASSERT(sscanf(summary + strlen(store), ": %*u channels, %*u "
	    "records, %llu errors", &errors) == 1);
	CU_ASSERT(errors >= 1);
	if (errors < 1 || count_lines(r.out) < 2)
		run_show("verify of a flipped record", &r);
	run_free(&r);

	/* A snapshot of it carries the damage, and verify sees it there. */
	free(mdb);
	mdb = cu_fmt("%s/corrupt.snap", dir);
	run_cli(&r, "snapshot", mdb, "-d", store, NULL);
	if (r.status == 0) {
		run_free(&r);
		run_cli(&r, "verify", mdb, NULL);
		CHECK_RUN(&r, 1);
	}
	run_free(&r);

	free(mdb);
	free(store);
	free(dir);
}

/*
 * Check a refusal of a damaged store: exit 1 (not a signal), one line on
 * stderr naming the problem, nothing on stdout (no summary claiming "0
 * errors").
 */
static void
check_damage_refused(struct run *r, const char *what, const char *why)
{
	CHECK_RUN(r, 1);
	CU_ASSERT_EQUAL(count_lines(r->err), 1);
	CU_ASSERT(strstr(r->err, why) != NULL);
	CU_ASSERT_STRING_EQUAL(r->out, "");
	if (r->status != 1 || strstr(r->err, why) == NULL || *r->out != '\0')
		run_show(what, r);
}

/*
 * A snapshot whose framing and checksum are good around a data.mdb cut to
 * half its size, or around an empty one, and a data directory whose
 * data.mdb is cut: restore, verify and snapshot -d refuse them with a
 * message (they died of SIGBUS), and leave nothing behind: no target, no
 * DIR.restore-* beside it, no temporary directory in $TMPDIR.
 */
static void
test_damaged_store(void)
{
	static const char *whys[] = { "truncated", "empty" };
	struct run	 r;
	char		*dir, *store, *mdb, *buf, *tmp, *snap, *target, *cut;
	char		*before, *after, *saved = NULL, *out, *cutmdb;
	size_t		 len, i;

	dir = test_dir("damstore");
	store = cu_fmt("%s/store", dir);
	mdb = cu_fmt("%s/data.mdb", store);
	tmp = cu_fmt("%s/tmp", dir);
	target = cu_fmt("%s/target", dir);
	make_store(store, 1);
	buf = read_file(mdb, &len);
	CU_ASSERT_FATAL(buf != NULL && len > 64 * 4096);
	CU_ASSERT_FATAL(mkdir(tmp, 0700) == 0);
	saved = tstore_tmpdir_set(tmp);

	for (i = 0; i < 2; i++) {
		snap = cu_fmt("%s/%s.snap", dir, whys[i]);
		tstore_frame_snapshot(snap, buf, i == 0 ? len / 2 : 0);
		before = list_dir(dir);

		run_cli(&r, "restore", snap, target, NULL);
		check_damage_refused(&r, "restore", whys[i]);
		CU_ASSERT(strstr(r.err, snap) != NULL);
		run_free(&r);
		CU_ASSERT(!exists(target));
		after = list_dir(dir);
		CU_ASSERT_STRING_EQUAL(before, after);
		free(after);
		after = list_dir(tmp);
		CU_ASSERT_STRING_EQUAL(after, "");
		free(after);

		run_cli(&r, "verify", snap, NULL);
		check_damage_refused(&r, "verify", whys[i]);
		CU_ASSERT(strstr(r.err, snap) != NULL);
		run_free(&r);
		after = list_dir(tmp);
		CU_ASSERT_STRING_EQUAL(after, "");
		free(after);
		free(before);
		free(snap);
	}

	/* A data directory with its data.mdb cut to half. */
	cut = cu_fmt("%s/cut", dir);
	cutmdb = cu_fmt("%s/data.mdb", cut);
	out = cu_fmt("%s/cut.snap", dir);
	CU_ASSERT_FATAL(mkdir(cut, 0700) == 0);
	CU_ASSERT_FATAL(write_file(cutmdb, buf, len / 2) == 0);
	run_cli(&r, "verify", cut, NULL);
	check_damage_refused(&r, "verify DIR", "truncated");
	run_free(&r);
	run_cli(&r, "snapshot", out, "-d", cut, NULL);
	check_damage_refused(&r, "snapshot -d", "truncated");
	run_free(&r);
	CU_ASSERT(!exists(out));
	CU_ASSERT_EQUAL(count_tmp(out), 0);
	after = list_dir(tmp);
	CU_ASSERT_STRING_EQUAL(after, "");
	free(after);

	tstore_tmpdir_restore(saved);
	free(out);
	free(cutmdb);
	free(cut);
	free(buf);
	free(target);
	free(tmp);
	free(mdb);
	free(store);
	free(dir);
}

/*
 * verify of a snapshot cut short says so, on stderr, exits 1, and prints
 * no summary: "0 channels, 0 records, 0 errors" read as a clean store.
 */
static void
test_verify_truncated_snapshot(void)
{
	struct run	 r;
	char		*dir, *store, *snap, *bad, *buf;
	size_t		 len;

	dir = test_dir("vtrunc");
	snap = make_snapshot(dir, &store, 0);
	bad = cu_fmt("%s/half.snap", dir);
	buf = read_file(snap, &len);
	CU_ASSERT_FATAL(buf != NULL && len > 100);
	CU_ASSERT_FATAL(write_file(bad, buf, len / 2) == 0);

	run_cli(&r, "verify", bad, NULL);
	check_damage_refused(&r, "verify of half a snapshot", "truncated");
	CU_ASSERT(strstr(r.err, bad) != NULL);
	CU_ASSERT(strstr(r.err, "0 errors") == NULL);
	run_free(&r);

	free(buf);
	free(bad);
	free(snap);
	free(store);
	free(dir);
}

/* Append to channel "live" until told to stop, publishing the head. */
static void __attribute__((__noreturn__))
writer_child(const char *store, volatile struct writer_state *ws)
{
	struct store_config	 cfg;
	struct store		*st;
	struct store_msg	 msgs[20];
	char			 data[20][32], *cause = NULL;
	uint64_t		 n = 0;
	int			 j;

	store_config_default(&cfg);
	cfg.sync = STORE_SYNC_NONE;
	if (store_open(store, &cfg, &st, &cause) != 0)
		_exit(3);
	while (!__atomic_load_n(&ws->stop, __ATOMIC_SEQ_CST) &&
	    n < 5000000) {
		for (j = 0; j < 20; j++) {
			snprintf(data[j], sizeof data[j], "{\"n\":%llu}",
			    (unsigned long long)(n + j + 1));
			msg_set(&msgs[j], "live", data[j]);
		}
		if (store_append(st, msgs, 20, 0) != 0)
			_exit(1);
		for (j = 0; j < 20; j++) {
			if (msgs[j].error != 0 || msgs[j].serial != n + j + 1)
				_exit(2);
		}
		n += 20;
		__atomic_store_n(&ws->committed, n, __ATOMIC_SEQ_CST);
	}
	store_close(st);
	_exit(0);
}

/* Check one record of "live": serials contiguous, data as written. */
static int
check_live_rec(const struct store_rec *rec, void *arg)
{
	uint64_t	*next = arg;
	char		 want[32];

	snprintf(want, sizeof want, "{\"n\":%llu}",
	    (unsigned long long)rec->serial);
	if (rec->serial != *next || rec->data_len != strlen(want) ||
	    memcmp(rec->data, want, rec->data_len) != 0)
		return (1);
	(*next)++;
	return (0);
}

/*
 * A snapshot taken while another process appends verifies, and holds every
 * message committed before it started, contiguous and intact.
 */
static void
test_snapshot_concurrent(void)
{
	volatile struct writer_state	*ws;
	struct store_config		 cfg;
	struct store			*st;
	struct store_reader		*rd;
	struct store_chan		 chan;
	struct run			 r;
	struct timespec			 pause = { 0, 2000000 };
	char				*dir, *store, *snap, *dst, *d1, *d2;
	char				*cause = NULL;
	uint64_t			 before, after, next = 1;
	pid_t				 pid;
	int				 status, i, n;

	dir = test_dir("concurrent");
	store = cu_fmt("%s/store", dir);
	snap = cu_fmt("%s/live.snap", dir);
	dst = cu_fmt("%s/restored", dir);
	make_store(store, 1);
	d1 = dump_store(store, NULL, NULL);
	CU_ASSERT_FATAL(d1 != NULL);

	ws = mmap(NULL, sizeof *ws, PROT_READ|PROT_WRITE,
	    MAP_SHARED|MAP_ANONYMOUS, -1, 0);
	CU_ASSERT_FATAL(ws != MAP_FAILED);
	ws->committed = 0;
	ws->stop = 0;
	fflush(NULL);
	if ((pid = fork()) == 0)
		writer_child(store, ws);
	CU_ASSERT_FATAL(pid != -1);
	for (i = 0; i < 5000 && __atomic_load_n(&ws->committed,
	    __ATOMIC_SEQ_CST) < 1000; i++)
		nanosleep(&pause, NULL);

	before = __atomic_load_n(&ws->committed, __ATOMIC_SEQ_CST);
	run_cli(&r, "snapshot", snap, "-d", store, NULL);
	after = __atomic_load_n(&ws->committed, __ATOMIC_SEQ_CST);
	__atomic_store_n(&ws->stop, 1, __ATOMIC_SEQ_CST);
	CHECK_RUN(&r, 0);
	run_free(&r);
	waitpid(pid, &status, 0);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CU_ASSERT(before >= 1000);
	/* The writer did go on while the snapshot ran. */
	CU_ASSERT(after > before);
	munmap((void *)ws, sizeof *ws);

	run_cli(&r, "verify", snap, NULL);
	run_done(&r, 0, -1);
	run_cli(&r, "restore", snap, dst, NULL);
	run_done(&r, 0, -1);

	/* The channels that were not written are as they were. */
	d2 = dump_store(dst, "live", NULL);
	CU_ASSERT(d2 != NULL && strcmp(d1, d2) == 0);
	free(d2);

	store_config_default(&cfg);
	cfg.readonly = 1;
	CU_ASSERT_FATAL(store_open(dst, &cfg, &st, &cause) == 0);
	rd = store_reader_open(st);
	CU_ASSERT_FATAL(store_chan_get(rd, "live", 4, &chan) == 0);
	CU_ASSERT(chan.first == 1);
	CU_ASSERT(chan.head >= before);
	CU_ASSERT(chan.count == chan.head);
	while (next <= chan.head) {
		n = store_read(rd, chan.id, next, chan.head, 0, 1000,
		    SIZE_MAX, check_live_rec, &next);
		if (n <= 0)
			break;
	}
	CU_ASSERT_EQUAL(next, chan.head + 1);
	if (next != chan.head + 1 || chan.head < before) {
		fprintf(stderr, "\n  live: committed before %llu, after %llu, "
		    "snapshot head %llu, checked up to %llu\n",
		    (unsigned long long)before, (unsigned long long)after,
		    (unsigned long long)chan.head, (unsigned long long)next);
	}
	store_reader_close(rd);
	store_close(st);

	free(d1);
	free(dst);
	free(snap);
	free(store);
	free(dir);
}

/*
 * A snapshot that fails, here by the file size limit, or of a store that
 * does not exist, leaves the previous FILE and no temporary file.
 */
static void
test_snapshot_failure(void)
{
	struct run	 r;
	char		*dir, *store, *snap, *nostore, *content, *noparent;

	dir = test_dir("failure");
	store = cu_fmt("%s/store", dir);
	snap = cu_fmt("%s/backup.snap", dir);
	nostore = cu_fmt("%s/nostore", dir);
	noparent = cu_fmt("%s/nodir/backup.snap", dir);
	make_store(store, 1);
	CU_ASSERT_FATAL(write_file(snap, "old backup\n", 11) == 0);

	run_cli_limited(&r, 64 * 1024, "snapshot", snap, "-d", store, NULL);
	CHECK_RUN(&r, 1);
	CU_ASSERT_EQUAL(count_lines(r.err), 1);
	CU_ASSERT(strstr(r.err, "too large") != NULL);
	if (strstr(r.err, "too large") == NULL)
		run_show("snapshot over the file size limit", &r);
	run_free(&r);
	content = read_file(snap, NULL);
	CU_ASSERT(content != NULL && strcmp(content, "old backup\n") == 0);
	free(content);
	CU_ASSERT_EQUAL(count_tmp(snap), 0);

	run_cli(&r, "snapshot", snap, "-d", nostore, NULL);
	run_done(&r, 1, 1);
	CU_ASSERT(!exists(nostore));
	content = read_file(snap, NULL);
	CU_ASSERT(content != NULL && strcmp(content, "old backup\n") == 0);
	free(content);

	run_cli(&r, "snapshot", noparent, "-d", store, NULL);
	run_done(&r, 1, 1);

	run_cli(&r, "verify", nostore, NULL);
	run_done(&r, 1, 1);
	CU_ASSERT(!exists(nostore));

	free(noparent);
	free(nostore);
	free(snap);
	free(store);
	free(dir);
}

/*
 * Find the logwire binary: $TEST_LOGWIRE (to test another build, or a
 * wrapper running it under valgrind), the build tree, or beside this
 * program.
 */
static int
find_binary(const char *argv0)
{
	const char	*env;
	char		*copy;

	if ((env = getenv("TEST_LOGWIRE")) != NULL && *env != '\0') {
		snprintf(logwire_bin, sizeof logwire_bin, "%s", env);
		return (access(logwire_bin, X_OK));
	}

#ifdef TOP_BUILDDIR
	snprintf(logwire_bin, sizeof logwire_bin, "%s/src/logwire",
	    TOP_BUILDDIR);
	if (access(logwire_bin, X_OK) == 0)
		return (0);
#endif
	copy = strdup(argv0);
	snprintf(logwire_bin, sizeof logwire_bin, "%s/../src/logwire",
	    dirname(copy));
	free(copy);
	return (access(logwire_bin, X_OK));
}

int
main(int argc, char **argv)
{
	static const struct cu_test tests[] = {
		{ "help and version exit 0", test_help },
		{ "bad usage exits 2 with one line", test_usage },
		{ "snapshot, restore, verify round trip", test_roundtrip },
		{ "restore refuses a non-empty directory",
		    test_restore_nonempty },
		{ "restore refuses damaged snapshots", test_restore_damaged },
		{ "verify reports a flipped record byte", test_verify_corrupt },
		{ "damaged data.mdb refused, nothing left behind",
		    test_damaged_store },
		{ "verify names a truncated snapshot",
		    test_verify_truncated_snapshot },
		{ "snapshot while another process appends",
		    test_snapshot_concurrent },
		{ "failed snapshot leaves no partial file",
		    test_snapshot_failure },
	};
	const char	*tmpdir;
	int		 rc;

	if (find_binary(argv[0]) != 0) {
		fprintf(stderr, "test_cli: cannot find the logwire binary "
		    "(%s)\n", logwire_bin);
		return (1);
	}
	if ((tmpdir = getenv("TMPDIR")) == NULL || *tmpdir == '\0')
		tmpdir = "/tmp";
	tmproot = cu_fmt("%s/test_cli.XXXXXX", tmpdir);
	if (mkdtemp(tmproot) == NULL) {
		perror(tmproot);
		return (1);
	}

	rc = cu_run("cli", tests, sizeof tests / sizeof tests[0]);
	if (rc == 0)
		tstore_rmtree(tmproot);
	else
		fprintf(stderr, "test_cli: files kept in %s\n", tmproot);
	free(tmproot);
	return (rc);
}
