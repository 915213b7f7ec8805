/* execute.c — the engine run of a job its parties agreed to run (worker_int.h, called by
 * run_job.c): this party's inputs (client shares, stored datasets, private joins), its
 * preprocessing source (dealer, the triple pool or OT made for the job), counted for the job's
 * progress, the release rules (docs/daemon.md, "Release rules"), and the output shares kept
 * for the clients. */
#include "worker_int.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "dshandlers.h"
#include "engine.h"
#include "join_job.h"
#include "log.h"
#include "metrics.h"
#include "mpc_err.h"
#include "pool.h"
#include "prep_dealer.h"
#include "prep_ot.h"
#include "release_job.h"
#include "transport_view.h"

typedef struct {
    mpcd_jobs *jobs;
    mpcd_job  *job;
} s_progress_ctx;

/* What the engine's inputs point to: the job's explicit shares and seeds, stored datasets'
 * shares; dropped as soon as the engine has read them (mpc_engine_opts.inputs_read). */
typedef struct {
    mpcd_jobs         *jobs;
    mpcd_job          *job;
    const mpc_circuit *c;
    uint64_t         **stored;
} s_inputs_ctx;

static void s_inputs_read(void *ctx)
{
    s_inputs_ctx *ic = ctx;
    mpcd_jobs_lock(ic->jobs);
    mpcd_job_drop_shares(ic->job);
    mpcd_jobs_unlock(ic->jobs);
    mpcd_ds_free_vals(ic->c, ic->stored);
}

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
    if (w->dealer != UINT32_MAX && r->prep_mode == MPCD_PREP_DEALER) mpcd_run_abort_dealer(view, r->n, r->stream, MPC_ERR_CANCELLED);
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

/* This party's engine inputs of job in in[] (stored datasets' shares loaded into stored[],
 * private joins run first); *deadline: the job's end by job_timeout_ms (0: none), counted
 * from before the joins.  0, or an error code with a reason (the other parties are told). */
static int s_job_inputs(mpcd_worker *w, mpcd_job *job, mpc_transport *view, const run_msg *r, uint32_t me,
                        mpc_engine_input *in, uint64_t **stored, uint64_t *deadline, char *reason, size_t rlen)
{
    const mpc_circuit *c = job->circ;
    int rc;
    /* Inputs from stored datasets: this party's shares, loaded now (mpcd/dshandlers.h). */
    uint64_t t_load = mpc_now_ms();
    if ((rc = mpcd_ds_job_load(c, job->inputs, stored, reason, rlen)) != 0) {
        mpcd_run_abort_parties(view, r, me, rc);
        return rc;
    }
    /* Private joins (mpcd/join_job.h): their outputs become this party's STORED inputs. */
    uint64_t deadline_ms = w->job_timeout_ms > 0 ? mpc_now_ms() + (uint64_t)w->job_timeout_ms : 0;
    *deadline = deadline_ms;
    if (c->n_joins && (rc = mpcd_join_execute(w->jobs, job, view, me, r->stream, w->peer_timeout_ms, deadline_ms,
                                              stored, reason, rlen)) != 0) {
        mpcd_run_abort_parties(view, r, me, rc);
        return rc;
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
            mpcd_run_abort_parties(view, r, me, rc);
            return rc;
        }
    }
    for (uint32_t k = 0; k < c->n_inputs; k++)
        if (stored[k]) {
            char hex[MPC_CWIRE_JOB_HEX + 1];
            mpc_cwire_job_hex(r->id, hex);
            mpcd_info(hex, "stored dataset shares loaded in %llu ms", (unsigned long long)(mpc_now_ms() - t_load));
            break;
        }
    return 0;
}

/* The job's preprocessing source (the dealer's stream, the pool, or OT made for the job), or
 * NULL.  view: the source's own view of the mesh (the engine's is another), since streamed
 * rounds run the source on a thread of its own beside the engine (engine.h). */
static mpc_prep *s_prep_source(mpcd_worker *w, mpc_transport *view, const run_msg *r, uint32_t me, int use_pool)
{
    mpc_prep *prep = NULL;
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
    return prep;
}

/* A copy of the engine's output shares, or NULL when out of memory. */
static uint64_t **s_copy_outputs(const mpc_circuit *c, mpc_engine *e)
{
    uint64_t **outs = calloc(c->n_outputs, sizeof *outs);
    if (!outs) return NULL;
    for (uint32_t o = 0; o < c->n_outputs; o++) {
        size_t bytes = (size_t)c->outputs[o].len * sizeof(uint64_t);
        outs[o] = malloc(bytes);
        if (!outs[o]) {
            for (uint32_t q = 0; q < o; q++) {
                sodium_memzero(outs[q], (size_t)c->outputs[q].len * sizeof(uint64_t));
                free(outs[q]);
            }
            free(outs);
            return NULL;
        }
        memcpy(outs[o], mpc_engine_share(e, o), bytes);
    }
    return outs;
}

/* Runs the engine for job (lock NOT held; the job is ours: state RUNNING). */
int mpcd_run_execute(mpcd_worker *w, mpcd_job *job, mpc_transport *view, const run_msg *r, uint32_t me,
                     int use_pool, uint32_t blame[2], char *reason, size_t rlen)
{
    const mpc_circuit *c = job->circ;
    int rc = 0;
    mpc_prep *prep = NULL;
    mpc_engine *e = NULL;
    mpc_transport *pview = NULL;       /* the preprocessing source's view of the mesh */
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
    uint64_t deadline_ms = 0;
    if ((rc = s_job_inputs(w, job, view, r, me, in, stored, &deadline_ms, reason, rlen)) != 0) goto out;
    /* Release rules: fewer contributors than agreed withholds every output (the engine does
     * not run); min_rows runs the release circuit (circuits/release.h) instead of c. */
    rc = s_release_prepare(w, job, view, r, &relc, &sup, &has_pass, &wh, reason, rlen);
    if (rc != 0) {
        if (rc > 0) rc = 0;   /* every output withheld: done */
        else mpcd_run_abort_parties(view, r, me, rc);
        goto out;
    }
    const mpc_circuit *run = relc ? relc : c;
    pview = mpc_transport_view_clone(view);
    prep = pview ? s_prep_source(w, pview, r, me, use_pool) : NULL;
    mpcd_jobs_lock(w->jobs);
    job->prep_needed = s_triples_needed(run);
    job->prep_made = 0;
    job->prep_started_ms = mpc_now_ms();
    mpcd_jobs_unlock(w->jobs);
    prep = s_counted_new(prep, w->jobs, job, r->prep_mode == MPCD_PREP_OT && use_pool ? w->pool : NULL);
    if (!prep) {
        rc = MPC_ERR_PREP;
        snprintf(reason, rlen, "no preprocessing source for mode %u", (unsigned)r->prep_mode);
        mpcd_run_abort_parties(view, r, me, rc);
        goto out;
    }
    s_progress_ctx pc = {w->jobs, job};
    s_inputs_ctx ic = {w->jobs, job, c, stored};
    /* Material of up to 4 Mi words (32 MB) of consecutive layers per request: a deep circuit
     * pays one round trip to the source per window instead of one per layer (engine.h).
     * Every daemon of a job must use the same value, so it is a constant of the build. */
    mpc_engine_opts opts = {
        .stream = r->stream,
        .timeout_ms = w->peer_timeout_ms,
        .deadline_ms = deadline_ms,   /* the joins' time counts */
        .progress = s_progress,
        .progress_ctx = &pc,
        .inputs_read = s_inputs_read,
        .inputs_ctx = &ic,
        .cancel = &job->cancel,
        .prefetch_words = (uint64_t)1 << 22,
        /* A long round of products streams its triples (docs/engine.md, "Streamed rounds"):
         * memory bounded by slices and chunks, the online phase beside the making. */
        .stream_chunk = MPC_PREP_STREAM_CHUNK,
    };
    e = mpc_engine_new(run, me, view, prep, &opts);
    if (!e) {
        rc = MPC_ERR_NOMEM;
        snprintf(reason, rlen, "cannot start the engine");
        mpcd_run_abort_parties(view, r, me, rc);
        goto out;
    }
    rc = mpc_engine_run(e, in, reason, rlen);
    if (rc != 0) {
        mpc_engine_stats fst;
        mpc_engine_stats_get(e, &fst);
        blame[0] = fst.lost != MPC_ABORT_NO_PARTY ? me : fst.abort_from;
        blame[1] = fst.lost != MPC_ABORT_NO_PARTY ? fst.lost : fst.abort_lost;
        /* The dealer's ABORT, on the preprocessing stream, names the party it lost (a
         * frozen party stops asking the dealer before its peers' heartbeats notice). */
        uint32_t from, lost;
        if (blame[1] == MPC_ABORT_NO_PARTY &&
            mpc_transport_abort_info(view, r->stream | MPC_STREAM_PREP_BIT, &from, &lost) && lost != MPC_ABORT_NO_PARTY) {
            blame[0] = from;
            blame[1] = lost;
        }
        goto out;
    }
    uint64_t **outs = s_copy_outputs(c, e);
    if (!outs) {
        rc = MPC_ERR_NOMEM;
        goto out;
    }
    if (wh) {
        rc = mpcd_release_open(view, r->n, me, r->stream, w->peer_timeout_ms, c, sup, has_pass, e, job->agreed_rows, outs, wh, reason, rlen);
        if (rc != 0) {
            for (uint32_t q = 0; q < c->n_outputs; q++) {
                sodium_memzero(outs[q], (size_t)c->outputs[q].len * sizeof(uint64_t));
                free(outs[q]);
            }
            free(outs);
            mpcd_run_abort_parties(view, r, me, rc);
            goto out;
        }
    }
    mpc_engine_stats st;
    mpc_engine_stats_get(e, &st);
    mpcd_metrics_engine(st.rounds, st.triples);
    {
        char hex[MPC_CWIRE_JOB_HEX + 1];
        mpc_cwire_job_hex(r->id, hex);
        /* tests and bench/run parse this line: new fields go at its end */
        mpcd_info(hex, "engine: %u rounds, %llu triples, %llu squares, %llu ms in all, %llu ms waiting for "
                  "preprocessing, %llu bytes sent, %u rounds streamed, %u parts run apart", (unsigned)st.rounds,
                  (unsigned long long)st.triples, (unsigned long long)st.squares, (unsigned long long)(st.run_us / 1000),
                  (unsigned long long)(st.prep_us / 1000), (unsigned long long)(st.bytes_sent + pview->bytes_sent),
                  (unsigned)st.streamed, (unsigned)st.apart_parts);
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
    mpc_transport_destroy(&pview);
    mpcd_ds_free_vals(c, stored);
    free(stored);
    free(in);
    mpcd_release_withheld_free(c, wh);
    free(has_pass);
    mpc_support_free(&sup, c->n_outputs);
    mpc_circ_destroy(&relc);
    return rc;
}

