/* lex.c — the lexer (lex.h).  Columns count bytes from 1; a tab is one column. */
#include "lex.h"

#include <string.h>

const char *const mpc_token_names[MPC_TK__COUNT] = {
#define X(e, s) [MPC_TK_##e] = s,
    MPC_TOKEN_LIST(X)
#undef X
};

static const struct { const char *word; mpc_token_kind kind; } s_keywords[] = {
    {"party", MPC_TK_PARTY}, {"input", MPC_TK_INPUT}, {"from", MPC_TK_FROM},
    {"output", MPC_TK_OUTPUT}, {"to", MPC_TK_TO}, {"let", MPC_TK_LET},
    {"for", MPC_TK_FOR}, {"in", MPC_TK_IN}, {"fn", MPC_TK_FN},
    {"return", MPC_TK_RETURN}, {"param", MPC_TK_PARAM}, {"precision", MPC_TK_PRECISION},
    {"int", MPC_TK_KINT}, {"fix", MPC_TK_KFIX}, {"bool", MPC_TK_KBOOL},
    {"true", MPC_TK_TRUE}, {"false", MPC_TK_FALSE},
};

/* "var" is not reserved: it introduces a var declaration only when a name follows it at the
 * start of a statement, so `let var = ...` (examples/joint_stats.mpc) is a let named var. */

void mpc_lex_init(mpc_lexer *L, const char *src, size_t len, mpc_diag *diag)
{
    L->src = src;
    L->len = len;
    L->pos = 0;
    L->line = 1;
    L->col = 1;
    L->diag = diag;
}

static int s_peek(const mpc_lexer *L, size_t ahead)
{
    return L->pos + ahead < L->len ? (unsigned char)L->src[L->pos + ahead] : -1;
}

static void s_advance(mpc_lexer *L)
{
    if (L->src[L->pos] == '\n') {
        L->line++;
        L->col = 1;
    } else {
        L->col++;
    }
    L->pos++;
}

static int s_is_digit(int c) { return c >= '0' && c <= '9'; }
static int s_is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }

static mpc_token_kind s_error(mpc_lexer *L, mpc_token *t, const char *fmt, int c)
{
    if (L->diag) {
        if (c >= 0x20 && c < 0x7f) mpc_diag_error(L->diag, t->line, t->col, fmt, c);
        else mpc_diag_error(L->diag, t->line, t->col, "unexpected byte 0x%02x", (unsigned)(c & 0xff));
    }
    t->kind = MPC_TK_ERROR;
    return t->kind;
}

mpc_token_kind mpc_lex_next(mpc_lexer *L, mpc_token *t)
{
    /* Blanks and comments. */
    for (;;) {
        int c = s_peek(L, 0);
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v') {
            s_advance(L);
        } else if (c == '#') {
            while (s_peek(L, 0) != -1 && s_peek(L, 0) != '\n') s_advance(L);
        } else {
            break;
        }
    }
    memset(t, 0, sizeof *t);
    t->line = L->line;
    t->col = L->col;
    t->text = L->src + L->pos;
    size_t start = L->pos;
    int c = s_peek(L, 0);
    if (c == -1) {
        t->kind = MPC_TK_EOF;
        return t->kind;
    }
    if (s_is_alpha(c)) {
        while (s_is_alpha(s_peek(L, 0)) || s_is_digit(s_peek(L, 0))) s_advance(L);
        t->len = L->pos - start;
        t->kind = MPC_TK_NAME;
        for (size_t i = 0; i < sizeof s_keywords / sizeof s_keywords[0]; i++)
            if (strlen(s_keywords[i].word) == t->len && memcmp(s_keywords[i].word, t->text, t->len) == 0)
                t->kind = s_keywords[i].kind;
        return t->kind;
    }
    if (s_is_digit(c)) {
        uint64_t v = 0;
        int overflow = 0;
        while (s_is_digit(s_peek(L, 0))) {
            unsigned d = (unsigned)(s_peek(L, 0) - '0');
            if (v > (UINT64_MAX - d) / 10) overflow = 1;
            v = v * 10 + d;
            s_advance(L);
        }
        /* "0..4" is a range: a '.' is a decimal point only when a digit follows. */
        if (s_peek(L, 0) == '.' && s_is_digit(s_peek(L, 1))) {
            s_advance(L);
            while (s_is_digit(s_peek(L, 0))) s_advance(L);
            t->kind = MPC_TK_DEC;
        } else {
            t->kind = MPC_TK_INT;
            t->ival = v;
        }
        t->len = L->pos - start;
        if (s_is_alpha(s_peek(L, 0)) || (s_peek(L, 0) == '.' && s_is_digit(s_peek(L, 1)))) {
            while (s_is_alpha(s_peek(L, 0)) || s_is_digit(s_peek(L, 0)) || s_peek(L, 0) == '.') s_advance(L);
            t->len = L->pos - start;
            if (L->diag)
                mpc_diag_error(L->diag, t->line, t->col, "malformed number '%.*s'", (int)t->len, t->text);
            t->kind = MPC_TK_ERROR;
            return t->kind;
        }
        if (t->kind == MPC_TK_INT && overflow) {
            if (L->diag)
                mpc_diag_error(L->diag, t->line, t->col, "integer literal '%.*s' does not fit in 64 bits",
                               (int)t->len, t->text);
            t->kind = MPC_TK_ERROR;
        }
        return t->kind;
    }
    if (c == '"') {   /* a dataset name: letters, digits, '_', '.', '-'; at most 63 */
        s_advance(L);
        while (s_peek(L, 0) != '"') {
            int d = s_peek(L, 0);
            if (!(s_is_alpha(d) || s_is_digit(d) || d == '.' || d == '-') || L->pos - start > 64) {
                if (d == -1 || d == '\n') return s_error(L, t, "unterminated string%c", ' ');
                return s_error(L, t, "a string holds a dataset name: letters, digits, '_', '.' and '-' (not '%c')",
                               d);
            }
            s_advance(L);
        }
        s_advance(L);
        t->kind = MPC_TK_STRING;
        t->len = L->pos - start;
        return t->kind;
    }
    s_advance(L);
    int n = s_peek(L, 0);
    mpc_token_kind k;
    switch (c) {
    case '+': k = MPC_TK_PLUS; break;
    case '-': k = MPC_TK_MINUS; break;
    case '*': k = MPC_TK_STAR; break;
    case '/': k = MPC_TK_SLASH; break;
    case '?': k = MPC_TK_QUESTION; break;
    case ':': k = MPC_TK_COLON; break;
    case ',': k = MPC_TK_COMMA; break;
    case ';': k = MPC_TK_SEMI; break;
    case '(': k = MPC_TK_LPAREN; break;
    case ')': k = MPC_TK_RPAREN; break;
    case '[': k = MPC_TK_LBRACKET; break;
    case ']': k = MPC_TK_RBRACKET; break;
    case '{': k = MPC_TK_LBRACE; break;
    case '}': k = MPC_TK_RBRACE; break;
    case '<': if (n == '=') { s_advance(L); k = MPC_TK_LE; } else k = MPC_TK_LT; break;
    case '>': if (n == '=') { s_advance(L); k = MPC_TK_GE; } else k = MPC_TK_GT; break;
    case '=': if (n == '=') { s_advance(L); k = MPC_TK_EQ; } else k = MPC_TK_ASSIGN; break;
    case '!':
        if (n != '=') return s_error(L, t, "unexpected character '%c'", c);
        s_advance(L);
        k = MPC_TK_NE;
        break;
    case '.':   /* ".." a range; "." a table column (labs.age) */
        if (n == '.') {
            s_advance(L);
            k = MPC_TK_DOTDOT;
        } else {
            k = MPC_TK_DOT;
        }
        break;
    default:
        return s_error(L, t, "unexpected character '%c'", c);
    }
    t->kind = k;
    t->len = L->pos - start;
    return k;
}
