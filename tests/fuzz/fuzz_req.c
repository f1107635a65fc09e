/*
 * Fuzz target: the request reader (src/server/req.c) on arbitrary bytes.  When a
 * text is accepted, every span must lie inside it, every string must be
 * NUL-terminated at its length, and the JSON text kept for "data" and
 * "ref" must read back as the same single value on its own.
 *
 * And req.c must read the language jansson reads (what the REST POST is
 * read with and every client reads back): a UTF-8 text (the WebSocket
 * layer refuses any other) that req.c accepts without a wide integer or a
 * lone surrogate in "channel" (both refused later), jansson accepts with
 * JSON_ALLOW_NUL; one that jansson accepts and that
 * nests at most REQ_DEPTH_MAX deep, req.c accepts.
 */

#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "logwired.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Check one value of an accepted request. */
static void
fuzz_req_value(const struct req_val *v, const char *text, size_t size)
{
	if (v->kind == REQ_ABSENT)
		return;
	if (v->raw < text || v->raw + v->raw_len > text + size ||
	    v->raw_len == 0)
		abort();
	if (v->kind == REQ_STRING && v->s[v->len] != '\0')
		abort();
}

/* Read back a kept span wrapped as {"data":SPAN}: the same text. */
static void
fuzz_req_again(const struct req_val *v)
{
	struct req	 r;
	char		*text, *cause = NULL;
	size_t		 len = v->raw_len + 9;

	if (v->kind == REQ_ABSENT)
		return;
	text = xmalloc(len);
	memcpy(text, "{\"data\":", 8);
	memcpy(text + 8, v->raw, v->raw_len);
	text[len - 1] = '}';
	if (req_parse(&r, text, len, &cause) != 0)
		abort();
	if (r.data.raw_len != v->raw_len ||
	    memcmp(r.data.raw, v->raw, v->raw_len) != 0)
		abort();
	free(text);
}

/* How deep j nests arrays and objects, itself included. */
static int
fuzz_req_depth(json_t *j)
{
	json_t		*v;
	const char	*k;
	size_t		 i;
	int		 d, max = 0;

	if (json_is_array(j)) {
		json_array_foreach(j, i, v) {
			if ((d = fuzz_req_depth(v)) > max)
				max = d;
		}
	} else if (json_is_object(j)) {
		json_object_foreach(j, k, v) {
			if ((d = fuzz_req_depth(v)) > max)
				max = d;
		}
	} else
		return (0);
	return (max + 1);
}

/* Compare req.c's verdict on text with jansson's. */
static void
fuzz_req_jansson(const char *text, size_t size, int accepted,
    const struct req *r)
{
	json_t	*j, *utf8;

	/*
	 * json_stringn takes any UTF-8 and nothing else.  A raw NUL byte is
	 * never JSON, but jansson takes one after a top-level number ("7\0").
	 */
	if (memchr(text, '\0', size) != NULL ||
	    (utf8 = json_stringn(text, size)) == NULL)
		return;
	json_decref(utf8);
	j = json_loadb(text, size, JSON_ALLOW_NUL | JSON_DECODE_ANY, NULL);
	if (accepted && !r->wide_int && !r->channel_lossy && j == NULL)
		abort();
	if (j != NULL && fuzz_req_depth(j) <= REQ_DEPTH_MAX && !accepted)
		abort();
	json_decref(j);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct req	 r;
	const char	*text = (const char *)data;
	char		*cause = NULL;
	uint64_t	 n;

	if (req_parse(&r, text, size, &cause) != 0) {
		if (cause == NULL || strchr(cause, '\n') != NULL)
			abort();
		free(cause);
		fuzz_req_jansson(text, size, 0, NULL);
		return (0);
	}
	fuzz_req_jansson(text, size, 1, &r);
	fuzz_req_value(&r.op, text, size);
	fuzz_req_value(&r.ref, text, size);
	fuzz_req_value(&r.channel, text, size);
	fuzz_req_value(&r.data, text, size);
	fuzz_req_value(&r.id, text, size);
	fuzz_req_value(&r.name, text, size);
	fuzz_req_value(&r.encoding, text, size);
	fuzz_req_value(&r.from, text, size);
	fuzz_req_value(&r.rewind, text, size);
	fuzz_req_value(&r.since, text, size);
	fuzz_req_value(&r.from_serial, text, size);
	fuzz_req_value(&r.from_epoch, text, size);
	(void)req_uint(&r.since, &n);
	(void)req_uint(&r.from_serial, &n);
	fuzz_req_again(&r.data);
	fuzz_req_again(&r.ref);
	return (0);
}
