/*
 * logwire-bench: load generator and benchmark.
 *
 * Each scenario is one entry of bench_scenarios: a name, the function that
 * runs it (given its own argc/argv, argv[0] being the scenario's name, and
 * returning an exit status) and its usage.  The scenarios that talk to a
 * running logwired are added beside "storage", which measures the storage
 * engine alone, without network.
 */

#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "common.h"
#include "storage.h"

struct bench_scenario {
	const char	*name;
	int		(*run)(int, char **);
	const char	*usage;		/* what follows the name */
	const char	*summary;
};

static int	bench_storage(int, char **);

static const struct bench_scenario bench_scenarios[] = {
	{ "storage", bench_storage,
	  "[-d DIR] [--sync always|batch|none] [--size BYTES] [--messages N] "
	  "[--channels C] [--batch B] [--json]",
	  "append and read rates of the storage engine alone, no network" },
	{ "publish", benchnet_main, NULL,
	  "P connections x W unacknowledged publishes over N channels: "
	  "acks/s, ack latency" },
	{ "fanout", benchnet_main, NULL,
	  "C subscribers of one channel, publishes at R/s: deliveries/s, "
	  "publish-to-deliver latency" },
	{ "replay", benchnet_main, NULL,
	  "pre-fill M messages, K clients rewind over all of them: msg/s" },
	{ "resume", benchnet_main, NULL,
	  "K clients drop (server restart optional) and resume B behind: "
	  "clients/s, time to catch up" },
	{ "connections", benchnet_main, NULL,
	  "K idle subscribed connections: server RSS per connection" },
};

/*
 * Default sizes of the storage runs, so that a default run takes well under
 * half a minute on a small machine: one message per commit under
 * sync=always is bound by the disk's flush time (about 0.6 ms a commit),
 * larger batches by memory bandwidth and LMDB page writes.
 */
#define BENCH_STORAGE_PER_BATCH	2000	/* messages = batch * this ... */
#define BENCH_STORAGE_MAX_MSGS	200000	/* ... but at most this */
#define BENCH_STORAGE_MANY	1000	/* channels of the many-channel run */
#define BENCH_STORAGE_SYNC_MS	100	/* store_sync interval, sync=batch */
#define BENCH_STORAGE_READ_S	0.25	/* read passes last at least this */

/* Settings of the storage scenario. */
struct bench_storage_cfg {
	const char	*parent;	/* where the scratch directory goes */
	char		*scratch;
	enum store_sync	 sync;
	size_t		 size;
	uint64_t	 messages;	/* 0: by batch size */
	size_t		 channels;
	int		 channels_set;
	size_t		 batch;		/* 0: 1, 64 and 1024 */
	int		 json;
	char		*payload;	/* JSON string of size bytes */
	char		**names;	/* channel names */
	size_t		 nnames;
};

/* What one storage run measured. */
struct bench_storage_run {
	size_t		 batch;
	size_t		 channels;
	uint64_t	 messages;
	double		 append_s;
	uint64_t	 commits;
	double		*lat;		/* seconds per store_append */
	double		 lat_p50;
	double		 lat_p99;
	double		 lat_max;
	uint64_t	 read_records;
	uint64_t	 read_bytes;
	double		 read_s;
	uint64_t	 store_bytes;
};

/* State of a forward read pass over one channel. */
struct bench_storage_read {
	uint64_t	records;
	uint64_t	bytes;
	uint64_t	last;
};

/* A channel to read. */
struct bench_storage_chan {
	uint64_t	id;
	uint64_t	first;
	uint64_t	head;
};

/* The channels found by a listing. */
struct bench_storage_list {
	struct bench_storage_chan *chans;
	size_t		 n;
	char		 last[STORE_NAME_MAX + 1];
	size_t		 last_len;
};

/* Print a one-line error message for a scenario. */
void
bench_error(const char *scenario, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		fatalx("out of memory");
	va_end(ap);
	if (scenario != NULL)
		fprintf(stderr, "logwire-bench: %s: %s\n", scenario, msg);
	else
		fprintf(stderr, "logwire-bench: %s\n", msg);
	free(msg);
}

/* Return the monotonic clock in seconds. */
double
bench_now(void)
{
	return (mono_ns() / 1e9);
}

/* Parse a positive integer no larger than max; return 0 or -1. */
int
bench_number(const char *s, uint64_t max, uint64_t *out)
{
	unsigned long long	 v;
	char			*end;

	if (*s < '0' || *s > '9')
		return (-1);
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v == 0 || v > max)
		return (-1);
	*out = v;
	return (0);
}

/* Remove one entry of a scratch tree (nftw callback). */
static int
bench_remove_one(const char *path, const struct stat *sb, int flag,
    struct FTW *ftw)
{
	if (remove(path) == -1 && errno != ENOENT)
		return (-1);
	return (0);
}

/* Remove a directory and everything in it. */
static int
bench_remove_tree(const char *path)
{
	return (nftw(path, bench_remove_one, 16, FTW_DEPTH|FTW_PHYS));
}

/* Compare two doubles for qsort. */
static int
bench_cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return (x < y ? -1 : x > y);
}

/* Fill the payload: a JSON string of size bytes that compresses poorly. */
static void
bench_storage_payload(struct bench_storage_cfg *cfg)
{
	static const char	 alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	uint64_t		 x = 0x9e3779b97f4a7c15ULL;
	size_t			 i;

	cfg->payload = xmalloc(cfg->size + 1);
	cfg->payload[0] = '"';
	for (i = 1; i < cfg->size - 1; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		cfg->payload[i] = alphabet[x % 64];
	}
	cfg->payload[cfg->size - 1] = '"';
	cfg->payload[cfg->size] = '\0';
}

/* Collect one channel of a listing. */
static int
bench_storage_list_cb(const struct store_chan *chan, void *arg)
{
	struct bench_storage_list	*l = arg;

	l->chans = xrealloc(l->chans, (l->n + 1) * sizeof *l->chans);
	l->chans[l->n].id = chan->id;
	l->chans[l->n].first = chan->first;
	l->chans[l->n].head = chan->head;
	l->n++;
	memcpy(l->last, chan->name, chan->name_len);
	l->last_len = chan->name_len;
	return (0);
}

/* Count one record of a read pass. */
static int
bench_storage_read_cb(const struct store_rec *rec, void *arg)
{
	struct bench_storage_read	*rd = arg;

	rd->records++;
	rd->bytes += rec->data_len;
	rd->last = rec->serial;
	return (0);
}

/*
 * Read every channel forward, from first to head, in chunks as a replaying
 * subscriber would, repeating whole passes until the time is long enough to
 * measure.  The data was just written, so this is the warm-cache rate.
 */
static int
bench_storage_read(struct store *st, struct bench_storage_run *run,
    char **cause)
{
	struct store_reader		*r;
	struct bench_storage_list	 l;
	struct bench_storage_read	 rd;
	uint64_t			 from;
	double				 start;
	size_t				 i;
	int				 n, error = 0;

	memset(&l, 0, sizeof l);
	memset(&rd, 0, sizeof rd);
	if ((r = store_reader_open(st)) == NULL) {
		xasprintf(cause, "cannot open a reader");
		return (STORE_ESYS);
	}
	do {
		n = store_chan_list(r, "", 0, l.n == 0 ? NULL : l.last,
		    l.last_len, 1000, bench_storage_list_cb, &l);
		if (n < 0) {
			error = n;
			goto out;
		}
	} while (n > 0);

	start = bench_now();
	do {
		for (i = 0; i < l.n; i++) {
			from = l.chans[i].first;
			while (from <= l.chans[i].head) {
				n = store_read(r, l.chans[i].id, from,
				    l.chans[i].head, 0, 1024, SIZE_MAX,
				    bench_storage_read_cb, &rd);
				if (n < 0) {
					error = n;
					goto out;
				}
				if (n == 0)
					break;
				from = rd.last + 1;
			}
		}
		run->read_s = bench_now() - start;
	} while (run->read_s < BENCH_STORAGE_READ_S && rd.records != 0);
	run->read_records = rd.records;
	run->read_bytes = rd.bytes;
out:
	store_reader_close(r);
	free(l.chans);
	return (error);
}

/*
 * Append run->messages messages spread round-robin over run->channels
 * channels, run->batch per store_append (one commit each).
 */
static int
bench_storage_append(struct bench_storage_cfg *cfg, struct store *st,
    struct bench_storage_run *run, char **cause)
{
	struct store_msg	*msgs, *m;
	uint64_t		 done = 0;
	double			 start, t0, last_sync;
	size_t			 i, n;
	int			 error = 0;

	msgs = xcalloc(run->batch, sizeof *msgs);
	run->lat = xcalloc(run->messages / run->batch + 1, sizeof *run->lat);
	start = last_sync = bench_now();
	while (done < run->messages) {
		n = run->batch;
		if (n > run->messages - done)
			n = run->messages - done;
		for (i = 0; i < n; i++) {
			m = &msgs[i];
			memset(m, 0, sizeof *m);
			m->channel = cfg->names[(done + i) % run->channels];
			m->channel_len = strlen(m->channel);
			m->data = cfg->payload;
			m->data_len = cfg->size;
		}
		t0 = bench_now();
		if ((error = store_append(st, msgs, n, 0)) != 0)
			goto out;
		run->lat[run->commits++] = bench_now() - t0;
		for (i = 0; i < n; i++) {
			if (msgs[i].error != 0) {
				error = msgs[i].error;
				xasprintf(cause, "message refused");
				goto out;
			}
		}
		done += n;
		if (cfg->sync == STORE_SYNC_BATCH &&
		    bench_now() - last_sync >= BENCH_STORAGE_SYNC_MS / 1e3) {
			if ((error = store_sync(st)) != 0)
				goto out;
			last_sync = bench_now();
		}
	}
	if (cfg->sync == STORE_SYNC_BATCH && (error = store_sync(st)) != 0)
		goto out;
	run->append_s = bench_now() - start;

	qsort(run->lat, run->commits, sizeof *run->lat, bench_cmp_double);
	run->lat_p50 = run->lat[run->commits / 2];
	run->lat_p99 = run->lat[(run->commits * 99) / 100];
	run->lat_max = run->lat[run->commits - 1];
out:
	free(msgs);
	return (error);
}

/* Run one storage measurement in a fresh store under the scratch dir. */
static int
bench_storage_run(struct bench_storage_cfg *cfg, struct bench_storage_run *run,
    int number)
{
	struct store_config	 sc;
	struct store_chan	 chan;
	struct store		*st = NULL;
	char			*dir, *cause = NULL;
	uint64_t		 map;
	size_t			 i;
	int			 error;

	xasprintf(&dir, "%s/run-%d", cfg->scratch, number);
	store_config_default(&sc);
	sc.sync = cfg->sync;
	if ((error = store_open(dir, &sc, &st, &cause)) != 0)
		goto out;
	for (i = 0; i < run->channels; i++) {
		error = store_chan_ensure(st, cfg->names[i],
		    strlen(cfg->names[i]), 0, &chan);
		if (error != 0)
			goto out;
	}
	if ((error = bench_storage_append(cfg, st, run, &cause)) != 0)
		goto out;
	if ((error = store_size(st, &run->store_bytes, &map)) != 0)
		goto out;
	error = bench_storage_read(st, run, &cause);
out:
	if (error != 0) {
		bench_error("storage", "%s: %s", dir,
		    cause != NULL ? cause : store_strerror(error));
	}
	if (st != NULL)
		store_close(st);
	bench_remove_tree(dir);
	free(cause);
	free(dir);
	free(run->lat);
	run->lat = NULL;
	return (error == 0 ? 0 : -1);
}

/* Print what one storage run measured, as one line or one JSON object. */
static void
bench_storage_print(struct bench_storage_cfg *cfg,
    struct bench_storage_run *run)
{
	json_t	*o;
	double	 rate, rrate;

	rate = run->messages / run->append_s;
	rrate = run->read_s > 0 ? run->read_records / run->read_s : 0;
	if (!cfg->json) {
		printf("storage sync=%s size=%zu batch=%zu channels=%zu "
		    "messages=%llu: append %.0f msg/s %.1f MB/s (%.0f "
		    "commits/s, commit p50 %.2f ms p99 %.2f ms max %.2f ms); "
		    "read %.0f rec/s %.1f MB/s; store %.1f MB\n",
		    store_sync_name(cfg->sync), cfg->size, run->batch,
		    run->channels, (unsigned long long)run->messages, rate,
		    rate * cfg->size / 1e6, run->commits / run->append_s,
		    run->lat_p50 * 1e3, run->lat_p99 * 1e3, run->lat_max * 1e3,
		    rrate, run->read_s > 0 ?
		    run->read_bytes / run->read_s / 1e6 : 0,
		    run->store_bytes / 1e6);
		fflush(stdout);
		return;
	}
	o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I,"
	    " s:{s:f, s:I, s:I, s:I, s:I, s:f, s:f, s:f},"
	    " s:{s:f, s:I, s:I, s:I}, s:I}",
	    "scenario", "storage",
	    "sync", store_sync_name(cfg->sync),
	    "size", (json_int_t)cfg->size,
	    "batch", (json_int_t)run->batch,
	    "channels", (json_int_t)run->channels,
	    "messages", (json_int_t)run->messages,
	    "cpus", (json_int_t)sysconf(_SC_NPROCESSORS_ONLN),
	    "append",
	    "seconds", run->append_s,
	    "msgs_per_s", (json_int_t)rate,
	    "bytes_per_s", (json_int_t)(rate * cfg->size),
	    "commits", (json_int_t)run->commits,
	    "commits_per_s", (json_int_t)(run->commits / run->append_s),
	    "commit_ms_p50", run->lat_p50 * 1e3,
	    "commit_ms_p99", run->lat_p99 * 1e3,
	    "commit_ms_max", run->lat_max * 1e3,
	    "read",
	    "seconds", run->read_s,
	    "records", (json_int_t)run->read_records,
	    "records_per_s", (json_int_t)rrate,
	    "bytes_per_s", (json_int_t)(run->read_s > 0 ?
	    run->read_bytes / run->read_s : 0),
	    "store_bytes", (json_int_t)run->store_bytes);
	if (o == NULL)
		fatalx("json_pack failed");
	json_dumpf(o, stdout, JSON_COMPACT|JSON_REAL_PRECISION(6));
	putchar('\n');
	fflush(stdout);
	json_decref(o);
}

/* Return the long name of option val ch. */
static const char *
bench_long_name(const struct option *o, int ch)
{
	for (; o->name != NULL; o++) {
		if (o->val == ch)
			return (o->name);
	}
	return ("?");
}

/*
 * Parse the options of the storage scenario into cfg.  Returns 0, an exit
 * status after bad usage, or BENCH_HELP after printing the usage.
 */
static int
bench_storage_options(struct bench_storage_cfg *cfg, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "batch",	required_argument,	NULL,	'b' },
		{ "channels",	required_argument,	NULL,	'c' },
		{ "dir",	required_argument,	NULL,	'd' },
		{ "help",	no_argument,		NULL,	'h' },
		{ "json",	no_argument,		NULL,	'j' },
		{ "messages",	required_argument,	NULL,	'n' },
		{ "size",	required_argument,	NULL,	's' },
		{ "sync",	required_argument,	NULL,	'S' },
		{ NULL,		0,			NULL,	0 }
	};
	uint64_t	v;
	int		ch;

	opterr = 0;
	optind = 0;
	while ((ch = getopt_long(argc, argv, ":d:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'b':
			if (bench_number(optarg, 1000000, &v) != 0)
				goto bad;
			cfg->batch = v;
			break;
		case 'c':
			if (bench_number(optarg, 1000000, &v) != 0)
				goto bad;
			cfg->channels = v;
			cfg->channels_set = 1;
			break;
		case 'd':
			cfg->parent = optarg;
			break;
		case 'h':
			printf("usage: logwire-bench storage %s\n",
			    bench_scenarios[0].usage);
			return (BENCH_HELP);
		case 'j':
			cfg->json = 1;
			break;
		case 'n':
			if (bench_number(optarg, UINT64_MAX / 2, &v) != 0)
				goto bad;
			cfg->messages = v;
			break;
		case 's':
			if (bench_number(optarg, STORE_DATA_MAX, &v) != 0 ||
			    v < 2)
				goto bad;
			cfg->size = v;
			break;
		case 'S':
			if (store_sync_parse(optarg, &cfg->sync) != 0)
				goto bad;
			break;
		case ':':
			bench_error("storage", "option %s needs a value "
			    "(usage: logwire-bench storage %s)",
			    argv[optind - 1], bench_scenarios[0].usage);
			return (BENCH_EXIT_USAGE);
		default:
			bench_error("storage", "unknown option %s (usage: "
			    "logwire-bench storage %s)", argv[optind - 1],
			    bench_scenarios[0].usage);
			return (BENCH_EXIT_USAGE);
		}
	}
	if (optind != argc) {
		bench_error("storage", "unexpected argument: %s", argv[optind]);
		return (BENCH_EXIT_USAGE);
	}
	return (0);
bad:
	bench_error("storage", "bad value for --%s: %s", bench_long_name(
	    longopts, ch), optarg);
	return (BENCH_EXIT_USAGE);
}

/*
 * The storage scenario: for each batch size, append to a fresh store and
 * read everything back.  Without --batch the batch sizes are 1, 64 and
 * 1024; without --batch and --channels a many-channel run follows, where
 * every commit touches many channels, as on a busy server.
 */
static int
bench_storage(int argc, char **argv)
{
	static const size_t		 batches[] = { 1, 64, 1024 };
	struct bench_storage_cfg	 cfg;
	struct bench_storage_run	 runs[nitems(batches) + 1], *run;
	char				*tmpl = NULL;
	const char			*tmpdir;
	size_t				 nruns = 0, i, maxchan = 0;
	int				 ret = BENCH_EXIT_ERROR;

	memset(&cfg, 0, sizeof cfg);
	memset(runs, 0, sizeof runs);
	cfg.sync = STORE_SYNC_ALWAYS;
	cfg.size = 100;
	cfg.channels = 1;
	if ((ret = bench_storage_options(&cfg, argc, argv)) != 0)
		return (ret == BENCH_HELP ? BENCH_EXIT_OK : ret);
	ret = BENCH_EXIT_ERROR;

	if (cfg.batch != 0) {
		runs[nruns].batch = cfg.batch;
		runs[nruns++].channels = cfg.channels;
	} else {
		for (i = 0; i < nitems(batches); i++) {
			runs[nruns].batch = batches[i];
			runs[nruns++].channels = cfg.channels;
		}
		if (!cfg.channels_set) {
			runs[nruns].batch = 1024;
			runs[nruns++].channels = BENCH_STORAGE_MANY;
		}
	}
	for (i = 0; i < nruns; i++) {
		run = &runs[i];
		run->messages = cfg.messages;
		if (run->messages == 0) {
			run->messages = run->batch * BENCH_STORAGE_PER_BATCH;
			if (run->messages > BENCH_STORAGE_MAX_MSGS)
				run->messages = BENCH_STORAGE_MAX_MSGS;
		}
		if (run->channels > run->messages)
			run->channels = run->messages;
		if (run->channels > maxchan)
			maxchan = run->channels;
	}

	cfg.nnames = maxchan;
	cfg.names = xcalloc(maxchan, sizeof *cfg.names);
	for (i = 0; i < maxchan; i++)
		xasprintf(&cfg.names[i], "bench-%06zu", i);
	bench_storage_payload(&cfg);

	if ((tmpdir = cfg.parent) == NULL &&
	    ((tmpdir = getenv("TMPDIR")) == NULL || *tmpdir == '\0'))
		tmpdir = "/tmp";
	xasprintf(&tmpl, "%s/logwire-bench.XXXXXX", tmpdir);
	if ((cfg.scratch = mkdtemp(tmpl)) == NULL) {
		bench_error("storage", "%s: %s", tmpl, strerror(errno));
		goto out;
	}
	if (!cfg.json) {
		printf("logwire-bench %s storage: %s, sync=%s%s, message %zu "
		    "bytes, %ld cpus\n", PACKAGE_VERSION, cfg.scratch,
		    store_sync_name(cfg.sync), cfg.sync == STORE_SYNC_BATCH ?
		    " (store_sync every 100 ms)" : "", cfg.size,
		    sysconf(_SC_NPROCESSORS_ONLN));
		fflush(stdout);
	}
	for (i = 0; i < nruns; i++) {
		if (bench_storage_run(&cfg, &runs[i], (int)i + 1) != 0)
			goto out;
		bench_storage_print(&cfg, &runs[i]);
	}
	ret = BENCH_EXIT_OK;
out:
	if (cfg.scratch != NULL)
		bench_remove_tree(cfg.scratch);
	free(tmpl);
	for (i = 0; i < cfg.nnames; i++)
		free(cfg.names[i]);
	free(cfg.names);
	free(cfg.payload);
	return (ret);
}

/* Print the usage of every scenario. */
static void
bench_usage(FILE *f)
{
	size_t	i;

	fprintf(f, "usage: logwire-bench SCENARIO [options]\n\nscenarios:\n");
	for (i = 0; i < nitems(bench_scenarios); i++) {
		fprintf(f, "  %s %s\n      %s\n", bench_scenarios[i].name,
		    bench_scenarios[i].usage != NULL ?
		    bench_scenarios[i].usage :
		    benchnet_usage(bench_scenarios[i].name),
		    bench_scenarios[i].summary);
	}
}

/* Find a scenario by name. */
static const struct bench_scenario *
bench_lookup(const char *name)
{
	size_t	i;

	for (i = 0; i < nitems(bench_scenarios); i++) {
		if (strcmp(bench_scenarios[i].name, name) == 0)
			return (&bench_scenarios[i]);
	}
	return (NULL);
}

int
main(int argc, char **argv)
{
	const struct bench_scenario	*sc = NULL;
	char				**av;
	int				 i, idx = -1, ac = 0, ret;

	log_init("logwire-bench", LOG_WARN);

	/*
	 * The scenario is the first word naming one, so that its options
	 * may come before it; failing that the first operand, reported.
	 */
	for (i = 1; i < argc && sc == NULL; i++) {
		if ((sc = bench_lookup(argv[i])) != NULL)
			idx = i;
	}
	if (sc == NULL) {
		for (i = 1; i < argc; i++) {
			if (strcmp(argv[i], "-h") == 0 ||
			    strcmp(argv[i], "--help") == 0) {
				bench_usage(stdout);
				return (BENCH_EXIT_OK);
			}
			if (strcmp(argv[i], "--version") == 0) {
				printf("logwire-bench %s\n", PACKAGE_VERSION);
				return (BENCH_EXIT_OK);
			}
			if (argv[i][0] != '-') {
				bench_error(NULL, "unknown scenario: %s (see "
				    "'logwire-bench --help')", argv[i]);
				return (BENCH_EXIT_USAGE);
			}
		}
		bench_error(NULL, "no scenario given (see 'logwire-bench "
		    "--help')");
		return (BENCH_EXIT_USAGE);
	}

	av = xcalloc(argc + 1, sizeof *av);
	av[ac++] = argv[idx];
	for (i = 1; i < argc; i++) {
		if (i != idx)
			av[ac++] = argv[i];
	}
	ret = sc->run(ac, av);
	free(av);
	return (ret);
}
