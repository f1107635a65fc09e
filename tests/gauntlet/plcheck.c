/*
 * plcheck: build the states the data directory can be in after a power
 * loss, from a trace of the daemon's file operations (pltrace.h), and
 * check each one.
 *
 * The model.  An operation on a file (write, size change, creation,
 * rename, unlink) is durable once a sync that covers it has returned:
 *
 * - fsync or fdatasync of a file covers the writes and size changes of
 *   that file that were complete (WDONE) before the sync began (BEGIN),
 *   and the file's creation (a new file's name is durable with its first
 *   sync, as on ext4 and XFS; strict POSIX would also want the directory
 *   synced, and LMDB never syncs it);
 * - a write on a descriptor opened O_DSYNC (LMDB's meta page) is durable
 *   when it returns, and only that write: the range it wrote;
 * - fsync of a directory covers the creations, renames and unlinks in it;
 * - sync_file_range makes nothing durable.
 *
 * Every moment at which some sync returns is a "sync point".  Power fails
 * at a moment t between sync point S and the next one, N.  The files then
 * hold every operation durable at S, plus any subset of the operations
 * issued before N's end that are not durable at S, each possibly torn: a
 * prefix of a write cut at any byte, at a 512-byte sector or at a 4 KiB
 * page of the file, or any subset of its 4 KiB pages, the rest of a write
 * that extended the file reading as zeros or cut off.  Applied in the
 * order issued, so that a later write wins over an earlier one.
 *
 * Which messages must survive at S.  The daemon sends `published` (or the
 * REST reply) only after the sync of the commit returned, and the shim
 * records a sync's END after it returned; the workload records the ACK
 * after it read the acknowledgement.  So the END of the sync that made
 * the message durable lies before the ACK in the trace, and is at or
 * before the last sync point before the ACK (its "need").  Every state
 * built on a sync point at or after the need must hold the message, at
 * its acknowledged serial, with its id.  This asks for no less than the
 * guarantee (a message acknowledged before S completed is in every state
 * after S) and, since the need can be later than the message's own sync,
 * never for more than the truth.
 *
 * A state passes when `logwire verify` accepts it (exit 0), the store
 * opens with the storage library as logwired opens it (read-write, sync
 * always), every message it must hold is there, and every record in it
 * was sent by the workload, once.  A state in which the storage library
 * finds no store at all (STORE_ENOTFOUND: a first start cut short) is
 * the one exception to the first rule: it must hold nothing, and once the
 * store is opened on it, verify must accept what that made.  The checks
 * that open the store run in a child process, so that a store damaged
 * badly enough to crash LMDB is a failed state, not a crashed checker.
 */

#include "config.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "storage.h"
#include "pltrace.h"
#include "plcheck.h"

#define PLC_SECTOR	512
#define PLC_PAGE	4096
#define PLC_WAIT_MS	120000	/* bound on one verify or store check */
#define PLC_KEEP_FAILED	3	/* failed states kept for a post-mortem */
#define PLC_SHOW_LOST	8	/* lost messages named per failed state */
#define PLC_REPORT_MAX	65536	/* bytes read back from a child */
#define PLC_CHANS	256	/* channels cached by the store check */

#define PLC_NEVER	INT64_MAX

/* Falloc modes the model knows. */
#define PLC_FL_KEEP_SIZE	0x01
#define PLC_FL_PUNCH_HOLE	0x02

/* An operation on the files, in the order issued. */
struct plc_op {
	int			 kind;		/* PLT_CREATE ... PLT_UNLINK */
	int			 dsync;
	uint32_t		 obj;
	uint64_t		 off;
	uint64_t		 len;		/* WRITE: bytes done; FALLOC */
	uint64_t		 mode;		/* FALLOC */
	const unsigned char	*data;
	const char		*name;
	const char		*name2;		/* RENAME: the new name */
	int64_t			 rec;		/* record that issued it */
	int64_t			 done;		/* record that completed it */
	int64_t			 durable;	/* sync point, PLC_NEVER */
};

/* A file (an inode) of the data directory. */
struct plc_obj {
	uint64_t	 dev;
	uint64_t	 ino;
	const char	*name;		/* as first opened */
	int		 dir;
	int		 born;		/* created within the trace */
};

/* A file's content in an image. */
struct plc_buf {
	unsigned char	*p;
	size_t		 size;
	size_t		 cap;
};

/* A name in the directory and the file it names. */
struct plc_bind {
	const char	*name;
	uint32_t	 obj;
};

/*
 * Files and names after some operations.  A state image starts as a
 * shallow copy of the prefix image and copies a file the first time it
 * changes it (own[]).
 */
struct plc_img {
	struct plc_buf	*bufs;
	unsigned char	*own;
	size_t		 nobjs;
	struct plc_bind	*binds;
	size_t		 nbinds;
	size_t		 bindsalloc;
};

/* A channel and message id, pointing into the trace. */
struct plc_key {
	const char	*chan;
	const char	*id;
};

/* A set of keys (open addressing). */
struct plc_set {
	struct plc_key	*slots;
	size_t		 n;
	size_t		 cap;
};

struct plc {
	unsigned char	*map;
	size_t		 maplen;
	struct plc_op	*ops;
	size_t		 nops;
	size_t		 opsalloc;
	struct plc_obj	*objs;
	size_t		 nobjs;
	size_t		 objsalloc;
	int64_t		*syncs;		/* records of the sync points */
	size_t		 nsyncs;
	size_t		 syncsalloc;
	struct plc_ack	*acks;
	size_t		 nacks;
	size_t		 acksalloc;
	struct plc_set	 sent;
	char		*arena;		/* strings of acks and sent */
	struct plc_stats stats;

	struct plc_img	 pre;		/* ops [0, pre_upto) applied */
	size_t		 pre_upto;
};

/* Per-process state while a trace is read. */
struct plc_proc {
	uint32_t	*local;		/* file number -> object + 1 */
	size_t		 nlocal;
	int64_t		*sbegin;	/* sync number -> BEGIN record + 1 */
	size_t		 nsbegin;
	size_t		*wops;		/* write number -> op + 1 */
	size_t		 nwops;
	size_t		*pend;		/* ops not durable yet (any process) */
	size_t		 npend;
	size_t		 pendalloc;
};

/* The result of the store check, sent back by its child process. */
struct plc_child_res {
	int		raw;		/* store_verify_path before the open */
	int		opened;
	uint64_t	checked;
	uint64_t	lost;
	uint64_t	foreign;
};

/* A random number generator (splitmix64): the seed says it all. */
static uint64_t
plc_rand(uint64_t *s)
{
	uint64_t	z;

	z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (z ^ (z >> 31));
}

/* Allocate or die: the checker has no way on without memory. */
static void *
plc_alloc(void *old, size_t n, size_t size)
{
	void	*p;

	if (size != 0 && n > SIZE_MAX / size) {
		fprintf(stderr, "plcheck: allocation overflow\n");
		abort();
	}
	if ((p = realloc(old, n * size == 0 ? 1 : n * size)) == NULL) {
		fprintf(stderr, "plcheck: out of memory\n");
		abort();
	}
	return (p);
}

/* Make room for one more element in a growing array. */
#define PLC_GROW(arr, n, alloc) do {					\
	if ((n) == (alloc)) {						\
		(alloc) = (alloc) == 0 ? 64 : (alloc) * 2;		\
		(arr) = plc_alloc((arr), (alloc), sizeof *(arr));	\
	}								\
} while (0)

/* Format into a new string (for *cause). */
static char *
plc_fmt(const char *fmt, ...) __attribute__((__format__(__printf__, 1, 2)));

static char *
plc_fmt(const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0) {
		fprintf(stderr, "plcheck: out of memory\n");
		abort();
	}
	va_end(ap);
	return (s);
}

/* Hash a channel and id. */
static uint64_t
plc_hash(const char *chan, const char *id)
{
	uint64_t	h = 0xcbf29ce484222325ULL;

	for (; *chan != '\0'; chan++)
		h = (h ^ (unsigned char)*chan) * 0x100000001b3ULL;
	h = (h ^ 0xff) * 0x100000001b3ULL;
	for (; *id != '\0'; id++)
		h = (h ^ (unsigned char)*id) * 0x100000001b3ULL;
	return (h);
}

/* Find the slot of a key: its own or the empty one where it would go. */
static struct plc_key *
plc_set_slot(struct plc_set *set, const char *chan, const char *id)
{
	struct plc_key	*k;
	size_t		 i;

	i = plc_hash(chan, id) & (set->cap - 1);
	for (;;) {
		k = &set->slots[i];
		if (k->chan == NULL ||
		    (strcmp(k->chan, chan) == 0 && strcmp(k->id, id) == 0))
			return (k);
		i = (i + 1) & (set->cap - 1);
	}
}

/* Add a key (the strings must outlive the set); 0 if it was there. */
static int
plc_set_add(struct plc_set *set, const char *chan, const char *id)
{
	struct plc_key	*old, *k;
	size_t		 oldcap, i;

	if (set->n * 2 >= set->cap) {
		old = set->slots;
		oldcap = set->cap;
		set->cap = oldcap == 0 ? 1024 : oldcap * 2;
		set->slots = plc_alloc(NULL, set->cap, sizeof *set->slots);
		memset(set->slots, 0, set->cap * sizeof *set->slots);
		for (i = 0; i < oldcap; i++) {
			if (old[i].chan != NULL)
				*plc_set_slot(set, old[i].chan, old[i].id) =
				    old[i];
		}
		free(old);
	}
	k = plc_set_slot(set, chan, id);
	if (k->chan != NULL)
		return (0);
	k->chan = chan;
	k->id = id;
	set->n++;
	return (1);
}

/* Whether a key is in the set. */
static int
plc_set_has(struct plc_set *set, const char *chan, const char *id)
{
	if (set->cap == 0)
		return (0);
	return (plc_set_slot(set, chan, id)->chan != NULL);
}

/* Return the index of the last sync point at or before record r, -1. */
static int64_t
plc_sync_le(struct plc *p, int64_t r, size_t *count)
{
	size_t	lo = 0, hi = p->nsyncs, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (p->syncs[mid] <= r)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (count != NULL)
		*count = lo;
	return (lo == 0 ? -1 : p->syncs[lo - 1]);
}

/* The directory part of a relative name ("" for the top). */
static size_t
plc_parent_len(const char *name)
{
	const char	*slash;

	if ((slash = strrchr(name, '/')) == NULL)
		return (0);
	return (slash - name);
}

/* Whether a name lies directly in directory dir. */
static int
plc_in_dir(const char *name, const char *dir)
{
	size_t	n = plc_parent_len(name);

	return (name != NULL && strlen(dir) == n && strncmp(name, dir, n) == 0);
}

/* Whether a sync of object obj (PLT_ALL: everything) covers op. */
static int
plc_covers(struct plc *p, uint32_t obj, const struct plc_op *op)
{
	const struct plc_obj	*o;

	if (obj == PLT_ALL)
		return (1);
	o = &p->objs[obj];
	if (o->dir) {
		if (op->kind == PLT_CREATE || op->kind == PLT_UNLINK)
			return (plc_in_dir(op->name, o->name));
		if (op->kind == PLT_RENAME)
			return (plc_in_dir(op->name, o->name) ||
			    plc_in_dir(op->name2, o->name));
		return (0);
	}
	switch (op->kind) {
	case PLT_CREATE:
	case PLT_WRITE:
	case PLT_TRUNC:
	case PLT_FALLOC:
		return (op->obj == obj);
	}
	return (0);
}

/* Drop the operations that became durable from the pending list. */
static void
plc_pend_compact(struct plc *p, struct plc_proc *pp)
{
	size_t	i, j = 0;

	for (i = 0; i < pp->npend; i++) {
		if (p->ops[pp->pend[i]].durable == PLC_NEVER)
			pp->pend[j++] = pp->pend[i];
	}
	pp->npend = j;
}

/*
 * Make durable at sync point rec the pending operations that a sync of
 * obj begun at record begin covers: those complete before it began.
 */
static void
plc_cover(struct plc *p, struct plc_proc *pp, uint32_t obj, int64_t begin,
    int64_t rec)
{
	struct plc_op	*op;
	size_t		 i;

	for (i = 0; i < pp->npend; i++) {
		op = &p->ops[pp->pend[i]];
		if (op->done != -1 && op->done < begin &&
		    plc_covers(p, obj, op))
			op->durable = rec;
	}
	plc_pend_compact(p, pp);
}

/* Add a sync point. */
static void
plc_add_sync(struct plc *p, int64_t rec)
{
	PLC_GROW(p->syncs, p->nsyncs, p->syncsalloc);
	p->syncs[p->nsyncs++] = rec;
	p->stats.syncs++;
}

/* Add an operation issued at record rec; it is pending until covered. */
static struct plc_op *
plc_add_op(struct plc *p, struct plc_proc *pp, int kind, uint32_t obj,
    int64_t rec)
{
	struct plc_op	*op;

	PLC_GROW(p->ops, p->nops, p->opsalloc);
	op = &p->ops[p->nops];
	memset(op, 0, sizeof *op);
	op->kind = kind;
	op->obj = obj;
	op->rec = rec;
	op->done = rec;
	op->durable = PLC_NEVER;
	PLC_GROW(pp->pend, pp->npend, pp->pendalloc);
	pp->pend[pp->npend++] = p->nops;
	return (&p->ops[p->nops++]);
}

/* Grow a per-process table to hold index i. */
static void
plc_proc_fit(void **arr, size_t *n, size_t size, uint64_t i)
{
	size_t	want;

	if (i < *n)
		return;
	if (i > 100000000) {
		fprintf(stderr, "plcheck: implausible number %" PRIu64
		    " in the trace\n", i);
		abort();
	}
	want = (size_t)i + 1024;
	*arr = plc_alloc(*arr, want, size);
	memset((char *)*arr + *n * size, 0, (want - *n) * size);
	*n = want;
}

/* A process ended: its unfinished writes count as done now. */
static void
plc_proc_end(struct plc *p, struct plc_proc *pp, int64_t rec)
{
	size_t	i;

	for (i = 0; i < pp->npend; i++) {
		if (p->ops[pp->pend[i]].done == -1)
			p->ops[pp->pend[i]].done = rec;
	}
	if (pp->nlocal > 0)
		memset(pp->local, 0, pp->nlocal * sizeof *pp->local);
	if (pp->nsbegin > 0)
		memset(pp->sbegin, 0, pp->nsbegin * sizeof *pp->sbegin);
	if (pp->nwops > 0)
		memset(pp->wops, 0, pp->nwops * sizeof *pp->wops);
}

/* Return the payload as a NUL-terminated string, or NULL. */
static const char *
plc_str(const unsigned char *pl, uint64_t len)
{
	if (len == 0 || pl[len - 1] != '\0')
		return (NULL);
	return ((const char *)pl);
}

/* Return the object a local file number names, or set *cause. */
static int
plc_local(struct plc_proc *pp, uint32_t file, uint32_t *obj, int64_t rec,
    char **cause)
{
	if (file >= pp->nlocal || pp->local[file] == 0) {
		*cause = plc_fmt("record %" PRId64 ": unknown file %u", rec,
		    file);
		return (-1);
	}
	*obj = pp->local[file] - 1;
	return (0);
}

/* Read one record into the model. */
static int
plc_record(struct plc *p, struct plc_proc *pp, const struct plt_rec *r,
    const unsigned char *pl, int64_t rec, char **cause)
{
	struct plc_obj	*o;
	struct plc_op	*op;
	struct plc_ack	*a;
	const char	*s, *s2;
	uint32_t	 obj;
	size_t		 i, oi;

	switch (r->type) {
	case PLT_PROC:
		if (r->off != PLT_MAGIC) {
			*cause = plc_fmt("record %" PRId64 ": not a trace",
			    rec);
			return (-1);
		}
		if (p->stats.procs == 0 && r->arg2 != 0) {
			*cause = plc_fmt("the data directory held %" PRIu64
			    " files before the trace began", r->arg2);
			return (-1);
		}
		plc_proc_end(p, pp, rec);
		p->stats.procs++;
		return (0);
	case PLT_FILE:
		if ((s = plc_str(pl, r->len)) == NULL)
			break;
		for (oi = p->nobjs; oi > 0; oi--) {
			if (p->objs[oi - 1].dev == r->arg &&
			    p->objs[oi - 1].ino == r->arg2)
				break;
		}
		if (oi == 0) {
			PLC_GROW(p->objs, p->nobjs, p->objsalloc);
			o = &p->objs[p->nobjs++];
			memset(o, 0, sizeof *o);
			o->dev = r->arg;
			o->ino = r->arg2;
			o->name = s;
			o->dir = (r->off & PLT_F_DIR) != 0;
			oi = p->nobjs;
		}
		plc_proc_fit((void **)&pp->local, &pp->nlocal,
		    sizeof *pp->local, r->file);
		pp->local[r->file] = oi;
		return (0);
	case PLT_CREATE:
		if (plc_local(pp, r->file, &obj, rec, cause) != 0)
			return (-1);
		/* A new inode, even where an old one had the number. */
		PLC_GROW(p->objs, p->nobjs, p->objsalloc);
		o = &p->objs[p->nobjs];
		*o = p->objs[obj];
		o->born = 1;
		pp->local[r->file] = ++p->nobjs;
		op = plc_add_op(p, pp, PLT_CREATE, p->nobjs - 1, rec);
		op->name = o->name;
		return (0);
	case PLT_WRITE:
	case PLT_TRUNC:
	case PLT_FALLOC:
		if (plc_local(pp, r->file, &obj, rec, cause) != 0)
			return (-1);
		if (!p->objs[obj].born) {
			*cause = plc_fmt("record %" PRId64 ": %s changed, but "
			    "it existed before the trace began", rec,
			    p->objs[obj].name);
			return (-1);
		}
		op = plc_add_op(p, pp, r->type, obj, rec);
		op->off = r->off;
		if (r->type == PLT_WRITE) {
			op->len = r->len;
			op->data = pl;
			op->dsync = (r->arg & PLT_W_DSYNC) != 0;
			op->done = -1;
			plc_proc_fit((void **)&pp->wops, &pp->nwops,
			    sizeof *pp->wops, r->arg2);
			pp->wops[r->arg2] = p->nops;
			p->stats.writes++;
		} else if (r->type == PLT_FALLOC) {
			op->len = r->arg;
			op->mode = r->arg2;
			if (op->mode != 0 && op->mode != PLC_FL_KEEP_SIZE &&
			    op->mode != (PLC_FL_KEEP_SIZE |
			    PLC_FL_PUNCH_HOLE)) {
				*cause = plc_fmt("record %" PRId64 ": "
				    "fallocate mode %#" PRIx64 " not modelled",
				    rec, op->mode);
				return (-1);
			}
		}
		return (0);
	case PLT_WDONE:
		if (r->arg2 >= pp->nwops || pp->wops[r->arg2] == 0) {
			*cause = plc_fmt("record %" PRId64 ": end of an "
			    "unknown write", rec);
			return (-1);
		}
		op = &p->ops[pp->wops[r->arg2] - 1];
		op->done = rec;
		if (r->arg == PLT_WFAIL)
			op->len = 0;
		else if (r->arg < op->len)
			op->len = r->arg;
		p->stats.write_bytes += op->len;
		if (!op->dsync)
			return (0);
		/* Durable on return: that write, and its file's name. */
		op->durable = rec;
		for (i = 0; i < pp->npend; i++) {
			if (p->ops[pp->pend[i]].kind == PLT_CREATE &&
			    p->ops[pp->pend[i]].obj == op->obj)
				p->ops[pp->pend[i]].durable = rec;
		}
		plc_pend_compact(p, pp);
		plc_add_sync(p, rec);
		return (0);
	case PLT_SYNC_BEGIN:
		plc_proc_fit((void **)&pp->sbegin, &pp->nsbegin,
		    sizeof *pp->sbegin, r->arg);
		pp->sbegin[r->arg] = rec + 1;
		return (0);
	case PLT_SYNC_END:
		if (r->arg >= pp->nsbegin || pp->sbegin[r->arg] == 0) {
			*cause = plc_fmt("record %" PRId64 ": end of an "
			    "unknown sync", rec);
			return (-1);
		}
		obj = PLT_ALL;
		if (r->file != PLT_ALL &&
		    plc_local(pp, r->file, &obj, rec, cause) != 0)
			return (-1);
		plc_cover(p, pp, obj, pp->sbegin[r->arg] - 1, rec);
		plc_add_sync(p, rec);
		return (0);
	case PLT_RENAME:
		if (r->len < 4 || pl[r->len - 1] != '\0')
			break;
		s = (const char *)pl;
		s2 = s + strlen(s) + 1;
		if (s2 >= (const char *)pl + r->len)
			break;
		op = plc_add_op(p, pp, PLT_RENAME, 0, rec);
		op->name = s;
		op->name2 = s2;
		return (0);
	case PLT_UNLINK:
		if ((s = plc_str(pl, r->len)) == NULL)
			break;
		op = plc_add_op(p, pp, PLT_UNLINK, 0, rec);
		op->name = s;
		return (0);
	case PLT_WMAP:
		*cause = plc_fmt("record %" PRId64 ": a store file is mapped "
		    "shared and writable; writes through memory are not "
		    "traced", rec);
		return (-1);
	case PLT_SFR:
	case PLT_MARK:
		return (0);
	case PLT_ERROR:
		s = plc_str(pl, r->len);
		*cause = plc_fmt("record %" PRId64 ": the shim could not "
		    "trace: %s", rec, s != NULL ? s : "?");
		return (-1);
	case PLT_SENT:
	case PLT_ACK:
		if (r->len < 3 || pl[r->len - 1] != '\0')
			break;
		s = (const char *)pl;
		s2 = s + strlen(s) + 1;
		if (s2 >= (const char *)pl + r->len)
			break;
		if (r->type == PLT_SENT) {
			if (plc_set_add(&p->sent, s, s2))
				p->stats.sent++;
			return (0);
		}
		PLC_GROW(p->acks, p->nacks, p->acksalloc);
		a = &p->acks[p->nacks++];
		a->chan = s;
		a->id = s2;
		a->serial = r->arg;
		a->flags = r->arg2;
		a->rec = rec;
		a->need = p->nsyncs == 0 ? -1 : p->syncs[p->nsyncs - 1];
		p->stats.acks++;
		return (0);
	default:
		*cause = plc_fmt("record %" PRId64 ": unknown type %u", rec,
		    r->type);
		return (-1);
	}
	*cause = plc_fmt("record %" PRId64 ": bad payload", rec);
	return (-1);
}

/* Copy a string to the arena. */
static const char *
plc_keep(char **at, const char *s)
{
	size_t	n = strlen(s) + 1;

	memcpy(*at, s, n);
	*at += n;
	return (*at - n);
}

/*
 * Copy the strings of the acknowledgements and of the sent set out of
 * the trace into one block: the store check of every state reads them
 * all, in a child process that would otherwise fault in the pages of the
 * trace they lie on, scattered over megabytes, once per state.
 */
static void
plc_keep_strings(struct plc *p)
{
	struct plc_key	*k;
	size_t		 i, total = 0;
	char		*at;

	for (i = 0; i < p->nacks; i++)
		total += strlen(p->acks[i].chan) + strlen(p->acks[i].id) + 2;
	for (i = 0; i < p->sent.cap; i++) {
		k = &p->sent.slots[i];
		if (k->chan != NULL)
			total += strlen(k->chan) + strlen(k->id) + 2;
	}
	at = p->arena = plc_alloc(NULL, total, 1);
	for (i = 0; i < p->nacks; i++) {
		p->acks[i].chan = plc_keep(&at, p->acks[i].chan);
		p->acks[i].id = plc_keep(&at, p->acks[i].id);
	}
	for (i = 0; i < p->sent.cap; i++) {
		k = &p->sent.slots[i];
		if (k->chan != NULL) {
			k->chan = plc_keep(&at, k->chan);
			k->id = plc_keep(&at, k->id);
		}
	}
}

/* Read and check a trace. */
struct plc *
plc_load(const char *path, char **cause)
{
	struct plc	*p;
	struct plc_proc	 pp;
	struct plt_rec	 r;
	struct stat	 st;
	size_t		 at = 0;
	int64_t		 rec = 0;
	int		 fd;

	*cause = NULL;
	p = plc_alloc(NULL, 1, sizeof *p);
	memset(p, 0, sizeof *p);
	memset(&pp, 0, sizeof pp);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) != 0) {
		*cause = plc_fmt("%s: %s", path, strerror(errno));
		goto fail;
	}
	p->maplen = st.st_size;
	if (p->maplen == 0) {
		*cause = plc_fmt("%s: empty trace", path);
		goto fail;
	}
	p->map = mmap(NULL, p->maplen, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p->map == MAP_FAILED) {
		p->map = NULL;
		*cause = plc_fmt("%s: mmap: %s", path, strerror(errno));
		goto fail;
	}
	close(fd);
	fd = -1;
	while (at < p->maplen) {
		if (p->maplen - at < PLT_HDR_LEN) {
			*cause = plc_fmt("%s: cut short in record %" PRId64,
			    path, rec);
			goto fail;
		}
		memcpy(&r, p->map + at, PLT_HDR_LEN);
		if (r.len > p->maplen - at - PLT_HDR_LEN) {
			*cause = plc_fmt("%s: record %" PRId64 " runs past "
			    "the end", path, rec);
			goto fail;
		}
		if (rec == 0 && r.type != PLT_PROC) {
			*cause = plc_fmt("%s: not a trace", path);
			goto fail;
		}
		if (plc_record(p, &pp, &r, p->map + at + PLT_HDR_LEN, rec,
		    cause) != 0)
			goto fail;
		at += PLT_HDR_LEN + r.len;
		rec++;
	}
	plc_proc_end(p, &pp, rec);
	p->stats.records = rec;
	plc_keep_strings(p);
	free(pp.local);
	free(pp.sbegin);
	free(pp.wops);
	free(pp.pend);
	return (p);

fail:
	if (fd != -1)
		close(fd);
	free(pp.local);
	free(pp.sbegin);
	free(pp.wops);
	free(pp.pend);
	plc_free(p);
	return (NULL);
}

/* Free an image's own copies and tables. */
static void
plc_img_free(struct plc_img *img)
{
	size_t	i;

	for (i = 0; i < img->nobjs; i++) {
		if (img->own[i])
			free(img->bufs[i].p);
	}
	free(img->bufs);
	free(img->own);
	free(img->binds);
	memset(img, 0, sizeof *img);
}

/* Free a trace. */
void
plc_free(struct plc *p)
{
	if (p == NULL)
		return;
	if (p->map != NULL)
		munmap(p->map, p->maplen);
	plc_img_free(&p->pre);
	free(p->ops);
	free(p->objs);
	free(p->syncs);
	free(p->acks);
	free(p->sent.slots);
	free(p->arena);
	free(p);
}

/* What the trace holds. */
void
plc_stats(struct plc *p, struct plc_stats *st)
{
	*st = p->stats;
}

/* The acknowledgements, in order. */
const struct plc_ack *
plc_acks(struct plc *p, size_t *n)
{
	*n = p->nacks;
	return (p->acks);
}

/* Start an image: empty, or a shallow copy of base. */
static void
plc_img_init(struct plc_img *img, size_t nobjs, const struct plc_img *base)
{
	memset(img, 0, sizeof *img);
	img->nobjs = nobjs;
	img->bufs = plc_alloc(NULL, nobjs, sizeof *img->bufs);
	img->own = plc_alloc(NULL, nobjs, 1);
	if (base == NULL) {
		memset(img->bufs, 0, nobjs * sizeof *img->bufs);
		memset(img->own, 1, nobjs);
		return;
	}
	memcpy(img->bufs, base->bufs, nobjs * sizeof *img->bufs);
	memset(img->own, 0, nobjs);
	img->bindsalloc = img->nbinds = base->nbinds;
	img->binds = plc_alloc(NULL, img->bindsalloc, sizeof *img->binds);
	if (base->nbinds > 0)
		memcpy(img->binds, base->binds,
		    base->nbinds * sizeof *img->binds);
}

/* Return object obj's content, copied first if the image shares it. */
static struct plc_buf *
plc_img_buf(struct plc_img *img, uint32_t obj, size_t need)
{
	struct plc_buf	*b = &img->bufs[obj];
	unsigned char	*p;
	size_t		 cap;

	if (!img->own[obj]) {
		cap = b->size > need ? b->size : need;
		p = plc_alloc(NULL, cap, 1);
		if (b->size > 0)
			memcpy(p, b->p, b->size);
		b->p = p;
		b->cap = cap;
		img->own[obj] = 1;
	}
	if (need > b->cap) {
		cap = b->cap == 0 ? PLC_PAGE : b->cap;
		while (cap < need)
			cap *= 2;
		b->p = plc_alloc(b->p, cap, 1);
		b->cap = cap;
	}
	return (b);
}

/* Set a file's size: cut, or extended with zeros. */
static void
plc_resize(struct plc_img *img, uint32_t obj, uint64_t size)
{
	struct plc_buf	*b;

	b = plc_img_buf(img, obj, size);
	if (size > b->size)
		memset(b->p + b->size, 0, size - b->size);
	b->size = size;
}

/* Write bytes into a file, extending it with zeros up to off if needed. */
static void
plc_put(struct plc_img *img, uint32_t obj, uint64_t off,
    const unsigned char *data, size_t len)
{
	struct plc_buf	*b;

	if (len == 0)
		return;
	b = plc_img_buf(img, obj, off + len);
	if (off > b->size)
		memset(b->p + b->size, 0, off - b->size);
	memcpy(b->p + off, data, len);
	if (off + len > b->size)
		b->size = off + len;
}

/* Find a name; its index or -1. */
static long
plc_lookup(struct plc_img *img, const char *name)
{
	size_t	i;

	for (i = 0; i < img->nbinds; i++) {
		if (strcmp(img->binds[i].name, name) == 0)
			return (i);
	}
	return (-1);
}

/* Bind a name to an object, replacing what it named. */
static void
plc_bind(struct plc_img *img, const char *name, uint32_t obj)
{
	long	i;

	if ((i = plc_lookup(img, name)) == -1) {
		PLC_GROW(img->binds, img->nbinds, img->bindsalloc);
		i = img->nbinds++;
	}
	img->binds[i].name = name;
	img->binds[i].obj = obj;
}

/* Remove a name. */
static void
plc_unbind(struct plc_img *img, const char *name)
{
	long	i;

	if ((i = plc_lookup(img, name)) == -1)
		return;
	img->binds[i] = img->binds[--img->nbinds];
}

static void	plc_mkparents(const char *, const char *);

/*
 * Where operations are applied: an image in memory (the prefix image, the
 * final replay), or the files of a state directory, whose names the image
 * holds (the contents it shares with the prefix image were written out
 * first).  An operation on a file no name leads to is dropped on disk: no
 * later operation can make such a file visible again (a creation starts
 * a new one empty, a rename moves only a name that exists).
 */
struct plc_tgt {
	struct plc_img	*img;
	const char	*dir;		/* NULL: in memory */
	int		 error;		/* first failed file operation */
};

/* Return the path of the file obj in a directory target, or NULL. */
static char *
plc_t_path(struct plc_tgt *t, uint32_t obj)
{
	size_t	i;

	for (i = 0; i < t->img->nbinds; i++) {
		if (t->img->binds[i].obj == obj)
			return (plc_fmt("%s/%s", t->dir,
			    t->img->binds[i].name));
	}
	return (NULL);
}

/* Remember the first error of a file operation. */
static void
plc_t_fail(struct plc_tgt *t)
{
	if (t->error == 0)
		t->error = errno != 0 ? errno : EIO;
}

/* The size of a file. */
static uint64_t
plc_t_size(struct plc_tgt *t, uint32_t obj)
{
	struct stat	 sb;
	char		*path;
	uint64_t	 size = 0;

	if (t->dir == NULL)
		return (t->img->bufs[obj].size);
	if ((path = plc_t_path(t, obj)) == NULL)
		return (0);
	if (stat(path, &sb) == 0)
		size = sb.st_size;
	else
		plc_t_fail(t);
	free(path);
	return (size);
}

/* Write bytes into a file (a gap before them reads as zeros). */
static void
plc_t_put(struct plc_tgt *t, uint32_t obj, uint64_t off,
    const unsigned char *data, size_t len)
{
	char	*path;
	size_t	 done;
	ssize_t	 n;
	int	 fd;

	if (len == 0)
		return;
	if (t->dir == NULL) {
		plc_put(t->img, obj, off, data, len);
		return;
	}
	if ((path = plc_t_path(t, obj)) == NULL)
		return;
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1) {
		plc_t_fail(t);
		free(path);
		return;
	}
	for (done = 0; done < len; done += n) {
		n = pwrite(fd, data + done, len - done, off + done);
		if (n <= 0) {
			plc_t_fail(t);
			break;
		}
	}
	close(fd);
	free(path);
}

/* Set a file's size: cut, or extended with zeros. */
static void
plc_t_resize(struct plc_tgt *t, uint32_t obj, uint64_t size)
{
	char	*path;

	if (t->dir == NULL) {
		plc_resize(t->img, obj, size);
		return;
	}
	if ((path = plc_t_path(t, obj)) == NULL)
		return;
	if (truncate(path, size) != 0)
		plc_t_fail(t);
	free(path);
}

/* Zero a range of a file, within its size. */
static void
plc_t_zero(struct plc_tgt *t, uint32_t obj, uint64_t off, uint64_t len)
{
	static const unsigned char	 zeros[PLC_PAGE];
	struct plc_buf			*b;
	uint64_t			 end, n;

	end = plc_t_size(t, obj);
	if (off + len < end)
		end = off + len;
	if (t->dir == NULL) {
		b = plc_img_buf(t->img, obj, 0);
		if (off < end)
			memset(b->p + off, 0, end - off);
		return;
	}
	for (; off < end; off += n) {
		n = end - off < sizeof zeros ? end - off : sizeof zeros;
		plc_t_put(t, obj, off, zeros, n);
	}
}

/* Create a file (a new one, empty) under a name. */
static void
plc_t_create(struct plc_tgt *t, uint32_t obj, const char *name)
{
	char	*path;
	int	 fd;

	plc_bind(t->img, name, obj);
	if (t->dir == NULL) {
		plc_resize(t->img, obj, 0);
		return;
	}
	plc_mkparents(t->dir, name);
	path = plc_fmt("%s/%s", t->dir, name);
	unlink(path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1)
		plc_t_fail(t);
	else
		close(fd);
	free(path);
}

/* Rename: move a name that exists. */
static void
plc_t_rename(struct plc_tgt *t, const char *from, const char *to)
{
	char		*pf, *pt;
	long		 i;
	uint32_t	 obj;

	if ((i = plc_lookup(t->img, from)) == -1)
		return;
	obj = t->img->binds[i].obj;
	plc_unbind(t->img, from);
	plc_bind(t->img, to, obj);
	if (t->dir == NULL)
		return;
	plc_mkparents(t->dir, to);
	pf = plc_fmt("%s/%s", t->dir, from);
	pt = plc_fmt("%s/%s", t->dir, to);
	if (rename(pf, pt) != 0)
		plc_t_fail(t);
	free(pf);
	free(pt);
}

/* Remove a name. */
static void
plc_t_unlink(struct plc_tgt *t, const char *name)
{
	char	*path;

	if (plc_lookup(t->img, name) == -1)
		return;
	plc_unbind(t->img, name);
	if (t->dir == NULL)
		return;
	path = plc_fmt("%s/%s", t->dir, name);
	if (unlink(path) != 0)
		plc_t_fail(t);
	free(path);
}

/* Tears of a write. */
enum plc_tear {
	PLC_WHOLE,
	PLC_BYTE,		/* a prefix cut at any byte */
	PLC_SECTOR_CUT,		/* a prefix cut at a 512-byte boundary */
	PLC_PAGE_CUT,		/* a prefix cut at a 4 KiB boundary */
	PLC_PAGES,		/* any subset of its 4 KiB pages */
	PLC_TEARS
};

/* Where a prefix tear at granularity g cuts a write (bytes kept). */
static uint64_t
plc_cut(const struct plc_op *op, uint64_t g, uint64_t *rng)
{
	uint64_t	first, last, n;

	if (g == 1)
		return (plc_rand(rng) % op->len);
	/* Boundaries strictly inside [off, off + len) of the file. */
	first = (op->off / g + 1) * g;
	last = (op->off + op->len - 1) / g * g;
	if (first > last || first >= op->off + op->len)
		return (0);
	n = (last - first) / g + 1;
	return (first + plc_rand(rng) % n * g - op->off);
}

/*
 * Apply a write, torn as asked.  When a torn write extended the file,
 * zext says whether the file ends at the write's end (the size made it,
 * the rest reads as zeros) or where the bytes that made it end.
 */
static void
plc_apply_write(struct plc_tgt *t, const struct plc_op *op,
    enum plc_tear tear, int zext, uint64_t *rng)
{
	uint64_t	cut, a, b, end;

	end = op->off + op->len;
	switch (tear) {
	case PLC_WHOLE:
		plc_t_put(t, op->obj, op->off, op->data, op->len);
		return;
	case PLC_BYTE:
		cut = plc_cut(op, 1, rng);
		break;
	case PLC_SECTOR_CUT:
		cut = plc_cut(op, PLC_SECTOR, rng);
		break;
	case PLC_PAGE_CUT:
		cut = plc_cut(op, PLC_PAGE, rng);
		break;
	default:
		for (a = op->off; a < end; a = b) {
			b = (a / PLC_PAGE + 1) * PLC_PAGE;
			if (b > end)
				b = end;
			if (plc_rand(rng) & 1)
				plc_t_put(t, op->obj, a,
				    op->data + (a - op->off), b - a);
		}
		cut = 0;
		goto extend;
	}
	plc_t_put(t, op->obj, op->off, op->data, cut);
extend:
	if (zext && plc_t_size(t, op->obj) < end)
		plc_t_resize(t, op->obj, end);
}

/* Apply an operation that is not a write. */
static void
plc_apply_meta(struct plc_tgt *t, const struct plc_op *op)
{
	switch (op->kind) {
	case PLT_CREATE:
		plc_t_create(t, op->obj, op->name);
		break;
	case PLT_TRUNC:
		plc_t_resize(t, op->obj, op->off);
		break;
	case PLT_FALLOC:
		if (op->mode == 0) {
			if (plc_t_size(t, op->obj) < op->off + op->len)
				plc_t_resize(t, op->obj, op->off + op->len);
		} else if (op->mode & PLC_FL_PUNCH_HOLE)
			plc_t_zero(t, op->obj, op->off, op->len);
		break;
	case PLT_RENAME:
		plc_t_rename(t, op->name, op->name2);
		break;
	case PLT_UNLINK:
		plc_t_unlink(t, op->name);
		break;
	}
}

/* Apply an operation whole. */
static void
plc_apply(struct plc_tgt *t, const struct plc_op *op)
{
	if (op->kind == PLT_WRITE)
		plc_apply_write(t, op, PLC_WHOLE, 0, NULL);
	else
		plc_apply_meta(t, op);
}

/* Bring the prefix image up to everything durable at sync point b. */
static void
plc_pre_advance(struct plc *p, int64_t b)
{
	struct plc_tgt	t = { &p->pre, NULL, 0 };

	if (p->pre.bufs == NULL)
		plc_img_init(&p->pre, p->nobjs, NULL);
	while (p->pre_upto < p->nops && p->ops[p->pre_upto].durable <= b)
		plc_apply(&t, &p->ops[p->pre_upto++]);
}

/* Remove one entry of a tree (nftw callback). */
static int
plc_rm_cb(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	if (type == FTW_DP)
		return (rmdir(path) == 0 || errno == ENOENT ? 0 : -1);
	return (unlink(path) == 0 || errno == ENOENT ? 0 : -1);
}

/* Remove a tree if it exists. */
static int
plc_rmtree(const char *path)
{
	struct stat	sb;

	if (lstat(path, &sb) != 0)
		return (errno == ENOENT ? 0 : -1);
	return (nftw(path, plc_rm_cb, 16, FTW_DEPTH | FTW_PHYS));
}

/* Create the directories above name inside dir. */
static void
plc_mkparents(const char *dir, const char *name)
{
	char	*path, *slash;

	path = plc_fmt("%s/%s", dir, name);
	for (slash = path + strlen(dir) + 1; (slash = strchr(slash, '/')) !=
	    NULL; slash++) {
		*slash = '\0';
		mkdir(path, 0700);
		*slash = '/';
	}
	free(path);
}

/* Write an image as files in a new directory dir. */
static int
plc_write_dir(struct plc *p, struct plc_img *img, const char *dir,
    char **cause)
{
	struct plc_buf	*b;
	char		*path;
	size_t		 i, done;
	ssize_t		 n;
	int		 fd;

	if (plc_rmtree(dir) != 0 || mkdir(dir, 0700) != 0) {
		*cause = plc_fmt("%s: %s", dir, strerror(errno));
		return (-1);
	}
	for (i = 0; i < img->nbinds; i++) {
		plc_mkparents(dir, img->binds[i].name);
		path = plc_fmt("%s/%s", dir, img->binds[i].name);
		if (p->objs[img->binds[i].obj].dir) {
			mkdir(path, 0700);
			free(path);
			continue;
		}
		b = &img->bufs[img->binds[i].obj];
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd == -1) {
			*cause = plc_fmt("%s: %s", path, strerror(errno));
			free(path);
			return (-1);
		}
		for (done = 0; done < b->size; done += n) {
			n = write(fd, b->p + done, b->size - done);
			if (n <= 0) {
				*cause = plc_fmt("%s: %s", path,
				    n < 0 ? strerror(errno) : "short write");
				close(fd);
				free(path);
				return (-1);
			}
		}
		close(fd);
		free(path);
	}
	return (0);
}

/* Wait for a child up to PLC_WAIT_MS; its status as a shell shows it. */
static int
plc_wait(pid_t pid)
{
	struct timespec	ts = { 0, 1000000 };
	int		status, waited = 0;

	for (;;) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		if (waited++ > PLC_WAIT_MS) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return (-1);
		}
		nanosleep(&ts, NULL);
	}
	if (WIFEXITED(status))
		return (WEXITSTATUS(status));
	if (WIFSIGNALED(status))
		return (128 + WTERMSIG(status));
	return (-1);
}

/* Read everything from fd (up to PLC_REPORT_MAX) into a new string. */
static char *
plc_slurp(int fd, size_t *lenp)
{
	char	*buf;
	size_t	 len = 0;
	ssize_t	 n;

	buf = plc_alloc(NULL, PLC_REPORT_MAX + 1, 1);
	for (;;) {
		n = read(fd, buf + len, PLC_REPORT_MAX - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
		if (len == PLC_REPORT_MAX) {
			char	drain[4096];

			while (read(fd, drain, sizeof drain) > 0)
				;
			break;
		}
	}
	buf[len] = '\0';
	if (lenp != NULL)
		*lenp = len;
	return (buf);
}

/* Run logwire verify on dir; its exit status, its output in *out. */
static int
plc_verify(const struct plc_opts *o, const char *dir, char **out)
{
	pid_t	pid;
	int	fds[2], status;

	if (pipe2(fds, O_CLOEXEC) != 0) {
		*out = plc_fmt("pipe: %s", strerror(errno));
		return (-1);
	}
	fflush(NULL);
	if ((pid = fork()) == -1) {
		*out = plc_fmt("fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return (-1);
	}
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		dup2(fds[1], STDERR_FILENO);
		execl(o->logwire, o->logwire, "verify", dir, (char *)NULL);
		dprintf(STDERR_FILENO, "exec %s: %s\n", o->logwire,
		    strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	*out = plc_slurp(fds[0], NULL);
	close(fds[0]);
	status = plc_wait(pid);
	return (status);
}

/* What the store check's callbacks share. */
struct plc_chk {
	struct plc	*p;
	FILE		*out;
	struct plc_child_res *res;
	const char	*chan;		/* channel being scanned */
	char		 id[STORE_ID_MAX + 1];
	int		 found;
	struct plc_set	 seen;
	struct store_chan *chans;
	size_t		 nchans;
	size_t		 chansalloc;
};

/* Keep the id of the record read (store_get callback). */
static int
plc_get_cb(const struct store_rec *rec, void *arg)
{
	struct plc_chk	*c = arg;
	size_t		 n;

	n = rec->id_len < STORE_ID_MAX ? rec->id_len : STORE_ID_MAX;
	memcpy(c->id, rec->id, n);
	c->id[n] = '\0';
	c->found = 1;
	return (0);
}

/* Keep a channel of the list (store_chan_list callback). */
static int
plc_chan_cb(const struct store_chan *ch, void *arg)
{
	struct plc_chk	*c = arg;

	PLC_GROW(c->chans, c->nchans, c->chansalloc);
	c->chans[c->nchans++] = *ch;
	return (0);
}

/* Check that a record was sent, and is stored once (store_read callback). */
static int
plc_scan_cb(const struct store_rec *rec, void *arg)
{
	struct plc_chk	*c = arg;
	char		*id;

	id = plc_alloc(NULL, rec->id_len + 1, 1);
	memcpy(id, rec->id, rec->id_len);
	id[rec->id_len] = '\0';
	if (!plc_set_has(&c->p->sent, c->chan, id)) {
		if (c->res->foreign++ < PLC_SHOW_LOST)
			fprintf(c->out, "  %s serial %" PRIu64 ": id %s was "
			    "never sent\n", c->chan, rec->serial, id);
	} else if (!plc_set_add(&c->seen, c->chan, id)) {
		if (c->res->foreign++ < PLC_SHOW_LOST)
			fprintf(c->out, "  %s serial %" PRIu64 ": id %s stored "
			    "twice\n", c->chan, rec->serial, id);
	}
	/* The set keeps id: the child exits soon. */
	return (0);
}

/* Look up a channel, from the list read at the start. */
static const struct store_chan *
plc_find_chan(struct plc_chk *c, const char *name)
{
	size_t	i;

	for (i = 0; i < c->nchans; i++) {
		if (strcmp(c->chans[i].name, name) == 0)
			return (&c->chans[i]);
	}
	return (NULL);
}

/*
 * The store check, in a child process: open the store as logwired does,
 * look up the nreq acknowledged messages, scan every record.  Writes the
 * result to fd, then the details.
 */
static void
plc_child(struct plc *p, const char *dir, size_t nreq, int raw, int fd)
{
	struct store_config	 cfg;
	struct plc_child_res	 res;
	struct plc_chk		 c;
	const struct store_chan	*ch;
	const struct plc_ack	*a;
	struct store_reader	*r;
	struct store		*s;
	char			*cause = NULL, *text = NULL;
	size_t			 i, textlen = 0;
	int			 rc;

	memset(&res, 0, sizeof res);
	memset(&c, 0, sizeof c);
	c.p = p;
	c.res = &res;
	if ((c.out = open_memstream(&text, &textlen)) == NULL)
		_exit(70);
	/* Is there a store at all?  (Only asked when verify said no.) */
	if (raw) {
		res.raw = store_verify_path(dir, NULL, NULL, &cause);
		free(cause);
		cause = NULL;
	}
	store_config_default(&cfg);
	cfg.sync = STORE_SYNC_ALWAYS;
	if ((rc = store_open(dir, &cfg, &s, &cause)) != 0) {
		fprintf(c.out, "  the store does not open: %s\n",
		    cause != NULL ? cause : store_strerror(rc));
		goto out;
	}
	res.opened = 1;
	r = store_reader_open(s);
	rc = store_chan_list(r, NULL, 0, NULL, 0, 0, plc_chan_cb, &c);
	if (rc < 0) {
		fprintf(c.out, "  the channel list fails: %s\n",
		    store_strerror(rc));
		res.foreign++;
	}
	for (i = 0; i < nreq; i++) {
		a = &p->acks[i];
		res.checked++;
		c.found = 0;
		if ((ch = plc_find_chan(&c, a->chan)) == NULL)
			rc = STORE_ENOTFOUND;
		else
			rc = store_get(r, ch->id, a->serial, plc_get_cb, &c);
		if (rc == 0 && c.found && strcmp(c.id, a->id) == 0)
			continue;
		if (res.lost++ >= PLC_SHOW_LOST)
			continue;
		fprintf(c.out, "  lost: %s serial %" PRIu64 " id %s "
		    "(acknowledged at record %" PRId64 "): ", a->chan,
		    a->serial, a->id, a->rec);
		if (ch == NULL)
			fprintf(c.out, "no such channel\n");
		else if (rc != 0)
			fprintf(c.out, "%s\n", store_strerror(rc));
		else
			fprintf(c.out, "id there is %s\n", c.id);
	}
	for (i = 0; i < c.nchans; i++) {
		c.chan = c.chans[i].name;
		if (c.chans[i].head < c.chans[i].first)
			continue;
		rc = store_read(r, c.chans[i].id, c.chans[i].first,
		    c.chans[i].head, 0, 0, 0, plc_scan_cb, &c);
		if (rc < 0) {
			fprintf(c.out, "  reading %s fails: %s\n", c.chan,
			    store_strerror(rc));
			res.foreign++;
		}
	}
	store_reader_close(r);
	store_close(s);
out:
	fclose(c.out);
	if (write(fd, &res, sizeof res) != (ssize_t)sizeof res ||
	    (textlen > 0 && write(fd, text, textlen) != (ssize_t)textlen))
		_exit(71);
	_exit(0);
}

/* Run the store check in a child; fill *res, details in *out. */
static int
plc_store_check(struct plc *p, const char *dir, size_t nreq, int raw,
    struct plc_child_res *res, char **out)
{
	char	*buf;
	size_t	 len;
	pid_t	 pid;
	int	 fds[2], status;

	memset(res, 0, sizeof *res);
	if (pipe2(fds, O_CLOEXEC) != 0) {
		*out = plc_fmt("  pipe: %s\n", strerror(errno));
		return (-1);
	}
	fflush(NULL);
	if ((pid = fork()) == -1) {
		*out = plc_fmt("  fork: %s\n", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return (-1);
	}
	if (pid == 0) {
		close(fds[0]);
		plc_child(p, dir, nreq, raw, fds[1]);
	}
	close(fds[1]);
	buf = plc_slurp(fds[0], &len);
	close(fds[0]);
	status = plc_wait(pid);
	if (status != 0 || len < sizeof *res) {
		*out = plc_fmt("  the store check died (status %d): %s\n",
		    status, len > sizeof *res ? buf + sizeof *res : "");
		free(buf);
		return (-1);
	}
	memcpy(res, buf, sizeof *res);
	*out = plc_fmt("%s", buf + sizeof *res);
	free(buf);
	return (0);
}

/* How many acknowledgements a state built on sync point b must hold. */
static size_t
plc_required(struct plc *p, int64_t b)
{
	size_t	lo = 0, hi = p->nacks, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (p->acks[mid].need <= b)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (lo);
}

/* One planned state. */
struct plc_state {
	long		 number;
	size_t		 base;		/* index: 0 start, i sync point i-1 */
	int64_t		 b;		/* its record, -1 for the start */
	int64_t		 e;		/* next sync point, PLC_NEVER */
	int64_t		 e2;		/* the one after */
	int		 kind;		/* 0 nothing, 1 everything, 2 random */
	uint64_t	 seed;
};

/* Describe how a state was made, for a failure report. */
static void
plc_describe(struct plc *p, const struct plc_state *s, char *buf,
    size_t size)
{
	static const char *kinds[] = { "nothing after it",
	    "everything up to the next", "a random subset" };

	if (s->b == -1)
		snprintf(buf, size, "before the first sync, %s",
		    kinds[s->kind]);
	else
		snprintf(buf, size, "sync point %zu of %zu (record %" PRId64
		    "), %s", s->base, p->nsyncs, s->b, kinds[s->kind]);
}

/*
 * Build the state in directory dir: everything durable at b, and of the
 * operations issued before e that are not, what the state's kind and seed
 * choose.  The prefix image (everything up to the first operation not
 * durable at b) is written out, the rest applied to the files.
 */
static int
plc_build(struct plc *p, const struct plc_state *s, enum plc_mutant mut,
    const char *dir, int *torn, char **cause)
{
	struct plc_img	 img;
	struct plc_tgt	 t;
	struct plc_op	*op;
	uint64_t	 rng = s->seed, cut = 0, ncand = 0, k = 0, pct = 50;
	size_t		 i;
	int		 mode = 0, take;
	enum plc_tear	 tear;

	*torn = 0;
	plc_img_init(&img, p->nobjs, &p->pre);
	if (plc_write_dir(p, &img, dir, cause) != 0) {
		plc_img_free(&img);
		return (-1);
	}
	t.img = &img;
	t.dir = dir;
	t.error = 0;
	if (s->kind == 2) {
		mode = plc_rand(&rng) % 4;
		pct = 25 * (1 + plc_rand(&rng) % 3);
		for (i = p->pre_upto; i < p->nops && p->ops[i].rec < s->e; i++)
			if (p->ops[i].durable > s->b)
				ncand++;
		cut = ncand == 0 ? 0 : plc_rand(&rng) % ncand;
	}
	for (i = p->pre_upto; i < p->nops; i++) {
		op = &p->ops[i];
		if (mut == PLC_MUT_REORDER) {
			if (op->rec >= s->e2)
				break;
			if (op->durable <= s->b || op->rec > s->e)
				plc_apply(&t, op);
			continue;
		}
		if (op->rec >= s->e)
			break;
		if (op->durable <= s->b) {
			plc_apply(&t, op);
			continue;
		}
		/* A candidate: in flight or unsynced when the power failed. */
		tear = PLC_WHOLE;
		switch (s->kind) {
		case 0:
			take = 0;
			break;
		case 1:
			take = 1;
			break;
		default:
			switch (mode) {
			case 0:		/* independent, some torn */
			case 1:
				take = plc_rand(&rng) % 100 < pct;
				if (take && plc_rand(&rng) % 3 == 0)
					tear = 1 + plc_rand(&rng) %
					    (PLC_TEARS - 1);
				break;
			case 2:		/* in order, the last one torn */
				take = k <= cut;
				if (k == cut)
					tear = plc_rand(&rng) % PLC_TEARS;
				break;
			default:	/* every write's pages at random */
				take = plc_rand(&rng) & 1;
				if (op->kind == PLT_WRITE) {
					take = 1;
					tear = PLC_PAGES;
				}
				break;
			}
			k++;
		}
		if (!take)
			continue;
		if (op->kind != PLT_WRITE) {
			plc_apply_meta(&t, op);
			continue;
		}
		if (tear != PLC_WHOLE && op->len > 0)
			*torn = 1;
		plc_apply_write(&t, op, op->len == 0 ? PLC_WHOLE : tear,
		    (int)(plc_rand(&rng) & 1), &rng);
	}
	plc_img_free(&img);
	if (t.error != 0) {
		*cause = plc_fmt("%s: %s", dir, strerror(t.error));
		return (-1);
	}
	return (0);
}

/* Print a failed state and keep its directory. */
static void
plc_report(struct plc *p, const struct plc_opts *o, const struct plc_state *s,
    const char *dir, const char *what, const char *details,
    struct plc_result *res)
{
	char	 desc[256], *keep;

	if (o->quiet)
		return;
	plc_describe(p, s, desc, sizeof desc);
	fprintf(stderr, "%spowerloss: state %ld FAILED (%s): %s\n",
	    o->progress ? "\n" : "", s->number, desc, what);
	if (details != NULL && *details != '\0')
		fprintf(stderr, "%s%s", details,
		    details[strlen(details) - 1] == '\n' ? "" : "\n");
	if (res->failed <= PLC_KEEP_FAILED) {
		keep = plc_fmt("%s/failed-%ld", o->workdir, s->number);
		plc_rmtree(keep);
		if (rename(dir, keep) == 0)
			fprintf(stderr, "  the state is kept in %s\n", keep);
		free(keep);
	}
	fprintf(stderr, "  reproduce: %s --seed %" PRIu64 " --state %ld\n",
	    o->repro != NULL ? o->repro : "powerloss", o->seed, s->number);
}

/* Build one state and run every check on it; 0 if it passes. */
static int
plc_state(struct plc *p, const struct plc_opts *o, const struct plc_state *s,
    const char *dir, struct plc_result *res)
{
	struct plc_child_res	 cr;
	char			*cause = NULL, *out = NULL, *what = NULL;
	char			*vout = NULL, *details;
	size_t			 nreq, nmut = 0, t;
	int			 torn, vstatus = 0, failed = 1;

	plc_pre_advance(p, s->b);
	if (plc_build(p, s, o->mutant, dir, &torn, &cause) != 0) {
		fprintf(stderr, "powerloss: cannot write state %ld: %s\n",
		    s->number, cause);
		free(cause);
		return (-1);
	}
	nreq = plc_required(p, s->b);
	if (o->mutant == PLC_MUT_EARLYACK) {
		/* Expect what the next sync points to come made durable. */
		for (t = s->base; t < p->nsyncs && t < s->base + 4; t++) {
			if ((nmut = plc_required(p, p->syncs[t])) > nreq)
				break;
		}
		/* Counted only with a first publish among the extra ones. */
		for (t = nreq; t < nmut && t < p->nacks; t++) {
			if (!(p->acks[t].flags & PLT_A_DUP)) {
				res->mutant_bases++;
				break;
			}
		}
		if (nmut > nreq)
			nreq = nmut;
	}
	res->states++;
	res->torn += torn;
	if (nreq > res->max_required)
		res->max_required = nreq;
	vstatus = plc_verify(o, dir, &vout);
	if (plc_store_check(p, dir, nreq, vstatus != 0, &cr, &out) != 0) {
		res->open_failed++;
		what = plc_fmt("the store check failed");
		goto out;
	}
	res->checked += cr.checked;
	res->lost += cr.lost;
	res->foreign += cr.foreign;
	if (vstatus != 0 && cr.raw == STORE_ENOTFOUND && cr.opened) {
		/* No store yet, until the open made one: verify that. */
		res->fresh++;
		free(vout);
		if ((vstatus = plc_verify(o, dir, &vout)) != 0) {
			res->verify_failed++;
			what = plc_fmt("no store, and logwire verify exits %d "
			    "once it was opened", vstatus);
			goto out;
		}
	}
	if (vstatus != 0)
		res->verify_failed++;
	if (!cr.opened)
		res->open_failed++;
	if (vstatus != 0 || !cr.opened) {
		what = plc_fmt("%s%s%s", vstatus != 0 ? "logwire verify fails" :
		    "", vstatus != 0 && !cr.opened ? ", " : "",
		    !cr.opened ? "the store does not open" : "");
		goto out;
	}
	if (cr.lost > 0 || cr.foreign > 0) {
		what = plc_fmt("%" PRIu64 " of %zu acknowledged messages lost, "
		    "%" PRIu64 " bad records", cr.lost, nreq, cr.foreign);
		goto out;
	}
	free(out);
	out = NULL;
	if (o->daemon != NULL && o->daemon_every > 0 &&
	    s->number % o->daemon_every == 0) {
		res->daemon_runs++;
		if (o->daemon(dir, p->acks, nreq, &cause, o->daemon_arg) != 0) {
			what = plc_fmt("logwired on the state: %s", cause);
			free(cause);
			goto out;
		}
	}
	failed = 0;
out:
	if (failed) {
		res->failed++;
		details = plc_fmt("%s%s", vstatus != 0 && vout != NULL ? vout :
		    "", out != NULL ? out : "");
		plc_report(p, o, s, dir, what, details, res);
		free(details);
	}
	free(what);
	free(out);
	free(vout);
	return (failed ? -1 : 0);
}

/* Print the progress line. */
static void
plc_progress(const struct plc_result *res, size_t total, int final)
{
	fprintf(stderr, "\rpowerloss: %" PRIu64 "/%zu states, %" PRIu64
	    " acknowledged messages checked, %" PRIu64 " lost, %" PRIu64
	    " failed%s", res->states, total, res->checked, res->lost,
	    res->failed, final ? "\n" : "");
}

/* Return monotonic seconds. */
static double
plc_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec + ts.tv_nsec / 1e9);
}

/*
 * Mark the bases (0: the start, i: after sync point i - 1) whose window
 * holds an operation that is not durable at the base: only those can
 * give states of more than one kind.  An operation issued at rec and
 * durable at d is undecided at every base before d whose window ends
 * after rec.
 */
static unsigned char *
plc_bases_with_ops(struct plc *p, size_t *count)
{
	unsigned char	*has;
	long		*diff, sum = 0;
	size_t		 nb = p->nsyncs + 1, i, lo, hi;

	diff = plc_alloc(NULL, nb + 1, sizeof *diff);
	memset(diff, 0, (nb + 1) * sizeof *diff);
	for (i = 0; i < p->nops; i++) {
		plc_sync_le(p, p->ops[i].rec, &lo);
		if (p->ops[i].durable == PLC_NEVER)
			hi = p->nsyncs;
		else {
			plc_sync_le(p, p->ops[i].durable - 1, &hi);
		}
		if (lo > hi)
			continue;
		diff[lo]++;
		diff[hi + 1]--;
	}
	has = plc_alloc(NULL, nb, 1);
	*count = 0;
	for (i = 0; i < nb; i++) {
		sum += diff[i];
		has[i] = sum > 0;
		*count += has[i];
	}
	free(diff);
	return (has);
}

/* Build and check the crash states. */
int
plc_run(struct plc *p, const struct plc_opts *o, struct plc_result *res)
{
	struct plc_state	 s;
	unsigned char		*has;
	size_t			 nb = p->nsyncs + 1, nbc, per, nsel, k, j, i;
	size_t			 total, seen = 0;
	double			 last = 0;
	char			*dir;
	int			 rc = 0;

	memset(res, 0, sizeof *res);
	/* The prefix image only moves forward: start it again. */
	plc_img_free(&p->pre);
	p->pre_upto = 0;
	has = plc_bases_with_ops(p, &nbc);
	if (nbc == 0) {
		fprintf(stderr, "powerloss: the trace has no operations\n");
		free(has);
		return (-1);
	}
	/*
	 * At least three states per base (nothing after it, everything up
	 * to the next sync point, one random), on bases spread evenly over
	 * the trace; more per base when there are few bases.
	 */
	per = (o->states + nbc - 1) / nbc;
	if (per < 3)
		per = 3;
	if (o->mutant != PLC_MUT_NONE)
		per = 1;
	nsel = (o->states + per - 1) / per;
	if (nsel > nbc)
		nsel = nbc;
	if (nsel == 0)
		nsel = 1;
	total = nsel * per;
	dir = plc_fmt("%s/state", o->workdir);
	for (k = 0, i = 0; k < nsel; k++) {
		/* The k-th chosen base is the (k * nbc / nsel)-th with ops. */
		for (; i < nb; i++) {
			if (has[i] && seen++ == k * nbc / nsel)
				break;
		}
		if (i == nb)
			break;
		s.base = i;
		s.b = i == 0 ? -1 : p->syncs[i - 1];
		s.e = i < p->nsyncs ? p->syncs[i] : PLC_NEVER;
		s.e2 = i + 1 < p->nsyncs ? p->syncs[i + 1] : PLC_NEVER;
		res->bases++;
		for (j = 0; j < per; j++) {
			s.number = k * per + j;
			if (o->only >= 0 && s.number != o->only)
				continue;
			s.kind = j < 2 ? j : 2;
			if (o->mutant != PLC_MUT_NONE)
				s.kind = 0;
			s.seed = o->seed ^ ((uint64_t)s.number *
			    0xd1342543de82ef95ULL);
			if (plc_state(p, o, &s, dir, res) != 0)
				rc = -1;
			if (o->progress && plc_now() - last >= 1) {
				last = plc_now();
				plc_progress(res, total, 0);
			}
		}
		i++;
	}
	if (o->progress)
		plc_progress(res, total, 1);
	if (o->only < 0)
		plc_rmtree(dir);
	else if (access(dir, F_OK) == 0)
		fprintf(stderr, "powerloss: state %ld is in %s\n", o->only,
		    dir);
	free(dir);
	free(has);
	return (rc);
}

/* Whether name is in a ':'-separated list. */
static int
plc_listed(const char *list, const char *name)
{
	size_t		 n = strlen(name);
	const char	*p;

	for (p = list; p != NULL && *p != '\0'; p += strcspn(p, ":")) {
		if (*p == ':')
			p++;
		if (strncmp(p, name, n) == 0 && (p[n] == ':' || p[n] == '\0'))
			return (1);
	}
	return (0);
}

/* Find files in datadir (top level) that the trace does not know. */
static int
plc_final_extra(struct plc_img *img, const char *datadir, const char *ignore,
    char **cause)
{
	struct dirent	*de;
	DIR		*d;
	int		 rc = 0;

	if ((d = opendir(datadir)) == NULL) {
		*cause = plc_fmt("%s: %s", datadir, strerror(errno));
		return (-1);
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    plc_listed(ignore, de->d_name) ||
		    plc_lookup(img, de->d_name) != -1)
			continue;
		*cause = plc_fmt("%s: on disk, but the trace never created "
		    "it", de->d_name);
		rc = -1;
		break;
	}
	closedir(d);
	return (rc);
}

/* Compare the whole trace replayed with the files left in datadir. */
int
plc_final(struct plc *p, const char *datadir, const char *ignore,
    char **cause)
{
	struct plc_img	 img;
	struct plc_tgt	 t;
	struct plc_buf	*b;
	struct stat	 sb;
	char		*path, *data = NULL;
	size_t		 i, n, len;
	int		 fd, rc = -1;

	*cause = NULL;
	plc_img_init(&img, p->nobjs, NULL);
	t.img = &img;
	t.dir = NULL;
	t.error = 0;
	for (i = 0; i < p->nops; i++)
		plc_apply(&t, &p->ops[i]);
	for (i = 0; i < img.nbinds; i++) {
		if (p->objs[img.binds[i].obj].dir)
			continue;
		b = &img.bufs[img.binds[i].obj];
		path = plc_fmt("%s/%s", datadir, img.binds[i].name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		free(path);
		if (fd == -1 || fstat(fd, &sb) != 0) {
			*cause = plc_fmt("%s: in the trace, not on disk",
			    img.binds[i].name);
			goto out;
		}
		if ((size_t)sb.st_size != b->size) {
			close(fd);
			*cause = plc_fmt("%s: %zu bytes by the trace, %lld on "
			    "disk", img.binds[i].name, b->size,
			    (long long)sb.st_size);
			goto out;
		}
		data = plc_alloc(data, b->size + 1, 1);
		for (len = 0; len < b->size; len += n) {
			ssize_t r = read(fd, data + len, b->size - len);

			if (r <= 0)
				break;
			n = r;
		}
		close(fd);
		if (len != b->size || memcmp(data, b->p, b->size) != 0) {
			for (n = 0; n < len && data[n] == (char)b->p[n]; n++)
				;
			*cause = plc_fmt("%s: differs from the trace at byte "
			    "%zu (page %zu)", img.binds[i].name, n,
			    n / PLC_PAGE);
			goto out;
		}
	}
	rc = plc_final_extra(&img, datadir, ignore, cause);
out:
	free(data);
	plc_img_free(&img);
	return (rc);
}
