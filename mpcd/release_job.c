/* release_job.c — a job's release rules on this party (release_job.h). */
#include "release_job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contrib.h"
#include "log.h"
#include "mpc_err.h"

uint32_t mpcd_release_contributors(const mpcd_job *job)
{
    uint64_t n = 0;
    const mpc_circuit *c = job->circ;
    for (uint32_t k = 0; job->inputs && k < c->n_inputs; k++) {
        if (!job->inputs[k].present) continue;
        if (mpc_contrib_input_of(c->inputs[k].name)) {   /* a collection: its contributors */
            n += job->inputs[k].contributions;
            continue;
        }
        uint32_t j = 0;
        while (j < k && !(job->inputs[j].present && !mpc_contrib_input_of(c->inputs[j].name) &&
                          job->inputs[j].giver_id == job->inputs[k].giver_id))
            j++;
        n += j == k;
    }
    return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

uint8_t **mpcd_release_withheld_new(const mpc_circuit *c)
{
    uint8_t **wh = calloc(c->n_outputs ? c->n_outputs : 1, sizeof *wh);
    for (uint32_t o = 0; wh && o < c->n_outputs; o++)
        if (!(wh[o] = calloc(c->outputs[o].len, 1))) {
            while (o--) free(wh[o]);
            free(wh);
            return NULL;
        }
    return wh;
}

void mpcd_release_withheld_free(const mpc_circuit *c, uint8_t **wh)
{
    for (uint32_t o = 0; wh && o < c->n_outputs; o++) free(wh[o]);
    free(wh);
}

int mpcd_release_open(mpc_transport *view, uint32_t n, uint32_t me, uint64_t stream, int timeout_ms,
                      const mpc_circuit *c, const mpc_support_vec *sup, const uint8_t *has_pass, mpc_engine *e,
                      uint64_t min_rows, uint64_t **outs, uint8_t **wh, char *reason, size_t rlen)
{
    uint32_t extra = c->n_outputs;
    for (uint32_t o = 0; o < c->n_outputs; o++) {
        uint64_t L = c->outputs[o].len;
        uint64_t *bits = NULL;
        if (has_pass[o]) {
            const uint64_t *share = mpc_engine_share(e, extra++);
            bits = malloc(L * sizeof *bits);
            uint64_t *theirs = malloc(L * sizeof *theirs);
            if (!bits || !theirs) {
                free(bits);
                free(theirs);
                snprintf(reason, rlen, "out of memory opening the release check");
                return MPC_ERR_NOMEM;
            }
            memcpy(bits, share, L * sizeof *bits);
            int rc = 0;
            for (uint32_t p = 0; p < n && rc == 0; p++)
                if (p != me) rc = mpc_send(view, p, MPC_MSG_CONTROL, stream, MPCD_RELEASE_SEQ + o, share, L);
            for (uint32_t p = 0; p < n && rc == 0; p++) {
                if (p == me) continue;
                rc = mpc_recv(view, p, MPC_MSG_CONTROL, stream, MPCD_RELEASE_SEQ + o, theirs, L, timeout_ms);
                for (uint64_t i = 0; rc == 0 && i < L; i++) bits[i] += theirs[i];
            }
            free(theirs);
            for (uint64_t i = 0; rc == 0 && i < L; i++)
                if (bits[i] > 1) rc = MPC_ERR_PROTOCOL;
            if (rc != 0) {
                free(bits);
                snprintf(reason, rlen, "opening the release check of output '%s' failed: %s", c->outputs[o].name,
                         mpc_strerror(rc));
                return rc;
            }
        }
        mpcd_release_decide(&sup[o], bits, min_rows, wh[o]);
        for (uint64_t i = 0; i < L; i++)
            if (wh[o][i]) outs[o][i] = 0;
        free(bits);
    }
    return 0;
}

void mpcd_release_decide(const mpc_support_vec *sup, const uint64_t *bits, uint64_t min_rows, uint8_t *wh)
{
    for (uint64_t i = 0; i < sup->len; i++) {
        const mpc_support *sp = mpc_support_at(sup, i);
        if (!(sp->count ? !bits || bits[i] == 1 : sp->rows >= min_rows)) wh[i] = MPCD_WITHHELD_ROWS;
    }
}

void mpcd_release_log(const mpcd_job *job, const char *hex)
{
    char note[MPCD_REASON_MAX * 2];
    for (uint32_t o = 0; job->withheld && o < job->circ->n_outputs; o++) {
        mpcd_job_withheld_note(job, o, note, sizeof note);
        if (note[0]) mpcd_info(hex, "release: %s", note);
    }
}

