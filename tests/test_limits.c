/*
 * logwired at its limits: a full disk (publishes refused with 50301 while
 * reads go on, and publishing resumes by itself when space returns), the
 * request-head timeout (slowloris), the connection limit, the descriptor
 * limit, and a shutdown while clients read slowly.
 *
 * The disk-full test mounts a small tmpfs for the data directory, which
 * needs root (CI runs as root).  Without it the test is reported as
 * skipped by make check (exit 77), never as passed.
 */

#include "config.h"

#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
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
		wsc_close(w[i]);
	hd_free(hd);
}

/* Return the CPU time (user + system) a process has used in ms, or -1. */
static long long
cpu_ms(pid_t pid)
{
	FILE			*f;
	char			 path[64], buf[1024], *p;
	unsigned long long	 ut, st;
	size_t			 n;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* After "pid (comm) ": state is field 3, utime 14, stime 15. */
	if ((p = strrchr(buf, ')')) == NULL || sscanf(p + 2,
	    "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
	    &ut, &st) != 2)
		return (-1);
	return ((long long)(ut + st) * 1000 / sysconf(_SC_CLK_TCK));
}

/* Count the lines of the daemon's log that contain what. */
static int
log_count(struct hd *hd, const char *what)
{
	char	*log, *p, *nl;
	int	 n = 0;

	if ((log = hd_log(hd)) == NULL)
		return (-1);
	for (p = log; (p = strstr(p, what)) != NULL; p = nl + 1) {
		n++;
		if ((nl = strchr(p, '\n')) == NULL)
			break;
	}
	free(log);
	return (n);
}

/* Find the lowest descriptor number a process does not use, or -1. */
static int
first_free_fd(pid_t pid)
{
	static unsigned char	 used[8192];
	struct dirent		*de;
	DIR			*d;
	char			 path[64];
	long			 fd;
	int			 i;

	snprintf(path, sizeof path, "/proc/%ld/fd", (long)pid);
	if ((d = opendir(path)) == NULL)
		return (-1);
	memset(used, 0, sizeof used);
	while ((de = readdir(d)) != NULL) {
		fd = strtol(de->d_name, NULL, 10);
		if (de->d_name[0] != '.' && fd >= 0 && fd < (long)sizeof used)
			used[fd] = 1;
	}
	closedir(d);
	for (i = 0; i < (int)sizeof used; i++)
		if (!used[i])
			return (i);
	return (-1);
}

/* Start n connects without waiting for them; returns how many started. */
static int
connect_pending(struct hd *hd, int *fds, int n)
{
	struct sockaddr_in	sin;
	int			i, k = 0;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(hd_port(hd));
	for (i = 0; i < n; i++) {
		fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (fds[i] == -1)
			continue;
		if (connect(fds[i], (struct sockaddr *)&sin, sizeof sin) == 0 ||
		    errno == EINPROGRESS)
			k++;
	}
	return (k);
}

/* Close n descriptors (those that are open). */
static void
close_all(int *fds, int n)
{
	int	i;

	for (i = 0; i < n; i++) {
		if (fds[i] != -1)
			close(fds[i]);
		fds[i] = -1;
	}
}

/* GET /healthz until it answers 200 or timeout_ms passes: the status. */
static int
health_within(struct hd *hd, int timeout_ms)
{
	struct hd_resp	r;
	long long	deadline = mono_ms() + timeout_ms;
	int		status = 0;

	while (status != 200 && mono_ms() < deadline) {
		if (hd_http(hd, "GET", "/healthz", NULL, NULL, 0, &r) == 0) {
			status = r.status;
			hd_resp_free(&r);
		}
		if (status != 200)
			usleep(50000);
	}
	return (status);
}

#define NOFILE_LIMIT	300
#define NOFILE_EXTRA	20
#define NOFILE_CPU_MS	500	/* in NOFILE_WAIT_MS; a busy loop takes all */
#define NOFILE_WAIT_MS	2000
#define NOFILE_LINES	50

/*
 * Check the daemon while connections wait that it cannot take: it must
 * not spin (CPU well below NOFILE_WAIT_MS) nor flood its log.
 */
static void
nofile_quiet(struct hd *hd, const char *what)
{
	long long	cpu0, cpu1;
	int		lines;

	cpu0 = cpu_ms(hd_pid(hd));
	usleep(NOFILE_WAIT_MS * 1000);
	cpu1 = cpu_ms(hd_pid(hd));
	lines = log_count(hd, "accept") + log_count(hd, "refusing");
	fprintf(stderr, "  %s: %lld ms of CPU in %d ms, %d log lines about "
	    "accepting\n", what, cpu1 - cpu0, NOFILE_WAIT_MS, lines);
	CU_ASSERT(cpu0 >= 0 && cpu1 >= 0);
	CU_ASSERT(cpu1 - cpu0 < NOFILE_CPU_MS);
	CU_ASSERT(lines >= 0 && lines < NOFILE_LINES);
}

/*
 * Under a descriptor limit of NOFILE_LIMIT (prlimit --nofile=300:300):
 * the default --max-connections is lowered to fit, and the log says so;
 * past it, waiting connections are refused without spinning or flooding
 * the log.  Then the limit is lowered under the daemon's feet to the
 * descriptors it holds (as a leak or an operator could): accept(2) fails
 * with EMFILE, and the daemon must wait rather than spin (it used a whole
 * CPU and wrote 130k lines a second).  Once connections close, /healthz
 * answers again and a new WebSocket works.
 */
static void
test_nofile(void)
{
	const char	*args[] = { "--header-timeout", "1m", NULL };
	struct rlimit	 rl;
	struct hd	*hd;
	struct wsc	*w;
	json_t		*j;
	char		*log, *p;
	long		 fit = 0;
	int		 conns[NOFILE_LIMIT], extra[NOFILE_EXTRA], i, nconn = 0;
	int		 lim;

	for (i = 0; i < NOFILE_LIMIT; i++)
		conns[i] = -1;
	for (i = 0; i < NOFILE_EXTRA; i++)
		extra[i] = -1;
	hd_set_nofile(NOFILE_LIMIT);
	hd = hd_start(args);
	hd_set_nofile(0);
	CU_ASSERT_FATAL(hd != NULL);

	log = hd_log(hd);
	CU_ASSERT_FATAL(log != NULL);
	p = strstr(log, "max-connections lowered from 100000 to ");
	CU_ASSERT(p != NULL);
	if (p != NULL)
		fit = strtol(p + strlen("max-connections lowered from "
		    "100000 to "), NULL, 10);
	else
		fprintf(stderr, "  no line about lowering max-connections "
		    "to the descriptor limit in the log\n");
	free(log);
	CU_ASSERT(fit > 0 && fit < NOFILE_LIMIT - 16);
	if (fit <= 0 || fit >= NOFILE_LIMIT)
		fit = NOFILE_LIMIT - 1;

	/* Up to the limit (the old daemon ran out of descriptors here). */
	for (i = 0; i < fit; i++) {
		if ((conns[i] = hd_tcp(hd)) == -1)
			break;
		nconn++;
	}
	CU_ASSERT_EQUAL(nconn, fit);
	CU_ASSERT_EQUAL(connect_pending(hd, extra, NOFILE_EXTRA),
	    NOFILE_EXTRA);
	nofile_quiet(hd, "at --max-connections");
	close_all(extra, NOFILE_EXTRA);

	/* Out of descriptors: the limit at the lowest one not in use. */
	usleep(200000);
	lim = first_free_fd(hd_pid(hd));
	CU_ASSERT_FATAL(lim > 0);
	rl.rlim_cur = rl.rlim_max = (rlim_t)lim;
	CU_ASSERT_FATAL(prlimit(hd_pid(hd), RLIMIT_NOFILE, &rl, NULL) == 0);
	CU_ASSERT_EQUAL(connect_pending(hd, extra, NOFILE_EXTRA),
	    NOFILE_EXTRA);
	nofile_quiet(hd, "out of descriptors");
	CU_ASSERT(log_count(hd, "Too many open files") >= 1);

	/* Connections leave: the daemon takes new ones again. */
	close_all(conns, nconn);
	close_all(extra, NOFILE_EXTRA);
	CU_ASSERT_EQUAL(health_within(hd, 5000), 200);
	w = hd_ws(hd);
	CU_ASSERT(w != NULL);
	if (w != NULL) {
		hd_ws_send_json(w, "{\"op\":\"ping\",\"ref\":1}");
		j = hd_ws_expect_op(w, "pong", 5000);
		CU_ASSERT(j != NULL);
		json_decref(j);
		wsc_close(w);
	}
	CU_ASSERT_EQUAL(hd_stop(hd), 0);
	hd_free(hd);
}

#define SD_PUBS		6
#define SD_COUNT	2000	/* sent before the signal, per publisher */
#define SD_MAX		4000	/* and more while reading the answers */
#define SD_REF_PAD	400	/* long refs: long acks, many bytes unread */
#define SD_PAUSE_MS	1000

#define SD_CHUNK	16384	/* the client reads this much at a time */

/*
 * One publisher of the slow-reader shutdown test, on a WebSocket of its
 * own making: wsc reads all the socket holds at once, where this client
 * reads SD_CHUNK at a time and answers each reply, as many clients do.
 */
struct sd_pub {
	int		 fd;
	uint8_t		*buf;		/* read, not parsed yet */
	size_t		 len;
	int		 k;
	const char	*pad;
	int		 next;		/* index of the next publish */
	int		 send_failed;
	const char	*error;		/* why reading stopped */
	unsigned char	 answered[SD_MAX];	/* by index */
	unsigned char	 serials[SD_MAX];	/* acknowledged, by serial */
	int		 nacked, nrefused, nother, close_code;
	long long	 maxserial;
};

/* Send one masked text or close frame (the mask key is zero). */
static int
sd_frame(struct sd_pub *p, int opcode, const void *data, size_t len)
{
	uint8_t	*f;
	size_t	 hlen = len < 126 ? 6 : 8;
	ssize_t	 n;
	int	 r;

	f = calloc(1, hlen + len);
	f[0] = 0x80 | opcode;
	if (len < 126)
		f[1] = 0x80 | len;
	else {
		f[1] = 0x80 | 126;
		f[2] = len >> 8;
		f[3] = len & 0xff;
	}
	memcpy(f + hlen, data, len);
	n = send(p->fd, f, hlen + len, MSG_NOSIGNAL);
	r = n == (ssize_t)(hlen + len) ? 0 : -1;
	free(f);
	return (r);
}

/* Send the publisher's next publish. */
static int
sd_send(struct sd_pub *p)
{
	char	*text;
	int	 n, r;

	n = asprintf(&text, "{\"op\":\"publish\",\"channel\":\"sd-%d\","
	    "\"ref\":\"k%d-i%d-%s\",\"data\":{\"i\":%d}}", p->k, p->k,
	    p->next, p->pad, p->next);
	if (n < 0)
		return (-1);
	r = sd_frame(p, 0x1, text, (size_t)n);
	free(text);
	if (r == 0)
		p->next++;
	return (r);
}

/* Read up to SD_CHUNK more bytes: 1, 0 on timeout, -1 at EOF or error. */
static int
sd_fill(struct sd_pub *p, long long deadline)
{
	struct pollfd	pfd = { p->fd, POLLIN, 0 };
	ssize_t		n;
	long long	left = deadline - mono_ms();

	if (poll(&pfd, 1, left > 0 ? (int)left : 0) <= 0)
		return (0);
	p->buf = realloc(p->buf, p->len + SD_CHUNK + 1);
	n = recv(p->fd, p->buf + p->len, SD_CHUNK, 0);
	if (n <= 0) {
		p->error = n == 0 ? "EOF" : strerror(errno);
		return (-1);
	}
	p->len += (size_t)n;
	p->buf[p->len] = '\0';
	return (1);
}

/* Open the WebSocket; 0 or -1. */
static int
sd_open(struct hd *hd, struct sd_pub *p)
{
	long long	 deadline = mono_ms() + 10000;
	char		 req[512], *end;
	struct timeval	 tv = { 30, 0 };
	size_t		 hlen;
	int		 n;

	if ((p->fd = hd_tcp(hd)) == -1)
		return (-1);
	setsockopt(p->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	n = snprintf(req, sizeof req, "GET /v1/ws HTTP/1.1\r\n"
	    "Host: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "Sec-WebSocket-Protocol: logwire.v1\r\n\r\n", hd_port(hd));
	if (send(p->fd, req, (size_t)n, MSG_NOSIGNAL) != n)
		return (-1);
	while (p->len == 0 || (end = strstr((char *)p->buf, "\r\n\r\n")) ==
	    NULL)
		if (sd_fill(p, deadline) != 1)
			return (-1);
	if (strncmp((char *)p->buf, "HTTP/1.1 101 ", 13) != 0)
		return (-1);
	hlen = (size_t)(end - (char *)p->buf) + 4;
	memmove(p->buf, p->buf + hlen, p->len - hlen);
	p->len -= hlen;
	return (0);
}

/* Read one frame: 1 with *op and *data (caller frees), 0, or -1. */
static int
sd_next(struct sd_pub *p, long long deadline, int *op, char **data,
    size_t *dlen)
{
	uint64_t	plen;
	size_t		hlen;
	int		r, i;

	for (;;) {
		if (p->len >= 2) {
			plen = p->buf[1] & 0x7f;
			hlen = plen == 126 ? 4 : plen == 127 ? 10 : 2;
			if (p->len >= hlen && plen == 126)
				plen = (uint64_t)p->buf[2] << 8 | p->buf[3];
			else if (p->len >= hlen && plen == 127)
				for (plen = 0, i = 2; i < 10; i++)
					plen = plen << 8 | p->buf[i];
			if (p->len >= hlen && p->len - hlen >= plen) {
				*op = p->buf[0] & 0x0f;
				*dlen = (size_t)plen;
				*data = malloc(plen + 1);
				memcpy(*data, p->buf + hlen, plen);
				(*data)[plen] = '\0';
				p->len -= hlen + plen;
				memmove(p->buf, p->buf + hlen + plen, p->len);
				return (1);
			}
		}
		if ((r = sd_fill(p, deadline)) != 1)
			return (r);
	}
}

/*
 * Read one publisher's answers until its close frame, publishing again
 * for each answer (a window of publishes in flight): a publish that
 * reaches a closed socket is answered with a reset, and the reset makes
 * the client's system drop the acks it still holds.
 */
static void
sd_read(struct sd_pub *p)
{
	json_error_t	 err;
	json_t		*j;
	const char	*op, *ref;
	char		*data;
	size_t		 len;
	long long	 deadline = mono_ms() + 30000, serial;
	int		 opcode, kk, i;

	p->close_code = 1006;
	while (sd_next(p, deadline, &opcode, &data, &len) == 1) {
		if (opcode == 0x8) {
			p->close_code = len >= 2 ? ((uint8_t)data[0] << 8 |
			    (uint8_t)data[1]) : 1005;
			sd_frame(p, 0x8, data, len >= 2 ? 2 : 0);
			free(data);
			break;
		}
		j = json_loadb(data, len, 0, &err);
		free(data);
		op = json_string_value(json_object_get(j, "op"));
		ref = json_string_value(json_object_get(j, "ref"));
		serial = json_integer_value(json_object_get(j, "serial"));
		if (op == NULL || ref == NULL ||
		    sscanf(ref, "k%d-i%d-", &kk, &i) != 2 || kk != p->k ||
		    i < 0 || i >= p->next || p->answered[i])
			p->nother++;
		else if (strcmp(op, "published") == 0 && serial >= 1 &&
		    serial <= SD_MAX && !p->serials[serial - 1]) {
			p->answered[i] = 1;
			p->serials[serial - 1] = 1;
			p->nacked++;
			if (serial > p->maxserial)
				p->maxserial = serial;
		} else if (strcmp(op, "error") == 0 && json_integer_value(
		    json_object_get(j, "code")) == 50300) {
			p->answered[i] = 1;
			p->nrefused++;
		} else
			p->nother++;
		json_decref(j);
		if (!p->send_failed && p->next < SD_MAX && sd_send(p) != 0)
			p->send_failed = 1;
	}
	if (p->close_code == 1006)
		fprintf(stderr, "  publisher %d: no close frame: %s\n", p->k,
		    p->error != NULL ? p->error : "timeout");
}

/* Count the messages of a channel (GET /v1/channels/NAME), or -1. */
static long long
channel_count(struct hd *hd, const char *name)
{
	struct hd_resp	 r;
	json_t		*j;
	char		 path[128];
	long long	 n = -1;

	snprintf(path, sizeof path, "/v1/channels/%s", name);
	if (hd_http(hd, "GET", path, NULL, NULL, 0, &r) != 0)
		return (-1);
	if (r.status == 404)
		n = 0;
	else if (r.status == 200 && (j = hd_resp_json(&r)) != NULL) {
		if (json_is_integer(json_object_get(j, "count")))
			n = json_integer_value(json_object_get(j, "count"));
		json_decref(j);
	}
	hd_resp_free(&r);
	return (n);
}

/*
 * SIGTERM with SD_PUBS WebSocket publishers, SD_COUNT publishes each sent
 * without reading the acks (long refs make the acks outgrow the socket
 * buffers), and clients that go on not reading for SD_PAUSE_MS while they
 * poll /healthz, which must answer 503 with its JSON body throughout.
 * Then they read, publishing again for each answer.  Every publish the
 * store committed was acknowledged, every one sent before the signal was
 * answered (published or 50300), every connection ends with close 1001
 * rather than a reset (1006), and the exit status is 0.  (The old daemon
 * closed its listeners, so /healthz hung, and closed connections that
 * still had input coming: the resets cost 1006 and lost acks.)
 */
static void
test_shutdown_slow_readers(void)
{
	struct sd_pub	*p;
	struct hd_resp	 r;
	struct hd	*hd;
	json_t		*j;
	const char	*st;
	char		 pad[SD_REF_PAD + 1], name[32];
	long long	 t0, count;
	int		 i, k, status, polls = 0, polls_503 = 0, open = 0;
	int		 sent = 1, before;

	p = calloc(SD_PUBS, sizeof *p);
	CU_ASSERT_FATAL(p != NULL);
	memset(pad, 'x', SD_REF_PAD);
	pad[SD_REF_PAD] = '\0';
	hd = hd_start(NULL);
	CU_ASSERT_FATAL(hd != NULL);
	for (k = 0; k < SD_PUBS; k++)
		p[k].fd = -1;
	for (k = 0; k < SD_PUBS; k++) {
		p[k].k = k;
		p[k].pad = pad;
		if (sd_open(hd, &p[k]) != 0)
			break;
		open++;
	}
	CU_ASSERT_FATAL(open == SD_PUBS);
	for (i = 0; i < SD_COUNT && sent; i++)
		for (k = 0; k < SD_PUBS && sent; k++)
			sent = sd_send(&p[k]) == 0;
	CU_ASSERT_FATAL(sent);
	CU_ASSERT_FATAL(kill(hd_pid(hd), SIGTERM) == 0);

	/* A client busy elsewhere: it only polls /healthz for a while. */
	t0 = mono_ms();
	while (mono_ms() - t0 < SD_PAUSE_MS) {
		polls++;
		if (hd_http(hd, "GET", "/healthz", NULL, NULL, 0, &r) != 0) {
			fprintf(stderr, "  /healthz failed while stopping\n");
			break;
		}
		j = hd_resp_json(&r);
		st = json_string_value(json_object_get(j, "status"));
		if (r.status == 503 && st != NULL &&
		    strcmp(st, "stopping") == 0)
			polls_503++;
		else if (r.status == 200 && polls_503 == 0)
			polls--;	/* the signal is not handled yet */
		else
			fprintf(stderr, "  /healthz while stopping: %d %s\n",
			    r.status, r.body);
		json_decref(j);
		hd_resp_free(&r);
		usleep(100000);
	}
	CU_ASSERT(polls > 0 && polls_503 == polls);

	for (k = 0; k < SD_PUBS; k++)
		sd_read(&p[k]);
	for (k = 0; k < SD_PUBS; k++) {
		close(p[k].fd);
		p[k].fd = -1;
	}
	status = hd_stop(hd);
	CU_ASSERT_EQUAL(status, 0);

	/* What the store has, against what was acknowledged. */
	CU_ASSERT_FATAL(hd_restart(hd) == 0);
	for (k = 0; k < SD_PUBS; k++) {
		snprintf(name, sizeof name, "sd-%d", k);
		count = channel_count(hd, name);
		for (i = before = 0; i < SD_COUNT; i++)
			before += p[k].answered[i];
		fprintf(stderr, "  publisher %d: %d sent, %d acked, %d "
		    "refused (50300), %d other, close %d; %lld committed\n",
		    k, p[k].next, p[k].nacked, p[k].nrefused, p[k].nother,
		    p[k].close_code, count);
		CU_ASSERT_EQUAL(p[k].close_code, 1001);
		CU_ASSERT_EQUAL(count, p[k].nacked);
		CU_ASSERT_EQUAL(p[k].maxserial, p[k].nacked);
		CU_ASSERT_EQUAL(before, SD_COUNT);
		CU_ASSERT_EQUAL(p[k].nother, 0);
	}
	for (k = 0; k < SD_PUBS; k++) {
		if (p[k].fd != -1)
			close(p[k].fd);
		free(p[k].buf);
	}
	free(p);
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
		{ "descriptor limit: max-connections fits, no spinning at "
		    "EMFILE, recovery", test_nofile },
		{ "SIGTERM with slow readers: every commit acked, 1001, "
		    "/healthz 503", test_shutdown_slow_readers },
	};
	int	rc;

	if ((rc = cu_run("logwired limits", tests, nitems(tests))) != 0)
		return (rc);
	return (limits_skipped ? 77 : 0);
}
