/* clientsock.c — the client ROUTER and its ZAP handler (clientsock.h, protocols/zap.h).
 * Frames on the ROUTER: [routing id, header, payload?].  Anything else — more frames, an
 * oversize frame (ZMQ_MAXMSGSIZE drops the connection), a header the codec refuses — gets an
 * ERROR reply where one can be addressed and is otherwise dropped; nothing is stored. */
#include "clientsock.h"

#include <errno.h>
#include <stdint.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "clock.h"
#include "cwire.h"
#include "log.h"
#include "mpc_err.h"
#include "zap.h"
#include "zmq_wipe.h"

#define S_ZAP_DOMAIN   "mpcd-client"
#define S_MAX_FRAMES   4
#define S_MAX_PARKED   1024   /* RESULT requests held waiting for their output */

/* A RESULT whose output is not ready yet, held up to the wait the client asked for. */
typedef struct {
    uint8_t       rid[256];
    size_t        rid_len;
    char          client[MPC_NAME_MAX];
    mpc_cwire_req req;
    uint64_t      deadline_ms;
} s_parked;

struct mpcd_clientsock {
    const mpcd_config *cfg;
    void              *ctx, *router;
    mpc_zap           *zap;       /* admits the clients' keys, User-Id = the client's name */
    char               endpoint[MPCD_ENDPOINT_MAX];
    s_parked          *parked;
    uint32_t           n_parked;
};

static void s_refused(void *ctx, mpc_zap_refusal why, const char *address)
{
    (void)ctx;
    if (why == MPC_ZAP_UNKNOWN_KEY)
        mpcd_warn(NULL, "a client with an unknown key was refused (from %s)", address[0] ? address : "?");
    else
        mpcd_warn(NULL, "a connection that is not a CURVE client of this endpoint was refused (from %s)",
                  address[0] ? address : "?");
}

/* The ZAP handler admits each [client NAME]'s key with NAME as User-Id. */
static int s_start_zap(mpcd_clientsock *cs, char *err, size_t errlen)
{
    const mpcd_config *cfg = cs->cfg;
    uint8_t (*keys)[MPC_KEY_BYTES] = calloc(cfg->n_clients ? cfg->n_clients : 1, sizeof *keys);
    const char **ids = calloc(cfg->n_clients ? cfg->n_clients : 1, sizeof *ids);
    int rc = keys && ids ? 0 : MPC_ERR_NOMEM;
    for (uint32_t i = 0; rc == 0 && i < cfg->n_clients; i++) {
        ids[i] = cfg->clients[i].name;
        if (mpc_key_from_z85(keys[i], cfg->clients[i].public_key) != 0) {
            snprintf(err, errlen, "%s:%u: client '%s' has an invalid public key", cfg->path,
                     (unsigned)cfg->clients[i].line, cfg->clients[i].name);
            rc = MPC_ERR_CONFIG;
        }
    }
    if (rc == 0) {
        mpc_zap_config zc = {.domain = S_ZAP_DOMAIN, .n_keys = cfg->n_clients,
                             .keys = (const uint8_t (*)[MPC_KEY_BYTES])keys, .ids = ids,
                             .on_refused = s_refused};
        rc = mpc_zap_start(&cs->zap, cs->ctx, &zc, err, errlen);
    }
    free(keys);
    free(ids);
    return rc;
}

int mpcd_clientsock_new(mpcd_clientsock **out, const mpcd_config *cfg, const mpc_keypair *kp,
                        char *err, size_t errlen)
{
    *out = NULL;
    mpcd_clientsock *cs = calloc(1, sizeof *cs);
    if (!cs) return MPC_ERR_NOMEM;
    cs->cfg = cfg;
    cs->parked = calloc(S_MAX_PARKED, sizeof *cs->parked);
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
    int one = 1, zero = 0;
    int64_t maxmsg = cfg->max_message_bytes;
    char pub_z85[41], sec_z85[41];
    mpc_key_to_z85(pub_z85, mpc_keypair_public(kp));
    mpc_key_to_z85(sec_z85, mpc_keypair_secret(kp));
    int ok = zmq_setsockopt(cs->router, ZMQ_CURVE_SERVER, &one, sizeof one) == 0 &&
             zmq_setsockopt(cs->router, ZMQ_CURVE_SECRETKEY, sec_z85, 40) == 0 &&
             mpc_zap_attach(cs->zap, cs->router) == 0 &&
             zmq_setsockopt(cs->router, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) == 0 &&
             zmq_setsockopt(cs->router, ZMQ_ROUTER_MANDATORY, &one, sizeof one) == 0 &&
             zmq_setsockopt(cs->router, ZMQ_LINGER, &zero, sizeof zero) == 0;
    sodium_memzero(sec_z85, sizeof sec_z85);
    if (!ok || zmq_bind(cs->router, cfg->client_endpoint) != 0) {
        snprintf(err, errlen, "cannot bind the client endpoint %s: %s", cfg->client_endpoint, zmq_strerror(errno));
        goto fail;
    }
    size_t len = sizeof cs->endpoint;
    zmq_getsockopt(cs->router, ZMQ_LAST_ENDPOINT, cs->endpoint, &len);
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

/* Sends rep to the client behind rid.  Takes ownership of share (rep->count words, malloc'ed,
 * or NULL): it goes out as a zero-copy frame that is wiped when ZeroMQ releases it (after
 * encryption, or when the message cannot be delivered), so no unwiped copy of an output
 * share is left behind. */
static void s_reply_raw(mpcd_clientsock *cs, const void *rid, size_t rid_len, const mpc_cwire_rep *rep,
                        uint64_t *share)
{
    size_t share_len = share ? (size_t)rep->count * sizeof(uint64_t) : 0;
    zmq_msg_t pm;
    if (mpc_zmq_msg_init_owned_secret(&pm, share, share_len) != 0) {   /* share is released */
        mpcd_error(NULL, "cannot send a reply: out of memory");
        return;
    }
    uint8_t *hdr = NULL;
    size_t hlen = 0;
    size_t plen = mpc_cwire_rep_payload_len(rep);
    if (plen != share_len || mpc_cwire_rep_encode(rep, &hdr, &hlen) != 0) {
        mpcd_error(NULL, "cannot encode a reply");
        zmq_msg_close(&pm);
        free(hdr);
        return;
    }
    zmq_send(cs->router, rid, rid_len, ZMQ_SNDMORE);
    zmq_send(cs->router, hdr, hlen, plen ? ZMQ_SNDMORE : 0);
    if (plen) (void)zmq_msg_send(&pm, cs->router, 0);   /* on success pm is left empty */
    zmq_msg_close(&pm);   /* not sent (or empty): wiped and freed here */
    free(hdr);
}

static void s_reply(mpcd_clientsock *cs, zmq_msg_t *rid, const mpc_cwire_rep *rep, uint64_t *share)
{
    s_reply_raw(cs, zmq_msg_data(rid), zmq_msg_size(rid), rep, share);
}

/* Answers the held RESULT requests whose output is ready, whose job failed, or whose wait
 * is over. */
static void s_serve_parked(mpcd_clientsock *cs, mpcd_jobs *jobs, const mpcd_status_extra *extra)
{
    uint64_t now = mpc_now_ms();
    for (uint32_t i = 0; i < cs->n_parked;) {
        s_parked *pk = &cs->parked[i];
        mpc_cwire_rep rep;
        uint64_t *share = NULL;
        mpcd_handle(cs->cfg, jobs, pk->client, &pk->req, NULL, 0, extra, &rep, &share);
        if (rep.type == MPC_CW_RESULT_OK && !rep.ready && now < pk->deadline_ms) {
            i++;
            continue;
        }
        s_reply_raw(cs, pk->rid, pk->rid_len, &rep, share);   /* takes share */
        cs->parked[i] = cs->parked[--cs->n_parked];
    }
}

int mpcd_clientsock_serve(mpcd_clientsock *cs, mpcd_jobs *jobs, const mpcd_status_extra *extra,
                          int timeout_ms)
{
    zmq_pollitem_t item = {cs->router, 0, ZMQ_POLLIN, 0};
    if (cs->n_parked) {
        s_serve_parked(cs, jobs, extra);
        if (timeout_ms > 10) timeout_ms = 10;
    }
    if (zmq_poll(&item, 1, timeout_ms) <= 0) return 0;
    for (;;) {
        zmq_msg_t fr[S_MAX_FRAMES];
        int nf = 0, more = 1, extra_frames = 0;
        while (more) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, cs->router, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&m);
                for (int i = 0; i < nf; i++) zmq_msg_close(&fr[i]);
                return 0;
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
        } else if (extra_frames || nf > 3 ||
                   mpc_cwire_req_decode(zmq_msg_data(&fr[1]), zmq_msg_size(&fr[1]), (size_t)(nf - 2),
                                        nf == 3 ? zmq_msg_size(&fr[2]) : 0, &req, err, sizeof err) != 0) {
            if (extra_frames || nf > 3) snprintf(err, sizeof err, "too many frames");
            rep.type = MPC_CW_ERROR;
            rep.code = MPC_ERR_PROTOCOL;
            rep.rid = extra_frames || nf > 3 ? 0 : req.rid;   /* the decoder keeps a readable id */
            snprintf(rep.msg, sizeof rep.msg, "party %s: malformed request: %.200s", cs->cfg->name, err);
            mpcd_warn(NULL, "malformed request from client %s: %s", client, err);
            s_reply(cs, &fr[0], &rep, NULL);
        } else {
            uint64_t *share = NULL;
            mpcd_handle(cs->cfg, jobs, client, &req, nf == 3 ? zmq_msg_data(&fr[2]) : NULL,
                        nf == 3 ? zmq_msg_size(&fr[2]) : 0, extra, &rep, &share);
            if (req.type == MPC_CW_RESULT && rep.type == MPC_CW_RESULT_OK && !rep.ready && req.wait_ms > 0 &&
                cs->n_parked < S_MAX_PARKED && zmq_msg_size(&fr[0]) <= sizeof cs->parked[0].rid) {
                /* Hold it: answered as soon as the output is ready or the wait is over. */
                s_parked *pk = &cs->parked[cs->n_parked++];
                memcpy(pk->rid, zmq_msg_data(&fr[0]), zmq_msg_size(&fr[0]));
                pk->rid_len = zmq_msg_size(&fr[0]);
                snprintf(pk->client, sizeof pk->client, "%s", client);
                pk->req = req;
                pk->req.circ = NULL;
                pk->deadline_ms = mpc_now_ms() + req.wait_ms;
                mpc_zmq_wipe_free(share, (void *)(uintptr_t)((size_t)rep.count * sizeof(uint64_t)));
            } else {
                s_reply(cs, &fr[0], &rep, share);   /* takes share */
            }
        }
        /* Input shares arrived in these frames: wipe them before release. */
        if (nf == 3) sodium_memzero(zmq_msg_data(&fr[2]), zmq_msg_size(&fr[2]));
        for (int i = 0; i < nf; i++) zmq_msg_close(&fr[i]);
    }
}

void mpcd_clientsock_destroy(mpcd_clientsock **csp)
{
    if (!csp || !*csp) return;
    mpcd_clientsock *cs = *csp;
    if (cs->router) zmq_close(cs->router);
    if (cs->ctx) {
        zmq_ctx_shutdown(cs->ctx);           /* ends the ZAP handler's receive */
        mpc_zap_destroy(&cs->zap);
        zmq_ctx_term(cs->ctx);
    }
    free(cs->parked);
    free(cs);
    *csp = NULL;
}
