/*
 * tstore: what the tests that make, hold or damage stores with the
 * storage API share (test_storage, test_cli, test_cli_net).  Failures that
 * leave nothing to test are CUnit fatal assertions.
 */

#ifndef TSTORE_H
#define TSTORE_H

#include <sys/types.h>

#include <stddef.h>

/*
 * Fork a child that opens the store in dir read-only and stops inside a
 * read transaction on channel (which holds serial 1), for tests of stale
 * reader slots.  Return its pid once it holds (within 10 s), or -1 (no
 * child left).  The caller kills and reaps it.
 */
pid_t		 tstore_hold_reader(const char *dir, const char *channel);
/*
 * Write a snapshot file at path with good framing and checksums (the
 * format of storage/snapshot.c) around len bytes of buf taken for its
 * data.mdb, whatever those bytes are.
 */
void		 tstore_frame_snapshot(const char *path, const void *buf,
		     size_t len);
/*
 * Point $TMPDIR at dir, for a test of what the storage leaves there, and
 * return the old value (or NULL) to give back to tstore_tmpdir_restore().
 */
char		*tstore_tmpdir_set(const char *dir);
/* Put back the $TMPDIR that tstore_tmpdir_set() returned, and free it. */
void		 tstore_tmpdir_restore(char *saved);
/* Remove a directory tree, as far as it goes. */
void		 tstore_rmtree(const char *path);

#endif /* TSTORE_H */
