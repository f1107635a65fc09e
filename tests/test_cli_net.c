/*
 * The network commands of logwire (tail, publish, history, channels,
 * export, snapshot from a server) against the real logwired.  The
 * acceptance test of the quick start: tail follows a channel, the daemon
 * is killed with -9 and restarted, and tail resumes by itself with no
 * message lost and none printed twice.  And no message is ever skipped:
 * the hardest JSON the server accepts is printed, and a message it cannot
 * read (in a store from before the server refused such JSON) stops the
 * command with an error naming it.
 */

#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <jansson.h>
#include <lmdb.h>

#include "common.h"
#include "harness.h"
#include "cu_run.h"
#include "storage.h"
#include "tstore.h"

#ifndef MIN
#define MIN(a, b)	((a) < (b) ? (a) : (b))
#endif

#define TAIL_TIMEOUT_MS	30000
#define RUN_TIMEOUT_MS	15000	/* a command that should be quick */

static char	*logwire_bin;

/* Run logwire -u URL args...; returns the exit status. */
static int
cli(struct hd *hd, char **out, char **err, ...)
{
	const char	*argv[32];
	const char	*a;
	va_list		 ap;
	int		 n = 0, rc;

	argv[n++] = logwire_bin;
	argv[n++] = "-u";
	argv[n++] = hd_url(hd);
	va_start(ap, err);
	while ((a = va_arg(ap, const char *)) != NULL && n < 31)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	rc = hd_run(argv, NULL, 30000, out, err);
	if (rc != 0 && err != NULL && *err != NULL)
		fprintf(stderr, "  logwire %s: exit %d: %s", argv[3], rc,
		    *err);
	return (rc);
}

/* Publish data on channel with logwire publish; returns the serial. */
static long long
publish(struct hd *hd, const char *channel, const char *data)
{
	json_t		*j;
	char		*out = NULL, *err = NULL;
	long long	 serial = -1;

	if (cli(hd, &out, &err, "publish", channel, data, NULL) == 0 &&
	    (j = json_loads(out, 0, NULL)) != NULL) {
		serial = json_integer_value(json_object_get(j, "serial"));
		json_decref(j);
	}
	free(out);
	free(err);
	return (serial);
}

struct tail {
	pid_t	 pid;
	int	 fd;		/* its stdout */
	char	 buf[1 << 16];
	size_t	 len;
};

/* Start logwire tail --from serial --epoch with its stdout on a pipe. */
static int
tail_start(struct tail *t, struct hd *hd, const char *channel,
    const char *count, const char *from, const char *epoch)
{
	int	p[2], devnull;

	memset(t, 0, sizeof *t);
	if (pipe(p) != 0)
		return (-1);
	if ((t->pid = fork()) == -1)
		return (-1);
	if (t->pid == 0) {
		devnull = open("/dev/null", O_WRONLY);
		dup2(p[1], STDOUT_FILENO);
		dup2(devnull, STDERR_FILENO);
		close(p[0]);
		execl(logwire_bin, logwire_bin, "-u", hd_url(hd), "tail",
		    channel, "-n", count, "--from", from, "--epoch", epoch,
		    (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	t->fd = p[0];
	return (0);
}

/* Read what tail printed until it has lines lines or the deadline. */
static int
tail_wait_lines(struct tail *t, int lines, int timeout_ms)
{
	struct pollfd	pfd;
	long long	deadline = mono_ms() + timeout_ms;
	ssize_t		n;
	size_t		i;
	int		have;

	for (;;) {
		for (have = 0, i = 0; i < t->len; i++)
			have += t->buf[i] == '\n';
		if (have >= lines)
			return (have);
		if (mono_ms() > deadline || t->len == sizeof t->buf - 1)
			return (have);
		pfd.fd = t->fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 100) != 1)
			continue;
		n = read(t->fd, t->buf + t->len, sizeof t->buf - 1 - t->len);
		if (n <= 0)
			return (have);
		t->len += (size_t)n;
		t->buf[t->len] = '\0';
	}
}

/* Wait for tail to exit (it does after -n lines); kill it past timeout. */
static int
tail_finish(struct tail *t, int timeout_ms)
{
	long long	deadline = mono_ms() + timeout_ms;
	int		status;

	while (waitpid(t->pid, &status, WNOHANG) == 0) {
		if (mono_ms() > deadline) {
			kill(t->pid, SIGKILL);
			waitpid(t->pid, &status, 0);
			close(t->fd);
			return (-1);
		}
		usleep(20000);
	}
	close(t->fd);
	return (WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/*
 * The acceptance test: tail prints messages 1..5, the daemon is killed
 * with -9 and restarted, 5 more are published, and tail prints exactly
 * 6..10 after reconnecting by itself.
 */
static void
test_tail_resumes_after_kill(void)
{
	struct hd_resp	 resp;
	struct tail	 t;
	struct hd	*hd;
	json_t		*j;
	char		*line, *save = NULL, data[32], epoch[32];
	long long	 expect = 1;
	int		 i, lines = 0;

	hd = hd_start(NULL);
	CU_ASSERT_FATAL(hd != NULL);
	/* The channel exists; tail resumes after its serial 1. */
	CU_ASSERT_EQUAL(publish(hd, "acc", "\"zero\""), 1);
	CU_ASSERT_FATAL(hd_http(hd, "GET", "/v1/channels/acc", NULL, NULL, 0,
	    &resp) == 0 && resp.status == 200);
	j = hd_resp_json(&resp);
	snprintf(epoch, sizeof epoch, "%s", json_string_value(
	    json_object_get(j, "epoch")));
	json_decref(j);
	hd_resp_free(&resp);
	CU_ASSERT_FATAL(tail_start(&t, hd, "acc", "10", "1", epoch) == 0);
	for (i = 1; i <= 5; i++) {
		snprintf(data, sizeof data, "{\"n\":%d}", i);
		CU_ASSERT_EQUAL(publish(hd, "acc", data), i + 1);
	}
	CU_ASSERT_EQUAL(tail_wait_lines(&t, 5, TAIL_TIMEOUT_MS), 5);

	CU_ASSERT_EQUAL(hd_kill9(hd), 137);
	CU_ASSERT_FATAL(hd_restart(hd) == 0);
	for (i = 6; i <= 10; i++) {
		snprintf(data, sizeof data, "{\"n\":%d}", i);
		CU_ASSERT_EQUAL(publish(hd, "acc", data), i + 1);
	}
	CU_ASSERT_EQUAL(tail_wait_lines(&t, 10, TAIL_TIMEOUT_MS), 10);
	CU_ASSERT_EQUAL(tail_finish(&t, 10000), 0);

	/* Exactly serials 2..11 (data 1..10), in order, each once. */
	for (line = strtok_r(t.buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		j = json_loads(line, 0, NULL);
		CU_ASSERT_FATAL(j != NULL);
		CU_ASSERT_EQUAL(json_integer_value(json_object_get(j,
		    "serial")), expect + 1);
		CU_ASSERT_EQUAL(json_integer_value(json_object_get(
		    json_object_get(j, "data"), "n")), expect);
		CU_ASSERT(json_object_get(j, "op") == NULL);
		json_decref(j);
		expect++;
		lines++;
	}
	CU_ASSERT_EQUAL(lines, 10);
	hd_free(hd);
}

/* publish --id twice: the same serial, duplicate true. */
static void
test_publish_idempotent(void)
{
	struct hd	*hd;
	json_t		*a, *b;
	char		*out1 = NULL, *out2 = NULL;

	hd = hd_start(NULL);
	CU_ASSERT_FATAL(hd != NULL);
	CU_ASSERT_EQUAL(cli(hd, &out1, NULL, "publish", "idem", "plain text",
	    "--id", "k-1", "--name", "ev", NULL), 0);
	CU_ASSERT_EQUAL(cli(hd, &out2, NULL, "publish", "idem", "{\"x\":2}",
	    "--id", "k-1", NULL), 0);
	a = json_loads(out1 != NULL ? out1 : "", 0, NULL);
	b = json_loads(out2 != NULL ? out2 : "", 0, NULL);
	CU_ASSERT_FATAL(a != NULL && b != NULL);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(b, "serial")),
	    json_integer_value(json_object_get(a, "serial")));
	CU_ASSERT(json_is_false(json_object_get(a, "duplicate")));
	CU_ASSERT(json_is_true(json_object_get(b, "duplicate")));
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(b, "id")),
	    "k-1");
	json_decref(a);
	json_decref(b);
	free(out1);
	free(out2);
	hd_free(hd);
}

/* Count the lines of s. */
static int
count_lines(const char *s)
{
	int	n = 0;

	for (; s != NULL && *s != '\0'; s++)
		n += *s == '\n';
	return (n);
}

/*
 * history (both directions, bounds, limit over several pages), channels,
 * export (plain and zstd to a file), and snapshot from the server.
 */
static void
test_history_channels_export(void)
{
	struct stat	 sb;
	struct hd	*hd;
	json_t		*j;
	char		*out = NULL, *err = NULL, *line, *save = NULL;
	char		 file[512], want[64], *zout = NULL;
	const char	*zargv[4];
	int		 i, expect;

	hd = hd_start(NULL);
	CU_ASSERT_FATAL(hd != NULL);
	/* 1203 messages: more than one history page of 1000. */
	for (i = 1; i <= 3; i++)
		CU_ASSERT_EQUAL(publish(hd, "other", "1"), i);
	{
		struct wsc	*w = hd_ws(hd);
		json_t		*m;
		int		 got = 0;

		CU_ASSERT_FATAL(w != NULL);
		for (i = 1; i <= 1200; i++)
			hd_ws_send_json(w, "{\"op\":\"publish\",\"channel\":"
			    "\"hist\",\"data\":%d}", i);
		while (got < 1200 && (m = hd_ws_recv_json(w, 10000)) != NULL) {
			got += strcmp(json_string_value(json_object_get(m,
			    "op")), "published") == 0;
			json_decref(m);
		}
		CU_ASSERT_EQUAL(got, 1200);
		wsc_close(w);
	}

	CU_ASSERT_EQUAL(cli(hd, &out, &err, "history", "hist", "--limit",
	    "1100", NULL), 0);
	CU_ASSERT_EQUAL(count_lines(out), 1100);
	expect = 1200;
	for (line = strtok_r(out, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save), expect--) {
		j = json_loads(line, 0, NULL);
		CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "data")),
		    expect);
		json_decref(j);
	}
	free(out);
	free(err);
	out = err = NULL;

	CU_ASSERT_EQUAL(cli(hd, &out, &err, "history", "hist", "--forward",
	    "--from", "10", "--to", "12", NULL), 0);
	CU_ASSERT_EQUAL(count_lines(out), 3);
	CU_ASSERT(strstr(out, "\"serial\":10,") != NULL);
	CU_ASSERT(strstr(out, "\"serial\":12,") != NULL);
	free(out);
	free(err);
	out = err = NULL;

	CU_ASSERT_EQUAL(cli(hd, &out, &err, "channels", NULL), 0);
	CU_ASSERT_EQUAL(count_lines(out), 2);
	CU_ASSERT(strstr(out, "\"name\":\"hist\"") != NULL);
	CU_ASSERT(strstr(out, "\"head\":1200") != NULL);
	free(out);
	free(err);
	out = err = NULL;
	CU_ASSERT_EQUAL(cli(hd, &out, &err, "channels", "--prefix", "oth",
	    NULL), 0);
	CU_ASSERT_EQUAL(count_lines(out), 1);
	free(out);
	free(err);
	out = err = NULL;

	/* export to stdout, then to a .zst file: the same 1200 lines. */
	CU_ASSERT_EQUAL(cli(hd, &out, &err, "export", "hist", NULL), 0);
	CU_ASSERT_EQUAL(count_lines(out), 1200);
	snprintf(file, sizeof file, "%s/hist.ndjson.zst", hd_dir(hd));
	CU_ASSERT_EQUAL(cli(hd, NULL, NULL, "export", "hist", "-o", file,
	    NULL), 0);
	zargv[0] = "/usr/bin/zstd";
	zargv[1] = "-dc";
	zargv[2] = file;
	zargv[3] = NULL;
	CU_ASSERT_EQUAL(hd_run(zargv, NULL, 30000, &zout, NULL), 0);
	CU_ASSERT(zout != NULL && out != NULL && strcmp(zout, out) == 0);
	free(zout);
	free(out);
	free(err);
	out = err = NULL;

	/* An unknown channel is an error from the server: exit 1. */
	CU_ASSERT_EQUAL(cli(hd, &out, &err, "history", "nope", NULL), 1);
	CU_ASSERT(err != NULL && strstr(err, "40400") != NULL);
	free(out);
	free(err);
	out = err = NULL;

	/*
	 * snapshot without -d comes from the server, says how many bytes
	 * it wrote (as logwire(1) promises), and verifies.
	 */
	snprintf(file, sizeof file, "%s/srv.snap", hd_dir(hd));
	CU_ASSERT_EQUAL(cli(hd, NULL, &err, "snapshot", file, NULL), 0);
	CU_ASSERT_FATAL(stat(file, &sb) == 0);
	snprintf(want, sizeof want, ": %lld bytes in ", (long long)sb.st_size);
	CU_ASSERT(err != NULL && strstr(err, want) != NULL &&
	    strstr(err, file) != NULL && count_lines(err) == 1);
	if (err == NULL || strstr(err, want) == NULL)
		fprintf(stderr, "  snapshot said \"%s\", want \"%s\"\n",
		    err != NULL ? err : "", want);
	free(err);
	err = NULL;
	CU_ASSERT_EQUAL(cli(hd, &out, &err, "verify", file, NULL), 0);
	CU_ASSERT(out != NULL && strstr(out, "2 channels, 1203 records, 0 "
	    "errors") != NULL);
	free(out);
	free(err);
	hd_free(hd);
}

/*
 * logwired on a data.mdb cut to half its size exits 1 with a log line
 * naming the damage, instead of dying of SIGBUS with nothing said.
 */
static void
test_daemon_truncated_store(void)
{
	struct hd_resp	 r;
	struct stat	 sb;
	struct hd	*hd;
	const char	*argv[8];
	char		*body, *p, *mdb = NULL, *err = NULL, port[32];
	uint64_t	 x = 88172645463325252ULL;
	size_t		 i, k;
	int		 rc = -1;

	hd = hd_start(NULL);
	CU_ASSERT_FATAL(hd != NULL);
	argv[0] = hd_bin("logwired");
	/* 300 messages of 2000 random letters: some hundred pages. */
	if ((body = malloc(300 * 2020 + 2)) == NULL)
		abort();
	p = body;
	*p++ = '[';
	for (i = 0; i < 300; i++) {
		p += sprintf(p, "%s{\"data\":\"", i > 0 ? "," : "");
		for (k = 0; k < 2000; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			*p++ = 'a' + x % 26;
		}
		p += sprintf(p, "\"}");
	}
	*p++ = ']';
	rc = hd_http(hd, "POST", "/v1/channels/big/messages", NULL, body,
	    p - body, &r);
	free(body);
	CU_ASSERT(rc == 0 && r.status == 201);
	if (rc == 0)
		hd_resp_free(&r);
	CU_ASSERT_EQUAL(hd_stop(hd), 0);

	if (asprintf(&mdb, "%s/data.mdb", hd_datadir(hd)) == -1)
		abort();
	rc = -1;
	CU_ASSERT(stat(mdb, &sb) == 0 && sb.st_size > 64 * 4096);
	CU_ASSERT(truncate(mdb, sb.st_size / 2) == 0);

	snprintf(port, sizeof port, "127.0.0.1:%d", hd_port(hd));
	argv[1] = "-l";
	argv[2] = port;
	argv[3] = "-d";
	argv[4] = hd_datadir(hd);
	argv[5] = NULL;
	rc = hd_run(argv, NULL, 20000, NULL, &err);
	CU_ASSERT_EQUAL(rc, 1);
	CU_ASSERT(err != NULL && strstr(err, "truncated") != NULL &&
	    strstr(err, "data.mdb") != NULL);
	if (rc != 1 || err == NULL || strstr(err, "truncated") == NULL) {
		fprintf(stderr, "  logwired on a truncated store: exit %d, "
		    "log: %s\n", rc, err != NULL ? err : "");
		hd_keep(hd);
	}
	free(err);
	free((char *)argv[0]);
	free(mdb);
	hd_free(hd);
}

/* mdb_reader_list callback: note whether the line is the wanted pid's. */
static int
reader_line(const char *msg, void *arg)
{
	pid_t	*want = arg;
	int	 pid;

	if (sscanf(msg, "%d", &pid) == 1 && pid == *want)
		*want = 0;
	return (0);
}

/* Whether the LMDB reader table of dir has a slot of process pid. */
static int
reader_listed(const char *dir, pid_t pid)
{
	MDB_env	*env;
	pid_t	 want = pid;

	if (mdb_env_create(&env) != 0)
		return (-1);
	mdb_env_set_maxdbs(env, 8);
	if (mdb_env_open(env, dir, MDB_RDONLY | MDB_NOTLS, 0644) != 0) {
		mdb_env_close(env);
		return (-1);
	}
	mdb_reader_list(env, reader_line, &want);
	mdb_env_close(env);
	return (want == 0);
}

/* The value of a counter in /metrics, or -1. */
static long long
metric(struct hd *hd, const char *name)
{
	struct hd_resp	 r;
	const char	*p;
	long long	 v = -1;
	size_t		 len = strlen(name);

	if (hd_http(hd, "GET", "/metrics", NULL, NULL, 0, &r) != 0)
		return (-1);
	for (p = r.body; p != NULL && *p != '\0'; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (strncmp(p, name, len) == 0 && p[len] == ' ') {
			v = strtoll(p + len + 1, NULL, 10);
			break;
		}
	}
	hd_resp_free(&r);
	return (v);
}

/*
 * A process killed with SIGKILL inside a read transaction (as a killed
 * `logwire snapshot -d` is) leaves its LMDB reader slot; the running
 * daemon clears it within seconds (LMDB would otherwise keep every page
 * freed since and the file would grow), counts it in /metrics and logs it.
 */
static void
test_daemon_clears_stale_reader(void)
{
	struct hd	*hd;
	long long	 deadline, v = -1;
	char		*log;
	pid_t		 pid;
	int		 status, listed = 1;

	hd = hd_start(NULL);
	CU_ASSERT_FATAL(hd != NULL);
	CU_ASSERT_EQUAL(publish(hd, "held", "1"), 1);
	CU_ASSERT_EQUAL(metric(hd,
	    "logwire_storage_stale_readers_cleared_total"), 0);

	pid = tstore_hold_reader(hd_datadir(hd), "held");
	CU_ASSERT(pid != -1);
	if (pid == -1) {
		hd_free(hd);
		return;
	}
	CU_ASSERT_EQUAL(reader_listed(hd_datadir(hd), pid), 1);

	kill(pid, SIGKILL);
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	/* The daemon checks every 2 s; allow far more. */
	deadline = mono_ms() + 15000;
	while (mono_ms() < deadline) {
		listed = reader_listed(hd_datadir(hd), pid);
		v = metric(hd, "logwire_storage_stale_readers_cleared_total");
		if (listed == 0 && v >= 1)
			break;
		usleep(100000);
	}
	CU_ASSERT_EQUAL(listed, 0);
	CU_ASSERT_EQUAL(v, 1);
	log = hd_log(hd);
	CU_ASSERT(log != NULL && strstr(log, "cleared 1 stale reader slot") !=
	    NULL);
	free(log);
	if (listed != 0 || v != 1) {
		fprintf(stderr, "  stale reader: listed %d, metric %lld\n",
		    listed, v);
		hd_keep(hd);
	}
	hd_free(hd);
}

/* Run logwire -u URL args... with a short bound; returns the exit status. */
static int
cli_quick(struct hd *hd, char **out, char **err, const char *const *args)
{
	const char	*argv[16];
	int		 n = 0;

	argv[n++] = logwire_bin;
	argv[n++] = "-u";
	argv[n++] = hd_url(hd);
	while (*args != NULL && n < 15)
		argv[n++] = *args++;
	argv[n] = NULL;
	return (hd_run(argv, NULL, RUN_TIMEOUT_MS, out, err));
}

/*
 * Whether out is n NDJSON lines, each a message jansson reads (strings
 * may hold \u0000), with serials first, first + step, ...
 */
static int
lines_are(const char *out, int n, long long first, int step)
{
	json_t		*j;
	const char	*p = out, *nl;
	long long	 want = first;
	int		 got = 0, ok = 1;

	if (out == NULL)
		return (n == 0);
	for (; (nl = strchr(p, '\n')) != NULL; p = nl + 1, want += step) {
		j = json_loadb(p, (size_t)(nl - p), JSON_ALLOW_NUL, NULL);
		if (j == NULL || json_integer_value(json_object_get(j,
		    "serial")) != want) {
			fprintf(stderr, "  line %d: want serial %lld: %.*s\n",
			    got + 1, want, (int)MIN(nl - p, 200), p);
			ok = 0;
		}
		json_decref(j);
		got++;
	}
	if (got != n || *p != '\0') {
		fprintf(stderr, "  want %d lines, got %d\n", n, got);
		ok = 0;
	}
	return (ok);
}

/*
 * A run of logwire: its arguments after -u URL, its exit status, the
 * message lines it prints (lines_are()), and what its stdout and stderr
 * hold (NULL: anything).
 */
struct cli_case {
	const char	*args[8];
	int		 status;
	int		 n;
	long long	 first;
	int		 step;
	const char	*out_has;
	const char	*err_has;
};

/* Run each case against the daemon and check what it did. */
static void
cli_cases(struct hd *hd, const struct cli_case *cases, size_t ncases)
{
	const struct cli_case	*c;
	char			*out, *err;
	size_t			 i;

	for (i = 0; i < ncases; i++) {
		c = &cases[i];
		out = err = NULL;
		CU_ASSERT_EQUAL(cli_quick(hd, &out, &err, c->args), c->status);
		CU_ASSERT(lines_are(out, c->n, c->first, c->step));
		if (c->out_has != NULL)
			CU_ASSERT(out != NULL && strstr(out, c->out_has) !=
			    NULL);
		if (c->err_has != NULL)
			CU_ASSERT(err != NULL && strstr(err, c->err_has) !=
			    NULL);
		free(out);
		free(err);
	}
}

/*
 * The hardest JSON the server still accepts, published raw over
 * WebSocket: tail --rewind N -n N prints all N with their serials and
 * exits, history prints them all both ways, export all.
 */
static void
test_cli_prints_every_message(void)
{
	static const char *const data[] = {
		"{\"n\":1}",
		NULL,					/* 63 deep */
		"[1e308,-1.7976931348623157e308,1e-400]",
		"\"\\ud83d\\ude00\"",
		"\"a\\u0000b\"",
		"{\"k\":[\"\\u0000\"]}",
		"[9223372036854775807,-9223372036854775808]",
		"{\"n\":8}",
	};
	static const struct cli_case	 cases[] = {
		{ { "tail", "hard", "--rewind", "8", "-n", "8", NULL }, 0,
		    8, 1, 1, "\"data\":\"a\\u0000b\"", NULL },
		{ { "history", "hard", "--forward", NULL }, 0, 8, 1, 1, NULL,
		    NULL },
		{ { "history", "hard", NULL }, 0, 8, 8, -1, NULL, NULL },
		{ { "export", "hard", NULL }, 0, 8, 1, 1, NULL, NULL },
	};
	struct hd			*hd;
	struct wsc			*w;
	json_t				*m;
	char				 deep[256];
	size_t				 i;

	memset(deep, '[', 63);
	deep[63] = '1';
	memset(deep + 64, ']', 63);
	deep[127] = '\0';
	hd = hd_start(NULL);
	CU_ASSERT_FATAL(hd != NULL);
	w = hd_ws(hd);
	CU_ASSERT_FATAL(w != NULL);
	for (i = 0; i < nitems(data); i++) {
		hd_ws_send_json(w, "{\"op\":\"publish\",\"channel\":\"hard\","
		    "\"data\":%s}", data[i] != NULL ? data[i] : deep);
		m = hd_ws_expect_op(w, "published", 10000);
		CU_ASSERT(m != NULL && json_integer_value(json_object_get(m,
		    "serial")) == (json_int_t)i + 1);
		json_decref(m);
	}
	wsc_close(w);
	cli_cases(hd, cases, nitems(cases));
	hd_free(hd);
}

/*
 * A store from before the server held publishes to one JSON language:
 * messages 2 (3000 deep) and 4 (1e400) cannot be read by jansson.  tail
 * and history print the messages before the first of them and stop there
 * with an error naming it (never skip it, never hang); export writes
 * every byte as stored.
 */
static void
test_cli_stops_at_unreadable(void)
{
	static const struct cli_case	 cases[] = {
		{ { "tail", "legacy", "--rewind", "5", "-n", "5", NULL }, 1,
		    1, 1, 1, NULL, "message 2 cannot be read" },
		{ { "history", "legacy", "--forward", NULL }, 1, 1, 1, 1,
		    NULL, "message 2 cannot be read" },
		{ { "history", "legacy", NULL }, 1, 1, 5, -1, NULL,
		    "message 4 cannot be read" },
		{ { "history", "legacy", "--from", "3", "--to", "3", NULL },
		    0, 1, 3, 1, NULL, NULL },
	};
	const char	*exp[] = { "export", "legacy", NULL };
	struct store_config	 cfg;
	struct store_msg	 msgs[5];
	struct store		*st;
	struct hd		*hd = NULL;
	const char		*tmp = getenv("TMPDIR");
	char			*dir, *datadir = NULL, *cause = NULL, tmpl[512];
	char			*out = NULL, *err = NULL, *deep;
	const char		*data[5];
	size_t			 i;

	snprintf(tmpl, sizeof tmpl, "%s/logwire-cli-net.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	CU_ASSERT_FATAL((dir = mkdtemp(tmpl)) != NULL);
	if ((deep = malloc(6002)) == NULL)
		abort();
	memset(deep, '[', 3000);
	memset(deep + 3000, ']', 3000);
	deep[6000] = '\0';
	data[0] = "{\"ok\":1}";
	data[1] = deep;
	data[2] = "{\"ok\":3}";
	data[3] = "1e400";
	data[4] = "{\"ok\":5}";
	if (asprintf(&datadir, "%s/data", dir) == -1)
		abort();
	store_config_default(&cfg);
	cfg.sync = STORE_SYNC_NONE;
	if (store_open(datadir, &cfg, &st, &cause) != 0) {
		fprintf(stderr, "store_open: %s\n", cause);
		CU_FAIL("store_open");
		goto out;
	}
	memset(msgs, 0, sizeof msgs);
	for (i = 0; i < 5; i++) {
		msgs[i].channel = "legacy";
		msgs[i].channel_len = 6;
		msgs[i].data = data[i];
		msgs[i].data_len = strlen(data[i]);
	}
	CU_ASSERT(store_append(st, msgs, 5, 0) == 0 && msgs[4].serial == 5);
	store_close(st);
	if ((hd = hd_start_dir(datadir, NULL)) == NULL) {
		CU_FAIL("logwired on the old store");
		goto out;
	}

	cli_cases(hd, cases, nitems(cases));
	CU_ASSERT_EQUAL(cli_quick(hd, &out, &err, exp), 0);
	CU_ASSERT(out != NULL && count_lines(out) == 5 &&
	    strstr(out, deep) != NULL && strstr(out, "1e400") != NULL);
out:
	free(out);
	free(err);
	if (hd != NULL)
		hd_free(hd);
	tstore_rmtree(dir);
	free(datadir);
	free(deep);
	free(cause);
}

/* A server that is not there: exit 1 with a message, for each command. */
static void
test_no_server(void)
{
	const char	*cmds[][4] = {
		{ "publish", "c", "1", NULL },
		{ "tail", "c", NULL, NULL },
		{ "history", "c", NULL, NULL },
		{ "channels", NULL, NULL, NULL },
		{ "export", "c", NULL, NULL },
	};
	const char	*argv[8];
	char		*err;
	size_t		 i, k;

	for (i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		argv[0] = logwire_bin;
		argv[1] = "-u";
		argv[2] = "http://127.0.0.1:1";
		for (k = 0; k < 4 && cmds[i][k] != NULL; k++)
			argv[3 + k] = cmds[i][k];
		argv[3 + k] = NULL;
		err = NULL;
		CU_ASSERT_EQUAL(hd_run(argv, NULL, 20000, NULL, &err), 1);
		CU_ASSERT(err != NULL && strncmp(err, "logwire: ", 9) == 0);
		free(err);
	}
}

int
main(void)
{
	static const struct cu_test tests[] = {
		{ "tail resumes after kill -9 and restart, no loss or repeat",
		    test_tail_resumes_after_kill },
		{ "publish --id is idempotent", test_publish_idempotent },
		{ "history, channels, export, snapshot from a server",
		    test_history_channels_export },
		{ "no server: exit 1 with a message", test_no_server },
		{ "logwired refuses a truncated data.mdb",
		    test_daemon_truncated_store },
		{ "logwired clears a killed reader's slot",
		    test_daemon_clears_stale_reader },
		{ "every message printed, the hardest JSON too",
		    test_cli_prints_every_message },
		{ "a message that cannot be read stops the command",
		    test_cli_stops_at_unreadable },
	};
	int	rc;

	logwire_bin = hd_bin("logwire");
	rc = cu_run("logwire commands against logwired", tests,
	    nitems(tests));
	free(logwire_bin);
	return (rc);
}
