/* compile.c — semantic analysis and code generation (compile.h), the walk over the AST.
 *
 * One walk over the AST.  Every expression evaluates to a cg_val (codegen.h): either a public
 * constant (a scalar or a vector whose elements all equal one value: compile time knows it,
 * no gate exists) or a secret wire.  Operations on two public values are folded here with
 * exactly the ring semantics the circuit would have, identities (x+0, x*1, x*0, -(-x)) are
 * applied, and secret×public becomes MUL_PUB, so no triple is spent where none is needed.
 * Vectors are single wires: an operation on a vector of a million elements is one gate.
 * Builtin functions are in builtins.c (one table), the numeric library in numeric.c.
 * Errors stop the walk with longjmp after being reported to the diag sink; the circuit and
 * the arena are freed by mpc_compile. */
#include "codegen.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

#include "contrib.h"
#include "opt.h"
#include "pushdown.h"
#include "value.h"

const char *const cg_bkind_names[] = {"a let", "a var", "an input", "a param", "a loop variable", "a table",
                                      "a contributor input", "a key column", "a join"};

/* ---- errors ---- */

_Noreturn void cg_error(cg_comp *C, const mpc_node *n, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    mpc_diag_error(C->diag, n ? n->line : 0, n ? n->col : 0, "%s", msg);
    longjmp(C->jb, 1);
}

static _Noreturn void s_error_at(cg_comp *C, uint32_t line, uint32_t col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static _Noreturn void s_error_at(cg_comp *C, uint32_t line, uint32_t col, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    mpc_diag_error(C->diag, line, col, "%s", msg);
    longjmp(C->jb, 1);
}

static void *s_alloc(cg_comp *C, size_t n)
{
    void *p = mpc_arena_alloc(C->arena, n);
    if (!p) cg_error(C, NULL, "out of memory");
    return p;
}

/* "int", "fix[4]" */
const char *cg_tname(const cg_val *v, char *buf, size_t len)
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

cg_val cg_pub(mpc_type t, uint64_t k, int is_vec, uint64_t len)
{
    double d = (double)(int64_t)k;
    cg_val v = {t, 1, is_vec, len, k, MPC_NO_WIRE, 1, d, d, 0};
    return v;
}


cg_val cg_sec(mpc_type t, uint32_t w, int is_vec, uint64_t len)
{
    cg_val v = {t, 0, is_vec, len, 0, w, 0, 0, 0, 0};
    return v;
}

static int s_same_shape(const cg_val *a, int is_vec, uint64_t len)
{
    return a->is_vec == is_vec && a->len == len;
}

/* The broadcast shape of two operands; vectors must have equal lengths. */
void cg_shape2(cg_comp *C, const mpc_node *n, const cg_val *a, const cg_val *b, int *is_vec,
                     uint64_t *len, const char *what)
{
    if (a->is_vec && b->is_vec && a->len != b->len)
        cg_error(C, n, "vector length mismatch in %s: %llu and %llu", what,
                (unsigned long long)a->len, (unsigned long long)b->len);
    *is_vec = a->is_vec || b->is_vec;
    *len = a->is_vec ? a->len : b->len;
}

/* ---- emitting ---- */

uint32_t cg_gate(cg_comp *C, const mpc_node *n, mpc_gate_kind kind, mpc_type type, uint64_t len,
                       uint32_t in0, uint32_t in1, uint32_t in2, uint64_t aux0, uint64_t aux1)
{
    uint32_t w = mpc_circ_add_gate(C->c, kind, type, len, in0, in1, in2, aux0, aux1,
                                   n ? n->line : 0, n ? n->col : 0);
    if (w == MPC_NO_WIRE) cg_error(C, n, "circuit too large (more than %u gates) or out of memory",
                                  (unsigned)MPC_CIRC_MAX_GATES);
    return w;
}

/* The constant cache's slot for (type, value): a full 64-bit mix (splitmix64's finalizer), so
 * that values differing only in their high bits — fix constants are multiples of 2^f — spread
 * over the table instead of piling into one probe run (a 10^6-iteration loop adding `i` to a
 * fix value took 27 s in this cache alone when the low bits of k·φ picked the slot). */
static size_t s_cslot(uint64_t k, uint64_t t, size_t cap)
{
    uint64_t z = k + t * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (size_t)(z & (cap - 1));
}

/* A scalar CONST gate, shared by every use of the same (type, value). */
uint32_t cg_const(cg_comp *C, const mpc_node *n, mpc_type t, uint64_t k)
{
    if (C->cache_n * 2 >= C->cache_cap) {
        size_t ncap = C->cache_cap ? C->cache_cap * 2 : 64;
        cg_cslot *nc = calloc(ncap, sizeof *nc);
        if (!nc) cg_error(C, n, "out of memory");
        for (size_t i = 0; i < C->cache_cap; i++) {
            if (!C->cache[i].used) continue;
            size_t h = s_cslot(C->cache[i].key, C->cache[i].type, ncap);
            while (nc[h].used) h = (h + 1) & (ncap - 1);
            nc[h] = C->cache[i];
        }
        free(C->cache);
        C->cache = nc;
        C->cache_cap = ncap;
    }
    size_t h = s_cslot(k, (uint64_t)t, C->cache_cap);
    while (C->cache[h].used) {
        if (C->cache[h].key == k && C->cache[h].type == (uint64_t)t) return C->cache[h].wire;
        h = (h + 1) & (C->cache_cap - 1);
    }
    uint32_t w = mpc_circ_add_const(C->c, t, &k, 1, n ? n->line : 0, n ? n->col : 0);
    if (w == MPC_NO_WIRE) cg_error(C, n, "circuit too large or out of memory");
    C->cache[h].used = 1;
    C->cache[h].key = k;
    C->cache[h].type = (uint64_t)t;
    C->cache[h].wire = w;
    C->cache_n++;
    return w;
}

static const mpc_gate *s_g(cg_comp *C, uint32_t w) { return &C->c->gates[w]; }

/* v with the shape (is_vec, len); a secret scalar is spread with an ADD_PUB of zero. */
cg_val cg_broadcast(cg_comp *C, const mpc_node *n, cg_val v, int is_vec, uint64_t len)
{
    if (s_same_shape(&v, is_vec, len)) return v;
    if (v.pub || v.len == len) {
        v.is_vec = is_vec;
        v.len = len;
        return v;
    }
    uint32_t w = cg_gate(C, n, MPC_G_ADD_PUB, v.type, len, v.wire, cg_const(C, n, v.type, 0), MPC_NO_WIRE, 0, 0);
    cg_val r = cg_sec(v.type, w, is_vec, len);
    r.rg = v.rg, r.lo = v.lo, r.hi = v.hi;
    return r;
}

/* Raw ring operations: operands already have the result's type t.  s_raw_X0 emit; the
 * s_raw_X wrappers below also propagate value ranges. */

static cg_val s_raw_add0(cg_comp *C, const mpc_node *n, mpc_type t, cg_val a, cg_val b)
{
    int vec;
    uint64_t len;
    cg_shape2(C, n, &a, &b, &vec, &len, "'+'");
    if (a.pub && b.pub) return cg_pub(t, a.k + b.k, vec, len);
    if (a.pub) {
        cg_val tmp = a;
        a = b;
        b = tmp;
    }
    if (b.pub) {
        a.type = t;
        if (b.k == 0) return cg_broadcast(C, n, a, vec, len);
        uint32_t w = cg_gate(C, n, MPC_G_ADD_PUB, t, len, a.wire, cg_const(C, n, t, b.k), MPC_NO_WIRE, 0, 0);
        return cg_sec(t, w, vec, len);
    }
    return cg_sec(t, cg_gate(C, n, MPC_G_ADD, t, len, a.wire, b.wire, MPC_NO_WIRE, 0, 0), vec, len);
}

static cg_val s_raw_neg0(cg_comp *C, const mpc_node *n, mpc_type t, cg_val a)
{
    if (a.pub) return cg_pub(t, 0 - a.k, a.is_vec, a.len);
    const mpc_gate *g = s_g(C, a.wire);
    if (g->kind == MPC_G_NEG) return cg_sec(t, g->in[0], a.is_vec, a.len);   /* -(-x) */
    return cg_sec(t, cg_gate(C, n, MPC_G_NEG, t, a.len, a.wire, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0), a.is_vec, a.len);
}

static cg_val s_raw_sub0(cg_comp *C, const mpc_node *n, mpc_type t, cg_val a, cg_val b)
{
    int vec;
    uint64_t len;
    cg_shape2(C, n, &a, &b, &vec, &len, "'-'");
    if (a.pub && b.pub) return cg_pub(t, a.k - b.k, vec, len);
    if (b.pub) return cg_raw_add(C, n, t, a, cg_pub(t, 0 - b.k, b.is_vec, b.len));
    if (a.pub) return cg_raw_add(C, n, t, cg_raw_neg(C, n, t, b), a);
    return cg_sec(t, cg_gate(C, n, MPC_G_SUB, t, len, a.wire, b.wire, MPC_NO_WIRE, 0, 0), vec, len);
}

/* Ring product without any fixed-point truncation. */
static cg_val s_raw_mul0(cg_comp *C, const mpc_node *n, mpc_type t, cg_val a, cg_val b)
{
    int vec;
    uint64_t len;
    cg_shape2(C, n, &a, &b, &vec, &len, "'*'");
    if (a.pub && b.pub) return cg_pub(t, a.k * b.k, vec, len);
    if (a.pub) {
        cg_val tmp = a;
        a = b;
        b = tmp;
    }
    if (b.pub) {
        if (b.k == 0) return cg_pub(t, 0, vec, len);
        a.type = t;
        if (b.k == 1) return cg_broadcast(C, n, a, vec, len);
        if (b.k == UINT64_MAX) return cg_broadcast(C, n, cg_raw_neg(C, n, t, a), vec, len);
        /* 3*4*x: the constants were folded first, so x is multiplied once. */
        uint32_t w = cg_gate(C, n, MPC_G_MUL_PUB, t, len, a.wire, cg_const(C, n, MPC_T_INT, b.k), MPC_NO_WIRE, 0, 0);
        return cg_sec(t, w, vec, len);
    }
    /* (k*a)*b = k*(a*b) in the ring: pulling the public factor out lets a*b be shared with
     * other uses (3*x*y next to x*y costs one triple, not two). */
    for (int side = 0; side < 2; side++) {
        cg_val *p = side ? &b : &a, *q = side ? &a : &b;
        const mpc_gate *g = s_g(C, p->wire);
        if (g->kind == MPC_G_MUL_PUB && s_g(C, g->in[0])->len == p->len) {
            cg_val inner = cg_sec(t, g->in[0], p->is_vec, p->len);
            uint32_t k = g->in[1];
            cg_val m = cg_raw_mul(C, n, t, inner, *q);
            return cg_sec(t, cg_gate(C, n, MPC_G_MUL_PUB, t, len, m.wire, k, MPC_NO_WIRE, 0, 0), vec, len);
        }
    }
    return cg_sec(t, cg_gate(C, n, MPC_G_MUL, t, len, a.wire, b.wire, MPC_NO_WIRE, 0, 0), vec, len);
}

/* floor(a / 2^m) on the signed value (TRUNC with the default headroom bound). */
static cg_val s_raw_trunc0(cg_comp *C, const mpc_node *n, mpc_type t, cg_val a, unsigned m)
{
    if (m == 0) {
        a.type = t;
        return a;
    }
    if (a.pub) return cg_pub(t, s_sar(a.k, m), a.is_vec, a.len);
    uint32_t w = cg_gate(C, n, MPC_G_TRUNC, t, a.len, a.wire, MPC_NO_WIRE, MPC_NO_WIRE, m, MPC_TRUNC_BOUND);
    return cg_sec(t, w, a.is_vec, a.len);
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

static void s_range_warn(cg_comp *C, const mpc_node *n, const char *fmt, double mag)
{
    uint32_t line = n ? n->line : 0;
    if (line && line == C->range_warned_line) return;
    C->range_warned_line = line;
    C->overflow_warnings++;
    char buf[64];
    snprintf(buf, sizeof buf, "2^%.1f", log2(mag));
    mpc_diag_warning(C->diag, line, n ? n->col : 0, fmt, buf);
}

/* v with the range [lo, hi] if ok (else unknown); warns if it leaves the ring. */
cg_val cg_ranged(cg_comp *C, const mpc_node *n, cg_val v, int ok, double lo, double hi)
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

cg_val cg_raw_add(cg_comp *C, const mpc_node *n, mpc_type t, cg_val a, cg_val b)
{
    return cg_ranged(C, n, s_raw_add0(C, n, t, a, b), a.rg && b.rg, a.lo + b.lo, a.hi + b.hi);
}

cg_val cg_raw_neg(cg_comp *C, const mpc_node *n, mpc_type t, cg_val a)
{
    return cg_ranged(C, n, s_raw_neg0(C, n, t, a), a.rg, -a.hi, -a.lo);
}

cg_val cg_raw_sub(cg_comp *C, const mpc_node *n, mpc_type t, cg_val a, cg_val b)
{
    return cg_ranged(C, n, s_raw_sub0(C, n, t, a, b), a.rg && b.rg, a.lo - b.hi, a.hi - b.lo);
}

void cg_prod_range(const cg_val *a, const cg_val *b, double *lo, double *hi)
{
    double p[4] = {a->lo * b->lo, a->lo * b->hi, a->hi * b->lo, a->hi * b->hi};
    *lo = *hi = p[0];
    for (int i = 1; i < 4; i++) {
        if (p[i] < *lo) *lo = p[i];
        if (p[i] > *hi) *hi = p[i];
    }
}

cg_val cg_raw_mul(cg_comp *C, const mpc_node *n, mpc_type t, cg_val a, cg_val b)
{
    double lo = 0, hi = 0;
    if (a.rg && b.rg) cg_prod_range(&a, &b, &lo, &hi);
    return cg_ranged(C, n, s_raw_mul0(C, n, t, a, b), a.rg && b.rg, lo, hi);
}

cg_val cg_raw_trunc(cg_comp *C, const mpc_node *n, mpc_type t, cg_val a, unsigned m)
{
    if (a.rg && !a.pub && m > 0 && s_mag(a.lo, a.hi) >= S_2P62) {
        s_range_warn(C, n, "a truncation here can leave its headroom: |X| up to %s for the declared input "
                     "ranges (the limit is 2^62; the MPC result would be garbage)", s_mag(a.lo, a.hi));
        a.rg = 0;
    }
    double sc = ldexp(1.0, -(int)m);
    return cg_ranged(C, n, s_raw_trunc0(C, n, t, a, m), a.rg, floor(a.lo * sc), floor(a.hi * sc) + (m ? 1 : 0));
}

/* Exact floor(a / 2^m) on the signed value, for int results (int division by 2^m, int() of
 * a fix).  TRUNC alone returns floor or floor + 1 under MPC (it rounds at random, docs/engine.md);
 * with t = TRUNC(a, m) the remainder r = a - t·2^m is in [0, 2^m) when t is the floor and
 * in [-2^m, 0) when it is one more, so floor = t - LTZ(r): one comparison, 8 more rounds.
 * The plaintext evaluator's TRUNC is already the floor, and LTZ(r) is then 0. */
cg_val cg_floor_shift(cg_comp *C, const mpc_node *n, mpc_type t, cg_val a, unsigned m)
{
    cg_val tr = cg_raw_trunc(C, n, t, a, m);
    if (m == 0 || tr.pub) return tr;
    a.type = t;
    cg_val back = s_raw_mul0(C, n, t, tr, cg_pub(MPC_T_INT, (uint64_t)1 << m, 0, 1));
    cg_val r = s_raw_sub0(C, n, t, a, back);
    cg_val l = cg_test(C, n, MPC_G_LTZ, r);
    l.type = t;
    cg_val q = s_raw_sub0(C, n, t, tr, l);
    if (tr.rg) q.rg = 1, q.lo = tr.lo, q.hi = tr.hi - 1;   /* the floor: TRUNC's +1 is gone */
    return q;
}

/* ---- typing ---- */

/* bool -> int (same ring values, nothing emitted). */
cg_val cg_bool_to_int(cg_val v)
{
    if (v.type == MPC_T_BOOL) v.type = MPC_T_INT;
    return v;
}

/* int or bool -> fix: multiply by 2^f. */
cg_val cg_to_fix(cg_comp *C, const mpc_node *n, cg_val v)
{
    if (v.type == MPC_T_FIX) return v;
    return cg_raw_mul(C, n, MPC_T_FIX, v, cg_pub(MPC_T_INT, (uint64_t)1 << C->frac, 0, 1));
}

/* Brings a and b to one type for + - comparisons min max ?: — bool becomes int; an int meets
 * a fix only as a public constant (or a bool), which becomes fix; a secret int with a fix
 * is an error naming both types.  Returns the common type. */
mpc_type cg_unify(cg_comp *C, const mpc_node *n, cg_val *a, cg_val *b, const char *what)
{
    if (a->type == b->type) return a->type;
    if (a->type != MPC_T_FIX && b->type != MPC_T_FIX) {
        *a = cg_bool_to_int(*a);
        *b = cg_bool_to_int(*b);
        return MPC_T_INT;
    }
    cg_val *i = a->type == MPC_T_FIX ? b : a;
    if (i->type == MPC_T_INT && !i->pub) {
        char ta[48], tb[48];
        cg_error(C, n, "type mismatch in %s: %s and %s (convert with fix(...) or int(...))", what,
                cg_tname(a, ta, sizeof ta), cg_tname(b, tb, sizeof tb));
    }
    *i = cg_to_fix(C, n, *i);
    return MPC_T_FIX;
}

static cg_val s_add(cg_comp *C, const mpc_node *n, cg_val a, cg_val b)
{
    mpc_type t = cg_unify(C, n, &a, &b, "'+'");
    if (t == MPC_T_BOOL) t = MPC_T_INT, a.type = b.type = t;
    return cg_raw_add(C, n, t, a, b);
}

static cg_val s_sub(cg_comp *C, const mpc_node *n, cg_val a, cg_val b)
{
    mpc_type t = cg_unify(C, n, &a, &b, "'-'");
    if (t == MPC_T_BOOL) t = MPC_T_INT, a.type = b.type = t;
    return cg_raw_sub(C, n, t, a, b);
}

static cg_val s_neg(cg_comp *C, const mpc_node *n, cg_val a)
{
    a = cg_bool_to_int(a);
    return cg_raw_neg(C, n, a.type, a);
}

cg_val cg_add(cg_comp *C, const mpc_node *n, cg_val a, cg_val b) { return s_add(C, n, a, b); }
cg_val cg_sub(cg_comp *C, const mpc_node *n, cg_val a, cg_val b) { return s_sub(C, n, a, b); }

/* The result type of a product and whether it carries 2f fractional bits (needs TRUNC). */
mpc_type cg_mul_type(cg_comp *C, const mpc_node *n, cg_val *a, cg_val *b, int *fixfix,
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
    cg_val *i = a->type == MPC_T_INT ? a : b;
    if (!i->pub) {
        char ta[48], tb[48];
        cg_error(C, n, "type mismatch in %s: %s and %s (convert with fix(...) or int(...))", what,
                cg_tname(a, ta, sizeof ta), cg_tname(b, tb, sizeof tb));
    }
    return MPC_T_FIX;   /* fix times a public int: MUL_PUB by the integer, exact */
}

void cg_unranged_warn(cg_comp *C, const mpc_node *n, const cg_val *a, const cg_val *b, int product)
{
    if (a->type != MPC_T_FIX && b->type != MPC_T_FIX) return;
    if ((a->pub || a->rg) && (b->pub || b->rg)) return;
    uint32_t line = n ? n->line : 0;
    if (line && line == C->unranged_warned_line) return;
    C->unranged_warned_line = line;
    C->overflow_warnings++;
    /* Name an operand that is an input without a range, if there is one. */
    const char *input = NULL;
    for (uint32_t i = 0; n && i < n->n_kids && i < 2 && !input; i++) {
        const mpc_node *k = n->kids[i];
        if (!k || k->kind != MPC_N_NAME) continue;
        const cg_bind *bd = cg_lookup(C, k->name);
        if (bd && bd->kind == B_INPUT && !bd->v.rg) input = k->name;
    }
    char hint[96];
    if (input) snprintf(hint, sizeof hint, "declare a range for input '%.40s' (`in LO..HI`)", input);
    else snprintf(hint, sizeof hint, "declare ranges for the inputs it comes from (`in LO..HI`)");
    if (product)
        mpc_diag_warning(C->diag, line, n ? n->col : 0,
                         "fix product of a value without a declared range can overflow silently "
                         "(it needs |x*y| < 2^%u); %s", 62 - 2 * C->frac, hint);
    else
        mpc_diag_warning(C->diag, line, n ? n->col : 0,
                         "fix comparison of a value without a declared range is wrong if the difference "
                         "overflows (it needs |a-b| < 2^%u); %s", 63 - C->frac, hint);
}

cg_val cg_mul(cg_comp *C, const mpc_node *n, cg_val a, cg_val b)
{
    int fixfix;
    mpc_type t = cg_mul_type(C, n, &a, &b, &fixfix, "'*'");
    if (!fixfix) return cg_raw_mul(C, n, t, a, b);
    if (a.pub && b.pub) {
        cg_val p = cg_raw_mul(C, n, t, a, b);
        return cg_raw_trunc(C, n, t, p, C->frac);
    }
    if (a.pub) {
        cg_val tmp = a;
        a = b;
        b = tmp;
    }
    if (b.pub) {
        uint64_t mask = ((uint64_t)1 << C->frac) - 1;
        if ((b.k & mask) == 0)   /* a whole number: multiply by the integer, nothing to truncate */
            return cg_raw_mul(C, n, t, a, cg_pub(MPC_T_INT, s_sar(b.k, C->frac), b.is_vec, b.len));
    }
    cg_unranged_warn(C, n, &a, &b, 1);
    return cg_raw_trunc(C, n, t, cg_raw_mul(C, n, t, a, b), C->frac);
}


/* x / c: a public c (see LANGUAGE.md "Division"), or a secret one (cg_secret_div). */
cg_val cg_div(cg_comp *C, const mpc_node *n, cg_val x, cg_val c)
{
    if (!c.pub) {
        mpc_type t = cg_unify(C, n, &x, &c, "'/'");
        if (t != MPC_T_FIX)
            cg_error(C, n, "integer division by a secret value is not supported; convert with fix(...)");
        x.type = c.type = t;
        return cg_secret_div(C, n, x, c);
    }
    if (c.is_vec) cg_error(C, n, "division by a vector is not supported");
    if (c.type == MPC_T_BOOL) cg_error(C, n, "division by a bool is not supported");
    x = cg_bool_to_int(x);
    if (c.k == 0) cg_error(C, n, "division by zero");
    int cneg = cg_neg64(c.k);
    if (x.type == MPC_T_INT) {
        if (c.type == MPC_T_FIX) {
            if (!x.pub) {
                char tx[48];
                cg_error(C, n, "type mismatch in '/': %s and fix (convert with fix(...) or int(...))",
                        cg_tname(&x, tx, sizeof tx));
            }
            x = cg_to_fix(C, n, x);
        } else {
            int k = s_log2_exact(cg_abs64(c.k));
            if (k > 62) cg_error(C, n, "division by -2^63 is not supported");
            if (k >= 0) {
                cg_val y = cg_floor_shift(C, n, MPC_T_INT, x, (unsigned)k);
                return cneg ? cg_raw_neg(C, n, MPC_T_INT, y) : y;
            }
            if (x.pub) {   /* public int / int: floor division */
                int64_t a = (int64_t)x.k, b = (int64_t)c.k;
                if (b == -1) return cg_pub(MPC_T_INT, 0 - x.k, x.is_vec, x.len);
                int64_t q = a / b;
                if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
                return cg_pub(MPC_T_INT, (uint64_t)q, x.is_vec, x.len);
            }
            cg_error(C, n, "integer division by %lld is not supported; divide a fix value, or by a power of two",
                    (long long)(int64_t)c.k);
        }
    }
    /* x is fix; C is c's fix encoding, c = C / 2^f. */
    uint64_t Cabs = c.type == MPC_T_FIX ? cg_abs64(c.k) : cg_abs64(c.k) << C->frac;
    if (c.type == MPC_T_INT && (cg_abs64(c.k) >> (63 - C->frac)))
        cg_error(C, n, "divisor %lld is too large for fix precision %u", (long long)(int64_t)c.k, C->frac);
    cg_val y;
    int j = s_log2_exact(Cabs);
    if (j >= 0) {
        int k = j - (int)C->frac;   /* |c| = 2^k */
        if (k >= 0) y = cg_raw_trunc(C, n, MPC_T_FIX, x, (unsigned)k);
        else y = cg_raw_mul(C, n, MPC_T_FIX, x, cg_pub(MPC_T_INT, (uint64_t)1 << -k, 0, 1));
    } else {
        int t = s_bitlen(Cabs) - 1 - (int)C->frac;
        if (t < 0) t = 0;
        unsigned s = S_DIV_BITS - C->frac;
        /* R = round(2^(s+t) * 2^f / |C|), exactly. */
        unsigned __int128 num = (unsigned __int128)1 << (s + (unsigned)t + C->frac);
        unsigned __int128 R = (2 * num + Cabs) / (2 * (unsigned __int128)Cabs);
        cg_val x1 = cg_raw_trunc(C, n, MPC_T_FIX, x, (unsigned)t);
        cg_val p = cg_raw_mul(C, n, MPC_T_FIX, x1, cg_pub(MPC_T_INT, (uint64_t)R, 0, 1));
        y = cg_raw_trunc(C, n, MPC_T_FIX, p, s);
    }
    return cneg ? cg_raw_neg(C, n, MPC_T_FIX, y) : y;
}

/* LTZ(d) or EQZ(d), bool. */
cg_val cg_test(cg_comp *C, const mpc_node *n, mpc_gate_kind kind, cg_val d)
{
    if (d.pub) {
        uint64_t r = kind == MPC_G_LTZ ? (uint64_t)cg_neg64(d.k) : (uint64_t)(d.k == 0);
        return cg_pub(MPC_T_BOOL, r, d.is_vec, d.len);
    }
    cg_val r = cg_sec(MPC_T_BOOL, cg_gate(C, n, kind, MPC_T_BOOL, d.len, d.wire, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0),
                    d.is_vec, d.len);
    r.rg = 1, r.lo = 0, r.hi = 1;
    return r;
}

/* 1 - b for a bool: NEG then ADD_PUB of 1. */
static cg_val s_not(cg_comp *C, const mpc_node *n, cg_val b)
{
    return cg_raw_add(C, n, MPC_T_BOOL, cg_raw_neg(C, n, MPC_T_BOOL, b), cg_pub(MPC_T_BOOL, 1, 0, 1));
}

static cg_val s_compare(cg_comp *C, const mpc_node *n, int op, cg_val a, cg_val b)
{
    char what[8];
    snprintf(what, sizeof what, "'%s'", mpc_token_names[op]);
    mpc_type t = cg_unify(C, n, &a, &b, what);
    if (t == MPC_T_BOOL) t = MPC_T_INT, a.type = b.type = t;
    if (op != MPC_TK_EQ && op != MPC_TK_NE) cg_unranged_warn(C, n, &a, &b, 0);   /* == is exact in the ring */
    switch (op) {
    case MPC_TK_LT: return cg_test(C, n, MPC_G_LTZ, cg_raw_sub(C, n, t, a, b));
    case MPC_TK_GT: return cg_test(C, n, MPC_G_LTZ, cg_raw_sub(C, n, t, b, a));
    case MPC_TK_LE: return s_not(C, n, cg_test(C, n, MPC_G_LTZ, cg_raw_sub(C, n, t, b, a)));
    case MPC_TK_GE: return s_not(C, n, cg_test(C, n, MPC_G_LTZ, cg_raw_sub(C, n, t, a, b)));
    case MPC_TK_EQ: return cg_test(C, n, MPC_G_EQZ, cg_raw_sub(C, n, t, a, b));
    default:        return s_not(C, n, cg_test(C, n, MPC_G_EQZ, cg_raw_sub(C, n, t, a, b)));
    }
}

/* cond ? a : b with cond a bool; a and b already share a type. */
cg_val cg_select(cg_comp *C, const mpc_node *n, cg_val cond, cg_val a, cg_val b)
{
    int vec;
    uint64_t len;
    cg_shape2(C, n, &a, &b, &vec, &len, "'?:'");
    cg_val ab = cg_pub(a.type, 0, vec, len);
    cg_shape2(C, n, &cond, &ab, &vec, &len, "'?:'");
    if (cond.pub)   /* all elements of a public condition are equal: it picks one side */
        return cg_broadcast(C, n, cond.k ? a : b, vec, len);
    if (!a.pub && !b.pub) {
        uint32_t w = cg_gate(C, n, MPC_G_SELECT, a.type, len, cond.wire, a.wire, b.wire, 0, 0);
        return cg_ranged(C, n, cg_sec(a.type, w, vec, len), a.rg && b.rg, fmin(a.lo, b.lo), fmax(a.hi, b.hi));
    }
    /* b + cond*(a - b): the public side folds into local gates. */
    mpc_type t = a.type;
    cg_val d = cg_raw_sub(C, n, t, a, b);
    cg_val m = cg_raw_mul(C, n, t, cond, d);
    return cg_broadcast(C, n, cg_raw_add(C, n, t, b, m), vec, len);
}

/* ---- scopes ---- */

cg_bind *cg_lookup(cg_comp *C, const char *name)
{
    for (cg_scope *s = C->scope; s; s = s->parent)
        for (cg_bind *b = s->binds; b; b = b->next)
            if (strcmp(b->name, name) == 0) return b;
    return NULL;
}

static cg_bind *s_declare(cg_comp *C, const char *name, cg_bkind kind, cg_val v, uint32_t line, uint32_t col)
{
    for (cg_bind *b = C->scope->binds; b; b = b->next)
        if (strcmp(b->name, name) == 0)
            s_error_at(C, line, col, "'%s' is already defined at %u:%u", name, (unsigned)b->line,
                       (unsigned)b->col);
    cg_bind *b = C->free_binds;
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
static void s_scope_close(cg_comp *C, cg_scope *sc)
{
    while (sc->binds) {
        cg_bind *b = sc->binds;
        sc->binds = b->next;
        b->next = C->free_binds;
        C->free_binds = b;
    }
}

cg_fn *cg_find_fn(cg_comp *C, const char *name)
{
    for (cg_fn *f = C->fns; f; f = f->next)
        if (strcmp(f->node->name, name) == 0) return f;
    return NULL;
}

/* Lists the columns of table `t` ("age, glucose") into buf. */
static void s_table_columns(cg_comp *C, const char *t, char *buf, size_t len)
{
    size_t tl = strlen(t), used = 0;
    buf[0] = 0;
    /* bindings are kept newest first: collect, then print in declaration order */
    const char *names[64];
    size_t n = 0, more = 0;
    for (cg_bind *b = C->global->binds; b; b = b->next)
        if (b->kind == B_INPUT && strncmp(b->name, t, tl) == 0 && b->name[tl] == '.') {
            if (n < 64) names[n++] = b->name + tl + 1;
            else more++;
        }
    for (size_t i = n; i-- > 0 && used < len;)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i + 1 == n ? "" : ", ", names[i]);
    if (more && used < len) snprintf(buf + used, len - used, ", ...");
}

/* The binding a name used as a value refers to; errors for an undefined name, a function, a
 * whole table (only its columns are values) and a column the table does not have. */
static cg_bind *s_lookup_value(cg_comp *C, const mpc_node *n, const char *name)
{
    cg_bind *b = cg_lookup(C, name);
    char cols[200];
    if (b && b->kind == B_CONTRIB)
        cg_error(C, n, "'%s' is a contributor input, not a value: use count(%s), sum(%s) or mean(%s) (or sum/mean "
                 "of an expression in %s of degree at most 2, circuits/LANGUAGE.md \"Contributions\")", name, name,
                 name, name, name);
    if (b && b->kind == B_KEY)
        cg_error(C, n, "'%s' is a key column: keys never enter the computation; use it only as the key of a "
                 "join (join(A, B, on KEY))", name);
    if (b && b->kind == B_JOIN)
        cg_error(C, n, "'%s' is a join, not a value: use its columns (%s.COLUMN), or count(%s) for the matched "
                 "rows", name, name, name);
    if (b && b->kind == B_TABLE) {
        s_table_columns(C, name, cols, sizeof cols);
        cg_error(C, n, "'%s' is a table, not a value: use one of its columns (%s) as %s.COLUMN", name, cols, name);
    }
    if (b) return b;
    if (cg_find_fn(C, name)) cg_error(C, n, "'%s' is a function; call it with (...)", name);
    const char *dot = strchr(name, '.');
    if (dot) {
        char t[MPC_NAME_MAX];
        snprintf(t, sizeof t, "%.*s", (int)(dot - name), name);
        cg_bind *tb = cg_lookup(C, t);
        if (!tb) cg_error(C, n, "undefined table '%s' (in '%s')", t, name);
        if (tb->kind != B_TABLE) cg_error(C, n, "'%s' is %s, not a table: '%s' has no columns", t, cg_bkind_names[tb->kind], t);
        s_table_columns(C, t, cols, sizeof cols);
        cg_error(C, n, "table '%s' has no column '%s' (its columns: %s)", t, dot + 1, cols);
    }
    cg_error(C, n, "undefined name '%s'", name);
}

static void s_count_unroll(cg_comp *C, const mpc_node *n)
{
    if (++C->unrolled > MPC_COMPILE_MAX_UNROLL)
        cg_error(C, n, "program unrolls to more than %u loop iterations and calls",
                (unsigned)MPC_COMPILE_MAX_UNROLL);
}

/* ---- expressions ---- */

static void s_stats(cg_comp *C, const mpc_node *block, size_t n_stats);

/* A public int scalar (lengths, bounds, indices, precision). */
static int64_t s_const_int(cg_comp *C, const mpc_node *n, const char *what)
{
    cg_val v = cg_expr(C, n);
    if (!v.pub) cg_error(C, n, "%s must be a compile-time constant", what);
    if (v.type == MPC_T_FIX) cg_error(C, n, "%s must be an integer, not fix", what);
    if (v.is_vec) cg_error(C, n, "%s must be a scalar", what);
    return (int64_t)v.k;
}

void cg_arity(cg_comp *C, const mpc_node *n, uint32_t want)
{
    if (n->n_kids != want)
        cg_error(C, n, "%s() takes %u argument%s, got %u", n->name, (unsigned)want, want == 1 ? "" : "s",
                (unsigned)n->n_kids);
}

cg_val cg_need_vec(cg_comp *C, const mpc_node *n, cg_val v, const char *fn)
{
    if (!v.is_vec) {
        char t[48];
        cg_error(C, n, "%s() expects a vector, got %s", fn, cg_tname(&v, t, sizeof t));
    }
    return v;
}

cg_val cg_call_fn(cg_comp *C, const mpc_node *n, cg_fn *f)
{
    const mpc_node *def = f->node;
    if (f->active)
        cg_error(C, n, "recursive call to '%s' (functions are inlined, so recursion is not supported)", def->name);
    if (n->n_kids != def->n_names)
        cg_error(C, n, "function '%s' takes %u argument%s, got %u", def->name, (unsigned)def->n_names,
                def->n_names == 1 ? "" : "s", (unsigned)n->n_kids);
    if (C->inline_depth >= S_MAX_INLINE) cg_error(C, n, "functions inlined more than %d deep", S_MAX_INLINE);
    s_count_unroll(C, n);
    if (def->n_names > S_MAX_PARAMS)
        cg_error(C, def, "function '%s' has more than %d parameters", def->name, S_MAX_PARAMS);
    cg_val args[S_MAX_PARAMS];
    for (uint32_t i = 0; i < n->n_kids; i++) args[i] = cg_expr(C, n->kids[i]);
    /* Lexical scope: the body sees its parameters and the top level, not the caller's locals.
     * The scope lives on the C stack for the duration of the call. */
    cg_scope *saved = C->scope;
    cg_scope scope = {NULL, C->global}, *sc = &scope;
    C->scope = sc;
    for (uint32_t i = 0; i < def->n_names; i++) {
        cg_bind *b = s_declare(C, def->names[i], B_LET, args[i], def->name_line[i], def->name_col[i]);
        b->used = 1;
    }
    f->active = 1;
    C->inline_depth++;
    const mpc_node *body = def->kids[0];
    s_stats(C, body, body->n_kids - 1);
    cg_val r = cg_expr(C, body->kids[body->n_kids - 1]->kids[0]);
    C->inline_depth--;
    f->active = 0;
    C->scope = saved;
    s_scope_close(C, sc);
    return r;
}
static cg_val s_index(cg_comp *C, const mpc_node *n)
{
    cg_val v = cg_expr(C, n->kids[0]);
    if (v.join)
        cg_error(C, n, "a joined column cannot be indexed or sliced: its row order and its unmatched rows "
                 "would reveal which rows matched; reduce it (sum, count, mean, histogram)");
    if (!v.is_vec) {
        char t[48];
        cg_error(C, n, "cannot index %s: it is not a vector", cg_tname(&v, t, sizeof t));
    }
    if (n->kind == MPC_N_INDEX) {
        int64_t i = s_const_int(C, n->kids[1], "an index");
        if (i < 0 || (uint64_t)i >= v.len)
            cg_error(C, n->kids[1], "index %lld out of range for a vector of length %llu", (long long)i,
                    (unsigned long long)v.len);
        if (v.pub) return cg_pub(v.type, v.k, 0, 1);
        cg_val r = v.len == 1 ? cg_sec(v.type, v.wire, 0, 1)
                             : cg_sec(v.type, cg_gate(C, n, MPC_G_SLICE, v.type, 1, v.wire, MPC_NO_WIRE, MPC_NO_WIRE, (uint64_t)i, 1), 0, 1);
        return cg_ranged(C, n, r, v.rg, v.lo, v.hi);
    }
    int64_t a = n->kids[1] ? s_const_int(C, n->kids[1], "a slice bound") : 0;
    int64_t b = n->kids[2] ? s_const_int(C, n->kids[2], "a slice bound") : (int64_t)v.len;
    if (a < 0 || b < 0 || (uint64_t)a > v.len || (uint64_t)b > v.len || a >= b)
        cg_error(C, n, "slice [%lld:%lld] out of range for a vector of length %llu (need 0 <= start < end <= length)",
                (long long)a, (long long)b, (unsigned long long)v.len);
    uint64_t len = (uint64_t)(b - a);
    if (v.pub) return cg_pub(v.type, v.k, 1, len);
    if (a == 0 && len == v.len) return v;
    return cg_ranged(C, n, cg_sec(v.type, cg_gate(C, n, MPC_G_SLICE, v.type, len, v.wire, MPC_NO_WIRE, MPC_NO_WIRE, (uint64_t)a, 1), 1, len),
                    v.rg, v.lo, v.hi);
}

cg_val cg_expr(cg_comp *C, const mpc_node *n)
{
    switch (n->kind) {
    case MPC_N_INT:
        return cg_pub(MPC_T_INT, n->ival, 0, 1);
    case MPC_N_DEC: {
        uint64_t x;
        if (mpc_compile_decimal(n->text, C->frac, &x) != 0)
            cg_error(C, n, "decimal literal '%s' is out of range for fix with %u fractional bits", n->text, C->frac);
        return cg_pub(MPC_T_FIX, x, 0, 1);
    }
    case MPC_N_BOOL:
        return cg_pub(MPC_T_BOOL, n->ival, 0, 1);
    case MPC_N_NAME: {
        cg_val jv;
        if (cg_join_name(C, n, n->name, &jv)) return jv;
        cg_bind *b = s_lookup_value(C, n, n->name);
        b->used = 1;
        return b->v;
    }
    case MPC_N_NEG: {
        cg_val a = cg_expr(C, n->kids[0]);
        cg_val r = s_neg(C, n, a);
        r.join = a.join;
        return r;
    }
    case MPC_N_BIN: {
        cg_val a = cg_expr(C, n->kids[0]);
        cg_val b = cg_expr(C, n->kids[1]);
        uint32_t jn = cg_join_mix(C, n, &a, &b, NULL);   /* joined values stay joined (joinc.c) */
        cg_val r;
        switch (n->op) {
        case MPC_TK_PLUS:  r = s_add(C, n, a, b); break;
        case MPC_TK_MINUS: r = s_sub(C, n, a, b); break;
        case MPC_TK_STAR:  r = cg_mul(C, n, a, b); break;
        case MPC_TK_SLASH: r = cg_div(C, n, a, b); break;
        default:           r = s_compare(C, n, n->op, a, b); break;
        }
        r.join = jn;
        return r;
    }
    case MPC_N_COND: {
        cg_val c = cg_expr(C, n->kids[0]);
        if (c.type != MPC_T_BOOL) {
            char t[48];
            cg_error(C, n->kids[0], "the condition of '?' must be bool, got %s", cg_tname(&c, t, sizeof t));
        }
        cg_val a = cg_expr(C, n->kids[1]), b = cg_expr(C, n->kids[2]);
        uint32_t jn = cg_join_mix(C, n, &c, &a, &b);
        mpc_type t = cg_unify(C, n, &a, &b, "'?:'");
        a.type = b.type = t;
        cg_val r = cg_select(C, n, c, a, b);
        r.join = jn;
        return r;
    }
    case MPC_N_CALL:
        return cg_call(C, n);
    case MPC_N_LIST:
        cg_error(C, n, "a list literal [...] is only allowed as the edges of histogram()");
    case MPC_N_INDEX:
    case MPC_N_SLICE:
        return s_index(C, n);
    default:
        cg_error(C, n, "internal error: unexpected %s node in an expression", mpc_node_names[n->kind]);
    }
}

/* ---- statements ---- */

static void s_assign(cg_comp *C, const mpc_node *n)
{
    cg_bind *b = cg_lookup(C, n->name);
    if (!b) cg_error(C, n, "undefined name '%s'", n->name);
    if (b->kind != B_VAR)
        cg_error(C, n, "cannot assign to '%s': it is %s (only a var can change)", n->name, cg_bkind_names[b->kind]);
    cg_val v = cg_expr(C, n->kids[0]);
    cg_val old = b->v;
    if (v.type == MPC_T_BOOL && old.type == MPC_T_INT) v.type = MPC_T_INT;
    if (v.type == MPC_T_INT && v.pub && old.type == MPC_T_FIX) v = cg_to_fix(C, n, v);
    if (!old.pub && (v.type != old.type || !s_same_shape(&v, old.is_vec, old.len))) {
        if (v.type == old.type && v.pub && (!v.is_vec || (old.is_vec && v.len == old.len))) {
            v = cg_broadcast(C, n, v, old.is_vec, old.len);
        } else {
            char tv[48], to[48];
            cg_error(C, n, "cannot assign %s to '%s', which holds %s", cg_tname(&v, tv, sizeof tv), n->name,
                    cg_tname(&old, to, sizeof to));
        }
    }
    b->v = v;
    b->used = 1;
}

static void s_for(cg_comp *C, const mpc_node *n)
{
    int64_t a = s_const_int(C, n->kids[0], "a loop bound");
    int64_t b = s_const_int(C, n->kids[1], "a loop bound");
    const mpc_node *body = n->kids[2];
    cg_scope scope = {NULL, C->scope}, *sc = &scope;
    /* A loop that alone passes the limit is refused before its first iteration, not after a
     * million of them (seconds of work; the fuzzer's timeout found it).  unrolled never
     * exceeds the limit here: s_count_unroll stops the compilation first. */
    if (b > a && (uint64_t)b - (uint64_t)a > MPC_COMPILE_MAX_UNROLL - C->unrolled)
        cg_error(C, n, "program unrolls to more than %u loop iterations and calls", (unsigned)MPC_COMPILE_MAX_UNROLL);
    for (int64_t i = a; i < b; i++) {
        s_count_unroll(C, n);
        C->scope = sc;
        cg_bind *lv = s_declare(C, n->name, B_LOOP, cg_pub(MPC_T_INT, (uint64_t)i, 0, 1), n->line, n->col);
        lv->used = 1;
        s_stats(C, body, body->n_kids);
        C->scope = sc->parent;
        s_scope_close(C, sc);
    }
}

static void s_party(cg_comp *C, const mpc_node *n)
{
    for (uint32_t i = 0; i < n->n_names; i++) {
        const char *p = n->names[i];
        for (uint32_t j = 0; j < C->c->n_parties; j++)
            if (strcmp(C->c->party_names[j], p) == 0)
                s_error_at(C, n->name_line[i], n->name_col[i], "duplicate party '%s'", p);
        if (C->c->n_parties >= MPC_MAX_PARTIES)
            s_error_at(C, n->name_line[i], n->name_col[i], "too many parties (at most %d)", MPC_MAX_PARTIES);
        if (strcmp(p, "contributors") == 0)
            s_error_at(C, n->name_line[i], n->name_col[i], "'contributors' cannot name a party: `from contributors` "
                       "declares a contributor input");
        if (mpc_circ_add_party(C->c, p) < 0) s_error_at(C, n->name_line[i], n->name_col[i], "bad party name '%s'", p);
    }
}

static uint32_t s_party_index(cg_comp *C, const mpc_node *n, uint32_t i)
{
    for (uint32_t j = 0; j < C->c->n_parties; j++)
        if (strcmp(C->c->party_names[j], n->names[i]) == 0) return j;
    s_error_at(C, n->name_line[i], n->name_col[i], "undeclared party '%s'", n->names[i]);
}

/* A -D value: integer, decimal or true/false. */
static int s_define_value(cg_comp *C, const char *text, cg_val *v)
{
    int neg = text[0] == '-';
    const char *p = text + neg;
    if (!neg && (strcmp(p, "true") == 0 || strcmp(p, "false") == 0)) {
        *v = cg_pub(MPC_T_BOOL, p[0] == 't', 0, 1);
        return 0;
    }
    if (!(*p >= '0' && *p <= '9')) return -1;
    if (strchr(p, '.')) {
        uint64_t x;
        if (mpc_compile_decimal(p, C->frac, &x) != 0) return -1;
        *v = cg_pub(MPC_T_FIX, neg ? 0 - x : x, 0, 1);
        return 0;
    }
    uint64_t x = 0;
    for (; *p; p++) {
        if (!(*p >= '0' && *p <= '9')) return -1;
        unsigned d = (unsigned)(*p - '0');
        if (x > (UINT64_MAX - d) / 10) return -1;
        x = x * 10 + d;
    }
    *v = cg_pub(MPC_T_INT, neg ? 0 - x : x, 0, 1);
    return 0;
}

static void s_param(cg_comp *C, const mpc_node *n)
{
    cg_val v;
    const mpc_define *d = NULL;
    for (size_t i = 0; i < C->n_defs; i++)
        if (strcmp(C->defs[i].name, n->name) == 0) {
            d = &C->defs[i];
            C->def_used[i] = 1;
        }
    if (d) {
        if (s_define_value(C, d->value, &v) != 0)
            cg_error(C, n, "invalid value '%.60s' for parameter '%s' given with -D", d->value, n->name);
    } else if (!n->kids[0]) {
        cg_error(C, n, "param '%s' has no value: give it with -D %s=VALUE (or, for a table's row count, "
                 "with the table's CSV file: --input TABLE=@FILE)", n->name, n->name);
    } else {
        v = cg_expr(C, n->kids[0]);
        if (!v.pub) cg_error(C, n->kids[0], "the value of param '%s' must be a compile-time constant", n->name);
    }
    cg_bind *b = s_declare(C, n->name, B_PARAM, v, n->line, n->col);
    b->used = 1;
    if (C->n_pvals >= MPC_PROGRAM_MAX_PARAMS || v.is_vec || v.len != 1) {
        C->pvals_bad = 1;
        return;
    }
    mpc_param_value *pv = &C->pvals[C->n_pvals++];
    snprintf(pv->name, sizeof pv->name, "%s", n->name);
    if (mpc_param_render(v.type, v.k, C->frac, pv->value, sizeof pv->value) != 0) C->pvals_bad = 1;
}

/* The program and its param values, attached to the circuit (program.h) unless a value
 * cannot be stated or the canonical text is too long: such a circuit can still be approved
 * by its circuit hash. */
static void s_attach_program(cg_comp *C, const char *src, size_t len, unsigned flags)
{
    if (C->pvals_bad) return;
    mpc_diag d;
    mpc_program_canon pc;
    mpc_diag_init(&d, NULL, src, len);
    int rc = mpc_program_canonicalize(src, len, &d, &pc);
    mpc_diag_free(&d);
    mpc_program *p = rc == 0 && pc.n_params == C->n_pvals ? calloc(1, sizeof *p) : NULL;
    if (p) {
        p->text = pc.text;
        p->text_len = pc.text_len;
        pc.text = NULL;
        p->n_params = C->n_pvals;
        memcpy(p->params, C->pvals, C->n_pvals * sizeof *C->pvals);
        p->pushdown = (flags & MPC_COMPILE_PUSHDOWN) != 0;
        C->c->program = p;
    }
    mpc_program_canon_free(&pc);
}

void cg_input_range(cg_comp *C, const mpc_node *lo, const mpc_node *hi, mpc_type vtype, int64_t *l, int64_t *h)
{
    if (vtype == MPC_T_BOOL) cg_error(C, lo, "a bool input cannot have a range");
    const mpc_node *bn[2] = {lo, hi};
    cg_val b[2];
    for (int i = 0; i < 2; i++) {
        b[i] = cg_expr(C, bn[i]);
        if (!b[i].pub || b[i].is_vec || b[i].type == MPC_T_BOOL)
            cg_error(C, bn[i], "an input range bound must be a public number");
        if (b[i].type == MPC_T_FIX && vtype == MPC_T_INT)
            cg_error(C, bn[i], "an int input's range bound must be an integer");
        if (b[i].type == MPC_T_INT && vtype == MPC_T_FIX) {
            if (cg_abs64(b[i].k) >> (63 - C->frac))
                cg_error(C, bn[i], "range bound out of range for fix with %u fractional bits", C->frac);
            b[i] = cg_to_fix(C, bn[i], b[i]);
        }
    }
    if ((int64_t)b[0].k > (int64_t)b[1].k) cg_error(C, lo, "empty input range (lo > hi)");
    *l = (int64_t)b[0].k, *h = (int64_t)b[1].k;
}

/* Declares input `name` (a plain input, or a table's column "t.c") of type vtype and length
 * len (is_vec: declared as a vector) from party, with the declared range lo..hi when lo is
 * not NULL; errors point at n. */
static cg_bind *s_input_decl(cg_comp *C, const mpc_node *n, const char *name, mpc_type vtype, uint32_t party,
                             uint64_t len, int is_vec, const mpc_node *lo, const mpc_node *hi)
{
    for (uint32_t i = 0; i < C->c->n_inputs; i++)
        if (strcmp(C->c->inputs[i].name, name) == 0)
            cg_error(C, n, "duplicate input '%s' (first declared at %u:%u)", name,
                    (unsigned)C->c->inputs[i].line, (unsigned)C->c->inputs[i].col);
    cg_bind *prev = cg_lookup(C, name);
    if (prev)
        cg_error(C, n, "'%s' is already defined at %u:%u", name, (unsigned)prev->line, (unsigned)prev->col);
    uint32_t w = mpc_circ_add_input(C->c, name, party, vtype, len, n->line, n->col);
    if (w == MPC_NO_WIRE) cg_error(C, n, "out of memory");
    cg_val v = cg_sec(vtype, w, is_vec, len);
    if (vtype == MPC_T_BOOL) v.rg = 1, v.lo = 0, v.hi = 1;
    if (lo) {   /* input x: T from p in lo..hi */
        int64_t l, h;
        cg_input_range(C, lo, hi, vtype, &l, &h);
        v.rg = 1, v.lo = (double)l, v.hi = (double)h;
    }
    char *nm = mpc_arena_strndup(C->arena, name, strlen(name));
    if (!nm) cg_error(C, n, "out of memory");
    return s_declare(C, nm, B_INPUT, v, n->line, n->col);
}

static uint64_t s_vec_len(cg_comp *C, const mpc_node *e)
{
    int64_t l = s_const_int(C, e, "a vector length");
    if (l < 1 || (uint64_t)l > MPC_CIRC_MAX_VECTOR)
        cg_error(C, e, "vector length %lld out of range 1..%llu", (long long)l,
                (unsigned long long)MPC_CIRC_MAX_VECTOR);
    return (uint64_t)l;
}

static void s_input(cg_comp *C, const mpc_node *n)
{
    if (n->ival) {   /* from contributors (contrib.c) */
        uint64_t len = n->kids[0] ? s_vec_len(C, n->kids[0]) : 1;
        cg_bind *prev = cg_lookup(C, n->name);
        if (prev)
            cg_error(C, n, "'%s' is already defined at %u:%u", n->name, (unsigned)prev->line, (unsigned)prev->col);
        cg_val v = cg_contrib_input(C, n, len);
        s_declare(C, n->name, B_CONTRIB, v, n->line, n->col);
        return;
    }
    if (n->n_kids == 4)
        cg_error(C, n->kids[3], "a norm bound is for contributor inputs only ('input %s: ... from contributors in "
                 "LO..HI, norm <= B')", n->name);
    uint32_t party = s_party_index(C, n, 0);
    uint64_t len = n->kids[0] ? s_vec_len(C, n->kids[0]) : 1;
    s_input_decl(C, n, n->name, (mpc_type)n->vtype, party, len, n->kids[0] != NULL,
                 n->n_kids == 3 ? n->kids[1] : NULL, n->n_kids == 3 ? n->kids[2] : NULL);
}

/* input t: table(c1: T1, c2: T2 = default in lo..hi, ...)[N] from p: one input "t.c" of type
 * T[N] per column (LANGUAGE.md, "Tables"); the table's own name is bound so that using it
 * as a value, or a column it lacks, is an error naming the columns. */
static void s_table(cg_comp *C, const mpc_node *n)
{
    if (n->n_names >= 2) C->has_dataset = 1;
    uint32_t party = s_party_index(C, n, 0);
    uint64_t len = s_vec_len(C, n->kids[0]);
    cg_bind *prev = cg_lookup(C, n->name);
    if (prev)
        cg_error(C, n, "'%s' is already defined at %u:%u", n->name, (unsigned)prev->line, (unsigned)prev->col);
    for (uint32_t i = 1; i < n->n_kids; i++) {
        const mpc_node *col = n->kids[i];
        char full[MPC_NAME_MAX];
        if ((size_t)snprintf(full, sizeof full, "%s.%s", n->name, col->name) >= sizeof full)
            cg_error(C, col, "column name '%s.%s' is longer than %d characters", n->name, col->name, MPC_NAME_MAX - 1);
        if (col->vtype == MPC_COLUMN_KEY) {   /* no input: the join's key (joinc.c) */
            cg_join_key_column(C, n, col, party, len);
            char *nm = mpc_arena_strndup(C->arena, full, strlen(full));
            if (!nm) cg_error(C, col, "out of memory");
            s_declare(C, nm, B_KEY, cg_pub(MPC_T_INT, 0, 0, 1), col->line, col->col);
            continue;
        }
        if (col->kids[0]) {   /* the default must read as a value of the column's type */
            char text[80], err[160];
            uint64_t x;
            if (mpc_column_default_text(col, text, sizeof text) != 0 ||
                mpc_value_parse((mpc_type)col->vtype, C->frac, text, strlen(text), &x, err, sizeof err) != 0)
                cg_error(C, col->kids[0], "the default of column '%s' is not a value of type %s", col->name,
                         mpc_type_names[col->vtype]);
        }
        s_input_decl(C, col, full, (mpc_type)col->vtype, party, len, 1, col->kids[1], col->kids[2]);
    }
    s_declare(C, n->name, B_TABLE, cg_pub(MPC_T_INT, len, 0, 1), n->line, n->col);
}

static void s_output(cg_comp *C, const mpc_node *n)
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
                cg_error(C, it, "duplicate output '%s' (first declared at %u:%u)", it->name,
                        (unsigned)C->c->outputs[j].line, (unsigned)C->c->outputs[j].col);
        cg_val v;
        if (it->kids[0]) {
            v = cg_expr(C, it->kids[0]);
        } else {
            cg_bind *b = cg_lookup(C, it->name);
            if (b && b->kind == B_TABLE) b = s_lookup_value(C, it, it->name);
            if (!b) cg_error(C, it, "undefined name '%s' (write 'output %s = expression' to define it here)",
                            it->name, it->name);
            b->used = 1;
            v = b->v;
        }
        if (v.pub)
            cg_error(C, it, "output '%s' is a compile-time constant: outputs must depend on an input", it->name);
        if (v.join)
            cg_error(C, it, "output '%s' is a joined column: its row order and its unmatched rows would reveal "
                     "which rows matched; output a reduction of it (sum, count, mean, histogram)", it->name);
        const mpc_dp_output *dp = NULL;   /* the value of a dp_* builtin: the output is DP */
        for (uint32_t j = 0; j < C->n_dpv && !dp; j++)
            if (C->dpv[j].wire == v.wire) dp = &C->dpv[j].rec;
        /* A bool relabelled as int (e.g. int(x < y)) needs a wire of its own type: the OUTPUT
         * gate has its operand's type. */
        if (s_g(C, v.wire)->type != v.type)
            v.wire = cg_gate(C, it, MPC_G_ADD_PUB, v.type, v.len, v.wire, cg_const(C, it, v.type, 0), MPC_NO_WIRE, 0, 0);
        int oi = mpc_circ_add_output(C->c, it->name, v.wire, recipients, it->line, it->col);
        if (oi < 0) cg_error(C, it, "out of memory");
        if (dp) {
            mpc_dp_output rec = *dp;
            rec.output = (uint32_t)oi;
            if (mpc_circ_add_dp(C->c, &rec)) cg_error(C, it, "out of memory");
        }
    }
}

static void s_stat(cg_comp *C, const mpc_node *n)
{
    if (n->kind != MPC_N_PARTY && n->kind != MPC_N_PRECISION && n->kind != MPC_N_FN) C->decl_seen = 1;
    switch (n->kind) {
    case MPC_N_PARTY:
        s_party(C, n);
        break;
    case MPC_N_PRECISION:
        if (C->precision_seen) cg_error(C, n, "precision is already set");
        if (C->decl_seen) cg_error(C, n, "'precision' must come before inputs, parameters and definitions");
        if (n->ival < 1 || n->ival > S_MAX_FRAC)
            cg_error(C, n, "precision %llu out of range 1..%d", (unsigned long long)n->ival, S_MAX_FRAC);
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
    case MPC_N_TABLE:
        s_table(C, n);
        break;
    case MPC_N_LET:
    case MPC_N_VAR: {
        if (n->kind == MPC_N_LET && n->kids[0]->kind == MPC_N_CALL && !strcmp(n->kids[0]->name, "join")) {
            cg_join_let(C, n);
            cg_bind *jb = s_declare(C, n->name, B_JOIN, cg_pub(MPC_T_INT, C->n_joins, 0, 1), n->line, n->col);
            jb->used = 1;
            break;
        }
        cg_val v = cg_expr(C, n->kids[0]);
        cg_bind *b = s_declare(C, n->name, n->kind == MPC_N_LET ? B_LET : B_VAR, v, n->line, n->col);
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
        if (cg_find_builtin(n->name))
            cg_error(C, n, "'%s' is a builtin function and cannot be redefined", n->name);
        cg_fn *prev = cg_find_fn(C, n->name);
        if (prev)
            cg_error(C, n, "function '%s' is already defined at %u:%u", n->name, (unsigned)prev->node->line,
                    (unsigned)prev->node->col);
        cg_fn *f = s_alloc(C, sizeof *f);
        f->node = n;
        f->next = C->fns;
        C->fns = f;
        break;
    }
    case MPC_N_OUTPUT:
        s_output(C, n);
        break;
    default:
        cg_error(C, n, "internal error: unexpected %s statement", mpc_node_names[n->kind]);
    }
}

static void s_stats(cg_comp *C, const mpc_node *block, size_t n_stats)
{
    for (size_t i = 0; i < n_stats; i++) s_stat(C, block->kids[i]);
}

/* Warns of each input never used; a table's columns count as one: a table none of whose
 * columns is used is warned about, unused columns of a used table are not (a CSV file has
 * the columns it has). */
static void s_unused_inputs(cg_comp *C)
{
    for (cg_bind *b = C->global->binds; b; b = b->next) {
        if (b->kind == B_TABLE) {
            size_t tl = strlen(b->name);
            int used = 0;
            for (cg_bind *k = C->global->binds; k && !used; k = k->next)
                used = k->kind == B_INPUT && k->used && strncmp(k->name, b->name, tl) == 0 && k->name[tl] == '.';
            if (!used && !b->used)   /* b->used: joined (joinc.c), maybe on its key alone */
                mpc_diag_warning(C->diag, b->line, b->col, "table '%s' is never used", b->name);
        }
        if (b->kind == B_INPUT && !b->used && !strchr(b->name, '.'))
            mpc_diag_warning(C->diag, b->line, b->col, "input '%s' is never used", b->name);
        if (b->kind == B_CONTRIB && !b->used)
            mpc_diag_warning(C->diag, b->line, b->col, "contributor input '%s' is never used", b->name);
    }
}

int mpc_compile(const char *src, size_t len, const char *filename, const mpc_define *defs,
                size_t n_defs, mpc_circuit **out, mpc_diag *diag)
{
    return mpc_compile_ex(src, len, filename, defs, n_defs, 0, out, diag);
}

/* One compilation.  hints[0..n_hints-1]: contributor inputs' derived entries found by an
 * earlier pass (contrib.c); *redo is set (with the entries in *found, malloc'ed) when this pass
 * found derived entries its declarations did not know. */
static int s_compile_pass(const char *src, size_t len, const char *filename, const mpc_define *defs,
                          size_t n_defs, unsigned flags, const mpc_contrib_decl *hints, uint32_t n_hints,
                          mpc_circuit **out, mpc_diag *diag, mpc_contrib_decl **found, uint32_t *n_found);

int mpc_compile_ex(const char *src, size_t len, const char *filename, const mpc_define *defs,
                   size_t n_defs, unsigned flags, mpc_circuit **out, mpc_diag *diag)
{
    /* A collection's circuit input holds its derived entries (sums of per-contribution
     * products, contrib.c), which are known only once the whole program is read: a program
     * that uses them is compiled again with them known at the declaration. */
    mpc_contrib_decl *hints = NULL;
    uint32_t n_hints = 0;
    int r = s_compile_pass(src, len, filename, defs, n_defs, flags, NULL, 0, out, diag, &hints, &n_hints);
    for (int pass = 0; r == 0 && hints && pass < 2; pass++) {
        mpc_contrib_decl *more = NULL;
        uint32_t n_more = 0;
        mpc_circ_destroy(out);
        mpc_diag_free(diag);
        r = s_compile_pass(src, len, filename, defs, n_defs, flags, hints, n_hints, out, diag, &more, &n_more);
        free(hints);
        hints = more;
        n_hints = n_more;
    }
    if (r == 0 && hints) {
        mpc_circ_destroy(out);
        mpc_diag_error(diag, 0, 0, "internal error: the derived entries of a contributor input do not settle");
        r = -1;
    }
    free(hints);
    return r;
}

static int s_compile_pass(const char *src, size_t len, const char *filename, const mpc_define *defs,
                          size_t n_defs, unsigned flags, const mpc_contrib_decl *hints, uint32_t n_hints,
                          mpc_circuit **out, mpc_diag *diag, mpc_contrib_decl **found, uint32_t *n_found)
{
    *out = NULL;
    *found = NULL;
    *n_found = 0;
    mpc_diag_init(diag, filename, src, len);
    mpc_ast ast = {0};
    cg_comp *C = calloc(1, sizeof *C);
    int r = -1;
    if (!C) {
        mpc_diag_error(diag, 0, 0, "out of memory");
        return -1;
    }
    if (mpc_parse(src, len, diag, &ast) != 0) goto out;
    C->diag = diag;
    C->defs = defs;
    C->n_defs = n_defs;
    C->contrib_hints = hints;
    C->n_contrib_hints = n_hints;
    C->frac = MPC_DEFAULT_FRAC;
    C->arena = mpc_arena_new();
    C->c = mpc_circ_new();
    C->def_used = calloc(n_defs + 1, sizeof *C->def_used);
    C->pvals = calloc(MPC_PROGRAM_MAX_PARAMS, sizeof *C->pvals);
    if (!C->arena || !C->c || !C->def_used || !C->pvals) {
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
        if (!C->def_used[i]) cg_error(C, NULL, "unknown parameter '%s' given with -D", defs[i].name);
    if (C->c->n_parties < 2)
        cg_error(C, NULL, "a program needs at least 2 parties (declare them with 'party a, b')");
    if (C->c->n_outputs == 0) cg_error(C, NULL, "the program has no outputs");
    s_unused_inputs(C);
    C->c->warnings = C->overflow_warnings;
    cg_join_attach(C);
    char err[256];
    if (mpc_circ_finish(C->c, err, sizeof err) != 0) cg_error(C, NULL, "internal error: %s", err);
    if (!(flags & MPC_COMPILE_NO_OPT) && mpc_circ_optimize(C->c, err, sizeof err) != 0)
        cg_error(C, NULL, "optimising the circuit failed: %s", err);
    /* No one holds a stored dataset in the clear, so no party could compute a local part on
     * it: a program that reads one is compiled without pushdown (and says so in its program
     * field, so the daemons' recompilation agrees). */
    if ((flags & MPC_COMPILE_PUSHDOWN) && !C->has_dataset && !C->n_contrib) {
        mpc_circuit *pd = NULL;
        if (mpc_pushdown(C->c, &pd, err, sizeof err) != 0) cg_error(C, NULL, "pushdown failed: %s", err);
        else {
            mpc_circ_destroy(&C->c);
            C->c = pd;
        }
    }
    s_attach_program(C, src, len, C->has_dataset || C->n_contrib ? flags & ~(unsigned)MPC_COMPILE_PUSHDOWN : flags);
    cg_contrib_attach(C);
    if ((flags & MPC_COMPILE_STRICT) && diag->n_warnings) {
        mpc_diag_promote_warnings(diag);
        goto out;
    }
    if (C->contrib_redo && !(*found = cg_contrib_found(C, n_found))) {
        mpc_diag_error(diag, 0, 0, "out of memory");
        goto out;
    }
    *out = C->c;
    C->c = NULL;
    r = 0;
out:
    mpc_circ_destroy(&C->c);
    mpc_arena_destroy(&C->arena);
    mpc_ast_free(&ast);
    free(C->def_used);
    free(C->pvals);
    free(C->cache);
    free(C->contrib);
    free(C->joins);
    free(C);
    return r;
}
