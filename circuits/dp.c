/* dp.c — the binomial mechanism's exact accounting and the circuit's DP records (dp.h). */
#include "dp.h"
#include "diag.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* log P[B = k], B ~ Binomial(m, 1/2), 0 <= k <= m. */
static double s_logp(uint64_t m, uint64_t k)
{
    return lgamma((double)m + 1) - lgamma((double)k + 1) - lgamma((double)(m - k) + 1) - (double)m * 0.69314718055994530942;
}

/* log P[B = j] - log P[B = j - s] for s <= j <= m: decreasing in j (log-concavity). */
static double s_logratio(uint64_t m, uint64_t s, uint64_t j)
{
    return lgamma((double)(j - s) + 1) + lgamma((double)(m - j + s) + 1) - lgamma((double)j + 1) -
           lgamma((double)(m - j) + 1);
}

double mpc_dp_binom_delta(uint64_t m, uint64_t s, double eps)
{
    if (s == 0) return 0;
    if (s > m) return 1;   /* supports (nearly) disjoint: P[B < s] alone is large */
    /* Terms P(j) - e^eps P(j - s) are positive exactly for j <= jstar: every j < s, and
     * j >= s while the log ratio exceeds eps.  Find the last such j by bisection. */
    uint64_t lo = s, hi = m;   /* invariant: ratio(lo - 1) > eps (or lo = s), answer in [s-1, hi] */
    if (s_logratio(m, s, s) <= eps) {
        hi = s - 1;
    } else {
        while (lo < hi) {      /* largest j in [s, m] with ratio(j) > eps */
            uint64_t mid = lo + (hi - lo + 1) / 2;
            if (s_logratio(m, s, mid) > eps) lo = mid;
            else hi = mid - 1;
        }
    }
    uint64_t jstar = hi;
    /* Sum from jstar down, starting no higher than m/2 + 40 sqrt(m) (above it P[B = j] <
     * e^-3200: 0 in doubles, and each term is below it); the terms shrink geometrically in
     * the lower tail, where the loop stops once they no longer count. */
    double top = (double)m / 2 + 40 * sqrt((double)m) + 1;
    if ((double)jstar > top) jstar = (uint64_t)top;
    double sum = 0, ee = exp(eps);
    for (uint64_t j = jstar + 1; j-- > 0;) {
        double pj = exp(s_logp(m, j));
        double t = j >= s ? pj - ee * exp(s_logp(m, j - s)) : pj;
        if (t > 0) sum += t;
        if (j < m / 2 && (pj < 1e-300 || (sum > 0 && pj < sum * 1e-18))) break;
    }
    return sum > 1 ? 1 : sum;
}

static int s_ok(uint64_t m, uint64_t s, double eps, double delta)
{
    return mpc_dp_binom_delta(m, s, eps) * (1 + MPC_DP_SLACK) <= delta;
}

int mpc_dp_binom_coins(uint64_t s, double eps, double delta, uint64_t max_m, uint64_t *m)
{
    *m = 0;
    if (!(eps > 0) || !(delta > 0) || s == 0) return -1;
    uint64_t hi = 2;
    while (!s_ok(hi, s, eps, delta)) {
        if (hi > max_m) {   /* more than max_m would be needed */
            *m = hi;
            return -1;
        }
        hi *= 2;
    }
    if (hi > max_m && s_ok(max_m & ~(uint64_t)1, s, eps, delta)) hi = max_m & ~(uint64_t)1;
    else if (hi > max_m) {
        *m = hi;
        return -1;
    }
    uint64_t lo = hi / 2;   /* lo fails (or is 1), hi passes; both even except lo = 1 */
    while (hi - lo > 2) {
        uint64_t mid = (lo + (hi - lo) / 2) & ~(uint64_t)1;
        if (mid <= lo) break;
        if (s_ok(mid, s, eps, delta)) hi = mid;
        else lo = mid;
    }
    *m = hi;
    return 0;
}

double mpc_dp_binom_eps(uint64_t m, uint64_t s, double delta)
{
    if (s > m || !(delta > 0)) return INFINITY;
    double lo = 0, hi = 1;
    while (!s_ok(m, s, hi, delta)) {
        if (hi > 1e4) return INFINITY;
        hi *= 2;
    }
    if (s_ok(m, s, 0, delta)) return 0;
    while (hi - lo > hi * 1e-9) {
        double mid = (lo + hi) / 2;
        if (s_ok(m, s, mid, delta)) hi = mid;
        else lo = mid;
    }
    return hi;
}

const char *mpc_dp_kind_name(uint32_t kind)
{
    switch (kind) {
    case MPC_DP_SUM: return "dp_sum";
    case MPC_DP_MEAN: return "dp_mean";
    case MPC_DP_COUNT: return "dp_count";
    case MPC_DP_HISTOGRAM: return "dp_histogram";
    case MPC_DP_CONTRIB_SUM: return "dp_sum of contributions";
    }
    return "?";
}

const mpc_dp_output *mpc_circ_output_dp(const mpc_circuit *c, uint32_t o)
{
    for (uint32_t i = 0; i < c->n_dp; i++)
        if (c->dp[i].output == o) return &c->dp[i];
    return NULL;
}

int mpc_circ_add_dp(mpc_circuit *c, const mpc_dp_output *rec)
{
    if (c->n_dp == c->cap_dp) {
        uint32_t nc = c->cap_dp ? 2 * c->cap_dp : 4;
        mpc_dp_output *nd = realloc(c->dp, (size_t)nc * sizeof *nd);
        if (!nd) return -1;
        c->dp = nd;
        c->cap_dp = nc;
    }
    c->dp[c->n_dp++] = *rec;
    return 0;
}

int mpc_circ_copy_dp(mpc_circuit *dst, const mpc_circuit *src)
{
    for (uint32_t i = 0; i < src->n_dp; i++)
        if (mpc_circ_add_dp(dst, &src->dp[i])) return -1;
    return 0;
}

/* A NOISE gate with (coins, sens) among the operands of wire w, at most S_DP_REACH gates
 * back (the compiler adds the noise within a few local gates of the output). */
#define S_DP_REACH 64
static int s_has_noise(const mpc_circuit *c, uint32_t w, uint64_t coins, uint64_t sens)
{
    uint32_t q[S_DP_REACH];
    uint32_t nq = 0, head = 0;
    q[nq++] = w;
    while (head < nq) {
        const mpc_gate *g = &c->gates[q[head++]];
        if (g->kind == MPC_G_NOISE && g->aux[0] == coins && g->aux[1] == sens) return 1;
        for (int k = 0; k < mpc_gate_infos[g->kind].operands && nq < S_DP_REACH; k++)
            if (c->gates[g->in[k]].kind != MPC_G_CONST) q[nq++] = g->in[k];
    }
    return 0;
}

int mpc_circ_validate_dp(const mpc_circuit *c, char *err, size_t errlen)
{
    for (uint32_t i = 0; i < c->n_dp; i++) {
        const mpc_dp_output *d = &c->dp[i];
        if (d->output >= c->n_outputs || (i && d->output <= c->dp[i - 1].output))
            return mpc_errf(err, errlen, "DP record %u: output %u out of order", (unsigned)i, (unsigned)d->output);
        if (d->mechanism != MPC_DP_BINOMIAL || d->reserved || d->kind < MPC_DP_SUM || d->kind > MPC_DP_CONTRIB_SUM)
            return mpc_errf(err, errlen, "DP record %u: unknown mechanism or kind", (unsigned)i);
        if (!(d->eps > 0) || !(d->eps < 1e4) || !(d->delta > 0) || !(d->delta < 1) || d->divisor == 0)
            return mpc_errf(err, errlen, "DP record %u: eps, delta or divisor out of range", (unsigned)i);
        if (d->coins < 2 || d->coins > MPC_NOISE_MAX_COINS || (d->coins & 1) || d->sens == 0 || d->sens > d->coins)
            return mpc_errf(err, errlen, "DP record %u: coins or sensitivity out of range", (unsigned)i);
        if (!s_has_noise(c, c->outputs[d->output].wire, d->coins, d->sens))
            return mpc_errf(err, errlen, "DP record %u: output '%.*s' adds no matching noise", (unsigned)i,
                            MPC_NAME_MAX, c->outputs[d->output].name);
        /* a collection's sum: every element moves with one contributor (dp.h) */
        double per = d->kind == MPC_DP_CONTRIB_SUM ? (double)c->outputs[d->output].len : 1;
        if (!s_ok(d->coins, d->sens, d->eps / per, d->delta / per))
            return mpc_errf(err, errlen, "DP record %u: %llu coins do not give (%g, %g)-DP at sensitivity %llu",
                            (unsigned)i, (unsigned long long)d->coins, d->eps, d->delta,
                            (unsigned long long)d->sens);
    }
    return 0;
}
