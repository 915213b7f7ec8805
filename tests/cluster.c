/* cluster.c — real daemons for tests (cluster.h). */
#include "cluster.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "mpcclient.h"
#include "proc.h"

const char *tc_endpoint_args(const char *dir)
{
    (void)dir;
    return "";
}

void tc_up(tc_cluster *c, uint32_t n, const char *extra)
{
    memset(c, 0, sizeof *c);
    ck_assert_uint_ge(n, 2);
    ck_assert_uint_le(n, 26);
    c->n = n;
    snprintf(c->dir, sizeof c->dir, "/tmp/mpc-cluster.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(c->dir));
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "MPC_BIN='%s' scripts/cluster up %u --dir %s %s %s >/dev/null", tp_bin(), (unsigned)n,
             c->dir, tc_endpoint_args(c->dir), extra ? extra : "");
    ck_assert_msg(system(cmd) == 0, "scripts/cluster up failed (see %s/*.log)", c->dir);
}

void tc_down(tc_cluster *c)
{
    if (!c->dir[0]) return;
    const char *keep = getenv("MPC_TEST_KEEP");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "scripts/cluster down --dir %s >/dev/null 2>&1; %s %s", c->dir,
             keep && keep[0] == '1' ? "echo kept" : "rm -rf", c->dir);
    if (system(cmd) != 0) fprintf(stderr, "cluster down failed\n");
    c->dir[0] = 0;
}

int tc_alive(const tc_cluster *c)
{
    for (uint32_t i = 0; i < c->n; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%c.pid", c->dir, 'a' + (int)i);
        FILE *f = fopen(path, "r");
        if (!f) return 0;
        int pid = 0;
        int ok = fscanf(f, "%d", &pid) == 1;
        fclose(f);
        if (!ok || pid <= 0 || kill(pid, 0) != 0) return 0;
    }
    return 1;
}

void tc_dump_logs(const tc_cluster *c, int lines)
{
    for (uint32_t i = 0; i < c->n; i++) {
        char cmd[1200];
        snprintf(cmd, sizeof cmd,
                 "p=$(cat '%s/%c.pid' 2>/dev/null); kill -0 \"$p\" 2>/dev/null && s=runs || s='does not run'; "
                 "echo \"--- daemon %c ($s), the last %d lines of its log:\" >&2; tail -n %d '%s/%c.log' >&2",
                 c->dir, 'a' + (int)i, 'a' + (int)i, lines, lines, c->dir, 'a' + (int)i);
        if (system(cmd) != 0) fprintf(stderr, "(no log for daemon %c)\n", 'a' + (int)i);
    }
}

int tc_log_has(const tc_cluster *c, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.log", c->dir, name);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char line[2048];
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) found = strstr(line, text) != NULL;
    fclose(f);
    return found;
}

uint64_t tc_sdk_job_ok(const tc_cluster *cl)
{
    static const char *src = "party a, b\ninput x: int from a\ninput y: int from b\noutput s = x * y + 1 to a, b\n";
    uint64_t t0 = mpc_now_ms();
    mpc_client *c = NULL;
    char err[256], path[512];
    snprintf(path, sizeof path, "%s/client.ini", cl->dir);
    ck_assert_msg(mpc_client_open(&c, path, err, sizeof err) == 0, "%s", err);
    mpc_job *j = NULL;
    ck_assert_msg(mpc_job_create_source(c, src, strlen(src), "ok.mpc", NULL, 0, 0, &j) == 0, "%s",
                  mpc_client_errmsg(c));
    uint64_t x = 1234567, y = 7654321;
    ck_assert_msg(mpc_job_input(c, j, "x", &x, 1) == 0, "%s", mpc_client_errmsg(c));
    ck_assert_msg(mpc_job_input(c, j, "y", &y, 1) == 0, "%s", mpc_client_errmsg(c));
    ck_assert_msg(mpc_job_submit(c, j, MPC_SUBMIT_ALL_INPUTS) == 0, "%s", mpc_client_errmsg(c));
    uint64_t *v = NULL, n = 0;
    ck_assert_msg(mpc_job_output(c, j, "s", 20000, &v, &n) == 0, "%s", mpc_client_errmsg(c));
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(v[0], x * y + 1);
    mpc_client_free(v);
    mpc_job_free(&j);
    mpc_client_close(&c);
    return mpc_now_ms() - t0;
}
