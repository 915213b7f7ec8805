/* mal_job.h — a job under `security = malicious` (docs/security.md, "Malicious security in the
 * daemon"): the SPDZ2k engine (protocols/engine_mal.h) on authenticated material the job's
 * parties make among themselves by OT (protocols/auth_ot.h), with fresh base OTs per job.
 *
 * Client inputs (docs/security.md, "Authenticated client inputs").  A client is not a party;
 * every input of a daemon job is a client's.  The client claims input k at every daemon with
 * MASK (mode MPCD_IN_AUTH; the job is ready once every input is claimed); the run then makes
 * jointly random authenticated masks [r] (n masks per element) and runs the vector check on
 * them (protocols/vcheck.h; engine_mal.h, opts.client_input), and posts this party's record
 * of input k in job->inputs[k].mask, which the held MASK requests get; the client verifies
 * the n records (mpc_vcheck_verify) and sends every daemon the same x − r mod 2^64 (INPUT,
 * mode MASKED), which the run waits for (at most input_timeout_ms from the posting, or the
 * job's deadline, or a cancel), hashes into the MAC check's transcript and enters as
 * [x] = [r] + (x − r).  A daemon that changes its record for the client is refused by the
 * client; one that uses another vector than it received fails the MAC check.
 *
 * Outputs.  Every output is for clients and is a checked output (protocols/engine_mal.h,
 * "Checked outputs"): after the release rules (the engine's release callback, which marks
 * withheld elements: they enter the check as zero) the engine runs the vector check on every
 * output and gives each party its record only after its final MAC check passed; the records
 * are stored in the job (job->out_checked, mpcd_job_out_bytes) only after the run returned
 * success.  A failed check ("MAC check failed") fails the job on every party and releases
 * nothing; a record a daemon alters fails the client's check (docs/security.md, "Checked
 * client outputs"). */
#ifndef MPCD_MAL_JOB_H
#define MPCD_MAL_JOB_H

#include <stddef.h>
#include <stdint.h>

#include "circuit.h"
#include "jobs.h"
#include "transport.h"
#include "worker.h"

/* Admission of a program under `security = malicious`, at SUBMIT and again before a run: 0,
 * or MPC_ERR_UNSUPPORTED with the reason in err, naming the first thing the malicious path
 * does not support yet (a gate with its line, as mpc_mal_supported words it; private joins;
 * contributor inputs; DP noise).  Owner-local parts are accepted: they are computed by the
 * client that gives the inputs and enter as its inputs, like any client input. */
int mpcd_mal_admit(const mpc_circuit *c, char *err, size_t errlen);

/* Runs job (state RUNNING, lock not held) as program party `me` of n over view (the job's
 * stream `stream`; material on stream | MPC_STREAM_PREP_BIT): the source, the engine, the
 * output shares into job->out_shares on success.  Bounded by w->peer_timeout_ms per receive
 * and w->job_timeout_ms in all; job->cancel is honoured between rounds.  0 or MPC_ERR_* with
 * the reason in reason; on failure the peers are told (an ABORT, or the failed MAC check's
 * verdict) and nothing is stored. */
int mpcd_mal_execute(mpcd_worker *w, mpcd_job *job, mpc_transport *view, uint64_t stream, uint32_t me, uint32_t n,
                     const char *hex, char *reason, size_t rlen);

#endif
