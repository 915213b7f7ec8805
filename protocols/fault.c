/* fault.c — a cheating party's deviations, in test builds only (fault.h). */
#include "fault.h"

#ifdef MPC_TEST_FAULTS

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int kind, at;          /* 0: no fault */
    uint64_t index, word;
    __int128 delta;
    int fired;
    char spec[96];
} s_fault;

static _Thread_local s_fault s_f;

static const struct {
    const char *name;
    mpc_fault_kind kind;
} s_kinds[] = {
    {"open", MPC_FAULT_OPEN},   {"triple", MPC_FAULT_TRIPLE_C}, {"triple-a", MPC_FAULT_TRIPLE_A},
    {"triple-b", MPC_FAULT_TRIPLE_B}, {"mask", MPC_FAULT_MASK}, {"delta", MPC_FAULT_DELTA},
    {"input", MPC_FAULT_INPUT}, {"mac", MPC_FAULT_MAC},       {"output", MPC_FAULT_OUTPUT},
    {"cmask", MPC_FAULT_CMASK}, {"relay", MPC_FAULT_RELAY},   {"bit", MPC_FAULT_BIT},
    {"rbit", MPC_FAULT_RBIT},   {"tpair", MPC_FAULT_TPAIR},
};

static int s_u64(const char *s, uint64_t *v)
{
    char *end;
    if (!*s || *s == '-' || *s == '+') return -1;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno || *end) return -1;
    *v = x;
    return 0;
}

/* "kind:site:word:delta" into f; 0 or -1. */
static int s_parse(const char *spec, s_fault *f)
{
    char buf[96], *field[4], *save = NULL;
    if (strlen(spec) >= sizeof buf) return -1;
    memcpy(buf, spec, strlen(spec) + 1);
    char *nl = strchr(buf, '\n');
    if (nl) *nl = 0;
    memset(f, 0, sizeof *f);
    snprintf(f->spec, sizeof f->spec, "%s", buf);
    int nf = 0;
    for (char *t = strtok_r(buf, ":", &save); t && nf < 5; t = strtok_r(NULL, ":", &save)) {
        if (nf == 4) return -1;
        field[nf++] = t;
    }
    if (nf != 4) return -1;
    for (size_t i = 0; i < sizeof s_kinds / sizeof s_kinds[0]; i++)
        if (!strcmp(field[0], s_kinds[i].name)) f->kind = (int)s_kinds[i].kind;
    const char *site = field[1];
    if (!strncmp(site, "in", 2)) {
        f->at = MPC_FAULT_AT_INPUT;
        site += 2;
    } else if (!strncmp(site, "out", 3)) {
        f->at = MPC_FAULT_AT_OUTPUT;
        site += 3;
        if (!*site) site = "0";
    } else {
        f->at = MPC_FAULT_AT_LAYER;
    }
    char *end;
    errno = 0;
    long long d = strtoll(field[3], &end, 10);
    if (!f->kind || s_u64(site, &f->index) || s_u64(field[2], &f->word) || errno || *end || d == 0) return -1;
    f->delta = d;
    return 0;
}

void mpc_fault_load(void)
{
    memset(&s_f, 0, sizeof s_f);
    const char *env = getenv("MPC_TEST_FAULT");
    char line[96] = "";
    if (!env || !*env) return;
    if (env[0] == '@') {
        FILE *fp = fopen(env + 1, "r");
        if (!fp) return;   /* no file: no fault */
        if (!fgets(line, sizeof line, fp)) line[0] = 0;
        fclose(fp);
    } else {
        snprintf(line, sizeof line, "%s", env);
    }
    if (!line[0] || line[0] == '\n') return;
    if (s_parse(line, &s_f) != 0) {
        memset(&s_f, 0, sizeof s_f);
        fprintf(stderr, "mpcd-faults: MPC_TEST_FAULT: cannot parse '%.60s'; no fault injected\n", line);
        return;
    }
    fprintf(stderr, "mpcd-faults: this job's fault: %s\n", s_f.spec);
}

static int s_match(mpc_fault_kind kind, mpc_fault_at at, uint64_t index, uint64_t n, int sign)
{
    if (s_f.kind != (int)kind || s_f.at != (int)at || s_f.index != index || s_f.word >= n) return 0;
    return sign < 0 ? s_f.fired == 1 : !s_f.fired;
}

int mpc_fault_u128(mpc_fault_kind kind, mpc_fault_at at, uint64_t index, unsigned __int128 *v, uint64_t n,
                   int sign)
{
    if (!s_match(kind, at, index, n, sign)) return 0;
    unsigned __int128 d = (unsigned __int128)s_f.delta;
    v[s_f.word] = sign < 0 ? v[s_f.word] - d : v[s_f.word] + d;
    s_f.fired = sign < 0 ? 2 : 1;
    if (sign > 0) fprintf(stderr, "mpcd-faults: fault applied: %s\n", s_f.spec);
    return 1;
}

int mpc_fault_u64(mpc_fault_kind kind, mpc_fault_at at, uint64_t index, uint64_t *v, uint64_t n)
{
    if (!s_match(kind, at, index, n, 1)) return 0;
    v[s_f.word] += (uint64_t)s_f.delta;
    s_f.fired = 1;
    fprintf(stderr, "mpcd-faults: fault applied: %s\n", s_f.spec);
    return 1;
}

#else
typedef int mpc_fault_unused;   /* an empty translation unit is not ISO C */
#endif
