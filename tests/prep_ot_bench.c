/* prep_ot_bench.c — in-process measurement of OT preprocessing (prep_ot_bench.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* pthread barriers, clock ids (bench/run compiles this without it) */
#endif
#include "prep_ot_bench.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mpc_err.h"
#include "transport_mem.h"

typedef struct {
    uint32_t           n;
    uint64_t           triples, batch;
    mpc_prep_ot_opts   o;
    pthread_barrier_t  bar;
    double             t_start, t_setup, t_end, cpu0, cpu1;
    int                rc[16];
    mpc_prep_ot_stats  st_setup, st_end;
    mpc_transport     *t[16];
} s_bench;

typedef struct {
    s_bench *b;
    uint32_t p;
} s_arg;

static double s_clock(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double s_now(void)
{
    return s_clock(CLOCK_MONOTONIC);
}

static void *s_party(void *v)
{
    s_arg *a = v;
    s_bench *b = a->b;
    uint32_t p = a->p;
    uint64_t B = b->batch;
    uint64_t *buf = malloc((size_t)B * 3 * sizeof(uint64_t));
    mpc_prep *src = mpc_prep_ot_new(b->t[p], p, b->n, MPC_STREAM_PREP_BIT | 0xbe, &b->o);
    int r = buf && src ? 0 : MPC_ERR_NOMEM;
    pthread_barrier_wait(&b->bar);
    if (p == 0) b->t_start = s_now();
    if (!r) r = mpc_prep_ot_setup(src);
    pthread_barrier_wait(&b->bar);
    if (p == 0) {
        b->t_setup = s_now();
        b->cpu0 = s_clock(CLOCK_THREAD_CPUTIME_ID);
        if (src) mpc_prep_ot_stats_get(src, &b->st_setup);
    }
    for (uint64_t done = 0; !r && done < b->triples; done += B) {
        uint64_t k = b->triples - done < B ? b->triples - done : B;
        mpc_prep_req req = {.n_triples = k};
        mpc_prep_out out = {.a = buf, .b = buf + B, .c = buf + 2 * B};
        r = mpc_prep_fetch(src, &req, &out);
    }
    if (r && src) mpc_prep_abort(src, r);
    if (p == 0) b->cpu1 = s_clock(CLOCK_THREAD_CPUTIME_ID);
    pthread_barrier_wait(&b->bar);
    if (p == 0) {
        b->t_end = s_now();
        if (src) mpc_prep_ot_stats_get(src, &b->st_end);
    }
    b->rc[p] = r;
    mpc_prep_destroy(&src);
    free(buf);
    return NULL;
}

int mpc_prep_ot_bench(uint32_t n, uint64_t triples, uint64_t batch, const mpc_prep_ot_opts *o,
                      mpc_prep_ot_bench_result *res)
{
    if (n < 2 || n > 16 || !res || triples == 0) return MPC_ERR_INVALID;
    s_bench *b = calloc(1, sizeof *b);
    if (!b) return MPC_ERR_NOMEM;
    int r = MPC_ERR_NOMEM;
    b->n = n;
    b->triples = triples;
    b->batch = batch ? batch : (1u << 17);
    if (b->batch > triples) b->batch = triples;
    if (o) b->o = *o;
    else b->o.timeout_ms = 60000;
    mpc_mem_hub *hub = mpc_mem_hub_new(n, 60000);
    pthread_t th[16];
    s_arg args[16];
    if (!hub) goto out;
    for (uint32_t p = 0; p < n; p++)
        if (!(b->t[p] = mpc_mem_transport_new(hub, p))) goto out;
    pthread_barrier_init(&b->bar, NULL, n);
    for (uint32_t p = 0; p < n; p++) {
        args[p].b = b;
        args[p].p = p;
        pthread_create(&th[p], NULL, s_party, &args[p]);
    }
    for (uint32_t p = 0; p < n; p++) pthread_join(th[p], NULL);
    pthread_barrier_destroy(&b->bar);
    r = 0;
    for (uint32_t p = 0; p < n && !r; p++) r = b->rc[p];
    memset(res, 0, sizeof *res);
    res->n = n;
    res->triples = triples;
    res->setup_s = b->t_setup - b->t_start;
    res->secs = b->t_end - b->t_setup;
    res->triples_per_s = (double)triples / res->secs;
    res->cpu_s = b->cpu1 - b->cpu0;
    mpc_prep_ot_stats *e = &b->st_end, *s0 = &b->st_setup, *d = &res->st;
    *d = *e;
    d->prg_ns -= s0->prg_ns;
    d->transpose_ns -= s0->transpose_ns;
    d->hash_ns -= s0->hash_ns;
    d->gilboa_ns -= s0->gilboa_ns;
    d->sample_ns -= s0->sample_ns;
    d->wait_ns -= s0->wait_ns;
    d->bits_ns -= s0->bits_ns;
    d->bytes_sent -= s0->bytes_sent;
    res->bytes_per_triple = (double)d->bytes_sent / (double)triples;
out:
    for (uint32_t p = 0; p < n; p++) mpc_transport_destroy(&b->t[p]);
    mpc_mem_hub_destroy(&hub);
    free(b);
    return r;
}

void mpc_prep_ot_bench_print(FILE *f, const mpc_prep_ot_bench_result *r)
{
    const mpc_prep_ot_stats *s = &r->st;
    double tot = r->secs * 1e9;
    fprintf(f, "prep_ot bench n=%u (%s, in-memory transport, threads): %llu triples in %.3f s "
               "after %.3f s setup = %.0f triples/s; party 0 sent %.1f bytes/triple\n",
            (unsigned)r->n, mpc_sym_name(s->kind[r->n > 1 ? 1 : 0]),
            (unsigned long long)r->triples, r->secs, r->setup_s, r->triples_per_s,
            r->bytes_per_triple);
    fprintf(f, "  party 0 CPU time %.3f s = %.0f ns/triple, i.e. %.0f triples/s with one core per "
               "party\n", r->cpu_s, r->cpu_s * 1e9 / (double)r->triples,
            (double)r->triples / r->cpu_s);
    double T = (double)r->triples;
    double known = (double)(s->prg_ns + s->transpose_ns + s->hash_ns + s->gilboa_ns +
                            s->bits_ns + s->sample_ns + s->wait_ns);
    fprintf(f, "  party 0 time per triple (ns): prg %.0f, transpose %.0f, hash %.0f, gilboa %.0f, "
               "bits %.0f, sampling %.0f, waiting for peers %.0f, other %.0f (wall %.0f)\n",
            (double)s->prg_ns / T, (double)s->transpose_ns / T, (double)s->hash_ns / T,
            (double)s->gilboa_ns / T, (double)s->bits_ns / T, (double)s->sample_ns / T,
            (double)s->wait_ns / T, (tot - known) / T, tot / T);
}
