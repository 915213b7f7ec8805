/* mal_job.h — a job under `security = malicious` (docs/security.md, "Malicious security in the
 * daemon"): the SPDZ2k engine (protocols/engine_mal.h) on authenticated material the job's
 * parties make among themselves by OT (protocols/auth_ot.h), with fresh base OTs per job.
 *
 * Client inputs.  A client is not a party: each daemon holds an additive share of each client
 * input, as with semi-honest security.  The circuit the daemons run is rewritten
 * (mpcd_mal_circuit): input k becomes n inputs "kK.pP", one owned by each party P, summed,
 * and every party enters its share of input k as its own input.  So the parties hold [x]
 * authenticated; what a corrupt daemon does to its own share before entering it is not
 * caught (docs/security.md says what that leaves open).
 *
 * Outputs.  Every output is for clients and is a checked output (Damgård, Damgård, Nielsen,
 * Nordholt, Toft, FC 2016; protocols/engine_mal.h, "Checked outputs"): the engine gives each
 * party its 128-bit shares of x' (the output, high half randomised), of a random r known to
 * nobody and of y = r·x', only after its final MAC check passed; they are stored in the job
 * (job->out_checked, MPCD_MAL_OUT_WORDS words per element) only after the run returned
 * success.  A failed check ("MAC check failed") fails the job on every party and releases
 * nothing; a share a daemon alters after the check fails the client's check (y = r·x'),
 * docs/security.md, "Checked client outputs". */
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

/* What input i of a rewritten circuit is: the share of party `party` of client input `index`. */
typedef struct {
    uint32_t index, party;
} mpcd_mal_input;

/* The circuit the parties run for c (see above), and in *map (c->n_inputs · n entries, freed
 * by the caller) what each of its inputs is.  NULL with the
 * reason in err on failure. */
mpc_circuit *mpcd_mal_circuit(const mpc_circuit *c, mpcd_mal_input **map, char *err, size_t errlen);

/* Runs job (state RUNNING, lock not held) as program party `me` of n over view (the job's
 * stream `stream`; material on stream | MPC_STREAM_PREP_BIT): the source, the engine, the
 * output shares into job->out_shares on success.  Bounded by w->peer_timeout_ms per receive
 * and w->job_timeout_ms in all; job->cancel is honoured between rounds.  0 or MPC_ERR_* with
 * the reason in reason; on failure the peers are told (an ABORT, or the failed MAC check's
 * verdict) and nothing is stored. */
int mpcd_mal_execute(mpcd_worker *w, mpcd_job *job, mpc_transport *view, uint64_t stream, uint32_t me, uint32_t n,
                     const char *hex, char *reason, size_t rlen);

#endif
