/* budget.c — the privacy budget ledger (budget.h). */
#include "budget.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mpc_err.h"

#define S_MAGIC "mpcd-dp-ledger 1"
#define S_MAX_ENTRIES 4096

typedef struct {
    char     key[MPCD_BUDGET_KEY_MAX];
    int      period;
    uint64_t day;        /* for MPCD_PERIOD_DAY: the UTC day (days since the epoch) spent counts for */
    double   eps, delta;
} s_entry;

typedef struct s_resv {
    uint8_t        job[MPCD_BUDGET_JOB_BYTES];
    uint32_t       n;
    uint32_t       idx[MPCD_BUDGET_MAX_ASKS];
    uint64_t       day[MPCD_BUDGET_MAX_ASKS];
    double         eps, delta;
    struct s_resv *next;
} s_resv;

struct mpcd_ledger {
    pthread_mutex_t mu;
    char           *path;     /* NULL: in memory */
    uint64_t      (*now_s)(void);
    s_entry        *e;
    uint32_t        n, cap;
    s_resv         *resv;
};

static mpcd_ledger *s_global;

void mpcd_ledger_set_global(mpcd_ledger *l) { s_global = l; }
mpcd_ledger *mpcd_ledger_global(void) { return s_global; }

static uint64_t s_today(const mpcd_ledger *l)
{
    uint64_t t = l->now_s ? l->now_s() : (uint64_t)time(NULL);
    return t / 86400;
}

static int s_key_ok(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n >= MPCD_BUDGET_KEY_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)k[i] < 0x20 || (unsigned char)k[i] > 0x7e) return 0;
    return 1;
}

static s_entry *s_find(mpcd_ledger *l, const char *key)
{
    for (uint32_t i = 0; i < l->n; i++)
        if (!strcmp(l->e[i].key, key)) return &l->e[i];
    return NULL;
}

static s_entry *s_add(mpcd_ledger *l, const char *key)
{
    if (l->n >= S_MAX_ENTRIES) return NULL;
    if (l->n == l->cap) {
        uint32_t cap = l->cap ? l->cap * 2 : 16;
        s_entry *e = realloc(l->e, cap * sizeof *e);
        if (!e) return NULL;
        l->e = e;
        l->cap = cap;
    }
    s_entry *e = &l->e[l->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->key, sizeof e->key, "%s", key);
    return e;
}

/* Brings e to the current period of `period`: a daily budget of another day starts at 0. */
static void s_current(s_entry *e, int period, uint64_t today)
{
    if (period == MPCD_PERIOD_DAY && (e->period != MPCD_PERIOD_DAY || e->day != today)) {
        e->eps = e->delta = 0;
        e->day = today;
    }
    e->period = period;
}

/* Writes the ledger: temp file, fsync, rename, fsync of the directory. */
static int s_save(mpcd_ledger *l)
{
    if (!l->path) return 0;
    size_t pl = strlen(l->path);
    char *tmp = malloc(pl + 5);
    if (!tmp) return MPC_ERR_NOMEM;
    memcpy(tmp, l->path, pl);
    memcpy(tmp + pl, ".tmp", 5);
    int rc = MPC_ERR_IO;
    FILE *f = fopen(tmp, "w");
    if (!f) goto out;
    int bad = fprintf(f, "%s\n", S_MAGIC) < 0;
    for (uint32_t i = 0; i < l->n && !bad; i++)
        bad = fprintf(f, "%s %llu %.17g %.17g %s\n", l->e[i].period == MPCD_PERIOD_DAY ? "day" : "total",
                      (unsigned long long)l->e[i].day, l->e[i].eps, l->e[i].delta, l->e[i].key) < 0;
    if (!bad) bad = fprintf(f, "end %u\n", (unsigned)l->n) < 0;
    if (fflush(f) != 0) bad = 1;
    if (!bad && fsync(fileno(f)) != 0) bad = 1;
    if (fclose(f) != 0) bad = 1;
    if (bad || rename(tmp, l->path) != 0) {
        unlink(tmp);
        goto out;
    }
    char *dir = strdup(l->path);
    if (dir) {
        char *slash = strrchr(dir, '/');
        if (slash) *slash = 0;
        int fd = open(slash ? (dir[0] ? dir : "/") : ".", O_RDONLY | O_DIRECTORY);
        if (fd >= 0) {
            (void)fsync(fd);
            close(fd);
        }
        free(dir);
    }
    rc = 0;
out:
    free(tmp);
    return rc;
}

static int s_parse_num(const char *s, double *v)
{
    char *end = NULL;
    errno = 0;
    *v = strtod(s, &end);
    return end != s && *end == 0 && errno == 0 && isfinite(*v) && *v >= 0;
}

/* Reads the file: "mpcd-dp-ledger 1", lines "PERIOD DAY EPS DELTA KEY...", "end N". */
static int s_load(mpcd_ledger *l, FILE *f, char *why, size_t wl)
{
    char line[512];
    uint32_t ln = 0;
    int ended = 0;
    while (fgets(line, sizeof line, f)) {
        ln++;
        size_t len = strlen(line);
        if (len == 0 || line[len - 1] != '\n') return snprintf(why, wl, "line %u: too long or not ended", ln), -1;
        line[len - 1] = 0;
        if (ended) return snprintf(why, wl, "line %u: text after the end line", ln), -1;
        if (ln == 1) {
            if (strcmp(line, S_MAGIC) != 0) return snprintf(why, wl, "line 1: not a ledger (\"%s\" expected)", S_MAGIC), -1;
            continue;
        }
        unsigned cnt;
        char extra;
        if (!strncmp(line, "end ", 4)) {
            if (sscanf(line + 4, "%u%c", &cnt, &extra) != 1 || cnt != l->n)
                return snprintf(why, wl, "line %u: the end line does not count the %u budgets read", ln, l->n), -1;
            ended = 1;
            continue;
        }
        char *f1 = line, *f2, *f3, *f4, *key;
        if (!(f2 = strchr(f1, ' ')) || !(f3 = strchr(f2 + 1, ' ')) || !(f4 = strchr(f3 + 1, ' ')) ||
            !(key = strchr(f4 + 1, ' ')))
            return snprintf(why, wl, "line %u: expected PERIOD DAY EPS DELTA KEY", ln), -1;
        *f2++ = 0, *f3++ = 0, *f4++ = 0, *key++ = 0;
        int period = !strcmp(f1, "day") ? MPCD_PERIOD_DAY : !strcmp(f1, "total") ? MPCD_PERIOD_TOTAL : -1;
        char *end = NULL;
        unsigned long long day = strtoull(f2, &end, 10);
        double eps, delta;
        if (period < 0 || !end || *end || end == f2 || !s_parse_num(f3, &eps) || !s_parse_num(f4, &delta) ||
            !s_key_ok(key))
            return snprintf(why, wl, "line %u: expected PERIOD DAY EPS DELTA KEY", ln), -1;
        if (s_find(l, key)) return snprintf(why, wl, "line %u: budget '%s' listed twice", ln, key), -1;
        s_entry *e = s_add(l, key);
        if (!e) return snprintf(why, wl, "line %u: too many budgets", ln), -1;
        e->period = period;
        e->day = day;
        e->eps = eps;
        e->delta = delta;
    }
    if (ferror(f)) return snprintf(why, wl, "read error"), -1;
    if (ln == 0) return snprintf(why, wl, "empty file"), -1;
    if (!ended) return snprintf(why, wl, "no end line (truncated?)"), -1;
    return 0;
}

int mpcd_ledger_open(const char *path, uint64_t (*now_s)(void), mpcd_ledger **out, char *err, size_t errlen)
{
    *out = NULL;
    mpcd_ledger *l = calloc(1, sizeof *l);
    if (!l) return snprintf(err, errlen, "out of memory"), -1;
    pthread_mutex_init(&l->mu, NULL);
    l->now_s = now_s;
    if (path) {
        l->path = strdup(path);
        if (!l->path) {
            mpcd_ledger_close(&l);
            return snprintf(err, errlen, "out of memory"), -1;
        }
        FILE *f = fopen(path, "r");
        if (f) {
            char why[256];
            int rc = s_load(l, f, why, sizeof why);
            fclose(f);
            if (rc != 0) {
                snprintf(err, errlen, "%s: damaged privacy budget ledger: %s (not reset: repair or remove it)", path,
                         why);
                mpcd_ledger_close(&l);
                return -1;
            }
        } else if (errno != ENOENT) {
            snprintf(err, errlen, "%s: cannot read the privacy budget ledger: %s", path, strerror(errno));
            mpcd_ledger_close(&l);
            return -1;
        } else if (s_save(l) != 0) {
            snprintf(err, errlen, "%s: cannot write the privacy budget ledger", path);
            mpcd_ledger_close(&l);
            return -1;
        }
    }
    *out = l;
    return 0;
}

void mpcd_ledger_close(mpcd_ledger **lp)
{
    mpcd_ledger *l = *lp;
    if (!l) return;
    while (l->resv) {
        s_resv *r = l->resv;
        l->resv = r->next;
        free(r);
    }
    pthread_mutex_destroy(&l->mu);
    free(l->e);
    free(l->path);
    free(l);
    *lp = NULL;
}

static s_resv **s_resv_find(mpcd_ledger *l, const uint8_t job[MPCD_BUDGET_JOB_BYTES])
{
    for (s_resv **p = &l->resv; *p; p = &(*p)->next)
        if (!memcmp((*p)->job, job, MPCD_BUDGET_JOB_BYTES)) return p;
    return NULL;
}

/* "2", "0.5": short forms of ε for messages. */
static void s_num(double v, char *buf, size_t n) { snprintf(buf, n, "%.6g", v); }

int mpcd_ledger_reserve(mpcd_ledger *l, const uint8_t job[MPCD_BUDGET_JOB_BYTES], const mpcd_budget_ask *asks,
                        uint32_t n, double eps, double delta, char *why, size_t whylen)
{
    if (n == 0) return 0;
    if (n > MPCD_BUDGET_MAX_ASKS) return snprintf(why, whylen, "the job falls under more than %d privacy budgets",
                                                  MPCD_BUDGET_MAX_ASKS), MPC_ERR_DENIED;
    pthread_mutex_lock(&l->mu);
    uint64_t today = s_today(l);
    int rc = 0;
    uint32_t n0 = l->n;
    s_resv *r = calloc(1, sizeof *r);
    if (!r || s_resv_find(l, job)) {
        snprintf(why, whylen, r ? "a job with this id exists (it holds a privacy budget reservation)" : "out of memory");
        rc = r ? MPC_ERR_STATE : MPC_ERR_NOMEM;
        goto fail;
    }
    /* Check every budget first: all or nothing. */
    for (uint32_t i = 0; i < n; i++) {
        if (!s_key_ok(asks[i].key)) {
            snprintf(why, whylen, "bad privacy budget key");
            rc = MPC_ERR_INVALID;
            goto fail;
        }
        s_entry *e = s_find(l, asks[i].key);
        if (!e && !(e = s_add(l, asks[i].key))) {
            snprintf(why, whylen, "too many privacy budgets in the ledger");
            rc = MPC_ERR_NOMEM;
            goto fail;
        }
        s_current(e, asks[i].period, today);
        double left = asks[i].budget - e->eps;
        if (left < 0) left = 0;
        /* A tolerance for sums of decimal fractions (0.1 + 0.2 vs 0.3). */
        if (eps > left + 1e-9 * (asks[i].budget > 1 ? asks[i].budget : 1)) {
            char s[32], lf[32], b[32];
            s_num(eps, s, sizeof s);
            s_num(left, lf, sizeof lf);
            s_num(asks[i].budget, b, sizeof b);
            snprintf(why, whylen, "privacy budget of %s exhausted: the job spends eps = %s, %s of %s left %s", e->key, s,
                     lf, b, asks[i].period == MPCD_PERIOD_DAY ? "today (UTC)" : "in total");
            rc = MPC_ERR_DENIED;
            goto fail;
        }
        r->idx[i] = (uint32_t)(e - l->e);
        r->day[i] = e->day;
    }
    for (uint32_t i = 0; i < n; i++) {
        l->e[r->idx[i]].eps += eps;
        l->e[r->idx[i]].delta += delta;
    }
    if (s_save(l) != 0) {
        for (uint32_t i = 0; i < n; i++) {
            l->e[r->idx[i]].eps -= eps;
            l->e[r->idx[i]].delta -= delta;
        }
        snprintf(why, whylen, "cannot write the privacy budget ledger %s", l->path);
        rc = MPC_ERR_IO;
        goto fail;
    }
    memcpy(r->job, job, MPCD_BUDGET_JOB_BYTES);
    r->n = n;
    r->eps = eps;
    r->delta = delta;
    r->next = l->resv;
    l->resv = r;
    pthread_mutex_unlock(&l->mu);
    return 0;
fail:
    /* Entries added for this check only are dropped again (they hold nothing). */
    if (rc != MPC_ERR_DENIED) l->n = n0;
    free(r);
    pthread_mutex_unlock(&l->mu);
    return rc;
}

void mpcd_ledger_commit(mpcd_ledger *l, const uint8_t job[MPCD_BUDGET_JOB_BYTES])
{
    if (!l) return;
    pthread_mutex_lock(&l->mu);
    s_resv **p = s_resv_find(l, job);
    if (p) {
        s_resv *r = *p;
        *p = r->next;
        free(r);
    }
    pthread_mutex_unlock(&l->mu);
}

int mpcd_ledger_release(mpcd_ledger *l, const uint8_t job[MPCD_BUDGET_JOB_BYTES])
{
    if (!l) return 0;
    pthread_mutex_lock(&l->mu);
    s_resv **p = s_resv_find(l, job);
    int rc = 0;
    if (p) {
        s_resv *r = *p;
        *p = r->next;
        int changed = 0;
        for (uint32_t i = 0; i < r->n; i++) {
            s_entry *e = &l->e[r->idx[i]];
            if (e->day != r->day[i]) continue;   /* a new period began since: nothing to give back */
            e->eps = e->eps > r->eps ? e->eps - r->eps : 0;
            e->delta = e->delta > r->delta ? e->delta - r->delta : 0;
            changed = 1;
        }
        free(r);
        if (changed) rc = s_save(l);
    }
    pthread_mutex_unlock(&l->mu);
    return rc;
}

void mpcd_ledger_spent(mpcd_ledger *l, const char *key, int period, double *eps, double *delta)
{
    *eps = *delta = 0;
    pthread_mutex_lock(&l->mu);
    s_entry *e = s_find(l, key);
    if (e) {
        s_current(e, period, s_today(l));
        *eps = e->eps;
        *delta = e->delta;
    }
    pthread_mutex_unlock(&l->mu);
}

int mpcd_ledger_entry(mpcd_ledger *l, uint32_t i, char key[MPCD_BUDGET_KEY_MAX], int *period, double *eps,
                      double *delta)
{
    int rc = -1;
    pthread_mutex_lock(&l->mu);
    if (i < l->n) {
        s_entry *e = &l->e[i];
        s_current(e, e->period, s_today(l));
        memcpy(key, e->key, MPCD_BUDGET_KEY_MAX);
        *period = e->period;
        *eps = e->eps;
        *delta = e->delta;
        rc = 0;
    }
    pthread_mutex_unlock(&l->mu);
    return rc;
}

uint32_t mpcd_ledger_count(mpcd_ledger *l)
{
    pthread_mutex_lock(&l->mu);
    uint32_t n = l->n;
    pthread_mutex_unlock(&l->mu);
    return n;
}
