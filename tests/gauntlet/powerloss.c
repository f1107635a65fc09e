/*
 * powerloss: guarantee 2 of DESIGN.md under power loss.  An acknowledged
 * message survives a power failure under --sync always.
 *
 * 1. The workload: logwired --sync always runs with plshim.so preloaded,
 *    which records every write and sync it makes to its data directory
 *    in a trace (pltrace.h).  Clients publish with unique ids over
 *    WebSocket (several in flight per connection, so commits hold many
 *    messages) and as REST arrays, on several channels, with payloads
 *    from a few bytes to 16 KiB; the daemon is killed with SIGKILL and
 *    restarted on the way, in-flight and acknowledged ids are published
 *    again, and it ends with SIGTERM.  Each publish is recorded (SENT)
 *    before it is sent and each acknowledgement (ACK) when it was read.
 * 2. The whole trace replayed must give exactly the files the daemon
 *    left: otherwise the shim missed a write and the rest means nothing.
 * 3. Crash states are built from the trace (plcheck.c) and each must pass
 *    logwire verify, open as the daemon opens it, and hold every message
 *    acknowledged before its sync point at the acknowledged serial with
 *    its id; every record in it must have been sent, once.  Now and then
 *    the real logwired is started on a state and asked for the messages.
 * 4. Negative controls, so that the check cannot pass by checking
 *    nothing: on the same trace, acknowledgements moved one commit
 *    earlier must be reported lost, and writes reordered across a sync
 *    must fail some state; and a workload under --sync none (acks before
 *    any sync) must lose acknowledged messages in some state.
 *
 * Usage: powerloss [--long] [--states N] [--messages N] [--seed S]
 *	  [--sync POLICY] [--keep] [--no-negative]
 *	  powerloss --trace FILE [--states N] [--seed S] [--state K]
 * With no option (make check): a short workload and 300 states.  --long:
 * a longer workload with more restarts and 100000 states, with a progress
 * line.  A failure prints the seed, keeps the trace, and says how to build
 * the failing state again (--trace, --seed, --state).
 */

#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common.h"
#include "harness.h"
#include "pltrace.h"
#include "plcheck.h"

#ifndef TOP_BUILDDIR
#define TOP_BUILDDIR	"."
#endif

#define PL_SHIM		TOP_BUILDDIR "/tests/gauntlet/plshim.so"
#define PL_IGNORE	"lock.mdb:writer.lock"	/* not durable state */
#define PL_CONNS	2	/* WebSocket publishers */
#define PL_CHANNELS	4
#define PL_WINDOW	8	/* publishes in flight per connection, most */
#define PL_TIMEOUT	10000	/* ms for one acknowledgement */
#define PL_RECENT	64	/* acknowledged ids kept to publish again */
#define PL_REPUBLISH	3	/* of which published again after a restart */

#define PL_SHORT_MSGS	600
#define PL_SHORT_STATES	300
#define PL_SHORT_KILLS	1
#define PL_LONG_MSGS	3000
#define PL_LONG_STATES	100000
#define PL_LONG_KILLS	4
#define PL_NEG_MSGS	80	/* the --sync none control */
#define PL_NEG_STATES	30
#define PL_MUT_STATES	40	/* each mutant */

/* A publish waiting for its acknowledgement. */
struct pl_pub {
	int		 live;
	char		 chan[32];
	char		 id[64];
	uint64_t	 serial;	/* expected (a re-publish), 0 if new */
};

/* The workload's state. */
struct pl {
	const char	*tmp;		/* our directory */
	char		*datadir;
	char		*trace;
	int		 tfd;		/* the trace, O_APPEND */
	const char	*sync;
	struct hd	*hd;
	struct wsc	*ws[PL_CONNS];
	struct pl_pub	 pubs[PL_CONNS][PL_WINDOW];
	uint64_t	 rng;
	uint64_t	 seq;
	struct pl_pub	 recent[PL_RECENT];
	size_t		 nrecent;
	struct pl_pub	 inflight[PL_CONNS * PL_WINDOW];
	size_t		 ninflight;

	uint64_t	 sent;
	uint64_t	 sent_ws;
	uint64_t	 sent_rest;
	uint64_t	 acked;
	uint64_t	 dups;
	int		 kills;
	int		 errors;
};

/* Options. */
static struct {
	int		 lng;
	size_t		 states;
	size_t		 messages;
	uint64_t	 seed;
	int		 seeded;
	const char	*sync;
	const char	*trace;
	long		 only;
	int		 keep;
	int		 negative;
} opt;

/* A random number (xorshift64*). */
static uint64_t
pl_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (*s * 0x2545f4914f6cdd1dULL);
}

/* Append a workload record (SENT, ACK, MARK) to the trace in one write. */
static void
pl_record(struct pl *pl, uint32_t type, const char *a, const char *b,
    uint64_t serial, uint64_t flags)
{
	struct plt_rec	 r;
	char		*buf;
	size_t		 la, lb, len;

	la = strlen(a) + 1;
	lb = b != NULL ? strlen(b) + 1 : 0;
	memset(&r, 0, sizeof r);
	r.type = type;
	r.len = la + lb;
	r.arg = serial;
	r.arg2 = flags;
	len = PLT_HDR_LEN + r.len;
	buf = xmalloc(len);
	memcpy(buf, &r, PLT_HDR_LEN);
	memcpy(buf + PLT_HDR_LEN, a, la);
	if (lb > 0)
		memcpy(buf + PLT_HDR_LEN + la, b, lb);
	/* One write on O_APPEND: never interleaved with the shim's. */
	if (write(pl->tfd, buf, len) != (ssize_t)len)
		fatal("%s", pl->trace);
	free(buf);
}

/* Set the environment that makes the next daemon traced, or clear it. */
static void
pl_env(struct pl *pl, int on)
{
	static char	*saved_asan;
	static int	 have_saved;
	const char	*asan;
	char		*v;

	if (!on) {
		unsetenv("LD_PRELOAD");
		unsetenv(PLT_ENV_TRACE);
		unsetenv(PLT_ENV_DIR);
		unsetenv(PLT_ENV_IGNORE);
		if (have_saved && saved_asan != NULL)
			setenv("ASAN_OPTIONS", saved_asan, 1);
		else if (have_saved)
			unsetenv("ASAN_OPTIONS");
		return;
	}
	setenv("LD_PRELOAD", PL_SHIM, 1);
	setenv(PLT_ENV_TRACE, pl->trace, 1);
	setenv(PLT_ENV_DIR, pl->datadir, 1);
	setenv(PLT_ENV_IGNORE, PL_IGNORE, 1);
	/* A sanitized daemon: the shim comes before the ASan runtime. */
	if (!have_saved) {
		asan = getenv("ASAN_OPTIONS");
		saved_asan = asan != NULL ? xstrdup(asan) : NULL;
		have_saved = 1;
	}
	xasprintf(&v, "%s%sverify_asan_link_order=0",
	    saved_asan != NULL ? saved_asan : "",
	    saved_asan != NULL && *saved_asan != '\0' ? ":" : "");
	setenv("ASAN_OPTIONS", v, 1);
	free(v);
}

/* Start (or restart) the traced daemon. */
static int
pl_start(struct pl *pl)
{
	const char	*args[] = { "--sync", pl->sync, NULL };
	int		 rc = 0;

	pl_env(pl, 1);
	if (pl->hd == NULL) {
		if ((pl->hd = hd_start_dir(pl->datadir, args)) == NULL)
			rc = -1;
	} else
		rc = hd_restart(pl->hd);
	pl_env(pl, 0);
	return (rc);
}

/* Make a message body: small, repetitive (compresses) or random. */
static json_t *
pl_data(struct pl *pl, uint64_t n)
{
	static const char	 alpha[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char			*s;
	size_t			 len, i;
	uint64_t		 r = pl_rand(&pl->rng) % 100;
	json_t			*j;

	if (r < 70)
		len = 10 + pl_rand(&pl->rng) % 190;
	else if (r < 90)
		len = 600 + pl_rand(&pl->rng) % 2400;
	else
		len = 4096 + pl_rand(&pl->rng) % 12288;
	s = xmalloc(len + 1);
	for (i = 0; i < len; i++) {
		if (r >= 70 && r < 90)
			s[i] = "logwire "[i % 8];
		else
			s[i] = alpha[pl_rand(&pl->rng) % 64];
	}
	s[len] = '\0';
	j = json_pack("{s:I, s:s}", "n", (json_int_t)n, "pad", s);
	free(s);
	return (j);
}

/* Pick a channel name. */
static void
pl_channel(struct pl *pl, char *buf, size_t size)
{
	snprintf(buf, size, "pl-%d",
	    (int)(pl_rand(&pl->rng) % PL_CHANNELS));
}

/* Remember an acknowledged message, to publish it again later. */
static void
pl_remember(struct pl *pl, const char *chan, const char *id, uint64_t serial)
{
	struct pl_pub	*r;

	r = &pl->recent[pl->nrecent++ % PL_RECENT];
	r->live = 1;
	snprintf(r->chan, sizeof r->chan, "%s", chan);
	snprintf(r->id, sizeof r->id, "%s", id);
	r->serial = serial;
}

/* Record an acknowledgement, checking it against what was published. */
static int
pl_acked(struct pl *pl, const struct pl_pub *p, const char *id,
    uint64_t serial, int dup, int rest)
{
	if (strcmp(id, p->id) != 0 || serial == 0) {
		fprintf(stderr, "powerloss: ack for %s says id %s serial %"
		    PRIu64 "\n", p->id, id, serial);
		pl->errors++;
		return (-1);
	}
	if (p->serial != 0 && (!dup || serial != p->serial)) {
		fprintf(stderr, "powerloss: %s published again after a "
		    "restart: serial %" PRIu64 " duplicate %d, first "
		    "acknowledged at %" PRIu64 "\n", p->id, serial, dup,
		    p->serial);
		pl->errors++;
	}
	pl_record(pl, PLT_ACK, p->chan, p->id, serial,
	    (dup ? PLT_A_DUP : 0) | (rest ? PLT_A_REST : 0));
	pl->acked++;
	pl->dups += dup;
	if (!dup)
		pl_remember(pl, p->chan, p->id, serial);
	return (0);
}

/* Send one publish on connection c, slot k. */
static int
pl_ws_publish(struct pl *pl, int c, int k, const char *chan, const char *id,
    uint64_t expect)
{
	struct pl_pub	*p = &pl->pubs[c][k];
	json_t		*j;
	int		 rc;

	p->live = 1;
	snprintf(p->chan, sizeof p->chan, "%s", chan);
	snprintf(p->id, sizeof p->id, "%s", id);
	p->serial = expect;
	pl_record(pl, PLT_SENT, chan, id, 0, 0);
	j = json_pack("{s:s, s:s, s:s, s:i, s:o}", "op", "publish", "channel",
	    chan, "id", id, "ref", k, "data", pl_data(pl, pl->seq));
	rc = hd_ws_send_value(pl->ws[c], j);
	json_decref(j);
	pl->sent++;
	pl->sent_ws++;
	return (rc);
}

/* Read the acknowledgements of connection c's publishes in flight. */
static int
pl_ws_collect(struct pl *pl, int c)
{
	json_t		*j;
	const char	*id, *op;
	json_int_t	 ref;
	int		 k, left = 0, rc = 0;

	for (k = 0; k < PL_WINDOW; k++)
		left += pl->pubs[c][k].live;
	while (left > 0) {
		if ((j = hd_ws_recv_json(pl->ws[c], PL_TIMEOUT)) == NULL) {
			fprintf(stderr, "powerloss: no acknowledgement on "
			    "connection %d\n", c);
			pl->errors++;
			return (-1);
		}
		ref = json_integer_value(json_object_get(j, "ref"));
		id = json_string_value(json_object_get(j, "id"));
		op = json_string_value(json_object_get(j, "op"));
		if (op == NULL || strcmp(op, "published") != 0 || ref < 0 ||
		    ref >= PL_WINDOW ||
		    !pl->pubs[c][ref].live || id == NULL) {
			fprintf(stderr, "powerloss: unexpected reply on "
			    "connection %d\n", c);
			json_dumpf(j, stderr, 0);
			fputc('\n', stderr);
			json_decref(j);
			pl->errors++;
			return (-1);
		}
		if (pl_acked(pl, &pl->pubs[c][ref], id,
		    json_integer_value(json_object_get(j, "serial")),
		    json_is_true(json_object_get(j, "duplicate")), 0) != 0)
			rc = -1;
		pl->pubs[c][ref].live = 0;
		left--;
		json_decref(j);
	}
	return (rc);
}

/* Publish an array of n new messages over REST and record the acks. */
static int
pl_rest_publish(struct pl *pl, size_t n)
{
	struct pl_pub	 p[8];
	struct hd_resp	 resp;
	json_t		*arr, *m, *body, *items, *it;
	char		 chan[32], *text, *path;
	size_t		 i;
	int		 rc = -1;

	pl_channel(pl, chan, sizeof chan);
	arr = json_array();
	for (i = 0; i < n && i < 8; i++) {
		memset(&p[i], 0, sizeof p[i]);
		snprintf(p[i].chan, sizeof p[i].chan, "%s", chan);
		snprintf(p[i].id, sizeof p[i].id, "r-%" PRIu64, ++pl->seq);
		pl_record(pl, PLT_SENT, chan, p[i].id, 0, 0);
		m = json_pack("{s:s, s:o}", "id", p[i].id, "data",
		    pl_data(pl, pl->seq));
		json_array_append_new(arr, m);
		pl->sent++;
		pl->sent_rest++;
	}
	text = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	xasprintf(&path, "/v1/channels/%s/messages", chan);
	if (hd_http(pl->hd, "POST", path, NULL, text, strlen(text),
	    &resp) != 0) {
		free(text);
		free(path);
		pl->errors++;
		return (-1);
	}
	free(text);
	free(path);
	body = resp.status == 201 ? hd_resp_json(&resp) : NULL;
	items = json_object_get(body, "items");
	if (json_array_size(items) != i) {
		fprintf(stderr, "powerloss: REST publish: %d %s\n",
		    resp.status, resp.body);
		pl->errors++;
		goto out;
	}
	for (i = 0; i < json_array_size(items); i++) {
		it = json_array_get(items, i);
		if (pl_acked(pl, &p[i],
		    json_string_value(json_object_get(it, "id")) != NULL ?
		    json_string_value(json_object_get(it, "id")) : "",
		    json_integer_value(json_object_get(it, "serial")),
		    json_is_true(json_object_get(it, "duplicate")), 1) != 0)
			goto out;
	}
	rc = 0;
out:
	json_decref(body);
	hd_resp_free(&resp);
	return (rc);
}

/* Connect the WebSocket publishers. */
static int
pl_connect(struct pl *pl)
{
	int	c;

	for (c = 0; c < PL_CONNS; c++) {
		if ((pl->ws[c] = hd_ws(pl->hd)) == NULL) {
			pl->errors++;
			return (-1);
		}
		memset(pl->pubs[c], 0, sizeof pl->pubs[c]);
	}
	return (0);
}

/*
 * Kill the daemon with publishes in flight, restart it, and publish
 * again what was in flight (committed or not) and a few acknowledged
 * messages (each must come back as a duplicate with its serial).
 */
static int
pl_kill_restart(struct pl *pl)
{
	struct pl_pub	*r;
	char		 chan[32], id[64];
	size_t		 i, n;
	int		 c, k;

	for (c = 0; c < PL_CONNS; c++) {
		for (k = 0; k < 1 + (int)(pl_rand(&pl->rng) % PL_WINDOW); k++) {
			pl_channel(pl, chan, sizeof chan);
			snprintf(id, sizeof id, "w%d-%" PRIu64, c, ++pl->seq);
			pl_ws_publish(pl, c, k, chan, id, 0);
			pl->inflight[pl->ninflight++] = pl->pubs[c][k];
		}
	}
	hd_kill9(pl->hd);
	pl->kills++;
	for (c = 0; c < PL_CONNS; c++) {
		wsc_drop(pl->ws[c]);
		pl->ws[c] = NULL;
	}
	pl_record(pl, PLT_MARK, "restart after kill -9", NULL, 0, 0);
	if (pl_start(pl) != 0 || pl_connect(pl) != 0) {
		pl->errors++;
		return (-1);
	}
	/* In flight at the kill: committed or not, never twice. */
	for (i = 0, k = 0; i < pl->ninflight; i++) {
		pl_ws_publish(pl, 0, k, pl->inflight[i].chan,
		    pl->inflight[i].id, 0);
		if (++k == PL_WINDOW || i + 1 == pl->ninflight) {
			if (pl_ws_collect(pl, 0) != 0)
				return (-1);
			k = 0;
		}
	}
	pl->ninflight = 0;
	/* Acknowledged before: a duplicate with the same serial. */
	n = pl->nrecent < PL_RECENT ? pl->nrecent : PL_RECENT;
	for (i = 0; i < PL_REPUBLISH && n > 0; i++) {
		r = &pl->recent[pl_rand(&pl->rng) % n];
		if (!r->live)
			continue;
		pl_ws_publish(pl, 1, (int)i, r->chan, r->id, r->serial);
	}
	return (pl_ws_collect(pl, 1));
}

/* Run the workload: messages publishes, kills restarts on the way. */
static int
pl_workload(struct pl *pl, uint64_t messages, int kills)
{
	char		 chan[32], id[64];
	uint64_t	 next_kill;
	int		 c, k, n;

	if (pl_start(pl) != 0 || pl_connect(pl) != 0)
		return (-1);
	next_kill = kills > 0 ? messages / (kills + 1) : UINT64_MAX;
	while (pl->sent < messages && pl->errors == 0) {
		for (c = 0; c < PL_CONNS; c++) {
			n = 1 + pl_rand(&pl->rng) % PL_WINDOW;
			for (k = 0; k < n; k++) {
				pl_channel(pl, chan, sizeof chan);
				snprintf(id, sizeof id, "w%d-%" PRIu64, c,
				    ++pl->seq);
				if (pl_ws_publish(pl, c, k, chan, id, 0) != 0)
					pl->errors++;
			}
		}
		/* A REST array while the WebSocket publishes commit. */
		if (pl_rand(&pl->rng) % 2 == 0)
			pl_rest_publish(pl, 1 + pl_rand(&pl->rng) % 5);
		for (c = 0; c < PL_CONNS; c++)
			pl_ws_collect(pl, c);
		if (pl->sent >= next_kill && pl->kills < kills) {
			pl_kill_restart(pl);
			next_kill += messages / (kills + 1);
		}
	}
	for (c = 0; c < PL_CONNS; c++) {
		wsc_close(pl->ws[c]);
		pl->ws[c] = NULL;
	}
	if (hd_stop(pl->hd) != 0) {
		fprintf(stderr, "powerloss: logwired did not stop cleanly\n");
		pl->errors++;
	}
	return (pl->errors == 0 ? 0 : -1);
}

/* Start logwired on a crash state and ask it for acknowledged messages. */
static int
pl_daemon(const char *dir, const struct plc_ack *acks, size_t n,
    char **cause, void *arg)
{
	const char	*args[] = { "--sync", "always", NULL };
	struct hd_resp	 resp;
	struct hd	*hd;
	json_t		*j;
	const char	*id;
	char		*path;
	size_t		 i, step;
	int		 rc = 0;

	if ((hd = hd_start_dir(dir, args)) == NULL) {
		*cause = xstrdup("it does not start");
		return (-1);
	}
	step = n / 16 + 1;
	for (i = n == 0 ? 0 : (n - 1) % step; i < n && rc == 0; i += step) {
		xasprintf(&path, "/v1/channels/%s/messages/%" PRIu64,
		    acks[i].chan, acks[i].serial);
		if (hd_http(hd, "GET", path, NULL, NULL, 0, &resp) != 0) {
			xasprintf(cause, "GET %s failed", path);
			rc = -1;
		} else {
			j = resp.status == 200 ? hd_resp_json(&resp) : NULL;
			id = json_string_value(json_object_get(j, "id"));
			if (id == NULL || strcmp(id, acks[i].id) != 0) {
				xasprintf(cause, "GET %s: %d %s, not id %s",
				    path, resp.status, resp.body, acks[i].id);
				rc = -1;
			}
			json_decref(j);
			hd_resp_free(&resp);
		}
		free(path);
	}
	if (rc != 0)
		hd_keep(hd);
	hd_free(hd);
	return (rc);
}

/* Remove one entry of our directory (nftw callback). */
static int
pl_rm_cb(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	return (type == FTW_DP ? rmdir(path) : unlink(path));
}

/*
 * Make a temporary directory in $TMPDIR (or /tmp), or, with memory set,
 * in /dev/shm when there is one: the crash states are written, opened and
 * thrown away by the thousand, and on a disk every store opened would
 * cost real syncs.
 */
static char *
pl_tmpdir(int memory)
{
	const char	*tmp;
	char		*dir;

	tmp = getenv("TMPDIR");
	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	if (memory && access("/dev/shm", W_OK | X_OK) == 0)
		tmp = "/dev/shm";
	xasprintf(&dir, "%s/powerloss.XXXXXX", tmp);
	if (mkdtemp(dir) == NULL)
		fatal("mkdtemp %s", dir);
	return (dir);
}

/* Run a workload into a new trace in dir; NULL on failure. */
static struct plc *
pl_record_run(const char *dir, const char *sync, uint64_t messages, int kills,
    uint64_t seed, int final)
{
	struct plc_stats st;
	struct plc	*p;
	struct pl	 pl;
	char		*cause;
	int		 rc;

	memset(&pl, 0, sizeof pl);
	pl.tmp = dir;
	pl.sync = sync;
	pl.rng = seed | 1;
	xasprintf(&pl.datadir, "%s/data-%s", dir, sync);
	xasprintf(&pl.trace, "%s/trace-%s", dir, sync);
	pl.tfd = open(pl.trace, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0600);
	if (pl.tfd == -1)
		fatal("%s", pl.trace);
	rc = pl_workload(&pl, messages, kills);
	if (rc != 0 && pl.hd != NULL)
		hd_keep(pl.hd);
	hd_free(pl.hd);
	close(pl.tfd);
	printf("powerloss: workload --sync %s: %" PRIu64 " publishes (%"
	    PRIu64 " WebSocket, %" PRIu64 " REST), %" PRIu64 " acknowledged "
	    "(%" PRIu64 " duplicates), %d kill -9\n", sync, pl.sent,
	    pl.sent_ws, pl.sent_rest, pl.acked, pl.dups, pl.kills);
	p = NULL;
	if (rc != 0) {
		fprintf(stderr, "powerloss: the workload failed\n");
		goto out;
	}
	if ((p = plc_load(pl.trace, &cause)) == NULL) {
		fprintf(stderr, "powerloss: %s: %s\n", pl.trace, cause);
		free(cause);
		goto out;
	}
	plc_stats(p, &st);
	printf("powerloss: trace: %" PRIu64 " records, %" PRIu64 " processes, "
	    "%" PRIu64 " writes (%.1f MiB), %" PRIu64 " sync points, %"
	    PRIu64 " acknowledgements\n", st.records, st.procs, st.writes,
	    st.write_bytes / 1048576.0, st.syncs, st.acks);
	if (final) {
		if (plc_final(p, pl.datadir, PL_IGNORE, &cause) != 0) {
			fprintf(stderr, "powerloss: the trace does not account "
			    "for the data directory: %s\n", cause);
			free(cause);
			plc_free(p);
			p = NULL;
			goto out;
		}
		printf("powerloss: the whole trace replayed gives the files "
		    "logwired left, byte for byte\n");
	}
out:
	free(pl.datadir);
	free(pl.trace);
	return (p);
}

/* Print the figures of a run of states. */
static void
pl_print(const char *what, const struct plc_result *r, double secs)
{
	printf("powerloss: %s: %" PRIu64 " states on %" PRIu64 " sync points "
	    "(%" PRIu64 " before any store, %" PRIu64 " with torn writes), %"
	    PRIu64 " acknowledged messages checked (up to %" PRIu64 " in one "
	    "state), %" PRIu64 " lost, %" PRIu64 " bad records, %" PRIu64
	    " failed states (verify %" PRIu64 ", open %" PRIu64 "), logwired "
	    "started on %" PRIu64 ", %.1f s\n", what, r->states, r->bases,
	    r->fresh, r->torn, r->checked, r->max_required, r->lost,
	    r->foreign, r->failed, r->verify_failed, r->open_failed,
	    r->daemon_runs, secs);
}

/* Return monotonic seconds. */
static double
pl_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec + ts.tv_nsec / 1e9);
}

/*
 * The negative controls: each must make the checks fail, or the check
 * would pass whatever the store did.
 */
static int
pl_negative(struct plc *p, const char *dir, struct plc_opts *base)
{
	struct plc_result	 r;
	struct plc_opts		 o = *base;
	struct plc		*none;
	double			 t0;
	int			 bad = 0;

	o.quiet = 1;
	o.progress = 0;
	o.daemon = NULL;
	o.only = -1;
	o.states = PL_MUT_STATES;

	t0 = pl_now();
	o.mutant = PLC_MUT_EARLYACK;
	plc_run(p, &o, &r);
	pl_print("control: acks one commit early", &r, pl_now() - t0);
	printf("powerloss: control: %" PRIu64 " of %" PRIu64 " states that "
	    "expected a message acknowledged early failed\n", r.failed,
	    r.mutant_bases);
	if (r.mutant_bases == 0 || r.failed == 0 || r.lost == 0) {
		fprintf(stderr, "powerloss: FAIL: no state that expected a "
		    "message acknowledged early failed\n");
		bad = 1;
	}

	t0 = pl_now();
	o.mutant = PLC_MUT_REORDER;
	plc_run(p, &o, &r);
	pl_print("control: writes reordered across a sync", &r,
	    pl_now() - t0);
	if (r.failed == 0) {
		fprintf(stderr, "powerloss: FAIL: no reordered state was "
		    "caught\n");
		bad = 1;
	}

	t0 = pl_now();
	if ((none = pl_record_run(dir, "none", PL_NEG_MSGS, 0,
	    base->seed ^ 0x5eed, 0)) == NULL)
		return (1);
	o.mutant = PLC_MUT_NONE;
	o.states = PL_NEG_STATES;
	plc_run(none, &o, &r);
	plc_free(none);
	pl_print("control: --sync none", &r, pl_now() - t0);
	if (r.lost == 0) {
		fprintf(stderr, "powerloss: FAIL: no state lost a message "
		    "acknowledged under --sync none\n");
		bad = 1;
	}
	return (bad);
}

/* Say how to use the program. */
static void __dead
pl_usage(void)
{
	fprintf(stderr, "usage: powerloss [--long] [--states N] [--messages N] "
	    "[--seed S] [--sync POLICY] [--keep] [--no-negative]\n"
	    "       powerloss --trace FILE [--states N] [--seed S] "
	    "[--state K]\n");
	exit(2);
}

/* Parse the command line. */
static void
pl_options(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "long",	 no_argument,	    NULL, 'l' },
		{ "states",	 required_argument, NULL, 'n' },
		{ "messages",	 required_argument, NULL, 'm' },
		{ "seed",	 required_argument, NULL, 's' },
		{ "sync",	 required_argument, NULL, 'y' },
		{ "trace",	 required_argument, NULL, 't' },
		{ "state",	 required_argument, NULL, 'k' },
		{ "keep",	 no_argument,	    NULL, 'K' },
		{ "no-negative", no_argument,	    NULL, 'N' },
		{ NULL,		 0,		    NULL, 0 }
	};
	int	ch;

	opt.only = -1;
	opt.negative = 1;
	opt.sync = "always";
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			opt.lng = 1;
			break;
		case 'n':
			opt.states = strtoull(optarg, NULL, 0);
			break;
		case 'm':
			opt.messages = strtoull(optarg, NULL, 0);
			break;
		case 's':
			opt.seed = strtoull(optarg, NULL, 0);
			opt.seeded = 1;
			break;
		case 'y':
			opt.sync = optarg;
			break;
		case 't':
			opt.trace = optarg;
			break;
		case 'k':
			opt.only = strtol(optarg, NULL, 0);
			break;
		case 'K':
			opt.keep = 1;
			break;
		case 'N':
			opt.negative = 0;
			break;
		default:
			pl_usage();
		}
	}
	if (optind != argc || (opt.only >= 0 && opt.trace == NULL))
		pl_usage();
	if (opt.states == 0)
		opt.states = opt.lng ? PL_LONG_STATES : PL_SHORT_STATES;
	if (opt.messages == 0)
		opt.messages = opt.lng ? PL_LONG_MSGS : PL_SHORT_MSGS;
	if (!opt.seeded)
		opt.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
}

int
main(int argc, char **argv)
{
	struct plc_result	 r;
	struct plc_opts		 o;
	struct plc		*p;
	char			*dir, *sdir, *repro, *cause, *logwire;
	double			 t0 = pl_now(), t1;
	int			 failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	pl_options(argc, argv);
	printf("powerloss: seed %" PRIu64 " (--seed %" PRIu64 " repeats the "
	    "crash states of a trace)\n", opt.seed, opt.seed);
	dir = pl_tmpdir(0);
	sdir = pl_tmpdir(1);
	logwire = hd_bin("logwire");

	if (opt.trace != NULL) {
		if ((p = plc_load(opt.trace, &cause)) == NULL) {
			fprintf(stderr, "powerloss: %s: %s\n", opt.trace,
			    cause);
			return (1);
		}
		xasprintf(&repro, "%s --trace %s --states %zu", argv[0],
		    opt.trace, opt.states);
	} else {
		p = pl_record_run(dir, opt.sync, opt.messages,
		    opt.lng ? PL_LONG_KILLS : PL_SHORT_KILLS, opt.seed, 1);
		if (p == NULL) {
			fprintf(stderr, "powerloss: kept %s\n", dir);
			return (1);
		}
		xasprintf(&repro, "%s --trace %s/trace-%s --states %zu",
		    argv[0], dir, opt.sync, opt.states);
	}

	memset(&o, 0, sizeof o);
	o.seed = opt.seed;
	o.states = opt.states;
	o.only = opt.only;
	o.workdir = sdir;
	o.logwire = logwire;
	o.progress = opt.lng || isatty(STDERR_FILENO);
	o.daemon = pl_daemon;
	o.daemon_every = opt.lng ? 1000 : 100;
	o.repro = repro;
	t1 = pl_now();
	if (plc_run(p, &o, &r) != 0)
		failed = 1;
	pl_print("crash states", &r, pl_now() - t1);
	if (r.states < (opt.only >= 0 ? 1 : opt.states)) {
		fprintf(stderr, "powerloss: FAIL: only %" PRIu64 " states\n",
		    r.states);
		failed = 1;
	}
	if (r.lost != 0 || r.failed != 0)
		failed = 1;
	if (opt.negative && opt.trace == NULL && opt.only < 0 &&
	    pl_negative(p, dir, &o) != 0)
		failed = 1;
	plc_free(p);
	printf("powerloss: %s in %.0f s (seed %" PRIu64 ")\n",
	    failed ? "FAILED" : "passed", pl_now() - t0, opt.seed);
	if (failed || opt.keep || opt.only >= 0)
		fprintf(stderr, "powerloss: kept %s and %s\n", dir, sdir);
	else if (nftw(dir, pl_rm_cb, 16, FTW_DEPTH | FTW_PHYS) != 0 ||
	    nftw(sdir, pl_rm_cb, 16, FTW_DEPTH | FTW_PHYS) != 0)
		fprintf(stderr, "powerloss: could not remove %s or %s\n",
		    dir, sdir);
	free(repro);
	free(logwire);
	free(sdir);
	free(dir);
	return (failed);
}
