/*
 * Retention: trimming the oldest messages of a channel by count, age and
 * bytes.
 */

#include "config.h"

#include <stdint.h>
#include <string.h>

#include "store-int.h"

/* A trim in progress, for store_write(). */
struct retention_trim {
	const char			*name;
	size_t				 len;
	const struct store_retention	*r;
	uint64_t			 now;
	size_t				 max_steps;
	uint64_t			 removed;
	int				 more;
};

/*
 * Whether the oldest record (time t, when the log is not empty) must go
 * under the limits.
 */
static int
retention_over(const struct retention_trim *tr, const struct chanrec *c,
    uint64_t t)
{
	const struct store_retention	*r = tr->r;

	if (c->count == 0)
		return (0);
	if (r->max_count != 0 && c->count > r->max_count)
		return (1);
	if (r->max_bytes != 0 && c->bytes > r->max_bytes)
		return (1);
	if (r->max_age_ms != 0 && tr->now >= r->max_age_ms &&
	    t < tr->now - r->max_age_ms)
		return (1);
	return (0);
}

/*
 * Find the record of (channel, serial) through the index, checking that it
 * is that record: sets its key, time and size.
 */
static int
retention_oldest(struct cidx_cur *cc, uint64_t serial, unsigned char *key,
    uint64_t *t, size_t *size)
{
	MDB_val		k, v;
	uint64_t	gseq, chan, ser;
	int		rc;

	if ((rc = cidx_cur_get(cc, serial, &gseq)) != 0)
		return (rc == MDB_NOTFOUND ? STORE_ECORRUPT : rc);
	store_be64enc(key, gseq);
	k.mv_data = key;
	k.mv_size = STORE_GKEY_LEN;
	if ((rc = mdb_get(cc->txn, cc->s->dbi_glog, &k, &v)) != 0)
		return (rc == MDB_NOTFOUND ? STORE_ECORRUPT : rc);
	if (record_ident(v.mv_data, v.mv_size, &chan, &ser) != 0 ||
	    chan != cc->chan || ser != serial)
		return (STORE_ECORRUPT);
	*size = v.mv_size;
	return (record_peek(v.mv_data, v.mv_size, t));
}

/*
 * Trim one channel inside a write transaction (run by store_write).  The
 * records go from glog, and the channel's index blocks below the new first
 * serial from cidx.  Pending entries of trimmed serials stay in memory
 * (a reader of an older snapshot may still want them): reads never ask
 * for serials below first, and the next flush leaves them out.
 */
static int
retention_trim_txn(struct store *s, MDB_txn *txn, void *arg)
{
	struct retention_trim	*tr = arg;
	struct chanrec		 c;
	struct cidx_cur		 cc;
	unsigned char		 key[STORE_GKEY_LEN], b[CHANREC_LEN];
	MDB_val			 k, v;
	uint64_t		 t = 0;
	size_t			 size = 0, steps = 0;
	int			 rc;

	tr->removed = 0;
	tr->more = 0;
	k.mv_data = (void *)tr->name;
	k.mv_size = tr->len;
	if ((rc = mdb_get(txn, s->dbi_chan, &k, &v)) != 0)
		return (rc);
	if ((rc = chanlog_rec_decode(v.mv_data, v.mv_size, &c)) != 0)
		return (rc);

	cidx_cur_init(&cc, s, txn, s->pidx, c.id, 0);
	for (;;) {
		if (c.count == 0)
			break;
		if ((rc = retention_oldest(&cc, c.first, key, &t,
		    &size)) != 0)
			break;
		if (!retention_over(tr, &c, t))
			break;
		if (steps == tr->max_steps) {
			tr->more = 1;
			break;
		}
		k.mv_data = key;
		k.mv_size = STORE_GKEY_LEN;
		if ((rc = mdb_del(txn, s->dbi_glog, &k, NULL)) != 0)
			break;
		c.first++;
		c.count--;
		c.bytes = c.bytes >= size ? c.bytes - size : 0;
		steps++;
	}
	cidx_cur_close(&cc);
	if (rc != 0)
		return (rc);
	tr->removed = steps;
	if (steps == 0)
		return (0);
	if ((rc = cidx_trim(s, txn, c.id, c.first)) != 0)
		return (rc);
	chanlog_rec_encode(&c, b);
	k.mv_data = (void *)tr->name;
	k.mv_size = tr->len;
	v.mv_data = b;
	v.mv_size = sizeof b;
	return (mdb_put(txn, s->dbi_chan, &k, &v, 0));
}

/*
 * Remove the oldest messages of channel `name` while any limit of r is
 * exceeded, at most max_steps records in this call.
 */
int
store_trim(struct store *s, const char *name, size_t len,
    const struct store_retention *r, uint64_t now_ms, size_t max_steps,
    uint64_t *removed)
{
	struct retention_trim	tr;
	int			rc;

	if (removed != NULL)
		*removed = 0;
	if (!store_name_valid(name, len))
		return (STORE_EINVAL);
	memset(&tr, 0, sizeof tr);
	tr.name = name;
	tr.len = len;
	tr.r = r;
	tr.now = now_ms != 0 ? now_ms : store_now_ms();
	tr.max_steps = max_steps;
	if ((rc = store_write(s, retention_trim_txn, &tr)) != 0)
		return (rc);
	if (removed != NULL)
		*removed = tr.removed;
	return (tr.more);
}
