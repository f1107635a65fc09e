/*
 * logwire token: issue an HS256 access token signed with an API key's
 * secret, for clients that must not hold the secret itself.
 */

#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "auth.h"

static int	cmd_token_exec(struct cli *, struct cli_args *);

enum {
	CMD_TOKEN_SUB = CLI_OPT_FIRST + 0xc0,
	CMD_TOKEN_TTL,
	CMD_TOKEN_CAP
};

static const struct option cmd_token_longopts[] = {
	{ "sub",	required_argument,	NULL,	CMD_TOKEN_SUB },
	{ "ttl",	required_argument,	NULL,	CMD_TOKEN_TTL },
	{ "cap",	required_argument,	NULL,	CMD_TOKEN_CAP },
	{ NULL,		0,			NULL,	0 }
};

const struct cli_cmd cmd_token_entry = {
	.name = "token",
	.usage = "--key NAME:SECRET[:CAPABILITY] --sub ID --ttl DURATION "
	    "[--cap JSON]",
	.summary = "issue a signed access token",
	.help =
	    "  --key NAME:SECRET[:CAPABILITY]  the key whose secret signs the\n"
	    "                  token; the server must know the same key\n"
	    "  --sub ID        the client's identity: the client field of\n"
	    "                  what it publishes\n"
	    "  --ttl DURATION  lifetime, e.g. 15m or 1d (whole seconds)\n"
	    "  --cap JSON      narrow the key's capability, e.g.\n"
	    "                  '{\"orders:*\":[\"subscribe\"]}'; refused if it\n"
	    "                  allows more than the key's CAPABILITY\n"
	    "The token is printed alone on standard output.  Nothing is sent\n"
	    "to a server.\n",
	.longopts = cmd_token_longopts,
	.minargs = 0,
	.maxargs = 0,
	.exec = cmd_token_exec
};

/* Check the options and print a token. */
static int
cmd_token_exec(struct cli *cli, struct cli_args *args)
{
	struct apikey	*key = NULL;
	struct cap	*cap = NULL;
	const char	*sub, *ttl, *capjson;
	char		*cause = NULL, *token = NULL;
	uint64_t	 ttl_ms;
	int64_t		 now, ttl_s;
	int		 ret = CLI_EXIT_USAGE;

	sub = cli_args_get(args, CMD_TOKEN_SUB);
	ttl = cli_args_get(args, CMD_TOKEN_TTL);
	capjson = cli_args_get(args, CMD_TOKEN_CAP);
	if (cli->key == NULL)
		return (cli_usage_error(args, "--key is required"));
	if (sub == NULL)
		return (cli_usage_error(args, "--sub is required"));
	if (ttl == NULL)
		return (cli_usage_error(args, "--ttl is required"));
	if (duration_parse(ttl, &ttl_ms) != 0 || ttl_ms == 0 ||
	    ttl_ms / 1000 > TOKEN_TIME_MAX) {
		return (cli_usage_error(args, "bad --ttl: %s (a positive "
		    "duration such as 15m)", ttl));
	}
	ttl_s = (int64_t)((ttl_ms + 999) / 1000);
	now = (int64_t)time(NULL);
	if (now < 0 || ttl_s > TOKEN_TIME_MAX - now)
		return (cli_usage_error(args, "--ttl %s ends after 9999", ttl));

	if (apikey_parse(cli->key, &key, &cause) != 0) {
		cli_usage_error(args, "--key: %s", cause);
		goto out;
	}
	if (capjson != NULL) {
		if (cap_parse(capjson, strlen(capjson), &cap, &cause) != 0) {
			cli_usage_error(args, "--cap: %s", cause);
			goto out;
		}
		if (!cap_covers(key->cap, cap)) {
			cli_usage_error(args, "--cap allows more than key %s's "
			    "capability", key->name);
			goto out;
		}
	}
	if (token_sign(key, sub, now, now + ttl_s, capjson, &token,
	    &cause) != 0) {
		cli_usage_error(args, "%s", cause);
		goto out;
	}
	printf("%s\n", token);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		ret = cli_error(args, "cannot write the token");
		goto out;
	}
	ret = CLI_EXIT_OK;
out:
	free(token);
	free(cause);
	cap_free(cap);
	apikey_free(key);
	return (ret);
}
