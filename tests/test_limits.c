/*
 * logwired at its limits: a full disk (publishes refused with 50301 while
 * reads go on, and publishing resumes by itself when space returns), the
 * request-head timeout (slowloris), and the connection limit.
 *
 * The disk-full test mounts a small tmpfs for the data directory, which
 * needs root (CI runs as root).  Without it the test is reported as
 * skipped by make check (exit 77), never as passed.
 */

#include "config.h"

#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <jansson.h>

#include "common.h"
#include "harness.h"
#include "cu_run.h"

static int	limits_skipped;

/* GET /healthz and return its "storage" field (caller frees), or NULL. */
static char *
health_storage(struct hd *hd, int *status)
{
	struct hd_resp	 r;
	json_t		*j;
	char		*s = NULL;

	*status = 0;
	if (hd_http(hd, "GET", "/healthz", NULL, NULL, 0, &r) != 0)
		return (NULL);
	*status = r.status;
	if ((j = hd_resp_json(&r)) != NULL) {
		if (json_is_string(json_object_get(j, "storage")))
			s = strdup(json_string_value(json_object_get(j,
			    "storage")));
		json_decref(j);
	}
	hd_resp_free(&r);
	return (s);
}

/*
 * Publish one message and wait for its answer: returns the serial, or
 * minus the error code.
 */
static long long
ws_publish(struct wsc *w, const char *pad, int i)
{
	json_t		*m;
	const char	*op;
	long long	 rc = 0;

	if (hd_ws_send_json(w, "{\"op\":\"publish\",\"channel\":\"f\","
	    "\"ref\":%d,\"data\":{\"i\":%d,\"pad\":\"%s\"}}", i, i, pad) != 0)
		return (-1);
	while (rc == 0 && (m = hd_ws_recv_json(w, 20000)) != NULL) {
		op = json_string_value(json_object_get(m, "op"));
		if (op != NULL && strcmp(op, "published") == 0)
			rc = json_integer_value(json_object_get(m, "serial"));
		else if (op != NULL && strcmp(op, "error") == 0)
			rc = -json_integer_value(json_object_get(m, "code"));
		json_decref(m);
	}
	return (rc == 0 ? -1 : rc);
}

/* Fill pad with random letters and digits: zstd cannot shrink it much. */
static void
random_pad(char *pad, size_t size)
{
	static const char	set[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	size_t			i;

	for (i = 0; i < size - 1; i++)
		pad[i] = set[random() % (sizeof set - 1)];
	pad[size - 1] = '\0';
}

/*
 * Read a subscriber's messages after serial last up to expect_last,
 * checking they come in order with no gap; returns the last serial seen.
 */
static long long
drain_sub(struct wsc *s, long long last, long long expect_last)
{
	json_t		*m;
	long long	 serial;
	const char	*op;

	while (last < expect_last && (m = hd_ws_recv_json(s, 10000)) != NULL) {
		op = json_string_value(json_object_get(m, "op"));
		if (op != NULL && strcmp(op, "message") == 0) {
			serial = json_integer_value(json_object_get(m,
			    "serial"));
			CU_ASSERT_EQUAL(serial, last + 1);
			last = serial;
		}
		json_decref(m);
	}
	return (last);
}

/*
 * Fill a 4 MiB tmpfs: the first refused publish gets 50301 and nothing of
 * it is stored; /healthz says "full" with 200; the subscriber has every
 * acknowledged message; history still reads.  Then grow the tmpfs: the
 * next publish is stored right after the last acknowledged one, and
 * /healthz says "ok" again.
 */
static void
test_disk_full(void)
{
	struct hd_resp	 r;
	struct hd	*hd;
	struct wsc	*pub, *sub;
	char		 dir[] = "/tmp/lwfull.XXXXXX", pad[1025], *st;
	long long	 rc, last = 0;
	int		 i, status, mounted = 0;

	if (geteuid() != 0) {
		fprintf(stderr, "  NOT RUN: mounting a tmpfs needs root\n");
		limits_skipped = 1;
		return;
	}
	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	if (mount("tmpfs", dir, "tmpfs", 0, "size=4m") != 0) {
		fprintf(stderr, "  NOT RUN: mount tmpfs: %s\n",
		    strerror(errno));
		limits_skipped = 1;
		rmdir(dir);
		return;
	}
	mounted = 1;

	hd = hd_start_dir(dir, NULL);
	CU_ASSERT_FATAL(hd != NULL);
	sub = hd_ws(hd);
	pub = hd_ws(hd);
	CU_ASSERT_FATAL(sub != NULL && pub != NULL);
	hd_ws_send_json(sub, "{\"op\":\"subscribe\",\"channel\":\"f\"}");
	json_decref(hd_ws_expect_op(sub, "subscribed", 10000));

	for (i = 1; i <= 20000; i++) {
		random_pad(pad, sizeof pad);
		if ((rc = ws_publish(pub, pad, i)) < 0)
			break;
		CU_ASSERT_EQUAL(rc, last + 1);
		last = rc;
	}
	CU_ASSERT_EQUAL(rc, -50301);
	CU_ASSERT(last > 100);
	fprintf(stderr, "  %lld messages of 1 KiB stored before 50301\n",
	    last);
	st = health_storage(hd, &status);
	CU_ASSERT_EQUAL(status, 200);
	CU_ASSERT(st != NULL && strcmp(st, "full") == 0);
	free(st);
	/* Reads go on: the subscriber got everything acked, history too. */
	CU_ASSERT_EQUAL(drain_sub(sub, 0, last), last);
	CU_ASSERT(hd_http(hd, "GET", "/v1/channels/f/messages?limit=1", NULL,
	    NULL, 0, &r) == 0 && r.status == 200);
	hd_resp_free(&r);
	/* Still refused while full (the same size again). */
	random_pad(pad, sizeof pad);
	CU_ASSERT_EQUAL(ws_publish(pub, pad, 0), -50301);

	CU_ASSERT_FATAL(mount("tmpfs", dir, "tmpfs", MS_REMOUNT,
	    "size=64m") == 0);
	rc = ws_publish(pub, "after", 1);
	CU_ASSERT_EQUAL(rc, last + 1);
	st = health_storage(hd, &status);
	CU_ASSERT(st != NULL && strcmp(st, "ok") == 0);
	free(st);
	CU_ASSERT_EQUAL(drain_sub(sub, last, last + 1), last + 1);

	wsc_close(pub);
	wsc_close(sub);
	CU_ASSERT_EQUAL(hd_stop(hd), 0);
	hd_free(hd);
	if (mounted && umount(dir) != 0)
		fprintf(stderr, "  umount %s: %s\n", dir, strerror(errno));
	rmdir(dir);
}

/* Read from fd until EOF or the deadline; returns what came. */
static char *
read_until_eof(int fd, int timeout_ms, int *eof)
{
	struct pollfd	 pfd;
	long long	 deadline = mono_ms() + timeout_ms;
	char		*buf = calloc(1, 65536);
	size_t		 len = 0;
	ssize_t		 n;

	*eof = 0;
	while (mono_ms() < deadline && len < 65535) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 100) != 1)
			continue;
		n = read(fd, buf + len, 65535 - len);
		if (n <= 0) {
			*eof = 1;
			break;
		}
		len += (size_t)n;
	}
	return (buf);
}

/*
 * A client that sends part of a request head and stalls gets 408 and is
 * closed; one that connects and sends nothing is closed; both within a
 * bound well under what a slowloris needs.
 */
static void
test_header_timeout(void)
{
	const char	*args[] = { "--header-timeout", "300ms", NULL };
	struct hd	*hd;
	char		*got;
	long long	 t0;
	int		 fd, eof;

	hd = hd_start(args);
	CU_ASSERT_FATAL(hd != NULL);
	fd = hd_tcp(hd);
	CU_ASSERT_FATAL(fd >= 0);
	t0 = mono_ms();
	CU_ASSERT(write(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n", 32) == 32);
	got = read_until_eof(fd, 5000, &eof);
	CU_ASSERT(eof);
	CU_ASSERT(strncmp(got, "HTTP/1.1 408 ", 13) == 0);
	CU_ASSERT(mono_ms() - t0 < 4000);
	free(got);
	close(fd);

	fd = hd_tcp(hd);
	CU_ASSERT_FATAL(fd >= 0);
	got = read_until_eof(fd, 5000, &eof);
	CU_ASSERT(eof);
	free(got);
	close(fd);
	hd_free(hd);
}

/* Past --max-connections a new connection is closed at once. */
static void
test_max_connections(void)
{
	const char	*args[] = { "--max-connections", "3", NULL };
	struct hd	*hd;
	struct wsc	*w[3], *extra;
	char		*cause = NULL;
	int		 i, status = 0;

	hd = hd_start(args);
	CU_ASSERT_FATAL(hd != NULL);
	/* hd_start's health checks are done: no connection is open. */
	usleep(100000);
	for (i = 0; i < 3; i++) {
		w[i] = hd_ws(hd);
		CU_ASSERT_FATAL(w[i] != NULL);
	}
	extra = hd_ws_connect(hd, "/v1/ws", NULL, &status, &cause);
	CU_ASSERT(extra == NULL);
	free(cause);
	if (extra != NULL)
		wsc_close(extra);
	/* The three still work. */
	for (i = 0; i < 3; i++) {
		hd_ws_send_json(w[i], "{\"op\":\"ping\",\"ref\":%d}", i);
		json_decref(hd_ws_expect_op(w[i], "pong", 10000));
	}
	/* One leaves: a new one gets in. */
	wsc_close(w[0]);
	usleep(200000);
	w[0] = hd_ws(hd);
	CU_ASSERT(w[0] != NULL);
	for (i = 0; i < 3; i++)
		if (w[i] != NULL)
			wsc_close(w[i]);
	hd_free(hd);
}

int
main(void)
{
	static const struct cu_test tests[] = {
		{ "disk full: 50301, reads go on, recovers by itself",
		    test_disk_full },
		{ "request head timeout: 408 and close", test_header_timeout },
		{ "connection limit", test_max_connections },
	};
	int	rc;

	if ((rc = cu_run("logwired limits", tests, nitems(tests))) != 0)
		return (rc);
	return (limits_skipped ? 77 : 0);
}
