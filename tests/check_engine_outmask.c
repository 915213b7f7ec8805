/* check_engine_outmask.c — output shares are re-randomized before they leave a party
 * (engine.h, "Outputs"; docs/security.md).
 *
 * The threat: for z = x·y party i's raw share is z_i = c_i + d·b_i + e·a_i (+ d·e on party
 * 0), with d = x − a and e = y − b opened to every party.  A dealer knows every a_i, b_i,
 * c_i; a recipient of the output gets every z_i.  Together, two equations
 * z_i − c_i = d·b_i + e·a_i (i = 1, 2) give d and e whenever b_1·a_2 − b_2·a_1 is odd
 * (invertible mod 2^64, 3/8 of the time), hence x = d + a and y = e + b.  The tests run that
 * attack against the raw shares (the test gives every party's zero-sharing keys, so it can
 * compute each party's mask and take it off again) and against the shares the engine
 * delivers. */
#include <check.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "circuit.h"
#include "engine.h"
#include "enginetest.h"
#include "mpc_err.h"
#include "prep_dealer.h"
#include "prg.h"

#define L_ELEMS 256

/* ---- a preprocessing source whose material the test records (the dealer's knowledge) ---- */

typedef struct {
    uint8_t   master[32];
    uint32_t  n;
    uint64_t  len;
    uint64_t *a[ET_MAXP], *b[ET_MAXP], *c[ET_MAXP];   /* per party, the first batch */
} s_known;

typedef struct {
    mpc_prep *inner;
    s_known  *k;
    int       batch;
} s_rec_prep;

static int s_rec_fetch(mpc_prep *p, const mpc_prep_req *req, mpc_prep_out *out)
{
    s_rec_prep *s = p->impl;
    int r = mpc_prep_fetch(s->inner, req, out);
    if (r == 0 && s->batch++ == 0 && req->n_triples == s->k->len) {
        size_t bytes = (size_t)s->k->len * 8;
        memcpy(s->k->a[p->self], out->a, bytes);
        memcpy(s->k->b[p->self], out->b, bytes);
        memcpy(s->k->c[p->self], out->c, bytes);
    }
    return r;
}

static void s_rec_destroy(mpc_prep **pp)
{
    s_rec_prep *s = (*pp)->impl;
    mpc_prep_destroy(&s->inner);
    free(s);
    free(*pp);
    *pp = NULL;
}

static const struct mpc_prep_ops s_rec_ops = {.fetch = s_rec_fetch, .destroy = s_rec_destroy};

static mpc_prep *s_make_rec(uint32_t party, void *arg)
{
    s_known *k = arg;
    mpc_prep *p = calloc(1, sizeof *p);
    s_rec_prep *s = calloc(1, sizeof *s);
    ck_assert(p && s);
    s->inner = mpc_prep_testlocal_new(k->master, party, k->n);
    ck_assert_ptr_nonnull(s->inner);
    s->k = k;
    p->ops = &s_rec_ops;
    p->impl = s;
    p->self = party;
    p->n = k->n;
    p->caps = s->inner->caps;
    return p;
}

static void s_known_init(s_known *k, uint32_t n, uint64_t len)
{
    memset(k, 0, sizeof *k);
    randombytes_buf(k->master, 32);
    k->n = n;
    k->len = len;
    for (uint32_t p = 0; p < n; p++) {
        k->a[p] = calloc(len, 8);
        k->b[p] = calloc(len, 8);
        k->c[p] = calloc(len, 8);
        ck_assert(k->a[p] && k->b[p] && k->c[p]);
    }
}

static void s_known_free(s_known *k)
{
    for (uint32_t p = 0; p < k->n; p++) {
        free(k->a[p]);
        free(k->b[p]);
        free(k->c[p]);
    }
}

static mpc_circuit *s_parties(uint32_t n)
{
    mpc_circuit *c = mpc_circ_new();
    ck_assert_ptr_nonnull(c);
    char name[16];
    for (uint32_t p = 0; p < n; p++) {
        snprintf(name, sizeof name, "p%u", (unsigned)p);
        ck_assert_int_eq(mpc_circ_add_party(c, name), (int)p);
    }
    return c;
}

/* z = x·y (x from party 0, y from party 1), the output to party n − 1 only. */
static mpc_circuit *s_mul_circuit(uint32_t n, uint64_t len)
{
    mpc_circuit *c = s_parties(n);
    uint32_t x = mpc_circ_add_input(c, "x", 0, MPC_T_INT, len, 1, 1);
    uint32_t y = mpc_circ_add_input(c, "y", 1, MPC_T_INT, len, 1, 1);
    uint32_t z = mpc_circ_add_gate(c, MPC_G_MUL, MPC_T_INT, len, x, y, MPC_NO_WIRE, 0, 0, 2, 1);
    ck_assert_int_ge(mpc_circ_add_output(c, "z", z, 1u << (n - 1), 3, 1), 0);
    char err[256];
    ck_assert_msg(mpc_circ_finish(c, err, sizeof err) == 0, "%s", err);
    return c;
}

/* Party p's mask of output 0 from every party's zero-sharing keys zk[q] (q's key to peer r at
 * zk[q] + 32 r), as engine.h defines it: pair key K = k_pj ⊕ k_jp, +PRG(K) for j > p and
 * −PRG(K) for j < p; subtracted from z. */
static void s_unmask(uint32_t n, uint32_t p, uint8_t (*zk)[ET_MAXP * 32], uint64_t len, uint64_t *z)
{
    uint64_t *t = malloc(len * 8);
    ck_assert_ptr_nonnull(t);
    for (uint32_t q = 0; q < n; q++) {
        if (q == p) continue;
        uint8_t K[32];
        for (int i = 0; i < 32; i++) K[i] = (uint8_t)(zk[p][32 * q + i] ^ zk[q][32 * p + i]);
        ck_assert_int_eq(mpc_prg_expand(t, len, K, MPC_PRG_STREAM(MPC_PRG_D_OUTZERO, 0), 0), 0);
        for (uint64_t i = 0; i < len; i++) z[i] -= p < q ? t[i] : 0 - t[i];
    }
    free(t);
}

/* Runs z = x·y among n parties with recorded material; shares[p] (len words, malloc'ed) are
 * the shares party p delivers, or with raw, those shares with the masks taken off (the test
 * gives every party's keys): the shares as they were before re-randomization. */
static void s_run(uint32_t n, const uint64_t *xv, const uint64_t *yv, int raw, s_known *k,
                  uint64_t **shares)
{
    mpc_circuit *c = s_mul_circuit(n, k->len);
    const uint64_t *vals[2] = {xv, yv};
    static uint8_t zk[ET_MAXP][ET_MAXP * 32];
    randombytes_buf(zk, sizeof zk);
    et_job j;
    memset(&j, 0, sizeof j);
    j.c = c;
    j.job = 77;
    j.no_open = 1;
    j.make_prep = s_make_rec;
    j.before_arg = k;
    for (uint32_t p = 0; p < n; p++) j.zkeys[p] = zk[p];
    et_plain_inputs(&j, vals);
    ck_assert_int_eq(et_run(&j), 0);
    for (uint32_t p = 0; p < n; p++) {
        ck_assert_msg(j.rc[p] == 0, "party %u: %s", p, j.err[p]);
        shares[p] = j.share[p][0];
        j.share[p][0] = NULL;
        if (raw) s_unmask(n, p, zk, k->len, shares[p]);
    }
    /* whatever the masks, the shares reconstruct the product */
    for (uint64_t i = 0; i < k->len; i++) {
        uint64_t s = 0;
        for (uint32_t p = 0; p < n; p++) s += shares[p][i];
        ck_assert_uint_eq(s, xv[i] * yv[i]);
    }
    et_clear(&j);
    mpc_circ_destroy(&c);
}

/* The modular inverse of an odd x mod 2^64 (Newton: each step doubles the correct bits). */
static uint64_t s_inv(uint64_t x)
{
    uint64_t y = x;   /* correct to 3 bits for odd x */
    for (int i = 0; i < 5; i++) y *= 2 - x * y;
    return y;
}

/* The dealer + recipient attack on element i: solves z_p − c_p = d·b_p + e·a_p (p = 1, 2)
 * for d and e; 1 with *x, *y when the system is solvable (odd determinant). */
static int s_attack(const s_known *k, uint64_t *const *z, uint64_t i, uint64_t *x, uint64_t *y)
{
    uint64_t a1 = k->a[1][i], a2 = k->a[2][i], b1 = k->b[1][i], b2 = k->b[2][i];
    uint64_t r1 = z[1][i] - k->c[1][i], r2 = z[2][i] - k->c[2][i];
    uint64_t det = b1 * a2 - b2 * a1;
    if (!(det & 1)) return 0;
    uint64_t inv = s_inv(det);
    uint64_t d = (r1 * a2 - r2 * a1) * inv, e = (b1 * r2 - b2 * r1) * inv;
    uint64_t a = 0, b = 0;
    for (uint32_t p = 0; p < k->n; p++) {
        a += k->a[p][i];
        b += k->b[p][i];
    }
    *x = d + a;
    *y = e + b;
    return 1;
}

static void s_randvec(uint64_t *v, uint64_t n)
{
    randombytes_buf(v, (size_t)n * 8);
}

/* The attack recovers both inputs from the raw shares every time the system is solvable
 * (about 3/8 of the elements) and never from the shares the engine delivers. */
START_TEST(test_dealer_recipient_attack)
{
    const uint32_t n = 3;
    uint64_t xv[L_ELEMS], yv[L_ELEMS];
    s_randvec(xv, L_ELEMS);
    s_randvec(yv, L_ELEMS);
    for (int raw = 1; raw >= 0; raw--) {
        s_known k;
        s_known_init(&k, n, L_ELEMS);
        uint64_t *z[ET_MAXP] = {0};
        s_run(n, xv, yv, raw, &k, z);
        unsigned solvable = 0, recovered = 0;
        for (uint64_t i = 0; i < L_ELEMS; i++) {
            uint64_t x, y;
            if (!s_attack(&k, z, i, &x, &y)) continue;
            solvable++;
            if (x == xv[i] && y == yv[i]) recovered++;
        }
        if (raw) {
            /* the raw shares are exactly c_p + d·b_p + e·a_p (+ d·e on party 0) */
            for (uint64_t i = 0; i < L_ELEMS; i++) {
                uint64_t a = 0, b = 0;
                for (uint32_t p = 0; p < n; p++) {
                    a += k.a[p][i];
                    b += k.b[p][i];
                }
                uint64_t d = xv[i] - a, e = yv[i] - b;
                for (uint32_t p = 0; p < n; p++)
                    ck_assert_uint_eq(z[p][i], k.c[p][i] + d * k.b[p][i] + e * k.a[p][i] +
                                                   (p == 0 ? d * e : 0));
            }
            /* expected 96 of 256 solvable (binomial, sd 7.7) */
            ck_assert_uint_ge(solvable, 60);
            ck_assert_uint_eq(recovered, solvable);
        } else {
            ck_assert_uint_ge(solvable, 60);
            ck_assert_uint_eq(recovered, 0);
        }
        for (uint32_t p = 0; p < n; p++) free(z[p]);
        s_known_free(&k);
    }
}
END_TEST

/* Given the output and the dealer's material, the delivered shares must not depend on the
 * inputs.  Two input pairs with the same product: A = (x, y), B = (y, x).  For each element
 * the test computes u_p = z_p − c_p − d_A·b_p − e_A·a_p (p = 1, 2) with the openings d_A,
 * e_A that input A would give: raw shares make u_p zero under A and non-zero under B; after
 * re-randomization u_p is uniform under both.  Checked with a two-sample chi-square on the
 * top and on the bottom 4 bits, and with every bit balanced within each sample. */
static void s_histo(uint32_t n, int raw, int pair, const uint64_t *xa, const uint64_t *ya,
                    uint64_t hist[2][16], uint64_t bits[64], uint64_t *count)
{
    s_known k;
    s_known_init(&k, n, L_ELEMS);
    uint64_t *z[ET_MAXP] = {0};
    s_run(n, pair ? ya : xa, pair ? xa : ya, raw, &k, z);
    for (uint64_t i = 0; i < L_ELEMS; i++) {
        uint64_t a = 0, b = 0;
        for (uint32_t p = 0; p < n; p++) {
            a += k.a[p][i];
            b += k.b[p][i];
        }
        uint64_t dA = xa[i] - a, eA = ya[i] - b;
        for (uint32_t p = 1; p < n; p++) {
            uint64_t u = z[p][i] - k.c[p][i] - dA * k.b[p][i] - eA * k.a[p][i];
            hist[0][u >> 60]++;
            hist[1][u & 15]++;
            for (int t = 0; t < 64; t++) bits[t] += (u >> t) & 1;
            (*count)++;
        }
    }
    for (uint32_t p = 0; p < n; p++) free(z[p]);
    s_known_free(&k);
}

static double s_chi2(const uint64_t *h0, const uint64_t *h1)
{
    double chi = 0;
    for (int b = 0; b < 16; b++) {
        double s = (double)(h0[b] + h1[b]);
        if (s == 0) continue;
        double d = (double)h0[b] - (double)h1[b];
        chi += d * d / s;
    }
    return chi;
}

START_TEST(test_shares_independent_of_inputs)
{
    const uint32_t n = 3;
    const int runs = 4;   /* 4 runs × 256 elements × 2 parties = 2048 samples per input pair */
    uint64_t xa[L_ELEMS], ya[L_ELEMS];
    s_randvec(xa, L_ELEMS);
    s_randvec(ya, L_ELEMS);
    for (int raw = 1; raw >= 0; raw--) {
        uint64_t hist[2][2][16], bits[2][64], count[2] = {0, 0};
        memset(hist, 0, sizeof hist);
        memset(bits, 0, sizeof bits);
        for (int pair = 0; pair < 2; pair++)
            for (int r = 0; r < runs; r++) s_histo(n, raw, pair, xa, ya, hist[pair], bits[pair], &count[pair]);
        double hi = s_chi2(hist[0][0], hist[1][0]), lo = s_chi2(hist[0][1], hist[1][1]);
        int unbalanced = 0;
        for (int pair = 0; pair < 2; pair++)
            for (int t = 0; t < 64; t++) {
                /* 6 standard deviations of a binomial(count, 1/2) */
                double dev = (double)bits[pair][t] - (double)count[pair] / 2;
                if (dev * dev > 36.0 * (double)count[pair] / 4) unbalanced++;
            }
        if (raw) {   /* the test sees the dependence when it is there */
            ck_assert_msg(hi > 1000 && lo > 1000, "raw shares: chi2 %.1f / %.1f", hi, lo);
            ck_assert_int_gt(unbalanced, 0);
        } else {     /* 15 degrees of freedom; 60 is far beyond the 1e-6 tail */
            ck_assert_msg(hi < 60 && lo < 60, "delivered shares depend on the inputs "
                          "(chi2 %.1f / %.1f)", hi, lo);
            ck_assert_int_eq(unbalanced, 0);
        }
    }
}
END_TEST

/* Outputs still reconstruct for n = 2, 3, 5: opened among the parties and summed from the
 * delivered shares, for a product (to every party) and a linear output (to party 1 only);
 * and every share differs between two runs on the same inputs, seeds and material (fresh
 * masks). */
START_TEST(test_outputs_reconstruct)
{
    static const uint32_t ns[3] = {2, 3, 5};
    for (int t = 0; t < 3; t++) {
        uint32_t n = ns[t];
        const uint64_t len = 16;
        mpc_circuit *c = s_parties(n);
        uint32_t x = mpc_circ_add_input(c, "x", 0, MPC_T_INT, len, 1, 1);
        uint32_t y = mpc_circ_add_input(c, "y", n - 1, MPC_T_INT, len, 1, 1);
        uint32_t m = mpc_circ_add_gate(c, MPC_G_MUL, MPC_T_INT, len, x, y, MPC_NO_WIRE, 0, 0, 2, 1);
        uint32_t s = mpc_circ_add_gate(c, MPC_G_ADD, MPC_T_INT, len, x, y, MPC_NO_WIRE, 0, 0, 3, 1);
        uint32_t all = (1u << n) - 1;
        ck_assert_int_ge(mpc_circ_add_output(c, "m", m, all, 4, 1), 0);
        ck_assert_int_ge(mpc_circ_add_output(c, "s", s, 1u << 1, 5, 1), 0);
        char err[256];
        ck_assert_msg(mpc_circ_finish(c, err, sizeof err) == 0, "%s", err);
        uint64_t xv[16], yv[16];
        s_randvec(xv, len);
        s_randvec(yv, len);
        const uint64_t *vals[2] = {xv, yv};
        uint8_t master[32], iseed[32];
        randombytes_buf(master, 32);
        randombytes_buf(iseed, 32);
        uint64_t *first[ET_MAXP][2];
        for (int run = 0; run < 2; run++) {
            et_job j;
            memset(&j, 0, sizeof j);
            j.c = c;
            j.job = 90 + (uint64_t)run;
            memcpy(j.master, master, 32);
            j.input_seed = iseed;   /* the same client seeds in both runs */
            et_plain_inputs(&j, vals);
            ck_assert_int_eq(et_run(&j), 0);
            for (uint32_t p = 0; p < n; p++)
                ck_assert_msg(j.rc[p] == 0 && j.open_rc[p] == 0, "n %u party %u: %s", n, p, j.err[p]);
            for (uint64_t k = 0; k < len; k++) {
                uint64_t sm = 0, ss = 0;
                for (uint32_t p = 0; p < n; p++) {
                    sm += j.share[p][0][k];
                    ss += j.share[p][1][k];
                }
                ck_assert_uint_eq(sm, xv[k] * yv[k]);
                ck_assert_uint_eq(ss, xv[k] + yv[k]);
                for (uint32_t p = 0; p < n; p++) ck_assert_uint_eq(j.value[p][0][k], xv[k] * yv[k]);
                ck_assert_uint_eq(j.value[1][1][k], xv[k] + yv[k]);
            }
            for (uint32_t p = 0; p < n; p++) {
                if (p != 1) ck_assert_ptr_null(j.value[p][1]);
                for (int o = 0; o < 2; o++) {
                    if (run == 0) {
                        first[p][o] = j.share[p][o];
                        j.share[p][o] = NULL;
                    } else {
                        /* same inputs, same material, fresh masks: every share moved */
                        ck_assert_int_ne(memcmp(first[p][o], j.share[p][o], len * 8), 0);
                        free(first[p][o]);
                    }
                }
            }
            et_clear(&j);
        }
        mpc_circ_destroy(&c);
    }
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("engine_outmask");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_dealer_recipient_attack);
    tcase_add_test(tc, test_shares_independent_of_inputs);
    tcase_add_test(tc, test_outputs_reconstruct);
    suite_add_tcase(s, tc);
    return s;
}
