/* fuzz_cwire.h — how the client-protocol fuzz targets split their input: byte 0 gives the
 * number of payload frames after the header (0..3, low two bits), bytes 1..4 the length of
 * the payload frame (little-endian), the rest is the header frame.  Inputs shorter than five
 * bytes are a header alone with no payload. */
#ifndef MPC_FUZZ_CWIRE_H
#define MPC_FUZZ_CWIRE_H

#include <stddef.h>
#include <stdint.h>

static inline void mpc_fuzz_cwire_split(const uint8_t *data, size_t size, const uint8_t **hdr,
                                        size_t *hlen, size_t *n_payload, size_t *payload_len)
{
    if (size < 5) {
        *hdr = data;
        *hlen = size;
        *n_payload = 0;
        *payload_len = 0;
        return;
    }
    *n_payload = data[0] & 3u;
    *payload_len = (size_t)data[1] | (size_t)data[2] << 8 | (size_t)data[3] << 16 | (size_t)data[4] << 24;
    *hdr = data + 5;
    *hlen = size - 5;
}

#endif
