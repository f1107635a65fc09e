/* JSON strings appended to an evbuffer, for replies off the hot paths. */

#include "config.h"

#include <string.h>

#include <event2/buffer.h>

#include "logwire.h"

/* Append s (UTF-8, checked by the caller) as a quoted JSON string. */
void
jstr_escape(struct evbuffer *b, const char *s, size_t len)
{
	static struct jbuf	 jb;
	const char		*text;
	size_t			 n;

	jbuf_reset(&jb);
	jbuf_escape(&jb, s, len);
	text = jbuf_text(&jb, &n);
	evbuffer_add(b, text, n);
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
