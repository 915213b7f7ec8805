/* metrics.h — mpcd's counters and their Prometheus text rendering (docs/daemon.md, "Metrics
 * and health"; served by http.h).
 *
 * The event counters are process-wide relaxed atomics, like the log (log.h): one daemon runs
 * per process, and the places that count (the worker, the client handlers, the ZAP handlers'
 * threads) need no pointer threaded through to them.  Each is bumped once per event — a job
 * ended, a client request answered, a refused handshake, a chunk of triples — never per
 * element.  What is a state rather than an event (jobs per state, the pool's stock, the
 * peers' connections and traffic) is read from its owner when a scrape renders it:
 * mpcd_metrics_source names those owners. */
#ifndef MPCD_METRICS_H
#define MPCD_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "jobs.h"
#include "pool.h"
#include "transport.h"
#include "zap.h"

/* ---- events (any thread) ---- */

/* A job reached its end (outcome DONE, FAILED or CANCELLED), submitted at submitted_ms
 * (mpc_now_ms() time).  Call once per job, when it first becomes finished. */
void mpcd_metrics_job_ended(mpcd_job_state outcome, uint64_t submitted_ms);
/* The engine finished a job's evaluation: its opening rounds and the triples it used. */
void mpcd_metrics_engine(uint64_t rounds, uint64_t triples_used);
/* Triples made: for the pool (pool != 0) or for one job's own preprocessing. */
void mpcd_metrics_triples_made(int pool, uint64_t n);
/* A handshake refused by a ZAP handler, on the peer (client == 0) or the client endpoint. */
void mpcd_metrics_refused(int client, mpc_zap_refusal why);
/* A client request of this type (MPC_CW_*, client-sdk/cwire.h) answered with a reply
 * (ok != 0) or an ERROR. */
void mpcd_metrics_request(unsigned type, int ok);
/* One private join of a job ran to its end here (ok != 0) or failed (any party's failure,
 * a cancel or the job's deadline included). */
void mpcd_metrics_join(int ok);

/* ---- rendering (any thread; the HTTP server's) ---- */

#define MPCD_METRICS_MAX_NODES (MPC_MAX_PARTIES + 1)

typedef struct {
    mpcd_jobs     *jobs;        /* NULL for the dealer process */
    mpc_transport *mesh;        /* the ZeroMQ mesh (transport_zmq.h) */
    mpcd_pool     *pool;        /* NULL without a pool */
    uint32_t       n_nodes;     /* mesh nodes: the parties, then the dealer if there is one */
    uint32_t       self;
    char           names[MPCD_METRICS_MAX_NODES][MPC_NAME_MAX];   /* each node's label */
} mpcd_metrics_source;

/* Writes every metric in the Prometheus text exposition format (version 0.0.4). */
void mpcd_metrics_render(const mpcd_metrics_source *src, FILE *out);
/* 1 when the mesh is connected to every peer; otherwise 0 with one line in reason naming each
 * peer that is not, and since when (UTC). */
int  mpcd_metrics_healthy(const mpcd_metrics_source *src, char *reason, size_t reasonlen);

#endif
