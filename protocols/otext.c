/* otext.c — IKNP correlated OT extension (otext.h): column PRG per superblock of 8 blocks of
 * 128 OTs (kept in L1/L2), 128×128 transposes, TCCR hashing of the rows. */
#include "otext.h"

#include <pthread.h>
#include <sodium.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "mpc_err.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define S_SBLK (MPC_OT_SUPER / 128)   /* 128-OT blocks per superblock */

/* Keys of one end, in sodium_malloc memory (secret). */
typedef struct {
    mpc_prg_key key[2][MPC_OT_KAPPA];   /* receiver: k0, k1; sender: kd in key[0] */
    uint8_t     delta[16];
} s_secret;

/* Work space of one thread for one superblock, in sodium_malloc memory (secret). */
typedef struct {
    uint8_t col[MPC_OT_KAPPA * S_SBLK * 16];   /* t^i (receiver) / q^i (sender) */
    uint8_t acc[S_SBLK * 16];
    uint8_t gall[256 * S_SBLK * 16];          /* SoftSpokenOT: every leaf of a block; IKNP: G(k1_i) */
    uint8_t rows[S_SBLK * MPC_OT_KAPPA * 16];   /* a superblock's rows */
} s_work;

struct mpc_cot_recv {
    s_secret    *s;
    s_work      *w[MPC_PAR_MAX];   /* per part of mpc_par_run, made when first needed */
    mpc_prg_key *leaf;       /* SoftSpokenOT (k > 1): 128/k blocks × 2^k leaf keys */
    uint32_t     k;
    mpc_sym_kind kind;
    uint64_t     tweak_hi;
    uint64_t     pos;        /* next OT index, a multiple of MPC_OT_SUPER */
    mpc_cot_prof prof;
};

struct mpc_cot_send {
    s_secret    *s;
    s_work      *w[MPC_PAR_MAX];
    mpc_prg_key *leaf;
    uint32_t     k;
    mpc_sym_kind kind;
    uint64_t     tweak_hi;
    uint64_t     pos;
    mpc_cot_prof prof;
};

uint64_t mpc_cot_msg_words(uint64_t m)
{
    return (m + 127) / 128 * 128 * 2;
}

uint64_t mpc_cot_msg_words_k(uint32_t k, uint64_t m)
{
    if (k == 0 || k > 8 || MPC_OT_KAPPA % k) return 0;
    return (m + 127) / 128 * (MPC_OT_KAPPA / k) * 2;
}

void mpc_transpose128_ref(uint8_t *out, const uint8_t *in, uint64_t stride)
{
    memset(out, 0, 128 * 16);
    for (unsigned i = 0; i < 128; i++)
        for (unsigned j = 0; j < 128; j++) {
            unsigned bit = (in[i * stride + j / 8] >> (j % 8)) & 1u;
            out[16 * j + i / 8] |= (uint8_t)(bit << (i % 8));
        }
}

#if defined(__SSE2__)
/* col[c] = byte c of rows a[0..15] (a 16×16 byte transpose by four levels of unpacks). */
static inline void s_tr16(const __m128i a[16], __m128i col[16])
{
    __m128i b[16], c[16], d[4];
    for (int k = 0; k < 8; k++) {
        b[k] = _mm_unpacklo_epi8(a[2 * k], a[2 * k + 1]);
        b[k + 8] = _mm_unpackhi_epi8(a[2 * k], a[2 * k + 1]);
    }
    for (int h = 0; h < 2; h++)
        for (int k = 0; k < 4; k++) {
            c[8 * h + k] = _mm_unpacklo_epi16(b[8 * h + 2 * k], b[8 * h + 2 * k + 1]);
            c[8 * h + 4 + k] = _mm_unpackhi_epi16(b[8 * h + 2 * k], b[8 * h + 2 * k + 1]);
        }
    for (int g = 0; g < 4; g++) {
        d[0] = _mm_unpacklo_epi32(c[4 * g], c[4 * g + 1]);
        d[1] = _mm_unpackhi_epi32(c[4 * g], c[4 * g + 1]);
        d[2] = _mm_unpacklo_epi32(c[4 * g + 2], c[4 * g + 3]);
        d[3] = _mm_unpackhi_epi32(c[4 * g + 2], c[4 * g + 3]);
        col[4 * g] = _mm_unpacklo_epi64(d[0], d[2]);
        col[4 * g + 1] = _mm_unpackhi_epi64(d[0], d[2]);
        col[4 * g + 2] = _mm_unpacklo_epi64(d[1], d[3]);
        col[4 * g + 3] = _mm_unpackhi_epi64(d[1], d[3]);
    }
}

static void s_transpose_sse2(uint8_t *out, const uint8_t *in, uint64_t stride)
{
    /* The movemask trick: with byte c of 16 rows in one register, movemask gathers their
     * bit 7 — 16 bits of output row 8c + 7; shifting left by one brings bit 6 up, etc. */
    for (unsigned rr = 0; rr < 128; rr += 16) {
        __m128i a[16], col[16];
        for (unsigned k = 0; k < 16; k++)
            a[k] = _mm_loadu_si128((const __m128i *)(in + (rr + k) * stride));
        s_tr16(a, col);
        for (unsigned cc = 0; cc < 16; cc++) {
            __m128i v = col[cc];
            for (int bit = 7; bit >= 0; bit--) {
                uint16_t w = (uint16_t)_mm_movemask_epi8(v);
                memcpy(out + 16 * (8 * cc + (unsigned)bit) + rr / 8, &w, 2);
                v = _mm_slli_epi64(v, 1);
            }
        }
    }
}

#if defined(__x86_64__)
#include <immintrin.h>
/* The same with 32 rows per movemask (AVX2): half the movemasks, shifts and stores. */
__attribute__((target("avx2"))) static void s_transpose_avx2(uint8_t *out, const uint8_t *in,
                                                              uint64_t stride)
{
    for (unsigned rr = 0; rr < 128; rr += 32) {
        __m128i a[16], lo[16], hi[16];
        for (unsigned k = 0; k < 16; k++)
            a[k] = _mm_loadu_si128((const __m128i *)(in + (rr + k) * stride));
        s_tr16(a, lo);
        for (unsigned k = 0; k < 16; k++)
            a[k] = _mm_loadu_si128((const __m128i *)(in + (rr + 16 + k) * stride));
        s_tr16(a, hi);
        for (unsigned cc = 0; cc < 16; cc++) {
            __m256i v = _mm256_set_m128i(hi[cc], lo[cc]);
#pragma GCC unroll 8
            for (int bit = 7; bit >= 0; bit--) {
                uint32_t w = (uint32_t)_mm256_movemask_epi8(v);
                memcpy(out + 16 * (8 * cc + (unsigned)bit) + rr / 8, &w, 4);
                v = _mm256_slli_epi64(v, 1);
            }
        }
    }
}

static int s_avx2;
static pthread_once_t s_avx2_once = PTHREAD_ONCE_INIT;

static void s_avx2_detect(void)
{
    __builtin_cpu_init();
    s_avx2 = __builtin_cpu_supports("avx2");
}

static int s_have_avx2(void)
{
    pthread_once(&s_avx2_once, s_avx2_detect);
    return s_avx2;
}
#endif

void mpc_transpose128(uint8_t *out, const uint8_t *in, uint64_t stride)
{
#if defined(__x86_64__)
    if (s_have_avx2()) {
        s_transpose_avx2(out, in, stride);
        return;
    }
#endif
    s_transpose_sse2(out, in, stride);
}

/* For tests: the SSE2 path even where AVX2 exists. */
void mpc_transpose128_sse2(uint8_t *out, const uint8_t *in, uint64_t stride)
{
    s_transpose_sse2(out, in, stride);
}
#else
void mpc_transpose128(uint8_t *out, const uint8_t *in, uint64_t stride)
{
    mpc_transpose128_ref(out, in, stride);
}

void mpc_transpose128_sse2(uint8_t *out, const uint8_t *in, uint64_t stride)
{
    mpc_transpose128_ref(out, in, stride);
}
#endif

/* Overwrites the stack below the caller's frame, where the AES, PRG and transpose helpers
 * just ran: their copies of round keys and rows (registers spilled to the stack) do not
 * outlive a batch.  Once per batch, not per block, to keep the hot loops free of it. */
__attribute__((noinline)) static void s_stack_wipe(void)
{
    uint8_t pad[8192];
    sodium_memzero(pad, sizeof pad);
}

static s_secret *s_secret_new(void)
{
    if (sodium_init() < 0) return NULL;
    s_secret *s = sodium_malloc(sizeof *s);
    if (s) memset(s, 0, sizeof *s);
    return s;
}

mpc_cot_recv *mpc_cot_recv_new(mpc_sym_kind kind, const uint8_t *k0, const uint8_t *k1,
                               uint64_t tweak_hi)
{
    if (!k0 || !k1 || (kind == MPC_SYM_AESNI && !mpc_sym_have_aesni())) return NULL;
    mpc_cot_recv *r = calloc(1, sizeof *r);
    if (!r || !(r->s = s_secret_new())) {
        free(r);
        return NULL;
    }
    r->kind = kind;
    r->k = 1;
    r->tweak_hi = tweak_hi;
    for (int i = 0; i < MPC_OT_KAPPA; i++) {
        mpc_sym_prg_key(kind, &r->s->key[0][i], k0 + MPC_OT_SEEDBYTES * i);
        mpc_sym_prg_key(kind, &r->s->key[1][i], k1 + MPC_OT_SEEDBYTES * i);
    }
    return r;
}

mpc_cot_send *mpc_cot_send_new(mpc_sym_kind kind, const uint8_t delta[16], const uint8_t *kd,
                               uint64_t tweak_hi)
{
    if (!delta || !kd || (kind == MPC_SYM_AESNI && !mpc_sym_have_aesni())) return NULL;
    mpc_cot_send *s = calloc(1, sizeof *s);
    if (!s || !(s->s = s_secret_new())) {
        free(s);
        return NULL;
    }
    s->kind = kind;
    s->k = 1;
    s->tweak_hi = tweak_hi;
    memcpy(s->s->delta, delta, 16);
    for (int i = 0; i < MPC_OT_KAPPA; i++)
        mpc_sym_prg_key(kind, &s->s->key[0][i], kd + MPC_OT_SEEDBYTES * i);
    return s;
}

void mpc_cot_recv_destroy(mpc_cot_recv **r)
{
    if (!r || !*r) return;
    for (int i = 0; i < MPC_PAR_MAX; i++) sodium_free((*r)->w[i]);
    sodium_free((*r)->leaf);
    sodium_free((*r)->s);
    free(*r);
    *r = NULL;
}

void mpc_cot_send_destroy(mpc_cot_send **s)
{
    if (!s || !*s) return;
    for (int i = 0; i < MPC_PAR_MAX; i++) sodium_free((*s)->w[i]);
    sodium_free((*s)->leaf);
    sodium_free((*s)->s);
    free(*s);
    *s = NULL;
}

/* ---- SoftSpokenOT (Roy, CRYPTO 2022, §4–5, semi-honest): 128/k small-field VOLEs ---- */

static int s_k_ok(uint32_t k)
{
    return k >= 2 && k <= 8 && MPC_OT_KAPPA % k == 0;
}

static mpc_prg_key *s_leaf_keys(mpc_sym_kind kind, uint32_t k, const uint8_t *leaves)
{
    size_t nl = (size_t)(MPC_OT_KAPPA / k) << k;
    mpc_prg_key *L = sodium_allocarray(nl, sizeof *L);
    if (!L) return NULL;
    for (size_t i = 0; i < nl; i++) mpc_sym_prg_key(kind, &L[i], leaves + MPC_OT_SEEDBYTES * i);
    return L;
}

mpc_cot_recv *mpc_sso_recv_new(mpc_sym_kind kind, uint32_t k, const uint8_t *leaves,
                               uint64_t tweak_hi)
{
    if (!leaves || !s_k_ok(k) || (kind == MPC_SYM_AESNI && !mpc_sym_have_aesni())) return NULL;
    mpc_cot_recv *r = calloc(1, sizeof *r);
    if (!r || !(r->s = s_secret_new()) || !(r->leaf = s_leaf_keys(kind, k, leaves))) {
        mpc_cot_recv_destroy(&r);
        return NULL;
    }
    r->kind = kind;
    r->k = k;
    r->tweak_hi = tweak_hi;
    return r;
}

mpc_cot_send *mpc_sso_send_new(mpc_sym_kind kind, uint32_t k, const uint8_t delta[16],
                               const uint8_t *leaves, uint64_t tweak_hi)
{
    if (!delta || !leaves || !s_k_ok(k) || (kind == MPC_SYM_AESNI && !mpc_sym_have_aesni()))
        return NULL;
    mpc_cot_send *s = calloc(1, sizeof *s);
    if (!s || !(s->s = s_secret_new()) || !(s->leaf = s_leaf_keys(kind, k, leaves))) {
        mpc_cot_send_destroy(&s);
        return NULL;
    }
    s->kind = kind;
    s->k = k;
    s->tweak_hi = tweak_hi;
    memcpy(s->s->delta, delta, 16);
    return s;
}

/* GGM tree (Goldreich–Goldwasser–Micali) for the all-but-one OT of SoftSpokenOT.  Node p at
 * level d (p < 2^d, bit j of p = the branch taken at level j) has children p (branch 0) and
 * p + 2^d (branch 1) at level d + 1: ChaCha20(node) split in two 32-byte halves. */
static void s_ggm_children(uint8_t out[64], const uint8_t node[32])
{
    static const unsigned char nonce[crypto_stream_chacha20_NONCEBYTES] = {'g', 'g', 'm', 0};
    crypto_stream_chacha20(out, 64, nonce, node);
}

/* Level d's nodes (2^d of them) → level d + 1's, in place in `nodes` (2^(d+1) × 32 bytes);
 * sums[b] = XOR of the children on branch b.  skip: a node index to leave out (its children
 * stay zero), or ≥ 2^d for none. */
static void s_ggm_level(uint8_t *nodes, uint32_t d, uint32_t skip, uint8_t sums[2][32])
{
    uint32_t w = 1u << d;
    uint8_t ch[64];
    memset(sums, 0, 64);
    for (uint32_t p = w; p-- > 0;) {
        if (p == skip) {
            memset(nodes + 32 * p, 0, 32);
            memset(nodes + 32 * (p + w), 0, 32);
            continue;
        }
        s_ggm_children(ch, nodes + 32 * p);
        memcpy(nodes + 32 * p, ch, 32);
        memcpy(nodes + 32 * (p + w), ch + 32, 32);
        for (int i = 0; i < 32; i++) {
            sums[0][i] ^= ch[i];
            sums[1][i] ^= ch[32 + i];
        }
    }
    sodium_memzero(ch, sizeof ch);
}

int mpc_ggm_expand(uint32_t k, const uint8_t root[32], uint8_t *leaves, uint8_t *sums)
{
    if (k == 0 || k > 8 || !root || !leaves || !sums) return MPC_ERR_INVALID;
    memcpy(leaves, root, 32);
    for (uint32_t d = 0; d < k; d++)
        s_ggm_level(leaves, d, UINT32_MAX, (uint8_t (*)[32])(sums + 64 * d));
    return 0;
}

int mpc_ggm_puncture(uint32_t k, uint32_t alpha, const uint8_t *sums, uint8_t *leaves)
{
    if (k == 0 || k > 8 || alpha >> k || !sums || !leaves) return MPC_ERR_INVALID;
    uint8_t own[2][32];
    uint32_t path = 0;                    /* the unknown node of the current level */
    memset(leaves, 0, 32);
    for (uint32_t d = 0; d < k; d++) {
        uint32_t a = (alpha >> d) & 1, w = 1u << d;
        /* expand every known node; the sum of branch ¬a from the sender gives the
         * path node's ¬a child */
        s_ggm_level(leaves, d, path, own);
        uint8_t *sib = leaves + 32 * (path + (a ? 0 : w));
        for (int i = 0; i < 32; i++) sib[i] = (uint8_t)(sums[32 * d + i] ^ own[!a][i]);
        path += a ? w : 0;
        memset(leaves + 32 * path, 0, 32);
    }
    sodium_memzero(own, sizeof own);
    return 0;
}

/* u = t ⊕ g ⊕ x over nb 16-byte blocks (the buffers may be unaligned). */
static inline void s_xor3(uint8_t *u, const uint8_t *t, const uint8_t *g, const uint8_t *x,
                          unsigned nb)
{
#if defined(__SSE2__)
    for (unsigned k = 0; k < nb; k++) {
        __m128i a = _mm_loadu_si128((const __m128i *)(t + 16 * k));
        __m128i b = _mm_loadu_si128((const __m128i *)(g + 16 * k));
        __m128i c = _mm_loadu_si128((const __m128i *)(x + 16 * k));
        _mm_storeu_si128((__m128i *)(u + 16 * k), _mm_xor_si128(a, _mm_xor_si128(b, c)));
    }
#else
    for (unsigned k = 0; k < 2 * nb; k++) {
        uint64_t a, b, c;
        memcpy(&a, t + 8 * k, 8);
        memcpy(&b, g + 8 * k, 8);
        memcpy(&c, x + 8 * k, 8);
        a ^= b ^ c;
        memcpy(u + 8 * k, &a, 8);
    }
#endif
}

/* q ^= u & mask over nb 16-byte blocks, mask all-zero or all-one (no branch on Δ). */
static inline void s_xor_masked(uint8_t *q, const uint8_t *u, uint64_t mask, unsigned nb)
{
#if defined(__SSE2__)
    __m128i m = _mm_set1_epi64x((long long)mask);
    for (unsigned k = 0; k < nb; k++) {
        __m128i a = _mm_loadu_si128((const __m128i *)(q + 16 * k));
        __m128i b = _mm_loadu_si128((const __m128i *)(u + 16 * k));
        _mm_storeu_si128((__m128i *)(q + 16 * k), _mm_xor_si128(a, _mm_and_si128(b, m)));
    }
#else
    for (unsigned k = 0; k < 2 * nb; k++) {
        uint64_t a, b;
        memcpy(&a, q + 8 * k, 8);
        memcpy(&b, u + 8 * k, 8);
        a ^= b & mask;
        memcpy(q + 8 * k, &a, 8);
    }
#endif
}

/* The choice bits x of 128-OT block `blk` (16 bytes), zero beyond bit m. */
static void s_choice_block(uint8_t x[16], const uint8_t *choices, uint64_t m, uint64_t blk)
{
    uint64_t first = blk * 128;
    if (first + 128 <= m) {
        memcpy(x, choices + first / 8, 16);
        return;
    }
    memset(x, 0, 16);
    uint64_t bits = m - first, bytes = (bits + 7) / 8;
    memcpy(x, choices + first / 8, (size_t)bytes);
    if (bits % 8) x[bytes - 1] &= (uint8_t)((1u << (bits % 8)) - 1);
}

/* The work spaces of parts 0 .. n−1 (allocated on first use). */
static int s_works(s_work **w, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (!w[i] && !(w[i] = sodium_malloc(sizeof(s_work)))) return MPC_ERR_NOMEM;
    return 0;
}

static void s_prof_add(mpc_cot_prof *to, const mpc_cot_prof *p)
{
    to->prg_ns += p->prg_ns;
    to->transpose_ns += p->transpose_ns;
    to->hash_ns += p->hash_ns;
}

/* Receiver, superblock sb of a batch of m OTs starting at OT index pos. */
static void s_recv_sb(const mpc_cot_recv *r, s_work *s, uint64_t pos, const uint8_t *choices,
                      uint64_t m, uint64_t sb, uint8_t *ub, uint64_t *h, uint8_t *t_rows,
                      mpc_cot_prof *prof)
{
    const s_secret *ks = r->s;
    uint64_t nblk = (m + 127) / 128;
    uint8_t x[S_SBLK][16];
    uint64_t b0 = sb * S_SBLK;
    unsigned nb = (unsigned)(nblk - b0 < S_SBLK ? nblk - b0 : S_SBLK);
    uint64_t prg0 = (pos / 128) + b0;          /* PRG block of this superblock */
    uint64_t t0 = mpc_now_ns();
    for (unsigned b = 0; b < nb; b++) s_choice_block(x[b], choices, m, b0 + b);
    if (r->k == 1) {
        /* all 128 columns of each key set in one call (two keys per VAES instruction); gall
         * (SoftSpokenOT's leaves) holds G(k1_i) here */
        uint8_t *uo = ub + b0 * 128 * 16;       /* this superblock's u: [col][block] */
        mpc_sym_prg_multi(r->kind, ks->key[0], MPC_OT_KAPPA, prg0, s->col, nb);
        mpc_sym_prg_multi(r->kind, ks->key[1], MPC_OT_KAPPA, prg0, s->gall, nb);
        for (unsigned i = 0; i < MPC_OT_KAPPA; i++) {
            size_t off = (size_t)i * nb * 16;
            s_xor3(uo + off, s->col + off, s->gall + off, &x[0][0], nb);
        }
    } else {
        /* block l: u_l = ⊕_y G(s_y), column lk + i: v = ⊕_{y: bit i of y} G(s_y);
         * send c_l = u_l ⊕ x (Roy §5: the repetition code makes every block agree) */
        uint32_t k = r->k, nl = MPC_OT_KAPPA / k;
        uint8_t *co = ub + b0 * nl * 16;        /* this superblock's c: [block l][nb] */
        memset(s->col, 0, (size_t)MPC_OT_KAPPA * nb * 16);
        for (uint32_t l = 0; l < nl; l++) {
            memcpy(s->acc, &x[0][0], (size_t)nb * 16);
            mpc_sym_prg_multi(r->kind, &r->leaf[(size_t)l << k], (size_t)1 << k, prg0, s->gall, nb);
            for (uint32_t y = 0; y < (1u << k); y++) {
                const uint8_t *g = s->gall + (size_t)y * nb * 16;
                s_xor_masked(s->acc, g, UINT64_MAX, nb);
                for (uint32_t i = 0; i < k; i++)
                    if ((y >> i) & 1)
                        s_xor_masked(s->col + (size_t)(l * k + i) * nb * 16, g, UINT64_MAX, nb);
            }
            memcpy(co + (size_t)l * nb * 16, s->acc, (size_t)nb * 16);
        }
    }
    uint64_t t1 = mpc_now_ns();
    prof->prg_ns += t1 - t0;
    /* rows of the whole superblock, then one hash call over them; straight into t_rows
     * when the superblock is whole there */
    uint64_t j0 = b0 * 128, cnt = m - j0 < (uint64_t)nb * 128 ? m - j0 : (uint64_t)nb * 128;
    uint8_t *rows = (t_rows && cnt == (uint64_t)nb * 128) ? t_rows + 16 * j0 : s->rows;
    for (unsigned b = 0; b < nb; b++)
        mpc_transpose128(rows + (size_t)b * 2048, s->col + (size_t)b * 16, (uint64_t)nb * 16);
    uint64_t tb = mpc_now_ns();
    if (h) mpc_tccr(r->kind, h + j0, rows, NULL, r->tweak_hi, pos + j0, (size_t)cnt);
    if (t_rows && rows == s->rows) memcpy(t_rows + 16 * j0, s->rows, (size_t)cnt * 16);
    uint64_t tc = mpc_now_ns();
    prof->transpose_ns += tb - t1;
    prof->hash_ns += tc - tb;
    sodium_memzero(x, sizeof x);
}

/* Sender, superblock sb of a batch of m OTs starting at OT index pos. */
static void s_send_sb(const mpc_cot_send *sd, s_work *s, uint64_t pos, const uint8_t *ub,
                      uint64_t m, uint64_t sb, uint64_t *h0, uint64_t *h1, uint8_t *q_rows,
                      mpc_cot_prof *prof)
{
    const s_secret *ks = sd->s;
    uint64_t nblk = (m + 127) / 128;
    uint64_t b0 = sb * S_SBLK;
    unsigned nb = (unsigned)(nblk - b0 < S_SBLK ? nblk - b0 : S_SBLK);
    uint64_t prg0 = (pos / 128) + b0;
    uint64_t t0 = mpc_now_ns();
    if (sd->k == 1) {
        const uint8_t *uo = ub + b0 * 128 * 16;
        mpc_sym_prg_multi(sd->kind, ks->key[0], MPC_OT_KAPPA, prg0, s->col, nb);
        for (unsigned i = 0; i < MPC_OT_KAPPA; i++) {
            uint8_t *q = s->col + (size_t)i * nb * 16;
            uint64_t mask = 0 - (uint64_t)((ks->delta[i / 8] >> (i % 8)) & 1u);
            s_xor_masked(q, uo + (size_t)i * nb * 16, mask, nb);
        }
    } else {
        /* column lk + i: w = ⊕_y (y_i ⊕ Δ_{l,i}) G(s_y) ⊕ Δ_{l,i} c_l = v ⊕ Δ_{l,i} x.
         * The punctured leaf y = Δ_l (a dummy key here) gets coefficient 0 in every
         * column, so all leaves run the same code whatever Δ is. */
        uint32_t k = sd->k, nl = MPC_OT_KAPPA / k;
        const uint8_t *co = ub + b0 * nl * 16;
        memset(s->col, 0, (size_t)MPC_OT_KAPPA * nb * 16);
        for (uint32_t l = 0; l < nl; l++) {
            uint32_t dl = 0;
            for (uint32_t i = 0; i < k; i++) {
                uint32_t c = l * k + i;
                dl |= (uint32_t)((ks->delta[c / 8] >> (c % 8)) & 1u) << i;
            }
            mpc_sym_prg_multi(sd->kind, &sd->leaf[(size_t)l << k], (size_t)1 << k, prg0, s->gall, nb);
            for (uint32_t y = 0; y < (1u << k); y++) {
                const uint8_t *g = s->gall + (size_t)y * nb * 16;
                for (uint32_t i = 0; i < k; i++) {
                    uint64_t mask = 0 - (uint64_t)(((y ^ dl) >> i) & 1u);
                    s_xor_masked(s->col + (size_t)(l * k + i) * nb * 16, g, mask, nb);
                }
            }
            for (uint32_t i = 0; i < k; i++) {
                uint64_t mask = 0 - (uint64_t)((dl >> i) & 1u);
                s_xor_masked(s->col + (size_t)(l * k + i) * nb * 16, co + (size_t)l * nb * 16,
                             mask, nb);
            }
            dl = 0;
        }
    }
    uint64_t t1 = mpc_now_ns();
    prof->prg_ns += t1 - t0;
    uint64_t j0 = b0 * 128, cnt = m - j0 < (uint64_t)nb * 128 ? m - j0 : (uint64_t)nb * 128;
    uint8_t *rows = (q_rows && cnt == (uint64_t)nb * 128) ? q_rows + 16 * j0 : s->rows;
    for (unsigned b = 0; b < nb; b++)
        mpc_transpose128(rows + (size_t)b * 2048, s->col + (size_t)b * 16, (uint64_t)nb * 16);
    uint64_t tb = mpc_now_ns();
    if (h0) {
        mpc_tccr(sd->kind, h0 + j0, rows, NULL, sd->tweak_hi, pos + j0, (size_t)cnt);
        mpc_tccr(sd->kind, h1 + j0, rows, ks->delta, sd->tweak_hi, pos + j0, (size_t)cnt);
    }
    if (q_rows && rows == s->rows) memcpy(q_rows + 16 * j0, s->rows, (size_t)cnt * 16);
    uint64_t tc = mpc_now_ns();
    prof->transpose_ns += tb - t1;
    prof->hash_ns += tc - tb;
}

/* One batch split among the parts of a pool: part i takes a contiguous range of superblocks
 * with its own work space; the positions and tweaks are those of the one-thread run. */
typedef struct {
    mpc_cot_recv       *r;
    mpc_cot_send       *sd;
    uint64_t            pos, m;
    const uint8_t      *choices;
    const uint8_t      *uin;
    uint8_t            *uout;
    uint64_t           *h, *h1;
    uint8_t            *rows;
    mpc_cot_prof        prof[MPC_PAR_MAX];
} s_job;

static void s_part(void *ctx, uint32_t part, uint32_t nparts)
{
    s_job *j = ctx;
    uint64_t nsb = ((j->m + 127) / 128 + S_SBLK - 1) / S_SBLK, lo, hi;
    mpc_par_range(nsb, 1, part, nparts, &lo, &hi);
    for (uint64_t sb = lo; sb < hi; sb++) {
        if (j->r)
            s_recv_sb(j->r, j->r->w[part], j->pos, j->choices, j->m, sb, j->uout, j->h, j->rows,
                      &j->prof[part]);
        else
            s_send_sb(j->sd, j->sd->w[part], j->pos, j->uin, j->m, sb, j->h, j->h1, j->rows,
                      &j->prof[part]);
    }
    s_stack_wipe();
}

int mpc_cot_recv_extend_par(mpc_cot_recv *r, mpc_par *par, const uint8_t *choices, uint64_t m,
                            uint64_t *u, uint64_t *h, uint8_t *t_rows)
{
    if (!r || m == 0 || m > MPC_OT_MAX_M || !choices || !u || (!h && !t_rows)) return MPC_ERR_INVALID;
    uint32_t np = mpc_par_threads(par);
    if (s_works(r->w, np)) return MPC_ERR_NOMEM;
    s_job j = {.r = r, .pos = r->pos, .m = m, .choices = choices, .uout = (uint8_t *)u, .h = h,
               .rows = t_rows};
    mpc_par_run(par, s_part, &j);
    for (uint32_t i = 0; i < np; i++) s_prof_add(&r->prof, &j.prof[i]);
    r->pos += ((m + 127) / 128 + S_SBLK - 1) / S_SBLK * MPC_OT_SUPER;
    r->prof.ots += m;
    return 0;
}

int mpc_cot_recv_extend(mpc_cot_recv *r, const uint8_t *choices, uint64_t m, uint64_t *u,
                        uint64_t *h, uint8_t *t_rows)
{
    return mpc_cot_recv_extend_par(r, NULL, choices, m, u, h, t_rows);
}

int mpc_cot_send_extend_par(mpc_cot_send *sd, mpc_par *par, const uint64_t *u, uint64_t m,
                            uint64_t *h0, uint64_t *h1, uint8_t *q_rows)
{
    if (!sd || m == 0 || m > MPC_OT_MAX_M || !u || !h0 != !h1 || (!h0 && !q_rows)) return MPC_ERR_INVALID;
    uint32_t np = mpc_par_threads(par);
    if (s_works(sd->w, np)) return MPC_ERR_NOMEM;
    s_job j = {.sd = sd, .pos = sd->pos, .m = m, .uin = (const uint8_t *)u, .h = h0, .h1 = h1,
               .rows = q_rows};
    mpc_par_run(par, s_part, &j);
    for (uint32_t i = 0; i < np; i++) s_prof_add(&sd->prof, &j.prof[i]);
    sd->pos += ((m + 127) / 128 + S_SBLK - 1) / S_SBLK * MPC_OT_SUPER;
    sd->prof.ots += m;
    return 0;
}

int mpc_cot_send_extend(mpc_cot_send *sd, const uint64_t *u, uint64_t m, uint64_t *h0,
                        uint64_t *h1, uint8_t *q_rows)
{
    return mpc_cot_send_extend_par(sd, NULL, u, m, h0, h1, q_rows);
}

void mpc_cot_recv_prof(const mpc_cot_recv *r, mpc_cot_prof *p)
{
    *p = r->prof;
}

void mpc_cot_send_prof(const mpc_cot_send *s, mpc_cot_prof *p)
{
    *p = s->prof;
}

uint64_t mpc_cot_recv_pos(const mpc_cot_recv *r)
{
    return r->pos;
}

uint64_t mpc_cot_send_pos(const mpc_cot_send *s)
{
    return s->pos;
}
