/* auth_dealer.c — the test-only in-process dealer of authenticated material (auth_dealer.h). */
#include "auth_dealer.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "mpc_err.h"
#include "prg.h"

#define S_BLOCK 1024   /* elements per generation step */

enum { F_ALPHA = 1, F_ALPHA_SH, F_A, F_MA, F_B, F_MB, F_C, F_MC, F_R, F_MR };

typedef struct {
    uint8_t  *seed;                 /* sodium_malloc */
    uint64_t  tpos;                 /* triples handed out */
    uint64_t  mpos[MPC_MAX_PARTIES_AUTH];   /* masks handed out per owner */
    mpc_u128 *buf;                  /* scratch: S_BLOCK × 3 elements */
} s_dealer;

static int s_exp(const s_dealer *d, mpc_u128 *out, uint64_t n, uint32_t field, uint32_t party,
                 uint32_t owner, uint64_t pos)
{
    uint64_t idx = 0xad0000ull | ((uint64_t)field << 16 << 8) | ((uint64_t)owner << 8) | party;
    return mpc_prg_expand((uint64_t *)out, 2 * n, d->seed, MPC_PRG_STREAM(MPC_PRG_D_TEST, idx), 2 * pos);
}

static int s_alpha(const s_dealer *d, mpc_u128 *alpha)
{
    uint64_t a;
    if (mpc_prg_expand(&a, 1, d->seed, MPC_PRG_STREAM(MPC_PRG_D_TEST, 0xad0000ull | ((uint64_t)F_ALPHA << 24)), 0))
        return MPC_ERR_INVALID;
    *alpha = a;
    sodium_memzero(&a, sizeof a);
    return 0;
}

static int s_key(mpc_auth_src *s, mpc_auth_key *key)
{
    s_dealer *d = s->impl;
    mpc_u128 sh[MPC_MAX_PARTIES_AUTH], alpha, rest = 0;
    int r = 0;
    if (s->self + 1 < s->n) {
        r = s_exp(d, key->alpha, 1, F_ALPHA_SH, s->self, 0, 0);
    } else {
        for (uint32_t i = 0; i + 1 < s->n && !r; i++) {
            r = s_exp(d, &sh[i], 1, F_ALPHA_SH, i, 0, 0);
            rest += sh[i];
        }
        if (!r) r = s_alpha(d, &alpha);
        if (!r) *key->alpha = alpha - rest;
        sodium_memzero(&alpha, sizeof alpha);
    }
    sodium_memzero(sh, sizeof sh);
    sodium_memzero(&rest, sizeof rest);
    return r ? MPC_ERR_INVALID : 0;
}

/* Sum over parties 0..n-1 of field f (the last party's share included) at [pos, pos+b). */
static int s_sum_all(const s_dealer *d, uint32_t n, mpc_u128 *sum, mpc_u128 *tmp, uint64_t b,
                     uint32_t f, uint32_t owner, uint64_t pos)
{
    memset(sum, 0, (size_t)b * sizeof *sum);
    for (uint32_t i = 0; i < n; i++) {
        if (s_exp(d, tmp, b, f, i, owner, pos)) return MPC_ERR_INVALID;
        for (uint64_t k = 0; k < b; k++) sum[k] += tmp[k];
    }
    return 0;
}

/* The last party's share of field f: value[k] − Σ_{i < n−1} share_i[k]. */
static int s_last(const s_dealer *d, uint32_t n, mpc_u128 *out, const mpc_u128 *value, mpc_u128 *tmp,
                  uint64_t b, uint32_t f, uint32_t owner, uint64_t pos)
{
    if (out != value) memcpy(out, value, (size_t)b * sizeof *out);
    for (uint32_t i = 0; i + 1 < n; i++) {
        if (s_exp(d, tmp, b, f, i, owner, pos)) return MPC_ERR_INVALID;
        for (uint64_t k = 0; k < b; k++) out[k] -= tmp[k];
    }
    return 0;
}

static int s_triples(mpc_auth_src *s, uint64_t n, mpc_auth_triples *o)
{
    s_dealer *d = s->impl;
    const uint32_t me = s->self, np = s->n;
    int r = 0;
    mpc_u128 alpha = 0;
    if (me + 1 == np && (r = s_alpha(d, &alpha))) return r;
    for (uint64_t k0 = 0; k0 < n && !r; k0 += S_BLOCK) {
        uint64_t b = n - k0 < S_BLOCK ? n - k0 : S_BLOCK, pos = d->tpos + k0;
        if (me + 1 < np) {
            if (s_exp(d, o->a + k0, b, F_A, me, 0, pos) || s_exp(d, o->b + k0, b, F_B, me, 0, pos) ||
                s_exp(d, o->c + k0, b, F_C, me, 0, pos) || s_exp(d, o->ma + k0, b, F_MA, me, 0, pos) ||
                s_exp(d, o->mb + k0, b, F_MB, me, 0, pos) || s_exp(d, o->mc + k0, b, F_MC, me, 0, pos))
                r = MPC_ERR_INVALID;
            continue;
        }
        mpc_u128 *A = d->buf, *B = d->buf + S_BLOCK, *T = d->buf + 2 * S_BLOCK;
        if (s_sum_all(d, np, A, T, b, F_A, 0, pos) || s_sum_all(d, np, B, T, b, F_B, 0, pos) ||
            s_exp(d, o->a + k0, b, F_A, me, 0, pos) || s_exp(d, o->b + k0, b, F_B, me, 0, pos)) {
            r = MPC_ERR_INVALID;
            break;
        }
        mpc_u128 *V = o->mc + k0;   /* values, then turned into shares below */
        for (uint64_t k = 0; k < b; k++) V[k] = A[k] * B[k];
        if (s_last(d, np, o->c + k0, V, T, b, F_C, 0, pos)) r = MPC_ERR_INVALID;
        for (uint64_t k = 0; k < b; k++) {
            V[k] *= alpha;
            A[k] *= alpha;
            B[k] *= alpha;
        }
        if (!r && (s_last(d, np, o->mc + k0, V, T, b, F_MC, 0, pos) ||
                   s_last(d, np, o->ma + k0, A, T, b, F_MA, 0, pos) ||
                   s_last(d, np, o->mb + k0, B, T, b, F_MB, 0, pos)))
            r = MPC_ERR_INVALID;
    }
    sodium_memzero(d->buf, 3 * S_BLOCK * sizeof *d->buf);
    sodium_memzero(&alpha, sizeof alpha);
    if (!r) d->tpos += n;
    return r;
}

static int s_masks(mpc_auth_src *s, uint32_t owner, uint64_t n, mpc_u128 *x, mpc_u128 *m, mpc_u128 *val)
{
    s_dealer *d = s->impl;
    const uint32_t me = s->self, np = s->n;
    int r = 0;
    mpc_u128 alpha = 0;
    if (me + 1 == np && (r = s_alpha(d, &alpha))) return r;
    for (uint64_t k0 = 0; k0 < n && !r; k0 += S_BLOCK) {
        uint64_t b = n - k0 < S_BLOCK ? n - k0 : S_BLOCK, pos = d->mpos[owner] + k0;
        mpc_u128 *V = d->buf, *T = d->buf + S_BLOCK;
        if (s_exp(d, x + k0, b, F_R, me, owner, pos)) r = MPC_ERR_INVALID;
        if (!r && (me == owner || me + 1 == np) && s_sum_all(d, np, V, T, b, F_R, owner, pos)) r = MPC_ERR_INVALID;
        if (r) break;
        if (val) memcpy(val + k0, V, (size_t)b * sizeof *V);
        if (me + 1 < np) {
            if (s_exp(d, m + k0, b, F_MR, me, owner, pos)) r = MPC_ERR_INVALID;
            continue;
        }
        for (uint64_t k = 0; k < b; k++) V[k] *= alpha;
        if (s_last(d, np, m + k0, V, T, b, F_MR, owner, pos)) r = MPC_ERR_INVALID;
    }
    sodium_memzero(d->buf, 3 * S_BLOCK * sizeof *d->buf);
    sodium_memzero(&alpha, sizeof alpha);
    if (!r) d->mpos[owner] += n;
    return r;
}

static void s_destroy(mpc_auth_src **sp)
{
    s_dealer *d = (*sp)->impl;
    if (d) {
        if (d->seed) {
            sodium_memzero(d->seed, 32);
            sodium_free(d->seed);
        }
        if (d->buf) {
            sodium_memzero(d->buf, 3 * S_BLOCK * sizeof *d->buf);
            free(d->buf);
        }
        free(d);
    }
    free(*sp);
    *sp = NULL;
}

static const struct mpc_auth_src_ops s_ops = {s_key, s_triples, s_masks, s_destroy};

mpc_auth_src *mpc_auth_dealer_new(const uint8_t master[32], uint32_t self, uint32_t n_parties)
{
    if (!master || n_parties < 2 || n_parties > MPC_MAX_PARTIES_AUTH || self >= n_parties) return NULL;
    mpc_auth_src *s = calloc(1, sizeof *s);
    s_dealer *d = calloc(1, sizeof *d);
    if (!s || !d) goto bad;
    s->impl = d;
    s->ops = &s_ops;
    s->self = self;
    s->n = n_parties;
    if (!(d->seed = sodium_malloc(32)) || !(d->buf = malloc(3 * S_BLOCK * sizeof *d->buf))) goto bad;
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, 32);
    crypto_generichash_update(&h, (const uint8_t *)"mpcd auth dealer", 16);
    crypto_generichash_update(&h, master, 32);
    crypto_generichash_final(&h, d->seed, 32);
    return s;
bad:
    if (s) {
        s->ops = &s_ops;
        s->impl = d;
        s_destroy(&s);
    } else {
        free(d);
    }
    return NULL;
}
