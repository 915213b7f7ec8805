/* check_parse.c — the parser: precedence and associativity, every statement form, and
 * syntax errors with their positions. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"
#include "parse.h"

/* The S-expression of the expression in "let e = <expr>". */
static void s_expr_is(const char *expr, const char *want)
{
    char src[512], got[512];
    snprintf(src, sizeof src, "let e = %s", expr);
    mpc_diag d;
    mpc_ast ast;
    mpc_diag_init(&d, "t.mpc", src, strlen(src));
    ck_assert_msg(mpc_parse(src, strlen(src), &d, &ast) == 0, "parse failed: %s",
                  d.n_items ? d.items[0].msg : "?");
    ck_assert_uint_eq(ast.root->n_kids, 1);
    mpc_ast_sexpr(ast.root->kids[0]->kids[0], got, sizeof got);
    ck_assert_msg(strcmp(got, want) == 0, "%s: got %s, want %s", expr, got, want);
    mpc_ast_free(&ast);
    mpc_diag_free(&d);
}

START_TEST(test_precedence)
{
    s_expr_is("a + b * c", "(+ a (* b c))");
    s_expr_is("a * b + c", "(+ (* a b) c)");
    s_expr_is("a - b - c", "(- (- a b) c)");
    s_expr_is("a / b * c", "(* (/ a b) c)");
    s_expr_is("-a * b", "(* (neg a) b)");
    s_expr_is("- - a", "(neg (neg a))");
    s_expr_is("-x[1]", "(neg (index x 1))");
    s_expr_is("a + b < c * d", "(< (+ a b) (* c d))");
    s_expr_is("a < b == c > d", "(== (< a b) (> c d))");
    s_expr_is("a != b", "(!= a b)");
    s_expr_is("(a + b) * c", "(* (+ a b) c)");
    s_expr_is("c ? a + 1 : b", "(? c (+ a 1) b)");
    s_expr_is("a < b ? x : y ? z : w", "(? (< a b) x (? y z w))");
    s_expr_is("f(a, b * 2)[3]", "(index (call f a (* b 2)) 3)");
    s_expr_is("x[1:n - 1]", "(slice x 1 (- n 1))");
    s_expr_is("x[:2] + x[2:]", "(+ (slice x _ 2) (slice x 2 _))");
    s_expr_is("fix(k) * int(y) + 2.25", "(+ (* (call fix k) (call int y)) 2.25)");
    s_expr_is("sum(v > t)", "(call sum (> v t))");
    s_expr_is("true ? 1 : 0", "(? true 1 0)");
    s_expr_is("g()", "(call g)");
}
END_TEST

START_TEST(test_statements)
{
    const char *src =
        "party a, b\n"
        "precision 20\n"
        "param N = 4\n"
        "input x: int[N] from a; input y: bool from b\n"
        "var acc = 0\n"
        "for i in 0..N { acc = acc + x[i] }\n"
        "fn sq(v, w) { let t = v * w return t }\n"
        "let var = sq(acc, 2)\n"
        "output var, o = -acc to a, b\n";
    const char *want[] = {
        "(party [a b])",
        "(precision 20)",
        "(param N 4)",
        "(input x int N [a])",
        "(input y bool _ [b])",
        "(var acc 0)",
        "(for i 0 N (block (assign acc (+ acc (index x i)))))",
        "(fn sq (block (let t (* v w)) (return t)) [v w])",
        "(let var (call sq acc 2))",
        "(output (outitem var _) (outitem o (neg acc)) [a b])",
    };
    mpc_diag d;
    mpc_ast ast;
    mpc_diag_init(&d, "t.mpc", src, strlen(src));
    ck_assert_int_eq(mpc_parse(src, strlen(src), &d, &ast), 0);
    ck_assert_uint_eq(ast.root->n_kids, sizeof want / sizeof want[0]);
    for (uint32_t i = 0; i < ast.root->n_kids; i++) {
        char got[512];
        mpc_ast_sexpr(ast.root->kids[i], got, sizeof got);
        ck_assert_msg(strcmp(got, want[i]) == 0, "statement %u: got %s, want %s", i, got, want[i]);
    }
    /* Positions: the binary operator's own column. */
    const mpc_node *out = ast.root->kids[9];
    ck_assert_uint_eq(out->line, 9);
    ck_assert_uint_eq(out->kids[1]->col, 13);
    ck_assert_uint_eq(out->kids[1]->kids[0]->col, 17);   /* the '-' */
    const mpc_node *loop = ast.root->kids[6];
    const mpc_node *plus = loop->kids[2]->kids[0]->kids[0];
    ck_assert_int_eq(plus->op, MPC_TK_PLUS);
    ck_assert_uint_eq(plus->line, 6);
    ck_assert_uint_eq(plus->col, 27);
    mpc_ast_free(&ast);
    mpc_diag_free(&d);
}
END_TEST

START_TEST(test_tables)
{
    const char *src =
        "param N\n"
        "input labs: table(age: int in 0..120, glucose: fix = -2.5, smoker: bool = true)[N] from a\n"
        "let g = labs.glucose[0] + labs.age\n"
        "let table = 1\n";   /* "table" is not reserved */
    const char *want[] = {
        "(param N _)",
        "(table labs N (column age int _ 0 120) (column glucose fix (neg 2.5) _ _) (column smoker bool true _ _) [a])",
        "(let g (+ (index labs.glucose 0) labs.age))",
        "(let table 1)",
    };
    mpc_diag d;
    mpc_ast ast;
    mpc_diag_init(&d, "t.mpc", src, strlen(src));
    ck_assert_int_eq(mpc_parse(src, strlen(src), &d, &ast), 0);
    ck_assert_uint_eq(ast.root->n_kids, sizeof want / sizeof want[0]);
    for (uint32_t i = 0; i < ast.root->n_kids; i++) {
        char got[512];
        mpc_ast_sexpr(ast.root->kids[i], got, sizeof got);
        ck_assert_msg(strcmp(got, want[i]) == 0, "statement %u: got %s, want %s", i, got, want[i]);
    }
    char text[32];
    ck_assert_int_eq(mpc_column_default_text(ast.root->kids[1]->kids[2], text, sizeof text), 0);
    ck_assert_str_eq(text, "-2.5");
    ck_assert_int_eq(mpc_column_default_text(ast.root->kids[1]->kids[3], text, sizeof text), 0);
    ck_assert_str_eq(text, "true");
    ck_assert_int_eq(mpc_column_default_text(ast.root->kids[1]->kids[1], text, sizeof text), -1);
    mpc_ast_free(&ast);
    mpc_diag_free(&d);
}
END_TEST

static void s_error_is(const char *src, const char *want)
{
    mpc_diag d;
    mpc_ast ast;
    char got[512];
    mpc_diag_init(&d, "t.mpc", src, strlen(src));
    ck_assert_int_eq(mpc_parse(src, strlen(src), &d, &ast), -1);
    ck_assert_ptr_null(ast.root);
    mpc_diag_format(&d, mpc_diag_first_error(&d), got, sizeof got);
    ck_assert_msg(strcmp(got, want) == 0, "got %s, want %s", got, want);
    mpc_diag_free(&d);
}

START_TEST(test_syntax_errors)
{
    s_error_is("let a = (1 + 2\nlet b = 3", "t.mpc:2:1: error: expected ')' near 'let' (to close '(' at 1:9)");
    s_error_is("let a = f(1, 2", "t.mpc:1:15: error: expected ')' at end of input");
    s_error_is("let = 3", "t.mpc:1:5: error: expected a name near '='");
    s_error_is("let a = 3 +", "t.mpc:1:12: error: expected an expression at end of input");
    s_error_is("let a = * 3", "t.mpc:1:9: error: expected an expression near '*'");
    s_error_is("input x int from a", "t.mpc:1:9: error: expected ':' near 'int'");
    s_error_is("for i in 0 4 { }", "t.mpc:1:12: error: expected '..' near '4'");
    s_error_is("for i in 0..4 { let a = 1", "t.mpc:1:26: error: expected '}' at end of input (to close '{' at 1:15)");
    s_error_is("output a to", "t.mpc:1:12: error: expected a party name at end of input");
    s_error_is("fn f(a, a) { return a }", "t.mpc:1:9: error: duplicate parameter 'a'");
    s_error_is("}", "t.mpc:1:1: error: expected a statement near '}'");
    s_error_is("let a = int", "t.mpc:1:12: error: expected '(' after a type name in an expression at end of input");
    s_error_is("let a = b < c >= d", "t.mpc:1:15: error: comparison operators cannot be chained; use parentheses");
    s_error_is("let a = x[]", "t.mpc:1:11: error: expected an expression near ']'");
    s_error_is("input t: table(a: int)", "t.mpc:1:23: error: expected '[' and the table's row count after ')' at end of input");
    s_error_is("input t: table(a: int = x)[2] from p",
               "t.mpc:1:25: error: expected a number or true/false as the column's default near 'x'");
    s_error_is("input t: table(a: int)[2] from p in 0..1",
               "t.mpc:1:34: error: a table has no range; give each column its own ('age: int in 0..120')");
    s_error_is("let a = t.", "t.mpc:1:11: error: expected a column name after '.' at end of input");
    /* Deep nesting is refused, not a stack overflow. */
    char deep[2048] = "let a = ";
    for (int i = 0; i < 500; i++) strcat(deep, "(");
    mpc_diag d;
    mpc_ast ast;
    mpc_diag_init(&d, "t.mpc", deep, strlen(deep));
    ck_assert_int_eq(mpc_parse(deep, strlen(deep), &d, &ast), -1);
    ck_assert_str_eq(mpc_diag_first_error(&d)->msg, "expression nested too deeply");
    mpc_diag_free(&d);
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("parse");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_precedence);
    tcase_add_test(tc, test_statements);
    tcase_add_test(tc, test_tables);
    tcase_add_test(tc, test_syntax_errors);
    suite_add_tcase(s, tc);
    return s;
}

