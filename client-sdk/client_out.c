/* client_out.c — the client SDK (mpcclient.h): outputs (fetched from every daemon holding a
 * share and reconstructed here, with the release rules' notes) and status (of the daemons,
 * a job, the jobs).  client.c holds the connections and the requests both use. */
#include "mpc_err.h"
#include "mpcclient.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "circuit.h"
#include "client_conf.h"
#include "client_int.h"
#include "clock.h"
#include "cwire.h"
#include "value.h"
#include "vcheck.h"

#define s_seterr mpc_client_seterr   /* client_int.h */
#define S_DEFAULT_WAIT   600000      /* mpc_job_output with timeout < 0 */

/* --------------------------------------------------------------------------------------- *
 * Outputs and status */

static void s_fill_status(mpc_daemon_status *st, const mpc_cwire_rep *rep)
{
    st->reachable = 1;
    st->jobs_queued = rep->info.jobs_queued;
    st->jobs_running = rep->info.jobs_running;
    st->jobs_done = rep->info.jobs_done;
    st->jobs_failed = rep->info.jobs_failed;
    st->triples_stock = rep->info.triples_stock;
    st->triples_per_s = rep->info.triples_per_s;
    st->has_job = rep->has_job;
    if (rep->has_job) {
        st->state = rep->job.state;
        snprintf(st->state_name, sizeof st->state_name, "%s", mpc_job_state_name(rep->job.state));
        snprintf(st->reason, sizeof st->reason, "%s", rep->job.reason);
        st->layers_done = rep->job.layers_done;
        st->layers_total = rep->job.layers_total;
        st->triples_used = rep->job.triples_used;
        st->inputs_given = rep->job.inputs_given;
        st->inputs_total = rep->job.inputs_total;
        st->prep_made = rep->job.prep_made;
        st->prep_needed = rep->job.prep_needed;
        st->prep_per_s = rep->job.prep_per_s;
    }
    st->n_peers = rep->n_peers < MPC_STATUS_MAX_PEERS ? rep->n_peers : MPC_STATUS_MAX_PEERS;
    for (size_t i = 0; i < st->n_peers; i++) {
        snprintf(st->peers[i].name, sizeof st->peers[i].name, "%s", rep->peers[i].name);
        st->peers[i].state = rep->peers[i].state;
        st->peers[i].for_ms = rep->peers[i].for_ms;
    }
}

/* Sends request q to the daemons ds[0..n-1] at once and takes their replies as they come
 * (zmq_poll): each daemon has the whole timeout of its own, so a slow, frozen or unreachable
 * daemon costs the others nothing and is the only one reported silent.  reps[i] and errs[i]
 * (0 or an MPC_ERR_*) are daemon ds[i]'s; msgs[i] says why when errs[i] != 0.  The client's
 * error message is left as it was. */
static void s_ask_all(mpc_client *c, const mpc_cwire_req *q, const char *job_hex, const uint32_t *ds, uint32_t n,
                      mpc_cwire_rep *reps, int *errs, char (*msgs)[512])
{
    char saved[S_ERRMSG_MAX];
    memcpy(saved, c->errmsg, sizeof saved);
    enum { TO_SEND, TO_RECV, DONE };
    int phase[MPC_MAX_PARTIES];
    int64_t deadline = (int64_t)mpc_now_ms() + c->cfg.timeout_ms;
    for (uint32_t i = 0; i < n; i++) {
        phase[i] = TO_SEND;
        errs[i] = 0;
        msgs[i][0] = 0;
    }
    for (;;) {
        zmq_pollitem_t items[MPC_MAX_PARTIES];
        uint32_t who[MPC_MAX_PARTIES], k = 0;
        for (uint32_t i = 0; i < n; i++) {
            if (phase[i] == DONE) continue;
            items[k] = (zmq_pollitem_t){.socket = c->sock[ds[i]], .events = phase[i] == TO_SEND ? ZMQ_POLLOUT : ZMQ_POLLIN};
            who[k++] = i;
        }
        int64_t left = deadline - (int64_t)mpc_now_ms();
        if (k == 0 || left <= 0) break;
        if (zmq_poll(items, (int)k, left > 100 ? 100 : (long)left) < 0 && errno != EINTR) break;
        for (uint32_t x = 0; x < k; x++) {
            uint32_t i = who[x];
            if (phase[i] == TO_SEND && (items[x].revents & ZMQ_POLLOUT)) {
                int r = mpc_client_send_req(c, ds[i], q, NULL, 0, (int64_t)mpc_now_ms(), job_hex);
                if (r == 0) {
                    phase[i] = TO_RECV;
                } else if (r != MPC_ERR_IO || strstr(c->errmsg, "send failed")) {
                    errs[i] = r;
                    snprintf(msgs[i], sizeof msgs[i], "%.500s", c->errmsg);
                    phase[i] = DONE;
                }
            } else if (phase[i] == TO_RECV && (items[x].revents & ZMQ_POLLIN)) {
                int r = mpc_client_recv_rep(c, ds[i], q->rid, q->type, (int64_t)mpc_now_ms(), &reps[i], NULL, job_hex);
                if (r == MPC_ERR_TIMEOUT) continue;   /* only a stale reply was there */
                phase[i] = DONE;
                errs[i] = r;
                if (r) snprintf(msgs[i], sizeof msgs[i], "%.500s", c->errmsg);
            }
        }
    }
    for (uint32_t i = 0; i < n; i++) {
        if (phase[i] == DONE) continue;
        errs[i] = phase[i] == TO_SEND ? MPC_ERR_IO : MPC_ERR_TIMEOUT;
        snprintf(msgs[i], sizeof msgs[i], "daemon %s: %s within %lld ms: %s", mpc_client_dname(c, ds[i]),
                 phase[i] == TO_SEND ? "unreachable" : "no reply", (long long)c->cfg.timeout_ms,
                 mpc_client_why_silent(c, ds[i]));
    }
    memcpy(c->errmsg, saved, sizeof saved);
}

/* STATUS to the daemons listed in ds[0..n-1], all at once (s_ask_all); st[i] for ds[i]. */
static void s_status(mpc_client *c, const uint8_t *job, const uint32_t *ds, uint32_t n, mpc_daemon_status *st)
{
    char job_hex[MPC_CWIRE_JOB_HEX + 1] = "-";
    if (job) mpc_cwire_job_hex(job, job_hex);
    mpc_cwire_req q;
    mpc_client_req_init(c, &q, MPC_CW_STATUS, job);
    q.has_job = job != NULL;
    mpc_cwire_rep *reps = calloc(n ? n : 1, sizeof *reps);
    int errs[MPC_MAX_PARTIES];
    char msgs[MPC_MAX_PARTIES][512];
    for (uint32_t i = 0; i < n; i++) {
        memset(&st[i], 0, sizeof st[i]);
        snprintf(st[i].daemon, sizeof st[i].daemon, "%s", mpc_client_dname(c, ds[i]));
        if (!reps) {
            st[i].error = MPC_ERR_NOMEM;
            snprintf(st[i].message, sizeof st[i].message, "out of memory");
        }
    }
    if (!reps) return;
    s_ask_all(c, &q, job_hex, ds, n, reps, errs, msgs);
    for (uint32_t i = 0; i < n; i++) {
        st[i].error = errs[i];
        if (errs[i] == 0) {
            s_fill_status(&st[i], &reps[i]);
        } else {
            /* an ERROR reply still means the daemon is there */
            st[i].reachable = errs[i] != MPC_ERR_IO && errs[i] != MPC_ERR_TIMEOUT;
            snprintf(st[i].message, sizeof st[i].message, "%.500s", msgs[i]);
        }
    }
    free(reps);
}

int mpc_client_status(mpc_client *c, const char *job_id, mpc_daemon_status *st, size_t cap)
{
    c->errmsg[0] = 0;
    if (cap < c->cfg.n_daemons)
        return s_seterr(c, MPC_ERR_INVALID, "status: room for %zu daemons, %u configured", cap, c->cfg.n_daemons);
    uint8_t job[MPC_CWIRE_JOB_BYTES];
    if (job_id && mpc_cwire_job_parse(job, job_id) != 0)
        return s_seterr(c, MPC_ERR_INVALID, "'%.40s' is not a job id (32 hex digits)", job_id);
    uint32_t ds[MPC_MAX_PARTIES];
    for (uint32_t d = 0; d < c->cfg.n_daemons; d++) ds[d] = d;
    s_status(c, job_id ? job : NULL, ds, c->cfg.n_daemons, st);
    return 0;
}

/* Rank of a job state when merging the daemons' views: the least advanced wins, a failure
 * anywhere wins over everything. */
static int s_state_rank(int state)
{
    return state == MPC_JOB_FAILED ? -1 : state;
}

int mpc_client_jobs(mpc_client *c, mpc_job_status **out, size_t *n_out)
{
    c->errmsg[0] = 0;
    *out = NULL;
    *n_out = 0;
    uint32_t n = c->cfg.n_daemons, ds[MPC_MAX_PARTIES] = {0};
    for (uint32_t d = 0; d < n; d++) ds[d] = d;
    mpc_cwire_req q;
    mpc_client_req_init(c, &q, MPC_CW_JOBS, NULL);
    mpc_cwire_rep *reps = calloc(n, sizeof *reps);
    size_t cap = (size_t)n * MPC_CWIRE_MAX_JOBS;
    mpc_job_status *js = mpc_client_alloc(cap * sizeof *js);
    if (!reps || !js) {
        free(reps);
        mpc_client_free(js);
        return s_seterr(c, MPC_ERR_NOMEM, "jobs: out of memory");
    }
    memset(js, 0, cap * sizeof *js);
    int errs[MPC_MAX_PARTIES];
    char msgs[MPC_MAX_PARTIES][512];
    s_ask_all(c, &q, "-", ds, n, reps, errs, msgs);
    size_t k = 0;
    uint32_t answered = 0;
    for (uint32_t d = 0; d < n; d++) {
        if (errs[d]) continue;
        answered++;
        for (uint32_t l = 0; l < reps[d].n_jobs; l++) {
            const mpc_cwire_job_line *ln = &reps[d].jobs[l];
            char hex[MPC_CWIRE_JOB_HEX + 1];
            mpc_cwire_job_hex(ln->id, hex);
            size_t x;
            for (x = 0; x < k; x++)
                if (!strcmp(js[x].id, hex)) break;
            mpc_job_status *j = &js[x];
            if (x == k) {
                k++;
                snprintf(j->id, sizeof j->id, "%s", hex);
                snprintf(j->submitter, sizeof j->submitter, "%s", ln->client);
                j->state = ln->state;
                j->age_s = ln->age_s;
                j->layers_done = ln->layers_done;
                j->layers_total = ln->layers_total;
                j->prep_made = ln->prep_made;
                j->prep_needed = ln->prep_needed;
            } else {
                if (s_state_rank(ln->state) < s_state_rank(j->state)) j->state = ln->state;
                if (ln->age_s > j->age_s) j->age_s = ln->age_s;
                if (ln->layers_done < j->layers_done) j->layers_done = ln->layers_done;
                if (ln->layers_total > j->layers_total) j->layers_total = ln->layers_total;
                if (ln->prep_needed && (!j->prep_needed || ln->prep_made < j->prep_made)) {
                    j->prep_made = ln->prep_made;
                    j->prep_needed = ln->prep_needed;
                }
            }
            j->n_daemons++;
            snprintf(j->state_name, sizeof j->state_name, "%s", mpc_job_state_name(j->state));
        }
    }
    free(reps);
    if (answered == 0) {
        mpc_client_free(js);
        return s_seterr(c, MPC_ERR_IO, "jobs: no daemon answered (%s)", msgs[0]);
    }
    *out = js;
    *n_out = k;
    return 0;
}

/* Keeps what rep (the first daemon's answer) says was withheld of output o.  0 or MPC_ERR_NOMEM. */
static int s_keep_withheld(mpc_job *j, uint32_t o, const mpc_cwire_rep *rep)
{
    uint32_t no = j->circ->n_outputs;
    if (!j->withheld_note) {
        j->withheld_note = calloc(no, sizeof *j->withheld_note);
        j->withheld_bits = calloc(no, sizeof *j->withheld_bits);
        if (!j->withheld_note || !j->withheld_bits) return MPC_ERR_NOMEM;
    }
    free(j->withheld_note[o]);
    free(j->withheld_bits[o]);
    j->withheld_note[o] = NULL;
    j->withheld_bits[o] = NULL;
    if (!rep || !rep->withheld[0]) return 0;
    size_t nb = (size_t)(rep->count + 7) / 8;
    j->withheld_note[o] = strdup(rep->withheld);
    j->withheld_bits[o] = malloc(nb);
    if (!j->withheld_note[o] || !j->withheld_bits[o]) return MPC_ERR_NOMEM;
    memcpy(j->withheld_bits[o], rep->withheld_bits, nb);
    return 0;
}

const char *mpc_job_output_note(const mpc_job *j, const char *name)
{
    int o = name ? mpc_job_find_output(j, name) : -1;
    return o >= 0 && j->withheld_note && j->withheld_note[o] ? j->withheld_note[o] : "";
}

int mpc_job_output_withheld(const mpc_job *j, const char *name, uint64_t i)
{
    int o = name ? mpc_job_find_output(j, name) : -1;
    if (o < 0 || !j->withheld_bits || !j->withheld_bits[o] || i >= j->circ->outputs[o].len) return 0;
    return j->withheld_bits[o][i / 8] >> (i % 8) & 1;
}

/* A checked output (security = malicious; protocols/engine_mal.h, "Checked outputs";
 * docs/security.md, "Checked client outputs"): each daemon's reply is its vector-check record
 * of the output (protocols/vcheck.h).  s_checked_keep takes daemon p's record out of the
 * receive buffer into recs[p] (kept, guarded, until every daemon's came; the buffer is made
 * again by the next reply) after checking it is sized for the job's k parties;
 * s_checked_open verifies the k records together (mpc_vcheck_verify) and writes the output
 * mod 2^64 into out only if they pass: 0, or MPC_ERR_CRYPTO / MPC_ERR_NOMEM with out zeroed. */
static int s_checked_keep(mpc_client *c, const mpc_job *j, uint32_t p, const mpc_cwire_rep *rep, mpc_share_buf *share,
                          uint64_t **recs, const char *name)
{
    if (rep->parties != j->k)
        return s_seterr(c, MPC_ERR_PROTOCOL, "daemon %s: job %s: output '%s': its record is for %u parties, the job "
                        "has %u: no value released", mpc_client_dname(c, j->daemon_of[p]), j->id_hex, name,
                        (unsigned)rep->parties, (unsigned)j->k);
    recs[p] = share->w;
    share->w = NULL;
    share->cap = 0;
    return 0;
}

static int s_checked_open(const mpc_job *j, uint64_t *const *recs, uint64_t n, uint64_t *out)
{
    const uint8_t *r8[MPC_MAX_PARTIES];
    for (uint32_t p = 0; p < j->k; p++) r8[p] = (const uint8_t *)recs[p];
    int why;
    uint32_t who;
    int r = mpc_vcheck_verify(r8, j->k, n, out, &why, &who);
    if (r) sodium_memzero(out, (size_t)n * 8);
    return r;
}

/* A ready RESULT reply of daemon p for output o (its share in *share): checked against the
 * first daemon's (*first, set by the first reply) and added to acc, or kept as a record
 * (checked outputs).  0, or an error with its message. */
static int s_take_share(mpc_client *c, const mpc_job *j, const mpc_output *o, uint32_t p, const mpc_cwire_rep *rep,
                        mpc_share_buf *share, uint64_t *acc, uint64_t **recs, mpc_cwire_rep **first)
{
    uint32_t d = j->daemon_of[p];
    const char *name = o->name;
    if (rep->vtype != o->type)
        return s_seterr(c, MPC_ERR_PROTOCOL, "daemon %s: job %s: output '%s' arrives as %s, the circuit says %s",
                        mpc_client_dname(c, d), j->id_hex, name, mpc_client_type_name(rep->vtype),
                        mpc_client_type_name(o->type));
    if (!*first && (*first = malloc(sizeof **first)) != NULL) **first = *rep;
    if (!*first) return s_seterr(c, MPC_ERR_NOMEM, "out of memory");
    if (strcmp((*first)->withheld, rep->withheld) != 0 ||
        memcmp((*first)->withheld_bits, rep->withheld_bits, sizeof rep->withheld_bits) != 0)
        return s_seterr(c, MPC_ERR_PROTOCOL, "daemon %s: job %s: output '%s': the daemons withheld different elements",
                        mpc_client_dname(c, d), j->id_hex, name);
    /* every daemon of a malicious job checks its outputs: one that does not is refused, so a
     * corrupt daemon cannot turn the client's check off */
    if ((*first)->checked != rep->checked)
        return s_seterr(c, MPC_ERR_CRYPTO, "output '%s': the daemons' shares are inconsistent (a daemon cheated): no "
                        "value released", name);
    if (rep->checked) return s_checked_keep(c, j, p, rep, share, recs, name);
    mpc_cwire_add(acc, share->w, o->len);
    return 0;
}

/* Asks every daemon holding a share of output o at once and takes the replies as they come
 * (zmq_poll), asking again each daemon that answers "not ready yet": a daemon's share
 * travels while another's is still being computed or sent.  Each request is held by its
 * daemon for up to `wait` ms (capped by the wire's limit and the progress interval); a daemon
 * that does not answer within its request's hold plus the configured timeout is reported
 * silent.  0 with every share taken (s_take_share), or an error with its message. */
static int s_fetch_shares(mpc_client *c, mpc_job *j, const mpc_output *o, int timeout_ms, mpc_share_buf *share,
                          uint64_t *acc, uint64_t **recs, mpc_cwire_rep **first)
{
    enum { S_ASK, S_HELD, S_DONE };
    int phase[MPC_MAX_PARTIES];
    uint64_t rid[MPC_MAX_PARTIES];
    int64_t ask_at[MPC_MAX_PARTIES], asked[MPC_MAX_PARTIES], held[MPC_MAX_PARTIES];
    int64_t start = (int64_t)mpc_now_ms();
    int64_t deadline = start + (timeout_ms < 0 ? S_DEFAULT_WAIT : timeout_ms);
    int64_t next_progress = start + c->progress_ms;
    uint32_t left = j->k;
    for (uint32_t p = 0; p < j->k; p++) {
        phase[p] = S_ASK;
        ask_at[p] = start;
    }
    mpc_cwire_req q;
    mpc_client_req_init(c, &q, MPC_CW_RESULT, j->id);
    strcpy(q.name, o->name);
    while (left) {
        if (mpc_client_interrupted(c))
            return s_seterr(c, MPC_ERR_CANCELLED, "job %s: interrupted while waiting for output '%s'", j->id_hex, o->name);
        int64_t now = (int64_t)mpc_now_ms(), tmo = 100;
        for (uint32_t p = 0; p < j->k; p++) {
            if (phase[p] == S_ASK && ask_at[p] <= now) {
                int64_t wait = deadline - now < 0 ? 0 : deadline - now;
                if (wait > MPC_CWIRE_MAX_WAIT_MS) wait = MPC_CWIRE_MAX_WAIT_MS;
                if (c->progress && wait > c->progress_ms) wait = c->progress_ms;
                q.rid = rid[p] = c->next_rid++;
                q.wait_ms = (uint32_t)wait;
                asked[p] = now;
                held[p] = wait;
                int r = mpc_client_send_req(c, j->daemon_of[p], &q, NULL, 0, now + c->cfg.timeout_ms, j->id_hex);
                if (r) return r;
                phase[p] = S_HELD;
            }
            if (phase[p] == S_ASK && ask_at[p] - now < tmo) tmo = ask_at[p] - now;
            if (phase[p] == S_HELD && now >= asked[p] + held[p] + c->cfg.timeout_ms)
                return s_seterr(c, MPC_ERR_TIMEOUT, "daemon %s: job %s: no reply within the deadline: %s",
                                mpc_client_dname(c, j->daemon_of[p]), j->id_hex, mpc_client_why_silent(c, j->daemon_of[p]));
        }
        zmq_pollitem_t items[MPC_MAX_PARTIES];
        uint32_t who[MPC_MAX_PARTIES], k = 0;
        for (uint32_t p = 0; p < j->k; p++)
            if (phase[p] == S_HELD) {
                items[k] = (zmq_pollitem_t){.socket = c->sock[j->daemon_of[p]], .events = ZMQ_POLLIN};
                who[k++] = p;
            }
        if (zmq_poll(items, (int)k, (long)(tmo < 0 ? 0 : tmo)) < 0 && errno != EINTR)
            return s_seterr(c, MPC_ERR_IO, "job %s: waiting for output '%s': %s", j->id_hex, o->name, zmq_strerror(errno));
        for (uint32_t x = 0; x < k; x++) {
            uint32_t p = who[x], d = j->daemon_of[p];
            if (!(items[x].revents & ZMQ_POLLIN)) continue;
            char saved[sizeof c->errmsg];
            memcpy(saved, c->errmsg, sizeof saved);
            mpc_cwire_rep rep;
            int r = mpc_client_recv_rep(c, d, rid[p], MPC_CW_RESULT, (int64_t)mpc_now_ms(), &rep, share, j->id_hex);
            if (r == MPC_ERR_TIMEOUT) {   /* only a stale reply was there */
                memcpy(c->errmsg, saved, sizeof saved);
                continue;
            }
            if (r) return r;
            if (rep.ready) {
                if ((r = s_take_share(c, j, o, p, &rep, share, acc, recs, first)) != 0) return r;
                phase[p] = S_DONE;
                left--;
                continue;
            }
            if (rep.state == MPC_JOB_FAILED)
                return s_seterr(c, MPC_ERR_PEER_ABORT, "daemon %s: job %s: failed", mpc_client_dname(c, d), j->id_hex);
            now = (int64_t)mpc_now_ms();
            if (now >= deadline)
                return s_seterr(c, MPC_ERR_TIMEOUT, "daemon %s: job %s: output '%s' not ready after %d ms (job %s)",
                                mpc_client_dname(c, d), j->id_hex, o->name, timeout_ms < 0 ? S_DEFAULT_WAIT : timeout_ms,
                                mpc_job_state_name(rep.state));
            /* a daemon that answers "not yet" long before its hold ends is not holding the
             * request: pace the asks instead of spinning */
            int64_t early = asked[p] + held[p] - now;
            ask_at[p] = now + (early > 0 ? (early < 100 ? early : 100) : 0);
            phase[p] = S_ASK;
        }
        if (c->progress && (int64_t)mpc_now_ms() >= next_progress) {
            mpc_daemon_status st[MPC_MAX_PARTIES];
            s_status(c, j->id, j->daemon_of, j->k, st);
            c->progress(c->progress_ctx, j, st, j->k);
            next_progress = (int64_t)mpc_now_ms() + c->progress_ms;
        }
    }
    return 0;
}

int mpc_job_output(mpc_client *c, mpc_job *j, const char *name, int timeout_ms, uint64_t **values, uint64_t *n_out)
{
    c->errmsg[0] = 0;
    *values = NULL;
    *n_out = 0;
    if (!j->live)
        return s_seterr(c, MPC_ERR_STATE, "the job is not submitted yet (mpc_job_submit or mpc_job_attach first)");
    int idx = name ? mpc_job_find_output(j, name) : -1;
    if (idx < 0) return s_seterr(c, MPC_ERR_NOTFOUND, "job %s: the program has no output '%.64s'", j->id_hex, name ? name : "");
    const mpc_output *o = &j->circ->outputs[idx];
    uint64_t n = o->len;
    if (n > MPC_CWIRE_MAX_COUNT) return s_seterr(c, MPC_ERR_LIMIT, "output '%s' is too long", name);
    uint64_t *acc = mpc_client_alloc((size_t)n * 8);
    /* one daemon's share: n words, grown to a record by a checked reply (recv_rep) */
    mpc_share_buf share = {sodium_allocarray((size_t)(n ? n : 1), 8), n, n ? n : 1};
    uint64_t *recs[MPC_MAX_PARTIES] = {0};   /* a checked output's records, one per daemon */
    mpc_cwire_rep *first = NULL;   /* the first daemon's answer: the others must list the same withheld elements */
    int r;
    if (!acc || !share.w) {
        r = s_seterr(c, MPC_ERR_NOMEM, "job %s: out of memory for output '%s'", j->id_hex, name);
        goto out;
    }
    memset(acc, 0, (size_t)n * 8);
    r = s_fetch_shares(c, j, o, timeout_ms, &share, acc, recs, &first);
    if (r) goto out;
    if (first && first->checked && (r = s_checked_open(j, recs, n, acc)) != 0) {
        r = r == MPC_ERR_CRYPTO ? s_seterr(c, r, "output '%s': the daemons' shares are inconsistent (a daemon "
                                           "cheated): no value released", name)
                                : s_seterr(c, r, "job %s: cannot check output '%s': %s", j->id_hex, name, mpc_strerror(r));
        goto out;
    }
    r = s_keep_withheld(j, (uint32_t)idx, first);
    if (r) {
        r = s_seterr(c, r, "out of memory");
        goto out;
    }
    /* a withheld element has no value: 0, whatever shares (all zero from honest daemons) came */
    const uint8_t *wb = j->withheld_bits ? j->withheld_bits[idx] : NULL;
    for (uint64_t i = 0; wb && i < n; i++)
        if (wb[i / 8] >> (i % 8) & 1) acc[i] = 0;
    *values = acc;
    *n_out = n;
    acc = NULL;
out:
    free(first);
    if (share.w) sodium_free(share.w);
    for (uint32_t p = 0; p < MPC_MAX_PARTIES; p++)
        if (recs[p]) sodium_free(recs[p]);   /* wipes */
    mpc_client_free(acc);
    return r;
}

int mpc_job_output_text(mpc_client *c, mpc_job *j, const char *name, int timeout_ms, char **text)
{
    *text = NULL;
    uint64_t *v = NULL, n = 0;
    int r = mpc_job_output(c, j, name, timeout_ms, &v, &n);
    if (r) return r;
    const mpc_output *o = &j->circ->outputs[mpc_job_find_output(j, name)];
    /* 64 bytes per value suffice (value.h), plus ", " */
    if (n > (SIZE_MAX - 1) / 66) {
        mpc_client_free(v);
        return s_seterr(c, MPC_ERR_LIMIT, "output '%s' is too long to format", name);
    }
    char *buf = mpc_client_alloc((size_t)n * 66 + 1);
    if (!buf) {
        mpc_client_free(v);
        return s_seterr(c, MPC_ERR_NOMEM, "out of memory");
    }
    size_t off = 0;
    for (uint64_t i = 0; i < n; i++) {
        if (i) {
            memcpy(buf + off, ", ", 2);
            off += 2;
        }
        /* an element the release rules withheld carries no value */
        int len = mpc_job_output_withheld(j, name, i) ? snprintf(buf + off, 65, "withheld")
                                                       : mpc_value_format(o->type, j->circ->frac_bits, v[i], buf + off, 65);
        if (len < 0) {
            mpc_client_free(v);
            mpc_client_free(buf);
            return s_seterr(c, MPC_ERR_INVALID, "cannot format output '%s'", name);
        }
        off += (size_t)len;
    }
    buf[off] = 0;
    mpc_client_alloc_used(buf, off + 1);
    mpc_client_free(v);
    *text = buf;
    return 0;
}
