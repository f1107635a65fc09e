/*
 * logwire-bench internals: the scenario driver (bench.c), the latency
 * histogram (bench-hist.c), the event-driven WebSocket client
 * (bench-ws.c), the network scenarios against logwired (bench-net.c) and
 * the same scenarios against NATS (bench-nats.c, built only with
 * libnats).
 */

#ifndef BENCH_H
#define BENCH_H

#include <sys/types.h>
#include <netinet/in.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct event_base;

#define BENCH_EXIT_OK		0
#define BENCH_EXIT_ERROR	1
#define BENCH_EXIT_USAGE	2
#define BENCH_HELP		(-1)	/* help printed: exit 0 */

/* bench.c */
void		 bench_error(const char *, const char *, ...)
		     __attribute__((__format__(__printf__, 2, 3)));
double		 bench_now(void);
int		 bench_number(const char *, uint64_t, uint64_t *);

/*
 * bench-hist.c: a histogram of durations in nanoseconds with log-linear
 * buckets (64 per power of two, so any value is known within 1.6%), as
 * HdrHistogram does: constant memory and constant time per value, however
 * many values are recorded.
 */
#define BENCHHIST_SUB		64
#define BENCHHIST_BUCKETS	(BENCHHIST_SUB + 58 * BENCHHIST_SUB)
struct benchhist {
	uint64_t	n;
	uint64_t	max;
	double		sum;
	uint64_t	counts[BENCHHIST_BUCKETS];
};
void		 benchhist_init(struct benchhist *);
void		 benchhist_add(struct benchhist *, uint64_t);
void		 benchhist_merge(struct benchhist *, const struct benchhist *);
/* The value at quantile q (0..1), in nanoseconds; 0 when empty. */
uint64_t	 benchhist_quantile(const struct benchhist *, double);

/*
 * bench-ws.c: a non-blocking WebSocket client on a socket of its own,
 * framed by wslay's frame layer; many per event base, sharing a struct
 * benchws_loop.  The callbacks are called from the event loop; after
 * close() the client is freed and must not be used.  benchws_free() may
 * be called from any callback.
 */
struct benchws;
struct benchws_loop;
struct benchws_cb {
	/* The upgrade succeeded. */
	void	(*open)(struct benchws *, void *);
	/*
	 * A whole text message came (not NUL-terminated, valid UTF-8);
	 * the bytes are valid until the callback returns.
	 */
	void	(*msg)(struct benchws *, const char *, size_t, void *);
	/* The connection failed or closed; cause says why. */
	void	(*close)(struct benchws *, const char *, void *);
};
/* Make the state shared by the clients of an event base. */
struct benchws_loop *benchws_loop_new(struct event_base *);
/* Free it; every client must have been freed. */
void		 benchws_loop_free(struct benchws_loop *);
/*
 * Connect to dst (binding to src first, unless NULL) and upgrade on path
 * with Host host:port and subprotocol logwire.v1.  Return NULL with *cause set
 * (caller frees) when the socket cannot even be created.
 */
struct benchws	*benchws_connect(struct benchws_loop *,
		     const struct sockaddr_in *, const struct sockaddr_in *,
		     const char *, const char *, const struct benchws_cb *,
		     void *, char **);
/*
 * Queue one text message, written with everything else queued in this
 * round of callbacks; return 0 or -1 (the connection is closing).
 */
int		 benchws_send(struct benchws *, const char *, size_t);
/* Drop the connection at once, without a close handshake. */
void		 benchws_free(struct benchws *);
/* Bytes waiting in the output buffer. */
size_t		 benchws_pending(struct benchws *);

/*
 * Settings of a network scenario, parsed by bench-net.c and used by the
 * logwired and the NATS drivers alike.
 */
struct benchnet_cfg {
	const char	*scenario;
	const char	*target;	/* as given */
	int		 nats;		/* nats:// target */
	char		*host;
	int		 port;
	struct sockaddr_in addr;
	uint64_t	 conns;		/* P, C or K */
	uint64_t	 window;	/* unacknowledged publishes */
	uint64_t	 size;		/* bytes of data per message */
	uint64_t	 channels;
	uint64_t	 messages;
	uint64_t	 rate;		/* msg/s, 0: as fast as acks come */
	uint64_t	 behind;	/* resume: messages behind */
	uint64_t	 sources;	/* 127.0.0.x source addresses */
	uint64_t	 hold_ms;	/* connections: idle time before RSS */
	uint64_t	 timeout_ms;	/* bound on the whole scenario */
	const char	*restart_cmd;
	const char	*prefix;	/* channel names */
	pid_t		 pid;		/* server, 0: find by port */
	int		 json;
};

/*
 * What a network scenario measured.  Times in seconds, latencies in a
 * histogram of nanoseconds; each scenario fills what it measures.
 */
struct benchnet_res {
	const char	*scenario;
	const char	*target;	/* "logwire" or "nats" */
	uint64_t	 sent;		/* publishes sent */
	uint64_t	 acked;		/* publishes acknowledged */
	uint64_t	 errors;	/* error replies and failed connections */
	uint64_t	 delivered;	/* messages received by subscribers */
	uint64_t	 expected;	/* deliveries wanted */
	uint64_t	 out_of_order;	/* serials not strictly increasing */
	uint64_t	 clients;	/* connections that took part */
	uint64_t	 subscribed;
	uint64_t	 resumed;	/* subscribed with resumed:true */
	uint64_t	 caught_up;	/* clients that got everything */
	double		 seconds;	/* the measured phase */
	double		 prefill_s;
	double		 connect_s;	/* all clients connected */
	double		 subscribe_s;	/* all subscribed (resume: resumed) */
	double		 first_caught_s;
	double		 restart_s;
	int		 restarted;
	int		 timed_out;
	long		 rss_base_kb;	/* connections: server RSS before */
	long		 rss_kb;	/* and with the connections open */
	long		 client_rss_kb;
	double		 server_cpu_s;	/* -1: unknown */
	double		 client_cpu_s;
	pid_t		 server_pid;
	struct benchhist lat;		/* ack or publish-to-deliver */
};

/*
 * A measured phase's start: the time (bench_now()) and the CPU times of
 * the server (-1: unknown) and of this process.  benchnet_measure_end()
 * puts the phase's seconds and CPU times into the result.
 */
struct benchnet_meter {
	double		 t0;
	double		 cpu_server0;
	double		 cpu_client0;
};

/* bench-net.c */
int		 benchnet_main(int, char **);
void		 benchnet_measure_start(struct benchnet_meter *,
		     const struct benchnet_res *);
void		 benchnet_measure_end(const struct benchnet_meter *,
		     struct benchnet_res *);
const char	*benchnet_usage(const char *);
void		 benchnet_payload(char *, size_t, uint64_t);
double		 benchnet_proc_cpu(pid_t);
pid_t		 benchnet_find_pid(int);
double		 benchnet_self_cpu(void);
void		 benchnet_raise_nofile(uint64_t);

/* bench-nats.c */
int		 benchnats_run(const struct benchnet_cfg *, struct benchnet_res *,
		     char **);

#endif /* BENCH_H */
