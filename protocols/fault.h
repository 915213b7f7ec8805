/* fault.h — deliberate deviations of a cheating party, for tests of malicious security through
 * real daemons (docs/security.md, "Testing a cheating daemon").  Compiled in only with
 * -DMPC_TEST_FAULTS, which the Makefile sets for the test daemon bin/tests/mpcd-faults alone;
 * in every other build (the release daemon, the libraries, the SDK) each hook below is an
 * inline no-op and no fault symbol exists (tests/daemon_malicious_faults.test.sh checks
 * `nm bin/mpcd`).
 *
 * The fault.  mpc_fault_load() (called by the daemon at the start of every malicious job)
 * reads MPC_TEST_FAULT = "kind:site:word:delta", or "@FILE" to read that line from FILE
 * (so one daemon can cheat differently from job to job); unset or empty: no fault.  The fault
 * is kept per thread (the job's worker thread runs the engine).  Kinds and their sites:
 *   open      N | outN   add delta to the word-th word of this party's share of the Beaver
 *                        openings (d, e) of layer N, or of the opening of output N (with
 *                        checked outputs: of its vector check's z), as sent
 *   triple    N          add delta to this party's share of c of the word-th triple of layer N
 *   triple-a  N          ... of a;  triple-b  N: ... of b (after the material is made)
 *   mask      inK | outN this party's share of the mask of the engine's input K, or of
 *                        output N's opening mask (value share only, not its MAC; with
 *                        checked outputs: of output N's vector-check pads, vcheck.h)
 *   delta     inK        the δ of input K (owned by this party) as sent to its last peer;
 *                        the party itself goes on with the true δ
 *   input     inK        the δ of input K before it is sent or used: an offset on this
 *                        party's own input share (not caught by design, docs/security.md)
 *   mac       N | inK | outN  this party's MAC share of the word-th value opened in layer N,
 *                        of input K's wire, or of output N's opening
 *   output    outN       checked outputs: the word-th word of this party's report of output N
 *                        for the client (its 64-bit shares, then its pad shares; vcheck.h),
 *                        before it commits to it: the client's vector check refuses it
 *   cmask     inK        client inputs (engine_mal.h, opts.client_input): the word-th word of
 *                        this party's report of input K's masks for the client (as for
 *                        `output`), not of the masks it uses: the client's check refuses it
 *   relay     inK        client inputs: the client's x − a of input K as this party uses
 *                        it, after hashing the vector it received: the MAC check fails
 *   bit       N          the random bits of layer N (TRUNC, LTZ, EQZ material; auth_bits.h):
 *                        the word-th bit this party enters, before it is masked (delta 2:
 *                        a non-bit, which every party then uses)
 *   rbit      N          ... this party's value share of the word-th random bit as made (the
 *                        edaBit of this design), after its check, before it is used
 *   tpair     N          this party's value share of r~ of the word-th TRUNC element of layer
 *                        N (the truncation pair's wide mask), after it is made
 * In layer N, `open` and `mac` name the Beaver and TRUNC openings; in a layer with neither (only
 * LTZ or EQZ), the comparison's masked opening y = x + r. `triple` names the layer's Beaver
 * triples, else the first triples the layer's random bits or comparisons use.
 * K counts the inputs of the circuit the engine runs (for a daemon: the program's inputs,
 * all given by clients).  delta is a decimal, possibly negative, added mod 2^128. */
#ifndef MPC_FAULT_H
#define MPC_FAULT_H

#include <stdint.h>

typedef enum {
    MPC_FAULT_OPEN = 1,
    MPC_FAULT_TRIPLE_C,
    MPC_FAULT_TRIPLE_A,
    MPC_FAULT_TRIPLE_B,
    MPC_FAULT_MASK,
    MPC_FAULT_DELTA,
    MPC_FAULT_INPUT,
    MPC_FAULT_MAC,
    MPC_FAULT_OUTPUT,
    MPC_FAULT_CMASK,
    MPC_FAULT_RELAY,
    MPC_FAULT_BIT,
    MPC_FAULT_RBIT,
    MPC_FAULT_TPAIR,
} mpc_fault_kind;

typedef enum { MPC_FAULT_AT_LAYER = 1, MPC_FAULT_AT_INPUT, MPC_FAULT_AT_OUTPUT } mpc_fault_at;

#ifdef MPC_TEST_FAULTS
/* Reads MPC_TEST_FAULT for this thread's next job; a spec it cannot parse is reported on
 * stderr and ignored. */
void mpc_fault_load(void);
/* If this thread's fault is (kind, at, index) and word < n: adds delta to v[word] (sign = −1:
 * subtracts it, to undo), says so on stderr, returns 1.  Else 0.  Never fires twice for one
 * load with sign = +1. */
int mpc_fault_u128(mpc_fault_kind kind, mpc_fault_at at, uint64_t index, unsigned __int128 *v, uint64_t n,
                   int sign);
int mpc_fault_u64(mpc_fault_kind kind, mpc_fault_at at, uint64_t index, uint64_t *v, uint64_t n);
#else
static inline void mpc_fault_load(void) {}
static inline int mpc_fault_u128(mpc_fault_kind kind, mpc_fault_at at, uint64_t index, unsigned __int128 *v,
                                 uint64_t n, int sign)
{
    (void)kind, (void)at, (void)index, (void)v, (void)n, (void)sign;
    return 0;
}
static inline int mpc_fault_u64(mpc_fault_kind kind, mpc_fault_at at, uint64_t index, uint64_t *v, uint64_t n)
{
    (void)kind, (void)at, (void)index, (void)v, (void)n;
    return 0;
}
#endif

#endif
