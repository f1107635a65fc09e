/*
 * Channel logs: appending batches, the channel table, reads, time lookup and
 * listing.
 */

#include "config.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "store-int.h"

/* Dedupe entries swept per append transaction, beyond one per message. */
#define CHANLOG_SWEEP_MIN	64

/* Dedupe keys: channel id, then the message id. */
#define CHANLOG_DKEY_MAX	(8 + STORE_ID_MAX)
/* Dedupe expiry keys: time, channel id, then the message id. */
#define CHANLOG_XKEY_MAX	(16 + STORE_ID_MAX)

/* State of one write transaction. */
struct chanlog_wtx {
	struct store	*s;
	MDB_txn		*txn;
	uint64_t	 next_id;	/* meta "next_chan_id" */
	int		 next_dirty;
	uint64_t	 now;
	uint64_t	 gseq;		/* next global sequence number */
};

/* An append in progress, for store_write_post(). */
struct chanlog_batch {
	struct store_msg	*msgs;
	size_t			 n;
	uint64_t		 now;
	uint64_t		 gseq;	/* next gseq after the batch */
};

/* A channel creation in progress, for store_write(). */
struct chanlog_ensure {
	const char		*name;
	size_t			 len;
	uint64_t		 now;
	struct store_chan	*out;
};

/* Encode a channel entry. */
void
chanlog_rec_encode(const struct chanrec *c, unsigned char *b)
{
	store_be64enc(b, c->id);
	store_be64enc(b + 8, c->first);
	store_be64enc(b + 16, c->head);
	store_be64enc(b + 24, c->count);
	store_be64enc(b + 32, c->bytes);
	store_be64enc(b + 40, c->created);
	store_be64enc(b + 48, c->last_time);
	memcpy(b + 56, c->epoch, STORE_EPOCH_LEN);
}

/* Decode a channel entry.  Returns 0 or STORE_ECORRUPT. */
int
chanlog_rec_decode(const void *p, size_t len, struct chanrec *c)
{
	const unsigned char	*b = p;

	if (len != CHANREC_LEN)
		return (STORE_ECORRUPT);
	c->id = store_be64dec(b);
	c->first = store_be64dec(b + 8);
	c->head = store_be64dec(b + 16);
	c->count = store_be64dec(b + 24);
	c->bytes = store_be64dec(b + 32);
	c->created = store_be64dec(b + 40);
	c->last_time = store_be64dec(b + 48);
	memcpy(c->epoch, b + 56, STORE_EPOCH_LEN);
	return (0);
}

/* Fill a public channel description from an entry and its name. */
void
chanlog_rec_export(const struct chanrec *c, const char *name, size_t len,
    struct store_chan *out)
{
	memset(out, 0, sizeof *out);
	out->id = c->id;
	memcpy(out->name, name, len);
	out->name[len] = '\0';
	out->name_len = len;
	memcpy(out->epoch, c->epoch, STORE_EPOCH_LEN);
	out->epoch[STORE_EPOCH_LEN] = '\0';
	out->first = c->first;
	out->head = c->head;
	out->count = c->count;
	out->bytes = c->bytes;
	out->created = c->created;
	out->last_time = c->last_time;
}

/*
 * Look up channel id's name (in chanids) and entry.  name must have room for
 * STORE_NAME_MAX + 1 bytes.  Returns 0, MDB_NOTFOUND or another error.
 */
int
chanlog_meta_get(struct store *s, MDB_txn *txn, uint64_t id,
    struct chanrec *c, char *name, size_t *len)
{
	unsigned char	kb[8];
	MDB_val		k, v;
	int		rc;

	store_be64enc(kb, id);
	k.mv_data = kb;
	k.mv_size = sizeof kb;
	if ((rc = mdb_get(txn, s->dbi_chanids, &k, &v)) != 0)
		return (rc);
	if (v.mv_size == 0 || v.mv_size > STORE_NAME_MAX)
		return (STORE_ECORRUPT);
	memcpy(name, v.mv_data, v.mv_size);
	name[v.mv_size] = '\0';
	*len = v.mv_size;
	k = v;
	if ((rc = mdb_get(txn, s->dbi_chan, &k, &v)) != 0)
		return (rc == MDB_NOTFOUND ? STORE_ECORRUPT : rc);
	if ((rc = chanlog_rec_decode(v.mv_data, v.mv_size, c)) != 0)
		return (rc);
	if (c->id != id)
		return (STORE_ECORRUPT);
	return (0);
}

/*
 * The writer's channel cache.  A batch touches each of its channels' entries
 * once: read on first use, updated in memory for every message, written back
 * once before the commit.  It is an array indexed by an open-addressing hash
 * table twice the size of the batch, both kept in the store between batches
 * so that a steady stream of batches allocates nothing.
 */

/* Empty the channel cache, sized for a batch of n messages. */
static void
chanlog_cache_reset(struct store *s, size_t n)
{
	size_t	want = 16;

	while (want < n * 2)
		want *= 2;
	if (want > s->nslots) {
		s->slots = store_xrealloc(s->slots, want * sizeof *s->slots);
		s->nslots = want;
	}
	memset(s->slots, 0, s->nslots * sizeof *s->slots);
	if (n > s->entsalloc) {
		s->ents = store_xrealloc(s->ents, n * sizeof *s->ents);
		s->entsalloc = n;
	}
	s->nents = 0;
}

/* Load meta "next_chan_id" into the transaction state. */
static int
chanlog_next_load(struct chanlog_wtx *w)
{
	MDB_val	k, v;
	int	rc;

	k.mv_data = "next_chan_id";
	k.mv_size = 12;
	rc = mdb_get(w->txn, w->s->dbi_meta, &k, &v);
	if (rc == MDB_NOTFOUND) {
		w->next_id = 1;
		return (0);
	}
	if (rc != 0)
		return (rc);
	if (v.mv_size != 8)
		return (STORE_ECORRUPT);
	w->next_id = store_be64dec(v.mv_data);
	return (0);
}

/* Create a channel entry for name, with a fresh id and epoch. */
static int
chanlog_create(struct chanlog_wtx *w, const char *name, size_t len,
    struct chanrec *c)
{
	unsigned char	 kb[8];
	char		 epoch[STORE_EPOCH_LEN + 1];
	MDB_val		 k, v;
	int		 rc;

	if ((rc = store_random_epoch(epoch)) != 0)
		return (rc);
	memset(c, 0, sizeof *c);
	c->id = w->next_id++;
	w->next_dirty = 1;
	memcpy(c->epoch, epoch, STORE_EPOCH_LEN);
	c->first = 1;
	c->head = 0;
	c->created = w->now;

	store_be64enc(kb, c->id);
	k.mv_data = kb;
	k.mv_size = sizeof kb;
	v.mv_data = (void *)name;
	v.mv_size = len;
	return (mdb_put(w->txn, w->s->dbi_chanids, &k, &v, MDB_NOOVERWRITE));
}

/*
 * Find channel name in the cache, loading its entry (or creating the channel)
 * on first use.
 */
static int
chanlog_cache_get(struct chanlog_wtx *w, const char *name, size_t len,
    struct chanlog_ent **ep)
{
	struct store		*s = w->s;
	struct chanlog_ent	*e;
	uint64_t		 h;
	size_t			 i, mask = s->nslots - 1;
	MDB_val			 k, v;
	int			 rc;

	h = XXH3_64bits(name, len);
	for (i = h & mask; s->slots[i] != 0; i = (i + 1) & mask) {
		e = &s->ents[s->slots[i] - 1];
		if (e->hash == h && e->len == len &&
		    memcmp(e->name, name, len) == 0) {
			*ep = e;
			return (0);
		}
	}

	e = &s->ents[s->nents];
	e->name = name;
	e->len = len;
	e->hash = h;
	e->dirty = 0;
	k.mv_data = (void *)name;
	k.mv_size = len;
	rc = mdb_get(w->txn, s->dbi_chan, &k, &v);
	if (rc == 0)
		rc = chanlog_rec_decode(v.mv_data, v.mv_size, &e->rec);
	else if (rc == MDB_NOTFOUND) {
		rc = chanlog_create(w, name, len, &e->rec);
		e->dirty = 1;
	}
	if (rc != 0)
		return (rc);
	s->slots[i] = ++s->nents;
	*ep = e;
	return (0);
}

/* Write back changed channel entries and the next channel id. */
static int
chanlog_cache_flush(struct chanlog_wtx *w)
{
	struct store		*s = w->s;
	struct chanlog_ent	*e;
	unsigned char		 b[CHANREC_LEN], nb[8];
	MDB_val			 k, v;
	size_t			 i;
	int			 rc;

	for (i = 0; i < s->nents; i++) {
		e = &s->ents[i];
		if (!e->dirty)
			continue;
		chanlog_rec_encode(&e->rec, b);
		k.mv_data = (void *)e->name;
		k.mv_size = e->len;
		v.mv_data = b;
		v.mv_size = sizeof b;
		if ((rc = mdb_put(w->txn, s->dbi_chan, &k, &v, 0)) != 0)
			return (rc);
	}
	if (w->next_dirty) {
		store_be64enc(nb, w->next_id);
		k.mv_data = "next_chan_id";
		k.mv_size = 12;
		v.mv_data = nb;
		v.mv_size = sizeof nb;
		if ((rc = mdb_put(w->txn, s->dbi_meta, &k, &v, 0)) != 0)
			return (rc);
	}
	return (0);
}

/*
 * Remove up to max expired dedupe entries, oldest first.  The expiry table
 * is ordered by time, so the expired ones are at its start.  An entry in
 * "dedupe" is removed only if its time is the expiry entry's: the same id
 * may have been stored again since, with a later time.
 */
static int
chanlog_dedupe_sweep(struct chanlog_wtx *w, size_t max)
{
	struct store	*s = w->s;
	MDB_cursor	*c;
	MDB_val		 k, v, dk, dv;
	uint64_t	 t, window = s->cfg.dedupe_window_ms;
	size_t		 done;
	int		 rc;

	if ((rc = mdb_cursor_open(w->txn, s->dbi_dedupexp, &c)) != 0)
		return (rc);
	for (done = 0; done < max; done++) {
		rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
		if (rc == MDB_NOTFOUND) {
			rc = 0;
			break;
		}
		if (rc != 0)
			break;
		if (k.mv_size < 17) {
			rc = STORE_ECORRUPT;
			break;
		}
		t = store_be64dec(k.mv_data);
		if (t + window > w->now)
			break;
		dk.mv_data = (unsigned char *)k.mv_data + 8;
		dk.mv_size = k.mv_size - 8;
		rc = mdb_get(w->txn, s->dbi_dedupe, &dk, &dv);
		if (rc == 0 && dv.mv_size == 16 &&
		    store_be64dec((unsigned char *)dv.mv_data + 8) == t)
			rc = mdb_del(w->txn, s->dbi_dedupe, &dk, NULL);
		if (rc != 0 && rc != MDB_NOTFOUND)
			break;
		if ((rc = mdb_cursor_del(c, 0)) != 0)
			break;
	}
	mdb_cursor_close(c);
	return (rc);
}

/* Whether a message's fields are acceptable. */
static int
chanlog_msg_valid(const struct store_msg *m)
{
	if (!store_name_valid(m->channel, m->channel_len))
		return (0);
	if (m->id != NULL && (m->id_len == 0 || m->id_len > STORE_ID_MAX))
		return (0);
	if (m->name_len > STORE_FIELD_MAX || (m->name == NULL && m->name_len))
		return (0);
	if (m->client_len > STORE_FIELD_MAX ||
	    (m->client == NULL && m->client_len))
		return (0);
	if (m->data_len > STORE_DATA_MAX || (m->data == NULL && m->data_len))
		return (0);
	return (1);
}

/*
 * Look message m up in the dedupe table.  Sets *dup if its id was stored on
 * the channel within the window (and fills in the original serial and time);
 * otherwise removes the stale expiry entry of an expired one.
 */
static int
chanlog_dedupe_check(struct chanlog_wtx *w, struct chanlog_ent *e,
    struct store_msg *m, unsigned char *dkey, int *dup)
{
	struct store	*s = w->s;
	unsigned char	 xkey[CHANLOG_XKEY_MAX];
	uint64_t	 otime;
	MDB_val		 k, v;
	int		 rc;

	*dup = 0;
	store_be64enc(dkey, e->rec.id);
	memcpy(dkey + 8, m->id, m->id_len);
	k.mv_data = dkey;
	k.mv_size = 8 + m->id_len;
	rc = mdb_get(w->txn, s->dbi_dedupe, &k, &v);
	if (rc == MDB_NOTFOUND)
		return (0);
	if (rc != 0)
		return (rc);
	if (v.mv_size != 16)
		return (STORE_ECORRUPT);
	otime = store_be64dec((unsigned char *)v.mv_data + 8);
	if (w->now < otime + s->cfg.dedupe_window_ms) {
		m->serial = store_be64dec(v.mv_data);
		m->time = otime;
		m->duplicate = 1;
		*dup = 1;
		return (0);
	}
	store_be64enc(xkey, otime);
	memcpy(xkey + 8, dkey, 8 + m->id_len);
	k.mv_data = xkey;
	k.mv_size = 16 + m->id_len;
	rc = mdb_del(w->txn, s->dbi_dedupexp, &k, NULL);
	return (rc == MDB_NOTFOUND ? 0 : rc);
}

/* Remember message m's id in the dedupe tables. */
static int
chanlog_dedupe_put(struct chanlog_wtx *w, struct store_msg *m,
    unsigned char *dkey)
{
	struct store	*s = w->s;
	unsigned char	 xkey[CHANLOG_XKEY_MAX], val[16];
	MDB_val		 k, v;
	int		 rc;

	store_be64enc(val, m->serial);
	store_be64enc(val + 8, m->time);
	k.mv_data = dkey;
	k.mv_size = 8 + m->id_len;
	v.mv_data = val;
	v.mv_size = sizeof val;
	if ((rc = mdb_put(w->txn, s->dbi_dedupe, &k, &v, 0)) != 0)
		return (rc);
	store_be64enc(xkey, m->time);
	memcpy(xkey + 8, dkey, 8 + m->id_len);
	k.mv_data = xkey;
	k.mv_size = 16 + m->id_len;
	v.mv_data = NULL;
	v.mv_size = 0;
	return (mdb_put(w->txn, s->dbi_dedupexp, &k, &v, 0));
}

/*
 * Put the record of message m, the next serial of channel e, at the end of
 * the global log, and note its index entry for after the commit.  Every
 * key is the last of glog, so MDB_APPEND skips the search and fills pages
 * completely, whatever the channel; the record is written straight into
 * the page (MDB_RESERVE).
 */
static int
chanlog_put_record(struct chanlog_wtx *w, struct chanlog_ent *e,
    struct store_msg *m)
{
	struct store		*s = w->s;
	struct record_in	 in;
	struct cidx_ent		*ie;
	unsigned char		 key[STORE_GKEY_LEN];
	MDB_val			 k, v;
	int			 rc;

	memset(&in, 0, sizeof in);
	if (m->id != NULL) {
		in.id = m->id;
		in.id_len = m->id_len;
	} else {
		in.id_len = snprintf(m->gen_id, sizeof m->gen_id,
		    "%.*s-%" PRIu64, STORE_EPOCH_LEN, e->rec.epoch, m->serial);
		in.id = m->gen_id;
	}
	in.name = m->name;
	in.name_len = m->name_len;
	in.client = m->client;
	in.client_len = m->client_len;
	in.data = m->data;
	in.data_len = m->data_len;
	in.flags = m->flags;
	in.time = m->time;
	in.chan = e->rec.id;
	in.serial = m->serial;
	record_prepare(s, &in);

	store_be64enc(key, w->gseq);
	k.mv_data = key;
	k.mv_size = sizeof key;
	v.mv_data = NULL;
	v.mv_size = in.size;
	rc = mdb_put(w->txn, s->dbi_glog, &k, &v, MDB_RESERVE | MDB_APPEND);
	if (rc == MDB_KEYEXIST)
		return (STORE_ECORRUPT);	/* glog beyond its end */
	if (rc != 0)
		return (rc);
	record_write(&in, key, v.mv_data);

	ie = &s->bents[s->nbents++];
	ie->chan = e->rec.id;
	ie->serial = m->serial;
	ie->gseq = w->gseq++;

	e->rec.head = m->serial;
	e->rec.count++;
	e->rec.bytes += in.size;
	e->rec.last_time = m->time;
	e->dirty = 1;
	return (0);
}

/*
 * Start the work of write transaction txn on up to n channels: an empty
 * cache for them, no index entries yet, the next channel id and global
 * sequence number as stored.
 */
static int
chanlog_wtx_begin(struct chanlog_wtx *w, struct store *s, MDB_txn *txn,
    uint64_t now, size_t n)
{
	memset(w, 0, sizeof *w);
	w->s = s;
	w->txn = txn;
	w->now = now;
	w->gseq = s->next_gseq;
	chanlog_cache_reset(s, n);
	s->nbents = 0;
	return (chanlog_next_load(w));
}

/* Append one valid message. */
static int
chanlog_append_one(struct chanlog_wtx *w, struct store_msg *m)
{
	struct chanlog_ent	*e;
	unsigned char		 dkey[CHANLOG_DKEY_MAX];
	int			 rc, dup;

	if ((rc = chanlog_cache_get(w, m->channel, m->channel_len, &e)) != 0)
		return (rc);
	m->chan_id = e->rec.id;
	memcpy(m->epoch, e->rec.epoch, STORE_EPOCH_LEN);
	m->epoch[STORE_EPOCH_LEN] = '\0';
	if (m->id != NULL) {
		if ((rc = chanlog_dedupe_check(w, e, m, dkey, &dup)) != 0)
			return (rc);
		if (dup)
			return (0);
	}
	m->serial = e->rec.head + 1;
	m->time = w->now > e->rec.last_time ? w->now : e->rec.last_time;
	if ((rc = chanlog_put_record(w, e, m)) != 0)
		return (rc);
	if (m->id != NULL)
		return (chanlog_dedupe_put(w, m, dkey));
	return (0);
}

/* Append a batch inside write transaction txn (run by store_write). */
static int
chanlog_append_txn(struct store *s, MDB_txn *txn, void *arg)
{
	struct chanlog_batch	*b = arg;
	struct chanlog_wtx	 w;
	struct store_msg	*m;
	size_t			 i;
	int			 rc;

	if (b->n > s->bentsalloc) {
		s->bents = store_xrealloc(s->bents, b->n * sizeof *s->bents);
		s->bentsalloc = b->n;
	}
	if ((rc = chanlog_wtx_begin(&w, s, txn, b->now, b->n)) != 0)
		return (rc);
	if ((rc = chanlog_dedupe_sweep(&w, CHANLOG_SWEEP_MIN + b->n)) != 0)
		return (rc);
	for (i = 0; i < b->n; i++) {
		m = &b->msgs[i];
		m->error = 0;
		m->gen_id[0] = '\0';
		m->duplicate = 0;
		m->serial = m->time = m->chan_id = 0;
		m->epoch[0] = '\0';
		if (!chanlog_msg_valid(m)) {
			m->error = STORE_EINVAL;
			continue;
		}
		if ((rc = chanlog_append_one(&w, m)) != 0)
			return (rc);
	}
	b->gseq = w.gseq;
	return (chanlog_cache_flush(&w));
}

/* After a batch committed: move on the gseq, add the index entries. */
static void
chanlog_append_done(struct store *s, void *arg)
{
	struct chanlog_batch	*b = arg;

	s->next_gseq = b->gseq;
	cidx_batch_done(s);
}

/* Reset the results of a failed batch: nothing of it was stored. */
static void
chanlog_batch_clear(struct store_msg *msgs, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (msgs[i].error != 0)
			continue;
		msgs[i].duplicate = 0;
		msgs[i].serial = msgs[i].time = msgs[i].chan_id = 0;
		msgs[i].epoch[0] = '\0';
	}
}

/*
 * Append n messages, to any channels, in one write transaction.
 */
int
store_append(struct store *s, struct store_msg *msgs, size_t n,
    uint64_t now_ms)
{
	struct chanlog_batch	b;
	int			rc;

	if (n == 0)
		return (0);
	b.msgs = msgs;
	b.n = n;
	b.now = now_ms != 0 ? now_ms : store_now_ms();
	if ((rc = store_write_post(s, chanlog_append_txn, chanlog_append_done,
	    &b)) != 0) {
		chanlog_batch_clear(msgs, n);
		return (rc);
	}
	cidx_maybe_flush(s);
	return (0);
}

/* Create or look up one channel inside a write transaction. */
static int
chanlog_ensure_txn(struct store *s, MDB_txn *txn, void *arg)
{
	struct chanlog_ensure	*ce = arg;
	struct chanlog_wtx	 w;
	struct chanlog_ent	*e;
	int			 rc;

	if ((rc = chanlog_wtx_begin(&w, s, txn, ce->now, 1)) != 0)
		return (rc);
	if ((rc = chanlog_cache_get(&w, ce->name, ce->len, &e)) != 0)
		return (rc);
	chanlog_rec_export(&e->rec, ce->name, ce->len, ce->out);
	return (chanlog_cache_flush(&w));
}

/* Create channel `name` if it does not exist, and return its metadata. */
int
store_chan_ensure(struct store *s, const char *name, size_t len,
    uint64_t now_ms, struct store_chan *out)
{
	struct chanlog_ensure	ce;

	if (!store_name_valid(name, len))
		return (STORE_EINVAL);
	ce.name = name;
	ce.len = len;
	ce.now = now_ms != 0 ? now_ms : store_now_ms();
	ce.out = out;
	return (store_write(s, chanlog_ensure_txn, &ce));
}

/* Look up one channel. */
int
store_chan_get(struct store_reader *r, const char *name, size_t len,
    struct store_chan *out)
{
	struct chanrec	c;
	MDB_val		k, v;
	int		rc;

	if (!store_name_valid(name, len))
		return (STORE_EINVAL);
	if ((rc = store_reader_begin(r)) != 0)
		return (rc);
	k.mv_data = (void *)name;
	k.mv_size = len;
	rc = mdb_get(r->txn, r->store->dbi_chan, &k, &v);
	if (rc == 0 && (rc = chanlog_rec_decode(v.mv_data, v.mv_size, &c)) == 0)
		chanlog_rec_export(&c, name, len, out);
	store_reader_end(r);
	return (store_err(rc));
}

/*
 * Call cb for up to `limit` channels (0: no limit) whose names start with
 * prefix, in name order, after name `after`.
 */
int
store_chan_list(struct store_reader *r, const char *prefix, size_t prefix_len,
    const char *after, size_t after_len, size_t limit, store_chan_cb cb,
    void *arg)
{
	struct store_chan	 out;
	struct chanrec		 c;
	MDB_cursor		*cur = NULL;
	MDB_val			 k, v, pk, ak;
	MDB_cursor_op		 op;
	int			 rc, n = 0;

	if (prefix_len > STORE_NAME_MAX || after_len > STORE_NAME_MAX)
		return (STORE_EINVAL);
	if ((rc = store_reader_begin(r)) != 0)
		return (rc);
	if ((rc = mdb_cursor_open(r->txn, r->store->dbi_chan, &cur)) != 0)
		goto out;

	/* Start at the later of the prefix and the cursor. */
	pk.mv_data = (void *)prefix;
	pk.mv_size = prefix_len;
	ak.mv_data = (void *)after;
	ak.mv_size = after_len;
	if (after != NULL && after_len != 0 &&
	    (prefix_len == 0 || mdb_cmp(r->txn, r->store->dbi_chan, &ak,
	    &pk) >= 0))
		k = ak;
	else
		k = pk;
	op = k.mv_size == 0 ? MDB_FIRST : MDB_SET_RANGE;
	for (rc = mdb_cursor_get(cur, &k, &v, op); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (prefix_len != 0 && (k.mv_size < prefix_len ||
		    memcmp(k.mv_data, prefix, prefix_len) != 0))
			break;
		if (after != NULL && after_len != 0 &&
		    mdb_cmp(r->txn, r->store->dbi_chan, &k, &ak) <= 0)
			continue;
		if (limit != 0 && (size_t)n >= limit)
			break;
		if (k.mv_size > STORE_NAME_MAX) {
			rc = STORE_ECORRUPT;
			goto out;
		}
		if ((rc = chanlog_rec_decode(v.mv_data, v.mv_size, &c)) != 0)
			goto out;
		chanlog_rec_export(&c, k.mv_data, k.mv_size, &out);
		n++;
		if (cb(&out, arg) != 0)
			break;
	}
	rc = (rc == 0 || rc == MDB_NOTFOUND) ? 0 : rc;
out:
	if (cur != NULL)
		mdb_cursor_close(cur);
	store_reader_end(r);
	return (rc != 0 ? store_err(rc) : n);
}

/*
 * A read of one channel: the index lookup position and a cursor on glog.
 * The glog cursor steps with MDB_NEXT (MDB_PREV backwards) when the wanted
 * record is the neighbour of the last one, which is the common case of a
 * channel written in bulk; otherwise it seeks.
 */
struct chanlog_rd {
	struct cidx_cur	 cc;
	MDB_cursor	*gc;
	uint64_t	 last;		/* gseq the cursor is on, 0: none */
};

/* Start a read of channel chan_id in reader r's operation. */
static int
chanlog_rd_open(struct chanlog_rd *rd, struct store_reader *r,
    uint64_t chan_id, int backward)
{
	cidx_cur_init(&rd->cc, r->store, r->txn, r->pidx, chan_id, backward);
	rd->last = 0;
	return (mdb_cursor_open(r->txn, r->store->dbi_glog, &rd->gc));
}

/* End a read. */
static void
chanlog_rd_close(struct chanlog_rd *rd)
{
	cidx_cur_close(&rd->cc);
	if (rd->gc != NULL)
		mdb_cursor_close(rd->gc);
	rd->gc = NULL;
}

/*
 * Find the record of serial (which the snapshot's metadata says is kept)
 * and check that it is that channel's serial.  Sets *v and the key.  A
 * serial missing from the index or the log, or a record of another
 * serial, is STORE_ECORRUPT.
 */
static int
chanlog_rd_get(struct chanlog_rd *rd, uint64_t serial, unsigned char *key,
    MDB_val *v)
{
	MDB_val		k;
	uint64_t	gseq, chan, ser;
	int		rc;

	if ((rc = cidx_cur_get(&rd->cc, serial, &gseq)) != 0)
		return (rc == MDB_NOTFOUND ? STORE_ECORRUPT : rc);
	if (rd->last != 0 && gseq == rd->last + (rd->cc.backward ? -1 : 1)) {
		rc = mdb_cursor_get(rd->gc, &k, v, rd->cc.backward ?
		    MDB_PREV : MDB_NEXT);
		if (rc == 0 && (k.mv_size != STORE_GKEY_LEN ||
		    store_be64dec(k.mv_data) != gseq))
			rc = MDB_NOTFOUND;
	} else {
		store_be64enc(key, gseq);
		k.mv_data = key;
		k.mv_size = STORE_GKEY_LEN;
		rc = mdb_cursor_get(rd->gc, &k, v, MDB_SET);
	}
	if (rc != 0) {
		rd->last = 0;
		return (rc == MDB_NOTFOUND ? STORE_ECORRUPT : rc);
	}
	rd->last = gseq;
	store_be64enc(key, gseq);
	if (record_ident(v->mv_data, v->mv_size, &chan, &ser) != 0 ||
	    chan != rd->cc.chan || ser != serial)
		return (STORE_ECORRUPT);
	return (0);
}

/*
 * Read channel chan_id from serial `from` towards serial `to` (inclusive).
 * The range is clipped to the channel's kept serials in this snapshot, so
 * every serial in it must be found.
 */
int
store_read(struct store_reader *r, uint64_t chan_id, uint64_t from,
    uint64_t to, int backward, size_t max_count, size_t max_bytes,
    store_rec_cb cb, void *arg)
{
	struct store_rec	 rec;
	struct chanlog_rd	 rd;
	struct chanrec		 c;
	unsigned char		 key[STORE_GKEY_LEN];
	char			 name[STORE_NAME_MAX + 1];
	MDB_val			 v;
	uint64_t		 serial;
	size_t			 bytes = 0, len;
	int			 rc, n = 0;

	if (from > to)
		return (0);
	if ((rc = cidx_read_begin(r)) != 0)
		return (rc);
	rd.gc = NULL;
	rd.cc.ic = NULL;
	rc = chanlog_meta_get(r->store, r->txn, chan_id, &c, name, &len);
	if (rc != 0)
		goto out;
	if (from < c.first)
		from = c.first;
	if (to > c.head)
		to = c.head;
	if (from > to)
		goto out;
	if ((rc = chanlog_rd_open(&rd, r, chan_id, backward)) != 0)
		goto out;
	serial = backward ? to : from;
	for (;;) {
		if (max_count != 0 && (size_t)n >= max_count)
			break;
		if ((rc = chanlog_rd_get(&rd, serial, key, &v)) != 0)
			break;
		if ((rc = record_decode(r, key, v.mv_data, v.mv_size,
		    &rec)) != 0)
			break;
		if (n > 0 && max_bytes != 0 && bytes + rec.data_len > max_bytes)
			break;
		bytes += rec.data_len;
		n++;
		if (cb(&rec, arg) != 0)
			break;
		if (serial == (backward ? from : to))
			break;
		serial += backward ? -1 : 1;
	}
out:
	if (rc == MDB_NOTFOUND)
		rc = 0;
	chanlog_rd_close(&rd);
	cidx_read_end(r);
	return (rc != 0 ? store_err(rc) : n);
}

/* Read one message. */
int
store_get(struct store_reader *r, uint64_t chan_id, uint64_t serial,
    store_rec_cb cb, void *arg)
{
	struct store_rec	 rec;
	struct chanlog_rd	 rd;
	struct chanrec		 c;
	unsigned char		 key[STORE_GKEY_LEN];
	char			 name[STORE_NAME_MAX + 1];
	MDB_val			 v;
	size_t			 len;
	int			 rc;

	if ((rc = cidx_read_begin(r)) != 0)
		return (rc);
	rd.gc = NULL;
	rd.cc.ic = NULL;
	rc = chanlog_meta_get(r->store, r->txn, chan_id, &c, name, &len);
	if (rc == 0 && (serial < c.first || serial > c.head))
		rc = MDB_NOTFOUND;
	if (rc == 0)
		rc = chanlog_rd_open(&rd, r, chan_id, 0);
	if (rc == 0)
		rc = chanlog_rd_get(&rd, serial, key, &v);
	if (rc == 0 && (rc = record_decode(r, key, v.mv_data, v.mv_size,
	    &rec)) == 0)
		cb(&rec, arg);
	chanlog_rd_close(&rd);
	cidx_read_end(r);
	return (store_err(rc));
}

/*
 * Find the first serial of channel chan_id whose time is >= t.  Serials are
 * contiguous and times never decrease within a channel, so this is a plain
 * bisection over [first, head + 1).
 */
int
store_find_time(struct store_reader *r, uint64_t chan_id, uint64_t t,
    uint64_t *serial)
{
	struct chanlog_rd	 rd;
	struct chanrec		 c;
	unsigned char		 key[STORE_GKEY_LEN];
	char			 name[STORE_NAME_MAX + 1];
	MDB_val			 v;
	size_t			 len;
	uint64_t		 lo, hi, mid, mt;
	int			 rc;

	if ((rc = cidx_read_begin(r)) != 0)
		return (rc);
	rd.gc = NULL;
	rd.cc.ic = NULL;
	if ((rc = chanlog_meta_get(r->store, r->txn, chan_id, &c, name,
	    &len)) != 0)
		goto out;
	if ((rc = chanlog_rd_open(&rd, r, chan_id, 0)) != 0)
		goto out;
	lo = c.first;
	hi = c.head + 1;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((rc = chanlog_rd_get(&rd, mid, key, &v)) != 0)
			goto out;
		if ((rc = record_check(key, v.mv_data, v.mv_size)) != 0 ||
		    (rc = record_peek(v.mv_data, v.mv_size, &mt)) != 0)
			goto out;
		if (mt >= t)
			hi = mid;
		else
			lo = mid + 1;
	}
	*serial = lo;
out:
	chanlog_rd_close(&rd);
	cidx_read_end(r);
	return (store_err(rc));
}
