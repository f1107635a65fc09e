/*
 * What only the REST files share: the parsed request, the pending job and
 * the helpers of rest.c.  The rest of the daemon sees rest_request,
 * rest_stream, rest_conn_closed, rest_shutdown and the CORS helpers
 * (logwired.h), and a struct rest_job it cannot look into.
 *
 * The files, by what a request does:
 *   rest.c           routing, the request, parameters, CORS, error replies,
 *                    the life of a job
 *   rest-read.c      channel list, one channel, history, one message,
 *                    /healthz, /metrics: answered at once
 *   rest-publish.c   POST, answered once the writer commits
 *   rest-export.c    the NDJSON export, streamed as the socket drains
 *   rest-snapshot.c  the snapshot, copied by a thread, then sent
 */

#ifndef REST_INT_H
#define REST_INT_H

#include <pthread.h>

#include <zstd.h>

#include "logwired.h"

/* The parsed request, valid during rest_request. */
struct rest_req {
	struct conn	*conn;
	struct evbuffer	*out;
	int		 keepalive;
	int		 head;		/* HEAD: no body */
	int		 method;	/* http-parser's enum http_method */
	char		**seg;		/* decoded path segments */
	size_t		 nseg;
	size_t		*seglen;
	char		*query;		/* raw, after the '?' */
	const char	*cors;		/* allowed origin to echo, or NULL */
};

/*
 * A response that outlives its request (the handler returned 1).  What
 * ends it depends on its kind, and so does what happens when the
 * connection closes first: a publish or a snapshot has work in another
 * thread that will come back, so its job is marked an orphan and freed
 * then; an export only reads when the socket drains, so it is freed at
 * once (rest_kinds in rest.c).
 */
enum rest_job_kind {
	REST_JOB_PUBLISH,	/* waits for the writer to commit */
	REST_JOB_EXPORT,	/* streams as the socket drains */
	REST_JOB_SNAPSHOT	/* waits for the copy thread */
};

struct rest_job {
	enum rest_job_kind	 kind;
	struct conn		*conn;
	int			 keepalive;
	int			 orphan;	/* the connection closed */
	const char		*cors;		/* allowed origin, or NULL */

	union {
		/* The publishes of one POST, answered together. */
		struct {
			struct wreq	**w;
			size_t		  n, done;
			char		 *channel;
			size_t		  channel_len;
		} pub;

		/* A cursor over the log and an optional zstd stream. */
		struct {
			uint64_t	  chan_id;
			char		 *name;
			size_t		  name_len;
			uint64_t	  next, last;
			ZSTD_CCtx	 *zc;
			struct evbuffer	 *scratch;
		} exp;

		/* The copy's thread and file. */
		struct {
			TAILQ_ENTRY(rest_job) entry;
			pthread_t	  thread;
			int		  fd;
			int		  rc;
			char		 *cause;
			struct event	 *ev;
		} snap;
	};
};

/* rest.c */
void		 rest_json(struct rest_req *, int, struct evbuffer *,
		     const char *);
void		 rest_head(struct rest_req *, const char *, const char *);
void		 rest_error(struct rest_req *, enum err_code, const char *, ...)
		     __attribute__((__format__(__printf__, 3, 4)));
int		 rest_uint_param(struct rest_req *, const char *, uint64_t *);
int		 rest_chan(struct rest_req *, struct store_chan *);
int		 rest_range(struct rest_req *, const struct store_chan *,
		     uint64_t *, uint64_t *);
void		 rest_item(struct evbuffer *, const char *, size_t,
		     const struct store_rec *);
struct rest_job	*rest_job_new(struct rest_req *, enum rest_job_kind);
void		 rest_job_free(struct rest_job *);
void		 rest_next(struct conn *, int);

/*
 * A request handler, named in the routing table of rest.c: returns 0 when
 * its whole response is queued, 1 when a job on the connection ends it.
 */
typedef int	 rest_handler(struct rest_req *);

/* rest-read.c: answered at once. */
rest_handler	 rest_read_channels, rest_read_channel, rest_read_history,
		 rest_read_message, rest_read_healthz, rest_read_metrics;

/* rest-publish.c */
rest_handler	 rest_publish_post;
void		 rest_publish_free(struct rest_job *);

/* rest-export.c */
rest_handler	 rest_export_get;
void		 rest_export_stream(struct conn *);
void		 rest_export_free(struct rest_job *);

/* rest-snapshot.c */
rest_handler	 rest_snapshot_get;
void		 rest_snapshot_free(struct rest_job *);
void		 rest_snapshot_join_all(void);

#endif /* REST_INT_H */
