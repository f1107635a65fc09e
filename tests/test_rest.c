/*
 * Integration tests of the REST API of logwired: the real daemon on a free
 * loopback port with a temporary data directory, spoken to over real
 * sockets (tests/harness.h) and, for one test, with Debian's curl.
 *
 * Covered: publish over HTTP and reading back (single messages, channel
 * objects, history pages followed to the end in both directions while a
 * publisher appends, time ranges), the NDJSON export of a large range
 * (plain and zstd), delivery of an HTTP publish to a live WebSocket
 * subscriber, every error status of the API, keep-alive and pipelining,
 * HEAD, CORS, /healthz, /metrics as Prometheus text, channel listing with
 * prefix and cursor, and the snapshot endpoint with logwire verify and
 * restore.
 */

#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>
#include <jansson.h>
#include <zstd.h>

#include "harness.h"
#include "cu_run.h"

#ifndef MIN
#define MIN(a, b)	((a) < (b) ? (a) : (b))
#endif

#define CORS_OK		"https://console.example"
#define CORS_BAD	"https://evil.example"
#define MAX_PAGES	10000		/* bound on following next links */
#define RAW_TIMEOUT	5000		/* ms for one raw exchange */
#define WS_TIMEOUT	5000		/* ms for one WebSocket message */
#define BULK_POSTS	100		/* POSTs of the export test ... */
#define BULK_PER_POST	1000		/* ... of this many messages each */
#define BULK_TOTAL	(BULK_POSTS * BULK_PER_POST)

/* The daemon shared by most tests (started by the suite). */
static struct hd	*hd;

/* An integer member of an object, or -1 (absent, not an integer). */
static long long
jint(const json_t *o, const char *key)
{
	json_t	*v = json_object_get(o, key);

	return (json_is_integer(v) ? (long long)json_integer_value(v) : -1);
}

/* A string member of an object, or NULL. */
static const char *
jstr(const json_t *o, const char *key)
{
	return (json_string_value(json_object_get(o, key)));
}

/* The error code of an error body, or -1 if the body is not one. */
static long long
jerr(const json_t *body)
{
	json_t	*e = json_object_get(body, "error");

	if (!json_is_object(e) || !json_is_string(json_object_get(e,
	    "message")))
		return (-1);
	return (jint(e, "code"));
}

/* Print a JSON value after a failure. */
static void
jshow(const char *what, const json_t *j)
{
	char	*s = j != NULL ? json_dumps(j, JSON_COMPACT |
	    JSON_ENCODE_ANY) : NULL;

	fprintf(stderr, "    %s: %.600s\n", what, s != NULL ? s : "(none)");
	free(s);
}

/* Percent-encode all but [a-z0-9-] (caller frees). */
static char *
pct_encode(const char *s)
{
	const unsigned char	*p;
	char			*enc, *q;

	enc = q = malloc(strlen(s) * 3 + 1);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '-')
			*q++ = (char)*p;
		else
			q += sprintf(q, "%%%02X", *p);
	}
	*q = '\0';
	return (enc);
}

/* Compare two strings through pointers to them (qsort). */
static int
cmp_str(const void *a, const void *b)
{
	return (strcmp(*(const char *const *)a, *(const char *const *)b));
}

/*
 * Send a request to d and parse the JSON answer. Return the body (caller
 * decrefs; NULL if none or not JSON) and the status in *status (-1 if the
 * exchange failed). headers as hd_http().
 */
static json_t *
req_json(struct hd *d, const char *method, const char *path,
    const char *const *headers, const char *body, int *status)
{
	struct hd_resp	 r;
	json_t		*j;

	*status = -1;
	if (hd_http(d, method, path, headers, body, body != NULL ?
	    strlen(body) : 0, &r) != 0)
		return (NULL);
	*status = r.status;
	j = r.bodylen > 0 ? hd_resp_json(&r) : NULL;
	hd_resp_free(&r);
	return (j);
}

/* GET path and return its JSON body if the status is 200, else NULL. */
static json_t *
get_ok(struct hd *d, const char *path)
{
	json_t	*j;
	int	 status;

	j = req_json(d, "GET", path, NULL, NULL, &status);
	if (status != 200) {
		fprintf(stderr, "    GET %s: status %d\n", path, status);
		jshow("body", j);
		json_decref(j);
		return (NULL);
	}
	return (j);
}

/*
 * POST body to the messages of a channel (chan as it goes in the path)
 * and return the reply if it is a 201 with one item per message, else
 * NULL (explained on stderr).
 */
static json_t *
post_ok(struct hd *d, const char *chan, const char *body)
{
	json_t	*j, *items;
	char	*path;
	int	 status;

	path = cu_fmt("/v1/channels/%s/messages", chan);
	j = req_json(d, "POST", path, NULL, body, &status);
	items = json_object_get(j, "items");
	if (status != 201 || !json_is_array(items) ||
	    json_array_size(items) == 0) {
		fprintf(stderr, "    POST %s: status %d\n", path, status);
		jshow("body", j);
		json_decref(j);
		j = NULL;
	}
	free(path);
	return (j);
}

/* Publish messages {"i":first}..{"i":first+n-1} to chan in one POST. */
static int
publish_range(struct hd *d, const char *chan, long long first, size_t n)
{
	json_t	*arr, *reply;
	char	*body;
	size_t	 i;

	arr = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(arr, json_pack("{s:{s:I}}", "data", "i",
		    (json_int_t)(first + (long long)i)));
	body = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	reply = post_ok(d, chan, body);
	free(body);
	if (reply == NULL)
		return (-1);
	json_decref(reply);
	return (0);
}

/* Return a channel's head (from its channel object), or -1. */
static long long
chan_head(struct hd *d, const char *chan)
{
	json_t		*j;
	long long	 head;
	char		*path;

	path = cu_fmt("/v1/channels/%s", chan);
	j = get_ok(d, path);
	free(path);
	head = jint(j, "head");
	json_decref(j);
	return (head);
}

/*
 * Check one page of a list: {"items":[...],"next":URL|null} and a Link
 * header naming the same URL exactly when next is not null. Return the
 * body (caller decrefs) and *next (caller frees, NULL at the end), or
 * NULL if the page is wrong.
 */
static json_t *
get_page(struct hd *d, const char *path, char **next)
{
	struct hd_resp	 r;
	json_t		*j = NULL, *n;
	const char	*link;
	char		*want;

	*next = NULL;
	if (hd_http(d, "GET", path, NULL, NULL, 0, &r) != 0)
		return (NULL);
	if (r.status != 200) {
		fprintf(stderr, "    GET %s: status %d: %s\n", path, r.status,
		    r.body);
		goto fail;
	}
	if ((j = hd_resp_json(&r)) == NULL)
		goto fail;
	n = json_object_get(j, "next");
	link = hd_resp_header(&r, "Link");
	if (!json_is_array(json_object_get(j, "items")) ||
	    !(json_is_null(n) || json_is_string(n))) {
		jshow("page without items or next", j);
		goto fail;
	}
	if (json_is_null(n)) {
		if (link != NULL) {
			fprintf(stderr, "    GET %s: next is null but Link: "
			    "%s\n", path, link);
			goto fail;
		}
	} else {
		want = cu_fmt("<%s>; rel=\"next\"", json_string_value(n));
		if (link == NULL || strcmp(link, want) != 0) {
			fprintf(stderr, "    GET %s: next %s but Link: %s\n",
			    path, json_string_value(n), link != NULL ? link :
			    "(none)");
			free(want);
			goto fail;
		}
		free(want);
		if (json_string_value(n)[0] != '/') {
			fprintf(stderr, "    next is not a path: %s\n",
			    json_string_value(n));
			goto fail;
		}
		*next = strdup(json_string_value(n));
	}
	hd_resp_free(&r);
	return (j);

fail:
	json_decref(j);
	hd_resp_free(&r);
	return (NULL);
}

/* Serials collected from history pages. */
struct serials {
	uint64_t	*v;
	size_t		 n;
	size_t		 pages;
	int		 bad;		/* a page or an item was wrong */
	int		 empty_page;	/* a page had no items but a next */
	uint64_t	 pinned_to;	/* the "to" of the first next link */
};

/*
 * Follow a history from path to the end, collecting serials. Each item
 * must name channel and carry {"i":serial} as data (so the check covers
 * the record as well as the position).
 */
static void
follow_history(struct hd *d, const char *path, const char *channel,
    struct serials *s)
{
	json_t		*page, *it;
	char		*cur, *next;
	const char	*p;
	size_t		 i;

	memset(s, 0, sizeof *s);
	cur = strdup(path);
	while (cur != NULL && s->pages < MAX_PAGES) {
		if ((page = get_page(d, cur, &next)) == NULL) {
			s->bad = 1;
			break;
		}
		if (s->pages == 0 && next != NULL &&
		    (p = strstr(next, "to=")) != NULL)
			s->pinned_to = strtoull(p + 3, NULL, 10);
		s->pages++;
		if (json_array_size(json_object_get(page, "items")) == 0 &&
		    next != NULL)
			s->empty_page = 1;
		json_array_foreach(json_object_get(page, "items"), i, it) {
			if (jstr(it, "channel") == NULL ||
			    strcmp(jstr(it, "channel"), channel) != 0 ||
			    jint(it, "serial") < 1 ||
			    jint(json_object_get(it, "data"), "i") !=
			    jint(it, "serial") || jint(it, "time") <= 0 ||
			    jstr(it, "id") == NULL) {
				jshow("bad history item", it);
				s->bad = 1;
				continue;
			}
			s->v = realloc(s->v, (s->n + 1) * sizeof *s->v);
			s->v[s->n++] = (uint64_t)jint(it, "serial");
		}
		json_decref(page);
		free(cur);
		cur = next;
	}
	if (cur != NULL) {
		fprintf(stderr, "    still a next link after %zu pages\n",
		    s->pages);
		s->bad = 1;
	}
	free(cur);
}

/* Whether s holds exactly lo..hi, ascending or descending. */
static int
serials_are(const struct serials *s, uint64_t lo, uint64_t hi, int backward)
{
	size_t	i;

	if (hi < lo)
		return (s->n == 0);
	if (s->n != hi - lo + 1) {
		fprintf(stderr, "    %zu serials, wanted %llu (%llu..%llu)\n",
		    s->n, (unsigned long long)(hi - lo + 1),
		    (unsigned long long)lo, (unsigned long long)hi);
		return (0);
	}
	for (i = 0; i < s->n; i++) {
		if (s->v[i] != (backward ? hi - i : lo + i)) {
			fprintf(stderr, "    item %zu has serial %llu, wanted "
			    "%llu\n", i, (unsigned long long)s->v[i],
			    (unsigned long long)(backward ? hi - i : lo + i));
			return (0);
		}
	}
	return (1);
}

/* Shared with the publisher thread of the pagination test. */
struct appender {
	const char	*channel;
	long long	 next_i;	/* the "i" (= serial) to publish next */
	volatile int	 stop;
	int		 failed;
	size_t		 posts;
};

/*
 * Append to a channel until told to stop, one small POST after another.
 * The channel has no other publisher, so "i" equals the serial.
 */
static void *
appender_main(void *arg)
{
	struct appender	*a = arg;
	int		 n;

	for (n = 0; !a->stop && n < 100000; n++) {
		if (publish_range(hd, a->channel, a->next_i, 3) != 0) {
			a->failed = 1;
			break;
		}
		a->next_i += 3;
		a->posts++;
	}
	return (NULL);
}

/*
 * History pages followed to the end, backward (the default) and forward,
 * with a publisher appending all the while: the next links pin the range,
 * so every serial of the original range comes exactly once, in order,
 * and the last page has next null. Also: a range that ends exactly at a
 * page boundary ends with next null (no empty page), explicit from/to,
 * clamping, and the default limit.
 */
static void
test_history_pages(void)
{
	struct appender	 a;
	struct serials	 s;
	pthread_t	 t;
	json_t		*j;
	long long	 i, head;
	int		 started;

	memset(&a, 0, sizeof a);
	a.channel = "pages";
	for (i = 0; i < 5; i++)
		EXPECT(publish_range(hd, "pages", 1 + i * 100, 100) == 0,
		    "initial publish %lld", i);
	EXPECT((head = chan_head(hd, "pages")) == 500, "head %lld", head);
	a.next_i = 501;

	started = pthread_create(&t, NULL, appender_main, &a) == 0;
	EXPECT(started, "cannot start the publisher thread");
	/* Let the publisher get going so that pages race with it. */
	for (i = 0; i < 200 && a.posts < 3 && !a.failed; i++)
		hd_sleep(5);

	/* Backward: from the head when the first page was read down to 1. */
	follow_history(hd, "/v1/channels/pages/messages?limit=37", "pages",
	    &s);
	EXPECT(!s.bad && !s.empty_page, "bad page or empty page with next");
	EXPECT(s.n > 0 && s.v[0] >= 500, "first backward serial %llu",
	    s.n > 0 ? (unsigned long long)s.v[0] : 0ULL);
	EXPECT(s.n > 0 && serials_are(&s, 1, s.v[0], 1),
	    "backward history is not head..1 exactly once");
	EXPECT(s.pages == (s.n + 36) / 37, "%zu pages for %zu items",
	    s.pages, s.n);
	free(s.v);

	/* Forward: from 1 up to the head pinned by the first page. */
	follow_history(hd, "/v1/channels/pages/messages?direction=forward&"
	    "limit=41", "pages", &s);
	EXPECT(!s.bad && !s.empty_page, "bad page or empty page with next");
	EXPECT(s.pinned_to >= 500, "first next link pins to=%llu",
	    (unsigned long long)s.pinned_to);
	EXPECT(serials_are(&s, 1, s.pinned_to, 0),
	    "forward history is not 1..%llu exactly once",
	    (unsigned long long)s.pinned_to);
	free(s.v);

	/* Explicit bounds while appending, both ways. */
	follow_history(hd, "/v1/channels/pages/messages?from=100&to=250&"
	    "limit=40&direction=forward", "pages", &s);
	EXPECT(!s.bad && serials_are(&s, 100, 250, 0), "forward 100..250");
	free(s.v);
	follow_history(hd, "/v1/channels/pages/messages?from=100&to=250&"
	    "limit=40", "pages", &s);
	EXPECT(!s.bad && serials_are(&s, 100, 250, 1), "backward 250..100");
	free(s.v);

	a.stop = 1;
	if (started)
		pthread_join(t, NULL);
	EXPECT(!a.failed, "the publisher thread failed");
	EXPECT(a.posts >= 3, "the publisher made only %zu posts", a.posts);
	head = chan_head(hd, "pages");
	EXPECT(head == a.next_i - 1, "head %lld after publishing up to %lld",
	    head, a.next_i - 1);

	/* A range that ends on a page boundary: two pages, then null. */
	follow_history(hd, "/v1/channels/pages/messages?from=101&to=200&"
	    "limit=50&direction=forward", "pages", &s);
	EXPECT(!s.bad && s.pages == 2 && serials_are(&s, 101, 200, 0),
	    "%zu pages for 101..200 by 50", s.pages);
	free(s.v);
	follow_history(hd, "/v1/channels/pages/messages?from=101&to=200&"
	    "limit=50", "pages", &s);
	EXPECT(!s.bad && s.pages == 2 && serials_are(&s, 101, 200, 1),
	    "%zu pages for 200..101 by 50", s.pages);
	free(s.v);

	/* from/to beyond the log clamp to it; from > to is empty. */
	follow_history(hd, "/v1/channels/pages/messages?from=0&"
	    "to=99999999&limit=1000&direction=forward", "pages", &s);
	EXPECT(!s.bad && serials_are(&s, 1, (uint64_t)head, 0),
	    "clamped forward");
	free(s.v);
	follow_history(hd, "/v1/channels/pages/messages?from=300&to=200",
	    "pages", &s);
	EXPECT(!s.bad && s.n == 0 && s.pages == 1, "from > to: %zu items",
	    s.n);
	free(s.v);
	follow_history(hd, "/v1/channels/pages/messages?from=99999998",
	    "pages", &s);
	EXPECT(!s.bad && s.n == 0 && s.pages == 1, "from past head: %zu",
	    s.n);
	free(s.v);

	/* Default limit 100, default direction backward from the head. */
	j = get_ok(hd, "/v1/channels/pages/messages");
	EXPECT(json_array_size(json_object_get(j, "items")) == 100,
	    "%zu items by default",
	    json_array_size(json_object_get(j, "items")));
	EXPECT(jint(json_array_get(json_object_get(j, "items"), 0),
	    "serial") == head, "first default item is not the head");
	EXPECT(json_is_string(json_object_get(j, "next")), "no next");
	json_decref(j);
	for (i = 0; i < 6; i++)
		EXPECT(publish_range(hd, "pages", head + 1 + i * 100, 100) ==
		    0, "publish to pass 1000");
	j = get_ok(hd, "/v1/channels/pages/messages?limit=1000");
	EXPECT(json_array_size(json_object_get(j, "items")) == 1000,
	    "limit=1000 gives %zu",
	    json_array_size(json_object_get(j, "items")));
	json_decref(j);
}

/* Times of one burst of the time-range test. */
struct burst {
	uint64_t	lo, hi;		/* serials */
	long long	tmin, tmax;	/* commit times */
};

/*
 * GET a history (or an export, when export is set) and check that it
 * holds exactly the serials [lo, hi] (lo > hi: nothing), forward.
 */
static int
range_is(const char *query, uint64_t lo, uint64_t hi)
{
	struct serials	 s;
	char		*path;
	int		 ok;

	path = cu_fmt("/v1/channels/times/messages?direction=forward&"
	    "limit=7&%s", query);
	follow_history(hd, path, "times", &s);
	ok = !s.bad && serials_are(&s, lo, hi, 0);
	if (!ok)
		fprintf(stderr, "    for %s\n", path);
	free(s.v);
	free(path);
	return (ok);
}

/* Serials and times of a channel's whole log, forward (n at most max). */
static size_t
read_times(const char *chan, uint64_t *serial, long long *tm, size_t max)
{
	json_t	*j, *it;
	char	*path;
	size_t	 i, n = 0;

	path = cu_fmt("/v1/channels/%s/messages?direction=forward&limit=1000",
	    chan);
	j = get_ok(hd, path);
	free(path);
	json_array_foreach(json_object_get(j, "items"), i, it) {
		if (n == max)
			break;
		serial[n] = (uint64_t)jint(it, "serial");
		tm[n++] = jint(it, "time");
	}
	json_decref(j);
	return (n);
}

/* Serials of an export (plain), in the order given; n at most max. */
static size_t
export_serials(const char *path, uint64_t *serial, size_t max, int *bad)
{
	struct hd_resp	 r;
	json_t		*j;
	char		*line, *nl;
	size_t		 n = 0;

	*bad = 0;
	if (hd_http(hd, "GET", path, NULL, NULL, 0, &r) != 0) {
		*bad = 1;
		return (0);
	}
	if (r.status != 200) {
		fprintf(stderr, "    GET %s: %d %s\n", path, r.status, r.body);
		*bad = 1;
	}
	for (line = r.body; *bad == 0 && *line != '\0'; line = nl + 1) {
		if ((nl = strchr(line, '\n')) == NULL) {
			fprintf(stderr, "    export ends without a newline\n");
			*bad = 1;
			break;
		}
		*nl = '\0';
		if ((j = json_loads(line, 0, NULL)) == NULL ||
		    jint(j, "serial") < 1 || n == max) {
			fprintf(stderr, "    bad export line: %.200s\n", line);
			*bad = 1;
		} else
			serial[n++] = (uint64_t)jint(j, "serial");
		json_decref(j);
	}
	hd_resp_free(&r);
	return (n);
}

/*
 * Time ranges: three bursts of five publishes 20 ms apart; start and end
 * (inclusive, Unix ms) select exactly the messages whose commit time is
 * in range, at every distinct time, alone and combined with from/to, in
 * history and in export.
 */
static void
test_time_ranges(void)
{
	struct burst	 b[3];
	uint64_t	 serial[15], es[32];
	long long	 tm[15], t;
	json_t		*reply;
	char		*q, *path;
	size_t		 n, i, k, lo_i, hi_i, en;
	int		 bi, bad;

	for (bi = 0; bi < 3; bi++) {
		if (bi > 0)
			hd_sleep(20);
		for (i = 0; i < 5; i++) {
			q = cu_fmt("{\"data\":{\"i\":%zu}}", bi * 5 + i + 1);
			reply = post_ok(hd, "times", q);
			EXPECT(reply != NULL, "publish %s", q);
			json_decref(reply);
			free(q);
		}
	}
	n = read_times("times", serial, tm, 15);
	EXPECT(n == 15, "%zu messages in times", n);
	if (n != 15)
		return;
	for (bi = 0; bi < 3; bi++) {
		b[bi].lo = serial[bi * 5];
		b[bi].hi = serial[bi * 5 + 4];
		b[bi].tmin = tm[bi * 5];
		b[bi].tmax = tm[bi * 5 + 4];
	}
	for (i = 1; i < n; i++)
		EXPECT(tm[i] >= tm[i - 1] && serial[i] == serial[i - 1] + 1,
		    "times or serials go back at %zu", i);
	EXPECT(b[0].tmax < b[1].tmin && b[1].tmax < b[2].tmin,
	    "bursts overlap: %lld-%lld %lld-%lld %lld-%lld", b[0].tmin,
	    b[0].tmax, b[1].tmin, b[1].tmax, b[2].tmin, b[2].tmax);

	/* The bursts' own boundaries. */
	q = cu_fmt("start=%lld&end=%lld", b[1].tmin, b[1].tmax);
	EXPECT(range_is(q, b[1].lo, b[1].hi), "burst 2 alone");
	free(q);
	q = cu_fmt("start=%lld", b[1].tmin);
	EXPECT(range_is(q, b[1].lo, b[2].hi), "bursts 2 and 3");
	free(q);
	q = cu_fmt("end=%lld", b[0].tmax);
	EXPECT(range_is(q, b[0].lo, b[0].hi), "burst 1 by its last time");
	free(q);
	q = cu_fmt("end=%lld", b[1].tmin - 1);
	EXPECT(range_is(q, b[0].lo, b[0].hi), "burst 1 by end before 2");
	free(q);
	q = cu_fmt("start=%lld&end=%lld", b[0].tmax + 1, b[2].tmin - 1);
	EXPECT(range_is(q, b[1].lo, b[1].hi), "burst 2 between the gaps");
	free(q);
	q = cu_fmt("start=%lld", b[2].tmax + 1);
	EXPECT(range_is(q, 1, 0), "nothing after the last time");
	free(q);
	q = cu_fmt("end=%lld", b[0].tmin - 1);
	EXPECT(range_is(q, 1, 0), "nothing before the first time");
	free(q);
	q = cu_fmt("start=%lld&end=%lld", b[2].tmin, b[0].tmax);
	EXPECT(range_is(q, 1, 0), "start after end");
	free(q);
	q = cu_fmt("start=%lld&from=%llu", b[0].tmin,
	    (unsigned long long)b[1].lo + 2);
	EXPECT(range_is(q, b[1].lo + 2, b[2].hi), "start with a later from");
	free(q);
	q = cu_fmt("start=%lld&to=%llu", b[1].tmin,
	    (unsigned long long)b[1].hi - 1);
	EXPECT(range_is(q, b[1].lo, b[1].hi - 1), "start with to");
	free(q);

	/* Every distinct time as a start and as an end. */
	for (i = 0; i < n; i++) {
		t = tm[i];
		for (lo_i = 0; lo_i < n && tm[lo_i] < t; lo_i++)
			;
		for (hi_i = n; hi_i > 0 && tm[hi_i - 1] > t; hi_i--)
			;
		q = cu_fmt("start=%lld", t);
		EXPECT(range_is(q, serial[lo_i], serial[n - 1]), "start %lld",
		    t);
		free(q);
		q = cu_fmt("end=%lld", t);
		EXPECT(range_is(q, serial[0], serial[hi_i - 1]), "end %lld",
		    t);
		free(q);
	}

	/* Backward with a time range. */
	{
		struct serials	s;

		path = cu_fmt("/v1/channels/times/messages?limit=4&start=%lld&"
		    "end=%lld", b[1].tmin, b[2].tmax);
		follow_history(hd, path, "times", &s);
		EXPECT(!s.bad && serials_are(&s, b[1].lo, b[2].hi, 1),
		    "backward %s", path);
		free(s.v);
		free(path);
	}

	/* Export takes the same bounds. */
	path = cu_fmt("/v1/channels/times/export?start=%lld&end=%lld",
	    b[1].tmin, b[1].tmax);
	en = export_serials(path, es, 32, &bad);
	EXPECT(!bad && en == 5, "export %s: %zu lines", path, en);
	for (k = 0; k < en && k < 5; k++)
		EXPECT(es[k] == b[1].lo + k, "export line %zu serial %llu", k,
		    (unsigned long long)es[k]);
	free(path);
	path = cu_fmt("/v1/channels/times/export?from=%llu&end=%lld",
	    (unsigned long long)b[0].lo + 1, b[1].tmax);
	en = export_serials(path, es, 32, &bad);
	EXPECT(!bad && en == 9 && es[0] == b[0].lo + 1 && es[8] == b[1].hi,
	    "export %s: %zu lines", path, en);
	free(path);
}

/* The data of bulk message k: varied JSON, some of it needing escapes. */
static json_t *
bulk_data(size_t k)
{
	switch (k % 5) {
	case 0:
		return (json_pack("{s:I,s:s}", "i", (json_int_t)k, "s",
		    "plain"));
	case 1:
		return (json_pack("[I,s,b,n]", (json_int_t)k,
		    "quote \" back \\ nl \n tab \t", 1));
	case 2:
		return (json_sprintf("caf\xc3\xa9 \xe2\x82\xac %zu", k));
	case 3:
		return (json_real((double)k + 0.5));
	default:
		return (json_pack("{s:{s:[I,I]}}", "deep", "k", (json_int_t)k,
		    (json_int_t)-k));
	}
}

/*
 * Check an NDJSON export against the bulk messages: one line per message
 * in serial order, each with the serial, id and data published. Return
 * the number of lines checked, or -1 at the first mismatch.
 */
static long
check_bulk_export(const char *body, size_t len, const uint64_t *serials,
    size_t k0)
{
	const char	*line, *nl, *end = body + len;
	json_t		*j, *want;
	char		 id[32];
	size_t		 k = k0;

	for (line = body; line < end; line = nl + 1, k++) {
		if ((nl = memchr(line, '\n', (size_t)(end - line))) == NULL) {
			fprintf(stderr, "    line %zu has no newline\n", k);
			return (-1);
		}
		if (k == BULK_TOTAL) {
			fprintf(stderr, "    more than %d lines\n", BULK_TOTAL);
			return (-1);
		}
		j = json_loadb(line, (size_t)(nl - line), 0, NULL);
		want = bulk_data(k);
		snprintf(id, sizeof id, "bulk-%zu", k);
		if (j == NULL || (uint64_t)jint(j, "serial") != serials[k] ||
		    jstr(j, "id") == NULL || strcmp(jstr(j, "id"), id) != 0 ||
		    jstr(j, "channel") == NULL ||
		    strcmp(jstr(j, "channel"), "bulk") != 0 ||
		    jint(j, "time") <= 0 ||
		    !json_equal(json_object_get(j, "data"), want)) {
			fprintf(stderr, "    line %zu (serial %llu): %.*s\n", k,
			    (unsigned long long)serials[k],
			    (int)MIN(nl - line, 300), line);
			jshow("wanted data", want);
			json_decref(j);
			json_decref(want);
			return (-1);
		}
		json_decref(j);
		json_decref(want);
	}
	return ((long)(k - k0));
}

/* Decompress a whole zstd stream; NULL (explained) if it is not one. */
static char *
unzstd(const char *src, size_t len, size_t *outlen)
{
	ZSTD_DStream	*ds;
	ZSTD_inBuffer	 in = { src, len, 0 };
	ZSTD_outBuffer	 out;
	char		*buf = NULL;
	size_t		 cap = 0, used = 0, rc = 1;

	if ((ds = ZSTD_createDStream()) == NULL)
		return (NULL);
	ZSTD_initDStream(ds);
	while (in.pos < in.size || rc != 0) {
		if (cap - used < 65536) {
			cap = cap * 2 + 65536;
			buf = realloc(buf, cap + 1);
		}
		out.dst = buf + used;
		out.size = cap - used;
		out.pos = 0;
		rc = ZSTD_decompressStream(ds, &out, &in);
		if (ZSTD_isError(rc)) {
			fprintf(stderr, "    zstd: %s\n", ZSTD_getErrorName(rc));
			goto fail;
		}
		used += out.pos;
		if (in.pos == in.size && out.pos == 0 && rc != 0) {
			fprintf(stderr, "    zstd stream is truncated\n");
			goto fail;
		}
	}
	ZSTD_freeDStream(ds);
	if (buf == NULL)
		buf = malloc(1);
	buf[used] = '\0';
	*outlen = used;
	return (buf);

fail:
	ZSTD_freeDStream(ds);
	free(buf);
	return (NULL);
}

/*
 * Export of a 100k-message range: published as 100 POSTs of 1000, then
 * exported plain and with zstd; every line's serial, id and data must be
 * what was published, in order, and both encodings must carry the same
 * NDJSON. The daemon runs with --sync none only for speed: what is
 * tested here is the export, not durability.
 */
static void
test_export_bulk(void)
{
	static const char *const	 args[] = { "--sync", "none", NULL };
	static const char *const	 zhdr[] = {
		"Accept-Encoding: gzip, zstd", NULL
	};
	struct hd			*d;
	struct hd_resp			 plain, z;
	uint64_t			*serials;
	json_t				*arr, *o, *reply, *items;
	char				*body, *raw;
	size_t				 p, i, k, rawlen;
	long				 lines;
	unsigned int			 before = CU_get_number_of_failures();

	memset(&plain, 0, sizeof plain);
	memset(&z, 0, sizeof z);
	if ((d = hd_start(args)) == NULL) {
		CU_FAIL("cannot start logwired --sync none");
		return;
	}
	serials = calloc(BULK_TOTAL, sizeof *serials);
	for (p = 0; p < BULK_POSTS; p++) {
		arr = json_array();
		for (i = 0; i < BULK_PER_POST; i++) {
			k = p * BULK_PER_POST + i;
			o = json_pack("{s:o}", "data", bulk_data(k));
			json_object_set_new(o, "id", json_sprintf("bulk-%zu",
			    k));
			if (k % 3 == 0)
				json_object_set_new(o, "name",
				    json_string("ev"));
			json_array_append_new(arr, o);
		}
		body = json_dumps(arr, JSON_COMPACT);
		json_decref(arr);
		reply = post_ok(d, "bulk", body);
		free(body);
		items = json_object_get(reply, "items");
		EXPECT(json_array_size(items) == BULK_PER_POST,
		    "POST %zu: %zu items", p, json_array_size(items));
		for (i = 0; i < json_array_size(items) &&
		    i < BULK_PER_POST; i++)
			serials[p * BULK_PER_POST + i] =
			    (uint64_t)jint(json_array_get(items, i), "serial");
		json_decref(reply);
		if (reply == NULL)
			goto out;
	}
	for (k = 1; k < BULK_TOTAL; k++) {
		if (serials[k] != serials[k - 1] + 1) {
			EXPECT(serials[k] == serials[k - 1] + 1,
			    "serial %llu after %llu at %zu",
			    (unsigned long long)serials[k],
			    (unsigned long long)serials[k - 1], k);
			break;
		}
	}

	/* Plain. */
	EXPECT(hd_http(d, "GET", "/v1/channels/bulk/export", NULL, NULL, 0,
	    &plain) == 0, "plain export failed");
	EXPECT(plain.status == 200, "plain export status %d", plain.status);
	EXPECT(hd_resp_header(&plain, "Transfer-Encoding") != NULL &&
	    strcasecmp(hd_resp_header(&plain, "Transfer-Encoding"),
	    "chunked") == 0, "plain export is not chunked");
	EXPECT(hd_resp_header(&plain, "Content-Type") != NULL &&
	    strncmp(hd_resp_header(&plain, "Content-Type"),
	    "application/x-ndjson", 20) == 0, "Content-Type %s",
	    hd_resp_header(&plain, "Content-Type"));
	EXPECT(hd_resp_header(&plain, "Content-Encoding") == NULL,
	    "plain export has a Content-Encoding");
	lines = plain.body != NULL ? check_bulk_export(plain.body,
	    plain.bodylen, serials, 0) : -1;
	EXPECT(lines == BULK_TOTAL, "plain export: %ld lines", lines);

	/* zstd: the same NDJSON. */
	EXPECT(hd_http(d, "GET", "/v1/channels/bulk/export", zhdr, NULL, 0,
	    &z) == 0, "zstd export failed");
	EXPECT(z.status == 200, "zstd export status %d", z.status);
	EXPECT(hd_resp_header(&z, "Content-Encoding") != NULL &&
	    strcmp(hd_resp_header(&z, "Content-Encoding"), "zstd") == 0,
	    "Content-Encoding %s", hd_resp_header(&z, "Content-Encoding"));
	raw = z.body != NULL ? unzstd(z.body, z.bodylen, &rawlen) : NULL;
	EXPECT(raw != NULL, "the zstd export does not decompress");
	if (raw != NULL) {
		EXPECT(z.bodylen < rawlen, "zstd %zu bytes for %zu", z.bodylen,
		    rawlen);
		lines = check_bulk_export(raw, rawlen, serials, 0);
		EXPECT(lines == BULK_TOTAL, "zstd export: %ld lines", lines);
		EXPECT(rawlen == plain.bodylen && memcmp(raw, plain.body,
		    rawlen) == 0, "zstd and plain exports differ (%zu, %zu)",
		    rawlen, plain.bodylen);
	}
	free(raw);
	hd_resp_free(&plain);
	hd_resp_free(&z);

	/* A range of it, plain and zstd. */
	EXPECT(hd_http(d, "GET", "/v1/channels/bulk/export?from=50000&"
	    "to=50999", NULL, NULL, 0, &plain) == 0, "range export");
	lines = plain.body != NULL ? check_bulk_export(plain.body,
	    plain.bodylen, serials, 49999) : -1;
	EXPECT(lines == 1000 && serials[49999] == 50000, "range: %ld lines",
	    lines);
	hd_resp_free(&plain);
	EXPECT(hd_http(d, "GET", "/v1/channels/bulk/export?from=99001",
	    zhdr, NULL, 0, &z) == 0, "range export (zstd)");
	raw = z.body != NULL ? unzstd(z.body, z.bodylen, &rawlen) : NULL;
	lines = raw != NULL ? check_bulk_export(raw, rawlen, serials,
	    99000) : -1;
	EXPECT(lines == 1000, "zstd range: %ld lines", lines);
	free(raw);
	hd_resp_free(&z);

out:
	free(serials);
	if (CU_get_number_of_failures() != before)
		hd_keep(d);
	hd_free(d);
}

/*
 * Publish over HTTP (one object, an array, base64, an id given twice),
 * read back with GET .../messages/{serial} and the channel object, and
 * a percent-encoded channel name holding a slash.
 */
static void
test_publish_read(void)
{
	json_t		*r, *it, *ch;
	char		 epoch[17];
	long long	 s1;
	int		 status;
	unsigned int	 before = CU_get_number_of_failures();

	r = post_ok(hd, "pub", "{\"data\":{\"hello\":\"world\"},\"name\":"
	    "\"greet\",\"id\":\"p-1\"}");
	EXPECT(r != NULL, "single publish");
	EXPECT(jstr(r, "channel") != NULL && strcmp(jstr(r, "channel"),
	    "pub") == 0, "channel");
	EXPECT(jstr(r, "epoch") != NULL && strlen(jstr(r, "epoch")) == 16,
	    "epoch %s", jstr(r, "epoch"));
	EXPECT(jstr(r, "sync") != NULL && strcmp(jstr(r, "sync"),
	    "always") == 0, "sync %s", jstr(r, "sync"));
	it = json_array_get(json_object_get(r, "items"), 0);
	s1 = jint(it, "serial");
	EXPECT(s1 == 1, "first serial %lld", s1);
	EXPECT(jstr(it, "id") != NULL && strcmp(jstr(it, "id"), "p-1") == 0,
	    "id");
	EXPECT(jint(it, "time") > 1600000000000LL, "time");
	EXPECT(json_is_false(json_object_get(it, "duplicate")), "duplicate");
	snprintf(epoch, sizeof epoch, "%s", jstr(r, "epoch") != NULL ?
	    jstr(r, "epoch") : "");
	json_decref(r);

	/* An array: in the order given, a duplicate id gets the original. */
	r = post_ok(hd, "pub", "[{\"data\":2},{\"data\":\"three\",\"id\":"
	    "\"p-3\"},{\"data\":{\"again\":1},\"id\":\"p-1\"},"
	    "{\"data\":\"aGVsbG8=\",\"encoding\":\"base64\"}]");
	EXPECT(r != NULL, "array publish");
	EXPECT(json_array_size(json_object_get(r, "items")) == 4, "4 items");
	EXPECT(jstr(r, "epoch") != NULL && strcmp(epoch, jstr(r,
	    "epoch")) == 0, "epoch changed");
	it = json_object_get(r, "items");
	EXPECT(jint(json_array_get(it, 0), "serial") == 2 &&
	    jint(json_array_get(it, 1), "serial") == 3 &&
	    jint(json_array_get(it, 2), "serial") == 1 &&
	    jint(json_array_get(it, 3), "serial") == 4, "serials");
	if (CU_get_number_of_failures() != before)
		jshow("array reply", r);
	EXPECT(json_is_true(json_object_get(json_array_get(it, 2),
	    "duplicate")) && json_is_false(json_object_get(json_array_get(it,
	    1), "duplicate")), "duplicate flags");
	EXPECT(jstr(json_array_get(it, 0), "id") != NULL &&
	    strlen(jstr(json_array_get(it, 0), "id")) > 0, "generated id");
	json_decref(r);

	/* Read back. */
	r = get_ok(hd, "/v1/channels/pub/messages/1");
	EXPECT(r != NULL && jint(r, "serial") == 1 && jstr(r, "name") !=
	    NULL && strcmp(jstr(r, "name"), "greet") == 0 && jstr(r, "id") !=
	    NULL && strcmp(jstr(r, "id"), "p-1") == 0 &&
	    strcmp(jstr(json_object_get(r, "data"), "hello"), "world") == 0 &&
	    strcmp(jstr(r, "channel"), "pub") == 0, "message 1");
	EXPECT(json_object_get(r, "encoding") == NULL, "encoding on JSON");
	json_decref(r);
	r = get_ok(hd, "/v1/channels/pub/messages/4");
	EXPECT(r != NULL && jstr(r, "encoding") != NULL &&
	    strcmp(jstr(r, "encoding"), "base64") == 0 && jstr(r, "data") !=
	    NULL && strcmp(jstr(r, "data"), "aGVsbG8=") == 0, "base64");
	if (CU_get_number_of_failures() != before)
		jshow("message 4", r);
	json_decref(r);
	r = get_ok(hd, "/v1/channels/pub/messages/2");
	EXPECT(json_integer_value(json_object_get(r, "data")) == 2 &&
	    json_object_get(r, "name") == NULL, "message 2");
	json_decref(r);
	r = get_ok(hd, "/v1/channels/pub/messages/3");
	EXPECT(json_is_string(json_object_get(r, "data")) &&
	    strcmp(jstr(r, "data"), "three") == 0, "message 3");
	json_decref(r);

	/* The channel object. */
	ch = get_ok(hd, "/v1/channels/pub");
	EXPECT(ch != NULL && strcmp(jstr(ch, "name"), "pub") == 0 &&
	    jstr(ch, "epoch") != NULL && strcmp(jstr(ch, "epoch"),
	    epoch) == 0 && jint(ch, "first") == 1 && jint(ch, "head") == 4 &&
	    jint(ch, "count") == 4 && jint(ch, "bytes") > 0 &&
	    jint(ch, "created") > 1600000000000LL &&
	    jint(ch, "last_time") >= jint(ch, "created") &&
	    jint(ch, "subscribers") == 0, "channel object");
	if (CU_get_number_of_failures() != before)
		jshow("channel object", ch);
	json_decref(ch);

	/* A name with a slash, percent-encoded. */
	r = post_ok(hd, "a%2Fb", "{\"data\":\"slash\"}");
	EXPECT(r != NULL && jstr(r, "channel") != NULL &&
	    strcmp(jstr(r, "channel"), "a/b") == 0, "channel a/b");
	json_decref(r);
	ch = get_ok(hd, "/v1/channels/a%2Fb");
	EXPECT(ch != NULL && jstr(ch, "name") != NULL &&
	    strcmp(jstr(ch, "name"), "a/b") == 0 && jint(ch, "head") == 1,
	    "channel object of a/b");
	json_decref(ch);
	r = get_ok(hd, "/v1/channels/a%2fb/messages/1");
	EXPECT(r != NULL && strcmp(jstr(r, "channel"), "a/b") == 0 &&
	    strcmp(jstr(r, "data"), "slash") == 0, "a/b message 1");
	json_decref(r);
	r = req_json(hd, "GET", "/v1/channels/a/b", NULL, NULL, &status);
	EXPECT(status == 404, "/v1/channels/a/b gives %d", status);
	json_decref(r);
}

/* Write len bytes in one go on fd; 0 or -1. */
static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = send(fd, p, len, MSG_NOSIGNAL)) == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		p += n;
		len -= (size_t)n;
	}
	return (0);
}

/*
 * Several responses on one connection, each read by its own struct hresp
 * (src/client) as its bytes come.
 */
#define RCONN_MAX	16
struct rconn {
	struct hresp	*r[RCONN_MAX];
	size_t		 n;		/* responses complete */
	int		 closed;
	size_t		 extra;		/* bytes after the last wanted */
};

/*
 * Parse len bytes that came on the connection into its responses (head[i]
 * set for those answering HEAD) until want are complete; count the bytes
 * beyond in rc->extra.  Return -1 on a bad response (said on stderr).
 */
static int
rconn_feed(struct rconn *rc, const char *buf, size_t len, size_t want,
    const int *head)
{
	size_t	off, used;
	int	st;

	for (off = 0; off < len; off += used) {
		if (rc->n >= want) {
			rc->extra += len - off;
			break;
		}
		if (rc->n == RCONN_MAX) {
			fprintf(stderr, "    more than %d responses\n",
			    RCONN_MAX);
			return (-1);
		}
		if (rc->r[rc->n] == NULL)
			rc->r[rc->n] = hresp_new(head != NULL && head[rc->n],
			    SIZE_MAX, NULL, NULL);
		st = hresp_feed(rc->r[rc->n], buf + off, len - off, &used);
		if (st == HRESP_ERROR) {
			fprintf(stderr, "    bad response %zu: %s\n", rc->n,
			    hresp_error(rc->r[rc->n]));
			return (-1);
		}
		if (st == HRESP_MORE)
			break;
		rc->n++;
	}
	return (0);
}

/*
 * Read from fd until want responses are complete (head[i] set for those
 * answering HEAD), or the connection closes, or timeout_ms passes.
 * Return the number of complete responses; *rc keeps them. Bytes beyond
 * are counted in rc->extra (read for a short while after).
 */
static size_t
rconn_read(int fd, struct rconn *rc, size_t want, const int *head,
    int timeout_ms)
{
	struct pollfd	pfd;
	char		buf[65536];
	ssize_t		n;
	int		waited = 0;

	while (rc->n < want && !rc->closed && waited < timeout_ms) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 50) <= 0) {
			waited += 50;
			continue;
		}
		if ((n = recv(fd, buf, sizeof buf, 0)) <= 0) {
			rc->closed = 1;
			break;
		}
		if (rconn_feed(rc, buf, (size_t)n, want, head) != 0)
			rc->closed = 1;
	}
	return (rc->n);
}

/* Wait for the peer to close fd; return 1 if it did, counting extra bytes. */
static int
wait_closed(int fd, struct rconn *rc, int timeout_ms)
{
	struct pollfd	pfd;
	char		buf[4096];
	ssize_t		n;
	int		waited = 0;

	if (rc->closed)
		return (1);
	while (waited < timeout_ms) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 50) <= 0) {
			waited += 50;
			continue;
		}
		if ((n = recv(fd, buf, sizeof buf, 0)) <= 0)
			return (1);
		rc->extra += (size_t)n;
	}
	return (0);
}

/* Free what rconn_read kept. */
static void
rconn_free(struct rconn *rc)
{
	size_t	i;

	for (i = 0; i < RCONN_MAX; i++)
		hresp_free(rc->r[i]);
	memset(rc, 0, sizeof *rc);
}

/* Response i's status. */
static int
rconn_status(const struct rconn *rc, size_t i)
{
	return (hresp_status(rc->r[i]));
}

/* Response i's body (NUL-terminated, "" if none). */
static const char *
rconn_body(const struct rconn *rc, size_t i)
{
	size_t	len;

	return (hresp_body(rc->r[i], &len));
}

/* Response i's body length. */
static size_t
rconn_bodylen(const struct rconn *rc, size_t i)
{
	size_t	len;

	hresp_body(rc->r[i], &len);
	return (len);
}

/*
 * Whether response i has the header name (any case) with value holding
 * value (NULL: any value).
 */
static int
rconn_has(const struct rconn *rc, size_t i, const char *name,
    const char *value)
{
	const char	*v = hresp_header(rc->r[i], name);

	return (v != NULL && (value == NULL || strstr(v, value) != NULL));
}

/* Response i's header name for a message ("-" when absent). */
static const char *
rconn_header(const struct rconn *rc, size_t i, const char *name)
{
	const char	*v = hresp_header(rc->r[i], name);

	return (v != NULL ? v : "-");
}

/*
 * Keep-alive and pipelining: several requests in one write, a POST in
 * the middle that a later GET depends on, an error, a HEAD, a streamed
 * export, a second POST, then Connection: close; answered in order on
 * one connection, which the server then closes. Then requests one after
 * another on one connection, one of them sent in two pieces.
 */
static void
test_pipelining(void)
{
	static const int	 heads[RCONN_MAX] = { 0, 0, 0, 0, 1 };
	struct rconn		 rc;
	json_t			*j;
	char			*req;
	int			 fd, closed;
	size_t			 n, i;

	req = cu_fmt(
	    "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
	    "POST /v1/channels/pipe/messages HTTP/1.1\r\nHost: x\r\n"
	    "Content-Type: application/json\r\nContent-Length: 14\r\n\r\n"
	    "{\"data\":\"one\"}"
	    "GET /v1/channels/pipe/messages/1 HTTP/1.1\r\nHost: x\r\n\r\n"
	    "GET /v1/channels/pipe/nothing HTTP/1.1\r\nHost: x\r\n\r\n"
	    "HEAD /v1/channels/pipe HTTP/1.1\r\nHost: x\r\n\r\n"
	    "GET /v1/channels/pipe/export HTTP/1.1\r\nHost: x\r\n\r\n"
	    "POST /v1/channels/pipe/messages HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 14\r\n\r\n{\"data\":\"two\"}"
	    "GET /v1/channels/pipe/messages?direction=forward HTTP/1.1\r\n"
	    "Host: x\r\nConnection: close\r\n\r\n");
	memset(&rc, 0, sizeof rc);
	fd = hd_tcp(hd);
	EXPECT(fd != -1, "connect");
	if (fd == -1) {
		free(req);
		return;
	}
	EXPECT(write_all(fd, req, strlen(req)) == 0, "write");
	free(req);
	n = rconn_read(fd, &rc, 8, heads, RAW_TIMEOUT);
	closed = wait_closed(fd, &rc, RAW_TIMEOUT);
	close(fd);
	EXPECT(n == 8, "%zu responses of 8", n);
	EXPECT(closed, "connection still open after Connection: close");
	EXPECT(rc.extra == 0, "%zu bytes after the last response", rc.extra);
	if (n == 8) {
		EXPECT(rconn_status(&rc, 0) == 200 && strstr(rconn_body(&rc,
		    0), "\"ok\"") != NULL, "1: %d %s", rconn_status(&rc, 0),
		    rconn_body(&rc, 0));
		j = json_loads(rconn_body(&rc, 1), 0, NULL);
		EXPECT(rconn_status(&rc, 1) == 201 && jint(json_array_get(
		    json_object_get(j, "items"), 0), "serial") == 1,
		    "2: %d %s", rconn_status(&rc, 1), rconn_body(&rc, 1));
		json_decref(j);
		j = json_loads(rconn_body(&rc, 2), 0, NULL);
		EXPECT(rconn_status(&rc, 2) == 200 && jstr(j, "data") !=
		    NULL && strcmp(jstr(j, "data"), "one") == 0, "3: %d %s",
		    rconn_status(&rc, 2), rconn_body(&rc, 2));
		json_decref(j);
		j = json_loads(rconn_body(&rc, 3), 0, NULL);
		EXPECT(rconn_status(&rc, 3) == 404 && jerr(j) == 40400,
		    "4: %d %s", rconn_status(&rc, 3), rconn_body(&rc, 3));
		json_decref(j);
		EXPECT(rconn_status(&rc, 4) == 200 && rconn_bodylen(&rc, 4) ==
		    0 && rconn_has(&rc, 4, "content-length", NULL),
		    "5 (HEAD): %d %zu bytes of body, content-length %s",
		    rconn_status(&rc, 4), rconn_bodylen(&rc, 4),
		    rconn_header(&rc, 4, "content-length"));
		EXPECT(rconn_status(&rc, 5) == 200 &&
		    rconn_has(&rc, 5, "transfer-encoding", "chunked") &&
		    strstr(rconn_body(&rc, 5), "\"one\"") != NULL &&
		    strchr(rconn_body(&rc, 5), '\n') == rconn_body(&rc, 5) +
		    rconn_bodylen(&rc, 5) - 1, "6 (export): %d %s",
		    rconn_status(&rc, 5), rconn_body(&rc, 5));
		j = json_loads(rconn_body(&rc, 6), 0, NULL);
		EXPECT(rconn_status(&rc, 6) == 201 && jint(json_array_get(
		    json_object_get(j, "items"), 0), "serial") == 2,
		    "7: %d %s", rconn_status(&rc, 6), rconn_body(&rc, 6));
		json_decref(j);
		j = json_loads(rconn_body(&rc, 7), 0, NULL);
		EXPECT(rconn_status(&rc, 7) == 200 && json_array_size(
		    json_object_get(j, "items")) == 2 && strcmp(jstr(
		    json_array_get(json_object_get(j, "items"), 1), "data"),
		    "two") == 0 && rconn_has(&rc, 7, "connection", "close"),
		    "8: %d %s", rconn_status(&rc, 7), rconn_body(&rc, 7));
		json_decref(j);
		for (i = 0; i < 7; i++)
			EXPECT(!rconn_has(&rc, i, "connection", "close"),
			    "response %zu closes: connection %s", i + 1,
			    rconn_header(&rc, i, "connection"));
	}
	rconn_free(&rc);

	/* One request after another, one of them in two pieces. */
	memset(&rc, 0, sizeof rc);
	if ((fd = hd_tcp(hd)) == -1) {
		CU_FAIL("connect");
		return;
	}
	for (i = 0; i < 5; i++) {
		req = cu_fmt("GET /v1/channels/pipe/messages/%zu HTTP/1.1\r\n"
		    "Host: x\r\n\r\n", i % 2 + 1);
		if (i == 2) {
			EXPECT(write_all(fd, req, 10) == 0, "write");
			hd_sleep(50);
			EXPECT(write_all(fd, req + 10, strlen(req) - 10) == 0,
			    "write");
		} else
			EXPECT(write_all(fd, req, strlen(req)) == 0, "write");
		free(req);
		n = rconn_read(fd, &rc, i + 1, NULL, RAW_TIMEOUT);
		EXPECT(n == i + 1 && rconn_status(&rc, i) == 200 &&
		    strstr(rconn_body(&rc, i), i % 2 ? "\"two\"" :
		    "\"one\"") != NULL, "keep-alive request %zu: %zu "
		    "responses", i + 1, n);
		if (n != i + 1)
			break;
	}
	EXPECT(!rc.closed, "the server closed a keep-alive connection");
	close(fd);
	rconn_free(&rc);
}

/* Whether a raw answer is an error with status and code (-1: any body). */
static int
raw_is(const char *resp, int status, long long code)
{
	const char	*body;
	json_t		*j;
	int		 st = -1, ok;

	if (resp == NULL || sscanf(resp, "HTTP/1.1 %d", &st) != 1 ||
	    st != status)
		return (0);
	if (code == -1)
		return (1);
	if ((body = strstr(resp, "\r\n\r\n")) == NULL)
		return (0);
	j = json_loads(body + 4, JSON_DISABLE_EOF_CHECK, NULL);
	ok = jerr(j) == code;
	json_decref(j);
	return (ok);
}

/*
 * Send req (NUL-terminated) on a new connection to d and expect an answer
 * with status and code (-1: any body) before the server closes; what
 * names the exchange in a failure.
 */
static void
raw_expect(struct hd *d, const char *req, int status, long long code,
    const char *what)
{
	char	*resp;
	size_t	 rlen;
	int	 rc;

	rc = hd_raw(d, req, strlen(req), &resp, &rlen, RAW_TIMEOUT);
	EXPECT(rc == 0 && raw_is(resp, status, code), "%s: rc %d, %.300s",
	    what, rc, resp);
	free(resp);
}

/* A GET /healthz whose head holds a header of n bytes (caller frees). */
static char *
big_head(size_t n)
{
	char	*filler, *req;

	filler = malloc(n + 1);
	memset(filler, 'h', n);
	filler[n] = '\0';
	req = cu_fmt("GET /healthz HTTP/1.1\r\nHost: x\r\n"
	    "Connection: close\r\nX-Big: %s\r\n\r\n", filler);
	free(filler);
	return (req);
}

/* One request expected to fail. */
struct bad_req {
	const char	*method;
	const char	*path;
	const char	*body;
	int		 status;
	int		 code;
};

/*
 * Every error status of the API: each comes with {"error":{"code",
 * "message"}} and the code; a refused publish stores nothing.
 */
static void
test_errors(void)
{
	static const char *const	 small[] = {
		"--max-body-bytes", "4096", "--max-message-bytes", "300", NULL
	};
	static const struct bad_req	 bad[] = {
		{ "GET", "/v1/channels?limit=0", NULL, 400, 40000 },
		{ "GET", "/v1/channels?limit=1001", NULL, 400, 40000 },
		{ "GET", "/v1/channels?limit=ten", NULL, 400, 40000 },
		{ "GET", "/v1/channels?prefix=%zz", NULL, 400, 40000 },
		{ "GET", "/v1/channels/nosuch", NULL, 404, 40400 },
		{ "GET", "/v1/channels/nosuch/messages", NULL, 404, 40400 },
		{ "GET", "/v1/channels/nosuch/messages/1", NULL, 404, 40400 },
		{ "GET", "/v1/channels/nosuch/export", NULL, 404, 40400 },
		{ "GET", "/v1/channels/%zz", NULL, 400, 40000 },
		{ "GET", "/v1/channels/a%00b", NULL, 400, 40000 },
		{ "GET", "/v1/channels/%0", NULL, 400, 40000 },
		{ "GET", "/v1/channels/%01", NULL, 400, 40002 },
		{ "GET", "/v1/channels/a%7Fb", NULL, 400, 40002 },
		{ "GET", "/v1/channels/%FF%FE", NULL, 400, 40002 },
		{ "POST", "/v1/channels/%01/messages", "{\"data\":1}", 400,
		    40002 },
		{ "GET", "/v1/channels/errs/messages?from=abc", NULL, 400,
		    40000 },
		{ "GET", "/v1/channels/errs/messages?to=-1", NULL, 400,
		    40000 },
		{ "GET", "/v1/channels/errs/messages?start=1e3", NULL, 400,
		    40000 },
		{ "GET", "/v1/channels/errs/messages?end=x", NULL, 400,
		    40000 },
		{ "GET", "/v1/channels/errs/messages?limit=abc", NULL, 400,
		    40000 },
		{ "GET", "/v1/channels/errs/messages?limit=0", NULL, 400,
		    40000 },
		{ "GET", "/v1/channels/errs/messages?limit=1001", NULL, 400,
		    40000 },
		{ "GET", "/v1/channels/errs/messages?direction=up", NULL, 400,
		    40000 },
		{ "GET", "/v1/channels/errs/export?from=x", NULL, 400,
		    40000 },
		{ "GET", "/v1/channels/errs/messages/abc", NULL, 400, 40000 },
		{ "GET", "/v1/channels/errs/messages/-1", NULL, 400, 40000 },
		{ "GET", "/v1/channels/errs/messages/1x", NULL, 400, 40000 },
		{ "GET", "/v1/channels/errs/messages/0", NULL, 404, 40400 },
		{ "GET", "/v1/channels/errs/messages/3", NULL, 404, 40400 },
		{ "GET", "/v1/channels/errs/messages/18446744073709551615",
		    NULL, 404, 40400 },
		{ "POST", "/v1/channels/errs/messages", "{\"data\":", 400,
		    40000 },
		{ "POST", "/v1/channels/errs/messages", "", 400, 40000 },
		{ "POST", "/v1/channels/errs/messages", "{}", 400, 40000 },
		{ "POST", "/v1/channels/errs/messages", "\"x\"", 400, 40000 },
		{ "POST", "/v1/channels/errs/messages", "[]", 400, 40000 },
		{ "POST", "/v1/channels/errs/messages", "{\"data\":1,"
		    "\"id\":5}", 400, 40000 },
		{ "POST", "/v1/channels/errs/messages", "{\"data\":1,"
		    "\"id\":\"\"}", 400, 40000 },
		{ "POST", "/v1/channels/errs/messages", "{\"data\":1,"
		    "\"name\":[]}", 400, 40000 },
		{ "POST", "/v1/channels/errs/messages", "{\"data\":1,"
		    "\"encoding\":\"base64\"}", 400, 40000 },
		{ "POST", "/v1/channels/errs/messages", "{\"data\":\"a\","
		    "\"encoding\":\"hex\"}", 400, 40000 },
		{ "POST", "/v1/channels/errs/messages", "[{\"data\":1},"
		    "{\"nodata\":2},{\"data\":3}]", 400, 40000 },
		{ "POST", "/v1/channels/errs/messages", "[{\"data\":1},7]",
		    400, 40000 },
		{ "POST", "/v1/channels/$x/messages", "{\"data\":1}", 403,
		    40301 },
		{ "POST", "/v1/channels/%24sys/messages", "{\"data\":1}", 403,
		    40301 },
		{ "PUT", "/v1/channels/errs/messages", "{\"data\":1}", 405,
		    40500 },
		{ "DELETE", "/v1/channels/errs", NULL, 405, 40500 },
		{ "POST", "/v1/channels", "{}", 405, 40500 },
		{ "POST", "/v1/channels/errs/messages/1", "{}", 405, 40500 },
		{ "POST", "/healthz", "{}", 405, 40500 },
		{ "PATCH", "/metrics", "{}", 405, 40500 },
		{ "POST", "/v1/channels/errs/export", "{}", 405, 40500 },
		{ "GET", "/nope", NULL, 404, 40400 },
		{ "GET", "/v1/nope", NULL, 404, 40400 },
		{ "GET", "/v1/channels/errs/bogus", NULL, 404, 40400 },
		{ "GET", "/v1/channels/errs/messages/1/x", NULL, 404, 40400 },
	};
	struct hd			*d;
	struct hd_resp			 r;
	json_t				*j;
	const char			*allow;
	char				*big, *resp, *req, *path;
	size_t				 i, len;
	int				 status, rc;
	unsigned int			 before = CU_get_number_of_failures();

	j = post_ok(hd, "errs", "[{\"data\":1},{\"data\":2}]");
	EXPECT(j != NULL, "publish to errs");
	json_decref(j);

	for (i = 0; i < nitems(bad); i++) {
		if (hd_http(hd, bad[i].method, bad[i].path, NULL, bad[i].body,
		    bad[i].body != NULL ? strlen(bad[i].body) : 0, &r) != 0) {
			EXPECT(0, "%s %s: no answer", bad[i].method,
			    bad[i].path);
			continue;
		}
		j = hd_resp_json(&r);
		EXPECT(r.status == bad[i].status && jerr(j) == bad[i].code,
		    "%s %s %s: wanted %d %d, got %d %s", bad[i].method,
		    bad[i].path, bad[i].body != NULL ? bad[i].body : "",
		    bad[i].status, bad[i].code, r.status, r.body);
		EXPECT(hd_resp_header(&r, "Content-Type") != NULL &&
		    strncmp(hd_resp_header(&r, "Content-Type"),
		    "application/json", 16) == 0, "%s %s: Content-Type %s",
		    bad[i].method, bad[i].path,
		    hd_resp_header(&r, "Content-Type"));
		if (r.status == 405) {
			allow = hd_resp_header(&r, "Allow");
			EXPECT(allow != NULL && strstr(allow, "GET") != NULL &&
			    strstr(allow, bad[i].method) == NULL,
			    "%s %s: Allow %s", bad[i].method, bad[i].path,
			    allow);
			EXPECT(allow == NULL || (strstr(allow, "POST") !=
			    NULL) == (strcmp(bad[i].path,
			    "/v1/channels/errs/messages") == 0),
			    "%s %s: Allow %s", bad[i].method, bad[i].path,
			    allow);
		}
		json_decref(j);
		hd_resp_free(&r);
	}
	/* Nothing from the refused publishes was stored. */
	EXPECT(chan_head(hd, "errs") == 2, "errs has head %lld",
	    chan_head(hd, "errs"));
	j = req_json(hd, "GET", "/v1/channels/%24x", NULL, NULL, &status);
	EXPECT(status == 404, "$x exists: %d", status);
	json_decref(j);

	/* A channel name of 256 bytes. */
	big = malloc(300);
	memset(big, 'n', 256);
	big[256] = '\0';
	path = cu_fmt("/v1/channels/%s/messages", big);
	j = req_json(hd, "POST", path, NULL, "{\"data\":1}", &status);
	EXPECT(status == 400 && jerr(j) == 40002, "256-byte name: %d %lld",
	    status, jerr(j));
	json_decref(j);
	free(path);
	big[255] = '\0';
	j = post_ok(hd, big, "{\"data\":1}");
	EXPECT(j != NULL, "255-byte name refused");
	json_decref(j);
	free(big);

	/* One message over the default --max-message-bytes (65536). */
	big = malloc(70000 + 64);
	len = (size_t)snprintf(big, 64, "{\"data\":\"");
	memset(big + len, 'x', 70000);
	strcpy(big + len + 70000, "\"}");
	j = req_json(hd, "POST", "/v1/channels/errs/messages", NULL, big,
	    &status);
	EXPECT(status == 413 && jerr(j) == 41300, "large message: %d %lld",
	    status, jerr(j));
	json_decref(j);
	/* The same inside an array with a good one: nothing stored. */
	req = cu_fmt("[{\"data\":1},%s]", big);
	j = req_json(hd, "POST", "/v1/channels/errs/messages", NULL, req,
	    &status);
	EXPECT(status == 413 && jerr(j) == 41300, "large in array: %d %lld",
	    status, jerr(j));
	json_decref(j);
	free(req);
	free(big);
	EXPECT(chan_head(hd, "errs") == 2, "errs has head %lld",
	    chan_head(hd, "errs"));
	/* 1001 messages in one array. */
	big = malloc(1001 * 11 + 3);
	len = 0;
	big[len++] = '[';
	for (i = 0; i < 1001; i++)
		len += (size_t)sprintf(big + len, "%s{\"data\":1}", i ? "," :
		    "");
	big[len++] = ']';
	big[len] = '\0';
	j = req_json(hd, "POST", "/v1/channels/errs/messages", NULL, big,
	    &status);
	EXPECT(status == 400 && jerr(j) == 40000, "1001 messages: %d %lld",
	    status, jerr(j));
	json_decref(j);
	free(big);

	/* A body over the default --max-body-bytes (8 MiB), by its head. */
	req = cu_fmt("POST /v1/channels/errs/messages HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: %d\r\n\r\n{\"data\":", 8 * 1024 * 1024 + 1);
	raw_expect(hd, req, 413, 41300, "8 MiB + 1");
	free(req);

	/* Malformed request line: 400, then the connection closes. */
	raw_expect(hd, "GARBAGE\r\n\r\n", 400, 40000, "request line");
	raw_expect(hd, "GET /healthz HTTP/9.9 x\r\n\r\n", 400, -1,
	    "bad version");

	/* A head over --max-header-bytes (16 KiB); just under it is fine. */
	big = big_head(20000);
	raw_expect(hd, big, 431, -1, "large head");
	free(big);
	big = big_head(12000);
	raw_expect(hd, big, 200, -1, "12 KB head");
	free(big);

	/* Chunked request bodies: accepted, and bounded by max-body-bytes. */
	req = cu_fmt("POST /v1/channels/errs/messages HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
	    "5\r\n{\"dat\r\n9\r\na\":\"chunk\r\n2\r\n\"}\r\n0\r\n\r\n");
	rc = hd_raw(hd, req, strlen(req), &resp, &len, RAW_TIMEOUT);
	EXPECT(rc == 0 && raw_is(resp, 201, -1) && strstr(resp,
	    "\"serial\":3") != NULL, "chunked POST: rc %d, %.300s", rc, resp);
	free(resp);
	free(req);
	j = get_ok(hd, "/v1/channels/errs/messages/3");
	EXPECT(j != NULL && jstr(j, "data") != NULL &&
	    strcmp(jstr(j, "data"), "chunk") == 0, "chunked body stored");
	json_decref(j);

	if ((d = hd_start(small)) == NULL) {
		CU_FAIL("cannot start logwired with small limits");
		return;
	}
	big = malloc(9000);
	memset(big, ' ', 8000);
	big[8000] = '\0';
	memcpy(big, "{\"data\":1}", 10);
	req = cu_fmt("POST /v1/channels/c/messages HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
	    "1f40\r\n%.8000s\r\n0\r\n\r\n", big);
	raw_expect(d, req, 413, 41300, "chunked over 4096");
	free(req);
	j = req_json(d, "POST", "/v1/channels/c/messages", NULL, big, &status);
	EXPECT(status == 413 && jerr(j) == 41300, "body over 4096: %d",
	    status);
	json_decref(j);
	free(big);
	big = malloc(400);
	memset(big, 'm', 399);
	big[399] = '\0';
	memcpy(big, "{\"data\":\"", 9);
	memcpy(big + 397, "\"}", 2);
	j = req_json(d, "POST", "/v1/channels/c/messages", NULL, big, &status);
	EXPECT(status == 413 && jerr(j) == 41300, "message over 300: %d",
	    status);
	json_decref(j);
	free(big);
	j = req_json(d, "POST", "/v1/channels/c/messages", NULL,
	    "{\"data\":\"small\"}", &status);
	EXPECT(status == 201, "small message: %d", status);
	json_decref(j);
	if (CU_get_number_of_failures() != before)
		hd_keep(d);
	hd_free(d);
}

/* HEAD answers have the GET's headers and no body. */
static void
test_head(void)
{
	struct hd_resp	 g;
	const char	*req;
	char		*resp, *want, *end;
	size_t		 len;
	int		 rc;

	EXPECT(hd_http(hd, "GET", "/v1/channels/pub", NULL, NULL, 0,
	    &g) == 0, "GET");
	req = "HEAD /v1/channels/pub HTTP/1.1\r\nHost: x\r\n"
	    "Connection: close\r\n\r\n";
	rc = hd_raw(hd, req, strlen(req), &resp, &len, RAW_TIMEOUT);
	want = cu_fmt("Content-Length: %zu\r\n", g.bodylen);
	end = strstr(resp, "\r\n\r\n");
	EXPECT(rc == 0 && raw_is(resp, 200, -1) && strcasestr(resp, want) !=
	    NULL && end != NULL && end + 4 == resp + len,
	    "HEAD: rc %d, %s", rc, resp);
	free(want);
	free(resp);
	hd_resp_free(&g);
	req = "HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	    "\r\n";
	rc = hd_raw(hd, req, strlen(req), &resp, &len, RAW_TIMEOUT);
	end = strstr(resp, "\r\n\r\n");
	EXPECT(rc == 0 && raw_is(resp, 200, -1) && end != NULL &&
	    end + 4 == resp + len, "HEAD /metrics: rc %d, %s", rc, resp);
	free(resp);
	req = "HEAD /v1/snapshot HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	    "\r\n";
	rc = hd_raw(hd, req, strlen(req), &resp, &len, RAW_TIMEOUT);
	end = strstr(resp, "\r\n\r\n");
	EXPECT(rc == 0 && raw_is(resp, 200, -1) && end != NULL &&
	    end + 4 == resp + len, "HEAD /v1/snapshot: rc %d, %zu bytes "
	    "after the head: %.*s", rc, end != NULL ? (size_t)(resp + len -
	    end - 4) : 0, end != NULL ? (int)(end - resp) : 300, resp);
	free(resp);
}

/*
 * CORS: a preflight from a configured origin gets 204 and the origin;
 * every answer to that origin (success, error, publish) carries it; no
 * answer to another origin does.
 */
static void
test_cors(void)
{
	static const char *const	 ok[] = { "Origin: " CORS_OK, NULL };
	static const char *const	 bad[] = { "Origin: " CORS_BAD,
		"Access-Control-Request-Method: POST", NULL };
	static const char *const	 pre[] = { "Origin: " CORS_OK,
		"Access-Control-Request-Method: POST",
		"Access-Control-Request-Headers: content-type", NULL };
	static const struct {
		const char	*method;
		const char	*path;
		const char	*body;
		int		 status;
	} allowed[] = {
		{ "GET", "/v1/channels/pub", NULL, 200 },
		{ "GET", "/v1/channels/nosuch", NULL, 404 },
		{ "POST", "/v1/channels/cors/messages", "{\"data\":1}", 201 },
		{ "GET", "/v1/channels/cors/export", NULL, 200 },
		{ "GET", "/v1/snapshot", NULL, 200 },
	};
	struct hd_resp			 r;
	const char			*v, *body;
	char				*raw, *resp;
	size_t				 len, i;
	int				 rc;

	EXPECT(hd_http(hd, "OPTIONS", "/v1/channels/pub/messages", pre, NULL,
	    0, &r) == 0, "OPTIONS");
	v = hd_resp_header(&r, "Access-Control-Allow-Origin");
	EXPECT(r.status == 204 && v != NULL && strcmp(v, CORS_OK) == 0,
	    "preflight: %d, ACAO %s", r.status, v);
	v = hd_resp_header(&r, "Access-Control-Allow-Methods");
	EXPECT(v != NULL && strstr(v, "POST") != NULL, "ACAM %s", v);
	hd_resp_free(&r);

	EXPECT(hd_http(hd, "OPTIONS", "/v1/channels/pub/messages", bad, NULL,
	    0, &r) == 0, "OPTIONS");
	EXPECT(hd_resp_header(&r, "Access-Control-Allow-Origin") == NULL,
	    "preflight from %s allowed", CORS_BAD);
	hd_resp_free(&r);

	/* Every answer to an allowed origin names it, errors too. */
	for (i = 0; i < nitems(allowed); i++) {
		body = allowed[i].body;
		EXPECT(hd_http(hd, allowed[i].method, allowed[i].path, ok,
		    body, body != NULL ? strlen(body) : 0, &r) == 0, "%s %s",
		    allowed[i].method, allowed[i].path);
		v = hd_resp_header(&r, "Access-Control-Allow-Origin");
		EXPECT(r.status == allowed[i].status && v != NULL &&
		    strcmp(v, CORS_OK) == 0, "%s %s: %d, ACAO %s",
		    allowed[i].method, allowed[i].path, r.status, v);
		hd_resp_free(&r);
	}
	raw = cu_fmt("POST /v1/channels/cors/messages HTTP/1.1\r\nHost: x\r\n"
	    "Origin: " CORS_OK "\r\nContent-Length: %d\r\n\r\n",
	    9 * 1024 * 1024);
	rc = hd_raw(hd, raw, strlen(raw), &resp, &len, RAW_TIMEOUT);
	EXPECT(rc == 0 && raw_is(resp, 413, 41300) && strcasestr(resp,
	    "\r\nAccess-Control-Allow-Origin: " CORS_OK "\r\n") != NULL,
	    "413 to an allowed origin: %.400s", resp);
	free(resp);
	free(raw);

	EXPECT(hd_http(hd, "GET", "/v1/channels/pub", bad, NULL, 0, &r) == 0,
	    "GET");
	EXPECT(r.status == 200 && hd_resp_header(&r,
	    "Access-Control-Allow-Origin") == NULL, "ACAO to %s", CORS_BAD);
	hd_resp_free(&r);
	EXPECT(hd_http(hd, "GET", "/v1/channels/pub", NULL, NULL, 0, &r) == 0,
	    "GET");
	EXPECT(hd_resp_header(&r, "Access-Control-Allow-Origin") == NULL,
	    "ACAO without an Origin");
	hd_resp_free(&r);
}

/*
 * An HTTP publish reaches a live WebSocket subscriber, in order, with
 * its fields; the channel object counts the subscriber while it is there.
 */
static void
test_rest_to_ws(void)
{
	struct wsc	*w;
	json_t		*j, *r;
	long long	 serial = -1, subs = -1;
	char		*body, epoch[32], want[64];
	size_t		 len;
	int		 i;

	if ((w = hd_ws(hd)) == NULL) {
		CU_FAIL("no WebSocket");
		return;
	}
	EXPECT(hd_ws_send_json(w, "{\"op\":\"subscribe\",\"channel\":"
	    "\"live\",\"ref\":1}") == 0, "send");
	j = hd_ws_expect_op(w, "subscribed", WS_TIMEOUT);
	EXPECT(j != NULL, "not subscribed");
	json_decref(j);

	r = post_ok(hd, "live", "{\"data\":{\"via\":\"rest\"},\"name\":\"ev\","
	    "\"id\":\"live-1\"}");
	EXPECT(r != NULL, "publish");
	serial = jint(json_array_get(json_object_get(r, "items"), 0),
	    "serial");
	json_decref(r);
	j = hd_ws_expect_op(w, "message", WS_TIMEOUT);
	EXPECT(j != NULL && jint(j, "serial") == serial && jstr(j,
	    "channel") != NULL && strcmp(jstr(j, "channel"), "live") == 0 &&
	    jstr(j, "id") != NULL && strcmp(jstr(j, "id"), "live-1") == 0 &&
	    jstr(j, "name") != NULL && strcmp(jstr(j, "name"), "ev") == 0 &&
	    jstr(json_object_get(j, "data"), "via") != NULL &&
	    jint(j, "time") > 0, "message %lld", serial);
	if (j != NULL && jint(j, "serial") != serial)
		jshow("WebSocket message", j);
	json_decref(j);

	r = post_ok(hd, "live", "[{\"data\":1},{\"data\":2},{\"data\":3}]");
	EXPECT(r != NULL, "publish array");
	json_decref(r);
	for (i = 1; i <= 3; i++) {
		j = hd_ws_expect_op(w, "message", WS_TIMEOUT);
		EXPECT(j != NULL && jint(j, "serial") == serial + i &&
		    json_integer_value(json_object_get(j, "data")) == i,
		    "message %d of the array", i);
		json_decref(j);
	}

	/*
	 * An array of 300 without ids is one commit, fanned out as one run:
	 * every message keeps its own generated id, EPOCH-SERIAL.
	 */
	if ((body = malloc(300 * 16 + 8)) == NULL)
		abort();
	len = 0;
	body[len++] = '[';
	for (i = 1; i <= 300; i++)
		len += (size_t)snprintf(body + len, 16, "%s{\"data\":%d}",
		    i > 1 ? "," : "", i);
	body[len++] = ']';
	body[len] = '\0';
	r = post_ok(hd, "live", body);
	free(body);
	EXPECT(r != NULL && jstr(r, "epoch") != NULL, "publish 300");
	snprintf(epoch, sizeof epoch, "%s", r != NULL && jstr(r, "epoch") !=
	    NULL ? jstr(r, "epoch") : "");
	json_decref(r);
	for (i = 1; i <= 300; i++) {
		j = hd_ws_expect_op(w, "message", WS_TIMEOUT);
		snprintf(want, sizeof want, "%s-%lld", epoch, serial + 3 + i);
		EXPECT(j != NULL && jint(j, "serial") == serial + 3 + i &&
		    jstr(j, "id") != NULL && strcmp(jstr(j, "id"), want) == 0 &&
		    json_integer_value(json_object_get(j, "data")) == i,
		    "message %d of 300: want id %s", i, want);
		json_decref(j);
	}

	j = get_ok(hd, "/v1/channels/live");
	EXPECT(jint(j, "subscribers") == 1, "subscribers %lld",
	    jint(j, "subscribers"));
	json_decref(j);
	wsc_close(w);
	for (i = 0; i < 100; i++) {
		j = get_ok(hd, "/v1/channels/live");
		subs = jint(j, "subscribers");
		json_decref(j);
		if (subs == 0)
			break;
		hd_sleep(20);
	}
	EXPECT(subs == 0, "subscribers %lld after the close", subs);
}

/* A JSON value nesting depth arrays around 1 (caller frees). */
static char *
nest(size_t depth)
{
	char	*s;

	if ((s = malloc(2 * depth + 2)) == NULL)
		abort();
	memset(s, '[', depth);
	s[depth] = '1';
	memset(s + depth + 1, ']', depth);
	s[2 * depth + 1] = '\0';
	return (s);
}

/* A number of n digits d, after prefix (caller frees). */
static char *
digits(const char *prefix, size_t n, char d)
{
	char	*s;

	if ((s = malloc(strlen(prefix) + n + 1)) == NULL)
		abort();
	strcpy(s, prefix);
	memset(s + strlen(prefix), d, n);
	s[strlen(prefix) + n] = '\0';
	return (s);
}

/* The code of the next WebSocket message if it is an error, else -1. */
static long long
ws_error_code(struct wsc *w)
{
	json_t		*j;
	long long	 code;

	if ((j = hd_ws_expect_op(w, "error", WS_TIMEOUT)) == NULL)
		return (-1);
	code = jint(j, "code");
	json_decref(j);
	return (code);
}

/*
 * Publish members (JSON text without braces) on chan over WebSocket w and
 * return the code of the answer: 0 for "published" (*serial set), the
 * error's code, or -1 when neither came.
 */
static long long
lang_ws(struct wsc *w, const char *chan, const char *members, int ref,
    long long *serial)
{
	json_t		*j;
	long long	 code = -1;

	if (hd_ws_send_json(w, "{\"op\":\"publish\",\"channel\":\"%s\","
	    "\"ref\":%d,%s}", chan, ref, members) != 0)
		return (-1);
	if ((j = hd_ws_recv_json(w, WS_TIMEOUT)) == NULL)
		return (-1);
	if (jstr(j, "op") != NULL && strcmp(jstr(j, "op"), "published") == 0 &&
	    jint(j, "ref") == ref) {
		*serial = jint(j, "serial");
		code = 0;
	} else if (jstr(j, "op") != NULL && strcmp(jstr(j, "op"),
	    "error") == 0 && (json_object_get(j, "ref") == NULL ||
	    jint(j, "ref") == ref))
		code = jint(j, "code");
	else
		jshow("unexpected answer", j);
	json_decref(j);
	return (code);
}

/*
 * POST body to chan (as in the path) and return 0 for a 201 (*serial
 * set to the last item's), the error code of a 400, or -1.
 */
static long long
lang_rest(const char *chan, const char *body, long long *serial)
{
	json_t		*j, *items;
	char		*path;
	long long	 code = -1;
	int		 status;

	path = cu_fmt("/v1/channels/%s/messages", chan);
	j = req_json(hd, "POST", path, NULL, body, &status);
	items = json_object_get(j, "items");
	if (status == 201 && json_array_size(items) > 0) {
		*serial = jint(json_array_get(items, json_array_size(items) -
		    1), "serial");
		code = 0;
	} else if (status == 400)
		code = jerr(j);
	else
		jshow("unexpected answer", j);
	json_decref(j);
	free(path);
	return (code);
}

/*
 * The JSON of a publish is one language over WebSocket and REST alike
 * (DESIGN guarantee 6): each case, the hardest still accepted and the
 * first refused, gets the same answer as a WebSocket publish, a REST POST
 * of the object and one of an array holding it; the WebSocket stays
 * usable after each refusal; and every message stored reads back, with
 * jansson, from history and from a WebSocket subscription, the same over
 * each way in.
 */
static void
test_json_language(void)
{
	struct lang_case {
		char		*members;
		long long	 code;
	} cases[64];
	struct wsc	*w = NULL;
	json_t		*j, *items, *m, *a;
	char		*n62, *n63, *n64, *n3000, *d5000, *f5000, *body, *path;
	long long	 code, serial, want;
	size_t		 nc = 0, i, k, stored = 0, accepted = 0;

#define CASE(c, ...) do {						\
	cases[nc].members = cu_fmt(__VA_ARGS__);			\
	cases[nc++].code = (c);						\
} while (0)
	n62 = nest(62);
	n63 = nest(63);
	n64 = nest(64);
	n3000 = nest(3000);
	d5000 = digits("", 5000, '7');
	f5000 = digits("-0.", 5000, '7');
	/* The message object is the first of 64 levels. */
	CASE(0, "\"data\":%s", n63);
	CASE(0, "\"data\":{\"a\":%s}", n62);
	CASE(40000, "\"data\":%s", n64);
	CASE(40000, "\"data\":%s", n3000);
	CASE(40000, "\"data\":1,\"x\":%s", n64);
	CASE(0, "\"data\":[1e308,-1e308,1.7976931348623157e308,1e-400]");
	CASE(40000, "\"data\":1e400");
	CASE(40000, "\"data\":-1e400");
	CASE(40000, "\"data\":[1.7976931348623159e308]");
	CASE(40000, "\"data\":%s", d5000);
	CASE(0, "\"data\":%s", f5000);
	CASE(0, "\"data\":[9223372036854775807,-9223372036854775808]");
	CASE(40000, "\"data\":9223372036854775808");
	CASE(40000, "\"data\":{\"k\":[-9223372036854775809]}");
	CASE(0, "\"data\":\"\\ud83d\\ude00\",\"name\":\"\\uDBFF\\uDFFF\"");
	CASE(40000, "\"data\":\"\\ud800\"");
	CASE(40000, "\"data\":\"\\udc00\"");
	CASE(40000, "\"data\":\"\\ud800\\u0041\"");
	CASE(40000, "\"data\":[{\"\\ud800\":1}]");
	CASE(40000, "\"data\":1,\"id\":\"\\ud800\"");
	CASE(40000, "\"data\":1,\"name\":\"x\\udfff\"");
	/* \u0000: in data strings yes, in keys, ids and names no. */
	CASE(0, "\"data\":[\"a\\u0000b\",{\"k\":\"\\u0000\"}]");
	CASE(40000, "\"data\":{\"a\\u0000\":1}");
	CASE(40000, "\"data\":1,\"id\":\"\\u0000\"");
	CASE(40000, "\"data\":1,\"id\":\"a\\u0000b\"");
	CASE(40000, "\"data\":1,\"name\":\"ev\\u0000\"");
	/* Not JSON: \f is no white space, nothing may follow the value. */
	CASE(40000, "\"data\":\f1");
	free(n62);
	free(n63);
	free(n64);
	free(n3000);
	free(d5000);
	free(f5000);

	if ((w = hd_ws(hd)) == NULL) {
		CU_FAIL("no WebSocket");
		goto out;
	}
	for (i = 0; i < nc; i++) {
		code = lang_ws(w, "lang", cases[i].members, (int)i, &serial);
		EXPECT(code == cases[i].code, "case %zu over WebSocket: want "
		    "%lld, got %lld: {%.100s}", i, cases[i].code, code,
		    cases[i].members);
		stored += code == 0;

		body = cu_fmt("{%s}", cases[i].members);
		code = lang_rest("lang", body, &serial);
		EXPECT(code == cases[i].code, "case %zu over REST: want %lld, "
		    "got %lld: %.100s", i, cases[i].code, code, body);
		stored += code == 0;
		free(body);

		body = cu_fmt("[{\"data\":0},{%s}]", cases[i].members);
		code = lang_rest("lang", body, &serial);
		EXPECT(code == cases[i].code, "case %zu in a REST array: "
		    "want %lld, got %lld", i, cases[i].code, code);
		stored += code == 0 ? 2 : 0;
		free(body);
		accepted += cases[i].code == 0;
	}
	/* Nothing follows a value, over WebSocket (REST has its framing). */
	EXPECT(hd_ws_send_json(w, "{\"op\":\"ping\",\"ref\":1}\"x") == 0 &&
	    ws_error_code(w) == 40000, "trailing garbage");
	EXPECT(hd_ws_send_json(w, "{\"op\":\"ping\",\"ref\":2}") == 0 &&
	    (j = hd_ws_expect_op(w, "pong", WS_TIMEOUT)) != NULL,
	    "the connection is still usable");
	json_decref(j);
	EXPECT(stored == 4 * accepted, "%zu stored for %zu accepted", stored,
	    accepted);

	/* Every one reads back from history, WebSocket and REST alike. */
	path = cu_fmt("/v1/channels/lang/messages?direction=forward&limit=%zu",
	    stored);
	j = get_ok(hd, path);
	free(path);
	items = json_object_get(j, "items");
	EXPECT(json_array_size(items) == stored, "history has %zu of %zu",
	    json_array_size(items), stored);
	for (i = 0, k = 0; i < nc && json_array_size(items) == stored; i++) {
		if (cases[i].code != 0)
			continue;
		a = json_object_get(json_array_get(items, k), "data");
		EXPECT(json_equal(a, json_object_get(json_array_get(items,
		    k + 1), "data")) && json_equal(a, json_object_get(
		    json_array_get(items, k + 3), "data")), "case %zu: the "
		    "same data over WebSocket and REST", i);
		k += 4;
	}
	json_decref(j);
	EXPECT(hd_ws_send_json(w, "{\"op\":\"subscribe\",\"channel\":\"lang\","
	    "\"rewind\":%zu}", stored) == 0 &&
	    (j = hd_ws_expect_op(w, "subscribed", WS_TIMEOUT)) != NULL,
	    "subscribed");
	json_decref(j);
	for (want = 1; want <= (long long)stored; want++) {
		m = hd_ws_expect_op(w, "message", WS_TIMEOUT);
		EXPECT(m != NULL && jint(m, "serial") == want, "message %lld "
		    "read back over WebSocket", want);
		json_decref(m);
		if (m == NULL)
			break;
	}
out:
	for (i = 0; i < nc; i++)
		free(cases[i].members);
	wsc_close(w);
#undef CASE
}

/*
 * Lone surrogates: a channel name with one is a bad name (40002), over
 * WebSocket as JSON and over REST as a percent-encoded UTF-8 surrogate;
 * an id with one is refused instead of stored as "?", so that "?" is no
 * duplicate; a pair is one character, the same channel both ways.
 */
static void
test_lone_surrogates(void)
{
	struct wsc	*w;
	json_t		*j;
	long long	 serial = -1, s2 = -1;

	if ((w = hd_ws(hd)) == NULL) {
		CU_FAIL("no WebSocket");
		return;
	}
	EXPECT(lang_ws(w, "sur\\ud800", "\"data\":1", 1, &serial) == 40002,
	    "WebSocket channel with a lone surrogate");
	EXPECT(lang_ws(w, "sur\\udfff", "\"data\":1", 2, &serial) == 40002,
	    "WebSocket channel with a lone low surrogate");
	EXPECT(hd_ws_send_json(w, "{\"op\":\"subscribe\",\"channel\":"
	    "\"sur\\ud800\"}") == 0 && ws_error_code(w) == 40002,
	    "subscribe to a channel with a lone surrogate");
	EXPECT(lang_rest("sur%ED%A0%80", "{\"data\":1}", &serial) == 40002,
	    "REST channel with a UTF-8 surrogate");
	EXPECT(lang_rest("sur%ED%BF%BF", "{\"data\":1}", &serial) == 40002,
	    "REST channel with a UTF-8 low surrogate");
	j = get_ok(hd, "/v1/channels?prefix=sur");
	EXPECT(json_array_size(json_object_get(j, "items")) == 0,
	    "no channel was made");
	json_decref(j);

	EXPECT(lang_ws(w, "alias-ws", "\"data\":1,\"id\":\"\\ud800\"", 3,
	    &serial) == 40000, "WebSocket id with a lone surrogate");
	EXPECT(lang_ws(w, "alias-ws", "\"data\":2,\"id\":\"?\"", 4,
	    &serial) == 0 && serial == 1, "WebSocket id ? is new: serial "
	    "%lld", serial);
	EXPECT(lang_rest("alias-rest", "{\"data\":1,\"id\":\"\\ud800\"}",
	    &serial) == 40000, "REST id with a lone surrogate");
	EXPECT(lang_rest("alias-rest", "{\"data\":2,\"id\":\"?\"}",
	    &serial) == 0 && serial == 1, "REST id ? is new: serial %lld",
	    serial);

	EXPECT(lang_ws(w, "pair-\\ud83d\\ude00", "\"data\":1", 5,
	    &serial) == 0 && serial == 1, "WebSocket channel with a pair");
	EXPECT(lang_rest("pair-%F0%9F%98%80", "{\"data\":2}", &s2) == 0 &&
	    s2 == 2, "REST: the same channel, serial %lld", s2);
	/* An id with a pair: one id both ways, so a duplicate. */
	EXPECT(lang_ws(w, "pair-id", "\"data\":1,\"id\":\"\\ud83d\\ude00\"",
	    6, &serial) == 0 && serial == 1, "WebSocket id with a pair");
	EXPECT(lang_rest("pair-id", "{\"data\":2,\"id\":\"\xf0\x9f\x98\x80\"}",
	    &s2) == 0 && s2 == 1, "REST: the same id, serial %lld", s2);
	wsc_close(w);
}

/* Check one Prometheus sample line; 0 or -1 (explained). */
static int
prom_sample(const char *line, char *family, size_t fsize)
{
	const char	*p = line, *q;
	char		*end;
	size_t		 n;

	if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
	    *p == '_' || *p == ':'))
		return (-1);
	for (q = p; (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
	    (*q >= '0' && *q <= '9') || *q == '_' || *q == ':'; q++)
		;
	n = (size_t)(q - p);
	if (n >= fsize)
		return (-1);
	memcpy(family, p, n);
	family[n] = '\0';
	p = q;
	if (*p == '{') {
		p++;
		while (*p != '}') {
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' &&
			    *p <= 'Z') || *p == '_'))
				return (-1);
			while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' &&
			    *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			    *p == '_')
				p++;
			if (*p++ != '=' || *p++ != '"')
				return (-1);
			while (*p != '"') {
				if (*p == '\0' || *p == '\n')
					return (-1);
				if (*p == '\\') {
					p++;
					if (*p != '\\' && *p != '"' &&
					    *p != 'n')
						return (-1);
				}
				p++;
			}
			p++;
			if (*p == ',')
				p++;
			else if (*p != '}')
				return (-1);
		}
		p++;
	}
	if (*p++ != ' ')
		return (-1);
	if (strcmp(p, "+Inf") == 0 || strcmp(p, "-Inf") == 0 ||
	    strcmp(p, "NaN") == 0)
		return (0);
	errno = 0;
	(void)strtod(p, &end);
	if (end == p || errno != 0)
		return (-1);
	if (*end == ' ') {	/* an optional timestamp */
		p = end + 1;
		(void)strtoll(p, &end, 10);
		if (end == p)
			return (-1);
	}
	return (*end == '\0' ? 0 : -1);
}

/*
 * Check a whole Prometheus text exposition: HELP and TYPE lines well
 * formed, each sample of a family whose TYPE came before it (histogram
 * samples by their _bucket/_sum/_count), histogram buckets cumulative
 * with +Inf equal to _count. Return the number of samples or -1.
 */
static int
prom_check(const char *text)
{
	char		 types[64][128], kinds[64][16], fam[128], *copy, *line;
	char		*save, *sp;
	size_t		 ntypes = 0, i, flen;
	double		 last_bucket = -1, v;
	int		 samples = 0, ok = 1;

	copy = strdup(text);
	for (line = strtok_r(copy, "\n", &save); ok && line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "# HELP ", 7) == 0) {
			sp = line + 7;
			ok = strchr(sp, ' ') != NULL && sp[0] != ' ';
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			sp = strchr(line + 7, ' ');
			if (sp == NULL || ntypes == 64 ||
			    (size_t)(sp - line - 7) >= sizeof types[0]) {
				ok = 0;
				break;
			}
			if (strcmp(sp + 1, "counter") != 0 &&
			    strcmp(sp + 1, "gauge") != 0 &&
			    strcmp(sp + 1, "histogram") != 0 &&
			    strcmp(sp + 1, "summary") != 0 &&
			    strcmp(sp + 1, "untyped") != 0) {
				ok = 0;
				break;
			}
			snprintf(types[ntypes], sizeof types[0], "%.*s",
			    (int)(sp - line - 7), line + 7);
			snprintf(kinds[ntypes++], sizeof kinds[0], "%s",
			    sp + 1);
			continue;
		}
		if (line[0] == '#')
			continue;
		if (prom_sample(line, fam, sizeof fam) != 0) {
			ok = 0;
			break;
		}
		samples++;
		for (i = 0; i < ntypes; i++) {
			flen = strlen(types[i]);
			if (strcmp(fam, types[i]) == 0)
				break;
			if (strncmp(fam, types[i], flen) == 0 &&
			    strcmp(kinds[i], "histogram") == 0 &&
			    (strcmp(fam + flen, "_bucket") == 0 ||
			    strcmp(fam + flen, "_sum") == 0 ||
			    strcmp(fam + flen, "_count") == 0))
				break;
		}
		if (i == ntypes) {
			fprintf(stderr, "    no TYPE before %s\n", line);
			ok = 0;
			break;
		}
		v = strtod(strrchr(line, ' ') + 1, NULL);
		flen = strlen(fam);
		if (flen > 7 && strcmp(fam + flen - 7, "_bucket") == 0) {
			if (strstr(line, "le=\"") == NULL || v < last_bucket) {
				fprintf(stderr, "    bucket goes down or has "
				    "no le\n");
				ok = 0;
				break;
			}
			last_bucket = strstr(line, "le=\"+Inf\"") != NULL ?
			    -2 - v : v;
		} else if (flen > 6 && strcmp(fam + flen - 6, "_count") == 0 &&
		    last_bucket <= -2) {
			if (-2 - last_bucket != v) {
				fprintf(stderr, "    +Inf bucket %g, count "
				    "%g\n", -2 - last_bucket, v);
				ok = 0;
				break;
			}
			last_bucket = -1;
		} else if (last_bucket >= 0) {
			fprintf(stderr, "    no +Inf bucket before %s\n",
			    line);
			ok = 0;
			break;
		}
	}
	if (!ok)
		fprintf(stderr, "    bad Prometheus line: %s\n", line);
	free(copy);
	return (ok ? samples : -1);
}

/* The value of the sample whose name and labels are exactly key, or -1. */
static double
prom_value(const char *text, const char *key)
{
	const char	*p = text;
	size_t		 len = strlen(key);

	while ((p = strstr(p, key)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[len] == ' ')
			return (strtod(p + len + 1, NULL));
		p += len;
	}
	return (-1);
}

/* GET /metrics; the body (caller frees) or NULL. */
static char *
get_metrics(void)
{
	struct hd_resp	 r;
	const char	*ct;
	char		*s = NULL;

	if (hd_http(hd, "GET", "/metrics", NULL, NULL, 0, &r) != 0)
		return (NULL);
	ct = hd_resp_header(&r, "Content-Type");
	EXPECT(r.status == 200 && ct != NULL && strncmp(ct, "text/plain",
	    10) == 0, "metrics: %d %s", r.status, ct);
	if (r.status == 200)
		s = strdup(r.body);
	hd_resp_free(&r);
	return (s);
}

/*
 * /metrics parses as Prometheus text, holds the documented families,
 * and its publish, commit, delivery and error counters move.
 */
static void
test_metrics(void)
{
	static const char *const	 names[] = {
		"logwire_publishes_total", "logwire_committed_messages_total",
		"logwire_deliveries_total", "logwire_connections",
		"logwire_commit_seconds_bucket{le=\"+Inf\"}",
		"logwire_commit_seconds_sum", "logwire_commit_seconds_count",
		"logwire_errors_total{code=\"40400\"}",
		"logwire_errors_total{code=\"40000\"}",
	};
	struct wsc			*w;
	json_t				*j;
	char				*m0, *m1;
	double				 v0[nitems(names)], v1[nitems(names)];
	size_t				 i;
	int				 status, n;

	m0 = get_metrics();
	EXPECT(m0 != NULL, "no metrics");
	if (m0 == NULL)
		return;
	n = prom_check(m0);
	EXPECT(n > 10, "metrics do not parse (%d samples)", n);
	for (i = 0; i < nitems(names); i++) {
		v0[i] = prom_value(m0, names[i]);
		EXPECT(v0[i] >= 0, "no %s", names[i]);
	}
	EXPECT(strstr(m0, "# TYPE logwire_commit_seconds histogram\n") !=
	    NULL && strstr(m0, "# TYPE logwire_publishes_total counter\n") !=
	    NULL && strstr(m0, "# TYPE logwire_connections gauge\n") != NULL,
	    "TYPE lines");

	/* A subscriber, five publishes delivered to it, one 404, one 400. */
	w = hd_ws(hd);
	EXPECT(w != NULL, "no WebSocket");
	if (w != NULL) {
		EXPECT(hd_ws_send_json(w, "{\"op\":\"subscribe\",\"channel\":"
		    "\"metered\"}") == 0, "send");
		json_decref(j = hd_ws_expect_op(w, "subscribed", WS_TIMEOUT));
		EXPECT(j != NULL, "not subscribed");
	}
	EXPECT(publish_range(hd, "metered", 1, 5) == 0, "publish");
	for (i = 0; w != NULL && i < 5; i++) {
		json_decref(j = hd_ws_expect_op(w, "message", WS_TIMEOUT));
		EXPECT(j != NULL, "message %zu not delivered", i);
	}
	json_decref(req_json(hd, "GET", "/v1/channels/nosuch-metrics", NULL,
	    NULL, &status));
	json_decref(req_json(hd, "GET", "/v1/channels?limit=0", NULL, NULL,
	    &status));
	m1 = get_metrics();
	EXPECT(m1 != NULL && prom_check(m1) > 10, "metrics do not parse");
	for (i = 0; m1 != NULL && i < nitems(names); i++)
		v1[i] = prom_value(m1, names[i]);
	if (m1 != NULL) {
		EXPECT(v1[0] >= v0[0] + 5, "publishes %g -> %g", v0[0], v1[0]);
		EXPECT(v1[1] >= v0[1] + 5, "committed %g -> %g", v0[1], v1[1]);
		EXPECT(v1[2] >= v0[2] + 5, "deliveries %g -> %g", v0[2],
		    v1[2]);
		EXPECT(v1[3] >= 1, "connections %g", v1[3]);
		EXPECT(v1[4] > v0[4] && v1[6] == v1[4] && v1[5] >= v0[5],
		    "commit histogram: count %g -> %g, +Inf %g", v0[6], v1[6],
		    v1[4]);
		EXPECT(v1[7] >= v0[7] + 1, "40400 errors %g -> %g", v0[7],
		    v1[7]);
		EXPECT(v1[8] >= v0[8] + 1, "40000 errors %g -> %g", v0[8],
		    v1[8]);
	}
	wsc_close(w);
	free(m0);
	free(m1);
}

/* /healthz. */
static void
test_healthz(void)
{
	json_t	*j;

	j = get_ok(hd, "/healthz");
	EXPECT(j != NULL && jstr(j, "status") != NULL &&
	    strcmp(jstr(j, "status"), "ok") == 0 && jstr(j, "storage") !=
	    NULL && strcmp(jstr(j, "storage"), "ok") == 0 && jstr(j,
	    "version") != NULL && jint(j, "uptime_s") >= 0, "healthz");
	if (jstr(j, "status") == NULL)
		jshow("healthz", j);
	json_decref(j);
}

/*
 * Channel listing: 25 channels under a prefix (two with characters that
 * need encoding in a cursor, each the last of a page) among others, read
 * in pages of 10 by following next: 10, 10, 5, each exactly once in
 * byte order, then null.
 */
static void
test_channels_list(void)
{
	const char	*names[25];
	char		 buf[25][32], *got[32], *next, *cur, *enc;
	json_t		*page, *it, *j;
	size_t		 i, ngot = 0, pages = 0, sizes[8];
	int		 status;

	for (i = 0; i < 23; i++) {
		snprintf(buf[i], sizeof buf[i], "lst-%02zu", i);
		names[i] = buf[i];
	}
	names[23] = "lst-08/x y&z=1";	/* the 10th */
	names[24] = "lst-17+\xc3\xa9";	/* the 20th */
	for (i = 0; i < 25; i++) {
		enc = pct_encode(names[i]);
		j = post_ok(hd, enc, "{\"data\":1}");
		EXPECT(j != NULL, "create %s", names[i]);
		json_decref(j);
		free(enc);
	}
	j = post_ok(hd, "lsu", "{\"data\":1}");
	json_decref(j);
	j = post_ok(hd, "ls", "{\"data\":1}");
	json_decref(j);

	cur = strdup("/v1/channels?prefix=lst-&limit=10");
	while (cur != NULL && pages < 8) {
		page = get_page(hd, cur, &next);
		EXPECT(page != NULL, "page %s", cur);
		if (page == NULL)
			break;
		sizes[pages++] = json_array_size(json_object_get(page,
		    "items"));
		json_array_foreach(json_object_get(page, "items"), i, it) {
			if (ngot == 32)
				break;
			got[ngot++] = strdup(jstr(it, "name") != NULL ?
			    jstr(it, "name") : "(none)");
			EXPECT(jstr(it, "epoch") != NULL && jint(it,
			    "first") == 1 && jint(it, "head") == 1 &&
			    jint(it, "count") == 1 && jint(it, "bytes") > 0 &&
			    jint(it, "created") > 0 && jint(it,
			    "last_time") > 0 && jint(it, "subscribers") == 0,
			    "channel object in a list");
		}
		json_decref(page);
		free(cur);
		cur = next;
	}
	free(cur);
	EXPECT(pages == 3 && sizes[0] == 10 && sizes[1] == 10 &&
	    sizes[2] == 5, "%zu pages", pages);
	EXPECT(ngot == 25, "%zu channels listed", ngot);
	qsort(names, 25, sizeof names[0], cmp_str);
	for (i = 0; i < ngot && i < 25; i++)
		EXPECT(strcmp(got[i], names[i]) == 0, "item %zu is %s, "
		    "wanted %s", i, got[i], names[i]);
	EXPECT(ngot < 10 || strcmp(got[9], "lst-08/x y&z=1") == 0,
	    "10th is %s", ngot >= 10 ? got[9] : "");
	for (i = 0; i < ngot; i++)
		free(got[i]);

	/* A cursor by hand; the whole list; limits. */
	j = get_ok(hd, "/v1/channels?prefix=lst-&cursor=lst-20");
	EXPECT(json_array_size(json_object_get(j, "items")) == 2 &&
	    json_is_null(json_object_get(j, "next")) && strcmp(jstr(
	    json_array_get(json_object_get(j, "items"), 0), "name"),
	    "lst-21") == 0, "after lst-20");
	json_decref(j);
	j = get_ok(hd, "/v1/channels?prefix=ls");
	EXPECT(json_array_size(json_object_get(j, "items")) == 27,
	    "prefix ls: %zu", json_array_size(json_object_get(j, "items")));
	json_decref(j);
	j = get_ok(hd, "/v1/channels?prefix=nothing-here");
	EXPECT(j != NULL && json_array_size(json_object_get(j, "items")) ==
	    0 && json_is_null(json_object_get(j, "next")), "empty prefix");
	json_decref(j);
	j = get_ok(hd, "/v1/channels");
	EXPECT(json_array_size(json_object_get(j, "items")) >= 27 &&
	    json_array_size(json_object_get(j, "items")) <= 100,
	    "all: %zu", json_array_size(json_object_get(j, "items")));
	json_decref(j);
	j = req_json(hd, "GET", "/v1/channels?limit=1000", NULL, NULL,
	    &status);
	EXPECT(status == 200, "limit=1000: %d", status);
	json_decref(j);
}

/* Run curl with args after "-sS"; its status, and stdout in *out. */
static int
curl(const char *const *args, char **out)
{
	const char	*argv[32];
	char		*err = NULL;
	size_t		 n = 0;
	int		 st;

	argv[n++] = "/usr/bin/curl";
	argv[n++] = "-sS";
	argv[n++] = "--max-time";
	argv[n++] = "20";
	while (*args != NULL && n < nitems(argv) - 1)
		argv[n++] = *args++;
	argv[n] = NULL;
	st = hd_run(argv, NULL, 30000, out, &err);
	if (st != 0)
		fprintf(stderr, "    curl exited %d: %s\n", st, err);
	free(err);
	return (st);
}

/*
 * Debian's curl as the client, end to end: publish an array with POST,
 * read the history back (body and headers, following the Link header),
 * fetch one message, and the export with --compressed (curl asks for
 * zstd and decodes it itself).
 */
static void
test_curl(void)
{
	const char	*args[16];
	json_t		*j, *it;
	char		*out = NULL, *url, *url2, *p, *q, *link = NULL;
	size_t		 nlines;
	int		 st;

	if (access("/usr/bin/curl", X_OK) != 0) {
		CU_FAIL("/usr/bin/curl is missing (Debian package curl)");
		return;
	}
	url = cu_fmt("%s/v1/channels/curl%%2Fc/messages", hd_url(hd));
	args[0] = "-X";
	args[1] = "POST";
	args[2] = "-H";
	args[3] = "Content-Type: application/json";
	args[4] = "--data-binary";
	args[5] = "[{\"data\":{\"from\":\"curl\"},\"id\":\"curl-1\","
	    "\"name\":\"c\"},{\"data\":\"two\"},{\"data\":[3]}]";
	args[6] = "-w";
	args[7] = "\\n%{http_code}\\n";
	args[8] = url;
	args[9] = NULL;
	st = curl(args, &out);
	EXPECT(st == 0, "curl POST");
	q = out != NULL ? strstr(out, "}\n\n201\n") : NULL;
	EXPECT(q != NULL, "curl POST output: %s", out);
	j = out != NULL ? json_loads(out, JSON_DISABLE_EOF_CHECK, NULL) : NULL;
	EXPECT(j != NULL && strcmp(jstr(j, "channel"), "curl/c") == 0 &&
	    json_array_size(json_object_get(j, "items")) == 3 &&
	    jint(json_array_get(json_object_get(j, "items"), 2),
	    "serial") == 3, "curl POST reply: %s", out);
	json_decref(j);
	free(out);

	/* History, forward, two per page: headers and body. */
	url2 = cu_fmt("%s?direction=forward&limit=2", url);
	args[0] = "-i";
	args[1] = url2;
	args[2] = NULL;
	st = curl(args, &out);
	EXPECT(st == 0 && out != NULL && strncmp(out, "HTTP/1.1 200", 12) ==
	    0, "curl GET: %s", out);
	if (out != NULL && (p = strcasestr(out, "\nLink: <")) != NULL) {
		p += 8;
		if ((q = strchr(p, '>')) != NULL)
			link = strndup(p, (size_t)(q - p));
	}
	EXPECT(link != NULL && strstr(link, "from=3") != NULL, "Link %s",
	    link);
	p = out != NULL ? strstr(out, "\r\n\r\n") : NULL;
	j = p != NULL ? json_loads(p + 4, 0, NULL) : NULL;
	it = json_object_get(j, "items");
	EXPECT(json_array_size(it) == 2 && jint(json_array_get(it, 0),
	    "serial") == 1 && strcmp(jstr(json_object_get(json_array_get(it,
	    0), "data"), "from"), "curl") == 0 && strcmp(jstr(
	    json_array_get(it, 0), "id"), "curl-1") == 0 && strcmp(jstr(
	    json_array_get(it, 0), "name"), "c") == 0 &&
	    strcmp(jstr(json_array_get(it, 1), "data"), "two") == 0,
	    "curl history page 1: %s", out);
	EXPECT(json_is_string(json_object_get(j, "next")) && link != NULL &&
	    strcmp(json_string_value(json_object_get(j, "next")), link) == 0,
	    "next and Link differ");
	json_decref(j);
	free(out);
	free(url2);
	if (link != NULL) {
		url2 = cu_fmt("%s%s", hd_url(hd), link);
		args[0] = url2;
		args[1] = NULL;
		st = curl(args, &out);
		j = out != NULL ? json_loads(out, 0, NULL) : NULL;
		it = json_object_get(j, "items");
		EXPECT(st == 0 && json_array_size(it) == 1 &&
		    jint(json_array_get(it, 0), "serial") == 3 &&
		    json_is_null(json_object_get(j, "next")),
		    "curl history page 2: %s", out);
		json_decref(j);
		free(out);
		free(url2);
	}
	free(link);

	/* One message. */
	url2 = cu_fmt("%s/2", url);
	args[0] = url2;
	args[1] = NULL;
	st = curl(args, &out);
	j = out != NULL ? json_loads(out, 0, NULL) : NULL;
	EXPECT(st == 0 && jint(j, "serial") == 2 && jstr(j, "data") != NULL &&
	    strcmp(jstr(j, "data"), "two") == 0, "curl GET one: %s", out);
	json_decref(j);
	free(out);
	free(url2);

	/* Export: curl --compressed negotiates zstd and decodes it. */
	url2 = cu_fmt("%s/v1/channels/curl%%2Fc/export", hd_url(hd));
	{
		const char	*argv[] = { "/usr/bin/curl", "-sS",
		    "--max-time", "20", "--compressed", "-D", "-", "-o",
		    "/dev/null", url2, NULL };
		char		*hdrs = NULL;

		st = hd_run(argv, NULL, 30000, &hdrs, NULL);
		EXPECT(st == 0 && hdrs != NULL && strcasestr(hdrs,
		    "Content-Encoding: zstd") != NULL,
		    "curl --compressed: no zstd: %s", hdrs);
		free(hdrs);
	}
	args[0] = "--compressed";
	args[1] = url2;
	args[2] = NULL;
	st = curl(args, &out);
	nlines = 0;
	for (p = out; st == 0 && p != NULL && *p != '\0'; p = q + 1) {
		if ((q = strchr(p, '\n')) == NULL)
			break;
		*q = '\0';
		j = json_loads(p, 0, NULL);
		EXPECT(j != NULL && (size_t)jint(j, "serial") == nlines + 1 &&
		    strcmp(jstr(j, "channel"), "curl/c") == 0,
		    "curl export line %zu: %s", nlines, p);
		json_decref(j);
		nlines++;
	}
	EXPECT(nlines == 3, "curl export: %zu lines", nlines);
	free(out);
	free(url2);
	free(url);
}

/*
 * GET /v1/snapshot gives a file that logwire verify accepts and logwire
 * restore turns into a store that a new daemon serves with the same
 * messages under a new epoch.
 */
static void
test_snapshot(void)
{
	struct hd_resp	 r;
	struct hd	*d2;
	json_t		*before_ch, *after, *m;
	char		*bin, *path, *dir, *out = NULL, *err = NULL;
	int		 fd, st;
	unsigned int	 before = CU_get_number_of_failures();

	memset(&r, 0, sizeof r);
	EXPECT(publish_range(hd, "snap", 1, 50) == 0, "publish");
	before_ch = get_ok(hd, "/v1/channels/snap");
	EXPECT(hd_http(hd, "GET", "/v1/snapshot", NULL, NULL, 0, &r) == 0,
	    "GET /v1/snapshot");
	EXPECT(r.status == 200 && r.bodylen > 0 &&
	    hd_resp_header(&r, "Content-Type") != NULL &&
	    strcmp(hd_resp_header(&r, "Content-Type"),
	    "application/octet-stream") == 0, "snapshot: %d, %zu bytes, %s",
	    r.status, r.bodylen, hd_resp_header(&r, "Content-Type"));
	path = cu_fmt("%s/rest.snapshot", hd_dir(hd));
	dir = cu_fmt("%s/restored", hd_dir(hd));
	bin = hd_bin("logwire");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	EXPECT(fd != -1 && r.bodylen > 0 && write(fd, r.body, r.bodylen) ==
	    (ssize_t)r.bodylen, "write %s", path);
	if (fd != -1)
		close(fd);
	hd_resp_free(&r);

	if (access(bin, X_OK) != 0) {
		fprintf(stderr, "    (no %s: snapshot not verified)\n", bin);
		goto out;
	}
	{
		const char	*argv[] = { bin, "verify", path, NULL };

		st = hd_run(argv, NULL, 60000, &out, &err);
		EXPECT(st == 0, "logwire verify: %d\n%s%s", st, out, err);
		free(out);
		free(err);
	}
	{
		const char	*argv[] = { bin, "restore", path, dir, NULL };

		st = hd_run(argv, NULL, 60000, &out, &err);
		EXPECT(st == 0, "logwire restore: %d\n%s%s", st, out, err);
		free(out);
		free(err);
	}
	if (CU_get_number_of_failures() != before)
		goto out;
	if ((d2 = hd_start_dir(dir, NULL)) == NULL) {
		CU_FAIL("cannot start logwired on the restored store");
		goto out;
	}
	after = get_ok(d2, "/v1/channels/snap");
	EXPECT(after != NULL && jint(after, "head") == 50 &&
	    jint(after, "count") == 50 && jstr(after, "epoch") != NULL &&
	    jstr(before_ch, "epoch") != NULL && strcmp(jstr(after, "epoch"),
	    jstr(before_ch, "epoch")) != 0, "restored channel");
	if (CU_get_number_of_failures() != before) {
		jshow("before", before_ch);
		jshow("after", after);
	}
	json_decref(after);
	m = get_ok(d2, "/v1/channels/snap/messages/37");
	EXPECT(jint(json_object_get(m, "data"), "i") == 37, "message 37");
	json_decref(m);
	if (CU_get_number_of_failures() != before)
		hd_keep(d2);
	hd_free(d2);
out:
	json_decref(before_ch);
	free(bin);
	free(path);
	free(dir);
}

int
main(void)
{
	static const char *const	 args[] = {
		"--cors-origin", CORS_OK, NULL
	};
	static const struct cu_test tests[] = {
		{ "healthz", test_healthz },
		{ "publish and read back", test_publish_read },
		{ "history pages while appending", test_history_pages },
		{ "time ranges", test_time_ranges },
		{ "HTTP publish to a WebSocket subscriber", test_rest_to_ws },
		{ "error statuses", test_errors },
		{ "one JSON language, WebSocket and REST",
		    test_json_language },
		{ "lone surrogates", test_lone_surrogates },
		{ "keep-alive and pipelining", test_pipelining },
		{ "HEAD", test_head },
		{ "CORS", test_cors },
		{ "metrics", test_metrics },
		{ "channel listing", test_channels_list },
		{ "curl end to end", test_curl },
		{ "snapshot", test_snapshot },
		{ "export of 100k messages", test_export_bulk },
	};

	if ((hd = hd_start(args)) == NULL) {
		fprintf(stderr, "test_rest: cannot start logwired\n");
		return (1);
	}
	return (hd_finish(hd, cu_run("rest", tests, nitems(tests))));
}
