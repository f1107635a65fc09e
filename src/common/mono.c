/* The monotonic clock, for timeouts, deadlines and durations. */

#include "config.h"

#include <time.h>

#include "common.h"

/* Return the monotonic time in nanoseconds. */
uint64_t
mono_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec);
}

/* Return the monotonic time in milliseconds. */
int64_t
mono_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}
