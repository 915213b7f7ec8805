/* transport_zmq.h — the ZeroMQ + CURVE backend of transport.h: a mesh of n parties (2..16).
 *
 * Each party binds one ROUTER (CURVE server) for its peers and connects one DEALER (CURVE
 * client, the party's own key pair, the peer's public key as server key) to every other
 * party: messages from i to j travel on i's DEALER to j's ROUTER.  A ZAP handler (zap.h) in the
 * transport's own ZeroMQ context, started before the ROUTER binds, admits only the configured
 * peer public keys and sets User-Id to the peer's index; a received message is attributed to
 * that authenticated index only (the header's sender field must agree with it).
 * See docs/transport.md for framing, limits, heartbeats, stream holding and threading.
 *
 * Threading: several threads may use one transport at once (send, recv, forget, abort_info,
 * service, ready, stats, peer_up, connect_peer), each on streams of its own; two threads
 * receiving on the same stream from the same peer is undefined.  One mutex guards the state
 * and the sending sockets; the thread that needs to wait for traffic becomes the reader
 * (leader/follower, docs/transport.md "Threading"); mpc_transport_zmq_last_error gives the
 * calling thread's last error.  destroy only once no other thread uses it.  Internally it
 * runs one ZAP thread and the ZeroMQ I/O thread of its private context. */
#ifndef MPC_TRANSPORT_ZMQ_H
#define MPC_TRANSPORT_ZMQ_H

#include <stddef.h>
#include <stdint.h>

#include "keys.h"
#include "transport.h"
#include "zap.h"

#define MPC_ZMQ_MAX_PARTIES          16
#define MPC_ZMQ_ENDPOINT_MAX         256
#define MPC_ZMQ_DEFAULT_MAX_MSG      (128ull << 20)  /* payload bytes of one message */
#define MPC_ZMQ_DEFAULT_TIMEOUT_MS   30000
#define MPC_ZMQ_DEFAULT_HB_IVL_MS    200
#define MPC_ZMQ_DEFAULT_HELD_MSGS    256
#define MPC_ZMQ_DEFAULT_RCVHWM       64               /* messages queued per peer in libzmq */
/* Payload frame size on the wire: a payload longer than this travels as ceil(bytes / it)
 * frames, every one but the last exactly this long (docs/transport.md, "Framing"). */
#define MPC_ZMQ_CHUNK_BYTES          (1u << 20)

typedef struct {
    uint32_t self;                  /* this party's index, < n */
    uint32_t n;                     /* parties, 2..16 */
    /* Endpoint our ROUTER binds, e.g. "tcp://0.0.0.0:7001"; "tcp://127.0.0.1:*" picks a free
     * port (read it back with mpc_transport_zmq_endpoint()). */
    const char *bind;
    /* Endpoint of each peer's ROUTER; [self] is ignored.  NULL: connect later with
     * mpc_transport_zmq_connect_peer(). */
    const char *peer_endpoints[MPC_ZMQ_MAX_PARTIES];
    /* This party's key pair (copied; the caller keeps ownership). */
    const mpc_keypair *keys;
    /* Each peer's public key; [self] is ignored.  All must differ from each other and from
     * ours. */
    uint8_t peer_public[MPC_ZMQ_MAX_PARTIES][MPC_KEY_BYTES];
    /* A second key of each peer (all zero: none), e.g. the next key during a key rotation:
     * admitted as well, and when the handshake with one of the two fails towards that peer
     * the other is tried (docs/transport.md, "Key rotation and reconnects"). */
    uint8_t peer_next[MPC_ZMQ_MAX_PARTIES][MPC_KEY_BYTES];
    /* Limits and timing; 0 selects the default. */
    uint64_t max_msg_bytes;         /* largest payload accepted or sent (MPC_ZMQ_DEFAULT_MAX_MSG) */
    int      timeout_ms;            /* recv/send deadline when the caller passes < 0 (30 s) */
    int      heartbeat_ivl_ms;      /* ZMTP PING interval (200 ms) */
    int      heartbeat_timeout_ms;  /* no traffic for this long: connection dead (5 x ivl) */
    uint32_t max_held_msgs;         /* messages of other streams held (256) */
    uint64_t max_held_bytes;        /* payload bytes held (2 x max_msg_bytes) */
    int      rcvhwm;                /* messages libzmq queues per peer before back-pressure (64) */
    /* Called on the ZAP handler's thread for every refused handshake on our ROUTER (zap.h);
     * NULL: refusals are only counted (mpc_transport_zmq_stats auth_denied). */
    mpc_zap_refused_fn on_refused;
    void              *refused_ctx;
    /* Direct lanes (docs/transport.md, "Direct lanes"): the stream messages between two parties
     * that both name a direct endpoint travel on a stream socket of their own, encrypted here
     * (AES-256-GCM), instead of through ZeroMQ's I/O threads and CURVE.  direct_bind: where
     * ours listens, "tcp://A.B.C.D:PORT" (PORT 0 or *: the kernel picks; read it back with
     * mpc_transport_zmq_direct_endpoint) or "ipc://PATH"; NULL: no lanes.  peer_direct[j]:
     * peer j's (NULL: no lane with it).  direct_max_bytes: only messages of at most this many
     * payload bytes take the lane, larger ones ZeroMQ (0: every message, the default).  The
     * lanes come up in mpc_transport_zmq_direct(). */
    const char *direct_bind;
    const char *peer_direct[MPC_ZMQ_MAX_PARTIES];
    uint64_t    direct_max_bytes;
} mpc_zmq_config;

/* Zeroes cfg (all defaults); the caller then fills self, n, bind, endpoints and keys. */
void mpc_zmq_config_init(mpc_zmq_config *cfg);

/* Creates the context, starts the ZAP handler, binds the ROUTER and connects a DEALER to
 * every peer whose endpoint is given.  0, or MPC_ERR_CONFIG/INVALID/NOMEM/IO with a reason in
 * err (never key material). */
__attribute__((warn_unused_result))
int mpc_transport_zmq_new(mpc_transport **out, const mpc_zmq_config *cfg, char *err,
                          size_t errlen);

/* Replaces the peers' keys (pub[j], next[j] for j < n; [self] ignored; next all zero: none;
 * same rules as in mpc_zmq_config).  Unlike most calls, safe from any thread (a reload):
 * our ZAP handler admits the new keys at once; the thread using t takes the new server keys
 * of its DEALERs at its next call, makes a DEALER to a peer that is not up again at once, and
 * leaves up connections alone.  0, or MPC_ERR_CONFIG/NOMEM with a reason in err (nothing
 * changed then). */
__attribute__((warn_unused_result))
int mpc_transport_zmq_set_peer_keys(mpc_transport *t, const uint8_t (*pub)[MPC_KEY_BYTES],
                                    const uint8_t (*next)[MPC_KEY_BYTES], char *err, size_t errlen);

/* The endpoint actually bound (ZMQ_LAST_ENDPOINT), e.g. "tcp://127.0.0.1:41234". */
const char *mpc_transport_zmq_endpoint(const mpc_transport *t);

/* Connects the DEALER for `peer` (once; MPC_ERR_STATE if already connected). */
__attribute__((warn_unused_result))
int mpc_transport_zmq_connect_peer(mpc_transport *t, uint32_t peer, const char *endpoint);

/* Hello exchange: sends HELLO to every peer and waits until it has heard HELLO or HELLO_ACK
 * from each (so every peer's DEALER -> our ROUTER path is authenticated and working, and ours
 * towards every peer has accepted a message).  0, or MPC_ERR_TIMEOUT with the missing peers
 * and why (not connected, our key refused by it) in mpc_transport_zmq_last_error().
 * timeout_ms < 0: the configured default. */
__attribute__((warn_unused_result))
int mpc_transport_zmq_ready(mpc_transport *t, int timeout_ms);

/* Sets up the direct lanes (every party calls it once, after mpc_transport_zmq_ready; mu is
 * held throughout, so other threads wait): accepts the lanes of lower-index peers, connects to
 * higher-index ones, authenticates each with both parties' keys.  The listener stays open: from
 * then on the reader accepts lanes again (a restarted lower peer) and makes again the lanes to
 * higher peers that came back (docs/transport.md, "Direct lanes").  0 when every configured
 * lane is up; MPC_ERR_STATE if none is configured or it already ran; otherwise an error naming
 * the peers without a lane (their messages take ZeroMQ until one comes up: the transport works
 * either way). */
__attribute__((warn_unused_result))
int mpc_transport_zmq_direct(mpc_transport *t, int timeout_ms);

/* 0 if ep is a direct lane endpoint a peer can be given: "tcp://A.B.C.D:PORT" with PORT
 * 1..65535, or "ipc://PATH" that fits a Unix socket address; else MPC_ERR_CONFIG. */
int mpc_transport_zmq_direct_endpoint_ok(const char *ep);

/* Our direct lane endpoint as bound (the port read back), or "". */
const char *mpc_transport_zmq_direct_endpoint(const mpc_transport *t);

/* Processes incoming traffic for up to timeout_ms while no recv is pending: answers HELLOs of
 * (re)started peers, holds stream messages, notes disconnects.  0 or MPC_ERR_IO. */
int mpc_transport_zmq_service(mpc_transport *t, int timeout_ms);

/* Ends the current or the next wait of the thread reading the sockets (in service, recv or
 * ready) at once, as an arriving message would: a service call returns, a recv looks again
 * and waits on.  Any thread, any lock held (an atomic and an eventfd write).  mpcd wakes its
 * worker thread this way when a job becomes ready here (docs/daemon.md, "Waking the worker"). */
void mpc_transport_zmq_wake(mpc_transport *t);

/* Like mpc_send() but takes ownership of `data` (count uint64) and hands it to ZeroMQ without
 * copying: free_fn(data, hint) is called exactly once, possibly from a ZeroMQ I/O thread, when
 * ZeroMQ is done with it (also when this call fails). */
__attribute__((warn_unused_result))
int mpc_transport_zmq_send_owned(mpc_transport *t, uint32_t to, uint8_t type, uint64_t stream,
                                 uint64_t seq, uint64_t *data, uint64_t count,
                                 void (*free_fn)(void *data, void *hint), void *hint);

/* Marks the calling thread as a background user of every ZeroMQ transport (on != 0) or
 * not (0, the default).  A background thread (mpcd's worker, which reads control messages
 * while jobs run) never reads the sockets while a foreground thread is in recv or left it
 * less than 5 ms ago: the foreground reader files its messages and wakes it.  A foreground thread that finds a
 * background thread reading makes it hand the sockets over at once, so a job's thread reads
 * its own messages without a hand-off between threads (docs/transport.md, "Threading"). */
void mpc_transport_zmq_background(int on);

/* The reason of the last failure of a call on t (names the peer, stream, seq; never payload). */
const char *mpc_transport_zmq_last_error(const mpc_transport *t);

typedef struct {
    uint64_t auth_allowed;      /* CURVE handshakes our ZAP handler admitted */
    uint64_t auth_denied;       /* ... and refused (unknown key, wrong domain/mechanism) */
    uint64_t malformed;         /* messages refused before reaching a stream (bad frames/header) */
    uint64_t protocol_errors;   /* recv calls failed with MPC_ERR_PROTOCOL */
    uint64_t held_msgs;         /* currently held messages and markers */
    uint64_t held_bytes;        /* currently held payload bytes */
    uint64_t held_dropped;      /* messages dropped because the hold was full */
    uint64_t disconnects;       /* peer connections lost (DEALER side) */
    uint64_t remade;            /* DEALERs made again: after a refused handshake, or to try a
                                 * peer's other key (docs/transport.md, "Key rotation ...") */
    uint64_t direct_lanes;      /* direct lanes up now */
    uint64_t direct_sent;       /* messages sent on direct lanes (the rest took ZeroMQ) */
    uint64_t direct_recv;       /* ... received on them */
    uint64_t direct_failures;   /* lanes that failed (authentication, closed, not read) */
    uint64_t direct_refused;    /* connections to our listener that did not authenticate */
    uint64_t direct_made;       /* lanes set up so far, made again after a restart included */
    uint64_t direct_fast;       /* awaited messages read by spinning on their lane, without
                                 * zmq_poll (docs/transport.md, "Spinning on a lane") */
} mpc_zmq_stats;

void mpc_transport_zmq_stats(const mpc_transport *t, mpc_zmq_stats *st);
/* Only the direct_* fields of st (the others untouched), from relaxed atomics: unlike
 * mpc_transport_zmq_stats, safe from any thread without waiting (the daemon's metrics). */
void mpc_transport_zmq_direct_stats(const mpc_transport *t, mpc_zmq_stats *st);

/* 1 if our connection to `peer` is up as its socket monitor last reported (run
 * mpc_transport_zmq_service first to take in recent events), 0 otherwise.  The daemon uses
 * it to name the party behind a failed job. */
int mpc_transport_zmq_peer_up(const mpc_transport *t, uint32_t peer);

/* A peer's connection as last seen by the thread using t (its socket monitor: handshakes,
 * disconnects, heartbeat expiry) and since when (mpc_now_ms() time, clock.h; the transport's
 * creation for a peer never reached).  Unlike every other call, safe from any thread, for a
 * status report. */
enum { MPC_ZMQ_PEER_UP = 0, MPC_ZMQ_PEER_REFUSED = 1, MPC_ZMQ_PEER_DOWN = 2 };
void mpc_transport_zmq_peer_info(const mpc_transport *t, uint32_t peer, int *state, uint64_t *since_ms);

/* Traffic with one peer since the transport was made: the messages mpc_send and
 * mpc_transport_zmq_send_owned sent to it and those received from it that reached a stream,
 * with their header and payload bytes (the hello exchange is not counted).  Safe from any
 * thread (relaxed atomics, for the daemon's metrics); zeros for self or an unknown peer. */
typedef struct {
    uint64_t bytes_sent, bytes_recv, msgs_sent, msgs_recv;
} mpc_zmq_traffic;
void mpc_transport_zmq_peer_traffic(const mpc_transport *t, uint32_t peer, mpc_zmq_traffic *tr);

#endif
