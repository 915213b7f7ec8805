/* aeshash.c — TCCR hash and column PRG (aeshash.h): AES-NI through target attributes with a
 * CPUID check at run time, so the build needs no -maes; BLAKE2b / ChaCha20 otherwise. */
#include "aeshash.h"

#include <pthread.h>
#include <sodium.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#define S_X86 1
#include <immintrin.h>
#define S_AES __attribute__((target("aes,sse4.1")))
#endif

/* The fixed, public AES key of π (hex digits of pi; any public constant would do, GKWY
 * model π as a random permutation). */
static const uint8_t s_fixed_key[16] = {
    0x24, 0x3f, 0x6a, 0x88, 0x85, 0xa3, 0x08, 0xd3, 0x13, 0x19, 0x8a, 0x2e, 0x03, 0x70, 0x73, 0x44,
};

#ifdef S_X86
#include <cpuid.h>

static int s_cpu_aes, s_cpu_vaes;
static pthread_once_t s_cpu_once = PTHREAD_ONCE_INIT;

/* CPUID directly (gcc and clang alike: clang 14's __builtin_cpu_supports knows no "vaes"):
 * AES = leaf 1 ECX bit 25, SSE4.1 = leaf 1 ECX bit 19, AVX2 = leaf 7 EBX bit 5, VAES = leaf 7
 * ECX bit 9; the 256-bit registers also need the OS to save them (OSXSAVE, XCR0 bits 1-2). */
static void s_cpu_detect(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return;
    s_cpu_aes = (c >> 25 & 1) && (c >> 19 & 1);
    int osxsave = c >> 27 & 1;
    if (!s_cpu_aes || !osxsave || !__get_cpuid_count(7, 0, &a, &b, &c, &d)) return;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    int ymm = (lo & 6) == 6;
    s_cpu_vaes = ymm && (b >> 5 & 1) && (c >> 9 & 1);
}
#endif

int mpc_sym_have_aesni(void)
{
#ifdef S_X86
    pthread_once(&s_cpu_once, s_cpu_detect);
    return s_cpu_aes;
#else
    return 0;
#endif
}

mpc_sym_kind mpc_sym_best(void)
{
    return mpc_sym_have_aesni() ? MPC_SYM_AESNI : MPC_SYM_PORTABLE;
}

const char *mpc_sym_name(mpc_sym_kind k)
{
    return k == MPC_SYM_AESNI ? "aes-ni" : "blake2b";
}

#ifdef S_X86
#define S_EXP(rk, i, rcon)                                                         \
    do {                                                                           \
        __m128i k_ = rk[(i) - 1];                                                  \
        __m128i g_ = _mm_shuffle_epi32(_mm_aeskeygenassist_si128(k_, rcon), 0xff); \
        k_ = _mm_xor_si128(k_, _mm_slli_si128(k_, 4));                             \
        k_ = _mm_xor_si128(k_, _mm_slli_si128(k_, 4));                             \
        k_ = _mm_xor_si128(k_, _mm_slli_si128(k_, 4));                             \
        rk[i] = _mm_xor_si128(k_, g_);                                             \
    } while (0)

S_AES static void s_aes_expand(uint8_t out[176], const uint8_t key[16])
{
    __m128i rk[11];
    rk[0] = _mm_loadu_si128((const __m128i *)key);
    S_EXP(rk, 1, 0x01);
    S_EXP(rk, 2, 0x02);
    S_EXP(rk, 3, 0x04);
    S_EXP(rk, 4, 0x08);
    S_EXP(rk, 5, 0x10);
    S_EXP(rk, 6, 0x20);
    S_EXP(rk, 7, 0x40);
    S_EXP(rk, 8, 0x80);
    S_EXP(rk, 9, 0x1b);
    S_EXP(rk, 10, 0x36);
    for (int i = 0; i < 11; i++) _mm_storeu_si128((__m128i *)(out + 16 * i), rk[i]);
    sodium_memzero(rk, sizeof rk);
}

/* Encrypts 8 blocks in place under round keys rk: independent blocks keep the AES units
 * busy.  Fully unrolled so that the blocks stay in registers. */
S_AES static inline __attribute__((always_inline)) void s_enc8(__m128i v[8], const __m128i rk[11])
{
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++) v[j] = _mm_xor_si128(v[j], rk[0]);
#pragma GCC unroll 9
    for (int r = 1; r < 10; r++) {
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++) v[j] = _mm_aesenc_si128(v[j], rk[r]);
    }
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++) v[j] = _mm_aesenclast_si128(v[j], rk[10]);
}

S_AES static inline __attribute__((always_inline)) __m128i s_enc1(__m128i v, const __m128i rk[11])
{
    v = _mm_xor_si128(v, rk[0]);
#pragma GCC unroll 9
    for (int r = 1; r < 10; r++) v = _mm_aesenc_si128(v, rk[r]);
    return _mm_aesenclast_si128(v, rk[10]);
}

static uint8_t s_fixed_rk[176];
static pthread_once_t s_fixed_once = PTHREAD_ONCE_INIT;

S_AES static void s_fixed_expand(void)
{
    s_aes_expand(s_fixed_rk, s_fixed_key);
}

static void s_fixed_init(void)
{
    pthread_once(&s_fixed_once, s_fixed_expand);
}

S_AES static void s_aes_ctr(const uint8_t *rkb, uint64_t blk0, uint8_t *out, size_t nblk)
{
    __m128i rk[11];
    for (int i = 0; i < 11; i++) rk[i] = _mm_loadu_si128((const __m128i *)(rkb + 16 * i));
    size_t done = 0;
    for (; done + 8 <= nblk; done += 8) {
        __m128i v[8];
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++) v[j] = _mm_set_epi64x(0, (long long)(blk0 + done + (size_t)j));
        s_enc8(v, rk);
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++) _mm_storeu_si128((__m128i *)(out + 16 * (done + (size_t)j)), v[j]);
    }
    for (; done < nblk; done++)
        _mm_storeu_si128((__m128i *)(out + 16 * done),
                         s_enc1(_mm_set_epi64x(0, (long long)(blk0 + done)), rk));
}

S_AES static void s_tccr_aes(uint64_t *out, const uint8_t *in, const uint8_t *xor16,
                             uint64_t tweak_hi, uint64_t idx0, size_t n)
{
    __m128i rk[11];
    s_fixed_init();
    for (int i = 0; i < 11; i++) rk[i] = _mm_loadu_si128((const __m128i *)(s_fixed_rk + 16 * i));
    __m128i x = xor16 ? _mm_loadu_si128((const __m128i *)xor16) : _mm_setzero_si128();
    size_t done = 0;
    for (; done + 8 <= n; done += 8) {
        __m128i y[8], z[8];
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++)
            y[j] = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(in + 16 * (done + (size_t)j))), x);
        s_enc8(y, rk);
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++)
            z[j] = _mm_xor_si128(y[j], _mm_set_epi64x((long long)tweak_hi,
                                                      (long long)(idx0 + done + (size_t)j)));
        s_enc8(z, rk);
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++)
            out[done + (size_t)j] = (uint64_t)_mm_cvtsi128_si64(_mm_xor_si128(z[j], y[j]));
    }
    for (; done < n; done++) {
        __m128i y = s_enc1(_mm_xor_si128(_mm_loadu_si128((const __m128i *)(in + 16 * done)), x), rk);
        __m128i z = s_enc1(_mm_xor_si128(y, _mm_set_epi64x((long long)tweak_hi,
                                                            (long long)(idx0 + done))), rk);
        out[done] = (uint64_t)_mm_cvtsi128_si64(_mm_xor_si128(z, y));
    }
}

/* The same with VAES (256-bit AES instructions, two blocks per instruction), 16 blocks per
 * iteration in 8 independent registers; identical results. */
#define S_VAES __attribute__((target("vaes,avx2,aes,sse4.1")))

S_VAES static inline __attribute__((always_inline)) void s_enc8x2(__m256i v[8], const __m256i rk[11])
{
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++) v[j] = _mm256_xor_si256(v[j], rk[0]);
#pragma GCC unroll 9
    for (int r = 1; r < 10; r++) {
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++) v[j] = _mm256_aesenc_epi128(v[j], rk[r]);
    }
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++) v[j] = _mm256_aesenclast_epi128(v[j], rk[10]);
}

S_VAES static void s_tccr_vaes(uint64_t *out, const uint8_t *in, const uint8_t *xor16,
                               uint64_t tweak_hi, uint64_t idx0, size_t n)
{
    __m256i rk[11];
    s_fixed_init();
    for (int i = 0; i < 11; i++)
        rk[i] = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(s_fixed_rk + 16 * i)));
    __m128i x1 = xor16 ? _mm_loadu_si128((const __m128i *)xor16) : _mm_setzero_si128();
    __m256i x = _mm256_broadcastsi128_si256(x1);
    size_t done = 0;
    for (; done + 16 <= n; done += 16) {
        __m256i y[8], z[8];
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++)
            y[j] = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(in + 16 * (done + 2 * (size_t)j))), x);
        s_enc8x2(y, rk);
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++) {
            long long i0 = (long long)(idx0 + done + 2 * (size_t)j);
            z[j] = _mm256_xor_si256(y[j], _mm256_set_epi64x((long long)tweak_hi, i0 + 1,
                                                            (long long)tweak_hi, i0));
        }
        s_enc8x2(z, rk);
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++) {
            __m256i o = _mm256_xor_si256(z[j], y[j]);
            out[done + 2 * (size_t)j] = (uint64_t)_mm256_extract_epi64(o, 0);
            out[done + 2 * (size_t)j + 1] = (uint64_t)_mm256_extract_epi64(o, 2);
        }
    }
    if (done < n) s_tccr_aes(out + done, in + 16 * done, xor16, tweak_hi, idx0 + done, n - done);
}

/* Two keys at once: lane 0 runs key A, lane 1 key B (VAES takes a round key per lane), the
 * same counters; 8 blocks per key in 8 registers. */
S_VAES static void s_aes_ctr_pair_vaes(const uint8_t *rka, const uint8_t *rkb, uint64_t blk0,
                                       uint8_t *outa, uint8_t *outb, size_t nblk)
{
    __m256i rk[11];
    for (int i = 0; i < 11; i++)
        rk[i] = _mm256_set_m128i(_mm_loadu_si128((const __m128i *)(rkb + 16 * i)),
                                 _mm_loadu_si128((const __m128i *)(rka + 16 * i)));
    size_t done = 0;
    for (; done + 8 <= nblk; done += 8) {
        __m256i v[8];
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++) {
            long long c = (long long)(blk0 + done + (size_t)j);
            v[j] = _mm256_set_epi64x(0, c, 0, c);
        }
        s_enc8x2(v, rk);
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++) {
            _mm_storeu_si128((__m128i *)(outa + 16 * (done + (size_t)j)), _mm256_castsi256_si128(v[j]));
            _mm_storeu_si128((__m128i *)(outb + 16 * (done + (size_t)j)), _mm256_extracti128_si256(v[j], 1));
        }
    }
    if (done < nblk) {
        s_aes_ctr(rka, blk0 + done, outa + 16 * done, nblk - done);
        s_aes_ctr(rkb, blk0 + done, outb + 16 * done, nblk - done);
    }
}

static int s_vaes_state = -1;   /* -1: as the CPU allows, 0 off, 1 on (tests) */

static int s_use_vaes(void)
{
    int v = __atomic_load_n(&s_vaes_state, __ATOMIC_RELAXED);
    if (v >= 0) return v;
    pthread_once(&s_cpu_once, s_cpu_detect);
    return s_cpu_vaes;
}

/* mpc_tccr2 with AES-NI: π(x) once per block, then the two tweaked calls; 8 blocks per
 * iteration (24 AES per 8 OTs instead of the 32 of two mpc_tccr128 calls each). */
S_AES static void s_tccr2_aes(uint8_t *outa, uint8_t *outb, const uint8_t *in, const uint8_t *xor16,
                              uint64_t tw_a, uint64_t tw_b, uint64_t idx0, size_t n)
{
    __m128i rk[11];
    s_fixed_init();
    for (int i = 0; i < 11; i++) rk[i] = _mm_loadu_si128((const __m128i *)(s_fixed_rk + 16 * i));
    __m128i x = xor16 ? _mm_loadu_si128((const __m128i *)xor16) : _mm_setzero_si128();
    size_t done = 0;
    for (; done + 8 <= n; done += 8) {
        __m128i y[8], za[8], zb[8];
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++)
            y[j] = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(in + 16 * (done + (size_t)j))), x);
        s_enc8(y, rk);
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++) {
            long long i = (long long)(idx0 + done + (size_t)j);
            za[j] = _mm_xor_si128(y[j], _mm_set_epi64x((long long)tw_a, i));
            zb[j] = _mm_xor_si128(y[j], _mm_set_epi64x((long long)tw_b, i));
        }
        s_enc8(za, rk);
        s_enc8(zb, rk);
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++) {
            _mm_storeu_si128((__m128i *)(outa + 16 * (done + (size_t)j)), _mm_xor_si128(za[j], y[j]));
            _mm_storeu_si128((__m128i *)(outb + 16 * (done + (size_t)j)), _mm_xor_si128(zb[j], y[j]));
        }
    }
    for (; done < n; done++) {
        __m128i y = s_enc1(_mm_xor_si128(_mm_loadu_si128((const __m128i *)(in + 16 * done)), x), rk);
        __m128i za = s_enc1(_mm_xor_si128(y, _mm_set_epi64x((long long)tw_a, (long long)(idx0 + done))), rk);
        __m128i zb = s_enc1(_mm_xor_si128(y, _mm_set_epi64x((long long)tw_b, (long long)(idx0 + done))), rk);
        _mm_storeu_si128((__m128i *)(outa + 16 * done), _mm_xor_si128(za, y));
        _mm_storeu_si128((__m128i *)(outb + 16 * done), _mm_xor_si128(zb, y));
    }
}

/* The same with VAES: 8 blocks per iteration in 4 registers of two, 12 registers in flight. */
S_VAES static void s_tccr2_vaes(uint8_t *outa, uint8_t *outb, const uint8_t *in, const uint8_t *xor16,
                                uint64_t tw_a, uint64_t tw_b, uint64_t idx0, size_t n)
{
    __m256i rk[11];
    s_fixed_init();
    for (int i = 0; i < 11; i++)
        rk[i] = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(s_fixed_rk + 16 * i)));
    __m256i x = _mm256_broadcastsi128_si256(xor16 ? _mm_loadu_si128((const __m128i *)xor16) : _mm_setzero_si128());
    size_t done = 0;
    for (; done + 16 <= n; done += 16) {
        __m256i y[8], z[8];
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++)
            y[j] = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(in + 16 * (done + 2 * (size_t)j))), x);
        s_enc8x2(y, rk);
        for (int h = 0; h < 2; h++) {
            long long tw = (long long)(h ? tw_b : tw_a);
            uint8_t *out = h ? outb : outa;
#pragma GCC unroll 8
            for (int j = 0; j < 8; j++) {
                long long i0 = (long long)(idx0 + done + 2 * (size_t)j);
                z[j] = _mm256_xor_si256(y[j], _mm256_set_epi64x(tw, i0 + 1, tw, i0));
            }
            s_enc8x2(z, rk);
#pragma GCC unroll 8
            for (int j = 0; j < 8; j++)
                _mm256_storeu_si256((__m256i *)(out + 16 * (done + 2 * (size_t)j)), _mm256_xor_si256(z[j], y[j]));
        }
    }
    if (done < n)
        s_tccr2_aes(outa + 16 * done, outb + 16 * done, in + 16 * done, xor16, tw_a, tw_b, idx0 + done, n - done);
}

S_AES static void s_tccr128_aes(uint8_t out[16], const uint8_t in[16], uint64_t tweak_hi,
                                uint64_t idx)
{
    __m128i rk[11];
    s_fixed_init();
    for (int i = 0; i < 11; i++) rk[i] = _mm_loadu_si128((const __m128i *)(s_fixed_rk + 16 * i));
    __m128i y = s_enc1(_mm_loadu_si128((const __m128i *)in), rk);
    __m128i z = s_enc1(_mm_xor_si128(y, _mm_set_epi64x((long long)tweak_hi, (long long)idx)), rk);
    _mm_storeu_si128((__m128i *)out, _mm_xor_si128(z, y));
}
#endif

int mpc_sym_vaes(int set)
{
#ifdef S_X86
    int was = s_use_vaes();
    if (set >= 0) __atomic_store_n(&s_vaes_state, set && s_cpu_vaes, __ATOMIC_RELAXED);
    return was;
#else
    (void)set;
    return 0;
#endif
}

void mpc_sym_prg_key(mpc_sym_kind kind, mpc_prg_key *k, const uint8_t seed[MPC_OT_SEEDBYTES])
{
    memset(k, 0, sizeof *k);
#ifdef S_X86
    if (kind == MPC_SYM_AESNI) {
        s_aes_expand(k->rk, seed);
        return;
    }
#endif
    (void)kind;
    memcpy(k->key, seed, sizeof k->key);
}

void mpc_sym_prg(mpc_sym_kind kind, const mpc_prg_key *k, uint64_t blk0, uint8_t *out,
                 size_t nblk)
{
#ifdef S_X86
    if (kind == MPC_SYM_AESNI) {
        s_aes_ctr(k->rk, blk0, out, nblk);
        return;
    }
#endif
    static const unsigned char nonce[crypto_stream_chacha20_NONCEBYTES] = {0};
    (void)kind;
    memset(out, 0, nblk * 16);
    crypto_stream_chacha20_xor_ic(out, out, (unsigned long long)nblk * 16, nonce, blk0 / 4, k->key);
}

void mpc_sym_prg_multi(mpc_sym_kind kind, const mpc_prg_key *keys, size_t nk, uint64_t blk0,
                       uint8_t *out, size_t nblk)
{
    size_t i = 0;
#ifdef S_X86
    if (kind == MPC_SYM_AESNI && s_use_vaes())
        for (; i + 2 <= nk; i += 2)
            s_aes_ctr_pair_vaes(keys[i].rk, keys[i + 1].rk, blk0, out + 16 * nblk * i,
                                out + 16 * nblk * (i + 1), nblk);
#endif
    for (; i < nk; i++) mpc_sym_prg(kind, &keys[i], blk0, out + 16 * nblk * i, nblk);
}

static void s_tccr_blake(uint8_t out16[16], const uint8_t in[16], const uint8_t *xor16,
                         uint64_t tweak_hi, uint64_t idx)
{
    uint8_t m[32];
    for (int i = 0; i < 8; i++) {
        m[i] = (uint8_t)(idx >> (8 * i));
        m[8 + i] = (uint8_t)(tweak_hi >> (8 * i));
    }
    for (int i = 0; i < 16; i++) m[16 + i] = (uint8_t)(in[i] ^ (xor16 ? xor16[i] : 0));
    crypto_generichash(out16, 16, m, sizeof m, NULL, 0);
    sodium_memzero(m, sizeof m);
}

void mpc_tccr(mpc_sym_kind kind, uint64_t *out, const uint8_t *in, const uint8_t *xor16,
              uint64_t tweak_hi, uint64_t idx0, size_t n)
{
#ifdef S_X86
    if (kind == MPC_SYM_AESNI) {
        if (s_use_vaes()) s_tccr_vaes(out, in, xor16, tweak_hi, idx0, n);
        else s_tccr_aes(out, in, xor16, tweak_hi, idx0, n);
        return;
    }
#endif
    (void)kind;
    uint8_t h[16];
    for (size_t j = 0; j < n; j++) {
        s_tccr_blake(h, in + 16 * j, xor16, tweak_hi, idx0 + j);
        uint64_t v = 0;
        for (int i = 7; i >= 0; i--) v = (v << 8) | h[i];
        out[j] = v;
    }
    sodium_memzero(h, sizeof h);
}

void mpc_tccr2(mpc_sym_kind kind, uint8_t *outa, uint8_t *outb, const uint8_t *in, const uint8_t *xor16,
               uint64_t tw_a, uint64_t tw_b, uint64_t idx0, size_t n)
{
#ifdef S_X86
    if (kind == MPC_SYM_AESNI) {
        if (s_use_vaes()) s_tccr2_vaes(outa, outb, in, xor16, tw_a, tw_b, idx0, n);
        else s_tccr2_aes(outa, outb, in, xor16, tw_a, tw_b, idx0, n);
        return;
    }
#endif
    (void)kind;
    for (size_t j = 0; j < n; j++) {
        s_tccr_blake(outa + 16 * j, in + 16 * j, xor16, tw_a, idx0 + j);
        s_tccr_blake(outb + 16 * j, in + 16 * j, xor16, tw_b, idx0 + j);
    }
}

void mpc_tccr128(mpc_sym_kind kind, uint8_t out[16], const uint8_t in[16], uint64_t tweak_hi,
                 uint64_t idx)
{
#ifdef S_X86
    if (kind == MPC_SYM_AESNI) {
        s_tccr128_aes(out, in, tweak_hi, idx);
        return;
    }
#endif
    (void)kind;
    s_tccr_blake(out, in, NULL, tweak_hi, idx);
}
