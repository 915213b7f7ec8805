/* client_in.c — the client SDK (mpcclient.h): a client's authenticated input to a job whose
 * daemons run security = malicious (docs/security.md, "Authenticated client inputs").  The
 * daemons hold a vector of jointly random authenticated masks [r] per input and ran the vector
 * check on it (protocols/vcheck.h); each sends this client its record (MASK; never a MAC
 * share); the client verifies the n records together (mpc_vcheck_verify), which gives r mod
 * 2^64 or refuses, and only when every given input's records pass sends the one vector
 * x − r mod 2^64 to every daemon (INPUT, mode MASKED).  client.c calls it in place of the
 * seed-shared input when a bound daemon said it runs malicious (j->malicious). */
#include "mpc_err.h"
#include "mpcclient.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_int.h"
#include "clock.h"
#include "cwire.h"
#include "vcheck.h"

#define s_seterr mpc_client_seterr   /* client_int.h */
/* Longest wait for the daemons' shares: the job runs (and makes them) only once every input
 * of the program is claimed, which may be another organization's client; the daemons fail
 * the job after their input_timeout_ms, which ends the wait sooner. */
#define S_MASK_WAIT_MS 3600000

/* One MASK to the daemon of party p, held there up to wait ms: its record into sb (sized for
 * the job's k parties; the reply's own size if a daemon says otherwise, which is refused) when
 * ready. */
static int s_mask_ask(mpc_client *c, mpc_job *j, uint32_t p, mpc_cwire_req *q, int64_t wait, mpc_share_buf *sb,
                      int *ready)
{
    uint32_t d = j->daemon_of[p];
    q->rid = c->next_rid++;
    q->wait_ms = (uint32_t)wait;
    int r = mpc_client_send_req(c, d, q, NULL, 0, (int64_t)mpc_now_ms() + c->cfg.timeout_ms, j->id_hex);
    if (r) return r;
    mpc_cwire_rep rep;
    r = mpc_client_recv_rep(c, d, q->rid, MPC_CW_MASK, (int64_t)mpc_now_ms() + wait + c->cfg.timeout_ms, &rep, sb,
                            j->id_hex);
    if (r) return r;
    if (!rep.ready && rep.state == MPC_JOB_DONE)
        return s_seterr(c, MPC_ERR_PROTOCOL, "daemon %s: job %s: input '%s': the job is done without it",
                        mpc_client_dname(c, d), j->id_hex, q->name);
    if (rep.ready && rep.parties != j->k)
        return s_seterr(c, MPC_ERR_PROTOCOL, "daemon %s: job %s: input '%s': its mask record is for %u parties, the "
                        "job has %u: no input was given", mpc_client_dname(c, d), j->id_hex, q->name,
                        (unsigned)rep.parties, (unsigned)j->k);
    *ready = rep.ready;
    return 0;
}

/* The daemons' names, "a, b, c", for the refusal. */
static void s_names(const mpc_client *c, const mpc_job *j, char *buf, size_t cap)
{
    size_t off = 0;
    buf[0] = 0;
    for (uint32_t p = 0; p < j->k && off < cap; p++) {
        int w = snprintf(buf + off, cap - off, "%s%s", p ? ", " : "", mpc_client_dname(c, j->daemon_of[p]));
        off = w < 0 ? cap : off + (size_t)w;
    }
}

/* MASK to every bound daemon (the input claimed already) until its record is ready. */
static int s_masks(mpc_client *c, mpc_job *j, mpc_cwire_req *q, mpc_share_buf *sb)
{
    int ready[MPC_MAX_PARTIES] = {0}, r = 0;
    int64_t deadline = (int64_t)mpc_now_ms() + S_MASK_WAIT_MS;
    for (uint32_t p = 0; p < j->k && !r; p++)
        while (!r && !ready[p]) {
            int64_t left = deadline - (int64_t)mpc_now_ms();
            if (mpc_client_interrupted(c))
                return s_seterr(c, MPC_ERR_CANCELLED, "job %s: interrupted while giving input '%s'", j->id_hex, q->name);
            if (left <= 0)
                return s_seterr(c, MPC_ERR_TIMEOUT, "daemon %s: job %s: input '%s': no mask record within %d s",
                                mpc_client_dname(c, j->daemon_of[p]), j->id_hex, q->name, S_MASK_WAIT_MS / 1000);
            r = s_mask_ask(c, j, p, q, left > MPC_CWIRE_MAX_WAIT_MS ? MPC_CWIRE_MAX_WAIT_MS : left, &sb[p], &ready[p]);
        }
    return r;
}

/* INPUT mode MASKED: the same delta (n words) to every bound daemon. */
static int s_send_masked(mpc_client *c, mpc_job *j, const char *name, const uint64_t *delta, uint64_t n)
{
    mpc_cwire_req q;
    mpc_client_req_init(c, &q, MPC_CW_INPUT, j->id);
    strcpy(q.name, name);
    q.mode = MPC_CW_MASKED;
    q.count = n;
    int64_t deadline = (int64_t)mpc_now_ms() + c->cfg.timeout_ms;
    int r = 0;
    for (uint32_t p = 0; p < j->k && !r; p++) {
        void *payload = sodium_malloc((size_t)n * 8);   /* ownership moves to ZeroMQ */
        if (!payload) return s_seterr(c, MPC_ERR_NOMEM, "job %s: out of memory", j->id_hex);
        memcpy(payload, delta, (size_t)n * 8);
        r = mpc_client_send_req(c, j->daemon_of[p], &q, payload, (size_t)n * 8, deadline, j->id_hex);
    }
    for (uint32_t p = 0; p < j->k && !r; p++) {
        mpc_cwire_rep rep;
        r = mpc_client_recv_rep(c, j->daemon_of[p], q.rid, MPC_CW_INPUT, deadline, &rep, NULL, j->id_hex);
    }
    return r;
}

void mpc_job_note_security(mpc_job *j, uint32_t d, int malicious)
{
    j->sec_seen[malicious ? 1 : 0] = (int)d + 1;
    if (malicious) j->malicious = 1;
}

/* Input i's check: the k records verified together give r mod 2^64 (in guarded memory, wiped);
 * only then delta = x − r.  0, or MPC_ERR_CRYPTO with the refusal set (nothing sent: the
 * caller sends only after every input passed), or MPC_ERR_NOMEM. */
static int s_check(mpc_client *c, mpc_job *j, const char *name, const mpc_share_buf *sb, const uint64_t *x,
                   uint64_t n, uint64_t *delta)
{
    uint64_t *r = sodium_allocarray((size_t)n, 8);
    if (!r) return s_seterr(c, MPC_ERR_NOMEM, "job %s: out of memory", j->id_hex);
    const uint8_t *recs[MPC_MAX_PARTIES];
    for (uint32_t p = 0; p < j->k; p++) recs[p] = (const uint8_t *)sb[p].w;
    int why = 0;
    uint32_t who = 0;
    int rc = mpc_vcheck_verify(recs, j->k, n, r, &why, &who);
    if (!rc)
        for (uint64_t l = 0; l < n; l++) delta[l] = x[l] - r[l];
    sodium_free(r);   /* wipes */
    if (rc == MPC_ERR_CRYPTO) {   /* which daemon cannot be told (a record names the others' commitments) */
        char names[MPC_MAX_PARTIES * (MPC_NAME_MAX + 2)];
        s_names(c, j, names, sizeof names);
        return s_seterr(c, rc, "job %s: input '%s': the daemons' mask shares are inconsistent (one of daemons %s "
                        "cheated): no input was given", j->id_hex, name, names);
    }
    if (rc) return s_seterr(c, rc, "job %s: input '%s': cannot check the daemons' mask records: %s", j->id_hex, name,
                            mpc_strerror(rc));
    return 0;
}

/* Every given input (vals[i] non-NULL) at once: the claims first (every MASK with no wait),
 * so the job can start however many inputs this client gives; then each input's records,
 * every check; only if all pass, the masked vectors.  sb: k record buffers per input
 * (guarded, wiped when freed). */
int mpc_job_auth_inputs(mpc_client *c, mpc_job *j, uint64_t *const *vals)
{
    const mpc_circuit *cc = j->circ;
    mpc_share_buf *sb = calloc((size_t)cc->n_inputs * j->k + 1, sizeof *sb);
    uint64_t **delta = calloc(cc->n_inputs + 1, sizeof *delta);
    mpc_cwire_req *q = calloc(cc->n_inputs + 1, sizeof *q);
    int r = sb && delta && q ? 0 : s_seterr(c, MPC_ERR_NOMEM, "job %s: out of memory", j->id_hex);
    if (!r && j->sec_seen[0])   /* a semi-honest daemon would take a seed-shared input; none is given */
        r = s_seterr(c, MPC_ERR_CONFIG,
                     "job %s: daemon %s runs security = semi-honest, daemon %s malicious: the job's daemons disagree; "
                     "no input was given", j->id_hex, mpc_client_dname(c, (uint32_t)j->sec_seen[0] - 1),
                     mpc_client_dname(c, (uint32_t)j->sec_seen[1] - 1));
    for (uint32_t i = 0; i < cc->n_inputs && !r; i++) {
        uint64_t n = cc->inputs[i].len;
        if (!vals[i]) continue;
        size_t bytes = mpc_vcheck_record_bytes(n, j->k);
        if (!bytes || n > MPC_CWIRE_MAX_COUNT)
            r = s_seterr(c, MPC_ERR_LIMIT, "job %s: input '%s' is too long for an authenticated input", j->id_hex,
                         cc->inputs[i].name);
        for (uint32_t p = 0; p < j->k && !r; p++) {
            mpc_share_buf *b = &sb[i * j->k + p];
            *b = (mpc_share_buf){sodium_malloc(bytes), n, bytes / 8};
            if (!b->w) r = s_seterr(c, MPC_ERR_NOMEM, "job %s: out of memory", j->id_hex);
        }
        if (!r && !(delta[i] = sodium_allocarray((size_t)n, 8)))
            r = s_seterr(c, MPC_ERR_NOMEM, "job %s: out of memory", j->id_hex);
        mpc_client_req_init(c, &q[i], MPC_CW_MASK, j->id);
        strcpy(q[i].name, cc->inputs[i].name);
        q[i].count = n;
        int ready;   /* the claim; the records come below (the job has not run yet) */
        for (uint32_t p = 0; p < j->k && !r; p++) r = s_mask_ask(c, j, p, &q[i], 0, &sb[i * j->k + p], &ready);
    }
    for (uint32_t i = 0; i < cc->n_inputs && !r; i++) {
        if (!vals[i]) continue;
        r = s_masks(c, j, &q[i], sb + (size_t)i * j->k);
        if (!r) r = s_check(c, j, q[i].name, sb + (size_t)i * j->k, vals[i], cc->inputs[i].len, delta[i]);
    }
    for (uint32_t i = 0; i < cc->n_inputs && !r; i++)
        if (vals[i]) r = s_send_masked(c, j, q[i].name, delta[i], cc->inputs[i].len);
    for (size_t i = 0; sb && i < (size_t)cc->n_inputs * j->k; i++)
        if (sb[i].w) sodium_free(sb[i].w);   /* wipes */
    for (uint32_t i = 0; delta && i < cc->n_inputs; i++)
        if (delta[i]) sodium_free(delta[i]);
    free(sb);
    free(delta);
    free(q);
    return r;
}
