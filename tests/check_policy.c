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
#include "program.h"

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
    s_cfg.max_jobs_per_client = 10;
    s_cfg.max_job_bytes = (int64_t)1 << 26;
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

    /* A format-1 file records no warnings: strict refuses it, lenient takes it.  (From the
     * version-4 file: without its program field, 12 fields become 11 of version 3.) */
    mpc_circuit *pc = NULL;
    char perr[256];
    ck_assert_int_eq(mpc_circ_read(b, n, NULL, &pc, perr, sizeof perr), 0);
    mpc_program_free(&pc->program);
    free(b);
    ck_assert_int_eq(mpc_circ_write(pc, &b, &n), 0);
    mpc_circ_destroy(&pc);
    ck_assert_uint_eq(b[0], 0x9c);
    ck_assert_uint_eq(b[n - 1], 0xc0);
    n--;
    ck_assert_uint_eq(b[n - 1], 0x90);             /* no local parts; before it the warnings */
    b[0] = 0x99;
    b[9] = 1;
    s_config(1);
    s_submit(b, n - 2, &rep);
    ck_assert_int_eq(rep.type, MPC_CW_ERROR);
    ck_assert_int_eq(rep.code, MPC_ERR_DENIED);
    ck_assert_ptr_nonnull(strstr(rep.msg, "version 1"));
    s_config(0);
    s_submit(b, n - 2, &rep);
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

/* Submits circ for client `client` into `jobs`; returns the reply. */
static void s_submit_to(mpcd_jobs *jobs, const char *client, const uint8_t *circ, size_t len, mpc_cwire_rep *rep)
{
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
    mpcd_handle(&s_cfg, jobs, client, &req, NULL, 0, NULL, rep, &share);
    ck_assert_ptr_null(share);
}

/* An int[1] input doubled 22 times with concat: about 1.2 KB of circuit, 12.6 million wire
 * elements (96 MiB).  The default max_job_bytes (64 MiB) refuses it at submission. */
START_TEST(test_job_bytes_refuses_concat_doubling)
{
    ck_assert_int_ge(sodium_init(), 0);
    char src[4096];
    int n = snprintf(src, sizeof src, "party a, b\ninput x: int[1] from a\nlet y0 = x\n");
    for (int i = 0; i < 22; i++) n += snprintf(src + n, sizeof src - (size_t)n, "let y%d = concat(y%d, y%d)\n", i + 1, i, i);
    snprintf(src + n, sizeof src - (size_t)n, "output y22 to a\n");
    size_t len;
    uint32_t w;
    uint8_t *b = s_circ(src, &len, &w);
    ck_assert_uint_lt(len, 2000);
    s_config(0);
    s_cfg.max_job_bytes = 67108864;   /* the default of the key table */
    mpc_cwire_rep rep;
    s_submit(b, len, &rep);
    ck_assert_int_eq(rep.type, MPC_CW_ERROR);
    ck_assert_int_eq(rep.code, MPC_ERR_LIMIT);
    ck_assert_msg(strstr(rep.msg, "12582911 elements (100663288 bytes)") && strstr(rep.msg, "67108864 bytes per job "
                                                                                        "(max_job_bytes)"), "%s", rep.msg);
    /* With room for it, the same circuit is queued. */
    s_cfg.max_job_bytes = 100663288;
    s_submit(b, len, &rep);
    ck_assert_msg(rep.type == MPC_CW_SUBMIT_OK, "%s", rep.msg);
    free(b);
}
END_TEST

/* examples/joint_stats.mpc at N = 10^6 (3 parties bound to 2 here: only the size matters,
 * so a 2-party variant) fits in the default max_job_bytes. */
START_TEST(test_job_bytes_admits_large_example)
{
    ck_assert_int_ge(sodium_init(), 0);
    const char *src = "party a, b\nparam N = 1000000\ninput xa: fix[N] from a in 0..1000\n"
                      "input xb: fix[N] from b in 0..1000\ninput xc: fix[N] from b in 0..1000\n"
                      "let n = 3 * N\nlet s = sum(xa) + sum(xb) + sum(xc)\n"
                      "let sq = dot(xa, xa) + dot(xb, xb) + dot(xc, xc)\nlet mean = s / n\n"
                      "let var = sq / n - mean * mean\noutput mean, var to a, b\n";
    size_t len;
    uint32_t w;
    uint8_t *b = s_circ(src, &len, &w);
    s_config(0);
    s_cfg.max_job_bytes = 67108864;
    mpc_cwire_rep rep;
    s_submit(b, len, &rep);
    ck_assert_msg(rep.type == MPC_CW_SUBMIT_OK, "%s", rep.msg);
    free(b);
}
END_TEST

/* 1,001 submissions from one client: refused at its quota, naming the limit; another
 * client's job is still queued. */
START_TEST(test_client_quota)
{
    ck_assert_int_ge(sodium_init(), 0);
    size_t len;
    uint32_t w;
    uint8_t *b = s_circ(S_RANGED, &len, &w);
    s_config(0);
    s_cfg.max_queued_jobs = 1000;
    s_cfg.max_jobs_per_client = 100;
    s_cfg.n_clients = 2;
    strcpy(s_cfg.clients[1].name, "other");
    s_cfg.clients[1].may_submit = 1;
    mpcd_jobs *jobs = mpcd_jobs_new(1000);
    ck_assert_ptr_nonnull(jobs);
    mpc_cwire_rep rep;
    uint32_t ok = 0, refused = 0;
    for (int i = 0; i < 1001; i++) {
        s_submit_to(jobs, "analyst", b, len, &rep);
        if (rep.type == MPC_CW_SUBMIT_OK) {
            ok++;
            continue;
        }
        refused++;
        ck_assert_int_eq(rep.code, MPC_ERR_LIMIT);
        ck_assert_msg(strstr(rep.msg, "client 'analyst' has 100 unfinished jobs here, the limit per client "
                                      "(max_jobs_per_client = 100)"), "%s", rep.msg);
    }
    ck_assert_uint_eq(ok, 100);
    ck_assert_uint_eq(refused, 901);
    s_submit_to(jobs, "other", b, len, &rep);
    ck_assert_msg(rep.type == MPC_CW_SUBMIT_OK, "%s", rep.msg);
    /* A finished job no longer counts. */
    mpcd_jobs_lock(jobs);
    ck_assert_uint_eq(mpcd_jobs_unfinished_by(jobs, "analyst"), 100);
    uint32_t counts[MPCD_JOB__COUNT];
    mpcd_jobs_count(jobs, counts);
    ck_assert_uint_eq(counts[MPCD_JOB_QUEUED], 101);
    mpcd_job *first = mpcd_jobs_next_unsequenced(jobs);
    ck_assert_str_eq(first->client, "analyst");
    mpcd_job_fail(first, "test");
    ck_assert_uint_eq(mpcd_jobs_unfinished_by(jobs, "analyst"), 99);
    mpcd_jobs_unlock(jobs);
    s_submit_to(jobs, "analyst", b, len, &rep);
    ck_assert_msg(rep.type == MPC_CW_SUBMIT_OK, "%s", rep.msg);
    mpcd_jobs_destroy(&jobs);
    free(b);
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("policy");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_strict_refuses_flagged_circuit);
    tcase_add_test(tc, test_job_bytes_refuses_concat_doubling);
    tcase_add_test(tc, test_job_bytes_admits_large_example);
    tcase_add_test(tc, test_client_quota);
    suite_add_tcase(s, tc);
    return s;
}
