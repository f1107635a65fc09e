/*
 * JSON text built in a growable buffer, for the replies and message frames
 * sent on the hot paths (acks, fan-out, replay).  An evbuffer costs a call
 * with its own bookkeeping for every small piece and printf parses a format
 * for every number; here a reply is plain appends into one array, written
 * to a connection with a single evbuffer_add.  The buffer keeps JBUF_HEAD
 * bytes free in front of the text, so that the WebSocket frame header can
 * be put just before it without a copy (frame_jbuf).
 */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"

/* Empty the buffer, keeping its memory and the room for a header. */
void
jbuf_reset(struct jbuf *b)
{
	if (b->size < JBUF_HEAD + 256) {
		b->size = JBUF_HEAD + 256;
		b->p = xrealloc(b->p, b->size);
	}
	b->len = JBUF_HEAD;
}

/* Free the buffer's memory. */
void
jbuf_free(struct jbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->size = 0;
}

/* Make room for n more bytes. */
static void
jbuf_grow(struct jbuf *b, size_t n)
{
	size_t	want;

	if (b->len == 0)
		jbuf_reset(b);
	want = b->len + n;
	if (want <= b->size)
		return;
	while (b->size < want)
		b->size *= 2;
	b->p = xrealloc(b->p, b->size);
}

/* Append len bytes. */
void
jbuf_add(struct jbuf *b, const void *s, size_t len)
{
	if (b->len + len > b->size || b->len == 0)
		jbuf_grow(b, len);
	memcpy(b->p + b->len, s, len);
	b->len += len;
}

/* Append a number in decimal. */
void
jbuf_u64(struct jbuf *b, uint64_t v)
{
	char	tmp[20];
	size_t	n = sizeof tmp;

	do {
		tmp[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	jbuf_add(b, tmp + n, sizeof tmp - n);
}

/* Append bytes, as jesc_write() hands them. */
static void
jbuf_put(void *b, const void *s, size_t len)
{
	jbuf_add(b, s, len);
}

/*
 * Append s as a quoted JSON string (jesc.c says what is escaped).  A
 * string that needs no escape, the usual case on the hot paths, is copied
 * with its quotes after a single check for room.
 */
void
jbuf_escape(struct jbuf *b, const char *s, size_t len)
{
	char	*p;

	if (jesc_plain(s, len) != len) {
		jesc_write(s, len, jbuf_put, b);
		return;
	}
	if (b->len + len + 2 > b->size || b->len == 0)
		jbuf_grow(b, len + 2);
	p = b->p + b->len;
	p[0] = '"';
	memcpy(p + 1, s, len);
	p[len + 1] = '"';
	b->len += len + 2;
}

/* Append a reply's ref (JSON text, a string or a number) if there is one. */
void
jbuf_ref(struct jbuf *b, const char *ref)
{
	if (ref == NULL)
		return;
	jbuf_lit(b, ",\"ref\":");
	jbuf_add(b, ref, strlen(ref));
}

/* The text appended since the last reset, and its length. */
const char *
jbuf_text(const struct jbuf *b, size_t *len)
{
	*len = b->len > JBUF_HEAD ? b->len - JBUF_HEAD : 0;
	return (b->p != NULL ? b->p + JBUF_HEAD : "");
}
