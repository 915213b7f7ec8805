/* budget.h — the privacy budget ledger (docs/governance.md, "Privacy budget"): how much ε
 * each approved program and each dataset has spent on this party, in the current period.
 *
 * A job's spend (the sum of ε, and of δ, over its DP outputs: basic sequential composition)
 * is reserved at admission against every budget that applies to it, all or nothing, and the
 * ledger file is rewritten before the admission is answered.  The reservation is committed
 * (kept) once the job starts running, and released (given back) when the job ends before
 * running.  A job that fails or is cancelled while running keeps its charge: outputs may have
 * been opened already.  A reservation pending when the daemon stops stays charged (it is in
 * the file as spent): the safe side.
 *
 * The file (state_dir/dp_budget.ledger) is text, one line per budget, ending with a line
 * giving the count; it is written to a temporary file, fsynced, renamed over the old one, and
 * the directory fsynced.  A file that does not parse is refused at start, naming the file.
 * Nothing secret is in it: budget keys (program hashes, dataset names) and ε, δ spent. */
#ifndef MPCD_BUDGET_H
#define MPCD_BUDGET_H

#include <stddef.h>
#include <stdint.h>

#define MPCD_BUDGET_KEY_MAX 96     /* "program HEX64" or "dataset NAME" */
#define MPCD_BUDGET_JOB_BYTES 16
#define MPCD_BUDGET_MAX_ASKS 24    /* budgets one job can be charged against */

typedef enum { MPCD_PERIOD_TOTAL = 0, MPCD_PERIOD_DAY = 1 } mpcd_dp_period;

/* One budget a job is charged against: its key, the total ε allowed per period. */
typedef struct {
    char     key[MPCD_BUDGET_KEY_MAX];   /* e.g. "program 3fa1..." or "dataset ages" */
    double   budget;
    int      period;                     /* mpcd_dp_period */
} mpcd_budget_ask;

typedef struct mpcd_ledger mpcd_ledger;

/* Opens the ledger at path (created empty when absent; NULL: in memory only).  now_s gives
 * the time (seconds since the epoch, UTC); NULL means time(NULL): tests inject a clock.
 * 0, or -1 with "PATH: damaged privacy budget ledger: line N: ..." in err. */
int  mpcd_ledger_open(const char *path, uint64_t (*now_s)(void), mpcd_ledger **out, char *err, size_t errlen);
void mpcd_ledger_close(mpcd_ledger **l);

/* Reserves eps (and delta) for job against each of the n budgets: all, or none when one of
 * them would be exceeded.  0; MPC_ERR_DENIED with why = "privacy budget of program P
 * exhausted: the job spends eps = 2, 1 of 3 left today"; MPC_ERR_IO when the file cannot be
 * written (nothing reserved then).  A job id may hold one reservation. */
int  mpcd_ledger_reserve(mpcd_ledger *l, const uint8_t job[MPCD_BUDGET_JOB_BYTES], const mpcd_budget_ask *asks,
                         uint32_t n, double eps, double delta, char *why, size_t whylen);
/* The job started running: its reservation is kept for good.  No-op without one. */
void mpcd_ledger_commit(mpcd_ledger *l, const uint8_t job[MPCD_BUDGET_JOB_BYTES]);
/* The job ended before running: its reservation is given back (not across a period reset:
 * a reservation of yesterday's budget is simply dropped).  No-op without one.  0 or MPC_ERR_IO. */
int  mpcd_ledger_release(mpcd_ledger *l, const uint8_t job[MPCD_BUDGET_JOB_BYTES]);
/* Budgets the ledger holds (for the start's log line). */
uint32_t mpcd_ledger_count(mpcd_ledger *l);
/* ε and δ spent (committed and reserved) in the current period of key (0 when unknown). */
void mpcd_ledger_spent(mpcd_ledger *l, const char *key, int period, double *eps, double *delta);

/* The i-th budget the ledger holds (i < mpcd_ledger_count), as of the current period: its
 * key, period and ε, δ spent.  0, or -1 past the end. */
int  mpcd_ledger_entry(mpcd_ledger *l, uint32_t i, char key[MPCD_BUDGET_KEY_MAX], int *period, double *eps,
                       double *delta);

/* The daemon's ledger (set at start when state_dir is set; NULL otherwise): jobs.c releases
 * through it, the worker commits through it. */
void         mpcd_ledger_set_global(mpcd_ledger *l);
mpcd_ledger *mpcd_ledger_global(void);

#endif
