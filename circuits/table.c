/* table.c — table inputs from CSV files for the front ends (table.h). */
#include "table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "value.h"

/* The TABLE statement of t in the parsed program, or NULL. */
static const mpc_node *s_find_table(const mpc_ast *ast, const char *t)
{
    for (uint32_t i = 0; i < ast->root->n_kids; i++) {
        const mpc_node *n = ast->root->kids[i];
        if (n->kind == MPC_N_TABLE && strcmp(n->name, t) == 0) return n;
    }
    return NULL;
}

static int s_parse(const char *src, size_t srclen, mpc_ast *ast)
{
    mpc_diag d;
    mpc_diag_init(&d, "program", src, srclen);
    int r = mpc_parse(src, srclen, &d, ast);
    mpc_diag_free(&d);
    return r;
}

int mpc_table_row_param(const char *src, size_t srclen, const char *t, const char *path, char sep,
                        char *param, size_t plen, uint64_t *rows, char *err, size_t errlen)
{
    mpc_ast ast;
    if (s_parse(src, srclen, &ast) != 0) return 0;   /* the compiler reports it */
    int r = 0;
    const mpc_node *tb = s_find_table(&ast, t);
    const mpc_node *len = tb ? tb->kids[0] : NULL;
    if (len && len->kind == MPC_N_NAME) {
        for (uint32_t i = 0; i < ast.root->n_kids; i++) {
            const mpc_node *n = ast.root->kids[i];
            if (n->kind == MPC_N_PARAM && strcmp(n->name, len->name) == 0 && !n->kids[0]) r = 1;
        }
    }
    if (r == 1) {
        snprintf(param, plen, "%s", len->name);
        if (mpc_csv_count_rows(path, sep, rows, err, errlen) != 0) r = -1;
    }
    mpc_ast_free(&ast);
    return r;
}

int mpc_program_dataset_refs(const char *src, size_t srclen, mpc_dataset_ref *refs, uint32_t cap, uint32_t *n)
{
    *n = 0;
    mpc_ast ast;
    if (s_parse(src, srclen, &ast) != 0) return -1;
    int r = 0;
    for (uint32_t i = 0; i < ast.root->n_kids && !r; i++) {
        const mpc_node *t = ast.root->kids[i];
        if (t->kind != MPC_N_TABLE || t->n_names < 2) continue;
        if (*n >= cap) {
            r = -1;
            break;
        }
        mpc_dataset_ref *d = &refs[(*n)++];
        memset(d, 0, sizeof *d);
        snprintf(d->table, sizeof d->table, "%s", t->name);
        snprintf(d->party, sizeof d->party, "%s", t->names[0]);
        snprintf(d->dataset, sizeof d->dataset, "%s", t->names[1]);
        const mpc_node *len = t->kids[0];
        if (len && len->kind == MPC_N_NAME)
            for (uint32_t k = 0; k < ast.root->n_kids; k++) {
                const mpc_node *p = ast.root->kids[k];
                if (p->kind == MPC_N_PARAM && strcmp(p->name, len->name) == 0 && !p->kids[0])
                    snprintf(d->row_param, sizeof d->row_param, "%s", len->name);
            }
    }
    mpc_ast_free(&ast);
    return r;
}

int mpc_table_exists(const mpc_input *d, uint32_t nd, const char *t)
{
    size_t tl = strlen(t);
    for (uint32_t i = 0; i < nd; i++)
        if (strncmp(d[i].name, t, tl) == 0 && d[i].name[tl] == '.') return 1;
    return 0;
}

/* Sets each column's default from the program's declaration of table t. */
static void s_defaults(const char *src, size_t srclen, const char *t, unsigned frac, mpc_table_col *cols,
                       size_t ncols)
{
    mpc_ast ast;
    if (s_parse(src, srclen, &ast) != 0) return;
    const mpc_node *tb = s_find_table(&ast, t);
    for (uint32_t i = 1; tb && i < tb->n_kids; i++) {
        const mpc_node *col = tb->kids[i];
        char text[80], e[160];
        for (size_t c = 0; c < ncols; c++)
            if (!strcmp(cols[c].name, col->name) && col->kids[0] &&
                mpc_column_default_text(col, text, sizeof text) == 0 &&
                mpc_value_parse(cols[c].type, frac, text, strlen(text), &cols[c].dflt, e, sizeof e) == 0)
                cols[c].has_default = 1;
    }
    mpc_ast_free(&ast);
}

void mpc_table_free(mpc_table_col *cols, size_t ncols, uint64_t rows)
{
    if (!cols) return;
    for (size_t c = 0; c < ncols; c++) {
        if (cols[c].vals) mpc_csv_wipe(cols[c].vals, (size_t)rows * 8);
        free(cols[c].vals);
    }
    free(cols);
}

int mpc_table_load(const mpc_input *d, uint32_t nd, unsigned frac, const char *src, size_t srclen, const char *t,
                   const char *path, const mpc_csv_opts *o, mpc_table_col **out, size_t *ncols,
                   char *err, size_t errlen)
{
    *out = NULL;
    *ncols = 0;
    size_t tl = strlen(t), n = 0;
    uint64_t len = 0;
    mpc_table_col *cols = calloc(nd ? nd : 1, sizeof *cols);
    if (!cols) return snprintf(err, errlen, "out of memory"), -1;
    for (uint32_t i = 0; i < nd; i++) {
        if (strncmp(d[i].name, t, tl) != 0 || d[i].name[tl] != '.') continue;
        snprintf(cols[n].name, sizeof cols[n].name, "%s", d[i].name + tl + 1);
        cols[n].type = (mpc_type)d[i].type;
        len = d[i].len;
        n++;
    }
    if (!n) {
        free(cols);
        return snprintf(err, errlen, "the program has no table '%s'", t), -1;
    }
    if (src) s_defaults(src, srclen, t, frac, cols, n);
    uint64_t rows = 0;
    if (mpc_table_read(path, o, frac, cols, n, &rows, err, errlen) != 0) {
        free(cols);
        return -1;
    }
    if (rows != len) {
        mpc_table_free(cols, n, rows);
        return snprintf(err, errlen, "%s: %llu data rows, but table '%s' has %llu rows in the program (its "
                        "declared row count, e.g. from -D)", path, (unsigned long long)rows, t,
                        (unsigned long long)len), -1;
    }
    *out = cols;
    *ncols = n;
    return 0;
}
