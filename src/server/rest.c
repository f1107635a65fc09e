/*
 * The REST API on the WebSocket's port: channel listing and metadata,
 * history pages, single messages, HTTP publish, NDJSON export, health,
 * metrics and snapshots.
 *
 * A request is answered at once (rest_request returns 0) or later (1):
 * a publish waits for its commit, an export streams in chunks as the
 * socket drains, a snapshot waits for its copy.  While a response is
 * pending the connection reads no further request, so pipelined requests
 * are answered in order.
 */

#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <http_parser.h>
#include <jansson.h>
#include <zstd.h>

#include "logwired.h"

#define REST_LIMIT_DEFAULT	100
#define REST_LIMIT_MAX		1000
#define REST_POST_MAX		1000	/* messages in one POST */
#define REST_EXPORT_CHUNK	1000	/* records per export step */

/* What a pending response needs once the request itself is gone. */
struct rest_job {
	struct conn	*conn;
	int		 keepalive;
	int		 orphan;	/* the connection closed */
	const char	*cors;		/* allowed origin to echo, or NULL */

	/* POST: the publishes of one request, answered together. */
	struct wreq	**w;
	size_t		  n, done;
	char		 *channel;
	size_t		  channel_len;

	/* Export: a cursor and an optional zstd stream. */
	uint64_t	  chan_id;
	char		 *name;
	size_t		  name_len;
	uint64_t	  next, last;
	ZSTD_CCtx	 *zc;
	struct evbuffer	 *scratch;

	/* Snapshot: the copy's thread and file. */
	TAILQ_ENTRY(rest_job) snap_entry;
	pthread_t	  thread;
	int		  fd;
	int		  snap_rc;
	char		 *snap_path;
	char		 *snap_cause;
	struct event	 *snap_ev;
};

/* The parsed request, valid during rest_request. */
struct rest_req {
	struct conn	*conn;
	struct evbuffer	*out;
	int		 keepalive;
	int		 head;		/* HEAD: no body */
	int		 method;
	char		**seg;		/* decoded path segments */
	size_t		 nseg;
	size_t		*seglen;
	char		*query;
	const char	*cors;
};

static void	rest_job_free(struct rest_job *);
static void	rest_next(struct conn *, int);
static void	rest_publish_done(struct wreq *);

/* Snapshot jobs whose thread runs: joined before the server exits. */
static TAILQ_HEAD(, rest_job) rest_snapshots =
    TAILQ_HEAD_INITIALIZER(rest_snapshots);

/* The extra headers for CORS, if the origin is allowed. */
void
rest_cors_headers(struct evbuffer *b, const char *origin)
{
	if (origin == NULL)
		return;
	evbuffer_add_printf(b, "Access-Control-Allow-Origin: %s\r\n"
	    "Vary: Origin\r\nAccess-Control-Expose-Headers: Link\r\n", origin);
}

/* Whether origin is in the configured CORS list; returns what to echo. */
const char *
rest_cors_origin(const char *origin)
{
	size_t	i;

	if (origin == NULL)
		return (NULL);
	for (i = 0; i < server.cfg->ncors; i++) {
		if (strcmp(server.cfg->cors[i], "*") == 0)
			return ("*");
		if (strcmp(server.cfg->cors[i], origin) == 0)
			return (server.cfg->cors[i]);	/* outlives the request */
	}
	return (NULL);
}

/* Send a JSON body with status and optional extra headers. */
static void
rest_json(struct rest_req *r, int status, struct evbuffer *body,
    const char *extra)
{
	struct evbuffer	*h;
	size_t		 len = evbuffer_get_length(body);

	h = evbuffer_new();
	rest_cors_headers(h, r->cors);
	if (extra != NULL)
		evbuffer_add(h, extra, strlen(extra));
	evbuffer_add_lit(h, "\0");
	http_respond(r->out, status, "application/json",
	    (const char *)evbuffer_pullup(h, -1),
	    evbuffer_pullup(body, (ssize_t)len), len, r->keepalive, r->head);
	evbuffer_free(h);
}

/* Send a JSON error. */
static void
rest_error(struct rest_req *r, enum err_code code, const char *fmt, ...)
{
	struct evbuffer	*h;
	va_list		 ap;
	char		*msg;

	metrics_error(code);
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		fatalx("out of memory");
	va_end(ap);
	h = evbuffer_new();
	rest_cors_headers(h, r->cors);
	if (code == ERR_METHOD)
		evbuffer_add_printf(h, "Allow: %s\r\n",
		    r->nseg >= 4 && strcmp(r->seg[3], "messages") == 0 &&
		    r->nseg == 4 ? "GET, HEAD, POST, OPTIONS" :
		    "GET, HEAD, OPTIONS");
	evbuffer_add_lit(h, "\0");
	http_respond_error(r->out, code, msg,
	    (const char *)evbuffer_pullup(h, -1), r->keepalive);
	evbuffer_free(h);
	free(msg);
}

/*
 * Get a numeric query parameter.  Returns 1 with *v set, 0 if absent, or
 * -1 after sending a 400.
 */
static int
rest_uint_param(struct rest_req *r, const char *name, uint64_t *v)
{
	char	*s, *end;
	int	 rc;

	if ((rc = http_query_param(r->query, name, &s)) == 0)
		return (0);
	if (rc < 0) {
		rest_error(r, ERR_BAD_REQUEST, "bad percent-encoding in %s", name);
		return (-1);
	}
	errno = 0;
	*v = strtoull(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0) {
		rest_error(r, ERR_BAD_REQUEST, "%s must be a non-negative integer, "
		    "not \"%s\"", name, s);
		free(s);
		return (-1);
	}
	free(s);
	return (1);
}

/* Append a channel object. */
static void
rest_channel_obj(struct evbuffer *b, const struct store_chan *sc)
{
	struct channel	*ch;

	ch = channel_find(sc->name, sc->name_len);
	evbuffer_add_lit(b, "{\"name\":");
	jstr_escape(b, sc->name, sc->name_len);
	evbuffer_add_printf(b, ",\"epoch\":\"%s\",\"first\":%llu,"
	    "\"head\":%llu,\"count\":%llu,\"bytes\":%llu,\"created\":%llu,"
	    "\"last_time\":%llu,\"subscribers\":%zu}", sc->epoch,
	    (unsigned long long)sc->first, (unsigned long long)sc->head,
	    (unsigned long long)sc->count, (unsigned long long)sc->bytes,
	    (unsigned long long)sc->created, (unsigned long long)sc->last_time,
	    ch != NULL ? ch->nsubs : 0);
}

/* Append one message item: the message op without its "op". */
void
rest_item(struct evbuffer *b, const char *name, size_t len,
    const struct store_rec *rec)
{
	static struct jbuf	 jb;
	const char		*text;
	size_t			 n;

	jbuf_reset(&jb);
	frame_encode(&jb, 0, name, len, rec);
	text = jbuf_text(&jb, &n);
	evbuffer_add(b, text, n);
}

/*
 * End a list page: "next" (the link, or null), then send it with a Link
 * header when there is a next page.  Frees link.
 */
static void
rest_list_end(struct rest_req *r, struct evbuffer *b, struct evbuffer *link)
{
	char	*hdr = NULL;

	evbuffer_add_lit(b, "],\"next\":");
	if (link != NULL) {
		evbuffer_add_lit(link, "\0");
		jstr_escape(b, (const char *)evbuffer_pullup(link, -1),
		    evbuffer_get_length(link) - 1);
		xasprintf(&hdr, "Link: <%s>; rel=\"next\"\r\n",
		    (const char *)evbuffer_pullup(link, -1));
		evbuffer_free(link);
	} else
		evbuffer_add_lit(b, "null");
	evbuffer_add_lit(b, "}\n");
	rest_json(r, 200, b, hdr);
	free(hdr);
}

struct rest_list_arg {
	struct evbuffer	*b;
	size_t		 n, limit;
	char		 last[STORE_NAME_MAX + 1];
	size_t		 last_len;
};

/* Add one channel to a list page. */
static int
rest_list_cb(const struct store_chan *sc, void *arg)
{
	struct rest_list_arg	*la = arg;

	if (la->n == la->limit) {
		la->n++;	/* one more exists: there is a next page */
		return (1);
	}
	if (la->n > 0)
		evbuffer_add_lit(la->b, ",");
	rest_channel_obj(la->b, sc);
	memcpy(la->last, sc->name, sc->name_len);
	la->last_len = sc->name_len;
	la->n++;
	return (0);
}

/* GET /v1/channels?prefix=&limit=&cursor= */
static void
rest_channels(struct rest_req *r)
{
	struct rest_list_arg	 la;
	struct evbuffer		*b, *link;
	uint64_t		 limit = REST_LIMIT_DEFAULT;
	char			*prefix = NULL, *cursor = NULL;
	int			 rc;

	if (rest_uint_param(r, "limit", &limit) < 0)
		return;
	if (limit == 0 || limit > REST_LIMIT_MAX) {
		rest_error(r, ERR_BAD_REQUEST, "limit must be 1 to %d",
		    REST_LIMIT_MAX);
		return;
	}
	if (http_query_param(r->query, "prefix", &prefix) < 0 ||
	    http_query_param(r->query, "cursor", &cursor) < 0) {
		rest_error(r, ERR_BAD_REQUEST, "bad percent-encoding in the query");
		goto out;
	}
	memset(&la, 0, sizeof la);
	la.b = b = evbuffer_new();
	la.limit = (size_t)limit;
	evbuffer_add_lit(b, "{\"items\":[");
	rc = store_chan_list(server.reader, prefix, prefix ? strlen(prefix) :
	    0, cursor, cursor ? strlen(cursor) : 0, (size_t)limit + 1,
	    rest_list_cb, &la);
	if (rc < 0) {
		rest_error(r, ERR_INTERNAL, "cannot list channels: %s",
		    store_strerror(rc));
		evbuffer_free(b);
		goto out;
	}
	link = NULL;
	if (la.n > la.limit) {
		link = evbuffer_new();
		evbuffer_add_printf(link, "/v1/channels?limit=%llu&cursor=",
		    (unsigned long long)limit);
		http_pct_encode(link, la.last, la.last_len);
		if (prefix != NULL) {
			evbuffer_add_lit(link, "&prefix=");
			http_pct_encode(link, prefix, strlen(prefix));
		}
	}
	rest_list_end(r, b, link);
	evbuffer_free(b);
out:
	free(prefix);
	free(cursor);
}

/* Look up the channel in the path; sends 404 and returns -1 if unknown. */
static int
rest_chan(struct rest_req *r, struct store_chan *sc)
{
	int	rc;

	rc = store_chan_get(server.reader, r->seg[2], r->seglen[2], sc);
	if (rc == STORE_ENOTFOUND) {
		rest_error(r, ERR_NOT_FOUND, "no channel %s", r->seg[2]);
		return (-1);
	}
	if (rc != 0) {
		rest_error(r, ERR_INTERNAL, "cannot read channel %s: %s",
		    r->seg[2], store_strerror(rc));
		return (-1);
	}
	return (0);
}

/* GET /v1/channels/{name} */
static void
rest_channel(struct rest_req *r)
{
	struct store_chan	 sc;
	struct evbuffer		*b;

	if (rest_chan(r, &sc) != 0)
		return;
	b = evbuffer_new();
	rest_channel_obj(b, &sc);
	evbuffer_add_lit(b, "\n");
	rest_json(r, 200, b, NULL);
	evbuffer_free(b);
}

/*
 * Resolve the serial range of a history or export request from from, to,
 * start and end (all inclusive) against the log's first and head.
 * Returns 0 with [*lo, *hi] (empty if *lo > *hi), or -1 after an error.
 */
static int
rest_range(struct rest_req *r, const struct store_chan *sc, uint64_t *lo,
    uint64_t *hi)
{
	uint64_t	from, to, start, end, s;
	int		hf, ht, hs, he;

	if ((hf = rest_uint_param(r, "from", &from)) < 0 ||
	    (ht = rest_uint_param(r, "to", &to)) < 0 ||
	    (hs = rest_uint_param(r, "start", &start)) < 0 ||
	    (he = rest_uint_param(r, "end", &end)) < 0)
		return (-1);
	*lo = sc->first;
	*hi = sc->head;
	if (hf && from > *lo)
		*lo = from;
	if (ht && to < *hi)
		*hi = to;
	if (hs) {
		if (store_find_time(server.reader, sc->id, start, &s) != 0)
			s = sc->head + 1;
		if (s > *lo)
			*lo = s;
	}
	if (he) {
		if (end == UINT64_MAX ||
		    store_find_time(server.reader, sc->id, end + 1, &s) != 0)
			s = sc->head + 1;
		if (s - 1 < *hi)
			*hi = s - 1;
	}
	return (0);
}

struct rest_hist_arg {
	struct evbuffer	*b;
	const char	*name;
	size_t		 name_len;
	size_t		 n, limit;
	uint64_t	 last;
	int		 more;
};

/* Add one message to a history page. */
static int
rest_hist_cb(const struct store_rec *rec, void *arg)
{
	struct rest_hist_arg	*ha = arg;

	if (ha->n == ha->limit) {
		ha->more = 1;
		return (1);
	}
	if (ha->n > 0)
		evbuffer_add_lit(ha->b, ",");
	rest_item(ha->b, ha->name, ha->name_len, rec);
	ha->last = rec->serial;
	ha->n++;
	return (0);
}

/*
 * GET /v1/channels/{name}/messages.  The next link pins both ends of the
 * range as serials, so following it is stable while publishers append:
 * every message in range comes exactly once.
 */
static void
rest_history(struct rest_req *r)
{
	struct rest_hist_arg	 ha;
	struct store_chan	 sc;
	struct evbuffer		*b, *link;
	uint64_t		 lo, hi, limit = REST_LIMIT_DEFAULT;
	char			*dir = NULL;
	int			 backward = 1, rc;

	if (rest_chan(r, &sc) != 0)
		return;
	if (rest_uint_param(r, "limit", &limit) < 0)
		return;
	if (limit == 0 || limit > REST_LIMIT_MAX) {
		rest_error(r, ERR_BAD_REQUEST, "limit must be 1 to %d",
		    REST_LIMIT_MAX);
		return;
	}
	if ((rc = http_query_param(r->query, "direction", &dir)) != 0) {
		if (rc < 0 || (strcmp(dir, "forward") != 0 &&
		    strcmp(dir, "backward") != 0)) {
			rest_error(r, ERR_BAD_REQUEST, "direction must be forward "
			    "or backward");
			free(dir);
			return;
		}
		backward = strcmp(dir, "backward") == 0;
		free(dir);
	}
	if (rest_range(r, &sc, &lo, &hi) != 0)
		return;

	memset(&ha, 0, sizeof ha);
	ha.b = b = evbuffer_new();
	ha.name = sc.name;
	ha.name_len = sc.name_len;
	ha.limit = (size_t)limit;
	evbuffer_add_lit(b, "{\"items\":[");
	if (lo <= hi) {
		rc = store_read(server.reader, sc.id, lo, hi, backward,
		    (size_t)limit + 1, 0, rest_hist_cb, &ha);
		if (rc < 0) {
			rest_error(r, ERR_INTERNAL, "cannot read %s: %s",
			    sc.name, store_strerror(rc));
			evbuffer_free(b);
			return;
		}
	}
	link = NULL;
	if (ha.more) {
		link = evbuffer_new();
		evbuffer_add_lit(link, "/v1/channels/");
		http_pct_encode(link, sc.name, sc.name_len);
		evbuffer_add_printf(link, "/messages?from=%llu&to=%llu&"
		    "limit=%llu&direction=%s",
		    (unsigned long long)(backward ? lo : ha.last + 1),
		    (unsigned long long)(backward ? ha.last - 1 : hi),
		    (unsigned long long)limit,
		    backward ? "backward" : "forward");
	}
	rest_list_end(r, b, link);
	evbuffer_free(b);
}

struct rest_one_arg {
	struct evbuffer	*b;
	const char	*name;
	size_t		 name_len;
};

/* Write the one message asked for. */
static int
rest_one_cb(const struct store_rec *rec, void *arg)
{
	struct rest_one_arg	*oa = arg;

	rest_item(oa->b, oa->name, oa->name_len, rec);
	return (0);
}

/* GET /v1/channels/{name}/messages/{serial} */
static void
rest_message(struct rest_req *r)
{
	struct rest_one_arg	 oa;
	struct store_chan	 sc;
	struct evbuffer		*b;
	uint64_t		 serial;
	char			*end;
	int			 rc;

	errno = 0;
	serial = strtoull(r->seg[4], &end, 10);
	if (r->seg[4][0] < '0' || r->seg[4][0] > '9' || *end != '\0' ||
	    errno != 0) {
		rest_error(r, ERR_BAD_REQUEST, "not a serial: %s", r->seg[4]);
		return;
	}
	if (rest_chan(r, &sc) != 0)
		return;
	b = evbuffer_new();
	oa.b = b;
	oa.name = sc.name;
	oa.name_len = sc.name_len;
	rc = store_get(server.reader, sc.id, serial, rest_one_cb, &oa);
	if (rc == STORE_ENOTFOUND)
		rest_error(r, ERR_NOT_FOUND, "no message %llu in %s (the log "
		    "holds %llu to %llu)", (unsigned long long)serial, sc.name,
		    (unsigned long long)sc.first, (unsigned long long)sc.head);
	else if (rc < 0)
		rest_error(r, ERR_INTERNAL, "cannot read %s: %s", sc.name,
		    store_strerror(rc));
	else {
		evbuffer_add_lit(b, "\n");
		rest_json(r, 200, b, NULL);
	}
	evbuffer_free(b);
}

/* Read a string member: NULL when absent or null, bad set if not a string. */
static const char *
rest_member(json_t *o, const char *key, size_t *len, int bit, int *bad)
{
	json_t	*v;

	*len = 0;
	if ((v = json_object_get(o, key)) == NULL || json_is_null(v))
		return (NULL);
	if (!json_is_string(v)) {
		*bad |= bit;
		return (NULL);
	}
	*len = json_string_length(v);
	return (json_string_value(v));
}

/*
 * Whether value j nests at most max arrays and objects, itself included
 * (REQ_DEPTH_MAX for a message, as over WebSocket).  jansson's own bound
 * (2048) keeps the recursion short.
 */
static int
rest_depth_ok(json_t *j, int max)
{
	json_t		*v;
	const char	*k;
	size_t		 i;

	if (!json_is_object(j) && !json_is_array(j))
		return (1);
	if (max == 0)
		return (0);
	if (json_is_array(j)) {
		json_array_foreach(j, i, v) {
			if (!rest_depth_ok(v, max - 1))
				return (0);
		}
	} else {
		json_object_foreach(j, k, v) {
			if (!rest_depth_ok(v, max - 1))
				return (0);
		}
	}
	return (1);
}

/*
 * Check one message object of a POST; returns a wreq, or NULL with *why
 * (400) or, when the message is too large, *why NULL (413).
 */
static struct wreq *
rest_post_one(struct rest_req *r, json_t *o, const char **why)
{
	static char	 deep[32];
	struct pubmsg	 m;
	struct wreq	*w;
	json_t		*data;
	char		*dtext = NULL;

	if (!json_is_object(o)) {
		*why = "each message is a JSON object";
		return (NULL);
	}
	if (!rest_depth_ok(o, REQ_DEPTH_MAX)) {
		snprintf(deep, sizeof deep, "nested deeper than %d",
		    REQ_DEPTH_MAX);
		*why = deep;
		return (NULL);
	}
	memset(&m, 0, sizeof m);
	if ((data = json_object_get(o, "data")) != NULL) {
		dtext = json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY);
		if (dtext == NULL)
			fatalx("json_dumps failed");
		m.data = dtext;
		m.data_len = strlen(dtext);
		if (json_is_string(data)) {
			m.str = json_string_value(data);
			m.str_len = json_string_length(data);
		}
	}
	m.id = rest_member(o, "id", &m.id_len, PUBMSG_BAD_ID, &m.bad);
	m.name = rest_member(o, "name", &m.name_len, PUBMSG_BAD_NAME, &m.bad);
	m.encoding = rest_member(o, "encoding", &m.encoding_len,
	    PUBMSG_BAD_ENCODING, &m.bad);
	w = proto_publish_wreq(r->seg[2], r->seglen[2], &m, why);
	free(dtext);
	if (w == NULL)
		return (NULL);
	if (w->msg.data_len + w->msg.id_len + w->msg.name_len >
	    server.cfg->max_message_bytes) {
		wreq_free(w);
		*why = NULL;
		return (NULL);
	}
	return (w);
}

/* POST /v1/channels/{name}/messages: one message or an array. */
static int
rest_post(struct rest_req *r)
{
	struct rest_job	*job;
	json_error_t	 err;
	json_t		*body, *o;
	const char	*text, *why;
	size_t		 len, n, i;

	if (r->seg[2][0] == '$') {
		rest_error(r, ERR_RESERVED, "channel %s is reserved", r->seg[2]);
		return (0);
	}
	if (server.stopping) {
		rest_error(r, ERR_STOPPING, "server is shutting down: nothing "
		    "was stored");
		return (0);
	}
	/*
	 * The language of a publish is jansson's (what every client reads
	 * back), as req.c holds a WebSocket publish to: \u0000 only in
	 * strings (an id or name is refused it later), and the depth bound
	 * checked per message.
	 */
	text = http_req_body(r->conn->req, &len);
	if ((body = json_loadb(text != NULL ? text : "", len, JSON_ALLOW_NUL,
	    &err)) == NULL) {
		rest_error(r, ERR_BAD_REQUEST, "malformed JSON: %s", err.text);
		return (0);
	}
	n = json_is_array(body) ? json_array_size(body) : 1;
	if (n == 0 || n > MIN(REST_POST_MAX, server.cfg->batch_max)) {
		rest_error(r, ERR_BAD_REQUEST, "a POST holds 1 to %zu messages",
		    MIN((size_t)REST_POST_MAX, server.cfg->batch_max));
		json_decref(body);
		return (0);
	}
	job = xcalloc(1, sizeof *job);
	job->w = xcalloc(n, sizeof *job->w);
	for (i = 0; i < n; i++) {
		o = json_is_array(body) ? json_array_get(body, i) : body;
		if ((job->w[i] = rest_post_one(r, o, &why)) == NULL) {
			if (why == NULL)
				rest_error(r, ERR_TOO_LARGE, "message %zu is over "
				    "the limit of %zu bytes", i,
				    server.cfg->max_message_bytes);
			else
				rest_error(r, ERR_BAD_REQUEST, "message %zu: %s", i,
				    why);
			job->n = i;	/* the ones made so far */
			rest_job_free(job);
			json_decref(body);
			return (0);
		}
	}
	json_decref(body);
	job->n = n;
	job->conn = r->conn;
	job->keepalive = r->keepalive;
	job->cors = r->cors;
	job->channel = xstrndup(r->seg[2], r->seglen[2]);
	job->channel_len = r->seglen[2];
	r->conn->job = job;
	/* The whole array is one group: the writer commits it in one go. */
	job->w[0]->group = n;
	for (i = 0; i < n; i++) {
		job->w[i]->conn = r->conn;
		job->w[i]->arg = job;
		job->w[i]->done = rest_publish_done;
		r->conn->refs++;
		server.stats.publishes++;
		writer_submit(job->w[i]);
	}
	return (1);
}

/* Answer a POST once all its publishes are back from the writer. */
static void
rest_post_done(struct rest_job *job)
{
	struct evbuffer	*b, *h;
	struct store_msg *m;
	struct wreq	*w;
	enum err_code	 code;
	const char	*id;
	size_t		 i, id_len;
	int		 status = 0;

	for (i = 0; i < job->n; i++) {
		if (job->w[i]->status != 0)
			status = job->w[i]->status;
	}
	b = evbuffer_new();
	h = evbuffer_new();
	rest_cors_headers(h, job->cors);
	evbuffer_add_lit(h, "\0");
	if (status != 0) {
		code = err_store(status) == ERR_STORAGE ? ERR_STORAGE :
		    ERR_INTERNAL;
		metrics_error(code);
		http_respond_error(conn_output(job->conn), code,
		    err_store_publish(status),
		    (const char *)evbuffer_pullup(h, -1), job->keepalive);
		goto out;
	}
	evbuffer_add_lit(b, "{\"channel\":");
	jstr_escape(b, job->channel, job->channel_len);
	evbuffer_add_printf(b, ",\"epoch\":\"%s\",\"items\":[",
	    job->w[0]->msg.epoch);
	for (i = 0; i < job->n; i++) {
		w = job->w[i];
		m = &w->msg;
		if (i > 0)
			evbuffer_add_lit(b, ",");
		evbuffer_add_printf(b, "{\"serial\":%llu,\"id\":",
		    (unsigned long long)m->serial);
		id = store_msg_id(m, &id_len);
		jstr_escape(b, id, id_len);
		evbuffer_add_printf(b, ",\"time\":%llu,\"duplicate\":%s}",
		    (unsigned long long)m->time, m->duplicate ? "true" :
		    "false");
	}
	evbuffer_add_printf(b, "],\"sync\":\"%s\"}\n",
	    store_sync_name(server.cfg->sync));
	http_respond(conn_output(job->conn), 201, "application/json",
	    (const char *)evbuffer_pullup(h, -1),
	    evbuffer_pullup(b, -1), evbuffer_get_length(b), job->keepalive,
	    0);
out:
	evbuffer_free(b);
	evbuffer_free(h);
}

/*
 * A publish of a POST came back (its done callback).  The request's wreqs
 * are freed with the job, once the last is back; the connection may have
 * closed meanwhile.
 */
static void
rest_publish_done(struct wreq *w)
{
	struct rest_job	*job = w->arg;
	struct conn	*c = w->conn;

	if (++job->done == job->n) {
		if (!job->orphan) {
			rest_post_done(job);
			c->job = NULL;
			rest_next(c, job->keepalive);
		}
		rest_job_free(job);
	}
	conn_release(c);
}

/* Write one HTTP chunk. */
static void
rest_chunk(struct evbuffer *out, const void *p, size_t len)
{
	if (len == 0)
		return;
	evbuffer_add_printf(out, "%zx\r\n", len);
	evbuffer_add(out, p, len);
	evbuffer_add_lit(out, "\r\n");
}

/* Compress (or not) and write what the scratch buffer holds. */
static int
rest_export_emit(struct rest_job *job, int last)
{
	struct evbuffer	*out = conn_output(job->conn);
	ZSTD_inBuffer	 in;
	ZSTD_outBuffer	 ob;
	char		 buf[65536];
	size_t		 len = evbuffer_get_length(job->scratch), rc;

	if (job->zc == NULL) {
		rest_chunk(out, evbuffer_pullup(job->scratch, (ssize_t)len),
		    len);
		evbuffer_drain(job->scratch, len);
		return (0);
	}
	in.src = evbuffer_pullup(job->scratch, (ssize_t)len);
	in.size = len;
	in.pos = 0;
	do {
		ob.dst = buf;
		ob.size = sizeof buf;
		ob.pos = 0;
		rc = ZSTD_compressStream2(job->zc, &ob, &in, last ?
		    ZSTD_e_end : ZSTD_e_continue);
		if (ZSTD_isError(rc)) {
			log_error("export: zstd: %s", ZSTD_getErrorName(rc));
			return (-1);
		}
		rest_chunk(out, buf, ob.pos);
	} while (last ? rc != 0 : in.pos < in.size);
	evbuffer_drain(job->scratch, len);
	return (0);
}

/* Add one record to the export. */
static int
rest_export_cb(const struct store_rec *rec, void *arg)
{
	struct rest_job	*job = arg;

	rest_item(job->scratch, job->name, job->name_len, rec);
	evbuffer_add_lit(job->scratch, "\n");
	job->next = rec->serial + 1;
	return (0);
}

/*
 * Move an export forward while the output is under the watermark; called
 * again by the connection's write callback.  The last chunk ends the
 * response and frees the connection for its next request.
 */
void
rest_stream(struct conn *c)
{
	struct rest_job	*job = c->job;
	int		 rc, last;

	if (job == NULL || job->scratch == NULL)
		return;
	while (!conn_over_watermark(c)) {
		rc = 0;
		if (job->next <= job->last) {
			rc = store_read(server.reader, job->chan_id, job->next,
			    job->last, 0, REST_EXPORT_CHUNK, 1024 * 1024,
			    rest_export_cb, job);
			if (rc == 0)
				job->next = job->last + 1;
		}
		last = rc < 0 || job->next > job->last;
		if (rc < 0)
			log_error("export of %s stopped at %llu: %s",
			    job->name, (unsigned long long)job->next,
			    store_strerror(rc));
		if (rest_export_emit(job, last) != 0 || rc < 0) {
			/* Cut the response short: the client sees no end. */
			c->job = NULL;
			rest_job_free(job);
			conn_set_flush(c);
			return;
		}
		if (last) {
			evbuffer_add_lit(conn_output(c), "0\r\n\r\n");
			c->job = NULL;
			rest_next(c, job->keepalive);
			rest_job_free(job);
			return;
		}
	}
}

/* GET /v1/channels/{name}/export */
static int
rest_export(struct rest_req *r)
{
	struct store_chan	 sc;
	struct rest_job		*job;
	struct evbuffer		*h;
	uint64_t		 lo, hi;
	const char		*ae;
	int			 zstd;

	if (rest_chan(r, &sc) != 0)
		return (0);
	if (rest_range(r, &sc, &lo, &hi) != 0)
		return (0);
	ae = http_req_header(r->conn->req, "accept-encoding");
	zstd = http_token_has(ae, "zstd");
	h = evbuffer_new();
	evbuffer_add_printf(h, "HTTP/1.1 200 OK\r\nServer: logwire/%s\r\n"
	    "Content-Type: application/x-ndjson\r\n", PACKAGE_VERSION);
	if (zstd)
		evbuffer_add_lit(h, "Content-Encoding: zstd\r\n");
	rest_cors_headers(h, r->cors);
	if (!r->keepalive)
		evbuffer_add_lit(h, "Connection: close\r\n");
	if (r->head) {
		evbuffer_add_lit(h, "Transfer-Encoding: chunked\r\n\r\n");
		evbuffer_add_buffer(r->out, h);
		evbuffer_free(h);
		return (0);
	}
	evbuffer_add_lit(h, "Transfer-Encoding: chunked\r\n\r\n");
	evbuffer_add_buffer(r->out, h);
	evbuffer_free(h);

	job = xcalloc(1, sizeof *job);
	job->conn = r->conn;
	job->keepalive = r->keepalive;
	job->chan_id = sc.id;
	job->name = xstrndup(sc.name, sc.name_len);
	job->name_len = sc.name_len;
	job->next = lo;
	job->last = hi;
	job->scratch = evbuffer_new();
	if (zstd) {
		if ((job->zc = ZSTD_createCCtx()) == NULL)
			fatalx("ZSTD_createCCtx failed");
		ZSTD_CCtx_setParameter(job->zc, ZSTD_c_compressionLevel, 3);
		ZSTD_CCtx_setParameter(job->zc, ZSTD_c_checksumFlag, 1);
	}
	r->conn->job = job;
	rest_stream(r->conn);
	return (r->conn->job != NULL);
}

/* The snapshot thread: copy the store into the job's file. */
static void *
rest_snapshot_main(void *arg)
{
	struct rest_job	*job = arg;
	uint64_t	 bytes;

	job->snap_rc = store_snapshot(server.store, job->fd, &bytes,
	    &job->snap_cause);
	event_active(job->snap_ev, EV_TIMEOUT, 0);
	return (NULL);
}

/* The snapshot is written: send the file (event loop). */
static void
rest_snapshot_done(evutil_socket_t fd, short what, void *arg)
{
	struct rest_job	*job = arg;
	struct conn	*c = job->conn;
	struct evbuffer	*out, *h;
	struct stat	 st;

	pthread_join(job->thread, NULL);
	TAILQ_REMOVE(&rest_snapshots, job, snap_entry);
	if (job->orphan) {
		rest_job_free(job);
		return;
	}
	out = conn_output(c);
	c->job = NULL;
	h = evbuffer_new();
	rest_cors_headers(h, job->cors);
	evbuffer_add_lit(h, "\0");
	if (job->snap_rc != 0 || fstat(job->fd, &st) != 0) {
		metrics_error(ERR_INTERNAL);
		http_respond_error(out, ERR_INTERNAL, job->snap_cause != NULL ?
		    job->snap_cause : store_strerror(job->snap_rc),
		    (const char *)evbuffer_pullup(h, -1), job->keepalive);
	} else {
		evbuffer_add_printf(out, "HTTP/1.1 200 OK\r\nServer: "
		    "logwire/%s\r\nContent-Type: application/octet-stream\r\n"
		    "Content-Disposition: attachment; filename=\"logwire."
		    "snapshot\"\r\nContent-Length: %lld\r\n%s%s\r\n",
		    PACKAGE_VERSION, (long long)st.st_size, job->keepalive ?
		    "" : "Connection: close\r\n",
		    (const char *)evbuffer_pullup(h, -1));
		if (st.st_size > 0) {
			/* The buffer now owns the descriptor. */
			evbuffer_add_file(out, job->fd, 0, st.st_size);
			job->fd = -1;
		}
	}
	evbuffer_free(h);
	rest_next(c, job->keepalive);
	rest_job_free(job);
}

/* GET /v1/snapshot: a consistent copy, written to a file then sent. */
static int
rest_snapshot(struct rest_req *r)
{
	struct rest_job	*job;
	struct evbuffer	*h;
	char		*path;

	if (r->head) {
		/* The size is known only once the copy is made. */
		h = evbuffer_new();
		evbuffer_add_printf(h, "HTTP/1.1 200 OK\r\nServer: logwire/%s"
		    "\r\nContent-Type: application/octet-stream\r\n",
		    PACKAGE_VERSION);
		rest_cors_headers(h, r->cors);
		if (!r->keepalive)
			evbuffer_add_lit(h, "Connection: close\r\n");
		evbuffer_add_lit(h, "\r\n");
		evbuffer_add_buffer(r->out, h);
		evbuffer_free(h);
		return (0);
	}

	xasprintf(&path, "%s/.snapshot-XXXXXX", server.cfg->datadir);
	job = xcalloc(1, sizeof *job);
	if ((job->fd = mkstemp(path)) == -1) {
		rest_error(r, ERR_INTERNAL, "cannot create a snapshot file: %s",
		    strerror(errno));
		free(path);
		free(job);
		return (0);
	}
	unlink(path);	/* The open descriptor keeps it until sent. */
	free(path);
	job->conn = r->conn;
	job->keepalive = r->keepalive;
	job->cors = r->cors;
	job->snap_ev = event_new(server.base, -1, 0, rest_snapshot_done, job);
	r->conn->job = job;
	if (pthread_create(&job->thread, NULL, rest_snapshot_main, job) != 0)
		fatalx("cannot start the snapshot thread");
	TAILQ_INSERT_TAIL(&rest_snapshots, job, snap_entry);
	return (1);
}

/* GET /healthz */
static void
rest_healthz(struct rest_req *r)
{
	struct evbuffer	*b;

	b = evbuffer_new();
	evbuffer_add_printf(b, "{\"status\":\"%s\",\"storage\":\"%s\","
	    "\"version\":\"%s\",\"uptime_s\":%llu}\n",
	    server.stopping ? "stopping" : "ok",
	    server.storage_state == 0 ? "ok" :
	    server.storage_state == STORE_EFULL ? "full" : "failing",
	    PACKAGE_VERSION, (unsigned long long)(store_now_ms() -
	    server.started_ms) / 1000);
	rest_json(r, server.stopping ? 503 : 200, b,
	    "Cache-Control: no-store\r\n");
	evbuffer_free(b);
}

/* GET /metrics */
static void
rest_metrics(struct rest_req *r)
{
	struct evbuffer	*b;
	size_t		 len;

	b = evbuffer_new();
	metrics_write(b);
	len = evbuffer_get_length(b);
	http_respond(r->out, 200, "text/plain; version=0.0.4", NULL,
	    evbuffer_pullup(b, (ssize_t)len), len, r->keepalive, r->head);
	evbuffer_free(b);
}

/* OPTIONS: a CORS preflight. */
static void
rest_options(struct rest_req *r)
{
	struct evbuffer	*h;

	h = evbuffer_new();
	rest_cors_headers(h, r->cors);
	evbuffer_add_lit(h, "Allow: GET, HEAD, POST, OPTIONS\r\n"
	    "Access-Control-Allow-Methods: GET, HEAD, POST, OPTIONS\r\n"
	    "Access-Control-Allow-Headers: Authorization, Content-Type\r\n"
	    "Access-Control-Max-Age: 600\r\n");
	evbuffer_add_lit(h, "\0");
	http_respond(r->out, 204, NULL, (const char *)evbuffer_pullup(h, -1),
	    NULL, 0, r->keepalive, 1);
	evbuffer_free(h);
}

/*
 * OPTIONS * asks about the server, not a resource: 204 with the methods
 * some path takes.
 */
static void
rest_options_server(struct rest_req *r)
{
	http_respond(r->out, 204, NULL, "Allow: GET, HEAD, POST, OPTIONS\r\n",
	    NULL, 0, r->keepalive, 1);
}

/*
 * Split the raw path at '/' and percent-decode each segment, so that a
 * channel name may hold an encoded slash.  Returns -1 on bad encoding.
 */
static int
rest_split(struct rest_req *r, const char *url)
{
	const char	*p, *q, *end;
	size_t		 len;

	end = url + strcspn(url, "?");
	r->query = xstrdup(*end == '?' ? end + 1 : "");
	if (*url != '/')
		return (-1);
	for (p = url + 1; p <= end; p = q + 1) {
		q = memchr(p, '/', (size_t)(end - p));
		if (q == NULL)
			q = end;
		r->seg = xrealloc(r->seg, (r->nseg + 1) * sizeof *r->seg);
		r->seglen = xrealloc(r->seglen, (r->nseg + 1) *
		    sizeof *r->seglen);
		if (http_pct_decode(p, (size_t)(q - p), &r->seg[r->nseg],
		    &len) != 0)
			return (-1);
		r->seglen[r->nseg++] = len;
		if (q == end)
			break;
	}
	return (0);
}

/* Free what rest_split made. */
static void
rest_req_clear(struct rest_req *r)
{
	size_t	i;

	for (i = 0; i < r->nseg; i++)
		free(r->seg[i]);
	free(r->seg);
	free(r->seglen);
	free(r->query);
}

/* Whether the method is allowed; sends 405 if not. */
static int
rest_method(struct rest_req *r, int post_ok)
{
	if (r->method == HTTP_GET || r->method == HTTP_HEAD ||
	    (post_ok && r->method == HTTP_POST))
		return (1);
	rest_error(r, ERR_METHOD, "method %s not allowed here",
	    http_method_str(r->method));
	return (0);
}

/*
 * Route one request.  Returns 0 when the whole response is queued, 1 when
 * it comes later (the connection calls back with rest_next).
 */
int
rest_request(struct conn *c)
{
	struct rest_req	 r;
	int		 later = 0;

	memset(&r, 0, sizeof r);
	r.conn = c;
	r.out = conn_output(c);
	r.keepalive = http_req_keepalive(c->req);
	r.method = http_req_method_id(c->req);
	r.head = r.method == HTTP_HEAD;
	r.cors = rest_cors_origin(http_req_header(c->req, "origin"));

	/* http.c lets the target "*" through for OPTIONS only. */
	if (strcmp(http_req_url(c->req), "*") == 0) {
		rest_options_server(&r);
		goto out;
	}
	if (rest_split(&r, http_req_url(c->req)) != 0) {
		rest_error(&r, ERR_BAD_REQUEST, "bad percent-encoding in the "
		    "request target");
		goto out;
	}
	if (r.method == HTTP_OPTIONS) {
		rest_options(&r);
		goto out;
	}
	if (r.nseg == 1 && strcmp(r.seg[0], "healthz") == 0) {
		if (rest_method(&r, 0))
			rest_healthz(&r);
	} else if (r.nseg == 1 && strcmp(r.seg[0], "metrics") == 0) {
		if (rest_method(&r, 0))
			rest_metrics(&r);
	} else if (r.nseg == 2 && strcmp(r.seg[0], "v1") == 0 &&
	    strcmp(r.seg[1], "snapshot") == 0) {
		if (rest_method(&r, 0))
			later = rest_snapshot(&r);
	} else if (r.nseg == 2 && strcmp(r.seg[0], "v1") == 0 &&
	    strcmp(r.seg[1], "channels") == 0) {
		if (rest_method(&r, 0))
			rest_channels(&r);
	} else if (r.nseg >= 3 && strcmp(r.seg[0], "v1") == 0 &&
	    strcmp(r.seg[1], "channels") == 0) {
		if (!store_name_valid(r.seg[2], r.seglen[2])) {
			rest_error(&r, ERR_BAD_CHANNEL, "bad channel name");
			goto out;
		}
		if (r.nseg == 3) {
			if (rest_method(&r, 0))
				rest_channel(&r);
		} else if (r.nseg == 4 && strcmp(r.seg[3], "messages") == 0) {
			if (!rest_method(&r, 1))
				goto out;
			if (r.method == HTTP_POST)
				later = rest_post(&r);
			else
				rest_history(&r);
		} else if (r.nseg == 5 && strcmp(r.seg[3], "messages") == 0) {
			if (rest_method(&r, 0))
				rest_message(&r);
		} else if (r.nseg == 4 && strcmp(r.seg[3], "export") == 0) {
			if (rest_method(&r, 0))
				later = rest_export(&r);
		} else
			rest_error(&r, ERR_NOT_FOUND, "no such path");
	} else
		rest_error(&r, ERR_NOT_FOUND, "no such path");
out:
	rest_req_clear(&r);
	return (later);
}

/*
 * A pending reply is queued: read the connection's next request.  A reply
 * finished within rest_request (a short export) leaves the request to the
 * caller, which reads on by itself.
 */
static void
rest_next(struct conn *c, int keepalive)
{
	if (c->state != CONN_HTTP_BUSY)
		return;
	http_req_reset(c->req);
	conn_http_done(c, keepalive);
}

/* Free a job. */
static void
rest_job_free(struct rest_job *job)
{
	size_t	i;

	if (job == NULL)
		return;
	for (i = 0; i < job->n; i++)
		wreq_free(job->w[i]);
	free(job->w);
	free(job->channel);
	free(job->name);
	if (job->zc != NULL)
		ZSTD_freeCCtx(job->zc);
	if (job->scratch != NULL)
		evbuffer_free(job->scratch);
	if (job->snap_ev != NULL)
		event_free(job->snap_ev);
	if (job->fd > 0)
		close(job->fd);
	free(job->snap_cause);
	free(job);
}

/*
 * Wait for the snapshot copies still running (at exit, once every
 * connection is closed, so their jobs are orphans) and free them.
 */
void
rest_shutdown(void)
{
	struct rest_job	*job;

	while ((job = TAILQ_FIRST(&rest_snapshots)) != NULL) {
		TAILQ_REMOVE(&rest_snapshots, job, snap_entry);
		pthread_join(job->thread, NULL);
		rest_job_free(job);
	}
}

/*
 * The connection closed with a response pending.  A POST or snapshot job
 * lives on until its work comes back; an export is freed now.
 */
void
rest_conn_closed(struct conn *c)
{
	struct rest_job	*job = c->job;

	if (job == NULL)
		return;
	c->job = NULL;
	if (job->n > 0 || job->snap_ev != NULL) {
		job->orphan = 1;
		return;
	}
	rest_job_free(job);
}
