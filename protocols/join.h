/* join.h — the two-party private join (docs/join.md): the rows two parties share by key,
 * as additive Z_2^64 shares of a table, revealing only the intersection size to party A
 * (mode (a); after Ion et al., "On Deploying Secure Computing: Private Intersection-Sum-
 * with-Cardinality", EuroS&P 2020, with an oblivious switching network (osn.h) in place of
 * the homomorphic encryption).
 *
 * The output table has one row per row of B, in an order B drew at random: column 0 is the
 * indicator (1: the row's key is also one of A's), then A's payload columns (the matching A
 * row's; arbitrary where unmatched), then B's payload columns.  A statistic over the
 * intersection multiplies by the indicator, e.g. sum(ind · a_col).  Each column is n_B
 * words, so it can feed the engine as an explicit input share (MPC_IN_STORED, engine.h).
 *
 * Payload columns are taken as shares: each party passes its shares of A's and of B's
 * columns (row orders: A's rows for A's columns, B's for B's).  A party's own plaintext
 * column is the sharing (x, 0): the owner passes x, the other party NULL (all zeros).
 *
 * The run is blocking and meant for a job thread: every message goes over `t` to `peer`
 * on `stream` (sequence numbers from MPC_JOIN_SEQ0 up), so the daemon can run it beside
 * other jobs.  On a failure the peer is sent an ABORT of the stream. */
#ifndef MPC_JOIN_H
#define MPC_JOIN_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "par.h"
#include "transport.h"

#define MPC_JOIN_MAX_ROWS  (1ull << 22)   /* an OSN message of one column stays within 32 MiB */
#define MPC_JOIN_MAX_COLS  64
#define MPC_JOIN_SEQ0      1
#define MPC_JOIN_CHUNK     (1u << 18)   /* points per message (8 MiB): at most 16 messages a list */
#define MPC_JOIN_STOP_SLICE_MS 50       /* a receive looks at the stop flag this often */

typedef enum { MPC_JOIN_A = 0, MPC_JOIN_B = 1 } mpc_join_role;

typedef struct {
    uint64_t        rows;         /* this party's rows */
    const uint8_t  *key_data;     /* key i = key_data[key_off[i] .. key_off[i+1]): bytes */
    const uint64_t *key_off;      /* rows + 1 offsets; keys canonicalised by the caller */
    uint32_t        cols_a, cols_b;  /* payload columns of A and of B (both pass the same) */
    /* This party's shares, column-major: A's columns (cols_a × rows of A) and B's columns
     * (cols_b × rows of B).  NULL: all zero (the other party's plaintext). */
    const uint64_t *share_a, *share_b;
    uint64_t        peer_rows;    /* the peer's rows when the share of its columns is given */
    uint8_t         salt[32];     /* the job's salt (both pass the same) */
    mpc_par        *par;          /* threads for the group operations (NULL: this one) */
    int             timeout_ms;   /* per receive (< 0: the transport's default); it must cover
                                   * the peer's group operations, about 100 µs of CPU a
                                   * row here (docs/join.md) */
    uint32_t        chunk_points; /* points per message of a point list (0: MPC_JOIN_CHUNK);
                                   * both parties must use the same */
    /* Stopping a run (docs/join.md, "Stopping a run"): when stop is non-NULL and set non-zero
     * (by another thread), the run fails with MPC_ERR_CANCELLED; after deadline_ms
     * (CLOCK_MONOTONIC ms, 0: none), with MPC_ERR_TIMEOUT.  Both are checked between steps,
     * between blocks of MPC_PSI_STOP_ROWS rows of group operations (psi.h), between point messages
     * and OSN runs, and every MPC_JOIN_STOP_SLICE_MS of a receive (only with timeout_ms > 0: a
     * receive without a bound of its own is not sliced); the peer gets the ABORT of the stream
     * and stops at its next check too. */
    const atomic_int *stop;
    uint64_t          deadline_ms;
} mpc_join_in;

typedef struct {
    uint64_t  rows;               /* B's rows */
    uint32_t  cols;               /* 1 + cols_a + cols_b */
    uint64_t *share;              /* cols × rows, column-major (malloc) */
    uint64_t  intersection;       /* A: the intersection size; B: UINT64_MAX */
    uint64_t  bytes_sent;         /* wire bytes this party sent (transport counters) */
    uint64_t  psi_ns, osn_ns;     /* time in the intersection (hashing, blinding, matching,
                                   * waiting for the peer's points) and in the OT setup and
                                   * OSN runs (CLOCK_MONOTONIC) */
} mpc_join_out;

/* Runs the join as `role` against `peer`.  0 or an MPC_ERR_* code, with a message in err
 * (never a key or a value): MPC_ERR_INPUT if either side has a duplicate key ("duplicate
 * keys on side A") or the parties disagree on the columns, MPC_ERR_PROTOCOL for a
 * malformed peer message, an invalid point or different job salts ("the parties disagree on
 * the join's salt"; both parties fail), the transport's codes. */
__attribute__((warn_unused_result))
int mpc_join_run(mpc_transport *t, uint32_t peer, mpc_join_role role, uint64_t stream,
                 const mpc_join_in *in, mpc_join_out *out, char *err, size_t errlen);

/* Frees out->share and clears *out (NULL accepted). */
void mpc_join_out_free(mpc_join_out *out);

#endif
