/* check_circuit.c — builder, layering and structural validation of the circuit IR. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"
#include "circuit.h"

static mpc_circuit *s_two_party(void)
{
    mpc_circuit *c = mpc_circ_new();
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(mpc_circ_add_party(c, "a"), 0);
    ck_assert_int_eq(mpc_circ_add_party(c, "b"), 1);
    return c;
}

START_TEST(test_layers_count_multiplicative_depth)
{
    mpc_circuit *c = s_two_party();
    char err[256];
    uint32_t x = mpc_circ_add_input(c, "x", 0, MPC_T_INT, 10, 1, 1);
    uint32_t y = mpc_circ_add_input(c, "y", 1, MPC_T_INT, 10, 2, 1);
    uint32_t s = mpc_circ_add_gate(c, MPC_G_ADD, MPC_T_INT, 10, x, y, MPC_NO_WIRE, 0, 0, 3, 1);
    uint32_t m1 = mpc_circ_add_gate(c, MPC_G_MUL, MPC_T_INT, 10, s, x, MPC_NO_WIRE, 0, 0, 3, 1);
    uint32_t m2 = mpc_circ_add_gate(c, MPC_G_MUL, MPC_T_INT, 10, m1, y, MPC_NO_WIRE, 0, 0, 3, 1);
    uint32_t m3 = mpc_circ_add_gate(c, MPC_G_MUL, MPC_T_INT, 10, x, y, MPC_NO_WIRE, 0, 0, 3, 1);
    uint32_t t = mpc_circ_add_gate(c, MPC_G_ADD, MPC_T_INT, 10, m2, m3, MPC_NO_WIRE, 0, 0, 3, 1);
    ck_assert_int_ge(mpc_circ_add_output(c, "out", t, 3, 4, 1), 0);
    ck_assert_int_eq(mpc_circ_finish(c, err, sizeof err), 0);
    ck_assert_uint_eq(c->gates[m1].layer, 0);
    ck_assert_uint_eq(c->gates[m3].layer, 0);
    ck_assert_uint_eq(c->gates[m2].layer, 1);
    ck_assert_uint_eq(c->gates[t].layer, 2);
    ck_assert_uint_eq(c->rounds, 2);
    mpc_circ_stats st;
    mpc_circ_stats_get(c, &st);
    ck_assert_uint_eq(st.triples, 30);
    mpc_circ_destroy(&c);
    ck_assert_ptr_null(c);
}
END_TEST

START_TEST(test_validate_rejects_bad_structure)
{
    mpc_circuit *c = s_two_party();
    char err[256];
    uint32_t x = mpc_circ_add_input(c, "x", 0, MPC_T_INT, 4, 1, 1);
    uint64_t k = 3;
    uint32_t k3 = mpc_circ_add_const(c, MPC_T_INT, &k, 1, 1, 1);
    /* A public operand where a secret one is required. */
    uint32_t bad = mpc_circ_add_gate(c, MPC_G_MUL, MPC_T_INT, 4, x, k3, MPC_NO_WIRE, 0, 0, 7, 3);
    ck_assert_int_ge(mpc_circ_add_output(c, "o", bad, 1, 8, 1), 0);
    ck_assert_int_eq(mpc_circ_finish(c, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "line 7"));
    ck_assert_ptr_nonnull(strstr(err, "must be secret"));
    /* Fixing the kind makes it valid. */
    c->gates[bad].kind = MPC_G_MUL_PUB;
    ck_assert_int_eq(mpc_circ_finish(c, err, sizeof err), 0);
    /* A length mismatch. */
    c->gates[bad].len = 5;
    ck_assert_int_eq(mpc_circ_finish(c, err, sizeof err), -1);
    c->gates[bad].len = 4;
    /* A forward reference. */
    c->gates[bad].in[0] = bad + 1;
    ck_assert_int_eq(mpc_circ_finish(c, err, sizeof err), -1);
    mpc_circ_destroy(&c);
}
END_TEST

/* Adding outputs grows the gate array; the OUTPUT gate must copy its operand's type and
 * length before that (an ASan run catches a stale pointer here). */
START_TEST(test_many_outputs)
{
    mpc_circuit *c = s_two_party();
    char err[256], name[16];
    uint32_t x = mpc_circ_add_input(c, "x", 0, MPC_T_FIX, 3, 1, 1);
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof name, "o%d", i);
        ck_assert_int_eq(mpc_circ_add_output(c, name, x, 1, 2, 1), i);
        ck_assert_uint_eq(c->outputs[i].len, 3);
        ck_assert_uint_eq(c->outputs[i].type, MPC_T_FIX);
    }
    ck_assert_int_eq(mpc_circ_finish(c, err, sizeof err), 0);
    mpc_circ_destroy(&c);
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("circuit");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_layers_count_multiplicative_depth);
    tcase_add_test(tc, test_validate_rejects_bad_structure);
    tcase_add_test(tc, test_many_outputs);
    suite_add_tcase(s, tc);
    return s;
}

