/* release_job.h — a job's release rules on this party (docs/governance.md, "Release rules";
 * the rule's agreement is run_job.c's, docs/daemon.md "Release rules"): contributors, the
 * opening of the release circuit's pass bits (circuits/release.h), what is withheld. */
#ifndef MPCD_RELEASE_JOB_H
#define MPCD_RELEASE_JOB_H

#include <stdint.h>

#include "engine.h"
#include "jobs.h"
#include "release.h"
#include "transport.h"

#define MPCD_RELEASE_SEQ 0xA0D16000ull   /* + output index: the pass bits' opening on the job's stream */

/* Lock held.  The job's contributors for min_contributors: the distinct clients (mpcd_client_id
 * of their keys) that gave its ordinary inputs here, plus, for each contribution collection,
 * the valid contributions it included (each from a distinct contributor id: tokens dedup;
 * the same count on every party, agreed at the close).  docs/governance.md, "Release rules". */
uint32_t mpcd_release_contributors(const mpcd_job *job);
/* One zeroed withheld map (a byte per element) per output of c, or NULL when out of memory. */
uint8_t **mpcd_release_withheld_new(const mpc_circuit *c);
void      mpcd_release_withheld_free(const mpc_circuit *c, uint8_t **wh);
/* After the engine ran the release circuit (mpc_release_circuit of c with min_rows and sup,
 * has_pass[o] for the outputs that got pass bits): opens the pass bits among the job's n
 * parties (this one is `me`) on the job's stream, and fills wh: an element is withheld when
 * its public support is below min_rows or its pass bit is 0; the shares of withheld elements
 * in outs (c's outputs) are zeroed on every party alike.  Only the pass bits are opened, and
 * any value but 0 or 1 fails the job.  0, or an error code with a reason (no value in it). */
int mpcd_release_open(mpc_transport *view, uint32_t n, uint32_t me, uint64_t stream, int timeout_ms,
                      const mpc_circuit *c, const mpc_support_vec *sup, const uint8_t *has_pass, mpc_engine *e,
                      uint64_t min_rows, uint64_t **outs, uint8_t **wh, char *reason, size_t rlen);
/* Marks in wh (one output's map, sup->len elements) the elements the rule withholds: a public
 * support below min_rows, or, for a count, a pass bit (bits: the output's opened pass bits,
 * each 0 or 1; NULL when it has none) of 0.  Shared by both security modes. */
void mpcd_release_decide(const mpc_support_vec *sup, const uint64_t *bits, uint64_t min_rows, uint8_t *wh);
/* Lock held.  Logs each withheld output of a done job: indices and the rule, never a value. */
void mpcd_release_log(const mpcd_job *job, const char *hex);

#endif
