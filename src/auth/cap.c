/*
 * Capabilities: which operations a key or a token may do on which
 * channels, by patterns where `*` matches any run of characters.
 */

#include "config.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "auth-int.h"

/* One pattern and the operations it grants. */
struct cap_rule {
	char		*pattern;
	size_t		 len;
	unsigned int	 ops;		/* CAP_* bits */
};

/*
 * The rules of one capability as written.  Immutable once built and
 * shared by reference between the capabilities made from it (a key's and
 * every token's intersection with it), so that a connection's effective
 * capability costs a pointer per set instead of a copy of the patterns.
 */
struct cap_set {
	unsigned int	 refs;
	size_t		 n;
	struct cap_rule	 rules[];
};

/* Rule sets that must all allow an operation: their intersection. */
struct cap {
	size_t		 n;
	struct cap_set	*sets[];
};

static const struct {
	const char	*name;
	unsigned int	 op;
} cap_ops[] = {
	{ "publish",	CAP_PUBLISH },
	{ "subscribe",	CAP_SUBSCRIBE },
	{ "history",	CAP_HISTORY },
	{ "admin",	CAP_ADMIN }
};

/* Return the CAP_* bit of an operation name, or 0. */
unsigned int
cap_op(const char *name, size_t len)
{
	size_t	i;

	for (i = 0; i < nitems(cap_ops); i++) {
		if (strlen(cap_ops[i].name) == len &&
		    memcmp(cap_ops[i].name, name, len) == 0)
			return (cap_ops[i].op);
	}
	return (0);
}

/* Return the name of a CAP_* bit, or NULL. */
const char *
cap_op_name(unsigned int op)
{
	size_t	i;

	for (i = 0; i < nitems(cap_ops); i++) {
		if (cap_ops[i].op == op)
			return (cap_ops[i].name);
	}
	return (NULL);
}

/* Allocate an empty rule set with room for n rules. */
static struct cap_set *
cap_set_new(size_t n)
{
	struct cap_set	*s;

	s = xcalloc(1, sizeof *s + n * sizeof s->rules[0]);
	s->refs = 1;
	return (s);
}

/* Drop a reference to a rule set. */
static void
cap_set_unref(struct cap_set *s)
{
	size_t	i;

	if (--s->refs > 0)
		return;
	for (i = 0; i < s->n; i++)
		free(s->rules[i].pattern);
	free(s);
}

/* Make a capability of n sets taken from a and b (each may be NULL). */
static struct cap *
cap_join(const struct cap *a, const struct cap *b)
{
	struct cap	*c;
	size_t		 na = a != NULL ? a->n : 0, nb = b != NULL ? b->n : 0;
	size_t		 i;

	c = xcalloc(1, sizeof *c + (na + nb) * sizeof c->sets[0]);
	for (i = 0; i < na; i++) {
		c->sets[c->n] = a->sets[i];
		c->sets[c->n++]->refs++;
	}
	for (i = 0; i < nb; i++) {
		c->sets[c->n] = b->sets[i];
		c->sets[c->n++]->refs++;
	}
	return (c);
}

/* Wrap one new rule set as a capability, taking its reference. */
static struct cap *
cap_wrap(struct cap_set *s)
{
	struct cap	*c;

	c = xcalloc(1, sizeof *c + sizeof c->sets[0]);
	c->sets[0] = s;
	c->n = 1;
	return (c);
}

/*
 * Return a copy of s fit for a one-line message: at most max bytes, then
 * "...", anything but printable ASCII shown as '?'.
 */
static char *
cap_quote(const char *s, size_t max)
{
	char	*q;
	size_t	 i, len = strlen(s);

	q = xstrndup(s, len > max ? max : len);
	for (i = 0; q[i] != '\0'; i++) {
		if ((unsigned char)q[i] < 0x20 || (unsigned char)q[i] > 0x7e)
			q[i] = '?';
	}
	if (len > max) {
		q = xrealloc(q, max + 4);
		memcpy(q + max, "...", 4);
	}
	return (q);
}

/* Parse one rule's array of operations into bits. */
static int
cap_parse_ops(const char *key, json_t *arr, unsigned int *ops,
    char **cause)
{
	json_t		*v;
	char		*pattern;
	size_t		 i;
	unsigned int	 op;
	int		 error = AUTH_EINVAL;

	pattern = cap_quote(key, 64);
	if (!json_is_array(arr)) {
		xasprintf(cause, "capability: the value of pattern \"%s\" is "
		    "not an array of operations", pattern);
		goto out;
	}
	*ops = 0;
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v)) {
			xasprintf(cause, "capability: pattern \"%s\": an "
			    "operation is not a string", pattern);
			goto out;
		}
		op = cap_op(json_string_value(v), json_string_length(v));
		if (op == 0) {
			xasprintf(cause, "capability: pattern \"%s\": unknown "
			    "operation (not publish, subscribe, history or "
			    "admin)", pattern);
			goto out;
		}
		*ops |= op;
	}
	error = 0;
out:
	free(pattern);
	return (error);
}

/* Build a capability from a parsed JSON value (a cap claim, or a key's). */
int
cap_from_json(json_t *obj, struct cap **capp, char **cause)
{
	struct cap_set	*s;
	struct cap_rule	*r;
	const char	*key;
	json_t		*v;
	size_t		 klen;
	int		 error;

	*capp = NULL;
	if (!json_is_object(obj)) {
		*cause = xstrdup("capability: not a JSON object");
		return (AUTH_EINVAL);
	}
	if (json_object_size(obj) > CAP_MAX_RULES) {
		xasprintf(cause, "capability: more than %d patterns",
		    CAP_MAX_RULES);
		return (AUTH_EINVAL);
	}
	s = cap_set_new(json_object_size(obj));
	json_object_foreach(obj, key, v) {
		/* Decoded without JSON_ALLOW_NUL: a key has no NUL. */
		klen = strlen(key);
		if (klen == 0) {
			*cause = xstrdup("capability: empty pattern");
			error = AUTH_EINVAL;
			goto fail;
		}
		if (klen > CAP_PATTERN_MAX) {
			xasprintf(cause, "capability: pattern over %d bytes",
			    CAP_PATTERN_MAX);
			error = AUTH_EINVAL;
			goto fail;
		}
		r = &s->rules[s->n];
		if ((error = cap_parse_ops(key, v, &r->ops, cause)) != 0)
			goto fail;
		r->pattern = xstrndup(key, klen);
		r->len = klen;
		s->n++;
	}
	*capp = cap_wrap(s);
	return (0);
fail:
	cap_set_unref(s);
	return (error);
}

/* Parse capability JSON text. */
int
cap_parse(const char *text, size_t len, struct cap **capp, char **cause)
{
	json_error_t	 jerr;
	json_t		*obj;
	char		*why;
	int		 error;

	*capp = NULL;
	if (len > CAP_TEXT_MAX) {
		xasprintf(cause, "capability: over %d bytes of JSON",
		    CAP_TEXT_MAX);
		return (AUTH_EINVAL);
	}
	obj = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (obj == NULL) {
		why = cap_quote(jerr.text, sizeof jerr.text);
		xasprintf(cause, "capability: bad JSON at character %d: %s",
		    jerr.position, why);
		free(why);
		return (AUTH_EINVAL);
	}
	error = cap_from_json(obj, capp, cause);
	json_decref(obj);
	return (error);
}

/* Return a capability granting every operation on every channel. */
struct cap *
cap_all(void)
{
	struct cap_set	*s;

	s = cap_set_new(1);
	s->rules[0].pattern = xstrdup("*");
	s->rules[0].len = 1;
	s->rules[0].ops = CAP_ALL;
	s->n = 1;
	return (cap_wrap(s));
}

/* Return the intersection of two capabilities. */
struct cap *
cap_intersect(const struct cap *a, const struct cap *b)
{
	return (cap_join(a, b));
}

/* Return a copy of a capability. */
struct cap *
cap_copy(const struct cap *c)
{
	return (cap_join(c, NULL));
}

/* Free a capability. */
void
cap_free(struct cap *c)
{
	size_t	i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++)
		cap_set_unref(c->sets[i]);
	free(c);
}

/*
 * Match a pattern against a name.  The classic iterative glob: on a
 * mismatch, go back to just after the last `*` seen and let it swallow one
 * more byte of the name.  Going back only to the last `*` is enough,
 * because whatever an earlier `*` could swallow instead, the later one can
 * too.  The retry point (mark) only moves forward and each retry costs at
 * most plen steps, so O(plen x nlen) at worst, where naive recursion is
 * exponential in the number of stars (`*a*a*a*a*a*a*b` against "aaa...a").
 */
int
cap_match(const char *pattern, size_t plen, const char *name, size_t nlen)
{
	size_t	p = 0, n = 0, star = 0, mark = 0;
	int	have_star = 0;

	while (n < nlen) {
		if (p < plen && pattern[p] == '*') {
			have_star = 1;
			star = ++p;
			mark = n;
		} else if (p < plen && pattern[p] == name[n]) {
			p++;
			n++;
		} else if (have_star) {
			p = star;
			n = ++mark;
		} else
			return (0);
	}
	while (p < plen && pattern[p] == '*')
		p++;
	return (p == plen);
}

/* Return whether one rule set allows op on name. */
static int
cap_set_allows(const struct cap_set *s, unsigned int op, const char *name,
    size_t len)
{
	size_t	i;

	for (i = 0; i < s->n; i++) {
		if ((s->rules[i].ops & op) == op &&
		    cap_match(s->rules[i].pattern, s->rules[i].len, name, len))
			return (1);
	}
	return (0);
}

/* Return whether c allows op on channel name. */
int
cap_allows(const struct cap *c, unsigned int op, const char *name,
    size_t len)
{
	size_t	i;

	if (c == NULL || len == 0 || op == 0 || (op & (op - 1)) != 0)
		return (0);
	for (i = 0; i < c->n; i++) {
		if (!cap_set_allows(c->sets[i], op, name, len))
			return (0);
	}
	return (c->n > 0);
}

/*
 * Return whether c allows op on every channel.  A pattern matches every
 * name exactly when it matches the pattern "*" read as a name: only a
 * pattern of stars does.
 */
int
cap_allows_store(const struct cap *c, unsigned int op)
{
	return (cap_allows(c, op, "*", 1));
}

/* Return whether set o covers every (pattern, operation) of set s. */
static int
cap_set_covers(const struct cap_set *o, const struct cap_set *s)
{
	const struct cap_rule	*r;
	size_t			 i;
	unsigned int		 op;

	for (i = 0; i < s->n; i++) {
		r = &s->rules[i];
		for (op = 1; op <= CAP_ADMIN; op <<= 1) {
			if ((r->ops & op) == 0)
				continue;
			/*
			 * Reading the inner pattern as a name: an outer
			 * literal never matches its `*`, only an outer `*`
			 * does, so a match means every name of the inner
			 * pattern is a name of the outer one.
			 */
			if (!cap_set_allows(o, op, r->pattern, r->len))
				return (0);
		}
	}
	return (1);
}

/*
 * Return whether outer allows all that inner does.  inner allows no more
 * than any one of its sets, so one set covered by every set of outer is
 * enough.
 */
int
cap_covers(const struct cap *outer, const struct cap *inner)
{
	size_t	i, j;

	for (i = 0; i < inner->n; i++) {
		for (j = 0; j < outer->n; j++) {
			if (!cap_set_covers(outer->sets[j], inner->sets[i]))
				break;
		}
		if (j == outer->n)
			return (1);
	}
	return (0);
}
