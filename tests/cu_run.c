/* cu_run: the main() of a CUnit test program.  See cu_run.h. */

#include "config.h"

#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "cu_run.h"

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
cu_run(const char *name, const struct cu_test *tests, size_t ntests)
{
	CU_pSuite	suite;
	size_t		i;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return (1);
	if ((suite = CU_add_suite(name, NULL, NULL)) == NULL)
		goto fail;
	for (i = 0; i < ntests; i++) {
		if (CU_add_test(suite, tests[i].name, tests[i].fn) == NULL)
			goto fail;
	}
	return (cu_run_registered());

fail:
	CU_cleanup_registry();
	return (1);
}

/* Run the tests (those the filter lets through) in their suites. */
int
cu_run_suites(const struct cu_stest *tests, size_t ntests,
    const struct cu_fixture *fixture)
{
	static const struct cu_fixture	 none;
	const struct cu_fixture		*fx = fixture != NULL ? fixture : &none;
	CU_pSuite			 suite = NULL;
	const char			*last = NULL;
	char				 full[128];
	size_t				 i;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return (1);
	for (i = 0; i < ntests; i++) {
		snprintf(full, sizeof full, "%s/%s", tests[i].suite,
		    tests[i].name);
		if (fx->filter != NULL && strstr(full, fx->filter) == NULL)
			continue;
		if (last == NULL || strcmp(last, tests[i].suite) != 0) {
			suite = CU_add_suite_with_setup_and_teardown(
			    tests[i].suite, NULL, NULL, fx->setup,
			    fx->teardown);
			if (suite == NULL)
				goto fail;
			last = tests[i].suite;
		}
		if (CU_add_test(suite, tests[i].name, tests[i].fn) == NULL)
			goto fail;
	}
	return (cu_run_registered());

fail:
	CU_cleanup_registry();
	return (1);
}
