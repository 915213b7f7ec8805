/* diag.h — compiler diagnostics: errors and warnings that carry file:line:col and print
 * like a C compiler's (`prog.mpc:7:13: error: message`, then the source line, then a caret
 * under the column).  Used by the lexer, the parser, the code generator and mpcc. */
#ifndef MPC_DIAG_H
#define MPC_DIAG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum { MPC_DIAG_ERROR, MPC_DIAG_WARNING } mpc_diag_severity;

typedef struct {
    mpc_diag_severity severity;
    uint32_t          line, col;   /* 1-based; 0 when the message has no position */
    char              msg[256];
} mpc_diag_item;

/* A diagnostics sink.  It borrows the file name and source text (for the caret lines):
 * both must outlive it. */
typedef struct {
    const char    *filename;
    const char    *src;
    size_t         src_len;
    mpc_diag_item *items;
    size_t         n_items, cap_items;
    size_t         n_errors, n_warnings;
} mpc_diag;

void mpc_diag_init(mpc_diag *d, const char *filename, const char *src, size_t src_len);
/* Frees the items; the sink can be reused after mpc_diag_init. */
void mpc_diag_free(mpc_diag *d);

void mpc_diag_error(mpc_diag *d, uint32_t line, uint32_t col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void mpc_diag_warning(mpc_diag *d, uint32_t line, uint32_t col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Formats the message into err (when err is non-NULL and errlen > 0) and returns -1: the
 * error return of the library functions that take (char *err, size_t errlen). */
int mpc_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The same, returning code: `return mpc_errc(err, errlen, MPC_ERR_IO, "...", ...)`.  The one
 * formatted-error helper of every module that reports through (err, errlen). */
int mpc_errc(char *err, size_t errlen, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The first error, or NULL. */
const mpc_diag_item *mpc_diag_first_error(const mpc_diag *d);

/* The i-th warning (0-based, in the order given), or NULL when there are fewer. */
const mpc_diag_item *mpc_diag_warning_at(const mpc_diag *d, size_t i);

/* Turns every warning into an error (the compiler's strict mode): severity becomes
 * MPC_DIAG_ERROR, " [strict]" is appended to the message, and the counts move. */
void mpc_diag_promote_warnings(mpc_diag *d);

/* "file:line:col: error: msg" (no newline) into buf; returns snprintf's count. */
int mpc_diag_format(const mpc_diag *d, const mpc_diag_item *it, char *buf, size_t len);

/* Prints every item: the formatted line, then the source line and a caret when the item
 * has a position inside the source. */
void mpc_diag_print(const mpc_diag *d, FILE *f);

#endif
