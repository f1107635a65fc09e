/*
 * API keys: NAME:SECRET[:CAPABILITY-JSON] as given with --key, and the
 * check of Basic credentials against a list of them.
 */

#include "config.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common.h"
#include "auth.h"

/* Bytes of Basic credentials decoded at most: name, ':', secret. */
#define APIKEY_BASIC_MAX	(APIKEY_NAME_MAX + 1 + APIKEY_SECRET_MAX)

/* Return whether len bytes are printable ASCII other than ':' and space. */
static int
apikey_chars_ok(const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		if (s[i] <= ' ' || s[i] > '~' || s[i] == ':')
			return (0);
	}
	return (1);
}

/* Put the SHA-256 of len bytes in md. */
static void
apikey_hash(const void *buf, size_t len, unsigned char md[32])
{
	unsigned int	mdlen = 32;

	if (EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != 32)
		fatalx("SHA-256 failed");
}

/* Parse NAME:SECRET[:CAPABILITY-JSON]. */
int
apikey_parse(const char *spec, struct apikey **keyp, char **cause)
{
	struct apikey	*k;
	const char	*c1, *secret, *c2;
	size_t		 nlen, slen;
	int		 error;

	*keyp = NULL;
	if ((c1 = strchr(spec, ':')) == NULL) {
		*cause = xstrdup("key: expected NAME:SECRET[:CAPABILITY]");
		return (AUTH_EINVAL);
	}
	nlen = c1 - spec;
	if (nlen == 0 || nlen > APIKEY_NAME_MAX ||
	    !apikey_chars_ok(spec, nlen)) {
		xasprintf(cause, "key: the name must be 1 to %d printable "
		    "characters without ':' or space", APIKEY_NAME_MAX);
		return (AUTH_EINVAL);
	}
	secret = c1 + 1;
	if ((c2 = strchr(secret, ':')) != NULL)
		slen = c2 - secret;
	else
		slen = strlen(secret);
	if (slen < APIKEY_SECRET_MIN || slen > APIKEY_SECRET_MAX ||
	    !apikey_chars_ok(secret, slen)) {
		xasprintf(cause, "key %.*s: the secret must be %d to %d "
		    "printable characters without ':' or space", (int)nlen,
		    spec, APIKEY_SECRET_MIN, APIKEY_SECRET_MAX);
		return (AUTH_EINVAL);
	}

	k = xcalloc(1, sizeof *k);
	k->name = xstrndup(spec, nlen);
	k->secret = xstrndup(secret, slen);
	k->secret_len = slen;
	apikey_hash(k->secret, slen, k->secret_hash);
	if (c2 == NULL)
		k->cap = cap_all();
	else if ((error = cap_parse(c2 + 1, strlen(c2 + 1), &k->cap,
	    cause)) != 0) {
		apikey_free(k);
		return (error);
	}
	*keyp = k;
	return (0);
}

/* Free a key, wiping its secret. */
void
apikey_free(struct apikey *k)
{
	if (k == NULL)
		return;
	free(k->name);
	if (k->secret != NULL) {
		OPENSSL_cleanse(k->secret, k->secret_len);
		free(k->secret);
	}
	OPENSSL_cleanse(k->secret_hash, sizeof k->secret_hash);
	cap_free(k->cap);
	free(k);
}

/* Return the key of list named name (len bytes), or NULL. */
const struct apikey *
apikey_find(const struct apikey_list *list, const char *name, size_t len)
{
	size_t	i;

	for (i = 0; list != NULL && i < list->n; i++) {
		if (strlen(list->keys[i]->name) == len &&
		    memcmp(list->keys[i]->name, name, len) == 0)
			return (list->keys[i]);
	}
	return (NULL);
}

/* Find a token's key in the struct apikey_list arg. */
const struct apikey *
apikey_lookup(const char *kid, void *arg)
{
	return (apikey_find(arg, kid, strlen(kid)));
}

/*
 * Check Basic credentials.  Names are not secret (a token carries its
 * key's name in the clear), so the name is looked up plainly; the secret
 * is compared through its SHA-256, a fixed 32 bytes whatever its length,
 * and a missing key is compared against a hash no secret has, so that a
 * wrong secret and an unknown name take the same time.
 */
int
apikey_basic(const char *value, const struct apikey_list *list,
    const struct apikey **keyp, char **cause)
{
	static const unsigned char	 nokey[32];
	const struct apikey		*k;
	unsigned char			 buf[APIKEY_BASIC_MAX + 3], md[32];
	const char			*p, *end;
	unsigned char			*colon;
	size_t				 len, n;
	int				 ok;

	*keyp = NULL;
	p = value;
	while (*p == ' ' || *p == '\t')
		p++;
	if (strncasecmp(p, "Basic", 5) != 0 || (p[5] != ' ' && p[5] != '\t')) {
		*cause = xstrdup("not Basic credentials");
		return (AUTH_EINVAL);
	}
	p += 5;
	while (*p == ' ' || *p == '\t')
		p++;
	end = p + strlen(p);
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	len = end - p;
	if (len == 0 || len > (APIKEY_BASIC_MAX + 2) / 3 * 4) {
		*cause = xstrdup("Basic credentials empty or too long");
		return (AUTH_EINVAL);
	}
	if (b64_decode(p, len, buf, &n) != 0) {
		*cause = xstrdup("Basic credentials are not base64");
		return (AUTH_EINVAL);
	}
	if ((colon = memchr(buf, ':', n)) == NULL) {
		OPENSSL_cleanse(buf, n);
		*cause = xstrdup("Basic credentials without ':'");
		return (AUTH_EINVAL);
	}
	k = apikey_find(list, (const char *)buf, colon - buf);
	apikey_hash(colon + 1, n - (colon + 1 - buf), md);
	OPENSSL_cleanse(buf, n);
	ok = CRYPTO_memcmp(md, k != NULL ? k->secret_hash : nokey, 32) == 0;
	if (!ok || k == NULL) {
		*cause = xstrdup("unknown key or wrong secret");
		return (AUTH_EDENIED);
	}
	*keyp = k;
	return (0);
}
