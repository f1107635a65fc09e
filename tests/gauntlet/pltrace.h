/*
 * pltrace: the trace file of the power-loss check (tests/gauntlet).
 *
 * Two kinds of writer append to one trace file, each record with a single
 * write(2) on a descriptor opened O_APPEND, so records never interleave:
 *
 * - plshim.so, preloaded into logwired, records what the daemon does to
 *   the files of its data directory: every write twice, with its bytes
 *   before the call (WRITE: issued) and after it returned (WDONE), each
 *   sync twice, before the call (BEGIN) and after it returned (END), and
 *   size changes, creations, renames and unlinks once they are done.
 * - the workload (powerloss.c) records the ids it is about to publish
 *   (SENT) and every acknowledgement the moment it has read it (ACK).
 *
 * The order of the records in the file is therefore an order the events
 * really happened in: a sync END is written after the sync returned, and
 * the daemon sends an ack only after the sync of its commit returned, so
 * the END of that sync lies before the ACK in the file.  The checker
 * (plcheck.c) rests on exactly that.
 *
 * A record is a fixed header (in the byte order of the machine: the
 * checker runs where the trace was made) followed by len bytes of
 * payload.  File numbers are local to one process (a PROC record starts
 * each process); FILE records bind them to a name relative to the data
 * directory and to the file's device and inode.
 */

#ifndef PLTRACE_H
#define PLTRACE_H

#include <stdint.h>

#define PLT_MAGIC	0x31544c50U	/* "PLT1", in the off of PROC records */

/* Record types. */
#define PLT_PROC	1	/* a traced process started: off PLT_MAGIC,
				   arg pid, arg2 number of files the data
				   directory held then */
#define PLT_FILE	2	/* file: payload name, off flags (PLT_F_*),
				   arg device, arg2 inode */
#define PLT_CREATE	3	/* file was created by this open */
#define PLT_WRITE	4	/* a write issued (recorded before the call):
				   file, off, payload the bytes to write,
				   arg PLT_W_*, arg2 write number */
#define PLT_TRUNC	5	/* file set to size off (ftruncate, O_TRUNC) */
#define PLT_FALLOC	6	/* file, off, arg length, arg2 mode */
#define PLT_SYNC_BEGIN	7	/* file (or PLT_ALL), arg sync number,
				   arg2 PLT_S_* */
#define PLT_SYNC_END	8	/* the same, after the call returned 0 */
#define PLT_RENAME	9	/* payload "old\0new\0" (relative names) */
#define PLT_UNLINK	10	/* payload the relative name */
#define PLT_WMAP	11	/* file mapped shared and writable: writes
				   through memory are not traced */
#define PLT_SFR		12	/* sync_file_range: file, off, arg length
				   (starts write-back, makes nothing durable) */
#define PLT_ERROR	13	/* the shim could not trace something;
				   payload says what */
#define PLT_WDONE	14	/* the write numbered arg2 returned: arg the
				   bytes written, PLT_WFAIL if it failed;
				   file and off as in its WRITE */
#define PLT_SENT	20	/* workload: payload "channel\0id\0" */
#define PLT_ACK		21	/* workload: payload "channel\0id\0", arg
				   serial, arg2 PLT_A_* */
#define PLT_MARK	22	/* workload: payload a note (phase) */

/* FILE flags. */
#define PLT_F_DIR	0x1	/* a directory: its fsync makes names durable */

/* WRITE flags. */
#define PLT_W_DSYNC	0x1	/* descriptor had O_DSYNC or O_SYNC: durable
				   when the call returned */

/* Sync kinds. */
#define PLT_S_FSYNC	1
#define PLT_S_FDATASYNC	2
#define PLT_S_MSYNC	3
#define PLT_S_SYNCFS	4	/* sync(2), syncfs(2): every file */

/* ACK flags. */
#define PLT_A_DUP	0x1	/* "duplicate":true: an earlier publish */
#define PLT_A_REST	0x2	/* acknowledged over REST */

#define PLT_ALL		0xffffffffU	/* the file of a sync of everything */
#define PLT_WFAIL	UINT64_MAX	/* WDONE of a failed write */

struct plt_rec {
	uint32_t	type;
	uint32_t	file;
	uint64_t	off;
	uint64_t	len;		/* bytes of payload after the header */
	uint64_t	arg;
	uint64_t	arg2;
};
#define PLT_HDR_LEN	40

/* Environment of the shim. */
#define PLT_ENV_TRACE	"PLTRACE_FILE"	/* trace file to append to */
#define PLT_ENV_DIR	"PLTRACE_DIR"	/* data directory to record */
#define PLT_ENV_IGNORE	"PLTRACE_IGNORE" /* names not recorded, ':' list */

#endif /* PLTRACE_H */
