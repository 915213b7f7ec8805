/* contrib_daemon.h — mpcd's side of contribution collections (docs/contributions.md): the
 * token key, opening a job's collections at submission, the CONTRIBUTE request, and the
 * collector thread that runs the batch agreement (PROPOSE / HAVE / COMMIT) and the close
 * (CLOSE / CLOSED) with the job's other parties over the peer mesh, on a stream of its own
 * (MPCD_CONTRIB_STREAM; the followers' prep messages on MPCD_CONTRIB_PREP_STREAM), with the
 * validity proof of every contribution prepped on arrival and decided by the leader per
 * batch (docs/contributions.md, "Validity proofs"; a collection declared `unchecked` takes
 * contributions without proofs only, "Collections without validity checks"), and hands each closed collection to the job as a daemon-held
 * (MPC_IN_STORED) share of its input NAME-contrib.  The collection state is mpcd/collect.h,
 * kept in the job under the job table's lock. */
#ifndef MPCD_CONTRIB_DAEMON_H
#define MPCD_CONTRIB_DAEMON_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "ctwire.h"
#include "jobs.h"
#include "transport.h"
#include "worker.h"

#define MPCD_CONTRIB_STREAM (MPCD_JOB_CONTROL | 2)   /* collections' agreement messages */
#define MPCD_CONTRIB_PREP_STREAM (MPCD_JOB_CONTROL | 3)   /* the prep messages that follow a HAVE */

/* The token key from path (64 hex digits), kept in sodium_malloc memory for the process.
 * 0, or -1 with a message.  mpcd_contrib_key_free wipes it. */
int  mpcd_contrib_key_load(const char *path, char *err, size_t errlen);
void mpcd_contrib_key_free(void);

/* Whether circuit c's contributor inputs (if any) can be collected here for a job whose
 * program party this daemon plays is me (UINT32_MAX: none): a token key is loaded, 2 to 4
 * parties, every contributor input at least 2 elements (D + 1).  0, or an MPC_ERR_* with
 * a message. */
int mpcd_contrib_check(const mpc_circuit *c, uint32_t me, char *err, size_t errlen);
/* Lock held.  Opens the collections of a job just added (a party of it): they close after
 * window_ms or at max_count contributions as the submitter asked (0: the configuration's
 * contrib_window_ms, contrib_max_count; more than those: capped to them).  0 or
 * MPC_ERR_NOMEM. */
int mpcd_contrib_open(const mpcd_config *cfg, mpcd_job *job, uint64_t now_ms, uint64_t window_ms, uint64_t max_count);
/* Lock held.  Frees a job's collections (wiped); called when its inputs are wiped. */
void mpcd_contrib_free(mpcd_job *job);

/* A CONTRIBUTE from client `client`: *pending receives what the collection holds pending.
 * 0, or an MPC_ERR_* with a message naming the job and input, never a value. */
int mpcd_contrib_handle(const mpcd_config *cfg, mpcd_jobs *jobs, const char *client, const mpc_ct_req *req,
                        const uint8_t *payload, size_t plen, uint64_t *pending, char *err, size_t errlen);

/* `mpcd contributor-token newkey FILE | make KEYFILE [N]`: exit status. */
int mpcd_contrib_token_main(int argc, char **argv);

/* The collector thread. */
typedef struct {
    mpc_transport *mesh;         /* borrowed; this thread uses MPCD_CONTRIB_STREAM only */
    mpcd_jobs     *jobs;
    uint32_t       self, n_parties;
    uint64_t       batch_ms, peer_timeout_ms;
    char           names[MPC_MAX_PARTIES][MPC_NAME_MAX];
    int            changed;      /* a pass gave an input or ended a job: wake the worker */
    atomic_int     stop;
    pthread_t      thread;
    int            running;
} mpcd_collector;

int  mpcd_collector_start(mpcd_collector *x);
void mpcd_collector_stop(mpcd_collector *x);
/* One pass (the thread calls it every 10 ms; tests may call it directly). */
void mpcd_collector_pass(mpcd_collector *x, uint64_t now_ms);

#endif
