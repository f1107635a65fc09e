/*
 * The REST commands of logwire: history, channels, export, and snapshot
 * from a running server.  Each prints NDJSON, one object per line, flushed
 * per line.
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <zstd.h>

#include "cli.h"
#include "client.h"

#define CMD_REST_DEFAULT_URL	"http://127.0.0.1:8080"
#define CMD_REST_TIMEOUT_MS	60000
#define CMD_REST_PAGE_MAX	1000

enum {
	CMD_REST_FROM = CLI_OPT_FIRST + 0x80,
	CMD_REST_TO,
	CMD_REST_START,
	CMD_REST_END,
	CMD_REST_LIMIT,
	CMD_REST_FORWARD,
	CMD_REST_BACKWARD,
	CMD_REST_PREFIX
};

static int	cmd_rest_history(struct cli *, struct cli_args *);
static int	cmd_rest_channels(struct cli *, struct cli_args *);
static int	cmd_rest_export(struct cli *, struct cli_args *);

static const struct option cmd_history_longopts[] = {
	{ "from",	required_argument,	NULL,	CMD_REST_FROM },
	{ "to",		required_argument,	NULL,	CMD_REST_TO },
	{ "start",	required_argument,	NULL,	CMD_REST_START },
	{ "end",	required_argument,	NULL,	CMD_REST_END },
	{ "limit",	required_argument,	NULL,	CMD_REST_LIMIT },
	{ "forward",	no_argument,		NULL,	CMD_REST_FORWARD },
	{ "backward",	no_argument,		NULL,	CMD_REST_BACKWARD },
	{ NULL,		0,			NULL,	0 }
};

const struct cli_cmd cmd_history_entry = {
	.name = "history",
	.usage = "CHANNEL [--from S] [--to S] [--start MS] [--end MS] "
	    "[--limit N] [--forward]",
	.summary = "print stored messages of a channel as NDJSON",
	.help =
	    "  --from S, --to S      serial bounds (inclusive)\n"
	    "  --start MS, --end MS  time bounds, Unix milliseconds (inclusive)\n"
	    "  --limit N             print at most N messages (default 100)\n"
	    "  --forward             oldest first (default: newest first)\n",
	.longopts = cmd_history_longopts,
	.minargs = 1,
	.maxargs = 1,
	.exec = cmd_rest_history
};

static const struct option cmd_channels_longopts[] = {
	{ "prefix",	required_argument,	NULL,	CMD_REST_PREFIX },
	{ NULL,		0,			NULL,	0 }
};

const struct cli_cmd cmd_channels_entry = {
	.name = "channels",
	.usage = "[--prefix P]",
	.summary = "list channels and their metadata as NDJSON",
	.help = "  --prefix P  only channels whose names start with P\n",
	.longopts = cmd_channels_longopts,
	.minargs = 0,
	.maxargs = 0,
	.exec = cmd_rest_channels
};

static const struct option cmd_export_longopts[] = {
	{ "from",	required_argument,	NULL,	CMD_REST_FROM },
	{ "to",		required_argument,	NULL,	CMD_REST_TO },
	{ "start",	required_argument,	NULL,	CMD_REST_START },
	{ "end",	required_argument,	NULL,	CMD_REST_END },
	{ "output",	required_argument,	NULL,	'o' },
	{ NULL,		0,			NULL,	0 }
};

const struct cli_cmd cmd_export_entry = {
	.name = "export",
	.usage = "CHANNEL [--from S] [--to S] [--start MS] [--end MS] "
	    "[-o FILE]",
	.summary = "write a range of a channel as NDJSON, for auditors",
	.help =
	    "  --from S, --to S      serial bounds (inclusive)\n"
	    "  --start MS, --end MS  time bounds, Unix milliseconds\n"
	    "  -o, --output FILE     write to FILE (zstd-compressed when it ends\n"
	    "                        in .zst) instead of standard output\n"
	    "FILE is written under a temporary name and renamed once complete.\n"
	    "A progress bar is shown on standard error when it is a terminal.\n",
	.shortopts = "o:",
	.longopts = cmd_export_longopts,
	.minargs = 1,
	.maxargs = 1,
	.exec = cmd_rest_export
};

/*
 * The Authorization header line for --token or --key, or NULL.  Returns
 * -1 if the key is too long to send.
 */
int
cmd_rest_auth(struct cli *cli, char **auth)
{
	char	b64[1024];
	size_t	len;

	*auth = NULL;
	if (cli->token != NULL)
		xasprintf(auth, "Authorization: Bearer %s", cli->token);
	else if (cli->key != NULL) {
		if ((len = strlen(cli->key)) > 700)
			return (-1);
		EVP_EncodeBlock((unsigned char *)b64,
		    (const unsigned char *)cli->key, (int)len);
		xasprintf(auth, "Authorization: Basic %s", b64);
	}
	return (0);
}

/* Parse the base URL and build the Authorization header, if any. */
static int
cmd_rest_setup(struct cli *cli, struct cli_args *args, struct httpc_url *u,
    char **auth)
{
	char	*cause;

	*auth = NULL;
	if (httpc_parse_url(cli->url != NULL ? cli->url : CMD_REST_DEFAULT_URL,
	    u, &cause) != 0) {
		cli_usage_error(args, "%s", cause);
		free(cause);
		return (-1);
	}
	if (cmd_rest_auth(cli, auth) != 0) {
		cli_usage_error(args, "--key is too long");
		return (-1);
	}
	return (0);
}

/* Report a failed response: the server's error message, or the status. */
static int
cmd_rest_fail(struct cli_args *args, const struct httpc_resp *r)
{
	json_t	*j, *e;
	int	 rc;

	j = r->body != NULL ? json_loadb(r->body, r->body_len, JSON_ALLOW_NUL,
	    NULL) : NULL;
	e = json_object_get(j, "error");
	if (json_is_string(json_object_get(e, "message")))
		rc = cli_error(args, "%s (%lld, HTTP %d)",
		    json_string_value(json_object_get(e, "message")),
		    json_integer_value(json_object_get(e, "code")), r->status);
	else
		rc = cli_error(args, "HTTP %d from the server", r->status);
	json_decref(j);
	return (rc);
}

/*
 * GET path with the header lines hdrs (NULL-terminated, or NULL) within
 * timeout_ms into *r (200 only; release it with httpc_resp_free), a 2xx
 * body going to cb when it is not NULL.  failed, if not NULL, is where cb
 * notes an errno, said with the error.  Returns 0, or -1 with *status
 * set after reporting the error.
 */
static int
cmd_rest_request(struct cli_args *args, const struct httpc_url *u,
    const char *path, const char *const *hdrs, int timeout_ms,
    httpc_body_cb cb, void *arg, const int *failed, struct httpc_resp *r,
    int *status)
{
	char	*cause;
	int	 e;

	if (httpc_request(u, "GET", path, hdrs, NULL, 0, timeout_ms, r, cb,
	    arg, &cause) != 0) {
		e = failed != NULL ? *failed : 0;
		*status = cli_error(args, "%s%s%s", cause, e != 0 ? ": " : "",
		    e != 0 ? strerror(e) : "");
		free(cause);
		return (-1);
	}
	if (r->status != 200) {
		*status = cmd_rest_fail(args, r);
		httpc_resp_free(r);
		return (-1);
	}
	return (0);
}

/* GET path with the Authorization line auth (or NULL), as above. */
static int
cmd_rest_get(struct cli_args *args, const struct httpc_url *u,
    const char *path, const char *auth, struct httpc_resp *r, int *status)
{
	const char	*hdrs[2] = { auth, NULL };

	return (cmd_rest_request(args, u, path, auth != NULL ? hdrs : NULL,
	    CMD_REST_TIMEOUT_MS, NULL, NULL, NULL, r, status));
}

/*
 * Open a temporary file beside file, to be renamed to it once complete;
 * *tmp gets its name (caller frees).  Returns the stream, or NULL with
 * *status set after reporting the error.
 */
static FILE *
cmd_rest_tmp_open(struct cli_args *args, const char *file, char **tmp,
    int *status)
{
	FILE	*f;
	int	 fd;

	xasprintf(tmp, "%s.tmp-XXXXXX", file);
	if ((fd = mkstemp(*tmp)) == -1 || (f = fdopen(fd, "w")) == NULL) {
		*status = cli_error(args, "%s: %s", file, strerror(errno));
		if (fd != -1) {
			close(fd);
			unlink(*tmp);
		}
		free(*tmp);
		*tmp = NULL;
		return (NULL);
	}
	return (f);
}

/*
 * Flush, sync and close f, the temporary file tmp, and rename it to file.
 * Returns 0, or -1 with *status set after reporting the error; f is
 * closed either way, tmp is the caller's to remove on failure.
 */
static int
cmd_rest_tmp_commit(struct cli_args *args, FILE *f, const char *tmp,
    const char *file, int *status)
{
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		*status = cli_error(args, "%s: %s", file, strerror(errno));
		fclose(f);
		return (-1);
	}
	if (fclose(f) != 0 || rename(tmp, file) != 0) {
		*status = cli_error(args, "%s: %s", file, strerror(errno));
		return (-1);
	}
	return (0);
}

/*
 * GET path and parse the JSON body.  Returns the body (caller frees), or
 * NULL after reporting the error.
 */
static json_t *
cmd_rest_get_json(struct cli_args *args, const struct httpc_url *u,
    const char *path, const char *auth, int *status)
{
	struct httpc_resp	 r;
	json_error_t		 err;
	json_t			*j;

	if (cmd_rest_get(args, u, path, auth, &r, status) != 0)
		return (NULL);
	j = json_loadb(r.body != NULL ? r.body : "", r.body_len,
	    JSON_ALLOW_NUL, &err);
	httpc_resp_free(&r);
	if (j == NULL) {
		*status = cli_error(args, "the server sent malformed JSON: %s",
		    err.text);
		return (NULL);
	}
	return (j);
}

/* Parse a decimal number: digits only, no sign or space.  0 or -1. */
static int
cmd_rest_decimal(const char *v, unsigned long long *n)
{
	char	*end;

	errno = 0;
	*n = strtoull(v, &end, 10);
	if (*v < '0' || *v > '9' || *end != '\0' || errno != 0)
		return (-1);
	return (0);
}

/* Append "&param=value" for a numeric option; -1 after a usage error. */
static int
cmd_rest_num(struct cli_args *args, int ch, const char *param, char **query)
{
	unsigned long long	 n;
	const char		*v;
	char			*q;

	if ((v = cli_args_get(args, ch)) == NULL)
		return (0);
	if (cmd_rest_decimal(v, &n) != 0) {
		cli_usage_error(args, "--%s: not a number: %s", param, v);
		return (-1);
	}
	xasprintf(&q, "%s&%s=%s", *query, param, v);
	free(*query);
	*query = q;
	return (0);
}

/* Build the range part of a query ("&from=..&to=.."), caller frees. */
static int
cmd_rest_range(struct cli_args *args, char **query)
{
	*query = xstrdup("");
	if (cmd_rest_num(args, CMD_REST_FROM, "from", query) != 0 ||
	    cmd_rest_num(args, CMD_REST_TO, "to", query) != 0 ||
	    cmd_rest_num(args, CMD_REST_START, "start", query) != 0 ||
	    cmd_rest_num(args, CMD_REST_END, "end", query) != 0) {
		free(*query);
		return (-1);
	}
	return (0);
}

/*
 * Set up a command on the channel named by the first operand: its range
 * query (*range), the base URL, the Authorization line and the channel's
 * path "/v1/channels/NAME" (*base); the caller frees the strings.
 * Returns 0, or -1 after a usage error.
 */
static int
cmd_rest_chan_setup(struct cli *cli, struct cli_args *args,
    struct httpc_url *u, char **auth, char **range, char **base)
{
	if (cmd_rest_range(args, range) != 0)
		return (-1);
	if (cmd_rest_setup(cli, args, u, auth) != 0) {
		free(*range);
		return (-1);
	}
	*base = xstrdup("/v1/channels/");
	httpc_pct_append(base, args->argv[0]);
	return (0);
}

/* Print one item as a line. */
static void
cmd_rest_print_item(json_t *item)
{
	char	*text;

	text = json_dumps(item, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (text != NULL) {
		printf("%s\n", text);
		fflush(stdout);
		free(text);
	}
}

/*
 * Print the items of a page that cannot be read as a whole one by one (at
 * most max), up to the first that cannot be read, and report that one:
 * the items before it are not lost and it is not skipped.  Returns an exit
 * status: 0 only if max items were printed before any trouble.
 */
static int
cmd_rest_print_salvage(struct cli_args *args, const char *body, size_t len,
    size_t max, const char *why)
{
	static const char	 prefix[] = "{\"items\":[";
	json_error_t		 err;
	json_t			*item;
	size_t			 off = sizeof prefix - 1, n = 0;

	if (len < off || memcmp(body, prefix, off) != 0)
		return (cli_error(args, "the server sent malformed JSON: %s",
		    why));
	while (n < max && off < len && body[off] == '{') {
		item = json_loadb(body + off, len - off, JSON_ALLOW_NUL |
		    JSON_DISABLE_EOF_CHECK, &err);
		if (item == NULL)
			return (cli_unreadable(args, body + off, len - off,
			    err.text));
		cmd_rest_print_item(item);
		json_decref(item);
		n++;
		off += (size_t)err.position;
		if (off < len && body[off] == ',')
			off++;
	}
	if (n == max)
		return (CLI_EXIT_OK);
	return (cli_error(args, "the server sent malformed JSON: %s", why));
}

/*
 * Print the items of the page at path and of the pages its next links
 * lead to, at most limit in all.  Frees path.  Returns an exit status.
 */
static int
cmd_rest_follow(struct cli_args *args, const struct httpc_url *u, char *path,
    const char *auth, size_t limit)
{
	struct httpc_resp	 r;
	json_error_t		 err;
	json_t			*page, *item;
	const char		*next;
	size_t			 printed = 0, i;
	int			 status = CLI_EXIT_OK;

	while (path != NULL && printed < limit) {
		if (cmd_rest_get(args, u, path, auth, &r, &status) != 0)
			break;
		free(path);
		path = NULL;
		page = json_loadb(r.body != NULL ? r.body : "", r.body_len,
		    JSON_ALLOW_NUL, &err);
		if (page == NULL) {
			status = cmd_rest_print_salvage(args, r.body != NULL ?
			    r.body : "", r.body_len, limit - printed, err.text);
			httpc_resp_free(&r);
			break;
		}
		httpc_resp_free(&r);
		json_array_foreach(json_object_get(page, "items"), i, item) {
			if (printed == limit)
				break;
			cmd_rest_print_item(item);
			printed++;
		}
		if ((next = json_string_value(json_object_get(page,
		    "next"))) != NULL)
			path = xstrdup(next);
		json_decref(page);
	}
	free(path);
	return (status);
}

/* logwire history: follow next links until the limit or the end. */
static int
cmd_rest_history(struct cli *cli, struct cli_args *args)
{
	struct httpc_url	 u;
	const char		*v;
	char			*auth, *path = NULL, *range, *base;
	unsigned long long	 limit = 100;
	int			 status;

	if (cli_args_has(args, CMD_REST_FORWARD) &&
	    cli_args_has(args, CMD_REST_BACKWARD))
		return (cli_usage_error(args, "--forward and --backward "
		    "cannot be combined"));
	if ((v = cli_args_get(args, CMD_REST_LIMIT)) != NULL &&
	    (cmd_rest_decimal(v, &limit) != 0 || limit == 0))
		return (cli_usage_error(args, "--limit: want a positive "
		    "integer"));
	if (cmd_rest_chan_setup(cli, args, &u, &auth, &range, &base) != 0)
		return (CLI_EXIT_USAGE);
	xasprintf(&path, "%s/messages?direction=%s&limit=%llu%s", base,
	    cli_args_has(args, CMD_REST_FORWARD) ? "forward" : "backward",
	    MIN(limit, (unsigned long long)CMD_REST_PAGE_MAX), range);
	free(base);
	free(range);
	status = cmd_rest_follow(args, &u, path, auth, (size_t)limit);
	free(auth);
	return (status);
}

/* logwire channels: every channel, page after page. */
static int
cmd_rest_channels(struct cli *cli, struct cli_args *args)
{
	struct httpc_url	 u;
	const char		*prefix;
	char			*auth, *path;
	int			 status;

	if (cmd_rest_setup(cli, args, &u, &auth) != 0)
		return (CLI_EXIT_USAGE);
	if ((prefix = cli_args_get(args, CMD_REST_PREFIX)) != NULL) {
		path = xstrdup("/v1/channels?limit=1000&prefix=");
		httpc_pct_append(&path, prefix);
	} else
		path = xstrdup("/v1/channels?limit=1000");
	status = cmd_rest_follow(args, &u, path, auth, SIZE_MAX);
	free(auth);
	return (status);
}

struct cmd_export {
	FILE		*out;
	int		 zstd;		/* the bytes are zstd */
	ZSTD_DCtx	*dctx;		/* to count lines for the progress bar */
	int		 tty;
	uint64_t	 total, lines, bytes;
	int		 failed;
};

/* Draw the progress bar. */
static void
cmd_export_progress(struct cmd_export *ex, int done)
{
	unsigned int	pct, i, w = 40;

	pct = ex->total > 0 ? (unsigned int)(MIN(ex->lines, ex->total) * 100 /
	    ex->total) : 100;
	fprintf(stderr, "\r[");
	for (i = 0; i < w; i++)
		fputc(i < pct * w / 100 ? '#' : ' ', stderr);
	fprintf(stderr, "] %3u%% %llu/%llu messages", pct,
	    (unsigned long long)ex->lines, (unsigned long long)ex->total);
	if (done)
		fputc('\n', stderr);
	fflush(stderr);
}

/* Count the newlines of decompressed export bytes. */
static void
cmd_export_count(struct cmd_export *ex, const char *p, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		if (p[i] == '\n')
			ex->lines++;
	}
}

/* Take one piece of the export body. */
static int
cmd_export_body(const char *p, size_t len, void *arg)
{
	struct cmd_export	*ex = arg;
	ZSTD_inBuffer		 in = { p, len, 0 };
	ZSTD_outBuffer		 ob;
	char			 buf[65536];
	size_t			 rc;

	if (fwrite(p, 1, len, ex->out) != len) {
		ex->failed = errno;
		return (-1);
	}
	ex->bytes += len;
	if (ex->zstd) {
		while (in.pos < in.size) {
			ob.dst = buf;
			ob.size = sizeof buf;
			ob.pos = 0;
			rc = ZSTD_decompressStream(ex->dctx, &ob, &in);
			if (ZSTD_isError(rc))
				break;
			cmd_export_count(ex, buf, ob.pos);
		}
	} else
		cmd_export_count(ex, p, len);
	if (ex->tty)
		cmd_export_progress(ex, 0);
	return (0);
}

/* logwire export: stream the range to a file or standard output. */
static int
cmd_rest_export(struct cli *cli, struct cli_args *args)
{
	struct httpc_url	 u;
	struct httpc_resp	 r;
	struct cmd_export	 ex;
	json_t			*meta;
	const char		*file, *hdrs[3];
	char			*auth, *path = NULL, *range = NULL, *tmp = NULL;
	char			*base;
	uint64_t		 lo, hi, v;
	size_t			 n = 0;
	int			 status = CLI_EXIT_ERROR, rc;

	memset(&ex, 0, sizeof ex);
	file = cli_args_get(args, 'o');
	if (cmd_rest_chan_setup(cli, args, &u, &auth, &range, &base) != 0)
		return (CLI_EXIT_USAGE);

	/* The channel's bounds give the progress bar its total. */
	if ((meta = cmd_rest_get_json(args, &u, base, auth, &status)) == NULL)
		goto out;
	lo = (uint64_t)json_integer_value(json_object_get(meta, "first"));
	hi = (uint64_t)json_integer_value(json_object_get(meta, "head"));
	json_decref(meta);
	if (cli_args_get(args, CMD_REST_FROM) != NULL &&
	    (v = strtoull(cli_args_get(args, CMD_REST_FROM), NULL, 10)) > lo)
		lo = v;
	if (cli_args_get(args, CMD_REST_TO) != NULL &&
	    (v = strtoull(cli_args_get(args, CMD_REST_TO), NULL, 10)) < hi)
		hi = v;
	ex.total = hi >= lo ? hi - lo + 1 : 0;

	ex.zstd = file != NULL && strlen(file) > 4 &&
	    strcmp(file + strlen(file) - 4, ".zst") == 0;
	if (file != NULL) {
		if ((ex.out = cmd_rest_tmp_open(args, file, &tmp,
		    &status)) == NULL)
			goto out;
	} else
		ex.out = stdout;
	if (ex.zstd && (ex.dctx = ZSTD_createDCtx()) == NULL)
		fatalx("ZSTD_createDCtx failed");
	ex.tty = isatty(STDERR_FILENO) && file != NULL;

	xasprintf(&path, "%s/export?%s", base, range[0] == '&' ? range + 1 :
	    range);
	if (auth != NULL)
		hdrs[n++] = auth;
	if (ex.zstd)
		hdrs[n++] = "Accept-Encoding: zstd";
	hdrs[n] = NULL;
	if (cmd_rest_request(args, &u, path, hdrs, CMD_REST_TIMEOUT_MS,
	    cmd_export_body, &ex, &ex.failed, &r, &status) != 0)
		goto out;
	if (ex.zstd && (r.content_encoding == NULL ||
	    strcmp(r.content_encoding, "zstd") != 0)) {
		httpc_resp_free(&r);
		status = cli_error(args, "the server did not compress the "
		    "export; cannot write %s", file);
		goto out;
	}
	httpc_resp_free(&r);
	if (file == NULL) {
		if (fflush(stdout) != 0) {
			status = cli_error(args, "stdout: %s",
			    strerror(errno));
			goto out;
		}
	} else {
		/* The commit closes the file whatever happens. */
		rc = cmd_rest_tmp_commit(args, ex.out, tmp, file, &status);
		ex.out = NULL;
		if (rc != 0)
			goto out;
		free(tmp);
		tmp = NULL;
	}
	if (ex.tty)
		cmd_export_progress(&ex, 1);
	if (file != NULL) {
		fprintf(stderr, "logwire: export: %llu messages, %llu bytes "
		    "to %s\n", (unsigned long long)ex.lines,
		    (unsigned long long)ex.bytes, file);
	}
	status = CLI_EXIT_OK;
out:
	if (ex.out != NULL && ex.out != stdout)
		fclose(ex.out);
	if (tmp != NULL) {
		unlink(tmp);
		free(tmp);
	}
	if (ex.dctx != NULL)
		ZSTD_freeDCtx(ex.dctx);
	free(base);
	free(path);
	free(range);
	free(auth);
	return (status);
}

struct cmd_snap {
	FILE		*out;
	int		 failed;
	uint64_t	 bytes;
};

/* Write a piece of a snapshot download. */
static int
cmd_snap_body(const char *p, size_t len, void *arg)
{
	struct cmd_snap	*sn = arg;

	if (fwrite(p, 1, len, sn->out) != len) {
		sn->failed = errno;
		return (-1);
	}
	sn->bytes += len;
	return (0);
}

/*
 * Fetch a snapshot from a running server (GET /v1/snapshot) into file,
 * through a temporary file renamed once complete and synced, and say how
 * many bytes it took (as the snapshot of a data directory does).
 */
int
cmd_rest_snapshot(struct cli *cli, struct cli_args *args, const char *file)
{
	struct httpc_url	 u;
	struct httpc_resp	 r;
	struct cmd_snap		 sn;
	struct timespec		 start, end;
	const char		*hdrs[2];
	char			*auth, *tmp = NULL;
	int			 rc, status = CLI_EXIT_ERROR;

	clock_gettime(CLOCK_MONOTONIC, &start);
	if (cmd_rest_setup(cli, args, &u, &auth) != 0)
		return (CLI_EXIT_USAGE);
	hdrs[0] = auth;
	hdrs[1] = NULL;
	memset(&sn, 0, sizeof sn);
	if ((sn.out = cmd_rest_tmp_open(args, file, &tmp, &status)) == NULL)
		goto out;
	if (cmd_rest_request(args, &u, "/v1/snapshot", auth != NULL ? hdrs :
	    NULL, CMD_REST_TIMEOUT_MS * 10, cmd_snap_body, &sn, &sn.failed, &r,
	    &status) != 0)
		goto out;
	httpc_resp_free(&r);
	/* The commit closes the file whatever happens. */
	rc = cmd_rest_tmp_commit(args, sn.out, tmp, file, &status);
	sn.out = NULL;
	if (rc != 0)
		goto out;
	clock_gettime(CLOCK_MONOTONIC, &end);
	fprintf(stderr, "logwire: snapshot: %s written from %s: %llu bytes "
	    "in %.2f s\n", file, cli->url != NULL ? cli->url :
	    CMD_REST_DEFAULT_URL, (unsigned long long)sn.bytes,
	    (end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9);
	status = CLI_EXIT_OK;
out:
	if (sn.out != NULL)
		fclose(sn.out);
	if (tmp != NULL && status != CLI_EXIT_OK)
		unlink(tmp);
	free(tmp);
	free(auth);
	return (status);
}
