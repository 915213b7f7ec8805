/* check_cancel.c — CANCEL (docs/daemon.md, "Cancelling a job") through mpcd_handle (handlers.h,
 * no socket): who may cancel (the submitter, a client with the `cancel` right, nobody else),
 * what a cancel does in each state (a queued job is cancelled at once and frees its place in
 * max_queued_jobs, a job the worker holds gets its flag and ends CANCELLED when the worker
 * fails it, a finished job's output shares are wiped), what RESULT and STATUS say afterwards,
 * an unknown id remembered as refused, and the wire codec of CANCEL. */
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

#define S_SUM "party a, b\ninput x: int from a\ninput y: int from b\noutput s = x + y to a, b\n"

static mpcd_config s_cfg;
static uint8_t    *s_bytes;
static size_t      s_len;

static void s_setup(uint32_t max_jobs)
{
    memset(&s_cfg, 0, sizeof s_cfg);
    strcpy(s_cfg.name, "a");
    s_cfg.n_parties = 2;
    strcpy(s_cfg.parties[0].name, "a");
    strcpy(s_cfg.parties[1].name, "b");
    s_cfg.self = 0;
    s_cfg.n_clients = 3;
    const char *names[3] = {"alice", "bob", "ops"};
    for (int i = 0; i < 3; i++) {
        strcpy(s_cfg.clients[i].name, names[i]);
        s_cfg.clients[i].may_submit = i < 2;
        s_cfg.clients[i].output_for = 3;
        s_cfg.clients[i].input_for = 3;
    }
    s_cfg.clients[2].may_cancel = 1;
    s_cfg.allow_any_program = 1;
    s_cfg.max_queued_jobs = max_jobs;
    s_cfg.max_jobs_per_client = max_jobs;
    s_cfg.max_job_bytes = (int64_t)1 << 26;
    mpc_circuit *c = NULL;
    mpc_diag d;
    ck_assert_int_eq(mpc_compile(S_SUM, strlen(S_SUM), "p.mpc", NULL, 0, &c, &d), 0);
    mpc_diag_free(&d);
    ck_assert_int_eq(mpc_circ_write(c, &s_bytes, &s_len), 0);
    mpc_circ_destroy(&c);
}

static void s_teardown(void)
{
    free(s_bytes);
    s_bytes = NULL;
}

static void s_req(mpcd_jobs *jobs, const char *client, uint8_t type, const uint8_t *id, mpc_cwire_rep *rep)
{
    mpc_cwire_req req;
    memset(&req, 0, sizeof req);
    req.type = type;
    req.rid = 7;
    memcpy(req.job, id, sizeof req.job);
    if (type == MPC_CW_SUBMIT) {
        req.n_bind = 2;
        strcpy(req.bind[0], "a");
        strcpy(req.bind[1], "b");
        req.circ = s_bytes;
        req.circ_len = s_len;
    }
    if (type == MPC_CW_RESULT) strcpy(req.name, "s");
    if (type == MPC_CW_STATUS) req.has_job = 1;
    uint64_t *share = NULL;
    mpcd_handle(&s_cfg, jobs, client, &req, NULL, 0, NULL, rep, &share);
    if (share) {
        sodium_memzero(share, rep->count * 8);
        free(share);
    }
}

START_TEST(test_rights_and_queue_place)
{
    s_setup(1);
    mpcd_jobs *jobs = mpcd_jobs_new(1);
    uint8_t j1[16], j2[16], j3[16];
    randombytes_buf(j1, 16);
    randombytes_buf(j2, 16);
    randombytes_buf(j3, 16);
    mpc_cwire_rep rep;
    s_req(jobs, "alice", MPC_CW_SUBMIT, j1, &rep);
    ck_assert_uint_eq(rep.type, MPC_CW_SUBMIT_OK);
    s_req(jobs, "bob", MPC_CW_SUBMIT, j2, &rep);   /* max_queued_jobs = 1 */
    ck_assert_uint_eq(rep.type, MPC_CW_ERROR);
    ck_assert_int_eq(rep.code, MPC_ERR_LIMIT);

    /* bob neither submitted it nor holds the cancel right */
    s_req(jobs, "bob", MPC_CW_CANCEL, j1, &rep);
    ck_assert_uint_eq(rep.type, MPC_CW_ERROR);
    ck_assert_int_eq(rep.code, MPC_ERR_DENIED);
    ck_assert_ptr_nonnull(strstr(rep.msg, "client 'bob' may not cancel a job of client 'alice'"));
    s_req(jobs, "alice", MPC_CW_STATUS, j1, &rep);
    ck_assert_uint_eq(rep.job.state, MPC_JOB_QUEUED);

    /* ops holds the right */
    s_req(jobs, "ops", MPC_CW_CANCEL, j1, &rep);
    ck_assert_uint_eq(rep.type, MPC_CW_CANCEL_OK);
    ck_assert_uint_eq(rep.rid, 7);
    s_req(jobs, "alice", MPC_CW_STATUS, j1, &rep);
    ck_assert_uint_eq(rep.type, MPC_CW_STATUS_OK);
    ck_assert_uint_eq(rep.job.state, MPC_JOB_CANCELLED);
    ck_assert_str_eq(rep.job.reason, "cancelled by client ops");
    ck_assert_uint_eq(rep.info.jobs_queued, 0);
    s_req(jobs, "alice", MPC_CW_RESULT, j1, &rep);
    ck_assert_uint_eq(rep.type, MPC_CW_ERROR);
    ck_assert_int_eq(rep.code, MPC_ERR_CANCELLED);
    ck_assert_ptr_nonnull(strstr(rep.msg, "cancelled by client ops"));
    /* a cancelled job takes no inputs and no second cancel changes it */
    s_req(jobs, "alice", MPC_CW_CANCEL, j1, &rep);
    ck_assert_uint_eq(rep.type, MPC_CW_CANCEL_OK);
    s_req(jobs, "alice", MPC_CW_STATUS, j1, &rep);
    ck_assert_str_eq(rep.job.reason, "cancelled by client ops");

    /* its place in max_queued_jobs is free again */
    s_req(jobs, "bob", MPC_CW_SUBMIT, j2, &rep);
    ck_assert_uint_eq(rep.type, MPC_CW_SUBMIT_OK);
    /* the submitter may cancel its own job without the right */
    s_req(jobs, "bob", MPC_CW_CANCEL, j2, &rep);
    ck_assert_uint_eq(rep.type, MPC_CW_CANCEL_OK);

    /* an unknown id: not found, and remembered so a RUN for it fails at once here */
    s_req(jobs, "ops", MPC_CW_CANCEL, j3, &rep);
    ck_assert_uint_eq(rep.type, MPC_CW_ERROR);
    ck_assert_int_eq(rep.code, MPC_ERR_NOTFOUND);
    mpcd_jobs_lock(jobs);
    ck_assert_int_eq(mpcd_jobs_was_refused(jobs, j3), 1);
    mpcd_jobs_unlock(jobs);
    mpcd_jobs_destroy(&jobs);
    s_teardown();
}
END_TEST

START_TEST(test_states)
{
    s_setup(10);
    mpcd_jobs *jobs = mpcd_jobs_new(10);
    uint8_t j1[16], j2[16];
    randombytes_buf(j1, 16);
    randombytes_buf(j2, 16);
    mpc_cwire_rep rep;
    s_req(jobs, "alice", MPC_CW_SUBMIT, j1, &rep);
    ck_assert_uint_eq(rep.type, MPC_CW_SUBMIT_OK);
    s_req(jobs, "alice", MPC_CW_SUBMIT, j2, &rep);
    ck_assert_uint_eq(rep.type, MPC_CW_SUBMIT_OK);

    /* j1 held by the worker (waiting for inputs): flagged, ends CANCELLED when failed */
    mpcd_jobs_lock(jobs);
    mpcd_job *job = mpcd_jobs_find(jobs, j1);
    job->sequenced = 1;
    job->state = MPCD_JOB_WAITING;
    mpcd_jobs_unlock(jobs);
    s_req(jobs, "alice", MPC_CW_CANCEL, j1, &rep);
    ck_assert_uint_eq(rep.type, MPC_CW_CANCEL_OK);
    mpcd_jobs_lock(jobs);
    ck_assert_int_eq(job->state, MPCD_JOB_WAITING);   /* the worker's to end */
    ck_assert_int_eq(atomic_load(&job->cancel), 1);
    mpcd_job_fail(job, "the job was cancelled here");
    ck_assert_int_eq(job->state, MPCD_JOB_CANCELLED);
    ck_assert_str_eq(job->reason, "cancelled by client alice");
    mpcd_jobs_unlock(jobs);

    /* j2 finished with outputs: they are wiped */
    mpcd_jobs_lock(jobs);
    job = mpcd_jobs_find(jobs, j2);
    job->sequenced = 1;
    job->state = MPCD_JOB_DONE;
    job->out_shares = calloc(1, sizeof *job->out_shares);
    job->out_shares[0] = calloc(1, sizeof(uint64_t));
    job->out_shares[0][0] = 42;
    mpcd_jobs_unlock(jobs);
    s_req(jobs, "alice", MPC_CW_RESULT, j2, &rep);
    ck_assert_uint_eq(rep.type, MPC_CW_RESULT_OK);
    ck_assert_uint_eq(rep.ready, 1);
    s_req(jobs, "ops", MPC_CW_CANCEL, j2, &rep);
    ck_assert_uint_eq(rep.type, MPC_CW_CANCEL_OK);
    mpcd_jobs_lock(jobs);
    ck_assert_int_eq(job->state, MPCD_JOB_CANCELLED);
    ck_assert_ptr_null(job->out_shares);
    uint32_t counts[MPCD_JOB__COUNT];
    mpcd_jobs_count(jobs, counts);
    ck_assert_uint_eq(counts[MPCD_JOB_CANCELLED], 2);
    mpcd_jobs_unlock(jobs);
    s_req(jobs, "alice", MPC_CW_RESULT, j2, &rep);
    ck_assert_uint_eq(rep.type, MPC_CW_ERROR);
    ck_assert_int_eq(rep.code, MPC_ERR_CANCELLED);
    /* cancelled jobs expire like finished ones */
    ck_assert_uint_eq(mpcd_jobs_expire(jobs, time(NULL) + 100, 10), 2);
    mpcd_jobs_destroy(&jobs);
    s_teardown();
}
END_TEST

START_TEST(test_wire)
{
    mpc_cwire_req q, back;
    memset(&q, 0, sizeof q);
    q.type = MPC_CW_CANCEL;
    q.rid = 99;
    randombytes_buf(q.job, sizeof q.job);
    uint8_t *buf = NULL;
    size_t len = 0;
    char err[200];
    ck_assert_int_eq(mpc_cwire_req_encode(&q, &buf, &len), 0);
    ck_assert_int_eq(mpc_cwire_req_decode(buf, len, 0, 0, &back, err, sizeof err), 0);
    ck_assert_uint_eq(back.type, MPC_CW_CANCEL);
    ck_assert_uint_eq(back.rid, 99);
    ck_assert_mem_eq(back.job, q.job, sizeof q.job);
    /* a payload frame after a CANCEL is refused */
    ck_assert_int_eq(mpc_cwire_req_decode(buf, len, 1, 8, &back, err, sizeof err), MPC_ERR_PROTOCOL);
    /* truncated: the job id cut short */
    ck_assert_int_eq(mpc_cwire_req_decode(buf, len - 1, 0, 0, &back, err, sizeof err), MPC_ERR_PROTOCOL);
    free(buf);
    mpc_cwire_rep r, rback;
    memset(&r, 0, sizeof r);
    r.type = MPC_CW_CANCEL_OK;
    r.rid = 5;
    ck_assert_int_eq(mpc_cwire_rep_encode(&r, &buf, &len), 0);
    ck_assert_int_eq(mpc_cwire_rep_decode(buf, len, 0, 0, &rback, err, sizeof err), 0);
    ck_assert_uint_eq(rback.type, MPC_CW_CANCEL_OK);
    ck_assert_uint_eq(rback.rid, 5);
    free(buf);
    ck_assert_str_eq(mpc_job_state_name(MPC_JOB_CANCELLED), "cancelled");
    ck_assert_str_eq(mpc_strerror(MPC_ERR_CANCELLED), "cancelled");
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("cancel");
    TCase *tc = tcase_create("cancel");
    tcase_add_test(tc, test_rights_and_queue_place);
    tcase_add_test(tc, test_states);
    tcase_add_test(tc, test_wire);
    suite_add_tcase(s, tc);
    return s;
}
