/* eval.c — the exact plaintext evaluator (eval.h), the oracle for every MPC result.
 * Wires are evaluated in gate order on plain uint64_t arrays.  INPUT wires alias the
 * caller's arrays and CONST wires alias the circuit's constant pool; every other wire is
 * allocated once, reused in place by an element-wise gate that is its last reader, and
 * freed after its last use, so peak memory follows the live wires, not the circuit. */
#include "eval.h"
#include "diag.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* floor(x / 2^m) for x read as a two's-complement signed value, 0 < m < 64. */
static inline uint64_t s_asr(uint64_t x, unsigned m)
{
    uint64_t sign = 0 - (x >> 63);              /* all ones if negative */
    return (x >> m) | (sign << (64 - m));
}

static _Thread_local int     s_seeded;
static _Thread_local uint8_t s_seed[MPC_EVAL_SEED_BYTES];

void mpc_eval_noise_seed(const uint8_t *seed)
{
    s_seeded = seed != NULL;
    if (seed) memcpy(s_seed, seed, sizeof s_seed);
    else sodium_memzero(s_seed, sizeof s_seed);
}

/* Random bytes for chunk `chunk` of the gi-th NOISE gate (counted among the NOISE gates, in
 * order, so that the circuit with and without owner-local pushdown draws the same noise from
 * one seed): the OS's, or derived from the seed. */
static void s_noise_bytes(uint8_t *buf, size_t n, uint32_t gi, uint64_t chunk)
{
    if (!s_seeded) {
        randombytes_buf(buf, n);
        return;
    }
    uint8_t key[randombytes_SEEDBYTES], msg[12];
    for (int i = 0; i < 4; i++) msg[i] = (uint8_t)(gi >> (8 * i));
    for (int i = 0; i < 8; i++) msg[4 + i] = (uint8_t)(chunk >> (8 * i));
    crypto_generichash(key, sizeof key, msg, sizeof msg, s_seed, sizeof s_seed);
    randombytes_buf_deterministic(buf, n, key);
    sodium_memzero(key, sizeof key);
}

/* NOISE: each element the number of ones among m random bits, minus m/2. */
static int s_noise(uint32_t gi, const mpc_gate *g, uint64_t *out)
{
    enum { CHUNK = 1 << 16 };   /* bytes */
    uint8_t *buf = malloc(CHUNK);
    if (!buf) return -1;
    uint64_t m = g->aux[0], total = g->len * m, done = 0, k = 0, ones = 0, in_k = 0, chunk = 0;
    while (done < total) {
        uint64_t nbits = total - done < (uint64_t)CHUNK * 8 ? total - done : (uint64_t)CHUNK * 8;
        s_noise_bytes(buf, (size_t)((nbits + 7) / 8), gi, chunk++);
        for (uint64_t i = 0; i < nbits; i++) {
            ones += (buf[i / 8] >> (i % 8)) & 1;
            if (++in_k == m) {
                out[k++] = ones - m / 2;
                ones = in_k = 0;
            }
        }
        done += nbits;
    }
    free(buf);
    return 0;
}

typedef struct {
    const mpc_circuit *c;
    uint64_t         **val;     /* value of each wire, NULL when not live */
    uint8_t           *owned;   /* val[w] was allocated here */
    uint32_t          *last;    /* last gate reading wire w (w itself if none) */
    mpc_eval_result   *res;
    uint32_t           cap_warn;
} s_ctx;

static int s_warn(s_ctx *x, uint32_t gi, const char *fmt, ...)
{
    mpc_eval_result *res = x->res;
    if (res->n_warnings == x->cap_warn) {
        uint32_t nc = x->cap_warn ? x->cap_warn * 2 : 8;
        mpc_eval_warning *nw = realloc(res->warnings, nc * sizeof *nw);
        if (!nw) return -1;
        res->warnings = nw;
        x->cap_warn = nc;
    }
    mpc_eval_warning *w = &res->warnings[res->n_warnings++];
    const mpc_gate *g = &x->c->gates[gi];
    w->gate = gi;
    w->line = g->line;
    w->col = g->col;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->msg, sizeof w->msg, fmt, ap);
    va_end(ap);
    return 0;
}

/* Element-wise binary operation with broadcast of length-1 operands; `out` may alias a
 * full-length operand (each element is read before it is written). */
#define S_BINOP(NAME, EXPR)                                                              \
    static void NAME(uint64_t *out, const uint64_t *a, uint64_t la, const uint64_t *b,  \
                     uint64_t lb, uint64_t n)                                            \
    {                                                                                    \
        if (la == n && lb == n) {                                                        \
            for (uint64_t i = 0; i < n; i++) { uint64_t A = a[i], B = b[i]; out[i] = (EXPR); } \
        } else if (la == n) {                                                            \
            uint64_t B = b[0];                                                           \
            for (uint64_t i = 0; i < n; i++) { uint64_t A = a[i]; out[i] = (EXPR); }     \
        } else if (lb == n) {                                                            \
            uint64_t A = a[0];                                                           \
            for (uint64_t i = 0; i < n; i++) { uint64_t B = b[i]; out[i] = (EXPR); }     \
        } else {                                                                         \
            uint64_t A = a[0], B = b[0];                                                 \
            uint64_t v = (EXPR);                                                         \
            for (uint64_t i = 0; i < n; i++) out[i] = v;                                 \
        }                                                                                \
    }

S_BINOP(s_add, A + B)
S_BINOP(s_sub, A - B)
S_BINOP(s_mul, A * B)

static void s_select(uint64_t *out, const uint64_t *p[3], const uint64_t l[3], uint64_t n)
{
    /* c ? t : f computed as the engine does, f + c*(t - f), so a condition outside {0,1}
     * gives the same ring value the MPC would. */
    if (l[0] == n && l[1] == n && l[2] == n) {
        const uint64_t *c = p[0], *t = p[1], *f = p[2];
        for (uint64_t i = 0; i < n; i++) {
            uint64_t F = f[i];
            out[i] = F + c[i] * (t[i] - F);
        }
        return;
    }
    uint64_t sc = l[0] == n, st = l[1] == n, sf = l[2] == n;   /* strides 0 or 1 */
    for (uint64_t i = 0; i < n; i++) {
        uint64_t F = p[2][i * sf];
        out[i] = F + p[0][i * sc] * (p[1][i * st] - F);
    }
}

/* Returns a buffer for gate gi's output of n elements: an operand's buffer when that
 * operand is full length, owned here and read for the last time by gi (element-wise gates
 * only); otherwise a fresh allocation.  NULL on allocation failure. */
static uint64_t *s_out_buf(s_ctx *x, uint32_t gi, int elementwise, uint64_t n)
{
    const mpc_gate *g = &x->c->gates[gi];
    if (elementwise) {
        for (int k = 0; k < mpc_gate_infos[g->kind].operands; k++) {
            uint32_t w = g->in[k];
            if (x->owned[w] && x->last[w] == gi && x->c->gates[w].len == n) {
                uint64_t *b = x->val[w];
                x->owned[w] = 0;          /* ownership moves to gi; not freed as an operand */
                /* Other operand slots naming the same wire keep reading the same buffer. */
                return b;
            }
        }
    }
    if (n > SIZE_MAX / sizeof(uint64_t)) return NULL;
    return malloc((size_t)n * sizeof(uint64_t));
}

/* Frees a wire's buffer, wiped first: the SDK evaluates owner-local parts (pushdown.h) on
 * secret inputs, so intermediate values are as secret as they are. */
static void s_wipe_free(uint64_t *p, uint64_t n)
{
    if (!p) return;
    explicit_bzero(p, (size_t)n * sizeof *p);
    free(p);
}

static void s_release(s_ctx *x, uint32_t w)
{
    if (x->owned[w]) s_wipe_free(x->val[w], x->c->gates[w].len);
    x->owned[w] = 0;
    x->val[w] = NULL;
}

static int s_trunc(s_ctx *x, uint32_t gi, uint64_t *out, const uint64_t *a, uint64_t n)
{
    const mpc_gate *g = &x->c->gates[gi];
    unsigned m = (unsigned)g->aux[0];
    uint64_t half = 1ull << (g->aux[1] - 1);           /* |x| < 2^(l-1) required */
    uint64_t bad = 0, first = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t v = a[i];
        /* |v| < half  <=>  v + (half - 1) < 2*half - 1 (mod 2^64) */
        if (v + (half - 1) >= 2 * half - 1) {
            if (!bad) first = i;
            bad++;
        }
        out[i] = s_asr(v, m);
    }
    if (bad)
        return s_warn(x, gi, "truncation operand outside |x| < 2^%llu in %llu of %llu elements "
                      "(first at element %llu): the MPC result would be wrong there",
                      (unsigned long long)(g->aux[1] - 1), (unsigned long long)bad,
                      (unsigned long long)n, (unsigned long long)first);
    return 0;
}

int mpc_eval(const mpc_circuit *c, const uint64_t *const *inputs, mpc_eval_result *res,
             char *err, size_t errlen)
{
    s_ctx x = {0};
    int r = -1;
    char verr[256];
    if (!c || !res) return mpc_errf(err, errlen, "mpc_eval: no circuit or result");
    memset(res, 0, sizeof *res);
    if (mpc_circ_validate(c, NULL, verr, sizeof verr) != 0)
        return mpc_errf(err, errlen, "invalid circuit: %s", verr);
    if (c->n_inputs && !inputs) return mpc_errf(err, errlen, "mpc_eval: no inputs given");
    for (uint32_t i = 0; i < c->n_inputs; i++)
        if (!inputs[i]) return mpc_errf(err, errlen, "mpc_eval: input '%s' missing", c->inputs[i].name);

    uint32_t ng = c->n_gates, noise_ord = 0;
    x.c = c;
    x.res = res;
    x.val = calloc(ng, sizeof *x.val);
    x.owned = calloc(ng, 1);
    x.last = malloc(ng * sizeof *x.last);
    res->outputs = calloc(c->n_outputs, sizeof *res->outputs);
    if (!x.val || !x.owned || !x.last || !res->outputs) {
        mpc_errf(err, errlen, "out of memory");
        goto out;
    }
    res->n_outputs = c->n_outputs;
    for (uint32_t i = 0; i < ng; i++) {
        x.last[i] = i;
        const mpc_gate *g = &c->gates[i];
        for (int k = 0; k < mpc_gate_infos[g->kind].operands; k++) x.last[g->in[k]] = i;
    }

    for (uint32_t gi = 0; gi < ng; gi++) {
        const mpc_gate *g = &c->gates[gi];
        uint64_t n = g->len;
        const uint64_t *a = NULL, *b = NULL;
        uint64_t la = 0, lb = 0;
        int nops = mpc_gate_infos[g->kind].operands;
        if (nops >= 1) { a = x.val[g->in[0]]; la = c->gates[g->in[0]].len; }
        if (nops >= 2) { b = x.val[g->in[1]]; lb = c->gates[g->in[1]].len; }
        uint64_t *out = NULL;
        switch (g->kind) {
        case MPC_G_INPUT:
            x.val[gi] = (uint64_t *)inputs[g->aux[0]];   /* aliased, never written */
            break;
        case MPC_G_CONST:
            x.val[gi] = c->consts + g->aux[0];
            break;
        case MPC_G_OUTPUT: {
            uint32_t w = g->in[0];
            uint64_t *o;
            if (x.owned[w] && x.last[w] == gi) {        /* take the buffer over */
                o = x.val[w];
                x.owned[w] = 0;
            } else {
                o = malloc((size_t)n * sizeof *o);
                if (!o) { mpc_errf(err, errlen, "out of memory"); goto out; }
                memcpy(o, a, (size_t)n * sizeof *o);
            }
            res->outputs[g->aux[0]] = o;
            break;
        }
        default: {
            int elementwise = g->kind != MPC_G_SUM && g->kind != MPC_G_DOT &&
                              g->kind != MPC_G_SLICE && g->kind != MPC_G_CONCAT && g->kind != MPC_G_NOISE;
            out = s_out_buf(&x, gi, elementwise, n);
            if (!out) {
                mpc_errf(err, errlen, "out of memory (gate %u, %llu elements)", (unsigned)gi,
                      (unsigned long long)n);
                goto out;
            }
            x.val[gi] = out;
            x.owned[gi] = 1;
            switch (g->kind) {
            case MPC_G_ADD: case MPC_G_ADD_PUB: s_add(out, a, la, b, lb, n); break;
            case MPC_G_SUB:                     s_sub(out, a, la, b, lb, n); break;
            case MPC_G_MUL: case MPC_G_MUL_PUB: s_mul(out, a, la, b, lb, n); break;
            case MPC_G_NEG:
                for (uint64_t i = 0; i < n; i++) out[i] = 0 - a[i];
                break;
            case MPC_G_LTZ:
                for (uint64_t i = 0; i < n; i++) out[i] = a[i] >> 63;
                break;
            case MPC_G_EQZ:
                for (uint64_t i = 0; i < n; i++) out[i] = a[i] == 0;
                break;
            case MPC_G_TRUNC:
                if (s_trunc(&x, gi, out, a, n) != 0) {
                    mpc_errf(err, errlen, "out of memory");
                    goto out;
                }
                break;
            case MPC_G_SELECT: {
                const uint64_t *p[3] = {a, b, x.val[g->in[2]]};
                const uint64_t l[3] = {la, lb, c->gates[g->in[2]].len};
                s_select(out, p, l, n);
                break;
            }
            case MPC_G_SUM: {
                uint64_t s = 0;
                for (uint64_t i = 0; i < la; i++) s += a[i];
                out[0] = s;
                break;
            }
            case MPC_G_DOT: {
                uint64_t seg = g->aux[0] ? g->aux[0] : la;
                for (uint64_t j = 0, i = 0; j < n; j++) {
                    uint64_t s = 0, end = i + seg < la ? i + seg : la;
                    for (; i < end; i++) s += a[i] * b[i];
                    out[j] = s;
                }
                break;
            }
            case MPC_G_SLICE: {
                uint64_t st = g->aux[0], stride = g->aux[1];
                if (stride == 1) memcpy(out, a + st, (size_t)n * sizeof *out);
                else for (uint64_t i = 0; i < n; i++) out[i] = a[st + i * stride];
                break;
            }
            case MPC_G_CONCAT:
                memcpy(out, a, (size_t)la * sizeof *out);
                memcpy(out + la, b, (size_t)lb * sizeof *out);
                break;
            case MPC_G_NOISE:
                if (sodium_init() < 0 || s_noise(noise_ord++, g, out) != 0) {
                    mpc_errf(err, errlen, "out of memory");
                    goto out;
                }
                break;
            default:
                mpc_errf(err, errlen, "gate %u: kind %u not evaluable", (unsigned)gi, (unsigned)g->kind);
                goto out;
            }
        }
        }
        /* Free operands read for the last time (and dead results). */
        for (int k = 0; k < nops; k++) {
            uint32_t w = g->in[k];
            if (x.last[w] == gi && x.val[w]) s_release(&x, w);
        }
        if (x.last[gi] == gi && x.val[gi]) s_release(&x, gi);
    }
    r = 0;
out:
    if (x.val)
        for (uint32_t i = 0; i < ng; i++)
            if (x.owned && x.owned[i]) s_wipe_free(x.val[i], c->gates[i].len);
    free(x.val);
    free(x.owned);
    free(x.last);
    if (r != 0) mpc_eval_result_free(res);
    return r;
}

void mpc_eval_result_free(mpc_eval_result *res)
{
    if (!res) return;
    if (res->outputs)
        for (uint32_t i = 0; i < res->n_outputs; i++) free(res->outputs[i]);
    free(res->outputs);
    free(res->warnings);
    memset(res, 0, sizeof *res);
}
