/*
 * A small blocking HTTP/1.1 client for the logwire command line: one
 * request per connection, the response head and body parsed with Debian's
 * http-parser (chunked bodies decoded), the body handed to a callback as
 * it arrives so that an export of any size streams through.
 */

#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <http_parser.h>

#include "logwire.h"
#include "httpc.h"

struct httpc_state {
	struct httpc_resp	*resp;
	httpc_body_cb		 cb;
	void			*arg;
	char			*field;
	size_t			 field_len;
	int			 in_value;
	char			*value;
	size_t			 value_len;
	int			 done;
	int			 stopped;
};

/* Split a base URL: http://host[:port][/prefix].  Returns -1 with cause. */
int
httpc_parse_url(const char *url, struct httpc_url *u, char **cause)
{
	const char	*p, *host, *end;
	char		*port_end;
	size_t		 hlen;
	long		 port = 80;

	memset(u, 0, sizeof *u);
	if (strncmp(url, "http://", 7) == 0)
		p = url + 7;
	else if (strncmp(url, "https://", 8) == 0) {
		xasprintf(cause, "%s: https is not supported by this build of "
		    "logwire yet", url);
		return (-1);
	} else {
		xasprintf(cause, "%s: want an http:// URL", url);
		return (-1);
	}
	if (*p == '[') {
		host = p + 1;
		if ((end = strchr(host, ']')) == NULL)
			goto bad;
		hlen = (size_t)(end - host);
		p = end + 1;
	} else {
		host = p;
		hlen = strcspn(p, ":/");
		p += hlen;
	}
	if (hlen == 0 || hlen >= sizeof u->host)
		goto bad;
	memcpy(u->host, host, hlen);
	if (*p == ':') {
		port = strtol(p + 1, &port_end, 10);
		if (port_end == p + 1 || port < 1 || port > 65535)
			goto bad;
		p = port_end;
	}
	u->port = (int)port;
	if (*p != '\0' && *p != '/')
		goto bad;
	if (strlen(p) >= sizeof u->prefix)
		goto bad;
	snprintf(u->prefix, sizeof u->prefix, "%s", p);
	hlen = strlen(u->prefix);
	while (hlen > 0 && u->prefix[hlen - 1] == '/')
		u->prefix[--hlen] = '\0';
	return (0);
bad:
	xasprintf(cause, "%s: not a valid URL", url);
	return (-1);
}

/* Connect to the server with a timeout. */
static int
httpc_connect(const struct httpc_url *u, int timeout_ms, char **cause)
{
	struct addrinfo	 hints, *res, *ai;
	struct pollfd	 pfd;
	socklen_t	 len;
	char		 port[16];
	int		 fd = -1, rc, err;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof port, "%d", u->port);
	if ((rc = getaddrinfo(u->host, port, &hints, &res)) != 0) {
		xasprintf(cause, "%s: %s", u->host, gai_strerror(rc));
		return (-1);
	}
	err = ECONNREFUSED;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, 0);
		if (fd == -1) {
			err = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			if (poll(&pfd, 1, timeout_ms) == 1) {
				len = sizeof err;
				getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
				if (err == 0)
					break;
			} else
				err = ETIMEDOUT;
		} else
			err = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1) {
		xasprintf(cause, "cannot connect to %s:%d: %s", u->host,
		    u->port, strerror(err));
		return (-1);
	}
	return (fd);
}

/* Write everything, waiting at most timeout_ms each time. */
static int
httpc_write(int fd, const void *buf, size_t len, int timeout_ms)
{
	const char	*p = buf;
	struct pollfd	 pfd;
	ssize_t		 n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == -1 && errno != EAGAIN && errno != EINTR)
			return (-1);
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, timeout_ms) != 1)
			return (-1);
	}
	return (0);
}

/* Store the last complete header. */
static void
httpc_header_done(struct httpc_state *st)
{
	struct httpc_resp	*r = st->resp;

	if (st->field == NULL)
		return;
	if (strcasecmp(st->field, "content-encoding") == 0) {
		free(r->content_encoding);
		r->content_encoding = st->value != NULL ? st->value :
		    xstrdup("");
		st->value = NULL;
	} else if (strcasecmp(st->field, "content-type") == 0) {
		free(r->content_type);
		r->content_type = st->value != NULL ? st->value : xstrdup("");
		st->value = NULL;
	}
	free(st->field);
	free(st->value);
	st->field = st->value = NULL;
	st->field_len = st->value_len = 0;
}

/* Append to a growing string. */
static void
httpc_append(char **s, size_t *len, const char *p, size_t n)
{
	*s = xrealloc(*s, *len + n + 1);
	memcpy(*s + *len, p, n);
	*len += n;
	(*s)[*len] = '\0';
}

static int
httpc_on_field(http_parser *p, const char *at, size_t len)
{
	struct httpc_state	*st = p->data;

	if (st->in_value) {
		httpc_header_done(st);
		st->in_value = 0;
	}
	httpc_append(&st->field, &st->field_len, at, len);
	return (0);
}

static int
httpc_on_value(http_parser *p, const char *at, size_t len)
{
	struct httpc_state	*st = p->data;

	st->in_value = 1;
	httpc_append(&st->value, &st->value_len, at, len);
	return (0);
}

static int
httpc_on_headers(http_parser *p)
{
	struct httpc_state	*st = p->data;

	httpc_header_done(st);
	st->resp->status = p->status_code;
	return (0);
}

static int
httpc_on_body(http_parser *p, const char *at, size_t len)
{
	struct httpc_state	*st = p->data;

	if (st->cb != NULL && st->resp->status >= 200 &&
	    st->resp->status < 300) {
		if (st->cb(at, len, st->arg) != 0) {
			st->stopped = 1;
			return (-1);
		}
		return (0);
	}
	if (st->resp->body_len + len <= HTTPC_KEEP_MAX)
		httpc_append(&st->resp->body, &st->resp->body_len, at, len);
	return (0);
}

static int
httpc_on_complete(http_parser *p)
{
	struct httpc_state	*st = p->data;

	st->done = 1;
	return (0);
}

/*
 * Send one request and read the response.  A 2xx body goes to cb (if not
 * NULL) as it arrives; any other body is kept in resp->body.  Returns 0
 * with resp->status set, or -1 with *cause set.
 */
int
httpc_request(const struct httpc_url *u, const char *method, const char *path,
    const char *const *headers, const void *body, size_t body_len,
    int timeout_ms, struct httpc_resp *resp, httpc_body_cb cb, void *arg,
    char **cause)
{
	http_parser_settings	 settings;
	http_parser		 parser;
	struct httpc_state	 st;
	struct pollfd		 pfd;
	char			*head = NULL, buf[65536];
	size_t			 i, n;
	ssize_t			 got;
	int			 fd, rc = -1;

	memset(resp, 0, sizeof *resp);
	if ((fd = httpc_connect(u, timeout_ms, cause)) == -1)
		return (-1);
	xasprintf(&head, "%s %s%s HTTP/1.1\r\nHost: %s:%d\r\n"
	    "User-Agent: logwire/%s\r\nConnection: close\r\n", method,
	    u->prefix, path, u->host, u->port, PACKAGE_VERSION);
	for (i = 0; headers != NULL && headers[i] != NULL; i++) {
		head = xrealloc(head, strlen(head) + strlen(headers[i]) + 3);
		strcat(head, headers[i]);
		strcat(head, "\r\n");
	}
	if (body != NULL) {
		n = strlen(head);
		head = xrealloc(head, n + 64);
		snprintf(head + n, 64, "Content-Length: %zu\r\n", body_len);
	}
	head = xrealloc(head, strlen(head) + 3);
	strcat(head, "\r\n");
	if (httpc_write(fd, head, strlen(head), timeout_ms) != 0 ||
	    (body != NULL && httpc_write(fd, body, body_len,
	    timeout_ms) != 0)) {
		xasprintf(cause, "cannot send the request: %s",
		    strerror(errno));
		goto out;
	}

	memset(&settings, 0, sizeof settings);
	settings.on_header_field = httpc_on_field;
	settings.on_header_value = httpc_on_value;
	settings.on_headers_complete = httpc_on_headers;
	settings.on_body = httpc_on_body;
	settings.on_message_complete = httpc_on_complete;
	memset(&st, 0, sizeof st);
	st.resp = resp;
	st.cb = cb;
	st.arg = arg;
	http_parser_init(&parser, HTTP_RESPONSE);
	parser.data = &st;
	while (!st.done) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, timeout_ms) != 1) {
			xasprintf(cause, "no answer from the server in %d ms",
			    timeout_ms);
			goto out_state;
		}
		got = read(fd, buf, sizeof buf);
		if (got == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (got < 0) {
			xasprintf(cause, "read: %s", strerror(errno));
			goto out_state;
		}
		n = http_parser_execute(&parser, &settings, buf, (size_t)got);
		if (st.stopped) {
			xasprintf(cause, "stopped while reading the response");
			goto out_state;
		}
		if (parser.http_errno != HPE_OK || (got > 0 &&
		    n != (size_t)got && !st.done)) {
			xasprintf(cause, "bad response from the server: %s",
			    http_errno_description(HTTP_PARSER_ERRNO(&parser)));
			goto out_state;
		}
		if (got == 0) {
			if (!st.done) {
				xasprintf(cause, "the server closed the "
				    "connection before the end of the response");
				goto out_state;
			}
			break;
		}
	}
	rc = 0;
out_state:
	free(st.field);
	free(st.value);
out:
	free(head);
	close(fd);
	return (rc);
}

/* Free what a response holds. */
void
httpc_resp_free(struct httpc_resp *r)
{
	free(r->body);
	free(r->content_encoding);
	free(r->content_type);
	memset(r, 0, sizeof *r);
}

/* Append s percent-encoded for a path segment or query value. */
void
httpc_pct_append(char **out, const char *s)
{
	static const char	 hex[] = "0123456789ABCDEF";
	size_t			 len = *out != NULL ? strlen(*out) : 0, j;
	unsigned char		 c;

	*out = xrealloc(*out, len + 3 * strlen(s) + 1);
	j = len;
	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~')
			(*out)[j++] = (char)c;
		else {
			(*out)[j++] = '%';
			(*out)[j++] = hex[c >> 4];
			(*out)[j++] = hex[c & 0xf];
		}
	}
	(*out)[j] = '\0';
}
