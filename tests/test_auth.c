/*
 * Tests of the credentials library (src/auth/): strict base64,
 * capabilities (parsing, matching, intersection, whole-store admin), API
 * keys and Basic credentials, HS256 tokens (every refusal the verifier
 * must make, leeway edges, a known-answer token computed with openssl),
 * and `logwire token` run as the real binary, its output verified here.
 */

#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"

#define T_NOW		1700000100LL		/* test clock, Unix s */
#define T_NOW_MS	((uint64_t)T_NOW * 1000)
#define RUN_TIMEOUT	30			/* seconds for one logwire run */

#define K1_SECRET	"k1-secret-0123456789"
#define K2_SECRET	"k2-secret-0123456789"
#define KAT_SECRET	"known-answer-secret-0123"
#define K2_CAP		"{\"orders:*\":[\"subscribe\",\"history\"]," \
			"\"chat:*\":[\"publish\",\"subscribe\"]," \
			"\"*\":[\"admin\"]}"

/*
 * The known-answer tokens, computed outside this code with the openssl
 * command line (header and claims exactly as below, secret KAT_SECRET):
 *
 *   b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
 *   h=$(printf %s '{"alg":"HS256","typ":"JWT","kid":"kat"}' | b64url)
 *   c=$(printf %s "$CLAIMS" | b64url)
 *   s=$(printf %s "$h.$c" | openssl dgst -sha256 -hmac "$SECRET" \
 *       -binary | b64url)
 *   echo "$h.$c.$s"
 */
#define KAT_CLAIMS	"{\"sub\":\"alice\",\"iat\":1700000000," \
			"\"exp\":4102444800}"
#define KAT_TOKEN	"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImthdCJ9." \
	"eyJzdWIiOiJhbGljZSIsImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwfQ." \
	"Yi3QPPCZ_jd5aOQGcurLSxLhY894RfdN1ATPk7HbITQ"
#define KAT_CAP		"{\"orders:*\":[\"subscribe\"]}"
#define KAT_TOKEN_CAP	"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImthdCJ9." \
	"eyJzdWIiOiJhbGljZSIsImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJj" \
	"YXAiOnsib3JkZXJzOioiOlsic3Vic2NyaWJlIl19fQ." \
	"uEGsAznqcNfwERib278AB5Lr7R6i4DX7W_lBJmSjXao"

static const char b64_alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static struct apikey_list	 keys;
static struct apikey		*k1, *k2, *kat;
static char			 logwire_bin[4096];
static char			*tmproot;
static int			 nrefusals;

/* Return a new string from a format, or abort. */
static char *
tfmt(const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		abort();
	va_end(ap);
	return (s);
}

/*
 * Encode as unpadded base64url with OpenSSL's standard encoder and the
 * alphabet translated: independent of the library's own encoder.
 */
static char *
b64u(const void *buf, size_t len)
{
	char	*s;
	size_t	 i, n;

	s = malloc(4 * ((len + 2) / 3) + 1);
	if (s == NULL)
		abort();
	n = (size_t)EVP_EncodeBlock((unsigned char *)s, buf, (int)len);
	while (n > 0 && s[n - 1] == '=')
		n--;
	s[n] = '\0';
	for (i = 0; i < n; i++) {
		if (s[i] == '+')
			s[i] = '-';
		else if (s[i] == '/')
			s[i] = '_';
	}
	return (s);
}

/* Return the base64url HMAC-SHA256 of text under secret. */
static char *
mac_of(const char *text, const char *secret)
{
	unsigned char	mac[32];
	unsigned int	len = sizeof mac;

	if (HMAC(EVP_sha256(), secret, (int)strlen(secret),
	    (const unsigned char *)text, strlen(text), mac, &len) == NULL)
		abort();
	return (b64u(mac, len));
}

/* Build a token from header and claims text, signed with secret. */
static char *
mk(const char *header, const char *claims, const char *secret)
{
	char	*h, *c, *hc, *s, *t;

	h = b64u(header, strlen(header));
	c = b64u(claims, strlen(claims));
	hc = tfmt("%s.%s", h, c);
	s = mac_of(hc, secret);
	t = tfmt("%s.%s", hc, s);
	free(h);
	free(c);
	free(hc);
	free(s);
	return (t);
}

/* A header for key kid. */
static char *
hdr(const char *kid)
{
	return (tfmt("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", kid));
}

/* Claims sub, iat = now - 100, exp = now + 3600, and more text. */
static char *
claims(const char *more)
{
	return (tfmt("{\"sub\":\"alice\",\"iat\":%lld,\"exp\":%lld%s}",
	    T_NOW - 100, T_NOW + 3600, more));
}

/* A valid token of k1 with extra claims text. */
static char *
good_k1(const char *more)
{
	char	*h = hdr("k1"), *c = claims(more), *t;

	t = mk(h, c, K1_SECRET);
	free(h);
	free(c);
	return (t);
}

/* Return whether needle (at least 8 bytes of it) appears in hay. */
static int
leaks(const char *hay, const char *needle, size_t len)
{
	size_t	i;

	if (len < 8)
		return (0);
	for (i = 0; hay[i] != '\0'; i++) {
		if (strlen(hay + i) >= len && memcmp(hay + i, needle, len) == 0)
			return (1);
	}
	return (0);
}

/*
 * Check that a cause is one line and leaks no secret and no part of the
 * token (each dot-separated part of at least 8 characters).
 */
static void
check_cause(const char *cause, const char *tok, size_t len)
{
	const char	*p, *dot, *end = tok + len;

	CU_ASSERT_FATAL(cause != NULL);
	CU_ASSERT(*cause != '\0');
	CU_ASSERT(strchr(cause, '\n') == NULL);
	CU_ASSERT(strstr(cause, K1_SECRET) == NULL);
	CU_ASSERT(strstr(cause, K2_SECRET) == NULL);
	CU_ASSERT(strstr(cause, KAT_SECRET) == NULL);
	for (p = tok; tok != NULL && p < end; p = dot + 1) {
		if ((dot = memchr(p, '.', end - p)) == NULL)
			dot = end;
		if (leaks(cause, p, dot - p)) {
			fprintf(stderr, "\n  cause \"%s\" shows the token\n",
			    cause);
			CU_FAIL("cause shows the token");
		}
	}
}

/* Verify len bytes at now_ms with leeway; expect error want. */
static void
refuse_at(const char *what, const char *tok, size_t len, uint64_t now_ms,
    unsigned int leeway, int want)
{
	struct token_claims	 tc;
	char			*cause = NULL;
	int			 rc;

	rc = token_verify(tok, len, apikey_lookup, &keys, now_ms, leeway, &tc,
	    &cause);
	if (rc != want) {
		fprintf(stderr, "\n  %s: expected \"%s\", got \"%s\" (%s)\n",
		    what, auth_strerror(want), auth_strerror(rc),
		    cause != NULL ? cause : "no cause");
		CU_FAIL("token refused for the right reason");
	}
	if (rc != 0) {
		check_cause(cause, tok, len);
		CU_ASSERT(tc.sub == NULL && tc.kid == NULL && tc.cap == NULL &&
		    tc.key == NULL && tc.exp_ms == 0);
	} else
		token_claims_free(&tc);
	free(cause);
	nrefusals++;
}

/* Expect a NUL-terminated token refused at T_NOW without leeway. */
static void
refuse(const char *what, const char *tok, int want)
{
	refuse_at(what, tok, strlen(tok), T_NOW_MS, 0, want);
}

/* Verify a token that must be accepted; the caller frees *tc. */
static void
accept_at(const char *what, const char *tok, uint64_t now_ms,
    unsigned int leeway, struct token_claims *tc)
{
	char	*cause = NULL;
	int	 rc;

	rc = token_verify(tok, strlen(tok), apikey_lookup, &keys, now_ms,
	    leeway, tc, &cause);
	if (rc != 0) {
		fprintf(stderr, "\n  %s: refused: %s (%s)\n", what,
		    auth_strerror(rc), cause);
		CU_FAIL("valid token accepted");
	}
	CU_ASSERT(cause == NULL);
	free(cause);
}

/* Parse capability text that must be valid. */
static struct cap *
cap_ok(const char *text)
{
	struct cap	*c = NULL;
	char		*cause = NULL;

	if (cap_parse(text, strlen(text), &c, &cause) != 0) {
		fprintf(stderr, "\n  %s: %s\n", text, cause);
		CU_FAIL("capability parsed");
	}
	free(cause);
	return (c);
}

/* Parse capability text that must be refused with a one-line cause. */
static void
cap_bad(const char *text)
{
	struct cap	*c = NULL;
	char		*cause = NULL;

	if (cap_parse(text, strlen(text), &c, &cause) != AUTH_EINVAL) {
		fprintf(stderr, "\n  accepted: %s\n", text);
		CU_FAIL("bad capability refused");
	}
	CU_ASSERT(c == NULL);
	CU_ASSERT(cause != NULL && strchr(cause, '\n') == NULL);
	free(cause);
	cap_free(c);
}

/* Shorthand: may c do op on the NUL-terminated channel name? */
static int
may(const struct cap *c, unsigned int op, const char *name)
{
	return (cap_allows(c, op, name, strlen(name)));
}

/* Shorthand for cap_match on NUL-terminated strings. */
static int
m(const char *pattern, const char *name)
{
	return (cap_match(pattern, strlen(pattern), name, strlen(name)));
}

/* base64url round trips for every length, and refuses every sloppiness. */
static void
test_b64(void)
{
	unsigned char	 buf[64], out[64];
	char		*enc, *ref;
	size_t		 len, n, i;

	for (i = 0; i < sizeof buf; i++)
		buf[i] = (unsigned char)(i * 37 + 11);
	for (len = 0; len <= 48; len++) {
		enc = b64_url_encode(buf, len);
		ref = b64u(buf, len);
		CU_ASSERT_STRING_EQUAL(enc, ref);
		CU_ASSERT(b64_url_decode(enc, strlen(enc), out, &n) == 0);
		CU_ASSERT(n == len && memcmp(out, buf, len) == 0);
		free(enc);
		free(ref);
	}
	CU_ASSERT(b64_url_decode("_-8", 3, out, &n) == 0 && n == 2 &&
	    out[0] == 0xff && out[1] == 0xef);
	CU_ASSERT(b64_url_decode("QQ", 2, out, &n) == 0 && n == 1 &&
	    out[0] == 'A');
	CU_ASSERT(b64_url_decode("QR", 2, out, &n) == -1);	/* bits */
	CU_ASSERT(b64_url_decode("QUI", 3, out, &n) == 0);
	CU_ASSERT(b64_url_decode("QUJ", 3, out, &n) == -1);	/* bits */
	CU_ASSERT(b64_url_decode("QQ==", 4, out, &n) == -1);	/* padding */
	CU_ASSERT(b64_url_decode("QUI=", 4, out, &n) == -1);
	CU_ASSERT(b64_url_decode("Q", 1, out, &n) == -1);	/* length */
	CU_ASSERT(b64_url_decode("QUJD+w", 6, out, &n) == -1);	/* std */
	CU_ASSERT(b64_url_decode("QUJD/w", 6, out, &n) == -1);
	CU_ASSERT(b64_url_decode("QU JD", 5, out, &n) == -1);
	CU_ASSERT(b64_url_decode(" QUJD", 5, out, &n) == -1);
	CU_ASSERT(b64_url_decode("QUJD\n", 5, out, &n) == -1);
	CU_ASSERT(b64_url_decode("QU\0D", 4, out, &n) == -1);

	CU_ASSERT(b64_decode("QUJD", 4, out, &n) == 0 && n == 3);
	CU_ASSERT(b64_decode("QQ==", 4, out, &n) == 0 && n == 1);
	CU_ASSERT(b64_decode("QUI=", 4, out, &n) == 0 && n == 2);
	CU_ASSERT(b64_decode("+/8=", 4, out, &n) == 0 && n == 2 &&
	    out[0] == 0xfb && out[1] == 0xff);
	CU_ASSERT(b64_decode("QQ", 2, out, &n) == -1);		/* no padding */
	CU_ASSERT(b64_decode("QR==", 4, out, &n) == -1);	/* bits */
	CU_ASSERT(b64_decode("Q===", 4, out, &n) == -1);
	CU_ASSERT(b64_decode("====", 4, out, &n) == -1);
	CU_ASSERT(b64_decode("Q=Q=", 4, out, &n) == -1);
	CU_ASSERT(b64_decode("QQ==QUJD", 8, out, &n) == -1);
	CU_ASSERT(b64_decode("-_8=", 4, out, &n) == -1);	/* url */
	CU_ASSERT(b64_decode("", 0, out, &n) == 0 && n == 0);
}

/* Capability JSON: what is refused, and what is valid but grants nothing. */
static void
test_cap_parse(void)
{
	struct cap	*c;
	char		*text, *p;
	size_t		 i;

	cap_bad("");
	cap_bad("nope");
	cap_bad("[]");
	cap_bad("\"*\"");
	cap_bad("{\"*\":[\"publish\"]} x");
	cap_bad("{\"*\":\"publish\"}");			/* not an array */
	cap_bad("{\"*\":null}");
	cap_bad("{\"*\":{\"publish\":true}}");
	cap_bad("{\"*\":[1]}");				/* not a string */
	cap_bad("{\"*\":[[\"publish\"]]}");
	cap_bad("{\"*\":[\"publish\",\"delete\"]}");	/* unknown op */
	cap_bad("{\"*\":[\"Publish\"]}");
	cap_bad("{\"*\":[\"publish \"]}");
	cap_bad("{\"\":[\"publish\"]}");		/* empty pattern */
	cap_bad("{\"a\":[\"publish\"],\"a\":[\"history\"]}");	/* dup */
	cap_bad("{\"a\\u0000b\":[\"publish\"]}");
	cap_bad("{\"a\\nb\":[\"nope\"]}");		/* cause one line */

	/* Limits: pattern length, number of patterns, text size. */
	p = malloc(CAP_PATTERN_MAX + 2);
	memset(p, 'x', CAP_PATTERN_MAX + 1);
	p[CAP_PATTERN_MAX + 1] = '\0';
	text = tfmt("{\"%s\":[\"publish\"]}", p);
	cap_bad(text);
	free(text);
	p[CAP_PATTERN_MAX] = '\0';
	text = tfmt("{\"%s\":[\"publish\"]}", p);
	c = cap_ok(text);
	CU_ASSERT(may(c, CAP_PUBLISH, p));
	cap_free(c);
	free(text);
	free(p);
	text = strdup("{");
	for (i = 0; i <= CAP_MAX_RULES; i++) {
		p = tfmt("%s\"c%zu\":[]%s", text, i,
		    i == CAP_MAX_RULES ? "}" : ",");
		free(text);
		text = p;
	}
	cap_bad(text);
	free(text);

	/* Valid and empty: grants nothing. */
	c = cap_ok("{}");
	CU_ASSERT(!may(c, CAP_SUBSCRIBE, "a"));
	CU_ASSERT(!cap_allows_store(c, CAP_ADMIN));
	cap_free(c);
	c = cap_ok("{\"*\":[]}");
	CU_ASSERT(!may(c, CAP_PUBLISH, "a"));
	cap_free(c);
	c = cap_ok(" { \"a\" : [ \"publish\" , \"publish\" ] } ");
	CU_ASSERT(may(c, CAP_PUBLISH, "a"));
	CU_ASSERT(!may(c, CAP_SUBSCRIBE, "a"));
	cap_free(c);

	CU_ASSERT(cap_op("admin", 5) == CAP_ADMIN);
	CU_ASSERT(cap_op("admi", 4) == 0);
	CU_ASSERT(cap_op("adminx", 6) == 0);
	CU_ASSERT_STRING_EQUAL(cap_op_name(CAP_HISTORY), "history");
	CU_ASSERT(cap_op_name(CAP_PUBLISH | CAP_ADMIN) == NULL);
}

/* Patterns: `*` matches any run, everything else itself. */
static void
test_cap_match(void)
{
	CU_ASSERT(m("*", "a"));
	CU_ASSERT(m("*", "orders:1"));
	CU_ASSERT(m("*", ""));
	CU_ASSERT(m("**", "abc"));
	CU_ASSERT(m("a*", "a"));
	CU_ASSERT(m("a*", "abc"));
	CU_ASSERT(!m("a*", "ba"));
	CU_ASSERT(!m("a*", ""));
	CU_ASSERT(m("*b", "b"));
	CU_ASSERT(m("*b", "aab"));
	CU_ASSERT(!m("*b", "ba"));
	CU_ASSERT(m("a*b*c", "abc"));
	CU_ASSERT(m("a*b*c", "aXbYc"));
	CU_ASSERT(m("a*b*c", "abbbcbc"));
	CU_ASSERT(m("a*b*c", "acbc"));
	CU_ASSERT(!m("a*b*c", "acb"));
	CU_ASSERT(!m("a*b*c", "bc"));
	CU_ASSERT(!m("a*b*c", "abcx"));
	CU_ASSERT(m("orders", "orders"));
	CU_ASSERT(!m("orders", "orders:1"));
	CU_ASSERT(!m("orders", "order"));
	CU_ASSERT(!m("orders", "Orders"));
	CU_ASSERT(m("orders:*", "orders:"));
	CU_ASSERT(m("orders:*", "orders:eu:1"));
	CU_ASSERT(!m("orders:*", "orders"));
	CU_ASSERT(m("*:*", "a:b"));
	CU_ASSERT(!m("*:*", "ab"));
	CU_ASSERT(m("a*a", "aa"));
	CU_ASSERT(!m("a*a", "a"));
	CU_ASSERT(m("*a*a*", "xaxax"));
	CU_ASSERT(!m("*a*a*", "xax"));
	CU_ASSERT(m("", ""));
	CU_ASSERT(!m("", "a"));
	/* A name's `*` is an ordinary byte: only a pattern `*` covers it. */
	CU_ASSERT(m("a*", "a*"));
	CU_ASSERT(!m("ab", "a*"));
	CU_ASSERT(cap_match("a\0b", 3, "a\0b", 3));
	CU_ASSERT(!cap_match("a\0b", 3, "a\0c", 3));
}

/*
 * Match patterns that make a backtracking matcher exponential against a
 * long name; return 0 if every answer is right.
 */
static int
pathological(void)
{
	char	*name;
	size_t	 n = 200000, i;
	int	 bad = 0;

	if ((name = malloc(n + 2)) == NULL)
		return (1);
	memset(name, 'a', n);
	name[n] = '\0';
	for (i = 0; i < 10; i++) {
		bad |= m("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", name);
		bad |= m("*a*a*a*a*a*a*b*", name);
		bad |= m("a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*ab", name);
	}
	name[n] = 'b';
	name[n + 1] = '\0';
	bad |= !m("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", name);
	bad |= !m("*a*a*a*a*a*a*b*", name);
	free(name);
	return (bad);
}

/*
 * Pathological patterns are answered, right, at once: run in a child
 * killed after a generous 10 s (an exponential matcher takes years), so
 * that a regression fails instead of hanging make check.
 */
static void
test_cap_pathological(void)
{
	pid_t	pid;
	int	st;

	if ((pid = fork()) == -1)
		abort();
	if (pid == 0) {
		alarm(10);
		_exit(pathological());
	}
	CU_ASSERT_FATAL(waitpid(pid, &st, 0) == pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "\n  pathological patterns: %s\n",
		    WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM ?
		    "still matching after 10 s" : "wrong answer");
		CU_FAIL("pathological patterns matched in time");
	}
}

/*
 * The capability matrix of DESIGN.md's example key: each operation on an
 * allowed and a forbidden channel, and what admin means.
 */
static void
test_cap_matrix(void)
{
	static const struct {
		const char	*chan;
		unsigned int	 ops;	/* allowed */
	} rows[] = {
		{ "orders:1",	CAP_SUBSCRIBE|CAP_HISTORY|CAP_ADMIN },
		{ "orders:",	CAP_SUBSCRIBE|CAP_HISTORY|CAP_ADMIN },
		{ "orders",	CAP_ADMIN },
		{ "chat:room",	CAP_PUBLISH|CAP_SUBSCRIBE|CAP_ADMIN },
		{ "chat",	CAP_ADMIN },
		{ "audit",	CAP_ADMIN },
		{ "xorders:1",	CAP_ADMIN },
		{ "$sys",	CAP_ADMIN }
	};
	struct cap	*c, *all, *pub;
	size_t		 i;
	unsigned int	 op;

	c = cap_ok(K2_CAP);
	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		for (op = 1; op <= CAP_ADMIN; op <<= 1) {
			if (may(c, op, rows[i].chan) !=
			    ((rows[i].ops & op) != 0)) {
				fprintf(stderr, "\n  %s on %s: expected %s\n",
				    cap_op_name(op), rows[i].chan,
				    (rows[i].ops & op) ? "allowed" :
				    "forbidden");
				CU_FAIL("capability matrix");
			}
		}
	}
	/* No channel: the empty name, or an operation that is not one bit. */
	CU_ASSERT(!cap_allows(c, CAP_ADMIN, "", 0));
	CU_ASSERT(!may(c, CAP_SUBSCRIBE | CAP_HISTORY, "orders:1"));
	CU_ASSERT(!may(c, 0, "orders:1"));
	CU_ASSERT(!may(NULL, CAP_ADMIN, "orders:1"));
	/* admin on `*` is admin over the whole store. */
	CU_ASSERT(cap_allows_store(c, CAP_ADMIN));
	CU_ASSERT(!cap_allows_store(c, CAP_SUBSCRIBE));
	cap_free(c);

	c = cap_ok("{\"orders:*\":[\"admin\"],\"*x\":[\"admin\"]}");
	CU_ASSERT(may(c, CAP_ADMIN, "orders:1"));
	CU_ASSERT(!cap_allows_store(c, CAP_ADMIN));
	cap_free(c);
	c = cap_ok("{\"**\":[\"admin\"]}");
	CU_ASSERT(cap_allows_store(c, CAP_ADMIN));
	cap_free(c);

	all = cap_all();
	for (op = 1; op <= CAP_ADMIN; op <<= 1) {
		CU_ASSERT(may(all, op, "anything"));
		CU_ASSERT(cap_allows_store(all, op));
	}
	CU_ASSERT(!cap_allows(all, CAP_PUBLISH, "", 0));
	pub = cap_ok("{\"*\":[\"publish\"]}");
	CU_ASSERT(may(pub, CAP_PUBLISH, "x"));
	CU_ASSERT(!may(pub, CAP_ADMIN, "x"));
	CU_ASSERT(!cap_allows_store(pub, CAP_ADMIN));
	cap_free(pub);
	cap_free(all);
}

/*
 * Intersection: allowed iff both allow, kept valid after its operands
 * are freed; cap_covers says yes only when it is true.
 */
static void
test_cap_intersect(void)
{
	struct cap	*key, *tok, *eff, *eff2, *none;

	key = cap_ok("{\"orders:*\":[\"publish\",\"subscribe\"],"
	    "\"*\":[\"history\"]}");
	tok = cap_ok("{\"*\":[\"publish\",\"admin\"],"
	    "\"orders:1\":[\"subscribe\"],\"chat:*\":[\"history\"]}");
	eff = cap_intersect(key, tok);
	eff2 = cap_intersect(eff, eff);
	cap_free(key);
	cap_free(tok);
	CU_ASSERT(may(eff, CAP_PUBLISH, "orders:5"));	/* both */
	CU_ASSERT(!may(eff, CAP_PUBLISH, "chat:1"));	/* token only */
	CU_ASSERT(!may(eff, CAP_ADMIN, "orders:5"));	/* token only */
	CU_ASSERT(!cap_allows_store(eff, CAP_ADMIN));
	CU_ASSERT(may(eff, CAP_SUBSCRIBE, "orders:1"));
	CU_ASSERT(!may(eff, CAP_SUBSCRIBE, "orders:5"));	/* key only */
	CU_ASSERT(may(eff, CAP_HISTORY, "chat:1"));
	CU_ASSERT(!may(eff, CAP_HISTORY, "orders:1"));	/* key only */
	CU_ASSERT(may(eff2, CAP_PUBLISH, "orders:5"));
	CU_ASSERT(!may(eff2, CAP_PUBLISH, "chat:1"));
	cap_free(eff);
	CU_ASSERT(may(eff2, CAP_SUBSCRIBE, "orders:1"));
	cap_free(eff2);

	key = cap_ok("{\"a*\":[\"publish\"],\"ab*\":[\"subscribe\"],"
	    "\"*\":[\"admin\"]}");
	tok = cap_ok("{\"ab*\":[\"publish\",\"subscribe\"]}");
	CU_ASSERT(cap_covers(key, tok));
	cap_free(tok);
	tok = cap_ok("{\"a*\":[\"subscribe\"]}");	/* wider than ab* */
	CU_ASSERT(!cap_covers(key, tok));
	cap_free(tok);
	tok = cap_ok("{\"*x*\":[\"publish\"]}");
	CU_ASSERT(!cap_covers(key, tok));
	cap_free(tok);
	tok = cap_ok("{\"a*x*\":[\"publish\"],\"zz\":[\"admin\"]}");
	CU_ASSERT(cap_covers(key, tok));
	cap_free(tok);
	none = cap_ok("{}");
	CU_ASSERT(cap_covers(key, none));
	CU_ASSERT(!cap_covers(none, key));
	/* An intersection is covered when one of its sets is. */
	tok = cap_ok("{\"*\":[\"publish\"]}");
	eff = cap_intersect(tok, none);
	CU_ASSERT(cap_covers(key, eff));
	cap_free(eff);
	cap_free(tok);
	cap_free(none);
	/* The documented blind spot: a union covering what no rule does. */
	tok = cap_ok("{\"a*\":[\"admin\"]}");
	eff = cap_ok("{\"a\":[\"admin\"],\"a?*\":[\"admin\"]}");
	CU_ASSERT(!cap_covers(eff, tok));
	cap_free(eff);
	cap_free(tok);
	cap_free(key);
}

/* API keys: NAME:SECRET[:CAPABILITY] and every way it can be wrong. */
static void
test_apikey_parse(void)
{
	static const char *bad[] = {
		"",
		"nocolon",
		":" K1_SECRET,				/* empty name */
		"a b:" K1_SECRET,			/* space in name */
		"a\tb:" K1_SECRET,
		"k:",					/* empty secret */
		"k:0123456789abcde",			/* 15 bytes */
		"k:0123456789 abcdef",			/* space */
		"k:0123456789\001abcdef",
		"k:" K1_SECRET ":",			/* empty capability */
		"k:" K1_SECRET ":{\"*\":[\"write\"]}",
		"k:" K1_SECRET ":[]",
		"k:" K1_SECRET ":{\"*\":[\"publish\"]}x"
	};
	struct apikey	*k;
	char		*cause, *spec, *name;
	size_t		 i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		k = NULL;
		cause = NULL;
		if (apikey_parse(bad[i], &k, &cause) != AUTH_EINVAL) {
			fprintf(stderr, "\n  accepted key \"%s\"\n", bad[i]);
			CU_FAIL("bad key refused");
		}
		CU_ASSERT(k == NULL);
		CU_ASSERT(cause != NULL && strchr(cause, '\n') == NULL &&
		    strstr(cause, K1_SECRET) == NULL &&
		    strstr(cause, "0123456789") == NULL);
		free(cause);
	}

	CU_ASSERT_FATAL(apikey_parse("k:0123456789abcdef", &k, &cause) == 0);
	CU_ASSERT_STRING_EQUAL(k->name, "k");
	CU_ASSERT_STRING_EQUAL(k->secret, "0123456789abcdef");
	CU_ASSERT(k->secret_len == 16);
	CU_ASSERT(cap_allows_store(k->cap, CAP_ADMIN));
	CU_ASSERT(may(k->cap, CAP_PUBLISH, "x"));
	apikey_free(k);

	CU_ASSERT_FATAL(apikey_parse("reader:" K1_SECRET
	    ":{\"a:*\":[\"history\"]}", &k, &cause) == 0);
	CU_ASSERT(may(k->cap, CAP_HISTORY, "a:1"));
	CU_ASSERT(!may(k->cap, CAP_PUBLISH, "a:1"));
	CU_ASSERT(!cap_allows_store(k->cap, CAP_ADMIN));
	apikey_free(k);

	/* The longest name, and one byte more. */
	name = malloc(APIKEY_NAME_MAX + 2);
	memset(name, 'n', APIKEY_NAME_MAX + 1);
	name[APIKEY_NAME_MAX] = '\0';
	spec = tfmt("%s:%s", name, K1_SECRET);
	CU_ASSERT(apikey_parse(spec, &k, &cause) == 0);
	apikey_free(k);
	free(spec);
	name[APIKEY_NAME_MAX] = 'n';
	name[APIKEY_NAME_MAX + 1] = '\0';
	spec = tfmt("%s:%s", name, K1_SECRET);
	cause = NULL;
	CU_ASSERT(apikey_parse(spec, &k, &cause) == AUTH_EINVAL);
	free(cause);
	free(spec);
	free(name);
	apikey_free(NULL);
}

/* Check one Authorization value: expect want and, on success, key. */
static void
basic(const char *value, int want, const struct apikey *key)
{
	const struct apikey	*k = (const struct apikey *)1;
	char			*cause = NULL;
	int			 rc;

	rc = apikey_basic(value, &keys, &k, &cause);
	if (rc != want) {
		fprintf(stderr, "\n  \"%s\": expected %d, got %d (%s)\n",
		    value, want, rc, cause != NULL ? cause : "");
		CU_FAIL("Basic credentials");
	}
	if (rc == 0) {
		CU_ASSERT(k == key && cause == NULL);
	} else {
		CU_ASSERT(k == NULL);
		CU_ASSERT(cause != NULL && strchr(cause, '\n') == NULL &&
		    strstr(cause, "secret-0123") == NULL);
	}
	free(cause);
}

/* Basic credentials: base64 of NAME:SECRET, checked against the keys. */
static void
test_apikey_basic(void)
{
	char	*v;

	/* printf %s 'k1:k1-secret-0123456789' | base64, and so on. */
	basic("Basic azE6azEtc2VjcmV0LTAxMjM0NTY3ODk=", 0, k1);
	basic("basic   azE6azEtc2VjcmV0LTAxMjM0NTY3ODk=  ", 0, k1);
	basic("  BASIC\tazE6azEtc2VjcmV0LTAxMjM0NTY3ODk=", 0, k1);
	basic("Basic azI6azItc2VjcmV0LTAxMjM0NTY3ODk=", 0, k2);

	basic("Basic azE6azEtc2VjcmV0LTAxMjM0NTY3ODk", AUTH_EINVAL, NULL);
	basic("Basic azE6azEtc2VjcmV0LTAxMjM0NTY3ODk==", AUTH_EINVAL, NULL);
	basic("Basic azE6azEtc2VjcmV0LTAxMjM0NTY3OD*=", AUTH_EINVAL, NULL);
	basic("Basic azFrMS1zZWNyZXQtMDEyMzQ1Njc4OQ==", AUTH_EINVAL,
	    NULL);					/* no ':' */
	basic("Basic", AUTH_EINVAL, NULL);
	basic("Basic ", AUTH_EINVAL, NULL);
	basic("Basicx azE6azEtc2VjcmV0LTAxMjM0NTY3ODk=", AUTH_EINVAL, NULL);
	basic("Bearer azE6azEtc2VjcmV0LTAxMjM0NTY3ODk=", AUTH_EINVAL, NULL);
	basic("", AUTH_EINVAL, NULL);

	/* k1 with k2's secret, with its own cut short or longer; k9. */
	basic("Basic azE6azItc2VjcmV0LTAxMjM0NTY3ODk=", AUTH_EDENIED, NULL);
	basic("Basic azE6azEtc2VjcmV0LTAxMjM0NTY3OA==", AUTH_EDENIED, NULL);
	basic("Basic azE6azEtc2VjcmV0LTAxMjM0NTY3ODl4", AUTH_EDENIED, NULL);
	basic("Basic azk6azEtc2VjcmV0LTAxMjM0NTY3ODk=", AUTH_EDENIED, NULL);
	basic("Basic OmsxLXNlY3JldC0wMTIzNDU2Nzg5", AUTH_EDENIED, NULL);
	basic("Basic azE6", AUTH_EDENIED, NULL);

	/* Too long to be any key's: refused before decoding. */
	v = malloc(8000);
	memcpy(v, "Basic ", 6);
	memset(v + 6, 'Q', 7990);
	v[7996] = '\0';
	basic(v, AUTH_EINVAL, NULL);
	free(v);
}

/*
 * The known-answer tokens: openssl's (computed as described above) verify,
 * and token_sign makes exactly the same bytes.
 */
static void
test_token_kat(void)
{
	struct token_claims	 tc;
	char			*tok, *cause = NULL, *h;

	accept_at("KAT", KAT_TOKEN, T_NOW_MS, 0, &tc);
	CU_ASSERT_STRING_EQUAL(tc.sub, "alice");
	CU_ASSERT_STRING_EQUAL(tc.kid, "kat");
	CU_ASSERT(tc.key == kat);
	CU_ASSERT(tc.exp_ms == 4102444800000ULL);
	CU_ASSERT(may(tc.cap, CAP_PUBLISH, "anything"));
	token_claims_free(&tc);

	CU_ASSERT(token_sign(kat, "alice", 1700000000, 4102444800LL, NULL,
	    &tok, &cause) == 0);
	CU_ASSERT_STRING_EQUAL(tok, KAT_TOKEN);
	free(tok);

	accept_at("KAT with cap", KAT_TOKEN_CAP, T_NOW_MS, 0, &tc);
	CU_ASSERT(may(tc.cap, CAP_SUBSCRIBE, "orders:1"));
	CU_ASSERT(!may(tc.cap, CAP_PUBLISH, "orders:1"));
	CU_ASSERT(!may(tc.cap, CAP_SUBSCRIBE, "chat"));
	token_claims_free(&tc);
	CU_ASSERT(token_sign(kat, "alice", 1700000000, 4102444800LL, KAT_CAP,
	    &tok, &cause) == 0);
	CU_ASSERT_STRING_EQUAL(tok, KAT_TOKEN_CAP);
	free(tok);

	/* The test's own signer agrees with openssl too. */
	h = hdr("kat");
	tok = mk(h, KAT_CLAIMS, KAT_SECRET);
	CU_ASSERT_STRING_EQUAL(tok, KAT_TOKEN);
	free(tok);
	free(h);
}

/* token_sign then token_verify: what went in comes out. */
static void
test_token_roundtrip(void)
{
	struct token_claims	 tc;
	char			*tok, *cause = NULL;

	CU_ASSERT_FATAL(token_sign(k2, "svc-7", T_NOW, T_NOW + 60,
	    "{\"orders:eu:*\":[\"history\",\"publish\"]}", &tok,
	    &cause) == 0);
	accept_at("round trip", tok, T_NOW_MS, 0, &tc);
	CU_ASSERT_STRING_EQUAL(tc.sub, "svc-7");
	CU_ASSERT_STRING_EQUAL(tc.kid, "k2");
	CU_ASSERT(tc.key == k2);
	CU_ASSERT(tc.exp_ms == (uint64_t)(T_NOW + 60) * 1000);
	/* history: both; publish: the key has no publish on orders. */
	CU_ASSERT(may(tc.cap, CAP_HISTORY, "orders:eu:1"));
	CU_ASSERT(!may(tc.cap, CAP_HISTORY, "orders:us:1"));
	CU_ASSERT(!may(tc.cap, CAP_PUBLISH, "orders:eu:1"));
	CU_ASSERT(!may(tc.cap, CAP_ADMIN, "orders:eu:1"));
	token_claims_free(&tc);
	free(tok);

	/* Without a cap claim the key's capability applies as it is. */
	CU_ASSERT_FATAL(token_sign(k2, "svc-7", T_NOW, T_NOW + 60, NULL, &tok,
	    &cause) == 0);
	accept_at("round trip, no cap", tok, T_NOW_MS, 0, &tc);
	CU_ASSERT(may(tc.cap, CAP_PUBLISH, "chat:1"));
	CU_ASSERT(!may(tc.cap, CAP_PUBLISH, "orders:1"));
	CU_ASSERT(cap_allows_store(tc.cap, CAP_ADMIN));
	token_claims_free(&tc);
	free(tok);

	/* What token_sign refuses. */
	CU_ASSERT(token_sign(k1, "", T_NOW, T_NOW + 60, NULL, &tok,
	    &cause) == AUTH_EINVAL && tok == NULL);
	free(cause);
	CU_ASSERT(token_sign(k1, "a\nb", T_NOW, T_NOW + 60, NULL, &tok,
	    &cause) == AUTH_EINVAL);
	free(cause);
	CU_ASSERT(token_sign(k1, "a", T_NOW, T_NOW, NULL, &tok,
	    &cause) == AUTH_EINVAL);
	free(cause);
	CU_ASSERT(token_sign(k1, "a", T_NOW, TOKEN_TIME_MAX + 1, NULL, &tok,
	    &cause) == AUTH_EINVAL);
	free(cause);
	CU_ASSERT(token_sign(k1, "a", T_NOW, T_NOW + 1, "{\"*\":[\"x\"]}",
	    &tok, &cause) == AUTH_EINVAL);
	free(cause);
}

/*
 * The refusals: algorithm, MAC, shape, JSON, claims and times, each with
 * its own code, and a cause that shows neither token nor secret.
 */
static void
test_token_refusals(void)
{
	char	*h, *c, *t, *t2, *big, *p;
	size_t	 len;

	/* Algorithms other than HS256, even with a valid HMAC. */
	c = claims("");
	t = mk("{\"alg\":\"none\",\"typ\":\"JWT\",\"kid\":\"k1\"}", c,
	    K1_SECRET);
	refuse("alg none", t, AUTH_EALG);
	*(strrchr(t, '.') + 1) = '\0';			/* "h.c." */
	refuse("alg none, no signature", t, AUTH_EFORMAT);
	free(t);
	t = mk("{\"alg\":\"HS512\",\"kid\":\"k1\"}", c, K1_SECRET);
	refuse("alg HS512", t, AUTH_EALG);
	free(t);
	t = mk("{\"alg\":\"RS256\",\"kid\":\"k1\"}", c, K1_SECRET);
	refuse("alg RS256", t, AUTH_EALG);
	free(t);
	t = mk("{\"kid\":\"k1\"}", c, K1_SECRET);
	refuse("alg missing", t, AUTH_EALG);
	free(t);
	t = mk("{\"alg\":\"hs256\",\"kid\":\"k1\"}", c, K1_SECRET);
	refuse("alg hs256", t, AUTH_EALG);
	free(t);
	t = mk("{\"alg\":\"HS256 \",\"kid\":\"k1\"}", c, K1_SECRET);
	refuse("alg HS256 with a space", t, AUTH_EALG);
	free(t);
	t = mk("{\"alg\":[\"HS256\"],\"kid\":\"k1\"}", c, K1_SECRET);
	refuse("alg array", t, AUTH_EALG);
	free(t);
	t = mk("{\"alg\":\"HS256\",\"kid\":\"k1\",\"crit\":[\"exp\"]}", c,
	    K1_SECRET);
	refuse("crit", t, AUTH_EALG);
	free(t);

	/* Keys: unknown, missing, not a string; the MAC of another key. */
	t = mk("{\"alg\":\"HS256\",\"kid\":\"k9\"}", c, K1_SECRET);
	refuse("unknown kid", t, AUTH_EKID);
	free(t);
	t = mk("{\"alg\":\"HS256\"}", c, K1_SECRET);
	refuse("no kid", t, AUTH_EKID);
	free(t);
	t = mk("{\"alg\":\"HS256\",\"kid\":1}", c, K1_SECRET);
	refuse("kid a number", t, AUTH_EKID);
	free(t);
	h = hdr("k1");
	t = mk(h, c, K2_SECRET);
	refuse("bad MAC (k2's secret for k1)", t, AUTH_ESIG);
	free(t);
	t = mk(h, c, K1_SECRET "x");
	refuse("bad MAC (longer secret)", t, AUTH_ESIG);
	free(t);

	/* Shape: segments, padding, alphabet, empty parts, signature size. */
	t = good_k1("");
	refuse("two segments", strrchr(t, '.') == NULL ? t :
	    (*strrchr(t, '.') = '\0', t), AUTH_EFORMAT);
	free(t);
	t = good_k1("");
	t2 = tfmt("%s.%s", t, strrchr(t, '.') + 1);
	refuse("four segments", t2, AUTH_EFORMAT);
	free(t2);
	t2 = tfmt("%s=", t);
	refuse("padding on the signature", t2, AUTH_EFORMAT);
	free(t2);
	p = strchr(t, '.');
	t2 = tfmt("%.*s=%s", (int)(p - t), t, p);
	refuse("padding on the header", t2, AUTH_EFORMAT);
	free(t2);
	t2 = tfmt("%s.", t);
	refuse("trailing dot", t2, AUTH_EFORMAT);
	free(t2);
	t2 = tfmt(" %s", t);
	refuse("leading space", t2, AUTH_EFORMAT);
	free(t2);
	t2 = tfmt("%s\n", t);
	refuse("trailing newline", t2, AUTH_EFORMAT);
	free(t2);
	refuse("empty", "", AUTH_EFORMAT);
	refuse("dots only", "..", AUTH_EFORMAT);
	t2 = strdup(t);
	*strrchr(t2, '.') = '\0';
	p = tfmt("%s..%s", t2, strrchr(t, '.') + 1);	/* empty claims */
	refuse("empty part", p, AUTH_EFORMAT);
	free(p);
	p = tfmt("%s.%.42s", t2, strrchr(t, '.') + 1);	/* 31 bytes */
	refuse("short signature", p, AUTH_EFORMAT);
	free(p);
	p = tfmt("%s.%sAA", t2, strrchr(t, '.') + 1);	/* 33 bytes */
	refuse("long signature", p, AUTH_EFORMAT);
	free(p);
	free(t2);
	t2 = strdup(t);
	for (p = t2; *p != '\0'; p++) {
		if (*p == '_' || *p == '-')
			*p = *p == '_' ? '/' : '+';
	}
	if (strcmp(t2, t) != 0)
		refuse("standard alphabet", t2, AUTH_EFORMAT);
	free(t2);
	/* A NUL inside: the length given counts, not the C string. */
	len = strlen(t);
	t2 = malloc(len + 2);
	memcpy(t2, t, len);
	t2[len] = '\0';
	t2[len + 1] = 'A';
	refuse_at("NUL inside", t2, len + 2, T_NOW_MS, 0, AUTH_EFORMAT);
	free(t2);
	free(t);

	/*
	 * Non-canonical trailing bits: the signature is 43 characters for 32
	 * bytes, so its last character has 2 unused bits, which must be 0.
	 */
	t = good_k1("");
	t2 = strdup(t);
	p = strchr(b64_alpha, t2[strlen(t2) - 1]);
	CU_ASSERT_FATAL(p != NULL && ((p - b64_alpha) & 3) == 0);
	t2[strlen(t2) - 1] = b64_alpha[(p - b64_alpha) | 1];
	refuse("non-canonical trailing bits", t2, AUTH_EFORMAT);
	free(t2);
	free(t);

	/* Size: exactly TOKEN_MAX_BYTES passes, one more is refused. */
	big = NULL;
	for (len = 5000; len < 7000; len++) {
		p = malloc(len + 1);
		memset(p, 'x', len);
		p[len] = '\0';
		t2 = tfmt(",\"pad\":\"%s\"", p);
		free(p);
		free(c);
		c = claims(t2);
		free(t2);
		t = mk(h, c, K1_SECRET);
		if (strlen(t) == TOKEN_MAX_BYTES) {
			big = t;
			break;
		}
		free(t);
	}
	CU_ASSERT_FATAL(big != NULL);
	{
		struct token_claims	tc;

		accept_at("8192 bytes", big, T_NOW_MS, 0, &tc);
		token_claims_free(&tc);
	}
	t2 = tfmt("%sA", big);
	refuse("8193 bytes", t2, AUTH_ETOOBIG);
	free(t2);
	t2 = malloc(100001);
	memset(t2, 'A', 100000);
	t2[100000] = '\0';
	refuse("100000 bytes", t2, AUTH_ETOOBIG);
	free(t2);
	free(big);
	free(c);

	/* Header or claims not one JSON object. */
	c = claims("");
	t = mk("[\"HS256\",\"k1\"]", c, K1_SECRET);
	refuse("header an array", t, AUTH_EJSON);
	free(t);
	t = mk("\"HS256\"", c, K1_SECRET);
	refuse("header a string", t, AUTH_EJSON);
	free(t);
	t = mk("{\"alg\":\"HS256\",\"kid\":\"k1\"", c, K1_SECRET);
	refuse("header bad JSON", t, AUTH_EJSON);
	free(t);
	t = mk("{\"alg\":\"HS256\",\"kid\":\"k1\"}{}", c, K1_SECRET);
	refuse("header trailing JSON", t, AUTH_EJSON);
	free(t);
	t = mk("{\"alg\":\"HS256\",\"alg\":\"none\",\"kid\":\"k1\"}", c,
	    K1_SECRET);
	refuse("duplicate alg", t, AUTH_EJSON);
	free(t);
	t = mk("{\"alg\":\"none\",\"alg\":\"HS256\",\"kid\":\"k1\"}", c,
	    K1_SECRET);
	refuse("duplicate alg, HS256 last", t, AUTH_EJSON);
	free(t);
	t = mk(h, "[1]", K1_SECRET);
	refuse("claims an array", t, AUTH_EJSON);
	free(t);
	t = mk(h, "42", K1_SECRET);
	refuse("claims a number", t, AUTH_EJSON);
	free(t);
	t = mk(h, "{\"sub\":\"a\",\"exp\":4102444800", K1_SECRET);
	refuse("claims bad JSON", t, AUTH_EJSON);
	free(t);
	t = mk(h, "{\"sub\":\"alice\",\"sub\":\"admin\",\"exp\":4102444800}",
	    K1_SECRET);
	refuse("duplicate sub", t, AUTH_EJSON);
	free(t);
	t = mk(h, "{\"sub\":\"a\",\"exp\":1,\"exp\":4102444800}", K1_SECRET);
	refuse("duplicate exp", t, AUTH_EJSON);
	free(t);
	t = mk(h, "{\"sub\":\"a\\u0000b\",\"exp\":4102444800}", K1_SECRET);
	refuse("NUL in sub", t, AUTH_EJSON);
	free(t);
	free(c);

	/* exp: missing, not a number, not an integer, out of range. */
	t = mk(h, "{\"sub\":\"alice\"}", K1_SECRET);
	refuse("exp missing", t, AUTH_ECLAIM);
	free(t);
	t = mk(h, "{\"sub\":\"alice\",\"exp\":\"4102444800\"}", K1_SECRET);
	refuse("exp a string", t, AUTH_ECLAIM);
	free(t);
	t = mk(h, "{\"sub\":\"alice\",\"exp\":4102444800.5}", K1_SECRET);
	refuse("exp a fraction", t, AUTH_ECLAIM);
	free(t);
	t = mk(h, "{\"sub\":\"alice\",\"exp\":4.1e9}", K1_SECRET);
	refuse("exp a real", t, AUTH_ECLAIM);
	free(t);
	t = mk(h, "{\"sub\":\"alice\",\"exp\":null}", K1_SECRET);
	refuse("exp null", t, AUTH_ECLAIM);
	free(t);
	t = mk(h, "{\"sub\":\"alice\",\"exp\":true}", K1_SECRET);
	refuse("exp true", t, AUTH_ECLAIM);
	free(t);
	t = mk(h, "{\"sub\":\"alice\",\"exp\":-1}", K1_SECRET);
	refuse("exp negative", t, AUTH_ECLAIM);
	free(t);
	t = mk(h, "{\"sub\":\"alice\",\"exp\":253402300800}", K1_SECRET);
	refuse("exp after 9999", t, AUTH_ECLAIM);
	free(t);
	t = mk(h, "{\"sub\":\"alice\",\"exp\":99999999999999999999}",
	    K1_SECRET);
	refuse("exp beyond 64 bits", t, AUTH_EJSON);
	free(t);
	t = mk(h, "{\"sub\":\"alice\",\"exp\":4102444800,\"nbf\":\"0\"}",
	    K1_SECRET);
	refuse("nbf a string", t, AUTH_ECLAIM);
	free(t);
	t = mk(h, "{\"sub\":\"alice\",\"exp\":4102444800,\"iat\":1.5}",
	    K1_SECRET);
	refuse("iat a real", t, AUTH_ECLAIM);
	free(t);

	/* sub: missing, empty, not a string, too long, control bytes. */
	t = mk(h, "{\"exp\":4102444800}", K1_SECRET);
	refuse("sub missing", t, AUTH_ECLAIM);
	free(t);
	t = mk(h, "{\"sub\":\"\",\"exp\":4102444800}", K1_SECRET);
	refuse("sub empty", t, AUTH_ECLAIM);
	free(t);
	t = mk(h, "{\"sub\":7,\"exp\":4102444800}", K1_SECRET);
	refuse("sub a number", t, AUTH_ECLAIM);
	free(t);
	t = mk(h, "{\"sub\":null,\"exp\":4102444800}", K1_SECRET);
	refuse("sub null", t, AUTH_ECLAIM);
	free(t);
	t = mk(h, "{\"sub\":\"a\\nb\",\"exp\":4102444800}", K1_SECRET);
	refuse("sub with a newline", t, AUTH_ECLAIM);
	free(t);
	t = mk(h, "{\"sub\":\"a\\u007fb\",\"exp\":4102444800}", K1_SECRET);
	refuse("sub with DEL", t, AUTH_ECLAIM);
	free(t);
	t = mk(h, "{\"sub\":\"a\\u0085b\",\"exp\":4102444800}", K1_SECRET);
	refuse("sub with a C1 control", t, AUTH_ECLAIM);
	free(t);
	p = malloc(TOKEN_SUB_MAX + 2);
	memset(p, 's', TOKEN_SUB_MAX + 1);
	p[TOKEN_SUB_MAX + 1] = '\0';
	c = tfmt("{\"sub\":\"%s\",\"exp\":4102444800}", p);
	t = mk(h, c, K1_SECRET);
	refuse("sub over 255 bytes", t, AUTH_ECLAIM);
	free(t);
	free(c);
	p[TOKEN_SUB_MAX] = '\0';
	c = tfmt("{\"sub\":\"%s\",\"exp\":4102444800}", p);
	t = mk(h, c, K1_SECRET);
	refuse_at("sub of 255 bytes", t, strlen(t), T_NOW_MS, 0, 0);
	free(t);
	free(c);
	free(p);

	/* cap: not an object, not a capability. */
	t = good_k1(",\"cap\":[\"publish\"]");
	refuse("cap an array", t, AUTH_ECLAIM);
	free(t);
	t = good_k1(",\"cap\":{\"*\":[\"root\"]}");
	refuse("cap with an unknown operation", t, AUTH_ECLAIM);
	free(t);
	t = good_k1(",\"cap\":{\"\":[\"publish\"]}");
	refuse("cap with an empty pattern", t, AUTH_ECLAIM);
	free(t);
	t = good_k1(",\"cap\":\"{}\"");
	refuse("cap a string", t, AUTH_ECLAIM);
	free(t);
	/* The cause does not quote the claims (found by fuzz_token). */
	{
		struct token_claims	 tc;
		char			*cause = NULL;

		t = good_k1(",\"cap\":{\"x" K1_SECRET "\":[\"nope\"]}");
		CU_ASSERT(token_verify(t, strlen(t), apikey_lookup, &keys,
		    T_NOW_MS, 0, &tc, &cause) == AUTH_ECLAIM);
		CU_ASSERT(cause != NULL && strstr(cause, K1_SECRET) == NULL);
		free(cause);
		free(t);
	}

	/* Times. */
	c = tfmt("{\"sub\":\"alice\",\"exp\":%lld}", T_NOW - 1);
	t = mk(h, c, K1_SECRET);
	refuse("expired", t, AUTH_EEXPIRED);
	CU_ASSERT(auth_wire_code(AUTH_EEXPIRED) == 40101);
	free(t);
	free(c);
	c = tfmt("{\"sub\":\"alice\",\"exp\":%lld,\"nbf\":%lld}", T_NOW + 100,
	    T_NOW + 10);
	t = mk(h, c, K1_SECRET);
	refuse("nbf in the future", t, AUTH_ENOTYET);
	free(t);
	free(c);
	/* Expired and otherwise wrong: the other fault is the one named. */
	c = tfmt("{\"sub\":\"\",\"exp\":%lld}", T_NOW - 1);
	t = mk(h, c, K1_SECRET);
	refuse("expired with an empty sub", t, AUTH_ECLAIM);
	free(t);
	free(c);
	c = tfmt("{\"sub\":\"alice\",\"exp\":%lld}", T_NOW - 1);
	t = mk(h, c, K2_SECRET);
	refuse("expired with a bad MAC", t, AUTH_ESIG);
	free(t);
	free(c);
	free(h);

	fprintf(stderr, "\n  %d refusals checked ", nrefusals);
	CU_ASSERT(nrefusals >= 20);
}

/*
 * One bit flipped anywhere must fail: in the text of each part, and in
 * the decoded bytes of each part re-encoded canonically.
 */
static void
test_token_bitflips(void)
{
	struct token_claims	 tc;
	unsigned char		 raw[512];
	char			*t, *t2, *cause, *enc, *parts[3];
	size_t			 i, j, len, n, k;
	int			 bit, fails = 0, tries = 0;

	t = good_k1(",\"cap\":{\"a*\":[\"publish\"]}");
	len = strlen(t);
	for (i = 0; i < len; i++) {
		for (bit = 0; bit < 8; bit++) {
			t2 = strdup(t);
			t2[i] ^= (char)(1 << bit);
			cause = NULL;
			tries++;
			if (token_verify(t2, len, apikey_lookup, &keys,
			    T_NOW_MS, 0, &tc, &cause) == 0) {
				fprintf(stderr, "\n  accepted: byte %zu bit "
				    "%d\n", i, bit);
				fails++;
				token_claims_free(&tc);
			}
			free(cause);
			free(t2);
		}
	}

	/* Decoded bytes: header, claims, signature. */
	parts[0] = t;
	parts[1] = strchr(t, '.') + 1;
	parts[2] = strrchr(t, '.') + 1;
	for (k = 0; k < 3; k++) {
		n = (k < 2 ? (size_t)(strchr(parts[k], '.') - parts[k]) :
		    strlen(parts[k]));
		CU_ASSERT_FATAL(b64_url_decode(parts[k], n, raw, &j) == 0);
		n = j;
		for (i = 0; i < n; i++) {
			for (bit = 0; bit < 8; bit++) {
				raw[i] ^= (unsigned char)(1 << bit);
				enc = b64_url_encode(raw, n);
				raw[i] ^= (unsigned char)(1 << bit);
				t2 = tfmt("%.*s%s%s",
				    (int)(parts[k] - t), t, enc,
				    k < 2 ? strchr(parts[k], '.') : "");
				cause = NULL;
				tries++;
				if (token_verify(t2, strlen(t2),
				    apikey_lookup, &keys, T_NOW_MS, 0, &tc,
				    &cause) == 0) {
					fprintf(stderr, "\n  accepted: part %zu "
					    "byte %zu bit %d\n", k, i, bit);
					fails++;
					token_claims_free(&tc);
				}
				free(cause);
				free(t2);
				free(enc);
			}
		}
	}
	CU_ASSERT(fails == 0);
	CU_ASSERT(tries > 1000);
	free(t);
}

/* Leeway: the edges of exp and nbf, and the 60 s cap. */
static void
test_token_leeway(void)
{
	struct token_claims	 tc;
	char			*h, *c, *t;

	h = hdr("k1");
	/* exp == now - leeway: expired; one second later: valid. */
	c = tfmt("{\"sub\":\"a\",\"exp\":%lld}", T_NOW - 30);
	t = mk(h, c, K1_SECRET);
	refuse_at("exp = now - leeway", t, strlen(t), T_NOW_MS, 30,
	    AUTH_EEXPIRED);
	refuse_at("exp = now - leeway, leeway 29", t, strlen(t), T_NOW_MS - 1,
	    29, AUTH_EEXPIRED);
	accept_at("exp = now - leeway, 1 ms earlier", t, T_NOW_MS - 1, 30,
	    &tc);
	token_claims_free(&tc);
	free(t);
	free(c);
	c = tfmt("{\"sub\":\"a\",\"exp\":%lld}", T_NOW - 29);
	t = mk(h, c, K1_SECRET);
	accept_at("exp = now - leeway + 1", t, T_NOW_MS + 999, 30, &tc);
	CU_ASSERT(tc.exp_ms == (uint64_t)(T_NOW - 29) * 1000);
	token_claims_free(&tc);
	free(t);
	free(c);
	/* Without leeway, exp == now is expired (now must be before exp). */
	c = tfmt("{\"sub\":\"a\",\"exp\":%lld}", T_NOW);
	t = mk(h, c, K1_SECRET);
	refuse_at("exp = now", t, strlen(t), T_NOW_MS, 0, AUTH_EEXPIRED);
	accept_at("exp = now + 1 ms", t, T_NOW_MS - 1, 0, &tc);
	token_claims_free(&tc);
	free(t);
	free(c);
	/* A leeway over 60 s counts as 60 s. */
	c = tfmt("{\"sub\":\"a\",\"exp\":%lld}", T_NOW - 60);
	t = mk(h, c, K1_SECRET);
	refuse_at("leeway 3600 capped at 60", t, strlen(t), T_NOW_MS, 3600,
	    AUTH_EEXPIRED);
	free(t);
	free(c);
	c = tfmt("{\"sub\":\"a\",\"exp\":%lld}", T_NOW - 59);
	t = mk(h, c, K1_SECRET);
	accept_at("exp = now - 59, leeway 3600", t, T_NOW_MS, 3600, &tc);
	token_claims_free(&tc);
	free(t);
	free(c);
	/* nbf == now + leeway: valid; one second later: not yet. */
	c = tfmt("{\"sub\":\"a\",\"exp\":%lld,\"nbf\":%lld}", T_NOW + 600,
	    T_NOW + 30);
	t = mk(h, c, K1_SECRET);
	accept_at("nbf = now + leeway", t, T_NOW_MS, 30, &tc);
	token_claims_free(&tc);
	refuse_at("nbf = now + leeway, 1 ms earlier", t, strlen(t),
	    T_NOW_MS - 1, 30, AUTH_ENOTYET);
	free(t);
	free(c);
	c = tfmt("{\"sub\":\"a\",\"exp\":%lld,\"nbf\":%lld}", T_NOW + 600,
	    T_NOW + 31);
	t = mk(h, c, K1_SECRET);
	refuse_at("nbf = now + leeway + 1", t, strlen(t), T_NOW_MS, 30,
	    AUTH_ENOTYET);
	free(t);
	free(c);
	/* nbf of 0 and nbf in the past are fine. */
	c = tfmt("{\"sub\":\"a\",\"exp\":%lld,\"nbf\":0,\"iat\":0}",
	    T_NOW + 600);
	t = mk(h, c, K1_SECRET);
	accept_at("nbf 0", t, T_NOW_MS, 60, &tc);
	token_claims_free(&tc);
	free(t);
	free(c);
	free(h);
}

/*
 * A cap claim wider than the key's is not refused, and its wider part is
 * not granted: the effective capability is the intersection.
 */
static void
test_token_wide_cap(void)
{
	struct token_claims	 tc;
	char			*h, *c, *t;

	h = hdr("k2");
	c = tfmt("{\"sub\":\"mallory\",\"exp\":%lld,\"cap\":{\"*\":[\"publish\","
	    "\"subscribe\",\"history\",\"admin\"]}}", T_NOW + 600);
	t = mk(h, c, K2_SECRET);
	accept_at("wider cap", t, T_NOW_MS, 0, &tc);
	CU_ASSERT(!may(tc.cap, CAP_PUBLISH, "orders:1"));	/* wider part */
	CU_ASSERT(!may(tc.cap, CAP_PUBLISH, "audit"));
	CU_ASSERT(!may(tc.cap, CAP_HISTORY, "chat:1"));
	CU_ASSERT(may(tc.cap, CAP_SUBSCRIBE, "orders:1"));	/* both */
	CU_ASSERT(may(tc.cap, CAP_PUBLISH, "chat:1"));
	CU_ASSERT(cap_allows_store(tc.cap, CAP_ADMIN));
	token_claims_free(&tc);
	free(t);
	free(c);
	/* Narrower than the key, and then some: only the overlap. */
	c = tfmt("{\"sub\":\"m\",\"exp\":%lld,\"cap\":{\"orders:1\":"
	    "[\"subscribe\",\"publish\"]}}", T_NOW + 600);
	t = mk(h, c, K2_SECRET);
	accept_at("partly wider cap", t, T_NOW_MS, 0, &tc);
	CU_ASSERT(may(tc.cap, CAP_SUBSCRIBE, "orders:1"));
	CU_ASSERT(!may(tc.cap, CAP_PUBLISH, "orders:1"));
	CU_ASSERT(!may(tc.cap, CAP_SUBSCRIBE, "orders:2"));
	CU_ASSERT(!cap_allows_store(tc.cap, CAP_ADMIN));
	token_claims_free(&tc);
	free(t);
	free(c);
	/* An empty cap claim: a valid token that may do nothing. */
	c = tfmt("{\"sub\":\"m\",\"exp\":%lld,\"cap\":{}}", T_NOW + 600);
	t = mk(h, c, K2_SECRET);
	accept_at("empty cap", t, T_NOW_MS, 0, &tc);
	CU_ASSERT(!may(tc.cap, CAP_SUBSCRIBE, "orders:1"));
	CU_ASSERT(!cap_allows_store(tc.cap, CAP_ADMIN));
	token_claims_free(&tc);
	free(t);
	free(c);
	free(h);
}

/* Accepted shapes that are still HS256 JWTs, and the Bearer header. */
static void
test_token_misc(void)
{
	struct token_claims	 tc;
	const char		*tok;
	char			*t;
	size_t			 len;
	int			 i;

	t = mk("{ \"kid\" : \"k1\" , \"alg\" : \"HS256\" }",
	    "{\"exp\":4102444800,\"sub\":\"\xc3\xa9t\xc3\xa9\",\"x\":[1,{}]}",
	    K1_SECRET);
	accept_at("other order, spaces, UTF-8 sub, unknown claims", t,
	    T_NOW_MS, 0, &tc);
	CU_ASSERT_STRING_EQUAL(tc.sub, "\xc3\xa9t\xc3\xa9");
	token_claims_free(&tc);
	free(t);

	CU_ASSERT(token_bearer("Bearer abc.def.ghi", &tok, &len) == 0 &&
	    len == 11 && strncmp(tok, "abc.def.ghi", len) == 0);
	CU_ASSERT(token_bearer(" bearer\t x.y.z \t", &tok, &len) == 0 &&
	    len == 5 && strncmp(tok, "x.y.z", len) == 0);
	CU_ASSERT(token_bearer("Bearer", &tok, &len) == -1);
	CU_ASSERT(token_bearer("Bearer  ", &tok, &len) == -1);
	CU_ASSERT(token_bearer("Bearerx.y.z", &tok, &len) == -1);
	CU_ASSERT(token_bearer("Bearer a b", &tok, &len) == -1);
	CU_ASSERT(token_bearer("Basic abc", &tok, &len) == -1);

	/* Every code has its own name; only expiry is 40101. */
	for (i = AUTH_EDENIED; i <= AUTH_EINVAL; i++) {
		CU_ASSERT(strcmp(auth_strerror(i), "unknown error") != 0);
		if (i > AUTH_EDENIED)
			CU_ASSERT(strcmp(auth_strerror(i),
			    auth_strerror(i - 1)) != 0);
		CU_ASSERT(auth_wire_code(i) ==
		    (i == AUTH_EEXPIRED ? 40101 : 40100));
	}
	CU_ASSERT_STRING_EQUAL(auth_strerror(-1), "unknown error");
}

/* What one run of logwire did. */
struct run {
	int	 status;
	char	*out;
	char	*err;
};

/* Read a whole small file; "" if it cannot be read. */
static char *
slurp(const char *path)
{
	char	 buf[65536];
	ssize_t	 n;
	size_t	 off = 0;
	int	 fd;

	if ((fd = open(path, O_RDONLY)) != -1) {
		while (off < sizeof buf - 1 &&
		    (n = read(fd, buf + off, sizeof buf - 1 - off)) > 0)
			off += n;
		close(fd);
	}
	buf[off] = '\0';
	return (strdup(buf));
}

/* Run logwire with the arguments (NULL-terminated), killed after 30 s. */
static void
run_cli(struct run *r, ...)
{
	va_list	 ap;
	char	*argv[32], *out, *err;
	pid_t	 pid;
	int	 argc = 0, st = 0, i, fd;

	argv[argc++] = logwire_bin;
	va_start(ap, r);
	while (argc < 31 && (argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	out = tfmt("%s/out", tmproot);
	err = tfmt("%s/err", tmproot);
	if ((pid = fork()) == -1)
		abort();
	if (pid == 0) {
		if ((fd = open(out, O_WRONLY|O_CREAT|O_TRUNC, 0600)) == -1 ||
		    dup2(fd, 1) == -1)
			_exit(127);
		if ((fd = open(err, O_WRONLY|O_CREAT|O_TRUNC, 0600)) == -1 ||
		    dup2(fd, 2) == -1)
			_exit(127);
		execv(logwire_bin, argv);
		_exit(127);
	}
	for (i = 0; i < RUN_TIMEOUT * 100; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			break;
		usleep(10000);
	}
	if (i == RUN_TIMEOUT * 100) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		CU_FAIL("logwire finished in time");
	}
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	r->out = slurp(out);
	r->err = slurp(err);
	unlink(out);
	unlink(err);
	free(out);
	free(err);
}

/* Free what a run captured. */
static void
run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

/* Expect bad usage: exit 2, one line on stderr, nothing on stdout. */
static void
check_usage(struct run *r, const char *what)
{
	char	*nl;

	if (r->status != 2 || *r->out != '\0') {
		fprintf(stderr, "\n  %s: exit %d, stdout \"%s\", stderr "
		    "\"%s\"\n", what, r->status, r->out, r->err);
		CU_FAIL("bad usage exits 2");
	}
	nl = strchr(r->err, '\n');
	CU_ASSERT(nl != NULL && nl[1] == '\0');
	CU_ASSERT(strstr(r->err, "logwire: token:") == r->err);
	CU_ASSERT(strstr(r->err, "secret-0123") == NULL);
}

/*
 * logwire token prints one token and nothing else, which the library
 * verifies with the same key and which carries sub, exp and the cap.
 */
static void
test_cli_token(void)
{
	struct token_claims	 tc;
	struct run		 r;
	char			*cause = NULL, *nl;
	int64_t			 before, after;
	int			 rc;

	before = (int64_t)time(NULL);
	run_cli(&r, "token", "--key", "k2:" K2_SECRET, "--sub", "svc-1",
	    "--ttl", "15m", "--cap", "{\"orders:eu:*\":[\"subscribe\"]}",
	    NULL);
	after = (int64_t)time(NULL);
	CU_ASSERT(r.status == 0);
	CU_ASSERT_STRING_EQUAL(r.err, "");
	nl = strchr(r.out, '\n');
	CU_ASSERT_FATAL(nl != NULL && nl[1] == '\0');
	*nl = '\0';
	rc = token_verify(r.out, strlen(r.out), apikey_lookup, &keys,
	    (uint64_t)after * 1000, 0, &tc, &cause);
	if (rc != 0)
		fprintf(stderr, "\n  refused: %s\n", cause);
	CU_ASSERT_FATAL(rc == 0);
	CU_ASSERT_STRING_EQUAL(tc.sub, "svc-1");
	CU_ASSERT_STRING_EQUAL(tc.kid, "k2");
	CU_ASSERT(tc.exp_ms >= (uint64_t)(before + 900) * 1000 &&
	    tc.exp_ms <= (uint64_t)(after + 900) * 1000);
	CU_ASSERT(may(tc.cap, CAP_SUBSCRIBE, "orders:eu:1"));
	CU_ASSERT(!may(tc.cap, CAP_SUBSCRIBE, "orders:us:1"));
	CU_ASSERT(!may(tc.cap, CAP_HISTORY, "orders:eu:1"));
	token_claims_free(&tc);
	/* Expired once the ttl has passed. */
	rc = token_verify(r.out, strlen(r.out), apikey_lookup, &keys,
	    (uint64_t)(after + 901) * 1000, 0, &tc, &cause);
	CU_ASSERT(rc == AUTH_EEXPIRED);
	free(cause);
	run_free(&r);

	/* Options after the word, a key with its capability, ttl in ms. */
	run_cli(&r, "--sub", "x", "token", "--ttl", "1500ms", "--key",
	    "k1:" K1_SECRET ":{\"*\":[\"publish\"]}", NULL);
	CU_ASSERT(r.status == 0);
	nl = strchr(r.out, '\n');
	CU_ASSERT_FATAL(nl != NULL);
	*nl = '\0';
	cause = NULL;
	CU_ASSERT(token_verify(r.out, strlen(r.out), apikey_lookup, &keys,
	    (uint64_t)time(NULL) * 1000, 0, &tc, &cause) == 0);
	CU_ASSERT(tc.sub != NULL && strcmp(tc.sub, "x") == 0);
	token_claims_free(&tc);
	free(cause);
	run_free(&r);
}

/* logwire token refuses bad usage with exit 2 and prints no token. */
static void
test_cli_token_usage(void)
{
	struct run	r;

	run_cli(&r, "token", "--sub", "a", "--ttl", "1m", NULL);
	check_usage(&r, "no --key");
	CU_ASSERT(strstr(r.err, "--key") != NULL);
	run_free(&r);
	run_cli(&r, "token", "--key", "k1:" K1_SECRET, "--ttl", "1m", NULL);
	check_usage(&r, "no --sub");
	run_free(&r);
	run_cli(&r, "token", "--key", "k1:" K1_SECRET, "--sub", "a", NULL);
	check_usage(&r, "no --ttl");
	run_free(&r);
	run_cli(&r, "token", "--key", "k1:short", "--sub", "a", "--ttl", "1m",
	    NULL);
	check_usage(&r, "short secret");
	run_free(&r);
	run_cli(&r, "token", "--key", "k1", "--sub", "a", "--ttl", "1m", NULL);
	check_usage(&r, "no secret");
	run_free(&r);
	run_cli(&r, "token", "--key", "k1:" K1_SECRET, "--sub", "a", "--ttl",
	    "soon", NULL);
	check_usage(&r, "bad ttl");
	run_free(&r);
	run_cli(&r, "token", "--key", "k1:" K1_SECRET, "--sub", "a", "--ttl",
	    "0s", NULL);
	check_usage(&r, "zero ttl");
	run_free(&r);
	run_cli(&r, "token", "--key", "k1:" K1_SECRET, "--sub", "a", "--ttl",
	    "3000000d", NULL);
	check_usage(&r, "ttl past 9999");
	run_free(&r);
	run_cli(&r, "token", "--key", "k1:" K1_SECRET, "--sub", "", "--ttl",
	    "1m", NULL);
	check_usage(&r, "empty sub");
	run_free(&r);
	run_cli(&r, "token", "--key", "k1:" K1_SECRET, "--sub", "a", "--ttl",
	    "1m", "--cap", "{\"*\":[\"delete\"]}", NULL);
	check_usage(&r, "bad cap");
	run_free(&r);
	run_cli(&r, "token", "--key", "k1:" K1_SECRET ":{\"a*\":[\"publish\"]}",
	    "--sub", "a", "--ttl", "1m", "--cap", "{\"*\":[\"publish\"]}",
	    NULL);
	check_usage(&r, "cap wider than the key's");
	run_free(&r);
	run_cli(&r, "token", "--key", "k1:" K1_SECRET, "--sub", "a", "--ttl",
	    "1m", "extra", NULL);
	check_usage(&r, "operand");
	run_free(&r);
	run_cli(&r, "--token", "t", "token", "--key", "k1:" K1_SECRET, "--sub",
	    "a", "--ttl", "1m", NULL);
	check_usage(&r, "--token with --key");
	run_free(&r);
}

/* Make the test keys. */
static int
setup_keys(void)
{
	char	*cause = NULL;

	if (apikey_parse("k1:" K1_SECRET, &k1, &cause) != 0 ||
	    apikey_parse("k2:" K2_SECRET ":" K2_CAP, &k2, &cause) != 0 ||
	    apikey_parse("kat:" KAT_SECRET, &kat, &cause) != 0) {
		fprintf(stderr, "test_auth: %s\n", cause);
		free(cause);
		return (-1);
	}
	keys.keys = calloc(3, sizeof *keys.keys);
	if (keys.keys == NULL)
		return (-1);
	keys.keys[0] = k1;
	keys.keys[1] = k2;
	keys.keys[2] = kat;
	keys.n = 3;
	return (0);
}

/* Remove the temporary directory (two files at most). */
static void
cleanup_tmp(void)
{
	char	*p;

	p = tfmt("%s/out", tmproot);
	unlink(p);
	free(p);
	p = tfmt("%s/err", tmproot);
	unlink(p);
	free(p);
	rmdir(tmproot);
}

int
main(void)
{
	CU_pSuite	 lib, cli;
	const char	*tmpdir;
	unsigned int	 failed;
	size_t		 i;

	snprintf(logwire_bin, sizeof logwire_bin, "%s/src/logwire",
	    TOP_BUILDDIR);
	if (access(logwire_bin, X_OK) != 0) {
		fprintf(stderr, "test_auth: no %s\n", logwire_bin);
		return (1);
	}
	if ((tmpdir = getenv("TMPDIR")) == NULL || *tmpdir == '\0')
		tmpdir = "/tmp";
	tmproot = tfmt("%s/test_auth.XXXXXX", tmpdir);
	if (mkdtemp(tmproot) == NULL) {
		perror(tmproot);
		return (1);
	}
	if (setup_keys() != 0)
		return (1);

	if (CU_initialize_registry() != CUE_SUCCESS)
		return (1);
	lib = CU_add_suite("auth", NULL, NULL);
	cli = CU_add_suite("logwire token", NULL, NULL);
	if (lib == NULL || cli == NULL ||
	    CU_add_test(lib, "strict base64 and base64url", test_b64) == NULL ||
	    CU_add_test(lib, "capability JSON refused and accepted",
	    test_cap_parse) == NULL ||
	    CU_add_test(lib, "pattern matching", test_cap_match) == NULL ||
	    CU_add_test(lib, "pathological patterns match in linear-ish time",
	    test_cap_pathological) == NULL ||
	    CU_add_test(lib, "capability matrix and whole-store admin",
	    test_cap_matrix) == NULL ||
	    CU_add_test(lib, "intersection and coverage",
	    test_cap_intersect) == NULL ||
	    CU_add_test(lib, "API key specs", test_apikey_parse) == NULL ||
	    CU_add_test(lib, "Basic credentials", test_apikey_basic) == NULL ||
	    CU_add_test(lib, "known-answer tokens (openssl)",
	    test_token_kat) == NULL ||
	    CU_add_test(lib, "sign and verify round trip",
	    test_token_roundtrip) == NULL ||
	    CU_add_test(lib, "token refusals, one code per reason",
	    test_token_refusals) == NULL ||
	    CU_add_test(lib, "any flipped bit is refused",
	    test_token_bitflips) == NULL ||
	    CU_add_test(lib, "leeway edges of exp and nbf",
	    test_token_leeway) == NULL ||
	    CU_add_test(lib, "a wider cap claim only narrows",
	    test_token_wide_cap) == NULL ||
	    CU_add_test(lib, "other valid shapes, Bearer, error names",
	    test_token_misc) == NULL ||
	    CU_add_test(cli, "the printed token verifies",
	    test_cli_token) == NULL ||
	    CU_add_test(cli, "bad usage exits 2", test_cli_token_usage) == NULL) {
		CU_cleanup_registry();
		return (1);
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_tests_failed() + CU_get_number_of_failures();
	CU_cleanup_registry();

	for (i = 0; i < keys.n; i++)
		apikey_free(keys.keys[i]);
	free(keys.keys);
	cleanup_tmp();
	free(tmproot);
	return (failed == 0 ? 0 : 1);
}
