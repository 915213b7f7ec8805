/* transport_zmq_int.h — what transport_zmq.c (messages: holding, reading, sending, receiving)
 * and transport_zmq_setup.c (construction, peers' sockets and keys, statistics) share.  Not
 * part of the API: transport_zmq.h is.  docs/transport.md describes the design. */
#ifndef MPC_TRANSPORT_ZMQ_INT_H
#define MPC_TRANSPORT_ZMQ_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#include "keys.h"
#include "transport_zmq.h"
#include "wire.h"
#include "zap.h"

#define S_ZAP_DOMAIN      "mpcd-peer"
#define S_MARKER_SLACK    64      /* held markers (aborts, errors) beyond max_held_msgs */
#define S_DOWN_GRACE_MS   50      /* after a disconnect, drain what already arrived */
#define S_HELLO_POLL_MS   20
#define S_MIN_MAXMSG      65536   /* ZMQ_MAXMSGSIZE floor: CURVE handshake commands */
#define S_MAXMSG_MARGIN   1024    /* CURVE MESSAGE framing around a payload frame */
#define S_NONE            1       /* s_take: nothing held for the stream */
/* A background thread reads the sockets itself only once no foreground thread has been in
 * recv for this long (a job between two rounds is back soon; handing the sockets over costs
 * two thread wake-ups). */
#define S_BG_DEFER_MS     5
/* A DEALER whose handshake a peer refused (libzmq then gives up on that connection) or that
 * holds the wrong one of the peer's two keys is made again after a pause that doubles from
 * S_RETRY_MIN_MS to S_RETRY_MAX_MS and starts again after a handshake succeeds. */
#define S_RETRY_MIN_MS    1000
#define S_RETRY_MAX_MS    30000
/* Payload frame size.  A payload longer than this travels as several frames of exactly
 * S_CHUNK bytes (the last one shorter), so that no single frame takes long to encrypt, cross
 * and decrypt: the receiver's I/O thread decrypts frame k while the sender's encrypts k + 1,
 * and ZeroMQ heartbeats (which only see whole frames) never starve behind a 50 MB frame. */
#define S_CHUNK           MPC_ZMQ_CHUNK_BYTES

/* Direct lanes (transport_zmq_direct.c): a payload of up to S_DIRECT_MAX bytes travels in the
 * frame of its header; a larger one in frames of its own, S_DL_PART bytes each (the last one
 * shorter), after a frame that carries its header. */
#define S_DIRECT_MAX      4096
#define S_DL_PART         65536
#define S_SPIN_US         50     /* zt_lane_spin: longest spin before blocking */
#define S_SPIN_MISSES     4      /* ... empty spins in a row before resting */
#define S_SPIN_REST       256    /* ... waits without a spin after that */
#define S_FAST_MAX_MS     2      /* s_lane_fast: the usual pass at least this often */

enum { S_PEER_NEW, S_PEER_UP, S_PEER_DOWN };
enum { S_HELD_MSG, S_HELD_MARKER, S_HELD_ABORT };

/* A message (or the trace of one) from a peer, waiting for a recv on its stream. */
typedef struct s_held {
    struct s_held *next;
    int            kind;
    mpc_msg_hdr    hdr;
    int            err;         /* S_HELD_MARKER: what recv on the stream returns */
    const char    *why;         /* S_HELD_MARKER: reason, a static string */
    int64_t        abort_code;  /* S_HELD_ABORT: the peer's MPC_ERR_* code */
    uint32_t       abort_lost;  /* S_HELD_ABORT: the party it lost, or MPC_ABORT_NO_PARTY */
    zmq_msg_t      payload;     /* S_HELD_MSG only: the first (or only) payload frame */
    zmq_msg_t     *more;        /* S_HELD_MSG: the other payload frames, in order (malloc) */
    uint32_t       nmore;
    size_t         bytes;       /* S_HELD_MSG: payload bytes in all */
} s_held;

/* What the caller of s_process is waiting for.  An undecodable message from `from` fails
 * it; once something for (from, stream) has arrived, s_process stops reading, so the rest stays
 * in libzmq's queue (bounded by ZMQ_RCVHWM) instead of in ours. */
typedef struct {
    uint32_t from;
    uint64_t stream;
    int      fail;
    int      found;
    int      small;   /* small enough for a direct lane (count * 8 <= S_DIRECT_MAX) */
} s_want;

/* A ZeroMQ message from a peer with a direct lane that came before the lane's marker
 * allowed it (its frames as read; classified once allowed). */
typedef struct s_parked {
    struct s_parked *next;
    zmq_msg_t  f[3];
    int        nf, extra;
    zmq_msg_t *more;
    uint32_t   nmore;
    size_t     bytes;
} s_parked;

/* A direct lane to a peer (transport_zmq_direct.c, docs/transport.md "Direct lanes").  All
 * under mu; the fd is polled and read by the reader token's holder only. */
typedef struct {
    int       fd;               /* -1: none */
    int       broken;           /* failed: no longer used; the reader closes it */
    const char *why;            /* static reason of the failure */
    int       wbusy;            /* a thread is in the middle of writing a frame */
    int       order;            /* ZeroMQ stream messages from the peer pass the ordering gate */
    int       synced;           /* the peer's LANE_SYNC for this lane has come: its frames may be read */
    uint64_t  id;               /* names the lane in LANE_SYNC (a hash of the two ephemeral keys) */
    struct s_lane_keys *keys;   /* sodium_malloc: the two keys and the plaintext buffers */
    uint64_t  ntx, nrx;         /* nonces of the next frame out and in */
    uint64_t  zsent;            /* ZeroMQ stream messages sent to the peer since the lane came up */
    uint64_t  zfiled;           /* ... received from it and filed */
    uint64_t  zallowed;         /* ... that its markers allow us to file */
    void     *etx, *erx;        /* OpenSSL EVP_CIPHER_CTX: AES-256-GCM keyed for each direction */
    uint8_t  *wbuf;             /* a frame being written (ciphertext only) */
    uint8_t  *rbuf;             /* ciphertext read, not yet decrypted: bytes [roff, rlen) */
    size_t    roff, rlen;
    int       have_pt;          /* keys->pt holds a decrypted frame waiting for its turn */
    size_t    ptlen;
    /* A large message being put together from its part frames (decrypted into buf, which
     * becomes the held message's payload); skip: refused at its header, parts read and dropped. */
    struct {
        int         active, skip;
        mpc_msg_hdr h;
        size_t      hlen;
        uint8_t    *buf;
        size_t      need, have;
    } as;
    s_parked *phead, *ptail;    /* ZeroMQ messages waiting for their marker */
    uint64_t  pcount, pbytes;
    uint32_t  spin_misses;      /* spins in a row that saw nothing (zt_lane_spin) */
    uint32_t  spin_rest;        /* waits left without a spin after too many misses */
} s_lane;

typedef struct {
    void    *dealer;            /* our CURVE client towards this peer's ROUTER */
    void    *mon;               /* PAIR reading the DEALER's monitor events */
    int      connected;         /* zmq_connect() done */
    int      state;             /* S_PEER_* as seen from the DEALER's monitor */
    uint64_t epoch;             /* number of UP -> DOWN transitions */
    int      hello_seen;        /* a HELLO or HELLO_ACK arrived from this peer */
    int      ack_pending;       /* we owe it a HELLO_ACK */
    int      auth_refused;      /* ZAP status of the peer refusing our key, or 0 */
    int      hs_failed;         /* a handshake failed for another reason */
    /* The peer's keys (its public_key and, during a rotation, its next one); the DEALER uses
     * keys[key_idx] as the CURVE server key. */
    uint8_t  keys[2][MPC_KEY_BYTES];
    int      nkeys, key_idx;
    int      switch_key;        /* the server key looks wrong: the next DEALER tries the other */
    uint64_t retry_at;          /* mpc_now_ms() time to make the DEALER again, or 0 */
    uint64_t backoff_ms;        /* the pause before the next retry after this one */
    uint32_t gen;               /* DEALERs made so far (names the monitor endpoint) */
    uint64_t reopens;           /* DEALERs made again (stats) */
    char     endpoint[MPC_ZMQ_ENDPOINT_MAX];
    /* What mpc_transport_zmq_peer_info reports, readable from any thread: an
     * MPC_ZMQ_PEER_* and the mpc_now_ms() time it began. */
    atomic_int      pub_state;
    atomic_uint_fast64_t pub_since;
    /* Traffic with this peer (counted messages: not HELLO/HELLO_ACK), for
     * mpc_transport_zmq_peer_traffic from any thread; one relaxed add per message. */
    atomic_uint_fast64_t pub_bytes_sent, pub_bytes_recv, pub_msgs_sent, pub_msgs_recv;
    s_held  *head, *tail;       /* held messages from this peer, arrival order */
    char     direct[MPC_ZMQ_ENDPOINT_MAX];   /* its direct lane listener ("" none) */
    s_lane   lane;
    uint64_t lane_retry_at;     /* lower index: mpc_now_ms() time of the next attempt to make the
                                 * lane to this (higher) peer again, 0 at once */
    uint64_t lane_backoff_ms;   /* the pause after the next failed attempt */
    atomic_int pub_lane;        /* 1 while the lane is usable, for any thread */
} s_peer;

typedef struct {
    mpc_transport base;         /* first member: &z->base == the public handle */
    mpc_zmq_config cfg;         /* copy; pointer members cleared */
    void         *ctx, *router;
    mpc_zap      *zap;          /* admits the peers' keys, User-Id = the peer's index */
    mpc_keypair  *keys;
    s_peer        peer[MPC_ZMQ_MAX_PARTIES];
    /* New peer keys from mpc_transport_zmq_set_peer_keys (any thread), taken in by the thread
     * using the transport at its next s_process. */
    pthread_mutex_t kmu;
    atomic_int    keys_pending;
    uint8_t       pend_pub[MPC_ZMQ_MAX_PARTIES][MPC_KEY_BYTES];
    uint8_t       pend_next[MPC_ZMQ_MAX_PARTIES][MPC_KEY_BYTES];
    char          endpoint[MPC_ZMQ_ENDPOINT_MAX];
    char          err[512];
    /* Threads (docs/transport.md, "Threading"): `mu` guards everything above and below that
     * is not an atomic, and every use of a DEALER.  The ROUTER and the monitor PAIRs belong to
     * the one thread that holds the reader token (`reading`), which polls them with `mu`
     * released and files what arrived with `mu` held; with no reader, whoever holds `mu` may
     * read them.  `cv` is broadcast whenever the reader filed traffic or gave up the token. */
    pthread_mutex_t mu;
    pthread_cond_t  cv;
    int           reading;
    pthread_t     reader;
    /* Background threads (mpc_transport_zmq_background): while a foreground thread is in
     * recv, a background thread does not read; it waits on cv_bg, woken when the foreground
     * reader files the message it waits for (bg_from, bg_stream).  A foreground thread that
     * finds a background thread reading writes `wakefd` (in the reader's poll set), so that
     * the background reader hands the token over at once. */
    pthread_cond_t  cv_bg;
    int           reader_bg, wake_sent, fg_active, bg_waiting, bg_wake;
    atomic_int    kicked;           /* mpc_transport_zmq_wake wrote wakefd; s_process drains it */
    uint64_t      fg_last_ms;       /* when a foreground thread last left recv */
    uint64_t      fast_since;       /* s_lane_fast: start of its run since the last s_process */
    int           fast_on;          /* ... such a run is going on */
    uint32_t      bg_from;
    uint64_t      bg_stream;
    int           wakefd;
    char          direct_bind[MPC_ZMQ_ENDPOINT_MAX];   /* our direct lane listener ("" none) */
    int           dl_listen;        /* its socket for the transport's life, or -1 */
    int           dl_started;       /* mpc_transport_zmq_direct has run: lanes are made again */
    uint64_t      dl_pause_until;   /* after a refused connection the listener rests until then */
    /* lane counters, read from any thread (mpc_transport_zmq_direct_stats) */
    atomic_uint_fast64_t dl_refused, dl_failures, dl_msgs_sent, dl_msgs_recv, dl_made, dl_fast;
    uint64_t      malformed, protocol_errors, held_count, held_msgs, held_bytes, held_dropped,
                  disconnects;
} s_zt;

extern const struct mpc_transport_ops zt_ops;

/* The transport behind a handle, or NULL if it is not a ZeroMQ one. */
s_zt *zt_self(const mpc_transport *t);
/* Records the reason of the failed call (the calling thread's and z->err). */
void  zt_seterr(s_zt *z, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* snprintf into err[errlen] (nothing if err is NULL). */
void  zt_fmt(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void  zt_held_free(s_zt *z, s_held *e);
/* The DEALER towards peer j (and its monitor): made, or closed. */
int   zt_open_peer(s_zt *z, uint32_t j, char *err, size_t errlen);
void  zt_close_peer(s_peer *p);
int   zt_peer_set_keys(s_peer *p, const uint8_t pub[MPC_KEY_BYTES], const uint8_t next[MPC_KEY_BYTES]);

/* mu held: this thread may read the ROUTER, the monitors and the lanes. */
int   zt_may_read(const s_zt *z);
/* mu held, may read: files whatever has arrived, without waiting (a sender waiting for room). */
void  zt_drain(s_zt *z);

/* Direct lanes (transport_zmq_direct.c). */
int   zt_direct_listen(s_zt *z, char *err, size_t errlen);
void  zt_direct_unlisten(s_zt *z);
int   zt_lane_usable(const s_lane *l);
void  zt_lane_fail(s_zt *z, uint32_t j, const char *why);
/* A stream message of count words to peer j goes on its lane (up, and within direct_max_bytes). */
int   zt_lane_takes(const s_zt *z, uint32_t j, uint64_t count);
void  zt_lane_close(s_lane *l);
/* A stream message (header bytes, payload) to peer j on its lane; a marker after a ZeroMQ one. */
int   zt_lane_send(s_zt *z, uint32_t j, const uint8_t *hdr, size_t hlen, const void *payload, size_t plen,
                   int timeout_ms);
int   zt_lane_mark(s_zt *z, uint32_t j, int timeout_ms);
/* The reader: files what the lane of peer j allows; 1 if anything moved. */
int   zt_lane_read(s_zt *z, uint32_t j, s_want *w);
/* A decrypted frame, or whole frames, wait on peer j's lane: a reader must not sleep. */
int   zt_lane_pending(const s_lane *l);
int   zt_lane_spin(s_zt *z, uint32_t j);
/* mu held, reader: accepts a lane on our listener, or makes again the lanes to higher peers
 * that are up and have none (bounded, docs/transport.md "Direct lanes"). */
void  zt_lane_service(s_zt *z);
/* The listener's fd when the reader should poll it, else -1. */
int   zt_lane_listen_fd(const s_zt *z);
/* transport_zmq.c: sends LANE_SYNC (lane id) to peer j on ZeroMQ, after which our ZeroMQ
 * messages to it take their place among the lane's frames. */
int   zt_send_sync(s_zt *z, uint32_t j, uint64_t id, int timeout_ms);
/* A LANE_SYNC from peer j arrived (mu held, reader). */
void  zt_lane_synced(s_zt *z, uint32_t j, uint64_t id);
/* transport_zmq.c, for the lanes: files a message that came on peer j's lane (payload copied),
 * and classifies the parked ZeroMQ messages of peer j its markers now allow. */
void  zt_lane_deliver(s_zt *z, uint32_t j, const uint8_t *hdr, size_t hlen, const uint8_t *payload, size_t plen,
                      s_want *w);
/* The same in two steps, for a large message: the header (decoded into h; plen SIZE_MAX: count
 * * 8) is checked first — 0 accepted, 1 refused (a marker for its stream is filed), -1
 * undecodable — and the payload, put together by the lane, is filed later (pm taken over). */
int   zt_lane_header(s_zt *z, uint32_t j, const uint8_t *hdr, size_t hlen, size_t plen, mpc_msg_hdr *h, s_want *w);
void  zt_lane_file(s_zt *z, uint32_t j, const mpc_msg_hdr *h, size_t hlen, zmq_msg_t *pm, s_want *w);
void  zt_release_parked(s_zt *z, uint32_t j, s_want *w);

/* The transport operations (transport.h) that transport_zmq.c implements. */
int  zt_op_send(mpc_transport *t, uint32_t to, uint8_t type, uint64_t stream, uint64_t seq,
                const uint64_t *data, uint64_t count);
int  zt_op_recv(mpc_transport *t, uint32_t from, uint8_t type, uint64_t stream, uint64_t seq,
                uint64_t *out, uint64_t count, int timeout_ms);
int  zt_op_abort_info(mpc_transport *t, uint64_t stream, uint32_t *from, uint32_t *lost);
void zt_op_forget(mpc_transport *t, uint64_t stream);

#endif
