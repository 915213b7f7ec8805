/* zap.h — the ZeroMQ authentication handler (ZAP, ZeroMQ RFC 27) of every CURVE server in
 * this code base: the peer mesh (transport_zmq.c) and mpcd's client endpoint
 * (mpcd/clientsock.c).  docs/transport.md, "Authentication", describes it.
 *
 * A handler serves one ZeroMQ context: it binds a REP socket to inproc://zeromq.zap.01 of that
 * context and answers, on its own thread, every authentication request libzmq makes for the
 * context's CURVE servers.  It admits a CURVE client whose long-term public key is one of a
 * set (replaceable at run time, mpc_zap_set_keys; several keys may share one identity, e.g.
 * a current and a next key during a key rotation), and gives the connection that key's identity as its User-Id (read back on every
 * received message with zmq_msg_gets(msg, "User-Id")).  Everything else is refused: another
 * key, another ZAP domain, another mechanism, a malformed request.  A refusal is counted and
 * reported through a callback; nothing of the request reaches the callback but the peer's
 * address (printable characters only).
 *
 * Lifetime, tied to the context:
 *     ctx = zmq_ctx_new();
 *     mpc_zap_start(&zap, ctx, &cfg, ...);      before any CURVE server socket exists
 *     mpc_zap_attach(zap, server_socket);       on each server socket, before bind
 *     ...
 *     close the sockets; zmq_ctx_shutdown(ctx); mpc_zap_destroy(&zap); zmq_ctx_term(ctx);
 * zmq_ctx_shutdown ends the handler's blocking receive; mpc_zap_destroy then joins its thread.
 * This header does not include zmq.h (contexts and sockets are void *). */
#ifndef MPC_ZAP_H
#define MPC_ZAP_H

#include <stddef.h>
#include <stdint.h>

#include "keys.h"

#define MPC_ZAP_ENDPOINT  "inproc://zeromq.zap.01"
#define MPC_ZAP_ID_MAX    64      /* longest User-Id, bytes, NUL included */
#define MPC_ZAP_KEYS_MAX  1024    /* admitted keys per handler */

/* Why a request was refused (the callback's `why`). */
typedef enum {
    MPC_ZAP_UNKNOWN_KEY = 1,  /* well-formed CURVE request for our domain, key not admitted */
    MPC_ZAP_WRONG_DOMAIN,     /* a server socket with another ZAP domain asked */
    MPC_ZAP_WRONG_MECHANISM,  /* NULL or PLAIN instead of CURVE */
    MPC_ZAP_MALFORMED,        /* not a ZAP 1.0 request of 7 frames with a 32-byte key */
} mpc_zap_refusal;

/* Called on the handler's thread for every refused request.  address: the peer's address as
 * libzmq reported it (an IP address for TCP; "" when absent), sanitised. */
typedef void (*mpc_zap_refused_fn)(void *ctx, mpc_zap_refusal why, const char *address);

typedef struct {
    const char *domain;                        /* ZAP domain of our server sockets */
    uint32_t    n_keys;                        /* admitted keys, 0..MPC_ZAP_KEYS_MAX */
    const uint8_t (*keys)[MPC_KEY_BYTES];      /* keys[i]: an admitted public key ... */
    const char *const *ids;                    /* ... and its User-Id (1..63 bytes) */
    mpc_zap_refused_fn on_refused;             /* may be NULL */
    void       *refused_ctx;
} mpc_zap_config;

typedef struct mpc_zap mpc_zap;

/* Copies the configuration (keys, ids, domain), binds the handler in zmq_ctx and starts its
 * thread.  Keys must be distinct.  0, or MPC_ERR_CONFIG (bad configuration), MPC_ERR_NOMEM,
 * MPC_ERR_IO (cannot bind: e.g. the context has a handler already) with a reason in err. */
__attribute__((warn_unused_result))
int mpc_zap_start(mpc_zap **out, void *zmq_ctx, const mpc_zap_config *cfg, char *err,
                  size_t errlen);

/* Makes server_socket (a CURVE server of the handler's context) use this handler: sets its
 * ZAP domain and makes it refuse connections should the handler be unreachable
 * (ZMQ_ZAP_ENFORCE_DOMAIN, set and read back).  0, MPC_ERR_IO (the domain could not be set)
 * or MPC_ERR_UNSUPPORTED (libzmq refused ZMQ_ZAP_ENFORCE_DOMAIN: the socket must not be
 * used; MPC_ZAP_ENFORCE_ERROR is the message to give). */
#define MPC_ZAP_ENFORCE_ERROR "libzmq refused ZMQ_ZAP_ENFORCE_DOMAIN (needs libzmq >= 4.3), without which a " \
                              "CURVE server admits any key when its ZAP handler does not answer"
__attribute__((warn_unused_result))
int mpc_zap_attach(const mpc_zap *z, void *server_socket);

/* Replaces the admitted keys and their User-Ids (same rules as in mpc_zap_config; the domain
 * stays).  Any thread, at any time: the table is swapped under the handler's lock, so every
 * request decided after this returns sees the new set, and the old table is wiped and freed
 * once no decision reads it.  Connections already admitted are not affected (libzmq asks the
 * handler once per handshake).  0, or MPC_ERR_CONFIG / MPC_ERR_NOMEM with a reason in err;
 * the old set stays then. */
__attribute__((warn_unused_result))
int mpc_zap_set_keys(mpc_zap *z, uint32_t n_keys, const uint8_t (*keys)[MPC_KEY_BYTES],
                     const char *const *ids, char *err, size_t errlen);

/* Requests admitted and refused so far (any thread). */
uint64_t mpc_zap_admitted(const mpc_zap *z);
uint64_t mpc_zap_refused(const mpc_zap *z);

/* Joins the handler's thread (the context must have been shut down or terminated first,
 * see above), frees it and sets *z to NULL.  Accepts NULL. */
void mpc_zap_destroy(mpc_zap **z);

#endif
