/*
 * Channels the server has touched: a hash table from name to the channel's
 * id, epoch, fanned-out head and subscribers, and the fan-out of committed
 * messages to live subscribers.
 */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "logwired.h"

static struct channel	**channel_table;
static size_t		  channel_buckets;
static size_t		  channel_n;

/* FNV-1a hash of a name. */
static uint64_t
channel_hash(const char *name, size_t len)
{
	uint64_t	h = 14695981039346656037ULL;
	size_t		i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)name[i];
		h *= 1099511628211ULL;
	}
	return (h);
}

/* Set up an empty table. */
void
channel_init(void)
{
	channel_buckets = 1024;
	channel_table = xcalloc(channel_buckets, sizeof *channel_table);
	channel_n = 0;
}

/* Free every channel (at exit, after every connection is gone). */
void
channel_free_all(void)
{
	struct channel	*ch, *next;
	size_t		 i;

	for (i = 0; i < channel_buckets; i++) {
		for (ch = channel_table[i]; ch != NULL; ch = next) {
			next = ch->hnext;
			free(ch->name);
			free(ch);
		}
	}
	free(channel_table);
	channel_table = NULL;
	channel_buckets = channel_n = 0;
}

/* Find a channel by name, or NULL. */
struct channel *
channel_find(const char *name, size_t len)
{
	struct channel	*ch;

	ch = channel_table[channel_hash(name, len) & (channel_buckets - 1)];
	for (; ch != NULL; ch = ch->hnext) {
		if (ch->name_len == len && memcmp(ch->name, name, len) == 0)
			return (ch);
	}
	return (NULL);
}

/* Double the table when it gets crowded. */
static void
channel_grow(void)
{
	struct channel	**t, *ch, *next;
	size_t		  i, n = channel_buckets * 2, b;

	t = xcalloc(n, sizeof *t);
	for (i = 0; i < channel_buckets; i++) {
		for (ch = channel_table[i]; ch != NULL; ch = next) {
			next = ch->hnext;
			b = channel_hash(ch->name, ch->name_len) & (n - 1);
			ch->hnext = t[b];
			t[b] = ch;
		}
	}
	free(channel_table);
	channel_table = t;
	channel_buckets = n;
}

/*
 * Add a channel from its stored metadata, or return the one already known.
 * The fanned-out head starts at the committed head: anything committed
 * later arrives through channel_publish().
 */
struct channel *
channel_add(const struct store_chan *sc)
{
	struct channel	*ch;
	size_t		 b;

	if ((ch = channel_find(sc->name, sc->name_len)) != NULL)
		return (ch);
	if (channel_n >= channel_buckets)
		channel_grow();
	ch = xcalloc(1, sizeof *ch);
	ch->id = sc->id;
	ch->name = xstrndup(sc->name, sc->name_len);
	ch->name_len = sc->name_len;
	memcpy(ch->epoch, sc->epoch, sizeof ch->epoch);
	ch->head = sc->head;
	TAILQ_INIT(&ch->subs);
	b = channel_hash(ch->name, ch->name_len) & (channel_buckets - 1);
	ch->hnext = channel_table[b];
	channel_table[b] = ch;
	channel_n++;
	return (ch);
}

/* Number of channels in memory. */
size_t
channel_count(void)
{
	return (channel_n);
}

/*
 * Fan committed messages out to the live subscribers, in serial order: a
 * run of n consecutive messages of this channel (one group commit's share)
 * is encoded once as one block of frames, built only if someone takes it,
 * and each live subscriber takes the whole block with one append.  One
 * touch per subscriber per commit instead of per message: with a thousand
 * subscribers, walking them (subscription, connection, buffer: a cache
 * miss each) once per message cost more than the copying.  A live
 * subscriber that is not exactly at the run's first serial, or whose
 * connection is over its output watermark, stops being live: its
 * connection's pump reads the log from its cursor instead, so nothing is
 * lost and memory stays bounded.
 */
void
channel_publish(struct channel *ch, const struct store_rec *recs, size_t n)
{
	struct sub	*s;
	struct frame	*f = NULL;
	uint64_t	 first, last;
	size_t		 i, bytes = 0;

	/* Skip what the channel has already seen (never expected). */
	while (n > 0 && recs[0].serial <= ch->head) {
		recs++;
		n--;
	}
	if (n == 0)
		return;
	first = recs[0].serial;
	last = recs[n - 1].serial;
	for (i = 0; i < n; i++)
		bytes += recs[i].data_len;
	TAILQ_FOREACH(s, &ch->subs, chan_entry) {
		if (!s->live)
			continue;
		if (s->next != first || conn_over_watermark(s->conn)) {
			s->live = 0;
			conn_schedule_pump(s->conn);
			continue;
		}
		if (f == NULL)
			f = frame_messages(ch->name, ch->name_len, recs, n);
		frame_add(conn_output(s->conn), f);
		s->next = last + 1;
		server.stats.deliveries += n;
		server.stats.sent_bytes += bytes;
	}
	ch->head = last;
	if (f != NULL)
		frame_unref(f);
}
