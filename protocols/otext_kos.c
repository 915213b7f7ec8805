/* otext_kos.c — the KOS15 consistency check of IKNP (otext.h): GF(2^128) random linear
 * combinations of the extension's rows and choice bits under a joint random seed. */
#include "otext.h"

#include <pthread.h>
#include <sodium.h>
#include <string.h>

#include "mpc_err.h"

typedef unsigned __int128 s_u128;

#define S_CHI_BLOCK 1024   /* coefficients drawn per ChaCha20 call (16 KiB) */

/* 64 × 64 → 128 carry-less product, one bit of b at a time under a mask (no branch on b). */
static s_u128 s_clmul64_soft(uint64_t a, uint64_t b)
{
    s_u128 r = 0, aa = a;
    for (unsigned i = 0; i < 64; i++) r ^= (aa << i) & ((s_u128)0 - (s_u128)((b >> i) & 1u));
    return r;
}

/* 128 × 128 → 256 carry-less product: lo, hi. */
static void s_clmul128_soft(s_u128 a, s_u128 b, s_u128 *lo, s_u128 *hi)
{
    uint64_t a0 = (uint64_t)a, a1 = (uint64_t)(a >> 64), b0 = (uint64_t)b, b1 = (uint64_t)(b >> 64);
    s_u128 l = s_clmul64_soft(a0, b0), h = s_clmul64_soft(a1, b1);
    s_u128 m = s_clmul64_soft(a0, b1) ^ s_clmul64_soft(a1, b0);
    *lo = l ^ (m << 64);
    *hi = h ^ (m >> 64);
}

/* (hi, lo) mod x^128 + x^7 + x^2 + x + 1. */
static s_u128 s_reduce(s_u128 lo, s_u128 hi)
{
    /* x^128 ≡ x^7 + x^2 + x + 1: fold hi in, then the ≤ 7 bits that overflowed once more */
    s_u128 f = (hi >> 127) ^ (hi >> 126) ^ (hi >> 121);
    lo ^= hi ^ (hi << 1) ^ (hi << 2) ^ (hi << 7);
    lo ^= f ^ (f << 1) ^ (f << 2) ^ (f << 7);
    return lo;
}

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

static int s_pclmul, s_vpclmul;
static int s_vpclmul_on = 1;   /* mpc_kos_vpclmul (tests) */
static pthread_once_t s_once = PTHREAD_ONCE_INIT;

/* VPCLMULQDQ (two 64 × 64 products per instruction on 256-bit registers) by CPUID as in
 * aeshash.c: leaf 7 ECX bit 10, AVX2 leaf 7 EBX bit 5, and the OS saving the ymm registers. */
static void s_detect(void)
{
    __builtin_cpu_init();
    s_pclmul = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
    unsigned a, b, c, d;
    if (!s_pclmul || !__get_cpuid(1, &a, &b, &c, &d) || !(c >> 27 & 1)) return;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    s_vpclmul = (lo & 6) == 6 && (b >> 5 & 1) && (c >> 10 & 1);
}

/* acc (lo, hi) ^= Σ_j χ_j·r_j over n pairs, unreduced, with PCLMULQDQ. */
__attribute__((target("pclmul,sse4.1"))) static void s_acc_pclmul(s_u128 acc[2], const uint8_t *chi,
                                                                    const uint8_t *rows, uint64_t n)
{
    __m128i lo = _mm_loadu_si128((const __m128i *)&acc[0]), hi = _mm_loadu_si128((const __m128i *)&acc[1]);
    __m128i mid = _mm_setzero_si128();
    for (uint64_t j = 0; j < n; j++) {
        __m128i a = _mm_loadu_si128((const __m128i *)(chi + 16 * j));
        __m128i b = _mm_loadu_si128((const __m128i *)(rows + 16 * j));
        lo = _mm_xor_si128(lo, _mm_clmulepi64_si128(a, b, 0x00));
        hi = _mm_xor_si128(hi, _mm_clmulepi64_si128(a, b, 0x11));
        mid = _mm_xor_si128(mid, _mm_xor_si128(_mm_clmulepi64_si128(a, b, 0x01),
                                               _mm_clmulepi64_si128(a, b, 0x10)));
    }
    lo = _mm_xor_si128(lo, _mm_slli_si128(mid, 8));
    hi = _mm_xor_si128(hi, _mm_srli_si128(mid, 8));
    _mm_storeu_si128((__m128i *)&acc[0], lo);
    _mm_storeu_si128((__m128i *)&acc[1], hi);
}

/* The same, two pairs per VPCLMULQDQ (the same sum: XOR is order-free); an odd last pair by
 * s_acc_pclmul. */
__attribute__((target("vpclmulqdq,avx2,pclmul,sse4.1"))) static void s_acc_vpclmul(s_u128 acc[2], const uint8_t *chi,
                                                                                   const uint8_t *rows, uint64_t n)
{
    __m256i lo = _mm256_setzero_si256(), hi = lo, mid = lo;
    uint64_t j = 0;
    for (; j + 2 <= n; j += 2) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(chi + 16 * j));
        __m256i b = _mm256_loadu_si256((const __m256i *)(rows + 16 * j));
        lo = _mm256_xor_si256(lo, _mm256_clmulepi64_epi128(a, b, 0x00));
        hi = _mm256_xor_si256(hi, _mm256_clmulepi64_epi128(a, b, 0x11));
        mid = _mm256_xor_si256(mid, _mm256_xor_si256(_mm256_clmulepi64_epi128(a, b, 0x01),
                                                     _mm256_clmulepi64_epi128(a, b, 0x10)));
    }
    __m128i l = _mm_xor_si128(_mm256_castsi256_si128(lo), _mm256_extracti128_si256(lo, 1));
    __m128i h = _mm_xor_si128(_mm256_castsi256_si128(hi), _mm256_extracti128_si256(hi, 1));
    __m128i m = _mm_xor_si128(_mm256_castsi256_si128(mid), _mm256_extracti128_si256(mid, 1));
    l = _mm_xor_si128(l, _mm_slli_si128(m, 8));
    h = _mm_xor_si128(h, _mm_srli_si128(m, 8));
    __m128i a0 = _mm_loadu_si128((const __m128i *)&acc[0]), a1 = _mm_loadu_si128((const __m128i *)&acc[1]);
    _mm_storeu_si128((__m128i *)&acc[0], _mm_xor_si128(a0, l));
    _mm_storeu_si128((__m128i *)&acc[1], _mm_xor_si128(a1, h));
    if (j < n) s_acc_pclmul(acc, chi + 16 * j, rows + 16 * j, n - j);
}
#endif

static int s_have_pclmul(void)
{
#if defined(__x86_64__)
    pthread_once(&s_once, s_detect);
    return s_pclmul;
#else
    return 0;
#endif
}

static void s_acc(s_u128 acc[2], const uint8_t *chi, const uint8_t *rows, uint64_t n, int soft)
{
#if defined(__x86_64__)
    if (!soft && s_have_pclmul()) {
        if (s_vpclmul && s_vpclmul_on) s_acc_vpclmul(acc, chi, rows, n);
        else s_acc_pclmul(acc, chi, rows, n);
        return;
    }
#endif
    for (uint64_t j = 0; j < n; j++) {
        s_u128 a, b, lo, hi;
        memcpy(&a, chi + 16 * j, 16);
        memcpy(&b, rows + 16 * j, 16);
        s_clmul128_soft(a, b, &lo, &hi);
        acc[0] ^= lo;
        acc[1] ^= hi;
    }
}

static void s_mul(uint8_t out[16], const uint8_t a[16], const uint8_t b[16], int soft)
{
    s_u128 acc[2] = {0, 0};
    s_acc(acc, a, b, 1, soft);
    s_u128 r = s_reduce(acc[0], acc[1]);
    memcpy(out, &r, 16);
}

int mpc_kos_vpclmul(int set)
{
#if defined(__x86_64__)
    (void)s_have_pclmul();
    if (set == 0 || set == 1) s_vpclmul_on = set;
    return s_vpclmul && s_vpclmul_on;
#else
    (void)set;
    return 0;
#endif
}

void mpc_gf128_mul(uint8_t out[16], const uint8_t a[16], const uint8_t b[16])
{
    s_mul(out, a, b, 0);
}

void mpc_gf128_mul_soft(uint8_t out[16], const uint8_t a[16], const uint8_t b[16])
{
    s_mul(out, a, b, 1);
}

/* χ_{j0} .. χ_{j0+n-1} (n ≤ S_CHI_BLOCK, j0 a multiple of it) under seed: ChaCha20 (the
 * portable kind), or AES-128-CTR under the seed's first 16 bytes (MPC_SYM_AESNI: χ_j is block
 * j of mpc_sym_prg, ≈5× cheaper than ChaCha20 here; docs/security.md, "Authenticated material
 * from OT").  ak: the expanded AES key (AES kind). */
static void s_chi(mpc_sym_kind kind, const mpc_prg_key *ak, uint8_t *chi, const uint8_t seed[32], uint64_t j0,
                  uint64_t n)
{
    static const unsigned char nonce[crypto_stream_chacha20_NONCEBYTES] = {'k', 'o', 's', '1', '5'};
    if (kind == MPC_SYM_AESNI) {
        mpc_sym_prg(kind, ak, j0, chi, n);
        return;
    }
    memset(chi, 0, (size_t)n * 16);
    /* 64-byte ChaCha20 blocks hold four coefficients */
    crypto_stream_chacha20_xor_ic(chi, chi, (unsigned long long)n * 16, nonce, j0 / 4, seed);
}

/* Σ χ_j·rows_j reduced into out, and (when choices is given) x~ = Σ x_j·χ_j into xt. */
static int s_combine(mpc_sym_kind kind, const uint8_t seed[32], const uint8_t *choices, const uint8_t *rows,
                     uint64_t m, s_u128 *out, s_u128 *xt)
{
    if (kind == MPC_SYM_AESNI && !mpc_sym_have_aesni()) return MPC_ERR_INVALID;
    uint8_t *chi = sodium_malloc(S_CHI_BLOCK * 16 + sizeof(mpc_prg_key));
    if (!chi) return MPC_ERR_NOMEM;
    mpc_prg_key *ak = (mpc_prg_key *)(chi + S_CHI_BLOCK * 16);
    if (kind == MPC_SYM_AESNI) mpc_sym_prg_key(kind, ak, seed);
    s_u128 acc[2] = {0, 0}, x = 0;
    for (uint64_t j0 = 0; j0 < m; j0 += S_CHI_BLOCK) {
        uint64_t n = m - j0 < S_CHI_BLOCK ? m - j0 : S_CHI_BLOCK;
        s_chi(kind, ak, chi, seed, j0, n);
        s_acc(acc, chi, rows + 16 * j0, n, 0);
        if (!choices) continue;
        for (uint64_t k = 0; k < n; k++) {
            uint64_t j = j0 + k;
            s_u128 c, mask = (s_u128)0 - (s_u128)((choices[j / 8] >> (j % 8)) & 1u);
            memcpy(&c, chi + 16 * k, 16);
            x ^= c & mask;
        }
    }
    *out = s_reduce(acc[0], acc[1]);
    if (xt) *xt = x;
    sodium_memzero(acc, sizeof acc);
    sodium_memzero(&x, sizeof x);
    sodium_free(chi);   /* wipes χ and the key */
    return 0;
}

int mpc_kos_prove_k(mpc_sym_kind kind, const uint8_t seed[32], const uint8_t *choices, const uint8_t *t_rows,
                    uint64_t m, uint64_t proof[MPC_KOS_WORDS])
{
    if (!seed || !choices || !t_rows || !proof || m == 0) return MPC_ERR_INVALID;
    s_u128 t, x;
    int r = s_combine(kind, seed, choices, t_rows, m, &t, &x);
    if (r) return r;
    memcpy(proof, &x, 16);
    memcpy(proof + 2, &t, 16);
    sodium_memzero(&t, sizeof t);
    sodium_memzero(&x, sizeof x);
    return 0;
}

int mpc_kos_verify_k(mpc_sym_kind kind, const uint8_t seed[32], const uint8_t delta[16], const uint8_t *q_rows,
                     uint64_t m, const uint64_t proof[MPC_KOS_WORDS])
{
    if (!seed || !delta || !q_rows || !proof || m == 0) return MPC_ERR_INVALID;
    s_u128 q, want;
    int r = s_combine(kind, seed, NULL, q_rows, m, &q, NULL);
    if (r) return r;
    uint8_t xd[16];
    mpc_gf128_mul(xd, (const uint8_t *)proof, delta);
    memcpy(&want, xd, 16);
    s_u128 t;
    memcpy(&t, proof + 2, 16);
    want ^= t;
    int ok = sodium_memcmp(&want, &q, 16) == 0;
    sodium_memzero(&q, sizeof q);
    sodium_memzero(&want, sizeof want);
    sodium_memzero(xd, sizeof xd);
    return ok ? 0 : MPC_ERR_CRYPTO;
}

int mpc_kos_prove(const uint8_t seed[32], const uint8_t *choices, const uint8_t *t_rows, uint64_t m,
                  uint64_t proof[MPC_KOS_WORDS])
{
    return mpc_kos_prove_k(MPC_SYM_PORTABLE, seed, choices, t_rows, m, proof);
}

int mpc_kos_verify(const uint8_t seed[32], const uint8_t delta[16], const uint8_t *q_rows, uint64_t m,
                   const uint64_t proof[MPC_KOS_WORDS])
{
    return mpc_kos_verify_k(MPC_SYM_PORTABLE, seed, delta, q_rows, m, proof);
}
