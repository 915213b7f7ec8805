/* prep_dealer.h — preprocessing from a dealer: a SEMI-TRUSTED third party.  Whoever runs the
 * dealer learns every triple and mask, so the dealer colluding with any one party learns
 * every secret of every job it served.  Use it for tests, benchmarks and deployments that
 * accept such a helper (docs/design.md, "Security model"; docs/engine.md, "Preprocessing and the dealer").
 *
 * The dealer is node n of a transport with n + 1 nodes and serves one stream id (a job id,
 * or a preprocessing session id with MPC_STREAM_PREP_BIT set).  Per batch k every party sends
 * its request (type MPC_MSG_PREP, seq 2k: [op = 1, n_triples, n_groups, n_edabits,
 * n_btriples, n_dabits, n_squares]; seq 2k+1: the
 * groups as [m, l, n] triples); the dealer checks that all n requests are identical, else it
 * aborts the stream on every party.  Seed compression: the explicit party of batch k is
 * e = k mod n; every party receives a fresh 32-byte seed (seq k) and expands its a, b (and,
 * when it is not e, its c and truncation shares) with the PRG; e additionally receives
 * c_e = (sum a)(sum b) - sum_{j != e} c_j and its explicit truncation shares (square pairs
 * alike: sa from the seed, sa2_e = (sum sa)^2 - sum_{j != e} sa2_j).  So a triple or a square
 * pair costs 8 bytes of dealer traffic in all, a truncation tuple 24.  A request [op = 0, 0, 0]
 * says goodbye; the serve loop returns when every party has said it. */
#ifndef MPC_PREP_DEALER_H
#define MPC_PREP_DEALER_H

#include <stddef.h>
#include <stdint.h>

#include "prep.h"
#include "transport.h"

typedef struct {
    uint64_t batches, triples, trunc, squares;
    uint64_t edabits, btriples, dabits;   /* binary triples in words */
    uint64_t explicit_count[16];  /* batches in which party i was the explicit party */
} mpc_dealer_stats;

/* The dealer's serve loop (run by `mpcd dealer`): t->self must be n_parties, t->n at least
 * n_parties + 1.  Serves `stream` until every party said goodbye (returns 0) or a failure:
 * a request mismatch (MPC_ERR_PROTOCOL, all parties get ABORT), a timeout waiting more than
 * timeout_ms for a request, an abort from a party.  err names the party at fault. */
__attribute__((warn_unused_result))
int mpc_dealer_serve(mpc_transport *t, uint32_t n_parties, uint64_t stream, int timeout_ms,
                     mpc_dealer_stats *st, char *err, size_t errlen);

/* The party side: a source fetching from dealer node `dealer` on `stream` over t (borrowed,
 * must outlive the source).  Destroying it says goodbye to the dealer unless it aborted. */
mpc_prep *mpc_prep_dealer_new(mpc_transport *t, uint32_t self, uint32_t n_parties,
                              uint32_t dealer, uint64_t stream, int timeout_ms);

/* TEST ONLY: an in-process source whose material for all parties derives deterministically
 * from `master` (32 bytes), so n instances with the same master and the same request
 * sequence hold consistent shares without any dealer traffic.  Anyone with the master knows
 * everything: never use it outside tests. */
mpc_prep *mpc_prep_testlocal_new(const uint8_t master[32], uint32_t self, uint32_t n_parties);

#endif
