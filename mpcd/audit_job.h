/* audit_job.h — what the daemon records of a job in its audit log (docs/governance.md): the
 * statement every party of the job signs, this party's own view, and the exchange of the
 * co-signatures at the end of a job that ran. */
#ifndef MPCD_AUDIT_JOB_H
#define MPCD_AUDIT_JOB_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "audit.h"
#include "jobs.h"
#include "transport.h"

/* The sequence number of the co-signature message on a job's stream (MPC_MSG_CONTROL). */
#define MPCD_AUDIT_COSIG_SEQ 0xA0D17000ull

/* Lock held.  The job's statement: job id, circuit hash, the configured party each program
 * party is bound to (names[] by configured index), submitter, each input's owner, giver and
 * element count, each output's recipients, the preprocessing source and the outcome (done,
 * failed, cancelled).  Only what every party of the job holds alike.  Its length, 0 if it does
 * not fit in cap. */
size_t mpcd_audit_stmt(const mpcd_job *job, const char (*names)[MPC_NAME_MAX], const char *prep,
                       char *out, size_t cap);
/* Lock held.  This party's view: submission, start and end times (UTC, ISO 8601), the outcome
 * and, for a job that did not complete, its reason as this party saw it. */
size_t mpcd_audit_local(const mpcd_job *job, time_t started, char *out, size_t cap);

/* At the end of a job that completed: sends this party's co-signature of stmt to every other
 * party of the job (the view's first n_parties; a dealer after them takes no part) on the job's
 * stream and receives theirs (waiting at most timeout_ms in all).
 * pubs[i] is view party i's audit key (have bit i set in pub_mask); a co-signature that does
 * not verify against it, or from a party without a key, is dropped and named in the log.
 * Fills out[] (own first) and returns how many it holds. */
uint32_t mpcd_audit_exchange(mpcd_audit *a, mpc_transport *view, uint32_t n_parties, uint64_t stream, const char *stmt,
                             size_t len, const uint8_t (*pubs)[32], uint32_t pub_mask,
                             const char (*vnames)[MPC_NAME_MAX], int timeout_ms, const char *job_hex,
                             mpcd_audit_cosig *out);

#endif
