/* transport_zmq.c — the ZeroMQ + CURVE peer mesh behind transport.h: holding, reading,
 * sending and receiving messages (transport_zmq_setup.c makes the mesh, transport_zmq_direct.c
 * runs the direct lanes for small messages).  With those two the only files of protocols/
 * that include zmq.h.  Layout, limits and failure behaviour are
 * described in docs/transport.md; the header states the API contract. */
#include "transport_zmq_int.h"

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "mpc_err.h"
#include "zmq_wipe.h"

static int s_is_wanted(const s_want *w, uint32_t peer, uint64_t stream)
{
    return w && w->from == peer && w->stream == stream;
}

/* The last error of each thread, and the transport it came from: a thread reads back the
 * reason of its own failed call even while other threads fail calls of their own. */
static _Thread_local char s_tls_err[512];
static _Thread_local const void *s_tls_err_of;

void zt_seterr(s_zt *z, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s_tls_err, sizeof s_tls_err, fmt, ap);
    va_end(ap);
    s_tls_err_of = z;
    memcpy(z->err, s_tls_err, sizeof z->err);
}

const char *mpc_transport_zmq_last_error(const mpc_transport *t)
{
    s_zt *z = zt_self(t);
    if (!z) return "not a ZeroMQ transport";
    return s_tls_err_of == z ? s_tls_err : z->err;
}

void zt_fmt(char *err, size_t errlen, const char *fmt, ...)
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

s_zt *zt_self(const mpc_transport *t)
{
    return (t && t->ops == &zt_ops) ? (s_zt *)t->impl : NULL;
}

/* mu held.  1 if this thread may use the ROUTER and the monitors: it holds the reader token,
 * or nobody does. */
static int s_may_read(const s_zt *z)
{
    return !z->reading || pthread_equal(z->reader, pthread_self());
}

int zt_may_read(const s_zt *z)
{
    return s_may_read(z);
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

void zt_held_free(s_zt *z, s_held *e)
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
                zt_seterr(z, "peer %u aborted stream %" PRIu64 " (%s)", j, stream, mpc_strerror(code));
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
            zt_seterr(z, "peer %u, stream %" PRIu64 ": %s", from, stream, e->why);
        } else if (e->hdr.type != type || e->hdr.seq != seq || e->hdr.count != count) {
            r = MPC_ERR_PROTOCOL;
            zt_seterr(z, "peer %u, stream %" PRIu64 ": expected %s seq %" PRIu64 " count %" PRIu64
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
        zt_held_free(z, e);
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
static int s_send_direct(s_zt *z, uint32_t to, const uint8_t *hb, size_t hlen, const void *data, uint64_t count,
                         int timeout_ms);

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

static void s_classify(s_zt *z, int peer, zmq_msg_t f[3], int nf, int extra, zmq_msg_t *more, uint32_t nmore,
                       s_want *w);
static void s_park(s_zt *z, uint32_t j, zmq_msg_t f[3], int nf, int extra, zmq_msg_t *more, uint32_t nmore);

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
        zt_seterr(z, "receive failed: %s", zmq_strerror(errno));
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
    if (peer >= 0 && !z->peer[peer].lane.order && z->peer[peer].lane.phead)
        zt_release_parked(z, (uint32_t)peer, w);   /* the lane failed: older ones first */
    if (peer >= 0 && z->peer[peer].lane.order) {
        /* A peer with a direct lane: its ZeroMQ stream messages keep their place among the
         * lane's messages (the lane's markers say when one may be filed). */
        mpc_msg_hdr hh;
        int hello = mpc_wire_hdr_decode(&hh, zmq_msg_data(&f[1]), zmq_msg_size(&f[1])) == 0 &&
                    (hh.type == MPC_WIRE_MSG_HELLO || hh.type == MPC_WIRE_MSG_HELLO_ACK ||
                     hh.type == MPC_WIRE_MSG_LANE_SYNC);
        s_lane *l = &z->peer[peer].lane;
        if (!hello && (l->phead || l->zfiled >= l->zallowed)) {
            s_park(z, (uint32_t)peer, f, nf, extra, more, nmore);
            return 1;
        }
        if (!hello) l->zfiled++;
    }
    s_classify(z, peer, f, nf, extra, more, nmore, w);
    return 1;
}

/* Checks and files one ZeroMQ message (frames as read: routing id, header, first payload
 * frame, the others in more[]); takes ownership of every frame. */
static void s_classify(s_zt *z, int peer, zmq_msg_t f[3], int nf, int extra, zmq_msg_t *more, uint32_t nmore,
                       s_want *w)
{
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
        } else if (h.type == MPC_WIRE_MSG_LANE_SYNC) {
            zt_lane_synced(z, (uint32_t)peer, h.stream);
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
}

/* Parks a ZeroMQ message of peer j until the lane's marker for it has come.  Bounded like the
 * hold: a peer that sends more without markers loses its lane (its messages are then filed
 * in arrival order). */
static void s_park(s_zt *z, uint32_t j, zmq_msg_t f[3], int nf, int extra, zmq_msg_t *more, uint32_t nmore)
{
    s_lane *l = &z->peer[j].lane;
    s_parked *q = calloc(1, sizeof *q);
    if (!q) {
        zt_lane_fail(z, j, "out of memory parking a message");
        zt_release_parked(z, j, NULL);   /* the older ones first */
        s_classify(z, (int)j, f, nf, extra, more, nmore, NULL);
        return;
    }
    for (int i = 0; i < nf; i++) {
        zmq_msg_init(&q->f[i]);
        zmq_msg_move(&q->f[i], &f[i]);
        zmq_msg_close(&f[i]);
        q->bytes += zmq_msg_size(&q->f[i]);
    }
    q->nf = nf;
    q->extra = extra;
    q->more = more;
    q->nmore = nmore;
    for (uint32_t i = 0; i < nmore; i++) q->bytes += zmq_msg_size(&more[i]);
    if (l->ptail) l->ptail->next = q;
    else l->phead = q;
    l->ptail = q;
    l->pcount++;
    l->pbytes += q->bytes;
    if (l->pcount > z->cfg.max_held_msgs || l->pbytes > z->cfg.max_held_bytes) {
        zt_lane_fail(z, j, "ZeroMQ messages without their markers");
        l->order = 0;
    }
}

void zt_release_parked(s_zt *z, uint32_t j, s_want *w)
{
    s_lane *l = &z->peer[j].lane;
    if (!zt_lane_usable(l)) l->order = 0;
    while (l->phead && (!l->order || l->zfiled < l->zallowed)) {
        s_parked *q = l->phead;
        l->phead = q->next;
        if (!l->phead) l->ptail = NULL;
        l->pcount--;
        l->pbytes -= q->bytes;
        l->zfiled++;
        s_classify(z, (int)j, q->f, q->nf, q->extra, q->more, q->nmore, w);
        free(q);
    }
}

int zt_lane_header(s_zt *z, uint32_t j, const uint8_t *hb, size_t hlen, size_t plen, mpc_msg_hdr *h, s_want *w)
{
    z->dl_msgs_recv++;
    if (mpc_wire_hdr_decode(h, hb, hlen) != 0) {
        z->malformed++;
        if (w && w->from == j) w->fail = w->found = 1;
        return -1;
    }
    if (plen == SIZE_MAX) plen = h->count <= MPC_WIRE_MAX_COUNT ? (size_t)h->count * 8 : SIZE_MAX;
    int r = h->sender != j || h->type == MPC_WIRE_MSG_HELLO || h->type == MPC_WIRE_MSG_HELLO_ACK
                ? MPC_ERR_PROTOCOL
                : mpc_wire_payload_check(h, plen, z->cfg.max_msg_bytes);
    if (r == 0) return 0;
    z->malformed++;
    s_add_marker(z, j, h, r, h->sender != j ? "header sender field does not match the authenticated peer"
                             : r == MPC_ERR_LIMIT ? "message over the size limit"
                                                  : "payload length is not count * 8 (direct lane)",
                 w);
    return 1;
}

void zt_lane_file(s_zt *z, uint32_t j, const mpc_msg_hdr *h, size_t hlen, zmq_msg_t *pm, s_want *w)
{
    size_t plen = zmq_msg_size(pm);
    z->base.msgs_recv++;
    z->base.bytes_recv += hlen + plen;
    atomic_fetch_add_explicit(&z->peer[j].pub_msgs_recv, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&z->peer[j].pub_bytes_recv, hlen + plen, memory_order_relaxed);
    s_file(z, j, h, pm, NULL, 0, w);
}

void zt_lane_deliver(s_zt *z, uint32_t j, const uint8_t *hb, size_t hlen, const uint8_t *payload, size_t plen,
                     s_want *w)
{
    mpc_msg_hdr h;
    if (zt_lane_header(z, j, hb, hlen, plen, &h, w) != 0) return;
    zmq_msg_t pm;
    if (mpc_zmq_msg_init_secret(&pm, payload, plen) != 0) {
        z->held_dropped++;
        s_add_marker(z, j, &h, MPC_ERR_NOMEM, "out of memory receiving a message", w);
        return;
    }
    zt_lane_file(z, j, &h, hlen, &pm, w);
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
    zt_close_peer(p);
    char err[256];
    if (zt_open_peer(z, j, err, sizeof err) != 0 || zmq_connect(p->dealer, p->endpoint) != 0) {
        zt_seterr(z, "cannot make the socket towards peer %u again: %s", j, err);
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
int zt_peer_set_keys(s_peer *p, const uint8_t pub[MPC_KEY_BYTES], const uint8_t next[MPC_KEY_BYTES])
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
        int changed = zt_peer_set_keys(p, pub[j], next[j]);
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
    z->fast_on = 0;
    /* ROUTER, wake-up, lane listener, and per peer its monitor and its lane */
    zmq_pollitem_t items[2 * MPC_ZMQ_MAX_PARTIES + 3];
    int ni = 0;
    items[ni++] = (zmq_pollitem_t){.socket = z->router, .events = ZMQ_POLLIN};
    if (z->wakefd >= 0) items[ni++] = (zmq_pollitem_t){.socket = NULL, .fd = z->wakefd, .events = ZMQ_POLLIN};
    for (uint32_t j = 0; j < z->cfg.n; j++)
        if (j != z->cfg.self && z->peer[j].mon)
            items[ni++] = (zmq_pollitem_t){.socket = z->peer[j].mon, .events = ZMQ_POLLIN};
    int lanes = 0, lfd = zt_lane_listen_fd(z);
    if (lfd >= 0) items[ni++] = (zmq_pollitem_t){.socket = NULL, .fd = lfd, .events = ZMQ_POLLIN};
    for (uint32_t j = 0; j < z->cfg.n; j++) {
        s_lane *l = &z->peer[j].lane;
        if (j == z->cfg.self || l->fd < 0) continue;
        if (l->broken && !l->wbusy) {
            zt_lane_close(l);   /* nobody else polls or writes it */
            zt_release_parked(z, j, w);
            continue;
        }
        if (l->broken) continue;
        lanes = 1;
        if (!l->synced) continue;   /* its frames wait for the peer's LANE_SYNC on ZeroMQ */
        /* a decrypted frame or whole frames already buffered: do not sleep */
        if (zt_lane_pending(l)) wait_ms = 0;
        items[ni++] = (zmq_pollitem_t){.socket = NULL, .fd = l->fd, .events = ZMQ_POLLIN};
    }
    if (wait_ms < 0) wait_ms = 0;
    if (wait_ms > 1000000) wait_ms = 1000000;
    pthread_mutex_unlock(&z->mu);
    int pr = zmq_poll(items, ni, (long)wait_ms), perr = errno;
    pthread_mutex_lock(&z->mu);
    if (pr < 0 && perr != EINTR) {
        zt_seterr(z, "poll failed: %s", zmq_strerror(perr));
        return MPC_ERR_IO;
    }
    /* a foreground thread wants the token, or mpc_transport_zmq_wake: drain the wake-up */
    if (atomic_exchange(&z->kicked, 0) | z->wake_sent) {
        uint64_t v;
        if (read(z->wakefd, &v, sizeof v) < 0) { /* EAGAIN: not written yet; harmless */ }
        z->wake_sent = 0;
    }
    int r = 0;
    if (!lanes) {
        while (!(w && w->found) && (r = s_read_one(z, w)) > 0) {}
        if (r < 0) return r;
    } else {
        /* ZeroMQ and the lanes: a lane's next message may wait for a ZeroMQ one and the other
         * way round (their order, transport_zmq_direct.c), so read both until neither moves. */
        for (int moved = 1; moved && !(w && w->found);) {
            moved = 0;
            while (!(w && w->found) && (r = s_read_one(z, w)) > 0) moved = 1;
            if (r < 0) return r;
            for (uint32_t j = 0; j < z->cfg.n && !(w && w->found); j++)
                if (j != z->cfg.self && z->peer[j].lane.fd >= 0) {
                    moved |= zt_lane_read(z, j, w);
                }
        }
    }
    s_read_monitors(z);
    s_take_keys(z);
    s_retry_peers(z);
    s_flush_acks(z);
    zt_lane_service(z);
    return 0;
}

void zt_drain(s_zt *z)
{
    for (int moved = 1; moved;) {
        moved = 0;
        while (s_read_one(z, NULL) > 0) moved = 1;
        for (uint32_t j = 0; j < z->cfg.n; j++)
            if (j != z->cfg.self && zt_lane_usable(&z->peer[j].lane)) moved |= zt_lane_read(z, j, NULL);
    }
}

/* mu held, reader token held.  The fast path of a foreground wait for a message of a peer
 * with a direct lane: spin on that lane alone (zt_lane_spin) and read it, without zmq_poll,
 * the ROUTER, the monitors or the lane listener (docs/transport.md, "Spinning on a lane");
 * only for a message small enough to come on the lane.  1 if the lane moved — it filed what w
 * waits for or something else, or it failed — so the caller looks again before it waits; 0
 * if nothing happened (the usual pass follows).  A run of fast paths lasts at most
 * S_FAST_MAX_MS before the usual pass runs anyway, so ZeroMQ traffic, monitor events and owed
 * HELLO_ACKs never wait behind a long run of dependent rounds. */
static int s_lane_fast(s_zt *z, s_want *w, int64_t wait_ms)
{
    if (!w || !w->small || s_tls_bg || wait_ms <= 0 || w->from >= z->cfg.n || w->from == z->cfg.self) return 0;
    uint64_t now = mpc_now_ms();
    if (!z->fast_on) {
        z->fast_on = 1;
        z->fast_since = now;
    } else if (now >= z->fast_since + S_FAST_MAX_MS) {
        return 0;
    }
    s_lane *l = &z->peer[w->from].lane;
    if (!zt_lane_usable(l) || !l->synced || l->phead) return 0;
    if (!zt_lane_pending(l) && !zt_lane_spin(z, w->from)) return 0;
    int moved = zt_lane_read(z, w->from, w);
    if (w->found) z->dl_fast++;
    return moved || w->found || !zt_lane_usable(l);
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
    int r = 0;
    if (!s_lane_fast(z, w, wait_ms)) r = s_process(z, w, wait_ms);
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
        zt_seterr(z, "send to peer %u failed: %s", to, zmq_strerror(errno));
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
            zt_seterr(z, "send to peer %u failed: %s", to, zmq_strerror(errno));
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
        zt_seterr(z, "cannot encode a header for peer %u", to);
        r = MPC_ERR_INVALID;
        goto out;
    }
    if (!p->connected) {
        zt_seterr(z, "peer %u: no endpoint connected", to);
        r = MPC_ERR_STATE;
        goto out;
    }
    if (s_may_read(z)) s_read_monitor(z, to);
    if (p->state == S_PEER_DOWN) {
        zt_seterr(z, "peer %u is disconnected", to);
        r = MPC_ERR_IO;
        goto out;
    }
    if (counted && zt_lane_takes(z, to, count)) {
        r = s_send_direct(z, to, hb, hlen, zmq_msg_data(payload), count, timeout_ms);
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
            zt_seterr(z, "send to peer %u failed: %s", to, zmq_strerror(errno));
            r = MPC_ERR_IO;
            goto out;
        }
        int64_t left = deadline - (int64_t)mpc_now_ms();
        if (left <= 0) {
            zt_seterr(z, "send to peer %u timed out after %d ms (%s)", to, timeout_ms,
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
            zt_seterr(z, "peer %u disconnected during send", to);
            r = MPC_ERR_IO;
            goto out;
        }
    }
    /* Once the first frame is accepted, the rest of the message is too. */
    r = s_send_payload(z, to, p->dealer, payload, sh);
    if (r) return r;
    /* Its place among the direct lane's messages (a failed marker fails the lane only). */
    if (counted && zt_lane_usable(&p->lane)) (void)zt_lane_mark(z, to, timeout_ms);
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

int zt_send_sync(s_zt *z, uint32_t j, uint64_t id, int timeout_ms)
{
    zmq_msg_t empty;
    zmq_msg_init(&empty);
    return s_send_raw(z, j, MPC_WIRE_MSG_LANE_SYNC, id, 0, &empty, 0, timeout_ms, 0);
}

/* mu held.  A stream message to peer `to` on its direct lane. */
static int s_send_direct(s_zt *z, uint32_t to, const uint8_t *hb, size_t hlen, const void *data, uint64_t count,
                         int timeout_ms)
{
    s_peer *p = &z->peer[to];
    int r = zt_lane_send(z, to, hb, hlen, data, count * 8, timeout_ms);
    if (r) return r;
    z->dl_msgs_sent++;
    z->base.msgs_sent++;
    z->base.bytes_sent += hlen + count * 8;
    atomic_fetch_add_explicit(&p->pub_msgs_sent, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&p->pub_bytes_sent, hlen + count * 8, memory_order_relaxed);
    return 0;
}

static int s_send_check(s_zt *z, uint32_t to, uint8_t type, uint64_t count)
{
    if (to >= z->cfg.n || to == z->cfg.self || type < MPC_MSG_OPEN || type > MPC_MSG_ABORT) {
        zt_seterr(z, "send: invalid peer %u or type %u", to, type);
        return MPC_ERR_INVALID;
    }
    if (count > MPC_WIRE_MAX_COUNT || count * 8 > z->cfg.max_msg_bytes) {
        zt_seterr(z, "send to peer %u: %" PRIu64 " elements exceed the message size limit", to,
                 count);
        return MPC_ERR_LIMIT;
    }
    return 0;
}

/* A stream message straight from the caller's buffer on peer `to`'s direct lane, if it has
 * one (the lane encrypts from data: no copy); S_NONE if it has none. */
static int s_try_direct(s_zt *z, uint32_t to, uint8_t type, uint64_t stream, uint64_t seq, const uint64_t *data,
                        uint64_t count)
{
    int r = S_NONE;
    pthread_mutex_lock(&z->mu);
    s_peer *p = &z->peer[to];
    if (zt_lane_takes(z, to, count) && p->connected && p->state != S_PEER_DOWN) {
        mpc_msg_hdr h = {.version = MPC_WIRE_VERSION, .type = type, .stream = stream, .seq = seq,
                         .sender = (uint16_t)z->cfg.self, .count = count};
        uint8_t hb[MPC_WIRE_HDR_MAX];
        size_t hlen = 0;
        r = mpc_wire_hdr_encode(hb, sizeof hb, &hlen, &h) != 0 ? MPC_ERR_INVALID
            : s_send_direct(z, to, hb, hlen, data, count, z->cfg.timeout_ms);
    }
    pthread_mutex_unlock(&z->mu);
    return r;
}

int zt_op_send(mpc_transport *t, uint32_t to, uint8_t type, uint64_t stream, uint64_t seq,
                     const uint64_t *data, uint64_t count)
{
    s_zt *z = zt_self(t);
    if (!z || (count && !data)) return MPC_ERR_INVALID;
    int r = s_send_check(z, to, type, count);
    if (r) return r;
    if ((r = s_try_direct(z, to, type, stream, seq, data, count)) != S_NONE) return r;
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
    s_zt *z = zt_self(t);
    int r = (!z || !free_fn || (count && !data)) ? MPC_ERR_INVALID : s_send_check(z, to, type, count);
    if (!r && (r = s_try_direct(z, to, type, stream, seq, data, count)) == S_NONE) {
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
    if (free_fn) free_fn(data, hint);
    return r;
}

/* ---- receiving ------------------------------------------------------------------------- */

static int s_recv_locked(s_zt *z, uint32_t from, uint8_t type, uint64_t stream, uint64_t seq,
                         uint64_t *out, uint64_t count, int timeout_ms);

int zt_op_recv(mpc_transport *t, uint32_t from, uint8_t type, uint64_t stream, uint64_t seq,
                     uint64_t *out, uint64_t count, int timeout_ms)
{
    s_zt *z = zt_self(t);
    if (!z) return MPC_ERR_INVALID;
    if (from >= z->cfg.n || from == z->cfg.self || (count && !out) || type < MPC_MSG_OPEN ||
        type > MPC_MSG_ABORT) {
        zt_seterr(z, "recv: invalid peer %u or type %u", from, type);
        return MPC_ERR_INVALID;
    }
    if (count > MPC_WIRE_MAX_COUNT || count * 8 > z->cfg.max_msg_bytes) {
        zt_seterr(z, "recv from peer %u: %" PRIu64 " elements exceed the message size limit",
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
    s_want w = {from, stream, 0, 0, count * 8 <= S_DIRECT_MAX};
    for (int round = 0;; round++) {
        int r = s_take(z, from, type, stream, seq, out, count);
        if (r != S_NONE) return r;
        if (w.fail) {
            z->protocol_errors++;
            zt_seterr(z, "peer %u sent an undecodable message while stream %" PRIu64 " seq %" PRIu64
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
                zt_seterr(z, "peer %u disconnected (connection lost or heartbeat expired) while "
                            "stream %" PRIu64 " seq %" PRIu64 " was awaited (after %" PRId64 " ms)",
                         from, stream, seq, now - start);
                return MPC_ERR_IO;
            }
        }
        if (now >= deadline && round > 0) {
            zt_seterr(z, "timed out after %d ms waiting for peer %u (stream %" PRIu64 " seq %" PRIu64
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

int zt_op_abort_info(mpc_transport *t, uint64_t stream, uint32_t *from, uint32_t *lost)
{
    s_zt *z = zt_self(t);
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

void zt_op_forget(mpc_transport *t, uint64_t stream)
{
    s_zt *z = zt_self(t);
    if (!z) return;
    pthread_mutex_lock(&z->mu);
    for (uint32_t j = 0; j < z->cfg.n; j++) {
        s_peer *p = &z->peer[j];
        s_held *prev = NULL, *e = p->head;
        while (e) {
            s_held *next = e->next;
            if (e->hdr.stream == stream) {
                s_held_unlink(p, prev, e);
                zt_held_free(z, e);
            } else {
                prev = e;
            }
            e = next;
        }
    }
    pthread_mutex_unlock(&z->mu);
}

void mpc_transport_zmq_wake(mpc_transport *t)
{
    s_zt *z = zt_self(t);
    if (!z || z->wakefd < 0 || atomic_exchange(&z->kicked, 1)) return;   /* one write until drained */
    uint64_t one = 1;
    if (write(z->wakefd, &one, sizeof one) != (ssize_t)sizeof one) atomic_store(&z->kicked, 0);
}

int mpc_transport_zmq_service(mpc_transport *t, int timeout_ms)
{
    s_zt *z = zt_self(t);
    if (!z) return MPC_ERR_INVALID;
    pthread_mutex_lock(&z->mu);
    int r = s_pump(z, NULL, timeout_ms < 0 ? 0 : timeout_ms);
    pthread_mutex_unlock(&z->mu);
    return r;
}

static int s_ready_locked(s_zt *z, int timeout_ms);

int mpc_transport_zmq_ready(mpc_transport *t, int timeout_ms)
{
    s_zt *z = zt_self(t);
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
