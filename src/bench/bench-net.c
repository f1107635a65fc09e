/*
 * bench-net.c: the network scenarios of logwire-bench (publish, fanout,
 * replay, resume, connections) against a running logwired, over many
 * non-blocking WebSocket connections on one event loop (bench-ws.c).
 *
 * A scenario is a short sequence of phases.  Each phase waits for a
 * count to reach its target (connections open, subscriptions answered,
 * publishes acknowledged, subscribers caught up); benchnet_check() runs
 * after every event and, when the current phase is complete, calls the
 * scenario's step function, which starts the next one.  Everything is
 * bounded: the counts are fixed before a phase starts, and a deadline
 * (--timeout) stops the loop whatever happened.
 *
 * The replies are not parsed with a JSON library: at a million deliveries
 * a second that would be the bottleneck.  The server writes "op" first,
 * then the fields this file reads ("ref", "serial", "epoch", "head",
 * "resumed") before "data", and the channel names are ours, so a search
 * for the member name is exact.
 */

#include "config.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <jansson.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "client.h"
#include "common.h"
#include "storage.h"

#define BN_MAX_CONNECTING	256	/* handshakes in flight at once */
#define BN_PER_SOURCE		20000	/* connections per source address */
#define BN_TICK_US		1000	/* rate-limited publishing tick */
#define BN_READY_POLL_MS	50	/* waiting for /healthz */

enum bn_phase {
	BN_CONNECT,		/* want_open clients open */
	BN_SUBSCRIBE,		/* want_sub subscriptions answered */
	BN_PUBLISH,		/* to_send acknowledged (and caught up) */
	BN_CATCHUP,		/* every subscriber has its messages */
	BN_HOLD,		/* a timer ends it */
	BN_DONE,
};

enum bn_role {
	BN_PUB,
	BN_SUB,
};

struct benchnet;

/* One connection of a scenario. */
struct bn_client {
	struct benchnet	*bn;
	struct benchws	*ws;
	size_t		 idx;
	enum bn_role	 role;
	const char	*channel;
	const char	*msgpre;	/* a message starts so */
	size_t		 msgprelen;
	int		 open;

	/* Publisher: send times of the refs in flight, by ref % nslots. */
	uint64_t	 inflight;
	uint64_t	 nextref;
	uint64_t	*slotref;
	double		*slott;
	size_t		 nslots;

	/* Subscriber. */
	int		 subscribed;
	int		 caught;
	uint64_t	 want;		/* messages to receive */
	uint64_t	 received;
	uint64_t	 last;		/* last serial seen */
	uint64_t	 head;		/* from "subscribed" */
	char		 epoch[17];
};

struct benchnet {
	struct benchnet_cfg	*cfg;
	struct benchnet_res	*res;
	struct event_base	*base;
	struct benchws_loop	*wsloop;
	struct event		*deadline;
	struct event		*timer;		/* tick or hold */
	enum bn_phase		 phase;
	void			(*step)(struct benchnet *);
	int			 stage;		/* the scenario's own */
	int			 failed;
	char			*cause;

	struct bn_client	*clients;
	size_t			 nclients;
	size_t			 first_sub;	/* subscribers: [first_sub, */
	size_t			 end_sub;	/*   end_sub) */
	size_t			 next_connect;	/* [0, want_open) to open */
	size_t			 want_open;
	size_t			 connecting;
	size_t			 opened;
	size_t			 nsubscribed;
	size_t			 caught;

	char			**names;
	char			**msgpres;	/* by channel */
	char			*payload;	/* JSON string, cfg->size */
	char			*buf;
	size_t			 bufsz;
	int			 stamped;	/* payload carries "t" */
	uint64_t		 to_send;	/* this phase */
	uint64_t		 sent;
	uint64_t		 acked;
	uint64_t		 allowed;	/* rate limit */
	int			 record_acks;
	struct benchnet_meter	 m;		/* m.t0: start of the phase */
	double			 t_last;
	int			 reconnecting;	/* resume, second half */
};

static void	bn_check(struct benchnet *);

/* Stop the scenario with an error; the first cause is kept. */
static void
bn_fail(struct benchnet *bn, const char *fmt, ...)
{
	va_list	ap;

	if (!bn->failed) {
		va_start(ap, fmt);
		if (vasprintf(&bn->cause, fmt, ap) == -1)
			fatalx("out of memory");
		va_end(ap);
	}
	bn->failed = 1;
	bn->res->errors++;
	event_base_loopbreak(bn->base);
}

/* Parse the decimal number at [p, end); there must be a digit. */
static int
bn_digits(const char *p, const char *end, uint64_t *out)
{
	uint64_t	v = 0;

	if (p >= end || *p < '0' || *p > '9')
		return (-1);
	while (p < end && *p >= '0' && *p <= '9')
		v = v * 10 + (*p++ - '0');
	*out = v;
	return (0);
}

/* Find "key" (with its quotes and colon) in a message and parse a number. */
static int
bn_u64(const char *s, size_t len, const char *key, uint64_t *out)
{
	const char	*p;
	size_t		 klen = strlen(key);

	if ((p = memmem(s, len, key, klen)) == NULL)
		return (-1);
	return (bn_digits(p + klen, s + len, out));
}

/*
 * Does the message start with op?  The prefixes are literals, so this is
 * one memcmp of a known length.
 */
#define BN_OP(op)		"{\"op\":\"" op "\""
#define bn_is_op(s, len, op)	((len) >= sizeof BN_OP(op) - 1 && \
				    memcmp((s), BN_OP(op), \
				    sizeof BN_OP(op) - 1) == 0)

/* Fill buf with a JSON string of exactly size bytes (size >= 2). */
void
benchnet_payload(char *buf, size_t size, uint64_t seed)
{
	static const char	 alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	uint64_t		 x = seed | 1;
	size_t			 i;

	buf[0] = '"';
	for (i = 1; i + 1 < size; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = alphabet[x % 64];
	}
	buf[size - 1] = '"';
}

/* Return the CPU time (user + system) of a process in seconds, or -1. */
double
benchnet_proc_cpu(pid_t pid)
{
	unsigned long long	 ut, st;
	char			 path[64], line[1024], *p;
	FILE			*f;
	int			 ok;

	if (pid <= 0)
		return (-1);
	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	ok = fgets(line, sizeof line, f) != NULL;
	fclose(f);
	/* The command may hold spaces: fields count from its ')'. */
	if (!ok || (p = strrchr(line, ')')) == NULL)
		return (-1);
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
	    "%llu %llu", &ut, &st) != 2)
		return (-1);
	return ((double)(ut + st) / sysconf(_SC_CLK_TCK));
}

/* Return the inode of the socket listening on TCP port, or 0. */
static unsigned long
bn_listen_inode(int port)
{
	static const char	*files[] = { "/proc/net/tcp", "/proc/net/tcp6" };
	char			 line[512], local[128];
	unsigned long		 inode, found = 0;
	unsigned int		 lport, st;
	size_t			 i;
	FILE			*f;

	for (i = 0; i < nitems(files) && found == 0; i++) {
		if ((f = fopen(files[i], "r")) == NULL)
			continue;
		while (fgets(line, sizeof line, f) != NULL) {
			if (sscanf(line, " %*d: %127s %*s %x %*s %*s %*s "
			    "%*s %*s %lu", local, &st, &inode) != 3)
				continue;
			if (st != 0x0A || strchr(local, ':') == NULL)
				continue;
			if (sscanf(strrchr(local, ':') + 1, "%x", &lport) == 1
			    && (int)lport == port) {
				found = inode;
				break;
			}
		}
		fclose(f);
	}
	return (found);
}

/* Find the process that listens on TCP port (needs to see its fds). */
pid_t
benchnet_find_pid(int port)
{
	struct dirent	*de, *fe;
	DIR		*proc, *fds;
	char		 path[600], link[128], want[64];
	unsigned long	 inode;
	pid_t		 pid = 0;
	ssize_t		 n;

	if ((inode = bn_listen_inode(port)) == 0)
		return (0);
	snprintf(want, sizeof want, "socket:[%lu]", inode);
	if ((proc = opendir("/proc")) == NULL)
		return (0);
	while (pid == 0 && (de = readdir(proc)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof path, "/proc/%s/fd", de->d_name);
		if ((fds = opendir(path)) == NULL)
			continue;
		while ((fe = readdir(fds)) != NULL) {
			snprintf(path, sizeof path, "/proc/%s/fd/%s",
			    de->d_name, fe->d_name);
			n = readlink(path, link, sizeof link - 1);
			if (n <= 0)
				continue;
			link[n] = '\0';
			if (strcmp(link, want) == 0) {
				pid = (pid_t)atol(de->d_name);
				break;
			}
		}
		closedir(fds);
	}
	closedir(proc);
	return (pid);
}

/* Return this process's CPU time in seconds. */
double
benchnet_self_cpu(void)
{
	struct rusage	ru;

	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
}

/*
 * Raise the limit on open files to what want connections need: the soft
 * limit up to the hard one, and the hard one too when we may (root).
 */
void
benchnet_raise_nofile(uint64_t want)
{
	struct rlimit	rl;
	rlim_t		need = want + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
		rl.rlim_max = need;
		rl.rlim_cur = need;
		if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
			return;
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Mark the start of a measured phase: the time and the CPU times. */
void
benchnet_measure_start(struct benchnet_meter *m, const struct benchnet_res *res)
{
	m->t0 = bench_now();
	m->cpu_server0 = benchnet_proc_cpu(res->server_pid);
	m->cpu_client0 = benchnet_self_cpu();
}

/* Mark its end: its seconds and the CPU the server and we spent in it. */
void
benchnet_measure_end(const struct benchnet_meter *m, struct benchnet_res *res)
{
	double	c;

	res->seconds = bench_now() - m->t0;
	c = benchnet_proc_cpu(res->server_pid);
	res->server_cpu_s = (c >= 0 && m->cpu_server0 >= 0) ?
	    c - m->cpu_server0 : -1;
	res->client_cpu_s = benchnet_self_cpu() - m->cpu_client0;
}

/* Send publishes on a publisher while its window and the limits allow. */
static void
bn_pub_fill(struct bn_client *c)
{
	struct benchnet	*bn = c->bn;
	const char	*chan;
	size_t		 slot, n, hl, cl;
	uint64_t	 ref;
	char		 stamp[64];

	while (c->open && c->inflight < bn->cfg->window &&
	    bn->sent < bn->to_send && bn->sent < bn->allowed) {
		ref = c->nextref;
		slot = ref % c->nslots;
		if (c->slotref[slot] != 0)
			break;		/* an old ack is still missing */
		chan = bn->names[bn->sent % bn->cfg->channels];
		n = (size_t)snprintf(bn->buf, bn->bufsz,
		    "{\"op\":\"publish\",\"ref\":%llu,\"channel\":\"%s\","
		    "\"data\":", (unsigned long long)ref, chan);
		if (bn->stamped) {
			/* {"t":NANOS,"p":"..."} of cfg->size bytes. */
			hl = (size_t)snprintf(stamp, sizeof stamp,
			    "{\"t\":%llu,\"p\":",
			    (unsigned long long)mono_ns());
			cl = bn->cfg->size > hl + 3 ? bn->cfg->size - hl - 1 :
			    2;
			memcpy(bn->buf + n, stamp, hl);
			memcpy(bn->buf + n + hl, bn->payload, cl - 1);
			bn->buf[n + hl + cl - 1] = '"';
			n += hl + cl;
			bn->buf[n++] = '}';
		} else {
			memcpy(bn->buf + n, bn->payload, bn->cfg->size);
			n += bn->cfg->size;
		}
		bn->buf[n++] = '}';
		if (benchws_send(c->ws, bn->buf, n) != 0) {
			bn_fail(bn, "publisher %zu: send failed", c->idx);
			return;
		}
		c->slotref[slot] = ref;
		c->slott[slot] = bench_now();
		c->nextref++;
		c->inflight++;
		bn->sent++;
		bn->res->sent++;
	}
}

/* Start every publisher's window. */
static void
bn_pub_all(struct benchnet *bn)
{
	size_t	i;

	for (i = 0; i < bn->nclients; i++) {
		if (bn->clients[i].role == BN_PUB && bn->clients[i].open)
			bn_pub_fill(&bn->clients[i]);
	}
}

/* Let the rate-limited publisher send what is due by now. */
static void
bn_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct benchnet	*bn = arg;
	uint64_t	 due;

	if (bn->phase != BN_PUBLISH)
		return;
	due = (uint64_t)((bench_now() - bn->m.t0) * bn->cfg->rate) + 1;
	bn->allowed = due < bn->to_send ? due : bn->to_send;
	bn_pub_all(bn);
}

/* Begin a publishing phase of n messages. */
static void
bn_publish(struct benchnet *bn, uint64_t n, int rate_limited)
{
	struct timeval	tv = { 0, BN_TICK_US };

	bn->phase = BN_PUBLISH;
	bn->to_send = n;
	bn->sent = 0;
	bn->acked = 0;
	bn->allowed = rate_limited && bn->cfg->rate > 0 ? 1 : n;
	if (rate_limited && bn->cfg->rate > 0) {
		bn->timer = event_new(bn->base, -1, EV_PERSIST, bn_tick_cb,
		    bn);
		evtimer_add(bn->timer, &tv);
	}
	bn_pub_all(bn);
}

/* An acknowledgement came. */
static void
bn_on_published(struct bn_client *c, const char *s, size_t len)
{
	struct benchnet	*bn = c->bn;
	uint64_t	 ref;
	size_t		 slot;

	if (bn_u64(s, len, "\"ref\":", &ref) != 0) {
		bn_fail(bn, "published without a ref: %.*s", (int)len, s);
		return;
	}
	slot = ref % c->nslots;
	if (c->slotref[slot] != ref) {
		bn_fail(bn, "ack for unknown ref %llu", (unsigned long long)ref);
		return;
	}
	if (bn->record_acks)
		benchhist_add(&bn->res->lat,
		    (uint64_t)((bench_now() - c->slott[slot]) * 1e9));
	c->slotref[slot] = 0;
	c->inflight--;
	bn->acked++;
	bn->res->acked++;
	bn_pub_fill(c);
}

/* A subscription was answered. */
static void
bn_on_subscribed(struct bn_client *c, const char *s, size_t len)
{
	struct benchnet	*bn = c->bn;
	const char	*p;

	if (c->subscribed)
		return;
	c->subscribed = 1;
	bn->nsubscribed++;
	bn->res->subscribed++;
	bn_u64(s, len, "\"head\":", &c->head);
	if ((p = memmem(s, len, "\"epoch\":\"", 9)) != NULL &&
	    p + 9 + 16 <= s + len) {
		memcpy(c->epoch, p + 9, 16);
		c->epoch[16] = '\0';
	}
	if (memmem(s, len, "\"resumed\":true", 14) != NULL)
		bn->res->resumed++;
	if (c->want == 0 && !c->caught) {
		c->caught = 1;
		bn->caught++;
	}
}

/*
 * A message was delivered to a subscriber.  The server writes the op, the
 * channel and the serial first; a message that starts exactly so (on the
 * subscriber's own channel) has its serial at a known offset, any other
 * is searched.
 */
static void
bn_on_message(struct bn_client *c, const char *s, size_t len)
{
	struct benchnet	*bn = c->bn;
	const char	*p;
	uint64_t	 serial, t, now;
	int		 error;

	if (len > c->msgprelen && memcmp(s, c->msgpre, c->msgprelen) == 0)
		error = bn_digits(s + c->msgprelen, s + len, &serial);
	else if ((p = memmem(s, len, "\"serial\":", 9)) != NULL)
		error = bn_digits(p + 9, s + len, &serial);
	else
		error = -1;
	if (error != 0) {
		bn_fail(bn, "message without a serial");
		return;
	}
	if (serial <= c->last)
		bn->res->out_of_order++;
	c->last = serial;
	c->received++;
	bn->res->delivered++;
	if (bn->stamped && bn_u64(s, len, "\"data\":{\"t\":", &t) == 0) {
		now = mono_ns();
		benchhist_add(&bn->res->lat, now > t ? now - t : 0);
	}
	if (!c->caught && c->received >= c->want) {
		c->caught = 1;
		if (bn->caught++ == 0)
			bn->res->first_caught_s = bench_now() - bn->m.t0;
		bn->t_last = bench_now();
	}
}

/* Dispatch one message from the server. */
static void
bn_msg_cb(struct benchws *ws, const char *s, size_t len, void *arg)
{
	struct bn_client	*c = arg;
	struct benchnet		*bn = c->bn;

	if (bn_is_op(s, len, "message"))
		bn_on_message(c, s, len);
	else if (bn_is_op(s, len, "published"))
		bn_on_published(c, s, len);
	else if (bn_is_op(s, len, "subscribed"))
		bn_on_subscribed(c, s, len);
	else if (bn_is_op(s, len, "pong"))
		return;
	else {
		bn_fail(bn, "client %zu: %.*s", c->idx, (int)MIN(len, 300), s);
		return;
	}
	bn_check(bn);
}

/* Subscribe a subscriber once it is open, resuming when it has a serial. */
static void
bn_subscribe(struct bn_client *c)
{
	struct benchnet	*bn = c->bn;
	uint64_t	 from;
	int		 n;

	if (bn->cfg->behind > 0 && bn->reconnecting) {
		from = c->last > bn->cfg->behind ? c->last - bn->cfg->behind :
		    0;
		n = snprintf(bn->buf, bn->bufsz, "{\"op\":\"subscribe\","
		    "\"ref\":0,\"channel\":\"%s\",\"from\":{\"serial\":%llu,"
		    "\"epoch\":\"%s\"}}", c->channel,
		    (unsigned long long)from, c->epoch);
		c->want = c->last - from;
		c->last = from;
	} else if (strcmp(bn->cfg->scenario, "replay") == 0)
		n = snprintf(bn->buf, bn->bufsz, "{\"op\":\"subscribe\","
		    "\"ref\":0,\"channel\":\"%s\",\"rewind\":%llu}",
		    c->channel, (unsigned long long)bn->cfg->messages);
	else
		n = snprintf(bn->buf, bn->bufsz, "{\"op\":\"subscribe\","
		    "\"ref\":0,\"channel\":\"%s\"}", c->channel);
	c->subscribed = 0;
	c->caught = 0;
	c->received = 0;
	if (benchws_send(c->ws, bn->buf, n) != 0)
		bn_fail(bn, "client %zu: subscribe failed", c->idx);
}

static void	bn_connect_more(struct benchnet *);

/* A client's upgrade succeeded. */
static void
bn_open_cb(struct benchws *ws, void *arg)
{
	struct bn_client	*c = arg;
	struct benchnet		*bn = c->bn;

	c->open = 1;
	bn->connecting--;
	bn->opened++;
	if (c->role == BN_SUB && bn->reconnecting)
		bn_subscribe(c);
	bn_connect_more(bn);
	bn_check(bn);
}

/* A client's connection failed or ended: that ends the scenario. */
static void
bn_close_cb(struct benchws *ws, const char *cause, void *arg)
{
	struct bn_client	*c = arg;
	struct benchnet		*bn = c->bn;

	c->ws = NULL;
	if (!c->open)
		bn->connecting--;
	c->open = 0;
	bn_fail(bn, "client %zu: %s", c->idx, cause);
}

static const struct benchws_cb bn_ws_cb = {
	bn_open_cb, bn_msg_cb, bn_close_cb
};

/* Open more connections, a bounded number of handshakes at a time. */
static void
bn_connect_more(struct benchnet *bn)
{
	struct sockaddr_in	 src, *srcp = NULL;
	struct bn_client	*c;
	char			*cause = NULL;

	while (!bn->failed && bn->connecting < BN_MAX_CONNECTING &&
	    bn->next_connect < bn->want_open) {
		c = &bn->clients[bn->next_connect++];
		if (bn->cfg->sources > 1) {
			memset(&src, 0, sizeof src);
			src.sin_family = AF_INET;
			src.sin_addr.s_addr = htonl(0x7f000001 +
			    (uint32_t)(c->idx % bn->cfg->sources));
			srcp = &src;
		}
		c->open = 0;
		c->ws = benchws_connect(bn->wsloop, &bn->cfg->addr, srcp,
		    bn->cfg->host, "/v1/ws", &bn_ws_cb, c, &cause);
		if (c->ws == NULL) {
			bn_fail(bn, "client %zu: %s", c->idx, cause);
			free(cause);
			return;
		}
		bn->connecting++;
	}
}

/* Open clients [0, n). */
static void
bn_connect(struct benchnet *bn, size_t n)
{
	bn->phase = BN_CONNECT;
	bn->want_open = n;
	bn->next_connect = 0;
	bn->opened = 0;
	bn_connect_more(bn);
}

/* Send a subscribe on every subscriber and wait for the answers. */
static void
bn_subscribe_all(struct benchnet *bn)
{
	size_t	i;

	bn->phase = BN_SUBSCRIBE;
	bn->nsubscribed = 0;
	bn->caught = 0;
	for (i = bn->first_sub; i < bn->end_sub && !bn->failed; i++)
		bn_subscribe(&bn->clients[i]);
}

/* Close every client at once, without a close handshake. */
static void
bn_close_all(struct benchnet *bn)
{
	size_t	i;

	for (i = 0; i < bn->nclients; i++) {
		if (bn->clients[i].ws != NULL)
			benchws_free(bn->clients[i].ws);
		bn->clients[i].ws = NULL;
		bn->clients[i].open = 0;
	}
}

/* Is the current phase complete? */
static int
bn_phase_done(struct benchnet *bn)
{
	size_t	nsubs = bn->end_sub - bn->first_sub;

	switch (bn->phase) {
	case BN_CONNECT:
		return (bn->opened == bn->want_open);
	case BN_SUBSCRIBE:
		return (bn->nsubscribed == nsubs);
	case BN_PUBLISH:
		return (bn->acked == bn->to_send);
	case BN_CATCHUP:
		return (bn->caught == nsubs);
	case BN_HOLD:
	case BN_DONE:
		return (0);
	}
	return (0);
}

/* Move on while phases complete. */
static void
bn_check(struct benchnet *bn)
{
	while (!bn->failed && bn->phase != BN_DONE && bn_phase_done(bn))
		bn->step(bn);
	if (bn->phase == BN_DONE || bn->failed)
		event_base_loopbreak(bn->base);
}

/* End a rate-limited phase's timer. */
static void
bn_stop_timer(struct benchnet *bn)
{
	if (bn->timer != NULL) {
		event_free(bn->timer);
		bn->timer = NULL;
	}
}

/* Note how long connecting every client took: the first phase's end. */
static void
bn_connected(struct benchnet *bn)
{
	bn->res->connect_s = bench_now() - bn->m.t0;
}

/*
 * End a scenario whose subscribers had to catch up: its time runs from
 * the start of the measured phase to the last message delivered.
 */
static void
bn_caught_up(struct benchnet *bn)
{
	benchnet_measure_end(&bn->m, bn->res);
	bn->res->seconds = bn->t_last - bn->m.t0;
	bn->phase = BN_DONE;
}

/* publish: connect, publish everything, done. */
static void
bn_step_publish(struct benchnet *bn)
{
	switch (bn->stage++) {
	case 0:
		bn_connected(bn);
		bn->record_acks = 1;
		benchnet_measure_start(&bn->m, bn->res);
		bn_publish(bn, bn->cfg->messages, 0);
		break;
	default:
		benchnet_measure_end(&bn->m, bn->res);
		bn->phase = BN_DONE;
		break;
	}
}

/* fanout: connect, subscribe, publish (at the rate), until all caught. */
static void
bn_step_fanout(struct benchnet *bn)
{
	switch (bn->stage++) {
	case 0:
		bn_connected(bn);
		bn_subscribe_all(bn);
		break;
	case 1:
		benchnet_measure_start(&bn->m, bn->res);
		bn_publish(bn, bn->cfg->messages, 1);
		break;
	case 2:
		bn_stop_timer(bn);
		bn->phase = BN_CATCHUP;
		break;
	default:
		bn_caught_up(bn);
		break;
	}
}

/* replay: connect, pre-fill, subscribe with rewind, until all caught. */
static void
bn_step_replay(struct benchnet *bn)
{
	switch (bn->stage++) {
	case 0:
		bn_connected(bn);
		bn->m.t0 = bench_now();
		bn_publish(bn, bn->cfg->messages, 0);
		break;
	case 1:
		bn->res->prefill_s = bench_now() - bn->m.t0;
		benchnet_measure_start(&bn->m, bn->res);
		bn_subscribe_all(bn);
		break;
	case 2:
		bn->phase = BN_CATCHUP;
		break;
	default:
		bn_caught_up(bn);
		break;
	}
}

/*
 * Wait until the server answers GET /healthz with 200 (after a restart),
 * for up to timeout_ms.  Return 0 or -1.
 */
static int
bn_wait_ready(struct benchnet_cfg *cfg, uint64_t timeout_ms)
{
	struct httpc_url	 u;
	struct httpc_resp	 r;
	double			 end = bench_now() + timeout_ms / 1e3;
	char			*cause;
	int			 status;

	memset(&u, 0, sizeof u);
	snprintf(u.host, sizeof u.host, "%s", cfg->host);
	u.port = cfg->port;
	while (bench_now() < end) {
		cause = NULL;
		status = 0;
		if (httpc_request(&u, "GET", "/healthz", NULL, NULL, 0, 1000,
		    &r, NULL, NULL, &cause) == 0) {
			status = r.status;
			httpc_resp_free(&r);
		}
		free(cause);
		if (status == 200)
			return (0);
		usleep(BN_READY_POLL_MS * 1000);
	}
	return (-1);
}

/*
 * resume: connect, subscribe, publish, wait until everyone has it all;
 * drop every connection (and restart the server); reconnect and resume
 * "behind" messages back, until all caught up again.
 */
static void
bn_step_resume(struct benchnet *bn)
{
	struct benchnet_res	*res = bn->res;
	size_t			 i;
	double			 t;
	int			 status;

	switch (bn->stage++) {
	case 0:
		bn_connected(bn);
		bn_subscribe_all(bn);
		break;
	case 1:
		bn_publish(bn, bn->cfg->messages, 0);
		break;
	case 2:
		bn->phase = BN_CATCHUP;
		break;
	case 3:
		bn_close_all(bn);
		if (bn->cfg->restart_cmd != NULL) {
			t = bench_now();
			status = system(bn->cfg->restart_cmd);
			if (status != 0) {
				bn_fail(bn, "--restart-cmd exited with %d",
				    status);
				return;
			}
			if (bn_wait_ready(bn->cfg, bn->cfg->timeout_ms) != 0) {
				bn_fail(bn, "server not ready after restart");
				return;
			}
			res->restart_s = bench_now() - t;
			res->restarted = 1;
			if (bn->cfg->pid == 0)
				res->server_pid =
				    benchnet_find_pid(bn->cfg->port);
		}
		for (i = bn->first_sub; i < bn->end_sub; i++)
			bn->clients[i].subscribed = 0;
		res->subscribed = 0;
		res->resumed = 0;
		res->delivered = 0;
		res->out_of_order = 0;
		bn->nsubscribed = 0;
		bn->caught = 0;
		bn->reconnecting = 1;	/* bn_open_cb subscribes */
		bn->stage = 10;
		benchnet_measure_start(&bn->m, bn->res);
		bn_connect(bn, bn->end_sub);
		break;
	case 10:
		bn_connected(bn);
		bn->phase = BN_SUBSCRIBE;
		break;
	case 11:
		res->subscribe_s = bench_now() - bn->m.t0;
		bn->phase = BN_CATCHUP;
		break;
	default:
		benchnet_measure_end(&bn->m, bn->res);
		res->seconds = bn->t_last > bn->m.t0 ? bn->t_last - bn->m.t0 :
		    res->subscribe_s;
		bn->phase = BN_DONE;
		break;
	}
}

/* connections: hold the connections open a while, then read the RSS. */
static void
bn_hold_cb(evutil_socket_t fd, short what, void *arg)
{
	struct benchnet	*bn = arg;

	bn->res->rss_kb = proc_status_kb(bn->res->server_pid, "VmRSS");
	bn->res->client_rss_kb = proc_status_kb(0, "VmRSS");
	bn->phase = BN_DONE;
	event_base_loopbreak(bn->base);
}

/* connections: connect, subscribe, hold, measure. */
static void
bn_step_connections(struct benchnet *bn)
{
	struct timeval	tv;

	switch (bn->stage++) {
	case 0:
		bn_connected(bn);
		bn_subscribe_all(bn);
		break;
	default:
		benchnet_measure_end(&bn->m, bn->res);
		bn->res->subscribe_s = bench_now() - bn->m.t0;
		bn->phase = BN_HOLD;
		tv.tv_sec = bn->cfg->hold_ms / 1000;
		tv.tv_usec = (bn->cfg->hold_ms % 1000) * 1000;
		bn->timer = evtimer_new(bn->base, bn_hold_cb, bn);
		evtimer_add(bn->timer, &tv);
		break;
	}
}

/* The deadline passed. */
static void
bn_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct benchnet	*bn = arg;

	bn->res->timed_out = 1;
	bn_fail(bn, "timed out after %llu ms in phase %d",
	    (unsigned long long)bn->cfg->timeout_ms, (int)bn->phase);
}

/* Lay out the clients of the scenario: publishers first, then subscribers. */
static void
bn_setup(struct benchnet *bn)
{
	struct benchnet_cfg	*cfg = bn->cfg;
	struct bn_client	*c;
	size_t			 i, npub = 0, nsub = 0;
	const char		*sc = cfg->scenario;

	if (strcmp(sc, "publish") == 0) {
		npub = cfg->conns;
		bn->step = bn_step_publish;
	} else if (strcmp(sc, "fanout") == 0) {
		npub = 1;
		nsub = cfg->conns;
		bn->stamped = 1;
		bn->step = bn_step_fanout;
	} else if (strcmp(sc, "replay") == 0) {
		npub = 1;
		nsub = cfg->conns;
		bn->step = bn_step_replay;
	} else if (strcmp(sc, "resume") == 0) {
		npub = 1;
		nsub = cfg->conns;
		bn->step = bn_step_resume;
	} else {
		nsub = cfg->conns;
		bn->step = bn_step_connections;
	}
	bn->nclients = npub + nsub;
	bn->first_sub = npub;
	bn->end_sub = npub + nsub;
	bn->clients = xcalloc(bn->nclients, sizeof *bn->clients);

	bn->names = xcalloc(cfg->channels, sizeof *bn->names);
	bn->msgpres = xcalloc(cfg->channels, sizeof *bn->msgpres);
	for (i = 0; i < cfg->channels; i++) {
		xasprintf(&bn->names[i], "%s-%zu", cfg->prefix, i);
		xasprintf(&bn->msgpres[i], BN_OP("message") ",\"channel\":"
		    "\"%s\",\"serial\":", bn->names[i]);
	}
	bn->payload = xmalloc(cfg->size);
	benchnet_payload(bn->payload, cfg->size, 0x9e3779b97f4a7c15ULL);
	bn->bufsz = cfg->size + strlen(cfg->prefix) + 512;
	bn->buf = xmalloc(bn->bufsz);

	for (i = 0; i < bn->nclients; i++) {
		c = &bn->clients[i];
		c->bn = bn;
		c->idx = i;
		c->role = i < npub ? BN_PUB : BN_SUB;
		c->channel = bn->names[i % cfg->channels];
		c->msgpre = bn->msgpres[i % cfg->channels];
		c->msgprelen = strlen(c->msgpre);
		if (c->role == BN_PUB) {
			c->nextref = 1;
			c->nslots = cfg->window * 4 + 16;
			c->slotref = xcalloc(c->nslots, sizeof *c->slotref);
			c->slott = xcalloc(c->nslots, sizeof *c->slott);
		} else {
			c->channel = bn->names[(i - npub) % cfg->channels];
			c->msgpre = bn->msgpres[(i - npub) % cfg->channels];
			c->msgprelen = strlen(c->msgpre);
			c->want = strcmp(sc, "connections") == 0 ? 0 :
			    cfg->messages;
		}
	}
	bn->res->clients = bn->nclients;
	if (strcmp(sc, "resume") == 0)
		bn->res->expected = nsub * cfg->behind;
	else if (strcmp(sc, "fanout") == 0 || strcmp(sc, "replay") == 0)
		bn->res->expected = nsub * cfg->messages;
}

/* Free what bn_setup made. */
static void
bn_teardown(struct benchnet *bn)
{
	size_t	i;

	bn_close_all(bn);
	for (i = 0; i < bn->nclients; i++) {
		free(bn->clients[i].slotref);
		free(bn->clients[i].slott);
	}
	free(bn->clients);
	for (i = 0; i < bn->cfg->channels; i++) {
		free(bn->names[i]);
		free(bn->msgpres[i]);
	}
	free(bn->names);
	free(bn->msgpres);
	free(bn->payload);
	free(bn->buf);
	free(bn->cause);
}

/* Run a scenario against logwired; return 0, or -1 with *cause set. */
static int
bn_run(struct benchnet_cfg *cfg, struct benchnet_res *res, char **cause)
{
	struct benchnet	 bn;
	struct timeval	 tv;
	int		 ret;

	memset(&bn, 0, sizeof bn);
	bn.cfg = cfg;
	bn.res = res;
	if ((bn.base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	bn.wsloop = benchws_loop_new(bn.base);
	bn_setup(&bn);
	if (strcmp(cfg->scenario, "connections") == 0) {
		res->rss_base_kb = proc_status_kb(res->server_pid, "VmRSS");
		benchnet_measure_start(&bn.m, bn.res);
	}
	tv.tv_sec = cfg->timeout_ms / 1000;
	tv.tv_usec = (cfg->timeout_ms % 1000) * 1000;
	bn.deadline = evtimer_new(bn.base, bn_deadline_cb, &bn);
	evtimer_add(bn.deadline, &tv);

	bn.m.t0 = bench_now();
	bn_connect(&bn, bn.nclients);
	bn_check(&bn);
	if (!bn.failed && bn.phase != BN_DONE)
		event_base_dispatch(bn.base);
	ret = bn.failed ? -1 : 0;
	if (bn.failed)
		*cause = xstrdup(bn.cause != NULL ? bn.cause : "failed");
	res->caught_up = bn.caught;
	bn_stop_timer(&bn);
	event_free(bn.deadline);
	bn_teardown(&bn);
	benchws_loop_free(bn.wsloop);
	event_base_free(bn.base);
	return (ret);
}

/* The options of the network scenarios; each takes a subset. */
enum {
	BN_OPT_BEHIND = 0x100, BN_OPT_CHANNELS, BN_OPT_CLIENTS,
	BN_OPT_CONNECTIONS, BN_OPT_HOLD, BN_OPT_JSON, BN_OPT_MESSAGES,
	BN_OPT_PID, BN_OPT_PREFIX, BN_OPT_RATE, BN_OPT_RESTART, BN_OPT_SIZE,
	BN_OPT_SOURCES, BN_OPT_SUBSCRIBERS, BN_OPT_TIMEOUT, BN_OPT_WINDOW,
};

static const struct option bn_longopts[] = {
	{ "behind",		required_argument, NULL, BN_OPT_BEHIND },
	{ "channels",		required_argument, NULL, BN_OPT_CHANNELS },
	{ "clients",		required_argument, NULL, BN_OPT_CLIENTS },
	{ "connections",	required_argument, NULL, BN_OPT_CONNECTIONS },
	{ "help",		no_argument,	   NULL, 'h' },
	{ "hold",		required_argument, NULL, BN_OPT_HOLD },
	{ "json",		no_argument,	   NULL, BN_OPT_JSON },
	{ "messages",		required_argument, NULL, BN_OPT_MESSAGES },
	{ "pid",		required_argument, NULL, BN_OPT_PID },
	{ "prefix",		required_argument, NULL, BN_OPT_PREFIX },
	{ "rate",		required_argument, NULL, BN_OPT_RATE },
	{ "restart-cmd",	required_argument, NULL, BN_OPT_RESTART },
	{ "size",		required_argument, NULL, BN_OPT_SIZE },
	{ "sources",		required_argument, NULL, BN_OPT_SOURCES },
	{ "subscribers",	required_argument, NULL, BN_OPT_SUBSCRIBERS },
	{ "target",		required_argument, NULL, 'u' },
	{ "timeout",		required_argument, NULL, BN_OPT_TIMEOUT },
	{ "window",		required_argument, NULL, BN_OPT_WINDOW },
	{ NULL,			0,		   NULL, 0 }
};

/* A network scenario: its defaults, the options it takes, its usage. */
struct bn_scenario {
	const char	*name;
	uint64_t	 conns, window, size, channels, messages, rate;
	const int	*opts;		/* 0-terminated */
	const char	*usage;
};

static const int bn_opts_publish[] = { BN_OPT_CONNECTIONS, BN_OPT_WINDOW,
	BN_OPT_SIZE, BN_OPT_CHANNELS, BN_OPT_MESSAGES, 0 };
static const int bn_opts_fanout[] = { BN_OPT_SUBSCRIBERS, BN_OPT_RATE,
	BN_OPT_WINDOW, BN_OPT_SIZE, BN_OPT_MESSAGES, BN_OPT_SOURCES, 0 };
static const int bn_opts_replay[] = { BN_OPT_CLIENTS, BN_OPT_MESSAGES,
	BN_OPT_WINDOW, BN_OPT_SIZE, BN_OPT_SOURCES, 0 };
static const int bn_opts_resume[] = { BN_OPT_CLIENTS, BN_OPT_MESSAGES,
	BN_OPT_BEHIND, BN_OPT_WINDOW, BN_OPT_SIZE, BN_OPT_RESTART,
	BN_OPT_SOURCES, 0 };
static const int bn_opts_connections[] = { BN_OPT_CONNECTIONS,
	BN_OPT_CHANNELS, BN_OPT_HOLD, BN_OPT_SOURCES, 0 };

#define BN_COMMON	"[-u URL] [--json] [--timeout S] [--pid PID] " \
			"[--prefix NAME]"
static const struct bn_scenario bn_scenarios[] = {
	{ "publish", 1, 64, 100, 1, 200000, 0, bn_opts_publish,
	  "[--connections P] [--window W] [--size S] [--channels N] "
	  "[--messages M] " BN_COMMON },
	{ "fanout", 100, 64, 100, 1, 5000, 1000, bn_opts_fanout,
	  "[--subscribers C] [--rate R|max] [--messages M] [--window W] "
	  "[--size S] [--sources A] " BN_COMMON },
	{ "replay", 1, 1024, 100, 1, 100000, 0, bn_opts_replay,
	  "[--clients K] [--messages M] [--window W] [--size S] "
	  "[--sources A] " BN_COMMON },
	{ "resume", 1000, 256, 100, 1, 100, 0, bn_opts_resume,
	  "[--clients K] [--messages M] [--behind B] [--restart-cmd CMD] "
	  "[--window W] [--size S] [--sources A] " BN_COMMON },
	{ "connections", 1000, 1, 100, 1, 0, 0, bn_opts_connections,
	  "[--connections K] [--channels N] [--hold MS] [--sources A] "
	  BN_COMMON },
};

/* Return the usage of a network scenario. */
const char *
benchnet_usage(const char *name)
{
	size_t	i;

	for (i = 0; i < nitems(bn_scenarios); i++) {
		if (strcmp(bn_scenarios[i].name, name) == 0)
			return (bn_scenarios[i].usage);
	}
	return ("");
}

/* Does the scenario take option ch? The common ones always. */
static int
bn_takes(const struct bn_scenario *sc, int ch)
{
	const int	*o;

	switch (ch) {
	case 'u': case BN_OPT_JSON: case BN_OPT_TIMEOUT: case BN_OPT_PID:
	case BN_OPT_PREFIX:
		return (1);
	}
	for (o = sc->opts; *o != 0; o++) {
		if (*o == ch)
			return (1);
	}
	return (0);
}

/* Parse the target URL: ws://, http:// (logwired) or nats://. */
static int
bn_target(struct benchnet_cfg *cfg, const char *url)
{
	struct addrinfo	 hints, *ai;
	struct url	 u;
	char		*cause;
	int		 rc = -1;

	if (url_parse(url, &u, &cause) != 0) {
		free(cause);
		return (-1);
	}
	if (strcmp(u.scheme, "nats") != 0 && strcmp(u.scheme, "http") != 0 &&
	    strcmp(u.scheme, "ws") != 0)
		goto out;
	cfg->nats = strcmp(u.scheme, "nats") == 0;
	free(cfg->host);
	cfg->host = xstrdup(u.host);
	cfg->port = u.port;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(cfg->host, NULL, &hints, &ai) != 0)
		goto out;
	memcpy(&cfg->addr, ai->ai_addr, sizeof cfg->addr);
	cfg->addr.sin_port = htons(cfg->port);
	freeaddrinfo(ai);
	cfg->target = url;
	rc = 0;

out:
	url_free(&u);
	return (rc);
}

/* Parse the options of scenario sc into cfg. */
static int
bn_options(const struct bn_scenario *sc, struct benchnet_cfg *cfg, int argc,
    char **argv)
{
	const struct option	*o;
	uint64_t		 v;
	int			 ch;

	cfg->scenario = sc->name;
	cfg->conns = sc->conns;
	cfg->window = sc->window;
	cfg->size = sc->size;
	cfg->channels = sc->channels;
	cfg->messages = sc->messages;
	cfg->rate = sc->rate;
	cfg->behind = strcmp(sc->name, "resume") == 0 ? 100 : 0;
	cfg->hold_ms = 1000;
	cfg->timeout_ms = 120000;
	if (bn_target(cfg, "http://127.0.0.1:8080") != 0)
		fatalx("default target");

	opterr = 0;
	optind = 0;
	while ((ch = getopt_long(argc, argv, ":hu:", bn_longopts,
	    NULL)) != -1) {
		if (ch == 'h') {
			printf("usage: logwire-bench %s %s\n", sc->name,
			    sc->usage);
			return (BENCH_HELP);
		}
		if (ch == ':' || ch == '?') {
			bench_error(sc->name, "%s %s (usage: logwire-bench %s "
			    "%s)", ch == ':' ? "option needs a value:" :
			    "unknown option", argv[optind - 1], sc->name,
			    sc->usage);
			return (BENCH_EXIT_USAGE);
		}
		if (!bn_takes(sc, ch)) {
			bench_error(sc->name, "option %s does not apply to "
			    "this scenario", argv[optind - 1]);
			return (BENCH_EXIT_USAGE);
		}
		v = 0;
		switch (ch) {
		case 'u':
			if (bn_target(cfg, optarg) != 0)
				goto bad;
			continue;
		case BN_OPT_JSON:
			cfg->json = 1;
			continue;
		case BN_OPT_RESTART:
			cfg->restart_cmd = optarg;
			continue;
		case BN_OPT_PREFIX:
			if (*optarg == '\0' || strlen(optarg) > 200 ||
			    strpbrk(optarg, "\"\\") != NULL)
				goto bad;
			cfg->prefix = optarg;
			continue;
		case BN_OPT_RATE:
			if (strcmp(optarg, "max") == 0) {
				cfg->rate = 0;
				continue;
			}
			break;
		case BN_OPT_HOLD:
			if (duration_parse(optarg, &v) == 0) {
				cfg->hold_ms = v;
				continue;
			}
			break;
		case BN_OPT_TIMEOUT:
			if (duration_parse(optarg, &v) == 0 && v > 0) {
				cfg->timeout_ms = v;
				continue;
			}
			break;
		}
		if (bench_number(optarg, 100000000000ULL, &v) != 0)
			goto bad;
		switch (ch) {
		case BN_OPT_BEHIND:
			cfg->behind = v;
			break;
		case BN_OPT_CHANNELS:
			cfg->channels = v;
			break;
		case BN_OPT_CLIENTS:
		case BN_OPT_CONNECTIONS:
		case BN_OPT_SUBSCRIBERS:
			if (v > 1000000)
				goto bad;
			cfg->conns = v;
			break;
		case BN_OPT_HOLD:
			cfg->hold_ms = v;
			break;
		case BN_OPT_MESSAGES:
			cfg->messages = v;
			break;
		case BN_OPT_PID:
			cfg->pid = (pid_t)v;
			break;
		case BN_OPT_RATE:
			cfg->rate = v;
			break;
		case BN_OPT_SIZE:
			if (v < 2 || v > 16 << 20)
				goto bad;
			cfg->size = v;
			break;
		case BN_OPT_SOURCES:
			if (v > 254)
				goto bad;
			cfg->sources = v;
			break;
		case BN_OPT_TIMEOUT:
			cfg->timeout_ms = v * 1000;
			break;
		case BN_OPT_WINDOW:
			if (v > 1000000)
				goto bad;
			cfg->window = v;
			break;
		}
	}
	if (optind != argc) {
		bench_error(sc->name, "unexpected argument: %s", argv[optind]);
		return (BENCH_EXIT_USAGE);
	}
	if (strcmp(sc->name, "resume") == 0 && cfg->messages < cfg->behind) {
		bench_error(sc->name, "--messages (%llu) must be at least "
		    "--behind (%llu)", (unsigned long long)cfg->messages,
		    (unsigned long long)cfg->behind);
		return (BENCH_EXIT_USAGE);
	}
	if (cfg->sources == 0)
		cfg->sources = cfg->conns / BN_PER_SOURCE + 1;
	return (0);
bad:
	for (o = bn_longopts; o->name != NULL && o->val != ch; o++)
		;
	bench_error(sc->name, "bad value for --%s: %s", o->name != NULL ?
	    o->name : "?", optarg);
	return (BENCH_EXIT_USAGE);
}

/* Add a latency summary in milliseconds to o. */
static void
bn_json_lat(json_t *o, const struct benchhist *h)
{
	json_object_set_new(o, "lat_samples", json_integer(h->n));
	json_object_set_new(o, "lat_ms_p50",
	    json_real(benchhist_quantile(h, 0.50) / 1e6));
	json_object_set_new(o, "lat_ms_p90",
	    json_real(benchhist_quantile(h, 0.90) / 1e6));
	json_object_set_new(o, "lat_ms_p99",
	    json_real(benchhist_quantile(h, 0.99) / 1e6));
	json_object_set_new(o, "lat_ms_p999",
	    json_real(benchhist_quantile(h, 0.999) / 1e6));
	json_object_set_new(o, "lat_ms_max", json_real(h->max / 1e6));
	json_object_set_new(o, "lat_ms_mean",
	    json_real(h->n ? h->sum / h->n / 1e6 : 0));
}

/* Set an integer member. */
static void
bn_set_int(json_t *o, const char *k, uint64_t v)
{
	json_object_set_new(o, k, json_integer((json_int_t)v));
}

/* Set a real member. */
static void
bn_set_real(json_t *o, const char *k, double v)
{
	json_object_set_new(o, k, json_real(v));
}

/* Print the result as JSON. */
static void
bn_print_json(const struct benchnet_cfg *cfg, const struct benchnet_res *r,
    int ok, const char *cause)
{
	json_t		*o;
	const char	*sc = cfg->scenario;
	double		 s = r->seconds > 0 ? r->seconds : 1e-9;

	o = json_object();
	json_object_set_new(o, "scenario", json_string(sc));
	json_object_set_new(o, "target", json_string(cfg->nats ? "nats" :
	    "logwire"));
	json_object_set_new(o, "ok", json_boolean(ok));
	if (cause != NULL)
		json_object_set_new(o, "error", json_string(cause));
	json_object_set_new(o, "timed_out", json_boolean(r->timed_out));
	bn_set_int(o, "connections", cfg->conns);
	bn_set_int(o, "size", cfg->size);
	bn_set_int(o, "messages", cfg->messages);
	bn_set_int(o, "cpus", sysconf(_SC_NPROCESSORS_ONLN));
	bn_set_real(o, "seconds", r->seconds);
	bn_set_real(o, "connect_s", r->connect_s);
	bn_set_int(o, "errors", r->errors);
	if (strcmp(sc, "connections") != 0) {
		bn_set_int(o, "window", cfg->window);
		bn_set_int(o, "sent", r->sent);
		bn_set_int(o, "acked", r->acked);
	}
	if (strcmp(sc, "publish") == 0) {
		bn_set_int(o, "channels", cfg->channels);
		bn_set_int(o, "msgs_per_s", r->acked / s);
		bn_set_int(o, "bytes_per_s", r->acked * cfg->size / s);
		bn_json_lat(o, &r->lat);
	} else {
		bn_set_int(o, "subscribers", cfg->conns);
		bn_set_int(o, "subscribed", r->subscribed);
		bn_set_int(o, "caught_up", r->caught_up);
	}
	if (strcmp(sc, "fanout") == 0) {
		bn_set_int(o, "rate", cfg->rate);
		bn_set_int(o, "expected", r->expected);
		bn_set_int(o, "delivered", r->delivered);
		bn_set_int(o, "out_of_order", r->out_of_order);
		bn_set_int(o, "deliveries_per_s", r->delivered / s);
		bn_json_lat(o, &r->lat);
	} else if (strcmp(sc, "replay") == 0) {
		bn_set_int(o, "expected", r->expected);
		bn_set_int(o, "delivered", r->delivered);
		bn_set_int(o, "out_of_order", r->out_of_order);
		bn_set_real(o, "prefill_s", r->prefill_s);
		bn_set_int(o, "prefill_msgs_per_s", r->prefill_s > 0 ?
		    cfg->messages / r->prefill_s : 0);
		bn_set_int(o, "msgs_per_s", r->delivered / s);
		bn_set_real(o, "first_caught_up_s", r->first_caught_s);
	} else if (strcmp(sc, "resume") == 0) {
		bn_set_int(o, "behind", cfg->behind);
		bn_set_int(o, "resumed", r->resumed);
		bn_set_int(o, "delivered", r->delivered);
		bn_set_int(o, "out_of_order", r->out_of_order);
		json_object_set_new(o, "restarted",
		    json_boolean(r->restarted));
		bn_set_real(o, "restart_s", r->restart_s);
		bn_set_real(o, "resubscribe_s", r->subscribe_s);
		bn_set_int(o, "resumed_per_s", r->subscribe_s > 0 ?
		    r->resumed / r->subscribe_s : 0);
		bn_set_real(o, "all_caught_up_s", r->seconds);
	} else if (strcmp(sc, "connections") == 0) {
		bn_set_int(o, "channels", cfg->channels);
		bn_set_int(o, "sources", cfg->sources);
		bn_set_int(o, "server_rss_base_kb", r->rss_base_kb);
		bn_set_int(o, "server_rss_kb", r->rss_kb);
		json_object_set_new(o, "bytes_per_conn", json_integer(
		    r->rss_kb > 0 && r->rss_base_kb > 0 && cfg->conns > 0 ?
		    (json_int_t)(r->rss_kb - r->rss_base_kb) * 1024 /
		    (json_int_t)cfg->conns : 0));
		bn_set_int(o, "client_rss_kb", r->client_rss_kb);
	}
	bn_set_int(o, "server_pid", r->server_pid);
	bn_set_real(o, "server_cpu_s", r->server_cpu_s);
	bn_set_real(o, "client_cpu_s", r->client_cpu_s);
	json_dumpf(o, stdout, JSON_COMPACT|JSON_REAL_PRECISION(6));
	putchar('\n');
	fflush(stdout);
	json_decref(o);
}

/* Format the CPU use of both sides. */
static void
bn_cpu_text(const struct benchnet_res *r, char *buf, size_t len)
{
	if (r->server_cpu_s >= 0)
		snprintf(buf, len, "; cpu: server %.2f s, bench %.2f s",
		    r->server_cpu_s, r->client_cpu_s);
	else
		snprintf(buf, len, "; cpu: bench %.2f s", r->client_cpu_s);
}

/* Print the one-line summary. */
static void
bn_print_text(const struct benchnet_cfg *cfg, const struct benchnet_res *r)
{
	const struct benchhist	*h = &r->lat;
	const char		*sc = cfg->scenario;
	const char		*t = cfg->nats ? "nats" : "logwire";
	double			 s = r->seconds > 0 ? r->seconds : 1e-9;
	char			 cpu[128];

	bn_cpu_text(r, cpu, sizeof cpu);
	if (strcmp(sc, "publish") == 0)
		printf("publish %s connections=%llu window=%llu size=%llu "
		    "channels=%llu: %llu acked in %.2f s, %.0f msg/s %.1f "
		    "MB/s, ack p50 %.3f ms p99 %.3f ms max %.3f ms%s\n", t,
		    (unsigned long long)cfg->conns,
		    (unsigned long long)cfg->window,
		    (unsigned long long)cfg->size,
		    (unsigned long long)cfg->channels,
		    (unsigned long long)r->acked, s, r->acked / s,
		    r->acked * cfg->size / s / 1e6,
		    benchhist_quantile(h, 0.5) / 1e6,
		    benchhist_quantile(h, 0.99) / 1e6, h->max / 1e6, cpu);
	else if (strcmp(sc, "fanout") == 0)
		printf("fanout %s subscribers=%llu rate=%s%llu messages=%llu "
		    "size=%llu: %llu/%llu delivered, %.0f deliveries/s, "
		    "latency p50 %.3f p90 %.3f p99 %.3f p99.9 %.3f max %.3f "
		    "ms%s\n", t, (unsigned long long)cfg->conns,
		    cfg->rate == 0 ? "max/" : "",
		    (unsigned long long)cfg->rate,
		    (unsigned long long)cfg->messages,
		    (unsigned long long)cfg->size,
		    (unsigned long long)r->delivered,
		    (unsigned long long)r->expected, r->delivered / s,
		    benchhist_quantile(h, 0.5) / 1e6,
		    benchhist_quantile(h, 0.9) / 1e6,
		    benchhist_quantile(h, 0.99) / 1e6,
		    benchhist_quantile(h, 0.999) / 1e6, h->max / 1e6, cpu);
	else if (strcmp(sc, "replay") == 0)
		printf("replay %s clients=%llu messages=%llu size=%llu: "
		    "prefill %.0f msg/s; replay %.0f msg/s, %llu/%llu "
		    "caught up in %.3f s (first %.3f s)%s\n", t,
		    (unsigned long long)cfg->conns,
		    (unsigned long long)cfg->messages,
		    (unsigned long long)cfg->size, r->prefill_s > 0 ?
		    cfg->messages / r->prefill_s : 0, r->delivered / s,
		    (unsigned long long)r->caught_up,
		    (unsigned long long)cfg->conns, s, r->first_caught_s,
		    cpu);
	else if (strcmp(sc, "resume") == 0)
		printf("resume %s clients=%llu behind=%llu%s: %llu resumed "
		    "in %.3f s (%.0f clients/s), %llu caught up in %.3f s%s\n",
		    t, (unsigned long long)cfg->conns,
		    (unsigned long long)cfg->behind,
		    r->restarted ? " after restart" : " (no restart)",
		    (unsigned long long)r->resumed, r->subscribe_s,
		    r->subscribe_s > 0 ? r->resumed / r->subscribe_s : 0,
		    (unsigned long long)r->caught_up, s, cpu);
	else
		printf("connections %s connections=%llu sources=%llu: "
		    "server RSS %.1f MiB -> %.1f MiB, %lld bytes per "
		    "connection; bench RSS %.1f MiB%s\n", t,
		    (unsigned long long)cfg->conns,
		    (unsigned long long)cfg->sources, r->rss_base_kb / 1024.0,
		    r->rss_kb / 1024.0, r->rss_kb > 0 && r->rss_base_kb > 0 ?
		    (long long)(r->rss_kb - r->rss_base_kb) * 1024 /
		    (long long)cfg->conns : 0LL, r->client_rss_kb / 1024.0,
		    cpu);
	fflush(stdout);
}

/*
 * Run the network scenario argv[0].  Exit 0 when every count came out as
 * wanted, 1 on an error or a timeout (the partial result is printed),
 * 2 on bad usage.
 */
int
benchnet_main(int argc, char **argv)
{
	const struct bn_scenario	*sc = NULL;
	struct benchnet_cfg		 cfg;
	struct benchnet_res		*res;
	char				*cause = NULL, *prefix = NULL;
	size_t				 i;
	int				 ret, error;

	for (i = 0; i < nitems(bn_scenarios); i++) {
		if (strcmp(bn_scenarios[i].name, argv[0]) == 0)
			sc = &bn_scenarios[i];
	}
	if (sc == NULL)
		fatalx("no network scenario %s", argv[0]);
	memset(&cfg, 0, sizeof cfg);
	if ((ret = bn_options(sc, &cfg, argc, argv)) != 0) {
		free(cfg.host);
		return (ret == BENCH_HELP ? BENCH_EXIT_OK : ret);
	}
	if (cfg.prefix == NULL) {
		xasprintf(&prefix, "bench-%s-%ld-%ld", sc->name,
		    (long)getpid(), (long)time(NULL));
		cfg.prefix = prefix;
	}
	benchnet_raise_nofile(cfg.conns + 16);

	res = xcalloc(1, sizeof *res);
	res->scenario = sc->name;
	res->target = cfg.nats ? "nats" : "logwire";
	res->server_cpu_s = -1;
	res->server_pid = cfg.pid != 0 ? cfg.pid :
	    benchnet_find_pid(cfg.port);
	benchhist_init(&res->lat);

	if (cfg.nats) {
#ifdef HAVE_NATS
		error = benchnats_run(&cfg, res, &cause);
#else
		bench_error(sc->name, "built without libnats: --target "
		    "nats:// needs logwire-bench configured with libnats-dev "
		    "installed");
		ret = BENCH_EXIT_USAGE;
		goto out;
#endif
	} else
		error = bn_run(&cfg, res, &cause);
	if (error == 0 && res->expected > 0 &&
	    (res->delivered != res->expected || res->out_of_order != 0)) {
		error = -1;
		xasprintf(&cause, "%llu of %llu deliveries, %llu out of order",
		    (unsigned long long)res->delivered,
		    (unsigned long long)res->expected,
		    (unsigned long long)res->out_of_order);
	}
	if (error != 0)
		bench_error(sc->name, "%s", cause);
	if (cfg.json)
		bn_print_json(&cfg, res, error == 0, cause);
	else
		bn_print_text(&cfg, res);
	ret = error == 0 ? BENCH_EXIT_OK : BENCH_EXIT_ERROR;
#ifndef HAVE_NATS
out:
#endif
	free(cause);
	free(prefix);
	free(cfg.host);
	free(res);
	return (ret);
}
