/* auth.c — SPDZ2k authenticated shares: local operations, openings, the batched MAC check
 * and the material source wrappers (auth.h). */
#include "auth.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "mpc_err.h"
#include "prg.h"

/* ---- local operations ---- */

#define S_BIN(zx, zm, xx, xm, nx, yx, ym, ny, n, OP)                               \
    do {                                                                          \
        uint64_t sx_ = (nx) == (n) ? 1 : 0, sy_ = (ny) == (n) ? 1 : 0;             \
        if (sx_ && sy_) {                                                         \
            for (uint64_t i = 0; i < (n); i++) {                                  \
                (zx)[i] = (xx)[i] OP (yx)[i];                                     \
                (zm)[i] = (xm)[i] OP (ym)[i];                                     \
            }                                                                     \
        } else {                                                                  \
            for (uint64_t i = 0; i < (n); i++) {                                  \
                (zx)[i] = (xx)[i * sx_] OP (yx)[i * sy_];                         \
                (zm)[i] = (xm)[i * sx_] OP (ym)[i * sy_];                         \
            }                                                                     \
        }                                                                         \
    } while (0)

void mpc_auth_add(mpc_u128 *zx, mpc_u128 *zm, const mpc_u128 *xx, const mpc_u128 *xm, uint64_t nx,
                  const mpc_u128 *yx, const mpc_u128 *ym, uint64_t ny, uint64_t n)
{
    S_BIN(zx, zm, xx, xm, nx, yx, ym, ny, n, +);
}

void mpc_auth_sub(mpc_u128 *zx, mpc_u128 *zm, const mpc_u128 *xx, const mpc_u128 *xm, uint64_t nx,
                  const mpc_u128 *yx, const mpc_u128 *ym, uint64_t ny, uint64_t n)
{
    S_BIN(zx, zm, xx, xm, nx, yx, ym, ny, n, -);
}

void mpc_auth_neg(mpc_u128 *zx, mpc_u128 *zm, const mpc_u128 *xx, const mpc_u128 *xm, uint64_t nx,
                  uint64_t n)
{
    uint64_t s = nx == n ? 1 : 0;
    for (uint64_t i = 0; i < n; i++) {
        zx[i] = -xx[i * s];
        zm[i] = -xm[i * s];
    }
}

void mpc_auth_add_pub(mpc_u128 *zx, mpc_u128 *zm, const mpc_u128 *xx, const mpc_u128 *xm, uint64_t nx,
                      const uint64_t *k, uint64_t nk, uint64_t n, mpc_u128 alpha_i, int designated)
{
    uint64_t sx = nx == n ? 1 : 0, sk = nk == n ? 1 : 0;
    for (uint64_t i = 0; i < n; i++) {
        mpc_u128 kv = k[i * sk];
        zx[i] = xx[i * sx] + (designated ? kv : 0);
        zm[i] = xm[i * sx] + alpha_i * kv;
    }
}

void mpc_auth_add_pub128(mpc_u128 *zx, mpc_u128 *zm, const mpc_u128 *xx, const mpc_u128 *xm,
                         const mpc_u128 *k, uint64_t n, mpc_u128 alpha_i, int designated)
{
    for (uint64_t i = 0; i < n; i++) {
        zx[i] = xx[i] + (designated ? k[i] : 0);
        zm[i] = xm[i] + alpha_i * k[i];
    }
}

void mpc_auth_mul_pub(mpc_u128 *zx, mpc_u128 *zm, const mpc_u128 *xx, const mpc_u128 *xm, uint64_t nx,
                      const uint64_t *k, uint64_t nk, uint64_t n)
{
    uint64_t sx = nx == n ? 1 : 0, sk = nk == n ? 1 : 0;
    for (uint64_t i = 0; i < n; i++) {
        mpc_u128 kv = k[i * sk];
        zx[i] = xx[i * sx] * kv;
        zm[i] = xm[i * sx] * kv;
    }
}

/* ---- memory ---- */

#define S_HUGE (2u << 20)

mpc_u128 *mpc_auth_alloc(uint64_t n)
{
    if (n > (UINT64_MAX >> 5)) return NULL;
    size_t bytes = (size_t)(n ? n : 1) * sizeof(mpc_u128);
    if (bytes < 2 * S_HUGE) return malloc(bytes);
    size_t rounded = (bytes + S_HUGE - 1) / S_HUGE * S_HUGE;
    void *p = aligned_alloc(S_HUGE, rounded);
    if (p) (void)madvise(p, rounded, MADV_HUGEPAGE);   /* advice only: failure is harmless */
    return p;
}

void mpc_auth_wipe_free(mpc_u128 *p, uint64_t n)
{
    if (!p) return;
    sodium_memzero(p, (size_t)n * sizeof *p);
    free(p);
}

/* ---- key ---- */

int mpc_auth_key_init(mpc_auth_key *k)
{
    k->alpha = sodium_malloc(sizeof *k->alpha);
    if (!k->alpha) return MPC_ERR_NOMEM;
    *k->alpha = 0;
    return 0;
}

void mpc_auth_key_free(mpc_auth_key *k)
{
    if (k && k->alpha) {
        sodium_memzero(k->alpha, sizeof *k->alpha);
        sodium_free(k->alpha);
        k->alpha = NULL;
    }
}

/* ---- openings ---- */

int mpc_auth_exchange(mpc_transport *t, uint8_t type, uint64_t stream, uint64_t seq,
                      const mpc_u128 *mine, mpc_u128 *sum, uint64_t n, int timeout_ms, uint32_t *peer)
{
    *peer = MPC_ABORT_NO_PARTY;
    if (n > UINT64_MAX / 32) return MPC_ERR_INVALID;
    for (uint32_t j = 0; j < t->n; j++) {
        if (j == t->self) continue;
        int r = mpc_send(t, j, type, stream, seq, (const uint64_t *)mine, 2 * n);
        if (r) {
            *peer = j;
            return r;
        }
    }
    mpc_u128 *rx = n ? mpc_auth_alloc(n) : NULL;
    if (n && !rx) return MPC_ERR_NOMEM;
    if (sum != mine) memcpy(sum, mine, (size_t)n * sizeof *sum);
    int r = 0;
    for (uint32_t j = 0; j < t->n && !r; j++) {
        if (j == t->self) continue;
        r = mpc_recv(t, j, type, stream, seq, (uint64_t *)rx, 2 * n, timeout_ms);
        if (r) {
            *peer = j;
            break;
        }
        for (uint64_t k = 0; k < n; k++) sum[k] += rx[k];
    }
    free(rx);
    return r;
}

int mpc_auth_exchange_sliced(mpc_transport *t, uint8_t type, uint64_t stream, uint64_t seq, mpc_u128 *v,
                             uint64_t n, uint64_t slice, uint32_t window, int timeout_ms, uint32_t *peer)
{
    *peer = MPC_ABORT_NO_PARTY;
    if (seq >> 32 || !slice || slice > MPC_AUTH_MAX_BATCH || !window || n > UINT64_MAX / 32) return MPC_ERR_INVALID;
    const uint64_t ns = n ? (n + slice - 1) / slice : 1;
    if (ns >> 30) return MPC_ERR_INVALID;
    mpc_u128 *rx = n ? mpc_auth_alloc(n < slice ? n : slice) : NULL;
    if (n && !rx) return MPC_ERR_NOMEM;
    int r = 0;
    for (uint64_t s = 0, sent = 0; s < ns && !r; s++) {
        /* slices up to `window` ahead go out before slice s is received; a slice is summed
         * into v only after it was sent (the transport copies what it sends) */
        for (; sent < ns && sent < s + window && !r; sent++) {
            uint64_t lo = sent * slice, cnt = n - lo < slice ? n - lo : slice;
            for (uint32_t j = 0; j < t->n && !r; j++) {
                if (j == t->self) continue;
                if ((r = mpc_send(t, j, type, stream, seq | sent << 32, (const uint64_t *)(v + lo), 2 * cnt)))
                    *peer = j;
            }
        }
        uint64_t lo = s * slice, cnt = n - lo < slice ? n - lo : slice;
        for (uint32_t j = 0; j < t->n && !r; j++) {
            if (j == t->self) continue;
            if ((r = mpc_recv(t, j, type, stream, seq | s << 32, (uint64_t *)rx, 2 * cnt, timeout_ms))) {
                *peer = j;
                break;
            }
            mpc_u128 *dst = v + lo;
            for (uint64_t k = 0; k < cnt; k++) dst[k] += rx[k];
        }
    }
    free(rx);
    return r;
}

/* ---- the MAC check ---- */

#define S_CHI_BLOCK 4096       /* coefficients expanded per PRG call */
#define S_W0 9                 /* verdict message: verdict, transcript hash (4), commitment (4) */
#define S_WB 12                /* seed message: seed (4), nonce (4), broadcast hash (4) */
#define S_WD 6                 /* sigma message: sigma (2), nonce (4) */

typedef struct {
    mpc_u128 *y, *m;
    uint64_t  n;
} s_chunk;

struct mpc_mac_check {
    mpc_transport *t;
    uint64_t  stream, seq_base;
    int       timeout_ms;
    uint64_t  checks;          /* checks done */
    s_chunk  *chunks;
    uint32_t  n_chunks, cap_chunks;
    uint64_t  pending;
    uint8_t  *secret;          /* sodium_malloc: seed (32) and its nonce (32) of this check */
    uint8_t   commits[MPC_MAX_PARTIES_AUTH][32];
    int       have_commits;
    crypto_generichash_state bcast;
};

static void s_chunks_free(mpc_mac_check *ck)
{
    for (uint32_t i = 0; i < ck->n_chunks; i++) {
        free(ck->chunks[i].y);
        if (ck->chunks[i].m) {
            sodium_memzero(ck->chunks[i].m, (size_t)ck->chunks[i].n * sizeof(mpc_u128));
            free(ck->chunks[i].m);
        }
    }
    ck->n_chunks = 0;
    ck->pending = 0;
}

mpc_mac_check *mpc_mac_check_new(mpc_transport *t, uint64_t stream, uint64_t seq_base, int timeout_ms)
{
    if (!t || t->n < 2 || t->n > MPC_MAX_PARTIES_AUTH || t->self >= t->n) return NULL;
    /* libsodium declares crypto_generichash_state 64-byte aligned (the compiler may use
     * aligned vector moves on it): calloc's 16 bytes are not enough */
    size_t sz = (sizeof(mpc_mac_check) + 63) / 64 * 64;
    mpc_mac_check *ck = aligned_alloc(64, sz);
    if (!ck) return NULL;
    memset(ck, 0, sz);
    if (!(ck->secret = sodium_malloc(64))) {
        free(ck);
        return NULL;
    }
    ck->t = t;
    ck->stream = stream;
    ck->seq_base = seq_base;
    ck->timeout_ms = timeout_ms;
    crypto_generichash_init(&ck->bcast, NULL, 0, 32);
    return ck;
}

void mpc_mac_check_free(mpc_mac_check **ckp)
{
    if (!ckp || !*ckp) return;
    mpc_mac_check *ck = *ckp;
    s_chunks_free(ck);
    free(ck->chunks);
    sodium_memzero(ck->secret, 64);
    sodium_free(ck->secret);
    sodium_memzero(ck, sizeof *ck);
    free(ck);
    *ckp = NULL;
}

/* A commitment to `len` bytes of v with a 32-byte nonce, domain-separated by `tag`. */
static void s_commit(uint8_t out[32], const char *tag, const uint8_t nonce[32], const void *v, size_t len)
{
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, 32);
    crypto_generichash_update(&h, (const uint8_t *)tag, strlen(tag) + 1);
    crypto_generichash_update(&h, nonce, 32);
    crypto_generichash_update(&h, v, len);
    crypto_generichash_final(&h, out, 32);
}

/* Draws a fresh seed contribution and nonce; w[0..8] = the verdict message around its
 * commitment. */
static void s_new_seed(mpc_mac_check *ck, uint64_t w[S_W0], uint64_t verdict, const uint8_t thash[32])
{
    randombytes_buf(ck->secret, 64);
    w[0] = verdict;
    memcpy(w + 1, thash, 32);
    uint8_t c[32];
    s_commit(c, "mpcd mac-check seed", ck->secret + 32, ck->secret, 32);
    memcpy(w + 5, c, 32);
    memcpy(ck->commits[ck->t->self], c, 32);
}

int mpc_mac_check_begin(mpc_mac_check *ck, char *err, size_t errlen)
{
    uint64_t w[S_W0], rx[S_W0];
    uint8_t zero[32] = {0};
    s_new_seed(ck, w, 1, zero);
    for (uint32_t j = 0; j < ck->t->n; j++) {
        if (j == ck->t->self) continue;
        int r = mpc_send(ck->t, j, MPC_MSG_CONTROL, ck->stream, ck->seq_base, w, S_W0);
        if (r) {
            snprintf(err, errlen, "MAC check: sending to party %u: %s", (unsigned)j, mpc_strerror(r));
            return r;
        }
    }
    /* received at once: a peer's messages arrive in the order it sent them */
    for (uint32_t j = 0; j < ck->t->n; j++) {
        if (j == ck->t->self) continue;
        int r = mpc_recv(ck->t, j, MPC_MSG_CONTROL, ck->stream, ck->seq_base, rx, S_W0, ck->timeout_ms);
        if (r) {
            snprintf(err, errlen, "MAC check: party %u: %s", (unsigned)j, mpc_strerror(r));
            return r;
        }
        memcpy(ck->commits[j], rx + 5, 32);
    }
    ck->have_commits = 1;
    return 0;
}

int mpc_mac_check_add(mpc_mac_check *ck, mpc_u128 *y, mpc_u128 *m, uint64_t n)
{
    if (ck->n_chunks == ck->cap_chunks) {
        uint32_t cap = ck->cap_chunks ? 2 * ck->cap_chunks : 16;
        s_chunk *nc = realloc(ck->chunks, cap * sizeof *nc);
        if (!nc) {
            free(y);
            if (m) sodium_memzero(m, (size_t)n * sizeof *m);
            free(m);
            return MPC_ERR_NOMEM;
        }
        ck->chunks = nc;
        ck->cap_chunks = cap;
    }
    ck->chunks[ck->n_chunks++] = (s_chunk){.y = y, .m = m, .n = n};
    ck->pending += n;
    return 0;
}

void mpc_mac_check_bcast(mpc_mac_check *ck, uint32_t owner, uint64_t seq, const uint64_t *w, uint64_t words)
{
    uint64_t hdr[3] = {owner, seq, words};
    crypto_generichash_update(&ck->bcast, (const uint8_t *)hdr, sizeof hdr);
    if (words) crypto_generichash_update(&ck->bcast, (const uint8_t *)w, (size_t)words * 8);
}

uint64_t mpc_mac_check_pending(const mpc_mac_check *ck)
{
    return ck->pending;
}

/* σ_i = Σχ_j·m_j − α_i·Σχ_j·y_j over every held value, χ from the PRG under seed. */
static int s_sigma(const mpc_mac_check *ck, const uint8_t seed[32], mpc_u128 alpha_i, mpc_u128 *sigma)
{
    uint64_t chi[S_CHI_BLOCK], pos = 0;
    mpc_u128 ys = 0, ms = 0;
    for (uint32_t c = 0; c < ck->n_chunks; c++) {
        const s_chunk *h = &ck->chunks[c];
        for (uint64_t k = 0; k < h->n; k += S_CHI_BLOCK) {
            uint64_t b = h->n - k < S_CHI_BLOCK ? h->n - k : S_CHI_BLOCK;
            if (mpc_prg_expand(chi, b, seed, 0, pos)) return MPC_ERR_INVALID;
            pos += b;
            for (uint64_t i = 0; i < b; i++) {
                ys += (mpc_u128)chi[i] * h->y[k + i];
                ms += (mpc_u128)chi[i] * h->m[k + i];
            }
        }
    }
    *sigma = ms - alpha_i * ys;
    sodium_memzero(chi, sizeof chi);
    return 0;
}

/* Sends w (words) to every peer as message r of this check and receives each peer's into
 * rx + j·words (rx + self·words gets w). */
static int s_round(mpc_mac_check *ck, uint64_t seq, const uint64_t *w, uint64_t words, uint64_t *rx,
                   uint32_t *peer)
{
    mpc_transport *t = ck->t;
    for (uint32_t j = 0; j < t->n; j++) {
        if (j == t->self) continue;
        int r = mpc_send(t, j, MPC_MSG_CONTROL, ck->stream, seq, w, words);
        if (r) {
            *peer = j;
            return r;
        }
    }
    memcpy(rx + t->self * words, w, (size_t)words * 8);
    for (uint32_t j = 0; j < t->n; j++) {
        if (j == t->self) continue;
        int r = mpc_recv(t, j, MPC_MSG_CONTROL, ck->stream, seq, rx + j * words, words, ck->timeout_ms);
        if (r) {
            *peer = j;
            return r;
        }
    }
    return 0;
}

#define S_FAIL(...)                                                       \
    do {                                                                  \
        if (!failed) snprintf(err, errlen, __VA_ARGS__);                  \
        failed = 1;                                                       \
    } while (0)

int mpc_mac_check_run(mpc_mac_check *ck, const mpc_auth_key *key, uint32_t *peer, char *err, size_t errlen)
{
    mpc_transport *t = ck->t;
    const uint32_t n = t->n, me = t->self;
    const uint64_t seq0 = ck->seq_base + 4 * ck->checks;
    uint64_t rx0[MPC_MAX_PARTIES_AUTH * S_W0], rxb[MPC_MAX_PARTIES_AUTH * S_WB];
    uint64_t rxc[MPC_MAX_PARTIES_AUTH * 4], rxd[MPC_MAX_PARTIES_AUTH * S_WD];
    uint64_t w[S_WB];
    uint8_t sigma_secret[64];   /* σ_i as sent (16 bytes, rest zero) and its nonce */
    uint8_t seed[32], thash[32];
    int failed = 0, r;
    *peer = MPC_ABORT_NO_PARTY;
    if (!ck->have_commits) {
        snprintf(err, errlen, "MAC check: mpc_mac_check_begin was not called");
        return MPC_ERR_STATE;
    }
    /* round 1: open the seed contributions, compare the broadcast transcripts */
    uint8_t bh[32];
    crypto_generichash_state bs = ck->bcast;
    crypto_generichash_final(&bs, bh, 32);
    memcpy(w, ck->secret, 64);
    memcpy(w + 8, bh, 32);
    if ((r = s_round(ck, seq0 + 1, w, S_WB, rxb, peer))) goto io;
    crypto_generichash_state sh;
    crypto_generichash_init(&sh, (const uint8_t *)"mpcd mac-check chi", 18, 32);
    for (uint32_t j = 0; j < n; j++) {
        const uint64_t *m = rxb + j * S_WB;
        uint8_t c[32];
        s_commit(c, "mpcd mac-check seed", (const uint8_t *)(m + 4), m, 32);
        if (sodium_memcmp(c, ck->commits[j], 32))
            S_FAIL("MAC check failed: party %u's seed does not match its commitment", (unsigned)j);
        if (sodium_memcmp(m + 8, bh, 32))
            S_FAIL("MAC check failed: party %u received different input broadcasts", (unsigned)j);
        crypto_generichash_update(&sh, (const uint8_t *)m, 32);
    }
    crypto_generichash_final(&sh, seed, 32);
    /* round 2: commit to σ_i (random bytes in its place once the check has failed: nothing
     * about α leaves a failed check) */
    mpc_u128 sigma = 0;
    if (failed || s_sigma(ck, seed, *key->alpha, &sigma)) {
        randombytes_buf(&sigma, sizeof sigma);
        S_FAIL("MAC check failed: internal error");
    }
    memset(sigma_secret, 0, sizeof sigma_secret);
    memcpy(sigma_secret, &sigma, 16);
    randombytes_buf(sigma_secret + 32, 32);
    uint8_t sc[32];
    s_commit(sc, "mpcd mac-check sigma", sigma_secret + 32, sigma_secret, 16);
    memcpy(w, sc, 32);
    if ((r = s_round(ck, seq0 + 2, w, 4, rxc, peer))) goto io;
    /* round 3: open σ_i, check the commitments and the sum */
    memcpy(w, sigma_secret, 16);
    memcpy(w + 2, sigma_secret + 32, 32);
    if ((r = s_round(ck, seq0 + 3, w, S_WD, rxd, peer))) goto io;
    mpc_u128 total = 0;
    for (uint32_t j = 0; j < n; j++) {
        const uint64_t *m = rxd + j * S_WD;
        uint8_t c[32];
        s_commit(c, "mpcd mac-check sigma", (const uint8_t *)(m + 2), m, 16);
        if (sodium_memcmp(c, rxc + j * 4, 32))
            S_FAIL("MAC check failed: party %u's share does not match its commitment", (unsigned)j);
        mpc_u128 s;
        memcpy(&s, m, 16);
        total += s;
    }
    if (total != 0) S_FAIL("MAC check failed");
    /* round 4: verdicts and a hash of every check message seen; the next seed commitment */
    crypto_generichash_state th;
    crypto_generichash_init(&th, NULL, 0, 32);
    crypto_generichash_update(&th, (const uint8_t *)rxb, (size_t)n * S_WB * 8);
    crypto_generichash_update(&th, (const uint8_t *)rxc, (size_t)n * 4 * 8);
    crypto_generichash_update(&th, (const uint8_t *)rxd, (size_t)n * S_WD * 8);
    crypto_generichash_final(&th, thash, 32);
    uint64_t wv[S_W0];
    s_new_seed(ck, wv, failed ? 0 : 1, thash);
    if ((r = s_round(ck, seq0 + 4, wv, S_W0, rx0, peer))) goto io;
    for (uint32_t j = 0; j < n; j++) {
        if (j == me) continue;
        const uint64_t *m = rx0 + j * S_W0;
        if (m[0] != 1) S_FAIL("MAC check failed (reported by party %u)", (unsigned)j);
        else if (sodium_memcmp(m + 1, thash, 32))
            S_FAIL("MAC check failed: party %u saw different check messages", (unsigned)j);
        memcpy(ck->commits[j], m + 5, 32);
    }
    sodium_memzero(sigma_secret, sizeof sigma_secret);
    sodium_memzero(&sigma, sizeof sigma);
    sodium_memzero(seed, sizeof seed);
    if (failed) return MPC_ERR_CRYPTO;
    ck->checks++;
    s_chunks_free(ck);
    return 0;
io:
    sodium_memzero(sigma_secret, sizeof sigma_secret);
    snprintf(err, errlen, "MAC check: party %u: %s", (unsigned)*peer, mpc_strerror(r));
    return r;
}

/* ---- joint coins ---- */

int mpc_auth_round_all(mpc_transport *t, uint8_t type, uint64_t stream, uint64_t seq, const uint64_t *w,
                       uint64_t words, uint64_t *rx, int timeout_ms, uint32_t *peer)
{
    for (uint32_t j = 0; j < t->n; j++) {
        if (j == t->self) continue;
        int r = mpc_send(t, j, type, stream, seq, w, words);
        if (r) {
            *peer = j;
            return r;
        }
    }
    memcpy(rx + t->self * words, w, (size_t)words * 8);
    for (uint32_t j = 0; j < t->n; j++) {
        if (j == t->self) continue;
        int r = mpc_recv(t, j, type, stream, seq, rx + j * words, words, timeout_ms);
        if (r) {
            *peer = j;
            return r;
        }
    }
    return 0;
}

int mpc_auth_coin(mpc_transport *t, uint8_t type, uint64_t stream, uint64_t seq, uint8_t seed[32],
                  int timeout_ms, uint32_t *peer, char *err, size_t errlen)
{
    *peer = MPC_ABORT_NO_PARTY;
    if (!t || t->n < 2 || t->n > MPC_MAX_PARTIES_AUTH || !seed) return MPC_ERR_INVALID;
    uint64_t mine[8], com[4], coms[MPC_MAX_PARTIES_AUTH * 4], opens[MPC_MAX_PARTIES_AUTH * 8];
    randombytes_buf(mine, sizeof mine);   /* value (32), nonce (32) */
    s_commit((uint8_t *)com, "mpcd coin", (const uint8_t *)(mine + 4), mine, 32);
    int r = mpc_auth_round_all(t, type, stream, seq, com, 4, coms, timeout_ms, peer);
    if (!r) r = mpc_auth_round_all(t, type, stream, seq + 1, mine, 8, opens, timeout_ms, peer);
    if (r) {
        snprintf(err, errlen, "coin: party %u: %s", (unsigned)*peer, mpc_strerror(r));
        return r;
    }
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, 32);
    crypto_generichash_update(&h, (const uint8_t *)"mpcd coin seed", 15);
    for (uint32_t j = 0; j < t->n && !r; j++) {
        uint8_t c[32];
        s_commit(c, "mpcd coin", (const uint8_t *)(opens + 8 * j + 4), opens + 8 * j, 32);
        if (sodium_memcmp(c, coms + 4 * j, 32)) {
            *peer = j;
            snprintf(err, errlen, "coin: party %u's contribution does not match its commitment", (unsigned)j);
            r = MPC_ERR_CRYPTO;
        }
        crypto_generichash_update(&h, (const uint8_t *)(opens + 8 * j), 32);
    }
    crypto_generichash_final(&h, seed, 32);
    sodium_memzero(mine, sizeof mine);
    return r;
}

/* ---- material sources ---- */

int mpc_auth_src_key(mpc_auth_src *s, mpc_auth_key *key)
{
    if (!s || !key || !key->alpha) return MPC_ERR_INVALID;
    return s->ops->key(s, key);
}

int mpc_auth_src_triples(mpc_auth_src *s, uint64_t n, mpc_auth_triples *out)
{
    if (!s || !out || n > MPC_AUTH_MAX_BATCH) return MPC_ERR_INVALID;
    if (!n) return 0;
    int r = s->ops->triples(s, n, out);
    if (!r) s->triples_out += n;
    return r;
}

int mpc_auth_src_masks(mpc_auth_src *s, uint32_t owner, uint64_t n, mpc_u128 *x, mpc_u128 *m, mpc_u128 *val)
{
    if (!s || owner >= s->n || n > MPC_AUTH_MAX_BATCH || (owner == s->self) != (val != NULL))
        return MPC_ERR_INVALID;
    if (!n) return 0;
    int r = s->ops->masks(s, owner, n, x, m, val);
    if (!r) s->masks_out += n;
    return r;
}

void mpc_auth_src_destroy(mpc_auth_src **s)
{
    if (s && *s) (*s)->ops->destroy(s);
}
