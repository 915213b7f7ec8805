/* check_joinlang.c — joins in the language (circuits/LANGUAGE.md "Joins", circuits/joinc.c):
 * every compile rule with its file:line:col error; the circuit's join record and the
 * pushdown rules; random tables at 0 %, 1 %, 50 % and 100 % overlap through `mpcc --eval`
 * (with and without pushdown) against a reference computed here by a nested loop; duplicate
 * keys and a missing key column refused; examples/join_stats.mpc's output; and the compiled
 * circuit under MPC (join outputs as the daemons would give them) equal to the evaluator. */
#include <check.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"
#include "dp.h"
#include "enginetest.h"
#include "eval.h"
#include "joindecl.h"
#include "proc.h"
#include "pushdown.h"
#include "runner.h"
#include "table.h"
#include "value.h"

static const char s_tables[] =
    "party hosp, ins, audit\n"
    "input labs: table(patient_id: key, glucose: fix in 0..50, age: int in 0..120)[4] from hosp\n"
    "input claims: table(patient_id: key, cost: int in 0..10000)[5] from ins\n";

static void s_fails(const char *body, const char *want, unsigned line, unsigned col)
{
    char src[4096];
    snprintf(src, sizeof src, "%s%s", s_tables, body);
    mpc_circuit *c = NULL;
    mpc_diag d;
    ck_assert_msg(mpc_compile(src, strlen(src), "t.mpc", NULL, 0, &c, &d) != 0, "compiled: %s", body);
    char msg[1024], pos[64];
    mpc_diag_format(&d, mpc_diag_first_error(&d), msg, sizeof msg);
    mpc_diag_free(&d);
    ck_assert_msg(strstr(msg, want) != NULL, "want '%s' in: %s", want, msg);
    snprintf(pos, sizeof pos, "t.mpc:%u:%u: error: ", line, col);
    ck_assert_msg(strncmp(msg, pos, strlen(pos)) == 0, "want '%s' at the start of: %s", pos, msg);
}

static mpc_circuit *s_compile(const char *src, unsigned flags)
{
    mpc_circuit *c = NULL;
    mpc_diag d;
    int rc = mpc_compile_ex(src, strlen(src), "t.mpc", NULL, 0, flags, &c, &d);
    char msg[1024] = "";
    if (rc) mpc_diag_format(&d, mpc_diag_first_error(&d), msg, sizeof msg);
    mpc_diag_free(&d);
    ck_assert_msg(rc == 0, "%s", msg);
    return c;
}

START_TEST(test_compile_errors)
{
    /* line 4 is the first line after the tables */
    const char *J = "let j = join(labs, claims, on patient_id)\n";
    char b[1024];
    s_fails("output x = sum(labs.patient_id) to hosp\n", "'labs.patient_id' is a key column", 4, 16);
    s_fails("input t: table(k: key, q: key, v: int)[3] from hosp\noutput x = sum(t.v) to hosp\n",
            "already has a key column 'k'", 4, 24);
    s_fails("input t: table(k: key, v: int)[3] from hosp dataset \"h.t\"\noutput x = sum(t.v) to hosp\n",
            "a table read from a dataset cannot have a key column", 4, 16);
    s_fails("input t: table(k: key = 1, v: int)[3] from hosp\n", "a key column has no default", 4, 23);
    s_fails("input t: table(k: key in 0..1, v: int)[3] from hosp\n", "no default and no range", 4, 23);
    s_fails("input t: table(k: key, v: int)[3] from hosp\nlet j = join(labs, t, on k)\noutput x = count(j) to hosp\n",
            "table 'labs' has no key column 'k' (its key column is 'patient_id')", 5, 14);
    s_fails("input t: table(k: key, v: int)[3] from hosp\nlet j = join(t, labs.patient_id)\noutput x = count(j) to hosp\n",
            "name the key column", 5, 14);
    s_fails("input t: table(patient_id: key, v: int)[3] from hosp\nlet j = join(labs, t, on patient_id)\n"
            "output x = count(j) to hosp\n", "both tables belong to party 'hosp'", 5, 9);
    s_fails("input t: table(v: int)[3] from ins\nlet j = join(labs, t, on patient_id)\noutput x = count(j) to hosp\n",
            "table 't' has no key column", 5, 20);
    s_fails("let j = join(labs, claims)\noutput x = count(j) to hosp\n", "name the key column", 4, 14);
    s_fails("input t: table(patient_id: key, age: int)[3] from ins\nlet j = join(labs, t, on patient_id)\n"
            "output x = sum(j.age) to hosp\n", "column 'age' is in both 'labs' and 't'", 6, 16);
    snprintf(b, sizeof b, "%soutput x = count(j.patient_id > 0) to hosp\n", J);
    s_fails(b, "'j.patient_id' is the join's key column", 5, 18);
    snprintf(b, sizeof b, "%soutput x = sum(j.nope) to hosp\n", J);
    s_fails(b, "join 'j' has no column 'nope'", 5, 16);
    snprintf(b, sizeof b, "%soutput x = j.cost to ins\n", J);
    s_fails(b, "output 'x' is a joined column", 5, 8);
    snprintf(b, sizeof b, "%slet y = j.cost * 2\noutput y to ins\n", J);
    s_fails(b, "output 'y' is a joined column", 6, 8);
    snprintf(b, sizeof b, "%soutput x = j.cost[0] to ins\n", J);
    s_fails(b, "cannot be indexed or sliced", 5, 18);
    snprintf(b, sizeof b, "%soutput x = sum(j.cost[1:3]) to ins\n", J);
    s_fails(b, "cannot be indexed or sliced", 5, 22);
    snprintf(b, sizeof b, "%soutput x = sum(j.cost + claims.cost) to ins\n", J);
    s_fails(b, "cannot be combined with an ordinary vector", 5, 23);
    snprintf(b, sizeof b, "%soutput x = sum(claims.cost > 3 ? j.cost : 0) to ins\n", J);
    s_fails(b, "cannot be combined with an ordinary vector", 5, 32);
    snprintf(b, sizeof b, "%slet k = join(labs, claims, on patient_id)\noutput x = sum(j.cost + k.cost) to ins\n", J);
    s_fails(b, "columns of joins 'j' and 'k' cannot be combined", 6, 23);
    snprintf(b, sizeof b, "%soutput x = cov(j.cost, j.glucose) to ins\n", J);
    s_fails(b, "cov() of a column of join 'j' is not supported", 5, 12);
    snprintf(b, sizeof b, "%soutput x = len(j.cost) to ins\n", J);
    s_fails(b, "len() of a column of join 'j' is not supported", 5, 12);
    snprintf(b, sizeof b, "%soutput x = sum(concat(j.cost, claims.cost)) to ins\n", J);
    s_fails(b, "concat() of a joined column is not supported", 5, 23);
    snprintf(b, sizeof b, "%soutput x = dp_mean(j.cost, 0, 100, 1.0) to ins\n", J);
    s_fails(b, "dp_mean() of a joined column is not supported", 5, 12);
    snprintf(b, sizeof b, "%soutput x = dp_histogram(j.age, [0, 50, 120], 1.0) to ins\n", J);
    s_fails(b, "dp_histogram() of a joined column is not supported", 5, 12);
    s_fails("output x = sum(join(labs, claims, on patient_id)) to hosp\n", "bound by a let", 4, 16);
    snprintf(b, sizeof b, "%soutput x = j to ins\n", J);
    s_fails(b, "'j' is a join, not a value", 5, 12);
    snprintf(b, sizeof b, "%soutput x = sum(j) to ins\n", J);
    s_fails(b, "'j' is a join, not a value", 5, 16);
    s_fails("fn f() {\n let j = join(labs, claims, on patient_id)\n return 1\n}\noutput x = f() + sum(claims.cost) to hosp\n",
            "at the top level", 5, 2);
}
END_TEST

/* dp_sum and dp_count of joined columns: the indicator before the noise, the sensitivity of
 * an ordinary table (DP records as for any dp_* output). */
START_TEST(test_dp)
{
    char src[2048];
    snprintf(src, sizeof src, "%s"
             "let j = join(labs, claims, on patient_id)\n"
             "output s = dp_sum(j.cost, 0, 100, 10.0) to ins\n"
             "output n = dp_count(j.glucose > 7, 0.5) to hosp\n", s_tables);
    mpc_circuit *c = s_compile(src, MPC_COMPILE_PUSHDOWN);
    ck_assert_uint_eq(c->n_dp, 2);
    ck_assert_uint_eq(c->dp[0].sens, 100);
    ck_assert_uint_eq(c->dp[1].sens, 1);
    ck_assert_uint_eq(c->n_joins, 1);
    /* Evaluated with every row unmatched (ind = 0), the noise (sd 54) is all there is: centred on 0, not on
     * the unmasked sum 5 * 100. */
    mpc_input *d = NULL;
    uint32_t nd = 0;
    ck_assert_int_eq(mpc_circ_declared_inputs(c, &d, &nd), 0);
    uint64_t **v = calloc(nd, sizeof *v);
    for (uint32_t i = 0; i < nd; i++) {
        v[i] = calloc(d[i].len, 8);
        if (!strcmp(d[i].name, "claims.cost") || !strcmp(d[i].name, "j-join.cost"))
            for (uint64_t e = 0; e < d[i].len; e++) v[i][e] = 100;
    }
    mpc_eval_result res;
    char err[256];
    ck_assert_msg(mpc_eval_declared(c, d, nd, (const uint64_t *const *)v, &res, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(llabs((long long)res.outputs[0][0]) < 300, "dp_sum %lld", (long long)res.outputs[0][0]);
    mpc_eval_result_free(&res);
    for (uint32_t i = 0; i < nd; i++) free(v[i]);
    free(v);
    free(d);
    mpc_circ_destroy(&c);
}
END_TEST

/* The record, the inputs it declares, and pushdown on and off. */
START_TEST(test_record_and_pushdown)
{
    /* A table joined on its key alone is used: no warning. */
    static const char keyonly[] = "party hosp, ins\n"
                                  "input labs: table(patient_id: key, glucose: fix in 0..50)[4] from hosp\n"
                                  "input claims: table(patient_id: key)[3] from ins\n"
                                  "let j = join(labs, claims, on patient_id)\n"
                                  "output m = sum(j.glucose), n = count(j) to hosp\n";
    mpc_circuit *kc = NULL;
    mpc_diag kd;
    ck_assert_int_eq(mpc_compile(keyonly, strlen(keyonly), "t.mpc", NULL, 0, &kc, &kd), 0);
    ck_assert_uint_eq(kd.n_warnings, 0);
    ck_assert_uint_eq(kc->joins[0].n_cols[1], 0);
    mpc_diag_free(&kd);
    mpc_circ_destroy(&kc);

    char src[2048];
    snprintf(src, sizeof src, "%s"
             "input w: fix[3] from hosp in 0..10\n"
             "let j = join(labs, claims, on patient_id)\n"
             "output s = sum(j.cost) + sum(labs.age) to ins\n"
             "output m = mean(j.glucose) to hosp\n"
             "output ws = sum(w * w) to hosp\n", s_tables);
    for (int pd = 0; pd < 2; pd++) {
        mpc_circuit *c = s_compile(src, pd ? MPC_COMPILE_PUSHDOWN : 0);
        ck_assert_uint_eq(c->n_joins, 1);
        const mpc_join_decl *d = &c->joins[0];
        ck_assert_str_eq(d->name, "j");
        ck_assert_str_eq(d->key[0], "patient_id");
        ck_assert_uint_eq(d->rows[0], 4);
        ck_assert_uint_eq(d->rows[1], 5);
        ck_assert_uint_eq(d->n_cols[0], 1);   /* only what the program uses through j */
        ck_assert_uint_eq(d->n_cols[1], 1);
        ck_assert_str_eq(c->inputs[d->col[0][0]].name, "labs.glucose");
        ck_assert_str_eq(c->inputs[d->col[1][0]].name, "claims.cost");
        ck_assert_str_eq(c->inputs[d->out[0]].name, "j-join.ind");
        ck_assert_str_eq(c->inputs[d->out[1]].name, "j-join.glucose");
        ck_assert_str_eq(c->inputs[d->out[2]].name, "j-join.cost");
        ck_assert_uint_eq(c->inputs[d->out[2]].party, 1);
        /* No join output and no payload is computed by a local part. */
        for (uint32_t k = 0; k < 3; k++) ck_assert_ptr_null(mpc_circ_input_local(c, d->out[k]));
        ck_assert_ptr_null(mpc_circ_input_local(c, d->col[0][0]));
        if (pd) {   /* labs.age and w were pushed to hosp; the payload labs.glucose stays */
            ck_assert_uint_ge(c->n_locals, 1);
            const mpc_circuit *l = mpc_circ_local_of(c, 0);
            ck_assert_ptr_nonnull(l);
            for (uint32_t i = 0; i < l->n_inputs; i++) ck_assert(!mpc_join_input_of(l->inputs[i].name));
        }
        char err[256];
        ck_assert_msg(mpc_circ_validate(c, NULL, err, sizeof err) == 0, "%s", err);
        mpc_circ_destroy(&c);
    }
}
END_TEST

/* ---- random tables through mpcc --eval ------------------------------------------------ */

#define NA 200
#define NB 150

typedef struct {
    char     ka[NA][16], kb[NB][16];
    int64_t  glucose_c[NA];   /* hundredths */
    int64_t  age[NA];
    int64_t  cost[NB];
} s_data;

static void s_key(char *k, uint32_t id)
{
    snprintf(k, 16, "K%05u%c", (unsigned)id, 'a' + (char)(id % 26));
}

/* B's rows: `pct` % of them take distinct keys of A's rows (in a random order), the others
 * keys A does not have. */
static void s_make(s_data *x, int pct)
{
    uint32_t perm[NA];
    for (uint32_t i = 0; i < NA; i++) {
        s_key(x->ka[i], i);
        x->glucose_c[i] = (int64_t)randombytes_uniform(5000);
        x->age[i] = (int64_t)randombytes_uniform(121);
        perm[i] = i;
    }
    for (uint32_t i = NA - 1; i > 0; i--) {
        uint32_t j = randombytes_uniform(i + 1), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    uint32_t matched = (uint32_t)((NB * pct + 99) / 100);
    if (pct == 1) matched = 2;
    for (uint32_t i = 0; i < NB; i++) {
        s_key(x->kb[i], i < matched ? perm[i] : 10000 + i);
        x->cost[i] = (int64_t)randombytes_uniform(10001);
    }
    for (uint32_t i = NB - 1; i > 0; i--) {   /* B's row order: random too */
        uint32_t j = randombytes_uniform(i + 1);
        char t[16];
        memcpy(t, x->kb[i], 16);
        memcpy(x->kb[i], x->kb[j], 16);
        memcpy(x->kb[j], t, 16);
    }
}

static void s_write_csvs(const s_data *x, const char *dir)
{
    char p[512];
    snprintf(p, sizeof p, "%s/labs.csv", dir);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "age,patient_id,glucose\n");
    for (int i = 0; i < NA; i++)
        fprintf(f, "%lld, %s ,%lld.%02lld\n", (long long)x->age[i], x->ka[i], (long long)(x->glucose_c[i] / 100),
                (long long)(x->glucose_c[i] % 100));
    fclose(f);
    snprintf(p, sizeof p, "%s/claims.csv", dir);
    f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "patient_id,cost\n");
    for (int i = 0; i < NB; i++) fprintf(f, "%s,%lld\n", x->kb[i], (long long)x->cost[i]);
    fclose(f);
}

static const char s_prog[] =
    "party hosp, ins\n"
    "param NA\nparam NB\n"
    "input labs: table(patient_id: key, glucose: fix in 0..50, age: int in 0..120)[NA] from hosp\n"
    "input claims: table(patient_id: key, cost: int in 0..10000)[NB] from ins\n"
    "let j = join(labs, claims, on patient_id)\n"
    "output n = count(j) to hosp, ins\n"
    "output cost = sum(j.cost) to ins\n"
    "output big = count(j.cost > 5000) to ins\n"
    "output old_cost = sum(j.age >= 65 ? j.cost : 0) to ins\n"
    "output g = sum(j.glucose) to hosp\n"
    "output gm = mean(j.glucose) to hosp\n"
    "output h = histogram(j.age, [0, 30, 60, 90, 121]) to hosp\n"
    "output local = sum(labs.age) to hosp\n"
    "output ac = dot(j.age, j.cost) to ins\n"
    "output av = var(fix(j.age)) to hosp\n";

/* The value of output `name` in mpcc's text output. */
static double s_out(const char *out, const char *name, int idx)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\n%s = ", name);
    char *buf = malloc(strlen(out) + 2);
    buf[0] = '\n';
    strcpy(buf + 1, out);
    const char *p = strstr(buf, pat);
    ck_assert_msg(p != NULL, "no output %s in: %s", name, out);
    p += strlen(pat);
    for (int i = 0; i < idx; i++) {
        p = strchr(p, ',');
        ck_assert_ptr_nonnull(p);
        p++;
    }
    double v = strtod(p, NULL);
    free(buf);
    return v;
}

static void s_overlap(int pct)
{
    static s_data x;
    s_make(&x, pct);
    const char *dir = tp_scratch();
    s_write_csvs(&x, dir);
    char pf[512];
    snprintf(pf, sizeof pf, "%s/j.mpc", dir);
    FILE *f = fopen(pf, "w");
    fputs(s_prog, f);
    fclose(f);
    /* The reference: a nested loop over the rows, in B's order. */
    int64_t n = 0, cost = 0, big = 0, old_cost = 0, g = 0, hist[4] = {0}, local = 0, ac = 0;
    double s1 = 0, s2 = 0;
    for (int i = 0; i < NA; i++) local += x.age[i];
    for (int b = 0; b < NB; b++)
        for (int a = 0; a < NA; a++) {
            if (strcmp(x.ka[a], x.kb[b]) != 0) continue;
            n++;
            cost += x.cost[b];
            big += x.cost[b] > 5000;
            old_cost += x.age[a] >= 65 ? x.cost[b] : 0;
            g += x.glucose_c[a];
            hist[x.age[a] < 30 ? 0 : x.age[a] < 60 ? 1 : x.age[a] < 90 ? 2 : 3]++;
            ac += x.age[a] * x.cost[b];
            s1 += (double)x.age[a];
            s2 += (double)(x.age[a] * x.age[a]);
        }
    for (int pd = 0; pd < 2; pd++) {
        tp_cmd r;
        tp_run(&r, "mpcc", "%s --eval '%s' --input labs=@'%s/labs.csv' --input claims=@'%s/claims.csv'",
               pd ? "" : "--no-pushdown", pf, dir, dir);
        ck_assert_msg(r.status == 0, "mpcc (overlap %d %%): %s", pct, r.err);
        ck_assert_int_eq((int64_t)s_out(r.out, "n", 0), n);
        ck_assert_int_eq((int64_t)s_out(r.out, "cost", 0), cost);
        ck_assert_int_eq((int64_t)s_out(r.out, "big", 0), big);
        ck_assert_int_eq((int64_t)s_out(r.out, "old_cost", 0), old_cost);
        ck_assert_int_eq((int64_t)s_out(r.out, "local", 0), local);
        /* glucose has 2 decimals at 16 fractional bits: each value within 2^-17 */
        ck_assert_msg(fabs(s_out(r.out, "g", 0) - (double)g / 100) < NB * 1e-5 + 1e-4, "g %f want %f",
                      s_out(r.out, "g", 0), (double)g / 100);
        double gm = n ? (double)g / 100 / (double)n : 0;
        ck_assert_msg(fabs(s_out(r.out, "gm", 0) - gm) < 1e-3, "gm %f want %f (n %lld)", s_out(r.out, "gm", 0), gm,
                      (long long)n);
        for (int k = 0; k < 4; k++) ck_assert_int_eq((int64_t)s_out(r.out, "h", k), hist[k]);
        ck_assert_int_eq((int64_t)s_out(r.out, "ac", 0), ac);
        double var = n ? s2 / (double)n - (s1 / (double)n) * (s1 / (double)n) : 0;
        /* mean(v²) and mean(v)² each within the division's error (2^-18 relative + 2 ulp) */
        ck_assert_msg(fabs(s_out(r.out, "av", 0) - var) < 0.05 + var * 1e-4, "av %f want %f", s_out(r.out, "av", 0),
                      var);
        if (pct == 0) ck_assert_int_eq(n, 0);
        if (pct == 100) ck_assert_int_eq(n, NB);
    }
}

START_TEST(test_overlap_0) { s_overlap(0); }
END_TEST
START_TEST(test_overlap_1) { s_overlap(1); }
END_TEST
START_TEST(test_overlap_50) { s_overlap(50); }
END_TEST
START_TEST(test_overlap_100) { s_overlap(100); }
END_TEST

static void s_eval_fails(const char *labs, const char *claims, const char *want)
{
    const char *dir = tp_scratch();
    char p[512];
    snprintf(p, sizeof p, "%s/l.csv", dir);
    FILE *f = fopen(p, "w");
    fputs(labs, f);
    fclose(f);
    snprintf(p, sizeof p, "%s/c.csv", dir);
    f = fopen(p, "w");
    fputs(claims, f);
    fclose(f);
    snprintf(p, sizeof p, "%s/j.mpc", dir);
    f = fopen(p, "w");
    fputs("party hosp, ins\n"
          "input labs: table(patient_id: key, glucose: fix)[3] from hosp\n"
          "input claims: table(pid: key, cost: int)[3] from ins\n"
          "let j = join(labs.patient_id, claims.pid)\n"
          "output s = sum(j.cost) to ins\noutput m = mean(j.glucose) to hosp\n", f);
    fclose(f);
    tp_cmd r;
    tp_run(&r, "mpcc", "--eval '%s' --input labs=@'%s/l.csv' --input claims=@'%s/c.csv'", p, dir, dir);
    ck_assert_int_ne(r.status, 0);
    ck_assert_msg(strstr(r.err, want) != NULL, "want '%s' in: %s", want, r.err);
    ck_assert_msg(strstr(r.err, "SECRET") == NULL, "a key in the message: %s", r.err);
}

START_TEST(test_eval_errors)
{
    s_eval_fails("patient_id,glucose\nSECRET1,1\nSECRET2,2\nSECRET1,3\n", "pid,cost\nA,1\nB,2\nC,3\n",
                 "duplicate keys on side A (table 'labs')");
    s_eval_fails("patient_id,glucose\nA,1\nB,2\nC,3\n", "pid,cost\nSECRETx,1\nB,2\nSECRETx,3\n",
                 "duplicate keys on side B (table 'claims')");
    s_eval_fails("glucose\n1\n2\n3\n", "pid,cost\nA,1\nB,2\nC,3\n", "l.csv:1:1: error: the header has no key column "
                 "'patient_id'");
    s_eval_fails("patient_id,glucose\nA,1\n,2\nC,3\n", "pid,cost\nA,1\nB,2\nC,3\n",
                 "l.csv:3:1: error: key column 'patient_id': empty key");
    s_eval_fails("patient_id,glucose\nA,1\nB,2\nC,3\n", "cost,patient_id\n1,A\n2,B\n3,C\n",
                 "c.csv:1:1: error: the header has no key column 'pid'");
}
END_TEST

/* examples/join_stats.mpc on its data: the expected output (checked by hand: P001, P002,
 * P004 and P007 are in both files). */
START_TEST(test_example)
{
    static const char want[] =
        "matched = 4\n"
        "cost_total = 7650\n"
        "cost_mean = 1912.49931\n"
        "cost_diabetic = 6600\n"
        "n_diabetic = 2\n"
        "glucose_mean = 7.825\n"
        "patients_by_age = 1, 1, 2\n";
    for (int pd = 0; pd < 2; pd++) {
        tp_cmd r;
        tp_run(&r, "mpcc", "%s --eval examples/join_stats.mpc --input labs=@examples/data/join_labs.csv "
               "--input claims=@examples/data/join_claims.csv", pd ? "" : "--no-pushdown");
        ck_assert_msg(r.status == 0, "%s", r.err);
        ck_assert_str_eq(r.out, want);
    }
    tp_cmd r;
    tp_run(&r, "mpcc", "--stats examples/join_stats.mpc");
    ck_assert_msg(r.status == 0, "%s", r.err);
    ck_assert_msg(strstr(r.out, "join j leaks: the intersection size to hospital\n") != NULL, "%s", r.out);
    ck_assert_msg(strstr(r.out, "payload labs.glucose labs.age claims.cost, 7 rows out\n") != NULL, "%s", r.out);
    char p[512];
    snprintf(p, sizeof p, "%s/nokey.csv", tp_scratch());
    FILE *f = fopen(p, "w");
    fputs("cost,visits\n1,1\n2,2\n3,3\n4,4\n5,5\n6,6\n7,7\n", f);
    fclose(f);
    tp_run(&r, "mpcc", "--eval examples/join_stats.mpc --input labs=@examples/data/join_labs.csv "
           "--input claims=@'%s'", p);
    ck_assert_int_ne(r.status, 0);
    ck_assert_msg(strstr(r.err, "no key column 'patient_id'") != NULL, "%s", r.err);
}
END_TEST

/* The example's circuit under MPC (3 parties' worth of code paths: 2 here), with the join
 * outputs shared as the daemons would give them, equals the evaluator. */
START_TEST(test_example_under_mpc)
{
    FILE *f = fopen("examples/join_stats.mpc", "rb");
    ck_assert_ptr_nonnull(f);
    static char src[8192];
    size_t sl = fread(src, 1, sizeof src - 1, f);
    fclose(f);
    src[sl] = 0;
    for (int pd = 0; pd < 2; pd++) {
        mpc_circuit *c = s_compile(src, pd ? MPC_COMPILE_PUSHDOWN : 0);
        mpc_input *d = NULL;
        uint32_t nd = 0;
        ck_assert_int_eq(mpc_circ_declared_inputs(c, &d, &nd), 0);
        uint64_t **dv = calloc(nd + 1, sizeof *dv);
        char err[512];
        const char *files[2] = {"examples/data/join_labs.csv", "examples/data/join_claims.csv"};
        const mpc_join_decl *jd = &c->joins[0];
        mpc_join_keys keys[2];
        for (int s = 0; s < 2; s++) {
            mpc_table_col *cols = NULL;
            size_t nc = 0;
            ck_assert_msg(mpc_table_load(d, nd, c->frac_bits, src, sl, jd->table[s], files[s], NULL, &cols, &nc, err,
                                         sizeof err) == 0, "%s", err);
            for (size_t k = 0; k < nc; k++)
                for (uint32_t i = 0; i < nd; i++) {
                    char full[2 * MPC_NAME_MAX];
                    snprintf(full, sizeof full, "%s.%s", jd->table[s], cols[k].name);
                    if (!strcmp(full, d[i].name)) {
                        dv[i] = cols[k].vals;
                        cols[k].vals = NULL;
                    }
                }
            mpc_table_free(cols, nc, 0);
            ck_assert_int_eq(mpc_join_keys_load(files[s], NULL, jd->key[s], &keys[s], err, sizeof err), 0);
        }
        const uint64_t *pv[2][MPC_JOIN_MAX_PAYLOAD];
        uint64_t *ov[1 + 2 * MPC_JOIN_MAX_PAYLOAD];
        for (int s = 0; s < 2; s++)
            for (uint32_t m = 0; m < jd->n_cols[s]; m++)
                for (uint32_t i = 0; i < nd; i++)
                    if (!strcmp(d[i].name, c->inputs[jd->col[s][m]].name)) pv[s][m] = dv[i];
        for (uint32_t m = 0; m < 1 + jd->n_cols[0] + jd->n_cols[1]; m++)
            for (uint32_t i = 0; i < nd; i++)
                if (!strcmp(d[i].name, c->inputs[jd->out[m]].name)) ov[m] = dv[i] = calloc(jd->rows[1], 8);
        ck_assert_msg(mpc_join_eval(jd, &keys[0], &keys[1], pv[0], pv[1], ov, err, sizeof err) == 0, "%s", err);
        for (uint32_t i = 0; i < nd; i++) ck_assert_msg(dv[i] != NULL, "no value for %s", d[i].name);
        uint64_t **mv = calloc(c->n_inputs + 1, sizeof *mv);
        uint8_t *owned = calloc(c->n_inputs + 1, 1);
        ck_assert_msg(mpc_pushdown_derive(c, UINT32_MAX, d, nd, (const uint64_t *const *)dv, mv, owned, NULL, err,
                                          sizeof err) == 0, "%s", err);
        mpc_eval_result res;
        ck_assert_msg(mpc_eval(c, (const uint64_t *const *)mv, &res, err, sizeof err) == 0, "%s", err);
        et_job j;
        memset(&j, 0, sizeof j);
        j.c = c;
        j.use_dealer = 1;
        j.job = 9;
        j.no_open = 1;
        randombytes_buf(j.master, sizeof j.master);
        et_plain_inputs(&j, (const uint64_t *const *)mv);
        ck_assert_int_eq(et_run(&j), 0);
        for (uint32_t p = 0; p < c->n_parties; p++) ck_assert_msg(j.rc[p] == 0, "party %u: %s", p, j.err[p]);
        for (uint32_t o = 0; o < c->n_outputs; o++)
            for (uint64_t e = 0; e < c->outputs[o].len; e++) {
                uint64_t v = 0;
                for (uint32_t p = 0; p < c->n_parties; p++) v += j.share[p][o][e];
                if (c->outputs[o].type == MPC_T_FIX)   /* probabilistic truncation: a few ulp */
                    ck_assert_msg(fabs(mpc_fix_to_double(v, c->frac_bits) -
                                       mpc_fix_to_double(res.outputs[o][e], c->frac_bits)) < 0.01,
                                  "%s (pushdown %d)", c->outputs[o].name, pd);
                else
                    ck_assert_msg(v == res.outputs[o][e], "%s (pushdown %d): %llu vs %llu", c->outputs[o].name, pd,
                                  (unsigned long long)v, (unsigned long long)res.outputs[o][e]);
            }
        et_clear(&j);
        mpc_eval_result_free(&res);
        for (uint32_t i = 0; i < c->n_inputs; i++)
            if (owned[i]) free(mv[i]);
        free(mv);
        free(owned);
        for (uint32_t i = 0; i < nd; i++) free(dv[i]);
        free(dv);
        free(d);
        mpc_join_keys_free(&keys[0]);
        mpc_join_keys_free(&keys[1]);
        mpc_circ_destroy(&c);
    }
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("joinlang");
    TCase *t = tcase_create("joinlang");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, test_compile_errors);
    tcase_add_test(t, test_record_and_pushdown);
    tcase_add_test(t, test_dp);
    tcase_add_test(t, test_overlap_0);
    tcase_add_test(t, test_overlap_1);
    tcase_add_test(t, test_overlap_50);
    tcase_add_test(t, test_overlap_100);
    tcase_add_test(t, test_eval_errors);
    tcase_add_test(t, test_example);
    tcase_add_test(t, test_example_under_mpc);
    suite_add_tcase(s, t);
    return s;
}
