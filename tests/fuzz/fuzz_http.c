/*
 * Fuzz target: the HTTP request parser (src/server/http.c) fed arbitrary bytes in
 * arbitrary pieces, then every accessor a route would call.
 */

#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "logwired.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Look at a parsed request the way conn.c and rest.c do. */
static void
fuzz_http_inspect(struct http_req *r)
{
	const char	*body, *err;
	char		*path, *query;
	size_t		 len;

	(void)http_req_method(r);
	(void)http_req_keepalive(r);
	(void)http_req_upgrade(r);
	(void)http_req_status(r, &err);
	(void)http_token_has(http_req_header(r, "connection"), "upgrade");
	(void)http_req_header(r, "sec-websocket-key");
	body = http_req_body(r, &len);
	if (body != NULL && len > 0 && memchr(body, 0, len) == body + len)
		abort();
	if (http_split_url(http_req_url(r), &path, &len, &query) == 0) {
		if (strlen(path) != len)
			abort();	/* an encoded NUL must be refused */
		free(path);
		free(query);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_req	*r;
	struct evbuffer	*in, *out;
	size_t		 off = 0, step;
	int		 rc = HTTP_REQ_MORE, rounds = 0;

	r = http_req_new(4096, 65536);
	in = evbuffer_new();
	out = evbuffer_new();
	/* The first byte picks the piece size: parsers break at borders. */
	step = size > 0 ? (size_t)(data[0] % 17) + 1 : 1;
	while (off < size && rounds++ < 10000) {
		if (step > size - off)
			step = size - off;
		evbuffer_add(in, data + off, step);
		off += step;
		while ((rc = http_req_feed(r, in, out)) == HTTP_REQ_DONE) {
			fuzz_http_inspect(r);
			if (http_req_upgrade(r))
				break;
			http_req_reset(r);
		}
		if (rc == HTTP_REQ_ERROR || http_req_upgrade(r))
			break;
	}
	if (rc == HTTP_REQ_ERROR)
		fuzz_http_inspect(r);
	evbuffer_free(in);
	evbuffer_free(out);
	http_req_free(r);
	return (0);
}
