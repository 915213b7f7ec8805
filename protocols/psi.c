/* psi.c — hashing keys to Ristretto255, blinding, duplicate detection and matching
 * (psi.h; the protocol around it is in join.c and docs/join.md). */
#include "psi.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "mpc_err.h"

static const char s_salt_dom[] = "mpcd-join-salt-v1";

uint8_t *mpc_psi_scalar_new(void)
{
    uint8_t *s = sodium_malloc(crypto_core_ristretto255_SCALARBYTES);
    if (!s) return NULL;
    static const uint8_t zero[crypto_core_ristretto255_SCALARBYTES];
    do crypto_core_ristretto255_scalar_random(s);
    while (sodium_memcmp(s, zero, sizeof zero) == 0);
    return s;
}

void mpc_psi_scalar_free(uint8_t **s)
{
    if (!s || !*s) return;
    sodium_memzero(*s, crypto_core_ristretto255_SCALARBYTES);
    sodium_free(*s);
    *s = NULL;
}

void mpc_psi_salt(uint8_t out[MPC_PSI_SALTBYTES], const uint8_t job_salt[MPC_PSI_SALTBYTES],
                  const uint8_t nonce_a[32], const uint8_t nonce_b[32])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, MPC_PSI_SALTBYTES);
    crypto_generichash_update(&st, (const uint8_t *)s_salt_dom, sizeof s_salt_dom);
    crypto_generichash_update(&st, job_salt, MPC_PSI_SALTBYTES);
    crypto_generichash_update(&st, nonce_a, 32);
    crypto_generichash_update(&st, nonce_b, 32);
    crypto_generichash_final(&st, out, MPC_PSI_SALTBYTES);
}

static int s_offsets_ok(const uint8_t *data, const uint64_t *off, uint64_t n)
{
    if (!off || (n && off[0] != 0)) return 0;
    for (uint64_t i = 0; i < n; i++)
        if (off[i + 1] < off[i]) return 0;
    return n == 0 || off[n] == 0 || data != NULL;
}

/* An open-addressing table of row indices + 1 (0 = empty), 2^bits slots, at least 2n. */
typedef struct {
    uint32_t *slot;
    uint64_t  mask;
    uint8_t   key[crypto_shorthash_KEYBYTES];   /* random: a peer cannot aim at one slot */
} s_table;

static int s_table_new(s_table *t, uint64_t n)
{
    uint64_t sz = 16;
    while (sz < 2 * n) sz <<= 1;
    t->slot = calloc(sz, sizeof *t->slot);
    t->mask = sz - 1;
    crypto_shorthash_keygen(t->key);
    return t->slot ? 0 : MPC_ERR_NOMEM;
}

static uint64_t s_hash(const s_table *t, const uint8_t *p, uint64_t len)
{
    uint8_t h[crypto_shorthash_BYTES];
    crypto_shorthash(h, p, len, t->key);
    uint64_t v;
    memcpy(&v, h, 8);
    return v;
}

int mpc_psi_has_dup(const uint8_t *data, const uint64_t *off, uint64_t n)
{
    if (n >= UINT32_MAX || !s_offsets_ok(data, off, n)) return MPC_ERR_INVALID;
    s_table t;
    if (s_table_new(&t, n)) return MPC_ERR_NOMEM;
    int dup = 0;
    for (uint64_t i = 0; i < n && !dup; i++) {
        const uint8_t *k = data + off[i];
        uint64_t len = off[i + 1] - off[i];
        for (uint64_t s = s_hash(&t, k, len) & t.mask;; s = (s + 1) & t.mask) {
            uint32_t o = t.slot[s];
            if (!o) { t.slot[s] = (uint32_t)(i + 1); break; }
            uint64_t j = o - 1, lj = off[j + 1] - off[j];
            if (lj == len && memcmp(data + off[j], k, len) == 0) { dup = 1; break; }
        }
    }
    free(t.slot);
    return dup;
}

/* ---- blinding, split among the threads of a pool ---- */

typedef struct {
    uint8_t        *out;
    const uint8_t  *in, *data;
    const uint64_t *off;
    const uint32_t *order;
    uint64_t        n;
    const uint8_t  *salt, *scalar;
    int             hash;     /* 1: hash keys first; 0: in holds points */
    int             err[MPC_PAR_MAX];
} s_blind;

static void s_blind_part(void *ctx, uint32_t part, uint32_t nparts)
{
    s_blind *b = ctx;
    uint64_t lo, hi;
    mpc_par_range(b->n, 1, part, nparts, &lo, &hi);
    uint8_t h[crypto_core_ristretto255_HASHBYTES], pt[MPC_PSI_PTBYTES];
    int err = 0;
    for (uint64_t i = lo; i < hi && !err; i++) {
        uint64_t src = b->order ? b->order[i] : i;
        const uint8_t *p;
        if (b->hash) {
            crypto_generichash(h, sizeof h, b->data + b->off[src], b->off[src + 1] - b->off[src],
                               b->salt, MPC_PSI_SALTBYTES);
            crypto_core_ristretto255_from_hash(pt, h);
            p = pt;
        } else {
            p = b->in + MPC_PSI_PTBYTES * src;
        }
        /* fails on an invalid encoding or an identity result */
        if (crypto_scalarmult_ristretto255(b->out + MPC_PSI_PTBYTES * i, b->scalar, p) != 0)
            err = b->hash ? MPC_ERR_CRYPTO : MPC_ERR_PROTOCOL;
    }
    b->err[part] = err;
}

static int s_blind_run(s_blind *b, mpc_par *par)
{
    memset(b->err, 0, sizeof b->err);
    mpc_par_run(par, s_blind_part, b);
    for (int i = 0; i < MPC_PAR_MAX; i++)
        if (b->err[i]) return b->err[i];
    return 0;
}

int mpc_psi_hash_blind(uint8_t *out, const uint8_t *data, const uint64_t *off,
                       const uint32_t *order, uint64_t n,
                       const uint8_t salt[MPC_PSI_SALTBYTES], const uint8_t *scalar,
                       mpc_par *par)
{
    if ((n && !out) || !salt || !scalar || n >= UINT32_MAX || !s_offsets_ok(data, off, n))
        return MPC_ERR_INVALID;
    if (order)
        for (uint64_t i = 0; i < n; i++)
            if (order[i] >= n) return MPC_ERR_INVALID;
    s_blind b = {.out = out, .data = data, .off = off, .order = order, .n = n, .salt = salt,
                 .scalar = scalar, .hash = 1};
    return s_blind_run(&b, par);
}

int mpc_psi_blind(uint8_t *out, const uint8_t *in, const uint32_t *order, uint64_t n,
                  const uint8_t *scalar, mpc_par *par)
{
    if ((n && (!out || !in)) || !scalar) return MPC_ERR_INVALID;
    if (order)
        for (uint64_t i = 0; i < n; i++)
            if (order[i] >= n) return MPC_ERR_INVALID;
    s_blind b = {.out = out, .in = in, .order = order, .n = n, .scalar = scalar};
    return s_blind_run(&b, par);
}

int64_t mpc_psi_match(const uint8_t *list, uint64_t n_list, const uint8_t *probe,
                      uint64_t n_probe, uint64_t *pos)
{
    if (n_list >= UINT32_MAX || (n_list && !list) || (n_probe && (!probe || !pos)))
        return MPC_ERR_INVALID;
    s_table t;
    if (s_table_new(&t, n_list)) return MPC_ERR_NOMEM;
    uint8_t *hit = calloc(n_list ? n_list : 1, 1);
    int64_t r = hit ? 0 : MPC_ERR_NOMEM;
    for (uint64_t i = 0; i < n_list && r == 0; i++) {
        const uint8_t *p = list + MPC_PSI_PTBYTES * i;
        for (uint64_t s = s_hash(&t, p, MPC_PSI_PTBYTES) & t.mask;; s = (s + 1) & t.mask) {
            uint32_t o = t.slot[s];
            if (!o) { t.slot[s] = (uint32_t)(i + 1); break; }
            if (memcmp(list + MPC_PSI_PTBYTES * (o - 1), p, MPC_PSI_PTBYTES) == 0) {
                r = MPC_ERR_PROTOCOL;
                break;
            }
        }
    }
    for (uint64_t j = 0; j < n_probe && r >= 0; j++) {
        const uint8_t *p = probe + MPC_PSI_PTBYTES * j;
        pos[j] = UINT64_MAX;
        for (uint64_t s = s_hash(&t, p, MPC_PSI_PTBYTES) & t.mask;; s = (s + 1) & t.mask) {
            uint32_t o = t.slot[s];
            if (!o) break;
            if (memcmp(list + MPC_PSI_PTBYTES * (o - 1), p, MPC_PSI_PTBYTES) == 0) {
                if (hit[o - 1]) { r = MPC_ERR_PROTOCOL; break; }
                hit[o - 1] = 1;
                pos[j] = o - 1;
                r++;
                break;
            }
        }
    }
    free(hit);
    free(t.slot);
    return r;
}
