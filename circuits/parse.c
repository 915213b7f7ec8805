/* parse.c — recursive-descent parser producing the AST (parse.h).  One token of lookahead;
 * binary operators are parsed by one precedence-driven subexpr (Lua's lparser.c shape).
 * The first error stops the parse: it is reported to the diag sink and unwinds with longjmp;
 * everything allocated so far lives in the arena, which the caller of longjmp frees. */
#include "parse.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "circuit.h"

const char *const mpc_node_names[MPC_N__COUNT] = {
#define X(e, s) [MPC_N_##e] = s,
    MPC_NODE_LIST(X)
#undef X
};

/* ---- arena ---- */

typedef struct s_ablock {
    struct s_ablock *next;
    size_t          used, cap;
    max_align_t     data[];
} s_ablock;

struct mpc_arena {
    s_ablock *head;
};

mpc_arena *mpc_arena_new(void)
{
    return calloc(1, sizeof(mpc_arena));
}

void mpc_arena_destroy(mpc_arena **ap)
{
    if (!ap || !*ap) return;
    s_ablock *b = (*ap)->head;
    while (b) {
        s_ablock *n = b->next;
        free(b);
        b = n;
    }
    free(*ap);
    *ap = NULL;
}

void *mpc_arena_alloc(mpc_arena *a, size_t n)
{
    const size_t align = sizeof(max_align_t);
    n = (n + align - 1) / align * align;
    if (n == 0) n = align;
    s_ablock *b = a->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > 64 * 1024 ? n : 64 * 1024;
        b = malloc(sizeof(s_ablock) + cap);
        if (!b) return NULL;
        b->next = a->head;
        b->used = 0;
        b->cap = cap;
        a->head = b;
    }
    void *p = (char *)b->data + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

char *mpc_arena_strndup(mpc_arena *a, const char *s, size_t n)
{
    char *p = mpc_arena_alloc(a, n + 1);
    if (p) memcpy(p, s, n);
    return p;
}

/* ---- parser state ---- */

typedef struct {
    mpc_lexer  lex;
    mpc_token  tok;        /* current token */
    mpc_token  ahead;      /* one more, when has_ahead */
    int        has_ahead;
    mpc_diag  *diag;
    mpc_arena *arena;
    jmp_buf    jb;
    int        in_fn;      /* inside a fn body */
    int        depth;      /* block nesting (0 = top level) */
    int        nest;       /* expression nesting, bounded to protect the C stack */
} s_parser;

#define S_MAX_NEST 200

static _Noreturn void s_throw(s_parser *P)
{
    longjmp(P->jb, 1);
}

static _Noreturn void s_error_at(s_parser *P, uint32_t line, uint32_t col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static _Noreturn void s_error_at(s_parser *P, uint32_t line, uint32_t col, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    mpc_diag_error(P->diag, line, col, "%s", msg);
    s_throw(P);
}

/* "near 'tok'" as Lua says it; the end of the input has no text. */
static void s_near(const mpc_token *t, char *buf, size_t len)
{
    if (t->kind == MPC_TK_EOF) snprintf(buf, len, "at end of input");
    else snprintf(buf, len, "near '%.*s'", (int)(t->len > 40 ? 40 : t->len), t->text);
}

static _Noreturn void s_expected(s_parser *P, const char *what)
{
    char near[64];
    s_near(&P->tok, near, sizeof near);
    s_error_at(P, P->tok.line, P->tok.col, "expected %s %s", what, near);
}

static void s_next(s_parser *P)
{
    if (P->has_ahead) {
        P->tok = P->ahead;
        P->has_ahead = 0;
    } else if (mpc_lex_next(&P->lex, &P->tok) == MPC_TK_ERROR) {
        s_throw(P);
    }
}

static mpc_token_kind s_lookahead(s_parser *P)
{
    if (!P->has_ahead) {
        if (mpc_lex_next(&P->lex, &P->ahead) == MPC_TK_ERROR) s_throw(P);
        P->has_ahead = 1;
    }
    return P->ahead.kind;
}

static int s_accept(s_parser *P, mpc_token_kind k)
{
    if (P->tok.kind != k) return 0;
    s_next(P);
    return 1;
}

static void s_expect(s_parser *P, mpc_token_kind k)
{
    if (P->tok.kind != k) {
        char what[32];
        snprintf(what, sizeof what, "'%s'", mpc_token_names[k]);
        s_expected(P, what);
    }
    s_next(P);
}

static void *s_alloc(s_parser *P, size_t n)
{
    void *p = mpc_arena_alloc(P->arena, n);
    if (!p) s_error_at(P, P->tok.line, P->tok.col, "out of memory");
    return p;
}

static mpc_node *s_node(s_parser *P, mpc_node_kind k, uint32_t line, uint32_t col)
{
    mpc_node *n = s_alloc(P, sizeof *n);
    n->kind = k;
    n->line = line;
    n->col = col;
    return n;
}

/* Growable child and name lists (arena-backed: doubling leaves garbage, which is fine). */
static void s_add_kid(s_parser *P, mpc_node *n, mpc_node *kid, uint32_t *cap)
{
    if (n->n_kids == *cap) {
        uint32_t ncap = *cap ? *cap * 2 : 4;
        mpc_node **k = s_alloc(P, ncap * sizeof *k);
        if (n->n_kids) memcpy(k, n->kids, n->n_kids * sizeof *k);
        n->kids = k;
        *cap = ncap;
    }
    n->kids[n->n_kids++] = kid;
}

static void s_add_name(s_parser *P, mpc_node *n, const mpc_token *t, uint32_t *cap)
{
    if (n->n_names == *cap) {
        uint32_t ncap = *cap ? *cap * 2 : 4;
        char **nm = s_alloc(P, ncap * sizeof *nm);
        uint32_t *l = s_alloc(P, ncap * sizeof *l), *c = s_alloc(P, ncap * sizeof *c);
        if (n->n_names) {
            memcpy(nm, n->names, n->n_names * sizeof *nm);
            memcpy(l, n->name_line, n->n_names * sizeof *l);
            memcpy(c, n->name_col, n->n_names * sizeof *c);
        }
        n->names = nm;
        n->name_line = l;
        n->name_col = c;
        *cap = ncap;
    }
    char *s = mpc_arena_strndup(P->arena, t->text, t->len);
    if (!s) s_error_at(P, t->line, t->col, "out of memory");
    n->names[n->n_names] = s;
    n->name_line[n->n_names] = t->line;
    n->name_col[n->n_names] = t->col;
    n->n_names++;
}

static mpc_node *s_kids(s_parser *P, mpc_node *n, int count, ...)
{
    n->kids = s_alloc(P, (size_t)count * sizeof *n->kids);
    n->n_kids = (uint32_t)count;
    va_list ap;
    va_start(ap, count);
    for (int i = 0; i < count; i++) n->kids[i] = va_arg(ap, mpc_node *);
    va_end(ap);
    return n;
}

/* Reads a NAME token (names are limited to what the circuit can store). */
static char *s_name(s_parser *P, const char *what)
{
    if (P->tok.kind != MPC_TK_NAME) s_expected(P, what);
    if (P->tok.len >= MPC_NAME_MAX)
        s_error_at(P, P->tok.line, P->tok.col, "name '%.20s...' is longer than %d characters",
                   P->tok.text, MPC_NAME_MAX - 1);
    char *s = mpc_arena_strndup(P->arena, P->tok.text, P->tok.len);
    if (!s) s_error_at(P, P->tok.line, P->tok.col, "out of memory");
    s_next(P);
    return s;
}

static mpc_node *s_expr(s_parser *P);
static mpc_node *s_block(s_parser *P);

/* ---- expressions ---- */

/* args -> '(' [ expr { ',' expr } ] ')' */
static void s_args(s_parser *P, mpc_node *call)
{
    uint32_t cap = 0;
    s_expect(P, MPC_TK_LPAREN);
    if (P->tok.kind != MPC_TK_RPAREN) {
        do {
            /* join(A, B, on KEY): `on` ("on" is not reserved) names the key column; the
             * argument is a NAME node with ival 1 (circuits/LANGUAGE.md, "Joins"). */
            if (P->tok.kind == MPC_TK_NAME && P->tok.len == 2 && memcmp(P->tok.text, "on", 2) == 0 &&
                s_lookahead(P) == MPC_TK_NAME && strcmp(call->name, "join") == 0) {
                s_next(P);
                mpc_node *k = s_node(P, MPC_N_NAME, P->tok.line, P->tok.col);
                k->name = s_name(P, "a key column name after 'on'");
                k->ival = 1;
                s_add_kid(P, call, k, &cap);
                continue;
            }
            s_add_kid(P, call, s_expr(P), &cap);
        } while (s_accept(P, MPC_TK_COMMA));
    }
    s_expect(P, MPC_TK_RPAREN);
}

/* primaryexp -> INT | DEC | TRUE | FALSE | NAME | NAME args | (INT|FIX|BOOL) args
 *             | '(' expr ')' | '[' expr { ',' expr } ']' */
static mpc_node *s_primary(s_parser *P)
{
    mpc_token t = P->tok;
    mpc_node *n;
    switch (t.kind) {
    case MPC_TK_INT:
        n = s_node(P, MPC_N_INT, t.line, t.col);
        n->ival = t.ival;
        s_next(P);
        return n;
    case MPC_TK_DEC:
        n = s_node(P, MPC_N_DEC, t.line, t.col);
        n->text = mpc_arena_strndup(P->arena, t.text, t.len);
        if (!n->text) s_error_at(P, t.line, t.col, "out of memory");
        s_next(P);
        return n;
    case MPC_TK_TRUE:
    case MPC_TK_FALSE:
        n = s_node(P, MPC_N_BOOL, t.line, t.col);
        n->ival = t.kind == MPC_TK_TRUE;
        s_next(P);
        return n;
    case MPC_TK_KINT:
    case MPC_TK_KFIX:
    case MPC_TK_KBOOL:
        /* Conversions look like calls of the type's name. */
        n = s_node(P, MPC_N_CALL, t.line, t.col);
        n->name = (char *)mpc_token_names[t.kind];
        s_next(P);
        if (P->tok.kind != MPC_TK_LPAREN) s_expected(P, "'(' after a type name in an expression");
        s_args(P, n);
        return n;
    case MPC_TK_NAME:
        if (s_lookahead(P) == MPC_TK_LPAREN) {
            n = s_node(P, MPC_N_CALL, t.line, t.col);
            n->name = s_name(P, "a name");
            s_args(P, n);
            return n;
        }
        n = s_node(P, MPC_N_NAME, t.line, t.col);
        n->name = s_name(P, "a name");
        if (P->tok.kind == MPC_TK_DOT) {   /* table.column: one name */
            s_next(P);
            char *col = s_name(P, "a column name after '.'");
            size_t a = strlen(n->name), b = strlen(col);
            if (a + 1 + b >= MPC_NAME_MAX)
                s_error_at(P, t.line, t.col, "name '%s.%s' is longer than %d characters", n->name, col,
                           MPC_NAME_MAX - 1);
            char *full = s_alloc(P, a + b + 2);
            memcpy(full, n->name, a);
            full[a] = '.';
            memcpy(full + a + 1, col, b + 1);
            n->name = full;
        }
        return n;
    case MPC_TK_LPAREN: {
        s_next(P);
        n = s_expr(P);
        if (P->tok.kind != MPC_TK_RPAREN) {
            char near[64];
            s_near(&P->tok, near, sizeof near);
            s_error_at(P, P->tok.line, P->tok.col, "expected ')' %s (to close '(' at %u:%u)", near,
                       (unsigned)t.line, (unsigned)t.col);
        }
        s_next(P);
        return n;
    }
    case MPC_TK_LBRACKET: {   /* a list literal: histogram edges */
        uint32_t cap = 0;
        n = s_node(P, MPC_N_LIST, t.line, t.col);
        s_next(P);
        do {
            s_add_kid(P, n, s_expr(P), &cap);
        } while (s_accept(P, MPC_TK_COMMA));
        s_expect(P, MPC_TK_RBRACKET);
        return n;
    }
    default:
        s_expected(P, "an expression");
    }
}

/* postfixexp -> primaryexp { '[' expr ']' | '[' [expr] ':' [expr] ']' } */
static mpc_node *s_postfix(s_parser *P)
{
    mpc_node *e = s_primary(P);
    while (P->tok.kind == MPC_TK_LBRACKET) {
        mpc_token open = P->tok;
        s_next(P);
        mpc_node *a = NULL, *b = NULL;
        if (P->tok.kind != MPC_TK_COLON) a = s_expr(P);
        if (s_accept(P, MPC_TK_COLON)) {
            if (P->tok.kind != MPC_TK_RBRACKET) b = s_expr(P);
            e = s_kids(P, s_node(P, MPC_N_SLICE, open.line, open.col), 3, e, a, b);
        } else {
            e = s_kids(P, s_node(P, MPC_N_INDEX, open.line, open.col), 2, e, a);
        }
        s_expect(P, MPC_TK_RBRACKET);
    }
    return e;
}

/* The precedence table: left and right priority of each binary operator (left > right
 * would make it right-associative; all are left-associative here). */
static const struct { mpc_token_kind tk; int left, right; } s_binops[] = {
    {MPC_TK_EQ, 3, 3}, {MPC_TK_NE, 3, 3},
    {MPC_TK_LT, 4, 4}, {MPC_TK_LE, 4, 4}, {MPC_TK_GT, 4, 4}, {MPC_TK_GE, 4, 4},
    {MPC_TK_PLUS, 6, 6}, {MPC_TK_MINUS, 6, 6},
    {MPC_TK_STAR, 7, 7}, {MPC_TK_SLASH, 7, 7},
};
#define S_UNARY_PRIORITY 8

static int s_binop(mpc_token_kind k)
{
    for (size_t i = 0; i < sizeof s_binops / sizeof s_binops[0]; i++)
        if (s_binops[i].tk == k) return (int)i;
    return -1;
}

/* subexpr -> (postfixexp | '-' subexpr) { binop subexpr }
 * where binop is any binary operator whose left priority is above `limit`. */
static mpc_node *s_subexpr(s_parser *P, int limit)
{
    if (++P->nest > S_MAX_NEST)
        s_error_at(P, P->tok.line, P->tok.col, "expression nested too deeply");
    mpc_node *e;
    if (P->tok.kind == MPC_TK_MINUS) {
        mpc_token t = P->tok;
        s_next(P);
        e = s_kids(P, s_node(P, MPC_N_NEG, t.line, t.col), 1, s_subexpr(P, S_UNARY_PRIORITY));
    } else {
        e = s_postfix(P);
    }
    int op;
    while ((op = s_binop(P->tok.kind)) >= 0 && s_binops[op].left > limit) {
        mpc_token t = P->tok;
        s_next(P);
        mpc_node *rhs = s_subexpr(P, s_binops[op].right);
        /* a < b < c would compare a bool with c: almost certainly not what was meant. */
        if (s_binops[op].left <= 4 && e->kind == MPC_N_BIN && s_binop(e->op) >= 0 &&
            s_binops[s_binop(e->op)].left == s_binops[op].left)
            s_error_at(P, t.line, t.col, "comparison operators cannot be chained; use parentheses");
        mpc_node *b = s_kids(P, s_node(P, MPC_N_BIN, t.line, t.col), 2, e, rhs);
        b->op = t.kind;
        e = b;
    }
    P->nest--;
    return e;
}

/* expr -> subexpr [ '?' expr ':' expr ] */
static mpc_node *s_expr(s_parser *P)
{
    mpc_node *c = s_subexpr(P, 0);
    if (P->tok.kind != MPC_TK_QUESTION) return c;
    mpc_token q = P->tok;
    s_next(P);
    if (++P->nest > S_MAX_NEST) s_error_at(P, q.line, q.col, "expression nested too deeply");
    mpc_node *a = s_expr(P);
    s_expect(P, MPC_TK_COLON);
    mpc_node *b = s_expr(P);
    P->nest--;
    return s_kids(P, s_node(P, MPC_N_COND, q.line, q.col), 3, c, a, b);
}

/* ---- statements ---- */

static void s_top_level_only(s_parser *P, const mpc_token *t)
{
    if (P->depth > 0)
        s_error_at(P, t->line, t->col, "'%.*s' is only allowed at the top level", (int)t->len, t->text);
}

/* partystat -> PARTY NAME { ',' NAME } */
static mpc_node *s_partystat(s_parser *P, mpc_node *n)
{
    uint32_t cap = 0;
    do {
        if (P->tok.kind != MPC_TK_NAME) s_expected(P, "a party name");
        s_add_name(P, n, &P->tok, &cap);
        s_next(P);
    } while (s_accept(P, MPC_TK_COMMA));
    return n;
}

/* type -> (INT | FIX | BOOL) [ '[' expr ']' ] */
static void s_type(s_parser *P, mpc_node *n)
{
    switch (P->tok.kind) {
    case MPC_TK_KINT: n->vtype = MPC_T_INT; break;
    case MPC_TK_KFIX: n->vtype = MPC_T_FIX; break;
    case MPC_TK_KBOOL: n->vtype = MPC_T_BOOL; break;
    default: s_expected(P, "a type (int, fix or bool)");
    }
    s_next(P);
    n->kids = s_alloc(P, sizeof *n->kids);
    n->n_kids = 1;
    if (s_accept(P, MPC_TK_LBRACKET)) {
        n->kids[0] = s_expr(P);
        s_expect(P, MPC_TK_RBRACKET);
    }
}

/* A column default: ['-'] (INT | DEC | TRUE | FALSE), kept as a literal so that a CSV reader
 * can apply it without compiling the program. */
static mpc_node *s_column_default(s_parser *P)
{
    mpc_token t = P->tok;
    int neg = s_accept(P, MPC_TK_MINUS);
    if (P->tok.kind != MPC_TK_INT && P->tok.kind != MPC_TK_DEC && P->tok.kind != MPC_TK_TRUE &&
        P->tok.kind != MPC_TK_FALSE)
        s_expected(P, "a number or true/false as the column's default");
    if (neg && (P->tok.kind == MPC_TK_TRUE || P->tok.kind == MPC_TK_FALSE))
        s_expected(P, "a number after '-'");
    mpc_node *v = s_primary(P);
    return neg ? s_kids(P, s_node(P, MPC_N_NEG, t.line, t.col), 1, v) : v;
}

/* tablecols -> '(' column { ',' column } ')'
 * column    -> NAME ':' (INT | FIX | BOOL) [ '=' default ] [ IN expr '..' expr ]
 *            | NAME ':' 'key' */
static void s_tablecols(s_parser *P, mpc_node *n)
{
    uint32_t cap = 0;
    s_expect(P, MPC_TK_LPAREN);
    mpc_node *len = NULL;
    s_add_kid(P, n, len, &cap);   /* kids[0]: the row count, after ')' */
    do {
        mpc_node *col = s_node(P, MPC_N_COLUMN, P->tok.line, P->tok.col);
        col->name = s_name(P, "a column name");
        for (uint32_t i = 1; i < n->n_kids; i++)
            if (strcmp(n->kids[i]->name, col->name) == 0)
                s_error_at(P, col->line, col->col, "duplicate column '%s' (first declared at %u:%u)", col->name,
                           (unsigned)n->kids[i]->line, (unsigned)n->kids[i]->col);
        s_expect(P, MPC_TK_COLON);
        switch (P->tok.kind) {
        case MPC_TK_KINT: col->vtype = MPC_T_INT; break;
        case MPC_TK_KFIX: col->vtype = MPC_T_FIX; break;
        case MPC_TK_KBOOL: col->vtype = MPC_T_BOOL; break;
        default:
            /* `key` (not reserved): a join's key column (circuits/LANGUAGE.md, "Joins") */
            if (P->tok.kind == MPC_TK_NAME && P->tok.len == 3 && memcmp(P->tok.text, "key", 3) == 0) {
                col->vtype = MPC_COLUMN_KEY;
                break;
            }
            s_expected(P, "a column type (int, fix, bool or key)");
        }
        s_next(P);
        if (P->tok.kind == MPC_TK_LBRACKET)
            s_error_at(P, P->tok.line, P->tok.col, "a column is a vector of the table's length: write "
                       "'%s: %s' and the length after the table's ')'", col->name,
                       col->vtype == MPC_COLUMN_KEY ? "key" : mpc_type_names[col->vtype]);
        mpc_node *dflt = NULL, *lo = NULL, *hi = NULL;
        if (col->vtype == MPC_COLUMN_KEY && (P->tok.kind == MPC_TK_ASSIGN || P->tok.kind == MPC_TK_IN))
            s_error_at(P, P->tok.line, P->tok.col, "a key column has no default and no range: every row "
                       "gives its key");
        if (s_accept(P, MPC_TK_ASSIGN)) dflt = s_column_default(P);
        if (s_accept(P, MPC_TK_IN)) {
            lo = s_expr(P);
            s_expect(P, MPC_TK_DOTDOT);
            hi = s_expr(P);
        }
        s_kids(P, col, 3, dflt, lo, hi);
        s_add_kid(P, n, col, &cap);
    } while (s_accept(P, MPC_TK_COMMA));
    s_expect(P, MPC_TK_RPAREN);
    if (P->tok.kind != MPC_TK_LBRACKET) s_expected(P, "'[' and the table's row count after ')'");
    s_next(P);
    n->kids[0] = s_expr(P);
    s_expect(P, MPC_TK_RBRACKET);
}

/* inputstat -> INPUT NAME ':' type FROM NAME [ IN expr '..' expr [ ',' 'norm' '<=' expr ] ]
 *            | INPUT NAME ':' type FROM 'contributors' 'unchecked'
 *            | INPUT NAME ':' 'table' tablecols '[' expr ']' FROM NAME [ 'dataset' STRING ]
 * ("table" is not reserved: it starts a table only before '('; FROM 'contributors' makes a
 * contributor input, ival = 1, circuits/contrib.h; "norm" is not reserved either: after the
 * range, ", norm <= B" is a contributor input's L2-norm bound, kids[3]; nor is "unchecked":
 * after FROM 'contributors' it declares a collection without validity checks, ival = 2) */
static mpc_node *s_inputstat(s_parser *P, mpc_node *n)
{
    uint32_t cap = 0;
    n->name = s_name(P, "an input name");
    s_expect(P, MPC_TK_COLON);
    if (P->tok.kind == MPC_TK_NAME && P->tok.len == 5 && memcmp(P->tok.text, "table", 5) == 0 &&
        s_lookahead(P) == MPC_TK_LPAREN) {
        n->kind = MPC_N_TABLE;
        s_next(P);
        s_tablecols(P, n);
        s_expect(P, MPC_TK_FROM);
        if (P->tok.kind != MPC_TK_NAME) s_expected(P, "a party name");
        s_add_name(P, n, &P->tok, &cap);
        s_next(P);
        if (P->tok.kind == MPC_TK_NAME && P->tok.len == 7 && memcmp(P->tok.text, "dataset", 7) == 0) {
            s_next(P);   /* names[1]: the dataset (circuits/LANGUAGE.md, "Datasets") */
            if (P->tok.kind != MPC_TK_STRING) s_expected(P, "a dataset name in quotes (\"hosp_a.labs\")");
            mpc_token q = P->tok;
            q.text++;
            q.len -= 2;
            if (q.len == 0 || q.text[0] == '.' || q.text[0] == '-')
                s_error_at(P, q.line, q.col, "a dataset name starts with a letter, a digit or '_'");
            s_add_name(P, n, &q, &cap);
            s_next(P);
        }
        if (P->tok.kind == MPC_TK_IN)
            s_error_at(P, P->tok.line, P->tok.col, "a table has no range; give each column its own "
                       "('age: int in 0..120')");
        return n;
    }
    s_type(P, n);
    s_expect(P, MPC_TK_FROM);
    if (P->tok.kind != MPC_TK_NAME) s_expected(P, "a party name");
    n->ival = P->tok.len == 12 && memcmp(P->tok.text, "contributors", 12) == 0;
    s_add_name(P, n, &P->tok, &cap);
    s_next(P);
    if (n->ival && P->tok.kind == MPC_TK_NAME && P->tok.len == 9 && memcmp(P->tok.text, "unchecked", 9) == 0) {
        n->ival = 2;   /* no range, no validity proof (circuits/contrib.h) */
        s_next(P);
        if (P->tok.kind == MPC_TK_IN)
            s_error_at(P, P->tok.line, P->tok.col, "an unchecked collection has no validity range (drop 'unchecked' to "
                       "have the range checked)");
        return n;
    }
    if (s_accept(P, MPC_TK_IN)) {   /* the declared range of every element */
        mpc_node **k = s_alloc(P, 4 * sizeof *k);
        k[0] = n->kids[0];
        k[1] = s_expr(P);
        s_expect(P, MPC_TK_DOTDOT);
        k[2] = s_expr(P);
        k[3] = NULL;
        n->kids = k;
        n->n_kids = 3;
        if (P->tok.kind == MPC_TK_COMMA) {   /* ', norm <= B': an L2-norm bound (kids[3]) */
            s_next(P);
            if (P->tok.kind != MPC_TK_NAME || P->tok.len != 4 || memcmp(P->tok.text, "norm", 4) != 0)
                s_expected(P, "'norm <= BOUND' after the range");
            s_next(P);
            s_expect(P, MPC_TK_LE);
            k[3] = s_expr(P);
            n->n_kids = 4;
        }
    }
    return n;
}

/* outputstat -> OUTPUT outitem { ',' outitem } TO NAME { ',' NAME }
 * outitem    -> NAME [ '=' expr ] */
static mpc_node *s_outputstat(s_parser *P, mpc_node *n)
{
    uint32_t kcap = 0, ncap = 0;
    do {
        mpc_node *it = s_node(P, MPC_N_OUTITEM, P->tok.line, P->tok.col);
        it->name = s_name(P, "an output name");
        it->kids = s_alloc(P, sizeof *it->kids);
        it->n_kids = 1;
        if (s_accept(P, MPC_TK_ASSIGN)) it->kids[0] = s_expr(P);
        s_add_kid(P, n, it, &kcap);
    } while (s_accept(P, MPC_TK_COMMA));
    s_expect(P, MPC_TK_TO);
    do {
        if (P->tok.kind != MPC_TK_NAME) s_expected(P, "a party name");
        s_add_name(P, n, &P->tok, &ncap);
        s_next(P);
    } while (s_accept(P, MPC_TK_COMMA));
    return n;
}

/* fnstat -> FN NAME '(' [ NAME { ',' NAME } ] ')' block */
static mpc_node *s_fnstat(s_parser *P, mpc_node *n)
{
    uint32_t cap = 0;
    n->name = s_name(P, "a function name");
    s_expect(P, MPC_TK_LPAREN);
    if (P->tok.kind != MPC_TK_RPAREN) {
        do {
            if (P->tok.kind != MPC_TK_NAME) s_expected(P, "a parameter name");
            for (uint32_t i = 0; i < n->n_names; i++)
                if (strlen(n->names[i]) == P->tok.len && memcmp(n->names[i], P->tok.text, P->tok.len) == 0)
                    s_error_at(P, P->tok.line, P->tok.col, "duplicate parameter '%s'", n->names[i]);
            s_add_name(P, n, &P->tok, &cap);
            s_next(P);
        } while (s_accept(P, MPC_TK_COMMA));
    }
    s_expect(P, MPC_TK_RPAREN);
    P->in_fn = 1;
    mpc_node *body = s_block(P);
    P->in_fn = 0;
    for (uint32_t i = 0; i + 1 < body->n_kids; i++)
        if (body->kids[i]->kind == MPC_N_RETURN)
            s_error_at(P, body->kids[i]->line, body->kids[i]->col,
                       "'return' must be the last statement of a function");
    if (body->n_kids == 0 || body->kids[body->n_kids - 1]->kind != MPC_N_RETURN)
        s_error_at(P, n->line, n->col, "function '%s' must end with a return statement", n->name);
    n->kids = s_alloc(P, sizeof *n->kids);
    n->kids[0] = body;
    n->n_kids = 1;
    return n;
}

/* stat -> partystat | precisionstat | paramstat | inputstat | letstat | varstat | forstat
 *       | fnstat | returnstat | outputstat | assignstat
 * varstat       -> 'var' NAME '=' expr   ("var" is not reserved)
 * precisionstat -> PRECISION INT        paramstat  -> PARAM NAME '=' expr
 * letstat       -> LET NAME '=' expr
 * assignstat    -> NAME '=' expr        returnstat -> RETURN expr
 * forstat       -> FOR NAME IN expr '..' expr block */
static mpc_node *s_stat(s_parser *P)
{
    mpc_token t = P->tok;
    mpc_node *n;
    switch (t.kind) {
    case MPC_TK_PARTY:
        s_top_level_only(P, &t);
        s_next(P);
        return s_partystat(P, s_node(P, MPC_N_PARTY, t.line, t.col));
    case MPC_TK_PRECISION:
        s_top_level_only(P, &t);
        s_next(P);
        if (P->tok.kind != MPC_TK_INT) s_expected(P, "the number of fractional bits");
        n = s_node(P, MPC_N_PRECISION, t.line, t.col);
        n->ival = P->tok.ival;
        s_next(P);
        return n;
    case MPC_TK_PARAM:
        s_top_level_only(P, &t);
        s_next(P);
        n = s_node(P, MPC_N_PARAM, t.line, t.col);
        n->name = s_name(P, "a parameter name");
        if (!s_accept(P, MPC_TK_ASSIGN)) return s_kids(P, n, 1, NULL);   /* param N: no value here */
        n->from = (size_t)(P->tok.text - P->lex.src);
        mpc_node *value = s_expr(P);
        n->to = (size_t)(P->tok.text - P->lex.src);
        return s_kids(P, n, 1, value);
    case MPC_TK_INPUT:
        s_top_level_only(P, &t);
        s_next(P);
        return s_inputstat(P, s_node(P, MPC_N_INPUT, t.line, t.col));
    case MPC_TK_OUTPUT:
        s_top_level_only(P, &t);
        s_next(P);
        return s_outputstat(P, s_node(P, MPC_N_OUTPUT, t.line, t.col));
    case MPC_TK_FN:
        s_top_level_only(P, &t);
        s_next(P);
        return s_fnstat(P, s_node(P, MPC_N_FN, t.line, t.col));
    case MPC_TK_NAME:
        if (t.len == 3 && memcmp(t.text, "var", 3) == 0 && s_lookahead(P) == MPC_TK_NAME) {
            s_next(P);
            n = s_node(P, MPC_N_VAR, t.line, t.col);
            n->name = s_name(P, "a name");
            s_expect(P, MPC_TK_ASSIGN);
            return s_kids(P, n, 1, s_expr(P));
        }
        n = s_node(P, MPC_N_ASSIGN, t.line, t.col);
        n->name = s_name(P, "a name");
        if (P->tok.kind != MPC_TK_ASSIGN) s_expected(P, "'=' (a statement cannot be an expression)");
        s_next(P);
        return s_kids(P, n, 1, s_expr(P));
    case MPC_TK_LET:
        s_next(P);
        n = s_node(P, MPC_N_LET, t.line, t.col);
        n->name = s_name(P, "a name");
        s_expect(P, MPC_TK_ASSIGN);
        return s_kids(P, n, 1, s_expr(P));
    case MPC_TK_RETURN:
        if (!P->in_fn) s_error_at(P, t.line, t.col, "'return' outside a function");
        s_next(P);
        return s_kids(P, s_node(P, MPC_N_RETURN, t.line, t.col), 1, s_expr(P));
    case MPC_TK_FOR: {
        s_next(P);
        n = s_node(P, MPC_N_FOR, t.line, t.col);
        n->name = s_name(P, "a loop variable");
        s_expect(P, MPC_TK_IN);
        mpc_node *a = s_expr(P);
        s_expect(P, MPC_TK_DOTDOT);
        mpc_node *b = s_expr(P);
        return s_kids(P, n, 3, a, b, s_block(P));
    }
    default:
        s_expected(P, "a statement");
    }
}

/* block -> '{' { stat [';'] } '}' */
static mpc_node *s_block(s_parser *P)
{
    mpc_token open = P->tok;
    s_expect(P, MPC_TK_LBRACE);
    if (++P->depth > S_MAX_NEST) s_error_at(P, open.line, open.col, "blocks nested too deeply");
    mpc_node *b = s_node(P, MPC_N_BLOCK, open.line, open.col);
    uint32_t cap = 0;
    while (P->tok.kind != MPC_TK_RBRACE) {
        if (P->tok.kind == MPC_TK_EOF)
            s_error_at(P, P->tok.line, P->tok.col, "expected '}' at end of input (to close '{' at %u:%u)",
                       (unsigned)open.line, (unsigned)open.col);
        s_add_kid(P, b, s_stat(P), &cap);
        while (s_accept(P, MPC_TK_SEMI)) {}
    }
    s_next(P);
    P->depth--;
    return b;
}

/* program -> { stat [';'] } EOF */
int mpc_parse(const char *src, size_t len, mpc_diag *diag, mpc_ast *ast)
{
    memset(ast, 0, sizeof *ast);
    s_parser *P = calloc(1, sizeof *P);
    if (!P) {
        mpc_diag_error(diag, 0, 0, "out of memory");
        return -1;
    }
    P->diag = diag;
    P->arena = mpc_arena_new();
    int r = -1;
    if (!P->arena) {
        mpc_diag_error(diag, 0, 0, "out of memory");
        goto out;
    }
    mpc_lex_init(&P->lex, src, len, diag);
    if (setjmp(P->jb) != 0) goto out;
    s_next(P);
    mpc_node *root = s_node(P, MPC_N_BLOCK, 1, 1);
    uint32_t cap = 0;
    while (P->tok.kind != MPC_TK_EOF) {
        if (P->tok.kind == MPC_TK_RBRACE) s_expected(P, "a statement");
        s_add_kid(P, root, s_stat(P), &cap);
        while (s_accept(P, MPC_TK_SEMI)) {}
    }
    ast->root = root;
    ast->arena = P->arena;
    P->arena = NULL;
    r = 0;
out:
    mpc_arena_destroy(&P->arena);
    free(P);
    return r;
}

void mpc_ast_free(mpc_ast *ast)
{
    mpc_arena_destroy(&ast->arena);
    ast->root = NULL;
}

int mpc_column_default_text(const mpc_node *col, char *buf, size_t len)
{
    const mpc_node *v = col && col->kind == MPC_N_COLUMN && col->n_kids ? col->kids[0] : NULL;
    if (!v || !len) return -1;
    int neg = v->kind == MPC_N_NEG;
    if (neg) v = v->kids[0];
    int r;
    switch (v->kind) {
    case MPC_N_INT: r = snprintf(buf, len, "%s%llu", neg ? "-" : "", (unsigned long long)v->ival); break;
    case MPC_N_DEC: r = snprintf(buf, len, "%s%s", neg ? "-" : "", v->text); break;
    case MPC_N_BOOL: r = snprintf(buf, len, "%s", v->ival ? "true" : "false"); break;
    default: return -1;
    }
    return r < 0 || (size_t)r >= len ? -1 : 0;
}

/* ---- S-expressions ---- */

typedef struct {
    char  *buf;
    size_t len, need;
} s_out;

static void s_put(s_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_put(s_out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = o->need < o->len ? o->len - o->need : 0;
    int n = vsnprintf(room ? o->buf + o->need : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0) o->need += (size_t)n;
}

static void s_sexpr(s_out *o, const mpc_node *n)
{
    if (!n) {
        s_put(o, "_");
        return;
    }
    switch (n->kind) {
    case MPC_N_INT: s_put(o, "%llu", (unsigned long long)n->ival); return;
    case MPC_N_DEC: s_put(o, "%s", n->text); return;
    case MPC_N_BOOL: s_put(o, "%s", n->ival ? "true" : "false"); return;
    case MPC_N_NAME: s_put(o, "%s", n->name); return;
    case MPC_N_BIN: s_put(o, "(%s", mpc_token_names[n->op]); break;
    case MPC_N_NEG: s_put(o, "(neg"); break;
    case MPC_N_COND: s_put(o, "(?"); break;
    case MPC_N_CALL: s_put(o, "(call %s", n->name); break;
    case MPC_N_INPUT:
        s_put(o, "(input %s %s", n->name, mpc_type_names[n->vtype]);
        break;
    case MPC_N_PRECISION: s_put(o, "(precision %llu)", (unsigned long long)n->ival); return;
    case MPC_N_COLUMN: s_put(o, "(column %s %s", n->name, n->vtype == MPC_COLUMN_KEY ? "key" : mpc_type_names[n->vtype]); break;
    default:
        s_put(o, "(%s", mpc_node_names[n->kind]);
        if (n->name) s_put(o, " %s", n->name);
        break;
    }
    for (uint32_t i = 0; i < n->n_kids; i++) {
        s_put(o, " ");
        s_sexpr(o, n->kids[i]);
    }
    if (n->n_names) {
        s_put(o, " [");
        for (uint32_t i = 0; i < n->n_names; i++) s_put(o, i ? " %s" : "%s", n->names[i]);
        s_put(o, "]");
    }
    s_put(o, ")");
}

size_t mpc_ast_sexpr(const mpc_node *n, char *buf, size_t len)
{
    s_out o = {buf, len, 0};
    if (len) buf[0] = 0;
    s_sexpr(&o, n);
    return o.need;
}
