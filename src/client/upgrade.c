/*
 * The client's side of the WebSocket opening handshake (RFC 6455 4.1),
 * shared by the blocking client (wsc.c) and the benchmark's event-driven
 * one: the upgrade request, and the check of the server's 101.
 */

#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common.h"
#include "client.h"

/* Return the upgrade request for path with key; the caller frees it. */
char *
upgrade_request(const char *path, const char *host, int port,
    const char *key, const char *protocol, const char *const *headers)
{
	const char *const	*h;
	char			*hostport, *req, *s;

	hostport = url_hostport(host, port);
	xasprintf(&req, "GET %s HTTP/1.1\r\n"
	    "Host: %s\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Key: %s\r\n"
	    "Sec-WebSocket-Version: 13\r\n", path, hostport, key);
	free(hostport);
	if (protocol != NULL && *protocol != '\0') {
		xasprintf(&s, "%sSec-WebSocket-Protocol: %s\r\n", req,
		    protocol);
		free(req);
		req = s;
	}
	for (h = headers; h != NULL && *h != NULL; h++) {
		xasprintf(&s, "%s%s\r\n", req, *h);
		free(req);
		req = s;
	}
	xasprintf(&s, "%s\r\n", req);
	free(req);
	return (s);
}

/* Check the server's answer to an upgrade sent with key and protocol. */
int
upgrade_check(const struct hresp *r, const char *key, const char *protocol,
    char **cause)
{
	const char	*v, *chosen;
	char		 want[WSKEY_ACCEPT_LEN + 1];

	if (hresp_status(r) != 101) {
		xasprintf(cause, "handshake: HTTP %d instead of 101",
		    hresp_status(r));
		return (-1);
	}
	v = hresp_header(r, "Upgrade");
	if (v == NULL || strcasecmp(v, "websocket") != 0) {
		xasprintf(cause, "handshake: bad Upgrade header");
		return (-1);
	}
	v = hresp_header(r, "Connection");
	if (v == NULL || strcasestr(v, "upgrade") == NULL) {
		xasprintf(cause, "handshake: bad Connection header");
		return (-1);
	}
	wskey_accept(key, want);
	v = hresp_header(r, "Sec-WebSocket-Accept");
	if (v == NULL || strcmp(v, want) != 0) {
		xasprintf(cause, "handshake: bad Sec-WebSocket-Accept");
		return (-1);
	}
	chosen = hresp_header(r, "Sec-WebSocket-Protocol");
	if (protocol != NULL && *protocol != '\0' &&
	    (chosen == NULL || strcmp(chosen, protocol) != 0)) {
		xasprintf(cause, "handshake: server did not accept "
		    "subprotocol %s", protocol);
		return (-1);
	}
	if ((protocol == NULL || *protocol == '\0') && chosen != NULL) {
		xasprintf(cause, "handshake: unrequested subprotocol %s",
		    chosen);
		return (-1);
	}
	return (0);
}
