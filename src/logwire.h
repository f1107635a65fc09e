/*
 * logwire: declarations shared by the programs in src/ (logwired, logwire,
 * logwire-bench), one section per source file.
 */

#ifndef LOGWIRE_H
#define LOGWIRE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "storage.h"

#ifndef __dead
#define __dead __attribute__((__noreturn__))
#endif
#ifndef nitems
#define nitems(a) (sizeof (a) / sizeof (a)[0])
#endif

/* xmalloc.c */
void		*xmalloc(size_t);
void		*xcalloc(size_t, size_t);
void		*xrealloc(void *, size_t);
char		*xstrdup(const char *);
char		*xstrndup(const char *, size_t);
int		 xasprintf(char **, const char *, ...)
		     __attribute__((__format__(__printf__, 2, 3)));

/* log.c */
#define LOG_FATAL	0
#define LOG_ERROR	1
#define LOG_WARN	2
#define LOG_INFO	3
#define LOG_DEBUG	4
void		 log_init(const char *, int);
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

/* ---- CLI (logwire): cmd-*.c sections below this line ---- */

/* ---- end of CLI sections ---- */

/* ---- server (logwired) sections below this line ---- */

#endif /* LOGWIRE_H */
