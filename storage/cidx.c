/*
 * The channel index: where each (channel, serial) lives in the global log.
 *
 * Records are appended to "glog" under a global sequence number (gseq), so
 * a commit of many channels' messages writes consecutive pages, like a
 * commit on one channel.  Finding a channel's records takes an index, and
 * writing one index entry per message into a (channel, serial) tree would
 * dirty one page per channel per commit again, the very cost the global
 * log avoids.  So the index is written late and in bulk:
 *
 * - "cidx" holds blocks: key (channel id, first serial), value the gseqs of
 *   serials first, first + 1, ... (u64 BE each, at most CIDX_BLOCK_MAX).  A
 *   channel's blocks tile its serials from its first kept serial up to
 *   where the index was last flushed.  meta "indexed_upto" is the last gseq
 *   whose entry is in cidx.
 * - Entries after indexed_upto live in memory only, in the pending index (a
 *   struct cidx_table: per channel, an array of gseqs from a base serial).
 *   After a flush threshold (CIDX_FLUSH_ENTRIES entries, or the oldest
 *   CIDX_FLUSH_MS old) one write transaction writes every channel's pending
 *   entries as one block and moves indexed_upto; each channel's index page
 *   is then dirtied once for many messages.
 * - The pending index is never needed for recovery: every record names its
 *   channel and serial, so opening a store rebuilds it by scanning glog
 *   after indexed_upto (at most a flush threshold of records).
 *
 * Readers and the pending index.  A table covers one flush generation:
 * gen is the indexed_upto its entries continue, and every glog record up
 * to `scanned` has its entry in it.  A read operation pairs its LMDB
 * snapshot with a table of the same generation that has scanned at least
 * the snapshot's last record (cidx_read_begin): if the table is behind (a
 * commit whose entries the writer has not added yet, or another process's
 * writes) the reader scans the missing records itself; if a flush
 * committed and the writer has not yet replaced the table, the reader
 * builds the new one; if the table is newer than the snapshot, the reader
 * renews its snapshot.  Tables are reference counted, so a flush never
 * takes entries away from a reader still using an older snapshot.  Entries
 * are only ever added for committed records and never change, so a table
 * may hold more than a snapshot needs (reads are bounded by the snapshot's
 * channel metadata), never less.
 *
 * Within this process the writer adds a batch's entries right after its
 * commit, under the store's writer lock, so while a write transaction runs
 * no reader has anything to add and the writer may read the table without
 * the lock.  A second process writing the same store is not supported: its
 * pending entries would be invisible here.
 */

#include "config.h"

#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store-int.h"

/* Flush the pending index at this many entries ... */
#define CIDX_FLUSH_ENTRIES	65536
/* ... or when its oldest entry is this old (checked at appends). */
#define CIDX_FLUSH_MS		1000
/* Entries per block at most (32 KiB values). */
#define CIDX_BLOCK_MAX		4096

/* One channel's pending entries: serials base .. base + n - 1. */
struct cidx_chan {
	uint64_t	 chan;
	uint64_t	 base;
	uint64_t	*g;		/* gseqs; 0 marks a record that failed
					   its checks when scanned */
	size_t		 n;
	size_t		 alloc;
};

/* A pending index of one flush generation (see above). */
struct cidx_table {
	uint64_t		 gen;
	uint64_t		 scanned;
	uint64_t		 count;
	uint64_t		 oldest_ms;
	unsigned int		 refs;
	struct cidx_chan	*chans;
	size_t			 nchans;
	size_t			 chansalloc;
	uint32_t		*slots;		/* hash into chans, +1 */
	size_t			 nslots;
};

/* A flush in progress, for store_write_post(). */
struct cidx_flush {
	uint64_t		 upto;
	struct cidx_order	*order;
};

/* Make an empty table of generation gen. */
static struct cidx_table *
cidx_table_new(uint64_t gen)
{
	struct cidx_table	*t;

	t = store_xmalloc(sizeof *t);
	memset(t, 0, sizeof *t);
	t->gen = gen;
	t->scanned = gen;
	t->refs = 1;
	t->nslots = 64;
	t->slots = store_xmalloc(t->nslots * sizeof *t->slots);
	memset(t->slots, 0, t->nslots * sizeof *t->slots);
	return (t);
}

/* Free a table. */
void
cidx_table_free(struct cidx_table *t)
{
	size_t	i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nchans; i++)
		free(t->chans[i].g);
	free(t->chans);
	free(t->slots);
	free(t);
}

/* Drop a reference to a table; plock held. */
static void
cidx_table_unref(struct cidx_table *t)
{
	if (t != NULL && --t->refs == 0)
		cidx_table_free(t);
}

/* Hash a channel id into a slot. */
static size_t
cidx_hash(uint64_t chan, size_t mask)
{
	return ((chan * 0x9e3779b97f4a7c15ULL) >> 17) & mask;
}

/* Find channel chan in a table, or NULL. */
static struct cidx_chan *
cidx_table_find(struct cidx_table *t, uint64_t chan)
{
	size_t	i, mask = t->nslots - 1;

	for (i = cidx_hash(chan, mask); t->slots[i] != 0; i = (i + 1) & mask) {
		if (t->chans[t->slots[i] - 1].chan == chan)
			return (&t->chans[t->slots[i] - 1]);
	}
	return (NULL);
}

/* Double the hash of a table. */
static void
cidx_table_rehash(struct cidx_table *t)
{
	size_t	i, j, mask;

	free(t->slots);
	t->nslots *= 2;
	mask = t->nslots - 1;
	t->slots = store_xmalloc(t->nslots * sizeof *t->slots);
	memset(t->slots, 0, t->nslots * sizeof *t->slots);
	for (i = 0; i < t->nchans; i++) {
		for (j = cidx_hash(t->chans[i].chan, mask); t->slots[j] != 0;
		    j = (j + 1) & mask)
			;
		t->slots[j] = i + 1;
	}
}

/* Find channel chan in a table, adding it (from serial base) if missing. */
static struct cidx_chan *
cidx_table_get(struct cidx_table *t, uint64_t chan, uint64_t base)
{
	struct cidx_chan	*c;
	size_t			 i, mask;

	if ((c = cidx_table_find(t, chan)) != NULL)
		return (c);
	if ((t->nchans + 1) * 2 > t->nslots)
		cidx_table_rehash(t);
	if (t->nchans == t->chansalloc) {
		t->chansalloc = t->chansalloc == 0 ? 16 : t->chansalloc * 2;
		t->chans = store_xrealloc(t->chans, t->chansalloc *
		    sizeof *t->chans);
	}
	c = &t->chans[t->nchans];
	memset(c, 0, sizeof *c);
	c->chan = chan;
	c->base = base;
	mask = t->nslots - 1;
	for (i = cidx_hash(chan, mask); t->slots[i] != 0; i = (i + 1) & mask)
		;
	t->slots[i] = ++t->nchans;
	return (c);
}

/*
 * Add the entry (chan, serial) -> gseq.  Serials of a channel arrive in
 * order; a serial skipped (a record that failed its checks) is marked 0.
 */
static void
cidx_table_add(struct cidx_table *t, uint64_t chan, uint64_t serial,
    uint64_t gseq, uint64_t now)
{
	struct cidx_chan	*c;
	size_t			 need;

	c = cidx_table_get(t, chan, serial);
	if (serial < c->base + c->n)
		return;			/* already there */
	need = serial - c->base + 1;
	if (need > c->alloc) {
		c->alloc = c->alloc == 0 ? 64 : c->alloc;
		while (c->alloc < need)
			c->alloc *= 2;
		c->g = store_xrealloc(c->g, c->alloc * sizeof *c->g);
	}
	while (c->n < need - 1)
		c->g[c->n++] = 0;
	c->g[c->n++] = gseq;
	if (t->count++ == 0)
		t->oldest_ms = now;
}

/* Read meta "indexed_upto" (0 when there is none). */
int
cidx_meta_upto(struct store *s, MDB_txn *txn, uint64_t *upto)
{
	MDB_val	k, v;
	int	rc;

	k.mv_data = "indexed_upto";
	k.mv_size = 12;
	rc = mdb_get(txn, s->dbi_meta, &k, &v);
	if (rc == MDB_NOTFOUND) {
		*upto = 0;
		return (0);
	}
	if (rc != 0)
		return (rc);
	if (v.mv_size != 8)
		return (STORE_ECORRUPT);
	*upto = store_be64dec(v.mv_data);
	return (0);
}

/* The last gseq in glog (0 if it is empty). */
static int
cidx_glog_last(struct store *s, MDB_txn *txn, uint64_t *last)
{
	MDB_cursor	*c;
	MDB_val		 k, v;
	int		 rc;

	*last = 0;
	if ((rc = mdb_cursor_open(txn, s->dbi_glog, &c)) != 0)
		return (rc);
	rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
	if (rc == 0 && k.mv_size != STORE_GKEY_LEN)
		rc = STORE_ECORRUPT;
	else if (rc == 0)
		*last = store_be64dec(k.mv_data);
	mdb_cursor_close(c);
	return (rc == MDB_NOTFOUND ? 0 : rc);
}

/*
 * Add the entries of glog records after t->scanned up to `last` to t.  A
 * record that fails its checksum cannot be trusted to name its channel: it
 * is left out, and reads of its serial find the hole and report
 * STORE_ECORRUPT, as verify does.
 */
static int
cidx_scan(struct store *s, MDB_txn *txn, struct cidx_table *t, uint64_t last)
{
	MDB_cursor	*c;
	MDB_val		 k, v;
	unsigned char	 key[STORE_GKEY_LEN];
	uint64_t	 gseq, chan, serial, now = store_now_ms();
	int		 rc;

	if (t->scanned >= last)
		return (0);
	if ((rc = mdb_cursor_open(txn, s->dbi_glog, &c)) != 0)
		return (rc);
	store_be64enc(key, t->scanned + 1);
	k.mv_data = key;
	k.mv_size = sizeof key;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size != STORE_GKEY_LEN)
			continue;
		gseq = store_be64dec(k.mv_data);
		if (gseq > last)
			break;
		if (record_check(k.mv_data, v.mv_data, v.mv_size) != 0)
			continue;
		record_ident(v.mv_data, v.mv_size, &chan, &serial);
		cidx_table_add(t, chan, serial, gseq, now);
	}
	mdb_cursor_close(c);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return (rc);
	t->scanned = last;
	return (0);
}

/*
 * Build a table for the snapshot of txn: generation indexed_upto, every
 * later glog record scanned.  Sets *rcp; NULL on error.
 */
struct cidx_table *
cidx_table_build(struct store *s, MDB_txn *txn, int *rcp)
{
	struct cidx_table	*t;
	uint64_t		 upto, last;
	int			 rc;

	if ((rc = cidx_meta_upto(s, txn, &upto)) != 0 ||
	    (rc = cidx_glog_last(s, txn, &last)) != 0) {
		*rcp = rc;
		return (NULL);
	}
	t = cidx_table_new(upto);
	if ((rc = cidx_scan(s, txn, t, last)) != 0) {
		cidx_table_free(t);
		t = NULL;
	}
	*rcp = rc;
	return (t);
}

/*
 * Rebuild the pending index when the store opens, and find the next gseq.
 * The next gseq is past indexed_upto too: the records at the end of glog
 * may have been trimmed.
 */
int
cidx_open(struct store *s, char **cause)
{
	MDB_txn	*txn;
	uint64_t upto, last;
	int	 rc;

	pthread_rwlock_rdlock(&s->maplock);
	rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
	if (rc == 0) {
		s->pidx = cidx_table_build(s, txn, &rc);
		if (rc == 0)
			rc = cidx_meta_upto(s, txn, &upto);
		if (rc == 0)
			rc = cidx_glog_last(s, txn, &last);
		mdb_txn_abort(txn);
	}
	pthread_rwlock_unlock(&s->maplock);
	if (rc != 0) {
		store_xasprintf(cause, "%s: rebuilding the pending index: %s",
		    s->dir, store_strerror(store_err(rc)));
		return (store_err(rc));
	}
	s->next_gseq = (last > upto ? last : upto) + 1;
	return (0);
}

/* Number of entries in the pending index. */
uint64_t
cidx_pending(struct store *s)
{
	uint64_t	n;

	pthread_mutex_lock(&s->plock);
	n = s->pidx != NULL ? s->pidx->count : 0;
	pthread_mutex_unlock(&s->plock);
	return (n);
}

/*
 * Start a read operation that uses the index: begin the reader's snapshot
 * and pair it with a pending table of the same generation that has seen
 * every record of the snapshot (see the comment at the top).  On success
 * cidx_read_end() must follow.
 */
int
cidx_read_begin(struct store_reader *r)
{
	struct store		*s = r->store;
	struct cidx_table	*t, *nt;
	uint64_t		 upto, last;
	int			 rc;

	for (;;) {
		if ((rc = store_reader_begin(r)) != 0)
			return (rc);
		if ((rc = cidx_meta_upto(s, r->txn, &upto)) != 0 ||
		    (rc = cidx_glog_last(s, r->txn, &last)) != 0) {
			store_reader_end(r);
			return (store_err(rc));
		}
		pthread_mutex_lock(&s->plock);
		t = s->pidx;
		if (t->gen > upto) {
			/* A flush is newer than this snapshot: renew. */
			pthread_mutex_unlock(&s->plock);
			store_reader_end(r);
			sched_yield();
			continue;
		}
		if (t->gen < upto) {
			nt = cidx_table_new(upto);
			if ((rc = cidx_scan(s, r->txn, nt, last)) != 0) {
				cidx_table_free(nt);
				break;
			}
			s->pidx = nt;
			cidx_table_unref(t);
			t = nt;
		} else if ((rc = cidx_scan(s, r->txn, t, last)) != 0)
			break;
		t->refs++;
		r->pidx = t;
		pthread_mutex_unlock(&s->plock);
		return (0);
	}
	pthread_mutex_unlock(&s->plock);
	store_reader_end(r);
	return (store_err(rc));
}

/* End a read operation started by cidx_read_begin(). */
void
cidx_read_end(struct store_reader *r)
{
	struct store	*s = r->store;

	pthread_mutex_lock(&s->plock);
	cidx_table_unref(r->pidx);
	pthread_mutex_unlock(&s->plock);
	r->pidx = NULL;
	store_reader_end(r);
}

/* Start looking up serials of channel chan in txn's index and table t. */
void
cidx_cur_init(struct cidx_cur *cc, struct store *s, MDB_txn *txn,
    struct cidx_table *t, uint64_t chan, int backward)
{
	cc->s = s;
	cc->txn = txn;
	cc->t = t;
	cc->ic = NULL;
	cc->chan = chan;
	cc->backward = backward;
	cc->blk = NULL;
	cc->bfirst = cc->bn = 0;
	cc->pbase = UINT64_MAX;
	cc->pbase_known = 0;
	cc->pfirst = cc->pn = 0;
}

/* Release a lookup position. */
void
cidx_cur_close(struct cidx_cur *cc)
{
	if (cc->ic != NULL)
		mdb_cursor_close(cc->ic);
	cc->ic = NULL;
}

/*
 * Copy a window of the pending entries around serial into cc->pbuf: the
 * serials after it for a forward read, before it for a backward one.
 * Returns 0 or MDB_NOTFOUND.
 */
static int
cidx_cur_pending(struct cidx_cur *cc, uint64_t serial)
{
	struct store		*s = cc->s;
	struct cidx_chan	*c;
	uint64_t		 lo, hi;
	int			 rc = MDB_NOTFOUND;

	if (cc->t == NULL || (cc->pbase_known && serial < cc->pbase))
		return (MDB_NOTFOUND);
	pthread_mutex_lock(&s->plock);
	c = cidx_table_find(cc->t, cc->chan);
	if (!cc->pbase_known) {
		/*
		 * The table had seen all of the snapshot when the read began:
		 * serials added later are beyond the snapshot, so the base of
		 * the channel's pending entries may be remembered.
		 */
		cc->pbase = c != NULL ? c->base : UINT64_MAX;
		cc->pbase_known = 1;
	}
	if (c != NULL && serial >= c->base && serial - c->base < c->n) {
		if (cc->backward) {
			hi = serial - c->base + 1;
			lo = hi > CIDX_PBUF ? hi - CIDX_PBUF : 0;
		} else {
			lo = serial - c->base;
			hi = c->n - lo > CIDX_PBUF ? lo + CIDX_PBUF : c->n;
		}
		memcpy(cc->pbuf, c->g + lo, (hi - lo) * sizeof *cc->pbuf);
		cc->pfirst = c->base + lo;
		cc->pn = hi - lo;
		rc = 0;
	}
	pthread_mutex_unlock(&s->plock);
	return (rc);
}

/* Find the block of cidx holding serial.  Returns 0 or MDB_NOTFOUND. */
static int
cidx_cur_block(struct cidx_cur *cc, uint64_t serial)
{
	unsigned char	key[STORE_IKEY_LEN];
	MDB_val		k, v;
	uint64_t	first;
	int		rc;

	if (cc->ic == NULL &&
	    (rc = mdb_cursor_open(cc->txn, cc->s->dbi_cidx, &cc->ic)) != 0)
		return (rc);
	store_ikey(key, cc->chan, serial);
	k.mv_data = key;
	k.mv_size = sizeof key;
	rc = mdb_cursor_get(cc->ic, &k, &v, MDB_SET_RANGE);
	if (rc == MDB_NOTFOUND)
		rc = mdb_cursor_get(cc->ic, &k, &v, MDB_LAST);
	else if (rc == 0 && (k.mv_size != STORE_IKEY_LEN ||
	    memcmp(k.mv_data, key, sizeof key) != 0))
		rc = mdb_cursor_get(cc->ic, &k, &v, MDB_PREV);
	if (rc != 0)
		return (rc);
	if (k.mv_size != STORE_IKEY_LEN ||
	    store_be64dec(k.mv_data) != cc->chan)
		return (MDB_NOTFOUND);
	if (v.mv_size == 0 || v.mv_size % 8 != 0)
		return (STORE_ECORRUPT);
	first = store_be64dec((unsigned char *)k.mv_data + 8);
	if (serial < first || serial - first >= v.mv_size / 8)
		return (MDB_NOTFOUND);
	cc->blk = v.mv_data;
	cc->bfirst = first;
	cc->bn = v.mv_size / 8;
	return (0);
}

/*
 * Look up the gseq of serial.  Returns 0, MDB_NOTFOUND (not indexed), or
 * another error.
 */
int
cidx_cur_get(struct cidx_cur *cc, uint64_t serial, uint64_t *gseq)
{
	int	rc;

	if (cc->bn != 0 && serial >= cc->bfirst && serial - cc->bfirst <
	    cc->bn) {
		*gseq = store_be64dec(cc->blk + 8 * (serial - cc->bfirst));
		return (0);
	}
	if (cc->pn == 0 || serial < cc->pfirst || serial - cc->pfirst >=
	    cc->pn) {
		rc = cidx_cur_pending(cc, serial);
		if (rc == MDB_NOTFOUND) {
			if ((rc = cidx_cur_block(cc, serial)) != 0)
				return (rc);
			*gseq = store_be64dec(cc->blk + 8 *
			    (serial - cc->bfirst));
			return (0);
		}
	}
	*gseq = cc->pbuf[serial - cc->pfirst];
	return (*gseq == 0 ? MDB_NOTFOUND : 0);
}

/*
 * After a batch committed (writer lock held): add its entries to the
 * pending index, unless a reader already scanned them.
 */
void
cidx_batch_done(struct store *s)
{
	struct cidx_table	*t;
	struct cidx_ent		*e;
	uint64_t		 now = store_now_ms();
	size_t			 i;

	if (s->nbents == 0)
		return;
	pthread_mutex_lock(&s->plock);
	t = s->pidx;
	for (i = 0; i < s->nbents; i++) {
		e = &s->bents[i];
		if (e->gseq > t->scanned)
			cidx_table_add(t, e->chan, e->serial, e->gseq, now);
	}
	if (s->bents[s->nbents - 1].gseq > t->scanned)
		t->scanned = s->bents[s->nbents - 1].gseq;
	pthread_mutex_unlock(&s->plock);
}

/* A channel of the table to flush, sorted by id. */
struct cidx_order {
	uint64_t	chan;
	size_t		i;
};

/* Order channels by id, for qsort. */
static int
cidx_cmp_chan(const void *a, const void *b)
{
	uint64_t	x = ((const struct cidx_order *)a)->chan;
	uint64_t	y = ((const struct cidx_order *)b)->chan;

	return (x < y ? -1 : x > y);
}

/*
 * Write one channel's pending entries as blocks, leaving out serials that
 * were trimmed since, or that a block already holds.
 */
static int
cidx_flush_chan(struct store *s, MDB_txn *txn, MDB_cursor *cur,
    const struct cidx_chan *c)
{
	struct chanrec	 rec;
	char		 name[STORE_NAME_MAX + 1];
	unsigned char	 key[STORE_IKEY_LEN];
	MDB_val		 k, v;
	uint64_t	 start, end, n, i, bfirst;
	size_t		 len;
	int		 rc;

	rc = chanlog_meta_get(s, txn, c->chan, &rec, name, &len);
	if (rc == MDB_NOTFOUND)
		return (0);
	if (rc != 0)
		return (rc);
	start = c->base > rec.first ? c->base : rec.first;
	end = c->base + c->n;		/* exclusive */

	/* Where the channel's last block ends. */
	store_ikey(key, c->chan + 1, 0);
	k.mv_data = key;
	k.mv_size = sizeof key;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	if (rc == MDB_NOTFOUND)
		rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	else if (rc == 0)
		rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
	if (rc == 0 && k.mv_size == STORE_IKEY_LEN &&
	    store_be64dec(k.mv_data) == c->chan) {
		bfirst = store_be64dec((unsigned char *)k.mv_data + 8);
		if (bfirst + v.mv_size / 8 > start)
			start = bfirst + v.mv_size / 8;
	} else if (rc != 0 && rc != MDB_NOTFOUND)
		return (rc);

	for (; start < end; start += n) {
		n = end - start > CIDX_BLOCK_MAX ? CIDX_BLOCK_MAX : end - start;
		store_ikey(key, c->chan, start);
		k.mv_data = key;
		k.mv_size = sizeof key;
		v.mv_data = NULL;
		v.mv_size = n * 8;
		if ((rc = mdb_put(txn, s->dbi_cidx, &k, &v, MDB_RESERVE)) != 0)
			return (rc);
		for (i = 0; i < n; i++)
			store_be64enc((unsigned char *)v.mv_data + 8 * i,
			    c->g[start - c->base + i]);
	}
	return (0);
}

/*
 * Write the whole pending index into cidx (run by store_write).  No lock
 * on the table: the writer lock is held and every commit's entries were
 * added, so no reader changes it meanwhile.
 */
static int
cidx_flush_txn(struct store *s, MDB_txn *txn, void *arg)
{
	struct cidx_flush	*f = arg;
	struct cidx_table	*t = s->pidx;
	MDB_cursor		*cur;
	unsigned char		 b[8];
	MDB_val			 k, v;
	size_t			 i;
	int			 rc;

	f->upto = s->next_gseq - 1;
	free(f->order);
	f->order = store_xmalloc((t->nchans + 1) * sizeof *f->order);
	for (i = 0; i < t->nchans; i++) {
		f->order[i].chan = t->chans[i].chan;
		f->order[i].i = i;
	}
	qsort(f->order, t->nchans, sizeof *f->order, cidx_cmp_chan);
	if ((rc = mdb_cursor_open(txn, s->dbi_cidx, &cur)) != 0)
		return (rc);
	for (i = 0; i < t->nchans; i++) {
		if ((rc = cidx_flush_chan(s, txn, cur,
		    &t->chans[f->order[i].i])) != 0)
			break;
	}
	mdb_cursor_close(cur);
	if (rc != 0)
		return (rc);
	store_be64enc(b, f->upto);
	k.mv_data = "indexed_upto";
	k.mv_size = 12;
	v.mv_data = b;
	v.mv_size = sizeof b;
	return (mdb_put(txn, s->dbi_meta, &k, &v, 0));
}

/* After a flush committed: start an empty table of the new generation. */
static void
cidx_flush_done(struct store *s, void *arg)
{
	struct cidx_flush	*f = arg;
	struct cidx_table	*old;

	pthread_mutex_lock(&s->plock);
	old = s->pidx;
	if (old->gen != f->upto) {	/* else a reader already did */
		s->pidx = cidx_table_new(f->upto);
		cidx_table_unref(old);
	}
	pthread_mutex_unlock(&s->plock);
}

/* Write the pending index into cidx now. */
static int
cidx_flush(struct store *s)
{
	struct cidx_flush	f;
	int			rc;

	memset(&f, 0, sizeof f);
	rc = store_write_post(s, cidx_flush_txn, cidx_flush_done, &f);
	free(f.order);
	return (rc);
}

/*
 * Flush the pending index if it has grown past the threshold or its
 * oldest entry is old enough.  A failure leaves the entries pending, to be
 * flushed later; nothing is lost.
 */
void
cidx_maybe_flush(struct store *s)
{
	struct cidx_table	*t;
	uint64_t		 count, oldest;

	pthread_mutex_lock(&s->plock);
	t = s->pidx;
	count = t->count;
	oldest = t->oldest_ms;
	pthread_mutex_unlock(&s->plock);
	if (count == 0 || (count < CIDX_FLUSH_ENTRIES &&
	    store_now_ms() - oldest < CIDX_FLUSH_MS))
		return;
	cidx_flush(s);
}

/* Flush what is pending and free the pending index (store closing). */
void
cidx_close(struct store *s)
{
	if (s->pidx == NULL)
		return;
	if (!s->cfg.readonly && s->pidx->count != 0)
		cidx_flush(s);
	cidx_table_free(s->pidx);
	s->pidx = NULL;
}

/*
 * Drop the index blocks of channel chan below serial first (inside the
 * trim's write transaction): blocks wholly below go, and the block that
 * straddles first is written again from first.
 */
int
cidx_trim(struct store *s, MDB_txn *txn, uint64_t chan, uint64_t first)
{
	MDB_cursor	*cur;
	unsigned char	 key[STORE_IKEY_LEN], *tail = NULL;
	MDB_val		 k, v;
	uint64_t	 bfirst, n;
	size_t		 tlen = 0;
	int		 rc;

	if ((rc = mdb_cursor_open(txn, s->dbi_cidx, &cur)) != 0)
		return (rc);
	for (;;) {
		store_ikey(key, chan, 0);
		k.mv_data = key;
		k.mv_size = sizeof key;
		if ((rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE)) != 0)
			break;
		if (k.mv_size != STORE_IKEY_LEN ||
		    store_be64dec(k.mv_data) != chan)
			break;
		bfirst = store_be64dec((unsigned char *)k.mv_data + 8);
		n = v.mv_size / 8;
		if (bfirst >= first)
			break;
		if (bfirst + n > first) {
			tlen = (bfirst + n - first) * 8;
			tail = store_xmalloc(tlen);
			memcpy(tail, (unsigned char *)v.mv_data +
			    (first - bfirst) * 8, tlen);
		}
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
		if (tail != NULL)
			break;
	}
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND)
		rc = 0;
	if (rc == 0 && tail != NULL) {
		store_ikey(key, chan, first);
		k.mv_data = key;
		k.mv_size = sizeof key;
		v.mv_data = tail;
		v.mv_size = tlen;
		rc = mdb_put(txn, s->dbi_cidx, &k, &v, 0);
	}
	free(tail);
	return (rc);
}
