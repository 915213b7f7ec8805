/* handlers.h — what mpcd does with each client request (docs/daemon.md, "Client protocol"),
 * separated from the socket so it can be tested without one.  `client` is the name the ZAP
 * handler attached to the connection (the authenticated CURVE key's [client NAME] section),
 * never anything the client said.  Every refusal is an ERROR reply with a one-line message
 * naming this party, the job and the cause; nothing is stored for a refused request. */
#ifndef MPCD_HANDLERS_H
#define MPCD_HANDLERS_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "cwire.h"
#include "jobs.h"

typedef struct {
    uint64_t triples_stock;                /* reported by STATUS */
    double   triples_per_s;                /* the pool's generation rate */
    uint32_t n_peers;                      /* this daemon's peers as its mesh sees them */
    mpc_cwire_peer peers[MPC_CWIRE_MAX_PEERS];
} mpcd_status_extra;

/* Handles req (decoded, with its payload frame) and fills rep.  For a RESULT with a share,
 * *share receives a malloc'ed copy of rep->count words, owned by the caller, who must wipe it
 * before it is freed (clientsock.c hands it to ZeroMQ zero-copy with a wiping free function,
 * protocols/zmq_wipe.h); otherwise *share is NULL. */
void mpcd_handle(const mpcd_config *cfg, mpcd_jobs *jobs, const char *client,
                 const mpc_cwire_req *req, const uint8_t *payload, size_t payload_len,
                 const mpcd_status_extra *extra, mpc_cwire_rep *rep, uint64_t **share);

#endif
