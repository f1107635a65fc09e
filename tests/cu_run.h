/*
 * cu_run: the main() of a CUnit test program, written once.  A program
 * lists its tests in a table and returns cu_run("name", tests,
 * nitems(tests)) from main(), after any setup of its own.
 */

#ifndef CU_RUN_H
#define CU_RUN_H

#include <stddef.h>

#include <CUnit/CUnit.h>

struct cu_test {
	const char	*name;
	CU_TestFunc	 fn;
};

/*
 * Run the tests as one suite, verbosely, in the order given.  Return the
 * exit status: 0 when every test passed, 1 when one failed or CUnit could
 * not be set up.
 */
int		 cu_run(const char *suite, const struct cu_test *tests,
		     size_t ntests);

#endif /* CU_RUN_H */
