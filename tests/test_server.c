/*
 * Integration tests of logwired: the real daemon on a free loopback port
 * with a temporary data directory, spoken to over real sockets. This
 * program covers the handshake, bad input (guarantee 6), idempotent publish
 * (4), resume, rewind and retention gaps (3), pings and graceful shutdown
 * (2). test_server_stream.c covers ordering under load and slow readers
 * (1, 5); test_crash.c covers acknowledgements across kill -9 (2).
 */

#include "config.h"

#include <sys/types.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>
#include <jansson.h>
#include <pthread.h>

#include "common.h"
#include "storage.h"
#include "harness.h"
#include "cu_run.h"
#include "test_server_common.h"

static int	expect_message(struct wsc *, uint64_t);

/* Send a raw request and return the answer's status (-1 if none). */
static int
raw_status(struct hd *hd, const char *req, int timeout_ms, char **resp)
{
	size_t	len;
	int	status = -1;

	*resp = NULL;
	if (hd_raw(hd, req, strlen(req), resp, &len, timeout_ms) == -1)
		return (-1);
	if (sscanf(*resp, "HTTP/1.1 %d", &status) != 1)
		status = -1;
	return (status);
}

/* The error code in the JSON body of a raw HTTP answer, or -1. */
static long long
raw_error_code(const char *resp)
{
	const char	*body;
	json_t		*j;
	long long	 code;

	if ((body = strstr(resp, "\r\n\r\n")) == NULL)
		return (-1);
	if ((j = json_loads(body + 4, JSON_DISABLE_EOF_CHECK, NULL)) == NULL)
		return (-1);
	code = ts_int(json_object_get(j, "error"), "code");
	json_decref(j);
	return (code);
}

/* Print an unexpected raw answer. */
static void
raw_show(const char *what, const char *resp)
{
	fprintf(stderr, "  %s: got %.400s\n", what, resp != NULL ? resp :
	    "(nothing)");
}

#define UPGRADE_HEAD							\
	"Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
#define GOOD_KEY	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"

/*
 * The upgrade: 101 with the right accept key and the subprotocol echoed
 * when offered (and not invented when not), the refusals with their
 * statuses, requests pipelined behind the upgrade, 404 and /healthz.
 */
static void
test_handshake(void)
{
	unsigned int	 before = CU_get_number_of_failures();
	struct hd	*hd;
	struct hd_resp	 r;
	struct ts_raw	 raw = { -1, 0, NULL, NULL, 0, 0 };
	struct wsc	*w = NULL;
	json_t		*j = NULL;
	uint8_t		 extra[512];
	size_t		 n, plen;
	char		*resp = NULL, *payload;
	const char	*s;
	const char	*pipe1 = "{\"op\":\"subscribe\",\"channel\":\"pipe\","
			    "\"ref\":\"p1\"}";
	const char	*pipe2 = "{\"op\":\"ping\",\"ref\":\"p2\"}";
	int		 op, status, i, seen;
	static const struct {
		const char	*what;
		const char	*req;
		int		 status;
		const char	*header;
	} refusals[] = {
		{ "version 8", "GET /v1/ws HTTP/1.1\r\n" UPGRADE_HEAD GOOD_KEY
		    "Sec-WebSocket-Version: 8\r\n\r\n", 426,
		    "\r\nSec-WebSocket-Version: 13\r\n" },
		{ "no version", "GET /v1/ws HTTP/1.1\r\n" UPGRADE_HEAD GOOD_KEY
		    "\r\n", 426, "\r\nSec-WebSocket-Version: 13\r\n" },
		{ "no key", "GET /v1/ws HTTP/1.1\r\n" UPGRADE_HEAD
		    "Sec-WebSocket-Version: 13\r\n\r\n", 400, NULL },
		{ "malformed key", "GET /v1/ws HTTP/1.1\r\n" UPGRADE_HEAD
		    "Sec-WebSocket-Key: abc\r\n"
		    "Sec-WebSocket-Version: 13\r\n\r\n", 400, NULL },
		{ "POST", "POST /v1/ws HTTP/1.1\r\n" UPGRADE_HEAD GOOD_KEY
		    "Sec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n",
		    405, "\r\nAllow: GET\r\n" },
		{ "no Upgrade", "GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		    "Connection: close\r\n\r\n", 426, NULL },
	};

	REQUIRE((hd = ts_start(NULL)) != NULL);

	/* wsc offers logwire.v1 and fails unless it is echoed. */
	w = ts_ws(hd);
	REQUIRE(w != NULL);
	CU_ASSERT(wsc_protocol(w) != NULL &&
	    strcmp(wsc_protocol(w), "logwire.v1") == 0);
	CU_ASSERT(ts_pingpong(w, "hs") == 0);
	wsc_close(w);
	w = NULL;

	/* RFC 6455's sample key, by hand. */
	REQUIRE(ts_raw_open(hd, NULL, 0, &raw) == 0);
	CU_ASSERT_EQUAL(raw.status, 101);
	CU_ASSERT(strcasestr(raw.head,
	    "\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") !=
	    NULL);
	CU_ASSERT(strcasestr(raw.head,
	    "\r\nSec-WebSocket-Protocol: logwire.v1\r\n") != NULL);
	if (raw.status != 101)
		raw_show("upgrade", raw.head);
	ts_raw_close(&raw);

	/* No subprotocol offered: none chosen. */
	status = raw_status(hd, "GET /v1/ws HTTP/1.1\r\n" UPGRADE_HEAD GOOD_KEY
	    "Sec-WebSocket-Version: 13\r\n\r\n", 300, &resp);
	CU_ASSERT_EQUAL(status, 101);
	CU_ASSERT(resp != NULL &&
	    strcasestr(resp, "Sec-WebSocket-Protocol") == NULL);
	if (status != 101)
		raw_show("upgrade without subprotocol", resp);
	free(resp);
	resp = NULL;

	for (i = 0; i < (int)nitems(refusals); i++) {
		status = raw_status(hd, refusals[i].req, 3000, &resp);
		CU_ASSERT_EQUAL(status, refusals[i].status);
		CU_ASSERT(raw_error_code(resp) >= 40000);
		if (refusals[i].header != NULL)
			CU_ASSERT(strcasestr(resp, refusals[i].header) != NULL);
		if (status != refusals[i].status ||
		    raw_error_code(resp) < 40000 ||
		    (refusals[i].header != NULL &&
		    strcasestr(resp, refusals[i].header) == NULL)) {
			fprintf(stderr, "  %s: expected %d%s%s with a JSON "
			    "error\n", refusals[i].what, refusals[i].status,
			    refusals[i].header != NULL ? " and " : "",
			    refusals[i].header != NULL ?
			    refusals[i].header + 2 : "");
			raw_show(refusals[i].what, resp);
		}
		free(resp);
		resp = NULL;
	}

	/* A subscribe and a ping in the same write as the upgrade. */
	n = ts_frame(extra, 1, pipe1, strlen(pipe1), 1);
	n += ts_frame(extra + n, 1, pipe2, strlen(pipe2), 1);
	REQUIRE(ts_raw_open(hd, extra, n, &raw) == 0);
	CU_ASSERT_EQUAL(raw.status, 101);
	/* Either order: the refs say which reply answers which request. */
	for (i = 0, seen = 0; i < 2; i++) {
		payload = NULL;
		if (ts_raw_frame(&raw, TS_TIMEOUT, &op, &payload, &plen) != 1) {
			CU_FAIL("no answer to a request pipelined after the "
			    "upgrade");
			break;
		}
		j = json_loadb(payload, plen, 0, NULL);
		s = ts_str(j, "ref");
		if (op == 1 && ts_is_op(j, "subscribed") && ts_streq(s, "p1"))
			seen |= 1;
		else if (op == 1 && ts_is_op(j, "pong") && ts_streq(s, "p2"))
			seen |= 2;
		else
			fprintf(stderr, "  pipelined: expected subscribed p1 "
			    "and pong p2, got %s\n", payload);
		json_decref(j);
		j = NULL;
		free(payload);
	}
	CU_ASSERT_EQUAL(seen, 3);
	ts_raw_close(&raw);

	/* Other paths: 404 with the JSON error body. */
	REQUIRE(hd_http(hd, "GET", "/no/such/path", NULL, NULL, 0, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 404);
	j = hd_resp_json(&r);
	CU_ASSERT(ts_int(json_object_get(j, "error"), "code") == 40400);
	CU_ASSERT(ts_str(json_object_get(j, "error"), "message") != NULL);
	if (r.status != 404 || ts_int(json_object_get(j, "error"), "code") !=
	    40400)
		fprintf(stderr, "  404: got %d %s\n", r.status, r.body);
	json_decref(j);
	j = NULL;
	hd_resp_free(&r);

	/* /healthz */
	REQUIRE(hd_http(hd, "GET", "/healthz", NULL, NULL, 0, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	j = hd_resp_json(&r);
	CU_ASSERT(ts_str(j, "status") != NULL &&
	    strcmp(ts_str(j, "status"), "ok") == 0);
	CU_ASSERT(ts_str(j, "storage") != NULL &&
	    strcmp(ts_str(j, "storage"), "ok") == 0);
	CU_ASSERT(ts_str(j, "version") != NULL);
	CU_ASSERT(ts_int(j, "uptime_s") >= 0);
	if (r.status != 200 || ts_int(j, "uptime_s") < 0)
		fprintf(stderr, "  /healthz: got %d %s\n", r.status, r.body);
	json_decref(j);
	j = NULL;
	hd_resp_free(&r);
out:
	json_decref(j);
	wsc_close(w);
	ts_raw_close(&raw);
	ts_done(hd, before);
}

/* Whether s is 16 lowercase hex characters. */
static int
is_epoch(const char *s)
{
	return (s != NULL && strlen(s) == 16 &&
	    strspn(s, "0123456789abcdef") == 16);
}

/*
 * The shapes of subscribed, published and message as DESIGN.md gives
 * them: a new channel's epoch comes with the first subscribe and is the
 * one it resumes with; server-generated ids are "<epoch>-<serial>"; name
 * and encoding travel with the message; time is the commit time.
 */
static void
test_shapes(void)
{
	unsigned int	 before = CU_get_number_of_failures();
	struct hd	*hd;
	struct wsc	*p = NULL, *s = NULL, *r = NULL;
	json_t		*j = NULL, *want = NULL;
	char		 epoch[17], id[64];
	long long	 now, t;

	REQUIRE((hd = ts_start(NULL)) != NULL);
	REQUIRE((p = ts_ws(hd)) != NULL);
	REQUIRE((s = ts_ws(hd)) != NULL);
	REQUIRE(hd_ws_send_json(s, "{\"op\":\"subscribe\",\"channel\":"
	    "\"shape\",\"ref\":\"sub\"}") == 0);
	REQUIRE((j = hd_ws_expect_op(s, "subscribed", TS_TIMEOUT)) != NULL);
	CU_ASSERT(ts_streq(ts_str(j, "ref"), "sub"));
	CU_ASSERT(ts_streq(ts_str(j, "channel"), "shape"));
	CU_ASSERT(is_epoch(ts_str(j, "epoch")));
	CU_ASSERT(ts_int(j, "head") == 0);
	CU_ASSERT(json_object_get(j, "resumed") == NULL);
	if (!is_epoch(ts_str(j, "epoch")) || ts_int(j, "head") != 0)
		ts_dump("expected subscribed with an epoch and head 0", j);
	REQUIRE(is_epoch(ts_str(j, "epoch")));
	snprintf(epoch, sizeof epoch, "%s", ts_str(j, "epoch"));
	json_decref(j);

	/* No id: the server makes one, "<epoch>-<serial>". */
	REQUIRE(hd_ws_send_json(p, "{\"op\":\"publish\",\"channel\":"
	    "\"shape\",\"name\":\"created\",\"ref\":7,\"data\":"
	    "{\"n\":1,\"s\":\"\\u00e9\"}}") == 0);
	REQUIRE((j = hd_ws_expect_op(p, "published", TS_TIMEOUT)) != NULL);
	snprintf(id, sizeof id, "%s-1", epoch);
	CU_ASSERT(ts_int(j, "ref") == 7 && ts_int(j, "serial") == 1 &&
	    ts_streq(ts_str(j, "channel"), "shape") &&
	    ts_streq(ts_str(j, "id"), id) &&
	    json_is_false(json_object_get(j, "duplicate")) &&
	    ts_streq(ts_str(j, "sync"), "always"));
	if (!ts_streq(ts_str(j, "id"), id) || ts_int(j, "serial") != 1) {
		fprintf(stderr, "  expected published ref 7 serial 1 id %s "
		    "duplicate false sync always\n", id);
		ts_dump("got", j);
	}
	json_decref(j);
	REQUIRE((j = hd_ws_expect_op(s, "message", TS_TIMEOUT)) != NULL);
	now = (long long)store_now_ms();
	t = ts_int(j, "time");
	want = json_pack("{s:i,s:s}", "n", 1, "s", "\xc3\xa9");
	CU_ASSERT(ts_streq(ts_str(j, "channel"), "shape") &&
	    ts_int(j, "serial") == 1 && ts_streq(ts_str(j, "id"), id) &&
	    ts_streq(ts_str(j, "name"), "created") &&
	    json_object_get(j, "encoding") == NULL &&
	    json_object_get(j, "client") == NULL &&
	    json_equal(json_object_get(j, "data"), want));
	CU_ASSERT(t > now - 60000 && t <= now + 1000);
	if (!json_equal(json_object_get(j, "data"), want) ||
	    !ts_streq(ts_str(j, "name"), "created") ||
	    !ts_streq(ts_str(j, "id"), id))
		ts_dump("expected message 1 name created data "
		    "{\"n\":1,\"s\":\"\\u00e9\"} id <epoch>-1", j);
	json_decref(j);
	json_decref(want);
	want = NULL;

	/* Binary as base64. */
	REQUIRE(hd_ws_send_json(p, "{\"op\":\"publish\",\"channel\":"
	    "\"shape\",\"encoding\":\"base64\",\"data\":\"aGVsbG8=\"}") ==
	    0);
	json_decref(hd_ws_expect_op(p, "published", TS_TIMEOUT));
	REQUIRE((j = hd_ws_expect_op(s, "message", TS_TIMEOUT)) != NULL);
	CU_ASSERT(ts_int(j, "serial") == 2 &&
	    ts_streq(ts_str(j, "encoding"), "base64") &&
	    ts_streq(json_string_value(json_object_get(j, "data")),
	    "aGVsbG8=") && json_object_get(j, "name") == NULL);
	if (!ts_streq(ts_str(j, "encoding"), "base64"))
		ts_dump("expected message 2 encoding base64 data aGVsbG8=", j);
	json_decref(j);
	j = NULL;

	/* The epoch of the first subscribe is the one to resume with. */
	REQUIRE((r = ts_ws(hd)) != NULL);
	REQUIRE(ts_resume(r, "shape", 1, epoch, NULL, &j) == 0);
	CU_ASSERT(ts_true(j, "resumed") && ts_int(j, "head") == 2);
	json_decref(j);
	j = NULL;
	CU_ASSERT(expect_message(r, 2) == 0);
out:
	json_decref(j);
	json_decref(want);
	wsc_close(p);
	wsc_close(s);
	wsc_close(r);
	ts_done(hd, before);
}

/* One bad request and the error it must get. */
struct bad_case {
	const char	*req;
	int		 code;
	const char	*ref;		/* JSON text, NULL: no ref */
};

/* Expect the connection *v to be closed with code want; drop it. */
static void
ts_expect_close(struct wsc **v, int want, const char *what)
{
	int	code;

	code = ts_close_code(*v, TS_TIMEOUT);
	CU_ASSERT_EQUAL(code, want);
	if (code != want)
		fprintf(stderr, "  %s: expected close %d, got %d\n", what, want,
		    code);
	wsc_drop(*v);
	*v = NULL;
}

/*
 * Guarantee 6: bad input gets an error with its code and the connection
 * goes on (a ping still answers); WebSocket-level violations close with
 * the RFC 6455 code; the server keeps serving.
 */
static void
test_bad_input(void)
{
	unsigned int	 before = CU_get_number_of_failures();
	static const struct bad_case cases[] = {
		{ "{", 40000, NULL },
		{ "{\"op\":\"ping\"", 40000, NULL },
		{ "[1,2]", 40000, NULL },
		{ "\"op\"", 40000, NULL },
		{ "{\"ref\":1}", 40000, "1" },
		{ "{\"op\":5,\"ref\":2}", 40000, "2" },
		{ "{\"op\":\"nope\",\"ref\":\"r3\"}", 40001, "\"r3\"" },
		{ "{\"op\":\"subscribe\",\"ref\":4}", 40000, "4" },
		{ "{\"op\":\"subscribe\",\"channel\":5,\"ref\":5}", 40000,
		    "5" },
		{ "{\"op\":\"publish\",\"channel\":[\"a\"],\"data\":1,"
		    "\"ref\":6}", 40000, "6" },
		{ "{\"op\":\"unsubscribe\",\"ref\":7}", 40000, "7" },
		{ "{\"op\":\"subscribe\",\"channel\":\"\",\"ref\":8}", 40002,
		    "8" },
		{ "{\"op\":\"subscribe\",\"channel\":\"a\\u0001b\",\"ref\":9}",
		    40002, "9" },
		{ "{\"op\":\"subscribe\",\"channel\":\"a\\u007fb\",\"ref\":10}",
		    40002, "10" },
		{ "{\"op\":\"subscribe\",\"channel\":\"a\\u0085b\",\"ref\":11}",
		    40002, "11" },
		{ "{\"op\":\"publish\",\"channel\":\"a\\nb\",\"data\":1,"
		    "\"ref\":12}", 40002, "12" },
		{ "{\"op\":\"subscribe\",\"channel\":\"$x\",\"ref\":13}", 40301,
		    "13" },
		{ "{\"op\":\"publish\",\"channel\":\"$x\",\"data\":1,"
		    "\"ref\":14}", 40301, "14" },
		{ "{\"op\":\"subscribe\",\"channel\":\"ok\",\"from\":"
		    "{\"serial\":1},\"ref\":15}", 40003, "15" },
		{ "{\"op\":\"subscribe\",\"channel\":\"ok\",\"rewind\":-1,"
		    "\"ref\":16}", 40003, "16" },
		{ "{\"op\":\"subscribe\",\"channel\":\"ok\",\"rewind\":\"10x\","
		    "\"ref\":17}", 40003, "17" },
		{ "{\"op\":\"subscribe\",\"channel\":\"ok\",\"from\":"
		    "{\"serial\":1,\"epoch\":\"0123456789abcdef\"},"
		    "\"rewind\":5,\"ref\":18}", 40003, "18" },
		{ "{\"op\":\"subscribe\",\"channel\":\"ok\",\"since\":-5,"
		    "\"ref\":19}", 40003, "19" },
		{ "{\"op\":\"subscribe\",\"channel\":\"ok\",\"rewind\":5,"
		    "\"since\":5,\"ref\":20}", 40003, "20" },
		{ "{\"op\":\"subscribe\",\"channel\":\"ok\",\"from\":"
		    "{\"serial\":-1,\"epoch\":\"0123456789abcdef\"},"
		    "\"ref\":21}", 40003, "21" },
		{ "{\"op\":\"publish\",\"channel\":\"ok\",\"ref\":22}", 40000,
		    "22" },
		{ "{\"op\":\"unsubscribe\",\"channel\":\"never\",\"ref\":23}",
		    40401, "23" },
		{ "{\"op\":\"nope\",\"ref\":\"a string ref\"}", 40001,
		    "\"a string ref\"" },
		{ "{\"op\":\"nope\",\"ref\":2.5}", 40001, "2.5" },
	};
	struct hd	*hd;
	struct wsc	*w = NULL, *v = NULL;
	json_t		*j = NULL;
	uint8_t		 frame[64];
	const char	*badutf8 = "{\"op\":\"ping\",\"ref\":\"\xff\xfe\"}";
	char		 ref[32], name[300], *big = NULL;
	size_t		 i, n;

	hd = ts_start("--max-message-bytes", "1024",
	    "--max-subscriptions", "4", NULL);
	REQUIRE(hd != NULL);
	w = ts_ws(hd);
	REQUIRE(w != NULL);

	for (i = 0; i < nitems(cases); i++) {
		CU_ASSERT(hd_ws_send_json(w, "%s", cases[i].req) == 0);
		if (ts_expect_error(w, cases[i].code, cases[i].ref) != 0) {
			CU_FAIL("wrong answer to a bad request");
			fprintf(stderr, "  for request %s\n", cases[i].req);
		}
		snprintf(ref, sizeof ref, "after-%zu", i);
		REQUIRE(ts_pingpong(w, ref) == 0);
		CU_ASSERT(ts_healthy(hd));
	}

	/* 255 bytes is a name, 256 is not. */
	memset(name, 'c', 256);
	name[255] = '\0';
	CU_ASSERT(ts_subscribe(w, name, NULL, NULL, NULL, NULL) == 0);
	name[255] = 'c';
	name[256] = '\0';
	CU_ASSERT(hd_ws_send_json(w, "{\"op\":\"subscribe\",\"channel\":"
	    "\"%s\",\"ref\":\"long\"}", name) == 0);
	CU_ASSERT(ts_expect_error(w, 40002, "\"long\"") == 0);
	REQUIRE(ts_pingpong(w, "after-long") == 0);
	name[255] = '\0';
	CU_ASSERT(hd_ws_send_json(w, "{\"op\":\"unsubscribe\",\"channel\":"
	    "\"%s\"}", name) == 0);
	json_decref(hd_ws_expect_op(w, "unsubscribed", TS_TIMEOUT));

	/* Subscribe, twice, unsubscribe, twice; refs echoed on success. */
	CU_ASSERT(hd_ws_send_json(w, "{\"op\":\"subscribe\",\"channel\":"
	    "\"dup\",\"ref\":\"s1\"}") == 0);
	j = hd_ws_expect_op(w, "subscribed", TS_TIMEOUT);
	CU_ASSERT(j != NULL && ts_streq(ts_str(j, "ref"), "s1"));
	json_decref(j);
	j = NULL;
	CU_ASSERT(hd_ws_send_json(w, "{\"op\":\"subscribe\",\"channel\":"
	    "\"dup\",\"ref\":\"s2\"}") == 0);
	CU_ASSERT(ts_expect_error(w, 40901, "\"s2\"") == 0);
	CU_ASSERT(hd_ws_send_json(w, "{\"op\":\"unsubscribe\",\"channel\":"
	    "\"dup\",\"ref\":3}") == 0);
	j = hd_ws_expect_op(w, "unsubscribed", TS_TIMEOUT);
	CU_ASSERT(j != NULL && ts_int(j, "ref") == 3 &&
	    ts_streq(ts_str(j, "channel"), "dup"));
	json_decref(j);
	j = NULL;
	CU_ASSERT(hd_ws_send_json(w, "{\"op\":\"unsubscribe\",\"channel\":"
	    "\"dup\",\"ref\":4}") == 0);
	CU_ASSERT(ts_expect_error(w, 40401, "4") == 0);
	REQUIRE(ts_pingpong(w, "after-dup") == 0);

	/* --max-subscriptions 4: the fifth is 42901 until one goes. */
	for (i = 1; i <= 4; i++) {
		snprintf(name, sizeof name, "many-%zu", i);
		CU_ASSERT(ts_subscribe(w, name, NULL, NULL, NULL, NULL) == 0);
	}
	CU_ASSERT(hd_ws_send_json(w, "{\"op\":\"subscribe\",\"channel\":"
	    "\"many-5\",\"ref\":5}") == 0);
	CU_ASSERT(ts_expect_error(w, 42901, "5") == 0);
	REQUIRE(ts_pingpong(w, "after-many") == 0);
	CU_ASSERT(hd_ws_send_json(w, "{\"op\":\"unsubscribe\",\"channel\":"
	    "\"many-1\"}") == 0);
	json_decref(hd_ws_expect_op(w, "unsubscribed", TS_TIMEOUT));
	CU_ASSERT(ts_subscribe(w, "many-5", NULL, NULL, NULL, NULL) == 0);
	for (i = 2; i <= 5; i++) {
		CU_ASSERT(hd_ws_send_json(w, "{\"op\":\"unsubscribe\","
		    "\"channel\":\"many-%zu\"}", i) == 0);
		json_decref(hd_ws_expect_op(w, "unsubscribed", TS_TIMEOUT));
	}

	/* Over max_message_bytes (1024) but under 4x: 41300, still usable. */
	big = xmalloc(3001);
	memset(big, 'b', 3000);
	big[3000] = '\0';
	CU_ASSERT(hd_ws_send_json(w, "{\"op\":\"publish\",\"channel\":"
	    "\"big\",\"ref\":\"big\",\"data\":\"%s\"}", big) == 0);
	CU_ASSERT(ts_expect_error(w, 41300, "\"big\"") == 0);
	REQUIRE(ts_pingpong(w, "after-big") == 0);
	CU_ASSERT(hd_ws_send_json(w, "{\"op\":\"publish\",\"channel\":"
	    "\"big\",\"ref\":42,\"data\":\"small\"}") == 0);
	j = hd_ws_expect_op(w, "published", TS_TIMEOUT);
	CU_ASSERT(j != NULL && ts_int(j, "ref") == 42 &&
	    ts_int(j, "serial") == 1);
	if (j != NULL && (ts_int(j, "ref") != 42 || ts_int(j, "serial") != 1))
		ts_dump("expected published ref 42 serial 1", j);
	json_decref(j);
	j = NULL;

	/* A binary frame: 40000, still usable. */
	CU_ASSERT(wsc_send_binary(w, "\x01\x02\x03", 3) == 0);
	CU_ASSERT(ts_expect_error(w, 40000, NULL) == 0);
	REQUIRE(ts_pingpong(w, "after-binary") == 0);
	CU_ASSERT(ts_healthy(hd));

	/* An unmasked client frame: close 1002. */
	REQUIRE((v = ts_ws(hd)) != NULL);
	n = ts_frame(frame, 1, "{\"op\":\"ping\"}", 13, 0);
	CU_ASSERT(wsc_send_raw(v, frame, n) == 0);
	ts_expect_close(&v, 1002, "unmasked frame");
	CU_ASSERT(ts_healthy(hd));

	/* Invalid UTF-8 in a text frame: close 1007. */
	REQUIRE((v = ts_ws(hd)) != NULL);
	CU_ASSERT(wsc_send_text(v, badutf8, strlen(badutf8)) == 0);
	ts_expect_close(&v, 1007, "invalid UTF-8");
	CU_ASSERT(ts_healthy(hd));

	/* Over 4 x max_message_bytes: close 1009. */
	REQUIRE((v = ts_ws(hd)) != NULL);
	big = xrealloc(big, 5001);
	memset(big, ' ', 5000);
	memcpy(big, "{\"op\":\"ping\"}", 13);
	big[5000] = '\0';
	wsc_send_text(v, big, 5000);
	ts_expect_close(&v, 1009, "5000-byte message with a limit of 4 x 1024");

	/*
	 * A message in three frames with a ping between them: answered
	 * once whole.  Then one whose frames are each under 4 x 1024 but
	 * together over it: close 1009.
	 */
	REQUIRE((v = ts_ws(hd)) != NULL);
	n = ts_frame_fin(frame, 1, 0, "{\"op\":", 6, 1);
	n += ts_frame_fin(frame + n, 9, 1, "hi", 2, 1);
	n += ts_frame_fin(frame + n, 0, 0, "\"ping\",\"re", 10, 1);
	n += ts_frame_fin(frame + n, 0, 1, "f\":\"frag\"}", 10, 1);
	CU_ASSERT(wsc_send_raw(v, frame, n) == 0);
	j = hd_ws_expect_op(v, "pong", TS_TIMEOUT);
	CU_ASSERT(j != NULL && strcmp(ts_str(j, "ref"), "frag") == 0);
	if (j == NULL || strcmp(ts_str(j, "ref"), "frag") != 0)
		ts_dump("expected pong with ref frag", j);
	json_decref(j);
	j = NULL;
	big = xrealloc(big, 3001);
	memset(big, ' ', 3000);
	for (i = 0; i < 2; i++) {
		uint8_t	piece[3100];

		n = ts_frame_fin(piece, i == 0 ? 1 : 0, 0, big, 3000, 1);
		CU_ASSERT(wsc_send_raw(v, piece, n) == 0);
	}
	ts_expect_close(&v, 1009, "6000 bytes in two frames, limit 4 x 1024");

	/* The first connection and the server are still fine. */
	CU_ASSERT(ts_pingpong(w, "at-the-end") == 0);
	CU_ASSERT(ts_healthy(hd));
	CU_ASSERT(hd_pid(hd) != -1);
out:
	free(big);
	json_decref(j);
	wsc_drop(v);
	wsc_close(w);
	ts_done(hd, before);
}

/*
 * Guarantee 4: a second publish with the same id on the same channel is
 * not stored again and gets the original serial with duplicate:true; a
 * subscriber sees the message once. The same id elsewhere is stored.
 */
static void
test_idempotent(void)
{
	unsigned int	 before = CU_get_number_of_failures();
	struct hd	*hd;
	struct wsc	*p = NULL, *s = NULL;
	json_t		*j = NULL, *a = NULL, *b = NULL;
	uint64_t	 s1, s2, s3;
	int		 dup;

	REQUIRE((hd = ts_start(NULL)) != NULL);
	REQUIRE((p = ts_ws(hd)) != NULL);
	REQUIRE((s = ts_ws(hd)) != NULL);
	REQUIRE(ts_subscribe(s, "idem", NULL, NULL, NULL, NULL) == 0);

	REQUIRE(ts_publish(p, "idem", "dup-1", "{\"v\":\"first\"}", &s1,
	    &dup) == 0);
	CU_ASSERT_EQUAL(s1, 1);
	CU_ASSERT_EQUAL(dup, 0);
	REQUIRE(ts_publish(p, "idem", "dup-1", "{\"v\":\"second\"}", &s2,
	    &dup) == 0);
	CU_ASSERT_EQUAL(s2, s1);
	CU_ASSERT_EQUAL(dup, 1);
	if (s2 != s1 || dup != 1)
		fprintf(stderr, "  repeated id: expected serial %llu "
		    "duplicate true, got %llu %s\n", (unsigned long long)s1,
		    (unsigned long long)s2, dup ? "true" : "false");
	REQUIRE(ts_publish(p, "idem", "other", "2", &s3, &dup) == 0);
	CU_ASSERT_EQUAL(s3, s1 + 1);
	CU_ASSERT_EQUAL(dup, 0);

	/* Two with one id in flight together: one serial, one duplicate. */
	REQUIRE(hd_ws_send_json(p, "{\"op\":\"publish\",\"channel\":\"idem\","
	    "\"id\":\"twin\",\"ref\":1,\"data\":\"a\"}") == 0);
	REQUIRE(hd_ws_send_json(p, "{\"op\":\"publish\",\"channel\":\"idem\","
	    "\"id\":\"twin\",\"ref\":2,\"data\":\"b\"}") == 0);
	a = hd_ws_expect_op(p, "published", TS_TIMEOUT);
	b = hd_ws_expect_op(p, "published", TS_TIMEOUT);
	REQUIRE(a != NULL && b != NULL);
	CU_ASSERT(ts_int(a, "ref") == 1 && ts_int(b, "ref") == 2);
	CU_ASSERT(ts_int(a, "serial") == 3 && ts_int(b, "serial") == 3);
	CU_ASSERT(json_is_false(json_object_get(a, "duplicate")) &&
	    json_is_true(json_object_get(b, "duplicate")));
	if (ts_int(a, "serial") != 3 || ts_int(b, "serial") != 3 ||
	    !json_is_true(json_object_get(b, "duplicate"))) {
		ts_dump("first of twins (want serial 3)", a);
		ts_dump("second of twins (want serial 3, duplicate)", b);
	}

	/* The subscriber: 1 "first", 2 "other", 3 "a", and nothing else. */
	j = hd_ws_expect_op(s, "message", TS_TIMEOUT);
	CU_ASSERT(j != NULL && ts_int(j, "serial") == 1 &&
	    ts_streq(ts_str(j, "id"), "dup-1") &&
	    ts_streq(ts_str(json_object_get(j, "data"), "v"), "first"));
	if (j == NULL || !ts_streq(ts_str(json_object_get(j, "data"), "v"),
	    "first"))
		ts_dump("expected message 1 \"dup-1\" {\"v\":\"first\"}", j);
	json_decref(j);
	j = hd_ws_expect_op(s, "message", TS_TIMEOUT);
	CU_ASSERT(j != NULL && ts_int(j, "serial") == 2 &&
	    ts_streq(ts_str(j, "id"), "other"));
	if (j == NULL || ts_int(j, "serial") != 2)
		ts_dump("expected message 2 \"other\"", j);
	json_decref(j);
	j = hd_ws_expect_op(s, "message", TS_TIMEOUT);
	CU_ASSERT(j != NULL && ts_int(j, "serial") == 3 &&
	    ts_streq(json_string_value(json_object_get(j, "data")), "a"));
	json_decref(j);
	j = NULL;
	CU_ASSERT(ts_quiet(s, 300));

	/* The same id on another channel is another message. */
	REQUIRE(ts_publish(p, "idem-2", "dup-1", "1", &s1, &dup) == 0);
	CU_ASSERT_EQUAL(s1, 1);
	CU_ASSERT_EQUAL(dup, 0);
	/* And still a duplicate on the first one later. */
	REQUIRE(ts_publish(p, "idem", "dup-1", "3", &s1, &dup) == 0);
	CU_ASSERT(s1 == 1 && dup == 1);
	CU_ASSERT(ts_quiet(s, 200));
out:
	json_decref(a);
	json_decref(b);
	json_decref(j);
	wsc_close(p);
	wsc_close(s);
	ts_done(hd, before);
}

/* Start a publisher of count messages on channel in a thread. */
static int
pub_start(struct ts_pub *p, pthread_t *t, struct hd *hd, const char *channel,
    const char *tag, int count, int window)
{
	struct wsc	*w;

	if ((w = ts_ws(hd)) == NULL)
		return (-1);
	ts_pub_init(p, w, channel, tag, 0, count, window);
	if (pthread_create(t, NULL, ts_pub_run, p) != 0) {
		wsc_close(w);
		ts_pub_free(p);
		return (-1);
	}
	return (0);
}

/* Wait for a publisher thread and release it. */
static void
pub_join(struct ts_pub *p, pthread_t t)
{
	pthread_join(t, NULL);
	CHECK_RUN(p);
	CU_ASSERT_EQUAL(p->acked, p->count);
	wsc_close(p->w);
	ts_pub_free(p);
}

/* Publish count messages of publisher tag/0 on channel, in this thread. */
static int
pub_now(struct hd *hd, const char *channel, const char *tag, int count)
{
	struct ts_pub	 p;
	struct wsc	*w;
	int		 r;

	if ((w = ts_ws(hd)) == NULL)
		return (-1);
	ts_pub_init(&p, w, channel, tag, 0, count, 64);
	ts_pub_run(&p);
	r = p.errors == 0 && p.acked == count ? 0 : -1;
	if (r != 0)
		fprintf(stderr, "  publishing %d on %s: %s\n", count, channel,
		    p.err);
	wsc_close(w);
	ts_pub_free(&p);
	return (r);
}

/* Read serials first..last of publisher tag/0 on w, in this thread. */
static int
sub_now(struct wsc *w, const char *channel, const char *tag, uint64_t first,
    uint64_t last)
{
	struct ts_sub	s;

	ts_sub_init(&s, w, channel, first, last);
	s.check_pubs = 1;
	s.tag = tag;
	s.lastidx[0] = (int)first - 2;
	s.deadline = ts_now() + 30000;
	ts_sub_run(&s);
	if (s.errors != 0)
		fprintf(stderr, "  reading %llu..%llu of %s: %s\n",
		    (unsigned long long)first, (unsigned long long)last,
		    channel, s.err);
	return (s.errors == 0 ? 0 : -1);
}

/*
 * Guarantee 3: a client whose connection dropped mid-stream resumes with
 * from = the last serial it saw and gets every later message once, while
 * the publisher goes on.
 */
static void
test_resume_dropped(void)
{
	unsigned int	 before = CU_get_number_of_failures();
	struct hd	*hd;
	struct ts_pub	 p;
	struct wsc	*a = NULL, *b = NULL;
	pthread_t	 t;
	json_t		*j = NULL;
	char		 epoch[17];
	int		 started = 0;

	REQUIRE((hd = ts_start(NULL)) != NULL);
	REQUIRE((a = ts_ws(hd)) != NULL);
	REQUIRE(ts_subscribe(a, "resume", NULL, epoch, NULL, NULL) == 0);
	REQUIRE(pub_start(&p, &t, hd, "resume", "rs", 3000, 2) == 0);
	started = 1;

	CU_ASSERT(sub_now(a, "resume", "rs", 1, 700) == 0);
	wsc_drop(a);
	a = NULL;

	REQUIRE((b = ts_ws(hd)) != NULL);
	REQUIRE(ts_resume(b, "resume", 700, epoch, NULL, &j) == 0);
	CU_ASSERT(ts_true(j, "resumed"));
	CU_ASSERT(json_object_get(j, "reason") == NULL);
	if (!ts_true(j, "resumed"))
		ts_dump("expected resumed:true", j);
	if (ts_int(j, "head") >= 3000)
		fprintf(stderr, "  note: the publisher finished before the "
		    "resume\n");
	CU_ASSERT(sub_now(b, "resume", "rs", 701, 3000) == 0);
	pub_join(&p, t);
	started = 0;
	CU_ASSERT(ts_quiet(b, 300));
out:
	if (started)
		pub_join(&p, t);
	json_decref(j);
	wsc_drop(a);
	wsc_close(b);
	ts_done(hd, before);
}

/* Publish n messages of data on channel, each after the last's ack. */
static int
publish_n(struct wsc *p, const char *channel, int n, const char *data)
{
	int	i;

	for (i = 0; i < n; i++) {
		if (ts_publish(p, channel, NULL, data, NULL, NULL) != 0)
			return (-1);
	}
	return (0);
}

/* Return the next message on w if it is serial (caller decrefs), or NULL. */
static json_t *
next_message(struct wsc *w, uint64_t serial)
{
	json_t	*j;

	if ((j = hd_ws_expect_op(w, "message", TS_TIMEOUT)) == NULL)
		return (NULL);
	if (ts_int(j, "serial") != (long long)serial) {
		fprintf(stderr, "  expected serial %llu\n",
		    (unsigned long long)serial);
		ts_dump("got", j);
		json_decref(j);
		return (NULL);
	}
	return (j);
}

/* Expect the next message on w to be serial. */
static int
expect_message(struct wsc *w, uint64_t serial)
{
	json_t	*j;

	if ((j = next_message(w, serial)) == NULL)
		return (-1);
	json_decref(j);
	return (0);
}

/*
 * Guarantee 3: resuming with another epoch says resumed:false
 * reason:"epoch" and starts live; a serial beyond the head says
 * reason:"serial"; the right epoch and serial resume; live subscriptions
 * carry no "resumed".
 */
static void
test_resume_epoch(void)
{
	unsigned int	 before = CU_get_number_of_failures();
	static const struct {
		uint64_t	 serial;	/* 0: no "from" */
		int		 wrong;		/* another epoch */
		int		 resumed;	/* 1 true, 0 false, -1 absent */
		const char	*reason;	/* NULL: none */
	} cases[] = {
		{ 3, 1, 0, "epoch" },
		{ 99, 0, 0, "serial" },
		{ 3, 0, 1, NULL },
		{ 5, 0, 1, NULL },
		{ 0, 0, -1, NULL },
	};
	struct hd	*hd;
	struct wsc	*p = NULL, *s[nitems(cases)] = { NULL };
	json_t		*j = NULL, *resumed;
	const char	*wrong;
	char		 epoch[17];
	uint64_t	 serial;
	size_t		 i;
	int		 ok;

	REQUIRE((hd = ts_start(NULL)) != NULL);
	REQUIRE((p = ts_ws(hd)) != NULL);
	REQUIRE(publish_n(p, "ep", 5, "1") == 0);
	REQUIRE(ts_epoch(hd, "ep", epoch, NULL) == 0);
	wrong = strcmp(epoch, "0123456789abcdef") == 0 ? "fedcba9876543210" :
	    "0123456789abcdef";
	for (i = 0; i < nitems(cases); i++) {
		REQUIRE((s[i] = ts_ws(hd)) != NULL);
		if (cases[i].serial != 0)
			REQUIRE(ts_resume(s[i], "ep", cases[i].serial,
			    cases[i].wrong ? wrong : epoch, NULL, &j) == 0);
		else
			REQUIRE(ts_subscribe(s[i], "ep", NULL, NULL, NULL,
			    &j) == 0);
		resumed = json_object_get(j, "resumed");
		ok = (cases[i].resumed == -1 ? resumed == NULL :
		    cases[i].resumed ? json_is_true(resumed) :
		    json_is_false(resumed)) && (cases[i].reason == NULL ?
		    json_object_get(j, "reason") == NULL :
		    ts_streq(ts_str(j, "reason"), cases[i].reason));
		/* A wrong epoch is answered with the right one. */
		if (cases[i].wrong)
			ok = ok && ts_streq(ts_str(j, "epoch"), epoch) &&
			    ts_int(j, "head") == 5;
		CU_ASSERT(ok);
		if (!ok) {
			fprintf(stderr, "  from %llu (%s epoch): want resumed "
			    "%d reason %s\n", (unsigned long long)
			    cases[i].serial, cases[i].wrong ? "wrong" : "right",
			    cases[i].resumed, cases[i].reason != NULL ?
			    cases[i].reason : "none");
			ts_dump("got", j);
		}
		json_decref(j);
		j = NULL;
	}

	/* Resumed from 3: 4 and 5; the others: nothing yet. */
	CU_ASSERT(expect_message(s[2], 4) == 0);
	CU_ASSERT(expect_message(s[2], 5) == 0);
	for (i = 0; i < nitems(cases); i++)
		CU_ASSERT(ts_quiet(s[i], i == 0 ? 300 : 50));

	/* Then all are live. */
	REQUIRE(ts_publish(p, "ep", NULL, "2", &serial, NULL) == 0);
	CU_ASSERT_EQUAL(serial, 6);
	for (i = 0; i < nitems(cases); i++)
		CU_ASSERT(expect_message(s[i], 6) == 0);
out:
	json_decref(j);
	wsc_close(p);
	for (i = 0; i < nitems(cases); i++)
		wsc_close(s[i]);
	ts_done(hd, before);
}

/* Trim channel name of the stopped daemon's store to its last keep. */
static int
trim_store(struct hd *hd, const char *name, uint64_t keep, uint64_t *removed)
{
	struct store_retention	 ret = { keep, 0, 0 };
	struct store		*st;
	char			*cause = NULL;
	uint64_t		 n;
	int			 rc, i;

	*removed = 0;
	rc = store_open(hd_datadir(hd), NULL, &st, &cause);
	if (rc != 0) {
		fprintf(stderr, "  store_open %s: %s\n", hd_datadir(hd),
		    cause != NULL ? cause : store_strerror(rc));
		free(cause);
		return (-1);
	}
	for (i = 0; i < 1000; i++) {
		rc = store_trim(st, name, strlen(name), &ret, 0, 1000, &n);
		if (rc < 0) {
			fprintf(stderr, "  store_trim: %s\n",
			    store_strerror(rc));
			break;
		}
		*removed += n;
		if (rc == 0)
			break;
	}
	store_close(st);
	return (rc == 0 ? 0 : -1);
}

/* Expect {"op":"gap"} with exact bounds. */
static int
expect_gap(struct wsc *w, const char *channel, uint64_t from, uint64_t to)
{
	json_t	*j;
	int	 r;

	if ((j = hd_ws_expect_op(w, "gap", TS_TIMEOUT)) == NULL)
		return (-1);
	r = ts_int(j, "from") == (long long)from &&
	    ts_int(j, "to") == (long long)to && ts_str(j, "reason") != NULL &&
	    strcmp(ts_str(j, "reason"), "retention") == 0 &&
	    ts_str(j, "channel") != NULL &&
	    strcmp(ts_str(j, "channel"), channel) == 0 ? 0 : -1;
	if (r != 0) {
		fprintf(stderr, "  expected gap %llu..%llu reason retention\n",
		    (unsigned long long)from, (unsigned long long)to);
		ts_dump("got", j);
	}
	json_decref(j);
	return (r);
}

/*
 * Guarantee 3 with retention: when the wanted messages were trimmed,
 * delivery starts at the oldest kept one, preceded by a gap naming exactly
 * what is missing. The server cannot trim by itself yet, so the store is
 * trimmed with the storage API while the server is stopped.
 */
static void
test_resume_gap(void)
{
	unsigned int	 before = CU_get_number_of_failures();
	static const struct {
		long long	 from;		/* -1: rewind */
		uint64_t	 gap_from;
		uint64_t	 gap_to;	/* 0: no gap */
	} cases[5] = {
		{ 10, 11, 60 },
		{ 59, 60, 60 },
		{ 60, 0, 0 },
		{ 0, 1, 60 },
		{ -1, 0, 0 },
	};
	struct hd	*hd;
	struct wsc	*s[5] = { NULL }, *p = NULL;
	json_t		*j = NULL;
	char		 epoch[17];
	uint64_t	 removed, head, serial;
	int		 i;

	REQUIRE((hd = ts_start(NULL)) != NULL);
	REQUIRE(pub_now(hd, "gap", "gp", 100) == 0);
	REQUIRE(ts_epoch(hd, "gap", epoch, &head) == 0);
	CU_ASSERT_EQUAL(head, 100);
	REQUIRE(hd_stop(hd) == 0);
	REQUIRE(trim_store(hd, "gap", 40, &removed) == 0);
	CU_ASSERT_EQUAL(removed, 60);
	REQUIRE(hd_restart(hd) == 0);

	for (i = 0; i < 5; i++)
		REQUIRE((s[i] = ts_ws(hd)) != NULL);
	/* From 10: resumed, gap 11..60, then 61..100. */
	REQUIRE(ts_resume(s[0], "gap", cases[0].from, epoch, &head, &j) == 0);
	CU_ASSERT(ts_true(j, "resumed"));
	CU_ASSERT_EQUAL(head, 100);
	json_decref(j);
	j = NULL;
	CU_ASSERT(expect_gap(s[0], "gap", cases[0].gap_from,
	    cases[0].gap_to) == 0);
	CU_ASSERT(sub_now(s[0], "gap", "gp", 61, 100) == 0);
	/*
	 * From 59: gap 60..60.  From 60 misses nothing.  From 0: everything
	 * was wanted, 1..60 are gone.  rewind larger than the log: everything
	 * kept, no gap.
	 */
	for (i = 1; i < 5; i++) {
		if (cases[i].from >= 0)
			REQUIRE(ts_resume(s[i], "gap", cases[i].from, epoch,
			    NULL, NULL) == 0);
		else
			REQUIRE(ts_subscribe(s[i], "gap", "\"rewind\":1000",
			    NULL, NULL, NULL) == 0);
		if (cases[i].gap_to != 0)
			CU_ASSERT(expect_gap(s[i], "gap", cases[i].gap_from,
			    cases[i].gap_to) == 0);
		CU_ASSERT(sub_now(s[i], "gap", "gp", 61, 100) == 0);
	}

	/* All of them go on live. */
	REQUIRE((p = ts_ws(hd)) != NULL);
	REQUIRE(ts_publish(p, "gap", NULL, "\"live\"", &serial, NULL) == 0);
	CU_ASSERT_EQUAL(serial, 101);
	for (i = 0; i < 5; i++)
		CU_ASSERT(expect_message(s[i], 101) == 0);
	for (i = 0; i < 5; i++)
		CU_ASSERT(ts_quiet(s[i], i == 0 ? 200 : 20));
out:
	json_decref(j);
	wsc_close(p);
	for (i = 0; i < 5; i++)
		wsc_close(s[i]);
	ts_done(hd, before);
}

/* rewind N: the last N, then live; N over the log: everything. */
static void
test_rewind_count(void)
{
	unsigned int	 before = CU_get_number_of_failures();
	static const struct {
		const char	*pos;
		uint64_t	 first;	/* 51: nothing before live */
	} cases[] = {
		{ "\"rewind\":10", 41 },
		{ "\"rewind\":1", 50 },
		{ "\"rewind\":0", 51 },
		{ "\"rewind\":50", 1 },
		{ "\"rewind\":1000000", 1 },
		{ NULL, 51 },
	};
	struct hd	*hd;
	struct wsc	*s[nitems(cases)] = { NULL }, *p = NULL;
	uint64_t	 head, serial;
	size_t		 i;

	REQUIRE((hd = ts_start(NULL)) != NULL);
	REQUIRE(pub_now(hd, "rw", "rw", 50) == 0);
	for (i = 0; i < nitems(cases); i++) {
		REQUIRE((s[i] = ts_ws(hd)) != NULL);
		REQUIRE(ts_subscribe(s[i], "rw", cases[i].pos, NULL, &head,
		    NULL) == 0);
		CU_ASSERT_EQUAL(head, 50);
		if (cases[i].first <= 50 && sub_now(s[i], "rw", "rw",
		    cases[i].first, 50) != 0) {
			CU_FAIL("rewind by count");
			fprintf(stderr, "  for %s\n", cases[i].pos);
		}
		CU_ASSERT(ts_quiet(s[i], 50));
	}
	REQUIRE((p = ts_ws(hd)) != NULL);
	REQUIRE(ts_publish(p, "rw", "rw-0-50", "{\"k\":0,\"i\":50}", &serial,
	    NULL) == 0);
	CU_ASSERT_EQUAL(serial, 51);
	for (i = 0; i < nitems(cases); i++)
		CU_ASSERT(expect_message(s[i], 51) == 0);
out:
	wsc_close(p);
	for (i = 0; i < nitems(cases); i++) {
		wsc_close(s[i]);
	}
	ts_done(hd, before);
}

/* Read n messages with serials from first up, storing their times. */
static int
read_times(struct wsc *w, uint64_t first, int n, long long *times)
{
	json_t	*j;
	int	 i;

	for (i = 0; i < n; i++) {
		if ((j = next_message(w, first + i)) == NULL)
			return (-1);
		if (times != NULL)
			times[i] = ts_int(j, "time");
		json_decref(j);
	}
	return (0);
}

/*
 * Subscribe a new connection to "tm" with pos (its "rewind" or "since")
 * and read the n messages from serial first (their times into times
 * unless NULL), then nothing for quiet_ms (0: not checked).  Return -1 if
 * the connection or the subscription failed, 1 if the messages were not
 * as wanted (asserted), else 0.
 */
static int
rewind_read(struct hd *hd, const char *pos, uint64_t first, int n,
    long long *times, int quiet_ms)
{
	struct wsc	*s;
	int		 r;

	if ((s = ts_ws(hd)) == NULL)
		return (-1);
	if (ts_subscribe(s, "tm", pos, NULL, NULL, NULL) != 0) {
		wsc_close(s);
		return (-1);
	}
	r = read_times(s, first, n, times) == 0 ? 0 : 1;
	CU_ASSERT_EQUAL(r, 0);
	if (quiet_ms != 0)
		CU_ASSERT(ts_quiet(s, quiet_ms));
	wsc_close(s);
	return (r);
}

/*
 * rewind by duration and since: messages with time >= now - duration, or
 * >= since. Two bursts 1.5 s apart tell them apart.
 */
static void
test_rewind_time(void)
{
	unsigned int	 before = CU_get_number_of_failures();
	struct hd	*hd;
	struct wsc	*p = NULL, *s = NULL;
	long long	 times[10];
	char		 pos[64];
	uint64_t	 serial;
	int		 i;

	REQUIRE((hd = ts_start(NULL)) != NULL);
	REQUIRE((p = ts_ws(hd)) != NULL);
	REQUIRE(publish_n(p, "tm", 5, "1") == 0);
	ts_sleep(1500);
	REQUIRE(publish_n(p, "tm", 5, "2") == 0);

	/* The last second holds the second burst only. */
	REQUIRE(rewind_read(hd, "\"rewind\":\"1s\"", 6, 5, NULL, 100) != -1);
	/* The last ten minutes hold everything; keep the times. */
	REQUIRE(rewind_read(hd, "\"rewind\":\"10m\"", 1, 10, times, 100) ==
	    0);
	for (i = 1; i < 10; i++)
		CU_ASSERT(times[i] >= times[i - 1]);
	CU_ASSERT(times[5] - times[4] >= 1000);

	/* since the time of serial 6, and just after serial 5's. */
	snprintf(pos, sizeof pos, "\"since\":%lld", times[5]);
	REQUIRE(rewind_read(hd, pos, 6, 5, NULL, 100) != -1);
	snprintf(pos, sizeof pos, "\"since\":%lld", times[4] + 1);
	REQUIRE(rewind_read(hd, pos, 6, 5, NULL, 0) != -1);
	/* since serial 5's time exactly includes it (and any as old). */
	for (i = 0; times[i] < times[4]; i++)
		;
	snprintf(pos, sizeof pos, "\"since\":%lld", times[4]);
	REQUIRE(rewind_read(hd, pos, i + 1, 10 - i, NULL, 0) != -1);
	/* since 0: everything. */
	REQUIRE(rewind_read(hd, "\"since\":0", 1, 10, NULL, 0) != -1);
	/* since the future: nothing, then live. */
	REQUIRE((s = ts_ws(hd)) != NULL);
	snprintf(pos, sizeof pos, "\"since\":%lld", times[9] + 3600000);
	REQUIRE(ts_subscribe(s, "tm", pos, NULL, NULL, NULL) == 0);
	CU_ASSERT(ts_quiet(s, 200));
	REQUIRE(ts_publish(p, "tm", NULL, "3", &serial, NULL) == 0);
	CU_ASSERT(expect_message(s, 11) == 0);
out:
	wsc_close(p);
	wsc_close(s);
	ts_done(hd, before);
}

/*
 * A client that does not answer pings is closed with 4408 within
 * ping_interval + ping_timeout (plus slack); one that reads stays.
 */
static void
test_ping_timeout(void)
{
	unsigned int	 before = CU_get_number_of_failures();
	struct hd	*hd;
	struct ts_raw	 raw = { -1, 0, NULL, NULL, 0, 0 };
	struct wsc	*w = NULL;
	struct wsc_msg	 m;
	int64_t		 t0, tping = -1, tclose = -1, deadline;
	size_t		 len;
	char		*payload;
	int		 op, r, code = -1, eof = 0;

	hd = ts_start("--ping-interval", "300ms", "--ping-timeout", "300ms",
	    NULL);
	REQUIRE(hd != NULL);

	/* A raw client that never answers. */
	REQUIRE(ts_raw_open(hd, NULL, 0, &raw) == 0);
	REQUIRE(raw.status == 101);
	t0 = ts_now();
	deadline = t0 + 6000;
	while (ts_now() < deadline) {
		r = ts_raw_frame(&raw, (int)(deadline - ts_now()), &op,
		    &payload, &len);
		if (r == 0)
			break;
		if (r < 0) {
			eof = 1;
			break;
		}
		if (op == 0x9 && tping == -1)
			tping = ts_now() - t0;
		if (op == 0x8 && tclose == -1) {
			tclose = ts_now() - t0;
			code = len >= 2 ? ((uint8_t)payload[0] << 8 |
			    (uint8_t)payload[1]) : 1005;
		}
		free(payload);
	}
	fprintf(stderr, "  ping after %lld ms, close %d after %lld ms, "
	    "socket %s\n", (long long)tping, code, (long long)tclose,
	    eof ? "closed" : "open");
	CU_ASSERT(tping >= 200 && tping <= 1500);
	CU_ASSERT_EQUAL(code, 4408);
	CU_ASSERT(tclose >= 450 && tclose <= 2500);
	/* The server drops the socket too, within its close grace. */
	CU_ASSERT(eof);
	ts_raw_close(&raw);

	/* A client that reads (wsc answers pings in wsc_recv) stays. */
	REQUIRE((w = ts_ws(hd)) != NULL);
	deadline = ts_now() + 1500;
	while (ts_now() < deadline) {
		r = wsc_recv(w, (int)(deadline - ts_now()), &m);
		if (r == 0)
			break;
		CU_ASSERT(r == 1 && m.opcode != WSC_CLOSE);
		if (r != 1)
			break;
		if (m.opcode == WSC_CLOSE)
			fprintf(stderr, "  reader closed with %u\n", m.code);
		wsc_msg_free(&m);
	}
	CU_ASSERT(ts_pingpong(w, "still-here") == 0);
out:
	ts_raw_close(&raw);
	wsc_close(w);
	ts_done(hd, before);
}

/* Bound on the server closing TCP after a close, where the bug took 20 s. */
#define CLOSE_BOUND_MS	1500

/* One closing case: frames a client sends and the close code they get. */
struct close_case {
	const char	*what;
	uint8_t		 bytes[300];
	size_t		 len;
	int		 code;
};

/* Write a masked frame header declaring len payload bytes; return its size. */
static size_t
frame_head(uint8_t *buf, int opcode, int fin, uint64_t len, int len7)
{
	size_t	n = 0, i, ext;

	buf[n++] = (fin ? 0x80 : 0) | (opcode & 0x0f);
	if (len7 == 0)
		len7 = len < 126 ? (int)len : len < 65536 ? 126 : 127;
	buf[n++] = 0x80 | (uint8_t)len7;
	ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
	for (i = 0; i < ext; i++)
		buf[n++] = (uint8_t)(len >> (8 * (ext - 1 - i)));
	memcpy(buf + n, "\x11\x22\x33\x44", 4);
	return (n + 4);
}

/*
 * Send one case's bytes on a fresh WebSocket and read until the server
 * closes TCP: the close frame must carry the code, and the socket must
 * close within CLOSE_BOUND_MS of the bytes going out.
 */
static void
close_case_run(struct hd *hd, const struct close_case *cc)
{
	struct ts_raw	 raw = { -1, 0, NULL, NULL, 0, 0 };
	int64_t		 t0, deadline, tclose = -1;
	size_t		 len;
	char		*payload;
	int		 op, r, code = -1, frames = 0, eof = 0;

	t0 = ts_now();
	if (ts_raw_open(hd, cc->bytes, cc->len, &raw) != 0 ||
	    raw.status != 101) {
		/* The old server dropped TCP before the 101 was written. */
		CU_FAIL("WebSocket upgrade");
		fprintf(stderr, "  %s: no 101 and no close frame\n",
		    cc->what);
		ts_raw_close(&raw);
		return;
	}
	deadline = t0 + TS_TIMEOUT;
	while (ts_now() < deadline && frames++ < 100) {
		r = ts_raw_frame(&raw, (int)(deadline - ts_now()), &op,
		    &payload, &len);
		if (r <= 0) {
			eof = r < 0;
			break;
		}
		if (op == 0x8 && code == -1)
			code = len >= 2 ? ((uint8_t)payload[0] << 8 |
			    (uint8_t)payload[1]) : 1005;
		free(payload);
	}
	if (eof)
		tclose = ts_now() - t0;
	CU_ASSERT_EQUAL(code, cc->code);
	CU_ASSERT(eof && tclose <= CLOSE_BOUND_MS);
	if (code != cc->code || !eof || tclose > CLOSE_BOUND_MS)
		fprintf(stderr, "  %s: close code %d (want %d), socket %s "
		    "after %lld ms\n", cc->what, code, cc->code, eof ?
		    "closed" : "still open", (long long)tclose);
	ts_raw_close(&raw);
}

/*
 * RFC 6455 closing: the server echoes a client's close and closes TCP at
 * once; frames wslay would drop the connection on (or answer late) get
 * their close code when the header arrives: 1002 for a control frame over
 * 125 bytes or fragmented, a close with a 1-byte payload, a length not in
 * its shortest form; 1009 for a frame over 4 x max_message_bytes (the
 * default 64 KiB here) or with a 2^63 length, even with no payload sent.
 */
static void
test_close_cases(void)
{
	unsigned int		 before = CU_get_number_of_failures();
	static struct close_case cases[] = {
		{ "client close 1000", { 0 }, 0, 1000 },
		{ "300000-byte frame header", { 0 }, 0, 1009 },
		{ "1 GiB frame header", { 0 }, 0, 1009 },
		{ "2^63 length", { 0 }, 0, 1009 },
		{ "126-byte ping", { 0 }, 0, 1002 },
		{ "fragmented ping", { 0 }, 0, 1002 },
		{ "fragmented close", { 0 }, 0, 1002 },
		{ "close with a 1-byte payload", { 0 }, 0, 1002 },
		{ "length 5 in 16 bits", { 0 }, 0, 1002 },
		{ "unmasked text header", { 0 }, 0, 1002 },
	};
	struct hd		*hd;
	char			 ping[126];
	size_t			 i;

	memset(ping, 'p', sizeof ping);
	cases[0].len = ts_frame(cases[0].bytes, 8, "\x03\xe8" "bye", 5, 1);
	cases[1].len = frame_head(cases[1].bytes, 1, 1, 300000, 0);
	cases[2].len = frame_head(cases[2].bytes, 1, 1, 1ULL << 30, 0);
	cases[3].len = frame_head(cases[3].bytes, 2, 1, 1ULL << 63, 0);
	cases[4].len = ts_frame(cases[4].bytes, 9, ping, sizeof ping, 1);
	cases[5].len = ts_frame_fin(cases[5].bytes, 9, 0, "hi", 2, 1);
	cases[6].len = ts_frame_fin(cases[6].bytes, 8, 0, "\x03\xe8", 2, 1);
	cases[7].len = ts_frame(cases[7].bytes, 8, "x", 1, 1);
	cases[8].len = frame_head(cases[8].bytes, 1, 1, 5, 126);
	memcpy(cases[8].bytes + cases[8].len, "\x6a\x0d\x5f\x28\x6b", 5);
	cases[8].len += 5;
	cases[9].len = frame_head(cases[9].bytes, 1, 1, 200000, 0);
	cases[9].bytes[1] &= 0x7f;	/* no mask bit (the key is data) */

	REQUIRE((hd = ts_start(NULL)) != NULL);
	for (i = 0; i < nitems(cases); i++)
		close_case_run(hd, &cases[i]);
	CU_ASSERT(ts_healthy(hd));
out:
	ts_done(hd, before);
}

/* Read messages until the close frame; return its code or -1. */
static int
drain_to_close(struct wsc *w, int timeout_ms)
{
	struct wsc_msg	m;
	int64_t		deadline = ts_now() + timeout_ms;
	int		r, code;

	while (ts_now() < deadline) {
		r = wsc_recv(w, (int)(deadline - ts_now()), &m);
		if (r != 1)
			break;
		if (m.opcode == WSC_CLOSE) {
			code = m.code;
			wsc_msg_free(&m);
			return (code);
		}
		wsc_msg_free(&m);
	}
	return (-1);
}

#define SD_PUBS		3
#define SD_BACKLOG	2000

/*
 * SIGTERM: publishes sent before are all answered (published, or 50300
 * if they reached the server during shutdown), every WebSocket gets close
 * 1001, the exit status is 0, and every acked message is there after a
 * restart (and no refused one). count publishes per connection are sent
 * without reading, then the signal; batch_max bounds the group commit, so
 * that many are still queued for the writer when it comes.
 */
static void
shutdown_run(int count, const char *batch_max, const char *max_inflight,
    int read_first)
{
	unsigned int	 before = CU_get_number_of_failures();
	struct hd	*hd;
	struct ts_pub	 p[SD_PUBS];
	struct wsc	*s = NULL, *w;
	struct ts_sub	 sub;
	uint32_t	*keys = NULL;
	uint64_t	 head;
	int		 i, k, n = 0, acked = 0, refused = 0, status, code;

	memset(p, 0, sizeof p);
	hd = ts_start("--batch-max", batch_max, "--max-inflight", max_inflight,
	    NULL);
	REQUIRE(hd != NULL);
	REQUIRE((s = ts_ws(hd)) != NULL);
	REQUIRE(ts_subscribe(s, "sd", NULL, NULL, NULL, NULL) == 0);
	for (k = 0; k < SD_PUBS; k++) {
		REQUIRE((w = ts_ws(hd)) != NULL);
		ts_pub_init(&p[k], w, "sd", "sd", k, count, 0);
		p[k].deadline = ts_now() + 60000;
		p[k].no_recv = 1;
		p[k].in_order = 0;
		p[k].allow_50300 = 1;
		p[k].until_closed = 1;
		n++;
	}
	/*
	 * Everything written to the sockets, then SIGTERM at once; or, with
	 * read_first, once the server has read every publish (a ping behind
	 * them was answered): then none arrived during the shutdown, and
	 * every one must be published.
	 */
	for (k = 0; k < SD_PUBS; k++) {
		ts_pub_run(&p[k]);
		CU_ASSERT_EQUAL(p[k].sent, count);
	}
	for (k = 0; k < SD_PUBS && read_first; k++)
		REQUIRE(ts_pub_sync(&p[k], "all-read", 30000) == 0);
	REQUIRE(kill(hd_pid(hd), SIGTERM) == 0);

	/*
	 * Bounded generously: with --batch-max 1 every message is its own
	 * fsync'd commit, which a busy disk makes take seconds in all.
	 */
	for (k = 0; k < SD_PUBS; k++) {
		ts_pub_drain(&p[k], 90000);
		CHECK_RUN(&p[k]);
		CU_ASSERT_EQUAL(p[k].acked + p[k].nrefused, count);
		CU_ASSERT_EQUAL(p[k].close_code, 1001);
		if (p[k].acked + p[k].nrefused != count ||
		    p[k].close_code != 1001)
			fprintf(stderr, "  publisher %d: %d sent, %d acked, "
			    "%d refused (50300), close %d; expected all "
			    "answered and close 1001\n", k, p[k].sent,
			    p[k].acked, p[k].nrefused, p[k].close_code);
		if (read_first && p[k].nrefused != 0) {
			CU_FAIL("a publish read before SIGTERM was refused");
			fprintf(stderr, "  publisher %d: %d refused with 50300 "
			    "though read before the signal\n", k,
			    p[k].nrefused);
		}
		acked += p[k].acked;
		refused += p[k].nrefused;
	}
	fprintf(stderr, "  shutdown: %d acked, %d refused\n", acked, refused);
	code = drain_to_close(s, 10000);
	CU_ASSERT_EQUAL(code, 1001);
	if (code != 1001)
		fprintf(stderr, "  subscriber: expected close 1001, got %d\n",
		    code);
	wsc_drop(s);
	s = NULL;
	status = hd_stop(hd);
	CU_ASSERT_EQUAL(status, 0);
	if (status != 0)
		fprintf(stderr, "  exit status %d, expected 0\n", status);

	/* Restart: exactly the acked messages, at their serials. */
	REQUIRE(hd_restart(hd) == 0);
	REQUIRE((s = ts_ws(hd)) != NULL);
	REQUIRE(ts_subscribe(s, "sd", "\"rewind\":100000", NULL, &head,
	    NULL) == 0);
	CU_ASSERT_EQUAL(head, (uint64_t)acked);
	if (head != (uint64_t)acked)
		fprintf(stderr, "  after restart head %llu, %d were acked\n",
		    (unsigned long long)head, acked);
	if (head > 0) {
		keys = xcalloc(head, sizeof *keys);
		ts_sub_init(&sub, s, "sd", 1, head);
		sub.check_pubs = 1;
		sub.from_zero = 0;
		sub.tag = "sd";
		sub.keys = keys;
		ts_sub_run(&sub);
		CHECK_RUN(&sub);
		for (k = 0; k < SD_PUBS && sub.errors == 0; k++) {
			for (i = 0; i < count; i++) {
				if (p[k].serials[i] == 0)
					continue;
				if (p[k].serials[i] > head ||
				    keys[p[k].serials[i] - 1] !=
				    (uint32_t)(k << 24 | i)) {
					CU_FAIL("acked message missing after "
					    "restart");
					fprintf(stderr, "  sd-%d-%d acked as "
					    "%llu is not there\n", k, i,
					    (unsigned long long)
					    p[k].serials[i]);
					break;
				}
			}
		}
	}
out:
	free(keys);
	for (k = 0; k < n; k++) {
		wsc_drop(p[k].w);
		ts_pub_free(&p[k]);
	}
	wsc_drop(s);
	ts_done(hd, before);
}

/*
 * SIGTERM with a short backlog: 3 x 500 publishes in groups of at most
 * 16, a fraction of a second of commits.
 */
static void
test_shutdown(void)
{
	shutdown_run(500, "16", "1024", 0);
}

/*
 * SIGTERM sent again and again while the server shuts down (an impatient
 * operator, a supervisor that repeats itself): still a clean exit 0, not
 * death by the signal once the server's own handlers are gone.
 */
static void
test_shutdown_repeated(void)
{
	unsigned int	 before = CU_get_number_of_failures();
	struct hd	*hd;
	int		 i, status;

	REQUIRE((hd = ts_start(NULL)) != NULL);
	REQUIRE(pub_now(hd, "again", "again", 200) == 0);
	for (i = 0; i < 300; i++) {
		if (kill(hd_pid(hd), SIGTERM) != 0)
			break;
		ts_sleep(1);
	}
	status = hd_stop(hd);
	CU_ASSERT_EQUAL(status, 0);
	if (status != 0)
		fprintf(stderr, "  exit status %d, expected 0\n", status);
out:
	ts_done(hd, before);
}

/*
 * SIGTERM with a backlog of several seconds: 3 x 2000 publishes all read
 * by the server before the signal (--max-inflight lets them in), one
 * commit and fsync each, about 1 ms apiece here. The contract does not
 * change with the size of the queue: all published, close 1001.
 */
static void
test_shutdown_backlog(void)
{
	shutdown_run(SD_BACKLOG, "1", "4096", 1);
}

int
main(void)
{
	static const struct cu_test tests[] = {
		{ "handshake: upgrade, refusals, pipelining, 404, healthz",
		    test_handshake },
		{ "reply and message shapes, server ids, base64", test_shapes },
		{ "bad input: error codes, close codes, connection still "
		    "usable", test_bad_input },
		{ "idempotent publish: same id, same serial, delivered once",
		    test_idempotent },
		{ "resume after a dropped connection", test_resume_dropped },
		{ "resume: epoch mismatch, serial beyond head, live",
		    test_resume_epoch },
		{ "resume across retention: exact gap", test_resume_gap },
		{ "rewind by count", test_rewind_count },
		{ "rewind by duration and since", test_rewind_time },
		{ "ping timeout closes with 4408", test_ping_timeout },
		{ "closing: close echoed and TCP closed at once, bad frames "
		    "refused at their header (1002, 1009)", test_close_cases },
		{ "SIGTERM: all answered, close 1001, exit 0, acks kept",
		    test_shutdown },
		{ "SIGTERM with seconds of commits queued: the same",
		    test_shutdown_backlog },
		{ "SIGTERM repeated during shutdown: exit 0",
		    test_shutdown_repeated },
	};

	signal(SIGPIPE, SIG_IGN);
	return (cu_run("logwired", tests, nitems(tests)));
}
