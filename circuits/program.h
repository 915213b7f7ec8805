/* program.h — the program a circuit was compiled from, with its param values left free:
 * the canonical program text, the program hash an operator approves whatever the params
 * (`[policy] allow = HASH N=1..10000000 parties=a,b,c`, docs/daemon.md), and the check that a
 * circuit really is that program at the params it states (recompiling it).
 *
 * Canonical text: the source's tokens, as written, joined by one space (comments and blanks
 * dropped), so differently formatted or named files of the same program give the same text.
 * Program hash: BLAKE2b-256 of MPC_PROGRAM_HASH_TAG followed by the canonical text in which
 * the value of every `param` declaration (its tokens) is replaced by the byte '$', which no
 * token contains.  The definition is in docs/circuit-format.md, "The program field". */
#ifndef MPC_PROGRAM_H
#define MPC_PROGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "circuit.h"
#include "diag.h"

#define MPC_PROGRAM_HASH_TAG   "mpcd program hash 1\n"
#define MPC_PROGRAM_MAX_TEXT   (1u << 20)   /* canonical text, bytes */
#define MPC_PROGRAM_MAX_PARAMS 64
#define MPC_PARAM_VALUE_MAX    80           /* a rendered value, with its NUL */

/* One param's value as `mpcc -D NAME=VALUE` takes it: a signed integer ("-12"), a decimal
 * with at least one fractional digit ("2.5", a fix value) or true/false. */
typedef struct {
    char name[MPC_NAME_MAX];
    char value[MPC_PARAM_VALUE_MAX];
} mpc_param_value;

/* What a circuit carries of its program (mpc_circuit.program; format field 11). */
typedef struct mpc_program {
    char           *text;       /* canonical text, NUL-terminated, malloc'ed */
    size_t          text_len;
    uint32_t        n_params;   /* every param of the program, in declaration order */
    mpc_param_value params[MPC_PROGRAM_MAX_PARAMS];
    int             pushdown;   /* compiled with owner-local pushdown (MPC_COMPILE_PUSHDOWN) */
} mpc_program;

void mpc_program_free(mpc_program **p);
/* A deep copy, or NULL on allocation failure. */
mpc_program *mpc_program_dup(const mpc_program *p);

/* What the canonicaliser finds in a source. */
typedef struct {
    char    *text;              /* canonical text (param values as written), malloc'ed */
    size_t   text_len;
    uint8_t  hash[32];          /* program hash */
    uint32_t n_params;          /* param names, in declaration order */
    char     params[MPC_PROGRAM_MAX_PARAMS][MPC_NAME_MAX];
    uint32_t n_parties;         /* party names, in declaration order */
    char     parties[MPC_MAX_PARTIES][MPC_NAME_MAX];
} mpc_program_canon;

/* Parses src and fills *pc.  0, or -1 with the error in diag (initialised by the caller):
 * a parse error, more than MPC_PROGRAM_MAX_PARAMS params or parties, or a canonical text
 * longer than MPC_PROGRAM_MAX_TEXT.  Free with mpc_program_canon_free in every case. */
int  mpc_program_canonicalize(const char *src, size_t len, mpc_diag *diag, mpc_program_canon *pc);
void mpc_program_canon_free(mpc_program_canon *pc);

/* Renders a param's compile-time value in -D syntax (fix values exactly, with frac
 * fractional bits).  0, or -1 when it does not fit. */
int mpc_param_render(mpc_type type, uint64_t k, unsigned frac, char *buf, size_t cap);

/* A constraint on one param in an approval (`N=1..10000000`, `K=3`, `X=2.5`, `F=true`): an
 * integer range LO..HI (a single integer is the range VALUE..VALUE), or one exact decimal or
 * boolean value, kept normalised (no leading zeros in the integer part, no trailing zeros in
 * the fraction but one digit, "-0.0" as "0.0") as mpc_param_render writes it. */
typedef struct {
    int     range;
    int64_t lo, hi;
    char    value[MPC_PARAM_VALUE_MAX];
} mpc_param_constraint;

/* Parses the text after "NAME=".  0, or -1 with a message. */
int  mpc_param_constraint_parse(const char *s, mpc_param_constraint *c, char *err, size_t errlen);
/* Whether the value a circuit states (-D syntax, untrusted) satisfies c. */
int  mpc_param_constraint_admits(const mpc_param_constraint *c, const char *value);
/* "1..10000000", "3", "2.5", "true". */
void mpc_param_constraint_format(const mpc_param_constraint *c, char *buf, size_t cap);

/* The program hash and param names of the program a circuit carries (recomputed from its
 * text, never taken from the file), after checking that the circuit states a value for
 * exactly the program's params, in order.  0, or -1 with a message. */
int mpc_program_identify(const mpc_program *p, mpc_program_canon *pc, char *err, size_t errlen);

/* Recompiles the carried text at the carried params (with pushdown as recorded) and writes
 * the resulting circuit's hash to circ_hash.  The work is bounded by the text's size
 * (MPC_PROGRAM_MAX_TEXT), the compiler's own limits (MPC_COMPILE_MAX_UNROLL unrolled
 * iterations and calls, MPC_CIRC_MAX_* while generating code) and lim, which the result
 * must pass.  0, or -1 with a message (the compiler's first error). */
int mpc_program_recompile(const mpc_program *p, const mpc_circ_limits *lim, uint8_t circ_hash[32],
                          char *err, size_t errlen);

#endif
