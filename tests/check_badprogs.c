/* check_badprogs.c — the corpus of bad programs in tests/bad: each NAME.mpc must be refused
 * with exactly the first error line in NAME.expect (file:line:col: error: message). */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runner.h"
#include "proc.h"
#include "compile.h"

static char *s_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = malloc(1 << 16);
    size_t n = buf ? fread(buf, 1, (1 << 16) - 1, f) : 0;
    fclose(f);
    if (buf) buf[n] = 0;
    *len = n;
    return buf;
}

static const char *s_dir(void)
{
    const char *d = getenv("MPC_BAD_DIR");
    return d ? d : "tests/bad";
}

START_TEST(test_corpus)
{
    DIR *dir = opendir(s_dir());
    ck_assert_msg(dir != NULL, "cannot open %s (run from the repository root)", s_dir());
    struct dirent *e;
    int checked = 0;
    while ((e = readdir(dir)) != NULL) {
        size_t nl = strlen(e->d_name);
        if (nl < 5 || strcmp(e->d_name + nl - 4, ".mpc") != 0) continue;
        char path[512], expath[512];
        snprintf(path, sizeof path, "%s/%s", s_dir(), e->d_name);
        snprintf(expath, sizeof expath, "%s/%.*s.expect", s_dir(), (int)(nl - 4), e->d_name);
        size_t len, elen;
        char *src = s_slurp(path, &len);
        char *want = s_slurp(expath, &elen);
        ck_assert_msg(src && want, "missing %s or its .expect", path);
        while (elen && (want[elen - 1] == '\n' || want[elen - 1] == '\r')) want[--elen] = 0;
        mpc_circuit *c = NULL;
        mpc_diag d;
        struct timespec t0, t1;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
        int r = mpc_compile(src, len, e->d_name, NULL, 0, &c, &d);
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
        ck_assert_msg(r == -1 && c == NULL, "%s compiled but should fail", e->d_name);
        /* CPU time, with a bound only a quadratic compiler breaks: loop_too_long_fix.mpc (a fix
         * loop adding 10^6 distinct constants) took 27 s when the constant cache's slots came
         * from the low bits of k·φ, and takes about 1.5 s (a few under ASan) now. */
        double cpu = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        ck_assert_msg(cpu < 12.0, "%s took %.1f s of CPU to refuse", e->d_name, cpu);
        const mpc_diag_item *it = mpc_diag_first_error(&d);
        ck_assert_ptr_nonnull(it);
        char got[512];
        mpc_diag_format(&d, it, got, sizeof got);
        ck_assert_msg(strcmp(got, want) == 0, "%s:\n  got  %s\n  want %s", e->d_name, got, want);
        mpc_diag_free(&d);
        free(src);
        free(want);
        checked++;
    }
    closedir(dir);
    ck_assert_int_ge(checked, 50);
}
END_TEST

/* The printed form: message, the source line, a caret under the column. */
START_TEST(test_caret)
{
    const char *src = "party a, b\ninput x: int from a\n\toutput o = x + y to a\n";
    mpc_circuit *c = NULL;
    mpc_diag d;
    ck_assert_int_eq(mpc_compile(src, strlen(src), "prog.mpc", NULL, 0, &c, &d), -1);
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    mpc_diag_print(&d, f);
    fclose(f);
    ck_assert_str_eq(buf, "prog.mpc:3:17: error: undefined name 'y'\n"
                          "\toutput o = x + y to a\n"
                          "\t               ^\n");
    free(buf);
    mpc_diag_free(&d);
}
END_TEST


/* ---- mpcc on the command line ---- */

static void s_fails(const char *args, const char *want_err)
{
    tp_cmd r;
    tp_run(&r, "mpcc", "%s", args);
    ck_assert_msg(r.status == 1, "mpcc %s: exit %d", args, r.status);
    ck_assert_msg(strcmp(r.err, want_err) == 0, "mpcc %s:\n got  %s\n want %s", args, r.err, want_err);
    ck_assert_str_eq(r.out, "");
}

START_TEST(test_mpcc_compile_error)
{
    /* The message, the source line and the caret, exit status 1, no circuit written. */
    char args[512];
    snprintf(args, sizeof args, "tests/bad/undefined_name.mpc -o '%s/u.circ'", tp_scratch());
    tp_cmd r;
    tp_run(&r, "mpcc", "tests/bad/undefined_name.mpc --stats");
    ck_assert_int_eq(r.status, 1);
    ck_assert_str_eq(r.err, "tests/bad/undefined_name.mpc:3:16: error: undefined name 'y'\n"
                            "output o = x + y to a\n"
                            "               ^\n");
    ck_assert_str_eq(r.out, "");
    snprintf(args, sizeof args, "tests/bad/undefined_name.mpc -o '%s/u.circ'", tp_scratch());
    tp_run(&r, "mpcc", "%s", args);
    ck_assert_int_eq(r.status, 1);
    char path[512];
    snprintf(path, sizeof path, "%s/u.circ", tp_scratch());
    ck_assert_ptr_null(fopen(path, "rb"));
    s_fails("examples/secure_sum.mpc --stats -D M=3",
            "examples/secure_sum.mpc: error: unknown parameter 'M' given with -D\n");
    s_fails("examples/joint_stats.mpc --stats -D N=many",
            "examples/joint_stats.mpc:3:1: error: invalid value 'many' for parameter 'N' given with -D\n"
            "param N = 1000\n"
            "^\n");
    tp_scratch_remove();
}
END_TEST

START_TEST(test_mpcc_bad_inputs)
{
    const char *ss = "--eval examples/secure_sum.mpc ";
    char args[512];
    snprintf(args, sizeof args, "%s--input x=1 --input y=2", ss);
    s_fails(args, "mpcc: error: missing --input z=... (int[1] from c)\n");
    snprintf(args, sizeof args, "%s--input x=1 --input y=abc --input z=3", ss);
    s_fails(args, "mpcc: error: input 'y': value list: element 1: 'abc' is not an integer\n");
    snprintf(args, sizeof args, "%s--input x=1 --input y=2 --input z=@/nonexistent/v.csv", ss);
    s_fails(args, "mpcc: error: input 'z': /nonexistent/v.csv: No such file or directory\n");
    snprintf(args, sizeof args, "%s--input q=1", ss);
    s_fails(args, "mpcc: error: unknown input 'q'; the program's inputs are: x y z\n");
    snprintf(args, sizeof args, "%s--input x=1 --input x=2", ss);
    s_fails(args, "mpcc: error: input 'x' is given twice\n");
    snprintf(args, sizeof args, "%s--input x=1,2 --input y=1 --input z=1", ss);
    s_fails(args, "mpcc: error: input 'x' is int[1] but 2 values were given\n");
    s_fails("--eval examples/risk_linear.mpc --input x=1,2,3 --input w=1,2,3,4 --input bias=1",
            "mpcc: error: input 'x' is fix[4] but 3 values were given\n");
    s_fails("--eval examples/risk_linear.mpc --input x=1,2,3,1e999 --input w=1,2,3,4 --input bias=1",
            "mpcc: error: input 'x': value list: element 4: fix value '1e999' out of range (|x| must be below 2^47 at 16 fractional bits)\n");
    s_fails("examples/secure_sum.mpc --input x=1", "mpcc: error: --input is only used with --eval\n");
    s_fails("--bogus examples/secure_sum.mpc", "mpcc: error: unknown option '--bogus' (see mpcc --help)\n");
    s_fails("", "mpcc: error: no program given (see mpcc --help)\n");
    s_fails("/nonexistent/p.mpc", "mpcc: error: cannot read '/nonexistent/p.mpc': No such file or directory\n");
    tp_scratch_remove();
}
END_TEST

START_TEST(test_mpcc_hostile_circ)
{
    tp_cmd r;
    tp_run(&r, "mpcc", "--help");   /* makes the scratch directory */
    ck_assert_int_eq(r.status, 0);
    char path[512], args[600];
    snprintf(path, sizeof path, "%s/junk.circ", tp_scratch());
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fputs("\x92\xa7MPCCIRC\x01\xdd\xff\xff\xff\xff", f);
    fclose(f);
    snprintf(args, sizeof args, "--stats '%s'", path);
    tp_run(&r, "mpcc", "%s", args);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strncmp(r.err, "mpcc: error: ", 13) == 0 && strstr(r.err, "junk.circ") != NULL, "%s", r.err);
    ck_assert_str_eq(r.out, "");
    tp_scratch_remove();
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("badprogs");
    TCase *tc = tcase_create("corpus");
    /* Well over the corpus's few seconds on a quiet machine (loop_too_long alone unrolls a
     * million iterations): the default 4 s expired under a loaded machine and under ASan. */
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_corpus);
    tcase_add_test(tc, test_caret);
    tcase_add_test(tc, test_mpcc_compile_error);
    tcase_add_test(tc, test_mpcc_bad_inputs);
    tcase_add_test(tc, test_mpcc_hostile_circ);
    suite_add_tcase(s, tc);
    return s;
}

