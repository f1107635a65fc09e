/*
 * Subscriptions as cursors over the log, and the per-connection pump that
 * moves non-live cursors forward by reading LMDB.
 *
 * The replay -> live switch: the pump reads only up to the channel's
 * fanned-out head (ch->head), never beyond.  Everything after that head is
 * delivered by channel_publish() once its commit reaches the event loop.
 * Both run in the event loop thread, so when the cursor passes ch->head it
 * can turn live with no message missed and none repeated.
 */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "logwired.h"

/* Records and bytes one pump step may read for one subscription. */
#define SUB_CHUNK_COUNT	256
#define SUB_CHUNK_BYTES	(256 * 1024)
/* Records a whole pump call may read before yielding to other work. */
#define SUB_PUMP_BUDGET	4096

/* Find a connection's subscription to a channel by name. */
struct sub *
sub_find(struct conn *c, const char *name, size_t len)
{
	struct sub	*s;

	TAILQ_FOREACH(s, &c->subs, conn_entry) {
		if (s->name_len == len && memcmp(s->name, name, len) == 0)
			return (s);
	}
	return (NULL);
}

/* Create a subscription, not yet attached to a channel. */
struct sub *
sub_new(struct conn *c, const char *name, size_t len)
{
	struct sub	*s;

	s = xcalloc(1, sizeof *s);
	s->conn = c;
	s->name = xstrndup(name, len);
	s->name_len = len;
	TAILQ_INSERT_TAIL(&c->subs, s, conn_entry);
	c->nsubs++;
	return (s);
}

/* Attach to a channel with the cursor at next. */
void
sub_attach(struct sub *s, struct channel *ch, uint64_t next)
{
	s->chan = ch;
	s->next = next;
	s->live = next > ch->head;
	TAILQ_INSERT_TAIL(&ch->subs, s, chan_entry);
	ch->nsubs++;
	server.stats.subscriptions++;
	if (!s->live)
		conn_schedule_pump(s->conn);
}

/* Remove a subscription from its channel and connection and free it. */
void
sub_free(struct sub *s)
{
	if (s->chan != NULL) {
		TAILQ_REMOVE(&s->chan->subs, s, chan_entry);
		s->chan->nsubs--;
		server.stats.subscriptions--;
	}
	if (s->wreq != NULL)
		s->wreq->arg = NULL;
	TAILQ_REMOVE(&s->conn->subs, s, conn_entry);
	s->conn->nsubs--;
	free(s->name);
	free(s);
}

/* Send {"op":"gap"} for serials from..to that the log no longer has. */
void
sub_gap(struct sub *s, uint64_t from, uint64_t to, const char *reason)
{
	struct evbuffer	*b;

	b = evbuffer_new();
	evbuffer_add_lit(b, "{\"op\":\"gap\",\"channel\":");
	jstr_escape(b, s->name, s->name_len);
	evbuffer_add_printf(b, ",\"from\":%llu,\"to\":%llu,\"reason\":\"%s\"}",
	    (unsigned long long)from, (unsigned long long)to, reason);
	proto_send(s->conn, b);
	evbuffer_free(b);
}

/*
 * A pump chunk is encoded frame after frame into one array and queued on
 * the connection with a single evbuffer_add: one allocation per chunk
 * instead of a new evbuffer chain every few frames (with 10k clients
 * resuming at once, those allocations were most of the server's time).
 */
struct sub_pump_arg {
	struct sub	*sub;
	struct jbuf	*scratch;	/* one message */
	struct jbuf	*batch;		/* the chunk's frames */
	size_t		 n;
};

/* Queue the frames gathered so far on the connection. */
static void
sub_pump_flush(struct sub_pump_arg *pa)
{
	const char	*text;
	size_t		 len;

	text = jbuf_text(pa->batch, &len);
	if (len > 0 && pa->sub->conn->state == CONN_WS_OPEN)
		conn_send(pa->sub->conn, text, len);
	jbuf_reset(pa->batch);
}

/* Encode one record read from the log onto the connection's output. */
static int
sub_pump_rec(const struct store_rec *rec, void *arg)
{
	struct sub_pump_arg	*pa = arg;
	struct sub		*s = pa->sub;

	const char		*f;
	size_t			 flen;

	if (rec->serial > s->next) {
		sub_pump_flush(pa);
		sub_gap(s, s->next, rec->serial - 1, "retention");
	}
	jbuf_reset(pa->scratch);
	frame_encode(pa->scratch, 1, s->name, s->name_len, rec);
	f = frame_wrap(pa->scratch, &flen);
	jbuf_add(pa->batch, f, flen);
	s->next = rec->serial + 1;
	pa->n++;
	server.stats.deliveries++;
	server.stats.sent_bytes += rec->data_len;
	return (0);
}

/* Move one subscription forward by one chunk; returns records read. */
static size_t
sub_pump_one(struct sub *s, struct jbuf *scratch, struct jbuf *batch)
{
	struct sub_pump_arg	 pa = { s, scratch, batch, 0 };
	struct channel		*ch = s->chan;
	int			 rc;

	if (s->next <= ch->head) {
		jbuf_reset(batch);
		rc = store_read(server.reader, ch->id, s->next, ch->head, 0,
		    SUB_CHUNK_COUNT, SUB_CHUNK_BYTES, sub_pump_rec, &pa);
		sub_pump_flush(&pa);
		if (rc < 0) {
			log_error("reading %s from %llu: %s", ch->name,
			    (unsigned long long)s->next, store_strerror(rc));
			proto_error(s->conn, NULL, ERR_INTERNAL,
			    "cannot read channel %s at serial %llu: %s",
			    ch->name, (unsigned long long)s->next,
			    store_strerror(rc));
			/* Skip what cannot be read rather than spin on it. */
			sub_gap(s, s->next, s->next, "unreadable");
			s->next++;
		} else if (rc == 0) {
			/* Trimmed away up to the head while we were behind. */
			sub_gap(s, s->next, ch->head, "retention");
			s->next = ch->head + 1;
		}
	}
	if (s->next > ch->head)
		s->live = 1;
	return (pa.n);
}

/*
 * Pump the connection's non-live subscriptions, round robin by chunk, until
 * they are live, the output is over the watermark (the write callback
 * resumes at the low watermark), or the budget is spent (the pump event is
 * scheduled again so other connections get their turn).
 */
void
sub_pump(struct conn *c)
{
	static struct jbuf	 scratch, batch;
	struct sub		*s;
	size_t			 budget = SUB_PUMP_BUDGET;
	int			 behind;

	for (;;) {
		behind = 0;
		TAILQ_FOREACH(s, &c->subs, conn_entry) {
			if (s->chan == NULL || s->live)
				continue;
			if (conn_over_watermark(c))
				return;
			budget -= MIN(budget, sub_pump_one(s, &scratch, &batch) + 1);
			if (!s->live)
				behind = 1;
		}
		if (!behind)
			return;
		if (budget == 0) {
			conn_schedule_pump(c);
			return;
		}
	}
}
