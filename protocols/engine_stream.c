/* engine_stream.c — sliced rounds of products (docs/engine.md, "Sliced and streamed rounds"):
 * a round of multiplications longer than one slice runs as a pipeline of slices, each opened,
 * sent, received and finished through a window of slice buffers, so the own openings of the
 * next slices are computed and sent while earlier ones travel, and products are finished as
 * their slices arrive.  With mpc_engine_opts.stream_chunk the round also takes its triples and
 * square pairs from a preprocessing stream (prep.h) slice by slice ("streamed"), so the online
 * phase runs while the material is still being made; otherwise the material is the round's,
 * fetched whole before it starts, and read in place.
 *
 * A slice holds whole multiplications: as many items (in gate order, a triple's d and e, a
 * square's d) as fit in slice_words, at least one; for every part of a gate in it, the d's of
 * its items, then (triples) their e's.  The bytes are those of an unstreamed round: one
 * logical opening per peer, 16(n−1) bytes per product and 8(n−1) per square per party. */
#include "engine_int.h"

#include <string.h>

#include "clock.h"
#include "mpc_err.h"

/* Where the next slice starts: gate gates[g], item k. */
typedef struct {
    uint32_t g;
    uint64_t k;
} s_cur;

/* Items k0 .. k0 + cnt − 1 of gate gi in a slice. */
typedef struct {
    uint32_t gi;
    uint64_t k0, cnt;
} s_part;

/* A slice in flight: its openings (then the opened values) and the material of its items,
 * part after part: a, b, c (cnt words each) of a product's part, sa, sa2 of a square's. */
typedef struct {
    uint64_t *mine, *mat;
    uint64_t  nw, matw;
} s_slot;

typedef struct {
    const uint32_t     *gates;
    uint32_t            ng;
    s_part             *parts;
    uint32_t            np;
    s_slot              slot[MPC_ENGINE_STREAM_WINDOW];
    uint64_t           *rx;
    uint64_t            held;   /* words of material held (the ring and the slots' material) */
    uint64_t            T, S;   /* items taken */
    const mpc_prep_out *pre;    /* NULL: streamed; else the round's material, read in place */
    uint64_t            fT, fS; /* pre: triples and squares of the slices finished */
    uint64_t            sw;     /* words of a slot's buffer: a slice + 2 */
} s_sround;

static int s_mult_kind(uint8_t kind)
{
    return kind == MPC_G_MUL || kind == MPC_G_DOT || kind == MPC_G_SELECT;
}

int mpc_eng_sliced(const mpc_engine *e, const uint32_t *gates, uint32_t ng)
{
    const mpc_circuit *c = e->c;
    uint64_t words = 0;
    if (!ng) return 0;
    int apart[3] = {mpc_eng_apart(e, gates, ng, MPC_G_LTZ), mpc_eng_apart(e, gates, ng, MPC_G_EQZ),
                    mpc_eng_apart(e, gates, ng, MPC_G_TRUNC)};
    for (uint32_t i = 0; i < ng; i++) {
        const mpc_gate *g = &c->gates[gates[i]];
        if ((g->kind == MPC_G_LTZ && apart[0]) || (g->kind == MPC_G_EQZ && apart[1]) ||
            (g->kind == MPC_G_TRUNC && apart[2]))
            continue;   /* run before the round (engine_apart.c) */
        if (!s_mult_kind(g->kind)) return 0;
        words += s_mults_of(c, g) * (mpc_gate_is_square(g) ? 1 : 2);
    }
    return words > e->slice;
}

int mpc_eng_stream_plan(mpc_engine *e)
{
    const mpc_circuit *c = e->c;
    uint32_t nl = c->rounds + 1;
    uint8_t *cmp = calloc(nl, 1);
    e->streamed = calloc(nl, 1);
    if (!cmp || !e->streamed) {
        free(cmp);
        return MPC_ERR_NOMEM;
    }
    for (uint32_t L = 0; L < nl; L++)   /* a batch run apart is over before its layer's round */
        cmp[L] = (uint8_t)mpc_eng_cmp_flight(e, e->order + e->start[2 * L + 1],
                                             e->start[2 * L + 2] - e->start[2 * L + 1]);
    for (uint32_t L = 0; L < nl; L++) {
        uint32_t a = e->start[2 * L + 1], b = e->start[2 * L + 2];
        int ok = a < b;
        for (uint32_t r = L >= MPC_CMP_ROUNDS - 1 ? L - (MPC_CMP_ROUNDS - 1) : 0; ok && r < L; r++)
            if (cmp[r]) ok = 0;   /* a batch started in layer r opens words in rounds r .. r + 7 */
        e->streamed[L] = (uint8_t)(ok && mpc_eng_sliced(e, e->order + a, b - a));
    }
    free(cmp);
    return 0;
}

/* The parts of the next slice from *cur into R->parts (R->np), its words in *nw; 0 when every
 * item of the round is in an earlier slice. */
static int s_next_slice(const mpc_engine *e, s_sround *R, s_cur *cur, uint64_t *nw)
{
    const mpc_circuit *c = e->c;
    uint64_t w = 0;
    R->np = 0;
    while (cur->g < R->ng) {
        const mpc_gate *g = &c->gates[R->gates[cur->g]];
        uint64_t L = s_mults_of(c, g), wpi = mpc_gate_is_square(g) ? 1 : 2;
        if (cur->k >= L) {
            cur->g++;
            cur->k = 0;
            continue;
        }
        uint64_t fit = (e->slice - (w < e->slice ? w : e->slice)) / wpi;
        if (fit == 0 && w) break;
        if (fit == 0) fit = 1;   /* a slice of one word still takes one product */
        uint64_t t = L - cur->k < fit ? L - cur->k : fit;
        R->parts[R->np++] = (s_part){R->gates[cur->g], cur->k, t};
        w += t * wpi;
        cur->k += t;
    }
    *nw = w;
    return R->np > 0;
}

/* Own openings of a product part: d = x − a, e = y − b (SELECT: e = (y − y2) − b), broadcast
 * operands of length 1. */
static void s_open_product(const mpc_engine *e, const mpc_gate *g, const s_part *p, const uint64_t *A,
                           const uint64_t *B, uint64_t *d, uint64_t *ev)
{
    const mpc_circuit *c = e->c;
    uint64_t L = s_mults_of(c, g), k0 = p->k0, n = p->cnt;
    int sel = g->kind == MPC_G_SELECT;
    uint64_t sx = c->gates[g->in[0]].len == 1 && (sel || L > 1) ? 0 : 1;
    uint64_t sy = c->gates[g->in[1]].len == 1 && (sel || L > 1) ? 0 : 1;
    const uint64_t *x = e->w[g->in[0]], *y = e->w[g->in[1]];
    if (sx && sy && !sel) {
        x += k0;
        y += k0;
        for (uint64_t k = 0; k < n; k++) {
            d[k] = x[k] - A[k];
            ev[k] = y[k] - B[k];
        }
    } else if (!sel) {
        for (uint64_t k = 0; k < n; k++) {
            d[k] = x[(k0 + k) * sx] - A[k];
            ev[k] = y[(k0 + k) * sy] - B[k];
        }
    } else {
        const uint64_t *y2 = e->w[g->in[2]];
        uint64_t sy2 = c->gates[g->in[2]].len == 1 ? 0 : 1;
        for (uint64_t k = 0; k < n; k++) {
            d[k] = x[(k0 + k) * sx] - A[k];
            ev[k] = (y[(k0 + k) * sy] - y2[(k0 + k) * sy2]) - B[k];
        }
    }
}

/* Takes the material of the next slice's items from the stream (or points into the round's,
 * R->pre) and computes this party's openings into slot s. */
static int s_open_slice(mpc_engine *e, s_sround *R, s_cur *cur, s_slot *s, int *made)
{
    const mpc_circuit *c = e->c;
    uint64_t nw;
    *made = s_next_slice(e, R, cur, &nw);
    if (!*made) return 0;
    uint64_t *m = s->mat, *o = s->mine;
    for (uint32_t i = 0; i < R->np; i++) {
        const s_part *p = &R->parts[i];
        const mpc_gate *g = &c->gates[p->gi];
        uint64_t n = p->cnt;
        int sq = mpc_gate_is_square(g);
        mpc_prep_out out = {0};
        if (R->pre) {
            out.sa = R->pre->sa + R->S;
            out.a = R->pre->a + R->T;
            out.b = R->pre->b + R->T;
        } else {
            uint64_t t0 = mpc_now_us();
            if (sq) {
                out.sa = m;
                out.sa2 = m + n;
            } else {
                out.a = m;
                out.b = m + n;
                out.c = m + 2 * n;
            }
            int r = mpc_prep_stream_take(e->pst, sq ? MPC_PREP_K_SQUARE : MPC_PREP_K_TRIPLE, n, &out,
                                         e->o.stream_wait_ms);
            e->st.prep_us += mpc_now_us() - t0;
            if (r) return r;
            m += sq ? 2 * n : 3 * n;
        }
        if (sq) {   /* d = x − a: operands of equal length */
            const uint64_t *x = e->w[g->in[0]] + p->k0;
            for (uint64_t k = 0; k < n; k++) o[k] = x[k] - out.sa[k];
            R->S += n;
        } else {
            s_open_product(e, g, p, out.a, out.b, o, o + n);
            R->T += n;
        }
        o += sq ? n : 2 * n;
    }
    s->nw = nw;
    s->matw = (uint64_t)(m - s->mat);
    s_mat_held(e, &R->held, (int64_t)s->matw);
    return 0;
}

/* Items k0 .. k0 + n − 1 of gate g, their values v[0 .. n), into its wire z: element by
 * element for MUL and SELECT, summed per segment (aux[0] items; 0: all) for DOT. */
static void s_put(const mpc_circuit *c, const mpc_gate *g, uint64_t k0, const uint64_t *v, uint64_t n, uint64_t *z)
{
    if (g->kind != MPC_G_DOT) {
        memcpy(z + k0, v, (size_t)n * 8);
        return;
    }
    uint64_t seg = g->aux[0] ? g->aux[0] : s_mults_of(c, g);
    uint64_t j = k0 / seg, next = (j + 1) * seg, sum = 0;
    for (uint64_t k = 0; k < n; k++) {
        if (k0 + k == next) {
            z[j++] += sum;
            sum = 0;
            next += seg;
        }
        sum += v[k];
    }
    z[j] += sum;
}

/* Outputs of slice s's items from the opened values in s->mine (overwritten by the items'
 * values); the slot's material is wiped (streamed; the round's own is wiped with the round). */
static void s_finish_slice(mpc_engine *e, s_sround *R, s_cur *cur, s_slot *s)
{
    const mpc_circuit *c = e->c;
    const int p0 = e->self == 0;
    uint64_t nw;
    (void)s_next_slice(e, R, cur, &nw);
    uint64_t *op = s->mine;
    const uint64_t *m = s->mat;
    for (uint32_t i = 0; i < R->np; i++) {
        const s_part *p = &R->parts[i];
        const mpc_gate *g = &c->gates[p->gi];
        uint64_t n = p->cnt, *v = op;
        if (mpc_gate_is_square(g)) {   /* x² = a² + 2·d·a + d² (party 0 adds d²) */
            const uint64_t *A = m, *A2 = m + n;
            if (R->pre) {
                A = R->pre->sa + R->fS;
                A2 = R->pre->sa2 + R->fS;
                R->fS += n;
            } else {
                m += 2 * n;
            }
            for (uint64_t k = 0; k < n; k++) v[k] = A2[k] + 2 * op[k] * A[k] + (p0 ? op[k] * op[k] : 0);
            op += n;
        } else {   /* z = c + d·b + e·a (party 0 adds d·e) */
            const uint64_t *A = m, *B = m + n, *C = m + 2 * n;
            if (R->pre) {
                A = R->pre->a + R->fT;
                B = R->pre->b + R->fT;
                C = R->pre->c + R->fT;
                R->fT += n;
            } else {
                m += 3 * n;
            }
            s_beaver(v, A, B, C, op, op + n, n, p0);
            if (g->kind == MPC_G_SELECT) {
                const uint64_t *y2 = e->w[g->in[2]];
                uint64_t s2 = c->gates[g->in[2]].len == 1 ? 0 : 1;
                for (uint64_t k = 0; k < n; k++) v[k] += y2[(p->k0 + k) * s2];
            }
            op += 2 * n;
        }
        s_put(c, g, p->k0, v, n, e->w[p->gi]);
    }
    if (!s->matw) return;
    sodium_memzero(s->mat, (size_t)s->matw * 8);
    s_mat_held(e, &R->held, -(int64_t)s->matw);
    s->matw = 0;
}

/* Sends slice `sl` (in slot s) to every peer. */
static int s_send(mpc_engine *e, uint32_t layer, uint64_t sl, const s_slot *s, char *err, size_t errlen)
{
    for (uint32_t j = 0; j < e->n; j++) {
        if (j == e->self) continue;
        int r = mpc_eng_peer_rc(e, j, mpc_send(e->t, j, MPC_MSG_OPEN, e->o.stream, (uint64_t)layer | sl << 32,
                                               s->mine, s->nw));
        if (r)
            return mpc_errc(err, errlen, r, "round %u: sending to party %u: %s", (unsigned)layer, (unsigned)j,
                          mpc_strerror(r));
        e->st.open_bytes_sent += s->nw * 8;
    }
    return 0;
}

/* Every peer's words of slice `sl`, summed into s->mine. */
static int s_recv(mpc_engine *e, s_sround *R, uint32_t layer, uint64_t sl, s_slot *s, char *err, size_t errlen)
{
    for (uint32_t j = 0; j < e->n; j++) {
        if (j == e->self) continue;
        int r = mpc_eng_take_keys(e, j, err, errlen);
        if (r) return r;
        r = mpc_eng_peer_rc(e, j, mpc_recv(e->t, j, MPC_MSG_OPEN, e->o.stream, (uint64_t)layer | sl << 32, R->rx,
                                           s->nw, e->o.timeout_ms));
        if (r)
            return mpc_errc(err, errlen, r, "round %u: receiving from party %u: %s", (unsigned)layer, (unsigned)j,
                          mpc_strerror(r));
        e->st.open_bytes_recv += s->nw * 8;
        for (uint64_t k = 0; k < s->nw; k++) s->mine[k] += R->rx[k];
    }
    return 0;
}

/* The wires of the round's gates (DOT sums start at 0) and the segments of its stream: the
 * gates' items in gate order, adjacent gates of one kind merged. */
static int s_setup(mpc_engine *e, s_sround *R, mpc_prep_seg *segs, uint32_t *nseg)
{
    const mpc_circuit *c = e->c;
    *nseg = 0;
    for (uint32_t i = 0; i < R->ng; i++) {
        const mpc_gate *g = &c->gates[R->gates[i]];
        if (!s_mult_kind(g->kind)) continue;   /* a gate run apart (mpc_eng_sliced) */
        uint8_t kind = mpc_gate_is_square(g) ? MPC_PREP_K_SQUARE : MPC_PREP_K_TRIPLE;
        uint64_t n = s_mults_of(c, g);
        if (!(e->w[R->gates[i]] = s_alloc(g->len))) return MPC_ERR_NOMEM;
        e->owned[R->gates[i]] = 1;
        if (g->kind == MPC_G_DOT) memset(e->w[R->gates[i]], 0, (size_t)g->len * 8);
        if (*nseg && segs[*nseg - 1].kind == kind && segs[*nseg - 1].n + n <= MPC_PREP_MAX_BATCH)
            segs[*nseg - 1].n += n;
        else
            segs[(*nseg)++] = (mpc_prep_seg){kind, n};
    }
    /* A slice of one word may hold one product (+ 2); a round of fewer slices than the
     * window allocates no slot it does not use (s_slot_get): fresh pages cost more than
     * the arithmetic on them. */
    R->sw = e->slice + 2;
    if (!(R->rx = s_alloc(e->slice + 2))) return MPC_ERR_NOMEM;
    return 0;
}

static void s_teardown(mpc_engine *e, s_sround *R)
{
    for (uint32_t i = 0; i < MPC_ENGINE_STREAM_WINDOW; i++) {
        s_wipe_free(R->slot[i].mine, R->sw);
        s_wipe_free(R->slot[i].mat, 2 * R->sw);
    }
    s_wipe_free(R->rx, e->slice + 2);
    free(R->parts);
}

/* Slot i, its buffers allocated on first use; NULL when out of memory. */
static s_slot *s_slot_get(s_sround *R, uint64_t i)
{
    s_slot *s = &R->slot[i % MPC_ENGINE_STREAM_WINDOW];
    if (!s->mine && !(s->mine = s_alloc(R->sw))) return NULL;
    if (!R->pre && !s->mat && !(s->mat = s_alloc(2 * R->sw))) return NULL;
    return s;
}

/* Between slices: the job's cancel flag and deadline. */
static int s_check_stop(const mpc_engine *e, uint32_t layer, char *err, size_t errlen)
{
    if (e->o.deadline_ms && mpc_now_ms() > e->o.deadline_ms)
        return mpc_errc(err, errlen, MPC_ERR_TIMEOUT, "round %u: the job ran past its time limit", (unsigned)layer);
    if (e->o.cancel && atomic_load(e->o.cancel))
        return mpc_errc(err, errlen, MPC_ERR_CANCELLED, "round %u: the job was cancelled", (unsigned)layer);
    return 0;
}

int mpc_eng_stream_round(mpc_engine *e, uint32_t layer, const uint32_t *gates, uint32_t ng,
                         const mpc_prep_out *pre, char *err, size_t errlen)
{
    s_sround R;
    memset(&R, 0, sizeof R);
    R.gates = gates;
    R.ng = ng;
    R.pre = pre;
    mpc_prep_seg *segs = calloc(ng ? ng : 1, sizeof *segs);
    uint32_t nseg = 0;
    int r = MPC_ERR_NOMEM;
    if (!segs || !(R.parts = calloc(ng ? ng : 1, sizeof *R.parts)) || (r = s_setup(e, &R, segs, &nseg))) {
        r = mpc_errc(err, errlen, r ? r : MPC_ERR_NOMEM, "round %u: out of memory", (unsigned)layer);
        goto out;
    }
    if (!pre && (r = mpc_prep_stream_new(e->prep, segs, nseg, e->o.stream_chunk, e->o.stream_ahead, &e->pst))) {
        r = mpc_errc(err, errlen, r, "round %u: preprocessing: %s", (unsigned)layer, mpc_strerror(r));
        goto out;
    }
    if (!pre) s_mat_held(e, &R.held, (int64_t)mpc_prep_stream_ring_words(e->pst));
    s_cur oc = {0, 0}, fc = {0, 0};
    uint64_t sent = 0, done = 0;
    int more = 1;
    for (;;) {
        while (more && sent < done + MPC_ENGINE_STREAM_WINDOW) {
            s_slot *s = s_slot_get(&R, sent);
            if (!s) {
                r = mpc_errc(err, errlen, MPC_ERR_NOMEM, "round %u: out of memory", (unsigned)layer);
                goto out;
            }
            if ((r = s_check_stop(e, layer, err, errlen))) goto out;
            if ((r = s_open_slice(e, &R, &oc, s, &more))) {
                r = mpc_errc(err, errlen, r, "round %u: preprocessing: %s", (unsigned)layer, mpc_strerror(r));
                goto out;
            }
            if (!more) break;
            if ((r = s_send(e, layer, sent, s, err, errlen))) goto out;
            sent++;
        }
        if (done == sent) break;
        s_slot *s = &R.slot[done % MPC_ENGINE_STREAM_WINDOW];
        if ((r = s_recv(e, &R, layer, done, s, err, errlen))) goto out;
        s_finish_slice(e, &R, &fc, s);
        done++;
        if (e->o.progress) e->o.progress(e->o.progress_ctx, layer, e->st.triples + (pre ? 0 : R.T));
    }
    if (!pre && (r = mpc_prep_stream_end(&e->pst, 0))) {
        r = mpc_errc(err, errlen, r, "round %u: preprocessing: %s", (unsigned)layer, mpc_strerror(r));
        goto out;
    }
    if (!pre) {   /* a round with its own material counted it when it fetched it */
        e->st.triples += R.T;
        e->st.squares += R.S;
        e->st.streamed++;
    }
    e->st.rounds++;
    e->st.sliced++;
out:
    s_teardown(e, &R);
    free(segs);
    return r;
}
