/* collect.h — one daemon's state of one collection (a contributor input of a job,
 * docs/contributions.md): contributor tokens, the dedup set, the pending table, the batch
 * agreement with the other daemons (PROPOSE / HAVE / COMMIT) and the running sums mod p.
 * Pure state, no I/O and no locking: the caller serialises calls and carries the messages.
 *
 * With validity proofs (limits.msg_bytes > 0) each pending contribution keeps its prep
 * message, COMMIT is preceded by mpcd_collect_reject of the ones whose proof failed, and
 * nonces are deduplicated as well as contributor ids.
 *
 * Memory: 8·D bytes of sums, at most max_pending × (8·D + msg_bytes) bytes of pending shares
 * and messages, and one 24-byte entry per contributor id seen (the dedup set; with messages,
 * one more per nonce).  Shares, messages and sums are wiped when freed. */
#ifndef MPCD_COLLECT_H
#define MPCD_COLLECT_H

#include <stddef.h>
#include <stdint.h>

#define MPCD_TOKEN_ID_BYTES  16
#define MPCD_TOKEN_TAG_BYTES 32
#define MPCD_TOKEN_BYTES     (MPCD_TOKEN_ID_BYTES + MPCD_TOKEN_TAG_BYTES)
#define MPCD_TOKEN_KEY_BYTES 32
#define MPCD_TOKEN_CONTEXT   "mpcd contributor token 1"
/* What the daemons agree on: a contribution's reference, the contributor id (16 bytes, from
 * its token) followed by the contribution's nonce (16 random bytes the client draws for each
 * contribution and sends to every daemon), so that two different contributions of one
 * contributor that reached different daemons are never taken for one. */
#define MPCD_CONTRIB_REF_BYTES 32

/* A contributor's token: its id and tag = BLAKE2b-256(key, MPCD_TOKEN_CONTEXT ‖ id). */
void mpcd_token_make(const uint8_t key[MPCD_TOKEN_KEY_BYTES], const uint8_t id[MPCD_TOKEN_ID_BYTES],
                     uint8_t token[MPCD_TOKEN_BYTES]);
/* 1 when the token's tag is right (compared in constant time), else 0. */
int  mpcd_token_ok(const uint8_t key[MPCD_TOKEN_KEY_BYTES], const uint8_t token[MPCD_TOKEN_BYTES]);

typedef struct {
    uint32_t max_pending;   /* contributions held pending at once (1 ..) */
    uint32_t max_count;     /* contributions the collection may include (circuits/contrib.h) */
    uint64_t pending_ms;    /* a pending contribution older than this is dropped */
    uint32_t msg_bytes;     /* bytes kept with each pending contribution: its validity-proof
                               prep message (protocols/flp.h); 0: none.  With msg_bytes > 0
                               a contribution's nonce is also refused a second time. */
} mpcd_collect_limits;

typedef struct mpcd_collect mpcd_collect;

/* A collection of contributions of len elements; NULL on allocation failure. */
mpcd_collect *mpcd_collect_new(uint64_t len, const mpcd_collect_limits *lim);
void          mpcd_collect_free(mpcd_collect **c);

/* A contribution share arrived (its token already verified): ref is the contributor id and
 * the contribution's nonce, share its len field elements.  0: pending here.  MPC_ERR_STATE: the id was seen
 * before (a duplicate), or the collection is closed or full (max_count reached, counting
 * what is pending); MPC_ERR_INPUT: wrong length or an element >= p; MPC_ERR_LIMIT: the
 * pending table is full (retry later).  Nothing is kept on an error. */
int mpcd_collect_offer(mpcd_collect *c, const uint8_t ref[MPCD_CONTRIB_REF_BYTES], const uint64_t *share,
                       uint64_t len, uint64_t now_ms);

/* mpcd_collect_offer with the contribution's prep message msg[0..msg_bytes-1] (kept while it
 * is pending); also MPC_ERR_STATE when the nonce (the last 16 bytes of ref) was seen before. */
int mpcd_collect_offer_msg(mpcd_collect *c, const uint8_t ref[MPCD_CONTRIB_REF_BYTES], const uint64_t *share,
                           uint64_t len, const uint8_t *msg, uint64_t now_ms);
/* The prep message kept with pending contribution ref, or NULL when it is not pending here. */
const uint8_t *mpcd_collect_msg(const mpcd_collect *c, const uint8_t ref[MPCD_CONTRIB_REF_BYTES]);
/* The batch's contributions whose bit is set failed their validity proof: each is dropped
 * (wiped; its id and nonce stay seen) and counted as invalid.  Called for the batch before its
 * mpcd_collect_commit.  0, or MPC_ERR_PROTOCOL (batch out of order, a reference not pending
 * here) with nothing changed. */
int mpcd_collect_reject(mpcd_collect *c, uint64_t batch, const uint8_t (*refs)[MPCD_CONTRIB_REF_BYTES], uint32_t n,
                        const uint8_t *bitmap);
/* Contributions dropped as invalid so far. */
uint64_t mpcd_collect_invalid(const mpcd_collect *c);

/* Leader: the next batch's number and the references of up to max of its oldest pending
 * contributions.  Returns how many. */
uint32_t mpcd_collect_propose(const mpcd_collect *c, uint8_t (*refs)[MPCD_CONTRIB_REF_BYTES], uint32_t max,
                              uint64_t *batch);
/* A party's answer to PROPOSE(batch, refs): bit i of bitmap (byte i/8) set when it holds
 * refs[i] pending (that contributor, with that nonce).  0, or MPC_ERR_PROTOCOL when batch is not the next batch here. */
int mpcd_collect_have(const mpcd_collect *c, uint64_t batch, const uint8_t (*refs)[MPCD_CONTRIB_REF_BYTES], uint32_t n,
                      uint8_t *bitmap);
/* COMMIT(batch, refs, bitmap): adds exactly the pending contributions whose bit is set to the
 * sums, marks them included and frees their shares; batch becomes the last one.  0, or
 * MPC_ERR_PROTOCOL (batch out of order, a committed reference not pending here, one twice, more
 * than max_count included) with nothing changed. */
int mpcd_collect_commit(mpcd_collect *c, uint64_t batch, const uint8_t (*refs)[MPCD_CONTRIB_REF_BYTES], uint32_t n,
                        const uint8_t *bitmap);
/* Drops (wipes) the pending contributions older than pending_ms at now_ms; their ids stay
 * seen.  Returns how many. */
uint32_t mpcd_collect_expire(mpcd_collect *c, uint64_t now_ms);

/* What the parties compare at the close: batches committed, contributions included, and the
 * digest (the sum mod 2^256 of BLAKE2b-256 of each included id: independent of order). */
void mpcd_collect_summary(const mpcd_collect *c, uint64_t *batches, uint64_t *count, uint8_t digest[32]);
uint32_t mpcd_collect_pending(const mpcd_collect *c);

/* Closes the collection (later offers are refused, pending shares wiped) and writes this
 * daemon's share of the circuit input NAME-contrib to share[0..len]: the sums, then the count
 * when first_party, else 0. */
void mpcd_collect_close(mpcd_collect *c, int first_party, uint64_t *share);

#endif
