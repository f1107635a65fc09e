/*
 * The logwire.v1 protocol: one JSON object per text frame, read by req.c
 * without a JSON tree, answered with replies built by hand (so that the
 * message frames and the replies share one encoder and no JSON tree per
 * reply).
 */

#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <openssl/evp.h>

#include "logwired.h"

static void	proto_ensure_done(struct wreq *);
static void	proto_message(struct conn *, int, const char *, size_t);
static void	proto_publish_done(struct wreq *);

/* Queue the JSON text in b (left as is) as one text frame. */
void
proto_send(struct conn *c, struct evbuffer *b)
{
	size_t	len = evbuffer_get_length(b);

	if (c->state != CONN_WS_OPEN)
		return;
	frame_text(conn_output(c), evbuffer_pullup(b, (ssize_t)len), len);
}

/* Send {"op":"error"} with a code and a message. */
void
proto_error(struct conn *c, const char *ref, enum err_code code,
    const char *fmt, ...)
{
	struct evbuffer	*b;
	va_list		 ap;
	char		*msg;

	metrics_error(code);
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		fatalx("out of memory");
	va_end(ap);
	b = evbuffer_new();
	evbuffer_add_lit(b, "{\"op\":\"error\"");
	jstr_ref(b, ",", ref);
	evbuffer_add_printf(b, ",\"code\":%d,\"message\":", code);
	jstr_escape(b, msg, strlen(msg));
	evbuffer_add_lit(b, "}");
	proto_send(c, b);
	evbuffer_free(b);
	free(msg);
}

/* Get an optional string member: 0 absent (or null), 1 present, -1 wrong type. */
static int
proto_string(const struct req_val *v, const char **s, size_t *len)
{
	if (v->kind == REQ_ABSENT || v->kind == REQ_NULL)
		return (0);
	if (v->kind != REQ_STRING)
		return (-1);
	*s = v->s;
	*len = v->len;
	return (1);
}

/* Whether string value v is exactly word. */
static int
proto_is(const struct req_val *v, const char *word)
{
	return (v->kind == REQ_STRING && v->len == strlen(word) &&
	    memcmp(v->s, word, v->len) == 0);
}

/*
 * Check and return the channel named in a request, sending the error
 * itself.  reserved_ok: whether "$..." names are allowed.
 */
static int
proto_channel(struct conn *c, const struct req *req, const char *ref,
    int reserved_ok, const char **name, size_t *len)
{
	switch (proto_string(&req->channel, name, len)) {
	case 0:
		proto_error(c, ref, ERR_BAD_REQUEST, "channel is required");
		return (-1);
	case -1:
		proto_error(c, ref, ERR_BAD_REQUEST, "channel must be a string");
		return (-1);
	}
	if (req->channel_lossy) {
		proto_error(c, ref, ERR_BAD_CHANNEL, "bad channel name: a lone "
		    "surrogate is not a character");
		return (-1);
	}
	if (!store_name_valid(*name, *len)) {
		proto_error(c, ref, ERR_BAD_CHANNEL, "bad channel name: 1 to %d bytes "
		    "of UTF-8 without control characters", STORE_NAME_MAX);
		return (-1);
	}
	if (!reserved_ok && (*name)[0] == '$') {
		proto_error(c, ref, ERR_RESERVED, "channel %s is reserved", *name);
		return (-1);
	}
	return (0);
}

/* Parse the start position of a subscribe; -1 if malformed. */
static int
proto_position(const struct req *req, struct sub_pos *pos, const char **why)
{
	const struct req_val	*rewind = &req->rewind;
	uint64_t		 ms;
	const char		*e;
	size_t			 i;
	int			 given;

	given = (req->from.kind != REQ_ABSENT) +
	    (rewind->kind != REQ_ABSENT) + (req->since.kind != REQ_ABSENT);
	memset(pos, 0, sizeof *pos);
	pos->kind = POS_LIVE;
	if (given > 1) {
		*why = "from, rewind and since cannot be combined";
		return (-1);
	}
	if (req->from.kind != REQ_ABSENT) {
		pos->kind = POS_FROM;
		if (req->from.kind != REQ_OBJECT ||
		    req_uint(&req->from_serial, &pos->n) != 0) {
			*why = "from needs a serial (a non-negative integer)";
			return (-1);
		}
		if (req->from_epoch.kind != REQ_STRING ||
		    req->from_epoch.len != STORE_EPOCH_LEN) {
			*why = "from needs the epoch (16 hex characters)";
			return (-1);
		}
		e = req->from_epoch.s;
		for (i = 0; i < STORE_EPOCH_LEN; i++) {
			if (strchr("0123456789abcdef", e[i]) == NULL) {
				*why = "from needs the epoch (16 hex characters)";
				return (-1);
			}
		}
		memcpy(pos->epoch, e, STORE_EPOCH_LEN);
	} else if (rewind->kind != REQ_ABSENT) {
		if (rewind->kind == REQ_STRING) {
			if (duration_parse(rewind->s, &ms) != 0) {
				*why = "rewind is a count or a duration "
				    "such as 30s, 10m, 2h, 1d";
				return (-1);
			}
			pos->kind = POS_REWIND_MS;
			pos->n = ms;
		} else if (req_uint(rewind, &pos->n) == 0) {
			pos->kind = POS_REWIND;
		} else {
			*why = "rewind is a count or a duration "
			    "such as 30s, 10m, 2h, 1d";
			return (-1);
		}
	} else if (req->since.kind != REQ_ABSENT) {
		pos->kind = POS_SINCE;
		if (req_uint(&req->since, &pos->n) != 0) {
			*why = "since is a Unix time in milliseconds";
			return (-1);
		}
	}
	return (0);
}

/*
 * Finish a subscribe once its channel is known: place the cursor, answer
 * "subscribed" (then "gap" if retention removed some of what was asked),
 * and attach.  Replay, resume and rewind all leave the cursor behind the
 * head for the pump; live puts it just after.
 */
void
proto_subscribe_finish(struct sub *s, struct channel *ch)
{
	static const char	*resumed[] = {
		NULL, "true", "false,\"reason\":\"epoch\"",
		"false,\"reason\":\"serial\""
	};
	struct store_chan	 meta;
	struct pos_start	 st;
	struct evbuffer		*b;
	uint64_t		 first = 1, t, time_serial;

	if (store_chan_get(server.reader, ch->name, ch->name_len, &meta) == 0)
		first = meta.first;
	time_serial = ch->head + 1;
	if (pos_time(&s->pos, store_now_ms(), &t) &&
	    store_find_time(server.reader, ch->id, t, &time_serial) != 0)
		time_serial = ch->head + 1;
	pos_start(&s->pos, ch->epoch, first, ch->head, time_serial, &st);

	b = evbuffer_new();
	evbuffer_add_lit(b, "{\"op\":\"subscribed\"");
	jstr_ref(b, ",", s->ref);
	evbuffer_add_lit(b, ",\"channel\":");
	jstr_escape(b, ch->name, ch->name_len);
	evbuffer_add_printf(b, ",\"epoch\":\"%s\",\"head\":%llu", ch->epoch,
	    (unsigned long long)ch->head);
	if (resumed[st.resumed] != NULL)
		evbuffer_add_printf(b, ",\"resumed\":%s", resumed[st.resumed]);
	evbuffer_add_lit(b, "}");
	proto_send(s->conn, b);
	evbuffer_free(b);
	free(s->ref);
	s->ref = NULL;

	if (st.gap_from != 0)
		sub_gap(s, st.gap_from, st.gap_to, "retention");
	sub_attach(s, ch, st.next);
}

/* {"op":"subscribe"}: find or create the channel, then finish. */
static void
proto_subscribe(struct conn *c, const struct req *req, const char *ref)
{
	struct store_chan	 meta;
	struct channel		*ch;
	struct sub		*s;
	struct sub_pos		 pos;
	struct wreq		*w;
	const char		*name, *why;
	size_t			 len;
	int			 rc;

	if (proto_channel(c, req, ref, 0, &name, &len) != 0)
		return;
	if (proto_position(req, &pos, &why) != 0) {
		proto_error(c, ref, ERR_BAD_POSITION, "bad position: %s", why);
		return;
	}
	if (sub_find(c, name, len) != NULL) {
		proto_error(c, ref, ERR_SUBSCRIBED, "already subscribed to %s", name);
		return;
	}
	if (c->nsubs >= server.cfg->max_subscriptions) {
		proto_error(c, ref, ERR_TOO_MANY_SUBS, "too many subscriptions on this "
		    "connection (at most %zu)", server.cfg->max_subscriptions);
		return;
	}
	s = sub_new(c, name, len);
	s->pos = pos;
	s->ref = ref != NULL ? xstrdup(ref) : NULL;

	if ((ch = channel_find(name, len)) != NULL) {
		proto_subscribe_finish(s, ch);
		return;
	}
	rc = store_chan_get(server.reader, name, len, &meta);
	if (rc == 0) {
		proto_subscribe_finish(s, channel_add(&meta));
		return;
	}
	if (rc != STORE_ENOTFOUND) {
		proto_error(c, ref, ERR_INTERNAL, "cannot read channel %s: %s", name,
		    store_strerror(rc));
		sub_free(s);
		return;
	}

	/* A new channel: its log and epoch are created by the writer. */
	w = xcalloc(1, sizeof *w);
	w->type = WREQ_ENSURE;
	w->done = proto_ensure_done;
	w->conn = c;
	c->refs++;
	w->buf = xstrndup(name, len);
	w->msg.channel = w->buf;
	w->msg.channel_len = len;
	w->arg = s;
	s->wreq = w;
	writer_submit(w);
}

/* {"op":"unsubscribe"} */
static void
proto_unsubscribe(struct conn *c, const struct req *req, const char *ref)
{
	struct evbuffer	*b;
	struct sub	*s;
	const char	*name;
	size_t		 len;

	if (proto_channel(c, req, ref, 1, &name, &len) != 0)
		return;
	if ((s = sub_find(c, name, len)) == NULL) {
		proto_error(c, ref, ERR_NOT_SUBSCRIBED, "not subscribed to %s", name);
		return;
	}
	sub_free(s);
	b = evbuffer_new();
	evbuffer_add_lit(b, "{\"op\":\"unsubscribed\"");
	jstr_ref(b, ",", ref);
	evbuffer_add_lit(b, ",\"channel\":");
	jstr_escape(b, name, len);
	evbuffer_add_lit(b, "}");
	proto_send(c, b);
	evbuffer_free(b);
}

/* Whether s is padded base64 (the standard alphabet). */
static int
proto_base64_valid(const char *s, size_t len)
{
	size_t	i, pad = 0;

	if (len % 4 != 0)
		return (0);
	for (i = 0; i < len; i++) {
		if (s[i] == '=') {
			if (i < len - 2)
				return (0);
			pad++;
			continue;
		}
		if (pad > 0)
			return (0);
		if (!((s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '+' ||
		    s[i] == '/'))
			return (0);
	}
	return (1);
}

/*
 * Check the fields of one message (data required; id, name and encoding
 * optional) and make the writer request that appends it to channel name.
 * Shared by the WebSocket publish and the REST POST.  Returns NULL with
 * *why set (an ERR_BAD_REQUEST reason) when a field is bad.
 */
struct wreq *
proto_publish_wreq(const char *name, size_t len, const struct pubmsg *m,
    const char **why)
{
	struct wreq	*w;
	const char	*id = m->id, *ev = m->name;
	size_t		 id_len = m->id_len, ev_len = m->name_len;
	size_t		 dlen = m->data_len;
	unsigned int	 flags = 0;
	char		*p;

	if (m->data == NULL) {
		*why = "data is required";
		return (NULL);
	}
	/*
	 * \u0000 is refused in an id or a name, not in data: these are
	 * names, and a client that keeps them as C strings would see "a"
	 * and "a\u0000b" as one.
	 */
	if ((m->bad & PUBMSG_BAD_ID) || (id != NULL && (id_len == 0 ||
	    id_len > STORE_ID_MAX || memchr(id, '\0', id_len) != NULL))) {
		*why = "id must be a string of 1 to 255 bytes without "
		    "\\u0000";
		return (NULL);
	}
	if ((m->bad & PUBMSG_BAD_NAME) || ev_len > STORE_FIELD_MAX ||
	    (ev_len > 0 && memchr(ev, '\0', ev_len) != NULL)) {
		*why = "name must be a string of at most 255 bytes without "
		    "\\u0000";
		return (NULL);
	}
	if ((m->bad & PUBMSG_BAD_ENCODING) || (m->encoding != NULL &&
	    (m->encoding_len != 6 || memcmp(m->encoding, "base64", 6) != 0))) {
		*why = "encoding must be \"base64\"";
		return (NULL);
	}
	if (m->encoding != NULL) {
		if (m->str == NULL || !proto_base64_valid(m->str, m->str_len)) {
			*why = "data with encoding base64 must be a base64 "
			    "string";
			return (NULL);
		}
		flags |= STORE_MSG_BASE64;
	}

	/* The request and the strings its message points at: one block. */
	w = xcalloc(1, sizeof *w + len + id_len + ev_len + dlen + 1);
	w->type = WREQ_PUBLISH;
	p = w->strings;
	w->msg.channel = memcpy(p, name, len);
	w->msg.channel_len = len;
	p += len;
	if (id != NULL) {
		w->msg.id = memcpy(p, id, id_len);
		w->msg.id_len = id_len;
		p += id_len;
	}
	if (ev_len > 0) {
		w->msg.name = memcpy(p, ev, ev_len);
		w->msg.name_len = ev_len;
		p += ev_len;
	}
	w->msg.data = memcpy(p, m->data, dlen);
	w->msg.data_len = dlen;
	w->msg.flags = flags;
	return (w);
}

/* Read the message members of a publish request into m. */
static void
proto_pubmsg(const struct req *req, struct pubmsg *m)
{
	memset(m, 0, sizeof *m);
	if (req->data.kind != REQ_ABSENT) {
		m->data = req->data.raw;
		m->data_len = req->data.raw_len;
		if (req->data.kind == REQ_STRING) {
			m->str = req->data.s;
			m->str_len = req->data.len;
		}
	}
	if (proto_string(&req->id, &m->id, &m->id_len) < 0)
		m->bad |= PUBMSG_BAD_ID;
	if (proto_string(&req->name, &m->name, &m->name_len) < 0)
		m->bad |= PUBMSG_BAD_NAME;
	if (proto_string(&req->encoding, &m->encoding, &m->encoding_len) < 0)
		m->bad |= PUBMSG_BAD_ENCODING;
}

/* {"op":"publish"}: check, copy, and queue for the writer. */
static void
proto_publish(struct conn *c, const struct req *req, const char *ref)
{
	struct pubmsg	 m;
	struct wreq	*w;
	const char	*name, *why;
	size_t		 len;

	if (proto_channel(c, req, ref, 0, &name, &len) != 0)
		return;
	if (server.stopping) {
		proto_error(c, ref, ERR_STOPPING, "server is shutting down: "
		    "nothing was stored");
		return;
	}
	if (req->wide_int) {
		proto_error(c, ref, ERR_BAD_REQUEST, "an integer beyond 64 bits signed "
		    "(write it with an exponent, or as a string)");
		return;
	}
	proto_pubmsg(req, &m);
	if ((w = proto_publish_wreq(name, len, &m, &why)) == NULL) {
		proto_error(c, ref, ERR_BAD_REQUEST, "%s", why);
		return;
	}
	w->ref = ref != NULL ? xstrdup(ref) : NULL;
	w->done = proto_publish_done;
	w->conn = c;
	c->refs++;
	conn_inflight(c, 1);
	server.stats.publishes++;
	writer_submit(w);
}

/* {"op":"ping"} */
static void
proto_ping(struct conn *c, const char *ref)
{
	struct evbuffer	*b;

	b = evbuffer_new();
	evbuffer_add_lit(b, "{\"op\":\"pong\"");
	jstr_ref(b, ",", ref);
	evbuffer_add_lit(b, "}");
	proto_send(c, b);
	evbuffer_free(b);
}

/* Handle one message from a client (the WebSocket layer's handler). */
static void
proto_message(struct conn *c, int text_frame, const char *text, size_t len)
{
	struct req	 req;
	const char	*op;
	char		*ref = NULL, *cause;

	if (!text_frame) {
		proto_error(c, NULL, ERR_BAD_REQUEST,
		    "binary frames are not accepted: send JSON text frames");
		return;
	}
	if (server.stopping)
		server.last_request_ns = mono_ns();
	if (req_parse(&req, text, len, &cause) != 0) {
		proto_error(c, NULL, ERR_BAD_REQUEST, "malformed JSON: %s", cause);
		free(cause);
		return;
	}
	if (req.not_object) {
		proto_error(c, NULL, ERR_BAD_REQUEST, "a request is a JSON object");
		return;
	}
	if (req.ref.kind != REQ_ABSENT) {
		if (req.ref.kind != REQ_STRING && req.ref.kind != REQ_NUMBER) {
			proto_error(c, NULL, ERR_BAD_REQUEST,
			    "ref must be a string or a number");
			return;
		}
		ref = xstrndup(req.ref.raw, req.ref.raw_len);
	}
	if (len > server.cfg->max_message_bytes) {
		proto_error(c, ref, ERR_TOO_LARGE, "message of %zu bytes is over the "
		    "limit of %zu", len, server.cfg->max_message_bytes);
		goto out;
	}
	if (req.op.kind != REQ_STRING) {
		proto_error(c, ref, ERR_BAD_REQUEST, "op is required (a string)");
		goto out;
	}
	op = req.op.s;
	if (proto_is(&req.op, "publish"))
		proto_publish(c, &req, ref);
	else if (proto_is(&req.op, "subscribe"))
		proto_subscribe(c, &req, ref);
	else if (proto_is(&req.op, "unsubscribe"))
		proto_unsubscribe(c, &req, ref);
	else if (proto_is(&req.op, "ping"))
		proto_ping(c, ref);
	else
		proto_error(c, ref, ERR_UNKNOWN_OP, "unknown op %s", op);
out:
	free(ref);
}

/* Answer a committed (or refused) publish. */
static void
proto_published(struct wreq *w)
{
	static struct jbuf	 b;
	struct store_msg	*m = &w->msg;
	struct conn		*c = w->conn;
	const char		*sync, *id;
	size_t			 id_len;

	if (w->status != 0) {
		proto_error(c, w->ref, err_store(w->status) == ERR_STORAGE ?
		    ERR_STORAGE : ERR_INTERNAL, "%s",
		    err_store_publish(w->status));
		return;
	}
	if (m->error != 0) {
		proto_error(c, w->ref, ERR_BAD_REQUEST, "message refused: %s",
		    store_strerror(m->error));
		return;
	}
	if (c->state != CONN_WS_OPEN)
		return;
	jbuf_reset(&b);
	jbuf_lit(&b, "{\"op\":\"published\"");
	jbuf_ref(&b, w->ref);
	jbuf_lit(&b, ",\"channel\":");
	jbuf_escape(&b, m->channel, m->channel_len);
	jbuf_lit(&b, ",\"serial\":");
	jbuf_u64(&b, m->serial);
	jbuf_lit(&b, ",\"id\":");
	id = store_msg_id(m, &id_len);
	jbuf_escape(&b, id, id_len);
	if (m->duplicate)
		jbuf_lit(&b, ",\"duplicate\":true,\"sync\":\"");
	else
		jbuf_lit(&b, ",\"duplicate\":false,\"sync\":\"");
	sync = store_sync_name(server.cfg->sync);
	jbuf_add(&b, sync, strlen(sync));
	jbuf_lit(&b, "\"}");
	frame_jbuf(conn_output(c), &b);
}

/* A publish came back from the writer: ack it and let the request go. */
static void
proto_publish_done(struct wreq *w)
{
	struct conn	*c = w->conn;

	proto_published(w);
	conn_inflight(c, -1);
	conn_release(c);
	wreq_free(w);
}

/*
 * The channel of a pending subscribe was created (or not): finish the
 * subscribe, unless the subscriber left meanwhile (arg cleared by
 * sub_free).
 */
static void
proto_ensure_done(struct wreq *w)
{
	struct sub	*s;
	struct channel	*ch;

	if ((s = w->arg) != NULL) {
		s->wreq = NULL;
		if (w->status != 0) {
			proto_error(w->conn, s->ref, err_store(w->status),
			    "cannot create channel %s: %s", s->name,
			    store_strerror(w->status));
			sub_free(s);
		} else {
			ch = channel_add(&w->chan);
			proto_subscribe_finish(s, ch);
		}
	}
	conn_release(w->conn);
	wreq_free(w);
}

const struct ws_handler proto_ws_handler = { proto_message };
