/* handlers.c — client requests: rights, policy and limits are checked here, before anything
 * is stored (handlers.h). */
#include "handlers.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "approve.h"
#include "contrib.h"
#include "contrib_daemon.h"
#include "mal_job.h"
#include "budget.h"
#include "dp.h"
#include "dshandlers.h"
#include "join_job.h"
#include "joindecl.h"
#include "engine.h"
#include "format.h"
#include "log.h"
#include "clock.h"
#include "mpc_err.h"

static void s_error(const mpcd_config *cfg, mpc_cwire_rep *rep, const char *job_hex, int code,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void s_error(const mpcd_config *cfg, mpc_cwire_rep *rep, const char *job_hex, int code,
                    const char *fmt, ...)
{
    rep->type = MPC_CW_ERROR;
    rep->code = code;
    char cause[MPC_CWIRE_MSG_MAX - 128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cause, sizeof cause, fmt, ap);
    va_end(ap);
    if (job_hex)
        snprintf(rep->msg, sizeof rep->msg, "party %s, job %s: %s", cfg->name, job_hex, cause);
    else
        snprintf(rep->msg, sizeof rep->msg, "party %s: %s", cfg->name, cause);
    mpcd_info(job_hex, "refused a request: %s", cause);
}

static const mpcd_client_conf *s_client(const mpcd_config *cfg, const char *name)
{
    for (uint32_t i = 0; i < cfg->n_clients; i++)
        if (!strcmp(cfg->clients[i].name, name)) return &cfg->clients[i];
    return NULL;
}

static int s_party_index(const mpcd_config *cfg, const char *name)
{
    for (uint32_t i = 0; i < cfg->n_parties; i++)
        if (!strcmp(cfg->parties[i].name, name)) return (int)i;
    return -1;
}

static int s_allowed(const mpcd_config *cfg, const uint8_t hash[32])
{
    if (cfg->allow_any_program) return 1;
    for (uint32_t i = 0; i < cfg->n_allowed; i++)
        if (sodium_memcmp(cfg->allowed[i], hash, 32) == 0) return 1;
    return 0;
}

/* Privacy budgets (docs/governance.md, "Privacy budget"): the job's spend, the sum of ε (and
 * of δ) over its DP outputs, reserved against every budget that covers it on this party,
 * before the job exists.  0, or an error code with the refusal in why (no value in it). */
static int s_budget_reserve(const mpcd_config *cfg, const mpc_circuit *c, const uint8_t hash[32],
                            const mpc_cwire_req *req, double *eps, double *delta, char *why, size_t wl,
                            char *note, size_t notelen)
{
    mpcd_budget_ask asks[MPCD_BUDGET_MAX_ASKS];
    uint32_t n = mpcd_dp_budgets(cfg, c, hash, req->bind, req->n_bind, asks, MPCD_BUDGET_MAX_ASKS);
    *eps = *delta = 0;
    if (!n) return 0;
    for (uint32_t o = 0; o < c->n_outputs; o++) {
        const mpc_dp_output *r = mpc_circ_output_dp(c, o);
        if (!r) {
            snprintf(why, wl, "the privacy budget of %s admits only differentially private outputs: output '%s' "
                     "is not (it would release exact values)", asks[0].key, c->outputs[o].name);
            return MPC_ERR_DENIED;
        }
        *eps += r->eps;
        *delta += r->delta;
    }
    mpcd_ledger *l = mpcd_ledger_global();
    if (!l) {
        snprintf(why, wl, "a privacy budget covers the job (%s) but this party keeps no ledger (dp_budget needs "
                 "state_dir)", asks[0].key);
        return MPC_ERR_DENIED;
    }
    int rc = mpcd_ledger_reserve(l, req->job, asks, n, *eps, *delta, why, wl);
    if (rc) return rc;
    /* What is left of each budget after this job: the audit record's and the log's note. */
    size_t k = 0;
    note[0] = 0;
    for (uint32_t i = 0; i < n && k < notelen; i++) {
        double se, sd;
        mpcd_ledger_spent(l, asks[i].key, asks[i].period, &se, &sd);
        double left = asks[i].budget > se ? asks[i].budget - se : 0;
        k += (size_t)snprintf(note + k, notelen - k, "%s%s: %.6g of %.6g left %s", i ? "; " : "", asks[i].key, left,
                              asks[i].budget, asks[i].period == MPCD_PERIOD_DAY ? "today" : "in total");
    }
    return 0;
}

/* Inputs read from stored datasets (docs/datasets.md): checked before the job exists, handed to
 * it once added.  *dsin: NULL when none (or after an error, then reported in rep: nonzero). */
static int s_ds_inputs(const mpcd_config *cfg, const mpc_circuit *c, const uint8_t hash[32], const uint32_t *binding,
                       const mpc_circ_limits *lim, const char *hex, mpc_cwire_rep *rep, mpcd_job_input **dsin,
                       uint32_t *n_ds, uint64_t *ds_ms)
{
    char why[512];
    *dsin = calloc(c->n_inputs ? c->n_inputs : 1, sizeof **dsin);
    if (!*dsin) {
        s_error(cfg, rep, hex, MPC_ERR_NOMEM, "out of memory");
        return -1;
    }
    uint64_t t0 = mpc_now_ms();
    int drc = mpcd_ds_job_inputs(cfg, c, hash, binding, lim, *dsin, n_ds, why, sizeof why);
    *ds_ms = mpc_now_ms() - t0;
    if (drc || !*n_ds) {
        free(*dsin);
        *dsin = NULL;
    }
    if (drc) {
        s_error(cfg, rep, hex, drc, "%s", why);
        return -1;
    }
    return 0;
}

static void s_submit(const mpcd_config *cfg, mpcd_jobs *jobs, const mpcd_client_conf *cl,
                     const mpc_cwire_req *req, const char *hex, mpc_cwire_rep *rep)
{
    if (!cl->may_submit) {
        s_error(cfg, rep, hex, MPC_ERR_DENIED, "client '%s' may not submit programs", cl->name);
        return;
    }
    mpc_circ_limits lim = {
        .max_gates = (uint64_t)cfg->max_gates,
        .max_vector = (uint64_t)cfg->max_vector,
        .max_total = (uint64_t)cfg->max_total_elements,
        .max_consts = 0,
    };
    char err[256];
    mpc_circuit *c = NULL;
    if (mpc_circ_read(req->circ, req->circ_len, &lim, &c, err, sizeof err) != 0) {
        s_error(cfg, rep, hex, MPC_ERR_CIRCUIT, "circuit refused: %s", err);
        return;
    }
    if (cfg->strict && mpc_circ_strict_check(c, err, sizeof err) != 0) {
        s_error(cfg, rep, hex, MPC_ERR_DENIED, "circuit refused by the strict policy: %s", err);
        goto out;
    }
    mpc_circ_stats st;
    mpc_circ_stats_get(c, &st);
    if (st.total_wire_elems > (uint64_t)cfg->max_job_bytes / 8) {
        s_error(cfg, rep, hex, MPC_ERR_LIMIT, "circuit refused: its wires hold %llu elements (%llu bytes), more "
                "than this party's limit of %lld bytes per job (max_job_bytes)", (unsigned long long)st.total_wire_elems,
                (unsigned long long)st.total_wire_elems * 8, (long long)cfg->max_job_bytes);
        goto out;
    }
    uint8_t hash[32];
    uint32_t binding[MPC_MAX_PARTIES];
    uint32_t me = UINT32_MAX;
    if (mpc_circ_hash(c, hash) != 0) {
        s_error(cfg, rep, hex, MPC_ERR_NOMEM, "cannot hash the circuit");
        goto out;
    }
    /* Admission (approve.h): a listed circuit hash here, at once; an approved program after
     * the binding is known (it is part of the approval). */
    int listed = s_allowed(cfg, hash);
    if (!listed && (!c->program || cfg->n_approvals == 0)) {
        char why[400];
        (void)mpcd_admit(cfg, c, hash, req->bind, req->n_bind, &lim, why, sizeof why);
        s_error(cfg, rep, hex, MPC_ERR_DENIED, "%s", why);
        goto out;
    }
    if (mpc_engine_supported(c, err, sizeof err) != 0) {
        s_error(cfg, rep, hex, MPC_ERR_UNSUPPORTED, "%s", err);
        goto out;
    }
    /* What the malicious path does not run yet is refused now, by name (mpcd/mal_job.h). */
    if (cfg->security == MPCD_SEC_MALICIOUS && mpcd_mal_admit(c, err, sizeof err) != 0) {
        s_error(cfg, rep, hex, MPC_ERR_UNSUPPORTED, "%s", err);
        goto out;
    }
    /* Contributor inputs (docs/contributions.md) are given by the daemons from their
     * collections (contrib_daemon.c); a daemon without a token key serves none. */
    int crc = mpcd_contrib_check(c, 0, err, sizeof err);
    if (crc) {
        s_error(cfg, rep, hex, crc, "%s", err);
        goto out;
    }
    if (req->n_bind != c->n_parties) {
        s_error(cfg, rep, hex, MPC_ERR_INVALID, "the binding names %u daemons but the program has %u parties",
                (unsigned)req->n_bind, (unsigned)c->n_parties);
        goto out;
    }
    for (uint32_t p = 0; p < req->n_bind; p++) {
        int idx = s_party_index(cfg, req->bind[p]);
        if (idx < 0) {
            s_error(cfg, rep, hex, MPC_ERR_INVALID, "the binding names '%s', which is not a configured party",
                    req->bind[p]);
            goto out;
        }
        binding[p] = (uint32_t)idx;
        if ((uint32_t)idx == cfg->self) me = p;
    }
    if (!listed) {
        char why[400];
        int arc = mpcd_admit(cfg, c, hash, req->bind, req->n_bind, &lim, why, sizeof why);
        if (arc != 0) {
            s_error(cfg, rep, hex, arc, "%s", why);
            goto out;
        }
    }
    /* One client may not fill the queue for everyone.  Only this thread adds jobs, so the
     * count cannot change before the add below. */
    mpcd_jobs_lock(jobs);
    uint32_t mine = mpcd_jobs_unfinished_by(jobs, cl->name);
    mpcd_jobs_unlock(jobs);
    if (mine >= (uint64_t)cfg->max_jobs_per_client) {
        s_error(cfg, rep, hex, MPC_ERR_LIMIT, "cannot queue the job: client '%s' has %u unfinished jobs here, the "
                "limit per client (max_jobs_per_client = %lld)", cl->name, (unsigned)mine,
                (long long)cfg->max_jobs_per_client);
        goto out;
    }
    mpcd_release rule;
    mpcd_release_rule(cfg, c, hash, req->bind, req->n_bind, &rule);
    /* Inputs read from stored datasets (docs/datasets.md): checked and loaded before the job
     * exists, handed to it once added. */
    mpcd_job_input *dsin = NULL;
    uint32_t n_ds = 0;
    uint64_t ds_ms = 0;
    if (me != UINT32_MAX && c->program && s_ds_inputs(cfg, c, hash, binding, &lim, hex, rep, &dsin, &n_ds, &ds_ms))
        goto out;
    if (cfg->security == MPCD_SEC_MALICIOUS && n_ds) {
        free(dsin);
        s_error(cfg, rep, hex, MPC_ERR_UNSUPPORTED, "stored datasets (%u inputs here) are not supported with "
                "security = malicious yet", (unsigned)n_ds);
        goto out;
    }
    double dp_eps = 0, dp_delta = 0;
    char dp_note[MPCD_DP_NOTE_MAX] = "";
    if (me != UINT32_MAX) {
        char why[512];
        int brc = s_budget_reserve(cfg, c, hash, req, &dp_eps, &dp_delta, why, sizeof why, dp_note, sizeof dp_note);
        if (brc) {
            free(dsin);
            s_error(cfg, rep, hex, brc, "%s", why);
            goto out;
        }
    }
    uint32_t n_in = c->n_inputs;
    int rc = mpcd_jobs_add(jobs, req->job, cl->name, &c, hash, binding, me);
    if (rc != 0) (void)mpcd_ledger_release(mpcd_ledger_global(), req->job);
    if (dsin) {
        mpcd_jobs_lock(jobs);
        mpcd_job *job = rc == 0 ? mpcd_jobs_find(jobs, req->job) : NULL;
        for (uint32_t k = 0; job && k < n_in; k++)
            if (dsin[k].present) job->inputs[k] = dsin[k];   /* no share yet: loaded when it runs */
        if (job) mpcd_jobs_notify(jobs);
        mpcd_jobs_unlock(jobs);
        free(dsin);
        if (job)
            mpcd_info(hex, "%u inputs given by stored datasets, checked in %llu ms (loaded and re-randomized when "
                      "the job runs)", (unsigned)n_ds, (unsigned long long)ds_ms);
    }
    if (rc == MPC_ERR_STATE) {
        s_error(cfg, rep, hex, rc, "a job with this id exists");
        goto out;
    }
    if (rc == MPC_ERR_LIMIT) {
        s_error(cfg, rep, hex, rc, "cannot queue the job: %lld jobs are already waiting or running here "
                "(max_queued_jobs)", (long long)cfg->max_queued_jobs);
        goto out;
    }
    if (rc != 0) {
        s_error(cfg, rep, hex, rc, "cannot queue the job: %s", mpc_strerror(rc));
        goto out;
    }
    mpcd_jobs_lock(jobs);
    mpcd_job *added = mpcd_jobs_find(jobs, req->job);
    int orc = added ? mpcd_contrib_open(cfg, added, mpc_now_ms(), req->collect_ms, req->collect_count) : 0;
    if (orc != 0) {
        mpcd_job_fail(added, "cannot open its contribution collections: %s", mpc_strerror(orc));
        mpcd_jobs_unlock(jobs);
        s_error(cfg, rep, hex, orc, "cannot open the contribution collections: %s", mpc_strerror(orc));
        goto out;
    }
    if (added) {
        added->rule_rows = rule.min_rows;
        added->rule_contrib = rule.min_contributors;
        added->dp_eps = dp_eps;
        added->dp_delta = dp_delta;
        snprintf(added->dp_note, sizeof added->dp_note, "%s", dp_note);
    }
    mpcd_jobs_unlock(jobs);
    if (me == UINT32_MAX && cfg->self != 0) {
        /* Neither a party of the job nor its sequencer: nothing to do here. */
        mpcd_jobs_lock(jobs);
        mpcd_job *job = mpcd_jobs_find(jobs, req->job);
        job->sequenced = 1;
        job->state = MPCD_JOB_DONE;
        job->finished = time(NULL);
        snprintf(job->reason, sizeof job->reason, "this daemon is not a party of the job");
        mpcd_jobs_unlock(jobs);
    }
    rep->type = MPC_CW_SUBMIT_OK;
    memcpy(rep->hash, hash, 32);
    rep->malicious = cfg->security == MPCD_SEC_MALICIOUS;   /* the client's inputs go through MASK */
    mpcd_info(hex, "job submitted by client %s (%s of it)", cl->name,
              me == UINT32_MAX ? "not a party" : "a party");
    if (dp_note[0]) mpcd_info(hex, "privacy budget: the job spends eps = %.6g; %s", dp_eps, dp_note);
out:
    mpc_circ_destroy(&c);
}

static uint8_t s_state(const mpcd_job *job);

/* Lock held.  The input a request (INPUT, MASK) names, after the checks common to both: the
 * job, this daemon a party of it, the input given by clients, the client's right, the count.
 * Its index, or -1 with the error in rep. */
static int s_input_find(const mpcd_config *cfg, mpcd_jobs *jobs, const mpcd_client_conf *cl, const mpc_cwire_req *req,
                        const char *hex, mpc_cwire_rep *rep, mpcd_job **jobp)
{
    mpcd_job *job = *jobp = mpcd_jobs_find(jobs, req->job);
    if (!job) {
        s_error(cfg, rep, hex, MPC_ERR_NOTFOUND, "no such job");
        return -1;
    }
    if (job->my_party == UINT32_MAX) {
        s_error(cfg, rep, hex, MPC_ERR_INVALID, "this daemon is not a party of the job");
        return -1;
    }
    const mpc_circuit *c = job->circ;
    uint32_t k;
    for (k = 0; k < c->n_inputs; k++)
        if (!strcmp(c->inputs[k].name, req->name)) break;
    if (k == c->n_inputs) {
        s_error(cfg, rep, hex, MPC_ERR_NOTFOUND, "the program has no input '%s'", req->name);
        return -1;
    }
    if (mpc_join_input_of(req->name)) {   /* the joins give it (docs/join.md) */
        s_error(cfg, rep, hex, MPC_ERR_DENIED, "input '%s' is a join output: no client gives it", req->name);
        return -1;
    }
    if (mpc_contrib_input_of(req->name)) {   /* the daemons give it (docs/contributions.md) */
        s_error(cfg, rep, hex, MPC_ERR_DENIED, "input '%s' is a contributor input: no client gives it", req->name);
        return -1;
    }
    uint32_t owner = job->binding[c->inputs[k].party];
    if (!(cl->input_for & (1u << owner))) {
        s_error(cfg, rep, hex, MPC_ERR_DENIED, "client '%s' may not give input for party %s (input '%s')",
                cl->name, cfg->parties[owner].name, req->name);
        return -1;
    }
    if (req->count != c->inputs[k].len) {
        s_error(cfg, rep, hex, MPC_ERR_INPUT, "input '%s' has %llu elements, the program needs %llu", req->name,
                (unsigned long long)req->count, (unsigned long long)c->inputs[k].len);
        return -1;
    }
    return (int)k;
}

/* A job that failed or was cancelled: refused with its reason (1), else 0. */
static int s_ended(const mpcd_config *cfg, mpc_cwire_rep *rep, const char *hex, const mpcd_job *job)
{
    if (job->state != MPCD_JOB_FAILED && job->state != MPCD_JOB_CANCELLED) return 0;
    int failed = job->state == MPCD_JOB_FAILED;
    s_error(cfg, rep, hex, failed ? MPC_ERR_PEER_ABORT : MPC_ERR_CANCELLED, "the job %s: %s",
            failed ? "failed" : "was cancelled", job->reason);
    return 1;
}

/* INPUT mode MASKED (security = malicious, mal_job.h): the client's x − r, after its MASK
 * claimed the input and the run posted its record of the masks; the same client only, once. */
static void s_input_masked(const mpcd_config *cfg, mpcd_jobs *jobs, const mpcd_client_conf *cl, mpcd_job *job,
                           uint32_t k, const uint8_t *payload, size_t plen, const char *hex, mpc_cwire_rep *rep)
{
    mpcd_job_input *in = &job->inputs[k];
    const char *name = job->circ->inputs[k].name;
    if (!in->present || in->mode != MPCD_IN_AUTH || strcmp(in->giver, cl->name) != 0) {
        s_error(cfg, rep, hex, MPC_ERR_STATE, "input '%s': a masked input needs the client's MASK first", name);
        return;
    }
    if (in->masked) {
        s_error(cfg, rep, hex, MPC_ERR_STATE, "input '%s' was already given", name);
        return;
    }
    if (s_ended(cfg, rep, hex, job)) return;
    if (atomic_load(&job->cancel)) {   /* running, its thread not at the cancel yet */
        s_error(cfg, rep, hex, MPC_ERR_CANCELLED, "the job was cancelled by client %s", job->cancelled_by);
        return;
    }
    if (job->state != MPCD_JOB_RUNNING || !in->mask) {
        s_error(cfg, rep, hex, MPC_ERR_STATE, "input '%s': the job is %s and waits for no masked input", name,
                mpcd_job_state_names[job->state]);
        return;
    }
    if (plen != job->circ->inputs[k].len * 8) {   /* the decoder checked it against count */
        s_error(cfg, rep, hex, MPC_ERR_INPUT, "the masked input has %zu bytes, expected %llu", plen,
                (unsigned long long)(job->circ->inputs[k].len * 8));
        return;
    }
    if (!(in->share = malloc(plen))) {
        s_error(cfg, rep, hex, MPC_ERR_NOMEM, "out of memory");
        return;
    }
    memcpy(in->share, payload, plen);
    in->masked = 1;
    mpcd_job_wipe_mask(job, k);   /* served: the client has it */
    rep->type = MPC_CW_INPUT_OK;
    mpcd_jobs_notify(jobs);
    mpcd_info(hex, "masked input '%s' received from client %s", name, cl->name);
}

/* MASK (security = malicious, mal_job.h): claims the input for this client (the first time)
 * and answers with this party's record of the input's masks (vcheck.h) once the run posted
 * it; not ready before (the client socket holds the request for its wait, as a RESULT). */
static void s_mask(const mpcd_config *cfg, mpcd_jobs *jobs, const mpcd_client_conf *cl, const mpc_cwire_req *req,
                   const char *hex, mpc_cwire_rep *rep, uint64_t **share)
{
    if (cfg->security != MPCD_SEC_MALICIOUS) {
        s_error(cfg, rep, hex, MPC_ERR_UNSUPPORTED, "MASK is for security = malicious; this daemon runs semi-honest");
        return;
    }
    mpcd_jobs_lock(jobs);
    mpcd_job *job;
    int ki = s_input_find(cfg, jobs, cl, req, hex, rep, &job);
    if (ki < 0) goto out;
    mpcd_job_input *in = &job->inputs[ki];
    if (!in->present) {
        if (job->state != MPCD_JOB_QUEUED && job->state != MPCD_JOB_WAITING) {
            s_error(cfg, rep, hex, MPC_ERR_STATE, "the job is %s and takes no more inputs",
                    mpcd_job_state_names[job->state]);
            goto out;
        }
        in->present = 1;
        in->mode = MPCD_IN_AUTH;
        snprintf(in->giver, sizeof in->giver, "%s", cl->name);
        in->giver_id = mpcd_client_id(cl->public_key);
        mpcd_jobs_notify(jobs);
        mpcd_info(hex, "input '%s' claimed by client %s (authenticated input)", req->name, cl->name);
    } else if (in->mode != MPCD_IN_AUTH || strcmp(in->giver, cl->name) != 0 || in->masked) {
        s_error(cfg, rep, hex, MPC_ERR_STATE, "input '%s' was already given", req->name);
        goto out;
    }
    if (s_ended(cfg, rep, hex, job)) goto out;
    rep->type = MPC_CW_MASK_OK;
    rep->state = s_state(job);
    if (!in->mask) goto out;   /* not ready: count 0 */
    size_t bytes = mpcd_job_mask_bytes(job, (uint32_t)ki);   /* req->count is the input's length (s_input_find) */
    if (!(*share = malloc(bytes))) {
        memset(rep, 0, sizeof *rep);
        s_error(cfg, rep, hex, MPC_ERR_NOMEM, "out of memory");
        goto out;
    }
    memcpy(*share, in->mask, bytes);
    rep->ready = 1;
    rep->count = req->count;
    rep->parties = job->circ->n_parties;   /* the record's size; the client checks it */
out:
    mpcd_jobs_unlock(jobs);
}

static void s_input(const mpcd_config *cfg, mpcd_jobs *jobs, const mpcd_client_conf *cl,
                    const mpc_cwire_req *req, const uint8_t *payload, size_t plen, const char *hex,
                    mpc_cwire_rep *rep)
{
    mpcd_jobs_lock(jobs);
    mpcd_job *job;
    int ki = s_input_find(cfg, jobs, cl, req, hex, rep, &job);
    if (ki < 0) goto out;
    uint32_t k = (uint32_t)ki;
    if ((cfg->security == MPCD_SEC_MALICIOUS) != (req->mode == MPC_CW_MASKED)) {
        s_error(cfg, rep, hex, MPC_ERR_UNSUPPORTED,
                cfg->security == MPCD_SEC_MALICIOUS
                    ? "input '%s': with security = malicious a client input is authenticated (MASK, then a masked "
                      "input: SDK 1.6 or later)"
                    : "input '%s': a masked input needs security = malicious; this daemon runs semi-honest",
                req->name);
        goto out;
    }
    if (req->mode == MPC_CW_MASKED) {
        s_input_masked(cfg, jobs, cl, job, k, payload, plen, hex, rep);
        goto out;
    }
    if (job->state != MPCD_JOB_QUEUED && job->state != MPCD_JOB_WAITING) {
        s_error(cfg, rep, hex, MPC_ERR_STATE, "the job is %s and takes no more inputs",
                mpcd_job_state_names[job->state]);
        goto out;
    }
    mpcd_job_input *in = &job->inputs[k];
    if (in->present) {
        s_error(cfg, rep, hex, MPC_ERR_STATE, "input '%s' was already given", req->name);
        goto out;
    }
    if (req->mode == MPC_CW_SEED) {
        if (plen != MPC_CWIRE_SEED_BYTES) {
            s_error(cfg, rep, hex, MPC_ERR_INPUT, "a seed must be %d bytes", MPC_CWIRE_SEED_BYTES);
            goto out;
        }
        in->seed = sodium_malloc(MPC_CWIRE_SEED_BYTES);
        if (!in->seed) {
            s_error(cfg, rep, hex, MPC_ERR_NOMEM, "out of memory");
            goto out;
        }
        memcpy(in->seed, payload, MPC_CWIRE_SEED_BYTES);
        in->mode = MPC_IN_SEED;
    } else {
        if (plen != req->count * 8) {
            s_error(cfg, rep, hex, MPC_ERR_INPUT, "the share has %zu bytes, expected %llu", plen,
                    (unsigned long long)(req->count * 8));
            goto out;
        }
        in->share = malloc(plen);
        if (!in->share) {
            s_error(cfg, rep, hex, MPC_ERR_NOMEM, "out of memory");
            goto out;
        }
        memcpy(in->share, payload, plen);
        in->mode = MPC_IN_SHARE;
    }
    in->present = 1;
    snprintf(in->giver, sizeof in->giver, "%s", cl->name);
    in->giver_id = mpcd_client_id(cl->public_key);
    rep->type = MPC_CW_INPUT_OK;
    mpcd_jobs_notify(jobs);
    mpcd_info(hex, "input '%s' received from client %s", req->name, cl->name);
out:
    mpcd_jobs_unlock(jobs);
}

/* KEYS: a join's key column, to this party's daemon only (mpcd/join_job.h). */
static void s_keys(const mpcd_config *cfg, mpcd_jobs *jobs, const mpcd_client_conf *cl, const mpc_cwire_req *req,
                   const uint8_t *payload, size_t plen, const char *hex, mpc_cwire_rep *rep)
{
    mpcd_jobs_lock(jobs);
    mpcd_job *job = mpcd_jobs_find(jobs, req->job);
    char err[MPC_CWIRE_MSG_MAX - 64];
    int r = 0;
    if (!job) {
        r = MPC_ERR_NOTFOUND;
        snprintf(err, sizeof err, "no such job");
    } else {
        r = mpcd_join_keys_put(cfg, job, cl, req, payload, plen, err, sizeof err);
    }
    if (r) {
        s_error(cfg, rep, hex, r, "%s", err);
    } else {
        rep->type = MPC_CW_KEYS_OK;
        mpcd_jobs_notify(jobs);
        mpcd_info(hex, "key column '%s' (%llu rows) received from client %s", req->name,
                  (unsigned long long)req->count, cl->name);
    }
    mpcd_jobs_unlock(jobs);
}

static uint8_t s_state(const mpcd_job *job)
{
    switch (job->state) {
    case MPCD_JOB_QUEUED: return MPC_JOB_QUEUED;
    case MPCD_JOB_WAITING: return MPC_JOB_INPUTS;
    case MPCD_JOB_RUNNING: return MPC_JOB_RUNNING;
    case MPCD_JOB_DONE: return MPC_JOB_DONE;
    case MPCD_JOB_FAILED: return MPC_JOB_FAILED;
    case MPCD_JOB_CANCELLED: return MPC_JOB_CANCELLED;
    case MPCD_JOB__COUNT: break;
    }
    return MPC_JOB_FAILED;
}

static void s_result(const mpcd_config *cfg, mpcd_jobs *jobs, const mpcd_client_conf *cl,
                     const mpc_cwire_req *req, const char *hex, mpc_cwire_rep *rep, uint64_t **share)
{
    mpcd_jobs_lock(jobs);
    mpcd_job *job = mpcd_jobs_find(jobs, req->job);
    if (!job) {
        s_error(cfg, rep, hex, MPC_ERR_NOTFOUND, "no such job");
        goto out;
    }
    const mpc_circuit *c = job->circ;
    uint32_t o;
    for (o = 0; o < c->n_outputs; o++)
        if (!strcmp(c->outputs[o].name, req->name)) break;
    if (o == c->n_outputs) {
        s_error(cfg, rep, hex, MPC_ERR_NOTFOUND, "the program has no output '%s'", req->name);
        goto out;
    }
    /* Rights first: an unentitled client learns nothing, not even the job's progress. */
    uint32_t entitled = 0;
    for (uint32_t p = 0; p < c->n_parties; p++)
        if (c->outputs[o].recipients & (1u << p)) entitled |= 1u << job->binding[p];
    if (!(cl->output_for & entitled)) {
        s_error(cfg, rep, hex, MPC_ERR_DENIED, "client '%s' may not receive output '%s'", cl->name, req->name);
        goto out;
    }
    if (job->my_party == UINT32_MAX) {
        s_error(cfg, rep, hex, MPC_ERR_INVALID, "this daemon is not a party of the job");
        goto out;
    }
    if (job->state == MPCD_JOB_FAILED) {
        s_error(cfg, rep, hex, MPC_ERR_PEER_ABORT, "the job failed: %s", job->reason);
        goto out;
    }
    if (job->state == MPCD_JOB_CANCELLED) {
        s_error(cfg, rep, hex, MPC_ERR_CANCELLED, "%s", job->reason);
        goto out;
    }
    rep->type = MPC_CW_RESULT_OK;
    rep->state = s_state(job);
    rep->vtype = c->outputs[o].type;
    if (job->state != MPCD_JOB_DONE || !job->out_shares) {
        rep->ready = 0;
        rep->count = 0;
        goto out;
    }
    /* Release rules: withheld elements go with their zero shares, listed (release_job.h). */
    mpcd_job_withheld_note(job, o, rep->withheld, sizeof rep->withheld);
    if (rep->withheld[0] && c->outputs[o].len > MPC_CWIRE_WITHHELD_MAX) {
        char note[MPC_CWIRE_MSG_MAX];
        snprintf(note, sizeof note, "%s", rep->withheld);
        uint64_t rid = rep->rid;
        memset(rep, 0, sizeof *rep);
        rep->rid = rid;
        s_error(cfg, rep, hex, MPC_ERR_DENIED, "%s", note);
        goto out;
    }
    for (uint64_t i = 0; rep->withheld[0] && i < c->outputs[o].len; i++)
        if (job->withheld[o][i]) rep->withheld_bits[i / 8] |= (uint8_t)(1u << (i % 8));
    size_t bytes = mpcd_job_out_bytes(job, o);   /* a checked output's: its record */
    *share = malloc(bytes);
    if (!*share) {
        memset(rep, 0, sizeof *rep);
        s_error(cfg, rep, hex, MPC_ERR_NOMEM, "out of memory");
        goto out;
    }
    memcpy(*share, job->out_shares[o], bytes);
    rep->ready = 1;
    rep->checked = job->out_checked;
    rep->parties = job->out_checked ? c->n_parties : 0;
    rep->count = c->outputs[o].len;
    job->fetched = 1;
    mpcd_info(hex, "output '%s' share sent to client %s", req->name, cl->name);
out:
    mpcd_jobs_unlock(jobs);
}

/* Lock held.  The job's preprocessing: triples made, needed, and the rate so far. */
static void s_prep_progress(const mpcd_job *job, uint64_t *made, uint64_t *needed, uint64_t *per_s)
{
    *made = job->prep_made;
    *needed = job->prep_needed;
    *per_s = 0;
    uint64_t now = mpc_now_ms();
    if (job->prep_started_ms && now > job->prep_started_ms)
        *per_s = job->prep_made * 1000 / (now - job->prep_started_ms);
}

/* JOBS: the jobs the asking client submitted here (a client sees only its own;
 * docs/daemon.md), the newest MPC_CWIRE_MAX_JOBS of them, oldest first.  Nothing secret: ids,
 * states, ages, progress. */
static void s_jobs(const mpcd_config *cfg, mpcd_jobs *jobs, const mpcd_client_conf *cl, mpc_cwire_rep *rep)
{
    rep->type = MPC_CW_JOBS_OK;
    snprintf(rep->daemon, sizeof rep->daemon, "%s", cfg->name);
    time_t now = time(NULL);
    mpcd_jobs_lock(jobs);
    for (mpcd_job *job = mpcd_jobs_first(jobs); job; job = job->next)
        if (!strcmp(job->client, cl->name)) rep->jobs_total++;
    uint64_t skip = rep->jobs_total > MPC_CWIRE_MAX_JOBS ? rep->jobs_total - MPC_CWIRE_MAX_JOBS : 0;
    for (mpcd_job *job = mpcd_jobs_first(jobs); job; job = job->next) {
        if (strcmp(job->client, cl->name) != 0) continue;
        if (skip) {
            skip--;
            continue;
        }
        mpc_cwire_job_line *l = &rep->jobs[rep->n_jobs++];
        memcpy(l->id, job->id, MPC_CWIRE_JOB_BYTES);
        l->state = s_state(job);
        l->age_s = now > job->submitted ? (uint64_t)(now - job->submitted) : 0;
        snprintf(l->client, sizeof l->client, "%s", job->client);
        l->layers_done = job->rounds_done;
        l->layers_total = job->rounds_total > job->rounds_done ? job->rounds_total : job->rounds_done;
        l->prep_made = job->prep_made;
        l->prep_needed = job->prep_needed;
    }
    mpcd_jobs_unlock(jobs);
}

static void s_status(const mpcd_config *cfg, mpcd_jobs *jobs, const mpc_cwire_req *req, const char *hex,
                     const mpcd_status_extra *extra, mpc_cwire_rep *rep)
{
    mpcd_jobs_lock(jobs);
    uint32_t counts[MPCD_JOB__COUNT];
    mpcd_jobs_count(jobs, counts);
    if (req->has_job) {
        mpcd_job *job = mpcd_jobs_find(jobs, req->job);
        if (!job) {
            mpcd_jobs_unlock(jobs);
            s_error(cfg, rep, hex, MPC_ERR_NOTFOUND, "no such job");
            return;
        }
        mpc_cwire_job_info *ji = &rep->job;
        rep->has_job = 1;
        ji->state = s_state(job);
        snprintf(ji->reason, sizeof ji->reason, "%s",
                 job->state == MPCD_JOB_FAILED || job->state == MPCD_JOB_CANCELLED ? job->reason : "");
        ji->layers_done = job->rounds_done;
        ji->layers_total = job->rounds_total;
        ji->triples_used = job->triples_used;
        s_prep_progress(job, &ji->prep_made, &ji->prep_needed, &ji->prep_per_s);
        ji->inputs_total = job->circ->n_inputs;
        for (uint32_t k = 0; k < job->circ->n_inputs; k++) ji->inputs_given += job->inputs[k].present ? 1 : 0;
        memcpy(ji->hash, job->hash, 32);
        ji->malicious = cfg->security == MPCD_SEC_MALICIOUS;
        ji->n_bind = job->circ->n_parties;
        for (uint32_t p = 0; p < ji->n_bind; p++)
            snprintf(ji->bind[p], sizeof ji->bind[p], "%s", cfg->parties[job->binding[p]].name);
    }
    mpcd_jobs_unlock(jobs);
    rep->type = MPC_CW_STATUS_OK;
    snprintf(rep->daemon, sizeof rep->daemon, "%s", cfg->name);
    rep->info.jobs_queued = counts[MPCD_JOB_QUEUED] + counts[MPCD_JOB_WAITING];
    rep->info.jobs_running = counts[MPCD_JOB_RUNNING];
    rep->info.jobs_done = counts[MPCD_JOB_DONE];
    rep->info.jobs_failed = counts[MPCD_JOB_FAILED];
    if (extra) {
        rep->info.triples_stock = extra->triples_stock;
        rep->info.triples_per_s = (uint64_t)extra->triples_per_s;
        rep->n_peers = extra->n_peers;
        memcpy(rep->peers, extra->peers, sizeof rep->peers);
    }
}

/* CANCEL: by the submitter, or a client with the `cancel` right (docs/daemon.md, "Cancelling
 * a job").  An unknown id is noted as refused, so a RUN for it fails at once here. */
static void s_cancel(const mpcd_config *cfg, mpcd_jobs *jobs, const mpcd_client_conf *cl,
                     const mpc_cwire_req *req, const char *hex, mpc_cwire_rep *rep)
{
    mpcd_jobs_lock(jobs);
    mpcd_job *job = mpcd_jobs_find(jobs, req->job);
    if (!job) {
        mpcd_jobs_unlock(jobs);
        if (cl->may_submit || cl->may_cancel) mpcd_jobs_note_refused(jobs, req->job);
        s_error(cfg, rep, hex, MPC_ERR_NOTFOUND, "no such job");
        return;
    }
    if (strcmp(job->client, cl->name) != 0 && !cl->may_cancel) {
        mpcd_jobs_unlock(jobs);
        s_error(cfg, rep, hex, MPC_ERR_DENIED, "client '%s' may not cancel a job of client '%s' (no cancel right)",
                cl->name, job->client);
        return;
    }
    mpcd_job_state was = mpcd_job_cancel(jobs, job, cl->name);
    mpcd_jobs_unlock(jobs);
    rep->type = MPC_CW_CANCEL_OK;
    if (was == MPCD_JOB_WAITING || was == MPCD_JOB_RUNNING)
        mpcd_info(hex, "cancel requested by client %s (the job is %s; it stops at its next step)", cl->name,
                  mpcd_job_state_names[was]);
    else if (was == MPCD_JOB_QUEUED || was == MPCD_JOB_DONE)
        mpcd_info(hex, "cancelled by client %s (it was %s; its shares are wiped)", cl->name, mpcd_job_state_names[was]);
}

void mpcd_handle(const mpcd_config *cfg, mpcd_jobs *jobs, const char *client,
                 const mpc_cwire_req *req, const uint8_t *payload, size_t payload_len,
                 const mpcd_status_extra *extra, mpc_cwire_rep *rep, uint64_t **share)
{
    memset(rep, 0, sizeof *rep);
    *share = NULL;
    rep->rid = req->rid;
    char hex[MPC_CWIRE_JOB_HEX + 1];
    int has_job = (req->type != MPC_CW_STATUS && req->type != MPC_CW_JOBS) || req->has_job;
    if (has_job) mpc_cwire_job_hex(req->job, hex);
    const mpcd_client_conf *cl = s_client(cfg, client);
    if (!cl) {
        /* The ZAP handler admits only configured keys; reaching here is a bug, refuse anyway. */
        s_error(cfg, rep, has_job ? hex : NULL, MPC_ERR_DENIED, "unknown client");
        return;
    }
    switch (req->type) {
    case MPC_CW_SUBMIT:
        s_submit(cfg, jobs, cl, req, hex, rep);
        if (rep->type == MPC_CW_ERROR && rep->code != MPC_ERR_STATE) mpcd_jobs_note_refused(jobs, req->job);
        break;
    case MPC_CW_INPUT: s_input(cfg, jobs, cl, req, payload, payload_len, hex, rep); break;
    case MPC_CW_RESULT: s_result(cfg, jobs, cl, req, hex, rep, share); break;
    case MPC_CW_MASK: s_mask(cfg, jobs, cl, req, hex, rep, share); break;
    case MPC_CW_STATUS: s_status(cfg, jobs, req, has_job ? hex : NULL, extra, rep); break;
    case MPC_CW_JOBS: s_jobs(cfg, jobs, cl, rep); break;
    case MPC_CW_CANCEL: s_cancel(cfg, jobs, cl, req, hex, rep); break;
    case MPC_CW_KEYS: s_keys(cfg, jobs, cl, req, payload, payload_len, hex, rep); break;
    default: s_error(cfg, rep, has_job ? hex : NULL, MPC_ERR_PROTOCOL, "unknown request type %u", req->type); break;
    }
    rep->rid = req->rid;
}
