/* join_job.h — private joins inside a job (docs/join.md, "Calling it from the daemon"): the
 * key columns clients give to their own party's daemon (KEYS requests), their part in a
 * job's readiness, and the joins run in the job thread before the engine, whose results
 * become the job's join outputs (inputs "NAME-join.COL" of mode MPC_IN_STORED).
 *
 * Keys are secrets: they are kept with the job only, wiped and freed with its inputs, and
 * never logged or quoted in a message. */
#ifndef MPCD_JOIN_JOB_H
#define MPCD_JOIN_JOB_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "cwire.h"
#include "jobs.h"
#include "transport.h"

/* The joins' own stream of a run: the job's stream with MPCD_JOB_CONTROL's bit set (a run's
 * stream never has it, and the control streams are below 2^31). */
#define MPCD_JOIN_STREAM(s) ((s) | (1ull << 62))
/* The receive timeout of a join: the peer timeout plus this much per row of both sides
 * (the peer's group operations take about 0.1 ms of CPU a row on an idle core), at most
 * MPCD_JOIN_TIMEOUT_MAX_MS. */
#define MPCD_JOIN_US_PER_ROW     1000u
#define MPCD_JOIN_TIMEOUT_MAX_MS 7200000ll

/* Lock held.  A KEYS request of client cl for job: every check (the job, this daemon being
 * the table's party, the client's input_for right for that party, the row count, the offsets,
 * every key canonical, given once), then the column kept with the job.  0, or an MPC_ERR_*
 * code with a one-line message in err (never a key). */
int mpcd_join_keys_put(const mpcd_config *cfg, mpcd_job *job, const mpcd_client_conf *cl, const mpc_cwire_req *req,
                       const uint8_t *payload, size_t plen, char *err, size_t errlen);

/* Lock held.  1 when every key column this daemon needs for the job is here (none when the
 * job has no join, or this daemon plays neither side); else 0 and *missing =
 * job->circ->n_inputs + the first missing one (see mpcd_join_missing_name). */
int mpcd_join_keys_ready(const mpcd_job *job, uint32_t *missing);

/* The name of a missing input as mpcd_job_inputs_ready reports it: the circuit input's, or
 * for an index ≥ n_inputs "TABLE.KEY (key column)" (in buf). */
const char *mpcd_join_missing_name(const mpcd_job *job, uint32_t missing, char *buf, size_t cap);

/* Lock held.  Wipes and frees the job's key columns (with its inputs). */
void mpcd_join_wipe(mpcd_job *job);

/* Lock NOT held; the job is the caller's (RUNNING).  Runs every join of the job's circuit on
 * MPCD_JOIN_STREAM(stream) over the job's view (me: this daemon's program party; stored[k]:
 * dataset shares loaded for input k, or NULL), then sets the join outputs as MPC_IN_STORED
 * inputs of the job.  Every party ends each join knowing every party's outcome, so a failed
 * join fails the job everywhere with the same cause.  A cancel of the job (job->cancel) or
 * its deadline (deadline_ms, CLOCK_MONOTONIC ms, 0: none) stops a running join at A or B
 * (mpc_join_in.stop, deadline_ms) and the peer with it.  0, or an MPC_ERR_* code with the
 * reason in reason (no key, no value). */
int mpcd_join_execute(mpcd_jobs *jobs, mpcd_job *job, mpc_transport *view, uint32_t me, uint64_t stream,
                      int peer_timeout_ms, uint64_t deadline_ms, uint64_t *const *stored, char *reason, size_t rlen);

#endif
