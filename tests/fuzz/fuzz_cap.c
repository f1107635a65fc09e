/*
 * Fuzz target: the capability parser and pattern matcher
 * (src/auth/cap.c).  The input is lines: the first is capability JSON,
 * the others channel names (at most 8).
 *
 * Oracles: a refusal has a one-line cause; the iterative matcher agrees
 * with a plain dynamic-programming matcher on every pair of lines (the
 * first 64 bytes of each); and an accepted capability covers itself, its
 * intersection with another allows exactly what both do, and admin on
 * the whole store implies admin on every name.
 */

#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "auth.h"

#define FUZZ_CAP_LINES	9
#define FUZZ_CAP_SPAN	64	/* bytes of a line the reference matcher sees */

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/*
 * The reference matcher: can pattern[0..i) match name[0..j)?  Filled row
 * by row; obviously right and O(plen x nlen) in time and space.
 */
static int
fuzz_cap_reference(const char *p, size_t plen, const char *n, size_t nlen)
{
	unsigned char	dp[FUZZ_CAP_SPAN + 1][FUZZ_CAP_SPAN + 1];
	size_t		i, j;

	memset(dp, 0, sizeof dp);
	dp[0][0] = 1;
	for (i = 1; i <= plen; i++) {
		for (j = 0; j <= nlen; j++) {
			if (p[i - 1] == '*')
				dp[i][j] = dp[i - 1][j] ||
				    (j > 0 && dp[i][j - 1]);
			else
				dp[i][j] = j > 0 && dp[i - 1][j - 1] &&
				    p[i - 1] == n[j - 1];
		}
	}
	return (dp[plen][nlen]);
}

/* Check what an accepted capability allows. */
static void
fuzz_cap_check(const struct cap *c, const char **line, const size_t *len,
    size_t nlines)
{
	struct cap	*all, *both, *self;
	size_t		 i;
	unsigned int	 op;
	int		 a, b;

	if (!cap_covers(c, c))
		abort();
	all = cap_all();
	self = cap_copy(c);
	both = cap_intersect(c, self);
	if (!cap_covers(all, c) || !cap_covers(c, both))
		abort();
	cap_free(self);
	for (i = 1; i < nlines; i++) {
		for (op = 1; op <= CAP_ADMIN; op <<= 1) {
			a = cap_allows(c, op, line[i], len[i]);
			b = cap_allows(both, op, line[i], len[i]);
			if (a != b)
				abort();
			if (len[i] == 0 && a)
				abort();
			if (len[i] > 0 && cap_allows_store(c, op) && !a)
				abort();
		}
	}
	cap_free(both);
	cap_free(all);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*text = (const char *)data, *line[FUZZ_CAP_LINES], *nl;
	size_t		 len[FUZZ_CAP_LINES], nlines = 0, i, j, pl, nlen;
	struct cap	*c = NULL;
	char		*cause = NULL;
	int		 got, want;

	while (nlines < FUZZ_CAP_LINES) {
		nl = memchr(text, '\n', size - (text - (const char *)data));
		line[nlines] = text;
		len[nlines] = (nl != NULL ? nl :
		    (const char *)data + size) - text;
		nlines++;
		if (nl == NULL)
			break;
		text = nl + 1;
	}

	for (i = 0; i < nlines; i++) {
		for (j = 0; j < nlines; j++) {
			pl = MIN(len[i], FUZZ_CAP_SPAN);
			nlen = MIN(len[j], FUZZ_CAP_SPAN);
			got = cap_match(line[i], pl, line[j], nlen);
			want = fuzz_cap_reference(line[i], pl, line[j], nlen);
			if (got != want)
				abort();
		}
	}

	if (cap_parse(line[0], len[0], &c, &cause) != 0) {
		if (c != NULL || cause == NULL || strchr(cause, '\n') != NULL)
			abort();
		free(cause);
		return (0);
	}
	if (cause != NULL)
		abort();
	fuzz_cap_check(c, line, len, nlines);
	cap_free(c);
	return (0);
}
