/*
 * bench-hist.c: log-linear latency histogram for logwire-bench.
 *
 * Values below BENCHHIST_SUB ns have a bucket each; above, every power of
 * two [2^k, 2^(k+1)) is cut into BENCHHIST_SUB equal buckets, so the
 * relative error of a reported quantile is at most 1/BENCHHIST_SUB.
 */

#include "config.h"

#include <stdint.h>
#include <string.h>

#include "bench.h"

/* Return the bucket of value v. */
static size_t
benchhist_index(uint64_t v)
{
	int	k;

	if (v < BENCHHIST_SUB)
		return (v);
	k = 63 - __builtin_clzll(v);		/* 6 .. 63 */
	return (BENCHHIST_SUB + (size_t)(k - 6) * BENCHHIST_SUB +
	    ((v >> (k - 6)) - BENCHHIST_SUB));
}

/* Return the middle value of bucket i. */
static uint64_t
benchhist_value(size_t i)
{
	size_t	k, sub;

	if (i < BENCHHIST_SUB)
		return (i);
	k = (i - BENCHHIST_SUB) / BENCHHIST_SUB + 6;
	sub = (i - BENCHHIST_SUB) % BENCHHIST_SUB;
	return (((uint64_t)(BENCHHIST_SUB + sub) << (k - 6)) +
	    ((uint64_t)1 << (k - 6)) / 2);
}

/* Empty a histogram. */
void
benchhist_init(struct benchhist *h)
{
	memset(h, 0, sizeof *h);
}

/* Record one value. */
void
benchhist_add(struct benchhist *h, uint64_t v)
{
	h->counts[benchhist_index(v)]++;
	h->n++;
	h->sum += v;
	if (v > h->max)
		h->max = v;
}

/* Add every value of src to h. */
void
benchhist_merge(struct benchhist *h, const struct benchhist *src)
{
	size_t	i;

	for (i = 0; i < BENCHHIST_BUCKETS; i++)
		h->counts[i] += src->counts[i];
	h->n += src->n;
	h->sum += src->sum;
	if (src->max > h->max)
		h->max = src->max;
}

/* Return the value at quantile q; the maximum is exact. */
uint64_t
benchhist_quantile(const struct benchhist *h, double q)
{
	uint64_t	rank, seen = 0, v;
	size_t		i;

	if (h->n == 0)
		return (0);
	if (q >= 1.0)
		return (h->max);
	rank = (uint64_t)(q * h->n);
	if (rank >= h->n)
		rank = h->n - 1;
	for (i = 0; i < BENCHHIST_BUCKETS; i++) {
		seen += h->counts[i];
		if (seen > rank) {
			v = benchhist_value(i);
			return (v > h->max ? h->max : v);
		}
	}
	return (h->max);
}
