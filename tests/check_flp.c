/* check_flp.c — the field of protocols/field61.h (p prime, root orders, reduction), the NTT,
 * and the validity proofs of protocols/flp.h: valid contributions accepted for several sizes,
 * ranges and 2 or 3 parties; every single element out of range, a non-bit, a tampered proof or
 * measurement share, a wrong joint randomness, a proof share from another contribution, a
 * malformed share and a broken norm bound each rejected, over fresh randomness; the sum of the
 * accepted contributions' output shares is the plaintext sum. */
#include <check.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "field61.h"
#include "flp.h"
#include "mpc_err.h"
#include "runner.h"

/* ---- the field ---- */

static uint64_t s_mulmod(uint64_t a, uint64_t b, uint64_t n)
{
    return (uint64_t)((unsigned __int128)a * b % n);
}

static uint64_t s_powmod(uint64_t a, uint64_t e, uint64_t n)
{
    uint64_t r = 1 % n;
    a %= n;
    while (e) {
        if (e & 1) r = s_mulmod(r, a, n);
        a = s_mulmod(a, a, n);
        e >>= 1;
    }
    return r;
}

/* Deterministic Miller-Rabin: the first 12 primes as bases decide every n < 3.3 * 10^24. */
static int s_is_prime(uint64_t n)
{
    static const uint64_t bases[] = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37};
    if (n < 2) return 0;
    for (size_t i = 0; i < 12; i++)
        if (n % bases[i] == 0) return n == bases[i];
    uint64_t d = n - 1;
    unsigned s = 0;
    while (!(d & 1)) {
        d >>= 1;
        s++;
    }
    for (size_t i = 0; i < 12; i++) {
        uint64_t x = s_powmod(bases[i], d, n);
        if (x == 1 || x == n - 1) continue;
        int comp = 1;
        for (unsigned r = 1; r < s && comp; r++) {
            x = s_mulmod(x, x, n);
            if (x == n - 1) comp = 0;
        }
        if (comp) return 0;
    }
    return 1;
}

static uint64_t s_rand_elem(void)
{
    uint64_t v;
    do {
        randombytes_buf(&v, sizeof v);
        v &= MPC_F61_M61;
    } while (v >= MPC_F61_P);
    return v;
}

START_TEST(test_field_prime_and_roots)
{
    const uint64_t p = MPC_F61_P;
    ck_assert_uint_eq(p, UINT64_C(2305842979148922881));
    ck_assert(s_is_prime(p));
    ck_assert(!s_is_prime(p + 2));   /* the test can say no: p + 2 = 3 * 768614326382974293 */
    ck_assert(!s_is_prime(UINT64_C(3215031751))); /* a strong pseudoprime to bases 2, 3, 5, 7 */
    ck_assert_uint_eq(p - 1, UINT64_C(536870905) << 32);
    ck_assert_uint_eq(UINT64_C(536870905), UINT64_C(5) * 4603 * 23327);
    static const uint64_t factors[] = {2, 5, 4603, 23327};
    for (int i = 0; i < 4; i++) {
        ck_assert(s_is_prime(factors[i]));
        ck_assert_uint_ne(s_powmod(MPC_F61_GEN, (p - 1) / factors[i], p), 1); /* 3 generates */
    }
    ck_assert_uint_eq(MPC_F61_ROOT32, s_powmod(MPC_F61_GEN, (p - 1) >> 32, p));
    for (unsigned k = 0; k <= 32; k++) {
        uint64_t w = mpc_f61_root_of_unity(k);
        ck_assert_uint_eq(s_powmod(w, UINT64_C(1) << k, p), 1);
        if (k) ck_assert_uint_eq(s_powmod(w, UINT64_C(1) << (k - 1), p), p - 1); /* order exactly 2^k */
    }
    ck_assert_uint_eq(mpc_f61_root_of_unity(33), 0);
    ck_assert_uint_eq(s_powmod(2, 61, p), MPC_F61_C61);
}
END_TEST

START_TEST(test_field_ops)
{
    const uint64_t p = MPC_F61_P;
    static const uint64_t edge[] = {0, 1, 2, MPC_F61_P - 1, MPC_F61_P - 2, MPC_F61_HALF,
                                    MPC_F61_M61 - MPC_F61_P + 5, UINT64_C(1) << 60,
                                    MPC_F61_C61, UINT64_C(0xFFFFFFFF)};
    for (int it = 0; it < 20000; it++) {
        uint64_t a = it < 100 ? edge[it % 10] : s_rand_elem();
        uint64_t b = it < 100 ? edge[it / 10] : s_rand_elem();
        ck_assert_uint_eq(mpc_f61_mul(a, b), s_mulmod(a, b, p));
        ck_assert_uint_eq(mpc_f61_add(a, b), (uint64_t)(((unsigned __int128)a + b) % p));
        ck_assert_uint_eq(mpc_f61_sub(a, b), (uint64_t)(((unsigned __int128)a + p - b) % p));
        if (a) ck_assert_uint_eq(mpc_f61_mul(a, mpc_f61_inv(a)), 1);
    }
    ck_assert_uint_eq(mpc_f61_reduce(UINT64_MAX), UINT64_MAX % p);
    uint64_t e;
    ck_assert_int_eq(mpc_f61_from_signed(-5, &e), 0);
    ck_assert_uint_eq(e, p - 5);
    ck_assert_int_eq(mpc_f61_to_signed(e), -5);
    ck_assert_int_eq(mpc_f61_from_signed((int64_t)MPC_F61_HALF + 1, &e), -1);
}
END_TEST

START_TEST(test_ntt)
{
    for (unsigned logn = 1; logn <= 6; logn++) {
        uint64_t n = UINT64_C(1) << logn, a[64], b[64];
        for (uint64_t i = 0; i < n; i++) a[i] = b[i] = s_rand_elem();
        mpc_flp_ntt(b, logn, 0);
        uint64_t w = mpc_f61_root_of_unity(logn);
        for (uint64_t k = 0; k < n; k++) {   /* the naive evaluation at w^k */
            uint64_t x = mpc_f61_pow(w, k), acc = 0;
            for (uint64_t i = n; i-- > 0;) acc = mpc_f61_add(mpc_f61_mul(acc, x), a[i]);
            ck_assert_uint_eq(b[k], acc);
        }
        mpc_flp_ntt(b, logn, 1);
        ck_assert_int_eq(memcmp(a, b, (size_t)n * 8), 0);
    }
}
END_TEST

/* ---- helpers: a report through the byte layer ---- */

typedef struct {
    unsigned n;
    int compress;
    uint8_t nonce[MPC_FLP_NONCEBYTES];
    uint8_t *shares[MPC_FLP_MAX_PARTIES];
    size_t lens[MPC_FLP_MAX_PARTIES];
    uint8_t *pub;
} report;

static void s_report(const mpc_flp *f, unsigned n, int compress, const uint64_t *meas, report *r)
{
    memset(r, 0, sizeof *r);
    r->n = n;
    r->compress = compress;
    randombytes_buf(r->nonce, sizeof r->nonce);
    for (unsigned i = 0; i < n; i++) {
        r->lens[i] = mpc_flp_input_share_size(f, compress && i > 0);
        r->shares[i] = malloc(r->lens[i]);
        ck_assert_ptr_nonnull(r->shares[i]);
    }
    r->pub = malloc(mpc_flp_public_share_size(n));
    ck_assert_int_eq(mpc_flp_shard(f, n, compress, meas, r->nonce, r->shares, r->pub), 0);
}

static void s_report_free(report *r)
{
    for (unsigned i = 0; i < r->n; i++) free(r->shares[i]);
    free(r->pub);
}

/* Every party's prep, then the decision; with `sum` (out_len elements) the accepted report's output
 * shares are added to it.  Returns mpc_flp_prep_decide's result (or prep's error). */
static int s_verify(const mpc_flp *f, const report *r, const uint8_t *key, uint64_t *sum)
{
    uint8_t *msgs[MPC_FLP_MAX_PARTIES];
    uint64_t *out = malloc((size_t)f->out_len * 8 * r->n);
    ck_assert_ptr_nonnull(out);
    int rc = 0;
    for (unsigned i = 0; i < r->n; i++) {
        msgs[i] = malloc(mpc_flp_prep_size(f));
        ck_assert_ptr_nonnull(msgs[i]);
        int prc = mpc_flp_prep(f, r->n, i, key, r->nonce, r->pub, mpc_flp_public_share_size(r->n),
                               r->shares[i], r->lens[i], out + (size_t)i * f->out_len, msgs[i]);
        if (prc) rc = prc;
    }
    if (rc == 0) rc = mpc_flp_prep_decide(f, r->n, r->nonce, (const uint8_t *const *)msgs);
    if (rc == 0 && sum)
        for (unsigned i = 0; i < r->n; i++)
            for (uint64_t e = 0; e < f->out_len; e++)
                sum[e] = mpc_f61_add(sum[e], out[(size_t)i * f->out_len + e]);
    for (unsigned i = 0; i < r->n; i++) free(msgs[i]);
    free(out);
    return rc;
}

static int64_t s_rand_in(int64_t lo, int64_t hi)
{
    uint64_t span = (uint64_t)(hi - lo) + 1;
    return lo + (int64_t)(randombytes_uniform((uint32_t)(span > UINT32_MAX ? UINT32_MAX : span)) %
                          span);
}

static uint64_t *s_encode_random(const mpc_flp *f, int64_t *x)
{
    uint64_t *meas = malloc((size_t)f->meas_len * 8);
    ck_assert_ptr_nonnull(meas);
    for (uint64_t e = 0; e < f->dim; e++) x[e] = s_rand_in(f->lo, f->hi);
    if (f->l2_bound)   /* keep the norm below the bound: zero elements until it is */
        for (uint64_t e = 0; e < f->dim; e++) {
            unsigned __int128 sq = 0;
            for (uint64_t k = 0; k < f->dim; k++) sq += (unsigned __int128)(x[k] * x[k]);
            if (sq <= f->l2_bound) break;
            x[e] = 0 >= f->lo && 0 <= f->hi ? 0 : f->lo;
        }
    ck_assert_int_eq(mpc_flp_encode(f, x, meas), 0);
    return meas;
}

static const uint8_t *s_key(void)
{
    static uint8_t key[MPC_FLP_KEYBYTES];
    static int done;
    if (!done) randombytes_buf(key, sizeof key);
    done = 1;
    return key;
}

/* ---- the circuit's shape and encoding ---- */

START_TEST(test_init_and_sizes)
{
    mpc_flp f;
    ck_assert_int_eq(mpc_flp_init(&f, 1000, -65536, 65536, 0, 1), 0);
    ck_assert_uint_eq(f.bits, 18);
    ck_assert_uint_eq(f.meas_len, 18000);
    ck_assert_uint_eq(f.top_weight, 1);   /* 0..131072: bits 2^0..2^16, then 1 */
    ck_assert_uint_le(f.calls + 1, f.npts);
    ck_assert_uint_eq(f.proof_len, 2 * f.chunk + 2 * f.npts - 1);
    ck_assert_uint_lt(f.proof_len, 700);                    /* O(sqrt n), not O(n) */
    ck_assert_uint_eq(f.verifier_len, 2 * f.chunk + 2);
    ck_assert_uint_eq(f.jr_len, f.calls_range + 1);
    uint64_t one = f.proof_len;
    ck_assert_int_eq(mpc_flp_init(&f, 1000, -65536, 65536, 0, 2), 0);
    ck_assert_uint_eq(f.proof_len, 2 * one);
    ck_assert_uint_eq(f.verifier_len, 2 * (2 * f.chunk + 2));
    ck_assert_int_eq(mpc_flp_init(&f, 10, 0, 1, 0, 0), MPC_ERR_INVALID);
    ck_assert_int_eq(mpc_flp_init(&f, 10, 0, 1, 0, MPC_FLP_MAX_PROOFS + 1), MPC_ERR_INVALID);
    ck_assert_int_eq(mpc_flp_init(&f, 1000, -65536, 65536, UINT64_C(1) << 40, 1), 0);
    ck_assert_uint_eq(f.norm_bits, 41);
    ck_assert_uint_eq(f.meas_len, 18041);
    ck_assert_int_eq(mpc_flp_init(&f, 0, 0, 1, 0, 1), MPC_ERR_INVALID);
    ck_assert_int_eq(mpc_flp_init(&f, 10, 1, 1, 0, 1), MPC_ERR_INVALID);
    ck_assert_int_eq(mpc_flp_init(&f, 10, 0, MPC_FLP_MAX_ABS + 1, 0, 1), MPC_ERR_INVALID);
    ck_assert_int_eq(mpc_flp_init(&f, MPC_FLP_MAX_DIM + 1, 0, 1, 0, 1), MPC_ERR_INVALID);
    /* the squares could wrap the field */
    ck_assert_int_eq(mpc_flp_init(&f, 1 << 20, -MPC_FLP_MAX_ABS, MPC_FLP_MAX_ABS, 1, 1), MPC_ERR_INVALID);
}
END_TEST

/* Every bit vector of a range that is not a power of two decodes into [lo, hi]: the top bit's
 * weight is chosen so (0..5: weights 1, 2, 3). */
START_TEST(test_encode_exact_range)
{
    mpc_flp f;
    ck_assert_int_eq(mpc_flp_init(&f, 1, -2, 3, 0, 1), 0);
    ck_assert_uint_eq(f.bits, 3);
    int seen[6] = {0};
    for (uint64_t v = 0; v < 8; v++) {
        uint64_t m[3] = {v & 1, (v >> 1) & 1, v >> 2}, out;
        mpc_flp_output(&f, 1, m, &out);
        int64_t x = mpc_f61_to_signed(out);
        ck_assert(x >= -2 && x <= 3);
        seen[x + 2] = 1;
    }
    for (int64_t x = -2; x <= 3; x++) {
        uint64_t m[3], out;
        ck_assert_int_eq(mpc_flp_encode(&f, &x, m), 0);
        mpc_flp_output(&f, 1, m, &out);
        ck_assert_int_eq(mpc_f61_to_signed(out), x);
        ck_assert(seen[x + 2]);
    }
    int64_t bad = 4;
    uint64_t m[3];
    ck_assert_int_eq(mpc_flp_encode(&f, &bad, m), MPC_ERR_INPUT);
    ck_assert_int_eq(mpc_flp_init(&f, 2, -10, 10, 150, 1), 0);
    int64_t xs[2] = {10, 7};
    uint64_t mm[64];
    ck_assert_uint_le(f.meas_len, 64);
    ck_assert_int_eq(mpc_flp_encode(&f, xs, mm), 0);               /* 149 <= 150 */
    xs[1] = 8;                                                      /* 164 > 150 */
    ck_assert_int_eq(mpc_flp_encode(&f, xs, mm), MPC_ERR_INPUT);
}
END_TEST

/* ---- accepted ---- */

static const struct {
    uint64_t dim;
    int64_t lo, hi;
    uint64_t l2;
    unsigned proofs;
} s_cfg[] = {
    {1, 0, 1, 0, 1},        {7, 0, 5, 0, 2},        {100, -3, 1000, 0, 1}, {1000, -65536, 65536, 0, 2},
    {33, -65536, 65536, UINT64_C(33) << 31, 2}, {50, -1, 1, 20, 3}, {300, 0, 255, 0, 1},
};
#define S_NCFG (sizeof s_cfg / sizeof s_cfg[0])

START_TEST(test_valid_accepted)
{
    /* _i: configuration; every one with 2 and 3 parties, explicit and compressed shares */
    mpc_flp f;
    ck_assert_int_eq(mpc_flp_init(&f, s_cfg[_i].dim, s_cfg[_i].lo, s_cfg[_i].hi, s_cfg[_i].l2, s_cfg[_i].proofs), 0);
    for (unsigned n = 2; n <= 3; n++)
        for (int compress = 0; compress <= 1; compress++) {
            int64_t *x = malloc((size_t)f.dim * 8);
            uint64_t *meas = s_encode_random(&f, x), *sum = calloc((size_t)f.dim, 8);
            report r;
            s_report(&f, n, compress, meas, &r);
            ck_assert_int_eq(s_verify(&f, &r, s_key(), sum), 0);
            for (uint64_t e = 0; e < f.dim; e++) ck_assert_int_eq(mpc_f61_to_signed(sum[e]), x[e]);
            s_report_free(&r);
            free(x);
            free(meas);
            free(sum);
        }
}
END_TEST

/* The extremes of the range and the norm bound exactly met. */
START_TEST(test_edges_accepted)
{
    mpc_flp f;
    ck_assert_int_eq(mpc_flp_init(&f, 4, -65536, 65536, UINT64_C(4) << 32, 1), 0);
    int64_t x[4] = {-65536, 65536, 65536, -65536};
    uint64_t meas[256];
    ck_assert_uint_le(f.meas_len, 256);
    ck_assert_int_eq(mpc_flp_encode(&f, x, meas), 0);
    report r;
    s_report(&f, 2, 1, meas, &r);
    ck_assert_int_eq(s_verify(&f, &r, s_key(), NULL), 0);
    s_report_free(&r);
}
END_TEST

/* ---- rejected ---- */

/* meas with element e's bits changed so that it decodes to lo - 1 or hi + 1: a client can only
 * do so with a value that is not a bit. */
START_TEST(test_each_element_out_of_range)
{
    mpc_flp f;
    ck_assert_int_eq(mpc_flp_init(&f, 20, -3, 5, 0, 1), 0);   /* 4 bits, top weight 1 */
    int64_t x[20];
    for (unsigned n = 2; n <= 3; n++)
        for (uint64_t e = 0; e < f.dim; e++)
            for (int above = 0; above <= 1; above++) {
                uint64_t *meas = s_encode_random(&f, x);
                int64_t v = above ? f.hi : f.lo;
                uint64_t *m = meas + e * f.bits, out[20];
                ck_assert_int_eq(mpc_flp_encode(&f, x, meas), 0);
                x[e] = v;
                ck_assert_int_eq(mpc_flp_encode(&f, x, meas), 0);
                m[0] = above ? mpc_f61_add(m[0], 1) : mpc_f61_sub(m[0], 1);
                mpc_flp_output(&f, 1, meas, out);
                ck_assert_int_eq(mpc_f61_to_signed(out[e]), above ? f.hi + 1 : f.lo - 1);
                report r;
                s_report(&f, n, (int)(e & 1), meas, &r);
                ck_assert_int_eq(s_verify(&f, &r, s_key(), NULL), MPC_ERR_INPUT);
                s_report_free(&r);
                free(meas);
            }
}
END_TEST

/* A 2 (or another non-bit) anywhere, also in the norm slack; repeated with fresh randomness. */
START_TEST(test_non_bit)
{
    mpc_flp f;
    ck_assert_int_eq(mpc_flp_init(&f, 40, -1, 1, 30, 2), 0);
    int64_t x[40];
    for (int it = 0; it < 60; it++) {
        uint64_t *meas = s_encode_random(&f, x);
        uint64_t i = it < 5 ? f.meas_len - 1 - (uint64_t)it : randombytes_uniform((uint32_t)f.meas_len);
        meas[i] = it % 3 == 0 ? 2 : it % 3 == 1 ? MPC_F61_P - 1 : s_rand_elem() | 2;
        report r;
        s_report(&f, 2 + (unsigned)(it & 1), it % 4 < 2, meas, &r);
        ck_assert_int_eq(s_verify(&f, &r, s_key(), NULL), MPC_ERR_INPUT);
        s_report_free(&r);
        free(meas);
    }
}
END_TEST

/* Every element of party 0's proof share changed, one at a time; then a changed measurement
 * share (caught by the joint randomness check as well as the proof). */
START_TEST(test_tampered_share)
{
    mpc_flp f;
    ck_assert_int_eq(mpc_flp_init(&f, 12, 0, 9, 200, 2), 0);
    int64_t x[12];
    uint64_t *meas = s_encode_random(&f, x);
    size_t moff = (size_t)f.meas_len * 8;
    for (uint64_t k = 0; k < f.proof_len; k++)
        for (unsigned n = 2; n <= 3; n++) {
            report r;
            s_report(&f, n, 1, meas, &r);
            uint8_t *el = r.shares[0] + moff + 8 * k;
            uint64_t v = 0;
            for (int b = 0; b < 8; b++) v |= (uint64_t)el[b] << (8 * b);
            v = mpc_f61_add(v, 1 + randombytes_uniform(1000));
            for (int b = 0; b < 8; b++) el[b] = (uint8_t)(v >> (8 * b));
            ck_assert_int_eq(s_verify(&f, &r, s_key(), NULL), MPC_ERR_INPUT);
            s_report_free(&r);
        }
    for (uint64_t i = 0; i < f.meas_len; i += 7) {
        report r;
        s_report(&f, 3, 0, meas, &r);
        r.shares[1][8 * i] ^= 1;
        ck_assert_int_eq(s_verify(&f, &r, s_key(), NULL), MPC_ERR_INPUT);
        s_report_free(&r);
    }
    free(meas);
}
END_TEST

/* A proof computed under other joint randomness than the verifiers derive (on a measurement
 * with nonzero bits: an all-zero measurement's wires do not depend on r), and a public share
 * whose part for one party is not what that party's share gives. */
START_TEST(test_wrong_joint_randomness)
{
    mpc_flp f;
    ck_assert_int_eq(mpc_flp_init(&f, 64, -1, 1, 0, 2), 0);
    int64_t x[64];
    uint64_t *jr = malloc((size_t)f.jr_len * 8), *jr2 = malloc((size_t)f.jr_len * 8);
    for (int it = 0; it < 20; it++) {
        uint64_t *meas = s_encode_random(&f, x);
        meas[0] = 1;
        ck_assert_uint_ge(f.calls_range, 2);
        meas[f.chunk] = 1; /* a nonzero bit in the second call too */
        uint64_t *proof = malloc((size_t)f.proof_len * 8), *ver = malloc((size_t)f.verifier_len * 8);
        for (uint64_t i = 0; i < f.jr_len; i++) jr[i] = jr2[i] = s_rand_elem();
        /* one r_k changed, in the first proof or the second, in the first call or another */
        jr2[(it & 1) * f.jr1_len + (it & 2 ? 1 : 0)] = s_rand_elem();
        uint64_t t[2] = {s_rand_elem(), s_rand_elem()};
        ck_assert_int_eq(mpc_flp_prove(&f, meas, jr, proof), 0);
        ck_assert_int_eq(mpc_flp_query(&f, 1, meas, proof, jr, t, ver), 0);
        ck_assert_int_eq(mpc_flp_decide(&f, ver), 1);          /* the one party holds it all */
        ck_assert_int_eq(mpc_flp_query(&f, 1, meas, proof, jr2, t, ver), 0);
        ck_assert_int_eq(mpc_flp_decide(&f, ver), 0);
        /* a root of unity as a query point is refused */
        t[it & 1] = mpc_f61_root_of_unity(f.log_p);
        ck_assert_int_eq(mpc_flp_query(&f, 1, meas, proof, jr, t, ver), MPC_ERR_INVALID);
        free(proof);
        free(ver);

        report r;
        s_report(&f, 2 + (unsigned)(it & 1), it & 2, meas, &r);
        r.pub[32 * (unsigned)(it % 2) + (unsigned)it] ^= 0x40;
        ck_assert_int_eq(s_verify(&f, &r, s_key(), NULL), MPC_ERR_INPUT);
        s_report_free(&r);
        free(meas);
    }
    free(jr);
    free(jr2);
}
END_TEST

/* Party 1's proof share taken from another valid contribution (same measurement, so only the
 * proof shares differ), and a whole input share moved between reports. */
START_TEST(test_swapped_proof_share)
{
    mpc_flp f;
    ck_assert_int_eq(mpc_flp_init(&f, 100, -65536, 65536, 0, 1), 0);
    int64_t x[100];
    size_t moff = (size_t)f.meas_len * 8, plen = (size_t)f.proof_len * 8;
    for (int it = 0; it < 10; it++) {
        uint64_t *meas = s_encode_random(&f, x);
        unsigned n = 2 + (unsigned)(it & 1);
        report a, b;
        s_report(&f, n, 0, meas, &a);
        s_report(&f, n, 0, meas, &b);
        ck_assert_int_eq(s_verify(&f, &a, s_key(), NULL), 0);
        ck_assert_int_eq(s_verify(&f, &b, s_key(), NULL), 0);
        memcpy(a.shares[1] + moff, b.shares[1] + moff, plen);
        ck_assert_int_eq(s_verify(&f, &a, s_key(), NULL), MPC_ERR_INPUT);
        memcpy(b.nonce, a.nonce, sizeof a.nonce);   /* same nonce, another report's share */
        uint8_t *tmp = a.shares[0];
        a.shares[0] = b.shares[0];
        b.shares[0] = tmp;
        ck_assert_int_eq(s_verify(&f, &b, s_key(), NULL), MPC_ERR_INPUT);
        s_report_free(&a);
        s_report_free(&b);
        free(meas);
    }
}
END_TEST

/* A sum of squares above the bound is rejected, whether the slack bits claim the whole bound
 * or 0 (a negative slack cannot be written in bits). */
START_TEST(test_norm_exceeded)
{
    mpc_flp f;
    ck_assert_int_eq(mpc_flp_init(&f, 10, -100, 100, 5000, 1), 0);
    int64_t x[10] = {100, 100, -1, 0, 3, 0, 0, 0, 0, 0};  /* 20010 > 5000 */
    uint64_t meas[256];
    for (int it = 0; it < 10; it++) {
        int64_t small[10] = {0};
        ck_assert_int_eq(mpc_flp_encode(&f, small, meas), 0);   /* the slack bits of 5000 */
        for (int e = 0; e < 10; e++) {
            int64_t one = x[e];
            mpc_flp g;
            ck_assert_int_eq(mpc_flp_init(&g, 1, -100, 100, 0, 1), 0);
            ck_assert_int_eq(mpc_flp_encode(&g, &one, meas + (uint64_t)e * f.bits), 0);
        }
        uint64_t *slack = meas + f.dim * f.bits;
        if (it & 1)
            for (unsigned k = 0; k < f.norm_bits; k++) slack[k] = 0;
        report r;
        s_report(&f, 2 + (unsigned)(it & 1), 1, meas, &r);
        ck_assert_int_eq(s_verify(&f, &r, s_key(), NULL), MPC_ERR_INPUT);
        s_report_free(&r);
    }
}
END_TEST

/* The bound exactly met is accepted; one unit above it (Σx² = B + 1) is refused by the encoder
 * and, encoded anyway (slack 0, as the SDK's test switch MPC_TEST_CONTRIB_INVALID=norm does, or
 * slack claiming the whole bound), rejected by the daemons. */
START_TEST(test_norm_just_above)
{
    mpc_flp f, g;
    ck_assert_int_eq(mpc_flp_init(&f, 3, -10, 10, 25, 2), 0);
    ck_assert_int_eq(mpc_flp_init(&g, 3, -10, 10, 0, 2), 0);
    ck_assert_uint_eq(f.meas_len, g.meas_len + f.norm_bits);
    uint64_t meas[64];
    ck_assert_uint_le(f.meas_len, 64);
    int64_t at[3] = {3, -4, 0}, above[3] = {3, -4, 1};
    for (unsigned n = 2; n <= 3; n++) {
        report r;
        ck_assert_int_eq(mpc_flp_encode(&f, at, meas), 0);
        s_report(&f, n, 1, meas, &r);
        ck_assert_int_eq(s_verify(&f, &r, s_key(), NULL), 0);
        s_report_free(&r);
        ck_assert_int_eq(mpc_flp_encode(&f, above, meas), MPC_ERR_INPUT);
        for (int slack = 0; slack < 2; slack++) {
            int64_t zero[3] = {0, 0, 0};
            ck_assert_int_eq(mpc_flp_encode(&f, zero, meas), 0);   /* slack bits of 25 */
            ck_assert_int_eq(mpc_flp_encode(&g, above, meas), 0);  /* the elements' bits */
            if (!slack) memset(meas + g.meas_len, 0, f.norm_bits * sizeof *meas);
            s_report(&f, n, (int)(n & 1), meas, &r);
            ck_assert_int_eq(s_verify(&f, &r, s_key(), NULL), MPC_ERR_INPUT);
            s_report_free(&r);
        }
    }
}
END_TEST

/* Wrong lengths, elements >= p, a bad public share length: refused before any arithmetic. */
START_TEST(test_malformed)
{
    mpc_flp f;
    ck_assert_int_eq(mpc_flp_init(&f, 30, 0, 3, 0, 1), 0);
    int64_t x[30];
    uint64_t *meas = s_encode_random(&f, x);
    report r;
    s_report(&f, 2, 0, meas, &r);
    uint8_t *msg = malloc(mpc_flp_prep_size(&f));
    uint64_t out[30];
    size_t pl = mpc_flp_public_share_size(2);
    ck_assert_int_eq(mpc_flp_prep(&f, 2, 0, s_key(), r.nonce, r.pub, pl, r.shares[0], r.lens[0] - 1, out, msg),
                     MPC_ERR_INPUT);
    ck_assert_int_eq(mpc_flp_prep(&f, 2, 0, s_key(), r.nonce, r.pub, pl - 1, r.shares[0], r.lens[0], out, msg),
                     MPC_ERR_INPUT);
    /* party 0 never takes a seed */
    ck_assert_int_eq(mpc_flp_prep(&f, 2, 0, s_key(), r.nonce, r.pub, pl, r.shares[0],
                                  mpc_flp_input_share_size(&f, 1), out, msg), MPC_ERR_INPUT);
    ck_assert_int_eq(mpc_flp_prep(&f, 2, 2, s_key(), r.nonce, r.pub, pl, r.shares[0], r.lens[0], out, msg),
                     MPC_ERR_INVALID);
    memset(r.shares[1] + 8 * 5, 0xff, 8);
    ck_assert_int_eq(mpc_flp_prep(&f, 2, 1, s_key(), r.nonce, r.pub, pl, r.shares[1], r.lens[1], out, msg),
                     MPC_ERR_INPUT);
    /* an element >= p in a prep message */
    s_report_free(&r);
    s_report(&f, 2, 0, meas, &r);
    uint8_t *msgs[2] = {msg, malloc(mpc_flp_prep_size(&f))};
    for (unsigned i = 0; i < 2; i++)
        ck_assert_int_eq(mpc_flp_prep(&f, 2, i, s_key(), r.nonce, r.pub, pl, r.shares[i], r.lens[i], out, msgs[i]),
                         0);
    ck_assert_int_eq(mpc_flp_prep_decide(&f, 2, r.nonce, (const uint8_t *const *)msgs), 0);
    uint8_t nonce2[MPC_FLP_NONCEBYTES];
    memcpy(nonce2, r.nonce, sizeof nonce2);
    nonce2[0] ^= 1;
    ck_assert_int_eq(mpc_flp_prep_decide(&f, 2, nonce2, (const uint8_t *const *)msgs), MPC_ERR_INPUT);
    memset(msgs[1] + 64, 0xff, 8);
    ck_assert_int_eq(mpc_flp_prep_decide(&f, 2, r.nonce, (const uint8_t *const *)msgs), MPC_ERR_INPUT);
    free(msgs[0]);
    free(msgs[1]);
    s_report_free(&r);
    free(meas);
}
END_TEST

/* Random bytes as input shares, public shares and prep messages, of random and of the exact
 * lengths (elements masked below p so that they get past the decoding): never accepted, never
 * out of bounds (the sanitizer builds check the latter). */
START_TEST(test_hostile_bytes)
{
    mpc_flp f;
    ck_assert_int_eq(mpc_flp_init(&f, 25, -7, 7, 100, 2), 0);
    size_t full = mpc_flp_input_share_size(&f, 0), seed = mpc_flp_input_share_size(&f, 1);
    size_t msz = mpc_flp_prep_size(&f), pl = mpc_flp_public_share_size(2);
    uint8_t *buf = malloc(2 * full), *pub = malloc(pl), *msgs[2] = {malloc(msz), malloc(msz)};
    uint8_t nonce[MPC_FLP_NONCEBYTES];
    uint64_t out[25];
    for (int it = 0; it < 300; it++) {
        size_t len = it % 3 == 0 ? full : it % 3 == 1 ? seed : randombytes_uniform((uint32_t)(2 * full));
        unsigned party = len == seed ? 1 : (unsigned)(it & 1);
        randombytes_buf(buf, 2 * full);
        randombytes_buf(pub, pl);
        randombytes_buf(nonce, sizeof nonce);
        if (it % 2 == 0)   /* elements below p: the share decodes, only the proof can refuse it */
            for (size_t k = 7; k + 1 < len - 32 && len > 40; k += 8) buf[k] &= 0x1f;
        int rc = mpc_flp_prep(&f, 2, party, s_key(), nonce, pub, pl, buf, len, out, msgs[party]);
        if (len != full && !(len == seed && party > 0)) ck_assert_int_eq(rc, MPC_ERR_INPUT);
        if (rc == 0) {   /* then the other party's message is random bytes too */
            randombytes_buf(msgs[1 - party], msz);
            for (size_t k = 64 + 7; k < msz; k += 8) msgs[1 - party][k] &= 0x1f;
            ck_assert_int_eq(mpc_flp_prep_decide(&f, 2, nonce, (const uint8_t *const *)msgs), MPC_ERR_INPUT);
        }
    }
    free(buf);
    free(pub);
    free(msgs[0]);
    free(msgs[1]);
}
END_TEST

/* ---- aggregation ---- */

/* 40 contributions of which every fifth is invalid: the sum of the accepted ones' output shares
 * is the plaintext sum of the valid ones. */
START_TEST(test_aggregate)
{
    mpc_flp f;
    ck_assert_int_eq(mpc_flp_init(&f, 200, -65536, 65536, 0, 2), 0);
    uint64_t *sum = calloc(200, 8);
    int64_t want[200] = {0}, x[200];
    int accepted = 0;
    for (int c = 0; c < 40; c++) {
        uint64_t *meas = s_encode_random(&f, x);
        int bad = c % 5 == 4;
        if (bad) meas[randombytes_uniform((uint32_t)f.meas_len)] = 3;
        report r;
        s_report(&f, 3, c & 1, meas, &r);
        int rc = s_verify(&f, &r, s_key(), sum);
        ck_assert_int_eq(rc, bad ? MPC_ERR_INPUT : 0);
        if (!bad) {
            accepted++;
            for (int e = 0; e < 200; e++) want[e] += x[e];
        }
        s_report_free(&r);
        free(meas);
    }
    ck_assert_int_eq(accepted, 32);
    for (int e = 0; e < 200; e++) ck_assert_int_eq(mpc_f61_to_signed(sum[e]), want[e]);
    free(sum);
}
END_TEST

/* ---- derived entries ---- */

/* The products a term claims, in plaintext. */
static void s_derived_want(const mpc_flp *f, const int64_t *x, int64_t *want)
{
    uint64_t e = 0;
    for (unsigned u = 0; u < f->n_terms; u++) {
        const mpc_flp_term *t = &f->terms[u];
        int64_t acc = 0;
        for (uint64_t k = 0; k < t->n; k++) {
            int64_t p = x[t->a + k] * x[t->b + k];
            if (t->each) want[e++] = p;
            else acc += p;
        }
        if (!t->each) want[e++] = acc;
    }
}

static const mpc_flp_term s_terms_a[] = {{0, 0, 12, 1}, {0, 6, 6, 1}, {0, 0, 12, 0}, {3, 4, 5, 0}};

/* Sizes: the entries follow the bits; the proof grows by the products' calls, the joint
 * randomness by one element per entry; terms out of the vector, too many, or whose entries
 * could wrap the field are refused. */
START_TEST(test_derived_init)
{
    mpc_flp f, g;
    ck_assert_int_eq(mpc_flp_init(&g, 12, -100, 100, 0, 2), 0);
    ck_assert_int_eq(mpc_flp_init_derived(&f, 12, -100, 100, 0, s_terms_a, 4, 2), 0);
    ck_assert_uint_eq(f.n_derived, 12 + 6 + 1 + 1);
    ck_assert_uint_eq(f.n_products, 12 + 6 + 12 + 5);
    ck_assert_uint_eq(f.bit_len, g.meas_len);
    ck_assert_uint_eq(f.meas_len, g.meas_len + 20);
    ck_assert_uint_eq(f.out_len, 32);
    ck_assert_uint_eq(f.jr1_len, f.calls_range + 1 + 20);
    ck_assert_uint_eq(f.calls, f.calls_range + f.calls_derived);
    ck_assert_uint_eq(f.calls_derived, (35 + f.chunk - 1) / f.chunk);
    mpc_flp_term bad[] = {{0, 0, 13, 1}, {12, 0, 1, 1}, {0, 7, 6, 0}, {0, 0, 0, 1}, {0, 0, 1, 2}};
    for (int i = 0; i < 5; i++) ck_assert_int_eq(mpc_flp_init_derived(&f, 12, -100, 100, 0, &bad[i], 1, 2), MPC_ERR_INVALID);
    mpc_flp_term many[MPC_FLP_MAX_TERMS + 1];
    for (int i = 0; i <= MPC_FLP_MAX_TERMS; i++) many[i] = (mpc_flp_term){0, 0, 1, 1};
    ck_assert_int_eq(mpc_flp_init_derived(&f, 12, -100, 100, 0, many, MPC_FLP_MAX_TERMS + 1, 2), MPC_ERR_INVALID);
    ck_assert_int_eq(mpc_flp_init_derived(&f, 12, -100, 100, 0, many, MPC_FLP_MAX_TERMS, 2), 0);
    /* |x| up to 2^30: one square is 2^60 >= (p - 1)/2; 2^29: 2^58, but a dot of 4 reaches 2^60 */
    mpc_flp_term sq = {0, 0, 1, 1}, dot4 = {0, 0, 4, 0}, dot3 = {0, 0, 3, 0};
    ck_assert_int_eq(mpc_flp_init_derived(&f, 4, -(INT64_C(1) << 30), 1 << 30, 0, &sq, 1, 2), MPC_ERR_INVALID);
    ck_assert_int_eq(mpc_flp_init_derived(&f, 4, -(INT64_C(1) << 29), 1 << 29, 0, &sq, 1, 2), 0);
    ck_assert_int_eq(mpc_flp_init_derived(&f, 4, -(INT64_C(1) << 29), 1 << 29, 0, &dot4, 1, 2), MPC_ERR_INVALID);
    ck_assert_int_eq(mpc_flp_init_derived(&f, 4, -(INT64_C(1) << 29), 1 << 29, 0, &dot3, 1, 2), 0);
}
END_TEST

/* Honest contributions with derived entries (with and without a norm bound, 2 and 3 parties,
 * compressed or not) are accepted, and the summed output shares are the plaintext sums of the
 * values and of every product. */
START_TEST(test_derived_accepted)
{
    for (int cfg = 0; cfg < 4; cfg++) {
        mpc_flp f;
        uint64_t l2 = cfg & 2 ? 40000 : 0;
        ck_assert_int_eq(mpc_flp_init_derived(&f, 12, -100, 100, l2, s_terms_a, 4, 2), 0);
        uint64_t *sum = calloc(f.out_len, 8);
        int64_t want[32] = {0}, x[12], d[20];
        for (int c = 0; c < 6; c++) {
            uint64_t *meas = s_encode_random(&f, x);
            report r;
            s_report(&f, 2 + (unsigned)(cfg & 1), c & 1, meas, &r);
            ck_assert_int_eq(s_verify(&f, &r, s_key(), sum), 0);
            s_derived_want(&f, x, d);
            for (int e = 0; e < 12; e++) want[e] += x[e];
            for (int e = 0; e < 20; e++) want[12 + e] += d[e];
            s_report_free(&r);
            free(meas);
        }
        for (uint64_t e = 0; e < f.out_len; e++) ck_assert_int_eq(mpc_f61_to_signed(sum[e]), want[e]);
        free(sum);
    }
}
END_TEST

/* A derived entry that lies — off by one, the product of other elements, zero, or every entry
 * shifted together — is rejected, entry by entry, on 2 and 3 parties; so is a report checked
 * under other terms of the same sizes (the terms are bound into the joint randomness). */
START_TEST(test_derived_lie)
{
    mpc_flp f;
    ck_assert_int_eq(mpc_flp_init_derived(&f, 12, -100, 100, 0, s_terms_a, 4, 2), 0);
    int64_t x[12];
    for (uint64_t e = 0; e < f.n_derived; e++)
        for (int how = 0; how < 3; how++) {
            uint64_t *meas = s_encode_random(&f, x);
            uint64_t *y = meas + f.bit_len + e;
            if (how == 0) *y = mpc_f61_add(*y, 1);
            else if (how == 1) *y = mpc_f61_add(*y, mpc_f61_mul(2, *y) ? mpc_f61_mul(2, *y) : 1);
            else *y = *y ? 0 : 5;
            report r;
            s_report(&f, 2 + (unsigned)(e & 1), how & 1, meas, &r);
            ck_assert_int_eq(s_verify(&f, &r, s_key(), NULL), MPC_ERR_INPUT);
            s_report_free(&r);
            free(meas);
        }
    /* the entries of x' = x with x[0] + 1 in place of x's (a consistent lie about x[0]'s products) */
    for (int it = 0; it < 8; it++) {
        uint64_t *meas = s_encode_random(&f, x);
        int64_t x2[12];
        memcpy(x2, x, sizeof x);
        x2[0] = x[0] < 100 ? x[0] + 1 : x[0] - 1;
        uint64_t *m2 = malloc((size_t)f.meas_len * 8);
        ck_assert_int_eq(mpc_flp_encode(&f, x2, m2), 0);
        memcpy(meas + f.bit_len, m2 + f.bit_len, (size_t)f.n_derived * 8);
        report r;
        s_report(&f, 2, 1, meas, &r);
        ck_assert_int_eq(s_verify(&f, &r, s_key(), NULL), MPC_ERR_INPUT);
        s_report_free(&r);
        free(m2);
        free(meas);
    }
    mpc_flp_term other[4];
    memcpy(other, s_terms_a, sizeof other);
    other[3].a = 2;
    mpc_flp g;
    ck_assert_int_eq(mpc_flp_init_derived(&g, 12, -100, 100, 0, other, 4, 2), 0);
    ck_assert_uint_eq(g.meas_len, f.meas_len);
    ck_assert_uint_eq(g.proof_len, f.proof_len);
    uint64_t *meas = s_encode_random(&f, x);
    report r;
    s_report(&f, 2, 1, meas, &r);
    ck_assert_int_eq(s_verify(&g, &r, s_key(), NULL), MPC_ERR_INPUT);
    ck_assert_int_eq(s_verify(&f, &r, s_key(), NULL), 0);
    s_report_free(&r);
    free(meas);
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("flp");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_field_prime_and_roots);
    tcase_add_test(tc, test_field_ops);
    tcase_add_test(tc, test_ntt);
    tcase_add_test(tc, test_init_and_sizes);
    tcase_add_test(tc, test_encode_exact_range);
    tcase_add_loop_test(tc, test_valid_accepted, 0, (int)S_NCFG);
    tcase_add_test(tc, test_edges_accepted);
    tcase_add_test(tc, test_each_element_out_of_range);
    tcase_add_test(tc, test_non_bit);
    tcase_add_test(tc, test_tampered_share);
    tcase_add_test(tc, test_wrong_joint_randomness);
    tcase_add_test(tc, test_swapped_proof_share);
    tcase_add_test(tc, test_norm_exceeded);
    tcase_add_test(tc, test_norm_just_above);
    tcase_add_test(tc, test_malformed);
    tcase_add_test(tc, test_hostile_bytes);
    tcase_add_test(tc, test_aggregate);
    tcase_add_test(tc, test_derived_init);
    tcase_add_test(tc, test_derived_accepted);
    tcase_add_test(tc, test_derived_lie);
    suite_add_tcase(s, tc);
    return s;
}
