/*
 * Unit tests of the daemon's pure HTTP functions (src/server/http.c), on
 * their own: percent-decoding and -encoding, splitting a request target,
 * query parameters, and the request reader beyond its fuzz seeds, which
 * only check that nothing crashes.  Here each request is checked for
 * what was read: fed a byte at a time, pipelined, with Content-Length and
 * chunked bodies (extensions, trailers), at the size limits, and for
 * every framing refusal and its status.
 */

#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <event2/buffer.h>

#include "cu_run.h"
#include "logwired.h"

#define MAX_HEAD	4096
#define MAX_BODY	65536
#define CONTINUE	"HTTP/1.1 100 Continue\r\n\r\n"

/* Whether a decoded string is want (len bytes) and NUL-terminated. */
static int
bytes_are(const char *got, size_t got_len, const char *want, size_t len)
{
	if (got == NULL || got_len != len || memcmp(got, want, len) != 0 ||
	    got[len] != '\0') {
		fprintf(stderr, "want [%.*s] (%zu), got [%.*s] (%zu)\n",
		    (int)len, want, len, got != NULL ? (int)got_len : 0,
		    got != NULL ? got : "", got_len);
		return (0);
	}
	return (1);
}

/* Decode s, which must succeed, and compare with want. */
static int
decodes_to(const char *s, const char *want, size_t want_len)
{
	char	*out = NULL;
	size_t	 len = 0;
	int	 ok;

	if (http_pct_decode(s, strlen(s), &out, &len) != 0) {
		fprintf(stderr, "decode of [%s] refused\n", s);
		return (0);
	}
	ok = bytes_are(out, len, want, want_len);
	free(out);
	return (ok);
}

/* Whether decoding len bytes of s is refused. */
static int
decode_refused(const char *s, size_t len)
{
	char	*out = NULL;
	size_t	 olen;

	if (http_pct_decode(s, len, &out, &olen) == 0) {
		fprintf(stderr, "decode of [%.*s] gave [%s]\n", (int)len, s,
		    out);
		free(out);
		return (0);
	}
	return (1);
}

static void
test_pct_decode(void)
{
	CU_ASSERT_TRUE(decodes_to("", "", 0));
	CU_ASSERT_TRUE(decodes_to("plain-name_1.x~", "plain-name_1.x~", 15));
	CU_ASSERT_TRUE(decodes_to("a%20b", "a b", 3));
	CU_ASSERT_TRUE(decodes_to("a%2Fb%2fc", "a/b/c", 5));
	CU_ASSERT_TRUE(decodes_to("%41%42", "AB", 2));
	CU_ASSERT_TRUE(decodes_to("%C3%A9t%C3%A9", "\xc3\xa9t\xc3\xa9", 5));
	CU_ASSERT_TRUE(decodes_to("%ff", "\xff", 1));
	CU_ASSERT_TRUE(decodes_to("%25%32%30", "%20", 3));	/* once only */
	/* Only the len bytes given are read. */
	CU_ASSERT_TRUE(decode_refused("%41", 2));
	{
		char	*out = NULL;
		size_t	 len = 0;

		CU_ASSERT_EQUAL(http_pct_decode("ab%41", 2, &out, &len), 0);
		CU_ASSERT_TRUE(bytes_are(out, len, "ab", 2));
		free(out);
	}
}

static void
test_pct_decode_bad(void)
{
	static const char *const bad[] = {
		"%zz", "%2g", "%g2", "a%2", "a%", "%", "%%41", "%-1", "% 1",
		"a%00b", "%00", "%0", "x%0%41"
	};
	size_t	i;

	for (i = 0; i < nitems(bad); i++)
		CU_ASSERT_TRUE(decode_refused(bad[i], strlen(bad[i])));
}

/* In a path '+' is itself; only a query reads it as a space. */
static void
test_pct_plus(void)
{
	CU_ASSERT_TRUE(decodes_to("a+b", "a+b", 3));
	CU_ASSERT_TRUE(decodes_to("a%2Bb", "a+b", 3));
}

static void
test_pct_encode(void)
{
	struct evbuffer	*b;
	const char	*raw = "a/b c~-._Z9\xc3\xa9%+?&=";
	const char	*want = "a%2Fb%20c~-._Z9%C3%A9%25%2B%3F%26%3D";
	char		*text, *back = NULL;
	size_t		 len, blen = 0;

	b = evbuffer_new();
	http_pct_encode(b, raw, strlen(raw));
	len = evbuffer_get_length(b);
	text = (char *)evbuffer_pullup(b, -1);
	CU_ASSERT_TRUE(len == strlen(want) && memcmp(text, want, len) == 0);
	CU_ASSERT_EQUAL_FATAL(http_pct_decode(text, len, &back, &blen), 0);
	CU_ASSERT_TRUE(bytes_are(back, blen, raw, strlen(raw)));
	free(back);
	evbuffer_free(b);
}

/* Split url, which must succeed, into want_path and want_query. */
static int
splits_to(const char *url, const char *want_path, size_t want_len,
    const char *want_query)
{
	char	*path = NULL, *query = NULL;
	size_t	 len = 0;
	int	 ok;

	if (http_split_url(url, &path, &len, &query) != 0) {
		fprintf(stderr, "split of [%s] refused\n", url);
		return (0);
	}
	ok = bytes_are(path, len, want_path, want_len) &&
	    bytes_are(query, strlen(query), want_query, strlen(want_query));
	free(path);
	free(query);
	return (ok);
}

static void
test_split_url(void)
{
	char	*path = NULL, *query = NULL;
	size_t	 len;

	CU_ASSERT_TRUE(splits_to("/healthz", "/healthz", 8, ""));
	CU_ASSERT_TRUE(splits_to("/x?", "/x", 2, ""));
	CU_ASSERT_TRUE(splits_to("/", "/", 1, ""));
	/* The path is decoded, the query left raw for http_query_param. */
	CU_ASSERT_TRUE(splits_to("/v1/channels/a%2Fb/messages?limit=5&x=%zz",
	    "/v1/channels/a/b/messages", 25, "limit=5&x=%zz"));
	/* The first '?' splits; an encoded one is part of the path. */
	CU_ASSERT_TRUE(splits_to("/a?b?c", "/a", 2, "b?c"));
	CU_ASSERT_TRUE(splits_to("/a%3Fb?c", "/a?b", 4, "c"));
	CU_ASSERT_TRUE(splits_to("/a+b", "/a+b", 4, ""));
	/* A bad path is refused; a bad query is the caller's to refuse. */
	CU_ASSERT_EQUAL(http_split_url("/a%zz?x=1", &path, &len, &query), -1);
	CU_ASSERT_EQUAL(http_split_url("/a%00b", &path, &len, &query), -1);
	CU_ASSERT_EQUAL(http_split_url("/a%2", &path, &len, &query), -1);
	CU_ASSERT_TRUE(splits_to("/a?%zz", "/a", 2, "%zz"));
}

/*
 * Query parameters: http_query_param(query, name) gives rc (1 found, 0
 * absent, -1 badly encoded) and, when found, the decoded value want.
 */
static const struct param_case {
	const char	*query;
	const char	*name;
	int		 rc;
	const char	*want;
} param_cases[] = {
	{ "a=1&b=2", "a", 1, "1" },
	{ "a=1&b=2", "b", 1, "2" },
	{ "a=1&b=2", "c", 0, NULL },
	{ "", "a", 0, NULL },
	/* Names match whole: neither a prefix nor an extension. */
	{ "ab=1", "a", 0, NULL },
	{ "a=1", "ab", 0, NULL },
	{ "xa=1&a=2", "a", 1, "2" },
	/* Empty pieces are skipped; later '=' belong to the value. */
	{ "&&a=1&", "a", 1, "1" },
	{ "a=b=c&d=1", "a", 1, "b=c" },
	/* The first of repeated keys wins. */
	{ "limit=5&limit=7", "limit", 1, "5" },
	{ "limit=&limit=7", "limit", 1, "" },
	{ "a=1&a=%zz", "a", 1, "1" },
	/* An empty value is present; a key without '=' is no parameter. */
	{ "a=", "a", 1, "" },
	{ "a=&b=2", "a", 1, "" },
	{ "=1", "", 1, "1" },
	{ "a", "a", 0, NULL },
	{ "a&b=2", "a", 0, NULL },
	{ "a&b=2", "b", 1, "2" },
	{ "a&a=3", "a", 1, "3" },
	/*
	 * Values are percent-decoded with '+' as a space; keys are compared
	 * as sent (the server's own links never encode one).
	 */
	{ "p=a%2Fb%20c", "p", 1, "a/b c" },
	{ "p=a+b", "p", 1, "a b" },
	{ "p=a%2Bb", "p", 1, "a+b" },
	{ "p=%C3%A9", "p", 1, "\xc3\xa9" },
	{ "p=%26&q=1", "p", 1, "&" },
	{ "%61=1", "a", 0, NULL },
	{ "a%20b=1", "a%20b", 1, "1" },
	{ "a+b=1", "a b", 0, NULL },
	/* A bad encoding is -1 for its own parameter only. */
	{ "a=%zz", "a", -1, NULL },
	{ "a=%", "a", -1, NULL },
	{ "a=x%4", "a", -1, NULL },
	{ "a=%4&b=1", "a", -1, NULL },
	{ "a=%00", "a", -1, NULL },
	{ "x=%zz&a=1", "a", 1, "1" },
};

static void
test_query_param(void)
{
	const struct param_case	*pc;
	char			*v;
	size_t			 i;
	int			 rc;

	for (i = 0; i < nitems(param_cases); i++) {
		pc = &param_cases[i];
		v = NULL;
		rc = http_query_param(pc->query, pc->name, &v);
		if (rc != pc->rc)
			fprintf(stderr, "[%s] %s: want %d, got %d\n", pc->query,
			    pc->name, pc->rc, rc);
		CU_ASSERT_EQUAL(rc, pc->rc);
		if (rc == 1 && pc->rc == 1)
			CU_ASSERT_TRUE(bytes_are(v, strlen(v), pc->want,
			    strlen(pc->want)));
		if (rc == 1)
			free(v);
	}
}

/*
 * The request reader, fed from one input buffer.  feed() adds bytes and
 * runs http_req_feed once; the interim responses go to out.
 */
struct reader {
	struct http_req	*r;
	struct evbuffer	*in;
	struct evbuffer	*out;
};

static void
reader_open(struct reader *rd, size_t max_head, size_t max_body)
{
	rd->r = http_req_new(max_head, max_body);
	rd->in = evbuffer_new();
	rd->out = evbuffer_new();
	CU_ASSERT_FATAL(rd->r != NULL && rd->in != NULL && rd->out != NULL);
}

static void
reader_close(struct reader *rd)
{
	http_req_free(rd->r);
	evbuffer_free(rd->in);
	evbuffer_free(rd->out);
}

static int
feed(struct reader *rd, const char *bytes, size_t len)
{
	evbuffer_add(rd->in, bytes, len);
	return (http_req_feed(rd->r, rd->in, rd->out));
}

static int
feed_str(struct reader *rd, const char *s)
{
	return (feed(rd, s, strlen(s)));
}

/* Whether the request has exactly this body. */
static int
body_is(struct http_req *r, const char *want, size_t want_len)
{
	const char	*body;
	size_t		 len;

	body = http_req_body(r, &len);
	if (want_len == 0)
		return (len == 0);
	return (bytes_are(body, len, want, want_len));
}

/* Whether a header is there with this value. */
static int
header_is(struct http_req *r, const char *name, const char *want)
{
	const char	*v = http_req_header(r, name);

	if (v == NULL || strcmp(v, want) != 0) {
		fprintf(stderr, "header %s: want [%s], got [%s]\n", name, want,
		    v != NULL ? v : "(none)");
		return (0);
	}
	return (1);
}

/*
 * Feed text one byte at a time: every byte but the last must leave the
 * request incomplete, and the last must complete it.
 */
static int
feed_bytewise(struct reader *rd, const char *text, size_t len)
{
	size_t	i;
	int	rc = HTTP_REQ_MORE;

	for (i = 0; i < len; i++) {
		rc = feed(rd, text + i, 1);
		if (i + 1 < len && rc != HTTP_REQ_MORE) {
			fprintf(stderr, "byte %zu of %zu: rc %d (status %d)\n",
			    i, len, rc, http_req_status(rd->r, NULL));
			return (-1);
		}
	}
	return (rc);
}

static void
test_req_bytewise(void)
{
	static const char req[] = "POST /v1/channels/x/messages?a=1 HTTP/1.1\r\n"
	    "Host: example\r\nX-Thing:  spaced value\r\n"
	    "Content-Length: 11\r\n\r\nhello world";
	static const char chunked[] = "POST /c HTTP/1.1\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"
	    "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nT: v\r\n\r\n";
	struct reader	rd;

	reader_open(&rd, MAX_HEAD, MAX_BODY);
	CU_ASSERT_EQUAL_FATAL(feed_bytewise(&rd, req, sizeof req - 1),
	    HTTP_REQ_DONE);
	CU_ASSERT_STRING_EQUAL(http_req_method(rd.r), "POST");
	CU_ASSERT_STRING_EQUAL(http_req_url(rd.r),
	    "/v1/channels/x/messages?a=1");
	CU_ASSERT_TRUE(header_is(rd.r, "host", "example"));
	CU_ASSERT_TRUE(header_is(rd.r, "x-thing", "spaced value"));
	CU_ASSERT_TRUE(body_is(rd.r, "hello world", 11));
	CU_ASSERT_TRUE(http_req_keepalive(rd.r));
	CU_ASSERT_EQUAL(evbuffer_get_length(rd.in), 0);

	/* A chunked body, every framing line split at every byte. */
	http_req_reset(rd.r);
	CU_ASSERT_TRUE(http_req_idle(rd.r));
	CU_ASSERT_EQUAL_FATAL(feed_bytewise(&rd, chunked, sizeof chunked - 1),
	    HTTP_REQ_DONE);
	CU_ASSERT_STRING_EQUAL(http_req_url(rd.r), "/c");
	CU_ASSERT_TRUE(body_is(rd.r, "hello world", 11));
	CU_ASSERT_EQUAL(evbuffer_get_length(rd.in), 0);
	CU_ASSERT_EQUAL(evbuffer_get_length(rd.out), 0);
	reader_close(&rd);
}

/* Requests in one buffer are read one at a time, the rest left unread. */
static void
test_req_pipelined(void)
{
	static const char second[] = "POST /b HTTP/1.1\r\nContent-Length: 3"
	    "\r\n\r\nxyz";
	static const char third[] = "GET /c HTTP/1.0\r\n\r\n";
	struct reader	rd;
	char		buf[512];

	snprintf(buf, sizeof buf, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n%s%s",
	    second, third);
	reader_open(&rd, MAX_HEAD, MAX_BODY);
	CU_ASSERT_EQUAL_FATAL(feed_str(&rd, buf), HTTP_REQ_DONE);
	CU_ASSERT_STRING_EQUAL(http_req_url(rd.r), "/a");
	CU_ASSERT_TRUE(body_is(rd.r, "", 0));
	CU_ASSERT_EQUAL(evbuffer_get_length(rd.in),
	    sizeof second - 1 + sizeof third - 1);

	http_req_reset(rd.r);
	CU_ASSERT_EQUAL_FATAL(http_req_feed(rd.r, rd.in, rd.out),
	    HTTP_REQ_DONE);
	CU_ASSERT_STRING_EQUAL(http_req_method(rd.r), "POST");
	CU_ASSERT_STRING_EQUAL(http_req_url(rd.r), "/b");
	CU_ASSERT_TRUE(body_is(rd.r, "xyz", 3));
	CU_ASSERT_TRUE(header_is(rd.r, "content-length", "3"));
	CU_ASSERT_PTR_NULL(http_req_header(rd.r, "host"));	/* not /a's */
	CU_ASSERT_EQUAL(evbuffer_get_length(rd.in), sizeof third - 1);

	http_req_reset(rd.r);
	CU_ASSERT_EQUAL_FATAL(http_req_feed(rd.r, rd.in, rd.out),
	    HTTP_REQ_DONE);
	CU_ASSERT_STRING_EQUAL(http_req_url(rd.r), "/c");
	CU_ASSERT_FALSE(http_req_keepalive(rd.r));	/* HTTP/1.0 */
	CU_ASSERT_EQUAL(evbuffer_get_length(rd.in), 0);

	/* Nothing more: the reader waits. */
	http_req_reset(rd.r);
	CU_ASSERT_EQUAL(http_req_feed(rd.r, rd.in, rd.out), HTTP_REQ_MORE);
	reader_close(&rd);
}

/* A Content-Length body may come in pieces and hold any byte. */
static void
test_req_length_body(void)
{
	static const char body[] = "a\0b\r\n\r\nGET / HTTP/1.1\r\n";
	struct reader	rd;

	reader_open(&rd, MAX_HEAD, MAX_BODY);
	CU_ASSERT_EQUAL(feed_str(&rd, "PUT /x HTTP/1.1\r\nContent-Length: 23"
	    "\r\n\r\n"), HTTP_REQ_MORE);
	CU_ASSERT_EQUAL(feed(&rd, body, 10), HTTP_REQ_MORE);
	/* The rest of the body, with the start of the next request. */
	evbuffer_add(rd.in, body + 10, sizeof body - 1 - 10);
	CU_ASSERT_EQUAL_FATAL(feed_str(&rd, "NEXT"), HTTP_REQ_DONE);
	CU_ASSERT_TRUE(body_is(rd.r, body, sizeof body - 1));
	CU_ASSERT_EQUAL(evbuffer_get_length(rd.in), 4);

	/* Content-Length: 0 is a request without a body. */
	http_req_reset(rd.r);
	evbuffer_drain(rd.in, evbuffer_get_length(rd.in));
	CU_ASSERT_EQUAL_FATAL(feed_str(&rd, "POST /x HTTP/1.1\r\n"
	    "Content-Length: 0\r\n\r\n"), HTTP_REQ_DONE);
	CU_ASSERT_TRUE(body_is(rd.r, "", 0));
	reader_close(&rd);
}

/*
 * Chunked: hex sizes either case, extensions (with whitespace before the
 * ';'), trailers read and dropped, and the next request left alone.
 */
static void
test_req_chunked(void)
{
	static const char req[] = "POST /c HTTP/1.1\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"
	    "5;name=value;x=\"q\"\r\nhello\r\n"
	    "1 ; ext\r\n \r\n"
	    "a\r\n0123456789\r\n"
	    "A\r\nABCDEFGHIJ\r\n"
	    "0;last\r\nTrailer-A: 1\r\nTrailer-B: two words\r\n\r\n"
	    "GET /next HTTP/1.1\r\n\r\n";
	struct reader	rd;

	reader_open(&rd, MAX_HEAD, MAX_BODY);
	CU_ASSERT_EQUAL_FATAL(feed_str(&rd, req), HTTP_REQ_DONE);
	CU_ASSERT_TRUE(body_is(rd.r, "hello 0123456789ABCDEFGHIJ", 26));
	CU_ASSERT_PTR_NULL(http_req_header(rd.r, "trailer-a"));
	http_req_reset(rd.r);
	CU_ASSERT_EQUAL_FATAL(http_req_feed(rd.r, rd.in, rd.out),
	    HTTP_REQ_DONE);
	CU_ASSERT_STRING_EQUAL(http_req_url(rd.r), "/next");
	reader_close(&rd);
}

/* Feed a whole request that must be refused with status. */
static int
refused(const char *text, size_t max_head, size_t max_body, int status)
{
	struct reader	 rd;
	const char	*why = NULL;
	int		 rc, got;

	reader_open(&rd, max_head, max_body);
	rc = feed_str(&rd, text);
	got = http_req_status(rd.r, &why);
	reader_close(&rd);
	if (rc != HTTP_REQ_ERROR || got != status) {
		fprintf(stderr, "[%s]: want error %d, got rc %d status %d "
		    "(%s)\n", text, status, rc, got, why);
		return (0);
	}
	return (why != NULL && *why != '\0');
}

static void
test_req_limits(void)
{
	struct reader	 rd;
	char		 buf[512];
	size_t		 i;
	int		 rc = HTTP_REQ_MORE;

	/* The head: 431 past max_head, whether whole or in pieces. */
	snprintf(buf, sizeof buf, "GET /%0200d HTTP/1.1\r\n\r\n", 0);
	CU_ASSERT_TRUE(refused(buf, 128, MAX_BODY, 431));
	reader_open(&rd, 512, MAX_BODY);
	CU_ASSERT_EQUAL(feed_str(&rd, buf), HTTP_REQ_DONE);
	reader_close(&rd);
	snprintf(buf, sizeof buf, "GET / HTTP/1.1\r\nX-Long: %0200d\r\n\r\n",
	    0);
	CU_ASSERT_TRUE(refused(buf, 128, MAX_BODY, 431));
	reader_open(&rd, 128, MAX_BODY);
	rc = feed_str(&rd, "GET / HTTP/1.1\r\n");
	for (i = 0; i < 100 && rc == HTTP_REQ_MORE; i++)
		rc = feed_str(&rd, "X-A: b\r\n");
	CU_ASSERT_EQUAL(rc, HTTP_REQ_ERROR);
	CU_ASSERT_EQUAL(http_req_status(rd.r, NULL), 431);
	/*
	 * The limit counts the target, names and values (4 bytes a header
	 * here): the 32nd passes 128, well before the 64 headers allowed.
	 */
	CU_ASSERT_TRUE(i <= 32);
	reader_close(&rd);

	/* The body: exactly max_body is read; one byte more is 413. */
	reader_open(&rd, MAX_HEAD, 10);
	CU_ASSERT_EQUAL(feed_str(&rd, "POST / HTTP/1.1\r\nContent-Length: 10"
	    "\r\n\r\n0123456789"), HTTP_REQ_DONE);
	reader_close(&rd);
	/* Refused at the head, before any of the body came. */
	CU_ASSERT_TRUE(refused("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n",
	    MAX_HEAD, 10, 413));
	CU_ASSERT_TRUE(refused("POST / HTTP/1.1\r\nContent-Length: "
	    "99999999999999999999\r\n\r\n", MAX_HEAD, 10, 400));
	/* Chunked: by the sum of the chunks, and by a size alone. */
	CU_ASSERT_TRUE(refused("POST / HTTP/1.1\r\nTransfer-Encoding: chunked"
	    "\r\n\r\n6\r\n012345\r\n6\r\n", MAX_HEAD, 10, 413));
	CU_ASSERT_TRUE(refused("POST / HTTP/1.1\r\nTransfer-Encoding: chunked"
	    "\r\n\r\nfffffffffffffffffff\r\n", MAX_HEAD, 10, 413));
	reader_open(&rd, MAX_HEAD, 10);
	CU_ASSERT_EQUAL(feed_str(&rd, "POST / HTTP/1.1\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n6\r\n012345\r\n4\r\n6789\r\n0\r\n\r\n"),
	    HTTP_REQ_DONE);
	CU_ASSERT_TRUE(body_is(rd.r, "0123456789", 10));
	reader_close(&rd);
}

/* Each framing a proxy might read otherwise is refused, with its status. */
static void
test_req_framing(void)
{
	static const struct refusal {
		const char	*text;
		int		 status;	/* the reader's error status */
	} bad[] = {
		{ "GET / HTTP/1.2\r\n\r\n", 505 },
		{ "GET / HTTP/2.0\r\n\r\n", 505 },
		{ "GET / HTTP/0.9\r\n\r\n", 505 },
		{ "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501 },
		{ "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
		    501 },
		{ "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n", 501 },
		{ "POST / HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n",
		    501 },
		{ "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost\t: x\r\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\nContent-Length: 3\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
		    "Content-Length: 3\r\n\r\n", 400 },
		{ "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nA: b\rC: d\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\n A: b\r\n\r\n", 400 },
		{ "GET * HTTP/1.1\r\n\r\n", 400 },
		{ "GET x HTTP/1.1\r\n\r\n", 400 },
		{ "GET http://a@b/ HTTP/1.1\r\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
		    "3\r\nabcXY", 400 },
		{ "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
		    "zz\r\n", 400 },
		{ "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
		    "3 x\r\n", 400 },
		{ "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
		    "3\n", 400 },
		{ "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
		    "0\r\nBad Trailer: x\r\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
		    "0\r\nno-colon\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nExpect: 200-ok\r\n\r\n", 417 },
	};
	size_t	i;

	for (i = 0; i < nitems(bad); i++)
		CU_ASSERT_TRUE(refused(bad[i].text, MAX_HEAD, MAX_BODY,
		    bad[i].status));
}

/* What the framing checks let through. */
static void
test_req_targets(void)
{
	struct reader	rd;

	reader_open(&rd, MAX_HEAD, MAX_BODY);
	CU_ASSERT_EQUAL_FATAL(feed_str(&rd, "GET http://example:8080/v1/x?y=1 "
	    "HTTP/1.1\r\nTransfer-Encoding:  Chunked \r\n\r\n0\r\n\r\n"),
	    HTTP_REQ_DONE);
	CU_ASSERT_STRING_EQUAL(http_req_url(rd.r), "/v1/x?y=1");
	http_req_reset(rd.r);
	CU_ASSERT_EQUAL_FATAL(feed_str(&rd, "GET https://example?q "
	    "HTTP/1.1\r\n\r\n"), HTTP_REQ_DONE);
	CU_ASSERT_STRING_EQUAL(http_req_url(rd.r), "/?q");
	http_req_reset(rd.r);
	CU_ASSERT_EQUAL_FATAL(feed_str(&rd, "OPTIONS * HTTP/1.1\r\n\r\n"),
	    HTTP_REQ_DONE);
	CU_ASSERT_STRING_EQUAL(http_req_url(rd.r), "*");
	reader_close(&rd);
}

/*
 * Expect: 100-continue with a body to come gets the interim response
 * once, as soon as the head has passed its checks; never without a body,
 * never for HTTP/1.0, never for a refused head.
 */
static void
test_req_continue(void)
{
	static const char chunked[] = "POST /x HTTP/1.1\r\nExpect: "
	    "100-continue\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nz\r\n"
	    "0\r\n\r\n";
	struct reader	 rd;
	size_t		 len;

	reader_open(&rd, MAX_HEAD, MAX_BODY);
	CU_ASSERT_EQUAL(feed_str(&rd, "POST /x HTTP/1.1\r\nExpect: "
	    "100-Continue\r\nContent-Length: 3\r\n\r\n"), HTTP_REQ_MORE);
	len = evbuffer_get_length(rd.out);
	CU_ASSERT_TRUE(len == sizeof CONTINUE - 1 && memcmp(evbuffer_pullup(
	    rd.out, -1), CONTINUE, len) == 0);
	CU_ASSERT_EQUAL(feed_str(&rd, "ab"), HTTP_REQ_MORE);
	CU_ASSERT_EQUAL(feed_str(&rd, "c"), HTTP_REQ_DONE);
	CU_ASSERT_TRUE(body_is(rd.r, "abc", 3));
	CU_ASSERT_EQUAL(evbuffer_get_length(rd.out), sizeof CONTINUE - 1);

	/* Chunked, fed a byte at a time: still exactly one. */
	http_req_reset(rd.r);
	evbuffer_drain(rd.out, evbuffer_get_length(rd.out));
	CU_ASSERT_EQUAL(feed_bytewise(&rd, chunked, sizeof chunked - 1),
	    HTTP_REQ_DONE);
	CU_ASSERT_EQUAL(evbuffer_get_length(rd.out), sizeof CONTINUE - 1);

	/* No body, HTTP/1.0: no interim response. */
	http_req_reset(rd.r);
	evbuffer_drain(rd.out, evbuffer_get_length(rd.out));
	CU_ASSERT_EQUAL(feed_str(&rd, "GET /x HTTP/1.1\r\nExpect: "
	    "100-continue\r\n\r\n"), HTTP_REQ_DONE);
	http_req_reset(rd.r);
	CU_ASSERT_EQUAL(feed_str(&rd, "POST /x HTTP/1.0\r\nExpect: "
	    "100-continue\r\nContent-Length: 1\r\n\r\nq"), HTTP_REQ_DONE);
	CU_ASSERT_EQUAL(evbuffer_get_length(rd.out), 0);
	reader_close(&rd);

	/* A head refused (413) gets its error, not a 100. */
	reader_open(&rd, MAX_HEAD, 2);
	CU_ASSERT_EQUAL(feed_str(&rd, "POST /x HTTP/1.1\r\nExpect: "
	    "100-continue\r\nContent-Length: 3\r\n\r\n"), HTTP_REQ_ERROR);
	CU_ASSERT_EQUAL(http_req_status(rd.r, NULL), 413);
	CU_ASSERT_EQUAL(evbuffer_get_length(rd.out), 0);
	reader_close(&rd);

	/* No output buffer: the 100 is not written, the body still read. */
	reader_open(&rd, MAX_HEAD, MAX_BODY);
	evbuffer_add_printf(rd.in, "POST /x HTTP/1.1\r\nExpect: 100-continue"
	    "\r\nContent-Length: 1\r\n\r\nq");
	CU_ASSERT_EQUAL(http_req_feed(rd.r, rd.in, NULL), HTTP_REQ_DONE);
	CU_ASSERT_TRUE(body_is(rd.r, "q", 1));
	reader_close(&rd);
}

int
main(void)
{
	static const struct cu_test tests[] = {
		{ "percent-decoding", test_pct_decode },
		{ "percent-decoding refuses bad hex, truncation, %00",
		    test_pct_decode_bad },
		{ "'+' is not a space in a path", test_pct_plus },
		{ "percent-encoding round trip", test_pct_encode },
		{ "target split into path and query", test_split_url },
		{ "query parameters: repeated, empty, no '=', encoded, bad",
		    test_query_param },
		{ "request fed byte by byte", test_req_bytewise },
		{ "pipelined requests", test_req_pipelined },
		{ "Content-Length body", test_req_length_body },
		{ "chunked body, extensions, trailers", test_req_chunked },
		{ "head and body limits", test_req_limits },
		{ "framing refusals", test_req_framing },
		{ "absolute and * targets", test_req_targets },
		{ "Expect: 100-continue", test_req_continue },
	};

	return (cu_run("httpreq", tests, nitems(tests)));
}
