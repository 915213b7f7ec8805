/* clientsock.c — the client ROUTER and its ZAP handler (clientsock.h, protocols/zap.h).
 * Frames on the ROUTER: [routing id, header, payload?].  Anything else — more frames, an
 * oversize frame (ZMQ_MAXMSGSIZE drops the connection), a header the codec refuses — gets an
 * ERROR reply where one can be addressed and is otherwise dropped; nothing is stored.
 *
 * The endpoint never blocks (docs/daemon.md, "Client endpoint"): every reply is sent with
 * ZMQ_DONTWAIT, and a reply the client's queue has no room for is dropped and counted; one
 * call serves a bounded batch of requests so the caller regains control; held RESULT
 * requests are answered when the job table signals a change (its eventfd) or their wait
 * ends, never by polling. */
#include "clientsock.h"
#include "contrib_daemon.h"
#include "dshandlers.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "clock.h"
#include "cwire.h"
#include "log.h"
#include "mpc_err.h"
#include "metrics.h"
#include "zap.h"
#include "zmq_wipe.h"

#define S_ZAP_DOMAIN   "mpcd-client"
#define S_MAX_FRAMES   4
#define S_BATCH        256    /* requests served per call before returning to the caller */
#define S_SNDHWM       128    /* replies queued per client connection */
#define S_FD_RESERVE   64     /* descriptors kept free beyond the connection bound */

/* A RESULT whose output is not ready yet, held up to the wait the client asked for. */
typedef struct {
    uint8_t       rid[256];
    size_t        rid_len;
    char          client[MPC_NAME_MAX];
    mpc_cwire_req req;
    uint64_t      deadline_ms;
    uint64_t      held_at;        /* order of arrival */
} s_parked;

struct mpcd_clientsock {
    const mpcd_config *cfg;
    void              *ctx, *router;
    mpc_zap           *zap;       /* admits the clients' keys, User-Id = the client's name */
    char               endpoint[MPCD_ENDPOINT_MAX];
    s_parked          *parked;
    uint32_t           n_parked, max_parked;
    uint64_t           next_deadline;    /* earliest wait end among the held (UINT64_MAX: none) */
    uint64_t           held_seq;
    uint64_t           dropped_full, dropped_gone;   /* replies not delivered */
    void              *monitor;        /* PAIR: the ROUTER's ACCEPTED / DISCONNECTED events */
    int64_t            conns;          /* connections open (handshake finished or not) */
    int                listening;      /* 0 while the endpoint is unbound (at the bound) */
    int                fd_base;        /* descriptors open when the endpoint was made */
    uint64_t           resets;         /* times the bound closed every connection */
};

/* Descriptors this process has open. */
static int s_fds_open(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d) return 64;
    int n = 0;
    while (readdir(d)) n++;
    closedir(d);
    return n > 3 ? n - 3 : n;   /* ".", ".." and the DIR's own */
}

/* The connection bound now: max_client_connections, lowered to fit the open files limit
 * (read each time: an operator may lower it while we run) with S_FD_RESERVE to spare. */
static int64_t s_conn_limit(const mpcd_clientsock *cs)
{
    int64_t lim = cs->cfg->max_client_connections;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        int64_t fit = (int64_t)rl.rlim_cur - cs->fd_base - S_FD_RESERVE;
        if (fit < lim) lim = fit;
    }
    return lim < 1 ? 1 : lim;
}

/* Binds the endpoint again after a reset (below); 0 or -1 (tried again on the next call). */
static int s_relisten(mpcd_clientsock *cs)
{
    if (cs->listening) return 0;
    if (zmq_bind(cs->router, cs->endpoint) != 0) return -1;
    cs->listening = 1;
    return 0;
}

/* Counts connections from the monitor's events.  At the bound every connection of the
 * endpoint is closed at once and the endpoint bound again: libzmq can neither refuse nor
 * close a single connection, but unbinding closes the listener together with every
 * connection it accepted.  Legitimate clients reconnect on their own (docs/daemon.md,
 * "Client endpoint"). */
static void s_monitor_events(mpcd_clientsock *cs)
{
    for (;;) {
        zmq_msg_t ev, addr;
        zmq_msg_init(&ev);
        if (zmq_msg_recv(&ev, cs->monitor, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&ev);
            return;
        }
        uint16_t id = 0;
        if (zmq_msg_size(&ev) >= 2) memcpy(&id, zmq_msg_data(&ev), 2);
        int more = zmq_msg_more(&ev);
        zmq_msg_close(&ev);
        if (more) {
            zmq_msg_init(&addr);
            (void)zmq_msg_recv(&addr, cs->monitor, 0);   /* the endpoint frame follows at once */
            zmq_msg_close(&addr);
        }
        if (id == ZMQ_EVENT_ACCEPTED) cs->conns++;
        else if (id == ZMQ_EVENT_DISCONNECTED && cs->conns > 0) cs->conns--;
        int64_t lim = s_conn_limit(cs);
        if (cs->listening && cs->conns >= lim && zmq_unbind(cs->router, cs->endpoint) == 0) {
            cs->listening = 0;
            cs->resets++;
            mpcd_warn(NULL, "client endpoint at its bound of %lld connections: all of them closed, the endpoint "
                      "reopened", (long long)lim);
            cs->conns = 0;
            (void)s_relisten(cs);
        }
    }
}

static void s_refused(void *ctx, mpc_zap_refusal why, const char *address)
{
    (void)ctx;
    mpcd_metrics_refused(1, why);
    if (why == MPC_ZAP_UNKNOWN_KEY)
        mpcd_warn(NULL, "a client with an unknown key was refused (from %s)", address[0] ? address : "?");
    else
        mpcd_warn(NULL, "a connection that is not a CURVE client of this endpoint was refused (from %s)",
                  address[0] ? address : "?");
}

/* The keys the ZAP handler admits: each [client NAME]'s public_key and next_public_key, with
 * NAME as User-Id.  *keys and *ids are malloc'ed (ids point into cfg). */
static int s_client_keys(const mpcd_config *cfg, uint8_t (**keys)[MPC_KEY_BYTES], const char ***ids,
                         uint32_t *n, char *err, size_t errlen)
{
    uint32_t cap = 2 * cfg->n_clients + 1;
    *keys = calloc(cap, sizeof **keys);
    *ids = calloc(cap, sizeof **ids);
    *n = 0;
    if (!*keys || !*ids) return MPC_ERR_NOMEM;
    for (uint32_t i = 0; i < cfg->n_clients; i++) {
        const mpcd_client_conf *c = &cfg->clients[i];
        const char *z85[2] = {c->public_key, c->next_public_key};
        for (int k = 0; k < 2; k++) {
            if (!z85[k][0]) continue;
            if (mpc_key_from_z85((*keys)[*n], z85[k]) != 0) {
                snprintf(err, errlen, "%s:%u: error: client '%s' has an invalid %s", cfg->path, (unsigned)c->line,
                         c->name, k ? "next_public_key" : "public_key");
                return MPC_ERR_CONFIG;
            }
            (*ids)[(*n)++] = c->name;
        }
    }
    return 0;
}

static int s_start_zap(mpcd_clientsock *cs, char *err, size_t errlen)
{
    uint8_t (*keys)[MPC_KEY_BYTES] = NULL;
    const char **ids = NULL;
    uint32_t n = 0;
    int rc = s_client_keys(cs->cfg, &keys, &ids, &n, err, errlen);
    if (rc == 0) {
        mpc_zap_config zc = {.domain = S_ZAP_DOMAIN, .n_keys = n,
                             .keys = (const uint8_t (*)[MPC_KEY_BYTES])keys, .ids = ids,
                             .on_refused = s_refused};
        rc = mpc_zap_start(&cs->zap, cs->ctx, &zc, err, errlen);
    }
    free(keys);
    free(ids);
    return rc;
}

int mpcd_clientsock_set_keys(mpcd_clientsock *cs, const mpcd_config *cfg, char *err, size_t errlen)
{
    uint8_t (*keys)[MPC_KEY_BYTES] = NULL, (*old)[MPC_KEY_BYTES] = NULL;
    const char **ids = NULL, **old_ids = NULL;
    uint32_t n = 0, n_old = 0;
    int rc = s_client_keys(cfg, &keys, &ids, &n, err, errlen);
    if (rc == 0) rc = s_client_keys(cs->cfg, &old, &old_ids, &n_old, err, errlen);
    /* A key that goes away, or now names another client, ends the connections made with it:
     * libzmq asks the handler once per handshake, so every connection must shake hands again. */
    int dropped = 0;
    for (uint32_t i = 0; rc == 0 && i < n_old && !dropped; i++) {
        dropped = 1;
        for (uint32_t k = 0; k < n; k++)
            if (!memcmp(old[i], keys[k], MPC_KEY_BYTES) && !strcmp(old_ids[i], ids[k])) dropped = 0;
    }
    if (rc == 0) rc = mpc_zap_set_keys(cs->zap, n, (const uint8_t (*)[MPC_KEY_BYTES])keys, ids, err, errlen);
    if (rc == 0 && dropped && cs->listening && zmq_unbind(cs->router, cs->endpoint) == 0) {
        cs->listening = 0;
        cs->conns = 0;
        mpcd_info(NULL, "reload: a client key was removed: every client connection was closed (clients "
                  "reconnect and authenticate again)");
        (void)s_relisten(cs);
    }
    free(keys);
    free(ids);
    free(old);
    free(old_ids);
    return rc;
}

int mpcd_clientsock_new(mpcd_clientsock **out, const mpcd_config *cfg, const mpc_keypair *kp,
                        char *err, size_t errlen)
{
    *out = NULL;
    mpcd_clientsock *cs = calloc(1, sizeof *cs);
    if (!cs) return MPC_ERR_NOMEM;
    cs->cfg = cfg;
    cs->max_parked = (uint32_t)cfg->max_held_results;
    cs->next_deadline = UINT64_MAX;
    cs->parked = calloc(cs->max_parked ? cs->max_parked : 1, sizeof *cs->parked);
    if (!cs->parked) {
        free(cs);
        return MPC_ERR_NOMEM;
    }
    int rc = MPC_ERR_IO;
    cs->ctx = zmq_ctx_new();
    if (!cs->ctx) goto fail;
    /* The ZAP handler first: a CURVE server with no handler would admit any key. */
    if ((rc = s_start_zap(cs, err, errlen)) != 0) goto fail;
    rc = MPC_ERR_IO;
    cs->router = zmq_socket(cs->ctx, ZMQ_ROUTER);
    if (!cs->router) goto fail;
    /* Its ZAP domain, enforced; a libzmq that cannot enforce it gets no client socket. */
    int zrc = mpc_zap_attach(cs->zap, cs->router);
    if (zrc == MPC_ERR_UNSUPPORTED) {
        rc = zrc;
        snprintf(err, errlen, "cannot set up the client endpoint %s: %s", cfg->client_endpoint,
                 MPC_ZAP_ENFORCE_ERROR);
        goto fail;
    }
    rc = MPC_ERR_IO;
    int one = 1, zero = 0, sndhwm = S_SNDHWM, hs_ivl = (int)cfg->client_handshake_ms;
    int64_t maxmsg = cfg->max_message_bytes;
    char pub_z85[41], sec_z85[41];
    mpc_key_to_z85(pub_z85, mpc_keypair_public(kp));
    mpc_key_to_z85(sec_z85, mpc_keypair_secret(kp));
    int ok = zrc == 0 && zmq_setsockopt(cs->router, ZMQ_CURVE_SERVER, &one, sizeof one) == 0 &&
             zmq_setsockopt(cs->router, ZMQ_CURVE_SECRETKEY, sec_z85, 40) == 0 &&
             zmq_setsockopt(cs->router, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) == 0 &&
             zmq_setsockopt(cs->router, ZMQ_ROUTER_MANDATORY, &one, sizeof one) == 0 &&
             zmq_setsockopt(cs->router, ZMQ_SNDHWM, &sndhwm, sizeof sndhwm) == 0 &&
             zmq_setsockopt(cs->router, ZMQ_HANDSHAKE_IVL, &hs_ivl, sizeof hs_ivl) == 0 &&
             zmq_setsockopt(cs->router, ZMQ_LINGER, &zero, sizeof zero) == 0;
    sodium_memzero(sec_z85, sizeof sec_z85);
    char mon[64];
    snprintf(mon, sizeof mon, "inproc://mpcd-client-monitor-%p", (void *)cs);
    ok = ok && zmq_socket_monitor(cs->router, mon, ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED) == 0 &&
         (cs->monitor = zmq_socket(cs->ctx, ZMQ_PAIR)) != NULL &&
         zmq_setsockopt(cs->monitor, ZMQ_LINGER, &zero, sizeof zero) == 0 && zmq_connect(cs->monitor, mon) == 0;
    cs->fd_base = s_fds_open();
    if (!ok || zmq_bind(cs->router, cfg->client_endpoint) != 0) {
        snprintf(err, errlen, "cannot bind the client endpoint %s: %s", cfg->client_endpoint, zmq_strerror(errno));
        goto fail;
    }
    size_t len = sizeof cs->endpoint;
    zmq_getsockopt(cs->router, ZMQ_LAST_ENDPOINT, cs->endpoint, &len);
    cs->listening = 1;
    *out = cs;
    return 0;
fail:
    mpcd_clientsock_destroy(&cs);
    return rc;
}

const char *mpcd_clientsock_endpoint(const mpcd_clientsock *cs)
{
    return cs->endpoint;
}

/* zmq_send / zmq_msg_send without blocking, retrying only an interrupted call (a signal
 * must not leave a message half sent: the next reply's first frame would join it). */
static int s_send(void *sock, const void *buf, size_t len, int flags)
{
    int rc;
    do rc = zmq_send(sock, buf, len, flags | ZMQ_DONTWAIT);
    while (rc < 0 && errno == EINTR);
    return rc;
}

static int s_msg_send(zmq_msg_t *m, void *sock, int flags)
{
    int rc;
    do rc = zmq_msg_send(m, sock, flags | ZMQ_DONTWAIT);
    while (rc < 0 && errno == EINTR);
    return rc;
}

/* Sends rep to the client behind rid, never blocking.  Takes ownership of share
 * (rep->count words, malloc'ed, or NULL): it goes out as a zero-copy frame that is wiped when
 * ZeroMQ releases it (after encryption, or when the message cannot be delivered), so no
 * unwiped copy of an output share is left behind.
 *
 * With ZMQ_ROUTER_MANDATORY the first frame (the routing id) decides for the whole message:
 * EAGAIN when the client's queue is full (ZMQ_SNDHWM replies it has not read), EHOSTUNREACH
 * when no connection has that routing id (the client left); the message is then dropped and
 * counted.  Once the first frame is taken, libzmq's ROUTER takes the rest of the message
 * without checking the high-water mark again, so a message is never left half sent.
 * Returns 0 if sent, -1 if dropped. */
static int s_reply_raw(mpcd_clientsock *cs, const void *rid, size_t rid_len, const char *client,
                       const mpc_cwire_rep *rep, uint64_t *share)
{
    size_t share_len = share ? mpc_cwire_rep_payload_len(rep) : 0;   /* MASK and checked outputs: a record */
    zmq_msg_t pm;
    if (mpc_zmq_msg_init_owned_secret(&pm, share, share_len) != 0) {   /* share is released */
        mpcd_error(NULL, "cannot send a reply: out of memory");
        return -1;
    }
    uint8_t *hdr = NULL;
    size_t hlen = 0;
    size_t plen = mpc_cwire_rep_payload_len(rep);
    if (plen != share_len || mpc_cwire_rep_encode(rep, &hdr, &hlen) != 0) {
        /* a bug of this daemon: the client gets an error at once instead of waiting out its
         * deadline, and no share */
        mpcd_error(NULL, "cannot encode a reply of type %u to client %s: answering with an error", (unsigned)rep->type,
                   client);
        zmq_msg_close(&pm);
        free(hdr);
        hdr = NULL;
        mpc_cwire_rep er;
        memset(&er, 0, sizeof er);
        er.type = MPC_CW_ERROR;
        er.rid = rep->rid;
        er.code = MPC_ERR_PROTOCOL;
        snprintf(er.msg, sizeof er.msg, "the daemon could not encode its reply (its log says more)");
        if (rep->type == MPC_CW_ERROR || mpc_cwire_rep_encode(&er, &hdr, &hlen) != 0) {
            free(hdr);
            return -1;
        }
        zmq_msg_init(&pm);
        plen = 0;
    }
    int rc = 0;
    if (s_send(cs->router, rid, rid_len, ZMQ_SNDMORE) < 0) {
        rc = -1;
        if (errno == EAGAIN) {
            cs->dropped_full++;
            mpcd_warn(NULL, "client %s does not read its replies (%d unread): a reply was dropped", client,
                      S_SNDHWM);
        } else {
            cs->dropped_gone++;
            mpcd_debug(NULL, "client %s left before its reply: %s", client, zmq_strerror(errno));
        }
    } else if (s_send(cs->router, hdr, hlen, plen ? ZMQ_SNDMORE : 0) < 0 ||
               (plen && s_msg_send(&pm, cs->router, 0) < 0)) {
        rc = -1;   /* only at shutdown (ETERM) */
        mpcd_error(NULL, "cannot send a reply: %s", zmq_strerror(errno));
    }
    zmq_msg_close(&pm);   /* not sent (or empty): wiped and freed here */
    free(hdr);
    return rc;
}

static void s_reply(mpcd_clientsock *cs, zmq_msg_t *rid, const char *client, const mpc_cwire_rep *rep,
                    uint64_t *share)
{
    (void)s_reply_raw(cs, zmq_msg_data(rid), zmq_msg_size(rid), client[0] ? client : "?", rep, share);
}

/* Answers held RESULT requests — every one whose job changed when `changed`, else only those
 * whose wait is over — and returns the earliest wait end among those still held
 * (UINT64_MAX if none). */
static uint64_t s_serve_parked(mpcd_clientsock *cs, mpcd_jobs *jobs, const mpcd_status_extra *extra,
                               int changed)
{
    uint64_t now = mpc_now_ms(), earliest = UINT64_MAX;
    for (uint32_t i = 0; i < cs->n_parked;) {
        s_parked *pk = &cs->parked[i];
        mpc_cwire_rep rep;
        uint64_t *share = NULL;
        if (changed || now >= pk->deadline_ms) {
            mpcd_handle(cs->cfg, jobs, pk->client, &pk->req, NULL, 0, extra, &rep, &share);
            if ((rep.type != MPC_CW_RESULT_OK && rep.type != MPC_CW_MASK_OK) || rep.ready || now >= pk->deadline_ms) {
                (void)s_reply_raw(cs, pk->rid, pk->rid_len, pk->client, &rep, share);   /* takes share */
                cs->parked[i] = cs->parked[--cs->n_parked];
                continue;
            }
            mpc_zmq_wipe_free(share, (void *)(uintptr_t)mpc_cwire_rep_payload_len(&rep));
        }
        if (pk->deadline_ms < earliest) earliest = pk->deadline_ms;
        i++;
    }
    return earliest;
}

/* Answers held request i now, as it stands (not ready, unless it just became so). */
static void s_release(mpcd_clientsock *cs, uint32_t i, mpcd_jobs *jobs, const mpcd_status_extra *extra)
{
    s_parked *pk = &cs->parked[i];
    mpc_cwire_rep rep;
    uint64_t *share = NULL;
    mpcd_handle(cs->cfg, jobs, pk->client, &pk->req, NULL, 0, extra, &rep, &share);
    (void)s_reply_raw(cs, pk->rid, pk->rid_len, pk->client, &rep, share);
    cs->parked[i] = cs->parked[--cs->n_parked];
}

/* Holds a RESULT whose output is not ready, for the wait the client asked (capped by
 * max_result_wait_ms).  A client at its cap of held requests has its oldest one answered
 * "not ready" to make room.  0 if held; -1 if it must be answered now. */
static int s_park(mpcd_clientsock *cs, zmq_msg_t *rid, const char *client, const mpc_cwire_req *req,
                  mpcd_jobs *jobs, const mpcd_status_extra *extra)
{
    uint64_t wait = req->wait_ms;
    if (wait > (uint64_t)cs->cfg->max_result_wait_ms) wait = (uint64_t)cs->cfg->max_result_wait_ms;
    if (wait == 0 || zmq_msg_size(rid) > sizeof cs->parked[0].rid) return -1;
    uint32_t mine = 0, oldest = UINT32_MAX;
    for (uint32_t i = 0; i < cs->n_parked; i++)
        if (!strcmp(cs->parked[i].client, client)) {
            mine++;
            if (oldest == UINT32_MAX || cs->parked[i].held_at < cs->parked[oldest].held_at) oldest = i;
        }
    if (mine >= (uint64_t)cs->cfg->max_held_results_per_client && oldest != UINT32_MAX)
        s_release(cs, oldest, jobs, extra);
    if (cs->n_parked >= cs->max_parked) return -1;
    s_parked *pk = &cs->parked[cs->n_parked++];
    memcpy(pk->rid, zmq_msg_data(rid), zmq_msg_size(rid));
    pk->rid_len = zmq_msg_size(rid);
    snprintf(pk->client, sizeof pk->client, "%s", client);
    pk->req = *req;
    pk->req.circ = NULL;
    pk->held_at = cs->held_seq++;
    pk->deadline_ms = mpc_now_ms() + wait;
    if (pk->deadline_ms < cs->next_deadline) cs->next_deadline = pk->deadline_ms;
    return 0;
}

/* Requests of this client held here now. */
static uint32_t s_held_by(const mpcd_clientsock *cs, const char *client)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < cs->n_parked; i++) n += !strcmp(cs->parked[i].client, client);
    return n;
}

/* A dataset request (client-sdk/dswire.h): decoded, handled (dshandlers.c) and answered. */
static void s_serve_dataset(mpcd_clientsock *cs, zmq_msg_t *fr, int nf, const char *client)
{
    mpc_dw_req q;
    mpc_dw_rep rep;
    mpc_cwire_rep erep;
    char err[256];
    void *to_free = NULL;
    uint8_t *hdr = NULL;
    size_t hlen = 0;
    int ok = 0;
    if (nf > 3 || mpc_dw_req_decode(zmq_msg_data(&fr[1]), zmq_msg_size(&fr[1]), (size_t)(nf - 2),
                                    nf == 3 ? zmq_msg_size(&fr[2]) : 0, &q, err, sizeof err) != 0) {
        if (nf > 3) snprintf(err, sizeof err, "too many frames");
        memset(&erep, 0, sizeof erep);
        erep.type = MPC_CW_ERROR;
        erep.code = MPC_ERR_PROTOCOL;
        erep.rid = nf > 3 ? 0 : q.rid;
        snprintf(erep.msg, sizeof erep.msg, "party %s: malformed request: %.200s", cs->cfg->name, err);
        mpcd_warn(NULL, "malformed dataset request from client %s: %s", client, err);
    } else {
        ok = mpcd_ds_handle(cs->cfg, client, &q, nf == 3 ? zmq_msg_data(&fr[2]) : NULL,
                            nf == 3 ? zmq_msg_size(&fr[2]) : 0, &rep, &to_free, &erep) == 0;
    }
    if (ok && mpc_dw_rep_encode(&rep, &hdr, &hlen) != 0) {
        ok = 0;
        memset(&erep, 0, sizeof erep);
        erep.type = MPC_CW_ERROR;
        erep.code = MPC_ERR_NOMEM;
        erep.rid = q.rid;
        snprintf(erep.msg, sizeof erep.msg, "party %s: cannot encode the reply", cs->cfg->name);
    }
    free(to_free);
    if (!ok) {
        s_reply(cs, &fr[0], client, &erep, NULL);
        return;
    }
    if (s_send(cs->router, zmq_msg_data(&fr[0]), zmq_msg_size(&fr[0]), ZMQ_SNDMORE) < 0 ||
        s_send(cs->router, hdr, hlen, 0) < 0)
        mpcd_debug(NULL, "client %s: a dataset reply was not delivered: %s", client, zmq_strerror(errno));
    free(hdr);
}

/* A CONTRIBUTE request (client-sdk/ctwire.h, docs/contributions.md): decoded, handled
 * (contrib_daemon.c) and answered.  Its payload frame (a share) is wiped by the caller. */
static void s_serve_contribution(mpcd_clientsock *cs, mpcd_jobs *jobs, zmq_msg_t *fr, int nf, const char *client)
{
    mpc_ct_req q;
    mpc_cwire_rep erep;
    memset(&erep, 0, sizeof erep);
    char err[256];
    uint64_t pending = 0;
    int rc = MPC_ERR_PROTOCOL;
    if (nf > 3 || mpc_ct_req_decode(zmq_msg_data(&fr[1]), zmq_msg_size(&fr[1]), (size_t)(nf - 2),
                                    nf == 3 ? zmq_msg_size(&fr[2]) : 0, &q, err, sizeof err) != 0) {
        if (nf > 3) snprintf(err, sizeof err, "too many frames");
        erep.rid = nf > 3 ? 0 : q.rid;
        snprintf(erep.msg, sizeof erep.msg, "party %s: malformed request: %.200s", cs->cfg->name, err);
        mpcd_warn(NULL, "malformed contribution from client %s: %s", client, err);
    } else {
        erep.rid = q.rid;
        rc = mpcd_contrib_handle(cs->cfg, jobs, client, &q, zmq_msg_data(&fr[2]), zmq_msg_size(&fr[2]), &pending,
                                 err, sizeof err);
        char hex[MPC_CWIRE_JOB_HEX + 1];
        mpc_cwire_job_hex(q.job, hex);
        if (rc) {
            snprintf(erep.msg, sizeof erep.msg, "party %s: job %s: %.200s", cs->cfg->name, hex, err);
            mpcd_debug(hex, "refused a contribution: %s", err);
        }
    }
    uint8_t *hdr = NULL;
    size_t hlen = 0;
    if (rc == 0 && mpc_ct_rep_encode(q.rid, pending, &hdr, &hlen) != 0) {
        rc = MPC_ERR_NOMEM;
        snprintf(erep.msg, sizeof erep.msg, "party %s: cannot encode the reply", cs->cfg->name);
    }
    if (rc) {
        erep.type = MPC_CW_ERROR;
        erep.code = rc;
        s_reply(cs, &fr[0], client, &erep, NULL);
        return;
    }
    if (s_send(cs->router, zmq_msg_data(&fr[0]), zmq_msg_size(&fr[0]), ZMQ_SNDMORE) < 0 ||
        s_send(cs->router, hdr, hlen, 0) < 0)
        mpcd_debug(NULL, "client %s: a contribution reply was not delivered: %s", client, zmq_strerror(errno));
    free(hdr);
}

/* Receives and answers one request.  0, or -1 when none is waiting. */
static int s_serve_one(mpcd_clientsock *cs, mpcd_jobs *jobs, const mpcd_status_extra *extra)
{
    zmq_msg_t fr[S_MAX_FRAMES];
    int nf = 0, more = 1, extra_frames = 0;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, cs->router, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            if (errno == EINTR && nf > 0) continue;   /* finish the message we started */
            for (int i = 0; i < nf; i++) zmq_msg_close(&fr[i]);
            return -1;
        }
        more = zmq_msg_more(&m);
        if (nf < S_MAX_FRAMES) fr[nf++] = m;
        else {
            extra_frames = 1;
            zmq_msg_close(&m);
        }
    }
    char client[MPC_NAME_MAX] = "";
    const char *uid = nf >= 2 ? zmq_msg_gets(&fr[1], "User-Id") : NULL;
    if (uid) snprintf(client, sizeof client, "%s", uid);
    mpc_cwire_req req;
    mpc_cwire_rep rep;
    memset(&rep, 0, sizeof rep);
    char err[256];
    if (nf < 2 || !client[0]) {
        mpcd_warn(NULL, "dropped a client message without routing id or identity");
    } else if (!extra_frames && mpc_dw_is_dataset(zmq_msg_data(&fr[1]), zmq_msg_size(&fr[1]))) {
        s_serve_dataset(cs, fr, nf, client);
    } else if (!extra_frames && mpc_ct_is_contribution(zmq_msg_data(&fr[1]), zmq_msg_size(&fr[1]))) {
        s_serve_contribution(cs, jobs, fr, nf, client);
    } else if (extra_frames || nf > 3 ||
               mpc_cwire_req_decode(zmq_msg_data(&fr[1]), zmq_msg_size(&fr[1]), (size_t)(nf - 2),
                                    nf == 3 ? zmq_msg_size(&fr[2]) : 0, &req, err, sizeof err) != 0) {
        if (extra_frames || nf > 3) snprintf(err, sizeof err, "too many frames");
        rep.type = MPC_CW_ERROR;
        rep.code = MPC_ERR_PROTOCOL;
        rep.rid = extra_frames || nf > 3 ? 0 : req.rid;   /* the decoder keeps a readable id */
        snprintf(rep.msg, sizeof rep.msg, "party %s: malformed request: %.200s", cs->cfg->name, err);
        mpcd_warn(NULL, "malformed request from client %s: %s", client, err);
        mpcd_metrics_request(0, 0);
        s_reply(cs, &fr[0], client, &rep, NULL);
    } else if (s_held_by(cs, client) + 1 > (uint64_t)cs->cfg->max_requests_in_flight) {
        /* Its held requests and this one: over the client's quota, answered at once. */
        rep.type = MPC_CW_ERROR;
        rep.code = MPC_ERR_LIMIT;
        rep.rid = req.rid;
        snprintf(rep.msg, sizeof rep.msg,
                 "party %s: client '%s' has %u requests in flight here (held or being served); the limit is "
                 "max_requests_in_flight = %lld", cs->cfg->name, client, (unsigned)s_held_by(cs, client) + 1,
                 (long long)cs->cfg->max_requests_in_flight);
        mpcd_warn(NULL, "client %s is at its max_requests_in_flight (%lld): a request refused", client,
                  (long long)cs->cfg->max_requests_in_flight);
        s_reply(cs, &fr[0], client, &rep, NULL);
    } else {
        uint64_t *share = NULL;
        mpcd_handle(cs->cfg, jobs, client, &req, nf == 3 ? zmq_msg_data(&fr[2]) : NULL,
                    nf == 3 ? zmq_msg_size(&fr[2]) : 0, extra, &rep, &share);
        mpcd_metrics_request(req.type, rep.type != MPC_CW_ERROR);   /* once per request, held or not */
        int waits = (req.type == MPC_CW_RESULT && rep.type == MPC_CW_RESULT_OK) ||
                    (req.type == MPC_CW_MASK && rep.type == MPC_CW_MASK_OK);   /* MASK: held as a RESULT */
        if (waits && !rep.ready && req.wait_ms > 0 &&
            s_park(cs, &fr[0], client, &req, jobs, extra) == 0) {
            /* Held: answered as soon as the output is ready or the wait is over. */
            mpc_zmq_wipe_free(share, (void *)(uintptr_t)mpc_cwire_rep_payload_len(&rep));
        } else {
            s_reply(cs, &fr[0], client, &rep, share);   /* takes share */
        }
    }
    /* Input shares arrived in these frames: wipe them before release. */
    if (nf == 3) sodium_memzero(zmq_msg_data(&fr[2]), zmq_msg_size(&fr[2]));
    for (int i = 0; i < nf; i++) zmq_msg_close(&fr[i]);
    return 0;
}

int mpcd_clientsock_serve(mpcd_clientsock *cs, mpcd_jobs *jobs, const mpcd_status_extra *extra,
                          int timeout_ms)
{
    uint64_t now = mpc_now_ms();
    if (cs->n_parked && cs->next_deadline <= now) cs->next_deadline = s_serve_parked(cs, jobs, extra, 0);
    if (cs->n_parked && cs->next_deadline != UINT64_MAX) {
        uint64_t left = cs->next_deadline > now ? cs->next_deadline - now : 0;
        if (left < (uint64_t)timeout_ms) timeout_ms = (int)left;
    }
    if (!cs->listening && s_relisten(cs) != 0) {
        mpcd_error(NULL, "cannot bind the client endpoint %s again: %s", cs->endpoint, zmq_strerror(errno));
        if (timeout_ms > 100) timeout_ms = 100;
    }
    zmq_pollitem_t items[3] = {{cs->router, 0, ZMQ_POLLIN, 0}, {NULL, mpcd_jobs_wake_fd(jobs), ZMQ_POLLIN, 0},
                               {cs->monitor, 0, ZMQ_POLLIN, 0}};
    if (zmq_poll(items, 3, timeout_ms) <= 0) return 0;   /* nothing, or EINTR: the caller checks its stop flag */
    if (items[2].revents & ZMQ_POLLIN) s_monitor_events(cs);
    if (items[1].revents & ZMQ_POLLIN) {
        mpcd_jobs_wake_drain(jobs);
        if (cs->n_parked) cs->next_deadline = s_serve_parked(cs, jobs, extra, 1);
    }
    if (!(items[0].revents & ZMQ_POLLIN)) return 0;
    /* A bounded batch: a client that floods requests cannot keep the caller from its stop
     * flag, its log flush and its expiry; the ROUTER queues the connections fairly. */
    for (int served = 0; served < S_BATCH; served++)
        if (s_serve_one(cs, jobs, extra) != 0) break;
    return 0;
}

void mpcd_clientsock_stats(const mpcd_clientsock *cs, uint64_t *dropped_full, uint64_t *dropped_gone,
                           uint32_t *held, int64_t *connections)
{
    if (connections) *connections = cs->conns;
    if (dropped_full) *dropped_full = cs->dropped_full;
    if (dropped_gone) *dropped_gone = cs->dropped_gone;
    if (held) *held = cs->n_parked;
}

void mpcd_clientsock_destroy(mpcd_clientsock **csp)
{
    if (!csp || !*csp) return;
    mpcd_clientsock *cs = *csp;
    if (cs->monitor) zmq_close(cs->monitor);
    if (cs->router) {
        zmq_socket_monitor(cs->router, NULL, 0);
        zmq_close(cs->router);
    }
    if (cs->ctx) {
        zmq_ctx_shutdown(cs->ctx);           /* ends the ZAP handler's receive */
        mpc_zap_destroy(&cs->zap);
        zmq_ctx_term(cs->ctx);
    }
    free(cs->parked);
    free(cs);
    *csp = NULL;
}
