/* gilboa.c — product sharing from correlated OTs, with bit-packed corrections (gilboa.h). */
#include "gilboa.h"

#include <string.h>

static inline uint64_t s_mask(unsigned w)
{
    return w >= 64 ? UINT64_MAX : (1ull << w) - 1;
}

/* A little-endian bit stream of words. */
typedef struct {
    uint64_t *out;
    uint64_t  cur;
    unsigned  fill;
} s_writer;

static inline void s_put(s_writer *wr, uint64_t v, unsigned w)
{
    v &= s_mask(w);
    wr->cur |= v << wr->fill;
    if (wr->fill + w >= 64) {
        *wr->out++ = wr->cur;
        wr->cur = wr->fill ? v >> (64 - wr->fill) : 0;
        wr->fill = wr->fill + w - 64;
    } else {
        wr->fill += w;
    }
}

static inline void s_flush(s_writer *wr)
{
    if (wr->fill) *wr->out++ = wr->cur;
    wr->cur = 0;
    wr->fill = 0;
}

static inline uint64_t s_get(const uint64_t *in, uint64_t *pos, unsigned w)
{
    uint64_t p = *pos, o = p % 64;
    uint64_t v = in[p / 64] >> o;
    if (o + w > 64) v |= in[p / 64 + 1] << (64 - o);
    *pos = p + w;
    return v & s_mask(w);
}

uint64_t mpc_gilboa_corr_words(uint64_t n)
{
    return (n * MPC_GILBOA_BITS + 63) / 64;
}

/* Where τ_k of a product lands (word and shift from the start of its pair of products; two
 * products fill 65 words): bit o + Σ_{i<k} (64 − i), o = 0 or 2080.  Fixed positions make
 * the 64 corrections of a product independent of each other (no running bit cursor). */
typedef struct {
    uint8_t word[64], shift[64];
} s_layout;

static const s_layout *s_layouts(void)
{
    static s_layout L[2];
    static int ready;   /* benign: every thread computes the same bytes */
    if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) {
        s_layout tmp[2];
        for (unsigned h = 0; h < 2; h++) {
            unsigned p = MPC_GILBOA_BITS * h;
            for (unsigned k = 0; k < 64; k++) {
                tmp[h].word[k] = (uint8_t)(p / 64);
                tmp[h].shift[k] = (uint8_t)(p % 64);
                p += 64 - k;
            }
        }
        memcpy(L, tmp, sizeof tmp);
        __atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
    }
    return L;
}

void mpc_gilboa_send(uint64_t *share, uint64_t *corr, const uint64_t *a, const uint64_t *h0,
                     const uint64_t *h1, uint64_t n)
{
    const s_layout *L = s_layouts();
    uint64_t words = mpc_gilboa_corr_words(n);
    memset(corr, 0, (size_t)words * 8);
    for (uint64_t e = 0; e < n; e++) {
        const uint64_t *p0 = h0 + 64 * e, *p1 = h1 + 64 * e;
        const s_layout *l = &L[e & 1];
        uint64_t *base = corr + (e / 2) * 65, ae = a[e], u = 0;
        for (unsigned k = 0; k < 64; k++) {
            u -= p0[k] << k;
            uint64_t t = (p0[k] - p1[k] + ae) & s_mask(64 - k);
            unsigned w = l->word[k], sh = l->shift[k];
            base[w] |= t << sh;
            /* the bits that spill into the next word (none when sh + 64 − k <= 64) */
            uint64_t hi = (t >> 1) >> (63 - sh);
            if (sh + 64 - k > 64) base[w + 1] |= hi;
        }
        share[e] += u;
    }
}

void mpc_gilboa_recv(uint64_t *share, const uint64_t *b, const uint64_t *h, const uint64_t *corr,
                     uint64_t n)
{
    const s_layout *L = s_layouts();
    uint64_t words = mpc_gilboa_corr_words(n);
    for (uint64_t e = 0; e < n; e++) {
        const uint64_t *ph = h + 64 * e;
        const s_layout *l = &L[e & 1];
        const uint64_t *base = corr + (e / 2) * 65;
        uint64_t last = words - (e / 2) * 65;   /* words readable from base */
        uint64_t be = b[e], v = 0;
        for (unsigned k = 0; k < 64; k++) {
            unsigned w = l->word[k], sh = l->shift[k];
            uint64_t t = base[w] >> sh;
            if (sh + 64 - k > 64 && w + 1u < last) t |= (base[w + 1] << 1) << (63 - sh);
            t &= s_mask(64 - k);
            uint64_t m = 0 - ((be >> k) & 1);
            v += (ph[k] + (t & m)) << k;
        }
        share[e] += v;
    }
}

void mpc_gilboa_recv_hashes(uint64_t *share, const uint64_t *h, uint64_t n)
{
    for (uint64_t e = 0; e < n; e++) {
        const uint64_t *ph = h + 64 * e;
        uint64_t v = 0;
        for (unsigned k = 0; k < 64; k++) v += ph[k] << k;
        share[e] += v;
    }
}

void mpc_gilboa_recv_corr(uint64_t *share, const uint64_t *b, const uint64_t *corr, uint64_t n)
{
    const s_layout *L = s_layouts();
    uint64_t words = mpc_gilboa_corr_words(n);
    for (uint64_t e = 0; e < n; e++) {
        const s_layout *l = &L[e & 1];
        const uint64_t *base = corr + (e / 2) * 65;
        uint64_t last = words - (e / 2) * 65;   /* words readable from base */
        uint64_t be = b[e], v = 0;
        for (unsigned k = 0; k < 64; k++) {
            unsigned w = l->word[k], sh = l->shift[k];
            uint64_t t = base[w] >> sh;
            if (sh + 64 - k > 64 && w + 1u < last) t |= (base[w + 1] << 1) << (63 - sh);
            t &= s_mask(64 - k);
            v += (t & (0 - ((be >> k) & 1))) << k;
        }
        share[e] += v;
    }
}

uint64_t mpc_bitmul_corr_words(const uint8_t *width, uint64_t m)
{
    uint64_t bits = 0;
    for (uint64_t j = 0; j < m; j++) bits += width[j];
    return (bits + 63) / 64;
}

void mpc_bitmul_send(uint64_t *share, uint64_t *corr, const uint64_t *y, const uint8_t *width,
                     const uint64_t *h0, const uint64_t *h1, uint64_t m)
{
    s_writer wr = {corr, 0, 0};
    for (uint64_t j = 0; j < m; j++) {
        share[j] = 0 - h0[j];
        s_put(&wr, h0[j] - h1[j] + y[j], width[j]);
    }
    s_flush(&wr);
}

void mpc_bitmul_recv(uint64_t *share, const uint8_t *choices, const uint8_t *width,
                     const uint64_t *h, const uint64_t *corr, uint64_t m)
{
    uint64_t pos = 0;
    for (uint64_t j = 0; j < m; j++) {
        uint64_t tau = s_get(corr, &pos, width[j]);
        uint64_t c = 0 - (uint64_t)((choices[j / 8] >> (j % 8)) & 1);
        share[j] = h[j] + (tau & c);
    }
}
