/* budget_cmd.c — `mpcd budget` (budget_cmd.h): the configuration's budgets beside the ledger.
 *
 * Reads the ledger file without writing it (a running daemon rewrites it by rename, so a read
 * sees one whole version), so it is safe while the daemon runs.  Every budget the
 * configuration sets is listed, spent or not, and every budget the ledger holds, configured or
 * not (one an operator removed from the policy: spent, but no longer limiting). */
#include "budget_cmd.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "budget.h"
#include "config.h"
#include "json.h"

#define S_MAX_ROWS (MPCD_MAX_APPROVALS + MPCD_MAX_ALLOWED + MPCD_MAX_DATASETS + 4096)

typedef struct {
    char   key[MPCD_BUDGET_KEY_MAX];
    double budget;        /* 0: not configured */
    int    period;        /* MPCD_PERIOD_* */
    double eps, delta;    /* spent in the current period */
} s_row;

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: mpcd budget --config FILE [--json]\n"
            "\n"
            "Lists this party's privacy budgets (docs/governance.md, \"Privacy budget\"): each one the\n"
            "configuration sets (an allow line's dp_budget=, a [dataset NAME] dp_budget) and each one\n"
            "the ledger (state_dir/dp_budget.ledger) holds, with the epsilon and delta spent in its\n"
            "current period (a daily budget: today, UTC) and the epsilon left. The party's default,\n"
            "[policy] dp_budget, is charged per program: its line is 'default'. Reads the ledger\n"
            "without changing it; safe while the daemon runs.\n"
            "  --json   one JSON array of {key, budget, period, spent_eps, spent_delta, left};\n"
            "           budget and left are null for a budget no longer configured\n"
            "Exit 0; 2 on a usage error, an unreadable configuration or a damaged ledger.\n");
}

static s_row *s_row_for(s_row *rows, uint32_t *n, const char *key)
{
    for (uint32_t i = 0; i < *n; i++)
        if (!strcmp(rows[i].key, key)) return &rows[i];
    if (*n == S_MAX_ROWS) return NULL;
    s_row *r = &rows[(*n)++];
    memset(r, 0, sizeof *r);
    snprintf(r->key, sizeof r->key, "%s", key);
    return r;
}

static void s_conf(s_row *rows, uint32_t *n, const char *kind, const char *name, const mpcd_dp_budget *b)
{
    char key[MPCD_BUDGET_KEY_MAX];
    snprintf(key, sizeof key, "%s %s", kind, name);
    s_row *r = s_row_for(rows, n, key);
    if (!r || r->budget > 0) return;   /* the first approval of a program is the one applied */
    r->budget = b->eps;
    r->period = b->period == MPCD_DP_PERIOD_DAY ? MPCD_PERIOD_DAY : MPCD_PERIOD_TOTAL;
}

/* The budget a ledger key falls under when the configuration names it nowhere: the party's
 * default for programs and circuits, none for datasets. */
static void s_default(s_row *r, const mpcd_config *cfg)
{
    if (r->budget > 0 || strncmp(r->key, "dataset ", 8) == 0 || !(cfg->dp.eps > 0)) return;
    r->budget = cfg->dp.eps;
    r->period = cfg->dp.period == MPCD_DP_PERIOD_DAY ? MPCD_PERIOD_DAY : MPCD_PERIOD_TOTAL;
}

static void s_collect(const mpcd_config *cfg, s_row *rows, uint32_t *n)
{
    char hex[65];
    for (uint32_t i = 0; i < cfg->n_approvals; i++)
        if (cfg->approvals[i].dp.eps > 0) {
            sodium_bin2hex(hex, sizeof hex, cfg->approvals[i].hash, 32);
            s_conf(rows, n, "program", hex, &cfg->approvals[i].dp);
        }
    for (uint32_t i = 0; i < cfg->n_allowed; i++)
        if (cfg->allowed_dp[i].eps > 0) {
            sodium_bin2hex(hex, sizeof hex, cfg->allowed[i], 32);
            s_conf(rows, n, "circuit", hex, &cfg->allowed_dp[i]);
        }
    for (uint32_t i = 0; i < cfg->n_datasets; i++)
        if (cfg->datasets[i].dp.eps > 0) s_conf(rows, n, "dataset", cfg->datasets[i].name, &cfg->datasets[i].dp);
}

static int s_read_ledger(const mpcd_config *cfg, s_row *rows, uint32_t *n)
{
    if (!cfg->state_dir[0]) return 0;
    char path[MPCD_PATH_MAX + 32], err[1024];
    snprintf(path, sizeof path, "%s/dp_budget.ledger", cfg->state_dir);
    mpcd_ledger *l = NULL;
    /* Absent: nothing spent yet (opening a path that does not exist would create the file). */
    if (mpcd_ledger_open(access(path, F_OK) == 0 ? path : NULL, NULL, &l, err, sizeof err) != 0) {
        fprintf(stderr, "mpcd: error: budget: %s\n", err);
        return -1;
    }
    char key[MPCD_BUDGET_KEY_MAX];
    int period;
    double eps, delta;
    for (uint32_t i = 0; mpcd_ledger_entry(l, i, key, &period, &eps, &delta) == 0; i++) {
        s_row *r = s_row_for(rows, n, key);
        if (!r) break;
        s_default(r, cfg);
        /* Spent under another period than the configuration's (a period changed and no job
         * charged since): the configured period decides, as it will at the next job. */
        if (r->budget > 0 && r->period == MPCD_PERIOD_DAY && period != MPCD_PERIOD_DAY) eps = delta = 0;
        r->eps = eps;
        r->delta = delta;
        if (!(r->budget > 0)) r->period = period;
    }
    mpcd_ledger_close(&l);
    return 0;
}

static const char *s_period(int p) { return p == MPCD_PERIOD_DAY ? "day" : "total"; }

static void s_print(const mpcd_config *cfg, const s_row *rows, uint32_t n, int json)
{
    if (json) {
        printf("[");
        for (uint32_t i = 0; i < n; i++) {
            const s_row *r = &rows[i];
            char key[2 * MPCD_BUDGET_KEY_MAX + 8], num[4][32];
            size_t kn = 0;
            mpcd_json_put_str(key, sizeof key, &kn, r->key);
            key[kn] = 0;
            if (r->budget > 0) {
                snprintf(num[0], sizeof num[0], "%.17g", r->budget);
                snprintf(num[1], sizeof num[1], "%.17g", r->budget > r->eps ? r->budget - r->eps : 0);
            } else {
                snprintf(num[0], sizeof num[0], "null");
                snprintf(num[1], sizeof num[1], "null");
            }
            snprintf(num[2], sizeof num[2], "%.17g", r->eps);
            snprintf(num[3], sizeof num[3], "%.17g", r->delta);
            printf("%s{\"key\":%s,\"budget\":%s,\"period\":\"%s\",\"spent_eps\":%s,\"spent_delta\":%s,\"left\":%s}",
                   i ? ",\n " : "", key, num[0], s_period(r->period), num[2], num[3], num[1]);
        }
        printf("]\n");
        return;
    }
    if (cfg->dp.eps > 0)
        printf("default: %g per program %s\n", cfg->dp.eps, cfg->dp.period == MPCD_DP_PERIOD_DAY ? "per day (UTC)" : "in total");
    if (n == 0) printf("no privacy budget configured or spent\n");
    for (uint32_t i = 0; i < n; i++) {
        const s_row *r = &rows[i];
        const char *when = r->period == MPCD_PERIOD_DAY ? "today" : "in total";
        if (r->budget > 0)
            printf("%s: eps %g of %g spent %s (delta %g), %g left\n", r->key, r->eps, r->budget, when, r->delta,
                   r->budget > r->eps ? r->budget - r->eps : 0);
        else
            printf("%s: eps %g spent %s (delta %g), no budget configured\n", r->key, r->eps, when, r->delta);
    }
}

int mpcd_budget_main(int argc, char **argv)
{
    const char *config = NULL;
    int json = 0;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return s_usage(stdout), 0;
        if (!strcmp(argv[i], "--config") && i + 1 < argc) config = argv[++i];
        else if (!strcmp(argv[i], "--json")) json = 1;
        else {
            fprintf(stderr, "mpcd: error: budget: unexpected argument '%s' (see mpcd budget --help)\n", argv[i]);
            return 2;
        }
    }
    if (!config) {
        fprintf(stderr, "mpcd: error: budget: --config FILE is required (see mpcd budget --help)\n");
        return 2;
    }
    mpcd_config *cfg = calloc(1, sizeof *cfg);
    s_row *rows = calloc(S_MAX_ROWS, sizeof *rows);
    char err[1024];
    int rc = 2;
    uint32_t n = 0;
    if (!cfg || !rows) {
        fprintf(stderr, "mpcd: error: budget: out of memory\n");
        goto out;
    }
    if (mpcd_config_load(config, cfg, err, sizeof err) != 0) {
        fprintf(stderr, "mpcd: %s\n", err);
        goto out;
    }
    s_collect(cfg, rows, &n);
    if (s_read_ledger(cfg, rows, &n) != 0) goto out;
    s_print(cfg, rows, n, json);
    rc = 0;
out:
    free(rows);
    free(cfg);
    return rc;
}
