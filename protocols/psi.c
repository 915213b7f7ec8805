/* psi.c — hashing keys to Curve25519 u-coordinates, blinding with X25519, duplicate
 * detection and matching (psi.h; the protocol around it is in join.c and docs/join.md). */
#include "psi.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "mpc_err.h"

static const char s_salt_dom[] = "mpcd-join-salt-v1";
static const char s_check_dom[] = "mpcd-join-salt-check-v1";

uint8_t *mpc_psi_scalar_new(void)
{
    uint8_t *s = sodium_malloc(crypto_scalarmult_SCALARBYTES);
    if (s) randombytes_buf(s, crypto_scalarmult_SCALARBYTES);   /* X25519 clamps it */
    return s;
}

void mpc_psi_scalar_free(uint8_t **s)
{
    if (!s || !*s) return;
    sodium_memzero(*s, crypto_scalarmult_SCALARBYTES);
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

/* ---- arithmetic mod p = 2^255 − 19 (five 51-bit limbs), for the two maps libsodium does
 * not offer: a Ristretto255 encoding s to the u-coordinate 1/s² of the Edwards point it
 * decodes to, and the check that a peer's u is on Curve25519 (not its twist).  Only
 * constant-time operations: no branch or index depends on a value. ---- */

typedef struct { uint64_t v[5]; } s_fe;
typedef unsigned __int128 s_u128;
#define S_M51 ((1ull << 51) - 1)

static uint64_t s_load64(const uint8_t *p)
{
    uint64_t w = 0;
    for (int i = 7; i >= 0; i--) w = w << 8 | p[i];
    return w;
}

/* Bit 255 is ignored; a value ≥ p is taken mod p by the arithmetic. */
static void s_fe_frombytes(s_fe *h, const uint8_t s[32])
{
    uint64_t w0 = s_load64(s), w1 = s_load64(s + 8), w2 = s_load64(s + 16), w3 = s_load64(s + 24);
    h->v[0] = w0 & S_M51;
    h->v[1] = (w0 >> 51 | w1 << 13) & S_M51;
    h->v[2] = (w1 >> 38 | w2 << 26) & S_M51;
    h->v[3] = (w2 >> 25 | w3 << 39) & S_M51;
    h->v[4] = (w3 >> 12) & S_M51;
}

/* Limbs below 2^51 (+ a small excess in limb 1) after every operation. */
static void s_fe_carry(s_fe *h)
{
    uint64_t c;
    for (int i = 0; i < 4; i++) {
        c = h->v[i] >> 51;
        h->v[i] &= S_M51;
        h->v[i + 1] += c;
    }
    c = h->v[4] >> 51;
    h->v[4] &= S_M51;
    h->v[0] += 19 * c;
    c = h->v[0] >> 51;
    h->v[0] &= S_M51;
    h->v[1] += c;
}

/* The canonical encoding (value reduced below p). */
static void s_fe_tobytes(uint8_t s[32], const s_fe *f)
{
    s_fe h = *f;
    s_fe_carry(&h);
    s_fe_carry(&h);
    /* h < 2^255 now; q = 1 iff h ≥ p, i.e. h + 19 ≥ 2^255 */
    uint64_t q = (h.v[0] + 19) >> 51;
    for (int i = 1; i < 5; i++) q = (h.v[i] + q) >> 51;
    h.v[0] += 19 * q;
    for (int i = 0; i < 4; i++) {
        h.v[i + 1] += h.v[i] >> 51;
        h.v[i] &= S_M51;
    }
    h.v[4] &= S_M51;
    uint64_t w[4] = {h.v[0] | h.v[1] << 51, h.v[1] >> 13 | h.v[2] << 38, h.v[2] >> 26 | h.v[3] << 25,
                     h.v[3] >> 39 | h.v[4] << 12};
    for (int i = 0; i < 32; i++) s[i] = (uint8_t)(w[i / 8] >> (8 * (i % 8)));
}

static void s_fe_mul(s_fe *h, const s_fe *f, const s_fe *g)
{
    const uint64_t *a = f->v, *b = g->v;
    uint64_t b1 = 19 * b[1], b2 = 19 * b[2], b3 = 19 * b[3], b4 = 19 * b[4];
    s_u128 r0 = (s_u128)a[0] * b[0] + (s_u128)a[1] * b4 + (s_u128)a[2] * b3 + (s_u128)a[3] * b2 + (s_u128)a[4] * b1;
    s_u128 r1 = (s_u128)a[0] * b[1] + (s_u128)a[1] * b[0] + (s_u128)a[2] * b4 + (s_u128)a[3] * b3 + (s_u128)a[4] * b2;
    s_u128 r2 = (s_u128)a[0] * b[2] + (s_u128)a[1] * b[1] + (s_u128)a[2] * b[0] + (s_u128)a[3] * b4 + (s_u128)a[4] * b3;
    s_u128 r3 = (s_u128)a[0] * b[3] + (s_u128)a[1] * b[2] + (s_u128)a[2] * b[1] + (s_u128)a[3] * b[0] + (s_u128)a[4] * b4;
    s_u128 r4 = (s_u128)a[0] * b[4] + (s_u128)a[1] * b[3] + (s_u128)a[2] * b[2] + (s_u128)a[3] * b[1] + (s_u128)a[4] * b[0];
    r1 += (uint64_t)(r0 >> 51);
    r2 += (uint64_t)(r1 >> 51);
    r3 += (uint64_t)(r2 >> 51);
    r4 += (uint64_t)(r3 >> 51);
    uint64_t c = (uint64_t)(r4 >> 51);
    h->v[0] = ((uint64_t)r0 & S_M51) + 19 * c;
    h->v[1] = ((uint64_t)r1 & S_M51) + (h->v[0] >> 51);
    h->v[0] &= S_M51;
    h->v[2] = (uint64_t)r2 & S_M51;
    h->v[3] = (uint64_t)r3 & S_M51;
    h->v[4] = (uint64_t)r4 & S_M51;
}

/* h = f^(2^k) */
static void s_fe_sqn(s_fe *h, const s_fe *f, int k)
{
    *h = *f;
    while (k-- > 0) s_fe_mul(h, h, h);
}

/* z^(2^250 − 1) into t250, z^11 into z11, z^2 into z2 (the common part of the chains). */
static void s_fe_pow250(s_fe *t250, s_fe *z11, s_fe *z2, const s_fe *z)
{
    s_fe z9, t, t5, t10, t20, t50, t100;
    s_fe_mul(z2, z, z);
    s_fe_sqn(&t, z2, 2);
    s_fe_mul(&z9, &t, z);
    s_fe_mul(z11, &z9, z2);
    s_fe_mul(&t, z11, z11);
    s_fe_mul(&t5, &t, &z9);                          /* 2^5 − 1 */
    s_fe_sqn(&t, &t5, 5);    s_fe_mul(&t10, &t, &t5);     /* 2^10 − 1 */
    s_fe_sqn(&t, &t10, 10);  s_fe_mul(&t20, &t, &t10);    /* 2^20 − 1 */
    s_fe_sqn(&t, &t20, 20);  s_fe_mul(&t, &t, &t20);      /* 2^40 − 1 */
    s_fe_sqn(&t, &t, 10);    s_fe_mul(&t50, &t, &t10);    /* 2^50 − 1 */
    s_fe_sqn(&t, &t50, 50);  s_fe_mul(&t100, &t, &t50);   /* 2^100 − 1 */
    s_fe_sqn(&t, &t100, 100); s_fe_mul(&t, &t, &t100);    /* 2^200 − 1 */
    s_fe_sqn(&t, &t, 50);    s_fe_mul(t250, &t, &t50);    /* 2^250 − 1 */
}

/* h = z^(p − 2) = 1/z (0 for z = 0) */
static void s_fe_invert(s_fe *h, const s_fe *z)
{
    s_fe t, z11, z2;
    s_fe_pow250(&t, &z11, &z2, z);
    s_fe_sqn(&t, &t, 5);
    s_fe_mul(h, &t, &z11);                           /* 2^255 − 32 + 11 = p − 2 */
}

/* h = z^((p − 1)/2): 1 if z is a non-zero square, −1 if not, 0 for 0 */
static void s_fe_legendre(s_fe *h, const s_fe *z)
{
    s_fe t, z11, z2, z6;
    s_fe_pow250(&t, &z11, &z2, z);
    s_fe_sqn(&t, &t, 4);                             /* 2^254 − 16 */
    s_fe_mul(&z6, &z2, &z2);
    s_fe_mul(&z6, &z6, &z2);
    s_fe_mul(h, &t, &z6);                            /* 2^254 − 10 */
}

void mpc_psi_ristretto_to_u(uint8_t *u, const uint8_t *r, uint64_t n)
{
    /* a valid encoding s decodes to a point with y = (1 − s²)/(1 + s²), so the birational
     * map u = (1 + y)/(1 − y) gives u = 1/s².  The inverses of a block share one field
     * inversion (Montgomery's trick): acc[i] = t[0]·…·t[i]. */
    enum { B = 64 };
    s_fe t[B], acc[B], inv, x;
    for (uint64_t i0 = 0; i0 < n; i0 += B) {
        uint64_t m = n - i0 < B ? n - i0 : B;
        for (uint64_t i = 0; i < m; i++) {
            s_fe_frombytes(&x, r + 32 * (i0 + i));
            s_fe_mul(&t[i], &x, &x);
            if (i) s_fe_mul(&acc[i], &acc[i - 1], &t[i]);
            else acc[0] = t[0];
        }
        s_fe_invert(&inv, &acc[m - 1]);         /* 0 if some s was 0: every u of the block 0 */
        for (uint64_t i = m; i-- > 0;) {
            if (i) {
                s_fe_mul(&x, &inv, &acc[i - 1]);
                s_fe_mul(&inv, &inv, &t[i]);
            } else {
                x = inv;
            }
            s_fe_tobytes(u + 32 * (i0 + i), &x);
        }
    }
    sodium_memzero(t, sizeof t);
    sodium_memzero(acc, sizeof acc);
    sodium_memzero(&inv, sizeof inv);
    sodium_memzero(&x, sizeof x);
}

int mpc_psi_u_ok(const uint8_t u[MPC_PSI_PTBYTES])
{
    uint8_t canon[32];
    s_fe x, w;
    s_fe_frombytes(&x, u);
    s_fe_tobytes(canon, &x);
    if ((u[31] & 0x80) || sodium_memcmp(canon, u, 32) != 0) return 0;
    /* on Curve25519 iff u³ + A·u² + u = u·((u + A)·u + 1) is a non-zero square */
    w = x;
    w.v[0] += 486662;
    s_fe_carry(&w);
    s_fe_mul(&w, &w, &x);
    w.v[0] += 1;
    s_fe_carry(&w);
    s_fe_mul(&w, &w, &x);
    s_fe_legendre(&w, &w);
    s_fe_tobytes(canon, &w);
    uint8_t one_b[32] = {1};
    return sodium_memcmp(canon, one_b, 32) == 0;
}

void mpc_psi_salt_check(uint8_t out[32], const uint8_t job_salt[MPC_PSI_SALTBYTES],
                        const uint8_t nonce[32], uint32_t role)
{
    uint8_t r[4] = {(uint8_t)role, (uint8_t)(role >> 8), (uint8_t)(role >> 16), (uint8_t)(role >> 24)};
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, 32);
    crypto_generichash_update(&st, (const uint8_t *)s_check_dom, sizeof s_check_dom);
    crypto_generichash_update(&st, job_salt, MPC_PSI_SALTBYTES);
    crypto_generichash_update(&st, nonce, 32);
    crypto_generichash_update(&st, r, sizeof r);
    crypto_generichash_final(&st, out, 32);
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
    const mpc_psi_stop *stop; /* NULL: none */
    int             err[MPC_PAR_MAX];
} s_blind;

static int s_stop(const s_blind *b)
{
    return b->stop && b->stop->fn ? b->stop->fn(b->stop->ctx) : 0;
}

/* Hashes keys lo..hi−1 (in `order`) to u-coordinates and blinds them, a block at a time. */
static int s_hash_part(s_blind *b, uint64_t lo, uint64_t hi)
{
    enum { B = MPC_PSI_STOP_ROWS };
    uint8_t h[crypto_core_ristretto255_HASHBYTES], r[B][32], pt[B][MPC_PSI_PTBYTES];
    int err = 0;
    for (uint64_t i0 = lo; i0 < hi && !err; i0 += B) {
        uint64_t m = hi - i0 < B ? hi - i0 : B;
        if ((err = s_stop(b)) != 0) break;
        for (uint64_t i = 0; i < m; i++) {
            uint64_t src = b->order ? b->order[i0 + i] : i0 + i;
            crypto_generichash(h, sizeof h, b->data + b->off[src], b->off[src + 1] - b->off[src],
                               b->salt, MPC_PSI_SALTBYTES);
            crypto_core_ristretto255_from_hash(r[i], h);
        }
        mpc_psi_ristretto_to_u(pt[0], r[0], m);
        /* X25519 fails on an all-zero result (a point of small order: not from the hash but
         * with probability 2^-250) */
        for (uint64_t i = 0; i < m && !err; i++)
            if (crypto_scalarmult(b->out + MPC_PSI_PTBYTES * (i0 + i), b->scalar, pt[i]) != 0)
                err = MPC_ERR_CRYPTO;
    }
    sodium_memzero(h, sizeof h);
    sodium_memzero(r, sizeof r);
    sodium_memzero(pt, sizeof pt);
    return err;
}

static void s_blind_part(void *ctx, uint32_t part, uint32_t nparts)
{
    s_blind *b = ctx;
    uint64_t lo, hi;
    mpc_par_range(b->n, 1, part, nparts, &lo, &hi);
    int err = 0;
    if (b->hash) {
        err = s_hash_part(b, lo, hi);
    } else {
        for (uint64_t i = lo; i < hi && !err; i++) {
            if ((i - lo) % MPC_PSI_STOP_ROWS == 0 && (err = s_stop(b)) != 0) break;
            const uint8_t *p = b->in + MPC_PSI_PTBYTES * (b->order ? b->order[i] : i);
            /* a peer's point: refused unless on the curve and, by the all-zero check of
             * X25519, of large order */
            if (!mpc_psi_u_ok(p) || crypto_scalarmult(b->out + MPC_PSI_PTBYTES * i, b->scalar, p) != 0)
                err = MPC_ERR_PROTOCOL;
        }
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
    return mpc_psi_hash_blind_stop(out, data, off, order, n, salt, scalar, par, NULL);
}

int mpc_psi_blind(uint8_t *out, const uint8_t *in, const uint32_t *order, uint64_t n,
                  const uint8_t *scalar, mpc_par *par)
{
    return mpc_psi_blind_stop(out, in, order, n, scalar, par, NULL);
}

int mpc_psi_hash_blind_stop(uint8_t *out, const uint8_t *data, const uint64_t *off,
                            const uint32_t *order, uint64_t n,
                            const uint8_t salt[MPC_PSI_SALTBYTES], const uint8_t *scalar,
                            mpc_par *par, const mpc_psi_stop *stop)
{
    if ((n && !out) || !salt || !scalar || n >= UINT32_MAX || !s_offsets_ok(data, off, n))
        return MPC_ERR_INVALID;
    if (order)
        for (uint64_t i = 0; i < n; i++)
            if (order[i] >= n) return MPC_ERR_INVALID;
    s_blind b = {.out = out, .data = data, .off = off, .order = order, .n = n, .salt = salt,
                 .scalar = scalar, .hash = 1, .stop = stop};
    return s_blind_run(&b, par);
}

int mpc_psi_blind_stop(uint8_t *out, const uint8_t *in, const uint32_t *order, uint64_t n,
                       const uint8_t *scalar, mpc_par *par, const mpc_psi_stop *stop)
{
    if ((n && (!out || !in)) || !scalar) return MPC_ERR_INVALID;
    if (order)
        for (uint64_t i = 0; i < n; i++)
            if (order[i] >= n) return MPC_ERR_INVALID;
    s_blind b = {.out = out, .in = in, .order = order, .n = n, .scalar = scalar, .stop = stop};
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
