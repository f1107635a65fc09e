/*
 * The network commands of logwire (tail, publish, history, channels,
 * export, snapshot from a server) against the real logwired.  The
 * acceptance test of the quick start: tail follows a channel, the daemon
 * is killed with -9 and restarted, and tail resumes by itself with no
 * message lost and none printed twice.
 */

#include "config.h"

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

#include "common.h"
#include "harness.h"
#include "cu_run.h"

#define TAIL_TIMEOUT_MS	30000

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
	struct hd	*hd;
	json_t		*j;
	char		*out = NULL, *err = NULL, *line, *save = NULL;
	char		 file[512], *zout = NULL;
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

	/* snapshot without -d comes from the server and verifies. */
	snprintf(file, sizeof file, "%s/srv.snap", hd_dir(hd));
	CU_ASSERT_EQUAL(cli(hd, NULL, NULL, "snapshot", file, NULL), 0);
	CU_ASSERT_EQUAL(cli(hd, &out, &err, "verify", file, NULL), 0);
	CU_ASSERT(out != NULL && strstr(out, "2 channels, 1203 records, 0 "
	    "errors") != NULL);
	free(out);
	free(err);
	hd_free(hd);
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
	};
	int	rc;

	logwire_bin = hd_bin("logwire");
	rc = cu_run("logwire commands against logwired", tests,
	    nitems(tests));
	free(logwire_bin);
	return (rc);
}
