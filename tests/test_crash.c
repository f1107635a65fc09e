/*
 * Guarantee 2, for real: publishers run, the daemon is killed with
 * SIGKILL at a random moment, restarted on the same data directory, and
 * every acknowledged message must be there, at the serial its ack named,
 * with its id and data. Repeated for each sync policy (an acknowledged
 * message survives kill -9 under all three).
 *
 * TS_SEED=n in the environment replays a run's kill moments.
 */

#include "config.h"

#include <sys/types.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>
#include <jansson.h>
#include <pthread.h>

#include "common.h"
#include "storage.h"
#include "harness.h"
#include "cu_run.h"
#include "test_server_common.h"

#define CRASH_PUBS	2
#define CRASH_MAX	200000	/* publishes per publisher and cycle */
#define CRASH_WINDOW	16
#define CRASH_MIN_ACKS	20	/* acks before the kill may come */
#define CRASH_DELAY_MS	300	/* then up to this much longer */

static unsigned int	seed;

/* Check the messages of one cycle, from after+1 to the head, on s. */
static int
crash_verify(struct wsc *s, int cycle, uint64_t after, uint64_t head,
    struct ts_pub *pub, uint64_t **found)
{
	json_t		*j;
	const char	*id;
	long long	 serial, k, i;
	uint64_t	 want;
	int		 cc, kk, ii, n, errors = 0, last[CRASH_PUBS];

	for (k = 0; k < CRASH_PUBS; k++)
		last[k] = -1;
	for (want = after + 1; want <= head; want++) {
		if ((j = hd_ws_recv_json(s, TS_TIMEOUT)) == NULL) {
			fprintf(stderr, "  cycle %d: no message %llu (head "
			    "%llu)\n", cycle, (unsigned long long)want,
			    (unsigned long long)head);
			return (-1);
		}
		serial = ts_int(j, "serial");
		k = ts_int(json_object_get(j, "data"), "k");
		i = ts_int(json_object_get(j, "data"), "i");
		id = ts_str(j, "id");
		n = id != NULL ? sscanf(id, "c%d-%d-%d", &cc, &kk, &ii) : 0;
		if (!ts_is_op(j, "message") || serial != (long long)want ||
		    n != 3 || cc != cycle || kk != k || ii != i || k < 0 ||
		    k >= CRASH_PUBS || i < 0 || i >= CRASH_MAX) {
			fprintf(stderr, "  cycle %d: expected message %llu "
			    "of this cycle (id c%d-K-I, data {k:K,i:I})\n",
			    cycle, (unsigned long long)want, cycle);
			ts_dump("got", j);
			json_decref(j);
			return (-1);
		}
		json_decref(j);
		/* One connection's publishes commit in order: no holes. */
		if (i != last[k] + 1) {
			fprintf(stderr, "  cycle %d: publisher %lld: index "
			    "%lld after %d at serial %lld\n", cycle, k, i,
			    last[k], serial);
			errors++;
		}
		last[k] = (int)i;
		found[k][i] = (uint64_t)serial;
	}
	for (k = 0; k < CRASH_PUBS; k++) {
		for (i = 0; i < CRASH_MAX; i++) {
			if (pub[k].serials[i] == 0 ||
			    pub[k].serials[i] == found[k][i])
				continue;
			if (errors++ < 5)
				fprintf(stderr, "  cycle %d: c%d-%lld-%lld was "
				    "acked as serial %llu; after the restart "
				    "%s %llu\n", cycle, cycle, k, i,
				    (unsigned long long)pub[k].serials[i],
				    found[k][i] != 0 ? "it is at" :
				    "it is missing; head",
				    (unsigned long long)(found[k][i] != 0 ?
				    found[k][i] : head));
		}
	}
	return (errors == 0 ? 0 : -1);
}

/* Run cycles of publish, kill -9, restart, verify under a sync policy. */
static void
crash_cycles(const char *sync, int cycles)
{
	unsigned int	 before = CU_get_number_of_failures();
	struct hd	*hd;
	struct ts_pub	 pub[CRASH_PUBS];
	struct ts_sub	 all;
	struct wsc	*s = NULL, *w;
	pthread_t	 pt[CRASH_PUBS];
	json_t		*j = NULL;
	uint64_t	*found[CRASH_PUBS], verified = 0, head;
	int64_t		 deadline;
	char		 epoch[17], tag[16];
	int		 c, k, np = 0, running = 0, acked, delay, status;
	int		 total_acked = 0;

	memset(pub, 0, sizeof pub);
	for (k = 0; k < CRASH_PUBS; k++)
		found[k] = xcalloc(CRASH_MAX, sizeof *found[k]);
	REQUIRE((hd = ts_start("--sync", sync, NULL)) != NULL);
	REQUIRE(ts_epoch(hd, "crash", epoch, &head) == 0);
	REQUIRE(head == 0);

	for (c = 0; c < cycles; c++) {
		snprintf(tag, sizeof tag, "c%d", c);
		for (k = 0; k < CRASH_PUBS; k++) {
			REQUIRE((w = ts_ws(hd)) != NULL);
			ts_pub_init(&pub[k], w, "crash", tag, k, CRASH_MAX,
			    CRASH_WINDOW);
			np = k + 1;
			pub[k].until_closed = 1;
			pub[k].sync = sync;
			pub[k].deadline = ts_now() + 30000;
			memset(found[k], 0, CRASH_MAX * sizeof *found[k]);
		}
		for (k = 0; k < CRASH_PUBS; k++) {
			REQUIRE(pthread_create(&pt[k], NULL, ts_pub_run,
			    &pub[k]) == 0);
			running = k + 1;
		}
		deadline = ts_now() + 10000;
		do {
			ts_sleep(1);
			for (acked = 0, k = 0; k < CRASH_PUBS; k++)
				acked += ts_pub_acked(&pub[k]);
		} while (acked < CRASH_MIN_ACKS && ts_now() < deadline);
		if (acked < CRASH_MIN_ACKS) {
			fprintf(stderr, "  cycle %d: %d acked in 10 s\n", c,
			    acked);
			for (k = 0; k < CRASH_PUBS; k++)
				CHECK_RUN(&pub[k]);
		}
		REQUIRE(acked >= CRASH_MIN_ACKS);
		delay = (int)(rand_r(&seed) % CRASH_DELAY_MS);
		ts_sleep(delay);

		status = hd_kill9(hd);
		CU_ASSERT_EQUAL(status, 137);
		for (k = 0; k < running; k++)
			pthread_join(pt[k], NULL);
		running = 0;
		for (acked = 0, k = 0; k < CRASH_PUBS; k++) {
			CHECK_RUN(&pub[k]);
			acked += pub[k].acked;
		}
		total_acked += acked;

		REQUIRE(hd_restart(hd) == 0);
		REQUIRE((s = ts_ws(hd)) != NULL);
		REQUIRE(ts_resume(s, "crash", verified, epoch, &head, &j) == 0);
		/* A crash is no reason for a new epoch. */
		CU_ASSERT(ts_true(j, "resumed"));
		if (!ts_true(j, "resumed"))
			ts_dump("after the restart, expected resumed:true", j);
		json_decref(j);
		j = NULL;
		fprintf(stderr, "  %s cycle %d: killed after %d ms, %d acked, "
		    "head %llu -> %llu\n", sync, c, delay, acked,
		    (unsigned long long)verified, (unsigned long long)head);
		REQUIRE(head >= verified);
		if (crash_verify(s, c, verified, head, pub, found) != 0)
			CU_FAIL("acknowledged messages lost or moved by kill "
			    "-9");
		verified = head;
		wsc_close(s);
		s = NULL;
		for (k = 0; k < CRASH_PUBS; k++) {
			wsc_drop(pub[k].w);
			ts_pub_free(&pub[k]);
		}
		np = 0;
		if (CU_get_number_of_failures() > before)
			break;
	}

	/* The whole log: contiguous from 1 to the head. */
	REQUIRE((s = ts_ws(hd)) != NULL);
	REQUIRE(ts_subscribe(s, "crash", "\"rewind\":100000000", NULL, &head,
	    NULL) == 0);
	CU_ASSERT_EQUAL(head, verified);
	CU_ASSERT(head >= (uint64_t)total_acked);
	ts_sub_init(&all, s, "crash", 1, head);
	ts_sub_run(&all);
	CHECK_RUN(&all);
out:
	for (k = 0; k < running; k++)
		pthread_join(pt[k], NULL);
	for (k = 0; k < np; k++) {
		wsc_drop(pub[k].w);
		ts_pub_free(&pub[k]);
	}
	for (k = 0; k < CRASH_PUBS; k++)
		free(found[k]);
	json_decref(j);
	wsc_close(s);
	ts_done(hd, before);
}

/* Ten kill -9 cycles under --sync always. */
static void
test_crash_always(void)
{
	crash_cycles("always", 10);
}

/* Three under --sync batch. */
static void
test_crash_batch(void)
{
	crash_cycles("batch", 3);
}

/* Three under --sync none. */
static void
test_crash_none(void)
{
	crash_cycles("none", 3);
}

int
main(void)
{
	static const struct cu_test tests[] = {
		{ "acked messages survive kill -9 (sync always, 10 cycles)",
		    test_crash_always },
		{ "acked messages survive kill -9 (sync batch)",
		    test_crash_batch },
		{ "acked messages survive kill -9 (sync none)",
		    test_crash_none },
	};
	const char	*env;

	signal(SIGPIPE, SIG_IGN);
	env = getenv("TS_SEED");
	seed = env != NULL ? (unsigned int)strtoul(env, NULL, 10) :
	    (unsigned int)time(NULL) ^ (unsigned int)getpid();
	fprintf(stderr, "test_crash: TS_SEED=%u\n", seed);
	return (cu_run("logwired kill -9", tests, nitems(tests)));
}
