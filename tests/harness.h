/*
 * harness: helpers for integration tests that drive the real logwired.
 *
 * hd_start() runs <top_builddir>/src/logwired (or $LOGWIRED) on a free
 * loopback port with a fresh data directory inside a temporary directory
 * (under $TMPDIR or /tmp), its stderr and stdout going to logwired.log
 * there, and returns once GET /healthz answers 200. hd_free() stops it
 * and removes the temporary directory, unless hd_keep() was called (do
 * so when a test failed) or $HD_KEEP is set: then the path is printed
 * and the log stays for a post-mortem.
 *
 * Nothing here depends on CUnit: failures are returned (NULL or -1) and
 * explained on stderr, so that a test only has to assert the result.
 * Link with $(HARNESS_LIBS) from tests/harness.mk.
 */

#ifndef HARNESS_H
#define HARNESS_H

#include <sys/types.h>

#include <stddef.h>

#include <jansson.h>

#include "client.h"

/* Bound on waiting for /healthz after a start (ms). */
#define HD_START_TIMEOUT	10000
/* Bound on one hd_http() exchange (ms). */
#define HD_HTTP_TIMEOUT		10000

struct hd;

/* One response header; names keep the server's spelling. */
struct hd_header {
	char	*name;
	char	*value;
};

/* An HTTP response; release with hd_resp_free(). */
struct hd_resp {
	int			 status;
	struct hd_header	*headers;
	size_t			 nheaders;
	char			*body;		/* NUL-terminated */
	size_t			 bodylen;
};

/*
 * Start logwired with "-l 127.0.0.1:PORT -d DATADIR" and then extra_args
 * (NULL-terminated, may be NULL). Return NULL, with the reason and the
 * daemon's log on stderr, if it exits or is not healthy in time. A port
 * taken by someone else between choosing and binding it is retried on
 * another port.
 */
struct hd	*hd_start(const char *const *extra_args);
/* The same on a given data directory, which hd_free() leaves alone. */
struct hd	*hd_start_dir(const char *datadir,
		     const char *const *extra_args);
/*
 * Run the daemons spawned from now on (hd_start(), hd_restart()) with
 * RLIMIT_NOFILE set to n, soft and hard, as prlimit --nofile=n:n would;
 * 0 (the default) leaves the limit inherited.
 */
void		 hd_set_nofile(long n);
/*
 * Stop with SIGTERM, waiting up to 10 s before SIGKILL. Return the exit
 * status as a shell shows it (128 + signal if killed), or -1 if it was
 * not running.
 */
int		 hd_stop(struct hd *);
/* Kill with SIGKILL and reap; return as hd_stop() (137 normally). */
int		 hd_kill9(struct hd *);
/*
 * Start again, after hd_stop() or hd_kill9() (stopping it first if it
 * still runs), on the same port and data directory. While the port is
 * still held (TIME_WAIT, a slow exit) the start is retried for up to 5 s.
 * Return 0, or -1 as hd_start().
 */
int		 hd_restart(struct hd *);
/* Keep the temporary directory and the log when freed. */
void		 hd_keep(struct hd *);
/* Stop if running, remove the temporary directory unless kept, free. */
void		 hd_free(struct hd *);
/*
 * hd_free() at the end of a test program whose exit status is rc, keeping
 * the directory when rc says a test failed.  Returns rc.
 */
int		 hd_finish(struct hd *, int rc);

int		 hd_port(struct hd *);
/* Sleep for ms milliseconds (signals do not cut it short). */
void		 hd_sleep(int ms);
/* Return a loopback port that was free a moment ago, or -1. */
int		 hd_free_port(void);
/* The base URL, "http://127.0.0.1:PORT". */
const char	*hd_url(struct hd *);
const char	*hd_datadir(struct hd *);
/* The temporary directory, for a test's own files (config, snapshots). */
const char	*hd_dir(struct hd *);
const char	*hd_logpath(struct hd *);
/* Return the whole log so far (caller frees), or NULL. */
char		*hd_log(struct hd *);
/* Return the daemon's pid, or -1 when it is not running. */
pid_t		 hd_pid(struct hd *);
/* Return the daemon's resident set size in KiB, or -1. */
long		 hd_rss_kb(struct hd *);

/*
 * Send one HTTP/1.1 request (Connection: close) and read the response,
 * with a Content-Length, chunked or up to EOF. headers are extra
 * "Name: value" lines (NULL-terminated, may be NULL); Content-Length is
 * added when body is not NULL. Return 0 with *out filled (release it with
 * hd_resp_free()), or -1 with the reason on stderr.
 */
int		 hd_http(struct hd *, const char *method, const char *path,
		     const char *const *headers, const char *body,
		     size_t bodylen, struct hd_resp *out);
/* Return the value of a response header (any case), or NULL. */
const char	*hd_resp_header(const struct hd_resp *, const char *name);
/*
 * Parse the body as JSON (strings may hold \u0000, as data may); NULL
 * (explained on stderr) if it is not.
 */
json_t		*hd_resp_json(const struct hd_resp *);
void		 hd_resp_free(struct hd_resp *);
/*
 * Send raw bytes on a new connection and read until the server closes it
 * or timeout_ms passes. *resp (NUL-terminated, caller frees) and
 * *resplen get what came. Return 0 if the server closed, 1 on timeout
 * with the connection still open, -1 on error.
 */
int		 hd_raw(struct hd *, const void *req, size_t len, char **resp,
		     size_t *resplen, int timeout_ms);
/* Return a new blocking TCP connection to the daemon, or -1. */
int		 hd_tcp(struct hd *);

/* Connect a WebSocket to /v1/ws; NULL with the reason on stderr. */
struct wsc	*hd_ws(struct hd *);
/*
 * Connect a WebSocket to path (NULL: /v1/ws) with extra headers, for
 * tests that expect a refusal: *status and *cause as wsc_connect2().
 */
struct wsc	*hd_ws_connect(struct hd *, const char *path,
		     const char *const *headers, int *status, char **cause);
/*
 * Wait for the next message and parse it as JSON (as hd_resp_json()).
 * Return NULL on timeout (quietly), or on a close, a binary message or
 * bad JSON (said on stderr). The caller owns the reference.
 */
json_t		*hd_ws_recv_json(struct wsc *, int timeout_ms);
/* Send printf-style text (meant to be JSON) as one text message. */
int		 hd_ws_send_json(struct wsc *, const char *fmt, ...)
		     __attribute__((__format__(__printf__, 2, 3)));
/* Send a JSON value, compactly encoded, as one text message. */
int		 hd_ws_send_value(struct wsc *, const json_t *);
/*
 * Return the next message if it is an object whose "op" is op. Skip
 * nothing: otherwise print what came instead (or that nothing came),
 * drop it and return NULL.
 */
json_t		*hd_ws_expect_op(struct wsc *, const char *op, int timeout_ms);

/*
 * Return the path of a program built in src/ ("logwired", "logwire",
 * "logwire-bench"); $LOGWIRED overrides logwired's. Caller frees.
 */
char		*hd_bin(const char *name);
/*
 * Run argv (argv[0] a path) with input on its stdin (NULL: empty) and
 * collect stdout and stderr (each NUL-terminated, caller frees; pass NULL
 * to discard). Return the exit status as hd_stop(), or -1 on timeout
 * (the program is killed) or failure to start. Sets SIGPIPE to be
 * ignored in the calling process.
 */
int		 hd_run(const char *const *argv, const char *input,
		     int timeout_ms, char **out, char **err);

#endif /* HARNESS_H */
