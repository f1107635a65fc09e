/*
 * Tests for the WebSocket client (src/client/wsc.c) against a small WebSocket
 * server written here on wslay's server context. The server runs in a
 * thread on a loopback socket, serves one connection in the way the test
 * asks (echo, refuse, close, ping, break the handshake) and records what
 * it saw, which the test reads after joining the thread.
 */

#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <wslay/wslay.h>

#include "common.h"
#include "storage.h"
#include "client.h"
#include "cu_run.h"
#include "harness.h"

#define SRV_ECHO	0	/* echo text and binary */
#define SRV_CLOSE	1	/* close with 1001 right after the handshake */
#define SRV_REFUSE	2	/* 401 with a JSON body and Content-Length */
#define SRV_CHUNKED	3	/* 403 with a chunked body */
#define SRV_NOPROTO	4	/* 101 without Sec-WebSocket-Protocol */
#define SRV_BADKEY	5	/* 101 with a wrong Sec-WebSocket-Accept */
#define SRV_PING	6	/* ping, then report the pong as a text */
#define SRV_DROP	7	/* close the socket after the handshake */
#define SRV_SPLIT	8	/* 101 and a first text in a single write */
#define SRV_FLOOD	9	/* FLOOD_N numbered messages, then echo */

#define SRV_LIFETIME	10000	/* ms a server thread lives at most */
#define BIG_LEN		(200 * 1024)
#define FLOOD_N		3000
#define FLOOD_LEN	1000

#define REFUSE_BODY	"{\"error\":{\"code\":40100,\"message\":\"no token\"}}"

/* One test server: one listening socket, one connection. */
struct srv {
	int			 mode;
	int			 family;
	int			 lfd;
	int			 fd;
	int			 port;
	pthread_t		 thread;
	char			 head[8192];	/* the request head */
	uint16_t		 close_code;	/* from the client */
	int			 pongs;
	char			 pong[126];
	int			 msgs;
};

/* Copy the value of a request header into out, or "" if absent. */
static void
srv_header(const char *head, const char *name, char *out, size_t size)
{
	const char	*p = head;
	size_t		 n = strlen(name), len;

	*out = '\0';
	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, n) != 0 || p[n] != ':')
			continue;
		p += n + 1;
		p += strspn(p, " \t");
		len = strcspn(p, "\r");
		if (len >= size)
			len = size - 1;
		memcpy(out, p, len);
		out[len] = '\0';
		return;
	}
}

/* Write all of buf to the blocking connection. */
static void
srv_write(struct srv *s, const char *buf, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		n = send(s->fd, buf, len, MSG_NOSIGNAL);
		if (n <= 0)
			return;
		buf += n;
		len -= n;
	}
}

/* Give wslay what the socket has. */
static ssize_t
srv_recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
    void *arg)
{
	struct srv	*s = arg;
	ssize_t		 n;

	n = recv(s->fd, buf, len, 0);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return (-1);
	}
	if (n <= 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return (-1);
	}
	return (n);
}

/* Write what wslay gives to the socket. */
static ssize_t
srv_send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len,
    int flags, void *arg)
{
	struct srv	*s = arg;
	ssize_t		 n;

	n = send(s->fd, data, len, MSG_NOSIGNAL);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return (-1);
	}
	if (n == -1) {
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return (-1);
	}
	return (n);
}

/* Echo data messages, record pongs and close codes. */
static void
srv_msg_cb(wslay_event_context_ptr ctx,
    const struct wslay_event_on_msg_recv_arg *arg, void *data)
{
	struct srv		*s = data;
	struct wslay_event_msg	 m;
	char			 text[160];

	switch (arg->opcode) {
	case WSLAY_TEXT_FRAME:
	case WSLAY_BINARY_FRAME:
		s->msgs++;
		m.opcode = arg->opcode;
		m.msg = arg->msg;
		m.msg_length = arg->msg_length;
		wslay_event_queue_msg(ctx, &m);
		break;
	case WSLAY_PONG:
		s->pongs++;
		snprintf(s->pong, sizeof s->pong, "%.*s",
		    (int)arg->msg_length, arg->msg);
		snprintf(text, sizeof text, "pong:%s", s->pong);
		m.opcode = WSLAY_TEXT_FRAME;
		m.msg = (const uint8_t *)text;
		m.msg_length = strlen(text);
		wslay_event_queue_msg(ctx, &m);
		break;
	case WSLAY_CONNECTION_CLOSE:
		s->close_code = arg->status_code;
		break;
	}
}

/* Queue FLOOD_N binary messages, each starting with its number. */
static void
srv_flood(wslay_event_context_ptr ctx)
{
	struct wslay_event_msg	m;
	u_char			buf[FLOOD_LEN];
	int			i;

	memset(buf, 'f', sizeof buf);
	for (i = 0; i < FLOOD_N; i++) {
		memcpy(buf, &i, sizeof i);
		m.opcode = WSLAY_BINARY_FRAME;
		m.msg = buf;
		m.msg_length = sizeof buf;
		wslay_event_queue_msg(ctx, &m);
	}
}

/* Run the WebSocket side of a connection until it is over. */
static void
srv_loop(struct srv *s)
{
	struct wslay_event_callbacks	 cb;
	struct wslay_event_msg		 m;
	wslay_event_context_ptr		 ctx;
	struct pollfd			 pfd;
	int64_t				 end = mono_ms() + SRV_LIFETIME;

	memset(&cb, 0, sizeof cb);
	cb.recv_callback = srv_recv_cb;
	cb.send_callback = srv_send_cb;
	cb.on_msg_recv_callback = srv_msg_cb;
	if (wslay_event_context_server_init(&ctx, &cb, s) != 0)
		fatalx("wslay_event_context_server_init");
	wslay_event_config_set_max_recv_msg_length(ctx, 1 << 20);
	fcntl(s->fd, F_SETFL, fcntl(s->fd, F_GETFL) | O_NONBLOCK);

	if (s->mode == SRV_CLOSE)
		wslay_event_queue_close(ctx, 1001, (const uint8_t *)"bye", 3);
	if (s->mode == SRV_FLOOD)
		srv_flood(ctx);
	if (s->mode == SRV_PING) {
		m.opcode = WSLAY_PING;
		m.msg = (const uint8_t *)"hello-ping";
		m.msg_length = 10;
		wslay_event_queue_msg(ctx, &m);
	}
	while ((wslay_event_want_read(ctx) || wslay_event_want_write(ctx)) &&
	    mono_ms() < end) {
		pfd.fd = s->fd;
		pfd.events = 0;
		if (wslay_event_want_read(ctx))
			pfd.events |= POLLIN;
		if (wslay_event_want_write(ctx))
			pfd.events |= POLLOUT;
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) &&
		    wslay_event_recv(ctx) != 0)
			break;
		if ((pfd.revents & POLLOUT) && wslay_event_send(ctx) != 0)
			break;
	}
	wslay_event_context_free(ctx);
}

/* Answer the upgrade (or refuse it) the way the mode says. */
static int
srv_handshake(struct srv *s)
{
	static const char	 chunked[] = "HTTP/1.1 403 Forbidden\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"
	    "6\r\norigin\r\n9\r\n refused\n\r\n0\r\n\r\n";
	static const char	 split[] = "\x81\x05hello";
	char			 key[128], proto[128], acc[64], *resp;

	srv_header(s->head, "Sec-WebSocket-Key", key, sizeof key);
	srv_header(s->head, "Sec-WebSocket-Protocol", proto, sizeof proto);
	wskey_accept(key, acc);
	if (s->mode == SRV_BADKEY)
		acc[0] = acc[0] == 'A' ? 'B' : 'A';

	switch (s->mode) {
	case SRV_REFUSE:
		xasprintf(&resp, "HTTP/1.1 401 Unauthorized\r\n"
		    "Content-Type: application/json\r\n"
		    "Content-Length: %zu\r\n\r\n%s", strlen(REFUSE_BODY),
		    REFUSE_BODY);
		break;
	case SRV_CHUNKED:
		resp = xstrdup(chunked);
		break;
	default:
		xasprintf(&resp, "HTTP/1.1 101 Switching Protocols\r\n"
		    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
		    "Sec-WebSocket-Accept: %s\r\n%s%s%s\r\n%s", acc,
		    *proto != '\0' && s->mode != SRV_NOPROTO ?
		    "Sec-WebSocket-Protocol: " : "",
		    s->mode != SRV_NOPROTO ? proto : "",
		    *proto != '\0' && s->mode != SRV_NOPROTO ? "\r\n" : "",
		    s->mode == SRV_SPLIT ? split : "");
		break;
	}
	srv_write(s, resp, strlen(resp));
	free(resp);
	return (s->mode == SRV_REFUSE || s->mode == SRV_CHUNKED ? -1 : 0);
}

/* Serve one connection. */
static void *
srv_main(void *arg)
{
	struct srv	*s = arg;
	struct pollfd	 pfd;
	size_t		 len = 0;
	ssize_t		 n;

	pfd.fd = s->lfd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, SRV_LIFETIME) != 1)
		return (NULL);
	if ((s->fd = accept(s->lfd, NULL, NULL)) == -1)
		return (NULL);
	while (strstr(s->head, "\r\n\r\n") == NULL) {
		pfd.fd = s->fd;
		if (poll(&pfd, 1, SRV_LIFETIME) != 1)
			goto out;
		n = recv(s->fd, s->head + len, sizeof s->head - 1 - len, 0);
		if (n <= 0)
			goto out;
		len += n;
		s->head[len] = '\0';
	}
	if (srv_handshake(s) != 0 || s->mode == SRV_DROP)
		goto out;
	srv_loop(s);

out:
	close(s->fd);
	s->fd = -1;
	return (NULL);
}

/* Start a server on the loopback of family; return NULL if impossible. */
static struct srv *
srv_start(int mode, int family)
{
	struct srv		*s;
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t		 len;

	s = xcalloc(1, sizeof *s);
	s->mode = mode;
	s->family = family;
	s->fd = -1;
	memset(&ss, 0, sizeof ss);
	if (family == AF_INET6) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		len = sizeof *sin6;
	} else {
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof *sin;
	}
	if ((s->lfd = socket(family, SOCK_STREAM, 0)) == -1)
		goto fail;
	if (bind(s->lfd, (struct sockaddr *)&ss, len) == -1 ||
	    listen(s->lfd, 4) == -1 ||
	    getsockname(s->lfd, (struct sockaddr *)&ss, &len) == -1)
		goto fail;
	s->port = ntohs(family == AF_INET6 ? sin6->sin6_port : sin->sin_port);
	if (pthread_create(&s->thread, NULL, srv_main, s) != 0)
		fatalx("pthread_create");
	return (s);

fail:
	if (s->lfd != -1)
		close(s->lfd);
	free(s);
	return (NULL);
}

/* Wait for the server thread to finish, then free it (not its findings). */
static void
srv_join(struct srv *s)
{
	pthread_join(s->thread, NULL);
	close(s->lfd);
}

/* Connect to a test server with default options. */
static struct wsc *
connect_srv(struct srv *s, const char *path, int *status, char **cause)
{
	struct wsc_opts	o;

	memset(&o, 0, sizeof o);
	o.timeout_ms = 3000;
	return (wsc_connect2(s->family == AF_INET6 ? "::1" : "127.0.0.1",
	    s->port, path, &o, status, cause));
}

/*
 * Start a server in mode on the IPv4 loopback and connect to it at
 * /v1/ws, or fail the test; *sp gets the server.
 */
static struct wsc *
srv_open(int mode, struct srv **sp)
{
	struct wsc	*w;
	char		*cause = NULL;

	*sp = srv_start(mode, AF_INET);
	CU_ASSERT_PTR_NOT_NULL_FATAL(*sp);
	w = connect_srv(*sp, "/v1/ws", NULL, &cause);
	if (w == NULL)
		fprintf(stderr, "connect: %s\n", cause);
	free(cause);
	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	return (w);
}

/* Close the client and wait for the server to be done (s stays). */
static void
srv_close(struct srv *s, struct wsc *w)
{
	wsc_close(w);
	srv_join(s);
}

/* Receive a close message with code and reason. */
static void
expect_close(struct wsc *w, uint16_t code, const char *reason)
{
	struct wsc_msg	m;

	CU_ASSERT_EQUAL(wsc_recv(w, 3000, &m), 1);
	CU_ASSERT_EQUAL(m.opcode, WSC_CLOSE);
	CU_ASSERT_EQUAL(m.code, code);
	if (reason != NULL)
		CU_ASSERT(m.len == strlen(reason) &&
		    (m.len == 0 || strcmp(m.data, reason) == 0));
	wsc_msg_free(&m);
}

/* Receive a text message equal to text. */
static void
expect_text(struct wsc *w, const char *text)
{
	struct wsc_msg	m;

	CU_ASSERT_EQUAL(wsc_recv(w, 3000, &m), 1);
	CU_ASSERT(m.opcode == WSC_TEXT && m.data != NULL &&
	    strcmp(m.data, text) == 0);
	wsc_msg_free(&m);
}

/* The accept key computation of the test server matches RFC 6455 1.3. */
static void
test_accept_key_known_answer(void)
{
	char	out[64];

	wskey_accept("dGhlIHNhbXBsZSBub25jZQ==", out);
	CU_ASSERT_STRING_EQUAL(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

/* The handshake sends the RFC 6455 headers and the extra ones. */
static void
test_handshake(void)
{
	static const char *const hdrs[] = { "Authorization: Bearer x", NULL };
	static const char *const want[][2] = {
		{ "Upgrade", "websocket" },
		{ "Sec-WebSocket-Version", "13" },
		{ "Sec-WebSocket-Protocol", "logwire.v1" },
		{ "Authorization", "Bearer x" },
	};
	struct srv	*s;
	struct wsc	*w;
	char		*cause = NULL, v[128];
	size_t		 i;

	s = srv_start(SRV_ECHO, AF_INET);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	w = wsc_connect("127.0.0.1", s->port, "/v1/ws?x=1", hdrs, 3000,
	    &cause);
	if (w == NULL)
		fprintf(stderr, "connect: %s\n", cause);
	CU_ASSERT_PTR_NOT_NULL(w);
	CU_ASSERT_PTR_NULL(cause);
	if (w != NULL) {
		CU_ASSERT_PTR_NOT_NULL(wsc_protocol(w));
		if (wsc_protocol(w) != NULL)
			CU_ASSERT_STRING_EQUAL(wsc_protocol(w), "logwire.v1");
		CU_ASSERT(wsc_fd(w) >= 0);
	}
	srv_close(s, w);

	CU_ASSERT(strncmp(s->head, "GET /v1/ws?x=1 HTTP/1.1\r\n", 25) == 0);
	srv_header(s->head, "Host", v, sizeof v);
	CU_ASSERT(strncmp(v, "127.0.0.1:", 10) == 0);
	for (i = 0; i < nitems(want); i++) {
		srv_header(s->head, want[i][0], v, sizeof v);
		CU_ASSERT_STRING_EQUAL(v, want[i][1]);
	}
	srv_header(s->head, "Sec-WebSocket-Key", v, sizeof v);
	CU_ASSERT_EQUAL(strlen(v), 24);
	/* wsc_close() said goodbye with 1000. */
	CU_ASSERT_EQUAL(s->close_code, 1000);
	free(s);
}

/*
 * Start a server in mode and connect to it, which must fail with status
 * (-1: any) and a cause holding want (or equal to it, with exact).
 */
static void
expect_refusal(int mode, int status, const char *want, int exact)
{
	struct srv	*s;
	struct wsc	*w;
	char		*cause = NULL;
	int		 got = -1;

	s = srv_start(mode, AF_INET);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	w = connect_srv(s, "/v1/ws", &got, &cause);
	CU_ASSERT_PTR_NULL(w);
	if (status != -1)
		CU_ASSERT_EQUAL(got, status);
	CU_ASSERT(cause != NULL && (exact ? strcmp(cause, want) == 0 :
	    strstr(cause, want) != NULL));
	if (cause != NULL && exact && strcmp(cause, want) != 0)
		fprintf(stderr, "cause: %s\n", cause);
	free(cause);
	srv_close(s, w);
	free(s);
}

/* A 101 without the offered subprotocol, or a bad accept, fails. */
static void
test_handshake_checks(void)
{
	expect_refusal(SRV_NOPROTO, 101, "subprotocol", 0);
	expect_refusal(SRV_BADKEY, -1, "Sec-WebSocket-Accept", 0);
}

/* Offering no subprotocol works when the server names none. */
static void
test_handshake_no_protocol(void)
{
	struct wsc_opts	 o;
	struct srv	*s;
	struct wsc	*w;
	char		*cause = NULL;

	s = srv_start(SRV_ECHO, AF_INET);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	memset(&o, 0, sizeof o);
	o.protocol = "";
	w = wsc_connect2("127.0.0.1", s->port, "/", &o, NULL, &cause);
	CU_ASSERT_PTR_NOT_NULL(w);
	if (w != NULL)
		CU_ASSERT_PTR_NULL(wsc_protocol(w));
	free(cause);
	srv_close(s, w);
	CU_ASSERT(strstr(s->head, "Sec-WebSocket-Protocol") == NULL);
	free(s);
}

/* Send data of one kind and check that the echo is the same. */
static void
round_trip(struct wsc *w, int opcode, size_t len)
{
	struct wsc_msg	 m;
	char		*buf;
	size_t		 i;
	int		 r;

	buf = xmalloc(len + 1);
	for (i = 0; i < len; i++)
		buf[i] = 'a' + (i * 7 + i / 251) % 26;
	if (opcode == WSC_TEXT)
		r = wsc_send_text(w, buf, len);
	else
		r = wsc_send_binary(w, buf, len);
	CU_ASSERT_EQUAL(r, 0);
	r = wsc_recv(w, 3000, &m);
	CU_ASSERT_EQUAL(r, 1);
	CU_ASSERT_EQUAL(m.opcode, opcode);
	CU_ASSERT_EQUAL(m.len, len);
	CU_ASSERT(m.data != NULL && m.len == len &&
	    memcmp(m.data, buf, len) == 0);
	CU_ASSERT(m.data != NULL && m.data[m.len] == '\0');
	wsc_msg_free(&m);
	free(buf);
}

/* Text of 0, 5, 125, 126, 65536 and 200 KB bytes comes back intact. */
static void
test_text_round_trip(void)
{
	static const size_t	 lens[] = { 0, 5, 125, 126, 65535, 65536,
				     BIG_LEN };
	struct srv		*s;
	struct wsc		*w;
	size_t			 i;

	w = srv_open(SRV_ECHO, &s);
	for (i = 0; i < nitems(lens); i++)
		round_trip(w, WSC_TEXT, lens[i]);
	srv_close(s, w);
	CU_ASSERT_EQUAL(s->msgs, (int)nitems(lens));
	free(s);
}

/* Binary messages, small and large, come back intact. */
static void
test_binary_round_trip(void)
{
	static const u_char	 bytes[] = { 0x00, 0xff, 0x80, 0xc3, 0x28 };
	struct srv		*s;
	struct wsc		*w;
	struct wsc_msg		 m;

	w = srv_open(SRV_ECHO, &s);
	/* Not UTF-8: it must travel as binary and come back so. */
	CU_ASSERT_EQUAL(wsc_send_binary(w, bytes, sizeof bytes), 0);
	CU_ASSERT_EQUAL(wsc_recv(w, 3000, &m), 1);
	CU_ASSERT_EQUAL(m.opcode, WSC_BINARY);
	CU_ASSERT(m.len == sizeof bytes &&
	    memcmp(m.data, bytes, sizeof bytes) == 0);
	wsc_msg_free(&m);
	round_trip(w, WSC_BINARY, BIG_LEN);
	srv_close(s, w);
	free(s);
}

/* Many messages sent at once come back each once and in order. */
static void
test_pipelined(void)
{
	struct srv	*s;
	struct wsc	*w;
	struct wsc_msg	 m;
	char		 buf[32];
	int		 i, ok = 1;

	w = srv_open(SRV_ECHO, &s);
	for (i = 0; i < 500; i++) {
		snprintf(buf, sizeof buf, "{\"n\":%d}", i);
		if (wsc_send_text(w, buf, strlen(buf)) != 0)
			ok = 0;
	}
	CU_ASSERT(ok);
	for (i = 0; i < 500 && ok; i++) {
		snprintf(buf, sizeof buf, "{\"n\":%d}", i);
		if (wsc_recv(w, 3000, &m) != 1) {
			ok = 0;
			break;
		}
		if (m.opcode != WSC_TEXT || strcmp(m.data, buf) != 0) {
			fprintf(stderr, "message %d: expected %s, got %s\n",
			    i, buf, m.data);
			ok = 0;
		}
		wsc_msg_free(&m);
	}
	CU_ASSERT(ok);
	/* Nothing more is waiting. */
	CU_ASSERT_EQUAL(wsc_recv(w, 0, &m), 0);
	srv_close(s, w);
	free(s);
}

/* A stream of several MiB arrives complete and in order. */
static void
test_flood(void)
{
	struct srv	*s;
	struct wsc	*w;
	struct wsc_msg	 m;
	int		 i, n, ok = 1;

	w = srv_open(SRV_FLOOD, &s);
	for (i = 0; i < FLOOD_N && ok; i++) {
		if (wsc_recv(w, 3000, &m) != 1) {
			fprintf(stderr, "flood: message %d missing\n", i);
			ok = 0;
			break;
		}
		memcpy(&n, m.data, sizeof n);
		if (m.opcode != WSC_BINARY || m.len != FLOOD_LEN || n != i) {
			fprintf(stderr, "flood: message %d: got number %d\n",
			    i, n);
			ok = 0;
		}
		wsc_msg_free(&m);
	}
	CU_ASSERT(ok);
	/* The connection still works both ways afterwards. */
	round_trip(w, WSC_TEXT, 100);
	srv_close(s, w);
	free(s);
}

/* A close from the server with 1001 is reported, then the end. */
static void
test_server_close(void)
{
	struct srv	*s;
	struct wsc	*w;
	struct wsc_msg	 m;

	w = srv_open(SRV_CLOSE, &s);
	expect_close(w, 1001, "bye");
	CU_ASSERT_EQUAL(wsc_close_code(w), 1001);
	CU_ASSERT_EQUAL(wsc_recv(w, 1000, &m), -1);
	CU_ASSERT_EQUAL(wsc_send_text(w, "x", 1), -1);
	srv_close(s, w);
	/* The client answered the close with the same code. */
	CU_ASSERT_EQUAL(s->close_code, 1001);
	free(s);
}

/*
 * A close from the client is answered and reported; one without a code
 * comes back without one (1005).
 */
static void
test_client_close(void)
{
	static const uint16_t	 codes[] = { 4000, 0 };
	struct srv		*s;
	struct wsc		*w;
	struct wsc_msg		 m;
	size_t			 i;

	for (i = 0; i < nitems(codes); i++) {
		w = srv_open(SRV_ECHO, &s);
		CU_ASSERT_EQUAL(wsc_send_close(w, codes[i]), 0);
		if (codes[i] != 0) {
			expect_close(w, codes[i], NULL);
			CU_ASSERT_EQUAL(wsc_recv(w, 1000, &m), -1);
		} else
			expect_close(w, 1005, "");
		srv_close(s, w);
		CU_ASSERT_EQUAL(s->close_code, codes[i]);
		free(s);
	}
}

/* The server dropping the socket ends wsc_recv() with -1 at once. */
static void
test_server_drop(void)
{
	struct srv	*s;
	struct wsc	*w;
	struct wsc_msg	 m;
	int64_t		 t0;

	w = srv_open(SRV_DROP, &s);
	t0 = mono_ms();
	CU_ASSERT_EQUAL(wsc_recv(w, 5000, &m), -1);
	CU_ASSERT(mono_ms() - t0 < 2000);
	CU_ASSERT(wsc_error(w) != NULL &&
	    strstr(wsc_error(w), "closed") != NULL);
	wsc_drop(w);
	srv_join(s);
	free(s);
}

/* A 401 refusal fails with the status and the JSON body in cause. */
static void
test_refused(void)
{
	expect_refusal(SRV_REFUSE, 401, "HTTP 401: " REFUSE_BODY, 1);
}

/* A refusal with a chunked body is read to its end. */
static void
test_refused_chunked(void)
{
	expect_refusal(SRV_CHUNKED, 403, "HTTP 403: origin refused", 1);
}

/* A frame in the same packet as the 101 head is not lost. */
static void
test_frame_after_head(void)
{
	struct srv	*s;
	struct wsc	*w;

	w = srv_open(SRV_SPLIT, &s);
	expect_text(w, "hello");
	srv_close(s, w);
	free(s);
}

/* wsc_recv() with nothing coming returns 0 after about the timeout. */
static void
test_recv_timeout(void)
{
	struct srv	*s;
	struct wsc	*w;
	struct wsc_msg	 m;
	int64_t		 t0, dt;

	w = srv_open(SRV_ECHO, &s);
	t0 = mono_ms();
	CU_ASSERT_EQUAL(wsc_recv(w, 300, &m), 0);
	dt = mono_ms() - t0;
	CU_ASSERT(dt >= 290 && dt < 1500);
	CU_ASSERT_PTR_NULL(m.data);
	t0 = mono_ms();
	CU_ASSERT_EQUAL(wsc_recv(w, 0, &m), 0);
	CU_ASSERT(mono_ms() - t0 < 100);
	/* Still usable afterwards. */
	round_trip(w, WSC_TEXT, 10);
	srv_close(s, w);
	free(s);
}

/* A ping from the server is answered with a pong with its payload. */
static void
test_ping_answered(void)
{
	struct srv	*s;
	struct wsc	*w;

	w = srv_open(SRV_PING, &s);
	/* The ping itself is not a message; the server's report is. */
	expect_text(w, "pong:hello-ping");
	srv_close(s, w);
	CU_ASSERT_EQUAL(s->pongs, 1);
	CU_ASSERT_STRING_EQUAL(s->pong, "hello-ping");
	free(s);
}

/* A ping from the client gets its pong counted. */
static void
test_client_ping(void)
{
	struct srv	*s;
	struct wsc	*w;
	struct wsc_msg	 m;

	w = srv_open(SRV_ECHO, &s);
	CU_ASSERT_EQUAL(wsc_pongs(w), 0);
	CU_ASSERT_EQUAL(wsc_send_ping(w, "p", 1), 0);
	CU_ASSERT_EQUAL(wsc_recv(w, 300, &m), 0);
	CU_ASSERT_EQUAL(wsc_pongs(w), 1);
	srv_close(s, w);
	free(s);
}

/* Raw bytes reach the server as they are: an unmasked frame gets 1002. */
static void
test_send_raw(void)
{
	static const char	 unmasked[] = "\x81\x02hi";
	struct srv		*s;
	struct wsc		*w;

	w = srv_open(SRV_ECHO, &s);
	CU_ASSERT_EQUAL(wsc_send_raw(w, unmasked, 4), 0);
	expect_close(w, 1002, NULL);
	srv_close(s, w);
	CU_ASSERT_EQUAL(s->msgs, 0);
	free(s);
}

/* A message over max_msg_len is refused with 1009, not buffered. */
static void
test_max_msg_len(void)
{
	struct wsc_opts	 o;
	struct srv	*s;
	struct wsc	*w;
	struct wsc_msg	 m;
	char		*cause = NULL, buf[2000];

	s = srv_start(SRV_ECHO, AF_INET);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	memset(&o, 0, sizeof o);
	o.max_msg_len = 1000;
	w = wsc_connect2("127.0.0.1", s->port, "/", &o, NULL, &cause);
	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	memset(buf, 'x', sizeof buf);
	CU_ASSERT_EQUAL(wsc_send_text(w, buf, 1000), 0);
	CU_ASSERT_EQUAL(wsc_recv(w, 3000, &m), 1);
	CU_ASSERT_EQUAL(m.len, 1000);
	wsc_msg_free(&m);
	CU_ASSERT_EQUAL(wsc_send_text(w, buf, sizeof buf), 0);
	CU_ASSERT_EQUAL(wsc_recv(w, 3000, &m), -1);
	CU_ASSERT(wsc_error(w) != NULL && strstr(wsc_error(w), "1009"));
	srv_close(s, w);
	CU_ASSERT_EQUAL(s->close_code, 1009);
	free(s);
}

/* Connecting to a port nobody listens on fails with status 0. */
static void
test_connect_refused(void)
{
	struct wsc	*w;
	char		*cause = NULL;
	int		 status = -1, port;

	/* Take a free port, then stop listening on it. */
	port = hd_free_port();
	CU_ASSERT_FATAL(port > 0);
	w = wsc_connect2("127.0.0.1", port, "/", NULL, &status, &cause);
	CU_ASSERT_PTR_NULL(w);
	CU_ASSERT_EQUAL(status, 0);
	CU_ASSERT(cause != NULL && strstr(cause, "connect") != NULL);
	free(cause);
}

/*
 * Connect by URL (base, the server's port, path) to a server of family and
 * return the request line it saw (caller frees), with a round trip of len
 * bytes (0: none) on the way.
 */
static char *
connect_url_line(int family, const char *base, const char *path, size_t len)
{
	struct srv	*s;
	struct wsc	*w;
	char		*url, *line, *cause = NULL;
	int		 status;

	s = srv_start(SRV_ECHO, family);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	xasprintf(&url, "%s:%d%s", base, s->port, path);
	w = wsc_connect_url(url, NULL, &status, &cause);
	CU_ASSERT_PTR_NOT_NULL(w);
	free(cause);
	if (w != NULL && len != 0)
		round_trip(w, WSC_BINARY, len);
	free(url);
	srv_close(s, w);
	line = xstrndup(s->head, strcspn(s->head, "\r"));
	free(s);
	return (line);
}

/* URLs: http:// gives /v1/ws under the base path, ws:// its own path. */
static void
test_connect_url(void)
{
	static const char *const	 good[][3] = {
		{ "http://127.0.0.1", "", "GET /v1/ws HTTP/1.1" },
		{ "http://127.0.0.1", "/lw/", "GET /lw/v1/ws HTTP/1.1" },
		{ "ws://127.0.0.1", "/other?access_token=t",
		    "GET /other?access_token=t HTTP/1.1" },
	};
	static const char *const	 bad[][2] = {
		{ "wss://127.0.0.1:1/", "TLS" },
		{ "ftp://127.0.0.1/", "" },
		{ "ws://127.0.0.1:99999/", "bad URL" },
		{ "ws://[::1/", "bad URL" },
	};
	struct wsc			*w;
	char				*line, *cause = NULL;
	int				 status;
	size_t				 i;

	for (i = 0; i < nitems(good); i++) {
		line = connect_url_line(AF_INET, good[i][0], good[i][1], 0);
		CU_ASSERT_STRING_EQUAL(line, good[i][2]);
		free(line);
	}
	for (i = 0; i < nitems(bad); i++) {
		w = wsc_connect_url(bad[i][0], NULL, &status, &cause);
		CU_ASSERT(w == NULL && cause != NULL &&
		    strstr(cause, bad[i][1]) != NULL);
		free(cause);
		cause = NULL;
	}
}

/* IPv6 loopback works, by address and by bracketed URL. */
static void
test_ipv6(void)
{
	struct srv	*s;
	struct wsc	*w;
	char		*line, *cause = NULL, v[128];

	s = srv_start(SRV_ECHO, AF_INET6);
	if (s == NULL) {
		printf("\n  notice: no IPv6 loopback here, IPv6 test skipped ");
		return;
	}
	w = connect_srv(s, "/v1/ws", NULL, &cause);
	if (w == NULL)
		fprintf(stderr, "connect: %s\n", cause);
	CU_ASSERT_PTR_NOT_NULL(w);
	if (w != NULL)
		round_trip(w, WSC_TEXT, 1000);
	srv_close(s, w);
	srv_header(s->head, "Host", v, sizeof v);
	CU_ASSERT(strncmp(v, "[::1]:", 6) == 0);
	free(s);

	line = connect_url_line(AF_INET6, "ws://[::1]", "/v1/ws", 10);
	free(line);
}

/* Run the wsc suite; exit non-zero if anything failed. */
int
main(void)
{
	static const struct cu_test tests[] = {
		{ "accept key known answer", test_accept_key_known_answer },
		{ "handshake headers", test_handshake },
		{ "handshake checks subprotocol and accept",
		    test_handshake_checks },
		{ "handshake without subprotocol", test_handshake_no_protocol },
		{ "text round trip", test_text_round_trip },
		{ "binary round trip", test_binary_round_trip },
		{ "pipelined messages in order", test_pipelined },
		{ "flood of 3 MB in order", test_flood },
		{ "server close 1001", test_server_close },
		{ "client close", test_client_close },
		{ "server drops socket", test_server_drop },
		{ "refusal 401 with JSON body", test_refused },
		{ "refusal with chunked body", test_refused_chunked },
		{ "frame right after the 101 head", test_frame_after_head },
		{ "recv timeout", test_recv_timeout },
		{ "server ping answered", test_ping_answered },
		{ "client ping", test_client_ping },
		{ "raw unmasked frame gets 1002", test_send_raw },
		{ "max message length 1009", test_max_msg_len },
		{ "connect refused", test_connect_refused },
		{ "connect by URL", test_connect_url },
		{ "IPv6 loopback", test_ipv6 },
	};

	return (cu_run("wsc", tests, nitems(tests)));
}
