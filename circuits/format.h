/* format.h — the serialised circuit (.circ): msgpack, opening with a magic and a version,
 * then the circuit's parties, inputs, outputs, constants and gates.  Layout and rules are in
 * docs/circuit-format.md.  The reader treats its bytes as hostile: every size is checked
 * before anything is allocated, and the result passes mpc_circ_validate before it is
 * returned.  The hash is BLAKE2b-256 (libsodium) of the canonical serialisation — the bytes
 * mpc_circ_write produces — so two parties holding the same circuit agree on the hash
 * whatever encoding they received. */
#ifndef MPC_FORMAT_H
#define MPC_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "circuit.h"

#define MPC_CIRC_MAGIC    "MPCCIRC"
#define MPC_CIRC_VERSION  4   /* written; the reader also accepts versions 1 to 3 (docs/circuit-format.md) */
/* Written instead of version 4 for a circuit with NOISE gates or DP records (circuits/dp.h):
 * version 4 and a 13th field, the DP records.  Other circuits stay version 4. */
#define MPC_CIRC_VERSION_DP 5
/* Written for a circuit with join records (circuits/joindecl.h): version 5 (its field 12
 * empty when there are no DP records) and a 14th field, the joins.  The hash of such a
 * circuit is over the version-3 layout followed by the join records, with 6 in the version
 * field; circuits without joins keep their version and their hash. */
#define MPC_CIRC_VERSION_JOIN 6
/* Written for a circuit with contributor inputs (circuits/contrib.h): version 6 (its join
 * records possibly empty) and a 15th field, the collection records: each collection's
 * validity rule (range, norm bound, unchecked, derived entries) and max_count.  They are in
 * the hash (version-3 layout, the join records, the collection records, 7 in the version
 * field): an approval of a circuit hash pins what a contribution must prove. */
#define MPC_CIRC_VERSION_CONTRIB 7
/* The version whose encoding the circuit hash is taken over (fields 0..10; the program field
 * 11 of version 4 is outside the hash, docs/circuit-format.md "The program field"). */
#define MPC_CIRC_HASH_VERSION 3
#define MPC_HASH_BYTES    32

/* Serialises c into a malloc'ed buffer. 0 or -1 (allocation failure). */
int mpc_circ_write(const mpc_circuit *c, uint8_t **buf, size_t *len);
/* Parses and validates; *out receives a new circuit.  0 or -1 with a message. */
int mpc_circ_read(const uint8_t *buf, size_t len, const mpc_circ_limits *lim, mpc_circuit **out,
                  char *err, size_t errlen);
/* File variants; messages name the path. */
int mpc_circ_save(const mpc_circuit *c, const char *path, char *err, size_t errlen);
int mpc_circ_load(const char *path, const mpc_circ_limits *lim, mpc_circuit **out,
                  char *err, size_t errlen);
/* Canonical hash; 0 or -1. hex must hold 2*MPC_HASH_BYTES+1 bytes. */
int  mpc_circ_hash(const mpc_circuit *c, uint8_t out[MPC_HASH_BYTES]);
void mpc_hash_hex(const uint8_t h[MPC_HASH_BYTES], char *hex);

#endif
