/* compile.c — semantic analysis and code generation (compile.h).
 *
 * One walk over the AST.  Every expression evaluates to an s_val: either a public constant
 * (a scalar or a vector whose elements all equal one value: compile time knows it, no gate
 * exists) or a secret wire.  Operations on two public values are folded here with exactly
 * the ring semantics the circuit would have, identities (x+0, x*1, x*0, -(-x)) are applied,
 * and secret×public becomes MUL_PUB, so no triple is spent where none is needed.  Vectors
 * are single wires: an operation on a vector of a million elements is one gate.
 * Errors stop the walk with longjmp after being reported to the diag sink; the circuit and
 * the arena are freed by mpc_compile. */
#include "compile.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

#include "opt.h"
#include "parse.h"

#define S_MAX_FRAC      32    /* division keeps s = 40 - f >= 8 extra bits */
#define S_DIV_BITS      40
#define S_MAX_INLINE    64    /* nested inlined calls */
#define S_MAX_PARAMS    32    /* parameters of one function */

typedef struct {
    mpc_type type;
    int      pub;      /* public constant: every element equals k */
    int      is_vec;   /* declared as a vector (T[N]) rather than a scalar */
    uint64_t len;      /* 1 for scalars */
    uint64_t k;
    uint32_t wire;     /* secret values */
    int      rg;       /* range known: every element's ring value X (as a signed integer) is in [lo, hi] */
    double   lo, hi;
} s_val;

typedef enum { B_LET, B_VAR, B_INPUT, B_PARAM, B_LOOP } s_bkind;
static const char *const s_bkind_names[] = {"a let", "a var", "an input", "a param", "a loop variable"};

typedef struct s_bind {
    const char    *name;
    s_bkind        kind;
    s_val          v;
    uint32_t       line, col;
    int            used;
    struct s_bind *next;
} s_bind;

typedef struct s_scope {
    s_bind         *binds;
    struct s_scope *parent;
} s_scope;

typedef struct s_fn {
    const mpc_node *node;
    int             active;   /* being inlined right now */
    struct s_fn    *next;
} s_fn;

typedef struct {
    uint64_t key, type;
    uint32_t wire;
    int      used;
} s_cslot;

typedef struct {
    mpc_diag         *diag;
    jmp_buf           jb;
    mpc_arena        *arena;
    mpc_circuit      *c;
    const mpc_define *defs;
    size_t            n_defs;
    int              *def_used;
    unsigned          frac;
    int               precision_seen, decl_seen;
    s_scope          *global, *scope;
    s_fn             *fns;
    s_bind           *free_binds;   /* bindings of finished scopes, for reuse */
    int               inline_depth;
    uint64_t          unrolled;
    uint32_t          range_warned_line;   /* one range warning per source line */
    s_cslot          *cache;   /* CONST gates by (type, value) */
    size_t            cache_cap, cache_n;
} s_comp;

/* ---- errors ---- */

static _Noreturn void s_error(s_comp *C, const mpc_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static _Noreturn void s_error(s_comp *C, const mpc_node *n, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    mpc_diag_error(C->diag, n ? n->line : 0, n ? n->col : 0, "%s", msg);
    longjmp(C->jb, 1);
}

static _Noreturn void s_error_at(s_comp *C, uint32_t line, uint32_t col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static _Noreturn void s_error_at(s_comp *C, uint32_t line, uint32_t col, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    mpc_diag_error(C->diag, line, col, "%s", msg);
    longjmp(C->jb, 1);
}

static void *s_alloc(s_comp *C, size_t n)
{
    void *p = mpc_arena_alloc(C->arena, n);
    if (!p) s_error(C, NULL, "out of memory");
    return p;
}

/* "int", "fix[4]" */
static const char *s_tname(const s_val *v, char *buf, size_t len)
{
    if (v->is_vec) snprintf(buf, len, "%s[%llu]", mpc_type_names[v->type], (unsigned long long)v->len);
    else snprintf(buf, len, "%s", mpc_type_names[v->type]);
    return buf;
}

/* ---- ring helpers ---- */

/* floor(x / 2^m) for x read as a signed 64-bit value, 0 <= m <= 63, without signed shifts. */
static uint64_t s_sar(uint64_t x, unsigned m)
{
    if (m == 0) return x;
    uint64_t r = x >> m;
    if (x >> 63) r |= ~(UINT64_MAX >> m);
    return r;
}

static int s_neg64(uint64_t x) { return (int)(x >> 63); }
static uint64_t s_abs64(uint64_t x) { return s_neg64(x) ? 0 - x : x; }

/* k if |x| = 2^k exactly (x != 0), else -1. */
static int s_log2_exact(uint64_t a)
{
    if (a == 0 || (a & (a - 1))) return -1;
    int k = 0;
    while ((a >> k) != 1) k++;
    return k;
}

static int s_bitlen(uint64_t a)
{
    int n = 0;
    while (a) {
        n++;
        a >>= 1;
    }
    return n;
}

int mpc_compile_decimal(const char *text, unsigned frac, uint64_t *out)
{
    const char *p = text;
    uint64_t ip = 0;
    if (frac > 62) return -1;
    if (!(*p >= '0' && *p <= '9')) return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        ip = ip * 10 + (uint64_t)(*p - '0');
        if (ip >> (63 - frac)) return -1;
    }
    unsigned char digits[512];
    size_t nd = 0;
    if (*p == '.') {
        p++;
        if (!(*p >= '0' && *p <= '9')) return -1;
        for (; *p >= '0' && *p <= '9'; p++) {
            if (nd == sizeof digits) return -1;
            digits[nd++] = (unsigned char)(*p - '0');
        }
    }
    if (*p) return -1;
    /* Exact binary expansion of the fraction: double it frac times, the carries are bits. */
    uint64_t fb = 0;
    for (unsigned b = 0; b < frac; b++) {
        unsigned carry = 0;
        for (size_t i = nd; i-- > 0;) {
            unsigned v = digits[i] * 2u + carry;
            digits[i] = (unsigned char)(v % 10);
            carry = v / 10;
        }
        fb = fb * 2 + carry;
    }
    uint64_t x = (ip << frac) + fb;
    if (nd > 0 && digits[0] >= 5) x++;   /* the rest is >= 1/2: round half away from zero */
    if (x >> 63) return -1;
    *out = x;
    return 0;
}

/* ---- values ---- */

static s_val s_pub(mpc_type t, uint64_t k, int is_vec, uint64_t len)
{
    double d = (double)(int64_t)k;
    s_val v = {t, 1, is_vec, len, k, MPC_NO_WIRE, 1, d, d};
    return v;
}

/* Elements per segment of a fix dot product (see "dot" in s_call and LANGUAGE.md). */
#define MPC_DOT_SEGMENT 256u

static s_val s_sec(mpc_type t, uint32_t w, int is_vec, uint64_t len)
{
    s_val v = {t, 0, is_vec, len, 0, w, 0, 0, 0};
    return v;
}

static int s_same_shape(const s_val *a, int is_vec, uint64_t len)
{
    return a->is_vec == is_vec && a->len == len;
}

/* The broadcast shape of two operands; vectors must have equal lengths. */
static void s_shape2(s_comp *C, const mpc_node *n, const s_val *a, const s_val *b, int *is_vec,
                     uint64_t *len, const char *what)
{
    if (a->is_vec && b->is_vec && a->len != b->len)
        s_error(C, n, "vector length mismatch in %s: %llu and %llu", what,
                (unsigned long long)a->len, (unsigned long long)b->len);
    *is_vec = a->is_vec || b->is_vec;
    *len = a->is_vec ? a->len : b->len;
}

/* ---- emitting ---- */

static uint32_t s_gate(s_comp *C, const mpc_node *n, mpc_gate_kind kind, mpc_type type, uint64_t len,
                       uint32_t in0, uint32_t in1, uint32_t in2, uint64_t aux0, uint64_t aux1)
{
    uint32_t w = mpc_circ_add_gate(C->c, kind, type, len, in0, in1, in2, aux0, aux1,
                                   n ? n->line : 0, n ? n->col : 0);
    if (w == MPC_NO_WIRE) s_error(C, n, "circuit too large (more than %u gates) or out of memory",
                                  (unsigned)MPC_CIRC_MAX_GATES);
    return w;
}

/* A scalar CONST gate, shared by every use of the same (type, value). */
static uint32_t s_const(s_comp *C, const mpc_node *n, mpc_type t, uint64_t k)
{
    if (C->cache_n * 2 >= C->cache_cap) {
        size_t ncap = C->cache_cap ? C->cache_cap * 2 : 64;
        s_cslot *nc = calloc(ncap, sizeof *nc);
        if (!nc) s_error(C, n, "out of memory");
        for (size_t i = 0; i < C->cache_cap; i++) {
            if (!C->cache[i].used) continue;
            size_t h = (size_t)((C->cache[i].key * 0x9E3779B97F4A7C15ull + C->cache[i].type) & (ncap - 1));
            while (nc[h].used) h = (h + 1) & (ncap - 1);
            nc[h] = C->cache[i];
        }
        free(C->cache);
        C->cache = nc;
        C->cache_cap = ncap;
    }
    size_t h = (size_t)((k * 0x9E3779B97F4A7C15ull + (uint64_t)t) & (C->cache_cap - 1));
    while (C->cache[h].used) {
        if (C->cache[h].key == k && C->cache[h].type == (uint64_t)t) return C->cache[h].wire;
        h = (h + 1) & (C->cache_cap - 1);
    }
    uint32_t w = mpc_circ_add_const(C->c, t, &k, 1, n ? n->line : 0, n ? n->col : 0);
    if (w == MPC_NO_WIRE) s_error(C, n, "circuit too large or out of memory");
    C->cache[h].used = 1;
    C->cache[h].key = k;
    C->cache[h].type = (uint64_t)t;
    C->cache[h].wire = w;
    C->cache_n++;
    return w;
}

static const mpc_gate *s_g(s_comp *C, uint32_t w) { return &C->c->gates[w]; }

/* v with the shape (is_vec, len); a secret scalar is spread with an ADD_PUB of zero. */
static s_val s_broadcast(s_comp *C, const mpc_node *n, s_val v, int is_vec, uint64_t len)
{
    if (s_same_shape(&v, is_vec, len)) return v;
    if (v.pub || v.len == len) {
        v.is_vec = is_vec;
        v.len = len;
        return v;
    }
    uint32_t w = s_gate(C, n, MPC_G_ADD_PUB, v.type, len, v.wire, s_const(C, n, v.type, 0), MPC_NO_WIRE, 0, 0);
    s_val r = s_sec(v.type, w, is_vec, len);
    r.rg = v.rg, r.lo = v.lo, r.hi = v.hi;
    return r;
}

/* Raw ring operations: operands already have the result's type t.  s_raw_X0 emit; the
 * s_raw_X wrappers below also propagate value ranges. */
static s_val s_raw_add(s_comp *C, const mpc_node *n, mpc_type t, s_val a, s_val b);
static s_val s_raw_neg(s_comp *C, const mpc_node *n, mpc_type t, s_val a);
static s_val s_raw_mul(s_comp *C, const mpc_node *n, mpc_type t, s_val a, s_val b);

static s_val s_raw_add0(s_comp *C, const mpc_node *n, mpc_type t, s_val a, s_val b)
{
    int vec;
    uint64_t len;
    s_shape2(C, n, &a, &b, &vec, &len, "'+'");
    if (a.pub && b.pub) return s_pub(t, a.k + b.k, vec, len);
    if (a.pub) {
        s_val tmp = a;
        a = b;
        b = tmp;
    }
    if (b.pub) {
        a.type = t;
        if (b.k == 0) return s_broadcast(C, n, a, vec, len);
        uint32_t w = s_gate(C, n, MPC_G_ADD_PUB, t, len, a.wire, s_const(C, n, t, b.k), MPC_NO_WIRE, 0, 0);
        return s_sec(t, w, vec, len);
    }
    return s_sec(t, s_gate(C, n, MPC_G_ADD, t, len, a.wire, b.wire, MPC_NO_WIRE, 0, 0), vec, len);
}

static s_val s_raw_neg0(s_comp *C, const mpc_node *n, mpc_type t, s_val a)
{
    if (a.pub) return s_pub(t, 0 - a.k, a.is_vec, a.len);
    const mpc_gate *g = s_g(C, a.wire);
    if (g->kind == MPC_G_NEG) return s_sec(t, g->in[0], a.is_vec, a.len);   /* -(-x) */
    return s_sec(t, s_gate(C, n, MPC_G_NEG, t, a.len, a.wire, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0), a.is_vec, a.len);
}

static s_val s_raw_sub0(s_comp *C, const mpc_node *n, mpc_type t, s_val a, s_val b)
{
    int vec;
    uint64_t len;
    s_shape2(C, n, &a, &b, &vec, &len, "'-'");
    if (a.pub && b.pub) return s_pub(t, a.k - b.k, vec, len);
    if (b.pub) return s_raw_add(C, n, t, a, s_pub(t, 0 - b.k, b.is_vec, b.len));
    if (a.pub) return s_raw_add(C, n, t, s_raw_neg(C, n, t, b), a);
    return s_sec(t, s_gate(C, n, MPC_G_SUB, t, len, a.wire, b.wire, MPC_NO_WIRE, 0, 0), vec, len);
}

/* Ring product without any fixed-point truncation. */
static s_val s_raw_mul0(s_comp *C, const mpc_node *n, mpc_type t, s_val a, s_val b)
{
    int vec;
    uint64_t len;
    s_shape2(C, n, &a, &b, &vec, &len, "'*'");
    if (a.pub && b.pub) return s_pub(t, a.k * b.k, vec, len);
    if (a.pub) {
        s_val tmp = a;
        a = b;
        b = tmp;
    }
    if (b.pub) {
        if (b.k == 0) return s_pub(t, 0, vec, len);
        a.type = t;
        if (b.k == 1) return s_broadcast(C, n, a, vec, len);
        if (b.k == UINT64_MAX) return s_broadcast(C, n, s_raw_neg(C, n, t, a), vec, len);
        /* 3*4*x: the constants were folded first, so x is multiplied once. */
        uint32_t w = s_gate(C, n, MPC_G_MUL_PUB, t, len, a.wire, s_const(C, n, MPC_T_INT, b.k), MPC_NO_WIRE, 0, 0);
        return s_sec(t, w, vec, len);
    }
    /* (k*a)*b = k*(a*b) in the ring: pulling the public factor out lets a*b be shared with
     * other uses (3*x*y next to x*y costs one triple, not two). */
    for (int side = 0; side < 2; side++) {
        s_val *p = side ? &b : &a, *q = side ? &a : &b;
        const mpc_gate *g = s_g(C, p->wire);
        if (g->kind == MPC_G_MUL_PUB && s_g(C, g->in[0])->len == p->len) {
            s_val inner = s_sec(t, g->in[0], p->is_vec, p->len);
            uint32_t k = g->in[1];
            s_val m = s_raw_mul(C, n, t, inner, *q);
            return s_sec(t, s_gate(C, n, MPC_G_MUL_PUB, t, len, m.wire, k, MPC_NO_WIRE, 0, 0), vec, len);
        }
    }
    return s_sec(t, s_gate(C, n, MPC_G_MUL, t, len, a.wire, b.wire, MPC_NO_WIRE, 0, 0), vec, len);
}

/* floor(a / 2^m) on the signed value (TRUNC with the default headroom bound). */
static s_val s_raw_trunc0(s_comp *C, const mpc_node *n, mpc_type t, s_val a, unsigned m)
{
    if (m == 0) {
        a.type = t;
        return a;
    }
    if (a.pub) return s_pub(t, s_sar(a.k, m), a.is_vec, a.len);
    uint32_t w = s_gate(C, n, MPC_G_TRUNC, t, a.len, a.wire, MPC_NO_WIRE, MPC_NO_WIRE, m, MPC_TRUNC_BOUND);
    return s_sec(t, w, a.is_vec, a.len);
}


/* ---- value ranges (LANGUAGE.md "Ranges and overflow warnings") ----
 * A value whose inputs all have declared ranges carries an interval [lo, hi] of its ring
 * values (as signed integers, in doubles: exact enough for a warning).  Each raw operation
 * propagates it; a result that can leave ±2^63 (the ring) or a TRUNC operand that can leave
 * its headroom ±2^62 gets a warning naming the line, and the value's range is dropped (so
 * one overflow is reported once, not by everything computed from it). */

#define S_2P62 4611686018427387904.0
#define S_2P63 9223372036854775808.0

static double s_mag(double lo, double hi) { return fabs(lo) > fabs(hi) ? fabs(lo) : fabs(hi); }

static void s_range_warn(s_comp *C, const mpc_node *n, const char *fmt, double mag)
{
    uint32_t line = n ? n->line : 0;
    if (line && line == C->range_warned_line) return;
    C->range_warned_line = line;
    char buf[64];
    snprintf(buf, sizeof buf, "2^%.1f", log2(mag));
    mpc_diag_warning(C->diag, line, n ? n->col : 0, fmt, buf);
}

/* v with the range [lo, hi] if ok (else unknown); warns if it leaves the ring. */
static s_val s_ranged(s_comp *C, const mpc_node *n, s_val v, int ok, double lo, double hi)
{
    if (v.pub) return v;
    v.rg = 0;
    if (!ok) return v;
    if (s_mag(lo, hi) >= S_2P63) {
        s_range_warn(C, n, "this value can overflow the ring: |X| up to %s for the declared input ranges (the limit is 2^63)",
                     s_mag(lo, hi));
        return v;
    }
    v.rg = 1;
    v.lo = lo;
    v.hi = hi;
    return v;
}

static s_val s_raw_add(s_comp *C, const mpc_node *n, mpc_type t, s_val a, s_val b)
{
    return s_ranged(C, n, s_raw_add0(C, n, t, a, b), a.rg && b.rg, a.lo + b.lo, a.hi + b.hi);
}

static s_val s_raw_neg(s_comp *C, const mpc_node *n, mpc_type t, s_val a)
{
    return s_ranged(C, n, s_raw_neg0(C, n, t, a), a.rg, -a.hi, -a.lo);
}

static s_val s_raw_sub(s_comp *C, const mpc_node *n, mpc_type t, s_val a, s_val b)
{
    return s_ranged(C, n, s_raw_sub0(C, n, t, a, b), a.rg && b.rg, a.lo - b.hi, a.hi - b.lo);
}

static void s_prod_range(const s_val *a, const s_val *b, double *lo, double *hi)
{
    double p[4] = {a->lo * b->lo, a->lo * b->hi, a->hi * b->lo, a->hi * b->hi};
    *lo = *hi = p[0];
    for (int i = 1; i < 4; i++) {
        if (p[i] < *lo) *lo = p[i];
        if (p[i] > *hi) *hi = p[i];
    }
}

static s_val s_raw_mul(s_comp *C, const mpc_node *n, mpc_type t, s_val a, s_val b)
{
    double lo = 0, hi = 0;
    if (a.rg && b.rg) s_prod_range(&a, &b, &lo, &hi);
    return s_ranged(C, n, s_raw_mul0(C, n, t, a, b), a.rg && b.rg, lo, hi);
}

static s_val s_raw_trunc(s_comp *C, const mpc_node *n, mpc_type t, s_val a, unsigned m)
{
    if (a.rg && !a.pub && m > 0 && s_mag(a.lo, a.hi) >= S_2P62) {
        s_range_warn(C, n, "a truncation here can leave its headroom: |X| up to %s for the declared input "
                     "ranges (the limit is 2^62; the MPC result would be garbage)", s_mag(a.lo, a.hi));
        a.rg = 0;
    }
    double sc = ldexp(1.0, -(int)m);
    return s_ranged(C, n, s_raw_trunc0(C, n, t, a, m), a.rg, floor(a.lo * sc), floor(a.hi * sc) + (m ? 1 : 0));
}

/* ---- typing ---- */

/* bool -> int (same ring values, nothing emitted). */
static s_val s_bool_to_int(s_val v)
{
    if (v.type == MPC_T_BOOL) v.type = MPC_T_INT;
    return v;
}

/* int or bool -> fix: multiply by 2^f. */
static s_val s_to_fix(s_comp *C, const mpc_node *n, s_val v)
{
    if (v.type == MPC_T_FIX) return v;
    return s_raw_mul(C, n, MPC_T_FIX, v, s_pub(MPC_T_INT, (uint64_t)1 << C->frac, 0, 1));
}

/* Brings a and b to one type for + - comparisons min max ?: — bool becomes int; an int meets
 * a fix only as a public constant (or a bool), which becomes fix; a secret int with a fix
 * is an error naming both types.  Returns the common type. */
static mpc_type s_unify(s_comp *C, const mpc_node *n, s_val *a, s_val *b, const char *what)
{
    if (a->type == b->type) return a->type;
    if (a->type != MPC_T_FIX && b->type != MPC_T_FIX) {
        *a = s_bool_to_int(*a);
        *b = s_bool_to_int(*b);
        return MPC_T_INT;
    }
    s_val *i = a->type == MPC_T_FIX ? b : a;
    if (i->type == MPC_T_INT && !i->pub) {
        char ta[48], tb[48];
        s_error(C, n, "type mismatch in %s: %s and %s (convert with fix(...) or int(...))", what,
                s_tname(a, ta, sizeof ta), s_tname(b, tb, sizeof tb));
    }
    *i = s_to_fix(C, n, *i);
    return MPC_T_FIX;
}

static s_val s_add(s_comp *C, const mpc_node *n, s_val a, s_val b)
{
    mpc_type t = s_unify(C, n, &a, &b, "'+'");
    if (t == MPC_T_BOOL) t = MPC_T_INT, a.type = b.type = t;
    return s_raw_add(C, n, t, a, b);
}

static s_val s_sub(s_comp *C, const mpc_node *n, s_val a, s_val b)
{
    mpc_type t = s_unify(C, n, &a, &b, "'-'");
    if (t == MPC_T_BOOL) t = MPC_T_INT, a.type = b.type = t;
    return s_raw_sub(C, n, t, a, b);
}

static s_val s_neg(s_comp *C, const mpc_node *n, s_val a)
{
    a = s_bool_to_int(a);
    return s_raw_neg(C, n, a.type, a);
}

/* The result type of a product and whether it carries 2f fractional bits (needs TRUNC). */
static mpc_type s_mul_type(s_comp *C, const mpc_node *n, s_val *a, s_val *b, int *fixfix,
                           const char *what)
{
    *fixfix = 0;
    if (a->type == MPC_T_BOOL && b->type == MPC_T_BOOL) return MPC_T_BOOL;
    if (a->type == MPC_T_BOOL || b->type == MPC_T_BOOL) {
        /* A 0/1 factor scales a fix encoding correctly as it is. */
        return a->type == MPC_T_BOOL ? b->type : a->type;
    }
    if (a->type == b->type) {
        *fixfix = a->type == MPC_T_FIX;
        return a->type;
    }
    s_val *i = a->type == MPC_T_INT ? a : b;
    if (!i->pub) {
        char ta[48], tb[48];
        s_error(C, n, "type mismatch in %s: %s and %s (convert with fix(...) or int(...))", what,
                s_tname(a, ta, sizeof ta), s_tname(b, tb, sizeof tb));
    }
    return MPC_T_FIX;   /* fix times a public int: MUL_PUB by the integer, exact */
}

static s_val s_mul(s_comp *C, const mpc_node *n, s_val a, s_val b)
{
    int fixfix;
    mpc_type t = s_mul_type(C, n, &a, &b, &fixfix, "'*'");
    if (!fixfix) return s_raw_mul(C, n, t, a, b);
    if (a.pub && b.pub) {
        s_val p = s_raw_mul(C, n, t, a, b);
        return s_raw_trunc(C, n, t, p, C->frac);
    }
    if (a.pub) {
        s_val tmp = a;
        a = b;
        b = tmp;
    }
    if (b.pub) {
        uint64_t mask = ((uint64_t)1 << C->frac) - 1;
        if ((b.k & mask) == 0)   /* a whole number: multiply by the integer, nothing to truncate */
            return s_raw_mul(C, n, t, a, s_pub(MPC_T_INT, s_sar(b.k, C->frac), b.is_vec, b.len));
    }
    return s_raw_trunc(C, n, t, s_raw_mul(C, n, t, a, b), C->frac);
}

static s_val s_secret_div(s_comp *C, const mpc_node *n, s_val x, s_val y);

/* x / c: a public c (see LANGUAGE.md "Division"), or a secret one (s_secret_div). */
static s_val s_div(s_comp *C, const mpc_node *n, s_val x, s_val c)
{
    if (!c.pub) {
        mpc_type t = s_unify(C, n, &x, &c, "'/'");
        if (t != MPC_T_FIX)
            s_error(C, n, "integer division by a secret value is not supported; convert with fix(...)");
        x.type = c.type = t;
        return s_secret_div(C, n, x, c);
    }
    if (c.is_vec) s_error(C, n, "division by a vector is not supported");
    if (c.type == MPC_T_BOOL) s_error(C, n, "division by a bool is not supported");
    x = s_bool_to_int(x);
    if (c.k == 0) s_error(C, n, "division by zero");
    int cneg = s_neg64(c.k);
    if (x.type == MPC_T_INT) {
        if (c.type == MPC_T_FIX) {
            if (!x.pub) {
                char tx[48];
                s_error(C, n, "type mismatch in '/': %s and fix (convert with fix(...) or int(...))",
                        s_tname(&x, tx, sizeof tx));
            }
            x = s_to_fix(C, n, x);
        } else {
            int k = s_log2_exact(s_abs64(c.k));
            if (k > 62) s_error(C, n, "division by -2^63 is not supported");
            if (k >= 0) {
                s_val y = s_raw_trunc(C, n, MPC_T_INT, x, (unsigned)k);
                return cneg ? s_raw_neg(C, n, MPC_T_INT, y) : y;
            }
            if (x.pub) {   /* public int / int: floor division */
                int64_t a = (int64_t)x.k, b = (int64_t)c.k;
                if (b == -1) return s_pub(MPC_T_INT, 0 - x.k, x.is_vec, x.len);
                int64_t q = a / b;
                if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
                return s_pub(MPC_T_INT, (uint64_t)q, x.is_vec, x.len);
            }
            s_error(C, n, "integer division by %lld is not supported; divide a fix value, or by a power of two",
                    (long long)(int64_t)c.k);
        }
    }
    /* x is fix; C is c's fix encoding, c = C / 2^f. */
    uint64_t Cabs = c.type == MPC_T_FIX ? s_abs64(c.k) : s_abs64(c.k) << C->frac;
    if (c.type == MPC_T_INT && (s_abs64(c.k) >> (63 - C->frac)))
        s_error(C, n, "divisor %lld is too large for fix precision %u", (long long)(int64_t)c.k, C->frac);
    s_val y;
    int j = s_log2_exact(Cabs);
    if (j >= 0) {
        int k = j - (int)C->frac;   /* |c| = 2^k */
        if (k >= 0) y = s_raw_trunc(C, n, MPC_T_FIX, x, (unsigned)k);
        else y = s_raw_mul(C, n, MPC_T_FIX, x, s_pub(MPC_T_INT, (uint64_t)1 << -k, 0, 1));
    } else {
        int t = s_bitlen(Cabs) - 1 - (int)C->frac;
        if (t < 0) t = 0;
        unsigned s = S_DIV_BITS - C->frac;
        /* R = round(2^(s+t) * 2^f / |C|), exactly. */
        unsigned __int128 num = (unsigned __int128)1 << (s + (unsigned)t + C->frac);
        unsigned __int128 R = (2 * num + Cabs) / (2 * (unsigned __int128)Cabs);
        s_val x1 = s_raw_trunc(C, n, MPC_T_FIX, x, (unsigned)t);
        s_val p = s_raw_mul(C, n, MPC_T_FIX, x1, s_pub(MPC_T_INT, (uint64_t)R, 0, 1));
        y = s_raw_trunc(C, n, MPC_T_FIX, p, s);
    }
    return cneg ? s_raw_neg(C, n, MPC_T_FIX, y) : y;
}

/* LTZ(d) or EQZ(d), bool. */
static s_val s_test(s_comp *C, const mpc_node *n, mpc_gate_kind kind, s_val d)
{
    if (d.pub) {
        uint64_t r = kind == MPC_G_LTZ ? (uint64_t)s_neg64(d.k) : (uint64_t)(d.k == 0);
        return s_pub(MPC_T_BOOL, r, d.is_vec, d.len);
    }
    s_val r = s_sec(MPC_T_BOOL, s_gate(C, n, kind, MPC_T_BOOL, d.len, d.wire, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0),
                    d.is_vec, d.len);
    r.rg = 1, r.lo = 0, r.hi = 1;
    return r;
}

/* 1 - b for a bool: NEG then ADD_PUB of 1. */
static s_val s_not(s_comp *C, const mpc_node *n, s_val b)
{
    return s_raw_add(C, n, MPC_T_BOOL, s_raw_neg(C, n, MPC_T_BOOL, b), s_pub(MPC_T_BOOL, 1, 0, 1));
}

static s_val s_compare(s_comp *C, const mpc_node *n, int op, s_val a, s_val b)
{
    char what[8];
    snprintf(what, sizeof what, "'%s'", mpc_token_names[op]);
    mpc_type t = s_unify(C, n, &a, &b, what);
    if (t == MPC_T_BOOL) t = MPC_T_INT, a.type = b.type = t;
    switch (op) {
    case MPC_TK_LT: return s_test(C, n, MPC_G_LTZ, s_raw_sub(C, n, t, a, b));
    case MPC_TK_GT: return s_test(C, n, MPC_G_LTZ, s_raw_sub(C, n, t, b, a));
    case MPC_TK_LE: return s_not(C, n, s_test(C, n, MPC_G_LTZ, s_raw_sub(C, n, t, b, a)));
    case MPC_TK_GE: return s_not(C, n, s_test(C, n, MPC_G_LTZ, s_raw_sub(C, n, t, a, b)));
    case MPC_TK_EQ: return s_test(C, n, MPC_G_EQZ, s_raw_sub(C, n, t, a, b));
    default:        return s_not(C, n, s_test(C, n, MPC_G_EQZ, s_raw_sub(C, n, t, a, b)));
    }
}

/* cond ? a : b with cond a bool; a and b already share a type. */
static s_val s_select(s_comp *C, const mpc_node *n, s_val cond, s_val a, s_val b)
{
    int vec;
    uint64_t len;
    s_shape2(C, n, &a, &b, &vec, &len, "'?:'");
    s_val ab = s_pub(a.type, 0, vec, len);
    s_shape2(C, n, &cond, &ab, &vec, &len, "'?:'");
    if (cond.pub)   /* all elements of a public condition are equal: it picks one side */
        return s_broadcast(C, n, cond.k ? a : b, vec, len);
    if (!a.pub && !b.pub) {
        uint32_t w = s_gate(C, n, MPC_G_SELECT, a.type, len, cond.wire, a.wire, b.wire, 0, 0);
        return s_ranged(C, n, s_sec(a.type, w, vec, len), a.rg && b.rg, fmin(a.lo, b.lo), fmax(a.hi, b.hi));
    }
    /* b + cond*(a - b): the public side folds into local gates. */
    mpc_type t = a.type;
    s_val d = s_raw_sub(C, n, t, a, b);
    s_val m = s_raw_mul(C, n, t, cond, d);
    return s_broadcast(C, n, s_raw_add(C, n, t, b, m), vec, len);
}

/* ---- scopes ---- */

static s_bind *s_lookup(s_comp *C, const char *name)
{
    for (s_scope *s = C->scope; s; s = s->parent)
        for (s_bind *b = s->binds; b; b = b->next)
            if (strcmp(b->name, name) == 0) return b;
    return NULL;
}

static s_bind *s_declare(s_comp *C, const char *name, s_bkind kind, s_val v, uint32_t line, uint32_t col)
{
    for (s_bind *b = C->scope->binds; b; b = b->next)
        if (strcmp(b->name, name) == 0)
            s_error_at(C, line, col, "'%s' is already defined at %u:%u", name, (unsigned)b->line,
                       (unsigned)b->col);
    s_bind *b = C->free_binds;
    if (b) {
        C->free_binds = b->next;
        memset(b, 0, sizeof *b);
    } else {
        b = s_alloc(C, sizeof *b);
    }
    b->name = name;
    b->kind = kind;
    b->v = v;
    b->line = line;
    b->col = col;
    b->next = C->scope->binds;
    C->scope->binds = b;
    return b;
}

/* Leaves scope sc: its bindings go back to the free list (a million-iteration loop must not
 * keep a million dead scopes). */
static void s_scope_close(s_comp *C, s_scope *sc)
{
    while (sc->binds) {
        s_bind *b = sc->binds;
        sc->binds = b->next;
        b->next = C->free_binds;
        C->free_binds = b;
    }
}

static s_fn *s_find_fn(s_comp *C, const char *name)
{
    for (s_fn *f = C->fns; f; f = f->next)
        if (strcmp(f->node->name, name) == 0) return f;
    return NULL;
}

static void s_count_unroll(s_comp *C, const mpc_node *n)
{
    if (++C->unrolled > MPC_COMPILE_MAX_UNROLL)
        s_error(C, n, "program unrolls to more than %u loop iterations and calls",
                (unsigned)MPC_COMPILE_MAX_UNROLL);
}

/* ---- expressions ---- */

static s_val s_expr(s_comp *C, const mpc_node *n);
static void s_stats(s_comp *C, const mpc_node *block, size_t n_stats);

/* A public int scalar (lengths, bounds, indices, precision). */
static int64_t s_const_int(s_comp *C, const mpc_node *n, const char *what)
{
    s_val v = s_expr(C, n);
    if (!v.pub) s_error(C, n, "%s must be a compile-time constant", what);
    if (v.type == MPC_T_FIX) s_error(C, n, "%s must be an integer, not fix", what);
    if (v.is_vec) s_error(C, n, "%s must be a scalar", what);
    return (int64_t)v.k;
}

static void s_arity(s_comp *C, const mpc_node *n, uint32_t want)
{
    if (n->n_kids != want)
        s_error(C, n, "%s() takes %u argument%s, got %u", n->name, (unsigned)want, want == 1 ? "" : "s",
                (unsigned)n->n_kids);
}

static s_val s_need_vec(s_comp *C, const mpc_node *n, s_val v, const char *fn)
{
    if (!v.is_vec) {
        char t[48];
        s_error(C, n, "%s() expects a vector, got %s", fn, s_tname(&v, t, sizeof t));
    }
    return v;
}

/* ---- numerics: secret division, roots, exp, log, sigmoid (LANGUAGE.md "Numerics") ----
 *
 * Every function here is a circuit of existing gates.  The common tool is the *threshold
 * batch*: one LTZ gate compares every element of x against a whole list of public
 * thresholds at once (block j of its operand is x plus threshold j), so a function costs
 * one set of 8 rounds of comparisons however many thresholds and elements there are.  The bits of a monotone
 * family (b_j = [x >= t_j], b_0 >= b_1 >= ...) give any public function g of "how many
 * thresholds x passed" as a *linear* combination, with no triple:
 *     g(count) = g(0) + sum_j b_j (g(j+1) - g(j))
 * (a MUL_PUB by a CONST vector, then per-element sums over the blocks).  With thresholds at
 * the powers of two this yields 2^(61-m) (normalisation), 2^-m, 2^(-m/2) or m·ln 2 for the
 * exponent m of x; with thresholds at the integers it yields floor(t) and 2^floor(t).
 * Mantissas live at P fractional bits (P > f) during the iterations; products truncate
 * by P; one final TRUNC returns to f bits.  The error bounds are in LANGUAGE.md and are
 * measured by tests/check_numeric.c and scripts/accuracy (docs/accuracy.md).
 * The overall shape — normalise to a mantissa in [1/2, 1), Goldschmidt iterations for the
 * reciprocal, undo the scale — follows Catrina and Saxena, "Secure computation with
 * fixed-point numbers" (FC 2010, §4 division); sqrt/rsqrt use Goldschmidt's simultaneous
 * iteration for sqrt and 1/sqrt (as in Aly and Smart, "Benchmarking privacy preserving
 * scientific operations", ACNS 2019); exp is 2^floor(t)·2^frac(t).  What differs here is
 * how the exponent is found: one batch of comparisons against every threshold at once
 * (8 rounds for any number of thresholds) instead of a bit decomposition. */

#define S_NUM_MAX_FRAC   20            /* the functions below need precision <= 20 */
#define S_NUM_MAX_ELEMS  (1ull << 28)  /* elements of one threshold batch (the daemon's limits may be lower) */
#define S_DIV_P          22            /* mantissa bits of division and reciprocal */
#define S_DIV_H          4             /* extra bits of the scaled dividend */
#define S_ROOT_P         24            /* sqrt, rsqrt */
#define S_LOG_P          24
#define S_LOG_PC         30            /* polynomial coefficient bits */
#define S_EXP_P          20            /* exp, sigmoid */
#define S_EXP_PC         30
#define S_SIG_K          24            /* sigmoid: 2^-|t| is 0 from |t| >= 24, |x| >= 16.64 */

/* Polynomials (coefficients of z^0..z^d): Chebyshev interpolation at d+1 nodes, rewritten
 * in powers of the centred variable z (see scripts/accuracy --coefficients, which prints
 * them again with their maximum errors; doubles are converted to fixed point by
 * multiplying by a power of two and rounding, which is exact and portable). */
/* 2^(1/2 + z), z in [-1/2, 1/2): relative error 2.6e-9. */
static const double s_exp2_poly[] = {1.414213562373095, 0.9802581804401738, 0.33973158738454945,
                                     0.07849348039564776, 0.013601986198440028, 0.0018951067270742375,
                                     0.00021865784789757266};
/* 2^-(1/2 + z), z in [-1/2, 1/2): relative error 2.6e-9. */
static const double s_exp2n_poly[] = {0.7071067811865479, -0.49012909022008605, 0.16986579369226554,
                                      -0.039246740197835805, 0.006800993099273812, -0.0009475533634924561,
                                      0.00010932892385946096};
/* ln(3/4 + z), z in [-1/4, 1/4): absolute error 3.9e-8. */
static const double s_log_poly[] = {-0.2876820724517812, 1.3333323510867503, -0.8888877055514841,
                                    0.7903315635914604, -0.7903741380889894, 0.8310333473231771,
                                    -0.9222753847554688, 1.3104870080521018, -1.5376908959717386};

#define S_LN2     0.69314718055994530942
#define S_LOG2E   1.44269504088896340736
#define S_SQRT2   1.41421356237309504880

/* round(x) as a ring element (two's complement); |x| < 2^62. */
static uint64_t s_rnd(double x)
{
    double r = x < 0 ? -x : x;
    uint64_t u = (uint64_t)(r + 0.5);
    return x < 0 ? 0 - u : u;
}

/* 2^(e/2) for an integer e, as a double (exact up to the one rounding of sqrt 2). */
static double s_pow2half(int e)
{
    int h = e >= 0 ? e / 2 : -((-e + 1) / 2);   /* floor(e / 2) */
    double v = (e - 2 * h) ? S_SQRT2 : 1.0;
    for (; h > 0; h--) v *= 2;
    for (; h < 0; h++) v /= 2;
    return v;
}

static void s_num_check(s_comp *C, const mpc_node *n, const char *what)
{
    if (C->frac > S_NUM_MAX_FRAC)
        s_error(C, n, "%s needs precision at most %d (this program has %u)", what, S_NUM_MAX_FRAC, C->frac);
}

static s_val s_fpub(uint64_t k) { return s_pub(MPC_T_FIX, k, 0, 1); }

/* Warns when a ranged argument can leave a function's valid range lo_enc <= X < hi_enc. */
static void s_arg_range(s_comp *C, const mpc_node *n, s_val x, double lo_enc, double hi_enc, const char *what)
{
    if (!x.rg || x.pub) return;
    if (x.hi >= hi_enc || x.lo < lo_enc) {
        uint32_t line = n ? n->line : 0;
        if (line && line == C->range_warned_line) return;
        C->range_warned_line = line;
        mpc_diag_warning(C->diag, line, n ? n->col : 0,
                         "the argument of %s can leave its valid range for the declared input ranges (LANGUAGE.md, Numerics)",
                         what);
    }
}

/* TRUNC(a * b, sh) */
static s_val s_pmul(s_comp *C, const mpc_node *n, s_val a, s_val b, unsigned sh)
{
    return s_raw_trunc(C, n, MPC_T_FIX, s_raw_mul(C, n, MPC_T_FIX, a, b), sh);
}

/* TRUNC(a * b + 2^(sh-1), sh): the product rounded to nearest (the final step of a function). */
static s_val s_pmul_rnd(s_comp *C, const mpc_node *n, s_val a, s_val b, unsigned sh)
{
    s_val p = s_raw_add(C, n, MPC_T_FIX, s_raw_mul(C, n, MPC_T_FIX, a, b), s_fpub((uint64_t)1 << (sh - 1)));
    return s_raw_trunc(C, n, MPC_T_FIX, p, sh);
}

/* A CONST gate of k blocks of len elements, block j all vals[j]. */
static uint32_t s_cblocks(s_comp *C, const mpc_node *n, const uint64_t *vals, unsigned k, uint64_t len)
{
    uint64_t total = (uint64_t)k * len;
    uint64_t *v = malloc(total * sizeof *v);
    if (!v) s_error(C, n, "out of memory");
    for (unsigned j = 0; j < k; j++)
        for (uint64_t e = 0; e < len; e++) v[(uint64_t)j * len + e] = vals[j];
    uint32_t w = mpc_circ_add_const(C->c, MPC_T_INT, v, total, n->line, n->col);
    free(v);
    if (w == MPC_NO_WIRE) s_error(C, n, "circuit too large or out of memory");
    return w;
}

/* The threshold batch: one LTZ gate over kn + kp blocks of x's length; block j < kn holds
 * LTZ(offn[j] - x), block kn + j holds LTZ(x + offp[j]).  A scalar x is broadcast against
 * one CONST of the k thresholds; a vector gets one ADD_PUB per block, joined by CONCAT. */
static uint32_t s_ltz_blocks(s_comp *C, const mpc_node *n, s_val x, const uint64_t *offn, unsigned kn,
                             const uint64_t *offp, unsigned kp)
{
    uint64_t len = x.len;
    if ((uint64_t)(kn + kp) * len > S_NUM_MAX_ELEMS)
        s_error(C, n, "vector too long for this function: %llu elements x %u thresholds exceeds %llu",
                (unsigned long long)len, kn + kp, (unsigned long long)S_NUM_MAX_ELEMS);
    uint32_t d = MPC_NO_WIRE;
    if (len > 1) {
        /* A vector: one ADD_PUB of a scalar constant per block, joined by CONCAT (a CONST
         * of k·len values would make the circuit file grow with the data). */
        s_val nx = kn ? s_raw_neg(C, n, MPC_T_FIX, x) : x;
        for (unsigned j = 0; j < kn + kp; j++) {
            uint32_t src = j < kn ? nx.wire : x.wire;
            uint64_t off = j < kn ? offn[j] : offp[j - kn];
            uint32_t b = s_gate(C, n, MPC_G_ADD_PUB, MPC_T_FIX, len, src, s_const(C, n, MPC_T_INT, off), MPC_NO_WIRE, 0, 0);
            d = j == 0 ? b : s_gate(C, n, MPC_G_CONCAT, MPC_T_FIX, (uint64_t)(j + 1) * len, d, b, MPC_NO_WIRE, 0, 0);
        }
        return s_gate(C, n, MPC_G_LTZ, MPC_T_BOOL, (kn + kp) * len, d, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0);
    }
    if (kn) {
        s_val nx = s_raw_neg(C, n, MPC_T_FIX, x);
        d = s_gate(C, n, MPC_G_ADD_PUB, MPC_T_FIX, kn, nx.wire,
                   s_cblocks(C, n, offn, kn, len), MPC_NO_WIRE, 0, 0);
    }
    if (kp) {
        uint32_t p = s_gate(C, n, MPC_G_ADD_PUB, MPC_T_FIX, kp, x.wire,
                            s_cblocks(C, n, offp, kp, len), MPC_NO_WIRE, 0, 0);
        d = d == MPC_NO_WIRE ? p
                             : s_gate(C, n, MPC_G_CONCAT, MPC_T_FIX, (kn + kp) * len, d, p, MPC_NO_WIRE, 0, 0);
    }
    return s_gate(C, n, MPC_G_LTZ, MPC_T_BOOL, (kn + kp) * len, d, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0);
}

/* Block j (length len) of a k-block wire. */
static s_val s_block(s_comp *C, const mpc_node *n, uint32_t w, unsigned j, uint64_t len, int is_vec)
{
    return s_sec(MPC_T_INT, s_gate(C, n, MPC_G_SLICE, MPC_T_INT, len, w, MPC_NO_WIRE, MPC_NO_WIRE,
                                   (uint64_t)j * len, 1), is_vec, len);
}

/* k0 + sum_j bits_j * coefs[j] per element over the k blocks of `bits` (local gates only). */
static s_val s_lincomb(s_comp *C, const mpc_node *n, uint32_t bits, unsigned k, uint64_t len, int is_vec,
                       const uint64_t *coefs, uint64_t k0)
{
    if (len > 1) {   /* per block: SLICE, MUL_PUB by a scalar constant, ADD */
        s_val acc = s_pub(MPC_T_INT, k0, is_vec, len);
        for (unsigned j = 0; j < k; j++) {
            if (coefs[j] == 0) continue;
            s_val b = s_block(C, n, bits, j, len, is_vec);
            acc = s_raw_add(C, n, MPC_T_INT, acc, s_raw_mul(C, n, MPC_T_INT, b, s_pub(MPC_T_INT, coefs[j], 0, 1)));
        }
        return acc;
    }
    uint32_t m = s_gate(C, n, MPC_G_MUL_PUB, MPC_T_INT, (uint64_t)k * len, bits, s_cblocks(C, n, coefs, k, len),
                        MPC_NO_WIRE, 0, 0);
    s_val acc = s_sec(MPC_T_INT, s_gate(C, n, MPC_G_SUM, MPC_T_INT, 1, m, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0), is_vec, 1);
    return s_raw_add(C, n, MPC_T_INT, acc, s_pub(MPC_T_INT, k0, 0, 1));
}

/* Normalisation of x (fix, secret): bits of [x >= 2^j] for j < L (then, if sgn, [x <= -2^j]),
 * and the mantissa a = x / 2^(m+1) at P bits, |a| in [1/2, 1), 0 when x = 0, where m is
 * the position of the top bit of |X|; requires |X| < 2^L.  Cost: 8 rounds (LTZ) + 2 (MUL,
 * TRUNC), one triple per element. */
typedef struct {
    uint32_t bits;
    unsigned L, k;   /* k = L or 2L blocks */
    s_val    a;
    s_val    s;      /* sgn: [x < 0] */
} s_norm_t;

static void s_normalise(s_comp *C, const mpc_node *n, s_val x, unsigned L, int sgn, unsigned P, s_norm_t *r)
{
    uint64_t off[64] = {0}, coef[128] = {0};
    for (unsigned j = 0; j < L; j++) off[j] = ((uint64_t)1 << j) - 1;
    r->L = L;
    r->k = sgn ? 2 * L : L;
    r->bits = s_ltz_blocks(C, n, x, off, L, sgn ? off : NULL, sgn ? L : 0);
    /* S1 = 2^(61 - m): telescoped over each family. */
    for (unsigned j = 0; j < L; j++) coef[j] = j == 0 ? (uint64_t)1 << 61 : 0 - ((uint64_t)1 << (61 - j));
    for (unsigned j = 0; j < L; j++) coef[L + j] = coef[j];
    s_val s1 = s_lincomb(C, n, r->bits, r->k, x.len, x.is_vec, coef, 0);
    r->a = s_pmul(C, n, x, s1, 62 - P);
    r->s = sgn ? s_block(C, n, r->bits, L, x.len, x.is_vec) : s_pub(MPC_T_INT, 0, 0, 1);
}

/* g(m) for the exponent m of the normalised value: g[j] is the value when m = j, g0 when
 * x = 0 (no threshold passed). */
static s_val s_expfn(s_comp *C, const mpc_node *n, const s_norm_t *N, s_val x, const uint64_t *g, uint64_t g0)
{
    uint64_t coef[128] = {0};
    for (unsigned j = 0; j < N->L; j++) coef[j] = g[j] - (j ? g[j - 1] : g0);
    for (unsigned j = 0; j < N->L; j++) coef[N->L + j] = coef[j];
    return s_lincomb(C, n, N->bits, N->k, x.len, x.is_vec, coef, g0);
}

/* 1/a at P bits for a = A/2^P in ±[1/2, 1], s = [a < 0] (an int bit or public 0).
 * Initial r0 = c·sign - 2a with c = 4·sqrt(3) - 4, |1 - a·r0| <= 0.0718; then Goldschmidt:
 * e0 = 1 - a·r0, q_{i+1} = q_i (1 + e_i), e_{i+1} = e_i^2; three steps leave a relative
 * error e0^8 < 1e-9 plus rounding.  8 rounds, 6 triples per element. */
static s_val s_recip_core(s_comp *C, const mpc_node *n, s_val a, s_val s, unsigned P)
{
    uint64_t c = s_rnd(2.92820323027550917 * (double)((uint64_t)1 << P));
    s_val sg = s_raw_mul(C, n, MPC_T_FIX, s, s_pub(MPC_T_INT, 0 - 2 * c, 0, 1));
    s_val r = s_raw_sub(C, n, MPC_T_FIX, s_raw_add(C, n, MPC_T_FIX, sg, s_fpub(c)),
                        s_raw_mul(C, n, MPC_T_FIX, a, s_pub(MPC_T_INT, 2, 0, 1)));
    s_val e = s_raw_sub(C, n, MPC_T_FIX, s_fpub((uint64_t)1 << P), s_pmul(C, n, a, r, P));
    for (int i = 0; i < 3; i++) {
        s_val re = s_pmul(C, n, r, e, P);
        if (i < 2) e = s_pmul(C, n, e, e, P);
        r = s_raw_add(C, n, MPC_T_FIX, r, re);
    }
    return r;
}

/* x / y for fix x (secret or public) and secret fix y (LANGUAGE.md "Division by a secret"). */
static s_val s_secret_div(s_comp *C, const mpc_node *n, s_val x, s_val y)
{
    s_num_check(C, n, "division by a secret");
    unsigned f = C->frac, P = S_DIV_P, h = S_DIV_H, L = 26 + f;
    int vec;
    uint64_t len;
    s_shape2(C, n, &x, &y, &vec, &len, "'/'");
    s_arg_range(C, n, y, -ldexp(1, (int)L) + 1, ldexp(1, (int)L), "'/'");
    s_norm_t N;
    s_normalise(C, n, y, L, 1, P, &N);
    s_val r = s_recip_core(C, n, N.a, N.s, P);
    /* V = x · 2^(f + h - m - 1), at exactly f+h-m-1 ≥ ... via Sv = 2^(L - m - 1) and a TRUNC. */
    uint64_t g[64] = {0};
    for (unsigned j = 0; j < L; j++) g[j] = (uint64_t)1 << (L - j - 1);
    s_val sv = s_expfn(C, n, &N, y, g, 0);
    s_val v = s_pmul(C, n, x, sv, L - f - h);
    s_val q = s_pmul_rnd(C, n, v, r, P + h);
    return s_broadcast(C, n, q, vec, len);
}

/* sqrt (want_sqrt) or rsqrt of a secret fix x. */
static s_val s_root(s_comp *C, const mpc_node *n, s_val x, int want_sqrt)
{
    s_num_check(C, n, want_sqrt ? "sqrt()" : "rsqrt()");
    unsigned f = C->frac, P = S_ROOT_P, T = P + 3;
    unsigned L = want_sqrt ? 69 - f : 56;
    if (L > 60) L = 60;
    s_arg_range(C, n, x, want_sqrt ? -INFINITY : 1, ldexp(1, (int)L), want_sqrt ? "sqrt()" : "rsqrt()");
    s_norm_t N;
    s_normalise(C, n, x, L, 0, P, &N);
    /* y0 = c0 - a with c0 = 1.94972: |1 - a·y0^2| <= 0.098 on [1/2, 1). Goldschmidt with
     * g = a·y, y -> rsqrt(a), g -> sqrt(a): rr = (1 - g·y)/2, g *= 1 + rr, y *= 1 + rr. */
    s_val a = N.a;
    s_val y = s_raw_sub(C, n, MPC_T_FIX, s_fpub(s_rnd(1.94972 * (double)((uint64_t)1 << P))), a);
    s_val g = s_pmul(C, n, a, y, P);
    for (int i = 0; i < 3; i++) {
        s_val rr = s_raw_sub(C, n, MPC_T_FIX, s_fpub((uint64_t)1 << (P - 1)), s_pmul(C, n, g, y, P + 1));
        s_val g2 = s_raw_add(C, n, MPC_T_FIX, g, s_pmul(C, n, g, rr, P));
        s_val y2 = s_raw_add(C, n, MPC_T_FIX, y, s_pmul(C, n, y, rr, P));
        g = g2;
        y = y2;
    }
    uint64_t sc[64] = {0};
    for (unsigned j = 0; j < L; j++) {
        /* sqrt:  Q = G · 2^((m+1+f)/2 + T - P) / 2^T
         * rsqrt: Q = Y · 2^((3f - m - 1)/2 + T - P) / 2^T */
        int e = want_sqrt ? (int)(j + 1 + f) + 2 * (int)(T - P) : (int)(3 * f) - (int)j - 1 + 2 * (int)(T - P);
        sc[j] = s_rnd(s_pow2half(e));
    }
    s_val s = s_expfn(C, n, &N, x, sc, 0);
    return s_pmul_rnd(C, n, want_sqrt ? g : y, s, T);
}

/* sum_k c_k z^k at P bits for z at P bits: powers by a product tree (depth ceil(log2 d)
 * products), coefficients at Pc bits, one TRUNC; `extra` (at P + Pc bits) is added before
 * the truncation, which is by P + Pc - out_bits. */
static s_val s_poly(s_comp *C, const mpc_node *n, s_val z, const double *c, unsigned d, unsigned P, unsigned Pc,
                    s_val extra, unsigned out_bits)
{
    s_val pw[16];
    pw[1] = z;
    for (unsigned k = 2; k <= d; k++) {
        unsigned hi = 1;
        while (hi * 2 < k) hi *= 2;   /* k = hi + (k - hi), both already computed at lower depth */
        pw[k] = s_pmul(C, n, pw[hi], pw[k - hi], P);
    }
    double scale = (double)((uint64_t)1 << Pc);
    s_val acc = s_raw_add(C, n, MPC_T_FIX, extra, s_fpub(s_rnd(c[0] * scale * (double)((uint64_t)1 << P))));
    for (unsigned k = 1; k <= d; k++)
        acc = s_raw_add(C, n, MPC_T_FIX, acc, s_raw_mul(C, n, MPC_T_FIX, pw[k], s_pub(MPC_T_INT, s_rnd(c[k] * scale), 0, 1)));
    acc = s_raw_add(C, n, MPC_T_FIX, acc, s_fpub((uint64_t)1 << (P + Pc - out_bits - 1)));
    return s_raw_trunc(C, n, MPC_T_FIX, acc, P + Pc - out_bits);
}

/* log(x), natural, for secret fix x > 0. */
static s_val s_log(s_comp *C, const mpc_node *n, s_val x)
{
    s_num_check(C, n, "log()");
    unsigned f = C->frac, P = S_LOG_P, Pc = S_LOG_PC, L = 56;
    s_arg_range(C, n, x, 1, ldexp(1, (int)L), "log()");
    s_norm_t N;
    s_normalise(C, n, x, L, 0, P, &N);
    /* log x = (m + 1 - f)·ln 2 + ln a, m + 1 = number of thresholds passed. */
    uint64_t g[64] = {0};
    uint64_t ln2 = s_rnd(S_LN2 * (double)((uint64_t)1 << (P + Pc)));
    for (unsigned j = 0; j < L; j++) g[j] = (uint64_t)(j + 1);
    s_val m1 = s_expfn(C, n, &N, x, g, 0);
    s_val e = s_raw_mul(C, n, MPC_T_FIX, s_raw_add(C, n, MPC_T_INT, m1, s_pub(MPC_T_INT, 0 - (uint64_t)f, 0, 1)),
                        s_pub(MPC_T_INT, ln2, 0, 1));
    s_val z = s_raw_sub(C, n, MPC_T_FIX, N.a, s_fpub((uint64_t)3 << (P - 2)));
    return s_poly(C, n, z, s_log_poly, 8, P, Pc, e, f);
}

/* t = ±x · log2(e) at P bits, through a constant of P + g - f bits (relative error
 * 2^-(P+g)); the product needs |x| < 2^(61.5 - P - g). */
static s_val s_log2e_times(s_comp *C, const mpc_node *n, s_val x, unsigned P, int neg, unsigned g)
{
    unsigned f = C->frac;
    uint64_t k = s_rnd(S_LOG2E * (double)((uint64_t)1 << (P + g - f)));
    return s_pmul(C, n, x, s_pub(MPC_T_INT, neg ? 0 - k : k, 0, 1), g);
}

/* exp(x) for secret fix x: 0 below -(f+1)·ln 2, saturating at 2^kmax from kmax·ln 2 on. */
static s_val s_exp(s_comp *C, const mpc_node *n, s_val x)
{
    s_num_check(C, n, "exp()");
    unsigned f = C->frac, P = S_EXP_P, T = P + 1;
    int kmin = -(int)(f + 1), kmax = 59 - (int)P - (int)f;
    unsigned K = (unsigned)(kmax - kmin + 1);
    uint64_t one = (uint64_t)1 << P;
    s_arg_range(C, n, x, -INFINITY, kmax * S_LN2 * ldexp(1, (int)f), "exp()");
    s_val t = s_log2e_times(C, n, x, P, 0, 24);   /* |x| < 2^17.5 */
    uint64_t off[64] = {0}, coef[64] = {0};
    for (unsigned j = 0; j < K; j++) off[j] = (uint64_t)(int64_t)(kmin + (int)j) * one - 1;   /* [t >= k] */
    uint32_t bits = s_ltz_blocks(C, n, t, off, K, NULL, 0);
    /* frac = t_c - i with i = kmin - 1 + count and t clamped to [kmin - 1, kmax]:
     * t·(b_kmin - b_kmax) - (kmin-1)·b_kmin + kmax·b_kmax - count (all times 2^P). */
    s_val d1 = s_raw_sub(C, n, MPC_T_INT, s_block(C, n, bits, 0, x.len, x.is_vec),
                         s_block(C, n, bits, K - 1, x.len, x.is_vec));
    for (unsigned j = 0; j < K; j++) coef[j] = 0 - one;
    coef[0] += (uint64_t)(int64_t)(1 - kmin) * one;
    coef[K - 1] += (uint64_t)(int64_t)kmax * one;
    s_val frac = s_raw_add(C, n, MPC_T_FIX, s_raw_mul(C, n, MPC_T_FIX, t, d1),
                           s_lincomb(C, n, bits, K, x.len, x.is_vec, coef, 0));
    s_val z = s_raw_sub(C, n, MPC_T_FIX, frac, s_fpub(one / 2));
    s_val p = s_poly(C, n, z, s_exp2_poly, 6, P, S_EXP_PC, s_fpub(0), P);
    /* 2^i · 2^f · 2^(T-P) = 2^(count - 1) for count >= 1, 0 for count = 0 (t < kmin). */
    for (unsigned j = 0; j < K; j++) coef[j] = j == 0 ? 1 : ((uint64_t)1 << j) - ((uint64_t)1 << (j - 1));
    s_val s = s_lincomb(C, n, bits, K, x.len, x.is_vec, coef, 0);
    return s_pmul_rnd(C, n, p, s, T);
}

/* sigmoid(x) = 1/(1 + e^-x) for secret fix x, through u = 2^-|t|, t = -x·log2 e. */
static s_val s_sigmoid(s_comp *C, const mpc_node *n, s_val x)
{
    s_num_check(C, n, "sigmoid()");
    unsigned f = C->frac, P = S_EXP_P, K = S_SIG_K;
    uint64_t one = (uint64_t)1 << P;
    s_val t = s_log2e_times(C, n, x, P, 1, 16);   /* |x| < 2^25.5 */
    /* blocks 0..K-1: [t >= k] for k = 1..K; block K: [t < 0]; blocks K+1..2K: [t <= -k]. */
    uint64_t offn[64] = {0}, offp[64] = {0}, coef[128] = {0};
    for (unsigned k = 1; k <= K; k++) offn[k - 1] = (uint64_t)k * one - 1;
    offp[0] = 0;
    for (unsigned k = 1; k <= K; k++) offp[k] = (uint64_t)k * one - 1;
    uint32_t bits = s_ltz_blocks(C, n, t, offn, K, offp, K + 1);
    unsigned nb = 2 * K + 1;
    uint64_t len = x.len;
    /* c = 1 - 2s - [t >= K] + [t <= -K]; |t| clamped to K: c·t + K·([t >= K] + [t <= -K]). */
    memset(coef, 0, sizeof coef);
    coef[K] = 0 - (uint64_t)2;
    coef[K - 1] = 0 - (uint64_t)1;
    coef[2 * K] = 1;
    s_val c = s_lincomb(C, n, bits, nb, len, x.is_vec, coef, 1);
    /* frac' = |t|_c - 2^P·count, count = sum of both families. */
    for (unsigned j = 0; j < nb; j++) coef[j] = j == K ? 0 : 0 - one;
    coef[K - 1] += (uint64_t)K * one;
    coef[2 * K] += (uint64_t)K * one;
    s_val frac = s_raw_add(C, n, MPC_T_FIX, s_raw_mul(C, n, MPC_T_FIX, t, c),
                           s_lincomb(C, n, bits, nb, len, x.is_vec, coef, 0));
    s_val z = s_raw_sub(C, n, MPC_T_FIX, frac, s_fpub(one / 2));
    s_val pn = s_poly(C, n, z, s_exp2n_poly, 6, P, S_EXP_PC, s_fpub(0), P);
    /* u = 2^-count · pn: scale g(count) = 2^(P - count) for count < min(K, P + 1), else 0. */
    uint64_t g[64] = {0};
    for (unsigned k = 0; k <= K; k++) g[k] = (k < K && k <= P) ? (uint64_t)1 << (P - k) : 0;
    for (unsigned j = 0; j < nb; j++) coef[j] = 0;
    for (unsigned k = 1; k <= K; k++) {
        coef[k - 1] = g[k] - g[k - 1];
        coef[K + k] = g[k] - g[k - 1];
    }
    s_val s = s_lincomb(C, n, bits, nb, len, x.is_vec, coef, g[0]);
    s_val u = s_pmul(C, n, pn, s, P);
    /* 1 + u in [1, 2] is a in [1/2, 1] at P + 1 bits; 1/(1+u) = r/2. */
    s_val a = s_raw_add(C, n, MPC_T_FIX, u, s_fpub(one));
    s_val r = s_recip_core(C, n, a, s_pub(MPC_T_INT, 0, 0, 1), P + 1);   /* sigma(|x|) at P + 2 bits */
    /* x >= 0 (t <= 0: s = 1, or t = 0 where both sides are 1/2): sigma(|x|), else 1 - sigma(|x|);
     * saturated (|t| >= K): exactly 1 (t <= -K) or 0 (t >= K).  With w = 1 - sat and
     * s·sat = [t <= -K] (the sign bit is 1 there and 0 at t >= K), all of it is
     *   w·(1 - r) + (s - [t <= -K])·(2r - 1) + [t <= -K]
     * two products of bits by r in one round.  The rounding half-ulp is added only when not
     * saturated, so the saturated values are exact multiples that the TRUNC keeps exact. */
    s_val sbit = s_block(C, n, bits, K, len, x.is_vec);
    s_val tneg = s_block(C, n, bits, 2 * K, len, x.is_vec), tpos = s_block(C, n, bits, K - 1, len, x.is_vec);
    s_val w = s_raw_sub(C, n, MPC_T_INT, s_raw_sub(C, n, MPC_T_INT, s_pub(MPC_T_INT, 1, 0, 1), tpos), tneg);
    uint64_t ONE = (uint64_t)1 << (P + 2), HALF = (uint64_t)1 << (P + 1 - f);
    s_val d = s_raw_sub(C, n, MPC_T_FIX, s_raw_mul(C, n, MPC_T_FIX, r, s_pub(MPC_T_INT, 2, 0, 1)), s_fpub(ONE));
    s_val res = s_raw_mul(C, n, MPC_T_FIX, w, s_raw_sub(C, n, MPC_T_FIX, s_fpub(ONE + HALF), r));
    res = s_raw_add(C, n, MPC_T_FIX, res, s_raw_mul(C, n, MPC_T_FIX, s_raw_sub(C, n, MPC_T_INT, sbit, tneg), d));
    res = s_raw_add(C, n, MPC_T_FIX, res, s_raw_mul(C, n, MPC_T_FIX, tneg, s_pub(MPC_T_INT, ONE, 0, 1)));
    s_val out = s_raw_trunc(C, n, MPC_T_FIX, res, P + 2 - f);
    return s_ranged(C, n, out, 1, -2, ldexp(1, (int)f) + 2);   /* within 2 ulp of [0, 1] */
}

/* ---- statistics over vectors (population forms, dividing by n like numpy) ---- */

/* A numeric argument as fix: int and bool secrets convert (exactly); public values are an
 * error (compute them yourself). */
static s_val s_num_arg(s_comp *C, const mpc_node *n, s_val v, const char *fn)
{
    if (v.pub) s_error(C, n, "%s() of a compile-time constant is not supported; its argument must be secret", fn);
    return s_to_fix(C, n, v);
}

static s_val s_mean(s_comp *C, const mpc_node *n, s_val v)
{
    s_val s = s_sec(MPC_T_FIX, s_gate(C, n, MPC_G_SUM, MPC_T_FIX, 1, v.wire, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0), 0, 1);
    s = s_ranged(C, n, s, v.rg, v.lo * (double)v.len, v.hi * (double)v.len);
    if (v.len == 1) return s;
    return s_div(C, n, s, s_pub(MPC_T_INT, v.len, 0, 1));
}

/* v - mean(v) */
static s_val s_center(s_comp *C, const mpc_node *n, s_val v)
{
    return s_raw_sub(C, n, MPC_T_FIX, v, s_mean(C, n, v));
}

/* mean((v - mean v)^2): two passes, no cancellation. */
static s_val s_var(s_comp *C, const mpc_node *n, s_val v)
{
    s_val d = s_center(C, n, v);
    return s_mean(C, n, s_mul(C, n, d, d));
}

/* histogram(v, [e0, e1, ..., ek]): k counts, bucket i = [e_i, e_(i+1)), the last one closed
 * [e_(k-1), e_k] (numpy.histogram).  One LTZ of (k+1)·len elements: [v >= e_i] for i < k and
 * [v > e_k]; count_i = #[v >= e_i] - #[v >= e_(i+1)] (with #[v > e_k] for the last). */
static s_val s_histogram(s_comp *C, const mpc_node *n)
{
    s_arity(C, n, 2);
    s_val v = s_need_vec(C, n, s_expr(C, n->kids[0]), "histogram");
    const mpc_node *el = n->kids[1];
    if (el->kind != MPC_N_LIST)
        s_error(C, el, "histogram() expects its edges as a list literal, e.g. [0, 10, 20]");
    if (v.pub) s_error(C, n, "histogram() of a compile-time constant is not supported");
    v = s_bool_to_int(v);
    unsigned ne = el->n_kids;
    if (ne < 2 || ne > 64) s_error(C, el, "histogram() needs 2 to 64 edges, got %u", ne);
    uint64_t e[64] = {0};
    for (unsigned i = 0; i < ne; i++) {
        s_val x = s_expr(C, el->kids[i]);
        if (!x.pub || x.is_vec) s_error(C, el->kids[i], "a histogram edge must be a public scalar");
        if (x.type == MPC_T_FIX && v.type == MPC_T_INT)
            s_error(C, el->kids[i], "a fix edge for an int vector: convert the vector with fix(...)");
        if (x.type != MPC_T_FIX && v.type == MPC_T_FIX) x = s_to_fix(C, el->kids[i], x);
        e[i] = x.k;
        if (i && (int64_t)e[i] <= (int64_t)e[i - 1]) s_error(C, el->kids[i], "histogram edges must increase");
    }
    /* [v >= e_i] = LTZ(e_i - 1 - v) for i < k; [v > e_k] = LTZ(e_k - v). */
    uint64_t off[64] = {0};
    for (unsigned i = 0; i + 1 < ne; i++) off[i] = e[i] - 1;
    off[ne - 1] = e[ne - 1];
    uint32_t bits = s_ltz_blocks(C, n, v, off, ne, NULL, 0);
    uint32_t cnt[64] = {0};
    for (unsigned i = 0; i < ne; i++)
        cnt[i] = s_gate(C, n, MPC_G_SUM, MPC_T_INT, 1,
                        s_gate(C, n, MPC_G_SLICE, MPC_T_INT, v.len, bits, MPC_NO_WIRE, MPC_NO_WIRE, (uint64_t)i * v.len, 1),
                        MPC_NO_WIRE, MPC_NO_WIRE, 0, 0);
    uint32_t acc = MPC_NO_WIRE;
    for (unsigned i = 0; i + 1 < ne; i++) {
        uint32_t b = s_gate(C, n, MPC_G_SUB, MPC_T_INT, 1, cnt[i], cnt[i + 1], MPC_NO_WIRE, 0, 0);
        acc = acc == MPC_NO_WIRE ? b : s_gate(C, n, MPC_G_CONCAT, MPC_T_INT, i + 1, acc, b, MPC_NO_WIRE, 0, 0);
    }
    return s_sec(MPC_T_INT, acc, 1, ne - 1);
}

static s_val s_call_fn(s_comp *C, const mpc_node *n, s_fn *f)
{
    const mpc_node *def = f->node;
    if (f->active)
        s_error(C, n, "recursive call to '%s' (functions are inlined, so recursion is not supported)", def->name);
    if (n->n_kids != def->n_names)
        s_error(C, n, "function '%s' takes %u argument%s, got %u", def->name, (unsigned)def->n_names,
                def->n_names == 1 ? "" : "s", (unsigned)n->n_kids);
    if (C->inline_depth >= S_MAX_INLINE) s_error(C, n, "functions inlined more than %d deep", S_MAX_INLINE);
    s_count_unroll(C, n);
    if (def->n_names > S_MAX_PARAMS)
        s_error(C, def, "function '%s' has more than %d parameters", def->name, S_MAX_PARAMS);
    s_val args[S_MAX_PARAMS];
    for (uint32_t i = 0; i < n->n_kids; i++) args[i] = s_expr(C, n->kids[i]);
    /* Lexical scope: the body sees its parameters and the top level, not the caller's locals.
     * The scope lives on the C stack for the duration of the call. */
    s_scope *saved = C->scope;
    s_scope scope = {NULL, C->global}, *sc = &scope;
    C->scope = sc;
    for (uint32_t i = 0; i < def->n_names; i++) {
        s_bind *b = s_declare(C, def->names[i], B_LET, args[i], def->name_line[i], def->name_col[i]);
        b->used = 1;
    }
    f->active = 1;
    C->inline_depth++;
    const mpc_node *body = def->kids[0];
    s_stats(C, body, body->n_kids - 1);
    s_val r = s_expr(C, body->kids[body->n_kids - 1]->kids[0]);
    C->inline_depth--;
    f->active = 0;
    C->scope = saved;
    s_scope_close(C, sc);
    return r;
}

static s_val s_call(s_comp *C, const mpc_node *n)
{
    const char *name = n->name;
    if (strcmp(name, "sum") == 0) {
        s_arity(C, n, 1);
        s_val v = s_bool_to_int(s_need_vec(C, n, s_expr(C, n->kids[0]), "sum"));
        if (v.pub) return s_pub(v.type, v.k * v.len, 0, 1);
        return s_ranged(C, n, s_sec(v.type, s_gate(C, n, MPC_G_SUM, v.type, 1, v.wire, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0), 0, 1),
                        v.rg, v.lo * (double)v.len, v.hi * (double)v.len);
    }
    if (strcmp(name, "dot") == 0) {
        s_arity(C, n, 2);
        s_val a = s_need_vec(C, n, s_expr(C, n->kids[0]), "dot");
        s_val b = s_need_vec(C, n, s_expr(C, n->kids[1]), "dot");
        if (a.len != b.len)
            s_error(C, n, "vector length mismatch in dot(): %llu and %llu", (unsigned long long)a.len,
                    (unsigned long long)b.len);
        int fixfix;
        mpc_type t = s_mul_type(C, n, &a, &b, &fixfix, "dot()");
        if (t == MPC_T_BOOL) t = MPC_T_INT;
        if (a.pub && b.pub) {
            s_val p = s_pub(t, a.k * b.k * a.len, 0, 1);
            return fixfix ? s_raw_trunc(C, n, t, p, C->frac) : p;
        }
        if (a.pub || b.pub) {   /* dot(x, k) = k * sum(x) */
            s_val x = a.pub ? b : a, k = a.pub ? a : b;
            s_val sx = s_sec(x.type == MPC_T_BOOL ? MPC_T_INT : x.type,
                             s_gate(C, n, MPC_G_SUM, x.type == MPC_T_BOOL ? MPC_T_INT : x.type, 1, x.wire,
                                    MPC_NO_WIRE, MPC_NO_WIRE, 0, 0), 0, 1);
            k.is_vec = 0;
            k.len = 1;
            return s_mul(C, n, sx, k);
        }
        double plo = 0, phi = 0;
        if (a.rg && b.rg) s_prod_range(&a, &b, &plo, &phi);
        if (!fixfix) {
            s_val d = s_sec(t, s_gate(C, n, MPC_G_DOT, t, 1, a.wire, b.wire, MPC_NO_WIRE, 0, 0), 0, 1);
            return s_ranged(C, n, d, a.rg && b.rg, plo * (double)a.len, phi * (double)a.len);
        }
        /* fix: the products carry 2f fractional bits, so their sum is truncated in segments of
         * MPC_DOT_SEGMENT elements, then added: a long dot (10^6 lab values) stays inside the
         * ring's headroom (each segment's sum below 2^62, i.e. |x·y| < 2^(62-2f)/segment)
         * where one sum of every product would wrap.  Same gates whatever the length. */
        uint64_t segs = a.len / MPC_DOT_SEGMENT + (a.len % MPC_DOT_SEGMENT != 0);
        s_val d = s_sec(t, s_gate(C, n, MPC_G_DOT, t, segs, a.wire, b.wire, MPC_NO_WIRE, MPC_DOT_SEGMENT, 0), 1, segs);
        double per = (double)(a.len < MPC_DOT_SEGMENT ? a.len : MPC_DOT_SEGMENT);
        d = s_ranged(C, n, d, a.rg && b.rg, plo * per, phi * per);
        s_val tr = s_raw_trunc(C, n, t, d, C->frac);
        s_val sum = s_sec(t, s_gate(C, n, MPC_G_SUM, t, 1, tr.wire, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0), 0, 1);
        return s_ranged(C, n, sum, tr.rg, tr.lo * (double)segs, tr.hi * (double)segs);
    }
    if (strcmp(name, "len") == 0) {
        s_arity(C, n, 1);
        s_val v = s_need_vec(C, n, s_expr(C, n->kids[0]), "len");
        return s_pub(MPC_T_INT, v.len, 0, 1);
    }
    if (strcmp(name, "min") == 0 || strcmp(name, "max") == 0) {
        s_arity(C, n, 2);
        s_val a = s_expr(C, n->kids[0]), b = s_expr(C, n->kids[1]);
        char what[8];
        snprintf(what, sizeof what, "%s()", name);
        mpc_type t = s_unify(C, n, &a, &b, what);
        a.type = b.type = t;
        s_val l = s_test(C, n, MPC_G_LTZ, s_raw_sub(C, n, t, a, b));   /* a < b */
        return name[1] == 'i' ? s_select(C, n, l, a, b) : s_select(C, n, l, b, a);
    }
    if (strcmp(name, "abs") == 0) {
        s_arity(C, n, 1);
        s_val x = s_bool_to_int(s_expr(C, n->kids[0]));
        if (x.pub) return s_pub(x.type, s_abs64(x.k), x.is_vec, x.len);
        s_val l = s_test(C, n, MPC_G_LTZ, x);
        return s_select(C, n, l, s_raw_neg(C, n, x.type, x), x);
    }
    if (strcmp(name, "concat") == 0) {
        if (n->n_kids < 2) s_error(C, n, "concat() takes at least 2 arguments, got %u", (unsigned)n->n_kids);
        s_val acc = {0};
        for (uint32_t i = 0; i < n->n_kids; i++) {
            s_val v = s_expr(C, n->kids[i]);
            if (v.pub) s_error(C, n->kids[i], "concat() of a public value is not supported; its operands must be secret");
            if (i == 0) {
                acc = v;
                continue;
            }
            mpc_type t;
            if (acc.type == v.type) t = v.type;
            else if (acc.type != MPC_T_FIX && v.type != MPC_T_FIX) t = MPC_T_INT;
            else {
                char ta[48], tb[48];
                s_error(C, n->kids[i], "type mismatch in concat(): %s and %s", s_tname(&acc, ta, sizeof ta),
                        s_tname(&v, tb, sizeof tb));
            }
            uint64_t len = acc.len + v.len;
            if (len > MPC_CIRC_MAX_VECTOR) s_error(C, n, "concat() result is longer than %llu", (unsigned long long)MPC_CIRC_MAX_VECTOR);
            acc = s_ranged(C, n, s_sec(t, s_gate(C, n, MPC_G_CONCAT, t, len, acc.wire, v.wire, MPC_NO_WIRE, 0, 0), 1, len),
                           acc.rg && v.rg, fmin(acc.lo, v.lo), fmax(acc.hi, v.hi));
        }
        return acc;
    }
    if (strcmp(name, "sign") == 0 || strcmp(name, "relu") == 0) {
        s_arity(C, n, 1);
        s_val x = s_bool_to_int(s_expr(C, n->kids[0]));
        if (name[0] == 's') {   /* 1 - 2·LTZ(x) - EQZ(x): both in one layer, exact for every x */
            if (x.pub) return s_pub(MPC_T_INT, x.k == 0 ? 0 : s_neg64(x.k) ? UINT64_MAX : 1, x.is_vec, x.len);
            s_val l = s_test(C, n, MPC_G_LTZ, x), z = s_test(C, n, MPC_G_EQZ, x);
            l.type = z.type = MPC_T_INT;
            s_val r = s_raw_add(C, n, MPC_T_INT, s_raw_mul(C, n, MPC_T_INT, l, s_pub(MPC_T_INT, 0 - (uint64_t)2, 0, 1)),
                                s_raw_neg(C, n, MPC_T_INT, z));
            return s_raw_add(C, n, MPC_T_INT, r, s_pub(MPC_T_INT, 1, 0, 1));
        }
        if (x.pub) return s_pub(x.type, s_neg64(x.k) ? 0 : x.k, x.is_vec, x.len);
        return s_select(C, n, s_test(C, n, MPC_G_LTZ, x), s_pub(x.type, 0, 0, 1), x);
    }
    if (strcmp(name, "count") == 0) {
        s_arity(C, n, 1);
        s_val v = s_need_vec(C, n, s_expr(C, n->kids[0]), "count");
        if (v.type != MPC_T_BOOL) {
            char t[48];
            s_error(C, n, "count() expects a bool vector (e.g. count(v > t)), got %s", s_tname(&v, t, sizeof t));
        }
        if (v.pub) return s_pub(MPC_T_INT, v.k * v.len, 0, 1);
        return s_ranged(C, n, s_sec(MPC_T_INT, s_gate(C, n, MPC_G_SUM, MPC_T_INT, 1, v.wire, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0), 0, 1),
                        1, 0, (double)v.len);
    }
    if (strcmp(name, "histogram") == 0)
        return s_histogram(C, n);
    if (strcmp(name, "sqrt") == 0 || strcmp(name, "rsqrt") == 0 || strcmp(name, "exp") == 0 ||
        strcmp(name, "log") == 0 || strcmp(name, "sigmoid") == 0) {
        s_arity(C, n, 1);
        s_val x = s_num_arg(C, n, s_expr(C, n->kids[0]), name);
        switch (name[0]) {
        case 's': return name[1] == 'q' ? s_root(C, n, x, 1) : s_sigmoid(C, n, x);
        case 'r': return s_root(C, n, x, 0);
        case 'e': return s_exp(C, n, x);
        default:  return s_log(C, n, x);
        }
    }
    if (strcmp(name, "mean") == 0 || strcmp(name, "var") == 0 || strcmp(name, "std") == 0) {
        s_arity(C, n, 1);
        s_val v = s_num_arg(C, n, s_need_vec(C, n, s_expr(C, n->kids[0]), name), name);
        if (name[0] == 'm') return s_mean(C, n, v);
        s_val var = s_var(C, n, v);
        return name[0] == 'v' ? var : s_root(C, n, var, 1);
    }
    if (strcmp(name, "cov") == 0 || strcmp(name, "corr") == 0) {
        s_arity(C, n, 2);
        s_val u = s_num_arg(C, n, s_need_vec(C, n, s_expr(C, n->kids[0]), name), name);
        s_val v = s_num_arg(C, n, s_need_vec(C, n, s_expr(C, n->kids[1]), name), name);
        if (u.len != v.len)
            s_error(C, n, "vector length mismatch in %s(): %llu and %llu", name, (unsigned long long)u.len,
                    (unsigned long long)v.len);
        s_val du = s_center(C, n, u), dv = s_center(C, n, v);
        s_val cov = s_mean(C, n, s_mul(C, n, du, dv));
        if (name[1] == 'o' && name[2] == 'v') return cov;
        /* corr = cov / (std_u · std_v); both standard deviations in one sqrt of a 2-vector. */
        s_val vars = s_sec(MPC_T_FIX,
                           s_gate(C, n, MPC_G_CONCAT, MPC_T_FIX, 2, s_mean(C, n, s_mul(C, n, du, du)).wire,
                                  s_mean(C, n, s_mul(C, n, dv, dv)).wire, MPC_NO_WIRE, 0, 0), 1, 2);
        s_val sd = s_root(C, n, vars, 1);
        s_val s0 = s_block(C, n, sd.wire, 0, 1, 0), s1 = s_block(C, n, sd.wire, 1, 1, 0);
        s0.type = s1.type = MPC_T_FIX;
        s_val prod = s_mul(C, n, s0, s1);
        return s_secret_div(C, n, cov, prod);
    }
    if (strcmp(name, "fix") == 0) {
        s_arity(C, n, 1);
        return s_to_fix(C, n, s_expr(C, n->kids[0]));
    }
    if (strcmp(name, "int") == 0) {
        s_arity(C, n, 1);
        s_val v = s_expr(C, n->kids[0]);
        if (v.type == MPC_T_FIX) return s_raw_trunc(C, n, MPC_T_INT, v, C->frac);
        return s_bool_to_int(v);
    }
    if (strcmp(name, "bool") == 0)
        s_error(C, n, "bool() is not a conversion; compare instead (e.g. x != 0)");
    s_fn *f = s_find_fn(C, name);
    if (!f) {
        s_bind *b = s_lookup(C, name);
        if (b) s_error(C, n, "'%s' is %s, not a function", name, s_bkind_names[b->kind]);
        s_error(C, n, "undefined function '%s'", name);
    }
    return s_call_fn(C, n, f);
}

static s_val s_index(s_comp *C, const mpc_node *n)
{
    s_val v = s_expr(C, n->kids[0]);
    if (!v.is_vec) {
        char t[48];
        s_error(C, n, "cannot index %s: it is not a vector", s_tname(&v, t, sizeof t));
    }
    if (n->kind == MPC_N_INDEX) {
        int64_t i = s_const_int(C, n->kids[1], "an index");
        if (i < 0 || (uint64_t)i >= v.len)
            s_error(C, n->kids[1], "index %lld out of range for a vector of length %llu", (long long)i,
                    (unsigned long long)v.len);
        if (v.pub) return s_pub(v.type, v.k, 0, 1);
        s_val r = v.len == 1 ? s_sec(v.type, v.wire, 0, 1)
                             : s_sec(v.type, s_gate(C, n, MPC_G_SLICE, v.type, 1, v.wire, MPC_NO_WIRE, MPC_NO_WIRE, (uint64_t)i, 1), 0, 1);
        return s_ranged(C, n, r, v.rg, v.lo, v.hi);
    }
    int64_t a = n->kids[1] ? s_const_int(C, n->kids[1], "a slice bound") : 0;
    int64_t b = n->kids[2] ? s_const_int(C, n->kids[2], "a slice bound") : (int64_t)v.len;
    if (a < 0 || b < 0 || (uint64_t)a > v.len || (uint64_t)b > v.len || a >= b)
        s_error(C, n, "slice [%lld:%lld] out of range for a vector of length %llu (need 0 <= start < end <= length)",
                (long long)a, (long long)b, (unsigned long long)v.len);
    uint64_t len = (uint64_t)(b - a);
    if (v.pub) return s_pub(v.type, v.k, 1, len);
    if (a == 0 && len == v.len) return v;
    return s_ranged(C, n, s_sec(v.type, s_gate(C, n, MPC_G_SLICE, v.type, len, v.wire, MPC_NO_WIRE, MPC_NO_WIRE, (uint64_t)a, 1), 1, len),
                    v.rg, v.lo, v.hi);
}

static s_val s_expr(s_comp *C, const mpc_node *n)
{
    switch (n->kind) {
    case MPC_N_INT:
        return s_pub(MPC_T_INT, n->ival, 0, 1);
    case MPC_N_DEC: {
        uint64_t x;
        if (mpc_compile_decimal(n->text, C->frac, &x) != 0)
            s_error(C, n, "decimal literal '%s' is out of range for fix with %u fractional bits", n->text, C->frac);
        return s_pub(MPC_T_FIX, x, 0, 1);
    }
    case MPC_N_BOOL:
        return s_pub(MPC_T_BOOL, n->ival, 0, 1);
    case MPC_N_NAME: {
        s_bind *b = s_lookup(C, n->name);
        if (!b) {
            if (s_find_fn(C, n->name)) s_error(C, n, "'%s' is a function; call it with (...)", n->name);
            s_error(C, n, "undefined name '%s'", n->name);
        }
        b->used = 1;
        return b->v;
    }
    case MPC_N_NEG:
        return s_neg(C, n, s_expr(C, n->kids[0]));
    case MPC_N_BIN: {
        s_val a = s_expr(C, n->kids[0]);
        s_val b = s_expr(C, n->kids[1]);
        switch (n->op) {
        case MPC_TK_PLUS:  return s_add(C, n, a, b);
        case MPC_TK_MINUS: return s_sub(C, n, a, b);
        case MPC_TK_STAR:  return s_mul(C, n, a, b);
        case MPC_TK_SLASH: return s_div(C, n, a, b);
        default:           return s_compare(C, n, n->op, a, b);
        }
    }
    case MPC_N_COND: {
        s_val c = s_expr(C, n->kids[0]);
        if (c.type != MPC_T_BOOL) {
            char t[48];
            s_error(C, n->kids[0], "the condition of '?' must be bool, got %s", s_tname(&c, t, sizeof t));
        }
        s_val a = s_expr(C, n->kids[1]), b = s_expr(C, n->kids[2]);
        mpc_type t = s_unify(C, n, &a, &b, "'?:'");
        a.type = b.type = t;
        return s_select(C, n, c, a, b);
    }
    case MPC_N_CALL:
        return s_call(C, n);
    case MPC_N_LIST:
        s_error(C, n, "a list literal [...] is only allowed as the edges of histogram()");
    case MPC_N_INDEX:
    case MPC_N_SLICE:
        return s_index(C, n);
    default:
        s_error(C, n, "internal error: unexpected %s node in an expression", mpc_node_names[n->kind]);
    }
}

/* ---- statements ---- */

static void s_assign(s_comp *C, const mpc_node *n)
{
    s_bind *b = s_lookup(C, n->name);
    if (!b) s_error(C, n, "undefined name '%s'", n->name);
    if (b->kind != B_VAR)
        s_error(C, n, "cannot assign to '%s': it is %s (only a var can change)", n->name, s_bkind_names[b->kind]);
    s_val v = s_expr(C, n->kids[0]);
    s_val old = b->v;
    if (v.type == MPC_T_BOOL && old.type == MPC_T_INT) v.type = MPC_T_INT;
    if (v.type == MPC_T_INT && v.pub && old.type == MPC_T_FIX) v = s_to_fix(C, n, v);
    if (!old.pub && (v.type != old.type || !s_same_shape(&v, old.is_vec, old.len))) {
        if (v.type == old.type && v.pub && (!v.is_vec || (old.is_vec && v.len == old.len))) {
            v = s_broadcast(C, n, v, old.is_vec, old.len);
        } else {
            char tv[48], to[48];
            s_error(C, n, "cannot assign %s to '%s', which holds %s", s_tname(&v, tv, sizeof tv), n->name,
                    s_tname(&old, to, sizeof to));
        }
    }
    b->v = v;
    b->used = 1;
}

static void s_for(s_comp *C, const mpc_node *n)
{
    int64_t a = s_const_int(C, n->kids[0], "a loop bound");
    int64_t b = s_const_int(C, n->kids[1], "a loop bound");
    const mpc_node *body = n->kids[2];
    s_scope scope = {NULL, C->scope}, *sc = &scope;
    for (int64_t i = a; i < b; i++) {
        s_count_unroll(C, n);
        C->scope = sc;
        s_bind *lv = s_declare(C, n->name, B_LOOP, s_pub(MPC_T_INT, (uint64_t)i, 0, 1), n->line, n->col);
        lv->used = 1;
        s_stats(C, body, body->n_kids);
        C->scope = sc->parent;
        s_scope_close(C, sc);
    }
}

static void s_party(s_comp *C, const mpc_node *n)
{
    for (uint32_t i = 0; i < n->n_names; i++) {
        const char *p = n->names[i];
        for (uint32_t j = 0; j < C->c->n_parties; j++)
            if (strcmp(C->c->party_names[j], p) == 0)
                s_error_at(C, n->name_line[i], n->name_col[i], "duplicate party '%s'", p);
        if (C->c->n_parties >= MPC_MAX_PARTIES)
            s_error_at(C, n->name_line[i], n->name_col[i], "too many parties (at most %d)", MPC_MAX_PARTIES);
        if (mpc_circ_add_party(C->c, p) < 0) s_error_at(C, n->name_line[i], n->name_col[i], "bad party name '%s'", p);
    }
}

static uint32_t s_party_index(s_comp *C, const mpc_node *n, uint32_t i)
{
    for (uint32_t j = 0; j < C->c->n_parties; j++)
        if (strcmp(C->c->party_names[j], n->names[i]) == 0) return j;
    s_error_at(C, n->name_line[i], n->name_col[i], "undeclared party '%s'", n->names[i]);
}

/* A -D value: integer, decimal or true/false. */
static int s_define_value(s_comp *C, const char *text, s_val *v)
{
    int neg = text[0] == '-';
    const char *p = text + neg;
    if (!neg && (strcmp(p, "true") == 0 || strcmp(p, "false") == 0)) {
        *v = s_pub(MPC_T_BOOL, p[0] == 't', 0, 1);
        return 0;
    }
    if (!(*p >= '0' && *p <= '9')) return -1;
    if (strchr(p, '.')) {
        uint64_t x;
        if (mpc_compile_decimal(p, C->frac, &x) != 0) return -1;
        *v = s_pub(MPC_T_FIX, neg ? 0 - x : x, 0, 1);
        return 0;
    }
    uint64_t x = 0;
    for (; *p; p++) {
        if (!(*p >= '0' && *p <= '9')) return -1;
        unsigned d = (unsigned)(*p - '0');
        if (x > (UINT64_MAX - d) / 10) return -1;
        x = x * 10 + d;
    }
    *v = s_pub(MPC_T_INT, neg ? 0 - x : x, 0, 1);
    return 0;
}

static void s_param(s_comp *C, const mpc_node *n)
{
    s_val v;
    const mpc_define *d = NULL;
    for (size_t i = 0; i < C->n_defs; i++)
        if (strcmp(C->defs[i].name, n->name) == 0) {
            d = &C->defs[i];
            C->def_used[i] = 1;
        }
    if (d) {
        if (s_define_value(C, d->value, &v) != 0)
            s_error(C, n, "invalid value '%.60s' for parameter '%s' given with -D", d->value, n->name);
    } else {
        v = s_expr(C, n->kids[0]);
        if (!v.pub) s_error(C, n->kids[0], "the value of param '%s' must be a compile-time constant", n->name);
    }
    s_bind *b = s_declare(C, n->name, B_PARAM, v, n->line, n->col);
    b->used = 1;
}

static void s_input(s_comp *C, const mpc_node *n)
{
    uint32_t party = s_party_index(C, n, 0);
    uint64_t len = 1;
    int is_vec = 0;
    if (n->kids[0]) {
        int64_t l = s_const_int(C, n->kids[0], "a vector length");
        if (l < 1 || (uint64_t)l > MPC_CIRC_MAX_VECTOR)
            s_error(C, n->kids[0], "vector length %lld out of range 1..%llu", (long long)l,
                    (unsigned long long)MPC_CIRC_MAX_VECTOR);
        len = (uint64_t)l;
        is_vec = 1;
    }
    for (uint32_t i = 0; i < C->c->n_inputs; i++)
        if (strcmp(C->c->inputs[i].name, n->name) == 0)
            s_error(C, n, "duplicate input '%s' (first declared at %u:%u)", n->name,
                    (unsigned)C->c->inputs[i].line, (unsigned)C->c->inputs[i].col);
    s_bind *prev = s_lookup(C, n->name);
    if (prev)
        s_error(C, n, "'%s' is already defined at %u:%u", n->name, (unsigned)prev->line, (unsigned)prev->col);
    uint32_t w = mpc_circ_add_input(C->c, n->name, party, (mpc_type)n->vtype, len, n->line, n->col);
    if (w == MPC_NO_WIRE) s_error(C, n, "out of memory");
    s_val v = s_sec((mpc_type)n->vtype, w, is_vec, len);
    if (n->vtype == MPC_T_BOOL) v.rg = 1, v.lo = 0, v.hi = 1;
    if (n->n_kids == 3) {   /* input x: T from p in lo..hi */
        if (n->vtype == MPC_T_BOOL) s_error(C, n->kids[1], "a bool input cannot have a range");
        s_val b[2];
        for (int i = 0; i < 2; i++) {
            b[i] = s_expr(C, n->kids[1 + i]);
            if (!b[i].pub || b[i].is_vec || b[i].type == MPC_T_BOOL)
                s_error(C, n->kids[1 + i], "an input range bound must be a public number");
            if (b[i].type == MPC_T_FIX && n->vtype == MPC_T_INT)
                s_error(C, n->kids[1 + i], "an int input's range bound must be an integer");
            if (b[i].type == MPC_T_INT && n->vtype == MPC_T_FIX) {
                if (s_abs64(b[i].k) >> (63 - C->frac))
                    s_error(C, n->kids[1 + i], "range bound out of range for fix with %u fractional bits", C->frac);
                b[i] = s_to_fix(C, n->kids[1 + i], b[i]);
            }
        }
        if ((int64_t)b[0].k > (int64_t)b[1].k) s_error(C, n->kids[1], "empty input range (lo > hi)");
        v.rg = 1, v.lo = (double)(int64_t)b[0].k, v.hi = (double)(int64_t)b[1].k;
    }
    s_declare(C, n->name, B_INPUT, v, n->line, n->col);
}

static void s_output(s_comp *C, const mpc_node *n)
{
    uint32_t recipients = 0;
    for (uint32_t i = 0; i < n->n_names; i++) {
        uint32_t p = s_party_index(C, n, i);
        if (recipients & (1u << p))
            s_error_at(C, n->name_line[i], n->name_col[i], "party '%s' is listed twice", n->names[i]);
        recipients |= 1u << p;
    }
    for (uint32_t i = 0; i < n->n_kids; i++) {
        const mpc_node *it = n->kids[i];
        for (uint32_t j = 0; j < C->c->n_outputs; j++)
            if (strcmp(C->c->outputs[j].name, it->name) == 0)
                s_error(C, it, "duplicate output '%s' (first declared at %u:%u)", it->name,
                        (unsigned)C->c->outputs[j].line, (unsigned)C->c->outputs[j].col);
        s_val v;
        if (it->kids[0]) {
            v = s_expr(C, it->kids[0]);
        } else {
            s_bind *b = s_lookup(C, it->name);
            if (!b) s_error(C, it, "undefined name '%s' (write 'output %s = expression' to define it here)",
                            it->name, it->name);
            b->used = 1;
            v = b->v;
        }
        if (v.pub)
            s_error(C, it, "output '%s' is a compile-time constant: outputs must depend on an input", it->name);
        /* A bool relabelled as int (e.g. int(x < y)) needs a wire of its own type: the OUTPUT
         * gate has its operand's type. */
        if (s_g(C, v.wire)->type != v.type)
            v.wire = s_gate(C, it, MPC_G_ADD_PUB, v.type, v.len, v.wire, s_const(C, it, v.type, 0), MPC_NO_WIRE, 0, 0);
        int oi = mpc_circ_add_output(C->c, it->name, v.wire, recipients, it->line, it->col);
        if (oi < 0) s_error(C, it, "out of memory");
    }
}

static void s_stat(s_comp *C, const mpc_node *n)
{
    if (n->kind != MPC_N_PARTY && n->kind != MPC_N_PRECISION && n->kind != MPC_N_FN) C->decl_seen = 1;
    switch (n->kind) {
    case MPC_N_PARTY:
        s_party(C, n);
        break;
    case MPC_N_PRECISION:
        if (C->precision_seen) s_error(C, n, "precision is already set");
        if (C->decl_seen) s_error(C, n, "'precision' must come before inputs, parameters and definitions");
        if (n->ival < 1 || n->ival > S_MAX_FRAC)
            s_error(C, n, "precision %llu out of range 1..%d", (unsigned long long)n->ival, S_MAX_FRAC);
        C->frac = (unsigned)n->ival;
        C->c->frac_bits = C->frac;
        C->precision_seen = 1;
        break;
    case MPC_N_PARAM:
        s_param(C, n);
        break;
    case MPC_N_INPUT:
        s_input(C, n);
        break;
    case MPC_N_LET:
    case MPC_N_VAR: {
        s_val v = s_expr(C, n->kids[0]);
        s_bind *b = s_declare(C, n->name, n->kind == MPC_N_LET ? B_LET : B_VAR, v, n->line, n->col);
        b->used = 1;
        break;
    }
    case MPC_N_ASSIGN:
        s_assign(C, n);
        break;
    case MPC_N_FOR:
        s_for(C, n);
        break;
    case MPC_N_FN: {
        static const char *const builtins[] = {"sum", "dot", "len", "min", "max", "abs", "concat", "sign", "relu",
                                              "count", "histogram", "sqrt", "rsqrt", "exp", "log", "sigmoid",
                                              "mean", "var", "std", "cov", "corr"};
        for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
            if (strcmp(builtins[i], n->name) == 0) s_error(C, n, "'%s' is a builtin function and cannot be redefined", n->name);
        s_fn *prev = s_find_fn(C, n->name);
        if (prev)
            s_error(C, n, "function '%s' is already defined at %u:%u", n->name, (unsigned)prev->node->line,
                    (unsigned)prev->node->col);
        s_fn *f = s_alloc(C, sizeof *f);
        f->node = n;
        f->next = C->fns;
        C->fns = f;
        break;
    }
    case MPC_N_OUTPUT:
        s_output(C, n);
        break;
    default:
        s_error(C, n, "internal error: unexpected %s statement", mpc_node_names[n->kind]);
    }
}

static void s_stats(s_comp *C, const mpc_node *block, size_t n_stats)
{
    for (size_t i = 0; i < n_stats; i++) s_stat(C, block->kids[i]);
}

int mpc_compile(const char *src, size_t len, const char *filename, const mpc_define *defs,
                size_t n_defs, mpc_circuit **out, mpc_diag *diag)
{
    return mpc_compile_ex(src, len, filename, defs, n_defs, 0, out, diag);
}

int mpc_compile_ex(const char *src, size_t len, const char *filename, const mpc_define *defs,
                   size_t n_defs, unsigned flags, mpc_circuit **out, mpc_diag *diag)
{
    *out = NULL;
    mpc_diag_init(diag, filename, src, len);
    mpc_ast ast = {0};
    s_comp *C = calloc(1, sizeof *C);
    int r = -1;
    if (!C) {
        mpc_diag_error(diag, 0, 0, "out of memory");
        return -1;
    }
    if (mpc_parse(src, len, diag, &ast) != 0) goto out;
    C->diag = diag;
    C->defs = defs;
    C->n_defs = n_defs;
    C->frac = MPC_DEFAULT_FRAC;
    C->arena = mpc_arena_new();
    C->c = mpc_circ_new();
    C->def_used = calloc(n_defs + 1, sizeof *C->def_used);
    if (!C->arena || !C->c || !C->def_used) {
        mpc_diag_error(diag, 0, 0, "out of memory");
        goto out;
    }
    /* Only the base name: where the file sat must not change the circuit (or its hash). */
    if (filename) {
        const char *base = strrchr(filename, '/');
        snprintf(C->c->source, sizeof C->c->source, "%s", base ? base + 1 : filename);
    }
    if (setjmp(C->jb) != 0) goto out;
    C->global = s_alloc(C, sizeof *C->global);
    C->scope = C->global;
    s_stats(C, ast.root, ast.root->n_kids);
    for (size_t i = 0; i < n_defs; i++)
        if (!C->def_used[i]) s_error(C, NULL, "unknown parameter '%s' given with -D", defs[i].name);
    if (C->c->n_parties < 2)
        s_error(C, NULL, "a program needs at least 2 parties (declare them with 'party a, b')");
    if (C->c->n_outputs == 0) s_error(C, NULL, "the program has no outputs");
    for (s_bind *b = C->global->binds; b; b = b->next)
        if (b->kind == B_INPUT && !b->used)
            mpc_diag_warning(diag, b->line, b->col, "input '%s' is never used", b->name);
    char err[256];
    if (mpc_circ_finish(C->c, err, sizeof err) != 0) s_error(C, NULL, "internal error: %s", err);
    if (!(flags & MPC_COMPILE_NO_OPT) && mpc_circ_optimize(C->c, err, sizeof err) != 0)
        s_error(C, NULL, "optimising the circuit failed: %s", err);
    *out = C->c;
    C->c = NULL;
    r = 0;
out:
    mpc_circ_destroy(&C->c);
    mpc_arena_destroy(&C->arena);
    mpc_ast_free(&ast);
    free(C->def_used);
    free(C->cache);
    free(C);
    return r;
}
