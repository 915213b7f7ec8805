/* harden.c — the daemon's own process protection (harden.h). */
#include "harden.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "log.h"

/* docs/daemon.md, "Memory locking": measured VmLck of a party of 3 with `preprocessing = ot`
 * peaks at about 730 KiB while a job runs and the triple pool refills (an idle party: 8 KiB,
 * the key pair).  The estimate rounds up generously so a warning is worth acting on. */
#define S_MEMLOCK_BASE     (256u * 1024u)
#define S_MEMLOCK_PER_PEER (512u * 1024u)

int mpcd_harden_process(char *err, size_t errlen)
{
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 || prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0) {
        snprintf(err, errlen, "error: cannot make the process non-dumpable (prctl PR_SET_DUMPABLE): %s",
                 strerror(errno));
        return -1;
    }
    struct rlimit rl = {0, 0};
    if (setrlimit(RLIMIT_CORE, &rl) != 0) {
        snprintf(err, errlen, "error: cannot turn core dumps off (setrlimit RLIMIT_CORE 0): %s", strerror(errno));
        return -1;
    }
    return 0;
}

uint64_t mpcd_memlock_estimate(const mpcd_config *cfg)
{
    uint64_t peers = cfg->n_parties > 1 ? cfg->n_parties - 1 : 1;
    uint64_t est = S_MEMLOCK_BASE;
    if (cfg->role == MPCD_ROLE_PARTY && cfg->preprocessing == MPCD_PREP_OT) est += peers * S_MEMLOCK_PER_PEER;
    return est;
}

int mpcd_memlock_check(const mpcd_config *cfg)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_MEMLOCK, &rl) != 0) return 0;
    uint64_t want = mpcd_memlock_estimate(cfg);
    if (rl.rlim_cur == RLIM_INFINITY) {
        mpcd_info(NULL, "locked memory limit: unlimited (this daemon locks up to about %llu KiB)",
                  (unsigned long long)(want / 1024));
        return 0;
    }
    if ((uint64_t)rl.rlim_cur >= want) {
        mpcd_info(NULL, "locked memory limit: %llu KiB (this daemon locks up to about %llu KiB)",
                  (unsigned long long)(rl.rlim_cur / 1024), (unsigned long long)(want / 1024));
        return 0;
    }
    mpcd_warn(NULL,
              "the locked memory limit (RLIMIT_MEMLOCK, %llu KiB) is below the about %llu KiB this daemon locks "
              "for its keys and secret working memory: what does not fit may be swapped to disk. Raise it "
              "(LimitMEMLOCK= in the systemd unit, or ulimit -l; docs/daemon.md, \"Running as a service\")",
              (unsigned long long)(rl.rlim_cur / 1024), (unsigned long long)(want / 1024));
    return 1;
}
