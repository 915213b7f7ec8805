/* check_compare.c — comparisons: bit-sliced GF(2) helpers (transpose, extract, Beaver AND),
 * the LTZ / EQZ sub-protocols simulated for n parties in one thread on random and edge
 * values, and the engine running them (n = 2, 3, 5; lengths 1, 63, 64, 65): exact results,
 * rounds equal to the gate table, bytes and material per comparison, comparisons inside
 * min / max / abs circuits and overlapping other gates; timings for 10^4 and 10^5. */
#include <check.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runner.h"
#include "binshare.h"
#include "compare.h"
#include "enginetest.h"
#include "mpc_err.h"

static const uint32_t s_ns[] = {2, 3, 5};

static uint64_t *s_randvec(uint64_t n)
{
    uint64_t *v = malloc(n * 8 + 8);
    randombytes_buf(v, n * 8);
    return v;
}

/* The edge values: 0, ±1, ±2, ±2^62, 2^63 − 1, −2^63 and 2^k − 1, 2^k, 2^k + 1 and their
 * negatives for every k. */
static uint64_t s_edges(uint64_t *v)
{
    uint64_t n = 0;
    static const uint64_t fixed[] = {0, 1, (uint64_t)-1, 2, (uint64_t)-2, 1ull << 62,
                                     0 - (1ull << 62), (1ull << 63) - 1, 1ull << 63};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) v[n++] = fixed[i];
    for (unsigned k = 0; k < 64; k++) {
        uint64_t p = 1ull << k;
        uint64_t near[3] = {p - 1, p, p + 1};
        for (int t = 0; t < 3; t++) {
            v[n++] = near[t];
            v[n++] = 0 - near[t];
        }
    }
    return n;   /* 9 + 384 */
}

/* ---- bit-sliced helpers ---- */

START_TEST(test_transpose)
{
    for (int rep = 0; rep < 20; rep++) {
        uint64_t a[64], t[64];
        randombytes_buf(a, sizeof a);
        memcpy(t, a, sizeof a);
        mpc_bin_transpose64(t);
        for (int i = 0; i < 64; i++)
            for (int j = 0; j < 64; j++)
                ck_assert_uint_eq((t[i] >> j) & 1, (a[j] >> i) & 1);
        mpc_bin_transpose64(t);
        ck_assert_int_eq(memcmp(a, t, sizeof a), 0);
    }
    /* slicing with a partial last block */
    uint64_t n = 130, src[130], pl[64 * 3];
    randombytes_buf(src, sizeof src);
    mpc_bin_slice(pl, src, n, 64);
    for (uint64_t k = 0; k < 192; k++)
        for (int i = 0; i < 64; i++) {
            uint64_t bit = (pl[i * 3 + k / 64] >> (k % 64)) & 1;
            ck_assert_uint_eq(bit, k < n ? (src[k] >> i) & 1 : 0);
        }
}
END_TEST

START_TEST(test_extract)
{
    uint64_t src[8], dst[8];
    randombytes_buf(src, sizeof src);
    for (uint64_t off = 0; off < 200; off += 7)
        for (uint64_t n = 1; off + n <= 512; n += 13) {
            memset(dst, 0xa5, sizeof dst);
            mpc_bin_extract(dst, src, off, n);
            for (uint64_t k = 0; k < mpc_bin_words(n) * 64; k++) {
                uint64_t got = (dst[k / 64] >> (k % 64)) & 1;
                uint64_t want = k < n ? (src[(off + k) / 64] >> ((off + k) % 64)) & 1 : 0;
                ck_assert_uint_eq(got, want);
            }
        }
}
END_TEST

/* Beaver AND on XOR shares among n parties, with a triple dealt here. */
START_TEST(test_bin_and)
{
    for (size_t t = 0; t < 3; t++) {
        uint32_t n = s_ns[t];
        enum { W = 5 };
        uint64_t x[W], y[W], xs[5][W], ys[5][W], as[5][W], bs[5][W], cs[5][W];
        uint64_t d[5][W], e[5][W], z[5][W], A[W] = {0}, B[W] = {0}, C[W] = {0};
        randombytes_buf(x, sizeof x);
        randombytes_buf(y, sizeof y);
        randombytes_buf(xs, sizeof xs);
        randombytes_buf(ys, sizeof ys);
        randombytes_buf(as, sizeof as);
        randombytes_buf(bs, sizeof bs);
        randombytes_buf(cs, sizeof cs);
        for (int w = 0; w < W; w++) {
            uint64_t sx = x[w], sy = y[w], sc = 0;
            for (uint32_t p = 0; p + 1 < n; p++) {
                sx ^= xs[p][w];
                sy ^= ys[p][w];
            }
            xs[n - 1][w] = sx;
            ys[n - 1][w] = sy;
            for (uint32_t p = 0; p < n; p++) {
                A[w] ^= as[p][w];
                B[w] ^= bs[p][w];
            }
            for (uint32_t p = 0; p + 1 < n; p++) sc ^= cs[p][w];
            cs[n - 1][w] = sc ^ (A[w] & B[w]);
        }
        uint64_t D[W] = {0}, E[W] = {0};
        for (uint32_t p = 0; p < n; p++) {
            mpc_bin_and_open(d[p], e[p], xs[p], ys[p], as[p], bs[p], W);
            for (int w = 0; w < W; w++) {
                D[w] ^= d[p][w];
                E[w] ^= e[p][w];
            }
        }
        for (int w = 0; w < W; w++) C[w] = 0;
        for (uint32_t p = 0; p < n; p++) {
            mpc_bin_and_close(z[p], D, E, as[p], bs[p], cs[p], W, p == 0);
            for (int w = 0; w < W; w++) C[w] ^= z[p][w];
        }
        for (int w = 0; w < W; w++) ck_assert_uint_eq(C[w], x[w] & y[w]);
    }
}
END_TEST

/* ---- the sub-protocols, n parties simulated in one thread ---- */

/* Runs a batch of L comparisons of x among n parties with material from the test-only local
 * source; res gets the opened results.  Checks the words of every sub-round. */
static void s_sim(mpc_cmp_kind kind, uint32_t n, const uint64_t *x, uint64_t L, uint64_t *res)
{
    uint8_t master[32];
    randombytes_buf(master, 32);
    mpc_cmp *cm[5];
    uint64_t *xs[5], *buf[5];
    uint64_t BW = mpc_cmp_btriple_words(kind, L), DW = mpc_bin_words(L);
    uint64_t *acc = calloc(L + 1, 8);
    for (uint32_t p = 0; p < n; p++) {
        mpc_prep *src = mpc_prep_testlocal_new(master, p, n);
        ck_assert_ptr_nonnull(src);
        uint64_t *m = malloc((4 * L + 3 * BW + DW) * 8);
        mpc_prep_req req = {.n_edabits = L, .n_btriples = BW, .n_dabits = L};
        mpc_prep_out out = {.eda_r = m, .eda_bits = m + L, .ba = m + 2 * L, .bb = m + 2 * L + BW,
                            .bc = m + 2 * L + 2 * BW, .da_r = m + 2 * L + 3 * BW,
                            .da_bits = m + 3 * L + 3 * BW};
        ck_assert_int_eq(mpc_prep_fetch(src, &req, &out), 0);
        mpc_cmp_material mat = {.eda_r = out.eda_r, .eda_bits = out.eda_bits, .ba = out.ba,
                                .bb = out.bb, .bc = out.bc, .da_r = out.da_r,
                                .da_bits = out.da_bits, .da_off = 0};
        cm[p] = mpc_cmp_new(kind, L, p, &mat);
        ck_assert_ptr_nonnull(cm[p]);
        free(m);
        mpc_prep_destroy(&src);
        xs[p] = s_randvec(L);
        if (p == n - 1)
            for (uint64_t k = 0; k < L; k++) xs[p][k] = x[k] - acc[k];
        else
            for (uint64_t k = 0; k < L; k++) acc[k] += xs[p][k];
    }
    uint64_t total = 0;
    for (uint32_t step = 0; step < MPC_CMP_ROUNDS; step++) {
        uint64_t w = mpc_cmp_open_words(cm[0]);
        ck_assert_uint_eq(w, mpc_cmp_words_at(kind, L, step));
        ck_assert_int_eq(mpc_cmp_open_is_arith(cm[0]), step == 0);
        total += w;
        uint64_t *op = calloc(w + 1, 8);
        for (uint32_t p = 0; p < n; p++) {
            ck_assert_uint_eq(mpc_cmp_step(cm[p]), step);
            buf[p] = malloc(w * 8 + 8);
            mpc_cmp_open(cm[p], xs[p], buf[p]);
            for (uint64_t k = 0; k < w; k++) {
                if (step == 0) op[k] += buf[p][k];
                else op[k] ^= buf[p][k];
            }
            free(buf[p]);
        }
        for (uint32_t p = 0; p < n; p++) {
            ck_assert_ptr_null(mpc_cmp_result(cm[p]));
            ck_assert_int_eq(mpc_cmp_absorb(cm[p], op), 0);
        }
        free(op);
    }
    ck_assert_uint_eq(total, L + (kind == MPC_CMP_LTZ ? 237 : 127) * DW);
    memset(res, 0, L * 8);
    for (uint32_t p = 0; p < n; p++) {
        const uint64_t *r = mpc_cmp_result(cm[p]);
        ck_assert_ptr_nonnull(r);
        for (uint64_t k = 0; k < L; k++) res[k] += r[k];
        ck_assert_int_eq(mpc_cmp_absorb(cm[p], res), MPC_ERR_STATE);   /* finished */
        mpc_cmp_destroy(&cm[p]);
        ck_assert_ptr_null(cm[p]);
        free(xs[p]);
    }
    free(acc);
}

static void s_check_results(const uint64_t *x, const uint64_t *lt, const uint64_t *eq, uint64_t L)
{
    for (uint64_t k = 0; k < L; k++) {
        ck_assert_msg(lt[k] == x[k] >> 63, "ltz(%lld) = %llu", (long long)x[k], (unsigned long long)lt[k]);
        ck_assert_msg(eq[k] == (x[k] == 0), "eqz(%lld) = %llu", (long long)x[k], (unsigned long long)eq[k]);
    }
}

START_TEST(test_counts)
{
    ck_assert_uint_eq(mpc_cmp_ands(MPC_CMP_LTZ), MPC_CMP_LTZ_ANDS);
    ck_assert_uint_eq(mpc_cmp_ands(MPC_CMP_EQZ), MPC_CMP_EQZ_ANDS);
    ck_assert_uint_eq(mpc_cmp_btriple_words(MPC_CMP_LTZ, 65), 2 * 118);
    ck_assert_uint_eq(mpc_cmp_btriple_words(MPC_CMP_EQZ, 64), 63);
    /* the gate table gives LTZ and EQZ exactly the rounds the protocols take */
    ck_assert_uint_eq(mpc_gate_infos[MPC_G_LTZ].rounds, MPC_CMP_ROUNDS);
    ck_assert_uint_eq(mpc_gate_infos[MPC_G_EQZ].rounds, MPC_CMP_ROUNDS);
    /* per sub-round words of a batch of 64: c, the six AND levels (2 words per AND), daBit */
    static const uint64_t ltz[8] = {64, 122, 62, 30, 14, 6, 2, 1};
    static const uint64_t eqz[8] = {64, 64, 32, 16, 8, 4, 2, 1};
    for (uint32_t s = 0; s < 8; s++) {
        ck_assert_uint_eq(mpc_cmp_words_at(MPC_CMP_LTZ, 64, s), ltz[s]);
        ck_assert_uint_eq(mpc_cmp_words_at(MPC_CMP_EQZ, 64, s), eqz[s]);
    }
}
END_TEST

START_TEST(test_sim_edges)
{
    uint64_t v[400];
    uint64_t L = s_edges(v);
    uint64_t *lt = malloc(L * 8), *eq = malloc(L * 8);
    for (size_t t = 0; t < 3; t++) {
        s_sim(MPC_CMP_LTZ, s_ns[t], v, L, lt);
        s_sim(MPC_CMP_EQZ, s_ns[t], v, L, eq);
        s_check_results(v, lt, eq, L);
    }
    free(lt);
    free(eq);
}
END_TEST

START_TEST(test_sim_random_lengths)
{
    static const uint64_t lens[] = {1, 2, 63, 64, 65, 127, 128, 129, 1000};
    for (size_t t = 0; t < 3; t++)
        for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
            uint64_t L = lens[i];
            uint64_t *x = s_randvec(L), *lt = malloc(L * 8), *eq = malloc(L * 8);
            for (uint64_t k = 0; k < L; k += 3) x[k] = 0;           /* zeros too */
            for (uint64_t k = 1; k < L; k += 5) x[k] >>= (x[k] % 64); /* small magnitudes */
            s_sim(MPC_CMP_LTZ, s_ns[t], x, L, lt);
            s_sim(MPC_CMP_EQZ, s_ns[t], x, L, eq);
            s_check_results(x, lt, eq, L);
            free(x); free(lt); free(eq);
        }
}
END_TEST

/* ---- the engine ---- */

static mpc_circuit *s_parties(uint32_t n)
{
    mpc_circuit *c = mpc_circ_new();
    char name[16];
    for (uint32_t p = 0; p < n; p++) {
        snprintf(name, sizeof name, "p%u", (unsigned)p);
        ck_assert_int_eq(mpc_circ_add_party(c, name), (int)p);
    }
    return c;
}

/* ltz(x) to everyone, eqz(x) to the last party. */
static mpc_circuit *s_cmp_circuit(uint32_t n, uint64_t L)
{
    mpc_circuit *c = s_parties(n);
    uint32_t x = mpc_circ_add_input(c, "x", 0, MPC_T_INT, L, 1, 1);
    uint32_t lt = mpc_circ_add_gate(c, MPC_G_LTZ, MPC_T_BOOL, L, x, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0, 2, 1);
    uint32_t eq = mpc_circ_add_gate(c, MPC_G_EQZ, MPC_T_BOOL, L, x, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0, 3, 1);
    ck_assert_int_ge(mpc_circ_add_output(c, "lt", lt, (1u << n) - 1, 4, 1), 0);
    ck_assert_int_ge(mpc_circ_add_output(c, "eq", eq, 1u << (n - 1), 5, 1), 0);
    char err[256];
    ck_assert_msg(mpc_circ_finish(c, err, sizeof err) == 0, "%s", err);
    return c;
}

/* Openings per message in s_run_exact (0: the engine's default), and cmp_apart. */
static uint64_t s_slice_words, s_apart;

/* Runs c on vals (dealer or local source) and checks every output against the reference
 * and the shares' sum. */
static void s_run_exact(et_job *j, const mpc_circuit *c, const uint64_t *const *vals, int dealer)
{
    memset(j, 0, sizeof *j);
    j->c = c;
    j->slice_words = s_slice_words;
    j->cmp_apart = s_apart;
    j->use_dealer = dealer;
    j->job = 31;
    j->timeout_ms = 30000;
    randombytes_buf(j->master, 32);
    et_plain_inputs(j, vals);
    ck_assert_int_eq(et_run(j), 0);
    for (uint32_t p = 0; p < c->n_parties; p++)
        ck_assert_msg(j->rc[p] == 0 && j->open_rc[p] == 0, "party %u: %s", p, j->err[p]);
    if (dealer) ck_assert_msg(j->dealer_rc == 0, "dealer: %s", j->dealer_err);
    uint64_t *ref[8] = {0};
    et_ref(c, vals, ref);
    for (uint32_t o = 0; o < c->n_outputs && o < 8; o++) {
        uint64_t len = c->outputs[o].len;
        for (uint32_t p = 0; p < c->n_parties; p++) {
            if (!(c->outputs[o].recipients & (1u << p))) {
                ck_assert_ptr_null(j->value[p][o]);
                continue;
            }
            for (uint64_t k = 0; k < len; k++)
                ck_assert_msg(j->value[p][o][k] == ref[o][k], "output %u[%llu]: %llu, want %llu",
                              o, (unsigned long long)k, (unsigned long long)j->value[p][o][k],
                              (unsigned long long)ref[o][k]);
        }
        free(ref[o]);
    }
}

/* LTZ and EQZ of one vector: exact; 8 rounds; bytes, messages and material per comparison. */
START_TEST(test_engine_exact)
{
    static const uint64_t lens[] = {1, 63, 64, 65};
    for (size_t t = 0; t < 3; t++)
        for (size_t i = 0; i < 4; i++) {
            uint32_t n = s_ns[t];
            uint64_t L = lens[i], W = mpc_bin_words(L);
            mpc_circuit *c = s_cmp_circuit(n, L);
            ck_assert_uint_eq(c->rounds, MPC_CMP_ROUNDS);
            uint64_t *x = s_randvec(L), ev[400];
            uint64_t ne = s_edges(ev);
            for (uint64_t k = 0; k < L; k++)   /* edge values, cycling with offset i */
                if (k % 2 == 0) x[k] = ev[(k / 2 + 50 * i) % ne];
            const uint64_t *vals[1] = {x};
            et_job j;
            s_run_exact(&j, c, vals, (int)(i & 1));
            for (uint32_t p = 0; p < n; p++) {
                mpc_engine_stats *st = &j.st[p];
                ck_assert_uint_eq(st->rounds, MPC_CMP_ROUNDS);
                ck_assert_uint_eq(st->comparisons, 2 * L);
                ck_assert_uint_eq(st->edabits, 2 * L);
                ck_assert_uint_eq(st->dabits, 2 * L);
                ck_assert_uint_eq(st->btriples, (118 + 63) * W);
                ck_assert_uint_eq(st->triples, 0);
                /* opened per peer: 8 bytes per comparison (x − r), then 237 (LTZ) and 127
                 * (EQZ) words per 64 comparisons over the 7 binary sub-rounds */
                uint64_t words = 2 * L + (237 + 127) * W;
                ck_assert_uint_eq(st->open_bytes_sent, 8 * (n - 1) * words);
                ck_assert_uint_eq(st->open_bytes_recv, 8 * (n - 1) * words);
                /* one message per peer per round; outputs: lt to all, eq to the last party;
                 * with the dealer, one request (header + groups) for the whole job */
                uint64_t keys = n - 1;   /* one key message per peer */
                uint64_t outs = (n - 1) + (p == n - 1 ? 0 : 1);
                uint64_t req = (i & 1) ? 2 : 0;
                ck_assert_uint_eq(st->msgs_sent, MPC_CMP_ROUNDS * (n - 1) + keys + outs + req);
            }
            if (i & 1) {   /* one dealer batch for the whole job */
                ck_assert_uint_eq(j.dst.batches, 1);
                ck_assert_uint_eq(j.dst.edabits, 2 * L);
                ck_assert_uint_eq(j.dst.btriples, (118 + 63) * W);
                ck_assert_uint_eq(j.dst.dabits, 2 * L);
            }
            et_clear(&j);
            free(x);
            mpc_circ_destroy(&c);
        }
}
END_TEST

/* Comparisons with their openings in slices of 5 words: the binary sub-rounds' words are
 * XOR-ed and sub-round 0's summed, and slices cut across those segments; still exact. */
START_TEST(test_engine_sliced)
{
    s_slice_words = 5;
    for (size_t t = 0; t < 3; t++) {
        uint32_t n = s_ns[t];
        uint64_t L = 130;
        mpc_circuit *c = s_cmp_circuit(n, L);
        uint64_t *x = s_randvec(L), ev[400];
        uint64_t ne = s_edges(ev);
        for (uint64_t k = 0; k < L; k += 2) x[k] = ev[(k / 2) % ne];
        const uint64_t *vals[1] = {x};
        et_job j;
        s_run_exact(&j, c, vals, (int)(t & 1));
        uint64_t words = 2 * L + (237 + 127) * mpc_bin_words(L);
        ck_assert_uint_eq(j.st[0].open_bytes_sent, 8 * (n - 1) * words);
        ck_assert_uint_gt(j.st[0].msgs_sent, (n - 1) * (words / 5));
        et_clear(&j);
        free(x);
        mpc_circ_destroy(&c);
    }
    s_slice_words = 0;
}
END_TEST

/* ltz(x), ltz(y) and eqz(x) in one layer: its LTZ batch is x's and y's elements, its EQZ
 * batch x's. */
static mpc_circuit *s_apart_circuit(uint32_t n, uint64_t lx, uint64_t ly)
{
    mpc_circuit *c = s_parties(n);
    uint32_t x = mpc_circ_add_input(c, "x", 0, MPC_T_INT, lx, 1, 1);
    uint32_t y = mpc_circ_add_input(c, "y", n - 1, MPC_T_INT, ly, 2, 1);
    uint32_t ltx = mpc_circ_add_gate(c, MPC_G_LTZ, MPC_T_BOOL, lx, x, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0, 3, 1);
    uint32_t lty = mpc_circ_add_gate(c, MPC_G_LTZ, MPC_T_BOOL, ly, y, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0, 4, 1);
    uint32_t eq = mpc_circ_add_gate(c, MPC_G_EQZ, MPC_T_BOOL, lx, x, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0, 5, 1);
    ck_assert_int_ge(mpc_circ_add_output(c, "ltx", ltx, (1u << n) - 1, 6, 1), 0);
    ck_assert_int_ge(mpc_circ_add_output(c, "lty", lty, 1u, 7, 1), 0);
    ck_assert_int_ge(mpc_circ_add_output(c, "eq", eq, 1u << (n - 1), 8, 1), 0);
    char err[256];
    ck_assert_msg(mpc_circ_finish(c, err, sizeof err) == 0, "%s", err);
    return c;
}

/* Opened words per peer of a batch of L comparisons of a kind run in parts of P. */
static uint64_t s_parts_words(uint64_t L, uint64_t P, uint32_t ands)
{
    uint64_t w = 0;
    for (uint64_t off = 0; off < L; off += P) {
        uint64_t m = L - off < P ? L - off : P;
        w += m + (ands == 118 ? 237 : 127) * mpc_bin_words(m);   /* compare.h, "Opened per party" */
    }
    return w;
}

/* Comparison batches run apart (engine.h, cmp_apart): exact for n = 2, 3, 5 with both
 * sources, with slices cutting the parts' messages; the parts, sub-rounds, bytes and
 * material counted per part; the material held at once bounded by one part's, a fraction of
 * what the same batch holds in flight. */
START_TEST(test_engine_apart)
{
    const uint64_t lx = 700, ly = 300, P = 128;
    for (size_t t = 0; t < 3; t++)
        for (int variant = 0; variant < 2; variant++) {
            uint32_t n = s_ns[t];
            mpc_circuit *c = s_apart_circuit(n, lx, ly);
            uint64_t *x = s_randvec(lx), *y = s_randvec(ly), ev[400];
            uint64_t ne = s_edges(ev);
            for (uint64_t k = 0; k < lx; k += 2) x[k] = ev[(k / 2) % ne];
            for (uint64_t k = 1; k < ly; k += 3) y[k] = ev[(k / 3 + 7) % ne];
            const uint64_t *vals[2] = {x, y};
            et_job j, whole;
            s_slice_words = variant ? 5 : 0;
            s_run_exact(&whole, c, vals, variant);   /* the default: both batches in flight */
            s_apart = P;
            s_run_exact(&j, c, vals, variant);
            s_apart = 0;
            s_slice_words = 0;
            uint64_t parts = (lx + ly + P - 1) / P + (lx + P - 1) / P;
            uint64_t words = s_parts_words(lx + ly, P, 118) + s_parts_words(lx, P, 63);
            uint64_t bt = 0;
            for (uint64_t off = 0; off < lx + ly; off += P) bt += 118 * mpc_bin_words(lx + ly - off < P ? lx + ly - off : P);
            for (uint64_t off = 0; off < lx; off += P) bt += 63 * mpc_bin_words(lx - off < P ? lx - off : P);
            for (uint32_t p = 0; p < n; p++) {
                mpc_engine_stats *st = &j.st[p];
                ck_assert_uint_eq(whole.st[p].apart_parts, 0);
                ck_assert_uint_eq(st->apart_parts, parts);
                ck_assert_uint_eq(st->apart_rounds, MPC_CMP_ROUNDS * parts);
                ck_assert_uint_lt(st->rounds, c->rounds);   /* no batch in flight: empty layers skipped */
                ck_assert_uint_eq(st->comparisons, 2 * lx + ly);
                ck_assert_uint_eq(st->edabits, 2 * lx + ly);
                ck_assert_uint_eq(st->dabits, 2 * lx + ly);
                ck_assert_uint_eq(st->btriples, bt);
                ck_assert_uint_eq(st->open_bytes_sent, 8 * (n - 1) * words);
                ck_assert_uint_eq(st->open_bytes_recv, 8 * (n - 1) * words);
                uint64_t part_mat = 3 * P + 3 * 118 * mpc_bin_words(P) + mpc_bin_words(P);
                ck_assert_uint_le(st->material_peak_words, part_mat);
                ck_assert_uint_lt(4 * st->material_peak_words, whole.st[p].material_peak_words);
            }
            et_clear(&j);
            et_clear(&whole);
            free(x);
            free(y);
            mpc_circ_destroy(&c);
        }
}
END_TEST

/* A party failing in the sixth message of a batch run apart: it names the round and the
 * comparisons, the others are aborted, nobody keeps an output share (nor, under ASan, leaks
 * the results written so far). */
START_TEST(test_failure_mid_apart)
{
    uint32_t n = 3;
    mpc_circuit *c = s_apart_circuit(n, 500, 100);
    uint64_t *x = s_randvec(500), *y = s_randvec(100);
    const uint64_t *vals[2] = {x, y};
    et_job j;
    memset(&j, 0, sizeof j);
    j.c = c;
    j.job = 52;
    j.use_dealer = 1;
    j.cmp_apart = 64;
    j.fail_party = 2;
    j.fail_seq = (1ull << 31) | 5ull << 32;
    et_plain_inputs(&j, vals);
    ck_assert_int_eq(et_run(&j), 0);
    ck_assert_int_eq(j.rc[1], MPC_ERR_IO);
    ck_assert_msg(strstr(j.err[1], "round 0: comparisons: sending to party") != NULL, "%s", j.err[1]);
    ck_assert_int_eq(j.rc[0], MPC_ERR_PEER_ABORT);
    ck_assert_int_eq(j.rc[2], MPC_ERR_PEER_ABORT);
    for (uint32_t p = 0; p < n; p++) {
        for (int o = 0; o < 3; o++) ck_assert_ptr_null(j.share[p][o]);
        ck_assert_uint_eq(j.st[p].rounds, 0);
    }
    et_clear(&j);
    free(x);
    free(y);
    mpc_circ_destroy(&c);
}
END_TEST

/* Every edge value through the engine, n = 2, 3, 5 with the dealer. */
START_TEST(test_engine_edges)
{
    uint64_t ev[400];
    uint64_t L = s_edges(ev);
    for (size_t t = 0; t < 3; t++) {
        mpc_circuit *c = s_cmp_circuit(s_ns[t], L);
        const uint64_t *vals[1] = {ev};
        et_job j;
        s_run_exact(&j, c, vals, 1);
        et_clear(&j);
        mpc_circ_destroy(&c);
    }
}
END_TEST

/* min, max, abs and sign as the compiler emits them — SELECT(LTZ(a − b), a, b) — next to a
 * multiplication chain, and a comparison of a product: batches of different layers are in
 * flight together and share messages with the multiplications; results exact, rounds as
 * the layer rule says. */
START_TEST(test_engine_minmax)
{
    for (size_t t = 0; t < 3; t++) {
        uint32_t n = s_ns[t];
        uint64_t L = 65;
        mpc_circuit *c = s_parties(n);
        uint32_t a = mpc_circ_add_input(c, "a", 0, MPC_T_INT, L, 1, 1);
        uint32_t b = mpc_circ_add_input(c, "b", n - 1, MPC_T_INT, L, 2, 1);
        uint32_t d = mpc_circ_add_gate(c, MPC_G_SUB, MPC_T_INT, L, a, b, MPC_NO_WIRE, 0, 0, 3, 1);
        uint32_t lt = mpc_circ_add_gate(c, MPC_G_LTZ, MPC_T_BOOL, L, d, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0, 3, 1);
        uint32_t mn = mpc_circ_add_gate(c, MPC_G_SELECT, MPC_T_INT, L, lt, a, b, 0, 0, 3, 1);
        uint32_t mx = mpc_circ_add_gate(c, MPC_G_SELECT, MPC_T_INT, L, lt, b, a, 0, 0, 4, 1);
        uint32_t la = mpc_circ_add_gate(c, MPC_G_LTZ, MPC_T_BOOL, L, a, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0, 5, 1);
        uint32_t na = mpc_circ_add_gate(c, MPC_G_NEG, MPC_T_INT, L, a, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0, 5, 1);
        uint32_t ab = mpc_circ_add_gate(c, MPC_G_SELECT, MPC_T_INT, L, la, na, a, 0, 0, 5, 1);
        /* sign = ltz(-a) - ltz(a), and eq: a == b */
        uint32_t ln = mpc_circ_add_gate(c, MPC_G_LTZ, MPC_T_BOOL, L, na, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0, 6, 1);
        uint32_t sg = mpc_circ_add_gate(c, MPC_G_SUB, MPC_T_INT, L, ln, la, MPC_NO_WIRE, 0, 0, 6, 1);
        uint32_t eq = mpc_circ_add_gate(c, MPC_G_EQZ, MPC_T_BOOL, L, d, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0, 7, 1);
        /* a product compared one layer later: its batch overlaps the first ones */
        uint32_t m = mpc_circ_add_gate(c, MPC_G_MUL, MPC_T_INT, L, a, b, MPC_NO_WIRE, 0, 0, 8, 1);
        uint32_t lm = mpc_circ_add_gate(c, MPC_G_LTZ, MPC_T_BOOL, L, m, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0, 8, 1);
        uint32_t m2 = mpc_circ_add_gate(c, MPC_G_MUL, MPC_T_INT, L, m, b, MPC_NO_WIRE, 0, 0, 9, 1);
        uint32_t sm0 = mpc_circ_add_gate(c, MPC_G_ADD, MPC_T_INT, L, lm, m2, MPC_NO_WIRE, 0, 0, 9, 1);
        /* (a 17th gate before the outputs: mpc_circ_add_output reads its source gate after a
         * possible reallocation of the gate array, which the 16 -> 32 growth would hit) */
        uint32_t sm = mpc_circ_add_gate(c, MPC_G_SUB, MPC_T_INT, L, sm0, b, MPC_NO_WIRE, 0, 0, 9, 1);
        ck_assert_int_ge(mpc_circ_add_output(c, "min", mn, (1u << n) - 1, 10, 1), 0);
        ck_assert_int_ge(mpc_circ_add_output(c, "max", mx, 1u, 10, 1), 0);
        ck_assert_int_ge(mpc_circ_add_output(c, "abs", ab, 1u, 10, 1), 0);
        ck_assert_int_ge(mpc_circ_add_output(c, "sign", sg, 1u, 10, 1), 0);
        ck_assert_int_ge(mpc_circ_add_output(c, "eq", eq, 1u, 10, 1), 0);
        ck_assert_int_ge(mpc_circ_add_output(c, "mix", sm, 1u, 10, 1), 0);
        char err[256];
        ck_assert_msg(mpc_circ_finish(c, err, sizeof err) == 0, "%s", err);
        ck_assert_uint_eq(c->rounds, 9);   /* mul (1) then ltz (8); select after ltz (8 + 1) */
        uint64_t *av = s_randvec(L), *bv = s_randvec(L), ev[400];
        uint64_t ne = s_edges(ev);
        for (uint64_t k = 0; k < L; k++) {
            av[k] = (uint64_t)((int64_t)(av[k] >> 2) - (1ll << 61));   /* a − b does not wrap */
            bv[k] = (uint64_t)((int64_t)(bv[k] >> 2) - (1ll << 61));
            if (k % 4 == 0) bv[k] = av[k];                              /* ties */
            if (k % 7 == 1) av[k] = ev[k % ne];
        }
        const uint64_t *vals[2] = {av, bv};
        et_job j;
        s_run_exact(&j, c, vals, (int)(t != 1));
        for (uint32_t p = 0; p < n; p++) {
            ck_assert_uint_eq(j.st[p].rounds, c->rounds);
            ck_assert_uint_eq(j.st[p].comparisons, 5 * L);
            ck_assert_uint_eq(j.st[p].triples, 5 * L);   /* 3 SELECT, 2 MUL */
        }
        /* and against plain min/max/abs for the non-wrapping inputs */
        for (uint64_t k = 0; k < L; k++) {
            int64_t x = (int64_t)av[k], y = (int64_t)bv[k];
            if (k % 7 == 1) continue;
            ck_assert_int_eq((int64_t)j.value[0][0][k], x < y ? x : y);
            ck_assert_int_eq((int64_t)j.value[0][1][k], x < y ? y : x);
            ck_assert_int_eq((int64_t)j.value[0][2][k], x < 0 ? -x : x);
            ck_assert_int_eq((int64_t)j.value[0][3][k], (x > 0) - (x < 0));
            ck_assert_uint_eq(j.value[0][4][k], x == y);
        }
        et_clear(&j);
        free(av);
        free(bv);
        mpc_circ_destroy(&c);
    }
}
END_TEST

/* Party 1's view (every word it receives) while party 0 compares A = −1 (ltz 1, eqz 0) or
 * B = 0 (ltz 0, eqz 1): over many runs with fresh randomness the distribution of every view
 * word must not depend on the input — a two-sample chi-square on the top 4 bits of each
 * word position — and no view word equals the input. */
START_TEST(test_view_independent_of_input)
{
    mpc_circuit *c = s_cmp_circuit(2, 1);
    const int runs = 300;
    uint64_t vl = 0;
    static uint64_t hist[2][512][16];
    memset(hist, 0, sizeof hist);
    for (int which = 0; which < 2; which++)
        for (int r = 0; r < runs; r++) {
            uint64_t xv = which ? 0 : (uint64_t)-1;
            const uint64_t *vals[1] = {&xv};
            et_job j;
            memset(&j, 0, sizeof j);
            j.c = c;
            j.job = 200 + (uint64_t)r;
            j.view_party = 2;
            j.no_open = 1;
            randombytes_buf(j.master, 32);
            et_plain_inputs(&j, vals);
            ck_assert_int_eq(et_run(&j), 0);
            ck_assert_int_eq(j.rc[0], 0);
            ck_assert_int_eq(j.rc[1], 0);
            if (!vl) vl = j.view_len;
            ck_assert_uint_eq(j.view_len, vl);
            ck_assert_uint_le(vl, 512);
            for (uint64_t k = 0; k < vl; k++) hist[which][k][j.view[k] >> 60]++;
            et_clear(&j);
        }
    /* key message (the zero-sharing key, 4 words), then the peer's words of both batches:
     * x − r (1 each), then 236 + 1 (LTZ) and 126 + 1 (EQZ) binary words for one comparison
     * each */
    ck_assert_uint_eq(vl, 4 + 2 + 237 + 127);
    for (uint64_t k = 0; k < vl; k++) {
        double chi = 0;
        for (int b = 0; b < 16; b++) {
            double sum = (double)(hist[0][k][b] + hist[1][k][b]);
            if (sum == 0) continue;
            double d = (double)hist[0][k][b] - (double)hist[1][k][b];
            chi += d * d / sum;
        }
        /* 15 degrees of freedom; 60 is far beyond the 1e-6 tail */
        ck_assert_msg(chi < 60, "view word %llu depends on the input (chi2 %.1f)", (unsigned long long)k, chi);
    }
    mpc_circ_destroy(&c);
}
END_TEST

/* A party failing in round 4, while comparison batches of two layers are in flight: it
 * reports the round, the others are aborted, nobody keeps an output share (and under ASan
 * nothing leaks). */
START_TEST(test_failure_mid_comparison)
{
    uint32_t n = 3;
    uint64_t L = 100;
    mpc_circuit *c = s_parties(n);
    uint32_t a = mpc_circ_add_input(c, "a", 0, MPC_T_INT, L, 1, 1);
    uint32_t m = mpc_circ_add_gate(c, MPC_G_MUL, MPC_T_INT, L, a, a, MPC_NO_WIRE, 0, 0, 2, 1);
    uint32_t l0 = mpc_circ_add_gate(c, MPC_G_LTZ, MPC_T_BOOL, L, a, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0, 3, 1);
    uint32_t l1 = mpc_circ_add_gate(c, MPC_G_EQZ, MPC_T_BOOL, L, m, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0, 4, 1);
    uint32_t s = mpc_circ_add_gate(c, MPC_G_ADD, MPC_T_INT, L, l0, l1, MPC_NO_WIRE, 0, 0, 5, 1);
    ck_assert_int_ge(mpc_circ_add_output(c, "o", s, (1u << n) - 1, 6, 1), 0);
    char err[256];
    ck_assert_int_eq(mpc_circ_finish(c, err, sizeof err), 0);
    ck_assert_uint_eq(c->rounds, 9);
    uint64_t *av = s_randvec(L);
    const uint64_t *vals[1] = {av};
    et_job j;
    memset(&j, 0, sizeof j);
    j.c = c;
    j.job = 51;
    j.use_dealer = 1;
    j.fail_party = 2;
    j.fail_seq = 4;
    et_plain_inputs(&j, vals);
    ck_assert_int_eq(et_run(&j), 0);
    ck_assert_int_eq(j.rc[1], MPC_ERR_IO);
    ck_assert_ptr_nonnull(strstr(j.err[1], "round 4"));
    ck_assert_int_eq(j.rc[0], MPC_ERR_PEER_ABORT);
    ck_assert_int_eq(j.rc[2], MPC_ERR_PEER_ABORT);
    /* An abort fails the stream whichever peer party 0 was waiting for (transport.h). */
    ck_assert_msg(strstr(j.err[0], "abort") != NULL, "%s", j.err[0]);
    for (uint32_t p = 0; p < n; p++) {
        ck_assert_ptr_null(j.share[p][0]);
        /* rounds 0..3 completed, or 0..2 where another party's abort overtook round 3 */
        ck_assert(j.st[p].rounds == 4 || (p != 1 && j.st[p].rounds == 3));
    }
    et_clear(&j);
    free(av);
    mpc_circ_destroy(&c);
}
END_TEST

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Runs x − y through LTZ (cmp = 1) or a multiplication x·y (cmp = 0) of length L with the
 * dealer; returns the wall time and checks the results. */
static double s_time_job(uint32_t n, uint64_t L, int cmp, uint64_t *open_bytes)
{
    mpc_circuit *c = s_parties(n);
    uint32_t x = mpc_circ_add_input(c, "x", 0, MPC_T_INT, L, 1, 1);
    uint32_t y = mpc_circ_add_input(c, "y", 1, MPC_T_INT, L, 1, 1);
    uint32_t d = mpc_circ_add_gate(c, cmp ? MPC_G_SUB : MPC_G_MUL, MPC_T_INT, L, x, y, MPC_NO_WIRE, 0, 0, 2, 1);
    uint32_t o = cmp ? mpc_circ_add_gate(c, MPC_G_LTZ, MPC_T_BOOL, L, d, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0, 2, 1) : d;
    ck_assert_int_ge(mpc_circ_add_output(c, "o", o, 1u, 3, 1), 0);
    char err[256];
    ck_assert_int_eq(mpc_circ_finish(c, err, sizeof err), 0);
    uint64_t *xv = s_randvec(L), *yv = s_randvec(L);
    const uint64_t *vals[2] = {xv, yv};
    et_job j;
    memset(&j, 0, sizeof j);
    j.c = c;
    j.use_dealer = 1;
    j.job = 41;
    j.timeout_ms = 60000;
    et_plain_inputs(&j, vals);
    double t0 = s_now();
    ck_assert_int_eq(et_run(&j), 0);
    double dt = s_now() - t0;
    for (uint32_t p = 0; p < n; p++) {
        ck_assert_msg(j.rc[p] == 0 && j.open_rc[p] == 0, "%s", j.err[p]);
        ck_assert_uint_eq(j.st[p].rounds, cmp ? MPC_CMP_ROUNDS : 1);
    }
    for (uint64_t k = 0; k < L; k++) {
        uint64_t want = cmp ? (xv[k] - yv[k]) >> 63 : xv[k] * yv[k];
        if (j.value[0][0][k] != want) ck_abort_msg("element %llu wrong", (unsigned long long)k);
    }
    *open_bytes = j.st[0].open_bytes_sent;
    et_clear(&j);
    free(xv);
    free(yv);
    mpc_circ_destroy(&c);
    return dt;
}

/* Timings (printed, not asserted): L comparisons x < y with the dealer over the in-memory
 * transport, preprocessing included, n = 2 and 3, L = 10^4 and 10^5 — the 10^5 batch still
 * one set of 8 rounds — each next to the same job with one multiplication layer instead
 * (the baseline of the same run, as docs/performance.md measures). */
START_TEST(test_engine_timing)
{
    static const uint64_t lens[] = {10000, 100000};
    for (uint32_t n = 2; n <= 3; n++)
        for (int i = 0; i < 2; i++) {
            uint64_t L = lens[i], bc, bm;
            double tc = s_time_job(n, L, 1, &bc);
            double tm = s_time_job(n, L, 0, &bm);
            printf("timing: %6llu comparisons x < y, n = %u, dealer, in-memory: %.3f s (%.0f per s; "
                   "%.1f x the time of %llu multiplications), %llu opened bytes sent per party\n",
                   (unsigned long long)L, n, tc, (double)L / tc, tc / tm, (unsigned long long)L,
                   (unsigned long long)bc);
        }
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("compare");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_transpose);
    tcase_add_test(tc, test_extract);
    tcase_add_test(tc, test_bin_and);
    tcase_add_test(tc, test_counts);
    tcase_add_test(tc, test_sim_edges);
    tcase_add_test(tc, test_sim_random_lengths);
    tcase_add_test(tc, test_engine_exact);
    tcase_add_test(tc, test_engine_sliced);
    tcase_add_test(tc, test_engine_apart);
    tcase_add_test(tc, test_failure_mid_apart);
    tcase_add_test(tc, test_engine_edges);
    tcase_add_test(tc, test_engine_minmax);
    tcase_add_test(tc, test_view_independent_of_input);
    tcase_add_test(tc, test_failure_mid_comparison);
    tcase_add_test(tc, test_engine_timing);
    suite_add_tcase(s, tc);
    return s;
}

