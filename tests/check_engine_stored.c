/* check_engine_stored.c — STORED inputs (engine.h): shares kept from an earlier sharing (a
 * stored dataset) are re-randomized with a fresh pairwise zero-sharing before use.  With every
 * party doing so the job computes on the stored value; a party that skips it (uses the share
 * as a plain SHARE) makes the result wrong, which shows the masks are not zero; two runs
 * with fresh keys give the same result. */
#include <check.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "enginetest.h"
#include "mpc_err.h"
#include "runner.h"

/* x (stored, party 0's), y (client input) -> o = x * y + x, to every party. */
static mpc_circuit *s_circ(uint32_t n, uint64_t L)
{
    mpc_circuit *c = mpc_circ_new();
    char name[16];
    for (uint32_t p = 0; p < n; p++) {
        snprintf(name, sizeof name, "p%u", (unsigned)p);
        ck_assert_int_eq(mpc_circ_add_party(c, name), (int)p);
    }
    uint32_t x = mpc_circ_add_input(c, "x", 0, MPC_T_INT, L, 1, 1);
    uint32_t y = mpc_circ_add_input(c, "y", 1, MPC_T_INT, L, 1, 1);
    uint32_t m = mpc_circ_add_gate(c, MPC_G_MUL, MPC_T_INT, L, x, y, MPC_NO_WIRE, 0, 0, 2, 1);
    uint32_t a = mpc_circ_add_gate(c, MPC_G_ADD, MPC_T_INT, L, m, x, MPC_NO_WIRE, 0, 0, 3, 1);
    ck_assert_int_ge(mpc_circ_add_output(c, "o", a, (1u << n) - 1, 4, 1), 0);
    char err[256];
    ck_assert_msg(mpc_circ_finish(c, err, sizeof err) == 0, "%s", err);
    return c;
}

/* Runs with party p's x given as STORED (or SHARE for party `plain`, when < n). */
static void s_run(uint32_t n, uint64_t L, uint64_t **stored, const uint64_t *xv, const uint64_t *yv, uint32_t plain,
                  int expect_ok)
{
    mpc_circuit *c = s_circ(n, L);
    const uint64_t *vals[2] = {xv, yv};
    et_job j;
    memset(&j, 0, sizeof j);
    j.c = c;
    j.job = 21;
    randombytes_buf(j.master, 32);
    et_plain_inputs(&j, vals);
    for (uint32_t p = 0; p < n; p++)
        j.in[p][0] = (mpc_engine_input){.mode = p == plain ? MPC_IN_SHARE : MPC_IN_STORED, .values = stored[p], .len = L};
    ck_assert_int_eq(et_run(&j), 0);
    int all_right = 1;
    for (uint32_t p = 0; p < n; p++) {
        ck_assert_msg(j.rc[p] == 0 && j.open_rc[p] == 0, "%s", j.err[p]);
        for (uint64_t k = 0; k < L; k++)
            if (j.value[p][0][k] != xv[k] * yv[k] + xv[k]) all_right = 0;
    }
    ck_assert_int_eq(all_right, expect_ok);
    et_clear(&j);
    mpc_circ_destroy(&c);
}

START_TEST(stored_inputs_rerandomized)
{
    for (uint32_t n = 2; n <= 4; n++) {
        uint64_t L = 33;
        uint64_t *xv = malloc(L * 8), *yv = malloc(L * 8), *st[4];
        randombytes_buf(xv, L * 8);
        randombytes_buf(yv, L * 8);
        for (uint32_t p = 0; p < n; p++) st[p] = malloc(L * 8);
        memcpy(st[n - 1], xv, L * 8);
        for (uint32_t p = 0; p + 1 < n; p++) {
            randombytes_buf(st[p], L * 8);
            for (uint64_t k = 0; k < L; k++) st[n - 1][k] -= st[p][k];
        }
        s_run(n, L, st, xv, yv, UINT32_MAX, 1);
        s_run(n, L, st, xv, yv, UINT32_MAX, 1);
        s_run(n, L, st, xv, yv, n - 1, 0);   /* one party without its mask: wrong result */
        for (uint32_t p = 0; p < n; p++) free(st[p]);
        free(xv);
        free(yv);
    }
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("engine_stored");
    TCase *tc = tcase_create("stored");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, stored_inputs_rerandomized);
    suite_add_tcase(s, tc);
    return s;
}
