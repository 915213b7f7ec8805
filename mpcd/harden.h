/* harden.h — what the daemon does to its own process, before any key is loaded, so that its
 * secrets (CURVE secret key, shares, seeds, OT keys) cannot leave it through a core dump, a
 * debugger of the same user or swap.  docs/daemon.md, "Running as a service", says why each
 * step is there. */
#ifndef MPCD_HARDEN_H
#define MPCD_HARDEN_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* Makes the process not dumpable (prctl PR_SET_DUMPABLE 0: no core file, no ptrace attach by
 * the same unprivileged user, /proc/PID/ files owned by root) and sets RLIMIT_CORE to 0, soft
 * and hard.  0, or -1 with one line in err. */
int mpcd_harden_process(char *err, size_t errlen);

/* Bytes that sodium_malloc will want to lock (mlock) in a daemon of this configuration: a
 * base for the key pair, the key file buffer, job seeds and engine keys, plus the oblivious
 * transfer state kept per peer with `preprocessing = ot` (docs/daemon.md gives the numbers
 * and how they were measured). */
uint64_t mpcd_memlock_estimate(const mpcd_config *cfg);

/* Logs a warning when the RLIMIT_MEMLOCK soft limit is below mpcd_memlock_estimate(cfg)
 * (libsodium then leaves the pages it cannot lock swappable, silently).  Returns 1 when it
 * warned, 0 otherwise. */
int mpcd_memlock_check(const mpcd_config *cfg);

#endif
