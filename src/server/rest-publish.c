/*
 * POST /v1/channels/{name}/messages: one message or an array, checked as a
 * WebSocket publish is (proto_publish_wreq), committed by the writer as
 * one group, and answered 201 once the last of them is back.
 *
 * The commit join: each message is a wreq whose done callback is
 * rest_publish_done, with the job as its argument.  The writer hands them
 * back in the event loop, one by one; the last one answers the request
 * and frees the job with every wreq.  Each wreq holds a reference to the
 * connection, so a client that hangs up meanwhile leaves an orphan job
 * that the last wreq still finds and frees.
 */

#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "rest-int.h"

#define REST_PUBLISH_MAX	1000	/* messages in one POST */

static void	rest_publish_done(struct wreq *);

/* Read a string member: NULL when absent or null, bad set if not a string. */
static const char *
rest_publish_member(json_t *o, const char *key, size_t *len, int bit,
    int *bad)
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
rest_publish_depth_ok(json_t *j, int max)
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
			if (!rest_publish_depth_ok(v, max - 1))
				return (0);
		}
	} else {
		json_object_foreach(j, k, v) {
			if (!rest_publish_depth_ok(v, max - 1))
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
rest_publish_one(struct rest_req *r, json_t *o, const char **why)
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
	if (!rest_publish_depth_ok(o, REQ_DEPTH_MAX)) {
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
	m.id = rest_publish_member(o, "id", &m.id_len, PUBMSG_BAD_ID, &m.bad);
	m.name = rest_publish_member(o, "name", &m.name_len, PUBMSG_BAD_NAME,
	    &m.bad);
	m.encoding = rest_publish_member(o, "encoding", &m.encoding_len,
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
int
rest_publish_post(struct rest_req *r)
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
	if (n == 0 || n > MIN(REST_PUBLISH_MAX, server.cfg->batch_max)) {
		rest_error(r, ERR_BAD_REQUEST, "a POST holds 1 to %zu messages",
		    MIN((size_t)REST_PUBLISH_MAX, server.cfg->batch_max));
		json_decref(body);
		return (0);
	}
	job = rest_job_new(r, REST_JOB_PUBLISH);
	job->pub.w = xcalloc(n, sizeof *job->pub.w);
	for (i = 0; i < n; i++) {
		o = json_is_array(body) ? json_array_get(body, i) : body;
		if ((job->pub.w[i] = rest_publish_one(r, o, &why)) == NULL) {
			if (why == NULL)
				rest_error(r, ERR_TOO_LARGE, "message %zu is over "
				    "the limit of %zu bytes", i,
				    server.cfg->max_message_bytes);
			else
				rest_error(r, ERR_BAD_REQUEST, "message %zu: %s", i,
				    why);
			job->pub.n = i;	/* the ones made so far */
			rest_job_free(job);
			json_decref(body);
			return (0);
		}
	}
	json_decref(body);
	job->pub.n = n;
	job->pub.channel = xstrndup(r->seg[2], r->seglen[2]);
	job->pub.channel_len = r->seglen[2];
	r->conn->job = job;
	/* The whole array is one group: the writer commits it in one go. */
	job->pub.w[0]->group = n;
	for (i = 0; i < n; i++) {
		job->pub.w[i]->conn = r->conn;
		job->pub.w[i]->arg = job;
		job->pub.w[i]->done = rest_publish_done;
		r->conn->refs++;
		server.stats.publishes++;
		writer_submit(job->pub.w[i]);
	}
	return (1);
}

/* Answer a POST once all its publishes are back from the writer. */
static void
rest_publish_reply(struct rest_job *job)
{
	struct evbuffer		*b, *h;
	struct store_msg	*m;
	enum err_code		 code;
	const char		*id;
	size_t			 i, id_len;
	int			 status = 0;

	for (i = 0; i < job->pub.n; i++) {
		if (job->pub.w[i]->status != 0)
			status = job->pub.w[i]->status;
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
	jstr_escape(b, job->pub.channel, job->pub.channel_len);
	evbuffer_add_printf(b, ",\"epoch\":\"%s\",\"items\":[",
	    job->pub.w[0]->msg.epoch);
	for (i = 0; i < job->pub.n; i++) {
		m = &job->pub.w[i]->msg;
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

	if (++job->pub.done == job->pub.n) {
		if (!job->orphan) {
			rest_publish_reply(job);
			c->job = NULL;
			rest_next(c, job->keepalive);
		}
		rest_job_free(job);
	}
	conn_release(c);
}

/* Free what a publish job holds: its wreqs, unsent or all back. */
void
rest_publish_free(struct rest_job *job)
{
	size_t	i;

	for (i = 0; i < job->pub.n; i++)
		wreq_free(job->pub.w[i]);
	free(job->pub.w);
	free(job->pub.channel);
}
