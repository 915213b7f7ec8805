/* table.h — what the front ends (mpcc --eval, the client SDK and `mpc`) need to give a
 * program's table input from a CSV file (circuits/LANGUAGE.md, "Tables"): the columns of
 * table T are the circuit's inputs "T.COLUMN"; their defaults and the param that sets the
 * row count come from the source, when there is one (a .circ records neither: every cell
 * must then be present, or --missing=zero). */
#ifndef MPC_TABLE_H
#define MPC_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "circuit.h"
#include "csv.h"

/* If table t of the source src[0..srclen-1] has as its row count a param declared without a
 * value (`param N`), copies that param's name into param and counts the data rows of path
 * into *rows: returns 1.  0 when the table does not exist, or its row count is anything
 * else; -1 with a message (the file cannot be read). */
int mpc_table_row_param(const char *src, size_t srclen, const char *t, const char *path, char sep,
                        char *param, size_t plen, uint64_t *rows, char *err, size_t errlen);

/* A table the program reads from a stored dataset (`from a dataset "hosp_a.labs"`,
 * circuits/LANGUAGE.md "Datasets"): its name, party, dataset, and the param without a value
 * that sets its row count ("" when the count is anything else). */
typedef struct {
    char table[MPC_NAME_MAX], party[MPC_NAME_MAX], dataset[MPC_NAME_MAX], row_param[MPC_NAME_MAX];
} mpc_dataset_ref;
#define MPC_MAX_DATASET_REFS 16

/* The dataset tables of the program src[0..srclen-1], in declaration order: at most cap in
 * refs, their number in *n.  0, or -1 when the source does not parse (the compiler says why)
 * or reads more than cap datasets. */
int mpc_program_dataset_refs(const char *src, size_t srclen, mpc_dataset_ref *refs, uint32_t cap, uint32_t *n);

/* Whether the declared inputs d[0..nd-1] hold table t (an input named "t.COLUMN"). */
int mpc_table_exists(const mpc_input *d, uint32_t nd, const char *t);

/* Reads table t's columns from path: the columns are the inputs "t.COLUMN" among d[0..nd-1]
 * (types and length from there), defaults from src when src is not NULL.  The file's row
 * count must equal the columns' length; otherwise an error naming both.  On success *cols
 * holds *ncols columns (name = the column's name without "t.", vals its values) to free
 * with mpc_table_free.  0 or -1 with a message. */
int mpc_table_load(const mpc_input *d, uint32_t nd, unsigned frac, const char *src, size_t srclen, const char *t,
                   const char *path, const mpc_csv_opts *o, mpc_table_col **cols, size_t *ncols,
                   char *err, size_t errlen);
void mpc_table_free(mpc_table_col *cols, size_t ncols, uint64_t rows);

#endif
