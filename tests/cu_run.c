/* cu_run: the main() of a CUnit test program.  See cu_run.h. */

#include "config.h"

#include <CUnit/Basic.h>

#include "cu_run.h"

/* Run the tests as one suite; return the exit status. */
int
cu_run(const char *name, const struct cu_test *tests, size_t ntests)
{
	CU_pSuite	suite;
	unsigned int	failed;
	size_t		i;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return (1);
	if ((suite = CU_add_suite(name, NULL, NULL)) == NULL)
		goto fail;
	for (i = 0; i < ntests; i++) {
		if (CU_add_test(suite, tests[i].name, tests[i].fn) == NULL)
			goto fail;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return (failed != 0);

fail:
	CU_cleanup_registry();
	return (1);
}
