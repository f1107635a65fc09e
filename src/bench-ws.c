/*
 * bench-ws.c: the event-driven WebSocket client of logwire-bench.
 *
 * One struct benchws is one TCP connection on a bufferevent, first in the
 * HTTP upgrade (request written by hand, the 101 answer and its
 * Sec-WebSocket-Accept checked), then framed by a wslay client context.
 * wslay's send callback appends to the bufferevent and never blocks, so
 * a queued message is framed and masked at once; its receive callback
 * takes from the bufferevent's input and says WOULDBLOCK when that is
 * empty.  A load generator keeps thousands of these on one event base.
 *
 * Freeing a client from inside its own callbacks is allowed: while wslay
 * runs on the client's input the free is only marked, and done when
 * wslay has returned.
 */

#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <wslay/wslay.h>

#include "bench.h"
#include "logwire.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT	24
#endif

#define BENCHWS_GUID		"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define BENCHWS_MAX_HEAD	8192		/* bytes of the 101 answer */
#define BENCHWS_MAX_MSG		(16 << 20)	/* largest message taken */
#define BENCHWS_READ_MAX	(256 << 10)	/* bytes per read(2) */

enum benchws_state {
	BENCHWS_CONNECTING,	/* TCP connect in progress */
	BENCHWS_UPGRADING,	/* request sent, waiting for 101 */
	BENCHWS_OPEN,		/* frames */
};

struct benchws {
	struct bufferevent		*bev;
	wslay_event_context_ptr		 ctx;
	enum benchws_state		 state;
	const struct benchws_cb		*cb;
	void				*arg;
	char				*request;
	char				 accept[64];	/* expected */
	int				 in_recv;	/* inside wslay */
	int				 dead;		/* free when out */
};

/* Give wslay what the input buffer holds. */
static ssize_t
benchws_recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len,
    int flags, void *arg)
{
	struct benchws	*ws = arg;
	int		 n;

	n = evbuffer_remove(bufferevent_get_input(ws->bev), buf, len);
	if (n <= 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return (-1);
	}
	return (n);
}

/* Append a frame to the output buffer; never blocks. */
static ssize_t
benchws_send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len,
    int flags, void *arg)
{
	struct benchws	*ws = arg;

	if (evbuffer_add(bufferevent_get_output(ws->bev), data, len) != 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return (-1);
	}
	return ((ssize_t)len);
}

/*
 * Masking keys.  RFC 6455 wants them unpredictable to defeat proxy cache
 * poisoning; a load generator on loopback only needs them to vary, and a
 * xorshift is far cheaper than RAND_bytes per frame.
 */
static int
benchws_genmask_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len,
    void *arg)
{
	static uint64_t	x = 0x2545f4914f6cdd1dULL;
	size_t		i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (uint8_t)x;
	}
	return (0);
}

/* Hand a whole message to the owner. */
static void
benchws_msg_cb(wslay_event_context_ptr ctx,
    const struct wslay_event_on_msg_recv_arg *m, void *arg)
{
	struct benchws	*ws = arg;

	if (ws->dead)
		return;
	if (m->opcode == WSLAY_TEXT_FRAME || m->opcode == WSLAY_BINARY_FRAME)
		ws->cb->msg(ws, (const char *)m->msg, m->msg_length, ws->arg);
	else if (m->opcode == WSLAY_CONNECTION_CLOSE) {
		ws->dead = 1;
		ws->cb->close(ws, "closed by the server", ws->arg);
	}
}

/* Tell the owner the connection is gone, then free it. */
static void
benchws_fail(struct benchws *ws, const char *cause)
{
	if (!ws->dead) {
		ws->dead = 1;
		ws->cb->close(ws, cause, ws->arg);
	}
	if (!ws->in_recv)
		benchws_free(ws);
}

/* Check the answer to the upgrade; return 0 when the socket is open. */
static int
benchws_upgrade(struct benchws *ws, const char **cause)
{
	struct evbuffer		*in = bufferevent_get_input(ws->bev);
	struct evbuffer_ptr	 end;
	char			*head, *line, *next, *v;
	int			 ok = 0, status;

	end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	if (end.pos == -1) {
		if (evbuffer_get_length(in) > BENCHWS_MAX_HEAD) {
			*cause = "upgrade answer too long";
			return (-1);
		}
		return (1);
	}
	head = xmalloc(end.pos + 4);
	evbuffer_remove(in, head, end.pos + 4);
	head[end.pos + 2] = '\0';
	if (sscanf(head, "HTTP/1.1 %d", &status) != 1 || status != 101) {
		*cause = "upgrade refused (no 101)";
		free(head);
		return (-1);
	}
	for (line = head; (next = strstr(line, "\r\n")) != NULL;
	    line = next + 2) {
		*next = '\0';
		if (strncasecmp(line, "sec-websocket-accept:", 21) != 0)
			continue;
		for (v = line + 21; *v == ' ' || *v == '\t'; v++)
			;
		ok = strcmp(v, ws->accept) == 0;
	}
	free(head);
	if (!ok) {
		*cause = "bad Sec-WebSocket-Accept";
		return (-1);
	}
	return (0);
}

/* Feed wslay; send what it queued (pongs, the close answer). */
static void
benchws_pump(struct benchws *ws)
{
	ws->in_recv = 1;
	if (wslay_event_recv(ws->ctx) != 0 && !ws->dead) {
		ws->dead = 1;
		ws->cb->close(ws, "WebSocket protocol error", ws->arg);
	}
	if (!ws->dead && wslay_event_want_write(ws->ctx))
		wslay_event_send(ws->ctx);
	ws->in_recv = 0;
	if (ws->dead)
		benchws_free(ws);
}

/* Input arrived. */
static void
benchws_read_cb(struct bufferevent *bev, void *arg)
{
	struct benchws	*ws = arg;
	const char	*cause = NULL;
	int		 r;

	if (ws->state == BENCHWS_UPGRADING) {
		if ((r = benchws_upgrade(ws, &cause)) == 1)
			return;
		if (r == -1) {
			benchws_fail(ws, cause);
			return;
		}
		ws->state = BENCHWS_OPEN;
		ws->in_recv = 1;
		ws->cb->open(ws, ws->arg);
		ws->in_recv = 0;
		if (ws->dead) {
			benchws_free(ws);
			return;
		}
	}
	benchws_pump(ws);
}

/* The connect finished, or the connection failed or ended. */
static void
benchws_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct benchws	*ws = arg;
	static char	 cause[128];

	if (what & BEV_EVENT_CONNECTED) {
		ws->state = BENCHWS_UPGRADING;
		evbuffer_add(bufferevent_get_output(bev), ws->request,
		    strlen(ws->request));
		free(ws->request);
		ws->request = NULL;
		return;
	}
	if (what & BEV_EVENT_EOF)
		benchws_fail(ws, "connection closed");
	else {
		snprintf(cause, sizeof cause, "%s: %s", ws->state ==
		    BENCHWS_CONNECTING ? "connect" : "socket",
		    strerror(EVUTIL_SOCKET_ERROR()));
		benchws_fail(ws, cause);
	}
}

/* Make the key of the upgrade and the accept value it must come back as. */
static void
benchws_key(struct benchws *ws, char *key, size_t keysz)
{
	unsigned char	 raw[16], sha[SHA_DIGEST_LENGTH];
	char		 cat[96];

	if (RAND_bytes(raw, sizeof raw) != 1)
		fatalx("RAND_bytes failed");
	EVP_EncodeBlock((unsigned char *)key, raw, sizeof raw);
	snprintf(cat, sizeof cat, "%s%s", key, BENCHWS_GUID);
	SHA1((unsigned char *)cat, strlen(cat), sha);
	EVP_EncodeBlock((unsigned char *)ws->accept, sha, sizeof sha);
	(void)keysz;
}

/* Start connecting a client. */
struct benchws *
benchws_connect(struct event_base *base, const struct sockaddr_in *dst,
    const struct sockaddr_in *src, const char *host, const char *path,
    const struct benchws_cb *cb, void *arg, char **cause)
{
	static const struct wslay_event_callbacks callbacks = {
		benchws_recv_cb, benchws_send_cb, benchws_genmask_cb,
		NULL, NULL, NULL, benchws_msg_cb
	};
	struct benchws	*ws;
	char		 key[32];
	int		 fd, one = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC,
	    0)) == -1) {
		xasprintf(cause, "socket: %s", strerror(errno));
		return (NULL);
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (src != NULL) {
		/* Choose the port at connect, per destination. */
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
		    sizeof one);
		if (bind(fd, (const struct sockaddr *)src, sizeof *src) == -1) {
			xasprintf(cause, "bind: %s", strerror(errno));
			close(fd);
			return (NULL);
		}
	}
	ws = xcalloc(1, sizeof *ws);
	ws->cb = cb;
	ws->arg = arg;
	ws->state = BENCHWS_CONNECTING;
	benchws_key(ws, key, sizeof key);
	xasprintf(&ws->request, "GET %s HTTP/1.1\r\nHost: %s\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
	    "Sec-WebSocket-Protocol: logwire.v1\r\n\r\n", path, host, key);
	if (wslay_event_context_client_init(&ws->ctx, &callbacks, ws) != 0)
		fatalx("wslay_event_context_client_init failed");
	wslay_event_config_set_max_recv_msg_length(ws->ctx, BENCHWS_MAX_MSG);

	ws->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (ws->bev == NULL)
		fatalx("bufferevent_socket_new failed");
	bufferevent_set_max_single_read(ws->bev, BENCHWS_READ_MAX);
	bufferevent_setcb(ws->bev, benchws_read_cb, NULL, benchws_event_cb,
	    ws);
	bufferevent_enable(ws->bev, EV_READ|EV_WRITE);
	if (bufferevent_socket_connect(ws->bev, (struct sockaddr *)dst,
	    sizeof *dst) != 0) {
		xasprintf(cause, "connect: %s", strerror(errno));
		benchws_free(ws);
		return (NULL);
	}
	return (ws);
}

/* Send one text message. */
int
benchws_send(struct benchws *ws, const char *data, size_t len)
{
	struct wslay_event_msg	m;

	if (ws->dead || ws->state != BENCHWS_OPEN)
		return (-1);
	m.opcode = WSLAY_TEXT_FRAME;
	m.msg = (const uint8_t *)data;
	m.msg_length = len;
	if (wslay_event_queue_msg(ws->ctx, &m) != 0)
		return (-1);
	if (wslay_event_send(ws->ctx) != 0)
		return (-1);
	return (0);
}

/* Bytes not yet written to the socket. */
size_t
benchws_pending(struct benchws *ws)
{
	return (evbuffer_get_length(bufferevent_get_output(ws->bev)));
}

/* Free a client now, or once wslay has returned. */
void
benchws_free(struct benchws *ws)
{
	if (ws->in_recv) {
		ws->dead = 1;
		return;
	}
	bufferevent_free(ws->bev);
	wslay_event_context_free(ws->ctx);
	free(ws->request);
	free(ws);
}
