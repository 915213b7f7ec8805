/* approve.c — admission by circuit hash or by approved program (approve.h). */
#include "approve.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "format.h"
#include "mpc_err.h"
#include "program.h"
#include "table.h"

/* Recompilation results: key = BLAKE2b(text, params, pushdown), value = the circuit hash the
 * program compiles to there.  Only successes are kept; the oldest entry is replaced.  A
 * reload does not clear it: the key is the program itself, not the configuration. */
#define S_CACHE 64
static struct {
    uint8_t key[32], circ[32];
    int     used;
} s_cache[S_CACHE];
static uint32_t s_cache_next;
static uint64_t s_recompiles;
static pthread_mutex_t s_cache_mu = PTHREAD_MUTEX_INITIALIZER;

uint64_t mpcd_admit_recompiles(void)
{
    pthread_mutex_lock(&s_cache_mu);
    uint64_t n = s_recompiles;
    pthread_mutex_unlock(&s_cache_mu);
    return n;
}

static void s_key(const mpc_program *p, uint8_t key[32])
{
    crypto_generichash_state st;
    uint8_t z = 0, pd = p->pushdown ? 1 : 0;
    crypto_generichash_init(&st, NULL, 0, 32);
    crypto_generichash_update(&st, (const unsigned char *)p->text, p->text_len);
    crypto_generichash_update(&st, &z, 1);
    for (uint32_t i = 0; i < p->n_params; i++) {
        crypto_generichash_update(&st, (const unsigned char *)p->params[i].name, strlen(p->params[i].name) + 1);
        crypto_generichash_update(&st, (const unsigned char *)p->params[i].value, strlen(p->params[i].value) + 1);
    }
    crypto_generichash_update(&st, &pd, 1);
    crypto_generichash_final(&st, key, 32);
}

/* The circuit hash the carried program compiles to, from the cache or by compiling it. */
static int s_recompiled(const mpc_program *p, const mpc_circ_limits *lim, uint8_t circ[32], char *err, size_t errlen)
{
    uint8_t key[32];
    s_key(p, key);
    pthread_mutex_lock(&s_cache_mu);
    for (uint32_t i = 0; i < S_CACHE; i++)
        if (s_cache[i].used && sodium_memcmp(s_cache[i].key, key, 32) == 0) {
            memcpy(circ, s_cache[i].circ, 32);
            pthread_mutex_unlock(&s_cache_mu);
            return 0;
        }
    s_recompiles++;
    pthread_mutex_unlock(&s_cache_mu);
    if (mpc_program_recompile(p, lim, circ, err, errlen) != 0) return -1;
    pthread_mutex_lock(&s_cache_mu);
    uint32_t i = s_cache_next++ % S_CACHE;
    memcpy(s_cache[i].key, key, 32);
    memcpy(s_cache[i].circ, circ, 32);
    s_cache[i].used = 1;
    pthread_mutex_unlock(&s_cache_mu);
    return 0;
}

/* "N=1000 K=3" (for messages). */
static void s_params_text(const mpc_program *p, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = 0;
    for (uint32_t i = 0; i < p->n_params && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%s=%s", i ? " " : "", p->params[i].name, p->params[i].value);
    if (!p->n_params) snprintf(buf, cap, "no params");
}

/* Whether approval a admits the params; if not, why (one clause). */
static int s_params_ok(const mpcd_config *cfg, const mpcd_approval *a, const mpc_program *p, char *why, size_t n)
{
    for (uint32_t i = 0; i < p->n_params; i++) {
        uint32_t k = 0;
        while (k < a->n_params && strcmp(a->param_names[k], p->params[i].name) != 0) k++;
        if (k == a->n_params) {
            snprintf(why, n, "param %s is not constrained by the approval at %.200s:%u", p->params[i].name, cfg->path,
                     (unsigned)a->line);
            return 0;
        }
        if (!mpc_param_constraint_admits(&a->params[k], p->params[i].value)) {
            char c[64];
            mpc_param_constraint_format(&a->params[k], c, sizeof c);
            snprintf(why, n, "param %s=%s outside %s", p->params[i].name, p->params[i].value, c);
            return 0;
        }
    }
    for (uint32_t k = 0; k < a->n_params; k++) {
        uint32_t i = 0;
        while (i < p->n_params && strcmp(a->param_names[k], p->params[i].name) != 0) i++;
        if (i == p->n_params) {
            snprintf(why, n, "the approval at %.200s:%u constrains param %s, which the program does not declare",
                     cfg->path, (unsigned)a->line, a->param_names[k]);
            return 0;
        }
    }
    return 1;
}

static int s_binding_ok(const mpcd_approval *a, const char (*bind)[MPC_NAME_MAX], uint32_t n_bind)
{
    if (a->n_parties != n_bind) return 0;
    for (uint32_t p = 0; p < n_bind; p++)
        if (strcmp(a->parties[p], bind[p]) != 0) return 0;
    return 1;
}

int mpcd_admit(const mpcd_config *cfg, const mpc_circuit *c, const uint8_t hash[32],
               const char (*bind)[MPC_NAME_MAX], uint32_t n_bind, const mpc_circ_limits *lim,
               char *why, size_t whylen)
{
    char hh[65], ph[65];
    if (cfg->allow_any_program) return 0;
    for (uint32_t i = 0; i < cfg->n_allowed; i++)
        if (sodium_memcmp(cfg->allowed[i], hash, 32) == 0) return 0;
    sodium_bin2hex(hh, sizeof hh, hash, 32);
    if (!c->program || cfg->n_approvals == 0) {
        snprintf(why, whylen, "program %s is not in this party's allowlist%s", hh,
                 c->program ? "" : " (and the circuit carries no program to approve by its program hash)");
        return MPC_ERR_DENIED;
    }
    mpc_program_canon pc;
    char err[320];
    if (mpc_program_identify(c->program, &pc, err, sizeof err) != 0) {
        mpc_program_canon_free(&pc);
        snprintf(why, whylen, "circuit refused: %s", err);
        return MPC_ERR_CIRCUIT;
    }
    uint8_t prog[32];
    memcpy(prog, pc.hash, 32);
    mpc_program_canon_free(&pc);
    sodium_bin2hex(ph, sizeof ph, prog, 32);
    /* The approvals of this program: the first that admits params and binding wins; else
     * the reason is the binding when some approval admits the params, the params otherwise. */
    char params_why[512] = "", binding_why[512] = "";
    int found = 0, admitted = 0;
    for (uint32_t i = 0; i < cfg->n_approvals && !admitted; i++) {
        const mpcd_approval *a = &cfg->approvals[i];
        if (sodium_memcmp(a->hash, prog, 32) != 0) continue;
        found = 1;
        char w[512];
        if (!s_params_ok(cfg, a, c->program, w, sizeof w)) {
            if (!params_why[0]) snprintf(params_why, sizeof params_why, "%s", w);
            continue;
        }
        if (!s_binding_ok(a, bind, n_bind)) {
            if (!binding_why[0]) {
                size_t n = (size_t)snprintf(binding_why, sizeof binding_why, "binding ");
                for (uint32_t p = 0; p < n_bind && p < c->n_parties && n < sizeof binding_why; p++)
                    n += (size_t)snprintf(binding_why + n, sizeof binding_why - n, "%s%s=%s", p ? "," : "",
                                          c->party_names[p], bind[p]);
                if (n < sizeof binding_why)
                    snprintf(binding_why + n, sizeof binding_why - n, " not approved");
            }
            continue;
        }
        admitted = 1;
    }
    if (!found) {
        snprintf(why, whylen, "program not approved: program %s (circuit %s) is not in this party's allowlist", ph, hh);
        return MPC_ERR_DENIED;
    }
    if (!admitted) {
        snprintf(why, whylen, "%s for program %s", binding_why[0] ? binding_why : params_why, ph);
        return MPC_ERR_DENIED;
    }
    uint8_t rc[32];
    if (s_recompiled(c->program, lim, rc, err, sizeof err) != 0) {
        snprintf(why, whylen, "circuit refused: %s", err);
        return MPC_ERR_CIRCUIT;
    }
    if (sodium_memcmp(rc, hash, 32) != 0) {
        char pt[200], rh[65];
        s_params_text(c->program, pt, sizeof pt);
        sodium_bin2hex(rh, sizeof rh, rc, 32);
        snprintf(why, whylen, "circuit refused: it is not program %s at %s%s (that compiles to circuit %s, this "
                 "circuit is %s)", ph, pt, c->program->pushdown ? "" : " without pushdown", rh, hh);
        return MPC_ERR_CIRCUIT;
    }
    return 0;
}

static void s_stricter(mpcd_release *r, const mpcd_release *o)
{
    if (o->min_rows > r->min_rows) r->min_rows = o->min_rows;
    if (o->min_contributors > r->min_contributors) r->min_contributors = o->min_contributors;
}

void mpcd_release_rule(const mpcd_config *cfg, const mpc_circuit *c, const uint8_t hash[32],
                       const char (*bind)[MPC_NAME_MAX], uint32_t n_bind, mpcd_release *out)
{
    out->min_rows = cfg->min_rows > 0 ? (uint64_t)cfg->min_rows : 0;
    out->min_contributors = cfg->min_contributors > 0 ? (uint64_t)cfg->min_contributors : 0;
    for (uint32_t i = 0; i < cfg->n_allowed; i++)
        if (sodium_memcmp(cfg->allowed[i], hash, 32) == 0) s_stricter(out, &cfg->allowed_release[i]);
    if (!c->program || cfg->n_approvals == 0) return;
    mpc_program_canon pc;
    char err[320];
    int ok = mpc_program_identify(c->program, &pc, err, sizeof err) == 0;
    uint8_t prog[32];
    memcpy(prog, pc.hash, 32);
    mpc_program_canon_free(&pc);
    if (!ok) return;
    for (uint32_t i = 0; i < cfg->n_approvals; i++) {
        const mpcd_approval *a = &cfg->approvals[i];
        char w[512];
        if (sodium_memcmp(a->hash, prog, 32) != 0 || !s_params_ok(cfg, a, c->program, w, sizeof w) ||
            !s_binding_ok(a, bind, n_bind))
            continue;
        s_stricter(out, &a->release);
        return;
    }
}

static void s_ask(mpcd_budget_ask *a, const char *kind, const char *name, const mpcd_dp_budget *b)
{
    snprintf(a->key, sizeof a->key, "%s %s", kind, name);
    a->budget = b->eps;
    a->period = b->period == MPCD_DP_PERIOD_DAY ? MPCD_PERIOD_DAY : MPCD_PERIOD_TOTAL;
}

/* The program's budget: its approval's, or the party's default (eps 0: none). */
static int s_program_budget(const mpcd_config *cfg, const mpc_circuit *c, const uint8_t hash[32],
                            const char (*bind)[MPC_NAME_MAX], uint32_t n_bind, mpcd_budget_ask *a)
{
    char hh[65];
    for (uint32_t i = 0; i < cfg->n_allowed; i++)
        if (sodium_memcmp(cfg->allowed[i], hash, 32) == 0) {
            const mpcd_dp_budget *b = cfg->allowed_dp[i].eps > 0 ? &cfg->allowed_dp[i] : &cfg->dp;
            if (!(b->eps > 0)) return 0;
            sodium_bin2hex(hh, sizeof hh, hash, 32);
            s_ask(a, "circuit", hh, b);
            return 1;
        }
    uint8_t prog[32];
    int have_prog = 0;
    if (c->program) {
        mpc_program_canon pc;
        char err[320];
        have_prog = mpc_program_identify(c->program, &pc, err, sizeof err) == 0;
        if (have_prog) memcpy(prog, pc.hash, 32);
        mpc_program_canon_free(&pc);
    }
    const mpcd_dp_budget *b = &cfg->dp;
    for (uint32_t i = 0; have_prog && i < cfg->n_approvals; i++) {
        const mpcd_approval *ap = &cfg->approvals[i];
        char w[512];
        if (sodium_memcmp(ap->hash, prog, 32) != 0 || !s_params_ok(cfg, ap, c->program, w, sizeof w) ||
            !s_binding_ok(ap, bind, n_bind))
            continue;
        if (ap->dp.eps > 0) b = &ap->dp;
        break;
    }
    if (!(b->eps > 0)) return 0;
    if (have_prog) sodium_bin2hex(hh, sizeof hh, prog, 32);
    else sodium_bin2hex(hh, sizeof hh, hash, 32);
    s_ask(a, have_prog ? "program" : "circuit", hh, b);
    return 1;
}

uint32_t mpcd_dp_budgets(const mpcd_config *cfg, const mpc_circuit *c, const uint8_t hash[32],
                         const char (*bind)[MPC_NAME_MAX], uint32_t n_bind, mpcd_budget_ask *asks, uint32_t max)
{
    uint32_t n = 0;
    if (max && s_program_budget(cfg, c, hash, bind, n_bind, &asks[0])) n++;
    if (!c->program) return n;
    mpc_dataset_ref refs[MPC_MAX_DATASET_REFS];
    uint32_t nr = 0;
    if (mpc_program_dataset_refs(c->program->text, c->program->text_len, refs, MPC_MAX_DATASET_REFS, &nr) != 0)
        return n;
    for (uint32_t i = 0; i < nr && n < max; i++) {
        int seen = 0;
        for (uint32_t j = 0; j < i; j++) seen |= !strcmp(refs[j].dataset, refs[i].dataset);
        const mpcd_dataset_conf *d = mpcd_config_dataset(cfg, refs[i].dataset);
        if (seen || !d || !(d->dp.eps > 0)) continue;
        s_ask(&asks[n++], "dataset", refs[i].dataset, &d->dp);
    }
    return n;
}
