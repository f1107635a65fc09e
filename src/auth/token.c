/*
 * Tokens: JWT (RFC 7519) signed with HS256 and nothing else.
 *
 * Our own small verifier on OpenSSL's HMAC rather than a JWT library:
 * Debian's libjwt 1.10 lets the token choose its algorithm, the classic
 * way to accept "alg":"none" or a public key used as an HMAC secret.  Here
 * the algorithm is fixed, the key comes from "kid" through the caller's
 * table, and the MAC is checked before a single claim is read.
 */

#include "config.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common.h"
#include "auth-int.h"

#define TOKEN_MAC_LEN	32	/* HMAC-SHA256 */

/* The parts of a token being verified, decoded. */
struct token_parts {
	unsigned char	*buf;		/* owns the decoded bytes below */
	unsigned char	*header, *claims, *sig;
	size_t		 header_len, claims_len, sig_len;
	size_t		 signed_len;	/* bytes of text the MAC covers */
};

/*
 * Return whether a subject is acceptable: 1..TOKEN_SUB_MAX bytes of
 * UTF-8 (jansson checked that) without C0 or C1 controls or DEL, since
 * it becomes the client field of messages and appears in log lines.
 */
static int
token_sub_ok(const char *s, size_t len)
{
	const unsigned char	*u = (const unsigned char *)s;
	size_t			 i;

	if (len == 0 || len > TOKEN_SUB_MAX)
		return (0);
	for (i = 0; i < len; i++) {
		if (u[i] < 0x20 || u[i] == 0x7f)
			return (0);
		if (u[i] == 0xc2 && i + 1 < len && u[i + 1] >= 0x80 &&
		    u[i + 1] <= 0x9f)
			return (0);
	}
	return (1);
}

/* Put the HMAC-SHA256 of len bytes under key in mac. */
static void
token_mac(const struct apikey *key, const void *buf, size_t len,
    unsigned char mac[TOKEN_MAC_LEN])
{
	unsigned int	maclen = TOKEN_MAC_LEN;

	if (HMAC(EVP_sha256(), key->secret, (int)key->secret_len, buf, len,
	    mac, &maclen) == NULL || maclen != TOKEN_MAC_LEN)
		fatalx("HMAC-SHA256 failed");
}

/* Encode a JSON object as compact base64url; the caller frees. */
static char *
token_encode(json_t *obj)
{
	char	*text, *enc;

	if ((text = json_dumps(obj, JSON_COMPACT)) == NULL)
		fatalx("out of memory");
	enc = b64_url_encode(text, strlen(text));
	free(text);
	return (enc);
}

/* Sign a token. */
int
token_sign(const struct apikey *key, const char *sub, int64_t iat,
    int64_t exp, const char *cap_json, char **tokenp, char **cause)
{
	json_error_t	 jerr;
	json_t		*header, *claims, *capobj = NULL;
	struct cap	*cap;
	unsigned char	 mac[TOKEN_MAC_LEN];
	char		*h, *c, *s, *signing;
	int		 error;

	*tokenp = NULL;
	if (!token_sub_ok(sub, strlen(sub))) {
		xasprintf(cause, "the subject must be 1 to %d bytes without "
		    "control characters", TOKEN_SUB_MAX);
		return (AUTH_EINVAL);
	}
	if (iat < 0 || exp <= iat || exp > TOKEN_TIME_MAX) {
		*cause = xstrdup("the expiry must be after the issue time and "
		    "before the year 10000");
		return (AUTH_EINVAL);
	}
	if (cap_json != NULL) {
		if ((error = cap_parse(cap_json, strlen(cap_json), &cap,
		    cause)) != 0)
			return (error);
		cap_free(cap);
		capobj = json_loadb(cap_json, strlen(cap_json),
		    JSON_REJECT_DUPLICATES, &jerr);
		if (capobj == NULL)
			fatalx("capability parsed twice differently");
	}

	header = json_pack("{s:s, s:s, s:s}", "alg", "HS256", "typ", "JWT",
	    "kid", key->name);
	claims = json_pack("{s:s, s:I, s:I}", "sub", sub, "iat",
	    (json_int_t)iat, "exp", (json_int_t)exp);
	if (header == NULL || claims == NULL)
		fatalx("out of memory");
	if (capobj != NULL && json_object_set_new(claims, "cap", capobj) != 0)
		fatalx("out of memory");
	h = token_encode(header);
	c = token_encode(claims);
	json_decref(header);
	json_decref(claims);

	xasprintf(&signing, "%s.%s", h, c);
	token_mac(key, signing, strlen(signing), mac);
	s = b64_url_encode(mac, sizeof mac);
	xasprintf(tokenp, "%s.%s", signing, s);
	free(h);
	free(c);
	free(s);
	free(signing);
	if (strlen(*tokenp) > TOKEN_MAX_BYTES) {
		free(*tokenp);
		*tokenp = NULL;
		xasprintf(cause, "the token would be over %d bytes (a smaller "
		    "capability?)", TOKEN_MAX_BYTES);
		return (AUTH_EINVAL);
	}
	return (0);
}

/*
 * Split a token into its three parts and decode each strictly.  Only the
 * shape is checked here; nothing decoded is interpreted.
 */
static int
token_split(const char *tok, size_t len, struct token_parts *tp, char **cause)
{
	const char	*d1, *d2, *sig;
	size_t		 hlen, clen, slen;
	unsigned char	*o;

	if (len > TOKEN_MAX_BYTES) {
		xasprintf(cause, "token longer than %d bytes", TOKEN_MAX_BYTES);
		return (AUTH_ETOOBIG);
	}
	if ((d1 = memchr(tok, '.', len)) == NULL ||
	    (d2 = memchr(d1 + 1, '.', len - (d1 + 1 - tok))) == NULL) {
		*cause = xstrdup("token is not three parts separated by dots");
		return (AUTH_EFORMAT);
	}
	sig = d2 + 1;
	slen = len - (sig - tok);
	if (memchr(sig, '.', slen) != NULL) {
		*cause = xstrdup("token has more than three parts");
		return (AUTH_EFORMAT);
	}
	hlen = d1 - tok;
	clen = d2 - (d1 + 1);
	if (hlen == 0 || clen == 0 || slen == 0) {
		*cause = xstrdup("token has an empty part");
		return (AUTH_EFORMAT);
	}

	tp->buf = o = xmalloc(len);
	tp->header = o;
	if (b64_url_decode(tok, hlen, o, &tp->header_len) != 0)
		goto bad;
	o += tp->header_len;
	tp->claims = o;
	if (b64_url_decode(d1 + 1, clen, o, &tp->claims_len) != 0)
		goto bad;
	o += tp->claims_len;
	tp->sig = o;
	if (b64_url_decode(sig, slen, o, &tp->sig_len) != 0)
		goto bad;
	if (tp->sig_len != TOKEN_MAC_LEN) {
		*cause = xstrdup("token signature is not 32 bytes");
		return (AUTH_EFORMAT);
	}
	tp->signed_len = d2 - tok;
	return (0);
bad:
	*cause = xstrdup("token part is not canonical unpadded base64url");
	return (AUTH_EFORMAT);
}

/* Parse a decoded part as one JSON object without duplicate members. */
static int
token_object(const unsigned char *buf, size_t len, const char *what,
    json_t **objp, char **cause)
{
	json_t	*obj;

	obj = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, NULL);
	if (obj == NULL || !json_is_object(obj)) {
		json_decref(obj);
		xasprintf(cause, "token %s is not one JSON object without "
		    "duplicate members", what);
		return (AUTH_EJSON);
	}
	*objp = obj;
	return (0);
}

/* Check the header: HS256 only, no critical extensions; find the key. */
static int
token_header(json_t *hdr, token_lookup_cb lookup, void *arg,
    const struct apikey **keyp, const char **kidp, char **cause)
{
	json_t	*alg, *kid;

	alg = json_object_get(hdr, "alg");
	if (!json_is_string(alg) || json_string_length(alg) != 5 ||
	    memcmp(json_string_value(alg), "HS256", 5) != 0) {
		*cause = xstrdup("token algorithm is not HS256");
		return (AUTH_EALG);
	}
	/* RFC 7515 4.1.11: extensions we do not know must be refused. */
	if (json_object_get(hdr, "crit") != NULL) {
		*cause = xstrdup("token has critical header extensions");
		return (AUTH_EALG);
	}
	kid = json_object_get(hdr, "kid");
	if (!json_is_string(kid) || json_string_length(kid) == 0) {
		*cause = xstrdup("token has no key name (kid)");
		return (AUTH_EKID);
	}
	if ((*keyp = lookup(json_string_value(kid), arg)) == NULL) {
		*cause = xstrdup("token key (kid) unknown");
		return (AUTH_EKID);
	}
	*kidp = json_string_value(kid);
	return (0);
}

/*
 * Read a time claim: an integer number of seconds in 0..TOKEN_TIME_MAX.
 * Returns 1 if present, 0 if absent, -1 if of the wrong type or range.
 */
static int
token_time(json_t *claims, const char *name, int64_t *t)
{
	json_t	*v;

	if ((v = json_object_get(claims, name)) == NULL)
		return (0);
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > TOKEN_TIME_MAX)
		return (-1);
	*t = json_integer_value(v);
	return (1);
}

/* Check the claims' types and ranges, and fill sub and cap of out. */
static int
token_claims(json_t *claims, const struct apikey *key, int64_t *exp,
    int64_t *nbf, int *has_nbf, struct token_claims *out, char **cause)
{
	json_t		*sub, *capv;
	struct cap	*cap;
	char		*why;
	int64_t		 iat;

	if (token_time(claims, "exp", exp) != 1) {
		*cause = xstrdup("token exp missing or not an integer number "
		    "of seconds");
		return (AUTH_ECLAIM);
	}
	if ((*has_nbf = token_time(claims, "nbf", nbf)) == -1 ||
	    token_time(claims, "iat", &iat) == -1) {
		*cause = xstrdup("token nbf or iat not an integer number of "
		    "seconds");
		return (AUTH_ECLAIM);
	}
	sub = json_object_get(claims, "sub");
	if (!json_is_string(sub) || !token_sub_ok(json_string_value(sub),
	    json_string_length(sub))) {
		xasprintf(cause, "token sub missing, empty, over %d bytes or "
		    "with control characters", TOKEN_SUB_MAX);
		return (AUTH_ECLAIM);
	}
	if ((capv = json_object_get(claims, "cap")) != NULL) {
		/*
		 * cap_from_json's message quotes the pattern at fault: part
		 * of the token, which a cause never shows.  `logwire token
		 * --cap` gives the details when the token is made.
		 */
		if (cap_from_json(capv, &cap, &why) != 0) {
			free(why);
			*cause = xstrdup("token cap claim is not a capability");
			return (AUTH_ECLAIM);
		}
		out->cap = cap_intersect(key->cap, cap);
		cap_free(cap);
	} else
		out->cap = cap_copy(key->cap);
	out->sub = xstrdup(json_string_value(sub));
	return (0);
}

/* Verify a token. */
int
token_verify(const char *token, size_t len, token_lookup_cb lookup,
    void *arg, uint64_t now_ms, unsigned int leeway_s,
    struct token_claims *out, char **cause)
{
	struct token_parts	 tp;
	const struct apikey	*key;
	json_t			*hdr = NULL, *claims = NULL;
	const char		*kid;
	unsigned char		 mac[TOKEN_MAC_LEN];
	uint64_t		 leeway;
	int64_t			 exp, nbf = 0;
	int			 has_nbf, error;

	memset(out, 0, sizeof *out);
	memset(&tp, 0, sizeof tp);
	if ((error = token_split(token, len, &tp, cause)) != 0)
		goto out;
	if ((error = token_object(tp.header, tp.header_len, "header", &hdr,
	    cause)) != 0)
		goto out;
	if ((error = token_header(hdr, lookup, arg, &key, &kid, cause)) != 0)
		goto out;

	token_mac(key, token, tp.signed_len, mac);
	if (CRYPTO_memcmp(mac, tp.sig, TOKEN_MAC_LEN) != 0) {
		*cause = xstrdup("token signature does not match");
		error = AUTH_ESIG;
		goto out;
	}

	if ((error = token_object(tp.claims, tp.claims_len, "claims",
	    &claims, cause)) != 0)
		goto out;
	if ((error = token_claims(claims, key, &exp, &nbf, &has_nbf, out,
	    cause)) != 0)
		goto out;

	leeway = leeway_s > TOKEN_LEEWAY_MAX ? TOKEN_LEEWAY_MAX : leeway_s;
	if (now_ms >= ((uint64_t)exp + leeway) * 1000) {
		*cause = xstrdup("token expired");
		error = AUTH_EEXPIRED;
		goto out;
	}
	if (has_nbf && (uint64_t)nbf > leeway &&
	    now_ms < ((uint64_t)nbf - leeway) * 1000) {
		*cause = xstrdup("token not valid yet (nbf)");
		error = AUTH_ENOTYET;
		goto out;
	}
	out->kid = xstrdup(kid);
	out->key = key;
	out->exp_ms = (uint64_t)exp * 1000;
out:
	if (error != 0)
		token_claims_free(out);
	json_decref(hdr);
	json_decref(claims);
	if (tp.buf != NULL) {
		OPENSSL_cleanse(tp.buf, len);
		free(tp.buf);
	}
	OPENSSL_cleanse(mac, sizeof mac);
	return (error);
}

/* Free the contents of a struct token_claims and zero it. */
void
token_claims_free(struct token_claims *tc)
{
	free(tc->sub);
	free(tc->kid);
	cap_free(tc->cap);
	memset(tc, 0, sizeof *tc);
}

/* Find the token in an Authorization header value "Bearer TOKEN". */
int
token_bearer(const char *value, const char **tokenp, size_t *lenp)
{
	const char	*p = value, *end;

	while (*p == ' ' || *p == '\t')
		p++;
	if (strncasecmp(p, "Bearer", 6) != 0 || (p[6] != ' ' && p[6] != '\t'))
		return (-1);
	p += 6;
	while (*p == ' ' || *p == '\t')
		p++;
	end = p + strlen(p);
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (end == p || memchr(p, ' ', end - p) != NULL ||
	    memchr(p, '\t', end - p) != NULL)
		return (-1);
	*tokenp = p;
	*lenp = end - p;
	return (0);
}
