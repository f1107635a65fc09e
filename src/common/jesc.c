/*
 * The escaping of JSON strings.  The scan for the bytes that need no
 * escape, jesc_plain(), is inline in common.h.
 */

#include "config.h"

#include "common.h"

/* Write the escape of c, a byte jesc_plain() stopped at, into out. */
static size_t
jesc_char(unsigned char c, char *out)
{
	static const char hex[] = "0123456789abcdef";

	out[0] = '\\';
	switch (c) {
	case '"':
	case '\\':
		out[1] = (char)c;
		return (2);
	case '\n':
		out[1] = 'n';
		return (2);
	case '\r':
		out[1] = 'r';
		return (2);
	case '\t':
		out[1] = 't';
		return (2);
	default:
		out[1] = 'u';
		out[2] = '0';
		out[3] = '0';
		out[4] = hex[c >> 4];
		out[5] = hex[c & 0xf];
		return (6);
	}
}

/* Hand s to put as a quoted JSON string: plain runs and escapes. */
void
jesc_write(const char *s, size_t len,
    void (*put)(void *, const void *, size_t), void *arg)
{
	char	esc[6];
	size_t	n;

	put(arg, "\"", 1);
	for (;;) {
		n = jesc_plain(s, len);
		if (n != 0)
			put(arg, s, n);
		if (n == len)
			break;
		put(arg, esc, jesc_char((unsigned char)s[n], esc));
		s += n + 1;
		len -= n + 1;
	}
	put(arg, "\"", 1);
}
