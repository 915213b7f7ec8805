/* share.c — local share arithmetic (share.h).  Each broadcast case is its own loop so the
 * compiler sees simple stride-1 loops it can vectorise. */
#include "share.h"

#include <string.h>

#define S_BINARY(z, x, nx, y, ny, n, OP)                                        \
    do {                                                                       \
        if ((nx) == (n) && (ny) == (n)) {                                      \
            for (uint64_t i = 0; i < (n); i++) (z)[i] = (x)[i] OP (y)[i];      \
        } else if ((nx) == (n)) {                                              \
            const uint64_t y0 = (y)[0];                                        \
            for (uint64_t i = 0; i < (n); i++) (z)[i] = (x)[i] OP y0;          \
        } else if ((ny) == (n)) {                                              \
            const uint64_t x0 = (x)[0];                                        \
            for (uint64_t i = 0; i < (n); i++) (z)[i] = x0 OP (y)[i];          \
        } else {                                                               \
            const uint64_t v = (x)[0] OP (y)[0];                               \
            for (uint64_t i = 0; i < (n); i++) (z)[i] = v;                     \
        }                                                                      \
    } while (0)

void mpc_share_add(uint64_t *z, const uint64_t *x, uint64_t nx, const uint64_t *y, uint64_t ny,
                   uint64_t n)
{
    S_BINARY(z, x, nx, y, ny, n, +);
}

void mpc_share_sub(uint64_t *z, const uint64_t *x, uint64_t nx, const uint64_t *y, uint64_t ny,
                   uint64_t n)
{
    S_BINARY(z, x, nx, y, ny, n, -);
}

void mpc_share_mul_pub(uint64_t *z, const uint64_t *x, uint64_t nx, const uint64_t *k,
                       uint64_t nk, uint64_t n)
{
    S_BINARY(z, x, nx, k, nk, n, *);
}

void mpc_share_neg(uint64_t *z, const uint64_t *x, uint64_t nx, uint64_t n)
{
    if (nx == n) {
        for (uint64_t i = 0; i < n; i++) z[i] = 0 - x[i];
    } else {
        const uint64_t v = 0 - x[0];
        for (uint64_t i = 0; i < n; i++) z[i] = v;
    }
}

void mpc_share_copy(uint64_t *z, const uint64_t *x, uint64_t nx, uint64_t n)
{
    if (nx == n) {
        if (z != x) memmove(z, x, (size_t)n * sizeof *z);
    } else {
        const uint64_t v = x[0];
        for (uint64_t i = 0; i < n; i++) z[i] = v;
    }
}

void mpc_share_add_pub(uint64_t *z, const uint64_t *x, uint64_t nx, const uint64_t *k,
                       uint64_t nk, uint64_t n, int designated)
{
    if (designated)
        S_BINARY(z, x, nx, k, nk, n, +);
    else
        mpc_share_copy(z, x, nx, n);
}

uint64_t mpc_share_sum(const uint64_t *x, uint64_t n)
{
    uint64_t s = 0;
    for (uint64_t i = 0; i < n; i++) s += x[i];
    return s;
}
