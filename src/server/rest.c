/*
 * The REST API on the WebSocket's port: the request, its routing, its
 * parameters, CORS and error replies, and the life of a pending response.
 * The endpoints are in rest-read.c, rest-publish.c, rest-export.c and
 * rest-snapshot.c (rest-int.h says which does what).
 *
 * A request is answered at once (its handler returns 0) or later (1): a
 * publish waits for its commit, an export streams in chunks as the socket
 * drains, a snapshot waits for its copy.  A response that comes later is
 * a struct rest_job of one kind, hung on the connection; while it is
 * pending the connection reads no further request, so pipelined requests
 * are answered in order.
 */

#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <http_parser.h>

#include "rest-int.h"

/*
 * The routes: a method and a path shape, whose "{...}" segments match any
 * one segment; a GET route takes HEAD too.  A path of no shape here is a
 * 404; of a shape but not with this method, a 405 whose Allow header
 * lists the methods of that shape.  Below /v1/channels/ the third segment
 * is checked as a channel name first, whatever follows (400).
 *
 * A new endpoint is one line here and its handler in a rest-*.c file of
 * its own (SSE's GET /v1/channels/{name}/events, a DELETE of a channel).
 * A handler returns 0 when its whole response is queued, or 1 when it
 * left a job on the connection to finish later (a new kind of job is a
 * line in rest_kinds below).
 */
static const struct rest_route {
	int		 method;	/* http-parser's enum http_method */
	const char	*path;
	rest_handler	*handler;
} rest_routes[] = {
	{ HTTP_GET,  "/healthz",			rest_read_healthz },
	{ HTTP_GET,  "/metrics",			rest_read_metrics },
	{ HTTP_GET,  "/v1/snapshot",			rest_snapshot_get },
	{ HTTP_GET,  "/v1/channels",			rest_read_channels },
	{ HTTP_GET,  "/v1/channels/{name}",		rest_read_channel },
	{ HTTP_GET,  "/v1/channels/{name}/messages",	rest_read_history },
	{ HTTP_POST, "/v1/channels/{name}/messages",	rest_publish_post },
	{ HTTP_GET,  "/v1/channels/{name}/messages/{serial}",
							rest_read_message },
	{ HTTP_GET,  "/v1/channels/{name}/export",	rest_export_get },
};

/*
 * What rest.c does with each kind of job: free frees what the kind holds;
 * stream moves the response on when the output drained (NULL if it does
 * not stream); outlives says that work in another thread (the writer, the
 * snapshot copy) holds the job, so that a closed connection leaves it to
 * that work to free.  A new kind is its enum value and one line here.
 */
static const struct rest_kind {
	void	(*free)(struct rest_job *);
	void	(*stream)(struct conn *);
	int	  outlives;
} rest_kinds[] = {
	[REST_JOB_PUBLISH] =	{ rest_publish_free, NULL, 1 },
	[REST_JOB_EXPORT] =	{ rest_export_free, rest_export_stream, 0 },
	[REST_JOB_SNAPSHOT] =	{ rest_snapshot_free, NULL, 1 },
};

static void	rest_route_allow(struct rest_req *, struct evbuffer *);

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
void
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

/*
 * Queue the head of a 200 whose body http_respond does not write (a
 * stream, a file): status line, Server, Content-Type, extra header lines
 * (or NULL), CORS and Connection.  The caller ends it.
 */
void
rest_head(struct rest_req *r, const char *ctype, const char *extra)
{
	evbuffer_add_printf(r->out, "HTTP/1.1 200 OK\r\nServer: logwire/%s\r\n"
	    "Content-Type: %s\r\n", PACKAGE_VERSION, ctype);
	if (extra != NULL)
		evbuffer_add(r->out, extra, strlen(extra));
	rest_cors_headers(r->out, r->cors);
	if (!r->keepalive)
		evbuffer_add_lit(r->out, "Connection: close\r\n");
}

/* Send a JSON error. */
void
rest_error(struct rest_req *r, enum err_code code, const char *fmt, ...)
{
	struct evbuffer	*h;
	va_list		 ap;
	char		*msg;

	metrics_error(code);
	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	h = evbuffer_new();
	rest_cors_headers(h, r->cors);
	if (code == ERR_METHOD)
		rest_route_allow(r, h);
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
int
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

/* Look up the channel in the path; sends 404 and returns -1 if unknown. */
int
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

/*
 * Resolve the serial range of a history or export request from from, to,
 * start and end (all inclusive) against the log's first and head.
 * Returns 0 with [*lo, *hi] (empty if *lo > *hi), or -1 after an error.
 */
int
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

/* Whether the request's path has the shape of a route's path. */
static int
rest_route_match(const struct rest_req *r, const char *path)
{
	const char	*p = path + 1, *q;
	size_t		 i, len;

	for (i = 0; i < r->nseg; i++) {
		if (p == NULL)
			return (0);
		q = strchr(p, '/');
		len = q != NULL ? (size_t)(q - p) : strlen(p);
		if (p[0] != '{' && (len != r->seglen[i] ||
		    memcmp(p, r->seg[i], len) != 0))
			return (0);
		p = q != NULL ? q + 1 : NULL;
	}
	return (p == NULL);
}

/* Append the Allow header: the methods of the routes of this path. */
static void
rest_route_allow(struct rest_req *r, struct evbuffer *h)
{
	size_t	i;

	evbuffer_add_lit(h, "Allow: ");
	for (i = 0; i < nitems(rest_routes); i++) {
		if (!rest_route_match(r, rest_routes[i].path))
			continue;
		if (rest_routes[i].method == HTTP_GET)
			evbuffer_add_lit(h, "GET, HEAD, ");
		else
			evbuffer_add_printf(h, "%s, ",
			    http_method_str(rest_routes[i].method));
	}
	evbuffer_add_lit(h, "OPTIONS\r\n");
}

/*
 * Find the route of a request and run its handler, or send 404 or 405.
 * Returns what the handler returned, or 0.
 */
static int
rest_route_run(struct rest_req *r)
{
	const struct rest_route	*rt;
	size_t			 i;
	int			 shape = 0, method;

	/* HEAD is a GET without the body (r->head). */
	method = r->method == HTTP_HEAD ? HTTP_GET : r->method;
	for (i = 0; i < nitems(rest_routes); i++) {
		rt = &rest_routes[i];
		if (!rest_route_match(r, rt->path))
			continue;
		if (rt->method == method)
			return (rt->handler(r));
		shape = 1;
	}
	if (shape)
		rest_error(r, ERR_METHOD, "method %s not allowed here",
		    http_method_str(r->method));
	else
		rest_error(r, ERR_NOT_FOUND, "no such path");
	return (0);
}

/*
 * Handle one request.  Returns 0 when the whole response is queued, 1 when
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
	if (r.nseg >= 3 && strcmp(r.seg[0], "v1") == 0 &&
	    strcmp(r.seg[1], "channels") == 0 &&
	    !store_name_valid(r.seg[2], r.seglen[2])) {
		rest_error(&r, ERR_BAD_CHANNEL, "bad channel name");
		goto out;
	}
	later = rest_route_run(&r);
out:
	rest_req_clear(&r);
	return (later);
}

/*
 * A pending reply is queued: read the connection's next request.  A reply
 * finished within rest_request (a short export) leaves the request to the
 * caller, which reads on by itself.
 */
void
rest_next(struct conn *c, int keepalive)
{
	if (c->state != CONN_HTTP_BUSY)
		return;
	http_req_reset(c->req);
	conn_http_done(c, keepalive);
}

/* Make a job of a kind for the request; the caller hangs it on conn. */
struct rest_job *
rest_job_new(struct rest_req *r, enum rest_job_kind kind)
{
	struct rest_job	*job;

	job = xcalloc(1, sizeof *job);
	job->kind = kind;
	job->conn = r->conn;
	job->keepalive = r->keepalive;
	job->cors = r->cors;
	return (job);
}

/* Free a job and what its kind holds. */
void
rest_job_free(struct rest_job *job)
{
	if (job == NULL)
		return;
	rest_kinds[job->kind].free(job);
	free(job);
}

/*
 * The output drained with a response pending: move it on if its kind
 * streams (the connection's drained step).
 */
void
rest_stream(struct conn *c)
{
	struct rest_job	*job = c->job;

	if (job != NULL && rest_kinds[job->kind].stream != NULL)
		rest_kinds[job->kind].stream(c);
}

/*
 * The connection closed with a response pending: a job whose work is out
 * in another thread becomes an orphan, for that work to free when it
 * comes back; any other is freed now.
 */
void
rest_conn_closed(struct conn *c)
{
	struct rest_job	*job = c->job;

	if (job == NULL)
		return;
	c->job = NULL;
	if (rest_kinds[job->kind].outlives)
		job->orphan = 1;
	else
		rest_job_free(job);
}

/*
 * Wait for the work still running in other threads (at exit, once every
 * connection is closed, so their jobs are orphans) and free its jobs.
 */
void
rest_shutdown(void)
{
	rest_snapshot_join_all();
}
