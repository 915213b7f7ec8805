/* csv.c — inputs from CSV files for the client SDK (mpcclient.h, "Inputs from CSV files"):
 * the reader and the table loader are circuits/csv.c and circuits/table.c, shared with mpcc;
 * this file stages what they read as the job's inputs. */
#include "mpc_err.h"
#include "mpcclient.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "client_int.h"
#include "csv.h"
#include "table.h"

static int s_sep(mpc_client *c, const char *sep, char *out)
{
    *out = ',';
    if (sep && sep[0] && mpc_csv_parse_sep(sep, out) != 0)
        return mpc_client_seterr(c, MPC_ERR_INVALID, "CSV separator '%.8s': use ',', ';' or 'tab'", sep);
    return 0;
}

int mpc_job_input_csv(mpc_client *c, mpc_job *j, const char *name, const char *path, const char *sep,
                      unsigned flags)
{
    c->errmsg[0] = 0;
    mpc_csv_opts o = {',', (flags & MPC_CSV_MISSING_ZERO) != 0};
    if (!name || !path || (flags & ~MPC_CSV_MISSING_ZERO)) return mpc_client_seterr(c, MPC_ERR_INVALID, "invalid arguments");
    int r = s_sep(c, sep, &o.sep);
    if (r) return r;
    int has_keys = mpc_job_keys_table(j, name), has_cols = mpc_table_exists(j->decl, j->n_decl, name);
    if (!has_cols && !has_keys)
        return mpc_client_seterr(c, MPC_ERR_NOTFOUND, "%sthe program has no table '%.64s'", j->where, name);
    size_t tl = strlen(name);
    for (uint32_t i = 0; i < j->n_decl; i++)   /* nothing is staged unless every column can be */
        if (j->staged[i] && strncmp(j->decl[i].name, name, tl) == 0 && j->decl[i].name[tl] == '.')
            return mpc_client_seterr(c, MPC_ERR_STATE, "%sinput '%s' is already given", j->where, j->decl[i].name);
    /* A side of a join: its key column goes to the table's own party's daemon (joinkeys.c),
     * checked, read and staged first, then the payload columns as any table's. */
    if (has_keys && (r = mpc_job_keys_csv(c, j, name, path, &o)) != 0) return r;
    if (!has_cols) return 0;
    mpc_table_col *cols = NULL;
    size_t n = 0;
    char err[600];
    if (mpc_table_load(j->decl, j->n_decl, j->circ->frac_bits, j->src, j->src_len, name, path, &o, &cols, &n, err,
                       sizeof err) != 0) {
        if (!j->live) mpc_job_keys_drop(j, name);
        return mpc_client_seterr(c, MPC_ERR_INPUT, "%s%s", j->where, err);
    }
    uint64_t rows = 0;
    for (uint32_t i = 0; i < j->n_decl; i++)
        if (strncmp(j->decl[i].name, name, tl) == 0 && j->decl[i].name[tl] == '.') rows = j->decl[i].len;
    for (size_t k = 0; k < n && !r; k++) {
        char full[MPC_NAME_MAX * 2];
        snprintf(full, sizeof full, "%s.%s", name, cols[k].name);
        r = mpc_job_input(c, j, full, cols[k].vals, rows);
    }
    for (size_t k = 0; k < n; k++)
        if (cols[k].vals) sodium_memzero(cols[k].vals, (size_t)rows * 8);
    mpc_table_free(cols, n, 0);
    return r;
}

int mpc_table_row_define(mpc_client *c, const char *src, size_t src_len, const char *table, const char *path,
                         const char *sep, char *define, size_t len)
{
    c->errmsg[0] = 0;
    if (!src || !table || !path || !define || len < 2) return mpc_client_seterr(c, MPC_ERR_INVALID, "invalid arguments");
    define[0] = 0;
    char s, param[MPC_NAME_MAX], err[600];
    int r = s_sep(c, sep, &s);
    if (r) return r;
    uint64_t rows = 0;
    int k = mpc_table_row_param(src, src_len, table, path, s, param, sizeof param, &rows, err, sizeof err);
    if (k < 0) return mpc_client_seterr(c, MPC_ERR_INPUT, "%s", err);
    if (k == 1 && (size_t)snprintf(define, len, "%s=%llu", param, (unsigned long long)rows) >= len) {
        define[0] = 0;
        return mpc_client_seterr(c, MPC_ERR_INVALID, "define buffer too small");
    }
    return 0;
}
