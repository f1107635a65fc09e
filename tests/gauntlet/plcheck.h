/*
 * plcheck: crash states built from a power-loss trace (pltrace.h), and
 * the checks each must pass.  See plcheck.c for the model.
 */

#ifndef PLCHECK_H
#define PLCHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct plc;

/* An acknowledged message, in the order of the trace. */
struct plc_ack {
	const char	*chan;		/* NUL-terminated, inside the trace */
	const char	*id;
	uint64_t	 serial;
	unsigned int	 flags;		/* PLT_A_* */
	int64_t		 rec;		/* record number of the ACK */
	int64_t		 need;		/* last sync point before it, -1 none */
};

/*
 * Negative controls: crash states or expectations that are wrong on
 * purpose, to show that the checks catch what they are meant to catch.
 */
enum plc_mutant {
	PLC_MUT_NONE,
	/*
	 * Expect the messages acknowledged after the next sync point as if
	 * they had been acknowledged before this one, and build the state
	 * that keeps nothing after it: their loss must be reported.  (Not
	 * in every state: an acknowledgement read late can follow a sync
	 * point after its own, and then its message is there already.)
	 */
	PLC_MUT_EARLYACK,
	/*
	 * Keep the operations of the window after the next sync point but
	 * none of this window's: a write order that breaks the sync
	 * barrier (for LMDB, a meta page over pages never written).
	 */
	PLC_MUT_REORDER
};

/*
 * Start the real daemon on dir and check that it serves the n messages
 * (a sample is fine); 0, or -1 with the reason in *cause.
 */
typedef int	(*plc_daemon_fn)(const char *dir, const struct plc_ack *acks,
		    size_t n, char **cause, void *arg);

struct plc_opts {
	uint64_t	 seed;
	size_t		 states;	/* how many crash states, at least */
	long		 only;		/* -1: all; else that state alone */
	const char	*workdir;	/* the state directory goes in here */
	const char	*logwire;	/* path of logwire, for verify */
	enum plc_mutant	 mutant;
	int		 progress;	/* a progress line on stderr */
	size_t		 daemon_every;	/* daemon check every n-th state */
	plc_daemon_fn	 daemon;
	void		*daemon_arg;
	const char	*repro;		/* printed before --seed S --state K */
	int		 quiet;		/* no failure details (negative runs) */
};

struct plc_result {
	uint64_t	states;
	uint64_t	bases;		/* sync points states were built on */
	uint64_t	fresh;		/* states without a store yet */
	uint64_t	torn;		/* states holding a torn write */
	uint64_t	checked;	/* acknowledged messages looked up */
	uint64_t	lost;		/* of which missing or different */
	uint64_t	failed;		/* states failing any check */
	uint64_t	verify_failed;
	uint64_t	open_failed;
	uint64_t	foreign;	/* records never sent or stored twice */
	uint64_t	daemon_runs;
	uint64_t	max_required;	/* most acks one state had to hold */
	uint64_t	mutant_bases;	/* states a mutant had an effect on */
};

/* What a trace holds. */
struct plc_stats {
	uint64_t	records;
	uint64_t	procs;		/* daemon processes traced */
	uint64_t	writes;
	uint64_t	write_bytes;
	uint64_t	syncs;		/* sync points */
	uint64_t	sent;
	uint64_t	acks;
};

/* Read and check a trace; NULL with the reason in *cause. */
struct plc	*plc_load(const char *path, char **cause);
void		 plc_free(struct plc *);
void		 plc_stats(struct plc *, struct plc_stats *);
/* The acknowledgements of the trace, in order. */
const struct plc_ack *plc_acks(struct plc *, size_t *n);
/*
 * Replay the whole trace and compare the files with those left in
 * datadir (but the ':'-separated names of ignore): 0, or -1 with the
 * difference in *cause.  A write the shim missed shows here.
 */
int		 plc_final(struct plc *, const char *datadir,
		     const char *ignore, char **cause);
/* Build and check the crash states; 0 if all pass, -1 otherwise. */
int		 plc_run(struct plc *, const struct plc_opts *,
		     struct plc_result *);

#endif /* PLCHECK_H */
