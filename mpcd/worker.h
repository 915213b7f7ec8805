/* worker.h — the job worker: the thread that sequences (or follows the sequencer), reads and
 * answers readiness notes and hands each RUN, in the order the sequencer gives, to one of
 * `max_running` job threads, which run up to that many jobs at once over the shared mesh
 * (docs/daemon.md, "Processes and threads", "Job ordering").
 *
 * The sequencer is the lowest-indexed configured party this daemon sees as up (itself
 * included; the dealer never sequences), recomputed on every pass, so that sequencing moves
 * to the next party while the first is down and back when it returns.
 * Sequencer: takes the oldest job of its table that every party of it has reported ready
 * (to it) (it holds the job and all its inputs), assigns it (epoch, k) and a stream id, sends
 * RUN to the job's other parties (and the dealer), then runs it if it is one of the job's
 * parties; it ends jobs not ready everywhere input_timeout_ms after their submission.
 * Follower: reports its ready jobs to the sequencer it sees (MPCD_NOTE_STREAM), again at once
 * when that changes, ends those that waited too long, waits for RUN on the control stream
 * from that sequencer only (a RUN from any other node is refused), finds the job in its
 * table, and runs it.
 * Running: this party's inputs are here, one all-to-all AGREE round on the job's stream comparing a
 * hash of (job id, circuit hash, binding, preprocessing, stream), then the engine with
 * material from the dealer, then the output shares are stored for the clients.  A dealer
 * process runs the same follower loop and serves the job's preprocessing stream.
 *
 * The code: worker.c (the loop, the job threads), sequencer.c (ordering, readiness, failover),
 * run_job.c (agreement and outcome of a run), execute.c (the engine run), sharing the internal
 * worker_int.h. */
#ifndef MPCD_WORKER_H
#define MPCD_WORKER_H

#include <stdatomic.h>
#include <stdint.h>

#include "config.h"
#include "jobs.h"
#include "pool.h"
#include "transport.h"

#define MPCD_JOB_CONTROL (1ull << 62)   /* stream id of sequencer -> party RUN messages */
#define MPCD_NOTE_STREAM (MPCD_JOB_CONTROL | 1)   /* readiness reports and the sequencer's answers */
#define MPCD_RUN_WORDS   MPCD_JOB_RUN_WORDS   /* jobs.h: a job keeps its RUN */
/* A run's agreement (mpcd/run_job.c, docs/daemon.md "Lost AGREEs"): each AGREE carries 14 words
 * (status, detail, tuple hash (4), pool (3), release rule (3), security, round) and travels on
 * the run's agreement stream, never on the run's stream itself: a party asks a silent peer for
 * its AGREE again, so a copy may come late, and a copy on the run's stream would be taken for
 * the next message there (the engine's, the MAC check's at CONTROL seq 0 + 4c + r, the
 * release's at MPCD_RELEASE_SEQ, the co-signature's at MPCD_AUDIT_COSIG_SEQ).  A run's
 * stream has bits 62 and 63 clear, its preprocessing stream bit 63, its joins' stream bit 62
 * (join_job.h): the agreement stream has both.  Every AGREE has seq MPCD_AGREE_SEQ (next to
 * MPCD_RELEASE_SEQ 0xA0D16000 and MPCD_AUDIT_COSIG_SEQ 0xA0D17000, though on a stream of its
 * own) and says its round in its last word, so that a late copy of round 0 is recognised and
 * dropped instead of failing the receive of round 1.  Asks (stream, round) go on
 * MPCD_AGREE_ASK_STREAM, read by the worker thread. */
#define MPCD_AGREE_WORDS 14
#define MPCD_AGREE_ROUND_WORD 13
#define MPCD_AGREE_STREAM(s) ((s) | MPC_STREAM_PREP_BIT | MPCD_JOB_CONTROL)
#define MPCD_AGREE_SEQ 0xA0D15000ull
#define MPCD_AGREE_ASK_STREAM (MPCD_JOB_CONTROL | 4)
#define MPCD_AGREE_ASK_WORDS 2

typedef struct {
    /* Mesh layout: configured parties are nodes 0..n_parties-1; the dealer, when there is
     * one, is node n_parties. */
    uint32_t       n_parties;
    uint32_t       self;            /* this node (n_parties for the dealer process) */
    uint32_t       dealer;          /* dealer node, or UINT32_MAX without a dealer */
    int            is_dealer;       /* this process is the dealer */
    int64_t        prep_mode;       /* MPCD_PREP_* (agreed per job) */
    int64_t        security;        /* MPCD_SEC_* of this daemon; every party of a job must agree */
    int            peer_timeout_ms;
    uint32_t       max_running;     /* job threads: jobs and pool chunks run at once (0: 1) */
    /* The two limits a reload (SIGHUP) changes while the worker runs: atomic, stored by the
     * main thread, read here. */
    atomic_int     input_timeout_ms;
    _Atomic int64_t job_timeout_ms; /* longest a job may run once started (0: no limit) */
    /* How long the mesh takes to notice a dead or frozen peer (heartbeat timeout); after a
     * peer's ABORT the worker waits up to this long for the cause to show (0: 100 ms). */
    int            dead_peer_ms;
    char           names[MPC_MAX_PARTIES + 1][MPC_NAME_MAX];   /* node names, for messages */
    mpc_transport *mesh;            /* borrowed; the worker and its job threads use it at once */
    mpcd_jobs     *jobs;            /* borrowed; NULL for the dealer */
    mpcd_pool     *pool;            /* background triple stock (OT mode), or NULL */
    /* The audit log (state_dir set), or NULL; the parties' audit keys (bit i of mask: party
     * i's key is configured), to check their co-signatures. */
    struct mpcd_audit *audit;
    uint8_t        audit_pub[MPC_MAX_PARTIES][32];
    uint32_t       audit_pub_mask;
    /* Called while idle so the mesh can answer peers (may be NULL). */
    int          (*idle)(void *ctx, int timeout_ms);
    /* 1 if mesh node `node` is reachable (may be NULL). */
    int          (*peer_up)(void *ctx, uint32_t node);
    void          *idle_ctx;
    /* Set non-zero (by another thread) to make the worker return; read with atomic_load. */
    const atomic_int *stop;
    uint32_t       refused_cursor;  /* worker-private: refusals already reported to the sequencer */
    uint64_t       seq_free_ms;     /* worker-private: when the sequencer last finished a job or chunk */
    uint64_t       party_free_ms;   /* worker-private: when this party last finished a job or chunk */
    uint64_t       pass_gen;        /* worker-private: mpcd_jobs_gen at the start of this pass */
    uint32_t       notes_unanswered;   /* worker-private: reports sent since the sequencer last answered */
    uint64_t       notes_sent_ms;      /* worker-private: when the last report went out */
    uint32_t       seq_now;            /* worker-private: the sequencer as this daemon sees it */
    uint64_t       seq_since_ms;       /* worker-private: since when (its readiness timeouts count from it) */
    struct mpcd_slots *slots;          /* worker-private: the job threads and the RUNs waiting for one */
} mpcd_worker;

/* Runs until *w->stop is set.  Returns 0. */
int mpcd_worker_run(mpcd_worker *w);

#endif
