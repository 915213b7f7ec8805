/* randprog.c — random well-typed programs and their expected outputs (randprog.h).
 * The generator builds an expression tree, prints it as source, and evaluates it itself. */
#include "randprog.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- tree ---- */

enum {
    R_CONST,   /* k: the value (fix: encoding); kint: an int literal */
    R_REF,     /* a binding (input, let, var) */
    R_LOOP,    /* the loop variable plus `a` */
    R_PARAM,   /* function parameter a */
    R_NEG, R_ADD, R_SUB, R_MUL,
    R_DIV,     /* by the constant kid[1] */
    R_SUM, R_DOT,
    R_INDEX,   /* kid[0][a] */
    R_SLICE,   /* kid[0][a:b] */
    R_CONCAT,
    R_CALL,    /* function a with kids as arguments */
    R_CMP,     /* kid[0] OP kid[1], OP = s_cmp_ops[a]; bool */
    R_SEL,     /* kid[0] ? kid[1] : kid[2], kid[0] an R_CMP */
    R_MIN, R_MAX, R_ABS,
    R_COUNT,   /* sum(kid[0]) of an R_CMP: an int */
    R_TOINT    /* int(fix(kid[0]) + D), D = k the encoding of the decimal `text` (int programs) */
};

static const char *const s_cmp_ops[] = {"<", "<=", ">", ">=", "==", "!="};

typedef struct s_node {
    int            kind;
    unsigned       len;      /* 0 = scalar, else a vector of this length */
    int            secret;
    int            kint;     /* R_CONST: an int literal (in fix programs too) */
    uint64_t       k;
    char           text[24]; /* R_CONST: as written */
    unsigned       a, b;
    struct s_node *kid[3];
    int            n_kids;
} s_node;

typedef struct {
    const char *name;
    unsigned    len;
    uint64_t   *vals;        /* current value, max(len, 1) elements */
    int         is_input, is_var;
} s_bindv;

typedef struct {
    s_node  *body;
    unsigned n_params;
} s_fnd;

typedef struct {
    uint64_t   rng;
    int        fix;
    unsigned   frac, max_len;
    int        with_div;
    int        with_toint;
    int        with_cmp;
    int        bad;          /* a truncation left its headroom: regenerate */
    int        oom;
    /* allocations of this attempt */
    void     **mem;
    size_t     n_mem, cap_mem;
    /* output text */
    char      *src;
    size_t     src_len, src_cap;
    s_bindv    binds[64];
    unsigned   n_binds;
    s_fnd      fns[4];
    unsigned   n_fns;
    int        in_loop;
    uint64_t   loop_val;
    char       loop_name[16];
    unsigned   n_params;     /* > 0 while generating a function body */
    uint64_t  *params[4];    /* while evaluating a call */
    unsigned   param_len[4];
} s_gen;

static uint64_t s_rand(s_gen *G)
{
    uint64_t z = (G->rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static unsigned s_below(s_gen *G, unsigned n)
{
    return (unsigned)(s_rand(G) % n);
}

static void *s_mem(s_gen *G, size_t n)
{
    if (G->n_mem == G->cap_mem) {
        size_t ncap = G->cap_mem ? G->cap_mem * 2 : 256;
        void **m = realloc(G->mem, ncap * sizeof *m);
        if (!m) {
            G->oom = 1;
            return NULL;
        }
        G->mem = m;
        G->cap_mem = ncap;
    }
    void *p = calloc(1, n ? n : 1);
    if (!p) {
        G->oom = 1;
        return NULL;
    }
    G->mem[G->n_mem++] = p;
    return p;
}

static void s_emit(s_gen *G, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_emit(s_gen *G, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if (G->src_len + (size_t)n + 1 > G->src_cap) {
        size_t ncap = (G->src_cap ? G->src_cap * 2 : 1024) + (size_t)n;
        char *s = realloc(G->src, ncap);
        if (!s) {
            G->oom = 1;
            return;
        }
        G->src = s;
        G->src_cap = ncap;
    }
    memcpy(G->src + G->src_len, tmp, (size_t)n + 1);
    G->src_len += (size_t)n;
}

static s_node *s_new(s_gen *G, int kind, unsigned len, int secret)
{
    s_node *n = s_mem(G, sizeof *n);
    if (!n) {
        static s_node dummy;
        memset(&dummy, 0, sizeof dummy);
        return &dummy;
    }
    n->kind = kind;
    n->len = len;
    n->secret = secret;
    return n;
}

/* ---- ring semantics ---- */

static uint64_t s_sar(uint64_t x, unsigned m)
{
    if (m == 0) return x;
    uint64_t r = x >> m;
    if (x >> 63) r |= ~(UINT64_MAX >> m);
    return r;
}

/* TRUNC's headroom: the operand must satisfy |x| < 2^62. */
static void s_headroom(s_gen *G, __int128 x)
{
    __int128 lim = (__int128)1 << 62;
    if (x >= lim || x <= -lim) G->bad = 1;
}

static __int128 s_signed(uint64_t x)
{
    return (__int128)(int64_t)x;   /* two's complement reading; the cast is implementation-defined only in C89 */
}

/* floor(p / 2^m) for a 128-bit p within headroom, reduced mod 2^64. */
static uint64_t s_floor_shift(__int128 p, unsigned m)
{
    return s_sar((uint64_t)p, m);   /* |p| < 2^62: the low 64 bits read as signed are p */
}

static unsigned s_bitlen(uint64_t a)
{
    unsigned n = 0;
    while (a) {
        n++;
        a >>= 1;
    }
    return n;
}

/* x / c as LANGUAGE.md specifies it: c = C / 2^f with C the divisor's fix encoding. */
static uint64_t s_fix_div(s_gen *G, uint64_t X, uint64_t Csigned)
{
    int neg = (int)(Csigned >> 63);
    uint64_t Cabs = neg ? 0 - Csigned : Csigned;
    uint64_t y;
    if ((Cabs & (Cabs - 1)) == 0) {
        int k = (int)s_bitlen(Cabs) - 1 - (int)G->frac;
        if (k > 0) {
            s_headroom(G, s_signed(X));
            y = s_sar(X, (unsigned)k);
        } else {
            y = X << (unsigned)(-k);
        }
    } else {
        int t = (int)s_bitlen(Cabs) - 1 - (int)G->frac;
        if (t < 0) t = 0;
        unsigned s = 40 - G->frac;
        unsigned __int128 num = (unsigned __int128)1 << (s + (unsigned)t + G->frac);
        uint64_t R = (uint64_t)((2 * num + Cabs) / (2 * (unsigned __int128)Cabs));
        if (t > 0) s_headroom(G, s_signed(X));
        uint64_t X1 = s_sar(X, (unsigned)t);
        __int128 p = s_signed(X1) * (__int128)R;
        s_headroom(G, p);
        y = s_floor_shift(p, s);
    }
    return neg ? 0 - y : y;
}

/* ---- evaluation of the tree ---- */

typedef struct {
    unsigned  len;   /* 0 = scalar */
    uint64_t *v;     /* max(len, 1) values */
} s_vals;

static uint64_t s_at(const s_vals *x, unsigned i)
{
    return x->len ? x->v[i] : x->v[0];
}

static s_vals s_alloc_vals(s_gen *G, unsigned len)
{
    s_vals r = {len, s_mem(G, (len ? len : 1) * sizeof(uint64_t))};
    if (!r.v) {
        static uint64_t zero[64];
        r.v = zero;
    }
    return r;
}

static s_vals s_eval(s_gen *G, const s_node *n);

/* The product of two elements with the types of their nodes. */
static uint64_t s_mul_elem(s_gen *G, const s_node *a, const s_node *b, uint64_t x, uint64_t y)
{
    if (!G->fix) return x * y;
    /* An int literal or loop variable multiplies exactly, without truncation. */
    if ((a->kind == R_CONST && a->kint) || a->kind == R_LOOP) return x * y;
    if ((b->kind == R_CONST && b->kint) || b->kind == R_LOOP) return x * y;
    /* A whole fix constant K multiplies exactly by the integer K / 2^f. */
    if (a->kind == R_CONST && (a->k & (((uint64_t)1 << G->frac) - 1)) == 0) return y * (a->k >> G->frac);
    if (b->kind == R_CONST && (b->k & (((uint64_t)1 << G->frac) - 1)) == 0) return x * (b->k >> G->frac);
    __int128 p = s_signed(x) * s_signed(y);
    s_headroom(G, p);
    return s_floor_shift(p, G->frac);
}

/* Value of a public leaf as it meets a fix operand in + and -: an int becomes k * 2^f. */
static uint64_t s_addend(s_gen *G, const s_node *n, uint64_t v)
{
    if (G->fix && ((n->kind == R_CONST && n->kint) || n->kind == R_LOOP)) return v << G->frac;
    return v;
}

static s_vals s_eval(s_gen *G, const s_node *n)
{
    s_vals r;
    switch (n->kind) {
    case R_CONST:
        r = s_alloc_vals(G, 0);
        r.v[0] = n->k;
        return r;
    case R_LOOP:
        r = s_alloc_vals(G, 0);
        r.v[0] = G->loop_val + n->a;
        return r;
    case R_REF: {
        const s_bindv *b = &G->binds[n->a];
        r = s_alloc_vals(G, b->len);
        memcpy(r.v, b->vals, (b->len ? b->len : 1) * sizeof(uint64_t));
        return r;
    }
    case R_PARAM:
        r = s_alloc_vals(G, G->param_len[n->a]);
        memcpy(r.v, G->params[n->a], (r.len ? r.len : 1) * sizeof(uint64_t));
        return r;
    case R_NEG: {
        s_vals x = s_eval(G, n->kid[0]);
        r = s_alloc_vals(G, x.len);
        for (unsigned i = 0; i < (x.len ? x.len : 1); i++) r.v[i] = 0 - x.v[i];
        return r;
    }
    case R_ADD:
    case R_SUB:
    case R_MUL: {
        s_vals x = s_eval(G, n->kid[0]), y = s_eval(G, n->kid[1]);
        /* The shape comes from the operands: function bodies are shape-polymorphic. */
        unsigned len = x.len > y.len ? x.len : y.len;
        r = s_alloc_vals(G, len);
        for (unsigned i = 0; i < (len ? len : 1); i++) {
            uint64_t a = s_at(&x, i), b = s_at(&y, i);
            if (n->kind == R_MUL) {
                r.v[i] = s_mul_elem(G, n->kid[0], n->kid[1], a, b);
            } else {
                a = s_addend(G, n->kid[0], a);
                b = s_addend(G, n->kid[1], b);
                r.v[i] = n->kind == R_ADD ? a + b : a - b;
            }
        }
        return r;
    }
    case R_DIV: {
        s_vals x = s_eval(G, n->kid[0]);
        const s_node *c = n->kid[1];
        r = s_alloc_vals(G, x.len);
        for (unsigned i = 0; i < (x.len ? x.len : 1); i++) {
            if (G->fix) {
                r.v[i] = s_fix_div(G, x.v[i], c->kint ? c->k << G->frac : c->k);
            } else {
                int neg = (int)(c->k >> 63);
                uint64_t m = neg ? 0 - c->k : c->k;
                unsigned k = s_bitlen(m) - 1;
                if (k) s_headroom(G, s_signed(x.v[i]));
                uint64_t y = s_sar(x.v[i], k);
                r.v[i] = neg ? 0 - y : y;
            }
        }
        return r;
    }
    case R_SUM:
    case R_DOT: {
        s_vals x = s_eval(G, n->kid[0]);
        s_vals y = n->kind == R_DOT ? s_eval(G, n->kid[1]) : x;
        r = s_alloc_vals(G, 0);
        uint64_t acc = 0;
        __int128 exact = 0;
        for (unsigned i = 0; i < x.len; i++) {
            if (n->kind == R_SUM) {
                acc += x.v[i];
            } else {
                acc += x.v[i] * y.v[i];
                if (G->fix) {
                    /* operands beyond 2^56 would leave any headroom anyway (and could
                     * overflow the 128-bit sum) */
                    __int128 lim = (__int128)1 << 56;
                    if (s_signed(x.v[i]) >= lim || s_signed(x.v[i]) <= -lim || s_signed(y.v[i]) >= lim ||
                        s_signed(y.v[i]) <= -lim)
                        G->bad = 1;
                    else
                        exact += s_signed(x.v[i]) * s_signed(y.v[i]);
                }
            }
        }
        if (n->kind == R_DOT && G->fix) {
            s_headroom(G, exact);
            acc = s_floor_shift(exact, G->frac);
        }
        r.v[0] = acc;
        return r;
    }
    case R_INDEX: {
        s_vals x = s_eval(G, n->kid[0]);
        r = s_alloc_vals(G, 0);
        r.v[0] = x.v[n->a];
        return r;
    }
    case R_SLICE: {
        s_vals x = s_eval(G, n->kid[0]);
        r = s_alloc_vals(G, n->b - n->a);
        memcpy(r.v, x.v + n->a, (n->b - n->a) * sizeof(uint64_t));
        return r;
    }
    case R_CONCAT: {
        s_vals x = s_eval(G, n->kid[0]), y = s_eval(G, n->kid[1]);
        unsigned lx = x.len ? x.len : 1, ly = y.len ? y.len : 1;
        r = s_alloc_vals(G, lx + ly);
        memcpy(r.v, x.v, lx * sizeof(uint64_t));
        memcpy(r.v + lx, y.v, ly * sizeof(uint64_t));
        return r;
    }
    case R_CMP: {
        s_vals x = s_eval(G, n->kid[0]), y = s_eval(G, n->kid[1]);
        unsigned len = x.len > y.len ? x.len : y.len;
        r = s_alloc_vals(G, len);
        for (unsigned i = 0; i < (len ? len : 1); i++) {
            uint64_t a = s_addend(G, n->kid[0], s_at(&x, i)), b = s_addend(G, n->kid[1], s_at(&y, i));
            switch (n->a) {
            case 0: r.v[i] = (a - b) >> 63; break;
            case 1: r.v[i] = 1 - ((b - a) >> 63); break;
            case 2: r.v[i] = (b - a) >> 63; break;
            case 3: r.v[i] = 1 - ((a - b) >> 63); break;
            case 4: r.v[i] = a == b; break;
            default: r.v[i] = a != b; break;
            }
        }
        return r;
    }
    case R_SEL:
    case R_MIN:
    case R_MAX: {
        s_vals c = n->kind == R_SEL ? s_eval(G, n->kid[0]) : s_alloc_vals(G, 0);
        const s_node *an = n->kid[n->kind == R_SEL ? 1 : 0], *bn = n->kid[n->kind == R_SEL ? 2 : 1];
        s_vals x = s_eval(G, an), y = s_eval(G, bn);
        unsigned len = x.len > y.len ? x.len : y.len;
        if (c.len > len) len = c.len;
        r = s_alloc_vals(G, len);
        for (unsigned i = 0; i < (len ? len : 1); i++) {
            uint64_t a = s_addend(G, an, s_at(&x, i)), b = s_addend(G, bn, s_at(&y, i));
            uint64_t cond = n->kind == R_SEL ? s_at(&c, i) : (a - b) >> 63;
            if (n->kind == R_MAX) cond = !cond;
            r.v[i] = cond ? a : b;
        }
        return r;
    }
    case R_ABS: {
        s_vals x = s_eval(G, n->kid[0]);
        r = s_alloc_vals(G, x.len);
        for (unsigned i = 0; i < (x.len ? x.len : 1); i++) r.v[i] = (x.v[i] >> 63) ? 0 - x.v[i] : x.v[i];
        return r;
    }
    case R_COUNT: {
        s_vals x = s_eval(G, n->kid[0]);
        r = s_alloc_vals(G, 0);
        for (unsigned i = 0; i < x.len; i++) r.v[0] += x.v[i];
        return r;
    }
    case R_TOINT: {
        s_vals x = s_eval(G, n->kid[0]);
        r = s_alloc_vals(G, x.len);
        for (unsigned i = 0; i < (x.len ? x.len : 1); i++) {
            uint64_t X = (x.v[i] << G->frac) + n->k;   /* fix(e) wraps mod 2^64 like the ring */
            s_headroom(G, s_signed(X));
            r.v[i] = s_sar(X, G->frac);                 /* floor, exactly (LANGUAGE.md) */
        }
        return r;
    }
    case R_CALL: {
        uint64_t *saved[4];
        unsigned saved_len[4];
        memcpy(saved, G->params, sizeof saved);
        memcpy(saved_len, G->param_len, sizeof saved_len);
        s_vals args[4];
        for (int i = 0; i < n->n_kids; i++) args[i] = s_eval(G, n->kid[i]);
        for (int i = 0; i < n->n_kids; i++) {
            G->params[i] = args[i].v;
            G->param_len[i] = args[i].len;
        }
        r = s_eval(G, G->fns[n->a].body);
        memcpy(G->params, saved, sizeof saved);
        memcpy(G->param_len, saved_len, sizeof saved_len);
        return r;
    }
    }
    return s_alloc_vals(G, 0);
}

/* ---- printing ---- */

static void s_print(s_gen *G, const s_node *n)
{
    static const char *const ops[] = {[R_ADD] = "+", [R_SUB] = "-", [R_MUL] = "*", [R_DIV] = "/"};
    switch (n->kind) {
    case R_CONST: s_emit(G, "%s", n->text); return;
    case R_LOOP:
        if (n->a) s_emit(G, "(%s + %u)", G->loop_name, n->a);
        else s_emit(G, "%s", G->loop_name);
        return;
    case R_REF: s_emit(G, "%s", G->binds[n->a].name); return;
    case R_PARAM: s_emit(G, "%c", 'u' + (char)n->a); return;
    case R_NEG: s_emit(G, "(-"); s_print(G, n->kid[0]); s_emit(G, ")"); return;
    case R_ADD: case R_SUB: case R_MUL: case R_DIV:
        s_emit(G, "(");
        s_print(G, n->kid[0]);
        s_emit(G, " %s ", ops[n->kind]);
        s_print(G, n->kid[1]);
        s_emit(G, ")");
        return;
    case R_SUM: s_emit(G, "sum("); s_print(G, n->kid[0]); s_emit(G, ")"); return;
    case R_TOINT: s_emit(G, "int(fix("); s_print(G, n->kid[0]); s_emit(G, ") + %s)", n->text); return;
    case R_DOT:
        s_emit(G, "dot(");
        s_print(G, n->kid[0]);
        s_emit(G, ", ");
        s_print(G, n->kid[1]);
        s_emit(G, ")");
        return;
    case R_INDEX: s_print(G, n->kid[0]); s_emit(G, "[%u]", n->a); return;
    case R_SLICE: s_print(G, n->kid[0]); s_emit(G, "[%u:%u]", n->a, n->b); return;
    case R_CONCAT:
        s_emit(G, "concat(");
        s_print(G, n->kid[0]);
        s_emit(G, ", ");
        s_print(G, n->kid[1]);
        s_emit(G, ")");
        return;
    case R_CMP:
        s_emit(G, "(");
        s_print(G, n->kid[0]);
        s_emit(G, " %s ", s_cmp_ops[n->a]);
        s_print(G, n->kid[1]);
        s_emit(G, ")");
        return;
    case R_SEL:
        s_emit(G, "(");
        s_print(G, n->kid[0]);
        s_emit(G, " ? ");
        s_print(G, n->kid[1]);
        s_emit(G, " : ");
        s_print(G, n->kid[2]);
        s_emit(G, ")");
        return;
    case R_MIN: case R_MAX:
        s_emit(G, n->kind == R_MIN ? "min(" : "max(");
        s_print(G, n->kid[0]);
        s_emit(G, ", ");
        s_print(G, n->kid[1]);
        s_emit(G, ")");
        return;
    case R_ABS: s_emit(G, "abs("); s_print(G, n->kid[0]); s_emit(G, ")"); return;
    case R_COUNT: s_emit(G, "sum("); s_print(G, n->kid[0]); s_emit(G, ")"); return;
    case R_CALL:
        s_emit(G, "f%u(", n->a);
        for (int i = 0; i < n->n_kids; i++) {
            if (i) s_emit(G, ", ");
            s_print(G, n->kid[i]);
        }
        s_emit(G, ")");
        return;
    }
}

/* ---- generation ---- */

/* A nonzero public constant (an int literal, or in fix programs often a decimal). */
static s_node *s_gen_const(s_gen *G, int for_mul)
{
    s_node *n = s_new(G, R_CONST, 0, 0);
    if (G->fix && s_below(G, 3) != 0) {
        unsigned m = 1 + s_below(G, for_mul ? 300 : 900);   /* m / 100 */
        snprintf(n->text, sizeof n->text, "%u.%02u", m / 100, m % 100);
        /* round half away from zero of m * 2^f / 100, exactly */
        n->k = (((uint64_t)m << G->frac) * 2 + 100) / 200;
    } else {
        unsigned v = 1 + s_below(G, G->fix ? 5 : 1000);
        snprintf(n->text, sizeof n->text, "%u", v);
        n->k = v;
        n->kint = 1;
    }
    return n;
}

static s_node *s_gen_expr(s_gen *G, unsigned len, int depth, int need_secret);
static s_node *s_gen_choice(s_gen *G, unsigned len, int depth);

/* A secret leaf of exactly the shape asked for. */
static s_node *s_gen_leaf(s_gen *G, unsigned len)
{
    if (G->n_params) {   /* inside a function body: parameters only */
        s_node *n = s_new(G, R_PARAM, len, 1);
        n->a = s_below(G, G->n_params);
        return n;
    }
    unsigned cand[64], nc = 0;
    for (unsigned i = 0; i < G->n_binds; i++)
        if (G->binds[i].len == len) cand[nc++] = i;
    if (nc && (len == 0 || s_below(G, 3) != 0)) {
        s_node *n = s_new(G, R_REF, len, 1);
        n->a = cand[s_below(G, nc)];
        return n;
    }
    /* Cut it out of a longer vector. */
    unsigned vec[64], nv = 0;
    for (unsigned i = 0; i < G->n_binds; i++)
        if (G->binds[i].len > len && G->binds[i].len >= 1) vec[nv++] = i;
    if (nv == 0) {   /* only exact matches (the longest length): take one */
        s_node *n = s_new(G, R_REF, len, 1);
        n->a = cand[s_below(G, nc)];
        return n;
    }
    unsigned b = vec[s_below(G, nv)];   /* the generator always declares a max_len input */
    s_node *ref = s_new(G, R_REF, G->binds[b].len, 1);
    ref->a = b;
    if (len == 0) {
        if (s_below(G, 2)) {
            s_node *n = s_new(G, R_INDEX, 0, 1);
            n->kid[0] = ref;
            n->n_kids = 1;
            n->a = s_below(G, G->binds[b].len);
            return n;
        }
        s_node *n = s_new(G, R_SUM, 0, 1);
        n->kid[0] = ref;
        n->n_kids = 1;
        return n;
    }
    s_node *n = s_new(G, R_SLICE, len, 1);
    n->kid[0] = ref;
    n->n_kids = 1;
    n->a = s_below(G, G->binds[b].len - len + 1);
    n->b = n->a + len;
    return n;
}

static s_node *s_gen_binop(s_gen *G, int kind, unsigned len, int depth)
{
    s_node *n = s_new(G, kind, len, 1);
    n->n_kids = 2;
    int secret_side = (int)s_below(G, 2);
    for (int i = 0; i < 2; i++) {
        int need = i == secret_side;
        /* A vector operation may take a scalar on either side (broadcast). */
        unsigned l = (len && !need && s_below(G, 3) == 0) ? 0 : len;
        if (!need && l == 0 && s_below(G, 2) == 0) {
            if (G->in_loop && !G->n_params && s_below(G, 2)) {
                s_node *lv = s_new(G, R_LOOP, 0, 0);
                lv->a = kind == R_MUL ? 1 + s_below(G, 2) : s_below(G, 3);
                n->kid[i] = lv;
            } else {
                n->kid[i] = s_gen_const(G, kind == R_MUL);
            }
        } else if (i == 1 && kind == R_MUL && n->kid[0]->secret && n->kid[0]->len == l && s_below(G, 4) == 0) {
            n->kid[1] = n->kid[0];   /* a square: the same expression twice (one wire after CSE) */
        } else {
            n->kid[i] = s_gen_expr(G, l, depth - 1, 1);
        }
    }
    return n;
}

static s_node *s_gen_div(s_gen *G, unsigned len, int depth)
{
    static const int ints[] = {2, 4, 8, -2, -4, 1, -1, 16};
    static const int fixints[] = {2, 3, 5, -4, 7, 10, -3};
    static const char *const decs[] = {"0.5", "1.5", "0.25", "2.5", "0.1", "3.3", "0.75"};
    s_node *n = s_new(G, R_DIV, len, 1);
    n->n_kids = 2;
    n->kid[0] = s_gen_expr(G, len, depth - 1, 1);
    s_node *c = s_new(G, R_CONST, 0, 0);
    if (!G->fix || s_below(G, 2)) {
        int v = G->fix ? fixints[s_below(G, 7)] : ints[s_below(G, 8)];
        snprintf(c->text, sizeof c->text, v < 0 ? "(%d)" : "%d", v);
        c->k = (uint64_t)(int64_t)v;
        c->kint = 1;
    } else {
        const char *d = decs[s_below(G, 7)];
        int neg = (int)s_below(G, 4) == 0;
        snprintf(c->text, sizeof c->text, neg ? "(-%s)" : "%s", d);
        unsigned ip = (unsigned)(d[0] - '0'), fp = (unsigned)((d[2] - '0') * 10 + (d[3] ? d[3] - '0' : 0));
        unsigned m = ip * 100 + fp;
        uint64_t X = (((uint64_t)m << G->frac) * 2 + 100) / 200;
        c->k = neg ? 0 - X : X;
    }
    n->kid[1] = c;
    return n;
}

/* int(fix(e) + D) in an int program: D a decimal with a fractional part, so the TRUNC of
 * int() has work to do (its operand is not a multiple of 2^f). */
static s_node *s_gen_toint(s_gen *G, unsigned len, int depth)
{
    static const char *const decs[] = {"0.5", "0.75", "0.25", "2.5", "0.1", "3.3", "0.99"};
    s_node *n = s_new(G, R_TOINT, len, 1);
    n->n_kids = 1;
    n->kid[0] = s_gen_expr(G, len, depth - 1, 1);
    const char *d = decs[s_below(G, 7)];
    int neg = s_below(G, 2) == 0;
    snprintf(n->text, sizeof n->text, neg ? "(-%s)" : "%s", d);
    /* d is "i.f" or "i.ff": round(d·2^f), half away from zero, from its hundredths m. */
    unsigned ip = (unsigned)(d[0] - '0'), fp = (unsigned)((d[2] - '0') * 10 + (d[3] ? d[3] - '0' : 0));
    uint64_t m = ip * 100 + fp;
    uint64_t X = ((m << G->frac) * 2 + 100) / 200;
    n->k = neg ? 0 - X : X;
    return n;
}

/* A comparison of shape len: secret operands (one may be a scalar, broadcast). */
static s_node *s_gen_cmp(s_gen *G, unsigned len, int depth)
{
    s_node *n = s_gen_binop(G, R_CMP, len, depth);
    n->a = s_below(G, 6);
    return n;
}

/* c ? a : b, min, max, abs, or (int programs) a count of a comparison. */
static s_node *s_gen_choice(s_gen *G, unsigned len, int depth)
{
    unsigned k = s_below(G, G->fix ? 4 : 5);
    if (k == 4 && len == 0) {
        unsigned m = 1 + s_below(G, G->max_len);
        s_node *n = s_new(G, R_COUNT, 0, 1);
        n->kid[0] = s_gen_cmp(G, m, depth - 1);
        n->n_kids = 1;
        return n;
    }
    if (k == 3 || k == 4) {
        s_node *n = s_new(G, R_ABS, len, 1);
        n->kid[0] = s_gen_expr(G, len, depth - 1, 1);
        n->n_kids = 1;
        return n;
    }
    if (k == 0) {
        s_node *n = s_new(G, R_SEL, len, 1);
        n->kid[0] = s_gen_cmp(G, s_below(G, 2) ? len : 0, depth - 1);
        s_node *ab = s_gen_binop(G, R_ADD, len, depth);   /* two operands, one surely secret */
        n->kid[1] = ab->kid[0];
        n->kid[2] = ab->kid[1];
        n->n_kids = 3;
        return n;
    }
    s_node *n = s_gen_binop(G, k == 1 ? R_MIN : R_MAX, len, depth);
    return n;
}

/* An expression of shape len (0 = scalar); need_secret: it must depend on an input. */
static s_node *s_gen_expr(s_gen *G, unsigned len, int depth, int need_secret)
{
    (void)need_secret;   /* every generated expression is secret; public parts are leaves */
    if (depth <= 0 || s_below(G, 4) == 0) return s_gen_leaf(G, len);
    unsigned choice = s_below(G, G->with_cmp ? 20 : 17);
    if (G->n_params) choice = s_below(G, 9);   /* function bodies: element-wise only */
    switch (choice) {
    case 0: case 1: {
        s_node *n = s_new(G, R_NEG, len, 1);
        n->kid[0] = s_gen_expr(G, len, depth - 1, 1);
        n->n_kids = 1;
        return n;
    }
    case 2: case 3: case 4: return s_gen_binop(G, R_ADD, len, depth);
    case 5: case 6: return s_gen_binop(G, R_SUB, len, depth);
    case 7: return s_gen_binop(G, R_MUL, len, depth);
    case 8:
        if (G->with_toint && s_below(G, 2)) return s_gen_toint(G, len, depth);
        if (G->with_div) return s_gen_div(G, len, depth);
        return s_gen_binop(G, R_MUL, len, depth);
    case 9: case 10:
        if (len == 0) {
            unsigned m = 1 + s_below(G, G->max_len);
            s_node *n = s_new(G, R_SUM, 0, 1);
            n->kid[0] = s_gen_expr(G, m, depth - 1, 1);
            n->n_kids = 1;
            return n;
        }
        break;
    case 11:
        if (len == 0) {
            unsigned m = 1 + s_below(G, G->max_len);
            s_node *n = s_new(G, R_DOT, 0, 1);
            n->kid[0] = s_gen_expr(G, m, depth - 1, 1);
            /* a third of them dot(e, e): a square after CSE */
            n->kid[1] = s_below(G, 3) == 0 ? n->kid[0] : s_gen_expr(G, m, depth - 1, 1);
            n->n_kids = 2;
            return n;
        }
        break;
    case 12:
        if (len == 0) {
            unsigned m = 1 + s_below(G, G->max_len);
            s_node *n = s_new(G, R_INDEX, 0, 1);
            n->kid[0] = s_gen_expr(G, m, depth - 1, 1);
            n->n_kids = 1;
            n->a = s_below(G, m);
            return n;
        }
        if (len < G->max_len) {
            unsigned m = len + 1 + s_below(G, G->max_len - len);
            s_node *n = s_new(G, R_SLICE, len, 1);
            n->kid[0] = s_gen_expr(G, m, depth - 1, 1);
            n->n_kids = 1;
            n->a = s_below(G, m - len + 1);
            n->b = n->a + len;
            return n;
        }
        break;
    case 13: case 14:
        if (len >= 2) {
            unsigned l1 = 1 + s_below(G, len - 1);
            s_node *n = s_new(G, R_CONCAT, len, 1);
            n->kid[0] = s_gen_expr(G, l1 == 1 && s_below(G, 2) ? 0 : l1, depth - 1, 1);
            n->kid[1] = s_gen_expr(G, len - l1 == 1 && s_below(G, 2) ? 0 : len - l1, depth - 1, 1);
            n->n_kids = 2;
            return n;
        }
        break;
    case 15: case 16:
        if (G->n_fns) {
            s_node *n = s_new(G, R_CALL, len, 1);
            n->a = s_below(G, G->n_fns);
            n->n_kids = (int)G->fns[n->a].n_params;
            for (int i = 0; i < n->n_kids; i++) n->kid[i] = s_gen_expr(G, len, depth - 2, 1);
            return n;
        }
        break;
    case 17: case 18: case 19:
        if (G->with_cmp) return s_gen_choice(G, len, depth);
        break;
    default:
        break;
    }
    return s_gen_binop(G, s_below(G, 2) ? R_ADD : R_MUL, len, depth);
}

/* ---- programs ---- */

static void s_rand_value(s_gen *G, uint64_t *v, int small)
{
    if (G->fix) {
        /* |x| < 8 with every fractional bit random */
        uint64_t span = (uint64_t)16 << G->frac;
        *v = (s_rand(G) % span) - (span / 2);
    } else if (small) {
        *v = (s_rand(G) % ((uint64_t)1 << 25)) - ((uint64_t)1 << 24);
    } else {
        *v = s_rand(G);
    }
}

static s_bindv *s_bind(s_gen *G, const char *name, unsigned len, const s_vals *v)
{
    s_bindv *b = &G->binds[G->n_binds++];
    memset(b, 0, sizeof *b);
    char *nm = s_mem(G, 16);
    if (nm) snprintf(nm, 16, "%s", name);
    b->name = nm ? nm : "oom";
    b->len = len;
    b->vals = s_mem(G, (len ? len : 1) * sizeof(uint64_t));
    if (b->vals && v) memcpy(b->vals, v->v, (len ? len : 1) * sizeof(uint64_t));
    return b;
}

static void s_free_attempt(s_gen *G)
{
    for (size_t i = 0; i < G->n_mem; i++) free(G->mem[i]);
    free(G->mem);
    G->mem = NULL;
    G->n_mem = G->cap_mem = 0;
}

static int s_attempt(s_gen *G, const mpc_randprog_opts *o, mpc_randprog *out)
{
    G->bad = 0;
    G->src_len = 0;
    G->n_binds = 0;
    G->n_fns = 0;
    G->in_loop = 0;
    G->n_params = 0;
    if (G->src) G->src[0] = 0;
    int small = o->small_ints || o->with_div || s_below(G, 2);

    unsigned np = 2 + s_below(G, 4);
    out->n_parties = np;
    s_emit(G, "# randprog\nparty ");
    for (unsigned i = 0; i < np; i++) s_emit(G, i ? ", p%u" : "p%u", i);
    s_emit(G, "\n");
    if (G->fix && G->frac != MPC_DEFAULT_FRAC) s_emit(G, "precision %u\n", G->frac);
    const char *tname = G->fix ? "fix" : "int";

    /* Inputs: one vector of the longest length and one scalar at least. */
    unsigned ni = 2 + s_below(G, 4);
    out->n_inputs = ni;
    out->inputs = calloc(ni, sizeof *out->inputs);
    if (!out->inputs) return -1;
    for (unsigned i = 0; i < ni; i++) {
        mpc_randprog_input *in = &out->inputs[i];
        unsigned len = i == 0 ? G->max_len : i == 1 ? 0 : (s_below(G, 2) ? 0 : 1 + s_below(G, G->max_len));
        snprintf(in->name, sizeof in->name, "in%u", i);
        in->party = s_below(G, np);
        in->type = G->fix ? MPC_T_FIX : MPC_T_INT;
        in->len = len ? len : 1;
        in->is_vec = len != 0;
        in->vals = calloc(in->len, sizeof(uint64_t));
        if (!in->vals) return -1;
        for (uint64_t j = 0; j < in->len; j++) s_rand_value(G, &in->vals[j], small);
        if (len) s_emit(G, "input %s: %s[%u] from p%u\n", in->name, tname, len, in->party);
        else s_emit(G, "input %s: %s from p%u\n", in->name, tname, in->party);
        s_vals v = {len, in->vals};
        s_bind(G, in->name, len, &v)->is_input = 1;
    }

    /* Functions: element-wise bodies over their parameters. */
    unsigned nf = s_below(G, 3);
    for (unsigned f = 0; f < nf; f++) {
        unsigned npar = 1 + s_below(G, 2);
        G->n_params = npar;
        s_node *body = s_gen_expr(G, 0, 3, 1);
        G->n_params = 0;
        G->fns[f].body = body;
        G->fns[f].n_params = npar;
        s_emit(G, "fn f%u(u%s) { return ", f, npar == 2 ? ", v" : "");
        s_print(G, body);
        s_emit(G, " }\n");
        G->n_fns++;
    }

    /* lets and vars */
    unsigned nl = s_below(G, 4);
    for (unsigned i = 0; i < nl; i++) {
        unsigned len = s_below(G, 2) ? 0 : 1 + s_below(G, G->max_len);
        s_node *e = s_gen_expr(G, len, 3, 1);
        s_vals v = s_eval(G, e);
        char name[16];
        int is_var = (int)s_below(G, 2);
        snprintf(name, sizeof name, "%s%u", is_var ? "v" : "l", i);
        s_emit(G, "%s %s = ", is_var ? "var" : "let", name);
        s_print(G, e);
        s_emit(G, "\n");
        s_bind(G, name, len, &v)->is_var = is_var;
    }

    /* Loops updating a var. */
    unsigned nloops = s_below(G, 3);
    for (unsigned l = 0; l < nloops; l++) {
        unsigned vars[64], nv = 0;
        for (unsigned i = 0; i < G->n_binds; i++)
            if (G->binds[i].is_var) vars[nv++] = i;
        if (!nv) break;
        unsigned vi = vars[s_below(G, nv)];
        s_bindv *vb = &G->binds[vi];
        unsigned a = s_below(G, 3), b = a + 1 + s_below(G, 3);
        snprintf(G->loop_name, sizeof G->loop_name, "i%u", l);
        G->in_loop = 1;
        s_node *upd = s_gen_binop(G, s_below(G, 4) == 0 ? R_MUL : (s_below(G, 2) ? R_ADD : R_SUB), vb->len, 2);
        /* the update reads the var itself on its left */
        s_node *self = s_new(G, R_REF, vb->len, 1);
        self->a = vi;
        upd->kid[0] = self;
        if (upd->kind == R_MUL && !upd->kid[1]->secret && upd->kid[1]->kind == R_LOOP && upd->kid[1]->a == 0)
            upd->kid[1]->a = 1;
        s_emit(G, "for %s in %u..%u {\n  %s = ", G->loop_name, a, b, vb->name);
        s_print(G, upd);
        s_emit(G, "\n}\n");
        for (unsigned it = a; it < b; it++) {
            G->loop_val = it;
            s_vals v = s_eval(G, upd);
            memcpy(vb->vals, v.v, (vb->len ? vb->len : 1) * sizeof(uint64_t));
        }
        G->in_loop = 0;
    }

    /* Outputs: a few statements, each to a random nonempty set of parties. */
    unsigned nos = 1 + s_below(G, 3);
    out->outputs = calloc(nos * 3, sizeof *out->outputs);
    if (!out->outputs) return -1;
    out->n_outputs = 0;
    int named_used[64] = {0};
    for (unsigned s = 0; s < nos; s++) {
        unsigned items = 1 + s_below(G, 3);
        uint32_t rec = 0;
        while (!rec) rec = (uint32_t)(s_rand(G) & ((1u << np) - 1));
        s_emit(G, "output ");
        for (unsigned it = 0; it < items; it++) {
            mpc_randprog_output *po = &out->outputs[out->n_outputs];
            s_vals v;
            unsigned bi = s_below(G, G->n_binds);
            if (!G->binds[bi].is_input && !named_used[bi] && s_below(G, 2)) {
                named_used[bi] = 1;
                snprintf(po->name, sizeof po->name, "%s", G->binds[bi].name);
                s_emit(G, "%s%s", it ? ", " : "", po->name);
                v.len = G->binds[bi].len;
                v.v = G->binds[bi].vals;
            } else {
                unsigned len = s_below(G, 2) ? 0 : 1 + s_below(G, G->max_len);
                s_node *e = s_gen_expr(G, len, 4, 1);
                v = s_eval(G, e);
                snprintf(po->name, sizeof po->name, "o%u", out->n_outputs);
                s_emit(G, "%s%s = ", it ? ", " : "", po->name);
                s_print(G, e);
            }
            po->recipients = rec;
            po->type = G->fix ? MPC_T_FIX : MPC_T_INT;
            po->len = v.len ? v.len : 1;
            po->vals = calloc(po->len, sizeof(uint64_t));
            if (!po->vals) return -1;
            memcpy(po->vals, v.v, po->len * sizeof(uint64_t));
            out->n_outputs++;
        }
        s_emit(G, " to ");
        int first = 1;
        for (unsigned p = 0; p < np; p++)
            if (rec & (1u << p)) {
                s_emit(G, first ? "p%u" : ", p%u", p);
                first = 0;
            }
        s_emit(G, "\n");
    }
    return G->oom ? -1 : 0;
}

void mpc_randprog_free(mpc_randprog *p)
{
    if (!p) return;
    free(p->src);
    for (uint32_t i = 0; i < p->n_inputs; i++) free(p->inputs[i].vals);
    for (uint32_t i = 0; i < p->n_outputs; i++) free(p->outputs[i].vals);
    free(p->inputs);
    free(p->outputs);
    memset(p, 0, sizeof *p);
}

int mpc_randprog_generate(uint64_t seed, const mpc_randprog_opts *opts, mpc_randprog *out)
{
    mpc_randprog_opts o = {0};
    if (opts) o = *opts;
    s_gen G;
    memset(&G, 0, sizeof G);
    G.rng = seed * 0xD1342543DE82EF95ull + 1;
    G.fix = o.fix;
    G.frac = o.frac ? o.frac : MPC_DEFAULT_FRAC;
    G.max_len = o.max_len ? o.max_len : 8;
    if (G.max_len > 64) G.max_len = 64;
    G.with_div = o.with_div;
    G.with_toint = o.with_toint && !o.fix;
    G.with_cmp = o.with_cmp;
    memset(out, 0, sizeof *out);
    for (int attempt = 0; attempt < 1000; attempt++) {
        int r = s_attempt(&G, &o, out);
        s_free_attempt(&G);
        if (r == 0 && !G.bad) {
            out->src = G.src;
            out->frac = G.frac;
            return 0;
        }
        char *keep = G.src;
        G.src = NULL;
        mpc_randprog_free(out);
        G.src = keep;
        if (r != 0) break;
    }
    free(G.src);
    return -1;
}
