/*
 * Connections, the transport layer at the bottom of the daemon: one
 * bufferevent each, its output and the end-of-turn flush, its timer, and
 * the orderly end of a connection.  conn_set_state() is the one place that
 * moves a connection between the states documented in logwire.h.  What a
 * connection's bytes mean (HTTP requests, WebSocket frames after an
 * upgrade) is for the layers above, which register their handlers with
 * conn_set_ops (server-conn.c); nothing here calls up into them.
 *
 * A connection is freed when its last reference goes: the socket holds one,
 * and each request queued for the writer holds one, so that an ack coming
 * back after the client left finds a closed connection rather than freed
 * memory.
 *
 * Output is written at the end of a loop turn, not by the bufferevent.  A
 * bufferevent with EV_WRITE enabled adds its write event when the first
 * byte is queued and removes it once the buffer drains: two epoll_ctl
 * calls and a loop turn for every burst of acks.  Here EV_WRITE stays
 * disabled while the socket keeps up: bytes queued on a connection put it
 * on the flush list, and a lowest-priority event (run after everything
 * else that was ready in this turn) writes each listed connection's
 * output with one writev.  Only what the socket does not take at once
 * turns EV_WRITE on, until the buffer drains.
 *
 * The transport seam: the socket is touched only through a struct
 * conn_transport (its bufferevent, the flush, the direct send) and the
 * shutdown of the ending below.  A plain socket is written by the flush
 * with one writev and catch-up chunks may go straight to it.  A TLS
 * connection (bufferevent_openssl) cannot be written under its
 * bufferevent: its flush turns EV_WRITE on so that the bufferevent writes
 * through SSL_write, and it has no direct send.
 *
 * A connection is never reset while replies to it are unread.  close(2)
 * on a socket that holds unread input, or that input reaches afterwards,
 * sends a reset rather than a FIN, and a reset makes the peer's system
 * drop what it received and its application has not read yet: the last
 * acks, the close frame.  So every orderly end goes through CONN_FLUSH:
 * the last bytes are written, shutdown(SHUT_WR) sends the FIN after them,
 * and input is read and dropped until the peer closes too, or until it
 * has acknowledged every byte and been silent for CONN_QUIET_MS.  A peer
 * that reads nothing is given up at a deadline: CONN_CLOSE_MAX_MS, or the
 * end of --shutdown-timeout while the server stops.
 */

#include "config.h"

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#ifdef __linux__
#include <linux/sockios.h>
#endif

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "logwired.h"

static TAILQ_HEAD(, conn) conns = TAILQ_HEAD_INITIALIZER(conns);
static size_t		  nconns;
static uint64_t		  next_conn_id = 1;
static TAILQ_HEAD(, conn) conn_flushq = TAILQ_HEAD_INITIALIZER(conn_flushq);
static struct event	 *conn_flush_ev;
static const struct conn_ops *conn_ops;

#define CONN_CLOSE_GRACE_MS	2000	/* for the close frame, once delivered */
#define CONN_CLOSE_MAX_MS	10000	/* to end a connection, unless stopping */
#define CONN_QUIET_MS		500	/* peer silent after our FIN: close */
#define CONN_POLL_MS		100	/* ending: look at the socket again */
#define CONN_INPUT_MAX		(256 * 1024)

static struct log_rate	conn_refused_log;

/*
 * Publishes in flight per connection: past the limit the connection is not
 * read until acks come back, so a client that publishes faster than the
 * disk commits is slowed down instead of queueing without bound.
 */
void
conn_inflight(struct conn *c, int delta)
{
	c->inflight += delta;
	if (c->bev == NULL)
		return;
	/* While stopping, publishes are refused at once: keep reading. */
	if (delta > 0 && c->inflight >= server.cfg->max_inflight &&
	    !server.stopping)
		bufferevent_disable(c->bev, EV_READ);
	else if (delta < 0 && c->inflight == server.cfg->max_inflight / 2 &&
	    c->state == CONN_WS_OPEN) {
		bufferevent_enable(c->bev, EV_READ);
		if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
			event_active(c->pump_ev, EV_READ, 0);
	}
}

static void	conn_read_cb(struct bufferevent *, void *);
static void	conn_write_cb(struct bufferevent *, void *);
static void	conn_event_cb(struct bufferevent *, short, void *);
static void	conn_timer_cb(evutil_socket_t, short, void *);
static void	conn_pump_cb(evutil_socket_t, short, void *);
static void	conn_flush_cb(evutil_socket_t, short, void *);

/* A plain socket's bufferevent. */
static struct bufferevent *
conn_plain_open(struct event_base *base, int fd, void *arg)
{
	return (bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE));
}

/*
 * Write the output to the socket now.  A socket bufferevent keeps the start
 * of its output buffer frozen except while it writes itself; so do we.
 */
static void
conn_plain_flush(struct conn *c, struct evbuffer *out)
{
	evbuffer_unfreeze(out, 1);
	evbuffer_write(out, bufferevent_getfd(c->bev));
	evbuffer_freeze(out, 1);
}

/* Send bytes straight to the socket; returns how many it took. */
static size_t
conn_plain_send(struct conn *c, const void *p, size_t len)
{
	ssize_t	n;

	n = send(bufferevent_getfd(c->bev), p, len, MSG_DONTWAIT |
	    MSG_NOSIGNAL);
	return (n < 0 ? 0 : (size_t)n);
}

const struct conn_transport conn_plain = {
	"plain", conn_plain_open, conn_plain_flush, conn_plain_send
};

/* Bytes were queued on a connection's output: write them this turn. */
static void
conn_out_cb(struct evbuffer *b, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct conn	*c = arg;

	if (info->n_added == 0 || c->flush_pending)
		return;
	c->flush_pending = 1;
	c->refs++;
	TAILQ_INSERT_TAIL(&conn_flushq, c, flush_entry);
	if (conn_flush_ev == NULL) {
		conn_flush_ev = event_new(server.base, -1, 0, conn_flush_cb,
		    NULL);
		event_priority_set(conn_flush_ev, SERVER_PRIORITIES - 1);
	}
	event_active(conn_flush_ev, EV_WRITE, 0);
}

/*
 * Write the output of every connection on the flush list.  What the socket
 * does not take is left to the bufferevent (EV_WRITE on); a drained buffer
 * gets the same handling as the bufferevent's write callback.
 */
static void
conn_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	TAILQ_HEAD(, conn)	 list = TAILQ_HEAD_INITIALIZER(list);
	struct conn		*c;
	struct evbuffer		*out;

	TAILQ_CONCAT(&list, &conn_flushq, flush_entry);
	while ((c = TAILQ_FIRST(&list)) != NULL) {
		TAILQ_REMOVE(&list, c, flush_entry);
		c->flush_pending = 0;
		if (c->bev != NULL) {
			out = bufferevent_get_output(c->bev);
			if (evbuffer_get_length(out) > 0)
				c->transport->flush(c, out);
			if (evbuffer_get_length(out) > 0)
				bufferevent_enable(c->bev, EV_WRITE);
			else
				conn_write_cb(c->bev, c);
		}
		conn_release(c);
	}
}

/* Drop the flush list and its event (server shutdown, sockets closed). */
void
conn_shutdown(void)
{
	struct conn	*c;

	while ((c = TAILQ_FIRST(&conn_flushq)) != NULL) {
		TAILQ_REMOVE(&conn_flushq, c, flush_entry);
		c->flush_pending = 0;
		conn_release(c);
	}
	if (conn_flush_ev != NULL)
		event_free(conn_flush_ev);
	conn_flush_ev = NULL;
}

/* Arm the connection's timer. */
static void
conn_arm(struct conn *c, unsigned int ms)
{
	struct timeval	tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(c->timer, &tv);
}

/* Count the bytes written that the peer has not acknowledged yet. */
static size_t
conn_unacked(struct conn *c)
{
#ifdef SIOCOUTQ
	int	n;

	if (ioctl(bufferevent_getfd(c->bev), SIOCOUTQ, &n) == 0 && n > 0)
		return ((size_t)n);
#endif
	return (0);
}

/* Whether the peer's system has received everything sent. */
static int
conn_delivered(struct conn *c)
{
	return (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0 &&
	    conn_unacked(c) == 0);
}

/*
 * Return when an ending connection is given up: its own bound, or while
 * the server stops, the end of --shutdown-timeout (longer or shorter).
 */
static uint64_t
conn_close_by(struct conn *c)
{
	if (server.stop_by_ns != 0)
		return (server.stop_by_ns);
	return (c->close_by_ns);
}

/* Arm the timer for the sooner of ms from now and the close deadline. */
static void
conn_arm_until(struct conn *c, uint64_t now, unsigned int ms)
{
	uint64_t	by = conn_close_by(c), left;

	left = by > now ? (by - now + 999999) / 1000000 : 0;
	conn_arm(c, left < ms ? (unsigned int)left : ms);
}

/*
 * Move to a new state, with what each state needs on entry: the one place
 * that moves a connection between the states documented in logwire.h.
 */
void
conn_set_state(struct conn *c, enum conn_state state)
{
	uint64_t	 now;

	c->state = state;
	switch (state) {
	case CONN_HTTP_HEAD:
		conn_arm(c, server.cfg->header_timeout_ms);
		break;
	case CONN_HTTP_BUSY:
		evtimer_del(c->timer);
		break;
	case CONN_FLUSH:
		/* Input from now on is read and dropped (conn_flush_step). */
		now = mono_ns();
		if (c->close_by_ns == 0)
			c->close_by_ns = now + CONN_CLOSE_MAX_MS * 1000000ULL;
		c->quiet_ns = now;
		bufferevent_enable(c->bev, EV_READ);
		conn_arm(c, 0);
		break;
	case CONN_WS_OPEN:
		conn_arm(c, server.cfg->ping_interval_ms);
		break;
	case CONN_WS_CLOSING:
		c->close_by_ns = mono_ns() +
		    CONN_CLOSE_MAX_MS * 1000000ULL;
		c->quiet_ns = 0;
		conn_arm(c, CONN_POLL_MS);
		break;
	case CONN_CLOSED:
		break;
	}
}

/*
 * Step an ending connection (CONN_FLUSH): write what is left, then send
 * the FIN and drop input until the peer closes (conn_event_cb), or has
 * every byte and stays silent; give up at the deadline.
 */
static void
conn_flush_step(struct conn *c)
{
	struct evbuffer	*in = bufferevent_get_input(c->bev);
	uint64_t	 now = mono_ns(), quiet_ns;

	if (evbuffer_get_length(in) > 0) {
		evbuffer_drain(in, evbuffer_get_length(in));
		c->quiet_ns = now;
	}
	if (now >= conn_close_by(c)) {
		if (!conn_delivered(c))
			log_debug("connection %llu: closed with replies "
			    "unread", (unsigned long long)c->id);
		conn_close(c);
		return;
	}
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) > 0) {
		conn_arm_until(c, now, CONN_POLL_MS);
		return;
	}
	if (c->peer_eof) {
		conn_close(c);
		return;
	}
	if (!c->shut_wr) {
		shutdown(bufferevent_getfd(c->bev), SHUT_WR);
		c->shut_wr = 1;
		c->quiet_ns = now;
	}
	quiet_ns = now - c->quiet_ns;
	if (conn_unacked(c) > 0)
		conn_arm_until(c, now, CONN_POLL_MS);
	else if (quiet_ns >= CONN_QUIET_MS * 1000000ULL)
		conn_close(c);
	else
		conn_arm_until(c, now, (unsigned int)((CONN_QUIET_MS *
		    1000000ULL - quiet_ns + 999999) / 1000000));
}

/*
 * The client has not answered our close frame yet.  While it has not even
 * received all we sent (it reads slowly), wait for it up to the deadline;
 * once it has, CONN_CLOSE_GRACE_MS more for its close frame; then end the
 * connection all the same.
 */
static void
conn_closing_timeout(struct conn *c)
{
	uint64_t	now = mono_ns();

	if (now < conn_close_by(c)) {
		if (!conn_delivered(c)) {
			c->quiet_ns = 0;
			conn_arm_until(c, now, CONN_POLL_MS);
			return;
		}
		if (c->quiet_ns == 0) {
			c->quiet_ns = now;
			conn_arm_until(c, now, CONN_CLOSE_GRACE_MS);
			return;
		}
		if (now - c->quiet_ns < CONN_CLOSE_GRACE_MS * 1000000ULL) {
			conn_arm_until(c, now, CONN_POLL_MS);
			return;
		}
	}
	conn_set_state(c, CONN_FLUSH);
}

/*
 * Set the handlers of the layer above: what a connection does with its
 * input, drained output, timer and pump.  Called once, before the first
 * connection.
 */
void
conn_set_ops(const struct conn_ops *ops)
{
	conn_ops = ops;
}

/* Take a new connection from a listener of the given transport. */
void
conn_accept(int fd, const struct sockaddr *sa, int salen,
    const struct conn_transport *t, void *arg)
{
	struct conn	*c;
	char		 host[INET6_ADDRSTRLEN];
	unsigned long long n;
	int		 one = 1, port = 0;

	/*
	 * While the server stops, connections are still taken: /healthz
	 * answers 503 and everything else is refused with a 503 of its own
	 * (conn_request), instead of a connect that hangs in the backlog.
	 */
	if (nconns >= server.cfg->max_connections) {
		if ((n = log_rate(&conn_refused_log)) != 0)
			log_warn("refusing connections: --max-connections %zu "
			    "reached (%llu refused since the last report)",
			    server.cfg->max_connections, n);
		evutil_closesocket(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c = xcalloc(1, sizeof *c);
	c->id = next_conn_id++;
	c->refs = 1;
	TAILQ_INIT(&c->subs);
	host[0] = '\0';
	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		    host, sizeof host);
		port = ntohs(((const struct sockaddr_in *)sa)->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		inet_ntop(AF_INET6,
		    &((const struct sockaddr_in6 *)sa)->sin6_addr, host,
		    sizeof host);
		port = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	}
	snprintf(c->peer, sizeof c->peer, "%s:%d", host, port);
	c->transport = t;
	c->bev = t->open(server.base, fd, arg);
	if (c->bev == NULL) {
		evutil_closesocket(fd);
		free(c);
		return;
	}
	c->timer = evtimer_new(server.base, conn_timer_cb, c);
	c->pump_ev = event_new(server.base, -1, 0, conn_pump_cb, c);
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb,
	    c);
	bufferevent_setwatermark(c->bev, EV_WRITE,
	    server.cfg->max_output_bytes / 4, 0);
	/* Unparsed input (pipelined while a reply is pending) is bounded. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, CONN_INPUT_MAX);
	evbuffer_add_cb(bufferevent_get_output(c->bev), conn_out_cb, c);
	bufferevent_enable(c->bev, EV_READ);
	TAILQ_INSERT_TAIL(&conns, c, entry);
	nconns++;
	server.stats.connections_total++;
	conn_ops->opened(c);
	conn_set_state(c, CONN_HTTP_HEAD);
	log_debug("connection %llu from %s", (unsigned long long)c->id,
	    c->peer);
}

/* Drop a reference; the last frees the connection. */
void
conn_release(struct conn *c)
{
	if (--c->refs > 0)
		return;
	free(c);
}

/* Close the socket and drop the socket's reference. */
void
conn_close(struct conn *c)
{
	if (c->state == CONN_CLOSED)
		return;
	log_debug("connection %llu closed", (unsigned long long)c->id);
	conn_set_state(c, CONN_CLOSED);
	conn_ops->closed(c);
	event_free(c->timer);
	event_free(c->pump_ev);
	bufferevent_free(c->bev);
	c->bev = NULL;
	TAILQ_REMOVE(&conns, c, entry);
	nconns--;
	conn_release(c);
}

/*
 * Call fn for every connection, in the order they came; fn may close the
 * one it is given.
 */
void
conn_foreach(void (*fn)(struct conn *, void *), void *arg)
{
	struct conn	*c, *next;

	TAILQ_FOREACH_SAFE(c, &conns, entry, next)
		fn(c, arg);
}

/*
 * Read every WebSocket again (shutdown): what clients sent before the
 * signal is answered before the close.
 */
void
conn_read_all(void)
{
	struct conn	*c;

	TAILQ_FOREACH(c, &conns, entry) {
		if (c->state != CONN_WS_OPEN)
			continue;
		bufferevent_enable(c->bev, EV_READ);
		if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
			event_active(c->pump_ev, EV_READ, 0);
	}
}

/* Number of open connections. */
size_t
conn_count(void)
{
	return (nconns);
}

/* The connection's output buffer. */
struct evbuffer *
conn_output(struct conn *c)
{
	return (bufferevent_get_output(c->bev));
}

/*
 * Send len bytes on a connection: straight to the socket when nothing is
 * queued before them and the transport can (no copy into the output
 * buffer, whose fresh memory costs page faults when ten thousand clients
 * catch up at once), and whatever the socket does not take into the
 * output buffer.  Errors are left to the bufferevent, which meets them on
 * its next write.
 */
void
conn_send(struct conn *c, const void *p, size_t len)
{
	struct evbuffer	*out;
	size_t		 n = 0;

	if (c->bev == NULL || len == 0)
		return;
	out = bufferevent_get_output(c->bev);
	if (c->transport->send != NULL) {
		/*
		 * What was queued first (say "subscribed") goes out first,
		 * unless the socket is known to be full (EV_WRITE on: it
		 * waits to drain).
		 */
		if (evbuffer_get_length(out) > 0 &&
		    !(bufferevent_get_enabled(c->bev) & EV_WRITE))
			c->transport->flush(c, out);
		if (evbuffer_get_length(out) == 0)
			n = c->transport->send(c, p, len);
	}
	if (n < len)
		evbuffer_add(out, (const char *)p + n, len - n);
}

/* Whether the output is past the slow-subscriber watermark. */
int
conn_over_watermark(struct conn *c)
{
	return (c->bev == NULL || evbuffer_get_length(conn_output(c)) >
	    server.cfg->max_output_bytes);
}

/* Run the pump soon, from the event loop. */
void
conn_schedule_pump(struct conn *c)
{
	if (c->state != CONN_WS_OPEN || c->pump_pending)
		return;
	c->pump_pending = 1;
	event_active(c->pump_ev, EV_TIMEOUT, 0);
}

static void
conn_pump_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	if (what & EV_TIMEOUT) {
		c->pump_pending = 0;
		conn_ops->pump(c);
	}
	/*
	 * Input left waiting: a REST reply was pending, or reading stopped
	 * at the in-flight limit.  Last, since it may close the connection.
	 */
	if ((what & EV_READ) && c->bev != NULL)
		conn_read_cb(c->bev, c);
}

/* Input arrived: an ending connection drops it, the others read it. */
static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;

	if (c->state == CONN_FLUSH)
		conn_flush_step(c);
	else
		conn_ops->read(c);
}

/* The output drained to the low watermark (or empty). */
static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;

	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_disable(bev, EV_WRITE);
	if (c->state == CONN_FLUSH)
		conn_flush_step(c);
	else if (c->state != CONN_CLOSED)
		conn_ops->drained(c);
}

/*
 * The peer went away or the socket failed.  A peer that only shut its
 * side down may still read: an ending connection first writes the rest.
 */
static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn	*c = arg;

	if (c->state == CONN_FLUSH && (what & BEV_EVENT_EOF) &&
	    !(what & BEV_EVENT_ERROR)) {
		c->peer_eof = 1;
		conn_flush_step(c);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		conn_close(c);
}

/*
 * The state's timer: the ending states are handled here, the others
 * (header timeout, pings) by the layer above.
 */
static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	switch (c->state) {
	case CONN_WS_CLOSING:
		conn_closing_timeout(c);
		break;
	case CONN_FLUSH:
		conn_flush_step(c);
		break;
	case CONN_CLOSED:
		break;
	default:
		conn_ops->timeout(c);
		break;
	}
}

/*
 * A pending REST reply is queued (and the request reset by its handler):
 * read the next request (pipelined bytes may already wait in the input
 * buffer), or close once written.
 */
void
conn_http_done(struct conn *c, int keepalive)
{
	if (c->state != CONN_HTTP_BUSY)
		return;
	if (!keepalive || server.stopping) {
		conn_set_state(c, CONN_FLUSH);
		return;
	}
	conn_set_state(c, CONN_HTTP_HEAD);
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
		event_active(c->pump_ev, EV_READ, 0);
}

/* Give up on a response: close once what is queued is written. */
void
conn_set_flush(struct conn *c)
{
	conn_set_state(c, CONN_FLUSH);
}

/* Arm the state's timer for ms from now (pings, for the layer above). */
void
conn_set_timer(struct conn *c, unsigned int ms)
{
	conn_arm(c, ms);
}

/* A pong arrived: wait a ping interval before the next ping. */
void
conn_pong(struct conn *c)
{
	c->awaiting_pong = 0;
	if (c->state == CONN_WS_OPEN)
		conn_arm(c, server.cfg->ping_interval_ms);
}
