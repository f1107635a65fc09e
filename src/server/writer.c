/*
 * The storage writer: one thread that owns every write to the store.
 *
 * Group commit: the event loop queues requests; the writer takes all that
 * are waiting (up to batch_max messages) and appends them in one LMDB
 * write transaction, so one fsync covers the whole batch.  While it
 * commits, new requests gather for the next batch: the busier the server,
 * the larger the batches.  Committed batches go back to the event loop
 * (event_active on a user event, safe across threads with
 * evthread_use_pthreads), to the hooks given to writer_start, which
 * fans out and answers each request (wreq->done), in commit order.
 *
 * The writer also clears stale LMDB reader slots every few seconds: a
 * process killed inside a read transaction (a `logwire snapshot -d`, say)
 * leaves its slot, and LMDB then keeps every page freed since, so the file
 * grows for as long as the daemon runs.  The check is cheap (a scan of the
 * reader table) and belongs with the other upkeep of the store, off the
 * event loop.
 */

#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "logwired.h"

#define WRITER_READER_CHECK_MS	2000

static pthread_t	 writer_thread;
static pthread_mutex_t	 writer_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 writer_cond;
static struct wreq_list	 writer_in = TAILQ_HEAD_INITIALIZER(writer_in);
static struct wreq_list	 writer_done = TAILQ_HEAD_INITIALIZER(writer_done);
static size_t		 writer_queued;	/* in the queue or being written */
static int		 writer_stopping;
static struct event	*writer_done_ev;
static struct store	*writer_store;
static const struct config *writer_cfg;
static const struct writer_hooks *writer_hooks;

/* Free a request. */
void
wreq_free(struct wreq *w)
{
	if (w == NULL)
		return;
	free(w->ref);
	free(w->buf);
	free(w);
}

/* Queue a request for the writer (event loop thread). */
void
writer_submit(struct wreq *w)
{
	w->queued_ns = mono_ns();
	pthread_mutex_lock(&writer_lock);
	TAILQ_INSERT_TAIL(&writer_in, w, entry);
	writer_queued++;
	pthread_cond_signal(&writer_cond);
	pthread_mutex_unlock(&writer_lock);
}

/* Requests not yet handed back to the event loop. */
size_t
writer_pending(void)
{
	size_t	n;

	pthread_mutex_lock(&writer_lock);
	n = writer_queued;
	pthread_mutex_unlock(&writer_lock);
	return (n);
}

/* Hand the finished requests back to the event loop (event loop thread). */
static void
writer_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct wreq_list	list = TAILQ_HEAD_INITIALIZER(list);
	struct wreq		*w;

	pthread_mutex_lock(&writer_lock);
	while ((w = TAILQ_FIRST(&writer_done)) != NULL) {
		TAILQ_REMOVE(&writer_done, w, entry);
		TAILQ_INSERT_TAIL(&list, w, entry);
		writer_queued--;
	}
	pthread_mutex_unlock(&writer_lock);
	writer_hooks->committed(&list);
}

/* Append one batch of publishes in one transaction. */
static void
writer_append(struct wreq **batch, size_t n, struct store_msg *msgs)
{
	uint64_t	t0;
	size_t		i;
	int		rc;

	for (i = 0; i < n; i++)
		msgs[i] = batch[i]->msg;
	t0 = mono_ns();
	rc = store_append(writer_store, msgs, n, 0);
	writer_hooks->observe((double)(mono_ns() - t0) / 1e9, n);
	if (rc == STORE_EPANIC)
		fatalx("storage panic: the LMDB environment is unusable");
	for (i = 0; i < n; i++) {
		batch[i]->status = rc;
		if (rc == 0)
			batch[i]->msg = msgs[i];
	}
}

/* Create the channel a subscriber asked for. */
static void
writer_ensure(struct wreq *w)
{
	w->status = store_chan_ensure(writer_store, w->msg.channel,
	    w->msg.channel_len, 0, &w->chan);
	if (w->status == STORE_EPANIC)
		fatalx("storage panic: the LMDB environment is unusable");
}

/* Clear stale reader slots, saying so when there were any. */
static void
writer_reader_check(void)
{
	int	rc, n;

	if ((rc = store_reader_check(writer_store, &n)) != 0)
		log_warn("storage: reader check: %s", store_strerror(rc));
	else if (n > 0)
		log_info("storage: cleared %d stale reader slot%s of dead "
		    "processes", n, n == 1 ? "" : "s");
}

/* Set *ts to now plus ms milliseconds on the monotonic clock. */
static void
writer_deadline(struct timespec *ts, const struct timespec *now, long ms)
{
	*ts = *now;
	ts->tv_nsec += ms * 1000000L;
	ts->tv_sec += ts->tv_nsec / 1000000000L;
	ts->tv_nsec %= 1000000000L;
}

/* Whether time t has come by now. */
static int
writer_due(const struct timespec *now, const struct timespec *t)
{
	return (now->tv_sec > t->tv_sec || (now->tv_sec == t->tv_sec &&
	    now->tv_nsec >= t->tv_nsec));
}

/*
 * Wait for work, at most until the next periodic sync (if one is due) or
 * the next reader check, whichever comes first.
 */
static void
writer_wait(int dirty, const struct timespec *due,
    const struct timespec *check)
{
	const struct timespec	*until = check;

	if (dirty && writer_cfg->sync == STORE_SYNC_BATCH &&
	    !writer_due(due, check))
		until = due;
	pthread_cond_timedwait(&writer_cond, &writer_lock, until);
}

/* The writer thread's loop. */
static void *
writer_main(void *arg)
{
	struct wreq		**batch;
	struct store_msg	 *msgs;
	struct wreq		 *w;
	struct timespec		  due, check, now;
	size_t			  n, max = writer_cfg->batch_max, i;
	int			  dirty = 0;

	batch = xcalloc(max, sizeof *batch);
	msgs = xcalloc(max, sizeof *msgs);
	clock_gettime(CLOCK_MONOTONIC, &now);
	due = now;
	writer_deadline(&check, &now, WRITER_READER_CHECK_MS);
	pthread_mutex_lock(&writer_lock);
	for (;;) {
		while (TAILQ_EMPTY(&writer_in) && !writer_stopping) {
			writer_wait(dirty, &due, &check);
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (dirty && writer_cfg->sync == STORE_SYNC_BATCH &&
			    writer_due(&now, &due))
				break;
			if (writer_due(&now, &check))
				break;
		}
		if (TAILQ_EMPTY(&writer_in) && writer_stopping)
			break;
		n = 0;
		while (n < max && (w = TAILQ_FIRST(&writer_in)) != NULL) {
			/* A group (a REST array) is never split. */
			if (w->group > 1 && n > 0 && n + w->group > max)
				break;
			TAILQ_REMOVE(&writer_in, w, entry);
			batch[n++] = w;
		}
		pthread_mutex_unlock(&writer_lock);

		/* Ensures and publishes keep their queue order. */
		for (i = 0; i < n; ) {
			size_t	j = i;

			while (j < n && batch[j]->type == WREQ_PUBLISH)
				j++;
			if (j > i) {
				writer_append(batch + i, j - i, msgs);
				dirty = 1;
			}
			if (j < n) {
				writer_ensure(batch[j]);
				j++;
			}
			i = j;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (dirty && writer_cfg->sync == STORE_SYNC_BATCH &&
		    writer_due(&now, &due)) {
			store_sync(writer_store);
			dirty = 0;
		}
		if (!dirty)
			writer_deadline(&due, &now,
			    (long)writer_cfg->sync_interval_ms);
		if (writer_due(&now, &check)) {
			writer_reader_check();
			writer_deadline(&check, &now, WRITER_READER_CHECK_MS);
		}

		pthread_mutex_lock(&writer_lock);
		for (i = 0; i < n; i++)
			TAILQ_INSERT_TAIL(&writer_done, batch[i], entry);
		if (n > 0)
			event_active(writer_done_ev, EV_READ, 0);
	}
	pthread_mutex_unlock(&writer_lock);
	if (dirty)
		store_sync(writer_store);
	free(batch);
	free(msgs);
	return (NULL);
}

/*
 * Start the writer thread.  Committed batches are handed to
 * hooks->committed in the event loop of base.
 */
int
writer_start(struct event_base *base, struct store *store,
    const struct config *cfg, const struct writer_hooks *hooks)
{
	pthread_condattr_t	attr;
	uint64_t		n;

	writer_store = store;
	writer_cfg = cfg;
	writer_hooks = hooks;
	if ((n = store_readers_cleared(store)) > 0)
		log_info("storage: cleared %llu stale reader slot%s of dead "
		    "processes at open", (unsigned long long)n,
		    n == 1 ? "" : "s");
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&writer_cond, &attr);
	pthread_condattr_destroy(&attr);
	writer_done_ev = event_new(base, -1, 0, writer_done_cb, NULL);
	if (pthread_create(&writer_thread, NULL, writer_main, NULL) != 0)
		return (-1);
	return (0);
}

/*
 * Stop the writer after it has written everything queued, and hand the
 * last batches back.
 */
void
writer_stop(void)
{
	pthread_mutex_lock(&writer_lock);
	writer_stopping = 1;
	pthread_cond_signal(&writer_cond);
	pthread_mutex_unlock(&writer_lock);
	pthread_join(writer_thread, NULL);
	writer_done_cb(-1, 0, NULL);
	event_free(writer_done_ev);
	pthread_cond_destroy(&writer_cond);
}
