/*
 * test_bench: logwire-bench's network scenarios at a tiny scale against
 * the real logwired (tests/harness.h).  Each test runs one scenario with
 * --json and checks the counts it reports: every publish acknowledged,
 * every subscriber given every message in order, every resumed client
 * caught up.  Never timing: the numbers belong in BENCHMARKS.md.
 */

#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>
#include <jansson.h>

#include "harness.h"
#include "cu_run.h"

#define TB_TIMEOUT_MS	60000	/* bound on one logwire-bench run */

static struct hd	*tb_hd;
static char		*tb_bin;

/*
 * Run logwire-bench with args (NULL-terminated) and --json against the
 * daemon; return its JSON object, or NULL after printing what came.
 */
static json_t *
tb_run(const char *const *args, int *status)
{
	const char	*argv[40];
	char		 url[64], *out = NULL, *err = NULL;
	json_t		*j = NULL;
	size_t		 n = 0;

	snprintf(url, sizeof url, "%s", hd_url(tb_hd));
	argv[n++] = tb_bin;
	for (; *args != NULL && n < nitems(argv) - 6; args++)
		argv[n++] = *args;
	argv[n++] = "-u";
	argv[n++] = url;
	argv[n++] = "--json";
	argv[n++] = "--timeout";
	argv[n++] = "30s";
	argv[n] = NULL;
	*status = hd_run(argv, NULL, TB_TIMEOUT_MS, &out, &err);
	if (out != NULL)
		j = json_loads(out, JSON_DISABLE_EOF_CHECK, NULL);
	if (*status != 0 || j == NULL || !json_is_object(j)) {
		fprintf(stderr, "logwire-bench %s: exit %d\nstdout: %s\n"
		    "stderr: %s\n", argv[1], *status, out != NULL ? out : "",
		    err != NULL ? err : "");
		hd_keep(tb_hd);
	}
	free(out);
	free(err);
	return (j);
}

/* Return an integer member, or -1 (said on stderr). */
static long long
tb_int(json_t *j, const char *k)
{
	json_t	*v = json_object_get(j, k);

	if (!json_is_integer(v)) {
		fprintf(stderr, "no integer \"%s\" in the output\n", k);
		return (-1);
	}
	return (json_integer_value(v));
}

/* Check that member k is want, printing both when not. */
static int
tb_eq(json_t *j, const char *k, long long want)
{
	long long	got = tb_int(j, k);

	if (got != want)
		fprintf(stderr, "%s: expected %lld, got %lld\n", k, want, got);
	return (got == want);
}

/* A member of the output and the value it must have. */
struct tb_want {
	const char	*key;
	long long	 value;		/* or TB_TRUE */
};
#define TB_TRUE		LLONG_MIN	/* the JSON true */

/*
 * Run logwire-bench with args as tb_run() and check that it succeeded
 * with each member of want (up to a NULL key) as wanted.  Return the
 * output for more checks (the caller decrefs); a failure to run ends the
 * test.
 */
static json_t *
tb_check(const char *const *args, const struct tb_want *want)
{
	json_t	*j;
	int	 status;

	j = tb_run(args, &status);
	CU_ASSERT_EQUAL_FATAL(status, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	for (; want->key != NULL; want++) {
		CU_ASSERT(want->value == TB_TRUE ?
		    json_is_true(json_object_get(j, want->key)) :
		    tb_eq(j, want->key, want->value));
	}
	return (j);
}

/* publish: every message sent over 2 connections and 3 channels is acked. */
static void
test_publish_all_acked(void)
{
	static const char *const args[] = { "publish", "--connections", "2",
		"--window", "8", "--channels", "3", "--messages", "200", NULL };
	static const struct tb_want want[] = { { "ok", TB_TRUE },
		{ "sent", 200 }, { "acked", 200 }, { "errors", 0 },
		{ "lat_samples", 200 }, { NULL, 0 } };

	json_decref(tb_check(args, want));
}

/* fanout: each of 2 subscribers gets each of 200 messages, in order. */
static void
test_fanout_every_delivery(void)
{
	static const char *const args[] = { "fanout", "--subscribers", "2",
		"--messages", "200", "--rate", "max", NULL };
	static const struct tb_want want[] = { { "acked", 200 },
		{ "delivered", 2 * 200 }, { "out_of_order", 0 },
		{ "caught_up", 2 }, { "lat_samples", 2 * 200 }, { NULL, 0 } };

	json_decref(tb_check(args, want));
}

/* fanout at a set rate also delivers everything. */
static void
test_fanout_rate_limited(void)
{
	static const char *const args[] = { "fanout", "--subscribers", "2",
		"--messages", "100", "--rate", "1000", NULL };
	static const struct tb_want want[] = { { "delivered", 2 * 100 },
		{ NULL, 0 } };

	json_decref(tb_check(args, want));
}

/* replay: 2 clients rewinding over a 200-message log get all of it. */
static void
test_replay_all_caught_up(void)
{
	static const char *const args[] = { "replay", "--clients", "2",
		"--messages", "200", NULL };
	static const struct tb_want want[] = { { "acked", 200 },
		{ "delivered", 2 * 200 }, { "caught_up", 2 },
		{ "out_of_order", 0 }, { NULL, 0 } };

	json_decref(tb_check(args, want));
}

/* resume: every client resumes (resumed:true) and gets its 100 back. */
static void
test_resume_all_caught_up(void)
{
	static const char *const args[] = { "resume", "--clients", "3",
		"--messages", "200", "--behind", "100", NULL };
	static const struct tb_want want[] = { { "resumed", 3 },
		{ "caught_up", 3 }, { "delivered", 3 * 100 },
		{ "out_of_order", 0 }, { NULL, 0 } };

	json_decref(tb_check(args, want));
}

/*
 * resume with --restart-cmd: the command runs between the disconnect and
 * the resume and the server is awaited on /healthz (the harness owns the
 * daemon, so the command here does not really restart it).
 */
static void
test_resume_restart_cmd(void)
{
	static const char *const args[] = { "resume", "--clients", "2",
		"--messages", "100", "--restart-cmd", "true", NULL };
	static const struct tb_want want[] = { { "restarted", TB_TRUE },
		{ "resumed", 2 }, { "caught_up", 2 }, { NULL, 0 } };

	json_decref(tb_check(args, want));
}

/* connections: all subscribed, and the server's RSS was read by its pid. */
static void
test_connections_rss(void)
{
	static const char *const args[] = { "connections", "--connections",
		"20", "--hold", "10ms", "--sources", "2", NULL };
	static const struct tb_want want[] = { { "subscribed", 20 },
		{ NULL, 0 } };
	json_t	*j;

	j = tb_check(args, want);
	CU_ASSERT(tb_eq(j, "server_pid", hd_pid(tb_hd)));
	CU_ASSERT(tb_int(j, "server_rss_kb") > 0);
	json_decref(j);
}

/* Bad usage exits 2; a nats:// target without libnats says so. */
static void
test_usage_errors(void)
{
	const char	*argv[6];
	char		*err = NULL;
	int		 status;

	argv[0] = tb_bin;
	argv[1] = "publish";
	argv[2] = "--behind";
	argv[3] = "5";
	argv[4] = NULL;
	status = hd_run(argv, NULL, TB_TIMEOUT_MS, NULL, NULL);
	CU_ASSERT_EQUAL(status, 2);
#ifndef HAVE_NATS
	argv[2] = "-u";
	argv[3] = "nats://127.0.0.1:1";
	status = hd_run(argv, NULL, TB_TIMEOUT_MS, NULL, &err);
	CU_ASSERT_EQUAL(status, 2);
	CU_ASSERT_PTR_NOT_NULL(err != NULL ? strstr(err,
	    "built without libnats") : NULL);
#endif
	free(err);
}

int
main(void)
{
	static const struct cu_test tests[] = {
		{ "publish: all acked", test_publish_all_acked },
		{ "fanout: every delivery", test_fanout_every_delivery },
		{ "fanout: rate limited", test_fanout_rate_limited },
		{ "replay: all caught up", test_replay_all_caught_up },
		{ "resume: all caught up", test_resume_all_caught_up },
		{ "resume: restart command", test_resume_restart_cmd },
		{ "connections: rss by pid", test_connections_rss },
		{ "usage errors", test_usage_errors },
	};
	int	rc;

	tb_bin = hd_bin("logwire-bench");
	if ((tb_hd = hd_start(NULL)) == NULL) {
		fprintf(stderr, "cannot start logwired\n");
		return (1);
	}
	rc = hd_finish(tb_hd, cu_run("bench", tests, nitems(tests)));
	free(tb_bin);
	return (rc);
}
