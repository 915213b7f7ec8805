/* jobs.h — mpcd's job table: what clients submitted, the input shares they gave, the state of
 * each job and its output shares.  Shared by the client thread and the job worker under one
 * mutex; the worker waits on a condition variable for submissions and inputs.
 *
 * A job's secrets (input shares, seeds, output shares) are wiped when the job is freed, when
 * it fails, and when its results expire.  A job is freed only by mpcd_jobs_expire,
 * mpcd_jobs_destroy and mpcd_jobs_add (the oldest finished job, when max finished jobs are
 * kept already), never while the worker holds it (state RUNNING). */
#ifndef MPCD_JOBS_H
#define MPCD_JOBS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "audit.h"
#include "circuit.h"
#include "clock.h"
#include "cwire.h"   /* job ids: mpc_cwire_job_new / _hex / _parse, the one place */

#define MPCD_JOB_ID_BYTES MPC_CWIRE_JOB_BYTES
#define MPCD_SEED_BYTES   32
#define MPCD_REASON_MAX   256
#define MPCD_DP_NOTE_MAX  384

typedef enum {
    MPCD_JOB_QUEUED = 0,     /* accepted, waiting for its turn */
    MPCD_JOB_WAITING,        /* its turn came; waiting for inputs */
    MPCD_JOB_RUNNING,
    MPCD_JOB_DONE,
    MPCD_JOB_FAILED,
    MPCD_JOB_CANCELLED,      /* cancelled by a client: inputs and outputs wiped */
    MPCD_JOB__COUNT
} mpcd_job_state;

extern const char *const mpcd_job_state_names[];

/* What the sequencer last answered to a party's readiness report. */
enum { MPCD_SEQ_NONE = 0, MPCD_SEQ_ACK = 1, MPCD_SEQ_UNKNOWN = 2 };

#define MPCD_IN_AUTH 16   /* an input mode (mpcd_job_input.mode): a client's authenticated input */

typedef struct {
    int       present;
    uint8_t   mode;                    /* MPC_IN_SHARE, MPC_IN_SEED, or MPC_IN_STORED (a dataset's, no
                                        * share here: loaded when the job runs, mpcd/dshandlers.h) */
    uint64_t *share;                   /* SHARE: len words, wiped on free */
    uint8_t  *seed;                    /* SEED: MPCD_SEED_BYTES in sodium_malloc memory */
    char      giver[MPC_NAME_MAX];     /* the client that gave it (for the audit log) */
    uint64_t  giver_id;                /* mpcd_client_id of its key: contributors (release rules) */
    /* security = malicious (mpcd/mal_job.h, "Client inputs"): mode MPCD_IN_AUTH once a client
     * claimed the input with MASK; `mask` is this party's vector-check record of the input's
     * masks for the client (protocols/vcheck.h, mpcd_job_mask_bytes; posted by the run, wiped
     * once the masked vector came), and the masked vector x − r, when it came, is in `share`
     * with masked = 1. */
    uint8_t  *mask;
    uint8_t   masked;
    uint64_t  contributions;           /* a collection's input (NAME-contrib): the valid contributions
                                        * it includes, agreed at the close; each counts as one
                                        * contributor for min_contributors */
} mpcd_job_input;

/* The RUN message's length in words (MPCD_RUN_WORDS in worker.h, which checks they agree). */
#define MPCD_JOB_RUN_WORDS 16

typedef struct mpcd_job {
    uint8_t         id[MPCD_JOB_ID_BYTES];
    char            id_hex[MPC_CWIRE_JOB_HEX + 1];
    char            client[MPC_NAME_MAX];        /* who submitted it */
    mpc_circuit    *circ;
    uint8_t         hash[32];
    uint32_t        binding[MPC_MAX_PARTIES];    /* program party -> configured party index */
    uint32_t        my_party;                    /* program party this daemon plays, or UINT32_MAX */
    mpcd_job_state  state;
    int             sequenced;                   /* the sequencer has assigned it a turn */
    uint64_t        stream;                      /* its run's stream id, once sequenced */
    char            reason[MPCD_REASON_MAX];     /* why it failed (no secrets) */
    mpcd_job_input *inputs;                      /* one per circuit input */
    uint64_t      **out_shares;                  /* after DONE: this party's share of each output */
    /* out_shares are checked outputs (security = malicious, mpcd/mal_job.h): per output this
     * party's vector-check record for the client (protocols/vcheck.h), mpcd_job_out_bytes */
    uint8_t         out_checked;
    /* Release rules (docs/governance.md, "Release rules"): the rule this party asked for at
     * submission (set by the client thread just after mpcd_jobs_add, before any input can
     * arrive), the rule agreed with the other parties (the strictest), the distinct clients
     * that gave the job's inputs on all its parties, and per output either NULL (every element
     * released) or one byte per element, nonzero when withheld (MPCD_WITHHELD_*).  No values. */
    uint64_t        rule_rows, rule_contrib;
    uint64_t        agreed_rows, agreed_contrib;
    uint32_t        contributors;
    uint8_t       **withheld;
    /* Privacy budget (docs/governance.md, "Privacy budget"): the ε and δ this party reserved
     * for the job at admission (0 when no budget covers it); kept once it runs, given back
     * (mpcd_ledger_release) when it ends before running. */
    double          dp_eps, dp_delta;
    char            dp_note[MPCD_DP_NOTE_MAX];   /* "program HEX: 1 of 3 left in total; ..." (after it) */
    time_t          submitted, finished;
    uint64_t        submitted_ms;                /* mpc_now_ms() at submission: input_timeout_ms counts from it */
    /* Readiness (docs/daemon.md, "Job ordering"), kept by the worker thread only. */
    uint32_t        ready_mask;                  /* sequencer: configured parties that reported it ready */
    uint64_t        announced_ms;                /* party: when it last told the sequencer it is ready */
    int             seq_answer;                  /* party: the sequencer's last answer (MPCD_SEQ_*) */
    uint64_t        expired_note;                /* sequencer: what it answers a late readiness report */
    /* sequencer: the RUN it sent (MPCD_JOB_RUN_WORDS words, mpcd/worker.c), kept to send again
     * to a party that still reports the job ready: that party never got it (docs/daemon.md,
     * "Lost RUNs"); run_sent says it is set */
    uint64_t        run_words[MPCD_JOB_RUN_WORDS];
    int             run_sent;
    uint32_t        rounds_done, rounds_total;   /* progress */
    uint64_t        triples_used;
    /* preprocessing progress: triples made for it so far, needed in all, when it began */
    uint64_t        prep_made, prep_needed, prep_started_ms;
    /* Set (under the lock) when a client cancels the job while the worker holds it (waiting
     * for inputs or running); the worker and the engine check it (atomic: the engine reads it
     * without the lock) and fail the job as cancelled at the next step. */
    atomic_int      cancel;
    char            cancelled_by[MPC_NAME_MAX];
    /* 1 + the daemon that refused this job's RUN (it saw another node as the sequencer, as
     * during a failover), or 0: the worker's agreement stops waiting for that party. */
    atomic_uint     run_refused_by;
    /* The audit log (docs/governance.md), under the lock: whether a record is due, the run's
     * start, and the statement the parties co-signed with their signatures (NULL when the
     * job did not run to the end here). */
    uint8_t           audit_state;                /* MPCD_AUDIT_* */
    uint8_t           fetched;                    /* a client has fetched an output share here */
    time_t            started;
    char             *audit_stmt;
    mpcd_audit_cosig *audit_cs;
    uint32_t          audit_n_cs;
    /* Contribution collections (mpcd/contrib_daemon.c), or NULL: the job's collector state,
     * under the lock; freed (wiped) with its inputs. */
    struct mpcd_coll_job *coll;
    /* Private joins (mpcd/join_job.h), or NULL: the key columns given here, under the lock;
     * wiped and freed with its inputs. */
    struct mpcd_join_state *join;
    struct mpcd_job *next;
} mpcd_job;

/* A job's audit record: none due (no audit log, or not a party of the job), due once the job
 * has ended, held (a job thread is collecting the co-signatures), written. */
enum { MPCD_AUDIT_NONE = 0, MPCD_AUDIT_DUE, MPCD_AUDIT_HELD, MPCD_AUDIT_WRITTEN };

/* Why an output element was withheld. */
enum { MPCD_WITHHELD_NO = 0, MPCD_WITHHELD_ROWS = 1, MPCD_WITHHELD_CONTRIB = 2 };

/* The identity of a client across parties for min_contributors: the first 8 bytes of
 * BLAKE2b-256 of "mpcd client id\n" and its configured public key (Z85 text).  Public. */
uint64_t mpcd_client_id(const char *public_key_z85);
/* Lock held.  "output 'h' elements 2, 5 withheld: fewer than min_rows = 10 rows" (or "all
 * elements", or the contributors' reason) for output o of a done job, or "" when the output
 * is released whole.  Names indices and rules only, never a value. */
void mpcd_job_withheld_note(const mpcd_job *job, uint32_t o, char *buf, size_t cap);

typedef struct mpcd_jobs mpcd_jobs;

mpcd_jobs *mpcd_jobs_new(uint32_t max_jobs);
void       mpcd_jobs_destroy(mpcd_jobs **jp);
/* Lock NOT held.  With on set, every job this daemon is a party of gets an audit record once
 * it ends, and a finished job is not freed before its record is written (set at start). */
void       mpcd_jobs_set_audit(mpcd_jobs *j, int on);
/* Lock held.  The oldest finished job whose audit record is due (not held), or NULL. */
mpcd_job  *mpcd_jobs_audit_due(mpcd_jobs *j);
/* Lock NOT held.  Changes max_jobs (a reload); jobs already accepted stay. */
void       mpcd_jobs_set_max(mpcd_jobs *j, uint32_t max_jobs);

/* The table's lock: hold it while reading or writing any job field. */
void mpcd_jobs_lock(mpcd_jobs *j);
void mpcd_jobs_unlock(mpcd_jobs *j);
/* Wakes every waiter (after a change made under the lock): the worker's condition variable,
 * and the client thread, which polls mpcd_jobs_wake_fd() beside its socket to answer held
 * RESULT requests the moment a job changes state.  Call it after every job state change. */
void mpcd_jobs_notify(mpcd_jobs *j);
/* An eventfd that becomes readable after mpcd_jobs_notify (any thread; owned by the table). */
int  mpcd_jobs_wake_fd(const mpcd_jobs *j);
/* Makes the wake fd unreadable again (lock not needed). */
void mpcd_jobs_wake_drain(mpcd_jobs *j);
/* Also calls fn(ctx) on every notify, with the table's lock held (so fn must take no lock
 * that is held while taking the table's): mpcd wakes its worker thread, which waits in the
 * transport, this way (mpc_transport_zmq_wake).  Set it before any other thread runs. */
void mpcd_jobs_set_waker(mpcd_jobs *j, void (*fn)(void *ctx), void *ctx);
/* How many notifies so far (any thread, no lock): a waiter that read it before looking at
 * the jobs skips its wait when it moved meanwhile (no lost wake-up). */
uint64_t mpcd_jobs_gen(const mpcd_jobs *j);
/* Waits (lock held) until notified or until deadline_ms (mpc_now_ms() time, clock.h)
 * passes; returns 0, or MPC_ERR_TIMEOUT. */
int  mpcd_jobs_wait(mpcd_jobs *j, uint64_t deadline_ms);

/* Adds a job (lock NOT held).  Takes ownership of *circ (set to NULL) on success.
 * MPC_ERR_STATE if the id exists, MPC_ERR_LIMIT if max_jobs jobs are not finished yet.
 * Finished jobs do not count against max_jobs; when max_jobs of them are kept already, the
 * oldest is freed (its shares wiped) to make room. */
int mpcd_jobs_add(mpcd_jobs *j, const uint8_t id[MPCD_JOB_ID_BYTES], const char *client,
                  mpc_circuit **circ, const uint8_t hash[32], const uint32_t *binding,
                  uint32_t my_party);

/* Lock held.  The job with this id, or NULL. */
mpcd_job *mpcd_jobs_find(mpcd_jobs *j, const uint8_t id[MPCD_JOB_ID_BYTES]);
/* Lock held.  The oldest job (then follow ->next), or NULL. */
mpcd_job *mpcd_jobs_first(mpcd_jobs *j);
/* Lock held.  Copies up to max ids refused here since *cursor (a count of refusals noted,
 * start at 0) into out and advances *cursor; returns how many were copied.  Ids that fell
 * out of the ring before they were read are skipped. */
uint32_t mpcd_jobs_refused_since(mpcd_jobs *j, uint32_t *cursor, uint8_t (*out)[MPCD_JOB_ID_BYTES], uint32_t max);
/* Lock held.  The oldest job not yet sequenced, or NULL. */
mpcd_job *mpcd_jobs_next_unsequenced(mpcd_jobs *j);
/* Lock held.  1 when every input of the job this party needs is present: the inputs clients
 * give (not the join outputs, which the joins give when the job runs) and the key columns of
 * this party's joins.  Else *missing names the first one missing (mpcd_join_missing_name). */
int mpcd_job_inputs_ready(const mpcd_job *job, uint32_t *missing);
/* Lock held.  Marks the job failed with a reason; wipes its inputs and any outputs.  A job
 * whose cancel flag is set ends CANCELLED instead, with the reason naming the client. */
void mpcd_job_fail(mpcd_job *job, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Lock held.  Cancels the job on behalf of client `by` (rights are the caller's business):
 * a job not yet taken by the worker (queued) and a finished one (done: outputs wiped) become
 * CANCELLED at once, its inputs wiped; a job the worker holds (waiting for inputs, running)
 * gets its cancel flag and the worker ends it as CANCELLED at its next step.  Returns the
 * state the job was in.  Notifies the waiters. */
mpcd_job_state mpcd_job_cancel(mpcd_jobs *j, mpcd_job *job, const char *by);
/* 1 for a job that has ended (done, failed or cancelled). */
int mpcd_job_finished(const mpcd_job *job);
/* Lock held.  Wipes and frees the input shares (after the engine took them). */
void mpcd_job_wipe_inputs(mpcd_job *job);
/* Lock held.  Wipes and frees only the inputs' explicit shares and seeds (the engine has read
 * them: mpc_engine_opts.inputs_read); the rest of each input's record stays. */
void mpcd_job_drop_shares(mpcd_job *job);
/* Lock held.  Wipes and frees input k's record for its client (mask), if any. */
void mpcd_job_wipe_mask(mpcd_job *job, uint32_t k);
/* The bytes of input k's mask record (mpc_vcheck_record_bytes of its length and the job's
 * parties), and of output o's share: its record when out_checked, else len words. */
size_t mpcd_job_mask_bytes(const mpcd_job *job, uint32_t k);
size_t mpcd_job_out_bytes(const mpcd_job *job, uint32_t o);

/* Lock NOT held.  Remembers that a submission of this job id was refused here, so the worker
 * can tell the other parties at once instead of waiting for a submission that will never
 * come.  Keeps the last MPCD_REFUSED_KEEP ids; nothing of the refused request is kept. */
#define MPCD_REFUSED_KEEP 64
void mpcd_jobs_note_refused(mpcd_jobs *j, const uint8_t id[MPCD_JOB_ID_BYTES]);
/* Lock held.  1 if the id was refused here recently. */
int  mpcd_jobs_was_refused(mpcd_jobs *j, const uint8_t id[MPCD_JOB_ID_BYTES]);

/* Lock NOT held.  Frees finished jobs older than ttl_s (wiping output shares); returns how
 * many were freed. */
uint32_t mpcd_jobs_expire(mpcd_jobs *j, time_t now, int64_t ttl_s);
/* Lock held.  Jobs of this client not finished yet (queued, waiting or running). */
uint32_t mpcd_jobs_unfinished_by(mpcd_jobs *j, const char *client);
/* Lock held.  Counts per state (array of MPCD_JOB__COUNT). */
void mpcd_jobs_count(mpcd_jobs *j, uint32_t counts[MPCD_JOB__COUNT]);

#endif
