/*
 * Shared helpers of the integration tests that drive the real logwired over
 * WebSockets (test_server.c, test_server_stream.c, test_crash.c): asserting
 * with a way out (so that every daemon is stopped even on failure), request
 * and reply helpers, a publisher and a subscriber that run in threads, and a
 * raw WebSocket client for what wsc is too polite to do (pipelining, not
 * answering pings, timing control frames).
 *
 * CUnit is not thread safe: threads record what went wrong in their own
 * struct and the test asserts on it afterwards.
 */

#ifndef TEST_SERVER_COMMON_H
#define TEST_SERVER_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include <CUnit/CUnit.h>
#include <jansson.h>

#include "common.h"
#include "harness.h"

/* Assert, and on failure leave the test through its "out" label. */
#define REQUIRE(cond) do {						\
	int	req_ok_ = (cond) ? 1 : 0;				\
	CU_assertImplementation(req_ok_, __LINE__, #cond, __FILE__, "",	\
	    CU_FALSE);							\
	if (!req_ok_)							\
		goto out;						\
} while (0)

/* Assert that a thread reported no error, printing what it said. */
#define CHECK_RUN(run) do {						\
	if ((run)->errors != 0)						\
		fprintf(stderr, "  %s: %d error(s), first: %s\n",	\
		    #run, (run)->errors, (run)->err);			\
	CU_ASSERT_EQUAL((run)->errors, 0);				\
} while (0)

#define TS_MAXPUB	8	/* publishers a subscriber can tell apart */
#define TS_TIMEOUT	5000	/* ms to wait for one reply */

/* Monotonic milliseconds and sleep: the common clock and the harness's. */
#define ts_now()	mono_ms()
#define ts_sleep(ms)	hd_sleep(ms)
/* Start logwired with NULL-terminated extra arguments. */
struct hd	*ts_start(const char *, ...);
/* Keep the daemon's directory and print its log's end if the test failed. */
void		 ts_done(struct hd *, unsigned int failures_before);
/* Print a JSON value with a label on stderr. */
void		 ts_dump(const char *label, const json_t *);

/* Members of a reply, or -1 / NULL / 0 when absent or of another type. */
long long	 ts_int(const json_t *, const char *key);
const char	*ts_str(const json_t *, const char *key);
int		 ts_true(const json_t *, const char *key);
/* Whether a and b are equal strings (NULL is equal to nothing). */
int		 ts_streq(const char *a, const char *b);
/* Whether the reply's op is op. */
int		 ts_is_op(const json_t *, const char *op);

/* Connect a WebSocket; NULL on failure (said on stderr). */
struct wsc	*ts_ws(struct hd *);
/*
 * Send {"op":"subscribe"} with extra members (JSON text without braces,
 * e.g. "\"rewind\":5", or NULL) and wait for "subscribed". Fill epoch (17
 * bytes) and head when not NULL, and *reply (caller decrefs) when not
 * NULL. Return 0, or -1 with what came on stderr.
 */
int		 ts_subscribe(struct wsc *, const char *channel,
		     const char *extra, char *epoch, uint64_t *head,
		     json_t **reply);
/* The same resuming from serial of epoch ("from"); head, reply as above. */
int		 ts_resume(struct wsc *, const char *channel, uint64_t serial,
		     const char *epoch, uint64_t *head, json_t **reply);
/* Return a channel's epoch (creating the channel) through a new socket. */
int		 ts_epoch(struct hd *, const char *channel, char *epoch,
		     uint64_t *head);
/*
 * Publish data (JSON text) with id (NULL: none) and wait for the reply:
 * return 0 with *serial and *dup set, or -1 (printed).
 */
int		 ts_publish(struct wsc *, const char *channel,
		     const char *id, const char *data, uint64_t *serial,
		     int *dup);
/*
 * Wait for {"op":"error"} with code, and with ref when ref is not NULL
 * (JSON text: "7" or "\"x\""); NULL ref requires no ref. Return 0 or -1.
 */
int		 ts_expect_error(struct wsc *, int code, const char *ref);
/* Send {"op":"ping","ref":ref} and wait for the pong echoing it. */
int		 ts_pingpong(struct wsc *, const char *ref);
/* Whether nothing arrives within ms (what did is printed). */
int		 ts_quiet(struct wsc *, int ms);
/* Read until the close frame; return its code, or -1 if none came. */
int		 ts_close_code(struct wsc *, int timeout_ms);
/* GET /healthz answers 200 with status ok. */
int		 ts_healthy(struct hd *);

/*
 * A publisher: count messages on one connection with up to window in
 * flight. Message i has id "<tag>-<k>-<i>", ref i and data
 * {"k":k,"i":i,"pad":"..."} with pad bytes of padding. serials[i] gets the
 * acknowledged serial (0 if none came). The acks on one connection must
 * carry increasing serials; with in_order, refs must come back in the
 * order sent.
 */
struct ts_pub {
	struct wsc	*w;
	const char	*channel;
	const char	*tag;
	int		 k;
	int		 count;
	int		 window;
	int		 pad;
	int		 in_order;
	const char	*sync;		/* wanted in acks, or NULL */
	int		 until_closed;	/* server may die */
	int		 allow_50300;	/* shutdown refusals */
	int		 no_recv;	/* send all, read nothing */
	int64_t		 deadline;	/* ts_now() bound */

	uint64_t	*serials;
	unsigned char	*refused;	/* refused[i]: got 50300 */
	unsigned char	*answered;
	uint64_t	 last_serial;
	int		 next_ref;
	int		 close_code;	/* 0 if no close frame */
	int		 sent;
	int		 acked;		/* updated atomically */
	int		 nrefused;
	int		 closed;
	int		 errors;
	char		 err[512];
};
void		 ts_pub_init(struct ts_pub *, struct wsc *,
		     const char *channel, const char *tag, int k, int count,
		     int window);
void		 ts_pub_free(struct ts_pub *);
void		*ts_pub_run(void *);
/* Read the answers of a no_recv publisher until the socket closes. */
void		 ts_pub_drain(struct ts_pub *, int timeout_ms);
/*
 * Send {"op":"ping","ref":ref} behind what the publisher sent and read its
 * answers until the pong: then the server has read every publish before
 * it. Return 0, or -1 (recorded in the publisher).
 */
int		 ts_pub_sync(struct ts_pub *, const char *ref,
		     int timeout_ms);
/* The acked count, read atomically. */
int		 ts_pub_acked(struct ts_pub *);

/*
 * A subscriber reading serials first..last in order with no gap and no
 * repeat. Messages carry the data of struct ts_pub; for each publisher k
 * the indexes must follow each other (lastidx[k] + 1; -1 at the start
 * means "any", set from_zero to want 0). keys, when not NULL, gets
 * (k << 24 | i) per serial - first.
 */
struct ts_sub {
	struct wsc	*w;
	const char	*channel;
	uint64_t	 first;
	uint64_t	 last;
	int		 check_pubs;
	int		 from_zero;
	const char	*tag;
	int64_t		 deadline;
	int		 lastidx[TS_MAXPUB];
	uint32_t	*keys;

	uint64_t	 next;
	uint64_t	 got;		/* updated atomically */
	size_t		 frame_bytes;	/* of the first message */
	int		 errors;
	char		 err[512];
};
void		 ts_sub_init(struct ts_sub *, struct wsc *,
		     const char *channel, uint64_t first, uint64_t last);
void		*ts_sub_run(void *);
uint64_t	 ts_sub_got(struct ts_sub *);

/* Record an error of a thread (the first message is kept). */
void		 ts_fail(int *errors, char *err, size_t errlen,
		     const char *fmt, ...)
		     __attribute__((__format__(__printf__, 4, 5)));

/* Build one WebSocket frame (FIN set) into buf; return its length. */
size_t		 ts_frame(uint8_t *buf, int opcode, const void *payload,
		     size_t len, int masked);
size_t		 ts_frame_fin(uint8_t *buf, int opcode, int fin,
		     const void *payload, size_t len, int masked);

/* A raw WebSocket connection: no automatic pongs, exact timing. */
struct ts_raw {
	int	 fd;
	int	 status;	/* HTTP status of the answer */
	char	*head;		/* the answer's head */
	uint8_t	*buf;
	size_t	 len;
	size_t	 cap;
};
/*
 * Connect, send the upgrade to /v1/ws and then extra bytes in the same
 * write, and read the answer's head. Return 0 (check raw->status) or -1.
 */
int		 ts_raw_open(struct hd *, const void *extra, size_t extralen,
		     struct ts_raw *);
/*
 * Read one frame: 1 with *opcode and *payload (caller frees, NUL-ended),
 * 0 on timeout, -1 at EOF or on a bad frame.
 */
int		 ts_raw_frame(struct ts_raw *, int timeout_ms, int *opcode,
		     char **payload, size_t *len);
void		 ts_raw_close(struct ts_raw *);

#endif /* TEST_SERVER_COMMON_H */
