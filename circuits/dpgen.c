/* dpgen.c — the differentially private builtins dp_sum, dp_mean, dp_count, dp_histogram
 * (LANGUAGE.md "Differential privacy"; the mechanism and its guarantee in
 * docs/governance.md, "Differential privacy").
 *
 * Each clamps its values inside MPC where their declared range does not already bound them,
 * aggregates, and adds binomial noise from a NOISE gate (m shared random bits per element,
 * minus m/2) sized by mpc_dp_binom_coins for the builtin's sensitivity and the requested
 * (eps, delta).  The noise-free aggregate is never opened: only the noisy value reaches an
 * output.  The value's wire is remembered so that an output of it carries the DP record. */
#include "codegen.h"
#include "contrib.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* A public scalar argument as a double: a literal exactly as written (a decimal literal is
 * read in full, not rounded to the fixed-point grid, so delta = 0.000001 stays exact), else
 * a compile-time constant expression (a param). */
static double s_const_arg(cg_comp *C, const mpc_node *k, const char *fn, const char *what)
{
    if (k->kind == MPC_N_DEC) return strtod(k->text, NULL);
    if (k->kind == MPC_N_INT) return (double)(int64_t)k->ival;
    cg_val v = cg_expr(C, k);
    if (!v.pub || v.is_vec) cg_error(C, k, "%s(): %s must be a compile-time constant scalar", fn, what);
    double x = (double)(int64_t)v.k;
    return v.type == MPC_T_FIX ? ldexp(x, -(int)C->frac) : x;
}

/* eps (argument i) and the optional delta (argument i + 1). */
static void s_eps_delta(cg_comp *C, const mpc_node *n, uint32_t i, const char *fn, double *eps, double *delta)
{
    *eps = s_const_arg(C, n->kids[i], fn, "eps");
    if (!(*eps > 0) || *eps > 100)
        cg_error(C, n->kids[i], "%s(): eps must be in (0, 100], got %g", fn, *eps);
    *delta = MPC_DP_DEFAULT_DELTA;
    if (n->n_kids > i + 1) {
        *delta = s_const_arg(C, n->kids[i + 1], fn, "delta");
        if (!(*delta >= 1e-30) || !(*delta <= 0.01))
            cg_error(C, n->kids[i + 1], "%s(): delta must be in [1e-30, 0.01], got %g", fn, *delta);
    }
}

/* A public bound of x's type, as a ring value. */
static uint64_t s_bound(cg_comp *C, const mpc_node *k, const cg_val *x, const char *fn, const char *what)
{
    cg_val b = cg_expr(C, k);
    if (!b.pub || b.is_vec) cg_error(C, k, "%s(): %s must be a compile-time constant scalar", fn, what);
    if (b.type == MPC_T_FIX && x->type != MPC_T_FIX)
        cg_error(C, k, "%s(): a fix %s for int values: convert the values with fix(...)", fn, what);
    if (b.type != MPC_T_FIX && x->type == MPC_T_FIX) b = cg_to_fix(C, k, b);
    int64_t v = (int64_t)b.k;
    if (v > ((int64_t)1 << 52) || v < -((int64_t)1 << 52))
        cg_error(C, k, "%s(): %s is too large (|bound| < 2^52 in the ring)", fn, what);
    return b.k;
}

/* x clamped to [lo, hi] (ring values of x's type, lo <= hi): two comparisons in one layer,
 * then two selects.  Whatever x is (even near ±2^63, where x - lo wraps), the result is lo,
 * hi or x with lo <= x <= hi: if x is outside [lo, hi], at least one of x - lo and hi - x is
 * negative as a signed ring value.  Skipped when x's tracked range already lies inside. */
static cg_val s_clamp(cg_comp *C, const mpc_node *n, cg_val x, uint64_t lo, uint64_t hi)
{
    double L = (double)(int64_t)lo, H = (double)(int64_t)hi;
    if (x.rg && x.lo >= L && x.hi <= H) return x;
    mpc_type t = x.type;
    cg_val below = cg_test(C, n, MPC_G_LTZ, cg_raw_sub(C, n, t, x, cg_pub(t, lo, 0, 1)));
    cg_val above = cg_test(C, n, MPC_G_LTZ, cg_raw_sub(C, n, t, cg_pub(t, hi, 0, 1), x));
    cg_val r = cg_select(C, n, below, cg_pub(t, lo, 0, 1), x);
    r = cg_select(C, n, above, cg_pub(t, hi, 0, 1), r);
    r.is_vec = x.is_vec;
    r.rg = 1;
    r.lo = L;
    r.hi = H;
    return r;
}

/* Whether wire w certainly holds 0 or 1 in every element whatever the inputs: a comparison,
 * its negation (1 + (-b): `>=`, `!=`, `!`), a product of two such (`&&`), a slice or
 * concatenation of such. */
static int s_exact_bit(const mpc_circuit *c, uint32_t w, int depth)
{
    const mpc_gate *g = &c->gates[w];
    if (depth > 16) return 0;
    switch (g->kind) {
    case MPC_G_LTZ:
    case MPC_G_EQZ:
        return 1;
    case MPC_G_ADD_PUB: {
        const mpc_gate *k = &c->gates[g->in[1]], *x = &c->gates[g->in[0]];
        return k->len == 1 && c->consts[k->aux[0]] == 1 && x->kind == MPC_G_NEG && s_exact_bit(c, x->in[0], depth + 1);
    }
    case MPC_G_MUL:
        return s_exact_bit(c, g->in[0], depth + 1) && s_exact_bit(c, g->in[1], depth + 1);
    case MPC_G_SLICE:
        return s_exact_bit(c, g->in[0], depth + 1);
    case MPC_G_CONCAT:
        return s_exact_bit(c, g->in[0], depth + 1) && s_exact_bit(c, g->in[1], depth + 1);
    default:
        return 0;
    }
}

/* A bool vector whose elements are certainly 0 or 1 (s_exact_bit) as it is; any other bool
 * (an input, or arithmetic on bools) clamped to [0, 1] as an int. */
static cg_val s_bits(cg_comp *C, const mpc_node *n, cg_val b)
{
    cg_val v = cg_bool_to_int(b);
    if (s_exact_bit(C->c, b.wire, 0)) return v;
    v.rg = 0;   /* a bool's range [0, 1] is what its type promises, not what a share holds */
    return s_clamp(C, n, v, 0, 1);
}

/* Adds noise for sensitivity sens to the int wire v (len elements) and records the value. */
static cg_val s_noisy(cg_comp *C, const mpc_node *n, cg_val v, mpc_dp_kind kind, uint64_t sens, double eps,
                      double delta, const char *fn)
{
    uint64_t m = 0;
    if (mpc_dp_binom_coins(sens, eps, delta, MPC_NOISE_MAX_COINS, &m) != 0)
        cg_error(C, n, "%s(): eps = %g, delta = %g at sensitivity %llu needs more than %llu noise bits per "
                 "value (the limit): narrow [lo, hi], raise eps or delta", fn, eps, delta,
                 (unsigned long long)sens, (unsigned long long)MPC_NOISE_MAX_COINS);
    if (v.len > MPC_NOISE_MAX_TOTAL / m) cg_error(C, n, "%s(): too many noisy values", fn);
    if (C->n_dpv == CG_MAX_DP) cg_error(C, n, "more than %d dp_* calls in one program", CG_MAX_DP);
    uint32_t z = cg_gate(C, n, MPC_G_NOISE, MPC_T_INT, v.len, MPC_NO_WIRE, MPC_NO_WIRE, MPC_NO_WIRE, m, sens);
    uint32_t w = cg_gate(C, n, MPC_G_ADD, MPC_T_INT, v.len, v.wire, z, MPC_NO_WIRE, 0, 0);
    cg_val r = cg_sec(MPC_T_INT, w, v.is_vec, v.len);
    double half = (double)m / 2;
    r = cg_ranged(C, n, r, v.rg, v.lo - half, v.hi + half);
    mpc_dp_output *rec = &C->dpv[C->n_dpv].rec;
    C->dpv[C->n_dpv++].wire = w;
    rec->kind = kind;
    rec->mechanism = MPC_DP_BINOMIAL;
    rec->coins = m;
    rec->sens = sens;
    rec->divisor = 1;
    rec->eps = eps;
    rec->delta = delta;
    return r;
}

/* 1 when wire w depends on a contributor input (its INPUT gate is NAME-contrib). */
static int s_from_contrib(cg_comp *C, uint32_t w)
{
    const mpc_circuit *c = C->c;
    uint8_t *seen = calloc(c->n_gates ? c->n_gates : 1, 1);
    uint32_t *st = malloc((c->n_gates ? c->n_gates : 1) * sizeof *st);
    if (!seen || !st) {
        free(seen);
        free(st);
        cg_error(C, NULL, "out of memory");
    }
    uint32_t ns = 0;
    int found = 0;
    st[ns++] = w;
    seen[w] = 1;
    while (ns && !found) {
        const mpc_gate *g = &c->gates[st[--ns]];
        if (g->kind == MPC_G_INPUT) found = mpc_contrib_input_of(c->inputs[g->aux[0]].name);
        for (int k = 0; k < mpc_gate_infos[g->kind].operands; k++)
            if (g->in[k] != MPC_NO_WIRE && !seen[g->in[k]]) {
                seen[g->in[k]] = 1;
                st[ns++] = g->in[k];
            }
    }
    free(seen);
    free(st);
    return found;
}

/* A dp_* argument computed from a collection's aggregate: refused.  dp_*'s neighbouring
 * inputs differ in one element of its argument, but one contributor moves every element of
 * sum(g), so the guarantee would be claimed for the wrong unit; dp_sum(g, ...) and
 * dp_count(g, ...) of the collection itself count per contributor. */
static void s_no_contrib(cg_comp *C, const mpc_node *n, const cg_val *x, const char *fn)
{
    if (C->n_contrib && !x->pub && s_from_contrib(C, x->wire))
        cg_error(C, n, "%s() of a value computed from contributions: its privacy unit would be one element, not "
                 "one contributor; use dp_sum(NAME, lo, hi, eps) or dp_count(NAME, eps) of the collection itself "
                 "(LANGUAGE.md, \"Contributions\")", fn);
}

/* dp_sum(g, lo, hi, eps [, delta]) of a contribution collection g: the element-wise sum over
 * the valid contributions, each element + binomial noise; neighbouring inputs differ in one
 * contribution, which moves each of the D elements by at most max(|lo|, |hi|) (the
 * validity range must lie inside [lo, hi]: the proofs, not a clamp, bound it).  A fix sum is
 * floored to the integer grid after the aggregation (floor(S + x) − floor(S) is at most
 * ceil(|x|), so the sensitivity is ceil(max(|lo|, |hi|)) in units of 1); each element's noise
 * is sized for (eps/D, delta/D), so the vector is (eps, delta)-DP by basic composition
 * (dp.h, MPC_DP_CONTRIB_SUM). */
static cg_val s_contrib_sum(cg_comp *C, const mpc_node *n, const mpc_contrib_decl *d, cg_val x)
{
    const char *fn = "dp_sum";
    if (d->unchecked)
        cg_error(C, n, "dp_sum() of the unchecked collection '%s': nothing bounds one contributor's values",
                 d->name);
    uint64_t lo = s_bound(C, n->kids[1], &x, fn, "lo"), hi = s_bound(C, n->kids[2], &x, fn, "hi");
    if ((int64_t)lo > d->lo || (int64_t)hi < d->hi)
        cg_error(C, n, "dp_sum(%s, lo, hi, ...): [lo, hi] must contain the collection's validity range", d->name);
    double eps, delta;
    s_eps_delta(C, n, 3, fn, &eps, &delta);
    uint64_t mag = (uint64_t)(llabs((int64_t)lo) > llabs((int64_t)hi) ? llabs((int64_t)lo) : llabs((int64_t)hi));
    if (x.type == MPC_T_FIX) {
        uint64_t unit = (uint64_t)1 << C->frac;
        mag = mag / unit + (mag % unit != 0);
        double rlo = x.lo, rhi = x.hi;
        x = cg_floor_shift(C, n, MPC_T_INT, x, C->frac);
        x = cg_ranged(C, n, x, 1, floor(ldexp(rlo, -(int)C->frac)), floor(ldexp(rhi, -(int)C->frac)));
    }
    if (mag == 0) cg_error(C, n, "%s(): lo = hi = 0 leaves nothing to release", fn);
    double per = (double)x.len;
    cg_val r = s_noisy(C, n, x, MPC_DP_CONTRIB_SUM, mag, eps / per, delta / per, fn);
    C->dpv[C->n_dpv - 1].rec.eps = eps;   /* the whole vector's guarantee */
    C->dpv[C->n_dpv - 1].rec.delta = delta;
    return r;
}

/* dp_sum / dp_mean: clamp, floor fix values to integers, sum, add noise. */
static cg_val s_sum(cg_comp *C, const mpc_node *n, mpc_dp_kind kind)
{
    const char *fn = kind == MPC_DP_MEAN ? "dp_mean" : "dp_sum";
    cg_val csum, ccount;
    const mpc_contrib_decl *cd = cg_contrib_named(C, n->kids[0], &csum, &ccount);
    if (cd && kind == MPC_DP_SUM) return s_contrib_sum(C, n, cd, csum);
    if (cd)
        cg_error(C, n, "dp_mean() of the collection '%s' is not supported: its divisor would be the secret count; "
                 "use dp_sum(%s, ...) and dp_count(%s, ...)", cd->name, cd->name, cd->name);
    cg_val x = cg_expr(C, n->kids[0]);
    s_no_contrib(C, n, &x, fn);
    x = cg_need_vec(C, n, x, fn);
    if (x.pub) cg_error(C, n, "%s() of a compile-time constant is not supported", fn);
    uint32_t jn = x.join;   /* a joined column: Σ ind·x (a joined row is one row of B, same sensitivity) */
    if (jn && kind == MPC_DP_MEAN)
        cg_error(C, n, "dp_mean() of a joined column is not supported: its divisor would be the secret number of "
                 "matched rows; use dp_sum() and dp_count() (LANGUAGE.md, \"Joins\")");
    if (x.type == MPC_T_BOOL) x = s_bits(C, n, x);
    uint64_t lo = s_bound(C, n->kids[1], &x, fn, "lo"), hi = s_bound(C, n->kids[2], &x, fn, "hi");
    if ((int64_t)lo > (int64_t)hi) cg_error(C, n->kids[2], "%s(): lo must not exceed hi", fn);
    double eps, delta;
    s_eps_delta(C, n, 3, fn, &eps, &delta);
    x = s_clamp(C, n, x, lo, hi);
    int64_t ilo = (int64_t)lo, ihi = (int64_t)hi;
    if (x.type == MPC_T_FIX) {   /* to the integer grid: exact floor, inside [floor lo, floor hi] */
        ilo = (int64_t)floor(ldexp((double)ilo, -(int)C->frac));
        ihi = (int64_t)floor(ldexp((double)ihi, -(int)C->frac));
        x = cg_floor_shift(C, n, MPC_T_INT, x, C->frac);
        x.rg = 1;
        x.lo = (double)ilo;
        x.hi = (double)ihi;
    }
    uint64_t sens = (uint64_t)(llabs(ilo) > llabs(ihi) ? llabs(ilo) : llabs(ihi));
    if (sens == 0) cg_error(C, n, "%s(): lo = hi = 0 leaves nothing to release", fn);
    if (jn) {   /* unmatched rows count 0 */
        double mlo = fmin(x.lo, 0), mhi = fmax(x.hi, 0);
        x.join = 0;
        x = cg_raw_mul(C, n, MPC_T_INT, cg_join_ind(C, jn), x);
        x = cg_ranged(C, n, x, 1, mlo, mhi);
    }
    cg_val s = cg_sec(MPC_T_INT, cg_gate(C, n, MPC_G_SUM, MPC_T_INT, 1, x.wire, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0), 0, 1);
    s = cg_ranged(C, n, s, 1, x.lo * (double)x.len, x.hi * (double)x.len);
    cg_val r = s_noisy(C, n, s, kind, sens, eps, delta, fn);
    if (kind == MPC_DP_SUM) return r;
    /* the mean: the noisy sum over the public length (post-processing) */
    C->dpv[C->n_dpv - 1].rec.divisor = x.len;
    cg_val q = cg_div(C, n, cg_to_fix(C, n, r), cg_pub(MPC_T_INT, x.len, 0, 1));
    C->dpv[C->n_dpv - 1].wire = q.wire;
    return q;
}

cg_val cg_dp(cg_comp *C, const mpc_node *n, mpc_dp_kind kind)
{
    double eps, delta;
    if (kind == MPC_DP_SUM || kind == MPC_DP_MEAN) return s_sum(C, n, kind);
    if (kind == MPC_DP_COUNT) {
        cg_val csum, ccount;
        const mpc_contrib_decl *cd = cg_contrib_named(C, n->kids[0], &csum, &ccount);
        if (cd) {   /* the valid contributions: one contributor moves the count by 1 */
            s_eps_delta(C, n, 1, "dp_count", &eps, &delta);
            return s_noisy(C, n, ccount, kind, 1, eps, delta, "dp_count");
        }
        cg_val b0 = cg_expr(C, n->kids[0]);
        s_no_contrib(C, n, &b0, "dp_count");
        cg_val b = cg_need_vec(C, n, b0, "dp_count");
        if (b.type != MPC_T_BOOL) {
            char t[48];
            cg_error(C, n, "dp_count() expects a bool vector (e.g. dp_count(v > t, 1.0)), got %s",
                     cg_tname(&b, t, sizeof t));
        }
        if (b.pub) cg_error(C, n, "dp_count() of a compile-time constant is not supported");
        s_eps_delta(C, n, 1, "dp_count", &eps, &delta);
        cg_val v = s_bits(C, n, b);
        if (b.join) {   /* matched rows only (sensitivity 1: a joined row is one row of B) */
            v.join = 0;
            v = cg_ranged(C, n, cg_raw_mul(C, n, MPC_T_INT, cg_join_ind(C, b.join), v), 1, 0, 1);
        }
        cg_val s = cg_sec(MPC_T_INT, cg_gate(C, n, MPC_G_SUM, MPC_T_INT, 1, v.wire, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0), 0, 1);
        s = cg_ranged(C, n, s, 1, 0, (double)v.len);
        return s_noisy(C, n, s, kind, 1, eps, delta, "dp_count");
    }
    /* dp_histogram(v, [edges], eps [, delta]): exact counts (each value in at most one bin),
     * then noise of sensitivity 1 on every bin. */
    s_eps_delta(C, n, 2, "dp_histogram", &eps, &delta);
    cg_val h = cg_histogram(C, n);
    s_no_contrib(C, n, &h, "dp_histogram");
    return s_noisy(C, n, h, kind, 1, eps, delta, "dp_histogram");
}
