/*
 * What a connection does, by state: the handlers that the server registers
 * with the transport (conn_set_ops).  A connection reads HTTP requests
 * (CONN_HTTP_HEAD), routes each to REST or to the WebSocket upgrade on the
 * same port, waits while a REST reply is pending (CONN_HTTP_BUSY), and
 * once upgraded reads WebSocket frames (CONN_WS_OPEN) until the closing
 * handshake (CONN_WS_CLOSING) and the orderly end (CONN_FLUSH, in conn.c).
 * This is the top of the daemon's layers: it calls down into the framing
 * (http.c, ws.c) and the handlers (rest.c, proto.c, sub.c), and nothing
 * below calls it by name.
 */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "logwired.h"

/* Stop the subscriptions: no data frame may follow a close frame. */
static void
server_conn_unsubscribe(struct conn *c)
{
	struct sub	*s;

	while ((s = TAILQ_FIRST(&c->subs)) != NULL)
		sub_free(s);
}

/* Send a WebSocket close frame; the connection ends once it is answered. */
static void
server_conn_ws_close(struct conn *c, uint16_t code, const char *reason)
{
	if (c->state != CONN_WS_OPEN)
		return;
	ws_send_close(c, code, reason);
	server_conn_unsubscribe(c);
	conn_set_state(c, CONN_WS_CLOSING);
}

/* End one connection at shutdown (conn_foreach). */
static void
server_conn_end(struct conn *c, void *arg)
{
	uint16_t	code = *(uint16_t *)arg;

	if (code == 0)
		conn_close(c);
	else if (c->state == CONN_WS_OPEN)
		server_conn_ws_close(c, code, "server shutting down");
	else if (c->state == CONN_HTTP_HEAD)
		conn_set_state(c, CONN_FLUSH);
}

/*
 * End every connection: WebSockets with a close frame of code, idle HTTP
 * connections at once, each in order (CONN_FLUSH); a pending REST reply
 * is finished first.  Code 0 closes everything at once.
 */
void
server_conn_close_all(uint16_t code)
{
	conn_foreach(server_conn_end, &code);
}

/* Handle a complete HTTP request; returns 0 to read the next one. */
static int
server_conn_request(struct conn *c)
{
	const char	*cause;
	char		*path, *query;
	size_t		 plen;
	int		 status, is_ws, is_health;

	if (http_split_url(http_req_url(c->req), &path, &plen, &query) == 0) {
		is_ws = strcmp(path, "/v1/ws") == 0;
		is_health = strcmp(path, "/healthz") == 0 ||
		    strcmp(path, "/metrics") == 0;
		free(path);
		free(query);
	} else
		is_ws = is_health = 0;
	/*
	 * Stopping: no new work.  Only /healthz (503, "stopping") and
	 * /metrics are answered, and every connection ends after its reply.
	 */
	if (server.stopping && !is_health) {
		http_respond_error(conn_output(c), ERR_STOPPING,
		    "server is shutting down", NULL, 0);
		conn_set_state(c, CONN_FLUSH);
		return (-1);
	}
	if (!is_ws) {
		if (rest_request(c)) {
			conn_set_state(c, CONN_HTTP_BUSY);
			return (-1);
		}
		if (!http_req_keepalive(c->req) || http_req_upgrade(c->req) ||
		    server.stopping) {
			conn_set_state(c, CONN_FLUSH);
			return (-1);
		}
		http_req_reset(c->req);
		conn_set_state(c, CONN_HTTP_HEAD);
		return (0);
	}
	if (ws_handshake(c, (char **)&cause, &status) != 0) {
		http_respond_error_status(conn_output(c), status,
		    status == 405 ? ERR_METHOD : ERR_BAD_REQUEST, cause,
		    status == 426 ?
		    "Sec-WebSocket-Version: 13\r\nUpgrade: websocket\r\n" :
		    status == 405 ? "Allow: GET\r\n" : NULL, 0);
		conn_set_state(c, CONN_FLUSH);
		return (-1);
	}
	if (ws_start(c) != 0) {
		conn_close(c);
		return (-1);
	}
	http_req_free(c->req);
	c->req = NULL;
	conn_set_state(c, CONN_WS_OPEN);
	return (0);
}

/* Refuse a request whose head or body could not be read. */
static void
server_conn_bad_request(struct conn *c)
{
	struct evbuffer	*cors;
	const char	*error;
	int		 status;

	status = http_req_status(c->req, &error);
	cors = evbuffer_new();
	rest_cors_headers(cors, rest_cors_origin(http_req_header(c->req,
	    "origin")));
	evbuffer_add_lit(cors, "\0");
	http_respond_error_status(conn_output(c), status, status == 413 ?
	    ERR_TOO_LARGE : ERR_BAD_REQUEST, error,
	    (const char *)evbuffer_pullup(cors, -1), 0);
	evbuffer_free(cors);
	conn_set_state(c, CONN_FLUSH);
}

/* Read HTTP requests, or WebSocket frames once upgraded. */
static void
server_conn_read(struct conn *c)
{
	struct evbuffer	*in = bufferevent_get_input(c->bev);

	while (c->state == CONN_HTTP_HEAD) {
		switch (http_req_feed(c->req, in, conn_output(c))) {
		case HTTP_REQ_MORE:
			return;
		case HTTP_REQ_ERROR:
			server_conn_bad_request(c);
			return;
		case HTTP_REQ_DONE:
			if (server_conn_request(c) != 0)
				return;
			break;
		}
	}
	if (c->state == CONN_WS_OPEN || c->state == CONN_WS_CLOSING) {
		if (ws_read(c) != 0) {
			conn_close(c);
			return;
		}
		/*
		 * wslay reads no more once it has a close or refused a
		 * frame; the close frame it sent may already be the whole
		 * handshake (ws_done()): the socket closes once it is
		 * written (RFC 6455 7.1.1, the server closes TCP first).
		 */
		if (c->state == CONN_WS_OPEN && c->ws != NULL &&
		    !ws_reading(c)) {
			server_conn_unsubscribe(c);
			conn_set_state(c, CONN_WS_CLOSING);
		}
		if (c->state == CONN_WS_CLOSING && ws_done(c))
			conn_set_state(c, CONN_FLUSH);
	}
}

/* The output drained to the low watermark (or empty). */
static void
server_conn_drained(struct conn *c)
{
	switch (c->state) {
	case CONN_HTTP_BUSY:
		rest_stream(c);
		break;
	case CONN_WS_OPEN:
		sub_pump(c);
		break;
	case CONN_WS_CLOSING:
		if (evbuffer_get_length(conn_output(c)) == 0 && ws_done(c))
			conn_set_state(c, CONN_FLUSH);
		break;
	default:
		break;
	}
}

/* The timer of a reading state: the header timeout, or a ping. */
static void
server_conn_timeout(struct conn *c)
{
	switch (c->state) {
	case CONN_HTTP_HEAD:
		if (http_req_in_head(c->req) &&
		    evbuffer_get_length(bufferevent_get_input(c->bev)) == 0 &&
		    http_req_idle(c->req)) {
			conn_close(c);
			break;
		}
		http_respond_error_status(conn_output(c), 408, ERR_BAD_REQUEST,
		    "request head not received in time", NULL, 0);
		conn_set_state(c, CONN_FLUSH);
		break;
	case CONN_WS_OPEN:
		if (c->awaiting_pong) {
			log_info("connection %llu: no pong in time",
			    (unsigned long long)c->id);
			server_conn_ws_close(c, 4408,
			    "no pong within ping_timeout");
			break;
		}
		if (ws_send_ping(c) != 0) {
			conn_close(c);
			break;
		}
		c->awaiting_pong = 1;
		conn_set_timer(c, server.cfg->ping_timeout_ms);
		break;
	default:
		break;
	}
}

/* The connection's pump was scheduled: deliver from the log. */
static void
server_conn_pump(struct conn *c)
{
	if (c->state == CONN_WS_OPEN)
		sub_pump(c);
}

/* A connection was accepted: it starts by reading an HTTP request. */
static void
server_conn_opened(struct conn *c)
{
	c->req = http_req_new(server.cfg->max_head_bytes,
	    server.cfg->max_body_bytes);
}

/* The socket is about to close: let go of what the layers above hold. */
static void
server_conn_closed(struct conn *c)
{
	rest_conn_closed(c);
	server_conn_unsubscribe(c);
	ws_free(c);
	http_req_free(c->req);
	c->req = NULL;
}

const struct conn_ops server_conn_ops = {
	server_conn_opened,
	server_conn_read,
	server_conn_drained,
	server_conn_timeout,
	server_conn_pump,
	server_conn_closed
};
