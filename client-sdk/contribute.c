/* contribute.c — a contributor's client (docs/contributions.md): one contribution to a
 * job's collection, checked against the program's declaration, encoded, shared in the field
 * among the job's daemons with its validity proof (protocols/flp.h: the explicit share to the
 * job's first party, a seed to each other) and sent to each (client-sdk/ctwire.h). */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "client_int.h"
#include "clock.h"
#include "contrib.h"
#include "ctwire.h"
#include "field61.h"
#include "flp.h"
#include "mpc_err.h"

static int s_sockopt(void *s, int opt, int v) { return zmq_setsockopt(s, opt, &v, sizeof v); }

/* The reply to rid from daemon d: 0 (CONTRIBUTE_OK) or the daemon's error. */
static int s_reply(mpc_client *c, uint32_t d, uint64_t rid, int64_t deadline)
{
    const char *dn = mpc_client_dname(c, d);
    for (;;) {
        int64_t left = deadline - (int64_t)mpc_now_ms();
        s_sockopt(c->sock[d], ZMQ_RCVTIMEO, (int)(left < 0 ? 0 : left > INT32_MAX ? INT32_MAX : left));
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, c->sock[d], 0) < 0) {
            int e = errno;
            zmq_msg_close(&m);
            if (e == EINTR && !mpc_client_interrupted(c)) continue;
            return mpc_client_seterr(c, e == EAGAIN ? MPC_ERR_TIMEOUT : MPC_ERR_IO, "daemon %s: %s", dn,
                                     e == EAGAIN ? mpc_client_why_silent(c, d) : zmq_strerror(e));
        }
        int more = zmq_msg_more(&m);
        while (more) {   /* a reply has one frame: drop anything after it */
            zmq_msg_t x;
            zmq_msg_init(&x);
            if (zmq_msg_recv(&x, c->sock[d], 0) < 0) more = 0;
            else more = zmq_msg_more(&x);
            zmq_msg_close(&x);
        }
        char err[256];
        uint64_t r_rid = 0, pending = 0;
        const uint8_t *h = zmq_msg_data(&m);
        size_t hl = zmq_msg_size(&m);
        if (mpc_ct_rep_decode(h, hl, 0, &r_rid, &pending, err, sizeof err) == 0) {
            zmq_msg_close(&m);
            if (r_rid != rid) continue;
            return 0;
        }
        mpc_cwire_rep e;
        int er = mpc_cwire_rep_decode(h, hl, 0, 0, &e, err, sizeof err);
        zmq_msg_close(&m);
        if (er == 0 && e.rid != rid) continue;
        if (er == 0 && e.type == MPC_CW_ERROR) {
            if (!strncmp(e.msg, "party ", 6)) return mpc_client_seterr(c, e.code, "%s", e.msg);
            return mpc_client_seterr(c, e.code, "daemon %s: %s", dn, e.msg);
        }
        return mpc_client_seterr(c, MPC_ERR_PROTOCOL, "daemon %s: bad reply: %s", dn, err);
    }
}

static int s_send(mpc_client *c, uint32_t d, const mpc_ct_req *q, const void *payload, size_t plen, int64_t deadline)
{
    uint8_t *hdr = NULL;
    size_t hlen = 0;
    if (mpc_ct_req_encode(q, &hdr, &hlen) != 0)
        return mpc_client_seterr(c, MPC_ERR_INVALID, "daemon %s: cannot encode the contribution", mpc_client_dname(c, d));
    int64_t left = deadline - (int64_t)mpc_now_ms();
    s_sockopt(c->sock[d], ZMQ_SNDTIMEO, (int)(left < 0 ? 0 : left > INT32_MAX ? INT32_MAX : left));
    int rc = zmq_send(c->sock[d], hdr, hlen, ZMQ_SNDMORE);
    free(hdr);
    if (rc >= 0) rc = zmq_send(c->sock[d], payload, plen, 0);
    if (rc < 0)
        return mpc_client_seterr(c, MPC_ERR_IO, "daemon %s: %s", mpc_client_dname(c, d),
                                 errno == EAGAIN ? "unreachable" : zmq_strerror(errno));
    return 0;
}

/* Test-only: MPC_TEST_CONTRIB_INVALID=range makes the first element's top bit 1000 (a value
 * far out of range, with an honest proof of that invalid measurement), =proof tampers with
 * one element of the proof share, =norm sends values over the collection's norm bound (each in
 * range; the slack of the norm encoded as 0, proved honestly), =derived adds 1 to the first
 * derived entry (a lying product, proved honestly); the daemons must drop each as invalid.
 * Used by tests/daemon_contrib.test.sh, daemon_contrib_norm.test.sh and
 * daemon_contrib_ops.test.sh only. */
static int s_test_invalid(void)
{
    const char *e = getenv("MPC_TEST_CONTRIB_INVALID");
    return !e                   ? 0
           : !strcmp(e, "range") ? 1
           : !strcmp(e, "proof") ? 2
           : !strcmp(e, "norm")  ? 3
           : !strcmp(e, "derived") ? 4
                                  : 0;
}

/* meas = the encoding of xs under f, except that over f's norm bound the slack's bits are 0
 * (an invalid measurement, for the test switch =norm): the elements' bits are those of the
 * same circuit without the norm. */
static int s_encode(const mpc_flp *f, const int64_t *xs, uint64_t *meas)
{
    int r = mpc_flp_encode(f, xs, meas);
    if (r == 0 || s_test_invalid() != 3 || !f->l2_bound) return r;
    mpc_flp plain;   /* the same without the norm: the elements' bits, then the derived entries */
    if ((r = mpc_flp_init_derived(&plain, f->dim, f->lo, f->hi, 0, f->terms, f->n_terms, f->proofs)) != 0) return r;
    if ((r = mpc_flp_encode(&plain, xs, meas)) != 0) return r;
    memmove(meas + f->bit_len, meas + plain.bit_len, f->n_derived * sizeof *meas);
    memset(meas + plain.bit_len, 0, (f->bit_len - plain.bit_len) * sizeof *meas);
    return 0;
}

/* The proved shares of x (k parties): shares[p] (party 0 explicit, the others compressed)
 * and pub.  0 or an MPC_ERR_*. */
static int s_prove(const mpc_flp *f, const uint64_t *x, uint32_t k, const uint8_t nonce[MPC_FLP_NONCEBYTES],
                   uint8_t **shares, uint8_t *pub)
{
    int64_t *xs = sodium_malloc(f->dim * sizeof *xs);
    uint64_t *meas = sodium_malloc(f->meas_len * sizeof *meas);
    int r = !xs || !meas ? MPC_ERR_NOMEM : 0;
    for (uint64_t i = 0; i < f->dim && !r; i++) xs[i] = mpc_f61_to_signed(x[i]);
    if (!r) r = s_encode(f, xs, meas);
    int cheat = s_test_invalid();
    if (!r && cheat == 1) meas[f->bits - 1] = 1000;
    if (!r && cheat == 4 && f->n_derived) meas[f->bit_len] = mpc_f61_add(meas[f->bit_len], 1);
    if (!r) r = mpc_flp_shard(f, k, 1, meas, nonce, shares, pub);
    if (!r && cheat == 2) {
        uint64_t v;
        memcpy(&v, shares[0] + 8 * f->meas_len, 8);
        v = mpc_f61_add(v, 1);
        memcpy(shares[0] + 8 * f->meas_len, &v, 8);
    }
    if (xs) sodium_free(xs);
    if (meas) sodium_free(meas);
    return r;
}

int mpc_job_contribute(mpc_client *c, mpc_job *j, const char *input, const char *values, const char *token_hex)
{
    c->errmsg[0] = 0;
    if (!j->live) return mpc_client_seterr(c, MPC_ERR_STATE, "attach the job first (mpc_job_attach)");
    const mpc_contrib_decl *cd = input ? mpc_circ_contrib(j->circ, input) : NULL;
    if (!cd)
        return mpc_client_seterr(c, MPC_ERR_NOTFOUND, "%sthe program (compiled from source) has no contributor input "
                                 "'%.64s'", j->where, input ? input : "");
    mpc_ct_req q;
    memset(&q, 0, sizeof q);
    size_t got = 0;
    if (!token_hex || strlen(token_hex) != 2 * MPC_CT_TOKEN_BYTES ||
        sodium_hex2bin(q.token, sizeof q.token, token_hex, strlen(token_hex), NULL, &got, NULL) != 0 ||
        got != sizeof q.token)
        return mpc_client_seterr(c, MPC_ERR_INVALID, "a contributor token is %d hex digits", 2 * MPC_CT_TOKEN_BYTES);
    uint32_t k = j->k;
    uint64_t len = cd->len;
    mpc_flp f;
    mpc_flp_term terms[MPC_FLP_MAX_TERMS];   /* the derived entries the program sums */
    for (uint32_t i = 0; i < cd->n_terms && i < MPC_FLP_MAX_TERMS; i++)
        terms[i] = (mpc_flp_term){cd->terms[i].a, cd->terms[i].b, cd->terms[i].n, cd->terms[i].each};
    if (cd->n_terms > MPC_FLP_MAX_TERMS ||
        mpc_flp_init_derived(&f, len, cd->lo, cd->hi, cd->l2_bound, terms, cd->n_terms, 2) != 0)
        return mpc_client_seterr(c, MPC_ERR_INVALID, "%sno validity proof fits the range and norm bound of '%s'",
                                 j->where, cd->name);
    size_t pub_len = mpc_flp_public_share_size(k);
    size_t plen[MPC_MAX_PARTIES];
    uint8_t *pay[MPC_MAX_PARTIES] = {0}, *sh[MPC_MAX_PARTIES];
    uint8_t pub[32 * MPC_MAX_PARTIES];
    uint64_t *x = sodium_malloc(len * 8);
    int r = x ? 0 : mpc_client_seterr(c, MPC_ERR_NOMEM, "out of memory");
    for (uint32_t p = 0; p < k && !r; p++) {
        plen[p] = mpc_flp_input_share_size(&f, p > 0) + pub_len;
        if (!(pay[p] = sodium_malloc(plen[p]))) r = mpc_client_seterr(c, MPC_ERR_NOMEM, "out of memory");
        sh[p] = pay[p];
    }
    char err[256];
    if (!r && mpc_contrib_parse(cd, j->circ->frac_bits, values, strlen(values), x, err, sizeof err) != 0)
        r = mpc_client_seterr(c, MPC_ERR_INPUT, "%scontribution to '%s': %s", j->where, cd->name, err);
    if (!r && !mpc_contrib_norm_ok(cd, x) && s_test_invalid() != 3)
        r = mpc_client_seterr(c, MPC_ERR_INPUT, "%scontribution to '%s': its L2 norm is above the bound", j->where,
                              cd->name);
    if (!r) randombytes_buf(q.nonce, sizeof q.nonce);
    if (!r && (r = s_prove(&f, x, k, q.nonce, sh, pub)) != 0)
        r = mpc_client_seterr(c, r, "cannot prove the contribution");
    for (uint32_t p = 0; p < k && !r; p++) memcpy(pay[p] + plen[p] - pub_len, pub, pub_len);
    if (!r) {
        memcpy(q.job, j->id, sizeof q.job);
        snprintf(q.name, sizeof q.name, "%s", cd->name);
        q.count = len;
        int64_t deadline = (int64_t)mpc_now_ms() + c->cfg.timeout_ms;
        uint64_t rid[MPC_MAX_PARTIES];
        int sent[MPC_MAX_PARTIES] = {0};
        for (uint32_t p = 0; p < k && !r; p++) {
            uint32_t d = j->daemon_of[p];
            q.rid = rid[p] = c->next_rid++;
            q.mode = p == 0 ? MPC_CW_EXPLICIT : MPC_CW_SEED;
            q.proof_len = plen[p];
            r = s_send(c, d, &q, pay[p], plen[p], deadline);
            sent[p] = !r;
        }
        for (uint32_t p = 0; p < k; p++) {
            if (!sent[p]) continue;
            char keep[S_ERRMSG_MAX];
            snprintf(keep, sizeof keep, "%s", c->errmsg);
            int rr = s_reply(c, j->daemon_of[p], rid[p], deadline);
            if (rr && !r) r = rr;
            else if (r) snprintf(c->errmsg, sizeof c->errmsg, "%s", keep);
        }
    }
    if (x) sodium_free(x);
    for (uint32_t p = 0; p < k; p++)
        if (pay[p]) sodium_free(pay[p]);
    return r;
}

int mpc_job_set_collection(mpc_client *c, mpc_job *j, uint64_t window_ms, uint64_t max_count)
{
    c->errmsg[0] = 0;
    if (j->live) return mpc_client_seterr(c, MPC_ERR_STATE, "%sis already submitted", j->where);
    if (window_ms > MPC_CWIRE_MAX_COLLECT_MS || max_count > MPC_CWIRE_MAX_COLLECT_COUNT)
        return mpc_client_seterr(c, MPC_ERR_INVALID, "a collection window is at most %llu ms and its count at most %llu",
                                 (unsigned long long)MPC_CWIRE_MAX_COLLECT_MS,
                                 (unsigned long long)MPC_CWIRE_MAX_COLLECT_COUNT);
    j->collect_ms = window_ms;
    j->collect_count = max_count;
    return 0;
}
