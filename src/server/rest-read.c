/*
 * The REST reads, answered at once from the reader's snapshot of the
 * store: the channel list, one channel, a history page, one message,
 * /healthz and /metrics.  Each handler returns 0: its whole response is
 * queued when it returns.
 */

#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "rest-int.h"

#define REST_READ_LIMIT_DEFAULT	100	/* items in a page */
#define REST_READ_LIMIT_MAX	1000

/*
 * A page of a list: {"items":[...],"next":...}.  The store is asked for
 * one item more than the page holds, so that a next page is linked only
 * when there is one.
 */
struct rest_read_page {
	struct evbuffer	*b;
	size_t		 n, limit;
	int		 more;		/* an item beyond the page exists */
};

struct rest_read_list_arg {
	struct rest_read_page	 pg;
	char			 last[STORE_NAME_MAX + 1];
	size_t			 last_len;
};

struct rest_read_hist_arg {
	struct rest_read_page	 pg;
	const char		*name;
	size_t			 name_len;
	uint64_t		 last;
};

struct rest_read_one_arg {
	struct evbuffer	*b;
	const char	*name;
	size_t		 name_len;
};

/*
 * Get the page size from the limit parameter (default 100).  Returns 0,
 * or -1 after sending a 400.
 */
static int
rest_read_limit(struct rest_req *r, uint64_t *limit)
{
	*limit = REST_READ_LIMIT_DEFAULT;
	if (rest_uint_param(r, "limit", limit) < 0)
		return (-1);
	if (*limit == 0 || *limit > REST_READ_LIMIT_MAX) {
		rest_error(r, ERR_BAD_REQUEST, "limit must be 1 to %d",
		    REST_READ_LIMIT_MAX);
		return (-1);
	}
	return (0);
}

/* Append a channel object. */
static void
rest_read_channel_obj(struct evbuffer *b, const struct store_chan *sc)
{
	struct channel	*ch;

	ch = channel_find(sc->name, sc->name_len);
	evbuffer_add_lit(b, "{\"name\":");
	jstr_escape(b, sc->name, sc->name_len);
	evbuffer_add_printf(b, ",\"epoch\":\"%s\",\"first\":%llu,"
	    "\"head\":%llu,\"count\":%llu,\"bytes\":%llu,\"created\":%llu,"
	    "\"last_time\":%llu,\"subscribers\":%zu}", sc->epoch,
	    (unsigned long long)sc->first, (unsigned long long)sc->head,
	    (unsigned long long)sc->count, (unsigned long long)sc->bytes,
	    (unsigned long long)sc->created, (unsigned long long)sc->last_time,
	    ch != NULL ? ch->nsubs : 0);
}

/* Start a page of at most limit items. */
static void
rest_read_page_start(struct rest_read_page *pg, uint64_t limit)
{
	memset(pg, 0, sizeof *pg);
	pg->b = evbuffer_new();
	pg->limit = (size_t)limit;
	evbuffer_add_lit(pg->b, "{\"items\":[");
}

/*
 * Make room for one more item.  Returns 0, or 1 when the page is full:
 * the item is left for the next page, and the store stops reading.
 */
static int
rest_read_page_add(struct rest_read_page *pg)
{
	if (pg->n == pg->limit) {
		pg->more = 1;
		return (1);
	}
	if (pg->n++ > 0)
		evbuffer_add_lit(pg->b, ",");
	return (0);
}

/*
 * End a page with "next" (the link, or null) and send it, with a Link
 * header when there is a next page.  Frees the page and link.
 */
static void
rest_read_page_end(struct rest_req *r, struct rest_read_page *pg,
    struct evbuffer *link)
{
	char	*hdr = NULL;

	evbuffer_add_lit(pg->b, "],\"next\":");
	if (link != NULL) {
		evbuffer_add_lit(link, "\0");
		jstr_escape(pg->b, (const char *)evbuffer_pullup(link, -1),
		    evbuffer_get_length(link) - 1);
		xasprintf(&hdr, "Link: <%s>; rel=\"next\"\r\n",
		    (const char *)evbuffer_pullup(link, -1));
		evbuffer_free(link);
	} else
		evbuffer_add_lit(pg->b, "null");
	evbuffer_add_lit(pg->b, "}\n");
	rest_json(r, 200, pg->b, hdr);
	free(hdr);
	evbuffer_free(pg->b);
}

/* Add one channel to a list page. */
static int
rest_read_list_cb(const struct store_chan *sc, void *arg)
{
	struct rest_read_list_arg	*la = arg;

	if (rest_read_page_add(&la->pg))
		return (1);
	rest_read_channel_obj(la->pg.b, sc);
	memcpy(la->last, sc->name, sc->name_len);
	la->last_len = sc->name_len;
	return (0);
}

/* GET /v1/channels?prefix=&limit=&cursor= */
int
rest_read_channels(struct rest_req *r)
{
	struct rest_read_list_arg	 la;
	struct evbuffer			*link;
	uint64_t			 limit;
	char				*prefix = NULL, *cursor = NULL;
	int				 rc;

	if (rest_read_limit(r, &limit) != 0)
		return (0);
	if (http_query_param(r->query, "prefix", &prefix) < 0 ||
	    http_query_param(r->query, "cursor", &cursor) < 0) {
		rest_error(r, ERR_BAD_REQUEST, "bad percent-encoding in the query");
		goto out;
	}
	memset(&la, 0, sizeof la);
	rest_read_page_start(&la.pg, limit);
	rc = store_chan_list(server.reader, prefix, prefix ? strlen(prefix) :
	    0, cursor, cursor ? strlen(cursor) : 0, (size_t)limit + 1,
	    rest_read_list_cb, &la);
	if (rc < 0) {
		rest_error(r, ERR_INTERNAL, "cannot list channels: %s",
		    store_strerror(rc));
		evbuffer_free(la.pg.b);
		goto out;
	}
	link = NULL;
	if (la.pg.more) {
		link = evbuffer_new();
		evbuffer_add_printf(link, "/v1/channels?limit=%llu&cursor=",
		    (unsigned long long)limit);
		http_pct_encode(link, la.last, la.last_len);
		if (prefix != NULL) {
			evbuffer_add_lit(link, "&prefix=");
			http_pct_encode(link, prefix, strlen(prefix));
		}
	}
	rest_read_page_end(r, &la.pg, link);
out:
	free(prefix);
	free(cursor);
	return (0);
}

/* GET /v1/channels/{name} */
int
rest_read_channel(struct rest_req *r)
{
	struct store_chan	 sc;
	struct evbuffer		*b;

	if (rest_chan(r, &sc) != 0)
		return (0);
	b = evbuffer_new();
	rest_read_channel_obj(b, &sc);
	evbuffer_add_lit(b, "\n");
	rest_json(r, 200, b, NULL);
	evbuffer_free(b);
	return (0);
}

/* Add one message to a history page. */
static int
rest_read_hist_cb(const struct store_rec *rec, void *arg)
{
	struct rest_read_hist_arg	*ha = arg;

	if (rest_read_page_add(&ha->pg))
		return (1);
	rest_item(ha->pg.b, ha->name, ha->name_len, rec);
	ha->last = rec->serial;
	return (0);
}

/*
 * GET /v1/channels/{name}/messages.  The next link pins both ends of the
 * range as serials, so following it is stable while publishers append:
 * every message in range comes exactly once.
 */
int
rest_read_history(struct rest_req *r)
{
	struct rest_read_hist_arg	 ha;
	struct store_chan		 sc;
	struct evbuffer			*link;
	uint64_t			 lo, hi, limit;
	char				*dir = NULL;
	int				 backward = 1, rc;

	if (rest_chan(r, &sc) != 0 || rest_read_limit(r, &limit) != 0)
		return (0);
	if ((rc = http_query_param(r->query, "direction", &dir)) != 0) {
		if (rc < 0 || (strcmp(dir, "forward") != 0 &&
		    strcmp(dir, "backward") != 0)) {
			rest_error(r, ERR_BAD_REQUEST, "direction must be forward "
			    "or backward");
			free(dir);
			return (0);
		}
		backward = strcmp(dir, "backward") == 0;
		free(dir);
	}
	if (rest_range(r, &sc, &lo, &hi) != 0)
		return (0);

	memset(&ha, 0, sizeof ha);
	rest_read_page_start(&ha.pg, limit);
	ha.name = sc.name;
	ha.name_len = sc.name_len;
	if (lo <= hi) {
		rc = store_read(server.reader, sc.id, lo, hi, backward,
		    (size_t)limit + 1, 0, rest_read_hist_cb, &ha);
		if (rc < 0) {
			rest_error(r, ERR_INTERNAL, "cannot read %s: %s",
			    sc.name, store_strerror(rc));
			evbuffer_free(ha.pg.b);
			return (0);
		}
	}
	link = NULL;
	if (ha.pg.more) {
		link = evbuffer_new();
		evbuffer_add_lit(link, "/v1/channels/");
		http_pct_encode(link, sc.name, sc.name_len);
		evbuffer_add_printf(link, "/messages?from=%llu&to=%llu&"
		    "limit=%llu&direction=%s",
		    (unsigned long long)(backward ? lo : ha.last + 1),
		    (unsigned long long)(backward ? ha.last - 1 : hi),
		    (unsigned long long)limit,
		    backward ? "backward" : "forward");
	}
	rest_read_page_end(r, &ha.pg, link);
	return (0);
}

/* Write the one message asked for. */
static int
rest_read_one_cb(const struct store_rec *rec, void *arg)
{
	struct rest_read_one_arg	*oa = arg;

	rest_item(oa->b, oa->name, oa->name_len, rec);
	return (0);
}

/* GET /v1/channels/{name}/messages/{serial} */
int
rest_read_message(struct rest_req *r)
{
	struct rest_read_one_arg	 oa;
	struct store_chan		 sc;
	struct evbuffer			*b;
	uint64_t			 serial;
	char				*end;
	int				 rc;

	errno = 0;
	serial = strtoull(r->seg[4], &end, 10);
	if (r->seg[4][0] < '0' || r->seg[4][0] > '9' || *end != '\0' ||
	    errno != 0) {
		rest_error(r, ERR_BAD_REQUEST, "not a serial: %s", r->seg[4]);
		return (0);
	}
	if (rest_chan(r, &sc) != 0)
		return (0);
	b = evbuffer_new();
	oa.b = b;
	oa.name = sc.name;
	oa.name_len = sc.name_len;
	rc = store_get(server.reader, sc.id, serial, rest_read_one_cb, &oa);
	if (rc == STORE_ENOTFOUND)
		rest_error(r, ERR_NOT_FOUND, "no message %llu in %s (the log "
		    "holds %llu to %llu)", (unsigned long long)serial, sc.name,
		    (unsigned long long)sc.first, (unsigned long long)sc.head);
	else if (rc < 0)
		rest_error(r, ERR_INTERNAL, "cannot read %s: %s", sc.name,
		    store_strerror(rc));
	else {
		evbuffer_add_lit(b, "\n");
		rest_json(r, 200, b, NULL);
	}
	evbuffer_free(b);
	return (0);
}

/* GET /healthz */
int
rest_read_healthz(struct rest_req *r)
{
	struct evbuffer	*b;

	b = evbuffer_new();
	evbuffer_add_printf(b, "{\"status\":\"%s\",\"storage\":\"%s\","
	    "\"version\":\"%s\",\"uptime_s\":%llu}\n",
	    server.stopping ? "stopping" : "ok",
	    server.storage_state == 0 ? "ok" :
	    server.storage_state == STORE_EFULL ? "full" : "failing",
	    PACKAGE_VERSION, (unsigned long long)(store_now_ms() -
	    server.started_ms) / 1000);
	rest_json(r, server.stopping ? 503 : 200, b,
	    "Cache-Control: no-store\r\n");
	evbuffer_free(b);
	return (0);
}

/* GET /metrics */
int
rest_read_metrics(struct rest_req *r)
{
	struct evbuffer	*b;
	size_t		 len;

	b = evbuffer_new();
	metrics_write(b);
	len = evbuffer_get_length(b);
	http_respond(r->out, 200, "text/plain; version=0.0.4", NULL,
	    evbuffer_pullup(b, (ssize_t)len), len, r->keepalive, r->head);
	evbuffer_free(b);
	return (0);
}
