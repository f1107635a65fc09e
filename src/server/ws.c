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
 * between messages.  A connection keeps its context while it is busy
 * (making and freeing 9 KiB per read burst cost a tenth of the server's
 * time under publish load): busy means read at least twice within one
 * sweep period of WS_SWEEP_MS.  After any other read the context goes at
 * once, so that the same few blocks serve every occasional reader and the
 * heap of a server with many mostly idle clients stays small; the sweep
 * frees the contexts of connections no longer busy.  One is made again
 * when the next byte arrives or a ping or close must be sent.
 *
 * wslay does not assemble messages here (no_buffering): it still checks
 * frames, UTF-8 and control frames, but a message that arrives as one
 * frame in one chunk is handed to the protocol straight from wslay's read
 * buffer, with no copy and no allocation.  Only a message in several
 * frames or chunks is gathered in ws_asm, bounded by the message limit.
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

#include "logwired.h"

#define WS_PROTOCOL	"logwire.v1"
#define WS_SWEEP_MS	250

static TAILQ_HEAD(, conn) ws_holding = TAILQ_HEAD_INITIALIZER(ws_holding);
static struct event	*ws_sweep_ev;
static unsigned int	 ws_sweeps;


static const struct ws_handler	*ws_handler;

/*
 * Set what is done with each whole message a client sends (the protocol
 * layer above: proto.c).  Called once, before the first connection.
 */
void
ws_set_handler(const struct ws_handler *h)
{
	ws_handler = h;
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
	wskey_accept(key, accept);
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

/* Whether an opcode is a control frame's. */
static int
ws_is_control(uint8_t opcode)
{
	return ((opcode & 0x08) != 0);
}

/*
 * At a frame boundary, read the next frame's header from the input to learn
 * its whole length (header and payload), and check it before wslay sees
 * any of it.  Left to wslay, a control frame over 125 bytes or fragmented
 * and a length not in its shortest form or with the top bit set end the
 * connection without a close frame (its frame layer calls them protocol
 * errors, which wslay_event_recv() treats as a failed read); a close with
 * a 1-byte payload is echoed as a close with no code; and a frame over the
 * limit, an unmasked frame or a bad opcode are only refused once payload
 * bytes arrive, so a client that sends a header and waits is never
 * answered.  Here they all get their close code when the header arrives.
 *
 * Returns 0 with ws_frame_left set, -1 if the header is not all there yet,
 * or a close code (1002, 1009) with *reason set.
 */
static int
ws_next_frame(struct conn *c, struct evbuffer *in, const char **reason)
{
	unsigned char	h[14];
	uint64_t	plen, max = 4 * (uint64_t)server.cfg->max_message_bytes;
	size_t		hlen, avail = evbuffer_get_length(in), i;
	int		opcode, fin, len7;

	if (avail < 2)
		return (-1);
	evbuffer_copyout(in, h, MIN(avail, sizeof h));
	len7 = h[1] & 0x7f;
	hlen = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) +
	    ((h[1] & 0x80) ? 4 : 0);
	if (avail < hlen)
		return (-1);
	plen = (uint64_t)len7;
	if (len7 == 126)
		plen = (uint64_t)h[2] << 8 | h[3];
	else if (len7 == 127) {
		plen = 0;
		for (i = 2; i < 10; i++)
			plen = plen << 8 | h[i];
	}
	opcode = h[0] & 0x0f;
	fin = (h[0] & 0x80) != 0;

	*reason = NULL;
	if ((h[0] & 0x70) != 0)
		*reason = "reserved bits set";
	else if ((h[1] & 0x80) == 0)
		*reason = "unmasked client frame";
	else if ((opcode > WSLAY_BINARY_FRAME &&
	    opcode < WSLAY_CONNECTION_CLOSE) || opcode > WSLAY_PONG)
		*reason = "reserved opcode";
	else if ((len7 == 126 && plen < 126) ||
	    (len7 == 127 && plen < 65536 && (plen >> 63) == 0))
		*reason = "frame length not in its shortest form";
	else if (ws_is_control(opcode) && !fin)
		*reason = "fragmented control frame";
	else if (ws_is_control(opcode) && plen > 125)
		*reason = "control frame over 125 bytes";
	else if (opcode == WSLAY_CONNECTION_CLOSE && plen == 1)
		*reason = "close frame with a 1-byte payload";
	else if (opcode == WSLAY_CONTINUATION_FRAME && !c->ws_msg_open)
		*reason = "continuation frame with no message to continue";
	else if ((opcode == WSLAY_TEXT_FRAME ||
	    opcode == WSLAY_BINARY_FRAME) && c->ws_msg_open)
		*reason = "new message inside a fragmented one";
	if (*reason != NULL)
		return (WSLAY_CODE_PROTOCOL_ERROR);
	if (plen > max) {
		*reason = "frame over the message limit";
		return (WSLAY_CODE_MESSAGE_TOO_BIG);
	}
	c->ws_frame_left = hlen + plen;
	if (opcode == WSLAY_TEXT_FRAME || opcode == WSLAY_BINARY_FRAME ||
	    opcode == WSLAY_CONTINUATION_FRAME)
		c->ws_msg_open = !fin;
	return (0);
}

/* Refuse what the client sent: a close frame with code, and read no more. */
static void
ws_fail(wslay_event_context_ptr ctx, uint16_t code, const char *reason)
{
	wslay_event_queue_close(ctx, code, (const uint8_t *)reason,
	    strlen(reason));
	wslay_event_shutdown_read(ctx);
}

/* Give wslay the input, one frame at a time. */
static ssize_t
ws_recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
    void *arg)
{
	struct conn	*c = arg;
	struct evbuffer	*in = bufferevent_get_input(c->bev);
	const char	*reason;
	int		 n, rc;

	if (c->ws_frame_left == 0) {
		rc = ws_next_frame(c, in, &reason);
		if (rc > 0)
			ws_fail(ctx, (uint16_t)rc, reason);
		if (rc != 0) {
			wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
			return (-1);
		}
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

/* A frame starts: note what it is. */
static void
ws_frame_start_cb(wslay_event_context_ptr ctx,
    const struct wslay_event_on_frame_recv_start_arg *arg, void *user)
{
	struct conn	*c = user;

	c->ws_fop = arg->opcode;
	c->ws_ffin = arg->fin;
	c->ws_fpayload = arg->payload_length;
	c->ws_one = NULL;
	c->ws_one_len = 0;
	if (arg->opcode == WSLAY_TEXT_FRAME ||
	    arg->opcode == WSLAY_BINARY_FRAME) {
		c->ws_mop = arg->opcode;
		c->ws_drop = 0;
	}
}

/*
 * A piece of a data frame's payload (unmasked, UTF-8 checked so far): keep
 * a pointer when it is the whole frame of a whole message, else gather it.
 */
static void
ws_frame_chunk_cb(wslay_event_context_ptr ctx,
    const struct wslay_event_on_frame_recv_chunk_arg *arg, void *user)
{
	struct conn	*c = user;
	size_t		 have, max = 4 * server.cfg->max_message_bytes;

	if (ws_is_control(c->ws_fop) || c->ws_drop)
		return;
	if (c->ws_asm == NULL && c->ws_ffin &&
	    arg->data_length == c->ws_fpayload) {
		c->ws_one = arg->data;
		c->ws_one_len = arg->data_length;
		return;
	}
	if (c->ws_asm == NULL)
		c->ws_asm = evbuffer_new();
	have = evbuffer_get_length(c->ws_asm);
	if (have + arg->data_length > max) {
		/* ws_next_frame() bounds frames; a message in pieces here. */
		c->ws_drop = 1;
		evbuffer_free(c->ws_asm);
		c->ws_asm = NULL;
		ws_fail(ctx, WSLAY_CODE_MESSAGE_TOO_BIG,
		    "message over the message limit");
		return;
	}
	evbuffer_add(c->ws_asm, arg->data, arg->data_length);
}

/*
 * A frame ended (wslay has checked that a final text frame ends on whole
 * UTF-8): a final data frame completes a message, which is dispatched.
 */
static void
ws_frame_end_cb(wslay_event_context_ptr ctx, void *user)
{
	struct conn	*c = user;
	const char	*text = "";
	size_t		 len = 0;

	if (ws_is_control(c->ws_fop) || !c->ws_ffin || c->ws_drop)
		return;
	if (c->ws_asm != NULL) {
		len = evbuffer_get_length(c->ws_asm);
		text = (const char *)evbuffer_pullup(c->ws_asm, -1);
	} else if (c->ws_one != NULL) {
		text = (const char *)c->ws_one;
		len = c->ws_one_len;
	}
	ws_handler->message(c, c->ws_mop == WSLAY_TEXT_FRAME, text, len);
	c->ws_one = NULL;
	if (c->ws_asm != NULL) {
		evbuffer_free(c->ws_asm);
		c->ws_asm = NULL;
	}
}

/* A whole control message (data messages go through the frame callbacks). */
static void
ws_msg_cb(wslay_event_context_ptr ctx,
    const struct wslay_event_on_msg_recv_arg *arg, void *user)
{
	struct conn	*c = user;

	if (arg->opcode == WSLAY_PONG)
		conn_pong(c);
}

/* Whether a connection's context stands between messages, with no work. */
static int
ws_between(struct conn *c)
{
	return (c->state == CONN_WS_OPEN && c->ws_frame_left == 0 &&
	    !c->ws_msg_open && c->ws_asm == NULL &&
	    wslay_event_want_read(c->ws) && !wslay_event_want_write(c->ws) &&
	    !wslay_event_get_close_sent(c->ws));
}

/* Free the contexts of connections not read since the last sweep. */
static void
ws_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c, *next;

	TAILQ_FOREACH_SAFE(c, &ws_holding, ws_entry, next) {
		if (c->ws_seen != ws_sweeps && ws_between(c))
			ws_free(c);
	}
	ws_sweeps++;
	if (TAILQ_EMPTY(&ws_holding))
		event_del(ws_sweep_ev);
}

/* Run the sweep of idle contexts while some connection holds one. */
static void
ws_sweep_start(void)
{
	struct timeval	tv = { 0, WS_SWEEP_MS * 1000 };

	if (ws_sweep_ev == NULL)
		ws_sweep_ev = event_new(server.base, -1, EV_PERSIST,
		    ws_sweep_cb, NULL);
	if (!event_pending(ws_sweep_ev, EV_TIMEOUT, NULL))
		evtimer_add(ws_sweep_ev, &tv);
}

/* Stop the sweep (server shutdown, after every connection is closed). */
void
ws_shutdown(void)
{
	if (ws_sweep_ev != NULL) {
		event_free(ws_sweep_ev);
		ws_sweep_ev = NULL;
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
		.on_frame_recv_start_callback = ws_frame_start_cb,
		.on_frame_recv_chunk_callback = ws_frame_chunk_cb,
		.on_frame_recv_end_callback = ws_frame_end_cb,
		.on_msg_recv_callback = ws_msg_cb,
	};
	wslay_event_context_ptr		 ctx;

	if (c->ws != NULL)
		return (0);
	if (wslay_event_context_server_init(&ctx, &cb, c) != 0)
		return (-1);
	wslay_event_config_set_no_buffering(ctx, 1);
	wslay_event_config_set_max_recv_msg_length(ctx,
	    4 * (uint64_t)server.cfg->max_message_bytes);
	c->ws = ctx;
	TAILQ_INSERT_TAIL(&ws_holding, c, ws_entry);
	ws_sweep_start();
	return (0);
}

/* Start WebSocket framing once the 101 answer is queued. */
int
ws_start(struct conn *c)
{
	c->ws_frame_left = 0;
	c->ws_msg_open = 0;
	c->ws_seen = ws_sweeps - 1;
	return (0);
}

/* Free the wslay context. */
void
ws_free(struct conn *c)
{
	if (c->ws != NULL) {
		wslay_event_context_free(c->ws);
		c->ws = NULL;
		TAILQ_REMOVE(&ws_holding, c, ws_entry);
	}
	if (c->ws_asm != NULL) {
		evbuffer_free(c->ws_asm);
		c->ws_asm = NULL;
	}
}

/*
 * Read the frames in the input buffer, dispatching each message, and write
 * what wslay queued (pongs, close).  Returns -1 if the connection is dead.
 */
int
ws_read(struct conn *c)
{
	struct evbuffer	*in = bufferevent_get_input(c->bev);
	int		 busy;

	if (evbuffer_get_length(in) == 0 && c->ws == NULL)
		return (0);
	if (ws_ctx(c) != 0)
		return (-1);
	busy = c->ws_seen == ws_sweeps;
	c->ws_seen = ws_sweeps;
	if (wslay_event_recv(c->ws) != 0)
		return (-1);
	/*
	 * After a close (received or refused frame) nothing more is read:
	 * drop what came, so that the socket is not closed with unread
	 * input, which makes the kernel send a reset in place of a FIN.
	 */
	if (!wslay_event_want_read(c->ws))
		evbuffer_drain(in, evbuffer_get_length(in));
	ws_flush(c);
	if (!busy && ws_between(c))
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
