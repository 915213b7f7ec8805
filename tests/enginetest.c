/* enginetest.c — threads-over-memory harness for the engine (enginetest.h). */
#include "enginetest.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpc_err.h"
#include "prg.h"

/* A transport wrapper recording every payload word received (the party's view) and, when
 * asked, failing one OPEN send (a fault in the middle of a job). */
typedef struct {
    mpc_transport *inner;
    et_job        *job;
    int            record, fail;
} s_rec;

static int s_rec_send(mpc_transport *t, uint32_t to, uint8_t type, uint64_t job, uint64_t seq,
                      const uint64_t *data, uint64_t count)
{
    s_rec *r = t->impl;
    if (r->fail && type == MPC_MSG_OPEN && seq == r->job->fail_seq) return MPC_ERR_IO;
    int rc = mpc_send(r->inner, to, type, job, seq, data, count);
    t->bytes_sent = r->inner->bytes_sent;
    t->msgs_sent = r->inner->msgs_sent;
    return rc;
}

static int s_rec_recv(mpc_transport *t, uint32_t from, uint8_t type, uint64_t job, uint64_t seq,
                      uint64_t *out, uint64_t count, int timeout_ms)
{
    s_rec *r = t->impl;
    int rc = mpc_recv(r->inner, from, type, job, seq, out, count, timeout_ms);
    t->bytes_recv = r->inner->bytes_recv;
    t->msgs_recv = r->inner->msgs_recv;
    if (rc == 0 && count && r->record) {
        et_job *j = r->job;
        j->view = realloc(j->view, (size_t)(j->view_len + count) * 8);
        memcpy(j->view + j->view_len, out, (size_t)count * 8);
        j->view_len += count;
    }
    return rc;
}

static void s_rec_forget(mpc_transport *t, uint64_t job)
{
    s_rec *r = t->impl;
    mpc_transport_forget(r->inner, job);
}

static void s_rec_destroy(mpc_transport **tp)
{
    s_rec *r = (*tp)->impl;
    mpc_transport_destroy(&r->inner);
    free(r);
    free(*tp);
    *tp = NULL;
}

static const struct mpc_transport_ops s_rec_ops = {
    .send = s_rec_send, .recv = s_rec_recv, .forget = s_rec_forget, .destroy = s_rec_destroy,
};

typedef struct {
    et_job        *j;
    uint32_t       p;
    mpc_transport *t;
} s_arg;

/* mpc_engine_opts.inputs_read: counts the call and, with scrub_inputs, overwrites what the
 * party's inputs point to, so a later read would give wrong results. */
static void s_inputs_read(void *arg)
{
    s_arg *a = arg;
    et_job *j = a->j;
    j->inputs_read[a->p]++;
    for (uint32_t k = 0; j->scrub_inputs && j->in[a->p] && k < j->c->n_inputs; k++) {
        mpc_engine_input *in = &j->in[a->p][k];
        if (in->values) memset((void *)in->values, 0xa5, (size_t)in->len * 8);
        if (in->seed) memset((void *)in->seed, 0xa5, 32);
    }
}

static void *s_party(void *arg)
{
    s_arg *a = arg;
    et_job *j = a->j;
    uint32_t p = a->p;
    const mpc_circuit *c = j->c;
    mpc_prep *prep = j->make_prep ? j->make_prep(p, j->before_arg)
        : j->use_dealer
        ? mpc_prep_dealer_new(a->t, p, c->n_parties, c->n_parties, j->job | MPC_STREAM_PREP_BIT,
                              j->timeout_ms)
        : mpc_prep_testlocal_new(j->master, p, c->n_parties);
    mpc_engine_opts o = {.stream = j->job, .timeout_ms = j->timeout_ms, .slice_words = j->slice_words,
                         .stream_chunk = j->stream_chunk, .stream_ahead = j->stream_ahead,
                         .cmp_apart = j->cmp_apart, .inputs_read = s_inputs_read, .inputs_ctx = a,
                         .stream_wait_ms = j->stream_wait_ms};
    mpc_engine *e = prep ? mpc_engine_new(c, p, a->t, prep, &o) : NULL;
    if (!e) {
        j->rc[p] = MPC_ERR_NOMEM;
        goto out;
    }
    j->rc[p] = j->zkeys[p]
        ? mpc_engine_run_keyed(e, j->in[p], j->zkeys[p], j->err[p], sizeof j->err[p])
        : mpc_engine_run(e, j->in[p], j->err[p], sizeof j->err[p]);
    if (j->rc[p] == 0) {
        for (uint32_t o2 = 0; o2 < c->n_outputs && o2 < 8; o2++) {
            uint64_t len = c->outputs[o2].len;
            j->share[p][o2] = malloc((size_t)len * 8);
            memcpy(j->share[p][o2], mpc_engine_share(e, o2), (size_t)len * 8);
        }
    }
    mpc_engine_stats_get(e, &j->st[p]);
    if (j->rc[p] == 0 && !j->no_open) {
        /* the opening's messages count in the job's transport counters, as the daemon's
         * deliveries would */
        uint64_t bs = a->t->bytes_sent, br = a->t->bytes_recv, ms = a->t->msgs_sent, mr = a->t->msgs_recv;
        j->open_rc[p] = et_open(e, c, a->t, p, j->job, j->timeout_ms, j->value[p], 8, j->err[p],
                                sizeof j->err[p]);
        j->st[p].bytes_sent += a->t->bytes_sent - bs;
        j->st[p].bytes_recv += a->t->bytes_recv - br;
        j->st[p].msgs_sent += a->t->msgs_sent - ms;
        j->st[p].msgs_recv += a->t->msgs_recv - mr;
    }
    j->prep_triples[p] = prep->triples_out;
    j->prep_squares[p] = prep->squares_out;
out:
    mpc_engine_destroy(&e);
    mpc_prep_destroy(&prep);
    return NULL;
}

static void *s_dealer(void *arg)
{
    s_arg *a = arg;
    et_job *j = a->j;
    j->dealer_rc = mpc_dealer_serve(a->t, j->c->n_parties, j->job | MPC_STREAM_PREP_BIT,
                                    j->timeout_ms, &j->dst, j->dealer_err, sizeof j->dealer_err);
    return NULL;
}

int et_run(et_job *j)
{
    uint32_t n = j->c->n_parties;
    if (!j->timeout_ms) j->timeout_ms = 5000;
    if (sodium_init() < 0) return -1;
    mpc_mem_hub *hub = mpc_mem_hub_new(n + 1, j->timeout_ms);
    if (!hub) return -1;
    pthread_t th[ET_MAXP + 1];
    s_arg args[ET_MAXP + 1];
    int started[ET_MAXP + 1] = {0};
    uint32_t nodes = n + (j->use_dealer ? 1 : 0);
    for (uint32_t p = 0; p < nodes; p++) {
        args[p].j = j;
        args[p].p = p;
        args[p].t = mpc_mem_transport_new(hub, p);
        if (j->view_party == (int)p + 1 || j->fail_party == (int)p + 1) {
            mpc_transport *w = calloc(1, sizeof *w);
            s_rec *r = calloc(1, sizeof *r);
            r->inner = args[p].t;
            r->job = j;
            r->record = j->view_party == (int)p + 1;
            r->fail = j->fail_party == (int)p + 1;
            w->ops = &s_rec_ops;
            w->impl = r;
            w->self = p;
            w->n = args[p].t->n;
            args[p].t = w;
        }
    }
    if (j->before) j->before(hub, j->before_arg);
    for (uint32_t p = 0; p < nodes; p++) {
        if (j->silent == (int)p + 1) continue;
        pthread_create(&th[p], NULL, p < n ? s_party : s_dealer, &args[p]);
        started[p] = 1;
    }
    for (uint32_t p = 0; p < nodes; p++)
        if (started[p]) pthread_join(th[p], NULL);
    for (uint32_t p = 0; p < nodes; p++) mpc_transport_destroy(&args[p].t);
    mpc_mem_hub_destroy(&hub);
    return 0;
}

void et_client_share(const uint64_t *x, uint64_t len, uint32_t n, uint32_t k,
                     const uint8_t *seed32, uint8_t *seeds, uint64_t *share)
{
    uint64_t *tmp = malloc((size_t)(len ? len : 1) * 8);
    if (!tmp) abort();
    memcpy(share, x, (size_t)len * 8);
    for (uint32_t p = 0; p + 1 < n; p++) {
        uint8_t *sd = seeds + 32 * (size_t)p;
        if (seed32) {
            uint64_t w[4];
            if (mpc_prg_expand(w, 4, seed32, MPC_PRG_STREAM(MPC_PRG_D_TEST, ((uint64_t)k << 8) | p), 0))
                abort();
            memcpy(sd, w, 32);
        } else {
            randombytes_buf(sd, 32);
        }
        if (mpc_prg_expand(tmp, len, sd, MPC_PRG_STREAM(MPC_PRG_D_CLIENT, k), 0)) abort();
        for (uint64_t i = 0; i < len; i++) share[i] -= tmp[i];
    }
    free(tmp);
}

/* et_plain_inputs' buffers: per input, (n−1) seeds and party n−1's share. */
typedef struct {
    uint32_t  n_inputs;
    uint8_t **seeds;
    uint64_t **shares;
} s_inbuf;

static void s_inbuf_free(s_inbuf *b)
{
    if (!b) return;
    for (uint32_t k = 0; k < b->n_inputs; k++) {
        free(b->seeds[k]);
        free(b->shares[k]);
    }
    free(b->seeds);
    free(b->shares);
    free(b);
}

void et_plain_inputs(et_job *j, const uint64_t *const *vals)
{
    const mpc_circuit *c = j->c;
    uint32_t n = c->n_parties;
    s_inbuf *b = calloc(1, sizeof *b);
    if (!b) abort();
    b->n_inputs = c->n_inputs;
    b->seeds = calloc(c->n_inputs ? c->n_inputs : 1, sizeof *b->seeds);
    b->shares = calloc(c->n_inputs ? c->n_inputs : 1, sizeof *b->shares);
    if (!b->seeds || !b->shares) abort();
    for (uint32_t p = 0; p < n; p++) {
        j->in[p] = calloc(c->n_inputs ? c->n_inputs : 1, sizeof(mpc_engine_input));
        if (!j->in[p]) abort();
    }
    for (uint32_t k = 0; k < c->n_inputs; k++) {
        uint64_t len = c->inputs[k].len;
        b->seeds[k] = malloc(32 * (size_t)n);
        b->shares[k] = malloc((size_t)(len ? len : 1) * 8);
        if (!b->seeds[k] || !b->shares[k]) abort();
        et_client_share(vals[k], len, n, k, j->input_seed, b->seeds[k], b->shares[k]);
        for (uint32_t p = 0; p + 1 < n; p++)
            j->in[p][k] = (mpc_engine_input){.mode = MPC_IN_SEED, .seed = b->seeds[k] + 32 * (size_t)p};
        j->in[n - 1][k] = (mpc_engine_input){.mode = MPC_IN_SHARE, .values = b->shares[k], .len = len};
    }
    s_inbuf_free(j->inbuf);
    j->inbuf = b;
}

int et_open(const mpc_engine *e, const mpc_circuit *c, mpc_transport *t, uint32_t self,
            uint64_t job, int timeout_ms, uint64_t **values, uint32_t nvals, char *err,
            size_t errlen)
{
    int r = 0;
    uint64_t *rx = NULL;
    for (uint32_t o = 0; o < c->n_outputs && !r; o++) {
        const mpc_output *co = &c->outputs[o];
        const uint64_t *sh = mpc_engine_share(e, o);
        if (!sh) {
            r = MPC_ERR_STATE;
            snprintf(err, errlen, "output '%s': no share", co->name);
            break;
        }
        for (uint32_t j = 0; j < c->n_parties && !r; j++) {
            if (j == self || !(co->recipients & (1u << j))) continue;
            if ((r = mpc_send(t, j, MPC_MSG_OUTPUT, job, o, sh, co->len)))
                snprintf(err, errlen, "output '%s': sending to party %u: %s", co->name,
                         (unsigned)j, mpc_strerror(r));
        }
    }
    for (uint32_t o = 0; o < c->n_outputs && !r; o++) {
        const mpc_output *co = &c->outputs[o];
        if (!(co->recipients & (1u << self))) continue;
        uint64_t *v = malloc((size_t)(co->len ? co->len : 1) * 8);
        rx = malloc((size_t)(co->len ? co->len : 1) * 8);
        if (!v || !rx) abort();
        memcpy(v, mpc_engine_share(e, o), (size_t)co->len * 8);
        for (uint32_t j = 0; j < c->n_parties && !r; j++) {
            if (j == self) continue;
            if ((r = mpc_recv(t, j, MPC_MSG_OUTPUT, job, o, rx, co->len, timeout_ms))) {
                snprintf(err, errlen, "output '%s': receiving from party %u: %s", co->name,
                         (unsigned)j, mpc_strerror(r));
                break;
            }
            for (uint64_t k = 0; k < co->len; k++) v[k] += rx[k];
        }
        free(rx);
        rx = NULL;
        if (o < nvals) values[o] = v;
        else free(v);
    }
    if (r) {
        uint64_t code = (uint64_t)(int64_t)r;
        for (uint32_t j = 0; j < c->n_parties; j++)
            if (j != self) (void)mpc_send(t, j, MPC_MSG_ABORT, job, 0, &code, 1);
        for (uint32_t o = 0; o < nvals && o < c->n_outputs; o++) {
            free(values[o]);
            values[o] = NULL;
        }
    }
    return r;
}

void et_clear(et_job *j)
{
    for (int p = 0; p < ET_MAXP; p++) {
        for (int o = 0; o < 8; o++) {
            free(j->share[p][o]);
            free(j->value[p][o]);
            j->share[p][o] = j->value[p][o] = NULL;
        }
        free(j->in[p]);
        j->in[p] = NULL;
    }
    free(j->view);
    j->view = NULL;
    j->view_len = 0;
    s_inbuf_free(j->inbuf);
    j->inbuf = NULL;
}

static uint64_t s_floor_shift(uint64_t x, unsigned m)
{
    uint64_t r = x >> m;   /* floor(x / 2^m) for two's complement x, no signed shifts */
    if (x >> 63) r |= ~(UINT64_MAX >> m);
    return r;
}

void et_ref(const mpc_circuit *c, const uint64_t *const *in, uint64_t **outs)
{
    uint64_t **w = calloc(c->n_gates, sizeof *w);
    if (!w) abort();
    for (uint32_t i = 0; i < c->n_gates; i++) {
        const mpc_gate *g = &c->gates[i];
        uint64_t n = g->len;
        uint64_t *z = malloc(n * 8);
        if (!z) abort();
        const uint64_t *x = g->in[0] != MPC_NO_WIRE ? w[g->in[0]] : NULL;
        const uint64_t *y = g->in[1] != MPC_NO_WIRE ? w[g->in[1]] : NULL;
        const uint64_t *v = g->in[2] != MPC_NO_WIRE ? w[g->in[2]] : NULL;
        uint64_t nx = x ? c->gates[g->in[0]].len : 0, ny = y ? c->gates[g->in[1]].len : 0;
        uint64_t nv = v ? c->gates[g->in[2]].len : 0;
#define AT(p, np, k) ((np) == 1 ? (p)[0] : (p)[k])
        switch (g->kind) {
        case MPC_G_INPUT: memcpy(z, in[g->aux[0]], n * 8); break;
        case MPC_G_CONST: memcpy(z, c->consts + g->aux[0], n * 8); break;
        case MPC_G_ADD: case MPC_G_ADD_PUB: for (uint64_t k = 0; k < n; k++) z[k] = AT(x, nx, k) + AT(y, ny, k); break;
        case MPC_G_SUB: for (uint64_t k = 0; k < n; k++) z[k] = AT(x, nx, k) - AT(y, ny, k); break;
        case MPC_G_MUL: case MPC_G_MUL_PUB: for (uint64_t k = 0; k < n; k++) z[k] = AT(x, nx, k) * AT(y, ny, k); break;
        case MPC_G_NEG: for (uint64_t k = 0; k < n; k++) z[k] = 0 - x[k]; break;
        case MPC_G_SUM: z[0] = 0; for (uint64_t k = 0; k < nx; k++) z[0] += x[k]; break;
        case MPC_G_DOT: {   /* one sum per segment of aux[0] elements (0: the whole vector) */
            uint64_t seg = g->aux[0] ? g->aux[0] : nx;
            for (uint64_t jj = 0, k = 0; jj < n; jj++) {
                z[jj] = 0;
                for (uint64_t end = k + seg < nx ? k + seg : nx; k < end; k++) z[jj] += x[k] * y[k];
            }
            break;
        }
        case MPC_G_SELECT:
            for (uint64_t k = 0; k < n; k++)
                z[k] = AT(v, nv, k) + AT(x, nx, k) * (AT(y, ny, k) - AT(v, nv, k));
            break;
        case MPC_G_TRUNC: for (uint64_t k = 0; k < n; k++) z[k] = s_floor_shift(x[k], (unsigned)g->aux[0]); break;
        case MPC_G_LTZ: for (uint64_t k = 0; k < n; k++) z[k] = x[k] >> 63; break;
        case MPC_G_EQZ: for (uint64_t k = 0; k < n; k++) z[k] = x[k] == 0; break;
        case MPC_G_SLICE: for (uint64_t k = 0; k < n; k++) z[k] = x[g->aux[0] + k * g->aux[1]]; break;
        case MPC_G_CONCAT: memcpy(z, x, nx * 8); memcpy(z + nx, y, ny * 8); break;
        case MPC_G_OUTPUT:
            memcpy(z, x, n * 8);
            if (g->aux[0] < 8) {
                outs[g->aux[0]] = malloc(n * 8);
                memcpy(outs[g->aux[0]], x, n * 8);
            }
            break;
        default: abort();
        }
#undef AT
        w[i] = z;
    }
    for (uint32_t i = 0; i < c->n_gates; i++) free(w[i]);
    free(w);
}

uint64_t et_fetch_layers(const mpc_circuit *c)
{
    uint64_t cnt = 0;
    for (uint32_t l = 0; l <= c->rounds; l++)
        for (uint32_t i = 0; i < c->n_gates; i++)
            if (c->gates[i].layer == l && mpc_gate_infos[c->gates[i].kind].rounds) {
                cnt++;
                break;
            }
    return cnt;
}

uint64_t et_rand64(void)
{
    uint64_t v;
    randombytes_buf(&v, sizeof v);
    return v;
}

void et_ot_before(mpc_mem_hub *hub, void *arg)
{
    (void)hub;
    et_ot *ot = arg;
    ot->hub = mpc_mem_hub_new(ot->n, ot->o.timeout_ms > 0 ? ot->o.timeout_ms : 20000);
    for (uint32_t p = 0; ot->hub && p < ot->n; p++) ot->t[p] = mpc_mem_transport_new(ot->hub, p);
}

mpc_prep *et_ot_make(uint32_t party, void *arg)
{
    et_ot *ot = arg;
    return ot->t[party] ? mpc_prep_ot_new(ot->t[party], party, ot->n, ot->stream, &ot->o) : NULL;
}

void et_ot_free(et_ot *ot)
{
    for (uint32_t p = 0; p < ot->n; p++) mpc_transport_destroy(&ot->t[p]);
    if (ot->hub) mpc_mem_hub_destroy(&ot->hub);
}
