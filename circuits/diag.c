/* diag.c — collecting and printing compiler diagnostics (diag.h). */
#include "diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void mpc_diag_init(mpc_diag *d, const char *filename, const char *src, size_t src_len)
{
    memset(d, 0, sizeof *d);
    d->filename = filename ? filename : "<input>";
    d->src = src;
    d->src_len = src_len;
}

void mpc_diag_free(mpc_diag *d)
{
    free(d->items);
    d->items = NULL;
    d->n_items = d->cap_items = 0;
    d->n_errors = d->n_warnings = 0;
}

static void s_add(mpc_diag *d, mpc_diag_severity sev, uint32_t line, uint32_t col,
                  const char *fmt, va_list ap)
{
    if (sev == MPC_DIAG_ERROR) d->n_errors++;
    else d->n_warnings++;
    if (d->n_items == d->cap_items) {
        size_t ncap = d->cap_items ? d->cap_items * 2 : 8;
        mpc_diag_item *p = realloc(d->items, ncap * sizeof *p);
        if (!p) return; /* counted, but the text is lost: the caller still sees the failure */
        d->items = p;
        d->cap_items = ncap;
    }
    mpc_diag_item *it = &d->items[d->n_items++];
    it->severity = sev;
    it->line = line;
    it->col = col;
    vsnprintf(it->msg, sizeof it->msg, fmt, ap);
}

void mpc_diag_error(mpc_diag *d, uint32_t line, uint32_t col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_add(d, MPC_DIAG_ERROR, line, col, fmt, ap);
    va_end(ap);
}

void mpc_diag_warning(mpc_diag *d, uint32_t line, uint32_t col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_add(d, MPC_DIAG_WARNING, line, col, fmt, ap);
    va_end(ap);
}

const mpc_diag_item *mpc_diag_first_error(const mpc_diag *d)
{
    for (size_t i = 0; i < d->n_items; i++)
        if (d->items[i].severity == MPC_DIAG_ERROR) return &d->items[i];
    return NULL;
}

const mpc_diag_item *mpc_diag_warning_at(const mpc_diag *d, size_t i)
{
    for (size_t k = 0; k < d->n_items; k++)
        if (d->items[k].severity == MPC_DIAG_WARNING && i-- == 0) return &d->items[k];
    return NULL;
}

void mpc_diag_promote_warnings(mpc_diag *d)
{
    for (size_t k = 0; k < d->n_items; k++) {
        mpc_diag_item *it = &d->items[k];
        if (it->severity != MPC_DIAG_WARNING) continue;
        it->severity = MPC_DIAG_ERROR;
        size_t n = strnlen(it->msg, sizeof it->msg);
        static const char tag[] = " [strict]";
        if (n + sizeof tag > sizeof it->msg) n = sizeof it->msg - sizeof tag;
        memcpy(it->msg + n, tag, sizeof tag);
    }
    d->n_errors += d->n_warnings;
    d->n_warnings = 0;
}

int mpc_diag_format(const mpc_diag *d, const mpc_diag_item *it, char *buf, size_t len)
{
    const char *sev = it->severity == MPC_DIAG_ERROR ? "error" : "warning";
    if (it->line)
        return snprintf(buf, len, "%s:%u:%u: %s: %s", d->filename, (unsigned)it->line,
                        (unsigned)it->col, sev, it->msg);
    return snprintf(buf, len, "%s: %s: %s", d->filename, sev, it->msg);
}

/* Start and length of source line `line` (1-based); -1 if there is no such line. */
static int s_line_span(const mpc_diag *d, uint32_t line, size_t *start, size_t *n)
{
    if (!d->src || line == 0) return -1;
    size_t pos = 0;
    for (uint32_t l = 1; l < line; l++) {
        const char *nl = memchr(d->src + pos, '\n', d->src_len - pos);
        if (!nl) return -1;
        pos = (size_t)(nl - d->src) + 1;
    }
    const char *nl = memchr(d->src + pos, '\n', d->src_len - pos);
    *start = pos;
    *n = nl ? (size_t)(nl - (d->src + pos)) : d->src_len - pos;
    if (*n > 0 && d->src[pos + *n - 1] == '\r') (*n)--;
    return 0;
}

void mpc_diag_print(const mpc_diag *d, FILE *f)
{
    char buf[512];
    for (size_t i = 0; i < d->n_items; i++) {
        const mpc_diag_item *it = &d->items[i];
        mpc_diag_format(d, it, buf, sizeof buf);
        fprintf(f, "%s\n", buf);
        size_t start, n;
        if (s_line_span(d, it->line, &start, &n) != 0) continue;
        fprintf(f, "%.*s\n", (int)n, d->src + start);
        /* The caret keeps tabs so that it lines up under the column. */
        for (uint32_t c = 1; c < it->col && c - 1 < n; c++)
            fputc(d->src[start + c - 1] == '\t' ? '\t' : ' ', f);
        fputs("^\n", f);
    }
}

int mpc_errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int mpc_errc(char *err, size_t errlen, int code, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}
