/* check_value.c — exact parsing and shortest printing of int, fix and bool values. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner.h"
#include "value.h"

static uint64_t s_rng = 0x9e3779b97f4a7c15ull;
static uint64_t s_rand(void)
{
    /* xorshift64*: deterministic so a failure reproduces */
    s_rng ^= s_rng >> 12;
    s_rng ^= s_rng << 25;
    s_rng ^= s_rng >> 27;
    return s_rng * 2685821657736338717ull;
}

static uint64_t s_fix(const char *s, unsigned frac)
{
    uint64_t v = 0;
    char err[256];
    int r = mpc_value_parse(MPC_T_FIX, frac, s, strlen(s), &v, err, sizeof err);
    ck_assert_msg(r == 0, "parse '%s' failed: %s", s, err);
    return v;
}

static int s_fix_fails(const char *s, unsigned frac, char *err, size_t errlen)
{
    uint64_t v = 12345;
    int r = mpc_value_parse(MPC_T_FIX, frac, s, strlen(s), &v, err, errlen);
    return r == -1 && v == 12345;
}

static const char *s_fmt(mpc_type t, unsigned frac, uint64_t v, char *buf)
{
    int n = mpc_value_format(t, frac, v, buf, 64);
    ck_assert_int_gt(n, 0);
    ck_assert_uint_eq(strlen(buf), (size_t)n);
    return buf;
}

START_TEST(test_fix_parse_exact)
{
    ck_assert_uint_eq(s_fix("0.5", 16), 32768);
    ck_assert_uint_eq(s_fix("1", 16), 65536);
    ck_assert_uint_eq(s_fix("+1.", 16), 65536);
    ck_assert_uint_eq(s_fix(".5", 16), 32768);
    ck_assert_uint_eq(s_fix("-1.5", 16), (uint64_t)-98304);
    ck_assert_uint_eq(s_fix("1e2", 16), 100ull << 16);
    ck_assert_uint_eq(s_fix("2.5E-1", 16), 16384);
    ck_assert_uint_eq(s_fix("  007.25  ", 16), (7ull << 16) + 16384);
    ck_assert_uint_eq(s_fix("0.00001", 16), 1);       /* 0.65536 rounds to 1 */
    ck_assert_uint_eq(s_fix("0.000007", 16), 0);      /* 0.458752 rounds to 0 */
    ck_assert_uint_eq(s_fix("-0", 16), 0);
    ck_assert_uint_eq(s_fix("0e999999999999", 16), 0);
    ck_assert_uint_eq(s_fix("1e-999999999999", 16), 0);
    ck_assert_uint_eq(s_fix("12345e-4", 16), 80904);  /* 1.2345 * 65536 = 80904.192 */
    /* Ties round half away from zero, on the fast and the long-digit path. */
    ck_assert_uint_eq(s_fix("0.25", 1), 1);
    ck_assert_uint_eq(s_fix("-0.25", 1), (uint64_t)-1);
    ck_assert_uint_eq(s_fix("0.75", 1), 2);
    ck_assert_uint_eq(s_fix("0.250000000000000000000000000000", 1), 1);
    ck_assert_uint_eq(s_fix("0.249999999999999999999999999999", 1), 0);
    ck_assert_uint_eq(s_fix("-0.250000000000000000000000000000", 1), (uint64_t)-1);
    ck_assert_uint_eq(s_fix("0.000000000000000000000000000000000001", 60), 0);
    /* 2^-17 exactly = 0.00000762939453125 is half an ulp at f = 16: rounds up. */
    ck_assert_uint_eq(s_fix("0.00000762939453125", 16), 1);
    ck_assert_uint_eq(s_fix("0.00000762939453124999999999", 16), 0);
    ck_assert_uint_eq(s_fix("-0.00000762939453125", 16), (uint64_t)-1);
    /* 0.99999999 rounds up into the integer part. */
    ck_assert_uint_eq(s_fix("0.9999999999", 16), 65536);
    ck_assert_uint_eq(s_fix("2.99999999999999999999999", 16), 3 * 65536);
    /* Range: |x| < 2^47 at 16 bits; -2^47 itself is representable. */
    ck_assert_uint_eq(s_fix("140737488355327.99998", 16), (1ull << 63) - 1);
    ck_assert_uint_eq(s_fix("-140737488355328", 16), 1ull << 63);
    char err[256];
    ck_assert(s_fix_fails("140737488355328", 16, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "140737488355328"));
    ck_assert_ptr_nonnull(strstr(err, "out of range"));
    ck_assert(s_fix_fails("140737488355327.999995", 16, err, sizeof err)); /* rounds to 2^63 */
    ck_assert(s_fix_fails("-140737488355328.00001", 16, err, sizeof err));
    ck_assert(s_fix_fails("1e30", 16, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "'1e30'"));
    ck_assert(s_fix_fails("1e999999999999999", 16, err, sizeof err));
    ck_assert(s_fix_fails("abc", 16, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "'abc'"));
    ck_assert(s_fix_fails("1.2.3", 16, err, sizeof err));
    ck_assert(s_fix_fails("1e", 16, err, sizeof err));
    ck_assert(s_fix_fails(".", 16, err, sizeof err));
    ck_assert(s_fix_fails("-", 16, err, sizeof err));
    ck_assert(s_fix_fails("", 16, err, sizeof err));
    ck_assert(s_fix_fails("0x10", 16, err, sizeof err));
    ck_assert(s_fix_fails("1 2", 16, err, sizeof err));
    ck_assert(s_fix_fails("nan", 16, err, sizeof err));
}
END_TEST

START_TEST(test_fix_long_digit_strings)
{
    /* A 3000-digit fraction: exercises the heap path; compare with the same value written
     * with an exponent. */
    size_t n = 3000;
    char *s = malloc(n + 8), *t = malloc(n + 16);
    strcpy(s, "0.");
    for (size_t i = 2; i < n; i++) s[i] = (char)('0' + (i * 7) % 10);
    s[n] = 0;
    /* t = same digits as an integer times 10^-(n-2) */
    memcpy(t, s + 2, n - 2);
    sprintf(t + n - 2, "e-%zu", n - 2);
    for (unsigned f = 1; f <= 60; f += 7) {
        uint64_t a = s_fix(s, f), b = s_fix(t, f);
        ck_assert_uint_eq(a, b);
        double d = mpc_fix_to_double(a, f), want = strtod(s, NULL);
        ck_assert(d - want <= 0.5 / (double)(1ull << f) + 1e-15);
        ck_assert(want - d <= 0.5 / (double)(1ull << f) + 1e-15);
    }
    free(s);
    free(t);
}
END_TEST

START_TEST(test_fix_format_examples)
{
    char b[64];
    ck_assert_str_eq(s_fmt(MPC_T_FIX, 16, 32768, b), "0.5");
    ck_assert_str_eq(s_fmt(MPC_T_FIX, 16, 3ull << 16, b), "3");
    ck_assert_str_eq(s_fmt(MPC_T_FIX, 16, 0, b), "0");
    ck_assert_str_eq(s_fmt(MPC_T_FIX, 16, (uint64_t)-(3 << 15), b), "-1.5");
    ck_assert_str_eq(s_fmt(MPC_T_FIX, 16, 1ull << 63, b), "-140737488355328");
    ck_assert_str_eq(s_fmt(MPC_T_FIX, 16, (1ull << 63) - 1, b), "140737488355327.99998");
    ck_assert_str_eq(s_fmt(MPC_T_FIX, 16, 1, b), "0.00002");
    ck_assert_str_eq(s_fmt(MPC_T_FIX, 16, (uint64_t)-1, b), "-0.00002");
    /* 1/3 at 16 bits: X = 21845; "0.33333" parses back to it, "0.3333" does not. */
    uint64_t third = s_fix("0.333333333333", 16);
    ck_assert_uint_eq(third, 21845);
    ck_assert_str_eq(s_fmt(MPC_T_FIX, 16, third, b), "0.33333");
    ck_assert_str_eq(s_fmt(MPC_T_FIX, 1, 1, b), "0.5");
    ck_assert_str_eq(s_fmt(MPC_T_FIX, 2, 1, b), "0.2");   /* 0.2 -> 0.8 -> 1; shortest */
    ck_assert_str_eq(s_fmt(MPC_T_FIX, 0, 12, b), "12");
    /* Too small a buffer is refused. */
    ck_assert_int_eq(mpc_value_format(MPC_T_FIX, 16, 32768, b, 3), -1);
    ck_assert_int_eq(mpc_value_format(MPC_T_FIX, 16, 32768, b, 4), 3);
}
END_TEST

/* Adds one unit in the last place to the decimal magnitude in s (in place, may grow by 1). */
static void s_inc_last(char *s)
{
    size_t n = strlen(s), st = s[0] == '-' ? 1 : 0;
    size_t p = n;
    while (p > st) {
        p--;
        if (s[p] == '.') continue;
        if (s[p] == '9') { s[p] = '0'; continue; }
        s[p]++;
        return;
    }
    memmove(s + st + 1, s + st, n - st + 1);
    s[st] = '1';
}

START_TEST(test_fix_round_trip_random_and_shortest)
{
    static const unsigned fracs[] = {1, 2, 8, 13, 16, 20, 24, 32, 40, 52, 60};
    char b[64], e[80];
    for (size_t fi = 0; fi < sizeof fracs / sizeof fracs[0]; fi++) {
        unsigned f = fracs[fi];
        for (int it = 0; it < 3000; it++) {
            uint64_t x = s_rand();
            if (it % 3 == 1) x = (uint64_t)((int64_t)(x >> 20) - (int64_t)(1ull << 43));
            if (it % 3 == 2) x = x >> (s_rand() % 64);
            s_fmt(MPC_T_FIX, f, x, b);
            ck_assert_msg(s_fix(b, f) == x, "f=%u x=%llu printed %s", f, (unsigned long long)x, b);
            /* Minimality: one fractional digit fewer, rounded either way, misses x. */
            char *dot = strchr(b, '.');
            if (!dot) continue;
            size_t nd = strlen(dot + 1);
            ck_assert(dot[nd] != '0');
            strcpy(e, b);
            e[dot - b + nd] = 0;                 /* drop the last digit */
            if (e[strlen(e) - 1] == '.') e[strlen(e) - 1] = 0;
            ck_assert_msg(s_fix(e, f) != x, "f=%u %s also parses back (from %s)", f, e, b);
            s_inc_last(e);
            uint64_t v;
            if (mpc_value_parse(MPC_T_FIX, f, e, strlen(e), &v, NULL, 0) == 0)
                ck_assert_msg(v != x, "f=%u %s also parses back (from %s)", f, e, b);
        }
    }
}
END_TEST

/* The 128-bit fast path (<= 19 fraction digits) and the digit-doubling path (longer) must
 * agree: trailing zeros force the second without changing the value.  Both must also be
 * within one unit of a double-based reference. */
START_TEST(test_fix_paths_agree)
{
    static const unsigned fracs[] = {1, 7, 16, 24, 33, 40, 48, 60};
    char s[96], t[128];
    for (size_t fi = 0; fi < sizeof fracs / sizeof fracs[0]; fi++) {
        unsigned f = fracs[fi];
        for (int it = 0; it < 2000; it++) {
            int ndig = 1 + (int)(s_rand() % 19), k = 0;
            uint64_t ip = s_rand() % (1ull << (f > 45 ? 62 - f : 17));
            k = snprintf(s, sizeof s, "%s%llu.", (s_rand() & 1) ? "-" : "", (unsigned long long)ip);
            for (int d = 0; d < ndig; d++) s[k++] = (char)('0' + s_rand() % 10);
            if (it % 7 == 0) s[k - 1] = '5';           /* more ties */
            s[k] = 0;
            snprintf(t, sizeof t, "%s000000000000000000000", s);
            uint64_t a = s_fix(s, f), b = s_fix(t, f);
            ck_assert_msg(a == b, "f=%u %s: %llu vs %llu", f, s, (unsigned long long)a, (unsigned long long)b);
            uint64_t ref = mpc_fix_from_double(strtod(s, NULL), f);
            uint64_t diff = a - ref;
            int exact_enough = ref + (1ull << 50) < (1ull << 51);   /* |ref| < 2^50 */
            ck_assert_msg(diff + 1 <= 2 || !exact_enough, "f=%u %s: %llu vs double %llu", f, s,
                          (unsigned long long)a, (unsigned long long)ref);
        }
    }
}
END_TEST

START_TEST(test_int_and_bool)
{
    char err[256], b[64];
    uint64_t v;
    ck_assert_int_eq(mpc_value_parse(MPC_T_INT, 16, "-9223372036854775808", 20, &v, err, sizeof err), 0);
    ck_assert_uint_eq(v, 1ull << 63);
    ck_assert_int_eq(mpc_value_parse(MPC_T_INT, 16, "18446744073709551615", 20, &v, err, sizeof err), 0);
    ck_assert_uint_eq(v, UINT64_MAX);
    ck_assert_int_eq(mpc_value_parse(MPC_T_INT, 16, " +42 ", 5, &v, err, sizeof err), 0);
    ck_assert_uint_eq(v, 42);
    ck_assert_int_eq(mpc_value_parse(MPC_T_INT, 16, "-1", 2, &v, err, sizeof err), 0);
    ck_assert_uint_eq(v, UINT64_MAX);
    ck_assert_int_eq(mpc_value_parse(MPC_T_INT, 16, "18446744073709551616", 20, &v, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "18446744073709551616"));
    ck_assert_int_eq(mpc_value_parse(MPC_T_INT, 16, "-9223372036854775809", 20, &v, err, sizeof err), -1);
    ck_assert_int_eq(mpc_value_parse(MPC_T_INT, 16, "1.5", 3, &v, err, sizeof err), -1);
    ck_assert_int_eq(mpc_value_parse(MPC_T_INT, 16, "1e3", 3, &v, err, sizeof err), -1);
    ck_assert_str_eq(s_fmt(MPC_T_INT, 16, 1ull << 63, b), "-9223372036854775808");
    ck_assert_str_eq(s_fmt(MPC_T_INT, 16, UINT64_MAX, b), "-1");
    ck_assert_str_eq(s_fmt(MPC_T_INT, 16, 1234567, b), "1234567");
    ck_assert_str_eq(s_fmt(MPC_T_INT, 16, 0, b), "0");
    for (int i = 0; i < 2000; i++) {
        uint64_t x = s_rand() >> (i % 64);
        if (i & 1) x = 0 - x;
        s_fmt(MPC_T_INT, 0, x, b);
        ck_assert_int_eq(mpc_value_parse(MPC_T_INT, 0, b, strlen(b), &v, err, sizeof err), 0);
        ck_assert_uint_eq(v, x);
    }
    const char *t[] = {"1", "true", " 1", "0", "false"};
    const uint64_t want[] = {1, 1, 1, 0, 0};
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(mpc_value_parse(MPC_T_BOOL, 16, t[i], strlen(t[i]), &v, err, sizeof err), 0);
        ck_assert_uint_eq(v, want[i]);
    }
    ck_assert_int_eq(mpc_value_parse(MPC_T_BOOL, 16, "2", 1, &v, err, sizeof err), -1);
    ck_assert_int_eq(mpc_value_parse(MPC_T_BOOL, 16, "TRUE", 4, &v, err, sizeof err), -1);
    ck_assert_str_eq(s_fmt(MPC_T_BOOL, 16, 1, b), "1");
    ck_assert_str_eq(s_fmt(MPC_T_BOOL, 16, 0, b), "0");
}
END_TEST

START_TEST(test_lists_and_files)
{
    char err[256];
    uint64_t *v = NULL, n = 0;
    ck_assert_int_eq(mpc_values_load(MPC_T_INT, 16, "1,2, 3\n4\t5 ,6,", &v, &n, err, sizeof err), 0);
    ck_assert_uint_eq(n, 6);
    for (uint64_t i = 0; i < n; i++) ck_assert_uint_eq(v[i], i + 1);
    free(v);
    ck_assert_int_eq(mpc_values_load(MPC_T_FIX, 16, "0.5", &v, &n, err, sizeof err), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(v[0], 32768);
    free(v);
    ck_assert_int_eq(mpc_values_load(MPC_T_INT, 16, "1,,2", &v, &n, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "element 2"));
    ck_assert_ptr_null(v);
    ck_assert_int_eq(mpc_values_load(MPC_T_INT, 16, "1,2,x3", &v, &n, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "element 3"));
    ck_assert_ptr_nonnull(strstr(err, "x3"));
    ck_assert_int_eq(mpc_values_load(MPC_T_INT, 16, " \n", &v, &n, err, sizeof err), -1);

    char path[] = "/tmp/check_value_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    for (int i = 0; i < 5000; i++) fprintf(f, "%d.25%s", i - 2500, i % 10 == 9 ? "\n" : ",");
    fclose(f);
    char spec[64];
    snprintf(spec, sizeof spec, "@%s", path);
    ck_assert_int_eq(mpc_values_load(MPC_T_FIX, 16, spec, &v, &n, err, sizeof err), 0);
    ck_assert_uint_eq(n, 5000);
    for (int i = 0; i < 5000; i++) {
        int64_t want = (int64_t)(i - 2500) * 65536 + ((i - 2500) < 0 ? -16384 : 16384);
        if (i == 2500) want = 16384;
        ck_assert_uint_eq(v[i], (uint64_t)want);
    }
    free(v);
    f = fopen(path, "w");
    fprintf(f, "1\n2\n3\nfour\n");
    fclose(f);
    ck_assert_int_eq(mpc_values_load(MPC_T_INT, 16, spec, &v, &n, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, path));
    ck_assert_ptr_nonnull(strstr(err, "element 4"));
    ck_assert_ptr_nonnull(strstr(err, "four"));
    unlink(path);
    ck_assert_int_eq(mpc_values_load(MPC_T_INT, 16, spec, &v, &n, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, path));
}
END_TEST

/* Random junk over the characters numbers are made of: parse either succeeds with a value
 * that prints and parses back to itself, or fails with a message; never crashes (run
 * under ASan by make asan). */
START_TEST(test_random_text_never_crashes)
{
    static const char alpha[] = "0123456789.eE+-, \n\tx#";
    char s[48], err[256], b[64];
    int ok = 0;
    for (int it = 0; it < 50000; it++) {
        size_t n = s_rand() % sizeof s;
        for (size_t i = 0; i < n; i++) s[i] = alpha[s_rand() % (sizeof alpha - 1)];
        mpc_type t = (mpc_type)(it % 3);
        unsigned f = (unsigned)(s_rand() % 61);
        uint64_t v;
        err[0] = 0;
        if (mpc_value_parse(t, f, s, n, &v, err, sizeof err) == 0) {
            ok++;
            ck_assert_int_gt(mpc_value_format(t, f, v, b, sizeof b), 0);
            uint64_t v2;
            ck_assert_int_eq(mpc_value_parse(t, f, b, strlen(b), &v2, err, sizeof err), 0);
            ck_assert_uint_eq(v2, v);
        } else {
            ck_assert(err[0] != 0);
        }
        uint64_t *list = NULL, ln = 0;
        char spec[64];
        memcpy(spec, s, n);
        spec[n] = 0;
        if (spec[0] == '@') spec[0] = '0';
        if (mpc_values_load(t, f, spec, &list, &ln, err, sizeof err) == 0) ck_assert_uint_gt(ln, 0);
        else ck_assert_ptr_null(list);
        free(list);
    }
    ck_assert_int_gt(ok, 100);
}
END_TEST

/* The reference for the integer parser: the digit loop with a range check on every digit
 * (value.c before its 18-digit fast path), and the sign as value.h defines it. */
static int s_ref_int(const char *s, size_t n, uint64_t *out)
{
    while (n && strchr(" \t\r\n\f\v", *s)) { s++; n--; }
    while (n && strchr(" \t\r\n\f\v", s[n - 1])) n--;
    size_t i = 0;
    int neg = 0;
    if (i < n && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
    if (i == n) return -1;
    uint64_t max = neg ? (1ull << 63) : UINT64_MAX, v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (max - d) / 10) return -1;
        v = v * 10 + d;
    }
    *out = neg ? 0 - v : v;
    return 0;
}

/* The integer fast path (no range check in the first 18 digits) against the reference on
 * the edges — 18/19/20 digits, 2^63 and 2^64 each side, signs, leading zeros, blanks and
 * CR — and on random digit strings of every length up to 24 with junk bytes mixed in. */
START_TEST(test_int_fast_path_matches_reference)
{
    static const char *edge[] = {
        "0", "-0", "+0", "7", "-7", "+7", "999999999999999999", "-999999999999999999",
        "1000000000000000000", "9999999999999999999", "18446744073709551615", "18446744073709551616",
        "-9223372036854775808", "-9223372036854775809", "9223372036854775808", "99999999999999999999",
        "000000000000000000000000000042", "-00000000000000000009223372036854775808", " 12\r", "\t-5 \r\n",
        "12x", "1 2", "-", "+", "--1", "+-1", "1e3", "0x10", "184467440737095516150", ":", "/",
        "12345678901234567\x7f", "\xff" "1", "1\xc2\xa0",
    };
    char err[256];
    for (size_t k = 0; k < sizeof edge / sizeof edge[0]; k++) {
        uint64_t a = 1, b = 2;
        int ra = mpc_value_parse(MPC_T_INT, 16, edge[k], strlen(edge[k]), &a, err, sizeof err);
        int rb = s_ref_int(edge[k], strlen(edge[k]), &b);
        ck_assert_msg(ra == rb, "'%s': parse %d, reference %d", edge[k], ra, rb);
        if (ra == 0) ck_assert_uint_eq(a, b);
        else ck_assert(strstr(err, "integer") || strstr(err, "out of range") || strstr(err, "empty"));
    }
    static const char alpha[] = "0123456789999990000-+ \r";
    char s[32];
    for (int it = 0; it < 200000; it++) {
        size_t n = 1 + s_rand() % 24;
        for (size_t i = 0; i < n; i++) s[i] = (char)('0' + s_rand() % 10);
        if (s_rand() % 4 == 0) s[0] = "-+ "[s_rand() % 3];
        if (s_rand() % 8 == 0) s[s_rand() % n] = alpha[s_rand() % (sizeof alpha - 1)];
        uint64_t a = 1, b = 2;
        int ra = mpc_value_parse(MPC_T_INT, 16, s, n, &a, err, sizeof err);
        int rb = s_ref_int(s, n, &b);
        ck_assert_msg(ra == rb, "'%.*s': parse %d, reference %d", (int)n, s, ra, rb);
        if (ra == 0) ck_assert_uint_eq(a, b);
    }
}
END_TEST

/* A file as `mpc run --input x=@FILE` gives it: a byte-order mark and a header, CRLF line
 * ends, signs and blanks, values of 18 to 20 digits; the array is sized from the separators
 * (never more elements than separators + 1, even with no final newline), and an error names
 * the file and the element. */
START_TEST(test_file_load_tricky)
{
    char path[] = "/tmp/check_value_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    fputs("\xEF\xBB\xBFx\r\n-5\r\n +7 \r\n\t-9223372036854775808\r\n18446744073709551615\r\n"
          "999999999999999999,-1000000000000000000\r\n0", f);
    fclose(f);
    char spec[64], err[256];
    snprintf(spec, sizeof spec, "@%s", path);
    uint64_t *v = NULL, n = 0;
    ck_assert_int_eq(mpc_values_load(MPC_T_INT, 16, spec, &v, &n, err, sizeof err), 0);
    const uint64_t want[] = {(uint64_t)-5, 7, 1ull << 63, UINT64_MAX, 999999999999999999ull,
                             (uint64_t)-1000000000000000000ll, 0};
    ck_assert_uint_eq(n, sizeof want / sizeof want[0]);
    for (uint64_t i = 0; i < n; i++) ck_assert_uint_eq(v[i], want[i]);
    free(v);
    f = fopen(path, "w");
    fputs("1\r\n2\r\n18446744073709551616\r\n", f);
    fclose(f);
    ck_assert_int_eq(mpc_values_load(MPC_T_INT, 16, spec, &v, &n, err, sizeof err), -1);
    ck_assert_ptr_null(v);
    ck_assert_ptr_nonnull(strstr(err, path));
    ck_assert_ptr_nonnull(strstr(err, "element 3"));
    ck_assert_ptr_nonnull(strstr(err, "out of range"));
    f = fopen(path, "w");   /* one value, no separator at all: room for exactly one */
    fputs("-42", f);
    fclose(f);
    ck_assert_int_eq(mpc_values_load(MPC_T_INT, 16, spec, &v, &n, err, sizeof err), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(v[0], (uint64_t)-42);
    free(v);
    f = fopen(path, "w");   /* empty file */
    fclose(f);
    ck_assert_int_eq(mpc_values_load(MPC_T_INT, 16, spec, &v, &n, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "no values"));
    unlink(path);
}
END_TEST

/* Into a caller's buffer: the count is that of the whole text even past the buffer's end
 * (the values past it are checked, not stored); a failure zeroes the buffer; the same values
 * as mpc_values_load. */
START_TEST(test_load_into)
{
    char err[256];
    uint64_t buf[4] = {9, 9, 9, 9}, n = 0, *v = NULL, vn = 0;
    ck_assert_int_eq(mpc_values_load_into(MPC_T_INT, 16, "1, -2\r\n3", buf, 4, &n, err, sizeof err), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(buf[0], 1);
    ck_assert_uint_eq(buf[1], (uint64_t)-2);
    ck_assert_uint_eq(buf[2], 3);
    ck_assert_uint_eq(buf[3], 9);   /* not written */
    ck_assert_int_eq(mpc_values_load_into(MPC_T_INT, 16, "1 2 3 4 5 6", buf, 4, &n, err, sizeof err), 0);
    ck_assert_uint_eq(n, 6);
    ck_assert_uint_eq(buf[3], 4);
    ck_assert_int_eq(mpc_values_load_into(MPC_T_INT, 16, "1 2 3 4 5 x6", buf, 4, &n, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "element 6"));
    for (int i = 0; i < 4; i++) ck_assert_uint_eq(buf[i], 0);
    ck_assert_int_eq(mpc_values_load_into(MPC_T_FIX, 16, "0.5,-1.25", buf, 4, &n, err, sizeof err), 0);
    ck_assert_int_eq(mpc_values_load(MPC_T_FIX, 16, "0.5,-1.25", &v, &vn, err, sizeof err), 0);
    ck_assert_uint_eq(vn, n);
    ck_assert_mem_eq(v, buf, 2 * 8);
    free(v);
    ck_assert_int_eq(mpc_values_load_into(MPC_T_INT, 16, "@/nonexistent/check_value", buf, 4, &n, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/check_value"));
}
END_TEST

START_TEST(test_double_helpers)
{
    char *text = NULL;
    size_t tn = 0;
    FILE *f = open_memstream(&text, &tn);
    const uint64_t v[3] = {32768, (uint64_t)-65536, 21845};
    ck_assert_int_eq(mpc_values_fprint(f, MPC_T_FIX, 16, v, 3, ", "), 0);
    fclose(f);
    ck_assert_str_eq(text, "0.5, -1, 0.33333");
    free(text);
    ck_assert_uint_eq(mpc_fix_from_double(0.5, 16), 32768);
    ck_assert_uint_eq(mpc_fix_from_double(-1.5, 16), (uint64_t)-98304);
    ck_assert(mpc_fix_to_double((uint64_t)-98304, 16) == -1.5);
    ck_assert(mpc_fix_to_double(1ull << 63, 16) == -140737488355328.0);
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("value");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_fix_parse_exact);
    tcase_add_test(tc, test_fix_long_digit_strings);
    tcase_add_test(tc, test_fix_format_examples);
    tcase_add_test(tc, test_fix_round_trip_random_and_shortest);
    tcase_add_test(tc, test_fix_paths_agree);
    tcase_add_test(tc, test_int_and_bool);
    tcase_add_test(tc, test_lists_and_files);
    tcase_add_test(tc, test_random_text_never_crashes);
    tcase_add_test(tc, test_int_fast_path_matches_reference);
    tcase_add_test(tc, test_file_load_tricky);
    tcase_add_test(tc, test_load_into);
    tcase_add_test(tc, test_double_helpers);
    suite_add_tcase(s, tc);
    return s;
}

