/* mal_job.c — a job under `security = malicious` (mal_job.h, docs/security.md). */
#include "mal_job.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth_ot.h"
#include "clock.h"
#include "contrib.h"
#include "cwire.h"
#include "engine.h"
#include "engine_mal.h"
#include "fault.h"
#include "log.h"
#include "metrics.h"
#include "release_job.h"
#include "mpc_err.h"
#include "vcheck.h"

int mpcd_mal_admit(const mpc_circuit *c, char *err, size_t errlen)
{
    if (c->n_parties > MPC_MAX_PARTIES_AUTH) {
        snprintf(err, errlen, "programs of more than %u parties are not supported with security = malicious",
                 (unsigned)MPC_MAX_PARTIES_AUTH);
        return MPC_ERR_UNSUPPORTED;
    }
    if (c->n_joins) {
        snprintf(err, errlen, "private joins are not supported with security = malicious yet");
        return MPC_ERR_UNSUPPORTED;
    }
    for (uint32_t k = 0; k < c->n_inputs; k++)
        if (mpc_contrib_input_of(c->inputs[k].name)) {
            snprintf(err, errlen, "contributor inputs (input %s, line %u) are not supported with security = "
                     "malicious yet", c->inputs[k].name, (unsigned)c->inputs[k].line);
            return MPC_ERR_UNSUPPORTED;
        }
    /* The features first: a join's or a DP output's gates are the compiler's, not the author's. */
    return mpc_mal_supported(c, err, errlen);
}

/* ---- the run ---- */

typedef struct {
    mpcd_jobs *jobs;
    mpcd_job  *job;
    uint64_t   noted;   /* triples already counted in the metrics */
} s_prog;

/* The engine's progress after every layer: rounds, and the material made for it so far (the
 * source makes each layer's triples when the layer needs them: made = consumed). */
static void s_progress(void *ctx, uint32_t rounds_done, uint64_t triples)
{
    s_prog *pc = ctx;
    mpcd_jobs_lock(pc->jobs);
    pc->job->rounds_done = rounds_done;
    pc->job->triples_used = triples;
    pc->job->prep_made = triples;
    mpcd_jobs_unlock(pc->jobs);
    if (triples > pc->noted) mpcd_metrics_triples_made(0, triples - pc->noted);
    pc->noted = triples;
}

static void s_abort_peers(mpc_transport *view, uint32_t n, uint32_t me, uint64_t stream, int code)
{
    for (uint32_t p = 0; p < n; p++)
        if (p != me) (void)mpc_send_abort(view, p, stream, code, MPC_ABORT_NO_PARTY);
}

/* The output records not handed to the job (a failure after the run). */
static void s_free_records(uint64_t **v, const mpc_circuit *c)
{
    if (!v) return;
    for (uint32_t i = 0; i < c->n_outputs; i++) {
        if (!v[i]) continue;
        sodium_memzero(v[i], mpc_vcheck_record_bytes(c->outputs[i].len, c->n_parties));
        free(v[i]);
    }
    free(v);
}

/* The client inputs (mal_job.h): every input must have been claimed by a client (MASK). */
static int s_inputs_claimed(const mpcd_job *job, char *reason, size_t rlen)
{
    const mpc_circuit *c = job->circ;
    for (uint32_t k = 0; k < c->n_inputs; k++)
        if (!job->inputs[k].present || job->inputs[k].mode != MPCD_IN_AUTH) {
            snprintf(reason, rlen, "input '%s': not given as an authenticated input (security = malicious)",
                     c->inputs[k].name);
            return MPC_ERR_INPUT;
        }
    return 0;
}

typedef struct {
    mpcd_worker *w;
    mpcd_job    *job;
    uint64_t     deadline_ms;   /* the job's (0: none) */
} s_cin;

/* mpc_mal_opts.client_input: posts this party's record of every input's masks for its client
 * (vcheck.h; answered to MASK), then waits for every client's x − r (INPUT, mode MASKED) at
 * most input_timeout_ms from now, or to the job's deadline, or until a cancel. */
static int s_client_input(void *ctx, const uint8_t *const *rec, const uint64_t **delta, char *err, size_t errlen)
{
    s_cin *ci = ctx;
    mpcd_job *job = ci->job;
    const mpc_circuit *c = job->circ;
    int r = 0;
    mpcd_jobs_lock(ci->w->jobs);
    for (uint32_t k = 0; k < c->n_inputs && !r; k++) {
        size_t bytes = mpcd_job_mask_bytes(job, k);
        mpcd_job_input *in = &job->inputs[k];
        if (!bytes || !(in->mask = malloc(bytes))) {
            r = MPC_ERR_NOMEM;
            snprintf(err, errlen, "out of memory for the client inputs");
        } else {
            memcpy(in->mask, rec[k], bytes);
        }
    }
    mpcd_jobs_notify(ci->w->jobs);   /* held MASK requests are answered now */
    int64_t it = atomic_load(&ci->w->input_timeout_ms);
    uint64_t wait = it > 0 ? (uint64_t)it : 60000, dl = mpc_now_ms() + wait;
    if (ci->deadline_ms && ci->deadline_ms < dl) dl = ci->deadline_ms;
    while (!r) {
        uint32_t k = 0;
        while (k < c->n_inputs && job->inputs[k].masked) k++;
        if (k == c->n_inputs) break;
        if (atomic_load(&job->cancel)) {
            r = MPC_ERR_CANCELLED;
            snprintf(err, errlen, "cancelled while waiting for the client inputs");
        } else if (mpc_now_ms() >= dl) {
            r = MPC_ERR_TIMEOUT;
            snprintf(err, errlen, "input '%s': client %s did not send its masked input within %llu ms",
                     c->inputs[k].name, job->inputs[k].giver, (unsigned long long)wait);
        } else {
            (void)mpcd_jobs_wait(ci->w->jobs, dl);
        }
    }
    for (uint32_t k = 0; k < c->n_inputs; k++) {
        if (!r) delta[k] = job->inputs[k].share;   /* kept until the worker wipes the inputs */
        mpcd_job_wipe_mask(job, k);
    }
    mpcd_jobs_unlock(ci->w->jobs);
    return r;
}

/* ---- release rules (docs/governance.md, "Release rules") ----
 * As in the semi-honest path (execute.c) the rule is applied to what the engine computed, but
 * the engine always runs: the clients' authenticated inputs wait for its material.  With too
 * few contributors every output is withheld; with min_rows the engine runs the release
 * circuit, whose pass bits it opens to the parties under the MAC check
 * (mpc_mal_opts.open_from) before the job's outputs, which stay checked outputs for clients.
 * The rule is applied in the engine's release callback (s_release_apply), after the pass bits
 * are opened and before the client outputs' vector check: the engine zeroes the withheld
 * elements, so their records carry zero shares (which the client's check accepts). */
typedef struct {
    int              short_contrib;   /* fewer contributors than agreed: withhold everything */
    mpc_circuit     *relc;            /* the release circuit, with min_rows */
    mpc_support_vec *sup;
    uint8_t         *has_pass;
    uint8_t        **wh;
    const mpc_circuit *c;             /* the job's program */
    uint64_t         min_rows;
} s_release;

static int s_release_setup(const mpcd_job *job, s_release *rl, char *reason, size_t rlen)
{
    const mpc_circuit *c = job->circ;
    rl->c = c;
    rl->min_rows = job->agreed_rows;
    rl->short_contrib = job->agreed_contrib > job->contributors;
    if (!rl->short_contrib && !job->agreed_rows) return 0;
    rl->wh = mpcd_release_withheld_new(c);
    rl->has_pass = calloc(c->n_outputs ? c->n_outputs : 1, 1);
    char err[256] = "out of memory";
    if (!rl->wh || !rl->has_pass ||
        (!rl->short_contrib && (mpc_circ_support(c, &rl->sup) != 0 ||
                                mpc_release_circuit(c, rl->sup, job->agreed_rows, &rl->relc, rl->has_pass, err,
                                                    sizeof err) != 0))) {
        snprintf(reason, rlen, "cannot build the release check: %.180s", err);
        return MPC_ERR_NOMEM;
    }
    return 0;
}

/* mpc_mal_opts.release (ctx: the s_release), the same on every party: fills the job's
 * withheld maps (rl->wh, why each element is withheld) and the engine's (withheld[o][i] = 1:
 * zero in the check and in the record).  0, or MPC_ERR_PROTOCOL when a pass bit is not a bit
 * (which the MAC check on the pass bits makes impossible): the run fails everywhere alike. */
static int s_release_apply(void *ctx, const mpc_mal_engine *e, uint8_t *const *withheld, char *reason, size_t rlen)
{
    s_release *rl = ctx;
    const mpc_circuit *c = rl->c;
    for (uint32_t o = 0, extra = c->n_outputs; rl->wh && o < c->n_outputs; o++) {
        uint64_t L = c->outputs[o].len;
        if (rl->short_contrib) {
            memset(rl->wh[o], MPCD_WITHHELD_CONTRIB, L);
        } else {
            const uint64_t *bits = rl->has_pass[o] ? mpc_mal_output(e, extra++) : NULL;
            for (uint64_t i = 0; bits && i < L; i++)
                if (bits[i] > 1) {
                    snprintf(reason, rlen, "the release check of output '%s' opened a value that is not a bit",
                             c->outputs[o].name);
                    return MPC_ERR_PROTOCOL;
                }
            mpcd_release_decide(&rl->sup[o], bits, rl->min_rows, rl->wh[o]);
        }
        for (uint64_t i = 0; i < L; i++) withheld[o][i] = rl->wh[o][i] != 0;
    }
    return 0;
}

static void s_release_free(const mpc_circuit *c, s_release *rl)
{
    mpcd_release_withheld_free(c, rl->wh);
    free(rl->has_pass);
    mpc_support_free(&rl->sup, c->n_outputs);
    mpc_circ_destroy(&rl->relc);
}

/* The reason of a failed run: the engine's, with the material source's cause if it has one. */
static void s_fail_reason(mpc_auth_src *src, char *reason, size_t rlen)
{
    const char *why = src ? mpc_auth_ot_error(src) : "";
    size_t len = strlen(reason);
    if (why[0] && !strstr(reason, why) && len + 8 < rlen) snprintf(reason + len, rlen - len, " (%s)", why);
}

static void s_log_done(const char *hex, const mpc_mal_stats *st, const mpc_auth_ot_stats *ot)
{
    mpcd_info(hex, "engine (security = malicious): %u rounds, %llu triples, %llu masks, %llu values opened, "
              "%llu MAC checks passed, %llu ms in all, %llu ms making material, %llu ms in MAC checks, "
              "%llu bytes sent for material, %llu for openings", (unsigned)st->rounds,
              (unsigned long long)st->triples, (unsigned long long)st->masks, (unsigned long long)st->opened,
              (unsigned long long)st->checks, (unsigned long long)(st->run_us / 1000),
              (unsigned long long)(st->prep_us / 1000), (unsigned long long)(st->check_us / 1000),
              (unsigned long long)ot->bytes_sent, (unsigned long long)st->open_bytes_sent);
}

int mpcd_mal_execute(mpcd_worker *w, mpcd_job *job, mpc_transport *view, uint64_t stream, uint32_t me, uint32_t n,
                     const char *hex, char *reason, size_t rlen)
{
    const mpc_circuit *c = job->circ;
    mpc_auth_src *src = NULL;
    mpc_mal_engine *e = NULL;
    uint64_t **outs = NULL;
    s_release rl = {0};
    int rc = mpcd_mal_admit(c, reason, rlen);
    if (rc == 0 && n != c->n_parties) {   /* the records are sized by the program's parties (jobs.c) */
        rc = MPC_ERR_INVALID;
        snprintf(reason, rlen, "the job's view has %u parties, its program %u", (unsigned)n, (unsigned)c->n_parties);
    }
    mpc_fault_load();   /* test builds only (protocols/fault.h); nothing in the release daemon */
    if (rc == 0) rc = s_release_setup(job, &rl, reason, rlen);
    const mpc_circuit *run = rl.relc ? rl.relc : c;
    if (rc == 0) {
        mpcd_jobs_lock(w->jobs);
        rc = s_inputs_claimed(job, reason, rlen);
        mpcd_jobs_unlock(w->jobs);
    }
    if (rc) goto fail;
    if (!(outs = calloc(c->n_outputs ? c->n_outputs : 1, sizeof *outs))) {
        rc = MPC_ERR_NOMEM;
        snprintf(reason, rlen, "out of memory");
        goto fail;
    }
    /* The job's material: fresh base OTs and authenticated triples on the job's prep stream. */
    mpc_auth_ot_opts ao = {.timeout_ms = w->peer_timeout_ms};
    if (!(src = mpc_auth_ot_new(view, me, n, stream | MPC_STREAM_PREP_BIT, &ao))) {
        rc = MPC_ERR_PREP;
        snprintf(reason, rlen, "cannot start the authenticated material source");
        goto fail;
    }
    mpc_circ_stats cs;
    mpc_circ_stats_get(run, &cs);
    mpcd_jobs_lock(w->jobs);
    /* triples: a square takes one here, a noise coin n (a random bit).  Client inputs and
     * checked outputs take none: their vector checks (vcheck.h) take masks only (n per input
     * element, n·D pads per input and per output), which this count does not cover. */
    job->prep_needed = cs.triples + cs.squares + cs.noise_dabits * n;
    job->prep_made = 0;
    job->prep_started_ms = mpc_now_ms();
    mpcd_jobs_unlock(w->jobs);
    int64_t jt = atomic_load(&w->job_timeout_ms);
    s_prog pc = {w->jobs, job, 0};
    s_cin ci = {w, job, jt > 0 ? mpc_now_ms() + (uint64_t)jt : 0};
    mpc_mal_opts opts = {
        .stream = stream,
        .timeout_ms = w->peer_timeout_ms,
        .cancel = &job->cancel,
        .deadline_ms = ci.deadline_ms,
        .progress = s_progress,
        .progress_ctx = &pc,
        .checked_outputs = 1,   /* every output goes to clients, checked by them (mal_job.h) */
        .open_from = rl.relc ? c->n_outputs : 0,   /* the release check's pass bits: to the parties */
        .client_input = s_client_input,   /* every input comes from a client, authenticated (mal_job.h) */
        .client_ctx = &ci,
        .release = rl.wh ? s_release_apply : NULL,   /* the release rules, before the outputs' check */
        .release_ctx = &rl,
    };
    if (!(e = mpc_mal_engine_new(run, me, view, src, &opts))) {
        rc = MPC_ERR_NOMEM;
        snprintf(reason, rlen, "cannot start the engine");
        goto fail;
    }
    if ((rc = mpc_mal_run(e, NULL, reason, rlen))) {
        s_fail_reason(src, reason, rlen);
        /* The engine told the peers on the job's stream; a peer inside the material source
         * waits on the prep stream: tell it there too, so it does not wait for its timeout. */
        s_abort_peers(view, n, me, stream | MPC_STREAM_PREP_BIT, rc);
        goto out;
    }
    for (uint32_t o = 0; o < c->n_outputs; o++) {   /* the records (withheld elements zero) */
        size_t bytes = mpc_vcheck_record_bytes(c->outputs[o].len, c->n_parties);
        const uint8_t *v = mpc_mal_checked_output(e, o);
        if (!v || !bytes || !(outs[o] = malloc(bytes))) {
            rc = MPC_ERR_NOMEM;   /* the peers finished: the job fails here only */
            snprintf(reason, rlen, "out of memory for the outputs");
            goto out;
        }
        memcpy(outs[o], v, bytes);
    }
    mpc_mal_stats st;
    mpc_auth_ot_stats ot;
    mpc_mal_stats_get(e, &st);
    memset(&ot, 0, sizeof ot);
    (void)mpc_auth_ot_stats_get(src, &ot);
    s_progress(&pc, st.rounds, st.triples);
    mpcd_metrics_engine(st.rounds, st.triples);
    s_log_done(hex, &st, &ot);
    mpcd_jobs_lock(w->jobs);
    job->out_shares = outs;   /* released only now: the final MAC check passed */
    job->out_checked = 1;
    outs = NULL;
    job->withheld = rl.wh;   /* NULL without release rules */
    rl.wh = NULL;
    job->rounds_done = st.rounds;
    job->triples_used = st.triples;
    mpcd_jobs_unlock(w->jobs);
    goto out;
fail:
    s_abort_peers(view, n, me, stream, rc);
out:
    mpc_mal_engine_destroy(&e);
    mpc_auth_src_destroy(&src);
    s_free_records(outs, c);
    s_release_free(c, &rl);
    return rc;
}
