/* contrib.c — contributor inputs (contrib.h): their code generation (the reduction of the
 * daemons' field sums to the ring, count/sum/mean) and the reading of contributions, for
 * mpcc --eval and for the contributor's client. */
#include "contrib.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen.h"
#include "value.h"

/* The field of protocols/field61.h (circuits/ depends on nothing of ours, so the constant is
 * repeated; check_field61 checks that the two agree). */
#define S_P    UINT64_C(0x1FFFFFF900000001)
#define S_HALF ((S_P - 1) / 2)

typedef struct cg_contrib {
    mpc_contrib_decl d;
    cg_val           sum, count;
    uint32_t         full;          /* the reduced vector: the values' sums, the entries', the count */
    uint32_t         n_terms_decl;  /* terms the circuit input holds (later ones: found in this pass) */
    uint64_t         m;             /* max(|LO|, |HI|), ring units */
} cg_contrib;

int mpc_contrib_input_of(const char *input_name)
{
    size_t n = strlen(input_name), k = sizeof MPC_CONTRIB_SUFFIX - 1;
    return n > k && memcmp(input_name + n - k, MPC_CONTRIB_SUFFIX, k) == 0;
}

const mpc_contrib_decl *mpc_circ_contrib(const mpc_circuit *c, const char *name)
{
    for (uint32_t i = 0; i < c->n_contrib; i++)
        if (strcmp(c->contrib[i].name, name) == 0 || strcmp(c->contrib[i].input, name) == 0) return &c->contrib[i];
    return NULL;
}

/* ---- code generation ---- */

static uint64_t s_mag(int64_t x) { return x < 0 ? 0 - (uint64_t)x : (uint64_t)x; }

/* `, norm <= B` of contributor input n (type t, D = len, m = max(|LO|, |HI|) in ring units):
 * d->norm = B and d->l2_bound = B² in ring units, refused when B is not a positive public
 * number or when D·m² + B² could reach (p − 1)/2 (the validity proof's sum of squares and its
 * slack would wrap the field). */
static void s_norm_bound(cg_comp *C, const mpc_node *n, mpc_type t, uint64_t len, uint64_t m, mpc_contrib_decl *d)
{
    const mpc_node *e = n->kids[3];
    cg_val b = cg_expr(C, e);
    if (!b.pub || b.is_vec || b.type == MPC_T_BOOL) cg_error(C, e, "a norm bound must be a public number");
    if (b.type == MPC_T_FIX && t == MPC_T_INT) cg_error(C, e, "an int contributor input's norm bound must be an integer");
    if (b.type == MPC_T_INT && t == MPC_T_FIX) {
        if (cg_abs64(b.k) >> (63 - C->frac))
            cg_error(C, e, "norm bound out of range for fix with %u fractional bits", C->frac);
        b = cg_to_fix(C, e, b);
    }
    if ((int64_t)b.k <= 0) cg_error(C, e, "the norm bound of contributor input '%s' must be positive", n->name);
    unsigned __int128 B = b.k, m2 = (unsigned __int128)m * m, lim = S_HALF;
    /* D·m² + B² < (p − 1)/2, without overflowing 128 bits (m, B < 2^63, D < 2^32) */
    int wraps = B >= ((unsigned __int128)1 << 31) || m2 >= lim || m2 * len >= lim || m2 * len + B * B >= lim;
    if (wraps)
        cg_error(C, e, "the norm bound of contributor input '%s' could wrap the contribution field: D·max(|LO|, |HI|)² "
                 "+ B² must stay below 2^60 in the ring encoding%s (here D = %llu)", n->name,
                 t == MPC_T_FIX ? " (fix values times 2^frac)" : "", (unsigned long long)len);
    d->norm = (int64_t)b.k;
    d->l2_bound = (uint64_t)(B * B);
}

static uint64_t s_fmul(uint64_t a, uint64_t b) { return (uint64_t)((unsigned __int128)a * b % S_P); }

void mpc_contrib_derive(const mpc_contrib_decl *d, const uint64_t *x, uint64_t *y)
{
    for (uint32_t i = 0; i < d->n_terms; i++) {
        const mpc_contrib_term *t = &d->terms[i];
        uint64_t acc = 0;
        for (uint32_t k = 0; k < t->n; k++) {
            uint64_t p = s_fmul(x[t->a + k], x[t->b + k]);
            if (t->each) *y++ = p;
            else acc = (acc + p) % S_P;
        }
        if (!t->each) *y++ = acc;
    }
}

int mpc_contrib_norm_ok(const mpc_contrib_decl *d, const uint64_t *x)
{
    if (!d->l2_bound) return 1;
    unsigned __int128 s = 0;
    for (uint64_t i = 0; i < d->len; i++) {
        uint64_t a = x[i] > S_HALF ? S_P - x[i] : x[i];   /* |value| (x mod p, exact in range) */
        s += (unsigned __int128)a * a;
        if (s > d->l2_bound) return 0;
    }
    return 1;
}

/* The bound on |entry| of a term for one contribution, ring units (2f fractional bits for fix):
 * n·m² (a norm bound caps a contribution's own squares' sum). */
static unsigned __int128 s_term_bound(const mpc_contrib_decl *d, uint64_t m, const mpc_contrib_term *t)
{
    unsigned __int128 e = (unsigned __int128)m * m * (t->each ? 1 : t->n);
    if (d->l2_bound && t->a == t->b && e > d->l2_bound) e = d->l2_bound;
    return e;
}

static uint64_t s_term_size(const mpc_contrib_term *t) { return t->each ? t->n : 1; }

cg_val cg_contrib_input(cg_comp *C, const mpc_node *n, uint64_t len)
{
    mpc_type t = (mpc_type)n->vtype;
    if (t == MPC_T_BOOL)
        cg_error(C, n, "a contributor input is int or fix (a yes/no answer is an int in 0..1)");
    uint32_t np = C->c->n_parties;
    if (np < 2 || np > MPC_CONTRIB_MAX_PARTIES)
        cg_error(C, n, "a program with contributor inputs has 2 to %d parties, declared before the input (it has %u)",
                 MPC_CONTRIB_MAX_PARTIES, (unsigned)np);
    int unchecked = n->ival == 2;
    if (!unchecked && n->n_kids != 3 && n->n_kids != 4)
        cg_error(C, n, "a contributor input needs its validity range: 'input %s: ... from contributors in LO..HI' "
                 "(or, without any check, '... from contributors unchecked')", n->name);
    if (len + 1 > MPC_CIRC_MAX_VECTOR) cg_error(C, n, "contributor input '%s' is too long", n->name);
    uint64_t full = 0;   /* len + the derived entries + 1, once they are known (below) */
    cg_contrib r;
    memset(&r, 0, sizeof r);
    if ((size_t)snprintf(r.d.input, sizeof r.d.input, "%s%s", n->name, MPC_CONTRIB_SUFFIX) >= sizeof r.d.input)
        cg_error(C, n, "contributor input name '%s' is longer than %d characters", n->name,
                 (int)(MPC_NAME_MAX - sizeof MPC_CONTRIB_SUFFIX));
    snprintf(r.d.name, sizeof r.d.name, "%s", n->name);
    if (unchecked) {   /* any value the field holds; the sums wrap mod p */
        r.d.unchecked = 1;
        r.d.lo = -(int64_t)S_HALF;
        r.d.hi = (int64_t)S_HALF;
    } else {
        cg_input_range(C, n->kids[1], n->kids[2], t, &r.d.lo, &r.d.hi);
    }
    uint64_t m = unchecked ? 1 : s_mag(r.d.lo) > s_mag(r.d.hi) ? s_mag(r.d.lo) : s_mag(r.d.hi);
    if (m == 0) m = 1;
    if (m >= S_HALF)
        cg_error(C, n->kids[1], "the range of contributor input '%s' is too wide for the contribution field "
                 "(|value| < 2^60 in the ring encoding)", n->name);
    if (n->n_kids == 4) s_norm_bound(C, n, t, len, m, &r.d);
    uint64_t mc = (S_HALF - 1) / m;
    for (uint32_t i = 0; i < C->n_contrib_hints; i++)   /* the derived entries the program uses */
        if (strcmp(C->contrib_hints[i].name, n->name) == 0) {
            r.d.n_terms = C->contrib_hints[i].n_terms;
            memcpy(r.d.terms, C->contrib_hints[i].terms, sizeof r.d.terms);
        }
    for (uint32_t i = 0; i < r.d.n_terms; i++) {   /* each entry's sum must decode exactly too */
        uint64_t e = (uint64_t)s_term_bound(&r.d, m, &r.d.terms[i]);   /* < (p−1)/2: checked at the use */
        if ((S_HALF - 1) / e < mc) mc = (S_HALF - 1) / e;
        r.d.n_derived += s_term_size(&r.d.terms[i]);
    }
    if (unchecked && r.d.n_terms)   /* a derived entry is only as good as the proof that checks it */
        cg_error(C, n, "contributor input '%s' is unchecked: a product of its elements needs a validity "
                 "range (its entries are trusted only because the proof checks them)", n->name);
    r.n_terms_decl = r.d.n_terms;
    r.m = m;
    r.d.max_count = mc > MPC_CONTRIB_MAX_COUNT ? MPC_CONTRIB_MAX_COUNT : (uint32_t)mc;
    r.d.type = (uint8_t)t;
    r.d.len = len;
    for (uint32_t i = 0; i < C->n_contrib; i++)
        if (strcmp(C->contrib[i].d.input, r.d.input) == 0)
            cg_error(C, n, "duplicate contributor input '%s'", n->name);
    full = len + r.d.n_derived + 1;
    if (full > MPC_CIRC_MAX_VECTOR) cg_error(C, n, "contributor input '%s' with its derived entries is too long", n->name);
    uint32_t w = mpc_circ_add_input(C->c, r.d.input, 0, MPC_T_INT, full, n->line, n->col);
    if (w == MPC_NO_WIRE) cg_error(C, n, "out of memory");

    /* t < np·p: v = t − p·[t ≥ p] − … − p·[t ≥ (np−1)p] = t − (np−1)p + p·Σ_k [t < kp]
     * (the comparisons are independent: one round of them), then s = v − p·[v ≥ (p+1)/2]. */
    cg_val tv = cg_sec(MPC_T_INT, w, 1, full);
    tv.rg = 1, tv.lo = 0, tv.hi = (double)np * (double)S_P;
    cg_val pp = cg_pub(MPC_T_INT, S_P, 0, 1);
    cg_val v = cg_raw_sub(C, n, MPC_T_INT, tv, cg_pub(MPC_T_INT, (uint64_t)(np - 1) * S_P, 0, 1));
    for (uint32_t k = 1; k < np; k++) {
        cg_val lt = cg_test(C, n, MPC_G_LTZ, cg_raw_sub(C, n, MPC_T_INT, tv, cg_pub(MPC_T_INT, k * S_P, 0, 1)));
        v = cg_raw_add(C, n, MPC_T_INT, v, cg_raw_mul(C, n, MPC_T_INT, cg_bool_to_int(lt), pp));
    }
    v.rg = 1, v.lo = 0, v.hi = (double)S_P;
    cg_val lo_half = cg_test(C, n, MPC_G_LTZ, cg_raw_sub(C, n, MPC_T_INT, v, cg_pub(MPC_T_INT, (S_P + 1) / 2, 0, 1)));
    cg_val s = cg_raw_add(C, n, MPC_T_INT, cg_raw_sub(C, n, MPC_T_INT, v, pp),
                          cg_raw_mul(C, n, MPC_T_INT, cg_bool_to_int(lo_half), pp));
    double cnt = (double)r.d.max_count;
    int is_vec = n->kids[0] != NULL;
    uint32_t ws = cg_gate(C, n, MPC_G_SLICE, t, len, s.wire, MPC_NO_WIRE, MPC_NO_WIRE, 0, 1);
    r.sum = cg_sec(t, ws, is_vec, len);
    r.sum.rg = 1;
    r.sum.lo = cnt * (double)(r.d.lo < 0 ? r.d.lo : 0);
    r.sum.hi = cnt * (double)(r.d.hi > 0 ? r.d.hi : 0);
    if (unchecked) r.sum.lo = -(double)S_HALF, r.sum.hi = (double)S_HALF;   /* the signed field value: wraps */
    r.full = s.wire;
    uint32_t wc = cg_gate(C, n, MPC_G_SLICE, MPC_T_INT, 1, s.wire, MPC_NO_WIRE, MPC_NO_WIRE, full - 1, 1);
    r.count = cg_sec(MPC_T_INT, wc, 0, 1);
    r.count.rg = 1, r.count.lo = 0, r.count.hi = cnt;

    cg_contrib *nc = realloc(C->contrib, (C->n_contrib + 1) * sizeof *nc);
    if (!nc) cg_error(C, n, "out of memory");
    C->contrib = nc;
    C->contrib[C->n_contrib++] = r;
    return r.sum;
}

/* ---- per-contribution expressions: sum(E), mean(E) ----
 *
 * E is an expression in one contribution X of degree at most 2 (docs/contributions.md,
 * "Per-contribution operations").  It is read as a form: a sum of atoms with public scalar
 * coefficients, every atom a vector of the form's length: 1 (a constant), X[a+k] (a slice),
 * X[a+k]·X[b+k] (a product, a <= b) or, for a scalar form, Σ_k X[a+k]·X[b+k] over n (a dot).
 * sum(E) is then the same combination of the atoms' sums: count, a slice of the values' sums,
 * or a derived entry's sum — the linear parts are applied to the aggregate, only products
 * need derived entries. */

enum { A_ONE, A_LIN, A_QUAD, A_DOT };
#define S_MAX_ATOMS 16

typedef struct {
    int      kind;
    uint64_t a, b, n;   /* LIN: a; QUAD: a, b; DOT: a, b, n */
    cg_val   coef;      /* a public scalar */
} s_atom;

typedef struct {
    uint32_t n;
    s_atom   t[S_MAX_ATOMS];
    uint64_t len;
    int      is_vec;
} s_form;

/* The contributor input that a name in n's subtree is, or NULL. */
static cg_contrib *s_find(cg_comp *C, const mpc_node *n)
{
    if (!n) return NULL;
    if (n->kind == MPC_N_NAME) {
        cg_bind *b = cg_lookup(C, n->name);
        if (!b || b->kind != B_CONTRIB) return NULL;
        for (uint32_t i = 0; i < C->n_contrib; i++)
            if (strcmp(C->contrib[i].d.name, b->name) == 0) return &C->contrib[i];
        cg_error(C, n, "internal error: contributor input '%s' without a record", b->name);
    }
    for (uint32_t i = 0; i < n->n_kids; i++) {
        cg_contrib *r = s_find(C, n->kids[i]);
        if (r) return r;
    }
    return NULL;
}

static int s_degree(const s_form *f)
{
    int d = 0;
    for (uint32_t i = 0; i < f->n; i++) {
        int k = f->t[i].kind == A_ONE ? 0 : f->t[i].kind == A_LIN ? 1 : 2;
        if (k > d) d = k;
    }
    return d;
}

static void s_push(cg_comp *C, const mpc_node *n, s_form *f, s_atom a)
{
    if (f->n == S_MAX_ATOMS)
        cg_error(C, n, "this per-contribution expression has more than %d terms; split it into several sum(...)",
                 S_MAX_ATOMS);
    f->t[f->n++] = a;
}

/* Both forms to one length: a scalar of constants only spreads over the other's length. */
static void s_shape2(cg_comp *C, const mpc_node *n, const cg_contrib *r, s_form *x, s_form *y)
{
    if (x->len == y->len && x->is_vec == y->is_vec) return;
    s_form *sc = !x->is_vec && x->len == 1 ? x : !y->is_vec && y->len == 1 ? y : NULL;
    s_form *o = sc == x ? y : x;
    if (x->len == y->len) {
        x->is_vec = y->is_vec = 1;
        return;
    }
    if (!sc)
        cg_error(C, n, "vectors of lengths %llu and %llu in a per-contribution expression of '%s'",
                 (unsigned long long)x->len, (unsigned long long)y->len, r->d.name);
    if (s_degree(sc) > 0)
        cg_error(C, n, "a single element of '%s' combined with a vector of its elements is not supported per "
                 "contribution (only element-wise operations on equal lengths)", r->d.name);
    sc->len = o->len;
    sc->is_vec = o->is_vec;
}

/* A public number (scalar, or a vector of equal elements) as a scalar coefficient. */
static cg_val s_public(cg_comp *C, const mpc_node *n, const cg_contrib *r, int *is_vec, uint64_t *len)
{
    cg_val v = cg_expr(C, n);
    if (v.join) cg_error(C, n, "a joined value cannot meet contributor input '%s'", r->d.name);
    if (!v.pub)
        cg_error(C, n, "a per-contribution expression of '%s' may combine it only with public numbers (this value "
                 "is secret)", r->d.name);
    if (v.type == MPC_T_BOOL) v.type = MPC_T_INT;
    *is_vec = v.is_vec;
    *len = v.len;
    v.is_vec = 0;
    v.len = 1;
    return v;
}

static cg_val s_scale(cg_comp *C, const mpc_node *n, cg_val a, cg_val b) { return cg_mul(C, n, a, b); }

static s_form s_form_of(cg_comp *C, cg_contrib *r, const mpc_node *n);

/* e[i] or e[a..b] of a form: the atoms shift. */
static s_form s_form_index(cg_comp *C, cg_contrib *r, const mpc_node *n)
{
    s_form f = s_form_of(C, r, n->kids[0]);
    if (!f.is_vec) cg_error(C, n, "cannot index a scalar (a per-contribution expression of '%s')", r->d.name);
    int64_t a, b;
    const mpc_node *bn[2] = {n->kids[1], n->kind == MPC_N_SLICE ? n->kids[2] : NULL};
    int64_t bv[2] = {0, (int64_t)f.len};
    for (int i = 0; i < 2; i++) {
        if (!bn[i]) continue;
        cg_val v = cg_expr(C, bn[i]);
        if (!v.pub || v.type != MPC_T_INT || v.is_vec)
            cg_error(C, bn[i], "%s must be a compile-time integer constant", i || n->kind == MPC_N_SLICE ? "a slice bound" : "an index");
        bv[i] = (int64_t)v.k;
    }
    a = bv[0];
    b = n->kind == MPC_N_INDEX ? a + 1 : bv[1];
    if (n->kind == MPC_N_INDEX && (a < 0 || (uint64_t)a >= f.len))
        cg_error(C, n->kids[1], "index %lld out of range for a vector of length %llu", (long long)a,
                 (unsigned long long)f.len);
    if (a < 0 || b < 0 || (uint64_t)b > f.len || a >= b)
        cg_error(C, n, "slice [%lld:%lld] out of range for a vector of length %llu (need 0 <= start < end <= length)",
                 (long long)a, (long long)b, (unsigned long long)f.len);
    for (uint32_t i = 0; i < f.n; i++) {
        f.t[i].a += (uint64_t)a;
        f.t[i].b += (uint64_t)a;
    }
    f.len = (uint64_t)(b - a);
    f.is_vec = n->kind == MPC_N_SLICE;
    return f;
}

/* x * y where both hold X: each of degree at most 1. */
static s_form s_form_mul(cg_comp *C, const mpc_node *n, const cg_contrib *r, s_form x, s_form y, int dot)
{
    if (s_degree(&x) > 1 || s_degree(&y) > 1)
        cg_error(C, n, "a product of more than two elements of '%s' per contribution (degree above 2) is not "
                 "supported", r->d.name);
    if (dot) {
        if (x.len != y.len)
            cg_error(C, n, "dot() of vectors of lengths %llu and %llu", (unsigned long long)x.len,
                     (unsigned long long)y.len);
    } else {
        s_shape2(C, n, r, &x, &y);
    }
    s_form f = {0, {{0}}, dot ? 1 : x.len, dot ? 0 : x.is_vec};
    for (uint32_t i = 0; i < x.n; i++)
        for (uint32_t j = 0; j < y.n; j++) {
            const s_atom *p = &x.t[i], *q = &y.t[j];
            s_atom a = {A_ONE, 0, 0, 0, s_scale(C, n, p->coef, q->coef)};
            if (p->kind == A_LIN && q->kind == A_LIN) {
                a.kind = dot ? A_DOT : A_QUAD;
                a.a = p->a < q->a ? p->a : q->a;
                a.b = p->a < q->a ? q->a : p->a;
                a.n = x.len;
            } else if (p->kind == A_LIN || q->kind == A_LIN) {
                if (dot)
                    cg_error(C, n, "dot() of '%s' with a constant is not supported per contribution; use sum() of "
                             "the slice", r->d.name);
                a.kind = A_LIN;
                a.a = p->kind == A_LIN ? p->a : q->a;
            } else if (dot) {   /* dot of two constants: len times their product */
                a.coef = s_scale(C, n, a.coef, cg_pub(MPC_T_INT, x.len, 0, 1));
            }
            s_push(C, n, &f, a);
        }
    return f;
}

static s_form s_form_bin(cg_comp *C, cg_contrib *r, const mpc_node *n)
{
    int op = n->op;
    if (op != MPC_TK_PLUS && op != MPC_TK_MINUS && op != MPC_TK_STAR && op != MPC_TK_SLASH)
        cg_error(C, n, "a comparison of '%s' per contribution is not supported (only + - * / with public "
                 "numbers, products of two elements, dot(), slices)", r->d.name);
    const mpc_node *l = n->kids[0], *rt = n->kids[1];
    int hl = s_find(C, l) != NULL, hr = s_find(C, rt) != NULL;
    if (op == MPC_TK_SLASH && hr)
        cg_error(C, n, "division by '%s' per contribution is not supported", r->d.name);
    if (op == MPC_TK_STAR && hl && hr) return s_form_mul(C, n, r, s_form_of(C, r, l), s_form_of(C, r, rt), 0);
    if (op == MPC_TK_STAR || op == MPC_TK_SLASH) {   /* the form times or over a public number */
        int cv;
        uint64_t cl;
        s_form f = s_form_of(C, r, hl ? l : rt);
        cg_val c = s_public(C, hl ? rt : l, r, &cv, &cl);
        s_form cf = {0, {{0}}, cl, cv};
        s_shape2(C, n, r, &f, &cf);
        if (op == MPC_TK_SLASH) {
            if (r->d.type == MPC_T_INT && c.type == MPC_T_INT)
                cg_error(C, n, "an int contribution divided by an integer rounds each contribution, which the "
                         "sum cannot do: divide the sum (sum(%s) / k), or declare the input fix", r->d.name);
            for (uint32_t i = 0; i < f.n; i++) f.t[i].coef = cg_div(C, n, cg_to_fix(C, n, f.t[i].coef), c);
        } else {
            for (uint32_t i = 0; i < f.n; i++) f.t[i].coef = s_scale(C, n, f.t[i].coef, c);
        }
        return f;
    }
    s_form x = s_form_of(C, r, l), y = s_form_of(C, r, rt);
    s_shape2(C, n, r, &x, &y);
    for (uint32_t j = 0; j < y.n; j++) {
        s_atom a = y.t[j];
        if (op == MPC_TK_MINUS) a.coef = s_scale(C, n, a.coef, cg_pub(MPC_T_INT, (uint64_t)-1, 0, 1));
        s_push(C, n, &x, a);
    }
    return x;
}

static s_form s_form_of(cg_comp *C, cg_contrib *r, const mpc_node *n)
{
    cg_contrib *o = s_find(C, n);
    if (!o) {   /* a public number: the constant atom */
        s_form f = {1, {{0}}, 1, 0};
        f.t[0].kind = A_ONE;
        f.t[0].coef = s_public(C, n, r, &f.is_vec, &f.len);
        return f;
    }
    if (o != r)
        cg_error(C, n, "a per-contribution expression uses one contributor input: this one mixes '%s' and '%s'",
                 r->d.name, o->d.name);
    switch (n->kind) {
    case MPC_N_NAME: {
        s_form f = {1, {{0}}, r->d.len, r->sum.is_vec};
        f.t[0] = (s_atom){A_LIN, 0, 0, 0, cg_pub(MPC_T_INT, 1, 0, 1)};
        return f;
    }
    case MPC_N_NEG: {
        s_form f = s_form_of(C, r, n->kids[0]);
        for (uint32_t i = 0; i < f.n; i++) f.t[i].coef = s_scale(C, n, f.t[i].coef, cg_pub(MPC_T_INT, (uint64_t)-1, 0, 1));
        return f;
    }
    case MPC_N_BIN:
        return s_form_bin(C, r, n);
    case MPC_N_INDEX:
    case MPC_N_SLICE:
        return s_form_index(C, r, n);
    case MPC_N_CALL:
        if (strcmp(n->name, "dot") == 0 && n->n_kids == 2) {
            s_form x = s_form_of(C, r, n->kids[0]), y = s_form_of(C, r, n->kids[1]);
            if (!x.is_vec || !y.is_vec) cg_error(C, n, "dot() expects vectors");
            return s_form_mul(C, n, r, x, y, 1);
        }
        /* fall through */
    default:
        cg_error(C, n, "this operation on '%s' per contribution is not supported: inside sum(...) and mean(...) a "
                 "contribution takes + - * / with public numbers, products of two of its elements, dot(), slices "
                 "and indexing (degree at most 2)", r->d.name);
    }
}

/* The entry offset (after the D values) of term t of r, registering it when new; -1 when the
 * circuit input of this pass does not hold it yet (mpc_compile_ex compiles again). */
static int64_t s_entry(cg_comp *C, const mpc_node *n, cg_contrib *r, mpc_contrib_term t)
{
    uint64_t off = 0;
    uint32_t i;
    for (i = 0; i < r->d.n_terms; i++) {   /* the same products, or a run of an element-wise term's */
        const mpc_contrib_term *u = &r->d.terms[i];
        if (u->a == t.a && u->b == t.b && u->n == t.n && u->each == t.each) break;
        if (u->each && t.each && u->b - u->a == t.b - t.a && t.a >= u->a && t.a + t.n <= u->a + u->n) {
            off += t.a - u->a;
            break;
        }
        off += s_term_size(u);
    }
    if (i < r->d.n_terms) return i < r->n_terms_decl ? (int64_t)off : -1;
    if (s_term_bound(&r->d, r->m, &t) >= S_HALF)
        cg_error(C, n, "this product of '%s' could wrap the contribution field: %s must stay below 2^60 in the ring "
                 "encoding%s", r->d.name, t.each ? "max(|LO|, |HI|)²" : "n·max(|LO|, |HI|)² (n products summed)",
                 r->d.type == MPC_T_FIX ? " (fix values times 2^frac)" : "");
    if (r->d.n_terms == MPC_CONTRIB_MAX_TERMS)
        cg_error(C, n, "contributor input '%s' needs more than %d kinds of derived entries (products); combine "
                 "them, e.g. one sum(%s * %s) instead of several slices", r->d.name, MPC_CONTRIB_MAX_TERMS,
                 r->d.name, r->d.name);
    r->d.terms[r->d.n_terms++] = t;
    C->contrib_redo = 1;
    return -1;
}

/* The sum over the contributions of one atom, shaped (is_vec, len). */
static cg_val s_atom_sum(cg_comp *C, const mpc_node *n, cg_contrib *r, const s_atom *a, int is_vec, uint64_t len)
{
    if (a->kind == A_ONE) return cg_broadcast(C, n, r->count, is_vec, len);
    if (a->kind == A_LIN) {
        if (a->a == 0 && len == r->d.len) return cg_broadcast(C, n, r->sum, is_vec, len);
        uint32_t w = cg_gate(C, n, MPC_G_SLICE, r->sum.type, len, r->sum.wire, MPC_NO_WIRE, MPC_NO_WIRE, a->a, 1);
        cg_val v = cg_sec(r->sum.type, w, is_vec, len);
        v.rg = r->sum.rg, v.lo = r->sum.lo, v.hi = r->sum.hi;
        return v;
    }
    mpc_contrib_term t = {(uint32_t)a->a, (uint32_t)a->b, (uint32_t)(a->kind == A_DOT ? a->n : len),
                          a->kind == A_QUAD};
    int64_t off = s_entry(C, n, r, t);
    uint64_t k = s_term_size(&t);
    double e = (double)s_term_bound(&r->d, r->m, &t) * (double)r->d.max_count;
    /* the entries' sums, as ints; this pass's input may not hold them yet: a stand-in of the shape */
    uint32_t w = off < 0 ? cg_gate(C, n, MPC_G_SLICE, MPC_T_INT, k, r->full, MPC_NO_WIRE, MPC_NO_WIRE, 0, 1)
                         : cg_gate(C, n, MPC_G_SLICE, MPC_T_INT, k, r->full, MPC_NO_WIRE, MPC_NO_WIRE,
                                   r->d.len + (uint64_t)off, 1);
    cg_val v = cg_sec(MPC_T_INT, w, is_vec && a->kind == A_QUAD, k);
    v.rg = 1, v.lo = t.a == t.b ? 0 : -e, v.hi = e;
    if (r->d.type == MPC_T_FIX) {   /* 2f fractional bits: one exact truncation, on the aggregate */
        v = cg_floor_shift(C, n, MPC_T_INT, v, C->frac);
        v.type = MPC_T_FIX;
    }
    return v;
}

/* sum(E) (mean = 0) or mean(E) of the per-contribution expression E = n->kids[0] of r. */
static cg_val s_contrib_expr(cg_comp *C, const mpc_node *n, cg_contrib *r, int mean)
{
    s_form f = s_form_of(C, r, n->kids[0]);
    cg_val acc = {0};
    int have = 0;
    for (uint32_t i = 0; i < f.n; i++) {
        cg_val v = s_atom_sum(C, n, r, &f.t[i], f.is_vec, f.len), c = f.t[i].coef;
        if (f.t[i].kind == A_ONE) {   /* c·count, exactly (the count is an integer), of E's type */
            if (c.type == MPC_T_FIX && r->d.type != MPC_T_FIX)
                cg_error(C, n, "type mismatch: a fix constant with the int contributor input '%s' (declare it fix)",
                         r->d.name);
            if (r->d.type == MPC_T_FIX) c = cg_to_fix(C, n, c);   /* g - 1 is g - 1.0 */
            v = cg_raw_mul(C, n, (mpc_type)r->d.type, v, cg_pub(MPC_T_INT, c.k, 0, 1));
        } else if (c.type == MPC_T_FIX && v.type == MPC_T_FIX && (c.k & (((uint64_t)1 << C->frac) - 1)))
            /* a fractional coefficient: floor(c·sum), exactly (as mpcc --eval), not TRUNC's ±1 */
            v = cg_floor_shift(C, n, MPC_T_FIX, cg_raw_mul(C, n, MPC_T_FIX, v, cg_pub(MPC_T_INT, c.k, 0, 1)), C->frac);
        else
            v = cg_mul(C, n, c, v);
        acc = have ? cg_add(C, n, acc, v) : v;
        have = 1;
    }
    acc = cg_broadcast(C, n, acc, f.is_vec, f.len);
    if (!mean) return acc;
    cg_val s = acc.type == MPC_T_FIX ? acc : cg_to_fix(C, n, cg_bool_to_int(acc));
    return cg_div(C, n, s, cg_to_fix(C, n, r->count));
}

struct mpc_contrib_decl *cg_contrib_found(cg_comp *C, uint32_t *n)
{
    mpc_contrib_decl *d = calloc(C->n_contrib ? C->n_contrib : 1, sizeof *d);
    if (!d) return NULL;
    for (uint32_t i = 0; i < C->n_contrib; i++) d[i] = C->contrib[i].d;
    *n = C->n_contrib;
    return d;
}

int cg_contrib_call(cg_comp *C, const mpc_node *n, cg_val *out)
{
    if (n->n_kids != 1 || !C->n_contrib) return 0;
    if (n->kids[0]->kind != MPC_N_NAME) {
        cg_contrib *r = s_find(C, n->kids[0]);
        if (!r) return 0;
        int is_sum = strcmp(n->name, "sum") == 0, is_mean = strcmp(n->name, "mean") == 0;
        if (!is_sum && !is_mean)
            cg_error(C, n, "%s() of an expression in contributor input '%s' is not supported: a contribution is used "
                     "only inside count(%s), sum(...) and mean(...)", n->name, r->d.name, r->d.name);
        cg_bind *b = cg_lookup(C, r->d.name);
        if (b) b->used = 1;
        *out = s_contrib_expr(C, n, r, is_mean);
        return 1;
    }
    cg_bind *b = cg_lookup(C, n->kids[0]->name);
    if (!b || b->kind != B_CONTRIB) return 0;
    const cg_contrib *r = NULL;
    for (uint32_t i = 0; i < C->n_contrib && !r; i++)
        if (strcmp(C->contrib[i].d.name, b->name) == 0) r = &C->contrib[i];
    if (!r) cg_error(C, n, "internal error: contributor input '%s' without a record", b->name);
    b->used = 1;
    if (strcmp(n->name, "count") == 0) {
        *out = r->count;
    } else if (strcmp(n->name, "sum") == 0) {
        *out = r->sum;
    } else if (strcmp(n->name, "mean") == 0) {   /* sum / count, as fix; element-wise */
        cg_val sum = r->sum.type == MPC_T_FIX ? r->sum : cg_to_fix(C, n, r->sum);
        *out = cg_div(C, n, sum, cg_to_fix(C, n, r->count));
    } else {
        cg_error(C, n, "'%s' is a contributor input: use count(%s), sum(%s) or mean(%s), not %s(%s)", b->name,
                 b->name, b->name, b->name, n->name, b->name);
    }
    return 1;
}

const mpc_contrib_decl *cg_contrib_named(cg_comp *C, const mpc_node *n, cg_val *sum, cg_val *count)
{
    if (!C->n_contrib || !n || n->kind != MPC_N_NAME) return NULL;
    cg_bind *b = cg_lookup(C, n->name);
    if (!b || b->kind != B_CONTRIB) return NULL;
    for (uint32_t i = 0; i < C->n_contrib; i++)
        if (strcmp(C->contrib[i].d.name, b->name) == 0) {
            b->used = 1;
            *sum = C->contrib[i].sum;
            *count = C->contrib[i].count;
            return &C->contrib[i].d;
        }
    cg_error(C, n, "internal error: contributor input '%s' without a record", b->name);
    return NULL;
}

void cg_contrib_attach(cg_comp *C)
{
    if (!C->n_contrib || !C->c) return;
    C->c->contrib = calloc(C->n_contrib, sizeof *C->c->contrib);
    if (!C->c->contrib) cg_error(C, NULL, "out of memory");
    for (uint32_t i = 0; i < C->n_contrib; i++) C->c->contrib[i] = C->contrib[i].d;
    C->c->n_contrib = C->n_contrib;
}

/* ---- reading contributions ---- */

int mpc_contrib_parse(const mpc_contrib_decl *d, unsigned frac, const char *s, size_t n, uint64_t *out,
                      char *err, size_t errlen)
{
    size_t i = 0;
    uint64_t k = 0;
    for (;;) {
        while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n' || s[i] == ',')) i++;
        if (i == n) break;
        size_t j = i;
        while (j < n && s[j] != ' ' && s[j] != '\t' && s[j] != '\r' && s[j] != '\n' && s[j] != ',') j++;
        if (k == d->len) {
            snprintf(err, errlen, "more than %llu values (contributor input '%s' is %s[%llu])",
                     (unsigned long long)d->len, d->name, mpc_type_names[d->type], (unsigned long long)d->len);
            return -1;
        }
        uint64_t x;
        char e2[160];
        if (mpc_value_parse((mpc_type)d->type, frac, s + i, j - i, &x, e2, sizeof e2) != 0) {
            snprintf(err, errlen, "value %llu is not a %s", (unsigned long long)k + 1, mpc_type_names[d->type]);
            return -1;
        }
        if ((int64_t)x < d->lo || (int64_t)x > d->hi) {
            snprintf(err, errlen, "value %llu is outside the %s of '%s'", (unsigned long long)k + 1,
                     d->unchecked ? "field's signed values (|x| <= (p-1)/2 in the ring encoding)" : "validity range",
                     d->name);
            return -1;
        }
        out[k++] = (int64_t)x < 0 ? S_P - s_mag((int64_t)x) : x;   /* |x| < (p−1)/2: checked at compile time */
        i = j;
    }
    if (k != d->len) {
        snprintf(err, errlen, "%llu values, but contributor input '%s' is %s[%llu]", (unsigned long long)k, d->name,
                 mpc_type_names[d->type], (unsigned long long)d->len);
        return -1;
    }
    return 0;
}

/* Whether a line holds something that is not a number (a header). */
static int s_header_line(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '_') {
            if (n - i >= 4 && (memcmp(s + i, "true", 4) == 0)) return 0;
            if (n - i >= 5 && (memcmp(s + i, "false", 5) == 0)) return 0;
            if (s[i] == 'e' || s[i] == 'E') continue;   /* an exponent */
            return 1;
        }
    return 0;
}

int mpc_contrib_load(const mpc_contrib_decl *d, unsigned frac, const char *path, uint64_t *out,
                     uint64_t *dropped, char *err, size_t errlen)
{
    if (dropped) *dropped = 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    uint64_t *row = calloc(d->len + d->n_derived, sizeof *row);
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    unsigned long lineno = 0;
    uint64_t count = 0;
    int rc = row ? 0 : -1;
    if (!row) snprintf(err, errlen, "out of memory");
    memset(out, 0, (d->len + d->n_derived + 1) * sizeof *out);
    while (rc == 0 && (got = getline(&line, &cap, f)) >= 0) {
        lineno++;
        size_t n = (size_t)got;
        if (lineno == 1 && n >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) memmove(line, line + 3, n -= 3);
        size_t k = 0;
        while (k < n && (line[k] == ' ' || line[k] == '\t' || line[k] == '\r' || line[k] == '\n')) k++;
        if (k == n) continue;
        if (lineno == 1 && s_header_line(line, n)) continue;
        char e2[200];
        if (mpc_contrib_parse(d, frac, line, n, row, e2, sizeof e2) != 0) {
            snprintf(err, errlen, "%s:%lu: error: %s", path, lineno, e2);
            rc = -1;
            break;
        }
        if (!mpc_contrib_norm_ok(d, row)) {   /* over the norm bound: the daemons drop it (invalid) */
            if (dropped) (*dropped)++;
            continue;
        }
        if (++count > d->max_count) {
            snprintf(err, errlen, "%s:%lu: error: more than %u contributions (the most '%s' admits)", path, lineno,
                     (unsigned)d->max_count, d->name);
            rc = -1;
            break;
        }
        mpc_contrib_derive(d, row, row + d->len);
        for (uint64_t j = 0; j < d->len + d->n_derived; j++) {
            uint64_t s = out[j] + row[j];
            out[j] = s >= S_P ? s - S_P : s;
        }
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, errlen, "%s: read error", path);
        rc = -1;
    }
    out[d->len + d->n_derived] = count;
    free(line);
    free(row);
    fclose(f);
    return rc;
}
