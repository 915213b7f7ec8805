/* csv.h — a streaming reader of delimited data files (RFC 4180 CSV) and the loader of a
 * table's columns from one.  A plain data-file reader: it depends on circuit.h and value.h
 * only, so both mpcc (circuits/) and the client SDK (client-sdk/) use it.
 *
 * Format: records end at LF, CRLF or CR; fields are separated by `sep` (',' by default, ';'
 * or a tab on request); a field may be quoted ("..."), then it may hold the separator, line
 * breaks and doubled quotes ("" is one "); a UTF-8 byte-order mark at the start is skipped;
 * empty lines (anywhere, e.g. trailing ones) are skipped.  The file is read through a fixed
 * buffer, one record at a time: a file of 10^7 rows is never held in memory, only the
 * column values it yields.  Positions in messages are 1-based lines and byte columns. */
#ifndef MPC_CSV_H
#define MPC_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "circuit.h"

typedef struct mpc_csv mpc_csv;

/* One record: n fields; field i is text[i][0..len[i]-1] (NUL-terminated too, quotes removed),
 * starting at line[i]:col[i] of the file.  Valid until the next mpc_csv_next. */
typedef struct {
    size_t       n;
    const char **text;
    const size_t *len;
    const uint64_t *line;
    const uint32_t *col;
    uint64_t     end_line;   /* the line the record ends on */
} mpc_csv_record;

/* Opens path for reading records separated by sep (0 means ',').  0, or -1 with a message. */
int  mpc_csv_open(const char *path, char sep, mpc_csv **out, char *err, size_t errlen);
/* Reads the next non-empty record: 1, 0 at the end of the file, or -1 with a message
 * "path:line:col: error: ..." (an unterminated quote, a character after a closing quote, a
 * quote inside an unquoted field, a record over 64 MiB or 2^20 fields). */
int  mpc_csv_next(mpc_csv *r, mpc_csv_record *rec, char *err, size_t errlen);
/* Closes the file and wipes the reader's buffers (the data may be secret).  Accepts NULL. */
void mpc_csv_close(mpc_csv **r);

/* Options of a table read (the `mpc`/`mpcc` flags --sep and --missing). */
typedef struct {
    char sep;            /* 0 or ',', ';', '\t' */
    int  missing_zero;   /* an empty cell of a column without a default reads as 0 */
} mpc_csv_opts;

/* A column to read: matched by name against the header, values parsed as `type` exactly as
 * mpc_value_parse does.  An empty (or blank) cell takes `dflt` when has_default, 0 with
 * missing_zero, and is an error otherwise. */
typedef struct {
    char      name[MPC_NAME_MAX];
    mpc_type  type;
    int       has_default;
    uint64_t  dflt;
    uint64_t *vals;      /* out: malloc'ed, *rows values (the caller wipes and frees) */
} mpc_table_col;

/* Reads the table in path: the first record is the header naming the columns (extra columns
 * are ignored; a missing or repeated one is an error naming it); every other record must
 * have as many fields as the header.  Fills cols[i].vals and *rows (at least 1).  0, or -1
 * with "path:line:col: error: ..." (nothing of a cell's content is quoted: it may be secret);
 * on error no vals are left allocated. */
int  mpc_table_read(const char *path, const mpc_csv_opts *o, unsigned frac, mpc_table_col *cols, size_t ncols,
                    uint64_t *rows, char *err, size_t errlen);

/* Counts the data records of path (records after the header): what a table's row count is
 * when the program leaves it to the file.  0, or -1 with a message. */
int  mpc_csv_count_rows(const char *path, char sep, uint64_t *rows, char *err, size_t errlen);

/* Parses a --sep argument: ",", ";", "tab" or a literal tab.  0 (the separator in *sep) or -1. */
int  mpc_csv_parse_sep(const char *s, char *sep);

/* Wipes n bytes (not optimised away). */
void mpc_csv_wipe(void *p, size_t n);

#endif
