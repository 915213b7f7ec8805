/* fuzz_wire.c — the peer message header decoder (protocols/wire.c).  Input: the header frame.
 * Accepted headers must re-encode and decode to the same fields; the payload check must agree
 * with count * 8 for a few payload lengths. */
#include <string.h>

#include "fuzz.h"
#include "mpc_err.h"
#include "wire.h"

int mpc_fuzz_wire(const uint8_t *data, size_t size);

int mpc_fuzz_wire(const uint8_t *data, size_t size)
{
    mpc_msg_hdr h, h2;
    if (mpc_wire_hdr_decode(&h, data, size) != 0) {
        MPC_FUZZ_ASSERT(h.version == 0 && h.type == 0 && h.sender == 0 && h.stream == 0 && h.seq == 0 &&
                        h.count == 0);
        return 0;
    }
    MPC_FUZZ_ASSERT(size <= MPC_WIRE_HDR_MAX);
    MPC_FUZZ_ASSERT(mpc_wire_type_ok(h.type));
    MPC_FUZZ_ASSERT(h.sender < MPC_WIRE_MAX_SENDERS);
    uint8_t buf[MPC_WIRE_HDR_MAX];
    size_t len = 0;
    MPC_FUZZ_ASSERT(mpc_wire_hdr_encode(buf, sizeof buf, &len, &h) == 0);
    MPC_FUZZ_ASSERT(mpc_wire_hdr_decode(&h2, buf, len) == 0);
    MPC_FUZZ_ASSERT(h.version == h2.version && h.type == h2.type && h.sender == h2.sender &&
                    h.stream == h2.stream && h.seq == h2.seq && h.count == h2.count);
    /* The payload check: only exactly count * 8 bytes within the limit pass. */
    uint64_t lim = 1u << 20;
    if (h.count <= lim / 8) {
        MPC_FUZZ_ASSERT(mpc_wire_payload_check(&h, (size_t)h.count * 8, lim) == 0);
        MPC_FUZZ_ASSERT(mpc_wire_payload_check(&h, (size_t)h.count * 8 + 1, lim) != 0);
        if (h.count) MPC_FUZZ_ASSERT(mpc_wire_payload_check(&h, (size_t)h.count * 8 - 1, lim) != 0);
    } else {
        MPC_FUZZ_ASSERT(mpc_wire_payload_check(&h, 0, lim) != 0);
        MPC_FUZZ_ASSERT(mpc_wire_payload_check(&h, (size_t)lim, lim) != 0);
    }
    return 0;
}

MPC_FUZZ_ENTRY(mpc_fuzz_wire)
