/*
 * logwired: the logwire server daemon.  Flags now; the configuration file
 * (logwired.conf) comes later and flags will override it.
 */

#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logwired.h"

enum {
	OPT_SYNC = 0x100,
	OPT_SYNC_INTERVAL,
	OPT_MAX_MESSAGE,
	OPT_MAX_SUBS,
	OPT_MAX_CONNS,
	OPT_MAX_OUTPUT,
	OPT_MAX_INFLIGHT,
	OPT_MAX_HEAD,
	OPT_MAX_BODY,
	OPT_CORS,
	OPT_HEADER_TIMEOUT,
	OPT_PING_INTERVAL,
	OPT_PING_TIMEOUT,
	OPT_SHUTDOWN_TIMEOUT,
	OPT_DEDUPE,
	OPT_BATCH,
	OPT_INSECURE,
	OPT_VERSION
};

static const struct option logwired_opts[] = {
	{ "listen",		required_argument, NULL, 'l' },
	{ "data",		required_argument, NULL, 'd' },
	{ "sync",		required_argument, NULL, OPT_SYNC },
	{ "sync-interval",	required_argument, NULL, OPT_SYNC_INTERVAL },
	{ "max-message-bytes",	required_argument, NULL, OPT_MAX_MESSAGE },
	{ "max-subscriptions",	required_argument, NULL, OPT_MAX_SUBS },
	{ "max-connections",	required_argument, NULL, OPT_MAX_CONNS },
	{ "max-output-bytes",	required_argument, NULL, OPT_MAX_OUTPUT },
	{ "max-inflight",	required_argument, NULL, OPT_MAX_INFLIGHT },
	{ "max-header-bytes",	required_argument, NULL, OPT_MAX_HEAD },
	{ "max-body-bytes",	required_argument, NULL, OPT_MAX_BODY },
	{ "cors-origin",	required_argument, NULL, OPT_CORS },
	{ "header-timeout",	required_argument, NULL, OPT_HEADER_TIMEOUT },
	{ "ping-interval",	required_argument, NULL, OPT_PING_INTERVAL },
	{ "ping-timeout",	required_argument, NULL, OPT_PING_TIMEOUT },
	{ "shutdown-timeout",	required_argument, NULL, OPT_SHUTDOWN_TIMEOUT },
	{ "dedupe-window",	required_argument, NULL, OPT_DEDUPE },
	{ "batch-max",		required_argument, NULL, OPT_BATCH },
	{ "insecure-open",	no_argument,	   NULL, OPT_INSECURE },
	{ "test",		no_argument,	   NULL, 't' },
	{ "verbose",		no_argument,	   NULL, 'v' },
	{ "help",		no_argument,	   NULL, 'h' },
	{ "version",		no_argument,	   NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 }
};

/* Print the usage text. */
static void
usage(FILE *f)
{
	fprintf(f,
"usage: logwired [-tv] [-l ADDR:PORT]... [-d DATADIR] [--sync always|batch|none]\n"
"                [options]\n"
"\n"
"  -l, --listen ADDR:PORT      listen here (repeatable; [::1]:8080 for IPv6)\n"
"                              default 127.0.0.1:8080\n"
"  -d, --data DATADIR          data directory (default ./var)\n"
"      --sync POLICY           always (fsync every group commit, default),\n"
"                              batch (fsync every --sync-interval), none\n"
"      --sync-interval DUR     batch sync interval (default 100ms)\n"
"      --max-message-bytes N   largest publish (default 65536)\n"
"      --max-subscriptions N   per connection (default 256)\n"
"      --max-connections N     (default 100000, lowered to fit the\n"
"                              open-file limit)\n"
"      --max-output-bytes N    slow-subscriber watermark (default 1048576)\n"
"      --max-inflight N        unacknowledged publishes per connection\n"
"                              before it is read no more (default 1024)\n"
"      --max-header-bytes N    largest HTTP request head (default 16384)\n"
"      --max-body-bytes N      largest HTTP request body (default 8388608)\n"
"      --cors-origin ORIGIN    allow this browser origin on the REST API\n"
"                              (repeatable; * for any)\n"
"      --header-timeout DUR    time to send a request head (default 10s)\n"
"      --ping-interval DUR     WebSocket ping interval (default 20s)\n"
"      --ping-timeout DUR      time to answer a ping (default 20s)\n"
"      --shutdown-timeout DUR  at SIGTERM, time clients get to read their\n"
"                              last replies (default 10s)\n"
"      --dedupe-window DUR     idempotent publish window (default 2m)\n"
"      --batch-max N           messages per group commit (default 4096)\n"
"      --insecure-open         allow open mode on non-loopback addresses\n"
"  -t, --test                  check the configuration and exit\n"
"  -v, --verbose               log each connection\n"
"  -h, --help                  this text\n"
"      --version               print the version\n"
"\n"
"Durations are an integer and a unit: 500ms, 30s, 10m, 2h, 1d.\n"
"See logwired(8) and logwire-protocol(7).\n");
}

/* Fill cfg with the defaults. */
void
config_default(struct config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->datadir = NULL;
	cfg->sync = STORE_SYNC_ALWAYS;
	cfg->sync_interval_ms = 100;
	cfg->max_message_bytes = 64 * 1024;
	cfg->max_subscriptions = 256;
	cfg->max_connections = 100000;
	cfg->max_output_bytes = 1024 * 1024;
	cfg->max_inflight = 1024;
	cfg->max_head_bytes = 16 * 1024;
	cfg->max_body_bytes = 8 * 1024 * 1024;
	cfg->header_timeout_ms = 10 * 1000;
	cfg->ping_interval_ms = 20 * 1000;
	cfg->ping_timeout_ms = 20 * 1000;
	cfg->shutdown_timeout_ms = 10 * 1000;
	cfg->dedupe_window_ms = 120 * 1000;
	cfg->batch_max = 4096;
}

/* Parse a positive size flag or exit 2. */
static size_t
flag_size(const char *name, const char *arg, size_t min, size_t max)
{
	unsigned long long	 n;
	char			*end;

	errno = 0;
	n = strtoull(arg, &end, 10);
	if (errno != 0 || *end != '\0' || arg[0] == '-' || n < min ||
	    n > max) {
		fprintf(stderr, "logwired: --%s: want an integer from %zu to "
		    "%zu, not \"%s\"\n", name, min, max, arg);
		exit(2);
	}
	return ((size_t)n);
}

/* Parse a duration flag (milliseconds) or exit 2. */
static unsigned int
flag_duration(const char *name, const char *arg)
{
	uint64_t	ms;

	if (duration_parse(arg, &ms) != 0 || ms == 0 || ms > UINT_MAX) {
		fprintf(stderr, "logwired: --%s: want a duration such as 500ms, "
		    "30s, 10m, not \"%s\"\n", name, arg);
		exit(2);
	}
	return ((unsigned int)ms);
}

int
main(int argc, char **argv)
{
	struct config	 cfg;
	char		*cause;
	int		 ch;

	config_default(&cfg);
	while ((ch = getopt_long(argc, argv, "l:d:tvh", logwired_opts,
	    NULL)) != -1) {
		switch (ch) {
		case 'l':
			cfg.listen = xrealloc(cfg.listen,
			    (cfg.nlisten + 1) * sizeof *cfg.listen);
			cfg.listen[cfg.nlisten++] = optarg;
			break;
		case 'd':
			cfg.datadir = optarg;
			break;
		case OPT_SYNC:
			if (store_sync_parse(optarg, &cfg.sync) != 0) {
				fprintf(stderr, "logwired: --sync: want always, "
				    "batch or none, not \"%s\"\n", optarg);
				return (2);
			}
			break;
		case OPT_SYNC_INTERVAL:
			cfg.sync_interval_ms = flag_duration("sync-interval",
			    optarg);
			break;
		case OPT_MAX_MESSAGE:
			cfg.max_message_bytes = flag_size("max-message-bytes",
			    optarg, 256, STORE_DATA_MAX / 4);
			break;
		case OPT_MAX_SUBS:
			cfg.max_subscriptions = flag_size("max-subscriptions",
			    optarg, 1, 1000000);
			break;
		case OPT_MAX_CONNS:
			cfg.max_connections = flag_size("max-connections",
			    optarg, 1, 10000000);
			cfg.max_connections_set = 1;
			break;
		case OPT_MAX_OUTPUT:
			cfg.max_output_bytes = flag_size("max-output-bytes",
			    optarg, 4096, (size_t)1 << 32);
			break;
		case OPT_MAX_INFLIGHT:
			cfg.max_inflight = flag_size("max-inflight", optarg, 2,
			    1000000);
			break;
		case OPT_MAX_HEAD:
			cfg.max_head_bytes = flag_size("max-header-bytes",
			    optarg, 1024, 1024 * 1024);
			break;
		case OPT_MAX_BODY:
			cfg.max_body_bytes = flag_size("max-body-bytes",
			    optarg, 1024, (size_t)1 << 31);
			break;
		case OPT_CORS:
			cfg.cors = xrealloc(cfg.cors,
			    (cfg.ncors + 1) * sizeof *cfg.cors);
			cfg.cors[cfg.ncors++] = optarg;
			break;
		case OPT_HEADER_TIMEOUT:
			cfg.header_timeout_ms = flag_duration("header-timeout",
			    optarg);
			break;
		case OPT_PING_INTERVAL:
			cfg.ping_interval_ms = flag_duration("ping-interval",
			    optarg);
			break;
		case OPT_PING_TIMEOUT:
			cfg.ping_timeout_ms = flag_duration("ping-timeout",
			    optarg);
			break;
		case OPT_SHUTDOWN_TIMEOUT:
			cfg.shutdown_timeout_ms = flag_duration(
			    "shutdown-timeout", optarg);
			break;
		case OPT_DEDUPE:
			cfg.dedupe_window_ms = flag_duration("dedupe-window",
			    optarg);
			break;
		case OPT_BATCH:
			cfg.batch_max = flag_size("batch-max", optarg, 1,
			    1000000);
			break;
		case OPT_INSECURE:
			cfg.insecure_open = 1;
			break;
		case 't':
			cfg.test_config = 1;
			break;
		case 'v':
			cfg.verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return (0);
		case OPT_VERSION:
			printf("logwired %s\n", PACKAGE_VERSION);
			return (0);
		default:
			usage(stderr);
			return (2);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "logwired: unexpected argument \"%s\"\n",
		    argv[optind]);
		usage(stderr);
		return (2);
	}
	if (cfg.nlisten == 0) {
		cfg.listen = xcalloc(1, sizeof *cfg.listen);
		cfg.listen[cfg.nlisten++] = "127.0.0.1:8080";
	}
	if (cfg.datadir == NULL)
		cfg.datadir = "./var";
	log_init("logwired", cfg.verbose ? LOG_DEBUG : LOG_INFO);

	if (server_check_listen(&cfg, &cause) != 0) {
		fprintf(stderr, "logwired: %s\n", cause);
		free(cause);
		free(cfg.listen);
		return (2);
	}
	if (cfg.test_config) {
		printf("logwired: configuration ok\n");
		free(cfg.listen);
		return (0);
	}
	ch = server_run(&cfg);
	free(cfg.listen);
	free(cfg.cors);
	return (ch);
}
