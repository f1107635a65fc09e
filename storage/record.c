/*
 * Log records: encoding, checksum and compression.
 *
 * A record is a 44-byte header followed by the body:
 *
 *	off  len
 *	  0    8  checksum (u64 BE), see below
 *	  8    1  format version (2)
 *	  9    1  flags: RECORD_F_ZSTD, RECORD_F_BASE64
 *	 10    1  message id length (1..255)
 *	 11    1  event name length (0..255)
 *	 12    1  client length (0..255)
 *	 13    3  zero
 *	 16    8  time, Unix ms (u64 BE)
 *	 24    4  data length before compression (u32 BE)
 *	 28    8  channel id (u64 BE)
 *	 36    8  serial (u64 BE)
 *	 44       id, name, client, then the data (zstd frame if RECORD_F_ZSTD)
 *
 * Only the data part is ever compressed: it is the only large field, and the
 * small fields stay readable without a decompression context.
 *
 * Records live in the global log under their global sequence number
 * (gseq), so a record names its own channel and serial: the channel index
 * and the pending index are built from them and checked against them.
 *
 * The checksum is XXH3-64 of everything after the checksum field (channel
 * and serial included), seeded with XXH3-64 of the 8-byte gseq key, so a
 * record copied under another key fails too.  Two calls over contiguous
 * memory instead of one streaming state keep the common small record cheap
 * to check.
 */

#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>
#include <zstd.h>

#include "store-int.h"

#define RECORD_VERSION	2

/* Checksum a record (key and everything after the checksum field). */
static uint64_t
record_sum(const unsigned char *key, const unsigned char *val, size_t len)
{
	XXH64_hash_t	seed;

	seed = XXH3_64bits(key, STORE_GKEY_LEN);
	return (XXH3_64bits_withSeed(val + 8, len - 8, seed));
}

/*
 * Size a record and compress its data when that pays: data of at least
 * compress_min bytes is compressed, and kept compressed only if that saves
 * at least an eighth.  The compressed bytes live in the store's scratch
 * buffer until the next call.  Only inside a write transaction.
 */
int
record_prepare(struct store *s, struct record_in *in)
{
	size_t	bound, z;

	in->zdata = NULL;
	in->zlen = 0;
	if (in->data_len >= s->cfg.compress_min && in->data_len >= 64) {
		bound = ZSTD_compressBound(in->data_len);
		store_buf_reserve(&s->zbuf, &s->zbufsize, bound);
		z = ZSTD_compressCCtx(s->cctx, s->zbuf, s->zbufsize, in->data,
		    in->data_len, s->cfg.compress_level);
		if (!ZSTD_isError(z) && z <= in->data_len - in->data_len / 8) {
			in->zdata = s->zbuf;
			in->zlen = z;
		}
	}
	in->size = RECORD_HDR_LEN + in->id_len + in->name_len +
	    in->client_len + (in->zdata != NULL ? in->zlen : in->data_len);
	return (0);
}

/* Write a prepared record for key into dst (in->size bytes). */
void
record_write(const struct record_in *in, const unsigned char *key,
    unsigned char *dst)
{
	unsigned char	*p;

	dst[8] = RECORD_VERSION;
	dst[9] = (in->zdata != NULL ? RECORD_F_ZSTD : 0) |
	    ((in->flags & STORE_MSG_BASE64) ? RECORD_F_BASE64 : 0);
	dst[10] = in->id_len;
	dst[11] = in->name_len;
	dst[12] = in->client_len;
	dst[13] = dst[14] = dst[15] = 0;
	store_be64enc(dst + 16, in->time);
	store_be32enc(dst + 24, in->data_len);
	store_be64enc(dst + 28, in->chan);
	store_be64enc(dst + 36, in->serial);
	p = dst + RECORD_HDR_LEN;
	memcpy(p, in->id, in->id_len);
	p += in->id_len;
	if (in->name_len != 0)
		memcpy(p, in->name, in->name_len);
	p += in->name_len;
	if (in->client_len != 0)
		memcpy(p, in->client, in->client_len);
	p += in->client_len;
	if (in->zdata != NULL)
		memcpy(p, in->zdata, in->zlen);
	else if (in->data_len != 0)
		memcpy(p, in->data, in->data_len);
	store_be64enc(dst, record_sum(key, dst, in->size));
}

/*
 * Check a record's header and checksum.  Returns 0 or STORE_ECORRUPT.
 */
int
record_check(const unsigned char *key, const void *val, size_t len)
{
	const unsigned char	*v = val;
	size_t			 fixed;

	if (len < RECORD_HDR_LEN || v[8] != RECORD_VERSION)
		return (STORE_ECORRUPT);
	fixed = RECORD_HDR_LEN + (size_t)v[10] + v[11] + v[12];
	if (fixed > len || v[10] == 0)
		return (STORE_ECORRUPT);
	if (!(v[9] & RECORD_F_ZSTD) && len - fixed != store_be32dec(v + 24))
		return (STORE_ECORRUPT);
	if (store_be64dec(v) != record_sum(key, v, len))
		return (STORE_ECORRUPT);
	return (0);
}

/*
 * Decode the record val (len bytes) stored under key into *out, checking
 * its checksum first.  Uncompressed fields point into val; compressed data
 * is inflated into the reader's buffer.  Either way *out is valid until the
 * read transaction is reset or the next decode on this reader.
 */
int
record_decode(struct store_reader *r, const unsigned char *key,
    const void *val, size_t len, struct store_rec *out)
{
	const unsigned char	*v = val, *p;
	size_t			 dlen, slen, n;
	int			 rc;

	if ((rc = record_check(key, val, len)) != 0)
		return (rc);
	memset(out, 0, sizeof *out);
	out->chan_id = store_be64dec(v + 28);
	out->serial = store_be64dec(v + 36);
	out->time = store_be64dec(v + 16);
	out->flags = (v[9] & RECORD_F_BASE64) ? STORE_MSG_BASE64 : 0;
	out->stored_bytes = len;
	p = v + RECORD_HDR_LEN;
	out->id = (const char *)p;
	out->id_len = v[10];
	p += v[10];
	out->name = (const char *)p;
	out->name_len = v[11];
	p += v[11];
	out->client = (const char *)p;
	out->client_len = v[12];
	p += v[12];
	dlen = store_be32dec(v + 24);
	slen = len - (size_t)(p - v);
	if (!(v[9] & RECORD_F_ZSTD)) {
		out->data = (const char *)p;
		out->data_len = dlen;
		return (0);
	}
	store_buf_reserve(&r->buf, &r->bufsize, dlen + 1);
	n = ZSTD_decompressDCtx(r->dctx, r->buf, dlen, p, slen);
	if (ZSTD_isError(n) || n != dlen)
		return (STORE_ECORRUPT);
	r->buf[dlen] = '\0';
	out->data = (const char *)r->buf;
	out->data_len = dlen;
	return (0);
}

/* Read the time of a record from its header, without checking it. */
int
record_peek(const void *val, size_t len, uint64_t *time)
{
	const unsigned char	*v = val;

	if (len < RECORD_HDR_LEN)
		return (STORE_ECORRUPT);
	*time = store_be64dec(v + 16);
	return (0);
}

/* Read the channel id and serial of a record, without checking it. */
int
record_ident(const void *val, size_t len, uint64_t *chan, uint64_t *serial)
{
	const unsigned char	*v = val;

	if (len < RECORD_HDR_LEN)
		return (STORE_ECORRUPT);
	*chan = store_be64dec(v + 28);
	*serial = store_be64dec(v + 36);
	return (0);
}
