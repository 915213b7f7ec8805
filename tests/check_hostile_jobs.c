/* check_hostile_jobs.c — the job table under a stream of submissions (mpcd/jobs.c).
 * Regression: max_queued_jobs counted finished jobs too (they stay until result_ttl_s), so a
 * daemon refused every submission after max_queued_jobs jobs per TTL period ("cannot queue
 * the job") although none was waiting.  Now only unfinished jobs count, and finished ones are
 * bounded by the same number (the oldest goes first), so memory stays bounded. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"
#include "compile.h"
#include "jobs.h"
#include "mpc_err.h"

static mpc_circuit *s_circ(void)
{
    static const char *src = "party a, b\ninput x: int from a\ninput y: int from b\noutput s = x + y to a, b\n";
    mpc_circuit *c = NULL;
    mpc_diag d;
    ck_assert_int_eq(mpc_compile(src, strlen(src), "t.mpc", NULL, 0, &c, &d), 0);
    mpc_diag_free(&d);
    return c;
}

static int s_add(mpcd_jobs *j, uint8_t tag)
{
    uint8_t id[MPCD_JOB_ID_BYTES] = {tag, 0x5e, 0xc1};
    uint8_t hash[32] = {0};
    uint32_t binding[2] = {0, 1};
    mpc_circuit *c = s_circ();
    int rc = mpcd_jobs_add(j, id, "client", &c, hash, binding, 0);
    mpc_circ_destroy(&c);
    return rc;
}

static mpcd_job *s_find(mpcd_jobs *j, uint8_t tag)
{
    uint8_t id[MPCD_JOB_ID_BYTES] = {tag, 0x5e, 0xc1};
    return mpcd_jobs_find(j, id);
}

static void s_finish(mpcd_jobs *j, uint8_t tag, int failed)
{
    mpcd_jobs_lock(j);
    mpcd_job *job = s_find(j, tag);
    ck_assert_ptr_nonnull(job);
    if (failed) mpcd_job_fail(job, "test");
    else job->state = MPCD_JOB_DONE;
    mpcd_jobs_unlock(j);
}

START_TEST(test_finished_jobs_do_not_fill_the_queue)
{
    mpcd_jobs *j = mpcd_jobs_new(3);
    ck_assert_ptr_nonnull(j);
    /* Three waiting jobs fill the queue. */
    for (uint8_t t = 1; t <= 3; t++) ck_assert_int_eq(s_add(j, t), 0);
    ck_assert_int_eq(s_add(j, 4), MPC_ERR_LIMIT);
    ck_assert_int_eq(s_add(j, 1), MPC_ERR_STATE);
    /* Once they finish, new jobs are accepted (this was refused before the fix). */
    s_finish(j, 1, 0);
    s_finish(j, 2, 1);
    s_finish(j, 3, 0);
    for (uint8_t t = 4; t <= 6; t++) ck_assert_int_eq(s_add(j, t), 0);
    ck_assert_int_eq(s_add(j, 7), MPC_ERR_LIMIT);
    /* Finished jobs stay for their recipients, but never more than max with the new one:
     * adding 4 while 3 were finished made room by freeing the oldest finished job with no
     * output left to fetch: 2, which failed (1 and 3 are done, their outputs not fetched). */
    mpcd_jobs_lock(j);
    ck_assert_ptr_nonnull(s_find(j, 1));
    ck_assert_ptr_null(s_find(j, 2));
    ck_assert_ptr_nonnull(s_find(j, 3));
    s_find(j, 3)->fetched = 1;   /* a client fetched 3's outputs */
    mpcd_jobs_unlock(j);
    /* Finishing 4 and adding 7: finished are 1, 3, 4 = max; 3's outputs were fetched, so 3
     * goes, before the older 1. */
    s_finish(j, 4, 0);
    ck_assert_int_eq(s_add(j, 7), 0);
    mpcd_jobs_lock(j);
    ck_assert_ptr_null(s_find(j, 3));
    ck_assert_ptr_nonnull(s_find(j, 1));
    ck_assert_ptr_nonnull(s_find(j, 4));
    ck_assert_ptr_nonnull(s_find(j, 7));
    uint32_t counts[MPCD_JOB__COUNT];
    mpcd_jobs_count(j, counts);
    ck_assert_uint_eq(counts[MPCD_JOB_DONE] + counts[MPCD_JOB_FAILED], 2);
    ck_assert_uint_eq(counts[MPCD_JOB_QUEUED], 3);
    mpcd_jobs_unlock(j);
    /* A long stream of jobs that finish: never refused, the table never above 2 * max. */
    for (uint8_t t = 5; t <= 7; t++) s_finish(j, t, 0);
    for (unsigned t = 10; t < 250; t++) {
        ck_assert_int_eq(s_add(j, (uint8_t)t), 0);
        s_finish(j, (uint8_t)t, t % 3 == 0);
        mpcd_jobs_lock(j);
        mpcd_jobs_count(j, counts);
        uint32_t total = 0;
        for (int k = 0; k < 5; k++) total += counts[k];
        ck_assert_uint_le(total, 6);
        mpcd_jobs_unlock(j);
    }
    mpcd_jobs_destroy(&j);
    ck_assert_ptr_null(j);
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("hostile_jobs");
    TCase *tc = tcase_create("table");
    tcase_add_test(tc, test_finished_jobs_do_not_fill_the_queue);
    suite_add_tcase(s, tc);
    return s;
}

