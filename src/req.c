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
 */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "logwire.h"

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

/* The value a scalar or container at the cursor belongs to, if wanted. */
static struct req_val *
req_target(struct req_parse *p)
{
	if (p->depth == 0) {
		p->r->not_object = 1;
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

	if ((v = req_target(p)) == NULL)
		return (1);
	req_set(p, v, REQ_STRING);

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
 * Parse the request in text (len bytes, one whole JSON value).  Return 0
 * with r filled in: members absent are REQ_ABSENT; strings are decoded,
 * NUL-terminated and valid until the next call; raw spans point into
 * text.  A JSON value that is not an object sets not_object.  Return -1
 * with *cause set (caller frees) if text is not valid JSON.
 */
int
req_parse(struct req *r, const char *text, size_t len, char **cause)
{
	struct req_parse	 p;
	yajl_status		 st;
	unsigned char		*e;
	char			*nl;

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
	st = yajl_parse(p.h, (const unsigned char *)text, len);
	if (st == yajl_status_ok)
		st = yajl_complete_parse(p.h);
	if (st != yajl_status_ok) {
		e = yajl_get_error(p.h, 0, (const unsigned char *)text, len);
		*cause = xstrdup((char *)e);
		yajl_free_error(p.h, e);
		if ((nl = strchr(*cause, '\n')) != NULL)
			*nl = '\0';
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
