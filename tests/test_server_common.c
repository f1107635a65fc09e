/*
 * Shared helpers of the logwired integration tests; see
 * test_server_common.h.
 */

#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "storage.h"
#include "test_server_common.h"

#define TS_MAXARGS	32
#define TS_LOG_TAIL	4000

/* Start logwired with extra arguments ending with NULL. */
struct hd *
ts_start(const char *first, ...)
{
	const char	*args[TS_MAXARGS + 1];
	va_list		 ap;
	size_t		 n = 0;

	va_start(ap, first);
	for (args[n] = first; args[n] != NULL && n < TS_MAXARGS;
	    args[++n] = va_arg(ap, const char *))
		;
	va_end(ap);
	args[n] = NULL;
	return (hd_start(args));
}

/* Stop and free the daemon, keeping its files if the test failed. */
void
ts_done(struct hd *hd, unsigned int failures_before)
{
	char	*log;
	size_t	 len;

	if (hd == NULL)
		return;
	if (CU_get_number_of_failures() > failures_before) {
		if ((log = hd_log(hd)) != NULL) {
			len = strlen(log);
			fprintf(stderr, "  --- logwired log%s ---\n%s\n"
			    "  --- end of log ---\n", len > TS_LOG_TAIL ?
			    " (end)" : "", len > TS_LOG_TAIL ?
			    log + len - TS_LOG_TAIL : log);
			free(log);
		}
		hd_keep(hd);
	}
	hd_free(hd);
}

/* Print a JSON value with a label. */
void
ts_dump(const char *label, const json_t *j)
{
	char	*s;

	s = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	fprintf(stderr, "  %s: %s\n", label, s != NULL ? s : "(nothing)");
	free(s);
}

/* Return an integer member, or -1. */
long long
ts_int(const json_t *j, const char *key)
{
	json_t	*v = json_object_get(j, key);

	if (!json_is_integer(v))
		return (-1);
	return (json_integer_value(v));
}

/* Return a string member, or NULL. */
const char *
ts_str(const json_t *j, const char *key)
{
	return (json_string_value(json_object_get(j, key)));
}

/* Whether a member is true. */
int
ts_true(const json_t *j, const char *key)
{
	return (json_is_true(json_object_get(j, key)));
}

/* Whether a and b are equal strings. */
int
ts_streq(const char *a, const char *b)
{
	return (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Whether the reply's op is op. */
int
ts_is_op(const json_t *j, const char *op)
{
	const char	*s = ts_str(j, "op");

	return (s != NULL && strcmp(s, op) == 0);
}

/*
 * Record an error of a publisher or subscriber run (anything with errors
 * and err[]); the first message is kept.
 */
#define TS_FAIL(run, ...) ts_fail(&(run)->errors, (run)->err,		\
	sizeof (run)->err, __VA_ARGS__)

/* Record a thread's error; the first message is kept. */
void
ts_fail(int *errors, char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	if ((*errors)++ == 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
}

/* Connect a WebSocket. */
struct wsc *
ts_ws(struct hd *hd)
{
	return (hd_ws(hd));
}

/* Subscribe and wait for "subscribed". */
int
ts_subscribe(struct wsc *w, const char *channel, const char *extra,
    char *epoch, uint64_t *head, json_t **reply)
{
	json_t		*j;
	const char	*e;

	if (hd_ws_send_json(w, "{\"op\":\"subscribe\",\"channel\":\"%s\""
	    "%s%s}", channel, extra != NULL ? "," : "",
	    extra != NULL ? extra : "") != 0)
		return (-1);
	if ((j = hd_ws_expect_op(w, "subscribed", TS_TIMEOUT)) == NULL)
		return (-1);
	e = ts_str(j, "epoch");
	if (e == NULL || strlen(e) != 16 || ts_int(j, "head") < 0 ||
	    ts_str(j, "channel") == NULL ||
	    strcmp(ts_str(j, "channel"), channel) != 0) {
		ts_dump("subscribed without channel, epoch or head", j);
		json_decref(j);
		return (-1);
	}
	if (epoch != NULL)
		snprintf(epoch, 17, "%s", e);
	if (head != NULL)
		*head = (uint64_t)ts_int(j, "head");
	if (reply != NULL)
		*reply = j;
	else
		json_decref(j);
	return (0);
}

/* Subscribe resuming from serial of epoch (ts_subscribe()'s extra "from"). */
int
ts_resume(struct wsc *w, const char *channel, uint64_t serial,
    const char *epoch, uint64_t *head, json_t **reply)
{
	char	from[96];

	snprintf(from, sizeof from, "\"from\":{\"serial\":%llu,\"epoch\":"
	    "\"%s\"}", (unsigned long long)serial, epoch);
	return (ts_subscribe(w, channel, from, NULL, head, reply));
}

/* Return a channel's epoch and head through a socket of its own. */
int
ts_epoch(struct hd *hd, const char *channel, char *epoch, uint64_t *head)
{
	struct wsc	*w;
	int		 r;

	if ((w = ts_ws(hd)) == NULL)
		return (-1);
	r = ts_subscribe(w, channel, NULL, epoch, head, NULL);
	wsc_close(w);
	return (r);
}

/* Publish one message and wait for its reply. */
int
ts_publish(struct wsc *w, const char *channel, const char *id,
    const char *data, uint64_t *serial, int *dup)
{
	json_t	*j;

	if (hd_ws_send_json(w, "{\"op\":\"publish\",\"channel\":\"%s\"%s%s%s,"
	    "\"data\":%s}", channel, id != NULL ? ",\"id\":\"" : "",
	    id != NULL ? id : "", id != NULL ? "\"" : "", data) != 0)
		return (-1);
	if ((j = hd_ws_expect_op(w, "published", TS_TIMEOUT)) == NULL)
		return (-1);
	if (ts_int(j, "serial") <= 0 || ts_str(j, "id") == NULL ||
	    !json_is_boolean(json_object_get(j, "duplicate")) ||
	    ts_str(j, "sync") == NULL) {
		ts_dump("published without serial, id, duplicate or sync", j);
		json_decref(j);
		return (-1);
	}
	if (serial != NULL)
		*serial = (uint64_t)ts_int(j, "serial");
	if (dup != NULL)
		*dup = ts_true(j, "duplicate");
	json_decref(j);
	return (0);
}

/* Whether the ref of j is the JSON text ref (NULL: no ref at all). */
static int
ts_ref_is(const json_t *j, const char *ref)
{
	json_t	*v = json_object_get(j, "ref"), *want;
	int	 eq;

	if (ref == NULL)
		return (v == NULL);
	if (v == NULL)
		return (0);
	if ((want = json_loads(ref, JSON_DECODE_ANY, NULL)) == NULL)
		return (0);
	eq = json_equal(v, want);
	json_decref(want);
	return (eq);
}

/* Wait for an error with a code and a ref. */
int
ts_expect_error(struct wsc *w, int code, const char *ref)
{
	json_t	*j;
	int	 r = -1;

	if ((j = hd_ws_recv_json(w, TS_TIMEOUT)) == NULL) {
		fprintf(stderr, "  expected error %d, got nothing\n", code);
		return (-1);
	}
	if (!ts_is_op(j, "error") || ts_int(j, "code") != code ||
	    ts_str(j, "message") == NULL)
		fprintf(stderr, "  expected error %d with a message\n", code);
	else if (!ts_ref_is(j, ref))
		fprintf(stderr, "  expected error %d with ref %s\n", code,
		    ref != NULL ? ref : "(none)");
	else
		r = 0;
	if (r != 0)
		ts_dump("got", j);
	json_decref(j);
	return (r);
}

/* Ping at the protocol level and wait for the pong. */
int
ts_pingpong(struct wsc *w, const char *ref)
{
	json_t	*j;
	int	 r = -1;

	if (hd_ws_send_json(w, "{\"op\":\"ping\",\"ref\":\"%s\"}", ref) != 0)
		return (-1);
	if ((j = hd_ws_expect_op(w, "pong", TS_TIMEOUT)) == NULL)
		return (-1);
	if (ts_str(j, "ref") != NULL && strcmp(ts_str(j, "ref"), ref) == 0)
		r = 0;
	else
		ts_dump("pong without the ref", j);
	json_decref(j);
	return (r);
}

/* Whether nothing arrives within ms. */
int
ts_quiet(struct wsc *w, int ms)
{
	struct wsc_msg	m;
	int		r;

	r = wsc_recv(w, ms, &m);
	if (r == 0)
		return (1);
	if (r == 1) {
		fprintf(stderr, "  expected nothing, got %s\n",
		    m.opcode == WSC_TEXT ? m.data : "a non-text message");
		wsc_msg_free(&m);
	} else
		fprintf(stderr, "  expected nothing, the connection ended\n");
	return (0);
}

/* Read until the close frame and return its code. */
int
ts_close_code(struct wsc *w, int timeout_ms)
{
	struct wsc_msg	m;
	int64_t		deadline = ts_now() + timeout_ms;
	int		r, code, shown = 0;

	while (ts_now() < deadline) {
		r = wsc_recv(w, (int)(deadline - ts_now()), &m);
		if (r == 0)
			break;
		if (r == -1)
			return (wsc_close_code(w) != 0 ? wsc_close_code(w) :
			    -1);
		if (m.opcode == WSC_CLOSE) {
			code = m.code;
			wsc_msg_free(&m);
			return (code);
		}
		if (shown++ < 3)
			fprintf(stderr, "  before the close: %.200s\n",
			    m.opcode == WSC_TEXT ? m.data : "(binary)");
		wsc_msg_free(&m);
	}
	fprintf(stderr, "  no close frame within %d ms\n", timeout_ms);
	return (-1);
}

/* GET /healthz answers 200 {"status":"ok"}. */
int
ts_healthy(struct hd *hd)
{
	struct hd_resp	 r;
	json_t		*j;
	int		 ok;

	if (hd_http(hd, "GET", "/healthz", NULL, NULL, 0, &r) != 0)
		return (0);
	j = hd_resp_json(&r);
	ok = r.status == 200 && j != NULL && ts_str(j, "status") != NULL &&
	    strcmp(ts_str(j, "status"), "ok") == 0;
	if (!ok)
		fprintf(stderr, "  /healthz: %d %s\n", r.status, r.body);
	json_decref(j);
	hd_resp_free(&r);
	return (ok);
}

/* Prepare a publisher. */
void
ts_pub_init(struct ts_pub *p, struct wsc *w, const char *channel,
    const char *tag, int k, int count, int window)
{
	memset(p, 0, sizeof *p);
	p->w = w;
	p->channel = channel;
	p->tag = tag;
	p->k = k;
	p->count = count;
	p->window = window;
	p->in_order = 1;
	p->deadline = ts_now() + 120000;
	p->serials = xcalloc(count, sizeof *p->serials);
	p->refused = xcalloc(count, 1);
	p->answered = xcalloc(count, 1);
}

/* Free a publisher's arrays. */
void
ts_pub_free(struct ts_pub *p)
{
	free(p->serials);
	free(p->refused);
	free(p->answered);
	p->serials = NULL;
	p->refused = p->answered = NULL;
}

/* The acked count. */
int
ts_pub_acked(struct ts_pub *p)
{
	return (__atomic_load_n(&p->acked, __ATOMIC_RELAXED));
}

/* Check one answer to a publish; return 0 if it answered one. */
static int
ts_pub_answer(struct ts_pub *p, const char *text, size_t len)
{
	json_t		*j;
	const char	*s;
	long long	 ref, serial;
	char		 id[128];
	int		 r = -1;

	if ((j = json_loadb(text, len, 0, NULL)) == NULL) {
		TS_FAIL(p, "publisher %d: not JSON: %.200s", p->k, text);
		return (-1);
	}
	ref = ts_int(j, "ref");
	if (ref < 0 || ref >= p->count || p->answered[ref]) {
		TS_FAIL(p, "publisher %d: unexpected or repeated answer %.300s",
		    p->k, text);
		goto out;
	}
	if (ts_is_op(j, "error") && ts_int(j, "code") == 50300 &&
	    p->allow_50300) {
		p->answered[ref] = 1;
		p->refused[ref] = 1;
		p->nrefused++;
		r = 0;
		goto out;
	}
	if (!ts_is_op(j, "published")) {
		TS_FAIL(p, "publisher %d: expected published, got %.300s",
		    p->k, text);
		goto out;
	}
	if (p->in_order && ref != p->next_ref) {
		TS_FAIL(p, "publisher %d: expected the ack of ref %d first, "
		    "got %.300s", p->k, p->next_ref, text);
		goto out;
	}
	serial = ts_int(j, "serial");
	if (serial <= 0 || (uint64_t)serial <= p->last_serial) {
		TS_FAIL(p, "publisher %d: ack serial %lld after %llu on one "
		    "connection: %.300s", p->k, serial,
		    (unsigned long long)p->last_serial, text);
		goto out;
	}
	snprintf(id, sizeof id, "%s-%d-%lld", p->tag, p->k, ref);
	s = ts_str(j, "id");
	if (s == NULL || strcmp(s, id) != 0 || ts_str(j, "channel") == NULL ||
	    strcmp(ts_str(j, "channel"), p->channel) != 0 ||
	    !json_is_false(json_object_get(j, "duplicate")) ||
	    ts_str(j, "sync") == NULL || (p->sync != NULL &&
	    strcmp(ts_str(j, "sync"), p->sync) != 0)) {
		TS_FAIL(p, "publisher %d: expected channel %s, id %s, "
		    "duplicate false, sync %s; got %.300s", p->k, p->channel,
		    id, p->sync != NULL ? p->sync : "(any)", text);
		goto out;
	}
	p->answered[ref] = 1;
	p->serials[ref] = (uint64_t)serial;
	p->last_serial = (uint64_t)serial;
	p->next_ref = (int)ref + 1;
	__atomic_add_fetch(&p->acked, 1, __ATOMIC_RELAXED);
	r = 0;
out:
	json_decref(j);
	return (r);
}

/* Read one message for a publisher: 1 answer, 0 timeout, -1 end. */
static int
ts_pub_read(struct ts_pub *p, int timeout_ms)
{
	struct wsc_msg	m;
	int		r;

	r = wsc_recv(p->w, timeout_ms, &m);
	if (r == 0)
		return (0);
	if (r == -1) {
		p->closed = 1;
		if (!p->until_closed)
			TS_FAIL(p, "publisher %d: connection ended after %d "
			    "sent, %d acked: %s", p->k, p->sent, p->acked,
			    wsc_error(p->w) != NULL ? wsc_error(p->w) :
			    "closed");
		return (-1);
	}
	if (m.opcode == WSC_CLOSE) {
		p->closed = 1;
		p->close_code = m.code;
		if (!p->until_closed)
			TS_FAIL(p, "publisher %d: close %u after %d sent, %d "
			    "acked", p->k, m.code, p->sent, p->acked);
		wsc_msg_free(&m);
		return (-1);
	}
	if (m.opcode != WSC_TEXT)
		TS_FAIL(p, "publisher %d: binary message", p->k);
	else
		r = ts_pub_answer(p, m.data, m.len) == 0 ? 1 : -1;
	wsc_msg_free(&m);
	return (r);
}

/* Run a publisher (a thread's start routine). */
void *
ts_pub_run(void *arg)
{
	struct ts_pub	*p = arg;
	char		*pad, *text;
	int		 len, answered = 0, r;

	pad = xmalloc(p->pad + 1);
	memset(pad, 'x', p->pad);
	pad[p->pad] = '\0';
	while (p->sent < p->count || (!p->no_recv && answered < p->sent)) {
		if (ts_now() > p->deadline) {
			TS_FAIL(p, "publisher %d: timed out with %d sent, %d "
			    "answered", p->k, p->sent, answered);
			break;
		}
		while (p->sent < p->count &&
		    (p->no_recv || p->sent - answered < p->window)) {
			len = asprintf(&text, "{\"op\":\"publish\",\"channel\":"
			    "\"%s\",\"id\":\"%s-%d-%d\",\"ref\":%d,\"data\":"
			    "{\"k\":%d,\"i\":%d,\"pad\":\"%s\"}}", p->channel,
			    p->tag, p->k, p->sent, p->sent, p->k, p->sent, pad);
			if (len < 0)
				fatal("asprintf");
			r = wsc_send_text(p->w, text, (size_t)len);
			free(text);
			if (r != 0) {
				p->closed = 1;
				if (!p->until_closed)
					TS_FAIL(p, "publisher %d: send failed "
					    "after %d: %s", p->k, p->sent,
					    wsc_error(p->w));
				goto out;
			}
			p->sent++;
		}
		if (p->no_recv)
			break;
		r = ts_pub_read(p, 1000);
		if (r < 0)
			break;
		answered += r;
	}
out:
	free(pad);
	return (NULL);
}

/* Read a publisher's answers until the pong of a ping sent after them. */
int
ts_pub_sync(struct ts_pub *p, const char *ref, int timeout_ms)
{
	struct wsc_msg	 m;
	json_t		*j;
	int64_t		 deadline = ts_now() + timeout_ms;
	int		 r, pong;

	if (hd_ws_send_json(p->w, "{\"op\":\"ping\",\"ref\":\"%s\"}",
	    ref) != 0) {
		TS_FAIL(p, "publisher %d: cannot send a ping", p->k);
		return (-1);
	}
	while (ts_now() < deadline) {
		r = wsc_recv(p->w, (int)(deadline - ts_now()), &m);
		if (r != 1 || m.opcode != WSC_TEXT) {
			if (r == 1)
				wsc_msg_free(&m);
			break;
		}
		j = json_loadb(m.data, m.len, 0, NULL);
		pong = ts_is_op(j, "pong") && ts_streq(ts_str(j, "ref"), ref);
		json_decref(j);
		if (!pong)
			r = ts_pub_answer(p, m.data, m.len);
		wsc_msg_free(&m);
		if (pong)
			return (0);
		if (r != 0)
			return (-1);
	}
	TS_FAIL(p, "publisher %d: no pong behind %d publishes", p->k, p->sent);
	return (-1);
}

/* Read the answers of a publisher that sent without reading. */
void
ts_pub_drain(struct ts_pub *p, int timeout_ms)
{
	int64_t	deadline = ts_now() + timeout_ms;

	while (!p->closed && ts_now() < deadline) {
		if (ts_pub_read(p, (int)(deadline - ts_now())) < 0)
			break;
	}
}

/* Prepare a subscriber. */
void
ts_sub_init(struct ts_sub *s, struct wsc *w, const char *channel,
    uint64_t first, uint64_t last)
{
	int	i;

	memset(s, 0, sizeof *s);
	s->w = w;
	s->channel = channel;
	s->first = first;
	s->last = last;
	s->next = first;
	s->deadline = ts_now() + 120000;
	for (i = 0; i < TS_MAXPUB; i++)
		s->lastidx[i] = -1;
}

/* The count received. */
uint64_t
ts_sub_got(struct ts_sub *s)
{
	return (__atomic_load_n(&s->got, __ATOMIC_RELAXED));
}

/* Check one message of a subscriber; 0 if it was the next one. */
static int
ts_sub_check(struct ts_sub *s, const char *text, size_t len)
{
	json_t		*j, *data;
	const char	*id;
	long long	 serial, k, i;
	char		 want[128];
	int		 r = -1;

	if ((j = json_loadb(text, len, 0, NULL)) == NULL) {
		TS_FAIL(s, "not JSON: %.200s", text);
		return (-1);
	}
	serial = ts_int(j, "serial");
	if (!ts_is_op(j, "message") || ts_str(j, "channel") == NULL ||
	    strcmp(ts_str(j, "channel"), s->channel) != 0) {
		TS_FAIL(s, "expected message %llu on %s, got %.300s",
		    (unsigned long long)s->next, s->channel, text);
		goto out;
	}
	if (serial < 0 || (uint64_t)serial != s->next) {
		TS_FAIL(s, "expected serial %llu, got %.300s",
		    (unsigned long long)s->next, text);
		goto out;
	}
	if (ts_int(j, "time") <= 0 || ts_str(j, "id") == NULL) {
		TS_FAIL(s, "message without time or id: %.300s", text);
		goto out;
	}
	if (s->check_pubs) {
		data = json_object_get(j, "data");
		k = ts_int(data, "k");
		i = ts_int(data, "i");
		if (k < 0 || k >= TS_MAXPUB || i < 0) {
			TS_FAIL(s, "data without k and i: %.300s", text);
			goto out;
		}
		if ((s->lastidx[k] == -1 && s->from_zero && i != 0) ||
		    (s->lastidx[k] != -1 && i != s->lastidx[k] + 1)) {
			TS_FAIL(s, "publisher %lld: expected index %d, got "
			    "%.300s", k, s->lastidx[k] + 1, text);
			goto out;
		}
		id = ts_str(j, "id");
		snprintf(want, sizeof want, "%s-%lld-%lld", s->tag, k, i);
		if (s->tag != NULL && strcmp(id, want) != 0) {
			TS_FAIL(s, "expected id %s, got %.300s", want, text);
			goto out;
		}
		s->lastidx[k] = (int)i;
		if (s->keys != NULL)
			s->keys[serial - s->first] = (uint32_t)(k << 24 | i);
	}
	s->next++;
	__atomic_add_fetch(&s->got, 1, __ATOMIC_RELAXED);
	r = 0;
out:
	json_decref(j);
	return (r);
}

/* Run a subscriber (a thread's start routine). */
void *
ts_sub_run(void *arg)
{
	struct ts_sub	*s = arg;
	struct wsc_msg	 m;
	int64_t		 left;
	int		 r;

	while (s->next <= s->last) {
		if ((left = s->deadline - ts_now()) <= 0) {
			TS_FAIL(s, "timed out waiting for serial %llu (want up "
			    "to %llu)", (unsigned long long)s->next,
			    (unsigned long long)s->last);
			break;
		}
		r = wsc_recv(s->w, (int)MIN(left, 1000), &m);
		if (r == 0)
			continue;
		if (r == -1) {
			TS_FAIL(s, "connection ended waiting for serial %llu: "
			    "%s", (unsigned long long)s->next,
			    wsc_error(s->w) != NULL ? wsc_error(s->w) :
			    "closed");
			break;
		}
		if (m.opcode != WSC_TEXT) {
			TS_FAIL(s, "expected serial %llu, got %s %u",
			    (unsigned long long)s->next, m.opcode == WSC_CLOSE ?
			    "close" : "binary", m.code);
			wsc_msg_free(&m);
			break;
		}
		if (s->frame_bytes == 0)
			s->frame_bytes = m.len;
		r = ts_sub_check(s, m.data, m.len);
		wsc_msg_free(&m);
		if (r != 0)
			break;
	}
	return (NULL);
}

/* Build one frame. */
size_t
ts_frame(uint8_t *buf, int opcode, const void *payload, size_t len,
    int masked)
{
	return (ts_frame_fin(buf, opcode, 1, payload, len, masked));
}

/* The same, with the FIN bit given (0: more frames of the message follow). */
size_t
ts_frame_fin(uint8_t *buf, int opcode, int fin, const void *payload,
    size_t len, int masked)
{
	static const uint8_t	 key[4] = { 0x37, 0xfa, 0x21, 0x3d };
	const uint8_t		*p = payload;
	size_t			 n = 0, i;

	buf[n++] = (fin ? 0x80 : 0) | (opcode & 0x0f);
	if (len < 126)
		buf[n++] = (masked ? 0x80 : 0) | (uint8_t)len;
	else if (len < 65536) {
		buf[n++] = (masked ? 0x80 : 0) | 126;
		buf[n++] = (uint8_t)(len >> 8);
		buf[n++] = (uint8_t)len;
	} else {
		buf[n++] = (masked ? 0x80 : 0) | 127;
		for (i = 0; i < 8; i++)
			buf[n++] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
	}
	if (masked) {
		memcpy(buf + n, key, 4);
		n += 4;
	}
	for (i = 0; i < len; i++)
		buf[n + i] = masked ? p[i] ^ key[i % 4] : p[i];
	return (n + len);
}

/* Read more bytes into a raw connection's buffer: >0, 0 timeout, -1. */
static int
ts_raw_fill(struct ts_raw *r, int64_t deadline)
{
	struct pollfd	pfd = { r->fd, POLLIN, 0 };
	ssize_t		n;
	int		left;

	left = (int)(deadline - ts_now());
	if (left < 0)
		left = 0;
	if (poll(&pfd, 1, left) <= 0)
		return (0);
	if (r->cap - r->len < 65536) {
		r->cap = r->len + 65536 * 2;
		r->buf = xrealloc(r->buf, r->cap);
	}
	n = recv(r->fd, r->buf + r->len, r->cap - r->len - 1, 0);
	if (n <= 0)
		return (-1);
	r->len += (size_t)n;
	r->buf[r->len] = '\0';
	return ((int)n);
}

/* Open a raw WebSocket with extra bytes after the upgrade. */
int
ts_raw_open(struct hd *hd, const void *extra, size_t extralen,
    struct ts_raw *r)
{
	int64_t	 deadline = ts_now() + TS_TIMEOUT;
	char	*req, *end;
	size_t	 hlen;
	int	 len;

	memset(r, 0, sizeof *r);
	if ((r->fd = hd_tcp(hd)) == -1)
		return (-1);
	len = asprintf(&req, "GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "Sec-WebSocket-Protocol: logwire.v1\r\n\r\n", hd_port(hd));
	if (len < 0)
		fatal("asprintf");
	req = xrealloc(req, (size_t)len + extralen);
	if (extralen > 0)
		memcpy(req + len, extra, extralen);
	if (send(r->fd, req, (size_t)len + extralen, MSG_NOSIGNAL) !=
	    (ssize_t)((size_t)len + extralen)) {
		free(req);
		return (-1);
	}
	free(req);
	for (;;) {
		if (r->len > 0 &&
		    (end = strstr((char *)r->buf, "\r\n\r\n")) != NULL)
			break;
		if (ts_raw_fill(r, deadline) <= 0) {
			fprintf(stderr, "  raw upgrade: no answer head: "
			    "%.200s\n", r->buf != NULL ? (char *)r->buf : "");
			return (-1);
		}
	}
	hlen = (size_t)(end - (char *)r->buf) + 4;
	r->head = xstrndup((char *)r->buf, hlen);
	memmove(r->buf, r->buf + hlen, r->len - hlen);
	r->len -= hlen;
	r->buf[r->len] = '\0';
	if (sscanf(r->head, "HTTP/1.1 %d", &r->status) != 1)
		return (-1);
	return (0);
}

/* Read one frame from a raw connection. */
int
ts_raw_frame(struct ts_raw *r, int timeout_ms, int *opcode, char **payload,
    size_t *len)
{
	int64_t		 deadline = ts_now() + timeout_ms;
	uint64_t	 plen;
	size_t		 hlen, i;
	int		 f;

	for (;;) {
		if (r->len >= 2) {
			if (r->buf[1] & 0x80) {
				fprintf(stderr, "  raw: server frame is "
				    "masked\n");
				return (-1);
			}
			plen = r->buf[1] & 0x7f;
			hlen = 2;
			if (plen == 126) {
				hlen = 4;
				plen = r->len >= 4 ?
				    (uint64_t)r->buf[2] << 8 | r->buf[3] : 0;
			} else if (plen == 127) {
				hlen = 10;
				plen = 0;
				for (i = 0; i < 8 && r->len >= 10; i++)
					plen = plen << 8 | r->buf[2 + i];
			}
			if (r->len >= hlen && r->len - hlen >= plen &&
			    plen < 0x10000000) {
				*opcode = r->buf[0] & 0x0f;
				*len = (size_t)plen;
				*payload = xmalloc(plen + 1);
				memcpy(*payload, r->buf + hlen, plen);
				(*payload)[plen] = '\0';
				memmove(r->buf, r->buf + hlen + plen,
				    r->len - hlen - plen);
				r->len -= hlen + plen;
				return (1);
			}
		}
		if ((f = ts_raw_fill(r, deadline)) <= 0)
			return (f);
	}
}

/* Close a raw connection. */
void
ts_raw_close(struct ts_raw *r)
{
	if (r->fd != -1)
		close(r->fd);
	free(r->head);
	free(r->buf);
	memset(r, 0, sizeof *r);
	r->fd = -1;
}
