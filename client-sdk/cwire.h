/* cwire.h — the client <-> daemon message codec (docs/daemon.md, "Client protocol"), linked by
 * both the SDK and mpcd so the two sides cannot disagree on a byte.  A message is one msgpack
 * header frame (a fixed-arity array) optionally followed by one raw payload frame.  The
 * decoders treat their bytes as hostile (docs/security.md, "Decoders"): the whole frame must be one msgpack
 * object with nothing after it, every container size is checked against the bytes left
 * before msgpack-c allocates anything, every type, integer range and string length is checked,
 * and a payload's length must match the header exactly.
 *
 * This file also fixes the input-sharing convention both sides follow (mpc_cwire_seed_expand),
 * since a seed sent by a client is only useful if the daemon expands it the same way. */
#ifndef MPC_CWIRE_H
#define MPC_CWIRE_H

#include <stddef.h>
#include <stdint.h>

#include "circuit.h"

#define MPC_CWIRE_VERSION     1
#define MPC_CWIRE_JOB_BYTES   16          /* job ids: 16 random bytes */
#define MPC_CWIRE_JOB_HEX     (2 * MPC_CWIRE_JOB_BYTES)
#define MPC_CWIRE_HASH_BYTES  32          /* circuit hash, BLAKE2b-256 (format.h) */
#define MPC_CWIRE_SEED_BYTES  32          /* an input share given as a PRG seed */
#define MPC_CWIRE_MSG_MAX     512         /* ERROR message and failure reason, bytes */
#define MPC_CWIRE_MAX_COUNT   (1ull << 32) /* longest vector (MPC_CIRC_MAX_VECTOR) */
#define MPC_CWIRE_MAX_WAIT_MS 600000u     /* longest a RESULT may ask the daemon to hold */
#define MPC_CWIRE_WITHHELD_MAX 65536u     /* longest output whose withheld elements are listed */
/* KEYS (docs/join.md, "Calling it from the daemon"): a join's key column, in the clear, to the
 * daemon of the table's own party only.  Header: job, "TABLE.KEYCOLUMN", rows, key bytes;
 * payload: rows + 1 offsets (little-endian uint64, off[0] = 0, non-decreasing, off[rows] =
 * key bytes), then the key bytes (key i = bytes[off[i] .. off[i+1])).  The decoder checks
 * the sizes; the daemon checks the offsets and every key (circuits/joindecl.h). */
#define MPC_CWIRE_KEYS_MAX_ROWS  (1ull << 22)   /* the join's limit (protocols/join.h) */
#define MPC_CWIRE_KEY_MAX        255u           /* bytes of one canonical key */

/* Message types (header element 1).  A reply to request type T has type T | 0x80 when it
 * succeeded, MPC_CW_ERROR otherwise; the request id (element 2) is echoed. */
typedef enum {
    MPC_CW_SUBMIT = 1,
    MPC_CW_INPUT = 2,
    MPC_CW_RESULT = 3,
    MPC_CW_STATUS = 4,
    MPC_CW_JOBS = 5,
    MPC_CW_CANCEL = 6,
    MPC_CW_KEYS = 8,          /* (7 is CONTRIBUTE, ctwire.h) a join's key column, to its own party's daemon only */
    MPC_CW_MASK = 9,          /* security = malicious: this daemon's record of an input's masks (below) */
    MPC_CW_SUBMIT_OK = 0x81,
    MPC_CW_INPUT_OK = 0x82,
    MPC_CW_RESULT_OK = 0x83,
    MPC_CW_STATUS_OK = 0x84,
    MPC_CW_JOBS_OK = 0x85,
    MPC_CW_CANCEL_OK = 0x86,
    MPC_CW_KEYS_OK = 0x88,
    MPC_CW_MASK_OK = 0x89,
    MPC_CW_ERROR = 0xff,
} mpc_cwire_type;

/* INPUT modes.  MASKED (security = malicious, docs/security.md "Authenticated client inputs"):
 * the payload is x − r mod 2^64 (count × 8 bytes), the same vector to every daemon, where r is
 * the masks' vector the client verified from the daemons' records it fetched with MASK. */
typedef enum { MPC_CW_EXPLICIT = 0, MPC_CW_SEED = 1, MPC_CW_MASKED = 2 } mpc_cwire_mode;

/* MASK (request type 9; security = malicious only): job, input name, element count, wait (ms,
 * as RESULT's).  The first MASK for an input claims it for the asking client (it counts as
 * given for the job's readiness; nobody else may give it); the daemon answers MASK_OK: ready
 * (bool), job state, count, and when ready one more header element, the job's number of
 * parties n (2 .. MPC_MAX_PARTIES_AUTH); the payload is then this daemon's vector-check record
 * of the input's masks (protocols/vcheck.h: its 64-bit shares, pad shares, z, nonce, seed and
 * the n commitments; never a MAC share), exactly mpc_vcheck_record_bytes(count, n) bytes.  Not
 * ready: count = 0, no n, no payload.  The client takes the n daemons' records, checks them
 * (mpc_vcheck_verify) and only then sends INPUT mode MASKED to every daemon. */
/* Job states as reported by STATUS. */
#define MPC_JOB_STATE_LIST(X)                         \
    X(AGREEING, 0, "agreeing")   /* submitted; parties checking they hold the same job */ \
    X(QUEUED,   1, "queued")     /* agreed; waiting for its turn */                       \
    X(INPUTS,   2, "waiting for inputs")                                                  \
    X(RUNNING,  3, "running")                                                             \
    X(DONE,     4, "done")                                                                \
    X(FAILED,   5, "failed")                                                              \
    X(CANCELLED, 6, "cancelled")  /* cancelled by a client (mpc cancel); inputs and outputs wiped */

typedef enum {
#define X(e, v, s) MPC_JOB_##e = (v),
    MPC_JOB_STATE_LIST(X)
#undef X
    MPC_JOB__COUNT
} mpc_job_state;

const char *mpc_job_state_name(int state);

/* A request.  Fields are used per type as commented; the others are ignored by the encoder
 * and zeroed by the decoder.  `circ` points into the decoded frame (not copied): it is valid
 * as long as that buffer is. */
typedef struct {
    uint8_t        type;                       /* MPC_CW_SUBMIT .. MPC_CW_CANCEL (JOBS: no fields) */
    uint64_t       rid;                        /* request id, echoed in the reply */
    uint8_t        job[MPC_CWIRE_JOB_BYTES];   /* all; STATUS: only when has_job */
    int            has_job;                    /* STATUS: 0 asks about the daemon only */
    /* SUBMIT: daemon name per program party (1..MPC_MAX_PARTIES, distinct) and the .circ */
    uint32_t       n_bind;
    char           bind[MPC_MAX_PARTIES][MPC_NAME_MAX];
    const uint8_t *circ;
    size_t         circ_len;
    /* INPUT, MASK: input name, mode (INPUT), element count; RESULT: output name */
    char           name[MPC_NAME_MAX];
    uint8_t        mode;
    uint64_t       count;
    /* KEYS: "TABLE.KEYCOLUMN" in name, the rows in count, and the bytes of all keys */
    uint64_t       key_bytes;
    /* RESULT, MASK: how long the daemon may hold the request waiting for the output / shares */
    uint32_t       wait_ms;
    /* SUBMIT, optional (two more fields, 8 in all, sent only when one is set): the job's
     * contribution collections close after collect_ms or at collect_count contributions
     * (docs/contributions.md); 0: the daemon's default.  A daemon takes at most its own. */
    uint64_t       collect_ms, collect_count;
} mpc_cwire_req;

#define MPC_CWIRE_MAX_COLLECT_MS    86400000ull
#define MPC_CWIRE_MAX_COLLECT_COUNT 16777216ull

/* Daemon-wide figures (STATUS). */
typedef struct {
    uint64_t jobs_queued, jobs_running, jobs_done, jobs_failed;
    uint64_t triples_stock;                    /* Beaver triples ready (the pool) */
    uint64_t triples_per_s;                    /* the stock's generation rate */
} mpc_cwire_daemon_info;

/* A daemon's view of one of its peers (STATUS): the state of its connection to the peer as
 * the peer socket's monitor and heartbeats last reported it, and for how long. */
typedef enum { MPC_PEER_UP = 0, MPC_PEER_REFUSED = 1, MPC_PEER_DOWN = 2 } mpc_peer_state;
#define MPC_CWIRE_MAX_PEERS (MPC_MAX_PARTIES + 1)   /* the other parties and the dealer */
typedef struct {
    char     name[MPC_NAME_MAX];
    uint8_t  state;                            /* mpc_peer_state: UP, REFUSED (our key), DOWN */
    uint64_t for_ms;                           /* in this state for this long */
} mpc_cwire_peer;

/* One job as a daemon sees it (STATUS with a job id). */
typedef struct {
    uint8_t  state;                            /* mpc_job_state */
    char     reason[MPC_CWIRE_MSG_MAX];        /* failure reason, "" otherwise */
    uint64_t layers_done, layers_total;
    uint64_t triples_used;
    /* preprocessing of the job's triples: made so far, needed in all, rate (per second) */
    uint64_t prep_made, prep_needed, prep_per_s;
    uint32_t inputs_given, inputs_total;       /* inputs this daemon holds a share of */
    uint8_t  hash[MPC_CWIRE_HASH_BYTES];       /* circuit hash the job was submitted with */
    /* the daemon runs security = malicious: inputs go through MASK (13th field, `true`, sent
     * only then and only with the preprocessing figures) */
    uint8_t  malicious;
    uint32_t n_bind;
    char     bind[MPC_MAX_PARTIES][MPC_NAME_MAX];
} mpc_cwire_job_info;

/* One line of a JOBS reply. */
#define MPC_CWIRE_MAX_JOBS 64                  /* lines in one JOBS reply (the newest) */
typedef struct {
    uint8_t  id[MPC_CWIRE_JOB_BYTES];
    uint8_t  state;                            /* mpc_job_state */
    uint64_t age_s;                            /* since its submission here */
    char     client[MPC_NAME_MAX];             /* who submitted it */
    uint64_t layers_done, layers_total;
    uint64_t prep_made, prep_needed;           /* triples made / needed (preprocessing) */
} mpc_cwire_job_line;

/* A reply. */
typedef struct {
    uint8_t  type;                             /* MPC_CW_*_OK or MPC_CW_ERROR */
    uint64_t rid;
    /* ERROR */
    int      code;                             /* a negative MPC_ERR_* code */
    char     msg[MPC_CWIRE_MSG_MAX];           /* one line; control characters replaced by '?' */
    /* SUBMIT_OK; malicious: the daemon runs security = malicious, so the job's inputs go
     * through MASK (one more header element, `true`, sent only then) */
    uint8_t  hash[MPC_CWIRE_HASH_BYTES];
    uint8_t  malicious;
    /* RESULT_OK, MASK_OK: ready = 1 -> the share (count elements of `vtype`; MASK_OK: the
     * record of the input's masks, above) is the payload frame; ready = 0 -> not yet, no
     * payload, `state` says where the job is */
    uint8_t  ready;
    /* RESULT_OK ready, security = malicious: the payload is this daemon's vector-check record
     * of the output (protocols/vcheck.h; docs/security.md, "Checked client outputs"),
     * mpc_vcheck_record_bytes(count, parties) bytes, instead of count words.  On the wire as
     * one more header element, the job's number of parties (2 .. MPC_MAX_PARTIES_AUTH),
     * present only then, last (after the withheld elements': 10 header elements with both). */
    uint8_t  checked;
    /* MASK_OK ready and RESULT_OK checked: the job's number of parties n, which sizes the
     * record (the client checks it is the number of daemons it bound); else 0 */
    uint32_t parties;
    uint8_t  state;
    uint8_t  vtype;                            /* mpc_type */
    uint64_t count;
    /* RESULT_OK ready: what the release rules withheld (docs/governance.md, "Release
     * rules"): "" and no bits when nothing; else the daemon's note ("output 'h' elements 0, 2
     * withheld: fewer than min_rows = 10 rows") and bit i of withheld_bits (byte i / 8, bit
     * i % 8) set for each withheld element, whose share is 0.  On the wire as two more header
     * elements (9 in all), present only when something was withheld. */
    char     withheld[MPC_CWIRE_MSG_MAX];
    uint8_t  withheld_bits[MPC_CWIRE_WITHHELD_MAX / 8];
    /* STATUS_OK */
    char     daemon[MPC_NAME_MAX];
    mpc_cwire_daemon_info info;
    int      has_job;
    mpc_cwire_job_info job;
    uint32_t n_peers;                          /* STATUS_OK: the daemon's peers */
    mpc_cwire_peer peers[MPC_CWIRE_MAX_PEERS];
    /* JOBS_OK (and `daemon`): the jobs the asking client submitted, newest first, at most
     * MPC_CWIRE_MAX_JOBS of jobs_total */
    uint32_t n_jobs;
    uint64_t jobs_total;
    mpc_cwire_job_line jobs[MPC_CWIRE_MAX_JOBS];
} mpc_cwire_rep;

/* Encoders: *buf receives a malloc'ed header frame of *len bytes (caller frees).  The payload
 * frame, if the message has one, is the caller's raw buffer.  0, MPC_ERR_INVALID (a field out
 * of range: the same checks as the decoder) or MPC_ERR_NOMEM. */
__attribute__((warn_unused_result))
int mpc_cwire_req_encode(const mpc_cwire_req *r, uint8_t **buf, size_t *len);
__attribute__((warn_unused_result))
int mpc_cwire_rep_encode(const mpc_cwire_rep *r, uint8_t **buf, size_t *len);

/* Decoders.  `hdr` is the header frame; `n_payload` is the number of frames after it (0 or 1
 * are valid) and `payload_len` the length of that frame.  The header must say exactly which
 * payload follows: INPUT explicit or masked -> count * 8 bytes, INPUT seed -> 32 bytes,
 * MASK_OK ready -> mpc_vcheck_record_bytes(count, parties) bytes, KEYS -> (count + 1) * 8 +
 * key_bytes bytes, RESULT_OK ready -> count * 8 bytes (checked: mpc_vcheck_record_bytes(count,
 * parties)), everything else none.  0, or MPC_ERR_PROTOCOL with a one-line reason in
 * err (never containing message bytes beyond sanitised names); *out is zeroed then, except
 * that the request decoder leaves out->rid set when the header was an array whose third
 * element is a uint64 (whatever else is wrong), so the daemon can answer on that id. */
__attribute__((warn_unused_result))
int mpc_cwire_req_decode(const uint8_t *hdr, size_t len, size_t n_payload, size_t payload_len,
                         mpc_cwire_req *out, char *err, size_t errlen);
__attribute__((warn_unused_result))
int mpc_cwire_rep_decode(const uint8_t *hdr, size_t len, size_t n_payload, size_t payload_len,
                         mpc_cwire_rep *out, char *err, size_t errlen);

/* The first decoding pass, for other codecs of the same frames (dswire.c): buf must be exactly
 * one msgpack object of sizes that fit its bytes, without maps, ext or floats.  0 or
 * MPC_ERR_PROTOCOL with a reason. */
__attribute__((warn_unused_result))
int mpc_cwire_precheck(const uint8_t *buf, size_t len, char *err, size_t errlen);

/* Payload size a message's header announces (0 when it has none). */
size_t mpc_cwire_req_payload_len(const mpc_cwire_req *r);
size_t mpc_cwire_rep_payload_len(const mpc_cwire_rep *r);

/* Job ids: the one place they are made, printed and parsed (the SDK and mpcd both use these).
 * new: 16 fresh random bytes (libsodium).  hex: 32 lowercase digits + NUL.
 * parse: exactly 32 hex digits; 0 or MPC_ERR_INVALID. */
int  mpc_cwire_job_new(uint8_t job[MPC_CWIRE_JOB_BYTES]);
void mpc_cwire_job_hex(const uint8_t job[MPC_CWIRE_JOB_BYTES], char hex[MPC_CWIRE_JOB_HEX + 1]);
__attribute__((warn_unused_result))
int  mpc_cwire_job_parse(uint8_t job[MPC_CWIRE_JOB_BYTES], const char *hex);

/* --- Input sharing convention -------------------------------------------------------------
 * A client gives input `index` (its position in the circuit's input list) of n elements to a
 * job bound to k >= 2 daemons, in binding order: daemons 0..k-2 each receive a fresh 32-byte
 * seed s_j (INPUT, mode SEED) and take as their share
 *     PRG(s_j) = mpc_prg_expand(out, n, s_j, MPC_PRG_STREAM(MPC_PRG_D_CLIENT, index), 0)
 *              = ChaCha20 key stream of key s_j, 64-bit nonce = the little-endian stream id,
 *                block counter from 0, read as little-endian uint64 words 0..n-1
 * (protocols/prg.h; the engine expands an MPC_IN_SEED input the same way); daemon k-1
 * receives the explicit share x - Σ_j PRG(s_j) mod 2^64 (INPUT, mode EXPLICIT), which the
 * daemon hands the engine as MPC_IN_SHARE. */

/* out[0..n-1] = PRG(seed) for input `index` as above.  0 or MPC_ERR_INVALID. */
__attribute__((warn_unused_result))
int mpc_cwire_seed_expand(uint64_t *out, uint64_t n, const uint8_t seed[MPC_CWIRE_SEED_BYTES],
                          uint32_t index);

/* Shares x[0..n-1] for k daemons: fills seeds (k-1 fresh seeds of 32 bytes, contiguous; the
 * caller provides sodium_malloc memory) and explicit[0..n-1] (the last daemon's share).
 * Temporaries are wiped.  0, MPC_ERR_INVALID (k < 2 or k > MPC_MAX_PARTIES) or MPC_ERR_NOMEM. */
__attribute__((warn_unused_result))
int mpc_cwire_share(uint8_t *seeds, uint64_t *explicit_share, const uint64_t *x, uint64_t n,
                    uint32_t k, uint32_t index);

/* Adds share[0..n-1] into acc[0..n-1] mod 2^64 (reconstruction of an output). */
void mpc_cwire_add(uint64_t *acc, const uint64_t *share, uint64_t n);

#endif
