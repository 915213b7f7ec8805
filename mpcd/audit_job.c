/* audit_job.c — see audit_job.h. */
#include "audit_job.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "json.h"
#include "log.h"
#include "mpc_err.h"

static void s_iso(time_t t, char out[32])
{
    struct tm tm;
    if (t == 0 || !gmtime_r(&t, &tm)) {
        snprintf(out, 32, "-");
        return;
    }
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

size_t mpcd_audit_stmt(const mpcd_job *job, const char (*names)[MPC_NAME_MAX], const char *prep,
                       char *out, size_t cap)
{
    const mpc_circuit *c = job->circ;
    mpcd_json j;
    mpcd_json_begin(&j, out, cap);
    mpcd_json_str(&j, "job", job->id_hex);
    mpcd_json_hex(&j, "circuit", job->hash, 32);
    mpcd_json_open(&j, "parties", '[');
    for (uint32_t i = 0; i < c->n_parties; i++) mpcd_json_str(&j, NULL, names[job->binding[i]]);
    mpcd_json_close(&j, ']');
    mpcd_json_str(&j, "submitter", job->client);
    mpcd_json_open(&j, "inputs", '[');
    for (uint32_t k = 0; k < c->n_inputs; k++) {
        mpcd_json_open(&j, NULL, '{');
        mpcd_json_str(&j, "name", c->inputs[k].name);
        mpcd_json_str(&j, "party", names[job->binding[c->inputs[k].party]]);
        mpcd_json_str(&j, "client", job->inputs && job->inputs[k].giver[0] ? job->inputs[k].giver : "-");
        mpcd_json_uint(&j, "elements", c->inputs[k].len);
        mpcd_json_close(&j, '}');
    }
    mpcd_json_close(&j, ']');
    mpcd_json_open(&j, "outputs", '[');
    for (uint32_t k = 0; k < c->n_outputs; k++) {
        mpcd_json_open(&j, NULL, '{');
        mpcd_json_str(&j, "name", c->outputs[k].name);
        mpcd_json_uint(&j, "elements", c->outputs[k].len);
        mpcd_json_open(&j, "to", '[');
        for (uint32_t p = 0; p < c->n_parties; p++)
            if (c->outputs[k].recipients & (1u << p)) mpcd_json_str(&j, NULL, names[job->binding[p]]);
        mpcd_json_close(&j, ']');
        /* release rules: how many elements were withheld, and why (no value) */
        uint64_t held = 0, why = 0;
        for (uint64_t e = 0; job->withheld && job->withheld[k] && e < c->outputs[k].len; e++)
            if (job->withheld[k][e]) held++, why = job->withheld[k][e];
        if (held) {
            mpcd_json_uint(&j, "withheld", held);
            mpcd_json_str(&j, "withheld_by", why == MPCD_WITHHELD_CONTRIB ? "min_contributors" : "min_rows");
        }
        mpcd_json_close(&j, '}');
    }
    mpcd_json_close(&j, ']');
    if (job->agreed_rows || job->agreed_contrib) {
        mpcd_json_open(&j, "release", '{');
        mpcd_json_uint(&j, "min_rows", job->agreed_rows);
        mpcd_json_uint(&j, "min_contributors", job->agreed_contrib);
        mpcd_json_uint(&j, "contributors", job->contributors);
        mpcd_json_close(&j, '}');
    }
    mpcd_json_str(&j, "preprocessing", prep);
    mpcd_json_str(&j, "outcome", mpcd_job_state_names[job->state]);
    return mpcd_json_end(&j);
}

size_t mpcd_audit_local(const mpcd_job *job, time_t started, char *out, size_t cap)
{
    char sub[32], start[32], end[32];
    s_iso(job->submitted, sub);
    s_iso(started, start);
    s_iso(job->finished, end);
    mpcd_json j;
    mpcd_json_begin(&j, out, cap);
    mpcd_json_str(&j, "submitted", sub);
    mpcd_json_str(&j, "started", start);
    mpcd_json_str(&j, "finished", end);
    mpcd_json_str(&j, "outcome", mpcd_job_state_names[job->state]);
    if (job->state != MPCD_JOB_DONE) mpcd_json_str(&j, "reason", job->reason);
    mpcd_json_uint(&j, "triples", job->triples_used);
    if (job->dp_note[0]) {
        /* Privacy budget (this party's own policy, so not in the statement): the job's spend
         * and what was left of each budget after it (docs/governance.md, "Privacy budget"). */
        char eps[32], delta[32];
        snprintf(eps, sizeof eps, "%.6g", job->dp_eps);
        snprintf(delta, sizeof delta, "%.6g", job->dp_delta);
        mpcd_json_str(&j, "dp_spent_eps", eps);
        mpcd_json_str(&j, "dp_spent_delta", delta);
        mpcd_json_str(&j, "dp_budget_left", job->dp_note);
    }
    return mpcd_json_end(&j);
}

uint32_t mpcd_audit_exchange(mpcd_audit *a, mpc_transport *view, uint32_t n_parties, uint64_t stream, const char *stmt,
                             size_t len, const uint8_t (*pubs)[32], uint32_t pub_mask,
                             const char (*vnames)[MPC_NAME_MAX], int timeout_ms, const char *job_hex,
                             mpcd_audit_cosig *out)
{
    uint32_t n = 0, me = view->self;
    mpcd_audit_cosign(a, stmt, len, &out[n++]);
    uint64_t w[8];
    memcpy(w, out[0].sig, 64);
    for (uint32_t p = 0; p < n_parties; p++)
        if (p != me) (void)mpc_send(view, p, MPC_MSG_CONTROL, stream, MPCD_AUDIT_COSIG_SEQ, w, 8);
    uint64_t deadline = mpc_now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
    for (uint32_t p = 0; p < n_parties; p++) {
        if (p == me) continue;
        uint64_t now = mpc_now_ms();
        int left = now < deadline ? (int)(deadline - now) : 0;
        int rc = mpc_recv(view, p, MPC_MSG_CONTROL, stream, MPCD_AUDIT_COSIG_SEQ, w, 8, left);
        if (rc != 0) {
            mpcd_warn(job_hex, "audit: no co-signature from %s (%s)", vnames[p], mpc_strerror(rc));
            continue;
        }
        mpcd_audit_cosig *c = &out[n];
        snprintf(c->party, sizeof c->party, "%s", vnames[p]);
        memcpy(c->sig, w, 64);
        if (!(pub_mask & (1u << p))) {
            mpcd_warn(job_hex, "audit: %s's co-signature not kept: its [party %s] has no audit_public_key",
                      vnames[p], vnames[p]);
        } else if (!mpcd_audit_cosig_ok(pubs[p], stmt, len, c->sig)) {
            mpcd_warn(job_hex, "audit: %s's co-signature does not match this party's statement of the job",
                      vnames[p]);
        } else {
            n++;
        }
    }
    return n;
}
