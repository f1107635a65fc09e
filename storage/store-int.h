/*
 * logwire storage engine: declarations private to storage/, one section per
 * source file.  Nothing outside storage/ includes this.
 */

#ifndef LOGWIRE_STORE_INT_H
#define LOGWIRE_STORE_INT_H

#include <lmdb.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <zstd.h>

#include "storage.h"

/* Format version kept in meta "version". */
#define STORE_VERSION		2

/* Global log keys: the global sequence number, big-endian. */
#define STORE_GKEY_LEN		8
/* Channel index keys: channel id and first serial, both big-endian. */
#define STORE_IKEY_LEN		16

/*
 * The open store.
 *
 * The map lock protects the memory map against mdb_env_set_mapsize(): every
 * transaction of this process (read or write) runs with it held shared, and
 * the map is only resized with it held exclusively.  Readers hold it only
 * for one short operation (store_reader_begin .. store_reader_end), so a
 * grower waits at most for the current operations (and for a snapshot's
 * copy, which reads the map throughout).  The lock uses the default
 * reader-preferring kind so that a thread which already holds it shared may
 * take it shared again without deadlocking behind a waiting grower.
 *
 * The writer state below the map lock (compression context, scratch buffers,
 * channel cache) is touched only inside a write transaction, so LMDB's
 * writer lock serializes it; it needs no lock of its own.
 */
struct store {
	MDB_env			*env;
	int			 lockfd;	/* writer.lock, -1 if none */
	char			*dir;
	struct store_config	 cfg;
	MDB_dbi			 dbi_meta;
	MDB_dbi			 dbi_chan;
	MDB_dbi			 dbi_chanids;
	MDB_dbi			 dbi_glog;
	MDB_dbi			 dbi_cidx;
	MDB_dbi			 dbi_dedupe;
	MDB_dbi			 dbi_dedupexp;

	pthread_rwlock_t	 maplock;
	size_t			 mapsize;	/* under maplock */
	unsigned int		 psize;		/* LMDB page size */
	uint64_t		 covered;	/* data.mdb bytes known to exist
						   (store_cover_file; wlock) */

	/*
	 * The writer lock serializes this process's write operations from
	 * the start of the transaction to the end of the work that follows
	 * its commit (adding to the pending index), which LMDB's own writer
	 * lock does not cover.
	 */
	pthread_mutex_t		 wlock;
	/* The pending index (cidx.c); the pointer and contents under plock. */
	pthread_mutex_t		 plock;
	struct cidx_table	*pidx;
	uint64_t		 next_gseq;	/* under wlock */
	uint32_t		 bad_version;	/* found by store_open */
	uint64_t		 readers_cleared; /* atomic */

	/* Writer state: only inside a write transaction. */
	ZSTD_CCtx		*cctx;
	unsigned char		*zbuf;
	size_t			 zbufsize;
	struct chanlog_ent	*ents;		/* channel cache entries */
	size_t			 nents;
	size_t			 entsalloc;
	uint32_t		*slots;		/* hash index into ents, +1 */
	size_t			 nslots;
	struct cidx_ent		*bents;		/* index entries of a batch */
	size_t			 nbents;
	size_t			 bentsalloc;
};

/* A reader: one per thread, a reusable read transaction and buffers. */
struct store_reader {
	struct store		*store;
	MDB_txn			*txn;
	ZSTD_DCtx		*dctx;
	unsigned char		*buf;
	size_t			 bufsize;
	struct cidx_table	*pidx;		/* referenced during an operation */
};

/* One index entry: channel id, serial and where the record is. */
struct cidx_ent {
	uint64_t	chan;
	uint64_t	serial;
	uint64_t	gseq;
};

/*
 * A lookup position in one channel's index: the on-disk block last found
 * and a window copied out of the pending index, so that a range read looks
 * up a block or takes the lock only once per many serials.
 */
#define CIDX_PBUF	256
struct cidx_cur {
	struct store		*s;
	MDB_txn			*txn;
	struct cidx_table	*t;
	MDB_cursor		*ic;
	uint64_t		 chan;
	int			 backward;
	const unsigned char	*blk;		/* in the map, during txn */
	uint64_t		 bfirst;
	uint64_t		 bn;
	uint64_t		 pbase;		/* first pending serial or max */
	int			 pbase_known;
	uint64_t		 pfirst;
	uint64_t		 pn;
	uint64_t		 pbuf[CIDX_PBUF];
};

/* The fixed part of a channel's entry in "channels". */
struct chanrec {
	uint64_t	id;
	char		epoch[STORE_EPOCH_LEN];
	uint64_t	first;
	uint64_t	head;
	uint64_t	count;
	uint64_t	bytes;
	uint64_t	created;
	uint64_t	last_time;
};
#define CHANREC_LEN	72

/* A channel in the writer's per-transaction cache. */
struct chanlog_ent {
	const char	*name;		/* points into the caller's arguments */
	size_t		 len;
	uint64_t	 hash;
	struct chanrec	 rec;
	int		 dirty;
};

/* A write operation run by store_write(); may be run again after growth. */
typedef int	(*store_write_fn)(struct store *, MDB_txn *, void *);

/*
 * Big-endian integers.  memcpy and a byte swap compile to one load or
 * store and a bswap; they run for every key and record header.
 */

/* Store a big-endian 64-bit integer. */
static inline void
store_be64enc(void *p, uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	memcpy(p, &v, sizeof v);
}

/* Load a big-endian 64-bit integer. */
static inline uint64_t
store_be64dec(const void *p)
{
	uint64_t	v;

	memcpy(&v, p, sizeof v);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return (v);
}

/* Store a big-endian 32-bit integer. */
static inline void
store_be32enc(void *p, uint32_t v)
{
	unsigned char	*b = p;

	b[0] = v >> 24;
	b[1] = v >> 16;
	b[2] = v >> 8;
	b[3] = v;
}

/* Load a big-endian 32-bit integer. */
static inline uint32_t
store_be32dec(const void *p)
{
	const unsigned char	*b = p;

	return (((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) |
	    ((uint32_t)b[2] << 8) | b[3]);
}

/* Build the channel index key of (chan_id, serial). */
static inline void
store_ikey(unsigned char *key, uint64_t chan_id, uint64_t serial)
{
	store_be64enc(key, chan_id);
	store_be64enc(key + 8, serial);
}

/* store.c */
void		*store_xmalloc(size_t);
void		*store_xrealloc(void *, size_t);
char		*store_xstrdup(const char *);
int		 store_xasprintf(char **, const char *, ...)
		     __attribute__((__format__(__printf__, 2, 3)));
int		 store_err(int);
int		 store_write(struct store *, store_write_fn, void *);
typedef void	(*store_post_fn)(struct store *, void *);
int		 store_write_post(struct store *, store_write_fn,
		     store_post_fn, void *);
int		 store_reader_begin(struct store_reader *);
void		 store_reader_end(struct store_reader *);
int		 store_random_epoch(char *);
int		 store_buf_reserve(unsigned char **, size_t *, size_t);

/* record.c */
#define RECORD_HDR_LEN		44
#define RECORD_F_ZSTD		0x01	/* data part is zstd-compressed */
#define RECORD_F_BASE64		0x02	/* STORE_MSG_BASE64 */
struct record_in {
	const char	*id;
	size_t		 id_len;
	const char	*name;
	size_t		 name_len;
	const char	*client;
	size_t		 client_len;
	const char	*data;
	size_t		 data_len;
	unsigned int	 flags;		/* STORE_MSG_* */
	uint64_t	 time;
	uint64_t	 chan;
	uint64_t	 serial;

	/* Set by record_prepare. */
	const void	*zdata;		/* compressed data or NULL */
	size_t		 zlen;
	size_t		 size;		/* total record size */
};
int		 record_prepare(struct store *, struct record_in *);
void		 record_write(const struct record_in *, const unsigned char *,
		     unsigned char *);
int		 record_check(const unsigned char *, const void *, size_t);
int		 record_decode(struct store_reader *, const unsigned char *,
		     const void *, size_t, struct store_rec *);
int		 record_peek(const void *, size_t, uint64_t *);
int		 record_ident(const void *, size_t, uint64_t *, uint64_t *);

/* chanlog.c */
void		 chanlog_rec_encode(const struct chanrec *, unsigned char *);
int		 chanlog_rec_decode(const void *, size_t, struct chanrec *);
void		 chanlog_rec_export(const struct chanrec *, const char *,
		     size_t, struct store_chan *);
int		 chanlog_meta_get(struct store *, MDB_txn *, uint64_t,
		     struct chanrec *, char *, size_t *);

/* cidx.c */
int		 cidx_open(struct store *, char **);
void		 cidx_close(struct store *);
int		 cidx_read_begin(struct store_reader *);
void		 cidx_read_end(struct store_reader *);
struct cidx_table *cidx_table_build(struct store *, MDB_txn *, int *);
void		 cidx_table_free(struct cidx_table *);
void		 cidx_cur_init(struct cidx_cur *, struct store *, MDB_txn *,
		     struct cidx_table *, uint64_t, int);
int		 cidx_cur_get(struct cidx_cur *, uint64_t, uint64_t *);
void		 cidx_cur_close(struct cidx_cur *);
void		 cidx_batch_done(struct store *);
void		 cidx_maybe_flush(struct store *);
int		 cidx_trim(struct store *, MDB_txn *, uint64_t, uint64_t);
int		 cidx_meta_upto(struct store *, MDB_txn *, uint64_t *);
uint64_t	 cidx_pending(struct store *);

#endif /* LOGWIRE_STORE_INT_H */
