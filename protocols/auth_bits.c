/* auth_bits.c — authenticated random bits and values under SPDZ2k (auth_bits.h). */
#include "auth_bits.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "fault.h"
#include "mpc_err.h"

uint32_t mpc_auth_bits_rounds(uint32_t n)
{
    uint32_t levels = 0;
    for (uint32_t k = n; k > 1; k = (k + 1) / 2) levels++;
    return 2 + levels;
}

int mpc_auth_mul(const mpc_auth_bits_ctx *cx, uint64_t seq, uint64_t N, const mpc_u128 *x, const mpc_u128 *xm,
                 const mpc_u128 *y, const mpc_u128 *ym, mpc_u128 *z, mpc_u128 *zm, mpc_auth_bits_stats *st,
                 char *err, size_t errlen)
{
    mpc_auth_bits_stats dummy = {0};
    if (!st) st = &dummy;
    if (N > MPC_AUTH_MAX_BATCH) return mpc_errc(err, errlen, MPC_ERR_INVALID, "products: too many");
    if (!N) return 0;
    mpc_u128 *mat = mpc_auth_alloc(6 * N), *op = mpc_auth_alloc(2 * N), *mac = mpc_auth_alloc(2 * N);
    int r = 0;
    if (!mat || !op || !mac) {
        r = mpc_errc(err, errlen, MPC_ERR_NOMEM, "products: out of memory");
        goto out;
    }
    mpc_auth_triples tr = {mat, mat + N, mat + 2 * N, mat + 3 * N, mat + 4 * N, mat + 5 * N};
    uint64_t t0 = mpc_now_us();
    r = mpc_auth_src_triples(cx->src, N, &tr);
    st->prep_us += mpc_now_us() - t0;
    if (r) {
        mpc_errc(err, errlen, r, "products: preprocessing: %s", mpc_strerror(r));
        goto out;
    }
    st->triples += N;
    mpc_fault_u128(MPC_FAULT_TRIPLE_C, MPC_FAULT_AT_LAYER, cx->layer, tr.c, N, 1);   /* test builds: fault.h */
    for (uint64_t k = 0; k < N; k++) {
        op[k] = x[k] - tr.a[k];
        op[N + k] = y[k] - tr.b[k];
        mac[k] = xm[k] - tr.ma[k];
        mac[N + k] = ym[k] - tr.mb[k];
    }
    uint32_t peer;
    if ((r = mpc_auth_exchange(cx->t, MPC_MSG_OPEN, cx->stream, seq, op, op, 2 * N, cx->timeout_ms, &peer))) {
        mpc_errc(err, errlen, r, "products: party %u: %s", (unsigned)peer, mpc_strerror(r));
        goto out;
    }
    st->opened += 2 * N;
    st->bytes_sent += 32 * N * (cx->t->n - 1);
    const int p0 = cx->t->self == 0;
    const mpc_u128 alpha = *cx->key->alpha;
    for (uint64_t k = 0; k < N; k++) {
        mpc_u128 d = op[k], e = op[N + k], de = d * e;
        z[k] = tr.c[k] + d * tr.b[k] + e * tr.a[k] + (p0 ? de : 0);
        zm[k] = tr.mc[k] + d * tr.mb[k] + e * tr.ma[k] + alpha * de;
    }
    r = mpc_mac_check_add(cx->ck, op, mac, 2 * N);
    op = mac = NULL;
    if (r) mpc_errc(err, errlen, r, "products: out of memory");
out:
    mpc_auth_wipe_free(mat, 6 * N);
    free(op);   /* public */
    mpc_auth_wipe_free(mac, 2 * N);
    return r;
}

/* Step 1: b[p·N .. p·N + N) = party p's input bits, authenticated. */
static int s_inputs(const mpc_auth_bits_ctx *cx, uint64_t seq, uint64_t N, mpc_u128 *b, mpc_u128 *bm,
                    mpc_auth_bits_stats *st, char *err, size_t errlen)
{
    const uint32_t n = cx->t->n, me = cx->t->self;
    mpc_u128 *val = mpc_auth_alloc(N), *delta = mpc_auth_alloc((uint64_t)n * N);
    uint8_t *beta = malloc(N / 8 + 1);
    int r = 0;
    if (!val || !delta || !beta) {
        r = mpc_errc(err, errlen, MPC_ERR_NOMEM, "random bits: out of memory");
        goto out;
    }
    for (uint32_t p = 0; p < n && !r; p++) {
        uint64_t t0 = mpc_now_us();
        r = mpc_auth_src_masks(cx->src, p, N, b + p * N, bm + p * N, p == me ? val : NULL);
        st->prep_us += mpc_now_us() - t0;
        if (r) mpc_errc(err, errlen, r, "random bits: preprocessing: %s", mpc_strerror(r));
        else st->masks += N;
    }
    if (r) goto out;
    randombytes_buf(beta, N / 8 + 1);
    mpc_u128 *mine = delta + (uint64_t)me * N;
    for (uint64_t k = 0; k < N; k++) mine[k] = (mpc_u128)(beta[k >> 3] >> (k & 7) & 1) - val[k];
    mpc_fault_u128(MPC_FAULT_BIT, MPC_FAULT_AT_LAYER, cx->layer, mine, N, 1);   /* test builds: a non-bit */
    for (uint32_t j = 0; j < n && !r; j++) {
        if (j == me) continue;
        if ((r = mpc_send(cx->t, j, MPC_MSG_OPEN, cx->stream, seq, (const uint64_t *)mine, 2 * N)))
            mpc_errc(err, errlen, r, "random bits: sending to party %u: %s", (unsigned)j, mpc_strerror(r));
    }
    for (uint32_t j = 0; j < n && !r; j++) {
        if (j == me) continue;
        if ((r = mpc_recv(cx->t, j, MPC_MSG_OPEN, cx->stream, seq, (uint64_t *)(delta + (uint64_t)j * N), 2 * N,
                          cx->timeout_ms)))
            mpc_errc(err, errlen, r, "random bits: party %u: %s", (unsigned)j, mpc_strerror(r));
    }
    if (r) goto out;
    st->bytes_sent += 16 * N * (n - 1);
    for (uint32_t p = 0; p < n; p++) {
        const mpc_u128 *dp = delta + (uint64_t)p * N;
        mpc_mac_check_bcast(cx->ck, p, seq, (const uint64_t *)dp, 2 * N);
        mpc_auth_add_pub128(b + p * N, bm + p * N, b + p * N, bm + p * N, dp, N, *cx->key->alpha, me == 0);
    }
out:
    mpc_auth_wipe_free(val, N);
    mpc_auth_wipe_free(delta, (uint64_t)n * N);   /* holds this party's bits until now */
    if (beta) {
        sodium_memzero(beta, N / 8 + 1);
        free(beta);
    }
    return r;
}

int mpc_auth_bits(const mpc_auth_bits_ctx *cx, uint64_t seq, uint64_t N, mpc_u128 *bx, mpc_u128 *bm,
                  mpc_auth_bits_stats *st, char *err, size_t errlen)
{
    mpc_auth_bits_stats dummy = {0};
    if (!st) st = &dummy;
    if (!cx || !cx->t || !cx->src || !cx->ck || !cx->key || !bx || !bm || N > MPC_AUTH_MAX_BATCH)
        return mpc_errc(err, errlen, MPC_ERR_INVALID, "random bits: bad arguments");
    if (!N) return 0;
    const uint32_t n = cx->t->n;
    /* v[p·N ..]: the vectors still to combine; x, y, z: one tree level's operands and product */
    mpc_u128 *v = mpc_auth_alloc((uint64_t)n * N), *vm = mpc_auth_alloc((uint64_t)n * N);
    mpc_u128 *z = mpc_auth_alloc((uint64_t)(n / 2 ? n / 2 : 1) * N), *zm = mpc_auth_alloc((uint64_t)(n / 2 ? n / 2 : 1) * N);
    int r = 0;
    if (!v || !vm || !z || !zm) {
        r = mpc_errc(err, errlen, MPC_ERR_NOMEM, "random bits: out of memory");
        goto out;
    }
    if ((r = s_inputs(cx, seq, N, v, vm, st, err, errlen))) goto out;
    uint64_t s = seq + 1;
    for (uint32_t k = n; k > 1; k = (k + 1) / 2, s++) {
        /* pairs (2i, 2i+1) → i; an odd last one moves down unchanged */
        uint32_t h = k / 2;
        mpc_u128 *xs = mpc_auth_alloc((uint64_t)h * N), *xsm = mpc_auth_alloc((uint64_t)h * N);
        mpc_u128 *ys = mpc_auth_alloc((uint64_t)h * N), *ysm = mpc_auth_alloc((uint64_t)h * N);
        if (!xs || !xsm || !ys || !ysm) r = mpc_errc(err, errlen, MPC_ERR_NOMEM, "random bits: out of memory");
        for (uint32_t i = 0; i < h && !r; i++) {
            memcpy(xs + i * N, v + 2 * i * N, (size_t)N * sizeof *v);
            memcpy(xsm + i * N, vm + 2 * i * N, (size_t)N * sizeof *v);
            memcpy(ys + i * N, v + (2 * i + 1) * N, (size_t)N * sizeof *v);
            memcpy(ysm + i * N, vm + (2 * i + 1) * N, (size_t)N * sizeof *v);
        }
        if (!r) r = mpc_auth_mul(cx, s, (uint64_t)h * N, xs, xsm, ys, ysm, z, zm, st, err, errlen);
        for (uint64_t q = 0; q < (uint64_t)h * N && !r; q++) {   /* x ⊕ y = x + y − 2xy */
            v[q] = xs[q] + ys[q] - 2 * z[q];
            vm[q] = xsm[q] + ysm[q] - 2 * zm[q];
        }
        if (!r && (k & 1)) {
            memmove(v + (uint64_t)h * N, v + (uint64_t)(k - 1) * N, (size_t)N * sizeof *v);
            memmove(vm + (uint64_t)h * N, vm + (uint64_t)(k - 1) * N, (size_t)N * sizeof *v);
        }
        mpc_auth_wipe_free(xs, (uint64_t)h * N);
        mpc_auth_wipe_free(xsm, (uint64_t)h * N);
        mpc_auth_wipe_free(ys, (uint64_t)h * N);
        mpc_auth_wipe_free(ysm, (uint64_t)h * N);
        if (r) goto out;
    }
    /* the check: z = b·b − b must be 0; into the MAC check with value 0, never opened */
    if ((r = mpc_auth_mul(cx, s, N, v, vm, v, vm, z, zm, st, err, errlen))) goto out;
    mpc_u128 *zero = calloc(N, sizeof *zero), *zmac = mpc_auth_alloc(N);
    if (!zero || !zmac) {
        free(zero);
        free(zmac);
        r = mpc_errc(err, errlen, MPC_ERR_NOMEM, "random bits: out of memory");
        goto out;
    }
    for (uint64_t k = 0; k < N; k++) zmac[k] = zm[k] - vm[k];
    if ((r = mpc_mac_check_add(cx->ck, zero, zmac, N))) {
        mpc_errc(err, errlen, r, "random bits: out of memory");
        goto out;
    }
    memcpy(bx, v, (size_t)N * sizeof *v);
    memcpy(bm, vm, (size_t)N * sizeof *v);
    mpc_fault_u128(MPC_FAULT_RBIT, MPC_FAULT_AT_LAYER, cx->layer, bx, N, 1);   /* test builds: fault.h */
out:
    mpc_auth_wipe_free(v, (uint64_t)n * N);
    mpc_auth_wipe_free(vm, (uint64_t)n * N);
    mpc_auth_wipe_free(z, (uint64_t)(n / 2 ? n / 2 : 1) * N);
    mpc_auth_wipe_free(zm, (uint64_t)(n / 2 ? n / 2 : 1) * N);
    return r;
}

int mpc_auth_random(const mpc_auth_bits_ctx *cx, uint64_t N, mpc_u128 *x, mpc_u128 *m, mpc_auth_bits_stats *st,
                    char *err, size_t errlen)
{
    mpc_auth_bits_stats dummy = {0};
    if (!st) st = &dummy;
    if (!cx || !cx->t || !cx->src || !x || !m || N > MPC_AUTH_MAX_BATCH)
        return mpc_errc(err, errlen, MPC_ERR_INVALID, "random values: bad arguments");
    if (!N) return 0;
    mpc_u128 *px = mpc_auth_alloc(N), *pm = mpc_auth_alloc(N), *val = mpc_auth_alloc(N);
    int r = 0;
    if (!px || !pm || !val) r = mpc_errc(err, errlen, MPC_ERR_NOMEM, "random values: out of memory");
    memset(x, 0, (size_t)N * sizeof *x);
    memset(m, 0, (size_t)N * sizeof *m);
    for (uint32_t p = 0; p < cx->t->n && !r; p++) {
        uint64_t t0 = mpc_now_us();
        r = mpc_auth_src_masks(cx->src, p, N, px, pm, p == cx->t->self ? val : NULL);
        st->prep_us += mpc_now_us() - t0;
        if (r) {
            mpc_errc(err, errlen, r, "random values: preprocessing: %s", mpc_strerror(r));
            break;
        }
        st->masks += N;
        for (uint64_t k = 0; k < N; k++) {
            x[k] += px[k];
            m[k] += pm[k];
        }
    }
    mpc_auth_wipe_free(px, N);
    mpc_auth_wipe_free(pm, N);
    mpc_auth_wipe_free(val, N);
    return r;
}
