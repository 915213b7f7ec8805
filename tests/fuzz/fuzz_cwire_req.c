/* fuzz_cwire_req.c — the client request decoder (client-sdk/cwire.c), i.e. what a daemon
 * does with every frame a client sends.  Input layout: fuzz_cwire.h.  A request the decoder
 * accepts must be accepted by the encoder, and its encoding must decode and re-encode to the
 * same bytes; the payload it announces must be the payload that came. */
#include <string.h>

#include "cwire.h"
#include "fuzz.h"
#include "fuzz_cwire.h"

int mpc_fuzz_cwire_req(const uint8_t *data, size_t size);

int mpc_fuzz_cwire_req(const uint8_t *data, size_t size)
{
    const uint8_t *hdr;
    size_t hlen, n_payload, payload_len;
    mpc_fuzz_cwire_split(data, size, &hdr, &hlen, &n_payload, &payload_len);
    mpc_cwire_req r, r2;
    char err[256];
    err[0] = 0;
    if (mpc_cwire_req_decode(hdr, hlen, n_payload, payload_len, &r, err, sizeof err) != 0) {
        MPC_FUZZ_ASSERT(err[0] != 0 && memchr(err, 0, sizeof err) != NULL);
        return 0;
    }
    MPC_FUZZ_ASSERT((r.type >= MPC_CW_SUBMIT && r.type <= MPC_CW_CANCEL) || r.type == MPC_CW_KEYS ||
                    r.type == MPC_CW_MASK);
    size_t want = mpc_cwire_req_payload_len(&r);
    MPC_FUZZ_ASSERT(want ? (n_payload == 1 && payload_len == want) : n_payload == 0);
    if (r.type == MPC_CW_SUBMIT)
        MPC_FUZZ_ASSERT(r.circ >= hdr && r.circ_len > 0 && r.circ + r.circ_len <= hdr + hlen);
    uint8_t *b1 = NULL, *b2 = NULL;
    size_t l1 = 0, l2 = 0;
    MPC_FUZZ_ASSERT(mpc_cwire_req_encode(&r, &b1, &l1) == 0);
    MPC_FUZZ_ASSERT(mpc_cwire_req_decode(b1, l1, want ? 1 : 0, want, &r2, err, sizeof err) == 0);
    MPC_FUZZ_ASSERT(mpc_cwire_req_encode(&r2, &b2, &l2) == 0);
    MPC_FUZZ_ASSERT(l1 == l2 && memcmp(b1, b2, l1) == 0);
    MPC_FUZZ_ASSERT(r.rid == r2.rid && r.type == r2.type && r.count == r2.count && r.mode == r2.mode && r.wait_ms == r2.wait_ms &&
                    !strcmp(r.name, r2.name) && !memcmp(r.job, r2.job, sizeof r.job));
    free(b1);
    free(b2);
    return 0;
}

MPC_FUZZ_ENTRY(mpc_fuzz_cwire_req)
