/*
 * Tests for the request reader (src/server/req.c): the members it keeps, the
 * exact JSON text of "data" and "ref" that the server stores and echoes,
 * decoded strings, and refusal of everything that is not one valid JSON
 * value.
 */

#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "logwired.h"
#include "cu_run.h"

/* Parse text, which must succeed. */
static void
parse_ok(struct req *r, const char *text)
{
	char	*cause = NULL;
	int	 rc;

	rc = req_parse(r, text, strlen(text), &cause);
	if (rc != 0)
		fprintf(stderr, "parse of %s failed: %s\n", text, cause);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
}

/* Whether a value's raw text is exactly want. */
static int
raw_is(const struct req_val *v, const char *want)
{
	if (v->raw == NULL || v->raw_len != strlen(want) ||
	    memcmp(v->raw, want, v->raw_len) != 0) {
		fprintf(stderr, "raw: want [%s], got [%.*s]\n", want,
		    (int)v->raw_len, v->raw != NULL ? v->raw : "");
		return (0);
	}
	return (1);
}

/* Whether a string value decodes to want (len bytes). */
static int
str_is(const struct req_val *v, const char *want, size_t len)
{
	return (v->kind == REQ_STRING && v->len == len &&
	    memcmp(v->s, want, len) == 0 && v->s[len] == '\0');
}

static void
test_publish_members(void)
{
	struct req	r;

	parse_ok(&r, "{\"op\":\"publish\",\"ref\":12,\"channel\":\"orders\","
	    "\"data\":{\"n\":[1,2,{\"x\":\"}]\"}]},\"id\":\"c-42\","
	    "\"name\":\"created\",\"encoding\":null,\"extra\":{\"op\":1}}");
	CU_ASSERT_FALSE(r.not_object);
	CU_ASSERT_TRUE(str_is(&r.op, "publish", 7));
	CU_ASSERT_EQUAL(r.ref.kind, REQ_NUMBER);
	CU_ASSERT_TRUE(raw_is(&r.ref, "12"));
	CU_ASSERT_TRUE(str_is(&r.channel, "orders", 6));
	CU_ASSERT_EQUAL(r.data.kind, REQ_OBJECT);
	CU_ASSERT_TRUE(raw_is(&r.data, "{\"n\":[1,2,{\"x\":\"}]\"}]}"));
	CU_ASSERT_TRUE(str_is(&r.id, "c-42", 4));
	CU_ASSERT_TRUE(str_is(&r.name, "created", 7));
	CU_ASSERT_EQUAL(r.encoding.kind, REQ_NULL);
	CU_ASSERT_EQUAL(r.from.kind, REQ_ABSENT);
	CU_ASSERT_EQUAL(r.rewind.kind, REQ_ABSENT);
	CU_ASSERT_EQUAL(r.since.kind, REQ_ABSENT);
}

static void
test_data_spans(void)
{
	static const struct {
		const char	*text;
		const char	*raw;
		enum req_kind	 kind;
	} cases[] = {
		{ "{\"data\":1}", "1", REQ_NUMBER },
		{ "{\"data\":-1.5e+3,\"op\":\"x\"}", "-1.5e+3", REQ_NUMBER },
		{ "{ \"data\" :\t\n 42 \n}", "42", REQ_NUMBER },
		{ "{\"data\":true}", "true", REQ_BOOL },
		{ "{\"data\":false }", "false", REQ_BOOL },
		{ "{\"data\":null,\"a\":2}", "null", REQ_NULL },
		{ "{\"data\":\"a\\\"b\"}", "\"a\\\"b\"", REQ_STRING },
		{ "{\"data\" : [ 1 , { \"a\" : \"]\" } ] , \"op\":1}",
		    "[ 1 , { \"a\" : \"]\" } ]", REQ_ARRAY },
		{ "{\"data\":{}}", "{}", REQ_OBJECT },
		{ "{\"data\":[]}", "[]", REQ_ARRAY },
		{ "{\"data\":{\"data\":{\"data\":3}},\"x\":[{}]}",
		    "{\"data\":{\"data\":3}}", REQ_OBJECT },
	};
	struct req	r;
	size_t		i;

	for (i = 0; i < nitems(cases); i++) {
		parse_ok(&r, cases[i].text);
		CU_ASSERT_EQUAL(r.data.kind, cases[i].kind);
		CU_ASSERT_TRUE(raw_is(&r.data, cases[i].raw));
	}
}

static void
test_strings_decoded(void)
{
	struct req	r;

	/* Escapes are decoded in the value, kept in the raw text. */
	parse_ok(&r, "{\"channel\":\"ch\\u0041\\n\",\"data\":"
	    "\"caf\\u00e9 \\ud83d\\ude00\",\"ref\":\"r\\\"1\"}");
	CU_ASSERT_TRUE(str_is(&r.channel, "chA\n", 4));
	CU_ASSERT_TRUE(str_is(&r.data, "caf\xc3\xa9 \xf0\x9f\x98\x80", 10));
	CU_ASSERT_TRUE(raw_is(&r.data,
	    "\"caf\\u00e9 \\ud83d\\ude00\""));
	CU_ASSERT_EQUAL(r.ref.kind, REQ_STRING);
	CU_ASSERT_TRUE(raw_is(&r.ref, "\"r\\\"1\""));

	/* An escaped NUL stays in the value; the length tells. */
	parse_ok(&r, "{\"id\":\"a\\u0000b\"}");
	CU_ASSERT_TRUE(str_is(&r.id, "a\0b", 3));

	/* UTF-8 as is. */
	parse_ok(&r, "{\"name\":\"\xc3\xa9t\xc3\xa9\"}");
	CU_ASSERT_TRUE(str_is(&r.name, "\xc3\xa9t\xc3\xa9", 5));
}

static void
test_from_position(void)
{
	struct req	r;
	uint64_t	n = 0;

	parse_ok(&r, "{\"op\":\"subscribe\",\"from\":{\"x\":{\"serial\":9},"
	    "\"serial\":1200,\"epoch\":\"9f3c2a6e01d4b7aa\",\"data\":5}}");
	CU_ASSERT_EQUAL(r.from.kind, REQ_OBJECT);
	CU_ASSERT_EQUAL(req_uint(&r.from_serial, &n), 0);
	CU_ASSERT_EQUAL(n, 1200);
	CU_ASSERT_TRUE(str_is(&r.from_epoch, "9f3c2a6e01d4b7aa", 16));
	/* "data" inside "from" is not the request's data. */
	CU_ASSERT_EQUAL(r.data.kind, REQ_ABSENT);

	/* serial and epoch count only inside from. */
	parse_ok(&r, "{\"serial\":3,\"epoch\":\"x\",\"from\":5}");
	CU_ASSERT_EQUAL(r.from.kind, REQ_NUMBER);
	CU_ASSERT_EQUAL(r.from_serial.kind, REQ_ABSENT);
	CU_ASSERT_EQUAL(r.from_epoch.kind, REQ_ABSENT);

	parse_ok(&r, "{\"rewind\":\"10m\",\"since\":null}");
	CU_ASSERT_TRUE(str_is(&r.rewind, "10m", 3));
	CU_ASSERT_EQUAL(r.since.kind, REQ_NULL);
}

static void
test_members_only_at_top(void)
{
	struct req	r;

	parse_ok(&r, "{\"x\":{\"op\":\"publish\",\"data\":1,\"channel\":\"c\"},"
	    "\"y\":[{\"ref\":1}]}");
	CU_ASSERT_EQUAL(r.op.kind, REQ_ABSENT);
	CU_ASSERT_EQUAL(r.data.kind, REQ_ABSENT);
	CU_ASSERT_EQUAL(r.channel.kind, REQ_ABSENT);
	CU_ASSERT_EQUAL(r.ref.kind, REQ_ABSENT);

	/* A repeated member: the last one counts. */
	parse_ok(&r, "{\"data\":[1],\"channel\":\"a\",\"data\":{\"b\":2},"
	    "\"channel\":\"bb\"}");
	CU_ASSERT_TRUE(raw_is(&r.data, "{\"b\":2}"));
	CU_ASSERT_TRUE(str_is(&r.channel, "bb", 2));
}

static void
test_not_object(void)
{
	static const char *texts[] = {
		"[1,2]", "\"publish\"", "5", "null", "true", "[{\"op\":1}]",
	};
	struct req	r;
	size_t		i;

	for (i = 0; i < nitems(texts); i++) {
		parse_ok(&r, texts[i]);
		CU_ASSERT_TRUE(r.not_object);
		CU_ASSERT_EQUAL(r.op.kind, REQ_ABSENT);
	}
}

static void
test_malformed(void)
{
	static const char *texts[] = {
		"", " ", "{", "{\"op\":}", "{\"a\":1,}", "{\"a\":tru}",
		"{} x", "{}{}", "{\"a\" 1}", "{a:1}", "{'a':1}",
		"/* c */{}", "{\"a\":\"\\x\"}", "{\"a\":\"\xff\"}",
		"{\"a\":\"\xc3\"}", "{\"a\":\"tab\there\"}", "{\"a\":01}",
		"{\"a\":1.}", "{\"a\":-}", "{\"a\":[1,]}", "{\"a\":NaN}",
		"{\"data\":[1,2}", "{\"data\":{\"x\":1]}",
		/* An unfinished token after the value (yajl misses it). */
		"{}\"", "{\"a\":1} \"abc", "\"\"\"x", "[1]\"",
		/* White space to yajl, not to JSON. */
		"\f{}", "{\"a\":\v1}", "{}\f",
	};
	struct req	r;
	size_t		i;
	char		*cause;
	int		 rc;

	for (i = 0; i < nitems(texts); i++) {
		cause = NULL;
		rc = req_parse(&r, texts[i], strlen(texts[i]), &cause);
		if (rc != -1)
			fprintf(stderr, "accepted: [%s]\n", texts[i]);
		CU_ASSERT_EQUAL(rc, -1);
		CU_ASSERT_PTR_NOT_NULL(cause);
		if (cause != NULL) {
			CU_ASSERT(strlen(cause) > 0);
			CU_ASSERT_PTR_NULL(strchr(cause, '\n'));
		}
		free(cause);
	}
}

/* Parse text, which must be refused; the cause must contain want. */
static void
parse_refused(const char *text, size_t len, const char *want)
{
	struct req	 r;
	char		*cause = NULL;
	int		 rc;

	rc = req_parse(&r, text, len, &cause);
	if (rc != -1)
		fprintf(stderr, "accepted: [%.200s]\n", text);
	CU_ASSERT_EQUAL(rc, -1);
	if (rc == -1 && (cause == NULL || strstr(cause, want) == NULL))
		fprintf(stderr, "cause of [%.200s]: want \"%s\", got \"%s\"\n",
		    text, want, cause != NULL ? cause : "(none)");
	CU_ASSERT_PTR_NOT_NULL(cause != NULL ? strstr(cause, want) : NULL);
	free(cause);
}

/* A request {"data":...} whose data nests depth arrays (or objects). */
static char *
nested(size_t depth, int objects)
{
	char	*text, *p;
	size_t	 i;

	text = xmalloc(16 + depth * 6);
	p = text;
	memcpy(p, "{\"data\":", 8);
	p += 8;
	for (i = 0; i < depth; i++) {
		memcpy(p, objects ? "{\"a\":" : "[", objects ? 5 : 1);
		p += objects ? 5 : 1;
	}
	*p++ = '1';
	for (i = 0; i < depth; i++)
		*p++ = objects ? '}' : ']';
	*p++ = '}';
	*p = '\0';
	return (text);
}

static void
test_depth(void)
{
	struct req	 r;
	char		*text;
	int		 objects;

	for (objects = 0; objects <= 1; objects++) {
		/* The request itself is the first of the 64 levels. */
		text = nested(REQ_DEPTH_MAX - 1, objects);
		parse_ok(&r, text);
		CU_ASSERT_EQUAL(r.data.kind, objects ? REQ_OBJECT : REQ_ARRAY);
		CU_ASSERT_EQUAL(r.data.raw_len, strlen(text) - 9);
		free(text);

		text = nested(REQ_DEPTH_MAX, objects);
		parse_refused(text, strlen(text), "nested deeper than 64");
		free(text);

		/* Far deeper: refused at level 65, no recursion anywhere. */
		text = nested(20000, objects);
		parse_refused(text, strlen(text), "nested deeper than 64");
		free(text);
	}
	/* Outside data as well: the whole request counts. */
	text = nested(REQ_DEPTH_MAX, 0);
	memcpy(text + 2, "xtra", 4);
	parse_refused(text, strlen(text), "nested deeper than 64");
	free(text);
}

static void
test_numbers(void)
{
	static const struct {
		const char	*text;
		int		 wide;
	} ok[] = {
		{ "{\"data\":1e308}", 0 },
		{ "{\"data\":-1e308}", 0 },
		{ "{\"data\":1.7976931348623157e308}", 0 },
		{ "{\"data\":-1.7976931348623157E+308}", 0 },
		{ "{\"data\":1e-400}", 0 },		/* underflow: zero */
		{ "{\"data\":-0}", 0 },
		{ "{\"data\":[0.5,-2,3E2]}", 0 },
		{ "{\"data\":9223372036854775807}", 0 },
		{ "{\"data\":-9223372036854775808}", 0 },
		{ "{\"data\":9223372036854775808}", 1 },
		{ "{\"data\":-9223372036854775809}", 1 },
		{ "{\"data\":[1,{\"x\":10000000000000000000000}]}", 1 },
		{ "{\"since\":18446744073709551615}", 1 },
	};
	static const char *const refused[] = {
		"{\"data\":1e400}",
		"{\"data\":-1e400}",
		"{\"data\":1E309}",
		"{\"data\":1.7976931348623159e308}",
		"{\"data\":[[{\"x\":1e400}]]}",
		"{\"ref\":1e400,\"op\":\"ping\"}",
		"{\"extra\":-1e99999}",
	};
	struct req	 r;
	char		*text;
	size_t		 i, n = 5000;

	for (i = 0; i < nitems(ok); i++) {
		parse_ok(&r, ok[i].text);
		CU_ASSERT_EQUAL(r.wide_int, ok[i].wide);
	}
	for (i = 0; i < nitems(refused); i++)
		parse_refused(refused[i], strlen(refused[i]),
		    "beyond the range of a double");

	/* 5000 digits: as an integer beyond any double, as 0.000...1 not. */
	text = xmalloc(n + 16);
	memcpy(text, "{\"data\":", 8);
	memset(text + 8, '7', n);
	memcpy(text + 8 + n, "}", 2);
	parse_refused(text, strlen(text), "beyond the range of a double");
	memcpy(text + 8, "-0.", 3);
	parse_ok(&r, text);
	CU_ASSERT_EQUAL(r.data.raw_len, n);
	CU_ASSERT_EQUAL(r.wide_int, 0);
	/* 300 digits: within a double's range, beyond 64 bits. */
	memcpy(text + 8, "-777", 4);
	memcpy(text + 8 + 300, "}", 2);
	parse_ok(&r, text);
	CU_ASSERT_EQUAL(r.wide_int, 1);
	free(text);
}

static void
test_surrogates(void)
{
	static const char *const refused[] = {
		"{\"data\":\"\\ud800\"}",
		"{\"data\":\"\\uDBFF\"}",
		"{\"data\":\"\\udc00\"}",
		"{\"data\":\"x\\uDFFFy\"}",
		"{\"data\":\"\\ud800\\u0041\"}",
		"{\"data\":\"\\ud800\\ud800\"}",
		"{\"data\":\"\\udc00\\ud800\"}",
		"{\"data\":\"\\ud83d\\ude00\\ud83d\"}",
		"{\"data\":\"a\\\"b\\\\\\ud800\"}",
		"{\"data\":[{\"k\":[\"\\ud800\"]}]}",
		"{\"id\":\"\\ud800\"}",
		"{\"name\":\"\\udfff\",\"data\":1}",
		"{\"op\":\"\\ud800\"}",
		"{\"from\":{\"epoch\":\"\\ud800\"}}",
		"{\"data\":{\"\\ud800\":1}}",
		"{\"\\udc00\":1}",
	};
	struct req	 r;
	size_t		 i;

	for (i = 0; i < nitems(refused); i++)
		parse_refused(refused[i], strlen(refused[i]),
		    "lone surrogate");

	/* Pairs decode to one character, in either case of hex. */
	parse_ok(&r, "{\"id\":\"\\ud83d\\ude00\",\"data\":\"\\uD83D\\uDE00x\","
	    "\"name\":\"\\udbff\\udfff\"}");
	CU_ASSERT_TRUE(str_is(&r.id, "\xf0\x9f\x98\x80", 4));
	CU_ASSERT_TRUE(str_is(&r.data, "\xf0\x9f\x98\x80x", 5));
	CU_ASSERT_TRUE(str_is(&r.name, "\xf4\x8f\xbf\xbf", 4));
	CU_ASSERT_FALSE(r.channel_lossy);

	/* An escaped backslash before "ud800" is no escape at all. */
	parse_ok(&r, "{\"id\":\"\\\\ud800\",\"data\":{\"\\\\udc00\":1}}");
	CU_ASSERT_TRUE(str_is(&r.id, "\\ud800", 6));

	/* A channel name: parsed, and marked for a 40002. */
	parse_ok(&r, "{\"op\":\"publish\",\"channel\":\"sur\\ud800\","
	    "\"data\":1}");
	CU_ASSERT_TRUE(r.channel_lossy);
	/* A repeated member does not hide it. */
	parse_ok(&r, "{\"channel\":\"sur\\ud800\",\"channel\":\"sur\"}");
	CU_ASSERT_TRUE(r.channel_lossy);
	CU_ASSERT_TRUE(str_is(&r.channel, "sur", 3));
	/* ... but only the request's own channel member. */
	parse_refused("{\"data\":{\"channel\":\"\\ud800\"}}", 29,
	    "lone surrogate");
}

static void
test_nul(void)
{
	struct req	r;

	/* In a string value it is kept (id and name are refused later). */
	parse_ok(&r, "{\"data\":[\"a\\u0000b\"],\"name\":\"\\u0000\"}");
	CU_ASSERT_TRUE(raw_is(&r.data, "[\"a\\u0000b\"]"));
	CU_ASSERT_TRUE(str_is(&r.name, "\0", 1));
	/* In a key it is refused: jansson cannot hold such a key. */
	parse_refused("{\"data\":{\"a\\u0000\":1}}", 22, "\\u0000");
	parse_refused("{\"\\u0000\":1}", 12, "\\u0000");
}

static void
test_arena_grows(void)
{
	struct req	r;
	size_t		len = 100000, i;
	char		*text;

	parse_ok(&r, "{\"channel\":\"short\"}");
	CU_ASSERT_TRUE(str_is(&r.channel, "short", 5));

	/* A longer request than any before: its strings still fit. */
	text = xmalloc(len + 32);
	memcpy(text, "{\"channel\":\"", 12);
	for (i = 0; i < len; i++)
		text[12 + i] = (char)('a' + i % 26);
	memcpy(text + 12 + len, "\"}", 3);
	parse_ok(&r, text);
	CU_ASSERT_EQUAL(r.channel.len, len);
	CU_ASSERT_EQUAL(memcmp(r.channel.s, text + 12, len), 0);
	free(text);
}

static void
test_uint(void)
{
	static const struct {
		const char	*text;
		int		 rc;
		uint64_t	 n;
	} cases[] = {
		{ "{\"since\":0}", 0, 0 },
		{ "{\"since\":1763800000000}", 0, 1763800000000ULL },
		{ "{\"since\":18446744073709551615}", 0, UINT64_MAX },
		{ "{\"since\":18446744073709551616}", -1, 0 },
		{ "{\"since\":99999999999999999999999}", -1, 0 },
		{ "{\"since\":-1}", -1, 0 },
		{ "{\"since\":1.0}", -1, 0 },
		{ "{\"since\":1e3}", -1, 0 },
		{ "{\"since\":\"5\"}", -1, 0 },
		{ "{\"since\":null}", -1, 0 },
		{ "{}", -1, 0 },
	};
	struct req	r;
	uint64_t	n;
	size_t		i;

	for (i = 0; i < nitems(cases); i++) {
		parse_ok(&r, cases[i].text);
		n = 12345;
		CU_ASSERT_EQUAL(req_uint(&r.since, &n), cases[i].rc);
		if (cases[i].rc == 0)
			CU_ASSERT_EQUAL(n, cases[i].n);
	}
}

/* Run the req suite; exit non-zero if anything failed. */
int
main(void)
{
	static const struct cu_test tests[] = {
		{ "publish members", test_publish_members },
		{ "data spans of every kind", test_data_spans },
		{ "strings decoded, raw kept", test_strings_decoded },
		{ "from serial and epoch", test_from_position },
		{ "members only at the top level", test_members_only_at_top },
		{ "not an object", test_not_object },
		{ "malformed JSON refused", test_malformed },
		{ "at most 64 deep", test_depth },
		{ "numbers within a double's range", test_numbers },
		{ "no lone surrogates", test_surrogates },
		{ "\\u0000 in strings, not in keys", test_nul },
		{ "string arena grows", test_arena_grows },
		{ "non-negative integers", test_uint },
	};

	return (cu_run("req", tests, nitems(tests)));
}
