/* program.c — canonical program text, program hash and the recompilation check (program.h;
 * the definition is in docs/circuit-format.md, "The program field"). */
#include "program.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"
#include "format.h"
#include "lex.h"
#include "parse.h"

void mpc_program_free(mpc_program **p)
{
    if (!p || !*p) return;
    free((*p)->text);
    free(*p);
    *p = NULL;
}

mpc_program *mpc_program_dup(const mpc_program *p)
{
    mpc_program *q = malloc(sizeof *q);
    if (!q) return NULL;
    *q = *p;
    q->text = malloc(p->text_len + 1);
    if (!q->text) {
        free(q);
        return NULL;
    }
    memcpy(q->text, p->text, p->text_len);
    q->text[p->text_len] = 0;
    return q;
}

void mpc_program_canon_free(mpc_program_canon *pc)
{
    free(pc->text);
    memset(pc, 0, sizeof *pc);
}

/* A growing byte buffer that stops at MPC_PROGRAM_MAX_TEXT. */
typedef struct {
    char  *p;
    size_t n, cap;
    int    full;
} s_buf;

static void s_put(s_buf *b, const char *s, size_t n)
{
    if (b->full) return;
    if (b->n + n + 2 > MPC_PROGRAM_MAX_TEXT) {
        b->full = 1;
        return;
    }
    if (b->n + n + 2 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n + 2) cap *= 2;
        char *q = realloc(b->p, cap);
        if (!q) {
            b->full = 2;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    if (b->n) b->p[b->n++] = ' ';
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

/* The top-level PARAM nodes and party declarations of the tree, in order; params[] gets the
 * PARAM nodes that have a value (`param N` alone has none), *n_valued their count. */
static int s_collect(const mpc_ast *ast, mpc_program_canon *pc, const mpc_node **params, uint32_t *n_valued,
                     mpc_diag *diag)
{
    const mpc_node *root = ast->root;
    for (uint32_t i = 0; i < root->n_kids; i++) {
        const mpc_node *n = root->kids[i];
        if (n->kind == MPC_N_PARAM) {
            if (pc->n_params >= MPC_PROGRAM_MAX_PARAMS) {
                mpc_diag_error(diag, n->line, n->col, "more than %d params: the program cannot be approved by "
                               "its program hash", MPC_PROGRAM_MAX_PARAMS);
                return -1;
            }
            if (n->kids[0]) params[(*n_valued)++] = n;
            snprintf(pc->params[pc->n_params++], MPC_NAME_MAX, "%s", n->name);
        } else if (n->kind == MPC_N_PARTY) {
            for (uint32_t k = 0; k < n->n_names; k++) {
                if (pc->n_parties >= MPC_MAX_PARTIES) {
                    mpc_diag_error(diag, n->line, n->col, "too many parties (at most %d)", MPC_MAX_PARTIES);
                    return -1;
                }
                snprintf(pc->parties[pc->n_parties++], MPC_NAME_MAX, "%s", n->names[k]);
            }
        }
    }
    return 0;
}

int mpc_program_canonicalize(const char *src, size_t len, mpc_diag *diag, mpc_program_canon *pc)
{
    memset(pc, 0, sizeof *pc);
    mpc_ast ast = {0};
    if (mpc_parse(src, len, diag, &ast) != 0) return -1;
    const mpc_node **params = calloc(MPC_PROGRAM_MAX_PARAMS, sizeof *params);
    s_buf full = {0}, free_ = {0};
    int r = -1;
    if (!params) {
        mpc_diag_error(diag, 0, 0, "out of memory");
        goto out;
    }
    uint32_t n_valued = 0;
    if (s_collect(&ast, pc, params, &n_valued, diag) != 0) goto out;
    /* The same lexer the parser used, again: every token, in order.  A token inside a
     * param's value goes to the full text only; the value as a whole becomes one '$' in the
     * text that is hashed. */
    mpc_lexer L;
    mpc_lex_init(&L, src, len, NULL);
    mpc_token t;
    uint32_t next = 0;     /* the next param whose value has not been reached */
    for (;;) {
        mpc_token_kind k = mpc_lex_next(&L, &t);
        if (k == MPC_TK_EOF) break;
        if (k == MPC_TK_ERROR) {   /* the parser read the same tokens: cannot happen */
            mpc_diag_error(diag, t.line, t.col, "internal error: the lexer disagrees with the parser");
            goto out;
        }
        size_t off = (size_t)(t.text - src);
        s_put(&full, t.text, t.len);
        if (next < n_valued && off >= params[next]->from) {
            if (off >= params[next]->to) {
                mpc_diag_error(diag, t.line, t.col, "internal error: param value extent");
                goto out;
            }
            s_put(&free_, "$", 1);
            next++;
            continue;
        }
        if (next > 0 && off < params[next - 1]->to) continue;   /* rest of a value */
        s_put(&free_, t.text, t.len);
    }
    if (full.full || free_.full) {
        mpc_diag_error(diag, 0, 0, full.full == 2 || free_.full == 2 ? "out of memory" :
                       "the program's canonical text exceeds %u bytes", (unsigned)MPC_PROGRAM_MAX_TEXT);
        goto out;
    }
    if (!full.p) {
        mpc_diag_error(diag, 0, 0, "empty program");
        goto out;
    }
    crypto_generichash_state st;
    if (sodium_init() < 0 || crypto_generichash_init(&st, NULL, 0, sizeof pc->hash) != 0 ||
        crypto_generichash_update(&st, (const unsigned char *)MPC_PROGRAM_HASH_TAG, strlen(MPC_PROGRAM_HASH_TAG)) ||
        crypto_generichash_update(&st, (const unsigned char *)free_.p, free_.n) ||
        crypto_generichash_final(&st, pc->hash, sizeof pc->hash)) {
        mpc_diag_error(diag, 0, 0, "cannot hash the program");
        goto out;
    }
    pc->text = full.p;
    pc->text_len = full.n;
    full.p = NULL;
    r = 0;
out:
    free(full.p);
    free(free_.p);
    free(params);
    mpc_ast_free(&ast);
    return r;
}

int mpc_param_render(mpc_type type, uint64_t k, unsigned frac, char *buf, size_t cap)
{
    int n;
    if (type == MPC_T_BOOL) {
        n = snprintf(buf, cap, "%s", k ? "true" : "false");
    } else if (type == MPC_T_INT) {
        n = snprintf(buf, cap, "%lld", (long long)(int64_t)k);
    } else {
        if (frac == 0 || frac > 40) return -1;
        int neg = (int64_t)k < 0;
        uint64_t m = neg ? 0 - k : k;
        uint64_t ip = m >> frac, fp = m & ((UINT64_C(1) << frac) - 1);
        n = snprintf(buf, cap, "%s%llu.", neg ? "-" : "", (unsigned long long)ip);
        if (n < 0 || (size_t)n >= cap) return -1;
        /* fp / 2^frac has at most frac decimal digits; fp * 10 < 2^(frac+4) fits. */
        do {
            fp *= 10;
            if ((size_t)n + 1 >= cap) return -1;
            buf[n++] = (char)('0' + (fp >> frac));
            fp &= (UINT64_C(1) << frac) - 1;
        } while (fp);
        buf[n] = 0;
    }
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int mpc_program_identify(const mpc_program *p, mpc_program_canon *pc, char *err, size_t errlen)
{
    mpc_diag d;
    mpc_diag_init(&d, "program", p->text, p->text_len);
    int rc = mpc_program_canonicalize(p->text, p->text_len, &d, pc);
    if (rc != 0) {
        const mpc_diag_item *e = mpc_diag_first_error(&d);
        mpc_errf(err, errlen, "the program it carries does not parse: %u:%u: %s", e ? (unsigned)e->line : 0,
                 e ? (unsigned)e->col : 0, e ? e->msg : "error");
        mpc_diag_free(&d);
        return -1;
    }
    mpc_diag_free(&d);
    if (pc->n_params != p->n_params)
        return mpc_errf(err, errlen, "it states %u param values but the program it carries has %u params",
                        (unsigned)p->n_params, (unsigned)pc->n_params);
    for (uint32_t i = 0; i < pc->n_params; i++)
        if (strcmp(pc->params[i], p->params[i].name) != 0)
            return mpc_errf(err, errlen, "param %u of the program it carries is '%s', not '%s'", (unsigned)i + 1,
                            pc->params[i], p->params[i].name);
    return 0;
}

int mpc_program_recompile(const mpc_program *p, const mpc_circ_limits *lim, uint8_t circ_hash[32],
                          char *err, size_t errlen)
{
    mpc_define defs[MPC_PROGRAM_MAX_PARAMS];
    if (p->n_params > MPC_PROGRAM_MAX_PARAMS) return mpc_errf(err, errlen, "too many params");
    for (uint32_t i = 0; i < p->n_params; i++) defs[i] = (mpc_define){p->params[i].name, p->params[i].value};
    mpc_diag d;
    mpc_circuit *c = NULL;
    int rc = mpc_compile_ex(p->text, p->text_len, "program", defs, p->n_params,
                            p->pushdown ? MPC_COMPILE_PUSHDOWN : 0, &c, &d);
    if (rc != 0) {
        const mpc_diag_item *e = mpc_diag_first_error(&d);
        mpc_errf(err, errlen, "the program it carries does not compile at its params: %u:%u: %s",
                 e ? (unsigned)e->line : 0, e ? (unsigned)e->col : 0, e ? e->msg : "error");
        mpc_diag_free(&d);
        return -1;
    }
    mpc_diag_free(&d);
    char e2[256];
    if (mpc_circ_validate(c, lim, e2, sizeof e2) != 0) {
        mpc_circ_destroy(&c);
        return mpc_errf(err, errlen, "the program it carries exceeds this party's limits at its params: %s", e2);
    }
    rc = mpc_circ_hash(c, circ_hash);
    mpc_circ_destroy(&c);
    return rc ? mpc_errf(err, errlen, "cannot hash the recompiled circuit") : 0;
}

/* ---- approval constraints ---------------------------------------------------------- */

/* A signed decimal integer that fits int64: [-]digits, nothing else.  0 or -1. */
static int s_int64(const char *s, int64_t *v)
{
    int neg = *s == '-';
    const char *p = s + neg;
    if (!*p || strlen(p) > 19) return -1;
    uint64_t x = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9') return -1;
        x = x * 10 + (uint64_t)(*p - '0');
    }
    if (x > (uint64_t)INT64_MAX + (uint64_t)neg) return -1;
    *v = neg ? (int64_t)(0 - x) : (int64_t)x;
    return 0;
}

/* [-]digits.digits normalised into out (cap bytes).  0 or -1. */
static int s_decimal_norm(const char *s, char *out, size_t cap)
{
    int neg = *s == '-';
    const char *p = s + neg, *dot = strchr(p, '.');
    if (!dot || dot == p || !dot[1]) return -1;
    if (strspn(p, "0123456789") != (size_t)(dot - p) || strspn(dot + 1, "0123456789") != strlen(dot + 1)) return -1;
    while (*p == '0' && p + 1 < dot) p++;
    size_t fl = strlen(dot + 1);
    while (fl > 1 && dot[fl] == '0') fl--;
    int zero = dot - p == 1 && *p == '0' && fl == 1 && dot[1] == '0';
    int n = snprintf(out, cap, "%s%.*s.%.*s", neg && !zero ? "-" : "", (int)(dot - p), p, (int)fl, dot + 1);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int mpc_param_constraint_parse(const char *s, mpc_param_constraint *c, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    const char *dd = strstr(s, "..");
    if (dd) {
        char lo[32];
        if ((size_t)(dd - s) >= sizeof lo) return mpc_errf(err, errlen, "'%.40s' is not a range LO..HI of integers", s);
        memcpy(lo, s, (size_t)(dd - s));
        lo[dd - s] = 0;
        if (s_int64(lo, &c->lo) != 0 || s_int64(dd + 2, &c->hi) != 0)
            return mpc_errf(err, errlen, "'%.40s' is not a range LO..HI of integers", s);
        if (c->lo > c->hi) return mpc_errf(err, errlen, "range '%.40s' is empty (LO > HI)", s);
        c->range = 1;
        return 0;
    }
    if (s_int64(s, &c->lo) == 0) {
        c->hi = c->lo;
        c->range = 1;
        return 0;
    }
    if (!strcmp(s, "true") || !strcmp(s, "false")) {
        snprintf(c->value, sizeof c->value, "%s", s);
        return 0;
    }
    if (s_decimal_norm(s, c->value, sizeof c->value) == 0) return 0;
    return mpc_errf(err, errlen, "'%.40s' is not LO..HI, an integer, a decimal or true/false", s);
}

int mpc_param_constraint_admits(const mpc_param_constraint *c, const char *value)
{
    if (c->range) {
        int64_t v;
        return s_int64(value, &v) == 0 && v >= c->lo && v <= c->hi;
    }
    if (!strcmp(value, "true") || !strcmp(value, "false")) return !strcmp(value, c->value);
    char norm[MPC_PARAM_VALUE_MAX];
    return s_decimal_norm(value, norm, sizeof norm) == 0 && !strcmp(norm, c->value);
}

void mpc_param_constraint_format(const mpc_param_constraint *c, char *buf, size_t cap)
{
    if (!c->range) snprintf(buf, cap, "%s", c->value);
    else if (c->lo == c->hi) snprintf(buf, cap, "%lld", (long long)c->lo);
    else snprintf(buf, cap, "%lld..%lld", (long long)c->lo, (long long)c->hi);
}
