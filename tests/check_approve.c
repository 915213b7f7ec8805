/* check_approve.c — approval by program (circuits/program.h, mpcd/approve.h): the program
 * hash ignores formatting, comments, file names and param values but nothing else; a
 * compiled circuit carries its program and params (format field 11) and recompiling them
 * gives the same circuit, with and without pushdown; the reader refuses a hostile program
 * field; and a daemon (mpcd_handle, no socket) admits a circuit by its program only at
 * admitted params and for an admitted binding, refuses one whose IR is not the program it
 * claims, and still admits listed circuit hashes under any binding. */
#include <check.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"
#include "approve.h"
#include "compile.h"
#include "config.h"
#include "cwire.h"
#include "format.h"
#include "handlers.h"
#include "jobs.h"
#include "mpc_err.h"
#include "program.h"

#define S_JS "# joint statistics\nparty a, b, c\nparam N = 1000\n" \
             "input xa: fix[N] from a in 0..1000\ninput xb: fix[N] from b in 0..1000\n" \
             "input xc: fix[N] from c in 0..1000\nlet n = 3 * N\n" \
             "let s = sum(xa) + sum(xb) + sum(xc)\nlet sq = dot(xa, xa) + dot(xb, xb) + dot(xc, xc)\n" \
             "let mean = s / n\nlet var = sq / n - mean * mean\noutput mean, var to a, b, c\n"
/* The same program: other blanks, comments, default value and line breaks. */
#define S_JS2 "party a,b,c param N=7 # other default\n" \
              "input xa :fix[ N ] from a in 0..1000   input xb: fix[N] from b in 0..1000\n" \
              "input xc: fix[N] from c in 0..1000\n\n\tlet n = 3*N let s = sum(xa)+sum(xb)+sum(xc)\n" \
              "let sq = dot(xa,xa) + dot(xb,xb) + dot(xc,xc) let mean = s/n\n" \
              "let var = sq/n - mean*mean\noutput mean, var to a, b, c"
/* A different program: the variance without the mean's square. */
#define S_JS3 "party a, b, c\nparam N = 1000\n" \
              "input xa: fix[N] from a in 0..1000\ninput xb: fix[N] from b in 0..1000\n" \
              "input xc: fix[N] from c in 0..1000\nlet n = 3 * N\n" \
              "let s = sum(xa) + sum(xb) + sum(xc)\nlet sq = dot(xa, xa) + dot(xb, xb) + dot(xc, xc)\n" \
              "let mean = s / n\nlet var = sq / n - mean\noutput mean, var to a, b, c\n"

static void s_canon(const char *src, mpc_program_canon *pc)
{
    mpc_diag d;
    mpc_diag_init(&d, "x.mpc", src, strlen(src));
    ck_assert_int_eq(mpc_program_canonicalize(src, strlen(src), &d, pc), 0);
    mpc_diag_free(&d);
}

static mpc_circuit *s_compile(const char *src, const char *file, const char *n_value, unsigned flags)
{
    mpc_define def = {"N", n_value};
    mpc_circuit *c = NULL;
    mpc_diag d;
    int rc = mpc_compile_ex(src, strlen(src), file, &def, n_value ? 1 : 0, flags, &c, &d);
    ck_assert_msg(rc == 0, "%s", d.n_items ? d.items[0].msg : "?");
    mpc_diag_free(&d);
    return c;
}

START_TEST(test_program_hash)
{
    mpc_program_canon a, b, c;
    s_canon(S_JS, &a);
    s_canon(S_JS2, &b);
    s_canon(S_JS3, &c);
    ck_assert(memcmp(a.hash, b.hash, 32) == 0);          /* formatting, comments, default */
    ck_assert(memcmp(a.hash, c.hash, 32) != 0);          /* another program */
    ck_assert_uint_eq(a.n_params, 1);
    ck_assert_str_eq(a.params[0], "N");
    ck_assert_uint_eq(a.n_parties, 3);
    ck_assert_str_eq(a.parties[2], "c");
    ck_assert_ptr_null(strchr(a.text, '#'));
    ck_assert_ptr_nonnull(strstr(a.text, "party a , b , c param N = 1000 input xa : fix [ N ]"));
    ck_assert_ptr_nonnull(strstr(b.text, "param N = 7 input xa"));
    mpc_program_canon_free(&b);
    /* A param renamed, or an expression as a value: other programs; the value of an
     * expression is left out as a whole. */
    s_canon("party a, b\nparam M = 3\ninput x: int from a\noutput y = x * M to b\n", &b);
    mpc_program_canon_free(&c);
    s_canon("party a, b\nparam N = 3\ninput x: int from a\noutput y = x * N to b\n", &c);
    ck_assert(memcmp(b.hash, c.hash, 32) != 0);
    mpc_program_canon_free(&b);
    s_canon("party a, b\nparam N = (1 + 2) * 4\ninput x: int from a\noutput y = x * N to b\n", &b);
    ck_assert(memcmp(b.hash, c.hash, 32) == 0);
    mpc_program_canon_free(&a);
    mpc_program_canon_free(&b);
    mpc_program_canon_free(&c);
}
END_TEST

/* The circuit carries the program; the file name and formatting do not matter; recompiling
 * gives the same circuit hash, with and without pushdown. */
START_TEST(test_carried_program_recompiles)
{
    for (int pd = 0; pd < 2; pd++) {
        unsigned fl = pd ? MPC_COMPILE_PUSHDOWN : 0;
        mpc_circuit *c1 = s_compile(S_JS, "one.mpc", "2000", fl);
        mpc_circuit *c2 = s_compile(S_JS2, "dir/two.mpc", "2000", fl);
        ck_assert_ptr_nonnull(c1->program);
        ck_assert_int_eq(c1->program->pushdown, pd);
        ck_assert_uint_eq(c1->program->n_params, 1);
        ck_assert_str_eq(c1->program->params[0].value, "2000");
        uint8_t h1[32], h2[32], r[32];
        ck_assert_int_eq(mpc_circ_hash(c1, h1), 0);
        ck_assert_int_eq(mpc_circ_hash(c2, h2), 0);
        ck_assert(memcmp(h1, h2, 32) == 0);
        char err[400];
        ck_assert_msg(mpc_program_recompile(c2->program, NULL, r, err, sizeof err) == 0, "%s", err);
        ck_assert(memcmp(r, h1, 32) == 0);
        mpc_program_canon pc, pj;
        ck_assert_msg(mpc_program_identify(c2->program, &pc, err, sizeof err) == 0, "%s", err);
        s_canon(S_JS, &pj);
        ck_assert(memcmp(pc.hash, pj.hash, 32) == 0);
        mpc_program_canon_free(&pc);
        mpc_program_canon_free(&pj);
        /* Through the file: the program survives a write and a read; the hash is as before. */
        uint8_t *b;
        size_t n;
        ck_assert_int_eq(mpc_circ_write(c1, &b, &n), 0);
        mpc_circuit *d = NULL;
        ck_assert_msg(mpc_circ_read(b, n, NULL, &d, err, sizeof err) == 0, "%s", err);
        ck_assert_ptr_nonnull(d->program);
        ck_assert_str_eq(d->program->text, c1->program->text);
        ck_assert_str_eq(d->program->params[0].name, "N");
        ck_assert_int_eq(d->program->pushdown, pd);
        ck_assert_int_eq(mpc_circ_hash(d, r), 0);
        ck_assert(memcmp(r, h1, 32) == 0);
        /* The hash leaves the program out: without it, the same hash. */
        mpc_program_free(&d->program);
        ck_assert_int_eq(mpc_circ_hash(d, r), 0);
        ck_assert(memcmp(r, h1, 32) == 0);
        free(b);
        mpc_circ_destroy(&d);
        mpc_circ_destroy(&c1);
        mpc_circ_destroy(&c2);
    }
}
END_TEST

/* fix and bool params are stated exactly in -D syntax. */
START_TEST(test_param_render)
{
    char buf[MPC_PARAM_VALUE_MAX];
    ck_assert_int_eq(mpc_param_render(MPC_T_INT, (uint64_t)-12, 16, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "-12");
    ck_assert_int_eq(mpc_param_render(MPC_T_BOOL, 1, 16, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "true");
    ck_assert_int_eq(mpc_param_render(MPC_T_FIX, 5u << 15, 16, buf, sizeof buf), 0);   /* 2.5 */
    ck_assert_str_eq(buf, "2.5");
    ck_assert_int_eq(mpc_param_render(MPC_T_FIX, 0 - (uint64_t)1, 16, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "-0.0000152587890625");
    ck_assert_int_eq(mpc_param_render(MPC_T_FIX, 3u << 16, 16, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "3.0");
    /* A program with fix and bool params recompiles from what it carries. */
    const char *src = "party a, b\nparam S = 0.1\nparam T = true\nparam K = -4\ninput x: fix from a in 0..10\n"
                      "output y = (T ? x * S : x) + K to b\n";
    mpc_circuit *c = NULL;
    mpc_diag d;
    ck_assert_int_eq(mpc_compile(src, strlen(src), "p.mpc", NULL, 0, &c, &d), 0);
    mpc_diag_free(&d);
    ck_assert_ptr_nonnull(c->program);
    ck_assert_uint_eq(c->program->n_params, 3);
    ck_assert_str_eq(c->program->params[0].value, "0.100006103515625");
    ck_assert_str_eq(c->program->params[1].value, "true");
    ck_assert_str_eq(c->program->params[2].value, "-4");
    uint8_t h[32], r[32];
    char err[400];
    ck_assert_int_eq(mpc_circ_hash(c, h), 0);
    ck_assert_msg(mpc_program_recompile(c->program, NULL, r, err, sizeof err) == 0, "%s", err);
    ck_assert(memcmp(h, r, 32) == 0);
    mpc_circ_destroy(&c);
}
END_TEST

START_TEST(test_constraints)
{
    mpc_param_constraint k;
    char err[200], buf[64];
    ck_assert_int_eq(mpc_param_constraint_parse("1..10000000", &k, err, sizeof err), 0);
    ck_assert(mpc_param_constraint_admits(&k, "1"));
    ck_assert(mpc_param_constraint_admits(&k, "10000000"));
    ck_assert(!mpc_param_constraint_admits(&k, "10000001"));
    ck_assert(!mpc_param_constraint_admits(&k, "0"));
    ck_assert(!mpc_param_constraint_admits(&k, "-5"));
    ck_assert(!mpc_param_constraint_admits(&k, "5.0"));
    ck_assert(!mpc_param_constraint_admits(&k, "true"));
    ck_assert(!mpc_param_constraint_admits(&k, "99999999999999999999"));
    mpc_param_constraint_format(&k, buf, sizeof buf);
    ck_assert_str_eq(buf, "1..10000000");
    ck_assert_int_eq(mpc_param_constraint_parse("-3", &k, err, sizeof err), 0);
    ck_assert(mpc_param_constraint_admits(&k, "-3") && !mpc_param_constraint_admits(&k, "3"));
    ck_assert_int_eq(mpc_param_constraint_parse("02.50", &k, err, sizeof err), 0);
    ck_assert_str_eq(k.value, "2.5");
    ck_assert(mpc_param_constraint_admits(&k, "2.5") && !mpc_param_constraint_admits(&k, "2.6"));
    ck_assert_int_eq(mpc_param_constraint_parse("true", &k, err, sizeof err), 0);
    ck_assert(mpc_param_constraint_admits(&k, "true") && !mpc_param_constraint_admits(&k, "false"));
    ck_assert_int_eq(mpc_param_constraint_parse("3..1", &k, err, sizeof err), -1);
    ck_assert_int_eq(mpc_param_constraint_parse("1..", &k, err, sizeof err), -1);
    ck_assert_int_eq(mpc_param_constraint_parse("x", &k, err, sizeof err), -1);
    ck_assert_int_eq(mpc_param_constraint_parse("", &k, err, sizeof err), -1);
    ck_assert_int_eq(mpc_param_constraint_parse("9223372036854775808", &k, err, sizeof err), -1);
}
END_TEST

/* Hostile program fields: each is refused by the reader with a message. */
START_TEST(test_hostile_program_field)
{
    mpc_circuit *c = s_compile(S_JS, "js.mpc", "10", 0);
    char err[400];
    const struct { const char *text; const char *name, *value; const char *want; } bad[] = {
        {"party a\x01", "N", "10", "program text contains byte 0x01"},
        {"", "N", "10", "program text has 0 bytes"},
        {NULL, "-N", "10", "is not a valid name"},
        {NULL, "N", "10;", "has a character -D values do not use"},
        {NULL, "N", "", "has length 0"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mpc_program *p = mpc_program_dup(c->program);
        ck_assert_ptr_nonnull(p);
        if (bad[i].text) {
            free(p->text);
            p->text = strdup(bad[i].text);
            p->text_len = strlen(bad[i].text);
        }
        snprintf(p->params[0].name, sizeof p->params[0].name, "%s", bad[i].name);
        snprintf(p->params[0].value, sizeof p->params[0].value, "%s", bad[i].value);
        mpc_program *keep = c->program;
        c->program = p;
        uint8_t *b;
        size_t n;
        ck_assert_int_eq(mpc_circ_write(c, &b, &n), 0);
        c->program = keep;
        mpc_program_free(&p);
        mpc_circuit *d = NULL;
        ck_assert_int_eq(mpc_circ_read(b, n, NULL, &d, err, sizeof err), -1);
        ck_assert_msg(strstr(err, bad[i].want) != NULL, "%zu: %s", i, err);
        ck_assert_ptr_null(d);
        free(b);
    }
    /* A param given twice, and a wrong pushdown type, built by hand at the tail. */
    uint8_t *b;
    size_t n;
    ck_assert_int_eq(mpc_circ_write(c, &b, &n), 0);
    ck_assert_uint_eq(b[n - 1], 0xc2);                   /* pushdown false */
    b[n - 1] = 0x01;
    mpc_circuit *d = NULL;
    ck_assert_int_eq(mpc_circ_read(b, n, NULL, &d, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "pushdown flag is not a bool"));
    free(b);
    /* Stated params that are not the program's are refused when identified. */
    mpc_program *p = mpc_program_dup(c->program);
    snprintf(p->params[0].name, sizeof p->params[0].name, "M");
    mpc_program_canon pc;
    ck_assert_int_eq(mpc_program_identify(p, &pc, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "param 1 of the program it carries is 'N', not 'M'"));
    mpc_program_canon_free(&pc);
    p->n_params = 0;
    ck_assert_int_eq(mpc_program_identify(p, &pc, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "states 0 param values but the program it carries has 1"));
    mpc_program_canon_free(&pc);
    mpc_program_free(&p);
    mpc_circ_destroy(&c);
}
END_TEST

/* ---- admission through the handler ---------------------------------------------------- */

static mpcd_config *s_cfg;

static void s_config(void)
{
    memset(s_cfg, 0, sizeof *s_cfg);
    strcpy(s_cfg->name, "a");
    strcpy(s_cfg->path, "party-a.ini");
    s_cfg->n_parties = 3;
    strcpy(s_cfg->parties[0].name, "a");
    strcpy(s_cfg->parties[1].name, "b");
    strcpy(s_cfg->parties[2].name, "c");
    s_cfg->self = 0;
    s_cfg->n_clients = 1;
    strcpy(s_cfg->clients[0].name, "analyst");
    s_cfg->clients[0].may_submit = 1;
    s_cfg->max_queued_jobs = 10;
    s_cfg->max_jobs_per_client = 10;
    s_cfg->max_job_bytes = (int64_t)1 << 40;
    s_cfg->max_gates = 1 << 20;
    s_cfg->max_vector = (int64_t)1 << 32;
    s_cfg->max_total_elements = (int64_t)1 << 36;
}

/* allow = HASH(S_JS) N=lo..hi parties=... */
static void s_approve(int64_t lo, int64_t hi, const char *p0, const char *p1, const char *p2)
{
    mpc_program_canon pc;
    s_canon(S_JS, &pc);
    mpcd_approval *a = &s_cfg->approvals[s_cfg->n_approvals++];
    memset(a, 0, sizeof *a);
    memcpy(a->hash, pc.hash, 32);
    mpc_program_canon_free(&pc);
    a->n_params = 1;
    strcpy(a->param_names[0], "N");
    a->params[0].range = 1;
    a->params[0].lo = lo;
    a->params[0].hi = hi;
    a->n_parties = 3;
    strcpy(a->parties[0], p0);
    strcpy(a->parties[1], p1);
    strcpy(a->parties[2], p2);
    a->line = 7;
}

static void s_submit(const mpc_circuit *c, const char *b0, const char *b1, const char *b2, mpc_cwire_rep *rep)
{
    uint8_t *buf;
    size_t n;
    ck_assert_int_eq(mpc_circ_write(c, &buf, &n), 0);
    mpcd_jobs *jobs = mpcd_jobs_new(100);
    mpc_cwire_req req;
    memset(&req, 0, sizeof req);
    req.type = MPC_CW_SUBMIT;
    req.rid = 1;
    randombytes_buf(req.job, sizeof req.job);
    req.n_bind = 3;
    strcpy(req.bind[0], b0);
    strcpy(req.bind[1], b1);
    strcpy(req.bind[2], b2);
    req.circ = buf;
    req.circ_len = n;
    uint64_t *share = NULL;
    memset(rep, 0, sizeof *rep);
    mpcd_handle(s_cfg, jobs, "analyst", &req, NULL, 0, NULL, rep, &share);
    ck_assert_ptr_null(share);
    mpcd_jobs_destroy(&jobs);
    free(buf);
}

static void s_refused(const mpc_cwire_rep *rep, int code, const char *want)
{
    ck_assert_int_eq(rep->type, MPC_CW_ERROR);
    ck_assert_msg(rep->code == code, "code %d: %s", rep->code, rep->msg);
    ck_assert_msg(strstr(rep->msg, want) != NULL, "got '%s', want '%s'", rep->msg, want);
    ck_assert_ptr_nonnull(strstr(rep->msg, "party a, job "));
    ck_assert_ptr_null(strchr(rep->msg, '\n'));
}

START_TEST(test_admission)
{
    ck_assert_int_ge(sodium_init(), 0);
    s_cfg = calloc(1, sizeof *s_cfg);
    s_config();
    s_approve(1, 10000000, "a", "b", "c");
    mpc_cwire_rep rep;
    /* In range, both with and without pushdown, from a differently formatted file. */
    mpc_circuit *c = s_compile(S_JS2, "mine.mpc", "1000", MPC_COMPILE_PUSHDOWN);
    s_submit(c, "a", "b", "c", &rep);
    ck_assert_msg(rep.type == MPC_CW_SUBMIT_OK, "%s", rep.msg);
    uint64_t before = mpcd_admit_recompiles();
    s_submit(c, "a", "b", "c", &rep);                     /* cached: no second compile */
    ck_assert_msg(rep.type == MPC_CW_SUBMIT_OK, "%s", rep.msg);
    ck_assert_uint_eq(mpcd_admit_recompiles(), before);
    mpc_circ_destroy(&c);
    c = s_compile(S_JS, "js.mpc", "100000", 0);
    s_submit(c, "a", "b", "c", &rep);
    ck_assert_msg(rep.type == MPC_CW_SUBMIT_OK, "%s", rep.msg);
    /* The binding swapped: refused, naming it. */
    s_submit(c, "b", "a", "c", &rep);
    s_refused(&rep, MPC_ERR_DENIED, "binding a=b,b=a,c=c not approved for program ");
    /* A second line approves that binding too. */
    s_approve(1, 10000000, "b", "a", "c");
    s_submit(c, "b", "a", "c", &rep);
    ck_assert_msg(rep.type == MPC_CW_SUBMIT_OK, "%s", rep.msg);
    mpc_circ_destroy(&c);
    /* Out of range. */
    c = s_compile(S_JS, "js.mpc", "20000000", 0);
    s_submit(c, "a", "b", "c", &rep);
    s_refused(&rep, MPC_ERR_DENIED, "param N=20000000 outside 1..10000000 for program ");
    mpc_circ_destroy(&c);
    /* Another program: not approved. */
    c = s_compile(S_JS3, "js.mpc", "1000", 0);
    s_submit(c, "a", "b", "c", &rep);
    s_refused(&rep, MPC_ERR_DENIED, "program not approved: program ");
    ck_assert_ptr_nonnull(strstr(rep.msg, "is not in this party's allowlist"));
    /* Its IR with the approved program's text attached: the IR is not that program. */
    mpc_circuit *good = s_compile(S_JS, "js.mpc", "1000", 0);
    mpc_program_free(&c->program);
    c->program = mpc_program_dup(good->program);
    s_submit(c, "a", "b", "c", &rep);
    s_refused(&rep, MPC_ERR_CIRCUIT, "circuit refused: it is not program ");
    ck_assert_ptr_nonnull(strstr(rep.msg, " at N=1000 without pushdown (that compiles to circuit "));
    /* The approved program's IR stating other params than it was compiled at. */
    snprintf(good->program->params[0].value, sizeof good->program->params[0].value, "999");
    s_submit(good, "a", "b", "c", &rep);
    s_refused(&rep, MPC_ERR_CIRCUIT, "circuit refused: it is not program ");
    /* ... or claiming pushdown it was not compiled with. */
    snprintf(good->program->params[0].value, sizeof good->program->params[0].value, "1000");
    good->program->pushdown = 1;
    s_submit(good, "a", "b", "c", &rep);
    s_refused(&rep, MPC_ERR_CIRCUIT, "circuit refused: it is not program ");
    good->program->pushdown = 0;
    s_submit(good, "a", "b", "c", &rep);
    ck_assert_msg(rep.type == MPC_CW_SUBMIT_OK, "%s", rep.msg);
    /* Text that does not compile at the stated value is refused with the compiler's reason. */
    snprintf(good->program->params[0].value, sizeof good->program->params[0].value, "0");
    s_cfg->approvals[0].params[0].lo = 0;
    s_submit(good, "a", "b", "c", &rep);
    s_refused(&rep, MPC_ERR_CIRCUIT, "circuit refused: the program it carries does not compile at its params");
    s_cfg->approvals[0].params[0].lo = 1;
    mpc_circ_destroy(&good);
    /* A circuit without a program (an older compiler): only its circuit hash can admit it. */
    mpc_program_free(&c->program);
    s_submit(c, "a", "b", "c", &rep);
    s_refused(&rep, MPC_ERR_DENIED, "is not in this party's allowlist (and the circuit carries no program");
    /* The exact form: admitted under any binding, as before. */
    ck_assert_int_eq(mpc_circ_hash(c, s_cfg->allowed[0]), 0);
    s_cfg->n_allowed = 1;
    s_submit(c, "c", "a", "b", &rep);
    ck_assert_msg(rep.type == MPC_CW_SUBMIT_OK, "%s", rep.msg);
    mpc_circ_destroy(&c);
    /* A param the approval does not constrain: refused, naming it and the line. */
    const char *two = "party a, b, c\nparam N = 3\nparam K = 2\ninput x: int[N] from a\n"
                      "output y = sum(x) * K to b\n";
    mpc_program_canon pc;
    s_canon(two, &pc);
    memcpy(s_cfg->approvals[1].hash, pc.hash, 32);
    mpc_program_canon_free(&pc);
    c = s_compile(two, "two.mpc", "3", 0);
    s_submit(c, "b", "a", "c", &rep);
    s_refused(&rep, MPC_ERR_DENIED, "param K is not constrained by the approval at party-a.ini:7");
    mpc_circ_destroy(&c);
    free(s_cfg);
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("approve");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_program_hash);
    tcase_add_test(tc, test_carried_program_recompiles);
    tcase_add_test(tc, test_param_render);
    tcase_add_test(tc, test_constraints);
    tcase_add_test(tc, test_hostile_program_field);
    tcase_add_test(tc, test_admission);
    suite_add_tcase(s, tc);
    return s;
}
