/* runner.h — what a Check test file gives the shared runner (tests/runner.c). */
#ifndef MPC_TEST_RUNNER_H
#define MPC_TEST_RUNNER_H

#include <check.h>

/* The file's suite; the runner creates it once, runs it and frees it. */
Suite *mpc_test_suite(void);

#endif
