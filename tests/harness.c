/*
 * harness: start, stop and talk to a real logwired for integration tests.
 * See harness.h.
 */

#include "config.h"

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "common.h"
#include "harness.h"

#ifndef TOP_BUILDDIR
#define TOP_BUILDDIR	"."
#endif

#define HD_STOP_TIMEOUT		10000	/* ms between SIGTERM and SIGKILL */
#define HD_RESTART_TIMEOUT	5000	/* ms of retrying a held port */
#define HD_START_TRIES		5	/* fresh ports tried by hd_start() */
#define HD_LOG_TAIL		8192	/* bytes of log shown on failure */

struct hd {
	pid_t	  pid;
	int	  port;
	int	  keep;
	char	 *dir;
	char	 *datadir;
	char	 *logpath;
	off_t	  logstart;	/* log offset where the current run began */
	char	 *url;
	char	 *bin;
	char	**args;		/* extra arguments, NULL-terminated */
};

static long	hd_nofile;	/* RLIMIT_NOFILE for the daemon, 0 inherit */

/* Sleep for ms milliseconds. */
void
hd_sleep(int ms)
{
	struct timespec	ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Turn a wait(2) status into a shell-style exit status. */
static int
hd_exit_status(int status)
{
	if (WIFEXITED(status))
		return (WEXITSTATUS(status));
	if (WIFSIGNALED(status))
		return (128 + WTERMSIG(status));
	return (-1);
}

/* Return the path of a program built in src/. */
char *
hd_bin(const char *name)
{
	const char	*env;
	char		*path;

	env = getenv("LOGWIRED");
	if (strcmp(name, "logwired") == 0 && env != NULL && *env != '\0')
		return (xstrdup(env));
	xasprintf(&path, "%s/src/%s", TOP_BUILDDIR, name);
	return (path);
}

/* Return a loopback port that was free a moment ago, or -1. */
int
hd_free_port(void)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof sin;
	int			fd, port = -1;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof sin) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	close(fd);
	return (port);
}

/* Read a whole file into a NUL-terminated string from offset, or NULL. */
static char *
hd_read_file(const char *path, off_t offset)
{
	FILE	*f;
	char	*buf = NULL;
	size_t	 len = 0, n;
	char	 chunk[8192];

	if ((f = fopen(path, "r")) == NULL)
		return (NULL);
	if (offset > 0)
		fseeko(f, offset, SEEK_SET);
	buf = xstrdup("");
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		buf = xrealloc(buf, len + n + 1);
		memcpy(buf + len, chunk, n);
		len += n;
		buf[len] = '\0';
	}
	fclose(f);
	return (buf);
}

/* Return the size of a file, or 0. */
static off_t
hd_file_size(const char *path)
{
	struct stat	st;

	if (stat(path, &st) == -1)
		return (0);
	return (st.st_size);
}

/* Print the end of the current run's log to stderr. */
static void
hd_print_log(struct hd *hd)
{
	char	*log;
	size_t	 len;

	log = hd_read_file(hd->logpath, hd->logstart);
	if (log == NULL) {
		fprintf(stderr, "harness: no log at %s\n", hd->logpath);
		return;
	}
	len = strlen(log);
	fprintf(stderr, "harness: --- %s%s ---\n%s", hd->logpath,
	    len > HD_LOG_TAIL ? " (end)" : "",
	    len > HD_LOG_TAIL ? log + len - HD_LOG_TAIL : log);
	fprintf(stderr, "%sharness: --- end of log ---\n",
	    len > 0 && log[len - 1] != '\n' ? "\n" : "");
	free(log);
}

/* Set the descriptor limit of the daemons spawned from now on. */
void
hd_set_nofile(long n)
{
	hd_nofile = n;
}

/* Fork and exec the daemon with its output appended to the log. */
static int
hd_spawn(struct hd *hd)
{
	struct rlimit	  rl;
	char		**argv, listen[64];
	size_t		  n = 0, i;
	int		  fd, null;

	for (i = 0; hd->args[i] != NULL; i++)
		n++;
	argv = xcalloc(n + 6, sizeof *argv);
	snprintf(listen, sizeof listen, "127.0.0.1:%d", hd->port);
	argv[0] = hd->bin;
	argv[1] = (char *)"-l";
	argv[2] = listen;
	argv[3] = (char *)"-d";
	argv[4] = hd->datadir;
	for (i = 0; i < n; i++)
		argv[5 + i] = hd->args[i];

	hd->logstart = hd_file_size(hd->logpath);
	fd = open(hd->logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0644);
	if (fd == -1) {
		fprintf(stderr, "harness: %s: %s\n", hd->logpath,
		    strerror(errno));
		free(argv);
		return (-1);
	}
	fflush(NULL);
	hd->pid = fork();
	if (hd->pid == 0) {
#ifdef __linux__
		/* Never outlive a test that crashed. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
		null = open("/dev/null", O_RDONLY);
		if (null != -1)
			dup2(null, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (hd_nofile > 0) {
			rl.rlim_cur = rl.rlim_max = (rlim_t)hd_nofile;
			if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
				dprintf(fd, "harness: setrlimit: %s\n",
				    strerror(errno));
		}
		execv(argv[0], argv);
		dprintf(fd, "harness: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fd);
	free(argv);
	if (hd->pid == -1) {
		fprintf(stderr, "harness: fork: %s\n", strerror(errno));
		return (-1);
	}
	return (0);
}

/* Check whether the daemon has exited; reap it and return 1 if so. */
static int
hd_exited(struct hd *hd, int *status)
{
	int	ws;

	if (hd->pid == -1)
		return (1);
	if (waitpid(hd->pid, &ws, WNOHANG) != hd->pid)
		return (0);
	*status = hd_exit_status(ws);
	hd->pid = -1;
	return (1);
}

/*
 * Wait until /healthz answers 200. Return 0 when ready, 1 if the daemon
 * exited because its port was taken, -1 on any other failure (said on
 * stderr with the log).
 */
static int
hd_ready(struct hd *hd)
{
	struct hd_resp	 r;
	int64_t		 deadline = mono_ms() + HD_START_TIMEOUT;
	int		 status = -1, rc, fd;
	char		*log;

	while (mono_ms() < deadline) {
		if (hd_exited(hd, &status)) {
			log = hd_read_file(hd->logpath, hd->logstart);
			rc = log != NULL && strcasestr(log, "in use") != NULL;
			free(log);
			if (rc)
				return (1);
			fprintf(stderr, "harness: logwired exited with status "
			    "%d before it was ready\n", status);
			hd_print_log(hd);
			return (-1);
		}
		/* Quietly wait for the port to open before asking. */
		fd = hd_tcp(hd);
		if (fd != -1) {
			close(fd);
			if (hd_http(hd, "GET", "/healthz", NULL, NULL, 0,
			    &r) == 0) {
				status = r.status;
				hd_resp_free(&r);
				if (status == 200)
					return (0);
			}
		}
		hd_sleep(20);
	}
	fprintf(stderr, "harness: logwired not healthy after %d ms\n",
	    HD_START_TIMEOUT);
	hd_print_log(hd);
	kill(hd->pid, SIGKILL);
	waitpid(hd->pid, NULL, 0);
	hd->pid = -1;
	return (-1);
}

/* Remove one file or directory on the way up the tree. */
static int
hd_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	remove(path);
	return (0);
}

/* Start the daemon on a given or fresh data directory. */
struct hd *
hd_start_dir(const char *datadir, const char *const *extra_args)
{
	struct hd	*hd;
	const char	*tmp;
	size_t		 n = 0, i;
	int		 try, r = -1;

	hd = xcalloc(1, sizeof *hd);
	hd->pid = -1;
	tmp = getenv("TMPDIR");
	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	xasprintf(&hd->dir, "%s/logwire-test.XXXXXX", tmp);
	if (mkdtemp(hd->dir) == NULL) {
		fprintf(stderr, "harness: mkdtemp %s: %s\n", hd->dir,
		    strerror(errno));
		goto fail;
	}
	if (datadir != NULL)
		hd->datadir = xstrdup(datadir);
	else {
		xasprintf(&hd->datadir, "%s/data", hd->dir);
		if (mkdir(hd->datadir, 0700) == -1) {
			fprintf(stderr, "harness: mkdir %s: %s\n", hd->datadir,
			    strerror(errno));
			goto fail;
		}
	}
	xasprintf(&hd->logpath, "%s/logwired.log", hd->dir);
	hd->bin = hd_bin("logwired");
	for (i = 0; extra_args != NULL && extra_args[i] != NULL; i++)
		n++;
	hd->args = xcalloc(n + 1, sizeof *hd->args);
	for (i = 0; i < n; i++)
		hd->args[i] = xstrdup(extra_args[i]);

	for (try = 0; try < HD_START_TRIES; try++) {
		if ((hd->port = hd_free_port()) == -1) {
			fprintf(stderr, "harness: no free port\n");
			goto fail;
		}
		xasprintf(&hd->url, "http://127.0.0.1:%d", hd->port);
		if (hd_spawn(hd) != 0)
			goto fail;
		if ((r = hd_ready(hd)) != 1)
			break;
		free(hd->url);
		hd->url = NULL;
	}
	if (r != 0) {
		if (r == 1)
			fprintf(stderr, "harness: no port could be bound\n");
		goto fail;
	}
	return (hd);

fail:
	hd_keep(hd);
	hd_free(hd);
	return (NULL);
}

/* Start the daemon on a fresh data directory. */
struct hd *
hd_start(const char *const *extra_args)
{
	return (hd_start_dir(NULL, extra_args));
}

/* Send sig, wait up to timeout_ms, then SIGKILL; return the status. */
static int
hd_signal(struct hd *hd, int sig, int timeout_ms)
{
	int64_t	deadline = mono_ms() + timeout_ms;
	int	status = -1;

	if (hd->pid == -1)
		return (-1);
	kill(hd->pid, sig);
	while (mono_ms() < deadline) {
		if (hd_exited(hd, &status))
			return (status);
		hd_sleep(5);
	}
	fprintf(stderr, "harness: logwired ignored signal %d for %d ms; "
	    "killing it\n", sig, timeout_ms);
	kill(hd->pid, SIGKILL);
	if (waitpid(hd->pid, &status, 0) == hd->pid)
		status = hd_exit_status(status);
	hd->pid = -1;
	return (status);
}

/* Stop the daemon with SIGTERM. */
int
hd_stop(struct hd *hd)
{
	return (hd_signal(hd, SIGTERM, HD_STOP_TIMEOUT));
}

/* Kill the daemon with SIGKILL. */
int
hd_kill9(struct hd *hd)
{
	return (hd_signal(hd, SIGKILL, HD_STOP_TIMEOUT));
}

/* Start the daemon again on the same port and data directory. */
int
hd_restart(struct hd *hd)
{
	int64_t	deadline = mono_ms() + HD_RESTART_TIMEOUT;
	int	r;

	if (hd->pid != -1)
		hd_stop(hd);
	for (;;) {
		if (hd_spawn(hd) != 0)
			return (-1);
		if ((r = hd_ready(hd)) != 1)
			return (r);
		if (mono_ms() >= deadline)
			break;
		hd_sleep(100);
	}
	fprintf(stderr, "harness: port %d still taken after %d ms\n",
	    hd->port, HD_RESTART_TIMEOUT);
	hd_print_log(hd);
	return (-1);
}

/* Free the daemon of a test program, kept if the program failed. */
int
hd_finish(struct hd *hd, int rc)
{
	if (rc != 0)
		hd_keep(hd);
	hd_free(hd);
	return (rc);
}

/* Keep the temporary directory when freed. */
void
hd_keep(struct hd *hd)
{
	hd->keep = 1;
}

/* Stop, clean up and free. */
void
hd_free(struct hd *hd)
{
	const char	*env;
	size_t		 i;

	if (hd == NULL)
		return;
	if (hd->pid != -1)
		hd_stop(hd);
	env = getenv("HD_KEEP");
	if (hd->keep || (env != NULL && *env != '\0' && *env != '0'))
		fprintf(stderr, "harness: kept %s (log: %s)\n", hd->dir,
		    hd->logpath != NULL ? hd->logpath : "none");
	else if (hd->dir != NULL)
		nftw(hd->dir, hd_rm_one, 16, FTW_DEPTH | FTW_PHYS);
	for (i = 0; hd->args != NULL && hd->args[i] != NULL; i++)
		free(hd->args[i]);
	free(hd->args);
	free(hd->dir);
	free(hd->datadir);
	free(hd->logpath);
	free(hd->url);
	free(hd->bin);
	free(hd);
}

/* Return the port. */
int
hd_port(struct hd *hd)
{
	return (hd->port);
}

/* Return the base URL. */
const char *
hd_url(struct hd *hd)
{
	return (hd->url);
}

/* Return the data directory. */
const char *
hd_datadir(struct hd *hd)
{
	return (hd->datadir);
}

/* Return the temporary directory. */
const char *
hd_dir(struct hd *hd)
{
	return (hd->dir);
}

/* Return the log file's path. */
const char *
hd_logpath(struct hd *hd)
{
	return (hd->logpath);
}

/* Return the whole log. */
char *
hd_log(struct hd *hd)
{
	return (hd_read_file(hd->logpath, 0));
}

/* Return the daemon's pid. */
pid_t
hd_pid(struct hd *hd)
{
	return (hd->pid);
}

/* Return VmRSS from /proc/PID/status. */
long
hd_rss_kb(struct hd *hd)
{
	if (hd->pid == -1)
		return (-1);
	return (proc_status_kb(hd->pid, "VmRSS"));
}

/* Return a new blocking TCP connection to the daemon, or -1. */
int
hd_tcp(struct hd *hd)
{
	char	*cause = NULL;
	int	 fd, saved;

	fd = net_connect("127.0.0.1", hd->port, net_deadline(HD_HTTP_TIMEOUT),
	    &cause);
	if (fd == -1) {
		saved = errno;
		free(cause);
		errno = saved;
		return (-1);
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) == -1) {
		close(fd);
		return (-1);
	}
	return (fd);
}

/* Read a response from fd until complete into out; 0 or -1. */
static int
hd_read_resp(int fd, int head, int64_t deadline, struct hd_resp *out)
{
	const struct hresp_header	*h;
	struct hresp			*r;
	char				*cause = NULL;
	size_t				 i, n;
	int				 rc = -1;

	r = hresp_new(head, SIZE_MAX, NULL, NULL);
	if (hresp_read(r, fd, deadline, -1, &cause) != 0) {
		fprintf(stderr, "harness: HTTP response: %s\n", cause);
		free(cause);
		goto out;
	}
	out->status = hresp_status(r);
	h = hresp_headers(r, &n);
	out->headers = xcalloc(n, sizeof *out->headers);
	for (i = 0; i < n; i++) {
		out->headers[i].name = xstrdup(h[i].name);
		out->headers[i].value = xstrdup(h[i].value);
	}
	out->nheaders = n;
	out->body = hresp_take_body(r, &out->bodylen);
	rc = 0;

out:
	hresp_free(r);
	return (rc);
}

/* Send one HTTP request and read its response. */
int
hd_http(struct hd *hd, const char *method, const char *path,
    const char *const *headers, const char *body, size_t bodylen,
    struct hd_resp *out)
{
	char		*req;
	int64_t		 deadline = mono_ms() + HD_HTTP_TIMEOUT;
	int		 fd, r = -1;

	memset(out, 0, sizeof *out);
	if ((fd = hd_tcp(hd)) == -1) {
		fprintf(stderr, "harness: connect to port %d: %s\n", hd->port,
		    strerror(errno));
		return (-1);
	}
	req = httpc_head(method, path, "127.0.0.1", hd->port, headers, body,
	    bodylen);

	/*
	 * A server may answer and close before taking the whole body (413,
	 * 401): a failed write is not the end, the answer may be there.
	 */
	if (net_write(fd, req, strlen(req), deadline) == 0 && body != NULL)
		net_write(fd, body, bodylen, deadline);
	if (hd_read_resp(fd, strcasecmp(method, "HEAD") == 0, deadline,
	    out) != 0) {
		fprintf(stderr, "harness: (for %s %s)\n", method, path);
		hd_resp_free(out);
		goto out;
	}
	r = 0;

out:
	free(req);
	close(fd);
	return (r);
}

/* Return a response header's value. */
const char *
hd_resp_header(const struct hd_resp *r, const char *name)
{
	size_t	i;

	for (i = 0; i < r->nheaders; i++) {
		if (strcasecmp(r->headers[i].name, name) == 0)
			return (r->headers[i].value);
	}
	return (NULL);
}

/* Parse a response body as JSON. */
json_t *
hd_resp_json(const struct hd_resp *r)
{
	json_error_t	 error;
	json_t		*json;

	json = json_loadb(r->body != NULL ? r->body : "", r->bodylen,
	    JSON_ALLOW_NUL, &error);
	if (json == NULL)
		fprintf(stderr, "harness: HTTP %d body is not JSON (%s): "
		    "%.*s\n", r->status, error.text, (int)r->bodylen,
		    r->body != NULL ? r->body : "");
	return (json);
}

/* Free a response. */
void
hd_resp_free(struct hd_resp *r)
{
	size_t	i;

	for (i = 0; i < r->nheaders; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	free(r->headers);
	free(r->body);
	memset(r, 0, sizeof *r);
}

/* Send raw bytes and read until close or timeout. */
int
hd_raw(struct hd *hd, const void *req, size_t len, char **resp,
    size_t *resplen, int timeout_ms)
{
	int64_t	deadline = mono_ms() + timeout_ms;
	char	buf[16384];
	ssize_t	n;
	int	fd, r = -1;

	*resp = xstrdup("");
	*resplen = 0;
	if ((fd = hd_tcp(hd)) == -1) {
		fprintf(stderr, "harness: connect to port %d: %s\n", hd->port,
		    strerror(errno));
		return (-1);
	}
	net_write(fd, req, len, deadline);
	for (;;) {
		n = net_wait(fd, POLLIN, deadline);
		if (n == 0) {
			r = 1;
			break;
		}
		if (n == -1)
			break;
		n = recv(fd, buf, sizeof buf, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* A reset after the answer still counts as closed. */
			r = 0;
			break;
		}
		*resp = xrealloc(*resp, *resplen + n + 1);
		memcpy(*resp + *resplen, buf, n);
		*resplen += n;
		(*resp)[*resplen] = '\0';
	}
	close(fd);
	return (r);
}

/* Connect a WebSocket to the daemon with extra headers. */
struct wsc *
hd_ws_connect(struct hd *hd, const char *path, const char *const *headers,
    int *status, char **cause)
{
	struct wsc_opts	o;

	memset(&o, 0, sizeof o);
	o.headers = headers;
	return (wsc_connect2("127.0.0.1", hd->port,
	    path != NULL ? path : "/v1/ws", &o, status, cause));
}

/* Connect a WebSocket to /v1/ws. */
struct wsc *
hd_ws(struct hd *hd)
{
	struct wsc	*w;
	char		*cause = NULL;

	w = hd_ws_connect(hd, NULL, NULL, NULL, &cause);
	if (w == NULL) {
		fprintf(stderr, "harness: WebSocket to port %d: %s\n",
		    hd->port, cause);
		free(cause);
	}
	return (w);
}

/* Wait for the next message and parse it as JSON. */
json_t *
hd_ws_recv_json(struct wsc *w, int timeout_ms)
{
	struct wsc_msg	 m;
	json_error_t	 error;
	json_t		*json = NULL;
	int		 r;

	r = wsc_recv(w, timeout_ms, &m);
	if (r == 0)
		return (NULL);
	if (r == -1) {
		fprintf(stderr, "harness: WebSocket ended: %s\n",
		    wsc_error(w) != NULL ? wsc_error(w) : "closed");
		return (NULL);
	}
	switch (m.opcode) {
	case WSC_CLOSE:
		fprintf(stderr, "harness: WebSocket close %u \"%s\"\n", m.code,
		    m.data);
		break;
	case WSC_BINARY:
		fprintf(stderr, "harness: binary message of %zu bytes\n",
		    m.len);
		break;
	default:
		json = json_loadb(m.data, m.len, JSON_ALLOW_NUL, &error);
		if (json == NULL)
			fprintf(stderr, "harness: message is not JSON (%s): "
			    "%s\n", error.text, m.data);
		break;
	}
	wsc_msg_free(&m);
	return (json);
}

/* Send printf-style text as one text message. */
int
hd_ws_send_json(struct wsc *w, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	int	 r;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	r = wsc_send_text(w, s, strlen(s));
	if (r != 0)
		fprintf(stderr, "harness: send failed: %s\n", wsc_error(w));
	free(s);
	return (r);
}

/* Send a JSON value as one text message. */
int
hd_ws_send_value(struct wsc *w, const json_t *json)
{
	char	*s;
	int	 r;

	if ((s = json_dumps(json, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
		fatalx("json_dumps");
	r = wsc_send_text(w, s, strlen(s));
	if (r != 0)
		fprintf(stderr, "harness: send failed: %s\n", wsc_error(w));
	free(s);
	return (r);
}

/* Return the next message if it has the wanted op. */
json_t *
hd_ws_expect_op(struct wsc *w, const char *op, int timeout_ms)
{
	json_t		*json;
	const char	*got;
	char		*dump;

	json = hd_ws_recv_json(w, timeout_ms);
	if (json == NULL) {
		fprintf(stderr, "harness: expected op \"%s\", got no JSON "
		    "message within %d ms\n", op, timeout_ms);
		return (NULL);
	}
	got = json_string_value(json_object_get(json, "op"));
	if (got != NULL && strcmp(got, op) == 0)
		return (json);
	dump = json_dumps(json, JSON_COMPACT | JSON_ENCODE_ANY);
	fprintf(stderr, "harness: expected op \"%s\", got %s\n", op,
	    dump != NULL ? dump : "?");
	free(dump);
	json_decref(json);
	return (NULL);
}

/* Copy what a pipe has into a growing string; 0 at EOF. */
static int
hd_drain(int fd, char **buf, size_t *len)
{
	char	chunk[8192];
	ssize_t	n;

	n = read(fd, chunk, sizeof chunk);
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return (1);
	if (n <= 0)
		return (0);
	*buf = xrealloc(*buf, *len + n + 1);
	memcpy(*buf + *len, chunk, n);
	*len += n;
	(*buf)[*len] = '\0';
	return (1);
}

/* Run a program to completion with input, collecting its output. */
int
hd_run(const char *const *argv, const char *input, int timeout_ms,
    char **out, char **err)
{
	struct pollfd	 pfd[3];
	int		 in[2] = { -1, -1 }, o[2] = { -1, -1 };
	int		 e[2] = { -1, -1 }, status, r = -1, n;
	char		*obuf, *ebuf;
	size_t		 olen = 0, elen = 0, ilen, ioff = 0;
	int64_t		 deadline = mono_ms() + timeout_ms, left;
	ssize_t		 w;
	pid_t		 pid;

	/* A program that does not read its input must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	obuf = xstrdup("");
	ebuf = xstrdup("");
	ilen = input != NULL ? strlen(input) : 0;
	if (pipe2(in, O_CLOEXEC) == -1 || pipe2(o, O_CLOEXEC) == -1 ||
	    pipe2(e, O_CLOEXEC) == -1) {
		fprintf(stderr, "harness: pipe: %s\n", strerror(errno));
		goto out;
	}
	fflush(NULL);
	if ((pid = fork()) == -1) {
		fprintf(stderr, "harness: fork: %s\n", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		dup2(in[0], STDIN_FILENO);
		dup2(o[1], STDOUT_FILENO);
		dup2(e[1], STDERR_FILENO);
		execv(argv[0], (char *const *)argv);
		dprintf(STDERR_FILENO, "exec %s: %s\n", argv[0],
		    strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(o[1]);
	close(e[1]);
	in[0] = o[1] = e[1] = -1;
	fcntl(in[1], F_SETFL, O_NONBLOCK);
	if (ilen == 0) {
		close(in[1]);
		in[1] = -1;
	}

	while (o[0] != -1 || e[0] != -1) {
		pfd[0].fd = o[0];
		pfd[0].events = POLLIN;
		pfd[1].fd = e[0];
		pfd[1].events = POLLIN;
		pfd[2].fd = in[1];
		pfd[2].events = POLLOUT;
		left = deadline - mono_ms();
		if (left <= 0)
			break;
		n = poll(pfd, 3, (int)left);
		if (n == -1 && errno != EINTR)
			break;
		if (n <= 0)
			continue;
		if (pfd[0].revents && !hd_drain(o[0], &obuf, &olen)) {
			close(o[0]);
			o[0] = -1;
		}
		if (pfd[1].revents && !hd_drain(e[0], &ebuf, &elen)) {
			close(e[0]);
			e[0] = -1;
		}
		if (pfd[2].revents) {
			w = write(in[1], input + ioff, ilen - ioff);
			if (w > 0)
				ioff += w;
			if ((w == -1 && errno != EAGAIN) || ioff == ilen) {
				close(in[1]);
				in[1] = -1;
			}
		}
	}
	while (o[0] == -1 && e[0] == -1 && mono_ms() < deadline) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			r = hd_exit_status(status);
			goto out;
		}
		hd_sleep(5);
	}
	fprintf(stderr, "harness: %s timed out after %d ms\n", argv[0],
	    timeout_ms);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);

out:
	for (n = 0; n < 2; n++) {
		if (in[n] != -1)
			close(in[n]);
		if (o[n] != -1)
			close(o[n]);
		if (e[n] != -1)
			close(e[n]);
	}
	if (out != NULL)
		*out = obuf;
	else
		free(obuf);
	if (err != NULL)
		*err = ebuf;
	else
		free(ebuf);
	return (r);
}
