/* proc.c — running programs from tests (proc.h). */
#include "proc.h"

#include <check.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char  s_scratch[64];
static pid_t s_scratch_pid;   /* the process that made it: a forked child never removes it */

const char *tp_bin(void)
{
    const char *b = getenv("MPC_BIN");
    return b && *b ? b : "bin";
}

static int s_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st; (void)flag; (void)ftw;
    remove(path);
    return 0;
}

static void s_scratch_atexit(void)
{
    if (s_scratch[0] && s_scratch_pid == getpid()) nftw(s_scratch, s_rm, 16, FTW_DEPTH | FTW_PHYS);
    s_scratch[0] = 0;
}

const char *tp_scratch(void)
{
    static int registered;
    if (!s_scratch[0]) {
        snprintf(s_scratch, sizeof s_scratch, "/tmp/mpc-test-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(s_scratch));
        s_scratch_pid = getpid();
        /* Check ends a test's process with exit() whether it passed or failed, so the
         * directory goes with it even when a test forgets tp_scratch_remove or fails
         * before reaching it. */
        if (!registered) registered = !atexit(s_scratch_atexit);
    }
    return s_scratch;
}

void tp_scratch_remove(void)
{
    if (!s_scratch[0]) return;
    ck_assert_int_eq(nftw(s_scratch, s_rm, 16, FTW_DEPTH | FTW_PHYS), 0);
    s_scratch[0] = 0;
}

static void s_read_all(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, cap - 1, f) : 0;
    if (f) fclose(f);
    buf[n] = 0;
}

void tp_run(tp_cmd *r, const char *prog, const char *fmt, ...)
{
    char exe[512];
    snprintf(exe, sizeof exe, "%s/%s", tp_bin(), prog);
    ck_assert_msg(access(exe, X_OK) == 0, "%s is not built (make all; MPC_BIN names the directory)", exe);
    char args[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    const char *dir = tp_scratch();
    char cmd[5120];
    snprintf(cmd, sizeof cmd, "'%s' %s >'%s/.out' 2>'%s/.err'", exe, args, dir, dir);
    int st = system(cmd);
    ck_assert_int_ne(st, -1);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
    char p[512];
    snprintf(p, sizeof p, "%s/.out", dir);
    s_read_all(p, r->out, sizeof r->out);
    snprintf(p, sizeof p, "%s/.err", dir);
    s_read_all(p, r->err, sizeof r->err);
}

int tp_sh(char *out, size_t cap, const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
