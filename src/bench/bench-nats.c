/*
 * bench-nats.c: the network scenarios of logwire-bench against nats-server,
 * with Debian's libnats (--target nats://HOST:PORT), so that logwired and
 * its peer are measured by the same load generator.  Built only when
 * configure found libnats.
 *
 * The mapping: a logwire channel is a subject <prefix>.<n>; the JetStream
 * stream <prefix> (file storage) holds them all.
 * - publish: P connections, each with js_PublishAsync and at most W acks
 *   outstanding (MaxPending), in a thread of its own;
 * - fanout: core NATS (no stream), C connections of one subscription each,
 *   one publisher connection paced at R msg/s;
 * - replay: pre-fill the stream with async publishes, then K ordered
 *   push consumers from the first message;
 * - resume: pre-fill M messages; (restart the server); K new connections
 *   each create an ordered consumer starting B messages before the end:
 *   the resume storm that a logwire client's "from" is;
 * - connections: K connections, one core subscription each.
 *
 * libnats calls message and ack handlers on its own threads, so each
 * handler touches only the counters of its own connection, with atomic
 * updates where the main thread polls them.
 */

#include "config.h"

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nats/nats.h>

#include "bench.h"
#include "common.h"
#include "storage.h"

#define BNATS_POLL_US		1000	/* main thread polling */
#define BNATS_STORM_THREADS	16	/* parallel connects */
#define BNATS_STALL_MS		60000	/* js_PublishAsync wait at MaxPending */

/* One connection of a scenario and what its handlers counted. */
struct bnats_conn {
	const struct benchnet_cfg *cfg;
	natsConnection		*nc;
	jsCtx			*js;
	natsSubscription	*sub;
	pthread_t		 thread;
	uint64_t		 to_send;
	uint64_t		 first;		/* index of its first message */
	uint64_t		 want;
	uint64_t		 received;	/* atomic */
	uint64_t		 acked;		/* atomic */
	uint64_t		 errors;	/* atomic */
	uint64_t		 last;
	uint64_t		 out_of_order;
	char			**subjects;	/* round robin */
	int			 stamped;
	struct benchhist	*lat;
	char			 err[128];
};

struct bnats {
	const struct benchnet_cfg *cfg;
	struct benchnet_res	*res;
	char			 url[300];
	char			 stream[256];
	char			 subj_all[260];
	char			**subjects;
	double			 deadline;
	struct benchnet_meter	 m;
};

/* Read an atomic counter. */
static uint64_t
bnats_load(uint64_t *p)
{
	return (__atomic_load_n(p, __ATOMIC_RELAXED));
}

static void	bnats_ack_cb(jsCtx *, natsMsg *, jsPubAck *, jsPubAckErr *,
		    void *);

/* Connect one client; return 0 or -1 with *cause set. */
static int
bnats_connect(struct bnats *b, struct bnats_conn *c, int js, char **cause)
{
	natsOptions	*o = NULL;
	natsStatus	 s;
	jsOptions	 jo;

	if ((s = natsOptions_Create(&o)) == NATS_OK)
		s = natsOptions_SetURL(o, b->url);
	if (s == NATS_OK)
		s = natsOptions_UseGlobalMessageDelivery(o, true);
	if (s == NATS_OK)
		s = natsOptions_SetMaxPendingMsgs(o, 1000000);
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(o, 10000);
	if (s == NATS_OK)
		s = natsConnection_Connect(&c->nc, o);
	natsOptions_Destroy(o);
	if (s == NATS_OK && js) {
		jsOptions_Init(&jo);
		jo.PublishAsync.MaxPending = c->cfg->window;
		jo.PublishAsync.StallWait = BNATS_STALL_MS;
		jo.PublishAsync.AckHandler = bnats_ack_cb;
		jo.PublishAsync.AckHandlerClosure = c;
		jo.Wait = 30000;
		s = natsConnection_JetStream(&c->js, c->nc, &jo);
	}
	if (s != NATS_OK) {
		xasprintf(cause, "nats connect %s: %s", b->url,
		    natsStatus_GetText(s));
		return (-1);
	}
	return (0);
}

/* Close and free a client's connection. */
static void
bnats_close(struct bnats_conn *c)
{
	if (c->sub != NULL) {
		natsSubscription_Unsubscribe(c->sub);
		natsSubscription_Destroy(c->sub);
	}
	if (c->js != NULL)
		jsCtx_Destroy(c->js);
	if (c->nc != NULL) {
		natsConnection_Close(c->nc);
		natsConnection_Destroy(c->nc);
	}
	c->sub = NULL;
	c->js = NULL;
	c->nc = NULL;
}

/* Create the stream of the run (file storage), replacing an old one. */
static int
bnats_stream(struct bnats *b, struct bnats_conn *c, char **cause)
{
	jsStreamConfig	 sc;
	jsStreamInfo	*si = NULL;
	jsErrCode	 jerr = 0;
	const char	*subjects[1];
	natsStatus	 s;

	js_DeleteStream(c->js, b->stream, NULL, &jerr);
	jsStreamConfig_Init(&sc);
	sc.Name = b->stream;
	subjects[0] = b->subj_all;
	sc.Subjects = subjects;
	sc.SubjectsLen = 1;
	sc.Storage = js_FileStorage;
	if ((s = js_AddStream(&si, c->js, &sc, NULL, &jerr)) != NATS_OK) {
		xasprintf(cause, "js_AddStream: %s (%d)", natsStatus_GetText(s),
		    (int)jerr);
		return (-1);
	}
	jsStreamInfo_Destroy(si);
	return (0);
}

/* A JetStream ack (or its failure) for one async publish. */
static void
bnats_ack_cb(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae,
    void *arg)
{
	struct bnats_conn	*c = arg;
	uint64_t		 t;

	if (pa != NULL) {
		if (c->lat != NULL && natsMsg_GetDataLength(msg) >= 8) {
			memcpy(&t, natsMsg_GetData(msg), sizeof t);
			benchhist_add(c->lat, mono_ns() - t);
		}
		__atomic_add_fetch(&c->acked, 1, __ATOMIC_RELAXED);
	} else {
		if (c->err[0] == '\0' && pae != NULL)
			snprintf(c->err, sizeof c->err, "publish: %s",
			    natsStatus_GetText(pae->Err));
		__atomic_add_fetch(&c->errors, 1, __ATOMIC_RELAXED);
	}
	natsMsg_Destroy(msg);
}

/* Publish c->to_send messages asynchronously, window-limited. */
static void *
bnats_publisher(void *arg)
{
	struct bnats_conn	*c = arg;
	const struct benchnet_cfg *cfg = c->cfg;
	char			*data;
	size_t			 len = cfg->size < 8 ? 8 : cfg->size;
	uint64_t		 i, t;
	natsStatus		 s;

	data = xmalloc(len);
	benchnet_payload(data, len, 0x9e3779b97f4a7c15ULL);
	for (i = 0; i < c->to_send; i++) {
		t = mono_ns();
		memcpy(data, &t, sizeof t);
		s = js_PublishAsync(c->js, c->subjects[(c->first + i) %
		    cfg->channels], data, (int)len, NULL);
		if (s != NATS_OK) {
			snprintf(c->err, sizeof c->err, "js_PublishAsync: %s",
			    natsStatus_GetText(s));
			__atomic_add_fetch(&c->errors, 1, __ATOMIC_RELAXED);
			break;
		}
	}
	free(data);
	return (NULL);
}

/* Sum a counter over n clients. */
static uint64_t
bnats_sum(struct bnats_conn *cs, size_t n, size_t off)
{
	uint64_t	t = 0;
	size_t		i;

	for (i = 0; i < n; i++)
		t += bnats_load((uint64_t *)((char *)&cs[i] + off));
	return (t);
}

/* Wait until the counter at off sums to want over n clients, or timeout. */
static int
bnats_wait(struct bnats *b, struct bnats_conn *cs, size_t n, size_t off,
    uint64_t want)
{
	while (bnats_sum(cs, n, off) < want) {
		if (bnats_sum(cs, n, offsetof(struct bnats_conn, errors)) > 0)
			return (-1);
		if (bench_now() > b->deadline) {
			b->res->timed_out = 1;
			return (-1);
		}
		usleep(BNATS_POLL_US);
	}
	return (0);
}

/*
 * Publish n messages over the stream's subjects from np connections in
 * parallel, each with its window, and wait for every ack.
 */
static int
bnats_publish(struct bnats *b, struct bnats_conn *pubs, size_t np, uint64_t n,
    char **cause)
{
	size_t		i;
	uint64_t	first = 0;
	int		error;

	for (i = 0; i < np; i++) {
		pubs[i].to_send = n / np + (i < n % np ? 1 : 0);
		pubs[i].first = first;
		first += pubs[i].to_send;
		if (pthread_create(&pubs[i].thread, NULL, bnats_publisher,
		    &pubs[i]) != 0)
			fatalx("pthread_create failed");
	}
	error = bnats_wait(b, pubs, np, offsetof(struct bnats_conn, acked), n);
	for (i = 0; i < np; i++)
		pthread_join(pubs[i].thread, NULL);
	b->res->sent += n;
	b->res->acked += bnats_sum(pubs, np, offsetof(struct bnats_conn,
	    acked));
	b->res->errors += bnats_sum(pubs, np, offsetof(struct bnats_conn,
	    errors));
	if (error != 0) {
		for (i = 0; i < np && pubs[i].err[0] == '\0'; i++)
			;
		xasprintf(cause, "%s", i < np ? pubs[i].err :
		    b->res->timed_out ? "timed out waiting for acks" :
		    "publish failed");
	}
	return (error);
}

/* A message for a subscriber (core or JetStream). */
static void
bnats_msg_cb(natsConnection *nc, natsSubscription *sub, natsMsg *msg,
    void *arg)
{
	struct bnats_conn	*c = arg;
	uint64_t		 t, seq = 0, now;
	jsMsgMetaData		*meta = NULL;

	if (c->stamped && natsMsg_GetDataLength(msg) >= 8) {
		memcpy(&t, natsMsg_GetData(msg), sizeof t);
		now = mono_ns();
		benchhist_add(c->lat, now > t ? now - t : 0);
	}
	if (c->js != NULL && natsMsg_GetMetaData(&meta, msg) == NATS_OK) {
		seq = meta->Sequence.Stream;
		jsMsgMetaData_Destroy(meta);
		if (seq <= c->last)
			c->out_of_order++;
		c->last = seq;
	}
	natsMsg_Destroy(msg);
	__atomic_add_fetch(&c->received, 1, __ATOMIC_RELEASE);
}

/* Subscribe a client: core, or an ordered JetStream consumer from start. */
static int
bnats_subscribe(struct bnats *b, struct bnats_conn *c, const char *subj,
    uint64_t start, char **cause)
{
	jsSubOptions	so;
	jsErrCode	jerr = 0;
	natsStatus	s;

	if (c->js == NULL) {
		s = natsConnection_Subscribe(&c->sub, c->nc, subj, bnats_msg_cb,
		    c);
		if (s == NATS_OK)
			s = natsSubscription_SetPendingLimits(c->sub, -1, -1);
		if (s == NATS_OK)
			s = natsConnection_Flush(c->nc);
	} else {
		jsSubOptions_Init(&so);
		so.Ordered = true;
		if (start > 1) {
			so.Config.DeliverPolicy = js_DeliverByStartSequence;
			so.Config.OptStartSeq = start;
		}
		s = js_Subscribe(&c->sub, c->js, subj, bnats_msg_cb, c, NULL,
		    &so, &jerr);
		if (s == NATS_OK)
			s = natsSubscription_SetPendingLimits(c->sub, -1, -1);
	}
	if (s != NATS_OK) {
		xasprintf(cause, "subscribe %s: %s (%d)", subj,
		    natsStatus_GetText(s), (int)jerr);
		return (-1);
	}
	return (0);
}

/* A latency histogram of one connection's, merged into the result later. */
static struct benchhist *
bnats_hist_new(void)
{
	struct benchhist	*h;

	h = xmalloc(sizeof *h);
	benchhist_init(h);
	return (h);
}

/* Sum what the subscribers saw into the result. */
static void
bnats_collect(struct bnats *b, struct bnats_conn *subs, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		b->res->delivered += bnats_load(&subs[i].received);
		b->res->out_of_order += subs[i].out_of_order;
		if (bnats_load(&subs[i].received) >= subs[i].want)
			b->res->caught_up++;
		if (subs[i].lat != NULL && subs[i].lat != &b->res->lat)
			benchhist_merge(&b->res->lat, subs[i].lat);
	}
}

/* publish: P threads of async JetStream publishes. */
static int
bnats_run_publish(struct bnats *b, struct bnats_conn *cs, char **cause)
{
	const struct benchnet_cfg *cfg = b->cfg;
	size_t		 i, n = cfg->conns;
	int		 error;

	for (i = 0; i < n; i++)
		cs[i].lat = bnats_hist_new();
	benchnet_measure_start(&b->m, b->res);
	error = bnats_publish(b, cs, n, cfg->messages, cause);
	benchnet_measure_end(&b->m, b->res);
	for (i = 0; i < n; i++)
		benchhist_merge(&b->res->lat, cs[i].lat);
	return (error);
}

/* fanout: core NATS, C subscriber connections, one paced publisher. */
static int
bnats_run_fanout(struct bnats *b, struct bnats_conn *cs, char **cause)
{
	const struct benchnet_cfg *cfg = b->cfg;
	struct bnats_conn	*pub = &cs[0], *subs = &cs[1];
	size_t			 i, n = cfg->conns;
	char			*data;
	size_t			 len = cfg->size < 8 ? 8 : cfg->size;
	uint64_t		 sent, due, t;
	double			 start;
	natsStatus		 s = NATS_OK;
	int			 error;

	for (i = 0; i < n; i++) {
		subs[i].stamped = 1;
		subs[i].want = cfg->messages;
		subs[i].lat = bnats_hist_new();
		if (bnats_subscribe(b, &subs[i], b->subjects[0], 0, cause) != 0)
			return (-1);
		b->res->subscribed++;
	}
	data = xmalloc(len);
	benchnet_payload(data, len, 1);
	benchnet_measure_start(&b->m, b->res);
	start = bench_now();
	for (sent = 0; sent < cfg->messages && s == NATS_OK; ) {
		due = cfg->rate == 0 ? cfg->messages :
		    (uint64_t)((bench_now() - start) * cfg->rate) + 1;
		if (due > cfg->messages)
			due = cfg->messages;
		if (sent >= due) {
			usleep(200);
			continue;
		}
		for (; sent < due && s == NATS_OK; sent++) {
			t = mono_ns();
			memcpy(data, &t, sizeof t);
			s = natsConnection_Publish(pub->nc, b->subjects[0], data,
			    (int)len);
		}
		if (bench_now() > b->deadline)
			break;
	}
	if (s == NATS_OK)
		s = natsConnection_Flush(pub->nc);
	free(data);
	b->res->sent = sent;
	b->res->acked = sent;		/* core NATS: no acks */
	if (s != NATS_OK) {
		xasprintf(cause, "publish: %s", natsStatus_GetText(s));
		return (-1);
	}
	error = bnats_wait(b, subs, n, offsetof(struct bnats_conn, received),
	    n * cfg->messages);
	benchnet_measure_end(&b->m, b->res);
	bnats_collect(b, subs, n);
	if (error != 0) {
		xasprintf(cause, "timed out before every delivery");
		return (-1);
	}
	return (0);
}

/* A share of a connection storm. */
struct bnats_storm {
	struct bnats		*b;
	struct bnats_conn	*cs;
	size_t			 lo, hi;
	int			 connect;
	const char		*subj;	/* NULL: the client's channel */
	uint64_t		 start;
	char			*cause;
};

/* Connect (if asked) and subscribe the clients of one share. */
static void *
bnats_storm_one(void *arg)
{
	struct bnats_storm	*w = arg;
	struct bnats_conn	*c;
	size_t			 i;
	int			 js = w->subj != NULL;

	for (i = w->lo; i < w->hi && w->cause == NULL; i++) {
		c = &w->cs[i];
		if (bench_now() > w->b->deadline) {
			xasprintf(&w->cause, "timed out connecting");
			break;
		}
		if (w->connect && bnats_connect(w->b, c, js, &w->cause) != 0)
			break;
		bnats_subscribe(w->b, c, w->subj != NULL ? w->subj :
		    c->subjects[i % w->b->cfg->channels], w->start, &w->cause);
	}
	return (NULL);
}

/*
 * Connect and subscribe n clients from BNATS_STORM_THREADS threads, as
 * many independent clients would: each JetStream consumer is a request
 * and reply, so doing them one by one would measure the round trips.
 */
static int
bnats_storm(struct bnats *b, struct bnats_conn *cs, size_t n, int connect,
    const char *subj, uint64_t start, char **cause)
{
	struct bnats_storm	w[BNATS_STORM_THREADS];
	pthread_t		t[BNATS_STORM_THREADS];
	size_t			i, nt = MIN(n, BNATS_STORM_THREADS);
	int			error = 0;

	for (i = 0; i < nt; i++) {
		memset(&w[i], 0, sizeof w[i]);
		w[i].b = b;
		w[i].cs = cs;
		w[i].lo = n * i / nt;
		w[i].hi = n * (i + 1) / nt;
		w[i].connect = connect;
		w[i].subj = subj;
		w[i].start = start;
		if (pthread_create(&t[i], NULL, bnats_storm_one, &w[i]) != 0)
			fatalx("pthread_create failed");
	}
	for (i = 0; i < nt; i++) {
		pthread_join(t[i], NULL);
		if (w[i].cause != NULL) {
			if (error == 0)
				*cause = w[i].cause;
			else
				free(w[i].cause);
			error = -1;
		}
	}
	if (error != 0 && bench_now() > b->deadline)
		b->res->timed_out = 1;
	return (error);
}

/* replay and resume: pre-fill, then K ordered consumers from a start. */
static int
bnats_run_replay(struct bnats *b, struct bnats_conn *cs, char **cause)
{
	const struct benchnet_cfg *cfg = b->cfg;
	struct bnats_conn	*pub = &cs[0], *subs = &cs[1];
	size_t			 i, n = cfg->conns;
	uint64_t		 start = 1, want = cfg->messages, got;
	double			 t, first = 0;
	int			 resume = strcmp(cfg->scenario, "resume") == 0;
	int			 status;

	if (bnats_stream(b, pub, cause) != 0)
		return (-1);
	t = bench_now();
	if (bnats_publish(b, pub, 1, cfg->messages, cause) != 0)
		return (-1);
	b->res->prefill_s = bench_now() - t;
	if (resume) {
		start = cfg->messages - cfg->behind + 1;
		want = cfg->behind;
		if (cfg->restart_cmd != NULL) {
			bnats_close(pub);
			t = bench_now();
			if ((status = system(cfg->restart_cmd)) != 0) {
				xasprintf(cause, "--restart-cmd exited with "
				    "%d", status);
				return (-1);
			}
			b->res->restart_s = bench_now() - t;
			b->res->restarted = 1;
			if (bnats_connect(b, pub, 1, cause) != 0)
				return (-1);
			if (cfg->pid == 0)
				b->res->server_pid =
				    benchnet_find_pid(cfg->port);
		}
	}
	benchnet_measure_start(&b->m, b->res);
	for (i = 0; i < n; i++) {
		subs[i].want = want;
		subs[i].last = start - 1;
	}
	if (bnats_storm(b, subs, n, resume, b->subj_all, start, cause) != 0)
		return (-1);
	b->res->subscribed += n;
	if (resume)
		b->res->resumed += n;
	b->res->subscribe_s = bench_now() - b->m.t0;
	b->res->connect_s = b->res->subscribe_s;
	while ((got = bnats_sum(subs, n, offsetof(struct bnats_conn,
	    received))) < n * want) {
		if (first == 0 && bnats_load(&subs[0].received) >= want)
			first = bench_now() - b->m.t0;
		if (bench_now() > b->deadline) {
			b->res->timed_out = 1;
			xasprintf(cause, "timed out: %llu of %llu delivered",
			    (unsigned long long)got,
			    (unsigned long long)(n * want));
			benchnet_measure_end(&b->m, b->res);
			bnats_collect(b, subs, n);
			return (-1);
		}
		usleep(BNATS_POLL_US);
	}
	benchnet_measure_end(&b->m, b->res);
	b->res->first_caught_s = first > 0 ? first : b->res->seconds;
	bnats_collect(b, subs, n);
	return (0);
}

/* connections: K connections with one core subscription each, then RSS. */
static int
bnats_run_connections(struct bnats *b, struct bnats_conn *cs, char **cause)
{
	const struct benchnet_cfg *cfg = b->cfg;
	size_t		 n = cfg->conns;

	b->res->rss_base_kb = proc_status_kb(b->res->server_pid, "VmRSS");
	benchnet_measure_start(&b->m, b->res);
	if (bnats_storm(b, cs, n, 1, NULL, 0, cause) != 0)
		return (-1);
	b->res->subscribed += n;
	benchnet_measure_end(&b->m, b->res);
	b->res->subscribe_s = b->res->seconds;
	b->res->caught_up = n;
	usleep(cfg->hold_ms * 1000);
	b->res->rss_kb = proc_status_kb(b->res->server_pid, "VmRSS");
	b->res->client_rss_kb = proc_status_kb(0, "VmRSS");
	return (0);
}

/* Run a network scenario against nats-server. */
int
benchnats_run(const struct benchnet_cfg *cfg, struct benchnet_res *res,
    char **cause)
{
	struct bnats		 b;
	struct bnats_conn	*cs;
	size_t			 i, n, npub = 0;
	int			 error = -1, js;

	memset(&b, 0, sizeof b);
	b.cfg = cfg;
	b.res = res;
	b.deadline = bench_now() + cfg->timeout_ms / 1e3;
	snprintf(b.url, sizeof b.url, "nats://%s:%d", cfg->host, cfg->port);
	snprintf(b.stream, sizeof b.stream, "%s", cfg->prefix);
	snprintf(b.subj_all, sizeof b.subj_all, "%s.>", cfg->prefix);
	b.subjects = xcalloc(cfg->channels, sizeof *b.subjects);
	for (i = 0; i < cfg->channels; i++)
		xasprintf(&b.subjects[i], "%s.%zu", cfg->prefix, i);
	nats_SetMessageDeliveryPoolSize(2);

	if (strcmp(cfg->scenario, "publish") == 0)
		npub = cfg->conns;
	else if (strcmp(cfg->scenario, "connections") != 0)
		npub = 1;
	n = strcmp(cfg->scenario, "publish") == 0 ? npub : npub + cfg->conns;
	cs = xcalloc(n, sizeof *cs);
	res->clients = n;
	for (i = 0; i < n; i++) {
		cs[i].cfg = cfg;
		cs[i].subjects = b.subjects;
	}
	if (strcmp(cfg->scenario, "fanout") == 0 ||
	    strcmp(cfg->scenario, "replay") == 0)
		res->expected = cfg->conns * cfg->messages;
	else if (strcmp(cfg->scenario, "resume") == 0)
		res->expected = cfg->conns * cfg->behind;

	/* Publishers (and replay's readers) connect before the clock. */
	js = strcmp(cfg->scenario, "fanout") != 0;
	for (i = 0; i < n; i++) {
		if (strcmp(cfg->scenario, "connections") == 0 ||
		    (strcmp(cfg->scenario, "resume") == 0 && i >= npub))
			break;
		if (bnats_connect(&b, &cs[i], js, cause) != 0)
			goto out;
	}
	if (strcmp(cfg->scenario, "publish") == 0) {
		if ((error = bnats_stream(&b, &cs[0], cause)) == 0)
			error = bnats_run_publish(&b, cs, cause);
	} else if (strcmp(cfg->scenario, "fanout") == 0)
		error = bnats_run_fanout(&b, cs, cause);
	else if (strcmp(cfg->scenario, "connections") == 0)
		error = bnats_run_connections(&b, cs, cause);
	else
		error = bnats_run_replay(&b, cs, cause);
	if (js && cs[0].js != NULL)
		js_DeleteStream(cs[0].js, b.stream, NULL, NULL);
out:
	for (i = 0; i < n; i++) {
		bnats_close(&cs[i]);
		if (cs[i].lat != NULL && cs[i].lat != &res->lat)
			free(cs[i].lat);
	}
	free(cs);
	for (i = 0; i < cfg->channels; i++)
		free(b.subjects[i]);
	free(b.subjects);
	return (error);
}
