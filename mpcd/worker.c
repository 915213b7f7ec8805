/* worker.c — sequencing, agreement and running of jobs (worker.h, docs/daemon.md). */
#include "worker.h"

#include "budget.h"
#include "dshandlers.h"
#include "join_job.h"
#include "mal_job.h"

#include "audit_job.h"

#include <malloc.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "engine.h"
#include "log.h"
#include "metrics.h"
#include "mpc_err.h"
#include "prep_dealer.h"
#include "prep_ot.h"
#include "release_job.h"
#include "transport_view.h"
#include "transport_zmq.h"

enum { RUN_KIND = 0x52554e31 /* "RUN1" */ };
enum { RUN_JOB = 0, RUN_PREP = 1 };   /* what a RUN starts: a job, or a chunk of the pool */
enum { AGREE_READY = 0, AGREE_NO_JOB = 1, AGREE_NO_INPUT = 2, AGREE_NOT_PARTY = 3, AGREE_CANCELLED = 4 };

/* The RUN message: what the sequencer tells each party of a job. */
typedef struct {
    uint64_t epoch, k, stream;
    uint8_t  id[MPCD_JOB_ID_BYTES];
    uint8_t  hash[32];
    uint32_t n;                          /* program parties */
    uint32_t binding[MPC_MAX_PARTIES];   /* program party -> configured party */
    uint32_t prep_mode;
    uint32_t what;                       /* RUN_JOB or RUN_PREP (then k = triples to make) */
} run_msg;

static void s_run_encode(const run_msg *r, uint64_t w[MPCD_RUN_WORDS])
{
    memset(w, 0, MPCD_RUN_WORDS * sizeof w[0]);
    w[0] = RUN_KIND;
    w[1] = r->epoch;
    w[2] = r->k;
    w[3] = r->stream;
    memcpy(&w[4], r->id, MPCD_JOB_ID_BYTES);
    memcpy(&w[6], r->hash, 32);
    w[10] = r->n;
    for (uint32_t i = 0; i < r->n; i++) w[11] |= (uint64_t)(r->binding[i] & 0xf) << (4 * i);
    w[12] = r->prep_mode;
    w[13] = r->what;
}

/* Decodes and checks a RUN from the wire; 0 or MPC_ERR_PROTOCOL. */
static int s_run_decode(const uint64_t w[MPCD_RUN_WORDS], uint32_t n_parties, run_msg *r)
{
    if (w[0] != RUN_KIND || w[10] < 2 || w[10] > MPC_MAX_PARTIES || w[10] > n_parties || w[12] > 1 ||
        w[13] > RUN_PREP || w[14] || w[15] || (w[3] & (MPC_STREAM_PREP_BIT | MPCD_JOB_CONTROL)) || w[3] == 0)
        return MPC_ERR_PROTOCOL;
    memset(r, 0, sizeof *r);
    r->epoch = w[1];
    r->k = w[2];
    r->stream = w[3];
    memcpy(r->id, &w[4], MPCD_JOB_ID_BYTES);
    memcpy(r->hash, &w[6], 32);
    r->n = (uint32_t)w[10];
    uint32_t seen = 0;
    for (uint32_t i = 0; i < r->n; i++) {
        uint32_t b = (uint32_t)(w[11] >> (4 * i)) & 0xf;
        if (b >= n_parties || (seen & (1u << b))) return MPC_ERR_PROTOCOL;
        seen |= 1u << b;
        r->binding[i] = b;
    }
    if (r->n < 16 && (w[11] >> (4 * r->n))) return MPC_ERR_PROTOCOL;
    r->prep_mode = (uint32_t)w[12];
    r->what = (uint32_t)w[13];
    return 0;
}

/* The agreed tuple's hash. */
static void s_tuple_hash(const run_msg *r, uint8_t out[32])
{
    uint64_t w[MPCD_RUN_WORDS];
    run_msg t = *r;
    t.epoch = 0;   /* the tuple, not the sequencer's counter */
    t.k = 0;
    s_run_encode(&t, w);
    crypto_generichash(out, 32, (const uint8_t *)w, sizeof w, NULL, 0);
}

/* The mesh nodes of a job: its program parties in order, then the dealer if any. */
static uint32_t s_job_nodes(const mpcd_worker *w, const run_msg *r, uint32_t map[MPC_MAX_PARTIES + 1])
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < r->n; i++) map[k++] = r->binding[i];
    if (r->prep_mode == MPCD_PREP_DEALER && w->dealer != UINT32_MAX) map[k++] = w->dealer;
    return k;
}

static void s_abort_dealer(mpc_transport *view, uint32_t dealer_idx, uint64_t stream, int code)
{
    (void)mpc_send_abort(view, dealer_idx, stream | MPC_STREAM_PREP_BIT, code, MPC_ABORT_NO_PARTY);
}

/* Tells the job's other program parties that this party gave up on the job (an ABORT on the
 * job's stream), so that a failure seen by one party alone (a malformed frame, a peer it
 * cannot reach) ends the job everywhere at once instead of after their timeouts. */
static void s_abort_parties(mpc_transport *view, const run_msg *r, uint32_t me, int code)
{
    for (uint32_t p = 0; p < r->n; p++)
        if (p != me) (void)mpc_send_abort(view, p, r->stream, code, MPC_ABORT_NO_PARTY);
}

/* The job of run r while this daemon takes part in its agreement, or NULL.  Lock held. */
static mpcd_job *s_run_job_of(mpcd_worker *w, const run_msg *r)
{
    mpcd_job *job = mpcd_jobs_find(w->jobs, r->id);
    return job && job->stream == r->stream && job->state == MPCD_JOB_WAITING ? job : NULL;
}

/* Receives party p's AGREE message of `round`, waiting up to timeout_ms in slices of
 * S_AGREE_SLICE_MS, so that the wait ends early when a client cancels the job here
 * (MPC_ERR_CANCELLED), when a party of the job said it refused the RUN (*refused_by = 1 +
 * that daemon: it saw another sequencer and will never take part), or when the daemon stops.
 * A wait for a busy peer may legitimately last a job timeout (s_agree_timeout); these are
 * the ways to learn sooner that it is in vain. */
#define S_AGREE_SLICE_MS 200
static int s_agree_recv(mpcd_worker *w, mpc_transport *view, const run_msg *r, uint32_t p, uint64_t round,
                        uint64_t theirs[MPCD_AGREE_WORDS], int timeout_ms, uint32_t *refused_by)
{
    int64_t deadline = (int64_t)mpc_now_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - (int64_t)mpc_now_ms();
        int slice = left > S_AGREE_SLICE_MS ? S_AGREE_SLICE_MS : left > 0 ? (int)left : 0;
        int s = mpc_recv(view, p, MPC_MSG_CONTROL, r->stream, round, theirs, MPCD_AGREE_WORDS, slice);
        if (s != MPC_ERR_TIMEOUT || left <= S_AGREE_SLICE_MS || atomic_load(w->stop)) return s;
        mpcd_jobs_lock(w->jobs);
        mpcd_job *job = s_run_job_of(w, r);
        int cancel = job && atomic_load(&job->cancel);
        uint32_t by = job ? atomic_load(&job->run_refused_by) : 0;
        mpcd_jobs_unlock(w->jobs);
        if (cancel) return MPC_ERR_CANCELLED;
        if (by) {
            *refused_by = by;
            return MPC_ERR_STATE;
        }
    }
}

/* One all-to-all AGREE round (seq `round`) among the program parties.  Returns 0 when every
 * party is ready and holds the same tuple; otherwise fills reason with the most telling
 * cause (a different tuple or a party without the job before a missing input before a
 * silent party), naming the party, and returns an error code. */
/* rel: the release words this party sends (docs/daemon.md, "Release rules"): in round 0 the
 * rule it asks for (min_rows, min_contributors, 0), and rel_max receives the strictest of
 * every party's; in round 1 the rule it applies and the contributors it counted, which must
 * be every party's too. */
static int s_agree(mpcd_worker *w, mpc_transport *view, const run_msg *r, uint32_t me, uint64_t round,
                   uint64_t status, uint64_t detail, int timeout_ms, const mpcd_pool_state *pool,
                   const uint64_t rel[3], uint64_t rel_max[2], int *pool_mismatch, int *alone, char *reason,
                   size_t rlen)
{
    uint64_t mine[MPCD_AGREE_WORDS] = {status, detail, 0, 0, 0, 0, pool->session, pool->added, pool->taken,
                                       rel[0], rel[1], rel[2], (uint64_t)w->security};
    rel_max[0] = rel[0];
    rel_max[1] = rel[1];
    s_tuple_hash(r, (uint8_t *)&mine[2]);
    int rc = 0, rank = 0;   /* rank of the cause kept in reason: higher wins */
    *pool_mismatch = 0;
    /* alone: this party missed a peer's round (it could not send, or a receive failed other
     * than by a peer's ABORT), so the others may not know the job has failed. */
#define CAUSE(rk, code, ...)                         \
    do {                                             \
        if ((rk) > rank) {                           \
            rank = (rk);                             \
            rc = (code);                             \
            snprintf(reason, rlen, __VA_ARGS__);     \
        }                                            \
    } while (0)
    /* A peer that is reconnecting (it was restarted, or woke from a freeze and its
     * connections were dropped) refuses sends with MPC_ERR_IO for a moment: give it up to
     * the peer timeout to come back before the job fails, so the first job after a
     * recovery does not fail for nothing. */
    int64_t send_deadline = (int64_t)mpc_now_ms() + (w->peer_timeout_ms > 0 ? w->peer_timeout_ms : 0);
    for (uint32_t p = 0; p < r->n; p++) {
        if (p == me) continue;
        int s;
        while ((s = mpc_send(view, p, MPC_MSG_CONTROL, r->stream, round, mine, MPCD_AGREE_WORDS)) == MPC_ERR_IO &&
               w->idle && (int64_t)mpc_now_ms() < send_deadline)
            w->idle(w->idle_ctx, 50);
        if (s != 0) {
            *alone = 1;
            CAUSE(1, s, "cannot reach party %s (%s)", w->names[r->binding[p]], mpc_strerror(s));
        }
    }
    for (uint32_t p = 0; p < r->n; p++) {
        if (p == me) continue;
        uint64_t theirs[MPCD_AGREE_WORDS];
        const char *who = w->names[r->binding[p]];
        uint32_t refused_by = 0;
        int s = s_agree_recv(w, view, r, p, round, theirs, timeout_ms, &refused_by);
        if (s == MPC_ERR_CANCELLED) {
            *alone = 1;
            CAUSE(4, s, "the job was cancelled here");
        } else if (refused_by) {
            *alone = 1;
            CAUSE(4, MPC_ERR_STATE, "party %s refused the run: it saw another node as the sequencer (a failover)",
                  w->names[refused_by - 1]);
        } else if (s != 0) {
            if (s != MPC_ERR_PEER_ABORT) *alone = 1;
            CAUSE(1, s, "no agreement from party %s: %s", who, mpc_strerror(s));
        }
        else if (theirs[12] != mine[12])
            /* Never weaker than configured: a job runs only where every party runs the same
             * security, and each party runs its own (docs/security.md). */
            CAUSE(5, MPC_ERR_PROTOCOL, "party %s runs security = %s, this daemon %s", who,
                  mpcd_security_name(theirs[12]), mpcd_security_name(mine[12]));
        else if (theirs[0] == AGREE_NO_JOB)
            CAUSE(4, MPC_ERR_STATE, "party %s does not hold the job (not submitted there, or refused by its policy)",
                  who);
        else if (theirs[0] == AGREE_CANCELLED)
            CAUSE(4, MPC_ERR_CANCELLED, "the job was cancelled at party %s", who);
        else if (theirs[0] == AGREE_NO_INPUT)
            CAUSE(2, MPC_ERR_INPUT, "party %s is missing input #%llu", who, (unsigned long long)theirs[1]);
        else if (theirs[0] != AGREE_READY)
            CAUSE(3, MPC_ERR_PROTOCOL, "party %s refused the job (status %llu)", who, (unsigned long long)theirs[0]);
        else if (sodium_memcmp(&theirs[2], &mine[2], 32) != 0)
            CAUSE(4, MPC_ERR_PROTOCOL, "party %s holds a different circuit, binding or preprocessing for this job",
                  who);
        else if (round == 1 && memcmp(&theirs[9], &mine[9], 3 * sizeof(uint64_t)) != 0)
            CAUSE(4, MPC_ERR_PROTOCOL, "party %s disagrees on the release rule: it applies min_rows = %llu, "
                  "min_contributors = %llu with %llu contributors; this party min_rows = %llu, min_contributors = "
                  "%llu with %llu", who, (unsigned long long)theirs[9], (unsigned long long)theirs[10],
                  (unsigned long long)theirs[11], (unsigned long long)mine[9], (unsigned long long)mine[10],
                  (unsigned long long)mine[11]);
        if (s == 0 && memcmp(&theirs[6], &mine[6], 3 * sizeof(uint64_t)) != 0) *pool_mismatch = 1;
        if (s == 0 && theirs[9] > rel_max[0]) rel_max[0] = theirs[9];
        if (s == 0 && theirs[10] > rel_max[1]) rel_max[1] = theirs[10];
    }
#undef CAUSE
    return rc;
}

typedef struct {
    mpcd_jobs *jobs;
    mpcd_job  *job;
} s_progress_ctx;

/* The engine's per-round progress, shown to clients by STATUS. */
static void s_progress(void *ctx, uint32_t rounds_done, uint64_t triples)
{
    s_progress_ctx *pc = ctx;
    mpcd_jobs_lock(pc->jobs);
    pc->job->rounds_done = rounds_done;
    pc->job->triples_used = triples;
    mpcd_jobs_unlock(pc->jobs);
}

/* Triples the job's circuit consumes (MUL, SELECT: one per element; DOT: one per input
 * element), the "needed" of its preprocessing progress. */
/* Triples and square pairs (mpc_gate_is_square) the job consumes: its progress counts both. */
static uint64_t s_triples_needed(const mpc_circuit *c)
{
    uint64_t n = 0;
    for (uint32_t g = 0; g < c->n_gates; g++) {
        const mpc_gate *gt = &c->gates[g];
        uint64_t per = mpc_gate_infos[gt->kind].triples_per_element;
        if (!per) continue;   /* a square's pairs count like triples */
        uint64_t len = gt->kind == MPC_G_DOT ? c->gates[gt->in[0]].len : gt->len;
        n += per * len;
    }
    return n;
}

/* A preprocessing source that counts, for the job's progress, the triples the real source
 * hands out: a large request for triples is fetched in chunks of S_PREP_CHUNK, so a client
 * asking STATUS while a big job's material is made sees it grow (made / needed, rate, ETA)
 * instead of a job stuck at layer 0.  Every party splits the same requests the same way, so
 * the parties still ask their sources for the same material in the same order (prep.h). */
enum { S_PREP_CHUNK = 1 << 17 };

typedef struct {
    mpc_prep  *inner;
    mpcd_jobs *jobs;
    mpcd_job  *job;
    mpcd_pool *pool;          /* the pool the inner source takes from, or NULL */
    uint64_t   pool_taken;    /* the pool's count of triples taken, at the last note */
} s_counted;

static void s_counted_note(s_counted *c, uint64_t triples)
{
    mpcd_jobs_lock(c->jobs);
    c->job->prep_made += triples;
    mpcd_jobs_unlock(c->jobs);
    /* For the metrics, triples the pool's stock supplied were made by the pool (counted
     * there): only the rest was made for this job. */
    uint64_t from_stock = 0;
    if (c->pool) {
        mpcd_pool_state st;
        mpcd_pool_state_get(c->pool, &st);
        from_stock = st.taken >= c->pool_taken ? st.taken - c->pool_taken : 0;   /* a reset starts at 0 */
        c->pool_taken = st.taken;
    }
    if (triples > from_stock) mpcd_metrics_triples_made(0, triples - from_stock);
}

static int s_counted_fetch(mpc_prep *p, const mpc_prep_req *req, mpc_prep_out *out)
{
    s_counted *c = p->impl;
    mpc_prep_req rest = *req;
    if (req->n_triples > S_PREP_CHUNK) {
        for (uint64_t off = 0; off < req->n_triples; off += S_PREP_CHUNK) {
            mpc_prep_req part = {.n_triples = req->n_triples - off < S_PREP_CHUNK ? req->n_triples - off : S_PREP_CHUNK};
            mpc_prep_out po = {.a = out->a + off, .b = out->b + off, .c = out->c + off};
            int rc = mpc_prep_fetch(c->inner, &part, &po);
            if (rc != 0) return rc;
            s_counted_note(c, part.n_triples);
        }
        rest.n_triples = 0;
        if (!rest.n_squares && !rest.n_trunc && !rest.n_edabits && !rest.n_btriples && !rest.n_dabits)
            return 0;
    }
    int rc = mpc_prep_fetch(c->inner, &rest, out);
    if (rc == 0 && rest.n_triples + rest.n_squares) s_counted_note(c, rest.n_triples + rest.n_squares);
    return rc;
}

static void s_counted_abort(mpc_prep *p, int code)
{
    s_counted *c = p->impl;
    mpc_prep_abort(c->inner, code);
}

static void s_counted_destroy(mpc_prep **pp)
{
    s_counted *c = (*pp)->impl;
    mpc_prep_destroy(&c->inner);
    free(c);
    free(*pp);
    *pp = NULL;
}

static const struct mpc_prep_ops s_counted_ops = {s_counted_fetch, s_counted_abort, s_counted_destroy};

/* Wraps *inner (taken over, also on failure) for the job's progress; NULL when out of memory. */
static mpc_prep *s_counted_new(mpc_prep *inner, mpcd_jobs *jobs, mpcd_job *job, mpcd_pool *pool)
{
    if (!inner) return NULL;
    mpc_prep *p = calloc(1, sizeof *p);
    s_counted *c = calloc(1, sizeof *c);
    if (!p || !c) {
        free(p);
        free(c);
        mpc_prep_destroy(&inner);
        return NULL;
    }
    c->inner = inner;
    c->jobs = jobs;
    c->job = job;
    c->pool = pool;
    if (pool) {
        mpcd_pool_state st;
        mpcd_pool_state_get(pool, &st);
        c->pool_taken = st.taken;
    }
    p->ops = &s_counted_ops;
    p->impl = c;
    p->self = inner->self;
    p->n = inner->n;
    p->caps = inner->caps;
    return p;
}


/* Every output withheld for too few contributors: no engine run; zero shares stand for the
 * outputs so the job ends done, each element marked withheld.  Takes wh on success. */
static int s_withhold_all(mpcd_worker *w, mpcd_job *job, mpc_transport *view, const run_msg *r, uint8_t **wh,
                          char *reason, size_t rlen)
{
    const mpc_circuit *c = job->circ;
    uint64_t **outs = calloc(c->n_outputs ? c->n_outputs : 1, sizeof *outs);
    for (uint32_t o = 0; outs && o < c->n_outputs; o++) {
        memset(wh[o], MPCD_WITHHELD_CONTRIB, c->outputs[o].len);
        if (!(outs[o] = calloc(c->outputs[o].len, sizeof(uint64_t)))) {
            while (o--) free(outs[o]);
            free(outs);
            outs = NULL;
        }
    }
    if (!outs) {
        snprintf(reason, rlen, "out of memory for the release rules");
        return MPC_ERR_NOMEM;
    }
    /* A dealer waiting for this job's requests is told there will be none. */
    if (w->dealer != UINT32_MAX && r->prep_mode == MPCD_PREP_DEALER) s_abort_dealer(view, r->n, r->stream, MPC_ERR_CANCELLED);
    mpcd_jobs_lock(w->jobs);
    job->out_shares = outs;
    job->withheld = wh;
    mpcd_jobs_unlock(w->jobs);
    return 0;
}

/* Release rules before the engine runs: with too few contributors, every output withheld
 * (s_withhold_all) and 1 returned (the engine does not run); with min_rows, the release
 * circuit in *relc (its supports in *sup, has_pass per output) and the withheld maps in *wh
 * for mpcd_release_open; otherwise nothing.  0, 1, or a negative error code with a reason. */
static int s_release_prepare(mpcd_worker *w, mpcd_job *job, mpc_transport *view, const run_msg *r, mpc_circuit **relc,
                             mpc_support_vec **sup, uint8_t **has_pass, uint8_t ***wh, char *reason, size_t rlen)
{
    const mpc_circuit *c = job->circ;
    if (job->agreed_contrib <= job->contributors && job->agreed_rows == 0) return 0;
    *wh = mpcd_release_withheld_new(c);
    *has_pass = calloc(c->n_outputs ? c->n_outputs : 1, 1);
    if (!*wh || !*has_pass) {
        snprintf(reason, rlen, "out of memory for the release rules");
        return MPC_ERR_NOMEM;
    }
    if (job->agreed_contrib > job->contributors) {
        int rc = s_withhold_all(w, job, view, r, *wh, reason, rlen);
        if (rc == 0) *wh = NULL;
        return rc == 0 ? 1 : rc;
    }
    char err[256];
    if (mpc_circ_support(c, sup) != 0 ||
        mpc_release_circuit(c, *sup, job->agreed_rows, relc, *has_pass, err, sizeof err) != 0) {
        snprintf(reason, rlen, "cannot build the release check: %.180s", *sup ? err : "out of memory");
        return MPC_ERR_NOMEM;
    }
    return 0;
}

/* Runs the engine for job (lock NOT held; the job is ours: state RUNNING). */
static int s_execute(mpcd_worker *w, mpcd_job *job, mpc_transport *view, const run_msg *r, uint32_t me,
                     int use_pool, uint32_t blame[2], char *reason, size_t rlen)
{
    const mpc_circuit *c = job->circ;
    int rc = 0;
    mpc_prep *prep = NULL;
    mpc_engine *e = NULL;
    mpc_circuit *relc = NULL;          /* the release rules' circuit, when min_rows applies */
    mpc_support_vec *sup = NULL;
    uint8_t *has_pass = NULL, **wh = NULL;
    mpc_engine_input *in = calloc(c->n_inputs ? c->n_inputs : 1, sizeof *in);
    uint64_t **stored = calloc(c->n_inputs ? c->n_inputs : 1, sizeof *stored);
    if (!in || !stored) {
        free(in);
        free(stored);
        return MPC_ERR_NOMEM;
    }
    /* Inputs from stored datasets: this party's shares, loaded now (mpcd/dshandlers.h). */
    uint64_t t_load = mpc_now_ms();
    if ((rc = mpcd_ds_job_load(c, job->inputs, stored, reason, rlen)) != 0) {
        s_abort_parties(view, r, me, rc);
        goto out;
    }
    /* Private joins (mpcd/join_job.h): their outputs become this party's STORED inputs. */
    uint64_t deadline_ms = w->job_timeout_ms > 0 ? mpc_now_ms() + (uint64_t)w->job_timeout_ms : 0;
    if (c->n_joins && (rc = mpcd_join_execute(w->jobs, job, view, me, r->stream, w->peer_timeout_ms, deadline_ms,
                                              stored, reason, rlen)) != 0) {
        s_abort_parties(view, r, me, rc);
        goto out;
    }
    for (uint32_t k = 0; k < c->n_inputs; k++) {
        const mpcd_job_input *ji = &job->inputs[k];
        in[k].mode = ji->mode;
        /* STORED: a dataset's share loaded now, or a contribution collection's (its share is here) */
        in[k].values = ji->mode == MPC_IN_STORED && !ji->share ? stored[k] : ji->share;
        in[k].len = c->inputs[k].len;
        in[k].seed = ji->seed;
        if (ji->mode == MPC_IN_STORED && !in[k].values) {
            rc = MPC_ERR_INPUT;
            snprintf(reason, rlen, "input '%s': its dataset does not give it", c->inputs[k].name);
            s_abort_parties(view, r, me, rc);
            goto out;
        }
    }
    for (uint32_t k = 0; k < c->n_inputs; k++)
        if (stored[k]) {
            char hex[MPC_CWIRE_JOB_HEX + 1];
            mpc_cwire_job_hex(r->id, hex);
            mpcd_info(hex, "stored dataset shares loaded in %llu ms", (unsigned long long)(mpc_now_ms() - t_load));
            break;
        }
    /* Release rules: fewer contributors than agreed withholds every output (the engine does
     * not run); min_rows runs the release circuit (circuits/release.h) instead of c. */
    rc = s_release_prepare(w, job, view, r, &relc, &sup, &has_pass, &wh, reason, rlen);
    if (rc != 0) {
        if (rc > 0) rc = 0;   /* every output withheld: done */
        else s_abort_parties(view, r, me, rc);
        goto out;
    }
    const mpc_circuit *run = relc ? relc : c;
    if (r->prep_mode == MPCD_PREP_DEALER) {
        prep = mpc_prep_dealer_new(view, me, r->n, r->n, r->stream | MPC_STREAM_PREP_BIT, w->peer_timeout_ms);
    } else if (r->prep_mode == MPCD_PREP_OT && use_pool) {
        /* Triples from the background stock, the rest made now on the pool's session. */
        prep = mpcd_pool_source_new(w->pool, me, r->n);
    } else if (r->prep_mode == MPCD_PREP_OT) {
        /* The job's parties make its material among themselves, with fresh base OTs. */
        mpc_prep_ot_opts oo = {.timeout_ms = w->peer_timeout_ms};
        prep = mpc_prep_ot_new(view, me, r->n, r->stream | MPC_STREAM_PREP_BIT, &oo);
    }
    mpcd_jobs_lock(w->jobs);
    job->prep_needed = s_triples_needed(run);
    job->prep_made = 0;
    job->prep_started_ms = mpc_now_ms();
    mpcd_jobs_unlock(w->jobs);
    prep = s_counted_new(prep, w->jobs, job, r->prep_mode == MPCD_PREP_OT && use_pool ? w->pool : NULL);
    if (!prep) {
        rc = MPC_ERR_PREP;
        snprintf(reason, rlen, "no preprocessing source for mode %u", (unsigned)r->prep_mode);
        s_abort_parties(view, r, me, rc);
        goto out;
    }
    s_progress_ctx pc = {w->jobs, job};
    /* Material of up to 4 Mi words (32 MB) of consecutive layers per request: a deep circuit
     * pays one round trip to the source per window instead of one per layer (engine.h).
     * Every daemon of a job must use the same value, so it is a constant of the build. */
    mpc_engine_opts opts = {
        .stream = r->stream,
        .timeout_ms = w->peer_timeout_ms,
        .deadline_ms = deadline_ms,   /* the joins' time counts */
        .progress = s_progress,
        .progress_ctx = &pc,
        .cancel = &job->cancel,
        .prefetch_words = (uint64_t)1 << 22,
    };
    e = mpc_engine_new(run, me, view, prep, &opts);
    if (!e) {
        rc = MPC_ERR_NOMEM;
        snprintf(reason, rlen, "cannot start the engine");
        s_abort_parties(view, r, me, rc);
        goto out;
    }
    rc = mpc_engine_run(e, in, reason, rlen);
    if (rc != 0) {
        mpc_engine_stats fst;
        mpc_engine_stats_get(e, &fst);
        blame[0] = fst.lost != MPC_ABORT_NO_PARTY ? me : fst.abort_from;
        blame[1] = fst.lost != MPC_ABORT_NO_PARTY ? fst.lost : fst.abort_lost;
        goto out;
    }
    uint64_t **outs = calloc(c->n_outputs, sizeof *outs);
    if (!outs) {
        rc = MPC_ERR_NOMEM;
        goto out;
    }
    for (uint32_t o = 0; o < c->n_outputs; o++) {
        size_t bytes = (size_t)c->outputs[o].len * sizeof(uint64_t);
        outs[o] = malloc(bytes);
        if (!outs[o]) {
            for (uint32_t q = 0; q < o; q++) {
                sodium_memzero(outs[q], (size_t)c->outputs[q].len * sizeof(uint64_t));
                free(outs[q]);
            }
            free(outs);
            rc = MPC_ERR_NOMEM;
            goto out;
        }
        memcpy(outs[o], mpc_engine_share(e, o), bytes);
    }
    if (wh) {
        rc = mpcd_release_open(view, r->n, me, r->stream, w->peer_timeout_ms, c, sup, has_pass, e, job->agreed_rows, outs, wh, reason, rlen);
        if (rc != 0) {
            for (uint32_t q = 0; q < c->n_outputs; q++) {
                sodium_memzero(outs[q], (size_t)c->outputs[q].len * sizeof(uint64_t));
                free(outs[q]);
            }
            free(outs);
            s_abort_parties(view, r, me, rc);
            goto out;
        }
    }
    mpc_engine_stats st;
    mpc_engine_stats_get(e, &st);
    mpcd_metrics_engine(st.rounds, st.triples);
    {
        char hex[MPC_CWIRE_JOB_HEX + 1];
        mpc_cwire_job_hex(r->id, hex);
        mpcd_info(hex, "engine: %u rounds, %llu triples, %llu squares, %llu ms in all, %llu ms waiting for "
                  "preprocessing, %llu bytes sent", (unsigned)st.rounds, (unsigned long long)st.triples,
                  (unsigned long long)st.squares, (unsigned long long)(st.run_us / 1000), (unsigned long long)(st.prep_us / 1000),
                  (unsigned long long)st.bytes_sent);
    }
    mpcd_jobs_lock(w->jobs);
    job->out_shares = outs;
    job->withheld = wh;
    wh = NULL;
    job->rounds_done = st.rounds;
    job->triples_used = st.triples;
    mpcd_jobs_unlock(w->jobs);
out:
    mpc_engine_destroy(&e);
    mpc_prep_destroy(&prep);
    mpcd_ds_free_vals(c, stored);
    free(stored);
    free(in);
    mpcd_release_withheld_free(c, wh);
    free(has_pass);
    mpc_support_free(&sup, c->n_outputs);
    mpc_circ_destroy(&relc);
    return rc;
}

/* ---- Job threads (docs/daemon.md, "Processes and threads"): the worker thread hands every
 * RUN it takes part in, in the order it received them, to a FIFO served by max_running job
 * threads.  A run that may touch the triple pool (a chunk, or a job of every party with OT
 * preprocessing) also draws a pool ticket at hand-over; it uses the pool only when the turn
 * has come to its ticket, so every party's pool serves the same runs in the same order. ---- */

typedef struct s_run_node {
    struct s_run_node *next;
    run_msg  r;
    int      uses_pool;
    uint64_t ticket;
} s_run_node;

struct mpcd_slots {
    mpcd_worker    *w;
    pthread_mutex_t mu;
    pthread_cond_t  cv;
    s_run_node     *head, *tail;     /* jobs waiting for a job thread */
    s_run_node     *phead, *ptail;   /* pool chunks waiting for the pool thread */
    uint32_t        queued;          /* jobs waiting for a job thread */
    uint32_t        busy;            /* runs on a job thread */
    uint64_t        next_ticket, turn;   /* pool tickets handed out / the ticket whose turn it is */
    uint64_t        prep_retry_at;   /* sequencer: no pool chunk before this (a chunk failed) */
    int             stop;
    uint32_t        nth;             /* job threads; th[nth] is the pool thread */
    int             pool_th;         /* the pool thread was started */
    pthread_t       th[];
};

typedef struct {
    struct mpcd_slots *sl;
    int pool;                        /* the pool thread: serves the chunks' FIFO only */
} s_thread_arg;

static void s_run_job(mpcd_worker *w, const run_msg *r);
static void s_pool_chunk(mpcd_worker *w, const run_msg *r);

/* A job thread (or, with pool set, the pool thread: chunks run beside the jobs, never in a
 * job's slot, so a chunk never holds up a job that does not use the pool). */
static void *s_job_thread(void *arg)
{
    struct mpcd_slots *sl = ((s_thread_arg *)arg)->sl;
    int pool = ((s_thread_arg *)arg)->pool;
    free(arg);
    mpcd_worker *w = sl->w;
    pthread_mutex_lock(&sl->mu);
    for (;;) {
        s_run_node **hp = pool ? &sl->phead : &sl->head, **tp = pool ? &sl->ptail : &sl->tail;
        while (!*hp && !sl->stop) pthread_cond_wait(&sl->cv, &sl->mu);
        if (sl->stop) break;
        s_run_node *n = *hp;
        *hp = n->next;
        if (!*hp) *tp = NULL;
        if (!pool) {
            sl->queued--;
            sl->busy++;
        }
        while (n->uses_pool && sl->turn != n->ticket && !sl->stop) pthread_cond_wait(&sl->cv, &sl->mu);
        int go = !sl->stop;
        pthread_mutex_unlock(&sl->mu);
        if (go && n->r.what == RUN_PREP) s_pool_chunk(w, &n->r);
        else if (go) s_run_job(w, &n->r);
        pthread_mutex_lock(&sl->mu);
        if (n->r.what == RUN_PREP && w->pool && mpcd_pool_stock(w->pool) == 0)
            sl->prep_retry_at = mpc_now_ms() + 10000;   /* a failed chunk: the sequencer backs off */
        if (n->uses_pool) sl->turn++;
        if (!pool) sl->busy--;
        pthread_mutex_unlock(&sl->mu);
        /* Each job thread allocates from an arena of its own; give what the run freed back to
         * the system, so that the daemon's size after a burst of concurrent jobs returns to
         * what it holds (job records), not to the peak of every arena at once. */
#ifndef __SANITIZE_ADDRESS__   /* ASan's allocator replaces glibc's: malloc_trim there crashed */
        malloc_trim(0);
#endif
        pthread_mutex_lock(&sl->mu);
        pthread_cond_broadcast(&sl->cv);
        free(n);
    }
    pthread_mutex_unlock(&sl->mu);
    return NULL;
}

static void s_slots_stop_threads(struct mpcd_slots *sl)
{
    pthread_mutex_lock(&sl->mu);
    sl->stop = 1;
    pthread_cond_broadcast(&sl->cv);
    pthread_mutex_unlock(&sl->mu);
    for (uint32_t i = 0; i < sl->nth; i++) pthread_join(sl->th[i], NULL);
    if (sl->pool_th) pthread_join(sl->th[sl->nth], NULL);
    sl->nth = 0;
    sl->pool_th = 0;
}

static struct mpcd_slots *s_slots_start(mpcd_worker *w)
{
    uint32_t k = w->max_running ? w->max_running : 1;
    struct mpcd_slots *sl = calloc(1, sizeof *sl + (k + 1) * sizeof(pthread_t));
    if (!sl) return NULL;
    sl->w = w;
    pthread_mutex_init(&sl->mu, NULL);
    pthread_cond_init(&sl->cv, NULL);
    for (uint32_t i = 0; i <= k; i++) {
        s_thread_arg *a = malloc(sizeof *a);
        if (!a) break;
        a->sl = sl;
        a->pool = i == k;
        if (pthread_create(&sl->th[i == k ? k : sl->nth], NULL, s_job_thread, a) != 0) {
            free(a);
            break;
        }
        if (i == k) sl->pool_th = 1;
        else sl->nth++;
    }
    if (!sl->nth || !sl->pool_th) {
        s_slots_stop_threads(sl);
        pthread_mutex_destroy(&sl->mu);
        pthread_cond_destroy(&sl->cv);
        free(sl);
        return NULL;
    }
    return sl;
}

/* Stops the job threads (a run in progress ends on its own bounds or the stop flag) and drops
 * the runs that never started. */
static void s_slots_stop(struct mpcd_slots *sl)
{
    s_slots_stop_threads(sl);
    for (int q = 0; q < 2; q++)
        while (q ? sl->phead : sl->head) {
            s_run_node *n = q ? sl->phead : sl->head;
            if (q) sl->phead = n->next;
            else sl->head = n->next;
            free(n);
        }
    pthread_mutex_destroy(&sl->mu);
    pthread_cond_destroy(&sl->cv);
    free(sl);
}

/* Worker thread: queues run r for the next free job thread.  A job held here is marked
 * sequenced at once, so that the readiness pass neither reports it again nor ends it while
 * it waits for a thread. */
static void s_dispatch(mpcd_worker *w, const run_msg *r)
{
    s_run_node *n = calloc(1, sizeof *n);
    if (!n) {
        mpcd_error(NULL, "out of memory: a RUN is dropped (its parties fail the job at their timeout)");
        return;
    }
    n->r = *r;
    n->uses_pool = w->pool && !w->is_dealer &&
                   (r->what == RUN_PREP || (r->prep_mode == MPCD_PREP_OT && r->n == w->n_parties));
    if (r->what == RUN_JOB && w->jobs) {
        mpcd_jobs_lock(w->jobs);
        mpcd_job *job = mpcd_jobs_find(w->jobs, r->id);
        if (job && job->state == MPCD_JOB_QUEUED) job->sequenced = 1;
        mpcd_jobs_unlock(w->jobs);
    }
    struct mpcd_slots *sl = w->slots;
    pthread_mutex_lock(&sl->mu);
    if (n->uses_pool) n->ticket = sl->next_ticket++;
    s_run_node **hp = r->what == RUN_PREP ? &sl->phead : &sl->head, **tp = r->what == RUN_PREP ? &sl->ptail : &sl->tail;
    if (*tp) (*tp)->next = n;
    else *hp = n;
    *tp = n;
    sl->queued += r->what != RUN_PREP;
    uint32_t queued = sl->queued, busy = sl->busy;
    pthread_cond_broadcast(&sl->cv);
    pthread_mutex_unlock(&sl->mu);
    char hex[MPC_CWIRE_JOB_HEX + 1];
    mpc_cwire_job_hex(r->id, hex);
    mpcd_debug(r->what == RUN_JOB ? hex : NULL, "%s queued for a job thread (%u queued, %u running)",
               r->what == RUN_JOB ? "RUN" : "pool chunk", (unsigned)queued, (unsigned)busy);
}

/* How long an agreement round waits for a peer: its inputs (input_timeout_ms), a message's
 * way (peer_timeout_ms), and a peer whose job threads are all busy: every run ends within
 * job_timeout_ms, so a peer with this job next in its queue starts it within that
 * (docs/daemon.md, "No deadlock"). */
static int s_agree_timeout(const mpcd_worker *w)
{
    int64_t t = (int64_t)w->input_timeout_ms + w->peer_timeout_ms + atomic_load(&w->job_timeout_ms);
    return t > INT32_MAX ? INT32_MAX : (int)t;
}

/* Job thread: takes part in the job r as party `me` of the view (job may be NULL: not held
 * here). */
/* ---- The audit log (docs/governance.md): one record per job this daemon is a party of,
 * written by whichever thread sees it due first; a job that ran to the end here carries the
 * statement its parties co-signed. ---- */

static const char *s_prep_name(const mpcd_worker *w)
{
    /* with security = malicious (agreed by every party of the job): authenticated OT material */
    if (w->security == MPCD_SEC_MALICIOUS) return "ot, security = malicious";
    return w->prep_mode == MPCD_PREP_DEALER ? "dealer" : "ot";
}

/* Lock held.  The job's statement in a new buffer, or NULL. */
static char *s_audit_stmt(const mpcd_worker *w, const mpcd_job *job)
{
    char *buf = malloc(MPCD_AUDIT_LINE_MAX / 2);
    if (buf && mpcd_audit_stmt(job, (const char (*)[MPC_NAME_MAX])w->names, s_prep_name(w), buf,
                               MPCD_AUDIT_LINE_MAX / 2) == 0) {
        free(buf);
        buf = NULL;
    }
    return buf;
}

/* The co-signature round of a job that ran to the end here (its stream still open); keeps
 * the statement and the signatures in the job for its record.  Takes stmt. */
static void s_audit_cosign(mpcd_worker *w, mpcd_job *job, mpc_transport *view, uint32_t n_parties,
                           const uint32_t *map, uint64_t stream, char *stmt, const char *hex)
{
    uint8_t pubs[MPC_MAX_PARTIES + 1][32];
    char names[MPC_MAX_PARTIES + 1][MPC_NAME_MAX];
    uint32_t mask = 0;
    for (uint32_t i = 0; i < n_parties; i++) {
        snprintf(names[i], sizeof names[i], "%s", w->names[map[i]]);
        if (map[i] < w->n_parties && (w->audit_pub_mask >> map[i] & 1)) {
            memcpy(pubs[i], w->audit_pub[map[i]], 32);
            mask |= 1u << i;
        }
    }
    mpcd_audit_cosig *cs = calloc(n_parties, sizeof *cs);
    uint32_t n = 0;
    int timeout = w->peer_timeout_ms < 5000 ? w->peer_timeout_ms : 5000;
    if (cs) n = mpcd_audit_exchange(w->audit, view, n_parties, stream, stmt, strlen(stmt), (const uint8_t (*)[32])pubs, mask,
                                    (const char (*)[MPC_NAME_MAX])names, timeout, hex, cs);
    mpcd_jobs_lock(w->jobs);
    job->audit_stmt = stmt;
    job->audit_cs = cs;
    job->audit_n_cs = n;
    job->audit_state = MPCD_AUDIT_DUE;
    mpcd_jobs_unlock(w->jobs);
}

/* Writes the record of every ended job whose record is due. */
static void s_audit_flush(mpcd_worker *w)
{
    char *local = malloc(4096), *own = NULL;
    if (!local) return;
    for (;;) {
        mpcd_jobs_lock(w->jobs);
        mpcd_job *job = mpcd_jobs_audit_due(w->jobs);
        if (!job) {
            mpcd_jobs_unlock(w->jobs);
            break;
        }
        char hex[MPC_CWIRE_JOB_HEX + 1];
        snprintf(hex, sizeof hex, "%s", job->id_hex);
        job->audit_state = MPCD_AUDIT_WRITTEN;   /* taken: no other thread writes it */
        char *stmt = job->audit_stmt;
        mpcd_audit_cosig *cs = job->audit_cs;
        uint32_t n_cs = job->audit_n_cs;
        job->audit_stmt = NULL;
        job->audit_cs = NULL;
        if (!stmt) stmt = own = s_audit_stmt(w, job);
        size_t ll = mpcd_audit_local(job, job->started, local, 4096);
        mpcd_jobs_unlock(w->jobs);
        char err[512];
        if (!stmt || ll == 0)
            mpcd_error(hex, "audit: the job's record is too large to write");
        else if (mpcd_audit_append(w->audit, local, stmt, cs, n_cs, err, sizeof err) != 0)
            mpcd_error(hex, "audit: %s", err);
        if (stmt != own) free(stmt);
        free(own);
        own = NULL;
        free(cs);
    }
    free(local);
}

static void s_run_job(mpcd_worker *w, const run_msg *r)
{
    char hex[MPC_CWIRE_JOB_HEX + 1];
    mpc_cwire_job_hex(r->id, hex);
    uint32_t map[MPC_MAX_PARTIES + 1];
    uint32_t k = s_job_nodes(w, r, map);
    mpc_transport *view = mpc_transport_view_new(w->mesh, map, k);
    if (!view) {
        mpcd_error(hex, "cannot build the job's view of the mesh");
        return;
    }
    uint32_t me = view->self;
    /* Who found a party gone (this party, or a peer whose ABORT ended the job) and that
     * party (view indices). */
    uint32_t blame[2] = {MPC_ABORT_NO_PARTY, MPC_ABORT_NO_PARTY};
    char reason[MPCD_REASON_MAX] = "";

    if (w->is_dealer) {
        mpc_dealer_stats ds;
        memset(&ds, 0, sizeof ds);
        int rc = mpc_dealer_serve(view, r->n, r->stream | MPC_STREAM_PREP_BIT,
                                  s_agree_timeout(w), &ds, reason, sizeof reason);
        if (rc == 0)
            mpcd_info(hex, "served %llu triples, %llu truncation tuples", (unsigned long long)ds.triples,
                      (unsigned long long)ds.trunc);
        else
            mpcd_warn(hex, "dealing ended: %s", reason[0] ? reason : mpc_strerror(rc));
        mpc_transport_forget(w->mesh, r->stream | MPC_STREAM_PREP_BIT);
        mpc_transport_destroy(&view);
        return;
    }

    /* Find the job (the client may submit here a little after the sequencer). */
    uint64_t deadline = mpc_now_ms() + (uint64_t)w->input_timeout_ms;
    mpcd_jobs_lock(w->jobs);
    mpcd_job *job;
    while (!(job = mpcd_jobs_find(w->jobs, r->id)) && !atomic_load(w->stop) && !mpcd_jobs_was_refused(w->jobs, r->id)) {
        if (mpcd_jobs_wait(w->jobs, deadline) != 0) break;
    }
    int cancelled_here = job && job->state == MPCD_JOB_CANCELLED;
    if (job && (job->state != MPCD_JOB_QUEUED || job->my_party != me || job->circ->n_parties != r->n))
        job = NULL;   /* not this run: agreement will say so */
    /* The tuple this party agrees to is its own submission's, with the sequencer's stream:
     * a different circuit, binding or preprocessing gives a different hash. */
    run_msg mine = *r;
    /* The release rule (docs/governance.md, "Release rules"): each party's in round 0, the
     * strictest applies; round 1 checks every party applies it and counted the same clients. */
    uint64_t rel[3] = {0, 0, 0}, agreed[2] = {0, 0};
    if (job) {
        rel[0] = job->rule_rows;
        rel[1] = job->rule_contrib;
        job->sequenced = 1;
        job->stream = r->stream;
        job->state = MPCD_JOB_WAITING;
        memcpy(mine.hash, job->hash, 32);
        for (uint32_t i = 0; i < r->n; i++) mine.binding[i] = job->binding[i];
    }
    mpcd_jobs_unlock(w->jobs);

    /* Round 0: does every party hold this job?  Fails fast on a policy refusal.  The pool
     * state rides along: a job of every party may use the stock only where all agree. */
    mpcd_pool_state ps = {0, 0, 0};
    int pool_ok = w->pool && r->prep_mode == MPCD_PREP_OT && r->n == w->n_parties;
    if (pool_ok) mpcd_pool_state_get(w->pool, &ps);
    int mismatch = 0, alone = 0;
    int rc = s_agree(w, view, &mine, me, 0, job ? AGREE_READY : cancelled_here ? AGREE_CANCELLED : AGREE_NO_JOB, 0,
                     s_agree_timeout(w), &ps, rel, agreed, &mismatch, &alone, reason, sizeof reason);
    if (rc == 0 && !job) {
        rc = cancelled_here ? MPC_ERR_CANCELLED : MPC_ERR_STATE;
        snprintf(reason, sizeof reason, cancelled_here ? "the job was cancelled here" : "this party does not hold the job");
    }
    if (pool_ok && (mismatch || ps.session == 0)) {
        if (mismatch) mpcd_warn(hex, "the parties' triple pools differ (a party restarted?): emptying the pool");
        mpcd_pool_reset(w->pool);
        pool_ok = 0;
    }
    /* Round 1: has every party its inputs? */
    if (rc == 0) {
        uint64_t status = AGREE_READY;
        uint32_t missing = 0;
        mpcd_jobs_lock(w->jobs);
        while (!mpcd_job_inputs_ready(job, &missing) && !atomic_load(w->stop) && !atomic_load(&job->cancel))
            if (mpcd_jobs_wait(w->jobs, deadline) != 0) break;
        if (!mpcd_job_inputs_ready(job, &missing)) status = AGREE_NO_INPUT;
        if (atomic_load(&job->cancel)) status = AGREE_CANCELLED;
        job->agreed_rows = rel[0] = agreed[0];
        job->agreed_contrib = rel[1] = agreed[1];
        job->contributors = mpcd_release_contributors(job);
        rel[2] = job->contributors;
        mpcd_jobs_unlock(w->jobs);
        rc = s_agree(w, view, &mine, me, 1, status, missing, s_agree_timeout(w), &ps, rel, agreed,
                     &mismatch, &alone, reason, sizeof reason);
        if (rc == 0 && status == AGREE_CANCELLED) {
            rc = MPC_ERR_CANCELLED;
            snprintf(reason, sizeof reason, "the job was cancelled here");
        }
        if (rc == 0 && status == AGREE_NO_INPUT) {
            rc = MPC_ERR_INPUT;
            char mb[MPC_NAME_MAX * 2 + 16];
            snprintf(reason, sizeof reason, "input '%s' never arrived here", mpcd_join_missing_name(job, missing, mb, sizeof mb));
        }
    }
    if (rc == 0) {
        mpcd_jobs_lock(w->jobs);
        job->state = MPCD_JOB_RUNNING;
        job->started = time(NULL);
        /* Running: its privacy budget spend is kept, whatever happens now (budget.h). */
        if (job->dp_eps > 0) mpcd_ledger_commit(mpcd_ledger_global(), job->id);
        mpcd_jobs_unlock(w->jobs);
        int mal = w->security == MPCD_SEC_MALICIOUS;   /* every party agreed to it */
        mpcd_info(hex, "running: %u inputs, %u outputs, %u rounds, %s", (unsigned)job->circ->n_inputs,
                  (unsigned)job->circ->n_outputs, (unsigned)job->circ->rounds,
                  mal ? "security = malicious, authenticated OT material made for the job"
                  : r->prep_mode == MPCD_PREP_DEALER ? "dealer material"
                  : pool_ok ? "triples from the pool" : "OT material made for the job");
        if (mal) {
            /* A dealer told of the job by the sequencer waits in vain: no dealer material here. */
            if (w->dealer != UINT32_MAX && r->prep_mode == MPCD_PREP_DEALER)
                s_abort_dealer(view, r->n, r->stream, MPC_ERR_CANCELLED);
            rc = mpcd_mal_execute(w, job, view, r->stream, me, r->n, hex, reason, sizeof reason);
        } else {
            rc = s_execute(w, job, view, r, me, pool_ok, blame, reason, sizeof reason);
        }
        /* A failure may leave the parties' pool sessions out of step: start afresh. */
        if (rc != 0 && pool_ok) mpcd_pool_reset(w->pool);
    } else {
        /* The agreement failed.  A cause every party saw in the round (a party without the
         * job or an input, a different tuple) ends the job everywhere alike; a failure this
         * party saw alone (a malformed or missing frame) is told to every other party now, as
         * an ABORT, or they would wait for its next round until their timeouts. */
        if (alone) s_abort_parties(view, r, me, rc);
        if (w->dealer != UINT32_MAX && r->prep_mode == MPCD_PREP_DEALER) s_abort_dealer(view, r->n, r->stream, rc);
    }

    /* A job that failed before anyone cancelled it is recorded as that failure, even if a
     * cancel (e.g. from the client that saw the failure) arrives while the cause is named. */
    int failed_first = job && rc != 0 && !atomic_load(&job->cancel);
    if (rc != 0 && w->peer_up) {
        /* Name whoever is gone: a dead party makes the others (and the dealer) abort, and
         * the abort alone does not say who died.  Whatever else failed the job (e.g. an
         * input that never came because its party is dead), a dead party is worth naming.
         * A party that learns of the failure from a peer's ABORT may hear it before its own
         * heartbeats time out, and may never see them time out while its own sends to the
         * dead peer are stuck (ZeroMQ starts a heartbeat's timeout only once the PING is
         * written).  So the engine says which peer it lost, and the ABORT carries that name;
         * without such a name the party waits for the mesh to notice a dead peer, up to the
         * heartbeat timeout. */
        int named = blame[1] < k && blame[0] < k;
        int64_t limit = rc == MPC_ERR_PEER_ABORT && !named && w->dead_peer_ms > 100 ? w->dead_peer_ms + 100 : 100;
        int64_t t0 = (int64_t)mpc_now_ms();
        for (;;) {
            if (w->idle) w->idle(w->idle_ctx, 100);
            int down = 0;
            for (uint32_t i = 0; i < k; i++) down |= map[i] != w->self && !w->peer_up(w->idle_ctx, map[i]);
            if (down || (int64_t)mpc_now_ms() - t0 >= limit) break;
        }
        size_t len = strlen(reason);
        for (uint32_t i = 0; i < k; i++) {
            if (map[i] == w->self) continue;
            int up = w->peer_up(w->idle_ctx, map[i]);
            if (up && !(named && i == blame[1])) continue;
            char seen[MPCD_REASON_MAX / 4] = "";
            if (up && blame[0] == me)
                snprintf(seen, sizeof seen, " (it stopped answering)");
            else if (up)
                snprintf(seen, sizeof seen, " (as seen by %s)", blame[0] < r->n ? w->names[map[blame[0]]] : "the dealer");
            int m = snprintf(reason + len, sizeof reason - len, "%s%s is unreachable%s", len ? "; " : "",
                             i < r->n ? w->names[map[i]] : "the dealer", seen);
            if (m < 0 || (size_t)m >= sizeof reason - len) break;
            len += (size_t)m;
        }
    }
    int cancelled = 0;
    char *stmt = NULL;
    mpcd_jobs_lock(w->jobs);
    if (job) {
        if (rc == 0 && !atomic_load(&job->cancel)) {   /* cancelled at the end: outputs wiped */
            mpcd_job_wipe_inputs(job);
            job->state = MPCD_JOB_DONE;
            job->finished = time(NULL);
            mpcd_metrics_job_ended(MPCD_JOB_DONE, job->submitted_ms);
            if (w->audit && job->audit_state == MPCD_AUDIT_DUE && (stmt = s_audit_stmt(w, job)) != NULL)
                job->audit_state = MPCD_AUDIT_HELD;   /* until the co-signatures are in */
        } else {
            if (failed_first) atomic_store(&job->cancel, 0);
            mpcd_job_fail(job, "%s", reason[0] ? reason : mpc_strerror(rc));
        }
        cancelled = job->state == MPCD_JOB_CANCELLED;
    }
    mpcd_jobs_notify(w->jobs);
    mpcd_jobs_unlock(w->jobs);
    if (cancelled) {
        mpcd_info(hex, "cancelled%s%s", rc ? ": " : "", rc ? (reason[0] ? reason : mpc_strerror(rc)) : "");
    } else if (rc == 0) {
        mpcd_jobs_lock(w->jobs);
        mpcd_release_log(job, hex);
        mpcd_jobs_unlock(w->jobs);
        mpcd_info(hex, "done");
    } else {
        mpcd_warn(hex, "failed: %s", reason[0] ? reason : mpc_strerror(rc));
    }
    if (stmt) s_audit_cosign(w, job, view, r->n, map, r->stream, stmt, hex);
    if (w->audit) s_audit_flush(w);
    mpc_transport_forget(w->mesh, r->stream);
    mpc_transport_forget(w->mesh, r->stream | MPC_STREAM_PREP_BIT);
    mpc_transport_destroy(&view);
}


/* ---- Readiness (docs/daemon.md, "Job ordering"): the sequencer orders only jobs that every
 * party of the job has reported ready (it holds the job and all the inputs it needs). ---- */

enum { NOTE_WORDS = 4, NOTES_MAX = 64 };
enum {
    NOTE_READY = 0x52445931,     /* "RDY1" party -> sequencer: job ready here */
    NOTE_REFUSED = 0x52465331,   /* party -> sequencer: the submission was refused here */
    NOTE_ACK = 0x41434b31,       /* sequencer -> party: recorded */
    NOTE_UNKNOWN = 0x554e4b31,   /* sequencer -> party: no such job at the sequencer */
    NOTE_EXPIRED = 0x45585031,   /* sequencer -> party: the job ended; detail says why */
    NOTE_RAN = 0x52414e31,       /* sequencer -> a party not bound to the job: it was ordered */
    NOTE_RUN_REFUSED = 0x52554e58,   /* "RUNX" party -> the node whose RUN it refused (s_refuse_run) */
};
#define NOTE_REFUSED_BIT (1ull << 32)   /* in an EXPIRED detail: that party refused the job */
#define NOTE_SEQ_ENDED   0xffffffffull  /* in an EXPIRED detail: the sequencer ended it otherwise */
/* How long after a busy spell the sequencer waits for readiness reports before it ends a job
 * that is not ready everywhere (a waiting party repeats its report every second). */
#define REPORT_GRACE_MS  1500
#define NOTES_UNANSWERED 8
#define NOTES_SILENCE_MS 30000

typedef struct {
    uint32_t to;
    uint64_t w[NOTE_WORDS];
} note_out;

static void s_note_add(note_out *out, uint32_t *n, uint32_t to, uint64_t kind, const uint8_t id[MPCD_JOB_ID_BYTES],
                       uint64_t detail)
{
    if (*n >= NOTES_MAX) return;
    note_out *o = &out[(*n)++];
    o->to = to;
    o->w[0] = kind;
    memcpy(&o->w[1], id, MPCD_JOB_ID_BYTES);
    o->w[3] = detail;
}

/* Sends the collected notes (lock NOT held), skipping peers that are down: a note is a hint
 * that is repeated or replaced by a timeout, never something a job waits on forever. */
static void s_note_flush(mpcd_worker *w, const note_out *out, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (!w->peer_up || w->peer_up(w->idle_ctx, out[i].to))
            (void)mpc_send(w->mesh, out[i].to, MPC_MSG_CONTROL, MPCD_NOTE_STREAM, 0, out[i].w, NOTE_WORDS);
}

static uint32_t s_bound_mask(const mpcd_job *job)
{
    uint32_t m = 0;
    for (uint32_t i = 0; i < job->circ->n_parties; i++) m |= 1u << job->binding[i];
    return m;
}

/* Lock held.  Fails the job with `why`, naming the parties of the job that are unreachable
 * (a dead party is the likely cause of whatever did not arrive). */
static void s_fail_naming_down(mpcd_worker *w, mpcd_job *job, const char *why)
{
    char down[MPCD_REASON_MAX] = "";
    size_t len = 0;
    for (uint32_t i = 0; w->peer_up && i < job->circ->n_parties; i++) {
        uint32_t b = job->binding[i];
        if (b == w->self || w->peer_up(w->idle_ctx, b)) continue;
        int m = snprintf(down + len, sizeof down - len, "; %s is unreachable", w->names[b]);
        if (m < 0 || (size_t)m >= sizeof down - len) break;
        len += (size_t)m;
    }
    mpcd_job_fail(job, "%s%s", why, down);
}

/* Lock held.  Fails a job that was not ready on party `party` (or was refused there), with
 * the input's name when that party is this one. */
static void s_fail_not_ready(mpcd_worker *w, mpcd_job *job, uint64_t detail)
{
    uint32_t party = (uint32_t)(detail & 0xffffffffu), missing = 0;
    char why[MPCD_REASON_MAX], mb[MPC_NAME_MAX * 2 + 16];
    if (detail == NOTE_SEQ_ENDED || party >= w->n_parties)
        snprintf(why, sizeof why, "the sequencer %s ended the job before it ran", w->names[w->seq_now]);
    else if (detail & NOTE_REFUSED_BIT)
        snprintf(why, sizeof why, "party %s refused the job (not submitted there in time, its policy or a limit)",
                 w->names[party]);
    else if (party == w->self && !mpcd_job_inputs_ready(job, &missing))
        snprintf(why, sizeof why, "input '%s' never arrived here within input_timeout_ms (%d ms)",
                 mpcd_join_missing_name(job, missing, mb, sizeof mb), w->input_timeout_ms);
    else
        snprintf(why, sizeof why, "not ready on party %s within input_timeout_ms (%d ms): the job was not submitted "
                 "there, or not all of its inputs arrived there", w->names[party], w->input_timeout_ms);
    s_fail_naming_down(w, job, why);
    job->sequenced = 1;
    job->expired_note = detail | (1ull << 40);   /* never 0; ignored by the decoding above */
    mpcd_info(job->id_hex, "ended before it ran: %s", job->reason);
}

/* Lock held.  Sequencer: ends job (not ready on `party`) and tells its other parties. */
static void s_seq_end(mpcd_worker *w, mpcd_job *job, uint64_t detail, note_out *out, uint32_t *n_out)
{
    s_fail_not_ready(w, job, detail);
    for (uint32_t i = 0; i < job->circ->n_parties; i++)
        if (job->binding[i] != w->self) s_note_add(out, n_out, job->binding[i], NOTE_EXPIRED, job->id, detail);
    mpcd_jobs_notify(w->jobs);
}

/* A NOTE_RUN_REFUSED from party p: the job it names, when p is a party of it and this daemon
 * is in its agreement, stops waiting for p (s_agree_recv).  1 if m was such a note. */
static int s_take_run_refusal(mpcd_worker *w, uint32_t p, const uint64_t m[NOTE_WORDS])
{
    if (m[0] != NOTE_RUN_REFUSED) return 0;
    uint8_t id[MPCD_JOB_ID_BYTES];
    memcpy(id, &m[1], MPCD_JOB_ID_BYTES);
    mpcd_jobs_lock(w->jobs);
    mpcd_job *job = mpcd_jobs_find(w->jobs, id);
    if (job && job->state == MPCD_JOB_WAITING && (s_bound_mask(job) & (1u << p))) {
        atomic_store(&job->run_refused_by, p + 1);
        mpcd_warn(job->id_hex, "%s refused this job's RUN: it saw another node as the sequencer", w->names[p]);
    }
    mpcd_jobs_unlock(w->jobs);
    return 1;
}

/* Sequencer: reads the parties' readiness reports and answers them. */
static void s_seq_drain(mpcd_worker *w)
{
    note_out out[NOTES_MAX];
    uint32_t n_out = 0;
    for (uint32_t p = 0; p < w->n_parties; p++) {
        if (p == w->self) continue;
        uint64_t m[NOTE_WORDS];
        while (n_out + MPC_MAX_PARTIES < NOTES_MAX &&
               mpc_recv(w->mesh, p, MPC_MSG_CONTROL, MPCD_NOTE_STREAM, 0, m, NOTE_WORDS, 0) == 0) {
            if (s_take_run_refusal(w, p, m) || (m[0] != NOTE_READY && m[0] != NOTE_REFUSED)) continue;
            uint8_t id[MPCD_JOB_ID_BYTES];
            memcpy(id, &m[1], MPCD_JOB_ID_BYTES);
            uint32_t before = n_out;
            mpcd_jobs_lock(w->jobs);
            mpcd_job *job = mpcd_jobs_find(w->jobs, id);
            if (job && !(s_bound_mask(job) & (1u << p))) {
                /* bound differently here: for that party it is a job the sequencer does not hold */
                s_note_add(out, &n_out, p, NOTE_UNKNOWN, id, 0);
            } else if (!job) {
                if (m[0] == NOTE_READY)
                    s_note_add(out, &n_out, p, mpcd_jobs_was_refused(w->jobs, id) ? NOTE_EXPIRED : NOTE_UNKNOWN, id,
                               w->self | NOTE_REFUSED_BIT);
            } else if (job->state == MPCD_JOB_QUEUED && !job->sequenced) {
                if (m[0] == NOTE_READY) {
                    job->ready_mask |= 1u << p;
                    s_note_add(out, &n_out, p, NOTE_ACK, id, 0);
                    mpcd_jobs_notify(w->jobs);
                } else {
                    s_seq_end(w, job, p | NOTE_REFUSED_BIT, out, &n_out);
                }
            } else if ((job->state == MPCD_JOB_FAILED || job->state == MPCD_JOB_CANCELLED) && !job->rounds_done &&
                       m[0] == NOTE_READY) {
                s_note_add(out, &n_out, p, NOTE_EXPIRED, id, job->expired_note ? job->expired_note : NOTE_SEQ_ENDED);
            }
            /* Every report is answered: the party counts unanswered ones (s_party_pass). */
            int answered = 0;
            for (uint32_t i = before; i < n_out; i++) answered |= out[i].to == p;
            if (!answered) s_note_add(out, &n_out, p, NOTE_ACK, id, 0);
            mpcd_jobs_unlock(w->jobs);
        }
    }
    s_note_flush(w, out, n_out);
}

/* Lock held.  Sequencer: the oldest job ready on every party of it, or NULL; ends the jobs
 * not ready everywhere input_timeout_ms after their submission here. */
static mpcd_job *s_seq_pick(mpcd_worker *w, note_out *out, uint32_t *n_out, uint32_t *pending)
{
    uint64_t now = mpc_now_ms();
    /* The parties report only between jobs and pool chunks: after a busy spell of ours (and
     * so, most likely, of theirs) give their reports time to come before ending a job. */
    int may_end = now >= w->seq_free_ms + REPORT_GRACE_MS;
    mpcd_job *pick = NULL;
    *pending = 0;
    for (mpcd_job *job = mpcd_jobs_first(w->jobs); job; job = job->next) {
        if (job->state != MPCD_JOB_QUEUED || job->sequenced) continue;
        uint32_t bound = s_bound_mask(job);
        if (job->my_party != UINT32_MAX && mpcd_job_inputs_ready(job, NULL)) job->ready_mask |= 1u << w->self;
        if ((job->ready_mask & bound) == bound) {
            if (!pick) pick = job;   /* a ready job is never ended by the timeout */
            continue;
        }
        (*pending)++;
        if (!may_end || now - job->submitted_ms < (uint64_t)w->input_timeout_ms || *n_out + MPC_MAX_PARTIES > NOTES_MAX)
            continue;
        uint32_t missing = bound & ~job->ready_mask, party = (uint32_t)__builtin_ctz(missing);
        for (uint32_t b = 0; w->peer_up && b < w->n_parties; b++)   /* name a party that is down, if any */
            if ((missing & (1u << b)) && b != w->self && !w->peer_up(w->idle_ctx, b)) {
                party = b;
                break;
            }
        s_seq_end(w, job, party, out, n_out);
    }
    return pick;
}

static uint64_t s_later(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

/* A party (not the sequencer): answers from the sequencer, then readiness reports for its
 * jobs that became ready, refusals made here, and the end of jobs that waited too long. */
static void s_party_pass(mpcd_worker *w)
{
    const uint32_t seq = w->seq_now;
    uint64_t m[NOTE_WORDS];
    while (mpc_recv(w->mesh, seq, MPC_MSG_CONTROL, MPCD_NOTE_STREAM, 0, m, NOTE_WORDS, 0) == 0) {
        uint8_t id[MPCD_JOB_ID_BYTES];
        memcpy(id, &m[1], MPCD_JOB_ID_BYTES);
        w->notes_unanswered = 0;
        mpcd_jobs_lock(w->jobs);
        mpcd_job *job = mpcd_jobs_find(w->jobs, id);
        if (job && job->state == MPCD_JOB_QUEUED && !job->sequenced) {
            if (m[0] == NOTE_ACK) job->seq_answer = MPCD_SEQ_ACK;
            else if (m[0] == NOTE_UNKNOWN) job->seq_answer = MPCD_SEQ_UNKNOWN;
            else if (m[0] == NOTE_EXPIRED) {
                s_fail_not_ready(w, job, m[3]);
                mpcd_jobs_notify(w->jobs);
            } else if (m[0] == NOTE_RAN && job->my_party == UINT32_MAX) {
                /* this daemon's copy served the ordering only: the job ran on its parties */
                job->sequenced = 1;
                job->state = MPCD_JOB_DONE;
                job->finished = time(NULL);
                mpcd_metrics_job_ended(MPCD_JOB_DONE, job->submitted_ms);
                snprintf(job->reason, sizeof job->reason, "sequenced by %s: this daemon is not a party of the job",
                         w->names[seq]);
                mpcd_jobs_notify(w->jobs);
            }
        }
        mpcd_jobs_unlock(w->jobs);
    }
    note_out out[NOTES_MAX];
    uint32_t n_out = 0;
    uint64_t now = mpc_now_ms(), limit = (uint64_t)w->input_timeout_ms;
    /* A sequencer busy with a long job reads nothing: its transport holds what we send (a
     * bounded store shared with the job traffic), so at most NOTES_UNANSWERED reports go
     * out without an answer; the count restarts when the sequencer answers, when it was seen
     * down (a restarted one answers again) or after NOTES_SILENCE_MS. */
    if (w->peer_up && !w->peer_up(w->idle_ctx, seq)) w->notes_unanswered = 0;
    if (w->notes_unanswered && now - w->notes_sent_ms >= NOTES_SILENCE_MS) w->notes_unanswered = 0;
    uint32_t budget = w->notes_unanswered < NOTES_UNANSWERED ? NOTES_UNANSWERED - w->notes_unanswered : 0;
    mpcd_jobs_lock(w->jobs);
    uint8_t refused[NOTES_UNANSWERED][MPCD_JOB_ID_BYTES];
    uint32_t nr = mpcd_jobs_refused_since(w->jobs, &w->refused_cursor, refused, budget);
    for (uint32_t i = 0; i < nr; i++) s_note_add(out, &n_out, seq, NOTE_REFUSED, refused[i], 0);
    budget = budget > n_out ? budget - n_out : 0;
    for (mpcd_job *job = mpcd_jobs_first(w->jobs); job; job = job->next) {
        if (job->state != MPCD_JOB_QUEUED || job->sequenced || job->my_party == UINT32_MAX) continue;
        uint32_t missing = 0;
        uint64_t age = now - job->submitted_ms;
        /* The sequencer's silence or ignorance counts from when it became the sequencer (a
         * job reported to one that went away is reported again to the next). */
        uint64_t seq_age = now - s_later(job->submitted_ms, w->seq_since_ms);
        if (!mpcd_job_inputs_ready(job, &missing)) {
            if (age < limit) continue;
            char why[MPCD_REASON_MAX], mb[MPC_NAME_MAX * 2 + 16];
            snprintf(why, sizeof why, "input '%s' never arrived here within input_timeout_ms (%d ms)",
                     mpcd_join_missing_name(job, missing, mb, sizeof mb), w->input_timeout_ms);
            s_fail_naming_down(w, job, why);
        } else if (job->seq_answer == MPCD_SEQ_UNKNOWN && seq_age >= limit) {
            mpcd_job_fail(job, "never sequenced: the sequencer %s does not hold the job (it was not submitted "
                          "there) within input_timeout_ms (%d ms)", w->names[seq], w->input_timeout_ms);
        } else if (job->seq_answer == MPCD_SEQ_NONE &&
                   now - s_later(s_later(job->submitted_ms, w->seq_since_ms), w->party_free_ms) >=
                       limit + (uint64_t)w->peer_timeout_ms) {
            mpcd_job_fail(job, "never sequenced: no answer from the sequencer %s within input_timeout_ms (%d ms)",
                          w->names[seq], w->input_timeout_ms);
        } else {
            /* Ready: report it, again every second until the sequencer has it (every 5 s
             * after, in case the sequencer restarted and lost it). */
            uint64_t every = job->seq_answer == MPCD_SEQ_ACK ? 5000 : 1000;
            if ((!job->announced_ms || now - job->announced_ms >= every) && n_out < NOTES_MAX && budget) {
                job->announced_ms = now;
                budget--;
                s_note_add(out, &n_out, seq, NOTE_READY, job->id, 0);
            }
            continue;
        }
        job->sequenced = 1;
        mpcd_info(job->id_hex, "ended before it ran: %s", job->reason);
        mpcd_jobs_notify(w->jobs);
    }
    mpcd_jobs_unlock(w->jobs);
    if (n_out) {
        w->notes_unanswered += n_out;
        w->notes_sent_ms = now;
    }
    s_note_flush(w, out, n_out);
}

/* Sequencer: hands out the next job's turn. Returns 1 if it did something. */
/* Makes one chunk of the pool with every party (a RUN_PREP: k = triples, stream = the pool's
 * generation session). */
static void s_pool_chunk(mpcd_worker *w, const run_msg *r)
{
    uint32_t map[MPC_MAX_PARTIES];
    for (uint32_t i = 0; i < w->n_parties; i++) map[i] = i;
    mpc_transport *view = mpc_transport_view_new(w->mesh, map, w->n_parties);
    if (!view) return;
    uint64_t t0 = mpc_now_ms();
    mpcd_pool_state before, after;
    mpcd_pool_state_get(w->pool, &before);
    int rc = mpcd_pool_generate(w->pool, view, w->self, w->n_parties, r->stream, r->k, w->peer_timeout_ms);
    mpcd_pool_state_get(w->pool, &after);
    /* a new session starts the counts again from 0 */
    uint64_t made = after.session != before.session ? after.added
                    : after.added > before.added     ? after.added - before.added : 0;
    if (rc == 0 && made) mpcd_metrics_triples_made(1, made);
    if (rc == 0)
        mpcd_debug(NULL, "pool: made %llu triples in %llu ms; stock %llu (%.0f triples/s)", (unsigned long long)r->k,
                   (unsigned long long)(mpc_now_ms() - t0), (unsigned long long)mpcd_pool_stock(w->pool),
                   mpcd_pool_rate(w->pool));
    else
        mpcd_warn(NULL, "pool: making triples failed (%s); the pool is emptied", mpc_strerror(rc));
}

/* Sequencer: when no job waits, the stock is below target and every party is reachable,
 * orders the next chunk of the pool.  Returns 1 if it did. */
static int s_sequence_prep(mpcd_worker *w, uint64_t epoch, uint64_t *k, uint64_t *retry_at)
{
    if (!w->pool || w->prep_mode != MPCD_PREP_OT || mpc_now_ms() < *retry_at) return 0;
    /* Only while no run that uses the pool is queued or running here (the chunk before
     * included): the pool is then left alone by the job threads, and its stock is final. */
    struct mpcd_slots *sl = w->slots;
    pthread_mutex_lock(&sl->mu);
    int pool_idle = sl->turn == sl->next_ticket;
    if (sl->prep_retry_at > *retry_at) *retry_at = sl->prep_retry_at;
    pthread_mutex_unlock(&sl->mu);
    if (!pool_idle || mpc_now_ms() < *retry_at) return 0;
    uint64_t stock = mpcd_pool_stock(w->pool), target = mpcd_pool_target(w->pool);
    if (stock >= target) return 0;
    for (uint32_t i = 0; i < w->n_parties; i++)
        if (i != w->self && w->peer_up && !w->peer_up(w->idle_ctx, i)) return 0;
    run_msg r;
    memset(&r, 0, sizeof r);
    r.epoch = epoch;
    r.what = RUN_PREP;
    r.k = target - stock < mpcd_pool_chunk(w->pool) ? target - stock : mpcd_pool_chunk(w->pool);
    /* The generation session keeps its stream while the pool lives; an emptied pool starts a
     * new session with a stream of its own (fresh base OTs, no hash tweak ever reused). */
    mpcd_pool_state ps;
    mpcd_pool_state_get(w->pool, &ps);
    r.stream = ps.session ? ps.session : ((epoch & 0x7fffffffull) << 31) | (((*k)++ + 1) & 0x7fffffffull);
    r.n = w->n_parties;
    for (uint32_t i = 0; i < r.n; i++) r.binding[i] = i;
    r.prep_mode = MPCD_PREP_OT;
    uint64_t words[MPCD_RUN_WORDS];
    s_run_encode(&r, words);
    for (uint32_t i = 0; i < r.n; i++)
        if (i != w->self) (void)mpc_send(w->mesh, i, MPC_MSG_CONTROL, MPCD_JOB_CONTROL, 0, words, MPCD_RUN_WORDS);
    s_dispatch(w, &r);
    return 1;
}

static int s_sequence_one(mpcd_worker *w, uint64_t epoch, uint64_t *k, uint64_t *retry_at)
{
    note_out out[NOTES_MAX];
    uint32_t n_out = 0;
    s_seq_drain(w);
    uint32_t pending = 0;
    /* Runs of this daemon that wait for a job thread: with as many waiting as there are
     * threads, ordering more would only lengthen the queue here (other parties' queues are
     * what they are), so readiness is read and answered but nothing new is ordered. */
    pthread_mutex_lock(&w->slots->mu);
    int full = w->slots->queued >= w->slots->nth;
    pthread_mutex_unlock(&w->slots->mu);
    mpcd_jobs_lock(w->jobs);
    mpcd_job *job = s_seq_pick(w, out, &n_out, &pending);
    if (full) job = NULL;
    int pool_busy = 0;   /* a run that uses the pool is queued or running: no chunk now */
    if (w->pool) {
        pthread_mutex_lock(&w->slots->mu);
        pool_busy = w->slots->turn != w->slots->next_ticket || mpc_now_ms() < w->slots->prep_retry_at;
        pthread_mutex_unlock(&w->slots->mu);
    }
    if (!job && (pending || full || pool_busy || !w->pool || mpcd_pool_stock(w->pool) >= mpcd_pool_target(w->pool) ||
                 mpc_now_ms() < *retry_at)) {
        /* Woken by a submission or an input here; a party's report is read on the next pass. */
        mpcd_jobs_wait(w->jobs, mpc_now_ms() + 50);
        job = s_seq_pick(w, out, &n_out, &pending);
        if (full) job = NULL;
    }
    if (!job) {
        mpcd_jobs_unlock(w->jobs);
        s_note_flush(w, out, n_out);
        /* No pool chunk while a job waits for readiness: it would delay the job by a chunk. */
        if (n_out || pending || full) return n_out != 0;
        return s_sequence_prep(w, epoch, k, retry_at);
    }
    run_msg r;
    memset(&r, 0, sizeof r);
    r.epoch = epoch;
    r.k = (*k)++;
    /* Stream ids: 31 random bits of epoch, 31 bits of counter; bits 62 and 63 stay clear. */
    r.stream = ((epoch & 0x7fffffffull) << 31) | ((r.k + 1) & 0x7fffffffull);
    memcpy(r.id, job->id, MPCD_JOB_ID_BYTES);
    memcpy(r.hash, job->hash, 32);
    r.n = job->circ->n_parties;
    for (uint32_t i = 0; i < r.n; i++) r.binding[i] = job->binding[i];
    r.prep_mode = (uint32_t)w->prep_mode;
    int involved = job->my_party != UINT32_MAX;
    uint32_t bound = s_bound_mask(job);
    job->sequenced = 1;
    if (!involved) {
        job->state = MPCD_JOB_DONE;
        job->finished = time(NULL);
        mpcd_metrics_job_ended(MPCD_JOB_DONE, job->submitted_ms);
        snprintf(job->reason, sizeof job->reason, "sequenced only: this daemon is not a party of the job");
    }
    mpcd_jobs_unlock(w->jobs);
    s_note_flush(w, out, n_out);

    uint64_t words[MPCD_RUN_WORDS];
    s_run_encode(&r, words);
    for (uint32_t i = 0; i < r.n; i++)
        if (r.binding[i] != w->self)
            (void)mpc_send(w->mesh, r.binding[i], MPC_MSG_CONTROL, MPCD_JOB_CONTROL, 0, words, MPCD_RUN_WORDS);
    if (r.prep_mode == MPCD_PREP_DEALER && w->dealer != UINT32_MAX)
        (void)mpc_send(w->mesh, w->dealer, MPC_MSG_CONTROL, MPCD_JOB_CONTROL, 0, words, MPCD_RUN_WORDS);
    /* The parties not bound to the job hold a copy for ordering only: tell them it ran, so
     * they drop it instead of keeping it queued until it expires. */
    n_out = 0;
    for (uint32_t p = 0; p < w->n_parties; p++)
        if (p != w->self && !(bound & (1u << p))) s_note_add(out, &n_out, p, NOTE_RAN, r.id, 0);
    s_note_flush(w, out, n_out);
    if (involved) s_dispatch(w, &r);
    return 1;
}

/* ---- Failover (docs/daemon.md, "Sequencer failover") ---- */

/* The sequencer as this daemon sees it now: the lowest-indexed party that is up, itself
 * included (the dealer never sequences). */
static uint32_t s_sequencer_now(const mpcd_worker *w)
{
    for (uint32_t p = 0; p < w->n_parties; p++)
        if (p == w->self || !w->peer_up || w->peer_up(w->idle_ctx, p)) return p;
    return 0;
}

/* This daemon's view of the sequencer changed: what it knew from or told the old one is
 * void.  A party reports its ready jobs and its refusals to the new one at once (and counts
 * the new one's silence from now); a new sequencer takes only reports made to it, and gives
 * the parties a heartbeat timeout to notice the change too before it ends any job. */
static void s_sequencer_changed(mpcd_worker *w, uint32_t seq)
{
    uint32_t old = w->seq_now;
    uint64_t now = mpc_now_ms();
    w->seq_now = seq;
    w->seq_since_ms = now;
    w->notes_unanswered = 0;
    w->refused_cursor = 0;
    if (seq == w->self) w->seq_free_ms = now + (uint64_t)(w->dead_peer_ms > 0 ? w->dead_peer_ms : 0);
    if (w->jobs) {
        mpcd_jobs_lock(w->jobs);
        for (mpcd_job *job = mpcd_jobs_first(w->jobs); job; job = job->next) {
            if (job->state != MPCD_JOB_QUEUED || job->sequenced) continue;
            job->ready_mask = 0;
            job->seq_answer = MPCD_SEQ_NONE;
            job->announced_ms = 0;
        }
        mpcd_jobs_unlock(w->jobs);
    }
    if (old == UINT32_MAX)
        mpcd_info(NULL, "sequencer: %s%s", w->names[seq], seq == w->self ? " (this daemon)" : "");
    else
        mpcd_warn(NULL, "the sequencer is now %s%s (was %s: %s)", w->names[seq], seq == w->self ? " (this daemon)" : "",
                  w->names[old], seq < old ? "it is back" : "it is unreachable");
}

/* A RUN from a node that is not the sequencer here: refused; nothing is sent on its stream
 * and nothing held for it is dropped (a forged RUN must not touch a real run's stream).  The
 * parties that took it (they saw that node as the sequencer) fail it when this party's
 * agreement does not come (input_timeout_ms + peer_timeout_ms).  Answering with an ABORT
 * would be faster, but a stream named by a node that is not the sequencer could be the
 * stream a real run will use (a party learns the sequencer's epoch from its own RUNs and can
 * guess the counter), so a malicious party could make this one abort others' jobs. */
static void s_refuse_run(mpcd_worker *w, uint32_t from, const uint64_t words[MPCD_RUN_WORDS])
{
    run_msg r;
    if (s_run_decode(words, w->n_parties, &r) != 0) return;
    mpcd_warn(NULL, "a %s from %s refused: the sequencer here is %s", r.what == RUN_JOB ? "RUN" : "pool chunk",
              w->names[from], w->names[w->seq_now]);
    /* The sender waits in the job's agreement for this party, possibly for a job timeout: tell
     * it on the note stream (never on the run's stream) that it waits in vain.  It believes
     * only a party of that job (s_take_run_refusal), which could end the job anyway. */
    if (r.what == RUN_JOB) {
        note_out out[1];
        uint32_t n_out = 0;
        s_note_add(out, &n_out, from, NOTE_RUN_REFUSED, r.id, 0);
        s_note_flush(w, out, n_out);
    }
}

/* Takes what nodes other than the sequencer sent on the control streams (RUNs, readiness
 * answers of an old sequencer, reports from parties that still see this daemon as the
 * sequencer), so the transport does not hold them and a node that becomes the sequencer
 * again never replays them. */
static void s_drain_stale(mpcd_worker *w)
{
    int am_seq = w->seq_now == w->self;
    for (uint32_t p = 0; p < w->n_parties; p++) {
        if (p == w->self || p == w->seq_now) continue;
        uint64_t words[MPCD_RUN_WORDS];
        for (int n = 0; n < 64 && mpc_recv(w->mesh, p, MPC_MSG_CONTROL, MPCD_JOB_CONTROL, 0, words, MPCD_RUN_WORDS,
                                           0) == 0; n++)
            s_refuse_run(w, p, words);
        uint64_t m[NOTE_WORDS];
        for (int n = 0; !am_seq && n < 64 &&
                        mpc_recv(w->mesh, p, MPC_MSG_CONTROL, MPCD_NOTE_STREAM, 0, m, NOTE_WORDS, 0) == 0; n++)
            (void)s_take_run_refusal(w, p, m);
    }
}

int mpcd_worker_run(mpcd_worker *w)
{
    uint64_t epoch = 0, k = 0, retry_at = 0;
    /* Stream ids carry 31 random bits of this epoch: two sequencers (one after the other, or
     * two that briefly disagree) never give two runs the same stream. */
    randombytes_buf(&epoch, sizeof epoch);
    epoch |= 1;   /* never 0, so stream ids are never 0 */
    w->seq_now = UINT32_MAX;
    /* This thread reads control traffic only: while a job thread waits in recv, that one reads
     * the sockets (no hand-off per message) and files what comes for this thread. */
    mpc_transport_zmq_background(1);
    if (!(w->slots = s_slots_start(w))) {
        mpcd_error(NULL, "cannot start the job threads");
        return MPC_ERR_NOMEM;
    }
    while (!atomic_load(w->stop)) {
        if (w->audit) s_audit_flush(w);
        uint32_t seq = s_sequencer_now(w);
        if (seq != w->seq_now) s_sequencer_changed(w, seq);
        s_drain_stale(w);
        if (w->self == seq && !w->is_dealer) {
            if (!s_sequence_one(w, epoch, &k, &retry_at) && w->idle) w->idle(w->idle_ctx, 0);
            continue;
        }
        if (w->jobs) s_party_pass(w);
        uint64_t words[MPCD_RUN_WORDS];
        int rc = mpc_recv(w->mesh, seq, MPC_MSG_CONTROL, MPCD_JOB_CONTROL, 0, words, MPCD_RUN_WORDS, 100);
        if (rc == MPC_ERR_TIMEOUT) {
            if (w->idle) w->idle(w->idle_ctx, 0);
            continue;
        }
        if (rc == MPC_ERR_IO) continue;   /* the sequencer went away: the next pass picks the next one */
        if (rc != 0) {
            mpcd_warn(NULL, "control message from the sequencer %s refused: %s", w->names[seq], mpc_strerror(rc));
            continue;
        }
        run_msg r;
        if (s_run_decode(words, w->n_parties, &r) != 0) {
            mpcd_warn(NULL, "malformed RUN message from the sequencer %s ignored", w->names[seq]);
            continue;
        }
        /* Hand the run to the job threads, in the order the RUNs came: this thread goes on
         * reading notes and RUNs while jobs run (party_free_ms stays at its start: reports
         * are read at every pass, whatever runs). */
        if (r.what == RUN_PREP) {
            if (w->pool && !w->is_dealer && r.n == w->n_parties) s_dispatch(w, &r);
            continue;
        }
        int involved = w->is_dealer;
        for (uint32_t i = 0; i < r.n; i++)
            if (r.binding[i] == w->self) involved = 1;
        if (involved) s_dispatch(w, &r);
    }
    s_slots_stop(w->slots);
    w->slots = NULL;
    return 0;
}
