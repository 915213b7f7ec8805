/* run_job.c — one RUN on a job thread (worker_int.h, docs/daemon.md): the job's two AGREE
 * rounds among its parties (the job held everywhere with the same tuple, every input here, the
 * release rule and the security mode agreed), then the run (execute.c, or mal_job.c under
 * security = malicious), then the job's outcome with whoever is gone named, and its audit
 * record (docs/governance.md); also the dealer's side of a job, and a chunk of the triple pool
 * on the pool thread. */
#include "worker_int.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit_job.h"
#include "budget.h"
#include "clock.h"
#include "join_job.h"
#include "log.h"
#include "mal_job.h"
#include "metrics.h"
#include "mpc_err.h"
#include "pool.h"
#include "prep_dealer.h"
#include "release_job.h"
#include "transport_view.h"

enum { AGREE_READY = 0, AGREE_NO_JOB = 1, AGREE_NO_INPUT = 2, AGREE_NOT_PARTY = 3, AGREE_CANCELLED = 4 };

/* The mesh nodes of a job: its program parties in order, then the dealer if any. */
static uint32_t s_job_nodes(const mpcd_worker *w, const run_msg *r, uint32_t map[MPC_MAX_PARTIES + 1])
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < r->n; i++) map[k++] = r->binding[i];
    if (r->prep_mode == MPCD_PREP_DEALER && w->dealer != UINT32_MAX) map[k++] = w->dealer;
    return k;
}

void mpcd_run_abort_dealer(mpc_transport *view, uint32_t dealer_idx, uint64_t stream, int code)
{
    (void)mpc_send_abort(view, dealer_idx, stream | MPC_STREAM_PREP_BIT, code, MPC_ABORT_NO_PARTY);
}

/* Tells the job's other program parties that this party gave up on the job (an ABORT on the
 * job's stream), so that a failure seen by one party alone (a malformed frame, a peer it
 * cannot reach) ends the job everywhere at once instead of after their timeouts. */
void mpcd_run_abort_parties(mpc_transport *view, const run_msg *r, uint32_t me, int code)
{
    for (uint32_t p = 0; p < r->n; p++)
        if (p != me) (void)mpc_send_abort(view, p, r->stream, code, MPC_ABORT_NO_PARTY);
}

/* The agreed tuple's hash. */
static void s_tuple_hash(const run_msg *r, uint8_t out[32])
{
    uint64_t w[MPCD_RUN_WORDS];
    run_msg t = *r;
    t.epoch = 0;   /* the tuple, not the sequencer's counter */
    t.k = 0;
    mpcd_run_encode(&t, w);
    crypto_generichash(out, 32, (const uint8_t *)w, sizeof w, NULL, 0);
}

/* The job of run r while this daemon takes part in its agreement, or NULL.  Lock held. */
static mpcd_job *s_run_job_of(mpcd_worker *w, const run_msg *r)
{
    mpcd_job *job = mpcd_jobs_find(w->jobs, r->id);
    return job && job->stream == r->stream && job->state == MPCD_JOB_WAITING ? job : NULL;
}

/* The AGREEs of round 1 that came while round 0 still waited for the same party's: a party
 * whose round-0 AGREE to us was lost goes on to round 1 (it got ours), and the copy we ask for
 * comes after its round 1 (docs/daemon.md, "Lost AGREEs"). */
typedef struct {
    uint64_t early[MPC_MAX_PARTIES][MPCD_AGREE_WORDS];
    uint32_t early_mask;
} agree_box;

/* Files an AGREE of party p that is not the one awaited (round `round`): a copy of an earlier
 * round is dropped, the next round kept for later.  0, or MPC_ERR_PROTOCOL (no such round). */
static int s_agree_file(agree_box *box, uint32_t p, uint64_t round, const uint64_t m[MPCD_AGREE_WORDS])
{
    uint64_t theirs = m[MPCD_AGREE_ROUND_WORD];
    if (theirs < round) return 0;
    if (theirs != round + 1 || theirs > 1 || p >= MPC_MAX_PARTIES) return MPC_ERR_PROTOCOL;
    if (!(box->early_mask >> p & 1)) memcpy(box->early[p], m, sizeof box->early[p]);
    box->early_mask |= 1u << p;
    return 0;
}

/* Receives party p's AGREE message of `round` on the run's agreement stream, waiting up to
 * timeout_ms in slices of S_AGREE_SLICE_MS, so that the wait ends early when a client cancels
 * the job here (MPC_ERR_CANCELLED), when a party of the job said it refused the RUN
 * (*refused_by = 1 + that daemon: it saw another sequencer and will never take part), when a
 * party aborted the run (an ABORT on the run's stream: MPC_ERR_PEER_ABORT), or when the
 * daemon stops.  A wait for a busy peer may legitimately last a job timeout (s_agree_timeout);
 * these are the ways to learn sooner that it is in vain.  Every ask interval it asks p to send
 * its AGREE again (a lost one then costs that interval; docs/daemon.md, "Lost AGREEs"); the
 * first copy is taken, later ones dropped (s_agree_file). */
#define S_AGREE_SLICE_MS 200
#define S_AGREE_ASK_MS   2000
static int s_agree_recv(mpcd_worker *w, mpc_transport *view, const run_msg *r, uint32_t p, uint64_t round,
                        uint64_t theirs[MPCD_AGREE_WORDS], int timeout_ms, uint32_t *refused_by, agree_box *box)
{
    if (p < MPC_MAX_PARTIES && (box->early_mask >> p & 1) && box->early[p][MPCD_AGREE_ROUND_WORD] == round) {
        memcpy(theirs, box->early[p], sizeof box->early[p]);
        return 0;
    }
    /* Asked well inside peer_timeout_ms: a party that went on to the run's first step waits
     * that long for us. */
    int ask_ms = w->peer_timeout_ms > 0 && w->peer_timeout_ms / 3 < S_AGREE_ASK_MS ? w->peer_timeout_ms / 3
                                                                                   : S_AGREE_ASK_MS;
    if (ask_ms < S_AGREE_SLICE_MS) ask_ms = S_AGREE_SLICE_MS;
    int64_t deadline = (int64_t)mpc_now_ms() + timeout_ms, ask_at = (int64_t)mpc_now_ms() + ask_ms;
    for (;;) {
        int64_t left = deadline - (int64_t)mpc_now_ms();
        int slice = left > S_AGREE_SLICE_MS ? S_AGREE_SLICE_MS : left > 0 ? (int)left : 0;
        int s = mpc_recv(view, p, MPC_MSG_CONTROL, MPCD_AGREE_STREAM(r->stream), MPCD_AGREE_SEQ, theirs,
                         MPCD_AGREE_WORDS, slice);
        if (s == 0 && theirs[MPCD_AGREE_ROUND_WORD] == round) return 0;
        if (s == 0) s = s_agree_file(box, p, round, theirs);
        if (s == 0 && left > 0) continue;   /* a copy, or the next round: wait on */
        uint32_t from, lost;
        if ((s == 0 || s == MPC_ERR_TIMEOUT) && mpc_transport_abort_info(view, r->stream, &from, &lost))
            return MPC_ERR_PEER_ABORT;
        if (s == 0) s = MPC_ERR_TIMEOUT;
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
        if ((int64_t)mpc_now_ms() >= ask_at) {
            mpcd_agree_ask(w, view, r, p, round);
            ask_at = (int64_t)mpc_now_ms() + ask_ms;
        }
    }
}

/* One all-to-all AGREE round (`round`) among the program parties.  Returns 0 when every
 * party is ready and holds the same tuple; otherwise fills reason with the most telling
 * cause (a different tuple or a party without the job before a missing input before a
 * silent party), naming the party, and returns an error code. */
/* rel: the release words this party sends (docs/daemon.md, "Release rules"): in round 0 the
 * rule it asks for (min_rows, min_contributors, 0), and rel_max receives the strictest of
 * every party's; in round 1 the rule it applies and the contributors it counted, which must
 * be every party's too. */
static int s_agree(mpcd_worker *w, mpc_transport *view, const run_msg *r, uint32_t me, uint64_t round,
                   uint64_t status, uint64_t detail, int timeout_ms, const mpcd_pool_state *pool,
                   const uint64_t rel[3], uint64_t rel_max[2], int *pool_mismatch, int *alone, agree_box *box,
                   char *reason, size_t rlen)
{
    uint64_t mine[MPCD_AGREE_WORDS] = {status, detail, 0, 0, 0, 0, pool->session, pool->added, pool->taken,
                                       rel[0], rel[1], rel[2], (uint64_t)w->security, round};
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
    uint32_t to_mask = 0;
    for (uint32_t p = 0; p < r->n; p++)
        if (p != me) to_mask |= 1u << r->binding[p];
    mpcd_agree_keep(w, r, round, to_mask, mine);   /* for a party that asks again ("Lost AGREEs") */
    for (uint32_t p = 0; p < r->n; p++) {
        if (p == me) continue;
        int s;
        while ((s = mpc_send(view, p, MPC_MSG_CONTROL, MPCD_AGREE_STREAM(r->stream), MPCD_AGREE_SEQ, mine,
                             MPCD_AGREE_WORDS)) == MPC_ERR_IO &&
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
        int s = s_agree_recv(w, view, r, p, round, theirs, timeout_ms, &refused_by, box);
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

/* How long an agreement round waits for a peer: its inputs (input_timeout_ms), a message's
 * way (peer_timeout_ms), and a peer whose job threads are all busy: every run ends within
 * job_timeout_ms, so a peer with this job next in its queue starts it within that
 * (docs/daemon.md, "No deadlock"). */
static int s_agree_timeout(const mpcd_worker *w)
{
    int64_t t = (int64_t)w->input_timeout_ms + w->peer_timeout_ms + atomic_load(&w->job_timeout_ms);
    return t > INT32_MAX ? INT32_MAX : (int)t;
}

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
void mpcd_run_audit_flush(mpcd_worker *w)
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

/* The dealer process's part in run r: serves the job's material on its preprocessing stream;
 * destroys *view. */
static void s_run_dealer(mpcd_worker *w, const run_msg *r, mpc_transport **view, const char *hex)
{
    char reason[MPCD_REASON_MAX] = "";
    mpc_dealer_stats ds;
    memset(&ds, 0, sizeof ds);
    int rc = mpc_dealer_serve(*view, r->n, r->stream | MPC_STREAM_PREP_BIT,
                              s_agree_timeout(w), &ds, reason, sizeof reason);
    if (rc == 0)
        mpcd_info(hex, "served %llu triples, %llu truncation tuples", (unsigned long long)ds.triples,
                  (unsigned long long)ds.trunc);
    else
        mpcd_warn(hex, "dealing ended: %s", reason[0] ? reason : mpc_strerror(rc));
    mpc_transport_forget(w->mesh, r->stream | MPC_STREAM_PREP_BIT);
    mpc_transport_destroy(view);
}

/* Finds the job of run r here (the client may submit here a little after the sequencer) and
 * runs the two AGREE rounds.  *jobp: the job (NULL: not held here); *pool_okp: the job takes
 * triples from the pool; *alone: as s_agree.  0, or an error code with a reason. */
static int s_agree_job(mpcd_worker *w, mpc_transport *view, const run_msg *r, uint32_t me, const char *hex,
                       mpcd_job **jobp, int *pool_okp, int *alone, char *reason, size_t rlen)
{
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
    int mismatch = 0;
    agree_box box;
    box.early_mask = 0;
    int rc = s_agree(w, view, &mine, me, 0, job ? AGREE_READY : cancelled_here ? AGREE_CANCELLED : AGREE_NO_JOB, 0,
                     s_agree_timeout(w), &ps, rel, agreed, &mismatch, alone, &box, reason, rlen);
    if (rc == 0 && !job) {
        rc = cancelled_here ? MPC_ERR_CANCELLED : MPC_ERR_STATE;
        snprintf(reason, rlen, cancelled_here ? "the job was cancelled here" : "this party does not hold the job");
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
                     &mismatch, alone, &box, reason, rlen);
        if (rc == 0 && status == AGREE_CANCELLED) {
            rc = MPC_ERR_CANCELLED;
            snprintf(reason, rlen, "the job was cancelled here");
        }
        if (rc == 0 && status == AGREE_NO_INPUT) {
            rc = MPC_ERR_INPUT;
            char mb[MPC_NAME_MAX * 2 + 16];
            snprintf(reason, rlen, "input '%s' never arrived here", mpcd_join_missing_name(job, missing, mb, sizeof mb));
        }
    }
    *jobp = job;
    *pool_okp = pool_ok;
    return rc;
}

/* Appends to reason the parties of the failed run (view of k nodes, mesh nodes map[]) that
 * are gone, after waiting a moment for the mesh to notice. */
static void s_name_gone(mpcd_worker *w, const run_msg *r, const uint32_t *map, uint32_t k, uint32_t me, int rc,
                        const uint32_t blame[2], char *reason, size_t rlen)
{
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
        int m = snprintf(reason + len, rlen - len, "%s%s is unreachable%s", len ? "; " : "",
                         i < r->n ? w->names[map[i]] : "the dealer", seen);
        if (m < 0 || (size_t)m >= rlen - len) break;
        len += (size_t)m;
    }
}

/* Job thread: takes part in the job r as party `me` of the view (job may be NULL: not held
 * here). */
void mpcd_run_job(mpcd_worker *w, const run_msg *r)
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
        s_run_dealer(w, r, &view, hex);
        return;
    }

    mpcd_job *job = NULL;
    int pool_ok = 0, alone = 0;
    int rc = s_agree_job(w, view, r, me, hex, &job, &pool_ok, &alone, reason, sizeof reason);
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
                mpcd_run_abort_dealer(view, r->n, r->stream, MPC_ERR_CANCELLED);
            rc = mpcd_mal_execute(w, job, view, r->stream, me, r->n, hex, reason, sizeof reason);
        } else {
            rc = mpcd_run_execute(w, job, view, r, me, pool_ok, blame, reason, sizeof reason);
        }
        /* A failure may leave the parties' pool sessions out of step: start afresh. */
        if (rc != 0 && pool_ok) mpcd_pool_reset(w->pool);
    } else {
        /* The agreement failed.  A cause every party saw in the round (a party without the
         * job or an input, a different tuple) ends the job everywhere alike; a failure this
         * party saw alone (a malformed or missing frame) is told to every other party now, as
         * an ABORT, or they would wait for its next round until their timeouts. */
        if (alone) mpcd_run_abort_parties(view, r, me, rc);
        if (w->dealer != UINT32_MAX && r->prep_mode == MPCD_PREP_DEALER) mpcd_run_abort_dealer(view, r->n, r->stream, rc);
    }

    /* A job that failed before anyone cancelled it is recorded as that failure, even if a
     * cancel (e.g. from the client that saw the failure) arrives while the cause is named. */
    int failed_first = job && rc != 0 && !atomic_load(&job->cancel);
    if (rc != 0 && w->peer_up) s_name_gone(w, r, map, k, me, rc, blame, reason, sizeof reason);
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
    if (w->audit) mpcd_run_audit_flush(w);
    mpc_transport_forget(w->mesh, r->stream);
    mpc_transport_forget(w->mesh, r->stream | MPC_STREAM_PREP_BIT);
    /* Copies of AGREEs asked for again that came after the first ("Lost AGREEs"): by the end
     * of the run they have come. */
    mpc_transport_forget(w->mesh, MPCD_AGREE_STREAM(r->stream));
    mpc_transport_destroy(&view);
}

/* Pool thread: makes one chunk of the pool with every party (a RUN_PREP: k = triples,
 * stream = the pool's generation session). */
void mpcd_run_pool_chunk(mpcd_worker *w, const run_msg *r)
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

