/*
 * logwired: the daemon's face, one section per source file, in the order of
 * the layers from the bottom up (README.md, "Code map").
 */

#ifndef LOGWIRED_H
#define LOGWIRED_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "storage.h"


#include <sys/queue.h>
#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST(head);					\
	    (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1);	\
	    (var) = (tvar))
#endif

struct evbuffer;
struct sockaddr;
struct json_t;
typedef struct json_t json_t;
struct event_base;
struct bufferevent;

/*
 * err.c: the error codes of DESIGN.md, one name each.  The HTTP status of
 * a code is its first three digits (err_status).
 */
enum err_code {
	ERR_BAD_REQUEST = 40000,	/* malformed request */
	ERR_UNKNOWN_OP = 40001,
	ERR_BAD_CHANNEL = 40002,	/* bad channel name */
	ERR_BAD_POSITION = 40003,	/* from/rewind/since */
	ERR_UNAUTHENTICATED = 40100,	/* credentials missing or invalid */
	ERR_TOKEN_EXPIRED = 40101,
	ERR_FORBIDDEN = 40300,		/* not allowed by the capability */
	ERR_RESERVED = 40301,		/* reserved channel ($...) */
	ERR_NOT_FOUND = 40400,		/* unknown channel or message */
	ERR_NOT_SUBSCRIBED = 40401,
	ERR_METHOD = 40500,		/* HTTP method not allowed */
	ERR_CONFLICT = 40900,
	ERR_SUBSCRIBED = 40901,		/* already subscribed */
	ERR_TOO_LARGE = 41300,		/* over max_message_bytes */
	ERR_RATE = 42900,		/* publish rate exceeded */
	ERR_TOO_MANY_SUBS = 42901,
	ERR_INTERNAL = 50000,
	ERR_STOPPING = 50300,		/* server shutting down */
	ERR_STORAGE = 50301		/* storage full or failing */
};

/* The HTTP status that goes with an error code. */
static inline int
err_status(enum err_code code)
{
	return ((int)code / 100);
}
enum err_code	 err_store(int);
const char	*err_store_publish(int);

/* http.c */
#define HTTP_MAX_HEADERS	64
#define HTTP_REQ_MORE		0
#define HTTP_REQ_DONE		1
#define HTTP_REQ_ERROR		2
struct http_header {
	char	*name;		/* lower case */
	size_t	 name_len;
	char	*value;
	size_t	 value_len;
};
struct http_req;
struct http_req	*http_req_new(size_t, size_t);
void		 http_req_free(struct http_req *);
void		 http_req_reset(struct http_req *);
int		 http_req_feed(struct http_req *, struct evbuffer *,
		     struct evbuffer *);
int		 http_req_status(struct http_req *, const char **);
int		 http_req_in_head(struct http_req *);
int		 http_req_idle(struct http_req *);
const char	*http_req_method(struct http_req *);
int		 http_req_is(struct http_req *, int);
int		 http_req_method_id(struct http_req *);
const char	*http_req_url(struct http_req *);
const char	*http_req_body(struct http_req *, size_t *);
int		 http_req_keepalive(struct http_req *);
int		 http_req_upgrade(struct http_req *);
const char	*http_req_header(struct http_req *, const char *);
int		 http_token_has(const char *, const char *);
int		 http_split_url(const char *, char **, size_t *, char **);
int		 http_pct_decode(const char *, size_t, char **, size_t *);
void		 http_pct_encode(struct evbuffer *, const char *, size_t);
int		 http_query_param(const char *, const char *, char **);
const char	*http_reason(int);
void		 http_respond(struct evbuffer *, int, const char *, const char *,
		     const void *, size_t, int, int);
void		 http_respond_error(struct evbuffer *, enum err_code,
		     const char *, const char *, int);
void		 http_respond_error_status(struct evbuffer *, int, enum err_code,
		     const char *, const char *, int);

/* Server configuration: flags now, the configuration file later. */
struct config {
	char		**listen;	/* "ADDR:PORT" strings */
	size_t		  nlisten;
	char		 *datadir;
	enum store_sync	  sync;
	unsigned int	  sync_interval_ms;
	size_t		  max_message_bytes;
	size_t		  max_subscriptions;
	size_t		  max_connections;
	int		  max_connections_set;	/* given on the command line */
	size_t		  max_output_bytes;	/* slow-subscriber watermark */
	size_t		  max_inflight;		/* unacked publishes per conn */
	size_t		  max_head_bytes;
	size_t		  max_body_bytes;
	char		**cors;			/* allowed browser origins */
	size_t		  ncors;
	unsigned int	  header_timeout_ms;
	unsigned int	  ping_interval_ms;
	unsigned int	  ping_timeout_ms;
	unsigned int	  shutdown_timeout_ms;	/* for clients to read, at exit */
	uint64_t	  dedupe_window_ms;
	size_t		  batch_max;		/* messages per group commit */
	int		  insecure_open;
	int		  test_config;		/* -t: check and exit */
	int		  verbose;
};

/*
 * A committed message encoded once as a complete unmasked WebSocket text
 * frame.  Every live subscriber's output buffer holds a reference to the
 * same bytes (evbuffer_add_reference); the last one drained frees it.
 */
struct frame {
	unsigned int	 refs;
	size_t		 len;
	unsigned char	 data[];
};

/* frame.c */
struct frame	*frame_messages(const char *, size_t, const struct store_rec *,
		     size_t);
void		 frame_ref(struct frame *);
void		 frame_unref(struct frame *);
void		 frame_add(struct evbuffer *, struct frame *);
void		 frame_text(struct evbuffer *, const void *, size_t);
void		 frame_jbuf(struct evbuffer *, struct jbuf *);
const char	*frame_wrap(struct jbuf *, size_t *);
void		 frame_encode(struct jbuf *, int, const char *, size_t,
		     const struct store_rec *);

struct conn;
struct sub;

/* A channel the server has touched, with its live subscribers. */
struct channel {
	uint64_t		 id;
	char			*name;
	size_t			 name_len;
	char			 epoch[STORE_EPOCH_LEN + 1];
	uint64_t		 head;	/* last serial fanned out */
	TAILQ_HEAD(, sub)	 subs;
	size_t			 nsubs;
	struct channel		*hnext;	/* hash chain */
};

/* Where a subscription starts. */
enum pos_kind {
	POS_LIVE,		/* after the head */
	POS_FROM,		/* after serial n, if the epoch matches */
	POS_REWIND,		/* the last n messages */
	POS_REWIND_MS,		/* the last n milliseconds */
	POS_SINCE		/* from Unix time n (ms) */
};
struct sub_pos {
	enum pos_kind	kind;
	uint64_t	n;
	char		epoch[STORE_EPOCH_LEN + 1];
};

/* pos.c */
enum pos_resumed {
	POS_RESUMED_NONE,	/* not a resume: no "resumed" member */
	POS_RESUMED,		/* "resumed":true */
	POS_RESUMED_EPOCH,	/* false: the epoch differs */
	POS_RESUMED_SERIAL	/* false: the serial is beyond the head */
};
struct pos_start {
	uint64_t		next;		/* first serial to deliver */
	uint64_t		gap_from;	/* 0, or a retention gap */
	uint64_t		gap_to;
	enum pos_resumed	resumed;
};
int		 pos_time(const struct sub_pos *, uint64_t, uint64_t *);
void		 pos_start(const struct sub_pos *, const char *, uint64_t,
		     uint64_t, uint64_t, struct pos_start *);

/*
 * A subscription is a cursor over its channel's log: `next` is the next
 * serial this subscriber must get.  While live, committed messages arrive
 * by fan-out from memory; otherwise (replay, resume, rewind, or a slow
 * reader past the output watermark) the connection's pump reads them from
 * LMDB up to the channel's fanned-out head, then turns the cursor live.
 */
struct sub {
	struct conn		*conn;
	struct channel		*chan;	/* NULL while the channel is created */
	char			*name;
	size_t			 name_len;
	struct wreq		*wreq;	/* pending channel creation */
	struct sub_pos		 pos;	/* requested start */
	char			*ref;	/* ref of the pending subscribe */
	uint64_t		 next;
	int			 live;
	TAILQ_ENTRY(sub)	 chan_entry;
	TAILQ_ENTRY(sub)	 conn_entry;
};

/* channel.c */
void		 channel_init(void);
void		 channel_free_all(void);
struct channel	*channel_find(const char *, size_t);
struct channel	*channel_add(const struct store_chan *);
void		 channel_publish(struct channel *, const struct store_rec *,
		     size_t);
size_t		 channel_count(void);

/*
 * Connection states; conn_set_state() is the one place that moves between
 * them:  CONN_HTTP_HEAD -> CONN_HTTP_HEAD (after a REST reply)
 *        CONN_HTTP_HEAD -> CONN_HTTP_BUSY -> CONN_HTTP_HEAD (async reply)
 *        CONN_HTTP_HEAD, CONN_HTTP_BUSY -> CONN_FLUSH (no keep-alive)
 *        CONN_HTTP_HEAD -> CONN_WS_OPEN -> CONN_WS_CLOSING -> CONN_FLUSH
 *        CONN_FLUSH -> CONN_CLOSED
 *        any -> CONN_CLOSED
 * The transport (conn.c) runs CONN_FLUSH and the timeouts of the ending
 * states; everything else a state means is in the handlers the server
 * registers (server-conn.c), called through struct conn_ops.
 */
enum conn_state {
	CONN_HTTP_HEAD,		/* reading a request */
	CONN_HTTP_BUSY,		/* a REST reply is pending (commit, stream) */
	CONN_FLUSH,		/* last bytes queued: write, half-close, drain */
	CONN_WS_OPEN,		/* WebSocket frames both ways */
	CONN_WS_CLOSING,	/* close frame sent or received */
	CONN_CLOSED		/* waiting for in-flight work to let go */
};

/*
 * What the layer above does with a connection, registered once with
 * conn_set_ops: opened after accept; read when input arrived (or was left
 * waiting); drained when the output fell to its low watermark; timeout
 * when the state's timer fired in a reading state; pump when
 * conn_schedule_pump's turn came; closed just before the socket goes.
 */
struct conn_ops {
	void	(*opened)(struct conn *);
	void	(*read)(struct conn *);
	void	(*drained)(struct conn *);
	void	(*timeout)(struct conn *);
	void	(*pump)(struct conn *);
	void	(*closed)(struct conn *);
};

/*
 * A transport: how a connection's bytes reach its socket (conn.c says
 * why this is a seam).  open makes the bufferevent for an accepted
 * socket; flush writes the output buffer (or has the bufferevent write
 * it); send, if not NULL, writes bytes straight to the socket and returns
 * how many it took.
 */
struct conn_transport {
	const char		*name;
	struct bufferevent	*(*open)(struct event_base *, int, void *);
	void			 (*flush)(struct conn *, struct evbuffer *);
	size_t			 (*send)(struct conn *, const void *, size_t);
};

struct conn {
	uint64_t		 id;
	enum conn_state		 state;
	const struct conn_transport *transport;
	unsigned int		 refs;	/* the socket, in-flight publishes */
	struct bufferevent	*bev;
	struct http_req		*req;
	void			*ws;	/* wslay_event_context_ptr or NULL */
	uint64_t		 ws_frame_left;	/* of the frame wslay reads */
	int			 ws_msg_open;	/* a fragmented message */
	unsigned int		 ws_seen;	/* ws.c sweep count at last use */
	TAILQ_ENTRY(conn)	 ws_entry;	/* connections holding a context */
	struct evbuffer		*ws_asm;	/* a message read in pieces */
	const uint8_t		*ws_one;	/* a whole frame in one chunk */
	size_t			 ws_one_len;
	uint64_t		 ws_fpayload;	/* the frame being read */
	uint8_t			 ws_fop;
	uint8_t			 ws_ffin;
	uint8_t			 ws_mop;	/* opcode of its message */
	uint8_t			 ws_drop;	/* message refused: drop it */
	struct event		*timer;	/* header timeout, pings */
	struct event		*pump_ev;
	int			 pump_pending;
	int			 awaiting_pong;
	uint64_t		 ping_sent;
	TAILQ_HEAD(, sub)	 subs;
	size_t			 nsubs;
	size_t			 inflight;	/* publishes not yet acked */
	struct rest_job		*job;	/* pending REST reply */
	char			 peer[64];
	int			 flush_pending;	/* on the flush list */
	int			 shut_wr;	/* FIN sent (CONN_FLUSH) */
	int			 peer_eof;	/* FIN received (CONN_FLUSH) */
	uint64_t		 close_by_ns;	/* closing: give up then */
	uint64_t		 quiet_ns;	/* closing: last sign of life */
	TAILQ_ENTRY(conn)	 flush_entry;
	TAILQ_ENTRY(conn)	 entry;
};

/* conn.c */
extern const struct conn_transport conn_plain;
void		 conn_set_ops(const struct conn_ops *);
void		 conn_set_state(struct conn *, enum conn_state);
void		 conn_set_timer(struct conn *, unsigned int);
void		 conn_accept(int, const struct sockaddr *, int,
		     const struct conn_transport *, void *);
void		 conn_release(struct conn *);
void		 conn_close(struct conn *);
void		 conn_schedule_pump(struct conn *);
int		 conn_over_watermark(struct conn *);
struct evbuffer	*conn_output(struct conn *);
void		 conn_send(struct conn *, const void *, size_t);
void		 conn_foreach(void (*)(struct conn *, void *), void *);
void		 conn_read_all(void);
void		 conn_pong(struct conn *);
void		 conn_inflight(struct conn *, int);
void		 conn_http_done(struct conn *, int);
void		 conn_set_flush(struct conn *);
size_t		 conn_count(void);
void		 conn_shutdown(void);

/*
 * ws.c: WebSocket framing.  A whole message a client sent goes to the
 * handler the protocol layer registered: text says whether it came in a
 * text frame (a binary one is the protocol's to refuse).
 */
struct ws_handler {
	void	(*message)(struct conn *, int, const char *, size_t);
};
void		 ws_set_handler(const struct ws_handler *);
int		 ws_handshake(struct conn *, char **, int *);
int		 ws_start(struct conn *);
void		 ws_free(struct conn *);
int		 ws_read(struct conn *);
void		 ws_flush(struct conn *);
int		 ws_send_ping(struct conn *);
void		 ws_send_close(struct conn *, uint16_t, const char *);
int		 ws_done(struct conn *);
int		 ws_reading(struct conn *);
void		 ws_shutdown(void);

/* req.c: a logwire.v1 request read without a JSON tree. */
enum req_kind {
	REQ_ABSENT = 0,
	REQ_NULL,
	REQ_BOOL,
	REQ_NUMBER,
	REQ_STRING,
	REQ_OBJECT,
	REQ_ARRAY
};
struct req_val {
	enum req_kind	 kind;
	const char	*s;	/* string: decoded; number: its text */
	size_t		 len;
	const char	*raw;	/* the JSON text of the value */
	size_t		 raw_len;
};
struct req {
	struct req_val	 op, ref, channel, data, id, name, encoding;
	struct req_val	 from, rewind, since, token;
	struct req_val	 from_serial, from_epoch;	/* inside "from" */
	int		 not_object;
	int		 wide_int;	/* an integer beyond 64 bits signed */
	int		 channel_lossy;	/* "channel" held a lone surrogate */
};
/* Arrays and objects nested in one published message, itself included. */
#define REQ_DEPTH_MAX	64
int		 req_parse(struct req *, const char *, size_t, char **);
int		 req_uint(const struct req_val *, uint64_t *);

/*
 * A message to publish as a client gave it, whatever it was read with:
 * proto_publish_wreq checks it.  data is JSON text (NULL when absent);
 * str is data's decoded value when data is a string.  id, name and
 * encoding are NULL when absent or null; bad has PUBMSG_* bits for
 * members of the wrong type.
 */
#define PUBMSG_BAD_ID		0x1
#define PUBMSG_BAD_NAME		0x2
#define PUBMSG_BAD_ENCODING	0x4
struct pubmsg {
	const char	*data;
	size_t		 data_len;
	const char	*str;
	size_t		 str_len;
	const char	*id, *name, *encoding;
	size_t		 id_len, name_len, encoding_len;
	int		 bad;
};

/* proto.c */
extern const struct ws_handler proto_ws_handler;
void		 proto_error(struct conn *, const char *, enum err_code,
		     const char *, ...)
		     __attribute__((__format__(__printf__, 4, 5)));
void		 proto_send(struct conn *, struct evbuffer *);
void		 proto_subscribe_finish(struct sub *, struct channel *);
struct wreq	*proto_publish_wreq(const char *, size_t,
		     const struct pubmsg *, const char **);

/* rest.c: the REST API (the rest-*.c files share rest-int.h). */
struct rest_job;
int		 rest_request(struct conn *);
const char	*rest_cors_origin(const char *);
void		 rest_cors_headers(struct evbuffer *, const char *);
void		 rest_stream(struct conn *);
void		 rest_conn_closed(struct conn *);
void		 rest_shutdown(void);

/* sub.c */
struct sub	*sub_find(struct conn *, const char *, size_t);
struct sub	*sub_new(struct conn *, const char *, size_t);
void		 sub_attach(struct sub *, struct channel *, uint64_t);
void		 sub_free(struct sub *);
void		 sub_gap(struct sub *, uint64_t, uint64_t, const char *);
void		 sub_pump(struct conn *);

/*
 * A request to the storage thread: a message to append, or a channel to
 * create for a subscriber.  The event loop owns it before and after the
 * commit, the writer thread only in between.  Whoever submits a request
 * sets done: once the request is back in the event loop (and its batch
 * fanned out), the writer's owner calls done, which answers the client
 * and takes ownership of the request (frees it, or keeps it for later).
 * So the writer never needs to know who asked: WebSocket, REST, or the
 * SSE and presence handlers to come.
 */
enum wreq_type { WREQ_PUBLISH, WREQ_ENSURE };
struct wreq {
	enum wreq_type		 type;
	struct conn		*conn;	/* holds a reference; NULL for REST later */
	char			*ref;	/* JSON text of the request's ref */
	char			*buf;	/* owns what msg points into, or NULL */
	struct store_msg	 msg;
	int			 status;	/* 0 or STORE_E* for the batch */
	struct store_chan	 chan;	/* WREQ_ENSURE result */
	void			(*done)(struct wreq *);
	void			*arg;	/* the pending subscribe or REST job */
	size_t			 group;	/* requests committed together from here */
	uint64_t		 queued_ns;
	TAILQ_ENTRY(wreq)	 entry;
	char			 strings[];	/* a publish's, after the struct */
};
TAILQ_HEAD(wreq_list, wreq);

/* writer.c */
/*
 * What the writer's owner gives it: committed takes each batch back in the
 * event loop; observe (in the writer thread) hears each commit's duration
 * in seconds and size in messages.
 */
struct writer_hooks {
	void	(*committed)(struct wreq_list *);
	void	(*observe)(double, size_t);
};
int		 writer_start(struct event_base *, struct store *,
		     const struct config *, const struct writer_hooks *);
void		 writer_submit(struct wreq *);
void		 writer_stop(void);
size_t		 writer_pending(void);
void		 wreq_free(struct wreq *);

/* metrics.c */
struct metrics_hist {
	const double	*bounds;
	size_t		 n;
	uint64_t	 counts[16];
	double		 sum;
	uint64_t	 count;
};
void		 metrics_commit(double, size_t);
void		 metrics_error(enum err_code);
void		 metrics_write(struct evbuffer *);

/* server-conn.c */
extern const struct conn_ops server_conn_ops;
void		 server_conn_close_all(uint16_t);

/* server.c */
struct server_stats {
	uint64_t	connections_total;
	uint64_t	publishes;
	uint64_t	publish_errors;
	uint64_t	deliveries;
	uint64_t	committed_messages;
	uint64_t	subscriptions;
	uint64_t	sent_bytes;
};
#define SERVER_PRIORITIES	3	/* events default to 1; 2 runs last */
struct server {
	struct event_base	*base;
	struct store		*store;
	struct store_reader	*reader;
	struct config		*cfg;
	int			 stopping;
	int			 storage_state;	/* 0 ok, STORE_EFULL, STORE_EIO */
	uint64_t		 last_request_ns; /* while stopping */
	uint64_t		 stop_by_ns;	/* shutdown: close what is left */
	uint64_t		 started_ms;
	struct server_stats	 stats;
};
extern struct server	 server;
int		 server_run(struct config *);

int		 server_check_listen(const struct config *, char **);

/* logwired.c */
void		 config_default(struct config *);

#endif /* LOGWIRED_H */
