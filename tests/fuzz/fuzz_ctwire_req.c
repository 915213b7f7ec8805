/* fuzz_ctwire_req.c — the CONTRIBUTE decoder (client-sdk/ctwire.c), what a daemon does with
 * every contribution frame.  Input layout: fuzz_cwire.h.  A request the decoder accepts must
 * re-encode to bytes that decode to the same request; the payload it announces must be the
 * payload that came; no validity proof is taken. */
#include <string.h>

#include "ctwire.h"
#include "fuzz.h"
#include "fuzz_cwire.h"

int mpc_fuzz_ctwire_req(const uint8_t *data, size_t size);

int mpc_fuzz_ctwire_req(const uint8_t *data, size_t size)
{
    const uint8_t *hdr;
    size_t hlen, n_payload, payload_len;
    mpc_fuzz_cwire_split(data, size, &hdr, &hlen, &n_payload, &payload_len);
    mpc_ct_req r, r2;
    char err[256];
    err[0] = 0;
    if (mpc_ct_req_decode(hdr, hlen, n_payload, payload_len, &r, err, sizeof err) != 0) {
        MPC_FUZZ_ASSERT(err[0] != 0 && memchr(err, 0, sizeof err) != NULL);
        return 0;
    }
    MPC_FUZZ_ASSERT(mpc_ct_is_contribution(hdr, hlen) || hlen < 3 || hdr[0] > 0x9f || hdr[0] < 0x93);
    size_t want = mpc_ct_req_payload_len(&r);
    /* a contribution with a validity proof carries the proof as its payload (proof_len bytes) */
    MPC_FUZZ_ASSERT(n_payload == 1 && payload_len == want && r.count >= 1);
    uint8_t *b1 = NULL;
    size_t l1 = 0;
    MPC_FUZZ_ASSERT(mpc_ct_req_encode(&r, &b1, &l1) == 0);
    MPC_FUZZ_ASSERT(mpc_ct_req_decode(b1, l1, 1, want, &r2, err, sizeof err) == 0);
    MPC_FUZZ_ASSERT(memcmp(&r, &r2, sizeof r) == 0);
    free(b1);
    return 0;
}

MPC_FUZZ_ENTRY(mpc_fuzz_ctwire_req)
