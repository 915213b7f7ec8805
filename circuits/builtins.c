/* builtins.c — the builtin functions of the language, as one table (codegen.h, cg_builtins).
 *
 * A call `name(args)` is looked up here before user functions.  The dispatcher checks the
 * argument count, evaluates the arguments left to right applying the row's argument rule to
 * each one as soon as it is evaluated (so the first error reported is the same whatever the
 * rule), and hands the values to the row's emitter.  A new builtin is one row below plus one
 * emitter; `fn NAME` of any name in the table is refused, and LANGUAGE.md documents each row
 * (tests/check_compile.c checks that every name appears there). */
#include "codegen.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Elements per segment of a fix dot product (see b_dot and LANGUAGE.md "Vectors"). */
#define MPC_DOT_SEGMENT 256u

/* ---- vectors and reductions ---- */

static cg_val b_sum(cg_comp *C, const mpc_node *n, const cg_val *args)
{
    cg_val v = cg_bool_to_int(args[0]);
    if (v.pub) return cg_pub(v.type, v.k * v.len, 0, 1);
    return cg_ranged(C, n, cg_sec(v.type, cg_gate(C, n, MPC_G_SUM, v.type, 1, v.wire, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0), 0, 1),
                     v.rg, v.lo * (double)v.len, v.hi * (double)v.len);
}

static cg_val b_dot(cg_comp *C, const mpc_node *n, const cg_val *args)
{
    cg_val a = args[0], b = args[1];
    if (a.len != b.len)
        cg_error(C, n, "vector length mismatch in dot(): %llu and %llu", (unsigned long long)a.len,
                 (unsigned long long)b.len);
    int fixfix;
    mpc_type t = cg_mul_type(C, n, &a, &b, &fixfix, "dot()");
    if (t == MPC_T_BOOL) t = MPC_T_INT;
    if (a.pub && b.pub) {
        cg_val p = cg_pub(t, a.k * b.k * a.len, 0, 1);
        return fixfix ? cg_raw_trunc(C, n, t, p, C->frac) : p;
    }
    if (a.pub || b.pub) {   /* dot(x, k) = k * sum(x) */
        cg_val x = a.pub ? b : a, k = a.pub ? a : b;
        mpc_type st = x.type == MPC_T_BOOL ? MPC_T_INT : x.type;
        cg_val sx = cg_sec(st, cg_gate(C, n, MPC_G_SUM, st, 1, x.wire, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0), 0, 1);
        k.is_vec = 0;
        k.len = 1;
        return cg_mul(C, n, sx, k);
    }
    if (fixfix) cg_unranged_warn(C, n, &a, &b, 1);
    double plo = 0, phi = 0;
    if (a.rg && b.rg) cg_prod_range(&a, &b, &plo, &phi);
    if (!fixfix) {
        cg_val d = cg_sec(t, cg_gate(C, n, MPC_G_DOT, t, 1, a.wire, b.wire, MPC_NO_WIRE, 0, 0), 0, 1);
        return cg_ranged(C, n, d, a.rg && b.rg, plo * (double)a.len, phi * (double)a.len);
    }
    /* fix: the products carry 2f fractional bits, so their sum is truncated in segments of
     * MPC_DOT_SEGMENT elements, then added: a long dot (10^6 lab values) stays inside the
     * ring's headroom (each segment's sum below 2^62, i.e. |x·y| < 2^(62-2f)/segment)
     * where one sum of every product would wrap.  Same gates whatever the length. */
    uint64_t segs = a.len / MPC_DOT_SEGMENT + (a.len % MPC_DOT_SEGMENT != 0);
    cg_val d = cg_sec(t, cg_gate(C, n, MPC_G_DOT, t, segs, a.wire, b.wire, MPC_NO_WIRE, MPC_DOT_SEGMENT, 0), 1, segs);
    double per = (double)(a.len < MPC_DOT_SEGMENT ? a.len : MPC_DOT_SEGMENT);
    d = cg_ranged(C, n, d, a.rg && b.rg, plo * per, phi * per);
    cg_val tr = cg_raw_trunc(C, n, t, d, C->frac);
    cg_val sum = cg_sec(t, cg_gate(C, n, MPC_G_SUM, t, 1, tr.wire, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0), 0, 1);
    return cg_ranged(C, n, sum, tr.rg, tr.lo * (double)segs, tr.hi * (double)segs);
}

static cg_val b_len(cg_comp *C, const mpc_node *n, const cg_val *args)
{
    (void)C, (void)n;
    return cg_pub(MPC_T_INT, args[0].len, 0, 1);
}

static cg_val b_count(cg_comp *C, const mpc_node *n, const cg_val *args)
{
    cg_val v = args[0];
    if (v.type != MPC_T_BOOL) {
        char t[48];
        cg_error(C, n, "count() expects a bool vector (e.g. count(v > t)), got %s", cg_tname(&v, t, sizeof t));
    }
    if (v.pub) return cg_pub(MPC_T_INT, v.k * v.len, 0, 1);
    return cg_ranged(C, n, cg_sec(MPC_T_INT, cg_gate(C, n, MPC_G_SUM, MPC_T_INT, 1, v.wire, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0), 0, 1),
                     1, 0, (double)v.len);
}

/* concat(a, b, ...): evaluates its own arguments (each is checked before the next one). */
static cg_val b_concat(cg_comp *C, const mpc_node *n, const cg_val *args)
{
    (void)args;
    cg_val acc = {0};
    for (uint32_t i = 0; i < n->n_kids; i++) {
        cg_val v = cg_expr(C, n->kids[i]);
        if (v.pub) cg_error(C, n->kids[i], "concat() of a public value is not supported; its operands must be secret");
        if (v.join)
            cg_error(C, n->kids[i], "concat() of a joined column is not supported: its rows include unmatched rows "
                     "in an order only the join knows");
        if (i == 0) {
            acc = v;
            continue;
        }
        mpc_type t;
        if (acc.type == v.type) t = v.type;
        else if (acc.type != MPC_T_FIX && v.type != MPC_T_FIX) t = MPC_T_INT;
        else {
            char ta[48], tb[48];
            cg_error(C, n->kids[i], "type mismatch in concat(): %s and %s", cg_tname(&acc, ta, sizeof ta),
                     cg_tname(&v, tb, sizeof tb));
        }
        uint64_t len = acc.len + v.len;
        if (len > MPC_CIRC_MAX_VECTOR) cg_error(C, n, "concat() result is longer than %llu", (unsigned long long)MPC_CIRC_MAX_VECTOR);
        acc = cg_ranged(C, n, cg_sec(t, cg_gate(C, n, MPC_G_CONCAT, t, len, acc.wire, v.wire, MPC_NO_WIRE, 0, 0), 1, len),
                        acc.rg && v.rg, fmin(acc.lo, v.lo), fmax(acc.hi, v.hi));
    }
    return acc;
}

static cg_val b_histogram(cg_comp *C, const mpc_node *n, const cg_val *args)
{
    (void)args;
    return cg_histogram(C, n);
}

/* ---- differential privacy (dpgen.c) ---- */

static cg_val b_dp_sum(cg_comp *C, const mpc_node *n, const cg_val *args) { (void)args; return cg_dp(C, n, MPC_DP_SUM); }
static cg_val b_dp_mean(cg_comp *C, const mpc_node *n, const cg_val *args) { (void)args; return cg_dp(C, n, MPC_DP_MEAN); }
static cg_val b_dp_count(cg_comp *C, const mpc_node *n, const cg_val *args) { (void)args; return cg_dp(C, n, MPC_DP_COUNT); }
static cg_val b_dp_histogram(cg_comp *C, const mpc_node *n, const cg_val *args)
{
    (void)args;
    return cg_dp(C, n, MPC_DP_HISTOGRAM);
}

/* ---- choice ---- */

static cg_val s_minmax(cg_comp *C, const mpc_node *n, const cg_val *args, int want_min)
{
    cg_val a = args[0], b = args[1];
    mpc_type t = cg_unify(C, n, &a, &b, want_min ? "min()" : "max()");
    a.type = b.type = t;
    cg_unranged_warn(C, n, &a, &b, 0);
    cg_val l = cg_test(C, n, MPC_G_LTZ, cg_raw_sub(C, n, t, a, b));   /* a < b */
    return want_min ? cg_select(C, n, l, a, b) : cg_select(C, n, l, b, a);
}

static cg_val b_min(cg_comp *C, const mpc_node *n, const cg_val *args) { return s_minmax(C, n, args, 1); }
static cg_val b_max(cg_comp *C, const mpc_node *n, const cg_val *args) { return s_minmax(C, n, args, 0); }

static cg_val b_abs(cg_comp *C, const mpc_node *n, const cg_val *args)
{
    cg_val x = cg_bool_to_int(args[0]);
    if (x.pub) return cg_pub(x.type, cg_abs64(x.k), x.is_vec, x.len);
    cg_val l = cg_test(C, n, MPC_G_LTZ, x);
    return cg_select(C, n, l, cg_raw_neg(C, n, x.type, x), x);
}

/* 1 - 2·LTZ(x) - EQZ(x): both in one layer, exact for every x. */
static cg_val b_sign(cg_comp *C, const mpc_node *n, const cg_val *args)
{
    cg_val x = cg_bool_to_int(args[0]);
    if (x.pub) return cg_pub(MPC_T_INT, x.k == 0 ? 0 : cg_neg64(x.k) ? UINT64_MAX : 1, x.is_vec, x.len);
    cg_val l = cg_test(C, n, MPC_G_LTZ, x), z = cg_test(C, n, MPC_G_EQZ, x);
    l.type = z.type = MPC_T_INT;
    cg_val r = cg_raw_add(C, n, MPC_T_INT, cg_raw_mul(C, n, MPC_T_INT, l, cg_pub(MPC_T_INT, 0 - (uint64_t)2, 0, 1)),
                          cg_raw_neg(C, n, MPC_T_INT, z));
    return cg_raw_add(C, n, MPC_T_INT, r, cg_pub(MPC_T_INT, 1, 0, 1));
}

static cg_val b_relu(cg_comp *C, const mpc_node *n, const cg_val *args)
{
    cg_val x = cg_bool_to_int(args[0]);
    if (x.pub) return cg_pub(x.type, cg_neg64(x.k) ? 0 : x.k, x.is_vec, x.len);
    return cg_select(C, n, cg_test(C, n, MPC_G_LTZ, x), cg_pub(x.type, 0, 0, 1), x);
}

/* ---- numerics and statistics (numeric.c) ---- */

static cg_val b_sqrt(cg_comp *C, const mpc_node *n, const cg_val *args) { return cg_root(C, n, args[0], 1); }
static cg_val b_rsqrt(cg_comp *C, const mpc_node *n, const cg_val *args) { return cg_root(C, n, args[0], 0); }
static cg_val b_exp(cg_comp *C, const mpc_node *n, const cg_val *args) { return cg_exp(C, n, args[0]); }
static cg_val b_log(cg_comp *C, const mpc_node *n, const cg_val *args) { return cg_log(C, n, args[0]); }
static cg_val b_sigmoid(cg_comp *C, const mpc_node *n, const cg_val *args) { return cg_sigmoid(C, n, args[0]); }
static cg_val b_mean(cg_comp *C, const mpc_node *n, const cg_val *args) { return cg_mean(C, n, args[0]); }
static cg_val b_var(cg_comp *C, const mpc_node *n, const cg_val *args) { return cg_var(C, n, args[0]); }
static cg_val b_std(cg_comp *C, const mpc_node *n, const cg_val *args) { return cg_root(C, n, cg_var(C, n, args[0]), 1); }

static cg_val s_covcorr(cg_comp *C, const mpc_node *n, const cg_val *args, int want_corr)
{
    cg_val u = args[0], v = args[1];
    if (u.len != v.len)
        cg_error(C, n, "vector length mismatch in %s(): %llu and %llu", n->name, (unsigned long long)u.len,
                 (unsigned long long)v.len);
    cg_val cov = cg_comoment(C, n, u, v);
    if (!want_corr) return cov;
    /* corr = cov / (std_u · std_v); both standard deviations in one sqrt of a 2-vector. */
    cg_val vars = cg_sec(MPC_T_FIX,
                         cg_gate(C, n, MPC_G_CONCAT, MPC_T_FIX, 2, cg_var(C, n, u).wire, cg_var(C, n, v).wire,
                                 MPC_NO_WIRE, 0, 0), 1, 2);
    cg_val sd = cg_root(C, n, vars, 1);
    cg_val s0 = cg_block(C, n, sd.wire, 0, 1, 0), s1 = cg_block(C, n, sd.wire, 1, 1, 0);
    s0.type = s1.type = MPC_T_FIX;
    /* std_u·std_v, as cg_mul would emit it; the roots have no tracked range, but they are at
     * most the square roots of variances the caller's ranges already bound: no warning. */
    cg_val prod = cg_raw_trunc(C, n, MPC_T_FIX, cg_raw_mul(C, n, MPC_T_FIX, s0, s1), C->frac);
    return cg_secret_div(C, n, cov, prod);
}

static cg_val b_cov(cg_comp *C, const mpc_node *n, const cg_val *args) { return s_covcorr(C, n, args, 0); }
static cg_val b_corr(cg_comp *C, const mpc_node *n, const cg_val *args) { return s_covcorr(C, n, args, 1); }

/* ---- conversions ---- */

static cg_val b_fix(cg_comp *C, const mpc_node *n, const cg_val *args) { return cg_to_fix(C, n, args[0]); }

static cg_val b_int(cg_comp *C, const mpc_node *n, const cg_val *args)
{
    cg_val v = args[0];
    if (v.type == MPC_T_FIX) return cg_floor_shift(C, n, MPC_T_INT, v, C->frac);
    return cg_bool_to_int(v);
}

static cg_val b_bool(cg_comp *C, const mpc_node *n, const cg_val *args)
{
    (void)args;
    cg_error(C, n, "bool() is not a conversion; compare instead (e.g. x != 0)");
}

/* The table.  cost: what one call spends (n = vector length); LANGUAGE.md has the details. */
#define ANY    CG_ARG_ANY
#define VEC    CG_ARG_VEC
#define NUM    CG_ARG_NUM
#define NUMVEC CG_ARG_NUMVEC
#define RAW    CG_ARG_RAW
const cg_builtin cg_builtins[] = {
    {"sum",       1,  1, VEC,    "local (SUM)",                                    b_sum},
    {"dot",       2,  2, VEC,    "1 round, n triples (fix: + 1 TRUNC per 256)",   b_dot},
    {"len",       1,  1, VEC,    "compile time",                                   b_len},
    {"min",       2,  2, ANY,    "9 rounds: 1 comparison, 1 triple",               b_min},
    {"max",       2,  2, ANY,    "9 rounds: 1 comparison, 1 triple",               b_max},
    {"abs",       1,  1, ANY,    "9 rounds: 1 comparison, 1 triple",               b_abs},
    {"concat",    2, -1, RAW,    "local (CONCAT)",                                 b_concat},
    {"sign",      1,  1, ANY,    "8 rounds: 2 comparisons",                        b_sign},
    {"relu",      1,  1, ANY,    "9 rounds: 1 comparison, 1 triple",               b_relu},
    {"count",     1,  1, VEC,    "local (SUM)",                                    b_count},
    {"histogram", 2,  2, RAW,    "8 rounds: (k+1)·n comparisons",                  b_histogram},
    {"sqrt",      1,  1, NUM,    "26 rounds, 11 triples, 53 comparisons",          b_sqrt},
    {"rsqrt",     1,  1, NUM,    "26 rounds, 11 triples, 56 comparisons",          b_rsqrt},
    {"exp",       1,  1, NUM,    "19 rounds, 7 triples, 41 comparisons",           b_exp},
    {"log",       1,  1, NUM,    "17 rounds, 8 triples, 56 comparisons",           b_log},
    {"sigmoid",   1,  1, NUM,    "29 rounds, 15 triples, 49 comparisons",          b_sigmoid},
    {"mean",      1,  1, NUMVEC, "2 rounds (public division)",                     b_mean},
    {"var",       1,  1, NUMVEC, "6 rounds, n triples",                            b_var},
    {"std",       1,  1, NUMVEC, "32 rounds, n + 11 triples, 53 comparisons",      b_std},
    {"cov",       2,  2, NUMVEC, "6 rounds, n triples",                            b_cov},
    {"corr",      2,  2, NUMVEC, "54 rounds, 3n + 32 triples, 190 comparisons",    b_corr},
    {"fix",       1,  1, ANY,    "local (MUL_PUB by 2^f)",                         b_fix},
    {"int",       1,  1, ANY,    "fix: 9 rounds, 1 TRUNC and 1 comparison",        b_int},
    {"bool",      0, -1, RAW,    "(an error: compare instead)",                    b_bool},
    {"dp_sum",    4,  5, RAW,    "10 rounds: 2n comparisons, 2n triples; m daBits", b_dp_sum},
    {"dp_mean",   4,  5, RAW,    "12 rounds: dp_sum and a public division",         b_dp_mean},
    {"dp_count",  2,  3, RAW,    "local (bool from a comparison); m daBits",        b_dp_count},
    {"dp_histogram", 3, 4, RAW,  "8 rounds: (k+1)·n comparisons; k·m daBits",       b_dp_histogram},
};
#undef ANY
#undef VEC
#undef NUM
#undef NUMVEC
#undef RAW
const size_t cg_n_builtins = sizeof cg_builtins / sizeof cg_builtins[0];

const cg_builtin *cg_find_builtin(const char *name)
{
    for (size_t i = 0; i < cg_n_builtins; i++)
        if (strcmp(cg_builtins[i].name, name) == 0) return &cg_builtins[i];
    return NULL;
}

/* Evaluates argument i of n under rule r. */
static cg_val s_arg(cg_comp *C, const mpc_node *n, uint32_t i, cg_argrule r)
{
    cg_val v = cg_expr(C, n->kids[i]);
    uint32_t jn = v.join;   /* a joined argument stays joined through the conversions */
    if (r == CG_ARG_VEC || r == CG_ARG_NUMVEC) v = cg_need_vec(C, n, v, n->name);
    if (r == CG_ARG_NUM || r == CG_ARG_NUMVEC) v = cg_num_arg(C, n, v, n->name);
    v.join = jn;
    return v;
}

cg_val cg_call(cg_comp *C, const mpc_node *n)
{
    cg_val cv;
    if (cg_contrib_call(C, n, &cv)) return cv;
    if (cg_join_call(C, n, 1, NULL, &cv)) return cv;   /* count(j), join(...), histogram (joinc.c) */
    const cg_builtin *b = cg_find_builtin(n->name);
    if (!b) {
        cg_fn *f = cg_find_fn(C, n->name);
        if (!f) {
            cg_bind *bd = cg_lookup(C, n->name);
            if (bd) cg_error(C, n, "'%s' is %s, not a function", n->name, cg_bkind_names[bd->kind]);
            cg_error(C, n, "undefined function '%s'", n->name);
        }
        return cg_call_fn(C, n, f);
    }
    if (b->max_args < 0) {
        if (n->n_kids < (uint32_t)b->min_args)
            cg_error(C, n, "%s() takes at least %d arguments, got %u", b->name, b->min_args, (unsigned)n->n_kids);
    } else if (b->min_args != b->max_args) {   /* optional trailing arguments */
        if (n->n_kids < (uint32_t)b->min_args || n->n_kids > (uint32_t)b->max_args)
            cg_error(C, n, "%s() takes %d to %d arguments, got %u", b->name, b->min_args, b->max_args,
                     (unsigned)n->n_kids);
    } else {
        cg_arity(C, n, (uint32_t)b->min_args);
    }
    cg_val args[CG_BUILTIN_MAX_ARGS];
    memset(args, 0, sizeof args);
    if (b->rule != CG_ARG_RAW)
        for (uint32_t i = 0; i < n->n_kids; i++) args[i] = s_arg(C, n, i, b->rule);
    if (b->rule != CG_ARG_RAW && cg_join_call(C, n, 0, args, &cv)) return cv;   /* joined arguments */
    return b->emit(C, n, args);
}
