/* SPDX-License-Identifier: MIT */
/* How every test program here runs its Check suite. */
#pragma once

#include <check.h>
#include <stdlib.h>

/* Run all of s; the exit status: success only if every test passed. */
static inline int check_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
