/*
 * An HTTP/1.1 response read with Debian's http-parser, for every client:
 * the WebSocket upgrade's answer (wsc, the benchmark), the command line's
 * REST calls (httpc) and the tests' harness.  It keeps the status and
 * every header, and passes or keeps the body as its user asked.
 */

#include "config.h"

#include <errno.h>
#include <http_parser.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common.h"
#include "client.h"

struct hresp {
	http_parser		 parser;
	http_parser_settings	 settings;
	int			 head_only;
	size_t			 body_max;
	hresp_body_cb		 cb;
	void			*arg;

	int			 status;	/* 0 until the head */
	struct hresp_header	*headers;
	size_t			 nheaders;
	int			 in_value;	/* last piece: a value */
	char			*body;
	size_t			 body_len;

	int			 done;
	int			 stopped;	/* by the body callback */
	int			 eof;		/* before the end */
};

/* Append a piece of text to a growing string. */
static void
hresp_cat(char **s, const char *at, size_t len)
{
	size_t	old = *s == NULL ? 0 : strlen(*s);

	*s = xrealloc(*s, old + len + 1);
	memcpy(*s + old, at, len);
	(*s)[old + len] = '\0';
}

/* Take a piece of a header name: the first one starts a new header. */
static int
hresp_on_field(http_parser *p, const char *at, size_t len)
{
	struct hresp		*r = p->data;
	struct hresp_header	*h;

	if (r->in_value || r->nheaders == 0) {
		r->headers = xrealloc(r->headers,
		    (r->nheaders + 1) * sizeof *r->headers);
		h = &r->headers[r->nheaders++];
		h->name = xstrdup("");
		h->value = xstrdup("");
		r->in_value = 0;
	}
	hresp_cat(&r->headers[r->nheaders - 1].name, at, len);
	return (0);
}

/* Take a piece of a header value. */
static int
hresp_on_value(http_parser *p, const char *at, size_t len)
{
	struct hresp	*r = p->data;

	r->in_value = 1;
	hresp_cat(&r->headers[r->nheaders - 1].value, at, len);
	return (0);
}

/* Note the status at the end of the head; the answer to HEAD ends here. */
static int
hresp_on_headers(http_parser *p)
{
	struct hresp	*r = p->data;

	r->status = p->status_code;
	return (r->head_only ? 1 : 0);
}

/* Pass a piece of a 2xx body to the callback, or keep it. */
static int
hresp_on_body(http_parser *p, const char *at, size_t len)
{
	struct hresp	*r = p->data;

	if (r->cb != NULL && r->status >= 200 && r->status < 300) {
		if (r->cb(at, len, r->arg) != 0) {
			r->stopped = 1;
			return (-1);
		}
		return (0);
	}
	if (len > r->body_max - r->body_len)
		len = r->body_max - r->body_len;
	if (len == 0)
		return (0);
	r->body = xrealloc(r->body, r->body_len + len + 1);
	memcpy(r->body + r->body_len, at, len);
	r->body_len += len;
	r->body[r->body_len] = '\0';
	return (0);
}

/*
 * Note the end of the response, and stop there: what follows (a 101's
 * WebSocket frames, anything a server sent too many) is not ours.
 */
static int
hresp_on_done(http_parser *p)
{
	struct hresp	*r = p->data;

	r->done = 1;
	return (-1);
}

/* Start reading a response. */
struct hresp *
hresp_new(int head_only, size_t body_max, hresp_body_cb cb, void *arg)
{
	struct hresp	*r;

	r = xcalloc(1, sizeof *r);
	r->head_only = head_only;
	r->body_max = body_max;
	r->cb = cb;
	r->arg = arg;
	http_parser_settings_init(&r->settings);
	r->settings.on_header_field = hresp_on_field;
	r->settings.on_header_value = hresp_on_value;
	r->settings.on_headers_complete = hresp_on_headers;
	r->settings.on_body = hresp_on_body;
	r->settings.on_message_complete = hresp_on_done;
	http_parser_init(&r->parser, HTTP_RESPONSE);
	r->parser.data = r;
	return (r);
}

/* Free a response and everything it kept. */
void
hresp_free(struct hresp *r)
{
	size_t	i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nheaders; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	free(r->headers);
	free(r->body);
	free(r);
}

/* Parse the bytes that came (len 0: the end of the stream). */
int
hresp_feed(struct hresp *r, const char *buf, size_t len, size_t *used)
{
	size_t	n = 0;

	if (!r->done && !r->stopped && !r->eof &&
	    HTTP_PARSER_ERRNO(&r->parser) == HPE_OK) {
		n = http_parser_execute(&r->parser, &r->settings, buf, len);
		if (len == 0 && !r->done)
			r->eof = 1;
	}
	if (used != NULL)
		*used = n;
	if (r->done)
		return (HRESP_DONE);
	if (r->stopped || r->eof || HTTP_PARSER_ERRNO(&r->parser) != HPE_OK)
		return (HRESP_ERROR);
	return (HRESP_MORE);
}

/* Say why the response could not be read. */
const char *
hresp_error(const struct hresp *r)
{
	if (r->done)
		return (NULL);
	if (r->stopped)
		return ("stopped while reading the response");
	if (r->eof)
		return ("the server closed the connection before the end of "
		    "the response");
	return (http_errno_description(HTTP_PARSER_ERRNO(&r->parser)));
}

/* Read from fd and parse until the response is complete. */
int
hresp_read(struct hresp *r, int fd, int64_t deadline, int idle_ms,
    char **cause)
{
	char	buf[65536];
	int64_t	until;
	ssize_t	n;
	int	revents;

	for (;;) {
		until = deadline;
		if (idle_ms >= 0 && (until < 0 || mono_ms() + idle_ms < until))
			until = mono_ms() + idle_ms;
		if ((revents = net_wait(fd, POLLIN, until)) == 0) {
			if (until == deadline)
				xasprintf(cause, "the response timed out");
			else
				xasprintf(cause, "no answer from the server "
				    "in %d ms", idle_ms);
			return (-1);
		}
		if (revents == -1) {
			xasprintf(cause, "poll: %s", strerror(errno));
			return (-1);
		}
		n = read(fd, buf, sizeof buf);
		if (n == -1 && (errno == EINTR || errno == EAGAIN ||
		    errno == EWOULDBLOCK))
			continue;
		if (n == -1) {
			xasprintf(cause, "read: %s", strerror(errno));
			return (-1);
		}
		switch (hresp_feed(r, buf, (size_t)n, NULL)) {
		case HRESP_DONE:
			return (0);
		case HRESP_ERROR:
			if (r->stopped || r->eof)
				xasprintf(cause, "%s", hresp_error(r));
			else
				xasprintf(cause, "bad response from the "
				    "server: %s", hresp_error(r));
			return (-1);
		}
	}
}

/* Return the status, or 0 before the head is complete. */
int
hresp_status(const struct hresp *r)
{
	return (r->status);
}

/* Return the value of the last header of that name (any case), or NULL. */
const char *
hresp_header(const struct hresp *r, const char *name)
{
	size_t	i;

	for (i = r->nheaders; i > 0; i--) {
		if (strcasecmp(r->headers[i - 1].name, name) == 0)
			return (r->headers[i - 1].value);
	}
	return (NULL);
}

/* Return every header, in the order received. */
const struct hresp_header *
hresp_headers(const struct hresp *r, size_t *n)
{
	*n = r->nheaders;
	return (r->headers);
}

/* Return the body kept (NUL-terminated, "" if none), still the reader's. */
const char *
hresp_body(const struct hresp *r, size_t *len)
{
	*len = r->body_len;
	return (r->body != NULL ? r->body : "");
}

/* Take the body kept (NUL-terminated, never NULL); the caller frees it. */
char *
hresp_take_body(struct hresp *r, size_t *len)
{
	char	*body = r->body != NULL ? r->body : xstrdup("");

	*len = r->body_len;
	r->body = NULL;
	r->body_len = 0;
	return (body);
}
