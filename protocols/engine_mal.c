/* engine_mal.c — the malicious-security online engine on SPDZ2k shares (engine_mal.h). */
#include "engine_mal.h"

#include <ctype.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth_bits.h"
#include "auth_cmp.h"
#include "clock.h"
#include "diag.h"
#include "fault.h"
#include "mpc_err.h"
#include "vcheck.h"

#define S_CHECK_EVERY (1ull << 24)
#define S_CHECK_SEQ   0            /* seq base of the MAC check's CONTROL messages */
#define S_FETCH       (1u << 12)   /* triples per request to the source (engine_mal.h) */
#define S_BITS_PIECE  (1u << 16)   /* random bits made per mpc_auth_bits call */
#define S_BITS_SEQ    (1ull << 63) /* OPEN seq of the random bits of layer L: S_BITS_SEQ | L << 32 | i */
#define S_CMP_SEQ     (1ull << 62) /* OPEN seq of the comparisons of layer L: S_CMP_SEQ | L << 32 | i */
#define S_NOISE_SEQ   (3ull << 62) /* OPEN seq of NOISE gate G's random bits: S_NOISE_SEQ | G << 24 | i */
#define S_SLICE       (1u << 16)   /* elements per OPEN message of a layer (1 MiB): seq L | s << 32 */
#define S_SLICE_WINDOW 8u          /* slices sent ahead of the one received */

struct mpc_mal_engine {
    const mpc_circuit *c;
    uint32_t       self, n;
    mpc_transport *t;
    mpc_auth_src  *src;
    mpc_mal_opts   o;
    mpc_u128     **wx, **wm;       /* per wire: value and MAC shares (NULL: not live) */
    uint32_t      *lastuse;        /* last gate reading each wire */
    uint32_t      *order;          /* gates in execution order */
    mpc_u128     **ox, **om;       /* per output: its wire's shares */
    uint64_t     **out;            /* per output: the value, recipients after success */
    uint8_t      **chk;            /* per output: this party's record (checked outputs), after success */
    mpc_auth_key   key;
    mpc_mac_check *ck;
    mpc_mal_stats  st;
    int            ran;
};

/* ---- helpers ---- */

static mpc_u128 *s_alloc(uint64_t n)
{
    return mpc_auth_alloc(n);
}

static void s_wipe_free(mpc_u128 *p, uint64_t n)
{
    if (!p) return;
    sodium_memzero(p, (size_t)n * sizeof *p);
    free(p);
}

static void s_release(mpc_mal_engine *e, uint32_t w)
{
    uint64_t n = e->c->gates[w].len;
    s_wipe_free(e->wx[w], n);
    s_wipe_free(e->wm[w], n);
    e->wx[w] = e->wm[w] = NULL;
}

static void s_release_operands(mpc_mal_engine *e, uint32_t g)
{
    const mpc_gate *G = &e->c->gates[g];
    for (int k = 0; k < mpc_gate_infos[G->kind].operands; k++) {
        uint32_t w = G->in[k];
        if (e->lastuse[w] == g && e->wx[w]) s_release(e, w);
    }
}

static void s_wipe_all(mpc_mal_engine *e)
{
    const mpc_circuit *c = e->c;
    for (uint32_t g = 0; g < c->n_gates; g++)
        if (e->wx[g]) s_release(e, g);
    for (uint32_t o = 0; o < c->n_outputs; o++) {
        s_wipe_free(e->ox[o], c->outputs[o].len);
        s_wipe_free(e->om[o], c->outputs[o].len);
        e->ox[o] = e->om[o] = NULL;
        if (e->out[o]) {
            sodium_memzero(e->out[o], (size_t)c->outputs[o].len * 8);
            free(e->out[o]);
            e->out[o] = NULL;
        }
        if (e->chk[o]) {
            sodium_memzero(e->chk[o], mpc_vcheck_record_bytes(c->outputs[o].len, e->n));
            free(e->chk[o]);
            e->chk[o] = NULL;
        }
    }
    mpc_mac_check_free(&e->ck);
    mpc_auth_key_free(&e->key);
}

static void s_abort_peers(mpc_mal_engine *e, int code)
{
    for (uint32_t j = 0; j < e->n; j++)
        if (j != e->self) (void)mpc_send_abort(e->t, j, e->o.stream, code, MPC_ABORT_NO_PARTY);
}

static int s_interactive(uint8_t kind)
{
    return mpc_gate_infos[kind].rounds > 0;
}

static uint64_t s_when(const mpc_gate *g, uint32_t idx)
{
    return ((uint64_t)g->layer << 33) | ((uint64_t)s_interactive(g->kind) << 32) | idx;
}

static int s_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* ---- construction ---- */

int mpc_mal_supported(const mpc_circuit *c, char *err, size_t errlen)
{
    for (uint32_t i = 0; i < c->n_gates; i++) {
        uint8_t k = c->gates[i].kind;
        if (k >= MPC_G__COUNT) {
            char name[16];
            const char *s = k < MPC_G__COUNT ? mpc_gate_infos[k].name : "?";
            size_t j = 0;
            for (; s[j] && j + 1 < sizeof name; j++) name[j] = (char)toupper((unsigned char)s[j]);
            name[j] = 0;
            return mpc_errc(err, errlen, MPC_ERR_UNSUPPORTED,
                          "%s is not supported with security = malicious yet (line %u)", name,
                          (unsigned)c->gates[i].line);
        }
    }
    return 0;
}

mpc_mal_engine *mpc_mal_engine_new(const mpc_circuit *c, uint32_t self, mpc_transport *t,
                                   mpc_auth_src *src, const mpc_mal_opts *opts)
{
    if (!c || !t || !src || !opts || c->n_parties < 2 || c->n_parties > MPC_MAX_PARTIES_AUTH ||
        self >= c->n_parties || t->self != self || t->n < c->n_parties || src->n != c->n_parties ||
        src->self != self)
        return NULL;
    mpc_mal_engine *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    e->c = c;
    e->self = self;
    e->n = c->n_parties;
    e->t = t;
    e->src = src;
    e->o = *opts;
    if (!e->o.check_every) e->o.check_every = S_CHECK_EVERY;
    size_t ng = c->n_gates ? c->n_gates : 1, no = c->n_outputs ? c->n_outputs : 1;
    e->wx = calloc(ng, sizeof *e->wx);
    e->wm = calloc(ng, sizeof *e->wm);
    e->lastuse = calloc(ng, sizeof *e->lastuse);
    e->order = calloc(ng, sizeof *e->order);
    e->ox = calloc(no, sizeof *e->ox);
    e->om = calloc(no, sizeof *e->om);
    e->out = calloc(no, sizeof *e->out);
    e->chk = calloc(no, sizeof *e->chk);
    if (!e->wx || !e->wm || !e->lastuse || !e->order || !e->ox || !e->om || !e->out || !e->chk) {
        mpc_mal_engine_destroy(&e);
        return NULL;
    }
    uint64_t *keys = calloc(ng, sizeof *keys);
    if (!keys) {
        mpc_mal_engine_destroy(&e);
        return NULL;
    }
    for (uint32_t g = 0; g < c->n_gates; g++) keys[g] = s_when(&c->gates[g], g);
    qsort(keys, c->n_gates, sizeof *keys, s_cmp_u64);   /* the gate index is the low 32 bits */
    /* last use in execution order (an OUTPUT of layer r runs before that layer's products) */
    for (uint32_t i = 0; i < c->n_gates; i++) {
        uint32_t g = e->order[i] = (uint32_t)keys[i];
        const mpc_gate *G = &c->gates[g];
        for (int k = 0; k < mpc_gate_infos[G->kind].operands; k++)
            if (G->in[k] < c->n_gates) e->lastuse[G->in[k]] = g;
    }
    free(keys);
    return e;
}

void mpc_mal_engine_destroy(mpc_mal_engine **ep)
{
    if (!ep || !*ep) return;
    mpc_mal_engine *e = *ep;
    if (e->wx && e->wm && e->ox && e->om && e->out && e->chk) s_wipe_all(e);
    free(e->wx);
    free(e->wm);
    free(e->lastuse);
    free(e->order);
    free(e->ox);
    free(e->om);
    free(e->out);
    free(e->chk);
    free(e);
    *ep = NULL;
}

/* ---- inputs ---- */

static int s_recv_rc(uint32_t j, int r, const char *what, char *err, size_t errlen)
{
    return mpc_errc(err, errlen, r, "%s from party %u: %s", what, (unsigned)j, mpc_strerror(r));
}

/* Every input as [r] + δ: the masks, the owners' δ (one message per input and peer), the
 * broadcast transcript. */
static int s_stop(const mpc_mal_engine *e, const char *where, char *err, size_t errlen);

static int s_inputs(mpc_mal_engine *e, const uint64_t *const *in, char *err, size_t errlen)
{
    const mpc_circuit *c = e->c;
    mpc_u128 **delta = calloc(c->n_inputs ? c->n_inputs : 1, sizeof *delta);
    int r = delta ? 0 : MPC_ERR_NOMEM;
    for (uint32_t k = 0; k < c->n_inputs && !r; k++) {
        const mpc_input *inp = &c->inputs[k];
        uint64_t L = inp->len;
        uint32_t w = inp->wire, owner = inp->party;
        mpc_u128 *val = owner == e->self ? s_alloc(L) : NULL;
        e->wx[w] = s_alloc(L);
        e->wm[w] = s_alloc(L);
        delta[k] = s_alloc(L);
        if (!e->wx[w] || !e->wm[w] || !delta[k] || (owner == e->self && !val)) {
            s_wipe_free(val, L);
            r = MPC_ERR_NOMEM;
            break;
        }
        /* in pieces, with the cancel and the deadline checked between them (as s_round) */
        for (uint64_t off = 0; off < L && !r; off += S_FETCH) {
            uint64_t n = L - off < S_FETCH ? L - off : S_FETCH;
            if (off && (r = s_stop(e, "during the inputs", err, errlen))) break;
            uint64_t t0 = mpc_now_us();
            r = mpc_auth_src_masks(e->src, owner, n, e->wx[w] + off, e->wm[w] + off, val ? val + off : NULL);
            e->st.prep_us += mpc_now_us() - t0;
            e->st.masks += n;
            if (r) mpc_errc(err, errlen, r, "input %s: preprocessing: %s", inp->name, mpc_strerror(r));
        }
        if (!r) mpc_fault_u128(MPC_FAULT_MASK, MPC_FAULT_AT_INPUT, k, e->wx[w], L, 1);   /* test builds */
        if (!r && k + 1 < c->n_inputs) r = s_stop(e, "during the inputs", err, errlen);
        if (r) {
            s_wipe_free(val, L);
            break;
        }
        if (owner != e->self) continue;
        for (uint64_t i = 0; i < L; i++) delta[k][i] = (mpc_u128)in[k][i] - val[i];
        s_wipe_free(val, L);
        mpc_fault_u128(MPC_FAULT_INPUT, MPC_FAULT_AT_INPUT, k, delta[k], L, 1);
        uint32_t last = e->self + 1 == e->n ? e->n - 2 : e->n - 1;
        for (uint32_t j = 0; j < e->n && !r; j++) {
            if (j == e->self) continue;
            int f = j == last && mpc_fault_u128(MPC_FAULT_DELTA, MPC_FAULT_AT_INPUT, k, delta[k], L, 1);
            if ((r = mpc_send(e->t, j, MPC_MSG_INPUT, e->o.stream, k, (const uint64_t *)delta[k], 2 * L)))
                mpc_errc(err, errlen, r, "input %s: sending to party %u: %s", inp->name, (unsigned)j, mpc_strerror(r));
            if (f) mpc_fault_u128(MPC_FAULT_DELTA, MPC_FAULT_AT_INPUT, k, delta[k], L, -1);
        }
    }
    for (uint32_t k = 0; k < c->n_inputs && !r; k++) {
        const mpc_input *inp = &c->inputs[k];
        if (inp->party != e->self &&
            (r = mpc_recv(e->t, inp->party, MPC_MSG_INPUT, e->o.stream, k, (uint64_t *)delta[k], 2 * inp->len,
                          e->o.timeout_ms)))
            s_recv_rc(inp->party, r, "input", err, errlen);
    }
    for (uint32_t k = 0; k < c->n_inputs && !r; k++) {
        const mpc_input *inp = &c->inputs[k];
        uint32_t w = inp->wire;
        mpc_mac_check_bcast(e->ck, inp->party, k, (const uint64_t *)delta[k], 2 * inp->len);
        mpc_auth_add_pub128(e->wx[w], e->wm[w], e->wx[w], e->wm[w], delta[k], inp->len, *e->key.alpha, e->self == 0);
        mpc_fault_u128(MPC_FAULT_MAC, MPC_FAULT_AT_INPUT, k, e->wm[w], inp->len, 1);
    }
    if (delta)
        for (uint32_t k = 0; k < c->n_inputs; k++) free(delta[k]);   /* public */
    free(delta);
    return r;
}

/* ---- local gates ---- */

/* Gate gi's wire is (zx, zm), n elements each, when r is 0; otherwise both are wiped and freed
 * (NULL accepted) and r is returned. */
static int s_set_wire(mpc_mal_engine *e, uint32_t gi, mpc_u128 *zx, mpc_u128 *zm, uint64_t n, int r)
{
    if (r) {
        s_wipe_free(zx, n);
        s_wipe_free(zm, n);
        return r;
    }
    e->wx[gi] = zx;
    e->wm[gi] = zm;
    return 0;
}

static int s_local(mpc_mal_engine *e, uint32_t gi)
{
    const mpc_circuit *c = e->c;
    const mpc_gate *g = &c->gates[gi];
    uint64_t n = g->len;
    if (g->kind == MPC_G_CONST || g->kind == MPC_G_INPUT) return 0;   /* public / done */
    const mpc_u128 *xx = e->wx[g->in[0]], *xm = e->wm[g->in[0]];
    uint64_t nx = c->gates[g->in[0]].len;
    if (g->kind == MPC_G_OUTPUT) {
        uint64_t o = g->aux[0];
        if (e->lastuse[g->in[0]] == gi) {   /* move */
            e->ox[o] = e->wx[g->in[0]];
            e->om[o] = e->wm[g->in[0]];
            e->wx[g->in[0]] = e->wm[g->in[0]] = NULL;
            return 0;
        }
        if (!(e->ox[o] = s_alloc(n)) || !(e->om[o] = s_alloc(n))) return MPC_ERR_NOMEM;
        memcpy(e->ox[o], xx, (size_t)n * sizeof *xx);
        memcpy(e->om[o], xm, (size_t)n * sizeof *xm);
        return 0;
    }
    mpc_u128 *zx = s_alloc(n), *zm = s_alloc(n);
    if (!zx || !zm) {
        free(zx);
        free(zm);
        return MPC_ERR_NOMEM;
    }
    const mpc_u128 *yx = NULL, *ym = NULL;
    const uint64_t *pub = NULL;
    uint64_t ny = 0;
    if (mpc_gate_infos[g->kind].operands >= 2) {
        const mpc_gate *G1 = &c->gates[g->in[1]];
        ny = G1->len;
        if (G1->kind == MPC_G_CONST) pub = c->consts + G1->aux[0];
        yx = e->wx[g->in[1]];
        ym = e->wm[g->in[1]];
    }
    int r = 0;
    switch (g->kind) {
    case MPC_G_ADD:     mpc_auth_add(zx, zm, xx, xm, nx, yx, ym, ny, n); break;
    case MPC_G_SUB:     mpc_auth_sub(zx, zm, xx, xm, nx, yx, ym, ny, n); break;
    case MPC_G_NEG:     mpc_auth_neg(zx, zm, xx, xm, nx, n); break;
    case MPC_G_ADD_PUB: mpc_auth_add_pub(zx, zm, xx, xm, nx, pub, ny, n, *e->key.alpha, e->self == 0); break;
    case MPC_G_MUL_PUB: mpc_auth_mul_pub(zx, zm, xx, xm, nx, pub, ny, n); break;
    case MPC_G_SUM:
        zx[0] = zm[0] = 0;
        for (uint64_t k = 0; k < nx; k++) {
            zx[0] += xx[k];
            zm[0] += xm[k];
        }
        break;
    case MPC_G_SLICE:
        for (uint64_t k = 0; k < n; k++) {
            zx[k] = xx[g->aux[0] + k * g->aux[1]];
            zm[k] = xm[g->aux[0] + k * g->aux[1]];
        }
        break;
    case MPC_G_CONCAT:
        memcpy(zx, xx, (size_t)nx * sizeof *zx);
        memcpy(zm, xm, (size_t)nx * sizeof *zm);
        memcpy(zx + nx, yx, (size_t)ny * sizeof *zx);
        memcpy(zm + nx, ym, (size_t)ny * sizeof *zm);
        break;
    default:
        r = MPC_ERR_CIRCUIT;
    }
    return s_set_wire(e, gi, zx, zm, n, r);
}

/* ---- NOISE (docs/governance.md, "The mechanism: binomial noise from daBits") ---- */

static int s_check(mpc_mal_engine *e, char *err, size_t errlen);

/* Element k of NOISE gate gi (m = aux[0] coins) = the sum of m authenticated random bits − m/2.
 * The bits are made by all parties together (auth_bits.h: each the XOR of one private bit per
 * party, checked to be a bit), so the noise is Binomial(m, 1/2) − m/2 and unknown to every
 * coalition short of all parties; no party can bias it, and one that offsets its share of the
 * sum fails the MAC check.  The bits' check then runs at once (a MAC check), as for a TRUNC's
 * bits.  Cost per element: m bits (n masks and n triples each). */
static int s_noise(mpc_mal_engine *e, uint32_t gi, char *err, size_t errlen)
{
    const mpc_gate *g = &e->c->gates[gi];
    const uint64_t m = g->aux[0], L = g->len;
    mpc_auth_bits_ctx cx = {e->t, e->src, e->ck, &e->key, e->o.stream, e->o.timeout_ms, g->layer};
    mpc_auth_bits_stats bs = {0};
    mpc_u128 *zx = s_alloc(L), *zm = s_alloc(L), *bx = s_alloc(S_BITS_PIECE), *bm = s_alloc(S_BITS_PIECE);
    uint64_t seq = S_NOISE_SEQ | (uint64_t)gi << 24, el = 0, left = m;   /* the element, its bits to come */
    char where[64];
    snprintf(where, sizeof where, "in the noise of gate %u", (unsigned)gi);
    int r = zx && zm && bx && bm ? 0 : mpc_errc(err, errlen, MPC_ERR_NOMEM, "out of memory %s", where);
    if (!r) {
        memset(zx, 0, (size_t)L * sizeof *zx);
        memset(zm, 0, (size_t)L * sizeof *zm);
    }
    for (uint64_t off = 0; off < L * m && !r; off += S_BITS_PIECE) {
        uint64_t k = L * m - off < S_BITS_PIECE ? L * m - off : S_BITS_PIECE;
        if ((off && (r = s_stop(e, where, err, errlen))) || (r = mpc_auth_bits(&cx, seq, k, bx, bm, &bs, err, errlen)))
            break;
        seq += mpc_auth_bits_rounds(e->n);
        for (uint64_t j = 0; j < k;) {   /* the piece's bits, element by element */
            uint64_t take = k - j < left ? k - j : left;
            mpc_u128 sx = 0, sm = 0;
            for (uint64_t q = j; q < j + take; q++) {
                sx += bx[q];
                sm += bm[q];
            }
            zx[el] += sx;
            zm[el] += sm;
            j += take;
            if (!(left -= take)) {
                el++;
                left = m;
            }
        }
    }
    s_wipe_free(bx, S_BITS_PIECE);
    s_wipe_free(bm, S_BITS_PIECE);
    e->st.masks += bs.masks;
    e->st.triples += bs.triples;
    e->st.opened += bs.opened;
    e->st.open_bytes_sent += bs.bytes_sent;
    e->st.prep_us += bs.prep_us;
    e->st.bits += r ? 0 : L * m;
    if (!r) {
        const uint64_t half = (uint64_t)0 - m / 2;
        mpc_auth_add_pub(zx, zm, zx, zm, L, &half, 1, L, *e->key.alpha, e->self == 0);
        r = s_check(e, err, errlen);
    }
    return s_set_wire(e, gi, zx, zm, L, r);
}

/* ---- one layer's multiplications ---- */

static uint64_t s_mults_of(const mpc_circuit *c, const mpc_gate *g)
{
    if (g->kind == MPC_G_TRUNC || g->kind == MPC_G_LTZ || g->kind == MPC_G_EQZ) return 0;
    return g->kind == MPC_G_DOT ? c->gates[g->in[0]].len : g->len;
}

/* d = x − a, e = y − b of every multiplication of gates[0..ng) into mine (and their MAC
 * shares into mac), gate by gate [d of the gate][e of the gate]. */
static void s_openings(const mpc_mal_engine *e, const uint32_t *gates, uint32_t ng, const mpc_auth_triples *tr,
                       mpc_u128 *mine, mpc_u128 *mac)
{
    const mpc_circuit *c = e->c;
    uint64_t tpos = 0;
    for (uint32_t i = 0; i < ng; i++) {
        const mpc_gate *g = &c->gates[gates[i]];
        uint64_t L = s_mults_of(c, g);
        if (!L) continue;   /* TRUNC: s_trunc_open; LTZ, EQZ: s_compare */
        uint64_t sx = c->gates[g->in[0]].len == 1 && L > 1 ? 0 : 1, sy = c->gates[g->in[1]].len == 1 && L > 1 ? 0 : 1;
        const mpc_u128 *xx = e->wx[g->in[0]], *xm = e->wm[g->in[0]], *yx = e->wx[g->in[1]], *ym = e->wm[g->in[1]];
        const mpc_u128 *A = tr->a + tpos, *MA = tr->ma + tpos, *B = tr->b + tpos, *MB = tr->mb + tpos;
        mpc_u128 *d = mine + 2 * tpos, *ev = d + L, *md = mac + 2 * tpos, *me = md + L;
        if (g->kind == MPC_G_SELECT) {   /* y + s·(x − y): the product s·(x − y) */
            uint64_t sz = c->gates[g->in[2]].len == 1 && L > 1 ? 0 : 1;
            const mpc_u128 *zx = e->wx[g->in[2]], *zm = e->wm[g->in[2]];
            for (uint64_t k = 0; k < L; k++) {
                d[k] = xx[k * sx] - A[k];
                ev[k] = yx[k * sy] - zx[k * sz] - B[k];
                md[k] = xm[k * sx] - MA[k];
                me[k] = ym[k * sy] - zm[k * sz] - MB[k];
            }
        } else if (sx && sy) {
            for (uint64_t k = 0; k < L; k++) {
                d[k] = xx[k] - A[k];
                ev[k] = yx[k] - B[k];
                md[k] = xm[k] - MA[k];
                me[k] = ym[k] - MB[k];
            }
        } else {
            for (uint64_t k = 0; k < L; k++) {
                d[k] = xx[k * sx] - A[k];
                ev[k] = yx[k * sy] - B[k];
                md[k] = xm[k * sx] - MA[k];
                me[k] = ym[k * sy] - MB[k];
            }
        }
        tpos += L;
    }
}

/* z = c + d·b + e·a (+ d·e on party 0), MAC mc + d·mb + e·ma + α_i·d·e; DOT sums per segment. */
static int s_products(mpc_mal_engine *e, const uint32_t *gates, uint32_t ng, const mpc_auth_triples *tr,
                      const mpc_u128 *op)
{
    const mpc_circuit *c = e->c;
    const int p0 = e->self == 0;
    const mpc_u128 alpha = *e->key.alpha;
    uint64_t tpos = 0;
    for (uint32_t i = 0; i < ng; i++) {
        uint32_t gi = gates[i];
        const mpc_gate *g = &c->gates[gi];
        uint64_t L = s_mults_of(c, g);
        if (!L) continue;   /* TRUNC: s_trunc_finish */
        mpc_u128 *zx = s_alloc(g->len), *zm = s_alloc(g->len);
        if (!zx || !zm) {
            free(zx);
            free(zm);
            return MPC_ERR_NOMEM;
        }
        const mpc_u128 *A = tr->a + tpos, *MA = tr->ma + tpos, *B = tr->b + tpos, *MB = tr->mb + tpos;
        const mpc_u128 *C = tr->c + tpos, *MC = tr->mc + tpos, *d = op + 2 * tpos, *ev = d + L;
        if (g->kind == MPC_G_DOT) {
            uint64_t seg = g->aux[0] ? g->aux[0] : L;
            for (uint64_t j = 0, k = 0; j < g->len; j++) {
                mpc_u128 sx = 0, sm = 0, de = 0;
                uint64_t end = k + seg < L ? k + seg : L;
                for (; k < end; k++) {
                    mpc_u128 t = d[k] * ev[k];
                    sx += C[k] + d[k] * B[k] + ev[k] * A[k];
                    sm += MC[k] + d[k] * MB[k] + ev[k] * MA[k];
                    de += t;
                }
                zx[j] = sx + (p0 ? de : 0);
                zm[j] = sm + alpha * de;
            }
        } else {
            for (uint64_t k = 0; k < L; k++) {
                mpc_u128 t = d[k] * ev[k];
                zx[k] = C[k] + d[k] * B[k] + ev[k] * A[k] + (p0 ? t : 0);
                zm[k] = MC[k] + d[k] * MB[k] + ev[k] * MA[k] + alpha * t;
            }
            if (g->kind == MPC_G_SELECT) {   /* + y */
                uint64_t sz = c->gates[g->in[2]].len == 1 && L > 1 ? 0 : 1;
                for (uint64_t k = 0; k < L; k++) {
                    zx[k] += e->wx[g->in[2]][k * sz];
                    zm[k] += e->wm[g->in[2]][k * sz];
                }
            }
        }
        e->wx[gi] = zx;
        e->wm[gi] = zm;
        tpos += L;
    }
    return 0;
}

/* ---- TRUNC (engine_mal.h, docs/security.md "Random bits and truncation under MACs") ---- */

static uint64_t s_trunc_elems(const mpc_circuit *c, const uint32_t *gates, uint32_t ng)
{
    uint64_t U = 0;
    for (uint32_t i = 0; i < ng; i++)
        if (c->gates[gates[i]].kind == MPC_G_TRUNC) U += c->gates[gates[i]].len;
    return U;
}


/* Folds element q's l + 1 bits b (value or MAC shares) into tm: r~ = r_lo + 2^m·r_mid +
 * 2^l·r_msb + 2^(l+1)·R (tm[q] holds R), r_mid and r_msb. */
static void s_trunc_fold(mpc_u128 *r, mpc_u128 *mid, mpc_u128 *msb, const mpc_u128 *b, unsigned m, unsigned l)
{
    mpc_u128 lo = 0, md = 0;
    for (unsigned i = 0; i < m; i++) lo += b[i] << i;
    for (unsigned i = m; i < l; i++) md += b[i] << (i - m);
    *mid = md;
    *msb = b[l];
    *r = lo + (md << m) + (b[l] << l) + (*r << (l + 1));
}

/* The layer's TRUNC material, tm = [r~ x][r~ mac][r_mid x][mac][r_msb x][mac] of U elements
 * each, from the parties' random bits (auth_bits.h); then a MAC check, which must pass before
 * anything computed from the bits is opened (a non-bit is caught only there). */
static int s_trunc_material(mpc_mal_engine *e, uint32_t layer, const uint32_t *gates, uint32_t ng, uint64_t U,
                            mpc_u128 *tm, char *err, size_t errlen)
{
    const mpc_circuit *c = e->c;
    mpc_auth_bits_ctx cx = {e->t, e->src, e->ck, &e->key, e->o.stream, e->o.timeout_ms, layer};
    mpc_auth_bits_stats bs = {0};
    mpc_u128 *bx = s_alloc(S_BITS_PIECE), *bm = s_alloc(S_BITS_PIECE);
    uint64_t seq = S_BITS_SEQ | (uint64_t)layer << 32, pos = 0, bits = 0;
    char where[64];
    snprintf(where, sizeof where, "in layer %u", (unsigned)layer);
    int r = bx && bm ? mpc_auth_random(&cx, U, tm, tm + U, &bs, err, errlen)
                     : mpc_errc(err, errlen, MPC_ERR_NOMEM, "out of memory in round %u", (unsigned)layer);
    for (uint32_t i = 0; i < ng && !r; i++) {
        const mpc_gate *g = &c->gates[gates[i]];
        if (g->kind != MPC_G_TRUNC) continue;
        unsigned m = (unsigned)g->aux[0], l = (unsigned)g->aux[1];
        uint64_t P = S_BITS_PIECE / (l + 1);
        for (uint64_t off = 0; off < g->len && !r; off += P) {
            uint64_t k = g->len - off < P ? g->len - off : P;
            if ((pos || off) && (r = s_stop(e, where, err, errlen))) break;
            if ((r = mpc_auth_bits(&cx, seq, k * (l + 1), bx, bm, &bs, err, errlen))) break;
            seq += mpc_auth_bits_rounds(e->n);
            bits += k * (l + 1);
            for (uint64_t j = 0; j < k; j++) {
                uint64_t q = pos + off + j;
                s_trunc_fold(tm + q, tm + 2 * U + q, tm + 4 * U + q, bx + j * (l + 1), m, l);
                s_trunc_fold(tm + U + q, tm + 3 * U + q, tm + 5 * U + q, bm + j * (l + 1), m, l);
            }
        }
        pos += g->len;
    }
    s_wipe_free(bx, S_BITS_PIECE);
    s_wipe_free(bm, S_BITS_PIECE);
    if (!r) mpc_fault_u128(MPC_FAULT_TPAIR, MPC_FAULT_AT_LAYER, layer, tm, U, 1);   /* test builds: r~ */
    e->st.masks += bs.masks;
    e->st.triples += bs.triples;
    e->st.opened += bs.opened;
    e->st.open_bytes_sent += bs.bytes_sent;
    e->st.prep_us += bs.prep_us;
    e->st.bits += bits;
    return r ? r : s_check(e, err, errlen);
}

/* y = 2^(63−l)·(x + 2^(l−1) + r~) of every TRUNC element into op (MAC shares into mac):
 * only c = (x + 2^(l−1) + r) mod 2^(l+1) shows in the low 64 bits, 2^64·R covers the rest. */
static void s_trunc_open(const mpc_mal_engine *e, const uint32_t *gates, uint32_t ng, uint64_t U,
                         const mpc_u128 *tm, mpc_u128 *op, mpc_u128 *mac)
{
    const mpc_circuit *c = e->c;
    const mpc_u128 alpha = *e->key.alpha;
    uint64_t q = 0;
    for (uint32_t i = 0; i < ng; i++) {
        const mpc_gate *g = &c->gates[gates[i]];
        if (g->kind != MPC_G_TRUNC) continue;
        unsigned l = (unsigned)g->aux[1];
        mpc_u128 h = (mpc_u128)1 << (l - 1);
        const mpc_u128 *xx = e->wx[g->in[0]], *xm = e->wm[g->in[0]];
        for (uint64_t k = 0; k < g->len; k++, q++) {
            op[q] = (xx[k] + (e->self == 0 ? h : 0) + tm[q]) << (63 - l);
            mac[q] = (xm[k] + alpha * h + tm[U + q]) << (63 - l);
        }
    }
}

/* With the openings y: result = (c' >> m) − r_mid + 2^(l−m)·(c_l ⊕ r_msb) − 2^(l−1−m), c =
 * (y mod 2^64) >> (63 − l), c' = c mod 2^l (docs/engine.md, "Truncation"). */
static int s_trunc_finish(mpc_mal_engine *e, const uint32_t *gates, uint32_t ng, uint64_t U, const mpc_u128 *tm,
                          const mpc_u128 *y)
{
    const mpc_circuit *c = e->c;
    const mpc_u128 alpha = *e->key.alpha;
    uint64_t q = 0;
    for (uint32_t i = 0; i < ng; i++) {
        uint32_t gi = gates[i];
        const mpc_gate *g = &c->gates[gi];
        if (g->kind != MPC_G_TRUNC) continue;
        unsigned m = (unsigned)g->aux[0], l = (unsigned)g->aux[1];
        mpc_u128 *zx = s_alloc(g->len), *zm = s_alloc(g->len);
        if (!zx || !zm) {
            free(zx);
            free(zm);
            return MPC_ERR_NOMEM;
        }
        for (uint64_t k = 0; k < g->len; k++, q++) {
            uint64_t cv = (uint64_t)y[q] >> (63 - l), cl = cv >> l, cp = cv & ((1ull << l) - 1);
            mpc_u128 K = (mpc_u128)(cp >> m) + ((mpc_u128)cl << (l - m)) - ((mpc_u128)1 << (l - 1 - m));
            mpc_u128 s = cl ? -((mpc_u128)1 << (l - m)) : (mpc_u128)1 << (l - m);   /* v = c_l + (1 − 2c_l)·r_msb */
            zx[k] = (e->self == 0 ? K : 0) - tm[2 * U + q] + s * tm[4 * U + q];
            zm[k] = alpha * K - tm[3 * U + q] + s * tm[5 * U + q];
        }
        e->wx[gi] = zx;
        e->wm[gi] = zm;
    }
    return 0;
}

/* ---- LTZ and EQZ (auth_cmp.h) ---- */

/* Every LTZ (eqz = 0) or EQZ element of the layer, gathered, in pieces of
 * MPC_AUTH_CMP_PIECE: bits, a MAC check, one opening, the tree; the results scattered to
 * the gates.  *seq counts the messages of the layer's comparisons. */
static int s_compare_kind(mpc_mal_engine *e, uint32_t layer, const uint32_t *gates, uint32_t ng, int eqz,
                          uint64_t *seq, char *err, size_t errlen)
{
    const mpc_circuit *c = e->c;
    const uint8_t kind = eqz ? MPC_G_EQZ : MPC_G_LTZ;
    uint64_t N = 0;
    for (uint32_t i = 0; i < ng; i++)
        if (c->gates[gates[i]].kind == kind) N += c->gates[gates[i]].len;
    if (!N) return 0;
    mpc_u128 *x = s_alloc(N), *xm = s_alloc(N), *z = s_alloc(N), *zm = s_alloc(N);
    int r = 0;
    if (!x || !xm || !z || !zm) {
        r = mpc_errc(err, errlen, MPC_ERR_NOMEM, "out of memory in round %u", (unsigned)layer);
        goto out;
    }
    uint64_t q = 0;
    for (uint32_t i = 0; i < ng; i++) {
        const mpc_gate *g = &c->gates[gates[i]];
        if (g->kind != kind) continue;
        memcpy(x + q, e->wx[g->in[0]], (size_t)g->len * sizeof *x);
        memcpy(xm + q, e->wm[g->in[0]], (size_t)g->len * sizeof *x);
        q += g->len;
    }
    mpc_auth_bits_ctx cx = {e->t, e->src, e->ck, &e->key, e->o.stream, e->o.timeout_ms, layer};
    mpc_auth_bits_stats bs = {0};
    char where[64];
    snprintf(where, sizeof where, "in layer %u", (unsigned)layer);
    for (uint64_t off = 0; off < N && !r; off += MPC_AUTH_CMP_PIECE) {
        uint64_t k = N - off < MPC_AUTH_CMP_PIECE ? N - off : MPC_AUTH_CMP_PIECE;
        if ((r = s_stop(e, where, err, errlen))) break;
        r = mpc_auth_compare(&cx, S_CMP_SEQ | (uint64_t)layer << 32 | *seq, eqz, k, x + off, xm + off, z + off,
                             zm + off, &bs, err, errlen);
        *seq += mpc_auth_cmp_rounds(e->n);
    }
    e->st.masks += bs.masks;
    e->st.triples += bs.triples;
    e->st.opened += bs.opened;
    e->st.open_bytes_sent += bs.bytes_sent;
    e->st.prep_us += bs.prep_us;
    e->st.checks += bs.checks;
    e->st.check_us += bs.check_us;
    e->st.bits += 64 * (r ? 0 : N);
    e->st.comparisons += r ? 0 : N;
    q = 0;
    for (uint32_t i = 0; i < ng && !r; i++) {
        uint32_t gi = gates[i];
        const mpc_gate *g = &c->gates[gi];
        if (g->kind != kind) continue;
        if (!(e->wx[gi] = s_alloc(g->len)) || !(e->wm[gi] = s_alloc(g->len))) {
            r = mpc_errc(err, errlen, MPC_ERR_NOMEM, "out of memory in round %u", (unsigned)layer);
            break;
        }
        memcpy(e->wx[gi], z + q, (size_t)g->len * sizeof *z);
        memcpy(e->wm[gi], zm + q, (size_t)g->len * sizeof *z);
        q += g->len;
    }
out:
    s_wipe_free(x, N);
    s_wipe_free(xm, N);
    s_wipe_free(z, N);
    s_wipe_free(zm, N);
    return r;
}

static int s_round(mpc_mal_engine *e, uint32_t layer, const uint32_t *gates, uint32_t ng, char *err, size_t errlen)
{
    const mpc_circuit *c = e->c;
    uint64_t T = 0, U = s_trunc_elems(c, gates, ng);
    for (uint32_t i = 0; i < ng; i++) T += s_mults_of(c, &c->gates[gates[i]]);
    const uint64_t W = 2 * T + U;   /* words opened: [d, e of the products][y of the TRUNCs] */
    mpc_u128 *mat = s_alloc(6 * T), *mine = s_alloc(W), *mac = s_alloc(W), *tm = U ? s_alloc(6 * U) : NULL;
    int r = 0;
    if (!mat || !mine || !mac || (U && !tm)) {
        r = mpc_errc(err, errlen, MPC_ERR_NOMEM, "out of memory in round %u", (unsigned)layer);
        goto out;
    }
    mpc_auth_triples tr = {mat, mat + T, mat + 2 * T, mat + 3 * T, mat + 4 * T, mat + 5 * T};
    /* In pieces, with the cancel and the deadline checked between them and the progress told:
     * a large layer's material takes seconds.  Every party splits alike (engine_mal.h). */
    for (uint64_t off = 0; off < T; off += S_FETCH) {
        uint64_t k = T - off < S_FETCH ? T - off : S_FETCH;
        mpc_auth_triples piece = {tr.a + off, tr.ma + off, tr.b + off, tr.mb + off, tr.c + off, tr.mc + off};
        char where[64];
        snprintf(where, sizeof where, "in layer %u", (unsigned)layer);
        if (off && (r = s_stop(e, where, err, errlen))) goto out;
        uint64_t t0 = mpc_now_us();
        r = mpc_auth_src_triples(e->src, k, &piece);
        e->st.prep_us += mpc_now_us() - t0;
        if (r) {
            mpc_errc(err, errlen, r, "round %u: preprocessing: %s", (unsigned)layer, mpc_strerror(r));
            goto out;
        }
        e->st.triples += k;
        if (e->o.progress && off + k < T) e->o.progress(e->o.progress_ctx, e->st.rounds, e->st.triples);
    }
    mpc_fault_u128(MPC_FAULT_TRIPLE_C, MPC_FAULT_AT_LAYER, layer, tr.c, T, 1);   /* test builds: fault.h */
    mpc_fault_u128(MPC_FAULT_TRIPLE_A, MPC_FAULT_AT_LAYER, layer, tr.a, T, 1);
    mpc_fault_u128(MPC_FAULT_TRIPLE_B, MPC_FAULT_AT_LAYER, layer, tr.b, T, 1);
    if (U && (r = s_trunc_material(e, layer, gates, ng, U, tm, err, errlen))) goto out;
    s_openings(e, gates, ng, &tr, mine, mac);
    if (U) s_trunc_open(e, gates, ng, U, tm, mine + 2 * T, mac + 2 * T);
    mpc_fault_u128(MPC_FAULT_OPEN, MPC_FAULT_AT_LAYER, layer, mine, W, 1);
    mpc_fault_u128(MPC_FAULT_MAC, MPC_FAULT_AT_LAYER, layer, mac, W, 1);
    uint32_t peer;
    if ((r = mpc_auth_exchange_sliced(e->t, MPC_MSG_OPEN, e->o.stream, layer, mine, W, S_SLICE, S_SLICE_WINDOW,
                                      e->o.timeout_ms, &peer))) {
        mpc_errc(err, errlen, r, "round %u: party %u: %s", (unsigned)layer, (unsigned)peer, mpc_strerror(r));
        goto out;
    }
    e->st.rounds++;
    e->st.opened += W;
    e->st.open_bytes_sent += 16 * W * (e->n - 1);
    e->st.trunc += U;
    if ((r = s_products(e, gates, ng, &tr, mine)) || (U && (r = s_trunc_finish(e, gates, ng, U, tm, mine + 2 * T)))) {
        mpc_errc(err, errlen, r, "out of memory in round %u", (unsigned)layer);
        goto out;
    }
    r = mpc_mac_check_add(e->ck, mine, mac, W);
    mine = mac = NULL;
    if (r) mpc_errc(err, errlen, r, "out of memory in round %u", (unsigned)layer);
    uint64_t cseq = 0;
    if (!r) r = s_compare_kind(e, layer, gates, ng, 0, &cseq, err, errlen);
    if (!r) r = s_compare_kind(e, layer, gates, ng, 1, &cseq, err, errlen);
    for (uint32_t i = 0; i < ng && !r; i++) s_release_operands(e, gates[i]);
out:
    s_wipe_free(mat, 6 * T);
    s_wipe_free(tm, 6 * U);
    free(mine);
    s_wipe_free(mac, W);
    return r;
}

/* ---- MAC checks and outputs ---- */

static int s_check(mpc_mal_engine *e, char *err, size_t errlen)
{
    uint32_t peer;
    uint64_t t0 = mpc_now_us();
    int r = mpc_mac_check_run(e->ck, &e->key, &peer, err, errlen);
    e->st.check_us += mpc_now_us() - t0;
    if (!r) e->st.checks++;
    return r;
}

static uint32_t s_recipients(const mpc_mal_engine *e, uint32_t o)
{
    uint32_t all = e->n >= 32 ? UINT32_MAX : (1u << e->n) - 1;
    return e->c->outputs[o].recipients & all;
}

/* Opens [x − r_p] for every output and recipient p (one message per peer), runs the final MAC
 * check and only then sets the recipients' values. */
static int s_outputs(mpc_mal_engine *e, uint32_t o0, uint64_t seq, char *err, size_t errlen)
{
    const mpc_circuit *c = e->c;
    uint64_t W = 0;
    for (uint32_t o = o0; o < c->n_outputs; o++)
        W += c->outputs[o].len * (uint64_t)__builtin_popcount(s_recipients(e, o));
    mpc_u128 *mine = s_alloc(W), *mac = s_alloc(W), *mx = NULL, *mm = NULL;
    uint64_t **vals = calloc(c->n_outputs ? c->n_outputs : 1, sizeof *vals);
    mpc_u128 **rv = calloc(c->n_outputs ? c->n_outputs : 1, sizeof *rv);
    uint64_t *off = calloc(c->n_outputs ? c->n_outputs : 1, sizeof *off);
    int r = 0;
    if (!mine || !mac || !vals || !rv || !off) {
        r = mpc_errc(err, errlen, MPC_ERR_NOMEM, "out of memory opening the outputs");
        goto out;
    }
    uint64_t pos = 0;
    for (uint32_t o = o0; o < c->n_outputs && !r; o++) {
        uint64_t L = c->outputs[o].len;
        uint32_t rec = s_recipients(e, o);
        if (!(mx = s_alloc(L)) || !(mm = s_alloc(L))) {
            r = mpc_errc(err, errlen, MPC_ERR_NOMEM, "out of memory opening the outputs");
            break;
        }
        for (uint32_t p = 0; p < e->n && !r; p++) {
            if (!(rec >> p & 1)) continue;
            if (p == e->self && !(rv[o] = s_alloc(L))) {
                r = mpc_errc(err, errlen, MPC_ERR_NOMEM, "out of memory opening the outputs");
                break;
            }
            uint64_t t0 = mpc_now_us();
            r = mpc_auth_src_masks(e->src, p, L, mx, mm, p == e->self ? rv[o] : NULL);
            e->st.prep_us += mpc_now_us() - t0;
            e->st.masks += L;
            if (r) {
                mpc_errc(err, errlen, r, "output %s: preprocessing: %s", c->outputs[o].name, mpc_strerror(r));
                break;
            }
            if (p == e->self) off[o] = pos;
            mpc_fault_u128(MPC_FAULT_MASK, MPC_FAULT_AT_OUTPUT, o, mx, L, 1);   /* test builds: fault.h */
            for (uint64_t k = 0; k < L; k++) {
                mine[pos + k] = e->ox[o][k] - mx[k];
                mac[pos + k] = e->om[o][k] - mm[k];
            }
            mpc_fault_u128(MPC_FAULT_OPEN, MPC_FAULT_AT_OUTPUT, o, mine + pos, L, 1);
            mpc_fault_u128(MPC_FAULT_MAC, MPC_FAULT_AT_OUTPUT, o, mac + pos, L, 1);
            pos += L;
        }
        s_wipe_free(mx, L);
        s_wipe_free(mm, L);
        mx = mm = NULL;
    }
    if (r) goto out;
    uint32_t peer;
    if ((r = mpc_auth_exchange(e->t, MPC_MSG_OUTPUT, e->o.stream, seq, mine, mine, W, e->o.timeout_ms, &peer))) {
        mpc_errc(err, errlen, r, "opening the outputs: party %u: %s", (unsigned)peer, mpc_strerror(r));
        goto out;
    }
    e->st.opened += W;
    e->st.open_bytes_sent += 16 * W * (e->n - 1);
    for (uint32_t o = o0; o < c->n_outputs && !r; o++) {
        if (!rv[o]) continue;
        uint64_t L = c->outputs[o].len;
        if (!(vals[o] = malloc((size_t)(L ? L : 1) * 8))) {
            r = mpc_errc(err, errlen, MPC_ERR_NOMEM, "out of memory opening the outputs");
            break;
        }
        for (uint64_t k = 0; k < L; k++) vals[o][k] = (uint64_t)(mine[off[o] + k] + rv[o][k]);
    }
    if (r) goto out;
    r = mpc_mac_check_add(e->ck, mine, mac, W);
    mine = mac = NULL;
    if (r) {
        mpc_errc(err, errlen, r, "out of memory opening the outputs");
        goto out;
    }
    if ((r = s_check(e, err, errlen))) goto out;
    for (uint32_t o = o0; o < c->n_outputs; o++) {   /* released only now */
        e->out[o] = vals[o];
        vals[o] = NULL;
    }
out:
    free(mine);
    s_wipe_free(mac, W);
    for (uint32_t o = 0; o < c->n_outputs && vals; o++) {
        if (vals[o]) {
            sodium_memzero(vals[o], (size_t)c->outputs[o].len * 8);
            free(vals[o]);
        }
        if (rv) s_wipe_free(rv[o], c->outputs[o].len);
    }
    free(vals);
    free(rv);
    free(off);
    return r;
}

/* N jointly random authenticated values into (x, m): element k is the sum over the owners
 * p = 0, 1, …, n − 1 (every party makes the same calls in this order) of one authenticated mask
 * of owner p, fetched in pieces of S_FETCH with the cancel and the deadline checked between
 * them.  Owner p learns its own mask's value (wiped here), nobody the sum: it is uniform in
 * Z_2^128 and unknown to every coalition short of all parties.  A party's wrong shares of it
 * are additive errors on whatever it later opens of a value made from it, which the MAC check
 * covers as any other (docs/security.md, "Checked client outputs").  Costs n·N masks (counted
 * in e->st.masks) and no triple.  0 or MPC_ERR_* with the reason (and `where`) in err. */
static int s_joint_randoms(mpc_mal_engine *e, uint64_t N, mpc_u128 *x, mpc_u128 *m, const char *where, char *err,
                           size_t errlen)
{
    const uint64_t P = N < S_FETCH ? N : S_FETCH;
    mpc_u128 *px = s_alloc(P ? P : 1), *pm = s_alloc(P ? P : 1), *val = s_alloc(P ? P : 1);
    int r = px && pm && val ? 0 : mpc_errc(err, errlen, MPC_ERR_NOMEM, "out of memory %s", where);
    if (!r) {
        memset(x, 0, (size_t)N * sizeof *x);
        memset(m, 0, (size_t)N * sizeof *m);
    }
    for (uint64_t off = 0; off < N && !r; off += S_FETCH) {
        uint64_t k = N - off < S_FETCH ? N - off : S_FETCH;
        if (off && (r = s_stop(e, where, err, errlen))) break;
        for (uint32_t p = 0; p < e->n && !r; p++) {
            uint64_t t0 = mpc_now_us();
            r = mpc_auth_src_masks(e->src, p, k, px, pm, p == e->self ? val : NULL);
            e->st.prep_us += mpc_now_us() - t0;
            if (r) {
                mpc_errc(err, errlen, r, "%s: preprocessing: %s", where, mpc_strerror(r));
                break;
            }
            e->st.masks += k;
            for (uint64_t i = 0; i < k; i++) {
                x[off + i] += px[i];
                m[off + i] += pm[i];
            }
        }
    }
    s_wipe_free(px, P ? P : 1);
    s_wipe_free(pm, P ? P : 1);
    s_wipe_free(val, P ? P : 1);
    return r;
}

/* ---- the vector check (vcheck.h): client outputs and client inputs ---- */

#define S_VC_IN     8u            /* MPC_MSG_OUTPUT seq base of the client inputs' check */
#define S_VC_OUT    16u           /* ... of the client outputs' check */
#define S_VC_OWNER  (UINT32_MAX - 1)   /* the coin's owner in the broadcast transcript */
#define S_CLIENT_OWNER UINT32_MAX   /* the owner of a client's vector in the broadcast transcript */
#define S_VC_PIECE  4096u         /* coin words per piece of the combination */

/* This party's report of vector j (x: L value shares; pad: D) into rec: the low 64 bits, the
 * test builds' fault (kind at index j) on it before the commitment, a fresh nonce, and its
 * commitment into com.  The report is what the party commits to and hands out. */
static int s_vc_report(const mpc_mal_engine *e, uint8_t *rec, const mpc_u128 *x, const mpc_u128 *pad, uint64_t L,
                       mpc_fault_kind fk, mpc_fault_at fa, uint32_t j, uint8_t com[32])
{
    uint64_t *w = malloc((size_t)(L + MPC_VCHECK_D) * 8);
    if (!w) return MPC_ERR_NOMEM;
    for (uint64_t l = 0; l < L; l++) w[l] = (uint64_t)x[l];
    for (unsigned i = 0; i < MPC_VCHECK_D; i++) w[L + i] = (uint64_t)pad[i];
    mpc_fault_u64(fk, fa, j, w, L + MPC_VCHECK_D);   /* test builds: a report off by delta, committed */
    for (uint64_t l = 0; l < L + MPC_VCHECK_D; l++) mpc_vcheck_wr64(rec + 8 * l, w[l]);
    sodium_memzero(w, (size_t)(L + MPC_VCHECK_D) * 8);
    free(w);
    randombytes_buf(rec + mpc_vcheck_off_nonce(L), 32);
    mpc_vcheck_commit(com, e->self, L, rec + mpc_vcheck_off_nonce(L), rec);
    return 0;
}

/* z's shares of vector j (value or MAC shares x, L of them, and the pads') into acc (D). */
static int s_vc_combine(mpc_u128 *acc, const mpc_u128 *x, const mpc_u128 *pad, uint64_t L, const uint8_t seed[32])
{
    uint64_t *w = malloc((size_t)(L < S_VC_PIECE ? L : S_VC_PIECE) * 8 + 8);
    if (!w) return MPC_ERR_NOMEM;
    memcpy(acc, pad, MPC_VCHECK_D * sizeof *acc);
    for (uint64_t off = 0; off < L; off += S_VC_PIECE) {
        uint64_t k = L - off < S_VC_PIECE ? L - off : S_VC_PIECE;
        mpc_vcheck_bits(w, off, k, seed);
        mpc_vcheck_combine(acc, x + off, w, k);
    }
    free(w);
    return 0;
}

typedef struct {
    uint32_t        V;          /* vectors */
    const mpc_u128 *const *x, *const *m;   /* their value and MAC shares */
    const uint64_t *len;
    uint64_t        seq;        /* MPC_MSG_OUTPUT seq base: +0 commitments, +1..2 coin, +3 z */
    mpc_fault_kind  fault;      /* test builds: the report's fault kind */
    mpc_fault_at    at;
    const char     *where;
} s_vc_job;

/* Commitments exchanged (into the broadcast transcript), then the coin: coms (n·V·32 bytes,
 * party-major) and seed.  0 or MPC_ERR_* with the reason in err. */
static int s_vc_commit_coin(mpc_mal_engine *e, const s_vc_job *vj, const uint8_t *mine, uint8_t *coms, uint8_t seed[32],
                            char *err, size_t errlen)
{
    uint32_t peer;
    const uint64_t words = (uint64_t)vj->V * 4;
    int r = mpc_auth_round_all(e->t, MPC_MSG_OUTPUT, e->o.stream, vj->seq, (const uint64_t *)(const void *)mine,
                               words, (uint64_t *)(void *)coms, e->o.timeout_ms, &peer);
    if (r) return mpc_errc(err, errlen, r, "%s: party %u: %s", vj->where, (unsigned)peer, mpc_strerror(r));
    for (uint32_t p = 0; p < e->n; p++)
        mpc_mac_check_bcast(e->ck, p, vj->seq, (const uint64_t *)(const void *)(coms + (size_t)p * words * 8), words);
    char why[160];
    if ((r = mpc_auth_coin(e->t, MPC_MSG_OUTPUT, e->o.stream, vj->seq + 1, seed, e->o.timeout_ms, &peer, why,
                           sizeof why)))
        return mpc_errc(err, errlen, r, "%s: %s", vj->where, why);
    mpc_mac_check_bcast(e->ck, S_VC_OWNER, vj->seq + 1, (const uint64_t *)(const void *)seed, 4);
    return 0;
}

/* The vector check (vcheck.h) of vj's vectors: pads, reports and commitments, the coin, z
 * opened and the MAC check; on success rec[j] (malloc'ed, mpc_vcheck_record_bytes) is this
 * party's record of vector j.  n·D·V masks.  0 or MPC_ERR_* with the reason in err. */
static int s_vcheck(mpc_mal_engine *e, const s_vc_job *vj, uint8_t **rec, char *err, size_t errlen)
{
    const uint32_t V = vj->V, D = MPC_VCHECK_D;
    const uint64_t P = (uint64_t)D * V;
    if (!V) return 0;   /* nothing to check: every party knows it from the circuit */
    mpc_u128 *px = s_alloc(P), *pm = s_alloc(P), *zx = s_alloc(P), *zm = s_alloc(P);
    uint8_t *mine = calloc((size_t)V * 32 + 1, 1), *coms = calloc((size_t)e->n * V * 32 + 1, 1), seed[32];
    int r = px && pm && zx && zm && mine && coms ? 0 : MPC_ERR_NOMEM;
    for (uint32_t j = 0; j < V && !r; j++) {
        size_t bytes = mpc_vcheck_record_bytes(vj->len[j], e->n);
        if (!bytes) r = MPC_ERR_LIMIT;
        else if (!(rec[j] = calloc(bytes, 1))) r = MPC_ERR_NOMEM;
    }
    if (r) {
        mpc_errc(err, errlen, r, "%s: %s", vj->where, r == MPC_ERR_LIMIT ? "a vector's length is out of range"
                                                                        : "out of memory");
        goto out;
    }
    if ((r = s_joint_randoms(e, P, px, pm, vj->where, err, errlen))) goto out;   /* the pads */
    for (uint32_t j = 0; vj->at == MPC_FAULT_AT_OUTPUT && j < V; j++)   /* test builds: fault.h */
        mpc_fault_u128(MPC_FAULT_MASK, vj->at, j, px + (uint64_t)j * D, D, 1);
    for (uint32_t j = 0; j < V && !r; j++)
        r = s_vc_report(e, rec[j], vj->x[j], px + (uint64_t)j * D, vj->len[j], vj->fault, vj->at, j, mine + 32 * j);
    if (r) {
        mpc_errc(err, errlen, r, "%s: out of memory", vj->where);
        goto out;
    }
    if ((r = s_vc_commit_coin(e, vj, mine, coms, seed, err, errlen))) goto out;
    for (uint32_t j = 0; j < V && !r; j++) {
        uint64_t o = (uint64_t)j * D;
        if (!(r = s_vc_combine(zx + o, vj->x[j], px + o, vj->len[j], seed)))
            r = s_vc_combine(zm + o, vj->m[j], pm + o, vj->len[j], seed);
    }
    if (r) {
        mpc_errc(err, errlen, r, "%s: out of memory", vj->where);
        goto out;
    }
    for (uint32_t j = 0; vj->at == MPC_FAULT_AT_OUTPUT && j < V; j++) {   /* test builds: fault.h */
        mpc_fault_u128(MPC_FAULT_OPEN, vj->at, j, zx + (uint64_t)j * D, D, 1);
        mpc_fault_u128(MPC_FAULT_MAC, vj->at, j, zm + (uint64_t)j * D, D, 1);
    }
    uint32_t peer;
    if ((r = mpc_auth_exchange(e->t, MPC_MSG_OUTPUT, e->o.stream, vj->seq + 3, zx, zx, P, e->o.timeout_ms, &peer))) {
        mpc_errc(err, errlen, r, "%s: party %u: %s", vj->where, (unsigned)peer, mpc_strerror(r));
        goto out;
    }
    e->st.opened += P;
    e->st.open_bytes_sent += 16 * P * (e->n - 1);
    for (uint32_t j = 0; j < V; j++) {   /* z, the seed, the commitments: public */
        uint64_t L = vj->len[j];
        for (unsigned i = 0; i < D; i++) mpc_vcheck_wr64(rec[j] + mpc_vcheck_off_z(L) + 8 * i, (uint64_t)zx[(uint64_t)j * D + i]);
        memcpy(rec[j] + mpc_vcheck_off_seed(L), seed, 32);
        for (uint32_t p = 0; p < e->n; p++)
            memcpy(rec[j] + mpc_vcheck_off_com(L) + 32 * p, coms + ((size_t)p * V + j) * 32, 32);
    }
    r = mpc_mac_check_add(e->ck, zx, zm, P);
    zx = zm = NULL;
    if (r) {
        mpc_errc(err, errlen, r, "%s: out of memory", vj->where);
        goto out;
    }
    r = s_check(e, err, errlen);   /* nothing is handed out before it passes */
out:
    s_wipe_free(px, P);
    s_wipe_free(pm, P);
    free(zx);
    s_wipe_free(zm, P);
    free(mine);
    free(coms);
    for (uint32_t j = 0; r && j < V; j++) {
        if (rec[j]) {
            sodium_memzero(rec[j], mpc_vcheck_record_bytes(vj->len[j], e->n));
            free(rec[j]);
        }
        rec[j] = NULL;
    }
    return r;
}

/* Checked outputs (engine_mal.h): the release callback's withheld elements zeroed, then the
 * vector check of every client output; the records are kept only if it passed. */
static int s_checked_outputs(mpc_mal_engine *e, uint32_t o1, char *err, size_t errlen)
{
    const mpc_circuit *c = e->c;
    const size_t no = o1 ? o1 : 1;
    uint8_t **wh = calloc(no, sizeof *wh), **rec = calloc(no, sizeof *rec);
    uint64_t *len = calloc(no, sizeof *len);
    int r = wh && rec && len ? 0 : MPC_ERR_NOMEM;
    for (uint32_t o = 0; o < o1 && !r; o++)
        if (!(wh[o] = calloc(c->outputs[o].len + 1, 1))) r = MPC_ERR_NOMEM;
    if (r) {
        mpc_errc(err, errlen, r, "out of memory checking the outputs");
        goto out;
    }
    if (e->o.release && (r = e->o.release(e->o.release_ctx, e, wh, err, errlen))) goto out;
    if ((r = s_stop(e, "checking the outputs", err, errlen))) goto out;
    for (uint32_t o = 0; o < o1; o++) {
        len[o] = c->outputs[o].len;
        for (uint64_t i = 0; i < len[o]; i++)
            if (wh[o][i]) e->ox[o][i] = e->om[o][i] = 0;   /* an authenticated zero */
    }
    s_vc_job vj = {o1, (const mpc_u128 *const *)e->ox, (const mpc_u128 *const *)e->om, len, S_VC_OUT,
                   MPC_FAULT_OUTPUT, MPC_FAULT_AT_OUTPUT, "checking the outputs"};
    if ((r = s_vcheck(e, &vj, rec, err, errlen))) goto out;
    for (uint32_t o = 0; o < o1; o++) {   /* released only now */
        e->chk[o] = rec[o];
        rec[o] = NULL;
    }
out:
    for (uint32_t o = 0; wh && o < o1; o++) free(wh[o]);
    free(wh);
    free(rec);
    free(len);
    return r;
}

/* ---- client inputs (engine_mal.h, opts.client_input) ---- */

/* [x] = [r] + δ for input k from its masks (rx, rm: L each) and the client's δ; public δ. */
static int s_client_enter(mpc_mal_engine *e, uint32_t k, const mpc_u128 *rx, const mpc_u128 *rm, const uint64_t *delta)
{
    uint64_t L = e->c->inputs[k].len;
    uint32_t w = e->c->inputs[k].wire;
    mpc_u128 *d = s_alloc(L);
    e->wx[w] = s_alloc(L);
    e->wm[w] = s_alloc(L);
    if (!d || !e->wx[w] || !e->wm[w]) {
        free(d);
        return MPC_ERR_NOMEM;
    }
    for (uint64_t i = 0; i < L; i++) d[i] = delta[i];
    /* what it received, hashed as received: the check compares every party's transcript */
    mpc_mac_check_bcast(e->ck, S_CLIENT_OWNER, k, delta, L);
    mpc_fault_u128(MPC_FAULT_RELAY, MPC_FAULT_AT_INPUT, k, d, L, 1);   /* test builds: uses another δ */
    memcpy(e->wx[w], rx, (size_t)L * sizeof(mpc_u128));
    memcpy(e->wm[w], rm, (size_t)L * sizeof(mpc_u128));
    mpc_fault_u128(MPC_FAULT_MASK, MPC_FAULT_AT_INPUT, k, e->wx[w], L, 1);
    mpc_auth_add_pub128(e->wx[w], e->wm[w], e->wx[w], e->wm[w], d, L, *e->key.alpha, e->self == 0);
    mpc_fault_u128(MPC_FAULT_MAC, MPC_FAULT_AT_INPUT, k, e->wm[w], L, 1);
    free(d);   /* public */
    return 0;
}

/* Every input from a client: L jointly random masks [r] per input, the vector check of all of
 * them (this party's records to the client, by the callback), its x − r back, [x] = [r] + δ. */
static int s_client_inputs(mpc_mal_engine *e, char *err, size_t errlen)
{
    const mpc_circuit *c = e->c;
    const uint32_t K = c->n_inputs;
    const size_t nk = K ? K : 1;
    uint64_t W = 0;
    for (uint32_t k = 0; k < K; k++) W += c->inputs[k].len;
    mpc_u128 *rx = s_alloc(W ? W : 1), *rm = s_alloc(W ? W : 1);
    const mpc_u128 **vx = calloc(nk, sizeof *vx), **vm = calloc(nk, sizeof *vm);
    uint64_t *len = calloc(nk, sizeof *len);
    uint8_t **rec = calloc(nk, sizeof *rec);
    const uint64_t **delta = calloc(nk, sizeof *delta);
    int r = rx && rm && vx && vm && len && rec && delta ? 0 : MPC_ERR_NOMEM;
    if (r) {
        mpc_errc(err, errlen, r, "out of memory for the client inputs");
        goto out;
    }
    if ((r = s_joint_randoms(e, W, rx, rm, "the client inputs", err, errlen))) goto out;
    for (uint64_t k = 0, pos = 0; k < K; pos += c->inputs[k++].len) {
        vx[k] = rx + pos;
        vm[k] = rm + pos;
        len[k] = c->inputs[k].len;
    }
    s_vc_job vj = {K, vx, vm, len, S_VC_IN, MPC_FAULT_CMASK, MPC_FAULT_AT_INPUT, "checking the client inputs"};
    if ((r = s_vcheck(e, &vj, rec, err, errlen))) goto out;
    if (e->o.progress) e->o.progress(e->o.progress_ctx, e->st.rounds, e->st.triples);
    if ((r = s_stop(e, "before the client inputs", err, errlen))) goto out;
    if ((r = e->o.client_input(e->o.client_ctx, (const uint8_t *const *)rec, delta, err, errlen))) goto out;
    for (uint32_t k = 0; k < K && !r; k++) {
        if (!delta[k]) r = mpc_errc(err, errlen, MPC_ERR_INPUT, "input %s: no value given", c->inputs[k].name);
        else if ((r = s_client_enter(e, k, vx[k], vm[k], delta[k])))
            mpc_errc(err, errlen, r, "out of memory for the client inputs");
    }
out:
    s_wipe_free(rx, W ? W : 1);
    s_wipe_free(rm, W ? W : 1);
    for (uint32_t k = 0; rec && k < K; k++)
        if (rec[k]) {
            sodium_memzero(rec[k], mpc_vcheck_record_bytes(c->inputs[k].len, e->n));
            free(rec[k]);
        }
    free(rec);
    free(vx);
    free(vm);
    free(len);
    free(delta);
    return r;
}

/* ---- the run ---- */

static int s_check_inputs(const mpc_mal_engine *e, const uint64_t *const *in, char *err, size_t errlen)
{
    for (uint32_t k = 0; k < e->c->n_inputs; k++) {
        const mpc_input *inp = &e->c->inputs[k];
        if (!e->o.client_input && inp->party == e->self && (!in || !in[k]))
            return mpc_errc(err, errlen, MPC_ERR_INPUT, "input %s: no value given", inp->name);
    }
    return 0;
}

/* Cancel and deadline (engine_mal.h), between rounds. */
static int s_stop(const mpc_mal_engine *e, const char *where, char *err, size_t errlen)
{
    if (e->o.cancel && atomic_load(e->o.cancel))
        return mpc_errc(err, errlen, MPC_ERR_CANCELLED, "cancelled %s", where);
    if (e->o.deadline_ms && mpc_now_ms() > e->o.deadline_ms)
        return mpc_errc(err, errlen, MPC_ERR_TIMEOUT, "the job's time ran out %s", where);
    return 0;
}

static int s_gates(mpc_mal_engine *e, char *err, size_t errlen)
{
    const mpc_circuit *c = e->c;
    int r = 0;
    for (uint32_t i = 0; i < c->n_gates && !r;) {
        uint32_t g = e->order[i];
        const mpc_gate *G = &c->gates[g];
        if (G->kind == MPC_G_NOISE) {   /* no round of the layer's, but interactive here */
            if ((r = s_noise(e, g, err, errlen))) return r;
            i++;
            continue;
        }
        if (!s_interactive(G->kind)) {
            if ((r = s_local(e, g))) return mpc_errc(err, errlen, r, "gate %u: %s", (unsigned)g, mpc_strerror(r));
            s_release_operands(e, g);
            i++;
            continue;
        }
        uint32_t j = i;
        while (j < c->n_gates && s_interactive(c->gates[e->order[j]].kind) && c->gates[e->order[j]].layer == G->layer) j++;
        char where[48];
        snprintf(where, sizeof where, "before layer %u", (unsigned)G->layer);
        if ((r = s_stop(e, where, err, errlen))) return r;
        if ((r = s_round(e, G->layer, e->order + i, j - i, err, errlen))) return r;
        i = j;
        if (e->o.progress) e->o.progress(e->o.progress_ctx, e->st.rounds, e->st.triples);
        if (mpc_mac_check_pending(e->ck) >= e->o.check_every) r = s_check(e, err, errlen);
    }
    return r;
}

/* Adds the time since *t, less the material fetches and MAC checks in it, to *acc. */
static void s_phase(mpc_mal_engine *e, uint64_t *acc, uint64_t *t, uint64_t *p0, uint64_t *c0)
{
    uint64_t now = mpc_now_us(), spent = (e->st.prep_us - *p0) + (e->st.check_us - *c0), el = now - *t;
    *acc += el > spent ? el - spent : 0;
    *t = now;
    *p0 = e->st.prep_us;
    *c0 = e->st.check_us;
}

int mpc_mal_run(mpc_mal_engine *e, const uint64_t *const *inputs, char *err, size_t errlen)
{
    if (!e || !err || !errlen) return MPC_ERR_INVALID;
    err[0] = 0;
    if (e->ran) return mpc_errc(err, errlen, MPC_ERR_STATE, "the engine has run");
    e->ran = 1;
    uint64_t t_start = mpc_now_us();
    int r = mpc_mal_supported(e->c, err, errlen);
    if (r) return r;   /* refused before anything is sent: every party refuses alike */
    if ((r = s_check_inputs(e, inputs, err, errlen)) || (r = s_stop(e, "before the inputs", err, errlen))) goto fail;
    if ((r = mpc_auth_key_init(&e->key)) || (r = mpc_auth_src_key(e->src, &e->key))) {
        mpc_errc(err, errlen, r, "MAC key: %s", mpc_strerror(r));
        goto fail;
    }
    if (!(e->ck = mpc_mac_check_new(e->t, e->o.stream, S_CHECK_SEQ, e->o.timeout_ms))) {
        r = mpc_errc(err, errlen, MPC_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if ((r = mpc_mac_check_begin(e->ck, err, errlen))) goto fail;
    uint64_t t = mpc_now_us(), p0 = e->st.prep_us, c0 = e->st.check_us;
    r = e->o.client_input ? s_client_inputs(e, err, errlen) : s_inputs(e, inputs, err, errlen);
    s_phase(e, &e->st.input_us, &t, &p0, &c0);
    if (r) goto fail;
    r = s_gates(e, err, errlen);
    s_phase(e, &e->st.layers_us, &t, &p0, &c0);
    if (r || (r = s_stop(e, "before the outputs", err, errlen))) goto fail;
    /* The outputs opened to parties first (from open_from on: the release rules' pass bits,
     * which opts.release reads), then the checked outputs for clients (all, or those below
     * open_from), each set released only after its own final MAC check. */
    const uint32_t no = e->c->n_outputs, from = e->o.open_from;
    if (!e->o.checked_outputs) r = s_outputs(e, 0, 0, err, errlen);
    else if (!(from && from < no && (r = s_outputs(e, from, 1, err, errlen))))
        r = s_checked_outputs(e, from && from < no ? from : no, err, errlen);
    s_phase(e, &e->st.output_us, &t, &p0, &c0);
    if (r) goto fail;
    for (uint32_t o = 0; o < e->c->n_outputs; o++) {   /* the output shares are no longer needed */
        s_wipe_free(e->ox[o], e->c->outputs[o].len);
        s_wipe_free(e->om[o], e->c->outputs[o].len);
        e->ox[o] = e->om[o] = NULL;
    }
    mpc_mac_check_free(&e->ck);
    mpc_auth_key_free(&e->key);
    e->st.run_us = mpc_now_us() - t_start;
    return 0;
fail:
    /* after a failed MAC check every peer has the verdict already; otherwise tell them */
    if (r != MPC_ERR_CRYPTO) s_abort_peers(e, r);
    s_wipe_all(e);
    e->st.run_us = mpc_now_us() - t_start;
    return r;
}

const uint64_t *mpc_mal_output(const mpc_mal_engine *e, uint32_t o)
{
    if (!e || o >= e->c->n_outputs) return NULL;
    return e->out[o];
}

const uint8_t *mpc_mal_checked_output(const mpc_mal_engine *e, uint32_t o)
{
    if (!e || o >= e->c->n_outputs) return NULL;
    return e->chk[o];
}

void mpc_mal_stats_get(const mpc_mal_engine *e, mpc_mal_stats *st)
{
    if (e && st) *st = e->st;
}
