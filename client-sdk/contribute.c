/* contribute.c — a contributor's client (docs/contributions.md): one contribution to a
 * job's collection, checked against the program's declaration, encoded, shared in the field
 * among the job's daemons with its validity proof (protocols/flp.h: the explicit share to the
 * job's first party, a seed to each other) and sent to each (client-sdk/ctwire.h); to a
 * collection declared `unchecked`, shared without a proof (mpc_ct_share). */
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

/* A contribution prepared for sending (mpc_job_contribution_make): the request header's
 * fields and each program party's payload (k of them, in binding order). */
struct mpc_contribution {
    uint8_t    job[MPC_CWIRE_JOB_BYTES];
    uint32_t   k;
    mpc_ct_req q;                         /* name, token, nonce, count (rid, mode, proof_len per send) */
    uint8_t   *pay[MPC_MAX_PARTIES];      /* malloc'ed, wiped when freed */
    size_t     plen[MPC_MAX_PARTIES];
    uint8_t    mode[MPC_MAX_PARTIES];
    uint64_t   proof_len[MPC_MAX_PARTIES];
    uint8_t    taken[MPC_MAX_PARTIES];    /* that daemon accepted it: a resend skips it */
};

void mpc_contribution_free(mpc_contribution **xp)
{
    mpc_contribution *x = xp ? *xp : NULL;
    if (!x) return;
    for (uint32_t p = 0; p < MPC_MAX_PARTIES; p++)
        if (x->pay[p]) {
            sodium_memzero(x->pay[p], x->plen[p]);
            free(x->pay[p]);
        }
    sodium_memzero(x, sizeof *x);
    free(x);
    *xp = NULL;
}

/* The proved sharing (docs/contributions.md, "Sharing with the proof"): x's payloads. */
static int s_make_proved(mpc_client *c, mpc_job *j, const mpc_contrib_decl *cd, const uint64_t *x,
                         mpc_contribution *o)
{
    uint32_t k = j->k;
    mpc_flp f;
    mpc_flp_term terms[MPC_FLP_MAX_TERMS];   /* the derived entries the program sums */
    for (uint32_t i = 0; i < cd->n_terms && i < MPC_FLP_MAX_TERMS; i++)
        terms[i] = (mpc_flp_term){cd->terms[i].a, cd->terms[i].b, cd->terms[i].n, cd->terms[i].each};
    if (cd->n_terms > MPC_FLP_MAX_TERMS ||
        mpc_flp_init_derived(&f, cd->len, cd->lo, cd->hi, cd->l2_bound, terms, cd->n_terms, 2) != 0)
        return mpc_client_seterr(c, MPC_ERR_INVALID, "%sno validity proof fits the range and norm bound of '%s'",
                                 j->where, cd->name);
    size_t pub_len = mpc_flp_public_share_size(k);
    uint8_t pub[32 * MPC_MAX_PARTIES];
    for (uint32_t p = 0; p < k; p++) {
        o->plen[p] = o->proof_len[p] = mpc_flp_input_share_size(&f, p > 0) + pub_len;
        o->mode[p] = p == 0 ? MPC_CW_EXPLICIT : MPC_CW_SEED;
        if (!(o->pay[p] = malloc(o->plen[p]))) return mpc_client_seterr(c, MPC_ERR_NOMEM, "out of memory");
    }
    if (!mpc_contrib_norm_ok(cd, x) && s_test_invalid() != 3)
        return mpc_client_seterr(c, MPC_ERR_INPUT, "%scontribution to '%s': its L2 norm is above the bound", j->where,
                                 cd->name);
    int r = s_prove(&f, x, k, o->q.nonce, o->pay, pub);
    if (r) return mpc_client_seterr(c, r, "cannot prove the contribution");
    for (uint32_t p = 0; p < k; p++) memcpy(o->pay[p] + o->plen[p] - pub_len, pub, pub_len);
    return 0;
}

/* The sharing without a proof, for a collection declared `unchecked`: a seed to each program
 * party but the last, the explicit share of the values to the last (mpc_ct_share). */
static int s_make_unchecked(mpc_client *c, const mpc_contrib_decl *cd, uint32_t k, const uint64_t *x,
                            mpc_contribution *o)
{
    for (uint32_t p = 0; p < k; p++) {
        o->plen[p] = p + 1 < k ? MPC_CWIRE_SEED_BYTES : cd->len * 8;
        o->mode[p] = p + 1 < k ? MPC_CW_SEED : MPC_CW_EXPLICIT;
        o->proof_len[p] = 0;
        if (!(o->pay[p] = malloc(o->plen[p]))) return mpc_client_seterr(c, MPC_ERR_NOMEM, "out of memory");
    }
    uint8_t seeds[MPC_MAX_PARTIES * MPC_CWIRE_SEED_BYTES];
    int r = mpc_ct_share(x, cd->len, k, seeds, (uint64_t *)(void *)o->pay[k - 1]);
    for (uint32_t p = 0; p + 1 < k && !r; p++) memcpy(o->pay[p], seeds + (size_t)p * MPC_CWIRE_SEED_BYTES, MPC_CWIRE_SEED_BYTES);
    sodium_memzero(seeds, sizeof seeds);
    return r ? mpc_client_seterr(c, r, "cannot share the contribution") : 0;
}

int mpc_job_contribution_make(mpc_client *c, mpc_job *j, const char *input, const char *values,
                              const char *token_hex, mpc_contribution **out)
{
    c->errmsg[0] = 0;
    *out = NULL;
    if (!j->live) return mpc_client_seterr(c, MPC_ERR_STATE, "attach the job first (mpc_job_attach)");
    const mpc_contrib_decl *cd = input ? mpc_circ_contrib(j->circ, input) : NULL;
    if (!cd)
        return mpc_client_seterr(c, MPC_ERR_NOTFOUND, "%sthe program (compiled from source) has no contributor input "
                                 "'%.64s'", j->where, input ? input : "");
    mpc_contribution *o = calloc(1, sizeof *o);
    if (!o) return mpc_client_seterr(c, MPC_ERR_NOMEM, "out of memory");
    size_t got = 0;
    if (!token_hex || strlen(token_hex) != 2 * MPC_CT_TOKEN_BYTES ||
        sodium_hex2bin(o->q.token, sizeof o->q.token, token_hex, strlen(token_hex), NULL, &got, NULL) != 0 ||
        got != sizeof o->q.token) {
        mpc_contribution_free(&o);
        return mpc_client_seterr(c, MPC_ERR_INVALID, "a contributor token is %d hex digits", 2 * MPC_CT_TOKEN_BYTES);
    }
    o->k = j->k;
    memcpy(o->job, j->id, sizeof o->job);
    memcpy(o->q.job, j->id, sizeof o->q.job);
    snprintf(o->q.name, sizeof o->q.name, "%s", cd->name);
    o->q.count = cd->len;
    randombytes_buf(o->q.nonce, sizeof o->q.nonce);
    uint64_t *x = sodium_malloc(cd->len * 8);
    int r = x ? 0 : mpc_client_seterr(c, MPC_ERR_NOMEM, "out of memory");
    char err[256];
    if (!r && mpc_contrib_parse(cd, j->circ->frac_bits, values, strlen(values), x, err, sizeof err) != 0)
        r = mpc_client_seterr(c, MPC_ERR_INPUT, "%scontribution to '%s': %s", j->where, cd->name, err);
    if (!r) r = cd->unchecked ? s_make_unchecked(c, cd, o->k, x, o) : s_make_proved(c, j, cd, x, o);
    if (x) sodium_free(x);
    if (r) mpc_contribution_free(&o);
    *out = o;
    return r;
}

int mpc_job_contribution_send(mpc_client *c, mpc_job *j, mpc_contribution *x)
{
    c->errmsg[0] = 0;
    if (!j->live) return mpc_client_seterr(c, MPC_ERR_STATE, "attach the job first (mpc_job_attach)");
    if (!x || x->k != j->k || sodium_memcmp(x->job, j->id, sizeof x->job) != 0)
        return mpc_client_seterr(c, MPC_ERR_INVALID, "%sthe contribution was made for another job", j->where);
    mpc_ct_req q = x->q;
    int64_t deadline = (int64_t)mpc_now_ms() + c->cfg.timeout_ms;
    uint64_t rid[MPC_MAX_PARTIES];
    int sent[MPC_MAX_PARTIES] = {0}, r = 0;
    for (uint32_t p = 0; p < x->k && !r; p++) {
        if (x->taken[p]) continue;   /* a resend: only to the daemons that refused it */
        q.rid = rid[p] = c->next_rid++;
        q.mode = x->mode[p];
        q.proof_len = x->proof_len[p];
        r = s_send(c, j->daemon_of[p], &q, x->pay[p], x->plen[p], deadline);
        sent[p] = !r;
    }
    for (uint32_t p = 0; p < x->k; p++) {
        if (!sent[p]) continue;
        char keep[S_ERRMSG_MAX];
        snprintf(keep, sizeof keep, "%s", c->errmsg);
        int rr = s_reply(c, j->daemon_of[p], rid[p], deadline);
        if (!rr) x->taken[p] = 1;
        if (rr && !r) r = rr;
        else if (r) snprintf(c->errmsg, sizeof c->errmsg, "%s", keep);
    }
    sodium_memzero(&q, sizeof q);
    return r;
}

int mpc_job_contribution_send_many(mpc_client *c, mpc_job *j, mpc_contribution *const *x, size_t n, int *rcs)
{
    c->errmsg[0] = 0;
    if (!j->live) return mpc_client_seterr(c, MPC_ERR_STATE, "attach the job first (mpc_job_attach)");
    if (n == 0 || n > MPC_CONTRIB_SEND_MAX)
        return mpc_client_seterr(c, MPC_ERR_INVALID, "1 to %d contributions at once", MPC_CONTRIB_SEND_MAX);
    for (size_t i = 0; i < n; i++)
        if (!x[i] || x[i]->k != j->k || sodium_memcmp(x[i]->job, j->id, sizeof x[i]->job) != 0)
            return mpc_client_seterr(c, MPC_ERR_INVALID, "%sthe contribution was made for another job", j->where);
    /* every request first (each daemon serves its client requests in order, so its replies
     * come back in that order; at most MPC_CONTRIB_SEND_MAX stay within its reply queue),
     * then every reply */
    int64_t deadline = (int64_t)mpc_now_ms() + c->cfg.timeout_ms;
    uint64_t rid[MPC_CONTRIB_SEND_MAX][MPC_MAX_PARTIES];
    uint8_t sent[MPC_CONTRIB_SEND_MAX][MPC_MAX_PARTIES];
    memset(sent, 0, sizeof sent);
    int first = 0;
    char first_msg[S_ERRMSG_MAX] = "";
    for (size_t i = 0; i < n; i++) {
        mpc_ct_req q = x[i]->q;
        rcs[i] = 0;
        for (uint32_t p = 0; p < j->k && !rcs[i]; p++) {
            if (x[i]->taken[p]) continue;
            q.rid = rid[i][p] = c->next_rid++;
            q.mode = x[i]->mode[p];
            q.proof_len = x[i]->proof_len[p];
            rcs[i] = s_send(c, j->daemon_of[p], &q, x[i]->pay[p], x[i]->plen[p], deadline);
            sent[i][p] = !rcs[i];
        }
        if (rcs[i] && !first) first = rcs[i], snprintf(first_msg, sizeof first_msg, "%s", c->errmsg);
        sodium_memzero(&q, sizeof q);
    }
    for (size_t i = 0; i < n; i++)
        for (uint32_t p = 0; p < j->k; p++) {
            if (!sent[i][p]) continue;
            int rr = s_reply(c, j->daemon_of[p], rid[i][p], deadline);
            if (!rr) x[i]->taken[p] = 1;
            if (rr && !rcs[i]) rcs[i] = rr;
            if (rr && !first) first = rr, snprintf(first_msg, sizeof first_msg, "%s", c->errmsg);
        }
    snprintf(c->errmsg, sizeof c->errmsg, "%s", first_msg);
    return first;
}

int mpc_job_contribute(mpc_client *c, mpc_job *j, const char *input, const char *values, const char *token_hex)
{
    mpc_contribution *x = NULL;
    int r = mpc_job_contribution_make(c, j, input, values, token_hex, &x);
    if (!r) r = mpc_job_contribution_send(c, j, x);
    mpc_contribution_free(&x);
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
