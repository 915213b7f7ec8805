/* clientsock.h — mpcd's client endpoint: a CURVE-server ROUTER in its own ZeroMQ context
 * with a ZAP handler that admits only the public keys of the configuration's [client NAME]
 * sections and tags each connection with that NAME (ZMQ User-Id).  Requests are decoded with
 * the shared codec (client-sdk/cwire.h) and answered by mpcd_handle (handlers.h). */
#ifndef MPCD_CLIENTSOCK_H
#define MPCD_CLIENTSOCK_H

#include <stddef.h>

#include "config.h"
#include "handlers.h"
#include "jobs.h"
#include "keys.h"

typedef struct mpcd_clientsock mpcd_clientsock;

/* Binds cfg->client_endpoint with the daemon's key pair (borrowed for the call).  0 or
 * MPC_ERR_* with a reason in err. */
int mpcd_clientsock_new(mpcd_clientsock **out, const mpcd_config *cfg, const mpc_keypair *kp,
                        char *err, size_t errlen);
/* A reload: makes the ZAP handler admit the keys of cfg's [client] sections (public_key and
 * next_public_key) from now on.  When a key admitted so far is gone, every client connection
 * is closed so that each authenticates again.  Call it before the configuration the endpoint
 * reads (the one given to mpcd_clientsock_new) is replaced by cfg.  0 or MPC_ERR_* with a
 * reason in err (the admitted keys are unchanged then). */
int mpcd_clientsock_set_keys(mpcd_clientsock *cs, const mpcd_config *cfg, char *err, size_t errlen);
/* Waits up to timeout_ms for requests or a job-table change (mpcd_jobs_wake_fd), then serves
 * at most a bounded batch of requests and the held RESULTs that can be answered; never
 * blocks on a client.  Returns 0 (also when nothing arrived, or a signal interrupted). */
int mpcd_clientsock_serve(mpcd_clientsock *cs, mpcd_jobs *jobs, const mpcd_status_extra *extra,
                          int timeout_ms);
/* Replies dropped because the client's queue was full / the client had left; RESULT
 * requests held now; connections open now.  Any argument may be NULL. */
void mpcd_clientsock_stats(const mpcd_clientsock *cs, uint64_t *dropped_full, uint64_t *dropped_gone,
                           uint32_t *held, int64_t *connections);
/* The endpoint actually bound. */
const char *mpcd_clientsock_endpoint(const mpcd_clientsock *cs);
void mpcd_clientsock_destroy(mpcd_clientsock **cs);

#endif
