/* transport_zmq.c — the ZeroMQ + CURVE peer mesh behind transport.h.
 * The only file of protocols/ that includes zmq.h.  Layout, limits and failure behaviour are
 * described in docs/transport.md; the header states the API contract. */
#include "transport_zmq.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "mpc_err.h"
#include "wire.h"
#include "zap.h"
#include "zmq_wipe.h"

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
    uint64_t      fg_last_ms;       /* when a foreground thread last left recv */
    uint32_t      bg_from;
    uint64_t      bg_stream;
    int           wakefd;
    uint64_t      malformed, protocol_errors, held_count, held_msgs, held_bytes, held_dropped,
                  disconnects;
} s_zt;

/* What the caller of s_process is waiting for.  An undecodable message from `from` fails
 * it; once something for (from, stream) has arrived, s_process stops reading, so the rest stays
 * in libzmq's queue (bounded by ZMQ_RCVHWM) instead of in ours. */
typedef struct {
    uint32_t from;
    uint64_t stream;
    int      fail;
    int      found;
} s_want;

static int s_is_wanted(const s_want *w, uint32_t peer, uint64_t stream)
{
    return w && w->from == peer && w->stream == stream;
}

static const struct mpc_transport_ops s_ops;

static void s_seterr(s_zt *z, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The last error of each thread, and the transport it came from: a thread reads back the
 * reason of its own failed call even while other threads fail calls of their own. */
static _Thread_local char s_tls_err[512];
static _Thread_local const void *s_tls_err_of;

static void s_seterr(s_zt *z, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s_tls_err, sizeof s_tls_err, fmt, ap);
    va_end(ap);
    s_tls_err_of = z;
    memcpy(z->err, s_tls_err, sizeof z->err);
}

static void s_fmt(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void s_fmt(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static _Thread_local int s_tls_bg;

void mpc_transport_zmq_background(int on)
{
    s_tls_bg = on != 0;
}

/* mu held: a message of (peer, stream) was filed; wake the background thread if it waits
 * for it. */
static void s_note_filed(s_zt *z, uint32_t peer, uint64_t stream)
{
    if (z->bg_waiting && z->bg_from == peer && z->bg_stream == stream) z->bg_wake = 1;
}

static s_zt *s_self(const mpc_transport *t)
{
    return (t && t->ops == &s_ops) ? (s_zt *)t->impl : NULL;
}

/* mu held.  1 if this thread may use the ROUTER and the monitors: it holds the reader token,
 * or nobody does. */
static int s_may_read(const s_zt *z)
{
    return !z->reading || pthread_equal(z->reader, pthread_self());
}

static void s_abstime(struct timespec *ts, int64_t ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += (time_t)(ms / 1000);
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* ---- held messages ---------------------------------------------------------------------- */

/* Payload frames may carry secrets (input PRG keys, dealer seeds, shares): every frame we
 * received is wiped before ZeroMQ frees it (zmq_wipe.h). */
static void s_parts_close(zmq_msg_t *parts, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) mpc_zmq_msg_wipe_close(&parts[i]);
    if (parts) sodium_memzero(parts, n * sizeof *parts);   /* very small frames live inline */
    free(parts);
}

static void s_held_free(s_zt *z, s_held *e)
{
    if (e->kind == S_HELD_MSG) {
        z->held_msgs--;
        z->held_bytes -= e->bytes;
        mpc_zmq_msg_wipe_close(&e->payload);
        s_parts_close(e->more, e->nmore);
    }
    z->held_count--;
    free(e);
}

static void s_held_append(s_zt *z, uint32_t peer, s_held *e)
{
    s_peer *p = &z->peer[peer];
    e->next = NULL;
    if (p->tail) p->tail->next = e;
    else p->head = e;
    p->tail = e;
    z->held_count++;
    if (e->kind == S_HELD_MSG) {
        z->held_msgs++;
        z->held_bytes += e->bytes;
    }
}

/* Unlinks e (whose predecessor is prev, or NULL) from peer's list. */
static void s_held_unlink(s_peer *p, s_held *prev, s_held *e)
{
    if (prev) prev->next = e->next;
    else p->head = e->next;
    if (p->tail == e) p->tail = prev;
}

static void s_add_marker(s_zt *z, uint32_t peer, const mpc_msg_hdr *h, int err, const char *why,
                         s_want *w)
{
    s_note_filed(z, peer, h->stream);
    if (s_is_wanted(w, peer, h->stream)) w->found = 1;
    else if (z->held_count >= (uint64_t)z->cfg.max_held_msgs + S_MARKER_SLACK) {
        z->held_dropped++;
        return;
    }
    s_held *e = calloc(1, sizeof *e);
    if (!e) {
        z->held_dropped++;
        return;
    }
    e->kind = S_HELD_MARKER;
    e->hdr = *h;
    e->err = err;
    e->why = why;
    s_held_append(z, peer, e);
}

/* Files a well-formed stream message from `peer`; takes ownership of *payload (the first
 * payload frame) and of more[0 .. nmore) (the others, a malloc'ed array, or NULL). */
static void s_file(s_zt *z, uint32_t peer, const mpc_msg_hdr *h, zmq_msg_t *payload,
                   zmq_msg_t *more, uint32_t nmore, s_want *w)
{
    /* The first message of the awaited stream is always kept, whatever the hold's fill. */
    s_note_filed(z, peer, h->stream);
    int wanted = s_is_wanted(w, peer, h->stream) && !w->found;
    if (wanted || (w && h->type == MPC_MSG_ABORT && w->stream == h->stream)) w->found = 1;
    if (h->type == MPC_MSG_ABORT) {
        int64_t code = MPC_ERR_PEER_ABORT;
        uint64_t v[2] = {(uint64_t)MPC_ERR_PEER_ABORT, UINT64_MAX};
        size_t have = zmq_msg_size(payload) / 8;
        if (have) memcpy(v, zmq_msg_data(payload), (have < 2 ? have : 2) * 8);
        if (h->count >= 1 && have >= 1) code = (int64_t)v[0];
        uint32_t lost = h->count >= 2 && have >= 2 && v[1] < z->cfg.n ? (uint32_t)v[1] : MPC_ABORT_NO_PARTY;
        mpc_zmq_msg_wipe_close(payload);
        s_parts_close(more, nmore);
        for (s_held *e = z->peer[peer].head; e; e = e->next)
            if (e->kind == S_HELD_ABORT && e->hdr.stream == h->stream) return; /* already known */
        int keep = (w && w->stream == h->stream) ||
                   z->held_count < (uint64_t)z->cfg.max_held_msgs + S_MARKER_SLACK;
        s_held *e = keep ? calloc(1, sizeof *e) : NULL;
        if (!e) {
            z->held_dropped++;
            return;
        }
        e->kind = S_HELD_ABORT;
        e->hdr = *h;
        e->abort_code = code;
        e->abort_lost = lost;
        s_held_append(z, peer, e);
        return;
    }
    size_t bytes = zmq_msg_size(payload);
    for (uint32_t i = 0; i < nmore; i++) bytes += zmq_msg_size(&more[i]);
    if (!wanted && (z->held_msgs >= z->cfg.max_held_msgs ||
                    z->held_bytes + bytes > z->cfg.max_held_bytes)) {
        mpc_zmq_msg_wipe_close(payload);
        s_parts_close(more, nmore);
        z->held_dropped++;
        for (s_held *e = z->peer[peer].head; e; e = e->next)
            if (e->kind == S_HELD_MARKER && e->err == MPC_ERR_LIMIT && e->hdr.stream == h->stream)
                return;
        s_add_marker(z, peer, h, MPC_ERR_LIMIT, "held-message limit exceeded, a message was dropped",
                     NULL);
        return;
    }
    s_held *e = calloc(1, sizeof *e);
    if (!e) {
        mpc_zmq_msg_wipe_close(payload);
        s_parts_close(more, nmore);
        z->held_dropped++;
        return;
    }
    e->kind = S_HELD_MSG;
    e->hdr = *h;
    e->more = more;
    e->nmore = nmore;
    e->bytes = bytes;
    zmq_msg_init(&e->payload);
    zmq_msg_move(&e->payload, payload);
    mpc_zmq_msg_wipe_close(payload);
    s_held_append(z, peer, e);
}

static const char *s_type_name(unsigned type)
{
    switch (type) {
    case MPC_MSG_OPEN: return "OPEN";
    case MPC_MSG_INPUT: return "INPUT";
    case MPC_MSG_OUTPUT: return "OUTPUT";
    case MPC_MSG_PREP: return "PREP";
    case MPC_MSG_CONTROL: return "CONTROL";
    case MPC_MSG_ABORT: return "ABORT";
    default: return "?";
    }
}

/* Delivers what is held for (from, stream): 0 (out filled), an error, or S_NONE. */
static int s_take(s_zt *z, uint32_t from, uint8_t type, uint64_t stream, uint64_t seq,
                  uint64_t *out, uint64_t count)
{
    /* An ABORT of this stream from any peer ends it (sticky until forget). */
    for (uint32_t j = 0; j < z->cfg.n; j++)
        for (s_held *e = z->peer[j].head; e; e = e->next)
            if (e->kind == S_HELD_ABORT && e->hdr.stream == stream) {
                int code = (e->abort_code < 0 && e->abort_code >= INT32_MIN) ? (int)e->abort_code
                                                                             : MPC_ERR_PEER_ABORT;
                s_seterr(z, "peer %u aborted stream %" PRIu64 " (%s)", j, stream, mpc_strerror(code));
                return MPC_ERR_PEER_ABORT;
            }
    s_peer *p = &z->peer[from];
    s_held *prev = NULL;
    for (s_held *e = p->head; e; prev = e, e = e->next) {
        if (e->hdr.stream != stream) continue;
        s_held_unlink(p, prev, e);
        int r = 0;
        if (e->kind == S_HELD_MARKER) {
            r = e->err;
            s_seterr(z, "peer %u, stream %" PRIu64 ": %s", from, stream, e->why);
        } else if (e->hdr.type != type || e->hdr.seq != seq || e->hdr.count != count) {
            r = MPC_ERR_PROTOCOL;
            s_seterr(z, "peer %u, stream %" PRIu64 ": expected %s seq %" PRIu64 " count %" PRIu64
                        ", got %s seq %" PRIu64 " count %" PRIu64,
                     from, stream, s_type_name(type), seq, count, s_type_name(e->hdr.type),
                     e->hdr.seq, e->hdr.count);
        } else if (count) {
            uint8_t *o = (uint8_t *)out;
            size_t first = zmq_msg_size(&e->payload);
            memcpy(o, zmq_msg_data(&e->payload), first);
            o += first;
            for (uint32_t i = 0; i < e->nmore; i++) {
                memcpy(o, zmq_msg_data(&e->more[i]), zmq_msg_size(&e->more[i]));
                o += zmq_msg_size(&e->more[i]);
            }
        }
        if (r == MPC_ERR_PROTOCOL) z->protocol_errors++;
        s_held_free(z, e);
        return r;
    }
    return S_NONE;
}

/* ---- receiving from the ROUTER ---------------------------------------------------------- */

/* The authenticated sender of a received frame (ZAP User-Id), or -1. */
static int s_user_id(s_zt *z, zmq_msg_t *m)
{
    const char *u = zmq_msg_gets(m, "User-Id");
    if (!u || !u[0] || strlen(u) > 2) return -1;
    unsigned v = 0;
    for (const char *c = u; *c; c++) {
        if (*c < '0' || *c > '9') return -1;
        v = v * 10 + (unsigned)(*c - '0');
    }
    if (v >= z->cfg.n || v == z->cfg.self) return -1;
    return (int)v;
}

static int s_send_raw(s_zt *z, uint32_t to, uint8_t type, uint64_t stream, uint64_t seq,
                      zmq_msg_t *payload, uint64_t count, int timeout_ms, int counted);

static void s_flush_acks(s_zt *z)
{
    for (uint32_t j = 0; j < z->cfg.n; j++) {
        s_peer *p = &z->peer[j];
        if (j == z->cfg.self || !p->ack_pending || !p->connected) continue;
        zmq_msg_t empty;
        zmq_msg_init(&empty);
        if (s_send_raw(z, j, MPC_WIRE_MSG_HELLO_ACK, 0, 0, &empty, 0, 0, 0) == 0) p->ack_pending = 0;
    }
}

/* Payload frames a message of `count` elements travels in (see S_CHUNK). */
static uint64_t s_frames_for(uint64_t count)
{
    uint64_t bytes = count * 8;
    return bytes <= S_CHUNK ? 1 : (bytes + S_CHUNK - 1) / S_CHUNK;
}

/* Reads one message from the ROUTER (non-blocking): 1 read, 0 none waiting, <0 fatal.
 * A message is [routing id, header, payload frame 1, ..., payload frame k]: k = 1 up to
 * S_CHUNK bytes of payload, else every frame but the last holds exactly S_CHUNK bytes. */
static int s_read_one(s_zt *z, s_want *w)
{
    zmq_msg_t f[3];
    zmq_msg_t *more = NULL;       /* payload frames after the first */
    uint32_t nmore = 0, cap = 0;
    /* at most the frames of the largest acceptable payload; the rest is discarded */
    uint64_t max_more = s_frames_for(z->cfg.max_msg_bytes / 8) - 1;
    int nf = 0, extra = 0, more_flag;
    zmq_msg_init(&f[0]);
    if (zmq_msg_recv(&f[0], z->router, ZMQ_DONTWAIT) < 0) {
        mpc_zmq_msg_wipe_close(&f[0]);
        if (errno == EAGAIN || errno == EINTR) return 0;
        s_seterr(z, "receive failed: %s", zmq_strerror(errno));
        return MPC_ERR_IO;
    }
    nf = 1;
    more_flag = zmq_msg_more(&f[0]);
    /* The rest of a multipart message is already here (atomic delivery). */
    while (more_flag) {
        zmq_msg_t scratch, *m = &scratch;
        if (nf < 3) {
            m = &f[nf];
        } else if (nmore < max_more && !extra) {
            if (nmore == cap) {
                uint32_t ncap = cap ? 2 * cap : 8;
                /* not realloc: a frame of up to 33 bytes lives inside its zmq_msg_t, and the
                 * old array is wiped before it is freed */
                zmq_msg_t *nm = malloc(ncap * sizeof *nm);
                if (nm) {
                    if (more) {
                        memcpy(nm, more, nmore * sizeof *nm);
                        sodium_memzero(more, cap * sizeof *more);
                        free(more);
                    }
                    more = nm;
                    cap = ncap;
                }
            }
            if (nmore < cap) m = &more[nmore];
        }
        zmq_msg_init(m);
        if (zmq_msg_recv(m, z->router, 0) < 0) {
            mpc_zmq_msg_wipe_close(m);
            break;
        }
        more_flag = zmq_msg_more(m);
        if (m == &scratch) {
            extra++;
            mpc_zmq_msg_wipe_close(m);
        } else if (nf < 3) {
            nf++;
        } else {
            nmore++;
        }
    }
    int peer = nf >= 2 ? s_user_id(z, &f[1]) : -1;
    mpc_msg_hdr h;
    int hdr_ok = nf >= 2 && mpc_wire_hdr_decode(&h, zmq_msg_data(&f[1]), zmq_msg_size(&f[1])) == 0;
    int framing_ok = 0;
    size_t total = 0;
    if (hdr_ok && nf == 3 && !extra && 1 + (uint64_t)nmore == s_frames_for(h.count)) {
        framing_ok = 1;
        if (nmore) {   /* every frame but the last is exactly S_CHUNK bytes */
            framing_ok = zmq_msg_size(&f[2]) == S_CHUNK;
            for (uint32_t i = 0; i + 1 < nmore; i++)
                if (zmq_msg_size(&more[i]) != S_CHUNK) framing_ok = 0;
        }
        total = zmq_msg_size(&f[2]);
        for (uint32_t i = 0; i < nmore; i++) total += zmq_msg_size(&more[i]);
    }
    if (peer < 0) {
        z->malformed++;                      /* unattributable: cannot happen behind ZAP */
    } else if (!hdr_ok) {
        z->malformed++;
        if (w && w->from == (uint32_t)peer) w->fail = w->found = 1;
    } else if (h.sender != (uint32_t)peer) {
        z->malformed++;
        s_add_marker(z, (uint32_t)peer, &h, MPC_ERR_PROTOCOL,
                     "header sender field does not match the authenticated peer", w);
    } else if (nf != 3 || extra || !framing_ok) {
        z->malformed++;
        s_add_marker(z, (uint32_t)peer, &h, MPC_ERR_PROTOCOL, "wrong number of frames or frame sizes", w);
    } else {
        int r = mpc_wire_payload_check(&h, total, z->cfg.max_msg_bytes);
        if (r != 0) {
            z->malformed++;
            s_add_marker(z, (uint32_t)peer, &h, r,
                         r == MPC_ERR_LIMIT ? "message over the size limit"
                                            : "payload length is not count * 8",
                         w);
        } else if (h.type == MPC_WIRE_MSG_HELLO || h.type == MPC_WIRE_MSG_HELLO_ACK) {
            z->peer[peer].hello_seen = 1;
            if (h.type == MPC_WIRE_MSG_HELLO) z->peer[peer].ack_pending = 1;
        } else {
            z->base.msgs_recv++;
            z->base.bytes_recv += zmq_msg_size(&f[1]) + total;
            atomic_fetch_add_explicit(&z->peer[peer].pub_msgs_recv, 1, memory_order_relaxed);
            atomic_fetch_add_explicit(&z->peer[peer].pub_bytes_recv, zmq_msg_size(&f[1]) + total,
                                      memory_order_relaxed);
            s_file(z, (uint32_t)peer, &h, &f[2], more, nmore, w);
            more = NULL;                     /* moved out */
            nmore = 0;
            zmq_msg_init(&f[2]);             /* moved out; keep the close loop uniform */
        }
    }
    for (int i = 0; i < nf; i++) mpc_zmq_msg_wipe_close(&f[i]);
    s_parts_close(more, nmore);
    return 1;
}

/* Reads the monitor events of peer j's DEALER (non-blocking). */

/* Publishes a peer's connection state for mpc_transport_zmq_peer_info (any thread); the time
 * is kept while the state does not change. */
static void s_publish(s_peer *p, int state)
{
    if (atomic_load(&p->pub_state) == state) return;
    atomic_store(&p->pub_since, (uint_fast64_t)mpc_now_ms());
    atomic_store(&p->pub_state, state);
}

static void s_schedule_retry(s_peer *p)
{
    if (p->retry_at) return;
    if (p->backoff_ms < S_RETRY_MIN_MS) p->backoff_ms = S_RETRY_MIN_MS;
    p->retry_at = mpc_now_ms() + p->backoff_ms;
    p->backoff_ms = p->backoff_ms * 2 > S_RETRY_MAX_MS ? S_RETRY_MAX_MS : p->backoff_ms * 2;
}

static void s_read_monitor(s_zt *z, uint32_t j)
{
    s_peer *p = &z->peer[j];
    while (p->mon) {
        zmq_msg_t a, b;
        zmq_msg_init(&a);
        if (zmq_msg_recv(&a, p->mon, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&a);
            return;
        }
        /* Frame 1: uint16 event, uint32 value (host order); frame 2: the endpoint. */
        int more = zmq_msg_more(&a);
        uint16_t ev = 0;
        uint32_t val = 0;
        if (zmq_msg_size(&a) >= 6) {
            memcpy(&ev, zmq_msg_data(&a), 2);
            memcpy(&val, (const uint8_t *)zmq_msg_data(&a) + 2, 4);
        }
        zmq_msg_close(&a);
        while (more) {
            zmq_msg_init(&b);
            more = zmq_msg_recv(&b, p->mon, 0) >= 0 && zmq_msg_more(&b);
            zmq_msg_close(&b);
        }
        switch (ev) {
        case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
            p->state = S_PEER_UP;
            p->auth_refused = 0;
            p->hs_failed = 0;
            p->switch_key = 0;
            p->retry_at = 0;
            p->backoff_ms = S_RETRY_MIN_MS;
            s_publish(p, MPC_ZMQ_PEER_UP);
            break;
        case ZMQ_EVENT_DISCONNECTED:
            if (p->state == S_PEER_UP) {
                p->state = S_PEER_DOWN;
                p->epoch++;
                p->hello_seen = 0;          /* a restarted peer must say hello again */
                z->disconnects++;
                s_publish(p, MPC_ZMQ_PEER_DOWN);
            }
            break;
        case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
            /* libzmq does not try this connection again: s_retry_peers makes a new DEALER. */
            p->auth_refused = val ? (int)val : 400;
            s_publish(p, MPC_ZMQ_PEER_REFUSED);
            s_schedule_retry(p);
            break;
        case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
        case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
            /* The peer closed the handshake: it holds another key than the one we use as its
             * server key (or it went away meanwhile).  libzmq tries again with the same key;
             * when the peer has two, the next DEALER tries the other. */
            p->hs_failed = 1;
            if (p->nkeys == 2) {
                p->switch_key = 1;
                s_schedule_retry(p);
            }
            break;
        default:
            break;
        }
    }
}

static void s_read_monitors(s_zt *z)
{
    for (uint32_t j = 0; j < z->cfg.n; j++)
        if (j != z->cfg.self) s_read_monitor(z, j);
}

static int  s_open_peer(s_zt *z, uint32_t j, char *err, size_t errlen);
static void s_close_peer(s_peer *p);

/* Makes peer j's DEALER again (with the other of its keys when switch_key is set) and
 * connects it: a refused handshake is not retried by libzmq, and a DEALER's server key is fixed
 * when it connects.  Nothing queued is lost: the DEALER queues only on a finished handshake
 * (ZMQ_IMMEDIATE), and it is made again only while the peer is not up. */
static void s_reopen_peer(s_zt *z, uint32_t j)
{
    s_peer *p = &z->peer[j];
    if (p->switch_key && p->nkeys == 2) p->key_idx ^= 1;
    p->switch_key = 0;
    p->retry_at = 0;
    s_close_peer(p);
    char err[256];
    if (s_open_peer(z, j, err, sizeof err) != 0 || zmq_connect(p->dealer, p->endpoint) != 0) {
        s_seterr(z, "cannot make the socket towards peer %u again: %s", j, err);
        s_schedule_retry(p);   /* tried again later; the old one is closed either way */
        return;
    }
    p->reopens++;
}

/* Due retries of peers that are not up. */
static void s_retry_peers(s_zt *z)
{
    uint64_t now = mpc_now_ms();
    for (uint32_t j = 0; j < z->cfg.n; j++) {
        s_peer *p = &z->peer[j];
        if (j == z->cfg.self || !p->connected || !p->retry_at || now < p->retry_at) continue;
        if (p->state == S_PEER_UP) {
            p->retry_at = 0;
            p->switch_key = 0;
            continue;
        }
        s_reopen_peer(z, j);
    }
}

/* Sets peer j's keys; 1 if they changed. */
static int s_peer_set_keys(s_peer *p, const uint8_t pub[MPC_KEY_BYTES], const uint8_t next[MPC_KEY_BYTES])
{
    static const uint8_t zero[MPC_KEY_BYTES];
    uint8_t keys[2][MPC_KEY_BYTES];
    int n = 1;
    memcpy(keys[0], pub, MPC_KEY_BYTES);
    if (memcmp(next, zero, MPC_KEY_BYTES)) memcpy(keys[n++], next, MPC_KEY_BYTES);
    if (n == p->nkeys && !memcmp(keys, p->keys, (size_t)n * MPC_KEY_BYTES)) return 0;
    int idx = -1;   /* where the key the DEALER uses now went */
    for (int k = 0; k < n && p->nkeys; k++)
        if (!memcmp(keys[k], p->keys[p->key_idx], MPC_KEY_BYTES)) idx = k;
    memcpy(p->keys, keys, sizeof keys);
    p->nkeys = n;
    if (idx >= 0) {
        p->key_idx = idx;
        return 1;
    }
    p->key_idx = 0;
    p->switch_key = 0;
    return 2;   /* the DEALER's server key is gone */
}

/* Takes in keys given by mpc_transport_zmq_set_peer_keys.  A peer not up is tried again at
 * once with the new keys (its pause starts again from the minimum); an up connection stays. */
static void s_take_keys(s_zt *z)
{
    if (!atomic_load(&z->keys_pending)) return;
    pthread_mutex_lock(&z->kmu);
    uint8_t pub[MPC_ZMQ_MAX_PARTIES][MPC_KEY_BYTES], next[MPC_ZMQ_MAX_PARTIES][MPC_KEY_BYTES];
    memcpy(pub, z->pend_pub, sizeof pub);
    memcpy(next, z->pend_next, sizeof next);
    atomic_store(&z->keys_pending, 0);
    pthread_mutex_unlock(&z->kmu);
    for (uint32_t j = 0; j < z->cfg.n; j++) {
        s_peer *p = &z->peer[j];
        if (j == z->cfg.self) continue;
        int changed = s_peer_set_keys(p, pub[j], next[j]);
        if (!changed || p->state == S_PEER_UP || !p->connected) continue;
        if (changed == 1 && p->hs_failed && p->nkeys == 2) p->switch_key = 1;
        p->backoff_ms = S_RETRY_MIN_MS;
        p->retry_at = mpc_now_ms();
    }
    sodium_memzero(pub, sizeof pub);
    sodium_memzero(next, sizeof next);
}

/* mu held, reader token held.  Waits up to wait_ms for traffic (mu released meanwhile: only
 * the token's holder touches the ROUTER and the monitors), then files everything that
 * arrived, reads monitor events and sends owed HELLO_ACKs.  0 or MPC_ERR_IO. */
static int s_process(s_zt *z, s_want *w, int64_t wait_ms)
{
    zmq_pollitem_t items[MPC_ZMQ_MAX_PARTIES + 2];
    int ni = 0;
    items[ni++] = (zmq_pollitem_t){.socket = z->router, .events = ZMQ_POLLIN};
    if (z->wakefd >= 0) items[ni++] = (zmq_pollitem_t){.socket = NULL, .fd = z->wakefd, .events = ZMQ_POLLIN};
    for (uint32_t j = 0; j < z->cfg.n; j++)
        if (j != z->cfg.self && z->peer[j].mon)
            items[ni++] = (zmq_pollitem_t){.socket = z->peer[j].mon, .events = ZMQ_POLLIN};
    if (wait_ms < 0) wait_ms = 0;
    if (wait_ms > 1000000) wait_ms = 1000000;
    pthread_mutex_unlock(&z->mu);
    int pr = zmq_poll(items, ni, (long)wait_ms), perr = errno;
    pthread_mutex_lock(&z->mu);
    if (pr < 0 && perr != EINTR) {
        s_seterr(z, "poll failed: %s", zmq_strerror(perr));
        return MPC_ERR_IO;
    }
    if (z->wake_sent) {   /* a foreground thread wants the token: drain its wake-up */
        uint64_t v;
        if (read(z->wakefd, &v, sizeof v) < 0) { /* EAGAIN: not written yet; harmless */ }
        z->wake_sent = 0;
    }
    int r;
    while (!(w && w->found) && (r = s_read_one(z, w)) > 0) {}
    if (r < 0) return r;
    s_read_monitors(z);
    s_take_keys(z);
    s_retry_peers(z);
    s_flush_acks(z);
    return 0;
}

/* mu held.  Moves traffic along for up to wait_ms: as the reader when nobody else is (the
 * leader/follower scheme of docs/transport.md, "Threading"), otherwise by waiting until the
 * reader has filed something or given the token up.  0 or MPC_ERR_IO. */
static int s_pump(s_zt *z, s_want *w, int64_t wait_ms)
{
    struct timespec ts;
    if (wait_ms < 0) wait_ms = 0;
    if (s_tls_bg && (z->reading || z->fg_active || mpc_now_ms() < z->fg_last_ms + S_BG_DEFER_MS)) {
        /* Foreground threads read (or will again soon: a job computing between two rounds):
         * they file what we wait for and wake us; short waits, so that we read again soon
         * once they are gone. */
        if (w) {
            z->bg_waiting = 1;
            z->bg_from = w->from;
            z->bg_stream = w->stream;
        }
        s_abstime(&ts, wait_ms < 10 ? wait_ms : 10);
        pthread_cond_timedwait(&z->cv_bg, &z->mu, &ts);
        z->bg_waiting = 0;
        return 0;
    }
    if (z->reading) {
        if (z->reader_bg && !z->wake_sent && z->wakefd >= 0) {
            uint64_t one = 1;
            if (write(z->wakefd, &one, sizeof one) == (ssize_t)sizeof one) z->wake_sent = 1;
        }
        s_abstime(&ts, wait_ms);
        pthread_cond_timedwait(&z->cv, &z->mu, &ts);
        return 0;
    }
    z->reading = 1;
    z->reader = pthread_self();
    z->reader_bg = s_tls_bg;
    int r = s_process(z, w, wait_ms);
    z->reading = 0;
    pthread_cond_broadcast(&z->cv);
    if (z->bg_wake) {
        z->bg_wake = 0;
        pthread_cond_broadcast(&z->cv_bg);
    }
    return r;
}

/* ---- sending --------------------------------------------------------------------------- */

/* A payload sent in several frames: each frame references a slice of `msg`, which is closed
 * when the last frame is released (possibly on a ZeroMQ I/O thread). */
typedef struct {
    zmq_msg_t   msg;
    atomic_uint refs;
} s_shared;

static void s_shared_release(void *data, void *hint)
{
    (void)data;
    s_shared *sh = hint;
    if (atomic_fetch_sub(&sh->refs, 1) == 1) {
        zmq_msg_close(&sh->msg);
        free(sh);
    }
}

/* Sends the payload frames of `payload` (ownership taken) after the header went out. */
static int s_send_payload(s_zt *z, uint32_t to, void *sock, zmq_msg_t *payload, s_shared *sh)
{
    size_t len = zmq_msg_size(payload);
    if (!sh) {   /* one frame */
        if (zmq_msg_send(payload, sock, 0) >= 0) return 0;
        zmq_msg_close(payload);
        s_seterr(z, "send to peer %u failed: %s", to, zmq_strerror(errno));
        return MPC_ERR_IO;
    }
    zmq_msg_init(&sh->msg);
    zmq_msg_move(&sh->msg, payload);
    zmq_msg_close(payload);
    atomic_init(&sh->refs, 1);   /* ours, dropped at the end */
    uint8_t *data = zmq_msg_data(&sh->msg);
    int r = 0;
    for (size_t off = 0; off < len; off += S_CHUNK) {
        size_t n = len - off < S_CHUNK ? len - off : S_CHUNK;
        int last = off + n == len;
        zmq_msg_t c;
        atomic_fetch_add(&sh->refs, 1);
        if (zmq_msg_init_data(&c, data + off, n, s_shared_release, sh) != 0) {
            atomic_fetch_sub(&sh->refs, 1);
            /* end the message (the peer refuses it as malformed) and report */
            zmq_msg_init(&c);
            (void)zmq_msg_send(&c, sock, 0);
            zmq_msg_close(&c);
            r = MPC_ERR_NOMEM;
            break;
        }
        if (zmq_msg_send(&c, sock, last ? 0 : ZMQ_SNDMORE) < 0) {
            zmq_msg_close(&c);
            s_seterr(z, "send to peer %u failed: %s", to, zmq_strerror(errno));
            r = MPC_ERR_IO;
            break;
        }
    }
    s_shared_release(NULL, sh);
    return r;
}

/* Sends [header, payload frames] to `to` on its DEALER; takes ownership of *payload.  Waits
 * at most timeout_ms for room (the DEALER only queues to a completed, authenticated
 * connection). */
static int s_send_raw(s_zt *z, uint32_t to, uint8_t type, uint64_t stream, uint64_t seq,
                      zmq_msg_t *payload, uint64_t count, int timeout_ms, int counted)
{
    s_peer *p = &z->peer[to];
    int r = 0;
    zmq_msg_t hm;
    int hm_live = 0;
    s_shared *sh = NULL;
    mpc_msg_hdr h = {.version = MPC_WIRE_VERSION, .type = type, .stream = stream, .seq = seq,
                     .sender = (uint16_t)z->cfg.self, .count = count};
    uint8_t hb[MPC_WIRE_HDR_MAX];
    size_t hlen = 0;
    if (mpc_wire_hdr_encode(hb, sizeof hb, &hlen, &h) != 0) {
        s_seterr(z, "cannot encode a header for peer %u", to);
        r = MPC_ERR_INVALID;
        goto out;
    }
    if (!p->connected) {
        s_seterr(z, "peer %u: no endpoint connected", to);
        r = MPC_ERR_STATE;
        goto out;
    }
    if (s_may_read(z)) s_read_monitor(z, to);
    if (p->state == S_PEER_DOWN) {
        s_seterr(z, "peer %u is disconnected", to);
        r = MPC_ERR_IO;
        goto out;
    }
    if (zmq_msg_size(payload) > S_CHUNK && !(sh = malloc(sizeof *sh))) {
        r = MPC_ERR_NOMEM;
        goto out;
    }
    if (zmq_msg_init_size(&hm, hlen) != 0) {
        r = MPC_ERR_NOMEM;
        goto out;
    }
    hm_live = 1;
    memcpy(zmq_msg_data(&hm), hb, hlen);
    int64_t deadline = (int64_t)mpc_now_ms() + timeout_ms;
    for (;;) {
        if (zmq_msg_send(&hm, p->dealer, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0) {
            hm_live = 0;
            break;
        }
        if (errno != EAGAIN && errno != EINTR) {
            s_seterr(z, "send to peer %u failed: %s", to, zmq_strerror(errno));
            r = MPC_ERR_IO;
            goto out;
        }
        int64_t left = deadline - (int64_t)mpc_now_ms();
        if (left <= 0) {
            s_seterr(z, "send to peer %u timed out after %d ms (%s)", to, timeout_ms,
                     p->auth_refused ? "the peer refuses our key"
                     : p->state == S_PEER_UP ? "the peer is not reading"
                                             : "not connected");
            r = MPC_ERR_TIMEOUT;
            goto out;
        }
        if (s_may_read(z)) {
            /* mu held: short waits, so other threads are not held up for long */
            zmq_pollitem_t it[2] = {{.socket = p->dealer, .events = ZMQ_POLLOUT},
                                    {.socket = p->mon, .events = ZMQ_POLLIN}};
            if (zmq_poll(it, 2, (long)(left > 10 ? 10 : left)) < 0 && errno != EINTR) {
                r = MPC_ERR_IO;
                goto out;
            }
            s_read_monitor(z, to);
        } else {
            /* another thread reads the monitors; the DEALER is ours only under mu */
            pthread_mutex_unlock(&z->mu);
            nanosleep(&(struct timespec){0, 1000000L}, NULL);
            pthread_mutex_lock(&z->mu);
        }
        if (p->state == S_PEER_DOWN) {
            s_seterr(z, "peer %u disconnected during send", to);
            r = MPC_ERR_IO;
            goto out;
        }
    }
    /* Once the first frame is accepted, the rest of the message is too. */
    r = s_send_payload(z, to, p->dealer, payload, sh);
    if (r) return r;
    if (counted) {
        z->base.msgs_sent++;
        z->base.bytes_sent += hlen + count * 8;
        atomic_fetch_add_explicit(&p->pub_msgs_sent, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&p->pub_bytes_sent, hlen + count * 8, memory_order_relaxed);
    }
    return 0;
out:
    if (hm_live) zmq_msg_close(&hm);
    zmq_msg_close(payload);
    free(sh);
    return r;
}

static int s_send_check(s_zt *z, uint32_t to, uint8_t type, uint64_t count)
{
    if (to >= z->cfg.n || to == z->cfg.self || type < MPC_MSG_OPEN || type > MPC_MSG_ABORT) {
        s_seterr(z, "send: invalid peer %u or type %u", to, type);
        return MPC_ERR_INVALID;
    }
    if (count > MPC_WIRE_MAX_COUNT || count * 8 > z->cfg.max_msg_bytes) {
        s_seterr(z, "send to peer %u: %" PRIu64 " elements exceed the message size limit", to,
                 count);
        return MPC_ERR_LIMIT;
    }
    return 0;
}

static int s_op_send(mpc_transport *t, uint32_t to, uint8_t type, uint64_t stream, uint64_t seq,
                     const uint64_t *data, uint64_t count)
{
    s_zt *z = s_self(t);
    if (!z || (count && !data)) return MPC_ERR_INVALID;
    int r = s_send_check(z, to, type, count);
    if (r) return r;
    /* The one copy (the caller keeps data), wiped when ZeroMQ releases it. */
    zmq_msg_t pm;
    if (mpc_zmq_msg_init_secret(&pm, data, count * 8) != 0) return MPC_ERR_NOMEM;
    pthread_mutex_lock(&z->mu);
    r = s_send_raw(z, to, type, stream, seq, &pm, count, z->cfg.timeout_ms, 1);
    pthread_mutex_unlock(&z->mu);
    return r;
}

int mpc_transport_zmq_send_owned(mpc_transport *t, uint32_t to, uint8_t type, uint64_t stream,
                                 uint64_t seq, uint64_t *data, uint64_t count,
                                 void (*free_fn)(void *data, void *hint), void *hint)
{
    s_zt *z = s_self(t);
    int r = (!z || !free_fn || (count && !data)) ? MPC_ERR_INVALID : s_send_check(z, to, type, count);
    if (r) {
        if (free_fn) free_fn(data, hint);
        return r;
    }
    zmq_msg_t pm;
    if (count == 0) {
        free_fn(data, hint);
        zmq_msg_init(&pm);
    } else if (zmq_msg_init_data(&pm, data, count * 8, free_fn, hint) != 0) {
        free_fn(data, hint);
        return MPC_ERR_NOMEM;
    }
    pthread_mutex_lock(&z->mu);
    r = s_send_raw(z, to, type, stream, seq, &pm, count, z->cfg.timeout_ms, 1);
    pthread_mutex_unlock(&z->mu);
    return r;
}

/* ---- receiving ------------------------------------------------------------------------- */

static int s_recv_locked(s_zt *z, uint32_t from, uint8_t type, uint64_t stream, uint64_t seq,
                         uint64_t *out, uint64_t count, int timeout_ms);

static int s_op_recv(mpc_transport *t, uint32_t from, uint8_t type, uint64_t stream, uint64_t seq,
                     uint64_t *out, uint64_t count, int timeout_ms)
{
    s_zt *z = s_self(t);
    if (!z) return MPC_ERR_INVALID;
    if (from >= z->cfg.n || from == z->cfg.self || (count && !out) || type < MPC_MSG_OPEN ||
        type > MPC_MSG_ABORT) {
        s_seterr(z, "recv: invalid peer %u or type %u", from, type);
        return MPC_ERR_INVALID;
    }
    if (count > MPC_WIRE_MAX_COUNT || count * 8 > z->cfg.max_msg_bytes) {
        s_seterr(z, "recv from peer %u: %" PRIu64 " elements exceed the message size limit",
                 from, count);
        return MPC_ERR_LIMIT;
    }
    if (timeout_ms < 0) timeout_ms = z->cfg.timeout_ms;
    pthread_mutex_lock(&z->mu);
    z->fg_active += !s_tls_bg;
    int r = s_recv_locked(z, from, type, stream, seq, out, count, timeout_ms);
    z->fg_active -= !s_tls_bg;
    if (!s_tls_bg) z->fg_last_ms = mpc_now_ms();
    pthread_mutex_unlock(&z->mu);
    return r;
}

/* mu held. */
static int s_recv_locked(s_zt *z, uint32_t from, uint8_t type, uint64_t stream, uint64_t seq,
                         uint64_t *out, uint64_t count, int timeout_ms)
{
    s_peer *p = &z->peer[from];
    int64_t start = (int64_t)mpc_now_ms(), deadline = start + timeout_ms, grace_until = -1;
    if (s_may_read(z)) s_read_monitor(z, from);
    uint64_t epoch0 = p->epoch;
    int was_down = p->state == S_PEER_DOWN;
    s_want w = {from, stream, 0, 0};
    for (int round = 0;; round++) {
        int r = s_take(z, from, type, stream, seq, out, count);
        if (r != S_NONE) return r;
        if (w.fail) {
            z->protocol_errors++;
            s_seterr(z, "peer %u sent an undecodable message while stream %" PRIu64 " seq %" PRIu64
                        " was awaited", from, stream, seq);
            return MPC_ERR_PROTOCOL;
        }
        int64_t now = (int64_t)mpc_now_ms();
        if (was_down || p->state == S_PEER_DOWN || p->epoch != epoch0) {
            /* Deliver what the peer sent before it went away, then fail. */
            if (grace_until < 0) {
                grace_until = now + S_DOWN_GRACE_MS;
                if (grace_until > deadline) grace_until = deadline;
            } else if (now >= grace_until) {
                s_seterr(z, "peer %u disconnected (connection lost or heartbeat expired) while "
                            "stream %" PRIu64 " seq %" PRIu64 " was awaited (after %" PRId64 " ms)",
                         from, stream, seq, now - start);
                return MPC_ERR_IO;
            }
        }
        if (now >= deadline && round > 0) {
            s_seterr(z, "timed out after %d ms waiting for peer %u (stream %" PRIu64 " seq %" PRIu64
                        ")%s", timeout_ms, from, stream, seq,
                     p->state == S_PEER_UP ? "" : ", peer not connected");
            return MPC_ERR_TIMEOUT;
        }
        int64_t wait = deadline - now;
        if (grace_until >= 0 && grace_until - now < wait) wait = grace_until - now;
        w.found = 0;
        if ((r = s_pump(z, &w, wait)) != 0) return r;
    }
}

static int s_op_abort_info(mpc_transport *t, uint64_t stream, uint32_t *from, uint32_t *lost)
{
    s_zt *z = s_self(t);
    if (!z) return 0;
    int found = 0;
    pthread_mutex_lock(&z->mu);
    for (uint32_t j = 0; !found && j < z->cfg.n; j++)
        for (s_held *e = z->peer[j].head; e; e = e->next)
            if (e->kind == S_HELD_ABORT && e->hdr.stream == stream) {
                *from = j;
                *lost = e->abort_lost;
                found = 1;
                break;
            }
    pthread_mutex_unlock(&z->mu);
    return found;
}

static void s_op_forget(mpc_transport *t, uint64_t stream)
{
    s_zt *z = s_self(t);
    if (!z) return;
    pthread_mutex_lock(&z->mu);
    for (uint32_t j = 0; j < z->cfg.n; j++) {
        s_peer *p = &z->peer[j];
        s_held *prev = NULL, *e = p->head;
        while (e) {
            s_held *next = e->next;
            if (e->hdr.stream == stream) {
                s_held_unlink(p, prev, e);
                s_held_free(z, e);
            } else {
                prev = e;
            }
            e = next;
        }
    }
    pthread_mutex_unlock(&z->mu);
}

int mpc_transport_zmq_service(mpc_transport *t, int timeout_ms)
{
    s_zt *z = s_self(t);
    if (!z) return MPC_ERR_INVALID;
    pthread_mutex_lock(&z->mu);
    int r = s_pump(z, NULL, timeout_ms < 0 ? 0 : timeout_ms);
    pthread_mutex_unlock(&z->mu);
    return r;
}

static int s_ready_locked(s_zt *z, int timeout_ms);

int mpc_transport_zmq_ready(mpc_transport *t, int timeout_ms)
{
    s_zt *z = s_self(t);
    if (!z) return MPC_ERR_INVALID;
    if (timeout_ms < 0) timeout_ms = z->cfg.timeout_ms;
    pthread_mutex_lock(&z->mu);
    int r = s_ready_locked(z, timeout_ms);
    pthread_mutex_unlock(&z->mu);
    return r;
}

static int s_ready_locked(s_zt *z, int timeout_ms)
{
    int64_t deadline = (int64_t)mpc_now_ms() + timeout_ms;
    int sent[MPC_ZMQ_MAX_PARTIES] = {0};
    for (;;) {
        int done = 1;
        for (uint32_t j = 0; j < z->cfg.n; j++) {
            if (j == z->cfg.self) continue;
            s_peer *p = &z->peer[j];
            if (!sent[j] && p->connected) {
                zmq_msg_t empty;
                zmq_msg_init(&empty);
                if (s_send_raw(z, j, MPC_WIRE_MSG_HELLO, 0, 0, &empty, 0, 0, 0) == 0) sent[j] = 1;
            }
            if (!sent[j] || !p->hello_seen) done = 0;
        }
        if (done) return 0;
        int64_t left = deadline - (int64_t)mpc_now_ms();
        if (left <= 0) break;
        int r = s_pump(z, NULL, left < S_HELLO_POLL_MS ? left : S_HELLO_POLL_MS);
        if (r) return r;
    }
    char *e = z->err;
    size_t cap = sizeof z->err;
    int k = snprintf(e, cap, "peers not ready after %d ms:", timeout_ms);
    for (uint32_t j = 0; j < z->cfg.n && k > 0 && (size_t)k < cap; j++) {
        s_peer *p = &z->peer[j];
        if (j == z->cfg.self || (sent[j] && p->hello_seen)) continue;
        const char *why = !p->connected          ? "no endpoint"
                          : p->auth_refused      ? "it refused our key"
                          : p->hs_failed         ? "handshake failed (wrong server key?)"
                          : p->state != S_PEER_UP ? "not connected"
                          : !sent[j]             ? "cannot send"
                                                 : "no hello from it";
        k += snprintf(e + k, cap - (size_t)k, " peer %u (%s);", j, why);
    }
    memcpy(s_tls_err, z->err, sizeof s_tls_err);
    s_tls_err_of = z;
    return MPC_ERR_TIMEOUT;
}

/* ---- construction ---------------------------------------------------------------------- */

static int s_setopt_int(void *s, int opt, int v)
{
    return zmq_setsockopt(s, opt, &v, sizeof v);
}

/* Options common to the ROUTER and the DEALERs. */
static int s_common_opts(s_zt *z, void *s)
{
    const mpc_zmq_config *c = &z->cfg;
    int ttl = c->heartbeat_timeout_ms;
    if (ttl > 6553500) ttl = 6553500;
    return s_setopt_int(s, ZMQ_LINGER, 0) || s_setopt_int(s, ZMQ_HEARTBEAT_IVL, c->heartbeat_ivl_ms) ||
           s_setopt_int(s, ZMQ_HEARTBEAT_TIMEOUT, c->heartbeat_timeout_ms) ||
           s_setopt_int(s, ZMQ_HEARTBEAT_TTL, ttl) ||
           s_setopt_int(s, ZMQ_HANDSHAKE_IVL, c->timeout_ms < 10000 ? 10000 : c->timeout_ms) ||
           zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, mpc_keypair_public(z->keys), MPC_KEY_BYTES) ||
           zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, mpc_keypair_secret(z->keys), MPC_KEY_BYTES);
}

/* The peers' keys: each peer has a public key, and may have a next one (all zero: none); none
 * is ours, no two are the same. */
static int s_check_keys(uint32_t self, uint32_t n, const uint8_t ours[MPC_KEY_BYTES],
                        const uint8_t (*pub)[MPC_KEY_BYTES], const uint8_t (*next)[MPC_KEY_BYTES],
                        char *err, size_t errlen)
{
    static const uint8_t zero[MPC_KEY_BYTES];
    for (uint32_t j = 0; j < n; j++) {
        if (j == self) continue;
        if (memcmp(pub[j], zero, MPC_KEY_BYTES) == 0) {
            s_fmt(err, errlen, "missing public key of peer %u", j);
            return MPC_ERR_CONFIG;
        }
        const uint8_t *mine[2] = {pub[j], next[j]};
        for (int a = 0; a < 2; a++) {
            if (a == 1 && memcmp(next[j], zero, MPC_KEY_BYTES) == 0) continue;
            if (memcmp(mine[a], ours, MPC_KEY_BYTES) == 0) {
                s_fmt(err, errlen, "a public key of peer %u is our own key", j);
                return MPC_ERR_CONFIG;
            }
            if (a == 1 && memcmp(next[j], pub[j], MPC_KEY_BYTES) == 0) {
                s_fmt(err, errlen, "the next key of peer %u is its public key", j);
                return MPC_ERR_CONFIG;
            }
            for (uint32_t k = 0; k < j; k++)
                if (k != self && (memcmp(mine[a], pub[k], MPC_KEY_BYTES) == 0 ||
                                  memcmp(mine[a], next[k], MPC_KEY_BYTES) == 0)) {
                    s_fmt(err, errlen, "peers %u and %u have the same public key", k, j);
                    return MPC_ERR_CONFIG;
                }
        }
    }
    return 0;
}

static int s_validate(const mpc_zmq_config *c, char *err, size_t errlen)
{
    if (c->n < 2 || c->n > MPC_ZMQ_MAX_PARTIES || c->self >= c->n) {
        s_fmt(err, errlen, "party index %u of %u parties is invalid (2..%d parties)", c->self, c->n,
              MPC_ZMQ_MAX_PARTIES);
        return MPC_ERR_CONFIG;
    }
    if (!c->bind || !c->bind[0] || strlen(c->bind) >= MPC_ZMQ_ENDPOINT_MAX) {
        s_fmt(err, errlen, "missing or too long bind endpoint");
        return MPC_ERR_CONFIG;
    }
    if (!c->keys) {
        s_fmt(err, errlen, "missing key pair");
        return MPC_ERR_CONFIG;
    }
    for (uint32_t j = 0; j < c->n; j++) {
        if (j == c->self) continue;
        if (c->peer_endpoints[j] && strlen(c->peer_endpoints[j]) >= MPC_ZMQ_ENDPOINT_MAX) {
            s_fmt(err, errlen, "endpoint of peer %u too long", j);
            return MPC_ERR_CONFIG;
        }
    }
    int r = s_check_keys(c->self, c->n, mpc_keypair_public(c->keys), c->peer_public, c->peer_next, err, errlen);
    if (r) return r;
    if (c->timeout_ms < 0 || c->heartbeat_ivl_ms < 0 || c->heartbeat_timeout_ms < 0 ||
        c->rcvhwm < 0 || c->max_msg_bytes > (uint64_t)INT64_MAX / 2) {
        s_fmt(err, errlen, "negative or out-of-range limit in the transport configuration");
        return MPC_ERR_CONFIG;
    }
    return 0;
}

void mpc_zmq_config_init(mpc_zmq_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
}

static void s_destroy(s_zt *z)
{
    for (uint32_t j = 0; j < MPC_ZMQ_MAX_PARTIES; j++) {
        s_peer *p = &z->peer[j];
        while (p->head) {
            s_held *e = p->head;
            p->head = e->next;
            s_held_free(z, e);
        }
        s_close_peer(p);
    }
    if (z->router) zmq_close(z->router);
    if (z->ctx) {
        zmq_ctx_shutdown(z->ctx);            /* wakes the ZAP thread with ETERM */
        mpc_zap_destroy(&z->zap);
        zmq_ctx_term(z->ctx);
    }
    mpc_keypair_destroy(&z->keys);
    pthread_mutex_destroy(&z->kmu);
    pthread_mutex_destroy(&z->mu);
    pthread_cond_destroy(&z->cv);
    pthread_cond_destroy(&z->cv_bg);
    if (z->wakefd >= 0) close(z->wakefd);
    sodium_memzero(z, sizeof *z);
    free(z);
}

static void s_close_peer(s_peer *p)
{
    if (p->dealer) {
        zmq_socket_monitor(p->dealer, NULL, 0);
        zmq_close(p->dealer);
        p->dealer = NULL;
    }
    if (p->mon) {
        s_setopt_int(p->mon, ZMQ_LINGER, 0);
        zmq_close(p->mon);
        p->mon = NULL;
    }
}

static int s_open_peer(s_zt *z, uint32_t j, char *err, size_t errlen)
{
    s_peer *p = &z->peer[j];
    char monep[64];
    snprintf(monep, sizeof monep, "inproc://mpc-peer-monitor-%u-%u", j, p->gen++);
    p->dealer = zmq_socket(z->ctx, ZMQ_DEALER);
    p->mon = zmq_socket(z->ctx, ZMQ_PAIR);
    if (!p->dealer || !p->mon || s_common_opts(z, p->dealer) ||
        zmq_setsockopt(p->dealer, ZMQ_CURVE_SERVERKEY, p->keys[p->key_idx], MPC_KEY_BYTES) ||
        s_setopt_int(p->dealer, ZMQ_IMMEDIATE, 1) ||
        s_setopt_int(p->dealer, ZMQ_RECONNECT_IVL, 100) ||
        s_setopt_int(p->dealer, ZMQ_RECONNECT_IVL_MAX, 1000) ||
        s_setopt_int(p->dealer, ZMQ_SNDHWM, z->cfg.rcvhwm) ||
        zmq_setsockopt(p->dealer, ZMQ_MAXMSGSIZE, &(int64_t){S_MIN_MAXMSG}, sizeof(int64_t)) ||
        zmq_socket_monitor(p->dealer, monep,
                           ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED |
                               ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) ||
        s_setopt_int(p->mon, ZMQ_LINGER, 0) || zmq_connect(p->mon, monep)) {
        s_fmt(err, errlen, "cannot set up the socket towards peer %u: %s", j, zmq_strerror(errno));
        return MPC_ERR_IO;
    }
    if (p->state != S_PEER_DOWN) p->state = S_PEER_NEW;
    return 0;
}

static int s_connect_locked(s_zt *z, uint32_t peer, const char *endpoint);

int mpc_transport_zmq_connect_peer(mpc_transport *t, uint32_t peer, const char *endpoint)
{
    s_zt *z = s_self(t);
    if (!z || peer >= z->cfg.n || peer == z->cfg.self || !endpoint ||
        strlen(endpoint) >= MPC_ZMQ_ENDPOINT_MAX)
        return MPC_ERR_INVALID;
    pthread_mutex_lock(&z->mu);
    int r = s_connect_locked(z, peer, endpoint);
    pthread_mutex_unlock(&z->mu);
    return r;
}

static int s_connect_locked(s_zt *z, uint32_t peer, const char *endpoint)
{
    s_peer *p = &z->peer[peer];
    if (p->connected) {
        s_seterr(z, "peer %u is already connected", peer);
        return MPC_ERR_STATE;
    }
    if (zmq_connect(p->dealer, endpoint) != 0) {
        int e = errno;
        s_seterr(z, "cannot connect to peer %u at %s: %s", peer, endpoint, zmq_strerror(e));
        return e == EINVAL || e == EPROTONOSUPPORT ? MPC_ERR_CONFIG : MPC_ERR_IO;
    }
    p->connected = 1;
    snprintf(p->endpoint, sizeof p->endpoint, "%s", endpoint);
    return 0;
}

/* The ZAP handler admits each peer's keys with the peer's decimal index as User-Id. */
typedef struct {
    uint8_t     keys[2 * MPC_ZMQ_MAX_PARTIES][MPC_KEY_BYTES];
    char        ids[MPC_ZMQ_MAX_PARTIES][12];
    const char *idp[2 * MPC_ZMQ_MAX_PARTIES];
    uint32_t    n;
} s_zap_keys;

static void s_zap_fill(const s_zt *z, s_zap_keys *zk, const uint8_t (*pub)[MPC_KEY_BYTES],
                       const uint8_t (*next)[MPC_KEY_BYTES])
{
    static const uint8_t zero[MPC_KEY_BYTES];
    zk->n = 0;
    for (uint32_t j = 0; j < z->cfg.n; j++) {
        if (j == z->cfg.self) continue;
        snprintf(zk->ids[j], sizeof zk->ids[j], "%u", j);
        memcpy(zk->keys[zk->n], pub[j], MPC_KEY_BYTES);
        zk->idp[zk->n++] = zk->ids[j];
        if (!memcmp(next[j], zero, MPC_KEY_BYTES)) continue;
        memcpy(zk->keys[zk->n], next[j], MPC_KEY_BYTES);
        zk->idp[zk->n++] = zk->ids[j];
    }
}

static void s_zap_table(const s_zt *z, s_zap_keys *zk)
{
    uint8_t pub[MPC_ZMQ_MAX_PARTIES][MPC_KEY_BYTES], next[MPC_ZMQ_MAX_PARTIES][MPC_KEY_BYTES];
    for (uint32_t j = 0; j < z->cfg.n; j++) {
        memcpy(pub[j], z->peer[j].keys[0], MPC_KEY_BYTES);
        if (z->peer[j].nkeys == 2) memcpy(next[j], z->peer[j].keys[1], MPC_KEY_BYTES);
        else memset(next[j], 0, MPC_KEY_BYTES);
    }
    s_zap_fill(z, zk, (const uint8_t (*)[MPC_KEY_BYTES])pub, (const uint8_t (*)[MPC_KEY_BYTES])next);
}

static int s_start_zap(s_zt *z, char *err, size_t errlen)
{
    s_zap_keys zk;
    s_zap_table(z, &zk);
    mpc_zap_config zc = {.domain = S_ZAP_DOMAIN, .n_keys = zk.n,
                         .keys = (const uint8_t (*)[MPC_KEY_BYTES])zk.keys, .ids = zk.idp,
                         .on_refused = z->cfg.on_refused, .refused_ctx = z->cfg.refused_ctx};
    return mpc_zap_start(&z->zap, z->ctx, &zc, err, errlen);
}

int mpc_transport_zmq_set_peer_keys(mpc_transport *t, const uint8_t (*pub)[MPC_KEY_BYTES],
                                    const uint8_t (*next)[MPC_KEY_BYTES], char *err, size_t errlen)
{
    s_zt *z = s_self(t);
    if (!z || !pub || !next) return MPC_ERR_INVALID;
    int r = s_check_keys(z->cfg.self, z->cfg.n, mpc_keypair_public(z->keys), pub, next, err, errlen);
    if (r) return r;
    s_zap_keys zk;
    s_zap_fill(z, &zk, pub, next);
    r = mpc_zap_set_keys(z->zap, zk.n, (const uint8_t (*)[MPC_KEY_BYTES])zk.keys, zk.idp, err, errlen);
    if (r) return r;
    pthread_mutex_lock(&z->kmu);
    memcpy(z->pend_pub, pub, (size_t)z->cfg.n * MPC_KEY_BYTES);
    memcpy(z->pend_next, next, (size_t)z->cfg.n * MPC_KEY_BYTES);
    atomic_store(&z->keys_pending, 1);
    pthread_mutex_unlock(&z->kmu);
    return 0;
}

int mpc_transport_zmq_new(mpc_transport **out, const mpc_zmq_config *cfg, char *err,
                          size_t errlen)
{
    if (!out || !cfg) return MPC_ERR_INVALID;
    *out = NULL;
    int r = s_validate(cfg, err, errlen);
    if (r) return r;
    if (sodium_init() < 0) return MPC_ERR_CRYPTO;
    s_zt *z = calloc(1, sizeof *z);
    if (!z) return MPC_ERR_NOMEM;
    z->wakefd = -1;
    for (uint32_t j = 0; j < MPC_ZMQ_MAX_PARTIES; j++) {
        atomic_init(&z->peer[j].pub_state, MPC_ZMQ_PEER_DOWN);
        atomic_init(&z->peer[j].pub_since, (uint_fast64_t)mpc_now_ms());
        atomic_init(&z->peer[j].pub_bytes_sent, 0);
        atomic_init(&z->peer[j].pub_bytes_recv, 0);
        atomic_init(&z->peer[j].pub_msgs_sent, 0);
        atomic_init(&z->peer[j].pub_msgs_recv, 0);
    }
    z->cfg = *cfg;
    z->cfg.bind = NULL;
    z->cfg.keys = NULL;
    memset(z->cfg.peer_endpoints, 0, sizeof z->cfg.peer_endpoints);
    mpc_zmq_config *c = &z->cfg;
    if (!c->max_msg_bytes) c->max_msg_bytes = MPC_ZMQ_DEFAULT_MAX_MSG;
    if (!c->timeout_ms) c->timeout_ms = MPC_ZMQ_DEFAULT_TIMEOUT_MS;
    if (!c->heartbeat_ivl_ms) c->heartbeat_ivl_ms = MPC_ZMQ_DEFAULT_HB_IVL_MS;
    if (!c->heartbeat_timeout_ms) c->heartbeat_timeout_ms = 5 * c->heartbeat_ivl_ms;
    if (!c->max_held_msgs) c->max_held_msgs = MPC_ZMQ_DEFAULT_HELD_MSGS;
    if (!c->max_held_bytes) c->max_held_bytes = 2 * c->max_msg_bytes;
    if (!c->rcvhwm) c->rcvhwm = MPC_ZMQ_DEFAULT_RCVHWM;
    pthread_mutex_init(&z->kmu, NULL);
    pthread_mutex_init(&z->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&z->cv, &ca);
    pthread_cond_init(&z->cv_bg, &ca);
    pthread_condattr_destroy(&ca);
    z->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);   /* -1: no hand-over, still correct */
    atomic_init(&z->keys_pending, 0);
    for (uint32_t j = 0; j < c->n; j++) {
        if (j == c->self) continue;
        z->peer[j].backoff_ms = S_RETRY_MIN_MS;
        (void)s_peer_set_keys(&z->peer[j], cfg->peer_public[j], cfg->peer_next[j]);
    }
    z->base.ops = &s_ops;
    z->base.impl = z;
    z->base.self = c->self;
    z->base.n = c->n;
    r = MPC_ERR_NOMEM;
    if (!(z->keys = mpc_keypair_dup(cfg->keys))) goto fail;
    r = MPC_ERR_IO;
    if (!(z->ctx = zmq_ctx_new())) {
        s_fmt(err, errlen, "cannot create a ZeroMQ context: %s", zmq_strerror(errno));
        goto fail;
    }
    zmq_ctx_set(z->ctx, ZMQ_BLOCKY, 0);       /* linger is 0 anyway; never hang in term */
    /* The ZAP handler first: a CURVE server with no handler would admit any key. */
    if ((r = s_start_zap(z, err, errlen)) != 0) goto fail;
    r = MPC_ERR_IO;
    z->router = zmq_socket(z->ctx, ZMQ_ROUTER);
    /* Per frame, as libzmq sees it: with CURVE that is the encrypted MESSAGE command, a few
     * dozen bytes larger than the payload; never below what the handshake itself needs.  The
     * exact payload bound is enforced on every message by mpc_wire_payload_check(). */
    int64_t maxmsg = (int64_t)c->max_msg_bytes + S_MAXMSG_MARGIN;
    if (maxmsg < S_MIN_MAXMSG) maxmsg = S_MIN_MAXMSG;
    /* Its ZAP domain, enforced; a libzmq that cannot enforce it gets no peer socket. */
    if (z->router && (r = mpc_zap_attach(z->zap, z->router)) == MPC_ERR_UNSUPPORTED) {
        s_fmt(err, errlen, "cannot set up the peer ROUTER: %s", MPC_ZAP_ENFORCE_ERROR);
        goto fail;
    }
    if (!z->router || r != 0 || s_common_opts(z, z->router) || s_setopt_int(z->router, ZMQ_CURVE_SERVER, 1) ||
        s_setopt_int(z->router, ZMQ_ROUTER_MANDATORY, 1) ||
        s_setopt_int(z->router, ZMQ_RCVHWM, c->rcvhwm) ||
        zmq_setsockopt(z->router, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg)) {
        r = MPC_ERR_IO;
        s_fmt(err, errlen, "cannot set up the peer ROUTER: %s", zmq_strerror(errno));
        goto fail;
    }
    if (zmq_bind(z->router, cfg->bind) != 0) {
        int e = errno;
        s_fmt(err, errlen, "cannot bind %s: %s", cfg->bind, zmq_strerror(e));
        r = e == EADDRINUSE ? MPC_ERR_IO : MPC_ERR_CONFIG;
        goto fail;
    }
    size_t elen = sizeof z->endpoint;
    if (zmq_getsockopt(z->router, ZMQ_LAST_ENDPOINT, z->endpoint, &elen) != 0) z->endpoint[0] = 0;
    for (uint32_t j = 0; j < c->n; j++) {
        if (j == c->self) continue;
        if ((r = s_open_peer(z, j, err, errlen)) != 0) goto fail;
        if (cfg->peer_endpoints[j] &&
            (r = mpc_transport_zmq_connect_peer(&z->base, j, cfg->peer_endpoints[j])) != 0) {
            s_fmt(err, errlen, "%s", z->err);
            goto fail;
        }
    }
    *out = &z->base;
    return 0;
fail:
    s_destroy(z);
    return r;
}

static void s_op_destroy(mpc_transport **t)
{
    if (!t || !*t) return;
    s_zt *z = s_self(*t);
    if (z) s_destroy(z);
    *t = NULL;
}

const char *mpc_transport_zmq_endpoint(const mpc_transport *t)
{
    s_zt *z = s_self(t);
    return z ? z->endpoint : "";
}

const char *mpc_transport_zmq_last_error(const mpc_transport *t)
{
    s_zt *z = s_self(t);
    if (!z) return "not a ZeroMQ transport";
    return s_tls_err_of == z ? s_tls_err : z->err;
}

void mpc_transport_zmq_stats(const mpc_transport *t, mpc_zmq_stats *st)
{
    memset(st, 0, sizeof *st);
    s_zt *z = s_self(t);
    if (!z) return;
    pthread_mutex_lock(&z->mu);
    st->auth_allowed = mpc_zap_admitted(z->zap);
    st->auth_denied = mpc_zap_refused(z->zap);
    st->malformed = z->malformed;
    st->protocol_errors = z->protocol_errors;
    st->held_msgs = z->held_count;
    st->held_bytes = z->held_bytes;
    st->held_dropped = z->held_dropped;
    st->disconnects = z->disconnects;
    for (uint32_t j = 0; j < z->cfg.n; j++) st->remade += z->peer[j].reopens;
    pthread_mutex_unlock(&z->mu);
}

void mpc_transport_zmq_peer_info(const mpc_transport *t, uint32_t peer, int *state, uint64_t *since_ms)
{
    s_zt *z = s_self(t);
    *state = MPC_ZMQ_PEER_DOWN;
    *since_ms = 0;
    if (!z || peer >= z->cfg.n || peer == z->cfg.self) return;
    *since_ms = (uint64_t)atomic_load(&z->peer[peer].pub_since);
    *state = atomic_load(&z->peer[peer].pub_state);
}

void mpc_transport_zmq_peer_traffic(const mpc_transport *t, uint32_t peer, mpc_zmq_traffic *tr)
{
    memset(tr, 0, sizeof *tr);
    s_zt *z = s_self(t);
    if (!z || peer >= z->cfg.n || peer == z->cfg.self) return;
    const s_peer *p = &z->peer[peer];
    tr->bytes_sent = (uint64_t)atomic_load_explicit(&p->pub_bytes_sent, memory_order_relaxed);
    tr->bytes_recv = (uint64_t)atomic_load_explicit(&p->pub_bytes_recv, memory_order_relaxed);
    tr->msgs_sent = (uint64_t)atomic_load_explicit(&p->pub_msgs_sent, memory_order_relaxed);
    tr->msgs_recv = (uint64_t)atomic_load_explicit(&p->pub_msgs_recv, memory_order_relaxed);
}

int mpc_transport_zmq_peer_up(const mpc_transport *t, uint32_t peer)
{
    s_zt *z = s_self(t);
    if (!z || peer >= z->cfg.n || peer == z->cfg.self) return 0;
    pthread_mutex_lock(&z->mu);
    int up = z->peer[peer].state == S_PEER_UP;
    pthread_mutex_unlock(&z->mu);
    return up;
}

static uint64_t s_op_wire_bytes(const mpc_transport *t, uint8_t type, uint64_t stream, uint64_t seq,
                                uint64_t count)
{
    /* the header's length does not depend on the sender (an index < 16 is one byte) */
    mpc_msg_hdr h = {.version = MPC_WIRE_VERSION, .type = type, .stream = stream, .seq = seq,
                     .sender = (uint16_t)t->self, .count = count};
    uint8_t hb[MPC_WIRE_HDR_MAX];
    size_t hlen = 0;
    if (mpc_wire_hdr_encode(hb, sizeof hb, &hlen, &h) != 0) hlen = 0;
    return hlen + count * 8;
}

static const struct mpc_transport_ops s_ops = {
    .wire_bytes = s_op_wire_bytes,
    .send = s_op_send,
    .recv = s_op_recv,
    .forget = s_op_forget,
    .destroy = s_op_destroy,
    .abort_info = s_op_abort_info,
};
