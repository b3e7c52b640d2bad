/* SPDX-License-Identifier: MIT */
/* A shared library for test-kprotect-exec to deny and then dlopen. */
int kprotect_test_library_answer(void);

int kprotect_test_library_answer(void)
{
	return 42;
}
