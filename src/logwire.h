/*
 * logwire: declarations shared by the programs in src/ (logwired, logwire,
 * logwire-bench), one section per source file.
 */

#ifndef LOGWIRE_H
#define LOGWIRE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "storage.h"

#ifndef __dead
#define __dead __attribute__((__noreturn__))
#endif
#ifndef MIN
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#endif
#ifndef MAX
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#endif
#ifndef nitems
#define nitems(a) (sizeof (a) / sizeof (a)[0])
#endif

/* xmalloc.c */
void		*xmalloc(size_t);
void		*xcalloc(size_t, size_t);
void		*xrealloc(void *, size_t);
char		*xstrdup(const char *);
char		*xstrndup(const char *, size_t);
int		 xasprintf(char **, const char *, ...)
		     __attribute__((__format__(__printf__, 2, 3)));

/* log.c */
#define LOG_FATAL	0
#define LOG_ERROR	1
#define LOG_WARN	2
#define LOG_INFO	3
#define LOG_DEBUG	4
void		 log_init(const char *, int);
void		 log_msg(int, const char *, ...)
		     __attribute__((__format__(__printf__, 2, 3)));
__dead void	 fatal(const char *, ...)
		     __attribute__((__format__(__printf__, 1, 2)));
__dead void	 fatalx(const char *, ...)
		     __attribute__((__format__(__printf__, 1, 2)));
#define log_error(...)	log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_DEBUG, __VA_ARGS__)

/* ---- CLI (logwire): cmd-*.c sections below this line ---- */

/*
 * The logwire command line.  Each command is one struct cli_cmd, defined in
 * its cmd-*.c file and listed in the table in logwire.c.  logwire.c parses
 * the options (global and the command's own, before or after the command
 * word) into a struct cli_args and calls the command's exec function, which
 * returns an exit status.  To add a command: define its entry and exec
 * function in a cmd-*.c file, declare the entry here, and put it in the
 * table in place of its placeholder.  Options of the same name in two
 * commands must agree on whether they take a value (the command word is
 * found before it is known which command's options apply).
 */
#define CLI_EXIT_OK	0	/* success */
#define CLI_EXIT_ERROR	1	/* error reported by the server or the store */
#define CLI_EXIT_USAGE	2	/* bad usage */

/* Option values without a short letter (struct option val). */
#define CLI_OPT_HELP	'h'
#define CLI_OPT_URL	'u'
#define CLI_OPT_TOKEN	0x100
#define CLI_OPT_KEY	0x101
#define CLI_OPT_VERSION	0x102
#define CLI_OPT_FIRST	0x200	/* first value free for commands */

struct cli_cmd;
struct option;

/* Global options, given before or after the command. */
struct cli {
	const char	*url;		/* -u URL: the server's base URL */
	const char	*token;		/* --token T */
	const char	*key;		/* --key NAME:SECRET */
};

/* One option found on the command line, in the order given. */
struct cli_opt {
	int		 ch;		/* short letter or option val */
	const char	*value;		/* NULL for a flag */
};

/* The options and operands of one command. */
struct cli_args {
	const struct cli_cmd *cmd;
	struct cli_opt	*opts;
	size_t		 nopts;
	int		 argc;		/* operands after the options */
	char		**argv;
};

/* A command: its name, help, options and function. */
struct cli_cmd {
	const char	*name;
	const char	*usage;		/* what follows the name */
	const char	*summary;	/* one line for --help */
	const char	*help;		/* more lines of help, or NULL */
	const char	*shortopts;	/* getopt letters of its own options */
	const struct option *longopts;	/* ends with a zero entry, or NULL */
	int		 minargs;	/* operands: at least */
	int		 maxargs;	/* and at most (-1: no limit) */
	int		(*exec)(struct cli *, struct cli_args *);
					/* NULL: not built yet */
};

/* logwire.c */
const char	*cli_args_get(struct cli_args *, int);
int		 cli_args_has(struct cli_args *, int);
int		 cli_usage_error(struct cli_args *, const char *, ...)
		     __attribute__((__format__(__printf__, 2, 3)));
int		 cli_error(struct cli_args *, const char *, ...)
		     __attribute__((__format__(__printf__, 2, 3)));

/* cmd-store.c */
extern const struct cli_cmd cmd_restore_entry;
extern const struct cli_cmd cmd_snapshot_entry;
extern const struct cli_cmd cmd_verify_entry;

/* cmd-ws.c */
extern const struct cli_cmd cmd_tail_entry;
extern const struct cli_cmd cmd_publish_entry;

/* cmd-rest.c */
extern const struct cli_cmd cmd_history_entry;
extern const struct cli_cmd cmd_channels_entry;
extern const struct cli_cmd cmd_export_entry;
int		 cmd_rest_snapshot(struct cli *, struct cli_args *,
		     const char *);
int		 cmd_rest_auth(struct cli *, char **);

/* cmd-token.c */
extern const struct cli_cmd cmd_token_entry;

/* ---- end of CLI sections ---- */

/* ---- server (logwired) sections below this line ---- */

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

/* Append a string literal to an evbuffer. */
#define evbuffer_add_lit(b, s)	evbuffer_add((b), (s), sizeof (s) - 1)

/* jstr.c */
void		 jstr_escape(struct evbuffer *, const char *, size_t);
void		 jstr_ref(struct evbuffer *, const char *, const char *);

/*
 * jbuf.c: JSON text in a growable array with JBUF_HEAD bytes kept free in
 * front for a frame header.  A zeroed struct jbuf is an empty buffer.
 */
#define JBUF_HEAD	10
struct jbuf {
	char	*p;
	size_t	 len;		/* bytes in use from p, header room included */
	size_t	 size;
};
void		 jbuf_reset(struct jbuf *);
void		 jbuf_free(struct jbuf *);
void		 jbuf_add(struct jbuf *, const void *, size_t);
void		 jbuf_u64(struct jbuf *, uint64_t);
void		 jbuf_escape(struct jbuf *, const char *, size_t);
void		 jbuf_ref(struct jbuf *, const char *);
const char	*jbuf_text(const struct jbuf *, size_t *);
#define jbuf_lit(b, s)	jbuf_add((b), (s), sizeof (s) - 1)

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
int		 http_req_feed(struct http_req *, struct evbuffer *);
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
const char	*http_reason(int);
void		 http_respond(struct evbuffer *, int, const char *, const char *,
		     const void *, size_t, int, int);
void		 http_respond_error(struct evbuffer *, int, int, const char *,
		     const char *, int);

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
	size_t		  max_output_bytes;	/* slow-subscriber watermark */
	size_t		  max_inflight;		/* unacked publishes per conn */
	size_t		  max_head_bytes;
	size_t		  max_body_bytes;
	char		**cors;			/* allowed browser origins */
	size_t		  ncors;
	unsigned int	  header_timeout_ms;
	unsigned int	  ping_interval_ms;
	unsigned int	  ping_timeout_ms;
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
 *        CONN_HTTP_HEAD, CONN_HTTP_BUSY -> CONN_HTTP_FLUSH (no keep-alive)
 *        CONN_HTTP_HEAD -> CONN_WS_OPEN -> CONN_WS_CLOSING -> CONN_CLOSED
 *        any -> CONN_CLOSED
 */
enum conn_state {
	CONN_HTTP_HEAD,		/* reading a request */
	CONN_HTTP_BUSY,		/* a REST reply is pending (commit, stream) */
	CONN_HTTP_FLUSH,	/* last reply queued, close when written */
	CONN_WS_OPEN,		/* WebSocket frames both ways */
	CONN_WS_CLOSING,	/* close frame sent or received */
	CONN_CLOSED		/* waiting for in-flight work to let go */
};

struct conn {
	uint64_t		 id;
	enum conn_state		 state;
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
	TAILQ_ENTRY(conn)	 flush_entry;
	TAILQ_ENTRY(conn)	 entry;
};

/* conn.c */
void		 conn_accept(int, const struct sockaddr *, int);
void		 conn_release(struct conn *);
void		 conn_close(struct conn *);
void		 conn_ws_close(struct conn *, uint16_t, const char *);
void		 conn_schedule_pump(struct conn *);
int		 conn_over_watermark(struct conn *);
struct evbuffer	*conn_output(struct conn *);
void		 conn_send(struct conn *, const void *, size_t);
void		 conn_close_all(uint16_t);
void		 conn_read_all(void);
void		 conn_pong(struct conn *);
void		 conn_inflight(struct conn *, int);
void		 conn_http_done(struct conn *, int);
void		 conn_set_flush(struct conn *);
size_t		 conn_count(void);
void		 conn_shutdown(void);

/* ws.c */
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
};
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
void		 proto_message(struct conn *, const char *, size_t);
void		 proto_error(struct conn *, const char *, int, const char *, ...)
		     __attribute__((__format__(__printf__, 4, 5)));
void		 proto_send(struct conn *, struct evbuffer *);
void		 proto_committed(struct wreq *);
void		 proto_subscribe_finish(struct sub *, struct channel *);
struct wreq	*proto_publish_wreq(const char *, size_t,
		     const struct pubmsg *, const char **);

/* rest.c */
struct rest_job;
int		 rest_request(struct conn *);
const char	*rest_cors_origin(const char *);
void		 rest_cors_headers(struct evbuffer *, const char *);
int		 rest_committed(struct wreq *);
void		 rest_stream(struct conn *);
void		 rest_conn_closed(struct conn *);
void		 rest_shutdown(void);
void		 rest_item(struct evbuffer *, const char *, size_t,
		     const struct store_rec *);

/* duration.c */
int		 duration_parse(const char *, uint64_t *);

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
 * commit, the writer thread only in between.
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
	void			*arg;	/* the pending subscribe or REST job */
	size_t			 group;	/* requests committed together from here */
	uint64_t		 queued_ns;
	TAILQ_ENTRY(wreq)	 entry;
	char			 strings[];	/* a publish's, after the struct */
};
TAILQ_HEAD(wreq_list, wreq);

/* writer.c */
int		 writer_start(struct store *, const struct config *);
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
void		 metrics_error(int);
void		 metrics_write(struct evbuffer *);

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
	uint64_t		 started_ms;
	struct server_stats	 stats;
};
extern struct server	 server;
int		 server_run(struct config *);
void		 server_committed(struct wreq_list *);
uint64_t	 server_now_ms(void);
uint64_t	 server_mono_ns(void);

int		 server_check_listen(const struct config *, char **);

/* logwired.c */
void		 config_default(struct config *);

#endif /* LOGWIRE_H */
