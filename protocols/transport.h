/* transport.h — the small message interface the protocols speak.
 * protocols/ never includes zmq.h except in the ZeroMQ backend and its ZAP handler (zap.c);
 * the in-memory backend (transport_mem.c) serves the unit tests.
 *
 * A message is a header plus a payload of `count` uint64 elements, little-endian on the wire
 * (this code base assumes a little-endian host and checks it at compile time).  Messages
 * between a directed pair of parties arrive in order.
 *
 * Streams.  `stream` names the stream a message belongs to: a stream id, which the caller
 * chooses (mpcd gives each job run its own; background preprocessing uses ids with
 * MPC_STREAM_PREP_BIT set).  recv() takes the next message from `from` on `stream`;
 * messages from `from` for other streams are held (bounded by the backend's limits)
 * for a later recv on their stream, and mpc_transport_forget() drops what is held for a
 * stream that has ended.  Within a stream, the message must carry exactly the expected type,
 * seq and count, otherwise recv fails with MPC_ERR_PROTOCOL and the message is discarded.
 * A message of type MPC_MSG_ABORT on the stream from ANY peer makes every later recv on that
 * stream fail with MPC_ERR_PEER_ABORT (whoever is being waited for), until forget().
 */
#ifndef MPC_TRANSPORT_H
#define MPC_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "mpcd sends raw uint64 payloads and assumes a little-endian host"
#endif

#define MPC_WIRE_VERSION  1
/* Set in the stream ids of background preprocessing (never in a job run's stream). */
#define MPC_STREAM_PREP_BIT  (1ull << 63)

/* Message types on the peer mesh. */
typedef enum {
    MPC_MSG_OPEN = 1,      /* a round's openings (Beaver d/e, truncation, comparison) */
    MPC_MSG_INPUT = 2,     /* input sharing traffic */
    MPC_MSG_OUTPUT = 3,    /* output shares to a recipient party */
    MPC_MSG_PREP = 4,      /* preprocessing traffic (dealer seeds, OT) */
    MPC_MSG_CONTROL = 5,   /* job agreement and other control messages */
    MPC_MSG_ABORT = 6,     /* payload[0] = an MPC_ERR_* code (as uint64 two's complement);
                            * payload[1], if sent, = the index of the party the sender lost
                            * (it timed out or disconnected), MPC_ABORT_NO_PARTY if none */
} mpc_msg_type;

typedef struct {
    uint8_t  version;
    uint8_t  type;
    uint16_t sender;
    uint64_t stream;
    uint64_t seq;
    uint64_t count;        /* payload elements */
} mpc_msg_hdr;

typedef struct mpc_transport mpc_transport;

struct mpc_transport_ops {
    /* Sends `count` elements to party `to` (!= self).  The caller keeps ownership of `data`;
     * it may be reused as soon as send returns. */
    int  (*send)(mpc_transport *t, uint32_t to, uint8_t type, uint64_t stream, uint64_t seq,
                 const uint64_t *data, uint64_t count);
    /* Receives the next message from `from` on `stream` into out[0..count-1]; it must be
     * of type `type` with sequence number `seq` and exactly `count` elements.  Waits at most
     * timeout_ms (< 0: the backend's default).  0, MPC_ERR_TIMEOUT, MPC_ERR_PROTOCOL,
     * MPC_ERR_PEER_ABORT, MPC_ERR_IO (peer disconnected), MPC_ERR_LIMIT (a size or holding
     * limit was hit), MPC_ERR_INVALID (bad arguments).  send returns 0, MPC_ERR_TIMEOUT,
     * MPC_ERR_IO, MPC_ERR_LIMIT, MPC_ERR_STATE or MPC_ERR_INVALID. */
    int  (*recv)(mpc_transport *t, uint32_t from, uint8_t type, uint64_t stream, uint64_t seq,
                 uint64_t *out, uint64_t count, int timeout_ms);
    /* Drops any held messages of `stream`. */
    void (*forget)(mpc_transport *t, uint64_t stream);
    /* Frees the backend; sets *t to NULL. */
    void (*destroy)(mpc_transport **t);
    /* Optional (may be NULL).  If a peer's ABORT of `stream` is held, sets *from to that
     * peer and *lost to the party it named as lost (MPC_ABORT_NO_PARTY if none, or if the
     * index it sent is out of range) and returns 1; otherwise returns 0. */
    int  (*abort_info)(mpc_transport *t, uint64_t stream, uint32_t *from, uint32_t *lost);
    /* Optional (may be NULL).  The bytes (header and payload) the backend counts in
     * bytes_sent / bytes_recv for one message of `count` elements with this type, stream and
     * seq: a transport shared by several threads cannot tell a caller how much its own call
     * added by the difference of the shared counters. */
    uint64_t (*wire_bytes)(const mpc_transport *t, uint8_t type, uint64_t stream, uint64_t seq, uint64_t count);
};

#define MPC_ABORT_NO_PARTY UINT32_MAX

/* Threads: a backend says whether several threads may call it at once (transport_zmq.h and
 * transport_mem.h: yes, on different streams; the view forwards to its mesh and keeps
 * counters of its own, so one view belongs to one thread at a time). */
struct mpc_transport {
    const struct mpc_transport_ops *ops;
    void     *impl;
    uint32_t  self;        /* this party's index */
    uint32_t  n;           /* number of parties */
    /* Counters kept by the backend (payload + header bytes). */
    uint64_t  bytes_sent, bytes_recv, msgs_sent, msgs_recv;
};

static inline int mpc_send(mpc_transport *t, uint32_t to, uint8_t type, uint64_t stream,
                           uint64_t seq, const uint64_t *data, uint64_t count)
{
    return t->ops->send(t, to, type, stream, seq, data, count);
}

static inline int mpc_recv(mpc_transport *t, uint32_t from, uint8_t type, uint64_t stream,
                           uint64_t seq, uint64_t *out, uint64_t count, int timeout_ms)
{
    return t->ops->recv(t, from, type, stream, seq, out, count, timeout_ms);
}

static inline void mpc_transport_forget(mpc_transport *t, uint64_t stream)
{
    t->ops->forget(t, stream);
}

/* See mpc_transport_ops.abort_info; 0 on a backend without it. */
static inline int mpc_transport_abort_info(mpc_transport *t, uint64_t stream, uint32_t *from, uint32_t *lost)
{
    *from = *lost = MPC_ABORT_NO_PARTY;
    return t->ops->abort_info ? t->ops->abort_info(t, stream, from, lost) : 0;
}

/* Sends ABORT of `stream` with `code` to party `to`, naming `lost` (MPC_ABORT_NO_PARTY:
 * none) as the party the sender lost. */
static inline int mpc_send_abort(mpc_transport *t, uint32_t to, uint64_t stream, int code, uint32_t lost)
{
    uint64_t w[2] = {(uint64_t)(int64_t)code, lost == MPC_ABORT_NO_PARTY ? UINT64_MAX : lost};
    return mpc_send(t, to, MPC_MSG_ABORT, stream, 0, w, 2);
}

/* See mpc_transport_ops.wire_bytes; the payload alone on a backend without it. */
static inline uint64_t mpc_transport_wire_bytes(const mpc_transport *t, uint8_t type, uint64_t stream, uint64_t seq,
                                                uint64_t count)
{
    return t->ops->wire_bytes ? t->ops->wire_bytes(t, type, stream, seq, count) : count * 8;
}

static inline void mpc_transport_destroy(mpc_transport **t)
{
    if (t && *t) (*t)->ops->destroy(t);
}

#endif
