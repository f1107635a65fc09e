/*
 * Reading a logwire.v1 request without building a JSON tree.
 *
 * A publish is the hot path of the server: a tree parser (jansson) spent
 * about 1.9 us on a 150-byte publish, most of the event loop's time per
 * message, and the data member then had to be dumped back to text.  yajl
 * parses the same request as a stream of events in about 0.25 us and
 * validates all of it (grammar, escapes, UTF-8).  The members a request
 * can carry sit at the top level (and serial and epoch inside "from"), so
 * the callbacks keep only those: strings decoded and copied into a scratch
 * arena, numbers as their text, and for "ref" and "data" the exact span of
 * the JSON text, which is stored and echoed as sent.
 *
 * The span of a value comes from yajl_get_bytes_consumed(), which during
 * a callback is the offset just past the token being reported (the whole
 * text is given in one yajl_parse call, so offsets are from its start).
 * A value starts after its key's closing quote, the colon and whitespace;
 * a scalar ends with its own token, a container with the matching close.
 *
 * What the server stores, every client it ships must read back, and those
 * read JSON with jansson.  So the callbacks also hold a request to the
 * language jansson reads (the same one the REST POST is read with): at
 * most REQ_DEPTH_MAX containers deep, numbers within the range of a
 * double, no lone surrogate, no \u0000 in an object key.  yajl alone takes
 * any depth and any number, and turns a lone surrogate into "?" (or into
 * bytes that are not UTF-8), which made "sur\ud800" and "sur?" one
 * channel.  Raw bytes are not checked here: the WebSocket layer refuses a
 * text frame that is not UTF-8 (RFC 6455 section 8.1) before it comes
 * here, and yajl's own check is looser.
 */

#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "logwired.h"

struct req_member {
	const char	*name;
	size_t		 off;	/* of its struct req_val in struct req */
};

/* The top-level members a request may carry. */
static const struct req_member req_members[] = {
	{ "op", offsetof(struct req, op) },
	{ "ref", offsetof(struct req, ref) },
	{ "channel", offsetof(struct req, channel) },
	{ "data", offsetof(struct req, data) },
	{ "id", offsetof(struct req, id) },
	{ "name", offsetof(struct req, name) },
	{ "encoding", offsetof(struct req, encoding) },
	{ "from", offsetof(struct req, from) },
	{ "rewind", offsetof(struct req, rewind) },
	{ "since", offsetof(struct req, since) },
	{ "token", offsetof(struct req, token) },
};

/* The members of "from". */
static const struct req_member req_from_members[] = {
	{ "serial", offsetof(struct req, from_serial) },
	{ "epoch", offsetof(struct req, from_epoch) },
};

/* Parse state, one per call. */
struct req_parse {
	struct req	*r;
	yajl_handle	 h;
	const char	*text;
	size_t		 len;
	char		*arena;		/* decoded strings, NUL-terminated */
	size_t		 used;
	int		 depth;		/* containers open around the cursor */
	struct req_val	*cur;		/* value of the last key, if wanted */
	size_t		 key_end;	/* offset just past that key */
	int		 in_from;	/* the cursor is inside "from" */
	struct req_val	*open;		/* container value still open */
	int		 open_depth;
	char		 why[128];	/* why the language refused the text */
	size_t		 top_end;	/* offset past the top-level value */
	int		 finishing;	/* in yajl_complete_parse */
};

static char	*req_arena;
static size_t	 req_arena_size;

/*
 * yajl's own memory for one parse (its handle, lexer, nesting stack and
 * decode buffer: five allocations or more per request) comes from a bump
 * arena that the next parse starts over.  A block that does not fit is
 * taken from malloc and marked so, to be freed for real.
 */
#define REQ_MEM_SIZE	16384
#define REQ_MEM_HEAP	((size_t)1 << (sizeof (size_t) * 8 - 1))
struct req_mem_hdr {
	size_t	size;		/* of the block; REQ_MEM_HEAP if malloc'd */
	size_t	pad;		/* keeps the block 16-byte aligned */
};
static char	*req_mem;
static size_t	 req_mem_used;

/* Allocate a block for yajl. */
static void *
req_malloc(void *ctx, size_t n)
{
	struct req_mem_hdr	*h;
	size_t			 need;

	need = sizeof *h + ((n + 15) & ~(size_t)15);
	if (req_mem == NULL)
		req_mem = xmalloc(REQ_MEM_SIZE);
	if (need <= REQ_MEM_SIZE - req_mem_used) {
		h = (struct req_mem_hdr *)(req_mem + req_mem_used);
		req_mem_used += need;
		h->size = n;
	} else {
		h = xmalloc(sizeof *h + n);
		h->size = n | REQ_MEM_HEAP;
	}
	return (h + 1);
}

/* Free a block of yajl's: only those from malloc. */
static void
req_free(void *ctx, void *p)
{
	struct req_mem_hdr	*h;

	if (p == NULL)
		return;
	h = (struct req_mem_hdr *)p - 1;
	if (h->size & REQ_MEM_HEAP)
		free(h);
}

/* Resize a block of yajl's. */
static void *
req_realloc(void *ctx, void *p, size_t n)
{
	struct req_mem_hdr	*h;
	size_t			 old;
	void			*q;

	if (p == NULL)
		return (req_malloc(ctx, n));
	h = (struct req_mem_hdr *)p - 1;
	old = h->size & ~REQ_MEM_HEAP;
	q = req_malloc(ctx, n);
	memcpy(q, p, MIN(old, n));
	req_free(ctx, p);
	return (q);
}

static yajl_alloc_funcs req_alloc_funcs = {
	req_malloc,
	req_realloc,
	req_free,
	NULL
};

/* Stop the parse: the text is JSON but not in the language (see above). */
static int
req_refuse(struct req_parse *p, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(p->why, sizeof p->why, fmt, ap);
	va_end(ap);
	return (0);
}

/* The value of the four hex digits at s (checked by yajl). */
static unsigned int
req_hex4(const char *s)
{
	unsigned int	v = 0;
	int		i;

	for (i = 0; i < 4; i++) {
		v <<= 4;
		if (s[i] >= '0' && s[i] <= '9')
			v |= (unsigned int)(s[i] - '0');
		else
			v |= (unsigned int)((s[i] | 0x20) - 'a' + 10);
	}
	return (v);
}

#define REQ_ESC_NUL	0x1	/* a \u0000 */
#define REQ_ESC_LONE	0x2	/* a surrogate without its other half */

/*
 * Look at the escapes of the string token just read (s and len as yajl
 * decoded it), which only the JSON text shows.  A string without escapes
 * is handed over straight from the text, so there is nothing to look at;
 * one with escapes was decoded into yajl's buffer, and its token is found
 * again in the text: it ends just before the bytes consumed so far and
 * starts at the last quote before that which no backslash escapes (a
 * string holds no other quote).  Returns REQ_ESC_* bits.
 */
static int
req_escapes(struct req_parse *p, const unsigned char *s, size_t len)
{
	const char	*t = p->text;
	uintptr_t	 u = (uintptr_t)s;
	size_t		 start, end, i, k;
	unsigned int	 cp, lo;
	int		 found = 0;

	if (u >= (uintptr_t)t && u + len <= (uintptr_t)(t + p->len))
		return (0);
	end = yajl_get_bytes_consumed(p->h) - 1;	/* closing quote */
	if (end == 0 || end >= p->len)
		return (0);
	for (start = end - 1; start > 0; start--) {
		if (t[start] != '"')
			continue;
		for (k = 0; k < start && t[start - 1 - k] == '\\'; k++)
			;
		if (k % 2 == 0)
			break;
	}
	for (i = start + 1; i < end; i++) {
		if (t[i] != '\\')
			continue;
		if (t[++i] != 'u' || i + 4 >= end)
			continue;
		cp = req_hex4(t + i + 1);
		i += 4;
		if (cp == 0)
			found |= REQ_ESC_NUL;
		else if (cp >= 0xdc00 && cp <= 0xdfff)
			found |= REQ_ESC_LONE;
		else if (cp >= 0xd800 && cp <= 0xdbff) {
			if (i + 6 < end && t[i + 1] == '\\' &&
			    t[i + 2] == 'u' && (lo = req_hex4(t + i + 3)) >=
			    0xdc00 && lo <= 0xdfff)
				i += 6;
			else
				found |= REQ_ESC_LONE;
		}
	}
	return (found);
}

#define REQ_NUM_OK	0
#define REQ_NUM_WIDE	1	/* an integer beyond 64 bits signed */
#define REQ_NUM_RANGE	2	/* beyond the range of a double */

/*
 * Check a number (its JSON text, len bytes).  jansson keeps a number
 * written without fraction or exponent as a 64-bit signed integer and
 * refuses one beyond that; any other it reads with strtod and refuses when
 * it overflows (an underflow reads as zero or a subnormal, which is fine).
 */
static int
req_number_check(const char *s, size_t len)
{
	static const char	 max[] = "9223372036854775807";
	static const char	 min[] = "9223372036854775808";
	char			 buf[64], *copy = buf;
	size_t			 digits;
	double			 d;
	int			 exponent, integer, neg;

	exponent = memchr(s, 'e', len) != NULL || memchr(s, 'E', len) != NULL;
	integer = !exponent && memchr(s, '.', len) == NULL;
	if (integer) {
		/* JSON has no leading zeros: more digits, a larger value. */
		neg = s[0] == '-';
		digits = len - (size_t)neg;
		if (digits < sizeof max - 1 || (digits == sizeof max - 1 &&
		    memcmp(s + neg, neg ? min : max, digits) <= 0))
			return (REQ_NUM_OK);
	}
	/* Without an exponent, 308 characters stay below 1e308. */
	if (exponent || len > 308) {
		if (len >= sizeof buf)
			copy = xmalloc(len + 1);
		memcpy(copy, s, len);
		copy[len] = '\0';
		d = strtod(copy, NULL);
		if (copy != buf)
			free(copy);
		if (isinf(d))
			return (REQ_NUM_RANGE);
	}
	return (integer ? REQ_NUM_WIDE : REQ_NUM_OK);
}

/*
 * Note where the top-level value ends.  yajl misses an unfinished token
 * after it (`{..}"x` parses), so req_parse looks at what follows.  A number
 * at the very end is only reported by yajl_complete_parse, whose offsets
 * are not in the text: that one ends the text.
 */
static void
req_top_done(struct req_parse *p)
{
	p->top_end = p->finishing ? p->len : yajl_get_bytes_consumed(p->h);
}

/* The value a scalar or container at the cursor belongs to, if wanted. */
static struct req_val *
req_target(struct req_parse *p)
{
	if (p->depth == 0) {
		p->r->not_object = 1;
		req_top_done(p);
		return (NULL);
	}
	if (p->depth == 1 || (p->depth == 2 && p->in_from))
		return (p->cur);
	return (NULL);
}

/* Offset where the value after the last key starts. */
static size_t
req_value_start(struct req_parse *p)
{
	size_t	i = p->key_end;

	while (i < p->len && p->text[i] != ':')
		i++;
	for (i++; i < p->len; i++) {
		if (p->text[i] != ' ' && p->text[i] != '\t' &&
		    p->text[i] != '\n' && p->text[i] != '\r')
			break;
	}
	return (i);
}

/* Record a value of kind k whose first token was just read. */
static void
req_set(struct req_parse *p, struct req_val *v, int kind)
{
	v->kind = kind;
	v->s = NULL;
	v->len = 0;
	v->raw = p->text + req_value_start(p);
	v->raw_len = p->text + yajl_get_bytes_consumed(p->h) - v->raw;
	p->cur = NULL;
}

/* Callbacks: scalars. */
static int
req_null(void *arg)
{
	struct req_parse	*p = arg;
	struct req_val		*v;

	if ((v = req_target(p)) != NULL)
		req_set(p, v, REQ_NULL);
	return (1);
}

static int
req_boolean(void *arg, int b)
{
	struct req_parse	*p = arg;
	struct req_val		*v;

	if ((v = req_target(p)) != NULL)
		req_set(p, v, REQ_BOOL);
	return (1);
}

static int
req_number(void *arg, const char *s, size_t len)
{
	struct req_parse	*p = arg;
	struct req_val		*v;

	switch (req_number_check(s, len)) {
	case REQ_NUM_RANGE:
		return (req_refuse(p, "number %.*s%s is beyond the range of "
		    "a double", (int)MIN(len, 24), s, len > 24 ? "..." : ""));
	case REQ_NUM_WIDE:
		p->r->wide_int = 1;
		break;
	}
	if ((v = req_target(p)) != NULL) {
		req_set(p, v, REQ_NUMBER);
		v->s = v->raw;
		v->len = v->raw_len;
	}
	return (1);
}

static int
req_string(void *arg, const unsigned char *s, size_t len)
{
	struct req_parse	*p = arg;
	struct req_val		*v;
	char			*copy;
	int			 lone;

	lone = req_escapes(p, s, len) & REQ_ESC_LONE;
	v = req_target(p);
	/* In a channel name it is a bad name (40002), as in a REST path. */
	if (lone && (v == NULL || v != &p->r->channel || p->depth != 1))
		return (req_refuse(p, "a string holds a lone surrogate"));
	if (v == NULL)
		return (1);
	req_set(p, v, REQ_STRING);
	if (lone)
		p->r->channel_lossy = 1;

	/* A decoded string is shorter than its quoted text: it fits. */
	copy = p->arena + p->used;
	memcpy(copy, s, len);
	copy[len] = '\0';
	p->used += len + 1;
	v->s = copy;
	v->len = len;
	return (1);
}

/* Callbacks: containers. */
static int
req_start(struct req_parse *p, int kind)
{
	struct req_val	*v;

	if (p->depth >= REQ_DEPTH_MAX)
		return (req_refuse(p, "nested deeper than %d", REQ_DEPTH_MAX));
	if (p->depth == 0) {
		if (kind != REQ_OBJECT)
			p->r->not_object = 1;
	} else if ((v = req_target(p)) != NULL) {
		req_set(p, v, kind);
		if (p->depth == 1) {
			p->open = v;
			p->open_depth = p->depth;
			if (kind == REQ_OBJECT && v == &p->r->from)
				p->in_from = 1;
		}
	}
	p->cur = NULL;
	p->depth++;
	return (1);
}

static int
req_end(struct req_parse *p)
{
	p->depth--;
	if (p->open != NULL && p->depth == p->open_depth) {
		p->open->raw_len = p->text + yajl_get_bytes_consumed(p->h) -
		    p->open->raw;
		p->open = NULL;
	}
	if (p->depth == 1)
		p->in_from = 0;
	else if (p->depth == 0)
		req_top_done(p);
	p->cur = NULL;
	return (1);
}

static int
req_start_map(void *arg)
{
	return (req_start(arg, REQ_OBJECT));
}

static int
req_start_array(void *arg)
{
	return (req_start(arg, REQ_ARRAY));
}

static int
req_end_container(void *arg)
{
	return (req_end(arg));
}

/* The value in r of the member named key in table m, or NULL. */
static struct req_val *
req_member(struct req *r, const struct req_member *m, size_t n,
    const unsigned char *key, size_t len)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (strlen(m[i].name) == len &&
		    memcmp(m[i].name, key, len) == 0)
			return ((struct req_val *)((char *)r + m[i].off));
	}
	return (NULL);
}

/* A key: remember which member its value is, if one we keep. */
static int
req_key(void *arg, const unsigned char *key, size_t len)
{
	struct req_parse	*p = arg;
	int			 esc;

	/* jansson cannot hold a key with a NUL in it. */
	if ((esc = req_escapes(p, key, len)) & REQ_ESC_LONE)
		return (req_refuse(p, "an object key holds a lone surrogate"));
	if (esc & REQ_ESC_NUL)
		return (req_refuse(p, "an object key holds \\u0000"));
	p->cur = NULL;
	p->key_end = yajl_get_bytes_consumed(p->h);
	if (p->depth == 1)
		p->cur = req_member(p->r, req_members, nitems(req_members),
		    key, len);
	else if (p->depth == 2 && p->in_from)
		p->cur = req_member(p->r, req_from_members,
		    nitems(req_from_members), key, len);
	return (1);
}

static const yajl_callbacks req_callbacks = {
	req_null,
	req_boolean,
	NULL,
	NULL,
	req_number,
	req_string,
	req_start_map,
	req_key,
	req_end_container,
	req_start_array,
	req_end_container
};

/*
 * Parse the request in text (len bytes of UTF-8, one whole JSON value).
 * Return 0 with r filled in: members absent are REQ_ABSENT; strings are
 * decoded, NUL-terminated and valid until the next call; raw spans point
 * into text.  A JSON value that is not an object sets not_object; an
 * integer beyond 64 bits signed sets wide_int; a lone surrogate in a
 * "channel" member (any, if repeated) sets channel_lossy.  Return -1 with
 * *cause set (caller frees) if text is not valid JSON or not in the
 * language (see the top).
 */
int
req_parse(struct req *r, const char *text, size_t len, char **cause)
{
	struct req_parse	 p;
	yajl_status		 st;
	unsigned char		*e;
	char			*nl;
	size_t			 i;

	memset(r, 0, sizeof *r);
	if (len + 1 > req_arena_size) {
		req_arena_size = len + 1 < 4096 ? 4096 : len + 1;
		free(req_arena);
		req_arena = xmalloc(req_arena_size);
	}
	memset(&p, 0, sizeof p);
	p.r = r;
	p.text = text;
	p.len = len;
	p.arena = req_arena;
	req_mem_used = 0;
	if ((p.h = yajl_alloc(&req_callbacks, &req_alloc_funcs, &p)) == NULL)
		fatalx("out of memory");
	/*
	 * yajl also takes \f and \v as white space, which JSON does not (and
	 * in a string neither is allowed raw).
	 */
	if (memchr(text, '\f', len) != NULL || memchr(text, '\v', len) !=
	    NULL) {
		(void)req_refuse(&p, "form feed or vertical tab: not JSON");
		st = yajl_status_error;
	} else
		st = yajl_parse(p.h, (const unsigned char *)text, len);
	if (st == yajl_status_ok) {
		p.finishing = 1;
		st = yajl_complete_parse(p.h);
	}
	for (i = p.top_end; st == yajl_status_ok && i < len; i++) {
		if (text[i] != ' ' && text[i] != '\t' && text[i] != '\n' &&
		    text[i] != '\r') {
			(void)req_refuse(&p, "trailing garbage");
			st = yajl_status_error;
		}
	}
	if (st != yajl_status_ok) {
		if (p.why[0] != '\0')
			*cause = xstrdup(p.why);
		else {
			e = yajl_get_error(p.h, 0, (const unsigned char *)text,
			    len);
			*cause = xstrdup((char *)e);
			yajl_free_error(p.h, e);
			if ((nl = strchr(*cause, '\n')) != NULL)
				*nl = '\0';
		}
		yajl_free(p.h);
		return (-1);
	}
	yajl_free(p.h);
	return (0);
}

/*
 * Read a number value as a non-negative integer (digits only, at most
 * UINT64_MAX).  Return 0, or -1 if v is anything else.
 */
int
req_uint(const struct req_val *v, uint64_t *n)
{
	uint64_t	x = 0;
	size_t		i;
	unsigned int	d;

	if (v->kind != REQ_NUMBER || v->len == 0)
		return (-1);
	for (i = 0; i < v->len; i++) {
		if (v->s[i] < '0' || v->s[i] > '9')
			return (-1);
		d = (unsigned int)(v->s[i] - '0');
		if (x > (UINT64_MAX - d) / 10)
			return (-1);
		x = x * 10 + d;
	}
	*n = x;
	return (0);
}
