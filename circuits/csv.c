/* csv.c — the streaming CSV reader and the table loader (csv.h). */
#include "csv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "value.h"

#define S_BUF        (1u << 16)
#define S_MAX_RECORD ((size_t)64 << 20)
#define S_MAX_FIELDS ((size_t)1 << 20)   /* per record: bounds the per-field tables */

struct mpc_csv {
    FILE     *f;
    char      path[256];
    char      sep;
    unsigned char buf[S_BUF];
    size_t    pos, end;
    int       eof, started;
    uint64_t  line;
    uint32_t  col;
    /* the current record: text of every field (NUL after each), then per-field tables */
    char     *text;     size_t tlen, tcap;
    size_t   *off;      size_t nf, fcap;
    size_t   *flen;
    uint64_t *fline;
    uint32_t *fcol;
    const char **fptr;
};

void mpc_csv_wipe(void *p, size_t n)
{
    if (!p || !n) return;
    memset(p, 0, n);
    __asm__ __volatile__("" : : "r"(p) : "memory");   /* the stores are kept: p is "used" */
}

static int s_err(const mpc_csv *r, uint64_t line, uint32_t col, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static int s_err(const mpc_csv *r, uint64_t line, uint32_t col, char *err, size_t errlen, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(err, errlen, "%s:%llu:%u: error: %s", r->path, (unsigned long long)line, (unsigned)col, msg);
    return -1;
}

int mpc_csv_open(const char *path, char sep, mpc_csv **out, char *err, size_t errlen)
{
    *out = NULL;
    mpc_csv *r = calloc(1, sizeof *r);
    if (!r) return snprintf(err, errlen, "%s: out of memory", path), -1;
    r->f = fopen(path, "rb");
    if (!r->f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        free(r);
        return -1;
    }
    snprintf(r->path, sizeof r->path, "%s", path);
    r->sep = sep ? sep : ',';
    r->line = 1;
    r->col = 1;
    *out = r;
    return 0;
}

void mpc_csv_close(mpc_csv **rp)
{
    if (!rp || !*rp) return;
    mpc_csv *r = *rp;
    if (r->f) fclose(r->f);
    mpc_csv_wipe(r->buf, sizeof r->buf);
    if (r->text) mpc_csv_wipe(r->text, r->tcap);
    free(r->text);
    free(r->off);
    free(r->flen);
    free(r->fline);
    free(r->fcol);
    free(r->fptr);
    free(r);
    *rp = NULL;
}

/* The next byte (advancing), -1 at the end, -2 on a read error. */
static int s_peek(mpc_csv *r)
{
    if (r->pos == r->end) {
        if (r->eof) return -1;
        r->pos = 0;
        r->end = fread(r->buf, 1, sizeof r->buf, r->f);
        if (r->end < sizeof r->buf) {
            if (ferror(r->f)) return -2;
            r->eof = 1;
        }
        if (!r->started) {   /* a UTF-8 byte-order mark */
            r->started = 1;
            if (r->end >= 3 && r->buf[0] == 0xEF && r->buf[1] == 0xBB && r->buf[2] == 0xBF) r->pos = 3;
        }
        if (r->pos == r->end) return -1;
    }
    return r->buf[r->pos];
}

static void s_take(mpc_csv *r)
{
    if (r->buf[r->pos++] == '\n') {
        r->line++;
        r->col = 1;
    } else {
        r->col++;
    }
}

/* Room for k more bytes of record text. */
static int s_room(mpc_csv *r, size_t k)
{
    while (r->tcap - r->tlen < k) {
        if (r->tcap >= S_MAX_RECORD) return -1;
        size_t nc = r->tcap ? r->tcap * 2 : 4096;
        char *nt = malloc(nc);
        if (!nt) return -1;
        if (r->text) {
            memcpy(nt, r->text, r->tlen);
            mpc_csv_wipe(r->text, r->tcap);
            free(r->text);
        }
        r->text = nt;
        r->tcap = nc;
    }
    return 0;
}

static int s_put(mpc_csv *r, char ch)
{
    if (r->tlen == r->tcap && s_room(r, 1) != 0) return -1;
    r->text[r->tlen++] = ch;
    return 0;
}

/* An unquoted field from the current byte on: runs of ordinary bytes are copied from the
 * read buffer at once. */
static int s_unquoted(mpc_csv *r, char *err, size_t errlen)
{
    for (;;) {
        int c = s_peek(r);
        if (c == -2) return s_err(r, r->line, r->col, err, errlen, "read error");
        if (c < 0 || c == r->sep || c == '\n' || c == '\r') return 0;
        if (c == '"')
            return s_err(r, r->line, r->col, err, errlen, "a quote inside an unquoted field "
                         "(quote the whole field: \"...\")");
        size_t i = r->pos;
        const unsigned char sep = (unsigned char)r->sep;
        while (i < r->end) {
            unsigned char ch = r->buf[i];
            if (ch == sep || ch == '\n' || ch == '\r' || ch == '"') break;
            i++;
        }
        size_t k = i - r->pos;   /* >= 1: the current byte is ordinary */
        if (s_room(r, k) != 0) return s_err(r, r->line, r->col, err, errlen, "record too long or out of memory");
        memcpy(r->text + r->tlen, r->buf + r->pos, k);
        r->tlen += k;
        r->pos = i;
        r->col += (uint32_t)k;
    }
}

static int s_new_field(mpc_csv *r)
{
    if (r->nf == r->fcap) {
        size_t nc = r->fcap ? r->fcap * 2 : 16;
        size_t *o = realloc(r->off, nc * sizeof *o);
        if (o) r->off = o;
        size_t *l = realloc(r->flen, nc * sizeof *l);
        if (l) r->flen = l;
        uint64_t *fl = realloc(r->fline, nc * sizeof *fl);
        if (fl) r->fline = fl;
        uint32_t *fc = realloc(r->fcol, nc * sizeof *fc);
        if (fc) r->fcol = fc;
        const char **fp = realloc(r->fptr, nc * sizeof *fp);
        if (fp) r->fptr = fp;
        if (!o || !l || !fl || !fc || !fp) return -1;
        r->fcap = nc;
    }
    r->off[r->nf] = r->tlen;
    r->fline[r->nf] = r->line;
    r->fcol[r->nf] = r->col;
    r->nf++;
    return 0;
}

/* Ends the current field: its length and a NUL. */
static int s_end_field(mpc_csv *r)
{
    r->flen[r->nf - 1] = r->tlen - r->off[r->nf - 1];
    return s_put(r, 0);
}

/* A quoted field, the opening quote being current. */
static int s_quoted(mpc_csv *r, char *err, size_t errlen)
{
    uint64_t ql = r->line;
    uint32_t qc = r->col;
    s_take(r);
    for (;;) {
        int c = s_peek(r);
        if (c == -2) return s_err(r, r->line, r->col, err, errlen, "read error");
        if (c == -1)
            return s_err(r, ql, qc, err, errlen, "unterminated quoted field (no closing '\"' before the end of the file)");
        s_take(r);
        if (c == '"') {
            if (s_peek(r) != '"') break;
            s_take(r);
        }
        if (s_put(r, (char)c) != 0) return s_err(r, ql, qc, err, errlen, "record too long or out of memory");
    }
    int c = s_peek(r);
    if (c >= 0 && c != r->sep && c != '\n' && c != '\r')
        return s_err(r, r->line, r->col, err, errlen, "unexpected character after a closing quote "
                     "(a quote inside a quoted field is written \"\")");
    return 0;
}

int mpc_csv_next(mpc_csv *r, mpc_csv_record *rec, char *err, size_t errlen)
{
    memset(rec, 0, sizeof *rec);
    for (;;) {   /* skip empty lines */
        int c = s_peek(r);
        if (c == -2) return s_err(r, r->line, r->col, err, errlen, "read error");
        if (c == -1) return 0;
        if (c != '\n' && c != '\r') break;
        s_take(r);
    }
    if (r->text) mpc_csv_wipe(r->text, r->tlen);
    r->tlen = 0;
    r->nf = 0;
    for (;;) {   /* one field per iteration */
        if (r->nf >= S_MAX_FIELDS)
            return s_err(r, r->line, r->col, err, errlen, "more than %zu fields in one record", S_MAX_FIELDS);
        if (s_new_field(r) != 0) return s_err(r, r->line, r->col, err, errlen, "out of memory");
        int c = s_peek(r);
        if (c == '"') {
            if (s_quoted(r, err, errlen) != 0) return -1;
        } else if (s_unquoted(r, err, errlen) != 0) {
            return -1;
        }
        if (s_end_field(r) != 0) return s_err(r, r->line, r->col, err, errlen, "record too long or out of memory");
        c = s_peek(r);
        if (c == r->sep) {
            s_take(r);
            continue;
        }
        rec->end_line = r->line;
        if (c == '\r') {
            s_take(r);
            if (s_peek(r) == '\n') s_take(r);
        } else if (c == '\n') {
            s_take(r);
        }
        break;
    }
    for (size_t i = 0; i < r->nf; i++) r->fptr[i] = r->text + r->off[i];
    rec->n = r->nf;
    rec->text = r->fptr;
    rec->len = r->flen;
    rec->line = r->fline;
    rec->col = r->fcol;
    return 1;
}

int mpc_csv_count_rows(const char *path, char sep, uint64_t *rows, char *err, size_t errlen)
{
    mpc_csv *r;
    *rows = 0;
    if (mpc_csv_open(path, sep, &r, err, errlen) != 0) return -1;
    mpc_csv_record rec;
    int k;
    uint64_t n = 0;
    while ((k = mpc_csv_next(r, &rec, err, errlen)) == 1) n++;
    mpc_csv_close(&r);
    if (k < 0) return -1;
    *rows = n ? n - 1 : 0;
    return 0;
}

int mpc_csv_parse_sep(const char *s, char *sep)
{
    if (!strcmp(s, ",") || !strcmp(s, ";") || !strcmp(s, "\t")) *sep = s[0];
    else if (!strcmp(s, "tab") || !strcmp(s, "\\t")) *sep = '\t';
    else return -1;
    return 0;
}

static int s_blank_cell(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t') return 0;
    return 1;
}

/* Maps each wanted column to its field index in the header record. */
static int s_header(mpc_csv *r, const mpc_csv_record *h, mpc_table_col *cols, size_t ncols, size_t *idx,
                    char *err, size_t errlen)
{
    for (size_t c = 0; c < ncols; c++) {
        idx[c] = SIZE_MAX;
        for (size_t f = 0; f < h->n; f++) {
            const char *a = h->text[f];   /* "age, glucose": names are matched without blanks */
            size_t n = h->len[f];
            while (n && (*a == ' ' || *a == '\t')) a++, n--;
            while (n && (a[n - 1] == ' ' || a[n - 1] == '\t')) n--;
            if (n != strlen(cols[c].name) || memcmp(a, cols[c].name, n) != 0) continue;
            if (idx[c] != SIZE_MAX)
                return s_err(r, h->line[f], h->col[f], err, errlen, "column '%s' appears twice in the header "
                             "(first at column %u)", cols[c].name, (unsigned)h->col[idx[c]]);
            idx[c] = f;
        }
    }
    char missing[300] = "";
    size_t ml = 0, nm = 0;
    for (size_t c = 0; c < ncols; c++)
        if (idx[c] == SIZE_MAX && ml < sizeof missing) {
            ml += (size_t)snprintf(missing + ml, sizeof missing - ml, "%s'%s'", nm ? ", " : "", cols[c].name);
            nm++;
        }
    if (nm)
        return s_err(r, h->line[0], h->col[0], err, errlen, "the header has no column%s %s (a table's file "
                     "needs a header naming its columns)", nm > 1 ? "s" : "", missing);
    return 0;
}

/* Appends one data record's cells to the columns. */
static int s_row(mpc_csv *r, const mpc_csv_record *rec, size_t nh, const mpc_csv_opts *o, unsigned frac,
                 mpc_table_col *cols, size_t ncols, const size_t *idx, uint64_t row, char *err, size_t errlen)
{
    if (rec->n != nh)
        return s_err(r, rec->line[0], rec->col[0], err, errlen, "this row has %zu field%s, the header %zu",
                     rec->n, rec->n == 1 ? "" : "s", nh);
    for (size_t c = 0; c < ncols; c++) {
        size_t f = idx[c];
        uint64_t v = 0;
        char e2[200];
        if (s_blank_cell(rec->text[f], rec->len[f])) {
            if (cols[c].has_default) v = cols[c].dflt;
            else if (!o->missing_zero)
                return s_err(r, rec->line[f], rec->col[f], err, errlen, "column '%s': missing value (give the "
                             "column a default in the program, or --missing=zero)", cols[c].name);
        } else if (mpc_value_parse(cols[c].type, frac, rec->text[f], rec->len[f], &v, e2, sizeof e2) != 0) {
            mpc_csv_wipe(e2, sizeof e2);   /* it quotes the cell */
            return s_err(r, rec->line[f], rec->col[f], err, errlen, "column '%s': not a valid %s value%s",
                         cols[c].name, mpc_type_names[cols[c].type],
                         cols[c].type == MPC_T_FIX ? " (a decimal number in the range of fix)"
                         : cols[c].type == MPC_T_INT ? " (an integer of 64 bits)" : " (0, 1, true or false)");
        }
        cols[c].vals[row] = v;
    }
    return 0;
}

static void s_free_cols(mpc_table_col *cols, size_t ncols, uint64_t n)
{
    for (size_t c = 0; c < ncols; c++) {
        if (cols[c].vals) mpc_csv_wipe(cols[c].vals, (size_t)n * 8);
        free(cols[c].vals);
        cols[c].vals = NULL;
    }
}

int mpc_table_read(const char *path, const mpc_csv_opts *o, unsigned frac, mpc_table_col *cols, size_t ncols,
                   uint64_t *rows, char *err, size_t errlen)
{
    static const mpc_csv_opts none = {0, 0};
    if (!o) o = &none;
    *rows = 0;
    for (size_t c = 0; c < ncols; c++) cols[c].vals = NULL;
    mpc_csv *r;
    if (mpc_csv_open(path, o->sep, &r, err, errlen) != 0) return -1;
    size_t *idx = calloc(ncols ? ncols : 1, sizeof *idx);
    mpc_csv_record rec;
    uint64_t n = 0, cap = 0;
    int k = -1;
    if (!idx) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    k = mpc_csv_next(r, &rec, err, errlen);
    if (k == 0) s_err(r, 1, 1, err, errlen, "the file is empty (a table's file needs a header and rows)");
    if (k != 1 || s_header(r, &rec, cols, ncols, idx, err, errlen) != 0) goto fail;
    size_t nh = rec.n;
    while ((k = mpc_csv_next(r, &rec, err, errlen)) == 1) {
        if (n == cap) {
            uint64_t nc = cap ? cap * 2 : 1024;
            if (nc > MPC_CIRC_MAX_VECTOR) nc = MPC_CIRC_MAX_VECTOR;
            if (n == nc) {
                s_err(r, rec.line[0], 1, err, errlen, "more than %llu rows", (unsigned long long)MPC_CIRC_MAX_VECTOR);
                goto fail;
            }
            for (size_t c = 0; c < ncols; c++) {
                uint64_t *nv = malloc((size_t)nc * 8);
                if (!nv) {
                    s_err(r, rec.line[0], 1, err, errlen, "out of memory");
                    goto fail;
                }
                if (cols[c].vals) {
                    memcpy(nv, cols[c].vals, (size_t)n * 8);
                    mpc_csv_wipe(cols[c].vals, (size_t)n * 8);
                    free(cols[c].vals);
                }
                cols[c].vals = nv;
            }
            cap = nc;
        }
        if (s_row(r, &rec, nh, o, frac, cols, ncols, idx, n, err, errlen) != 0) goto fail;
        n++;
    }
    if (k < 0) goto fail;
    if (n == 0) {
        s_err(r, r->line, 1, err, errlen, "no data rows after the header");
        goto fail;
    }
    free(idx);
    mpc_csv_close(&r);
    *rows = n;
    return 0;
fail:
    s_free_cols(cols, ncols, cap);
    free(idx);
    mpc_csv_close(&r);
    return -1;
}
