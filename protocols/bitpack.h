/* bitpack.h — little-endian bit streams of words for the packed corrections of auth_ot.c:
 * values in Z_2^128 of a given width at a bit position (random access, OR into a zeroed
 * stream) and a sequential writer that stores whole words (no zeroing, no read-modify-write).
 * The writer produces exactly the bits of mpc_bits_put at consecutive positions from a word
 * boundary (check_auth_ot compares the two on random input). */
#ifndef MPC_BITPACK_H
#define MPC_BITPACK_H

#include <stdint.h>

typedef unsigned __int128 mpc_bits_u128;

/* ORs the low `width` (1..128) bits of v in at bit `pos` of w: w must be zero there and have
 * two words of slack beyond the last bit written. */
static inline void mpc_bits_put(uint64_t *w, uint64_t pos, mpc_bits_u128 v, unsigned width)
{
    if (width < 128) v &= ((mpc_bits_u128)1 << width) - 1;
    uint64_t k = pos / 64;
    unsigned off = (unsigned)(pos % 64);
    mpc_bits_u128 lo = v << off;
    w[k] |= (uint64_t)lo;
    w[k + 1] |= (uint64_t)(lo >> 64);
    if (off) w[k + 2] |= (uint64_t)(v >> (128 - off));
}

/* The `width` bits at bit `pos` (reads up to three words from pos / 64). */
static inline mpc_bits_u128 mpc_bits_get(const uint64_t *w, uint64_t pos, unsigned width)
{
    uint64_t k = pos / 64;
    unsigned off = (unsigned)(pos % 64);
    mpc_bits_u128 v = ((mpc_bits_u128)w[k] | ((mpc_bits_u128)w[k + 1] << 64)) >> off;
    if (off) v |= (mpc_bits_u128)w[k + 2] << (128 - off);
    if (width < 128) v &= ((mpc_bits_u128)1 << width) - 1;
    return v;
}

/* The 128 bits from bit `pos` on, with no width mask (reads three words from pos / 64): for a
 * caller that multiplies the value by 2^k, which drops the 128 − k bits that follow in the
 * stream anyway (auth_ot.c, s_win_lo).  Branch-free: (w1 << 1) << (63 − off) is
 * w1 << (64 − off) for off > 0 and 0 for off = 0. */
static inline mpc_bits_u128 mpc_bits_window(const uint64_t *w, uint64_t pos)
{
    const uint64_t *p = w + pos / 64;
    unsigned off = (unsigned)(pos % 64);
    uint64_t lo = (p[0] >> off) | ((p[1] << 1) << (63 - off));
    uint64_t hi = (p[1] >> off) | ((p[2] << 1) << (63 - off));
    return (mpc_bits_u128)lo | ((mpc_bits_u128)hi << 64);
}

/* A writer from a word boundary: out advances by whole words; `fill` (< 64) bits wait in acc. */
typedef struct {
    uint64_t *out;
    uint64_t  acc;
    unsigned  fill;
} mpc_bits_writer;

static inline void mpc_bits_write(mpc_bits_writer *wr, mpc_bits_u128 v, unsigned width)
{
    if (width < 128) v &= ((mpc_bits_u128)1 << width) - 1;
    unsigned f = wr->fill, tot = f + width;
    mpc_bits_u128 lo = (mpc_bits_u128)wr->acc | (v << f);
    if (tot >= 128) {
        wr->out[0] = (uint64_t)lo;
        wr->out[1] = (uint64_t)(lo >> 64);
        wr->out += 2;
        wr->acc = f ? (uint64_t)(v >> (128 - f)) : 0;
        wr->fill = tot - 128;
    } else if (tot >= 64) {
        *wr->out++ = (uint64_t)lo;
        wr->acc = (uint64_t)(lo >> 64);
        wr->fill = tot - 64;
    } else {
        wr->acc = (uint64_t)lo;
        wr->fill = tot;
    }
}

/* Stores the waiting bits (zero-padded to a word), if any. */
static inline void mpc_bits_flush(mpc_bits_writer *wr)
{
    if (wr->fill) *wr->out++ = wr->acc;
    wr->acc = 0;
    wr->fill = 0;
}

#endif
