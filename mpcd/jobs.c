/* jobs.c — the job table (jobs.h).  A singly linked list in submission order: unfinished
 * jobs are bounded by max_queued_jobs, finished ones (kept for their recipients until they
 * expire) by the same number; the worker takes jobs from the head. */
#include "jobs.h"

#include "contrib.h"
#include "contrib_daemon.h"

#include "budget.h"
#include "join_job.h"
#include "joindecl.h"
#include "vcheck.h"

#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "mpc_err.h"

const char *const mpcd_job_state_names[] = {"queued", "waiting for inputs", "running", "done", "failed", "cancelled"};

struct mpcd_jobs {
    pthread_mutex_t mu;
    pthread_cond_t  cv;
    mpcd_job       *head, *tail;
    uint32_t        max;
    int             audit_on;    /* jobs get audit records (mpcd_jobs_set_audit) */
    uint8_t         refused[MPCD_REFUSED_KEEP][MPCD_JOB_ID_BYTES];
    uint32_t        n_refused;   /* total noted; the ring holds the last MPCD_REFUSED_KEEP */
    int             wake_fd;     /* eventfd: readable after any notify (jobs.h) */
    void          (*waker)(void *ctx);   /* mpcd_jobs_set_waker */
    void           *waker_ctx;
    atomic_uint_fast64_t gen;    /* notifies so far (mpcd_jobs_gen) */
};

/* Lock held.  Wakes the worker's condition variable (or its wait in the transport) and the
 * client thread's poll. */
static void s_notify(mpcd_jobs *j)
{
    pthread_cond_broadcast(&j->cv);
    atomic_fetch_add(&j->gen, 1);
    if (j->waker) j->waker(j->waker_ctx);
    if (j->wake_fd >= 0) {
        uint64_t one = 1;
        ssize_t w = write(j->wake_fd, &one, sizeof one);   /* EAGAIN: already readable */
        (void)w;
    }
}

mpcd_jobs *mpcd_jobs_new(uint32_t max_jobs)
{
    mpcd_jobs *j = calloc(1, sizeof *j);
    if (!j) return NULL;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, &ca);
    pthread_condattr_destroy(&ca);
    j->max = max_jobs ? max_jobs : 1000;
    j->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (j->wake_fd < 0) {
        pthread_cond_destroy(&j->cv);
        pthread_mutex_destroy(&j->mu);
        free(j);
        return NULL;
    }
    return j;
}

static void s_wipe_outputs(mpcd_job *job)
{
    if (!job->out_shares) return;
    for (uint32_t o = 0; o < job->circ->n_outputs; o++) {
        if (!job->out_shares[o]) continue;
        sodium_memzero(job->out_shares[o], mpcd_job_out_bytes(job, o));
        free(job->out_shares[o]);
    }
    free(job->out_shares);
    job->out_shares = NULL;
}

size_t mpcd_job_mask_bytes(const mpcd_job *job, uint32_t k)
{
    return mpc_vcheck_record_bytes(job->circ->inputs[k].len, job->circ->n_parties);
}

size_t mpcd_job_out_bytes(const mpcd_job *job, uint32_t o)
{
    uint64_t len = job->circ->outputs[o].len;
    return job->out_checked ? mpc_vcheck_record_bytes(len, job->circ->n_parties) : (size_t)len * sizeof(uint64_t);
}

void mpcd_job_wipe_mask(mpcd_job *job, uint32_t k)
{
    mpcd_job_input *in = &job->inputs[k];
    if (!in->mask) return;
    sodium_memzero(in->mask, mpcd_job_mask_bytes(job, k));
    free(in->mask);
    in->mask = NULL;
}

void mpcd_job_drop_shares(mpcd_job *job)
{
    if (!job->inputs) return;
    for (uint32_t k = 0; k < job->circ->n_inputs; k++) {
        mpcd_job_input *in = &job->inputs[k];
        if (in->share) {
            sodium_memzero(in->share, (size_t)job->circ->inputs[k].len * sizeof(uint64_t));
            free(in->share);
        }
        if (in->seed) sodium_free(in->seed);
        in->share = NULL;
        in->seed = NULL;
    }
}

void mpcd_job_wipe_inputs(mpcd_job *job)
{
    mpcd_contrib_free(job);
    mpcd_join_wipe(job);
    if (!job->inputs) return;
    mpcd_job_drop_shares(job);
    for (uint32_t k = 0; k < job->circ->n_inputs; k++) mpcd_job_wipe_mask(job, k);
}

static void s_job_free(mpcd_job *job)
{
    mpcd_job_wipe_inputs(job);
    s_wipe_outputs(job);
    if (job->withheld)
        for (uint32_t o = 0; o < job->circ->n_outputs; o++) free(job->withheld[o]);
    free(job->withheld);
    free(job->audit_stmt);
    free(job->audit_cs);
    free(job->inputs);
    mpc_circ_destroy(&job->circ);
    free(job);
}

void mpcd_jobs_set_max(mpcd_jobs *j, uint32_t max_jobs)
{
    pthread_mutex_lock(&j->mu);
    j->max = max_jobs ? max_jobs : 1000;
    pthread_mutex_unlock(&j->mu);
}

void mpcd_jobs_destroy(mpcd_jobs **jp)
{
    if (!jp || !*jp) return;
    mpcd_jobs *j = *jp;
    for (mpcd_job *job = j->head, *next; job; job = next) {
        next = job->next;
        s_job_free(job);
    }
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->cv);
    if (j->wake_fd >= 0) close(j->wake_fd);
    free(j);
    *jp = NULL;
}

void mpcd_jobs_lock(mpcd_jobs *j) { pthread_mutex_lock(&j->mu); }
void mpcd_jobs_unlock(mpcd_jobs *j) { pthread_mutex_unlock(&j->mu); }
void mpcd_jobs_notify(mpcd_jobs *j) { s_notify(j); }

int mpcd_jobs_wake_fd(const mpcd_jobs *j) { return j->wake_fd; }

uint64_t mpcd_jobs_gen(const mpcd_jobs *j)
{
    return atomic_load(&((mpcd_jobs *)j)->gen);
}

void mpcd_jobs_set_waker(mpcd_jobs *j, void (*fn)(void *ctx), void *ctx)
{
    j->waker = fn;
    j->waker_ctx = ctx;
}

void mpcd_jobs_wake_drain(mpcd_jobs *j)
{
    uint64_t n;
    ssize_t r = read(j->wake_fd, &n, sizeof n);   /* EAGAIN: nothing pending */
    (void)r;
}

int mpcd_jobs_wait(mpcd_jobs *j, uint64_t deadline_ms)
{
    struct timespec ts = {(time_t)(deadline_ms / 1000), (long)(deadline_ms % 1000) * 1000000L};
    int rc = pthread_cond_timedwait(&j->cv, &j->mu, &ts);
    return rc == ETIMEDOUT ? MPC_ERR_TIMEOUT : 0;
}

mpcd_job *mpcd_jobs_find(mpcd_jobs *j, const uint8_t id[MPCD_JOB_ID_BYTES])
{
    for (mpcd_job *job = j->head; job; job = job->next)
        if (memcmp(job->id, id, MPCD_JOB_ID_BYTES) == 0) return job;
    return NULL;
}

int mpcd_jobs_add(mpcd_jobs *j, const uint8_t id[MPCD_JOB_ID_BYTES], const char *client,
                  mpc_circuit **circ, const uint8_t hash[32], const uint32_t *binding,
                  uint32_t my_party)
{
    mpcd_job *job = calloc(1, sizeof *job);
    if (!job) return MPC_ERR_NOMEM;
    job->inputs = calloc((*circ)->n_inputs ? (*circ)->n_inputs : 1, sizeof *job->inputs);
    if (!job->inputs) {
        free(job);
        return MPC_ERR_NOMEM;
    }
    memcpy(job->id, id, MPCD_JOB_ID_BYTES);
    mpc_cwire_job_hex(id, job->id_hex);
    snprintf(job->client, sizeof job->client, "%s", client);
    memcpy(job->hash, hash, 32);
    for (uint32_t i = 0; i < (*circ)->n_parties; i++) job->binding[i] = binding[i];
    job->my_party = my_party;
    job->state = MPCD_JOB_QUEUED;
    job->submitted = time(NULL);
    job->submitted_ms = mpc_now_ms();
    job->rounds_total = (*circ)->rounds;

    pthread_mutex_lock(&j->mu);
    job->audit_state = j->audit_on && my_party != UINT32_MAX ? MPCD_AUDIT_DUE : MPCD_AUDIT_NONE;
    int rc = 0;
    /* max_queued_jobs bounds the jobs not yet finished.  Finished jobs stay for their
     * recipients until they expire, but at most max of them: beyond that the oldest finished
     * one goes early (its shares wiped), so the table holds at most 2 * max records.  The
     * oldest whose outputs a client has fetched goes first (or that has none to fetch): with
     * jobs running at once, a long job's outputs must not be pushed out by the many short
     * jobs that ended meanwhile before its recipients have asked each daemon for them.  A job
     * whose audit record is still to be written stays (the worker writes it at once). */
    uint32_t active = 0, finished = 0;
    mpcd_job *oldest = NULL, *oldest_prev = NULL, *prev = NULL, *served = NULL, *served_prev = NULL;
    for (mpcd_job *x = j->head; x; prev = x, x = x->next) {
        if (mpcd_job_finished(x)) {
            int recorded = x->audit_state == MPCD_AUDIT_NONE || x->audit_state == MPCD_AUDIT_WRITTEN;
            if (!oldest && recorded) {
                oldest = x;
                oldest_prev = prev;
            }
            if (!served && recorded && (x->fetched || x->state != MPCD_JOB_DONE)) {
                served = x;
                served_prev = prev;
            }
            finished++;
        } else {
            active++;
        }
    }
    if (mpcd_jobs_find(j, id)) rc = MPC_ERR_STATE;
    else if (active >= j->max) rc = MPC_ERR_LIMIT;
    if (served) {
        oldest = served;
        oldest_prev = served_prev;
    }
    if (rc == 0 && finished >= j->max && oldest) {
        if (oldest_prev) oldest_prev->next = oldest->next;
        else j->head = oldest->next;
        if (j->tail == oldest) j->tail = oldest_prev;
        s_job_free(oldest);
    }
    if (rc == 0) {
        job->circ = *circ;
        *circ = NULL;
        if (j->tail) j->tail->next = job;
        else j->head = job;
        j->tail = job;
        s_notify(j);
    }
    pthread_mutex_unlock(&j->mu);
    if (rc != 0) {
        free(job->inputs);
        free(job);
    }
    return rc;
}

mpcd_job *mpcd_jobs_first(mpcd_jobs *j) { return j->head; }

void mpcd_jobs_set_audit(mpcd_jobs *j, int on)
{
    pthread_mutex_lock(&j->mu);
    j->audit_on = on;
    pthread_mutex_unlock(&j->mu);
}

mpcd_job *mpcd_jobs_audit_due(mpcd_jobs *j)
{
    for (mpcd_job *x = j->head; x; x = x->next)
        if (x->audit_state == MPCD_AUDIT_DUE && mpcd_job_finished(x)) return x;
    return NULL;
}

uint32_t mpcd_jobs_refused_since(mpcd_jobs *j, uint32_t *cursor, uint8_t (*out)[MPCD_JOB_ID_BYTES], uint32_t max)
{
    if (j->n_refused - *cursor > MPCD_REFUSED_KEEP) *cursor = j->n_refused - MPCD_REFUSED_KEEP;
    uint32_t n = 0;
    while (*cursor != j->n_refused && n < max) {
        memcpy(out[n++], j->refused[*cursor % MPCD_REFUSED_KEEP], MPCD_JOB_ID_BYTES);
        (*cursor)++;
    }
    return n;
}

mpcd_job *mpcd_jobs_next_unsequenced(mpcd_jobs *j)
{
    for (mpcd_job *job = j->head; job; job = job->next)
        if (!job->sequenced && job->state == MPCD_JOB_QUEUED) return job;
    return NULL;
}

void mpcd_jobs_note_refused(mpcd_jobs *j, const uint8_t id[MPCD_JOB_ID_BYTES])
{
    pthread_mutex_lock(&j->mu);
    memcpy(j->refused[j->n_refused % MPCD_REFUSED_KEEP], id, MPCD_JOB_ID_BYTES);
    j->n_refused++;
    s_notify(j);
    pthread_mutex_unlock(&j->mu);
}

int mpcd_jobs_was_refused(mpcd_jobs *j, const uint8_t id[MPCD_JOB_ID_BYTES])
{
    uint32_t n = j->n_refused < MPCD_REFUSED_KEEP ? j->n_refused : MPCD_REFUSED_KEEP;
    for (uint32_t i = 0; i < n; i++)
        if (memcmp(j->refused[i], id, MPCD_JOB_ID_BYTES) == 0) return 1;
    return 0;
}

int mpcd_job_inputs_ready(const mpcd_job *job, uint32_t *missing)
{
    if (job->my_party == UINT32_MAX) return 1;
    for (uint32_t k = 0; k < job->circ->n_inputs; k++)
        if (!job->inputs[k].present && !mpc_join_input_of(job->circ->inputs[k].name)) {
            if (missing) *missing = k;
            return 0;
        }
    return mpcd_join_keys_ready(job, missing);
}

/* Gives back the job's privacy budget reservation (it did not run); a failed write of the
 * ledger keeps the charge, the safe side, and says so. */
static void s_budget_release(mpcd_job *job)
{
    if (!(job->dp_eps > 0)) return;
    if (mpcd_ledger_release(mpcd_ledger_global(), job->id) != 0)
        mpcd_warn(job->id_hex, "cannot write the privacy budget ledger: the job's spend (eps = %g) stays charged",
                  job->dp_eps);
    job->dp_eps = job->dp_delta = 0;
    job->dp_note[0] = 0;
}

void mpcd_job_fail(mpcd_job *job, const char *fmt, ...)
{
    int was_finished = mpcd_job_finished(job);
    /* Ended before running: its privacy budget reservation is given back (budget.h). */
    if (job->state == MPCD_JOB_QUEUED || job->state == MPCD_JOB_WAITING) s_budget_release(job);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(job->reason, sizeof job->reason, fmt, ap);
    va_end(ap);
    job->state = MPCD_JOB_FAILED;
    if (atomic_load(&job->cancel)) {
        snprintf(job->reason, sizeof job->reason, "cancelled by client %s", job->cancelled_by);
        job->state = MPCD_JOB_CANCELLED;
    }
    if (!was_finished) mpcd_metrics_job_ended(job->state, job->submitted_ms);
    job->finished = time(NULL);
    mpcd_job_wipe_inputs(job);
    s_wipe_outputs(job);
}

uint32_t mpcd_jobs_expire(mpcd_jobs *j, time_t now, int64_t ttl_s)
{
    uint32_t freed = 0;
    pthread_mutex_lock(&j->mu);
    mpcd_job *prev = NULL;
    for (mpcd_job *job = j->head, *next; job; job = next) {
        next = job->next;
        int finished = mpcd_job_finished(job) &&
                       (job->audit_state == MPCD_AUDIT_NONE || job->audit_state == MPCD_AUDIT_WRITTEN);
        int stale_queued = job->state == MPCD_JOB_QUEUED && now - job->submitted > ttl_s;
        if ((finished && now - job->finished > ttl_s) || stale_queued) {
            if (stale_queued) s_budget_release(job);
            if (prev) prev->next = next;
            else j->head = next;
            if (j->tail == job) j->tail = prev;
            s_job_free(job);
            freed++;
            continue;
        }
        prev = job;
    }
    pthread_mutex_unlock(&j->mu);
    return freed;
}

uint32_t mpcd_jobs_unfinished_by(mpcd_jobs *j, const char *client)
{
    uint32_t n = 0;
    for (mpcd_job *job = j->head; job; job = job->next)
        if (!mpcd_job_finished(job) && !strcmp(job->client, client)) n++;
    return n;
}

void mpcd_jobs_count(mpcd_jobs *j, uint32_t counts[MPCD_JOB__COUNT])
{
    memset(counts, 0, MPCD_JOB__COUNT * sizeof counts[0]);
    for (mpcd_job *job = j->head; job; job = job->next)
        if ((unsigned)job->state < MPCD_JOB__COUNT) counts[job->state]++;
}

int mpcd_job_finished(const mpcd_job *job)
{
    return job->state == MPCD_JOB_DONE || job->state == MPCD_JOB_FAILED || job->state == MPCD_JOB_CANCELLED;
}

mpcd_job_state mpcd_job_cancel(mpcd_jobs *j, mpcd_job *job, const char *by)
{
    mpcd_job_state was = job->state;
    switch (was) {
    case MPCD_JOB_QUEUED:
    case MPCD_JOB_DONE:
        /* Not held by the worker: the worker takes only QUEUED jobs and will skip it now. */
        snprintf(job->cancelled_by, sizeof job->cancelled_by, "%s", by);
        snprintf(job->reason, sizeof job->reason, "cancelled by client %s", by);
        job->state = MPCD_JOB_CANCELLED;
        job->finished = time(NULL);
        if (was == MPCD_JOB_QUEUED) {
            mpcd_metrics_job_ended(MPCD_JOB_CANCELLED, job->submitted_ms);
            s_budget_release(job);
        }
        mpcd_job_wipe_inputs(job);
        s_wipe_outputs(job);
        break;
    case MPCD_JOB_WAITING:
    case MPCD_JOB_RUNNING:
        if (!atomic_load(&job->cancel)) snprintf(job->cancelled_by, sizeof job->cancelled_by, "%s", by);
        atomic_store(&job->cancel, 1);
        break;
    default:   /* failed or cancelled already: nothing is left to wipe */
        break;
    }
    s_notify(j);
    return was;
}

uint64_t mpcd_client_id(const char *public_key_z85)
{
    static const char tag[] = "mpcd client id\n";
    uint8_t h[32];
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof h);
    crypto_generichash_update(&st, (const uint8_t *)tag, sizeof tag - 1);
    crypto_generichash_update(&st, (const uint8_t *)public_key_z85, strlen(public_key_z85));
    crypto_generichash_final(&st, h, sizeof h);
    uint64_t id;
    memcpy(&id, h, sizeof id);
    return id;
}

void mpcd_job_withheld_note(const mpcd_job *job, uint32_t o, char *buf, size_t cap)
{
    buf[0] = 0;
    if (!job->withheld || o >= job->circ->n_outputs || !job->withheld[o]) return;
    const mpc_output *out = &job->circ->outputs[o];
    const uint8_t *w = job->withheld[o];
    uint64_t n = 0, why = 0;
    for (uint64_t i = 0; i < out->len; i++)
        if (w[i]) {
            n++;
            why = w[i];
        }
    if (!n) return;
    size_t k = (size_t)snprintf(buf, cap, "output '%s' ", out->name);
    if (n == out->len) {
        k += (size_t)snprintf(buf + k, k < cap ? cap - k : 0, "%s withheld", out->len == 1 ? "is" : "all elements");
    } else {
        k += (size_t)snprintf(buf + k, k < cap ? cap - k : 0, "element%s", n > 1 ? "s" : "");
        uint64_t shown = 0;
        for (uint64_t i = 0; i < out->len && k < cap; i++) {
            if (!w[i]) continue;
            if (shown++ == 16) {
                k += (size_t)snprintf(buf + k, cap - k, " and %llu more", (unsigned long long)(n - 16));
                break;
            }
            k += (size_t)snprintf(buf + k, cap - k, "%s %llu", shown > 1 ? "," : "", (unsigned long long)i);
        }
        if (k < cap) k += (size_t)snprintf(buf + k, cap - k, " withheld");
    }
    if (k >= cap) return;
    int coll = 0;   /* a job with a collection counts its contributions (mpcd_release_contributors) */
    for (uint32_t i = 0; i < job->circ->n_inputs; i++) coll |= mpc_contrib_input_of(job->circ->inputs[i].name);
    if (why == MPCD_WITHHELD_CONTRIB)
        snprintf(buf + k, cap - k, ": fewer than min_contributors = %llu %s gave inputs (%u did)",
                 (unsigned long long)job->agreed_contrib,
                 coll ? "contributors (valid contributions and the clients of other inputs)" : "clients",
                 (unsigned)job->contributors);
    else
        snprintf(buf + k, cap - k, ": fewer than min_rows = %llu rows", (unsigned long long)job->agreed_rows);
}
