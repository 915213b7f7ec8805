/* check_lex.c — the lexer: token kinds, values, positions, comments, ranges, errors. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"
#include "lex.h"

typedef struct {
    mpc_token_kind kind;
    uint32_t       line, col;
    const char    *text;
} s_want;

static void s_expect_tokens(const char *src, const s_want *w, size_t n)
{
    mpc_lexer L;
    mpc_diag d;
    mpc_diag_init(&d, "t.mpc", src, strlen(src));
    mpc_lex_init(&L, src, strlen(src), &d);
    for (size_t i = 0; i < n; i++) {
        mpc_token t;
        mpc_lex_next(&L, &t);
        ck_assert_msg(t.kind == w[i].kind, "token %zu: kind %s, want %s", i, mpc_token_names[t.kind],
                      mpc_token_names[w[i].kind]);
        ck_assert_uint_eq(t.line, w[i].line);
        ck_assert_uint_eq(t.col, w[i].col);
        if (w[i].text) {
            ck_assert_uint_eq(t.len, strlen(w[i].text));
            ck_assert(memcmp(t.text, w[i].text, t.len) == 0);
        }
    }
    ck_assert_uint_eq(d.n_errors, 0);
    mpc_diag_free(&d);
}

START_TEST(test_statement_tokens)
{
    const char *src = "party a, b  # the parties\n"
                      "input x: fix[N] from a\n"
                      "output s = x <= 2.50 to a\n";
    const s_want w[] = {
        {MPC_TK_PARTY, 1, 1, "party"}, {MPC_TK_NAME, 1, 7, "a"}, {MPC_TK_COMMA, 1, 8, ","},
        {MPC_TK_NAME, 1, 10, "b"},
        {MPC_TK_INPUT, 2, 1, NULL}, {MPC_TK_NAME, 2, 7, "x"}, {MPC_TK_COLON, 2, 8, NULL},
        {MPC_TK_KFIX, 2, 10, NULL}, {MPC_TK_LBRACKET, 2, 13, NULL}, {MPC_TK_NAME, 2, 14, "N"},
        {MPC_TK_RBRACKET, 2, 15, NULL}, {MPC_TK_FROM, 2, 17, NULL}, {MPC_TK_NAME, 2, 22, "a"},
        {MPC_TK_OUTPUT, 3, 1, NULL}, {MPC_TK_NAME, 3, 8, "s"}, {MPC_TK_ASSIGN, 3, 10, NULL},
        {MPC_TK_NAME, 3, 12, "x"}, {MPC_TK_LE, 3, 14, "<="}, {MPC_TK_DEC, 3, 17, "2.50"},
        {MPC_TK_TO, 3, 22, NULL}, {MPC_TK_NAME, 3, 25, "a"}, {MPC_TK_EOF, 4, 1, NULL},
        {MPC_TK_EOF, 4, 1, NULL},
    };
    s_expect_tokens(src, w, sizeof w / sizeof w[0]);
}
END_TEST

START_TEST(test_operators_and_ranges)
{
    /* "0..4" is INT DOTDOT INT, not a decimal. */
    const char *src = "for i in 0..4 { } a!=b==c<d>e>=f?g:h; -x*y/z (v)[1:2] var";
    const s_want w[] = {
        {MPC_TK_FOR, 1, 1, NULL}, {MPC_TK_NAME, 1, 5, "i"}, {MPC_TK_IN, 1, 7, NULL},
        {MPC_TK_INT, 1, 10, "0"}, {MPC_TK_DOTDOT, 1, 11, ".."}, {MPC_TK_INT, 1, 13, "4"},
        {MPC_TK_LBRACE, 1, 15, NULL}, {MPC_TK_RBRACE, 1, 17, NULL},
        {MPC_TK_NAME, 1, 19, "a"}, {MPC_TK_NE, 1, 20, "!="}, {MPC_TK_NAME, 1, 22, "b"},
        {MPC_TK_EQ, 1, 23, "=="}, {MPC_TK_NAME, 1, 25, "c"}, {MPC_TK_LT, 1, 26, NULL},
        {MPC_TK_NAME, 1, 27, "d"}, {MPC_TK_GT, 1, 28, NULL}, {MPC_TK_NAME, 1, 29, "e"},
        {MPC_TK_GE, 1, 30, NULL}, {MPC_TK_NAME, 1, 32, "f"}, {MPC_TK_QUESTION, 1, 33, NULL},
        {MPC_TK_NAME, 1, 34, "g"}, {MPC_TK_COLON, 1, 35, NULL}, {MPC_TK_NAME, 1, 36, "h"},
        {MPC_TK_SEMI, 1, 37, NULL}, {MPC_TK_MINUS, 1, 39, NULL}, {MPC_TK_NAME, 1, 40, "x"},
        {MPC_TK_STAR, 1, 41, NULL}, {MPC_TK_NAME, 1, 42, "y"}, {MPC_TK_SLASH, 1, 43, NULL},
        {MPC_TK_NAME, 1, 44, "z"}, {MPC_TK_LPAREN, 1, 46, NULL}, {MPC_TK_NAME, 1, 47, "v"},
        {MPC_TK_RPAREN, 1, 48, NULL}, {MPC_TK_LBRACKET, 1, 49, NULL}, {MPC_TK_INT, 1, 50, NULL},
        {MPC_TK_COLON, 1, 51, NULL}, {MPC_TK_INT, 1, 52, NULL}, {MPC_TK_RBRACKET, 1, 53, NULL},
        /* var is not reserved */
        {MPC_TK_NAME, 1, 55, "var"}, {MPC_TK_EOF, 1, 58, NULL},
    };
    s_expect_tokens(src, w, sizeof w / sizeof w[0]);
}
END_TEST

START_TEST(test_table_column)
{
    /* "labs.age" is NAME DOT NAME; "0..4" stays a range */
    const char *src = "labs.age 0..4";
    const s_want w[] = {
        {MPC_TK_NAME, 1, 1, "labs"}, {MPC_TK_DOT, 1, 5, "."}, {MPC_TK_NAME, 1, 6, "age"},
        {MPC_TK_INT, 1, 10, "0"}, {MPC_TK_DOTDOT, 1, 11, ".."}, {MPC_TK_INT, 1, 13, "4"},
        {MPC_TK_EOF, 1, 14, NULL},
    };
    s_expect_tokens(src, w, sizeof w / sizeof w[0]);
}
END_TEST

START_TEST(test_integer_values)
{
    const char *src = "0 42 18446744073709551615 007";
    mpc_lexer L;
    mpc_token t;
    mpc_lex_init(&L, src, strlen(src), NULL);
    const uint64_t want[] = {0, 42, UINT64_MAX, 7};
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(mpc_lex_next(&L, &t), MPC_TK_INT);
        ck_assert_uint_eq(t.ival, want[i]);
    }
    ck_assert_int_eq(mpc_lex_next(&L, &t), MPC_TK_EOF);
}
END_TEST

static void s_expect_error(const char *src, uint32_t line, uint32_t col, const char *msg)
{
    mpc_lexer L;
    mpc_diag d;
    mpc_token t;
    mpc_diag_init(&d, "t.mpc", src, strlen(src));
    mpc_lex_init(&L, src, strlen(src), &d);
    mpc_token_kind k;
    while ((k = mpc_lex_next(&L, &t)) != MPC_TK_ERROR && k != MPC_TK_EOF) {}
    ck_assert_int_eq(k, MPC_TK_ERROR);
    const mpc_diag_item *it = mpc_diag_first_error(&d);
    ck_assert_ptr_nonnull(it);
    ck_assert_uint_eq(it->line, line);
    ck_assert_uint_eq(it->col, col);
    ck_assert_str_eq(it->msg, msg);
    mpc_diag_free(&d);
}

START_TEST(test_errors)
{
    s_expect_error("a\n  b @", 2, 5, "unexpected character '@'");
    s_expect_error("x = 18446744073709551616", 1, 5, "integer literal '18446744073709551616' does not fit in 64 bits");
    s_expect_error("3x", 1, 1, "malformed number '3x'");
    s_expect_error("1.2.3", 1, 1, "malformed number '1.2.3'");
    s_expect_error("a ! b", 1, 3, "unexpected character '!'");
    s_expect_error("a . b $", 1, 7, "unexpected character '$'");
    s_expect_error("a \x01", 1, 3, "unexpected byte 0x01");
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("lex");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_statement_tokens);
    tcase_add_test(tc, test_operators_and_ranges);
    tcase_add_test(tc, test_integer_values);
    tcase_add_test(tc, test_table_column);
    tcase_add_test(tc, test_errors);
    suite_add_tcase(s, tc);
    return s;
}

