/* JSON string output for hand-built replies and message frames. */

#include "config.h"

#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

#include "logwire.h"

/*
 * Append s as a quoted JSON string.  Input is UTF-8 already checked by the
 * caller; only the quote, the backslash and control characters are escaped.
 */
void
jstr_escape(struct evbuffer *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t		 i, start = 0;
	unsigned char	 c;
	char		 esc[6];

	evbuffer_add_lit(b, "\"");
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f)
			continue;
		if (i > start)
			evbuffer_add(b, s + start, i - start);
		start = i + 1;
		switch (c) {
		case '"':
			evbuffer_add_lit(b, "\\\"");
			break;
		case '\\':
			evbuffer_add_lit(b, "\\\\");
			break;
		case '\n':
			evbuffer_add_lit(b, "\\n");
			break;
		case '\r':
			evbuffer_add_lit(b, "\\r");
			break;
		case '\t':
			evbuffer_add_lit(b, "\\t");
			break;
		default:
			esc[0] = '\\';
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			evbuffer_add(b, esc, 6);
			break;
		}
	}
	if (i > start)
		evbuffer_add(b, s + start, i - start);
	evbuffer_add_lit(b, "\"");
}

/* Append a JSON value for a reply's ref (a string or a number), if any. */
void
jstr_ref(struct evbuffer *b, const char *key_prefix, const char *ref)
{
	if (ref == NULL)
		return;
	evbuffer_add_printf(b, "%s\"ref\":%s", key_prefix, ref);
}
