/*
 * Unit tests of the common library (src/common/): durations, the JSON
 * string escaping behind jbuf and jstr, the WebSocket accept key, the
 * monotonic clock and the /proc reader.
 */

#include "config.h"

#include <sys/types.h>

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <event2/buffer.h>
#include <jansson.h>

#include "common.h"
#include "cu_run.h"

/* Durations: a number and a unit, in milliseconds. */
static void
test_duration_good(void)
{
	static const struct {
		const char	*text;
		uint64_t	 ms;
	} cases[] = {
		{ "0s", 0 },
		{ "250ms", 250 },
		{ "30s", 30000 },
		{ "10m", 600000 },
		{ "2h", 7200000 },
		{ "1d", 86400000 },
		{ "007s", 7000 },
		{ "18446744073709551615ms", UINT64_MAX },
		{ "213503982334d", 213503982334ULL * 86400000 },
	};
	uint64_t	ms;
	size_t		i;

	for (i = 0; i < nitems(cases); i++) {
		ms = 12345;
		CU_ASSERT_EQUAL(duration_parse(cases[i].text, &ms), 0);
		CU_ASSERT_EQUAL(ms, cases[i].ms);
	}
}

/* Durations refused: no number, no unit, a wrong unit, too large. */
static void
test_duration_bad(void)
{
	static const char *const cases[] = {
		"", "10", "1x", "s", "ms", "-1s", "+1s", " 1s", "1s ", "1 s",
		"1.5s", "1S", "1sec", "1dd",
		"18446744073709551616ms",	/* past UINT64_MAX */
		"213503982335d",		/* fits, but not in ms */
		"99999999999999999999999s",
	};
	uint64_t	ms;
	size_t		i;

	CU_ASSERT_EQUAL(duration_parse(NULL, &ms), -1);
	for (i = 0; i < nitems(cases); i++) {
		ms = 12345;
		if (duration_parse(cases[i], &ms) != -1)
			fprintf(stderr, "accepted \"%s\"\n", cases[i]);
		CU_ASSERT_EQUAL(duration_parse(cases[i], &ms), -1);
		CU_ASSERT_EQUAL(ms, 12345);
	}
}

/* Escape s with jbuf_escape and jstr_escape; both must say want. */
static void
check_escape(const char *s, size_t len, const char *want)
{
	struct jbuf		 jb;
	struct evbuffer		*eb;
	const char		*text;
	size_t			 n, wlen = strlen(want);

	memset(&jb, 0, sizeof jb);
	jbuf_escape(&jb, s, len);
	text = jbuf_text(&jb, &n);
	CU_ASSERT(n == wlen && memcmp(text, want, n) == 0);
	if (n != wlen || memcmp(text, want, n) != 0)
		fprintf(stderr, "jbuf: %.*s, want %s\n", (int)n, text, want);
	jbuf_free(&jb);

	eb = evbuffer_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(eb);
	jstr_escape(eb, s, len);
	n = evbuffer_get_length(eb);
	text = (const char *)evbuffer_pullup(eb, -1);
	CU_ASSERT(n == wlen && memcmp(text, want, n) == 0);
	if (n != wlen || memcmp(text, want, n) != 0)
		fprintf(stderr, "jstr: %.*s, want %s\n", (int)n, text, want);
	evbuffer_free(eb);
}

/* The quote, the backslash and control characters are escaped. */
static void
test_escape_known(void)
{
	check_escape("", 0, "\"\"");
	check_escape("plain", 5, "\"plain\"");
	check_escape("a\"b\\c", 5, "\"a\\\"b\\\\c\"");
	check_escape("\n\r\t", 3, "\"\\n\\r\\t\"");
	check_escape("\x01\x08\x0c\x1f", 4, "\"\\u0001\\u0008\\u000c\\u001f\"");
	check_escape("x\x7fy", 3, "\"x\\u007fy\"");
	check_escape("a\0b", 3, "\"a\\u0000b\"");
	check_escape("/<>'", 4, "\"/<>'\"");
	check_escape("\"\"", 2, "\"\\\"\\\"\"");
	check_escape("end\\", 4, "\"end\\\\\"");
	/* UTF-8 passes as it is, whatever its length in bytes. */
	check_escape("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14,
	    "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
}

/* Every ASCII character reads back as itself through a JSON parser. */
static void
test_escape_round_trip(void)
{
	struct jbuf	 jb;
	json_error_t	 error;
	json_t		*j;
	char		 s[128];
	const char	*text;
	size_t		 n, i;

	for (i = 0; i < sizeof s; i++)
		s[i] = (char)i;
	memset(&jb, 0, sizeof jb);
	jbuf_escape(&jb, s, sizeof s);
	text = jbuf_text(&jb, &n);
	j = json_loadb(text, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &error);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT(json_is_string(j));
	CU_ASSERT_EQUAL(json_string_length(j), sizeof s);
	CU_ASSERT(memcmp(json_string_value(j), s, sizeof s) == 0);
	json_decref(j);
	jbuf_free(&jb);
}

/*
 * A string that needs no escape is copied in one piece: at every length
 * around the buffer's growth, after text already there, the buffer must
 * hold exactly the text before it and the quoted string.
 */
static void
test_escape_fast_path(void)
{
	struct jbuf	 jb;
	const char	*text;
	char		*s;
	size_t		 len, n, pre;

	s = xmalloc(1200);
	memset(s, 'a', 1200);
	memset(&jb, 0, sizeof jb);
	for (pre = 0; pre < 3; pre++) {
		for (len = 0; len < 1200; len++) {
			jbuf_reset(&jb);
			if (pre > 0)
				jbuf_add(&jb, "[[", pre);
			s[len / 2] = len % 3 == 0 ? '\n' : 'a';
			jbuf_escape(&jb, s, len);
			s[len / 2] = 'a';
			text = jbuf_text(&jb, &n);
			if (len % 3 == 0 && len > 0) {
				CU_ASSERT_EQUAL_FATAL(n, pre + len + 3);
			} else
				CU_ASSERT_EQUAL_FATAL(n, pre + len + 2);
			CU_ASSERT_FATAL(memcmp(text, "[[", pre) == 0);
			CU_ASSERT_FATAL(text[pre] == '"' && text[n - 1] == '"');
			CU_ASSERT_FATAL(jb.len <= jb.size);
		}
		jbuf_free(&jb);
	}
	/* From a zeroed buffer, with no reset. */
	jbuf_escape(&jb, "x", 1);
	text = jbuf_text(&jb, &n);
	CU_ASSERT(n == 3 && memcmp(text, "\"x\"", 3) == 0);
	jbuf_free(&jb);
	free(s);
}

/* RFC 6455's example: the key and the accept value it must give. */
static void
test_accept_key(void)
{
	char	out[WSKEY_ACCEPT_LEN + 1];

	memset(out, 'x', sizeof out);
	wskey_accept("dGhlIHNhbXBsZSBub25jZQ==", out);
	CU_ASSERT_STRING_EQUAL(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	wskey_accept("AAAAAAAAAAAAAAAAAAAAAA==", out);
	CU_ASSERT_EQUAL(strlen(out), WSKEY_ACCEPT_LEN);
	CU_ASSERT_STRING_NOT_EQUAL(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

/* The clock never goes back, and its two units agree. */
static void
test_mono(void)
{
	uint64_t	ns, prev = 0;
	int64_t		ms;
	int		i;

	for (i = 0; i < 1000; i++) {
		ns = mono_ns();
		CU_ASSERT(ns >= prev);
		prev = ns;
	}
	ms = mono_ms();
	ns = mono_ns();
	CU_ASSERT(ms >= 0);
	CU_ASSERT((uint64_t)ms <= ns / 1000000);
	CU_ASSERT(ns / 1000000 - (uint64_t)ms < 1000);
}

/* /proc/PID/status: this process, by pid or 0; a wrong name or pid. */
static void
test_proc(void)
{
	long	self, bypid;

	self = proc_status_kb(0, "VmRSS");
	bypid = proc_status_kb(getpid(), "VmRSS");
	CU_ASSERT(self > 0);
	CU_ASSERT(bypid > 0);
	CU_ASSERT(proc_status_kb(0, "RssAnon") > 0);
	CU_ASSERT(proc_status_kb(0, "VmRS") == -1);	/* a prefix only */
	CU_ASSERT(proc_status_kb(0, "NoSuchLine") == -1);
	CU_ASSERT(proc_status_kb(INT_MAX, "VmRSS") == -1);
}

int
main(void)
{
	static const struct cu_test tests[] = {
		{ "durations", test_duration_good },
		{ "durations refused", test_duration_bad },
		{ "JSON escapes, jbuf and jstr alike", test_escape_known },
		{ "JSON escapes read back", test_escape_round_trip },
		{ "JSON strings without escapes", test_escape_fast_path },
		{ "WebSocket accept key", test_accept_key },
		{ "monotonic clock", test_mono },
		{ "/proc status lines", test_proc },
	};

	return (cu_run("common", tests, nitems(tests)));
}
