/* check_engine_mal.c — SPDZ2k authenticated shares (protocols/auth.h), the test dealer
 * (protocols/auth_dealer.h) and the malicious online engine (protocols/engine_mal.h): exact
 * results against the plaintext reference, gates refused up front, and the cheating matrix —
 * one party adds an error to an opening, a triple or mask share, an input mask or an output
 * share, and every party aborts with "MAC check failed" with no output released. */
#include <check.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "auth_bits.h"
#include "auth_cmp.h"
#include "auth_dealer.h"
#include "circuit.h"
#include "engine_mal.h"
#include "enginetest.h"
#include "mpc_err.h"
#include "runner.h"
#include "transport_mem.h"
#include "vcheck.h"

#define MAXP 4
#define TIMEOUT 20000

/* ---- faults ---- */

typedef enum { F_NONE, F_SEND, F_TRIPLE, F_MASK, F_MASKVAL } s_fault_how;
enum { T_FIELD_A, T_FIELD_C };

typedef struct {
    s_fault_how how;
    uint32_t    party;        /* the cheater */
    /* F_SEND: add delta to word `word` of message (type, seq) to the peers in peer_mask */
    uint8_t     type;
    uint64_t    seq, word;
    uint32_t    peer_mask;
    /* F_TRIPLE: element `elem` of field (a or c) of the first triples call;
     * F_MASK: element `elem` of the value share (mac = 0) or MAC share (mac = 1) of masks
     * call number `call`; F_MASKVAL: the value of element `elem` of masks call `call`, which
     * the cheater owns, less delta (it enters x + delta where it means x, consistently) */
    int         field, mac;
    uint32_t    call;
    uint64_t    elem;
    uint64_t    delta;
    mpc_u128    delta128;     /* F_MASKVAL: used instead of delta when non-zero */
} s_fault;

typedef struct {
    mpc_transport *inner;
    const s_fault *f;
} s_cheat_t;

static int s_ct_send(mpc_transport *t, uint32_t to, uint8_t type, uint64_t stream, uint64_t seq,
                     const uint64_t *data, uint64_t count)
{
    s_cheat_t *c = t->impl;
    const s_fault *f = c->f;
    if (f->how == F_SEND && type == f->type && seq == f->seq && (f->peer_mask >> to & 1) && f->word < count) {
        uint64_t *copy = malloc((size_t)count * 8);
        ck_assert_ptr_nonnull(copy);
        memcpy(copy, data, (size_t)count * 8);
        copy[f->word] += f->delta;
        int r = mpc_send(c->inner, to, type, stream, seq, copy, count);
        free(copy);
        return r;
    }
    return mpc_send(c->inner, to, type, stream, seq, data, count);
}

static int s_ct_recv(mpc_transport *t, uint32_t from, uint8_t type, uint64_t stream, uint64_t seq,
                     uint64_t *out, uint64_t count, int timeout_ms)
{
    s_cheat_t *c = t->impl;
    return mpc_recv(c->inner, from, type, stream, seq, out, count, timeout_ms);
}

static void s_ct_forget(mpc_transport *t, uint64_t stream)
{
    s_cheat_t *c = t->impl;
    mpc_transport_forget(c->inner, stream);
}

static void s_ct_destroy(mpc_transport **tp)
{
    s_cheat_t *c = (*tp)->impl;
    mpc_transport_destroy(&c->inner);
    free(c);
    free(*tp);
    *tp = NULL;
}

static const struct mpc_transport_ops s_ct_ops = {
    .send = s_ct_send, .recv = s_ct_recv, .forget = s_ct_forget, .destroy = s_ct_destroy,
};

static mpc_transport *s_cheat_transport(mpc_transport *inner, const s_fault *f)
{
    mpc_transport *t = calloc(1, sizeof *t);
    s_cheat_t *c = calloc(1, sizeof *c);
    ck_assert(t && c);
    c->inner = inner;
    c->f = f;
    t->ops = &s_ct_ops;
    t->impl = c;
    t->self = inner->self;
    t->n = inner->n;
    return t;
}

typedef struct {
    mpc_auth_src  *inner;
    const s_fault *f;
    uint32_t       triple_calls, mask_calls;
} s_cheat_s;

static int s_cs_key(mpc_auth_src *s, mpc_auth_key *k)
{
    s_cheat_s *c = s->impl;
    return c->inner->ops->key(c->inner, k);
}

static int s_cs_triples(mpc_auth_src *s, uint64_t n, mpc_auth_triples *o)
{
    s_cheat_s *c = s->impl;
    int r = mpc_auth_src_triples(c->inner, n, o);
    if (!r && c->f->how == F_TRIPLE && c->triple_calls == 0 && c->f->elem < n)
        (c->f->field == T_FIELD_A ? o->a : o->c)[c->f->elem] += c->f->delta;
    c->triple_calls++;
    return r;
}

static int s_cs_masks(mpc_auth_src *s, uint32_t owner, uint64_t n, mpc_u128 *x, mpc_u128 *m, mpc_u128 *val)
{
    s_cheat_s *c = s->impl;
    int r = mpc_auth_src_masks(c->inner, owner, n, x, m, val);
    if (!r && c->f->how == F_MASK && c->mask_calls == c->f->call && c->f->elem < n)
        (c->f->mac ? m : x)[c->f->elem] += c->f->delta;
    if (!r && c->f->how == F_MASKVAL && c->mask_calls == c->f->call && c->f->elem < n && val)
        val[c->f->elem] -= c->f->delta128 ? c->f->delta128 : c->f->delta;
    c->mask_calls++;
    return r;
}

static void s_cs_destroy(mpc_auth_src **sp)
{
    s_cheat_s *c = (*sp)->impl;
    mpc_auth_src_destroy(&c->inner);
    free(c);
    free(*sp);
    *sp = NULL;
}

static const struct mpc_auth_src_ops s_cs_ops = {s_cs_key, s_cs_triples, s_cs_masks, s_cs_destroy};

static mpc_auth_src *s_cheat_src(mpc_auth_src *inner, const s_fault *f)
{
    mpc_auth_src *s = calloc(1, sizeof *s);
    s_cheat_s *c = calloc(1, sizeof *c);
    ck_assert(s && c);
    c->inner = inner;
    c->f = f;
    s->ops = &s_cs_ops;
    s->impl = c;
    s->self = inner->self;
    s->n = inner->n;
    return s;
}

/* ---- running the parties as threads ---- */

typedef struct {
    const mpc_circuit     *c;
    uint32_t               n;
    const uint64_t *const *vals;     /* plaintext of every input (each party passes its own) */
    uint8_t                master[32];
    const s_fault         *f;
    uint64_t               check_every;
    mpc_mem_hub           *hub;
    int                    rc[MAXP];
    char                   err[MAXP][256];
    uint64_t              *out[MAXP][8];
    int                    released[MAXP];   /* outputs this party holds after the run */
    mpc_mal_stats          st[MAXP];
    /* cancel and deadline (engine_mal.h): cancel_party (1 + the party, 0: none) sets its flag
     * in its progress callback after cancel_after layers; deadline_ms for every party */
    uint32_t               cancel_party, cancel_after;
    atomic_int             cancel;
    uint64_t               deadline_ms;
    int                    checked;          /* opts.checked_outputs */
    uint32_t               open_from;        /* opts.open_from */
    uint8_t               *chk[MAXP][8];     /* checked outputs: each party's record (vcheck.h) */
    int                    withhold;         /* opts.release: withhold the even elements of output 0 */
    uint32_t               release_calls[MAXP], release_saw[MAXP];
    struct s_client       *client;           /* opts.client_input: every input from this client */
    uint32_t               progress_calls[MAXP];
    uint64_t               progress_triples[MAXP];
} s_job;

typedef struct {
    s_job   *j;
    uint32_t p;
} s_arg;

static void s_progress(void *ctx, uint32_t rounds_done, uint64_t triples)
{
    s_arg *a = ctx;
    s_job *j = a->j;
    j->progress_calls[a->p]++;
    j->progress_triples[a->p] = triples;
    if (j->cancel_party == a->p + 1 && rounds_done >= j->cancel_after) atomic_store(&j->cancel, 1);
}

/* opts.release: withholds the even elements of output 0 (with open_from, after the pass bits:
 * counts the outputs from open_from on this party holds then). */
static int s_release_cb(void *ctx, const mpc_mal_engine *e, uint8_t *const *wh, char *err, size_t errlen)
{
    s_arg *a = ctx;
    s_job *j = a->j;
    (void)err;
    (void)errlen;
    j->release_calls[a->p]++;
    for (uint32_t o = j->open_from; o && o < j->c->n_outputs; o++) j->release_saw[a->p] += mpc_mal_output(e, o) != NULL;
    for (uint64_t i = 0; i < j->c->outputs[0].len; i += 2) wh[0][i] = 1;
    return 0;
}

/* A client giving every input (opts.client_input): each party posts its records; the last one
 * to post plays the client — verifies every input's records (vcheck.h) and makes δ = x − r —
 * and every party then takes δ (party 0 a different one with skew).  tamper: party tamper − 1
 * hands out a record with one bit changed (after committing): the client refuses. */
typedef struct s_client {
    pthread_mutex_t mu;
    pthread_cond_t  cv;
    uint32_t        posted, tamper;
    int             done, rc, why, skew;
    uint8_t        *rec[MAXP][8];
    uint64_t       *delta[8], *delta0[8];
} s_client;

static int s_client_play(s_job *j, s_client *cl)
{
    const mpc_circuit *c = j->c;
    for (uint32_t k = 0; k < c->n_inputs; k++) {
        uint64_t L = c->inputs[k].len, *v = malloc(L * 8);
        const uint8_t *recs[MAXP];
        for (uint32_t p = 0; p < j->n; p++) recs[p] = cl->rec[p][k];
        uint32_t who;
        int r = mpc_vcheck_verify(recs, j->n, L, v, &cl->why, &who);
        if (r) {
            free(v);
            return r;
        }
        cl->delta[k] = malloc(L * 8);
        cl->delta0[k] = malloc(L * 8);
        for (uint64_t i = 0; i < L; i++) cl->delta[k][i] = cl->delta0[k][i] = j->vals[k][i] - v[i];
        if (cl->skew) cl->delta0[k][0]++;
        free(v);
    }
    return 0;
}

static int s_client_cb(void *ctx, const uint8_t *const *rec, const uint64_t **delta, char *err, size_t errlen)
{
    s_arg *a = ctx;
    s_job *j = a->j;
    s_client *cl = j->client;
    pthread_mutex_lock(&cl->mu);
    for (uint32_t k = 0; k < j->c->n_inputs; k++) {
        size_t bytes = mpc_vcheck_record_bytes(j->c->inputs[k].len, j->n);
        cl->rec[a->p][k] = malloc(bytes);
        memcpy(cl->rec[a->p][k], rec[k], bytes);
    }
    if (cl->tamper == a->p + 1) cl->rec[a->p][0][3] ^= 4;   /* a share's bit, after the commitment */
    if (++cl->posted == j->n) {
        cl->rc = s_client_play(j, cl);
        cl->done = 1;
        pthread_cond_broadcast(&cl->cv);
    }
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 10;
    while (!cl->done && pthread_cond_timedwait(&cl->cv, &cl->mu, &dl) == 0) {}
    int r = cl->done ? cl->rc : MPC_ERR_TIMEOUT;
    pthread_mutex_unlock(&cl->mu);
    if (r) {
        snprintf(err, errlen, "the client refused the records");
        return MPC_ERR_INPUT;
    }
    for (uint32_t k = 0; k < j->c->n_inputs; k++) delta[k] = a->p == 0 ? cl->delta0[k] : cl->delta[k];
    return 0;
}

static void s_client_init(s_client *cl)
{
    memset(cl, 0, sizeof *cl);
    pthread_mutex_init(&cl->mu, NULL);
    pthread_cond_init(&cl->cv, NULL);
}

static void s_client_free(s_client *cl)
{
    for (int k = 0; k < 8; k++) {
        free(cl->delta[k]);
        free(cl->delta0[k]);
        for (int p = 0; p < MAXP; p++) free(cl->rec[p][k]);
    }
    pthread_mutex_destroy(&cl->mu);
    pthread_cond_destroy(&cl->cv);
}

static void *s_party(void *arg)
{
    s_arg *a = arg;
    s_job *j = a->j;
    uint32_t p = a->p;
    mpc_transport *t = mpc_mem_transport_new(j->hub, p);
    mpc_auth_src *src = mpc_auth_dealer_new(j->master, p, j->n);
    ck_assert(t && src);
    if (j->f && j->f->how != F_NONE && j->f->party == p) {
        if (j->f->how == F_SEND) t = s_cheat_transport(t, j->f);
        else src = s_cheat_src(src, j->f);
    }
    const uint64_t *in[16] = {0};
    for (uint32_t k = 0; k < j->c->n_inputs; k++)
        if (j->c->inputs[k].party == p) in[k] = j->vals[k];
    mpc_mal_opts o = {.stream = 77, .timeout_ms = TIMEOUT, .check_every = j->check_every,
                      .cancel = j->cancel_party == p + 1 ? &j->cancel : NULL, .deadline_ms = j->deadline_ms,
                      .progress = s_progress, .progress_ctx = a, .checked_outputs = j->checked,
                      .open_from = j->open_from, .release = j->withhold ? s_release_cb : NULL, .release_ctx = a,
                      .client_input = j->client ? s_client_cb : NULL, .client_ctx = a};
    mpc_mal_engine *e = mpc_mal_engine_new(j->c, p, t, src, &o);
    ck_assert_ptr_nonnull(e);
    j->rc[p] = mpc_mal_run(e, j->client ? NULL : in, j->err[p], sizeof j->err[p]);
    for (uint32_t k = 0; k < j->c->n_outputs && k < 8; k++) {
        const uint64_t *v = mpc_mal_output(e, k);
        if (!v) continue;
        j->released[p]++;
        j->out[p][k] = malloc((size_t)j->c->outputs[k].len * 8);
        memcpy(j->out[p][k], v, (size_t)j->c->outputs[k].len * 8);
    }
    for (uint32_t k = 0; k < j->c->n_outputs && k < 8; k++) {
        const uint8_t *v = mpc_mal_checked_output(e, k);
        if (!v) continue;
        j->released[p]++;
        size_t bytes = mpc_vcheck_record_bytes(j->c->outputs[k].len, j->n);
        j->chk[p][k] = malloc(bytes);
        memcpy(j->chk[p][k], v, bytes);
    }
    mpc_mal_stats_get(e, &j->st[p]);
    mpc_mal_engine_destroy(&e);
    mpc_auth_src_destroy(&src);
    mpc_transport_destroy(&t);
    return NULL;
}

static void s_run(s_job *j)
{
    ck_assert_uint_le(j->n, MAXP);
    if (!j->master[0] && !j->master[1]) randombytes_buf(j->master, sizeof j->master);
    j->hub = mpc_mem_hub_new(j->n, TIMEOUT);
    ck_assert_ptr_nonnull(j->hub);
    pthread_t th[MAXP];
    s_arg args[MAXP];
    for (uint32_t p = 0; p < j->n; p++) {
        args[p] = (s_arg){j, p};
        ck_assert_int_eq(pthread_create(&th[p], NULL, s_party, &args[p]), 0);
    }
    for (uint32_t p = 0; p < j->n; p++) pthread_join(th[p], NULL);
    mpc_mem_hub_destroy(&j->hub);
}

static void s_clear(s_job *j)
{
    for (uint32_t p = 0; p < MAXP; p++)
        for (int k = 0; k < 8; k++) {
            free(j->out[p][k]);
            j->out[p][k] = NULL;
            free(j->chk[p][k]);
            j->chk[p][k] = NULL;
        }
}

static mpc_circuit *s_parties(uint32_t n)
{
    mpc_circuit *c = mpc_circ_new();
    char name[16];
    for (uint32_t p = 0; p < n; p++) {
        snprintf(name, sizeof name, "p%u", (unsigned)p);
        ck_assert_int_eq(mpc_circ_add_party(c, name), (int)p);
    }
    return c;
}

static uint64_t *s_randvec(uint64_t n)
{
    uint64_t *v = malloc(n * 8);
    randombytes_buf(v, n * 8);
    return v;
}

/* Runs c with random inputs on n parties and compares every recipient's outputs with the
 * plaintext reference; non-recipients get none. */
static void s_check_exact(const mpc_circuit *c, uint32_t n, uint64_t check_every)
{
    uint64_t *vals[16];
    for (uint32_t k = 0; k < c->n_inputs; k++) vals[k] = s_randvec(c->inputs[k].len);
    uint64_t *ref[8] = {0};
    et_ref(c, (const uint64_t *const *)vals, ref);
    s_job j = {.c = c, .n = n, .vals = (const uint64_t *const *)vals, .check_every = check_every};
    s_run(&j);
    for (uint32_t p = 0; p < n; p++) {
        ck_assert_msg(j.rc[p] == 0, "party %u: %s", (unsigned)p, j.err[p]);
        ck_assert_uint_ge(j.st[p].checks, 1);
        for (uint32_t o = 0; o < c->n_outputs && o < 8; o++) {
            int rec = c->outputs[o].recipients >> p & 1;
            ck_assert_int_eq(j.out[p][o] != NULL, rec);
            if (rec)
                for (uint64_t k = 0; k < c->outputs[o].len; k++)
                    ck_assert_msg(j.out[p][o][k] == ref[o][k], "party %u output %u element %llu", (unsigned)p,
                                  (unsigned)o, (unsigned long long)k);
        }
    }
    s_clear(&j);
    for (uint32_t k = 0; k < c->n_inputs; k++) free(vals[k]);
    for (int o = 0; o < 8; o++) free(ref[o]);
}

/* ---- local operations and the dealer ---- */

static mpc_u128 s_sum(mpc_u128 *v, uint32_t n)
{
    mpc_u128 s = 0;
    for (uint32_t i = 0; i < n; i++) s += v[i];
    return s;
}

START_TEST(test_dealer_material)
{
    for (uint32_t n = 2; n <= 3; n++) {
        uint8_t master[32];
        randombytes_buf(master, sizeof master);
        mpc_auth_src *s[3];
        mpc_auth_key k[3];
        mpc_u128 alpha[3];
        enum { T = 1500 };   /* more than one generation block */
        mpc_u128 *f[3][6], *mx[3], *mm[3], *val = malloc(T * 16);
        for (uint32_t p = 0; p < n; p++) {
            ck_assert_ptr_nonnull(s[p] = mpc_auth_dealer_new(master, p, n));
            ck_assert_int_eq(mpc_auth_key_init(&k[p]), 0);
            ck_assert_int_eq(mpc_auth_src_key(s[p], &k[p]), 0);
            alpha[p] = *k[p].alpha;
            for (int q = 0; q < 6; q++) f[p][q] = malloc(T * 16);
            mx[p] = malloc(T * 16);
            mm[p] = malloc(T * 16);
            mpc_auth_triples tr = {f[p][0], f[p][1], f[p][2], f[p][3], f[p][4], f[p][5]};
            ck_assert_int_eq(mpc_auth_src_triples(s[p], 7, &tr), 0);   /* skip some: positions move */
            ck_assert_int_eq(mpc_auth_src_triples(s[p], T, &tr), 0);
            ck_assert_int_eq(mpc_auth_src_masks(s[p], 1, T, mx[p], mm[p], p == 1 ? val : NULL), 0);
            /* a wrong val argument is refused */
            ck_assert_int_eq(mpc_auth_src_masks(s[p], 0, 1, mx[p], mm[p], p == 0 ? NULL : val), MPC_ERR_INVALID);
        }
        mpc_u128 a = s_sum(alpha, n);
        ck_assert(a >> 64 == 0 && a != 0);   /* α ∈ Z_2^64 */
        for (uint64_t i = 0; i < T; i++) {
            mpc_u128 v[6][3], x[3], m[3];
            for (uint32_t p = 0; p < n; p++) {
                for (int q = 0; q < 6; q++) v[q][p] = f[p][q][i];
                x[p] = mx[p][i];
                m[p] = mm[p][i];
            }
            mpc_u128 A = s_sum(v[0], n), B = s_sum(v[2], n), C = s_sum(v[4], n);
            ck_assert(A * B == C);
            ck_assert(s_sum(v[1], n) == a * A);
            ck_assert(s_sum(v[3], n) == a * B);
            ck_assert(s_sum(v[5], n) == a * C);
            ck_assert(s_sum(x, n) == val[i]);
            ck_assert(s_sum(m, n) == a * val[i]);
        }
        ck_assert(f[0][0][0] != f[0][0][1]);
        for (uint32_t p = 0; p < n; p++) {
            ck_assert_uint_eq(s[p]->triples_out, 7 + T);
            mpc_auth_key_free(&k[p]);
            ck_assert_ptr_null(k[p].alpha);
            mpc_auth_src_destroy(&s[p]);
            for (int q = 0; q < 6; q++) free(f[p][q]);
            free(mx[p]);
            free(mm[p]);
        }
        free(val);
    }
}
END_TEST

START_TEST(test_local_ops_keep_macs)
{
    enum { N = 9 };
    const uint32_t n = 3;
    uint8_t master[32];
    randombytes_buf(master, sizeof master);
    mpc_u128 x[3][N], xm[3][N], y[3][N], ym[3][N], z[3][N], zm[3][N], alpha[3];
    uint64_t k[N];
    randombytes_buf(k, sizeof k);
    mpc_u128 vx[N], vy[N];
    for (uint32_t p = 0; p < n; p++) {
        mpc_auth_src *s = mpc_auth_dealer_new(master, p, n);
        mpc_auth_key key;
        ck_assert_int_eq(mpc_auth_key_init(&key), 0);
        ck_assert_int_eq(mpc_auth_src_key(s, &key), 0);
        alpha[p] = *key.alpha;
        ck_assert_int_eq(mpc_auth_src_masks(s, 0, N, x[p], xm[p], p == 0 ? vx : NULL), 0);
        ck_assert_int_eq(mpc_auth_src_masks(s, 2, N, y[p], ym[p], p == 2 ? vy : NULL), 0);
        mpc_auth_key_free(&key);
        mpc_auth_src_destroy(&s);
    }
    mpc_u128 a = alpha[0] + alpha[1] + alpha[2];
    for (int op = 0; op < 5; op++)
        for (int bx = 0; bx < 2; bx++) {
            uint64_t nx = bx ? 1 : N;
            for (uint32_t p = 0; p < n; p++) {
                switch (op) {
                case 0: mpc_auth_add(z[p], zm[p], x[p], xm[p], nx, y[p], ym[p], N, N); break;
                case 1: mpc_auth_sub(z[p], zm[p], x[p], xm[p], nx, y[p], ym[p], N, N); break;
                case 2: mpc_auth_neg(z[p], zm[p], x[p], xm[p], nx, N); break;
                case 3: mpc_auth_add_pub(z[p], zm[p], x[p], xm[p], nx, k, N, N, alpha[p], p == 0); break;
                case 4: mpc_auth_mul_pub(z[p], zm[p], x[p], xm[p], nx, k, N, N); break;
                }
            }
            for (uint64_t i = 0; i < N; i++) {
                mpc_u128 X = vx[bx ? 0 : i], want = 0;
                switch (op) {
                case 0: want = X + vy[i]; break;
                case 1: want = X - vy[i]; break;
                case 2: want = -X; break;
                case 3: want = X + k[i]; break;
                case 4: want = X * k[i]; break;
                }
                ck_assert(z[0][i] + z[1][i] + z[2][i] == want);
                ck_assert(zm[0][i] + zm[1][i] + zm[2][i] == a * want);
            }
        }
}
END_TEST

/* ---- the engine ---- */

/* Every supported gate: inputs of three owners, public operations, MUL (with broadcast), DOT
 * (whole and segmented), squares, two layers; outputs to everybody and to single parties. */
static mpc_circuit *s_all_gates(uint32_t n, uint64_t L)
{
    mpc_circuit *c = s_parties(n);
    uint32_t x = mpc_circ_add_input(c, "x", 0, MPC_T_INT, L, 1, 1);
    uint32_t y = mpc_circ_add_input(c, "y", n - 1, MPC_T_INT, L, 2, 1);
    uint32_t s = mpc_circ_add_input(c, "s", 1, MPC_T_INT, 1, 3, 1);
    uint64_t kv[2] = {7, (uint64_t)-3};
    uint32_t k1 = mpc_circ_add_const(c, MPC_T_INT, kv, 1, 4, 1);
    uint32_t k2 = mpc_circ_add_const(c, MPC_T_INT, kv + 1, 1, 4, 1);
    uint32_t a = mpc_circ_add_gate(c, MPC_G_ADD_PUB, MPC_T_INT, L, x, k1, MPC_NO_WIRE, 0, 0, 5, 1);
    uint32_t b = mpc_circ_add_gate(c, MPC_G_MUL_PUB, MPC_T_INT, L, y, k2, MPC_NO_WIRE, 0, 0, 6, 1);
    uint32_t m = mpc_circ_add_gate(c, MPC_G_MUL, MPC_T_INT, L, a, b, MPC_NO_WIRE, 0, 0, 7, 1);
    uint32_t ms = mpc_circ_add_gate(c, MPC_G_MUL, MPC_T_INT, L, s, x, MPC_NO_WIRE, 0, 0, 8, 1);
    uint32_t d = mpc_circ_add_gate(c, MPC_G_DOT, MPC_T_INT, 1, x, y, MPC_NO_WIRE, 0, 0, 9, 1);
    uint32_t dq = mpc_circ_add_gate(c, MPC_G_DOT, MPC_T_INT, 1, a, a, MPC_NO_WIRE, 0, 0, 9, 2);
    uint32_t ds = mpc_circ_add_gate(c, MPC_G_DOT, MPC_T_INT, (L + 4) / 5, y, y, MPC_NO_WIRE, 5, 0, 9, 3);
    uint32_t ng = mpc_circ_add_gate(c, MPC_G_NEG, MPC_T_INT, L, m, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0, 11, 1);
    uint32_t sb = mpc_circ_add_gate(c, MPC_G_SUB, MPC_T_INT, L, ng, ms, MPC_NO_WIRE, 0, 0, 12, 1);
    uint32_t ad = mpc_circ_add_gate(c, MPC_G_ADD, MPC_T_INT, L, sb, d, MPC_NO_WIRE, 0, 0, 13, 1);
    uint32_t sm = mpc_circ_add_gate(c, MPC_G_SUM, MPC_T_INT, 1, ad, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0, 14, 1);
    uint32_t cc = mpc_circ_add_gate(c, MPC_G_CONCAT, MPC_T_INT, 2 * L, ad, m, MPC_NO_WIRE, 0, 0, 15, 1);
    uint32_t sl = mpc_circ_add_gate(c, MPC_G_SLICE, MPC_T_INT, L, cc, MPC_NO_WIRE, MPC_NO_WIRE, 1, 2, 16, 1);
    uint32_t m2 = mpc_circ_add_gate(c, MPC_G_MUL, MPC_T_INT, L, sl, sm, MPC_NO_WIRE, 0, 0, 17, 1);
    uint32_t q1 = mpc_circ_add_gate(c, MPC_G_MUL, MPC_T_INT, L, sl, sl, MPC_NO_WIRE, 0, 0, 17, 2);
    uint32_t q2 = mpc_circ_add_gate(c, MPC_G_MUL, MPC_T_INT, 1, dq, dq, MPC_NO_WIRE, 0, 0, 17, 3);
    uint32_t qc = mpc_circ_add_gate(c, MPC_G_CONCAT, MPC_T_INT, L + 1, q1, q2, MPC_NO_WIRE, 0, 0, 17, 4);
    uint32_t qs = mpc_circ_add_gate(c, MPC_G_CONCAT, MPC_T_INT, L + 1 + (L + 4) / 5, qc, ds, MPC_NO_WIRE, 0, 0, 17, 5);
    ck_assert_int_ge(mpc_circ_add_output(c, "all", m2, (1u << n) - 1, 18, 1), 0);
    ck_assert_int_ge(mpc_circ_add_output(c, "squares", qs, (1u << n) - 1, 18, 2), 0);
    ck_assert_int_ge(mpc_circ_add_output(c, "first", ad, 1u, 19, 1), 0);
    ck_assert_int_ge(mpc_circ_add_output(c, "last", sm, 1u << (n - 1), 20, 1), 0);
    ck_assert_int_ge(mpc_circ_add_output(c, "input", y, 1u, 21, 1), 0);
    char err[256];
    ck_assert_msg(mpc_circ_finish(c, err, sizeof err) == 0, "%s", err);
    return c;
}

START_TEST(test_all_gates_exact)
{
    for (uint32_t n = 2; n <= 3; n++) {
        uint64_t lens[2] = {1, 37};
        for (int li = 0; li < 2; li++) {
            mpc_circuit *c = s_all_gates(n, lens[li]);
            s_check_exact(c, n, 0);
            mpc_circ_destroy(&c);
        }
    }
}
END_TEST

/* A MAC check after every layer (check_every = 1): the check's messages and seed commitments
 * chain correctly over several checks in one job. */
START_TEST(test_checks_every_layer)
{
    for (uint32_t n = 2; n <= 3; n++) {
        mpc_circuit *c = s_all_gates(n, 11);
        uint64_t *vals[3];
        for (uint32_t k = 0; k < c->n_inputs; k++) vals[k] = s_randvec(c->inputs[k].len);
        s_job j = {.c = c, .n = n, .vals = (const uint64_t *const *)vals, .check_every = 1};
        s_run(&j);
        for (uint32_t p = 0; p < n; p++) {
            ck_assert_msg(j.rc[p] == 0, "%s", j.err[p]);
            ck_assert_uint_eq(j.st[p].checks, c->rounds + 1);   /* one per layer and the final one */
            ck_assert_uint_eq(j.st[p].rounds, c->rounds);
        }
        s_clear(&j);
        for (uint32_t k = 0; k < c->n_inputs; k++) free(vals[k]);
        mpc_circ_destroy(&c);
    }
}
END_TEST

/* NOISE: t = x + Z with Z = Σ of m = 64 random bits − 32, made by the parties together: every
 * element's Z is an integer in [−32, 32], 64·L bits were made, and over L = 256 elements the
 * mean and variance are those of Binomial(64, 1/2) − 32 (mean 0, variance 16) within wide
 * bounds (a mean beyond ±2 is 8 standard deviations out). */
START_TEST(test_noise)
{
    for (uint32_t n = 2; n <= 3; n++) {
        const uint64_t L = 256, m = 64;
        mpc_circuit *c = s_parties(n);
        uint32_t x = mpc_circ_add_input(c, "x", 0, MPC_T_INT, L, 1, 1);
        uint32_t nz = mpc_circ_add_gate(c, MPC_G_NOISE, MPC_T_INT, L, MPC_NO_WIRE, MPC_NO_WIRE, MPC_NO_WIRE, m, 1, 2, 3);
        uint32_t t = mpc_circ_add_gate(c, MPC_G_ADD, MPC_T_INT, L, x, nz, MPC_NO_WIRE, 0, 0, 3, 1);
        ck_assert_int_ge(mpc_circ_add_output(c, "t", t, 1u, 3, 1), 0);
        char err[256];
        ck_assert_msg(mpc_circ_finish(c, err, sizeof err) == 0, "%s", err);
        ck_assert_int_eq(mpc_mal_supported(c, err, sizeof err), 0);
        uint64_t *v = s_randvec(L);
        const uint64_t *vals[1] = {v};
        s_job j = {.c = c, .n = n, .vals = vals};
        s_run(&j);
        double sum = 0, sq = 0;
        for (uint32_t p = 0; p < n; p++) {
            ck_assert_msg(j.rc[p] == 0, "party %u: %s", (unsigned)p, j.err[p]);
            ck_assert_uint_eq(j.st[p].bits, L * m);
        }
        for (uint64_t k = 0; k < L; k++) {
            int64_t z = (int64_t)(j.out[0][0][k] - v[k]);
            ck_assert_msg(z >= -32 && z <= 32, "element %llu: noise %lld", (unsigned long long)k, (long long)z);
            sum += (double)z;
            sq += (double)z * (double)z;
        }
        double mean = sum / (double)L, var = sq / (double)L - mean * mean;
        ck_assert_msg(mean > -2 && mean < 2 && var > 8 && var < 32, "mean %g, variance %g", mean, var);
        s_clear(&j);
        free(v);
        mpc_circ_destroy(&c);
    }
}
END_TEST

/* Cancel and deadline, checked between rounds: a party whose job is cancelled after its first
 * layer stops before the next one and its peers hear of it (an ABORT); a deadline already past
 * stops every party before its inputs; nothing is released either way.  The progress
 * callback sees every layer and the triples consumed. */
START_TEST(test_cancel_deadline_progress)
{
    uint64_t L = 9;
    mpc_circuit *c = s_all_gates(2, L);
    ck_assert_uint_ge(c->rounds, 2);
    uint64_t *vals[3];
    for (uint32_t k = 0; k < c->n_inputs; k++) vals[k] = s_randvec(c->inputs[k].len);
    s_job j = {.c = c, .n = 2, .vals = (const uint64_t *const *)vals};
    s_run(&j);
    for (uint32_t p = 0; p < 2; p++) {
        ck_assert_msg(j.rc[p] == 0, "%s", j.err[p]);
        ck_assert_uint_eq(j.progress_calls[p], j.st[p].rounds);
        ck_assert_uint_eq(j.progress_triples[p], j.st[p].triples);
    }
    s_clear(&j);
    s_job jc = {.c = c, .n = 2, .vals = (const uint64_t *const *)vals, .cancel_party = 2, .cancel_after = 1};
    s_run(&jc);
    ck_assert_int_eq(jc.rc[1], MPC_ERR_CANCELLED);
    ck_assert_str_eq(jc.err[1], "cancelled before layer 1");
    ck_assert_int_ne(jc.rc[0], 0);
    for (uint32_t p = 0; p < 2; p++) ck_assert_int_eq(jc.released[p], 0);
    s_clear(&jc);
    s_job jd = {.c = c, .n = 2, .vals = (const uint64_t *const *)vals, .deadline_ms = 1};
    s_run(&jd);
    for (uint32_t p = 0; p < 2; p++) {
        ck_assert_int_eq(jd.rc[p], MPC_ERR_TIMEOUT);
        ck_assert_str_eq(jd.err[p], "the job's time ran out before the inputs");
        ck_assert_int_eq(jd.released[p], 0);
    }
    s_clear(&jd);
    for (uint32_t k = 0; k < c->n_inputs; k++) free(vals[k]);
    mpc_circ_destroy(&c);
}
END_TEST

START_TEST(test_missing_input_refused)
{
    mpc_circuit *c = s_all_gates(2, 3);
    uint8_t master[32];
    randombytes_buf(master, sizeof master);
    mpc_mem_hub *h = mpc_mem_hub_new(2, 1000);
    mpc_transport *t = mpc_mem_transport_new(h, 0), *t1 = mpc_mem_transport_new(h, 1);
    mpc_auth_src *s = mpc_auth_dealer_new(master, 0, 2);
    mpc_mal_opts o = {.stream = 5, .timeout_ms = 1000};
    mpc_mal_engine *e = mpc_mal_engine_new(c, 0, t, s, &o);
    ck_assert_ptr_nonnull(e);
    ck_assert_ptr_null(mpc_mal_engine_new(c, 1, t, s, &o));   /* transport of another party */
    const uint64_t *in[3] = {NULL, NULL, NULL};
    char err[256];
    ck_assert_int_eq(mpc_mal_run(e, in, err, sizeof err), MPC_ERR_INPUT);
    ck_assert_str_eq(err, "input x: no value given");
    ck_assert_int_eq(mpc_mal_run(e, in, err, sizeof err), MPC_ERR_STATE);
    ck_assert_ptr_null(mpc_mal_output(e, 0));
    mpc_mal_engine_destroy(&e);
    mpc_auth_src_destroy(&s);
    mpc_transport_destroy(&t);
    mpc_transport_destroy(&t1);
    mpc_mem_hub_destroy(&h);
    mpc_circ_destroy(&c);
}
END_TEST

/* ---- random bits (auth_bits.h) and TRUNC ---- */

typedef struct {
    uint32_t       n, p;
    uint64_t       N;
    uint8_t       *master;
    mpc_mem_hub   *hub;
    const s_fault *f;
    int            rc;
    char           err[256];
    mpc_u128      *bx, *bm, alpha;
} s_bits_arg;

/* Party p makes N bits with the dealer's material, then the MAC check. */
static void *s_bits_party(void *arg)
{
    s_bits_arg *a = arg;
    mpc_transport *t = mpc_mem_transport_new(a->hub, a->p);
    mpc_auth_src *src = mpc_auth_dealer_new(a->master, a->p, a->n);
    ck_assert(t && src);
    if (a->f && a->f->how != F_NONE && a->f->party == a->p) {
        if (a->f->how == F_SEND) t = s_cheat_transport(t, a->f);
        else src = s_cheat_src(src, a->f);
    }
    mpc_auth_key key;
    ck_assert_int_eq(mpc_auth_key_init(&key), 0);
    ck_assert_int_eq(mpc_auth_src_key(src, &key), 0);
    a->alpha = *key.alpha;
    mpc_mac_check *ck = mpc_mac_check_new(t, 9, 0, TIMEOUT);
    ck_assert_ptr_nonnull(ck);
    a->bx = calloc(a->N, sizeof *a->bx);
    a->bm = calloc(a->N, sizeof *a->bm);
    mpc_auth_bits_ctx cx = {t, src, ck, &key, 9, TIMEOUT, 0};
    mpc_auth_bits_stats st = {0};
    uint32_t peer;
    a->rc = mpc_mac_check_begin(ck, a->err, sizeof a->err);
    if (!a->rc) a->rc = mpc_auth_bits(&cx, 100, a->N, a->bx, a->bm, &st, a->err, sizeof a->err);
    if (!a->rc) a->rc = mpc_mac_check_run(ck, &key, &peer, a->err, sizeof a->err);
    if (!a->rc) {
        ck_assert_uint_eq(st.masks, (uint64_t)a->n * a->N);
        ck_assert_uint_eq(st.triples, (uint64_t)a->n * a->N);   /* n − 1 XORs and the check */
    }
    mpc_mac_check_free(&ck);
    mpc_auth_key_free(&key);
    mpc_auth_src_destroy(&src);
    mpc_transport_destroy(&t);
    return NULL;
}

static void s_bits_run(s_bits_arg *a, uint32_t n, uint64_t N, const s_fault *f)
{
    uint8_t master[32];
    randombytes_buf(master, sizeof master);
    mpc_mem_hub *hub = mpc_mem_hub_new(n, TIMEOUT);
    pthread_t th[MAXP];
    for (uint32_t p = 0; p < n; p++) {
        a[p] = (s_bits_arg){.n = n, .p = p, .N = N, .master = master, .hub = hub, .f = f};
        ck_assert_int_eq(pthread_create(&th[p], NULL, s_bits_party, &a[p]), 0);
    }
    for (uint32_t p = 0; p < n; p++) pthread_join(th[p], NULL);
    mpc_mem_hub_destroy(&hub);
}

/* Bits from 2, 3 and 4 parties: every one is 0 or 1 exactly (mod 2^128), its MAC is α times
 * it, about half are 1, and two runs differ.  A party that enters a non-bit (its δ off by an
 * odd or an even amount, the same to every peer) or sends one peer a different δ fails the
 * MAC check at every party. */
START_TEST(test_random_bits)
{
    const uint64_t N = 2000;
    for (uint32_t n = 2; n <= 4; n++) {
        s_bits_arg a[MAXP];
        s_bits_run(a, n, N, NULL);
        mpc_u128 alpha = 0;
        uint64_t ones = 0;
        for (uint32_t p = 0; p < n; p++) {
            ck_assert_msg(a[p].rc == 0, "n %u party %u: %s", (unsigned)n, (unsigned)p, a[p].err);
            alpha += a[p].alpha;
        }
        for (uint64_t k = 0; k < N; k++) {
            mpc_u128 b = 0, m = 0;
            for (uint32_t p = 0; p < n; p++) {
                b += a[p].bx[k];
                m += a[p].bm[k];
            }
            ck_assert_msg(b == 0 || b == 1, "n %u bit %llu", (unsigned)n, (unsigned long long)k);
            ck_assert(m == alpha * b);
            ones += (uint64_t)b;
        }
        ck_assert_msg(ones > N / 2 - 200 && ones < N / 2 + 200, "%llu ones of %llu", (unsigned long long)ones,
                      (unsigned long long)N);   /* 9 standard deviations */
        for (uint32_t p = 0; p < n; p++) {
            free(a[p].bx);
            free(a[p].bm);
        }
        /* cheating: party 1 enters bit 5 off by 2 (b = 2 or 3), by 2^63 (b(b − 1) ≡ 2^63 mod
         * 2^64: one random coefficient in two would miss it in a check mod 2^64) or by 2^64 (the
         * value mod 2^64 still a bit, only the slack wrong), consistently (its mask's value
         * offset: masks call 1 is owner 1's); or sends party 0 alone a δ off by 1 (word 10) */
        const uint64_t delta[4] = {2, 1ull << 63, 0, 1};
        for (int c = 0; c < 4; c++) {
            s_fault f = {.how = F_MASKVAL, .party = 1, .call = 1, .elem = 5, .delta = delta[c]};
            if (c == 2) f.delta128 = (mpc_u128)1 << 64;
            if (c == 3) f = (s_fault){.how = F_SEND, .party = 1, .type = MPC_MSG_OPEN, .seq = 100, .word = 10,
                                      .delta = 1, .peer_mask = 1u};
            s_bits_arg b2[MAXP];
            s_bits_run(b2, n, 64, &f);
            for (uint32_t p = 0; p < n; p++) {
                ck_assert_msg(b2[p].rc == MPC_ERR_CRYPTO, "case %d, n %u, party %u: rc %d (%s)", c, (unsigned)n,
                              (unsigned)p, b2[p].rc, b2[p].err);
                ck_assert_msg(strstr(b2[p].err, "MAC check failed") != NULL, "%s", b2[p].err);
                free(b2[p].bx);
                free(b2[p].bm);
            }
        }
    }
}
END_TEST

/* Runs c on n parties with the given inputs: every recipient's output o equals the plaintext
 * reference (floor for TRUNC), or the reference + 1 where up1 >> o & 1 (a rounded-up TRUNC). */
static void s_check_within(const mpc_circuit *c, uint32_t n, uint64_t *const *vals, uint32_t up1, s_job *out)
{
    uint64_t *ref[8] = {0};
    et_ref(c, (const uint64_t *const *)vals, ref);
    s_job j = {.c = c, .n = n, .vals = (const uint64_t *const *)vals};
    s_run(&j);
    for (uint32_t p = 0; p < n; p++) {
        ck_assert_msg(j.rc[p] == 0, "party %u: %s", (unsigned)p, j.err[p]);
        for (uint32_t o = 0; o < c->n_outputs && o < 8; o++) {
            int rec = c->outputs[o].recipients >> p & 1;
            ck_assert_int_eq(j.out[p][o] != NULL, rec);
            for (uint64_t k = 0; rec && k < c->outputs[o].len; k++) {
                uint64_t d = j.out[p][o][k] - ref[o][k];
                ck_assert_msg(d == 0 || (d == 1 && (up1 >> o & 1)), "%u parties, party %u, output %s[%llu]: %lld vs %lld",
                              (unsigned)n, (unsigned)p, c->outputs[o].name, (unsigned long long)k,
                              (long long)j.out[p][o][k], (long long)ref[o][k]);
            }
        }
    }
    for (int o = 0; o < 8; o++) free(ref[o]);
    if (out) *out = j;
    else s_clear(&j);
}

/* TRUNC(m, l) for several (m, l) in one layer, x uniform in |x| < 2^(l−1) with the extremes:
 * floor(x/2^m) or one more, 2 and 3 parties; the stats count the elements and l + 1 bits
 * each; about frac(x/2^m) of the results round up. */
START_TEST(test_trunc_exact)
{
    static const uint32_t ml[][2] = {{16, 63}, {16, 40}, {1, 2}, {62, 63}, {5, 10}, {1, 63}};
    const uint32_t S = sizeof ml / sizeof ml[0];
    const uint64_t L = 300;
    for (uint32_t n = 2; n <= 3; n++) {
        mpc_circuit *c = s_parties(n);
        uint64_t *vals[8], bits = 0;
        for (uint32_t s = 0; s < S; s++) {
            uint32_t m = ml[s][0], l = ml[s][1];
            char name[8];
            snprintf(name, sizeof name, "x%u", (unsigned)s);
            uint32_t x = mpc_circ_add_input(c, name, s % n, MPC_T_FIX, L, 1 + s, 1);
            uint32_t t = mpc_circ_add_gate(c, MPC_G_TRUNC, MPC_T_FIX, L, x, MPC_NO_WIRE, MPC_NO_WIRE, m, l, 10 + s, 1);
            snprintf(name, sizeof name, "t%u", (unsigned)s);
            ck_assert_int_ge(mpc_circ_add_output(c, name, t, s % 2 ? 1u : (1u << n) - 1, 20 + s, 1), 0);
            vals[s] = s_randvec(L);
            uint64_t lim = (1ull << (l - 1)) - 1;
            for (uint64_t k = 0; k < L; k++) {
                uint64_t mag = vals[s][k] % (lim + 1);
                vals[s][k] = (vals[s][k] >> 63) ? 0 - mag : mag;
            }
            vals[s][0] = lim;
            vals[s][1] = 0 - lim;
            vals[s][2] = 0;
            vals[s][3] = (uint64_t)-1;
            vals[s][4] = 1;
            bits += L * (l + 1);
        }
        char err[256];
        ck_assert_msg(mpc_circ_finish(c, err, sizeof err) == 0, "%s", err);
        s_job j;
        s_check_within(c, n, vals, (1u << S) - 1, &j);
        for (uint32_t p = 0; p < n; p++) {
            ck_assert_uint_eq(j.st[p].trunc, S * L);
            ck_assert_uint_eq(j.st[p].bits, bits);
            ck_assert_uint_eq(j.st[p].rounds, 1);
            ck_assert_uint_ge(j.st[p].checks, 2);   /* the bits' check before the opening, the final one */
        }
        s_clear(&j);
        for (uint32_t s = 0; s < S; s++) free(vals[s]);
        mpc_circ_destroy(&c);
    }
    /* rounding: x = q·2^8 + 64 rounds up with probability 1/4 (and −x with 3/4) */
    mpc_circuit *c = s_parties(2);
    const uint64_t N = 2000;
    uint32_t x = mpc_circ_add_input(c, "x", 1, MPC_T_FIX, N, 1, 1);
    uint32_t t = mpc_circ_add_gate(c, MPC_G_TRUNC, MPC_T_FIX, N, x, MPC_NO_WIRE, MPC_NO_WIRE, 8, 40, 2, 1);
    ck_assert_int_ge(mpc_circ_add_output(c, "t", t, 1u, 3, 1), 0);
    char err[256];
    ck_assert_msg(mpc_circ_finish(c, err, sizeof err) == 0, "%s", err);
    uint64_t *xv = malloc(N * 8);
    for (uint64_t k = 0; k < N; k++) {
        uint64_t v = ((et_rand64() % (1ull << 30)) << 8) + 64;
        xv[k] = (k & 1) ? 0 - v : v;
    }
    s_job j;
    s_check_within(c, 2, &xv, 1u, &j);
    uint64_t up[2] = {0, 0};
    for (uint64_t k = 0; k < N; k++) {
        uint64_t f = (k & 1) ? 0 - ((0 - xv[k]) >> 8) - 1 : xv[k] >> 8;   /* floor */
        up[k & 1] += j.out[0][0][k] != f;
    }
    /* 1000 each: 250 ± 13.7 and 750 ± 13.7; ±80 is almost 6 standard deviations */
    ck_assert_msg(up[0] > 170 && up[0] < 330, "positive: %llu of 1000 up", (unsigned long long)up[0]);
    ck_assert_msg(up[1] > 670 && up[1] < 830, "negative: %llu of 1000 up", (unsigned long long)up[1]);
    s_clear(&j);
    free(xv);
    mpc_circ_destroy(&c);
}
END_TEST

/* Fixed point: p = x·y (layer 0), TRUNC(p, 16) beside w = p·s (layer 1: a TRUNC and a MUL in
 * one opening), SELECT(s, t, x) (layer 2) with s ∈ {0, 1}: 2 and 3 parties. */
START_TEST(test_fixed_point_select)
{
    for (uint32_t n = 2; n <= 3; n++) {
        const uint64_t L = 50;
        mpc_circuit *c = s_parties(n);
        uint32_t x = mpc_circ_add_input(c, "x", 0, MPC_T_FIX, L, 1, 1);
        uint32_t y = mpc_circ_add_input(c, "y", n - 1, MPC_T_FIX, L, 2, 1);
        uint32_t s = mpc_circ_add_input(c, "s", 1, MPC_T_BOOL, L, 3, 1);
        uint32_t p = mpc_circ_add_gate(c, MPC_G_MUL, MPC_T_FIX, L, x, y, MPC_NO_WIRE, 0, 0, 4, 1);
        uint32_t t = mpc_circ_add_gate(c, MPC_G_TRUNC, MPC_T_FIX, L, p, MPC_NO_WIRE, MPC_NO_WIRE, 16, 63, 5, 1);
        uint32_t w = mpc_circ_add_gate(c, MPC_G_MUL, MPC_T_FIX, L, p, s, MPC_NO_WIRE, 0, 0, 6, 1);
        uint32_t sel = mpc_circ_add_gate(c, MPC_G_SELECT, MPC_T_FIX, L, s, t, x, 0, 0, 7, 1);
        ck_assert_int_ge(mpc_circ_add_output(c, "w", w, (1u << n) - 1, 8, 1), 0);
        ck_assert_int_ge(mpc_circ_add_output(c, "t", t, 1u, 8, 2), 0);
        ck_assert_int_ge(mpc_circ_add_output(c, "sel", sel, (1u << n) - 1, 8, 3), 0);
        char err[256];
        ck_assert_msg(mpc_circ_finish(c, err, sizeof err) == 0, "%s", err);
        ck_assert_uint_eq(c->gates[t].layer, c->gates[w].layer);
        uint64_t *vals[3] = {s_randvec(L), s_randvec(L), s_randvec(L)};
        for (uint64_t k = 0; k < L; k++) {
            vals[0][k] = (uint64_t)((int64_t)(vals[0][k] % (1ull << 31)) - (1ll << 30));   /* |x| < 2^14 in fix */
            vals[1][k] = (uint64_t)((int64_t)(vals[1][k] % (1ull << 31)) - (1ll << 30));
            vals[2][k] &= 1;
        }
        s_check_within(c, n, vals, 2u | 4u, NULL);
        for (int k = 0; k < 3; k++) free(vals[k]);
        mpc_circ_destroy(&c);
    }
}
END_TEST

/* LTZ and EQZ, 2 and 3 parties: exact against the plaintext over the whole range (0, ±1,
 * INT64_MIN, INT64_MAX, random), also of a product (whose 128-bit value has slack in its upper
 * half) and of differences that are 0, and a product of two comparison results; with 2
 * parties more than MPC_AUTH_CMP_PIECE elements of a kind (two pieces). */
START_TEST(test_compare_exact)
{
    for (uint32_t n = 2; n <= 3; n++) {
        const uint64_t L = n == 2 ? MPC_AUTH_CMP_PIECE / 2 + 77 : 200;
        mpc_circuit *c = s_parties(n);
        uint32_t x = mpc_circ_add_input(c, "x", 0, MPC_T_INT, L, 1, 1);
        uint32_t y = mpc_circ_add_input(c, "y", n - 1, MPC_T_INT, L, 2, 1);
        uint32_t p = mpc_circ_add_gate(c, MPC_G_MUL, MPC_T_INT, L, x, y, MPC_NO_WIRE, 0, 0, 3, 1);
        uint32_t d = mpc_circ_add_gate(c, MPC_G_SUB, MPC_T_INT, L, x, y, MPC_NO_WIRE, 0, 0, 4, 1);
        uint32_t lx = mpc_circ_add_gate(c, MPC_G_LTZ, MPC_T_BOOL, L, x, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0, 5, 1);
        uint32_t ed = mpc_circ_add_gate(c, MPC_G_EQZ, MPC_T_BOOL, L, d, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0, 6, 1);
        uint32_t lp = mpc_circ_add_gate(c, MPC_G_LTZ, MPC_T_BOOL, L, p, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0, 7, 1);
        uint32_t ep = mpc_circ_add_gate(c, MPC_G_EQZ, MPC_T_BOOL, L, p, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0, 8, 1);
        uint32_t m = mpc_circ_add_gate(c, MPC_G_MUL, MPC_T_INT, L, lp, ed, MPC_NO_WIRE, 0, 0, 9, 1);
        ck_assert_int_ge(mpc_circ_add_output(c, "lx", lx, (1u << n) - 1, 10, 1), 0);
        ck_assert_int_ge(mpc_circ_add_output(c, "ed", ed, (1u << n) - 1, 10, 2), 0);
        ck_assert_int_ge(mpc_circ_add_output(c, "lp", lp, 1u << (n - 1), 10, 3), 0);
        ck_assert_int_ge(mpc_circ_add_output(c, "ep", ep, (1u << n) - 1, 10, 4), 0);
        ck_assert_int_ge(mpc_circ_add_output(c, "m", m, 1u, 10, 5), 0);
        char err[256];
        ck_assert_msg(mpc_circ_finish(c, err, sizeof err) == 0, "%s", err);
        uint64_t *vals[2] = {s_randvec(L), s_randvec(L)};
        const uint64_t sp[] = {0, 1, (uint64_t)-1, 1ull << 63, (1ull << 63) - 1, 2, (uint64_t)-2, 1ull << 62};
        for (uint64_t k = 0; k < 8; k++) vals[0][k] = sp[k];
        for (uint64_t k = 8; k < L; k += 3) vals[1][k] = vals[0][k];   /* x − y = 0 */
        vals[1][0] = 5;                                               /* x·y = 0 */
        vals[1][9] = 0;
        for (uint64_t k = 20; k < 40; k++) vals[0][k] >>= 40;         /* small values */
        s_job j;
        s_check_within(c, n, vals, 0, &j);
        uint64_t ones[2] = {0, 0};
        for (uint64_t k = 0; k < L; k++) {
            ones[0] += j.out[0][0][k];
            ones[1] += j.out[0][1][k];
        }
        ck_assert_uint_gt(ones[0], L / 4);   /* both answers occur */
        ck_assert_uint_gt(ones[1], L / 4);
        for (uint32_t q = 0; q < n; q++) {
            ck_assert_uint_eq(j.st[q].comparisons, 4 * L);
            ck_assert_uint_eq(j.st[q].bits, 4 * 64 * L);
        }
        s_clear(&j);
        free(vals[0]);
        free(vals[1]);
        mpc_circ_destroy(&c);
    }
}
END_TEST

/* ---- the cheating matrix ----
 * Circuit: u = a·b (MUL; a from party 0, b from party n−1), v = dot(c, d) (DOT; c from party
 * 0, d from party n−1), w = e + f (inputs only; e from party 1, the cheater, f from party 0).
 * Outputs: u to party 0, v to everybody, w to party n−1.  Masks calls, in every party's order:
 * inputs a b c d e f = 0..5, then u→0 = 6, v→0..n−1 = 7..6+n, w→n−1 = 7+n.  Layer 0 opens
 * [u: d(4) e(4)][v: d(4) e(4)], 128-bit words; the output opening is
 * [u→0 (4)][v→0 .. v→n−1 (1 each)][w→n−1 (4)]. */
static mpc_circuit *s_matrix_circuit(uint32_t n)
{
    mpc_circuit *c = s_parties(n);
    uint32_t a = mpc_circ_add_input(c, "a", 0, MPC_T_INT, 4, 1, 1);
    uint32_t b = mpc_circ_add_input(c, "b", n - 1, MPC_T_INT, 4, 1, 2);
    uint32_t cc = mpc_circ_add_input(c, "c", 0, MPC_T_INT, 4, 1, 3);
    uint32_t d = mpc_circ_add_input(c, "d", n - 1, MPC_T_INT, 4, 1, 4);
    uint32_t e = mpc_circ_add_input(c, "e", 1, MPC_T_INT, 4, 1, 5);
    uint32_t f = mpc_circ_add_input(c, "f", 0, MPC_T_INT, 4, 1, 6);
    uint32_t u = mpc_circ_add_gate(c, MPC_G_MUL, MPC_T_INT, 4, a, b, MPC_NO_WIRE, 0, 0, 2, 1);
    uint32_t v = mpc_circ_add_gate(c, MPC_G_DOT, MPC_T_INT, 1, cc, d, MPC_NO_WIRE, 0, 0, 3, 1);
    uint32_t w = mpc_circ_add_gate(c, MPC_G_ADD, MPC_T_INT, 4, e, f, MPC_NO_WIRE, 0, 0, 4, 1);
    ck_assert_int_ge(mpc_circ_add_output(c, "u", u, 1u, 5, 1), 0);
    ck_assert_int_ge(mpc_circ_add_output(c, "v", v, (1u << n) - 1, 5, 2), 0);
    ck_assert_int_ge(mpc_circ_add_output(c, "w", w, 1u << (n - 1), 5, 3), 0);
    char err[256];
    ck_assert_msg(mpc_circ_finish(c, err, sizeof err) == 0, "%s", err);
    return c;
}

/* The TRUNC column's circuit: t = TRUNC(x, 16, 63) of x (4 elements from party 0), to
 * everybody.  Masks calls: x = 0, then layer 0's random values R (owners 0..n−1 = 1..n) and
 * bits (owners 0..n−1 = n+1..2n), then the outputs; the first triples call is the bits' XOR;
 * layer 0 opens y of the 4 elements (words 0..7); the bits' δ are OPEN seq 2^63, 16 bytes
 * per bit.  The LTZ column's circuit is the same with t = LTZ(x): its y is opened in OPEN
 * message 2^62 | (the bits' rounds), after the bits. */
static mpc_circuit *s_trunc_matrix_circuit(uint32_t n, uint8_t kind)
{
    mpc_circuit *c = s_parties(n);
    uint32_t x = mpc_circ_add_input(c, "x", 0, MPC_T_FIX, 4, 1, 1);
    uint32_t t = kind == MPC_G_TRUNC
                     ? mpc_circ_add_gate(c, MPC_G_TRUNC, MPC_T_FIX, 4, x, MPC_NO_WIRE, MPC_NO_WIRE, 16, 63, 2, 1)
                     : mpc_circ_add_gate(c, kind, MPC_T_BOOL, 4, x, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0, 2, 1);
    ck_assert_int_ge(mpc_circ_add_output(c, "t", t, (1u << n) - 1, 3, 1), 0);
    char err[256];
    ck_assert_msg(mpc_circ_finish(c, err, sizeof err) == 0, "%s", err);
    return c;
}

#define S_KINDS  5
#define S_STAGES 6
static const char *const s_kinds[S_KINDS] = {"opening", "triple share", "input mask", "output share", "bit input"};
static const char *const s_stages[S_STAGES] = {"MUL", "DOT", "input", "output", "TRUNC", "LTZ"};

/* The fault of (kind, stage) for n parties; the cheater is party 1.  Each names what the
 * cheater perturbs (docs/security.md, "Malicious security (SPDZ2k)", has the table). */
static s_fault s_matrix_fault(int kind, int stage, uint32_t n)
{
    s_fault f = {.party = 1, .delta = 1 + (et_rand64() >> 1), .peer_mask = UINT32_MAX};
    if (stage >= 4) {
        switch (kind) {   /* the TRUNC and LTZ columns (s_trunc_matrix_circuit) */
        case 0:   /* y of element 1 */
            f.how = F_SEND, f.type = MPC_MSG_OPEN, f.word = 2;
            f.seq = stage == 4 ? 0 : (1ull << 62) | mpc_auth_bits_rounds(n);
            break;
        case 1: f.how = F_TRIPLE, f.field = T_FIELD_C, f.elem = 1; break;              /* c of an XOR's triple */
        case 2: f.how = F_MASK, f.call = n + 1, f.elem = 3; break;                     /* a wrong bit share */
        case 3: f.how = F_SEND, f.type = MPC_MSG_OUTPUT, f.seq = 0, f.word = 2; break; /* t→0, element 1 */
        case 4: f.how = F_MASKVAL, f.call = n + 2, f.elem = 7; break;   /* its input bit 7 a non-bit, consistently */
        }
        return f;
    }
    if (kind == 4) return f;   /* F_NONE: n/a */
    switch (kind * 4 + stage) {
    /* opening: a word the cheater sends */
    case 0: f.how = F_SEND; f.type = MPC_MSG_OPEN; f.seq = 0; f.word = 0; break;      /* u's d[0] */
    case 1: f.how = F_SEND; f.type = MPC_MSG_OPEN; f.seq = 0; f.word = 24; break;     /* v's e[0] */
    case 2: f.how = F_SEND; f.type = MPC_MSG_INPUT; f.seq = 4; f.word = 2; f.peer_mask = 1; break;  /* e's δ, to party 0 only */
    case 3: f.how = F_SEND; f.type = MPC_MSG_OUTPUT; f.seq = 0; f.word = 8; f.peer_mask = 1; break; /* v→0, to party 0 only */
    /* triple share: its share of preprocessed material, value or MAC */
    case 4: f.how = F_TRIPLE; f.field = T_FIELD_C; f.elem = 1; break;                 /* u's triple c */
    case 5: f.how = F_TRIPLE; f.field = T_FIELD_A; f.elem = 6; break;                 /* v's triple a */
    case 6: f.how = F_MASK; f.mac = 1; f.call = 4; f.elem = 2; break;                 /* e's mask, MAC share */
    case 7: f.how = F_MASK; f.mac = 1; f.call = 7; f.elem = 0; break;                 /* v→0's mask, MAC share */
    /* input mask: its value share of a mask */
    case 8: f.how = F_MASK; f.call = 0; f.elem = 3; break;                            /* a (into MUL) */
    case 9: f.how = F_MASK; f.call = 3; f.elem = 0; break;                            /* d (into DOT) */
    case 10: f.how = F_MASK; f.call = 4; f.elem = 1; break;                           /* e (its own input) */
    case 11: f.how = F_MASK; f.call = 7 + n; f.elem = 0; break;                       /* w→n−1's output mask */
    /* output share: what it sends in the output opening, to everybody */
    case 12: f.how = F_SEND; f.type = MPC_MSG_OUTPUT; f.seq = 0; f.word = 2; break;    /* u's element 1 */
    case 13: f.how = F_SEND; f.type = MPC_MSG_OUTPUT; f.seq = 0; f.word = 8 + 2 * (n - 1); break; /* v→n−1 */
    case 14: f.how = F_SEND; f.type = MPC_MSG_OUTPUT; f.seq = 0; f.word = 2 * (4 + n); break;     /* w's element 0 */
    case 15: f.how = F_SEND; f.type = MPC_MSG_OUTPUT; f.seq = 0; f.word = 9; break;    /* v→0, upper (slack) word */
    }
    return f;
}

START_TEST(test_cheating_matrix)
{
    char table[S_KINDS][S_STAGES][32];
    memset(table, 0, sizeof table);
    for (uint32_t n = 2; n <= 3; n++) {
        mpc_circuit *c = s_matrix_circuit(n), *ct = s_trunc_matrix_circuit(n, MPC_G_TRUNC);
        mpc_circuit *cl = s_trunc_matrix_circuit(n, MPC_G_LTZ);
        /* the honest run first: the circuit works (TRUNC and LTZ: test_trunc_exact, test_compare_exact) */
        s_check_exact(c, n, 0);
        for (int kind = 0; kind < S_KINDS; kind++)
            for (int stage = 0; stage < S_STAGES; stage++) {
                s_fault f = s_matrix_fault(kind, stage, n);
                if (f.how == F_NONE) {
                    snprintf(table[kind][stage], sizeof table[0][0], "n/a");
                    continue;
                }
                uint64_t *vals[6];
                for (uint32_t k = 0; k < 6; k++) vals[k] = s_randvec(4);
                for (uint32_t k = 0; k < 4; k++) vals[0][k] >>= 2;   /* |x| < 2^62 for the TRUNC */
                s_job j = {.c = stage == 5 ? cl : stage == 4 ? ct : c, .n = n, .vals = (const uint64_t *const *)vals,
                           .f = &f};
                s_run(&j);
                int aborted = 0;
                for (uint32_t p = 0; p < n; p++) {
                    ck_assert_msg(j.rc[p] == MPC_ERR_CRYPTO, "%s × %s, %u parties: party %u: rc %d (%s)",
                                  s_kinds[kind], s_stages[stage], (unsigned)n, (unsigned)p, j.rc[p], j.err[p]);
                    ck_assert_msg(strstr(j.err[p], "MAC check failed") != NULL, "%s", j.err[p]);
                    ck_assert_int_eq(j.released[p], 0);
                    aborted += p != f.party;
                }
                char *cell = table[kind][stage];
                if (n == 2) snprintf(cell, sizeof table[0][0], "2p: %d/%d", aborted, (int)n - 1);
                else snprintf(cell + strlen(cell), sizeof table[0][0] - strlen(cell), ", 3p: %d/%d", aborted, (int)n - 1);
                s_clear(&j);
                for (uint32_t k = 0; k < 6; k++) free(vals[k]);
            }
        mpc_circ_destroy(&c);
        mpc_circ_destroy(&ct);
        mpc_circ_destroy(&cl);
    }
    printf("cheating matrix: honest parties aborting with \"MAC check failed\", no output released\n");
    printf("%-14s", "fault \\ stage");
    for (int s = 0; s < S_STAGES; s++) printf(" | %-16s", s_stages[s]);
    printf("\n");
    for (int k = 0; k < S_KINDS; k++) {
        printf("%-14s", s_kinds[k]);
        for (int s = 0; s < S_STAGES; s++) printf(" | %-16s", table[k][s]);
        printf("\n");
    }
}
END_TEST

/* The worst case of a lie in an opening's low 64 bits: party 1 adds exactly 2^63 to the low
 * word of its share of d[0] of the MUL (then of e[0] of the DOT), nothing else, in 8 runs
 * each with 2 and with 3 parties; every run must end with "MAC check failed" at every party
 * and no output.  A check that binds the opened values only mod 2^64 — a random combination
 * with χ ∈ Z_2^64 whose part above bit 64 a party may still choose after seeing χ, as a
 * "low 64 bits only" opening would allow (docs/security.md, "Why openings stay 128 bits") —
 * passes such a lie whenever the χ of the word is even, in about half of these runs. */
START_TEST(test_top_bit_lie)
{
    const uint64_t words[2] = {0, 24};   /* u's d[0], v's e[0] (s_matrix_fault) */
    for (uint32_t n = 2; n <= 3; n++) {
        mpc_circuit *c = s_matrix_circuit(n);
        for (int w = 0; w < 2; w++)
            for (int rep = 0; rep < 8; rep++) {
                s_fault f = {.how = F_SEND, .party = 1, .type = MPC_MSG_OPEN, .seq = 0, .word = words[w],
                             .peer_mask = UINT32_MAX, .delta = 1ull << 63};
                uint64_t *vals[6];
                for (uint32_t k = 0; k < 6; k++) vals[k] = s_randvec(4);
                s_job j = {.c = c, .n = n, .vals = (const uint64_t *const *)vals, .f = &f};
                s_run(&j);
                for (uint32_t p = 0; p < n; p++) {
                    ck_assert_msg(j.rc[p] == MPC_ERR_CRYPTO, "word %llu, run %d, %u parties: party %u: rc %d (%s)",
                                  (unsigned long long)words[w], rep, (unsigned)n, (unsigned)p, j.rc[p], j.err[p]);
                    ck_assert_msg(strstr(j.err[p], "MAC check failed") != NULL, "%s", j.err[p]);
                    ck_assert_int_eq(j.released[p], 0);
                }
                s_clear(&j);
                for (uint32_t k = 0; k < 6; k++) free(vals[k]);
            }
        mpc_circ_destroy(&c);
    }
}
END_TEST

/* A layer larger than the window of slices (engine_mal.c S_SLICE = 2^16 elements per OPEN
 * message, 8 ahead): a MUL of 300,000 elements opens 600,000 values in 10 slices, seq
 * 0 | s << 32.  Exact against the plaintext reference with 2 and 3 parties; a random error
 * in a word of the last slice, from party 1 to everybody, fails the MAC check everywhere. */
START_TEST(test_sliced_layer)
{
    const uint64_t L = 300000;
    for (uint32_t n = 2; n <= 3; n++) {
        mpc_circuit *c = s_parties(n);
        uint32_t a = mpc_circ_add_input(c, "a", 0, MPC_T_INT, L, 1, 1);
        uint32_t b = mpc_circ_add_input(c, "b", n - 1, MPC_T_INT, L, 1, 2);
        uint32_t u = mpc_circ_add_gate(c, MPC_G_MUL, MPC_T_INT, L, a, b, MPC_NO_WIRE, 0, 0, 2, 1);
        ck_assert_int_ge(mpc_circ_add_output(c, "u", u, (1u << n) - 1, 3, 1), 0);
        char err[256];
        ck_assert_msg(mpc_circ_finish(c, err, sizeof err) == 0, "%s", err);
        s_check_exact(c, n, 0);
        s_fault f = {.how = F_SEND, .party = 1, .type = MPC_MSG_OPEN, .seq = 9ull << 32, .word = 2 * 1234 + 1,
                     .peer_mask = UINT32_MAX, .delta = 1 + (et_rand64() >> 1)};
        uint64_t *vals[2] = {s_randvec(L), s_randvec(L)};
        s_job j = {.c = c, .n = n, .vals = (const uint64_t *const *)vals, .f = &f};
        s_run(&j);
        for (uint32_t p = 0; p < n; p++) {
            ck_assert_msg(j.rc[p] == MPC_ERR_CRYPTO, "%u parties: party %u: rc %d (%s)", (unsigned)n, (unsigned)p,
                          j.rc[p], j.err[p]);
            ck_assert_msg(strstr(j.err[p], "MAC check failed") != NULL, "%s", j.err[p]);
            ck_assert_int_eq(j.released[p], 0);
        }
        s_clear(&j);
        free(vals[0]);
        free(vals[1]);
        mpc_circ_destroy(&c);
    }
}
END_TEST

/* The client's view of checked output o of run j: every party's record, verified (vcheck.h). */
static int s_verify_out(const s_job *j, uint32_t o, uint64_t *v, int *why)
{
    const uint8_t *recs[MAXP];
    for (uint32_t p = 0; p < j->n; p++) recs[p] = j->chk[p][o];
    uint32_t who;
    return mpc_vcheck_verify(recs, j->n, j->c->outputs[o].len, v, why, &who);
}

/* Checked outputs (opts.checked_outputs; engine_mal.h, docs/security.md "The vector check"):
 * nothing is opened to a party; each party hands out a record per output, and the records of
 * all parties verify to the plaintext result.  Material: no triple and n·D masks (the pads)
 * per output, against the ordinary run of the same circuit, whose outputs take one mask per
 * element and recipient.  A record changed after the run (a share, z) is refused; a wrong
 * opening of z, or a wrong share of a pad (its MAC share of another party's mask, or its value
 * share of its own), fails the MAC check and releases nothing. */
START_TEST(test_checked_outputs)
{
    for (uint32_t n = 2; n <= 3; n++) {
        mpc_circuit *c = s_all_gates(n, 9);
        uint64_t *vals[3];
        for (uint32_t k = 0; k < c->n_inputs; k++) vals[k] = s_randvec(c->inputs[k].len);
        uint64_t *ref[8] = {0};
        et_ref(c, (const uint64_t *const *)vals, ref);
        uint64_t opened_masks = 0;   /* the ordinary run's output masks */
        for (uint32_t o = 0; o < c->n_outputs; o++)
            opened_masks += c->outputs[o].len * (uint64_t)__builtin_popcount(c->outputs[o].recipients);
        s_job j0 = {.c = c, .n = n, .vals = (const uint64_t *const *)vals};
        s_run(&j0);
        ck_assert_msg(j0.rc[0] == 0, "%s", j0.err[0]);
        const uint64_t gate_triples = j0.st[0].triples, other_masks = j0.st[0].masks - opened_masks;
        const uint64_t P = (uint64_t)MPC_VCHECK_D * c->n_outputs;   /* pads */
        s_clear(&j0);
        uint8_t first_nonce[32];
        for (int run = 0; run < 2; run++) {
            s_job j = {.c = c, .n = n, .vals = (const uint64_t *const *)vals, .checked = 1};
            s_run(&j);
            for (uint32_t p = 0; p < n; p++) {
                ck_assert_msg(j.rc[p] == 0, "party %u: %s", (unsigned)p, j.err[p]);
                ck_assert_int_eq(j.released[p], (int)c->n_outputs);
                for (uint32_t o = 0; o < c->n_outputs; o++) ck_assert_ptr_null(j.out[p][o]);
                ck_assert_uint_eq(j.st[p].triples, gate_triples);
                ck_assert_uint_eq(j.st[p].masks, other_masks + n * P);
                ck_assert_uint_eq(j.progress_triples[p], j.st[p].triples);
            }
            for (uint32_t o = 0; o < c->n_outputs; o++) {
                uint64_t L = c->outputs[o].len, v[64];
                int why;
                ck_assert_int_eq(s_verify_out(&j, o, v, &why), 0);
                ck_assert_mem_eq(v, ref[o], (size_t)L * 8);
            }
            const uint8_t *nonce = j.chk[0][0] + mpc_vcheck_off_nonce(c->outputs[0].len);
            if (run == 0) memcpy(first_nonce, nonce, 32);
            else ck_assert(memcmp(first_nonce, nonce, 32) != 0);   /* fresh */
            /* a record changed after the run: party 1's first share, then its copy of z */
            uint64_t L = c->outputs[0].len, v[64];
            int why;
            j.chk[1][0][0] ^= 1;
            ck_assert_int_eq(s_verify_out(&j, 0, v, &why), MPC_ERR_CRYPTO);
            ck_assert_int_eq(why, 2);
            j.chk[1][0][0] ^= 1;
            j.chk[1][0][mpc_vcheck_off_z(L)] ^= 1;
            ck_assert_int_eq(s_verify_out(&j, 0, v, &why), MPC_ERR_CRYPTO);
            ck_assert_int_eq(why, 1);
            s_clear(&j);
        }
        /* party 1 sends party 0 a wrong share of z (seq 16 + 3: the outputs' check), or a wrong
         * share of a pad (masks calls: the inputs x, y, s = 0..2, then the pads' owners 0..n−1
         * = 3..n+2): its MAC share of owner 0's mask, its value share of its own */
        s_fault f = {.how = F_SEND, .party = 1, .type = MPC_MSG_OUTPUT, .seq = 19, .word = 0, .peer_mask = 1u,
                     .delta = 1};
        s_fault fs[3] = {f, {.how = F_MASK, .party = 1, .mac = 1, .call = 3, .elem = 5, .delta = 1},
                         {.how = F_MASK, .party = 1, .mac = 0, .call = 4, .elem = P - 1, .delta = 1}};
        for (int i = 0; i < 3; i++) {
            s_job j = {.c = c, .n = n, .vals = (const uint64_t *const *)vals, .checked = 1, .f = &fs[i]};
            s_run(&j);
            for (uint32_t p = 0; p < n; p++) {
                ck_assert_msg(j.rc[p] == MPC_ERR_CRYPTO, "fault %d, party %u: rc %d (%s)", i, (unsigned)p, j.rc[p],
                              j.err[p]);
                ck_assert_msg(strstr(j.err[p], "MAC check failed") != NULL, "%s", j.err[p]);
                ck_assert_int_eq(j.released[p], 0);
            }
            s_clear(&j);
        }
        for (uint32_t k = 0; k < c->n_inputs; k++) free(vals[k]);
        for (int o = 0; o < 8; o++) free(ref[o]);
        mpc_circ_destroy(&c);
    }
}
END_TEST

/* open_from (the release rules' pass bits, mpcd/mal_job.c): outputs below it are checked
 * outputs, those from it on are opened to their recipients first (with their own MAC check);
 * then opts.release is called once (it sees the opened outputs of its party) and withholds the
 * even elements of output 0: they have zero shares in every record and still verify, to 0; the
 * rest is exact.  A wrong share of the parties' opening (MPC_MSG_OUTPUT seq 1) fails the run
 * everywhere, nothing released. */
START_TEST(test_checked_and_open_outputs)
{
    for (uint32_t n = 2; n <= 3; n++) {
        mpc_circuit *c = s_all_gates(n, 7);
        uint64_t *vals[3];
        for (uint32_t k = 0; k < c->n_inputs; k++) vals[k] = s_randvec(c->inputs[k].len);
        uint64_t *ref[8] = {0};
        et_ref(c, (const uint64_t *const *)vals, ref);
        const uint32_t from = 2;
        ck_assert_uint_gt(c->n_outputs, from);
        s_job j = {.c = c, .n = n, .vals = (const uint64_t *const *)vals, .checked = 1, .open_from = from,
                   .withhold = 1};
        s_run(&j);
        for (uint32_t p = 0; p < n; p++) {
            ck_assert_msg(j.rc[p] == 0, "party %u: %s", (unsigned)p, j.err[p]);
            uint32_t sees = 0;   /* outputs from `from` on that party p receives */
            for (uint32_t o = from; o < c->n_outputs; o++) sees += c->outputs[o].recipients >> p & 1;
            ck_assert_uint_eq(j.release_calls[p], 1);
            ck_assert_uint_eq(j.release_saw[p], sees);
            for (uint32_t o = 0; o < c->n_outputs; o++) {
                int mine = o >= from && (c->outputs[o].recipients >> p & 1);
                ck_assert(o < from ? j.chk[p][o] != NULL : j.chk[p][o] == NULL);
                ck_assert(mine ? j.out[p][o] != NULL : j.out[p][o] == NULL);
                if (mine) ck_assert_mem_eq(j.out[p][o], ref[o], (size_t)c->outputs[o].len * 8);
            }
        }
        for (uint32_t o = 0; o < from; o++) {
            uint64_t v[64];
            int why;
            ck_assert_int_eq(s_verify_out(&j, o, v, &why), 0);
            for (uint64_t i = 0; i < c->outputs[o].len; i++) {
                int wh = o == 0 && i % 2 == 0;
                ck_assert_uint_eq(v[i], wh ? 0 : ref[o][i]);
                for (uint32_t p = 0; p < n && wh; p++)
                    for (int b = 0; b < 8; b++) ck_assert_uint_eq(j.chk[p][o][8 * i + b], 0);
            }
        }
        s_clear(&j);
        s_fault f = {.how = F_SEND, .party = 1, .type = MPC_MSG_OUTPUT, .seq = 1, .word = 0, .peer_mask = 1u,
                     .delta = 1};
        s_job jf = {.c = c, .n = n, .vals = (const uint64_t *const *)vals, .checked = 1, .open_from = from, .f = &f};
        s_run(&jf);
        for (uint32_t p = 0; p < n; p++) {
            ck_assert_msg(jf.rc[p] == MPC_ERR_CRYPTO, "party %u: rc %d (%s)", (unsigned)p, jf.rc[p], jf.err[p]);
            ck_assert_int_eq(jf.released[p], 0);
        }
        s_clear(&jf);
        for (uint32_t k = 0; k < c->n_inputs; k++) free(vals[k]);
        for (int o = 0; o < 8; o++) free(ref[o]);
        mpc_circ_destroy(&c);
    }
}
END_TEST

/* opts.client_input: every input from a client, through the vector check.  The client verifies
 * each input's records and sends δ = x − r; the outputs (checked) are exact; material: n masks
 * per input element and n·D per input and per output, no triple beyond the gates'.  A party
 * that hands out a changed record makes the client refuse (the run fails, nothing given); a
 * client that gives party 0 another δ makes the MAC check fail everywhere. */
START_TEST(test_client_inputs)
{
    for (uint32_t n = 2; n <= 3; n++) {
        mpc_circuit *c = s_all_gates(n, 9);
        uint64_t *vals[3], W = 0;
        for (uint32_t k = 0; k < c->n_inputs; k++) {
            vals[k] = s_randvec(c->inputs[k].len);
            W += c->inputs[k].len;
        }
        uint64_t *ref[8] = {0};
        et_ref(c, (const uint64_t *const *)vals, ref);
        uint64_t opened_masks = 0;
        for (uint32_t o = 0; o < c->n_outputs; o++)
            opened_masks += c->outputs[o].len * (uint64_t)__builtin_popcount(c->outputs[o].recipients);
        s_job j0 = {.c = c, .n = n, .vals = (const uint64_t *const *)vals};
        s_run(&j0);
        ck_assert_msg(j0.rc[0] == 0, "%s", j0.err[0]);
        const uint64_t gate_triples = j0.st[0].triples, other_masks = j0.st[0].masks - opened_masks - W;
        s_clear(&j0);
        for (int mode = 0; mode < 3; mode++) {   /* honest, a tampered record, a skewed δ */
            s_client cl;
            s_client_init(&cl);
            cl.tamper = mode == 1 ? 2 : 0;
            cl.skew = mode == 2;
            s_job j = {.c = c, .n = n, .vals = (const uint64_t *const *)vals, .checked = 1, .client = &cl};
            s_run(&j);
            for (uint32_t p = 0; p < n; p++) {
                if (mode == 0) {
                    ck_assert_msg(j.rc[p] == 0, "party %u: %s", (unsigned)p, j.err[p]);
                    ck_assert_uint_eq(j.st[p].triples, gate_triples);
                    ck_assert_uint_eq(j.st[p].masks,
                                      other_masks + n * W + (uint64_t)n * MPC_VCHECK_D * (c->n_inputs + c->n_outputs));
                } else {
                    ck_assert_msg(j.rc[p] == (mode == 1 ? MPC_ERR_INPUT : MPC_ERR_CRYPTO), "mode %d party %u: %d %s",
                                  mode, (unsigned)p, j.rc[p], j.err[p]);
                    ck_assert_int_eq(j.released[p], 0);
                }
            }
            if (mode == 1) ck_assert_int_eq(cl.why, 2);
            if (mode == 2) ck_assert_msg(strstr(j.err[1], "MAC check failed") != NULL, "%s", j.err[1]);
            for (uint32_t o = 0; mode == 0 && o < c->n_outputs; o++) {
                uint64_t v[64];
                int why;
                ck_assert_int_eq(s_verify_out(&j, o, v, &why), 0);
                ck_assert_mem_eq(v, ref[o], (size_t)c->outputs[o].len * 8);
            }
            s_clear(&j);
            s_client_free(&cl);
        }
        for (uint32_t k = 0; k < c->n_inputs; k++) free(vals[k]);
        for (int o = 0; o < 8; o++) free(ref[o]);
        mpc_circ_destroy(&c);
    }
}
END_TEST

/* The check's own messages: party 1 sends party 0 a different seed contribution (seq 1) or a
 * different σ (seq 3) than the others.  Party 0 finds the commitment broken; with 3 parties
 * party 2's own sum may well be zero, and it fails through the verdict round (party 0's
 * verdict, the hashes of the check messages). */
START_TEST(test_check_messages_tampered)
{
    const uint64_t seqs[2] = {1, 3};
    for (uint32_t n = 2; n <= 3; n++)
        for (int i = 0; i < 2; i++) {
            mpc_circuit *c = s_matrix_circuit(n);
            uint64_t *vals[6];
            for (uint32_t k = 0; k < 6; k++) vals[k] = s_randvec(4);
            s_fault f = {.how = F_SEND, .party = 1, .type = MPC_MSG_CONTROL, .seq = seqs[i], .word = 0,
                         .peer_mask = 1, .delta = 1};
            s_job j = {.c = c, .n = n, .vals = (const uint64_t *const *)vals, .f = &f};
            s_run(&j);
            for (uint32_t p = 0; p < n; p++) {
                ck_assert_msg(j.rc[p] == MPC_ERR_CRYPTO, "n %u seq %llu party %u: %s", (unsigned)n,
                              (unsigned long long)seqs[i], (unsigned)p, j.err[p]);
                ck_assert_msg(strstr(j.err[p], "MAC check failed") != NULL, "%s", j.err[p]);
                ck_assert_int_eq(j.released[p], 0);
            }
            ck_assert_msg(strstr(j.err[0], "party 1's") != NULL, "%s", j.err[0]);   /* names the culprit */
            s_clear(&j);
            for (uint32_t k = 0; k < 6; k++) free(vals[k]);
            mpc_circ_destroy(&c);
        }
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *su = suite_create("engine_mal");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_dealer_material);
    tcase_add_test(tc, test_local_ops_keep_macs);
    tcase_add_test(tc, test_all_gates_exact);
    tcase_add_test(tc, test_checks_every_layer);
    tcase_add_test(tc, test_noise);
    tcase_add_test(tc, test_missing_input_refused);
    tcase_add_test(tc, test_cancel_deadline_progress);
    tcase_add_test(tc, test_cheating_matrix);
    tcase_add_test(tc, test_top_bit_lie);
    tcase_add_test(tc, test_sliced_layer);
    tcase_add_test(tc, test_check_messages_tampered);
    tcase_add_test(tc, test_checked_outputs);
    tcase_add_test(tc, test_checked_and_open_outputs);
    tcase_add_test(tc, test_client_inputs);
    tcase_add_test(tc, test_random_bits);
    tcase_add_test(tc, test_trunc_exact);
    tcase_add_test(tc, test_fixed_point_select);
    tcase_add_test(tc, test_compare_exact);
    suite_add_tcase(su, tc);
    return su;
}
