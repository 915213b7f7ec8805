/* check_dataset_store.c — the encrypted share store (mpcd/dataset.c): a dataset written in
 * chunks reads back exactly after the store is reopened; appends add segments; a replace
 * wipes the old generation; the data key is made once with mode 0600 and a wrong key, a
 * flipped byte, a truncated or an extended file, or a segment swapped in from another dataset
 * is refused naming the file; nothing is stored in the clear; delete leaves no file. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dataset.h"
#include "mpc_err.h"
#include "runner.h"

static char s_dir[64], s_key[128];

static void s_setup(void)
{
    snprintf(s_dir, sizeof s_dir, "/tmp/check_ds.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(s_dir));
    snprintf(s_key, sizeof s_key, "%s/data.key", s_dir);
}

static void s_teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    ck_assert_int_eq(system(cmd), 0);
}

static mpcd_ds_store *s_open(void)
{
    mpcd_ds_store *s = NULL;
    char err[512];
    int created = -1;
    ck_assert_msg(mpcd_ds_store_open(s_dir, s_key, &s, &created, err, sizeof err) == 0, "%s", err);
    return s;
}

static void s_desc(mpcd_ds_meta *m, const char *name, uint32_t ncols)
{
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s", name);
    snprintf(m->owner, sizeof m->owner, "a");
    snprintf(m->uploader, sizeof m->uploader, "alice");
    m->frac = 16;
    m->n_cols = ncols;
    for (uint32_t c = 0; c < ncols; c++) {
        snprintf(m->cols[c].name, sizeof m->cols[c].name, "c%u", (unsigned)c);
        m->cols[c].type = c % 3;
    }
    m->n_parties = 3;
    snprintf(m->parties[0], MPC_NAME_MAX, "a");
    snprintf(m->parties[1], MPC_NAME_MAX, "b");
    snprintf(m->parties[2], MPC_NAME_MAX, "c");
}

static uint64_t s_val(uint32_t c, uint64_t r, uint64_t salt)
{
    return (0x9e3779b97f4a7c15ull * (r + 1) ^ (uint64_t)c << 48) + salt;
}

/* Writes rows rows (from row `first` on) in chunks of `chunk`. */
static void s_write(mpcd_ds_store *s, const mpcd_ds_meta *d, int append, uint64_t first, uint64_t rows,
                    uint64_t chunk, uint64_t salt)
{
    mpcd_ds_writer *w = NULL;
    char err[512];
    ck_assert_msg(mpcd_ds_write_begin(s, d, append, &w, err, sizeof err) == 0, "%s", err);
    uint64_t *buf = malloc((size_t)chunk * d->n_cols * 8);
    for (uint64_t r0 = 0; r0 < rows; r0 += chunk) {
        uint64_t n = rows - r0 < chunk ? rows - r0 : chunk;
        for (uint32_t c = 0; c < d->n_cols; c++)
            for (uint64_t i = 0; i < n; i++) buf[c * n + i] = s_val(c, first + r0 + i, salt);
        ck_assert_msg(mpcd_ds_write_chunk(w, buf, n, err, sizeof err) == 0, "%s", err);
    }
    free(buf);
    mpcd_ds_meta out;
    ck_assert_msg(mpcd_ds_write_commit(&w, &out, err, sizeof err) == 0, "%s", err);
    ck_assert_ptr_null(w);
}

static void s_check(mpcd_ds_store *s, const char *name, uint64_t rows, uint64_t salt)
{
    mpcd_ds_meta m;
    uint64_t *cols[MPCD_DS_MAX_COLS];
    char err[512];
    ck_assert_msg(mpcd_ds_load(s, name, &m, cols, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(m.rows, rows);
    for (uint32_t c = 0; c < m.n_cols; c++)
        for (uint64_t r = 0; r < rows; r++) ck_assert_uint_eq(cols[c][r], s_val(c, r, salt));
    mpcd_ds_free_cols(cols, m.n_cols, m.rows);
}

static int s_count_files(void)
{
    char p[128];
    snprintf(p, sizeof p, "%s/datasets", s_dir);
    DIR *d = opendir(p);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

START_TEST(roundtrip_restart_append)
{
    mpcd_ds_store *s = s_open();
    struct stat sb;
    ck_assert_int_eq(stat(s_key, &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0777, 0600);
    mpcd_ds_meta d;
    s_desc(&d, "hosp_a.labs", 5);
    s_write(s, &d, 0, 0, 1000, 300, 7);
    mpcd_ds_store_close(&s);

    s = s_open();   /* a restart: the same key read back */
    s_check(s, "hosp_a.labs", 1000, 7);
    s_write(s, &d, 1, 1000, 77, 50, 7);   /* append */
    s_check(s, "hosp_a.labs", 1077, 7);
    mpcd_ds_meta m;
    char err[512];
    ck_assert_int_eq(mpcd_ds_meta_get(s, "hosp_a.labs", &m, err, sizeof err), 0);
    ck_assert_uint_eq(m.n_segs, 2);
    ck_assert_str_eq(m.owner, "a");
    ck_assert_str_eq(m.cols[3].name, "c3");
    ck_assert_uint_gt(m.bytes, 1077 * 5 * 8);

    /* An append of another shape is refused. */
    mpcd_ds_meta bad = d;
    bad.cols[1].type = MPC_T_BOOL == d.cols[1].type ? MPC_T_INT : MPC_T_BOOL;
    mpcd_ds_writer *w = NULL;
    ck_assert_int_eq(mpcd_ds_write_begin(s, &bad, 1, &w, err, sizeof err), MPC_ERR_INPUT);

    /* A replace: new generation, the old files wiped. */
    s_write(s, &d, 0, 0, 10, 10, 99);
    s_check(s, "hosp_a.labs", 10, 99);
    ck_assert_int_eq(s_count_files(), 2);

    mpcd_ds_meta *list = NULL;
    uint32_t n = 0;
    s_desc(&d, "b_set", 1);
    s_write(s, &d, 0, 0, 3, 2, 1);
    ck_assert_int_eq(mpcd_ds_list(s, &list, &n, err, sizeof err), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(list[0].name, "b_set");
    ck_assert_str_eq(list[1].name, "hosp_a.labs");
    free(list);
    mpcd_ds_store_close(&s);
}
END_TEST

/* No stored byte sequence equals a share word: the files are encrypted. */
START_TEST(encrypted_at_rest)
{
    mpcd_ds_store *s = s_open();
    mpcd_ds_meta d;
    s_desc(&d, "plain", 1);
    s_write(s, &d, 0, 0, 64, 64, 0);
    mpcd_ds_store_close(&s);
    char p[160];
    snprintf(p, sizeof p, "%s/datasets/plain.g0.s0", s_dir);
    FILE *f = fopen(p, "rb");
    ck_assert_ptr_nonnull(f);
    uint8_t buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    uint64_t v = s_val(0, 5, 0);
    for (size_t i = 0; i + 8 <= n; i++) ck_assert_int_ne(memcmp(buf + i, &v, 8), 0);
    snprintf(p, sizeof p, "%s/datasets/plain.meta", s_dir);
    f = fopen(p, "rb");
    n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    ck_assert_ptr_null(memmem(buf, n, "alice", 5));
}
END_TEST

static void s_expect_refused(const char *file_part)
{
    mpcd_ds_store *s = s_open();
    mpcd_ds_meta m;
    uint64_t *cols[MPCD_DS_MAX_COLS];
    char err[512];
    int rc = mpcd_ds_load(s, "x", &m, cols, err, sizeof err);
    ck_assert_int_eq(rc, MPC_ERR_CRYPTO);
    ck_assert_msg(strstr(err, file_part) != NULL, "message '%s' does not name %s", err, file_part);
    mpcd_ds_store_close(&s);
}

static void s_mangle(const char *file, long off, int truncate_to, const char *append)
{
    char p[160];
    snprintf(p, sizeof p, "%s/datasets/%s", s_dir, file);
    if (truncate_to >= 0) {
        ck_assert_int_eq(truncate(p, truncate_to), 0);
        return;
    }
    FILE *f = fopen(p, append ? "ab" : "r+b");
    ck_assert_ptr_nonnull(f);
    if (append) {
        fputs(append, f);
    } else {
        fseek(f, off, SEEK_SET);
        int c = fgetc(f);
        fseek(f, off, SEEK_SET);
        fputc(c ^ 1, f);
    }
    fclose(f);
}

static void s_make_x(void)
{
    mpcd_ds_store *s = s_open();
    mpcd_ds_meta d;
    s_desc(&d, "x", 2);
    s_write(s, &d, 0, 0, 500, 100, 3);
    mpcd_ds_store_close(&s);
}

START_TEST(flipped_byte_refused)
{
    s_make_x();
    s_mangle("x.g0.s0", 200, -1, NULL);
    s_expect_refused("x.g0.s0");
}
END_TEST

START_TEST(truncated_refused)
{
    s_make_x();
    s_mangle("x.g0.s0", 0, 3000, NULL);
    s_expect_refused("x.g0.s0");
    s_make_x();
    char p[160];
    snprintf(p, sizeof p, "%s/datasets/x.g1.s0", s_dir);
    struct stat sb;
    ck_assert_int_eq(stat(p, &sb), 0);
    s_mangle("x.g1.s0", 0, (int)sb.st_size - 10, NULL);   /* only the final chunk cut */
    s_expect_refused("x.g1.s0");
}
END_TEST

START_TEST(extended_refused)
{
    s_make_x();
    s_mangle("x.g0.s0", 0, -1, "more");
    s_expect_refused("x.g0.s0");
}
END_TEST

START_TEST(record_damaged_refused)
{
    s_make_x();
    s_mangle("x.meta", 40, -1, NULL);
    s_expect_refused("x.meta");
    mpcd_ds_store *s = s_open();
    char err[512];
    ck_assert_int_eq(mpcd_ds_delete(s, "x", err, sizeof err), 0);   /* a damaged record can be deleted */
    ck_assert_int_eq(s_count_files(), 0);
    mpcd_ds_store_close(&s);
    s_make_x();
    s_mangle("x.meta", 0, 30, NULL);
    s_expect_refused("x.meta");
}
END_TEST

/* A segment of another dataset (same key, same generation and index) put in place. */
START_TEST(swapped_segment_refused)
{
    s_make_x();
    mpcd_ds_store *s = s_open();
    mpcd_ds_meta d;
    s_desc(&d, "y", 2);
    s_write(s, &d, 0, 0, 500, 100, 4);
    mpcd_ds_store_close(&s);
    char a[160], b[160];
    snprintf(a, sizeof a, "%s/datasets/y.g0.s0", s_dir);
    snprintf(b, sizeof b, "%s/datasets/x.g0.s0", s_dir);
    ck_assert_int_eq(rename(a, b), 0);
    s_expect_refused("x.g0.s0");
}
END_TEST

START_TEST(wrong_key_refused)
{
    s_make_x();
    FILE *f = fopen(s_key, "w");
    fputs("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", f);
    fclose(f);
    s_expect_refused("x.meta");
    chmod(s_key, 0644);
    mpcd_ds_store *s = NULL;
    char err[512];
    ck_assert_int_eq(mpcd_ds_store_open(s_dir, s_key, &s, NULL, err, sizeof err), MPC_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err, "data.key"));
}
END_TEST

START_TEST(delete_leaves_nothing)
{
    mpcd_ds_store *s = s_open();
    mpcd_ds_meta d;
    s_desc(&d, "gone", 3);
    s_write(s, &d, 0, 0, 100, 40, 1);
    s_write(s, &d, 1, 100, 100, 40, 1);
    s_desc(&d, "gone.g1", 1);   /* a name that begins like one of its files */
    s_write(s, &d, 0, 0, 5, 5, 1);
    ck_assert_int_eq(s_count_files(), 5);
    char err[512];
    ck_assert_int_eq(mpcd_ds_delete(s, "gone", err, sizeof err), 0);
    ck_assert_int_eq(s_count_files(), 2);
    s_check(s, "gone.g1", 5, 1);
    mpcd_ds_meta m;
    ck_assert_int_eq(mpcd_ds_meta_get(s, "gone", &m, err, sizeof err), MPC_ERR_NOTFOUND);
    ck_assert_int_eq(mpcd_ds_delete(s, "gone", err, sizeof err), MPC_ERR_NOTFOUND);
    mpcd_ds_store_close(&s);
}
END_TEST

START_TEST(abort_leaves_nothing)
{
    mpcd_ds_store *s = s_open();
    mpcd_ds_meta d;
    s_desc(&d, "half", 1);
    mpcd_ds_writer *w = NULL;
    char err[512];
    uint64_t v[4] = {1, 2, 3, 4};
    ck_assert_int_eq(mpcd_ds_write_begin(s, &d, 0, &w, err, sizeof err), 0);
    ck_assert_int_eq(mpcd_ds_write_chunk(w, v, 4, err, sizeof err), 0);
    mpcd_ds_write_abort(&w);
    ck_assert_int_eq(s_count_files(), 0);
    /* a daemon stopped in the middle of an upload: the temporary file goes at the next start */
    ck_assert_int_eq(mpcd_ds_write_begin(s, &d, 0, &w, err, sizeof err), 0);
    ck_assert_int_eq(mpcd_ds_write_chunk(w, v, 4, err, sizeof err), 0);
    ck_assert_int_eq(s_count_files(), 1);
    mpcd_ds_store_close(&s);
    s = s_open();
    ck_assert_int_eq(s_count_files(), 0);
    mpcd_ds_write_abort(&w);   /* the old writer's file is gone already */
    mpcd_ds_meta m;
    ck_assert_int_eq(mpcd_ds_meta_get(s, "half", &m, err, sizeof err), MPC_ERR_NOTFOUND);
    ck_assert_int_eq(mpcd_ds_meta_get(s, "../x", &m, err, sizeof err), MPC_ERR_INVALID);
    mpcd_ds_store_close(&s);
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *su = suite_create("dataset_store");
    TCase *tc = tcase_create("store");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, roundtrip_restart_append);
    tcase_add_test(tc, encrypted_at_rest);
    tcase_add_test(tc, flipped_byte_refused);
    tcase_add_test(tc, truncated_refused);
    tcase_add_test(tc, extended_refused);
    tcase_add_test(tc, record_damaged_refused);
    tcase_add_test(tc, swapped_segment_refused);
    tcase_add_test(tc, wrong_key_refused);
    tcase_add_test(tc, delete_leaves_nothing);
    tcase_add_test(tc, abort_leaves_nothing);
    suite_add_tcase(su, tc);
    return su;
}
