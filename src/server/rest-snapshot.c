/*
 * GET /v1/snapshot: a consistent copy of the store, for logwire restore.
 *
 * The copy (store_snapshot, an LMDB copy of a read transaction) takes as
 * long as the store is large, so it runs in a thread of its own, into an
 * unlinked temporary file in the data directory; the event loop is woken
 * when it is done (an event made active from the thread), joins the
 * thread and sends the file with its size known.  The jobs whose thread
 * runs are listed, so that the server joins them before it exits.
 */

#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "rest-int.h"

/* Snapshot jobs whose thread runs: joined before the server exits. */
static TAILQ_HEAD(, rest_job) rest_snapshot_jobs =
    TAILQ_HEAD_INITIALIZER(rest_snapshot_jobs);

/* The snapshot thread: copy the store into the job's file. */
static void *
rest_snapshot_main(void *arg)
{
	struct rest_job	*job = arg;
	uint64_t	 bytes;

	job->snap.rc = store_snapshot(server.store, job->snap.fd, &bytes,
	    &job->snap.cause);
	event_active(job->snap.ev, EV_TIMEOUT, 0);
	return (NULL);
}

/* The snapshot is written: send the file (event loop). */
static void
rest_snapshot_done(evutil_socket_t fd, short what, void *arg)
{
	struct rest_job	*job = arg;
	struct conn	*c = job->conn;
	struct evbuffer	*out, *h;
	struct stat	 st;

	pthread_join(job->snap.thread, NULL);
	TAILQ_REMOVE(&rest_snapshot_jobs, job, snap.entry);
	if (job->orphan) {
		rest_job_free(job);
		return;
	}
	out = conn_output(c);
	c->job = NULL;
	h = evbuffer_new();
	rest_cors_headers(h, job->cors);
	evbuffer_add_lit(h, "\0");
	if (job->snap.rc != 0 || fstat(job->snap.fd, &st) != 0) {
		metrics_error(ERR_INTERNAL);
		http_respond_error(out, ERR_INTERNAL, job->snap.cause != NULL ?
		    job->snap.cause : store_strerror(job->snap.rc),
		    (const char *)evbuffer_pullup(h, -1), job->keepalive);
	} else {
		evbuffer_add_printf(out, "HTTP/1.1 200 OK\r\nServer: "
		    "logwire/%s\r\nContent-Type: application/octet-stream\r\n"
		    "Content-Disposition: attachment; filename=\"logwire."
		    "snapshot\"\r\nContent-Length: %lld\r\n%s%s\r\n",
		    PACKAGE_VERSION, (long long)st.st_size, job->keepalive ?
		    "" : "Connection: close\r\n",
		    (const char *)evbuffer_pullup(h, -1));
		if (st.st_size > 0) {
			/* The buffer now owns the descriptor. */
			evbuffer_add_file(out, job->snap.fd, 0, st.st_size);
			job->snap.fd = -1;
		}
	}
	evbuffer_free(h);
	rest_next(c, job->keepalive);
	rest_job_free(job);
}

/* GET /v1/snapshot: a consistent copy, written to a file then sent. */
int
rest_snapshot_get(struct rest_req *r)
{
	struct rest_job	*job;
	char		*path;
	int		 fd;

	if (r->head) {
		/* The size is known only once the copy is made. */
		rest_head(r, "application/octet-stream", NULL);
		evbuffer_add_lit(r->out, "\r\n");
		return (0);
	}

	xasprintf(&path, "%s/.snapshot-XXXXXX", server.cfg->datadir);
	if ((fd = mkstemp(path)) == -1) {
		rest_error(r, ERR_INTERNAL, "cannot create a snapshot file: %s",
		    strerror(errno));
		free(path);
		return (0);
	}
	unlink(path);	/* The open descriptor keeps it until sent. */
	free(path);
	job = rest_job_new(r, REST_JOB_SNAPSHOT);
	job->snap.fd = fd;
	job->snap.ev = event_new(server.base, -1, 0, rest_snapshot_done, job);
	r->conn->job = job;
	if (pthread_create(&job->snap.thread, NULL, rest_snapshot_main,
	    job) != 0)
		fatalx("cannot start the snapshot thread");
	TAILQ_INSERT_TAIL(&rest_snapshot_jobs, job, snap.entry);
	return (1);
}

/* Free what a snapshot job holds; its thread is joined. */
void
rest_snapshot_free(struct rest_job *job)
{
	if (job->snap.ev != NULL)
		event_free(job->snap.ev);
	if (job->snap.fd != -1)
		close(job->snap.fd);
	free(job->snap.cause);
}

/*
 * Wait for the snapshot copies still running (at exit, once every
 * connection is closed, so their jobs are orphans) and free them.
 */
void
rest_snapshot_join_all(void)
{
	struct rest_job	*job;

	while ((job = TAILQ_FIRST(&rest_snapshot_jobs)) != NULL) {
		TAILQ_REMOVE(&rest_snapshot_jobs, job, snap.entry);
		pthread_join(job->snap.thread, NULL);
		rest_job_free(job);
	}
}
