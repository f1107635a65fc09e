/*
 * common: the small library under every program of logwire (the daemon,
 * the command line, the benchmark) and the tests: allocation, logging,
 * durations, the monotonic clock, a process's memory, JSON strings and
 * the WebSocket accept key.  Nothing here knows a connection or the
 * store.  One section per source file.
 */

#ifndef COMMON_H
#define COMMON_H

#include <sys/types.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifndef __dead
#define __dead __attribute__((__noreturn__))
#endif
#ifndef MIN
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#endif
#ifndef MAX
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#endif
#ifndef nitems
#define nitems(a) (sizeof (a) / sizeof (a)[0])
#endif

struct evbuffer;

/* xmalloc.c: allocation that never fails (out of memory is fatal). */
void		*xmalloc(size_t);
void		*xcalloc(size_t, size_t);
void		*xrealloc(void *, size_t);
char		*xstrdup(const char *);
char		*xstrndup(const char *, size_t);
int		 xasprintf(char **, const char *, ...)
		     __attribute__((__format__(__printf__, 2, 3)));
int		 xvasprintf(char **, const char *, va_list)
		     __attribute__((__format__(__printf__, 2, 0)));

/* log.c */
#define LOG_FATAL	0
#define LOG_ERROR	1
#define LOG_WARN	2
#define LOG_INFO	3
#define LOG_DEBUG	4
/* A warning that may come many times a second: see log_rate(). */
#define LOG_RATE_MS	10000	/* one line per this long, at most */
struct log_rate {
	uint64_t		 last_ns;	/* last line written, 0 never */
	unsigned long long	 count;		/* events since that line */
};
void		 log_init(const char *, int);
unsigned long long log_rate(struct log_rate *);
void		 log_msg(int, const char *, ...)
		     __attribute__((__format__(__printf__, 2, 3)));
__dead void	 fatal(const char *, ...)
		     __attribute__((__format__(__printf__, 1, 2)));
__dead void	 fatalx(const char *, ...)
		     __attribute__((__format__(__printf__, 1, 2)));
#define log_error(...)	log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_DEBUG, __VA_ARGS__)

/*
 * duration.c: "30s", "10m", "2h", "1d" (and "ms") into milliseconds.
 * Returns 0, or -1 when the text is not a number and a unit or the value
 * does not fit.
 */
int		 duration_parse(const char *, uint64_t *);

/*
 * mono.c: the monotonic clock, which no change of the wall clock moves:
 * for timeouts, deadlines and durations.
 */
uint64_t	 mono_ns(void);
int64_t		 mono_ms(void);

/*
 * proc.c: a "Name: N kB" line of /proc/PID/status (pid 0: this process),
 * e.g. proc_status_kb(pid, "VmRSS"); -1 when there is no such process or
 * line.
 */
long		 proc_status_kb(pid_t, const char *);

/*
 * jesc.c: the escaping of JSON strings, written once for jbuf_escape and
 * jstr_escape.  Input is UTF-8 already checked by the caller: only the
 * quote, the backslash and the control characters (DEL too) are escaped,
 * every other byte is copied.  jesc_write() hands the quoted string to put
 * in pieces: the runs that need no escape and the escapes between them.
 * The scan for such a run is inline: a string that needs no escape (nearly
 * all of them) goes into a frame without a call (jbuf_escape).
 */
void		 jesc_write(const char *, size_t,
		     void (*)(void *, const void *, size_t), void *);
static inline size_t
jesc_plain(const char *s, size_t len)
{
	unsigned char	c;
	size_t		i;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c < 0x20 || c == '"' || c == '\\' || c == 0x7f)
			break;
	}
	return (i);
}

/*
 * jbuf.c: JSON text in a growable array with JBUF_HEAD bytes kept free in
 * front for a frame header.  A zeroed struct jbuf is an empty buffer.
 */
#define JBUF_HEAD	10
struct jbuf {
	char	*p;
	size_t	 len;		/* bytes in use from p, header room included */
	size_t	 size;
};
void		 jbuf_reset(struct jbuf *);
void		 jbuf_free(struct jbuf *);
void		 jbuf_add(struct jbuf *, const void *, size_t);
void		 jbuf_u64(struct jbuf *, uint64_t);
void		 jbuf_escape(struct jbuf *, const char *, size_t);
void		 jbuf_ref(struct jbuf *, const char *);
const char	*jbuf_text(const struct jbuf *, size_t *);
#define jbuf_lit(b, s)	jbuf_add((b), (s), sizeof (s) - 1)

/* jstr.c: JSON strings appended to an evbuffer, off the hot paths. */
void		 jstr_escape(struct evbuffer *, const char *, size_t);
void		 jstr_ref(struct evbuffer *, const char *, const char *);
/* Append a string literal to an evbuffer. */
#define evbuffer_add_lit(b, s)	evbuffer_add((b), (s), sizeof (s) - 1)

/*
 * wskey.c: the Sec-WebSocket-Accept value for a Sec-WebSocket-Key
 * (RFC 6455 4.2.2: base64 of the SHA-1 of the key and a fixed GUID), for
 * the server's handshake and the clients' check of it.  out gets
 * WSKEY_ACCEPT_LEN characters and a NUL.  A failure of SHA-1 (out of
 * memory) is fatal.
 */
#define WSKEY_ACCEPT_LEN	28
void		 wskey_accept(const char *, char *);

#endif /* COMMON_H */
