/*
 * Strict base64 (RFC 4648): base64url without padding for tokens, padded
 * standard base64 for Basic credentials.
 *
 * Our own decoder rather than OpenSSL's EVP_DecodeBlock: that one skips
 * leading and trailing whitespace, knows only the standard alphabet (a
 * token's '-' and '_' would need a translated copy), counts padding as
 * zero bytes in its result, and never checks the unused bits of the last
 * character, so several texts decode to the same bytes.  A token must have
 * exactly one spelling (a flipped bit anywhere must fail, and the MAC is
 * computed over the text as sent), which is a table and a loop.
 */

#include "config.h"

#include <stdint.h>
#include <string.h>

#include "common.h"
#include "auth.h"

static const char b64_url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char b64_std_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Return the value of c in alphabet (64 characters), or -1. */
static int
b64_value(const char *alphabet, unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return (c - 'A');
	if (c >= 'a' && c <= 'z')
		return (c - 'a' + 26);
	if (c >= '0' && c <= '9')
		return (c - '0' + 52);
	if (c == (unsigned char)alphabet[62])
		return (62);
	if (c == (unsigned char)alphabet[63])
		return (63);
	return (-1);
}

/* Decode len characters without padding; see b64_url_decode. */
static int
b64_decode_bare(const char *alphabet, const char *s, size_t len,
    unsigned char *out, size_t *outlen)
{
	uint32_t	acc = 0;
	size_t		i, o = 0;
	int		v, bits = 0;

	if (len % 4 == 1)
		return (-1);
	for (i = 0; i < len; i++) {
		if ((v = b64_value(alphabet, (unsigned char)s[i])) == -1)
			return (-1);
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1U << bits) - 1;
		}
	}
	/* Left-over bits (2 or 4) must be zero: one spelling per bytes. */
	if (acc != 0)
		return (-1);
	*outlen = o;
	return (0);
}

/* Encode len bytes as unpadded base64url; the caller frees the result. */
char *
b64_url_encode(const void *buf, size_t len)
{
	const unsigned char	*p = buf;
	char			*s, *o;
	uint32_t		 v;
	size_t			 i;

	s = o = xmalloc((len / 3) * 4 + 4 + 1);
	for (i = 0; i + 3 <= len; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*o++ = b64_url_alphabet[v >> 18];
		*o++ = b64_url_alphabet[(v >> 12) & 0x3f];
		*o++ = b64_url_alphabet[(v >> 6) & 0x3f];
		*o++ = b64_url_alphabet[v & 0x3f];
	}
	if (len - i == 1) {
		v = (uint32_t)p[i] << 16;
		*o++ = b64_url_alphabet[v >> 18];
		*o++ = b64_url_alphabet[(v >> 12) & 0x3f];
	} else if (len - i == 2) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		*o++ = b64_url_alphabet[v >> 18];
		*o++ = b64_url_alphabet[(v >> 12) & 0x3f];
		*o++ = b64_url_alphabet[(v >> 6) & 0x3f];
	}
	*o = '\0';
	return (s);
}

/* Decode unpadded base64url strictly. */
int
b64_url_decode(const char *s, size_t len, unsigned char *out,
    size_t *outlen)
{
	return (b64_decode_bare(b64_url_alphabet, s, len, out, outlen));
}

/* Decode padded standard base64 strictly. */
int
b64_decode(const char *s, size_t len, unsigned char *out, size_t *outlen)
{
	size_t	pad = 0;

	if (len % 4 != 0)
		return (-1);
	if (len > 0 && s[len - 1] == '=')
		pad++;
	if (len > 1 && s[len - 2] == '=')
		pad++;
	/* A '=' anywhere else is refused by the alphabet below. */
	return (b64_decode_bare(b64_std_alphabet, s, len - pad, out, outlen));
}
