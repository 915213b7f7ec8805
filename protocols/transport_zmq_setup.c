/* transport_zmq_setup.c — the ZeroMQ + CURVE peer mesh behind transport.h: construction,
 * the peers' sockets, keys and ZAP table, statistics.  transport_zmq.c moves the messages;
 * docs/transport.md describes both. */
#include "transport_zmq_int.h"

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "clock.h"
#include "mpc_err.h"
#include "zmq_wipe.h"

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
            zt_fmt(err, errlen, "missing public key of peer %u", j);
            return MPC_ERR_CONFIG;
        }
        const uint8_t *mine[2] = {pub[j], next[j]};
        for (int a = 0; a < 2; a++) {
            if (a == 1 && memcmp(next[j], zero, MPC_KEY_BYTES) == 0) continue;
            if (memcmp(mine[a], ours, MPC_KEY_BYTES) == 0) {
                zt_fmt(err, errlen, "a public key of peer %u is our own key", j);
                return MPC_ERR_CONFIG;
            }
            if (a == 1 && memcmp(next[j], pub[j], MPC_KEY_BYTES) == 0) {
                zt_fmt(err, errlen, "the next key of peer %u is its public key", j);
                return MPC_ERR_CONFIG;
            }
            for (uint32_t k = 0; k < j; k++)
                if (k != self && (memcmp(mine[a], pub[k], MPC_KEY_BYTES) == 0 ||
                                  memcmp(mine[a], next[k], MPC_KEY_BYTES) == 0)) {
                    zt_fmt(err, errlen, "peers %u and %u have the same public key", k, j);
                    return MPC_ERR_CONFIG;
                }
        }
    }
    return 0;
}

static int s_validate(const mpc_zmq_config *c, char *err, size_t errlen)
{
    if (c->n < 2 || c->n > MPC_ZMQ_MAX_PARTIES || c->self >= c->n) {
        zt_fmt(err, errlen, "party index %u of %u parties is invalid (2..%d parties)", c->self, c->n,
              MPC_ZMQ_MAX_PARTIES);
        return MPC_ERR_CONFIG;
    }
    if (!c->bind || !c->bind[0] || strlen(c->bind) >= MPC_ZMQ_ENDPOINT_MAX) {
        zt_fmt(err, errlen, "missing or too long bind endpoint");
        return MPC_ERR_CONFIG;
    }
    if (c->direct_bind && (!c->direct_bind[0] || strlen(c->direct_bind) >= MPC_ZMQ_ENDPOINT_MAX)) {
        zt_fmt(err, errlen, "empty or too long direct lane endpoint");
        return MPC_ERR_CONFIG;
    }
    if (!c->keys) {
        zt_fmt(err, errlen, "missing key pair");
        return MPC_ERR_CONFIG;
    }
    for (uint32_t j = 0; j < c->n; j++) {
        if (j == c->self) continue;
        if ((c->peer_endpoints[j] && strlen(c->peer_endpoints[j]) >= MPC_ZMQ_ENDPOINT_MAX) ||
            (c->peer_direct[j] && strlen(c->peer_direct[j]) >= MPC_ZMQ_ENDPOINT_MAX)) {
            zt_fmt(err, errlen, "endpoint of peer %u too long", j);
            return MPC_ERR_CONFIG;
        }
    }
    int r = s_check_keys(c->self, c->n, mpc_keypair_public(c->keys), c->peer_public, c->peer_next, err, errlen);
    if (r) return r;
    if (c->timeout_ms < 0 || c->heartbeat_ivl_ms < 0 || c->heartbeat_timeout_ms < 0 ||
        c->rcvhwm < 0 || c->max_msg_bytes > (uint64_t)INT64_MAX / 2) {
        zt_fmt(err, errlen, "negative or out-of-range limit in the transport configuration");
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
    zt_direct_unlisten(z);
    for (uint32_t j = 0; j < MPC_ZMQ_MAX_PARTIES; j++) {
        s_peer *p = &z->peer[j];
        zt_lane_close(&p->lane);
        while (p->lane.phead) {
            s_parked *q = p->lane.phead;
            p->lane.phead = q->next;
            for (int i = 0; i < q->nf; i++) mpc_zmq_msg_wipe_close(&q->f[i]);
            for (uint32_t i = 0; i < q->nmore; i++) mpc_zmq_msg_wipe_close(&q->more[i]);
            free(q->more);
            free(q);
        }
        while (p->head) {
            s_held *e = p->head;
            p->head = e->next;
            zt_held_free(z, e);
        }
        zt_close_peer(p);
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

void zt_close_peer(s_peer *p)
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

int zt_open_peer(s_zt *z, uint32_t j, char *err, size_t errlen)
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
        zt_fmt(err, errlen, "cannot set up the socket towards peer %u: %s", j, zmq_strerror(errno));
        return MPC_ERR_IO;
    }
    if (p->state != S_PEER_DOWN) p->state = S_PEER_NEW;
    return 0;
}

static int s_connect_locked(s_zt *z, uint32_t peer, const char *endpoint);

int mpc_transport_zmq_connect_peer(mpc_transport *t, uint32_t peer, const char *endpoint)
{
    s_zt *z = zt_self(t);
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
        zt_seterr(z, "peer %u is already connected", peer);
        return MPC_ERR_STATE;
    }
    if (zmq_connect(p->dealer, endpoint) != 0) {
        int e = errno;
        zt_seterr(z, "cannot connect to peer %u at %s: %s", peer, endpoint, zmq_strerror(e));
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
    s_zt *z = zt_self(t);
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
    z->dl_listen = -1;
    for (uint32_t j = 0; j < MPC_ZMQ_MAX_PARTIES; j++) {
        z->peer[j].lane.fd = -1;
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
    z->cfg.direct_bind = NULL;
    memset(z->cfg.peer_direct, 0, sizeof z->cfg.peer_direct);
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
        if (cfg->direct_bind && cfg->peer_direct[j])
            snprintf(z->peer[j].direct, sizeof z->peer[j].direct, "%s", cfg->peer_direct[j]);
        z->peer[j].backoff_ms = S_RETRY_MIN_MS;
        (void)zt_peer_set_keys(&z->peer[j], cfg->peer_public[j], cfg->peer_next[j]);
    }
    z->base.ops = &zt_ops;
    z->base.impl = z;
    z->base.self = c->self;
    z->base.n = c->n;
    r = MPC_ERR_NOMEM;
    if (!(z->keys = mpc_keypair_dup(cfg->keys))) goto fail;
    r = MPC_ERR_IO;
    if (!(z->ctx = zmq_ctx_new())) {
        zt_fmt(err, errlen, "cannot create a ZeroMQ context: %s", zmq_strerror(errno));
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
        zt_fmt(err, errlen, "cannot set up the peer ROUTER: %s", MPC_ZAP_ENFORCE_ERROR);
        goto fail;
    }
    if (!z->router || r != 0 || s_common_opts(z, z->router) || s_setopt_int(z->router, ZMQ_CURVE_SERVER, 1) ||
        s_setopt_int(z->router, ZMQ_ROUTER_MANDATORY, 1) ||
        s_setopt_int(z->router, ZMQ_RCVHWM, c->rcvhwm) ||
        zmq_setsockopt(z->router, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg)) {
        r = MPC_ERR_IO;
        zt_fmt(err, errlen, "cannot set up the peer ROUTER: %s", zmq_strerror(errno));
        goto fail;
    }
    if (zmq_bind(z->router, cfg->bind) != 0) {
        int e = errno;
        zt_fmt(err, errlen, "cannot bind %s: %s", cfg->bind, zmq_strerror(e));
        r = e == EADDRINUSE ? MPC_ERR_IO : MPC_ERR_CONFIG;
        goto fail;
    }
    if (cfg->direct_bind) {
        snprintf(z->direct_bind, sizeof z->direct_bind, "%s", cfg->direct_bind);
        if ((r = zt_direct_listen(z, err, errlen)) != 0) goto fail;
    }
    size_t elen = sizeof z->endpoint;
    if (zmq_getsockopt(z->router, ZMQ_LAST_ENDPOINT, z->endpoint, &elen) != 0) z->endpoint[0] = 0;
    for (uint32_t j = 0; j < c->n; j++) {
        if (j == c->self) continue;
        if ((r = zt_open_peer(z, j, err, errlen)) != 0) goto fail;
        if (cfg->peer_endpoints[j] &&
            (r = mpc_transport_zmq_connect_peer(&z->base, j, cfg->peer_endpoints[j])) != 0) {
            zt_fmt(err, errlen, "%s", z->err);
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
    s_zt *z = zt_self(*t);
    if (z) s_destroy(z);
    *t = NULL;
}

const char *mpc_transport_zmq_endpoint(const mpc_transport *t)
{
    s_zt *z = zt_self(t);
    return z ? z->endpoint : "";
}

void mpc_transport_zmq_stats(const mpc_transport *t, mpc_zmq_stats *st)
{
    memset(st, 0, sizeof *st);
    s_zt *z = zt_self(t);
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
    mpc_transport_zmq_direct_stats(t, st);
}

void mpc_transport_zmq_direct_stats(const mpc_transport *t, mpc_zmq_stats *st)
{
    s_zt *z = zt_self(t);
    if (!z) return;
    st->direct_lanes = 0;
    for (uint32_t j = 0; j < z->cfg.n; j++)
        st->direct_lanes += (uint64_t)atomic_load_explicit(&z->peer[j].pub_lane, memory_order_relaxed);
    st->direct_sent = atomic_load_explicit(&z->dl_msgs_sent, memory_order_relaxed);
    st->direct_recv = atomic_load_explicit(&z->dl_msgs_recv, memory_order_relaxed);
    st->direct_failures = atomic_load_explicit(&z->dl_failures, memory_order_relaxed);
    st->direct_refused = atomic_load_explicit(&z->dl_refused, memory_order_relaxed);
    st->direct_made = atomic_load_explicit(&z->dl_made, memory_order_relaxed);
    st->direct_fast = atomic_load_explicit(&z->dl_fast, memory_order_relaxed);
}

void mpc_transport_zmq_peer_info(const mpc_transport *t, uint32_t peer, int *state, uint64_t *since_ms)
{
    s_zt *z = zt_self(t);
    *state = MPC_ZMQ_PEER_DOWN;
    *since_ms = 0;
    if (!z || peer >= z->cfg.n || peer == z->cfg.self) return;
    *since_ms = (uint64_t)atomic_load(&z->peer[peer].pub_since);
    *state = atomic_load(&z->peer[peer].pub_state);
}

void mpc_transport_zmq_peer_traffic(const mpc_transport *t, uint32_t peer, mpc_zmq_traffic *tr)
{
    memset(tr, 0, sizeof *tr);
    s_zt *z = zt_self(t);
    if (!z || peer >= z->cfg.n || peer == z->cfg.self) return;
    const s_peer *p = &z->peer[peer];
    tr->bytes_sent = (uint64_t)atomic_load_explicit(&p->pub_bytes_sent, memory_order_relaxed);
    tr->bytes_recv = (uint64_t)atomic_load_explicit(&p->pub_bytes_recv, memory_order_relaxed);
    tr->msgs_sent = (uint64_t)atomic_load_explicit(&p->pub_msgs_sent, memory_order_relaxed);
    tr->msgs_recv = (uint64_t)atomic_load_explicit(&p->pub_msgs_recv, memory_order_relaxed);
}

int mpc_transport_zmq_peer_up(const mpc_transport *t, uint32_t peer)
{
    s_zt *z = zt_self(t);
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

const struct mpc_transport_ops zt_ops = {
    .wire_bytes = s_op_wire_bytes,
    .send = zt_op_send,
    .recv = zt_op_recv,
    .forget = zt_op_forget,
    .destroy = s_op_destroy,
    .abort_info = zt_op_abort_info,
};
