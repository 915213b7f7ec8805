/* contrib_load.c — a load generator for contribution collections through real daemons
 * (bench/run's rows contrib_1e4x1e3 and contrib_valid_2e3x1e3, docs/contributions.md "Cost").
 *
 *   contrib-load --config CLIENT.ini --job ID --program PROG --input NAME --tokens FILE
 *                --n N [--threads T] [--window W] [--int] [--csv FILE] [--seed S] [--pids PID,PID...]
 *
 * Uses the public client SDK only (client-sdk/mpcclient.h).  T threads each open a connection
 * with the contributors' client configuration and attach the job; then, before the clock
 * starts, each prepares its share of the N contributions (mpc_job_contribution_make: values
 * encoded, proved when the collection is checked, shared: what real contributors do on their
 * own devices); all wait at a barrier; the clock runs while every thread sends its prepared
 * contributions one after the other (mpc_job_contribution_send: each to every daemon of the
 * job, waiting for their replies; one refused with MPC_ERR_LIMIT, too many pending, is sent
 * again as it is after 5 ms, to the daemons that refused it only); with --window W > 1 (at
 * most MPC_CONTRIB_SEND_MAX) each thread sends W at a time (mpc_job_contribution_send_many:
 * W requests out before the first reply).  Values: fix multiples of 1/64 in -1..1, or with
 * --int integers in -1000..1000, from a seeded generator; --csv writes them, one contribution a line, for
 * mpcc --eval (the plaintext reference).  Tokens: one a line (mpcd contributor-token make),
 * the i-th for contribution i.
 *
 * Prints one JSON line: n, threads, prepare_sec, send_sec (wall time of the sending),
 * accepted (contributions every daemon accepted), retries, refused, client_cpu_sec (this
 * process's user + system CPU time while sending, ZeroMQ's threads included: whether the
 * client side could be the bottleneck) and, with --pids (the daemons' process ids, on this
 * machine), daemon_cpu_sec: each daemon's user + system CPU time over the same interval, from
 * /proc/PID/stat; client_maxrss_kb, this process's peak resident memory (the prepared
 * contributions). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "mpcclient.h"



typedef struct {
    const char *config, *job, *program, *input, *tokens, *csv, *pids;
    uint64_t    n, seed;
    unsigned    threads, window;
    int         is_int;
} s_opts;

typedef struct {
    const s_opts      *o;
    unsigned           t;
    char             **tok;      /* all tokens */
    char             **text;     /* all values as text */
    pthread_barrier_t *ready, *go, *done;
    uint64_t           accepted, retries, refused;
    int                fail;
    char               err[512];
} s_thread;

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double s_cpu(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + (double)u.ru_stime.tv_sec +
           u.ru_stime.tv_usec / 1e6;
}

/* Process pid's user + system CPU seconds (fields 14 and 15 of /proc/PID/stat), or -1. */
static double s_proc_cpu(long pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');   /* the command name may hold blanks */
    unsigned long long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2) return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void s_die(const char *msg)
{
    fprintf(stderr, "contrib-load: error: %s\n", msg);
    exit(1);
}

/* splitmix64: the values' generator (reproducible; not for secrets) */
static uint64_t s_next(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Contribution i's values as text: len values, fix k/64 (k in -64..64) or int in -1000..1000. */
static char *s_values(const s_opts *o, uint64_t len, uint64_t i)
{
    uint64_t st = o->seed * UINT64_C(1000003) + i;
    size_t cap = (size_t)len * 12 + 1, at = 0;
    char *s = malloc(cap);
    if (!s) s_die("out of memory");
    for (uint64_t e = 0; e < len; e++) {
        int64_t v = o->is_int ? (int64_t)(s_next(&st) % 2001) - 1000 : (int64_t)(s_next(&st) % 129) - 64;
        if (o->is_int) at += (size_t)snprintf(s + at, cap - at, "%s%lld", e ? ", " : "", (long long)v);
        else at += (size_t)snprintf(s + at, cap - at, "%s%.6g", e ? ", " : "", (double)v / 64.0);
    }
    return s;
}

static void *s_main(void *arg)
{
    s_thread *T = arg;
    const s_opts *o = T->o;
    mpc_client *c = NULL;
    mpc_job *j = NULL;
    uint64_t from = o->n * T->t / o->threads, to = o->n * (T->t + 1) / o->threads;
    mpc_contribution **x = calloc(to - from + 1, sizeof *x);
    if (mpc_client_open(&c, o->config, T->err, sizeof T->err) != 0) T->fail = 1;
    else if (mpc_job_create_file(c, o->program, NULL, 0, 0, &j) != 0 || mpc_job_attach(c, j, o->job) != 0) {
        snprintf(T->err, sizeof T->err, "attach: %s", mpc_client_errmsg(c));
        T->fail = 1;
    }
    for (uint64_t i = from; i < to && !T->fail; i++)
        if (!x || mpc_job_contribution_make(c, j, o->input, T->text[i], T->tok[i], &x[i - from]) != 0) {
            snprintf(T->err, sizeof T->err, "contribution %llu: %s", (unsigned long long)i,
                     x ? mpc_client_errmsg(c) : "out of memory");
            T->fail = 1;
        }
    pthread_barrier_wait(T->ready);
    pthread_barrier_wait(T->go);
    for (uint64_t i = from; i < to && !T->fail; i += o->window) {
        size_t w = to - i < o->window ? (size_t)(to - i) : o->window, left = w;
        mpc_contribution **b = &x[i - from];
        int rcs[MPC_CONTRIB_SEND_MAX];
        for (size_t k = 0; k < w; k++) rcs[k] = MPC_ERR_LIMIT;
        while (left > 0) {   /* send (again) those refused for now */
            mpc_contribution *again[MPC_CONTRIB_SEND_MAX];
            size_t idx[MPC_CONTRIB_SEND_MAX], m = 0;
            for (size_t k = 0; k < w; k++)
                if (rcs[k] == MPC_ERR_LIMIT) again[m] = b[k], idx[m++] = k;
            int rc2[MPC_CONTRIB_SEND_MAX];
            for (size_t k = 0; k < m; k++) rc2[k] = MPC_ERR_INVALID;   /* set by the call past its checks */
            if (m == 1) rc2[0] = mpc_job_contribution_send(c, j, again[0]);
            else if (mpc_job_contribution_send_many(c, j, again, m, rc2) != 0) {
                /* rc2[k] says which (all MPC_ERR_INVALID when the call refused the batch) */
            }
            left = 0;
            for (size_t k = 0; k < m; k++) {
                rcs[idx[k]] = rc2[k];
                if (rc2[k] == MPC_ERR_LIMIT) left++, T->retries++;
                else if (rc2[k] == 0) T->accepted++;
                else if (T->refused++ == 0)
                    snprintf(T->err, sizeof T->err, "contribution %llu refused: %s",
                             (unsigned long long)(i + idx[k]), mpc_client_errmsg(c));
            }
            if (left) nanosleep(&(struct timespec){0, 5000000}, NULL);
        }
        for (size_t k = 0; k < w; k++) mpc_contribution_free(&b[k]);
    }
    pthread_barrier_wait(T->done);
    for (uint64_t i = from; x && i < to; i++) mpc_contribution_free(&x[i - from]);
    free(x);
    mpc_job_free(&j);
    mpc_client_close(&c);
    return NULL;
}

static char **s_read_tokens(const char *path, uint64_t n)
{
    FILE *f = fopen(path, "r");
    if (!f) s_die("cannot open the tokens file");
    char **tok = calloc(n, sizeof *tok), line[256];
    uint64_t i = 0;
    while (tok && i < n && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (*line && !(tok[i++] = strdup(line))) s_die("out of memory");
    }
    fclose(f);
    if (!tok || i < n) s_die("fewer tokens than contributions");
    return tok;
}

static void s_args(int argc, char **argv, s_opts *o)
{
    memset(o, 0, sizeof *o);
    o->threads = 8;
    o->window = 1;
    o->seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--int")) { o->is_int = 1; continue; }
        if (!v) s_die("an option needs a value");
        i++;
        if (!strcmp(a, "--config")) o->config = v;
        else if (!strcmp(a, "--job")) o->job = v;
        else if (!strcmp(a, "--program")) o->program = v;
        else if (!strcmp(a, "--input")) o->input = v;
        else if (!strcmp(a, "--tokens")) o->tokens = v;
        else if (!strcmp(a, "--csv")) o->csv = v;
        else if (!strcmp(a, "--n")) o->n = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--threads")) o->threads = (unsigned)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--window")) o->window = (unsigned)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--seed")) o->seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--pids")) o->pids = v;
        else s_die("unknown option (see the comment at the top of bench/contrib_load.c)");
    }
    if (!o->config || !o->job || !o->program || !o->input || !o->tokens || !o->n || !o->threads ||
        o->threads > 64 || o->n < o->threads || !o->window || o->window > MPC_CONTRIB_SEND_MAX)
        s_die("usage: contrib-load --config INI --job ID --program PROG --input NAME --tokens FILE --n N "
              "[--threads T] [--int] [--csv FILE] [--seed S]");
}

int main(int argc, char **argv)
{
    s_opts o;
    s_args(argc, argv, &o);
    /* D from the program: the contributor input's circuit input NAME-contrib has D + 1 elements */
    mpc_client *c = NULL;
    mpc_job *j = NULL;
    char err[512];
    if (mpc_client_open(&c, o.config, err, sizeof err) != 0) s_die(err);
    if (mpc_job_create_file(c, o.program, NULL, 0, 0, &j) != 0) s_die(mpc_client_errmsg(c));
    uint64_t len = 0;
    char want[300];
    snprintf(want, sizeof want, "%s-contrib", o.input);
    for (size_t i = 0; i < mpc_job_n_inputs(j); i++)
        if (!strcmp(mpc_job_input_name(j, i), want)) len = mpc_job_input_len(j, i) - 1;
    mpc_job_free(&j);
    mpc_client_close(&c);
    if (!len) s_die("the program has no such contributor input");
    char **tok = s_read_tokens(o.tokens, o.n), **text = malloc(o.n * sizeof *text);
    FILE *csv = o.csv ? fopen(o.csv, "w") : NULL;
    if (!text || (o.csv && !csv)) s_die("cannot write the values");
    for (uint64_t i = 0; i < o.n; i++) {
        text[i] = s_values(&o, len, i);
        if (csv) fprintf(csv, "%s\n", text[i]);
    }
    if (csv && fclose(csv) != 0) s_die("cannot write the values");
    pthread_barrier_t ready, go, done;
    pthread_barrier_init(&ready, NULL, o.threads + 1);
    pthread_barrier_init(&go, NULL, o.threads + 1);
    pthread_barrier_init(&done, NULL, o.threads + 1);
    s_thread *T = calloc(o.threads, sizeof *T);
    pthread_t *th = calloc(o.threads, sizeof *th);
    if (!T || !th) s_die("out of memory");
    double t0 = s_now();
    for (unsigned t = 0; t < o.threads; t++) {
        T[t] = (s_thread){.o = &o, .t = t, .tok = tok, .text = text, .ready = &ready, .go = &go, .done = &done};
        if (pthread_create(&th[t], NULL, s_main, &T[t]) != 0) s_die("cannot start a thread");
    }
    long pid[8];
    int np = 0;
    for (const char *q = o.pids; q && *q && np < 8;) {
        char *end;
        pid[np++] = strtol(q, &end, 10);
        q = *end == ',' ? end + 1 : end + strlen(end);
    }
    double d1[8], d2[8];
    pthread_barrier_wait(&ready);
    for (int i = 0; i < np; i++) d1[i] = s_proc_cpu(pid[i]);
    double t1 = s_now(), cpu1 = s_cpu();
    pthread_barrier_wait(&go);
    pthread_barrier_wait(&done);
    double t2 = s_now(), cpu2 = s_cpu();
    for (int i = 0; i < np; i++) d2[i] = s_proc_cpu(pid[i]);
    uint64_t acc = 0, retries = 0, refused = 0;
    int fail = 0;
    for (unsigned t = 0; t < o.threads; t++) {
        pthread_join(th[t], NULL);
        acc += T[t].accepted, retries += T[t].retries, refused += T[t].refused;
        if (T[t].fail || T[t].refused) {
            fprintf(stderr, "contrib-load: thread %u: %s\n", t, T[t].err);
            fail |= T[t].fail;
        }
    }
    printf("{\"n\": %llu, \"len\": %llu, \"threads\": %u, \"prepare_sec\": %.6f, \"send_sec\": %.6f, "
           "\"accepted\": %llu, \"retries\": %llu, \"refused\": %llu, \"client_cpu_sec\": %.6f, "
           "\"window\": %u, \"daemon_cpu_sec\": [",
           (unsigned long long)o.n, (unsigned long long)len, o.threads, t1 - t0, t2 - t1, (unsigned long long)acc,
           (unsigned long long)retries, (unsigned long long)refused, cpu2 - cpu1, o.window);
    for (int i = 0; i < np; i++) printf("%s%.3f", i ? ", " : "", d1[i] < 0 || d2[i] < 0 ? -1.0 : d2[i] - d1[i]);
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    printf("], \"client_maxrss_kb\": %ld}\n", u.ru_maxrss);
    for (uint64_t i = 0; i < o.n; i++) free(tok[i]), free(text[i]);
    free(tok);
    free(text);
    free(T);
    free(th);
    return fail ? 1 : 0;
}
