/*
 * The server: listeners, signals, the commit path back from the writer,
 * and an orderly shutdown.
 *
 * Shutdown (SIGTERM, SIGINT): stop taking work (publishes get 50300, new
 * WebSockets and REST requests 503, /healthz answers 503 "stopping"), let
 * the writer finish what is queued and send those acks, then close every
 * WebSocket with 1001 and give the clients up to --shutdown-timeout to read
 * what they were sent before the last connections are closed; exit 0.
 */

#include "config.h"

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>

#include "logwired.h"

struct server		 server;

#define SERVER_STOP_GRACE_MS	3000
#define SERVER_STOP_QUIET_MS	100	/* no request for this long: close */
#define SERVER_ACCEPT_PAUSE_MS	250	/* no descriptor left: wait */
#define SERVER_FD_RESERVE	64	/* descriptors not for connections */

static struct evconnlistener	**listeners;
static size_t			  nlisteners;
static struct event		 *sig_term, *sig_int, *stop_timer;
static struct event		 *accept_timer;
static struct log_rate		  accept_log, accept_again_log;
static unsigned long long	  accept_failed;
static uint64_t			  stop_started;
static int			  stop_phase;

/* The records of a fan-out run, as the log will give them back. */
struct server_fanout {
	struct store_rec	*recs;
	size_t			 n, size;
	struct channel		*ch;
};

/* Fan out the run gathered so far. */
static void
server_fanout_flush(struct server_fanout *run)
{
	if (run->n > 0)
		channel_publish(run->ch, run->recs, run->n);
	run->n = 0;
	run->ch = NULL;
}

/* Add a committed message to the run, flushing first on a new channel. */
static void
server_fanout_add(struct server_fanout *run, struct channel *ch,
    const struct store_msg *m)
{
	struct store_rec	*rec;

	if (run->ch != ch)
		server_fanout_flush(run);
	run->ch = ch;
	if (run->n == run->size) {
		run->size = run->size == 0 ? 64 : run->size * 2;
		run->recs = xrealloc(run->recs, run->size * sizeof *run->recs);
	}
	rec = &run->recs[run->n];
	memset(rec, 0, sizeof *rec);
	rec->chan_id = m->chan_id;
	rec->serial = m->serial;
	rec->time = m->time;
	rec->id = store_msg_id(m, &rec->id_len);
	rec->name = m->name;
	rec->name_len = m->name_len;
	rec->client = m->client;
	rec->client_len = m->client_len;
	rec->data = m->data;
	rec->data_len = m->data_len;
	rec->flags = m->flags;
	run->n++;
}

/*
 * A batch came back from the writer: fan out what was committed, in commit
 * order and by runs of one channel (channel_publish), then hand each
 * request to its submitter's done callback, which answers it.  The storage state follows the last commit, so publishing
 * resumes by itself once space returns.
 */
static void
server_committed(struct wreq_list *list)
{
	static struct server_fanout	 run;
	struct store_msg		*m;
	struct channel			*ch;
	struct wreq			*w;

	TAILQ_FOREACH(w, list, entry) {
		m = &w->msg;
		if (w->type != WREQ_PUBLISH)
			continue;
		if (err_store(w->status) == ERR_STORAGE)
			server.storage_state = w->status;
		else if (w->status == 0)
			server.storage_state = 0;
		if (w->status != 0 || m->error != 0)
			server.stats.publish_errors++;
		else if (!m->duplicate)
			server.stats.committed_messages++;
		if (w->status == 0 && m->error == 0 && !m->duplicate &&
		    (ch = channel_find(m->channel, m->channel_len)) != NULL)
			server_fanout_add(&run, ch, m);
	}
	server_fanout_flush(&run);

	while ((w = TAILQ_FIRST(list)) != NULL) {
		TAILQ_REMOVE(list, w, entry);
		w->done(w);
	}
}

/* The writer's batches come back to the fan-out; its timings to metrics. */
static const struct writer_hooks server_writer = {
	server_committed, metrics_commit
};

/*
 * Start the orderly shutdown.  The listeners stay open: /healthz must
 * answer 503 while the server stops, and any other request gets a 503
 * saying why, where a closed or paused listener would leave clients with
 * a refused connection or one that hangs in the backlog.  New work is
 * what stops: WebSocket upgrades, REST requests and publishes.
 */
static void
server_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct timeval	tv = { 0, 10000 };

	if (server.stopping)
		return;
	log_info("signal %d: shutting down", (int)sig);
	server.stopping = 1;
	stop_started = mono_ns();
	conn_read_all();
	event_add(stop_timer, &tv);
}

/*
 * Step the shutdown: first wait for the writer to hand back every queued
 * request, however long its commits take (the queue is bounded by
 * --max-inflight per connection, and every queued publish is committed
 * anyway, so each must get its ack), and for the clients to go quiet:
 * requests they sent before the signal may still sit in the sockets, and
 * each gets its answer (50300 for a publish) before the close.  Then close
 * the WebSockets with 1001, behind their last acks, and leave the loop once
 * every connection has ended in order (conn.c: the client has read what it
 * was sent and closed, or has it all and stays silent), or when the
 * clients' --shutdown-timeout to read it is over.
 */
static void
server_stop_cb(evutil_socket_t fd, short what, void *arg)
{
	struct timeval	tv = { 0, 10000 };
	uint64_t	now = mono_ns(), quiet_ms;

	quiet_ms = (now - server.last_request_ns) / 1000000;
	if (stop_phase == 0 && writer_pending() == 0 &&
	    (quiet_ms >= SERVER_STOP_QUIET_MS ||
	    (now - stop_started) / 1000000 > SERVER_STOP_GRACE_MS)) {
		server.stop_by_ns = now +
		    server.cfg->shutdown_timeout_ms * 1000000ULL;
		server_conn_close_all(1001);
		stop_phase = 1;
	}
	if (stop_phase == 1 && (conn_count() == 0 ||
	    mono_ns() >= server.stop_by_ns)) {
		if (conn_count() != 0)
			log_warn("shutdown timeout: closing %zu connection%s "
			    "not done", conn_count(), conn_count() == 1 ? "" :
			    "s");
		event_base_loopexit(server.base, NULL);
		return;
	}
	event_add(stop_timer, &tv);
}

/* Accept callback of every listener. */
static void
server_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	unsigned long long	n;

	if (accept_failed != 0) {
		if ((n = log_rate(&accept_again_log)) != 0)
			log_info("accepting connections again after %llu "
			    "failed accept%s", accept_failed,
			    accept_failed == 1 ? "" : "s");
		accept_failed = 0;
	}
	conn_accept(fd, sa, salen, &conn_plain, NULL);
}

/* The pause is over: take connections again. */
static void
server_accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	size_t	i;

	for (i = 0; i < nlisteners; i++)
		evconnlistener_enable(listeners[i]);
}

/*
 * accept(2) failed.  Out of descriptors or memory, the connection stays
 * in the backlog and the listening socket stays readable, so retrying at
 * once spins: stop listening for SERVER_ACCEPT_PAUSE_MS (connections
 * ending meanwhile give descriptors back) and log at most one line per
 * LOG_RATE_MS, with a count.  Other errors concern one connection,
 * which the kernel has dropped.
 */
static void
server_accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct timeval		tv = { 0, SERVER_ACCEPT_PAUSE_MS * 1000 };
	unsigned long long	n;
	size_t			i;
	int			err = EVUTIL_SOCKET_ERROR();

	if (err != EMFILE && err != ENFILE && err != ENOBUFS &&
	    err != ENOMEM) {
		if ((n = log_rate(&accept_log)) != 0)
			log_warn("accept: %s (%llu time%s since the last "
			    "report)", strerror(err), n, n == 1 ? "" : "s");
		return;
	}
	accept_failed++;
	if ((n = log_rate(&accept_log)) != 0)
		log_warn("accept: %s (%llu time%s since the last report): "
		    "new connections wait %d ms each time", strerror(err), n,
		    n == 1 ? "" : "s", SERVER_ACCEPT_PAUSE_MS);
	for (i = 0; i < nlisteners; i++)
		evconnlistener_disable(listeners[i]);
	evtimer_add(accept_timer, &tv);
}

/* Whether an address is loopback (127/8 or ::1). */
static int
server_is_loopback(const struct sockaddr *sa)
{
	const struct sockaddr_in6	*s6;

	if (sa->sa_family == AF_INET)
		return ((ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr)
		    >> 24) == 127);
	if (sa->sa_family == AF_INET6) {
		s6 = (const struct sockaddr_in6 *)sa;
		return (IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr));
	}
	return (0);
}

/*
 * Split "ADDR:PORT", "[ADDR]:PORT" or ":PORT" and resolve it.  Returns a
 * getaddrinfo list (caller frees) or NULL with *cause set.
 */
static struct addrinfo *
server_resolve(const char *spec, char **cause)
{
	struct addrinfo	 hints, *res;
	char		*host, *port, *copy;
	int		 rc;

	copy = xstrdup(spec);
	if (copy[0] == '[') {
		host = copy + 1;
		if ((port = strchr(host, ']')) == NULL || port[1] != ':') {
			xasprintf(cause, "bad listen address %s", spec);
			free(copy);
			return (NULL);
		}
		*port = '\0';
		port += 2;
	} else {
		if ((port = strrchr(copy, ':')) == NULL) {
			xasprintf(cause, "bad listen address %s (ADDR:PORT)",
			    spec);
			free(copy);
			return (NULL);
		}
		*port++ = '\0';
		host = copy;
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(*host != '\0' ? host : NULL, port, &hints, &res);
	if (rc != 0) {
		xasprintf(cause, "listen address %s: %s", spec,
		    gai_strerror(rc));
		free(copy);
		return (NULL);
	}
	free(copy);
	return (res);
}

/*
 * Check the listen addresses: in open mode (no keys) every one must be
 * loopback unless insecure_open.  Returns 0, or -1 with *cause set.
 */
int
server_check_listen(const struct config *cfg, char **cause)
{
	struct addrinfo	*res, *ai;
	size_t		 i;

	for (i = 0; i < cfg->nlisten; i++) {
		if ((res = server_resolve(cfg->listen[i], cause)) == NULL)
			return (-1);
		for (ai = res; ai != NULL; ai = ai->ai_next) {
			if (!cfg->insecure_open &&
			    !server_is_loopback(ai->ai_addr)) {
				xasprintf(cause, "refusing to listen on %s in "
				    "open mode (no keys configured): use a "
				    "loopback address or --insecure-open",
				    cfg->listen[i]);
				freeaddrinfo(res);
				return (-1);
			}
		}
		freeaddrinfo(res);
	}
	return (0);
}

/* Bind every listen address. */
static int
server_listen(const struct config *cfg)
{
	struct evconnlistener	*l;
	struct addrinfo		*res, *ai;
	char			*cause;
	size_t			 i;

	for (i = 0; i < cfg->nlisten; i++) {
		if ((res = server_resolve(cfg->listen[i], &cause)) == NULL) {
			log_error("%s", cause);
			free(cause);
			return (-1);
		}
		for (ai = res; ai != NULL; ai = ai->ai_next) {
			l = evconnlistener_new_bind(server.base,
			    server_accept_cb, NULL, LEV_OPT_CLOSE_ON_FREE |
			    LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC |
			    (ai->ai_family == AF_INET6 ?
			    LEV_OPT_BIND_IPV6ONLY : 0), 1024, ai->ai_addr,
			    (int)ai->ai_addrlen);
			if (l == NULL) {
				log_error("cannot listen on %s: %s",
				    cfg->listen[i], strerror(errno));
				freeaddrinfo(res);
				return (-1);
			}
			evconnlistener_set_error_cb(l, server_accept_error_cb);
			listeners = xrealloc(listeners,
			    (nlisteners + 1) * sizeof *listeners);
			listeners[nlisteners++] = l;
		}
		freeaddrinfo(res);
		log_info("listening on %s", cfg->listen[i]);
	}
	return (0);
}

/*
 * Raise the open-file limit to its hard maximum for many connections, and
 * keep --max-connections within it.  Every connection is a descriptor, and
 * the store, the listeners, the log, the event loop, snapshots and
 * connections refused at the limit need some too (SERVER_FD_RESERVE): a
 * connection limit above what the descriptors allow is no limit, and
 * accept(2) would fail instead (server_accept_error_cb).
 */
static void
server_fit_nofile(struct config *cfg)
{
	struct rlimit	rl;
	rlim_t		reserve, fit;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur == RLIM_INFINITY)
		return;
	reserve = SERVER_FD_RESERVE + 2 * cfg->nlisten;
	fit = rl.rlim_cur > 2 * reserve ? rl.rlim_cur - reserve :
	    rl.rlim_cur / 2;
	if (fit == 0)
		fit = 1;
	if ((rlim_t)cfg->max_connections <= fit)
		return;
	log_msg(cfg->max_connections_set ? LOG_WARN : LOG_INFO,
	    "max-connections lowered from %zu to %llu: the open-file limit "
	    "(RLIMIT_NOFILE) is %llu and %llu are kept for the store, "
	    "listeners and snapshots", cfg->max_connections,
	    (unsigned long long)fit, (unsigned long long)rl.rlim_cur,
	    (unsigned long long)(rl.rlim_cur - fit));
	cfg->max_connections = (size_t)fit;
}

/* Run the server until a signal stops it.  Returns the exit status. */
int
server_run(struct config *cfg)
{
	struct store_config	 scfg;
	struct event_config	*ecfg;
	sigset_t		 stopset;
	char			*cause;
	size_t			 i;
	int			 rc;

	signal(SIGPIPE, SIG_IGN);
	server_fit_nofile(cfg);
	if (evthread_use_pthreads() != 0)
		fatalx("evthread_use_pthreads failed");
	memset(&server, 0, sizeof server);
	server.cfg = cfg;
	server.started_ms = store_now_ms();

	store_config_default(&scfg);
	scfg.sync = cfg->sync;
	scfg.dedupe_window_ms = cfg->dedupe_window_ms;
	if ((rc = store_open(cfg->datadir, &scfg, &server.store,
	    &cause)) != 0) {
		log_error("cannot open the store in %s: %s", cfg->datadir,
		    cause != NULL ? cause : store_strerror(rc));
		free(cause);
		return (1);
	}
	server.reader = store_reader_open(server.store);
	/*
	 * With the epoll changelist, a connection's write interest added and
	 * removed within one loop turn (fan-out to a subscriber whose socket
	 * takes the bytes at once) costs no epoll_ctl at all.
	 */
	if ((ecfg = event_config_new()) == NULL)
		fatalx("event_config_new failed");
	event_config_set_flag(ecfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	server.base = event_base_new_with_config(ecfg);
	event_config_free(ecfg);
	if (server.base == NULL)
		fatalx("event_base_new failed");
	/* Priorities: the output flush (conn.c) runs after all else. */
	if (event_base_priority_init(server.base, SERVER_PRIORITIES) != 0)
		fatalx("event_base_priority_init failed");
	channel_init();
	conn_set_ops(&server_conn_ops);
	ws_set_handler(&proto_ws_handler);
	if (server_listen(cfg) != 0) {
		rc = 1;
		goto out;
	}
	if (writer_start(server.base, server.store, cfg, &server_writer) != 0)
		fatalx("cannot start the writer thread");
	sig_term = evsignal_new(server.base, SIGTERM, server_signal_cb, NULL);
	sig_int = evsignal_new(server.base, SIGINT, server_signal_cb, NULL);
	stop_timer = evtimer_new(server.base, server_stop_cb, NULL);
	accept_timer = evtimer_new(server.base, server_accept_resume_cb, NULL);
	evsignal_add(sig_term, NULL);
	evsignal_add(sig_int, NULL);
	log_info("open mode: no keys configured, every operation is allowed");
	log_info("ready: data in %s, sync %s", cfg->datadir,
	    store_sync_name(cfg->sync));

	event_base_dispatch(server.base);

	writer_stop();
	server_conn_close_all(0);
	conn_shutdown();
	ws_shutdown();
	rest_shutdown();
	log_info("stopped");
	rc = 0;
	/*
	 * Shutting down already: a second SIGTERM or SIGINT during the rest
	 * of the teardown must not turn a clean exit into death by signal.
	 * Freeing the signal events puts the default handlers back, so the
	 * signals are blocked first and ignored after.
	 */
	sigemptyset(&stopset);
	sigaddset(&stopset, SIGTERM);
	sigaddset(&stopset, SIGINT);
	sigprocmask(SIG_BLOCK, &stopset, NULL);
	event_free(sig_term);
	event_free(sig_int);
	event_free(stop_timer);
	event_free(accept_timer);
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
out:
	for (i = 0; i < nlisteners; i++)
		evconnlistener_free(listeners[i]);
	free(listeners);
	listeners = NULL;
	nlisteners = 0;
	channel_free_all();
	store_reader_close(server.reader);
	store_close(server.store);
	event_base_free(server.base);
	return (rc);
}
