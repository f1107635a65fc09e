/* A process's memory as Linux reports it in /proc/PID/status. */

#include "config.h"

#include <stdio.h>
#include <string.h>

#include "common.h"

/* Return the "name: N kB" value of /proc/PID/status (0: self), or -1. */
long
proc_status_kb(pid_t pid, const char *name)
{
	FILE	*f;
	char	 path[64], line[256];
	size_t	 n = strlen(name);
	long	 kb = -1;

	if (pid == 0)
		snprintf(path, sizeof path, "/proc/self/status");
	else
		snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	while (fgets(line, sizeof line, f) != NULL) {
		if (strncmp(line, name, n) == 0 && line[n] == ':' &&
		    sscanf(line + n + 1, " %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return (kb);
}
