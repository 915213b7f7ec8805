/* transport_view.h — a job's view of the party mesh.  A job involves k of the mesh's nodes
 * (its program parties, bound to daemons, plus perhaps the dealer); the engine numbers them
 * 0..k-1.  A view translates those indices to mesh indices and forwards every call, so
 * protocol code never needs to know which daemons a job runs on. */
#ifndef MPC_TRANSPORT_VIEW_H
#define MPC_TRANSPORT_VIEW_H

#include <stdint.h>

#include "transport.h"

#define MPC_VIEW_MAX_NODES 17   /* 16 parties and a dealer */

/* A view of `mesh` (borrowed; must outlive the view) over nodes map[0..k-1] (distinct mesh
 * indices, one of them mesh->self).  Counters of the view count only its own traffic.  NULL
 * on bad arguments or allocation failure.  Destroy with mpc_transport_destroy (the mesh
 * stays). */
mpc_transport *mpc_transport_view_new(mpc_transport *mesh, const uint32_t *map, uint32_t k);

/* Another view of the same mesh and nodes as `view` (a view made by mpc_transport_view_new),
 * with counters of its own: a second thread of the same job — the producer of streamed
 * material (prep.h) — uses it beside the first.  NULL if view is not a view or memory is
 * short. */
mpc_transport *mpc_transport_view_clone(const mpc_transport *view);

#endif
