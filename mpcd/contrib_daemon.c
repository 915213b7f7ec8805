/* contrib_daemon.c — contribution collections in the daemon (contrib_daemon.h,
 * docs/contributions.md). */
#include "contrib_daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "collect.h"
#include "diag.h"
#include "compile.h"
#include "contrib.h"
#include "engine.h"
#include "flp.h"
#include "format.h"
#include "log.h"
#include "mpc_err.h"

#define S_BATCH 256                          /* references in one PROPOSE */
#define S_WORDS (8 + S_BATCH * 4)            /* every agreement message, fixed size */
#define S_PROOFS 2                           /* FLP proofs per contribution (docs/validity.md) */
#define S_VKEY_CONTEXT "mpcd validity verify key 1"

enum { M_PROPOSE = 1, M_HAVE = 2, M_COMMIT = 3, M_CLOSE = 4, M_CLOSED = 5, M_FAIL = 6 };
enum { C_OPEN = 0, C_CLOSING = 1, C_CLOSED = 2 };
enum { W_NONE = 0, W_HAVE = 1, W_CLOSED = 2 };

/* A job's collections, under the job table's lock. */
typedef struct mpcd_coll_job {
    mpcd_collect **c;            /* per circuit input, NULL for the others */
    uint32_t       n_in;
    uint64_t       deadline_ms, max_count, next_ms, wait_since;
    uint8_t        state, waiting, answered;
    uint32_t       k;            /* the input being agreed on (leader) */
    uint32_t       have_mask;    /* followers that answered (leader) */
    uint64_t       batch;
    uint32_t       n;
    uint8_t        bitmap[S_BATCH / 8];
    uint8_t        invalid[S_BATCH / 8];   /* held by all, proof rejected (leader) */
    uint8_t        refs[S_BATCH][MPCD_CONTRIB_REF_BYTES];
    mpc_flp       *flp;          /* per circuit input: the validity circuit of its collection */
    uint8_t       *unchecked;    /* per circuit input: declared `unchecked` (no proof; flp unused) */
    uint8_t       *vkey;         /* per circuit input: its verify_key (sodium_malloc'ed) */
    uint8_t       *preps[MPC_MAX_PARTIES];   /* leader: each follower party's prep messages */
    int            last_empty;   /* the last batch committed nothing (closing: no hurry) */
    uint64_t       first_ms;     /* the first contribution taken pending here (0: none yet) */
    uint64_t       last_commit_ms;   /* the last batch committed here */
} mpcd_coll_job;

static uint8_t *s_key;   /* the token key, sodium_malloc'ed */

int mpcd_contrib_key_load(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char hex[80] = "";
    size_t n = fread(hex, 1, sizeof hex - 1, f);
    fclose(f);
    while (n && (hex[n - 1] == '\n' || hex[n - 1] == '\r' || hex[n - 1] == ' ')) n--;
    uint8_t *k = sodium_malloc(MPCD_TOKEN_KEY_BYTES);
    size_t got = 0;
    if (!k || n != 2 * MPCD_TOKEN_KEY_BYTES ||
        sodium_hex2bin(k, MPCD_TOKEN_KEY_BYTES, hex, n, NULL, &got, NULL) != 0 || got != MPCD_TOKEN_KEY_BYTES) {
        sodium_memzero(hex, sizeof hex);
        if (k) sodium_free(k);
        snprintf(err, errlen, "%s: not a contributor token key (64 hex digits)", path);
        return -1;
    }
    sodium_memzero(hex, sizeof hex);
    mpcd_contrib_key_free();
    s_key = k;
    return 0;
}

void mpcd_contrib_key_free(void)
{
    if (s_key) sodium_free(s_key);
    s_key = NULL;
}

/* The circuit recompiled from the program it carries, when that gives exactly c (its hash):
 * the compiler's record of each contributor input's validity range is in it.  NULL with a
 * message otherwise. */
static mpc_circuit *s_recompiled(const mpc_circuit *c, char *err, size_t errlen)
{
    const mpc_program *p = c->program;
    if (!p || p->n_params > MPC_PROGRAM_MAX_PARAMS) {
        snprintf(err, errlen, "a circuit with contributor inputs must carry its program (their validity ranges)");
        return NULL;
    }
    mpc_define defs[MPC_PROGRAM_MAX_PARAMS];
    for (uint32_t i = 0; i < p->n_params; i++) defs[i] = (mpc_define){p->params[i].name, p->params[i].value};
    mpc_diag d;
    mpc_circuit *rc = NULL;
    int r = mpc_compile_ex(p->text, p->text_len, "program", defs, p->n_params, p->pushdown ? MPC_COMPILE_PUSHDOWN : 0,
                           &rc, &d);
    mpc_diag_free(&d);
    uint8_t h1[MPC_HASH_BYTES], h2[MPC_HASH_BYTES];
    if (r != 0 || mpc_circ_hash(c, h1) != 0 || mpc_circ_hash(rc, h2) != 0 || sodium_memcmp(h1, h2, sizeof h1) != 0) {
        mpc_circ_destroy(&rc);
        snprintf(err, errlen, "the program the circuit carries does not compile to it (contributor inputs need it)");
        return NULL;
    }
    return rc;
}

/* The validity circuit of contributor input k of circuit c (rc: c recompiled): its range,
 * when declared its norm bound, and its derived entries, all from the recompiled program;
 * *max_count (may be NULL): the contributions its sums can hold exactly; *unchecked: the
 * collection takes no proof (f is then zeroed; docs/contributions.md, "Collections without
 * validity checks"). */
static int s_flp_of(const mpc_circuit *c, const mpc_circuit *rc, uint32_t k, mpc_flp *f, uint32_t *max_count,
                    uint8_t *unchecked)
{
    const mpc_contrib_decl *d = mpc_circ_contrib(rc, c->inputs[k].name);
    if (!d || d->n_terms > MPC_FLP_MAX_TERMS || d->len + d->n_derived + 1 != c->inputs[k].len) return MPC_ERR_CIRCUIT;
    if (max_count) *max_count = d->max_count;
    *unchecked = d->unchecked;
    memset(f, 0, sizeof *f);
    if (d->unchecked) return d->n_derived ? MPC_ERR_CIRCUIT : 0;
    mpc_flp_term t[MPC_FLP_MAX_TERMS];
    for (uint32_t i = 0; i < d->n_terms; i++)
        t[i] = (mpc_flp_term){d->terms[i].a, d->terms[i].b, d->terms[i].n, d->terms[i].each};
    if (mpc_flp_init_derived(f, d->len, d->lo, d->hi, d->l2_bound, t, d->n_terms, S_PROOFS) != 0 ||
        f->out_len + 1 != c->inputs[k].len)
        return MPC_ERR_CIRCUIT;
    return 0;
}

int mpcd_contrib_check(const mpc_circuit *c, uint32_t me, char *err, size_t errlen)
{
    mpc_circuit *rc = NULL;
    int r = 0;
    for (uint32_t k = 0; k < c->n_inputs && !r; k++) {
        const mpc_input *in = &c->inputs[k];
        if (!mpc_contrib_input_of(in->name)) continue;
        if (!s_key) {
            snprintf(err, errlen, "input '%s' is a contributor input; this daemon serves no contribution "
                     "collections (no contributor_token_key_file)", in->name);
            r = MPC_ERR_UNSUPPORTED;
        } else if (c->n_parties > MPC_CONTRIB_MAX_PARTIES || in->len < 2 || in->type != MPC_T_INT) {
            snprintf(err, errlen, "contributor input '%s' is malformed or has more than %d parties", in->name,
                     MPC_CONTRIB_MAX_PARTIES);
            r = MPC_ERR_CIRCUIT;
        } else if (!rc && !(rc = s_recompiled(c, err, errlen))) {
            r = MPC_ERR_CIRCUIT;
        } else {
            mpc_flp f;
            uint8_t unchecked;
            if (s_flp_of(c, rc, k, &f, NULL, &unchecked) != 0) {
                snprintf(err, errlen, "contributor input '%s': no validity proof fits its declared range and norm bound", in->name);
                r = MPC_ERR_CIRCUIT;
            }
        }
    }
    (void)me;
    mpc_circ_destroy(&rc);
    return r;
}

/* The verify_key of a collection: BLAKE2b-256 keyed with the token key (which every daemon
 * holds and no client does) of a label, the job id and the input name: per collection, the
 * same on every daemon, never sent (docs/contributions.md, "Validity proofs"). */
static void s_vkey(const uint8_t job[MPCD_JOB_ID_BYTES], const char *name, uint8_t out[MPC_FLP_KEYBYTES])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, s_key, MPCD_TOKEN_KEY_BYTES, MPC_FLP_KEYBYTES);
    crypto_generichash_update(&st, (const uint8_t *)S_VKEY_CONTEXT, sizeof S_VKEY_CONTEXT);
    crypto_generichash_update(&st, job, MPCD_JOB_ID_BYTES);
    crypto_generichash_update(&st, (const uint8_t *)name, strlen(name) + 1);
    crypto_generichash_final(&st, out, MPC_FLP_KEYBYTES);
    sodium_memzero(&st, sizeof st);
}

int mpcd_contrib_open(const mpcd_config *cfg, mpcd_job *job, uint64_t now_ms, uint64_t window_ms, uint64_t max_count)
{
    const mpc_circuit *c = job->circ;
    int any = 0;
    for (uint32_t k = 0; k < c->n_inputs; k++) any |= mpc_contrib_input_of(c->inputs[k].name);
    if (!any || job->my_party == UINT32_MAX) return 0;
    if (!s_key) return MPC_ERR_UNSUPPORTED;
    char err[256];
    mpc_circuit *rc = s_recompiled(c, err, sizeof err);
    if (!rc) return MPC_ERR_CIRCUIT;
    mpcd_coll_job *cj = calloc(1, sizeof *cj);
    if (!cj || !(cj->c = calloc(c->n_inputs, sizeof *cj->c)) || !(cj->flp = calloc(c->n_inputs, sizeof *cj->flp)) ||
        !(cj->unchecked = calloc(c->n_inputs, 1)) ||
        !(cj->vkey = sodium_malloc((size_t)c->n_inputs * MPC_FLP_KEYBYTES))) {
        if (cj) free(cj->c), free(cj->flp), free(cj->unchecked);
        free(cj);
        mpc_circ_destroy(&rc);
        return MPC_ERR_NOMEM;
    }
    cj->n_in = c->n_inputs;
    job->coll = cj;
    if (!window_ms || window_ms > (uint64_t)cfg->contrib_window_ms) window_ms = (uint64_t)cfg->contrib_window_ms;
    if (!max_count || max_count > (uint64_t)cfg->contrib_max_count) max_count = (uint64_t)cfg->contrib_max_count;
    cj->max_count = max_count;
    cj->deadline_ms = now_ms + window_ms;
    int r = 0;
    for (uint32_t k = 0; k < c->n_inputs && !r; k++) {
        if (!mpc_contrib_input_of(c->inputs[k].name)) continue;
        uint32_t decl_max = 0;   /* the program's limit: the sums (and derived entries') decode exactly */
        if ((r = s_flp_of(c, rc, k, &cj->flp[k], &decl_max, &cj->unchecked[k])) != 0) break;
        if (decl_max < cj->max_count) cj->max_count = decl_max;   /* closes there, not only full */
        s_vkey(job->id, c->inputs[k].name, cj->vkey + (size_t)k * MPC_FLP_KEYBYTES);
        mpcd_collect_limits lim = {.max_pending = (uint32_t)cfg->contrib_max_pending,
                                   .max_count = decl_max < (uint32_t)cfg->contrib_max_count
                                                    ? decl_max : (uint32_t)cfg->contrib_max_count,
                                   .pending_ms = (uint64_t)cfg->contrib_pending_ms,
                                   .msg_bytes = cj->unchecked[k] ? 0 : (uint32_t)mpc_flp_prep_size(&cj->flp[k])};
        if (!(cj->c[k] = mpcd_collect_new(c->inputs[k].len - 1, &lim))) r = MPC_ERR_NOMEM;
    }
    mpc_circ_destroy(&rc);
    if (r) mpcd_contrib_free(job);
    return r;
}

void mpcd_contrib_free(mpcd_job *job)
{
    mpcd_coll_job *cj = job->coll;
    if (!cj) return;
    for (uint32_t k = 0; k < cj->n_in; k++) mpcd_collect_free(&cj->c[k]);
    free(cj->c);
    free(cj->flp);
    free(cj->unchecked);
    if (cj->vkey) sodium_free(cj->vkey);
    for (uint32_t p = 0; p < MPC_MAX_PARTIES; p++) free(cj->preps[p]);
    sodium_memzero(cj, sizeof *cj);
    free(cj);
    job->coll = NULL;
}

/* ---- CONTRIBUTE ---- */

/* Lock held.  The job and input k of a CONTRIBUTE to name ("g-contrib"), with err set and
 * the code returned when the collection does not take it. */
static int s_find_coll(mpcd_jobs *jobs, const mpc_ct_req *req, const char *name, mpcd_job **jobp, uint32_t *kp,
                       char *err, size_t errlen)
{
    mpcd_job *job = mpcd_jobs_find(jobs, req->job);
    mpcd_coll_job *cj = job ? job->coll : NULL;
    uint32_t k = 0;
    if (cj)
        for (k = 0; k < cj->n_in && strcmp(job->circ->inputs[k].name, name) != 0; k++) {}
    *jobp = job;
    *kp = k;
    if (!job) return mpc_errc(err, errlen, MPC_ERR_NOTFOUND, "no such job");
    if (!cj || k == cj->n_in || !cj->c[k])
        return mpc_errc(err, errlen, MPC_ERR_NOTFOUND, "the job collects no contributions to '%s'", req->name);
    if (cj->state != C_OPEN || job->state != MPCD_JOB_QUEUED)
        return mpc_errc(err, errlen, MPC_ERR_STATE, "the collection '%s' is closed", req->name);
    /* the values (D); the derived entries are in the proved share, and an unchecked collection
     * has none (its circuit input is D values and the count) */
    uint64_t dim = cj->unchecked[k] ? job->circ->inputs[k].len - 1 : cj->flp[k].dim;
    if (req->count != dim)
        return mpc_errc(err, errlen, MPC_ERR_INPUT, "a contribution to '%s' has %llu elements, not %llu", req->name,
                     (unsigned long long)req->count, (unsigned long long)dim);
    return 0;
}

/* The offer of a collection's result code, with err set: the refusals every kind of
 * contribution shares. */
static int s_offer_err(int rc, const mpc_ct_req *req, char *err, size_t errlen)
{
    if (rc == MPC_ERR_STATE)
        mpc_errc(err, errlen, rc, "contribution to '%s' refused: a duplicate contribution (or nonce), or the "
              "collection is full", req->name);
    else if (rc == MPC_ERR_INPUT)
        mpc_errc(err, errlen, rc, "contribution to '%s' refused: an element is not below p", req->name);
    else if (rc == MPC_ERR_LIMIT)
        mpc_errc(err, errlen, rc, "contribution to '%s' refused for now: too many pending here (retry)", req->name);
    else if (rc)
        mpc_errc(err, errlen, rc, "contribution to '%s' refused: %s", req->name, mpc_strerror(rc));
    return rc;
}

/* A contribution without a proof to a collection declared `unchecked` (docs/contributions.md,
 * "Collections without validity checks"): the sharing of mpc_ct_share, a seed to each party
 * but the last and the explicit share to the last; the share (expanded, or checked below p by
 * the offer) goes pending as it is. */
static int s_offer_unchecked(mpcd_jobs *jobs, const mpc_ct_req *req, const char *name, const uint8_t *payload,
                             uint32_t party, uint32_t n, uint64_t *pending, char *err, size_t errlen)
{
    if (req->mode != (party + 1 == n ? MPC_CW_EXPLICIT : MPC_CW_SEED))
        return mpc_errc(err, errlen, MPC_ERR_INPUT, "contribution to '%s' refused: its share has the wrong form for "
                     "this daemon (party %u)", req->name, party);
    uint64_t d = req->count;
    uint64_t *share = malloc((size_t)d * sizeof *share);
    if (!share) return mpc_errc(err, errlen, MPC_ERR_NOMEM, "out of memory");
    int rc = 0;
    if (req->mode == MPC_CW_SEED && (rc = mpc_ct_expand(payload, d, share)) != 0)
        mpc_errc(err, errlen, rc, "cannot expand the seed");
    else if (req->mode != MPC_CW_SEED)
        memcpy(share, payload, (size_t)d * 8);   /* little-endian words, as every INPUT share */
    uint8_t ref[MPCD_CONTRIB_REF_BYTES];
    memcpy(ref, req->token, MPCD_TOKEN_ID_BYTES);
    memcpy(ref + MPCD_TOKEN_ID_BYTES, req->nonce, MPC_CT_NONCE_BYTES);
    if (!rc) {
        mpcd_job *job;
        uint32_t k;
        mpcd_jobs_lock(jobs);
        rc = s_find_coll(jobs, req, name, &job, &k, err, errlen);
        if (!rc) {
            uint64_t now = mpc_now_ms();
            rc = s_offer_err(mpcd_collect_offer(job->coll->c[k], ref, share, d, now), req, err, errlen);
            if (!rc && !job->coll->first_ms) job->coll->first_ms = now;
            *pending = rc ? 0 : mpcd_collect_pending(job->coll->c[k]);
        }
        mpcd_jobs_unlock(jobs);
    }
    sodium_memzero(share, (size_t)d * sizeof *share);
    free(share);
    return rc;
}

int mpcd_contrib_handle(const mpcd_config *cfg, mpcd_jobs *jobs, const char *client, const mpc_ct_req *req,
                        const uint8_t *payload, size_t plen, uint64_t *pending, char *err, size_t errlen)
{
    const mpcd_client_conf *cl = NULL;
    for (uint32_t i = 0; i < cfg->n_clients && !cl; i++)
        if (!strcmp(cfg->clients[i].name, client)) cl = &cfg->clients[i];
    if (!cl || !cl->may_contribute)
        return mpc_errc(err, errlen, MPC_ERR_DENIED, "client '%s' may not contribute", client);
    if (!s_key) return mpc_errc(err, errlen, MPC_ERR_UNSUPPORTED, "this daemon serves no contribution collections");
    if (plen != mpc_ct_req_payload_len(req)) return mpc_errc(err, errlen, MPC_ERR_INPUT, "the payload has a wrong length");
    if (!mpcd_token_ok(s_key, req->token))
        return mpc_errc(err, errlen, MPC_ERR_DENIED, "contribution to '%s' refused: the token is not valid", req->name);
    char name[MPC_NAME_MAX + sizeof MPC_CONTRIB_SUFFIX];
    snprintf(name, sizeof name, "%s%s", req->name, MPC_CONTRIB_SUFFIX);
    /* the collection's parameters, copied under the lock; the proof is checked outside it */
    mpc_flp f;
    uint8_t vkey[MPC_FLP_KEYBYTES];
    uint32_t party = 0, n = 0, k;
    uint8_t unchecked = 0;
    mpcd_job *job;
    mpcd_jobs_lock(jobs);
    int rc = s_find_coll(jobs, req, name, &job, &k, err, errlen);
    if (!rc) {
        unchecked = job->coll->unchecked[k];
        f = job->coll->flp[k];
        memcpy(vkey, job->coll->vkey + (size_t)k * MPC_FLP_KEYBYTES, sizeof vkey);
        party = job->my_party;
        n = job->circ->n_parties;
    }
    mpcd_jobs_unlock(jobs);
    if (!rc && unchecked != (req->proof_len == 0))
        rc = mpc_errc(err, errlen, MPC_ERR_INPUT, unchecked ? "contribution to '%s' refused: it carries a validity proof, "
                   "but the collection is declared unchecked" : "contribution to '%s' refused: it carries no validity "
                   "proof", req->name);
    if (!rc && unchecked) rc = s_offer_unchecked(jobs, req, name, payload, party, n, pending, err, errlen);
    if (rc || unchecked) {
        sodium_memzero(vkey, sizeof vkey);
        return rc;
    }
    size_t in_len = mpc_flp_input_share_size(&f, party > 0), pub_len = mpc_flp_public_share_size(n);
    if (req->mode != (party == 0 ? MPC_CW_EXPLICIT : MPC_CW_SEED) || plen != in_len + pub_len) {
        sodium_memzero(vkey, sizeof vkey);
        return mpc_errc(err, errlen, MPC_ERR_INPUT, "contribution to '%s' refused: its share has the wrong form for "
                     "this daemon (party %u)", req->name, party);
    }
    uint64_t d = f.out_len;   /* the values' and the derived entries' output shares */
    uint64_t *share = malloc((size_t)d * sizeof *share);
    size_t msg_len = mpc_flp_prep_size(&f);
    uint8_t *msg = malloc(msg_len);
    if (!share || !msg) rc = mpc_errc(err, errlen, MPC_ERR_NOMEM, "out of memory");
    else if ((rc = mpc_flp_prep(&f, n, party, vkey, req->nonce, payload + in_len, pub_len, payload, in_len, share,
                                msg)) != 0)
        mpc_errc(err, errlen, rc, "contribution to '%s' refused: %s", req->name,
              rc == MPC_ERR_INPUT ? "a malformed share (an element not below p)" : mpc_strerror(rc));
    sodium_memzero(vkey, sizeof vkey);
    uint8_t ref[MPCD_CONTRIB_REF_BYTES];
    memcpy(ref, req->token, MPCD_TOKEN_ID_BYTES);
    memcpy(ref + MPCD_TOKEN_ID_BYTES, req->nonce, MPC_CT_NONCE_BYTES);
    if (!rc) {
        mpcd_jobs_lock(jobs);
        rc = s_find_coll(jobs, req, name, &job, &k, err, errlen);
        /* Pending with its output share and prep message; the prep messages travel with HAVE
         * and COMMIT includes only the contributions whose proof the leader accepted. */
        if (!rc) {
            mpcd_collect *c = job->coll->c[k];
            uint64_t now = mpc_now_ms();
            rc = mpcd_collect_offer_msg(c, ref, share, d, msg, now);
            if (!rc && !job->coll->first_ms) job->coll->first_ms = now;
            if (rc == MPC_ERR_STATE)
                mpc_errc(err, errlen, rc, "contribution to '%s' refused: a duplicate contribution (or nonce), or the "
                      "collection is full", req->name);
            else if (rc == MPC_ERR_LIMIT)
                mpc_errc(err, errlen, rc, "contribution to '%s' refused for now: too many pending here (retry)",
                      req->name);
            else if (rc)
                mpc_errc(err, errlen, rc, "contribution to '%s' refused: %s", req->name, mpc_strerror(rc));
            *pending = rc ? 0 : mpcd_collect_pending(c);
        }
        mpcd_jobs_unlock(jobs);
    }
    if (share) sodium_memzero(share, (size_t)d * sizeof *share);
    if (msg) sodium_memzero(msg, msg_len);
    free(share);
    free(msg);
    return rc;
}

/* ---- the collector: agreement over the mesh ---- */

static void s_put_job(uint64_t *w, const uint8_t id[MPCD_JOB_ID_BYTES]) { memcpy(&w[1], id, MPCD_JOB_ID_BYTES); }

static void s_send(mpcd_collector *x, uint32_t to, uint64_t *w)
{
    if (mpc_send(x->mesh, to, MPC_MSG_CONTROL, MPCD_CONTRIB_STREAM, 0, w, S_WORDS) != 0)
        mpcd_debug(NULL, "collector: a message to %s was not sent", x->names[to]);
}

static void s_to_followers(mpcd_collector *x, const mpcd_job *job, uint64_t *w)
{
    for (uint32_t p = 1; p < job->circ->n_parties; p++) s_send(x, job->binding[p], w);
}

static uint32_t s_followers_mask(const mpcd_job *job)
{
    uint32_t m = 0;
    for (uint32_t p = 1; p < job->circ->n_parties; p++) m |= 1u << job->binding[p];
    return m;
}

static int s_fail(mpcd_collector *x, mpcd_job *job, int tell, const char *why)
{
    char hex[MPC_CWIRE_JOB_HEX + 1];
    mpc_cwire_job_hex(job->id, hex);
    mpcd_warn(hex, "contribution collection failed: %s", why);
    if (tell && job->binding[0] == x->self) {
        uint64_t *w = calloc(S_WORDS, 8);
        if (w) {
            w[0] = M_FAIL;
            s_put_job(w, job->id);
            w[4] = x->self;
            s_to_followers(x, job, w);
            free(w);
        }
    }
    if (!mpcd_job_finished(job)) mpcd_job_fail(job, "contribution collection failed: %s", why);
    x->changed = 1;
    return 0;
}

/* Closes input k's collection here and gives the job its share. */
static int s_close_input(mpcd_job *job, uint32_t k)
{
    mpcd_coll_job *cj = job->coll;
    uint64_t len = job->circ->inputs[k].len;
    uint64_t *share = malloc((size_t)len * sizeof *share);
    if (!share) return MPC_ERR_NOMEM;
    mpcd_collect_close(cj->c[k], job->my_party == 0, share);
    mpcd_job_input *in = &job->inputs[k];
    in->share = share;
    in->mode = MPC_IN_STORED;
    in->present = 1;
    snprintf(in->giver, sizeof in->giver, "contributors");
    uint64_t b, cnt;
    uint8_t dg[32];
    mpcd_collect_summary(cj->c[k], &b, &cnt, dg);
    in->contributions = cnt;   /* min_contributors counts them (mpcd_release_contributors) */
    char hex[MPC_CWIRE_JOB_HEX + 1];
    mpc_cwire_job_hex(job->id, hex);
    /* the span from the first contribution taken to the last commit: the daemon's own measure
     * of its acceptance rate (bench/run's contrib rows read it) */
    uint64_t span = cj->first_ms && cj->last_commit_ms > cj->first_ms ? cj->last_commit_ms - cj->first_ms : 0;
    mpcd_info(hex, "collection '%s' closed: %llu contributions in %llu batches, %llu invalid (validity proof "
              "rejected), %llu ms from the first taken to the last committed", job->circ->inputs[k].name,
              (unsigned long long)cnt, (unsigned long long)b, (unsigned long long)mpcd_collect_invalid(cj->c[k]),
              (unsigned long long)span);
    return 0;
}

/* The next input with an open collection at or after k, or n_in. */
static uint32_t s_next_input(const mpcd_coll_job *cj, uint32_t k)
{
    while (k < cj->n_in && !cj->c[k]) k++;
    return k;
}

/* Leader: starts the next step of job's collections, when nothing is outstanding. */
static int s_lead(mpcd_collector *x, mpcd_job *job, uint64_t now, uint64_t *w)
{
    mpcd_coll_job *cj = job->coll;
    if (cj->waiting) {
        if (now - cj->wait_since > x->peer_timeout_ms) s_fail(x, job, 1, "a party did not answer within peer_timeout_ms");
        return 0;
    }
    if (cj->state == C_CLOSED) return 0;
    cj->k = s_next_input(cj, cj->k);
    if (cj->k == cj->n_in) cj->k = s_next_input(cj, 0);
    if (cj->k == cj->n_in) return 0;
    mpcd_collect *c = cj->c[cj->k];
    uint64_t b, cnt;
    uint8_t dg[32];
    mpcd_collect_summary(c, &b, &cnt, dg);
    if (cj->state == C_OPEN && (now >= cj->deadline_ms || cnt >= cj->max_count)) {
        cj->state = C_CLOSING;
        cj->last_empty = 0;
    }
    /* Closing: no new contribution is taken; batches go on until nothing is pending here
     * (each committed, or dropped after contrib_pending_ms: held by some daemons only). */
    mpcd_collect_expire(c, now);
    uint32_t pend = mpcd_collect_pending(c);
    int closing = cj->state == C_CLOSING;
    if (pend > 0 && (now >= cj->next_ms || (!cj->last_empty && (pend >= S_BATCH || closing)))) {
        cj->next_ms = now + x->batch_ms;
        cj->n = mpcd_collect_propose(c, cj->refs, S_BATCH, &cj->batch);
        if (cj->n == 0) return 0;
        memset(w, 0, S_WORDS * 8);
        w[0] = M_PROPOSE | (uint64_t)cj->k << 32;
        s_put_job(w, job->id);
        w[3] = cj->batch;
        w[4] = cj->n;
        w[5] = cj->unchecked[cj->k];   /* every party must hold the collection alike */
        memcpy(&w[8], cj->refs, (size_t)cj->n * MPCD_CONTRIB_REF_BYTES);
        s_to_followers(x, job, w);
        if (mpcd_collect_have(c, cj->batch, (const uint8_t(*)[MPCD_CONTRIB_REF_BYTES])cj->refs, cj->n, cj->bitmap))
            return s_fail(x, job, 1, "internal: the leader's batch is out of order");
        cj->waiting = W_HAVE;
        cj->have_mask = 0;
        cj->wait_since = now;
        return 0;
    }
    if (closing && pend == 0) {   /* every common contribution is in: compare */
        memset(w, 0, S_WORDS * 8);
        w[0] = M_CLOSE | (uint64_t)cj->k << 32;
        s_put_job(w, job->id);
        w[3] = b;
        w[5] = cnt;
        memcpy(&w[8], dg, 32);
        s_to_followers(x, job, w);
        cj->waiting = W_CLOSED;
        cj->have_mask = 0;
        cj->wait_since = now;
    }
    return 0;
}

/* The party (binding order) that node plays in job, or UINT32_MAX. */
static uint32_t s_party_of(const mpcd_job *job, uint32_t node)
{
    for (uint32_t p = 0; p < job->circ->n_parties; p++)
        if (job->binding[p] == node) return p;
    return UINT32_MAX;
}

/* Words of the prep-message block that follows a HAVE of n references: the job id (2 words),
 * the batch, the input, then n prep messages (zeros for a reference not held). */
static uint64_t s_prep_words(const mpc_flp *f, uint32_t n) { return 4 + (uint64_t)n * (mpc_flp_prep_size(f) / 8); }

/* Leader: the block of prep messages follower node `from` sends right after its HAVE w. */
static int s_recv_preps(mpcd_collector *x, mpcd_job *job, uint32_t from, const uint64_t *w)
{
    mpcd_coll_job *cj = job->coll;
    uint32_t p = s_party_of(job, from);
    uint64_t words = s_prep_words(&cj->flp[cj->k], cj->n);
    if (p == UINT32_MAX || p == 0 || w[5] != words) return -1;
    free(cj->preps[p]);
    if (!(cj->preps[p] = malloc(words * 8))) return -1;
    uint64_t *b = cj->preps[p] ? (uint64_t *)cj->preps[p] : NULL;
    int t = x->peer_timeout_ms > 10000 ? 10000 : (int)x->peer_timeout_ms;
    if (mpc_recv(x->mesh, from, MPC_MSG_CONTROL, MPCD_CONTRIB_PREP_STREAM, 0, b, words, t) != 0 ||
        memcmp(&b[0], job->id, MPCD_JOB_ID_BYTES) != 0 || b[2] != cj->batch || b[3] != cj->k)
        return -1;
    return 0;
}

/* Leader, every HAVE in: for each reference all parties hold, the decision on its validity
 * proof from the n prep messages (its own and the followers'); a rejected one moves from the
 * commit bitmap to the invalid one. */
static void s_decide(mpcd_job *job)
{
    mpcd_coll_job *cj = job->coll;
    const mpc_flp *f = &cj->flp[cj->k];
    size_t ps = mpc_flp_prep_size(f);
    uint32_t np = job->circ->n_parties;
    memset(cj->invalid, 0, sizeof cj->invalid);
    for (uint32_t i = 0; i < cj->n; i++) {
        if (!(cj->bitmap[i / 8] >> (i % 8) & 1)) continue;
        const uint8_t *msgs[MPC_MAX_PARTIES];
        msgs[0] = mpcd_collect_msg(cj->c[cj->k], cj->refs[i]);
        for (uint32_t p = 1; p < np; p++) msgs[p] = cj->preps[p] + 32 + (size_t)i * ps;
        if (msgs[0] && mpc_flp_prep_decide(f, np, cj->refs[i] + MPCD_TOKEN_ID_BYTES, msgs) == 0) continue;
        cj->bitmap[i / 8] &= (uint8_t) ~(1u << (i % 8));
        cj->invalid[i / 8] |= (uint8_t)(1u << (i % 8));
    }
    for (uint32_t p = 1; p < np; p++) {
        free(cj->preps[p]);
        cj->preps[p] = NULL;
    }
}

/* Leader: a HAVE or CLOSED from follower node `from`. */
static int s_lead_answer(mpcd_collector *x, mpcd_job *job, uint32_t from, const uint64_t *w, uint64_t *out)
{
    mpcd_coll_job *cj = job->coll;
    uint32_t kind = (uint32_t)w[0], k = (uint32_t)(w[0] >> 32);
    if (!(s_followers_mask(job) & (1u << from)) || k != cj->k) return s_fail(x, job, 1, "a stray answer");
    if (kind == M_HAVE) {
        if (cj->waiting != W_HAVE || w[3] != cj->batch) return s_fail(x, job, 1, "an answer to another batch");
        if (w[4] == 2)
            return s_fail(x, job, 1, "the parties disagree on whether the collection is checked (declared unchecked)");
        if (w[4] != 0) return s_fail(x, job, 1, "a party is at another batch");
        if (cj->unchecked[cj->k] ? w[5] != 0 : s_recv_preps(x, job, from, w) != 0)
            return s_fail(x, job, 1, "a party's prep messages did not arrive whole");
        const uint8_t *bm = (const uint8_t *)&w[8];
        for (uint32_t i = 0; i < S_BATCH / 8; i++) cj->bitmap[i] &= bm[i];
        cj->have_mask |= 1u << from;
        if (cj->have_mask != s_followers_mask(job)) return 0;
        if (cj->unchecked[cj->k]) memset(cj->invalid, 0, sizeof cj->invalid);   /* nothing to decide */
        else s_decide(job);
        uint32_t committed = 0;
        for (uint32_t i = 0; i < cj->n; i++) committed += cj->bitmap[i / 8] >> (i % 8) & 1;
        memset(out, 0, S_WORDS * 8);
        out[0] = M_COMMIT | (uint64_t)cj->k << 32;
        s_put_job(out, job->id);
        out[3] = cj->batch;
        out[4] = cj->n;
        memcpy(&out[8], cj->bitmap, sizeof cj->bitmap);
        memcpy(&out[8 + S_BATCH / 64], cj->invalid, sizeof cj->invalid);
        s_to_followers(x, job, out);
        if (mpcd_collect_reject(cj->c[cj->k], cj->batch, (const uint8_t(*)[MPCD_CONTRIB_REF_BYTES])cj->refs, cj->n,
                                cj->invalid) ||
            mpcd_collect_commit(cj->c[cj->k], cj->batch, (const uint8_t(*)[MPCD_CONTRIB_REF_BYTES])cj->refs, cj->n,
                                cj->bitmap))
            return s_fail(x, job, 1, "the leader cannot commit its own batch");
        cj->last_empty = committed == 0;   /* closing: wait for the next batch time, not at once */
        if (committed) cj->last_commit_ms = mpc_now_ms();
        cj->waiting = W_NONE;
    } else if (kind == M_CLOSED) {
        if (cj->waiting != W_CLOSED) return s_fail(x, job, 1, "a stray close answer");
        if (w[4] != 0) {
            char why[160];
            snprintf(why, sizeof why, "party %s holds another set of contributions", x->names[from]);
            return s_fail(x, job, 1, why);
        }
        cj->have_mask |= 1u << from;
        if (cj->have_mask != s_followers_mask(job)) return 0;
        if (s_close_input(job, cj->k) != 0) return s_fail(x, job, 1, "out of memory");
        x->changed = 1;
        cj->waiting = W_NONE;
        cj->last_empty = 0;
        cj->k = s_next_input(cj, cj->k + 1);
        if (cj->k == cj->n_in) cj->state = C_CLOSED;
    }
    return 0;
}

/* Follower: a message from the leader. */
static int s_follow(mpcd_collector *x, mpcd_job *job, const uint64_t *w, uint64_t *out)
{
    mpcd_coll_job *cj = job->coll;
    uint32_t kind = (uint32_t)w[0], k = (uint32_t)(w[0] >> 32);
    if (kind == M_FAIL) {
        char why[160];
        snprintf(why, sizeof why, "ended by party %s", x->names[job->binding[0]]);
        return s_fail(x, job, 0, why);
    }
    if (k >= cj->n_in || !cj->c[k] || cj->state == C_CLOSED) return s_fail(x, job, 0, "a message about no collection");
    mpcd_collect *c = cj->c[k];
    uint32_t leader = job->binding[0];
    memset(out, 0, S_WORDS * 8);
    out[0] = (uint64_t)k << 32;
    s_put_job(out, job->id);
    out[3] = w[3];
    if (kind == M_PROPOSE) {
        uint32_t n = w[4] > S_BATCH ? 0 : (uint32_t)w[4];
        out[0] |= M_HAVE;
        if (n == 0 || mpcd_collect_have(c, w[3], (const uint8_t(*)[MPCD_CONTRIB_REF_BYTES])&w[8], n,
                                        (uint8_t *)&out[8]) != 0)
            out[4] = 1;   /* at another batch: the leader ends the job */
        else if (w[5] != cj->unchecked[k])
            out[4] = 2;   /* the leader holds the collection checked and this party unchecked, or the reverse */
        cj->answered = 1;
        /* then the prep message of each reference held here, for the leader's decision */
        uint64_t words = out[4] || cj->unchecked[k] ? 0 : s_prep_words(&cj->flp[k], n);
        uint64_t *b = words ? calloc(words, 8) : NULL;
        if (words && !b) out[4] = 1;
        out[5] = out[4] ? 0 : words;
        s_send(x, leader, out);
        if (b) {
            size_t ps = mpc_flp_prep_size(&cj->flp[k]);
            memcpy(&b[0], job->id, MPCD_JOB_ID_BYTES);
            b[2] = w[3];
            b[3] = k;
            for (uint32_t i = 0; i < n; i++) {
                const uint8_t *m = mpcd_collect_msg(c, (const uint8_t *)&w[8] + (size_t)i * MPCD_CONTRIB_REF_BYTES);
                if (m) memcpy((uint8_t *)&b[4] + (size_t)i * ps, m, ps);
            }
            if (mpc_send(x->mesh, leader, MPC_MSG_CONTROL, MPCD_CONTRIB_PREP_STREAM, 0, b, words) != 0)
                mpcd_debug(NULL, "collector: prep messages to %s were not sent", x->names[leader]);
            sodium_memzero(b, words * 8);
            free(b);
        }
    } else if (kind == M_COMMIT) {
        uint32_t n = w[4] > S_BATCH ? S_BATCH + 1 : (uint32_t)w[4];
        if (n > S_BATCH || !cj->answered) return s_fail(x, job, 0, "a commit without its batch");
        /* the references are those of the PROPOSE this party answered: kept by the leader only,
         * so the COMMIT names them again by position in that PROPOSE */
        if (mpcd_collect_reject(c, w[3], (const uint8_t(*)[MPCD_CONTRIB_REF_BYTES])cj->refs, n,
                                (const uint8_t *)&w[8 + S_BATCH / 64]) != 0 ||
            mpcd_collect_commit(c, w[3], (const uint8_t(*)[MPCD_CONTRIB_REF_BYTES])cj->refs, n,
                                (const uint8_t *)&w[8]) != 0)
            return s_fail(x, job, 0, "a commit of contributions not pending here");
        cj->answered = 0;
        for (uint32_t i = 0; i < S_BATCH / 64; i++)
            if (w[8 + i]) cj->last_commit_ms = mpc_now_ms();
    } else if (kind == M_CLOSE) {
        uint64_t b, cnt;
        uint8_t dg[32];
        mpcd_collect_summary(c, &b, &cnt, dg);
        out[0] |= M_CLOSED;
        out[4] = !(b == w[3] && cnt == w[5] && sodium_memcmp(dg, &w[8], 32) == 0);
        cj->state = C_CLOSING;
        s_send(x, leader, out);
        if (out[4]) return s_fail(x, job, 0, "the parties hold different sets of contributions");
        if (s_close_input(job, k) != 0) return s_fail(x, job, 0, "out of memory");
        x->changed = 1;
        if (s_next_input(cj, k + 1) == cj->n_in) cj->state = C_CLOSED;
    } else {
        s_fail(x, job, 0, "an unknown collection message");
    }
    return 0;
}

void mpcd_collector_pass(mpcd_collector *x, uint64_t now_ms)
{
    uint64_t *w = malloc(S_WORDS * 8), *out = malloc(S_WORDS * 8);
    if (!w || !out) {
        free(w);
        free(out);
        return;
    }
    mpcd_jobs_lock(x->jobs);
    for (uint32_t p = 0; p < x->n_parties; p++) {
        if (p == x->self) continue;
        while (mpc_recv(x->mesh, p, MPC_MSG_CONTROL, MPCD_CONTRIB_STREAM, 0, w, S_WORDS, 0) == 0) {
            mpcd_job *job = mpcd_jobs_find(x->jobs, (const uint8_t *)&w[1]);
            if (!job || !job->coll || mpcd_job_finished(job) || job->my_party == UINT32_MAX) continue;
            if (job->binding[0] == x->self) s_lead_answer(x, job, p, w, out);
            else if (job->binding[0] == p) {
                /* a PROPOSE keeps its references here too, for the COMMIT that follows */
                if ((uint32_t)w[0] == M_PROPOSE && w[4] <= S_BATCH)
                    memcpy(job->coll->refs, &w[8], (size_t)w[4] * MPCD_CONTRIB_REF_BYTES);
                s_follow(x, job, w, out);
            }
        }
    }
    for (mpcd_job *job = mpcd_jobs_first(x->jobs); job; job = job->next) {
        if (!job->coll || mpcd_job_finished(job) || job->my_party == UINT32_MAX) continue;
        if (job->binding[0] == x->self) s_lead(x, job, now_ms, w);
        else if (!job->coll->answered && job->coll->state == C_OPEN)
            for (uint32_t k = 0; k < job->coll->n_in; k++)
                if (job->coll->c[k]) mpcd_collect_expire(job->coll->c[k], now_ms);
    }
    if (x->changed) mpcd_jobs_notify(x->jobs);
    x->changed = 0;
    mpcd_jobs_unlock(x->jobs);
    free(w);
    free(out);
}

static void *s_main(void *arg)
{
    mpcd_collector *x = arg;
    while (!atomic_load(&x->stop)) {
        mpcd_collector_pass(x, mpc_now_ms());
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

int mpcd_collector_start(mpcd_collector *x)
{
    atomic_store(&x->stop, 0);
    if (pthread_create(&x->thread, NULL, s_main, x) != 0) return MPC_ERR_NOMEM;
    x->running = 1;
    return 0;
}

void mpcd_collector_stop(mpcd_collector *x)
{
    if (!x->running) return;
    atomic_store(&x->stop, 1);
    pthread_join(x->thread, NULL);
    x->running = 0;
}

/* ---- mpcd contributor-token ---- */

int mpcd_contrib_token_main(int argc, char **argv)
{
    const char *usage = "usage: mpcd contributor-token newkey FILE          write a fresh token key (0600)\n"
                        "       mpcd contributor-token make KEYFILE [N]     print N tokens (default 1), one a line\n";
    if (argc >= 4 && !strcmp(argv[2], "newkey")) {
        uint8_t k[MPCD_TOKEN_KEY_BYTES];
        char hex[2 * MPCD_TOKEN_KEY_BYTES + 1];
        randombytes_buf(k, sizeof k);
        sodium_bin2hex(hex, sizeof hex, k, sizeof k);
        sodium_memzero(k, sizeof k);
        FILE *f = NULL;
        int fd = open(argv[3], O_WRONLY | O_CREAT | O_EXCL, 0600);
        if (fd >= 0) f = fdopen(fd, "w");
        int ok = f && fprintf(f, "%s\n", hex) > 0;
        if (f) ok &= fclose(f) == 0;
        else if (fd >= 0) close(fd);
        sodium_memzero(hex, sizeof hex);
        if (!ok) {
            fprintf(stderr, "mpcd: error: %s: cannot write a new key: %s\n", argv[3], strerror(errno));
            return 1;
        }
        return 0;
    }
    if (argc >= 4 && argc <= 5 && !strcmp(argv[2], "make")) {
        char err[300];
        if (mpcd_contrib_key_load(argv[3], err, sizeof err) != 0) {
            fprintf(stderr, "mpcd: error: %s\n", err);
            return 1;
        }
        char *end = NULL;
        unsigned long long n = argc == 5 ? strtoull(argv[4], &end, 10) : 1;
        if (argc == 5 && (!*argv[4] || *end || n == 0 || n > 100000000ull)) {
            fprintf(stderr, "%s", usage);
            mpcd_contrib_key_free();
            return 2;
        }
        for (unsigned long long i = 0; i < n; i++) {
            uint8_t id[MPCD_TOKEN_ID_BYTES], tok[MPCD_TOKEN_BYTES];
            char hex[2 * MPCD_TOKEN_BYTES + 1];
            randombytes_buf(id, sizeof id);
            mpcd_token_make(s_key, id, tok);
            sodium_bin2hex(hex, sizeof hex, tok, sizeof tok);
            printf("%s\n", hex);
        }
        mpcd_contrib_key_free();
        return fflush(stdout) == 0 ? 0 : 1;
    }
    fprintf(stderr, "%s", usage);
    return 2;
}
