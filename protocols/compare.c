/* compare.c — LTZ and EQZ batches (compare.h): sub-round 0 opens x − r, six levels of
 * bit-sliced Beaver ANDs reduce the carry / equality tree, a daBit turns the result bit
 * into an arithmetic share. */
#include "compare.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "binshare.h"
#include "mpc_err.h"

struct mpc_cmp {
    mpc_cmp_kind kind;
    uint64_t     n, W;       /* comparisons, words per bit plane */
    int          p0;         /* this party adds public constants */
    uint32_t     step;
    uint32_t     ng;         /* groups (bit planes) in G/P at this level */
    uint64_t     nbt, bpos;  /* binary triple words in all, consumed so far */
    /* material (copies) */
    uint64_t    *eda_r;      /* n */
    uint64_t    *rpl;        /* 64 planes of r's bit shares, W words each */
    uint64_t    *ba, *bb, *bc;
    uint64_t    *da_r;       /* n */
    uint64_t    *da_b;       /* W */
    /* state */
    uint64_t    *G, *P;      /* ng planes each (EQZ uses G only) */
    uint64_t    *G2, *P2;    /* the next level */
    uint64_t    *s;          /* LTZ: share of c_63 ^ r_63 (W) */
    uint64_t    *z;          /* one AND's result (W) */
    uint64_t    *res;        /* n arithmetic result shares */
};

static void s_wipe_free(uint64_t *p, uint64_t n)
{
    if (!p) return;
    sodium_memzero(p, (size_t)n * sizeof(uint64_t));
    free(p);
}

static uint64_t *s_alloc(uint64_t n)
{
    if (n > SIZE_MAX / sizeof(uint64_t)) return NULL;
    return calloc((size_t)(n ? n : 1), sizeof(uint64_t));
}

static uint32_t s_leaves(mpc_cmp_kind kind)
{
    return kind == MPC_CMP_LTZ ? 63 : 64;
}

/* ANDs of one level with ng groups. */
static uint32_t s_level_ands(mpc_cmp_kind kind, uint32_t ng)
{
    uint32_t np = ng / 2;
    return kind == MPC_CMP_LTZ ? (np ? 2 * np - 1 : 0) : np;
}

uint32_t mpc_cmp_ands(mpc_cmp_kind kind)
{
    if (kind != MPC_CMP_LTZ && kind != MPC_CMP_EQZ) return 0;
    uint32_t tot = 0;
    for (uint32_t ng = s_leaves(kind); ng > 1; ng = ng - ng / 2) tot += s_level_ands(kind, ng);
    return tot;
}

uint64_t mpc_cmp_btriple_words(mpc_cmp_kind kind, uint64_t n)
{
    return (uint64_t)mpc_cmp_ands(kind) * mpc_bin_words(n);
}

uint64_t mpc_cmp_words_at(mpc_cmp_kind kind, uint64_t n, uint32_t step)
{
    if (kind != MPC_CMP_LTZ && kind != MPC_CMP_EQZ) return 0;
    if (step == 0) return n;
    if (step == MPC_CMP_ROUNDS - 1) return mpc_bin_words(n);
    if (step >= MPC_CMP_ROUNDS) return 0;
    uint32_t ng = s_leaves(kind);
    for (uint32_t s = 1; s < step; s++) ng -= ng / 2;
    return 2ull * s_level_ands(kind, ng) * mpc_bin_words(n);
}

mpc_cmp *mpc_cmp_new(mpc_cmp_kind kind, uint64_t n, uint32_t self, const mpc_cmp_material *m)
{
    if ((kind != MPC_CMP_LTZ && kind != MPC_CMP_EQZ) || n == 0 || !m || !m->eda_r ||
        !m->eda_bits || !m->ba || !m->bb || !m->bc || !m->da_r || !m->da_bits ||
        n > (UINT64_MAX >> 8))
        return NULL;
    mpc_cmp *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->kind = kind;
    c->n = n;
    c->W = mpc_bin_words(n);
    c->p0 = self == 0;
    c->nbt = mpc_cmp_btriple_words(kind, n);
    uint64_t W = c->W;
    c->eda_r = s_alloc(n);
    c->rpl = s_alloc(64 * W);
    c->ba = s_alloc(c->nbt);
    c->bb = s_alloc(c->nbt);
    c->bc = s_alloc(c->nbt);
    c->da_r = s_alloc(n);
    c->da_b = s_alloc(W);
    c->G = s_alloc(64 * W);
    c->P = s_alloc(64 * W);
    c->G2 = s_alloc(32 * W);
    c->P2 = s_alloc(32 * W);
    c->s = s_alloc(W);
    c->z = s_alloc(W);
    if (!c->eda_r || !c->rpl || !c->ba || !c->bb || !c->bc || !c->da_r || !c->da_b || !c->G ||
        !c->P || !c->G2 || !c->P2 || !c->s || !c->z) {
        mpc_cmp_destroy(&c);
        return NULL;
    }
    memcpy(c->eda_r, m->eda_r, (size_t)n * 8);
    mpc_bin_slice(c->rpl, m->eda_bits, n, 64);
    memcpy(c->ba, m->ba, (size_t)c->nbt * 8);
    memcpy(c->bb, m->bb, (size_t)c->nbt * 8);
    memcpy(c->bc, m->bc, (size_t)c->nbt * 8);
    memcpy(c->da_r, m->da_r, (size_t)n * 8);
    mpc_bin_extract(c->da_b, m->da_bits, m->da_off, n);
    return c;
}

void mpc_cmp_destroy(mpc_cmp **cp)
{
    if (!cp || !*cp) return;
    mpc_cmp *c = *cp;
    uint64_t W = c->W;
    s_wipe_free(c->eda_r, c->n);
    s_wipe_free(c->rpl, 64 * W);
    s_wipe_free(c->ba, c->nbt);
    s_wipe_free(c->bb, c->nbt);
    s_wipe_free(c->bc, c->nbt);
    s_wipe_free(c->da_r, c->n);
    s_wipe_free(c->da_b, W);
    s_wipe_free(c->G, 64 * W);
    s_wipe_free(c->P, 64 * W);
    s_wipe_free(c->G2, 32 * W);
    s_wipe_free(c->P2, 32 * W);
    s_wipe_free(c->s, W);
    s_wipe_free(c->z, W);
    s_wipe_free(c->res, c->n);
    free(c);
    *cp = NULL;
}

uint32_t mpc_cmp_step(const mpc_cmp *c)
{
    return c->step;
}

uint64_t mpc_cmp_open_words(const mpc_cmp *c)
{
    return mpc_cmp_words_at(c->kind, c->n, c->step);
}

int mpc_cmp_open_is_arith(const mpc_cmp *c)
{
    return c->step == 0;
}

const uint64_t *mpc_cmp_result(const mpc_cmp *c)
{
    return c->step == MPC_CMP_ROUNDS ? c->res : NULL;
}

/* The operands of AND j of the current level: LTZ pair k has AND 2k−1+... in the order
 * (P_hi & G_lo) then, for k > 0, (P_hi & P_lo); EQZ pair k is G_2k & G_2k+1. */
static uint32_t s_ands(const mpc_cmp *c, const uint64_t **x, const uint64_t **y)
{
    uint64_t W = c->W;
    uint32_t np = c->ng / 2, m = 0;
    for (uint32_t k = 0; k < np; k++) {
        const uint64_t *lo_g = c->G + (2ull * k) * W, *hi_g = c->G + (2ull * k + 1) * W;
        if (c->kind == MPC_CMP_EQZ) {
            x[m] = lo_g;
            y[m++] = hi_g;
            continue;
        }
        const uint64_t *lo_p = c->P + (2ull * k) * W, *hi_p = c->P + (2ull * k + 1) * W;
        x[m] = hi_p;
        y[m++] = lo_g;
        if (k) {
            x[m] = hi_p;
            y[m++] = lo_p;
        }
    }
    return m;
}

void mpc_cmp_open(mpc_cmp *c, const uint64_t *x, uint64_t *out)
{
    uint64_t W = c->W;
    if (c->step == 0) {
        for (uint64_t k = 0; k < c->n; k++) out[k] = x[k] - c->eda_r[k];
        return;
    }
    if (c->step == MPC_CMP_ROUNDS - 1) {
        /* result bit shares (G_0, and for LTZ ^ s) masked by the daBit */
        const uint64_t *s = c->kind == MPC_CMP_LTZ ? c->s : NULL;
        for (uint64_t w = 0; w < W; w++) out[w] = c->G[w] ^ (s ? s[w] : 0) ^ c->da_b[w];
        return;
    }
    const uint64_t *ax[64], *ay[64];
    uint32_t m = s_ands(c, ax, ay);
    for (uint32_t j = 0; j < m; j++) {
        uint64_t off = c->bpos + (uint64_t)j * W;
        mpc_bin_and_open(out + 2ull * j * W, out + (2ull * j + 1) * W, ax[j], ay[j], c->ba + off,
                         c->bb + off, W);
    }
}

/* Leaves from the opened c = x − r. */
static int s_leaves_from(mpc_cmp *c, const uint64_t *cv)
{
    uint64_t W = c->W;
    uint64_t *u = s_alloc(c->n), *cpl = s_alloc(64 * W);
    if (!u || !cpl) {
        free(u);
        free(cpl);
        return MPC_ERR_NOMEM;
    }
    if (c->kind == MPC_CMP_LTZ) {
        mpc_bin_slice(cpl, cv, c->n, 64);
        for (uint32_t i = 0; i < 63; i++)
            for (uint64_t w = 0; w < W; w++) {
                uint64_t ci = cpl[i * W + w], ri = c->rpl[i * W + w];
                c->G[i * W + w] = ci & ri;                    /* generate */
                c->P[i * W + w] = ri ^ (c->p0 ? ci : 0);      /* propagate */
            }
        for (uint64_t w = 0; w < W; w++)
            c->s[w] = c->rpl[63 * W + w] ^ (c->p0 ? cpl[63 * W + w] : 0);
        c->ng = 63;
    } else {
        for (uint64_t k = 0; k < c->n; k++) u[k] = 0 - cv[k];
        mpc_bin_slice(cpl, u, c->n, 64);
        for (uint32_t i = 0; i < 64; i++)
            for (uint64_t w = 0; w < W; w++)   /* 1 where bit i of r equals bit i of −c */
                c->G[i * W + w] = c->rpl[i * W + w] ^ (c->p0 ? ~cpl[i * W + w] : 0);
        c->ng = 64;
    }
    free(u);    /* public values */
    free(cpl);
    return 0;
}

/* One AND level from the opened d, e words. */
static void s_level(mpc_cmp *c, const uint64_t *op)
{
    uint64_t W = c->W;
    uint32_t np = c->ng / 2, j = 0;
    for (uint32_t k = 0; k < np; k++) {
        uint64_t off = c->bpos + (uint64_t)j * W;
        const uint64_t *d = op + 2ull * j * W, *e = op + (2ull * j + 1) * W;
        if (c->kind == MPC_CMP_EQZ) {
            mpc_bin_and_close(c->G2 + (uint64_t)k * W, d, e, c->ba + off, c->bb + off, c->bc + off,
                              W, c->p0);
            j++;
            continue;
        }
        mpc_bin_and_close(c->z, d, e, c->ba + off, c->bb + off, c->bc + off, W, c->p0);
        const uint64_t *hi_g = c->G + (2ull * k + 1) * W;
        for (uint64_t w = 0; w < W; w++) c->G2[k * W + w] = hi_g[w] ^ c->z[w];
        j++;
        if (k) {
            off = c->bpos + (uint64_t)j * W;
            d = op + 2ull * j * W;
            e = op + (2ull * j + 1) * W;
            mpc_bin_and_close(c->P2 + (uint64_t)k * W, d, e, c->ba + off, c->bb + off,
                              c->bc + off, W, c->p0);
            j++;
        }
    }
    if (c->ng % 2) {   /* the top group passes through */
        memcpy(c->G2 + (uint64_t)np * W, c->G + (uint64_t)(c->ng - 1) * W, (size_t)W * 8);
        if (c->kind == MPC_CMP_LTZ)
            memcpy(c->P2 + (uint64_t)np * W, c->P + (uint64_t)(c->ng - 1) * W, (size_t)W * 8);
    }
    c->bpos += (uint64_t)j * W;
    c->ng = np + c->ng % 2;
    memcpy(c->G, c->G2, (size_t)c->ng * W * 8);
    if (c->kind == MPC_CMP_LTZ) memcpy(c->P, c->P2, (size_t)c->ng * W * 8);
}

int mpc_cmp_absorb(mpc_cmp *c, const uint64_t *op)
{
    int r;
    if (c->step >= MPC_CMP_ROUNDS) return MPC_ERR_STATE;
    if (c->step == 0) {
        if ((r = s_leaves_from(c, op))) return r;
    } else if (c->step < MPC_CMP_ROUNDS - 1) {
        s_level(c, op);
    } else {
        if (c->ng != 1 || c->bpos != c->nbt) return MPC_ERR_STATE;
        if (!(c->res = s_alloc(c->n))) return MPC_ERR_NOMEM;
        uint64_t one = c->p0 ? 1 : 0;
        for (uint64_t k = 0; k < c->n; k++) {
            uint64_t v = (op[k / 64] >> (k % 64)) & 1;   /* public: result ^ b */
            c->res[k] = v ? one - c->da_r[k] : c->da_r[k];
        }
    }
    c->step++;
    return 0;
}
