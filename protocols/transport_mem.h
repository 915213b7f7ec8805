/* transport_mem.h — the in-memory transport: n nodes as threads of one process share a hub
 * that keeps one FIFO per directed pair.  It implements every rule of transport.h (streams
 * held by stream id, exact type/seq/count checks, ABORT, timeouts, counters) so that protocol
 * code tested on it behaves the same on the ZeroMQ backend.  For tests only.
 * Threads: like the ZeroMQ backend, one endpoint may be used by several threads at once on
 * different streams (one lock guards the hub and the endpoint's counters). */
#ifndef MPC_TRANSPORT_MEM_H
#define MPC_TRANSPORT_MEM_H

#include <stdint.h>

#include "transport.h"

#define MPC_MEM_HDR_BYTES 32   /* header bytes counted per message (the wire header's size) */

typedef struct mpc_mem_hub mpc_mem_hub;

/* A hub for n nodes (2..64); default_timeout_ms is used by recv calls with timeout < 0.
 * NULL on failure. */
mpc_mem_hub *mpc_mem_hub_new(uint32_t n, int default_timeout_ms);
/* Frees the hub and every undelivered message; all endpoints must be destroyed first. */
void mpc_mem_hub_destroy(mpc_mem_hub **h);
/* Caps the payload bytes held for one directed pair; a send beyond it fails with
 * MPC_ERR_LIMIT (0 = no cap, the default). */
void mpc_mem_hub_set_limit(mpc_mem_hub *h, uint64_t max_held_bytes);

/* Node `self`'s endpoint (one per node; destroy it with mpc_transport_destroy).  NULL on
 * failure or if self is out of range or already taken. */
mpc_transport *mpc_mem_transport_new(mpc_mem_hub *h, uint32_t self);

/* Test hook: delivers a raw message to node `to` exactly as given — any header (wrong
 * version, sender, stream, type, seq or count) and a payload of payload_count elements that
 * need not match hdr->count.  hdr->sender names the queue it lands in (from hdr->sender to
 * `to`), so it must be a valid node index.  0 or MPC_ERR_INVALID / MPC_ERR_NOMEM. */
int mpc_mem_inject(mpc_mem_hub *h, uint32_t to, const mpc_msg_hdr *hdr,
                   const uint64_t *payload, uint64_t payload_count);

/* Messages currently held for `to` from `from` (all streams); for tests. */
uint64_t mpc_mem_pending(mpc_mem_hub *h, uint32_t from, uint32_t to);

#endif
