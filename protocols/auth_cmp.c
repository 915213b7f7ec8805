/* auth_cmp.c — LTZ and EQZ of authenticated values from authenticated random bits
 * (auth_cmp.h). */
#include "auth_cmp.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "fault.h"
#include "mpc_err.h"

uint32_t mpc_auth_cmp_rounds(uint32_t n)
{
    return mpc_auth_bits_rounds(n) + 1 + 7;
}

/* z = a + s·[b] for public a ∈ {0, 1} and s ∈ {1, −1} (value share of party 0, MAC shares). */
static inline void s_affine(mpc_u128 *zx, mpc_u128 *zm, unsigned a, int neg, mpc_u128 bx, mpc_u128 bm, int p0,
                            mpc_u128 alpha)
{
    *zx = (p0 ? (mpc_u128)a : 0) + (neg ? -bx : bx);
    *zm = alpha * a + (neg ? -bm : bm);
}

/* One level of the tree: for every element k and pair j of W entries (lo 2j, hi 2j+1),
 * G' = G_hi + P_hi·G_lo and P' = P_hi·P_lo (G NULL: EQZ, P only; need_p 0: the root of LTZ,
 * G only); an odd top entry moves up unchanged.  Arrays element-major, width W → W'. */
static int s_level(const mpc_auth_bits_ctx *cx, uint64_t seq, uint64_t N, uint32_t W, mpc_u128 *G, mpc_u128 *Gm,
                   mpc_u128 *P, mpc_u128 *Pm, int need_p, mpc_auth_bits_stats *st, char *err, size_t errlen)
{
    const uint32_t h = W / 2, W2 = h + (W & 1);
    const int np = (G ? 1 : 0) + (need_p ? 1 : 0);   /* products per pair */
    const uint64_t M = N * h * (uint64_t)np;
    mpc_u128 *x = mpc_auth_alloc(M), *xm = mpc_auth_alloc(M), *y = mpc_auth_alloc(M), *ym = mpc_auth_alloc(M);
    mpc_u128 *z = mpc_auth_alloc(M), *zm = mpc_auth_alloc(M);
    int r = 0;
    if (!x || !xm || !y || !ym || !z || !zm) {
        r = mpc_errc(err, errlen, MPC_ERR_NOMEM, "comparison: out of memory");
        goto out;
    }
    uint64_t q = 0;
    for (uint64_t k = 0; k < N; k++)
        for (uint32_t j = 0; j < h; j++) {
            uint64_t lo = k * W + 2 * j, hi = lo + 1;
            if (G) {
                x[q] = P[hi], xm[q] = Pm[hi], y[q] = G[lo], ym[q] = Gm[lo];
                q++;
            }
            if (need_p) {
                x[q] = P[hi], xm[q] = Pm[hi], y[q] = P[lo], ym[q] = Pm[lo];
                q++;
            }
        }
    if ((r = mpc_auth_mul(cx, seq, M, x, xm, y, ym, z, zm, st, err, errlen))) goto out;
    q = 0;
    for (uint64_t k = 0; k < N; k++) {   /* in place: entry k·W2 + j is written after k·W + 2j + 1 is read */
        for (uint32_t j = 0; j < h; j++) {
            uint64_t hi = k * W + 2 * j + 1, to = k * W2 + j;
            if (G) {
                mpc_u128 g = G[hi] + z[q], gm = Gm[hi] + zm[q];
                G[to] = g, Gm[to] = gm;
                q++;
            }
            if (need_p) {
                P[to] = z[q], Pm[to] = zm[q];
                q++;
            }
        }
        if (W & 1) {
            uint64_t top = k * W + W - 1, to = k * W2 + h;
            if (G) G[to] = G[top], Gm[to] = Gm[top];
            P[to] = P[top], Pm[to] = Pm[top];
        }
    }
out:
    mpc_auth_wipe_free(x, M);
    mpc_auth_wipe_free(xm, M);
    mpc_auth_wipe_free(y, M);
    mpc_auth_wipe_free(ym, M);
    mpc_auth_wipe_free(z, M);
    mpc_auth_wipe_free(zm, M);
    return r;
}

/* Material, MAC check, opening: c[k] = x + r mod 2^64 and the bits b (64 per element). */
static int s_mask_open(const mpc_auth_bits_ctx *cx, uint64_t seq, uint64_t N, const mpc_u128 *xx, const mpc_u128 *xm,
                       mpc_u128 *b, mpc_u128 *bm, uint64_t *c, mpc_auth_bits_stats *st, char *err, size_t errlen)
{
    mpc_u128 *R = mpc_auth_alloc(N), *Rm = mpc_auth_alloc(N), *y = mpc_auth_alloc(N), *ym = mpc_auth_alloc(N);
    int r = 0;
    if (!R || !Rm || !y || !ym) {
        r = mpc_errc(err, errlen, MPC_ERR_NOMEM, "comparison: out of memory");
        goto out;
    }
    if ((r = mpc_auth_random(cx, N, R, Rm, st, err, errlen)) || (r = mpc_auth_bits(cx, seq, 64 * N, b, bm, st, err, errlen)))
        goto out;
    uint32_t peer;
    uint64_t t0 = mpc_now_us();
    r = mpc_mac_check_run(cx->ck, cx->key, &peer, err, errlen);   /* the bits are bits: only now open */
    st->check_us += mpc_now_us() - t0;
    if (r) goto out;
    st->checks++;
    for (uint64_t k = 0; k < N; k++) {
        mpc_u128 rv = R[k] << 64, rm = Rm[k] << 64;
        for (unsigned i = 0; i < 64; i++) {
            rv += b[64 * k + i] << i;
            rm += bm[64 * k + i] << i;
        }
        y[k] = xx[k] + rv;
        ym[k] = xm[k] + rm;
    }
    mpc_fault_u128(MPC_FAULT_OPEN, MPC_FAULT_AT_LAYER, cx->layer, y, N, 1);   /* test builds: fault.h */
    mpc_fault_u128(MPC_FAULT_MAC, MPC_FAULT_AT_LAYER, cx->layer, ym, N, 1);
    uint64_t s = seq + mpc_auth_bits_rounds(cx->t->n);
    if ((r = mpc_auth_exchange(cx->t, MPC_MSG_OPEN, cx->stream, s, y, y, N, cx->timeout_ms, &peer))) {
        mpc_errc(err, errlen, r, "comparison: party %u: %s", (unsigned)peer, mpc_strerror(r));
        goto out;
    }
    st->opened += N;
    st->bytes_sent += 16 * N * (cx->t->n - 1);
    for (uint64_t k = 0; k < N; k++) c[k] = (uint64_t)y[k];
    r = mpc_mac_check_add(cx->ck, y, ym, N);
    y = ym = NULL;
    if (r) mpc_errc(err, errlen, r, "comparison: out of memory");
out:
    mpc_auth_wipe_free(R, N);
    mpc_auth_wipe_free(Rm, N);
    free(y);   /* public */
    mpc_auth_wipe_free(ym, N);
    return r;
}

int mpc_auth_compare(const mpc_auth_bits_ctx *cx, uint64_t seq, int eqz, uint64_t N, const mpc_u128 *xx,
                     const mpc_u128 *xm, mpc_u128 *zx, mpc_u128 *zm, mpc_auth_bits_stats *st, char *err,
                     size_t errlen)
{
    mpc_auth_bits_stats dummy = {0};
    if (!st) st = &dummy;
    if (!cx || !cx->t || !cx->src || !cx->ck || !cx->key || N > MPC_AUTH_CMP_PIECE)
        return mpc_errc(err, errlen, MPC_ERR_INVALID, "comparison: bad arguments");
    if (!N) return 0;
    const int p0 = cx->t->self == 0;
    const mpc_u128 alpha = *cx->key->alpha;
    const uint32_t W0 = eqz ? 64 : 63;
    mpc_u128 *b = mpc_auth_alloc(64 * N), *bm = mpc_auth_alloc(64 * N);
    mpc_u128 *G = eqz ? NULL : mpc_auth_alloc(W0 * N), *Gm = eqz ? NULL : mpc_auth_alloc(W0 * N);
    mpc_u128 *P = mpc_auth_alloc(W0 * N), *Pm = mpc_auth_alloc(W0 * N);
    uint64_t *c = malloc(N * 8);
    int r = 0;
    if (!b || !bm || !P || !Pm || !c || (!eqz && (!G || !Gm))) {
        r = mpc_errc(err, errlen, MPC_ERR_NOMEM, "comparison: out of memory");
        goto out;
    }
    if ((r = s_mask_open(cx, seq, N, xx, xm, b, bm, c, st, err, errlen))) goto out;
    /* leaves: P_i = 1 − (c_i ⊕ b_i) = (1 − c_i) + (2c_i − 1)·b_i; G_i = (1 − c_i)·b_i */
    for (uint64_t k = 0; k < N; k++)
        for (uint32_t i = 0; i < W0; i++) {
            unsigned ci = (unsigned)(c[k] >> i & 1);
            uint64_t q = k * W0 + i;
            s_affine(P + q, Pm + q, 1 - ci, !ci, b[64 * k + i], bm[64 * k + i], p0, alpha);
            if (!eqz) {
                G[q] = ci ? 0 : b[64 * k + i];
                Gm[q] = ci ? 0 : bm[64 * k + i];
            }
        }
    uint64_t s = seq + mpc_auth_bits_rounds(cx->t->n) + 1;
    for (uint32_t W = W0; W > 1 && !r; W = W / 2 + (W & 1), s++)
        r = s_level(cx, s, N, W, G, Gm, P, Pm, eqz || W > 2, st, err, errlen);
    if (r) goto out;
    if (eqz) {
        memcpy(zx, P, (size_t)N * sizeof *zx);
        memcpy(zm, Pm, (size_t)N * sizeof *zm);
        goto out;
    }
    /* LTZ = c_63 ⊕ t with t = r_63 ⊕ lt = r_63 + lt − 2·r_63·lt */
    for (uint64_t k = 0; k < N; k++) {
        P[k] = b[64 * k + 63];
        Pm[k] = bm[64 * k + 63];
    }
    if ((r = mpc_auth_mul(cx, s, N, P, Pm, G, Gm, zx, zm, st, err, errlen))) goto out;
    for (uint64_t k = 0; k < N; k++) {
        mpc_u128 t = P[k] + G[k] - 2 * zx[k], tm = Pm[k] + Gm[k] - 2 * zm[k];
        unsigned c63 = (unsigned)(c[k] >> 63);
        s_affine(zx + k, zm + k, c63, c63, t, tm, p0, alpha);
    }
out:
    mpc_auth_wipe_free(b, 64 * N);
    mpc_auth_wipe_free(bm, 64 * N);
    mpc_auth_wipe_free(G, W0 * N);
    mpc_auth_wipe_free(Gm, W0 * N);
    mpc_auth_wipe_free(P, W0 * N);
    mpc_auth_wipe_free(Pm, W0 * N);
    free(c);   /* public */
    return r;
}
