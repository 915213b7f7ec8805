/* runner.c — the one main() of every Check test binary: each tests/check_*.c defines
 * mpc_test_suite() and this file runs it.  Check's own environment variables apply
 * (CK_RUN_SUITE, CK_RUN_CASE, CK_FORK=no, CK_DEFAULT_TIMEOUT, CK_VERBOSITY). */
#include <check.h>
#include <sodium.h>
#include <stdlib.h>

#include "runner.h"

int main(void)
{
    if (sodium_init() < 0) return EXIT_FAILURE;
    SRunner *sr = srunner_create(mpc_test_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
