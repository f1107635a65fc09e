/*
 * cu_run: the main() of a CUnit test program, written once.  A program
 * lists its tests in a table and returns cu_run("name", tests,
 * nitems(tests)) from main(), after any setup of its own.  A program of
 * several suites (test_storage) lists "suite", "name", function triples
 * and returns cu_run_suites() instead.  With them, what the tests of
 * several programs use: EXPECT(), an assertion that says what came, and
 * cu_fmt().
 */

#ifndef CU_RUN_H
#define CU_RUN_H

#include <stddef.h>
#include <stdio.h>

#include <CUnit/CUnit.h>

/* The length of a table, as common.h has it (the tests' own programs too). */
#ifndef nitems
#define nitems(a)	(sizeof (a) / sizeof (a)[0])
#endif

struct cu_test {
	const char	*name;
	CU_TestFunc	 fn;
};

/* A test of a program with several suites. */
struct cu_stest {
	const char	*suite;
	const char	*name;
	CU_TestFunc	 fn;
};

/* What cu_run_suites() does around each test, and which tests it runs. */
struct cu_fixture {
	CU_SetUpFunc	 setup;		/* before each test, or NULL */
	CU_TearDownFunc	 teardown;	/* after each test, or NULL */
	const char	*filter;	/* only "suite/name" with it, or NULL */
};

/*
 * Run the tests as one suite, verbosely, in the order given.  Return the
 * exit status: 0 when every test passed, 1 when one failed or CUnit could
 * not be set up.
 */
int		 cu_run(const char *suite, const struct cu_test *tests,
		     size_t ntests);
/*
 * Run the tests in a suite for each suite name, verbosely, in the order
 * given (a suite where it is first named), with the fixture's setup and
 * teardown around each test (fixture may be NULL).  Return as cu_run().
 */
int		 cu_run_suites(const struct cu_stest *tests, size_t ntests,
		     const struct cu_fixture *fixture);

/*
 * Check a condition; on failure say where, and what came in printf style,
 * then count it with CUnit.  The test goes on (unlike the _FATAL asserts),
 * so that daemons are always stopped.
 */
#define EXPECT(cond, ...) do {						\
	int	ok_ = (cond) != 0;					\
									\
	if (!ok_) {							\
		fprintf(stderr, "\n  %s:%d: failed: %s\n    ",		\
		    __FILE__, __LINE__, #cond);				\
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
	}								\
	CU_assertImplementation(ok_, __LINE__, #cond, __FILE__, "",	\
	    CU_FALSE);							\
} while (0)

/* Return a new string from a format (caller frees); out of memory aborts. */
char		*cu_fmt(const char *, ...)
		     __attribute__((__format__(__printf__, 1, 2)));

#endif /* CU_RUN_H */
