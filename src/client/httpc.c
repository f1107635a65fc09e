/*
 * A small blocking HTTP/1.1 client for the logwire command line: one
 * request per connection, the response read by hresp.c (chunked bodies
 * decoded), the body handed to a callback as it arrives so that an export
 * of any size streams through.
 */

#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "client.h"

/* Split a base URL: http://host[:port][/prefix].  Returns -1 with cause. */
int
httpc_parse_url(const char *url, struct httpc_url *u, char **cause)
{
	struct url	parsed;
	int		rc = -1;

	memset(u, 0, sizeof *u);
	if (url_parse(url, &parsed, cause) != 0)
		return (-1);
	if (strcmp(parsed.scheme, "https") == 0)
		xasprintf(cause, "%s: https is not supported by this build of "
		    "logwire yet", url);
	else if (strcmp(parsed.scheme, "http") != 0)
		xasprintf(cause, "%s: want an http:// URL", url);
	else if (strlen(parsed.prefix) >= sizeof u->prefix)
		xasprintf(cause, "%s: bad URL", url);
	else {
		snprintf(u->host, sizeof u->host, "%s", parsed.host);
		u->port = parsed.port;
		snprintf(u->prefix, sizeof u->prefix, "%s", parsed.prefix);
		rc = 0;
	}
	url_free(&parsed);
	return (rc);
}

/* Keep a header of the response if it is one the caller gets. */
static char *
httpc_header(const struct hresp *r, const char *name)
{
	const char	*v;

	return ((v = hresp_header(r, name)) != NULL ? xstrdup(v) : NULL);
}

/*
 * Return the head of a request for target: the request line, Host,
 * User-Agent, Connection: close (one request per connection), the extra
 * header lines and, with a body, its Content-Length.  The caller frees it.
 */
char *
httpc_head(const char *method, const char *target, const char *host,
    int port, const char *const *headers, const void *body, size_t body_len)
{
	const char *const	*h;
	char			*head, *hostport, *s;

	hostport = url_hostport(host, port);
	xasprintf(&head, "%s %s HTTP/1.1\r\nHost: %s\r\n"
	    "User-Agent: logwire/%s\r\nConnection: close\r\n", method,
	    target, hostport, PACKAGE_VERSION);
	free(hostport);
	for (h = headers; h != NULL && *h != NULL; h++) {
		xasprintf(&s, "%s%s\r\n", head, *h);
		free(head);
		head = s;
	}
	if (body != NULL)
		xasprintf(&s, "%sContent-Length: %zu\r\n\r\n", head, body_len);
	else
		xasprintf(&s, "%s\r\n", head);
	free(head);
	return (s);
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
	struct hresp		*r = NULL;
	char			*head, *target;
	size_t			 len;
	int			 fd, rc = -1;

	memset(resp, 0, sizeof *resp);
	if ((fd = net_connect(u->host, u->port, net_deadline(timeout_ms),
	    cause)) == -1)
		return (-1);
	xasprintf(&target, "%s%s", u->prefix, path);
	head = httpc_head(method, target, u->host, u->port, headers, body,
	    body_len);
	free(target);
	if (net_write(fd, head, strlen(head), net_deadline(timeout_ms)) != 0 ||
	    (body != NULL && net_write(fd, body, body_len,
	    net_deadline(timeout_ms)) != 0)) {
		xasprintf(cause, "cannot send the request: %s",
		    strerror(errno));
		goto out;
	}

	r = hresp_new(strcmp(method, "HEAD") == 0, HTTPC_KEEP_MAX, cb, arg);
	if (hresp_read(r, fd, -1, timeout_ms, cause) != 0)
		goto out;
	resp->status = hresp_status(r);
	resp->content_encoding = httpc_header(r, "Content-Encoding");
	resp->content_type = httpc_header(r, "Content-Type");
	hresp_body(r, &len);
	if (len != 0)
		resp->body = hresp_take_body(r, &resp->body_len);
	rc = 0;

out:
	hresp_free(r);
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
