/* check_join_job.c — the daemon's side of a join's key columns (mpcd/join_job.h): a KEYS
 * request is taken only at the daemon of the table's own party, from a client with the right
 * to give that party's inputs, with the table's row count, well-formed offsets and canonical
 * keys, once; every refusal names the column, never a key; the job is ready only once its
 * key columns are here, and its join outputs are never waited for; wiping frees them. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"
#include "diag.h"
#include "join_job.h"
#include "joindecl.h"
#include "mpc_err.h"
#include "runner.h"

static const char s_src[] =
    "party a, b, c\n"
    "input labs: table(patient_id: key, glucose: int in 0..1000)[3] from a\n"
    "input claims: table(patient_id: key, cost: int in 0..1000)[2] from b\n"
    "let j = join(labs, claims, on patient_id)\n"
    "output n = count(j), s = sum(j.cost) to a, b, c\n";

typedef struct {
    mpcd_config     cfg;
    mpcd_client_conf cl_a, cl_b;
    mpcd_job        job;
    char            err[512];
} fixture;

static fixture *s_fix(uint32_t me)
{
    fixture *f = calloc(1, sizeof *f);
    ck_assert_ptr_nonnull(f);
    mpc_diag d;
    mpc_diag_init(&d, "j.mpc", s_src, sizeof s_src - 1);
    ck_assert_int_eq(mpc_compile(s_src, sizeof s_src - 1, "j.mpc", NULL, 0, &f->job.circ, &d), 0);
    mpc_diag_free(&d);
    ck_assert_uint_eq(f->job.circ->n_joins, 1);
    strcpy(f->cfg.name, me == 0 ? "pa" : me == 1 ? "pb" : "pc");
    f->cfg.n_parties = 3;
    strcpy(f->cfg.parties[0].name, "pa");
    strcpy(f->cfg.parties[1].name, "pb");
    strcpy(f->cfg.parties[2].name, "pc");
    strcpy(f->cl_a.name, "clinic");
    f->cl_a.input_for = 1u << 0;
    strcpy(f->cl_b.name, "insurer");
    f->cl_b.input_for = 1u << 1;
    for (uint32_t i = 0; i < 3; i++) f->job.binding[i] = i;
    f->job.my_party = me;
    f->job.state = MPCD_JOB_QUEUED;
    f->job.inputs = calloc(f->job.circ->n_inputs, sizeof *f->job.inputs);
    ck_assert_ptr_nonnull(f->job.inputs);
    return f;
}

static void s_fix_free(fixture *f)
{
    mpcd_join_wipe(&f->job);
    ck_assert_ptr_null(f->job.join);
    free(f->job.inputs);
    mpc_circ_destroy(&f->job.circ);
    free(f);
}

/* A KEYS request for `name` with the keys given (NUL-separated in text), payload built as
 * the SDK builds it; *payload is malloc'ed. */
static mpc_cwire_req s_req(const char *name, const char *const *keys, uint64_t n, uint8_t **payload, size_t *plen)
{
    mpc_cwire_req q;
    memset(&q, 0, sizeof q);
    q.type = MPC_CW_KEYS;
    snprintf(q.name, sizeof q.name, "%s", name);
    q.count = n;
    uint64_t total = 0;
    for (uint64_t i = 0; i < n; i++) total += strlen(keys[i]);
    q.key_bytes = total;
    *plen = (size_t)(n + 1) * 8 + (size_t)total;
    *payload = malloc(*plen);
    ck_assert_ptr_nonnull(*payload);
    uint64_t off = 0;
    for (uint64_t i = 0; i < n; i++) {
        memcpy(*payload + (i + 1) * 8 - 8, &off, 8);
        memcpy(*payload + (n + 1) * 8 + off, keys[i], strlen(keys[i]));
        off += strlen(keys[i]);
    }
    memcpy(*payload + n * 8, &off, 8);
    return q;
}

static int s_put(fixture *f, const mpcd_client_conf *cl, const char *name, const char *const *keys, uint64_t n)
{
    uint8_t *p;
    size_t pl;
    mpc_cwire_req q = s_req(name, keys, n, &p, &pl);
    f->err[0] = 0;
    int r = mpcd_join_keys_put(&f->cfg, &f->job, cl, &q, p, pl, f->err, sizeof f->err);
    free(p);
    return r;
}

static const char *const s_labs[] = {"P-001", "P-002", "Zoë 7"};
static const char *const s_claims[] = {"P-002", "Q9"};

START_TEST(test_keys_accepted_and_ready)
{
    fixture *f = s_fix(0);
    uint32_t missing = 0;
    /* the join outputs are never waited for; the key column is */
    for (uint32_t k = 0; k < f->job.circ->n_inputs; k++)
        if (!mpc_join_input_of(f->job.circ->inputs[k].name)) f->job.inputs[k].present = 1;
    ck_assert_int_eq(mpcd_job_inputs_ready(&f->job, &missing), 0);
    char buf[128];
    ck_assert_str_eq(mpcd_join_missing_name(&f->job, missing, buf, sizeof buf), "labs.patient_id (key column)");
    ck_assert_int_eq(s_put(f, &f->cl_a, "labs.patient_id", s_labs, 3), 0);
    ck_assert_int_eq(mpcd_job_inputs_ready(&f->job, &missing), 1);
    /* given once */
    ck_assert_int_eq(s_put(f, &f->cl_a, "labs.patient_id", s_labs, 3), MPC_ERR_STATE);
    ck_assert_ptr_nonnull(strstr(f->err, "already given"));
    s_fix_free(f);
    /* a third party holds no key column and waits for none */
    f = s_fix(2);
    for (uint32_t k = 0; k < f->job.circ->n_inputs; k++)
        if (!mpc_join_input_of(f->job.circ->inputs[k].name)) f->job.inputs[k].present = 1;
    ck_assert_int_eq(mpcd_job_inputs_ready(&f->job, &missing), 1);
    ck_assert_int_eq(s_put(f, &f->cl_a, "labs.patient_id", s_labs, 3), MPC_ERR_DENIED);
    ck_assert_ptr_nonnull(strstr(f->err, "goes to the daemon of party pa only"));
    s_fix_free(f);
}
END_TEST

START_TEST(test_keys_refused)
{
    fixture *f = s_fix(0);
    /* another party's column, at this daemon */
    ck_assert_int_eq(s_put(f, &f->cl_b, "claims.patient_id", s_claims, 2), MPC_ERR_DENIED);
    ck_assert_ptr_nonnull(strstr(f->err, "party pb only"));
    /* a client without the right for party a */
    ck_assert_int_eq(s_put(f, &f->cl_b, "labs.patient_id", s_labs, 3), MPC_ERR_DENIED);
    ck_assert_ptr_nonnull(strstr(f->err, "client 'insurer' may not give input for party pa"));
    /* no such join column; not TABLE.KEY */
    ck_assert_int_eq(s_put(f, &f->cl_a, "labs.glucose", s_labs, 3), MPC_ERR_NOTFOUND);
    ck_assert_int_eq(s_put(f, &f->cl_a, "labs", s_labs, 3), MPC_ERR_INVALID);
    /* the table's row count */
    ck_assert_int_eq(s_put(f, &f->cl_a, "labs.patient_id", s_labs, 2), MPC_ERR_INPUT);
    ck_assert_ptr_nonnull(strstr(f->err, "has 2 rows, the program's table has 3"));
    /* keys not canonical: blanks around, a control character; never quoted */
    static const char *const blank[] = {"P-001", " P-002", "P-003"};
    ck_assert_int_eq(s_put(f, &f->cl_a, "labs.patient_id", blank, 3), MPC_ERR_INPUT);
    ck_assert_ptr_nonnull(strstr(f->err, "row 2 is not a canonical key"));
    ck_assert_ptr_null(strstr(f->err, "P-002"));
    static const char *const ctl[] = {"P-001", "P-002", "P\x01"};
    ck_assert_int_eq(s_put(f, &f->cl_a, "labs.patient_id", ctl, 3), MPC_ERR_INPUT);
    ck_assert_ptr_nonnull(strstr(f->err, "row 3"));
    /* offsets that do not span the bytes, go backwards, or leave a key empty */
    uint8_t *p;
    size_t pl;
    mpc_cwire_req q = s_req("labs.patient_id", s_labs, 3, &p, &pl);
    uint64_t o;
    memcpy(&o, p + 8, 8);
    uint64_t bad = o + 100;
    memcpy(p + 8, &bad, 8);
    ck_assert_int_eq(mpcd_join_keys_put(&f->cfg, &f->job, &f->cl_a, &q, p, pl, f->err, sizeof f->err), MPC_ERR_INPUT);
    bad = 0;
    memcpy(p + 8, &bad, 8);
    ck_assert_int_eq(mpcd_join_keys_put(&f->cfg, &f->job, &f->cl_a, &q, p, pl, f->err, sizeof f->err), MPC_ERR_INPUT);
    ck_assert_ptr_nonnull(strstr(f->err, "row 1 has no key"));
    memcpy(p + 8, &o, 8);
    bad = 1;
    memcpy(p, &bad, 8);
    ck_assert_int_eq(mpcd_join_keys_put(&f->cfg, &f->job, &f->cl_a, &q, p, pl, f->err, sizeof f->err), MPC_ERR_INPUT);
    memset(p, 0, 8);
    /* a payload of another length than the header's */
    ck_assert_int_eq(mpcd_join_keys_put(&f->cfg, &f->job, &f->cl_a, &q, p, pl - 1, f->err, sizeof f->err),
                     MPC_ERR_PROTOCOL);
    /* a job that runs already */
    f->job.state = MPCD_JOB_RUNNING;
    ck_assert_int_eq(mpcd_join_keys_put(&f->cfg, &f->job, &f->cl_a, &q, p, pl, f->err, sizeof f->err), MPC_ERR_STATE);
    f->job.state = MPCD_JOB_WAITING;
    /* and after all that, the right request is taken */
    ck_assert_int_eq(mpcd_join_keys_put(&f->cfg, &f->job, &f->cl_a, &q, p, pl, f->err, sizeof f->err), 0);
    free(p);
    s_fix_free(f);
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("join_job");
    TCase *tc = tcase_create("keys");
    tcase_add_test(tc, test_keys_accepted_and_ready);
    tcase_add_test(tc, test_keys_refused);
    suite_add_tcase(s, tc);
    return s;
}
