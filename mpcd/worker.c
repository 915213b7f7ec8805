/* worker.c — the job worker's thread and its job threads (worker.h, docs/daemon.md): the RUN
 * message's codec, the FIFOs that hand each RUN to a job thread (or a pool chunk to the pool
 * thread), and mpcd_worker_run, the loop that sequences or follows the sequencer.  The other
 * parts of the worker are in sequencer.c, run_job.c and execute.c (worker_int.h). */
#include "worker_int.h"

#include <malloc.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "mpc_err.h"
#include "pool.h"
#include "transport_zmq.h"

/* ---- The RUN message (worker_int.h): MPCD_RUN_WORDS words on the control stream ---- */

enum { RUN_KIND = 0x52554e31 /* "RUN1" */ };

void mpcd_run_encode(const run_msg *r, uint64_t w[MPCD_RUN_WORDS])
{
    memset(w, 0, MPCD_RUN_WORDS * sizeof w[0]);
    w[0] = RUN_KIND;
    w[1] = r->epoch;
    w[2] = r->k;
    w[3] = r->stream;
    memcpy(&w[4], r->id, MPCD_JOB_ID_BYTES);
    memcpy(&w[6], r->hash, 32);
    w[10] = r->n;
    for (uint32_t i = 0; i < r->n; i++) w[11] |= (uint64_t)(r->binding[i] & 0xf) << (4 * i);
    w[12] = r->prep_mode;
    w[13] = r->what;
}

/* Decodes and checks a RUN from the wire; 0 or MPC_ERR_PROTOCOL. */
int mpcd_run_decode(const uint64_t w[MPCD_RUN_WORDS], uint32_t n_parties, run_msg *r)
{
    if (w[0] != RUN_KIND || w[10] < 2 || w[10] > MPC_MAX_PARTIES || w[10] > n_parties || w[12] > 1 ||
        w[13] > RUN_PREP || w[14] || w[15] || (w[3] & (MPC_STREAM_PREP_BIT | MPCD_JOB_CONTROL)) || w[3] == 0)
        return MPC_ERR_PROTOCOL;
    memset(r, 0, sizeof *r);
    r->epoch = w[1];
    r->k = w[2];
    r->stream = w[3];
    memcpy(r->id, &w[4], MPCD_JOB_ID_BYTES);
    memcpy(r->hash, &w[6], 32);
    r->n = (uint32_t)w[10];
    uint32_t seen = 0;
    for (uint32_t i = 0; i < r->n; i++) {
        uint32_t b = (uint32_t)(w[11] >> (4 * i)) & 0xf;
        if (b >= n_parties || (seen & (1u << b))) return MPC_ERR_PROTOCOL;
        seen |= 1u << b;
        r->binding[i] = b;
    }
    if (r->n < 16 && (w[11] >> (4 * r->n))) return MPC_ERR_PROTOCOL;
    r->prep_mode = (uint32_t)w[12];
    r->what = (uint32_t)w[13];
    return 0;
}

/* ---- Job threads (docs/daemon.md, "Processes and threads"): the worker thread hands every
 * RUN it takes part in, in the order it received them, to a FIFO served by max_running job
 * threads.  A run that may touch the triple pool (a chunk, or a job of every party with OT
 * preprocessing) also draws a pool ticket at hand-over; it uses the pool only when the turn
 * has come to its ticket, so every party's pool serves the same runs in the same order. ---- */

typedef struct {
    struct mpcd_slots *sl;
    int pool;                        /* the pool thread: serves the chunks' FIFO only */
} s_thread_arg;

/* A job thread (or, with pool set, the pool thread: chunks run beside the jobs, never in a
 * job's slot, so a chunk never holds up a job that does not use the pool). */
static void *s_job_thread(void *arg)
{
    struct mpcd_slots *sl = ((s_thread_arg *)arg)->sl;
    int pool = ((s_thread_arg *)arg)->pool;
    free(arg);
    mpcd_worker *w = sl->w;
    pthread_mutex_lock(&sl->mu);
    for (;;) {
        mpcd_run_node **hp = pool ? &sl->phead : &sl->head, **tp = pool ? &sl->ptail : &sl->tail;
        while (!*hp && !sl->stop) pthread_cond_wait(&sl->cv, &sl->mu);
        if (sl->stop) break;
        mpcd_run_node *n = *hp;
        *hp = n->next;
        if (!*hp) *tp = NULL;
        if (!pool) {
            sl->queued--;
            sl->busy++;
        }
        while (n->uses_pool && sl->turn != n->ticket && !sl->stop) pthread_cond_wait(&sl->cv, &sl->mu);
        int go = !sl->stop;
        pthread_mutex_unlock(&sl->mu);
        if (go && n->r.what == RUN_PREP) mpcd_run_pool_chunk(w, &n->r);
        else if (go) mpcd_run_job(w, &n->r);
        pthread_mutex_lock(&sl->mu);
        if (n->r.what == RUN_PREP && w->pool && mpcd_pool_stock(w->pool) == 0)
            sl->prep_retry_at = mpc_now_ms() + 10000;   /* a failed chunk: the sequencer backs off */
        if (n->uses_pool) sl->turn++;
        if (!pool) sl->busy--;
        pthread_mutex_unlock(&sl->mu);
        /* Each job thread allocates from an arena of its own; give what the run freed back to
         * the system, so that the daemon's size after a burst of concurrent jobs returns to
         * what it holds (job records), not to the peak of every arena at once. */
#ifndef __SANITIZE_ADDRESS__   /* ASan's allocator replaces glibc's: malloc_trim there crashed */
        malloc_trim(0);
#endif
        pthread_mutex_lock(&sl->mu);
        pthread_cond_broadcast(&sl->cv);
        free(n);
    }
    pthread_mutex_unlock(&sl->mu);
    return NULL;
}

static void s_slots_stop_threads(struct mpcd_slots *sl)
{
    pthread_mutex_lock(&sl->mu);
    sl->stop = 1;
    pthread_cond_broadcast(&sl->cv);
    pthread_mutex_unlock(&sl->mu);
    for (uint32_t i = 0; i < sl->nth; i++) pthread_join(sl->th[i], NULL);
    if (sl->pool_th) pthread_join(sl->th[sl->nth], NULL);
    sl->nth = 0;
    sl->pool_th = 0;
}

static struct mpcd_slots *s_slots_start(mpcd_worker *w)
{
    uint32_t k = w->max_running ? w->max_running : 1;
    struct mpcd_slots *sl = calloc(1, sizeof *sl + (k + 1) * sizeof(pthread_t));
    if (!sl) return NULL;
    sl->w = w;
    pthread_mutex_init(&sl->mu, NULL);
    pthread_cond_init(&sl->cv, NULL);
    for (uint32_t i = 0; i <= k; i++) {
        s_thread_arg *a = malloc(sizeof *a);
        if (!a) break;
        a->sl = sl;
        a->pool = i == k;
        if (pthread_create(&sl->th[i == k ? k : sl->nth], NULL, s_job_thread, a) != 0) {
            free(a);
            break;
        }
        if (i == k) sl->pool_th = 1;
        else sl->nth++;
    }
    if (!sl->nth || !sl->pool_th) {
        s_slots_stop_threads(sl);
        pthread_mutex_destroy(&sl->mu);
        pthread_cond_destroy(&sl->cv);
        free(sl);
        return NULL;
    }
    return sl;
}

/* Stops the job threads (a run in progress ends on its own bounds or the stop flag) and drops
 * the runs that never started. */
static void s_slots_stop(struct mpcd_slots *sl)
{
    s_slots_stop_threads(sl);
    for (int q = 0; q < 2; q++)
        while (q ? sl->phead : sl->head) {
            mpcd_run_node *n = q ? sl->phead : sl->head;
            if (q) sl->phead = n->next;
            else sl->head = n->next;
            free(n);
        }
    pthread_mutex_destroy(&sl->mu);
    pthread_cond_destroy(&sl->cv);
    free(sl);
}

/* Worker thread: queues run r for the next free job thread.  A job held here is marked
 * sequenced at once, so that the readiness pass neither reports it again nor ends it while
 * it waits for a thread. */
void mpcd_run_dispatch(mpcd_worker *w, const run_msg *r)
{
    mpcd_run_node *n = calloc(1, sizeof *n);
    if (!n) {
        mpcd_error(NULL, "out of memory: a RUN is dropped (its parties fail the job at their timeout)");
        return;
    }
    n->r = *r;
    n->uses_pool = w->pool && !w->is_dealer &&
                   (r->what == RUN_PREP || (r->prep_mode == MPCD_PREP_OT && r->n == w->n_parties));
    if (r->what == RUN_JOB && w->jobs) {
        mpcd_jobs_lock(w->jobs);
        mpcd_job *job = mpcd_jobs_find(w->jobs, r->id);
        /* The same RUN again: the sequencer sends it again to a party whose readiness report
         * crossed it (docs/daemon.md, "Lost RUNs"); a second run on the same stream would
         * disturb the first. */
        int again = job && job->sequenced && job->stream == r->stream;
        if (job && job->state == MPCD_JOB_QUEUED && !again) {
            job->sequenced = 1;
            job->stream = r->stream;
        }
        mpcd_jobs_unlock(w->jobs);
        if (again) {
            free(n);
            return;
        }
    }
    struct mpcd_slots *sl = w->slots;
    pthread_mutex_lock(&sl->mu);
    if (n->uses_pool) n->ticket = sl->next_ticket++;
    mpcd_run_node **hp = r->what == RUN_PREP ? &sl->phead : &sl->head, **tp = r->what == RUN_PREP ? &sl->ptail : &sl->tail;
    if (*tp) (*tp)->next = n;
    else *hp = n;
    *tp = n;
    sl->queued += r->what != RUN_PREP;
    uint32_t queued = sl->queued, busy = sl->busy;
    pthread_cond_broadcast(&sl->cv);
    pthread_mutex_unlock(&sl->mu);
    char hex[MPC_CWIRE_JOB_HEX + 1];
    mpc_cwire_job_hex(r->id, hex);
    mpcd_debug(r->what == RUN_JOB ? hex : NULL, "%s queued for a job thread (%u queued, %u running)",
               r->what == RUN_JOB ? "RUN" : "pool chunk", (unsigned)queued, (unsigned)busy);
}

int mpcd_worker_running(mpcd_worker *w)
{
    if (!w->slots) return 0;
    pthread_mutex_lock(&w->slots->mu);
    int r = w->slots->busy || w->slots->turn != w->slots->next_ticket;
    pthread_mutex_unlock(&w->slots->mu);
    return r;
}

void mpcd_worker_idle_wait(mpcd_worker *w)
{
    if (w->jobs && mpcd_jobs_gen(w->jobs) != w->pass_gen) return;
    w->idle(w->idle_ctx, MPCD_PASS_MS);
}

int mpcd_worker_run(mpcd_worker *w)
{
    uint64_t epoch = 0, k = 0, retry_at = 0;
    /* Stream ids carry 31 random bits of this epoch: two sequencers (one after the other, or
     * two that briefly disagree) never give two runs the same stream. */
    randombytes_buf(&epoch, sizeof epoch);
    epoch |= 1;   /* never 0, so stream ids are never 0 */
    w->seq_now = UINT32_MAX;
    /* This thread reads control traffic only: while a job thread waits in recv, that one reads
     * the sockets (no hand-off per message) and files what comes for this thread. */
    mpc_transport_zmq_background(1);
    if (!(w->slots = s_slots_start(w))) {
        mpcd_error(NULL, "cannot start the job threads");
        return MPC_ERR_NOMEM;
    }
    while (!atomic_load(w->stop)) {
        if (w->jobs) w->pass_gen = mpcd_jobs_gen(w->jobs);
        if (w->audit) mpcd_run_audit_flush(w);
        uint32_t seq = mpcd_seq_now(w);
        if (seq != w->seq_now) mpcd_seq_changed(w, seq);
        mpcd_seq_drain_stale(w);
        mpcd_agree_serve(w);   /* whatever else this thread does: a party may wait for a lost AGREE */
        if (w->self == seq && !w->is_dealer) {
            if (!mpcd_seq_one(w, epoch, &k, &retry_at) && w->idle) w->idle(w->idle_ctx, 0);
            continue;
        }
        if (w->jobs) mpcd_seq_party_pass(w);
        uint64_t words[MPCD_RUN_WORDS];
        /* With a transport to wait in and no run here, take what is there and wait there
         * (woken by a RUN, any other message or a job ready here).  While a run goes on, or
         * without a transport (tests), wait in the recv for up to MPCD_PASS_MS, in steps of
         * MPCD_RUN_STEP_MS so that the end of the run is seen soon (mpcd_worker_running). */
        int quick, rc;
        uint64_t until = mpc_now_ms() + MPCD_PASS_MS;
        do {
            quick = w->idle && !mpcd_worker_running(w);
            rc = mpc_recv(w->mesh, seq, MPC_MSG_CONTROL, MPCD_JOB_CONTROL, 0, words, MPCD_RUN_WORDS,
                          quick ? 0 : MPCD_RUN_STEP_MS);
        } while (rc == MPC_ERR_TIMEOUT && !quick && mpc_now_ms() < until && !atomic_load(w->stop));
        if (rc == MPC_ERR_TIMEOUT) {
            if (quick) mpcd_worker_idle_wait(w);
            else if (w->idle) w->idle(w->idle_ctx, 0);
            continue;
        }
        if (rc == MPC_ERR_IO) continue;   /* the sequencer went away: the next pass picks the next one */
        if (rc != 0) {
            mpcd_warn(NULL, "control message from the sequencer %s refused: %s", w->names[seq], mpc_strerror(rc));
            continue;
        }
        run_msg r;
        if (mpcd_run_decode(words, w->n_parties, &r) != 0) {
            mpcd_warn(NULL, "malformed RUN message from the sequencer %s ignored", w->names[seq]);
            continue;
        }
        /* Hand the run to the job threads, in the order the RUNs came: this thread goes on
         * reading notes and RUNs while jobs run (party_free_ms stays at its start: reports
         * are read at every pass, whatever runs). */
        if (r.what == RUN_PREP) {
            if (w->pool && !w->is_dealer && r.n == w->n_parties) mpcd_run_dispatch(w, &r);
            continue;
        }
        int involved = w->is_dealer;
        for (uint32_t i = 0; i < r.n; i++)
            if (r.binding[i] == w->self) involved = 1;
        if (involved) mpcd_run_dispatch(w, &r);
    }
    s_slots_stop(w->slots);
    w->slots = NULL;
    return 0;
}

