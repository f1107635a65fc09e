/*
 * Fuzz target: the token verifier (src/auth/token.c) and Basic
 * credentials (src/auth/apikey.c).  The first byte picks what the rest
 * is:
 *
 *   0  a token, verified as it is (shape, base64url, header JSON, alg,
 *      kid, MAC: a random MAC never matches, so this explores everything
 *      before it);
 *   1  a header and claims as JSON text separated by a newline, which the
 *      target signs with k1's secret before verifying, so that the claims
 *      checks behind the MAC are explored too;
 *   2  the value of an Authorization header, checked as Basic credentials
 *      and as a Bearer token.
 *
 * Oracles: a refusal has a one-line cause without the secrets; an accepted
 * token was signed with its own key (in mode 1, k1 and nothing else),
 * says alg HS256, has a sane sub and exp, and its capability allows
 * nothing its key does not.
 */

#include "config.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "auth.h"

#define K1_SECRET	"fuzz-k1-secret-0123"
#define K2_SECRET	"fuzz-k2-secret-4567"
#define NOW_MS		1700000000000ULL

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct apikey_list	 fuzz_keys;

/* Make the keys once: k1 may do everything, k2 a little. */
static void
fuzz_token_init(void)
{
	static struct apikey	*k[2];
	char			*cause;

	if (fuzz_keys.n != 0)
		return;
	if (apikey_parse("k1:" K1_SECRET, &k[0], &cause) != 0 ||
	    apikey_parse("k2:" K2_SECRET ":{\"a*\":[\"publish\"],"
	    "\"*b\":[\"subscribe\",\"history\"]}", &k[1], &cause) != 0)
		abort();
	fuzz_keys.keys = k;
	fuzz_keys.n = 2;
}

/* Check a refusal's cause: one line, no secret. */
static void
fuzz_token_cause(const char *cause)
{
	if (cause == NULL || *cause == '\0' || strchr(cause, '\n') != NULL ||
	    strstr(cause, K1_SECRET) != NULL || strstr(cause, K2_SECRET) != NULL)
		abort();
}

/*
 * Check what an accepted token says.  In mode 1, header and claims are the
 * JSON texts that were signed, read back here with jansson to compare.
 */
static void
fuzz_token_accepted(const struct token_claims *tc, unsigned int leeway,
    const char *header, size_t header_len, const char *claims,
    size_t claims_len)
{
	static const char	*names[] = { "a", "ab", "b", "xb", "*", "a*b" };
	json_t			*h, *c, *nbf;
	size_t			 i, len;
	unsigned int		 op;

	len = strlen(tc->sub);
	if (len == 0 || len > TOKEN_SUB_MAX || tc->key == NULL ||
	    tc->kid == NULL || strcmp(tc->kid, tc->key->name) != 0 ||
	    tc->cap == NULL || tc->exp_ms + leeway * 1000ULL <= NOW_MS)
		abort();
	for (i = 0; i < len; i++) {
		if ((unsigned char)tc->sub[i] < 0x20 || tc->sub[i] == 0x7f)
			abort();
	}
	for (i = 0; i < nitems(names); i++) {
		for (op = 1; op <= CAP_ADMIN; op <<= 1) {
			if (cap_allows(tc->cap, op, names[i],
			    strlen(names[i])) &&
			    !cap_allows(tc->key->cap, op, names[i],
			    strlen(names[i])))
				abort();
		}
	}
	if (header == NULL)
		return;
	h = json_loadb(header, header_len, 0, NULL);
	if (!json_is_string(json_object_get(h, "alg")) ||
	    strcmp(json_string_value(json_object_get(h, "alg")),
	    "HS256") != 0 || json_object_get(h, "crit") != NULL)
		abort();
	json_decref(h);
	c = json_loadb(claims, claims_len, 0, NULL);
	if (!json_is_integer(json_object_get(c, "exp")) ||
	    (uint64_t)json_integer_value(json_object_get(c, "exp")) * 1000 !=
	    tc->exp_ms ||
	    !json_is_string(json_object_get(c, "sub")) ||
	    strcmp(json_string_value(json_object_get(c, "sub")), tc->sub) != 0)
		abort();
	nbf = json_object_get(c, "nbf");
	if (nbf != NULL && (!json_is_integer(nbf) ||
	    (json_integer_value(nbf) - (json_int_t)leeway) * 1000 >
	    (json_int_t)NOW_MS))
		abort();
	json_decref(c);
}

/* Verify a token; header and claims are the JSON signed, in mode 1. */
static void
fuzz_token_verify(const char *tok, size_t len, const char *header,
    size_t header_len, const char *claims, size_t claims_len)
{
	struct token_claims	 tc;
	char			*cause = NULL;
	unsigned int		 leeway = (unsigned int)(len % 90);
	int			 rc;

	rc = token_verify(tok, len, apikey_lookup, &fuzz_keys, NOW_MS, leeway,
	    &tc, &cause);
	if (rc != 0) {
		fuzz_token_cause(cause);
		if (tc.sub != NULL || tc.cap != NULL || tc.kid != NULL)
			abort();
		free(cause);
		return;
	}
	if (cause != NULL)
		abort();
	if (header != NULL && tc.key != fuzz_keys.keys[0])
		abort();	/* signed with k1's secret, nothing else */
	if (leeway > TOKEN_LEEWAY_MAX)
		leeway = TOKEN_LEEWAY_MAX;
	fuzz_token_accepted(&tc, leeway, header, header_len, claims,
	    claims_len);
	token_claims_free(&tc);
}

/* Sign header and claims text with k1's secret, then verify. */
static void
fuzz_token_signed(const char *text, size_t size)
{
	const char	*nl;
	unsigned char	 mac[32];
	unsigned int	 maclen = sizeof mac;
	char		*h, *c, *s, *hc, *tok;

	if ((nl = memchr(text, '\n', size)) == NULL)
		return;
	h = b64_url_encode(text, nl - text);
	c = b64_url_encode(nl + 1, size - (nl + 1 - text));
	xasprintf(&hc, "%s.%s", h, c);
	if (HMAC(EVP_sha256(), K1_SECRET, (int)strlen(K1_SECRET),
	    (const unsigned char *)hc, strlen(hc), mac, &maclen) == NULL)
		abort();
	s = b64_url_encode(mac, maclen);
	xasprintf(&tok, "%s.%s", hc, s);
	fuzz_token_verify(tok, strlen(tok), text, nl - text, nl + 1,
	    size - (nl + 1 - text));
	free(tok);
	free(s);
	free(hc);
	free(c);
	free(h);
}

/* Check an Authorization header value both ways. */
static void
fuzz_token_header(const char *text, size_t size)
{
	const struct apikey	*k;
	const char		*tok;
	char			*value, *cause = NULL;
	size_t			 len;

	value = xstrndup(text, size);
	if (apikey_basic(value, &fuzz_keys, &k, &cause) == 0) {
		if (k == NULL || cause != NULL)
			abort();
	} else {
		fuzz_token_cause(cause);
		if (k != NULL)
			abort();
		free(cause);
	}
	if (token_bearer(value, &tok, &len) == 0) {
		if (tok < value || tok + len > value + strlen(value) ||
		    len == 0)
			abort();
		fuzz_token_verify(tok, len, NULL, 0, NULL, 0);
	}
	free(value);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*text = (const char *)data + 1;

	fuzz_token_init();
	if (size == 0)
		return (0);
	switch (data[0] % 3) {
	case 0:
		fuzz_token_verify(text, size - 1, NULL, 0, NULL, 0);
		break;
	case 1:
		fuzz_token_signed(text, size - 1);
		break;
	case 2:
		fuzz_token_header(text, size - 1);
		break;
	}
	return (0);
}
