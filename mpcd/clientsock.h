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
/* Serves requests for up to timeout_ms.  Returns 0 (also when nothing arrived). */
int mpcd_clientsock_serve(mpcd_clientsock *cs, mpcd_jobs *jobs, const mpcd_status_extra *extra,
                          int timeout_ms);
/* The endpoint actually bound. */
const char *mpcd_clientsock_endpoint(const mpcd_clientsock *cs);
void mpcd_clientsock_destroy(mpcd_clientsock **cs);

#endif
