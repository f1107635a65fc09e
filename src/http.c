/*
 * HTTP/1.1 requests: a thin layer over Debian's http-parser.
 *
 * The parser is fed whatever arrived and stops (paused) at the end of each
 * request, so pipelined bytes stay unread in the connection's buffer for the
 * next request, or for the WebSocket once the upgrade is done.  Sizes are
 * bounded: the head by max_head (431 past it), the body by max_body (413).
 */

#include "config.h"

#include <sys/types.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <http_parser.h>

#include "logwire.h"

struct http_req {
	http_parser		 parser;
	size_t			 max_head;
	size_t			 max_body;
	size_t			 head_bytes;
	int			 in_head;	/* before headers complete */
	int			 done;		/* whole request read */
	int			 status;	/* error status, 0 if none */
	const char		*error;

	char			*url;
	size_t			 url_len;
	struct http_header	 hdrs[HTTP_MAX_HEADERS];
	size_t			 nhdrs;
	int			 in_value;	/* last callback was a value */

	char			*body;
	size_t			 body_len;
};

static int	http_on_begin(http_parser *);
static int	http_on_url(http_parser *, const char *, size_t);
static int	http_on_field(http_parser *, const char *, size_t);
static int	http_on_value(http_parser *, const char *, size_t);
static int	http_on_headers(http_parser *);
static int	http_on_body(http_parser *, const char *, size_t);
static int	http_on_complete(http_parser *);

static const http_parser_settings http_settings = {
	.on_message_begin = http_on_begin,
	.on_url = http_on_url,
	.on_header_field = http_on_field,
	.on_header_value = http_on_value,
	.on_headers_complete = http_on_headers,
	.on_body = http_on_body,
	.on_message_complete = http_on_complete,
};

/* Create a request parser with size limits. */
struct http_req *
http_req_new(size_t max_head, size_t max_body)
{
	struct http_req	*r;

	r = xcalloc(1, sizeof *r);
	r->max_head = max_head;
	r->max_body = max_body;
	http_parser_init(&r->parser, HTTP_REQUEST);
	r->parser.data = r;
	r->in_head = 1;
	return (r);
}

/* Forget the last request's fields. */
static void
http_req_clear(struct http_req *r)
{
	size_t	i;

	for (i = 0; i < r->nhdrs; i++) {
		free(r->hdrs[i].name);
		free(r->hdrs[i].value);
	}
	r->nhdrs = 0;
	free(r->url);
	r->url = NULL;
	r->url_len = 0;
	free(r->body);
	r->body = NULL;
	r->body_len = 0;
	r->in_value = 0;
	r->head_bytes = 0;
}

/* Free a request parser. */
void
http_req_free(struct http_req *r)
{
	if (r == NULL)
		return;
	http_req_clear(r);
	free(r);
}

/* Make ready for the next request on the same connection. */
void
http_req_reset(struct http_req *r)
{
	http_req_clear(r);
	r->done = 0;
	r->status = 0;
	r->error = NULL;
	r->in_head = 1;
	http_parser_pause(&r->parser, 0);
	http_parser_init(&r->parser, HTTP_REQUEST);
	r->parser.data = r;
}

/* Fail the request with an HTTP status. */
static int
http_fail(struct http_req *r, int status, const char *error)
{
	r->status = status;
	r->error = error;
	return (-1);
}

/* Count head bytes against the limit. */
static int
http_head_add(struct http_req *r, size_t len)
{
	r->head_bytes += len;
	if (r->head_bytes > r->max_head)
		return (http_fail(r, 431, "request head too large"));
	return (0);
}

/* Append len bytes to a growing string. */
static void
http_append(char **s, size_t *slen, const char *p, size_t len)
{
	*s = xrealloc(*s, *slen + len + 1);
	memcpy(*s + *slen, p, len);
	*slen += len;
	(*s)[*slen] = '\0';
}

static int
http_on_begin(http_parser *p)
{
	struct http_req	*r = p->data;

	http_req_clear(r);
	r->in_head = 1;
	return (0);
}

static int
http_on_url(http_parser *p, const char *at, size_t len)
{
	struct http_req	*r = p->data;

	if (http_head_add(r, len) != 0)
		return (-1);
	http_append(&r->url, &r->url_len, at, len);
	return (0);
}

static int
http_on_field(http_parser *p, const char *at, size_t len)
{
	struct http_req		*r = p->data;
	struct http_header	*h;
	size_t			 i, old;

	if (http_head_add(r, len) != 0)
		return (-1);
	if (r->in_value || r->nhdrs == 0) {
		if (r->nhdrs == HTTP_MAX_HEADERS)
			return (http_fail(r, 431, "too many headers"));
		h = &r->hdrs[r->nhdrs++];
		h->name = NULL;
		h->name_len = 0;
		h->value = xstrdup("");
		h->value_len = 0;
		r->in_value = 0;
	}
	h = &r->hdrs[r->nhdrs - 1];
	old = h->name_len;
	http_append(&h->name, &h->name_len, at, len);
	for (i = old; i < h->name_len; i++)
		h->name[i] = tolower((unsigned char)h->name[i]);
	return (0);
}

static int
http_on_value(http_parser *p, const char *at, size_t len)
{
	struct http_req		*r = p->data;
	struct http_header	*h;

	if (http_head_add(r, len) != 0)
		return (-1);
	if (r->nhdrs == 0)
		return (0);
	h = &r->hdrs[r->nhdrs - 1];
	http_append(&h->value, &h->value_len, at, len);
	r->in_value = 1;
	return (0);
}

static int
http_on_headers(http_parser *p)
{
	struct http_req	*r = p->data;

	r->in_head = 0;
	if (r->url == NULL)
		return (http_fail(r, 400, "missing request target"));
	if (p->content_length != (uint64_t)-1 &&
	    p->content_length > r->max_body)
		return (http_fail(r, 413, "request body too large"));
	return (0);
}

static int
http_on_body(http_parser *p, const char *at, size_t len)
{
	struct http_req	*r = p->data;

	if (r->body_len + len > r->max_body)
		return (http_fail(r, 413, "request body too large"));
	http_append(&r->body, &r->body_len, at, len);
	return (0);
}

static int
http_on_complete(http_parser *p)
{
	struct http_req	*r = p->data;

	r->done = 1;
	http_parser_pause(p, 1);
	return (0);
}

/*
 * Parse what the buffer holds, draining what was consumed.  Returns
 * HTTP_REQ_DONE when a whole request (or an upgrade head) was read,
 * HTTP_REQ_MORE when more bytes are needed, HTTP_REQ_ERROR with
 * http_req_status() set otherwise.
 */
int
http_req_feed(struct http_req *r, struct evbuffer *in)
{
	struct evbuffer_iovec	 v;
	size_t			 n;
	enum http_errno		 e;

	while (!r->done && evbuffer_get_length(in) > 0) {
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		n = http_parser_execute(&r->parser, &http_settings,
		    v.iov_base, v.iov_len);
		evbuffer_drain(in, n);
		e = HTTP_PARSER_ERRNO(&r->parser);
		if (r->status != 0)
			return (HTTP_REQ_ERROR);
		if (e != HPE_OK && e != HPE_PAUSED) {
			if (e == HPE_HEADER_OVERFLOW)
				http_fail(r, 431, "request head too large");
			else
				http_fail(r, 400, http_errno_description(e));
			return (HTTP_REQ_ERROR);
		}
		if (r->parser.upgrade) {
			r->done = 1;
			break;
		}
		if (n < v.iov_len && e != HPE_PAUSED)
			break;
	}
	if (r->done)
		return (HTTP_REQ_DONE);
	if (r->in_head && r->head_bytes > r->max_head) {
		http_fail(r, 431, "request head too large");
		return (HTTP_REQ_ERROR);
	}
	return (HTTP_REQ_MORE);
}

/* Status and reason of the last error. */
int
http_req_status(struct http_req *r, const char **error)
{
	if (error != NULL)
		*error = r->error != NULL ? r->error : "bad request";
	return (r->status != 0 ? r->status : 400);
}

/* Whether the head is still being read (for the header timeout). */
int
http_req_in_head(struct http_req *r)
{
	return (r->in_head);
}

/* Whether no byte of a next request has come yet. */
int
http_req_idle(struct http_req *r)
{
	return (r->head_bytes == 0 && r->url == NULL);
}

/* The method name ("GET", ...). */
const char *
http_req_method(struct http_req *r)
{
	return (http_method_str(r->parser.method));
}

/* Whether the method is m (e.g. HTTP_GET). */
int
http_req_is(struct http_req *r, int m)
{
	return (r->parser.method == (unsigned int)m);
}

/* The method as http-parser's enum http_method. */
int
http_req_method_id(struct http_req *r)
{
	return ((int)r->parser.method);
}

/* The raw request target (path and query). */
const char *
http_req_url(struct http_req *r)
{
	return (r->url != NULL ? r->url : "");
}

/* The body, if any. */
const char *
http_req_body(struct http_req *r, size_t *len)
{
	*len = r->body_len;
	return (r->body);
}

/* Whether the connection may carry another request after this one. */
int
http_req_keepalive(struct http_req *r)
{
	return (http_should_keep_alive(&r->parser));
}

/* Whether the client asked for an upgrade. */
int
http_req_upgrade(struct http_req *r)
{
	return (r->parser.upgrade);
}

/* The value of header name (lower case), or NULL. */
const char *
http_req_header(struct http_req *r, const char *name)
{
	size_t	i;

	for (i = 0; i < r->nhdrs; i++) {
		if (strcmp(r->hdrs[i].name, name) == 0)
			return (r->hdrs[i].value);
	}
	return (NULL);
}

/* Whether a comma-separated header value holds token (case-insensitive). */
int
http_token_has(const char *value, const char *token)
{
	size_t		 tlen = strlen(token), n;
	const char	*p = value;

	if (value == NULL)
		return (0);
	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		n = strcspn(p, ",");
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n == tlen && strncasecmp(p, token, n) == 0)
			return (1);
		p += strcspn(p, ",");
	}
	return (0);
}

/*
 * Split the target into a percent-decoded path and the raw query string.
 * Returns -1 on bad percent-encoding or an encoded NUL.  Caller frees both.
 */
int
http_split_url(const char *url, char **path, size_t *path_len, char **query)
{
	const char	*q;
	size_t		 n;

	q = strchr(url, '?');
	n = q != NULL ? (size_t)(q - url) : strlen(url);
	if (http_pct_decode(url, n, path, path_len) != 0)
		return (-1);
	*query = xstrdup(q != NULL ? q + 1 : "");
	return (0);
}

/* Value of one hex digit, or -1. */
static int
http_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/* Percent-decode len bytes into a new string; -1 if malformed. */
int
http_pct_decode(const char *s, size_t len, char **out, size_t *outlen)
{
	char	*d;
	size_t	 i, j = 0;
	int	 hi, lo;

	d = xmalloc(len + 1);
	for (i = 0; i < len; i++) {
		if (s[i] != '%') {
			d[j++] = s[i];
			continue;
		}
		if (i + 2 >= len ||
		    (hi = http_hexval((unsigned char)s[i + 1])) < 0 ||
		    (lo = http_hexval((unsigned char)s[i + 2])) < 0 ||
		    (hi == 0 && lo == 0)) {
			free(d);
			return (-1);
		}
		d[j++] = (char)(hi << 4 | lo);
		i += 2;
	}
	d[j] = '\0';
	*out = d;
	*outlen = j;
	return (0);
}

/* Reason phrase of a status code. */
const char *
http_reason(int status)
{
	switch (status) {
	case 101: return ("Switching Protocols");
	case 200: return ("OK");
	case 201: return ("Created");
	case 204: return ("No Content");
	case 400: return ("Bad Request");
	case 401: return ("Unauthorized");
	case 403: return ("Forbidden");
	case 404: return ("Not Found");
	case 405: return ("Method Not Allowed");
	case 408: return ("Request Timeout");
	case 409: return ("Conflict");
	case 413: return ("Content Too Large");
	case 426: return ("Upgrade Required");
	case 429: return ("Too Many Requests");
	case 431: return ("Request Header Fields Too Large");
	case 500: return ("Internal Server Error");
	case 503: return ("Service Unavailable");
	default: return ("Unknown");
	}
}

/*
 * Write a whole response.  extra holds further header lines, each ending in
 * CRLF (may be NULL).  With head_only the body is counted but not sent.
 */
void
http_respond(struct evbuffer *out, int status, const char *ctype,
    const char *extra, const void *body, size_t len, int keepalive,
    int head_only)
{
	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n", status,
	    http_reason(status));
	evbuffer_add_printf(out, "Server: logwire/%s\r\n", PACKAGE_VERSION);
	if (ctype != NULL)
		evbuffer_add_printf(out, "Content-Type: %s\r\n", ctype);
	if (status != 204)
		evbuffer_add_printf(out, "Content-Length: %zu\r\n", len);
	if (!keepalive)
		evbuffer_add_printf(out, "Connection: close\r\n");
	if (extra != NULL)
		evbuffer_add(out, extra, strlen(extra));
	evbuffer_add_lit(out, "\r\n");
	if (!head_only && len > 0)
		evbuffer_add(out, body, len);
}

/* Write a JSON error response {"error":{"code":..,"message":..}}. */
void
http_respond_error(struct evbuffer *out, int status, int code,
    const char *message, const char *extra, int keepalive)
{
	struct evbuffer	*b;
	size_t		 len;

	b = evbuffer_new();
	evbuffer_add_printf(b, "{\"error\":{\"code\":%d,\"message\":", code);
	jstr_escape(b, message, strlen(message));
	evbuffer_add_lit(b, "}}\n");
	len = evbuffer_get_length(b);
	http_respond(out, status, "application/json", extra,
	    evbuffer_pullup(b, -1), len, keepalive, 0);
	evbuffer_free(b);
}
