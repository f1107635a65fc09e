/*
 * Fuzz target: the request reader (src/req.c) on arbitrary bytes.  When a
 * text is accepted, every span must lie inside it, every string must be
 * NUL-terminated at its length, and the JSON text kept for "data" and
 * "ref" must read back as the same single value on its own.
 */

#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "logwire.h"

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
		return (0);
	}
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
