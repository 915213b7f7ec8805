/* dataset.h — this daemon's shares of the secret-shared datasets that live in the service
 * (docs/datasets.md).  A dataset is a table: named columns of int, fix or bool, all of one
 * row count, secret-shared by the uploading client among the daemons listed in its record;
 * this daemon holds one additive share of every cell.  On disk (STATE_DIR/datasets/) each
 * dataset is one record file NAME.meta and one segment file per upload (the first, and one per
 * append), all encrypted at rest under the data key:
 *   NAME.meta        "MPCDSM1\n" | nonce (24) | XChaCha20-Poly1305(record), AD = magic | NAME
 *   NAME.gG.sK       "MPCDSS1\n" | secretstream header (24) | messages, each
 *                    u32 LE length | secretstream(u64 LE rows | rows × ncols u64 LE words,
 *                    column after column), AD = dataset id | u32 LE K | u64 LE chunk index;
 *                    the last message (tag FINAL) holds 0 rows.
 * Loading checks every tag, the order of the chunks, the final tag, that nothing follows it and
 * that the row counts agree with the record; any failure names the file.  Nothing secret is
 * ever logged or put in a message. */
#ifndef MPCD_DATASET_H
#define MPCD_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "circuit.h"

#define MPCD_DS_MAX_COLS   64        /* columns of one dataset */
#define MPCD_DS_MAX_SEGS   256       /* uploads of one dataset: the first and its appends */
#define MPCD_DS_CHUNK_ROWS 65536     /* most rows in one stored (and one uploaded) chunk */
#define MPCD_DS_KEY_BYTES  32

typedef struct {
    char    name[MPC_NAME_MAX];
    uint8_t type;                    /* mpc_type */
} mpcd_ds_col;

/* The record of a dataset (NAME.meta): nothing secret but the id's role in binding the files. */
typedef struct {
    char        name[MPC_NAME_MAX];
    char        owner[MPC_NAME_MAX];     /* the configured party whose data it is */
    char        uploader[MPC_NAME_MAX];  /* the client that made it */
    uint32_t    frac;                    /* fractional bits of its fix columns */
    uint32_t    n_cols;
    mpcd_ds_col cols[MPCD_DS_MAX_COLS];
    uint32_t    n_parties;               /* the daemons holding shares, in the sharing's order */
    char        parties[MPC_MAX_PARTIES][MPC_NAME_MAX];
    uint64_t    rows;
    int64_t     created, modified;       /* Unix seconds */
    uint64_t    gen;                     /* generation: a replace starts a new one */
    uint32_t    n_segs;
    uint64_t    seg_rows[MPCD_DS_MAX_SEGS];
    uint8_t     id[16];                  /* random, per generation: binds segments to it */
    uint64_t    bytes;                   /* bytes on disk (record and segments), filled when read */
} mpcd_ds_meta;

typedef struct mpcd_ds_store mpcd_ds_store;
typedef struct mpcd_ds_writer mpcd_ds_writer;

/* Whether s is a valid dataset name (mpc_name_ok: letters, digits, '_', and '.' or '-' after
 * the first character). */
int mpcd_ds_name_ok(const char *s);

/* Opens the store in state_dir/datasets (made, mode 0700, when missing).  The data key is read
 * from key_file (64 hex digits; the file must be a regular file without group or other
 * access); when key_file does not exist it is made with a fresh key (mode 0600) and *created
 * is set.  The key lives in sodium_malloc memory.  0 or MPC_ERR_* with a message naming the
 * file. */
int  mpcd_ds_store_open(const char *state_dir, const char *key_file, mpcd_ds_store **s, int *created,
                        char *err, size_t errlen);
void mpcd_ds_store_close(mpcd_ds_store **s);

/* The record of dataset name: 0, MPC_ERR_NOTFOUND, or MPC_ERR_CRYPTO / MPC_ERR_IO with a
 * message naming the file (damaged, truncated, not this key's). */
int mpcd_ds_meta_get(mpcd_ds_store *s, const char *name, mpcd_ds_meta *m, char *err, size_t errlen);

/* Every dataset's record, sorted by name (*out malloc'ed, free()).  A damaged record stops the
 * listing with an error naming its file. */
int mpcd_ds_list(mpcd_ds_store *s, mpcd_ds_meta **out, uint32_t *n, char *err, size_t errlen);

/* Writing: begin, chunks, commit (or abort).  m gives name, owner, uploader, frac, columns and
 * parties.  append = 0 makes the dataset or replaces it (a new generation; the old files are
 * wiped once the new record is in place); append = 1 adds a segment to the existing dataset,
 * whose columns, frac and parties must equal m's.  Nothing is visible before commit. */
int  mpcd_ds_write_begin(mpcd_ds_store *s, const mpcd_ds_meta *m, int append, mpcd_ds_writer **w,
                         char *err, size_t errlen);
/* rows (1..MPCD_DS_CHUNK_ROWS) rows of this daemon's shares, column after column
 * (words[c * rows + r]). */
int  mpcd_ds_write_chunk(mpcd_ds_writer *w, const uint64_t *words, uint64_t rows, char *err, size_t errlen);
int  mpcd_ds_write_commit(mpcd_ds_writer **w, mpcd_ds_meta *out, char *err, size_t errlen);
void mpcd_ds_write_abort(mpcd_ds_writer **w);
const char *mpcd_ds_writer_name(const mpcd_ds_writer *w);

/* Loads this daemon's shares of dataset name: cols[c] (c < m->n_cols) receives a malloc'ed
 * array of m->rows words; free with mpcd_ds_free_cols (which wipes).  Every file is checked. */
int  mpcd_ds_load(mpcd_ds_store *s, const char *name, mpcd_ds_meta *m, uint64_t **cols, char *err, size_t errlen);
void mpcd_ds_free_cols(uint64_t **cols, uint32_t n_cols, uint64_t rows);

/* Deletes the dataset: the record first (the dataset is gone), then every segment; each file is
 * overwritten with zeros, synced and unlinked (docs/datasets.md on what that means on a
 * journaling filesystem).  0, MPC_ERR_NOTFOUND or MPC_ERR_IO. */
int mpcd_ds_delete(mpcd_ds_store *s, const char *name, char *err, size_t errlen);

/* The directory holding the files (for tests and messages). */
const char *mpcd_ds_dir(const mpcd_ds_store *s);

#endif
