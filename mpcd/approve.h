/* approve.h — job admission by the operator's allow-list (docs/daemon.md, "Approving a
 * program"): a circuit is admitted when its circuit hash is listed (`allow = HASH,...`, any
 * binding), or when it carries a program whose program hash is approved
 * (`allow = PROGRAM-HASH N=1..10000000 parties=a,b,c`) at params the approval admits and for
 * the binding the job asks for, and recompiling that program at those params gives exactly
 * this circuit.  Recompilations are cached per (program text, params, pushdown). */
#ifndef MPCD_APPROVE_H
#define MPCD_APPROVE_H

#include <stddef.h>
#include <stdint.h>

#include "circuit.h"
#include "budget.h"
#include "config.h"

/* bind[p]: the configured party program party p is bound to (n_bind of them, checked by the
 * caller to be c->n_parties configured parties).  0 when admitted; otherwise an MPC_ERR_*
 * code (MPC_ERR_DENIED, MPC_ERR_CIRCUIT, MPC_ERR_NOMEM) and one line in why saying why:
 * "program not approved: ..." (naming "this party's allowlist"), "param N=... outside
 * 1..10000000 ...", "binding a=b,b=a not approved ...", or why the circuit is not the
 * program it claims.  Nothing secret is in a circuit, so nothing secret is in why. */
int mpcd_admit(const mpcd_config *cfg, const mpc_circuit *c, const uint8_t hash[32],
               const char (*bind)[MPC_NAME_MAX], uint32_t n_bind, const mpc_circ_limits *lim,
               char *why, size_t whylen);

/* The release rule (docs/governance.md, "Release rules") this party asks for a job it admitted
 * with mpcd_admit: the strictest (max, field by field) of the party's own `min_rows` /
 * `min_contributors`, the rule on the `allow = CIRCUIT-HASH min_rows=..` line listing hash, and
 * the rule on the program approval that admitted the circuit's program at its params and
 * binding (the first, as in mpcd_admit). */
void mpcd_release_rule(const mpcd_config *cfg, const mpc_circuit *c, const uint8_t hash[32],
                       const char (*bind)[MPC_NAME_MAX], uint32_t n_bind, mpcd_release *out);

/* The privacy budgets (docs/governance.md, "Privacy budget") a job of c admitted with
 * mpcd_admit is charged against on this party: the program's (key "program HEX", from the
 * approval that admits it, or "circuit HEX" for a listed circuit hash; the approval's own
 * dp_budget= or else the party's [policy] dp_budget) and one per distinct dataset it reads
 * with a dp_budget ("dataset NAME").  Budgets not configured are left out.  Returns how
 * many were written to asks (at most max). */
uint32_t mpcd_dp_budgets(const mpcd_config *cfg, const mpc_circuit *c, const uint8_t hash[32],
                         const char (*bind)[MPC_NAME_MAX], uint32_t n_bind, mpcd_budget_ask *asks, uint32_t max);

/* Recompilations done (cache misses) since the start: for tests. */
uint64_t mpcd_admit_recompiles(void);

#endif
