/* pool.h — mpcd's stock of Beaver triples, made in the background between jobs by every
 * configured party together (OT preprocessing over the whole mesh) and consumed by jobs that
 * involve every party (docs/preprocessing.md, "The pool").
 *
 * Every party's stock holds its shares of the same triples in the same order: they are made
 * in chunks the sequencer orders, and jobs take them first-in first-out in the order the
 * sequencer runs them.  The parties check before each job that their pools agree (same
 * generation session, same counts); if not (a party restarted), every party empties its
 * pool and the job makes its own material.  The stock lives only in memory: after a restart
 * nothing can be used twice.  Only the worker thread touches a pool, except the counters,
 * which STATUS reads. */
#ifndef MPCD_POOL_H
#define MPCD_POOL_H

#include <stdatomic.h>
#include <stdint.h>

#include "prep.h"
#include "transport.h"

typedef struct mpcd_pool mpcd_pool;

/* A pool holding up to `target` triples (> 0), generated `chunk` at a time.  NULL on
 * allocation failure. */
mpcd_pool *mpcd_pool_new(uint64_t target, uint64_t chunk);
/* Wipes the stock and frees everything; sets *p to NULL. */
void       mpcd_pool_destroy(mpcd_pool **p);

/* What the pool agrees on with its peers: the generation session's stream and the numbers
 * of triples ever added and ever taken. */
typedef struct {
    uint64_t session, added, taken;
} mpcd_pool_state;
void mpcd_pool_state_get(const mpcd_pool *p, mpcd_pool_state *st);

uint64_t mpcd_pool_stock(const mpcd_pool *p);        /* safe from any thread */
double   mpcd_pool_rate(const mpcd_pool *p);         /* triples/s of the last chunk, any thread */
uint64_t mpcd_pool_target(const mpcd_pool *p);
uint64_t mpcd_pool_chunk(const mpcd_pool *p);

/* Makes `n` more triples (at most target − stock) with every party of `mesh_view` (a view
 * over every configured party, in configured order, this party at index `self`) on
 * generation session `session`.  A new session (another stream id) empties the pool and
 * starts a fresh OT source (base OTs once per session).  0 or MPC_ERR_*; on failure the pool
 * is emptied. */
int mpcd_pool_generate(mpcd_pool *p, mpc_transport *mesh_view, uint32_t self, uint32_t n_parties,
                       uint64_t session, uint64_t n, int timeout_ms);

/* Empties the pool (wiping the stock) and drops its OT source. */
void mpcd_pool_reset(mpcd_pool *p);

/* A preprocessing source for one job involving every configured party: triples come from the
 * stock (first in, first out), any shortfall and every truncation tuple from the pool's OT
 * source on the same session — so every party must use it for the same jobs in the same
 * order.  NULL if the pool has no OT source yet.  Destroying the source leaves the pool. */
mpc_prep *mpcd_pool_source_new(mpcd_pool *p, uint32_t self, uint32_t n_parties);

#endif
