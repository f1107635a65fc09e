/*
 * WebSocket (RFC 6455) on a connection: the upgrade handshake, and a wslay
 * context per connection that parses client frames, checks UTF-8, answers
 * pings and handles close.
 *
 * wslay's send callback never says WOULDBLOCK: it appends to the
 * bufferevent's output, so every frame wslay writes is complete once
 * wslay_event_send() returns.  That is what lets the server put its own
 * frames (replies, shared message frames) into the same buffer at frame
 * boundaries.
 *
 * Idle connections hold no wslay context.  A context carries two 4 KiB
 * buffers, too much for tens of thousands of idle subscribers, and between
 * two messages it holds no state worth keeping.  So the receive callback
 * hands wslay one frame at a time (it reads the frame header itself to know
 * the frame's length), which tells us when wslay stands between frames and
 * between messages; the context is then freed, and made again when the next
 * byte arrives or a ping or close must be sent.
 */

#include "config.h"

#include <sys/types.h>

#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <http_parser.h>
#include <openssl/evp.h>
#include <wslay/wslay.h>

#include "logwire.h"

#define WS_GUID		"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_PROTOCOL	"logwire.v1"

/* Compute Sec-WebSocket-Accept for a client key into out (29 bytes). */
static void
ws_accept_key(const char *key, char *out)
{
	EVP_MD_CTX	*md;
	unsigned char	 digest[EVP_MAX_MD_SIZE];
	unsigned int	 dlen;

	if ((md = EVP_MD_CTX_new()) == NULL)
		fatalx("EVP_MD_CTX_new failed");
	if (EVP_DigestInit_ex(md, EVP_sha1(), NULL) != 1 ||
	    EVP_DigestUpdate(md, key, strlen(key)) != 1 ||
	    EVP_DigestUpdate(md, WS_GUID, strlen(WS_GUID)) != 1 ||
	    EVP_DigestFinal_ex(md, digest, &dlen) != 1)
		fatalx("SHA-1 failed");
	EVP_MD_CTX_free(md);
	EVP_EncodeBlock((unsigned char *)out, digest, (int)dlen);
}

/* Whether key is base64 of exactly 16 bytes. */
static int
ws_key_valid(const char *key)
{
	unsigned char	buf[32];
	size_t		len = strlen(key);

	if (len != 24 || key[22] != '=' || key[23] != '=')
		return (0);
	if (EVP_DecodeBlock(buf, (const unsigned char *)key, 24) != 18)
		return (0);
	return (1);
}

/*
 * Check the upgrade request and queue the 101 answer.  On a bad request
 * returns -1 with *status (400, 405, 426) and *cause (static) set.
 */
int
ws_handshake(struct conn *c, char **cause, int *status)
{
	struct http_req	*r = c->req;
	struct evbuffer	*out = bufferevent_get_output(c->bev);
	const char	*key, *version, *proto;
	char		 accept[64];

	if (!http_req_is(r, HTTP_GET)) {
		*status = 405;
		*cause = "the WebSocket endpoint takes GET only";
		return (-1);
	}
	if (!http_token_has(http_req_header(r, "upgrade"), "websocket") ||
	    !http_token_has(http_req_header(r, "connection"), "upgrade")) {
		*status = 426;
		*cause = "this endpoint needs a WebSocket upgrade";
		return (-1);
	}
	version = http_req_header(r, "sec-websocket-version");
	if (version == NULL || strcmp(version, "13") != 0) {
		*status = 426;
		*cause = "unsupported WebSocket version (13 only)";
		return (-1);
	}
	key = http_req_header(r, "sec-websocket-key");
	if (key == NULL || !ws_key_valid(key)) {
		*status = 400;
		*cause = "missing or malformed Sec-WebSocket-Key";
		return (-1);
	}
	ws_accept_key(key, accept);
	proto = http_req_header(r, "sec-websocket-protocol");
	evbuffer_add_printf(out, "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: %s\r\n", accept);
	if (http_token_has(proto, WS_PROTOCOL))
		evbuffer_add_printf(out, "Sec-WebSocket-Protocol: %s\r\n",
		    WS_PROTOCOL);
	evbuffer_add(out, "\r\n", 2);
	return (0);
}

/*
 * At a frame boundary, read the next frame's header from the input to learn
 * its whole length (header and payload).  Returns 0, or -1 if the header is
 * not all there yet.
 */
static int
ws_next_frame(struct conn *c, struct evbuffer *in)
{
	unsigned char	h[14];
	uint64_t	plen;
	size_t		hlen, avail = evbuffer_get_length(in), i;
	int		opcode, fin;

	if (avail < 2)
		return (-1);
	evbuffer_copyout(in, h, MIN(avail, sizeof h));
	plen = h[1] & 0x7f;
	hlen = 2 + (plen == 126 ? 2 : plen == 127 ? 8 : 0) +
	    ((h[1] & 0x80) ? 4 : 0);
	if (avail < hlen)
		return (-1);
	if (plen == 126)
		plen = (uint64_t)h[2] << 8 | h[3];
	else if (plen == 127) {
		plen = 0;
		for (i = 2; i < 10; i++)
			plen = plen << 8 | h[i];
	}
	/* wslay refuses anything this large itself (1009). */
	if (plen > UINT64_MAX / 2)
		plen = UINT64_MAX / 2;
	c->ws_frame_left = hlen + plen;
	opcode = h[0] & 0x0f;
	fin = (h[0] & 0x80) != 0;
	if (opcode == WSLAY_TEXT_FRAME || opcode == WSLAY_BINARY_FRAME ||
	    opcode == WSLAY_CONTINUATION_FRAME)
		c->ws_msg_open = !fin;
	return (0);
}

/* Give wslay the input, one frame at a time. */
static ssize_t
ws_recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
    void *arg)
{
	struct conn	*c = arg;
	struct evbuffer	*in = bufferevent_get_input(c->bev);
	int		 n;

	if (c->ws_frame_left == 0 && ws_next_frame(c, in) != 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return (-1);
	}
	if (len > c->ws_frame_left)
		len = (size_t)c->ws_frame_left;
	n = evbuffer_remove(in, buf, len);
	if (n <= 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return (-1);
	}
	c->ws_frame_left -= (uint64_t)n;
	return (n);
}

/* Take all wslay's bytes into the output buffer: never WOULDBLOCK. */
static ssize_t
ws_send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len,
    int flags, void *arg)
{
	struct conn	*c = arg;

	if (evbuffer_add(bufferevent_get_output(c->bev), data, len) != 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return (-1);
	}
	return ((ssize_t)len);
}

/* Server frames are not masked; wslay still wants the callback. */
static int
ws_genmask_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len,
    void *arg)
{
	memset(buf, 0, len);
	return (0);
}

/* Dispatch one complete client message. */
static void
ws_msg_cb(wslay_event_context_ptr ctx,
    const struct wslay_event_on_msg_recv_arg *arg, void *user)
{
	struct conn	*c = user;

	switch (arg->opcode) {
	case WSLAY_TEXT_FRAME:
		proto_message(c, (const char *)arg->msg, arg->msg_length);
		break;
	case WSLAY_BINARY_FRAME:
		proto_error(c, NULL, 40000,
		    "binary frames are not accepted: send JSON text frames");
		break;
	case WSLAY_PONG:
		conn_pong(c);
		break;
	default:
		break;
	}
}

/* Make the wslay context if the connection has none. */
static int
ws_ctx(struct conn *c)
{
	struct wslay_event_callbacks	 cb = {
		.recv_callback = ws_recv_cb,
		.send_callback = ws_send_cb,
		.genmask_callback = ws_genmask_cb,
		.on_msg_recv_callback = ws_msg_cb,
	};
	wslay_event_context_ptr		 ctx;

	if (c->ws != NULL)
		return (0);
	if (wslay_event_context_server_init(&ctx, &cb, c) != 0)
		return (-1);
	wslay_event_config_set_max_recv_msg_length(ctx,
	    4 * (uint64_t)server.cfg->max_message_bytes);
	c->ws = ctx;
	return (0);
}

/* Start WebSocket framing once the 101 answer is queued. */
int
ws_start(struct conn *c)
{
	c->ws_frame_left = 0;
	c->ws_msg_open = 0;
	return (0);
}

/* Free the wslay context. */
void
ws_free(struct conn *c)
{
	if (c->ws != NULL) {
		wslay_event_context_free(c->ws);
		c->ws = NULL;
	}
}

/*
 * Read the frames in the input buffer, dispatching each message, and write
 * what wslay queued (pongs, close).  Returns -1 if the connection is dead.
 */
int
ws_read(struct conn *c)
{
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) == 0 &&
	    c->ws == NULL)
		return (0);
	if (ws_ctx(c) != 0)
		return (-1);
	if (wslay_event_recv(c->ws) != 0)
		return (-1);
	ws_flush(c);
	/* Between messages and still open: let the context go. */
	if (c->state == CONN_WS_OPEN && c->ws_frame_left == 0 &&
	    !c->ws_msg_open && wslay_event_want_read(c->ws) &&
	    !wslay_event_want_write(c->ws) &&
	    !wslay_event_get_close_sent(c->ws))
		ws_free(c);
	return (0);
}

/* Write wslay's queued control frames into the output buffer. */
void
ws_flush(struct conn *c)
{
	if (c->ws != NULL && wslay_event_want_write(c->ws))
		wslay_event_send(c->ws);
}

/* Send a ping. */
int
ws_send_ping(struct conn *c)
{
	struct wslay_event_msg	m = { WSLAY_PING, (const uint8_t *)"lw", 2 };

	if (ws_ctx(c) != 0 || wslay_event_queue_msg(c->ws, &m) != 0)
		return (-1);
	ws_flush(c);
	return (0);
}

/* Start the closing handshake with a status code. */
void
ws_send_close(struct conn *c, uint16_t code, const char *reason)
{
	if (ws_ctx(c) != 0 || wslay_event_get_close_sent(c->ws))
		return;
	wslay_event_queue_close(c->ws, code, (const uint8_t *)reason,
	    reason != NULL ? strlen(reason) : 0);
	ws_flush(c);
}

/* Whether frames may still come from the client. */
int
ws_reading(struct conn *c)
{
	return (c->ws == NULL || wslay_event_want_read(c->ws));
}

/* Whether the WebSocket is finished (close sent, nothing more to read). */
int
ws_done(struct conn *c)
{
	if (c->ws == NULL)
		return (c->state != CONN_WS_OPEN);
	return (!wslay_event_want_read(c->ws) &&
	    !wslay_event_want_write(c->ws));
}
