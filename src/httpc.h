/*
 * httpc: the blocking HTTP/1.1 client of the logwire command line (a
 * client library of its own, like wsc.h).
 */

#ifndef HTTPC_H
#define HTTPC_H

#include <stddef.h>

#define HTTPC_KEEP_MAX	(1024 * 1024)	/* error bodies kept, bytes */

/* A server base URL: http://host[:port][/prefix]. */
struct httpc_url {
	char	host[256];
	int	port;
	char	prefix[512];	/* without a trailing slash */
};

/* A response.  body holds a non-2xx body (or a 2xx one without cb). */
struct httpc_resp {
	int	 status;
	char	*body;
	size_t	 body_len;
	char	*content_encoding;
	char	*content_type;
};

/* Called with each piece of a 2xx body; non-zero stops the transfer. */
typedef int	(*httpc_body_cb)(const char *, size_t, void *);

int	httpc_parse_url(const char *, struct httpc_url *, char **);
int	httpc_request(const struct httpc_url *, const char *, const char *,
	    const char *const *, const void *, size_t, int,
	    struct httpc_resp *, httpc_body_cb, void *, char **);
void	httpc_resp_free(struct httpc_resp *);
void	httpc_pct_append(char **, const char *);

#endif /* HTTPC_H */
