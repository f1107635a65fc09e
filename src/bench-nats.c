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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nats/nats.h>

#include "bench.h"
#include "logwire.h"

#define BNATS_POLL_US		1000	/* main thread polling */
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
	double			 cpu_server0;
	double			 cpu_client0;
	double			 t0;
};

/* Return the monotonic clock in nanoseconds. */
static uint64_t
bnats_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec);
}

/* Read an atomic counter. */
static uint64_t
bnats_load(uint64_t *p)
{
	return (__atomic_load_n(p, __ATOMIC_RELAXED));
}

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
			benchhist_add(c->lat, bnats_ns() - t);
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
	jsOptions		 jo;
	struct bnats		*b = (struct bnats *)c->err;	/* unused */
	char			*data;
	size_t			 len = cfg->size < 8 ? 8 : cfg->size;
	uint64_t		 i, t;
	natsStatus		 s;

	(void)b;
	(void)jo;
	data = xmalloc(len);
	benchnet_payload(data, len, 0x9e3779b97f4a7c15ULL);
	for (i = 0; i < c->to_send; i++) {
		t = bnats_ns();
		memcpy(data, &t, sizeof t);
		s = js_PublishAsync(c->js, (const char *)c->sub == NULL ?
		    ((char **)c->thread)[0] : NULL, data, (int)len, NULL);
		if (s != NATS_OK)
			break;
	}
	free(data);
	return (NULL);
}
