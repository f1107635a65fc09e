/*
 * bench-ws.c: the event-driven WebSocket client of logwire-bench.
 *
 * One struct benchws is one non-blocking TCP socket, first in the HTTP
 * upgrade (the request and the check of the 101 answer are upgrade.c's,
 * shared with the other clients), then framed by wslay's frame layer
 * (wslay_frame_recv and wslay_frame_send).  A load generator keeps
 * thousands of these on one event base, and at a million messages a
 * second the client, not the server, would be the bound; so the client
 * spends as little as it can per message and per connection:
 *
 * - Input.  One read(2) per readiness event, into a buffer shared by
 *   every client of the loop (the program is single-threaded), which is
 *   then handed to wslay entirely: wslay keeps whatever partial frame is
 *   left in its own buffer, so nothing but wslay's context holds input
 *   between events.  No bufferevent, so no FIONREAD ioctl and no buffer
 *   chain per read.
 *
 * - Messages.  wslay's event layer would allocate, copy and free each
 *   message several times and check UTF-8 a byte at a time.  Here a
 *   message that arrives whole in wslay's buffer (the usual case) is
 *   handed to the owner where it lies, without a copy; only fragmented
 *   messages, or ones cut by the end of wslay's buffer, are gathered in
 *   the client's own buffer, which is reused.  Text is still checked to
 *   be UTF-8, eight ASCII bytes at a time.
 *
 * - Output.  Frames are appended to the client's output buffer and
 *   written at the end of the current round of callbacks, once per
 *   client however many messages were queued (a publisher's window, the
 *   subscribe after the upgrade).  A write that finds the socket full
 *   waits for a write event; nothing else ever adds or removes one, so a
 *   client costs one epoll_ctl to register and one to remove.
 *
 * Freeing a client from inside its own callbacks is allowed: while the
 * client is inside a callback the free is only marked, and done when the
 * callback has returned.
 */

#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <event2/event.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wslay/wslay.h>

#include "bench.h"
#include "client.h"
#include "common.h"
#include "storage.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT	24
#endif

#define BENCHWS_PROTOCOL	"logwire.v1"
#define BENCHWS_MAX_HEAD	8192		/* bytes of the 101 answer */
#define BENCHWS_MAX_MSG		(16 << 20)	/* largest message taken */
#define BENCHWS_READ_MAX	(256 << 10)	/* bytes per read(2) */
#define BENCHWS_CTRL_MAX	125		/* control frame payload */

enum benchws_state {
	BENCHWS_CONNECTING,	/* TCP connect, request not all written */
	BENCHWS_UPGRADING,	/* request sent, waiting for 101 */
	BENCHWS_OPEN,		/* frames */
};

/* What the clients of one event base share. */
struct benchws_loop {
	struct event_base	*base;
	struct event		*flush;		/* writes the queued output */
	TAILQ_HEAD(, benchws)	 flushq;
	uint64_t		 rng;		/* masks and keys */
	uint8_t			*scratch;	/* BENCHWS_READ_MAX */
};

struct benchws {
	struct benchws_loop	*loop;
	int			 fd;
	struct event		*rev;		/* persistent read */
	struct event		*wev;		/* once, when the socket is full */
	wslay_frame_context_ptr	 fctx;
	enum benchws_state	 state;
	const struct benchws_cb	*cb;
	void			*arg;
	int			 in_cb;		/* callbacks running */
	int			 dead;		/* free when out */
	char			 key[UPGRADE_KEY_LEN + 1];

	/* Input being fed to wslay, and a 101 answer cut by a read. */
	const uint8_t		*in;
	size_t			 inlen;
	char			*head;
	size_t			 headlen;

	/* The frame being read, and the messages being gathered. */
	int			 inframe;
	uint8_t			 fop;
	uint8_t			 ffin;
	uint64_t		 frem;		/* payload bytes to come */
	uint8_t			 mop;		/* text or binary, 0: none */
	uint8_t			*mbuf;
	size_t			 mlen;
	size_t			 mcap;
	uint8_t			 cbuf[BENCHWS_CTRL_MAX];
	size_t			 clen;

	/* Output: [ooff, olen) of obuf not yet written. */
	uint8_t			*obuf;
	size_t			 ooff;
	size_t			 olen;
	size_t			 ocap;
	int			 queued;	/* on loop->flushq */
	TAILQ_ENTRY(benchws)	 fentry;
};

static void	benchws_destroy(struct benchws *);

/* Return the next number of the loop's xorshift generator. */
static uint64_t
benchws_rand(struct benchws_loop *loop)
{
	uint64_t	x = loop->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	loop->rng = x;
	return (x);
}

/* Enter a callback of ws: it may not be freed until benchws_leave(). */
static void
benchws_enter(struct benchws *ws)
{
	ws->in_cb++;
}

/* Leave it, and free ws if it died meanwhile. */
static void
benchws_leave(struct benchws *ws)
{
	if (--ws->in_cb == 0 && ws->dead)
		benchws_destroy(ws);
}

/* Tell the owner the connection is gone (once), then free it. */
static void
benchws_fail(struct benchws *ws, const char *cause)
{
	benchws_enter(ws);
	if (!ws->dead) {
		ws->dead = 1;
		ws->cb->close(ws, cause, ws->arg);
	}
	benchws_leave(ws);
}

/* Fail with the error of a system call, named after the state. */
static void
benchws_fail_errno(struct benchws *ws, int error)
{
	char	cause[128];

	snprintf(cause, sizeof cause, "%s: %s", ws->state ==
	    BENCHWS_CONNECTING ? "connect" : "socket", strerror(error));
	benchws_fail(ws, cause);
}

/* Append len bytes to the output buffer. */
static void
benchws_out(struct benchws *ws, const void *data, size_t len)
{
	size_t	need;

	if (ws->ooff == ws->olen)
		ws->ooff = ws->olen = 0;
	need = ws->olen + len;
	if (need > ws->ocap) {
		if (ws->ooff > 0) {
			memmove(ws->obuf, ws->obuf + ws->ooff,
			    ws->olen - ws->ooff);
			ws->olen -= ws->ooff;
			ws->ooff = 0;
			need = ws->olen + len;
		}
		if (need > ws->ocap) {
			ws->ocap = MAX(need, MAX(ws->ocap * 2, 512));
			ws->obuf = xrealloc(ws->obuf, ws->ocap);
		}
	}
	memcpy(ws->obuf + ws->olen, data, len);
	ws->olen += len;
}

/*
 * Queue the client for the loop's next flush.  The flush event is made
 * active, not written at once, so that every frame queued in this round
 * of callbacks goes out in one write.
 */
static void
benchws_queue(struct benchws *ws)
{
	struct benchws_loop	*loop = ws->loop;

	if (ws->queued)
		return;
	if (TAILQ_EMPTY(&loop->flushq))
		event_active(loop->flush, EV_TIMEOUT, 0);
	TAILQ_INSERT_TAIL(&loop->flushq, ws, fentry);
	ws->queued = 1;
}

/* Take ws off the flush queue. */
static void
benchws_unqueue(struct benchws *ws)
{
	if (ws->queued) {
		TAILQ_REMOVE(&ws->loop->flushq, ws, fentry);
		ws->queued = 0;
	}
}

/* Write what the output buffer holds; wait for a write event when full. */
static void
benchws_flush(struct benchws *ws)
{
	ssize_t	n;

	while (ws->ooff < ws->olen) {
		n = send(ws->fd, ws->obuf + ws->ooff, ws->olen - ws->ooff,
		    MSG_NOSIGNAL);
		if (n > 0) {
			ws->ooff += n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			event_add(ws->wev, NULL);
			return;
		}
		benchws_fail_errno(ws, n == -1 ? errno : EPIPE);
		return;
	}
	ws->ooff = ws->olen = 0;
	if (ws->state == BENCHWS_CONNECTING)
		ws->state = BENCHWS_UPGRADING;
}

/* Write the output of every queued client. */
static void
benchws_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct benchws_loop	*loop = arg;
	struct benchws		*ws;

	while ((ws = TAILQ_FIRST(&loop->flushq)) != NULL) {
		benchws_unqueue(ws);
		if (!ws->dead)
			benchws_flush(ws);
	}
}

/* The socket has room again (or the connect finished). */
static void
benchws_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct benchws	*ws = arg;

	if (!ws->dead)
		benchws_flush(ws);
}

/* wslay's output: append to the output buffer, never blocks. */
static ssize_t
benchws_send_cb(const uint8_t *data, size_t len, int flags, void *arg)
{
	benchws_out(arg, data, len);
	return ((ssize_t)len);
}

/* wslay's input: what the current read left to give. */
static ssize_t
benchws_recv_cb(uint8_t *buf, size_t len, int flags, void *arg)
{
	struct benchws	*ws = arg;

	if (ws->inlen == 0)
		return (-1);		/* WSLAY_ERR_WANT_READ */
	if (len > ws->inlen)
		len = ws->inlen;
	memcpy(buf, ws->in, len);
	ws->in += len;
	ws->inlen -= len;
	return ((ssize_t)len);
}

/*
 * Masking keys.  RFC 6455 wants them unpredictable to defeat proxy cache
 * poisoning; a load generator on loopback only needs them to vary, and a
 * xorshift is far cheaper than RAND_bytes per frame.
 */
static int
benchws_genmask_cb(uint8_t *buf, size_t len, void *arg)
{
	struct benchws	*ws = arg;
	uint64_t	 x = 0;
	size_t		 i;

	for (i = 0; i < len; i++) {
		if (i % 8 == 0)
			x = benchws_rand(ws->loop);
		buf[i] = (uint8_t)(x >> (8 * (i % 8)));
	}
	return (0);
}

/* Frame and queue one message of opcode op. */
static int
benchws_frame_out(struct benchws *ws, uint8_t op, const void *data,
    size_t len)
{
	struct wslay_frame_iocb	iocb;

	memset(&iocb, 0, sizeof iocb);
	iocb.fin = 1;
	iocb.opcode = op;
	iocb.mask = 1;
	iocb.payload_length = len;
	iocb.data = data;
	iocb.data_length = len;
	/* The send callback takes everything, so one call sends it all. */
	if (wslay_frame_send(ws->fctx, &iocb) != (ssize_t)len)
		return (-1);
	benchws_queue(ws);
	return (0);
}

/*
 * Is s valid UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
 * above U+10FFFF)?  The server's messages are mostly ASCII, so runs of
 * eight ASCII bytes are skipped in one test.
 */
static int
benchws_utf8(const uint8_t *s, size_t len)
{
	const uint8_t	*end = s + len;
	uint64_t	 w;
	uint32_t	 cp, min;
	int		 n, i;

	while (s < end) {
		while (end - s >= 8) {
			memcpy(&w, s, sizeof w);
			if (w & 0x8080808080808080ULL)
				break;
			s += 8;
		}
		if (s == end)
			break;
		if (*s < 0x80) {
			s++;
			continue;
		}
		if (*s >= 0xc2 && *s <= 0xdf) {
			n = 1;
			cp = *s & 0x1f;
			min = 0x80;
		} else if (*s >= 0xe0 && *s <= 0xef) {
			n = 2;
			cp = *s & 0x0f;
			min = 0x800;
		} else if (*s >= 0xf0 && *s <= 0xf4) {
			n = 3;
			cp = *s & 0x07;
			min = 0x10000;
		} else
			return (0);
		if (end - s <= n)
			return (0);
		for (i = 1; i <= n; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return (0);
			cp = cp << 6 | (s[i] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return (0);
		s += n + 1;
	}
	return (1);
}

/*
 * What can be wrong with the server's frames; each is reported as the
 * cause of the close, after "WebSocket protocol error: ".
 */
#define BENCHWS_EPROTO	"WebSocket protocol error"

/* Hand a whole data message to the owner; say why if it is not text. */
static const char *
benchws_deliver(struct benchws *ws, uint8_t op, const uint8_t *msg,
    size_t len)
{
	if (op == WSLAY_TEXT_FRAME && !benchws_utf8(msg, len))
		return (BENCHWS_EPROTO ": invalid UTF-8 in a text message");
	ws->cb->msg(ws, (const char *)msg, len, ws->arg);
	return (NULL);
}

/* A whole control frame came: answer a ping, report a close. */
static const char *
benchws_control(struct benchws *ws)
{
	switch (ws->fop) {
	case WSLAY_PING:
		if (benchws_frame_out(ws, WSLAY_PONG, ws->cbuf, ws->clen) != 0)
			return (BENCHWS_EPROTO ": cannot answer a ping");
		return (NULL);
	case WSLAY_PONG:
		return (NULL);
	default:
		if (ws->clen == 1)
			return (BENCHWS_EPROTO ": close frame of one byte");
		ws->dead = 1;
		ws->cb->close(ws, "closed by the server", ws->arg);
		return (NULL);
	}
}

/* Check the header of a frame that starts; say why it is wrong. */
static const char *
benchws_frame_start(struct benchws *ws, const struct wslay_frame_iocb *iocb)
{
	/* No extension is negotiated, and a server never masks. */
	if (iocb->rsv != 0)
		return (BENCHWS_EPROTO ": reserved bits set");
	if (iocb->mask)
		return (BENCHWS_EPROTO ": masked frame from the server");
	switch (iocb->opcode) {
	case WSLAY_TEXT_FRAME:
	case WSLAY_BINARY_FRAME:
		if (ws->mop != 0)
			return (BENCHWS_EPROTO ": new message inside a "
			    "fragmented one");
		ws->mop = iocb->opcode;
		ws->mlen = 0;
		break;
	case WSLAY_CONTINUATION_FRAME:
		if (ws->mop == 0)
			return (BENCHWS_EPROTO ": continuation without a "
			    "message");
		break;
	case WSLAY_CONNECTION_CLOSE:
	case WSLAY_PING:
	case WSLAY_PONG:
		/* wslay has checked fin and the length (at most 125). */
		ws->clen = 0;
		break;
	default:
		return (BENCHWS_EPROTO ": unknown opcode");
	}
	if (!wslay_is_ctrl_frame(iocb->opcode) &&
	    iocb->payload_length > BENCHWS_MAX_MSG - ws->mlen)
		return (BENCHWS_EPROTO ": message too big");
	ws->inframe = 1;
	ws->fop = iocb->opcode;
	ws->ffin = iocb->fin;
	ws->frem = iocb->payload_length;
	return (NULL);
}

/*
 * Take one piece of a frame from wslay.  A data frame that is a whole
 * message and came in one piece is delivered from wslay's buffer; the
 * rest is gathered in mbuf (data) or cbuf (control) first.
 */
static const char *
benchws_frame_in(struct benchws *ws, const struct wslay_frame_iocb *iocb)
{
	const uint8_t	*data = iocb->data;
	const char	*cause;
	size_t		 len = iocb->data_length;
	uint8_t		 op;

	if (!ws->inframe && (cause = benchws_frame_start(ws, iocb)) != NULL)
		return (cause);
	ws->frem -= len;
	if (wslay_is_ctrl_frame(ws->fop)) {
		memcpy(ws->cbuf + ws->clen, data, len);
		ws->clen += len;
		if (ws->frem != 0)
			return (NULL);
		ws->inframe = 0;
		return (benchws_control(ws));
	}
	if (ws->frem == 0) {
		ws->inframe = 0;
		if (ws->ffin && ws->mlen == 0) {
			op = ws->mop;
			ws->mop = 0;
			return (benchws_deliver(ws, op, data, len));
		}
	}
	if (ws->mlen + len > ws->mcap) {
		ws->mcap = MAX(ws->mlen + len, MAX(ws->mcap * 2, 256));
		ws->mbuf = xrealloc(ws->mbuf, ws->mcap);
	}
	memcpy(ws->mbuf + ws->mlen, data, len);
	ws->mlen += len;
	if (ws->inframe || !ws->ffin)
		return (NULL);
	op = ws->mop;
	ws->mop = 0;
	len = ws->mlen;
	ws->mlen = 0;
	return (benchws_deliver(ws, op, ws->mbuf, len));
}

/* Feed len bytes of frames to wslay and take every piece it gives. */
static void
benchws_frames(struct benchws *ws, const uint8_t *data, size_t len)
{
	struct wslay_frame_iocb	 iocb;
	const char		*cause;
	ssize_t			 r;
	size_t			 left;

	ws->in = data;
	ws->inlen = len;
	while (!ws->dead) {
		left = ws->inlen;
		r = wslay_frame_recv(ws->fctx, &iocb);
		if (r == WSLAY_ERR_WANT_READ && ws->inlen == 0)
			break;		/* all taken; the rest is in wslay */
		if (r == WSLAY_ERR_WANT_READ && ws->inlen < left)
			continue;
		if (r < 0)
			cause = BENCHWS_EPROTO ": bad frame header";
		else
			cause = benchws_frame_in(ws, &iocb);
		if (cause != NULL) {
			benchws_fail(ws, cause);
			break;
		}
	}
	ws->in = NULL;
	ws->inlen = 0;
}

/* Check the answer to the upgrade (len bytes, up to the empty line). */
static int
benchws_check_head(struct benchws *ws, const char *p, size_t len,
    char **cause)
{
	struct hresp	*r;
	int		 rc = -1;

	r = hresp_new(0, 0, NULL, NULL);
	if (hresp_feed(r, p, len, NULL) == HRESP_ERROR)
		xasprintf(cause, "bad answer to the upgrade: %s",
		    hresp_error(r));
	else
		rc = upgrade_check(r, ws->key, BENCHWS_PROTOCOL, cause);
	hresp_free(r);
	return (rc);
}

/*
 * Take input while waiting for the 101: find the end of the head (kept
 * in ws->head while a read leaves it cut), check it, open, and pass what
 * follows to wslay.
 */
static void
benchws_upgrade(struct benchws *ws, const uint8_t *data, size_t len)
{
	const char	*p = (const char *)data, *e;
	char		*cause;
	size_t		 n = len, old = ws->headlen, hlen;

	if (ws->head != NULL) {
		n = MIN(len, BENCHWS_MAX_HEAD - old);
		memcpy(ws->head + old, data, n);
		ws->headlen += n;
		p = ws->head;
		n = ws->headlen;
	}
	if ((e = memmem(p, n, "\r\n\r\n", 4)) == NULL) {
		if (n >= BENCHWS_MAX_HEAD)
			benchws_fail(ws, "upgrade answer too long");
		else if (ws->head == NULL) {
			ws->head = xmalloc(BENCHWS_MAX_HEAD);
			memcpy(ws->head, data, len);
			ws->headlen = len;
		}
		return;
	}
	hlen = e + 4 - p;
	if (benchws_check_head(ws, p, hlen, &cause) != 0) {
		benchws_fail(ws, cause);
		free(cause);
		return;
	}
	/* The head ends in this read (none before had its end). */
	data += hlen - old;
	len -= hlen - old;
	free(ws->head);
	ws->head = NULL;
	ws->headlen = 0;
	ws->state = BENCHWS_OPEN;
	ws->cb->open(ws, ws->arg);
	if (!ws->dead && len > 0)
		benchws_frames(ws, data, len);
}

/* The socket is readable: one read, all of it handed on. */
static void
benchws_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct benchws	*ws = arg;
	uint8_t		*buf = ws->loop->scratch;
	ssize_t		 n;

	if (ws->dead)
		return;
	n = read(ws->fd, buf, BENCHWS_READ_MAX);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return;
	if (n <= 0) {
		if (n == 0)
			benchws_fail(ws, "connection closed");
		else
			benchws_fail_errno(ws, errno);
		return;
	}
	benchws_enter(ws);
	if (ws->state == BENCHWS_OPEN)
		benchws_frames(ws, buf, n);
	else
		benchws_upgrade(ws, buf, n);
	benchws_leave(ws);
}

/* Make the key of the upgrade. */
static void
benchws_key(struct benchws *ws)
{
	unsigned char	raw[16];
	uint64_t	x;

	x = benchws_rand(ws->loop);
	memcpy(raw, &x, 8);
	x = benchws_rand(ws->loop);
	memcpy(raw + 8, &x, 8);
	EVP_EncodeBlock((unsigned char *)ws->key, raw, sizeof raw);
}

/* Make the state the clients of an event base share. */
struct benchws_loop *
benchws_loop_new(struct event_base *base)
{
	struct benchws_loop	*loop;

	loop = xcalloc(1, sizeof *loop);
	loop->base = base;
	loop->flush = event_new(base, -1, 0, benchws_flush_cb, loop);
	if (loop->flush == NULL)
		fatalx("event_new failed");
	TAILQ_INIT(&loop->flushq);
	/* The keys need only vary: one seed, then the xorshift. */
	if (RAND_bytes((unsigned char *)&loop->rng, sizeof loop->rng) != 1)
		fatalx("RAND_bytes failed");
	loop->rng |= 1;
	loop->scratch = xmalloc(BENCHWS_READ_MAX);
	return (loop);
}

/* Free it, once every client is freed. */
void
benchws_loop_free(struct benchws_loop *loop)
{
	if (!TAILQ_EMPTY(&loop->flushq))
		fatalx("benchws_loop_free with clients queued");
	event_free(loop->flush);
	free(loop->scratch);
	free(loop);
}

/* Start connecting a client; the request goes out with the next flush. */
struct benchws *
benchws_connect(struct benchws_loop *loop, const struct sockaddr_in *dst,
    const struct sockaddr_in *src, const char *host, const char *path,
    const struct benchws_cb *cb, void *arg, char **cause)
{
	static const struct wslay_frame_callbacks callbacks = {
		benchws_send_cb, benchws_recv_cb, benchws_genmask_cb
	};
	struct benchws	*ws;
	char		*req;
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
	if (connect(fd, (const struct sockaddr *)dst, sizeof *dst) == -1 &&
	    errno != EINPROGRESS) {
		xasprintf(cause, "connect: %s", strerror(errno));
		close(fd);
		return (NULL);
	}

	ws = xcalloc(1, sizeof *ws);
	ws->loop = loop;
	ws->fd = fd;
	ws->cb = cb;
	ws->arg = arg;
	ws->state = BENCHWS_CONNECTING;
	if (wslay_frame_context_init(&ws->fctx, &callbacks, ws) != 0)
		fatalx("wslay_frame_context_init failed");
	ws->rev = event_new(loop->base, fd, EV_READ|EV_PERSIST,
	    benchws_read_cb, ws);
	ws->wev = event_new(loop->base, fd, EV_WRITE, benchws_write_cb, ws);
	if (ws->rev == NULL || ws->wev == NULL)
		fatalx("event_new failed");
	event_add(ws->rev, NULL);

	/*
	 * On loopback the connect has usually finished by now; if not, the
	 * first write finds the socket not ready and waits for it.
	 */
	benchws_key(ws);
	req = upgrade_request(path, host, ntohs(dst->sin_port), ws->key,
	    BENCHWS_PROTOCOL, NULL);
	benchws_out(ws, req, strlen(req));
	free(req);
	benchws_queue(ws);
	return (ws);
}

/* Send one text message. */
int
benchws_send(struct benchws *ws, const char *data, size_t len)
{
	if (ws->dead || ws->state != BENCHWS_OPEN)
		return (-1);
	return (benchws_frame_out(ws, WSLAY_TEXT_FRAME, data, len));
}

/* Bytes not yet written to the socket. */
size_t
benchws_pending(struct benchws *ws)
{
	return (ws->olen - ws->ooff);
}

/* Close the socket and free everything. */
static void
benchws_destroy(struct benchws *ws)
{
	benchws_unqueue(ws);
	event_free(ws->rev);
	event_free(ws->wev);
	close(ws->fd);
	wslay_frame_context_free(ws->fctx);
	free(ws->head);
	free(ws->mbuf);
	free(ws->obuf);
	free(ws);
}

/* Free a client now, or once its callbacks have returned. */
void
benchws_free(struct benchws *ws)
{
	ws->dead = 1;
	if (ws->in_cb == 0)
		benchws_destroy(ws);
}
