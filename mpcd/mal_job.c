/* mal_job.c — a job under `security = malicious` (mal_job.h, docs/security.md). */
#include "mal_job.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth_ot.h"
#include "clock.h"
#include "contrib.h"
#include "engine.h"
#include "engine_mal.h"
#include "fault.h"
#include "log.h"
#include "metrics.h"
#include "mpc_err.h"
#include "prg.h"

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
    if (c->n_dp) {
        snprintf(err, errlen, "DP noise (dp_* outputs) is not supported with security = malicious yet");
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

/* Appends input "<tag><index>.p<party>" of `party`; its wire or MPC_NO_WIRE. */
static uint32_t s_add_input(mpc_circuit *m, mpcd_mal_input *map, char tag, uint32_t index, uint32_t party,
                            const mpc_gate *g)
{
    char name[MPC_NAME_MAX];
    snprintf(name, sizeof name, "%c%u.p%u", tag, (unsigned)index, (unsigned)party);
    map[m->n_inputs] = (mpcd_mal_input){.index = index, .party = party};
    return mpc_circ_add_input(m, name, party, (mpc_type)g->type, g->len, g->line, g->col);
}

/* Gate g of c into m (wm: c's wires to m's); 0 or -1. */
static int s_copy_gate(const mpc_circuit *c, mpc_circuit *m, uint32_t g, uint32_t *wm, mpcd_mal_input *map)
{
    const mpc_gate *G = &c->gates[g];
    const uint32_t n = c->n_parties;
    uint32_t x = MPC_NO_WIRE;
    if (G->kind == MPC_G_INPUT) {
        for (uint32_t p = 0; p < n; p++) {
            uint32_t s = s_add_input(m, map, 'k', (uint32_t)G->aux[0], p, G);
            if (s == MPC_NO_WIRE) return -1;
            x = p == 0 ? s : mpc_circ_add_gate(m, MPC_G_ADD, (mpc_type)G->type, G->len, x, s, MPC_NO_WIRE, 0, 0,
                                               G->line, G->col);
            if (x == MPC_NO_WIRE) return -1;
        }
    } else if (G->kind == MPC_G_CONST) {
        x = mpc_circ_add_const(m, (mpc_type)G->type, c->consts + G->aux[0], G->len, G->line, G->col);
    } else if (G->kind == MPC_G_OUTPUT) {
        uint32_t o = (uint32_t)G->aux[0];
        if (mpc_circ_add_output(m, c->outputs[o].name, wm[G->in[0]], c->outputs[o].recipients, G->line, G->col) < 0)
            return -1;
        x = m->n_gates - 1;
    } else {
        uint32_t in[3];
        for (int k = 0; k < 3; k++) in[k] = G->in[k] == MPC_NO_WIRE ? MPC_NO_WIRE : wm[G->in[k]];
        x = mpc_circ_add_gate(m, (mpc_gate_kind)G->kind, (mpc_type)G->type, G->len, in[0], in[1], in[2], G->aux[0],
                              G->aux[1], G->line, G->col);
    }
    wm[g] = x;
    return x == MPC_NO_WIRE ? -1 : 0;
}

mpc_circuit *mpcd_mal_circuit(const mpc_circuit *c, mpcd_mal_input **map, char *err, size_t errlen)
{
    const uint32_t n = c->n_parties;
    size_t entries = (size_t)c->n_inputs * n;
    *map = calloc(entries ? entries : 1, sizeof **map);
    uint32_t *wm = calloc(c->n_gates ? c->n_gates : 1, sizeof *wm);
    mpc_circuit *m = mpc_circ_new_like(c);
    int rc = !*map || !wm || !m ? -1 : 0;
    for (uint32_t g = 0; g < c->n_gates && rc == 0; g++) rc = s_copy_gate(c, m, g, wm, *map);
    free(wm);
    if (rc != 0) {
        snprintf(err, errlen, "out of memory rewriting the circuit for security = malicious");
    } else if (mpc_circ_finish(m, err, errlen) != 0) {
        rc = -1;
    }
    if (rc != 0) {
        mpc_circ_destroy(&m);
        free(*map);
        *map = NULL;
    }
    return m;
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

static void s_free_words(uint64_t **v, uint32_t count, const mpc_circuit *c, int outputs)
{
    if (!v) return;
    for (uint32_t i = 0; i < count; i++) {
        if (!v[i]) continue;
        uint64_t len = outputs ? c->outputs[i].len * MPCD_MAL_OUT_WORDS : c->inputs[i].len;
        sodium_memzero(v[i], (size_t)len * sizeof(uint64_t));
        free(v[i]);
    }
    free(v);
}

/* This party's inputs of the rewritten circuit m: its share of each client input (expanded
 * from the client's seed if that is how it came).  bufs holds what was allocated. */
static int s_inputs(const mpcd_job *job, const mpc_circuit *m, const mpcd_mal_input *map, uint32_t me,
                    const uint64_t **in, uint64_t **bufs, char *reason, size_t rlen)
{
    const mpc_circuit *c = job->circ;
    for (uint32_t i = 0; i < m->n_inputs; i++) {
        if (m->inputs[i].party != me) continue;
        uint64_t len = m->inputs[i].len;
        const mpcd_mal_input *mi = &map[i];
        const mpcd_job_input *ji = &job->inputs[mi->index];
        const char *name = c->inputs[mi->index].name;
        if (ji->mode == MPC_IN_SHARE && ji->share) {
            in[i] = ji->share;
        } else if (ji->mode == MPC_IN_SEED && ji->seed) {
            if (!(bufs[i] = malloc((size_t)len * sizeof(uint64_t)))) goto nomem;
            if (mpc_prg_expand(bufs[i], len, ji->seed, MPC_PRG_STREAM(MPC_PRG_D_CLIENT, mi->index), 0) != 0) {
                snprintf(reason, rlen, "input '%s': cannot expand its seed", name);
                return MPC_ERR_INPUT;
            }
            in[i] = bufs[i];
        } else {
            snprintf(reason, rlen, "input '%s': a stored share is not supported with security = malicious yet", name);
            return MPC_ERR_UNSUPPORTED;
        }
    }
    return 0;
nomem:
    snprintf(reason, rlen, "out of memory for the inputs");
    return MPC_ERR_NOMEM;
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
    mpcd_mal_input *map = NULL;
    mpc_circuit *m = NULL;
    mpc_auth_src *src = NULL;
    mpc_mal_engine *e = NULL;
    const uint64_t **in = NULL;
    uint64_t **bufs = NULL, **outs = NULL;
    int rc = mpcd_mal_admit(c, reason, rlen);
    mpc_fault_load();   /* test builds only (protocols/fault.h); nothing in the release daemon */
    if (rc == 0 && (job->agreed_rows || job->agreed_contrib)) {
        rc = MPC_ERR_UNSUPPORTED;
        snprintf(reason, rlen, "release rules (min_rows, min_contributors) are not supported with security = "
                 "malicious yet");
    }
    if (rc == 0 && !(m = mpcd_mal_circuit(c, &map, reason, rlen))) rc = MPC_ERR_NOMEM;
    if (rc) goto fail;
    in = calloc(m->n_inputs ? m->n_inputs : 1, sizeof *in);
    bufs = calloc(m->n_inputs ? m->n_inputs : 1, sizeof *bufs);
    outs = calloc(c->n_outputs ? c->n_outputs : 1, sizeof *outs);
    if (!in || !bufs || !outs) {
        rc = MPC_ERR_NOMEM;
        snprintf(reason, rlen, "out of memory");
        goto fail;
    }
    if ((rc = s_inputs(job, m, map, me, in, bufs, reason, rlen))) goto fail;
    /* The job's material: fresh base OTs and authenticated triples on the job's prep stream. */
    mpc_auth_ot_opts ao = {.timeout_ms = w->peer_timeout_ms};
    if (!(src = mpc_auth_ot_new(view, me, n, stream | MPC_STREAM_PREP_BIT, &ao))) {
        rc = MPC_ERR_PREP;
        snprintf(reason, rlen, "cannot start the authenticated material source");
        goto fail;
    }
    mpc_circ_stats cs;
    mpc_circ_stats_get(m, &cs);
    mpcd_jobs_lock(w->jobs);
    job->prep_needed = cs.triples + cs.squares;   /* a square takes a triple here */
    job->prep_made = 0;
    job->prep_started_ms = mpc_now_ms();
    mpcd_jobs_unlock(w->jobs);
    int64_t jt = atomic_load(&w->job_timeout_ms);
    s_prog pc = {w->jobs, job, 0};
    mpc_mal_opts opts = {
        .stream = stream,
        .timeout_ms = w->peer_timeout_ms,
        .cancel = &job->cancel,
        .deadline_ms = jt > 0 ? mpc_now_ms() + (uint64_t)jt : 0,
        .progress = s_progress,
        .progress_ctx = &pc,
        .checked_outputs = 1,   /* every output goes to clients, checked by them (mal_job.h) */
    };
    if (!(e = mpc_mal_engine_new(m, me, view, src, &opts))) {
        rc = MPC_ERR_NOMEM;
        snprintf(reason, rlen, "cannot start the engine");
        goto fail;
    }
    if ((rc = mpc_mal_run(e, in, reason, rlen))) {
        s_fail_reason(src, reason, rlen);
        /* The engine told the peers on the job's stream; a peer inside the material source
         * waits on the prep stream: tell it there too, so it does not wait for its timeout. */
        s_abort_peers(view, n, me, stream | MPC_STREAM_PREP_BIT, rc);
        goto out;
    }
    for (uint32_t o = 0; o < c->n_outputs; o++) {
        size_t bytes = (size_t)c->outputs[o].len * MPCD_MAL_OUT_WORDS * sizeof(uint64_t);
        const mpc_u128 *v = mpc_mal_checked_output(e, o);
        if (!v || !(outs[o] = malloc(bytes ? bytes : 1))) {
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
    for (uint32_t o = 0; o < c->n_outputs; o++) {   /* test builds: a corrupt share of x' for clients */
        mpc_u128 *x = (mpc_u128 *)(void *)outs[o];
        (void)mpc_fault_u128(MPC_FAULT_OUTPUT, MPC_FAULT_AT_OUTPUT, o, x, c->outputs[o].len, 1);
    }
    mpcd_jobs_lock(w->jobs);
    job->out_shares = outs;   /* released only now: the final MAC check passed */
    job->out_checked = 1;
    outs = NULL;
    job->withheld = NULL;
    job->rounds_done = st.rounds;
    job->triples_used = st.triples;
    mpcd_jobs_unlock(w->jobs);
    goto out;
fail:
    s_abort_peers(view, n, me, stream, rc);
out:
    mpc_mal_engine_destroy(&e);
    mpc_auth_src_destroy(&src);
    if (m) s_free_words(bufs, m->n_inputs, m, 0);
    else free(bufs);
    s_free_words(outs, c->n_outputs, c, 1);
    free(in);
    free(map);
    mpc_circ_destroy(&m);
    return rc;
}
