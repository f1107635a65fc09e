/* cu_run: the main() of a CUnit test program.  See cu_run.h. */

#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "cu_run.h"

/* Add a test to its suite, adding the suite the first time it is named. */
static int
cu_add(const char *suite, const char *name, CU_TestFunc fn,
    const struct cu_fixture *fx)
{
	CU_pSuite	s;

	if ((s = CU_get_suite(suite)) == NULL) {
		s = CU_add_suite_with_setup_and_teardown(suite, NULL, NULL,
		    fx->setup, fx->teardown);
		if (s == NULL)
			return (-1);
	}
	return (CU_add_test(s, name, fn) == NULL ? -1 : 0);
}

/* Run what is registered and clean up; return the exit status. */
static int
cu_run_registered(void)
{
	unsigned int	failed;

	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return (failed != 0);
}

/* Run the tests as one suite; return the exit status. */
int
cu_run(const char *suite, const struct cu_test *tests, size_t ntests)
{
	static const struct cu_fixture	none;
	size_t				i;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return (1);
	for (i = 0; i < ntests; i++) {
		if (cu_add(suite, tests[i].name, tests[i].fn, &none) != 0) {
			CU_cleanup_registry();
			return (1);
		}
	}
	return (cu_run_registered());
}

/* Run the tests (those the filter lets through) in their suites. */
int
cu_run_suites(const struct cu_stest *tests, size_t ntests,
    const struct cu_fixture *fixture)
{
	static const struct cu_fixture	 none;
	const struct cu_fixture		*fx = fixture != NULL ? fixture : &none;
	char				 full[128];
	size_t				 i;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return (1);
	for (i = 0; i < ntests; i++) {
		snprintf(full, sizeof full, "%s/%s", tests[i].suite,
		    tests[i].name);
		if (fx->filter != NULL && strstr(full, fx->filter) == NULL)
			continue;
		if (cu_add(tests[i].suite, tests[i].name, tests[i].fn,
		    fx) != 0) {
			CU_cleanup_registry();
			return (1);
		}
	}
	return (cu_run_registered());
}

/* Return a new string from a format, or abort. */
char *
cu_fmt(const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		abort();
	va_end(ap);
	return (s);
}
