/* check_budget.c — the privacy budget ledger (mpcd/budget.h): reserve, commit, release, the
 * all-or-nothing reservation over several budgets, the daily reset at UTC midnight with an
 * injected clock, persistence across a reopen, the atomic write (no temp file left, the old
 * file intact when the write fails) and a damaged file refused at open.  Then admission
 * through mpcd_handle (no socket): a job's spend is the sum of its DP outputs' ε, a second job
 * beyond the budget is refused, a queued job cancelled gives its spend back, a job failing
 * while running keeps it, and an output that is not DP under a budget is refused by name. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "runner.h"
#include "approve.h"
#include "budget.h"
#include "compile.h"
#include "config.h"
#include "cwire.h"
#include "format.h"
#include "handlers.h"
#include "jobs.h"
#include "mpc_err.h"

static char s_dir[64];
static char s_path[128];
static uint64_t s_clock;

static uint64_t s_now(void) { return s_clock; }

static void s_setup(void)
{
    snprintf(s_dir, sizeof s_dir, "/tmp/check_budget.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(s_dir));
    snprintf(s_path, sizeof s_path, "%s/dp_budget.ledger", s_dir);
    s_clock = 20000ull * 86400 + 3600;   /* 01:00 UTC of some day */
}

static void s_teardown(void)
{
    char tmp[160];
    unlink(s_path);
    snprintf(tmp, sizeof tmp, "%s.tmp", s_path);
    unlink(tmp);
    rmdir(s_dir);
}

static const uint8_t J1[16] = {1}, J2[16] = {2}, J3[16] = {3};

static mpcd_budget_ask s_ask(const char *key, double b, int period)
{
    mpcd_budget_ask a;
    memset(&a, 0, sizeof a);
    snprintf(a.key, sizeof a.key, "%s", key);
    a.budget = b;
    a.period = period;
    return a;
}

static mpcd_ledger *s_open(void)
{
    char err[512];
    mpcd_ledger *l = NULL;
    ck_assert_msg(mpcd_ledger_open(s_path, s_now, &l, err, sizeof err) == 0, "%s", err);
    return l;
}

START_TEST(test_reserve_commit_release)
{
    mpcd_ledger *l = s_open();
    mpcd_budget_ask a = s_ask("program aa", 3, MPCD_PERIOD_TOTAL);
    char why[256] = "";
    double e, d;
    ck_assert_int_eq(mpcd_ledger_reserve(l, J1, &a, 1, 2, 1e-6, why, sizeof why), 0);
    mpcd_ledger_spent(l, "program aa", MPCD_PERIOD_TOTAL, &e, &d);
    ck_assert(e == 2 && d == 1e-6);
    /* Concurrent second job: 2 more do not fit in the 1 left, whatever the first one does. */
    ck_assert_int_eq(mpcd_ledger_reserve(l, J2, &a, 1, 2, 0, why, sizeof why), MPC_ERR_DENIED);
    ck_assert_msg(strstr(why, "privacy budget of program aa exhausted: the job spends eps = 2, 1 of 3 left in total"),
                  "%s", why);
    /* Released before running: the 2 come back, and a job of 2 fits again. */
    ck_assert_int_eq(mpcd_ledger_release(l, J1), 0);
    mpcd_ledger_spent(l, "program aa", MPCD_PERIOD_TOTAL, &e, &d);
    ck_assert(e == 0 && d == 0);
    ck_assert_int_eq(mpcd_ledger_reserve(l, J2, &a, 1, 2, 0, why, sizeof why), 0);
    mpcd_ledger_commit(l, J2);
    /* After the commit a release changes nothing. */
    ck_assert_int_eq(mpcd_ledger_release(l, J2), 0);
    mpcd_ledger_spent(l, "program aa", MPCD_PERIOD_TOTAL, &e, &d);
    ck_assert(e == 2);
    ck_assert_int_eq(mpcd_ledger_reserve(l, J3, &a, 1, 1, 0, why, sizeof why), 0);   /* exactly the 1 left */
    ck_assert_int_eq(mpcd_ledger_reserve(l, J1, &a, 1, 0.001, 0, why, sizeof why), MPC_ERR_DENIED);
    mpcd_ledger_close(&l);
}
END_TEST

START_TEST(test_all_or_nothing)
{
    mpcd_ledger *l = s_open();
    mpcd_budget_ask a[2] = {s_ask("program aa", 10, MPCD_PERIOD_TOTAL), s_ask("dataset ages", 1, MPCD_PERIOD_TOTAL)};
    char why[256];
    double e, d;
    ck_assert_int_eq(mpcd_ledger_reserve(l, J1, a, 2, 2, 0, why, sizeof why), MPC_ERR_DENIED);
    ck_assert_msg(strstr(why, "dataset ages") && strstr(why, "0 of 1") == NULL && strstr(why, "1 of 1"), "%s", why);
    mpcd_ledger_spent(l, "program aa", MPCD_PERIOD_TOTAL, &e, &d);
    ck_assert(e == 0);   /* the program's budget was not charged either */
    ck_assert_int_eq(mpcd_ledger_reserve(l, J1, a, 2, 0.5, 0, why, sizeof why), 0);
    mpcd_ledger_spent(l, "dataset ages", MPCD_PERIOD_TOTAL, &e, &d);
    ck_assert(e == 0.5);
    mpcd_ledger_spent(l, "program aa", MPCD_PERIOD_TOTAL, &e, &d);
    ck_assert(e == 0.5);
    mpcd_ledger_close(&l);
}
END_TEST

START_TEST(test_day_rollover)
{
    mpcd_ledger *l = s_open();
    mpcd_budget_ask a = s_ask("program aa", 3, MPCD_PERIOD_DAY);
    char why[256];
    double e, d;
    ck_assert_int_eq(mpcd_ledger_reserve(l, J1, &a, 1, 2, 0, why, sizeof why), 0);
    mpcd_ledger_commit(l, J1);
    ck_assert_int_eq(mpcd_ledger_reserve(l, J2, &a, 1, 2, 0, why, sizeof why), MPC_ERR_DENIED);
    ck_assert_msg(strstr(why, "1 of 3 left today"), "%s", why);
    ck_assert_int_eq(mpcd_ledger_reserve(l, J2, &a, 1, 1, 0, why, sizeof why), 0);   /* pending across midnight */
    s_clock += 23 * 3600 - 1;   /* 23:59:59 */
    ck_assert_int_eq(mpcd_ledger_reserve(l, J3, &a, 1, 0.5, 0, why, sizeof why), MPC_ERR_DENIED);
    s_clock += 1;               /* midnight UTC */
    mpcd_ledger_spent(l, "program aa", MPCD_PERIOD_DAY, &e, &d);
    ck_assert(e == 0);
    ck_assert_int_eq(mpcd_ledger_reserve(l, J3, &a, 1, 3, 0, why, sizeof why), 0);
    /* Yesterday's pending reservation released today gives nothing back from today's budget. */
    ck_assert_int_eq(mpcd_ledger_release(l, J2), 0);
    mpcd_ledger_spent(l, "program aa", MPCD_PERIOD_DAY, &e, &d);
    ck_assert(e == 3);
    mpcd_ledger_close(&l);
    /* The day is in the file: reopened the same day the spend holds, the next day it is gone. */
    l = s_open();
    mpcd_ledger_spent(l, "program aa", MPCD_PERIOD_DAY, &e, &d);
    ck_assert(e == 3);
    s_clock += 86400;
    mpcd_ledger_spent(l, "program aa", MPCD_PERIOD_DAY, &e, &d);
    ck_assert(e == 0);
    mpcd_ledger_close(&l);
}
END_TEST

START_TEST(test_persist_and_atomic)
{
    mpcd_ledger *l = s_open();
    mpcd_budget_ask a = s_ask("dataset ages", 5, MPCD_PERIOD_TOTAL);
    char why[256], tmp[160];
    ck_assert_int_eq(mpcd_ledger_reserve(l, J1, &a, 1, 1.25, 1e-9, why, sizeof why), 0);
    snprintf(tmp, sizeof tmp, "%s.tmp", s_path);
    ck_assert_int_ne(access(tmp, F_OK), 0);   /* the temp file was renamed over the ledger */
    /* A reservation pending at a stop stays charged after the restart. */
    mpcd_ledger_close(&l);
    l = s_open();
    double e, d;
    mpcd_ledger_spent(l, "dataset ages", MPCD_PERIOD_TOTAL, &e, &d);
    ck_assert(e == 1.25 && d == 1e-9);
    /* A failed write (the temp file's name taken by a directory) leaves the old file whole and
     * reserves nothing. */
    ck_assert_int_eq(mkdir(tmp, 0700), 0);
    ck_assert_int_eq(mpcd_ledger_reserve(l, J2, &a, 1, 1, 0, why, sizeof why), MPC_ERR_IO);
    ck_assert_msg(strstr(why, "cannot write the privacy budget ledger"), "%s", why);
    ck_assert_int_eq(rmdir(tmp), 0);
    mpcd_ledger_spent(l, "dataset ages", MPCD_PERIOD_TOTAL, &e, &d);
    ck_assert(e == 1.25);
    mpcd_ledger_close(&l);
    l = s_open();
    mpcd_ledger_spent(l, "dataset ages", MPCD_PERIOD_TOTAL, &e, &d);
    ck_assert(e == 1.25);
    mpcd_ledger_close(&l);
}
END_TEST

static void s_write(const char *text)
{
    FILE *f = fopen(s_path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static void s_refused(const char *text, const char *what)
{
    s_write(text);
    char err[512] = "";
    mpcd_ledger *l = NULL;
    ck_assert_int_eq(mpcd_ledger_open(s_path, s_now, &l, err, sizeof err), -1);
    ck_assert_ptr_null(l);
    ck_assert_msg(strstr(err, s_path) && strstr(err, "damaged privacy budget ledger") && strstr(err, what), "%s", err);
    /* Never reset: the damaged file is still there as it was. */
    FILE *f = fopen(s_path, "r");
    ck_assert_ptr_nonnull(f);
    char buf[256] = "";
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    ck_assert_str_eq(buf, text);
}

START_TEST(test_damaged_refused)
{
    s_refused("", "empty");
    s_refused("mpcd-dp-ledger 1\ntotal 0 2 0 program aa\n", "no end line");
    s_refused("mpcd-dp-ledger 1\ntotal 0 2 0 program aa\nend 2\n", "end line");
    s_refused("mpcd-dp-ledger 1\ntotal 0 x 0 program aa\nend 1\n", "line 2");
    s_refused("mpcd-dp-ledger 1\ntotal 0 -1 0 program aa\nend 1\n", "line 2");
    s_refused("mpcd-dp-ledger 1\nweekly 0 1 0 program aa\nend 1\n", "line 2");
    s_refused("mpcd-dp-ledger 1\ntotal 0 1 0 program aa\ntotal 0 1 0 program aa\nend 2\n", "twice");
    s_refused("hello\n", "line 1");
    s_refused("mpcd-dp-ledger 1\nend 0", "line 2");   /* cut inside the last line */
    /* A good file opens. */
    s_write("mpcd-dp-ledger 1\ntotal 0 2.5 0 program aa\nend 1\n");
    mpcd_ledger *l = s_open();
    double e, d;
    mpcd_ledger_spent(l, "program aa", MPCD_PERIOD_TOTAL, &e, &d);
    ck_assert(e == 2.5);
    ck_assert_uint_eq(mpcd_ledger_count(l), 1);
    mpcd_ledger_close(&l);
}
END_TEST

#define S_DP2 "party a, b\ninput x: int[4] from a in 0..100\ninput y: int[4] from b in 0..100\n" \
              "let v = concat(x, y)\noutput c1 = dp_count(v >= 10, 1.0) to a, b\n" \
              "output c2 = dp_count(v >= 50, 1.0) to a, b\n"
#define S_RAW "party a, b\ninput x: int[4] from a in 0..100\ninput y: int[4] from b in 0..100\n" \
              "let v = concat(x, y)\noutput c1 = dp_count(v >= 10, 1.0) to a, b\noutput total = sum(v) to a\n"

static mpcd_config s_cfg;

static void s_config(double budget)
{
    memset(&s_cfg, 0, sizeof s_cfg);
    strcpy(s_cfg.name, "a");
    s_cfg.n_parties = 2;
    strcpy(s_cfg.parties[0].name, "a");
    strcpy(s_cfg.parties[1].name, "b");
    s_cfg.n_clients = 1;
    strcpy(s_cfg.clients[0].name, "analyst");
    s_cfg.clients[0].may_submit = 1;
    s_cfg.allow_any_program = 1;
    s_cfg.max_queued_jobs = 10;
    s_cfg.max_jobs_per_client = 10;
    s_cfg.max_job_bytes = (int64_t)1 << 26;
    s_cfg.dp.eps = budget;
}

static uint8_t *s_circ(const char *src, size_t *len)
{
    mpc_circuit *c = NULL;
    mpc_diag d;
    ck_assert_int_eq(mpc_compile(src, strlen(src), "p.mpc", NULL, 0, &c, &d), 0);
    mpc_diag_free(&d);
    uint8_t *b = NULL;
    ck_assert_int_eq(mpc_circ_write(c, &b, len), 0);
    mpc_circ_destroy(&c);
    return b;
}

static void s_req(mpcd_jobs *jobs, int type, const uint8_t id[16], const uint8_t *circ, size_t len, mpc_cwire_rep *rep)
{
    mpc_cwire_req req;
    memset(&req, 0, sizeof req);
    req.type = (uint8_t)type;
    req.rid = 9;
    memcpy(req.job, id, sizeof req.job);
    req.n_bind = 2;
    strcpy(req.bind[0], "a");
    strcpy(req.bind[1], "b");
    req.circ = circ;
    req.circ_len = len;
    uint64_t *share = NULL;
    mpcd_handle(&s_cfg, jobs, "analyst", &req, NULL, 0, NULL, rep, &share);
    ck_assert_ptr_null(share);
}

START_TEST(test_admission)
{
    ck_assert_int_ge(sodium_init(), 0);
    mpcd_ledger *l = s_open();
    mpcd_ledger_set_global(l);
    mpcd_jobs *jobs = mpcd_jobs_new(100);
    size_t n, nraw;
    uint8_t *dp = s_circ(S_DP2, &n), *raw = s_circ(S_RAW, &nraw);
    uint8_t k1[16], k2[16], k3[16], k4[16];
    randombytes_buf(k1, 16), randombytes_buf(k2, 16), randombytes_buf(k3, 16), randombytes_buf(k4, 16);
    mpc_cwire_rep rep;
    s_config(3);
    s_req(jobs, MPC_CW_SUBMIT, k1, dp, n, &rep);
    ck_assert_msg(rep.type == MPC_CW_SUBMIT_OK, "%s", rep.msg);
    s_req(jobs, MPC_CW_SUBMIT, k2, dp, n, &rep);
    ck_assert_int_eq(rep.type, MPC_CW_ERROR);
    ck_assert_int_eq(rep.code, MPC_ERR_DENIED);
    ck_assert_msg(strstr(rep.msg, "exhausted: the job spends eps = 2, 1 of 3 left in total") &&
                  strstr(rep.msg, "privacy budget of program "), "%s", rep.msg);
    /* The first job cancelled while queued: its 2 come back, the second fits. */
    s_req(jobs, MPC_CW_CANCEL, k1, NULL, 0, &rep);
    ck_assert_msg(rep.type == MPC_CW_CANCEL_OK, "%s", rep.msg);
    s_req(jobs, MPC_CW_SUBMIT, k2, dp, n, &rep);
    ck_assert_msg(rep.type == MPC_CW_SUBMIT_OK, "%s", rep.msg);
    /* It runs, then fails: the charge stays. */
    mpcd_jobs_lock(jobs);
    mpcd_job *job = mpcd_jobs_find(jobs, k2);
    ck_assert_ptr_nonnull(job);
    ck_assert(job->dp_eps == 2);
    ck_assert_msg(strstr(job->dp_note, ": 1 of 3 left in total"), "%s", job->dp_note);
    job->state = MPCD_JOB_RUNNING;
    mpcd_ledger_commit(l, k2);
    mpcd_job_fail(job, "a peer went away");
    mpcd_jobs_unlock(jobs);
    s_req(jobs, MPC_CW_SUBMIT, k3, dp, n, &rep);
    ck_assert_int_eq(rep.type, MPC_CW_ERROR);
    ck_assert_msg(strstr(rep.msg, "1 of 3 left"), "%s", rep.msg);
    /* An output that is not DP under a budget: refused by name, nothing charged. */
    s_req(jobs, MPC_CW_SUBMIT, k4, raw, nraw, &rep);
    ck_assert_int_eq(rep.type, MPC_CW_ERROR);
    ck_assert_msg(strstr(rep.msg, "admits only differentially private outputs: output 'total' is not"), "%s", rep.msg);
    /* No budget configured: unlimited, and non-DP outputs are admitted. */
    s_config(0);
    s_req(jobs, MPC_CW_SUBMIT, k4, raw, nraw, &rep);
    ck_assert_msg(rep.type == MPC_CW_SUBMIT_OK, "%s", rep.msg);
    s_req(jobs, MPC_CW_SUBMIT, k3, dp, n, &rep);
    ck_assert_msg(rep.type == MPC_CW_SUBMIT_OK, "%s", rep.msg);
    /* A budget but no ledger (no state_dir): refused. */
    mpcd_ledger_set_global(NULL);
    s_config(3);
    uint8_t k5[16];
    randombytes_buf(k5, 16);
    s_req(jobs, MPC_CW_SUBMIT, k5, dp, n, &rep);
    ck_assert_int_eq(rep.type, MPC_CW_ERROR);
    ck_assert_msg(strstr(rep.msg, "keeps no ledger (dp_budget needs state_dir)"), "%s", rep.msg);
    mpcd_jobs_destroy(&jobs);
    free(dp);
    free(raw);
    mpcd_ledger_close(&l);
}
END_TEST

/* The budgets a job is charged against: its program's (the party default here) and each
 * distinct dataset it reads that has one, once. */
START_TEST(test_budgets_of_a_job)
{
    static const char src[] = "party a, b\nparam N = 4\n"
        "input t: table(age: int in 0..120)[N] from a dataset \"ages\"\n"
        "input t2: table(age: int in 0..120)[N] from b dataset \"ages\"\n"
        "input u: table(age: int in 0..120)[N] from b dataset \"other\"\n"
        "output c = dp_count(concat(t.age, t2.age, u.age) >= 18, 1.0) to a, b\n";
    mpc_circuit *c = NULL;
    mpc_diag d;
    ck_assert_int_eq(mpc_compile(src, strlen(src), "p.mpc", NULL, 0, &c, &d), 0);
    mpc_diag_free(&d);
    ck_assert_ptr_nonnull(c->program);
    uint8_t hash[32];
    ck_assert_int_eq(mpc_circ_hash(c, hash), 0);
    s_config(3);
    s_cfg.n_datasets = 2;
    strcpy(s_cfg.datasets[0].name, "ages");
    s_cfg.datasets[0].dp.eps = 2.5;
    s_cfg.datasets[0].dp.period = MPCD_DP_PERIOD_DAY;
    strcpy(s_cfg.datasets[1].name, "other");
    const char bind[2][MPC_NAME_MAX] = {"a", "b"};
    mpcd_budget_ask asks[MPCD_BUDGET_MAX_ASKS];
    uint32_t n = mpcd_dp_budgets(&s_cfg, c, hash, bind, 2, asks, MPCD_BUDGET_MAX_ASKS);
    ck_assert_uint_eq(n, 2);
    ck_assert(!strncmp(asks[0].key, "program ", 8) && strlen(asks[0].key) == 8 + 64);
    ck_assert(asks[0].budget == 3 && asks[0].period == MPCD_PERIOD_TOTAL);
    ck_assert_str_eq(asks[1].key, "dataset ages");
    ck_assert(asks[1].budget == 2.5 && asks[1].period == MPCD_PERIOD_DAY);
    /* Without the party default only the dataset's budget applies. */
    s_cfg.dp.eps = 0;
    n = mpcd_dp_budgets(&s_cfg, c, hash, bind, 2, asks, MPCD_BUDGET_MAX_ASKS);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(asks[0].key, "dataset ages");
    /* A circuit hash listed with its own budget: keyed by the circuit hash. */
    s_cfg.allow_any_program = 0;
    s_cfg.n_allowed = 1;
    memcpy(s_cfg.allowed[0], hash, 32);
    s_cfg.allowed_dp[0].eps = 0.5;
    n = mpcd_dp_budgets(&s_cfg, c, hash, bind, 2, asks, MPCD_BUDGET_MAX_ASKS);
    ck_assert_uint_eq(n, 2);
    ck_assert(!strncmp(asks[0].key, "circuit ", 8) && asks[0].budget == 0.5);
    mpc_circ_destroy(&c);
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("budget");
    TCase *tc = tcase_create("ledger");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_reserve_commit_release);
    tcase_add_test(tc, test_all_or_nothing);
    tcase_add_test(tc, test_day_rollover);
    tcase_add_test(tc, test_persist_and_atomic);
    tcase_add_test(tc, test_damaged_refused);
    tcase_add_test(tc, test_admission);
    tcase_add_test(tc, test_budgets_of_a_job);
    suite_add_tcase(s, tc);
    return s;
}
