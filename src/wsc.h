/*
 * wsc: a small blocking WebSocket client (RFC 6455) over TCP, built on
 * wslay's client context. It is shared by the integration tests, the
 * logwire command-line client and logwire-bench, which is why it has a
 * header of its own.
 *
 * One struct wsc is one connection. Nothing happens in the background:
 * the socket is only read inside wsc_recv() and, when a send would block,
 * inside the send functions (so that two peers writing at each other
 * cannot deadlock; see wsc_set_reading()). Pings are answered by wslay
 * while reading. A struct wsc is not thread safe.
 *
 * Plain TCP only (ws:// and http://); IPv4 and IPv6 hosts, numeric or
 * resolved with getaddrinfo(3).
 */

#ifndef WSC_H
#define WSC_H

#include <stddef.h>
#include <stdint.h>

/* Message kinds, equal to the RFC 6455 opcodes. */
#define WSC_TEXT	0x1
#define WSC_BINARY	0x2
#define WSC_CLOSE	0x8

/* The subprotocol offered when struct wsc_opts does not name one. */
#define WSC_PROTOCOL	"logwire.v1"

/*
 * Connection options. A NULL struct wsc_opts, or a zero member, means the
 * default given here.
 */
struct wsc_opts {
	/* Extra request header lines, "Name: value", NULL-terminated. */
	const char *const	*headers;
	/*
	 * Subprotocol to offer (default WSC_PROTOCOL). When one is offered
	 * the server must echo it or the connection fails. "" offers none.
	 */
	const char		*protocol;
	/* Bound on TCP connect plus handshake (default 5000 ms). */
	int			 timeout_ms;
	/* Bound on a send that cannot progress (default 30000; -1 none). */
	int			 send_timeout_ms;
	/* Largest message accepted (default 64 MiB); over it, close 1009. */
	uint64_t		 max_msg_len;
};

/*
 * A received message. data is NUL-terminated for convenience (len does
 * not count the NUL) and belongs to the caller: release it with
 * wsc_msg_free(). For WSC_CLOSE, code is the status code (1005 when the
 * frame carried none) and data the reason.
 */
struct wsc_msg {
	int		 opcode;
	char		*data;
	size_t		 len;
	uint16_t	 code;
};

struct wsc;

/*
 * Connect to host:port, send the upgrade for path (which may hold a
 * query) and check the 101 answer and its Sec-WebSocket-Accept.
 * Returns NULL on failure with a message in *cause, which the caller
 * frees. When the server answered but not with 101, *status (if status
 * is not NULL) holds the HTTP status and *cause reads "HTTP <status>:
 * <body>"; otherwise *status is 0.
 */
struct wsc	*wsc_connect2(const char *host, int port, const char *path,
		     const struct wsc_opts *opts, int *status, char **cause);
/* The same with only extra headers and a timeout. */
struct wsc	*wsc_connect(const char *host, int port, const char *path,
		     const char *const *headers, int timeout_ms, char **cause);
/*
 * The same from a URL: ws://host[:port][/path] as given, or the server's
 * base URL http://host[:port][/prefix], whose WebSocket endpoint is
 * <prefix>/v1/ws. IPv6 addresses go in brackets. wss:// and https:// are
 * refused (no TLS in this client).
 */
struct wsc	*wsc_connect_url(const char *url, const struct wsc_opts *opts,
		     int *status, char **cause);

/*
 * Send one text, binary or ping message and wait until it is written to
 * the socket. Text is not checked for UTF-8, so that tests can send bad
 * text. Return 0, or -1 if the connection failed or is closing.
 */
int		 wsc_send_text(struct wsc *, const char *buf, size_t len);
int		 wsc_send_binary(struct wsc *, const void *buf, size_t len);
int		 wsc_send_ping(struct wsc *, const void *buf, size_t len);
/*
 * Send a close frame with code (0: without a code) and wait until it is
 * written. Read the server's answer with wsc_recv(). Return 0 or -1.
 */
int		 wsc_send_close(struct wsc *, uint16_t code);
/*
 * Write bytes to the socket as they are, after anything already queued:
 * for protocol-violation tests (an unmasked frame, a bad opcode). The
 * connection's framing is the caller's problem afterwards. Return 0 or -1.
 */
int		 wsc_send_raw(struct wsc *, const void *bytes, size_t len);

/*
 * Wait up to timeout_ms (-1: forever, 0: only what is already there) for
 * the next complete text, binary or close message and move it to *out.
 * Return 1 with a message, 0 on timeout, -1 once the connection is
 * closed or failed and no message is left. After a WSC_CLOSE message
 * the next call returns -1.
 */
int		 wsc_recv(struct wsc *, int timeout_ms, struct wsc_msg *out);
/* Free a message's payload. */
void		 wsc_msg_free(struct wsc_msg *);

/*
 * Allow (1, the default) or forbid (0) reading while a send is blocked.
 * Slow-subscriber tests forbid it so that nothing drains the socket
 * behind their back.
 */
void		 wsc_set_reading(struct wsc *, int);
/* Return the socket, for poll(2) or setsockopt(2). */
int		 wsc_fd(struct wsc *);
/* Return the subprotocol the server chose, or NULL. */
const char	*wsc_protocol(struct wsc *);
/* Return the number of pongs received. */
unsigned long	 wsc_pongs(struct wsc *);
/* Return the close code the server sent, or 0 if none came yet. */
uint16_t	 wsc_close_code(struct wsc *);
/* Return a description of the last failure, or NULL. */
const char	*wsc_error(struct wsc *);

/*
 * Send a close frame 1000 if none was sent and the socket takes it at
 * once, close the socket and free everything.
 */
void		 wsc_close(struct wsc *);
/* Close the socket without a close frame and free everything. */
void		 wsc_drop(struct wsc *);

#endif /* WSC_H */
