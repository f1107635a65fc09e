/*
 * HTTP/1.1 requests: a thin layer over Debian's http-parser.
 *
 * The parser is fed whatever arrived and stops (paused) at the end of each
 * request, so pipelined bytes stay unread in the connection's buffer for the
 * next request, or for the WebSocket once the upgrade is done.  Sizes are
 * bounded: the head by max_head (431 past it), the body by max_body (413).
 *
 * Framing is strict, because a proxy in front that reads a request
 * differently from us is how requests get smuggled past it.  Debian builds
 * http-parser without HTTP_PARSER_STRICT: it takes a space inside a header
 * name ("Host : x" becomes a header "host "), swallows any byte after a CR
 * as if it were the LF, reads any two bytes after chunk data as its CRLF
 * and any Transfer-Encoding ending in "chunked" as chunked.  So http-parser
 * reads the head only, and what it lets through is checked here: the bytes
 * of the head (every CR followed by LF, no folded lines), header names, the
 * version (1.0 and 1.1, else 505), Transfer-Encoding (exactly "chunked",
 * else 501; never with Content-Length, 400) and the request target.  The
 * body is read here too, by Content-Length or by a chunked decoder that
 * accepts RFC 9112's grammar and nothing else.  Every error closes the
 * connection (conn.c), since the framing of what follows is unknown.
 */

#include "config.h"

#include <sys/types.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <http_parser.h>

#include "logwired.h"

#define HTTP_LINE_MAX	4096	/* a chunk-size or trailer line */

/* Where the body reader stands. */
enum http_body {
	HTTP_BODY_NONE,		/* no body, or the head is not read yet */
	HTTP_BODY_LENGTH,	/* Content-Length bytes */
	HTTP_BODY_SIZE,		/* a chunk-size line */
	HTTP_BODY_CHUNK,	/* chunk data */
	HTTP_BODY_CHUNK_END,	/* the CRLF after chunk data */
	HTTP_BODY_TRAILER	/* trailer lines up to an empty one */
};

struct http_req {
	http_parser		 parser;
	size_t			 max_head;
	size_t			 max_body;
	size_t			 head_bytes;
	int			 in_head;	/* before headers complete */
	int			 head_end;	/* head read, body next */
	int			 done;		/* whole request read */
	int			 status;	/* error status, 0 if none */
	const char		*error;
	unsigned char		 prev;		/* last head byte seen */
	int			 expect_continue;

	enum http_body		 body_state;
	uint64_t		 body_left;	/* of the length or chunk */
	size_t			 body_cap;

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
static int	http_on_complete(http_parser *);
static int	http_hexval(int);

static const http_parser_settings http_settings = {
	.on_message_begin = http_on_begin,
	.on_url = http_on_url,
	.on_header_field = http_on_field,
	.on_header_value = http_on_value,
	.on_headers_complete = http_on_headers,
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
	r->prev = '\n';
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
	r->body_cap = 0;
	r->body_state = HTTP_BODY_NONE;
	r->body_left = 0;
	r->in_value = 0;
	r->head_bytes = 0;
	r->head_end = 0;
	r->expect_continue = 0;
	r->prev = '\n';
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

/*
 * Check the bytes of the head that the parser consumed: a CR must be
 * followed by LF (the parser takes any byte there as the LF), and no line
 * may start with a space or a tab (obsolete line folding, or whitespace
 * before the first header).
 */
static int
http_check_head_bytes(struct http_req *r, const unsigned char *p, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (r->prev == '\r' && p[i] != '\n')
			return (http_fail(r, 400, "a CR in the request head "
			    "not followed by LF"));
		if (r->prev == '\n' && (p[i] == ' ' || p[i] == '\t') &&
		    r->url != NULL)
			return (http_fail(r, 400, "a header line starts with "
			    "whitespace (obsolete line folding)"));
		r->prev = p[i];
	}
	return (0);
}

/* Whether a header value, trimmed, is token (case-insensitive). */
static int
http_value_is(const char *value, const char *token)
{
	size_t	n;

	while (*value == ' ' || *value == '\t')
		value++;
	n = strlen(value);
	while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t'))
		n--;
	return (n == strlen(token) && strncasecmp(value, token, n) == 0);
}

/*
 * Bring the request target to origin form ("/path?query"): an absolute
 * URI (RFC 9112 3.2.2, what a request to a proxy carries) is routed by
 * its path, its authority ignored (one server, no virtual hosts).  "*" is
 * kept for OPTIONS.  Anything else is refused.
 */
static int
http_check_target(struct http_req *r)
{
	const char	*u = r->url, *auth, *rest;
	char		*path;
	size_t		 alen;

	if (u[0] == '/')
		return (0);
	if (strcmp(u, "*") == 0) {
		if (r->parser.method != HTTP_OPTIONS)
			return (http_fail(r, 400, "the request target * is "
			    "for OPTIONS only"));
		return (0);
	}
	if (strncasecmp(u, "http://", 7) == 0)
		auth = u + 7;
	else if (strncasecmp(u, "https://", 8) == 0)
		auth = u + 8;
	else
		return (http_fail(r, 400, "the request target must be a path "
		    "(/...), an absolute http URI, or * with OPTIONS"));
	alen = strcspn(auth, "/?#");
	if (alen == 0 || memchr(auth, '@', alen) != NULL)
		return (http_fail(r, 400, "bad authority in an absolute "
		    "request target"));
	rest = auth + alen;
	if (*rest == '/')
		path = xstrdup(rest);
	else
		xasprintf(&path, "/%s", rest);
	free(r->url);
	r->url = path;
	r->url_len = strlen(path);
	return (0);
}

/*
 * Decide how the body is framed (RFC 9112 6.3), refusing what a proxy
 * might frame differently.  Returns 0 with body_state set, or -1.
 */
static int
http_check_framing(struct http_req *r)
{
	http_parser	*p = &r->parser;
	const char	*te = NULL;
	size_t		 i, nte = 0;

	for (i = 0; i < r->nhdrs; i++) {
		if (strcmp(r->hdrs[i].name, "transfer-encoding") == 0) {
			te = r->hdrs[i].value;
			nte++;
		}
	}
	if (te != NULL) {
		if (p->content_length != (uint64_t)-1)
			return (http_fail(r, 400, "Transfer-Encoding together "
			    "with Content-Length"));
		if (p->http_minor == 0)
			return (http_fail(r, 400, "Transfer-Encoding in an "
			    "HTTP/1.0 request"));
		if (nte != 1 || !http_value_is(te, "chunked"))
			return (http_fail(r, 501, "Transfer-Encoding other "
			    "than chunked is not supported"));
		r->body_state = HTTP_BODY_SIZE;
	} else if (p->content_length != (uint64_t)-1 &&
	    p->content_length > 0) {
		if (p->content_length > r->max_body)
			return (http_fail(r, 413, "request body too large"));
		r->body_state = HTTP_BODY_LENGTH;
		r->body_left = p->content_length;
	} else
		r->body_state = HTTP_BODY_NONE;
	if (r->body_state != HTTP_BODY_NONE && p->upgrade)
		return (http_fail(r, 400, "an upgrade request has no body"));
	return (0);
}

/*
 * "Expect: 100-continue" (HTTP/1.1, a body to come) is answered with the
 * interim 100 once the head has passed every check, so that the client
 * sends the body now instead of after its own timeout (curl waits 1 s);
 * any other expectation is 417.  HTTP/1.0 ignores Expect.
 */
static int
http_check_expect(struct http_req *r)
{
	const char	*expect = http_req_header(r, "expect");

	if (expect == NULL || r->parser.http_minor == 0)
		return (0);
	if (!http_value_is(expect, "100-continue"))
		return (http_fail(r, 417, "unsupported expectation (only "
		    "100-continue)"));
	r->expect_continue = r->body_state != HTTP_BODY_NONE;
	return (0);
}

/*
 * The head is complete: check what the parser lets through.  Returns 1,
 * which tells http-parser that there is no body: it is read here.
 */
static int
http_on_headers(http_parser *p)
{
	struct http_req	*r = p->data;
	size_t		 i;

	r->in_head = 0;
	if (r->url == NULL)
		return (http_fail(r, 400, "missing request target"));
	if (p->http_major != 1 || p->http_minor > 1)
		return (http_fail(r, 505, "HTTP version not supported "
		    "(HTTP/1.0 and HTTP/1.1 only)"));
	for (i = 0; i < r->nhdrs; i++) {
		if (r->hdrs[i].name == NULL ||
		    strcspn(r->hdrs[i].name, " \t") != r->hdrs[i].name_len)
			return (http_fail(r, 400, "whitespace in a header "
			    "name or before its colon"));
	}
	if (http_check_target(r) != 0 || http_check_framing(r) != 0 ||
	    http_check_expect(r) != 0)
		return (-1);
	return (1);
}

/* The head is read (http.c reads the body): stop the parser here. */
static int
http_on_complete(http_parser *p)
{
	struct http_req	*r = p->data;

	r->head_end = 1;
	http_parser_pause(p, 1);
	return (0);
}

/* Move n bytes of body from the input to the request's body. */
static int
http_body_take(struct http_req *r, struct evbuffer *in, size_t n)
{
	if (r->body_len + n > r->max_body)
		return (http_fail(r, 413, "request body too large"));
	if (r->body_len + n + 1 > r->body_cap) {
		if (r->body_cap == 0)
			r->body_cap = 4096;
		while (r->body_cap < r->body_len + n + 1)
			r->body_cap *= 2;
		r->body = xrealloc(r->body, r->body_cap);
	}
	if (evbuffer_remove(in, r->body + r->body_len, n) != (int)n)
		fatalx("evbuffer_remove failed");
	r->body_len += n;
	r->body[r->body_len] = '\0';
	return (0);
}

/*
 * Take one CRLF-ended line of the chunked framing (a chunk size or a
 * trailer) into line (HTTP_LINE_MAX + 1 bytes), without its CRLF.
 * Returns 1 with a line, 0 if it is not all there yet, -1 if malformed.
 */
static int
http_body_line(struct http_req *r, struct evbuffer *in, char *line)
{
	struct evbuffer_ptr	 lf;
	size_t			 len, i;

	lf = evbuffer_search(in, "\n", 1, NULL);
	if (lf.pos < 0) {
		if (evbuffer_get_length(in) > HTTP_LINE_MAX)
			return (http_fail(r, 400, "chunked framing line too "
			    "long"));
		return (0);
	}
	len = (size_t)lf.pos;
	if (len > HTTP_LINE_MAX)
		return (http_fail(r, 400, "chunked framing line too long"));
	evbuffer_remove(in, line, len + 1);
	if (len == 0 || line[len - 1] != '\r')
		return (http_fail(r, 400, "chunked framing line not ended "
		    "by CRLF"));
	line[--len] = '\0';
	for (i = 0; i < len; i++) {
		if (((unsigned char)line[i] < 0x20 && line[i] != '\t') ||
		    line[i] == 0x7f)
			return (http_fail(r, 400, "control character in "
			    "chunked framing"));
	}
	return (1);
}

/* Read a chunk-size line: 1*HEXDIG, then nothing or a chunk extension. */
static int
http_body_size(struct http_req *r, const char *line)
{
	const char	*p = line;
	uint64_t	 size = 0;
	int		 v;

	if (http_hexval((unsigned char)*p) < 0)
		return (http_fail(r, 400, "bad chunk size"));
	while ((v = http_hexval((unsigned char)*p)) >= 0) {
		if (size > (UINT64_MAX >> 4))
			return (http_fail(r, 413, "request body too large"));
		size = size << 4 | (uint64_t)v;
		p++;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '\0' && *p != ';')
		return (http_fail(r, 400, "bad chunk size"));
	if (size > r->max_body - r->body_len)
		return (http_fail(r, 413, "request body too large"));
	r->body_left = size;
	r->body_state = size > 0 ? HTTP_BODY_CHUNK : HTTP_BODY_TRAILER;
	return (0);
}

/* Check a trailer line ("name: value"), which is otherwise ignored. */
static int
http_body_trailer(struct http_req *r, const char *line)
{
	size_t	n = strcspn(line, ":");

	if (n == 0 || line[n] != ':' || strcspn(line, " \t") < n)
		return (http_fail(r, 400, "bad trailer line"));
	r->head_bytes += strlen(line) + 2;
	if (r->head_bytes > r->max_head)
		return (http_fail(r, 431, "request head too large"));
	return (0);
}

/*
 * Read the body after the head.  Returns 1 once it is whole, 0 when more
 * bytes are needed, -1 with the status set.
 */
static int
http_read_body(struct http_req *r, struct evbuffer *in)
{
	char	line[HTTP_LINE_MAX + 1], crlf[2];
	size_t	avail, n;
	int	rc;

	for (;;) {
		avail = evbuffer_get_length(in);
		switch (r->body_state) {
		case HTTP_BODY_NONE:
			return (1);
		case HTTP_BODY_LENGTH:
		case HTTP_BODY_CHUNK:
			n = (size_t)MIN((uint64_t)avail, r->body_left);
			if (n > 0 && http_body_take(r, in, n) != 0)
				return (-1);
			r->body_left -= n;
			if (r->body_left > 0)
				return (0);
			if (r->body_state == HTTP_BODY_LENGTH)
				return (1);
			r->body_state = HTTP_BODY_CHUNK_END;
			break;
		case HTTP_BODY_CHUNK_END:
			n = MIN(avail, sizeof crlf);
			evbuffer_copyout(in, crlf, n);
			if ((n > 0 && crlf[0] != '\r') ||
			    (n > 1 && crlf[1] != '\n'))
				return (http_fail(r, 400, "chunk data not "
				    "followed by CRLF"));
			if (n < 2)
				return (0);
			evbuffer_drain(in, 2);
			r->body_state = HTTP_BODY_SIZE;
			break;
		case HTTP_BODY_SIZE:
		case HTTP_BODY_TRAILER:
			if ((rc = http_body_line(r, in, line)) <= 0)
				return (rc);
			if (r->body_state == HTTP_BODY_SIZE)
				rc = http_body_size(r, line);
			else if (line[0] == '\0') {
				r->body_state = HTTP_BODY_NONE;
				return (1);
			} else
				rc = http_body_trailer(r, line);
			if (rc != 0)
				return (-1);
			break;
		}
	}
}

/*
 * Parse what the buffer holds, draining what was consumed; an interim
 * "100 Continue" goes to out (which may be NULL).  Returns HTTP_REQ_DONE
 * when a whole request (or an upgrade head) was read, HTTP_REQ_MORE when
 * more bytes are needed, HTTP_REQ_ERROR with http_req_status() set
 * otherwise.
 */
int
http_req_feed(struct http_req *r, struct evbuffer *in, struct evbuffer *out)
{
	struct evbuffer_iovec	 v;
	size_t			 n;
	enum http_errno		 e;
	int			 rc;

	while (!r->done && !r->head_end && evbuffer_get_length(in) > 0) {
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		n = http_parser_execute(&r->parser, &http_settings,
		    v.iov_base, v.iov_len);
		e = HTTP_PARSER_ERRNO(&r->parser);
		if (r->status == 0)
			http_check_head_bytes(r, v.iov_base, n);
		evbuffer_drain(in, n);
		if (r->status != 0)
			return (HTTP_REQ_ERROR);
		if (e != HPE_OK && e != HPE_PAUSED) {
			if (e == HPE_HEADER_OVERFLOW)
				http_fail(r, 431, "request head too large");
			else
				http_fail(r, 400, http_errno_description(e));
			return (HTTP_REQ_ERROR);
		}
		if (n < v.iov_len && e != HPE_PAUSED)
			break;
	}
	if (r->head_end && r->expect_continue) {
		r->expect_continue = 0;
		if (out != NULL)
			evbuffer_add_lit(out, "HTTP/1.1 100 Continue\r\n\r\n");
	}
	if (r->head_end && !r->done) {
		if ((rc = http_read_body(r, in)) < 0)
			return (HTTP_REQ_ERROR);
		if (rc == 1)
			r->done = 1;
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

/*
 * Find the query parameter name in query ("a=1&b=2", without the '?') and
 * percent-decode its value, reading '+' as a space (form encoding; in a
 * path '+' is itself).  Keys are compared as sent, not decoded; the first
 * of repeated keys wins; a key without '=' is not a parameter.  Returns 1
 * with a string the caller frees, 0 if absent, -1 if badly encoded.
 */
int
http_query_param(const char *query, const char *name, char **value)
{
	const char	*p = query, *eq, *end;
	size_t		 nlen = strlen(name), len, i;
	char		*raw;
	int		 rc;

	while (*p != '\0') {
		end = strchr(p, '&');
		if (end == NULL)
			end = p + strlen(p);
		eq = memchr(p, '=', (size_t)(end - p));
		if (eq != NULL && (size_t)(eq - p) == nlen &&
		    strncmp(p, name, nlen) == 0) {
			raw = xstrndup(eq + 1, (size_t)(end - eq - 1));
			for (i = 0; raw[i] != '\0'; i++) {
				if (raw[i] == '+')
					raw[i] = ' ';
			}
			/* http_pct_decode refuses %00: no NUL inside. */
			rc = http_pct_decode(raw, strlen(raw), value, &len);
			free(raw);
			return (rc == 0 ? 1 : -1);
		}
		p = *end == '&' ? end + 1 : end;
	}
	return (0);
}

/* Append s percent-encoded: all but RFC 3986's unreserved characters. */
void
http_pct_encode(struct evbuffer *b, const char *s, size_t len)
{
	static const char	hex[] = "0123456789ABCDEF";
	unsigned char		c;
	size_t			i;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~')
			evbuffer_add(b, &s[i], 1);
		else
			evbuffer_add_printf(b, "%%%c%c", hex[c >> 4],
			    hex[c & 0xf]);
	}
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

/*
 * Percent-decode len bytes into a new string (caller frees); -1 if a '%'
 * is not followed by two hex digits or encodes NUL.  '+' is left alone.
 */
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
	case 417: return ("Expectation Failed");
	case 426: return ("Upgrade Required");
	case 429: return ("Too Many Requests");
	case 431: return ("Request Header Fields Too Large");
	case 500: return ("Internal Server Error");
	case 501: return ("Not Implemented");
	case 503: return ("Service Unavailable");
	case 505: return ("HTTP Version Not Supported");
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
http_respond_error_status(struct evbuffer *out, int status,
    enum err_code code, const char *message, const char *extra,
    int keepalive)
{
	struct evbuffer	*b;
	size_t		 len;

	b = evbuffer_new();
	evbuffer_add_printf(b, "{\"error\":{\"code\":%d,\"message\":",
	    (int)code);
	jstr_escape(b, message, strlen(message));
	evbuffer_add_lit(b, "}}\n");
	len = evbuffer_get_length(b);
	http_respond(out, status, "application/json", extra,
	    evbuffer_pullup(b, -1), len, keepalive, 0);
	evbuffer_free(b);
}

/* Queue an error response whose status is the code's (err_status). */
void
http_respond_error(struct evbuffer *out, enum err_code code,
    const char *message, const char *extra, int keepalive)
{
	http_respond_error_status(out, err_status(code), code, message, extra,
	    keepalive);
}
