/*
 * Unit tests of the code the clients share (src/client/): URLs, connect
 * with a deadline, the HTTP response reader and the WebSocket upgrade.
 * Nothing here needs a logwired: responses are fed as bytes, and the
 * connections go to a listening socket of the test's own.
 */

#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "common.h"
#include "client.h"
#include "cu_run.h"

/*
 * URLs: schemes, default ports, IPv6, paths and the base prefix, each
 * case with what url_parse() must make of it as "scheme host port path
 * prefix" (the prefix after the last space, often empty).
 */
static void
test_url_good(void)
{
	static const char *const cases[][2] = {
		{ "http://127.0.0.1:8080", "http 127.0.0.1 8080 / " },
		{ "http://example.com", "http example.com 80 / " },
		{ "https://example.com/", "https example.com 443 / " },
		{ "ws://h/v1/ws", "ws h 80 /v1/ws /v1/ws" },
		{ "wss://h:9443/x/", "wss h 9443 /x/ /x" },
		{ "nats://10.0.0.1", "nats 10.0.0.1 4222 / " },
		{ "HTTP://Host:1/", "http Host 1 / " },
		{ "http://h:65535/lw//", "http h 65535 /lw// /lw" },
		{ "ws://h/other?access_token=t",
		    "ws h 80 /other?access_token=t /other" },
		{ "ws://h?x=1", "ws h 80 /?x=1 " },
		{ "http://h/a#frag", "http h 80 /a#frag /a" },
		{ "http://[::1]:8080/lw/", "http ::1 8080 /lw/ /lw" },
		{ "ws://[::1]", "ws ::1 80 / " },
		{ "http://[fe80::1%25eth0]:80", "http fe80::1%25eth0 80 / " },
		{ "foo+bar://h:7", "foo+bar h 7 / " },
		{ "foo://h", "foo h 0 / " },
	};
	struct url	 u;
	char		*cause, *got;
	size_t		 i;

	for (i = 0; i < nitems(cases); i++) {
		cause = NULL;
		if (url_parse(cases[i][0], &u, &cause) != 0) {
			fprintf(stderr, "%s refused: %s\n", cases[i][0], cause);
			free(cause);
			CU_FAIL("good URL refused");
			continue;
		}
		CU_ASSERT_PTR_NULL(cause);
		xasprintf(&got, "%s %s %d %s %s", u.scheme, u.host, u.port,
		    u.path, u.prefix);
		if (strcmp(got, cases[i][1]) != 0)
			fprintf(stderr, "%s: \"%s\", want \"%s\"\n",
			    cases[i][0], got, cases[i][1]);
		CU_ASSERT_STRING_EQUAL(got, cases[i][1]);
		free(got);
		url_free(&u);
	}
}

/* URLs refused, each with a message naming the URL. */
static void
test_url_bad(void)
{
	static const char *const cases[] = {
		"", "localhost:8080", "://h", "http:/h", "http//h", "http://",
		"http://:80", "http://h:", "http://h:0", "http://h:65536",
		"http://h:99999", "http://h:8x", "http://h:+80", "http://h: 80",
		"http://h:-1", "http://[::1", "http://[]:80", "http://[::1]x",
		"http://[::1]:", "http://h#f", "ht tp://h",
		"http://h:99999999999999999999",
	};
	struct url	 u;
	char		*cause, *host;
	size_t		 i;

	for (i = 0; i < nitems(cases); i++) {
		cause = NULL;
		if (url_parse(cases[i], &u, &cause) == 0) {
			fprintf(stderr, "accepted \"%s\"\n", cases[i]);
			url_free(&u);
			CU_FAIL("bad URL accepted");
			continue;
		}
		CU_ASSERT(cause != NULL && strstr(cause, "bad URL") != NULL &&
		    strncmp(cause, cases[i], strlen(cases[i])) == 0);
		CU_ASSERT_PTR_NULL(u.host);
		free(cause);
	}

	/* A host longer than DNS allows. */
	host = xmalloc(URL_HOST_MAX + 20);
	memset(host, 'a', URL_HOST_MAX + 19);
	memcpy(host, "ws://", 5);
	host[URL_HOST_MAX + 6] = '\0';
	cause = NULL;
	CU_ASSERT_EQUAL(url_parse(host, &u, &cause), -1);
	free(cause);
	host[URL_HOST_MAX + 5] = '\0';
	cause = NULL;
	CU_ASSERT_EQUAL(url_parse(host, &u, &cause), 0);
	if (cause == NULL)
		url_free(&u);
	free(cause);
	free(host);
}

/* Host headers and the CLI's base URL on top of url_parse(). */
static void
test_url_users(void)
{
	struct httpc_url	 hu;
	char			*s, *cause;

	s = url_hostport("::1", 80);
	CU_ASSERT_STRING_EQUAL(s, "[::1]:80");
	free(s);
	s = url_hostport("[::1]", 80);
	CU_ASSERT_STRING_EQUAL(s, "[::1]:80");
	free(s);
	s = url_hostport("example.com", 8080);
	CU_ASSERT_STRING_EQUAL(s, "example.com:8080");
	free(s);

	CU_ASSERT_EQUAL(httpc_parse_url("http://[::1]:9/lw/", &hu, &cause),
	    0);
	CU_ASSERT_STRING_EQUAL(hu.host, "::1");
	CU_ASSERT_EQUAL(hu.port, 9);
	CU_ASSERT_STRING_EQUAL(hu.prefix, "/lw");

	cause = NULL;
	CU_ASSERT_EQUAL(httpc_parse_url("https://h", &hu, &cause), -1);
	CU_ASSERT(cause != NULL && strstr(cause, "https is not supported"));
	free(cause);
	cause = NULL;
	CU_ASSERT_EQUAL(httpc_parse_url("ws://h", &hu, &cause), -1);
	CU_ASSERT(cause != NULL && strstr(cause, "want an http:// URL"));
	free(cause);
	cause = NULL;
	CU_ASSERT_EQUAL(httpc_parse_url("h:80", &hu, &cause), -1);
	CU_ASSERT(cause != NULL && strstr(cause, "bad URL"));
	free(cause);
}

/* Listen on a loopback port; return the socket and the port. */
static int
listen_any(int *port)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof sin;
	int			fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CU_ASSERT_FATAL(fd != -1);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&sin, sizeof sin) == 0);
	CU_ASSERT_FATAL(listen(fd, 4) == 0);
	CU_ASSERT_FATAL(getsockname(fd, (struct sockaddr *)&sin, &len) == 0);
	*port = ntohs(sin.sin_port);
	return (fd);
}

/*
 * Connect with a deadline: to a listener (a non-blocking socket comes
 * back) and to a closed port (-1 and a message).  Then read a response from a real socket with hresp_read():
 * complete, cut short by a close, and not there before the deadline.
 */
static void
test_net(void)
{
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
	    "\r\nok";
	struct hresp	*r;
	char		*cause;
	int		 lfd, fd, afd, port, closed;

	lfd = listen_any(&port);
	cause = NULL;
	fd = net_connect("127.0.0.1", port, net_deadline(5000), &cause);
	CU_ASSERT_FATAL(fd != -1);
	CU_ASSERT_PTR_NULL(cause);
	CU_ASSERT(fcntl(fd, F_GETFL) & O_NONBLOCK);
	afd = accept(lfd, NULL, NULL);
	CU_ASSERT_FATAL(afd != -1);

	/* A whole response, written by the peer in two pieces. */
	CU_ASSERT_EQUAL(net_write(afd, resp, 20, net_deadline(5000)), 0);
	CU_ASSERT_EQUAL(net_write(afd, resp + 20, sizeof resp - 21,
	    net_deadline(5000)), 0);
	r = hresp_new(0, SIZE_MAX, NULL, NULL);
	CU_ASSERT_EQUAL(hresp_read(r, fd, net_deadline(5000), -1, &cause), 0);
	CU_ASSERT_EQUAL(hresp_status(r), 200);
	hresp_free(r);

	/* Nothing comes: the idle bound says so. */
	r = hresp_new(0, SIZE_MAX, NULL, NULL);
	cause = NULL;
	CU_ASSERT_EQUAL(hresp_read(r, fd, net_deadline(5000), 50, &cause),
	    -1);
	CU_ASSERT(cause != NULL && strstr(cause, "no answer") != NULL);
	free(cause);

	/* Half a head, then the peer closes. */
	CU_ASSERT_EQUAL(net_write(afd, resp, 20, net_deadline(5000)), 0);
	close(afd);
	cause = NULL;
	CU_ASSERT_EQUAL(hresp_read(r, fd, net_deadline(5000), -1, &cause),
	    -1);
	CU_ASSERT(cause != NULL && strstr(cause, "closed") != NULL);
	free(cause);
	hresp_free(r);
	close(fd);

	/* The port closes: refused, with the reason. */
	close(lfd);
	cause = NULL;
	closed = net_connect("127.0.0.1", port, net_deadline(5000), &cause);
	CU_ASSERT_EQUAL(closed, -1);
	CU_ASSERT(cause != NULL && strstr(cause, "cannot connect") != NULL);
	free(cause);

	CU_ASSERT_EQUAL(net_deadline(-1), -1);
}

/* Feed text to r one byte at a time; return the last result. */
static int
feed_bytes(struct hresp *r, const char *text)
{
	size_t	i, len = strlen(text);
	int	rc = HRESP_MORE;

	for (i = 0; i < len && rc == HRESP_MORE; i++)
		rc = hresp_feed(r, text + i, 1, NULL);
	return (rc);
}

struct body_arg {
	char	buf[64];
	size_t	len;
	int	stop;
};

/* Collect a streamed body; stop when told to. */
static int
body_cb(const char *at, size_t len, void *arg)
{
	struct body_arg	*b = arg;

	if (b->stop)
		return (1);
	if (len > sizeof b->buf - b->len)
		len = sizeof b->buf - b->len;
	memcpy(b->buf + b->len, at, len);
	b->len += len;
	return (0);
}

/* Responses fed in pieces: headers, bodies of every kind, HEAD. */
static void
test_hresp(void)
{
	static const char		 chunked[] = "HTTP/1.1 200 OK\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n"
	    "0\r\n\r\n";
	const struct hresp_header	*h;
	struct hresp			*r;
	struct body_arg			 b;
	const char			*body;
	char				*taken, *text;
	size_t				 n, used;

	/* Byte by byte: status, headers (case kept, any-case lookup). */
	r = hresp_new(0, SIZE_MAX, NULL, NULL);
	CU_ASSERT_EQUAL(hresp_status(r), 0);
	CU_ASSERT_EQUAL(feed_bytes(r, "HTTP/1.1 404 Not Found\r\n"
	    "Content-Type: application/json\r\nX-A: 1\r\nx-a: 2\r\n"
	    "X-Empty:\r\nContent-Length: 5\r\n\r\nhello"), HRESP_DONE);
	CU_ASSERT_EQUAL(hresp_status(r), 404);
	CU_ASSERT_STRING_EQUAL(hresp_header(r, "content-type"),
	    "application/json");
	CU_ASSERT_STRING_EQUAL(hresp_header(r, "X-A"), "2");	/* last */
	CU_ASSERT_STRING_EQUAL(hresp_header(r, "x-empty"), "");
	CU_ASSERT_PTR_NULL(hresp_header(r, "X-None"));
	h = hresp_headers(r, &n);
	CU_ASSERT_EQUAL_FATAL(n, 5);
	CU_ASSERT_STRING_EQUAL(h[0].name, "Content-Type");
	CU_ASSERT_STRING_EQUAL(h[2].name, "x-a");
	body = hresp_body(r, &n);
	CU_ASSERT(n == 5 && strcmp(body, "hello") == 0);
	CU_ASSERT_PTR_NULL(hresp_error(r));
	hresp_free(r);

	/* Chunked, and what follows the end is not taken. */
	r = hresp_new(0, SIZE_MAX, NULL, NULL);
	n = strlen(chunked);
	text = xmalloc(n + 7);
	memcpy(text, chunked, n);
	memcpy(text + n, "GARBAGE", 7);
	CU_ASSERT_EQUAL(hresp_feed(r, text, n + 7, &used), HRESP_DONE);
	CU_ASSERT_EQUAL(used, n);
	free(text);
	taken = hresp_take_body(r, &n);
	CU_ASSERT(n == 5 && strcmp(taken, "abcde") == 0);
	free(taken);
	body = hresp_body(r, &n);
	CU_ASSERT(n == 0 && strcmp(body, "") == 0);
	hresp_free(r);

	/* A body up to EOF, kept up to body_max. */
	r = hresp_new(0, 4, NULL, NULL);
	CU_ASSERT_EQUAL(feed_bytes(r, "HTTP/1.1 500 Oops\r\n\r\nlong body"),
	    HRESP_MORE);
	CU_ASSERT_EQUAL(hresp_feed(r, NULL, 0, NULL), HRESP_DONE);
	body = hresp_body(r, &n);
	CU_ASSERT(n == 4 && strcmp(body, "long") == 0);
	hresp_free(r);

	/* HEAD: no body, whatever Content-Length says. */
	r = hresp_new(1, SIZE_MAX, NULL, NULL);
	CU_ASSERT_EQUAL(feed_bytes(r, "HTTP/1.1 200 OK\r\n"
	    "Content-Length: 100\r\n\r\n"), HRESP_DONE);
	CU_ASSERT_EQUAL(hresp_status(r), 200);
	hresp_free(r);

	/* A 2xx body goes to the callback, another status's is kept. */
	memset(&b, 0, sizeof b);
	r = hresp_new(0, SIZE_MAX, body_cb, &b);
	CU_ASSERT_EQUAL(feed_bytes(r, "HTTP/1.1 200 OK\r\n"
	    "Content-Length: 3\r\n\r\nxyz"), HRESP_DONE);
	CU_ASSERT(b.len == 3 && memcmp(b.buf, "xyz", 3) == 0);
	hresp_body(r, &n);
	CU_ASSERT_EQUAL(n, 0);
	hresp_free(r);
	memset(&b, 0, sizeof b);
	r = hresp_new(0, SIZE_MAX, body_cb, &b);
	CU_ASSERT_EQUAL(feed_bytes(r, "HTTP/1.1 400 Bad\r\n"
	    "Content-Length: 3\r\n\r\nbad"), HRESP_DONE);
	CU_ASSERT_EQUAL(b.len, 0);
	CU_ASSERT_STRING_EQUAL(hresp_body(r, &n), "bad");
	hresp_free(r);

	/* The callback stops the read. */
	memset(&b, 0, sizeof b);
	b.stop = 1;
	r = hresp_new(0, SIZE_MAX, body_cb, &b);
	CU_ASSERT_EQUAL(feed_bytes(r, "HTTP/1.1 200 OK\r\n"
	    "Content-Length: 3\r\n\r\nxyz"), HRESP_ERROR);
	CU_ASSERT(strstr(hresp_error(r), "stopped") != NULL);
	hresp_free(r);

	/* Not HTTP; and the end of the stream inside a body. */
	r = hresp_new(0, SIZE_MAX, NULL, NULL);
	CU_ASSERT_EQUAL(hresp_feed(r, "SSH-2.0-x\r\n\r\n", 13, NULL),
	    HRESP_ERROR);
	CU_ASSERT_PTR_NOT_NULL(hresp_error(r));
	CU_ASSERT_EQUAL(hresp_feed(r, "more", 4, NULL), HRESP_ERROR);
	hresp_free(r);
	r = hresp_new(0, SIZE_MAX, NULL, NULL);
	CU_ASSERT_EQUAL(feed_bytes(r, "HTTP/1.1 200 OK\r\n"
	    "Content-Length: 10\r\n\r\nabc"), HRESP_MORE);
	CU_ASSERT_EQUAL(hresp_feed(r, NULL, 0, NULL), HRESP_ERROR);
	CU_ASSERT(strstr(hresp_error(r), "closed") != NULL);
	hresp_free(r);
}

/* Check a 101 head for key against protocol; return the result. */
static int
check_head(const char *head, const char *key, const char *protocol,
    char **cause)
{
	struct hresp	*r;
	int		 rc;

	*cause = NULL;
	r = hresp_new(0, 0, NULL, NULL);
	CU_ASSERT_NOT_EQUAL(hresp_feed(r, head, strlen(head), NULL),
	    HRESP_ERROR);
	rc = upgrade_check(r, key, protocol, cause);
	hresp_free(r);
	if (rc == 0)
		CU_ASSERT_PTR_NULL(*cause);
	return (rc);
}

/* The upgrade request, and the checks of the 101 against it. */
static void
test_upgrade(void)
{
	static const char *const hdrs[] = { "Authorization: Bearer t", NULL };
	static const char	 key[] = "dGhlIHNhbXBsZSBub25jZQ==";
	char			*req, *cause, head[512], acc[128];

	req = upgrade_request("/v1/ws?x=1", "::1", 8080, key, "logwire.v1",
	    hdrs);
	CU_ASSERT_STRING_EQUAL(req, "GET /v1/ws?x=1 HTTP/1.1\r\n"
	    "Host: [::1]:8080\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "Sec-WebSocket-Protocol: logwire.v1\r\n"
	    "Authorization: Bearer t\r\n\r\n");
	free(req);
	req = upgrade_request("/", "h", 80, key, "", NULL);
	CU_ASSERT(strstr(req, "Sec-WebSocket-Protocol") == NULL);
	CU_ASSERT(strstr(req, "Host: h:80\r\n") != NULL);
	free(req);

#define HEAD101(up, conn, acc, proto)					\
	snprintf(head, sizeof head, "HTTP/1.1 101 Switching Protocols\r\n" \
	    "%s%s%s%s\r\n", up, conn, acc, proto)
#define UP	"Upgrade: websocket\r\n"
#define CONN	"Connection: Upgrade\r\n"
#define PROTO	"Sec-WebSocket-Protocol: logwire.v1\r\n"
	/* RFC 6455's example answer to key. */
	snprintf(acc, sizeof acc, "Sec-WebSocket-Accept: %s\r\n",
	    "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	HEAD101(UP, CONN, acc, PROTO);
	CU_ASSERT_EQUAL(check_head(head, key, "logwire.v1", &cause), 0);
	HEAD101("Upgrade: WebSocket\r\n", "Connection: keep-alive, upgrade\r\n",
	    acc, "");
	CU_ASSERT_EQUAL(check_head(head, key, "", &cause), 0);

	HEAD101(UP, CONN, acc, "");
	CU_ASSERT_EQUAL(check_head(head, key, "logwire.v1", &cause), -1);
	CU_ASSERT(cause != NULL && strstr(cause, "subprotocol") != NULL);
	free(cause);
	HEAD101(UP, CONN, acc, PROTO);
	CU_ASSERT_EQUAL(check_head(head, key, NULL, &cause), -1);
	CU_ASSERT(cause != NULL && strstr(cause, "unrequested") != NULL);
	free(cause);
	HEAD101(UP, CONN, "Sec-WebSocket-Accept: x\r\n", PROTO);
	CU_ASSERT_EQUAL(check_head(head, key, "logwire.v1", &cause), -1);
	CU_ASSERT(cause != NULL && strstr(cause, "Accept") != NULL);
	free(cause);
	HEAD101("", CONN, acc, PROTO);
	CU_ASSERT_EQUAL(check_head(head, key, "logwire.v1", &cause), -1);
	CU_ASSERT(cause != NULL && strstr(cause, "Upgrade") != NULL);
	free(cause);
	HEAD101(UP, "Connection: close\r\n", acc, PROTO);
	CU_ASSERT_EQUAL(check_head(head, key, "logwire.v1", &cause), -1);
	CU_ASSERT(cause != NULL && strstr(cause, "Connection") != NULL);
	free(cause);
	CU_ASSERT_EQUAL(check_head("HTTP/1.1 401 Unauthorized\r\n"
	    "Content-Length: 0\r\n\r\n", key, "", &cause), -1);
	CU_ASSERT(cause != NULL && strstr(cause, "401") != NULL);
	free(cause);
#undef HEAD101
#undef UP
#undef CONN
#undef PROTO
}

int
main(void)
{
	static const struct cu_test tests[] = {
		{ "URLs", test_url_good },
		{ "bad URLs refused", test_url_bad },
		{ "Host headers and base URLs", test_url_users },
		{ "connect and read with deadlines", test_net },
		{ "HTTP responses in pieces", test_hresp },
		{ "WebSocket upgrade request and check", test_upgrade },
	};

	return (cu_run("client", tests, nitems(tests)));
}
