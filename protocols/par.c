/* par.c — fork–join thread pool (par.h). */
#include "par.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct {
    struct mpc_par *p;
} s_arg;

struct mpc_par {
    pthread_mutex_t mu;
    pthread_cond_t  go, done;
    pthread_t       th[MPC_PAR_MAX];
    uint32_t        n;          /* threads in all, the caller included */
    uint32_t        started;    /* pool threads running */
    uint64_t        gen;        /* bumped per run */
    uint32_t        next;       /* next part of this run to claim */
    uint32_t        finished;   /* parts of this run done */
    int             stop;
    mpc_par_fn      fn;
    void           *ctx;
    s_arg           arg[MPC_PAR_MAX];
};

/* Claims and runs parts of the current run until none is left (mu held on entry and exit).
 * Parts are claimed, not assigned: a thread that wakes late finds them taken and the caller
 * never waits for it (on a loaded machine a wake-up can take milliseconds). */
static void s_claim(mpc_par *p)
{
    mpc_par_fn fn = p->fn;
    void *ctx = p->ctx;
    while (p->next < p->n) {
        uint32_t part = p->next++;
        pthread_mutex_unlock(&p->mu);
        fn(ctx, part, p->n);
        pthread_mutex_lock(&p->mu);
        if (++p->finished == p->n) pthread_cond_signal(&p->done);
    }
}

static void *s_main(void *arg)
{
    mpc_par *p = ((s_arg *)arg)->p;
    uint64_t seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->gen == seen) pthread_cond_wait(&p->go, &p->mu);
        if (p->stop) break;
        seen = p->gen;
        s_claim(p);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

mpc_par *mpc_par_new(uint32_t threads)
{
    if (threads == 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        threads = c > 0 ? (uint32_t)c : 1;
    }
    if (threads > MPC_PAR_MAX) threads = MPC_PAR_MAX;
    mpc_par *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->go, NULL);
    pthread_cond_init(&p->done, NULL);
    p->n = threads;
    for (uint32_t i = 1; i < threads; i++) {
        p->arg[i].p = p;
        if (pthread_create(&p->th[i], NULL, s_main, &p->arg[i])) break;
        p->started++;
    }
    if (p->started != threads - 1) mpc_par_free(&p);
    return p;
}

void mpc_par_free(mpc_par **pp)
{
    if (!pp || !*pp) return;
    mpc_par *p = *pp;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    for (uint32_t i = 1; i <= p->started; i++) pthread_join(p->th[i], NULL);
    pthread_cond_destroy(&p->go);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->mu);
    free(p);
    *pp = NULL;
}

uint32_t mpc_par_threads(const mpc_par *p)
{
    return p ? p->n : 1;
}

void mpc_par_run(mpc_par *p, mpc_par_fn fn, void *ctx)
{
    if (!p || p->n == 1) {
        fn(ctx, 0, 1);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->next = 0;
    p->finished = 0;
    p->gen++;
    pthread_cond_broadcast(&p->go);
    s_claim(p);
    /* only parts already claimed by pool threads can be outstanding */
    while (p->finished < p->n) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

void mpc_par_range(uint64_t n, uint64_t unit, uint32_t part, uint32_t nparts, uint64_t *lo,
                   uint64_t *hi)
{
    uint64_t units = (n + unit - 1) / unit;
    uint64_t a = units * part / nparts, b = units * (part + 1) / nparts;
    *lo = a * unit < n ? a * unit : n;
    *hi = part + 1 == nparts || b * unit > n ? n : b * unit;
}
