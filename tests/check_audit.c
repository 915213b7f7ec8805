/* check_audit.c — the audit log (mpcd/audit.c): records chain and verify; every kind of
 * tampering — an edited field, a forged co-signature, a record removed, two records swapped,
 * the end cut off, a record cut in the middle, the whole log replaced by another party's — is
 * found and names the first bad record; a damaged log is not extended; the JSON helpers. */
#include <check.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "json.h"
#include "keys.h"
#include "mpc_err.h"
#include "runner.h"

static char s_dir[64], s_log[128];
static mpc_keypair *s_ka, *s_kb;
static mpcd_audit_key s_keys[2];

static void s_setup(void)
{
    snprintf(s_dir, sizeof s_dir, "/tmp/check_audit.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(s_dir));
    snprintf(s_log, sizeof s_log, "%s/audit.log", s_dir);
    s_ka = mpc_keypair_new_kind(MPC_KEY_SIGN);
    s_kb = mpc_keypair_new_kind(MPC_KEY_SIGN);
    ck_assert_ptr_nonnull(s_ka);
    ck_assert_ptr_nonnull(s_kb);
    snprintf(s_keys[0].party, sizeof s_keys[0].party, "a");
    memcpy(s_keys[0].pub, mpc_keypair_public(s_ka), 32);
    snprintf(s_keys[1].party, sizeof s_keys[1].party, "b");
    memcpy(s_keys[1].pub, mpc_keypair_public(s_kb), 32);
}

static void s_teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    ck_assert_int_eq(system(cmd), 0);
    mpc_keypair_destroy(&s_ka);
    mpc_keypair_destroy(&s_kb);
}

/* b's co-signature of a statement, made with b's own log object (as b's daemon would). */
static void s_cosign_b(const char *stmt, mpcd_audit_cosig *out)
{
    char path[160], err[256];
    snprintf(path, sizeof path, "%s/b.log", s_dir);
    mpcd_audit *b = NULL;
    ck_assert_int_eq(mpcd_audit_open(&b, path, "b", s_kb, err, sizeof err), 0);
    mpcd_audit_cosign(b, stmt, strlen(stmt), out);
    mpcd_audit_close(&b);
}

/* Appends n records to a's log (job k's statement names job k); b co-signs all but the last. */
static void s_write(int n)
{
    char err[256];
    mpcd_audit *a = NULL;
    ck_assert_int_eq(mpcd_audit_open(&a, s_log, "a", s_ka, err, sizeof err), 0);
    uint64_t before = mpcd_audit_seq(a);
    for (int k = 1; k <= n; k++) {
        char stmt[256], local[128];
        mpcd_json j;
        mpcd_json_begin(&j, stmt, sizeof stmt);
        mpcd_json_int(&j, "job", k);
        mpcd_json_str(&j, "submitter", "client \"x\"");
        mpcd_json_open(&j, "inputs", '[');
        mpcd_json_open(&j, NULL, '{');
        mpcd_json_str(&j, "name", "x");
        mpcd_json_int(&j, "elements", 1000);
        mpcd_json_close(&j, '}');
        mpcd_json_close(&j, ']');
        ck_assert_uint_gt(mpcd_json_end(&j), 0);
        mpcd_json_begin(&j, local, sizeof local);
        mpcd_json_str(&j, "outcome", "done");
        ck_assert_uint_gt(mpcd_json_end(&j), 0);
        mpcd_audit_cosig cs;
        s_cosign_b(stmt, &cs);
        ck_assert_int_eq(mpcd_audit_append(a, local, stmt, &cs, k < n ? 1 : 0, err, sizeof err), 0);
    }
    ck_assert_uint_eq(mpcd_audit_seq(a), before + (uint64_t)n);
    mpcd_audit_close(&a);
}

/* Runs verify; returns its result and leaves its report in out[]. */
static int s_verify(char *out, size_t cap)
{
    FILE *f = fmemopen(out, cap, "w");
    ck_assert_ptr_nonnull(f);
    int r = mpcd_audit_verify(s_log, "a", s_keys, 2, f);
    fclose(f);
    return r;
}

/* The log's lines. */
static int s_lines(char lines[][4096], int max)
{
    FILE *f = fopen(s_log, "r");
    ck_assert_ptr_nonnull(f);
    int n = 0;
    while (n < max && fgets(lines[n], 4096, f)) n++;
    fclose(f);
    return n;
}

static void s_put_lines(char lines[][4096], const int *order, int n)
{
    FILE *f = fopen(s_log, "w");
    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < n; i++) fputs(lines[order[i]], f);
    fclose(f);
}

START_TEST(test_intact_log_verifies_and_reopens)
{
    char rep[1024];
    s_write(3);
    ck_assert_int_eq(s_verify(rep, sizeof rep), 0);
    ck_assert_ptr_nonnull(strstr(rep, "3 records of party a intact"));
    ck_assert_ptr_nonnull(strstr(rep, "1 of them lack some party's co-signature"));
    /* Reopened, the chain goes on. */
    s_write(2);
    ck_assert_int_eq(s_verify(rep, sizeof rep), 0);
    ck_assert_ptr_nonnull(strstr(rep, "5 records"));
    /* No secret key material in the log: neither signing seed appears, in hex or raw. */
    char lines[8][4096];
    int n = s_lines(lines, 8);
    for (int i = 0; i < n; i++) {
        char hx[65];
        sodium_bin2hex(hx, sizeof hx, mpc_keypair_secret(s_ka), 32);
        ck_assert_ptr_null(strstr(lines[i], hx));
        sodium_bin2hex(hx, sizeof hx, mpc_keypair_secret(s_kb), 32);
        ck_assert_ptr_null(strstr(lines[i], hx));
    }
}
END_TEST

START_TEST(test_edited_field_found)
{
    char rep[1024], lines[4][4096];
    s_write(3);
    int n = s_lines(lines, 4);
    char *p = strstr(lines[1], "\"elements\":1000");
    ck_assert_ptr_nonnull(p);
    p[12] = '9';   /* 1000 -> 9000 */
    int order[] = {0, 1, 2};
    s_put_lines(lines, order, n);
    ck_assert_int_eq(s_verify(rep, sizeof rep), 1);
    ck_assert_ptr_nonnull(strstr(rep, "record 2: error: its signature does not match"));
}
END_TEST

START_TEST(test_forged_cosignature_found)
{
    char rep[1024], lines[4][4096];
    s_write(3);
    int n = s_lines(lines, 4);
    /* Re-sign record 1 with a's key would need a's secret; here a forged b co-signature in a
     * record a then signs: the owner of the log cannot claim b agreed. */
    char *p = strstr(lines[0], "\"b\":\"");
    ck_assert_ptr_nonnull(p);
    p[5] = p[5] == '0' ? '1' : '0';
    int order[] = {0, 1, 2};
    s_put_lines(lines, order, n);
    ck_assert_int_eq(s_verify(rep, sizeof rep), 1);
    ck_assert_ptr_nonnull(strstr(rep, "record 1: error:"));
}
END_TEST

START_TEST(test_removed_and_swapped_records_found)
{
    char rep[1024], lines[4][4096];
    s_write(3);
    int n = s_lines(lines, 4);
    ck_assert_int_eq(n, 3);
    int removed[] = {0, 2};
    s_put_lines(lines, removed, 2);
    ck_assert_int_eq(s_verify(rep, sizeof rep), 1);
    ck_assert_ptr_nonnull(strstr(rep, "record 2: error: its number is 3, not 2"));
    int swapped[] = {0, 2, 1};
    s_put_lines(lines, swapped, 3);
    ck_assert_int_eq(s_verify(rep, sizeof rep), 1);
    ck_assert_ptr_nonnull(strstr(rep, "record 2: error:"));
    int first_gone[] = {1, 2};
    s_put_lines(lines, first_gone, 2);
    ck_assert_int_eq(s_verify(rep, sizeof rep), 1);
    ck_assert_ptr_nonnull(strstr(rep, "record 1: error:"));
}
END_TEST

START_TEST(test_truncation_found_and_not_extended)
{
    char rep[1024], lines[4][4096], err[512];
    s_write(3);
    int n = s_lines(lines, 4);
    int order[] = {0, 1};
    s_put_lines(lines, order, 2);
    ck_assert_int_eq(s_verify(rep, sizeof rep), 1);
    ck_assert_ptr_nonnull(strstr(rep, "records were removed from the end"));
    mpcd_audit *a = NULL;
    ck_assert_int_ne(mpcd_audit_open(&a, s_log, "a", s_ka, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(err, "does not match its head file"));
    /* Cut in the middle of the last record. */
    int all[] = {0, 1, 2};
    s_put_lines(lines, all, n);
    ck_assert_int_eq(truncate(s_log, (off_t)(strlen(lines[0]) + strlen(lines[1]) + 40)), 0);
    ck_assert_int_eq(s_verify(rep, sizeof rep), 1);
    ck_assert_ptr_nonnull(strstr(rep, "record 3: error: it is cut short"));
    ck_assert_int_ne(mpcd_audit_open(&a, s_log, "a", s_ka, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(err, "ends in the middle of a record"));
    /* Emptied entirely: the head still names 3 records. */
    ck_assert_int_eq(truncate(s_log, 0), 0);
    ck_assert_int_eq(s_verify(rep, sizeof rep), 1);
    ck_assert_int_ne(mpcd_audit_open(&a, s_log, "a", s_ka, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(err, "was emptied"));
    /* And the head removed as well: a log with records but no head. */
    s_put_lines(lines, all, n);
    char head[160];
    snprintf(head, sizeof head, "%s.head", s_log);
    ck_assert_int_eq(unlink(head), 0);
    ck_assert_int_eq(s_verify(rep, sizeof rep), 1);
    ck_assert_ptr_nonnull(strstr(rep, "is missing"));
}
END_TEST

/* A crash between a record's fsync and its head's rename leaves the head one record behind:
 * verify says so and passes, the daemon advances the head when it opens the log (and says so);
 * a head two records behind is still refused. */
static void s_copy(const char *from, const char *to)
{
    char buf[4096];
    FILE *f = fopen(from, "rb"), *g = fopen(to, "wb");
    ck_assert(f && g);
    size_t k = fread(buf, 1, sizeof buf, f);
    ck_assert_uint_eq(fwrite(buf, 1, k, g), k);
    fclose(f);
    fclose(g);
}

START_TEST(test_head_one_behind_advanced)
{
    char rep[1024], err[512], head[160], saved[176];
    snprintf(head, sizeof head, "%s.head", s_log);
    snprintf(saved, sizeof saved, "%s.saved", head);
    s_write(2);
    s_copy(head, saved);
    s_write(1);
    s_copy(saved, head);   /* the third record's head never landed */
    ck_assert_int_eq(s_verify(rep, sizeof rep), 0);
    ck_assert_ptr_nonnull(strstr(rep, "3 records of party a intact"));
    ck_assert_ptr_nonnull(strstr(rep, "one behind"));
    mpcd_audit *a = NULL;
    ck_assert_int_eq(mpcd_audit_open(&a, s_log, "a", s_ka, err, sizeof err), 0);
    ck_assert_int_eq(mpcd_audit_head_advanced(a), 1);
    ck_assert_uint_eq(mpcd_audit_seq(a), 3);
    mpcd_audit_close(&a);
    ck_assert_int_eq(s_verify(rep, sizeof rep), 0);
    ck_assert_ptr_null(strstr(rep, "one behind"));
    /* two behind: records 4 and 5 written after the saved head of record 3 */
    s_copy(head, saved);
    s_write(2);
    s_copy(saved, head);
    ck_assert_int_eq(s_verify(rep, sizeof rep), 1);
    ck_assert_int_ne(mpcd_audit_open(&a, s_log, "a", s_ka, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(err, "does not match its head file"));
    unlink(saved);
}
END_TEST

/* The same crash at the very first record: the log holds it, its head file was never made
 * (daemon_restart saw a daemon killed there refuse to start: "missing the log's head file").
 * Opening makes the head; a second record without a head stays refused. */
START_TEST(test_first_record_without_head_accepted)
{
    char rep[1024], err[512], head[160];
    snprintf(head, sizeof head, "%s.head", s_log);
    s_write(1);
    ck_assert_int_eq(unlink(head), 0);
    ck_assert_int_eq(s_verify(rep, sizeof rep), 0);
    ck_assert_ptr_nonnull(strstr(rep, "one behind"));
    mpcd_audit *a = NULL;
    ck_assert_msg(mpcd_audit_open(&a, s_log, "a", s_ka, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(mpcd_audit_head_advanced(a), 1);
    ck_assert_uint_eq(mpcd_audit_seq(a), 1);
    mpcd_audit_close(&a);
    ck_assert_int_eq(s_verify(rep, sizeof rep), 0);
    ck_assert_ptr_null(strstr(rep, "one behind"));
    /* two records and no head: not the crash's trace, refused */
    s_write(1);
    ck_assert_int_eq(unlink(head), 0);
    ck_assert_int_eq(s_verify(rep, sizeof rep), 1);
    ck_assert_int_ne(mpcd_audit_open(&a, s_log, "a", s_ka, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(err, "missing the log's head file"));
}
END_TEST

START_TEST(test_wrong_party_or_key_refused)
{
    char rep[1024], err[512];
    s_write(2);
    /* Verified as b's log (with b's key as b's own): not b's records. */
    FILE *f = fmemopen(rep, sizeof rep, "w");
    ck_assert_int_eq(mpcd_audit_verify(s_log, "b", s_keys, 2, f), 1);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(rep, "record 1: error: it is party a's record, not b's"));
    /* Opened by a daemon with another key: refused. */
    mpcd_audit *a = NULL;
    ck_assert_int_ne(mpcd_audit_open(&a, s_log, "a", s_kb, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(err, "not signed by this party's audit key"));
    /* A CURVE pair is not an audit key. */
    mpc_keypair *curve = mpc_keypair_new();
    ck_assert_int_eq(mpcd_audit_open(&a, s_log, "a", curve, err, sizeof err), MPC_ERR_INVALID);
    mpc_keypair_destroy(&curve);
}
END_TEST

START_TEST(test_show_prints_fields)
{
    s_write(2);
    char out[8192];
    FILE *f = fmemopen(out, sizeof out, "w");
    ck_assert_int_eq(mpcd_audit_show(s_log, 0, f), 0);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(out, "record 2 (party a)"));
    ck_assert_ptr_nonnull(strstr(out, "  stmt.inputs.0.elements: 1000"));
    ck_assert_ptr_nonnull(strstr(out, "  stmt.submitter: client \\\"x\\\""));
    ck_assert_ptr_nonnull(strstr(out, "  co-signed by: b a"));
    f = fmemopen(out, sizeof out, "w");
    ck_assert_int_eq(mpcd_audit_show(s_log, 1, f), 0);
    fclose(f);
    ck_assert(strncmp(out, "{\"v\":1,\"seq\":1,", 15) == 0);
}
END_TEST

static void s_count(void *ctx, const char *path, const char *val, size_t vlen, int is_str)
{
    (void)path, (void)val, (void)vlen, (void)is_str;
    (*(int *)ctx)++;
}

START_TEST(test_json_walker_strict)
{
    static const char *const good[] = {"{}", "[]", "{\"a\":[1,2,{\"b\":null}],\"c\":\"\\u00e9\\n\"}", " 12 ",
                                       "true", "{\"x\":-1.5e3}"};
    static const char *const bad[] = {"{", "{\"a\":}", "{\"a\" 1}", "[1,]", "\"\\x\"", "{\"a\":1}x", "tru",
                                      "{\"a\":\"\x01\"}", "[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]", "{1:2}"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        int n = 0;
        ck_assert_msg(mpcd_json_walk(good[i], strlen(good[i]), s_count, &n, NULL) == 0, "%s", good[i]);
    }
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(mpcd_json_walk(bad[i], strlen(bad[i]), NULL, NULL, NULL) != 0, "%s", bad[i]);
    /* The builder escapes what it is given and reports a buffer too small. */
    char buf[64];
    mpcd_json j;
    mpcd_json_begin(&j, buf, sizeof buf);
    mpcd_json_str(&j, "k", "a\"b\\c\n\x01");
    ck_assert_uint_gt(mpcd_json_end(&j), 0);
    ck_assert_str_eq(buf, "{\"k\":\"a\\\"b\\\\c\\n\\u0001\"}");
    mpcd_json_begin(&j, buf, 16);
    mpcd_json_str(&j, "long", "0123456789abcdef");
    ck_assert_uint_eq(mpcd_json_end(&j), 0);
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("audit");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_intact_log_verifies_and_reopens);
    tcase_add_test(tc, test_edited_field_found);
    tcase_add_test(tc, test_forged_cosignature_found);
    tcase_add_test(tc, test_removed_and_swapped_records_found);
    tcase_add_test(tc, test_truncation_found_and_not_extended);
    tcase_add_test(tc, test_head_one_behind_advanced);
    tcase_add_test(tc, test_first_record_without_head_accepted);
    tcase_add_test(tc, test_wrong_party_or_key_refused);
    tcase_add_test(tc, test_show_prints_fields);
    tcase_add_test(tc, test_json_walker_strict);
    suite_add_tcase(s, tc);
    return s;
}
