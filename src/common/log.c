/* Logging to stderr, one line per event, with a timestamp. */

#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"

static int	log_level = LOG_INFO;
static const char *log_prog = "logwire";

/* Set the program name and the most verbose level printed. */
void
log_init(const char *prog, int level)
{
	log_prog = prog;
	log_level = level;
}

static void	log_vwrite(int, int, const char *, va_list)
		    __attribute__((__format__(__printf__, 3, 0)));

/* Write one line at level, with an optional errno string. */
static void
log_vwrite(int level, int err, const char *fmt, va_list ap)
{
	static const char *names[] = { "fatal", "error", "warn", "info",
	    "debug" };
	struct timespec	 ts;
	struct tm	 tm;
	char		 when[32], msg[1024];

	if (level > log_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	vsnprintf(msg, sizeof msg, fmt, ap);
	if (err != 0)
		fprintf(stderr, "%s.%03ldZ %s %s: %s: %s\n", when,
		    ts.tv_nsec / 1000000, log_prog, names[level], msg,
		    strerror(err));
	else
		fprintf(stderr, "%s.%03ldZ %s %s: %s\n", when,
		    ts.tv_nsec / 1000000, log_prog, names[level], msg);
}

/* Log at a level. */
void
log_msg(int level, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(level, 0, fmt, ap);
	va_end(ap);
}

/* Log errno's meaning and exit 1. */
void
fatal(const char *fmt, ...)
{
	va_list	ap;
	int	err = errno;

	va_start(ap, fmt);
	log_vwrite(LOG_FATAL, err, fmt, ap);
	va_end(ap);
	exit(1);
}

/* Log and exit 1. */
void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_FATAL, 0, fmt, ap);
	va_end(ap);
	exit(1);
}

/*
 * Count one occurrence of a warning that may repeat many times a second
 * (a full descriptor table, a connection flood): return how many
 * occurrences the next line must report, this one included, or 0 while
 * a line was written less than LOG_RATE_MS ago.
 */
unsigned long long
log_rate(struct log_rate *rl)
{
	uint64_t		now = mono_ns();
	unsigned long long	n;

	rl->count++;
	if (rl->last_ns != 0 && now - rl->last_ns < LOG_RATE_MS * 1000000ULL)
		return (0);
	rl->last_ns = now;
	n = rl->count;
	rl->count = 0;
	return (n);
}
