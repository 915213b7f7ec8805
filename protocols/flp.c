/* flp.c — the fully linear PCP on vectors (flp.h; docs/validity.md, "The circuit" and "The
 * proof").  The byte layer (sharding, joint randomness, prep messages) is in flp_report.c.
 *
 * The validity circuit C(m; r_1..r_Mr, rho) over the encoded measurement m (meas_len bits),
 * with bit i = (k-1)L + j checked in gadget call k:
 *   sum_k sum_j r_k^(j+1) * m_i * (m_i - 1)                          (every m_i is a bit)
 *   + rho * (sum_e x_e^2 + s - B)                                    (only with the norm check)
 *   + sum_d rho_d * (sum_(i,j) x_i x_j - y_d)                        (each derived entry y_d)
 * where x_e = lo + sum_k w_k m_(e,k) and s = sum_k w'_k m_(slack,k).  Every multiplication is
 * a slot of one gadget G(a_1, b_1, ..., a_L, b_L) = sum_j a_j * b_j (a ParallelSum of L Mul
 * gadgets): call k = 1..calls_range takes the bit checks (a = r_k^(j+1) m_i, b = m_i - 1) of bits
 * (k-1)L .. kL-1, call calls_range + k the squares (a = b = x_e) of elements (k-1)L .. kL-1;
 * then the derived entries' products (a = rho_d x_i, b = x_j, in term order); unused slots
 * are (0, 0).  C is affine in its inputs and the gadget outputs, so a verifier
 * evaluates it on shares with the gadget outputs read from the shared gadget polynomial.
 *
 * The proof: for each of the 2L gadget wires j a polynomial f_j of degree < P = npts with
 * f_j(alpha^0) = a random seed, f_j(alpha^k) = the wire's value in call k (k = 1..M) and 0 at
 * the remaining P-th roots of unity alpha^k; the proof is (the 2L seeds, the 2P-1 coefficients
 * of p = G(f_1, ..., f_2L)).  A verifier, at a query point t outside the P-th roots of unity,
 * outputs its share of C (with p(alpha^k) in place of call k's output), of every f_j(t) (by
 * Lagrange interpolation from the values at the roots) and of p(t); the sum of the shares is
 * accepted when C = 0 and G(f_1(t), ..., f_2L(t)) = p(t).
 *
 * With `proofs` > 1 the client proves the same circuit that many times, each proof under its
 * own joint randomness and checked at its own query point; all must accept (docs/validity.md,
 * "Soundness": this is what keeps an offline search for lucky joint randomness hopeless in a
 * 61-bit field). */
#include "flp.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "field61.h"
#include "mpc_err.h"
#include "prg.h"

/* ---- NTT ---- */

static unsigned s_bitrev(uint64_t x, unsigned logn)
{
    uint64_t r = 0;
    for (unsigned i = 0; i < logn; i++) r |= ((x >> i) & 1) << (logn - 1 - i);
    return (unsigned)r;
}

/* tw[i] = w^i for i < n/2, w the 2^logn-th root of unity (or its inverse). */
static void s_twiddles(uint64_t *tw, unsigned logn, int inverse)
{
    uint64_t w = mpc_f61_root_of_unity(logn), x = 1;
    if (inverse) w = mpc_f61_inv(w);
    for (uint64_t i = 0; i < (UINT64_C(1) << logn) / 2; i++) {
        tw[i] = x;
        x = mpc_f61_mul(x, w);
    }
}

/* The transform with a precomputed table (s_twiddles of the same logn and direction); the
 * inverse's division by n is left to the caller. */
static void s_ntt(uint64_t *a, unsigned logn, const uint64_t *tw)
{
    uint64_t n = UINT64_C(1) << logn;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t j = s_bitrev(i, logn);
        if (j > i) {
            uint64_t t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }
    for (unsigned s = 1; s <= logn; s++) {
        uint64_t m = UINT64_C(1) << s, half = m >> 1, step = n >> s;
        for (uint64_t k = 0; k < n; k += m)
            for (uint64_t j = 0; j < half; j++) {
                uint64_t u = a[k + j], v = mpc_f61_mul(tw[j * step], a[k + j + half]);
                a[k + j] = mpc_f61_add(u, v);
                a[k + j + half] = mpc_f61_sub(u, v);
            }
    }
}

void mpc_flp_ntt(uint64_t *a, unsigned logn, int inverse)
{
    if (logn == 0 || logn > MPC_F61_TWO_ADICITY) return;
    uint64_t n = UINT64_C(1) << logn;
    uint64_t *tw = malloc((size_t)(n / 2) * 8);
    if (tw) {
        s_twiddles(tw, logn, inverse);
        s_ntt(a, logn, tw);
        free(tw);
    } else { /* no memory for the table: the twiddles computed on the way */
        for (uint64_t i = 0; i < n; i++) {
            uint64_t j = s_bitrev(i, logn);
            if (j > i) {
                uint64_t t = a[i];
                a[i] = a[j];
                a[j] = t;
            }
        }
        for (unsigned s = 1; s <= logn; s++) {
            uint64_t m = UINT64_C(1) << s, half = m >> 1;
            uint64_t wm = mpc_f61_root_of_unity(s);
            if (inverse) wm = mpc_f61_inv(wm);
            for (uint64_t k = 0; k < n; k += m) {
                uint64_t w = 1;
                for (uint64_t j = 0; j < half; j++) {
                    uint64_t u = a[k + j], v = mpc_f61_mul(w, a[k + j + half]);
                    a[k + j] = mpc_f61_add(u, v);
                    a[k + j + half] = mpc_f61_sub(u, v);
                    w = mpc_f61_mul(w, wm);
                }
            }
        }
    }
    if (inverse) {
        uint64_t ninv = mpc_f61_inv(n);
        for (uint64_t i = 0; i < n; i++) a[i] = mpc_f61_mul(a[i], ninv);
    }
}

/* ---- the circuit's shape ---- */

static uint64_t s_ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

static uint64_t s_calls(const mpc_flp *f, int norm, uint64_t chunk)
{
    return s_ceil_div(f->bit_len, chunk) + (norm ? s_ceil_div(f->dim, chunk) : 0) +
           s_ceil_div(f->n_products, chunk);
}

static unsigned s_bits_for(uint64_t range) /* bits to write 0..range, range >= 1 */
{
    return 64u - (unsigned)__builtin_clzll(range);
}

/* Picks L and P: for each power of two P, the least L with M(L) + 1 <= P; the smallest proof
 * 2L + 2P - 1 wins (about 2*sqrt(2n) for n gadget slots). */
static void s_choose_chunk(mpc_flp *f)
{
    int norm = f->l2_bound > 0;
    uint64_t hi_l = f->bit_len > f->dim ? f->bit_len : f->dim;
    if (f->n_products > hi_l) hi_l = f->n_products;
    uint64_t best = UINT64_MAX;
    for (unsigned lp = 2; lp <= 30; lp++) {
        uint64_t P = UINT64_C(1) << lp;
        uint64_t a = 1, b = hi_l; /* least L in [a, b] with calls(L) <= P - 1; calls(hi_l) <= 2 */
        while (a < b) {
            uint64_t mid = a + (b - a) / 2;
            if (s_calls(f, norm, mid) <= P - 1) b = mid;
            else a = mid + 1;
        }
        uint64_t size = 2 * a + 2 * P - 1;
        if (size < best) {
            best = size;
            f->chunk = a;
            f->log_p = lp;
        }
        if (P > 4 * hi_l) break;
    }
    f->npts = UINT64_C(1) << f->log_p;
    f->calls_range = s_ceil_div(f->bit_len, f->chunk);
    f->calls_norm = norm ? s_ceil_div(f->dim, f->chunk) : 0;
    f->calls_derived = s_ceil_div(f->n_products, f->chunk);
    f->calls = f->calls_range + f->calls_norm + f->calls_derived;
    f->proof1_len = 2 * f->chunk + 2 * f->npts - 1;
    f->verifier1_len = 2 * f->chunk + 2;
    f->jr1_len = f->calls_range + 1 + f->n_derived;
    f->proof_len = f->proofs * f->proof1_len;
    f->verifier_len = f->proofs * f->verifier1_len;
    f->jr_len = f->proofs * f->jr1_len;
}

int mpc_flp_init(mpc_flp *f, uint64_t dim, int64_t lo, int64_t hi, uint64_t l2_bound,
                 unsigned proofs)
{
    return mpc_flp_init_derived(f, dim, lo, hi, l2_bound, NULL, 0, proofs);
}

/* Checks and records the derived-entry terms: each within dim, each entry exact as a signed
 * value (n * max(lo^2, hi^2) < (p - 1)/2).  0 or MPC_ERR_INVALID. */
static int s_terms(mpc_flp *f, const mpc_flp_term *terms, unsigned n_terms)
{
    if (n_terms > MPC_FLP_MAX_TERMS || (n_terms && !terms)) return MPC_ERR_INVALID;
    uint64_t m = (uint64_t)(f->lo < 0 ? -f->lo : f->lo), m2 = (uint64_t)(f->hi < 0 ? -f->hi : f->hi);
    if (m2 > m) m = m2;
    for (unsigned i = 0; i < n_terms; i++) {
        const mpc_flp_term *t = &terms[i];
        if (t->n < 1 || t->a > f->dim || t->b > f->dim || t->n > f->dim - t->a || t->n > f->dim - t->b ||
            t->each > 1)
            return MPC_ERR_INVALID;
        if ((unsigned __int128)m * m * t->n >= MPC_F61_HALF) return MPC_ERR_INVALID;
        f->terms[i] = *t;
        f->n_derived += t->each ? t->n : 1;
        f->n_products += t->n;
    }
    f->n_terms = n_terms;
    return f->n_products > MPC_FLP_MAX_DIM ? MPC_ERR_INVALID : 0;
}

int mpc_flp_init_derived(mpc_flp *f, uint64_t dim, int64_t lo, int64_t hi, uint64_t l2_bound,
                         const mpc_flp_term *terms, unsigned n_terms, unsigned proofs)
{
    if (!f || dim < 1 || dim > MPC_FLP_MAX_DIM || lo >= hi || lo < -MPC_FLP_MAX_ABS ||
        hi > MPC_FLP_MAX_ABS || l2_bound >= MPC_F61_HALF || proofs < 1 || proofs > MPC_FLP_MAX_PROOFS)
        return MPC_ERR_INVALID;
    memset(f, 0, sizeof *f);
    f->proofs = proofs;
    f->dim = dim;
    f->lo = lo;
    f->hi = hi;
    f->l2_bound = l2_bound;
    uint64_t range = (uint64_t)(hi - lo);
    f->bits = s_bits_for(range);
    f->top_weight = range - (UINT64_C(1) << (f->bits - 1)) + 1;
    if (l2_bound) {
        /* sum x^2 and the slack must stay far from wrapping: D * max^2 + B < (p - 1) / 2 */
        unsigned __int128 m = (unsigned __int128)(lo < 0 ? -lo : lo);
        unsigned __int128 m2 = (unsigned __int128)(hi < 0 ? -hi : hi);
        if (m2 > m) m = m2;
        if (m * m * dim + l2_bound >= MPC_F61_HALF) return MPC_ERR_INVALID;
        f->norm_bits = s_bits_for(l2_bound);
        f->norm_top_weight = l2_bound - (UINT64_C(1) << (f->norm_bits - 1)) + 1;
    }
    if (s_terms(f, terms, n_terms) != 0) return MPC_ERR_INVALID;
    f->bit_len = dim * f->bits + f->norm_bits;
    f->meas_len = f->bit_len + f->n_derived;
    f->out_len = dim + f->n_derived;
    s_choose_chunk(f);
    return 0;
}

/* ---- encoding and output ---- */

static uint64_t s_elem(int64_t v);

/* b bits of v in [0, top + 2^(b-1) - 1], top bit weighing `top`. */
static void s_bits(uint64_t *m, uint64_t v, unsigned b, uint64_t top)
{
    uint64_t half = UINT64_C(1) << (b - 1);
    m[b - 1] = v >= half;
    if (v >= half) v -= top;
    for (unsigned k = 0; k + 1 < b; k++) m[k] = (v >> k) & 1;
}

int mpc_flp_encode(const mpc_flp *f, const int64_t *x, uint64_t *meas)
{
    unsigned __int128 sq = 0;
    for (uint64_t e = 0; e < f->dim; e++) {
        if (x[e] < f->lo || x[e] > f->hi) return MPC_ERR_INPUT;
        s_bits(meas + e * f->bits, (uint64_t)(x[e] - f->lo), f->bits, f->top_weight);
        int64_t a = x[e] < 0 ? -x[e] : x[e];
        sq += (unsigned __int128)a * (uint64_t)a;
    }
    if (f->l2_bound) {
        if (sq > f->l2_bound) return MPC_ERR_INPUT;
        s_bits(meas + f->dim * f->bits, f->l2_bound - (uint64_t)sq, f->norm_bits,
               f->norm_top_weight);
    }
    uint64_t *y = meas + f->bit_len;
    for (unsigned i = 0; i < f->n_terms; i++) {
        const mpc_flp_term *t = &f->terms[i];
        uint64_t acc = 0;
        for (uint64_t k = 0; k < t->n; k++) {
            uint64_t p = mpc_f61_mul(s_elem(x[t->a + k]), s_elem(x[t->b + k]));
            if (t->each) *y++ = p;
            else acc = mpc_f61_add(acc, p);
        }
        if (!t->each) *y++ = acc;
    }
    return 0;
}

/* sum_k w_k m[k] with w_k = 2^k for k < b - 1 and `top` for the last. */
static uint64_t s_weighted(const uint64_t *m, unsigned b, uint64_t top)
{
    uint64_t acc = 0;
    for (unsigned k = b - 1; k-- > 0;) acc = mpc_f61_add(mpc_f61_add(acc, acc), m[k]); /* Horner in 2 */
    return mpc_f61_add(acc, mpc_f61_mul(m[b - 1], top));
}

static uint64_t s_elem(int64_t v)
{
    uint64_t e = 0;
    (void)mpc_f61_from_signed(v, &e); /* |v| <= MPC_FLP_MAX_ABS: always encodable */
    return e;
}

void mpc_flp_output(const mpc_flp *f, int leader, const uint64_t *meas_share, uint64_t *out)
{
    uint64_t lo = leader ? s_elem(f->lo) : 0;
    for (uint64_t e = 0; e < f->dim; e++)
        out[e] = mpc_f61_add(lo, s_weighted(meas_share + e * f->bits, f->bits, f->top_weight));
    memcpy(out + f->dim, meas_share + f->bit_len, (size_t)f->n_derived * 8);
}

/* Derived product number s (0-based, in term order): its factors' indices *i, *j and its
 * entry *e. */
static void s_product(const mpc_flp *f, uint64_t s, uint64_t *i, uint64_t *j, uint64_t *e)
{
    uint64_t off = 0;
    for (unsigned u = 0; u < f->n_terms; u++) {
        const mpc_flp_term *t = &f->terms[u];
        if (s < t->n) {
            *i = t->a + s;
            *j = t->b + s;
            *e = off + (t->each ? s : 0);
            return;
        }
        s -= t->n;
        off += t->each ? t->n : 1;
    }
    *i = *j = *e = 0;   /* not reached: s < n_products */
}

/* ---- gadget inputs ---- */

/* The 2L wire values w[0..2L-1] of gadget call k (1-based) under one proof's joint randomness
 * jr (r_k = jr[k-1]); x is the output share (mpc_flp_output) for the norm calls. */
static void s_call_inputs(const mpc_flp *f, int leader, const uint64_t *meas, const uint64_t *x,
                          const uint64_t *jr, uint64_t k, uint64_t *w)
{
    uint64_t L = f->chunk, one = leader ? 1 : 0;
    if (k <= f->calls_range) {
        uint64_t i0 = (k - 1) * L, r = jr[k - 1], rp = r;
        for (uint64_t j = 0; j < L; j++) {
            uint64_t i = i0 + j;
            if (i < f->bit_len) {
                w[2 * j] = mpc_f61_mul(rp, meas[i]);
                w[2 * j + 1] = mpc_f61_sub(meas[i], one);
                rp = mpc_f61_mul(rp, r);
            } else {
                w[2 * j] = w[2 * j + 1] = 0;
            }
        }
        return;
    }
    if (k <= f->calls_range + f->calls_norm) {
        uint64_t e0 = (k - 1 - f->calls_range) * L;
        for (uint64_t j = 0; j < L; j++) {
            uint64_t e = e0 + j;
            w[2 * j] = w[2 * j + 1] = e < f->dim ? x[e] : 0;
        }
        return;
    }
    uint64_t s0 = (k - 1 - f->calls_range - f->calls_norm) * L;
    const uint64_t *rho = jr + f->calls_range + 1;
    for (uint64_t j = 0; j < L; j++) {
        uint64_t s = s0 + j, a, b, e;
        if (s < f->n_products) {
            s_product(f, s, &a, &b, &e);
            w[2 * j] = mpc_f61_mul(rho[e], x[a]);
            w[2 * j + 1] = x[b];
        } else {
            w[2 * j] = w[2 * j + 1] = 0;
        }
    }
}

static uint64_t *s_alloc(uint64_t n)
{
    return n <= SIZE_MAX / 8 ? calloc((size_t)n ? (size_t)n : 1, 8) : NULL;
}

static void s_free(uint64_t *p, uint64_t n)
{
    if (!p) return;
    sodium_memzero(p, (size_t)n * 8);
    free(p);
}

/* Uniform field elements from libsodium (a fresh seed expanded by ChaCha20, 61-bit words
 * below p kept). */
static int s_random_elems(uint64_t *out, uint64_t n)
{
    uint8_t seed[MPC_PRG_SEEDBYTES];
    uint64_t buf[64];
    uint64_t got = 0, pos = 0;
    int rc = 0;
    randombytes_buf(seed, sizeof seed);
    while (got < n && rc == 0) {
        rc = mpc_prg_expand(buf, 64, seed, 0, pos);
        pos += 64;
        for (int i = 0; i < 64 && got < n && rc == 0; i++) {
            uint64_t v = buf[i] & MPC_F61_M61;
            if (v < MPC_F61_P) out[got++] = v;
        }
    }
    sodium_memzero(seed, sizeof seed);
    sodium_memzero(buf, sizeof buf);
    return rc;
}

/* ---- prove ---- */

/* The gadget polynomial's coefficients (2P of them; the last is 0) from the wire values
 * W[j*P + k]: its values at the 2P-th roots of unity beta^m are G of the wires' values there;
 * even m are the P-th roots (the given values), odd m the coset beta*alpha^i, reached by
 * interpolating each wire (inverse NTT), twisting by beta^i and a forward NTT. */
static int s_gadget_poly(const mpc_flp *f, const uint64_t *W, uint64_t *poly)
{
    uint64_t P = f->npts, L = f->chunk;
    uint64_t *ta = s_alloc(P), *tb = s_alloc(P), *twist = s_alloc(P), *fw = s_alloc(P / 2),
             *iw = s_alloc(P / 2);
    int rc = ta && tb && twist && fw && iw ? 0 : MPC_ERR_NOMEM;
    if (rc == 0) {
        /* the inverse NTT's 1/P folded into the twist: twist[i] = beta^i / P */
        uint64_t beta = mpc_f61_root_of_unity(f->log_p + 1), bp = mpc_f61_inv(P % MPC_F61_P);
        for (uint64_t i = 0; i < P; i++) {
            twist[i] = bp;
            bp = mpc_f61_mul(bp, beta);
        }
        s_twiddles(fw, f->log_p, 0);
        s_twiddles(iw, f->log_p, 1);
    }
    for (uint64_t m = 0; m < 2 * P; m++) poly[m] = 0;
    for (uint64_t l = 0; l < L && rc == 0; l++) {
        const uint64_t *a = W + (2 * l) * P, *b = W + (2 * l + 1) * P;
        for (uint64_t i = 0; i < P; i++)
            poly[2 * i] = mpc_f61_add(poly[2 * i], mpc_f61_mul(a[i], b[i]));
        memcpy(ta, a, (size_t)P * 8);
        memcpy(tb, b, (size_t)P * 8);
        s_ntt(ta, f->log_p, iw);
        s_ntt(tb, f->log_p, iw);
        for (uint64_t i = 0; i < P; i++) {
            ta[i] = mpc_f61_mul(ta[i], twist[i]);
            tb[i] = mpc_f61_mul(tb[i], twist[i]);
        }
        s_ntt(ta, f->log_p, fw);
        s_ntt(tb, f->log_p, fw);
        for (uint64_t i = 0; i < P; i++)
            poly[2 * i + 1] = mpc_f61_add(poly[2 * i + 1], mpc_f61_mul(ta[i], tb[i]));
    }
    if (rc == 0) mpc_flp_ntt(poly, f->log_p + 1, 1);
    if (rc == 0 && poly[2 * P - 1] != 0) rc = MPC_ERR_INVALID; /* degree <= 2P - 2 */
    s_free(ta, P);
    s_free(tb, P);
    s_free(twist, P);
    s_free(fw, P / 2);
    s_free(iw, P / 2);
    return rc;
}

int mpc_flp_prove(const mpc_flp *f, const uint64_t *meas, const uint64_t *jr, uint64_t *proof)
{
    uint64_t P = f->npts, L = f->chunk, nw = 2 * L;
    for (uint64_t i = 0; i < f->jr_len; i++)
        if (jr[i] >= MPC_F61_P) return MPC_ERR_INVALID;
    for (uint64_t i = 0; i < f->meas_len; i++)
        if (meas[i] >= MPC_F61_P) return MPC_ERR_INVALID;
    uint64_t *W = s_alloc(nw * P), *w = s_alloc(nw), *x = s_alloc(f->out_len), *poly = s_alloc(2 * P);
    int rc = W && w && x && poly ? 0 : MPC_ERR_NOMEM;
    if (rc == 0) mpc_flp_output(f, 1, meas, x);
    for (unsigned u = 0; u < f->proofs && rc == 0; u++) {
        const uint64_t *jr1 = jr + u * f->jr1_len;
        uint64_t *pf = proof + u * f->proof1_len;
        rc = s_random_elems(w, nw);
        if (rc) break;
        for (uint64_t j = 0; j < nw; j++) W[j * P] = pf[j] = w[j];
        for (uint64_t k = 1; k <= f->calls; k++) {
            s_call_inputs(f, 1, meas, x, jr1, k, w);
            for (uint64_t j = 0; j < nw; j++) W[j * P + k] = w[j];
        }
        rc = s_gadget_poly(f, W, poly);
        if (rc == 0) memcpy(pf + nw, poly, (size_t)(2 * P - 1) * 8);
    }
    s_free(W, nw * P);
    s_free(w, nw);
    s_free(x, f->out_len);
    s_free(poly, 2 * P);
    return rc;
}

/* ---- query ---- */

/* c[k] = alpha^k / (t - alpha^k) for k = 0..n-1 (one inversion: Montgomery's trick), and
 * *scale = (t^P - 1) / P, so that f(t) = scale * sum_k c[k] f(alpha^k) for deg f < P.  0, or
 * MPC_ERR_INVALID when t is a P-th root of unity. */
static int s_lagrange(const mpc_flp *f, uint64_t t, uint64_t n, uint64_t *c, uint64_t *pre,
                      uint64_t *scale)
{
    uint64_t P = f->npts, alpha = mpc_f61_root_of_unity(f->log_p), ak = 1, acc = 1;
    uint64_t tp = mpc_f61_pow(t, P);
    if (tp == 1) return MPC_ERR_INVALID;
    for (uint64_t k = 0; k < n; k++) {
        c[k] = mpc_f61_sub(t, ak); /* nonzero: t is not a P-th root of unity */
        pre[k] = acc;
        acc = mpc_f61_mul(acc, c[k]);
        ak = mpc_f61_mul(ak, alpha);
    }
    uint64_t inv = mpc_f61_inv(acc);
    for (uint64_t k = n; k-- > 0;) {
        uint64_t ik = mpc_f61_mul(inv, pre[k]);
        inv = mpc_f61_mul(inv, c[k]);
        c[k] = ik;
    }
    ak = 1;
    for (uint64_t k = 0; k < n; k++) {
        c[k] = mpc_f61_mul(c[k], ak);
        ak = mpc_f61_mul(ak, alpha);
    }
    *scale = mpc_f61_mul(mpc_f61_sub(tp, 1), mpc_f61_inv(P % MPC_F61_P));
    return 0;
}

typedef struct {
    uint64_t *c, *pre, *q;
    unsigned __int128 *acc;
} s_qscratch;

/* x*y folded once below 2^97: a sum of up to 2^25 of them stays below 2^122, where one
 * mpc_f61_reduce128 gives it mod p (a verifier sums M + 1 < 2^17 terms: M is about sqrt(n)). */
static inline unsigned __int128 s_mul_lazy(uint64_t x, uint64_t y)
{
    unsigned __int128 v = (unsigned __int128)x * y;
    return (unsigned __int128)(uint64_t)(v >> 61) * MPC_F61_C61 + ((uint64_t)v & MPC_F61_M61);
}

/* acc[j] = sum_k c[k] * (wire j's value in call k), for k = 1..M (the verifier's half of the
 * Lagrange interpolation at t), without materializing the wires: in range call k the a-wire of
 * slot j carries c_k r_k^(j+1) m_i, the b-wire c_k (m_i - 1); in norm calls both carry c_k x_e. */
static void s_query_acc(const mpc_flp *f, int leader, const uint64_t *meas, const uint64_t *x,
                        const uint64_t *jr, const uint64_t *c, unsigned __int128 *acc)
{
    uint64_t L = f->chunk, one = leader ? 1 : 0;
    for (uint64_t k = 1; k <= f->calls_range; k++) {
        uint64_t i0 = (k - 1) * L, r = jr[k - 1], ck = c[k], coef = ck;
        uint64_t n = f->bit_len - i0 < L ? f->bit_len - i0 : L;
        const uint64_t *m = meas + i0;
        for (uint64_t j = 0; j < n; j++) {
            coef = mpc_f61_mul(coef, r);
            acc[2 * j] += s_mul_lazy(coef, m[j]);
            acc[2 * j + 1] += s_mul_lazy(ck, mpc_f61_sub(m[j], one));
        }
    }
    for (uint64_t k = f->calls_range + 1; k <= f->calls_range + f->calls_norm; k++) {
        uint64_t e0 = (k - 1 - f->calls_range) * L, ck = c[k];
        uint64_t n = f->dim - e0 < L ? f->dim - e0 : L;
        for (uint64_t j = 0; j < n; j++) {
            unsigned __int128 v = s_mul_lazy(ck, x[e0 + j]);
            acc[2 * j] += v;
            acc[2 * j + 1] += v;
        }
    }
    const uint64_t *rho = jr + f->calls_range + 1;
    for (uint64_t k = f->calls_range + f->calls_norm + 1; k <= f->calls; k++) {
        uint64_t s0 = (k - 1 - f->calls_range - f->calls_norm) * L, ck = c[k];
        uint64_t n = f->n_products - s0 < L ? f->n_products - s0 : L;
        for (uint64_t j = 0; j < n; j++) {
            uint64_t a, b, e;
            s_product(f, s0 + j, &a, &b, &e);
            acc[2 * j] += s_mul_lazy(mpc_f61_mul(ck, rho[e]), x[a]);
            acc[2 * j + 1] += s_mul_lazy(ck, x[b]);
        }
    }
}

/* One proof's verifier message ver[0..verifier1_len-1]. */
static int s_query_one(const mpc_flp *f, int leader, const uint64_t *meas, const uint64_t *x,
                       const uint64_t *pf, const uint64_t *jr, uint64_t t, uint64_t *ver,
                       const s_qscratch *s)
{
    uint64_t P = f->npts, nw = 2 * f->chunk, M = f->calls, scale = 0;
    int rc = s_lagrange(f, t, M + 1, s->c, s->pre, &scale);
    if (rc) return rc;
    const uint64_t *coef = pf + nw;
    /* p(alpha^k) for every k: fold the coefficients mod X^P - 1, then one NTT */
    for (uint64_t i = 0; i < P; i++)
        s->q[i] = i + P < 2 * P - 1 ? mpc_f61_add(coef[i], coef[i + P]) : coef[i];
    mpc_flp_ntt(s->q, f->log_p, 0);
    for (uint64_t j = 0; j < nw; j++) s->acc[j] = s_mul_lazy(s->c[0], pf[j]);
    s_query_acc(f, leader, meas, x, jr, s->c, s->acc);
    /* the circuit's output with the gadget outputs read from p */
    uint64_t v = 0, nv = 0;
    for (uint64_t k = 1; k <= f->calls_range; k++) v = mpc_f61_add(v, s->q[k]);
    if (f->n_derived) {   /* sum_d rho_d (sum of its products - y_d): the calls' outputs carry rho_d */
        uint64_t dv = 0;
        for (uint64_t k = f->calls_range + f->calls_norm + 1; k <= M; k++) dv = mpc_f61_add(dv, s->q[k]);
        const uint64_t *rho = jr + f->calls_range + 1, *y = meas + f->bit_len;
        for (uint64_t e = 0; e < f->n_derived; e++) dv = mpc_f61_sub(dv, mpc_f61_mul(rho[e], y[e]));
        v = mpc_f61_add(v, dv);
    }
    if (f->l2_bound) {
        for (uint64_t k = f->calls_range + 1; k <= f->calls_range + f->calls_norm; k++) nv = mpc_f61_add(nv, s->q[k]);
        const uint64_t *slack = meas + f->dim * f->bits;
        nv = mpc_f61_add(nv, s_weighted(slack, f->norm_bits, f->norm_top_weight));
        if (leader) nv = mpc_f61_sub(nv, f->l2_bound);
        v = mpc_f61_add(v, mpc_f61_mul(jr[f->calls_range], nv));
    }
    ver[0] = v;
    for (uint64_t j = 0; j < nw; j++) ver[1 + j] = mpc_f61_mul(scale, mpc_f61_reduce128(s->acc[j]));
    uint64_t pt = 0;
    for (uint64_t i = 2 * P - 1; i-- > 0;) pt = mpc_f61_add(mpc_f61_mul(pt, t), coef[i]);
    ver[1 + nw] = pt;
    return 0;
}

int mpc_flp_query(const mpc_flp *f, int leader, const uint64_t *meas_share,
                  const uint64_t *proof_share, const uint64_t *jr, const uint64_t *t,
                  uint64_t *verifier)
{
    uint64_t P = f->npts, nw = 2 * f->chunk, M = f->calls;
    for (uint64_t i = 0; i < f->jr_len; i++)
        if (jr[i] >= MPC_F61_P) return MPC_ERR_INVALID;
    for (unsigned u = 0; u < f->proofs; u++)
        if (t[u] >= MPC_F61_P) return MPC_ERR_INVALID;
    s_qscratch s = {s_alloc(M + 1), s_alloc(M + 1), s_alloc(P), (unsigned __int128 *)s_alloc(2 * nw)};
    uint64_t *x = s_alloc(f->out_len);
    int rc = s.c && s.pre && s.q && s.acc && x ? 0 : MPC_ERR_NOMEM;
    if (rc == 0) mpc_flp_output(f, leader, meas_share, x);
    for (unsigned u = 0; u < f->proofs && rc == 0; u++)
        rc = s_query_one(f, leader, meas_share, x, proof_share + u * f->proof1_len,
                         jr + u * f->jr1_len, t[u], verifier + u * f->verifier1_len, &s);
    s_free(s.c, M + 1);
    s_free(s.pre, M + 1);
    s_free(s.q, P);
    s_free((uint64_t *)s.acc, 2 * nw);
    s_free(x, f->out_len);
    return rc;
}

int mpc_flp_decide(const mpc_flp *f, const uint64_t *verifier)
{
    uint64_t L = f->chunk;
    int ok = 1;
    for (uint64_t i = 0; i < f->verifier_len; i++)
        if (verifier[i] >= MPC_F61_P) return 0;
    for (unsigned u = 0; u < f->proofs; u++) {
        const uint64_t *v = verifier + u * f->verifier1_len;
        uint64_t g = 0;
        for (uint64_t l = 0; l < L; l++) g = mpc_f61_add(g, mpc_f61_mul(v[1 + 2 * l], v[2 + 2 * l]));
        ok &= v[0] == 0 && g == v[1 + 2 * L];
    }
    return ok;
}
