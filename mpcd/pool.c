/* pool.c — the background triple stock (pool.h).  A ring buffer of this party's shares
 * (a, b, c), filled by an OT source over the whole mesh and emptied first-in first-out. */
#include "pool.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "mpc_err.h"
#include "prep_ot.h"
#include "transport_view.h"

struct mpcd_pool {
    uint64_t       target, chunk;
    uint64_t      *a, *b, *c;          /* ring of `target` triples */
    uint64_t       head;               /* index of the oldest triple */
    _Atomic uint64_t stock;
    _Atomic uint64_t rate_milli;       /* triples/s × 1000 of the last chunk */
    uint64_t       session, added, taken;
    mpc_transport *view;               /* over every configured party (owned) */
    mpc_prep      *gen;                /* the session's OT source (owned) */
};

mpcd_pool *mpcd_pool_new(uint64_t target, uint64_t chunk)
{
    if (target == 0 || chunk == 0 || target > (1ull << 30)) return NULL;
    mpcd_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->target = target;
    p->chunk = chunk < target ? chunk : target;
    p->a = malloc(target * sizeof(uint64_t));
    p->b = malloc(target * sizeof(uint64_t));
    p->c = malloc(target * sizeof(uint64_t));
    if (!p->a || !p->b || !p->c) {
        mpcd_pool_destroy(&p);
        return NULL;
    }
    return p;
}

void mpcd_pool_reset(mpcd_pool *p)
{
    sodium_memzero(p->a, p->target * sizeof(uint64_t));
    sodium_memzero(p->b, p->target * sizeof(uint64_t));
    sodium_memzero(p->c, p->target * sizeof(uint64_t));
    p->head = 0;
    atomic_store(&p->stock, 0);
    p->session = p->added = p->taken = 0;
    mpc_prep_destroy(&p->gen);
    mpc_transport_destroy(&p->view);
}

void mpcd_pool_destroy(mpcd_pool **pp)
{
    if (!pp || !*pp) return;
    mpcd_pool *p = *pp;
    if (p->a && p->b && p->c) mpcd_pool_reset(p);
    free(p->a);
    free(p->b);
    free(p->c);
    free(p);
    *pp = NULL;
}

void mpcd_pool_state_get(const mpcd_pool *p, mpcd_pool_state *st)
{
    st->session = p->session;
    st->added = p->added;
    st->taken = p->taken;
}

uint64_t mpcd_pool_stock(const mpcd_pool *p) { return atomic_load(&p->stock); }
double   mpcd_pool_rate(const mpcd_pool *p) { return (double)atomic_load(&p->rate_milli) / 1000.0; }
uint64_t mpcd_pool_target(const mpcd_pool *p) { return p->target; }
uint64_t mpcd_pool_chunk(const mpcd_pool *p) { return p->chunk; }

/* Fetches n triples from the session's source straight into the ring (in at most two
 * contiguous pieces). */
static int s_fill(mpcd_pool *p, uint64_t n)
{
    uint64_t stock = atomic_load(&p->stock);
    uint64_t tail = (p->head + stock) % p->target;
    while (n) {
        uint64_t piece = n < p->target - tail ? n : p->target - tail;
        mpc_prep_req req = {.n_triples = piece};
        mpc_prep_out out = {.a = p->a + tail, .b = p->b + tail, .c = p->c + tail};
        int rc = mpc_prep_fetch(p->gen, &req, &out);
        if (rc != 0) return rc;
        p->added += piece;
        stock += piece;
        atomic_store(&p->stock, stock);
        tail = (tail + piece) % p->target;
        n -= piece;
    }
    return 0;
}

int mpcd_pool_generate(mpcd_pool *p, mpc_transport *mesh_view, uint32_t self, uint32_t n_parties,
                       uint64_t session, uint64_t n, int timeout_ms)
{
    if (session != p->session || !p->gen) {
        mpcd_pool_reset(p);
        p->view = mesh_view;   /* owned from here on */
        mpc_prep_ot_opts oo = {.timeout_ms = timeout_ms};
        p->gen = mpc_prep_ot_new(p->view, self, n_parties, session | MPC_STREAM_PREP_BIT, &oo);
        if (!p->gen) {
            mpcd_pool_reset(p);
            return MPC_ERR_NOMEM;
        }
        p->session = session;
    } else {
        mpc_transport_destroy(&mesh_view);   /* the session's own view stays */
    }
    uint64_t room = p->target - atomic_load(&p->stock);
    if (n > room) n = room;
    uint64_t t0 = mpc_now_ns();
    int rc = s_fill(p, n);
    if (rc != 0) {
        mpcd_pool_reset(p);
        return rc;
    }
    uint64_t dt = mpc_now_ns() - t0;
    if (n && dt) atomic_store(&p->rate_milli, (uint64_t)((double)n * 1e12 / (double)dt));
    return 0;
}

/* Takes k triples from the front of the ring into a, b, c. */
static void s_take(mpcd_pool *p, uint64_t k, uint64_t *a, uint64_t *b, uint64_t *c)
{
    uint64_t done = 0;
    while (done < k) {
        uint64_t piece = k - done < p->target - p->head ? k - done : p->target - p->head;
        memcpy(a + done, p->a + p->head, piece * sizeof(uint64_t));
        memcpy(b + done, p->b + p->head, piece * sizeof(uint64_t));
        memcpy(c + done, p->c + p->head, piece * sizeof(uint64_t));
        /* Handed out once: wiped from the stock at once. */
        sodium_memzero(p->a + p->head, piece * sizeof(uint64_t));
        sodium_memzero(p->b + p->head, piece * sizeof(uint64_t));
        sodium_memzero(p->c + p->head, piece * sizeof(uint64_t));
        p->head = (p->head + piece) % p->target;
        done += piece;
    }
    p->taken += k;
    atomic_store(&p->stock, atomic_load(&p->stock) - k);
}

/* ---- the per-job source ------------------------------------------------------------------ */

typedef struct {
    mpcd_pool *pool;
} s_src;

static int s_src_fetch(mpc_prep *ps, const mpc_prep_req *req, mpc_prep_out *out)
{
    s_src *s = ps->impl;
    mpcd_pool *p = s->pool;
    if (!p->gen) return MPC_ERR_PREP;
    uint64_t stock = atomic_load(&p->stock);
    uint64_t k = req->n_triples < stock ? req->n_triples : stock;
    if (k) s_take(p, k, out->a, out->b, out->c);
    /* The shortfall (the same on every party: the pools agree), the square pairs, the
     * truncation tuples and the comparison material come from the session's source, made
     * now (the pool stocks triples only). */
    mpc_prep_req rest = *req;
    rest.n_triples = req->n_triples - k;
    mpc_prep_out o2 = *out;
    if (o2.a) {
        o2.a += k;
        o2.b += k;
        o2.c += k;
    }
    if (rest.n_triples == 0 && rest.n_squares == 0 && rest.n_trunc == 0 && rest.n_edabits == 0 &&
        rest.n_btriples == 0 && rest.n_dabits == 0)
        return 0;
    return mpc_prep_fetch(p->gen, &rest, &o2);
}

static void s_src_abort(mpc_prep *ps, int code)
{
    (void)ps;
    (void)code;   /* the worker resets the pool after a failed job */
}

static void s_src_destroy(mpc_prep **pp)
{
    free((*pp)->impl);
    free(*pp);
    *pp = NULL;
}

static const struct mpc_prep_ops s_src_ops = {s_src_fetch, s_src_abort, s_src_destroy};

mpc_prep *mpcd_pool_source_new(mpcd_pool *p, uint32_t self, uint32_t n_parties)
{
    if (!p->gen) return NULL;
    mpc_prep *ps = calloc(1, sizeof *ps);
    s_src *s = calloc(1, sizeof *s);
    if (!ps || !s) {
        free(ps);
        free(s);
        return NULL;
    }
    s->pool = p;
    ps->ops = &s_src_ops;
    ps->impl = s;
    ps->self = self;
    ps->n = n_parties;
    ps->caps = p->gen->caps & MPC_PREP_CAP_COMPARE;   /* passed through to the session's source */
    return ps;
}
