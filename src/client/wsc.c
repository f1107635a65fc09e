/*
 * wsc: a small blocking WebSocket client over TCP, on wslay's client
 * context. See client.h for the contract.
 */

#include "config.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <wslay/wslay.h>

#include "common.h"
#include "client.h"

#define WSC_RBUF_SIZE		65536	/* also bounds the response head */
#define WSC_BODY_MAX		65536	/* of a refusal, kept for *cause */
#define WSC_TIMEOUT		5000
#define WSC_SEND_TIMEOUT	30000
#define WSC_MAX_MSG_LEN		(64ULL << 20)
#define WSC_READ_BUDGET		(1024 * 1024)	/* bytes read per wslay pass */

struct wsc_item {
	struct wsc_msg		 msg;
	TAILQ_ENTRY(wsc_item)	 entry;
};
TAILQ_HEAD(wsc_items, wsc_item);

/*
 * Both directions are buffered here rather than in wslay. Reads fill a
 * 64 KiB buffer that wslay's receive callback drains, so a message costs a
 * few large read(2)s instead of one per 4 KiB; the bytes that followed
 * the 101 head in the handshake's reads simply stay in it. The send
 * callback never says WOULDBLOCK: it appends whole frames to wbuf, which
 * wsc_write() then empties in large writes. So frames are always
 * complete in wbuf, and wsc_send_raw() can append between them.
 */
struct wsc {
	int			 fd;
	wslay_event_context_ptr	 ctx;
	int			 failed;	/* socket unusable */
	int			 reading;	/* may read while sending */
	int			 send_timeout;
	size_t			 budget;	/* left to read in this pass */
	char			*protocol;
	char			*error;
	unsigned long		 pongs;
	uint16_t		 close_code;

	u_char			*rbuf;
	size_t			 roff;
	size_t			 rlen;

	u_char			*wbuf;
	size_t			 wsize;
	size_t			 woff;
	size_t			 wlen;

	struct wsc_items	 queue;
};

/* Record a failure description. */
static void __attribute__((__format__(__printf__, 2, 3)))
wsc_set_error(struct wsc *w, const char *fmt, ...)
{
	va_list	ap;
	char	*s;

	va_start(ap, fmt);
	xvasprintf(&s, fmt, ap);
	va_end(ap);
	free(w->error);
	w->error = s;
}

/* Read what the socket has into the read buffer: bytes, 0 at EOF, -1. */
static ssize_t
wsc_fill(struct wsc *w)
{
	ssize_t	n;

	if (w->roff == w->rlen)
		w->roff = w->rlen = 0;
	if (w->rlen == WSC_RBUF_SIZE) {
		errno = ENOBUFS;
		return (-1);
	}
	do
		n = read(w->fd, w->rbuf + w->rlen, WSC_RBUF_SIZE - w->rlen);
	while (n == -1 && errno == EINTR);
	if (n > 0)
		w->rlen += n;
	return (n);
}

/* Write as much of the write buffer as the socket takes now. */
static int
wsc_write(struct wsc *w)
{
	ssize_t	n;

	while (w->woff < w->wlen) {
		n = send(w->fd, w->wbuf + w->woff, w->wlen - w->woff,
		    MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return (0);
			wsc_set_error(w, "write: %s", strerror(errno));
			return (-1);
		}
		w->woff += n;
	}
	w->woff = w->wlen = 0;
	return (0);
}

/* Append bytes to the write buffer. */
static void
wsc_append(struct wsc *w, const void *buf, size_t len)
{
	if (w->woff == w->wlen)
		w->woff = w->wlen = 0;
	if (w->wsize - w->wlen < len) {
		if (w->woff > 0) {
			memmove(w->wbuf, w->wbuf + w->woff, w->wlen - w->woff);
			w->wlen -= w->woff;
			w->woff = 0;
		}
		while (w->wsize - w->wlen < len)
			w->wsize = w->wsize == 0 ? 65536 : w->wsize * 2;
		w->wbuf = xrealloc(w->wbuf, w->wsize);
	}
	memcpy(w->wbuf + w->wlen, buf, len);
	w->wlen += len;
}

/* Give wslay bytes from the read buffer, refilling it when empty. */
static ssize_t
wsc_recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len,
    int flags, void *arg)
{
	struct wsc	*w = arg;
	ssize_t		 n;

	if (w->roff == w->rlen) {
		/*
		 * wslay reads until WOULDBLOCK; against a fast sender that
		 * could be forever, with messages piling up undelivered.
		 */
		if (w->budget == 0) {
			wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
			return (-1);
		}
		n = wsc_fill(w);
		if (n > 0)
			w->budget = (size_t)n >= w->budget ? 0 : w->budget - n;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
			return (-1);
		}
		if (n <= 0) {
			if (n == 0)
				wsc_set_error(w, "connection closed by peer");
			else
				wsc_set_error(w, "read: %s", strerror(errno));
			w->failed = 1;
			wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
			return (-1);
		}
	}
	if (len > w->rlen - w->roff)
		len = w->rlen - w->roff;
	memcpy(buf, w->rbuf + w->roff, len);
	w->roff += len;
	return (len);
}

/* Take a frame's bytes from wslay into the write buffer. */
static ssize_t
wsc_send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len,
    int flags, void *arg)
{
	wsc_append(arg, data, len);
	return (len);
}

/* Make a frame mask from the random generator. */
static int
wsc_genmask_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len,
    void *arg)
{
	if (RAND_bytes(buf, len) != 1) {
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return (-1);
	}
	return (0);
}

/* Queue a received message for wsc_recv(); count pongs. */
static void
wsc_msg_cb(wslay_event_context_ptr ctx,
    const struct wslay_event_on_msg_recv_arg *arg, void *data)
{
	struct wsc		*w = data;
	struct wsc_item		*item;
	const uint8_t		*p = arg->msg;
	size_t			 len = arg->msg_length;

	if (arg->opcode == WSLAY_PONG)
		w->pongs++;
	if (arg->opcode != WSLAY_TEXT_FRAME &&
	    arg->opcode != WSLAY_BINARY_FRAME &&
	    arg->opcode != WSLAY_CONNECTION_CLOSE)
		return;

	item = xcalloc(1, sizeof *item);
	item->msg.opcode = arg->opcode;
	if (arg->opcode == WSLAY_CONNECTION_CLOSE) {
		item->msg.code = arg->status_code;
		if (item->msg.code == 0)
			item->msg.code = WSLAY_CODE_NO_STATUS_RCVD;
		w->close_code = item->msg.code;
		if (len >= 2) {
			p += 2;
			len -= 2;
		} else
			len = 0;
	}
	item->msg.data = xmalloc(len + 1);
	if (len != 0)
		memcpy(item->msg.data, p, len);
	item->msg.data[len] = '\0';
	item->msg.len = len;
	TAILQ_INSERT_TAIL(&w->queue, item, entry);
}

/* Note why wslay stopped reading when it was not a close from the peer. */
static void
wsc_check_proto(struct wsc *w)
{
	uint16_t	code;

	if (w->failed || wslay_event_get_read_enabled(w->ctx) ||
	    wslay_event_get_close_received(w->ctx))
		return;
	code = wslay_event_get_status_code_sent(w->ctx);
	if (code != WSLAY_CODE_ABNORMAL_CLOSURE)
		wsc_set_error(w, "closed with %u after a bad or oversized "
		    "message from the server", code);
}

/* Read and answer what has arrived, without blocking. */
static int
wsc_pump(struct wsc *w)
{
	w->budget = WSC_READ_BUDGET;
	if (wslay_event_get_read_enabled(w->ctx) &&
	    wslay_event_recv(w->ctx) != 0)
		goto fail;
	if (wslay_event_send(w->ctx) != 0)
		goto fail;
	wsc_check_proto(w);
	if (wsc_write(w) == -1)
		goto fail;
	return (0);

fail:
	if (w->error == NULL)
		wsc_set_error(w, "connection failed");
	w->failed = 1;
	return (-1);
}

/*
 * Write everything queued, waiting up to the send timeout. While the
 * socket is full, also read (unless told not to): a server that pushes to
 * us while we push to it must not leave both sides stuck in write.
 */
static int
wsc_flush(struct wsc *w)
{
	int64_t	deadline;
	short	events;
	int	revents;

	deadline = net_deadline(w->send_timeout);
	for (;;) {
		if (wslay_event_send(w->ctx) != 0 || wsc_write(w) == -1)
			goto fail;
		if (w->woff == w->wlen && !wslay_event_want_write(w->ctx))
			return (0);
		events = POLLOUT;
		if (w->reading && wslay_event_get_read_enabled(w->ctx))
			events |= POLLIN;
		revents = net_wait(w->fd, events, deadline);
		if (revents == 0) {
			wsc_set_error(w, "send timed out");
			goto fail;
		}
		if (revents == -1) {
			wsc_set_error(w, "poll: %s", strerror(errno));
			goto fail;
		}
		w->budget = WSC_READ_BUDGET;
		if ((revents & POLLIN) && wslay_event_recv(w->ctx) != 0)
			goto fail;
	}

fail:
	if (w->error == NULL)
		wsc_set_error(w, "connection failed");
	w->failed = 1;
	return (-1);
}

/* Queue one message with wslay and write it out. */
static int
wsc_send_msg(struct wsc *w, uint8_t opcode, const void *buf, size_t len)
{
	struct wslay_event_msg	msg;
	int			r;

	if (w->failed)
		return (-1);
	msg.opcode = opcode;
	msg.msg = buf;
	msg.msg_length = len;
	r = wslay_event_queue_msg(w->ctx, &msg);
	if (r != 0) {
		if (r == WSLAY_ERR_NO_MORE_MSG)
			wsc_set_error(w, "connection is closing");
		else
			wsc_set_error(w, "cannot queue message (%d)", r);
		return (-1);
	}
	return (wsc_flush(w));
}

/* Send a text message. */
int
wsc_send_text(struct wsc *w, const char *buf, size_t len)
{
	return (wsc_send_msg(w, WSLAY_TEXT_FRAME, buf, len));
}

/* Send a binary message. */
int
wsc_send_binary(struct wsc *w, const void *buf, size_t len)
{
	return (wsc_send_msg(w, WSLAY_BINARY_FRAME, buf, len));
}

/* Send a ping. */
int
wsc_send_ping(struct wsc *w, const void *buf, size_t len)
{
	return (wsc_send_msg(w, WSLAY_PING, buf, len));
}

/* Send a close frame. */
int
wsc_send_close(struct wsc *w, uint16_t code)
{
	int	r;

	if (w->failed)
		return (-1);
	r = wslay_event_queue_close(w->ctx, code, NULL, 0);
	if (r != 0) {
		wsc_set_error(w, "cannot queue close (%d)", r);
		return (-1);
	}
	return (wsc_flush(w));
}

/* Write raw bytes after whatever is queued. */
int
wsc_send_raw(struct wsc *w, const void *bytes, size_t len)
{
	if (w->failed)
		return (-1);
	if (wslay_event_send(w->ctx) != 0) {
		w->failed = 1;
		return (-1);
	}
	wsc_append(w, bytes, len);
	return (wsc_flush(w));
}

/* Wait for the next complete message. */
int
wsc_recv(struct wsc *w, int timeout_ms, struct wsc_msg *out)
{
	struct wsc_item	*item;
	int64_t		 deadline;
	short		 events;
	int		 revents;

	memset(out, 0, sizeof *out);
	deadline = net_deadline(timeout_ms);
	for (;;) {
		if ((item = TAILQ_FIRST(&w->queue)) != NULL) {
			TAILQ_REMOVE(&w->queue, item, entry);
			*out = item->msg;
			free(item);
			return (1);
		}
		if (w->failed || !wslay_event_get_read_enabled(w->ctx))
			return (-1);
		if (wsc_pump(w) == -1 || !TAILQ_EMPTY(&w->queue))
			continue;
		if (!wslay_event_get_read_enabled(w->ctx))
			continue;
		events = POLLIN;
		if (w->woff != w->wlen)
			events |= POLLOUT;
		revents = net_wait(w->fd, events, deadline);
		if (revents == 0)
			return (0);
		if (revents == -1) {
			wsc_set_error(w, "poll: %s", strerror(errno));
			w->failed = 1;
		}
	}
}

/* Free a message's payload. */
void
wsc_msg_free(struct wsc_msg *m)
{
	free(m->data);
	m->data = NULL;
	m->len = 0;
}

/* Allow or forbid reading while a send is blocked. */
void
wsc_set_reading(struct wsc *w, int on)
{
	w->reading = on;
}

/* Return the socket. */
int
wsc_fd(struct wsc *w)
{
	return (w->fd);
}

/* Return the subprotocol the server chose. */
const char *
wsc_protocol(struct wsc *w)
{
	return (w->protocol);
}

/* Return the number of pongs received. */
unsigned long
wsc_pongs(struct wsc *w)
{
	return (w->pongs);
}

/* Return the close code received, or 0. */
uint16_t
wsc_close_code(struct wsc *w)
{
	return (w->close_code);
}

/* Return the last failure. */
const char *
wsc_error(struct wsc *w)
{
	return (w->error);
}

/* Free a connection and everything it holds. */
static void
wsc_free(struct wsc *w)
{
	struct wsc_item	*item;

	while ((item = TAILQ_FIRST(&w->queue)) != NULL) {
		TAILQ_REMOVE(&w->queue, item, entry);
		free(item->msg.data);
		free(item);
	}
	if (w->ctx != NULL)
		wslay_event_context_free(w->ctx);
	if (w->fd != -1)
		close(w->fd);
	free(w->rbuf);
	free(w->wbuf);
	free(w->protocol);
	free(w->error);
	free(w);
}

/* Say goodbye if the socket takes it at once, then free. */
void
wsc_close(struct wsc *w)
{
	if (w == NULL)
		return;
	if (!w->failed && w->ctx != NULL &&
	    !wslay_event_get_close_sent(w->ctx) &&
	    wslay_event_queue_close(w->ctx, WSLAY_CODE_NORMAL_CLOSURE,
	    NULL, 0) == 0 && wslay_event_send(w->ctx) == 0)
		wsc_write(w);
	wsc_free(w);
}

/* Drop the connection without a close frame, then free. */
void
wsc_drop(struct wsc *w)
{
	if (w != NULL)
		wsc_free(w);
}

/* Send the upgrade request for path with a fresh key into key[25]. */
static int
wsc_request(struct wsc *w, const char *host, int port, const char *path,
    const struct wsc_opts *o, const char *protocol, char *key,
    int64_t deadline, char **cause)
{
	u_char	 nonce[16];
	char	*req;

	if (RAND_bytes(nonce, sizeof nonce) != 1) {
		xasprintf(cause, "RAND_bytes failed");
		return (-1);
	}
	EVP_EncodeBlock((u_char *)key, nonce, sizeof nonce);
	req = upgrade_request(path, host, port, key, protocol, o->headers);
	wsc_append(w, req, strlen(req));
	free(req);

	while (w->woff != w->wlen) {
		if (wsc_write(w) == -1) {
			xasprintf(cause, "handshake: %s", w->error);
			return (-1);
		}
		if (w->woff == w->wlen)
			break;
		if (net_wait(w->fd, POLLOUT, deadline) <= 0) {
			xasprintf(cause, "handshake: send timed out");
			return (-1);
		}
	}
	return (0);
}

/*
 * Read the rest of a refusal (until its end, EOF or the deadline) and
 * describe it as "HTTP <status>: <body>".
 */
static void
wsc_refused(struct wsc *w, struct hresp *r, size_t headlen, int64_t deadline,
    char **cause)
{
	const char	*body;
	char		*ignored = NULL;
	size_t		 len;

	if (hresp_feed(r, (char *)w->rbuf + headlen, w->rlen - headlen,
	    NULL) == HRESP_MORE && hresp_read(r, w->fd, deadline, -1,
	    &ignored) != 0)
		free(ignored);
	body = hresp_body(r, &len);
	while (len > 0 && (body[len - 1] == '\n' || body[len - 1] == '\r'))
		len--;
	xasprintf(cause, "HTTP %d: %.*s", hresp_status(r), (int)len, body);
}

/* Read the response head and either accept the upgrade or refuse. */
static int
wsc_response(struct wsc *w, const char *key, const char *protocol,
    int64_t deadline, int *status, char **cause)
{
	struct hresp	*r;
	const char	*chosen;
	u_char		*end;
	size_t		 headlen;
	ssize_t		 n;
	int		 rc = -1;

	/* The head alone: what follows a 101 is WebSocket, for wslay. */
	while ((end = memmem(w->rbuf, w->rlen, "\r\n\r\n", 4)) == NULL) {
		n = wsc_fill(w);
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (net_wait(w->fd, POLLIN, deadline) <= 0) {
				xasprintf(cause,
				    "handshake: no answer in time");
				return (-1);
			}
			continue;
		}
		if (n <= 0) {
			xasprintf(cause, "handshake: %s", n == 0 ?
			    "connection closed" : strerror(errno));
			return (-1);
		}
	}
	headlen = end - w->rbuf + 4;

	r = hresp_new(0, WSC_BODY_MAX, NULL, NULL);
	if (hresp_feed(r, (char *)w->rbuf, headlen, NULL) == HRESP_ERROR ||
	    hresp_status(r) == 0) {
		xasprintf(cause, "handshake: bad response: %s",
		    hresp_error(r) != NULL ? hresp_error(r) : "no head");
		goto out;
	}
	if (status != NULL)
		*status = hresp_status(r);
	if (hresp_status(r) != 101) {
		wsc_refused(w, r, headlen, deadline, cause);
		goto out;
	}
	if (upgrade_check(r, key, protocol, cause) != 0)
		goto out;
	if ((chosen = hresp_header(r, "Sec-WebSocket-Protocol")) != NULL)
		w->protocol = xstrdup(chosen);
	w->roff = headlen;	/* what follows is already WebSocket */
	rc = 0;

out:
	hresp_free(r);
	return (rc);
}

/* Set up the wslay client context once the handshake is done. */
static int
wsc_start(struct wsc *w, const struct wsc_opts *o, char **cause)
{
	struct wslay_event_callbacks	cb;

	memset(&cb, 0, sizeof cb);
	cb.recv_callback = wsc_recv_cb;
	cb.send_callback = wsc_send_cb;
	cb.genmask_callback = wsc_genmask_cb;
	cb.on_msg_recv_callback = wsc_msg_cb;
	if (wslay_event_context_client_init(&w->ctx, &cb, w) != 0) {
		xasprintf(cause, "wslay_event_context_client_init failed");
		return (-1);
	}
	wslay_event_config_set_max_recv_msg_length(w->ctx,
	    o->max_msg_len != 0 ? o->max_msg_len : WSC_MAX_MSG_LEN);
	return (0);
}

/* Connect and upgrade, with all options. */
struct wsc *
wsc_connect2(const char *host, int port, const char *path,
    const struct wsc_opts *opts, int *status, char **cause)
{
	static const struct wsc_opts	 none;
	const struct wsc_opts		*o = opts != NULL ? opts : &none;
	struct wsc			*w;
	const char			*protocol;
	char				 key[32];
	int64_t				 deadline;

	*cause = NULL;
	if (status != NULL)
		*status = 0;
	protocol = o->protocol != NULL ? o->protocol : WSC_PROTOCOL;
	deadline = net_deadline(o->timeout_ms != 0 ? o->timeout_ms :
	    WSC_TIMEOUT);

	w = xcalloc(1, sizeof *w);
	TAILQ_INIT(&w->queue);
	w->reading = 1;
	w->send_timeout = o->send_timeout_ms != 0 ? o->send_timeout_ms :
	    WSC_SEND_TIMEOUT;
	w->rbuf = xmalloc(WSC_RBUF_SIZE);
	w->fd = net_connect(host, port, deadline, cause);
	if (w->fd == -1)
		goto fail;
	if (wsc_request(w, host, port, path, o, protocol, key, deadline,
	    cause) != 0)
		goto fail;
	if (wsc_response(w, key, protocol, deadline, status, cause) != 0)
		goto fail;
	if (wsc_start(w, o, cause) != 0)
		goto fail;
	return (w);

fail:
	wsc_free(w);
	return (NULL);
}

/* Connect and upgrade with extra headers and a timeout. */
struct wsc *
wsc_connect(const char *host, int port, const char *path,
    const char *const *headers, int timeout_ms, char **cause)
{
	struct wsc_opts	o;

	memset(&o, 0, sizeof o);
	o.headers = headers;
	o.timeout_ms = timeout_ms;
	return (wsc_connect2(host, port, path, &o, NULL, cause));
}

/* Connect and upgrade from a ws:// or http:// URL. */
struct wsc *
wsc_connect_url(const char *url, const struct wsc_opts *opts, int *status,
    char **cause)
{
	struct wsc	*w = NULL;
	struct url	 u;
	char		*path;

	*cause = NULL;
	if (status != NULL)
		*status = 0;
	if (url_parse(url, &u, cause) != 0)
		return (NULL);
	if (strcmp(u.scheme, "wss") == 0 || strcmp(u.scheme, "https") == 0)
		xasprintf(cause, "%s: TLS is not supported by this client",
		    url);
	else if (strcmp(u.scheme, "ws") == 0)
		w = wsc_connect2(u.host, u.port, u.path, opts, status, cause);
	else if (strcmp(u.scheme, "http") == 0) {
		/* A base URL: the WebSocket endpoint is under its prefix. */
		xasprintf(&path, "%s/v1/ws", u.prefix);
		w = wsc_connect2(u.host, u.port, path, opts, status, cause);
		free(path);
	} else
		xasprintf(cause, "%s: not a ws:// or http:// URL", url);
	url_free(&u);
	return (w);
}
