/* check_badprogs.c — the corpus of bad programs in tests/bad: each NAME.mpc must be refused
 * with exactly the first error line in NAME.expect (file:line:col: error: message). */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
        int r = mpc_compile(src, len, e->d_name, NULL, 0, &c, &d);
        ck_assert_msg(r == -1 && c == NULL, "%s compiled but should fail", e->d_name);
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

int main(void)
{
    Suite *s = suite_create("badprogs");
    TCase *tc = tcase_create("corpus");
    tcase_add_test(tc, test_corpus);
    tcase_add_test(tc, test_caret);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
