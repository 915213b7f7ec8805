/* joindecl.h — private joins in a circuit: `let j = join(labs, claims, on patient_id)`
 * (circuits/LANGUAGE.md, "Joins"; the protocol in protocols/join.h and docs/join.md).
 *
 * A join takes two tables of two different parties, each with a `key` column (text, given in
 * the clear to its owner's daemon only, never to a circuit), and gives the rows of the
 * second table (side B) in an order B draws at random, each with an indicator (1: its key is
 * also one of the first table's, side A) and the payload columns of both sides, as secret
 * shares.  Side A's party learns the size of the intersection (mode (a), docs/join.md).
 *
 * In the circuit a join is:
 *   - its payload columns: ordinary circuit inputs of the two tables ("labs.glucose"), given
 *     by the tables' clients as any input;
 *   - its outputs: circuit inputs given by the daemons, never by a client, named
 *     NAME + MPC_JOIN_SUFFIX + "." + COLUMN: "j-join.ind" (int[rows B]: the indicator), then
 *     one per payload column of A, then of B ("j-join.glucose", "j-join.cost"), each of
 *     length rows B and of its column's type;
 *   - its key columns: no circuit input at all.  The record below names them; the clients
 *     of the two tables give them to their own party's daemon.
 * The record is part of the circuit file (format version 6) and of the circuit hash, so the
 * parties agree on which inputs are joined on which keys. */
#ifndef MPC_JOINDECL_H
#define MPC_JOINDECL_H

#include <stddef.h>
#include <stdint.h>

#include "circuit.h"
#include "csv.h"

#define MPC_JOIN_SUFFIX      "-join"     /* no language name contains '-' */
#define MPC_JOIN_MAX_DECLS   4           /* joins in one circuit */
#define MPC_JOIN_MAX_PAYLOAD 32          /* payload columns of one side */
#define MPC_JOIN_KEY_MAX     255         /* bytes of a canonical key */

typedef struct mpc_join_decl {
    char     name[MPC_NAME_MAX];                   /* as bound by let ("j") */
    /* Side 0 is A (the first table: its party learns the intersection size), 1 is B (the
     * second: the output has its rows). */
    uint32_t party[2];                             /* index into c->party_names; different */
    char     table[2][MPC_NAME_MAX];               /* "labs", "claims" */
    char     key[2][MPC_NAME_MAX];                 /* key column names ("patient_id") */
    uint64_t rows[2];                              /* the tables' row counts */
    uint32_t n_cols[2];                            /* payload columns of each side */
    /* The payload columns: indices into c->inputs of inputs "TABLE.COL" of that side's party
     * and length rows[side], in the order they appear in the output. */
    uint32_t col[2][MPC_JOIN_MAX_PAYLOAD];
    /* The outputs: indices into c->inputs, 1 + n_cols[0] + n_cols[1] of them: the indicator,
     * then A's columns, then B's, each of length rows[1], named as above. */
    uint32_t out[1 + 2 * MPC_JOIN_MAX_PAYLOAD];
    uint32_t line, col_no;                         /* source position of the join(...) */
} mpc_join_decl;

/* Whether a circuit input's name is a join output's (contains MPC_JOIN_SUFFIX "."). */
int mpc_join_input_of(const char *input_name);

/* Appends a copy of *d to c (c->joins); 0 or -1 (out of memory, too many).  Checked by
 * mpc_join_validate, which mpc_circ_validate calls. */
int mpc_circ_add_join(mpc_circuit *c, const mpc_join_decl *d);

/* The join record whose output input index is `input` (any of d->out), or NULL. */
const mpc_join_decl *mpc_circ_join_of_input(const mpc_circuit *c, uint32_t input);

/* Every rule above: parties distinct and declared, names valid, row counts ≥ 1 and ≤ 2^22
 * (the protocol's limit), payload inputs of the right party and length, outputs named
 * NAME-join.COL with the right type and length rows[1], no input an output of two joins, no
 * join output used as a payload.  0, or -1 with a message. */
int mpc_join_validate(const mpc_circuit *c, char *err, size_t errlen);

/* A key column read for a join: keys[i] = data[off[i] .. off[i+1]), canonical (below), in
 * the table's row order (the layout protocols/join.h's mpc_join_in takes). */
typedef struct {
    uint64_t  rows;
    uint8_t  *data;       /* malloc */
    uint64_t *off;        /* rows + 1 offsets, malloc */
} mpc_join_keys;

/* The canonical form of a key (the one rule for mpcc --eval, the SDK and the daemon):
 * leading and trailing blanks (space, tab) removed; case kept; 1 to MPC_JOIN_KEY_MAX bytes
 * of printable ASCII or UTF-8 without control characters.  Writes the canonical key's
 * offset and length within s[0..n-1]: 0, or -1 with a message that never quotes the key. */
int mpc_join_key_canon(const char *s, size_t n, size_t *start, size_t *len, char *err, size_t errlen);

/* Reads key column `column` of the CSV table in path (the table's other columns are read
 * by mpc_table_load): every row's key, canonical, in *out.  An empty or malformed key is
 * an error "path:line:col: error: ..." naming the column, never the key.  A duplicate key
 * is not an error here (the join refuses it, naming the side).  0 or -1. */
int mpc_join_keys_load(const char *path, const mpc_csv_opts *o, const char *column, mpc_join_keys *out,
                       char *err, size_t errlen);
void mpc_join_keys_free(mpc_join_keys *k);

/* The plaintext join (mpcc --eval): given both sides' keys and the values of their payload
 * columns (column-major, as the inputs of the circuit take them: vals_a[c] has rows[0]
 * values, vals_b[c] rows[1]), writes the outputs in B's row order (the protocol's is a
 * random permutation of it, which no reduction can tell): out[0] the indicator, then A's
 * columns (0 where unmatched), then B's, each rows[1] values (caller-allocated).  A
 * duplicate key on either side is an error naming the side ("duplicate keys on side A").
 * 0 or -1. */
int mpc_join_eval(const mpc_join_decl *d, const mpc_join_keys *keys_a, const mpc_join_keys *keys_b,
                  const uint64_t *const *vals_a, const uint64_t *const *vals_b, uint64_t *const *out,
                  char *err, size_t errlen);

/* Copies src's join records into dst, each input index replaced by the index of the input of
 * the same name in dst (what a pass that rebuilds a circuit calls: splitting, pushdown, the
 * release circuit).  0, or -1 (out of memory, or an input dst lacks). */
int mpc_circ_copy_joins(mpc_circuit *dst, const mpc_circuit *src);

/* Whether input i of c is a payload column of one of c's joins. */
int mpc_circ_join_payload(const mpc_circuit *c, uint32_t i);

#endif
