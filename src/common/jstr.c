/* JSON strings appended to an evbuffer, for replies off the hot paths. */

#include "config.h"

#include <string.h>

#include <event2/buffer.h>

#include "common.h"

/* Append bytes, as jesc_write() hands them. */
static void
jstr_put(void *b, const void *s, size_t len)
{
	evbuffer_add(b, s, len);
}

/* Append s as a quoted JSON string (jesc.c says what is escaped). */
void
jstr_escape(struct evbuffer *b, const char *s, size_t len)
{
	jesc_write(s, len, jstr_put, b);
}

/* Append a JSON value for a reply's ref (a string or a number), if any. */
void
jstr_ref(struct evbuffer *b, const char *key_prefix, const char *ref)
{
	if (ref == NULL)
		return;
	evbuffer_add(b, key_prefix, strlen(key_prefix));
	evbuffer_add_lit(b, "\"ref\":");
	evbuffer_add(b, ref, strlen(ref));
}
