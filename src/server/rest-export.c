/*
 * GET /v1/channels/{name}/export: the whole range as NDJSON, one message
 * a line, in HTTP chunks, zstd-compressed when the client accepts it.
 *
 * An export can be far larger than memory, so it is read in steps of
 * REST_EXPORT_CHUNK records only while the connection's output is under
 * its watermark, and moved on by the connection's drained step
 * (rest_stream).  A client that reads slowly holds a cursor, not a copy.
 */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "rest-int.h"

#define REST_EXPORT_CHUNK	1000	/* records per export step */

/* Write one HTTP chunk. */
static void
rest_export_chunk(struct evbuffer *out, const void *p, size_t len)
{
	if (len == 0)
		return;
	evbuffer_add_printf(out, "%zx\r\n", len);
	evbuffer_add(out, p, len);
	evbuffer_add_lit(out, "\r\n");
}

/* Compress (or not) and write what the scratch buffer holds. */
static int
rest_export_emit(struct rest_job *job, int last)
{
	struct evbuffer	*out = conn_output(job->conn);
	ZSTD_inBuffer	 in;
	ZSTD_outBuffer	 ob;
	char		 buf[65536];
	size_t		 len = evbuffer_get_length(job->exp.scratch), rc;

	if (job->exp.zc == NULL) {
		rest_export_chunk(out, evbuffer_pullup(job->exp.scratch,
		    (ssize_t)len), len);
		evbuffer_drain(job->exp.scratch, len);
		return (0);
	}
	in.src = evbuffer_pullup(job->exp.scratch, (ssize_t)len);
	in.size = len;
	in.pos = 0;
	do {
		ob.dst = buf;
		ob.size = sizeof buf;
		ob.pos = 0;
		rc = ZSTD_compressStream2(job->exp.zc, &ob, &in, last ?
		    ZSTD_e_end : ZSTD_e_continue);
		if (ZSTD_isError(rc)) {
			log_error("export: zstd: %s", ZSTD_getErrorName(rc));
			return (-1);
		}
		rest_export_chunk(out, buf, ob.pos);
	} while (last ? rc != 0 : in.pos < in.size);
	evbuffer_drain(job->exp.scratch, len);
	return (0);
}

/* Add one record to the export. */
static int
rest_export_cb(const struct store_rec *rec, void *arg)
{
	struct rest_job	*job = arg;

	rest_item(job->exp.scratch, job->exp.name, job->exp.name_len, rec);
	evbuffer_add_lit(job->exp.scratch, "\n");
	job->exp.next = rec->serial + 1;
	return (0);
}

/*
 * Move an export forward while the output is under the watermark; called
 * again by the connection's drained step (rest_stream).  The last chunk
 * ends the response and frees the connection for its next request.
 */
void
rest_export_stream(struct conn *c)
{
	struct rest_job	*job = c->job;
	int		 rc, last;

	while (!conn_over_watermark(c)) {
		rc = 0;
		if (job->exp.next <= job->exp.last) {
			rc = store_read(server.reader, job->exp.chan_id,
			    job->exp.next, job->exp.last, 0, REST_EXPORT_CHUNK,
			    1024 * 1024, rest_export_cb, job);
			if (rc == 0)
				job->exp.next = job->exp.last + 1;
		}
		last = rc < 0 || job->exp.next > job->exp.last;
		if (rc < 0)
			log_error("export of %s stopped at %llu: %s",
			    job->exp.name, (unsigned long long)job->exp.next,
			    store_strerror(rc));
		if (rest_export_emit(job, last) != 0 || rc < 0) {
			/* Cut the response short: the client sees no end. */
			c->job = NULL;
			rest_job_free(job);
			conn_set_flush(c);
			return;
		}
		if (last) {
			evbuffer_add_lit(conn_output(c), "0\r\n\r\n");
			c->job = NULL;
			rest_next(c, job->keepalive);
			rest_job_free(job);
			return;
		}
	}
}

/* GET /v1/channels/{name}/export */
int
rest_export_get(struct rest_req *r)
{
	struct store_chan	 sc;
	struct rest_job		*job;
	uint64_t		 lo, hi;
	const char		*ae;
	int			 zstd;

	if (rest_chan(r, &sc) != 0)
		return (0);
	if (rest_range(r, &sc, &lo, &hi) != 0)
		return (0);
	ae = http_req_header(r->conn->req, "accept-encoding");
	zstd = http_token_has(ae, "zstd");
	rest_head(r, "application/x-ndjson", zstd ?
	    "Content-Encoding: zstd\r\n" : NULL);
	evbuffer_add_lit(r->out, "Transfer-Encoding: chunked\r\n\r\n");
	if (r->head)
		return (0);

	job = rest_job_new(r, REST_JOB_EXPORT);
	job->exp.chan_id = sc.id;
	job->exp.name = xstrndup(sc.name, sc.name_len);
	job->exp.name_len = sc.name_len;
	job->exp.next = lo;
	job->exp.last = hi;
	job->exp.scratch = evbuffer_new();
	if (zstd) {
		if ((job->exp.zc = ZSTD_createCCtx()) == NULL)
			fatalx("ZSTD_createCCtx failed");
		ZSTD_CCtx_setParameter(job->exp.zc, ZSTD_c_compressionLevel, 3);
		ZSTD_CCtx_setParameter(job->exp.zc, ZSTD_c_checksumFlag, 1);
	}
	r->conn->job = job;
	rest_export_stream(r->conn);
	return (r->conn->job != NULL);
}

/* Free what an export job holds. */
void
rest_export_free(struct rest_job *job)
{
	free(job->exp.name);
	if (job->exp.zc != NULL)
		ZSTD_freeCCtx(job->exp.zc);
	if (job->exp.scratch != NULL)
		evbuffer_free(job->exp.scratch);
}
