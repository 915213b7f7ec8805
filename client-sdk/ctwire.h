/* ctwire.h — the contribution messages of the client protocol (docs/contributions.md, "Wire
 * message"), linked by the SDK and mpcd.  Same framing as cwire.h: one msgpack header frame
 * and at most one raw payload frame; errors come back as the ERROR reply of cwire.h.
 * Decoders treat their bytes as hostile (mpc_cwire_precheck first, then every field).
 *
 *   CONTRIBUTE    [1, 0x07, rid, job id (bin 16), input name, token (bin 48), nonce (bin 16),
 *                  mode, count, proof length]
 *                 payload, proof length L > 0 (a contribution with its validity proof, what
 *                 the daemons take): exactly L bytes, this daemon's FLP input share
 *                 (protocols/flp.h: mode EXPLICIT the explicit share of FLP party 0, mode SEED
 *                 the compressed 64-byte share) followed by the public share (32 bytes per
 *                 party); the daemon checks L against the collection's parameters.
 *                 L = 0 (no proof; the daemons refuse it, the codec still carries it): mode
 *                 EXPLICIT count × 8 bytes (field elements), mode SEED 32 bytes.
 *   CONTRIBUTE_OK [1, 0x87, rid, pending (contributions pending at the daemon)] */
#ifndef MPC_CTWIRE_H
#define MPC_CTWIRE_H

#include <stddef.h>
#include <stdint.h>

#include "circuit.h"
#include "cwire.h"

#define MPC_CT_TOKEN_BYTES 48
#define MPC_CT_NONCE_BYTES 16
#define MPC_CT_MAX_PROOF   (UINT64_C(1) << 31)   /* bytes of a proved contribution, at most */

enum { MPC_CT_CONTRIBUTE = 0x07, MPC_CT_CONTRIBUTE_OK = 0x87 };

typedef struct {
    uint64_t rid;
    uint8_t  job[MPC_CWIRE_JOB_BYTES];
    char     name[MPC_NAME_MAX];            /* the contributor input as declared ("g") */
    uint8_t  token[MPC_CT_TOKEN_BYTES];     /* contributor id (16) and tag (32) */
    uint8_t  nonce[MPC_CT_NONCE_BYTES];
    uint8_t  mode;                          /* MPC_CW_EXPLICIT or MPC_CW_SEED (cwire.h) */
    uint64_t count;                         /* D: 1 .. MPC_CWIRE_MAX_COUNT */
    uint64_t proof_len;                     /* L: 0 .. MPC_CT_MAX_PROOF */
} mpc_ct_req;

/* Whether a header frame is a CONTRIBUTE request (a quick look at its first bytes, as
 * mpc_dw_is_dataset does); the decoder checks the rest. */
int mpc_ct_is_contribution(const uint8_t *hdr, size_t len);

/* Payload bytes the request announces. */
size_t mpc_ct_req_payload_len(const mpc_ct_req *r);

/* *buf: a malloc'ed header frame.  0, MPC_ERR_INVALID (a field out of range) or MPC_ERR_NOMEM. */
__attribute__((warn_unused_result))
int mpc_ct_req_encode(const mpc_ct_req *r, uint8_t **buf, size_t *len);
__attribute__((warn_unused_result))
int mpc_ct_rep_encode(uint64_t rid, uint64_t pending, uint8_t **buf, size_t *len);

/* 0, or MPC_ERR_PROTOCOL with a one-line reason (no field contents); out->rid is set when the
 * header had one, so the daemon can answer. */
__attribute__((warn_unused_result))
int mpc_ct_req_decode(const uint8_t *hdr, size_t len, size_t n_payload, size_t payload_len, mpc_ct_req *out,
                      char *err, size_t errlen);
__attribute__((warn_unused_result))
int mpc_ct_rep_decode(const uint8_t *hdr, size_t len, size_t n_payload, uint64_t *rid, uint64_t *pending,
                      char *err, size_t errlen);

/* The sharing of one contribution x[0..len-1] (field elements < p) among k daemons
 * (docs/contributions.md, "Sharing"): fresh seeds for daemons 0..k-2 (seeds, (k-1) × 32
 * bytes), and for daemon k-1 the explicit share last = x − Σ_j expand(seed_j) mod p, where
 * expand is mpc_ct_expand.  0, MPC_ERR_INVALID (k < 2, an element >= p) or an error of the
 * PRG.  The caller wipes seeds and last after sending. */
int mpc_ct_share(const uint64_t *x, uint64_t len, uint32_t k, uint8_t *seeds, uint64_t *last);
/* A daemon's share from a seed: len uniform field elements of
 * PRG(seed, MPC_PRG_STREAM(MPC_PRG_D_CONTRIB, 0)).  0 or an error of the PRG. */
int mpc_ct_expand(const uint8_t seed[MPC_CWIRE_SEED_BYTES], uint64_t len, uint64_t *out);

#endif
