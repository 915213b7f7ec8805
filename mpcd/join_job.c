/* join_job.c — private joins inside a job: key columns from clients, readiness, and the run
 * before the engine (join_job.h; docs/join.md, "Calling it from the daemon"). */
#include "join_job.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "engine.h"
#include "join.h"
#include "joindecl.h"
#include "log.h"
#include "metrics.h"
#include "mpc_err.h"

/* A job's key columns at this daemon: one per (join, side) this party plays. */
struct mpcd_join_state {
    mpc_join_keys keys[MPC_JOIN_MAX_DECLS][2];
    uint8_t       have[MPC_JOIN_MAX_DECLS][2];
};

/* Message sequence numbers on the join stream (type MPC_MSG_INPUT for the re-shares,
 * MPC_MSG_CONTROL for the outcomes); the join itself uses MPC_MSG_INPUT from MPC_JOIN_SEQ0,
 * below 2^40. */
#define S_SEQ_RESHARE(i, col) ((((uint64_t)0x100 + (i)) << 40) | (uint64_t)(col))
#define S_SEQ_OUTCOME(i)      (((uint64_t)0x200 + (i)) << 40)

/* Causes in an outcome message (word 1); word 0 is the MPC_ERR_* code. */
enum { S_OK = 0, S_DUP_A = 1, S_DUP_B = 2, S_DUP_AB = 3, S_SALT = 4, S_OTHER = 5 };
static const char *const s_cause_text[] = {
    "", "duplicate keys on side A", "duplicate keys on side B", "duplicate keys on sides A and B",
    "the parties disagree on the join's salt", NULL,
};

static int s_split(const char *name, char *table, char *key)
{
    const char *dot = strchr(name, '.');
    if (!dot || dot == name || !dot[1] || strchr(dot + 1, '.') || (size_t)(dot - name) >= MPC_NAME_MAX) return -1;
    memcpy(table, name, (size_t)(dot - name));
    table[dot - name] = 0;
    snprintf(key, MPC_NAME_MAX, "%s", dot + 1);
    return 0;
}

void mpcd_join_wipe(mpcd_job *job)
{
    struct mpcd_join_state *st = job->join;
    if (!st) return;
    for (uint32_t i = 0; i < MPC_JOIN_MAX_DECLS; i++)
        for (int s = 0; s < 2; s++) {
            mpc_join_keys *k = &st->keys[i][s];
            if (k->data && k->off) sodium_memzero(k->data, (size_t)k->off[k->rows]);
            if (k->off) sodium_memzero(k->off, (size_t)(k->rows + 1) * 8);
            free(k->data);
            free(k->off);
        }
    sodium_memzero(st, sizeof *st);
    free(st);
    job->join = NULL;
}

/* The offsets and keys of a KEYS payload: offsets from 0 up to key_bytes, every key of 1 to
 * MPC_JOIN_KEY_MAX bytes and canonical as it stands. */
static int s_keys_check(const mpc_cwire_req *req, const uint64_t *off, const uint8_t *data, char *err, size_t errlen)
{
    if (off[0] != 0 || off[req->count] != req->key_bytes) {
        snprintf(err, errlen, "key column '%s': the offsets do not span the key bytes", req->name);
        return MPC_ERR_INPUT;
    }
    for (uint64_t i = 0; i < req->count; i++) {
        if (off[i + 1] < off[i] || off[i + 1] - off[i] < 1 || off[i + 1] - off[i] > MPC_JOIN_KEY_MAX ||
            off[i + 1] > req->key_bytes) {
            snprintf(err, errlen, "key column '%s': row %llu has no key or one longer than %d bytes", req->name,
                     (unsigned long long)i + 1, MPC_JOIN_KEY_MAX);
            return MPC_ERR_INPUT;
        }
        size_t start = 0, len = 0;
        char why[200];
        size_t n = (size_t)(off[i + 1] - off[i]);
        if (mpc_join_key_canon((const char *)data + off[i], n, &start, &len, why, sizeof why) != 0 || start != 0 ||
            len != n) {
            snprintf(err, errlen, "key column '%s': row %llu is not a canonical key", req->name, (unsigned long long)i + 1);
            return MPC_ERR_INPUT;
        }
    }
    return 0;
}

int mpcd_join_keys_put(const mpcd_config *cfg, mpcd_job *job, const mpcd_client_conf *cl, const mpc_cwire_req *req,
                       const uint8_t *payload, size_t plen, char *err, size_t errlen)
{
    const mpc_circuit *c = job->circ;
    char table[MPC_NAME_MAX], key[MPC_NAME_MAX];
    if (s_split(req->name, table, key) != 0) {
        snprintf(err, errlen, "'%s' is not TABLE.KEYCOLUMN", req->name);
        return MPC_ERR_INVALID;
    }
    if (job->my_party == UINT32_MAX) {
        snprintf(err, errlen, "this daemon is not a party of the job");
        return MPC_ERR_INVALID;
    }
    /* Which sides of which joins this column is: every one of this daemon's party. */
    uint32_t match = 0, other_party = UINT32_MAX;
    for (uint32_t i = 0; i < c->n_joins && i < MPC_JOIN_MAX_DECLS; i++)
        for (int s = 0; s < 2; s++) {
            const mpc_join_decl *d = &c->joins[i];
            if (strcmp(d->table[s], table) || strcmp(d->key[s], key)) continue;
            if (d->party[s] == job->my_party) match |= 1u << (2 * i + (uint32_t)s);
            else other_party = d->party[s];
        }
    if (!match && other_party != UINT32_MAX) {
        snprintf(err, errlen, "the key column '%s' goes to the daemon of party %s only", req->name,
                 cfg->parties[job->binding[other_party]].name);
        return MPC_ERR_DENIED;
    }
    if (!match) {
        snprintf(err, errlen, "the program joins no table '%s' on key column '%s'", table, key);
        return MPC_ERR_NOTFOUND;
    }
    uint32_t owner = job->binding[job->my_party];
    if (!(cl->input_for & (1u << owner))) {
        snprintf(err, errlen, "client '%s' may not give input for party %s (key column '%s')", cl->name,
                 cfg->parties[owner].name, req->name);
        return MPC_ERR_DENIED;
    }
    if (job->state != MPCD_JOB_QUEUED && job->state != MPCD_JOB_WAITING) {
        snprintf(err, errlen, "the job is %s and takes no more inputs", mpcd_job_state_names[job->state]);
        return MPC_ERR_STATE;
    }
    for (uint32_t b = 0; b < 2 * MPC_JOIN_MAX_DECLS; b++) {
        if (!(match & (1u << b))) continue;
        const mpc_join_decl *d = &c->joins[b / 2];
        if (req->count != d->rows[b % 2]) {
            snprintf(err, errlen, "key column '%s' has %llu rows, the program's table has %llu", req->name,
                     (unsigned long long)req->count, (unsigned long long)d->rows[b % 2]);
            return MPC_ERR_INPUT;
        }
        if (job->join && job->join->have[b / 2][b % 2]) {
            snprintf(err, errlen, "key column '%s' was already given", req->name);
            return MPC_ERR_STATE;
        }
    }
    if (plen != (size_t)(req->count + 1) * 8 + (size_t)req->key_bytes) {
        snprintf(err, errlen, "key column '%s': the payload does not match its header", req->name);
        return MPC_ERR_PROTOCOL;
    }
    uint64_t *off = malloc((size_t)(req->count + 1) * 8);
    if (!off) {
        snprintf(err, errlen, "out of memory");
        return MPC_ERR_NOMEM;
    }
    memcpy(off, payload, (size_t)(req->count + 1) * 8);   /* aligned, little-endian host */
    const uint8_t *data = payload + (size_t)(req->count + 1) * 8;
    int r = s_keys_check(req, off, data, err, errlen);
    if (!r && !job->join && !(job->join = calloc(1, sizeof *job->join))) r = MPC_ERR_NOMEM;
    for (uint32_t b = 0; !r && b < 2 * MPC_JOIN_MAX_DECLS; b++) {
        if (!(match & (1u << b))) continue;
        mpc_join_keys *k = &job->join->keys[b / 2][b % 2];
        k->off = malloc((size_t)(req->count + 1) * 8);
        k->data = malloc((size_t)req->key_bytes);
        if (!k->off || !k->data) {
            free(k->off);
            free(k->data);
            k->off = NULL;
            k->data = NULL;
            r = MPC_ERR_NOMEM;
            break;
        }
        memcpy(k->off, off, (size_t)(req->count + 1) * 8);
        memcpy(k->data, data, (size_t)req->key_bytes);
        k->rows = req->count;
        job->join->have[b / 2][b % 2] = 1;
    }
    if (r == MPC_ERR_NOMEM) snprintf(err, errlen, "out of memory");
    sodium_memzero(off, (size_t)(req->count + 1) * 8);
    free(off);
    return r;
}

int mpcd_join_keys_ready(const mpcd_job *job, uint32_t *missing)
{
    const mpc_circuit *c = job->circ;
    if (job->my_party == UINT32_MAX) return 1;
    for (uint32_t i = 0; i < c->n_joins && i < MPC_JOIN_MAX_DECLS; i++)
        for (uint32_t s = 0; s < 2; s++)
            if (c->joins[i].party[s] == job->my_party && !(job->join && job->join->have[i][s])) {
                if (missing) *missing = c->n_inputs + 2 * i + s;
                return 0;
            }
    return 1;
}

const char *mpcd_join_missing_name(const mpcd_job *job, uint32_t missing, char *buf, size_t cap)
{
    const mpc_circuit *c = job->circ;
    if (missing < c->n_inputs) return c->inputs[missing].name;
    uint32_t b = missing - c->n_inputs;
    if (b / 2 >= c->n_joins) return "?";
    const mpc_join_decl *d = &c->joins[b / 2];
    snprintf(buf, cap, "%s.%s (key column)", d->table[b % 2], d->key[b % 2]);
    return buf;
}

/* ---- The run ------------------------------------------------------------------------- */

typedef struct {
    mpcd_jobs     *jobs;
    mpcd_job      *job;
    mpc_transport *t;
    uint32_t       me, n;
    uint64_t       stream;
    int            timeout_ms;
    uint64_t       deadline_ms;
    uint64_t *const *stored;
    char          *reason;
    size_t         rlen;
} s_run;

/* This party's share of circuit input k (len words) into out. */
static int s_share_of(const s_run *x, uint32_t k, uint64_t *out)
{
    const mpcd_job_input *in = &x->job->inputs[k];
    uint64_t len = x->job->circ->inputs[k].len;
    if (in->mode == MPC_IN_SEED && in->seed) return mpc_cwire_seed_expand(out, len, in->seed, k);
    const uint64_t *v = in->mode == MPC_IN_STORED && !in->share && x->stored ? x->stored[k] : in->share;
    if (!v) return MPC_ERR_INPUT;
    memcpy(out, v, (size_t)len * 8);
    return 0;
}

/* The join's timeout: see MPCD_JOIN_US_PER_ROW. */
static int s_timeout(int peer_ms, const mpc_join_decl *d)
{
    int64_t t = (int64_t)(peer_ms > 0 ? peer_ms : 10000) + (int64_t)((d->rows[0] + d->rows[1]) * MPCD_JOIN_US_PER_ROW / 1000);
    return (int)(t > MPCD_JOIN_TIMEOUT_MAX_MS ? MPCD_JOIN_TIMEOUT_MAX_MS : t);
}

static void s_salt(const mpcd_job *job, uint32_t i, uint8_t salt[32])
{
    crypto_generichash_state st;
    static const char label[] = "mpcd-join-salt-v1";
    uint8_t idx = (uint8_t)i;
    crypto_generichash_init(&st, NULL, 0, 32);
    crypto_generichash_update(&st, (const uint8_t *)label, sizeof label);
    crypto_generichash_update(&st, job->id, MPCD_JOB_ID_BYTES);
    crypto_generichash_update(&st, job->hash, 32);
    crypto_generichash_update(&st, &idx, 1);
    crypto_generichash_final(&st, salt, 32);
}

static int s_cause_of(int rc, const char *err)
{
    if (rc == 0) return S_OK;
    if (strstr(err, "duplicate keys on sides A and B")) return S_DUP_AB;
    if (strstr(err, "duplicate keys on side A")) return S_DUP_A;
    if (strstr(err, "duplicate keys on side B")) return S_DUP_B;
    if (strstr(err, "disagree on the join's salt")) return S_SALT;
    return S_OTHER;
}

/* A third party's part: re-shares its shares of every payload column to A and B (r to A,
 * own − r to B), one message a column. */
static int s_reshare(const s_run *x, uint32_t i, const mpc_join_decl *d)
{
    uint32_t col = 0;
    int rc = 0;
    for (int s = 0; s < 2 && !rc; s++)
        for (uint32_t c = 0; c < d->n_cols[s] && !rc; c++, col++) {
            uint64_t len = d->rows[s];
            uint64_t *v = malloc((size_t)len * 8), *r = malloc((size_t)len * 8);
            if (!v || !r) rc = MPC_ERR_NOMEM;
            if (!rc) rc = s_share_of(x, d->col[s][c], v);
            if (!rc) {
                randombytes_buf(r, (size_t)len * 8);
                rc = mpc_send(x->t, d->party[0], MPC_MSG_INPUT, x->stream, S_SEQ_RESHARE(i, col), r, len);
                for (uint64_t e = 0; e < len; e++) v[e] -= r[e];
                if (!rc) rc = mpc_send(x->t, d->party[1], MPC_MSG_INPUT, x->stream, S_SEQ_RESHARE(i, col), v, len);
            }
            if (v) sodium_memzero(v, (size_t)len * 8);
            if (r) sodium_memzero(r, (size_t)len * 8);
            free(v);
            free(r);
        }
    if (rc) snprintf(x->reason, x->rlen, "join '%s': cannot re-share the payload columns: %s", d->name, mpc_strerror(rc));
    return rc;
}

/* A's or B's part: its shares of both sides' payload columns (plus every third party's
 * re-shares), the join, and *out. */
static int s_join_side(const s_run *x, uint32_t i, const mpc_join_decl *d, int side, mpc_join_out *out)
{
    uint64_t words[2] = {(uint64_t)d->n_cols[0] * d->rows[0], (uint64_t)d->n_cols[1] * d->rows[1]};
    uint64_t *sh[2] = {calloc(words[0] ? words[0] : 1, 8), calloc(words[1] ? words[1] : 1, 8)};
    uint64_t *tmp = calloc((size_t)(d->rows[0] > d->rows[1] ? d->rows[0] : d->rows[1]), 8);
    char err[MPCD_REASON_MAX];
    int rc = sh[0] && sh[1] && tmp ? 0 : MPC_ERR_NOMEM;
    uint32_t col = 0;
    for (int s = 0; s < 2 && !rc; s++)
        for (uint32_t c = 0; c < d->n_cols[s] && !rc; c++, col++) {
            uint64_t *dst = sh[s] + (uint64_t)c * d->rows[s];
            rc = s_share_of(x, d->col[s][c], dst);
            for (uint32_t p = 0; p < x->n && !rc; p++) {
                if (p == d->party[0] || p == d->party[1]) continue;
                rc = mpc_recv(x->t, p, MPC_MSG_INPUT, x->stream, S_SEQ_RESHARE(i, col), tmp, d->rows[s], x->timeout_ms);
                for (uint64_t e = 0; !rc && e < d->rows[s]; e++) dst[e] += tmp[e];
            }
        }
    if (rc) {
        snprintf(x->reason, x->rlen, "join '%s': cannot gather the payload shares: %s", d->name, mpc_strerror(rc));
    } else {
        const mpc_join_keys *k = &x->job->join->keys[i][side];
        mpc_join_in in = {
            .rows = d->rows[side], .key_data = k->data, .key_off = k->off,
            .cols_a = d->n_cols[0], .cols_b = d->n_cols[1],
            .share_a = sh[0], .share_b = sh[1], .peer_rows = d->rows[1 - side],
            .timeout_ms = x->timeout_ms,
            .stop = &x->job->cancel, .deadline_ms = x->deadline_ms,
        };
        s_salt(x->job, i, in.salt);
        err[0] = 0;
        rc = mpc_join_run(x->t, d->party[1 - side], side ? MPC_JOIN_B : MPC_JOIN_A, x->stream, &in, out, err, sizeof err);
        sodium_memzero(in.salt, sizeof in.salt);
        if (rc) {
            const char *e = strncmp(err, "join: ", 6) ? err : err + 6;
            snprintf(x->reason, x->rlen, "join '%s': %s", d->name, e[0] ? e : mpc_strerror(rc));
        }
    }
    for (int s = 0; s < 2; s++)
        if (sh[s]) sodium_memzero(sh[s], (size_t)(words[s] ? words[s] : 1) * 8);
    if (tmp) sodium_memzero(tmp, (size_t)(d->rows[0] > d->rows[1] ? d->rows[0] : d->rows[1]) * 8);
    free(sh[0]);
    free(sh[1]);
    free(tmp);
    return rc;
}

/* Every party tells every other its outcome of join i and hears theirs; the first failure
 * (A's, then B's, then the others' in party order) names the cause everywhere. */
static int s_outcomes(const s_run *x, uint32_t i, const mpc_join_decl *d, int rc)
{
    uint64_t mine[2] = {(uint64_t)(int64_t)rc, (uint64_t)s_cause_of(rc, x->reason)};
    for (uint32_t p = 0; p < x->n; p++)
        if (p != x->me) (void)mpc_send(x->t, p, MPC_MSG_CONTROL, x->stream, S_SEQ_OUTCOME(i), mine, 2);
    int first = rc;
    for (uint32_t p = 0; p < x->n; p++) {
        if (p == x->me) continue;
        uint64_t th[2] = {0, 0};
        int e = mpc_recv(x->t, p, MPC_MSG_CONTROL, x->stream, S_SEQ_OUTCOME(i), th, 2, x->timeout_ms);
        if (first) continue;   /* our own cause stands */
        if (e) {
            first = e;
            snprintf(x->reason, x->rlen, "join '%s': no outcome from party %s: %s", d->name,
                     x->job->circ->party_names[p], mpc_strerror(e));
        } else if (th[0]) {
            first = (int)(int64_t)th[0];
            if (first >= 0 || first < -1000) first = MPC_ERR_PROTOCOL;
            const char *cause = th[1] >= 1 && th[1] <= 4 ? s_cause_text[th[1]] : mpc_strerror(first);
            snprintf(x->reason, x->rlen, "join '%s' failed at party %s: %s", d->name, x->job->circ->party_names[p], cause);
        }
    }
    return first;
}

/* Lock NOT held.  Sets the join outputs of join d from out (A, B) or zeros (others). */
static int s_set_outputs(const s_run *x, const mpc_join_decl *d, const mpc_join_out *out)
{
    uint32_t n_out = 1 + d->n_cols[0] + d->n_cols[1];
    uint64_t rows = d->rows[1];
    uint64_t *v[1 + 2 * MPC_JOIN_MAX_PAYLOAD];
    int rc = 0;
    for (uint32_t o = 0; o < n_out; o++) {
        v[o] = calloc((size_t)rows, 8);
        if (!v[o]) rc = MPC_ERR_NOMEM;
        else if (out && out->share && out->cols == n_out && out->rows == rows)
            memcpy(v[o], out->share + (uint64_t)o * rows, (size_t)rows * 8);
    }
    mpcd_jobs_lock(x->jobs);
    for (uint32_t o = 0; o < n_out; o++) {
        mpcd_job_input *in = &x->job->inputs[d->out[o]];
        if (!rc && !in->share) {
            in->share = v[o];
            v[o] = NULL;
            in->mode = MPC_IN_STORED;
            in->present = 1;
            snprintf(in->giver, sizeof in->giver, "join");
        }
        if (v[o]) {
            sodium_memzero(v[o], (size_t)rows * 8);
            free(v[o]);
        }
    }
    mpcd_jobs_unlock(x->jobs);
    if (rc) snprintf(x->reason, x->rlen, "join '%s': out of memory", d->name);
    return rc;
}

int mpcd_join_execute(mpcd_jobs *jobs, mpcd_job *job, mpc_transport *view, uint32_t me, uint64_t stream,
                      int peer_timeout_ms, uint64_t deadline_ms, uint64_t *const *stored, char *reason, size_t rlen)
{
    const mpc_circuit *c = job->circ;
    s_run x = {jobs, job, view, me, c->n_parties, MPCD_JOIN_STREAM(stream), 0, deadline_ms, stored, reason, rlen};
    int rc = 0;
    for (uint32_t i = 0; i < c->n_joins && !rc; i++) {
        const mpc_join_decl *d = &c->joins[i];
        x.timeout_ms = s_timeout(peer_timeout_ms, d);
        int side = d->party[0] == me ? 0 : d->party[1] == me ? 1 : -1;
        mpc_join_out out;
        memset(&out, 0, sizeof out);
        uint64_t t0 = mpc_now_ms();
        reason[0] = 0;
        if (side < 0) rc = s_reshare(&x, i, d);
        else if (!job->join || !job->join->have[i][side]) {
            rc = MPC_ERR_INPUT;
            snprintf(reason, rlen, "join '%s': the key column is not here", d->name);
        } else {
            rc = s_join_side(&x, i, d, side, &out);
        }
        rc = s_outcomes(&x, i, d, rc);
        if (!rc) rc = s_set_outputs(&x, d, side >= 0 ? &out : NULL);
        mpcd_metrics_join(rc == 0);
        if (!rc && side == 0)
            mpcd_info(job->id_hex, "join '%s': %llu of B's %llu rows matched (the intersection size, which side A "
                      "learns), %llu ms, %llu bytes sent", d->name, (unsigned long long)out.intersection,
                      (unsigned long long)d->rows[1], (unsigned long long)(mpc_now_ms() - t0),
                      (unsigned long long)out.bytes_sent);
        else if (!rc)
            mpcd_info(job->id_hex, "join '%s': done (%s), %llu ms", d->name,
                      side == 1 ? "side B" : "re-shared this party's payload shares",
                      (unsigned long long)(mpc_now_ms() - t0));
        mpc_join_out_free(&out);
    }
    mpc_transport_forget(view, x.stream);
    if (rc && !reason[0]) snprintf(reason, rlen, "join: %s", mpc_strerror(rc));
    return rc;
}
