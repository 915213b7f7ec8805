/* check_policy.c — the daemon's `strict` policy ([policy] strict in mpcd/config.c): a SUBMIT
 * goes through mpcd_handle (handlers.h, no socket) with circuits compiled from source, and a
 * strict daemon refuses the one the compiler gave an overflow warning for — the silent
 * overflow of sum(x*y)/2 on unranged fix inputs — with a reason naming the cause, while a
 * lenient daemon queues it and a strict one queues the same program with declared ranges. */
#include <check.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"
#include "compile.h"
#include "config.h"
#include "cwire.h"
#include "format.h"
#include "handlers.h"
#include "jobs.h"
#include "mpc_err.h"

#define S_OVERFLOW "party a, b\ninput x: fix[2] from a\ninput y: fix[2] from b\noutput m = sum(x*y)/2 to a\n"
#define S_RANGED   "party a, b\ninput x: fix[2] from a in 0..1000\ninput y: fix[2] from b in 0..1000\n" \
                   "output m = sum(x*y)/2 to a\n"

static mpcd_config s_cfg;

static void s_config(int strict)
{
    memset(&s_cfg, 0, sizeof s_cfg);
    strcpy(s_cfg.name, "a");
    s_cfg.n_parties = 2;
    strcpy(s_cfg.parties[0].name, "a");
    strcpy(s_cfg.parties[1].name, "b");
    s_cfg.self = 0;
    s_cfg.n_clients = 1;
    strcpy(s_cfg.clients[0].name, "analyst");
    s_cfg.clients[0].may_submit = 1;
    s_cfg.allow_any_program = 1;
    s_cfg.strict = strict;
    s_cfg.max_queued_jobs = 10;
}

/* The .circ bytes of src as `mpcc` writes them (format 2; warnings recorded). */
static uint8_t *s_circ(const char *src, size_t *len, uint32_t *warnings)
{
    mpc_circuit *c = NULL;
    mpc_diag d;
    ck_assert_int_eq(mpc_compile(src, strlen(src), "p.mpc", NULL, 0, &c, &d), 0);
    mpc_diag_free(&d);
    *warnings = c->warnings;
    uint8_t *b = NULL;
    ck_assert_int_eq(mpc_circ_write(c, &b, len), 0);
    mpc_circ_destroy(&c);
    return b;
}

/* Submits circ to a daemon configured by s_cfg; returns the reply. */
static void s_submit(const uint8_t *circ, size_t len, mpc_cwire_rep *rep)
{
    mpcd_jobs *jobs = mpcd_jobs_new(100);
    ck_assert_ptr_nonnull(jobs);
    mpc_cwire_req req;
    memset(&req, 0, sizeof req);
    req.type = MPC_CW_SUBMIT;
    req.rid = 9;
    randombytes_buf(req.job, sizeof req.job);
    req.n_bind = 2;
    strcpy(req.bind[0], "a");
    strcpy(req.bind[1], "b");
    req.circ = circ;
    req.circ_len = len;
    uint64_t *share = NULL;
    mpcd_handle(&s_cfg, jobs, "analyst", &req, NULL, 0, NULL, rep, &share);
    ck_assert_ptr_null(share);
    mpcd_jobs_destroy(&jobs);
}

START_TEST(test_strict_refuses_flagged_circuit)
{
    ck_assert_int_ge(sodium_init(), 0);
    size_t n;
    uint32_t w;
    uint8_t *b = s_circ(S_OVERFLOW, &n, &w);
    ck_assert_uint_eq(w, 1);
    mpc_cwire_rep rep;

    s_config(1);
    s_submit(b, n, &rep);
    ck_assert_int_eq(rep.type, MPC_CW_ERROR);
    ck_assert_int_eq(rep.code, MPC_ERR_DENIED);
    ck_assert_msg(strstr(rep.msg, "circuit refused by the strict policy: the compiler gave 1 overflow warning "
                                  "for this program") != NULL, "%s", rep.msg);
    ck_assert_ptr_nonnull(strstr(rep.msg, "party a, job "));

    s_config(0);                                     /* not strict: queued */
    s_submit(b, n, &rep);
    ck_assert_msg(rep.type == MPC_CW_SUBMIT_OK, "%s", rep.msg);

    /* A format-1 file records no warnings: strict refuses it, lenient takes it. */
    ck_assert_uint_eq(b[0], 0x9a);
    b[0] = 0x99;
    b[9] = 1;
    s_config(1);
    s_submit(b, n - 1, &rep);
    ck_assert_int_eq(rep.type, MPC_CW_ERROR);
    ck_assert_int_eq(rep.code, MPC_ERR_DENIED);
    ck_assert_ptr_nonnull(strstr(rep.msg, "version 1"));
    s_config(0);
    s_submit(b, n - 1, &rep);
    ck_assert_msg(rep.type == MPC_CW_SUBMIT_OK, "%s", rep.msg);
    free(b);

    /* The same program with declared ranges: no warning, a strict daemon queues it. */
    b = s_circ(S_RANGED, &n, &w);
    ck_assert_uint_eq(w, 0);
    s_config(1);
    s_submit(b, n, &rep);
    ck_assert_msg(rep.type == MPC_CW_SUBMIT_OK, "%s", rep.msg);
    free(b);
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("policy");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_strict_refuses_flagged_circuit);
    suite_add_tcase(s, tc);
    return s;
}
