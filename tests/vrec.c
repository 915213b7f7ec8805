/* vrec.c — honest vector-check records for tests (vrec.h). */
#include "vrec.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vcheck.h"

void mpc_test_vrec_recommit(uint8_t **recs, uint32_t n, uint64_t L, uint32_t p)
{
    uint8_t c[32];
    mpc_vcheck_commit(c, p, L, recs[p] + mpc_vcheck_off_nonce(L), recs[p]);
    for (uint32_t q = 0; q < n; q++) memcpy(recs[q] + mpc_vcheck_off_com(L) + (size_t)p * 32, c, 32);
}

/* z_i = Σ_{l: bit i of w_l} v_l + ρ_i mod 2^64, written plainly (not with mpc_vcheck_combine):
 * the test's own reading of the spec. */
void mpc_test_vrec_rez(uint8_t **recs, uint32_t n, uint64_t L)
{
    uint64_t *w = malloc((size_t)L * 8);
    if (!w) abort();
    mpc_vcheck_bits(w, 0, L, recs[0] + mpc_vcheck_off_seed(L));
    for (unsigned i = 0; i < MPC_VCHECK_D; i++) {
        uint64_t z = 0;
        for (uint32_t p = 0; p < n; p++) z += mpc_vcheck_rd64(recs[p] + mpc_vcheck_off_pad(L) + 8 * i);
        for (uint64_t l = 0; l < L; l++)
            if (w[l] >> i & 1)
                for (uint32_t p = 0; p < n; p++) z += mpc_vcheck_rd64(recs[p] + 8 * l);
        for (uint32_t p = 0; p < n; p++) mpc_vcheck_wr64(recs[p] + mpc_vcheck_off_z(L) + 8 * i, z);
    }
    free(w);
}

uint8_t **mpc_test_vrecs(uint32_t n, uint64_t L, const uint64_t *v)
{
    size_t bytes = mpc_vcheck_record_bytes(L, n);
    uint8_t **recs = bytes ? calloc(n, sizeof *recs) : NULL;
    if (!recs) abort();
    for (uint32_t p = 0; p < n; p++) {
        if (!(recs[p] = malloc(bytes))) abort();
        randombytes_buf(recs[p], bytes);   /* shares, pads, nonce (the rest is overwritten) */
    }
    for (uint64_t l = 0; l < L; l++) {   /* the last party's share completes v_l */
        uint64_t s = 0;
        for (uint32_t p = 0; p + 1 < n; p++) s += mpc_vcheck_rd64(recs[p] + 8 * l);
        mpc_vcheck_wr64(recs[n - 1] + 8 * l, (v ? v[l] : 0) - s);
    }
    for (uint32_t p = 0; p < n; p++) mpc_test_vrec_recommit(recs, n, L, p);
    uint8_t seed[32];   /* after every commitment */
    randombytes_buf(seed, sizeof seed);
    for (uint32_t p = 0; p < n; p++) memcpy(recs[p] + mpc_vcheck_off_seed(L), seed, 32);
    mpc_test_vrec_rez(recs, n, L);
    return recs;
}

void mpc_test_vrecs_free(uint8_t **recs, uint32_t n)
{
    for (uint32_t p = 0; recs && p < n; p++) free(recs[p]);
    free(recs);
}
