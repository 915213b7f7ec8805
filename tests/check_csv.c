/* check_csv.c — the streaming CSV reader and the table loader (circuits/csv.h, table.h):
 * RFC 4180 quoting, CRLF, a byte-order mark, empty lines, thousands of columns, a file of
 * 10^6 rows written here, errors with their exact positions; and mpcc --eval on a table
 * program against values computed here. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "proc.h"
#include "runner.h"
#include "table.h"
#include "value.h"

/* Writes text to a file in the scratch directory; returns its path (static buffer per slot). */
static const char *s_file(int slot, const char *name, const char *text, size_t len)
{
    static char paths[4][512];
    snprintf(paths[slot], sizeof paths[slot], "%s/%s", tp_scratch(), name);
    FILE *f = fopen(paths[slot], "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(text, 1, len, f), len);
    fclose(f);
    return paths[slot];
}

static const char *s_text(const char *name, const char *text) { return s_file(0, name, text, strlen(text)); }

START_TEST(test_quoting_crlf_bom)
{
    const char *p = s_text("q.csv", "\xEF\xBB\xBF" "a,\"b,c\",\"say \"\"hi\"\"\"\r\n"
                                    "\r\n"
                                    "1,\"two\r\nlines\",\r\n"
                                    "\n\n");
    mpc_csv *r;
    char err[256];
    ck_assert_int_eq(mpc_csv_open(p, 0, &r, err, sizeof err), 0);
    mpc_csv_record rec;
    ck_assert_int_eq(mpc_csv_next(r, &rec, err, sizeof err), 1);
    ck_assert_uint_eq(rec.n, 3);
    ck_assert_str_eq(rec.text[0], "a");   /* the BOM is not part of the first name */
    ck_assert_str_eq(rec.text[1], "b,c");
    ck_assert_str_eq(rec.text[2], "say \"hi\"");
    ck_assert_uint_eq(rec.len[2], 8);
    ck_assert_uint_eq(rec.line[1], 1);
    ck_assert_uint_eq(rec.col[1], 3);
    ck_assert_int_eq(mpc_csv_next(r, &rec, err, sizeof err), 1);   /* the empty line is skipped */
    ck_assert_uint_eq(rec.n, 3);
    ck_assert_str_eq(rec.text[0], "1");
    ck_assert_uint_eq(rec.line[0], 3);
    ck_assert_str_eq(rec.text[1], "two\r\nlines");
    ck_assert_uint_eq(rec.len[2], 0);   /* an empty last field */
    ck_assert_uint_eq(rec.line[2], 4);
    ck_assert_int_eq(mpc_csv_next(r, &rec, err, sizeof err), 0);   /* trailing empty lines */
    mpc_csv_close(&r);
    ck_assert_ptr_null(r);
    uint64_t rows;
    ck_assert_int_eq(mpc_csv_count_rows(p, 0, &rows, err, sizeof err), 0);
    ck_assert_uint_eq(rows, 1);
}
END_TEST

START_TEST(test_separators)
{
    char sep;
    ck_assert_int_eq(mpc_csv_parse_sep(";", &sep), 0);
    ck_assert_int_eq(sep, ';');
    ck_assert_int_eq(mpc_csv_parse_sep("tab", &sep), 0);
    ck_assert_int_eq(sep, '\t');
    ck_assert_int_eq(mpc_csv_parse_sep("|", &sep), -1);
    const char *p = s_text("t.tsv", "x\ty\n1,5\t\"a\tb\"\n");
    mpc_csv *r;
    char err[256];
    ck_assert_int_eq(mpc_csv_open(p, '\t', &r, err, sizeof err), 0);
    mpc_csv_record rec;
    ck_assert_int_eq(mpc_csv_next(r, &rec, err, sizeof err), 1);
    ck_assert_int_eq(mpc_csv_next(r, &rec, err, sizeof err), 1);
    ck_assert_uint_eq(rec.n, 2);
    ck_assert_str_eq(rec.text[0], "1,5");
    ck_assert_str_eq(rec.text[1], "a\tb");
    mpc_csv_close(&r);
}
END_TEST

/* The first error of reading every record of text, with its position. */
static void s_expect_error(const char *text, const char *want)
{
    const char *p = s_text("e.csv", text);
    mpc_csv *r;
    char err[256] = "", full[600];
    ck_assert_int_eq(mpc_csv_open(p, 0, &r, err, sizeof err), 0);
    mpc_csv_record rec;
    int k;
    while ((k = mpc_csv_next(r, &rec, err, sizeof err)) == 1) {}
    mpc_csv_close(&r);
    ck_assert_int_eq(k, -1);
    snprintf(full, sizeof full, "%s:%s", p, want);
    ck_assert_str_eq(err, full);
}

START_TEST(test_syntax_errors)
{
    s_expect_error("a,b\n1,\"2\n", "2:3: error: unterminated quoted field (no closing '\"' before the end of the file)");
    s_expect_error("a,b\n1,\"2\"x\n", "2:6: error: unexpected character after a closing quote (a quote inside a "
                   "quoted field is written \"\")");
    s_expect_error("a,b\r\n1,2\"\r\n", "2:4: error: a quote inside an unquoted field (quote the whole field: \"...\")");
    /* a hostile record of separators is bounded */
    size_t n = ((size_t)1 << 20) + 5;
    char *many = malloc(n + 1);
    ck_assert_ptr_nonnull(many);
    memset(many, ',', n);
    many[n] = 0;
    s_expect_error(many, "1:1048577: error: more than 1048576 fields in one record");
    free(many);
}
END_TEST

/* Reads table text with columns cols; returns mpc_table_read's result, err. */
static int s_read(const char *text, mpc_table_col *cols, size_t n, const mpc_csv_opts *o, uint64_t *rows,
                  char *err, size_t errlen)
{
    const char *p = s_text("tab.csv", text);
    int r = mpc_table_read(p, o, 16, cols, n, rows, err, errlen);
    if (r != 0) {   /* drop the scratch path: messages are compared from the file name on */
        const char *base = strrchr(err, '/');
        if (base) memmove(err, base + 1, strlen(base + 1) + 1);
    }
    return r;
}

START_TEST(test_table_columns)
{
    mpc_table_col cols[3] = {{.name = "age", .type = MPC_T_INT},
                             {.name = "glucose", .type = MPC_T_FIX, .has_default = 1, .dflt = 3 << 16},
                             {.name = "smoker", .type = MPC_T_BOOL}};
    uint64_t rows;
    char err[300];
    /* extra columns are ignored, the order is the header's, a missing glucose takes its default */
    ck_assert_int_eq(s_read("id, smoker ,glucose,\"age\"\nx1,1,5.5,30\nx2,false,,-4\n", cols, 3, NULL, &rows, err,
                            sizeof err), 0);
    ck_assert_uint_eq(rows, 2);
    ck_assert_uint_eq(cols[0].vals[0], 30);
    ck_assert_uint_eq(cols[0].vals[1], (uint64_t)-4);
    ck_assert_uint_eq(cols[1].vals[0], 11u << 15);
    ck_assert_uint_eq(cols[1].vals[1], 3u << 16);
    ck_assert_uint_eq(cols[2].vals[0], 1);
    ck_assert_uint_eq(cols[2].vals[1], 0);
    for (int i = 0; i < 3; i++) free(cols[i].vals);

    ck_assert_int_eq(s_read("age,glucose\n1,2\n", cols, 3, NULL, &rows, err, sizeof err), -1);
    ck_assert_str_eq(err, "tab.csv:1:1: error: the header has no column 'smoker' (a table's file needs a header "
                     "naming its columns)");
    ck_assert_int_eq(s_read("age,glucose,smoker,age\n1,2,1,1\n", cols, 3, NULL, &rows, err, sizeof err), -1);
    ck_assert_str_eq(err, "tab.csv:1:20: error: column 'age' appears twice in the header (first at column 1)");
    ck_assert_int_eq(s_read("age,glucose,smoker\n1,2,1\n2,2.5e,1\n", cols, 3, NULL, &rows, err, sizeof err), -1);
    ck_assert_str_eq(err, "tab.csv:3:3: error: column 'glucose': not a valid fix value (a decimal number in the "
                     "range of fix)");
    ck_assert_int_eq(s_read("age,glucose,smoker\n1,2,1\n7,2,2\n", cols, 3, NULL, &rows, err, sizeof err), -1);
    ck_assert_str_eq(err, "tab.csv:3:5: error: column 'smoker': not a valid bool value (0, 1, true or false)");
    ck_assert_int_eq(s_read("age,glucose,smoker\n1,2,1\n,2,1\n", cols, 3, NULL, &rows, err, sizeof err), -1);
    ck_assert_str_eq(err, "tab.csv:3:1: error: column 'age': missing value (give the column a default in the "
                     "program, or --missing=zero)");
    ck_assert_int_eq(s_read("age,glucose,smoker\n1,2\n", cols, 3, NULL, &rows, err, sizeof err), -1);
    ck_assert_str_eq(err, "tab.csv:2:1: error: this row has 2 fields, the header 3");
    ck_assert_int_eq(s_read("age,glucose,smoker\n\n", cols, 3, NULL, &rows, err, sizeof err), -1);
    ck_assert_str_eq(err, "tab.csv:3:1: error: no data rows after the header");
    ck_assert_int_eq(s_read("", cols, 3, NULL, &rows, err, sizeof err), -1);
    ck_assert_str_eq(err, "tab.csv:1:1: error: the file is empty (a table's file needs a header and rows)");
    /* --missing=zero */
    mpc_csv_opts o = {0, 1};
    ck_assert_int_eq(s_read("age,glucose,smoker\n \"\" ,,\n", cols, 3, &o, &rows, err, sizeof err), -1);
    ck_assert_int_eq(s_read("age,glucose,smoker\n,,\n", cols, 3, &o, &rows, err, sizeof err), 0);
    ck_assert_uint_eq(cols[0].vals[0], 0);
    ck_assert_uint_eq(cols[1].vals[0], 3u << 16);
    ck_assert_uint_eq(cols[2].vals[0], 0);
    for (int i = 0; i < 3; i++) free(cols[i].vals);
}
END_TEST

START_TEST(test_thousands_of_columns)
{
    enum { NC = 3000 };
    size_t cap = (size_t)NC * 16 * 3, n = 0;
    char *text = malloc(cap);
    ck_assert_ptr_nonnull(text);
    for (int row = -1; row < 2; row++)
        for (int c = 0; c < NC; c++)
            n += (size_t)snprintf(text + n, cap - n, row < 0 ? "c%d%s" : "%d%s", row < 0 ? c : c * 10 + row,
                                  c + 1 == NC ? "\n" : ",");
    const char *p = s_file(1, "wide.csv", text, n);
    free(text);
    mpc_table_col cols[2] = {{.name = "c2999", .type = MPC_T_INT}, {.name = "c7", .type = MPC_T_INT}};
    uint64_t rows;
    char err[300];
    ck_assert_int_eq(mpc_table_read(p, NULL, 16, cols, 2, &rows, err, sizeof err), 0);
    ck_assert_uint_eq(rows, 2);
    ck_assert_uint_eq(cols[0].vals[1], 29991);
    ck_assert_uint_eq(cols[1].vals[0], 70);
    free(cols[0].vals);
    free(cols[1].vals);
}
END_TEST

START_TEST(test_million_rows)
{
    enum { N = 1000000 };
    char path[512];
    snprintf(path, sizeof path, "%s/big.csv", tp_scratch());
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fputs("i,x,flag\r\n", f);
    for (int i = 0; i < N; i++) fprintf(f, "%d,\"%d.5\",%d\r\n", i, -i, i % 3 == 0);
    fclose(f);
    mpc_table_col cols[3] = {{.name = "flag", .type = MPC_T_BOOL}, {.name = "x", .type = MPC_T_FIX},
                             {.name = "i", .type = MPC_T_INT}};
    uint64_t rows;
    char err[300];
    ck_assert_int_eq(mpc_table_read(path, NULL, 16, cols, 3, &rows, err, sizeof err), 0);
    ck_assert_uint_eq(rows, N);
    uint64_t sum = 0, flags = 0;
    for (int i = 0; i < N; i++) {
        sum += cols[2].vals[i];
        flags += cols[0].vals[i];
        /* "-i.5" is -(i + 0.5); "0.5" for i = 0 */
        ck_assert_uint_eq(cols[1].vals[i], i ? 0 - ((uint64_t)i * 65536 + 32768) : 32768);
    }
    ck_assert_uint_eq(sum, (uint64_t)N * (N - 1) / 2);
    ck_assert_uint_eq(flags, (N + 2) / 3);
    for (int i = 0; i < 3; i++) free(cols[i].vals);
    ck_assert_int_eq(mpc_csv_count_rows(path, 0, &rows, err, sizeof err), 0);
    ck_assert_uint_eq(rows, N);
}
END_TEST

/* mpcc --eval: the row count from the file, -D that must match, defaults, a bad cell. */
START_TEST(test_mpcc_eval_table)
{
    const char *prog = "party a, b\n"
                       "param N\n"
                       "input labs: table(age: int in 0..120, glucose: fix = 1.5 in 0..50, smoker: bool)[N] from a\n"
                       "input w: fix from b in -10..10\n"
                       "output g = sum(labs.glucose * w), s = count(labs.smoker), older = labs.age > 40 to a\n";
    char pp[512], cp[512];
    snprintf(pp, sizeof pp, "%s", s_file(2, "t.mpc", prog, strlen(prog)));
    snprintf(cp, sizeof cp, "%s", s_text("labs.csv", "id,age,glucose,smoker\r\n7,30,5.5,1\r\n8,41,,0\r\n"
                                                     "9,52,\"7.25\",true\r\n\r\n"));
    tp_cmd r;
    tp_run(&r, "mpcc", "--eval %s --input labs=@%s --input w=2", pp, cp);
    ck_assert_msg(r.status == 0, "%s", r.err);
    ck_assert_str_eq(r.out, "g = 28.5\ns = 2\nolder = 0, 1, 1\n");
    tp_run(&r, "mpcc", "--eval -D N=3 %s --input labs=@%s --input w=2", pp, cp);
    ck_assert_int_eq(r.status, 0);
    tp_run(&r, "mpcc", "--eval -D N=4 %s --input labs=@%s --input w=2", pp, cp);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.err, "3 data rows, but table 'labs' has 4 rows") != NULL, "%s", r.err);
    snprintf(cp, sizeof cp, "%s", s_text("bad.csv", "age,glucose,smoker\n1,2,1\n2,3,maybe\n"));
    tp_run(&r, "mpcc", "--eval %s --input labs=@%s --input w=2", pp, cp);
    ck_assert_int_eq(r.status, 1);
    char want[700];
    snprintf(want, sizeof want, "%s:3:5: error: column 'smoker': not a valid bool value (0, 1, true or false)\n", cp);
    ck_assert_str_eq(r.err, want);
    /* plain vector files keep today's format */
    snprintf(cp, sizeof cp, "%s", s_text("v.txt", "1, 2\n3\n"));
    tp_run(&r, "mpcc", "--eval -D N=3 %s --input labs.age=@%s --input labs.glucose=1,2,3 --input labs.smoker=0,0,1 "
           "--input w=1", pp, cp);
    ck_assert_msg(r.status == 0, "%s", r.err);
    ck_assert_str_eq(r.out, "g = 6\ns = 1\nolder = 0, 0, 0\n");
    /* ... and a single column with a header line, a BOM and CRLF */
    snprintf(cp, sizeof cp, "%s", s_text("col.csv", "\xEF\xBB\xBF" "age\r\n41\r\n2\r\n50\r\n\r\n"));
    tp_run(&r, "mpcc", "--eval -D N=3 %s --input labs.age=@%s --input labs.glucose=1,2,3 --input labs.smoker=0,0,1 "
           "--input w=1", pp, cp);
    ck_assert_msg(r.status == 0, "%s", r.err);
    ck_assert_str_eq(r.out, "g = 6\ns = 1\nolder = 1, 0, 1\n");
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("csv");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_quoting_crlf_bom);
    tcase_add_test(tc, test_separators);
    tcase_add_test(tc, test_syntax_errors);
    tcase_add_test(tc, test_table_columns);
    tcase_add_test(tc, test_thousands_of_columns);
    tcase_add_test(tc, test_million_rows);
    tcase_add_test(tc, test_mpcc_eval_table);
    suite_add_tcase(s, tc);
    return s;
}
