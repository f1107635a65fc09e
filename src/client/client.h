/*
 * client: what the client programs (logwire, logwire-bench) and the tests
 * share to talk to a logwired, one section per source file: URLs,
 * TCP connections whose every wait has a deadline, HTTP responses read
 * with http-parser, the client's side of the WebSocket upgrade, and the
 * two blocking clients built on them, httpc (HTTP/1.1) and wsc
 * (WebSocket).  Plain TCP only: https:// and wss:// are refused.
 *
 * Deadlines are instants of mono_ms() (common.h); -1 means none.
 * Functions that fail return -1 (or NULL) with a message in *cause, which
 * the caller frees.
 */

#ifndef CLIENT_H
#define CLIENT_H

#include <stddef.h>
#include <stdint.h>

/*
 * url.c: scheme://host[:port][/path][?query].  The scheme is any word
 * (lower-cased here); the port defaults to the scheme's (http and ws 80,
 * https and wss 443, nats 4222, else 0).  An IPv6 address goes in
 * brackets, which host does not keep.  The caller checks the scheme.
 */
#define URL_HOST_MAX	255
struct url {
	char	*scheme;
	char	*host;
	int	 port;
	char	*path;		/* from the first '/' or '?', or "/" */
	char	*prefix;	/* path without query and trailing '/' */
};
int		 url_parse(const char *, struct url *, char **);
void		 url_free(struct url *);
char		*url_hostport(const char *, int);

/*
 * net.c: TCP for blocking clients on non-blocking sockets, so that every
 * wait is bounded.  net_connect() tries each address of host until
 * deadline and returns a connected non-blocking socket with TCP_NODELAY
 * (host may be an IPv6 address in brackets).  net_wait() returns poll's
 * revents, 0 at the deadline or -1.  net_write() writes everything (no
 * SIGPIPE) or returns -1 with errno set (ETIMEDOUT at the deadline).
 */
int64_t		 net_deadline(int);
int		 net_connect(const char *, int, int64_t, char **);
int		 net_wait(int, short, int64_t);
int		 net_write(int, const void *, size_t, int64_t);

/*
 * hresp.c: an HTTP/1.1 response read with http-parser: the status, every
 * header and the body (Content-Length, chunked or up to EOF).  With a
 * body callback, a 2xx body goes to it as it arrives (non-zero stops the
 * read); any other body is kept, up to body_max bytes.  head_only is for
 * the answer to HEAD, which has no body whatever its headers say.
 * hresp_feed() takes bytes as they come (len 0: the peer closed) and
 * returns HRESP_MORE, HRESP_DONE, or HRESP_ERROR (hresp_error() says why);
 * used, if not NULL, gets how many bytes it took (bytes after the end of
 * the response are not taken).  hresp_read() feeds it from fd until the
 * response is complete, waiting until deadline, and at most idle_ms (-1:
 * no bound) for each read.
 */
#define HRESP_MORE	0
#define HRESP_DONE	1
#define HRESP_ERROR	(-1)
struct hresp_header {
	char	*name;		/* as the server spelled it */
	char	*value;
};
typedef int	(*hresp_body_cb)(const char *, size_t, void *);
struct hresp;
struct hresp	*hresp_new(int, size_t, hresp_body_cb, void *);
void		 hresp_free(struct hresp *);
int		 hresp_feed(struct hresp *, const char *, size_t, size_t *);
int		 hresp_read(struct hresp *, int, int64_t, int, char **);
const char	*hresp_error(const struct hresp *);
int		 hresp_status(const struct hresp *);
const char	*hresp_header(const struct hresp *, const char *);
const struct hresp_header *hresp_headers(const struct hresp *, size_t *);
const char	*hresp_body(const struct hresp *, size_t *);
char		*hresp_take_body(struct hresp *, size_t *);

/*
 * upgrade.c: the client's side of the WebSocket opening handshake (RFC
 * 6455 4.1).  upgrade_request() returns the GET for path on host:port
 * with a Sec-WebSocket-Key (24 characters of base64), the subprotocol
 * offered ("" or NULL: none) and extra "Name: value" header lines
 * (NULL-terminated, may be NULL); the caller frees it.  upgrade_check()
 * checks a response head read into an hresp: 101, Upgrade, Connection,
 * Sec-WebSocket-Accept for key, and the subprotocol echoed exactly when
 * one was offered.
 */
#define UPGRADE_KEY_LEN	24
char		*upgrade_request(const char *, const char *, int,
		     const char *, const char *, const char *const *);
int		 upgrade_check(const struct hresp *, const char *,
		     const char *, char **);

/*
 * httpc.c: a blocking HTTP/1.1 client for a server's base URL,
 * http://host[:port][/prefix], one request per connection.
 * httpc_head() returns the head of such a request for a target (Host,
 * User-Agent, Connection: close, the extra lines, Content-Length when
 * there is a body), which the tests' harness sends too; the caller frees
 * it.
 */
#define HTTPC_KEEP_MAX	(1024 * 1024)	/* error bodies kept, bytes */

/* A server base URL: http://host[:port][/prefix]. */
struct httpc_url {
	char	host[URL_HOST_MAX + 1];
	int	port;
	char	prefix[512];	/* without a trailing slash */
};

/* A response.  body holds a non-2xx body (or a 2xx one without cb). */
struct httpc_resp {
	int	 status;
	char	*body;
	size_t	 body_len;
	char	*content_encoding;
	char	*content_type;
};

/* Called with each piece of a 2xx body; non-zero stops the transfer. */
typedef int	(*httpc_body_cb)(const char *, size_t, void *);

int		 httpc_parse_url(const char *, struct httpc_url *, char **);
char		*httpc_head(const char *, const char *, const char *, int,
		     const char *const *, const void *, size_t);
int		 httpc_request(const struct httpc_url *, const char *,
		     const char *, const char *const *, const void *, size_t,
		     int, struct httpc_resp *, httpc_body_cb, void *, char **);
void		 httpc_resp_free(struct httpc_resp *);
void		 httpc_pct_append(char **, const char *);

/*
 * wsc.c: a small blocking WebSocket client (RFC 6455) over TCP, built on
 * wslay's client context, for the logwire command line and the tests.
 *
 * One struct wsc is one connection. Nothing happens in the background:
 * the socket is only read inside wsc_recv() and, when a send would block,
 * inside the send functions (so that two peers writing at each other
 * cannot deadlock; see wsc_set_reading()). Pings are answered by wslay
 * while reading. A struct wsc is not thread safe.
 *
 * IPv4 and IPv6 hosts, numeric or resolved with getaddrinfo(3).
 */

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
 * once, close the socket and free everything.  NULL is no connection.
 */
void		 wsc_close(struct wsc *);
/* Close the socket without a close frame and free everything (or NULL). */
void		 wsc_drop(struct wsc *);

#endif /* CLIENT_H */
