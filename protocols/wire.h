/* wire.h — the peer message framing of the ZeroMQ mesh (docs/transport.md, "Framing").
 *
 * A peer message is two frames:
 *   frame 1: a msgpack array of exactly six unsigned integers
 *            [version, type, stream, seq, sender, count]   (at most MPC_WIRE_HDR_MAX bytes)
 *   frame 2: the raw payload, exactly count * 8 bytes of little-endian uint64 (may be empty).
 * The decoder treats its input as hostile: it bounds the frame size, pre-checks the msgpack
 * structure before msgpack-c allocates anything, requires MSGPACK_UNPACK_SUCCESS with every
 * byte consumed, checks each element's type before use and range-checks every integer.
 * It is a pure function of its input (a fuzzing target). */
#ifndef MPC_WIRE_H
#define MPC_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "transport.h"

#define MPC_WIRE_HDR_MAX      64            /* largest header frame accepted or produced */
#define MPC_WIRE_MAX_SENDERS  16            /* sender indices are 0..15 */
#define MPC_WIRE_MAX_COUNT    (UINT64_MAX / 8)

/* Transport-internal message types, never delivered to a stream (outside mpc_msg_type). */
#define MPC_WIRE_MSG_HELLO      0x41        /* "I am up", asks for a HELLO_ACK */
#define MPC_WIRE_MSG_HELLO_ACK  0x42
/* "from here on my ZeroMQ messages to you take their place among the frames of the direct lane
 * whose id is in the stream field" (docs/transport.md, "Direct lanes": setting lanes up again) */
#define MPC_WIRE_MSG_LANE_SYNC  0x43

/* 1 if `type` is a valid message type on the wire (stream or internal), else 0. */
int mpc_wire_type_ok(unsigned type);

/* Encodes h into buf[0..cap-1]; *len receives the size.  0, or MPC_ERR_INVALID when a field
 * is out of range (same ranges as the decoder) or cap is too small. */
__attribute__((warn_unused_result))
int mpc_wire_hdr_encode(uint8_t *buf, size_t cap, size_t *len, const mpc_msg_hdr *h);

/* Decodes a header frame of len bytes.  0, or MPC_ERR_PROTOCOL for anything but exactly one
 * six-element array of in-range unsigned integers with no trailing bytes; *h is zeroed then. */
__attribute__((warn_unused_result))
int mpc_wire_hdr_decode(mpc_msg_hdr *h, const uint8_t *buf, size_t len);

/* Checks a payload frame of payload_len bytes against a decoded header and the receiver's
 * payload limit: 0, MPC_ERR_LIMIT (count * 8 > max_payload) or MPC_ERR_PROTOCOL (length is
 * not count * 8). */
__attribute__((warn_unused_result))
int mpc_wire_payload_check(const mpc_msg_hdr *h, size_t payload_len, uint64_t max_payload);

#endif
