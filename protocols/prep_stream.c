/* prep_stream.c — streamed material (prep.h, "the pull API"): a producer thread makes a
 * fixed sequence of triples and square pairs chunk by chunk into a ring of `ahead` chunk
 * buffers; the consumer takes the next k items as soon as they exist.  One mutex and one
 * condition variable (monotonic clock) guard the ring's state; a filled slot belongs to the
 * consumer and a free one to the producer, so the copies run without the lock. */
#include "prep.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "mpc_err.h"

typedef struct {
    uint64_t *buf;      /* 3 · chunk words: a, b, c (triples) or sa, sa2 (square pairs) */
    uint64_t  n, used;  /* items made, items taken */
    uint8_t   kind;
    int       filled;   /* 1: the consumer's */
} s_slot;

struct mpc_prep_stream {
    mpc_prep       *p;
    mpc_prep_seg   *segs;
    uint32_t        nseg, ahead;
    uint64_t        chunk;
    s_slot         *slots;
    uint32_t        pidx, cidx;    /* the producer's next slot, the consumer's */
    pthread_mutex_t mu;
    pthread_cond_t  cv;
    pthread_t       th;
    int             started;
    int             stop, stop_code;   /* set by end */
    int             done;              /* the producer has returned */
    int             rc;                /* its result: 0 when every chunk was made */
    int             failed;            /* the consumer saw an error: nothing more is handed out */
};

/* Material pointers into a slot buffer. */
static mpc_prep_out s_slot_out(const mpc_prep_stream *st, const s_slot *s)
{
    mpc_prep_out o;
    memset(&o, 0, sizeof o);
    if (s->kind == MPC_PREP_K_TRIPLE) {
        o.a = s->buf;
        o.b = s->buf + st->chunk;
        o.c = s->buf + 2 * st->chunk;
    } else {
        o.sa = s->buf;
        o.sa2 = s->buf + st->chunk;
    }
    return o;
}

static void s_slot_wipe(const mpc_prep_stream *st, s_slot *s)
{
    uint64_t *b = s->buf;
    for (uint32_t k = 0; k < (s->kind == MPC_PREP_K_TRIPLE ? 3u : 2u); k++)
        sodium_memzero(b + k * st->chunk, (size_t)s->n * 8);
    s->n = s->used = 0;
}

/* The producer: one fetch per chunk, in the segments' order, into the next free slot. */
static void *s_producer(void *arg)
{
    mpc_prep_stream *st = arg;
    int rc = 0, early = 0;
    for (uint32_t g = 0; g < st->nseg && !rc; g++) {
        const mpc_prep_seg *sg = &st->segs[g];
        for (uint64_t off = 0; off < sg->n && !rc; off += st->chunk) {
            uint64_t k = sg->n - off < st->chunk ? sg->n - off : st->chunk;
            pthread_mutex_lock(&st->mu);
            while (!st->stop && st->slots[st->pidx].filled) pthread_cond_wait(&st->cv, &st->mu);
            if (st->stop) {
                rc = st->stop_code ? st->stop_code : MPC_ERR_STATE;
                early = 1;
                pthread_mutex_unlock(&st->mu);
                break;
            }
            s_slot *s = &st->slots[st->pidx];
            pthread_mutex_unlock(&st->mu);
            s->kind = sg->kind;
            s->n = s->used = 0;
            mpc_prep_req req = {.n_triples = sg->kind == MPC_PREP_K_TRIPLE ? k : 0,
                                .n_squares = sg->kind == MPC_PREP_K_SQUARE ? k : 0};
            mpc_prep_out out = s_slot_out(st, s);
            if ((rc = mpc_prep_fetch(st->p, &req, &out))) break;   /* the source failed and told its peers */
            pthread_mutex_lock(&st->mu);
            s->n = k;
            s->filled = 1;
            st->pidx = (st->pidx + 1) % st->ahead;
            pthread_cond_broadcast(&st->cv);
            pthread_mutex_unlock(&st->mu);
        }
    }
    if (early) mpc_prep_abort(st->p, rc);   /* the peers' producers must not wait for this one */
    pthread_mutex_lock(&st->mu);
    st->rc = rc;
    st->done = 1;
    pthread_cond_broadcast(&st->cv);
    pthread_mutex_unlock(&st->mu);
    return NULL;
}

static void s_free(mpc_prep_stream *st)
{
    for (uint32_t i = 0; st->slots && i < st->ahead; i++) {
        if (!st->slots[i].buf) continue;
        sodium_memzero(st->slots[i].buf, (size_t)st->chunk * 3 * 8);
        free(st->slots[i].buf);
    }
    free(st->slots);
    free(st->segs);
    pthread_cond_destroy(&st->cv);
    pthread_mutex_destroy(&st->mu);
    free(st);
}

int mpc_prep_stream_new(mpc_prep *p, const mpc_prep_seg *segs, uint32_t nseg, uint64_t chunk,
                        uint32_t ahead, mpc_prep_stream **out)
{
    if (!out) return MPC_ERR_INVALID;
    *out = NULL;
    if (!chunk) chunk = MPC_PREP_STREAM_CHUNK;
    if (!ahead) ahead = MPC_PREP_STREAM_AHEAD;
    if (!p || (nseg && !segs) || chunk > MPC_PREP_MAX_BATCH || ahead > MPC_PREP_STREAM_AHEAD_MAX)
        return MPC_ERR_INVALID;
    for (uint32_t g = 0; g < nseg; g++)
        if ((segs[g].kind != MPC_PREP_K_TRIPLE && segs[g].kind != MPC_PREP_K_SQUARE) ||
            segs[g].n > MPC_PREP_MAX_BATCH)
            return MPC_ERR_INVALID;
    mpc_prep_stream *st = calloc(1, sizeof *st);
    if (!st) return MPC_ERR_NOMEM;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->cv, &ca);
    pthread_condattr_destroy(&ca);
    st->p = p;
    st->nseg = nseg;
    st->ahead = ahead;
    st->chunk = chunk;
    st->segs = malloc((nseg ? nseg : 1) * sizeof *st->segs);
    st->slots = calloc(ahead, sizeof *st->slots);
    int ok = st->segs && st->slots;
    for (uint32_t i = 0; ok && i < ahead; i++) ok = (st->slots[i].buf = malloc((size_t)chunk * 3 * 8)) != NULL;
    if (ok) {
        memcpy(st->segs, segs, nseg * sizeof *segs);
        ok = pthread_create(&st->th, NULL, s_producer, st) == 0;
    }
    if (!ok) {
        s_free(st);
        return MPC_ERR_NOMEM;
    }
    st->started = 1;
    *out = st;
    return 0;
}

int mpc_prep_stream_take(mpc_prep_stream *st, uint8_t kind, uint64_t k, const mpc_prep_out *out,
                         int timeout_ms)
{
    if (!st || !out) return MPC_ERR_INVALID;
    if (st->failed) return MPC_ERR_STATE;
    int r = 0;
    uint64_t got = 0;
    while (got < k && !r) {
        pthread_mutex_lock(&st->mu);
        struct timespec dl = mpc_clock_deadline(timeout_ms > 0 ? timeout_ms : MPC_PREP_STREAM_WAIT_MS);
        while (!st->slots[st->cidx].filled && !st->done && !r)
            if (pthread_cond_timedwait(&st->cv, &st->mu, &dl) != 0 && !st->slots[st->cidx].filled && !st->done)
                r = MPC_ERR_TIMEOUT;
        s_slot *s = &st->slots[st->cidx];
        if (!r && !s->filled) r = st->rc ? st->rc : MPC_ERR_STATE;   /* the producer ended */
        pthread_mutex_unlock(&st->mu);
        if (r) break;
        if (s->kind != kind) {
            r = MPC_ERR_STATE;
            break;
        }
        uint64_t m = k - got < s->n - s->used ? k - got : s->n - s->used;
        mpc_prep_out src = s_slot_out(st, s);
        if (kind == MPC_PREP_K_TRIPLE) {
            memcpy(out->a + got, src.a + s->used, (size_t)m * 8);
            memcpy(out->b + got, src.b + s->used, (size_t)m * 8);
            memcpy(out->c + got, src.c + s->used, (size_t)m * 8);
        } else {
            memcpy(out->sa + got, src.sa + s->used, (size_t)m * 8);
            memcpy(out->sa2 + got, src.sa2 + s->used, (size_t)m * 8);
        }
        s->used += m;
        got += m;
        if (s->used == s->n) {
            s_slot_wipe(st, s);
            pthread_mutex_lock(&st->mu);
            s->filled = 0;
            st->cidx = (st->cidx + 1) % st->ahead;
            pthread_cond_broadcast(&st->cv);
            pthread_mutex_unlock(&st->mu);
        }
    }
    if (r) st->failed = 1;
    return r;
}

uint64_t mpc_prep_stream_ring_words(const mpc_prep_stream *st)
{
    return st ? 3 * st->chunk * st->ahead : 0;
}

int mpc_prep_stream_end(mpc_prep_stream **stp, int code)
{
    if (!stp || !*stp) return 0;
    mpc_prep_stream *st = *stp;
    pthread_mutex_lock(&st->mu);
    st->stop = 1;
    st->stop_code = code;
    pthread_cond_broadcast(&st->cv);
    pthread_mutex_unlock(&st->mu);
    if (st->started) pthread_join(st->th, NULL);
    int r = st->rc ? st->rc : code;
    for (uint32_t i = 0; !r && i < st->ahead; i++)
        if (st->slots[i].filled) r = MPC_ERR_STATE;   /* made, never taken */
    s_free(st);
    *stp = NULL;
    return r;
}
