/* prep_dealer.c — dealer preprocessing with seed compression (prep_dealer.h), the party-side
 * source and the test-only local source.  The batch generator is shared: the dealer and the
 * local source run the same code on the same seeds, so the local source tests the dealer's
 * arithmetic too. */
#include "prep_dealer.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpc_err.h"
#include "prg.h"

#define S_CHUNK 4096   /* words per PRG call in the generator (a multiple of 64) */
#define S_HDR   7      /* request header words: op, triples, groups, edaBits, bin words, daBits,
                        * square pairs */

/* PRG streams of the parties' batch seeds, one per kind of material (positions from 0) */
#define S_A    MPC_PRG_STREAM(MPC_PRG_D_TRIPLE_A, 0)
#define S_B    MPC_PRG_STREAM(MPC_PRG_D_TRIPLE_B, 0)
#define S_C    MPC_PRG_STREAM(MPC_PRG_D_TRIPLE_C, 0)
#define S_LO   MPC_PRG_STREAM(MPC_PRG_D_TRUNC_LO, 0)
#define S_MID  MPC_PRG_STREAM(MPC_PRG_D_TRUNC_MID, 0)
#define S_MSB  MPC_PRG_STREAM(MPC_PRG_D_TRUNC_MSB, 0)
#define S_BA   MPC_PRG_STREAM(MPC_PRG_D_TRIPLE_A, 1)   /* binary triples */
#define S_BB   MPC_PRG_STREAM(MPC_PRG_D_TRIPLE_B, 1)
#define S_BC   MPC_PRG_STREAM(MPC_PRG_D_TRIPLE_C, 1)
#define S_ER   MPC_PRG_STREAM(MPC_PRG_D_TRIPLE_A, 2)   /* edaBits: arithmetic, bits */
#define S_EB   MPC_PRG_STREAM(MPC_PRG_D_TRIPLE_B, 2)
#define S_DR   MPC_PRG_STREAM(MPC_PRG_D_TRIPLE_A, 3)   /* daBits: arithmetic, packed bits */
#define S_DB   MPC_PRG_STREAM(MPC_PRG_D_TRIPLE_B, 3)
#define S_SA   MPC_PRG_STREAM(MPC_PRG_D_TRIPLE_A, 5)   /* square pairs: a, a² */
#define S_SA2  MPC_PRG_STREAM(MPC_PRG_D_TRIPLE_C, 5)
/* on the dealer's own secret seed only */
#define S_R    MPC_PRG_STREAM(MPC_PRG_D_TRUNC_LO, 1)   /* truncation masks */
#define S_RE   MPC_PRG_STREAM(MPC_PRG_D_TRUNC_LO, 2)   /* edaBit values */
#define S_RD   MPC_PRG_STREAM(MPC_PRG_D_TRUNC_LO, 3)   /* daBit values */

static uint64_t s_mask(uint32_t bits)
{
    return bits >= 64 ? UINT64_MAX : ((1ull << bits) - 1);
}

/* Sizes of one batch and the layout of the explicit party's payload:
 * [c: T][lo: R][mid: R][msb: R][bc: B][eda_r: E][eda_bits: E][da_r: D][da_bits: DW][sa2: S]. */
typedef struct {
    uint64_t T, R, B, E, D, DW, S;
} s_sizes;

static s_sizes s_sizes_of(const mpc_prep_req *req, uint64_t R)
{
    s_sizes z = {.T = req->n_triples, .R = R, .B = req->n_btriples, .E = req->n_edabits,
                 .D = req->n_dabits, .DW = req->n_dabits / 64 + (req->n_dabits % 64 != 0),
                 .S = req->n_squares};
    return z;
}

static uint64_t s_explicit_words(const s_sizes *z)
{
    return z->T + 3 * z->R + z->B + 2 * z->E + z->D + z->DW + z->S;
}

/* acc[0..k-1] (op)= words pos.. of (seed, stream); op: 0 add, 1 subtract, 2 xor. */
static int s_fold(uint64_t *acc, uint64_t *tmp, uint64_t k, const uint8_t *seed, uint64_t stream,
                  uint64_t pos, int op)
{
    int r = mpc_prg_expand(tmp, k, seed, stream, pos);
    if (r) return r;
    if (op == 0)
        for (uint64_t i = 0; i < k; i++) acc[i] += tmp[i];
    else if (op == 1)
        for (uint64_t i = 0; i < k; i++) acc[i] -= tmp[i];
    else
        for (uint64_t i = 0; i < k; i++) acc[i] ^= tmp[i];
    return 0;
}

/* Explicit values of party e for one batch.  seeds[j] (j < n) are the parties' batch seeds;
 * rseed drives the values of the truncation masks, edaBits and daBits.  x holds the payload
 * (layout above). */
static int s_gen_explicit(uint8_t *const *seeds, uint32_t n, uint32_t e, const mpc_prep_req *req,
                          const s_sizes *z, const uint8_t *rseed, uint64_t *x)
{
    int r = MPC_ERR_NOMEM;
    uint64_t T = z->T, R = z->R;
    uint64_t *sa = malloc(4 * S_CHUNK * sizeof(uint64_t));
    if (!sa) return r;
    uint64_t *sb = sa + S_CHUNK, *sc = sb + S_CHUNK, *tmp = sc + S_CHUNK;
    for (uint64_t pos = 0; pos < T; pos += S_CHUNK) {
        uint64_t k = T - pos < S_CHUNK ? T - pos : S_CHUNK;
        memset(sa, 0, k * sizeof(uint64_t));
        memset(sb, 0, k * sizeof(uint64_t));
        memset(sc, 0, k * sizeof(uint64_t));
        for (uint32_t j = 0; j < n; j++) {
            if ((r = s_fold(sa, tmp, k, seeds[j], S_A, pos, 0))) goto out;
            if ((r = s_fold(sb, tmp, k, seeds[j], S_B, pos, 0))) goto out;
            if (j == e) continue;
            if ((r = s_fold(sc, tmp, k, seeds[j], S_C, pos, 0))) goto out;
        }
        for (uint64_t i = 0; i < k; i++) x[pos + i] = sa[i] * sb[i] - sc[i];
    }
    uint64_t *lo = x + T, *mid = lo + R, *msb = mid + R;
    uint64_t pos = 0;
    for (uint32_t g = 0; g < req->n_trunc; g++) {
        const mpc_prep_trunc_spec *s = &req->trunc[g];
        uint64_t mlo = s_mask(s->m), mmid = s_mask(s->l - s->m), mr = s_mask(s->l + 1);
        for (uint64_t done = 0; done < s->n;) {
            uint64_t k = s->n - done < S_CHUNK ? s->n - done : S_CHUNK;
            if ((r = mpc_prg_expand(tmp, k, rseed, S_R, pos))) goto out;
            for (uint64_t i = 0; i < k; i++) {
                uint64_t rv = tmp[i] & mr;
                lo[pos + i] = rv & mlo;
                mid[pos + i] = (rv >> s->m) & mmid;
                msb[pos + i] = (rv >> s->l) & 1;
            }
            for (uint32_t j = 0; j < n; j++) {
                if (j == e) continue;
                if ((r = s_fold(lo + pos, tmp, k, seeds[j], S_LO, pos, 1))) goto out;
                if ((r = s_fold(mid + pos, tmp, k, seeds[j], S_MID, pos, 1))) goto out;
                if ((r = s_fold(msb + pos, tmp, k, seeds[j], S_MSB, pos, 1))) goto out;
            }
            pos += k;
            done += k;
        }
    }
    /* binary triples: bc_e = (XOR ba)(XOR bb) ^ XOR_{j != e} bc_j, lane-wise */
    uint64_t *bc = msb + R;
    for (pos = 0; pos < z->B; pos += S_CHUNK) {
        uint64_t k = z->B - pos < S_CHUNK ? z->B - pos : S_CHUNK;
        memset(sa, 0, 3 * S_CHUNK * sizeof(uint64_t));
        for (uint32_t j = 0; j < n; j++) {
            if ((r = s_fold(sa, tmp, k, seeds[j], S_BA, pos, 2))) goto out;
            if ((r = s_fold(sb, tmp, k, seeds[j], S_BB, pos, 2))) goto out;
            if (j == e) continue;
            if ((r = s_fold(sc, tmp, k, seeds[j], S_BC, pos, 2))) goto out;
        }
        for (uint64_t i = 0; i < k; i++) bc[pos + i] = (sa[i] & sb[i]) ^ sc[i];
    }
    /* edaBits: r from rseed; arithmetic r − Σ others, bits r ^ XOR others */
    uint64_t *er = bc + z->B, *eb = er + z->E;
    for (pos = 0; pos < z->E; pos += S_CHUNK) {
        uint64_t k = z->E - pos < S_CHUNK ? z->E - pos : S_CHUNK;
        if ((r = mpc_prg_expand(er + pos, k, rseed, S_RE, pos))) goto out;
        memcpy(eb + pos, er + pos, (size_t)k * 8);
        for (uint32_t j = 0; j < n; j++) {
            if (j == e) continue;
            if ((r = s_fold(er + pos, tmp, k, seeds[j], S_ER, pos, 1))) goto out;
            if ((r = s_fold(eb + pos, tmp, k, seeds[j], S_EB, pos, 2))) goto out;
        }
    }
    /* daBits: 64 bit values per rseed word; S_CHUNK is a multiple of 64 */
    uint64_t *dr = eb + z->E, *db = dr + z->D;
    for (pos = 0; pos < z->D; pos += S_CHUNK) {
        uint64_t k = z->D - pos < S_CHUNK ? z->D - pos : S_CHUNK;
        uint64_t kw = k / 64 + (k % 64 != 0), wpos = pos / 64;
        if ((r = mpc_prg_expand(db + wpos, kw, rseed, S_RD, wpos))) goto out;
        for (uint64_t i = 0; i < k; i++) dr[pos + i] = (db[wpos + i / 64] >> (i % 64)) & 1;
        for (uint32_t j = 0; j < n; j++) {
            if (j == e) continue;
            if ((r = s_fold(dr + pos, tmp, k, seeds[j], S_DR, pos, 1))) goto out;
            if ((r = s_fold(db + wpos, tmp, kw, seeds[j], S_DB, wpos, 2))) goto out;
        }
    }
    /* square pairs: sa2_e = (Σ sa)² − Σ_{j != e} sa2_j */
    uint64_t *s2 = db + z->DW;
    for (pos = 0; pos < z->S; pos += S_CHUNK) {
        uint64_t k = z->S - pos < S_CHUNK ? z->S - pos : S_CHUNK;
        memset(sa, 0, 2 * S_CHUNK * sizeof(uint64_t));
        for (uint32_t j = 0; j < n; j++) {
            if ((r = s_fold(sa, tmp, k, seeds[j], S_SA, pos, 0))) goto out;
            if (j == e) continue;
            if ((r = s_fold(sb, tmp, k, seeds[j], S_SA2, pos, 0))) goto out;
        }
        for (uint64_t i = 0; i < k; i++) s2[pos + i] = sa[i] * sa[i] - sb[i];
    }
    r = 0;
out:
    sodium_memzero(sa, 4 * S_CHUNK * sizeof(uint64_t));
    free(sa);
    return r;
}

/* This party's shares from its batch seed; x is the explicit payload when self is e. */
static int s_expand_party(const uint8_t *seed, int is_explicit, const uint64_t *x,
                          const s_sizes *z, mpc_prep_out *out)
{
    int r;
    uint64_t T = z->T, R = z->R;
    if ((r = mpc_prg_expand(out->a, T, seed, S_A, 0))) return r;
    if ((r = mpc_prg_expand(out->b, T, seed, S_B, 0))) return r;
    if ((r = mpc_prg_expand(out->ba, z->B, seed, S_BA, 0))) return r;
    if ((r = mpc_prg_expand(out->bb, z->B, seed, S_BB, 0))) return r;
    if ((r = mpc_prg_expand(out->sa, z->S, seed, S_SA, 0))) return r;
    if (is_explicit) {
        const uint64_t *p = x;
        struct { uint64_t *dst, n; } parts[] = {
            {out->c, T}, {out->r_lo, R}, {out->r_mid, R}, {out->r_msb, R}, {out->bc, z->B},
            {out->eda_r, z->E}, {out->eda_bits, z->E}, {out->da_r, z->D}, {out->da_bits, z->DW},
            {out->sa2, z->S},
        };
        for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
            if (parts[i].n) memcpy(parts[i].dst, p, (size_t)parts[i].n * 8);
            p += parts[i].n;
        }
        return 0;
    }
    if ((r = mpc_prg_expand(out->c, T, seed, S_C, 0))) return r;
    if ((r = mpc_prg_expand(out->r_lo, R, seed, S_LO, 0))) return r;
    if ((r = mpc_prg_expand(out->r_mid, R, seed, S_MID, 0))) return r;
    if ((r = mpc_prg_expand(out->r_msb, R, seed, S_MSB, 0))) return r;
    if ((r = mpc_prg_expand(out->bc, z->B, seed, S_BC, 0))) return r;
    if ((r = mpc_prg_expand(out->eda_r, z->E, seed, S_ER, 0))) return r;
    if ((r = mpc_prg_expand(out->eda_bits, z->E, seed, S_EB, 0))) return r;
    if ((r = mpc_prg_expand(out->da_r, z->D, seed, S_DR, 0))) return r;
    if ((r = mpc_prg_expand(out->sa2, z->S, seed, S_SA2, 0))) return r;
    return mpc_prg_expand(out->da_bits, z->DW, seed, S_DB, 0);
}

static void s_fmt(char *err, size_t errlen, const char *fmt, uint32_t party, const char *what)
{
    if (err && errlen) snprintf(err, errlen, fmt, (unsigned)party, what);
}

static void s_abort_all(mpc_transport *t, uint32_t n, uint64_t stream, int code, uint32_t lost)
{
    for (uint32_t j = 0; j < n; j++) (void)mpc_send_abort(t, j, stream, code, lost);
}

/* The party to name in the ABORT after receiving from party j failed with r: j itself when it
 * timed out or went away, the party j named when j aborted (docs/transport.md, "ABORT"). */
static uint32_t s_lost(mpc_transport *t, uint64_t stream, uint32_t j, int r)
{
    uint32_t from = MPC_ABORT_NO_PARTY, lost = MPC_ABORT_NO_PARTY;
    if (r == MPC_ERR_TIMEOUT || r == MPC_ERR_IO) return j;
    if (r == MPC_ERR_PEER_ABORT && mpc_transport_abort_info(t, stream, &from, &lost)) return lost;
    return MPC_ABORT_NO_PARTY;
}

/* ---- dealer serve loop ---- */

int mpc_dealer_serve(mpc_transport *t, uint32_t n, uint64_t stream, int timeout_ms,
                     mpc_dealer_stats *st, char *err, size_t errlen)
{
    int r = 0;
    uint32_t lost = MPC_ABORT_NO_PARTY;   /* the party the ABORT names, when one is gone */
    /* The batch seeds live in one sodium_malloc region for the whole loop, refilled and wiped
     * per batch: sodium_malloc/sodium_free per seed cost mmap, mprotect and munmap (TLB
     * shootdowns in a threaded process), about 0.3 ms per batch on the 2-core machine, which
     * every round of a deep circuit paid (docs/performance.md). */
    uint8_t *seeds[16] = {0};
    uint8_t *seedmem = NULL, *rseed = NULL;
    uint64_t *groups[2] = {NULL, NULL};   /* party 0's groups, the current party's groups */
    uint64_t *xbuf = NULL, *msg = NULL, msg_n = 0;
    mpc_prep_trunc_spec *specs = NULL;
    mpc_dealer_stats local;
    if (!st) st = &local;
    memset(st, 0, sizeof *st);
    if (err && errlen) err[0] = 0;
    if (n < 2 || n > 16 || t->self != n || t->n < n + 1) return MPC_ERR_INVALID;
    groups[0] = malloc(3 * MPC_PREP_MAX_GROUPS * sizeof(uint64_t));
    groups[1] = malloc(3 * MPC_PREP_MAX_GROUPS * sizeof(uint64_t));
    specs = malloc(MPC_PREP_MAX_GROUPS * sizeof *specs);
    /* sodium_malloc needs sodium_init (libsodium aborts otherwise); it is idempotent */
    seedmem = sodium_init() < 0 ? NULL : sodium_malloc((size_t)(n + 1) * MPC_PRG_SEEDBYTES);
    if (!groups[0] || !groups[1] || !specs || !seedmem) {
        r = MPC_ERR_NOMEM;
        goto out;
    }
    for (uint32_t j = 0; j < n; j++) seeds[j] = seedmem + (size_t)j * MPC_PRG_SEEDBYTES;
    rseed = seedmem + (size_t)n * MPC_PRG_SEEDBYTES;
    for (uint64_t k = 0;; k++) {
        uint64_t h0[S_HDR] = {0}, h[S_HDR];
        for (uint32_t j = 0; j < n; j++) {
            r = mpc_recv(t, j, MPC_MSG_PREP, stream, 2 * k, j ? h : h0, S_HDR, timeout_ms);
            if (r) {
                s_fmt(err, errlen, "dealer: request from party %u: %s", j, mpc_strerror(r));
                lost = s_lost(t, stream, j, r);
                goto fail;
            }
            if (j && memcmp(h, h0, sizeof h)) {
                r = MPC_ERR_PROTOCOL;
                s_fmt(err, errlen, "dealer: party %u requested other amounts than party 0%s", j, "");
                goto fail;
            }
            if (h0[0] > 1 || h0[2] > MPC_PREP_MAX_GROUPS) {
                r = MPC_ERR_PROTOCOL;
                s_fmt(err, errlen, "dealer: malformed request from party %u%s", j, "");
                goto fail;
            }
            if (h0[0] == 0) continue;
            r = mpc_recv(t, j, MPC_MSG_PREP, stream, 2 * k + 1, groups[j ? 1 : 0], 3 * h0[2],
                         timeout_ms);
            if (r) {
                s_fmt(err, errlen, "dealer: request from party %u: %s", j, mpc_strerror(r));
                lost = s_lost(t, stream, j, r);
                goto fail;
            }
            if (j && memcmp(groups[0], groups[1], 3 * h0[2] * sizeof(uint64_t))) {
                r = MPC_ERR_PROTOCOL;
                s_fmt(err, errlen, "dealer: party %u requested other truncations than party 0%s", j, "");
                goto fail;
            }
        }
        if (h0[0] == 0) {
            if (h0[1] || h0[2] || h0[3] || h0[4] || h0[5] || h0[6]) {
                r = MPC_ERR_PROTOCOL;
                s_fmt(err, errlen, "dealer: malformed goodbye (party %u)%s", 0, "");
                goto fail;
            }
            break;
        }
        mpc_prep_req req = {.n_triples = h0[1], .trunc = specs, .n_trunc = (uint32_t)h0[2],
                            .n_edabits = h0[3], .n_btriples = h0[4], .n_dabits = h0[5],
                            .n_squares = h0[6]};
        for (uint32_t g = 0; g < req.n_trunc; g++) {
            uint64_t m = groups[0][3 * g], l = groups[0][3 * g + 1];
            specs[g].m = m > 64 ? 0 : (uint32_t)m;   /* out of range is caught below */
            specs[g].l = l > 64 ? 0 : (uint32_t)l;
            specs[g].n = groups[0][3 * g + 2];
        }
        uint64_t R = 0;
        if (mpc_prep_req_check(&req, &R)) {
            r = MPC_ERR_PROTOCOL;
            s_fmt(err, errlen, "dealer: request out of range (party %u)%s", 0, "");
            goto fail;
        }
        uint32_t e = (uint32_t)(k % n);
        s_sizes z = s_sizes_of(&req, R);
        uint64_t xn = s_explicit_words(&z);
        randombytes_buf(seedmem, (size_t)(n + 1) * MPC_PRG_SEEDBYTES);   /* fresh every batch */
        msg_n = MPC_PRG_SEEDWORDS + xn;
        msg = malloc((size_t)msg_n * sizeof(uint64_t));
        if (!msg) { r = MPC_ERR_NOMEM; goto fail; }
        xbuf = msg + MPC_PRG_SEEDWORDS;
        if ((r = s_gen_explicit(seeds, n, e, &req, &z, rseed, xbuf))) goto fail;
        for (uint32_t j = 0; j < n; j++) {
            memcpy(msg, seeds[j], MPC_PRG_SEEDBYTES);
            r = mpc_send(t, j, MPC_MSG_PREP, stream, k, msg, MPC_PRG_SEEDWORDS + (j == e ? xn : 0));
            if (r) {
                s_fmt(err, errlen, "dealer: sending to party %u: %s", j, mpc_strerror(r));
                lost = s_lost(t, stream, j, r);
                goto fail;
            }
        }
        sodium_memzero(msg, (size_t)msg_n * sizeof(uint64_t));
        free(msg);
        msg = xbuf = NULL;
        sodium_memzero(seedmem, (size_t)(n + 1) * MPC_PRG_SEEDBYTES);
        st->batches++;
        st->triples += z.T;
        st->squares += z.S;
        st->edabits += z.E;
        st->btriples += z.B;
        st->dabits += z.D;
        st->trunc += R;
        st->explicit_count[e]++;
    }
    r = 0;
    goto out;
fail:
    s_abort_all(t, n, stream, r, lost);
out:
    if (msg) {
        sodium_memzero(msg, (size_t)msg_n * sizeof(uint64_t));
        free(msg);
    }
    if (seedmem) sodium_free(seedmem);   /* wipes */
    free(groups[0]);
    free(groups[1]);
    free(specs);
    mpc_transport_forget(t, stream);
    return r;
}

/* ---- party side ---- */

typedef struct {
    mpc_transport *t;
    uint32_t       dealer;
    uint64_t       stream;
    int            timeout_ms;
    int            failed;
    uint64_t       k;      /* next batch */
    uint8_t       *seed;   /* sodium_malloc, the current batch's seed (wiped after use) */
} s_dealer_src;

static int s_dealer_fetch(mpc_prep *p, const mpc_prep_req *req, mpc_prep_out *out)
{
    s_dealer_src *d = p->impl;
    int r;
    uint64_t *msg = NULL, *groups = NULL;
    uint64_t R = 0;
    if (d->failed) return MPC_ERR_STATE;
    if ((r = mpc_prep_req_check(req, &R))) return r;
    uint64_t T = req->n_triples, k = d->k;
    uint32_t e = (uint32_t)(k % p->n);
    s_sizes z = s_sizes_of(req, R);
    uint64_t xn = p->self == e ? s_explicit_words(&z) : 0;
    uint64_t h[S_HDR] = {1, T, req->n_trunc, req->n_edabits, req->n_btriples, req->n_dabits,
                         req->n_squares};
    groups = malloc((3 * (size_t)req->n_trunc + 1) * sizeof(uint64_t));
    msg = malloc((size_t)(MPC_PRG_SEEDWORDS + xn) * sizeof(uint64_t));
    if (!groups || !msg) { r = MPC_ERR_NOMEM; goto out; }
    for (uint32_t g = 0; g < req->n_trunc; g++) {
        groups[3 * g] = req->trunc[g].m;
        groups[3 * g + 1] = req->trunc[g].l;
        groups[3 * g + 2] = req->trunc[g].n;
    }
    if ((r = mpc_send(d->t, d->dealer, MPC_MSG_PREP, d->stream, 2 * k, h, S_HDR))) goto out;
    if ((r = mpc_send(d->t, d->dealer, MPC_MSG_PREP, d->stream, 2 * k + 1, groups,
                      3 * (uint64_t)req->n_trunc))) goto out;
    r = mpc_recv(d->t, d->dealer, MPC_MSG_PREP, d->stream, k, msg, MPC_PRG_SEEDWORDS + xn,
                 d->timeout_ms);
    if (r) goto out;
    memcpy(d->seed, msg, MPC_PRG_SEEDBYTES);
    r = s_expand_party(d->seed, p->self == e, msg + MPC_PRG_SEEDWORDS, &z, out);
out:
    if (msg) {
        sodium_memzero(msg, (size_t)(MPC_PRG_SEEDWORDS + xn) * sizeof(uint64_t));
        free(msg);
    }
    free(groups);
    sodium_memzero(d->seed, MPC_PRG_SEEDBYTES);
    d->k++;
    if (r) d->failed = 1;
    return r;
}

static void s_dealer_abort(mpc_prep *p, int code)
{
    s_dealer_src *d = p->impl;
    if (d->failed == 2) return;
    (void)mpc_send_abort(d->t, d->dealer, d->stream, code, MPC_ABORT_NO_PARTY);
    d->failed = 2;
}

static void s_dealer_destroy(mpc_prep **pp)
{
    mpc_prep *p = *pp;
    s_dealer_src *d = p->impl;
    if (!d->failed) {
        uint64_t h[S_HDR] = {0};
        (void)mpc_send(d->t, d->dealer, MPC_MSG_PREP, d->stream, 2 * d->k, h, S_HDR);
    }
    mpc_transport_forget(d->t, d->stream);
    sodium_free(d->seed);
    free(d);
    free(p);
    *pp = NULL;
}

static const struct mpc_prep_ops s_dealer_ops = {
    .fetch = s_dealer_fetch, .abort = s_dealer_abort, .destroy = s_dealer_destroy,
};

mpc_prep *mpc_prep_dealer_new(mpc_transport *t, uint32_t self, uint32_t n_parties,
                              uint32_t dealer, uint64_t stream, int timeout_ms)
{
    if (!t || n_parties < 2 || n_parties > 16 || self >= n_parties || dealer < n_parties ||
        dealer >= t->n || t->self != self)
        return NULL;
    mpc_prep *p = calloc(1, sizeof *p);
    s_dealer_src *d = calloc(1, sizeof *d);
    if (sodium_init() < 0 || !p || !d || !(d->seed = sodium_malloc(MPC_PRG_SEEDBYTES))) {
        free(p);
        free(d);
        return NULL;
    }
    d->t = t;
    d->dealer = dealer;
    d->stream = stream;
    d->timeout_ms = timeout_ms;
    p->ops = &s_dealer_ops;
    p->impl = d;
    p->self = self;
    p->n = n_parties;
    p->caps = MPC_PREP_CAP_COMPARE;
    return p;
}

/* ---- test-only local source ---- */

typedef struct {
    uint8_t *master;
    uint64_t k;
} s_local_src;

static int s_local_fetch(mpc_prep *p, const mpc_prep_req *req, mpc_prep_out *out)
{
    s_local_src *L = p->impl;
    uint8_t *seeds[16] = {0};
    uint8_t *rseed = NULL;
    uint64_t *x = NULL, R = 0, xn = 0;
    int r = mpc_prep_req_check(req, &R);
    if (r) return r;
    uint64_t k = L->k++;
    s_sizes z = s_sizes_of(req, R);
    uint32_t e = (uint32_t)(k % p->n);
    uint64_t w[MPC_PRG_SEEDWORDS];
    r = MPC_ERR_NOMEM;
    for (uint32_t j = 0; j <= p->n; j++) {
        uint8_t *s = sodium_malloc(MPC_PRG_SEEDBYTES);
        if (!s) goto out;
        if (j < p->n) seeds[j] = s;
        else rseed = s;
        if ((r = mpc_prg_expand(w, MPC_PRG_SEEDWORDS, L->master, MPC_PRG_STREAM(MPC_PRG_D_TEST, k),
                                (uint64_t)j * MPC_PRG_SEEDWORDS)))
            goto out;
        memcpy(s, w, MPC_PRG_SEEDBYTES);
        r = MPC_ERR_NOMEM;
    }
    if (p->self == e) {
        xn = s_explicit_words(&z);
        if (!(x = malloc((size_t)(xn ? xn : 1) * sizeof(uint64_t)))) goto out;
        if ((r = s_gen_explicit(seeds, p->n, e, req, &z, rseed, x))) goto out;
    }
    r = s_expand_party(seeds[p->self], p->self == e, x, &z, out);
out:
    sodium_memzero(w, sizeof w);
    if (x) {
        sodium_memzero(x, (size_t)xn * sizeof(uint64_t));
        free(x);
    }
    for (uint32_t j = 0; j < 16; j++) mpc_prg_seed_free(&seeds[j]);
    mpc_prg_seed_free(&rseed);
    return r;
}

static void s_local_destroy(mpc_prep **pp)
{
    mpc_prep *p = *pp;
    s_local_src *L = p->impl;
    mpc_prg_seed_free(&L->master);
    free(L);
    free(p);
    *pp = NULL;
}

static const struct mpc_prep_ops s_local_ops = {
    .fetch = s_local_fetch, .abort = NULL, .destroy = s_local_destroy,
};

mpc_prep *mpc_prep_testlocal_new(const uint8_t master[32], uint32_t self, uint32_t n_parties)
{
    if (n_parties < 2 || n_parties > 16 || self >= n_parties) return NULL;
    mpc_prep *p = calloc(1, sizeof *p);
    s_local_src *L = calloc(1, sizeof *L);
    if (!p || !L || !(L->master = mpc_prg_seed_dup(master))) {
        free(p);
        free(L);
        return NULL;
    }
    p->ops = &s_local_ops;
    p->impl = L;
    p->self = self;
    p->n = n_parties;
    p->caps = MPC_PREP_CAP_COMPARE;
    return p;
}
