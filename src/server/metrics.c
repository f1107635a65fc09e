/*
 * Metrics in the Prometheus text format (GET /metrics): counters kept by
 * the event loop, histograms of commit latency and batch size kept by the
 * writer thread (under its lock), errors counted by code.
 */

#include "config.h"

#include <pthread.h>
#include <string.h>

#include <event2/buffer.h>

#include "logwired.h"

static const double metrics_latency_bounds[] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1
};
static const double metrics_batch_bounds[] = {
	1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096
};

static pthread_mutex_t	 metrics_lock = PTHREAD_MUTEX_INITIALIZER;
static struct metrics_hist metrics_commit_latency = {
	metrics_latency_bounds, nitems(metrics_latency_bounds), { 0 }, 0, 0
};
static struct metrics_hist metrics_batch_size = {
	metrics_batch_bounds, nitems(metrics_batch_bounds), { 0 }, 0, 0
};

/* Error codes counted; others are counted as the nearest class. */
static const enum err_code metrics_codes[] = {
	ERR_BAD_REQUEST, ERR_UNKNOWN_OP, ERR_BAD_CHANNEL, ERR_BAD_POSITION,
	ERR_UNAUTHENTICATED, ERR_TOKEN_EXPIRED, ERR_FORBIDDEN, ERR_RESERVED,
	ERR_NOT_FOUND, ERR_NOT_SUBSCRIBED, ERR_METHOD, ERR_CONFLICT,
	ERR_SUBSCRIBED, ERR_TOO_LARGE, ERR_RATE, ERR_TOO_MANY_SUBS,
	ERR_INTERNAL, ERR_STOPPING, ERR_STORAGE
};
static uint64_t	metrics_code_counts[nitems(metrics_codes)];
static uint64_t	metrics_other_errors;

/* Add one observation to a histogram (caller holds the lock). */
static void
metrics_observe(struct metrics_hist *h, double v)
{
	size_t	i;

	for (i = 0; i < h->n && v > h->bounds[i]; i++)
		;
	h->counts[i]++;
	h->sum += v;
	h->count++;
}

/* Record one group commit (writer thread). */
void
metrics_commit(double seconds, size_t batch)
{
	pthread_mutex_lock(&metrics_lock);
	metrics_observe(&metrics_commit_latency, seconds);
	metrics_observe(&metrics_batch_size, (double)batch);
	pthread_mutex_unlock(&metrics_lock);
}

/* Count an error sent to a client (event loop). */
void
metrics_error(enum err_code code)
{
	size_t	i;

	for (i = 0; i < nitems(metrics_codes); i++) {
		if (metrics_codes[i] == code) {
			metrics_code_counts[i]++;
			return;
		}
	}
	metrics_other_errors++;
}

/* Write one histogram. */
static void
metrics_write_hist(struct evbuffer *b, const char *name, const char *help,
    const struct metrics_hist *h)
{
	uint64_t	cum = 0;
	size_t		i;

	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s histogram\n", name,
	    help, name);
	for (i = 0; i < h->n; i++) {
		cum += h->counts[i];
		evbuffer_add_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name,
		    h->bounds[i], (unsigned long long)cum);
	}
	cum += h->counts[h->n];
	evbuffer_add_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n", name,
	    (unsigned long long)cum);
	evbuffer_add_printf(b, "%s_sum %.9g\n%s_count %llu\n", name, h->sum,
	    name, (unsigned long long)h->count);
}

/* Write one counter or gauge. */
static void
metrics_write_one(struct evbuffer *b, const char *name, const char *type,
    const char *help, uint64_t v)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name,
	    help, name, type, name, (unsigned long long)v);
}

/* Write every metric in the Prometheus text format. */
void
metrics_write(struct evbuffer *b)
{
	struct metrics_hist	lat, bat;
	uint64_t		file_bytes = 0, map_bytes = 0;
	size_t			i;

	pthread_mutex_lock(&metrics_lock);
	lat = metrics_commit_latency;
	bat = metrics_batch_size;
	pthread_mutex_unlock(&metrics_lock);
	store_size(server.store, &file_bytes, &map_bytes);

	metrics_write_one(b, "logwire_connections", "gauge",
	    "Open connections.", conn_count());
	metrics_write_one(b, "logwire_connections_total", "counter",
	    "Connections accepted.", server.stats.connections_total);
	metrics_write_one(b, "logwire_subscriptions", "gauge",
	    "Active subscriptions.", server.stats.subscriptions);
	metrics_write_one(b, "logwire_channels", "gauge",
	    "Channels held in memory.", channel_count());
	metrics_write_one(b, "logwire_publishes_total", "counter",
	    "Publishes received (WebSocket and REST).", server.stats.publishes);
	metrics_write_one(b, "logwire_publish_errors_total", "counter",
	    "Publishes refused after reaching the writer.",
	    server.stats.publish_errors);
	metrics_write_one(b, "logwire_committed_messages_total", "counter",
	    "Messages committed to the log.",
	    server.stats.committed_messages);
	metrics_write_one(b, "logwire_deliveries_total", "counter",
	    "Messages sent to subscribers.", server.stats.deliveries);
	metrics_write_one(b, "logwire_sent_bytes_total", "counter",
	    "Message bytes queued to subscribers.", server.stats.sent_bytes);
	metrics_write_one(b, "logwire_storage_file_bytes", "gauge",
	    "Size of the LMDB data file.", file_bytes);
	metrics_write_one(b, "logwire_storage_map_bytes", "gauge",
	    "Size of the LMDB map.", map_bytes);
	metrics_write_one(b, "logwire_storage_ok", "gauge",
	    "1 while the last commit succeeded.", server.storage_state == 0);
	metrics_write_one(b, "logwire_storage_stale_readers_cleared_total",
	    "counter", "LMDB reader slots of dead processes cleared.",
	    store_readers_cleared(server.store));
	metrics_write_hist(b, "logwire_commit_seconds",
	    "Time of one group commit, sync included.", &lat);
	metrics_write_hist(b, "logwire_commit_batch_messages",
	    "Messages per group commit.", &bat);
	evbuffer_add_printf(b, "# HELP logwire_errors_total Errors sent to "
	    "clients, by code.\n# TYPE logwire_errors_total counter\n");
	for (i = 0; i < nitems(metrics_codes); i++)
		evbuffer_add_printf(b, "logwire_errors_total{code=\"%d\"} "
		    "%llu\n", metrics_codes[i],
		    (unsigned long long)metrics_code_counts[i]);
	evbuffer_add_printf(b, "logwire_errors_total{code=\"other\"} %llu\n",
	    (unsigned long long)metrics_other_errors);
}
