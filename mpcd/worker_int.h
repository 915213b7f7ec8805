/* worker_int.h — what the job worker's files share (not an API: the worker's API is worker.h).
 *
 *   worker.c     the RUN message's codec, the job threads and their FIFOs, mpcd_worker_run
 *                (the worker thread's loop)
 *   sequencer.c  readiness notes, the sequencer's ordering (jobs and pool chunks), a party's
 *                reports, sequencer failover
 *   run_job.c    one RUN on a job thread: the AGREE rounds, the outcome of the job, its audit
 *                record, and a chunk of the triple pool
 *   execute.c    the engine run of an agreed job: its inputs, its preprocessing source (counted
 *                for its progress), the release rules, its output shares
 *
 * docs/daemon.md ("Processes and threads", "Job ordering", "Sequencer failover") describes
 * what they do together. */
#ifndef MPCD_WORKER_INT_H
#define MPCD_WORKER_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "jobs.h"
#include "transport.h"
#include "worker.h"

/* The longest a worker thread waits between two passes when nothing wakes it.  It waits in
 * the transport (mpc_transport_zmq_service), so a message from a peer (a RUN, a party's
 * report) ends the wait at once, and so does a job becoming ready here: every
 * mpcd_jobs_notify wakes it (mpcd_jobs_set_waker, mpc_transport_zmq_wake).  Before, a party
 * blocked in a 100 ms recv for RUNs and the sequencer on the jobs' condition variable (50 ms):
 * a small job waited about 100 ms between its last input and its run (docs/daemon.md,
 * "Waking the worker"). */
#define MPCD_PASS_MS 100

/* Waits up to MPCD_PASS_MS in the transport, unless a job changed since the pass began
 * (w->pass_gen): then at once, so a change between the pass's look and the wait is never
 * slept through. */
void mpcd_worker_idle_wait(mpcd_worker *w);

/* 1 while a job or a pool chunk runs on this daemon.  Its thread then reads the sockets, and
 * the worker waits as it did before it waited in the transport: a party in a recv for RUNs,
 * the sequencer on its jobs' condition variable.  Waiting in the transport beside a run meant
 * a pass every 10 ms (a background thread's waits are cut in 10 ms steps while a foreground
 * thread reads), and their locks cost each of the run's rounds 20-30 µs. */
int mpcd_worker_running(mpcd_worker *w);
#define MPCD_RUN_STEP_MS 10   /* a party's recv for RUNs while a run goes on: its steps */

enum { RUN_JOB = 0, RUN_PREP = 1 };   /* what a RUN starts: a job, or a chunk of the pool */

/* The RUN message: what the sequencer tells each party of a job. */
typedef struct {
    uint64_t epoch, k, stream;
    uint8_t  id[MPCD_JOB_ID_BYTES];
    uint8_t  hash[32];
    uint32_t n;                          /* program parties */
    uint32_t binding[MPC_MAX_PARTIES];   /* program party -> configured party */
    uint32_t prep_mode;
    uint32_t what;                       /* RUN_JOB or RUN_PREP (then k = triples to make) */
} run_msg;

/* ---- worker.c ---- */

void mpcd_run_encode(const run_msg *r, uint64_t w[MPCD_RUN_WORDS]);
/* Decodes and checks a RUN from the wire; 0 or MPC_ERR_PROTOCOL. */
int mpcd_run_decode(const uint64_t w[MPCD_RUN_WORDS], uint32_t n_parties, run_msg *r);

/* The job threads' FIFOs (worker.c); the sequencer reads the counts and the pool's turn under
 * mu to decide what to order next. */
typedef struct mpcd_run_node {
    struct mpcd_run_node *next;
    run_msg  r;
    int      uses_pool;
    uint64_t ticket;
} mpcd_run_node;

/* An AGREE this daemon sent (agree.c, docs/daemon.md "Lost AGREEs"): kept so that a party of
 * the run that did not get it can ask for it again.  Under the slots' mu. */
#define MPCD_AGREE_KEPT    64   /* AGREEs kept: two rounds of 32 runs */
#define MPCD_AGREE_RESENDS 3    /* copies sent at most to one party, per round of a run */
typedef struct {
    uint64_t stream, round;                  /* the run's stream (0: an empty slot) */
    uint8_t  id[MPCD_JOB_ID_BYTES];          /* the job, for the log */
    uint32_t to_mask;                        /* the mesh nodes it was sent to */
    uint8_t  resent[MPC_MAX_PARTIES + 1];    /* copies sent again, per mesh node */
    uint64_t words[MPCD_AGREE_WORDS];
} mpcd_agree_kept;

struct mpcd_slots {
    mpcd_worker    *w;
    pthread_mutex_t mu;
    pthread_cond_t  cv;
    mpcd_run_node  *head, *tail;     /* jobs waiting for a job thread */
    mpcd_run_node  *phead, *ptail;   /* pool chunks waiting for the pool thread */
    uint32_t        queued;          /* jobs waiting for a job thread */
    uint32_t        busy;            /* runs on a job thread */
    uint64_t        next_ticket, turn;   /* pool tickets handed out / the ticket whose turn it is */
    uint64_t        prep_retry_at;   /* sequencer: no pool chunk before this (a chunk failed) */
    int             stop;
    /* The AGREEs this daemon's job threads sent last (agree.c): a ring, newest over oldest. */
    mpcd_agree_kept kept[MPCD_AGREE_KEPT];
    uint32_t        kept_next;
    uint32_t        nth;             /* job threads; th[nth] is the pool thread */
    int             pool_th;         /* the pool thread was started */
    pthread_t       th[];
};

/* Worker thread: queues run r for the next free job thread.  A job held here is marked
 * sequenced at once, so that the readiness pass neither reports it again nor ends it while
 * it waits for a thread. */
void mpcd_run_dispatch(mpcd_worker *w, const run_msg *r);

/* ---- agree.c: lost AGREEs (docs/daemon.md, "Lost AGREEs") ---- */

/* Job thread: keeps the AGREE of `round` of run r (sent to the mesh nodes in to_mask) for the
 * parties that ask for it again. */
void mpcd_agree_keep(mpcd_worker *w, const run_msg *r, uint64_t round, uint32_t to_mask,
                     const uint64_t words[MPCD_AGREE_WORDS]);
/* Job thread, waiting for party p's AGREE of `round` of run r: asks p to send it again. */
void mpcd_agree_ask(mpcd_worker *w, mpc_transport *view, const run_msg *r, uint32_t p, uint64_t round);
/* Worker thread: answers the asks that came, each with a copy of the AGREE this daemon sent
 * the asking party (if it did, at most MPCD_AGREE_RESENDS times per party and round). */
void mpcd_agree_serve(mpcd_worker *w);

/* ---- sequencer.c (called by the worker thread's loop) ---- */

/* The sequencer as this daemon sees it now: the lowest-indexed party that is up, itself
 * included (the dealer never sequences). */
uint32_t mpcd_seq_now(const mpcd_worker *w);
/* This daemon's view of the sequencer changed to seq. */
void mpcd_seq_changed(mpcd_worker *w, uint32_t seq);
/* Takes (and refuses) what nodes other than the sequencer sent on the control streams. */
void mpcd_seq_drain_stale(mpcd_worker *w);
/* Sequencer: hands out the next job's turn (or a pool chunk's). Returns 1 if it did something. */
int mpcd_seq_one(mpcd_worker *w, uint64_t epoch, uint64_t *k, uint64_t *retry_at);
/* A party (not the sequencer): answers from the sequencer, then its own reports. */
void mpcd_seq_party_pass(mpcd_worker *w);

/* ---- run_job.c (called by the job threads) ---- */

/* Job thread: takes part in the job of run r (the dealer process: serves its material). */
void mpcd_run_job(mpcd_worker *w, const run_msg *r);
/* Pool thread: makes one chunk of the pool with every party. */
void mpcd_run_pool_chunk(mpcd_worker *w, const run_msg *r);
/* Writes the audit record of every ended job whose record is due. */
void mpcd_run_audit_flush(mpcd_worker *w);
/* ABORTs on the job's preprocessing stream to the dealer (view index dealer_idx), and on the
 * job's stream to its other program parties. */
void mpcd_run_abort_dealer(mpc_transport *view, uint32_t dealer_idx, uint64_t stream, int code);
void mpcd_run_abort_parties(mpc_transport *view, const run_msg *r, uint32_t me, int code);

/* ---- execute.c ---- */

/* Runs the engine for job (lock NOT held; the job is ours: state RUNNING).  use_pool: the
 * parties agreed to take triples from the pool.  On failure blame[] names who found a party
 * gone and that party (view indices), and reason says why. */
int mpcd_run_execute(mpcd_worker *w, mpcd_job *job, mpc_transport *view, const run_msg *r, uint32_t me,
                     int use_pool, uint32_t blame[2], char *reason, size_t rlen);

#endif
