/*
 * WebSocket frames built by the server.  Server frames are never masked, so
 * the bytes of a message frame are the same for every subscriber: a
 * committed message is encoded once (frame_message) and each live
 * subscriber's output buffer takes a reference to it, or for a small frame
 * a copy of its bytes, which is cheaper than the reference (frame_add).
 */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "logwired.h"

#define FRAME_COPY_MAX	512	/* frames up to this are copied, not shared */

/* Write a frame header for an unmasked final text frame into h. */
static size_t
frame_header(unsigned char *h, size_t len)
{
	h[0] = 0x81;
	if (len < 126) {
		h[1] = (unsigned char)len;
		return (2);
	}
	if (len <= 0xffff) {
		h[1] = 126;
		h[2] = (unsigned char)(len >> 8);
		h[3] = (unsigned char)len;
		return (4);
	}
	h[1] = 127;
	h[2] = (unsigned char)(len >> 56);
	h[3] = (unsigned char)(len >> 48);
	h[4] = (unsigned char)(len >> 40);
	h[5] = (unsigned char)(len >> 32);
	h[6] = (unsigned char)(len >> 24);
	h[7] = (unsigned char)(len >> 16);
	h[8] = (unsigned char)(len >> 8);
	h[9] = (unsigned char)len;
	return (10);
}

/* Append one text frame holding len bytes of JSON. */
void
frame_text(struct evbuffer *out, const void *text, size_t len)
{
	unsigned char	h[10];

	evbuffer_add(out, h, frame_header(h, len));
	evbuffer_add(out, text, len);
}

/*
 * Put the frame header in the room kept before the text of b, and return
 * where the frame starts and its length (header and text).
 */
const char *
frame_wrap(struct jbuf *b, size_t *flen)
{
	unsigned char	 h[10];
	size_t		 len, hlen;

	if (b->p == NULL)
		jbuf_reset(b);
	jbuf_text(b, &len);
	hlen = frame_header(h, len);
	memcpy(b->p + JBUF_HEAD - hlen, h, hlen);
	*flen = hlen + len;
	return (b->p + JBUF_HEAD - hlen);
}

/* Append the JSON text in b as one text frame, with one copy. */
void
frame_jbuf(struct evbuffer *out, struct jbuf *b)
{
	const char	*f;
	size_t		 flen;

	f = frame_wrap(b, &flen);
	evbuffer_add(out, f, flen);
}

/*
 * Append the fields of a message after an opening brace: serial, time, id,
 * name, client, encoding and data, then the closing brace.  Shared by the
 * WebSocket "message" op and the REST and export items.
 */
static void
frame_encode_fields(struct jbuf *b, const struct store_rec *rec)
{
	jbuf_lit(b, "\"serial\":");
	jbuf_u64(b, rec->serial);
	jbuf_lit(b, ",\"time\":");
	jbuf_u64(b, rec->time);
	jbuf_lit(b, ",\"id\":");
	jbuf_escape(b, rec->id, rec->id_len);
	if (rec->name_len > 0) {
		jbuf_lit(b, ",\"name\":");
		jbuf_escape(b, rec->name, rec->name_len);
	}
	if (rec->client_len > 0) {
		jbuf_lit(b, ",\"client\":");
		jbuf_escape(b, rec->client, rec->client_len);
	}
	if (rec->flags & STORE_MSG_BASE64)
		jbuf_lit(b, ",\"encoding\":\"base64\"");
	jbuf_lit(b, ",\"data\":");
	jbuf_add(b, rec->data, rec->data_len);
	jbuf_lit(b, "}");
}

/*
 * Append the JSON text of a message on channel name: the "message" op when
 * with_op, else the item of REST history and export (the same without op).
 */
void
frame_encode(struct jbuf *b, int with_op, const char *name,
    size_t name_len, const struct store_rec *rec)
{
	if (with_op)
		jbuf_lit(b, "{\"op\":\"message\",\"channel\":");
	else
		jbuf_lit(b, "{\"channel\":");
	jbuf_escape(b, name, name_len);
	jbuf_lit(b, ",");
	frame_encode_fields(b, rec);
}

/*
 * Encode n committed messages of one channel once, as one block of frames
 * with one reference.
 */
struct frame *
frame_messages(const char *name, size_t name_len, const struct store_rec *recs,
    size_t n)
{
	static struct jbuf	 scratch, block;
	struct frame		*f;
	const char		*p;
	size_t			 flen, i;

	jbuf_reset(&block);
	for (i = 0; i < n; i++) {
		jbuf_reset(&scratch);
		frame_encode(&scratch, 1, name, name_len, &recs[i]);
		p = frame_wrap(&scratch, &flen);
		jbuf_add(&block, p, flen);
	}
	p = jbuf_text(&block, &flen);
	f = xmalloc(sizeof *f + flen);
	f->refs = 1;
	f->len = flen;
	memcpy(f->data, p, flen);
	return (f);
}

/* Take a reference. */
void
frame_ref(struct frame *f)
{
	f->refs++;
}

/* Drop a reference; the last one frees the frame. */
void
frame_unref(struct frame *f)
{
	if (--f->refs == 0)
		free(f);
}

/* Called by libevent once a buffer has written or freed the bytes. */
static void
frame_cleanup(const void *data, size_t len, void *arg)
{
	frame_unref(arg);
}

/*
 * Queue a shared frame on an output buffer: a small frame is copied into
 * the buffer's free space (a reference costs an evbuffer chain of its own,
 * a malloc per subscriber per message, and splits the bytes that one write
 * should carry); a larger one is shared without a copy.
 */
void
frame_add(struct evbuffer *out, struct frame *f)
{
	if (f->len <= FRAME_COPY_MAX) {
		evbuffer_add(out, f->data, f->len);
		return;
	}
	frame_ref(f);
	if (evbuffer_add_reference(out, f->data, f->len, frame_cleanup,
	    f) != 0)
		frame_unref(f);
}
