/* JSON strings appended to an evbuffer, for replies off the hot paths. */

#include "config.h"

#include <string.h>

#include <event2/buffer.h>

#include "common.h"

/*
 * Length of the well-formed UTF-8 sequence (RFC 3629: no overlong forms,
 * no surrogates, nothing past U+10FFFF) that starts s, or 0 if none does.
 */
static size_t
jstr_utf8_len(const unsigned char *s, size_t len)
{
	unsigned char	lo = 0x80, hi = 0xbf;
	size_t		n, i;

	if (s[0] < 0x80)
		return (1);
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		if (s[0] == 0xe0)
			lo = 0xa0;
		else if (s[0] == 0xed)
			hi = 0x9f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		if (s[0] == 0xf0)
			lo = 0x90;
		else if (s[0] == 0xf4)
			hi = 0x8f;
	} else
		return (0);
	if (len < n || s[1] < lo || s[1] > hi)
		return (0);
	for (i = 2; i < n; i++) {
		if (s[i] < 0x80 || s[i] > 0xbf)
			return (0);
	}
	return (n);
}

/* Append bytes, as jesc_write() hands them. */
static void
jstr_put(void *b, const void *s, size_t len)
{
	evbuffer_add(b, s, len);
}

/*
 * Append s as a quoted JSON string (jesc.c says what is escaped).  Error
 * messages echo bytes of the request (a percent-decoded path segment or
 * query parameter, a parser's view of a body), which need not be UTF-8:
 * each byte that does not start a well-formed UTF-8 sequence is replaced
 * by U+FFFD, so that the reply is always valid UTF-8 JSON.
 */
void
jstr_escape(struct evbuffer *b, const char *s, size_t len)
{
	const unsigned char	*u = (const unsigned char *)s;
	struct jbuf		 clean;
	size_t			 n, i, start = 0;
	int			 bad = 0;

	memset(&clean, 0, sizeof clean);
	for (i = 0; i < len; i += n) {
		if ((n = jstr_utf8_len(u + i, len - i)) != 0)
			continue;
		jbuf_add(&clean, s + start, i - start);
		jbuf_lit(&clean, "\xef\xbf\xbd");
		n = 1;
		start = i + 1;
		bad = 1;
	}
	if (!bad) {
		jesc_write(s, len, jstr_put, b);
		return;
	}
	jbuf_add(&clean, s + start, len - start);
	s = jbuf_text(&clean, &len);
	jesc_write(s, len, jstr_put, b);
	jbuf_free(&clean);
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
