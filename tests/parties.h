/* parties.h — test helper: runs the nodes of a protocol (parties, and a dealer when there is
 * one) as threads of the test over one in-memory hub (protocols/transport_mem.h).  The
 * engine tests have their own, richer harness over this pattern (tests/enginetest.h). */
#ifndef MPC_TEST_PARTIES_H
#define MPC_TEST_PARTIES_H

#include <stdint.h>

#include "transport.h"
#include "transport_mem.h"

typedef struct {
    void           *(*fn)(void *arg);   /* the node's thread */
    void            *arg;
    mpc_transport  **t;                 /* receives the node's transport before fn starts */
    /* optional: replaces the node's transport (e.g. by a recording wrapper that owns it) */
    mpc_transport *(*wrap)(mpc_transport *t, void *arg);
} th_node;

/* Runs nodes[0..n-1] (n <= 17): node i gets mpc_mem_transport_new(hub, i) — wrapped when
 * wrap is set — in *nodes[i].t, then runs fn(arg) in its own thread.  When every thread has
 * returned, the transports are destroyed (*t set to NULL) and the hub; results stay in the
 * nodes' args.  timeout_ms is the hub's receive timeout.  Fails the test if a transport or
 * thread cannot be made. */
void th_run_mem(uint32_t n, int timeout_ms, const th_node *nodes);

/* The same, but the transports outlive the run (so the test can read their counters): the
 * hub is returned, and th_free destroys the transports and it. */
mpc_mem_hub *th_run_mem_keep(uint32_t n, int timeout_ms, const th_node *nodes);
void th_free(uint32_t n, const th_node *nodes, mpc_mem_hub **hub);

#endif
