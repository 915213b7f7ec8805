/* sequencer.c — the job worker's ordering (worker_int.h, docs/daemon.md "Job ordering",
 * "Sequencer failover"): the readiness notes between the parties and the sequencer, the
 * sequencer's choice of the next job (or pool chunk) and its RUN messages, a party's reports
 * and the end of jobs that were never ready everywhere, and what changes when another node
 * becomes the sequencer. */
#include "worker_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "join_job.h"
#include "log.h"
#include "metrics.h"
#include "mpc_err.h"
#include "pool.h"

/* ---- Readiness (docs/daemon.md, "Job ordering"): the sequencer orders only jobs that every
 * party of the job has reported ready (it holds the job and all the inputs it needs). ---- */

enum { NOTE_WORDS = 4, NOTES_MAX = 64 };
enum {
    NOTE_READY = 0x52445931,     /* "RDY1" party -> sequencer: job ready here */
    NOTE_REFUSED = 0x52465331,   /* party -> sequencer: the submission was refused here */
    NOTE_ACK = 0x41434b31,       /* sequencer -> party: recorded */
    NOTE_UNKNOWN = 0x554e4b31,   /* sequencer -> party: no such job at the sequencer */
    NOTE_EXPIRED = 0x45585031,   /* sequencer -> party: the job ended; detail says why */
    NOTE_RAN = 0x52414e31,       /* sequencer -> a party not bound to the job: it was ordered */
    NOTE_RUN_REFUSED = 0x52554e58,   /* "RUNX" party -> the node whose RUN it refused (s_refuse_run) */
};
#define NOTE_REFUSED_BIT (1ull << 32)   /* in an EXPIRED detail: that party refused the job */
#define NOTE_SEQ_ENDED   0xffffffffull  /* in an EXPIRED detail: the sequencer ended it otherwise */
/* How long after a busy spell the sequencer waits for readiness reports before it ends a job
 * that is not ready everywhere (a waiting party repeats its report every second). */
#define REPORT_GRACE_MS  1500
#define NOTES_UNANSWERED 8
#define NOTES_SILENCE_MS 30000

typedef struct {
    uint32_t to;
    uint64_t w[NOTE_WORDS];
} note_out;

static void s_note_add(note_out *out, uint32_t *n, uint32_t to, uint64_t kind, const uint8_t id[MPCD_JOB_ID_BYTES],
                       uint64_t detail)
{
    if (*n >= NOTES_MAX) return;
    note_out *o = &out[(*n)++];
    o->to = to;
    o->w[0] = kind;
    memcpy(&o->w[1], id, MPCD_JOB_ID_BYTES);
    o->w[3] = detail;
}

/* Sends the collected notes (lock NOT held), skipping peers that are down: a note is a hint
 * that is repeated or replaced by a timeout, never something a job waits on forever. */
static void s_note_flush(mpcd_worker *w, const note_out *out, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (!w->peer_up || w->peer_up(w->idle_ctx, out[i].to))
            (void)mpc_send(w->mesh, out[i].to, MPC_MSG_CONTROL, MPCD_NOTE_STREAM, 0, out[i].w, NOTE_WORDS);
}

static uint32_t s_bound_mask(const mpcd_job *job)
{
    uint32_t m = 0;
    for (uint32_t i = 0; i < job->circ->n_parties; i++) m |= 1u << job->binding[i];
    return m;
}

/* Lock held.  Fails the job with `why`, naming the parties of the job that are unreachable
 * (a dead party is the likely cause of whatever did not arrive). */
static void s_fail_naming_down(mpcd_worker *w, mpcd_job *job, const char *why)
{
    char down[MPCD_REASON_MAX] = "";
    size_t len = 0;
    for (uint32_t i = 0; w->peer_up && i < job->circ->n_parties; i++) {
        uint32_t b = job->binding[i];
        if (b == w->self || w->peer_up(w->idle_ctx, b)) continue;
        int m = snprintf(down + len, sizeof down - len, "; %s is unreachable", w->names[b]);
        if (m < 0 || (size_t)m >= sizeof down - len) break;
        len += (size_t)m;
    }
    mpcd_job_fail(job, "%s%s", why, down);
}

/* Lock held.  Fails a job that was not ready on party `party` (or was refused there), with
 * the input's name when that party is this one. */
static void s_fail_not_ready(mpcd_worker *w, mpcd_job *job, uint64_t detail)
{
    uint32_t party = (uint32_t)(detail & 0xffffffffu), missing = 0;
    char why[MPCD_REASON_MAX], mb[MPC_NAME_MAX * 2 + 16];
    if (detail == NOTE_SEQ_ENDED || party >= w->n_parties)
        snprintf(why, sizeof why, "the sequencer %s ended the job before it ran", w->names[w->seq_now]);
    else if (detail & NOTE_REFUSED_BIT)
        snprintf(why, sizeof why, "party %s refused the job (not submitted there in time, its policy or a limit)",
                 w->names[party]);
    else if (party == w->self && !mpcd_job_inputs_ready(job, &missing))
        snprintf(why, sizeof why, "input '%s' never arrived here within input_timeout_ms (%d ms)",
                 mpcd_join_missing_name(job, missing, mb, sizeof mb), w->input_timeout_ms);
    else
        snprintf(why, sizeof why, "not ready on party %s within input_timeout_ms (%d ms): the job was not submitted "
                 "there, or not all of its inputs arrived there", w->names[party], w->input_timeout_ms);
    s_fail_naming_down(w, job, why);
    job->sequenced = 1;
    job->expired_note = detail | (1ull << 40);   /* never 0; ignored by the decoding above */
    mpcd_info(job->id_hex, "ended before it ran: %s", job->reason);
}

/* Lock held.  Sequencer: ends job (not ready on `party`) and tells its other parties. */
static void s_seq_end(mpcd_worker *w, mpcd_job *job, uint64_t detail, note_out *out, uint32_t *n_out)
{
    s_fail_not_ready(w, job, detail);
    for (uint32_t i = 0; i < job->circ->n_parties; i++)
        if (job->binding[i] != w->self) s_note_add(out, n_out, job->binding[i], NOTE_EXPIRED, job->id, detail);
    mpcd_jobs_notify(w->jobs);
}

/* A NOTE_RUN_REFUSED from party p: the job it names, when p is a party of it and this daemon
 * is in its agreement, stops waiting for p (s_agree_recv).  1 if m was such a note. */
static int s_take_run_refusal(mpcd_worker *w, uint32_t p, const uint64_t m[NOTE_WORDS])
{
    if (m[0] != NOTE_RUN_REFUSED) return 0;
    uint8_t id[MPCD_JOB_ID_BYTES];
    memcpy(id, &m[1], MPCD_JOB_ID_BYTES);
    mpcd_jobs_lock(w->jobs);
    mpcd_job *job = mpcd_jobs_find(w->jobs, id);
    if (job && job->state == MPCD_JOB_WAITING && (s_bound_mask(job) & (1u << p))) {
        atomic_store(&job->run_refused_by, p + 1);
        mpcd_warn(job->id_hex, "%s refused this job's RUN: it saw another node as the sequencer", w->names[p]);
    }
    mpcd_jobs_unlock(w->jobs);
    return 1;
}

/* Lock held.  Sequencer: a readiness report from party p for a job it has ordered and that
 * has not run here yet (or ran on its parties only, this daemon not being one) means p never
 * got the RUN: a RUN, like most control messages (not an AGREE), is sent once, and a peer's
 * connection that drops and comes back (a heartbeat timeout after a freeze) can lose what was
 * queued on it.
 * Copies the RUN for p into again[] (docs/daemon.md, "Lost RUNs").  1 if it did. */
static int s_run_again(mpcd_worker *w, const mpcd_job *job, uint32_t p, uint64_t again[MPCD_RUN_WORDS])
{
    int not_run = job->state == MPCD_JOB_QUEUED || job->state == MPCD_JOB_WAITING ||
                  (job->my_party == UINT32_MAX && job->state == MPCD_JOB_DONE);
    if (!job->run_sent || !not_run || !(s_bound_mask(job) & (1u << p))) return 0;   /* run_sent: sequenced here */
    memcpy(again, job->run_words, MPCD_RUN_WORDS * sizeof again[0]);
    mpcd_warn(job->id_hex, "%s still reports the job ready: it did not get the RUN; sent again", w->names[p]);
    return 1;
}

/* Sequencer: reads the parties' readiness reports and answers them. */
static void s_seq_drain(mpcd_worker *w)
{
    note_out out[NOTES_MAX] = {{0}};   /* zeroed: gcc -O2 cannot see that only written notes are sent */
    uint32_t n_out = 0;
    uint64_t again[MPC_MAX_PARTIES][MPCD_RUN_WORDS];   /* RUNs to send again: MPC_MAX_PARTIES a pass at most */
    uint32_t again_to[MPC_MAX_PARTIES], n_again = 0;
    for (uint32_t p = 0; p < w->n_parties; p++) {
        if (p == w->self) continue;
        uint64_t m[NOTE_WORDS];
        while (n_out + MPC_MAX_PARTIES < NOTES_MAX &&
               mpc_recv(w->mesh, p, MPC_MSG_CONTROL, MPCD_NOTE_STREAM, 0, m, NOTE_WORDS, 0) == 0) {
            if (s_take_run_refusal(w, p, m) || (m[0] != NOTE_READY && m[0] != NOTE_REFUSED)) continue;
            uint8_t id[MPCD_JOB_ID_BYTES];
            memcpy(id, &m[1], MPCD_JOB_ID_BYTES);
            uint32_t before = n_out;
            mpcd_jobs_lock(w->jobs);
            mpcd_job *job = mpcd_jobs_find(w->jobs, id);
            if (job && !(s_bound_mask(job) & (1u << p))) {
                /* bound differently here: for that party it is a job the sequencer does not hold */
                s_note_add(out, &n_out, p, NOTE_UNKNOWN, id, 0);
            } else if (!job) {
                if (m[0] == NOTE_READY)
                    s_note_add(out, &n_out, p, mpcd_jobs_was_refused(w->jobs, id) ? NOTE_EXPIRED : NOTE_UNKNOWN, id,
                               w->self | NOTE_REFUSED_BIT);
            } else if (job->state == MPCD_JOB_QUEUED && !job->sequenced) {
                if (m[0] == NOTE_READY) {
                    job->ready_mask |= 1u << p;
                    s_note_add(out, &n_out, p, NOTE_ACK, id, 0);
                    mpcd_jobs_notify(w->jobs);
                } else {
                    s_seq_end(w, job, p | NOTE_REFUSED_BIT, out, &n_out);
                }
            } else if ((job->state == MPCD_JOB_FAILED || job->state == MPCD_JOB_CANCELLED) && !job->rounds_done &&
                       m[0] == NOTE_READY) {
                s_note_add(out, &n_out, p, NOTE_EXPIRED, id, job->expired_note ? job->expired_note : NOTE_SEQ_ENDED);
            } else if (m[0] == NOTE_READY && n_again < MPC_MAX_PARTIES && s_run_again(w, job, p, again[n_again])) {
                again_to[n_again++] = p;
            }
            /* Every report is answered: the party counts unanswered ones (mpcd_seq_party_pass). */
            int answered = 0;
            for (uint32_t i = before; i < n_out; i++) answered |= out[i].to == p;
            if (!answered) s_note_add(out, &n_out, p, NOTE_ACK, id, 0);
            mpcd_jobs_unlock(w->jobs);
        }
    }
    s_note_flush(w, out, n_out);
    for (uint32_t i = 0; i < n_again; i++)
        if (!w->peer_up || w->peer_up(w->idle_ctx, again_to[i]))
            (void)mpc_send(w->mesh, again_to[i], MPC_MSG_CONTROL, MPCD_JOB_CONTROL, 0, again[i], MPCD_RUN_WORDS);
}

static uint64_t s_later(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

/* Milliseconds from t to now, 0 when t is later: a job a client thread adds after `now` was
 * read is new, never 2^64 ms old (that wrap once failed a job at the instant it was
 * submitted, "input never arrived here within input_timeout_ms"). */
static uint64_t s_since(uint64_t now, uint64_t t)
{
    return now > t ? now - t : 0;
}

/* Lock held.  Sequencer: the oldest job ready on every party of it, or NULL; ends the jobs
 * not ready everywhere input_timeout_ms after their submission here. */
static mpcd_job *s_seq_pick(mpcd_worker *w, note_out *out, uint32_t *n_out, uint32_t *pending)
{
    uint64_t now = mpc_now_ms();
    /* The parties report only between jobs and pool chunks: after a busy spell of ours (and
     * so, most likely, of theirs) give their reports time to come before ending a job. */
    int may_end = now >= w->seq_free_ms + REPORT_GRACE_MS;
    mpcd_job *pick = NULL;
    *pending = 0;
    for (mpcd_job *job = mpcd_jobs_first(w->jobs); job; job = job->next) {
        if (job->state != MPCD_JOB_QUEUED || job->sequenced) continue;
        uint32_t bound = s_bound_mask(job);
        if (job->my_party != UINT32_MAX && mpcd_job_inputs_ready(job, NULL)) job->ready_mask |= 1u << w->self;
        if ((job->ready_mask & bound) == bound) {
            if (!pick) pick = job;   /* a ready job is never ended by the timeout */
            continue;
        }
        (*pending)++;
        if (!may_end || s_since(now, job->submitted_ms) < (uint64_t)w->input_timeout_ms || *n_out + MPC_MAX_PARTIES > NOTES_MAX)
            continue;
        uint32_t missing = bound & ~job->ready_mask, party = (uint32_t)__builtin_ctz(missing);
        for (uint32_t b = 0; w->peer_up && b < w->n_parties; b++)   /* name a party that is down, if any */
            if ((missing & (1u << b)) && b != w->self && !w->peer_up(w->idle_ctx, b)) {
                party = b;
                break;
            }
        s_seq_end(w, job, party, out, n_out);
    }
    return pick;
}

/* A party (not the sequencer): answers from the sequencer, then readiness reports for its
 * jobs that became ready, refusals made here, and the end of jobs that waited too long. */
void mpcd_seq_party_pass(mpcd_worker *w)
{
    const uint32_t seq = w->seq_now;
    uint64_t m[NOTE_WORDS];
    while (mpc_recv(w->mesh, seq, MPC_MSG_CONTROL, MPCD_NOTE_STREAM, 0, m, NOTE_WORDS, 0) == 0) {
        uint8_t id[MPCD_JOB_ID_BYTES];
        memcpy(id, &m[1], MPCD_JOB_ID_BYTES);
        w->notes_unanswered = 0;
        mpcd_jobs_lock(w->jobs);
        mpcd_job *job = mpcd_jobs_find(w->jobs, id);
        if (job && job->state == MPCD_JOB_QUEUED && !job->sequenced) {
            if (m[0] == NOTE_ACK) job->seq_answer = MPCD_SEQ_ACK;
            else if (m[0] == NOTE_UNKNOWN) job->seq_answer = MPCD_SEQ_UNKNOWN;
            else if (m[0] == NOTE_EXPIRED) {
                s_fail_not_ready(w, job, m[3]);
                mpcd_jobs_notify(w->jobs);
            } else if (m[0] == NOTE_RAN && job->my_party == UINT32_MAX) {
                /* this daemon's copy served the ordering only: the job ran on its parties */
                job->sequenced = 1;
                job->state = MPCD_JOB_DONE;
                job->finished = time(NULL);
                mpcd_metrics_job_ended(MPCD_JOB_DONE, job->submitted_ms);
                snprintf(job->reason, sizeof job->reason, "sequenced by %s: this daemon is not a party of the job",
                         w->names[seq]);
                mpcd_jobs_notify(w->jobs);
            }
        }
        mpcd_jobs_unlock(w->jobs);
    }
    note_out out[NOTES_MAX];
    uint32_t n_out = 0;
    uint64_t now = mpc_now_ms(), limit = (uint64_t)w->input_timeout_ms;
    /* A sequencer busy with a long job reads nothing: its transport holds what we send (a
     * bounded store shared with the job traffic), so at most NOTES_UNANSWERED reports go
     * out without an answer; the count restarts when the sequencer answers, when it was seen
     * down (a restarted one answers again) or after NOTES_SILENCE_MS. */
    if (w->peer_up && !w->peer_up(w->idle_ctx, seq)) w->notes_unanswered = 0;
    if (w->notes_unanswered && now - w->notes_sent_ms >= NOTES_SILENCE_MS) w->notes_unanswered = 0;
    uint32_t budget = w->notes_unanswered < NOTES_UNANSWERED ? NOTES_UNANSWERED - w->notes_unanswered : 0;
    mpcd_jobs_lock(w->jobs);
    now = mpc_now_ms();   /* again under the lock: no job below was submitted after it */
    uint8_t refused[NOTES_UNANSWERED][MPCD_JOB_ID_BYTES];
    uint32_t nr = mpcd_jobs_refused_since(w->jobs, &w->refused_cursor, refused, budget);
    for (uint32_t i = 0; i < nr; i++) s_note_add(out, &n_out, seq, NOTE_REFUSED, refused[i], 0);
    budget = budget > n_out ? budget - n_out : 0;
    for (mpcd_job *job = mpcd_jobs_first(w->jobs); job; job = job->next) {
        if (job->state != MPCD_JOB_QUEUED || job->sequenced || job->my_party == UINT32_MAX) continue;
        uint32_t missing = 0;
        uint64_t age = s_since(now, job->submitted_ms);
        /* The sequencer's silence or ignorance counts from when it became the sequencer (a
         * job reported to one that went away is reported again to the next). */
        uint64_t seq_age = s_since(now, s_later(job->submitted_ms, w->seq_since_ms));
        if (!mpcd_job_inputs_ready(job, &missing)) {
            if (age < limit) continue;
            char why[MPCD_REASON_MAX], mb[MPC_NAME_MAX * 2 + 16];
            snprintf(why, sizeof why, "input '%s' never arrived here within input_timeout_ms (%d ms)",
                     mpcd_join_missing_name(job, missing, mb, sizeof mb), w->input_timeout_ms);
            s_fail_naming_down(w, job, why);
        } else if (job->seq_answer == MPCD_SEQ_UNKNOWN && seq_age >= limit) {
            mpcd_job_fail(job, "never sequenced: the sequencer %s does not hold the job (it was not submitted "
                          "there) within input_timeout_ms (%d ms)", w->names[seq], w->input_timeout_ms);
        } else if (job->seq_answer == MPCD_SEQ_NONE &&
                   s_since(now, s_later(s_later(job->submitted_ms, w->seq_since_ms), w->party_free_ms)) >=
                       limit + (uint64_t)w->peer_timeout_ms) {
            mpcd_job_fail(job, "never sequenced: no answer from the sequencer %s within input_timeout_ms (%d ms)",
                          w->names[seq], w->input_timeout_ms);
        } else {
            /* Ready: report it, again every second until the sequencer has it (every 5 s
             * after, in case the sequencer restarted and lost it). */
            uint64_t every = job->seq_answer == MPCD_SEQ_ACK ? 5000 : 1000;
            if ((!job->announced_ms || s_since(now, job->announced_ms) >= every) && n_out < NOTES_MAX && budget) {
                job->announced_ms = now;
                budget--;
                s_note_add(out, &n_out, seq, NOTE_READY, job->id, 0);
            }
            continue;
        }
        job->sequenced = 1;
        mpcd_info(job->id_hex, "ended before it ran: %s", job->reason);
        mpcd_jobs_notify(w->jobs);
    }
    mpcd_jobs_unlock(w->jobs);
    if (n_out) {
        w->notes_unanswered += n_out;
        w->notes_sent_ms = now;
    }
    s_note_flush(w, out, n_out);
}

/* Sequencer: when no job waits, the stock is below target and every party is reachable,
 * orders the next chunk of the pool.  Returns 1 if it did. */
static int s_sequence_prep(mpcd_worker *w, uint64_t epoch, uint64_t *k, uint64_t *retry_at)
{
    if (!w->pool || w->prep_mode != MPCD_PREP_OT || mpc_now_ms() < *retry_at) return 0;
    /* Only while no run that uses the pool is queued or running here (the chunk before
     * included): the pool is then left alone by the job threads, and its stock is final. */
    struct mpcd_slots *sl = w->slots;
    pthread_mutex_lock(&sl->mu);
    int pool_idle = sl->turn == sl->next_ticket;
    if (sl->prep_retry_at > *retry_at) *retry_at = sl->prep_retry_at;
    pthread_mutex_unlock(&sl->mu);
    if (!pool_idle || mpc_now_ms() < *retry_at) return 0;
    uint64_t stock = mpcd_pool_stock(w->pool), target = mpcd_pool_target(w->pool);
    if (stock >= target) return 0;
    for (uint32_t i = 0; i < w->n_parties; i++)
        if (i != w->self && w->peer_up && !w->peer_up(w->idle_ctx, i)) return 0;
    run_msg r;
    memset(&r, 0, sizeof r);
    r.epoch = epoch;
    r.what = RUN_PREP;
    r.k = target - stock < mpcd_pool_chunk(w->pool) ? target - stock : mpcd_pool_chunk(w->pool);
    /* The generation session keeps its stream while the pool lives; an emptied pool starts a
     * new session with a stream of its own (fresh base OTs, no hash tweak ever reused). */
    mpcd_pool_state ps;
    mpcd_pool_state_get(w->pool, &ps);
    r.stream = ps.session ? ps.session : ((epoch & 0x7fffffffull) << 31) | (((*k)++ + 1) & 0x7fffffffull);
    r.n = w->n_parties;
    for (uint32_t i = 0; i < r.n; i++) r.binding[i] = i;
    r.prep_mode = MPCD_PREP_OT;
    uint64_t words[MPCD_RUN_WORDS];
    mpcd_run_encode(&r, words);
    for (uint32_t i = 0; i < r.n; i++)
        if (i != w->self) (void)mpc_send(w->mesh, i, MPC_MSG_CONTROL, MPCD_JOB_CONTROL, 0, words, MPCD_RUN_WORDS);
    mpcd_run_dispatch(w, &r);
    return 1;
}

/* Sequencer: hands out the next job's turn. Returns 1 if it did something. */
int mpcd_seq_one(mpcd_worker *w, uint64_t epoch, uint64_t *k, uint64_t *retry_at)
{
    note_out out[NOTES_MAX];
    uint32_t n_out = 0;
    s_seq_drain(w);
    uint32_t pending = 0;
    /* Runs of this daemon that wait for a job thread: with as many waiting as there are
     * threads, ordering more would only lengthen the queue here (other parties' queues are
     * what they are), so readiness is read and answered but nothing new is ordered. */
    pthread_mutex_lock(&w->slots->mu);
    int full = w->slots->queued >= w->slots->nth;
    pthread_mutex_unlock(&w->slots->mu);
    int quick = w->idle && !mpcd_worker_running(w);   /* wait in the transport (worker_int.h) */
    mpcd_jobs_lock(w->jobs);
    mpcd_job *job = s_seq_pick(w, out, &n_out, &pending);
    if (full) job = NULL;
    int pool_busy = 0;   /* a run that uses the pool is queued or running: no chunk now */
    if (w->pool) {
        pthread_mutex_lock(&w->slots->mu);
        pool_busy = w->slots->turn != w->slots->next_ticket || mpc_now_ms() < w->slots->prep_retry_at;
        pthread_mutex_unlock(&w->slots->mu);
    }
    if (!job && (pending || full || pool_busy || !w->pool || mpcd_pool_stock(w->pool) >= mpcd_pool_target(w->pool) ||
                 mpc_now_ms() < *retry_at)) {
        if (quick) {
            /* Wait in the transport: a party's report, or a submission or an input here
             * (mpcd_jobs_set_waker), ends the wait; the next pass reads and picks. */
            mpcd_jobs_unlock(w->jobs);
            s_note_flush(w, out, n_out);
            mpcd_worker_idle_wait(w);
            return 1;
        }
        /* A run goes on here, or no transport to wait in (tests): woken by a submission or an
         * input here; a party's report is read on the next pass. */
        mpcd_jobs_wait(w->jobs, mpc_now_ms() + 50);
        job = s_seq_pick(w, out, &n_out, &pending);
        if (full) job = NULL;
    }
    if (!job) {
        mpcd_jobs_unlock(w->jobs);
        s_note_flush(w, out, n_out);
        /* No pool chunk while a job waits for readiness: it would delay the job by a chunk. */
        if (n_out || pending || full) return n_out != 0;
        return s_sequence_prep(w, epoch, k, retry_at);
    }
    run_msg r;
    memset(&r, 0, sizeof r);
    r.epoch = epoch;
    r.k = (*k)++;
    /* Stream ids: 31 random bits of epoch, 31 bits of counter; bits 62 and 63 stay clear. */
    r.stream = ((epoch & 0x7fffffffull) << 31) | ((r.k + 1) & 0x7fffffffull);
    memcpy(r.id, job->id, MPCD_JOB_ID_BYTES);
    memcpy(r.hash, job->hash, 32);
    r.n = job->circ->n_parties;
    for (uint32_t i = 0; i < r.n; i++) r.binding[i] = job->binding[i];
    r.prep_mode = (uint32_t)w->prep_mode;
    int involved = job->my_party != UINT32_MAX;
    uint32_t bound = s_bound_mask(job);
    job->sequenced = 1;
    uint64_t words[MPCD_RUN_WORDS];
    mpcd_run_encode(&r, words);
    memcpy(job->run_words, words, sizeof words);   /* for a party that never gets it (s_seq_drain) */
    job->run_sent = 1;
    if (!involved) {
        job->state = MPCD_JOB_DONE;
        job->finished = time(NULL);
        mpcd_metrics_job_ended(MPCD_JOB_DONE, job->submitted_ms);
        snprintf(job->reason, sizeof job->reason, "sequenced only: this daemon is not a party of the job");
    }
    mpcd_jobs_unlock(w->jobs);
    s_note_flush(w, out, n_out);

    for (uint32_t i = 0; i < r.n; i++)
        if (r.binding[i] != w->self)
            (void)mpc_send(w->mesh, r.binding[i], MPC_MSG_CONTROL, MPCD_JOB_CONTROL, 0, words, MPCD_RUN_WORDS);
    if (r.prep_mode == MPCD_PREP_DEALER && w->dealer != UINT32_MAX)
        (void)mpc_send(w->mesh, w->dealer, MPC_MSG_CONTROL, MPCD_JOB_CONTROL, 0, words, MPCD_RUN_WORDS);
    /* The parties not bound to the job hold a copy for ordering only: tell them it ran, so
     * they drop it instead of keeping it queued until it expires. */
    n_out = 0;
    for (uint32_t p = 0; p < w->n_parties; p++)
        if (p != w->self && !(bound & (1u << p))) s_note_add(out, &n_out, p, NOTE_RAN, r.id, 0);
    s_note_flush(w, out, n_out);
    if (involved) mpcd_run_dispatch(w, &r);
    return 1;
}

/* ---- Failover (docs/daemon.md, "Sequencer failover") ---- */

/* The sequencer as this daemon sees it now: the lowest-indexed party that is up, itself
 * included (the dealer never sequences). */
uint32_t mpcd_seq_now(const mpcd_worker *w)
{
    for (uint32_t p = 0; p < w->n_parties; p++)
        if (p == w->self || !w->peer_up || w->peer_up(w->idle_ctx, p)) return p;
    return 0;
}

/* This daemon's view of the sequencer changed: what it knew from or told the old one is
 * void.  A party reports its ready jobs and its refusals to the new one at once (and counts
 * the new one's silence from now); a new sequencer takes only reports made to it, and gives
 * the parties a heartbeat timeout to notice the change too before it ends any job. */
void mpcd_seq_changed(mpcd_worker *w, uint32_t seq)
{
    uint32_t old = w->seq_now;
    uint64_t now = mpc_now_ms();
    w->seq_now = seq;
    w->seq_since_ms = now;
    w->notes_unanswered = 0;
    w->refused_cursor = 0;
    if (seq == w->self) w->seq_free_ms = now + (uint64_t)(w->dead_peer_ms > 0 ? w->dead_peer_ms : 0);
    if (w->jobs) {
        mpcd_jobs_lock(w->jobs);
        for (mpcd_job *job = mpcd_jobs_first(w->jobs); job; job = job->next) {
            if (job->state != MPCD_JOB_QUEUED || job->sequenced) continue;
            job->ready_mask = 0;
            job->seq_answer = MPCD_SEQ_NONE;
            job->announced_ms = 0;
        }
        mpcd_jobs_unlock(w->jobs);
    }
    if (old == UINT32_MAX)
        mpcd_info(NULL, "sequencer: %s%s", w->names[seq], seq == w->self ? " (this daemon)" : "");
    else
        mpcd_warn(NULL, "the sequencer is now %s%s (was %s: %s)", w->names[seq], seq == w->self ? " (this daemon)" : "",
                  w->names[old], seq < old ? "it is back" : "it is unreachable");
}

/* A RUN from a node that is not the sequencer here: refused; nothing is sent on its stream
 * and nothing held for it is dropped (a forged RUN must not touch a real run's stream).  The
 * parties that took it (they saw that node as the sequencer) fail it when this party's
 * agreement does not come (input_timeout_ms + peer_timeout_ms).  Answering with an ABORT
 * would be faster, but a stream named by a node that is not the sequencer could be the
 * stream a real run will use (a party learns the sequencer's epoch from its own RUNs and can
 * guess the counter), so a malicious party could make this one abort others' jobs. */
static void s_refuse_run(mpcd_worker *w, uint32_t from, const uint64_t words[MPCD_RUN_WORDS])
{
    run_msg r;
    if (mpcd_run_decode(words, w->n_parties, &r) != 0) return;
    mpcd_warn(NULL, "a %s from %s refused: the sequencer here is %s", r.what == RUN_JOB ? "RUN" : "pool chunk",
              w->names[from], w->names[w->seq_now]);
    /* The sender waits in the job's agreement for this party, possibly for a job timeout: tell
     * it on the note stream (never on the run's stream) that it waits in vain.  It believes
     * only a party of that job (s_take_run_refusal), which could end the job anyway. */
    if (r.what == RUN_JOB) {
        note_out out[1];
        uint32_t n_out = 0;
        s_note_add(out, &n_out, from, NOTE_RUN_REFUSED, r.id, 0);
        s_note_flush(w, out, n_out);
    }
}

/* Takes what nodes other than the sequencer sent on the control streams (RUNs, readiness
 * answers of an old sequencer, reports from parties that still see this daemon as the
 * sequencer), so the transport does not hold them and a node that becomes the sequencer
 * again never replays them. */
void mpcd_seq_drain_stale(mpcd_worker *w)
{
    int am_seq = w->seq_now == w->self;
    for (uint32_t p = 0; p < w->n_parties; p++) {
        if (p == w->self || p == w->seq_now) continue;
        uint64_t words[MPCD_RUN_WORDS];
        for (int n = 0; n < 64 && mpc_recv(w->mesh, p, MPC_MSG_CONTROL, MPCD_JOB_CONTROL, 0, words, MPCD_RUN_WORDS,
                                           0) == 0; n++)
            s_refuse_run(w, p, words);
        uint64_t m[NOTE_WORDS];
        for (int n = 0; !am_seq && n < 64 &&
                        mpc_recv(w->mesh, p, MPC_MSG_CONTROL, MPCD_NOTE_STREAM, 0, m, NOTE_WORDS, 0) == 0; n++)
            (void)s_take_run_refusal(w, p, m);
    }
}

