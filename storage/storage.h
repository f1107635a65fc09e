/*
 * logwire storage engine: append-only channel logs in LMDB.
 *
 * No networking here.  The daemon, the command-line tool and the tests all
 * use this API.  Conventions, as in LMDB:
 *
 * - Functions return 0 on success or a negative STORE_E* code; store_strerror()
 *   names it.  Where a message meant for a user can say more, it comes back
 *   through `char **cause`, which the caller frees.
 * - Pointers handed to a callback (struct store_rec, struct store_chan) are
 *   valid only until the callback returns: copy what you keep.
 * - One thread writes at a time (store_append, store_chan_ensure, store_trim,
 *   store_reepoch are serialized by LMDB's writer lock).  Reads go through a
 *   struct store_reader, one per thread; readers never block the writer.
 * - Callbacks run inside the read operation: they must not use the same
 *   reader, nor call the write functions of the same store (a writer that
 *   must grow the map waits for every read operation in progress).
 * - Besides the STORE_E* codes, a call may return an LMDB code (-30799 ..
 *   -30780) for a condition without a STORE_E* meaning (e.g. MDB_TXN_FULL,
 *   MDB_READERS_FULL); store_strerror() names those too.
 *
 * Layout (format 2; see DESIGN.md, "Storage schema"), named LMDB databases:
 *   meta      "version" -> u32, "next_chan_id" -> u64,
 *             "indexed_upto" -> u64 (last gseq whose entry is in cidx)
 *   channels  name -> struct chanrec (id, epoch, first, head, counters)
 *   chanids   id (u64 BE) -> name
 *   glog      gseq (u64 BE) -> record: one global append-only log
 *   cidx      id (u64 BE) | first serial (u64 BE) -> gseqs of serials
 *             first, first + 1, ... (u64 BE each)
 *   dedupe    id (u64 BE) | message id -> serial (u64 BE) | time (u64 BE)
 *   dedupexp  time (u64 BE) | id (u64 BE) | message id -> (empty)
 *
 * Every message goes to the end of glog, so a commit touching many
 * channels writes consecutive pages.  The channel index is written late
 * and in bulk: entries after indexed_upto are kept in memory (the pending
 * index, rebuilt from glog when a store opens) and flushed as one block per
 * channel (storage/cidx.c).  Only one process may write a store at a time.
 *
 * A record is a fixed 44-byte header (checksum, version, flags, field
 * lengths, time, data length, channel id, serial) followed by the body:
 * message id, name, client and data.  The checksum is XXH3-64 of the
 * record after the checksum field, seeded with XXH3-64 of the 8-byte gseq
 * key (so it covers key, header and stored body).  The data part is
 * zstd-compressed when it is at least compress_min bytes and compression
 * saves at least an eighth; a header flag says so.  storage/record.c has
 * the byte layout.
 */

#ifndef LOGWIRE_STORAGE_H
#define LOGWIRE_STORAGE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Error codes.  Chosen outside LMDB's range (-30799 .. -30780). */
#define STORE_ENOTFOUND	(-31001)	/* no such channel or message */
#define STORE_EFULL	(-31002)	/* disk full or map cannot grow: nothing stored */
#define STORE_EIO	(-31003)	/* I/O error from the disk: nothing stored */
#define STORE_ECORRUPT	(-31004)	/* record fails its checksum or does not
					   decode, or data.mdb is damaged
					   (truncated, empty, not LMDB) */
#define STORE_EPANIC	(-31005)	/* LMDB environment is unusable (MDB_PANIC) */
#define STORE_EINVAL	(-31006)	/* bad argument (channel name, sizes, ...) */
#define STORE_EEXIST	(-31007)	/* target exists and is not empty */
#define STORE_ESYS	(-31008)	/* other system error; errno-style detail in cause */
#define STORE_EBUSY	(-31009)	/* another process writes this store */

/* Limits. */
#define STORE_NAME_MAX		255	/* channel name, bytes */
#define STORE_ID_MAX		255	/* message id, bytes */
#define STORE_FIELD_MAX		255	/* event name and client, bytes */
#define STORE_DATA_MAX		(16U * 1024 * 1024)
#define STORE_EPOCH_LEN		16	/* hex characters */

/* Durability of a commit. */
enum store_sync {
	STORE_SYNC_ALWAYS,	/* fsync in every commit */
	STORE_SYNC_BATCH,	/* store_sync() called at an interval flushes */
	STORE_SYNC_NONE		/* the OS flushes when it likes */
};

struct store_config {
	enum store_sync	sync;
	size_t		map_size;	/* initial map size; 0: 64 MiB */
	size_t		map_max;	/* map never grows past this; 0: 1 TiB */
	uint64_t	dedupe_window_ms; /* 0: 120000 */
	size_t		compress_min;	/* try zstd at this body size; 0: 512 */
	int		compress_level;	/* zstd level; 0: 1 */
	int		readonly;	/* open MDB_RDONLY (verify, snapshot) */
};

/* Fill *cfg with the defaults. */
void		 store_config_default(struct store_config *cfg);

struct store;
struct store_reader;

/* Flags of a message. */
#define STORE_MSG_BASE64	0x01	/* data is a base64 string of binary */

/* One message to append.  Inputs are not copied beyond the call. */
struct store_msg {
	const char	*channel;	/* required, 1..STORE_NAME_MAX bytes */
	size_t		 channel_len;
	const char	*id;		/* NULL: generated as "<epoch>-<serial>" */
	size_t		 id_len;
	const char	*name;		/* optional event name */
	size_t		 name_len;
	const char	*client;	/* optional publisher identity */
	size_t		 client_len;
	const char	*data;		/* JSON text, stored as given */
	size_t		 data_len;
	unsigned int	 flags;		/* STORE_MSG_* */

	/* Results, set by store_append(). */
	int		 error;		/* 0 or STORE_EINVAL for this message */
	int		 duplicate;	/* id seen within the dedupe window */
	uint64_t	 serial;	/* assigned (or original, if duplicate) */
	uint64_t	 time;		/* commit time, Unix ms */
	uint64_t	 chan_id;
	char		 epoch[STORE_EPOCH_LEN + 1];
	char		 gen_id[STORE_EPOCH_LEN + 22];	/* id generated, or "" */
};

/*
 * The id a message was stored under: its own, or the one store_append()
 * generated.  Valid as long as m.
 */
const char	*store_msg_id(const struct store_msg *m, size_t *len);

/* A stored message as read back.  Valid until the callback returns. */
struct store_rec {
	uint64_t	 chan_id;
	uint64_t	 serial;
	uint64_t	 time;
	const char	*id;
	size_t		 id_len;
	const char	*name;		/* name_len 0: none */
	size_t		 name_len;
	const char	*client;	/* client_len 0: none */
	size_t		 client_len;
	const char	*data;
	size_t		 data_len;
	unsigned int	 flags;		/* STORE_MSG_* */
	size_t		 stored_bytes;	/* size of the record on disk (the
					   LMDB value: header and stored
					   body, not the key) */
};

/* A channel's metadata.  An empty log has first == head + 1. */
struct store_chan {
	uint64_t	id;
	char		name[STORE_NAME_MAX + 1];	/* NUL-terminated copy */
	size_t		name_len;
	char		epoch[STORE_EPOCH_LEN + 1];
	uint64_t	first;		/* oldest kept serial */
	uint64_t	head;		/* last committed serial, 0 if none ever */
	uint64_t	count;		/* messages kept */
	uint64_t	bytes;		/* stored record bytes kept (sum of
					   stored_bytes) */
	uint64_t	created;	/* Unix ms */
	uint64_t	last_time;	/* time of the head message, 0 if none */
};

/* Retention limits; 0 means no limit on that axis. */
struct store_retention {
	uint64_t	max_count;
	uint64_t	max_age_ms;
	uint64_t	max_bytes;
};

/* Return value of callbacks: 0 to go on, non-zero to stop early. */
typedef int	(*store_rec_cb)(const struct store_rec *, void *);
typedef int	(*store_chan_cb)(const struct store_chan *, void *);

/* store.c */

/*
 * Open (creating if needed) the store in directory `dir`.  The directory is
 * created if missing (not its parents).  Clears stale reader slots
 * (store_reader_check).  cfg may be NULL for the defaults.  On failure
 * returns a STORE_E* code and sets *cause (caller frees): STORE_ENOTFOUND if
 * cfg->readonly and there is no store, STORE_ECORRUPT if data.mdb is not an
 * LMDB file or not a logwire store, is shorter than its meta page says (a
 * truncated file: refused before any page is read, since LMDB would die of
 * SIGBUS on the missing pages), or is empty and cfg->readonly (opened to
 * write, an empty data.mdb becomes a new store, as in LMDB), STORE_EINVAL
 * if it is a logwire store of another format version (there is no
 * migration).  Rebuilds the pending part of the channel index from the log
 * (at most about 64k records).  A new store is made in dir/new-store.tmp
 * and its data.mdb moved into dir once its first commit is durable, so
 * that a power failure during the first open leaves either no store or a
 * whole one.
 */
int		 store_open(const char *dir, const struct store_config *cfg,
		     struct store **sp, char **cause);
/*
 * Close the store (flushing it under batch/none), writing the pending part
 * of the channel index first.  No reader may be open.
 */
void		 store_close(struct store *);
/* The sync policy the store was opened with. */
enum store_sync	 store_sync_policy(struct store *);
/* Flush committed data to disk (for STORE_SYNC_BATCH). */
int		 store_sync(struct store *);
/* Size in bytes of the data file and the current map size. */
int		 store_size(struct store *, uint64_t *file_bytes,
		     uint64_t *map_bytes);
/* Name of an error code (STORE_E*, LMDB's or errno's when positive). */
const char	*store_strerror(int);
/* Parse and print a sync policy name ("always", "batch", "none"). */
int		 store_sync_parse(const char *, enum store_sync *);
const char	*store_sync_name(enum store_sync);
/* Unix time in milliseconds. */
uint64_t	 store_now_ms(void);
/* Whether a channel name is valid: 1..255 bytes of UTF-8, no C0/C1/DEL. */
int		 store_name_valid(const char *, size_t);

/*
 * Clear the reader slots left by processes that died inside a read
 * transaction: until cleared, such a slot keeps LMDB from reusing the pages
 * freed since its transaction began, and the file grows.  Call it now and
 * then in a long-running process (the daemon does every few seconds).
 * Sets *cleared (may be NULL) to the number cleared; returns 0 or an error.
 */
int		 store_reader_check(struct store *, int *cleared);
/* Reader slots cleared since the store was opened (store_open included). */
uint64_t	 store_readers_cleared(struct store *);

/* Open a reader for the calling thread (caller closes). */
struct store_reader *store_reader_open(struct store *);
void		 store_reader_close(struct store_reader *);

/* chanlog.c */

/*
 * Append n messages, to any channels, in one write transaction (one commit,
 * one sync).  Serials and times are assigned in array order; a message whose
 * id was seen on its channel within the dedupe window is not stored and gets
 * the original serial and time with duplicate = 1 (also within this batch).
 * now_ms 0 uses the clock; a channel's times never decrease.  A message with
 * bad fields gets error = STORE_EINVAL and the others are stored.  Returns 0,
 * or an error (STORE_EFULL, STORE_EIO, STORE_EPANIC) with nothing stored
 * (results are then cleared).  The map grows as needed up to cfg.map_max.
 * A full disk shows as STORE_EFULL (LMDB reports a write cut short by a full
 * disk as EIO; it is told apart by the space left on the file system).
 */
int		 store_append(struct store *, struct store_msg *, size_t n,
		     uint64_t now_ms);
/*
 * Create channel `name` if it does not exist, and return its metadata.
 * STORE_EINVAL if the name is not valid.
 */
int		 store_chan_ensure(struct store *, const char *name, size_t len,
		     uint64_t now_ms, struct store_chan *out);

/* Look up one channel.  STORE_ENOTFOUND if there is none. */
int		 store_chan_get(struct store_reader *, const char *name,
		     size_t len, struct store_chan *out);
/*
 * Call cb for up to `limit` channels (0: no limit) whose names start with
 * prefix (prefix_len 0: all), in name order (bytewise), starting after name
 * `after` (NULL: from the start; `after` itself is never passed).  Returns
 * the number of channels passed to cb, or an error.
 */
int		 store_chan_list(struct store_reader *, const char *prefix,
		     size_t prefix_len, const char *after, size_t after_len,
		     size_t limit, store_chan_cb cb, void *arg);
/*
 * Read channel chan_id from serial `from` towards serial `to` (inclusive):
 * upwards if !backward, downwards if backward.  Stops after max_count
 * records (0: no limit), or before a record whose data would take the data
 * passed (sum of data_len) beyond max_bytes (0: no limit; at least one
 * record is always passed), or when cb returns non-zero (that record
 * counts).  Returns the number of records passed to cb (0 for an empty or
 * unknown range), or an error (STORE_ECORRUPT: a record failed its
 * checksum; records before it were passed).
 */
int		 store_read(struct store_reader *, uint64_t chan_id,
		     uint64_t from, uint64_t to, int backward, size_t max_count,
		     size_t max_bytes, store_rec_cb cb, void *arg);
/*
 * Read one message and pass it to cb.  Returns 0, STORE_ENOTFOUND if it is
 * not in the log, or STORE_ECORRUPT.
 */
int		 store_get(struct store_reader *, uint64_t chan_id,
		     uint64_t serial, store_rec_cb cb, void *arg);
/*
 * Find the first serial of channel chan_id whose time is >= t, by bisection.
 * Sets *serial to head + 1 when every kept message is older (or the log is
 * empty).  STORE_ENOTFOUND if there is no such channel.
 */
int		 store_find_time(struct store_reader *, uint64_t chan_id,
		     uint64_t t, uint64_t *serial);

/* retention.c */

/*
 * Remove the oldest messages of channel `name` while any limit of r is
 * exceeded (age against now_ms, 0: the clock; a message is too old when its
 * time < now_ms - max_age_ms), at most max_steps records in this call, all
 * in one write transaction.  Sets *removed; returns 1 if more remains to
 * trim, 0 if done, or an error (STORE_ENOTFOUND: no such channel).
 */
int		 store_trim(struct store *, const char *name, size_t len,
		     const struct store_retention *r, uint64_t now_ms,
		     size_t max_steps, uint64_t *removed);

/* snapshot.c */

/*
 * Write a consistent snapshot of the store to fd: a compacting LMDB copy
 * streamed through zstd, framed by a header and a trailer with the length
 * and XXH3 checksum of the copy (format in storage/snapshot.c).  Safe while
 * other threads or processes write; a writer of this process that must grow
 * the map waits until the copy ends.  Sets *bytes_out to the size written.
 */
int		 store_snapshot(struct store *, int fd, uint64_t *bytes_out,
		     char **cause);
/*
 * Rebuild a store in `dir` from the snapshot at path.  dir must not exist or
 * be empty (STORE_EEXIST otherwise).  The snapshot is checked and unpacked
 * into a temporary directory beside dir and moved into place only when
 * complete, so a failure leaves no half-written store.  Every channel gets a
 * new epoch, and the result must pass store_verify.  Errors: STORE_EEXIST,
 * STORE_EINVAL (path is not a snapshot), STORE_ECORRUPT (truncated, damaged,
 * holding a damaged or empty store copy, or failing verification), with the
 * reason in *cause (naming path, never the temporary directory).
 */
int		 store_restore(const char *path, const char *dir, char **cause);
/*
 * Give every channel a new random epoch (after restore).
 */
int		 store_reepoch(struct store *);

/* What verify found. */
struct store_verify_report {
	uint64_t	channels;
	uint64_t	records;
	uint64_t	errors;
};
/*
 * Check every record (decodes, checksum), that each channel's serials run
 * contiguous from first to head, times never decrease, and the metadata
 * agrees with the log.  Each problem is written as a line to `out` (may be
 * NULL).  Returns 0 if all is well, STORE_ECORRUPT otherwise.
 */
int		 store_verify(struct store *, FILE *out,
		     struct store_verify_report *);
/*
 * Verify a data directory or a snapshot file (unpacked to a temporary
 * directory under $TMPDIR or /tmp first, removed afterwards).  Returns as
 * store_verify, or another error if path cannot be opened or is not a store
 * or snapshot: STORE_ENOTFOUND (no such path or no store in the directory),
 * STORE_EINVAL (a file that is not a snapshot), STORE_ECORRUPT (a damaged
 * snapshot, or a data file that is not LMDB, truncated or empty), with the
 * reason in *cause.  The report's errors stay 0 when no record could be
 * checked at all.
 */
int		 store_verify_path(const char *path, FILE *out,
		     struct store_verify_report *, char **cause);

#endif /* LOGWIRE_STORAGE_H */
