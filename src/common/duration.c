/* Durations written as an integer and a unit: 30s, 10m, 2h, 1d. */

#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

/* Parse a duration into milliseconds; -1 if malformed or too large. */
int
duration_parse(const char *s, uint64_t *ms)
{
	unsigned long long	 n, unit;
	char			*end;

	if (s == NULL || *s < '0' || *s > '9')
		return (-1);
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno != 0)
		return (-1);
	if (strcmp(end, "ms") == 0)
		unit = 1;
	else if (strcmp(end, "s") == 0)
		unit = 1000;
	else if (strcmp(end, "m") == 0)
		unit = 60 * 1000;
	else if (strcmp(end, "h") == 0)
		unit = 3600 * 1000;
	else if (strcmp(end, "d") == 0)
		unit = 86400 * 1000;
	else
		return (-1);
	if (n > UINT64_MAX / unit)
		return (-1);
	*ms = n * unit;
	return (0);
}
