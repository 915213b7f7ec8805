/* numeric.c — the numeric library of the code generator: secret division, sqrt, rsqrt,
 * exp, log, sigmoid, and the statistics over vectors (mean, var, cov, histogram), all as
 * circuits of existing gates built with the operations of compile.c (codegen.h). */
#include "codegen.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- numerics: secret division, roots, exp, log, sigmoid (LANGUAGE.md "Numerics") ----
 *
 * Every function here is a circuit of existing gates.  The common tool is the *threshold
 * batch*: one LTZ gate compares every element of x against a whole list of public
 * thresholds at once (block j of its operand is x plus threshold j), so a function costs
 * one set of 8 rounds of comparisons however many thresholds and elements there are.  The bits of a monotone
 * family (b_j = [x >= t_j], b_0 >= b_1 >= ...) give any public function g of "how many
 * thresholds x passed" as a *linear* combination, with no triple:
 *     g(count) = g(0) + sum_j b_j (g(j+1) - g(j))
 * (a MUL_PUB by a CONST vector, then per-element sums over the blocks).  With thresholds at
 * the powers of two this yields 2^(61-m) (normalisation), 2^-m, 2^(-m/2) or m·ln 2 for the
 * exponent m of x; with thresholds at the integers it yields floor(t) and 2^floor(t).
 * Mantissas live at P fractional bits (P > f) during the iterations; products truncate
 * by P; one final TRUNC returns to f bits.  The error bounds are in LANGUAGE.md and are
 * measured by tests/check_numeric.c and scripts/accuracy (docs/accuracy.md).
 * The overall shape — normalise to a mantissa in [1/2, 1), Goldschmidt iterations for the
 * reciprocal, undo the scale — follows Catrina and Saxena, "Secure computation with
 * fixed-point numbers" (FC 2010, §4 division); sqrt/rsqrt use Goldschmidt's simultaneous
 * iteration for sqrt and 1/sqrt (as in Aly and Smart, "Benchmarking privacy preserving
 * scientific operations", ACNS 2019); exp is 2^floor(t)·2^frac(t).  What differs here is
 * how the exponent is found: one batch of comparisons against every threshold at once
 * (8 rounds for any number of thresholds) instead of a bit decomposition. */

#define S_NUM_MAX_FRAC   20            /* the functions below need precision <= 20 */
#define S_NUM_MAX_ELEMS  (1ull << 28)  /* elements of one threshold batch (the daemon's limits may be lower) */
#define S_DIV_P          22            /* mantissa bits of division and reciprocal */
#define S_DIV_H          4             /* extra bits of the scaled dividend */
#define S_ROOT_P         24            /* sqrt, rsqrt */
#define S_LOG_P          24
#define S_LOG_PC         30            /* polynomial coefficient bits */
#define S_EXP_P          20            /* exp, sigmoid */
#define S_EXP_PC         30
#define S_SIG_K          24            /* sigmoid: 2^-|t| is 0 from |t| >= 24, |x| >= 16.64 */

/* Polynomials (coefficients of z^0..z^d): Chebyshev interpolation at d+1 nodes, rewritten
 * in powers of the centred variable z (see scripts/accuracy --coefficients, which prints
 * them again with their maximum errors; doubles are converted to fixed point by
 * multiplying by a power of two and rounding, which is exact and portable). */
/* 2^(1/2 + z), z in [-1/2, 1/2): relative error 2.6e-9. */
static const double s_exp2_poly[] = {1.414213562373095, 0.9802581804401738, 0.33973158738454945,
                                     0.07849348039564776, 0.013601986198440028, 0.0018951067270742375,
                                     0.00021865784789757266};
/* 2^-(1/2 + z), z in [-1/2, 1/2): relative error 2.6e-9. */
static const double s_exp2n_poly[] = {0.7071067811865479, -0.49012909022008605, 0.16986579369226554,
                                      -0.039246740197835805, 0.006800993099273812, -0.0009475533634924561,
                                      0.00010932892385946096};
/* ln(3/4 + z), z in [-1/4, 1/4): absolute error 3.9e-8. */
static const double s_log_poly[] = {-0.2876820724517812, 1.3333323510867503, -0.8888877055514841,
                                    0.7903315635914604, -0.7903741380889894, 0.8310333473231771,
                                    -0.9222753847554688, 1.3104870080521018, -1.5376908959717386};

#define S_LN2     0.69314718055994530942
#define S_LOG2E   1.44269504088896340736
#define S_SQRT2   1.41421356237309504880

/* round(x) as a ring element (two's complement); |x| < 2^62. */
static uint64_t s_rnd(double x)
{
    double r = x < 0 ? -x : x;
    uint64_t u = (uint64_t)(r + 0.5);
    return x < 0 ? 0 - u : u;
}

/* 2^(e/2) for an integer e, as a double (exact up to the one rounding of sqrt 2). */
static double s_pow2half(int e)
{
    int h = e >= 0 ? e / 2 : -((-e + 1) / 2);   /* floor(e / 2) */
    double v = (e - 2 * h) ? S_SQRT2 : 1.0;
    for (; h > 0; h--) v *= 2;
    for (; h < 0; h++) v /= 2;
    return v;
}

static void s_num_check(cg_comp *C, const mpc_node *n, const char *what)
{
    if (C->frac > S_NUM_MAX_FRAC)
        cg_error(C, n, "%s needs precision at most %d (this program has %u)", what, S_NUM_MAX_FRAC, C->frac);
}

static cg_val s_fpub(uint64_t k) { return cg_pub(MPC_T_FIX, k, 0, 1); }

/* Warns when a ranged argument can leave a function's valid range lo_enc <= X < hi_enc. */
static void s_arg_range(cg_comp *C, const mpc_node *n, cg_val x, double lo_enc, double hi_enc, const char *what)
{
    if (!x.rg || x.pub) return;
    if (x.hi >= hi_enc || x.lo < lo_enc) {
        uint32_t line = n ? n->line : 0;
        if (line && line == C->range_warned_line) return;
        C->range_warned_line = line;
        C->overflow_warnings++;
        mpc_diag_warning(C->diag, line, n ? n->col : 0,
                         "the argument of %s can leave its valid range for the declared input ranges (LANGUAGE.md, Numerics)",
                         what);
    }
}

/* TRUNC(a * b, sh) */
static cg_val s_pmul(cg_comp *C, const mpc_node *n, cg_val a, cg_val b, unsigned sh)
{
    return cg_raw_trunc(C, n, MPC_T_FIX, cg_raw_mul(C, n, MPC_T_FIX, a, b), sh);
}

/* TRUNC(a * b + 2^(sh-1), sh): the product rounded to nearest (the final step of a function). */
static cg_val s_pmul_rnd(cg_comp *C, const mpc_node *n, cg_val a, cg_val b, unsigned sh)
{
    cg_val p = cg_raw_add(C, n, MPC_T_FIX, cg_raw_mul(C, n, MPC_T_FIX, a, b), s_fpub((uint64_t)1 << (sh - 1)));
    return cg_raw_trunc(C, n, MPC_T_FIX, p, sh);
}

/* A CONST gate of k blocks of len elements, block j all vals[j]. */
static uint32_t s_cblocks(cg_comp *C, const mpc_node *n, const uint64_t *vals, unsigned k, uint64_t len)
{
    uint64_t total = (uint64_t)k * len;
    uint64_t *v = malloc(total * sizeof *v);
    if (!v) cg_error(C, n, "out of memory");
    for (unsigned j = 0; j < k; j++)
        for (uint64_t e = 0; e < len; e++) v[(uint64_t)j * len + e] = vals[j];
    uint32_t w = mpc_circ_add_const(C->c, MPC_T_INT, v, total, n->line, n->col);
    free(v);
    if (w == MPC_NO_WIRE) cg_error(C, n, "circuit too large or out of memory");
    return w;
}

/* The threshold batch: one LTZ gate over kn + kp blocks of x's length; block j < kn holds
 * LTZ(offn[j] - x), block kn + j holds LTZ(x + offp[j]).  A scalar x is broadcast against
 * one CONST of the k thresholds; a vector gets one ADD_PUB per block, joined by CONCAT. */
static uint32_t s_ltz_blocks(cg_comp *C, const mpc_node *n, cg_val x, const uint64_t *offn, unsigned kn,
                             const uint64_t *offp, unsigned kp)
{
    uint64_t len = x.len;
    if ((uint64_t)(kn + kp) * len > S_NUM_MAX_ELEMS)
        cg_error(C, n, "vector too long for this function: %llu elements x %u thresholds exceeds %llu",
                (unsigned long long)len, kn + kp, (unsigned long long)S_NUM_MAX_ELEMS);
    uint32_t d = MPC_NO_WIRE;
    if (len > 1) {
        /* A vector: one ADD_PUB of a scalar constant per block, joined by CONCAT (a CONST
         * of k·len values would make the circuit file grow with the data). */
        cg_val nx = kn ? cg_raw_neg(C, n, MPC_T_FIX, x) : x;
        for (unsigned j = 0; j < kn + kp; j++) {
            uint32_t src = j < kn ? nx.wire : x.wire;
            uint64_t off = j < kn ? offn[j] : offp[j - kn];
            uint32_t b = cg_gate(C, n, MPC_G_ADD_PUB, MPC_T_FIX, len, src, cg_const(C, n, MPC_T_INT, off), MPC_NO_WIRE, 0, 0);
            d = j == 0 ? b : cg_gate(C, n, MPC_G_CONCAT, MPC_T_FIX, (uint64_t)(j + 1) * len, d, b, MPC_NO_WIRE, 0, 0);
        }
        return cg_gate(C, n, MPC_G_LTZ, MPC_T_BOOL, (kn + kp) * len, d, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0);
    }
    if (kn) {
        cg_val nx = cg_raw_neg(C, n, MPC_T_FIX, x);
        d = cg_gate(C, n, MPC_G_ADD_PUB, MPC_T_FIX, kn, nx.wire,
                   s_cblocks(C, n, offn, kn, len), MPC_NO_WIRE, 0, 0);
    }
    if (kp) {
        uint32_t p = cg_gate(C, n, MPC_G_ADD_PUB, MPC_T_FIX, kp, x.wire,
                            s_cblocks(C, n, offp, kp, len), MPC_NO_WIRE, 0, 0);
        d = d == MPC_NO_WIRE ? p
                             : cg_gate(C, n, MPC_G_CONCAT, MPC_T_FIX, (kn + kp) * len, d, p, MPC_NO_WIRE, 0, 0);
    }
    return cg_gate(C, n, MPC_G_LTZ, MPC_T_BOOL, (kn + kp) * len, d, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0);
}

/* Block j (length len) of a k-block wire. */
cg_val cg_block(cg_comp *C, const mpc_node *n, uint32_t w, unsigned j, uint64_t len, int is_vec)
{
    return cg_sec(MPC_T_INT, cg_gate(C, n, MPC_G_SLICE, MPC_T_INT, len, w, MPC_NO_WIRE, MPC_NO_WIRE,
                                   (uint64_t)j * len, 1), is_vec, len);
}

/* k0 + sum_j bits_j * coefs[j] per element over the k blocks of `bits` (local gates only). */
static cg_val s_lincomb(cg_comp *C, const mpc_node *n, uint32_t bits, unsigned k, uint64_t len, int is_vec,
                       const uint64_t *coefs, uint64_t k0)
{
    if (len > 1) {   /* per block: SLICE, MUL_PUB by a scalar constant, ADD */
        cg_val acc = cg_pub(MPC_T_INT, k0, is_vec, len);
        for (unsigned j = 0; j < k; j++) {
            if (coefs[j] == 0) continue;
            cg_val b = cg_block(C, n, bits, j, len, is_vec);
            acc = cg_raw_add(C, n, MPC_T_INT, acc, cg_raw_mul(C, n, MPC_T_INT, b, cg_pub(MPC_T_INT, coefs[j], 0, 1)));
        }
        return acc;
    }
    uint32_t m = cg_gate(C, n, MPC_G_MUL_PUB, MPC_T_INT, (uint64_t)k * len, bits, s_cblocks(C, n, coefs, k, len),
                        MPC_NO_WIRE, 0, 0);
    cg_val acc = cg_sec(MPC_T_INT, cg_gate(C, n, MPC_G_SUM, MPC_T_INT, 1, m, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0), is_vec, 1);
    return cg_raw_add(C, n, MPC_T_INT, acc, cg_pub(MPC_T_INT, k0, 0, 1));
}

/* Normalisation of x (fix, secret): bits of [x >= 2^j] for j < L (then, if sgn, [x <= -2^j]),
 * and the mantissa a = x / 2^(m+1) at P bits, |a| in [1/2, 1), 0 when x = 0, where m is
 * the position of the top bit of |X|; requires |X| < 2^L.  Cost: 8 rounds (LTZ) + 2 (MUL,
 * TRUNC), one triple per element. */
typedef struct {
    uint32_t bits;
    unsigned L, k;   /* k = L or 2L blocks */
    cg_val    a;
    cg_val    s;      /* sgn: [x < 0] */
} s_norm_t;

static void s_normalise(cg_comp *C, const mpc_node *n, cg_val x, unsigned L, int sgn, unsigned P, s_norm_t *r)
{
    uint64_t off[64] = {0}, coef[128] = {0};
    for (unsigned j = 0; j < L; j++) off[j] = ((uint64_t)1 << j) - 1;
    r->L = L;
    r->k = sgn ? 2 * L : L;
    r->bits = s_ltz_blocks(C, n, x, off, L, sgn ? off : NULL, sgn ? L : 0);
    /* S1 = 2^(61 - m): telescoped over each family. */
    for (unsigned j = 0; j < L; j++) coef[j] = j == 0 ? (uint64_t)1 << 61 : 0 - ((uint64_t)1 << (61 - j));
    for (unsigned j = 0; j < L; j++) coef[L + j] = coef[j];
    cg_val s1 = s_lincomb(C, n, r->bits, r->k, x.len, x.is_vec, coef, 0);
    r->a = s_pmul(C, n, x, s1, 62 - P);
    r->s = sgn ? cg_block(C, n, r->bits, L, x.len, x.is_vec) : cg_pub(MPC_T_INT, 0, 0, 1);
}

/* g(m) for the exponent m of the normalised value: g[j] is the value when m = j, g0 when
 * x = 0 (no threshold passed). */
static cg_val s_expfn(cg_comp *C, const mpc_node *n, const s_norm_t *N, cg_val x, const uint64_t *g, uint64_t g0)
{
    uint64_t coef[128] = {0};
    for (unsigned j = 0; j < N->L; j++) coef[j] = g[j] - (j ? g[j - 1] : g0);
    for (unsigned j = 0; j < N->L; j++) coef[N->L + j] = coef[j];
    return s_lincomb(C, n, N->bits, N->k, x.len, x.is_vec, coef, g0);
}

/* 1/a at P bits for a = A/2^P in ±[1/2, 1], s = [a < 0] (an int bit or public 0).
 * Initial r0 = c·sign - 2a with c = 4·sqrt(3) - 4, |1 - a·r0| <= 0.0718; then Goldschmidt:
 * e0 = 1 - a·r0, q_{i+1} = q_i (1 + e_i), e_{i+1} = e_i^2; three steps leave a relative
 * error e0^8 < 1e-9 plus rounding.  8 rounds, 6 triples per element. */
static cg_val s_recip_core(cg_comp *C, const mpc_node *n, cg_val a, cg_val s, unsigned P)
{
    uint64_t c = s_rnd(2.92820323027550917 * (double)((uint64_t)1 << P));
    cg_val sg = cg_raw_mul(C, n, MPC_T_FIX, s, cg_pub(MPC_T_INT, 0 - 2 * c, 0, 1));
    cg_val r = cg_raw_sub(C, n, MPC_T_FIX, cg_raw_add(C, n, MPC_T_FIX, sg, s_fpub(c)),
                        cg_raw_mul(C, n, MPC_T_FIX, a, cg_pub(MPC_T_INT, 2, 0, 1)));
    cg_val e = cg_raw_sub(C, n, MPC_T_FIX, s_fpub((uint64_t)1 << P), s_pmul(C, n, a, r, P));
    for (int i = 0; i < 3; i++) {
        cg_val re = s_pmul(C, n, r, e, P);
        if (i < 2) e = s_pmul(C, n, e, e, P);
        r = cg_raw_add(C, n, MPC_T_FIX, r, re);
    }
    return r;
}

/* x / y for fix x (secret or public) and secret fix y (LANGUAGE.md "Division by a secret"). */
cg_val cg_secret_div(cg_comp *C, const mpc_node *n, cg_val x, cg_val y)
{
    s_num_check(C, n, "division by a secret");
    unsigned f = C->frac, P = S_DIV_P, h = S_DIV_H, L = 26 + f;
    int vec;
    uint64_t len;
    cg_shape2(C, n, &x, &y, &vec, &len, "'/'");
    s_arg_range(C, n, y, -ldexp(1, (int)L) + 1, ldexp(1, (int)L), "'/'");
    s_norm_t N;
    s_normalise(C, n, y, L, 1, P, &N);
    cg_val r = s_recip_core(C, n, N.a, N.s, P);
    /* V = x · 2^(f + h - m - 1), at exactly f+h-m-1 ≥ ... via Sv = 2^(L - m - 1) and a TRUNC. */
    uint64_t g[64] = {0};
    for (unsigned j = 0; j < L; j++) g[j] = (uint64_t)1 << (L - j - 1);
    cg_val sv = s_expfn(C, n, &N, y, g, 0);
    cg_val v = s_pmul(C, n, x, sv, L - f - h);
    cg_val q = s_pmul_rnd(C, n, v, r, P + h);
    return cg_broadcast(C, n, q, vec, len);
}

/* sqrt (want_sqrt) or rsqrt of a secret fix x. */
cg_val cg_root(cg_comp *C, const mpc_node *n, cg_val x, int want_sqrt)
{
    s_num_check(C, n, want_sqrt ? "sqrt()" : "rsqrt()");
    unsigned f = C->frac, P = S_ROOT_P, T = P + 3;
    unsigned L = want_sqrt ? 69 - f : 56;
    if (L > 60) L = 60;
    s_arg_range(C, n, x, want_sqrt ? -INFINITY : 1, ldexp(1, (int)L), want_sqrt ? "sqrt()" : "rsqrt()");
    s_norm_t N;
    s_normalise(C, n, x, L, 0, P, &N);
    /* y0 = c0 - a with c0 = 1.94972: |1 - a·y0^2| <= 0.098 on [1/2, 1). Goldschmidt with
     * g = a·y, y -> rsqrt(a), g -> sqrt(a): rr = (1 - g·y)/2, g *= 1 + rr, y *= 1 + rr. */
    cg_val a = N.a;
    cg_val y = cg_raw_sub(C, n, MPC_T_FIX, s_fpub(s_rnd(1.94972 * (double)((uint64_t)1 << P))), a);
    cg_val g = s_pmul(C, n, a, y, P);
    for (int i = 0; i < 3; i++) {
        cg_val rr = cg_raw_sub(C, n, MPC_T_FIX, s_fpub((uint64_t)1 << (P - 1)), s_pmul(C, n, g, y, P + 1));
        cg_val g2 = cg_raw_add(C, n, MPC_T_FIX, g, s_pmul(C, n, g, rr, P));
        cg_val y2 = cg_raw_add(C, n, MPC_T_FIX, y, s_pmul(C, n, y, rr, P));
        g = g2;
        y = y2;
    }
    uint64_t sc[64] = {0};
    for (unsigned j = 0; j < L; j++) {
        /* sqrt:  Q = G · 2^((m+1+f)/2 + T - P) / 2^T
         * rsqrt: Q = Y · 2^((3f - m - 1)/2 + T - P) / 2^T */
        int e = want_sqrt ? (int)(j + 1 + f) + 2 * (int)(T - P) : (int)(3 * f) - (int)j - 1 + 2 * (int)(T - P);
        sc[j] = s_rnd(s_pow2half(e));
    }
    cg_val s = s_expfn(C, n, &N, x, sc, 0);
    return s_pmul_rnd(C, n, want_sqrt ? g : y, s, T);
}

/* sum_k c_k z^k at P bits for z at P bits: powers by a product tree (depth ceil(log2 d)
 * products), coefficients at Pc bits, one TRUNC; `extra` (at P + Pc bits) is added before
 * the truncation, which is by P + Pc - out_bits. */
static cg_val s_poly(cg_comp *C, const mpc_node *n, cg_val z, const double *c, unsigned d, unsigned P, unsigned Pc,
                    cg_val extra, unsigned out_bits)
{
    cg_val pw[16];
    pw[1] = z;
    for (unsigned k = 2; k <= d; k++) {
        unsigned hi = 1;
        while (hi * 2 < k) hi *= 2;   /* k = hi + (k - hi), both already computed at lower depth */
        pw[k] = s_pmul(C, n, pw[hi], pw[k - hi], P);
    }
    double scale = (double)((uint64_t)1 << Pc);
    cg_val acc = cg_raw_add(C, n, MPC_T_FIX, extra, s_fpub(s_rnd(c[0] * scale * (double)((uint64_t)1 << P))));
    for (unsigned k = 1; k <= d; k++)
        acc = cg_raw_add(C, n, MPC_T_FIX, acc, cg_raw_mul(C, n, MPC_T_FIX, pw[k], cg_pub(MPC_T_INT, s_rnd(c[k] * scale), 0, 1)));
    acc = cg_raw_add(C, n, MPC_T_FIX, acc, s_fpub((uint64_t)1 << (P + Pc - out_bits - 1)));
    return cg_raw_trunc(C, n, MPC_T_FIX, acc, P + Pc - out_bits);
}

/* log(x), natural, for secret fix x > 0. */
cg_val cg_log(cg_comp *C, const mpc_node *n, cg_val x)
{
    s_num_check(C, n, "log()");
    unsigned f = C->frac, P = S_LOG_P, Pc = S_LOG_PC, L = 56;
    s_arg_range(C, n, x, 1, ldexp(1, (int)L), "log()");
    s_norm_t N;
    s_normalise(C, n, x, L, 0, P, &N);
    /* log x = (m + 1 - f)·ln 2 + ln a, m + 1 = number of thresholds passed. */
    uint64_t g[64] = {0};
    uint64_t ln2 = s_rnd(S_LN2 * (double)((uint64_t)1 << (P + Pc)));
    for (unsigned j = 0; j < L; j++) g[j] = (uint64_t)(j + 1);
    cg_val m1 = s_expfn(C, n, &N, x, g, 0);
    cg_val e = cg_raw_mul(C, n, MPC_T_FIX, cg_raw_add(C, n, MPC_T_INT, m1, cg_pub(MPC_T_INT, 0 - (uint64_t)f, 0, 1)),
                        cg_pub(MPC_T_INT, ln2, 0, 1));
    cg_val z = cg_raw_sub(C, n, MPC_T_FIX, N.a, s_fpub((uint64_t)3 << (P - 2)));
    return s_poly(C, n, z, s_log_poly, 8, P, Pc, e, f);
}

/* t = ±x · log2(e) at P bits, through a constant of P + g - f bits (relative error
 * 2^-(P+g)); the product needs |x| < 2^(61.5 - P - g). */
static cg_val s_log2e_times(cg_comp *C, const mpc_node *n, cg_val x, unsigned P, int neg, unsigned g)
{
    unsigned f = C->frac;
    uint64_t k = s_rnd(S_LOG2E * (double)((uint64_t)1 << (P + g - f)));
    return s_pmul(C, n, x, cg_pub(MPC_T_INT, neg ? 0 - k : k, 0, 1), g);
}

/* exp(x) for secret fix x: 0 below -(f+1)·ln 2, saturating at 2^kmax from kmax·ln 2 on. */
cg_val cg_exp(cg_comp *C, const mpc_node *n, cg_val x)
{
    s_num_check(C, n, "exp()");
    unsigned f = C->frac, P = S_EXP_P, T = P + 1;
    int kmin = -(int)(f + 1), kmax = 59 - (int)P - (int)f;
    unsigned K = (unsigned)(kmax - kmin + 1);
    uint64_t one = (uint64_t)1 << P;
    s_arg_range(C, n, x, -INFINITY, kmax * S_LN2 * ldexp(1, (int)f), "exp()");
    cg_val t = s_log2e_times(C, n, x, P, 0, 24);   /* |x| < 2^17.5 */
    uint64_t off[64] = {0}, coef[64] = {0};
    for (unsigned j = 0; j < K; j++) off[j] = (uint64_t)(int64_t)(kmin + (int)j) * one - 1;   /* [t >= k] */
    uint32_t bits = s_ltz_blocks(C, n, t, off, K, NULL, 0);
    /* frac = t_c - i with i = kmin - 1 + count and t clamped to [kmin - 1, kmax]:
     * t·(b_kmin - b_kmax) - (kmin-1)·b_kmin + kmax·b_kmax - count (all times 2^P). */
    cg_val d1 = cg_raw_sub(C, n, MPC_T_INT, cg_block(C, n, bits, 0, x.len, x.is_vec),
                         cg_block(C, n, bits, K - 1, x.len, x.is_vec));
    for (unsigned j = 0; j < K; j++) coef[j] = 0 - one;
    coef[0] += (uint64_t)(int64_t)(1 - kmin) * one;
    coef[K - 1] += (uint64_t)(int64_t)kmax * one;
    cg_val frac = cg_raw_add(C, n, MPC_T_FIX, cg_raw_mul(C, n, MPC_T_FIX, t, d1),
                           s_lincomb(C, n, bits, K, x.len, x.is_vec, coef, 0));
    cg_val z = cg_raw_sub(C, n, MPC_T_FIX, frac, s_fpub(one / 2));
    cg_val p = s_poly(C, n, z, s_exp2_poly, 6, P, S_EXP_PC, s_fpub(0), P);
    /* 2^i · 2^f · 2^(T-P) = 2^(count - 1) for count >= 1, 0 for count = 0 (t < kmin). */
    for (unsigned j = 0; j < K; j++) coef[j] = j == 0 ? 1 : ((uint64_t)1 << j) - ((uint64_t)1 << (j - 1));
    cg_val s = s_lincomb(C, n, bits, K, x.len, x.is_vec, coef, 0);
    return s_pmul_rnd(C, n, p, s, T);
}

/* sigmoid(x) = 1/(1 + e^-x) for secret fix x, through u = 2^-|t|, t = -x·log2 e. */
cg_val cg_sigmoid(cg_comp *C, const mpc_node *n, cg_val x)
{
    s_num_check(C, n, "sigmoid()");
    unsigned f = C->frac, P = S_EXP_P, K = S_SIG_K;
    uint64_t one = (uint64_t)1 << P;
    cg_val t = s_log2e_times(C, n, x, P, 1, 16);   /* |x| < 2^25.5 */
    /* blocks 0..K-1: [t >= k] for k = 1..K; block K: [t < 0]; blocks K+1..2K: [t <= -k]. */
    uint64_t offn[64] = {0}, offp[64] = {0}, coef[128] = {0};
    for (unsigned k = 1; k <= K; k++) offn[k - 1] = (uint64_t)k * one - 1;
    offp[0] = 0;
    for (unsigned k = 1; k <= K; k++) offp[k] = (uint64_t)k * one - 1;
    uint32_t bits = s_ltz_blocks(C, n, t, offn, K, offp, K + 1);
    unsigned nb = 2 * K + 1;
    uint64_t len = x.len;
    /* c = 1 - 2s - [t >= K] + [t <= -K]; |t| clamped to K: c·t + K·([t >= K] + [t <= -K]). */
    memset(coef, 0, sizeof coef);
    coef[K] = 0 - (uint64_t)2;
    coef[K - 1] = 0 - (uint64_t)1;
    coef[2 * K] = 1;
    cg_val c = s_lincomb(C, n, bits, nb, len, x.is_vec, coef, 1);
    /* frac' = |t|_c - 2^P·count, count = sum of both families. */
    for (unsigned j = 0; j < nb; j++) coef[j] = j == K ? 0 : 0 - one;
    coef[K - 1] += (uint64_t)K * one;
    coef[2 * K] += (uint64_t)K * one;
    cg_val frac = cg_raw_add(C, n, MPC_T_FIX, cg_raw_mul(C, n, MPC_T_FIX, t, c),
                           s_lincomb(C, n, bits, nb, len, x.is_vec, coef, 0));
    cg_val z = cg_raw_sub(C, n, MPC_T_FIX, frac, s_fpub(one / 2));
    cg_val pn = s_poly(C, n, z, s_exp2n_poly, 6, P, S_EXP_PC, s_fpub(0), P);
    /* u = 2^-count · pn: scale g(count) = 2^(P - count) for count < min(K, P + 1), else 0. */
    uint64_t g[64] = {0};
    for (unsigned k = 0; k <= K; k++) g[k] = (k < K && k <= P) ? (uint64_t)1 << (P - k) : 0;
    for (unsigned j = 0; j < nb; j++) coef[j] = 0;
    for (unsigned k = 1; k <= K; k++) {
        coef[k - 1] = g[k] - g[k - 1];
        coef[K + k] = g[k] - g[k - 1];
    }
    cg_val s = s_lincomb(C, n, bits, nb, len, x.is_vec, coef, g[0]);
    cg_val u = s_pmul(C, n, pn, s, P);
    /* 1 + u in [1, 2] is a in [1/2, 1] at P + 1 bits; 1/(1+u) = r/2. */
    cg_val a = cg_raw_add(C, n, MPC_T_FIX, u, s_fpub(one));
    cg_val r = s_recip_core(C, n, a, cg_pub(MPC_T_INT, 0, 0, 1), P + 1);   /* sigma(|x|) at P + 2 bits */
    /* x >= 0 (t <= 0: s = 1, or t = 0 where both sides are 1/2): sigma(|x|), else 1 - sigma(|x|);
     * saturated (|t| >= K): exactly 1 (t <= -K) or 0 (t >= K).  With w = 1 - sat and
     * s·sat = [t <= -K] (the sign bit is 1 there and 0 at t >= K), all of it is
     *   w·(1 - r) + (s - [t <= -K])·(2r - 1) + [t <= -K]
     * two products of bits by r in one round.  The rounding half-ulp is added only when not
     * saturated, so the saturated values are exact multiples that the TRUNC keeps exact. */
    cg_val sbit = cg_block(C, n, bits, K, len, x.is_vec);
    cg_val tneg = cg_block(C, n, bits, 2 * K, len, x.is_vec), tpos = cg_block(C, n, bits, K - 1, len, x.is_vec);
    cg_val w = cg_raw_sub(C, n, MPC_T_INT, cg_raw_sub(C, n, MPC_T_INT, cg_pub(MPC_T_INT, 1, 0, 1), tpos), tneg);
    uint64_t ONE = (uint64_t)1 << (P + 2), HALF = (uint64_t)1 << (P + 1 - f);
    cg_val d = cg_raw_sub(C, n, MPC_T_FIX, cg_raw_mul(C, n, MPC_T_FIX, r, cg_pub(MPC_T_INT, 2, 0, 1)), s_fpub(ONE));
    cg_val res = cg_raw_mul(C, n, MPC_T_FIX, w, cg_raw_sub(C, n, MPC_T_FIX, s_fpub(ONE + HALF), r));
    res = cg_raw_add(C, n, MPC_T_FIX, res, cg_raw_mul(C, n, MPC_T_FIX, cg_raw_sub(C, n, MPC_T_INT, sbit, tneg), d));
    res = cg_raw_add(C, n, MPC_T_FIX, res, cg_raw_mul(C, n, MPC_T_FIX, tneg, cg_pub(MPC_T_INT, ONE, 0, 1)));
    cg_val out = cg_raw_trunc(C, n, MPC_T_FIX, res, P + 2 - f);
    return cg_ranged(C, n, out, 1, -2, ldexp(1, (int)f) + 2);   /* within 2 ulp of [0, 1] */
}

/* ---- statistics over vectors (population forms, dividing by n like numpy) ---- */

/* A numeric argument as fix: int and bool secrets convert (exactly); public values are an
 * error (compute them yourself). */
cg_val cg_num_arg(cg_comp *C, const mpc_node *n, cg_val v, const char *fn)
{
    if (v.pub) cg_error(C, n, "%s() of a compile-time constant is not supported; its argument must be secret", fn);
    return cg_to_fix(C, n, v);
}

cg_val cg_mean(cg_comp *C, const mpc_node *n, cg_val v)
{
    cg_val s = cg_sec(MPC_T_FIX, cg_gate(C, n, MPC_G_SUM, MPC_T_FIX, 1, v.wire, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0), 0, 1);
    s = cg_ranged(C, n, s, v.rg, v.lo * (double)v.len, v.hi * (double)v.len);
    if (v.len == 1) return s;
    return cg_div(C, n, s, cg_pub(MPC_T_INT, v.len, 0, 1));
}

/* v - mean(v) */
cg_val cg_center(cg_comp *C, const mpc_node *n, cg_val v)
{
    return cg_raw_sub(C, n, MPC_T_FIX, v, cg_mean(C, n, v));
}

/* The parts of a vector made by concat (CONCAT gates followed), into parts[0..max-1]; how
 * many there are (more than max: too many to treat one by one). */
static unsigned s_concat_parts(const mpc_circuit *c, uint32_t w, uint32_t *parts, unsigned k, unsigned max)
{
    const mpc_gate *g = &c->gates[w];
    if (g->kind != MPC_G_CONCAT) {
        if (k < max) parts[k] = w;
        return k + 1;
    }
    k = s_concat_parts(c, g->in[0], parts, k, max);
    return k > max ? k : s_concat_parts(c, g->in[1], parts, k, max);
}

#define S_MAX_PARTS 16

/* mean((u - mean u)(v - mean v)), u and v of one length.  Two passes (no cancellation), over
 * the whole vectors -- or, when both are concatenations of parts of the same lengths, the
 * parallel form (Chan, Golub, LeVeque, "Updating formulae and a pairwise algorithm for
 * computing sample variances", 1979): with part j of n_j elements and means mu_j, mv_j,
 *   n·comoment = sum_j sum_i (u_i - mu_j)(v_i - mv_j) + sum_j n_j (mu_j - mu)(mv_j - mv).
 * Each part's pass reads that part only, so when a part is one party's input, owner-local
 * pushdown computes it in the clear (circuits/splitcat.h; LANGUAGE.md "Owner-local
 * pushdown") and only k scalars per part go through MPC.  The error is that of the two-pass
 * form: each part's mean is off by at most an ulp, which adds n_j·ulp² to its sum. */
static cg_val s_comoment(cg_comp *C, const mpc_node *n, cg_val u, cg_val v)
{
    uint32_t pu[S_MAX_PARTS], pv[S_MAX_PARTS];
    unsigned k = s_concat_parts(C->c, u.wire, pu, 0, S_MAX_PARTS);
    unsigned kv = u.wire == v.wire ? k : s_concat_parts(C->c, v.wire, pv, 0, S_MAX_PARTS);
    if (u.wire == v.wire) memcpy(pv, pu, sizeof pu);
    int parallel = k >= 2 && k <= S_MAX_PARTS && kv == k;
    for (unsigned j = 0; parallel && j < k; j++)
        parallel = C->c->gates[pu[j]].len == C->c->gates[pv[j]].len;
    if (!parallel) {
        cg_val du = cg_center(C, n, u), dv = u.wire == v.wire ? du : cg_center(C, n, v);
        return cg_mean(C, n, cg_mul(C, n, du, dv));
    }
    cg_val mu = cg_mean(C, n, u), mv = u.wire == v.wire ? mu : cg_mean(C, n, v);
    cg_val acc = {0};
    for (unsigned j = 0; j < k; j++) {
        uint64_t nj = C->c->gates[pu[j]].len;
        cg_val uj = u, vj = v;
        uj.wire = pu[j];
        vj.wire = pv[j];
        uj.len = vj.len = nj;
        cg_val du = cg_center(C, n, uj), dv = u.wire == v.wire ? du : cg_center(C, n, vj);
        cg_val pj = cg_mul(C, n, du, dv);
        cg_val s = cg_sec(MPC_T_FIX, cg_gate(C, n, MPC_G_SUM, MPC_T_FIX, 1, pj.wire, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0), 0, 1);
        s = cg_ranged(C, n, s, pj.rg, pj.lo * (double)nj, pj.hi * (double)nj);
        cg_val eu = cg_raw_sub(C, n, MPC_T_FIX, cg_mean(C, n, uj), mu);
        cg_val ev = u.wire == v.wire ? eu : cg_raw_sub(C, n, MPC_T_FIX, cg_mean(C, n, vj), mv);
        cg_val t = cg_mul(C, n, cg_mul(C, n, eu, ev), cg_pub(MPC_T_INT, nj, 0, 1));
        cg_val part = cg_raw_add(C, n, MPC_T_FIX, s, t);
        acc = j ? cg_raw_add(C, n, MPC_T_FIX, acc, part) : part;
    }
    return cg_div(C, n, acc, cg_pub(MPC_T_INT, u.len, 0, 1));
}

cg_val cg_comoment(cg_comp *C, const mpc_node *n, cg_val u, cg_val v)
{
    return s_comoment(C, n, u, v);
}

/* mean((v - mean v)^2): two passes, no cancellation (per part of a concatenation, combined:
 * s_comoment). */
cg_val cg_var(cg_comp *C, const mpc_node *n, cg_val v)
{
    return s_comoment(C, n, v, v);
}

/* histogram(v, [e0, e1, ..., ek]): k counts, bucket i = [e_i, e_(i+1)), the last one closed
 * [e_(k-1), e_k] (numpy.histogram).  One LTZ of (k+1)·len elements: [v >= e_i] for i < k and
 * [v > e_k]; count_i = #[v >= e_i] - #[v >= e_(i+1)] (with #[v > e_k] for the last). */
cg_val cg_histogram(cg_comp *C, const mpc_node *n)
{
    cg_val v = cg_need_vec(C, n, cg_expr(C, n->kids[0]), "histogram");
    if (v.join)
        cg_error(C, n, "%s() of a joined column is not supported (histogram() of it counts the matched rows)",
                 n->name);
    return cg_histogram_v(C, n, v, NULL);
}

cg_val cg_histogram_v(cg_comp *C, const mpc_node *n, cg_val v, const cg_val *ind)
{
    const mpc_node *el = n->kids[1];
    if (el->kind != MPC_N_LIST)
        cg_error(C, el, "histogram() expects its edges as a list literal, e.g. [0, 10, 20]");
    if (v.pub) cg_error(C, n, "histogram() of a compile-time constant is not supported");
    v = cg_bool_to_int(v);
    unsigned ne = el->n_kids;
    if (ne < 2 || ne > 64) cg_error(C, el, "histogram() needs 2 to 64 edges, got %u", ne);
    uint64_t e[64] = {0};
    for (unsigned i = 0; i < ne; i++) {
        cg_val x = cg_expr(C, el->kids[i]);
        if (!x.pub || x.is_vec) cg_error(C, el->kids[i], "a histogram edge must be a public scalar");
        if (x.type == MPC_T_FIX && v.type == MPC_T_INT)
            cg_error(C, el->kids[i], "a fix edge for an int vector: convert the vector with fix(...)");
        if (x.type != MPC_T_FIX && v.type == MPC_T_FIX) x = cg_to_fix(C, el->kids[i], x);
        e[i] = x.k;
        if (i && (int64_t)e[i] <= (int64_t)e[i - 1]) cg_error(C, el->kids[i], "histogram edges must increase");
    }
    if (ind) {   /* unmatched rows move below the first edge: in no bucket */
        if ((int64_t)e[0] == INT64_MIN) cg_error(C, el->kids[0], "the first edge is the smallest value of its type");
        cg_val below = cg_pub(v.type, e[0] - 1, 0, 1);
        v = cg_select(C, n, *ind, v, below);
        v.join = 0;
    }
    /* [v >= e_i] = LTZ(e_i - 1 - v) for i < k; [v > e_k] = LTZ(e_k - v). */
    uint64_t off[64] = {0};
    for (unsigned i = 0; i + 1 < ne; i++) off[i] = e[i] - 1;
    off[ne - 1] = e[ne - 1];
    uint32_t bits = s_ltz_blocks(C, n, v, off, ne, NULL, 0);
    uint32_t cnt[64] = {0};
    for (unsigned i = 0; i < ne; i++)
        cnt[i] = cg_gate(C, n, MPC_G_SUM, MPC_T_INT, 1,
                        cg_gate(C, n, MPC_G_SLICE, MPC_T_INT, v.len, bits, MPC_NO_WIRE, MPC_NO_WIRE, (uint64_t)i * v.len, 1),
                        MPC_NO_WIRE, MPC_NO_WIRE, 0, 0);
    uint32_t acc = MPC_NO_WIRE;
    for (unsigned i = 0; i + 1 < ne; i++) {
        uint32_t b = cg_gate(C, n, MPC_G_SUB, MPC_T_INT, 1, cnt[i], cnt[i + 1], MPC_NO_WIRE, 0, 0);
        acc = acc == MPC_NO_WIRE ? b : cg_gate(C, n, MPC_G_CONCAT, MPC_T_INT, i + 1, acc, b, MPC_NO_WIRE, 0, 0);
    }
    return cg_sec(MPC_T_INT, acc, 1, ne - 1);
}
