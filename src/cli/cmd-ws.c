/*
 * The WebSocket commands of logwire: tail (follow a channel, resuming by
 * itself after a dropped connection) and publish.
 */

#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "client.h"

#define CMD_WS_DEFAULT_URL	"http://127.0.0.1:8080"
#define CMD_WS_TIMEOUT_MS	30000
#define CMD_WS_BACKOFF_MAX_MS	5000

enum {
	CMD_WS_FROM = CLI_OPT_FIRST + 0x40,
	CMD_WS_EPOCH,
	CMD_WS_REWIND,
	CMD_WS_SINCE,
	CMD_WS_ID,
	CMD_WS_NAME,
	CMD_WS_COUNT
};

static int	cmd_ws_tail(struct cli *, struct cli_args *);
static int	cmd_ws_publish(struct cli *, struct cli_args *);

static const struct option cmd_tail_longopts[] = {
	{ "from",	required_argument,	NULL,	CMD_WS_FROM },
	{ "epoch",	required_argument,	NULL,	CMD_WS_EPOCH },
	{ "rewind",	required_argument,	NULL,	CMD_WS_REWIND },
	{ "since",	required_argument,	NULL,	CMD_WS_SINCE },
	{ "count",	required_argument,	NULL,	'n' },
	{ NULL,		0,			NULL,	0 }
};

const struct cli_cmd cmd_tail_entry = {
	.name = "tail",
	.usage = "CHANNEL [--from SERIAL --epoch E | --rewind N|DURATION | "
	    "--since MS] [-n COUNT]",
	.summary = "follow a channel, printing each message as NDJSON",
	.help =
	    "  --from SERIAL --epoch E  resume after SERIAL of epoch E\n"
	    "  --rewind N|DURATION      start with the last N messages, or\n"
	    "                           those of the last DURATION (10m, 2h)\n"
	    "  --since MS               start at Unix time MS (milliseconds)\n"
	    "  -n, --count COUNT        exit after COUNT messages\n"
	    "Without a position tail starts live.  After a dropped connection\n"
	    "it reconnects and resumes after the last serial it printed, so no\n"
	    "message is lost or printed twice.  Gaps and epoch changes are\n"
	    "reported on standard error.\n",
	.shortopts = "n:",
	.longopts = cmd_tail_longopts,
	.minargs = 1,
	.maxargs = 1,
	.exec = cmd_ws_tail
};

static const struct option cmd_publish_longopts[] = {
	{ "id",		required_argument,	NULL,	CMD_WS_ID },
	{ "name",	required_argument,	NULL,	CMD_WS_NAME },
	{ NULL,		0,			NULL,	0 }
};

const struct cli_cmd cmd_publish_entry = {
	.name = "publish",
	.usage = "CHANNEL DATA [--id ID] [--name NAME]",
	.summary = "publish one message and print the server's ack",
	.help =
	    "  --id ID      idempotency key: a second publish with the same\n"
	    "               ID within the dedupe window is not stored again\n"
	    "  --name NAME  event name\n"
	    "DATA is sent as JSON when it parses as JSON, otherwise as a JSON\n"
	    "string.  The ack (serial, id, duplicate, sync) is printed as one\n"
	    "JSON line once the message is committed.\n",
	.longopts = cmd_publish_longopts,
	.minargs = 2,
	.maxargs = 2,
	.exec = cmd_ws_publish
};

static volatile sig_atomic_t	cmd_ws_stop;

/* Stop tail on SIGINT or SIGTERM. */
static void
cmd_ws_signal(int sig)
{
	cmd_ws_stop = 1;
}

/* Connect to the server's WebSocket with the credentials given. */
static struct wsc *
cmd_ws_connect(struct cli *cli, char **cause)
{
	struct wsc_opts	 opts;
	struct wsc	*ws;
	const char	*hdrs[2] = { NULL, NULL };
	char		*auth;
	int		 status = 0;

	memset(&opts, 0, sizeof opts);
	if (cmd_rest_auth(cli, &auth) != 0) {
		*cause = xstrdup("--key is too long");
		return (NULL);
	}
	hdrs[0] = auth;
	opts.headers = auth != NULL ? hdrs : NULL;
	opts.timeout_ms = 10000;
	ws = wsc_connect_url(cli->url != NULL ? cli->url : CMD_WS_DEFAULT_URL,
	    &opts, &status, cause);
	free(auth);
	return (ws);
}

/* Send a JSON request, consuming it. */
static int
cmd_ws_send(struct wsc *ws, json_t *req)
{
	char	*text;
	int	 rc;

	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (text == NULL)
		return (-1);
	rc = wsc_send_text(ws, text, strlen(text));
	free(text);
	return (rc);
}

/*
 * Wait for the next JSON object from the server.  Returns 1 with *out set,
 * 0 on timeout, -1 when the connection is gone, -2 after reporting a
 * message that cannot be read (never skipped: the caller stops).  Strings
 * may hold \u0000, which the server stores in data.
 */
static int
cmd_ws_recv(struct cli_args *args, struct wsc *ws, int timeout_ms,
    json_t **out)
{
	struct wsc_msg	m;
	json_error_t	err;
	int		rc;

	if ((rc = wsc_recv(ws, timeout_ms, &m)) <= 0)
		return (rc);
	if (m.opcode == WSC_CLOSE) {
		wsc_msg_free(&m);
		return (-1);
	}
	*out = NULL;
	if (m.opcode != WSC_TEXT)
		snprintf(err.text, sizeof err.text, "a binary frame");
	else if ((*out = json_loadb(m.data, m.len, JSON_ALLOW_NUL,
	    &err)) != NULL && !json_is_object(*out)) {
		snprintf(err.text, sizeof err.text, "not a JSON object");
		json_decref(*out);
		*out = NULL;
	}
	if (*out == NULL) {
		cli_unreadable(args, m.data, m.len, err.text);
		wsc_msg_free(&m);
		return (-2);
	}
	wsc_msg_free(&m);
	return (1);
}

/* Build the subscribe request for tail's position. */
static json_t *
cmd_ws_subscribe_req(const char *channel, const char *epoch, uint64_t last,
    int resuming, struct cli_args *args)
{
	json_t		*req;
	const char	*v;
	uint64_t	 n;
	char		*end;

	req = json_pack("{s:s, s:s, s:i}", "op", "subscribe", "channel",
	    channel, "ref", 1);
	if (resuming) {
		json_object_set_new(req, "from", json_pack("{s:I, s:s}",
		    "serial", (json_int_t)last, "epoch", epoch));
		return (req);
	}
	if ((v = cli_args_get(args, CMD_WS_FROM)) != NULL) {
		n = strtoull(v, &end, 10);
		json_object_set_new(req, "from", json_pack("{s:I, s:s}",
		    "serial", (json_int_t)n, "epoch",
		    cli_args_get(args, CMD_WS_EPOCH)));
	} else if ((v = cli_args_get(args, CMD_WS_REWIND)) != NULL) {
		n = strtoull(v, &end, 10);
		if (*end == '\0')
			json_object_set_new(req, "rewind",
			    json_integer((json_int_t)n));
		else
			json_object_set_new(req, "rewind", json_string(v));
	} else if ((v = cli_args_get(args, CMD_WS_SINCE)) != NULL) {
		n = strtoull(v, &end, 10);
		json_object_set_new(req, "since", json_integer((json_int_t)n));
	}
	return (req);
}

/* Check tail's position options; returns 0 or a usage error status. */
static int
cmd_ws_tail_check(struct cli_args *args, uint64_t *count)
{
	const char	*from, *epoch, *rewind, *since, *v;
	uint64_t	 ms;
	char		*end;
	int		 given;

	from = cli_args_get(args, CMD_WS_FROM);
	epoch = cli_args_get(args, CMD_WS_EPOCH);
	rewind = cli_args_get(args, CMD_WS_REWIND);
	since = cli_args_get(args, CMD_WS_SINCE);
	given = (from != NULL) + (rewind != NULL) + (since != NULL);
	if (given > 1)
		return (cli_usage_error(args, "--from, --rewind and --since "
		    "cannot be combined"));
	if ((from != NULL) != (epoch != NULL))
		return (cli_usage_error(args, "--from and --epoch go together"));
	if (from != NULL && (strtoull(from, &end, 10), *end != '\0' ||
	    *from < '0' || *from > '9'))
		return (cli_usage_error(args, "--from: not a serial: %s", from));
	if (epoch != NULL && strlen(epoch) != STORE_EPOCH_LEN)
		return (cli_usage_error(args, "--epoch: want 16 hex "
		    "characters"));
	if (rewind != NULL && (*rewind < '0' || *rewind > '9' ||
	    (strtoull(rewind, &end, 10), *end != '\0' &&
	    duration_parse(rewind, &ms) != 0)))
		return (cli_usage_error(args, "--rewind: want a count or a "
		    "duration such as 10m"));
	if (since != NULL && (strtoull(since, &end, 10), *end != '\0' ||
	    *since < '0' || *since > '9'))
		return (cli_usage_error(args, "--since: want Unix "
		    "milliseconds"));
	*count = 0;
	if ((v = cli_args_get(args, 'n')) != NULL) {
		*count = strtoull(v, &end, 10);
		if (*end != '\0' || *v < '0' || *v > '9' || *count == 0)
			return (cli_usage_error(args, "--count: want a "
			    "positive integer"));
	}
	return (0);
}

/* Print one message as an NDJSON line (without the op). */
static void
cmd_ws_print(json_t *msg)
{
	char	*text;

	json_object_del(msg, "op");
	text = json_dumps(msg, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (text != NULL) {
		printf("%s\n", text);
		fflush(stdout);
		free(text);
	}
}

/* Sleep ms milliseconds unless stopped. */
static void
cmd_ws_sleep(unsigned int ms)
{
	struct timespec	ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	if (!cmd_ws_stop)
		nanosleep(&ts, NULL);
}

/*
 * Follow a channel.  The first subscribe uses the position asked for;
 * every reconnect resumes with from = the last serial printed and the
 * epoch of the subscription, so a dropped connection loses nothing.
 */
static int
cmd_ws_tail(struct cli *cli, struct cli_args *args)
{
	struct sigaction	 sa;
	struct wsc		*ws = NULL;
	json_t			*m;
	const char		*channel = args->argv[0], *op, *s;
	char			*cause = NULL, epoch[STORE_EPOCH_LEN + 1] = "";
	uint64_t		 last = 0, count = 0, printed = 0, serial;
	unsigned int		 backoff = 100;
	int			 rc, resuming = 0, ready = 0, live;
	int			 ret = CLI_EXIT_ERROR;

	if ((rc = cmd_ws_tail_check(args, &count)) != 0)
		return (rc);
	live = cli_args_get(args, CMD_WS_FROM) == NULL &&
	    cli_args_get(args, CMD_WS_REWIND) == NULL &&
	    cli_args_get(args, CMD_WS_SINCE) == NULL;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = cmd_ws_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	while (!cmd_ws_stop) {
		if ((ws = cmd_ws_connect(cli, &cause)) == NULL) {
			if (!ready && epoch[0] == '\0') {
				fprintf(stderr, "logwire: tail: %s\n", cause);
				free(cause);
				return (CLI_EXIT_ERROR);
			}
			free(cause);
			cause = NULL;
			cmd_ws_sleep(backoff);
			backoff = MIN(backoff * 2, CMD_WS_BACKOFF_MAX_MS);
			continue;
		}
		if (cmd_ws_send(ws, cmd_ws_subscribe_req(channel, epoch, last,
		    resuming, args)) != 0)
			goto dropped;
		while (!cmd_ws_stop) {
			rc = cmd_ws_recv(args, ws, 500, &m);
			if (rc == 0)
				continue;
			if (rc == -2)
				goto out;
			if (rc < 0)
				break;
			op = json_string_value(json_object_get(m, "op"));
			if (op == NULL)
				op = "";
			if (strcmp(op, "subscribed") == 0) {
				backoff = 100;
				if ((s = json_string_value(json_object_get(m,
				    "epoch"))) != NULL &&
				    strlen(s) == STORE_EPOCH_LEN) {
					if (resuming && strcmp(s, epoch) != 0)
						fprintf(stderr, "logwire: tail: "
						    "epoch changed (%s to %s): "
						    "continuity broken\n",
						    epoch, s);
					memcpy(epoch, s, sizeof epoch);
				}
				if (json_is_false(json_object_get(m,
				    "resumed")) && !resuming)
					fprintf(stderr, "logwire: tail: not "
					    "resumed (%s): starting live\n",
					    json_string_value(json_object_get(m,
					    "reason")));
				if (!resuming && cli_args_get(args,
				    CMD_WS_FROM) != NULL) {
					last = strtoull(cli_args_get(args,
					    CMD_WS_FROM), NULL, 10);
					ready = 1;
				} else if (!resuming && live) {
					last = (uint64_t)json_integer_value(
					    json_object_get(m, "head"));
					ready = 1;
				}
			} else if (strcmp(op, "message") == 0) {
				serial = (uint64_t)json_integer_value(
				    json_object_get(m, "serial"));
				last = serial;
				ready = 1;
				cmd_ws_print(m);
				if (count != 0 && ++printed >= count) {
					json_decref(m);
					ret = CLI_EXIT_OK;
					goto out;
				}
			} else if (strcmp(op, "gap") == 0) {
				fprintf(stderr, "logwire: tail: gap: serials "
				    "%lld to %lld are gone (%s)\n",
				    json_integer_value(json_object_get(m,
				    "from")), json_integer_value(
				    json_object_get(m, "to")),
				    json_string_value(json_object_get(m,
				    "reason")));
			} else if (strcmp(op, "error") == 0) {
				fprintf(stderr, "logwire: tail: %s (%lld)\n",
				    json_string_value(json_object_get(m,
				    "message")), json_integer_value(
				    json_object_get(m, "code")));
				json_decref(m);
				goto out;
			}
			json_decref(m);
		}
dropped:
		wsc_close(ws);
		ws = NULL;
		if (cmd_ws_stop)
			break;
		/*
		 * Once a position is known (a message printed, or a live or
		 * from start confirmed), every reconnect resumes after it;
		 * before that, the first request is simply sent again.
		 */
		resuming = ready;
		fprintf(stderr, "logwire: tail: connection lost; resuming "
		    "after serial %llu\n", (unsigned long long)last);
		cmd_ws_sleep(backoff);
		backoff = MIN(backoff * 2, CMD_WS_BACKOFF_MAX_MS);
	}
	ret = CLI_EXIT_OK;
out:
	if (ws != NULL)
		wsc_close(ws);
	return (ret);
}

/* Publish one message and print the ack. */
static int
cmd_ws_publish(struct cli *cli, struct cli_args *args)
{
	struct wsc	*ws;
	json_t		*req, *data, *m = NULL;
	const char	*v, *op;
	char		*cause = NULL, *text;
	int		 rc, ret = CLI_EXIT_ERROR;

	data = json_loads(args->argv[1], JSON_DECODE_ANY | JSON_ALLOW_NUL,
	    NULL);
	if (data == NULL)
		data = json_string(args->argv[1]);
	if (data == NULL)
		return (cli_usage_error(args, "DATA is not valid UTF-8"));
	req = json_pack("{s:s, s:s, s:i, s:o}", "op", "publish", "channel",
	    args->argv[0], "ref", 1, "data", data);
	if ((v = cli_args_get(args, CMD_WS_ID)) != NULL)
		json_object_set_new(req, "id", json_string(v));
	if ((v = cli_args_get(args, CMD_WS_NAME)) != NULL)
		json_object_set_new(req, "name", json_string(v));

	if ((ws = cmd_ws_connect(cli, &cause)) == NULL) {
		fprintf(stderr, "logwire: publish: %s\n", cause);
		free(cause);
		json_decref(req);
		return (CLI_EXIT_ERROR);
	}
	if (cmd_ws_send(ws, req) != 0) {
		fprintf(stderr, "logwire: publish: cannot send\n");
		goto out;
	}
	for (;;) {
		if ((rc = cmd_ws_recv(args, ws, CMD_WS_TIMEOUT_MS, &m)) <= 0) {
			if (rc == 0)
				fprintf(stderr, "logwire: publish: no answer "
				    "from the server\n");
			else if (rc == -1)
				fprintf(stderr, "logwire: publish: connection "
				    "lost\n");
			goto out;
		}
		op = json_string_value(json_object_get(m, "op"));
		if (op != NULL && strcmp(op, "published") == 0)
			break;
		if (op != NULL && strcmp(op, "error") == 0) {
			fprintf(stderr, "logwire: publish: %s (%lld)\n",
			    json_string_value(json_object_get(m, "message")),
			    json_integer_value(json_object_get(m, "code")));
			goto out;
		}
		json_decref(m);
		m = NULL;
	}
	json_object_del(m, "op");
	json_object_del(m, "ref");
	text = json_dumps(m, JSON_COMPACT | JSON_PRESERVE_ORDER);
	printf("%s\n", text);
	free(text);
	ret = CLI_EXIT_OK;
out:
	json_decref(m);
	wsc_close(ws);
	return (ret);
}
