/*
 * URLs of the clients: the server's base URL (http://host:port/prefix),
 * a WebSocket URL (ws://host:port/path?query), a benchmark's target.
 */

#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "client.h"

/* Return the default port of a (lower-case) scheme, or 0 if unknown. */
static int
url_default_port(const char *scheme)
{
	if (strcmp(scheme, "http") == 0 || strcmp(scheme, "ws") == 0)
		return (80);
	if (strcmp(scheme, "https") == 0 || strcmp(scheme, "wss") == 0)
		return (443);
	if (strcmp(scheme, "nats") == 0)
		return (4222);
	return (0);
}

/* Split a URL into scheme, host, port and path; -1 with cause if bad. */
int
url_parse(const char *s, struct url *u, char **cause)
{
	const char	*p, *end, *rest;
	char		*ep;
	size_t		 len, i;
	long		 port;

	memset(u, 0, sizeof *u);
	len = strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.");
	if (len == 0 || strncmp(s + len, "://", 3) != 0) {
		xasprintf(cause, "%s: bad URL (no scheme://)", s);
		return (-1);
	}
	u->scheme = xstrndup(s, len);
	for (i = 0; i < len; i++)
		u->scheme[i] = (char)tolower((unsigned char)u->scheme[i]);
	p = s + len + 3;

	if (*p == '[') {
		if ((end = strchr(p, ']')) == NULL)
			goto bad;
		u->host = xstrndup(p + 1, end - p - 1);
		rest = end + 1;
	} else {
		len = strcspn(p, ":/?#");
		u->host = xstrndup(p, len);
		rest = p + len;
	}
	if (*u->host == '\0' || strlen(u->host) > URL_HOST_MAX)
		goto bad;

	u->port = url_default_port(u->scheme);
	if (*rest == ':') {
		if (rest[1] < '0' || rest[1] > '9')
			goto bad;
		errno = 0;
		port = strtol(rest + 1, &ep, 10);
		if (errno != 0 || port < 1 || port > 65535)
			goto bad;
		u->port = (int)port;
		rest = ep;
	}
	if (*rest != '\0' && *rest != '/' && *rest != '?')
		goto bad;

	if (*rest == '/')
		u->path = xstrdup(rest);
	else
		xasprintf(&u->path, "/%s", rest);
	len = strcspn(u->path, "?#");
	while (len > 0 && u->path[len - 1] == '/')
		len--;
	u->prefix = xstrndup(u->path, len);
	return (0);

bad:
	xasprintf(cause, "%s: bad URL", s);
	url_free(u);
	return (-1);
}

/* Free what a parsed URL holds. */
void
url_free(struct url *u)
{
	free(u->scheme);
	free(u->host);
	free(u->path);
	free(u->prefix);
	memset(u, 0, sizeof *u);
}

/* Return "host:port" for a Host header, an IPv6 address in brackets. */
char *
url_hostport(const char *host, int port)
{
	char	*s;

	if (strchr(host, ':') != NULL && *host != '[')
		xasprintf(&s, "[%s]:%d", host, port);
	else
		xasprintf(&s, "%s:%d", host, port);
	return (s);
}
