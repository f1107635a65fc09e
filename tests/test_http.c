/*
 * Integration tests of logwired's HTTP framing and error bodies: the real
 * daemon on a free loopback port (tests/harness.h), spoken to over raw
 * sockets so that requests can be as malformed as an attacker's.
 *
 * Framing must be strict, because a proxy in front that reads a request
 * differently is how a second request is smuggled past it: HTTP/1.0 and
 * 1.1 only (505), Transfer-Encoding "chunked" and nothing else (501),
 * never with Content-Length (400), no whitespace before a header's colon,
 * no bare CR, no folded lines, chunk data followed by its CRLF (400).
 * Every framing error closes the connection, and whatever followed on it
 * is never answered.  Expect: 100-continue gets its interim 100.
 * Absolute-form targets are routed by their path; OPTIONS * is answered.
 *
 * Every error has the JSON body {"error":{"code":N,"message":M}} and that
 * body is valid UTF-8 even when the request's bytes it echoes are not.
 */

#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>
#include <jansson.h>

#include "common.h"
#include "cu_run.h"
#include "harness.h"

#define RAW_TIMEOUT	5000		/* ms for one raw exchange */
#define CONTINUE_LINE	"HTTP/1.1 100 Continue\r\n\r\n"

/* The daemon shared by the tests (started by main). */
static struct hd	*hd;

/* Whether s is well-formed UTF-8 (RFC 3629), checked independently. */
static int
utf8_valid(const unsigned char *s, size_t len)
{
	size_t		i = 0, n, k;
	uint32_t	cp, min;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			n = 2;
			cp = s[i] & 0x1f;
			min = 0x80;
		} else if ((s[i] & 0xf0) == 0xe0) {
			n = 3;
			cp = s[i] & 0x0f;
			min = 0x800;
		} else if ((s[i] & 0xf8) == 0xf0) {
			n = 4;
			cp = s[i] & 0x07;
			min = 0x10000;
		} else
			return (0);
		if (len - i < n)
			return (0);
		for (k = 1; k < n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return (0);
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return (0);
		i += n;
	}
	return (1);
}

/* A response read off a raw socket. */
struct rresp {
	int	 status;	/* of the final response, -1 if none */
	int	 interim;	/* 1xx responses before it */
	int	 nresp;		/* final responses on the connection */
	char	*head;		/* of the final response */
	char	*body;
	size_t	 bodylen;
};

/* Free a raw response. */
static void
rresp_free(struct rresp *r)
{
	free(r->head);
	free(r->body);
	memset(r, 0, sizeof *r);
}

/*
 * Split what came on a connection into responses: interim ones are
 * counted, the first final one is kept, and later ones are counted (a
 * smuggled request would get one).
 */
static void
rresp_parse(const char *resp, size_t len, struct rresp *r)
{
	const char	*p = resp, *end = resp + len, *hend, *cl;
	size_t		 blen;
	int		 status;

	memset(r, 0, sizeof *r);
	r->status = -1;
	while (p < end && (hend = strstr(p, "\r\n\r\n")) != NULL) {
		if (sscanf(p, "HTTP/1.1 %d", &status) != 1)
			break;
		hend += 4;
		if (status >= 100 && status < 200) {
			if (r->status == -1)
				r->interim++;
			p = hend;
			continue;
		}
		blen = 0;
		cl = strcasestr(p, "\r\nContent-Length:");
		if (cl != NULL && cl < hend)
			blen = strtoul(cl + 17, NULL, 10);
		if (blen > (size_t)(end - hend))
			blen = (size_t)(end - hend);
		if (r->nresp++ == 0) {
			r->status = status;
			r->head = strndup(p, (size_t)(hend - p));
			r->body = malloc(blen + 1);
			memcpy(r->body, hend, blen);
			r->body[blen] = '\0';
			r->bodylen = blen;
		}
		p = hend + blen;
	}
}

/*
 * Send req on a new connection and read until the server closes it (or
 * RAW_TIMEOUT); *closed tells which.  Return 0, or -1 if nothing came.
 */
static int
raw_send(const void *req, size_t len, struct rresp *r, int *closed)
{
	char	*resp;
	size_t	 rlen;
	int	 rc;

	rc = hd_raw(hd, req, len, &resp, &rlen, RAW_TIMEOUT);
	*closed = rc == 0;
	rresp_parse(resp, rlen, r);
	free(resp);
	return (rc == -1 || r->status == -1 ? -1 : 0);
}

/*
 * Whether a body is the JSON error object, valid UTF-8, with an integer
 * code and a string message.  Returns the code, or -1 (said on stderr).
 */
static long long
error_body(const char *what, const char *body, size_t len)
{
	json_error_t	 e;
	json_t		*j, *err, *code, *msg;
	long long	 c = -1;

	if (!utf8_valid((const unsigned char *)body, len)) {
		fprintf(stderr, "  %s: body is not UTF-8: %.*s\n", what,
		    (int)len, body);
		return (-1);
	}
	if ((j = json_loadb(body, len, 0, &e)) == NULL) {
		fprintf(stderr, "  %s: body is not JSON (%s): %.*s\n", what,
		    e.text, (int)len, body);
		return (-1);
	}
	err = json_object_get(j, "error");
	code = json_object_get(err, "code");
	msg = json_object_get(err, "message");
	if (json_is_integer(code) && json_is_string(msg))
		c = json_integer_value(code);
	else
		fprintf(stderr, "  %s: not an error object: %.*s\n", what,
		    (int)len, body);
	json_decref(j);
	return (c);
}

/* The error message of a JSON error body (caller frees), or NULL. */
static char *
error_message(const char *body, size_t len)
{
	json_t	*j;
	char	*m = NULL;

	if ((j = json_loadb(body, len, 0, NULL)) == NULL)
		return (NULL);
	if (json_string_value(json_object_get(json_object_get(j, "error"),
	    "message")) != NULL)
		m = strdup(json_string_value(json_object_get(
		    json_object_get(j, "error"), "message")));
	json_decref(j);
	return (m);
}

/* A request that must be refused, with its status, and then closed. */
struct refusal {
	const char	*what;
	const char	*req;
	int		 status;
};

/*
 * Send each refused request, with a second request pipelined behind it
 * (what a proxy would take for the next one): the first gets the status
 * with a JSON error body, the connection is closed, and the second is
 * never answered.
 */
static void
expect_refusals(const struct refusal *cases, size_t n)
{
	static const char	*next = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
	struct rresp		 r;
	size_t			 i;
	char			*req;
	long long		 code;
	int			 closed;

	for (i = 0; i < n; i++) {
		req = cu_fmt("%s%s", cases[i].req, next);
		raw_send(req, strlen(req), &r, &closed);
		code = r.status != -1 ? error_body(cases[i].what, r.body,
		    r.bodylen) : -1;
		EXPECT(r.status == cases[i].status && code >= 40000 &&
		    closed && r.nresp == 1, "%s: status %d (want %d), "
		    "code %lld, %s, %d responses: %s%s", cases[i].what,
		    r.status, cases[i].status, code, closed ? "closed" :
		    "left open", r.nresp, r.head != NULL ? r.head : "",
		    r.body != NULL ? r.body : "");
		rresp_free(&r);
		free(req);
	}
}

/* HTTP/1.0 and 1.1 only: anything else is 505; 1.0 still works. */
static void
test_version(void)
{
	static const struct refusal	 cases[] = {
		{ "HTTP/9.9", "GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n",
		    505 },
		{ "HTTP/2.0", "GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n",
		    505 },
		{ "HTTP/1.2", "GET /healthz HTTP/1.2\r\nHost: x\r\n\r\n",
		    505 },
		{ "HTTP/0.9", "GET /healthz HTTP/0.9\r\nHost: x\r\n\r\n",
		    505 },
	};
	const char	*req = "GET /healthz HTTP/1.0\r\n\r\n";
	struct rresp	 r;
	int		 closed;

	expect_refusals(cases, nitems(cases));
	raw_send(req, strlen(req), &r, &closed);
	EXPECT(r.status == 200 && closed, "HTTP/1.0: status %d, %s",
	    r.status, closed ? "closed" : "open");
	rresp_free(&r);
}

/*
 * Transfer-Encoding other than exactly "chunked" is 501; with
 * Content-Length, or in HTTP/1.0, 400.  "gzip, chunked" used to be read
 * as plain chunked.
 */
static void
test_transfer_encoding(void)
{
	static const struct refusal	 cases[] = {
		{ "gzip, chunked", "POST /v1/channels/te/messages HTTP/1.1\r\n"
		    "Host: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
		    "c\r\n{\"data\":\"g\"}\r\n0\r\n\r\n", 501 },
		{ "gzip", "POST /v1/channels/te/messages HTTP/1.1\r\n"
		    "Host: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501 },
		{ "chunked twice", "POST /v1/channels/te/messages HTTP/1.1\r\n"
		    "Host: x\r\nTransfer-Encoding: chunked\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501 },
		{ "chunked, identity", "POST /v1/channels/te/messages "
		    "HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, "
		    "identity\r\n\r\n0\r\n\r\n", 501 },
		{ "chunked and Content-Length",
		    "POST /v1/channels/te/messages HTTP/1.1\r\nHost: x\r\n"
		    "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
		    "0\r\n\r\n", 400 },
		{ "Content-Length and chunked",
		    "POST /v1/channels/te/messages HTTP/1.1\r\nHost: x\r\n"
		    "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
		    "0\r\n\r\n", 400 },
		{ "chunked in HTTP/1.0", "POST /v1/channels/te/messages "
		    "HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"
		    "0\r\n\r\n", 400 },
	};
	struct hd_resp	 h;

	expect_refusals(cases, nitems(cases));
	EXPECT(hd_http(hd, "GET", "/v1/channels/te", NULL, NULL, 0, &h) == 0 &&
	    h.status == 404, "nothing was published to te: %d %s", h.status,
	    h.body);
	hd_resp_free(&h);
}

/* Whitespace before a colon, bare CRs and folded lines are 400. */
static void
test_header_lines(void)
{
	static const struct refusal	 cases[] = {
		{ "space before the colon", "GET /healthz HTTP/1.1\r\n"
		    "Host : x\r\n\r\n", 400 },
		{ "Content-Length with a space before the colon",
		    "POST /v1/channels/hl/messages HTTP/1.1\r\nHost: x\r\n"
		    "Content-Length : 12\r\n\r\n{\"data\":\"h\"}", 400 },
		{ "space inside a name", "GET /healthz HTTP/1.1\r\nHost: x\r\n"
		    "X Forwarded: y\r\n\r\n", 400 },
		{ "bare CR in a header line", "GET /healthz HTTP/1.1\r\n"
		    "Host: x\r\nX-A: b\rX-B: c\r\n\r\n", 400 },
		{ "bare CR ending the head", "GET /healthz HTTP/1.1\r\n"
		    "Host: x\r\n\rX", 400 },
		{ "folded header line", "GET /healthz HTTP/1.1\r\nHost: x\r\n"
		    "X-A: b\r\n c\r\n\r\n", 400 },
		{ "whitespace before the first header",
		    "GET /healthz HTTP/1.1\r\n Host: x\r\n\r\n", 400 },
	};

	expect_refusals(cases, nitems(cases));
}

/* Write len bytes one at a time (the decoder must not care). */
static int
write_slowly(int fd, const char *p, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		if (send(fd, p + i, 1, MSG_NOSIGNAL) != 1)
			return (-1);
	}
	return (0);
}

/* Read from fd until the peer closes or the deadline passes. */
static char *
read_all(int fd, int64_t deadline, size_t *len)
{
	struct pollfd	 pfd = { fd, POLLIN, 0 };
	char		*buf = strdup(""), tmp[4096];
	ssize_t		 n;
	int		 left;

	*len = 0;
	while ((left = (int)(deadline - mono_ms())) > 0) {
		if (poll(&pfd, 1, left) <= 0)
			break;
		if ((n = recv(fd, tmp, sizeof tmp, 0)) <= 0)
			break;
		buf = realloc(buf, *len + (size_t)n + 1);
		memcpy(buf + *len, tmp, (size_t)n);
		*len += (size_t)n;
		buf[*len] = '\0';
	}
	return (buf);
}

/*
 * Chunked bodies: chunk data must be followed by CRLF and lines must end
 * in CRLF (400 otherwise); extensions and trailers are allowed; a valid
 * body sent one byte at a time is read whole.
 */
static void
test_chunked(void)
{
	static const struct refusal	 cases[] = {
		{ "chunk data without its CRLF", "POST /v1/channels/ch/messages "
		    "HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
		    "c\r\n{\"data\":\"x\"}XX0\r\n\r\n", 400 },
		{ "chunk data followed by LF only",
		    "POST /v1/channels/ch/messages HTTP/1.1\r\nHost: x\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n"
		    "c\r\n{\"data\":\"x\"}\n0\r\n\r\n", 400 },
		{ "chunk size line with a bare CR",
		    "POST /v1/channels/ch/messages HTTP/1.1\r\nHost: x\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n"
		    "c\rX{\"data\":\"x\"}\r\n0\r\n\r\n", 400 },
		{ "chunk size line ended by LF",
		    "POST /v1/channels/ch/messages HTTP/1.1\r\nHost: x\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n"
		    "c\n{\"data\":\"x\"}\r\n0\r\n\r\n", 400 },
		{ "chunk size not hex", "POST /v1/channels/ch/messages "
		    "HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
		    "zz\r\n{\"data\":\"x\"}\r\n0\r\n\r\n", 400 },
		{ "bad trailer", "POST /v1/channels/ch/messages HTTP/1.1\r\n"
		    "Host: x\r\nTransfer-Encoding: chunked\r\n\r\n"
		    "c\r\n{\"data\":\"x\"}\r\n0\r\nX-T : 1\r\n\r\n", 400 },
	};
	const char	*ok = "POST /v1/channels/ch/messages HTTP/1.1\r\n"
	    "Host: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n"
	    "\r\n5;ext=1\r\n{\"dat\r\n7\r\na\":\"ok\"\r\n1\r\n}\r\n0\r\n"
	    "X-Trailer: t\r\n\r\n";
	struct rresp	 r;
	char		*resp;
	size_t		 len;
	int		 fd;

	expect_refusals(cases, nitems(cases));

	fd = hd_tcp(hd);
	EXPECT(fd != -1, "connect");
	if (fd == -1)
		return;
	EXPECT(write_slowly(fd, ok, strlen(ok)) == 0, "send");
	resp = read_all(fd, mono_ms() + RAW_TIMEOUT, &len);
	close(fd);
	rresp_parse(resp, len, &r);
	EXPECT(r.status == 201 && r.body != NULL &&
	    strstr(r.body, "\"serial\":1") != NULL, "chunked byte by byte: "
	    "%s", resp);
	rresp_free(&r);
	free(resp);
}

/*
 * Expect: 100-continue: the interim 100 comes after the head and before
 * the client sends the body, on a raw socket; a body over the limit gets
 * 413 instead and another expectation 417.
 */
static void
test_expect_raw(void)
{
	static const struct refusal	 cases[] = {
		{ "unknown expectation", "POST /v1/channels/ex/messages "
		    "HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\n"
		    "Content-Length: 12\r\n\r\n{\"data\":\"e\"}", 417 },
	};
	const char	*head = "POST /v1/channels/ex/messages HTTP/1.1\r\n"
	    "Host: x\r\nExpect: 100-continue\r\nContent-Length: 12\r\n"
	    "Connection: close\r\n\r\n";
	const char	*body = "{\"data\":\"e\"}";
	char		*resp = NULL, *req;
	struct rresp	 r;
	size_t		 len;
	int		 fd, closed;

	fd = hd_tcp(hd);
	EXPECT(fd != -1, "connect");
	if (fd == -1)
		return;
	EXPECT(send(fd, head, strlen(head), MSG_NOSIGNAL) ==
	    (ssize_t)strlen(head), "send head");
	/* Nothing else is sent until the 100: it must come by itself. */
	{
		struct pollfd	 pfd = { fd, POLLIN, 0 };
		char		 buf[256];
		ssize_t		 n = 0, got = 0;
		int64_t		 deadline = mono_ms() + RAW_TIMEOUT;

		while (got < (ssize_t)strlen(CONTINUE_LINE) &&
		    mono_ms() < deadline && poll(&pfd, 1,
		    (int)(deadline - mono_ms())) == 1) {
			n = recv(fd, buf + got, strlen(CONTINUE_LINE) -
			    (size_t)got, 0);
			if (n <= 0)
				break;
			got += n;
		}
		buf[got] = '\0';
		EXPECT(got == (ssize_t)strlen(CONTINUE_LINE) &&
		    memcmp(buf, CONTINUE_LINE, (size_t)got) == 0,
		    "before the body: \"%s\"", buf);
	}
	EXPECT(send(fd, body, strlen(body), MSG_NOSIGNAL) ==
	    (ssize_t)strlen(body), "send body");
	resp = read_all(fd, mono_ms() + RAW_TIMEOUT, &len);
	close(fd);
	rresp_parse(resp, len, &r);
	EXPECT(r.status == 201 && r.interim == 0, "after the body: %s", resp);
	rresp_free(&r);
	free(resp);

	/* Over --max-body-bytes (8 MiB): 413 straight away, no 100. */
	req = cu_fmt("POST /v1/channels/ex/messages HTTP/1.1\r\nHost: x\r\n"
	    "Expect: 100-continue\r\nContent-Length: %d\r\n\r\n",
	    8 * 1024 * 1024 + 1);
	raw_send(req, strlen(req), &r, &closed);
	EXPECT(r.status == 413 && r.interim == 0 && closed &&
	    error_body("413", r.body, r.bodylen) == 41300, "413: %d, %d "
	    "interim", r.status, r.interim);
	rresp_free(&r);
	free(req);

	/* HTTP/1.0 ignores Expect (RFC 9110 10.1.1). */
	req = cu_fmt("POST /v1/channels/ex/messages HTTP/1.0\r\n"
	    "Expect: 100-continue\r\nContent-Length: 12\r\n\r\n%s", body);
	raw_send(req, strlen(req), &r, &closed);
	EXPECT(r.status == 201 && r.interim == 0, "HTTP/1.0: %d, %d interim",
	    r.status, r.interim);
	rresp_free(&r);
	free(req);

	expect_refusals(cases, nitems(cases));
}

/*
 * curl with a large POST and Expect: 100-continue: its verbose trace
 * shows the server's 100 (without it, curl waits a second and sends the
 * body anyway, so only the trace tells).
 */
static void
test_expect_curl(void)
{
	const char	*argv[16];
	char		*path, *url, *data, *out = NULL, *err = NULL;
	size_t		 i, n = 0, len = 0;
	FILE		*f;
	int		 st;

	path = cu_fmt("%s/big.json", hd_dir(hd));
	/* 1000 messages of 1.2 KB: 1.2 MB, past curl's own threshold. */
	data = malloc(1000 * 1300 + 16);
	data[len++] = '[';
	for (i = 0; i < 1000; i++) {
		len += (size_t)sprintf(data + len, "%s{\"data\":\"", i ? "," :
		    "");
		memset(data + len, 'c', 1200);
		len += 1200;
		len += (size_t)sprintf(data + len, "\"}");
	}
	data[len++] = ']';
	f = fopen(path, "w");
	EXPECT(f != NULL && fwrite(data, 1, len, f) == len && fclose(f) == 0,
	    "write %s", path);
	free(data);
	url = cu_fmt("%s/v1/channels/curl-big/messages", hd_url(hd));
	data = cu_fmt("@%s", path);
	argv[n++] = "/usr/bin/curl";
	argv[n++] = "-sS";
	argv[n++] = "-v";
	argv[n++] = "--max-time";
	argv[n++] = "20";
	argv[n++] = "-H";
	argv[n++] = "Expect: 100-continue";
	argv[n++] = "-H";
	argv[n++] = "Content-Type: application/json";
	argv[n++] = "--data-binary";
	argv[n++] = data;
	argv[n++] = url;
	argv[n] = NULL;
	st = hd_run(argv, NULL, 30000, &out, &err);
	EXPECT(st == 0 && out != NULL && strstr(out, "\"serial\":1000") !=
	    NULL, "curl: exit %d: %.300s", st, out != NULL ? out : "");
	EXPECT(err != NULL && strstr(err, "< HTTP/1.1 100 Continue") != NULL,
	    "curl saw no 100 Continue: %.2000s", err != NULL ? err : "");
	free(out);
	free(err);
	free(url);
	free(data);
	free(path);
}

/*
 * Request targets: absolute-form is routed by its path (RFC 9112 3.2.2);
 * OPTIONS * gets 204 with Allow; "*" with another method, other schemes
 * and a userinfo are 400.
 */
static void
test_targets(void)
{
	static const struct refusal	 cases[] = {
		{ "GET *", "GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
		{ "ftp scheme", "GET ftp://127.0.0.1/healthz HTTP/1.1\r\n"
		    "Host: x\r\n\r\n", 400 },
		{ "userinfo", "GET http://u@127.0.0.1/healthz HTTP/1.1\r\n"
		    "Host: x\r\n\r\n", 400 },
	};
	struct rresp	 r;
	char		*req, *body;
	json_t		*j;
	int		 closed;

	req = cu_fmt("GET http://127.0.0.1:%d/healthz HTTP/1.1\r\nHost: "
	    "127.0.0.1:%d\r\nConnection: close\r\n\r\n", hd_port(hd),
	    hd_port(hd));
	raw_send(req, strlen(req), &r, &closed);
	j = r.body != NULL ? json_loadb(r.body, r.bodylen, 0, NULL) : NULL;
	EXPECT(r.status == 200 && j != NULL && json_string_value(
	    json_object_get(j, "status")) != NULL && strcmp(json_string_value(
	    json_object_get(j, "status")), "ok") == 0, "absolute /healthz: "
	    "%d %s", r.status, r.body != NULL ? r.body : "");
	json_decref(j);
	rresp_free(&r);
	free(req);

	body = "{\"data\":\"abs\"}";
	req = cu_fmt("POST HTTP://127.0.0.1:%d/v1/channels/abs%%2Fx/messages "
	    "HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n%s"
	    "GET https://logwire.example/v1/channels/abs%%2Fx/messages/1"
	    "?x=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
	    hd_port(hd), strlen(body), body);
	raw_send(req, strlen(req), &r, &closed);
	EXPECT(r.status == 201 && r.nresp == 2, "absolute POST then GET: %d, "
	    "%d responses", r.status, r.nresp);
	rresp_free(&r);
	free(req);

	req = "OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	raw_send(req, strlen(req), &r, &closed);
	EXPECT(r.status == 204 && r.head != NULL &&
	    strcasestr(r.head, "\r\nAllow: GET, HEAD, POST, OPTIONS\r\n") !=
	    NULL, "OPTIONS *: %d %s", r.status, r.head != NULL ? r.head : "");
	rresp_free(&r);

	expect_refusals(cases, nitems(cases));
}

/* A request whose error echoes bytes that are not UTF-8. */
struct hostile {
	const char	*what;
	const char	*method;
	const char	*path;
	const char	*body;
	int		 status;
	const char	*echo;		/* wanted in the message, or NULL */
};

/*
 * Error bodies are valid UTF-8 JSON whatever the request held: bytes of
 * the request that are not UTF-8 come back as U+FFFD.
 */
static void
test_error_bodies(void)
{
	static const struct hostile	 cases[] = {
		{ "serial %C3%28", "GET", "/v1/channels/x/messages/%C3%28",
		    NULL, 400, "not a serial: \xef\xbf\xbd(" },
		{ "raw bytes in the serial", "GET",
		    "/v1/channels/x/messages/\xff\xfe", NULL, 400,
		    "\xef\xbf\xbd\xef\xbf\xbd" },
		{ "limit %FF%FE", "GET", "/v1/channels/x/messages?limit=%FF%FE",
		    NULL, 400, "\xef\xbf\xbd\xef\xbf\xbd" },
		{ "channels limit %FF", "GET", "/v1/channels?limit=%FF", NULL,
		    400, "\xef\xbf\xbd" },
		{ "from %C0%80 (overlong)", "GET",
		    "/v1/channels/x/messages?from=%C0%80", NULL, 400, NULL },
		{ "to %ED%A0%80 (surrogate)", "GET",
		    "/v1/channels/x/messages?to=%ED%A0%80", NULL, 400, NULL },
		{ "start %F4%90%80%80 (past U+10FFFF)", "GET",
		    "/v1/channels/x/messages?start=%F4%90%80%80", NULL, 400,
		    NULL },
		{ "channel %FF", "GET", "/v1/channels/%FF/messages", NULL, 400,
		    NULL },
		{ "body \\xff\\xfe", "POST", "/v1/channels/x/messages",
		    "\xff\xfe", 400, NULL },
		{ "data \\xff", "POST", "/v1/channels/x/messages",
		    "{\"data\":\"\xff\"}", 400, NULL },
		{ "token \\xc3", "POST", "/v1/channels/x/messages",
		    "[{\"data\":1},\xc3]", 400, NULL },
		{ "name \\xe2\\x82", "POST", "/v1/channels/x/messages",
		    "{\"data\":1,\"name\":\"\xe2\x82\"}", 400, NULL },
	};
	struct hd_resp	 h;
	size_t		 i;
	long long	 code;
	char		*msg;

	/* The channel exists, so that the query is what gets refused. */
	EXPECT(hd_http(hd, "POST", "/v1/channels/x/messages", NULL,
	    "{\"data\":1}", 10, &h) == 0 && h.status == 201, "publish to x: "
	    "%d", h.status);
	hd_resp_free(&h);
	for (i = 0; i < nitems(cases); i++) {
		memset(&h, 0, sizeof h);
		if (hd_http(hd, cases[i].method, cases[i].path, NULL,
		    cases[i].body, cases[i].body != NULL ?
		    strlen(cases[i].body) : 0, &h) != 0) {
			EXPECT(0, "%s: no answer", cases[i].what);
			continue;
		}
		code = error_body(cases[i].what, h.body, h.bodylen);
		EXPECT(h.status == cases[i].status && code >= 40000,
		    "%s: status %d (want %d), code %lld: %.*s", cases[i].what,
		    h.status, cases[i].status, code, (int)h.bodylen,
		    h.body != NULL ? h.body : "");
		if (cases[i].echo != NULL) {
			msg = error_message(h.body, h.bodylen);
			EXPECT(msg != NULL && strstr(msg, cases[i].echo) !=
			    NULL, "%s: message \"%s\" lacks \"%s\"",
			    cases[i].what, msg != NULL ? msg : "",
			    cases[i].echo);
			free(msg);
		}
		hd_resp_free(&h);
	}
}

int
main(void)
{
	static const struct cu_test tests[] = {
		{ "version: 1.0 and 1.1 only (505)", test_version },
		{ "Transfer-Encoding: chunked only (501), not with "
		    "Content-Length (400)", test_transfer_encoding },
		{ "header lines: whitespace before the colon, bare CR, "
		    "folding (400)", test_header_lines },
		{ "chunked bodies: strict framing, read byte by byte",
		    test_chunked },
		{ "Expect: 100-continue on a raw socket, 413, 417",
		    test_expect_raw },
		{ "Expect: 100-continue with curl and a large POST",
		    test_expect_curl },
		{ "targets: absolute-form, OPTIONS *", test_targets },
		{ "error bodies are UTF-8 JSON whatever the request held",
		    test_error_bodies },
	};

	signal(SIGPIPE, SIG_IGN);
	if ((hd = hd_start(NULL)) == NULL) {
		fprintf(stderr, "test_http: cannot start logwired\n");
		return (1);
	}
	return (hd_finish(hd, cu_run("http", tests, nitems(tests))));
}
