/*
 * Where a subscription's cursor starts, from the position the client asked
 * for and the channel's state.  Pure arithmetic, shared by every kind of
 * subscriber (WebSocket now, SSE next), and tested on its own
 * (tests/test_pos.c).
 */

#include "config.h"

#include <string.h>

#include "logwired.h"

/*
 * The Unix time (ms) whose first serial a time position starts at: now
 * minus the duration for POS_REWIND_MS, the time itself for POS_SINCE.
 * Returns 0 for the other kinds, which need no time lookup.
 */
int
pos_time(const struct sub_pos *p, uint64_t now_ms, uint64_t *t)
{
	switch (p->kind) {
	case POS_REWIND_MS:
		*t = now_ms > p->n ? now_ms - p->n : 0;
		return (1);
	case POS_SINCE:
		*t = p->n;
		return (1);
	default:
		return (0);
	}
}

/*
 * Place the cursor.  first and head describe the channel's log (first =
 * head + 1 when it is empty), epoch is its epoch; time_serial is the first
 * serial at or after pos_time's time (head + 1 if none), for the time
 * kinds.  A resume (POS_FROM) with the channel's epoch starts after the
 * serial the client saw; if retention removed some of what follows, it
 * starts at first with the gap [gap_from, gap_to] to announce.  Any other
 * start behind first is moved up to it silently: a rewind asks for "the
 * last n", not for particular serials.
 */
void
pos_start(const struct sub_pos *p, const char *epoch, uint64_t first,
    uint64_t head, uint64_t time_serial, struct pos_start *out)
{
	memset(out, 0, sizeof *out);
	out->next = head + 1;
	switch (p->kind) {
	case POS_LIVE:
		break;
	case POS_FROM:
		if (strcmp(p->epoch, epoch) != 0)
			out->resumed = POS_RESUMED_EPOCH;
		else if (p->n > head)
			out->resumed = POS_RESUMED_SERIAL;
		else {
			out->resumed = POS_RESUMED;
			out->next = p->n + 1;
			if (out->next < first) {
				out->gap_from = out->next;
				out->gap_to = first - 1;
				out->next = first;
			}
		}
		break;
	case POS_REWIND:
		out->next = p->n > head ? 1 : head + 1 - p->n;
		break;
	case POS_REWIND_MS:
	case POS_SINCE:
		out->next = MIN(time_serial, head + 1);
		break;
	}
	if (p->kind != POS_FROM && out->next < first)
		out->next = MIN(first, head + 1);
}
