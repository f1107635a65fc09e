/*
 * Unit tests of two pure parts of the daemon: the headers of the frames it
 * builds (src/server/frame.c) at the 125/126/65535/65536-byte boundaries of RFC
 * 6455's length encodings, and where a subscription's cursor starts
 * (src/server/pos.c) for each kind of position against a log with and without
 * trimmed messages.
 */

#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <event2/buffer.h>

#include "cu_run.h"
#include "logwired.h"

/*
 * Decode the header of an unmasked final text frame: returns its length
 * and the payload length in *len, or 0 if it is not one.
 */
static size_t
decode_header(const unsigned char *h, size_t avail, uint64_t *len)
{
	size_t	i, n;

	if (avail < 2 || h[0] != 0x81 || (h[1] & 0x80) != 0)
		return (0);
	switch (h[1]) {
	case 126:
		n = 2;
		break;
	case 127:
		n = 8;
		break;
	default:
		*len = h[1];
		return (2);
	}
	if (avail < 2 + n)
		return (0);
	*len = 0;
	for (i = 0; i < n; i++)
		*len = (*len << 8) | h[2 + i];
	return (2 + n);
}

/* The header length RFC 6455 wants for a payload: the shortest one. */
static size_t
want_header(size_t len)
{
	if (len < 126)
		return (2);
	if (len <= 0xffff)
		return (4);
	return (10);
}

/* frame_text and frame_wrap give the same, shortest, header. */
static void
test_frame_boundaries(void)
{
	static const size_t	 sizes[] = {
		0, 1, 125, 126, 127, 65535, 65536, 65537, 200000
	};
	struct evbuffer		*out;
	struct jbuf		 b;
	unsigned char		*p;
	const char		*f;
	char			*text;
	uint64_t		 len = 0;
	size_t			 i, hlen, flen;

	for (i = 0; i < nitems(sizes); i++) {
		text = malloc(sizes[i] + 1);
		CU_ASSERT_FATAL(text != NULL);
		memset(text, 'a' + (int)(i % 26), sizes[i]);

		out = evbuffer_new();
		frame_text(out, text, sizes[i]);
		CU_ASSERT_EQUAL(evbuffer_get_length(out),
		    want_header(sizes[i]) + sizes[i]);
		p = evbuffer_pullup(out, -1);
		hlen = decode_header(p, evbuffer_get_length(out), &len);
		if (hlen != want_header(sizes[i]) || len != sizes[i])
			fprintf(stderr, "frame_text %zu: header %zu, "
			    "length %llu\n", sizes[i], hlen,
			    (unsigned long long)len);
		CU_ASSERT_EQUAL(hlen, want_header(sizes[i]));
		CU_ASSERT_EQUAL(len, sizes[i]);
		CU_ASSERT(memcmp(p + hlen, text, sizes[i]) == 0);

		memset(&b, 0, sizeof b);
		jbuf_add(&b, text, sizes[i]);
		f = frame_wrap(&b, &flen);
		CU_ASSERT_EQUAL(flen, evbuffer_get_length(out));
		CU_ASSERT(flen == evbuffer_get_length(out) &&
		    memcmp(f, p, flen) == 0);
		jbuf_free(&b);
		evbuffer_free(out);
		free(text);
	}
}

/* A position of the given kind. */
static struct sub_pos
pos(enum pos_kind kind, uint64_t n, const char *epoch)
{
	struct sub_pos	p;

	memset(&p, 0, sizeof p);
	p.kind = kind;
	p.n = n;
	if (epoch != NULL)
		memcpy(p.epoch, epoch, STORE_EPOCH_LEN);
	return (p);
}

#define EPOCH	"0123456789abcdef"
#define OTHER	"fedcba9876543210"

/* Place a cursor; check next, the gap and "resumed". */
static void
check_start(const struct sub_pos *p, uint64_t first, uint64_t head,
    uint64_t time_serial, uint64_t next, uint64_t gap_from, uint64_t gap_to,
    enum pos_resumed resumed)
{
	struct pos_start	st;

	pos_start(p, EPOCH, first, head, time_serial, &st);
	if (st.next != next || st.gap_from != gap_from ||
	    st.gap_to != gap_to || st.resumed != resumed)
		fprintf(stderr, "kind %d n %llu first %llu head %llu: want "
		    "next %llu gap %llu-%llu resumed %d, got next %llu gap "
		    "%llu-%llu resumed %d\n", (int)p->kind,
		    (unsigned long long)p->n, (unsigned long long)first,
		    (unsigned long long)head, (unsigned long long)next,
		    (unsigned long long)gap_from, (unsigned long long)gap_to,
		    (int)resumed, (unsigned long long)st.next,
		    (unsigned long long)st.gap_from,
		    (unsigned long long)st.gap_to, (int)st.resumed);
	CU_ASSERT_EQUAL(st.next, next);
	CU_ASSERT_EQUAL(st.gap_from, gap_from);
	CU_ASSERT_EQUAL(st.gap_to, gap_to);
	CU_ASSERT_EQUAL(st.resumed, resumed);
}

/* Live starts after the head, whatever the log holds. */
static void
test_pos_live(void)
{
	struct sub_pos	p = pos(POS_LIVE, 0, NULL);

	check_start(&p, 1, 0, 1, 1, 0, 0, POS_RESUMED_NONE);
	check_start(&p, 1, 100, 101, 101, 0, 0, POS_RESUMED_NONE);
	check_start(&p, 51, 100, 101, 101, 0, 0, POS_RESUMED_NONE);
}

/* Resume: after the serial seen; a gap when retention passed it. */
static void
test_pos_from(void)
{
	struct sub_pos	p;

	p = pos(POS_FROM, 40, EPOCH);
	check_start(&p, 1, 100, 101, 41, 0, 0, POS_RESUMED);
	p = pos(POS_FROM, 100, EPOCH);		/* up to date */
	check_start(&p, 1, 100, 101, 101, 0, 0, POS_RESUMED);
	p = pos(POS_FROM, 0, EPOCH);		/* saw nothing */
	check_start(&p, 1, 100, 101, 1, 0, 0, POS_RESUMED);
	p = pos(POS_FROM, 40, EPOCH);		/* 41..50 trimmed */
	check_start(&p, 51, 100, 101, 51, 41, 50, POS_RESUMED);
	p = pos(POS_FROM, 50, EPOCH);		/* exactly at the edge */
	check_start(&p, 51, 100, 101, 51, 0, 0, POS_RESUMED);
	p = pos(POS_FROM, 40, EPOCH);		/* everything trimmed */
	check_start(&p, 101, 100, 101, 101, 41, 100, POS_RESUMED);
	p = pos(POS_FROM, 40, OTHER);		/* another epoch: live */
	check_start(&p, 1, 100, 101, 101, 0, 0, POS_RESUMED_EPOCH);
	p = pos(POS_FROM, 101, EPOCH);		/* beyond the head: live */
	check_start(&p, 1, 100, 101, 101, 0, 0, POS_RESUMED_SERIAL);
}

/* Rewind by count: the last n kept messages, no gap. */
static void
test_pos_rewind(void)
{
	struct sub_pos	p;

	p = pos(POS_REWIND, 10, NULL);
	check_start(&p, 1, 100, 101, 91, 0, 0, POS_RESUMED_NONE);
	p = pos(POS_REWIND, 0, NULL);
	check_start(&p, 1, 100, 101, 101, 0, 0, POS_RESUMED_NONE);
	p = pos(POS_REWIND, 100, NULL);
	check_start(&p, 1, 100, 101, 1, 0, 0, POS_RESUMED_NONE);
	p = pos(POS_REWIND, 1000, NULL);
	check_start(&p, 1, 100, 101, 1, 0, 0, POS_RESUMED_NONE);
	p = pos(POS_REWIND, 80, NULL);		/* 1..50 trimmed */
	check_start(&p, 51, 100, 101, 51, 0, 0, POS_RESUMED_NONE);
	p = pos(POS_REWIND, UINT64_MAX, NULL);
	check_start(&p, 1, 0, 1, 1, 0, 0, POS_RESUMED_NONE);
}

/* Time positions: the looked-up serial, clamped to the log. */
static void
test_pos_time(void)
{
	struct sub_pos	p;
	uint64_t	t;

	p = pos(POS_SINCE, 1763800000000ULL, NULL);
	CU_ASSERT(pos_time(&p, 1763800999999ULL, &t) == 1);
	CU_ASSERT_EQUAL(t, 1763800000000ULL);
	check_start(&p, 1, 100, 42, 42, 0, 0, POS_RESUMED_NONE);
	check_start(&p, 1, 100, 500, 101, 0, 0, POS_RESUMED_NONE);
	check_start(&p, 51, 100, 10, 51, 0, 0, POS_RESUMED_NONE);

	p = pos(POS_REWIND_MS, 600000, NULL);
	CU_ASSERT(pos_time(&p, 1000000, &t) == 1);
	CU_ASSERT_EQUAL(t, 400000);
	CU_ASSERT(pos_time(&p, 1000, &t) == 1);	/* before the epoch */
	CU_ASSERT_EQUAL(t, 0);
	check_start(&p, 1, 100, 77, 77, 0, 0, POS_RESUMED_NONE);

	p = pos(POS_REWIND, 5, NULL);
	CU_ASSERT(pos_time(&p, 1000, &t) == 0);
	p = pos(POS_LIVE, 0, NULL);
	CU_ASSERT(pos_time(&p, 1000, &t) == 0);
}

int
main(void)
{
	static const struct cu_test tests[] = {
		{ "frame headers at the length boundaries",
		    test_frame_boundaries },
		{ "live starts after the head", test_pos_live },
		{ "resume with from, gaps and epochs", test_pos_from },
		{ "rewind by count", test_pos_rewind },
		{ "rewind by duration and since", test_pos_time },
	};

	return (cu_run("frame and pos", tests, nitems(tests)));
}
