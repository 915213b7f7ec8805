/* lex.h — the lexer of the mpc language: turns source text into tokens with their line and
 * column.  Newlines are blanks: the grammar needs no statement separators. */
#ifndef MPC_LEX_H
#define MPC_LEX_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"

/* Token kinds.  X(ENUM, text shown in messages) */
#define MPC_TOKEN_LIST(X)                                     \
    X(EOF, "<eof>")       X(ERROR, "<error>")                 \
    X(NAME, "<name>")     X(INT, "<integer>")  X(DEC, "<decimal>") \
    X(STRING, "<string>") /* "hosp_a.labs": a dataset name, quotes included in text */ \
    /* keywords */                                            \
    X(PARTY, "party")     X(INPUT, "input")    X(FROM, "from")   \
    X(OUTPUT, "output")   X(TO, "to")          X(LET, "let")     \
    X(FOR, "for")        X(IN, "in")       \
    X(FN, "fn")           X(RETURN, "return")  X(PARAM, "param") \
    X(PRECISION, "precision") X(KINT, "int")   X(KFIX, "fix")    \
    X(KBOOL, "bool")      X(TRUE, "true")      X(FALSE, "false") \
    /* punctuation */                                         \
    X(PLUS, "+")  X(MINUS, "-")  X(STAR, "*")  X(SLASH, "/")      \
    X(LT, "<")    X(LE, "<=")    X(GT, ">")    X(GE, ">=")        \
    X(EQ, "==")   X(NE, "!=")    X(ASSIGN, "=") X(QUESTION, "?")  \
    X(COLON, ":") X(COMMA, ",")  X(SEMI, ";")  X(DOTDOT, "..")    \
    X(DOT, ".")                                               \
    X(LPAREN, "(") X(RPAREN, ")") X(LBRACKET, "[") X(RBRACKET, "]") \
    X(LBRACE, "{") X(RBRACE, "}")

typedef enum {
#define X(e, s) MPC_TK_##e,
    MPC_TOKEN_LIST(X)
#undef X
    MPC_TK__COUNT
} mpc_token_kind;

extern const char *const mpc_token_names[MPC_TK__COUNT];

typedef struct {
    mpc_token_kind kind;
    uint32_t       line, col;
    const char    *text;    /* points into the source */
    size_t         len;
    uint64_t       ival;    /* MPC_TK_INT: the value (literals >= 2^64 are an error) */
} mpc_token;

typedef struct {
    const char *src;
    size_t      len, pos;
    uint32_t    line, col;
    mpc_diag   *diag;
} mpc_lexer;

void mpc_lex_init(mpc_lexer *L, const char *src, size_t len, mpc_diag *diag);
/* Reads the next token into *t and returns its kind.  On a lexical error, reports it to the
 * diag sink (which may be NULL) and returns MPC_TK_ERROR. */
mpc_token_kind mpc_lex_next(mpc_lexer *L, mpc_token *t);

#endif
