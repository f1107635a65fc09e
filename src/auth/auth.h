/*
 * logwire credentials: capabilities, API keys and HS256 tokens.
 *
 * No networking here: the daemon checks the Authorization header and the
 * `auth` op with this library, and `logwire token` issues tokens with it.
 * Conventions, as in storage/storage.h:
 *
 * - Functions return 0 on success or a negative AUTH_E* code;
 *   auth_strerror() names it and auth_wire_code() gives the protocol's
 *   error code (40101 for an expired token, 40100 for every other refusal).
 *   Where a message meant for a user can say more, it comes back through
 *   `char **cause`, which the caller frees.  A cause never contains a
 *   token, a secret, or any part of either.
 * - Out of memory is fatal (xmalloc); nothing here returns it.
 * - Objects are used from one thread at a time.  A struct cap shares its
 *   rule sets by reference count (not atomic): keep a capability and the
 *   capabilities made from it on the same thread.
 *
 * Capabilities (DESIGN.md, "Security").  A capability is a JSON object
 * mapping channel patterns to arrays of operations:
 *
 *	{"orders:*":["subscribe","history"],"chat:*":["publish","subscribe"],
 *	 "*":["admin"]}
 *
 * In a pattern `*` matches any run of characters, the empty run included
 * (`orders:*` matches `orders:` and `orders:1`, `*` matches every
 * channel); every other byte matches itself; there is no escape, so a
 * pattern cannot match a literal `*` alone (`*` matches it along with
 * everything else).  Matching is iterative, O(pattern x name) at worst
 * (a pathological `*a*a*a*b` against a long name costs microseconds).
 * An operation is allowed on a channel if some rule whose pattern matches
 * the channel lists it; the order of the rules does not matter.
 *
 * What each operation is for:
 *   publish    publish to the channel (WebSocket, REST POST)
 *   subscribe  subscribe to it (WebSocket, SSE)
 *   history    read it back (REST messages, one message, export, channel
 *              metadata)
 *   admin      delete the channel.  `admin` does not imply the other three:
 *              the example above grants no publish on "orders:1".
 * Whole-store operations (GET /v1/snapshot, /metrics) have no channel.
 * They need `admin` granted by a rule whose pattern matches every name
 * (`*`, or `**`...): see cap_allows_store().  `admin` on `orders:*` lets a
 * client delete orders channels but not read the whole store.
 *
 * Intersection.  A token's `cap` claim can only narrow its key's
 * capability: the effective capability is the intersection, defined
 * exactly as "an operation on a channel is allowed iff both allow it".
 * It is kept as the list of both rule sets (cap_intersect) rather than
 * rewritten into one set of patterns, because the intersection of two
 * patterns is not always a pattern (`a*` and `*a` share "a" and "a..a").
 * A cap claim wider than its key is therefore not refused by
 * token_verify(): its wider part is simply never granted.  Refusing would
 * need a subset test over sets of patterns, which is only decidable
 * conservatively (a union of key rules can cover a claim no single rule
 * covers), and would turn a narrowed key (on a reload) into refused tokens
 * instead of narrowed ones.  `logwire token` does catch a --cap wider
 * than the capability given with --key at issuance (cap_covers()).
 *
 * Reserved channels (`$...`) are matched like any other name here; the
 * server refuses them (40301) before asking the capability.
 */

#ifndef LOGWIRE_AUTH_H
#define LOGWIRE_AUTH_H

#include <stddef.h>
#include <stdint.h>

/* Error codes.  Outside LMDB's range and the store's (-31001 ..). */
#define AUTH_EINVAL	(-32001)	/* bad argument: key spec, capability,
					   header value */
#define AUTH_EFORMAT	(-32002)	/* token is not three canonical
					   base64url parts, or the signature
					   part is not 32 bytes */
#define AUTH_ETOOBIG	(-32003)	/* token longer than TOKEN_MAX_BYTES */
#define AUTH_EJSON	(-32004)	/* header or claims not one JSON object
					   (bad JSON, duplicate member, other
					   value) */
#define AUTH_EALG	(-32005)	/* alg missing or not exactly "HS256",
					   or a "crit" header parameter */
#define AUTH_EKID	(-32006)	/* kid missing, not a string, or no
					   such key */
#define AUTH_ESIG	(-32007)	/* MAC does not match */
#define AUTH_ECLAIM	(-32008)	/* a claim missing or of the wrong type
					   or range: exp, nbf, iat, sub, cap */
#define AUTH_EEXPIRED	(-32009)	/* exp (plus leeway) has passed */
#define AUTH_ENOTYET	(-32010)	/* nbf (minus leeway) is in the future */
#define AUTH_EDENIED	(-32011)	/* Basic: unknown key name or wrong
					   secret (one code for both) */

/* Protocol error codes (DESIGN.md, "Error codes"). */
#define AUTH_WIRE_INVALID	40100	/* credentials missing or invalid */
#define AUTH_WIRE_EXPIRED	40101	/* token expired */

/* Operations, as bits of a rule. */
#define CAP_PUBLISH	0x1
#define CAP_SUBSCRIBE	0x2
#define CAP_HISTORY	0x4
#define CAP_ADMIN	0x8
#define CAP_ALL		(CAP_PUBLISH|CAP_SUBSCRIBE|CAP_HISTORY|CAP_ADMIN)

/* Limits of a capability. */
#define CAP_MAX_RULES		256	/* patterns in one capability */
#define CAP_PATTERN_MAX		1024	/* bytes of one pattern */
#define CAP_TEXT_MAX		(64 * 1024)	/* bytes of capability JSON */

/* Limits of API keys. */
#define APIKEY_NAME_MAX		255	/* bytes; a name is a message's client */
#define APIKEY_SECRET_MIN	16	/* bytes: 16 random printable bytes
					   carry about 100 bits */
#define APIKEY_SECRET_MAX	1024

/* Limits of tokens. */
#define TOKEN_MAX_BYTES		8192	/* whole token, dots included */
#define TOKEN_LEEWAY_MAX	60	/* seconds */
#define TOKEN_SUB_MAX		255	/* bytes: the store's client field */
#define TOKEN_TIME_MAX		253402300799LL	/* 9999-12-31T23:59:59Z */

struct cap;

/* An API key: its name, its secret and its capability.  Read-only. */
struct apikey {
	char		*name;		/* NUL-terminated */
	char		*secret;	/* NUL-terminated; the HMAC key */
	size_t		 secret_len;
	unsigned char	 secret_hash[32];	/* SHA-256 of the secret */
	struct cap	*cap;
};

/* A list of keys, e.g. the server's, for lookups. */
struct apikey_list {
	struct apikey	**keys;
	size_t		  n;
};

/* What a verified token says.  Free with token_claims_free(). */
struct token_claims {
	char			*sub;		/* non-empty, no control bytes */
	char			*kid;		/* the key's name */
	const struct apikey	*key;		/* as returned by the lookup */
	uint64_t		 exp_ms;	/* exp, Unix ms */
	struct cap		*cap;		/* effective: key's ∩ cap claim */
};

/* Find the key named kid (NUL-terminated), or return NULL. */
typedef const struct apikey *(*token_lookup_cb)(const char *kid, void *arg);

/* auth.c */

/* Return a static string naming an AUTH_E* code (or "unknown error"). */
const char	*auth_strerror(int err);
/*
 * Return the protocol error code for an AUTH_E* code: AUTH_WIRE_EXPIRED
 * for AUTH_EEXPIRED, AUTH_WIRE_INVALID for every other code.
 */
int		 auth_wire_code(int err);

/* b64.c: strict base64 (RFC 4648) for tokens and Basic credentials. */

/*
 * Encode len bytes as unpadded base64url.  Returns a NUL-terminated string
 * the caller frees.
 */
char		*b64_url_encode(const void *buf, size_t len);
/*
 * Decode len characters of unpadded base64url into out, which has room
 * for at least len * 3 / 4 bytes; *outlen is set to the bytes written.
 * Returns 0, or -1 if a character is outside the url alphabet (`=`
 * included), len % 4 == 1, or the unused bits of the last character are
 * not zero (only one text decodes to given bytes).
 */
int		 b64_url_decode(const char *s, size_t len, unsigned char *out,
		     size_t *outlen);
/*
 * Decode len characters of padded standard base64 into out (room for
 * len * 3 / 4 bytes).  Returns 0, or -1 if len % 4 != 0, a character is
 * outside the alphabet, `=` stands anywhere but in the last two places,
 * or the unused bits before the padding are not zero.
 */
int		 b64_decode(const char *s, size_t len, unsigned char *out,
		     size_t *outlen);

/* cap.c */

/*
 * Parse len bytes of capability JSON (see above).  On success *capp is a
 * new capability the caller frees with cap_free().  On failure returns
 * AUTH_EINVAL and sets *cause: not JSON or not an object, a duplicate
 * pattern, an empty pattern or one over CAP_PATTERN_MAX bytes, more than
 * CAP_MAX_RULES patterns, text over CAP_TEXT_MAX bytes, a value that is
 * not an array, an operation that is not a string or not one of publish,
 * subscribe, history, admin.  `{}` and `"p":[]` are valid and grant
 * nothing; an operation listed twice counts once.
 */
int		 cap_parse(const char *text, size_t len, struct cap **capp,
		     char **cause);
/* Return a new capability granting every operation on `*`. */
struct cap	*cap_all(void);
/*
 * Return a new capability allowing exactly what both a and b allow (see
 * "Intersection" above).  a and b are not changed and may be freed before
 * the result; the result shares their rule sets.
 */
struct cap	*cap_intersect(const struct cap *a, const struct cap *b);
/* Return a new capability allowing what c allows. */
struct cap	*cap_copy(const struct cap *c);
/* Free a capability (NULL is a no-op). */
void		 cap_free(struct cap *c);
/*
 * Return whether pattern (plen bytes) matches name (nlen bytes): `*`
 * matches any run, every other byte itself.  Used for retention patterns
 * too.  A name containing `*` is matched byte for byte, so
 * cap_match(q, p) on two patterns says whether q matches every name p
 * does (the test cap_covers() uses).
 */
int		 cap_match(const char *pattern, size_t plen, const char *name,
		     size_t nlen);
/*
 * Return whether c allows operation op (one CAP_* bit) on the channel
 * name (len bytes).  An empty name is never allowed.
 */
int		 cap_allows(const struct cap *c, unsigned int op,
		     const char *name, size_t len);
/*
 * Return whether c allows op on every channel: a rule with a pattern
 * matching every name (`*`) grants it, in each rule set of c.  Whole-store
 * operations (snapshot, metrics) ask cap_allows_store(c, CAP_ADMIN).
 */
int		 cap_allows_store(const struct cap *c, unsigned int op);
/*
 * Return whether outer allows everything inner does, by a conservative
 * test: each operation of each rule of inner must be granted by a single
 * rule of outer whose pattern matches every name the inner pattern does.
 * A yes is always right; a no may be wrong only when a union of outer's
 * patterns covers an inner pattern that no single one covers.
 */
int		 cap_covers(const struct cap *outer, const struct cap *inner);
/* Return the CAP_* bit of an operation name (len bytes), or 0. */
unsigned int	 cap_op(const char *name, size_t len);
/* Return the name of one CAP_* bit, or NULL. */
const char	*cap_op_name(unsigned int op);

/* apikey.c */

/*
 * Parse a key given as NAME:SECRET[:CAPABILITY-JSON] (the --key flag, and
 * [key NAME] in the configuration file).  NAME: 1..APIKEY_NAME_MAX bytes
 * of printable ASCII other than ':' and space.  SECRET:
 * APIKEY_SECRET_MIN..APIKEY_SECRET_MAX bytes of printable ASCII other than
 * ':' and space; it is the HMAC key as given (no hex or base64 decoding).
 * CAPABILITY-JSON: everything after the second ':', parsed with
 * cap_parse(); without it the key may do everything
 * ({"*":["admin","publish","subscribe","history"]}).  On success *keyp is
 * a new key the caller frees with apikey_free(); on failure returns
 * AUTH_EINVAL and sets *cause (which names the part at fault, never the
 * secret).
 */
int		 apikey_parse(const char *spec, struct apikey **keyp,
		     char **cause);
/* Free a key (NULL is a no-op). */
void		 apikey_free(struct apikey *k);
/* Return the key of list named name, or NULL. */
const struct apikey *apikey_find(const struct apikey_list *list,
		     const char *name, size_t len);
/* A token_lookup_cb over a struct apikey_list given as arg. */
const struct apikey *apikey_lookup(const char *kid, void *arg);
/*
 * Check the value of an Authorization header carrying Basic credentials
 * (RFC 7617: "Basic" in any case, spaces, then the padded base64 of
 * NAME:SECRET) against list.  On success sets *keyp to the key (valid as
 * long as the list) and returns 0.  Returns AUTH_EINVAL if the value is
 * not Basic credentials (another scheme, bad base64, no ':'), and
 * AUTH_EDENIED for an unknown name or a wrong secret alike.  The secret is
 * compared in constant time (SHA-256 of both, CRYPTO_memcmp), whatever its
 * length and whether or not the name exists.
 */
int		 apikey_basic(const char *value, const struct apikey_list *list,
		     const struct apikey **keyp, char **cause);

/* token.c */

/*
 * Sign a token with key: header {"alg":"HS256","typ":"JWT","kid":NAME},
 * claims {"sub":SUB,"iat":IAT,"exp":EXP[,"cap":CAP]}, where cap_json is
 * NULL or capability JSON (checked with cap_parse()).  iat and exp are
 * Unix seconds, exp > iat, exp <= TOKEN_TIME_MAX.  sub must be what
 * token_verify() accepts.  On success *tokenp is the token (the caller
 * frees); on failure returns AUTH_EINVAL and sets *cause.
 */
int		 token_sign(const struct apikey *key, const char *sub,
		     int64_t iat, int64_t exp, const char *cap_json,
		     char **tokenp, char **cause);
/*
 * Verify a token of len bytes at time now_ms (Unix ms), with leeway_s
 * seconds of clock skew allowed on exp and nbf (more than
 * TOKEN_LEEWAY_MAX counts as TOKEN_LEEWAY_MAX).  lookup(kid, arg) finds
 * the signing key.  Checks, in this order (the first failure is
 * returned):
 *   size (AUTH_ETOOBIG); three canonical base64url parts, the last 32
 *   bytes (AUTH_EFORMAT); the header one JSON object without duplicate
 *   members (AUTH_EJSON); alg exactly "HS256" and no "crit" (AUTH_EALG);
 *   kid a string naming a key (AUTH_EKID); HMAC-SHA256 of the first two
 *   parts with the key's secret, compared in constant time (AUTH_ESIG);
 *   the claims one JSON object without duplicates (AUTH_EJSON); exp an
 *   integer in 0..TOKEN_TIME_MAX, nbf and iat absent or likewise, sub a
 *   string of 1..TOKEN_SUB_MAX bytes without control characters, cap
 *   absent or a capability (AUTH_ECLAIM); then the times: expired when
 *   now_ms >= (exp + leeway) * 1000 (AUTH_EEXPIRED), not yet valid when
 *   now_ms < (nbf - leeway) * 1000 (AUTH_ENOTYET).
 * Nothing in the claims is looked at before the MAC matches, and an
 * expired token is reported as such only if everything else is right.
 * On success fills *out (free it with token_claims_free()); its key is
 * what lookup returned, its cap the key's capability intersected with the
 * cap claim.  On failure *out is zeroed and *cause says why.
 */
int		 token_verify(const char *token, size_t len,
		     token_lookup_cb lookup, void *arg, uint64_t now_ms,
		     unsigned int leeway_s, struct token_claims *out,
		     char **cause);
/* Free what token_verify() put in a struct token_claims. */
void		 token_claims_free(struct token_claims *tc);
/*
 * If the Authorization header value is "Bearer TOKEN" (scheme in any
 * case, then spaces), point *tokenp at TOKEN and set *lenp; return 0.
 * Return -1 for any other value.
 */
int		 token_bearer(const char *value, const char **tokenp,
		     size_t *lenp);

#endif /* LOGWIRE_AUTH_H */
