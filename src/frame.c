/*
 * WebSocket frames built by the server.  Server frames are never masked, so
 * the bytes of a message frame are the same for every subscriber: a
 * committed message is encoded once (frame_message) and each live
 * subscriber's output buffer takes a reference to it (frame_add).
 */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "logwire.h"

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
 * Append the fields of a message after an opening brace: serial, time, id,
 * name, client, encoding and data, then the closing brace.  Shared by the
 * WebSocket "message" op and the REST and export items.
 */
static void
frame_encode_fields(struct evbuffer *b, const struct store_rec *rec)
{
	evbuffer_add_printf(b, "\"serial\":%llu,\"time\":%llu,\"id\":",
	    (unsigned long long)rec->serial, (unsigned long long)rec->time);
	jstr_escape(b, rec->id, rec->id_len);
	if (rec->name_len > 0) {
		evbuffer_add_lit(b, ",\"name\":");
		jstr_escape(b, rec->name, rec->name_len);
	}
	if (rec->client_len > 0) {
		evbuffer_add_lit(b, ",\"client\":");
		jstr_escape(b, rec->client, rec->client_len);
	}
	if (rec->flags & STORE_MSG_BASE64)
		evbuffer_add_lit(b, ",\"encoding\":\"base64\"");
	evbuffer_add_lit(b, ",\"data\":");
	evbuffer_add(b, rec->data, rec->data_len);
	evbuffer_add_lit(b, "}");
}

/*
 * Append the JSON text of a message on channel name: the "message" op when
 * with_op, else the item of REST history and export (the same without op).
 */
void
frame_encode(struct evbuffer *b, int with_op, const char *name,
    size_t name_len, const struct store_rec *rec)
{
	if (with_op)
		evbuffer_add_lit(b, "{\"op\":\"message\",\"channel\":");
	else
		evbuffer_add_lit(b, "{\"channel\":");
	jstr_escape(b, name, name_len);
	evbuffer_add_lit(b, ",");
	frame_encode_fields(b, rec);
}

/* Encode a committed message once, as a shared frame with one reference. */
struct frame *
frame_message(const char *name, size_t name_len, const struct store_rec *rec)
{
	static struct evbuffer	*scratch;
	struct frame		*f;
	unsigned char		 h[10];
	size_t			 len, hlen;

	if (scratch == NULL)
		scratch = evbuffer_new();
	frame_encode(scratch, 1, name, name_len, rec);
	len = evbuffer_get_length(scratch);
	hlen = frame_header(h, len);
	f = xmalloc(sizeof *f + hlen + len);
	f->refs = 1;
	f->len = hlen + len;
	memcpy(f->data, h, hlen);
	evbuffer_remove(scratch, f->data + hlen, len);
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

/* Queue a shared frame on an output buffer without copying it. */
void
frame_add(struct evbuffer *out, struct frame *f)
{
	frame_ref(f);
	if (evbuffer_add_reference(out, f->data, f->len, frame_cleanup,
	    f) != 0)
		frame_unref(f);
}
